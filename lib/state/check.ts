/**
 * Up-to-date decisions: a job whose command, environment and declared
 * resources are unchanged, whose inputs have the same content as when it last
 * succeeded, and whose outputs exist unchanged, is skipped. Early cutoff
 * follows: a rerun that writes byte-identical outputs leaves its dependents'
 * inputs unchanged, so they stay up to date.
 *
 * @module
 */
import { anyFolderAbove, isGlob, namedByAny, resourceNames } from "../graph/glob.ts";
import { aimedAtWritten, namedAsFile, ownOutputs } from "./own.ts";
import type { JobSpec } from "../graph/types.ts";
import {
  changedSince,
  DIRECTORY,
  expandStamped,
  type FileStamp,
  hashFile,
  sameContent,
  sameStamp,
} from "./fileset.ts";
import { ABSENT, coarseTick, DIR, FILE, ST, statUnder } from "./stat.ts";
import {
  decodeRow,
  digitsAt,
  type Entry,
  FIRST,
  type Row,
  rowStamp,
  SLOTS,
  StateStore,
} from "./store.ts";
import { checkStatePath, stateDir, stderrWarn, type Warn } from "./guard.ts";
import { sha256 } from "../runtime/hash.ts";
import { openFile, removePath } from "../runtime/files.ts";
import { envVar, pid, renameSync } from "../runtime/fs.ts";
import { ioReason } from "../runtime/errors.ts";
import { type DepfileProblem, readDepfile } from "../graph/depfile.ts";

/** The verdict on one job. */
export interface Verdict {
  upToDate: boolean;
  /** Why it would run (empty when up to date). */
  reasons: string[];
  /**
   * When every reason is an input's (a path `reads` names: new, missing, deleted, changed, no
   * longer matched), those paths: a job that writes them and runs first may put them back as
   * they were, and the job is then up to date after all (a dry run says "may run").
   */
  inputs?: string[];
}

/** True when a job declares a path (not only `@names`) in `reads` or `writes`. */
export function isTracked(spec: JobSpec): boolean {
  for (const r of spec.reads) if (r[0] !== "@") return true;
  for (const r of spec.writes) if (r[0] !== "@") return true;
  return false;
}

/**
 * The verdict of a job that runs whatever its files say, as the scheduler never skips it: a
 * module, an `emits: jobs` generator (what it would emit is known only by running it) and a
 * `repeat` loop. Undefined for any other job. `jx explain` and `jx ui` say it before the state's check.
 */
export function alwaysRuns(spec: JobSpec): Verdict | undefined {
  if (spec.kind === "module") {
    // Never checked against files: started whenever a selected job needs it (docs/modules.md).
    return { upToDate: false, reasons: ["it is a module: started when a job that runs needs it"] };
  }
  if (spec.emits) {
    return { upToDate: false, reasons: ["it generates jobs (emits: jobs), so it always runs"] };
  }
  if (spec.repeat) return { upToDate: false, reasons: ["it has repeat, so it always runs"] };
  return undefined;
}

/**
 * The part of a job's fingerprint that does not depend on files: 64 bits of
 * two hashes over the JSON of its command, working directory, environment
 * and declared resources. Not a cryptographic hash (a no-op run computes one
 * per job, and SHA-256 through node:crypto costs three times as much): it
 * guards against accidental change, not an adversary. Each step of the
 * first is a bijection of its state, so a change of any one character is
 * always seen.
 */
export function staticFingerprint(
  spec: JobSpec,
  rootCacheEnv: readonly string[] = [],
  baseDir?: string,
): string {
  // Lists and the environment in a fixed order: reordered in the jobs file, they mean the same.
  const base: unknown[] = [
    spec.argv,
    cwdIn(spec.cwd, baseDir),
    keysInOrder(spec.env),
    inOrder(spec.reads),
    inOrder(spec.writes),
  ];
  // Only jobs that use them hash these: no other job's state is invalidated.
  if (spec.envFiles || spec.depfile) base.push([spec.envFiles ?? [], spec.depfile ?? ""]);
  // A depfile's absolute paths into the project are inputs since 2026-12 (they were left out): a
  // line of before holds none, so such a job runs once more and its line gets them.
  if (spec.depfile) base.push("depfile-absolute-in-project");
  // A dotenv variable the environment overrides: the job gets the environment's value.
  if (spec.envFromProcess?.length) {
    base.push(spec.envFromProcess.map((n) => [n, envVar(n) ?? null]));
  }
  // The variables `cache: {env}` says its output depends on: a SHA-256 of each value (as the
  // cache key holds them; no value in the state), or null when unset.
  const named = cacheEnvNames(spec, rootCacheEnv);
  if (named.length) {
    base.push({
      cacheEnv: named.map((n) => {
        const v = envVar(n);
        return [n, v === undefined ? null : sha256().update(v).hex()];
      }),
    });
  }
  const s = JSON.stringify(base);
  let a = 0x811c9dc5, b = 0x9e3779b9 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35);
  b ^= b >>> 13;
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/** `list` sorted: itself when it is already (as most are: no copy), else a sorted copy. */
function inOrder(list: readonly string[]): readonly string[] {
  for (let i = 1; i < list.length; i++) if (list[i - 1] > list[i]) return [...list].sort();
  return list;
}

