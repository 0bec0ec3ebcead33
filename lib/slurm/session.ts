/**
 * A run's link to Slurm: the allocation it holds (or runs inside), taken at the session's open
 * (when the first job must run there), one `srun --exact` step per job spawned through the
 * reactor, cancelling one step or all of them, releasing the allocation at the end.
 *
 * @module
 */
import type { ChildHandle, ExitStatus, Reactor, StreamName } from "../reactor/mod.ts";
import {
  clientEnv,
  gateScript,
  spareArgv,
  spareFits,
  stepArgv,
  type StepCommand,
  stepEnv,
  taskVars,
} from "./command.ts";
import {
  allocate,
  type Allocation,
  allocationSizes,
  checkInside,
  leftovers,
  ownAllocations,
  ownerComment,
  type Partitions,
  preflight,
  stepCpus,
} from "./preflight.ts";

/** How long a salloc a stop signal stopped (SIGTERM) has to end before it is killed. */
const SALLOC_GRACE_MS = 5000;
import { SrunStderr, type StepExit, stepExit } from "./status.ts";
import { runTool, type ToolEnv, type ToolResult } from "./tools.ts";
import { runSync } from "../runtime/mod.ts";

/** How to reach Slurm. */
export interface SlurmSessionOptions {
  reactor: Reactor;
  /** The environment of Slurm's commands (PATH, SLURM_CONF; SLURM_JOB_ID: run inside it). */
  env: Record<string, string>;
  /** Where the client commands run. */
  cwd: string;
  /** The run's parallelism: the size of the allocation jx asks for (capped by the partition). */
  cpus: number;
  /**
   * `cpus` is this machine's CPU count, not a `-j` given: under an existing allocation
   * (`SLURM_JOB_ID`) jobs then take all its CPUs, not this machine's count of them, as many
   * as `fit` allows (the open-files limit: `jobsWithinFds`).
   */
  cpusByDefault?: boolean;
  fit?: (cpus: number) => number;
  /** Partitions the jobs name (`""` or absent: the default one). */
  partitions?: string[];
  /** Bound on each client command (`scontrol`, `sinfo`, `scancel`); default 10 s. */
  toolTimeoutMs?: number;
  /** Warnings (a pending allocation). Default: stderr. */
  warn?: (msg: string) => void;
  /** How often a pending allocation is reported again (default 60 s). */
  noticeMs?: number;
  /** How long a job's step may wait to start before jx says so (default 30 s). */
  stepNoticeMs?: number;
  /**
   * Listen for SIGINT, SIGTERM and SIGHUP from the start of the open until `close` has released
   * everything (default: only while the session opens). For a caller that listens as well (`jx
   * run`'s builder): a signal that came while neither listened would kill jx (the runtime's
   * default) with the allocation held.
   */
  holdSignals?: boolean;
  /** Called as the allocation is granted, before it is used: a test's seam (a pause there). */
  onGranted?(id: string): Promise<void> | void;
  /** Called at the close before jx's own allocations are released: a test's seam (a pause). */
  onRelease?(ids: string[]): Promise<void> | void;
}

/** One job to run as a step. */
export interface StepRequest extends StepCommand {
  cwd: string;
  /** The job's environment (MAKEFLAGS and srun's option variables are replaced). */
  env: Record<string, string>;
  /** Called when the step runs on a node, with its id (`JOB.STEP`). */
  onStart?(stepId: string): void;
  /** A spare step's: called when it runs the job it was given (its run mark). */
  onRun?(): void;
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
  /**
   * Ctrl-Z: stops (`true`) or continues the step's tasks where they run (`scancel --signal`
   * STOP, CONT), once it runs on a node; its `srun` is left running to relay them.
   */
  suspend(stopped: boolean): void;
  /** Resolves with the step's end. */
  readonly done: Promise<StepExit>;
  /** Not submitted yet: it waits for its allocation (a kill withdraws it, `withdrawn`). */
  readonly waiting?: boolean;
}

/** A spare step: launched, waiting for the job written to its stdin. */
interface Spare {
  step: SlurmStep;
  child: ChildHandle;
  /** The job it runs, once taken. */
  job?: StepRequest;
  /** Tells the job it started, once; set while the job has not been seen running. */
  started?: () => void;
  /** The job's own step, when the spare ended before it ran the job. */
  redo?: SlurmStep;
  /** The job was signalled (then a spare's end is the job's, ran or not). */
  killed?: boolean;
}

/** srun's complaint about an allocation that Slurm has ended (after a node failure). */
const EXPIRED = /job \d+ has expired|Invalid job id/i;

/** The most spare steps jx keeps waiting in one allocation (each is an `srun` on this host). */
const SPARES_MAX = 64;

/** How many times jx asks for a new allocation after a node failure. */
const REALLOC_TRIES = 3;

/** How long a job's step may wait to start in its allocation before jx says so. */
const STEP_NOTICE_MS = 30_000;

/** After asking a step to die, how long before its srun is SIGKILLed. */
const BACKSTOP_MS = 10_000;

/**
 * Checks the cluster and takes the allocation(s) at once (`SlurmSession.open`): one line and
 * exit 2 (a `JxInputError`) when srun is missing, the controller does not answer or a partition
 * does not exist; `SlurmInterrupted` on a signal meanwhile. Nothing asked for is left either way.
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
  const session = new SlurmSession(o);
  await session.open();
  return session;
}

/** The open of a Slurm session was stopped by a signal: the run exits 128+N. */
export class SlurmInterrupted extends Error {
  /** 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP. */
  readonly exitCode: number;

