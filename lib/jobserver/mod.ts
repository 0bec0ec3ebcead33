/**
 * The GNU make jobserver: jx creates the job-slot pool for its jobs, or joins
 * the pool of a make that runs it.
 *
 * @example
 * ```ts
 * import { parseMakeFlags } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const flags = parseMakeFlags({ MAKEFLAGS: " -j4 --jobserver-auth=3,4" });
 * assertEquals(flags.auth, { style: "pipe", read: 3, write: 4 });
 * ```
 *
 * @module
 */
export {
  formatMakeFlags,
  type JobserverAuth,
  type JobStyle,
  type MakeFlags,
  parseMakeFlags,
  stripJobserver,
  withAuth,
  withoutJobserver,
} from "./makeflags.ts";
export {
  badAuthProblem,
  badJobsProblem,
  createJobserver,
  jobserverProblem,
  type JobserverSlots,
  joinJobserver,
  poolProblem,
} from "./pool.ts";
export { type JobserverJob, jobStyle, makeJobsOption, warnMakeJobs } from "./jobs.ts";
