/**
 * Incremental state: fingerprints of jobs' inputs and outputs in `.jx/`,
 * up-to-date decisions and their reasons, and the per-directory run lock.
 *
 * @example
 * ```ts
 * import { UpToDate } from "./mod.ts";
 * const state = new UpToDate("/path/to/project");
 * ```
 *
 * @module
 */
export {
  alwaysRuns,
  cacheEnvNames,
  isTracked,
  rootCacheEnv,
  staticFingerprint,
  UpToDate,
  type Verdict,
} from "./check.ts";
export {
  changedSince,
  expand,
  expandStamped,
  type FileStamp,
  hashFile,
  listRaw,
  noteHash,
  NotUtf8Name,
  sameStamp,
  stamp,
} from "./fileset.ts";
export { type Entry, StateStore } from "./store.ts";
export { FILE, rawKind, removeRaw, ST, statInto, statMethod } from "./stat.ts";
export { lockHolder, takeLock, tryLock } from "./lock.ts";
export { checkStatePath, stateDir, stderrWarn } from "./guard.ts";
