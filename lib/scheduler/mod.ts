/**
 * The scheduler: a pure plan over the job graph, driven by a builder
 * through a runner (local processes on a reactor, or a dry run).
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { createPortableReactor } from "../reactor/mod.ts";
 * import { runJobs } from "./mod.ts";
 * import { strictEqual } from "node:assert";
 * const g = parseJobsFile("jobs:\n  a: { run: 'true' }\n  b: { run: 'true', needs: [a] }\n", "j.yaml");
 * const r = await runJobs(g, g.select([]), { reactor: createPortableReactor(), jobs: 4 });
 * strictEqual(r.exit, 0);
 * ```
 *
 * @module
 */
export type {
  JobStatus,
  ModuleState,
  Reporter,
  RunEvent,
  RunStatus,
  SkipReason,
} from "./events.ts";
export { type Offered, type Outcome, Plan, type Skipped } from "./plan.ts";
export {
  type JobFeed,
  type ModuleHost,
  type ModuleRun,
  newRunId,
  type RunControl,
  runJobs,
  type RunOptions,
  type RunResult,
} from "./run.ts";
export { Builder } from "./builder.ts";
export { RunFrame } from "./frame.ts";
export type { RunHandle, Runner, RunnerEnd, RunRequest, RunSink, StartedWhere } from "./runner.ts";
export { tooBigFor, WrappingRunner } from "./runner.ts";
export { DryRunRunner, LocalRunner } from "./local_runner.ts";
export { signalExit, signalNumber } from "./signals.ts";
export {
  type AttemptLimits,
  Attempts,
  onStopSignals,
  onSuspend,
  type Suspendable,
} from "./attempts.ts";
export { fdNeed, type JobPool, LocalSlots, Pools, type Slots } from "./slots.ts";
export { MinHeap } from "./heap.ts";