  constructor(readonly signal: "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGQUIT") {
    super(`executor slurm: interrupted (${signal}) while waiting for the allocation`);
    this.name = "SlurmInterrupted";
    this.exitCode = 128 + { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 }[signal];
  }
}

/**
 * A run's link to Slurm. Nothing reaches Slurm until `open` (or the first `start`, which waits
 * for it): a run none of whose Slurm jobs has to run takes no allocation.
 */
export class SlurmSession {
  /** Allocations by partition (`""`: the default one, or the one jx runs inside). */
  readonly allocations: Map<string, Allocation> = new Map();
  /** Allocations asked for and not granted yet. */
  readonly pending: Set<string> = new Set();
  private live = new Set<SlurmStep>();
  /** What a Ctrl-Z stopped (steps, or a whole allocation of jx's), until jx goes on. */
  private suspended = new Set<string>();
  private closed?: Promise<void>;
  /** Spare steps launched ahead, waiting for a job, by key in `allocations`. */
  private spares = new Map<string, Spare[]>();
  /** Whether the warning for a spare that ended with its job unrun was given (once a session). */
  private warnedUnused = false;
  /** Jobs started, by key in `allocations` (how many spares to keep). */
  private started = new Map<string, number>();
  /** A spare ended without a job: no more spares this session. */
  private noSpares = false;
  /** Allocations being replaced after their node failed, by key in `allocations`. */
  private renewing = new Map<string, Promise<void>>();
  /** The default partition's name (its jobs share the allocation under `""`). */
  defaultPartition = "";
  /** The first stop signal heard while listening (it stops an open under way). */
  interrupted?: "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGQUIT";
  /** Why the open failed (a `JxInputError`: Slurm cannot run the jobs; `SlurmInterrupted`). */
  failure?: Error;
  /**
   * The sallocs running now (the open's, later partitions', renewals'), stopped by `interrupt`
   * and `close`: each with the timer that kills it if it has not ended by then.
   */
  private sallocs = new Map<ChildHandle, number | undefined>();
  /** The open, once begun. */
  private opening?: Promise<void>;
  /** The open succeeded. */
  private isOpen = false;
  /**
   * The size each partition's allocation asks for, by key in `allocations` (every partition
   * the jobs name; known from the open): those the open did not take are asked for when their
   * first job starts (`allocationOf`).
   */
  private sizes = new Map<string, number>();
  /** Allocations asked for after the open, by key (asked again after one failed). */
  private later = new Map<string, Promise<void>>();
  /** Stops listening for signals. */
  private unlisten?: () => void;
  private t: ToolEnv;
  /** `t` for the open's checks (scontrol ping, sinfo, squeue): a stop signal kills them. */
  private checks: ToolEnv & { running: Set<ChildHandle> };
  private timeoutMs: number;
  private warn: (msg: string) => void;

  /** A session that has not reached Slurm yet (see `open`). */
  constructor(private o: SlurmSessionOptions) {
    // Slurm's commands get only the variables of jx's environment jx honours (`clientEnv`):
    // SALLOC_PARTITION, SCANCEL_STATE... would steer them unseen. jx reads the rest itself.
    this.t = { reactor: o.reactor, env: clientEnv(o.env), cwd: o.cwd };
    this.checks = { ...this.t, running: new Set() };
    this.timeoutMs = o.toolTimeoutMs ?? 10_000;
    this.warn = o.warn ?? ((m: string) => console.error(m));
  }

  /** The allocation's size asked for, before the partition's CPUs cap it. */
  get planned(): number {
    return this.o.cpus;
  }

  /** The reactor the session runs on. */
  get reactor(): Reactor {
    return this.t.reactor;
  }

  /** Whether the open has succeeded: the allocations are known. */
  get ready(): boolean {
    return this.isOpen;
  }

  /**
   * Checks the cluster and takes the allocations of partitions `now` (default: every one the
   * jobs name; the others are taken when their first job starts), once (later calls share the
   * first): a `JxInputError` when Slurm cannot run the jobs, `SlurmInterrupted` on a signal
   * meanwhile, and whatever it asked for is cancelled then. Listens for stop signals from its
   * start.
   */
  open(now?: (string | undefined)[]): Promise<void> {
    return this.opening ??= this.openNow(now);
  }

