/**
 * The commands over a jobs file: `jx run`, `list`, `graph`, `explain`,
 * `clean`. `main.ts` imports this module only when one of them runs.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { JxInputError } from "../graph/errors.ts";
import type { Graph, JobSpec } from "../graph/mod.ts";
import { warnMakeJobs } from "../jobserver/mod.ts";
import { createReactor } from "../reactor/mod.ts";
import { collectGarbage, writeAll } from "../runtime/mod.ts";
import { runJobs } from "../scheduler/mod.ts";
import { isTracked, UpToDate } from "../state/mod.ts";
import type { Args } from "./args.ts";
import { formatGraph } from "./graph_format.ts";
import { load, setUpSlots, type SlotSetup, takeLock } from "./setup.ts";

/** Jobs in a graph past which a run collects the loader's garbage before it starts. */
const BIG_GRAPH = 5000;

/** `jx run`. */
export async function cmdRun(args: Args): Promise<number> {
  const noop = await import("./noop_run.ts");
  // The jobs file's stamp before it is read, for the no-op record.
  const before = noop.jobsFileStamp(args);
  const graph = load(args);
  const selected = graph.select(args.names);
  // Loading a big graph leaves tens of MB of temporaries: collect them before the run builds
  // its plan on top (the run's own garbage is the MemoryKeeper reporter's).
  if (graph.jobs.length >= BIG_GRAPH) collectGarbage();
  // What the no-op record of this run would be, when it leaves every job up to date.
  let recordable: Parameters<typeof noop.recordRun>[3];
  const warn = (w: string) => writeAll(2, `jx: warning: ${w}\n`);
  for (const w of args.warnings) warn(w);
  // The lock: one run (or watch) at a time per directory, files or not; a dry run takes it only
  // to read the up-to-date state. The state, when a selected job declares files.
  const baseDir = dirname(resolve(graph.file));
  let state: InstanceType<typeof UpToDate> | undefined;
  let lock: { release(): void } | undefined;
  const tracked = selected.some(isTracked);
  if (tracked) lock = await takeLock(baseDir, args.noWait);
  // No state to protect: a .jx/ jx must not use (a link, another user's) costs only the lock.
  else if (!args.dryRun) lock = await takeLock(baseDir, args.noWait, "run", warn);
  if (tracked) state = new UpToDate(baseDir);
  const reactor = createReactor(args.reactor);
  let setup: SlotSetup | undefined;
  try {
    setup = setUpSlots(args, reactor, warn);
    const { slots } = setup;
    for (const j of selected) {
      if (j.tokens > slots.limit) {
        throw new JxInputError(
          `jobs.${j.name}.tokens: needs ${j.tokens} job slots but -j is ${slots.limit}`,
          graph.file,
          j.pos,
        );
      }
    }
    // Modules, and the control socket (`jx ctl`, JX_CTL) of the run.
    const dry = args.dryRun || setup.makeDryRun;
    const mods = await import("../modules/mod.ts");
    const foreground = args.names.filter((n) => graph.byName.get(n)?.kind === "module");
    const modules = new mods.Supervisor({ foreground });
    let ctl: { path: string; close(): Promise<void> } | undefined;
    // Past durations for the status line's estimate, kept where the state is (cli/durations.ts).
    const timed = state && !dry ? await import("./durations.ts") : undefined;
    const lastMs = timed?.lastDurations(baseDir, selected);
    const reporters = noop.runReporters(args, graph, { clock: reactor, lastMs, foreground });
    if (timed) reporters.push(new timed.DurationRecorder(baseDir));
    try {
      if (!dry) {
        ctl = await mods.CtlServer.listen(baseDir, (req) => modules.control(req)).catch((e) => {
          if (args.verbose || e.name === "CtlUnsafe") {
            warn(`no control socket (jx ctl cannot reach this run): ${e.message}`);
          }
          return undefined;
        });
      }
      if (slots.role) warnMakeJobs(selected, warn);
      const result = await runJobs(graph, selected, {
        reactor,
        // A jobserver pool also gives each job its MAKEFLAGS, in its `jobserver:` style.
        slots,
        keepGoing: args.keepGoing || setup.makeKeepGoing,
        dryRun: dry,
        state,
        force: args.force,
        reporters,
        modules,
        extraEnv: ctl ? { JX_CTL: ctl.path } : undefined,
      });
      const upToDate = (r?: { status: string; reason?: string }) =>
        r?.status === "ok" || (r?.status === "skipped" && r.reason === "up-to-date");
      if (
        !dry && state && result.exit === 0 &&
        selected.every((j) => upToDate(result.results.get(j.name)))
      ) {
        recordable = {
          slots: slots.limit,
          jobserver: slots.role ?? "none",
          before,
          recorded: (job) => state!.recordedStamps(job),
        };
      }
      return result.exit;
    } finally {
      await ctl?.close();
      for (const r of reporters) await r.close?.();
    }
  } finally {
    const problem = setup?.finish();
    if (problem) warn(problem);
    reactor.close();
    state?.close();
    if (state) noop.recordRun(args, graph.file, selected, recordable);
    lock?.release();
  }
}

