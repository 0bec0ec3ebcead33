/**
 * `jx run`'s no-op fast path (see lib/state/noop.ts): when the last run
 * with the same arguments left every job up to date and no stamp it
 * recorded has changed, the verdict is replayed to the same reporters a
 * full run uses (summary, `--events`, `--trace`) without loading the jobs
 * file, the reactors or the scheduler. Anything else: the full way.
 *
 * @module
 */
import type { Graph } from "../graph/graph.ts";
import {
  type ConsoleOptions,
  ConsoleReporter,
  EventLog,
  MemoryKeeper,
  refuseSameOutput,
  TraceWriter,
} from "../report/mod.ts";
import { type Reporter, type RunEvent, skipUpToDate } from "../scheduler/events.ts";
import {
  diffNoop,
  dropNoop,
  jobsFileStampAt,
  type NoopDiff,
  type NoopJob,
  noopKey,
  noopRecordPath,
  pathCount,
  type RecordFrom,
  recordNoop,
  settleRacy,
  stampOf,
} from "../state/noop.ts";
import { FLAG_VARS } from "../jobserver/makeflags.ts";
import { cacheFlagsProblem } from "../cache/flags.ts";
import { type Lock, tryLock } from "../state/lock.ts";
import {
  absolutePath,
  cwd,
  envObject,
  findJobsFileUp,
  isFileSync,
  isTerminal,
  namesDescriptor,
  physicalFile,
  projectDir,
  writeAll,
} from "../runtime/mod.ts";
import { giveJobsColours } from "../runtime/color.ts";
import { type Args, parseArgs } from "./args.ts";
import { GRAPH_FORMAT, VERSION } from "../runtime/version.ts";
import { wantedJobs } from "./slots.ts";

/**
 * The reporters of a `jx run`: the console, and the event log and trace
 * when asked for (never over `jobsFile`: a `JxInputError`).
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { runReporters } from "./noop_run.ts";
 * const reporters = runReporters(parseArgs(["run"], {}));
 * ```
 */
export function runReporters(
  args: Args,
  graph?: Graph,
  status?: Pick<ConsoleOptions, "clock" | "lastMs" | "foreground">,
  jobsFile: string | undefined = graph?.file,
): Reporter[] {
  const reporters: Reporter[] = [
    new ConsoleReporter({
      mode: args.output,
      color: args.color && isTerminal(2),
      statusLine: isTerminal(2) && args.output !== "stream",
      graph,
      verbose: args.verbose,
      ...status,
    }),
  ];
  // Never over a file the run reads (`--events jobs.yaml`, an included file, a dotenv file).
  const keep = graph ? graph.filesRead() : jobsFile !== undefined ? [jobsFile] : [];
  refuseSameOutput(args.events, args.trace);
  if (args.events) reporters.push(new EventLog(args.events, keep));
  if (args.trace) reporters.push(new TraceWriter(args.trace, keep));
  reporters.push(new MemoryKeeper());
  return reporters;
}

/**
 * The key of a no-op record: what a run's verdicts and its `run.start`
 * depend on besides the files (`names` without a jobs file named first), on
 * any runtime.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { runKey } from "./noop_run.ts";
 * runKey(parseArgs(["run"], {}), "/p/jobs.yaml", []);
 * ```
 */
export function runKey(args: Args, file: string, names: string[]): string {
  // Not the runtime: Deno and Bun stat alike (statx), and a stamp measured
  // otherwise can only differ, which sends the run the full way.
  return noopKey([
    VERSION,
    GRAPH_FORMAT, // a loader that builds the jobs otherwise: their lines no longer vouch for them
    file,
    names,
    Object.entries(args.vars).sort(),
    // `jx run JOB -- ARG...`: a run with other arguments is another run (contract: never replayed).
    // `jx run JOB --` (none) is the run without `--`.
    args.jobArgs?.length ? args.jobArgs : null,
    wantedJobs(args),
    args.reactor,
    args.jobserverStyle,
    // `--all` selects otherwise than the file's `default:` (kept out when not given: same keys).
    ...args.all ? ["--all"] : [],
  ]);
}