  private async openNow(now?: (string | undefined)[]): Promise<void> {
    this.listen();
    try {
      this.checkGoing();
      const named = [...new Set((this.o.partitions ?? [""]).map((p) => p ?? ""))];
      const found = await preflight(this.checks, named, this.timeoutMs);
      this.defaultPartition = found.default;
      this.checkGoing();
      const inside = this.o.env.SLURM_JOB_ID;
      if (inside) {
        const listed = await checkInside(this.checks, inside, this.timeoutMs);
        this.checkGoing();
        // Its CPUs (all its nodes'), but no more than the run's -j when one was given: this
        // machine's CPU count says nothing of an allocation's.
        const env = this.o.env;
        const all = listed ?? (Number(env.SLURM_CPUS_ON_NODE ?? env.SLURM_NTASKS) || this.o.cpus);
        // Inside one of its steps (a job of an outer jx): that step's CPUs, which jx's steps
        // overlap; asking for others of the allocation would wait for ever when it is full.
        const step = stepCpus(env);
        const had = Math.min(all, step ?? all);
        const n = this.o.cpusByDefault ? this.o.fit?.(had) ?? had : Math.min(had, this.o.cpus);
        const alloc: Allocation = { id: inside, own: false, cpus: n };
        if (step !== undefined) alloc.inStep = true;
        this.allocations.set("", alloc);
      } else {
        for (const w of await leftovers(this.checks, this.timeoutMs)) this.warn(w);
        this.sizes = this.sizesOf(found);
        // (A partition no job of the file names has no allocation: `start` says so.)
        const keys = now?.map((p) => this.keyName(p)).filter((k) => this.sizes.has(k));
        for (const key of new Set(keys ?? this.sizes.keys())) {
          this.checkGoing();
          await this.allocateKey(key);
          this.checkGoing();
        }
      }
      this.isOpen = true;
    } catch (e) {
      // Whatever was asked for (granted or pending) is cancelled: nothing of the run is left.
      // (Steps waiting for the open fail with its error, not killed.)
      await this.release();
      this.forgetOwn();
      this.failure = this.interrupted
        ? new SlurmInterrupted(this.interrupted)
        : this.closed
        ? new Error("executor slurm: the session was closed while it opened")
        : e as Error;
      throw this.failure;
    } finally {
      if (!this.o.holdSignals || this.closed) this.stopListening();
    }
  }

  /**
   * The size of each partition's allocation, by key: one per partition the jobs name, the
   * default one named or not (`""`: a job that names the default partition shares the
   * allocation of jobs that name none). Partitions that share nodes share their CPUs: each asks
   * for no more than fits beside the others wherever Slurm puts them (`allocationSizes`: an
   * allocation of every CPU of a node left the next partition's pending behind it for ever,
   * and the run with it).
   */
  private sizesOf(found: Partitions): Map<string, number> {
    const parts = [...new Set((this.o.partitions ?? [""]).map((p) => this.keyName(p)))];
    return allocationSizes(parts, found, this.o.cpus);
  }

  /** Takes the allocation of partition `key` (its size from `sizes`), recorded once granted. */
  private allocateKey(key: string): Promise<Allocation> {
    return this.allocate(this.sizes.get(key) ?? this.o.cpus, key, this.o.noticeMs, (got) => {
      this.allocations.set(key, got);
      return this.o.onGranted?.(got.id);
    });
  }

  /**
   * The allocation of partition `key` (one the jobs name) asked for after the open, when its
   * first job starts (one salloc a partition at a time; partitions side by side): a stop or a
   * close meanwhile ends it (what it asked for is cancelled), and its jobs fail with the
   * reason; after any other failure the partition's next job asks again.
   */
  private allocationOf(key: string): Promise<void> {
    let p = this.later.get(key);
    if (!p) {
      const take = async () => {
        this.checkGoing();
        await this.allocateKey(key);
        this.checkGoing();
      };
      p = take().catch((e: Error) => {
        if (!this.interrupted) {
          if (!this.closed) this.later.delete(key);
          throw e;
        }
        // (Said at the end as an open's: what it asked for is cancelled.)
        throw this.failure ??= new SlurmInterrupted(this.interrupted);
      });
      this.later.set(key, p);
    }
    return p;
  }

  /** A signal or a close came during the open: it ends here (`failure` says which). */
  private checkGoing(): void {
    if (this.interrupted) throw new SlurmInterrupted(this.interrupted);
    if (this.closed) throw new Error("closed");
  }