/** `jx list`. */
export function cmdList(args: Args): number {
  const graph = load(args);
  if (args.namesOnly) {
    // For shell completions: bare names, one per line, jobs then modules.
    const names = ["job", "module"].flatMap((k) => graph.jobs.filter((j) => j.kind === k));
    writeAll(1, names.map((j) => j.name + "\n").join(""));
    return 0;
  }
  const rows: string[] = [];
  for (const kind of ["job", "module"] as const) {
    const items = graph.jobs.filter((j) => j.kind === kind);
    if (!items.length) continue;
    rows.push(kind === "job" ? "Jobs:" : "Modules:");
    const w = Math.max(...items.map((j) => j.name.length));
    for (const j of items) rows.push(`  ${j.name.padEnd(w)}  ${j.description ?? ""}`.trimEnd());
  }
  writeAll(1, rows.join("\n") + "\n");
  return 0;
}

/** `jx graph`. */
export function cmdGraph(args: Args): number {
  const graph = load(args);
  const names = new Set(graph.select(args.names).map((j) => j.name));
  writeAll(1, formatGraph(graph, names, args.format));
  return 0;
}

/** `jx explain`. */
export function cmdExplain(args: Args): number {
  const graph = load(args);
  if (args.names.length !== 1) throw new JxInputError("usage: jx explain JOB");
  // The same selections as `jx run` (a foreach group explains each of its jobs).
  const state = new UpToDate(dirname(resolve(graph.file)));
  const text = graph.named(args.names).map((job) => explainOne(graph, state, job)).join("");
  writeAll(1, text);
  return 0;
}

/** What `jx explain` says of one job. */
function explainOne(graph: Graph, state: UpToDate, job: JobSpec): string {
  const lines = [`${job.name}: ${job.command}`];
  const v = state.check(job);
  if (v.upToDate) {
    lines.push("  up to date: inputs, outputs and command are as when it last succeeded");
  } else {
    lines.push("  would run:");
    for (const r of v.reasons) lines.push(`    - ${r}`);
  }
  const deps = graph.depsOf(job.name);
  if (deps.length) {
    lines.push(
      "  waits for (a dependency that reruns and changes its outputs makes this run too):",
    );
    for (const e of deps) lines.push(`    ${e.from} (${e.reason})`);
  }
  return lines.join("\n") + "\n";
}

/** `jx clean`. */
export async function cmdClean(args: Args): Promise<number> {
  const graph = load(args);
  // The named jobs' own outputs; with --deps, those of everything they wait for too.
  const jobs = args.deps || !args.names.length ? graph.select(args.names) : graph.named(args.names);
  return (await import("./clean.ts")).cleanOutputs(graph, jobs, args.dryRun);
}
