/**
 * The terminal status line's contents: `[3/10] 4.2s  ~12s left  running: a, b`.
 * What has finished out of what the run holds, the run's elapsed time, an
 * estimate of the time left when every job that is still to end has a
 * duration from its last success (`lastMs`; a lower bound, `12s+`, when some
 * have none), and the jobs running now. Pure: the console reporter feeds it
 * events and asks for the text, on events and on a timer.
 *
 * @module
 */
import { namesAmong } from "../runtime/lists.ts";

/**
 * The clock and timers the status line is redrawn by (a reactor has them).
 *
 * @example
 * ```ts
 * import { createPortableReactor } from "../reactor/mod.ts";
 * import type { StatusClock } from "./status.ts";
 * const reactor = createPortableReactor();
 * const clock: StatusClock = reactor;
 * clock.clearTimer(clock.setTimer(100, () => {}));
 * reactor.close();
 * ```
 */
export interface StatusClock {
  /** Milliseconds, on any fixed origin. */
  now(): number;
  /** Calls `cb` once after `ms`; returns the timer's id. */
  setTimer(ms: number, cb: () => void): number;
  /** Cancels a timer that has not fired. */
  clearTimer(id: number): void;
}

/**
 * `4.2s` below ten seconds, `42s` below a minute, then `1m02s`.
 *
 * @example
 * ```ts
 * import { elapsed } from "./status.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(elapsed(4230), "4.2s");
 * assertEquals(elapsed(62_000), "1m02s");
 * ```
 */
export function elapsed(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  if (ms < 60_000) return `${Math.floor(ms / 1000)}s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/**
 * What a run's status line shows, kept from its events.
 *
 * @example
 * ```ts
 * import { StatusBoard } from "./status.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const b = new StatusBoard(new Map([["a", 5000]]));
 * b.begin(1, 1);
 * b.start("a", 0);
 * assertEquals(b.text(1000), "[0/1]  1.0s  ~4s left  running: a");
 * // Failed, to be run again after its `retries` delay:
 * b.retry("a");
 * assertEquals(b.text(2000), "[0/1]  2.0s  ~5s left  retrying: a");
 * ```
 */
export class StatusBoard {
  /** Running jobs, with when each started (run time, ms). */
  private running = new Map<string, number>();
  /** Jobs that failed and wait to be run again (`retries` with a `delay`): not running meanwhile. */
  private retrying = new Set<string>();
  /** Jobs with a past duration that have ended or been skipped. */
  private done = new Set<string>();
  private total = 0;
  private finished = 0;
  private slots = 1;

  /** `lastMs`: each selected job's duration at its last success, where known. */
  constructor(private lastMs: ReadonlyMap<string, number> = new Map()) {}

  /** The run starts with `jobs` jobs on `slots` job slots. */
  begin(jobs: number, slots: number): void {
    this.total = jobs;
    this.slots = Math.max(1, slots);
  }

  /** A job joined the run while it ran. */
  added(): void {
    this.total++;
  }

  /** Whether there is anything to show. */
  get shown(): boolean {
    return this.total > 0;
  }

  /** A job started at run time `t`. */
  start(job: string, t: number): void {
    this.retrying.delete(job);
    this.running.set(job, t);
  }

  /** A job ended and will be run again (`retries`): it waits, not counted as running meanwhile. */
  retry(job: string): void {
    this.running.delete(job);
    this.retrying.add(job);
  }

  /** A job ended for good (not one that will be retried). */
  end(job: string): void {
    this.running.delete(job);
    this.retrying.delete(job);
    this.over(job);
  }

  /** A job was skipped (up to date, a failed dependency...). */
  skip(job: string): void {
    this.over(job);
  }

  /** A job is over: counted; remembered only with a past duration (`estimate` looks for no other). */
  private over(job: string): void {
    this.finished++;
    if (this.lastMs.has(job)) this.done.add(job);
  }

  /**
   * Many jobs skipped at once (`Reporter.skips`): counted; only those with a
   * past duration are remembered (`estimate` looks for no other).
   */
  skipMany(jobs: readonly string[]): void {
    this.finished += jobs.length;
    const timed = this.lastMs;
    const among = namesAmong(jobs, {
      size: timed.size,
      names: () => timed.keys(),
      has: (n) => timed.has(n),
    });
    for (const job of among) this.done.add(job);
  }

  /**
   * The time left at run time `t`, from past durations: what the running
   * jobs have still to go plus the jobs not started, spread over the slots
   * (never less than the longest of them); `unknown` jobs have no past
   * duration, so the figure is then only a lower bound.
   */
  estimate(t: number): { ms: number; unknown: number } {
    let sum = 0, longest = 0, known = 0, unknown = 0;
    for (const [job, since] of this.running) {
      const last = this.lastMs.get(job);
      if (last === undefined) {
        unknown++;
        continue;
      }
      const left = Math.max(0, last - (t - since));
      sum += left;
      longest = Math.max(longest, left);
    }
    for (const [job, last] of this.lastMs) {
      if (this.done.has(job) || this.running.has(job)) continue;
      known++;
      sum += last;
      longest = Math.max(longest, last);
    }
    unknown += Math.max(0, this.total - this.finished - this.running.size - known);
    return { ms: Math.max(longest, sum / this.slots), unknown };
  }

  /** The line at run time `t` (not cut to the terminal's width); `running:` only when some are. */
  text(t: number): string {
    const parts = [`[${Math.min(this.finished, this.total)}/${this.total}]`, elapsed(t)];
    const left = this.estimate(t);
    const knownAny = this.lastMs.size > 0;
    // Only for runs long enough to be worth it, and only from what is known.
    if (knownAny && left.ms >= 2000) {
      const secs = Math.ceil(left.ms / 1000);
      const time = elapsed(secs * 1000).replace(/\.0s$/, "s");
      parts.push(left.unknown ? `${time}+ left (${left.unknown} new)` : `~${time} left`);
    }
    // Nothing running (before the first start, after the last end): no empty list.
    if (this.running.size) parts.push(`running: ${[...this.running.keys()].join(", ")}`);
    if (this.retrying.size) parts.push(`retrying: ${[...this.retrying].join(", ")}`);
    return parts.join("  ");
  }
}