  /** Stop signals stop the open (salloc and what it queued); see `holdSignals`. */
  private listen(): void {
    if (this.unlisten) return;
    const off = (["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as const).map((sig) =>
      this.t.reactor.onSignal(sig, () => this.interrupt(sig))
    );
    this.unlisten = () => off.forEach((f) => f());
  }

  private stopListening(): void {
    this.unlisten?.();
    this.unlisten = undefined;
  }

  /** Spare steps waiting whose task runs (their step id seen): the ones a job may be given. */
  get readySpares(): number {
    let n = 0;
    for (const list of this.spares.values()) n += list.filter((sp) => sp.step.stepId).length;
    return n;
  }

  /** The allocation a job runs in, once granted. */
  allocationFor(partition: string | undefined): Allocation | undefined {
    const key = this.keyOf(partition);
    return key === undefined ? undefined : this.allocations.get(key);
  }

  /** The CPUs of the allocation a job of `partition` runs in: granted, or to be asked for. */
  cpusFor(partition: string | undefined): number | undefined {
    const key = this.keyOf(partition);
    if (key === undefined) return undefined;
    return this.allocations.get(key)?.cpus ?? this.sizes.get(key);
  }

  /** How many allocations the run has or may take (after the open). */
  get allocationCount(): number {
    return Math.max(this.allocations.size, this.sizes.size);
  }

  /** The largest allocation, granted or to be asked for (after the open). */
  get largest(): number {
    let n = 0;
    for (const a of this.allocations.values()) n = Math.max(n, a.cpus);
    for (const c of this.sizes.values()) n = Math.max(n, c);
    return n;
  }

  /** The key of a partition: `""` for the default one, named or not. */
  keyName(partition: string | undefined): string {
    const p = partition ?? "";
    return p === this.defaultPartition ? "" : p;
  }

  /**
   * The key in `allocations` of the allocation a job of `partition` runs in (one the jobs name:
   * its own, granted or not yet asked for).
   */
  keyOf(partition: string | undefined): string {
    const p = this.keyName(partition);
    if (this.allocations.has(p) || this.sizes.has(p)) return p;
    // Inside an allocation of Slurm's every job runs in it; else a partition no job of the file
    // names has none (`start` says so): its own key, the same before and after any grant.
    return this.allocations.get("")?.own === false ? "" : p;
  }

  /**
   * Starts one job as a step; before the session is open, and while its allocation is being
   * replaced (its node failed), the step is submitted once the allocation is granted.
   */
  start(req: StepRequest): SlurmStep {
    // Before the open: the step waits for it (and fails with its error).
    if (!this.isOpen && !this.closed) return this.deferred(req, this.open());
    const named = req.slurm?.partition;
    // (A job with gres is its own Slurm job, in its partition: no allocation of the run.)
    if (!req.slurm?.gres && this.allocations.get("")?.own !== false) {
      // Own allocations, one per partition the file's jobs name: a job made during the run that
      // names another (or none, when the file's jobs name only others) would run, unsaid, in the
      // wrong partition (a GPU job on CPU nodes).
      const want = this.keyName(named);
      if (!this.allocations.has(want) && this.sizes.has(want) && !this.closed) {
        // Its partition's allocation, asked for now: its first job to run.
        return this.deferred(req, this.allocationOf(want));
      }
      if (!this.allocations.has(want)) {
        const which = named === undefined ? "the default partition" : `partition '${named}'`;
        return this.refused(
          req,
          `${which} has no allocation in this run (jx takes one only for a partition ` +
            "the jobs file's jobs name)",
        );
      }
    }
    const key = this.keyOf(named);
    const renewal = key === undefined ? undefined : this.renewing.get(key);
    return renewal ? this.deferred(req, renewal) : this.startNow(req, key);
  }

  private startNow(req: StepRequest, key: string | undefined): SlurmStep {
    const alloc = key === undefined ? undefined : this.allocations.get(key);
    if (this.closed || (alloc && req.tokens > alloc.cpus)) {
      const reason = this.closed
        ? "the Slurm session is closed"
        : `the job needs ${req.tokens} CPUs; the allocation has ${alloc!.cpus}`;
      return this.refused(req, reason);
    }
    const spare = key !== undefined && alloc ? this.takeSpare(key, req) : undefined;
    if (key !== undefined && alloc && spareFits(req)) this.refill(key, alloc);
    return spare ?? this.spawn(req, key, alloc)[0];
  }

  /**
   * A spare step of the allocation running `req`, if one is launched and the job fits one
   * (`spareFits`, shell names in its environment): the job's script goes to its stdin.
   */
  private takeSpare(key: string, req: StepRequest): SlurmStep | undefined {
    const list = this.spares.get(key);
    // Only a spare whose task runs (its step id seen) waits on its stdin: one still launching
    // may yet fail, and its failure must not become the job's.
    const at = list?.findIndex((sp) => sp.step.stepId !== undefined) ?? -1;
    if (at < 0 || !spareFits(req)) return undefined;
    const env = stepEnv({ ...this.o.env, ...req.env }, 1);
    const base = this.srunEnv(stepEnv(this.o.env, 1)); // the spare's (see `spawn`)
    const script = gateScript(req.cwd, env, base, req.argv, this.o.env);
    if (script === undefined) return undefined;
    const [sp] = list!.splice(at, 1);
    let finish!: (e: StepExit) => void;
    const done = new Promise<StepExit>((r) => finish = r);
    const job: StepRequest = { ...req, onExit: (e) => (req.onExit(e), finish(e)) };
    sp.job = job;
    const id = sp.step.stepId!;
    // The job starts when the spare says it runs it (its run mark, or the job's first stdout).
    sp.started = () => {
      sp.started = undefined;
      req.onStart?.(id);
    };
    sp.child.write?.(script);
    sp.child.closeStdin?.();
    const current = () => sp.redo ?? sp.step;
    return {
      get stepId() {
        return current().stepId;
      },
      get pid() {
        return current().pid;
      },
      kill: (signal) => {
        sp.killed = true;
        current().kill(signal);
      },
      suspend: (stopped) => current().suspend(stopped),
      done,
    };
  }

  /**
   * Keeps spare steps launched on the allocation: as many as jobs that fit one started on it
   * so far, at most twice its CPUs (a spare takes longer to launch than a short job to run,
   * measured under load) and `SPARES_MAX`. A spare that ends before it gets a job (Slurm refused `--overlap`, its
   * node failed) stops spares for the session: jobs go on as steps of their own.
   */
  private refill(key: string, alloc: Allocation): void {
    const started = (this.started.get(key) ?? 0) + 1;
    this.started.set(key, started);
    const list = this.spares.get(key) ?? [];
    this.spares.set(key, list);
    const most = Math.min(2 * alloc.cpus, SPARES_MAX, started);
    while (!this.noSpares && list.length < most) list.push(this.spare(key, alloc));
  }

  /** A spare step launched on the allocation, waiting for a job (see `refill`). */
  private spare(key: string, alloc: Allocation): Spare {
    const sp = { job: undefined } as Spare;
    // Slurm's lines on stderr before the run mark (which comes first on that pipe): about the
    // spare, not the job; shown once the job runs, dropped when the spare ends unused.
    let before: Uint8Array[] = [];
    const run = () => {
      if (!sp.job || !sp.started) return;
      sp.started();
      for (const c of before) sp.job.onOutput("stderr", c);
      before = [];
    };
    const proxy: StepRequest = {
      name: "spare",
      argv: [],
      tokens: 1,
      cwd: this.t.cwd,
      env: {},
      onRun: run,
      onOutput: (stream, chunk) => {
        if (!sp.job) return;
        // Only stdout proves the job runs (the gate writes nothing there; it may overtake the
        // mark): a cancelled spare's srun still writes to stderr, and that is no run.
        if (sp.started && stream === "stderr") return void before.push(chunk.slice());
        run();
        sp.job.onOutput(stream, chunk);
      },
      onExit: (e) => {
        if (sp.job && sp.started && !sp.killed) {
          before = [];
          // Ended before it ran the job (its srun lost, its input cut): the job goes to a
          // step of its own, and no more spares this session.
          sp.started = undefined;
          if (!this.warnedUnused) {
            this.warnedUnused = true;
            this.warn(
              `executor slurm: spare step ${sp.step.stepId} ended unused; jobs take steps of their own`,
            );
          }
          this.noSpares = true;
          sp.redo = this.start(sp.job);
          return;
        }
        if (sp.job) return sp.job.onExit(e);
        const idle = this.spares.get(key) ?? [];
        if (idle.includes(sp)) {
          // Ended without a job: never handed one, and no more spares this session.
          idle.splice(idle.indexOf(sp), 1);
          this.noSpares = true;
        }
      },
    };
    [sp.step, sp.child] = this.spawn(proxy, key, alloc, true);
    return sp;
  }

  /**
   * A step that waits for `until` (the open, a renewal) before it is submitted; a kill
   * meanwhile withdraws it; if `until` fails, the step fails with its error.
   */
  private deferred(req: StepRequest, until: Promise<void>): SlurmStep {
    let inner: SlurmStep | undefined;
    let over = false;
    let finish!: (e: StepExit) => void;
    const done = new Promise<StepExit>((r) => finish = r);
    const end = (exit: StepExit) => {
      over = true;
      this.live.delete(step);
      req.onExit(exit);
      finish(exit);
    };
    const step: SlurmStep = {
      get stepId() {
        return inner?.stepId;
      },
      get waiting() {
        return inner === undefined && !over;
      },
      get pid() {
        return inner?.pid ?? 0;
      },
      kill: (signal) => {
        if (inner) return inner.kill(signal);
        if (over) return;
        over = true;
        const exit: StepExit = {
          code: null,
          signal,
          reason: "withdrawn before it ran",
          withdrawn: true,
        };
        this.t.reactor.setTimer(0, () => end(exit));
      },
      suspend: (stopped) => inner?.suspend(stopped),
      done,
    };
    this.live.add(step);
    void until.then(() => {
      if (over) return;
      this.live.delete(step);
      inner = this.start(req);
      void inner.done.then(finish);
    }, (e: Error) => {
      if (over) return;
      const signal = e instanceof SlurmInterrupted ? e.signal : null;
      end({ code: null, signal, error: e.message, reason: e.message });
    });
    return step;
  }

  /**
   * Replaces allocation `dead` (jx's own, under `key`) after its node failed: Slurm ended it
   * (NODE_FAIL), so the retries and the jobs after them need a new one. Steps started
   * meanwhile wait for it (`deferred`).
   */
  private renew(key: string | undefined, dead: Allocation | undefined): void {
    if (key === undefined || !dead?.own || this.closed || this.renewing.has(key)) return;
    if (this.allocations.get(key) !== dead) return; // already replaced
    this.warn(`executor slurm: allocation ${dead.id} lost (node failure); asking for a new one`);
    this.spares.delete(key); // they end with it
    const renewal = this.reallocate(key, dead).finally(() => this.renewing.delete(key));
    this.renewing.set(key, renewal);
  }

  /**
   * Asks for the new allocation, up to `REALLOC_TRIES` times a second apart: just after a
   * node comes back, salloc may be granted and then fail while the node is not ready.
   */
  private async reallocate(key: string, dead: Allocation): Promise<void> {
    await runTool(this.t, ["scancel", "-Q", dead.id], this.timeoutMs);
    for (let i = 1; i <= REALLOC_TRIES && !this.closed; i++) {
      try {
        const a = await this.allocate(dead.cpus, key);
        if (this.closed) await runTool(this.t, ["scancel", "-Q", a.id], this.timeoutMs);
        else this.allocations.set(key, a);
        return;
      } catch (e) {
        if (this.closed) return;
        this.warn(`executor slurm: no new allocation (try ${i}): ${(e as Error).message}`);
        await new Promise((ok) => this.t.reactor.setTimer(1000, () => ok(undefined)));
      }
    }
  }

  /**
   * Asks for an allocation (`allocate`), each id salloc names recorded as pending until it is
   * granted and handed to `granted` (which records it), so that `cancelAll` cancels it whatever
   * happens meanwhile.
   */
  async allocate(
    cpus: number,
    partition: string,
    noticeMs?: number,
    granted?: (a: Allocation) => Promise<void> | void,
  ): Promise<Allocation> {
    let salloc: ChildHandle | undefined;
    const a = await allocate(this.t, cpus, partition, {
      onPending: (id) => this.queued(id),
      warn: this.warn,
      onSpawn: (c) => {
        salloc = c;
        this.sallocs.set(c, undefined);
        if (this.closed || this.interrupted) this.stopSallocs(); // (came after the stop)
      },
      noticeMs,
      toolTimeoutMs: this.timeoutMs,
    }, ownerComment()).finally(() => {
      if (!salloc) return;
      const kill = this.sallocs.get(salloc);
      if (kill !== undefined) this.t.reactor.clearTimer(kill);
      this.sallocs.delete(salloc);
    });
    try {
      await granted?.(a);
    } finally {
      this.pending.delete(a.id);
    }
    this.sayLimit(a.id).catch(() => {}); // (a reactor closed meanwhile: nothing to say)
    return a;
  }

  /**
   * Says when an allocation jx asked for has a time limit after all (jx asks for none; a
   * partition's `DefaultTime` or the QOS's `MaxWall` gives one): the steps still running then
   * are cancelled, and the jobs after them fail. Not waited for.
   */
  private async sayLimit(id: string): Promise<void> {
    const r = await runTool(this.t, ["squeue", "-h", "-j", id, "-o", "%l"], this.timeoutMs);
    const limit = r.stdout.trim().split("\n")[0]?.trim() ?? "";
    if (r.code !== 0 || limit === "" || /^(UNLIMITED|INFINITE|NOT_SET)$/i.test(limit)) return;
    this.warn(
      `executor slurm: allocation ${id} has a time limit of ${limit} (the partition's ` +
        "DefaultTime, or its QOS's MaxWall): the jobs still running then are cancelled " +
        "(DUE TO TIME LIMIT), and those after them fail",
    );
  }

  /**
   * A stop signal: the open stops (salloc, and what it queued is cancelled); the rest is the
   * caller's (the run stops its jobs, `close` releases the allocations).
   */
  interrupt(sig: "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGQUIT"): void {
    this.interrupted ??= sig;
    this.stopSallocs();
    // The open's checks (scontrol ping, sinfo, squeue: queries only) wait up to their timeout on
    // a controller that does not answer: stopped, so that the open ends now, as a local run
    // stops at once, not up to 10 s later.
    for (const c of this.checks.running) c.kill("SIGKILL");
    if (this.pending.size) {
      void runTool(this.t, ["scancel", "-Q", ...this.pending], this.timeoutMs);
    }
  }

  /**
   * Stops every salloc running (SIGTERM: it cancels what it queued). One stopped before it had
   * a job id to cancel may wait on for a grant a busy partition never gives (seen once: 8
   * minutes): after a grace, what it queued under this jx's comment joins the pending ones
   * (`close` cancels them), and it is killed.
   */
  private stopSallocs(): void {
    for (const [salloc, kill] of this.sallocs) {
      salloc.kill("SIGTERM");
      if (kill !== undefined) continue;
      this.sallocs.set(
        salloc,
        this.t.reactor.setTimer(SALLOC_GRACE_MS, async () => {
          if (!this.sallocs.has(salloc)) return;
          for (const id of await ownAllocations(this.t, this.timeoutMs)) this.pending.add(id);
          if (this.sallocs.has(salloc)) salloc.kill("SIGKILL");
        }),
      );
    }
  }

  private refused(req: StepRequest, reason: string): SlurmStep {
    const exit: StepExit = { code: null, signal: null, error: reason, reason };
    this.t.reactor.setTimer(0, () => req.onExit(exit));
    return { stepId: undefined, pid: 0, kill() {}, suspend() {}, done: Promise.resolve(exit) };
  }

  /** An allocation Slurm queued for jx: cancelled at once if the session is closing or stopped. */
  private queued(id: string): void {
    this.pending.add(id);
    if (this.closed || this.interrupted) {
      void runTool(this.t, ["scancel", "-Q", id], this.timeoutMs);
    }
  }

  /** Starts `req`'s srun in `alloc` (a spare step: one waiting for its job on stdin). */
  private spawn(
    req: StepRequest,
    key: string | undefined,
    alloc?: Allocation,
    spare = false,
  ): [SlurmStep, ChildHandle] {
    const step = new SrunStep(req, this.t.reactor, {
      signal: (child, stepId, signal) => this.signal(child, stepId, signal),
      suspend: (stepId, stopped) => this.suspend(stepId, alloc, stopped),
      ended: (renew) => {
        this.live.delete(step);
        if (renew) this.renew(key, alloc);
      },
    });
    this.live.add(step);
    // The job's variables that srun would read as its own options reach its task by the
    // step's wrapper instead (a job's `env: {SLURM_CONF}` is its command's, not srun's).
    const job = stepEnv({ ...this.o.env, ...req.env }, req.tokens);
    const env = this.srunEnv(job);
    const vars = taskVars(job, env, this.o.env);
    const child = step.start(
      spare && alloc ? spareArgv(alloc.id) : stepArgv(alloc?.id, { ...req, vars }, alloc?.inStep),
      env,
      spare ? "pipe" : "null",
    );
    if (!spare && alloc && req.slurm?.gres === undefined) this.noticeStart(step, req.name, alloc);
    return [step, child];
  }

  /** srun's environment for a step whose job has `job`: `clientEnv`, as jx's own has it. */
  private srunEnv(job: Record<string, string>): Record<string, string> {
    return clientEnv(job, this.o.env);
  }

  /**
   * A job's step not started `stepNoticeMs` after its srun: jx sends a step only when the
   * allocation has its CPUs, so Slurm is holding it back, and srun says nothing meanwhile. After
   * a controller restart Slurm counts the CPUs of steps that ended while it was down as busy
   * for about two minutes (measured): the run stood still without a word. Said once a step.
   */
  private noticeStart(step: SrunStep, name: string, alloc: Allocation): void {
    const ms = this.o.stepNoticeMs ?? STEP_NOTICE_MS;
    const timer = this.t.reactor.setTimer(ms, () => {
      if (step.stepId !== undefined || !this.live.has(step)) return;
      this.warn(
        `executor slurm: the step of ${name} has not started ${ms / 1000} s after it was ` +
          `sent; Slurm holds it back (the steps it counts in the allocation: squeue -s -j ${alloc.id})`,
      );
    });
    void step.done.then(() => this.t.reactor.clearTimer(timer));
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
   * A Ctrl-Z for a running step: its tasks get SIGSTOP before this returns (jx stops itself
   * next, and a client command started now would run only once jx goes on), bounded by the
   * session's timeout; once jx goes on, SIGCONT (not waited for).
   */
  private suspend(
    stepId: string | undefined,
    alloc: Allocation | undefined,
    stopped: boolean,
  ): void {
    // A step whose id jx has not read yet from srun (its task may run already): every step of
    // the allocation, when it is jx's own (one jx runs inside may hold others' steps).
    const target = stepId ?? (alloc?.own ? alloc.id : undefined);
    if (target === undefined) return;
    if (stopped ? this.suspended.has(target) : !this.suspended.delete(target)) return; // once
    if (stopped) this.suspended.add(target);
    const argv = ["scancel", "-Q", `--signal=${stopped ? "STOP" : "CONT"}`, target];
    if (stopped) runSync(argv, this.t.env, this.timeoutMs);
    else void runTool(this.t, argv, this.timeoutMs);
  }

  /**
   * Cancels everything the run submitted: every live step, and the allocations jx asked for
   * (granted or pending); resolves when every srun has ended.
   */
  async cancelAll(): Promise<void> {
    const idle = [...this.spares.values()].flat();
    this.spares.clear();
    for (const sp of idle) sp.child.closeStdin?.(); // nothing to run: it ends (exit 0)
    const steps = [...this.live];
    for (const s of steps) if (!idle.some((sp) => sp.step === s)) s.kill("SIGKILL");
    await this.release(steps);
  }

  /**
   * Cancels jx's own allocations and those still pending; waits for `steps` to end and for
   * squeue to stop listing them, and warns when it cannot tell that they are gone.
   */
  private async release(steps: SlurmStep[] = []): Promise<void> {
    const own = [...this.allocations.values()].filter((a) => a.own).map((a) => a.id);
    const ids = [...new Set([...own, ...this.pending])];
    if (!ids.length) return void await Promise.all(steps.map((s) => s.done));
    const r = await runTool(this.t, ["scancel", "-Q", ...ids], this.timeoutMs);
    for (const id of ids) this.pending.delete(id);
    await Promise.all(steps.map((s) => s.done));
    const why = r.code === 0 ? await this.gone(ids, BACKSTOP_MS) : `scancel: ${toolError(r)}`;
    if (why) {
      this.warn(
        `executor slurm: allocation ${ids.join(", ")} may not have been released (${why}); ` +
          `check with: squeue -j ${ids.join(",")}`,
      );
    }
  }

  /**
   * Waits (bounded) until squeue no longer lists `ids`: a cancelled allocation stays
   * COMPLETING until its node has cleaned up (about 0.1-0.5 s here). Returns why it could not
   * tell they are gone (squeue failed, or still listed them at the end), else undefined.
   */
  private async gone(ids: string[], boundMs: number): Promise<string | undefined> {
    const { reactor } = this.t;
    const until = reactor.now() + boundMs;
    const argv = ["squeue", "-h", "-o", "%i", "-j", ids.join(",")];
    while (reactor.now() < until) {
      const r = await runTool(this.t, argv, this.timeoutMs);
      if (r.code === 0 && r.stdout.trim() === "") return undefined;
      if (r.code !== 0) {
        // An id Slurm no longer knows is gone too; any other failure says nothing.
        return /Invalid job id/i.test(r.stderr) ? undefined : `squeue: ${toolError(r)}`;
      }
      await new Promise((ok) => reactor.setTimer(50, () => ok(undefined)));
    }
    return `still listed after ${boundMs} ms`;
  }

  /**
   * Ends the session: an open or a renewal under way is stopped (its salloc) and waited for,
   * what is left is cancelled and jx's own allocations are released; then it stops listening
   * for signals. Idempotent.
   */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.stopSallocs();
    await this.opening?.catch(() => {});
    // A renewal under way (a node failure's new allocation) ends too: its salloc was stopped
    // above, and one granted meanwhile is cancelled by `reallocate` before jx goes on.
    await Promise.allSettled([...this.renewing.values(), ...this.later.values()]);
    const own = [...this.allocations.values()].filter((a) => a.own).map((a) => a.id);
    if (own.length) await this.o.onRelease?.(own);
    await this.cancelAll();
    this.forgetOwn();
    this.stopListening();
  }

  /** Forgets jx's own allocations, once cancelled. */
  private forgetOwn(): void {
    for (const [p, a] of this.allocations) if (a.own) this.allocations.delete(p);
  }

  /** Steps not ended yet. */
  get running(): number {
    return this.live.size;
  }
}

/** A failed client command in a few words. */
function toolError(r: ToolResult): string {
  if (r.timedOut) return "no answer in time";
  const line = (r.error ?? r.stderr).split("\n").map((l) => l.trim()).find(Boolean);
  return line ?? `exit ${r.code}`;
}

/** What a step needs of its session: a signal sent its way, and its end (`renew`: its allocation is lost). */
interface StepHooks {
  signal(child: ChildHandle, stepId: string | undefined, signal: string): void;
  /** Stops or continues a running step's tasks (see `SlurmStep.suspend`; no id read yet: undefined). */
  suspend(stepId: string | undefined, stopped: boolean): void;
  ended(renew: boolean): void;
}

/**
 * One srun: its stderr read for srun's own lines (the step's id, its end),
 * the job's stdout held until the step's mark (the job starts before any of
 * its output), its end made a `StepExit`.
 */
class SrunStep implements SlurmStep {
  readonly done: Promise<StepExit>;
  private f = new SrunStderr();
  private child: ChildHandle = { pid: 0, kill() {} };
  private ended = false;
  /** Whether jx sent this step SIGKILL (then srun's 137 is that signal, whatever it printed). */
  private killed = false;
  /**
   * The signal jx meant for the job when it stopped srun itself (the step's id not known yet,
   * or scancel failed): srun's exit is then no task's (see `exited`).
   */
  private stopped: string | undefined;
  private backstop: number | undefined;
  private finish!: (e: StepExit) => void;
  /**
   * The job's stdout until the step's mark: it can overtake its stderr, where the mark comes
   * first (undefined once released).
   */
  private held: Uint8Array[] | undefined = [];

