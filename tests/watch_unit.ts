/**
 * Shared pieces of the `Watcher` unit tests (watch_poll_test.ts, watch_fallback_test.ts): a
 * cycle that ends ok at once, and a reactor that counts its timers' ticks (and may skew its clock).
 *
 * @module
 */
import type { JobSpec } from "../lib/graph/mod.ts";
import type { Reactor } from "../lib/reactor/mod.ts";
import type { RunResult } from "../lib/scheduler/mod.ts";

/** A cycle's result: each of `jobs` ok, at once. */
export function okCycle(jobs: JobSpec[]): Promise<RunResult> {
  return Promise.resolve({
    exit: 0,
    status: "ok",
    results: new Map(jobs.map((j) => [j.name, { status: "ok" as const }])),
    ms: 1,
  });
}

/**
 * `real` with its timers' ticks counted (`ticks()`: a poll's scans) and its clock moved on by
 * `skew()`.
 */
export function tickingReactor(
  real: Reactor,
  skew: () => number = () => 0,
): { reactor: Reactor; ticks: () => number } {
  let ticks = 0;
  const reactor = new Proxy(real, {
    get(t, k: keyof Reactor) {
      if (k === "now") return () => t.now() + skew();
      if (k === "setTimer") {
        return (ms: number, cb: () => void) => t.setTimer(ms, () => (ticks++, cb()));
      }
      const v = t[k];
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  return { reactor, ticks: () => ticks };
}
