/**
 * Room for the descriptors of many jobs at once. A running job holds three
 * or four of jx's descriptors (its output pipes' read ends, their write ends
 * while the spawn is in flight, its pidfd; more with a pool of its own), so
 * `-j 400` needs some 1,600 where the usual limit (`ulimit -n`) is 1,024:
 * past it, jobs failed to start ("Too many open files"). Deno and Bun raise
 * their soft limit to the hard one at start; what the hard limit does not
 * allow, `jobsWithinFds` takes off `-j` (with a warning), so that jobs wait
 * for a slot instead of failing. A run of `FEW` slots or fewer never asks
 * (nor loads the libc call).
 *
 * @module
 */
import { deno, ffiPermitted, isBun } from "../runtime/mod.ts";
import { dlopenBun } from "./libc_bun.ts";

/** Slots up to which a run never looks at the limit. */
const FEW = 64;
/**
 * Slots past which it does not either: not a number of jobs to run at once, but one a pool of
 * slots refuses (more than a fifo holds, exit 2) or a counter takes as "no limit".
 */
const MANY = 2 ** 20;
/** `RLIMIT_NOFILE` on Linux. */
const RLIMIT_NOFILE = 7;
/** Descriptors per slot, and those kept for jx's own (pools, sockets, files, the web page). */
const PER_SLOT = 4, OWN = 128;

const SYMBOLS = { getrlimit: { parameters: ["i32", "buffer"], result: "i32" } } as const;

/**
 * How many of `slots` jobs can run at once within the limit on open
 * descriptors: `slots` when they all can (or when the limit cannot be read:
 * no FFI, not Linux), else fewer, and `warn` is told once.
 *
 * @example
 * ```ts
 * import { jobsWithinFds } from "./fd_limit.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(jobsWithinFds(8, console.warn), 8); // few slots: never asks
 * ```
 */
export function jobsWithinFds(slots: number, warn: (w: string) => void): number {
  if (slots <= FEW || slots > MANY || !ffiPermitted()) return slots;
  const soft = softLimit();
  if (soft === undefined || slots * PER_SLOT + OWN <= soft) return slots;
  const fit = Math.max(FEW, Math.floor((soft - OWN) / PER_SLOT));
  if (fit >= slots) return slots;
  warn(
    `-j${slots}: at most ${fit} jobs run at once within the open-files limit ` +
      `(ulimit -n ${soft}; each job holds about ${PER_SLOT}): -j${fit}`,
  );
  return fit;
}

/** The soft limit on open descriptors, or undefined when it cannot be read. */
function softLimit(): number | undefined {
  try {
    // deno-lint-ignore no-explicit-any
    const s: Record<string, (...args: any[]) => number> = isBun
      ? dlopenBun("libc.so.6", SYMBOLS).symbols as never
      : deno().dlopen("libc.so.6", SYMBOLS).symbols;
    const lim = new BigUint64Array(2); // rlim_cur, rlim_max
    if (s.getrlimit(RLIMIT_NOFILE, lim) !== 0) return undefined;
    return lim[0] > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(lim[0]);
  } catch {
    return undefined;
  }
}
