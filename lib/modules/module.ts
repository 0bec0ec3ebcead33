/**
 * One module: its process (the leader of its own process group), its
 * readiness check, its state, the queue of messages it has not been given
 * yet, stopping (with a poison pill) and restarts with backoff.
 *
 * @module
 */
import type { JobSpec } from "../graph/mod.ts";
import { DEFAULT_GRACE_MS } from "../graph/duration.ts";
import { startArgv } from "../graph/argv.ts";
import {
  type ChildHandle,
  type ExitStatus,
  holdGroup,
  type Reactor,
  signalName,
} from "../reactor/mod.ts";
import type { JobStatus, ModuleState, RunEvent } from "../scheduler/mod.ts";
import { backoffMs, DEFAULT_MAX_RESTARTS, isFailure, STABLE_MS, wantsRestart } from "./backoff.ts";
import { GROUP_POLL_MS, groupAlive, leaderOrGroupAlive, signalGroup } from "./group.ts";
import type { Delivery, Subscriber } from "./pubsub.ts";
import { PipeBacklog } from "./backlog.ts";
import { checksOutside, ReadyProbe, servedMessage, servedProbe, servedSpec } from "./ready.ts";
import { HealthCheck } from "./health.ts";
import { dirname } from "../runtime/path.ts";
import { nodeFs } from "../runtime/mod.ts";

/** Most messages held for one module (queued while it starts or is paused). */
export const MAX_QUEUED_MESSAGES = 10_000;
/**
 * Most bytes held for one module: its queue plus what its stdin pipe has not
 * taken yet. A message past either bound is dropped (and counted).
 */
export const MAX_QUEUED_BYTES = 1024 * 1024;

const enc = new TextEncoder();

/** What a module needs from the run it belongs to. */
export interface ModuleHooks {
  reactor: Reactor;
  emit(e: RunEvent): void;
  /** Milliseconds since the run started. */
  t(): number;
  /** The environment the module starts with. */
  env(spec: JobSpec): Record<string, string>;
  /** True once the run is shutting down: exits are not restarted. */
  closing(): boolean;
  /** Called after every state change. */
  changed(m: Module): void;
}

type Extra = Omit<Extract<RunEvent, { type: "module.state" }>, "type" | "t" | "module" | "state">;

/** How a process ended, in words. */
export function describeExit(st: ExitStatus): string {
  if (st.error) return st.error;
  if (st.signal) return `killed by ${st.signal}`;
  return `exit ${st.code}`;
}

/** What a stop tells those waiting for a module to be ready (`Module.stop`). */
export type StopSettles = "cancelled" | "failed" | "keep";

/**
 * A module of a run.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { createReactor } from "../reactor/mod.ts";
 * import { Module } from "./module.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("modules:\n  m: { run: sleep 10, ready: { delay: 100ms } }\n", "j.yaml");
 * const reactor = createReactor("portable");
 * const states: string[] = [];
 * const { promise: stopped, resolve } = Promise.withResolvers<void>();
 * const m = new Module(g.get("m"), {
 *   reactor,
 *   emit: (e) => e.type === "module.state" && states.push(e.state),
 *   t: () => 0,
 *   env: () => ({ PATH: "/usr/bin:/bin" }),
 *   closing: () => false,
 *   changed: (mod) => mod.state === "stopped" && resolve(),
 * });
 * // starting, then running after 100 ms (its ready delay), then stopped
 * m.start();
 * m.onSettled(() => m.stop(false));
 * await stopped;
 * reactor.close();
 * assertEquals(states, ["starting", "running", "stopped"]);
 * ```
 */
