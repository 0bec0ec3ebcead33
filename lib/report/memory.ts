/**
 * Keeps a long run's memory near what it holds: V8 lets its heap grow well
 * past a run's live data between full collections (a 20,000-job run peaked
 * at ~175 MiB with ~30 MB live), so this reporter looks at the resident size
 * every 256 ended jobs and, past a limit, asks for a full collection; the
 * next limit is then what the collection left plus a margin, so a run whose
 * live data grows is collected less often, never in a loop. Runs that stay
 * under the limit (2,000 trivial jobs peak at ~80 MiB) never pay for it; a
 * 20,000-job run pays ~16 collections, about 9% of its time (measured: 9.6 s
 * and 170 MiB without, 10.5-10.6 s and 95 MiB with).
 *
 * @module
 */
import { collectGarbage, residentBytes } from "../runtime/mod.ts";
import type { Reporter, RunEvent } from "../scheduler/events.ts";

const MIB = 1024 * 1024;

/** When to look and when to collect. */
export interface MemoryKeeperOptions {
  /** Resident size past which a collection is asked for (default 88 MiB). */
  limitBytes?: number;
  /** What a collection may leave before the next is due (default 12 MiB, or an eighth of what it left). */
  marginBytes?: number;
  /** Ended jobs between two looks (default 256). */
  every?: number;
}

/**
 * The reporter.
 *
 * @example
 * ```ts
 * import { MemoryKeeper } from "./memory.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const keeper = new MemoryKeeper({ limitBytes: 88 * 1024 * 1024 });
 * keeper.event({ type: "run.start", t: 0, jobs: 20000, slots: 8, jobserver: "none" });
 * // it looks only as jobs end (every 256 by default): nothing collected yet
 * assertEquals(keeper.collections, 0);
 * ```
 */
export class MemoryKeeper implements Reporter {
  /** Full collections asked for so far. */
  collections = 0;
  private limit: number;
  private readonly margin: number;
  private readonly every: number;
  private ended = 0;
  private off = false;

  /** A keeper with the given limits. */
  constructor(o: MemoryKeeperOptions = {}) {
    this.limit = o.limitBytes ?? 88 * MIB;
    this.margin = o.marginBytes ?? 12 * MIB;
    this.every = o.every ?? 256;
  }

  /** Looks every `every` job ends (what loading a big graph leaves, `jx run` collects itself). */
  event(e: RunEvent): void {
    if (this.off) return;
    if (e.type === "job.end" && ++this.ended % this.every === 0) this.look();
  }

  private look(): void {
    if (residentBytes() <= this.limit) return;
    let collected = false;
    try {
      collected = collectGarbage();
    } catch {
      // as if the runtime offered none
    }
    if (!collected) {
      this.off = true; // the runtime offers no collection: stop looking
      return;
    }
    this.collections++;
    // The margin grows with what a collection leaves, so that a run whose live data keeps
    // growing is collected at most once per eighth of its size, never at every look.
    const after = residentBytes();
    this.limit = Math.max(this.limit, after + Math.max(this.margin, after / 8));
  }
}