const isFile = isFileSync;

/** Whether make's flags are in the environment (a pool to join, -n, -k): the full way reads them. */
function underMake(): boolean {
  const env = envObject();
  for (const v of FLAG_VARS) if (/\S/.test(env[v] ?? "")) return true; // a loop: see noop.ts
  return false;
}

/**
 * The jobs file (absolute) and the job names of a `jx run`, found as the
 * full way finds them (cli/main.ts `jobsFile`), without changing `args`.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { findFile } from "./noop_run.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/jobs.yaml`, "jobs:\n  build: { run: make }\n");
 * assertEquals(findFile(parseArgs(["run", `${dir}/jobs.yaml`, "build"], {})), {
 *   file: `${dir}/jobs.yaml`,
 *   names: ["build"],
 * });
 * ```
 */
export function findFile(args: Args): { file: string; names: string[] } | undefined {
  const names = [...args.names];
  let file = args.file;
  if (!file) {
    const first = names[0];
    if (first && /\.ya?ml(\.example)?$/.test(first) && isFile(first)) {
      file = physicalFile(names.shift()!);
    } else file = findJobsFileUp(cwd());
  }
  return file ? { file: absolutePath(file), names } : undefined;
}

/**
 * The stamp of the jobs file before a full run reads it (the record must
 * describe the file the run used, not one edited while it ran).
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { jobsFileStamp } from "./noop_run.ts";
 * const before = jobsFileStamp(parseArgs(["run"], {}));
 * ```
 */
export function jobsFileStamp(
  args: Args,
): { file: string; stamp: number[]; hash?: string } | undefined {
  const found = findFile(args);
  // The clock before the stat: a change the stat cannot tell from this stamp is racy for sure.
  const stamped = found && jobsFileStampAt(found.file, Date.now());
  return found && stamped ? { file: found.file, ...stamped } : undefined;
}

/**
 * For `cli.ts`, before anything else is loaded: `jx run ...` the fast way
 * when it can (the exit code), else undefined (bad arguments included: the
 * full way reports them).
 *
 * @example
 * ```ts
 * import { fastRun } from "./noop_run.ts";
 * const code = await fastRun(["run", "-j8"]);
 * ```
 */
export async function fastRun(argv: string[]): Promise<number | undefined> {
  let args: Args;
  try {
    args = parseArgs(argv, envObject());
  } catch {
    return undefined;
  }
  if (args.command !== "run" || args.help || args.version) return undefined;
  return await tryNoopRun(args);
}

/**
 * Runs `jx run` the fast way when it can: returns the exit code (0), or
 * undefined to go the full way.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { tryNoopRun } from "./noop_run.ts";
 * const code = await tryNoopRun(parseArgs(["run"], {}));
 * ```
 */
export async function tryNoopRun(args: Args): Promise<number | undefined> {
  if (notForTheFastPath(args)) return undefined;
  const found = findFile(args);
  if (!found) return undefined;
  const { file, names } = found;
  // A jobs file read from a pipe (`-f <(gen)`) has no stamp that vouches for its text.
  if (namesDescriptor(file)) return undefined;
  const baseDir = projectDir(file);
  if (!isFile(noopRecordPath(baseDir, file))) return undefined;
  const started = performance.now();
  const diff = diffUnderLock(args, baseDir, file, runKey(args, file, names));
  if (!diff || diff.changed.size) return undefined;
  // A file the record stamps may be one the run reads (a dotenv file): the full way says.
  if (overRecorded(args, diff.record)) return undefined;
  for (const w of args.warnings) writeAll(2, `jx: warning: ${w}\n`);
  if (args.verbose) {
    writeAll(2, `jx: no-op: ${pathCount(diff.record)} stamps as the last run left them\n`);
  }
  return await replay(args, diff.record, file, started);
}

/**
 * Options that the fast path leaves to the full way; bad input among them too, which the full way
 * refuses (exit 2) whichever way would answer: a remote cache URL of no known form.
 */
