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
 * What jobs and modules share, with variables substituted and paths resolved.
 * A spec is never changed once built: a variant is a new object.
 */
export interface SpecBase {
  /** Unique name, as written in the file. */
  readonly name: string;
  /** `job`, or `module` for long-running processes. */
  readonly kind: "job" | "module";
  /** Position in file order (jobs first, then modules), used for resource ordering. */
  readonly index: number;
  /** One line shown by `jx list`. */
  readonly description?: string;
  /** The argv to execute: a string `run` becomes `["/bin/sh", "-c", run]`. */
  readonly argv: string[];
  /** The command as written, after substitution, for display. */
  readonly command: string;
  /** Explicit dependencies (job or module names). */
  readonly needs: string[];
  /** Resources read: normalized paths relative to the jobs file, globs, or `@names`. */
  readonly reads: string[];
  /** Resources written. */
  readonly writes: string[];
  /** Pool name to units held while running (none for a module). */
  readonly pools: Record<string, number>;
  /** Job-slot tokens held while running (1 for a module, which holds none). */
  readonly tokens: number;
  /** Absolute working directory. */
  readonly cwd: string;
  /** Environment added for this job (file-level `env` merged under the job's). */
  readonly env: Record<string, string>;
  /**
   * The dotenv files (`env_file`, the file's and the job's) that gave
   * variables to `env`, relative to the jobs file: inputs of the job for
   * up-to-date checks.
   */
  readonly envFiles?: string[];
  /**
   * The names those dotenv files set that the environment jx was started
   * with overrides: not in `env` (the job inherits the process's value),
   * so the cache key hashes the process's value of each (docs/cache.md).
   */
  readonly envFromProcess?: string[];
  /** Time between SIGTERM and SIGKILL when the job times out or is cancelled. */
  readonly graceMs: number;
  /** Times a failed job is run again before it counts as failed (0 for a module). */
  readonly retries: number;
  /**
   * Registered only when every condition given holds: `env` set and
   * non-empty, running on `os`, the path `file` (absolute here) exists.
   */
  readonly when?: WhenSpec;
  /** The `foreach` job this one was expanded from (its name is `group[item]`). */
  readonly group?: string;
  /** The job whose output generated this one (`emits: jobs`, a deferred `foreach`). */
  readonly by?: string;
  /** Expanded from a `foreach` glob over the files on disk when the file was loaded. */
  readonly fromGlob?: boolean;
  /**
   * The `foreach` item (of a list or a glob) this job was made for, by its variable's name: what
   * `jx lint` suggests declaring (`reads: ["${S}"]`, one edit for every item), not the item's path.
   */
  readonly item?: { as: string; value: string };
  /**
   * The jobs file the job is written in, as messages show it: set on every
   * job of a graph whose root file has `include:` (`pos` is in this file).
   */
  readonly source?: string;
  /** Where the job's name is in the file. */
  readonly pos: Pos;
}

/** `when:` of a job or module: conditions on the machine it runs on. */
export interface WhenSpec {
  /** Set and non-empty. */
  readonly env?: string;
  /** The operating system (`linux`, `darwin`...). */
  readonly os?: string;
  /** An absolute path that exists. */
  readonly file?: string;
  /**
   * `file` as a resource (relative to the root file's folder, escaped): what orders the job as
   * a read of it would (docs/ordering.md), without making it an input.
   */
  readonly read?: string;
}

/** `repeat`: after the job succeeds, its `test` runs; the job runs again `until` or `while`. */
export type RepeatSpec =
  | { readonly kind: "until"; readonly test: string; readonly max: number }
  | { readonly kind: "while"; readonly test: string; readonly max: number };

/**
 * A job (`jobs:`): runs once per run and ends. The module-only keys are
 * absent (`?: undefined`), so code that reads one on any spec needs no
 * narrowing; code that needs a job's own keys narrows on `kind`.
 */