  constructor(private req: StepRequest, private reactor: Reactor, private hooks: StepHooks) {
    this.done = new Promise<StepExit>((r) => this.finish = r);
    this.f.onStepId = (id) => (req.onStart?.(id), this.release());
    this.f.onRun = () => req.onRun?.();
    this.f.spare = req.onRun !== undefined;
  }

  get stepId(): string | undefined {
    return this.f.stepId;
  }

  get pid(): number {
    return this.child.pid;
  }

  kill(signal: string): void {
    if (this.ended) return;
    this.f.signalled = true;
    if (signal === "SIGKILL") this.killed = true;
    const srun: ChildHandle = {
      pid: this.child.pid,
      kill: (s) => {
        this.stopped ??= signal;
        this.child.kill(s);
      },
    };
    this.hooks.signal(srun, this.f.stepId, signal);
    if (signal === "SIGKILL" && this.backstop === undefined) {
      this.backstop = this.reactor.setTimer(BACKSTOP_MS, () => this.child.kill("SIGKILL"));
    }
  }

  suspend(stopped: boolean): void {
    if (!this.ended) this.hooks.suspend(this.f.stepId, stopped);
  }

  /** Spawns srun as `argv`. */
  start(argv: string[], env: Record<string, string>, stdin: "pipe" | "null"): ChildHandle {
    this.child = this.reactor.spawn({
      argv,
      cwd: this.req.cwd,
      env,
      stdin,
      onOutput: (stream, chunk) => this.output(stream, chunk),
      onExit: (s) => this.exited(s),
    });
    return this.child;
  }

