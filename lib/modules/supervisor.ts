/**
 * The supervisor: the modules of one run. It registers them (`when:`),
 * starts each when `runJobs` says its needs are done, tells the plan when it
 * is ready, carries PubSub messages, answers control requests (`jx ctl`),
 * holds foreground modules (`jx run MODULE`) until a signal, and stops every
 * module in reverse dependency order at the end. In a session (`jx watch`) it
 * outlives its runs: their ends leave the modules up, and `end()` stops them.
 *
 * @module
 */
import type { Graph, JobSpec } from "../graph/mod.ts";
import type { ListenSignal } from "../reactor/mod.ts";
import type { JobStatus, ModuleHost, ModuleRun, RunEvent, RunStatus } from "../scheduler/mod.ts";
import { Module } from "./module.ts";
import { Bus, type PublishResult } from "./pubsub.ts";
import { isUp, type ModuleState, refusal } from "./states.ts";
import { unregisteredReason } from "./when.ts";
import { namesAmong } from "../runtime/lists.ts";

/**
 * Settings of a supervisor.
 *
 * @example
 * ```ts
 * import { Supervisor, type SupervisorOptions } from "./supervisor.ts";
 * // as `jx run api` does
 * const opts: SupervisorOptions = { foreground: ["api"] };
 * const modules = new Supervisor(opts);
 * ```
 */
export interface SupervisorOptions {
  /**
   * Modules named on the command line: once the jobs are done they stay up,
   * in the foreground, until a signal (or until they end by themselves).
   */
  foreground?: string[];
  /**
   * A session (`jx watch`): the supervisor serves one run after another. A
   * run's end publishes `jx.run.end` and leaves its modules up (a later run
   * that needs one finds it ready at once); a signal or failure in a run only
   * ends that run's waits for modules; `end()` stops them all.
   */
  session?: boolean;
  /**
   * Where module events (`module.state`, module output) go; default: the
   * reporters of the run that registered the module. A session gives its own,
   * as its modules outlive the runs.
   */
  emit?: (e: RunEvent) => void;
}

/**
 * One job or module in a status answer.
 *
 * @example
 * ```ts
 * import type { StatusEntry } from "./supervisor.ts";
 * const e: StatusEntry = { name: "db", kind: "module", state: "running", pid: 4242 };
 * ```
 */
export interface StatusEntry {
  /** The job's or module's name. */
  name: string;
  /** Which of the two it is. */
  kind: "job" | "module";
  /**
   * Jobs: `waiting`, `running`, `ok`, `failed`, `timeout`, `cancelled`,
   * `skipped`. Modules: their `ModuleState`, or `unregistered`.
   */
  state: string;
  /** The process id, while it runs. */
  pid?: number;
  /** Skips: the reason; failed or unregistered modules: why. */
  reason?: string;
  /** Modules: processes started so far. */
  attempt?: number;
  /** Modules: restarts in a row. */
  restarts?: number;
  /** Modules: messages jx holds for it (queued while starting or paused, or its stdin pipe full). */
  queued?: number;
  /** Modules: messages dropped so far (its queue was full, it was not up, or its stdin closed). */
  dropped?: number;
}

/**
 * A control request, as `jx ctl` sends it (one JSON object per line).
 *
 * @example
 * ```ts
 * import type { CtlRequest } from "./supervisor.ts";
 * const req: CtlRequest = { action: "publish", topic: "reload", message: "now" };
 * ```
 */
export type CtlRequest =
  | { action: "status" }
  | { action: "start" | "restart" | "pause" | "resume"; module: string }
  | { action: "stop"; module: string; drain?: boolean }
  | { action: "publish"; topic: string; message: string };

/**
 * The answer to a control request.
 *
 * @example
 * ```ts
 * import type { CtlReply } from "./supervisor.ts";
 * const ok: CtlReply = { ok: true, state: "paused" };
 * const no: CtlReply = { ok: false, error: "cannot resume a running module (only paused)" };
 * ```
 */
export interface CtlReply {
  /** Whether the request was done. */
  ok: boolean;
  /** Why not (or, with `ok`, why a started module failed). */
  error?: string;
  /** The module's state after the action. */
  state?: string;
  /** `status`: every job and module of the run. */
  jobs?: StatusEntry[];
  /** `status`: the modules, registered or not. */
  modules?: StatusEntry[];
  /** `publish`: how many modules the message was written to. */
  delivered?: number;
  /** `publish`: how many modules hold it in their queue (starting, paused, or a full pipe). */
  queued?: number;
  /** `publish`: how many modules dropped it (a full queue, or not up). */
  dropped?: number;
  /** `publish`: how many modules had closed their stdin (the message discarded). */
  closed?: number;
  /** `publish`: the modules, by what became of the message. */
  modules_by_delivery?: PublishResult;
}

