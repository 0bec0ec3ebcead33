/**
 * The `jx` command: argument handling and the commands of CONTRACT.md.
 *
 * @module
 */
import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { availableParallelism } from "node:os";
import process from "node:process";
import type { Graph } from "../graph/mod.ts";
import { JxInputError } from "../graph/errors.ts";
import { whenFails } from "../graph/when.ts";
import type { Reactor } from "../reactor/mod.ts";
import type { JobserverSlots } from "../jobserver/mod.ts";
import { collectGarbage, writeAll } from "../runtime/mod.ts";

/** Jobs in a graph past which a run collects the loader's garbage before it starts. */
const BIG_GRAPH = 5000;
import { type Args, parseArgs } from "./args.ts";
import { HELP, VERSION } from "./help.ts";

// The parts behind the commands are imported by loadParts() when a command
// runs, not here: `jx --version`, `--help` and `completions` load none of them
// (no YAML parser, no reactors), and startup is most of what those do.
let findJobsFile: typeof import("../graph/mod.ts").findJobsFile;
let loadJobsFile: typeof import("../graph/mod.ts").loadJobsFile;
let createReactor: typeof import("../reactor/mod.ts").createReactor;
let createJobserver: typeof import("../jobserver/mod.ts").createJobserver;
let joinJobserver: typeof import("../jobserver/mod.ts").joinJobserver;
let parseMakeFlags: typeof import("../jobserver/mod.ts").parseMakeFlags;
let warnMakeJobs: typeof import("../jobserver/mod.ts").warnMakeJobs;
let runJobs: typeof import("../scheduler/mod.ts").runJobs;
let isTracked: typeof import("../state/mod.ts").isTracked;
let tryLock: typeof import("../state/mod.ts").tryLock;
let UpToDate: typeof import("../state/mod.ts").UpToDate;
let formatGraph: typeof import("./graph_format.ts").formatGraph;

let partsLoaded = false;

/** Imports the parts the commands use (once), binding the names above. */
async function loadParts(): Promise<void> {
  if (partsLoaded) return;
  partsLoaded = true;
  const [graph, reactor, jobserver, scheduler, state, format] = await Promise.all([
    import("../graph/mod.ts"),
    import("../reactor/mod.ts"),
    import("../jobserver/mod.ts"),
    import("../scheduler/mod.ts"),
    import("../state/mod.ts"),
    import("./graph_format.ts"),
  ]);
  ({ findJobsFile, loadJobsFile } = graph);
  ({ createReactor } = reactor);
  ({ createJobserver, joinJobserver, parseMakeFlags, warnMakeJobs } = jobserver);
  ({ runJobs } = scheduler);
  ({ isTracked, tryLock, UpToDate } = state);
  ({ formatGraph } = format);
}