/** `env` with its keys sorted: itself when they are already, else a copy. */
function keysInOrder(env: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  let last: string | undefined;
  for (const k in env) {
    if (last !== undefined && last > k) {
      const copy: Record<string, string> = Object.create(null);
      for (const key of Object.keys(env).sort()) copy[key] = env[key];
      return copy;
    }
    last = k;
  }
  return env;
}

/**
 * A job's working directory as its fingerprint holds it: relative to the project's folder
 * `baseDir` when in it (`.` for the folder itself), so that a project moved or copied elsewhere
 * keeps its jobs up to date, as make's and ninja's do; absolute when outside it, or without
 * `baseDir`.
 *
 * @example
 * ```ts
 * import { cwdIn } from "./check.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(cwdIn("/p/src", "/p"), "src");
 * assertEquals(cwdIn("/p", "/p/"), ".");
 * assertEquals(cwdIn("/pq", "/p"), "/pq");
 * assertEquals(cwdIn("/p/src", undefined), "/p/src");
 * ```
 */
export function cwdIn(cwd: string, baseDir: string | undefined): string {
  if (baseDir === undefined) return cwd;
  const base = baseDir.endsWith("/") && baseDir.length > 1 ? baseDir.slice(0, -1) : baseDir;
  if (cwd === base) return ".";
  const prefix = base === "/" ? "/" : base + "/";
  return cwd.startsWith(prefix) ? cwd.slice(prefix.length) : cwd;
}

/**
 * The environment variables `cache: {env: [...]}` names for `spec`, sorted: the root file's
 * (`rootCacheEnv`), its own file's when included (`fileCache`), its own. Its output depends on
 * them (the cache key holds their values): a change of one makes it out of date too.
 *
 * @example
 * ```ts
 * import { cacheEnvNames } from "./check.ts";
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  a: { run: x, cache: { env: [B, A] } }\n", "j.yaml");
 * assertEquals(cacheEnvNames(g.jobs[0], ["C", "A"]), ["A", "B", "C"]);
 * ```
 */
export function cacheEnvNames(spec: JobSpec, rootCacheEnv: readonly string[] = []): string[] {
  const own = typeof spec.cache === "object" ? spec.cache.env : undefined;
  const file = spec.kind === "job" ? spec.fileCache?.env : undefined;
  if (!own?.length && !file?.length && !rootCacheEnv.length) return [];
  return [...new Set([...rootCacheEnv, ...file ?? [], ...own ?? []])].sort();
}

/** The root file's `cache: {env}` names (see `cacheEnvNames`). */
export function rootCacheEnv(settings: { cache?: boolean | { env?: string[] } }): string[] {
  return typeof settings.cache === "object" ? settings.cache.env ?? [] : [];
}

const short = (s: FileStamp | null | undefined) => s?.[3]?.slice(0, 12) ?? "?";

/**
 * The file in `.jx/` that stands for `@name` in the state: rewritten (a fresh random text) each
 * time a job that writes the name starts, and stamped as an input of each job that reads it, so
 * that a reader runs again after a writer ran (`@names` name no file whose content could say so).
 *
 * @example
 * ```ts
 * import { nameToken } from "./check.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(nameToken("@db").startsWith(".jx/at-"), true);
 * assertEquals(nameToken("@db") === nameToken("@cache"), false);
 * ```
 */
export function nameToken(name: string): string {
  return `.jx/at-${sha256().update(name).hex().slice(0, 32)}`;
}

/**
 * The token files of the `@names` a job reads and does not write: one that writes the name too
 * (each of several migrations reading and writing `@db`) is not made to run by it (each one's
 * start would make the others run, for ever), only by its files.
 */
function readTokens(spec: JobSpec): readonly string[] {
  return readNames(spec).tokens;
}

/** The `@names` a job reads and does not write, and their tokens (the same index). */
interface ReadNames {
  names: readonly string[];
  tokens: readonly string[];
}

const NO_NAMES: ReadNames = { names: [], tokens: [] };
/** By spec: made once (a token is a hash, asked for at each step of a check and a success). */
const readNamesOf = new WeakMap<JobSpec, ReadNames>();

function readNames(spec: JobSpec): ReadNames {
  let got = readNamesOf.get(spec);
  if (got) return got;
  const names = spec.reads.filter((r) => r[0] === "@" && !spec.writes.includes(r));
  got = names.length ? { names, tokens: names.map(nameToken) } : NO_NAMES;
  readNamesOf.set(spec, got);
  return got;
}

/** What own.ts needs of graph/glob.ts. */
const GLOBS = { isGlob, namedByAny };

/**
 * A job whose `reads` and `writes` are all plain paths (no glob), as the
 * fast check sees it: its inputs (sorted, distinct, without those its own
 * writes name) and its outputs (sorted, distinct). Undefined for other jobs.
 */
interface PlainFiles {
  inputs: string[];
  outputs: string[];
}

