/**
 * Keeps a long run's memory near what it holds: V8 lets its heap grow well
 * past a run's live data between full collections (a 20,000-job run peaked
 * at ~175 MiB with ~30 MB live), so this reporter looks at the resident size
 * every 256 ended jobs and, past a limit, asks for a full collection once
 * the JavaScript heap has grown by a margin (an eighth of what the last
 * collection left, at least 4 MiB) since the last one, or after two looks
 * past the limit (twice as many after each such collection while the size
 * stays past it; Bun's heap size stays what its last collection left until
 * the next one, so on Bun only the looks make one due: a 20,000-job run on
 * a busy host reached 115-126 MiB without them): a run whose live data grows
 * is collected less often, never in a loop. The limit stays put:
 * JavaScriptCore (Bun) keeps the pages a collection frees, so its resident
 * size hardly drops after one, and a limit raised to it would let the next
 * round of garbage take new pages (20,000 jobs on Bun peaked at ~104 MiB
 * that way). Runs that stay
 * under the limit (2,000 trivial jobs peak at ~80 MiB) never pay for it. With
 * the earlier rule (the limit raised after each collection) a 20,000-job run on
 * Deno paid ~16 collections, about 9% of its time (9.6 s and 170 MiB without,
 * 10.5-10.6 s and 95 MiB with); with this one, on a quiet machine, its peak is
 * ~97 MiB on Deno and ~91 MiB on Bun at about the same wall time
 * (bench/RESULTS.md).
 *
 * @module
 */
import { collectGarbage, heapBytes, residentBytes } from "../runtime/mod.ts";
import type { Reporter, RunEvent } from "../scheduler/events.ts";

const MIB = 1024 * 1024;

/** When to look and when to collect. */
export interface MemoryKeeperOptions {
  /** Resident size past which a collection is asked for (default 88 MiB). */
  limitBytes?: number;
  /** How much the heap may grow after a collection before the next is due (default 4 MiB, or an eighth of what it left). */
  marginBytes?: number;
  /** Ended jobs between two looks (default 256). */
  every?: number;
  /**
   * Looks past the limit after which a collection is due even when the heap
   * seems not to have grown (default 2; doubled after each such collection
   * until a look finds the size under the limit again): Bun's heap size is
   * what the last collection left until the next one, so only this bounds a
   * Bun run.
   */
  looksBetween?: number;
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
  private readonly looksBetween: number;
  private ended = 0;
  /** Looks past the limit since the last collection, and how many make one due now. */
  private looksPast = 0;
  private looksDue: number;
  private off = false;
  /** The heap size before which no new collection is due (what the last one left plus a margin). */
  private heapDue = 0;

  /** A keeper with the given limits. */
  constructor(o: MemoryKeeperOptions = {}) {
    this.limit = o.limitBytes ?? 88 * MIB;
    this.margin = o.marginBytes ?? 4 * MIB;
    this.every = o.every ?? 256;
    this.looksBetween = this.looksDue = o.looksBetween ?? 2;
  }

  /** Skips are not ends: nothing to look at. */
  skips(): void {}

  /** Looks every `every` job ends (what loading a big graph leaves, `jx run` collects itself). */
  event(e: RunEvent): void {
    if (this.off) return;
    if (e.type === "job.end" && ++this.ended % this.every === 0) this.look();
  }

  private look(): void {
    if (residentBytes() <= this.limit) {
      this.looksDue = this.looksBetween; // back under: the looks' count starts over
      return;
    }
    // Past the limit, a collection is due once the heap has grown by a margin since the last
    // one, or after a few looks (Bun's heap size does not move between collections, while its
    // resident size does), twice as many after each such one while the size stays past the
    // limit: never a collection at every look, and few when the live data alone is past it.
    const grown = (heapBytes() ?? Infinity) >= this.heapDue;
    if (!grown && ++this.looksPast < this.looksDue) return;
    if (!grown) this.looksDue *= 2;
    this.looksPast = 0;
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
    // The margin grows with what a collection leaves (an eighth of it, at least `margin`), so
    // a run whose live data keeps growing is collected at most once per eighth of its size.
    const heap = heapBytes();
    if (heap !== undefined) this.heapDue = heap + Math.max(this.margin, heap / 8);
    else {
      // No heap size: go by the resident size (a runtime that gives pages back at once).
      const after = residentBytes();
      this.limit = Math.max(this.limit, after + Math.max(this.margin, after / 8));
    }
  }
}
