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
import { ConsoleReporter, EventLog, TraceWriter } from "../report/mod.ts";
import type { Reporter, RunEvent } from "../scheduler/events.ts";
import {
  checkNoop,
  dropNoop,
  type NoopJob,
  noopKey,
  noopRecordPath,
  recordNoop,
} from "../state/noop.ts";
import { tryLock } from "../state/lock.ts";
import {
  absolutePath,
  cpuCount,
  envObject,
  isFileSync,
  isTerminal,
  parentDir,
  writeAll,
} from "../runtime/mod.ts";
import { type Args, parseArgs } from "./args.ts";
import { VERSION } from "./help.ts";

/**
 * The reporters of a `jx run`: the console, and the event log and trace
 * when asked for.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { runReporters } from "./noop_run.ts";
 * const reporters = runReporters(parseArgs(["run"], {}));
 * ```
 */
export function runReporters(args: Args, graph?: Graph): Reporter[] {
  const reporters: Reporter[] = [
    new ConsoleReporter({
      mode: args.output,
      color: args.color && isTerminal(2),
      statusLine: isTerminal(2) && args.output !== "stream",
      graph,
      verbose: args.verbose,
    }),
  ];
  if (args.events) reporters.push(new EventLog(args.events));
  if (args.trace) reporters.push(new TraceWriter(args.trace));
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
    file,
    names,
    Object.entries(args.vars).sort(),
    args.jobs ?? cpuCount(),
    args.reactor,
    args.jobserverStyle,
  ]);
}

const isFile = isFileSync;

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
  // MAKEFLAGS may carry -n or a pool to join: the full way reads it.
  const env = envObject();
  if (args.dryRun || args.force || env.MAKEFLAGS || env.JX_NO_FAST_NOOP) {
    return undefined;
  }
  const names = [...args.names];
  let file = args.file;
  if (!file) {
    // As the full way finds it (cli/main.ts jobsFile).
    const first = names[0];
    if (first && /\.ya?ml(\.example)?$/.test(first) && isFile(first)) file = names.shift();
    else file = ["jobs.yaml", "jobs.yml"].find(isFile);
  }
  if (!file) return undefined;
  file = absolutePath(file);
  const baseDir = parentDir(file);
  if (!isFile(noopRecordPath(baseDir, file))) return undefined;
  const started = performance.now();
  const lock = tryLock(baseDir);
  if (typeof lock === "number") return undefined; // another run: the full way waits for it
  let rec;
  try {
    rec = checkNoop(baseDir, file, runKey(args, file, names));
  } finally {
    lock.release();
  }
  if (!rec) return undefined;
  for (const w of args.warnings) writeAll(2, `jx: warning: ${w}\n`);
  if (args.verbose) {
    writeAll(2, `jx: no-op: ${rec.paths.length} stamps as the last run left them\n`);
  }
  const reporters = runReporters(args);
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
  for (const job of rec.names) emit({ type: "job.skip", t: t(), job, reason: "up-to-date" });
  const ms = t();
  emit({ type: "run.end", t: ms, status: "ok", exit: 0, ms });
  for (const r of reporters) await r.close?.();
  return 0;
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
 * recordRun(parseArgs(["run"], {}), "jobs.yaml", [], undefined); // drops the record
 * ```
 */
export function recordRun(
  args: Args,
  graphFile: string,
  selected: NoopJob[],
  recordable?: { slots: number; jobserver: "server" | "client" | "none" },
): void {
  const file = absolutePath(graphFile);
  const baseDir = parentDir(file);
  if (!recordable) return dropNoop(baseDir, file);
  const key = runKey(args, file, args.names);
  recordNoop(baseDir, file, key, selected, recordable.slots, recordable.jobserver);
}