export class Module implements Subscriber {
  /** The current state. */
  state: ModuleState = "idle";
  /** The process id while it has a process, else 0. */
  pid = 0;
  /** Processes started so far. */
  attempt = 0;
  /** Restarts in a row (reset by a start from outside, and by staying up `STABLE_MS`). */
  restarts = 0;
  /** Why it last failed. */
  reason?: string;
  /** Stopped through `jx ctl stop` (a foreground run keeps waiting for it). */
  stoppedByUser = false;
  private handle?: ChildHandle;
  private alive = false;
  private probe?: ReadyProbe;
  private queue: string[] = [];
  private queueBytes = 0;
  /** The messages written to its stdin that the pipe has not wholly taken (held by jx). */
  private piped = new PipeBacklog();
  /** Messages dropped so far: its queue was full, it was not up, or it closed its stdin. */
  dropped = 0;
  /** The process group followed after its leader exited (a daemon), else 0. */
  private group = 0;
  /** Takes the followed group off the watchdog's list (reactor/watchdog.ts). */
  private unhold?: () => void;
  private groupTimer?: number;
  private stopping?: Promise<void>;
  /** What a stop tells those waiting for it to be ready (see `stop`). */
  private stopSettles: StopSettles = "cancelled";
  private failedReadiness = false;
  private restartTimer?: number;
  /** The probe of its readiness port before a start (`spawn`): its process waits for it. */
  private served?: ReadyProbe;
  private graceTimer?: number;
  private killTimer?: number;
  private stableTimer?: number;
  private readyWaiters: ((status: JobStatus) => void)[] = [];
  /** The liveness check while it runs (`health:`). */
  private health?: HealthCheck;
  /** Why its health check failed: its process is being ended, and that counts as a failure. */
  private unhealthy?: string;
  /** The open `log:` file, else undefined. */
  private logFd?: number;
  private goneWaiters: (() => void)[] = [];
  /** Stopped with jx (Ctrl-Z, `suspend`), to be continued with it. */
  private held = false;

  /** A module of `spec`, idle until `start()`. */
  constructor(readonly spec: JobSpec, private h: ModuleHooks) {}

  /** The module's name. */
  get name(): string {
    return this.spec.name;
  }

  /** Messages jx holds for it: queued while starting or paused, or written while its pipe is full. */
  get queued(): number {
    return this.queue.length + this.inPipe();
  }

  /** Messages written to its stdin that the pipe has not wholly taken yet. */
  private inPipe(): number {
    if (this.stdinClosed) {
      this.noteLost();
      return 0;
    }
    return this.piped.count(this.handle?.stdinPending?.() ?? 0);
  }

  /**
   * Counts as dropped the messages jx still held for the pipe (wholly or in part) when the
   * process closed its stdin or exited: they never reached it. Once (the count is then empty).
   */
  private noteLost(): void {
    const lost = this.handle?.stdinLost?.() ?? 0;
    if (lost > 0) this.dropped += this.piped.count(lost);
    this.piped.clear();
  }

  /** Writes a message line to its stdin (held by jx while the pipe is full). */
  private writeLine(line: string, bytes = enc.encode(line).length): void {
    if (!this.handle?.write) return;
    this.handle.write(line);
    this.piped.add(bytes);
  }

  /** Whether its process is known to have closed its stdin (nothing written reaches it). */
  private get stdinClosed(): boolean {
    return this.handle?.stdinOpen?.() === false;
  }

  /** True while it has a process, or will have one (after a backoff, or the probe before a start). */
  get live(): boolean {
    return this.alive || this.pending;
  }

  /** True while a start is on its way: a restart's backoff, or the probe before a start. */
  private get pending(): boolean {
    return this.restartTimer !== undefined || this.served !== undefined;
  }

  /** Drops the start on its way, if any. */
  private cancelPending(): void {
    if (this.restartTimer !== undefined) this.h.reactor.clearTimer(this.restartTimer);
    this.restartTimer = undefined;
    this.served?.cancel();
    this.served = undefined;
  }

  /** True while it runs (or is paused) and stays so: jx is not ending its process. */
  get upNow(): boolean {
    return (this.state === "running" || this.state === "paused") && !this.stopping &&
      !this.unhealthy;
  }

  /** True while jx is ending its process (a stop, a failed readiness or health check). */
  get terminating(): boolean {
    return !!this.stopping || this.failedReadiness || !!this.unhealthy;
  }

  /** Starts it (from idle, stopped or failed, with no process left), its restart count reset. */
  start(): void {
    if (this.alive || this.served) {
      throw new Error(`module ${this.name} has a process, or one on its way`);
    }
    this.restarts = 0;
    this.stoppedByUser = false;
    this.spawn();
  }

  /** Fails it without a process: a module it needs is not there (`reason` says why). */
  refuse(reason: string): void {
    this.reason = reason;
    this.takeQueue();
    this.set("failed", { reason });
    this.settle("failed");
  }

