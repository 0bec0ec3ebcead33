/**
 * Attempts in flight on a runner: what `jx run`'s builder and `jx sh`'s
 * script runner share. Each attempt has a handle, a timeout and a grace
 * period between SIGTERM and SIGKILL; it leaves the set (its timers
 * cleared) before its end is reported. Also the stop signals both listen
 * for.
 *
 * @module
 */
import type { ListenSignal, Reactor } from "../reactor/types.ts";
import type { RunHandle, Runner, RunRequest, RunSink } from "./runner.ts";

interface Live {
  handle: RunHandle;
  graceMs: number;
  timeoutTimer?: number;
  killTimer?: number;
  /** A retry's delay, not a process. */
  wait?: true;
}

/**
 * How long an attempt may take, and its grace after SIGTERM.
 *
 * @example
 * ```ts
 * import type { AttemptLimits } from "./attempts.ts";
 * const limits: AttemptLimits = { timeoutMs: 30_000, graceMs: 5_000, onTimeout: () => {} };
 * ```
 */
export interface AttemptLimits {
  /** SIGTERM this long after the attempt has started (then SIGKILL after the grace); none when absent. */
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL. */
  graceMs: number;
  /** Called when the timeout fires, before the SIGTERM. */
  onTimeout?: () => void;
}

/**
 * The attempts of one run, by key (a job's name, a script job's id).
 *
 * @example
 * ```ts
 * import { FakeReactor } from "../reactor/mod.ts";
 * import { Attempts } from "./attempts.ts";
 * import { DryRunRunner } from "./local_runner.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const reactor = new FakeReactor(() => ({ ms: 1 }));
 * const attempts = new Attempts(reactor, new DryRunRunner(1));
 * assertEquals(attempts.size, 0);
 * ```
 */
export class Attempts {
  private live = new Map<string | number, Live>();
  /** How many of `live` are waits (a retry's delay), not processes. */
  private waits = 0;
  /** Whether the attempts' process groups are stopped (`suspend(true)`). */
  private stopped = false;

  /** Attempts of `runner`, timed on `reactor`. */
  constructor(private reactor: Reactor, private runner: Runner) {}

  /** Attempts in flight. */
  get size(): number {
    return this.live.size;
  }

  /** Attempts whose process runs (not a retry's wait). */
  get running(): number {
    return this.live.size - this.waits;
  }

  /** Starts an attempt; its end reaches `sink` once it has left the set. */
  start(key: string | number, req: RunRequest, sink: RunSink, limits: AttemptLimits): void {
    // A signal sent while the runner starts it (a stop from a `job.start` reporter, which the
    // runner calls before it returns the handle) is kept and sent once the handle is there.
    const early: string[] = [];
    const a: Live = { handle: { signal: (sig) => void early.push(sig) }, graceMs: limits.graceMs };
    this.live.set(key, a);
    let handle: RunHandle;
    try {
      handle = this.start1(key, a, req, sink, limits);
    } catch (error) {
      // A runner that threw started nothing: no attempt is left in flight.
      if (this.live.get(key) === a) this.live.delete(key);
      throw error;
    }
    a.handle = handle;
    for (const sig of early) if (this.live.get(key) === a) handle.signal(sig);
    // Started while the run is suspended (or stopped from within its own `job.start`, before
    // its handle was there): it is stopped as the others are, not left running.
    if (this.stopped && this.live.get(key) === a) handle.suspend?.(true);
  }

  /** Whether an attempt (or a retry's wait) is in flight under `key`. */
  has(key: string | number): boolean {
    return this.live.has(key);
  }

  /** The runner's start of an attempt, its callbacks kept to `a`. */
  private start1(
    key: string | number,
    a: Live,
    req: RunRequest,
    sink: RunSink,
    limits: AttemptLimits,
  ): RunHandle {
    return this.runner.start(req, {
      started: (pid, where) => {
        // The timeout counts the job's own run: not a wait for a cluster's allocation or launch.
        if (limits.timeoutMs !== undefined && a.timeoutTimer === undefined) {
          a.timeoutTimer = this.reactor.setTimer(limits.timeoutMs, () => {
            limits.onTimeout?.();
            this.terminate(key, "SIGTERM");
          });
        }
        sink.started(pid, where);
      },
      output: (stream, chunk) => sink.output(stream, chunk),
      ended: (end) => {
        if (a.timeoutTimer !== undefined) this.reactor.clearTimer(a.timeoutTimer);
        if (a.killTimer !== undefined) this.reactor.clearTimer(a.killTimer);
        this.live.delete(key);
        sink.ended(end);
      },
    });
  }

  /**
   * A wait of `ms` under `key` (a retry's delay), then `then`. It counts as
   * an attempt in flight: a stop signal (`terminate`, `terminateAll`)
   * cancels it and calls `cancelled` instead.
   */
  wait(key: string | number, ms: number, then: () => void, cancelled: () => void): void {
    const leave = () => {
      if (this.live.get(key) !== a) return false;
      this.live.delete(key);
      this.waits--;
      return true;
    };
    const a: Live = {
      graceMs: 0,
      wait: true,
      handle: {
        signal: () => {
          if (!leave()) return;
          this.reactor.clearTimer(a.timeoutTimer!);
          cancelled();
        },
      },
    };
    this.live.set(key, a);
    this.waits++;
    a.timeoutTimer = this.reactor.setTimer(ms, () => leave() && then());
  }

  /** Sends `sig` to one attempt, nothing else. */
  signal(key: string | number, sig: string): void {
    this.live.get(key)?.handle.signal(sig);
  }

