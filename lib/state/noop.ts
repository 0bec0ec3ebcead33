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
 * It is conservative: a record is written only when every selected job is
 * a job (no module) whose `reads` and `writes` are plain paths (no glob, no
 * `@name`, no directory) that exist as files after the run, and nothing was
 * generated during it; anything that differs sends `jx run` the full way.
 *
 * @module
 */
import { pid, removeSync, renameSync, writeAll, writeTextSync } from "../runtime/mod.ts";
import { stateDir } from "./guard.ts";
import { FILE, readText, ST, statInto, statUnder } from "./stat.ts";

const FORMAT = 1;

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
  /** Per path: size, mtime (ms), inode. */
  stamps: number[];
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

/** Whether every path's stamp is as recorded (every one a file). */
function unchanged(r: NoopRecord): boolean {
  const { paths, stamps, base } = r;
  if (stamps.length !== paths.length * 3) return false;
  for (let i = 0, s = 0; i < paths.length; i++, s += 3) {
    const kind = i < 2 ? statInto(paths[i]) : statUnder(base, paths[i]);
    if (kind !== FILE) return false;
    if (ST.size !== stamps[s] || ST.mtimeMs !== stamps[s + 1] || ST.ino !== stamps[s + 2]) {
      return false;
    }
  }
  return true;
}

/**
 * The record for the jobs file `file` (absolute) when its key is `key` and
 * nothing it names has changed since; otherwise undefined.
 *
 * @example
 * ```ts
 * import { checkNoop } from "./noop.ts";
 * const r = checkNoop("/p", "/p/jobs.yaml", "key");
 * if (r) console.log(`${r.names.length} up to date`);
 * ```
 */
export function checkNoop(baseDir: string, file: string, key: string): NoopRecord | undefined {
  let r: NoopRecord;
  try {
    r = JSON.parse(readText(noopRecordPath(baseDir, file)));
  } catch {
    return undefined;
  }
  if (!isRecord(r)) {
    writeAll(2, `jx: warning: ${noopRecordPath(baseDir, file)} is damaged: ignored\n`);
    return undefined;
  }
  if (r.key !== key || r.file !== file) return undefined;
  return unchanged(r) ? r : undefined;
}

const isStrings = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === "string");

/** Whether a parsed record has every field of the type it must have. */
function isRecord(r: unknown): r is NoopRecord {
  if (typeof r !== "object" || r === null) return false;
  const o = r as Record<string, unknown>;
  return ["key", "file", "state", "base"].every((k) => typeof o[k] === "string") &&
    isStrings(o.names) && isStrings(o.paths) && typeof o.slots === "number" &&
    ["server", "client", "none"].includes(o.jobserver as string) &&
    Array.isArray(o.stamps) && o.stamps.every((x) => typeof x === "number");
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
 * The stamp (size, mtime, inode) of a file, or undefined when it is not a file.
 *
 * @example
 * ```ts
 * import { stampOf } from "./noop.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/jobs.yaml`, "jobs: {}\n");
 * const st = Deno.statSync(`${dir}/jobs.yaml`);
 * // e.g. [9, 1763900000000.123, 42]
 * assertEquals(stampOf(`${dir}/jobs.yaml`)?.length, 3);
 * assertEquals(stampOf(`${dir}/jobs.yaml`)?.[0], 9);
 * assertEquals(stampOf(`${dir}/jobs.yaml`)?.[2], st.ino);
 * assertEquals(stampOf(dir), undefined);
 * ```
 */
export function stampOf(path: string): number[] | undefined {
  return statInto(path) === FILE ? [ST.size, ST.mtimeMs, ST.ino] : undefined;
}

/**
 * Writes the record of a run that left every job in `jobs` up to date, or
 * removes a stale one when the jobs are not all of the kind a record can
 * cover. Call it after the state log is closed, holding the run lock. The
 * stamps recorded are those the run decided on, not the disk's now: the
 * jobs file's as it was before the run read it (`from.jobsFile`), each
 * job's files as its state line records them (`from.recorded`); so a file
 * changed while the run went on no longer matches, and the next run takes
 * the full way. Failures (a read-only directory) are ignored: no record.
 */
export function recordNoop(
  baseDir: string,
  file: string,
  key: string,
  jobs: NoopJob[],
  slots: number,
  jobserver: NoopRecord["jobserver"],
  from: { jobsFile: number[]; recorded: (job: string) => Map<string, number[]> | undefined },
): boolean {
  const path = noopRecordPath(baseDir, file);
  const drop = () => (dropNoop(baseDir, file), false);
  const state = `${baseDir}/.jx/state.ndjson`;
  const base = baseDir.endsWith("/") ? baseDir : baseDir + "/";
  const stateStamp = stampOf(state);
  if (!stateStamp) return drop();
  const paths = [file, state];
  const stamps: number[] = [...from.jobsFile, ...stateStamp];
  const seen = new Map<string, number[]>();
  for (const j of jobs) {
    // The set of jobs or files of these depends on more than stamps.
    if (j.kind !== "job" || j.emits || j.deferred || j.repeat || j.fromGlob) return drop();
    if (j.source !== undefined) return drop(); // included files (and their globs) are not stamped
    if (j.reads.length + j.writes.length === 0) return drop(); // always runs
    const line = from.recorded(j.name);
    if (!line) return drop();
    // A depfile's inputs are on the state line only; dotenv files are inputs too.
    const extra = [...j.envFiles ?? [], ...(j.depfile ? line.keys() : [])];
    for (const p of new Set([...j.reads, ...j.writes, ...extra])) {
      if (p[0] === "@" || /[*?[\]{}]/.test(p)) return drop();
      const st = line.get(p);
      if (!st) return drop(); // absent, or not on the line
      const had = seen.get(p);
      if (had) {
        // Read by one job, written by another: both lines must say the same.
        if (had.some((x, k) => x !== st[k])) return drop();
        continue;
      }
      seen.set(p, st);
      paths.push(p);
      stamps.push(st[0], st[1], st[2]);
    }
  }
  const r: NoopRecord = {
    key,
    names: jobs.map((j) => j.name),
    slots,
    jobserver,
    file,
    state,
    base,
    paths,
    stamps,
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