  /**
   * Calls `cb` once the current start is settled: `ok` when running (or
   * paused), `failed` when it never became ready, `cancelled` when stopped
   * first. Deferred: never called during this call.
   */
  onSettled(cb: (status: JobStatus) => void): void {
    const now = this.settledStatus();
    if (now) queueMicrotask(() => cb(now));
    else this.readyWaiters.push(cb);
  }

  /** Resolves once it has no process and no restart is pending. */
  whenGone(): Promise<void> {
    if (!this.live) return Promise.resolve();
    return new Promise((r) => this.goneWaiters.push(r));
  }

  /**
   * Receives a message line: written now when running (`delivered`, or
   * `queued` while the pipe is full), queued while starting or paused;
   * `dropped` past the bounds, or when it is not up to take messages;
   * `closed` when its process closed its stdin (found by this write, or before).
   */
  deliver(line: string): Delivery {
    if (this.terminating) return this.drop();
    if (this.stdinClosed) {
      this.noteLost();
      return this.drop("closed");
    }
    const bytes = enc.encode(line).length;
    if (this.state === "running" && this.handle?.write) {
      const held = this.handle.stdinPending?.() ?? 0;
      if (held + this.queueBytes + bytes > MAX_QUEUED_BYTES) return this.drop();
      this.writeLine(line, bytes);
      if (this.stdinClosed) {
        // EPIPE: this message and any held before it are lost (`noteLost` counts them).
        this.noteLost();
        return "closed";
      }
      return this.inPipe() > 0 ? "queued" : "delivered";
    }
    // Starting or paused with no process of its own (a daemon's group followed, its leader gone):
    // no stdin to take it later.
    const later = (this.state === "starting" || this.state === "paused") && !!this.handle;
    if (later || this.pending) {
      const held = this.handle?.stdinPending?.() ?? 0;
      if (
        this.queue.length >= MAX_QUEUED_MESSAGES ||
        held + this.queueBytes + bytes > MAX_QUEUED_BYTES
      ) return this.drop();
      this.queue.push(line);
      this.queueBytes += bytes;
      return "queued";
    }
    return this.drop();
  }

  private drop(how: "dropped" | "closed" = "dropped"): Delivery {
    this.dropped++;
    return how;
  }

  /** Empties the queue (written, or discarded). */
  private takeQueue(): string[] {
    const lines = this.queue;
    this.queue = [];
    this.queueBytes = 0;
    return lines;
  }

  /** A signal to its process group, through its handle or, once the leader is gone, directly. */
  private signal(sig: string): void {
    if (this.handle) this.handle.kill(sig);
    else if (this.group) signalGroup(this.group, sig);
  }

  /** SIGSTOP to its process group; messages are queued until `resume`. */
  pause(): void {
    this.health?.cancel();
    this.signal("SIGSTOP");
    this.set("paused");
  }

  /**
   * Ctrl-Z: SIGSTOP to its process group (`true`) while jx is stopped, and
   * SIGCONT (`false`) once jx goes on; its state stays what it was. A module
   * paused (`pause`) is left alone, and stays paused.
   */
  suspend(stopped: boolean): void {
    if (stopped && this.state !== "paused" && (this.handle || this.group)) {
      this.held = true;
      this.signal("SIGSTOP");
    } else if (!stopped && this.held) {
      this.held = false;
      this.signal("SIGCONT");
    }
  }

  /** SIGCONT to its process group, then the queued messages, in order. */
  resume(): void {
    this.signal("SIGCONT");
    this.set("running");
    this.flush();
    this.health?.start();
  }

