/**
 * The seam between "the plan says this job may start" and "something runs
 * it". The builder (builder.ts) asks a `Runner` whether a job can start now,
 * starts it, and hears back through a `RunSink`; it never spawns itself.
 * `LocalRunner` spawns on the reactor and holds local job slots;
 * `DryRunRunner` runs nothing. A runner that restores a job's result from a
 * cache (no process at all) or submits it to a cluster queue (seconds before
 * it starts, no local slots) plugs in here: see ARCHITECTURE.md.
 *
 * @module
 */
import type { JobSpec } from "../graph/types.ts";
import type { ExitStatus, StreamName } from "../reactor/types.ts";

/**
 * One attempt of a job, as the builder hands it to a runner.
 *
 * @example
 * ```ts
 * import type { RunRequest } from "./runner.ts";
 * import { parseJobsFile } from "../graph/mod.ts";
 * const spec = parseJobsFile("jobs:\n  a: { run: echo a }\n", "j.yaml").get("a");
 * const req: RunRequest = { spec, argv: spec.argv, env: { JX_JOB: "a" }, attempt: 1 };
 * ```
 */
export interface RunRequest {
  /** The job. */
  readonly spec: JobSpec;
  /** What to start: `spec.argv`, with a `run:` string's `$0` set to the job's name (graph/argv.ts). */
  readonly argv: string[];
  /** Its complete environment (jx's, the job's, `JX_JOB`, MAKEFLAGS...). */
  readonly env: Record<string, string>;
  /** 1, then 2... on retries. */
  readonly attempt: number;
  /** The run of a `repeat` loop, when the job is in one. */
  readonly iteration?: number;
}

/**
 * How a runner's job ended: a process exited; nothing ran and the job is
 * resolved as skipped (dry run; or `cancelled`: withdrawn by a stop while a
 * cluster held it, as a job waiting for a slot); or the job's result was put in place
 * without a process (restored from a cache: ok, no `job.start`).
 *
 * @example
 * ```ts
 * import type { RunnerEnd } from "./runner.ts";
 * const ok: RunnerEnd = { kind: "exited", status: { code: 0, signal: null } };
 * ```
 */
export type RunnerEnd =
  | { kind: "exited"; status: ExitStatus }
  | { kind: "skipped"; reason: "dry-run" | "cancelled" }
  | { kind: "restored"; from: "local" | "remote"; savedMs?: number };

/**
 * What a runner reports to, for one attempt. `started` comes at most once,
 * before any output (never for a skipped or restored job); `ended` comes
 * exactly once, after all output. Calls may come during `start` or at any
 * later time (a cluster queue: seconds later).
 *
 * @example
 * ```ts
 * import type { RunSink } from "./runner.ts";
 * const sink: RunSink = {
 *   started: (pid) => console.log("pid", pid),
 *   output: (_stream, chunk) => console.log(chunk.length),
 *   ended: (end) => console.log(end.kind),
 * };
 * ```
 */
export interface RunSink {
  /**
   * The job's process exists (`pid`: 0 when it has no local process); `where`: where it runs
   * (default: a local process), for `job.start`'s `executor` and `slurm_job`.
   */
  started(pid: number, where?: StartedWhere): void;
  /** A chunk of output; valid during the call only. */
  output(stream: StreamName, chunk: Uint8Array): void;
  /** The attempt is over. */
  ended(end: RunnerEnd): void;
}

/** Where an attempt runs: `job.start`'s `executor`, and a Slurm step's id (`JOB.STEP`). */
export interface StartedWhere {
  /** Which executor runs it. */
  executor: "local" | "slurm";
  /** The Slurm step's id (`JOB.STEP`), for `job.start`'s `slurm_job`. */
  slurmJob?: string;
}

/**
 * A started attempt.
 *
 * @example
 * ```ts
 * import type { RunHandle } from "./runner.ts";
 * const stop = (h: RunHandle) => h.signal("SIGTERM");
 * ```
 */
export interface RunHandle {
  /** Sends a signal to the job (its process group; a cluster job: cancel it). No error if it is gone. */
  signal(sig: string): void;
  /**
   * Stops (`true`: SIGSTOP to its process group; a cluster job: its tasks where
   * they run) or continues (`false`: SIGCONT) the job while jx itself is
   * stopped (Ctrl-Z); unlike `signal`, no stop of the job. Absent where there
   * is nothing to stop.
   */
  suspend?(stopped: boolean): void;
}

/**
 * Where jobs run. The builder calls `reserve` before `start` and `release`
 * once per `reserve` (after the job's slot is no longer needed; a `repeat`
 * loop keeps it for its test).
 *
 * @example
 * ```ts
 * import { createPortableReactor } from "../reactor/mod.ts";
 * import { LocalRunner } from "./local_runner.ts";
 * import { LocalSlots } from "./slots.ts";
 * import type { Runner } from "./runner.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const runner: Runner = new LocalRunner(createPortableReactor(), new LocalSlots(2));
 * assertEquals(runner.limit, 2);
 * ```
 */