/**
 * Runs jx with `argv` and returns the exit code. Never throws for bad
 * input: errors are printed as one line.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["list", "-f", "jobs.yaml.example"]);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  let args: Args | undefined;
  if (argv[0] === "cache") return (await import("../cache/mod.ts")).cmdCache(argv.slice(1));
  if (argv[0] === "ui") return (await import("../ui/mod.ts")).cmdUi(argv.slice(1));
  try {
    if (argv[0] === "lint") return await (await import("../access/mod.ts")).cmdLint(argv.slice(1));
    args = parseArgs(argv, process.env);
    if (args.version && !args.verbose) {
      writeAll(1, `jx ${VERSION}\n`);
      return 0;
    }
    if (args.command === "doctor" || args.version) {
      writeAll(1, (await import("./doctor.ts")).doctorReport(process.env));
      return 0;
    }
    if (args.help || !args.command || args.command === "help") {
      const topic = args.command === "help" ? args.names[0] ?? "" : args.command;
      writeAll(1, HELP[topic] ?? HELP[""]);
      return args.command || args.help ? 0 : 2;
    }
    if (args.command === "completions") {
      return (await import("./completions.ts")).cmdCompletions(args);
    }
    if (args.command === "init") return (await import("./init.ts")).cmdInit(args);
    if (args.command === "ctl") {
      // Before loadParts(): a control request needs no YAML parser and no reactor.
      return await (await import("../modules/ctl_cmd.ts")).cmdCtl({
        action: args.names[0],
        operands: args.names.slice(1),
        json: args.json,
        drain: args.drain,
        baseDir: args.file ? dirname(resolve(args.file)) : process.cwd(),
        env: process.env,
      });
    }
    if (args.command === "sh") {
      // Before loadParts(): a script needs no YAML parser.
      const [sh, reactorPart] = await Promise.all([
        import("../sh/mod.ts"),
        import("../reactor/mod.ts"),
      ]);
      const reactorChoice = args.reactor;
      const [script, ...scriptArgs] = args.execArgv ?? [];
      if (!script) {
        throw new JxInputError("usage: jx sh [-n] [-j N] [--events FILE] SCRIPT [ARG...]");
      }
      return await sh.cmdSh({
        script,
        args: scriptArgs,
        dryRun: args.dryRun,
        jobs: args.jobs ?? availableParallelism(),
        cwd: process.cwd(),
        env: Object.fromEntries(
          Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
        ),
        reactor: () => reactorPart.createReactor(reactorChoice),
        events: args.events,
        trace: args.trace,
      });
    }
    await loadParts();
    switch (args.command) {
      case "run":
        return await cmdRun(args);
      case "list":
        return cmdList(args);
      case "graph":
        return cmdGraph(args);
      case "explain":
        return cmdExplain(args);
      case "watch":
        return await (await import("./watch_cmd.ts")).cmdWatch(args);
      case "clean":
        return await cmdClean(args);
      case "exec":
        return await (await import("./exec.ts")).cmdExec(args);
      default:
        throw new JxInputError(`'jx ${args.command}' is not available in this version yet`);
    }
  } catch (e) {
    if (e instanceof JxInputError) {
      const text = e.file ? e.format() : `jx: ${e.message}`;
      writeAll(2, text + "\n");
      return 2;
    }
    writeAll(2, `jx: internal error: ${(e as Error)?.message ?? e}\n`);
    if (args?.verbose) writeAll(2, `${(e as Error)?.stack}\n`);
    return 1;
  }
}

/** Picks the jobs file: `-f`, a positional that names a YAML file, or jobs.yaml/jobs.yml. */
function jobsFile(args: Args): string {
  if (args.file) return args.file;
  const first = args.names[0];
  if (first && /\.ya?ml(\.example)?$/.test(first)) {
    try {
      if (statSync(first).isFile()) {
        args.names.shift();
        return first;
      }
    } catch { /* a job name after all */ }
  }
  const found = findJobsFile(process.cwd());
  if (!found) throw new JxInputError("no jobs.yaml or jobs.yml here (use -f FILE)");
  return found;
}

/** Loads the jobs file the arguments name. */
export function load(args: Args): Graph {
  return loadJobsFile(jobsFile(args), { vars: args.vars });
}