  /**
   * Stops it; resolves when its process is gone. Queued messages are
   * discarded, unless `drain` (a poison pill): then they are written, its
   * stdin is closed, and it has its grace period to exit by itself before
   * the stop signal. Those waiting for it to be ready are told `settles`:
   * `cancelled` (the run stops), `failed` (a user's stop: what needs it
   * cannot run), or nothing yet (`keep`: a restart, its next start tells).
   */
  stop(drain: boolean, settles: StopSettles = "cancelled"): Promise<void> {
    this.stopSettles = settles;
    if (this.pending) {
      this.cancelPending();
      this.takeQueue();
      this.set("stopped");
      this.settleStop();
      this.gone();
      return Promise.resolve();
    }
    if (!this.alive) return Promise.resolve();
    this.health?.cancel();
    if (this.stopping) return this.stopping;
    if (this.failedReadiness) return this.whenGone();
    this.stopping = this.whenGone();
    this.probe?.cancel();
    this.probe = undefined;
    const grace = this.spec.stop?.graceMs ?? DEFAULT_GRACE_MS;
    if (drain && this.spec.subscribe?.length) {
      if (this.state === "paused") {
        this.signal("SIGCONT");
        this.set("running");
      }
      for (const line of this.takeQueue()) this.writeLine(line);
      this.handle?.closeStdin?.();
      this.graceTimer = this.h.reactor.setTimer(grace, () => {
        this.graceTimer = undefined;
        this.terminate();
      });
    } else {
      this.takeQueue();
      this.terminate();
    }
    return this.stopping;
  }

  /** SIGKILL to its process group now; no restart. */
  kill(): void {
    if (this.pending) void this.stop(false);
    if (!this.alive) return;
    this.stopping ??= this.whenGone();
    this.signal("SIGKILL");
    if (this.state === "paused") this.signal("SIGCONT");
  }

  /** The stop signal, SIGCONT if paused (a stopped process cannot act on it), SIGKILL after the grace. */
  private terminate(): void {
    const sig = signalName(this.spec.stop?.signal ?? "TERM")!;
    this.signal(sig);
    if (this.state === "paused") this.signal("SIGCONT");
    if (this.killTimer === undefined) {
      const grace = this.spec.stop?.graceMs ?? DEFAULT_GRACE_MS;
      this.killTimer = this.h.reactor.setTimer(grace, () => {
        this.killTimer = undefined;
        this.signal("SIGKILL");
      });
    }
  }

  private settledStatus(): JobStatus | undefined {
    if (this.state === "running" || this.state === "paused") return "ok";
    if (this.state === "starting" || this.pending) return undefined;
    if (this.state === "idle") return undefined;
    return this.state === "failed" ? "failed" : "cancelled";
  }

  /** Tells those waiting for it to be ready what the stop means for them (see `stop`). */
  private settleStop(): void {
    if (this.stopSettles !== "keep") this.settle(this.stopSettles);
    this.stopSettles = "cancelled";
  }

