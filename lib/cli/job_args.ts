/**
 * `jx run JOB -- ARG...`: the arguments given to one job (CONTRACT.md "Job
 * arguments"). A `run:` string runs as `sh -c RUN JOB ARG...` (`$0` is the
 * job's name, as without arguments: graph/argv.ts; `$1`... its arguments); a
 * `run:` list gets them appended.
 * Arguments are part of the job's argv, so its up-to-date fingerprint
 * (state/check.ts) and its cache key change with them; the no-op record's
 * key holds them too (noop_run.ts `runKey`).
 *
 * @module
 */
import { JxInputError } from "../runtime/errors.ts";
import { type Graph, isShellString, shellQuote } from "../graph/mod.ts";
import type { JobSpec } from "../graph/types.ts";

/**
 * The argv and display command of `spec` run with `args`. No arguments
 * (`jx run JOB --`) is the job as without `--`: the same fingerprint and key.
 */
export function withArgs(spec: JobSpec, args: string[]): { argv: string[]; command: string } {
  if (!args.length) return { argv: spec.argv, command: spec.command };
  const argv = isShellString(spec) ? [...spec.argv, spec.name, ...args] : [...spec.argv, ...args];
  const command = args.length
    ? `${spec.command} -- ${args.map(shellQuote).join(" ")}`
    : spec.command;
  return { argv, command };
}

/**
 * Gives `jobArgs` to the one job named in `names` (exactly one job, else a
 * usage error). The job's spec is changed in place: this run's graph is
 * loaded for this run only, and every part of it (the builder, the state,
 * the cache, the reporters) reads the same spec. None (`jx run a b --`) is
 * the run without `--`, as the no-op fast path, which answers before the
 * graph is loaded, takes it (noop_run.ts `runKey`).
 */
export function applyJobArgs(
  graph: Graph,
  names: string[],
  jobArgs: string[] | undefined,
  command: "run" | "watch" = "run",
): void {
  if (!jobArgs?.length) return;
  const job = names.length === 1 ? graph.byName.get(names[0]) : undefined;
  if (!job || job.kind !== "job") {
    const got = names.length === 1 ? notOneJob(graph, names[0]) : `${names.length} given`;
    throw new JxInputError(`jx ${command} JOB -- ARG...: name exactly one job (${got})`);
  }
  Object.assign(job, withArgs(job, jobArgs));
}

/** What `name`, named with arguments, is instead of one job: a module, a group, or nothing. */
function notOneJob(graph: Graph, name: string): string {
  const spec = graph.byName.get(name);
  if (spec?.kind === "module") return `'${name}' is a module`;
  const items = graph.jobs.filter((j) => j.group === name);
  if (items.length) {
    return `'${name}' is a foreach group of ${items.length} job${items.length === 1 ? "" : "s"}: ` +
      `name one, as '${items[0].name}'`;
  }
  return `'${name}' is not a job`;
}
