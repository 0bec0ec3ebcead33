/**
 * The resolved form of a jobs file: what the scheduler runs.
 *
 * @module
 */
import type { Pos } from "./errors.ts";

/**
 * How a module tells jx it is ready.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("modules:\n  api: { run: ./serve, ready: { tcp: 8080 } }\n", "j.yaml");
 * assertEquals(g.get("api").ready?.tcp, 8080);
 * ```
 */
export interface ReadySpec {
  /** Ready once this TCP port on localhost accepts a connection. */
  tcp?: number;
  /** Ready once this URL answers with a 2xx status. */
  http?: string;
  /** Ready once a line of the module's output contains this text. */
  log?: string;
  /** Ready once this shell command exits 0. */
  cmd?: string;
  /** Ready this many milliseconds after the start. */
  delay?: number;
  /** Give up (the module failed) after this many milliseconds. */
  timeoutMs?: number;
  /** Milliseconds between probes. */
  intervalMs?: number;
}

/**
 * A module's liveness check, repeated while it runs.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("modules:\n  api: { run: ./serve, health: { tcp: 8080 } }\n", "j.yaml");
 * assertEquals(g.get("api").health, { tcp: 8080, intervalMs: 5000, timeoutMs: 2000, failures: 3 });
 * ```
 */
export interface HealthSpec {
  /** Healthy while this TCP port on localhost accepts a connection. */
  tcp?: number;
  /** Healthy while this URL answers with a 2xx status. */
  http?: string;
  /** Healthy while this shell command exits 0. */
  cmd?: string;
  /** Milliseconds between checks. */
  intervalMs: number;
  /** Milliseconds after which one check counts as failed. */
  timeoutMs: number;
  /** Failed checks in a row that make the module unhealthy. */
  failures: number;
}

/**
 * One job or module, with variables substituted and paths resolved.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  a: { run: echo hi, writes: [out.txt], timeout: 5s }\n", "j.yaml");
 * const a = g.get("a");
 * assertEquals(a.argv, ["/bin/sh", "-c", "echo hi"]);
 * assertEquals(a.writes, ["out.txt"]);
 * assertEquals(a.timeoutMs, 5000);
 * ```
 */
export interface JobSpec {
  /** Unique name, as written in the file. */
  name: string;
  /** `job`, or `module` for long-running processes. */
  kind: "job" | "module";
  /** Position in file order (jobs first, then modules), used for resource ordering. */
  index: number;
  /** One line shown by `jx list`. */
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
  /**
   * The dotenv files (`env_file`, the file's and the job's) that gave
   * variables to `env`, relative to the jobs file: inputs of the job for
   * up-to-date checks.
   */
  envFiles?: string[];
  /**
   * A make-format depfile the job writes (`gcc -MD -MF`), relative to the
   * jobs file: the inputs it lists join the job's inputs from its next run
   * on (lib/state keeps them).
   */
  depfile?: string;
  /** Time limit: SIGTERM after this many milliseconds (then SIGKILL after `graceMs`). */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when the job times out or is cancelled. */
  graceMs: number;
  /** Times a failed job is run again before it counts as failed. */
  retries: number;
  /**
   * `retries: {delay, backoff, max_delay}`: the wait before rerun N is
   * `delayMs * backoff^(N-1)`, at most `maxMs`. None: reruns start at once.
   */
  retryDelay?: { delayMs: number; backoff: number; maxMs: number };
  /** `interactive: true`: runs alone, with jx's stdin, stdout and stderr (a terminal). */
  interactive?: boolean;
  /** Run only if this job succeeded. */
  if?: string;
  /** Run only if this job failed. */
  unless?: string;
  /** How MAKEFLAGS hands jx's job-slot pool to this job (default: `--jobserver-style`). */
  jobserver?: "pipe" | "fifo" | "none";
  /** Where the job runs: its own `executor:`, else the file's (unset: `--executor`). */
  executor?: "local" | "slurm";
  /** `slurm:` options of a job run by the Slurm executor (docs/executors.md). */
  slurm?: JobSlurmOptions;
  /** Module-only settings. */
  ready?: ReadySpec;
  /** Module-only: the liveness check repeated while it runs. */
  health?: HealthSpec;
  /** Module-only: the file (absolute) its output is appended to. */
  log?: string;
  /** Module-only: how to stop it (the signal, then SIGKILL after `graceMs`). */
  stop?: { signal: string; graceMs: number };
  /** Module-only: when to start it again after it exits. */
  restart?: "no" | "on-failure" | "always";
  /** Module-only: pubsub topics delivered as lines on its stdin. */
  subscribe?: string[];
  /** Module-only: restarts in a row before it is failed. */
  maxRestarts?: number;
  /**
   * Module-only: registered only when every condition given holds: `env` set
   * and non-empty, running on `os`, the path `file` (absolute here) exists.
   */
  when?: { env?: string; os?: string; file?: string };
  /** The `foreach` job this one was expanded from (its name is `group[item]`). */
  group?: string;
  /**
   * `emits: jobs`: each line of the job's stdout is a job definition (one
   * JSON object, the jobs-file schema plus `name`) that joins the run at
   * once; what those definitions resolve against.
   */
  emits?: EmitContext;
  /**
   * `repeat`: after the job succeeds, run the `test` job; run the job again
   * `until` the test succeeds or `while` it does, at most `max` runs.
   */
  repeat?: { kind: "until"; test: string; max: number } | {
    kind: "while";
    test: string;
    max: number;
  };
  /**
   * A `foreach` glob over files that other jobs write: this job stands for
   * the group and is expanded once those jobs have run.
   */
  deferred?: DeferredForeach;
  /** The job whose output generated this one (`emits: jobs`, a deferred `foreach`). */
  by?: string;
  /** Expanded from a `foreach` glob over the files on disk when the file was loaded. */
  fromGlob?: boolean;
  /**
   * The jobs file the job is written in, as messages show it: set on every
   * job of a graph whose root file has `include:` (`pos` is in this file).
   */
  source?: string;
  /** Where the job's name is in the file. */
  pos: Pos;
  /** `cache:` of the job: false (never cached), true (even without writes), or key settings. */
  cache?: boolean | CacheSettings;
}

