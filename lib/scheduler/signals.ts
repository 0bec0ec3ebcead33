/**
 * The exit code of a run that a signal stopped (128 + the signal's number),
 * one map for `jx run`, `jx sh` and `jx watch`.
 *
 * @module
 */
import type { ListenSignal } from "../reactor/types.ts";

/**
 * The exit code of a run ended by `sig`.
 *
 * @example
 * ```ts
 * import { signalExit } from "./signals.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(signalExit("SIGINT"), 130);
 * ```
 */
export function signalExit(sig: ListenSignal): number {
  return 128 + SIGNAL_NUMBERS[sig];
}

/**
 * The number of a signal by name (1 for one this table does not know).
 *
 * @example
 * ```ts
 * import { signalNumber } from "./signals.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(signalNumber("SIGKILL"), 9);
 * ```
 */
export function signalNumber(name: string): number {
  return SIGNAL_NUMBERS[name] ?? 1;
}

const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};