/**
 * The plain paths of `patterns` with the `literal` paths (dotenv files:
 * never globs), sorted and distinct (the array itself when it already is:
 * the common case costs no allocation); undefined when a pattern is a glob.
 * `@names` of `patterns` are left out.
 */
function plainSorted(patterns: string[], literal: readonly string[] = []): string[] | undefined {
  let clean = literal.length === 0;
  for (let i = 0; i < patterns.length; i++) {
    const p = patterns[i];
    if (isGlob(p)) return undefined;
    if (p[0] === "@" || (i > 0 && patterns[i - 1] >= p)) clean = false;
  }
  if (clean) return patterns;
  return [...new Set([...patterns.filter((p) => p[0] !== "@"), ...literal])].sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0
  );
}

function plainFiles(spec: JobSpec): PlainFiles | undefined {
  if (spec.depfile) return undefined; // its inputs are on its state line: the full check
  const tokens = readTokens(spec);
  const reads = plainSorted(
    spec.reads,
    tokens.length ? [...spec.envFiles ?? [], ...tokens] : spec.envFiles,
  );
  const outputs = plainSorted(spec.writes);
  if (!reads || !outputs) return undefined;
  // A job's own outputs are not its inputs.
  const own = namedAsFile(outputs, GLOBS);
  return { inputs: reads.some(own) ? reads.filter((p) => !own(p)) : reads, outputs };
}

/** Whether the file in `row` at slot `i` is what a stat of `dir + path` finds now (no hashing). */
function sameAsRow(row: Row, i: number, dir: string, path: string, output: boolean): boolean {
  const k = statUnder(dir, path);
  const size = row[i + 1];
  if (k === ABSENT) return size === null;
  if (size === null) return false;
  if (k === FILE) {
    // The hash known (a stamp alone is no proof of content) and the ctime, when the line has one
    // (`hash@ctime`: read here without a string made, 20,000 times in a no-op of 10,000 jobs).
    const slot = row[i + 4];
    if (typeof slot !== "string" || slot.charCodeAt(0) === 64) return false; // none, or "@..."
    if (size !== ST.size || row[i + 2] !== ST.mtimeMs || row[i + 3] !== ST.ino) return false;
    const at = slot.indexOf("@");
    return at < 0 || digitsAt(slot, at + 1) === ST.ctimeMs;
  }
  // A directory named in writes stands as itself; one in reads is walked (the full check).
  return output && k === DIR && size === DIRECTORY[0] && row[i + 4] === DIRECTORY[3];
}

/** Whether a file of `now` stats otherwise than in `was` (size, mtime or inode). */
function touched(
  was: Record<string, FileStamp | null>,
  now: Record<string, FileStamp | null>,
): boolean {
  for (const [p, s] of Object.entries(now)) {
    const w = was[p];
    if (s && w && !sameStamp(s, w)) return true;
  }
  return false;
}

/**
 * Decides and records up-to-date state for the jobs of one jobs file.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { UpToDate } from "./check.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  cp: { run: cp a b, reads: [a], writes: [b] }\n", "jobs.yaml");
 * const state = new UpToDate(".");
 * assertEquals(state.check(g.jobs[0]), { upToDate: false, reasons: ["it has not run successfully before"] });
 * ```
 */
export class UpToDate {
  private store: StateStore;
  /**
   * Each dotenv file's content hash as the load read it (`Graph.dotenvLoaded`): a job checked
   * after the file changed runs with the loaded values, so the file is recorded as not read
   * (the next run runs it again, with the new ones), never as the job's input.
   */
  dotenvLoaded?: ReadonlyMap<string, string>;
  /**
   * The root jobs file's `cache: {env}` names (`rootCacheEnv`): their values are part of every
   * job's fingerprint (`staticFingerprint`), as they are of its cache key.
   */
  cacheEnv: readonly string[] = [];
  /**
   * The run's `--events` and `--trace` files (relative to the project folder): jx writes them as
   * the run goes, so they are no job's input (a `reads` glob matching one ran its job at every
   * run, on a log half written).
   */
  runLogs: ReadonlySet<string> = new Set();
  /** The inputs each checked job was found with: stamps, or its row when they matched it. */
  private snapshots = new Map<string, Record<string, FileStamp | null> | Row>();
  /** When each job found out of date was checked (it starts right after): `recordedInputs`. */
  private checkedAt = new Map<string, number>();
  /**
   * Up-to-date jobs whose files were touched but hold the same content: their
   * stamps as found now, appended at `close` so that the next run need not
   * hash them again.
   */
  private refreshed = new Map<string, Entry>();
  private prefix: string;
  /** Jobs trusted up to date (see `trust`), and what jobs found out of date write. */
  private trusted: ReadonlySet<string> = new Set();
  /** Paths whose stamps a no-op record found changed: their content decides (see `trust`). */
  private suspect: ReadonlySet<string> = new Set();
  private dirty = new Set<string>();
  /**
   * Those of `dirty` that may name more than themselves: `.` (everything), directories and absent
   * paths (what is below them), globs (what they match). A set of folders is one lookup per
   * folder above a path (a list was a pass per path: 72 million for 16,000 paths).
   */
  private dirtyAll = false;
  private dirtyDirs = new Set<string>();
  private dirtyGlobs = new Set<string>();
  /** Successes that could not be recorded (`notRecorded`). */
  private unrecorded = 0;

