/**
 * A run's link to Slurm: the allocation it holds (or runs inside), one `srun --exact` step per
 * job spawned through the reactor, cancelling one step or all of them, releasing the
 * allocation at the end.
 *
 * @module
 */
import type { ChildHandle, Reactor, StreamName } from "../reactor/mod.ts";
import { stepArgv, type StepCommand, stepEnv } from "./command.ts";
import { allocate, type Allocation, preflight } from "./preflight.ts";
import { SrunStderr, type StepExit, stepExit } from "./status.ts";
import { runTool, type ToolEnv } from "./tools.ts";

/** How to reach Slurm. */
export interface SlurmSessionOptions {
  reactor: Reactor;
  /** The environment of Slurm's commands (PATH, SLURM_CONF; SLURM_JOB_ID: run inside it). */
  env: Record<string, string>;
  /** Where the client commands run. */
  cwd: string;
  /** The run's parallelism: the size of the allocation jx asks for (capped by the partition). */
  cpus: number;
  /** Partitions the jobs name (`""` or absent: the default one). */
  partitions?: string[];
  /** Bound on each client command (`scontrol`, `sinfo`, `scancel`); default 10 s. */
  toolTimeoutMs?: number;
  /** Warnings (a pending allocation). Default: stderr. */
  warn?: (msg: string) => void;
}

/** One job to run as a step. */
export interface StepRequest extends StepCommand {
  cwd: string;
  /** The job's environment (MAKEFLAGS and srun's option variables are replaced). */
  env: Record<string, string>;
  /** Called when the step runs on a node, with its id (`JOB.STEP`). */
  onStart?(stepId: string): void;
  /** The job's output; Slurm's own lines are taken out of stderr. */
  onOutput(stream: StreamName, chunk: Uint8Array): void;
  /** Called once, after all output. */
  onExit(exit: StepExit): void;
}

/** A submitted step. */
export interface SlurmStep {
  /** `JOB.STEP` once it runs on a node. */
  readonly stepId: string | undefined;
  /** The local `srun` client's pid. */
  readonly pid: number;
  /**
   * Signals the job: a started step gets `scancel --signal` (SIGKILL: `scancel`, the step
   * ends), a step not started yet has its `srun` stopped (SIGTERM: it withdraws the request).
   */
  kill(signal: string): void;
  /** Resolves with the step's end. */
  readonly done: Promise<StepExit>;
}

/** After asking a step to die, how long before its srun is SIGKILLed. */
const BACKSTOP_MS = 10_000;

/**
 * Checks the cluster and takes the allocation(s): one line and exit 2 (a `JxInputError`)
 * when srun is missing, the controller does not answer or a partition does not exist.
 *
 * @example Needs a Slurm cluster (tests/e2e/slurm_test.ts starts one)
 * ```ts ignore
 * import { createReactor } from "../reactor/mod.ts";
 * import { openSlurm } from "./mod.ts";
 * const reactor = createReactor();
 * const s = await openSlurm({ reactor, env: { PATH: "/usr/bin:/bin", SLURM_CONF: "/etc/slurm/slurm.conf" }, cwd: "/tmp", cpus: 2 });
 * s.start({ name: "hi", argv: ["echo", "hi"], tokens: 1, cwd: "/tmp", env: {}, onOutput() {}, onExit: (e) => console.log(e.code) });
 * await s.close();
 * ```
 */
export async function openSlurm(o: SlurmSessionOptions): Promise<SlurmSession> {
  const t: ToolEnv = { reactor: o.reactor, env: o.env, cwd: o.cwd };
  const timeout = o.toolTimeoutMs ?? 10_000;
  const parts = [...new Set((o.partitions ?? [""]).map((p) => p ?? ""))];
  const cpus = await preflight(t, parts, timeout);
  const session = new SlurmSession(t, timeout);
  const inside = o.env.SLURM_JOB_ID;
  if (inside) {
    const n = Number(o.env.SLURM_CPUS_ON_NODE ?? o.env.SLURM_NTASKS) || o.cpus;
    session.allocations.set("", { id: inside, own: false, cpus: n });
    return session;
  }
  const warn = o.warn ?? ((m: string) => console.error(m));
  for (const p of parts) {
    const size = Math.max(1, Math.min(o.cpus, cpus.get(p) || o.cpus));
    const a = await allocate(t, size, p, (id) => session.pending.add(id), warn);
    session.pending.delete(a.id);
    session.allocations.set(p, a);
  }
  return session;
}

/** See `openSlurm`. */
export class SlurmSession {
  /** Allocations by partition (`""`: the default one, or the one jx runs inside). */
  readonly allocations: Map<string, Allocation> = new Map();
  /** Allocations asked for and not granted yet. */
  readonly pending: Set<string> = new Set();
  private live = new Set<SlurmStep>();
  private closed?: Promise<void>;

  constructor(private t: ToolEnv, private timeoutMs: number) {}

