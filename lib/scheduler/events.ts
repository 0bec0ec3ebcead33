/**
 * The events of a run, as the scheduler emits them. `job.output` is for
 * reporters only; every other type is written to the NDJSON event log.
 *
 * @module
 */

/**
 * Final status of one attempt of a job.
 *
 * @example
 * ```ts
 * import type { JobStatus } from "./events.ts";
 * const failed = (s: JobStatus) => s === "failed" || s === "timeout";
 * ```
 */
export type JobStatus = "ok" | "failed" | "timeout" | "cancelled";

/**
 * Why a job did not run.
 *
 * @example
 * ```ts
 * import type { RunEvent } from "./events.ts";
 * const onEvent = (e: RunEvent) => {
 *   if (e.type === "job.skip" && e.reason === "dependency-failed") console.log(e.job, "skipped");
 * };
 * ```
 */
export type SkipReason = "up-to-date" | "condition" | "dependency-failed" | "dry-run" | "cancelled";

/**
 * A module's state: `idle` (registered, not started), `starting` (spawned,
 * its `ready` check not passed yet), `running`, `paused` (SIGSTOP, messages
 * queued), `stopped` (ended by jx, or exited 0), `failed`.
 *
 * @example
 * ```ts
 * import type { ModuleState } from "./events.ts";
 * const up = (s: ModuleState) => s === "running" || s === "paused";
 * ```
 */
export type ModuleState = "idle" | "starting" | "running" | "paused" | "stopped" | "failed";

/**
 * How a run ended: `interrupted` by a signal (or a stop request), `cancelled`
 * by its caller (`RunControl.cancel`: a `jx watch` cycle that a change
 * restarted; not a failure, and no signal of jx's).
 *
 * @example
 * ```ts
 * import type { RunStatus } from "./events.ts";
 * const s: RunStatus = "cancelled";
 * ```
 */
export type RunStatus = "ok" | "failed" | "interrupted" | "cancelled";

/**
 * One event; `t` is milliseconds since the run started. A module's output
 * comes as `job.output` with the module's name in `job`.
 *
 * @example
 * ```ts
 * import type { RunEvent } from "./events.ts";
 * const show = (e: RunEvent) => {
 *   if (e.type === "job.end") console.log(`${e.job}: ${e.status} in ${e.ms}ms`);
 *   if (e.type === "run.end") console.log(`exit ${e.exit}`);
 * };
 * ```
 */
