/**
 * `runJobs`: a run of a selection, from its options to its result. It picks
 * the runner (local, or dry run), builds each job's environment and hands
 * both to a `Builder` (builder.ts), which drives the plan.
 *
 * @module
 */
import type { Graph } from "../graph/graph.ts";
import { envObject } from "../runtime/fs.ts";
import type { JobSpec } from "../graph/types.ts";
import { JxInputError } from "../runtime/errors.ts";
import { Builder } from "./builder.ts";
import { loadEmit } from "./generated.ts";
import { DryRunRunner, LocalRunner } from "./local_runner.ts";
import type { RunOptions, RunResult } from "./options.ts";
import type { Runner } from "./runner.ts";
import { LocalSlots } from "./slots.ts";

export type {
  JobFeed,
  ModuleHost,
  ModuleRun,
  RunControl,
  RunOptions,
  RunResult,
} from "./options.ts";

/** A short random id for `JX_RUN_ID`. */
export function newRunId(): string {
  return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 8);
}

/**
 * Runs the selected jobs of a graph (a job selected twice runs once). A
 * reporter that throws stops the run as SIGTERM would; the promise then
 * rejects with its exception. A selected job that is not the graph's own
 * (from another graph, or not a job: a name) rejects with a `JxInputError`
 * before anything starts, as does a `jobs` that is not a whole number of at
 * least 1, a `baseEnv` or `extraEnv` value that is not a string, a
 * selection with a module and no `modules`, or a feed whose name is a job's
 * or another feed's (or none).
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { createPortableReactor } from "../reactor/mod.ts";
 * import { runJobs } from "./run.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  hi: { run: echo hi }\n", "j.yaml");
 * const result = await runJobs(g, g.select([]), { reactor: createPortableReactor(), jobs: 2 });
 * assertEquals(result.exit, 0);
 * ```
 */
export async function runJobs(
  graph: Graph,
  selected: JobSpec[],
  opts: RunOptions,
): Promise<RunResult> {
  const { jobs } = opts;
  if (!opts.slots && jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1)) {
    throw new JxInputError(`RunOptions.jobs: expected a whole number of at least 1, got ${jobs}`);
  }
  // The run finds each job by its place in the graph (a job twice was one place counted twice:
  // the run waited for good for the second).
  const seen = new Uint8Array(graph.jobs.length);
  let twice = false;
  for (const spec of selected) {
    if (typeof spec !== "object" || spec === null) {
      throw new JxInputError(
        `the selection holds ${typeof spec === "string" ? `'${spec}'` : String(spec)}, ` +
          "not a job (select jobs with graph.select([...names]))",
      );
    }
    // A job of another graph is not there.
    if (graph.jobs[spec.index]?.name !== spec.name) {
      throw new JxInputError(
        `job '${spec.name}' is not in the graph it is run with (select jobs from that graph)`,
      );
    }
    if (seen[spec.index]) twice = true;
    seen[spec.index] = 1;
  }
  // Selections joined (`[...g.select(["a"]), ...g.select(["b"])]`) share what both wait for.
  if (twice) selected = selected.filter((spec) => seen[spec.index] && !(seen[spec.index] = 0));
  for (const key of ["baseEnv", "extraEnv"] as const) {
    // A value not a string was spawned as each backend saw fit: "undefined" (epoll), unset (Bun's
    // portable), a failed job (Deno's: "serde_v8 error: invalid type").
    for (const [name, value] of Object.entries(opts[key] ?? {})) {
      if (typeof value !== "string") {
        throw new JxInputError(
          `RunOptions.${key}.${name}: expected a string, got ${
            value === null ? "null" : typeof value
          }`,
        );
      }
    }
  }
  const feeds = new Set<string>();
  for (const { name } of opts.feeds ?? []) {
    // Nameless, the feed's end resolved no job of the run: an unhandled rejection, the run pending.
    if (typeof name !== "string" || name === "") {
      throw new JxInputError(
        `RunOptions.feeds: a feed's name must be a non-empty string, got ${
          typeof name === "string" ? "''" : String(name)
        }`,
      );
    }
    // A feed is a job of the run (what it made waits for it): its name must be free.
    if (graph.byName.has(name) || feeds.has(name)) {
      throw new JxInputError(`RunOptions.feeds: the name '${name}' is taken (a job or a feed)`);
    }
    feeds.add(name);
  }
  const modules = selected.filter((j) => j.kind === "module");
  if (modules.length && !opts.modules && !opts.dryRun && !opts.runner?.passOver) {
    throw new JxInputError(
      `the selection holds modules (${modules.map((m) => m.name).join(", ")}): ` +
        "pass RunOptions.modules (a Supervisor)",
    );
  }
  const { signal } = opts;
  if (!signal) return await started(graph, selected, opts);
  signal.throwIfAborted();
  const control = opts.control ?? {};
  const cancel = () => control.cancel?.();
  signal.addEventListener("abort", cancel, { once: true });
  try {
    return await started(graph, selected, { ...opts, control });
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}

