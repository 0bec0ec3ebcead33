/**
 * Restart policies: whether an exit restarts a module, and how long to wait
 * first (exponential backoff).
 *
 * @module
 */
import type { JobSpec } from "../graph/mod.ts";
import type { ExitStatus } from "../reactor/mod.ts";

/** The first backoff; each restart in a row doubles it. */
export const BACKOFF_BASE_MS = 100;
/** The longest backoff. */
export const BACKOFF_MAX_MS = 30_000;
/** Restarts in a row before a module is failed, when `max_restarts` is not given. */
export const DEFAULT_MAX_RESTARTS = 5;
/** A module that stays up this long after it became ready has its restart count reset. */
export const STABLE_MS = 10_000;

/**
 * The wait before restart number `n` (1, 2, ...): 100 ms, 200 ms, 400 ms...,
 * at most `BACKOFF_MAX_MS`.
 *
 * @example
 * ```ts
 * import { backoffMs } from "./backoff.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals([1, 2, 3].map(backoffMs), [100, 200, 400]);
 * ```
 */
export function backoffMs(n: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, n - 1));
}

/** Whether an exit counts as a failure (anything but exit 0). */
export function isFailure(st: ExitStatus): boolean {
  return st.code !== 0 || !!st.error;
}

/**
 * Whether a module that exited by itself (not stopped by jx) is started
 * again: `always`, or `on-failure` after a failure, while restarts remain.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { wantsRestart } from "./backoff.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("modules:\n  m: { run: x, restart: on-failure }\n", "j.yaml");
 * assertEquals(wantsRestart(g.get("m"), { code: 1, signal: null }, 0), true);
 * assertEquals(wantsRestart(g.get("m"), { code: 0, signal: null }, 0), false);
 * ```
 */
export function wantsRestart(spec: JobSpec, st: ExitStatus, restartsSoFar: number): boolean {
  const policy = spec.restart ?? "no";
  if (policy === "no" || st.error) return false;
  if (policy === "on-failure" && !isFailure(st)) return false;
  return restartsSoFar < (spec.maxRestarts ?? DEFAULT_MAX_RESTARTS);
}
