/**
 * What a child's `ru_maxrss` (from `wait4`) may be reported as. posix_spawn
 * uses vfork: the child runs in jx's memory until it execs, and the kernel
 * then folds that memory's peak (jx's `VmHWM`) into the child's figure. So
 * `ru_maxrss` is max(jx's peak at the spawn, the child's own peak): exact
 * when it is above jx's peak now, unknown (and not reported) otherwise.
 *
 * jx's own peak is `VmHWM` from /proc/self/status, not getrusage: jx's own
 * `ru_maxrss` holds its parent's size at the fork that started jx, for the
 * same reason. It only grows, so it is read again only when a child's
 * figure might be above it.
 *
 * @module
 */
import { readTextSync } from "../runtime/mod.ts";

const HWM = /VmHWM:\s*(\d+)/;

/**
 * jx's peak resident size (KiB) now, or undefined when it cannot be read.
 *
 * @example
 * ```ts
 * import { ownPeakKb } from "./peak_rss.ts";
 * const kb = ownPeakKb();
 * if (kb !== undefined && !(kb > 0)) throw new Error("VmHWM");
 * ```
 */
export function ownPeakKb(): number | undefined {
  try {
    const m = HWM.exec(readTextSync("/proc/self/status"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Decides, child by child, whether a `ru_maxrss` is the child's own peak.
 *
 * @example
 * ```ts
 * import { PeakRss } from "./peak_rss.ts";
 * const peaks = new PeakRss();
 * if (peaks.childPeakKb(1) !== undefined) throw new Error("1 KiB is below jx's own peak");
 * ```
 */
export class PeakRss {
  private ownPeak = 0;

  /** Reads jx's peak through `readOwn` (injectable for tests). */
  constructor(private readonly readOwn: () => number | undefined = ownPeakKb) {}

  /** `maxRssKb` when it is above jx's peak (the child's own figure), else undefined. */
  childPeakKb(maxRssKb: number): number | undefined {
    if (maxRssKb <= this.ownPeak) return undefined;
    const now = this.readOwn();
    if (now === undefined) return undefined;
    this.ownPeak = now;
    return maxRssKb > now ? maxRssKb : undefined;
  }
}
