/**
 * Room for the descriptors of many jobs at once. A running job holds three
 * or four of jx's descriptors (its output pipes' read ends, their write ends
 * while the spawn is in flight, its pidfd; more with a pool of its own), so
 * `-j 400` needs some 1,600 where the usual limit (`ulimit -n`) is 1,024:
 * past it, jobs failed to start ("Too many open files"). Deno and Bun raise
 * their soft limit to the hard one at start; what the hard limit does not
 * allow, `jobsWithinFds` takes off `-j` (with a warning), so that jobs wait
 * for a slot instead of failing, whatever `-j` (a `ulimit -n 64` shell and
 * `-j16` too: what jx holds open already is counted then). The limit comes
 * from /proc/self/limits; only a run of more than `FEW` slots without it
 * loads libc's call.
 *
 * @module
 */
import { deno, ffiPermitted, isBun } from "../runtime/mod.ts";
import { readTextSync } from "../runtime/fs.ts";
import { listDir } from "../runtime/files.ts";
import { dlopenBun } from "./libc_bun.ts";

/** Slots up to which a run never loads libc's call to read the limit (/proc has it). */
const FEW = 64;
/**
 * Slots past which it does not either: not a number of jobs to run at once, but one a pool of
 * slots refuses (more than a fifo holds, exit 2) or a counter takes as "no limit".
 */
const MANY = 2 ** 20;
/** `RLIMIT_NOFILE` on Linux. */
const RLIMIT_NOFILE = 7;
/**
 * Descriptors per slot, those kept for jx's own (pools, sockets, files, the web page), and those
 * it opens once a run starts beyond what it holds when the slots are counted.
 */
const PER_JOB = 4, OWN = 128, SPARE = 16;
/**
 * What jx may hold open when its slots are counted (about 30 on Deno, 20 on Bun; more when its
 * parent passed it descriptors): past this much room the count is skipped.
 */
const LIKELY_HELD = 512;

const SYMBOLS = { getrlimit: { parameters: ["i32", "buffer"], result: "i32" } } as const;

/**
 * How many of `slots` jobs can run at once within the limit on open
 * descriptors: `slots` when they all can (or when the limit cannot be read:
 * no /proc and no FFI, not Linux), else fewer (at least one), and `warn` is
 * told once.
 *
 * @example
 * ```ts
 * import { jobsWithinFds } from "./fd_limit.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(jobsWithinFds(8, console.warn), 8); // under any usual limit
 * ```
 */
export function jobsWithinFds(
  slots: number,
  warn: (w: string) => void,
  need: FdNeed = {},
): number {
  if (slots > MANY) return slots;
  const soft = softLimit(slots);
  if (soft === undefined) return slots;
  const perSlot = PER_JOB + (need.traced ? TRACED_FDS : 0);
  // The run's modules hold no slot, but descriptors as a job does.
  const modules = (need.modules ?? 0) * PER_JOB; // never traced
  // For jx's own beyond its jobs (the web page's sockets, files): an eighth, at most OWN.
  const own = Math.min(OWN, Math.floor(soft / 8));
  // With room past the most it could hold already: no count of what is open.
  if (slots * perSlot + modules + Math.max(own, LIKELY_HELD) <= soft) return slots;
  const held = modules + Math.max(own, (openCount() ?? LIKELY_HELD) + SPARE);
  // Never below what one job of the run takes (`tokens`: slots, not descriptors): said then.
  const least = Math.min(slots, Math.max(1, need.tokens ?? 1));
  const fit = Math.max(0, Math.floor((soft - held) / perSlot));
  if (fit < least) {
    warn(
      `the open-files limit (ulimit -n ${soft}) holds about ${fit} job${fit === 1 ? "" : "s"} ` +
        `at once, ` + (least > 1 ? `but a job takes ${least} slots: -j${least}, ` : `-j1, `) +
        `and jobs may fail to start (raise it)`,
    );
    return least;
  }
  if (fit >= slots) return slots;
  warn(
    `-j${slots}: at most ${fit} job${fit === 1 ? " runs" : "s run"} at once within the ` +
      `open-files limit (ulimit -n ${soft}; each job holds about ${perSlot}): -j${fit}`,
  );
  return fit;
}

/** What a run needs beyond its slots: its modules, its biggest job's `tokens`. */
export interface FdNeed {
  modules?: number;
  tokens?: number;
  /** Every job is traced (`--check-access`, `jx lint`): jx holds its trace's FIFO too. */
  traced?: boolean;
}

/** The descriptors jx holds for a traced job beyond its own: its trace's FIFO, both ends. */
const TRACED_FDS = 2;

/**
 * The soft limit on open descriptors: from /proc/self/limits (no libc call), else from libc for
 * a run of many slots; undefined when it cannot be read.
 */
function softLimit(slots: number): number | undefined {
  try {
    const text = readTextSync("/proc/self/limits");
    const at = text.indexOf("Max open files");
    if (at >= 0) {
      const value = text.slice(at + 14).trimStart().split(" ", 1)[0];
      if (value === "unlimited") return Number.MAX_SAFE_INTEGER;
      if (/^\d+$/.test(value)) return Number(value);
    }
  } catch {
    // No /proc: libc, below.
  }
  return slots > FEW && ffiPermitted() ? libcSoftLimit() : undefined;
}

/** How many descriptors jx has open now (/proc/self/fd), or undefined. */
function openCount(): number | undefined {
  try {
    return listDir("/proc/self/fd").length;
  } catch {
    return undefined;
  }
}

/** The soft limit on open descriptors through libc's getrlimit, or undefined. */
function libcSoftLimit(): number | undefined {
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