  /**
   * `warn` hears of damaged state (default: a `jx: warning:` line on
   * stderr); `only`: the jobs that will be checked, when they are a few of
   * the log's (a partial run: see `StateStore`).
   */
  constructor(private baseDir: string, private warn?: Warn, only?: ReadonlySet<string>) {
    this.store = new StateStore(baseDir, warn, only);
    this.prefix = baseDir.endsWith("/") ? baseDir : baseDir + "/";
  }

  /** Whether `check` would say "not up to date" without looking at the disk (no stat). */
  surelyOutOfDate(spec: JobSpec): boolean {
    return !isTracked(spec) || !this.store.rows.has(spec.name);
  }

  /** Looks at the disk now; remembers the inputs seen, for `succeeded`. */
  check(spec: JobSpec): Verdict {
    // (A job may run whatever the verdict: `--force`.)
    if (spec.depfile) this.checkedAt.set(spec.name, Date.now());
    const quick = this.trustedNow(spec) || (!this.suspected(spec) && this.unchanged(spec));
    if (quick && !this.badDepfile(spec)) return { upToDate: true, reasons: [] };
    let verdict: Verdict;
    try {
      verdict = this.fullCheck(spec);
    } catch (e) {
      verdict = this.unreadable(spec, e);
    }
    // A depfile that is not make's format says nothing sure of what the job read: it runs.
    const bad = verdict.upToDate ? this.badDepfile(spec) : undefined;
    if (bad) verdict = { upToDate: false, reasons: [bad] };
    // It runs: what it writes is no longer what a record says.
    if (!verdict.upToDate) {
      for (const p of spec.writes) {
        this.dirty.add(p);
        // A file has nothing below it: only a glob, a directory or a path not there yet may.
        if (p === ".") this.dirtyAll = true;
        else if (p[0] === "@") continue; // names no path
        else if (isGlob(p)) this.dirtyGlobs.add(p);
        else if (statUnder(this.prefix, p) !== FILE) this.dirtyDirs.add(p);
      }
    }
    return verdict;
  }

  /**
   * A check that could not read a file (no descriptor left, say): out of
   * date, and its line, when it succeeds, vouches for none of its inputs
   * (all taken as changed while it ran: see `settledInputs`).
   */
  private unreadable(spec: JobSpec, e: unknown): Verdict {
    this.snapshots.set(spec.name, {});
    return { upToDate: false, reasons: [`cannot be checked: ${this.failed(e)}`] };
  }

  /** A file call's failure in words, with its path (relative) when it names one. */
  private failed(e: unknown, file?: string): string {
    const where = file ?? (e as { path?: unknown })?.path;
    if (typeof where !== "string") return ioReason(e);
    const shown = where.startsWith(this.prefix) ? where.slice(this.prefix.length) : where;
    return `${shown}: ${ioReason(e)}`;
  }

  /** The full check: every input stamped (and hashed when touched), the verdict with reasons. */
  private fullCheck(spec: JobSpec): Verdict {
    // A job's own outputs are not its inputs, even when a reads glob matches them.
    const own = ownOutputs(spec.reads, spec.writes, GLOBS);
    const inputs = Object.fromEntries([...this.stampInputs(spec)].filter(([p]) => !own(p)));
    this.snapshots.set(spec.name, inputs);
    const outputs = Object.fromEntries(
      expandStamped(spec.writes, this.baseDir, { wholeDirs: true }),
    );
    if (this.suspect.size) (this.hashSuspects(inputs), this.hashSuspects(outputs));
    const verdict = this.decide(spec, inputs, outputs);
    // Hash every input now, before the job can start: the state must describe
    // what the job read, not what the files hold when it ends.
    for (const [p, st] of Object.entries(inputs)) {
      if (st && !st[3]) sameContent(this.baseDir, p, [-1, 0, 0], st);
    }
    for (const p of spec.envFiles ?? []) {
      const loaded = this.dotenvLoaded?.get(p), st = inputs[p];
      if (loaded !== undefined && st && st[3] !== loaded) inputs[p] = null;
    }
    // Up to date, but known only by hashing a touched file: remember the new
    // stamps, so that the next run need not hash it again.
    if (verdict.upToDate && isTracked(spec)) {
      const old = this.store.get(spec.name)!;
      if (touched(old.inputs, inputs) || touched(old.outputs, outputs)) {
        this.refreshed.set(spec.name, {
          job: spec.name,
          fp: old.fp,
          inputs,
          outputs,
        });
      }
    }
    return verdict;
  }

