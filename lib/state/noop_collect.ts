/**
 * What goes into a no-op record (lib/state/noop.ts): the stamps of every
 * selected job's files as its state line holds them, and for globs and
 * directories in `reads` the directories their walk lists, stamped before
 * they are listed. The walk's matches must be the files the line holds
 * (a file that appeared during the run would otherwise be vouched for
 * unseen): anything else, and no record is written.
 *
 * The glob functions come from the caller (`RecordFrom.globs`): graph/glob.ts
 * loads `node:` modules, which the no-op fast path, loading this module with
 * noop.ts, must not (ARCHITECTURE.md).
 *
 * @module
 */
import type * as Glob from "../graph/glob.ts";
import { deno, nodeFs } from "../runtime/mod.ts";
import type { FileStamp } from "./fileset.ts";
import { ABSENT, coarseNow, coarseTick, DIR, FILE, ST, statUnder } from "./stat.ts";
import { pathAt, pathIndexesOf } from "./noop_paths.ts";
import { ownOutputs } from "./own.ts";

/** Numbers per path in a record's `stamps` (size, mtime, inode, ctime) and `dstamps`. */
export const W = 4;
/** How close to the record's writing a stamp must be to count as racy (a clock tick is <= 10 ms). */
export const RACY_MS = 50;

/** The racy window of the stamp in `ST`: `RACY_MS`, and its filesystem's coarse tick (stat.ts). */
const racyTick = () => RACY_MS + coarseNow();
/**
 * How a recorded directory is checked: LISTED (a walk listed it: same mtime,
 * inode, ctime), EXISTS (named in `writes`: still a directory), MISSING (a
 * walk's root that did not exist: still absent).
 */
export const DIR_MODE = { LISTED: 0, EXISTS: 1, MISSING: 2 } as const;
const { LISTED, EXISTS, MISSING } = DIR_MODE;

/** What a job must be for a record to cover it. */
export interface NoopJob {
  name: string;
  kind: string;
  reads: string[];
  writes: string[];
  emits?: unknown;
  deferred?: unknown;
  repeat?: unknown;
  fromGlob?: unknown;
  envFiles?: string[];
  depfile?: unknown;
  /** Set on the jobs of a graph with `include:` (files the record does not stamp). */
  source?: unknown;
  /** `when:`: whether the job applies depends on the environment, which no stamp covers. */
  when?: unknown;
}

/** What `updated` needs of the record a run started from. */
export interface PreviousRecord {
  names: string[];
  paths: string[];
  /** Changed in place by `patchPart`. */
  stamps: Float64Array;
  racy: (number | string)[];
  dirs: string[];
  walks: string[];
}

/** Where a record's stamps come from (see `recordNoop`). */
export interface RecordFrom {
  /** The jobs file's stamp before the run read it. */
  jobsFile: number[];
  /** Its content's hash then, when that stamp was racy (`jobsFileStampAt`). */
  jobsFileHash?: string;
  /** Each job's files as its state line records them (size, mtime, inode, hash; null: absent). */
  recorded: (job: string) => Map<string, FileStamp | null> | undefined;
  /** The record this run started from, what had changed, and the jobs it trusted unchecked. */
  previous?: {
    diff: {
      record: PreviousRecord;
      changed: ReadonlySet<string>;
      /** When its racy paths were checked by content (ms since the epoch), or earlier. */
      checkedAt?: number;
    };
    trusted: ReadonlySet<string>;
    /**
     * A partial run (cli/noop_run.ts `partialRun`): `jobs` are only the jobs
     * it loaded, and `again` the paths to take again from their lines (every
     * job that names one was loaded); the rest of the record is kept.
     */
    part?: { again: ReadonlySet<string> };
  };
  /** The graph cache's key of the run's graph (graph/cache.ts), for a later partial run. */
  graphKey?: string;
  /**
   * The variables the graph's dotenv files set: which of them the environment
   * sets decides the jobs' (a shell's value wins); a dotenv file outside the
   * project is stamped by nothing: no record then.
   */
  dotenv?: { names: string[]; outside: boolean };
  /** graph/glob.ts's walker and matchers: without them, a job with a glob or a directory to walk gets no record. */
  globs?: GlobOps;
  /**
   * The graph's `foreach` globs and what each matched when it was loaded (graph.ts
   * `globMatches`): a new match is a new job, in the selection or joining it by an edge, which
   * no job's stamp covers; the folders each walks are stamped, and it must match the same now.
   */
  foreachGlobs?: ReadonlyMap<string, readonly string[]>;
}