  /** The allocation a job runs in. */
  allocationFor(partition: string | undefined): Allocation | undefined {
    return this.allocations.get(partition ?? "") ?? this.allocations.get("") ??
      this.allocations.values().next().value;
  }

  /** Starts one job as a step. */
  start(req: StepRequest): SlurmStep {
    const alloc = this.allocationFor(req.slurm?.partition);
    if (this.closed || (alloc && req.tokens > alloc.cpus)) {
      const reason = this.closed
        ? "the Slurm session is closed"
        : `the job needs ${req.tokens} CPUs; the allocation has ${alloc!.cpus}`;
      return this.refused(req, reason);
    }
    return this.spawn(req, alloc?.id);
  }

  private refused(req: StepRequest, reason: string): SlurmStep {
    const exit: StepExit = { code: null, signal: null, error: reason, reason };
    this.t.reactor.setTimer(0, () => req.onExit(exit));
    return { stepId: undefined, pid: 0, kill() {}, done: Promise.resolve(exit) };
  }

  private spawn(req: StepRequest, jobId: string | undefined): SlurmStep {
    const f = new SrunStderr();
    const { reactor } = this.t;
    let child: ChildHandle = { pid: 0, kill() {} };
    let ended = false;
    let backstop: number | undefined;
    let finish!: (e: StepExit) => void;
    const done = new Promise<StepExit>((r) => finish = r);
    const step: SlurmStep = {
      get stepId() {
        return f.stepId;
      },
      get pid() {
        return child.pid;
      },
      kill: (signal: string) => {
        if (ended) return;
        this.signal(child, f.stepId, signal);
        if (signal === "SIGKILL" && backstop === undefined) {
          backstop = reactor.setTimer(BACKSTOP_MS, () => child.kill("SIGKILL"));
        }
      },
      done,
    };
    f.onStepId = (id) => req.onStart?.(id);
    this.live.add(step);
    child = reactor.spawn({
      argv: stepArgv(jobId, req),
      cwd: req.cwd,
      env: stepEnv({ ...this.t.env, ...req.env }, req.tokens),
      onOutput(stream, chunk) {
        const out = stream === "stderr" ? f.feed(chunk) : chunk;
        if (out) req.onOutput(stream, out);
      },
      onExit: (s) => {
        ended = true;
        if (backstop !== undefined) reactor.clearTimer(backstop);
        const rest = f.flush();
        if (rest) req.onOutput("stderr", rest);
        this.live.delete(step);
        const exit = stepExit(s, f);
        req.onExit(exit);
        finish(exit);
      },
    });
    return step;
  }

  /** A signal for a step: through scancel once it runs, else to its srun. */
  private signal(child: ChildHandle, stepId: string | undefined, signal: string): void {
    if (stepId === undefined) return child.kill("SIGTERM");
    const argv = signal === "SIGKILL"
      ? ["scancel", "-Q", stepId]
      : ["scancel", "-Q", `--signal=${signal.replace(/^SIG/, "")}`, stepId];
    void runTool(this.t, argv, this.timeoutMs).then((r) => {
      if (r.code !== 0) child.kill("SIGTERM"); // scancel could not: srun cancels the step itself
    });
  }

  /**
   * Cancels everything the run submitted: every live step, and the allocations jx asked for
   * (granted or pending); resolves when every srun has ended.
   */
  async cancelAll(): Promise<void> {
    const steps = [...this.live];
    for (const s of steps) s.kill("SIGKILL");
    const own = [...this.allocations.values()].filter((a) => a.own).map((a) => a.id);
    const ids = [...own, ...this.pending];
    if (ids.length) await runTool(this.t, ["scancel", "-Q", ...ids], this.timeoutMs);
    await Promise.all(steps.map((s) => s.done));
    if (ids.length) await this.gone(ids, BACKSTOP_MS);
  }

  /**
   * Waits (bounded) until squeue no longer lists `ids`: a cancelled allocation stays
   * COMPLETING until its node has cleaned up (about 0.1-0.5 s here).
   */
  private async gone(ids: string[], boundMs: number): Promise<void> {
    const { reactor } = this.t;
    const until = reactor.now() + boundMs;
    const argv = ["squeue", "-h", "-o", "%i", "-j", ids.join(",")];
    while (reactor.now() < until) {
      const r = await runTool(this.t, argv, this.timeoutMs);
      if (r.code !== 0 || r.stdout.trim() === "") return; // an unknown id: gone too
      await new Promise((ok) => reactor.setTimer(50, () => ok(undefined)));
    }
  }

  /** Ends the session: cancels what is left and releases jx's own allocations. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.cancelAll().then(() => {
      for (const [p, a] of this.allocations) if (a.own) this.allocations.delete(p);
    });
    return this.closed;
  }

  /** Steps not ended yet. */
  get running(): number {
    return this.live.size;
  }
}