/** The run of `runJobs`, its options checked. */
async function started(graph: Graph, selected: JobSpec[], opts: RunOptions): Promise<RunResult> {
  const start = () => new Builder(graph, selected, opts, runnerFor(opts), envMaker(opts)).run();
  if (!opts.feeds?.length && !selected.some((j) => j.emits || j.deferred)) return await start();
  // The run starts once the parser of generated jobs is loaded; `control` works from now on.
  const early = holdControl(opts.control);
  await loadEmit();
  const done = start();
  early();
  return await done;
}

/**
 * Fills in `control` until the run does: its calls are kept, and made
 * again on the run's own by the function returned (once the run has started).
 */
function holdControl(control: RunOptions["control"]): () => void {
  if (!control) return () => {};
  const calls: (() => void)[] = [];
  control.stop = (sig) => void calls.push(() => control.stop!(sig));
  control.cancel = () => void calls.push(() => control.cancel!());
  return () => {
    for (const call of calls) call();
  };
}

/** The runner of a run: the one given, a dry run, or local processes within the slots. */
function runnerFor(opts: RunOptions): Runner {
  if (opts.runner) return opts.runner;
  const slots = opts.slots ?? new LocalSlots(opts.jobs ?? 1);
  return opts.dryRun ? new DryRunRunner(slots.limit) : new LocalRunner(opts.reactor, slots);
}

/** Each job's environment: jx's, the job's `env`, `extraEnv`, `JX_JOB`, `JX_RUN_ID`, MAKEFLAGS. */
function envMaker(opts: RunOptions): (spec: JobSpec) => Record<string, string> {
  const runId = opts.runId ?? newRunId();
  // A copy in V8's fast mode: the environment of a process comes as a
  // dictionary-mode object, and spreading one of those for every job (below)
  // costs about 30 times as much, most of a run's garbage.
  const baseEnv = fastCopy(opts.baseEnv ?? currentEnv());
  const slots = opts.slots;
  return (spec) => {
    const env = { ...baseEnv, ...spec.env, ...opts.extraEnv, JX_JOB: spec.name, JX_RUN_ID: runId };
    return slots?.jobEnv ? slots.jobEnv(env, spec) : env;
  };
}

/**
 * A copy of a string-valued record, same keys in the same order, built so
 * that V8 keeps it in fast mode (as `JSON.parse` builds objects), whatever
 * mode the original is in.
 */
function fastCopy(o: Record<string, string>): Record<string, string> {
  // Only plain strings survive JSON unchanged: anything else is used as it is.
  for (const k in o) if (typeof o[k] !== "string" || !Object.hasOwn(o, k)) return o;
  return JSON.parse(JSON.stringify(o));
}

function currentEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(envObject())) if (typeof v === "string") out[k] = v;
  return out;
}