async function cmdRun(args: Args): Promise<number> {
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
  // Up-to-date state, and the lock that keeps two runs from writing it at once.
  const baseDir = dirname(resolve(graph.file));
  let state: InstanceType<typeof UpToDate> | undefined;
  let lock: { release(): void } | undefined;
  if (selected.some(isTracked)) {
    lock = await takeLock(baseDir, args.noWait);
    state = new UpToDate(baseDir);
  }
  const reactor = createReactor(args.reactor);
  let pool: JobserverSlots | undefined;
  try {
    const js = setUpJobserver(args, reactor, warn);
    pool = js.pool;
    const slots = pool?.limit ?? js.jobs;
    for (const j of selected) {
      if (j.tokens > slots) {
        throw new JxInputError(
          `jobs.${j.name}.tokens: needs ${j.tokens} job slots but -j is ${slots}`,
          graph.file,
          j.pos,
        );
      }
    }
    // Modules, and the control socket (`jx ctl`, JX_CTL) of the run.
    const dry = args.dryRun || js.dryRun;
    const mods = await import("../modules/mod.ts");
    const modules = new mods.Supervisor({
      foreground: args.names.filter((n) => graph.byName.get(n)?.kind === "module"),
    });
    let ctl: { path: string; close(): Promise<void> } | undefined;
    const reporters = noop.runReporters(args, graph);
    try {
      if (!dry) {
        ctl = await mods.CtlServer.listen(baseDir, (req) => modules.control(req)).catch((e) => {
          if (args.verbose || e.name === "CtlUnsafe") {
            warn(`no control socket (jx ctl cannot reach this run): ${e.message}`);
          }
          return undefined;
        });
      }
      if (pool) warnMakeJobs(selected, warn);
      const result = await runJobs(graph, selected, {
        reactor,
        jobs: js.jobs,
        slots: pool,
        jobserver: pool?.role ?? "none",
        // Each job's MAKEFLAGS in the form its `jobserver:` key asks for.
        jobEnv: pool ? (spec, env) => pool!.jobEnv(env, spec) : undefined,
        keepGoing: args.keepGoing || js.keepGoing,
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
          slots: pool?.limit ?? js.jobs,
          jobserver: pool?.role ?? "none",
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
    const problem = pool?.finish();
    if (problem) warn(problem);
    reactor.close();
    state?.close();
    if (state) noop.recordRun(args, graph.file, selected, recordable);
    lock?.release();
  }
}

/** Takes `.jx/lock`, waiting (with a message) for another run unless `noWait`. */
export async function takeLock(baseDir: string, noWait: boolean): Promise<{ release(): void }> {
  let said = false;
  for (;;) {
    const got = tryLock(baseDir);
    if (typeof got !== "number") return got;
    if (noWait) {
      throw new JxInputError(
        `another jx run is using ${baseDir}/.jx (pid ${got}); not waiting (--no-wait)`,
      );
    }
    if (!said) writeAll(2, `jx: waiting for another jx run in this directory (pid ${got})...\n`);
    said = true;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Chooses the job slots: make's pool when MAKEFLAGS carries one (client),
 * else a pool jx creates for its jobs (server), else a plain counter.
 */
export function setUpJobserver(
  args: Args,
  reactor: Reactor,
  warn: (w: string) => void,
): { pool?: JobserverSlots; jobs: number; dryRun: boolean; keepGoing: boolean } {
  const mf = parseMakeFlags(process.env);
  const jobs = args.jobs ?? availableParallelism();
  const flags = { dryRun: mf.dryRun, keepGoing: mf.keepGoing };
  const canUse = !!reactor.watch;
  if (mf.auth) {
    if (!canUse) {
      warn(`cannot join make's jobserver with the ${reactor.name} reactor; running with -j${jobs}`);
      return { jobs, ...flags };
    }
    if (args.jobs !== undefined) {
      warn(`-j${args.jobs} ignored: using the jobserver of the make that runs jx`);
    }
    const joined = joinJobserver(mf.auth, mf.jobs ?? jobs, reactor);
    if (typeof joined === "string") {
      warn(`${joined}; using -j1`);
      return { jobs: 1, ...flags };
    }
    return { pool: joined, jobs: joined.limit, ...flags };
  }
  if (args.jobserverStyle === "none" || !canUse) return { jobs, dryRun: false, keepGoing: false };
  const style = args.jobserverStyle === "fifo" ? "fifo" : "pipe";
  return { pool: createJobserver(jobs, style, reactor), jobs, dryRun: false, keepGoing: false };
}

function cmdList(args: Args): number {
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

function cmdGraph(args: Args): number {
  const graph = load(args);
  const names = new Set(graph.select(args.names).map((j) => j.name));
  writeAll(1, formatGraph(graph, names, args.format));
  return 0;
}

function cmdExplain(args: Args): number {
  const graph = load(args);
  if (args.names.length !== 1) throw new JxInputError("usage: jx explain JOB");
  const job = graph.get(args.names[0]);
  const lines = [`${job.name}: ${job.command}`];
  if (job.source) lines.push(`  in ${job.source}`);
  const unmet = whenFails(job);
  if (unmet) lines.push(`  skipped here (${unmet})`);
  const v = new UpToDate(dirname(resolve(graph.file))).check(job);
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
  writeAll(1, lines.join("\n") + "\n");
  return 0;
}

async function cmdClean(args: Args): Promise<number> {
  return (await import("./clean.ts")).cleanOutputs(load(args), args.names, args.dryRun);
}