export type RunEvent =
  | {
    type: "run.start";
    t: number;
    jobs: number;
    slots: number;
    jobserver: "server" | "client" | "none";
  }
  | {
    type: "job.start";
    t: number;
    job: string;
    pid: number;
    attempt: number;
    /** Where it runs: `local` (a process of jx) or `slurm` (a Slurm step). Set by runs. */
    executor?: "local" | "slurm";
    /** The Slurm step (`JOB.STEP`) of a job run by the slurm executor. */
    slurm_job?: string;
    /** The run of a `repeat` loop (1, 2...), for the job and its test. */
    iteration?: number;
  }
  /** `chunk` is valid during the event only (a view of the reactor's read buffer): copy it to keep it. */
  | { type: "job.output"; t: number; job: string; stream: "stdout" | "stderr"; chunk: Uint8Array }
  | {
    type: "job.end";
    t: number;
    job: string;
    status: JobStatus;
    exit: number | null;
    signal: string | null;
    ms: number;
    attempt: number;
    /** Set when the command could not be started. */
    error?: string;
    /** CPU time (user, system) of the job's process tree, where the reactor knows it (epoll). */
    user_ms?: number;
    sys_ms?: number;
    /** Peak resident memory (KiB) of the job's largest process, where known (see ExitStatus). */
    max_rss_kb?: number;
    /** Will be retried. */
    retrying?: boolean;
    /** With `retrying`: milliseconds until the next attempt starts (`retries: {delay}`). */
    retry_in_ms?: number;
    /** The job is another job's `if`/`unless` test: its failure is an answer, not an error. */
    condition?: boolean;
    /** The run of a `repeat` loop (1, 2...), for the job and its test. */
    iteration?: number;
    /** The job's result was restored by its runner (a cache) instead of run: from where. */
    cache?: "local" | "remote";
    /** A restored job: how long it ran when it was stored (the time the restore saved). */
    saved_ms?: number;
    /**
     * Processes outside the job's process group (a `setsid` daemon) that still held its output
     * open a `grace` after its process exited: the job ended without them, left running.
     */
    left?: { pid: number; name: string }[];
  }
  | {
    type: "job.add";
    t: number;
    /** A job that joined the run while it went on. */
    job: string;
    /** The job that made it: an `emits: jobs` job, a deferred `foreach`, a library feed. */
    by: string;
    /** The line of `by`'s stdout it came from. */
    line?: number;
    /**
     * For a job of the graph outside the selection: the job `by` made that needs it (or names
     * it in `if`/`unless`), for which it joined with what it waits for.
     */
    for?: string;
  }
  | {
    type: "emit.error";
    t: number;
    /** The job (or feed) whose output held a bad job definition. */
    job: string;
    /** The line of its output. */
    line?: number;
    /** One line: what is wrong, with the line and column. */
    error: string;
  }
  | {
    type: "job.skip";
    t: number;
    job: string;
    reason: SkipReason;
    /** The job whose outcome caused the skip (with `may`: the job it waits for). */
    because?: string;
    /**
     * `dry-run` only: the job is up to date now but waits for one that would
     * (or may) run, so it runs only if that one's outputs change.
     */
    may?: boolean;
  }
  | {
    type: "run.end";
    t: number;
    status: RunStatus;
    /** 0, 1, or 128 + the signal's number when interrupted; null when cancelled (no exit of jx's). */
    exit: number | null;
    ms: number;
    /** Why the run stopped when jx could not write its output (`write error: stdout: ...`). */
    error?: string;
  }
  | {
    type: "module.state";
    t: number;
    module: string;
    state: ModuleState;
    /** `starting`: the process id (0 when it could not start). */
    pid?: number;
    /** `starting`: 1, then 2... after restarts. */
    attempt?: number;
    /** `stopped`/`failed`: its exit code, or null. */
    exit?: number | null;
    /** `stopped`/`failed`: the signal that ended it, or null. */
    signal?: string | null;
    /** `failed`: why, in words. */
    reason?: string;
    /** `failed`: it will be started again after `backoff_ms`. */
    restarting?: boolean;
    backoff_ms?: number;
  }
  | {
    /**
     * A checked run (`jx lint`, `jx run`/`jx sh --check-access`): a difference between what a job
     * did and what it declares (or jx sh derived), docs/lint.md.
     */
    type: "access.finding";
    t: number;
    job: string;
    /** Relative to the jobs file's folder (`jx sh`: its working directory). */
    path: string;
    access: "read" | "write" | "delete" | "exec";
    /** An edit to the job's entry, in YAML: `reads: [src/*.h]`, `needs: [gen]`. */
    suggest: string;
    /** The rule (docs/lint.md); `jx sh --check-access` adds `underived-*` and `unused-*`. */
    problem:
      | "undeclared-read"
      | "undeclared-write"
      | "race"
      | "unordered-read"
      | "underived-read"
      | "underived-write"
      | "unused-read"
      | "unused-write";
    /** The other job of a race or an unordered read. */
    other?: string;
  }
  | {
    type: "watch.change";
    t: number;
    /** Changed paths, relative to the jobs file. */
    paths: string[];
    /** The jobs of the cycle that follows (before up-to-date checks). */
    jobs: string[];
  }
  | {
    /** `jx watch`: the jobs file (or a file it includes) changed and loaded; its jobs run next. */
    type: "watch.reload";
    t: number;
    /** The edited file, as the session names it. */
    file: string;
  }
  /**
   * Job control: the run's processes stopped (a Ctrl-Z, SIGTSTP) and jx with them
   * (`run.suspend`), then continued (`run.resume`, SIGCONT: `fg`, `bg`).
   */
  | { type: "run.suspend" | "run.resume"; t: number };

/**
 * Something that receives a run's events, in order.
 *
 * @example
 * ```ts
 * import type { Reporter } from "./events.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const counts = new Map<string, number>();
 * const counter: Reporter = {
 *   event(e) {
 *     if (e.type === "job.end") counts.set(e.status, (counts.get(e.status) ?? 0) + 1);
 *   },
 *   close() {
 *     console.log(Object.fromEntries(counts));
 *   },
 * };
 * counter.event({ type: "job.end", t: 1, job: "a", status: "ok", exit: 0, signal: null, ms: 1, attempt: 1 });
 * assertEquals(Object.fromEntries(counts), { ok: 1 });
 * ```
 */
export interface Reporter {
  /** Receives every event of the run, in order. */
  event(e: RunEvent): void;
  /**
   * Many `job.skip` events at once, all at time `t` with reason
   * `up-to-date` (a no-op replayed, the jobs a partial run left out): what
   * one `event` per job, in order, would do. Optional: `skipUpToDate`
   * sends a reporter without it one event per job.
   */
  skips?(jobs: readonly string[], t: number): void;
  /** Called once after `run.end`; may flush files. */
  close?(): void | Promise<void>;
}

/**
 * Tells `reporters` that `jobs` were skipped as up to date at time `t`:
 * through `skips` where a reporter has it, else one `job.skip` event per job.
 *
 * @example
 * ```ts
 * import { type Reporter, type RunEvent, skipUpToDate } from "./events.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const seen: RunEvent[] = [];
 * skipUpToDate([{ event: (e) => seen.push(e) }], ["a", "b"], 1);
 * assertEquals(seen.map((e) => e.type === "job.skip" && e.job), ["a", "b"]);
 * ```
 */
export function skipUpToDate(
  reporters: readonly Reporter[],
  jobs: readonly string[],
  t: number,
): void {
  for (const r of reporters) {
    if (r.skips) r.skips(jobs, t);
    else for (const job of jobs) r.event({ type: "job.skip", t, job, reason: "up-to-date" });
  }
}