  private release(): void {
    const h = this.held ?? [];
    this.held = undefined;
    for (const c of h) this.req.onOutput("stdout", c);
  }

  private output(stream: StreamName, chunk: Uint8Array): void {
    if (stream === "stdout" && this.held) return void this.held.push(chunk.slice()); // a view of a reused buffer
    const out = stream === "stderr" ? this.f.feed(chunk) : chunk;
    if (out) this.req.onOutput(stream, out);
  }

  private exited(s: ExitStatus): void {
    this.ended = true;
    if (this.backstop !== undefined) this.reactor.clearTimer(this.backstop);
    const rest = this.f.flush(s);
    this.release();
    if (rest) this.req.onOutput("stderr", rest);
    let exit = stepExit(s, this.f);
    // A step cancelled with SIGKILL: srun exits 128+9, and says "Killed" only when its
    // line comes before the step's end (CI saw it not, once): the signal jx sent either way.
    if (this.killed && exit.code === 137 && exit.signal === null && exit.error === undefined) {
      const reason = exit.reason === "srun exited with 137" ? undefined : exit.reason;
      exit = { ...exit, code: null, signal: "SIGKILL", reason };
    }
    // srun stopped by jx before it knew the step's end (the request withdrawn, or the step
    // cancelled as it launched): Slurm 22.05's srun then often exits 0 with nothing said
    // (measured; its task was killed, or is still running after "Timed out waiting for job step
    // to complete"). That 0 is no task's exit: the job ends by the signal jx sent it, as a local
    // job does, never `ok` (a success would be recorded as such, and the job skipped as up to
    // date by the next run).
    if (
      this.stopped !== undefined && exit.code === 0 && exit.signal === null &&
      exit.error === undefined && !exit.nodeFailure
    ) {
      exit = {
        ...exit,
        code: null,
        signal: this.stopped,
        reason: exit.reason ?? "srun was stopped before the step's end was known",
      };
    }
    // Only srun's own lines say so: before the step ran, or its checked end lines.
    const expired = this.f.before.some((l) => EXPIRED.test(l));
    this.hooks.ended(!!exit.nodeFailure || expired);
    this.req.onExit(exit);
    this.finish(exit);
  }
}
