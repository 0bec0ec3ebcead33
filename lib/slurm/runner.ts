/**
 * The Slurm executor behind the scheduler's `Runner` seam: `SlurmRunner` runs each job as a
 * step of the session's allocation (its own CPU count, no local job slots), and
 * `ExecutorRunner` sends each job to the local runner or the Slurm one by its `executor`.
 *
 * @module
 */
import type { JobSpec } from "../graph/types.ts";
import type { ExitStatus } from "../reactor/types.ts";
import type { RunHandle, Runner, RunnerEnd, RunRequest, RunSink } from "../scheduler/runner.ts";
import { JxInputError } from "../runtime/errors.ts";
import { SlurmInterrupted, type SlurmSession, type SlurmStep } from "./session.ts";
import type { StepExit } from "./status.ts";

/** A job started on the runner and not yet a step: the session opens, or its CPUs are busy. */
interface Held {
  req: RunRequest;
  sink: RunSink;
  /** Its step, once submitted. */
  step?: SlurmStep;
  /** Ended without a step (withdrawn, or the session could not open). */
  over?: boolean;
}

/** A held job withdrawn by a stop: never started, skipped as `cancelled` (as locally). */
const WITHDRAWN: RunnerEnd = { kind: "skipped", reason: "cancelled" };

/**
 * Jobs as `srun --exact` steps of a `SlurmSession`, which it opens (allocations taken) when the
 * first job starts on it: a run whose Slurm jobs are all up to date or restored from the cache
 * never reaches Slurm. `reserve` counts each allocation's CPUs (a job's tokens; before the open,
 * the allocation's planned size); `started` comes when the step runs on a node, with its id. If
 * the open fails, every job on it fails with the reason and `runExit` is 2 (or the signal's;
 * `ExecutorRunner` makes it the run's own once a local job has run).
 *
 * @example Needs a Slurm cluster (tests/e2e/slurm_run_test.ts starts one)
 * ```ts ignore
 * import { SlurmRunner, SlurmSession } from "./mod.ts";
 * const session = new SlurmSession({ reactor, env, cwd: "/tmp", cpus: 4 });
 * await runJobs(graph, graph.select([]), { reactor, runner: new SlurmRunner(session) });
 * await session.close();
 * ```
 */
export class SlurmRunner implements Runner {
  readonly name = "slurm";
  /** CPUs reserved, by allocation key (before the open: all under `""`). */
  private used = new Map<string, number>();
  /** The jobs holding a reservation, by name: counted again by allocation at the open. */
  private holders = new Map<string, JobSpec>();
  /** CPUs of the steps submitted and not ended, by allocation key. */
  private busy = new Map<string, number>();
  /** Jobs started and not yet submitted, in order. */
  private held: Held[] = [];
  /** Jobs submitted and not ended (their step may wait for its partition's allocation). */
  private submitted = new Set<Held>();
  /** The session's open is under way (asked for by the first job started). */
  private opening = false;
  /** The session's open succeeded (reservations count by allocation) or failed. */
  private opened?: "ok" | "failed";

  /** Set by the builder: an allocation bigger than planned may take more jobs once open. */
  onCapacity?: () => void;

  constructor(private session: SlurmSession) {}

  /** The largest allocation (before the open: the planned size): a job with more tokens can never run. */
  get limit(): number {
    return this.opened === "ok" ? this.session.largest : this.session.planned;
  }

  /** Why Slurm cannot run the jobs (the open failed), once it is known. */
  get failure(): Error | undefined {
    return this.opened === "failed" ? this.session.failure : undefined;
  }

  /** 2 when the session could not open for a reason of Slurm's (as the check before a run). */
  runExit(): number | undefined {
    return this.failure instanceof JxInputError ? 2 : undefined;
  }

  private keyOf(spec: JobSpec): string {
    return this.opened === "ok" ? this.session.keyOf(spec.slurm?.partition) : "";
  }

  private cpusOf(spec: JobSpec): number {
    if (this.opened !== "ok") return this.session.planned;
    return this.session.cpusFor(spec.slurm?.partition) ?? this.limit;
  }

  reserve(spec: JobSpec): "ok" | "blocked" | "full" {
    const key = this.keyOf(spec);
    const used = this.used.get(key) ?? 0;
    // Once the open failed, a job starts only to fail with the reason. Before the open, the
    // first job always starts: it opens the session (the planned size may be this machine's
    // CPU count, not the allocation's: `cpusByDefault`), which then refuses it if it cannot fit.
    const first = this.opened === undefined && used === 0;
    if (this.opened === "failed" || first || used + spec.tokens <= this.cpusOf(spec)) {
      this.used.set(key, used + spec.tokens);
      this.holders.set(spec.name, spec);
      return "ok";
    }
    // One allocation full: nothing else can start (with several, jobs of others may).
    return spec.tokens === 1 && this.session.allocationCount <= 1 ? "full" : "blocked";
  }

