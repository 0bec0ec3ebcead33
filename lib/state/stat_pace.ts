/**
 * Which way a record's many stats go faster on this machine: through an
 * io_uring ring (state/stat_ring.ts) or one `statx` call per path. Neither
 * wins everywhere, so a run measures instead of assuming: on one VM 20,000
 * stats took 36-44 ms through the ring against 50-62 one call each (Deno);
 * on another, with the same kernel version, 76-90 ms through the ring
 * against 41-50 (a Bun binary), the kernel handing each ring `statx` to a
 * worker thread (bench/RESULTS.md: what follows the section
 * "2026-12-05T16:59:16Z — incremental").
 *
 * A pace gives the ways batches in turn: one of each untimed (the ring's
 * first use starts the kernel's workers; both loops warm up), then
 * `TIMED` of each, alternating and timed; then every later batch goes the
 * way whose timed batches cost less per path. Batches are real work either
 * way: measuring costs only the slower way's share of a few batches.
 *
 * @example
 * ```ts
 * import { StatPace } from "./stat_pace.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const pace = new StatPace();
 * const ways: string[] = [];
 * for (let b = 0; b < 8; b++) {
 *   const ring = pace.viaRing();
 *   ways.push(ring ? "ring" : "calls");
 *   // the calls take half the ring's time here
 *   pace.took(ring, ring ? 2 : 1, 256);
 * }
 * assertEquals(ways, ["ring", "calls", "ring", "calls", "ring", "calls", "calls", "calls"]);
 * assertEquals(pace.chosen(), "calls");
 * ```
 *
 * @module
 */

/** Timed batches of each way before the choice. */
const TIMED = 2;

/** Batches given each way in turn, then the faster way's. */
export class StatPace {
  private batches = 0;
  private ms = [0, 0];
  private paths = [0, 0];
  private choice: "ring" | "calls" | undefined;

  /** Always one way (a test's: `fixStatWay`), no race. */
  constructor(fixed?: "ring" | "calls") {
    this.choice = fixed;
  }

  /** Whether the next batch goes through the ring. */
  viaRing(): boolean {
    if (this.choice) return this.choice === "ring";
    return this.batches % 2 === 0;
  }

  /** A batch that went `ring` (or not) took `ms` for `paths` paths. */
  took(ring: boolean, ms: number, paths: number): void {
    if (this.choice) return;
    const n = this.batches++;
    if (n < 2) return; // warming up
    const way = ring ? 0 : 1;
    this.ms[way] += ms;
    this.paths[way] += paths;
    if (n + 1 < 2 + 2 * TIMED) return;
    const perPath = (w: number) => this.ms[w] / Math.max(1, this.paths[w]);
    this.choice = perPath(0) <= perPath(1) ? "ring" : "calls";
  }

  /** The way chosen, once it is. */
  chosen(): "ring" | "calls" | undefined {
    return this.choice;
  }
}