/**
 * Runs the modules of a run for `runJobs` (pass it as `RunOptions.modules`).
 *
 * @example
 * ```ts
 * import { createReactor, parseJobsFile, runJobs } from "../../mod.ts";
 * import { Supervisor } from "./supervisor.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile(
 *   "modules:\n  srv: { run: 'echo up; sleep 60', ready: { log: up } }\n" +
 *     "jobs:\n  use: { run: echo using, needs: [srv] }\n",
 *   "j.yaml",
 * );
 * const modules = new Supervisor();
 * const result = await runJobs(g, g.select([]), { reactor: createReactor(), modules });
 * // srv was started, used, and stopped
 * assertEquals(result.exit, 0);
 * ```
 */
export class Supervisor implements ModuleHost {
  private run?: ModuleRun;
  private modules = new Map<string, Module>();
  /** Every module seen, registered or not, in the order first seen. */
  private specs: JobSpec[] = [];
  /** The names of `specs` (a module attached twice is taken once). */
  private specNames = new Set<string>();
  /** Session: modules to restart when a run next starts them (their `reads` changed). */
  private staleModules = new Set<string>();
  /** Session: the current run's waits for modules, each ended as `cancelled` by `interrupt`. */
  private waits = new Set<() => void>();
  /** Session: the modules that failed during the current run. */
  private failedInRun = new Set<string>();
  private unregistered = new Map<string, string>();
  /**
   * Each job's state, for `status`: bare strings (with the pids of running
   * jobs and the reasons of skipped ones aside) in an array by `spec.index`
   * in `jobGraph` (a hole: a job no run selected), not an object or a `Map`
   * entry (~166 bytes on Bun) per job: a run of many jobs holds them all
   * until it ends.
   */
  private jobStates: (string | undefined)[] = [];
  /** The graph whose indexes `jobStates` follows (the last run's). */
  private jobGraph?: Graph;
  /** Session: the jobs of earlier runs' graphs that the last run's graph does not hold. */
  private earlierJobs = new Map<string, string>();
  private jobPids = new Map<string, number>();
  private skipReasons = new Map<string, string>();
  /** Per module: the modules that depend on it, directly or through jobs. */
  private dependents = new Map<string, Set<string>>();
  private bus = new Bus();
  private signals = 0;
  /** Whether the run's caller cancelled it (`RunControl.cancel`). */
  private cancelled = false;
  private closing = false;
  private ended = false;
  private releaseHold?: () => void;
  /** A `wake` of the run is on its way. */
  private waking = false;

  /** A supervisor with the given settings; `runJobs` attaches it to its run. */
  constructor(private opts: SupervisorOptions = {}) {}

  /**
   * Registers the selected modules whose `when:` holds (each `idle`). In a
   * session, each run registers only the modules not seen before.
   */
  attach(run: ModuleRun): void {
    this.run = run;
    this.failedInRun.clear();
    const emit = this.opts.emit ?? run.emit;
    const hooks = {
      reactor: run.reactor,
      emit,
      t: () => this.run!.t(),
      env: (spec: JobSpec) => this.run!.env(spec),
      closing: () => this.closing,
      changed: (m: Module) => {
        if (m.state === "failed") this.failedInRun.add(m.name);
        this.checkHold();
        this.wake();
      },
    };
    this.followGraph(run.graph);
    for (const spec of run.selected) {
      if (spec.kind === "job") {
        this.jobStates[spec.index] = "waiting";
        this.earlierJobs.delete(spec.name);
        this.jobPids.delete(spec.name);
        this.skipReasons.delete(spec.name);
        continue;
      }
      if (this.specNames.has(spec.name)) continue;
      this.specNames.add(spec.name);
      this.specs.push(spec);
      const why = unregisteredReason(spec, run.env(spec));
      if (why) {
        this.unregistered.set(spec.name, why);
        continue;
      }
      const m = new Module(spec, hooks);
      this.modules.set(spec.name, m);
      for (const topic of spec.subscribe ?? []) this.bus.subscribe(topic, m);
      emit({ type: "module.state", t: run.t(), module: spec.name, state: "idle" });
    }
    for (const name of this.modules.keys()) this.dependents.set(name, this.modulesAfter(name));
  }