  /** A job with more tokens than its allocation's CPUs: it could wait forever. */
  tooBig(spec: JobSpec): string | undefined {
    // Not known before the open: the session refuses such a step then, in the same words.
    if (this.opened !== "ok") return undefined;
    const cpus = this.cpusOf(spec);
    if (spec.tokens <= cpus) return undefined;
    return `the job needs ${spec.tokens} CPUs; the allocation has ${cpus}`;
  }

  release(spec: JobSpec): void {
    const key = this.keyOf(spec);
    this.used.set(key, Math.max(0, (this.used.get(key) ?? 0) - spec.tokens));
    this.holders.delete(spec.name);
  }

  start(req: RunRequest, sink: RunSink): RunHandle {
    const h: Held = { req, sink };
    this.held.push(h);
    if (this.opened === "ok") this.submitHeld();
    else if (this.opened === "failed") this.failHeld();
    else this.open();
    return {
      // Held (no step yet) when the run stops: never started, as a job waiting for a slot.
      signal: (sig) => h.step ? h.step.kill(sig) : this.end(h, WITHDRAWN),
      // Ctrl-Z: a running step's tasks stop and go on with jx (a held job has nothing to stop).
      suspend: (stopped) => h.step?.suspend(stopped),
    };
  }

  /** Opens the session (once): then the held jobs go to it, or fail with its reason. */
  private open(): void {
    if (this.opening) return;
    this.opening = true;
    // The first job's partition is allocated now (a job with gres needs none: its own Slurm
    // job); the others' when their first job starts.
    const first = this.held[0]?.req.spec.slurm;
    this.session.open(first && first.gres !== undefined ? [] : [first?.partition]).then(() => {
      this.opened = "ok";
      // What was reserved before the open counts against the allocation it runs in.
      this.used.clear();
      for (const s of this.holders.values()) {
        const key = this.keyOf(s);
        this.used.set(key, (this.used.get(key) ?? 0) + s.tokens);
      }
      this.submitHeld();
      // Reserved by allocation now, not all against the planned size: room for more jobs
      // (another partition's, or an allocation bigger than planned: one jx runs inside).
      this.onCapacity?.();
    }, () => {
      this.opened = "failed";
      this.failHeld();
    });
  }

  /**
   * Submits the held jobs that fit their allocation's free CPUs (the reservations made before
   * the open counted the planned size, which a small partition cuts).
   */
  private submitHeld(): void {
    for (const h of [...this.held]) {
      const { tokens } = h.req.spec;
      const key = this.keyOf(h.req.spec);
      const busy = this.busy.get(key) ?? 0;
      const cpus = this.cpusOf(h.req.spec);
      // One that can never fit goes now: the session refuses it with the reason.
      if (busy > 0 && busy + tokens > cpus && tokens <= cpus) continue;
      this.held.splice(this.held.indexOf(h), 1);
      this.submit(h, key);
    }
  }

  private submit(h: Held, key: string): void {
    const { req, sink } = h;
    const { spec } = req;
    this.busy.set(key, (this.busy.get(key) ?? 0) + spec.tokens);
    this.submitted.add(h);
    // Its callbacks come later (output, a timer), never during `start`.
    const step: SlurmStep = this.session.start({
      name: spec.name,
      argv: req.argv,
      tokens: spec.tokens,
      slurm: spec.slurm,
      cwd: spec.cwd,
      env: req.env,
      // pid: the local srun client's.
      onStart: (id) => sink.started(step.pid, { executor: "slurm", slurmJob: id }),
      onOutput: (stream, chunk) => sink.output(stream, chunk),
      onExit: (e) => {
        this.submitted.delete(h);
        this.busy.set(key, (this.busy.get(key) ?? 0) - spec.tokens);
        // Stopped while it waited for its partition's allocation: never started, as a held job.
        sink.ended(e.withdrawn ? WITHDRAWN : { kind: "exited", status: exitStatus(e) });
        this.submitHeld();
      },
    });
    h.step = step;
  }

  /** The session could not open: every held job fails with the reason (a signal: with it). */
  private failHeld(): void {
    const e = this.session.failure;
    const end: RunnerEnd = e instanceof SlurmInterrupted ? WITHDRAWN : {
      kind: "exited",
      status: { code: null, signal: null, error: e?.message ?? "the Slurm session did not open" },
    };
    for (const h of [...this.held]) this.end(h, end);
  }

  /**
   * After a failure (fail fast): the jobs not started yet, held or waiting for their
   * partition's allocation, are withdrawn (never started), as local jobs waiting for a slot
   * never start then. A running one runs on.
   */
  withdrawWaiting(): void {
    for (const h of [...this.held]) this.end(h, WITHDRAWN);
    for (const h of this.submitted) if (h.step?.waiting) h.step.kill("SIGTERM");
  }

  /** Ends a job that has no step, after `start` has returned. */
  private end(h: Held, end: RunnerEnd): void {
    if (h.over) return;
    h.over = true;
    this.held.splice(this.held.indexOf(h), 1);
    this.session.reactor.setTimer(0, () => h.sink.ended(end));
  }