  private settle(status: JobStatus): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) queueMicrotask(() => w(status));
  }

  private gone(): void {
    if (this.live) return;
    const waiters = this.goneWaiters;
    this.goneWaiters = [];
    for (const w of waiters) w();
  }

  private set(state: ModuleState, extra: Extra = {}): void {
    this.state = state;
    this.h.emit({ type: "module.state", t: this.h.t(), module: this.name, state, ...extra });
    this.h.changed(this);
  }

  private flush(): void {
    const lines = this.takeQueue();
    let i = 0;
    while (i < lines.length && this.handle && !this.stdinClosed) this.writeLine(lines[i++]);
    // Dropped: those after its process closed its stdin, or left (a daemon: its group goes on
    // without one); the write that found it closed, with what was held before it: `noteLost`.
    this.dropped += lines.length - i;
    if (this.stdinClosed) this.noteLost();
  }

  /**
   * Starts it: `starting` until its readiness check passes. A check that
   * another process could pass (`servedProbe`: a port of this machine) is
   * probed once first; when it answers, the module fails without a process.
   */
  private spawn(): void {
    this.cancelPending();
    this.failedReadiness = false;
    this.stopping = undefined;
    this.reason = undefined;
    this.unhealthy = undefined;
    this.state = "starting";
    // The fake reactor's processes listen on no port.
    const served = this.h.reactor.name === "fake" ? undefined : servedProbe(this.spec.ready);
    if (!served) return this.launch();
    const ctx = { reactor: this.h.reactor, cwd: this.spec.cwd, env: {} };
    const probe = new ReadyProbe(servedSpec(served), ctx, (answered) => {
      if (this.served !== probe) return;
      this.served = undefined;
      if (!answered) return this.launch();
      this.refuse(servedMessage(served, this.name));
      this.gone();
    }, true);
    this.served = probe;
    probe.start();
  }

  /** Starts its process, the leader of a new process group. */
  private launch(): void {
    const spec = this.spec;
    this.attempt++;
    this.alive = true;
    const attempt = this.attempt;
    const env = { ...this.h.env(spec), JX_MODULE: spec.name };
    let started = false;
    this.health = spec.health &&
      new HealthCheck(
        spec.health,
        { reactor: this.h.reactor, cwd: spec.cwd, env },
        (why) => this.unhealthyNow(why),
      );
    this.openLog();
    const probe = new ReadyProbe(
      spec.ready,
      { reactor: this.h.reactor, cwd: spec.cwd, env },
      (ok, why) => this.readyResult(probe, ok, why),
    );
    this.probe = probe;
    this.handle = this.h.reactor.spawn({
      argv: startArgv(spec),
      cwd: spec.cwd,
      env,
      stdin: spec.subscribe?.length ? "pipe" : "null",
      onStart: (pid) => {
        started = true;
        this.pid = pid;
        this.set("starting", { pid, attempt });
        // After spawn() returned (its handle set), before any exit can be seen.
        queueMicrotask(() => {
          if (this.probe === probe) probe.start();
        });
      },
      onOutput: (stream, chunk) => {
        this.h.emit({ type: "job.output", t: this.h.t(), job: spec.name, stream, chunk });
        if (this.logFd !== undefined) this.writeLog(chunk);
        if (this.probe === probe) probe.feed(stream, chunk);
      },
      onExit: (st) => {
        if (!started) this.set("starting", { pid: 0, attempt });
        this.exited(st);
      },
    });
  }

  private readyResult(probe: ReadyProbe, ok: boolean, why?: string): void {
    if (this.probe !== probe) return;
    this.probe = undefined;
    if (this.state !== "starting" || this.stopping) return;
    // A check of something outside it (a port, a command) passed once its
    // processes are gone (their end not yet seen) is another process's
    // answer: the end, on its way, says how it went.
    if (ok && checksOutside(this.spec.ready) && !this.processesLive()) return;
    if (ok) {
      this.set("running");
      this.flush();
      this.settle("ok");
      this.health?.start();
      this.stableTimer = this.h.reactor.setTimer(STABLE_MS, () => {
        this.stableTimer = undefined;
        this.restarts = 0;
      });
      return;
    }
    this.failedReadiness = true;
    this.reason = why;
    this.takeQueue();
    this.set("failed", { reason: why });
    this.settle("failed");
    this.terminate();
  }

  /** Whether its leader or a process of its group lives (the fake reactor's pids are not processes). */
  private processesLive(): boolean {
    return this.h.reactor.name === "fake" || leaderOrGroupAlive(this.pid);
  }

  /** Its health check failed `failures` times in a row: end its process; the exit is a failure. */
  private unhealthyNow(why: string): void {
    if (this.state !== "running" || this.stopping || this.unhealthy) return;
    this.unhealthy = why;
    this.reason = why;
    this.terminate();
  }

  /** Opens its `log:` file for appending (a line says so when it cannot). */
  private openLog(): void {
    const path = this.spec.log;
    if (path === undefined || this.logFd !== undefined) return;
    try {
      // node:fs (on Deno its compatibility set up then): a log may be any file, /dev/stderr too.
      nodeFs().mkdirSync(dirname(path), { recursive: true });
      this.logFd = nodeFs().openSync(path, "a");
    } catch (e) {
      const chunk = enc.encode(`jx: warning: cannot open log ${path}: ${(e as Error).message}\n`);
      this.h.emit({ type: "job.output", t: this.h.t(), job: this.name, stream: "stderr", chunk });
    }
  }

  private writeLog(chunk: Uint8Array): void {
    try {
      const fs = nodeFs();
      for (let off = 0; off < chunk.length;) off += fs.writeSync(this.logFd!, chunk, off);
    } catch {
      this.closeLog(); // a full disk: the output is still shown
    }
  }

  private closeLog(): void {
    if (this.logFd === undefined) return;
    try {
      nodeFs().closeSync(this.logFd);
    } catch { /* already closed */ }
    this.logFd = undefined;
  }

  /** The leader exited: follow its group while a process of it lives, else it ended. */
  private exited(st: ExitStatus): void {
    this.noteLost();
    this.handle = undefined;
    if (!this.followGroup(st)) this.ended(st);
  }

  /**
   * Whether the leader's group outlives it, and is followed: a daemon (the
   * leader exited 0, its fork runs on) stays in its state, and members left
   * by a stop still get the stop's SIGKILL; the module ends once the group is
   * empty. The members of a leader that failed are killed with it.
   */
  private followGroup(st: ExitStatus): boolean {
    const pgid = this.pid;
    if (!pgid || this.h.reactor.name === "fake" || !groupAlive(pgid)) return false;
    const clean = st.code === 0 && !st.signal && !st.error;
    if (!clean && !this.stopping && !this.failedReadiness) {
      signalGroup(pgid, "SIGKILL");
      return false;
    }
    this.group = pgid;
    // Its leader's end took it off the watchdog's list: the group is listed again while followed.
    this.unhold = holdGroup(this.h.reactor, pgid);
    const check = () => {
      this.groupTimer = undefined;
      if (groupAlive(pgid)) {
        this.groupTimer = this.h.reactor.setTimer(GROUP_POLL_MS, check);
        return;
      }
      this.group = 0;
      this.ended(st);
    };
    this.groupTimer = this.h.reactor.setTimer(GROUP_POLL_MS, check);
    return true;
  }

  /** Its process (and group) ended: what it becomes: stopped, restarting, failed. */
  private ended(st: ExitStatus): void {
    this.forgetProcess();
    const how = this.unhealthy ?? describeExit(st);
    const ended = { exit: st.code, signal: st.signal };
    // Ended by jx for failing its health check: a failure, whatever its exit status.
    if (this.unhealthy && !isFailure(st)) st = { ...st, code: 1 };
    if (this.stopping) {
      this.takeQueue();
      this.set("stopped", ended);
      this.settleStop();
    } else if (this.failedReadiness) {
      // Already `failed`: its readiness check gave up and jx ended it. Its process is gone
      // now, which the run waits for (a foreground hold: it may end now).
      this.h.changed(this);
    } else if (!this.h.closing() && wantsRestart(this.spec, st, this.restarts)) {
      this.restarts++;
      const wait = backoffMs(this.restarts);
      this.restartTimer = this.h.reactor.setTimer(wait, () => this.spawn());
      this.set(isFailure(st) ? "failed" : "stopped", {
        ...ended,
        reason: how,
        restarting: true,
        backoff_ms: wait,
      });
    } else {
      this.endedForGood(st, how, ended);
    }
    this.gone();
  }

  /** Drops what belonged to the process that ended: its handle, checks, log and timers. */
  private forgetProcess(): void {
    this.alive = false;
    this.noteLost();
    this.handle = undefined;
    this.group = 0;
    this.unhold?.();
    this.unhold = undefined;
    this.pid = 0;
    this.probe?.cancel();
    this.probe = undefined;
    this.health?.cancel();
    this.health = undefined;
    this.closeLog();
    for (const t of [this.graceTimer, this.killTimer, this.stableTimer, this.groupTimer]) {
      if (t !== undefined) this.h.reactor.clearTimer(t);
    }
    this.graceTimer =
      this.killTimer =
      this.stableTimer =
      this.groupTimer =
        undefined;
  }

  /** Ended, not to be restarted: failed (or ended before it was ready), or stopped by itself. */
  private endedForGood(
    st: ExitStatus,
    how: string,
    ended: { exit: number | null; signal: string | null },
  ): void {
    const wasStarting = this.state === "starting";
    const policy = this.spec.restart ?? "no";
    const max = this.spec.maxRestarts ?? DEFAULT_MAX_RESTARTS;
    let reason = wasStarting && !isFailure(st) ? `exited before it was ready (${how})` : how;
    if (policy !== "no" && this.restarts >= max && !this.h.closing()) {
      reason += `; gave up after ${max} restart${max === 1 ? "" : "s"}`;
    }
    this.takeQueue();
    if (isFailure(st) || wasStarting) {
      this.reason = reason;
      this.set("failed", { ...ended, reason });
      this.settle("failed");
    } else {
      // It ended by itself, not stopped by jx or a user: the reason says how.
      this.set("stopped", { ...ended, reason });
      this.settle("cancelled");
    }
  }
}
