/**
 * Checking declarations: record what each job's processes read, write,
 * delete and execute (`Tracer`, with `strace`), compare it with the jobs
 * file's `reads`/`writes` and the order between jobs, and suggest edits
 * (`jx lint`, docs/lint.md).
 *
 * @example
 * ```ts
 * import { compare, StraceTracer } from "./mod.ts";
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  cc: { run: cat a.h, reads: [a.c] }\n", "/p/jobs.yaml");
 * const traces = new Map([["cc", [{ path: "/p/a.h", kind: "read" as const, pid: 1, ok: true }]]]);
 * assertEquals(compare(g, g.jobs, traces, { root: "/p", isDir: () => false })[0].suggest, "reads: [a.h]");
 * ```
 *
 * @module
 */
export type { Access, AccessKind, Finding, Problem, TracedRun, Tracer } from "./types.ts";
export { findStrace, type StraceOptions, StraceTracer, TRACED_CALLS } from "./strace.ts";
export { pipesAvailable, type TraceLoop, TracePipe } from "./trace_pipe.ts";
export {
  type Call,
  decodeQuoted,
  joinLines,
  parseCall,
  parseStrace,
  type RealDir,
  type ScriptHead,
  StraceParser,
} from "./strace_parse.ts";
export {
  changed,
  Checker,
  type CheckerOptions,
  compare,
  type CompareOptions,
  DEFAULT_IGNORE,
  inFileOrder,
  type PathUse,
  usesOf,
} from "./compare.ts";
export { formatEdit, narrowGlobs } from "./suggest.ts";
export { TracingRunner } from "./runner.ts";
export {
  AccessCheck,
  checkedState,
  type CheckOptions,
  findingLine,
  FindingReport,
  type FindingReportOptions,
  formatFinding,
  type RunCheck,
  runCheck,
  strictExit,
  strictExits,
} from "./check.ts";
export { fileIgnore } from "./ignore.ts";
export { explainFindings } from "./explain.ts";
export { type CheckedRun, hasUndeclaredInputs, Remembered } from "./remembered.ts";
export { cmdLint, type LintArgs, newTracer, parseLintArgs } from "./cli.ts";
