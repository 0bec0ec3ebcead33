/**
 * Job slots and pools: counted resources a job holds while it runs.
 *
 * @module
 */

/**
 * A source of job slots. The local counter is the default; the jobserver
 * implements the same interface over make's pool.
 *
 * @example
 * ```ts
 * import { LocalSlots, type Slots } from "./slots.ts";
 * const slots: Slots = new LocalSlots(4);
 * if (slots.tryTake(2)) slots.give(2);
 * ```
 */
export interface Slots {
  /** The most slots ever available at once. */
  readonly limit: number;
  /** Takes `n` slots if that many are free now. */
  tryTake(n: number): boolean;
  /** Gives `n` slots back. */
  give(n: number): void;
  /** Slots free now (as far as this process can tell). */
  readonly free: number;
  /**
   * A jobserver pool: the slots of a job that waits for them (0 or absent:
   * none); until it has them, every smaller job is refused too.
   */
  readonly waiting?: number;
  /**
   * Set by the scheduler: called when slots may have become available from
   * outside (a jobserver token written back by another process).
   */
  onAvailable?: () => void;
  /**
   * Set by the scheduler: whether a process other than the run's jobs may
   * hold tokens of a pool jx serves (a module's make): tokens missing then
   * are not lost.
   */
  othersMayHold?: () => boolean;
  /**
   * Called by the scheduler when an attempt ended and no job's process runs (a job waiting to
   * retry may hold slots): a pool jx serves puts back the tokens jobs took and never returned.
   */
  noJobRuns?(): void;
  /** A make jobserver pool: whether jx serves it or joined make's (`run.start`'s `jobserver`). */
  readonly role?: "server" | "client";
  /**
   * A make jobserver pool: a job's environment (its own fresh object) with
   * MAKEFLAGS in the form the job needs (its `jobserver:` key, its command).
   */
  jobEnv?(
    env: Record<string, string>,
    job: { name: string; argv: string[]; jobserver?: "pipe" | "fifo" | "none" },
  ): Record<string, string>;
  /**
   * A make jobserver pool: for a job of `tokens` k > 1, a pool of its own for
   * one run of it (k - 1 tokens: a make in the job runs k recipes at once,
   * within the k slots the job holds), and `env` (not changed) copied with
   * MAKEFLAGS naming that pool; undefined for a job that gets the shared pool
   * (one token, `jobserver: none`). `finish` ends the pool once the job has
   * ended. Throws when the pool cannot be made (no descriptor left).
   */
  jobPool?(
    env: Record<string, string>,
    job: { name: string; argv: string[]; jobserver?: "pipe" | "fifo" | "none"; tokens: number },
  ): JobPool | undefined;
}

/** A pool of a job's own (`Slots.jobPool`): the job's environment naming it, and its end. */
export interface JobPool {
  /** The job's environment: a copy of the one given, MAKEFLAGS naming this pool. */
  readonly env: Record<string, string>;
  /** Closes the pool and removes its fifo; a second call does nothing. */
  finish(): void;
}

/**
 * A plain counter of `limit` slots.
 *
 * @example
 * ```ts
 * import { LocalSlots } from "./slots.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const s = new LocalSlots(2);
 * assertEquals(s.tryTake(2), true);
 * assertEquals(s.tryTake(1), false);
 * s.give(2);
 * ```
 */
export class LocalSlots implements Slots {
  free: number;
  /** A counter of `limit` job slots, all free. */
  constructor(readonly limit: number) {
    this.free = limit;
  }
  tryTake(n: number): boolean {
    if (n > this.free) return false;
    this.free -= n;
    return true;
  }
  give(n: number): void {
    this.free += n;
    if (this.free > this.limit) {
      throw new Error(`slot accounting: ${this.free} free of ${this.limit}`);
    }
  }
}

/** Named pools with capacities; a job takes units of several at once or none. */
export class Pools {
  private free: Map<string, number>;
  constructor(capacity: Map<string, number>) {
    this.free = new Map(capacity);
  }
  tryTake(want: Record<string, number>): boolean {
    for (const [p, n] of Object.entries(want)) if ((this.free.get(p) ?? 0) < n) return false;
    for (const [p, n] of Object.entries(want)) this.free.set(p, this.free.get(p)! - n);
    return true;
  }
  give(want: Record<string, number>): void {
    for (const [p, n] of Object.entries(want)) this.free.set(p, this.free.get(p)! + n);
  }
}

/**
 * What a run of `selected` needs beside its job slots when they are fitted to the open-files
 * limit (reactor's `jobsWithinFds`): its modules (descriptors, no slot), its biggest `tokens`.
 *
 * @example
 * ```ts
 * import { fdNeed } from "./slots.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(fdNeed([{ kind: "job", tokens: 3 }, { kind: "module", tokens: 1 }]), { modules: 1, tokens: 3 });
 * ```
 */
export function fdNeed(
  selected: readonly { kind: string; tokens: number }[],
): { modules: number; tokens: number } {
  let modules = 0, tokens = 1;
  for (const s of selected) {
    if (s.kind === "module") modules++;
    else tokens = Math.max(tokens, s.tokens);
  }
  return { modules, tokens };
}