/** What the record needs of graph/glob.ts. */
export type GlobOps = Pick<typeof Glob, "walkFiles" | "compileGlob" | "namedByAny">;

/** The glob test of graph/glob.ts `isGlob`. */
const isGlob = (s: string) => /[*?[{]/.test(s);

/**
 * The names in directory `rel` under `base` (ending in `/`), sorted, joined
 * with `/` ("" when unreadable): what a racy directory is compared by.
 *
 * @example
 * ```ts
 * import { listing } from "./noop_collect.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/src`);
 * for (const f of ["b.c", "a.c"]) Deno.writeTextFileSync(`${dir}/src/${f}`, "");
 * assertEquals(listing(`${dir}/`, "src"), "a.c/b.c");
 * ```
 */
export function listing(base: string, rel: string): string {
  try {
    const D = deno();
    const names: string[] = D?.readDirSync
      ? Array.from(D.readDirSync(base + rel), (e: { name: string }) => e.name)
      : nodeFs().readdirSync(base + rel);
    return names.sort().join("/");
  } catch {
    return "";
  }
}

/** Whether a line's stamp is that of a directory named in `writes` (fileset.ts `DIRECTORY`). */
const isDirStamp = (st: FileStamp) => st[0] === -1 && st[3] === "directory";

/** Stamps of paths (racy ones with their hash) and of directories, as they go into a record. */
export class Stamps {
  readonly paths: string[] = [];
  readonly stamps: number[] = [];
  readonly racy: (number | string)[] = [];
  readonly dirs: string[] = [];
  readonly dstamps: number[] = [];
  readonly listings: (number | string)[] = [];
  readonly walks = new Set<string>();
  private dirKeys = new Set<string>();
  constructor(readonly base: string, private written: number, readonly globs?: GlobOps) {}

  /**
   * Adds `p` as its line stamps it, with the ctime found now: false when the
   * disk holds something else (changed while the run went on), or when the
   * stamp is racy and the line has no hash.
   */
  add(p: string, st: FileStamp): boolean {
    if (!this.put(p, st)) return false;
    this.paths.push(p);
    return true;
  }

  /** Like `add`, into the slot of path index `i` (stamps and racy of other paths kept). */
  put(p: string, st: FileStamp, i = this.paths.length): boolean {
    if (statUnder(this.base, p) !== FILE) return false;
    if (ST.size !== st[0] || ST.mtimeMs !== st[1] || ST.ino !== st[2]) return false;
    // Its ctime moved since the line's stamp was taken (an edit that put the mtime back, made
    // while the run went on): not vouched for; the full check of the next run hashes it.
    if (st[4] !== undefined && ST.ctimeMs !== st[4]) return false;
    const s = i * W;
    this.stamps[s] = ST.size, this.stamps[s + 1] = ST.mtimeMs;
    this.stamps[s + 2] = ST.ino, this.stamps[s + 3] = ST.ctimeMs;
    if (Math.max(ST.mtimeMs, ST.ctimeMs) < this.written - racyTick()) return true;
    if (!st[3]) return false;
    this.racy.push(i, st[3]);
    return true;
  }

  /**
   * Adds directory `d` as it is now (call it before `d` is listed): LISTED
   * with its stamp (and its listing when racy), or MISSING when absent; or
   * EXISTS. False when it is not a directory.
   */
  dir(d: string, mode: number): boolean {
    const key = `${mode}${d}`;
    if (this.dirKeys.has(key)) return true;
    this.dirKeys.add(key);
    const kind = statUnder(this.base, d);
    if (mode === EXISTS || kind === ABSENT) {
      if (mode === EXISTS && kind !== DIR) return false;
      this.dirs.push(d);
      this.dstamps.push(mode === EXISTS ? EXISTS : MISSING, 0, 0, 0);
      return true;
    }
    if (kind !== DIR) return false;
    const i = this.dirs.length;
    this.dirs.push(d);
    this.dstamps.push(LISTED, ST.mtimeMs, ST.ino, ST.ctimeMs);
    if (Math.max(ST.mtimeMs, ST.ctimeMs) >= this.written - racyTick()) {
      this.listings.push(i, listing(this.base, d));
    }
    return true;
  }

  /** Empties it (after an incremental update that could not be made). */
  clear(): this {
    this.paths.length = this.stamps.length = this.racy.length = 0;
    this.dirs.length = this.dstamps.length = this.listings.length = 0;
    this.walks.clear(), this.dirKeys.clear();
    return this;
  }
}

/**
 * Whether a record can cover the job at all (its set of files depends only
 * on stamps, and it names a file: else it always runs).
 *
 * @example
 * ```ts
 * import { coverable } from "./noop_collect.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(coverable({ name: "a", kind: "job", reads: ["src/*.c"], writes: [] }), true);
 * assertEquals(coverable({ name: "a", kind: "job", reads: ["@b"], writes: [] }), false);
 * ```
 */
export function coverable(j: NoopJob): boolean {
  if (j.kind !== "job" || j.emits || j.deferred || j.repeat || j.fromGlob) return false;
  if (j.source !== undefined) return false; // included files (and their globs) are not stamped
  if (j.when !== undefined) return false; // it applies or not by the environment
  for (const p of j.reads) if (p[0] !== "@") return true;
  for (const p of j.writes) if (p[0] !== "@") return true;
  return false;
}

/**
 * Walks `p` (a glob, or a directory in `reads`) as the full check does
 * (fileset.ts `expandStamped`), each directory stamped before it is listed;
 * false when a match is not a file the job's line holds. `own`, for a
 * pattern of `reads`: the job's own outputs, which are not its inputs (own.ts:
 * the full check's rule).
 */
function walked(
  p: string,
  own: ((f: string) => boolean) | undefined,
  line: Line,
  into: Stamps,
): boolean {
  const g = into.globs;
  if (!g) return false;
  const glob = isGlob(p);
  const segs = p.split("/");
  const root = glob ? segs.slice(0, segs.findIndex((s) => isGlob(s))).join("/") || "." : p;
  const files: string[] = [];
  let ok = true;
  g.walkFiles(into.base, root, files, (d) => {
    ok &&= into.dir(d, LISTED);
  });
  if (!ok) return false;
  const m = glob ? g.compileGlob(p) : undefined;
  for (const f of files) {
    if (m && !m.test(f)) continue;
    if (own?.(f)) continue;
    if (!line.get(f)) return false; // matched now, but not (or absent) when the job ran
  }
  into.walks.add(p);
  return true;
}

type Line = Map<string, FileStamp | null>;

/**
 * Whether each pattern of `j` is covered: a file on its line (stamped with
 * the line's files), a directory `writes` names (EXISTS), a glob or a
 * directory in `reads` (walked); `@names` name no file. A dotenv file is a
 * path whatever characters it holds: on the line, never a glob.
 */
function jobCovered(j: NoopJob, line: Line, into: Stamps): boolean {
  let own: ((f: string) => boolean) | undefined;
  const ownIf = (read: boolean) => {
    if (!read || !into.globs) return undefined;
    return own ??= ownOutputs(j.reads, j.writes, { isGlob, namedByAny: into.globs.namedByAny });
  };
  for (const list of [j.reads, j.envFiles ?? [], j.writes]) {
    const read = list !== j.writes, literal = list === j.envFiles;
    for (const p of list) {
      if (literal) {
        const st = line.get(p);
        if (!st || isDirStamp(st)) return false;
        continue;
      }
      if (p[0] === "@") continue;
      if (isGlob(p)) {
        if (!walked(p, ownIf(read), line, into)) return false;
        continue;
      }
      const st = line.get(p);
      if (st && isDirStamp(st) && (read || !into.dir(p, EXISTS))) return false;
      if (st) continue;
      if (st === null || !read || statUnder(into.base, p) !== DIR) return false;
      if (!walked(p, ownIf(read), line, into)) return false;
    }
  }
  return true;
}

/** The stamps of every job's files and walks, taken from their lines (a record from scratch). */
function collected(jobs: NoopJob[], from: RecordFrom, into: Stamps): boolean {
  const seen = new Map<string, FileStamp>();
  for (const j of jobs) {
    const line = from.recorded(j.name);
    if (!line || !jobCovered(j, line, into)) return false;
    for (const [p, st] of line) {
      if (!st) return false; // recorded absent: its appearance would go unseen
      if (isDirStamp(st)) {
        if (!j.writes.includes(p)) return false;
        continue; // checked as a directory (jobCovered)
      }
      const had = seen.get(p);
      if (had && had.some((x, k) => x !== st[k])) return false; // lines disagree
      seen.set(p, st);
    }
  }
  for (const [p, st] of seen) if (!into.add(p, st)) return false;
  return true;
}

/**
 * A plain job's paths as the record stamps them (its depfile's inputs from its line); undefined
 * when its `reads` or `writes` hold a glob or an `@name` (its dotenv files and its line's paths
 * are paths, whatever characters they hold).
 */
function jobPaths(j: NoopJob, line: Line | undefined): string[] | undefined {
  const declared = [...j.reads, ...j.writes];
  if (declared.some((p) => p[0] === "@" || isGlob(p))) return undefined;
  const extra = [...j.envFiles ?? [], ...(j.depfile && line ? line.keys() : [])];
  return [...new Set([...declared, ...extra])];
}

/**
 * Each path's line stamp, checked alike on every line that names it (read by
 * one job, written by another: both lines must say the same); only paths
 * `want` accepts, of plain jobs. Undefined when a line is missing or lines
 * disagree.
 */
function lineStamps(
  jobs: NoopJob[],
  from: RecordFrom,
  want: (p: string) => boolean,
): Map<string, FileStamp> | undefined {
  const seen = new Map<string, FileStamp>();
  for (const j of jobs) {
    // Most jobs of an update name no wanted path: no allocation for them.
    if (!j.depfile && !j.reads.some(want) && !j.writes.some(want) && !j.envFiles?.some(want)) {
      continue;
    }
    if (!jobPaths(j, undefined)) return undefined;
    const line = from.recorded(j.name);
    if (!line) return undefined;
    for (const p of jobPaths(j, line)!) {
      if (!want(p)) continue;
      const st = line.get(p);
      if (!st || isDirStamp(st)) return undefined; // absent, not on the line, a directory
      const had = seen.get(p);
      if (had && had.some((x, k) => x !== st[k])) return undefined;
      seen.set(p, st);
    }
  }
  return seen;
}

/**
 * The previous record with the stamps of the paths that changed, or that a
 * job checked in full may have written, taken from their lines again (a
 * record of plain files only: one with directories is made from scratch).
 */
function updated(jobs: NoopJob[], from: RecordFrom, into: Stamps): boolean {
  const { diff, trusted } = from.previous!;
  const prev = diff.record;
  if (prev.dirs.length || prev.walks.length) return false;
  if (jobs.some((j) => j.depfile) || prev.names.length !== jobs.length) return false;
  const again = new Set(diff.changed);
  for (const j of jobs) {
    if (trusted.has(j.name)) continue;
    for (const p of jobPaths(j, undefined) ?? []) again.add(p);
  }
  const fresh = lineStamps(jobs, from, (p) => again.has(p));
  if (!fresh) return false;
  into.paths.push(...prev.paths.slice(2));
  into.stamps.push(...prev.stamps.slice(2 * W));
  const index = new Map(into.paths.map((p, i) => [p, i]));
  for (let k = 0; k + 1 < prev.racy.length; k += 2) {
    const i = (prev.racy[k] as number) - 2;
    if (i >= 0 && !again.has(into.paths[i])) into.racy.push(i, prev.racy[k + 1]);
  }
  for (const [p, st] of fresh) {
    const i = index.get(p);
    if (i === undefined || !into.put(p, st, i)) return false;
  }
  return fresh.size === again.size;
}

/**
 * The stamps a record of `jobs` holds (from `from.previous` updated when it
 * can, else from scratch), or undefined when it cannot vouch for them all.
 * `base` is the jobs file's directory, ending in `/`.
 *
 * @example
 * ```ts
 * import { collectStamps } from "./noop_collect.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const job = { name: "a", kind: "job", reads: ["src/*.c"], writes: [] };
 * // no state line for the job: nothing to vouch for it
 * assertEquals(collectStamps([job], { jobsFile: [], recorded: () => undefined }, "/p/"), undefined);
 * ```
 */
export function collectStamps(jobs: NoopJob[], from: RecordFrom, base: string): Stamps | undefined {
  const into = new Stamps(base, Date.now(), from.globs);
  if (from.previous && updated(jobs, from, into)) {
    return foreachCovered(from, into) ? into : undefined;
  }
  return collected(jobs, from, into.clear()) && foreachCovered(from, into) ? into : undefined;
}

/**
 * Whether each `foreach` glob of the graph (`from.foreachGlobs`) matches now what it matched
 * when the graph was loaded, the folders its walk lists stamped (before they are listed) into
 * `into`: a file that starts or stops matching moves one of them, and the next run loads the
 * graph again. False without the glob functions.
 */
function foreachCovered(from: RecordFrom, into: Stamps): boolean {
  for (const [glob, matched] of from.foreachGlobs ?? []) {
    const g = into.globs;
    if (!g) return false;
    const segs = glob.split("/");
    const lit = segs.findIndex((s) => isGlob(s));
    const root = lit < 0 ? glob : segs.slice(0, lit).join("/") || ".";
    const files: string[] = [];
    let ok = true;
    g.walkFiles(into.base, root, files, (d) => {
      ok &&= into.dir(d, LISTED);
    });
    const m = g.compileGlob(glob);
    const now = files.filter((f) => m.test(f)).sort();
    if (!ok || now.length !== matched.length || now.some((f, i) => f !== matched[i])) return false;
  }
  return true;
}

/**
 * A partial run's record (`from.previous.part`): the previous record, its
 * stamps of the paths in `part.again` taken again in place from the lines
 * of `jobs` (the jobs the run loaded, which are all the jobs that name
 * them), the racy list with them. False (the record must go) when a line
 * is missing, lines disagree, a path is not the record's, or the disk no
 * longer says what a line says. The jobs file's and the state log's stamps
 * (the first two) are the caller's.
 *
 * @example
 * ```ts
 * import { patchPart } from "./noop_collect.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const record = { names: ["a"], paths: ["/p/j.yaml", "/p/.jx/state.ndjson", "a.txt"], stamps: new Float64Array(12), racy: [], dirs: [], walks: [] };
 * const previous = { diff: { record, changed: new Set(["a.txt"]) }, trusted: new Set<string>(), part: { again: new Set(["a.txt"]) } };
 * const job = { name: "a", kind: "job", reads: ["a.txt"], writes: [] };
 * // no state line for the job: no record
 * assertEquals(patchPart([job], { jobsFile: [], recorded: () => undefined, previous }, "/p/"), false);
 * ```
 */
export function patchPart(jobs: NoopJob[], from: RecordFrom, base: string): boolean {
  const prev = from.previous?.diff.record, again = from.previous?.part?.again;
  if (!prev || !again || prev.dirs.length || prev.walks.length) return false;
  if (jobs.some((j) => j.depfile)) return false;
  const fresh = lineStamps(jobs, from, (p) => again.has(p));
  if (!fresh || fresh.size !== again.size) return false;
  const into = new Stamps(base, Date.now());
  // Where each path is in the record (by a search of the bytes read: no list of its 20,000).
  const slots: [number, string, FileStamp][] = [];
  const where = pathIndexesOf(prev, fresh.keys(), 2);
  for (const [p, st] of fresh) for (const i of where.get(p)!) slots.push([i, p, st]);
  if (slots.length !== fresh.size) return false;
  slots.sort((a, b) => a[0] - b[0]);
  for (const [i, p, st] of slots) {
    if (!into.put(p, st, i)) return false;
    for (let k = i * W; k < i * W + W; k++) prev.stamps[k] = into.stamps[k];
  }
  prev.racy = [...stillRacy(prev, again, from.previous?.diff.checkedAt), ...into.racy];
  return true;
}

/**
 * The racy paths of `prev` to keep: not taken again, and not settled. One
 * whose content the diff checked (found unchanged, else it is taken again)
 * at `checkedAt`, with a stamp older than that by more than `RACY_MS`, is
 * settled: a write since moved its stamp. Kept, such paths piled up, each
 * hashed on every later run (hundreds after a day of edits).
 */
function stillRacy(
  prev: PreviousRecord,
  again: ReadonlySet<string>,
  checkedAt = -Infinity,
): (number | string)[] {
  const racy: (number | string)[] = [];
  for (let k = 0; k + 1 < prev.racy.length; k += 2) {
    const i = prev.racy[k] as number, p = pathAt(prev, i);
    if (p === undefined || again.has(p)) continue;
    const m = prev.stamps[i * W + 1], c = prev.stamps[i * W + 3];
    if (Math.max(m, c) < checkedAt - RACY_MS - coarseTick(m, c)) continue;
    racy.push(i, prev.racy[k + 1]);
  }
  return racy;
}
