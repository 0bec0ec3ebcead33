/**
 * The no-op fast path of `jx run`, after ninja's way of deciding from
 * stamps alone. After a run in which every selected job ended `ok` or up
 * to date, jx records in `.jx/noop-FILE.json` the arguments of the run, the
 * stamps (size, mtime, inode) of the jobs file, of the state log and of
 * every path the jobs read or write, and the names of the jobs. A later
 * `jx run` with the same arguments that finds every one of those stamps
 * unchanged knows what the full check would say of each job (up to date:
 * same command, same inputs, outputs as recorded, no state line since) and
 * says it without loading the graph or the scheduler.
 *
 * A record that no longer matches still says which paths changed since
 * (`diffNoop`): when the arguments, the jobs file and the state log are as
 * recorded, the full run checks in full only the jobs that touch a changed
 * path (and those that read what a rerun job writes) and trusts the rest,
 * and its record is the old one with those paths' stamps replaced.
 *
 * Stamps are size, mtime, inode and ctime (a write or a `utime` moves the
 * ctime to now, so an edit that restores the mtime is seen). A path whose
 * mtime or ctime is within `RACY_MS` of the record's writing could still be
 * edited within the same clock tick without a change of stamp: its content
 * hash is kept in the record and compared when it is next checked.
 *
 * It is conservative: a record is written only when every selected job is
 * a job (no module) whose `reads` and `writes` are plain paths (no glob, no
 * `@name`, no directory) that exist as files after the run, and nothing was
 * generated during it; anything that differs sends `jx run` the full way.
 *
 * @module
 */
import { nodeFs, pid, removeSync, renameSync, writeAll, writeTextSync } from "../runtime/mod.ts";
import { stateDir } from "./guard.ts";
import { FILE, readText, ST, statInto, statUnder } from "./stat.ts";
import type { FileStamp } from "./fileset.ts";

const FORMAT = 2;
/** Numbers per path in `stamps`: size, mtime, inode, ctime. */
const W = 4;
/** How close to the record's writing a stamp must be to count as racy (a clock tick is <= 10 ms). */
export const RACY_MS = 50;

/** What a record holds. */
export interface NoopRecord {
  /** The arguments and versions it is valid for. */
  key: string;
  /** The selected jobs, in the order their `job.skip` events go. */
  names: string[];
  /** `run.start`'s `slots` and `jobserver`, as the run reported them. */
  slots: number;
  jobserver: "server" | "client" | "none";
  /** Absolute paths of the jobs file and the state log. */
  file: string;
  state: string;
  /** Paths relative to `base` (the jobs file's directory, ending in `/`), jobs file and state log first. */
  base: string;
  paths: string[];
  /** Per path: size, mtime (ms), inode, ctime (ms). */
  stamps: number[];
  /** Racy paths: index in `paths`, then the content hash its state line records. */
  racy: (number | string)[];
}

/** A record and the paths (relative, as in `paths`) whose stamps changed since it was written. */
export interface NoopDiff {
  record: NoopRecord;
  changed: Set<string>;
}

/**
 * Where the record of the jobs file `file` is kept.
 *
 * @example
 * ```ts
 * import { noopRecordPath } from "./noop.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(noopRecordPath("/p", "/p/jobs.yaml"), "/p/.jx/noop-jobs.yaml.json");
 * ```
 */
export const noopRecordPath = (baseDir: string, file: string): string =>
  `${baseDir}/.jx/noop-${file.slice(file.lastIndexOf("/") + 1)}.json`;

/** Whether `path`'s stat (into `ST`) is the recorded stamp at `s`. */
function sameStamp(kind: number, stamps: number[], s: number): boolean {
  return kind === FILE && ST.size === stamps[s] && ST.mtimeMs === stamps[s + 1] &&
    ST.ino === stamps[s + 2] && ST.ctimeMs === stamps[s + 3];
}

/**
 * The paths whose stamps differ from the record's (every one when `stopAtFirst`
 * finds one: a set of one), racy paths checked by content; undefined when the
 * jobs file or the state log changed.
 */
async function changedPaths(r: NoopRecord, stopAtFirst: boolean): Promise<Set<string> | undefined> {
  const { paths, stamps, base } = r;
  if (stamps.length !== paths.length * W) return undefined;
  const changed = new Set<string>();
  for (let i = 0, s = 0; i < paths.length; i++, s += W) {
    const kind = i < 2 ? statInto(paths[i]) : statUnder(base, paths[i]);
    if (sameStamp(kind, stamps, s)) continue;
    if (i < 2) return undefined;
    changed.add(paths[i]);
    if (stopAtFirst) return changed;
  }
  for (let k = 0; k + 1 < r.racy.length; k += 2) {
    const p = paths[r.racy[k] as number];
    if (p === undefined || changed.has(p)) continue;
    if ((await contentHash(p[0] === "/" ? p : base + p)) !== r.racy[k + 1]) changed.add(p);
    if (stopAtFirst && changed.size) return changed;
  }
  return changed;
}