  /**
   * What a job reads, stamped now: what its `reads` name, its dotenv files,
   * and the inputs its depfile named after its last success (kept on its
   * state line: every input recorded there that `reads` does not name).
   * Only `reads` holds globs: the others are paths, taken as they are
   * (a header named `x[12].h` is that file, not `x1.h`).
   */
  private stampInputs(spec: JobSpec): Map<string, FileStamp | null> {
    const literal = [...spec.envFiles ?? [], ...readTokens(spec)];
    if (spec.depfile) {
      const old = this.store.get(spec.name);
      if (old) literal.push(...Object.keys(old.inputs));
    }
    return this.withoutLogs(expandStamped(spec.reads, this.baseDir, { literal, strict: true }));
  }

  /** `files` without the run's logs (`runLogs`). */
  private withoutLogs(files: Map<string, FileStamp | null>): Map<string, FileStamp | null> {
    for (const p of this.runLogs) files.delete(p);
    return files;
  }

  /**
   * The inputs to record after a success: those seen at the start, then for
   * a job with a depfile only its reads, dotenv files and what the depfile
   * lists now (stamped now when not seen at the start).
   */
  private recordedInputs(
    spec: JobSpec,
    seen: Record<string, FileStamp | null>,
  ): Record<string, FileStamp | null> {
    if (!spec.depfile) return seen;
    const read = readDepfile(this.baseDir, spec.depfile, spec.cwd);
    if (read.problem) this.saidBadDepfile(spec, read.problem);
    const deps = read.inputs ?? [];
    const own = ownOutputs(spec.reads, spec.writes, GLOBS);
    const literal = [...spec.envFiles ?? [], ...readTokens(spec)];
    const declared = this.withoutLogs(expandStamped(spec.reads, this.baseDir, { literal }));
    const out: Record<string, FileStamp | null> = {};
    for (const [p, st] of declared) if (!own(p)) out[p] = p in seen ? seen[p] : st;
    // The depfile's inputs are paths, whatever characters they hold: never globs.
    const listed = expandStamped([], this.baseDir, { literal: deps.filter((d) => !own(d)) });
    const started = this.checkedAt.get(spec.name);
    this.checkedAt.delete(spec.name);
    for (const [p, st] of listed) {
      if (p in out) continue;
      // Found only now, and changed since the job started (a header edited while it compiled):
      // what the job read is not known, so it is recorded as not read (the next run runs the
      // job again), as ninja does with a dependency newer than its command's start.
      // (On a filesystem of whole seconds, an edit in the second the job started in is such.)
      const changed = st && Math.max(st[1], st[4] ?? 0) + coarseTick(st[1], st[4] ?? st[1]);
      if (!(p in seen) && st && started !== undefined && changed! >= started) {
        out[p] = null;
        this.saidChanged(spec, p);
        continue;
      }
      // Found only now: hashed now (as ninja, which reads the depfile after the job).
      if (!(p in seen) && st && !st[3]) sameContent(this.baseDir, p, [-1, 0, 0], st);
      out[p] = p in seen ? seen[p] : st;
    }
    return out;
  }

  /**
   * The fast check: true when the job's reads and writes are plain paths and
   * every one stats exactly as its last success left it (size, mtime, inode),
   * with the same fingerprint. Anything else goes to the full check, which
   * hashes what differs and says why.
   */
  private unchanged(spec: JobSpec): boolean {
    const row = this.store.rows.get(spec.name);
    if (!row || !isTracked(spec)) return false;
    const files = plainFiles(spec);
    if (!files) return false;
    const n = row[2] as number;
    if (n !== files.inputs.length || row.length !== FIRST + SLOTS * (n + files.outputs.length)) {
      return false;
    }
    if (row[1] !== staticFingerprint(spec, this.cacheEnv, this.baseDir)) return false;
    let i = FIRST;
    for (const p of files.inputs) {
      if (row[i] !== p || !sameAsRow(row, i, this.prefix, p, false)) return false;
      i += SLOTS;
    }
    for (const p of files.outputs) {
      if (row[i] !== p || !sameAsRow(row, i, this.prefix, p, true)) return false;
      i += SLOTS;
    }
    this.snapshots.set(spec.name, row);
    return true;
  }

