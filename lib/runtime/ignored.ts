/**
 * The signals jx's parent left ignored when it started it (`nohup jx run`
 * ignores SIGHUP; a shell without job control starts `jx ... &` with SIGINT
 * and SIGQUIT ignored). As make does, and as POSIX asks of a shell
 * ("signals that were ignored on entry ... cannot be trapped"), jx does not
 * listen for such a signal: it goes on when it comes, as its parent meant.
 * Read once from `/proc/self/status` (Linux), before jx listens for any
 * (a listener makes the signal caught, no longer ignored).
 *
 * @module
 */

import { readFileBytes } from "./bun_fs.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
// deno-lint-ignore no-explicit-any
const D: any = typeof g.Deno !== "undefined" && typeof g.Bun === "undefined" ? g.Deno : undefined;

/** Signal numbers of the signals jx may listen for. */
const NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR1: 10,
  SIGTERM: 15,
  SIGTSTP: 20,
};

let mask: bigint | undefined;

/** The `SigIgn:` mask of `status` (the text of `/proc/PID/status`); 0 when it has none. */
function ignoredMask(status: string): bigint {
  const m = /^SigIgn:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  return m ? BigInt("0x" + m[1]) : 0n;
}

/**
 * Whether `sig` (`SIGHUP`, `SIGINT`, `SIGQUIT`, `SIGUSR1`, `SIGTERM`, `SIGTSTP`) was
 * ignored when jx started. The first call reads the mask, so it must come
 * before any listener for these signals (lib/reactor/timers.ts `onSignal`
 * asks before each).
 *
 * @example
 * ```ts
 * import { ignoredAtStart } from "./ignored.ts";
 * if (ignoredAtStart("SIGHUP")) console.log("started under nohup");
 * ```
 */
export function ignoredAtStart(sig: string): boolean {
  if (mask === undefined) {
    mask = 0n;
    try {
      const bytes = D ? D.readFileSync("/proc/self/status") : readFileBytes("/proc/self/status");
      mask = ignoredMask(new TextDecoder().decode(bytes));
    } catch { /* not Linux: none counts as ignored */ }
  }
  const n = NUMBERS[sig];
  return n !== undefined && ((mask >> BigInt(n - 1)) & 1n) === 1n;
}
