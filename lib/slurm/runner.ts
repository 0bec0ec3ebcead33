/**
 * The Slurm executor behind the scheduler's `Runner` seam: `SlurmRunner` runs each job as a
 * step of the session's allocation (its own CPU count, no local job slots), and
 * `ExecutorRunner` sends each job to the local runner or the Slurm one by its `executor`.
 *
 * @module
 */
import type { JobSpec } from "../graph/types.ts";
import type { ExitStatus } from "../reactor/types.ts";
import type { RunHandle, Runner, RunRequest, RunSink } from "../scheduler/runner.ts";
import type { SlurmSession, SlurmStep } from "./session.ts";
import type { StepExit } from "./status.ts";

/**
 * Jobs as `srun --exact` steps of a `SlurmSession`. `reserve` counts the CPUs of each
 * allocation (a job's tokens); `started` comes when the step runs on a node, with its id.
 *
 * @example Needs a Slurm cluster (tests/e2e/slurm_run_test.ts starts one)
 * ```ts ignore
 * import { openSlurm, SlurmRunner } from "./mod.ts";
 * const session = await openSlurm({ reactor, env, cwd: "/tmp", cpus: 4 });
 * await runJobs(graph, graph.select([]), { reactor, runner: new SlurmRunner(session) });
 * await session.close();
 * ```
 */
export class SlurmRunner implements Runner {
  readonly name = "slurm";
  /** CPUs in use, by allocation id. */
  private used = new Map<string, number>();

  constructor(private session: SlurmSession) {}

  /** The largest allocation: a job with more tokens can never run. */
  get limit(): number {
    let n = 0;
    for (const a of this.session.allocations.values()) n = Math.max(n, a.cpus);
    return n;
  }

  private allocId(spec: JobSpec): string {
    return this.session.allocationFor(spec.slurm?.partition)?.id ?? "";
  }

  reserve(spec: JobSpec): "ok" | "blocked" | "full" {
    const id = this.allocId(spec);
    const cpus = this.session.allocationFor(spec.slurm?.partition)?.cpus ?? this.limit;
    const used = this.used.get(id) ?? 0;
    if (used + spec.tokens <= cpus) {
      this.used.set(id, used + spec.tokens);
      return "ok";
    }
    // One allocation full: nothing else can start (with several, jobs of others may).
    return spec.tokens === 1 && this.session.allocations.size <= 1 ? "full" : "blocked";
  }

  /** A job with more tokens than its allocation's CPUs: it could wait forever. */
  tooBig(spec: JobSpec): string | undefined {
    const cpus = this.session.allocationFor(spec.slurm?.partition)?.cpus ?? this.limit;
    if (spec.tokens <= cpus) return undefined;
    return `the job needs ${spec.tokens} CPUs; the allocation has ${cpus}`;
  }

  release(spec: JobSpec): void {
    const id = this.allocId(spec);
    this.used.set(id, Math.max(0, (this.used.get(id) ?? 0) - spec.tokens));
  }

  start(req: RunRequest, sink: RunSink): RunHandle {
    const { spec } = req;
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
      onExit: (e) => sink.ended({ kind: "exited", status: exitStatus(e) }),
    });
    return { signal: (sig) => step.kill(sig) };
  }

  executorOf(): "slurm" {
    return "slurm";
  }
}

/**
 * A step's end as the job's exit status: a step that never ran (Slurm refused it) or whose
 * node failed carries Slurm's reason as the job's `error` (a failed attempt: retries apply).
 */
export function exitStatus(e: StepExit): ExitStatus {
  const st: ExitStatus = { code: e.code, signal: e.signal };
  if (e.cpu) st.cpu = e.cpu;
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

  constructor(
    private local: Runner,
    private slurm: Runner,
    private fallback: "local" | "slurm",
  ) {}

  /** Both sides must fit a job: the smaller limit (both are `-j` unless a partition is smaller). */
  get limit(): number {
    return Math.min(this.local.limit, this.slurm.limit);
  }

  set onCapacity(cb: (() => void) | undefined) {
    this.local.onCapacity = cb;
    this.slurm.onCapacity = cb;
  }

  executorOf(spec: JobSpec): "local" | "slurm" {
    return spec.executor ?? this.fallback;
  }

  private of(spec: JobSpec): Runner {
    return this.executorOf(spec) === "slurm" ? this.slurm : this.local;
  }

  reserve(spec: JobSpec): "ok" | "blocked" | "full" {
    const got = this.of(spec).reserve(spec);
    return got === "full" ? "blocked" : got;
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
    return this.of(req.spec).start(req, sink);
  }

  close(): void {
    this.local.close?.();
    this.slurm.close?.();
  }
}