export interface Runner {
  /** `local`, `dry-run`... */
  readonly name: string;
  /** The most job slots its jobs hold at once: a job's `tokens` must fit (`run.start`'s `slots`). */
  readonly limit: number;
  /**
   * Takes what the job needs to start now. `full`: no job can start until
   * `onCapacity` is called; `blocked`: this one cannot, smaller ones may.
   */
  reserve(spec: JobSpec): "ok" | "blocked" | "full";
  /**
   * Which jobs a `full` holds back, for a runner with sides that fill apart
   * (local and Slurm): jobs of one lane share what `reserve` takes from. All
   * in lane 0 when absent. Small numbers; the same for a job every time.
   */
  laneOf?(spec: JobSpec): number;
  /** Gives back what `reserve` took. */
  release(spec: JobSpec): void;
  /** Set by the builder: capacity may have come back from outside (a jobserver token). */
  onCapacity?: () => void;
  /** Starts one attempt; reports through `sink`. */
  start(req: RunRequest, sink: RunSink): RunHandle;
  /**
   * A runner that never runs a node (dry run) says how every ready node
   * resolves instead: modules, generators and loops included.
   */
  readonly passOver?: "dry-run";
  /** Stops listening for capacity; called once when the run ends. */
  close?(): void;
  /**
   * What the runner must give back before the run ends (a Slurm allocation released), once its
   * jobs and modules are done: `run.end` waits for it, and a stop signal meanwhile is the run's
   * (`run.end` says interrupted, as the exit does). Undefined: nothing to wait for.
   */
  settle?(): Promise<void> | undefined;
  /** Where `spec` would run (`job.start`'s `executor` of a job that fails before starting). */
  executorOf?(spec: JobSpec): "local" | "slurm";
  /**
   * After a failure without `-k`: ends the jobs started on it that have not begun yet (a Slurm
   * job waiting for its allocation) as never started (`cancelled` skips), as jobs waiting for
   * a slot never start then.
   */
  withdrawWaiting?(): void;
  /**
   * Why `spec` can never start here (its tokens exceed what it could ever hold), in the
   * runner's words; absent: `tooBigFor`'s check of `limit`.
   */
  tooBig?(spec: JobSpec): string | undefined;
  /**
   * The run's exit code, when the runner decides it (the Slurm executor that could not get its
   * allocation: 2, as for the checks before a run; `--strict` with findings: 1), before
   * `run.end` says it; undefined: the run's own, `own` (1 when a job failed, else 0).
   */
  runExit?(own: number): number | undefined;
}

/**
 * Why `spec` can never start on `runner`: the runner's own words (`tooBig`), or its tokens
 * beyond `limit` (job slots, `-j`).
 *
 * @example
 * ```ts
 * import { DryRunRunner } from "./local_runner.ts";
 * import { tooBigFor } from "./runner.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = new DryRunRunner(2);
 * assertEquals(tooBigFor(r, { tokens: 3 } as never), "needs 3 job slots but -j is 2");
 * ```
 */
export function tooBigFor(runner: Runner, spec: JobSpec): string | undefined {
  if (runner.tooBig) return runner.tooBig(spec);
  if (spec.tokens <= runner.limit) return undefined;
  return `needs ${spec.tokens} job slots but -j is ${runner.limit}`;
}

/**
 * A runner that runs its jobs on another (`inner`) and changes only how an
 * attempt starts or ends: capacity, closing and where a job runs are the
 * inner runner's. The output cache and the access tracer are such runners.
 */
export abstract class WrappingRunner implements Runner {
  abstract readonly name: string;

  constructor(protected readonly inner: Runner) {}

  get limit(): number {
    return this.inner.limit;
  }

  set onCapacity(cb: (() => void) | undefined) {
    this.inner.onCapacity = cb;
  }

  reserve(spec: JobSpec): "ok" | "blocked" | "full" {
    return this.inner.reserve(spec);
  }

  laneOf(spec: JobSpec): number {
    return this.inner.laneOf?.(spec) ?? 0;
  }

  release(spec: JobSpec): void {
    this.inner.release(spec);
  }

  tooBig(spec: JobSpec): string | undefined {
    return tooBigFor(this.inner, spec);
  }

  close(): void {
    this.inner.close?.();
  }

  settle(): Promise<void> | undefined {
    return this.inner.settle?.();
  }

  executorOf(spec: JobSpec): "local" | "slurm" {
    return this.inner.executorOf?.(spec) ?? "local";
  }

  withdrawWaiting(): void {
    this.inner.withdrawWaiting?.();
  }

  runExit(own: number): number | undefined {
    return this.inner.runExit?.(own);
  }

  abstract start(req: RunRequest, sink: RunSink): RunHandle;
}