  private decide(
    spec: JobSpec,
    inputs: Record<string, FileStamp | null>,
    outMap: Record<string, FileStamp | null>,
  ): Verdict {
    const reasons: string[] = [];
    if (!isTracked(spec)) {
      return {
        upToDate: false,
        reasons: ["it declares no files in reads or writes, so it always runs"],
      };
    }
    const old: Entry | undefined = this.store.get(spec.name);
    if (!old) return { upToDate: false, reasons: ["it has not run successfully before"] };
    if (old.fp !== staticFingerprint(spec, this.cacheEnv, this.baseDir)) {
      reasons.push("its command, environment, working directory or declared resources changed");
    }
    const { names, tokens } = readNames(spec);
    const changedInputs: string[] = [];
    for (const [p, now] of Object.entries(inputs)) {
      const was = old.inputs[p];
      const t = tokens.length ? tokens.indexOf(p) : -1;
      if (t >= 0) {
        const name = names[t];
        if (was === undefined) reasons.push(`${name}: not on its last state line`);
        else if (!was !== !now || (was && now && !sameContent(this.baseDir, p, was, now))) {
          reasons.push(`${name} was written since it last ran (a job that writes it started)`);
        }
        continue;
      }
      const before = reasons.length;
      if (was === undefined) reasons.push(now ? `new input ${p}` : `input ${p} is missing`);
      else if (!now && was) reasons.push(`input ${p} was deleted`);
      else if (now && !was) reasons.push(`input ${p} appeared`);
      else if (now && was && !sameContent(this.baseDir, p, was, now)) {
        reasons.push(`input ${p} changed (${short(was)} -> ${short(now)})`);
      }
      if (reasons.length > before) changedInputs.push(p);
    }
    for (const p of Object.keys(old.inputs)) {
      if (!(p in inputs) && old.inputs[p]) {
        reasons.push(`input ${p} no longer matches reads`);
        changedInputs.push(p);
      }
    }
    for (const [p, now] of Object.entries(outMap)) {
      const was = old.outputs[p];
      if (!now && was === null) continue; // absent after its last success too (a temp file)
      if (!now) reasons.push(`output ${p} is missing`);
      else if (!was) reasons.push(`output ${p} was not written by its last run`);
      else if (!sameContent(this.baseDir, p, was, now)) reasons.push(`output ${p} was modified`);
    }
    for (const p of Object.keys(old.outputs)) {
      if (p in outMap || !old.outputs[p]) continue;
      // Still there, but `writes` names it no more (a var or the file changed them).
      const there = statUnder(this.prefix, p) !== ABSENT;
      reasons.push(`output ${p} ${there ? "no longer matches writes" : "is missing"}`);
    }
    if (reasons.length && changedInputs.length === reasons.length) {
      return { upToDate: false, reasons, inputs: changedInputs };
    }
    return { upToDate: reasons.length === 0, reasons };
  }

  /**
   * Records a success: the inputs as they were at the start, the outputs now.
   * One that cannot be recorded (a file it cannot read for its hash, a full
   * disk under `.jx/`) is a warning: the job ran, and runs again next time.
   */
  succeeded(spec: JobSpec): void {
    if (!isTracked(spec)) return;
    this.refreshed.delete(spec.name); // this line supersedes the refresh
    let entry: Entry;
    try {
      entry = this.successEntry(spec);
    } catch (e) {
      return this.notRecorded(spec.name, e);
    }
    try {
      this.store.put(entry);
    } catch (e) {
      this.notRecorded(spec.name, e, ".jx/state.ndjson");
    }
  }

  /**
   * A job starts (it was found out of date, or `--force`): each `@name` it writes gets a fresh
   * token (`nameToken`), so that the jobs that read the name run again. Done at the start, not the
   * success: a writer that fails may have changed what the name stands for all the same.
   */
  started(spec: JobSpec): void {
    for (const w of spec.writes) {
      if (w[0] !== "@") continue;
      try {
        this.bump(w);
      } catch (e) {
        const path = `${this.prefix}${nameToken(w)}`;
        (this.warn ?? stderrWarn)(
          `${spec.name}: ${w} not recorded as written (${this.failed(e, path)}): ` +
            "the jobs that read it may be taken as up to date",
        );
      }
    }
  }