export interface JobNode extends SpecBase {
  /** A job. */
  readonly kind: "job";
  /**
   * A make-format depfile the job writes (`gcc -MD -MF`), relative to the
   * jobs file: the inputs it lists join the job's inputs from its next run
   * on (lib/state keeps them).
   */
  readonly depfile?: string;
  /** Time limit: SIGTERM after this many milliseconds (then SIGKILL after `graceMs`). */
  readonly timeoutMs?: number;
  /**
   * `retries: {delay, backoff, max_delay}`: the wait before rerun N is
   * `delayMs * backoff^(N-1)`, at most `maxMs`. None: reruns start at once.
   */
  readonly retryDelay?: {
    readonly delayMs: number;
    readonly backoff: number;
    readonly maxMs: number;
  };
  /** `interactive: true`: runs alone, with jx's stdin, stdout and stderr (a terminal). */
  readonly interactive?: boolean;
  /**
   * Its stdout and stderr are jx's own, inherited (never set from a jobs file:
   * `jx sh` gives it to the rest of a script that starts background commands).
   */
  readonly inheritOutput?: boolean;
  /** Run only if this job succeeded. */
  readonly if?: string;
  /** Run only if this job failed. */
  readonly unless?: string;
  /** How MAKEFLAGS hands jx's job-slot pool to this job (default: `--jobserver-style`). */
  readonly jobserver?: "pipe" | "fifo" | "none";
  /** Where the job runs: its own `executor:`, else the file's (unset: `--executor`). */
  readonly executor?: "local" | "slurm";
  /** `slurm:` options of a job run by the Slurm executor (docs/executors.md). */
  readonly slurm?: JobSlurmOptions;
  /**
   * `emits: jobs`: each line of the job's stdout is a job definition (one
   * JSON object, the jobs-file schema plus `name`) that joins the run at
   * once; what those definitions resolve against.
   */
  readonly emits?: EmitContext;
  /**
   * `repeat`: after the job succeeds, run the `test` job; run the job again
   * `until` the test succeeds or `while` it does, at most `max` runs.
   */
  readonly repeat?: RepeatSpec;
  /**
   * A `foreach` glob over files that other jobs write: this job stands for
   * the group and is expanded once those jobs have run.
   */
  readonly deferred?: DeferredForeach;
  /** `cache:` of the job: false (never cached), true (even without writes), or key settings. */
  readonly cache?: boolean | CacheSettings;
  /**
   * The top-level `cache: {env, salt}` of the included jobs file the job is
   * written in (the root file's, which cover every job, are the graph's).
   */
  readonly fileCache?: CacheSettings;
  /** Module-only. */
  readonly ready?: undefined;
  /** Module-only. */
  readonly health?: undefined;
  /** Module-only. */
  readonly log?: undefined;
  /** Module-only. */
  readonly stop?: undefined;
  /** Module-only. */
  readonly restart?: undefined;
  /** Module-only. */
  readonly subscribe?: undefined;
  /** Module-only. */
  readonly maxRestarts?: undefined;
}

/**
 * A module (`modules:`): a long-running process started when something
 * needs it, ready once its check passes. The job-only keys are absent.
 */
export interface ModuleNode extends SpecBase {
  /** A module. */
  readonly kind: "module";
  /** How jx knows it is ready. */
  readonly ready?: ReadySpec;
  /** The liveness check repeated while it runs. */
  readonly health?: HealthSpec;
  /** The file (absolute) its output is appended to. */
  readonly log?: string;
  /** How to stop it (the signal, then SIGKILL after `graceMs`). */
  readonly stop?: { readonly signal: string; readonly graceMs: number };
  /** When to start it again after it exits. */
  readonly restart?: "no" | "on-failure" | "always";
  /** Pubsub topics delivered as lines on its stdin. */
  readonly subscribe?: string[];
  /** Restarts in a row before it is failed. */
  readonly maxRestarts?: number;
  /** Job-only. */
  readonly depfile?: undefined;
  /** Job-only. */
  readonly timeoutMs?: undefined;
  /** Job-only. */
  readonly retryDelay?: undefined;
  /** Job-only. */
  readonly interactive?: undefined;
  /** Job-only. */
  readonly inheritOutput?: undefined;
  /** Job-only. */
  readonly if?: undefined;
  /** Job-only. */
  readonly unless?: undefined;
  /** Job-only. */
  readonly jobserver?: undefined;
  /** Job-only. */
  readonly executor?: undefined;
  /** Job-only. */
  readonly slurm?: undefined;
  /** Job-only. */
  readonly emits?: undefined;
  /** Job-only. */
  readonly repeat?: undefined;
  /** Job-only. */
  readonly deferred?: undefined;
  /** Job-only. */
  readonly cache?: undefined;
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
export type JobSpec = JobNode | ModuleNode;

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
  /** The root file's `default:`: what a run with no job named takes (`Graph.selectForRun`). */
  default?: string[];
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
  /** The names its dotenv files set that the process environment overrides (see `JobSpec`). */
  envFromProcess?: string[];
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
  /** Where its `foreach` is in `ctx.file`: the place of an error of one of its items. */
  pos?: Pos;
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