  executorOf(): "slurm" {
    return "slurm";
  }

  /** The session's allocations released (it was opened): before `run.end`, signals heard. */
  settle(): Promise<void> | undefined {
    return this.opening ? this.session.close() : undefined;
  }
}

/**
 * A step's end as the job's exit status: a step that never ran (Slurm refused it) or whose
 * node failed carries Slurm's reason as the job's `error` (a failed attempt: retries apply).
 */
export function exitStatus(e: StepExit): ExitStatus {
  const st: ExitStatus = { code: e.code, signal: e.signal };
  const error = e.error ??
    (e.nodeFailure || (e.stepId === undefined && e.code !== 0) ? e.reason : undefined);
  if (error !== undefined) st.error = error;
  return st;
}

/**
 * Each job where its `executor` says (unset: `fallback`, the run's `--executor`): local jobs
 * through `local` (job slots), Slurm jobs through `slurm` (the allocation). A side that is
 * full holds back only its own jobs.
 *
 * @example
 * ```ts
 * import { ExecutorRunner } from "./runner.ts";
 * import { DryRunRunner } from "../scheduler/mod.ts";
 * import { strictEqual } from "node:assert";
 * const r = new ExecutorRunner(new DryRunRunner(2), new DryRunRunner(4), "local");
 * strictEqual(r.limit, 2);
 * strictEqual(r.executorOf({ executor: "slurm" } as never), "slurm");
 * ```
 */
export class ExecutorRunner implements Runner {
  readonly name = "executor";
  /** A local job has been started: the run is no longer one in which nothing ran. */
  private localStarted = false;

  constructor(
    private local: Runner,
    private slurm: Runner,
    private fallback: "local" | "slurm",
    private say?: {
      /** An interactive job sent to Slurm, run here instead: called as it starts, once a job. */
      interactive(spec: JobSpec): void;
      /** The jobs already told of (the file's, up front). */
      told: Set<string>;
    },
  ) {}

  /** Both sides must fit a job: the smaller limit (both are `-j` unless a partition is smaller). */
  get limit(): number {
    return Math.min(this.local.limit, this.slurm.limit);
  }

  set onCapacity(cb: (() => void) | undefined) {
    this.local.onCapacity = cb;
    this.slurm.onCapacity = cb;
  }

  /** Where a job runs: its `executor`, else the run's; an `interactive` one here (a step has no terminal). */
  executorOf(spec: JobSpec): "local" | "slurm" {
    return spec.interactive ? "local" : spec.executor ?? this.fallback;
  }

  private of(spec: JobSpec): Runner {
    return this.executorOf(spec) === "slurm" ? this.slurm : this.local;
  }

  /** Each side is a lane of the plan's: a full side holds back only its own jobs. */
  laneOf(spec: JobSpec): number {
    return this.executorOf(spec) === "slurm" ? 1 : 0;
  }

  reserve(spec: JobSpec): "ok" | "blocked" | "full" {
    return this.of(spec).reserve(spec);
  }

  release(spec: JobSpec): void {
    this.of(spec).release(spec);
  }

  /** In the words of the side the job runs on (`-j` slots, or the allocation's CPUs). */
  tooBig(spec: JobSpec): string | undefined {
    const r = this.of(spec);
    if (r.tooBig) return r.tooBig(spec);
    return spec.tokens > r.limit
      ? `needs ${spec.tokens} job slots but -j is ${r.limit}`
      : undefined;
  }

  start(req: RunRequest, sink: RunSink): RunHandle {
    const { spec } = req, say = this.say;
    if (say && spec.interactive && (spec.executor ?? this.fallback) === "slurm") {
      if (!say.told.has(spec.name)) say.told.add(spec.name), say.interactive(spec);
    }
    if (this.executorOf(req.spec) === "local") this.localStarted = true;
    return this.of(req.spec).start(req, sink);
  }

  withdrawWaiting(): void {
    this.local.withdrawWaiting?.();
    this.slurm.withdrawWaiting?.();
  }

  /** Something ran here that no `start` saw (a module, started by the supervisor). */
  ran(): void {
    this.localStarted = true;
  }

  close(): void {
    this.local.close?.();
    this.slurm.close?.();
  }

  settle(): Promise<void> | undefined {
    const both = [this.local.settle?.(), this.slurm.settle?.()].filter((p) => p !== undefined);
    return both.length ? Promise.all(both).then(() => {}) : undefined;
  }

  /**
   * The Slurm side's 2 (its open failed for a reason of Slurm's) only while nothing ran: exit 2
   * says nothing was run (CONTRACT.md). Once a local job has started, the Slurm jobs that could
   * not run are failed jobs like any other, and the run's exit is its own (1).
   */
  runExit(own: number): number | undefined {
    const slurm = this.slurm.runExit?.(own);
    if (slurm === 2 && this.localStarted) return this.local.runExit?.(own);
    return slurm ?? this.local.runExit?.(own);
  }
}
