/**
 * The resolved form of a jobs file: what the scheduler runs.
 *
 * @module
 */
import type { Pos } from "./errors.ts";

/** How a module tells jx it is ready. */
export interface ReadySpec {
  tcp?: number;
  http?: string;
  log?: string;
  cmd?: string;
  delay?: number;
  timeoutMs?: number;
  intervalMs?: number;
}

/** One job or module, with variables substituted and paths resolved. */
export interface JobSpec {
  /** Unique name, as written in the file. */
  name: string;
  /** `job`, or `module` for long-running processes. */
  kind: "job" | "module";
  /** Position in file order (jobs first, then modules), used for resource ordering. */
  index: number;
  description?: string;
  /** The argv to execute: a string `run` becomes `["/bin/sh", "-c", run]`. */
  argv: string[];
  /** The command as written, after substitution, for display. */
  command: string;
  /** Explicit dependencies (job or module names). */
  needs: string[];
  /** Resources read: normalized paths relative to the jobs file, globs, or `@names`. */
  reads: string[];
  /** Resources written. */
  writes: string[];
  /** Pool name to units held while running. */
  pools: Record<string, number>;
  /** Job-slot tokens held while running. */
  tokens: number;
  /** Absolute working directory. */
  cwd: string;
  /** Environment added for this job (file-level `env` merged under the job's). */
  env: Record<string, string>;
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when the job times out or is cancelled. */
  graceMs: number;
  retries: number;
  /** Run only if this job succeeded. */
  if?: string;
  /** Run only if this job failed. */
  unless?: string;
  /** Module-only settings. */
  ready?: ReadySpec;
  stop?: { signal: string; graceMs: number };
  restart?: "no" | "on-failure" | "always";
  subscribe?: string[];
  /** Where the job's name is in the file. */
  pos: Pos;
}

/** Why one job must wait for another. */
export interface Edge {
  /** The job that must end first. */
  from: string;
  /** The job that waits. */
  to: string;
  /**
   * `needs`; `resource` (a write then a read: the reader uses the data, so a
   * failure propagates); `order` (a read or write then a write: ordering
   * only, a failure does not propagate); `condition` (from `if`/`unless`).
   */
  kind: "needs" | "resource" | "order" | "condition";
  /** Human-readable reason, e.g. `writes out/gen.h -> reads out/*.h`. */
  reason: string;
}
