/**
 * The job graph: load and validate a jobs file, derive ordering edges.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  a: { run: echo a, writes: [x] }\n  b: { run: cat x, reads: [x] }\n", "j.yaml");
 * assertEquals(g.edges[0].reason, "writes x -> reads x");
 * ```
 *
 * @module
 */
// The `yaml` package for what the fast front end leaves (a `jx run` loads it only then).
import "./yaml_full.ts";
export { didYouMean, JxInputError, type Pos } from "./errors.ts";
export { formatMs, parseDuration } from "./duration.ts";
export {
  checkDepfile,
  depfileInputs,
  type DepfileProblem,
  parseDepfile,
  readDepfile,
} from "./depfile.ts";
export { parseDotenv } from "./dotenv.ts";
export { currentOs, whenFails } from "./when.ts";
export { isShellString, startArgv } from "./argv.ts";
export {
  compileGlob,
  escapeGlob,
  GlobError,
  globHead,
  globMatch,
  type GlobMatcher,
  globToRegExp,
  isGlob,
  namedByAny,
  patternsOverlap,
  resourceNames,
  STORE_MARK,
} from "./glob.ts";
export { MAX_ALIAS_NODES, MAX_DEPTH, MAX_JOBS, MAX_VALUE_LENGTH } from "./limits.ts";
export { deriveResourceEdges, ResourceIndex, resourcesConflict } from "./edges.ts";
export { expandDeferred, parseEmittedJob } from "./emit.ts";
export { Graph, type JobSummary, jobSummary } from "./graph.ts";
export { namespaceOf } from "./include.ts";
export {
  DEFAULT_GRACE_MS,
  findJobsFile,
  jobsFileOrFail,
  lintIgnoreProblem,
  loadJobsFile,
  type LoadOptions,
  normalizeResource,
  parseJobsFile,
  shellQuote,
} from "./load.ts";
export { FILE_FIELDS, JOB_FIELDS, MODULE_FIELDS, toJsonSchema } from "./schema.ts";
export type {
  CacheSettings,
  DeferredForeach,
  Edge,
  EmitContext,
  FileSettings,
  HealthSpec,
  JobNode,
  JobSlurmOptions,
  JobSpec,
  ModuleNode,
  ReadySpec,
  RepeatSpec,
  SpecBase,
  WhenSpec,
} from "./types.ts";
