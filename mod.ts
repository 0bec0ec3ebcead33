/**
 * jx as a library: load a jobs file (or write one inline), run it, and
 * receive its events.
 *
 * @example
 * ```ts
 * import { createReactor, parseJobsFile, runJobs } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * // The jobs run (and write gen.h) in a folder of their own.
 * const graph = parseJobsFile(
 *   `
 * jobs:
 *   gen: { run: "echo '#define N 1' > gen.h", writes: [gen.h] }
 *   use: { run: cat gen.h, reads: ["*.h"] }
 * `,
 *   "inline.yaml",
 *   { baseDir: Deno.makeTempDirSync() },
 * );
 * const result = await runJobs(graph, graph.select([]), {
 *   reactor: createReactor("portable"),
 *   jobs: 4,
 *   reporters: [{ event: (e) => e.type === "job.end" && console.log(e.job, e.status) }],
 * });
 * assertEquals(result.exit, 0);
 * ```
 *
 * @module
 */
export {
  type CacheSettings,
  type DeferredForeach,
  type Edge,
  type EmitContext,
  type FileSettings,
  formatMs,
  Graph,
  type HealthSpec,
  type JobNode,
  type JobSlurmOptions,
  type JobSpec,
  JxInputError,
  loadJobsFile,
  type LoadOptions,
  type ModuleNode,
  parseDuration,
  parseJobsFile,
  type Pos,
  type ReadySpec,
  type RepeatSpec,
  type SpecBase,
  toJsonSchema,
  type WhenSpec,
} from "./lib/graph/mod.ts";
export {
  type ChildHandle,
  createPortableReactor,
  createReactor,
  type ExitStatus,
  FakeReactor,
  type FakeRecord,
  type FakeScript,
  type GuardedReactor,
  guardReactor,
  type ListenSignal,
  type Reactor,
  type ReactorChoice,
  type SpawnRequest,
  type StreamName,
  type SuspendSignal,
  type TokenSink,
} from "./lib/reactor/mod.ts";
export {
  DryRunRunner,
  type JobFeed,
  type JobPool,
  type JobStatus,
  LocalRunner,
  LocalSlots,
  type ModuleHost,
  type ModuleRun,
  type ModuleState,
  type Offered,
  type Outcome,
  Plan,
  type Reporter,
  type RunControl,
  type RunEvent,
  type RunHandle,
  runJobs,
  type Runner,
  type RunnerEnd,
  type RunOptions,
  type RunRequest,
  type RunResult,
  type RunSink,
  type RunStatus,
  type Skipped,
  type SkipReason,
  type Slots,
  type StartedWhere,
} from "./lib/scheduler/mod.ts";
export {
  type ConsoleOptions,
  ConsoleReporter,
  EventLog,
  type OutputMode,
  type StatusClock,
  TraceWriter,
} from "./lib/report/mod.ts";
export {
  type CtlLimits,
  type CtlReply,
  type CtlRequest,
  ctlRequest,
  CtlServer,
  findCtlSocket,
  type PublishResult,
  type StatusEntry,
  Supervisor,
  type SupervisorOptions,
} from "./lib/modules/mod.ts";
export { main } from "./lib/cli/main.ts";