/**
 * `cache: {env, salt}` (docs/cache.md), at the top level or on a job.
 *
 * @example
 * ```ts
 * import type { CacheSettings } from "./types.ts";
 * const s: CacheSettings = { env: ["NODE_ENV"], salt: "gcc-13" };
 * ```
 */
export interface CacheSettings {
  /** Names of environment variables whose values join the key. */
  env?: string[];
  /** Any string: changing it invalidates every entry it covers. */
  salt?: string;
}

/**
 * What a jobs file says besides its jobs that a run needs: its variables
 * (with command-line overrides) and its top-level `cache:`.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "./mod.ts";
 * const g = parseJobsFile("cache: true\nvars: { CC: gcc }\njobs:\n  a: { run: x }\n", "j.yaml");
 * if (g.settings.cache !== true) throw new Error("expected cache: true");
 * ```
 */
export interface FileSettings {
  /** The file's variables, with command-line overrides. */
  vars?: Record<string, string>;
  /** The top-level `cache:`, when the file has one. */
  cache?: boolean | CacheSettings;
}

/** A job's `slurm:` key: options of its `srun` step. */
export interface JobSlurmOptions {
  /** `--partition`. */
  partition?: string;
  /** `--time` (Slurm's formats: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`...). */
  time?: string;
  /** `--mem`, e.g. `2G`. */
  mem?: string;
  /** `--gres`, e.g. `gpu:1`. */
  gres?: string;
  /** More `srun` options, as they are. */
  args?: string[];
}

/**
 * What jobs generated at run time resolve against: the jobs file's
 * directory, its `env` and its variables (plain data, cached with the graph).
 */
export interface EmitContext {
  /** The jobs file, for messages. */
  file: string;
  /** What relative paths resolve against. */
  baseDir: string;
  /** The file-level `env`. */
  env: Record<string, string>;
  /** The file's variables (with command-line overrides). */
  vars: Record<string, string>;
  /** Pool capacities. */
  pools: Record<string, number>;
  /** The file's `executor:`, if it has one. */
  executor?: "local" | "slurm";
}

/**
 * A `foreach: {glob}` expanded at run time, once the jobs writing what the
 * glob matches have run.
 *
 * @example
 * ```ts
 * import type { DeferredForeach } from "./types.ts";
 * const d: DeferredForeach = {
 *   glob: "gen/*.txt", as: "F", job: { run: "wc -l ${F}" },
 *   ctx: { file: "jobs.yaml", baseDir: "/p", env: {}, vars: {}, pools: {} },
 * };
 * ```
 */
export interface DeferredForeach {
  /** The glob, variables substituted. */
  glob: string;
  /** The item's variable name. */
  as: string;
  /** The job entry as written (validated), expanded once per matching file. */
  job: Record<string, unknown>;
  /** What the expanded jobs resolve against. */
  ctx: EmitContext;
}

/**
 * Why one job must wait for another.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  gen: { run: x, writes: [a.h] }\n  cc: { run: y, reads: ['*.h'] }\n", "j.yaml");
 * assertEquals(g.edges[0], { from: "gen", to: "cc", kind: "resource", reason: "writes a.h -> reads *.h" });
 * ```
 */
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