  /** Sends `sig`, then SIGKILL after the attempt's grace unless it ends first. */
  terminate(key: string | number, sig: string): void {
    const a = this.live.get(key);
    if (!a) return;
    a.handle.signal(sig);
    if (this.live.get(key) !== a) return; // a wait, cancelled
    // A stopped process group holds the signal until continued: it ended only by the SIGKILL
    // after its grace, never heard its SIGTERM (a shell's `kill` continues a stopped job too).
    if (this.stopped) a.handle.suspend?.(false);
    if (a.killTimer === undefined) {
      a.killTimer = this.reactor.setTimer(a.graceMs, () => a.handle.signal("SIGKILL"));
    }
  }

  /** Cancels every retry's delay (each calls its `cancelled`); processes are left alone. */
  cancelWaits(): void {
    for (const [key, a] of [...this.live]) if (a.wait) this.signal(key, "SIGTERM");
  }

  /** `terminate` for every attempt, but the one under `spare` when given (left to end). */
  terminateAll(sig: string, spare?: string | number): void {
    for (const key of [...this.live.keys()]) if (key !== spare) this.terminate(key, sig);
  }

  /**
   * Stops (`true`) or continues (`false`) every attempt's process group, as
   * jx stops itself (Ctrl-Z) and is continued; a retry's delay is a timer,
   * which the reactor holds while jx is stopped.
   */
  suspend(stopped: boolean): void {
    this.stopped = stopped;
    for (const a of this.live.values()) if (!a.wait) a.handle.suspend?.(stopped);
  }

  /** Cancels every timer (the run is over; what is still running is left alone). */
  close(): void {
    for (const a of this.live.values()) {
      if (a.timeoutTimer !== undefined) this.reactor.clearTimer(a.timeoutTimer);
      if (a.killTimer !== undefined) this.reactor.clearTimer(a.killTimer);
    }
  }

  /** SIGKILL to every attempt now (a second signal). */
  killAll(): void {
    for (const a of this.live.values()) a.handle.signal("SIGKILL");
  }
}

/**
 * The wait before rerun `rerun` (1 for the first) of a job with
 * `retries: {delay, backoff, max_delay}`: `delay * backoff^(rerun-1)`, at
 * most `max_delay`; 0 without a delay.
 *
 * @example
 * ```ts
 * import { retryDelayMs } from "./attempts.ts";
 * import { deepStrictEqual } from "node:assert";
 * const d = { delayMs: 1000, backoff: 2, maxMs: 5000 };
 * deepStrictEqual([1, 2, 3, 4].map((n) => retryDelayMs(d, n)), [1000, 2000, 4000, 5000]);
 * ```
 */
export function retryDelayMs(
  d: { delayMs: number; backoff: number; maxMs: number } | undefined,
  rerun: number,
): number {
  if (!d) return 0;
  return Math.min(d.maxMs, d.delayMs * d.backoff ** (rerun - 1));
}

/**
 * Listens for SIGINT, SIGTERM and SIGHUP; `cb` learns whether one came
 * before. Returns the function that stops listening.
 *
 * @example
 * ```ts
 * import { createPortableReactor } from "../reactor/mod.ts";
 * import { onStopSignals } from "./attempts.ts";
 * const stop = onStopSignals(createPortableReactor(), (sig, again) => console.log(sig, again));
 * stop();
 * ```
 */
export function onStopSignals(
  reactor: Reactor,
  cb: (sig: ListenSignal, again: boolean) => void,
): () => void {
  let seen = false;
  const off = (["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as ListenSignal[]).map((sig) =>
    reactor.onSignal(sig, () => {
      const again = seen;
      seen = true;
      cb(sig, again);
    })
  );
  return () => {
    for (const u of off) u();
  };
}

/**
 * What stops with jx on a Ctrl-Z and goes on with it after `fg` or `bg`:
 * `suspend(true)` before jx stops itself, `suspend(false)` once continued.
 *
 * @example
 * ```ts
 * import type { Suspendable } from "./attempts.ts";
 * const part: Suspendable = { suspend: (stopped) => console.log(stopped ? "stop" : "go on") };
 * ```
 */
export interface Suspendable {
  /** Stops (`true`) or continues (`false`) its processes. */
  suspend(stopped: boolean): void;
}

/**
 * Listens for SIGTSTP (a terminal's Ctrl-Z, `kill -TSTP`): what `parts`
 * gives is stopped (each in order), then jx stops itself; once continued
 * (SIGCONT: `fg`, `bg`), the parts are continued in reverse order. Jobs run
 * in process groups of their own, which the terminal's SIGTSTP never
 * reaches: they get SIGSTOP from jx (SIGTSTP sent to an orphaned process
 * group, which theirs are, is discarded by the kernel). While a spawn is
 * under way (`Reactor.afterSpawns`), all this waits for it to return.
 * Returns the function that stops listening.
 *
 * @example
 * ```ts
 * import { createPortableReactor } from "../reactor/mod.ts";
 * import { onSuspend } from "./attempts.ts";
 * const stop = onSuspend(createPortableReactor(), () => []);
 * stop();
 * ```
 */
export function onSuspend(reactor: Reactor, parts: () => Suspendable[]): () => void {
  let asked = false;
  const suspend = () => {
    asked = false;
    const now = parts();
    for (const p of now) p.suspend(true);
    reactor.stopSelf();
    for (const p of now.reverse()) p.suspend(false);
  };
  return reactor.onSignal("SIGTSTP", () => {
    if (asked) return;
    asked = true;
    // A child whose spawn is under way runs before jx can stop it: jx waits for its pid.
    if (reactor.afterSpawns) reactor.afterSpawns(suspend);
    else suspend();
  });
}
