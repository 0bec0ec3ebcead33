/**
 * The options and results of a run, and what a module host and a job feed
 * look like to the builder.
 *
 * @module
 */
import type { Graph } from "../graph/graph.ts";
import type { EmitContext, JobSpec } from "../graph/types.ts";
import type { ListenSignal, Reactor } from "../reactor/types.ts";
import type { JobStatus, Reporter, RunEvent, RunStatus } from "./events.ts";
import type { Runner } from "./runner.ts";
import type { Slots } from "./slots.ts";

/**
 * Ends a run early; `runJobs` fills it in.
 *
 * @example
 * ```ts
 * import type { RunControl } from "./options.ts";
 * const control: RunControl = {};
 * // after runJobs(graph, jobs, { reactor, control }) has started:
 * control.cancel?.();
 * ```
 */
export interface RunControl {
  /**
   * Stops the run as `signal` would: running jobs get SIGTERM, then SIGKILL
   * after their grace; the rest is not started; `run.end` says
   * `interrupted`, exit 128 + the signal's number. A second stop kills at once.
   */
  stop?: (signal: ListenSignal) => void;
  /**
   * Stops the run the same way for the caller's own reason, not a signal
   * (`jx watch` restarting a cycle after a change): `run.end` says
   * `cancelled`, exit null. A stop after a cancel is a first stop.
   */
  cancel?: () => void;
  /**
   * Stops (`true`: SIGSTOP) or continues (`false`: SIGCONT) the process
   * groups of the run's jobs and modules while jx itself is stopped (a
   * Ctrl-Z heard by a caller that listens for signals itself: `jx watch`).
   * A job that starts meanwhile is stopped too; a stop or cancel continues
   * each job it sends SIGTERM, so that the job hears it (not only the
   * SIGKILL after its grace).
   */
  suspend?: (stopped: boolean) => void;
}

/**
 * How to run.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { createReactor } from "../reactor/mod.ts";
 * import { runJobs } from "./run.ts";
 * import type { RunOptions } from "./options.ts";
 * const graph = parseJobsFile("jobs:\n  a: { run: echo a }\n", "j.yaml");
 * const opts: RunOptions = { reactor: createReactor(), jobs: 2, keepGoing: true, reporters: [] };
 * await runJobs(graph, graph.jobs, opts);
 * ```
 */
export interface RunOptions {
  /** The event loop that spawns the jobs and keeps time. */
  reactor: Reactor;
  /**
   * Job-slot limit (`-j`) for a local counter, a whole number of at least 1
   * (default 1); ignored when `slots` is given.
   */
  jobs?: number;
  /**
   * The job slots, resolved once (`-j`, a make jobserver, the CPU count): a
   * jobserver pool also gives `run.start` its role and each job its MAKEFLAGS.
   * Default: a local counter of `jobs`.
   */
  slots?: Slots;
  /** Where jobs run (default: a `LocalRunner` over `reactor` and `slots`; with `dryRun`, a `DryRunRunner`). */
  runner?: Runner;
  /** `-k`: keep running what does not depend on a failure. */
  keepGoing?: boolean;
  /** `-n`: resolve every job as `dry-run`, run nothing. */
  dryRun?: boolean;
  /** Receivers of the run's events. */
  reporters?: Reporter[];
  /** The environment every job starts from (default: jx's own). */
  baseEnv?: Record<string, string>;
  /** Added to every job's environment, after the job's own `env`. */
  extraEnv?: Record<string, string>;
  /** `JX_RUN_ID`; generated when absent. */
  runId?: string;
  /** Up-to-date state: jobs it finds up to date are skipped; successes are recorded. */
  state?: {
    /**
     * `inputs`: when the job is out of date only by inputs, those paths (a dry run says it may
     * run when jobs that would run before it write them).
     */
    check(spec: JobSpec): { upToDate: boolean; inputs?: string[] };
    succeeded(spec: JobSpec): void;
    /**
     * True when the job is out of date whatever the disk holds (it never
     * ran, or declares no files): a dry run then needs no `check` (no stat).
     */
    surelyOutOfDate?(spec: JobSpec): boolean;
    /** A job starts (not a dry run's): the `@names` it writes are written (readers rerun). */
    started?(spec: JobSpec): void;
  };
  /** `--force`: run jobs even when the state says they are up to date (still recorded). */
  force?: boolean;
  /**
   * Selected jobs left out of the graph as up to date (a partial load after
   * an edit: cli/noop_run.ts): counted in `run.start` and reported as
   * skipped up to date right after it, before anything starts; not in
   * `RunResult.results` (the caller has their names: 10,000 entries made
   * for nothing cost more than the rest of the run's bookkeeping).
   */
  leftUpToDate?: readonly string[];
  /** Listen for SIGINT/SIGTERM/SIGHUP/SIGQUIT, and SIGTSTP (Ctrl-Z) (default true). */
  handleSignals?: boolean;
  /** The time events count from (default: now); `jx watch` keeps one clock for its cycles. */
  t0?: number;
  /**
   * Runs the selected modules (`Supervisor` from lib/modules). Required when
   * the selection holds a module, except with `dryRun`.
   */
  modules?: ModuleHost;
  /** Filled in by `runJobs` before it returns: ends the run early (see `RunControl`). */
  control?: RunControl;
  /**
   * Aborting it cancels the run as `RunControl.cancel` does (the promise resolves, `run.end`
   * says `cancelled`); one already aborted when `runJobs` is called rejects with its reason
   * before anything starts.
   */
  signal?: AbortSignal;
  /** Streams that jobs come from while the run goes on (see `JobFeed`). */
  feeds?: JobFeed[];
}