/** SHA-256 of a file, hex, as the state's hashes are (`fileset.ts` `hashFile`); "" when unreadable. */
async function contentHash(path: string): Promise<string> {
  try {
    const bytes = nodeFs().readFileSync(path);
    const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    return [...d].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 32);
  } catch {
    return "";
  }
}

/** The record of `file`, parsed, when it is for `key`; undefined otherwise. */
function readRecord(baseDir: string, file: string, key: string): NoopRecord | undefined {
  let r: NoopRecord;
  try {
    r = JSON.parse(readText(noopRecordPath(baseDir, file)));
  } catch {
    return undefined;
  }
  // Another key (an older format's too) is no damage: that record is not for this run.
  const other = typeof r === "object" && r !== null && typeof r.key === "string" && r.key !== key;
  if (other) return undefined;
  if (!isRecord(r)) {
    writeAll(2, `jx: warning: ${noopRecordPath(baseDir, file)} is damaged: ignored\n`);
    return undefined;
  }
  return r.key === key && r.file === file ? r : undefined;
}

/**
 * The record for `key` and what changed since it was written: undefined when
 * there is none, or when the jobs file or the state log changed (then
 * nothing it says can be trusted).
 *
 * @example
 * ```ts
 * import { diffNoop } from "./noop.ts";
 * const d = await diffNoop("/p", "/p/jobs.yaml", "key");
 * if (d) console.log(`${d.changed.size} paths changed`);
 * ```
 */
export async function diffNoop(
  baseDir: string,
  file: string,
  key: string,
): Promise<NoopDiff | undefined> {
  const record = readRecord(baseDir, file, key);
  const changed = record && await changedPaths(record, false);
  return record && changed && { record, changed };
}

/**
 * The record for the jobs file `file` (absolute) when its key is `key` and
 * nothing it names has changed since; otherwise undefined.
 *
 * @example
 * ```ts
 * import { checkNoop } from "./noop.ts";
 * const r = await checkNoop("/p", "/p/jobs.yaml", "key");
 * if (r) console.log(`${r.names.length} up to date`);
 * ```
 */
export async function checkNoop(
  baseDir: string,
  file: string,
  key: string,
): Promise<NoopRecord | undefined> {
  const r = readRecord(baseDir, file, key);
  return r && (await changedPaths(r, true))?.size === 0 ? r : undefined;
}

const isStrings = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === "string");

/** Whether a parsed record has every field of the type it must have. */
function isRecord(r: unknown): r is NoopRecord {
  if (typeof r !== "object" || r === null) return false;
  const o = r as Record<string, unknown>;
  return ["key", "file", "state", "base"].every((k) => typeof o[k] === "string") &&
    isStrings(o.names) && isStrings(o.paths) && typeof o.slots === "number" &&
    ["server", "client", "none"].includes(o.jobserver as string) &&
    Array.isArray(o.stamps) && o.stamps.every((x) => typeof x === "number") &&
    Array.isArray(o.racy);
}

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
}

/**
 * The stamp (size, mtime, inode, ctime) of a file, or undefined when it is not a file.
 *
 * @example
 * ```ts
 * import { stampOf } from "./noop.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/jobs.yaml`, "jobs: {}\n");
 * const st = Deno.statSync(`${dir}/jobs.yaml`);
 * // e.g. [9, 1763900000000.123, 42, 1763900000000]  (size, mtime, inode, ctime)
 * assertEquals(stampOf(`${dir}/jobs.yaml`)?.length, 4);
 * assertEquals(stampOf(`${dir}/jobs.yaml`)?.[0], 9);
 * assertEquals(stampOf(`${dir}/jobs.yaml`)?.[2], st.ino);
 * assertEquals(stampOf(dir), undefined);
 * ```
 */
export function stampOf(path: string): number[] | undefined {
  return statInto(path) === FILE ? [ST.size, ST.mtimeMs, ST.ino, ST.ctimeMs] : undefined;
}

/** Where a record's stamps come from (see `recordNoop`). */
export interface RecordFrom {
  /** The jobs file's stamp before the run read it. */
  jobsFile: number[];
  /** Each job's files as its state line records them (size, mtime, inode, hash). */
  recorded: (job: string) => Map<string, FileStamp> | undefined;
  /** The record this run started from, what had changed, and the jobs it trusted unchecked. */
  previous?: { diff: NoopDiff; trusted: ReadonlySet<string> };
}

/** Stamps of paths, racy ones with their hash, as they go into a record. */
class Stamps {
  readonly paths: string[] = [];
  readonly stamps: number[] = [];
  readonly racy: (number | string)[] = [];
  constructor(private base: string, private written: number) {}

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
    const s = i * W;
    this.stamps[s] = ST.size, this.stamps[s + 1] = ST.mtimeMs;
    this.stamps[s + 2] = ST.ino, this.stamps[s + 3] = ST.ctimeMs;
    if (Math.max(ST.mtimeMs, ST.ctimeMs) < this.written - RACY_MS) return true;
    if (!st[3]) return false;
    this.racy.push(i, st[3]);
    return true;
  }
}