  /** Indexes `jobStates` by `graph` from now on; the states of another graph's jobs are kept by name. */
  private followGraph(graph: Graph): void {
    if (this.jobGraph === graph) return;
    const old = this.jobGraph;
    this.jobStates.forEach((state, i) => {
      if (state !== undefined && old) this.earlierJobs.set(old.jobs[i].name, state);
    });
    this.jobGraph = graph;
    this.jobStates = new Array(graph.jobs.length).fill(undefined);
  }

  /** A job's state for `status`, if some run selected it. */
  private jobState(name: string): string | undefined {
    const spec = this.jobGraph?.byName.get(name);
    return (spec && this.jobStates[spec.index]) ?? this.earlierJobs.get(name);
  }

  /** Sets the state of a job some run selected; false (and nothing set) for any other name. */
  private setJobState(name: string, state: string): boolean {
    const spec = this.jobGraph?.byName.get(name);
    if (spec && this.jobStates[spec.index] !== undefined) this.jobStates[spec.index] = state;
    else if (this.earlierJobs.has(name)) this.earlierJobs.set(name, state);
    else return false;
    return true;
  }

  /**
   * Session: the next time a run starts these modules, those up are stopped
   * and started again (`jx watch` marks the modules whose `reads` changed).
   */
  stale(names: string[]): void {
    for (const n of names) if (this.modules.has(n)) this.staleModules.add(n);
  }

  /** The registered modules after `name` in the graph, through any path. */
  private modulesAfter(name: string): Set<string> {
    const graph = this.run!.graph;
    const seen = new Set<string>();
    const out = new Set<string>();
    const stack = [name];
    while (stack.length) {
      for (const e of graph.dependentsOf(stack.pop()!)) {
        if (seen.has(e.to)) continue;
        seen.add(e.to);
        if (this.modules.has(e.to)) out.add(e.to);
        stack.push(e.to);
      }
    }
    return out;
  }

  /** Whether a module's process is alive (it may hold job-slot tokens of jx's pool). */
  anyAlive(): boolean {
    for (const m of this.modules.values()) if (m.live) return true;
    return false;
  }

  /**
   * Why a module a job (or module) needs is down for good, as that job's
   * error: `jx ctl stop` stopped it, or it failed or ended by itself after it
   * was ready (no restart left). Its readiness resolved the need once; what
   * starts after its end would run without it.
   */
  stoppedByUser(name: string): string | undefined {
    const m = this.modules.get(name);
    if (!m || m.live || isUp(m.state) || this.closing) return undefined;
    if (m.stoppedByUser) return `needs module '${name}', which was stopped (jx ctl stop)`;
    if (m.state === "failed") return `needs module '${name}', which failed (${m.reason})`;
    if (m.state === "stopped") return `needs module '${name}', which ended by itself`;
    return undefined;
  }

  /**
   * Whether a module, ready once, is down now but on its way back: a
   * restart's backoff, a new start not ready yet, a stop under way (`jx ctl
   * stop` or `restart`, a failed health check). What needs it and has not
   * started waits: it starts once the module runs again, or fails once the
   * module is down for good (`stoppedByUser`).
   */
  comingBack(name: string): boolean {
    const m = this.modules.get(name);
    return !!m && !this.closing && m.live && !m.upNow;
  }

  /** Asks the run, once the current step is over, to look again at what can start. */
  private wake(): void {
    if (this.waking || !this.run?.wake) return;
    this.waking = true;
    queueMicrotask(() => {
      this.waking = false;
      this.run?.wake?.();
    });
  }

  /** Why a module cannot start: a module it needs is not registered, or is down for good. */
  private downNeed(spec: JobSpec): string | undefined {
    for (const n of spec.needs) {
      if (!this.modules.has(n) && !this.unregistered.has(n)) continue; // a job
      const why = this.notRegistered(n) ?? this.stoppedByUser(n);
      if (why) return why;
    }
  }

  /** Why a module is not registered, as a message for the jobs that need it. */
  notRegistered(name: string): string | undefined {
    const why = this.unregistered.get(name);
    return why && `needs module '${name}', which is not registered (${why})`;
  }