/**
 * A stream of bytes that jobs come from while the run goes on, as an
 * `emits: jobs` job's stdout does: each line is turned into jobs by `parse`
 * (by default one JSON object per line, the jobs-file keys plus `name`),
 * each checked and added to the run at once. The run ends once the stream
 * ends and its jobs are done.
 *
 * @example
 * ```ts
 * import type { JobFeed } from "./options.ts";
 * const feed: JobFeed = {
 *   name: "files",
 *   stream: new Blob(["a.txt\nb.txt\n"]).stream(),
 *   parse: (line) => ({ name: `wc-${line}`, run: `wc -c ${line}` }),
 * };
 * ```
 */
export interface JobFeed {
  /** Names the feed in `job.add` events (`by`) and in messages. */
  name: string;
  /** The bytes. */
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;
  /**
   * Turns one line (without its newline) into job entries; `undefined`
   * skips the line. A throw is a bad line. Default: each line one JSON
   * object, read as an `emits: jobs` line is; blank lines and `#` comments
   * skipped.
   */
  parse?: (
    line: string,
    lineNo: number,
  ) => Record<string, unknown> | Record<string, unknown>[] | undefined;
  /** What relative paths resolve against, the env and variables (default: the current directory, none). */
  context?: Partial<EmitContext>;
}

/**
 * What a run ended with.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { createReactor } from "../reactor/mod.ts";
 * import { runJobs } from "./run.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const graph = parseJobsFile("jobs:\n  a: { run: exit 3 }\n", "j.yaml");
 * const result = await runJobs(graph, graph.jobs, { reactor: createReactor(), reporters: [] });
 * assertEquals(result.exit, 1);
 * assertEquals(result.results.get("a"), { status: "failed" });
 * ```
 */
export interface RunResult {
  /**
   * The process exit code: 0, 1, or 128+signal when interrupted; when
   * cancelled, 0 or 1 by the failures before the cancel (its `run.end` says
   * `exit: null`).
   */
  exit: number;
  /** How the run ended. */
  status: RunStatus;
  /** Per job: the final status, or the skip reason. */
  results: Map<string, { status: JobStatus | "skipped"; reason?: string; because?: string }>;
  /** Wall time of the run, in milliseconds. */
  ms: number;
}

/**
 * What `runJobs` gives a `ModuleHost` when a run starts.
 *
 * @example
 * ```ts
 * import type { ModuleRun } from "./options.ts";
 * const say = (run: ModuleRun) =>
 *   run.emit({ type: "module.state", t: run.t(), module: "db", state: "idle" });
 * ```
 */
export interface ModuleRun {
  /** The graph of the run. */
  graph: Graph;
  /** The selected jobs and modules. */
  selected: JobSpec[];
  /** The run's event loop. */
  reactor: Reactor;
  /** Sends an event to the run's reporters. */
  emit(e: RunEvent): void;
  /** Milliseconds since the run started, for events. */
  t(): number;
  /** The environment a job or module starts with. */
  env(spec: JobSpec): Record<string, string>;
  /**
   * Looks again at what can start: a module that jobs wait for (`comingBack`)
   * is up again, or down for good.
   */
  wake?(): void;
}

/**
 * What runs a selection's modules for `runJobs` (the `Supervisor` of
 * lib/modules). It receives every event of the run, as a reporter does.
 *
 * @example
 * ```ts
 * import type { ModuleHost } from "./options.ts";
 * // A host that makes every module ready at once and has nothing to stop.
 * const host: ModuleHost = {
 *   attach() {},
 *   notRegistered: () => undefined,
 *   start: (_spec, resolved) => resolved("ok"),
 *   interrupt() {},
 *   finish: () => Promise.resolve({ failed: false }),
 *   event() {},
 * };
 * ```
 */
export interface ModuleHost extends Reporter {
  /** Called once, right after `run.start`. */
  attach(run: ModuleRun): void;
  /** Why a module is not registered (its `when:` does not hold), or undefined. */
  notRegistered(name: string): string | undefined;
  /** Whether a module's process is alive (it may hold job-slot tokens of jx's pool). */
  anyAlive?(): boolean;
  /**
   * Why a module is down for good (a user stopped it with `jx ctl stop`, or
   * it failed or ended by itself after it was ready), or undefined.
   */
  stoppedByUser?(name: string): string | undefined;
  /**
   * Whether a module, ready once, is down now but on its way back (a
   * restart's backoff, a new start not ready yet, a stop under way): what
   * needs it waits for `ModuleRun.wake` instead of starting without it.
   */
  comingBack?(name: string): boolean;
  /**
   * Starts a module whose needs have resolved; `resolved` is called once:
   * `ok` when it is ready, `failed` when it never became ready, `cancelled`
   * when the run stopped first.
   */
  start(spec: JobSpec, resolved: (status: JobStatus) => void): void;
  /**
   * The run stops starting things (after a failure, or a signal): modules
   * still starting are cancelled, foreground modules are released. A second
   * signal kills every module's process group at once.
   */
  interrupt(why: "failure" | "cancel" | ListenSignal): void;
  /**
   * Stops (`true`: SIGSTOP) or continues (`false`: SIGCONT) every module's
   * process group while jx itself is stopped (Ctrl-Z); a module paused by
   * `jx ctl pause` stays paused.
   */
  suspend?(stopped: boolean): void;
  /**
   * The jobs are done: stop the modules in reverse dependency order (after
   * holding foreground ones until a signal); resolves when every module
   * process has ended, saying whether a module failed.
   */
  finish(status: RunStatus): Promise<{ failed: boolean }>;
}