/** Whether a record can cover the job at all (its set of files depends only on stamps). */
function coverable(j: NoopJob): boolean {
  if (j.kind !== "job" || j.emits || j.deferred || j.repeat || j.fromGlob) return false;
  if (j.source !== undefined) return false; // included files (and their globs) are not stamped
  return j.reads.length + j.writes.length > 0; // else it always runs
}

/** A job's paths as the record stamps them (its depfile's inputs from its line). */
function jobPaths(j: NoopJob, line: Map<string, FileStamp> | undefined): string[] | undefined {
  const extra = [...j.envFiles ?? [], ...(j.depfile && line ? line.keys() : [])];
  const all = [...new Set([...j.reads, ...j.writes, ...extra])];
  return all.some((p) => p[0] === "@" || /[*?[\]{}]/.test(p)) ? undefined : all;
}

/**
 * Each path's line stamp, checked alike on every line that names it (read by
 * one job, written by another: both lines must say the same); only paths
 * `want` accepts. Undefined when a line is missing or lines disagree.
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
      if (!st) return undefined; // absent, or not on the line
      const had = seen.get(p);
      if (had && had.some((x, k) => x !== st[k])) return undefined;
      seen.set(p, st);
    }
  }
  return seen;
}

/** The stamps of every job's files, taken from their lines (a record from scratch). */
function collected(jobs: NoopJob[], from: RecordFrom, into: Stamps): boolean {
  const all = lineStamps(jobs, from, () => true);
  if (!all) return false;
  for (const [p, st] of all) if (!into.add(p, st)) return false;
  return true;
}

/**
 * The previous record with the stamps of the paths that changed, or that a
 * job checked in full may have written, taken from their lines again.
 */
function updated(jobs: NoopJob[], from: RecordFrom, into: Stamps): boolean {
  const { diff, trusted } = from.previous!;
  const prev = diff.record;
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
 * Writes the record of a run that left every job in `jobs` up to date, or
 * removes a stale one when the jobs are not all of the kind a record can
 * cover. Call it after the state log is closed, holding the run lock. The
 * stamps recorded are those the run decided on, not the disk's now: the
 * jobs file's as it was before the run read it (`from.jobsFile`), each
 * job's files as its state line records them (`from.recorded`), each only
 * when the disk still says so (its ctime taken now); so a file changed
 * while the run went on no longer matches, and the next run takes the full
 * way. With `from.previous`, only the paths that changed or that jobs
 * checked in full name are taken again. Failures (a read-only directory)
 * are ignored: no record.
 */
export function recordNoop(
  baseDir: string,
  file: string,
  key: string,
  jobs: NoopJob[],
  slots: number,
  jobserver: NoopRecord["jobserver"],
  from: RecordFrom,
): boolean {
  const path = noopRecordPath(baseDir, file);
  const drop = () => (dropNoop(baseDir, file), false);
  const state = `${baseDir}/.jx/state.ndjson`;
  const base = baseDir.endsWith("/") ? baseDir : baseDir + "/";
  const stateStamp = stampOf(state);
  if (!stateStamp || !jobs.every(coverable)) return drop();
  const stamps = new Stamps(base, Date.now());
  const ok = (from.previous && updated(jobs, from, stamps)) || collected(jobs, from, fresh(stamps));
  if (!ok) return drop();
  const r: NoopRecord = {
    key,
    names: jobs.map((j) => j.name),
    slots,
    jobserver,
    file,
    state,
    base,
    paths: [file, state, ...stamps.paths],
    stamps: [...from.jobsFile, ...stateStamp, ...stamps.stamps],
    racy: stamps.racy.map((x, k) => k % 2 ? x : (x as number) + 2),
  };
  try {
    stateDir(baseDir, () => {});
    const tmp = `${path}.${pid()}.tmp`;
    writeTextSync(tmp, JSON.stringify(r));
    renameSync(tmp, path);
    return true;
  } catch {
    return false;
  }
}

/** `s` emptied (after an incremental update that could not be made). */
function fresh(s: Stamps): Stamps {
  s.paths.length = s.stamps.length = s.racy.length = 0;
  return s;
}

/**
 * Removes the record of `file`, if any.
 *
 * @example
 * ```ts
 * import { dropNoop } from "./noop.ts";
 * dropNoop("/p", "/p/jobs.yaml");
 * ```
 */
export function dropNoop(baseDir: string, file: string): void {
  try {
    removeSync(noopRecordPath(baseDir, file));
  } catch { /* none */ }
}

/**
 * The key of a run: the record applies only to a run with the same jobs
 * file, selection, variables and settings that change what `run.start`
 * says, on the same runtime and version of jx.
 *
 * @example
 * ```ts
 * import { noopKey } from "./noop.ts";
 * noopKey(["0.1.0", "deno", "/p/jobs.yaml", [], {}, 2, "auto", "pipe"]);
 * ```
 */
export function noopKey(parts: unknown[]): string {
  return JSON.stringify([FORMAT, ...parts]);
}