  /** Starts a module for the plan; `resolved` says when it is ready (or not). */
  start(spec: JobSpec, resolved: (status: JobStatus) => void): void {
    const m = this.modules.get(spec.name)!;
    const down = !isUp(m.state) && !m.live ? this.downNeed(spec) : undefined;
    if (down) {
      m.refuse(down);
      m.onSettled(resolved);
      return;
    }
    if (this.opts.session) {
      // The run may end before the module settles: its wait is then cancelled.
      let waiting = true;
      const settled = resolved;
      const cancel = () => once("cancelled");
      const once = (status: JobStatus) => {
        if (!waiting) return;
        waiting = false;
        this.waits.delete(cancel);
        settled(status);
      };
      this.waits.add(cancel);
      resolved = once;
      if (this.staleModules.delete(m.name) && (m.live || isUp(m.state))) {
        void m.stop(false).then(() => {
          if (!this.closing && !m.live) m.start();
          m.onSettled(once);
        });
        return;
      }
    }
    if (!isUp(m.state) && !m.live) m.start();
    m.onSettled(resolved);
  }

  /**
   * A failure (cancel what is starting), a cancel of the run (also release
   * the foreground) or a signal (also release the foreground; twice: kill).
   */
  interrupt(why: "failure" | "cancel" | ListenSignal): void {
    if (this.opts.session) {
      // The run ends; its modules stay up for the next one.
      for (const cancel of [...this.waits]) cancel();
      return;
    }
    if (why === "cancel") this.cancelled = true;
    else if (why !== "failure" && ++this.signals > 1) return this.kill();
    for (const m of this.modules.values()) {
      if (m.state === "starting" || (m.live && !isUp(m.state))) void m.stop(false);
    }
    if (why !== "failure") this.releaseHold?.();
  }

  /** Ctrl-Z: every module's process group stopped (`true`) or continued (`false`); see `Module.suspend`. */
  suspend(stopped: boolean): void {
    for (const m of this.modules.values()) m.suspend(stopped);
  }

  /** SIGKILL to every module's process group now (a second signal). */
  kill(): void {
    for (const m of this.modules.values()) m.kill();
  }

  /**
   * Holds foreground modules, publishes `jx.run.end`, stops every module in
   * reverse order. In a session: publishes `jx.run.end` and leaves them up.
   */
  async finish(status: RunStatus): Promise<{ failed: boolean }> {
    if (this.opts.session) {
      this.waits.clear();
      this.publish("jx.run.end", JSON.stringify({ status }));
      return { failed: this.failedInRun.size > 0 };
    }
    if ((status === "ok" || status === "failed") && this.signals === 0) await this.hold();
    this.closing = true;
    // A signal (or a cancel) that released the foreground hold ends the run so, as run.end says.
    const ended = this.signals > 0 ? "interrupted" : this.cancelled ? "cancelled" : status;
    this.publish("jx.run.end", JSON.stringify({ status: ended }));
    await this.shutdown();
    this.ended = true;
    return { failed: [...this.modules.values()].some((m) => m.state === "failed") };
  }

  /**
   * Ends a session (or a run, early): stops every module in reverse
   * dependency order; resolves once no module process is left.
   */
  async end(): Promise<{ failed: boolean }> {
    this.closing = true;
    for (const cancel of [...this.waits]) cancel();
    await this.shutdown();
    this.ended = true;
    return { failed: [...this.modules.values()].some((m) => m.state === "failed") };
  }

  /** Follows the jobs' states (for `status`) and publishes `jx.job.end`. */
  /** Jobs up to date, many at once (`Reporter.skips`). */
  skips(jobs: readonly string[]): void {
    // Only jobs it follows get a state (a partial run's part: a few of 10,000 names).
    const graph = this.jobGraph, earlier = this.earlierJobs;
    const mine = namesAmong(jobs, {
      size: (graph?.jobs.length ?? 0) + earlier.size,
      names: () => [...(graph?.jobs.map((j) => j.name) ?? []), ...earlier.keys()],
      has: (n) => !!graph?.byName.has(n) || earlier.has(n),
    });
    for (const job of mine) {
      if (this.setJobState(job, "skipped")) this.skipReasons.set(job, "up-to-date");
    }
  }