function notForTheFastPath(args: Args): boolean {
  const env = envObject();
  if (args.dryRun || args.force || underMake() || env.JX_NO_FAST_NOOP) return true;
  if (cacheFlagsProblem(args, env)) return true; // opening the cache refuses it (or the file says)
  if (args.ui) return true; // the page is served by the full way (cli/ui_live.ts)
  // A checked run reruns jobs with remembered findings (docs/lint.md): not a replay.
  if (args.checkAccess || args.strict) return true;
  return args.changedSince !== undefined; // git decides the selection: the full way
}

/**
 * The record's paths compared with the disk under the run lock: undefined
 * when the lock cannot be had now or there is no usable record. When paths
 * changed, the lock stays held (`missed`) for the full way to go on under.
 */
function diffUnderLock(
  args: Args,
  baseDir: string,
  file: string,
  key: string,
): NoopDiff | undefined {
  let lock: ReturnType<typeof tryLock>;
  try {
    lock = tryLock(baseDir);
  } catch {
    return undefined; // a refused .jx/: the full way says why
  }
  if (typeof lock === "number") return undefined; // another run: the full way waits for it
  // The environment the full way gives jobs (cli/main.ts sets the same before it loads the file):
  // which variables are set decides what a dotenv file still gives them (the record notes it).
  giveJobsColours(args.color && isTerminal(1));
  let diff;
  let keep = false;
  try {
    diff = diffNoop(baseDir, file, key);
    // Paths changed: the full way goes on from what was found, under this same hold of the
    // lock (another run between a release and a retake could change files the diff never saw).
    keep = !!diff?.changed.size;
    // Racy paths this diff checked by content past their window: by stamp from now on.
    if (diff && !keep) settleRacy(baseDir, file, diff);
  } finally {
    if (!keep) lock.release();
  }
  if (keep) missed = { diff: diff!, key, lock };
  return diff;
}

/** The recorded run replayed as up to date to the reporters: 0, or undefined to go the full way. */
async function replay(
  args: Args,
  rec: NoopDiff["record"],
  file: string,
  started: number,
): Promise<number | undefined> {
  let reporters: Reporter[];
  try {
    reporters = runReporters(args, undefined, undefined, file);
  } catch {
    return undefined; // an --events or --trace file that cannot be written: the full way says so
  }
  const t = () => performance.now() - started;
  const emit = (e: RunEvent) => {
    for (const r of reporters) r.event(e);
  };
  emit({
    type: "run.start",
    t: t(),
    jobs: rec.names.length,
    slots: rec.slots,
    jobserver: rec.jobserver,
  });
  skipUpToDate(reporters, rec.names, t());
  const ms = t();
  emit({ type: "run.end", t: ms, status: "ok", exit: 0, ms });
  for (const r of reporters) await r.close?.();
  return 0;
}

/**
 * Whether `--events` or `--trace` names a file whose stamp the record holds (one the run reads or
 * writes, the jobs file), by its inode: the full way refuses a file the run reads (a dotenv file,
 * an included one), and only it knows which those are.
 */
function overRecorded(args: Args, rec: NoopDiff["record"]): boolean {
  for (const path of [args.events, args.trace]) {
    const ino = path === undefined ? undefined : stampOf(path)?.[2];
    if (ino === undefined) continue;
    for (let i = 2; i < rec.stamps.length; i += 4) if (rec.stamps[i] === ino) return true;
  }
  return false;
}

/**
 * What the fast path found when some recorded paths had changed (for `trustedJobs` and
 * `partialRun`), and the lock it found it under, still held (see `heldLock`).
 */
let missed: { diff: NoopDiff; key: string; lock?: Lock } | undefined;

/** Forgets what the fast path found (a run that does not go on under its lock). */
export function forgetChanged(): void {
  missed = undefined;
}

/**
 * The run lock the fast path still holds when it found paths changed, for the run of the
 * jobs file `file` to go on under (what it found stays true only while the lock is held);
 * for any other file the lock is released and what was found forgotten.
 *
 * @example
 * ```ts
 * import { heldLock } from "./noop_run.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * // no fast path taken: no lock held
 * assertEquals(heldLock("/p/jobs.yaml"), undefined);
 * ```
 */