  /**
   * Rewrites the token of `@name` with a text no earlier run wrote: whole or not at all (a
   * temporary file renamed over it), so that a crash leaves the old token or the new one.
   */
  private bump(name: string): void {
    stateDir(this.baseDir, this.warn ?? stderrWarn);
    const path = `${this.prefix}${nameToken(name)}`;
    checkStatePath(path, "file", this.warn ?? stderrWarn);
    const tmp = `${path}.${pid()}.tmp`;
    try {
      const f = openFile(tmp, "write");
      try {
        const salt = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16));
        f.write(`${name}\n${Date.now()} ${salt.join("")}\n`);
      } finally {
        f.close();
      }
      renameSync(tmp, path);
    } catch (e) {
      try {
        removePath(tmp);
      } catch { /* not made */ }
      throw e;
    }
  }

  /** Says (the first time; later ones are counted for `close`) that a success was not recorded. */
  private notRecorded(job: string, e: unknown, file?: string): void {
    if (this.unrecorded++ > 0) return;
    (this.warn ?? stderrWarn)(
      `${job}: not recorded as done (${this.failed(e, file)}): it runs again next time`,
    );
  }

  /**
   * Why a job's depfile (read now) makes it out of date: a line that is not make's format, where
   * what the job read cannot be known; undefined when it has none, or it reads well or not at all
   * (a deleted `.d`: its inputs are on the job's state line).
   */
  private badDepfile(spec: JobSpec): string | undefined {
    if (!spec.depfile) return undefined;
    const { problem } = readDepfile(this.baseDir, spec.depfile, spec.cwd);
    return problem && `its depfile ${spec.depfile}:${problem.line}: ${problem.why}`;
  }

  /** Jobs whose malformed depfile was said: said once each. */
  private badDepfileSaid = new Set<string>();

  /**
   * Says, once a job, that its depfile has a line that is not make's format: what it lists there
   * is not an input, and the job is never taken as up to date while it stays so (`badDepfile`).
   */
  private saidBadDepfile(spec: JobSpec, problem: DepfileProblem): void {
    if (this.badDepfileSaid.has(spec.name)) return;
    this.badDepfileSaid.add(spec.name);
    (this.warn ?? stderrWarn)(
      `${spec.name}: ${spec.depfile}:${problem.line}: ${problem.why}: the depfile's inputs are ` +
        "not known: it runs again next time",
    );
  }

  /** Depfile inputs said changed while their job ran, by job: said once each. */
  private changedSaid = new Set<string>();

  /**
   * Says that the depfile of `spec` names `p`, changed while the job ran: it runs again next
   * time. Once a file: one the job itself writes (undeclared) would say so at every run.
   */
  private saidChanged(spec: JobSpec, p: string): void {
    const key = `${spec.name}\0${p}`;
    if (this.changedSaid.has(key)) return;
    this.changedSaid.add(key);
    (this.warn ?? stderrWarn)(
      `${spec.name}: ${p}, which its depfile names, changed while it ran: it runs again next ` +
        "time (a file the job writes itself belongs in its writes)",
    );
  }

  /** The line that records a success (reads every output not yet hashed). */
  private successEntry(spec: JobSpec): Entry {
    const snap = this.snapshots.get(spec.name);
    const seen = Array.isArray(snap) ? decodeRow(snap).inputs : snap ?? {};
    const inputs = this.withStampedNow(
      spec,
      this.recordedInputs(spec, this.settledInputs(spec, seen)),
    );
    this.sayMissingReads(spec, inputs);
    const fill = (p: string, s: FileStamp | null) => {
      if (s && !s[3]) sameContent(this.baseDir, p, [-1, 0, 0], s);
      return s;
    };
    const outputs: Record<string, FileStamp | null> = {};
    for (const [p, st] of expandStamped(spec.writes, this.baseDir, { wholeDirs: true })) {
      outputs[p] = st === null || st[3] ? st : fill(p, st);
    }
    return {
      job: spec.name,
      fp: staticFingerprint(spec, this.cacheEnv, this.baseDir),
      inputs,
      outputs,
    };
  }

  /**
   * `inputs` with the inputs stamped as they are after the run: the tokens of names no job has
   * written yet (absent then and now: made now, standing for the same "not written since": a line
   * holds no absent token, which a no-op record could not vouch for), and what the job reads in a
   * folder it writes (its own writes, as the run left them, those it made included: see own.ts).
   * Sorted, as the fast check walks a line (a path made by the run would come last).
   */
  private withStampedNow(
    spec: JobSpec,
    inputs: Record<string, FileStamp | null>,
  ): Record<string, FileStamp | null> {
    const { names, tokens } = readNames(spec);
    const now = new Set<string>(tokens); // (one made by another reader meanwhile, perhaps)
    tokens.forEach((t, i) => {
      if (statUnder(this.prefix, t) !== ABSENT) return;
      try {
        this.bump(names[i]);
      } catch { /* recorded absent: the next run checks it in full */ }
    });
    if (spec.reads.some((r) => r[0] !== "@" && aimedAtWritten(r, spec.writes, isGlob))) {
      const inWrites = namedByAny(spec.writes), own = ownOutputs(spec.reads, spec.writes, GLOBS);
      for (const p of this.stampInputs(spec).keys()) if (inWrites(p) && !own(p)) now.add(p);
    }
    if (!now.size) return inputs;
    const all = new Map(Object.entries(inputs));
    for (const [p, st] of expandStamped([], this.baseDir, { literal: [...now] })) {
      all.set(p, st && !st[3] ? (sameContent(this.baseDir, p, [-1, 0, 0], st), st) : st);
    }
    return Object.fromEntries([...all].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /**
   * Says (once: at the first success that finds it so) that a file the job
   * declares it reads did not exist when it ran: a misspelt path is never
   * seen to change, and the file the command really reads is in no check.
   */
  private sayMissingReads(spec: JobSpec, inputs: Record<string, FileStamp | null>): void {
    let had: Record<string, FileStamp | null> | undefined; // its last line's, read if needed
    let own: ((p: string) => boolean) | undefined;
    const said = (p: string) => {
      const before = this.store.rows.get(spec.name);
      had ??= before ? decodeRow(before).inputs : {};
      return had[p] === null; // said when that line was written
    };
    for (const [p, st] of Object.entries(inputs)) {
      // Found by a walk (a folder or a glob in reads), stamped absent, and a folder: a link to one.
      if (st !== null || spec.reads.includes(p) || statUnder(this.prefix, p) !== DIR) continue;
      if (said(p)) continue;
      (this.warn ?? stderrWarn)(
        `${spec.name}: ${p}, found in what it reads, is a link to a folder: jx does not follow ` +
          "it, so the files there are not its inputs and their edits do not run it again (name " +
          "that folder in reads)",
      );
    }
    for (const r of spec.reads) {
      if (r[0] === "@" || inputs[r] !== null || isGlob(r)) continue;
      if ((own ??= namedByAny(spec.writes))(r)) continue; // its own output: made by it
      if (said(r)) continue;
      (this.warn ?? stderrWarn)(
        `${spec.name}: reads ${r}, which did not exist when it ran (a misspelt path never ` +
          "changes: `jx lint` lists what the job reads)",
      );
    }
  }

  /**
   * `seen` (the inputs a job started from), with what changed while it ran
   * (an input edited, made or removed, a path that started to match its
   * reads) recorded as `[-1, 0, 0]`, a stamp no file has and no hash: its
   * outputs may hold content that no hash on its line describes, so such a
   * line never vouches for the job, nor does a no-op record made from it.
   * It runs again next time, even when the edit has been undone by then (the
   * content would match the hash taken at the start again).
   */
  private settledInputs(
    spec: JobSpec,
    seen: Record<string, FileStamp | null>,
  ): Record<string, FileStamp | null> {
    const now = this.stampInputs(spec);
    // Its own writes (in a folder it writes too: recorded as it left them), and the tokens of
    // the names it reads: no writer of one runs meanwhile (they are ordered), and one made by
    // another reader's success (`successEntry`) stands for the same "not written since".
    const own = namedByAny(spec.writes), tokens = readTokens(spec);
    const changed = changedSince(
      Object.entries(seen),
      now,
      tokens.length ? (p) => own(p) || tokens.includes(p) : own,
    );
    if (!changed.length) return seen;
    const out = { ...seen };
    for (const p of changed) out[p] = [-1, 0, 0];
    return out;
  }

  /**
   * The stamps (size, mtime, inode, hash) of each file on `job`'s current
   * line, by path (after `close`, refreshes included); undefined without a
   * line, or when its depfile was malformed in this run. A file recorded absent is null.
   */
  recordedStamps(job: string): Map<string, FileStamp | null> | undefined {
    // A malformed depfile: the next run must check the job (and run it), never replay a no-op.
    if (this.badDepfileSaid.has(job)) return undefined;
    const row = this.store.rows.get(job);
    if (!row) return undefined;
    const out = new Map<string, FileStamp | null>();
    for (let i = FIRST; i + SLOTS <= row.length; i += SLOTS) {
      if (row[i + 1] === null) {
        out.set(row[i] as string, null);
        continue;
      }
      out.set(row[i] as string, rowStamp(row, i));
    }
    return out;
  }

  /**
   * Jobs to take as up to date without a look at the disk: those of a no-op
   * record none of whose paths changed since (cli/noop_run.ts decides). A
   * trusted job that reads what a job found out of date in this run writes
   * is checked in full all the same.
   */
  trust(jobs: ReadonlySet<string>, suspect: ReadonlySet<string> = new Set()): void {
    this.trusted = jobs;
    this.suspect = suspect;
  }

  /** Whether the job names a suspect path (its stamps cannot be believed: hash it). */
  private suspected(spec: JobSpec): boolean {
    if (!this.suspect.size) return false;
    for (const list of [spec.reads, spec.writes, spec.envFiles ?? []]) {
      for (const p of list) if (this.suspect.has(p)) return true;
    }
    return false;
  }

  /** Hashes the suspect files of `stamps` now, so that `sameContent` compares content. */
  private hashSuspects(stamps: Record<string, FileStamp | null>): void {
    for (const [p, st] of Object.entries(stamps)) {
      if (st && st[0] >= 0 && this.suspect.has(p)) st[3] = hashFile(this.baseDir, p);
    }
  }

  /** The jobs `check` took as up to date from `trust` alone. */
  readonly trustedHits = new Set<string>();

  /**
   * Whether a job found out of date in this run may rewrite path `p`: it
   * writes `p`, a directory above it, or a glob that matches it.
   */
  private isDirty(p: string): boolean {
    if (this.dirty.has(p) || this.dirtyAll) return true;
    if (this.dirtyDirs.size && anyFolderAbove(p, (dir) => this.dirtyDirs.has(dir))) return true;
    for (const g of this.dirtyGlobs) if (resourceNames(g, p)) return true;
    return false;
  }

  /** Whether `spec` is trusted and names nothing a job of this run may rewrite. */
  private trustedNow(spec: JobSpec): boolean {
    if (!this.trusted.has(spec.name)) return false;
    // What it reads, or writes too (a file two jobs write), a job of this run may have rewritten.
    for (const list of [spec.reads, spec.writes, spec.envFiles ?? []]) {
      for (const p of list) if (this.isDirty(p)) return false;
    }
    this.trustedHits.add(spec.name);
    return true;
  }

  /** Flushes the state to disk (with the stamps of touched but unchanged files). */
  close(): void {
    for (const e of this.refreshed.values()) {
      try {
        this.store.put(e);
      } catch { /* a stamp not refreshed: the file is hashed again next time */ }
    }
    this.refreshed.clear();
    this.store.close();
    if (this.unrecorded > 1) {
      (this.warn ?? stderrWarn)(
        this.unrecorded > 2
          ? `${this.unrecorded - 1} more jobs not recorded as done: they run again next time`
          : "1 more job not recorded as done: it runs again next time",
      );
    }
  }
}