  event(e: RunEvent): void {
    if (e.type === "job.start") {
      if (!this.setJobState(e.job, "running")) return;
      this.jobPids.set(e.job, e.pid);
    } else if (e.type === "job.end") {
      if (e.retrying || !this.setJobState(e.job, e.status)) return;
      this.jobPids.delete(e.job);
      // No subscriber (most runs): no message to make.
      if (this.bus.empty) return;
      this.publish(
        "jx.job.end",
        JSON.stringify({ job: e.job, status: e.status, exit: e.exit, signal: e.signal }),
      );
    } else if (e.type === "job.skip") {
      if (!this.setJobState(e.job, "skipped")) return;
      this.skipReasons.set(e.job, e.reason);
    }
  }

  /**
   * Publishes a message: one line (`TOPIC MESSAGE`) on the stdin of every
   * module subscribed to the topic; says, per module, whether it was
   * delivered, queued, dropped (see `MAX_QUEUED_BYTES`) or discarded for a
   * closed stdin.
   */
  publish(topic: string, message: string): PublishResult {
    return this.bus.publish(topic, message);
  }

  /** Every job and module of the run, with its state. */
  status(): { jobs: StatusEntry[]; modules: StatusEntry[] } {
    const modules: StatusEntry[] = [];
    for (const spec of this.specs) {
      const m = this.modules.get(spec.name);
      if (!m) {
        modules.push({
          name: spec.name,
          kind: "module",
          state: "unregistered",
          reason: this.unregistered.get(spec.name),
        });
        continue;
      }
      modules.push({
        name: m.name,
        kind: "module",
        state: m.state,
        ...(m.pid ? { pid: m.pid } : {}),
        ...(m.reason && m.state === "failed" ? { reason: m.reason } : {}),
        attempt: m.attempt,
        restarts: m.restarts,
        queued: m.queued,
        ...(m.dropped ? { dropped: m.dropped } : {}),
      });
    }
    const jobs: StatusEntry[] = [];
    const entry = (name: string, state: string) => {
      const j: StatusEntry = { name, kind: "job", state };
      const pid = this.jobPids.get(name);
      if (pid !== undefined) j.pid = pid;
      const reason = this.skipReasons.get(name);
      if (reason !== undefined) j.reason = reason;
      jobs.push(j);
    };
    this.jobStates.forEach((state, i) => {
      if (state !== undefined) entry(this.jobGraph!.jobs[i].name, state);
    });
    for (const [name, state] of this.earlierJobs) entry(name, state);
    return { jobs, modules };
  }

  /** Answers a control request; never throws. */
  async control(req: CtlRequest): Promise<CtlReply> {
    try {
      return await this.dispatch(req);
    } catch (e) {
      return { ok: false, error: `internal error: ${(e as Error)?.message ?? e}` };
    }
  }

  /** Does a request (parsed and checked by `parseCtlRequest`). */
  private async dispatch(req: CtlRequest): Promise<CtlReply> {
    if (req.action === "status") return { ok: true, ...this.status() };
    if (req.action === "publish") {
      const r = this.publish(req.topic, req.message);
      return {
        ok: true,
        delivered: r.delivered.length,
        queued: r.queued.length,
        dropped: r.dropped.length,
        closed: r.closed.length,
        modules_by_delivery: r,
      };
    }
    const m = this.modules.get(req.module);
    if (!m) return { ok: false, error: this.notAModule(req.module, req.action) };
    if (this.closing && (req.action === "start" || req.action === "restart")) {
      return { ok: false, error: "the run is ending" };
    }
    const no = refusal(req.action, m.state);
    if (no && !(req.action === "stop" && m.live)) return { ok: false, error: no };
    // Frozen while it stops, it could not end on its own (its grace would end in SIGKILL); and
    // one paused, then stopped, was let go on by the stop: "running" it is not.
    if ((req.action === "pause" || req.action === "resume") && m.terminating) {
      return { ok: false, error: `cannot ${req.action} a module that is stopping` };
    }
    const done = await this.act(m, req);
    if (typeof done === "string") return { ok: false, error: done };
    const state = done?.state ?? m.state;
    return {
      ok: true,
      state,
      ...(m.reason && state === "failed" ? { error: m.reason } : {}),
    };
  }

  /** Why a module request names no module of this run. */
  private notAModule(name: string, action: string): string {
    const why = this.unregistered.get(name);
    if (why) return `module '${name}' is not registered (${why})`;
    if (this.jobState(name) !== undefined) {
      return `'${name}' is a job; ctl ${action} acts on modules`;
    }
    return `no module '${name}' in this run`;
  }

