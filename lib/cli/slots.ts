/**
 * The local job-slot count a command wants, in one place (light: the no-op
 * fast path uses it without loading the rest of jx).
 *
 * @module
 */
import { cpuCount } from "../runtime/mod.ts";
import type { Args } from "./args.ts";

/**
 * `-j N`, else the number of CPUs.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import { wantedJobs } from "./slots.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(wantedJobs(parseArgs(["run", "-j3"])), 3);
 * ```
 */
export function wantedJobs(args: Pick<Args, "jobs">): number {
  return args.jobs ?? cpuCount();
}