export function heldLock(file: string | undefined): Lock | undefined {
  const lock = missed?.lock;
  if (!lock) return undefined;
  missed!.lock = undefined;
  if (missed!.diff.record.file === file) return lock;
  lock.release();
  missed = undefined;
  return undefined;
}

/** Whether a stat of `path` now is the record's stamp at path index `i`. */
function stampAt(d: NoopDiff, i: number, path: string): boolean {
  const now = stampOf(path), s = d.record.stamps;
  return !!now && now.every((x, k) => x === s[i * 4 + k]);
}

/**
 * For a full `jx run` that holds the lock: the jobs whose files the fast
 * path found as its record left them (none of them changed), which the run
 * may take as up to date unchecked; undefined when the fast path found no
 * record for this run, or when the jobs file (`before`, its stamp before it
 * was read) or the state log changed since (another run wrote lines).
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { trustedJobs } from "./noop_run.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * // no record seen
 * assertEquals(trustedJobs(parseArgs(["run"], {}), [], undefined), undefined);
 * ```
 */
export function trustedJobs(
  args: Args,
  selected: NoopJob[],
  before: { file: string; stamp: number[] } | undefined,
): { diff: NoopDiff; jobs: Set<string> } | undefined {
  const m = missed;
  if (!m || !before || m.diff.record.file !== before.file) return undefined;
  const { record, changed } = m.diff;
  if (m.key !== runKey(args, before.file, args.names)) return undefined;
  if (!before.stamp.every((x, k) => x === record.stamps[k])) return undefined;
  if (!stampAt(m.diff, 1, record.state)) return undefined;
  if (selected.length !== record.names.length) return undefined;
  const jobs = new Set<string>();
  const walks = new Set(record.walks);
  for (let i = 0; i < selected.length; i++) {
    const j = selected[i];
    if (j.name !== record.names[i]) return undefined;
    if (j.depfile) continue; // its inputs are on its line: checked in full
    const declared = [...j.reads, ...j.writes];
    // A glob or a directory walked: what it matches now is for the full check to say.
    if (declared.some((p) => walks.has(p) || /[*?[{]/.test(p))) continue;
    // Its dotenv files are paths, whatever characters they hold (never globs).
    const paths = j.envFiles ? [...declared, ...j.envFiles] : declared;
    if (!paths.some((p) => changed.has(p))) jobs.add(j.name);
  }
  return { diff: m.diff, jobs };
}

/** What a partial run loads (see `partialRun`): a graph of some of the selected jobs. */
export interface PartialRun {
  /** The jobs an edit touches and what follows them, as a graph of their own. */
  graph: Graph;
  /** The other selected jobs: up to date, by the record. */
  left: string[];
  /** The paths the next record takes again from the loaded jobs' lines. */
  again: Set<string>;
  /** The record it started from and what had changed. */
  diff: NoopDiff;
}

/**
 * Whether `jx run` may load only what an edit touches (`partialRun`): the
 * fast path found its record with some paths changed, for these arguments
 * and this jobs file (`before`: its stamp before anything read it), a
 * record of plain files (no glob, no directory walked) that names the graph
 * cache of its graph. Call it before the lock is taken; `partialRun`, after,
 * checks the rest.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { mayRunPart } from "./noop_run.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * // no record seen
 * assertEquals(mayRunPart(parseArgs(["run"], {}), undefined), false);
 * ```
 */
export function mayRunPart(
  args: Args,
  before: { file: string; stamp: number[] } | undefined,
): boolean {
  const m = missed;
  if (!m || !before || envObject().JX_NO_PARTIAL || args.jobArgs?.length) return false;
  const { record } = m.diff;
  const found = findFile(args);
  if (!found || found.file !== before.file || record.file !== before.file) return false;
  if (m.key !== runKey(args, found.file, found.names)) return false;
  if (!before.stamp.every((x, k) => x === record.stamps[k])) return false;
  return !!record.graphKey && !record.dirs.length && !record.walks.length &&
    m.diff.changed.size > 0;
}

/**
 * For a `jx run` that holds the lock, after `mayRunPart`: the selected jobs
 * that name a changed path and everything that follows them, read from the
 * graph cache without the rest of the graph (graph/cache.ts
 * `readCachedPart`); the other selected jobs are up to date by the record.
 * Undefined when the state log changed since the fast path looked (another
 * run), when the cache is not the record's, or when the part would be more
 * than an eighth of the selection (the full way costs no more then). On
 * success `args.names` loses a jobs file named first, as the full way's
 * `jobsFile` does.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { partialRun } from "./noop_run.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(await partialRun(parseArgs(["run"], {})), undefined);
 * ```
 */
export async function partialRun(args: Args): Promise<PartialRun | undefined> {
  const m = missed, found = findFile(args), graphKey = m?.diff.record.graphKey;
  if (!m || !found || !graphKey) return undefined;
  const { record, changed } = m.diff;
  if (!stampAt(m.diff, 1, record.state)) return undefined;
  const { readCachedPart } = await import(
    "../graph/cache.ts" as string
  ) as typeof import("../graph/cache.ts");
  const max = Math.max(32, record.names.length >> 3);
  const part = readCachedPart(found.file, graphKey, record.names, changed, max);
  if (!part) return undefined;
  args.names.splice(0, args.names.length, ...found.names);
  return { ...part, diff: m.diff };
}

/**
 * After a full `jx run` (state closed, lock held): records the no-op
 * record when `recordable` (every job ended ok or up to date), else drops
 * any record, so that only what the last run left is ever replayed.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { recordRun } from "./noop_run.ts";
 * import { noopRecordPath } from "../state/noop.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/.jx`);
 * Deno.writeTextFileSync(noopRecordPath(dir, "jobs.yaml"), "{}");
 * // not recordable: the record a former run left is dropped
 * await recordRun(parseArgs(["run"], {}), `${dir}/jobs.yaml`, [], undefined);
 * assertEquals(Deno.readDirSync(`${dir}/.jx`).toArray(), []);
 * ```
 */
export async function recordRun(
  args: Args,
  graphFile: string,
  selected: NoopJob[],
  recordable:
    | {
      slots: number;
      jobserver: "server" | "client" | "none";
      /** The jobs file's stamp before the run read it. */
      before?: { file: string; stamp: number[]; hash?: string };
      /** The stamps of each job's files as its state line records them. */
      recorded: RecordFrom["recorded"];
      /** The record the run started from and the jobs it took as up to date unchecked. */
      previous?: RecordFrom["previous"];
      /** The graph cache's key of the run's graph, if it had one. */
      graphKey?: string;
      /** Its dotenv variables, and whether a dotenv file lies outside the project. */
      dotenv?: RecordFrom["dotenv"];
      /** Its `foreach` globs and what each matched when it was loaded. */
      foreachGlobs?: RecordFrom["foreachGlobs"];
    }
    | undefined,
): Promise<void> {
  const file = absolutePath(graphFile);
  const baseDir = projectDir(file);
  // Under make the pool is make's: a later plain run must not replay that.
  // A --changed-since run covers only what git reported: never a record for a plain run.
  // One whose load warned about its vars: the next one goes the full way and warns again.
  const ok = recordable && recordable.jobserver !== "client" && !underMake() &&
    recordable.before?.file === file && args.changedSince === undefined &&
    !namesDescriptor(file) && !args.varsWarned;
  if (!ok) return dropNoop(baseDir, file);
  const key = runKey(args, file, args.names);
  recordNoop(baseDir, file, key, selected, recordable.slots, recordable.jobserver, {
    jobsFile: recordable.before!.stamp,
    jobsFileHash: recordable.before!.hash,
    recorded: recordable.recorded,
    previous: recordable.previous,
    graphKey: recordable.graphKey,
    dotenv: recordable.dotenv,
    foreachGlobs: recordable.foreachGlobs,
    // Loaded here, by the full way only (it loads node: modules: see state/noop_collect.ts);
    // a partial run's record has no globs to walk.
    globs: recordable.previous?.part
      ? undefined
      : (await import("../graph/glob.ts" as string) as typeof import("../graph/glob.ts")),
  });
}