  /**
   * Acts on a module the request may act on; an error to answer, or the
   * state its action left it in when another request (a `restart` that
   * waited for the same stop) may change it before the answer.
   */
  private async act(
    m: Module,
    req: Exclude<CtlRequest, { action: "status" | "publish" }>,
  ): Promise<string | { state: ModuleState } | undefined> {
    const action = req.action;
    switch (action) {
      case "pause":
        m.pause();
        return;
      case "resume":
        m.resume();
        return;
      case "stop":
        // A foreground run keeps waiting for a module stopped this way.
        m.stoppedByUser = true;
        // What waits for it to be ready cannot run: a failure, not a cancelled run.
        await m.stop(req.action === "stop" && !!req.drain, "failed");
        // Its state now, before a `restart` that waited for the same stop starts it again.
        return { state: m.state };
      case "start": {
        const waiting = this.unmetNeeds(m.spec);
        if (waiting.length) return `waits for ${waiting.join(", ")}`;
        // A failed one still being ended, or a pending restart: what waits for it waits for this start.
        if (m.live) await m.stop(false, "keep");
        return await this.startAgain(m);
      }
      case "restart": {
        // Started again, it would run without what it needs (refused before it is stopped).
        const waiting = this.unmetNeeds(m.spec);
        if (waiting.length) return `waits for ${waiting.join(", ")}`;
        m.stoppedByUser = true;
        await m.stop(false, "keep"); // what waits for it waits for the new start
        return await this.startAgain(m);
      }
      default: {
        const _assertNever: never = action;
        return `unknown action ${JSON.stringify(_assertNever)}`;
      }
    }
  }

  /**
   * Starts a module that a request stopped, and waits until it is settled.
   * Another request that waited for the same stop may have started it
   * already: this one then waits for that start. A run that began to end
   * meanwhile starts nothing.
   */
  private async startAgain(m: Module): Promise<string | undefined> {
    if (!m.live && !isUp(m.state)) {
      if (this.closing) return "the run is ending";
      m.start();
    }
    await new Promise((r) => m.onSettled(r));
    // Stopped before it was ready (another request, the run's end): not started. A failed start
    // is answered with its state and reason.
    if (isUp(m.state) || m.state === "failed") return undefined;
    return this.closing ? "the run is ending" : `${m.state} before it was ready`;
  }

  /** The needs of a module that have not succeeded (jobs) or are not running (modules). */
  private unmetNeeds(spec: JobSpec): string[] {
    const out: string[] = [];
    for (const e of this.run!.graph.depsOf(spec.name)) {
      const state = this.jobState(e.from);
      if (state !== undefined) {
        const upToDate = state === "skipped" && this.skipReasons.get(e.from) === "up-to-date";
        if (state !== "ok" && !upToDate) {
          if (e.kind !== "order") out.push(`${e.from} (${state})`);
        }
        continue;
      }
      const dep = this.modules.get(e.from);
      if (dep && dep.state !== "running" && dep.state !== "paused") {
        out.push(`${e.from} (${dep.state})`);
      }
    }
    return out;
  }

  /** Waits while a foreground module is up (or was stopped through ctl), until a signal. */
  private hold(): Promise<void> {
    if (!this.holding()) return Promise.resolve();
    return new Promise((resolve) => {
      this.releaseHold = () => {
        this.releaseHold = undefined;
        resolve();
      };
    });
  }

  /** Whether a foreground module keeps the run up. */
  private holding(): boolean {
    return (this.opts.foreground ?? []).some((name) => {
      const m = this.modules.get(name);
      return !!m && (m.live || isUp(m.state) || (m.state === "stopped" && m.stoppedByUser));
    });
  }

  /** Releases the foreground hold once nothing keeps it. */
  private checkHold(): void {
    if (this.releaseHold && !this.holding()) this.releaseHold();
  }

  /** Stops every module, each after the modules that depend on it are gone. */
  private shutdown(): Promise<void> {
    return new Promise((resolve) => {
      const step = () => {
        const live = [...this.modules.values()].filter((m) => m.live);
        if (!live.length) return resolve();
        for (const m of live) {
          const after = this.dependents.get(m.name)!;
          if (live.some((d) => after.has(d.name))) continue;
          m.stop(false).then(step);
        }
      };
      step();
    });
  }

  /** True once the run has ended (every module stopped). */
  get done(): boolean {
    return this.ended;
  }
}
