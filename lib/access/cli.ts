/**
 * `jx lint [-f FILE] [-j N] [--ignore GLOB]... [--events FILE] [JOB...]`:
 * runs the selected jobs (and what they need), every one even if up to
 * date, under the tracer (`AccessCheck`, on the runner seam) and reports
 * every difference from their declarations (docs/lint.md).
 *
 * @module
 */
import process from "node:process";
import {
  type Graph,
  jobsFileOrFail,
  type JobSpec,
  JxInputError,
  lintIgnoreProblem,
  loadJobsFile,
} from "../graph/mod.ts";
import { ioReason, noValue, optionHint, usageError } from "../runtime/errors.ts";
import { tempRoot } from "../runtime/stale.ts";
import { createReactor, guardReactor, jobsWithinFds } from "../reactor/mod.ts";
import { DEFAULT_GRACE_MS } from "../graph/duration.ts";
import { fdNeed, LocalRunner, LocalSlots, type Reporter, runJobs } from "../scheduler/mod.ts";
import { CtlServer, Supervisor } from "../modules/mod.ts";
import { ConsoleReporter, EventLog } from "../report/mod.ts";
import { takeLock } from "../state/mod.ts";
import { cpuCount, isTerminal, writeAll } from "../runtime/mod.ts";
import { AccessCheck, strictExits } from "./check.ts";
import { fileIgnore } from "./ignore.ts";
import { Remembered } from "./remembered.ts";
import { StraceTracer } from "./strace.ts";
import type { TraceLoop } from "./trace_pipe.ts";

const USAGE = "usage: jx lint [-f FILE] [-j N] [--ignore GLOB]... [--events FILE] [JOB...]";

/** The help text of `jx lint --help`. */
export const LINT_HELP = `Usage: ${USAGE.slice("usage: ".length)}

Runs the jobs (default: all, and what they need) under strace and reports, for
each, what it read or wrote without declaring it in reads/writes, with a
suggested edit; the findings are remembered in .jx/ (jx explain JOB shows
them). Exit 0 when every job ran clean, 1 on a finding or a failed job, 2 on
bad input or no strace that can trace here. See docs/lint.md.

Options:
  -f, --file FILE        jobs file (default: jobs.yaml, then jobs.yml, here or above)
  -j, --jobs N           jobs at once (default: number of CPUs)
      --ignore GLOB      paths never reported (as the jobs file's lint.ignore), repeatable
      --events FILE      write NDJSON events (access.finding among them)
      --no-color         taken, as by every command (lint prints no colour)

Examples:
  jx lint
  jx lint --ignore 'cache/**' test
`;

/** The parsed arguments of `jx lint`. */
export interface LintArgs {
  /** `-f FILE`: the jobs file (default: jobs.yaml or jobs.yml here). */
  file?: string;
  /** `--ignore GLOB`, each time given. */
  ignore: string[];
  /** `--events FILE`: the NDJSON event log. */
  events?: string;
  /** `-j N`: jobs at once (default: the CPU count, as `jx run`). */
  jobs?: number;
  /** The jobs to check (default: all). */
  names: string[];
  /** `-h`, `--help`. */
  help?: boolean;
}

/**
 * Options of `jx run` a user may give `jx lint` for what lint does already: what it does, and the
 * `jx run` that does the rest.
 */
const RUN_FLAGS: Record<string, string> = {
  "--strict": "jx lint already exits 1 on any finding; to fail a run on one: jx run --strict",
  "--check-access":
    "jx lint checks every job it runs; to check a run's jobs: jx run --check-access",
  "-k": "jx lint always keeps going: every job that can run runs",
  "--keep-going": "jx lint always keeps going: every job that can run runs",
  "--force": "jx lint runs every selected job, up to date or not",
  "-B": "jx lint runs every selected job, up to date or not",
};

/** Parses the arguments after `lint`; throws `JxInputError` on anything unknown. */
export function parseLintArgs(args: string[]): LintArgs {
  const out: LintArgs = { ignore: [], names: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = () => {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      // An empty one too (`--events=`: it ran with no log; `--file=`: no jobs file found).
      if (v === undefined || v === "") throw usageError("lint", `${flag} needs a value`);
      return v;
    };
    if (flag === "-f" || flag === "--file") out.file = value();
    else if (flag === "-h" || flag === "--help") out.help = true;
    else if (flag === "--ignore") out.ignore.push(ignoreGlob(value()));
    else if (flag === "--events") out.events = value();
    else if (flag === "--no-color") noValue(flag, eq > 0, "lint"); // taken; its output has no colour
    else if (flag === "-j" || flag === "--jobs") out.jobs = jobCount(flag, value());
    else if (/^-j\d+$/.test(a)) out.jobs = jobCount("-j", a.slice(2));
    else if (a.startsWith("-")) {
      const own = ["--file", "--jobs", "--ignore", "--events", "--help", "--no-color"];
      const hint = Object.hasOwn(RUN_FLAGS, flag) ? ` (${RUN_FLAGS[flag]})` : optionHint(flag, own);
      throw usageError("lint", `unknown option '${flag}'${hint}`);
    } else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)) {
      // A var as `jx run` takes one: lint reads none (it was 'unknown job', as a name).
      throw usageError("lint", `unexpected argument '${a}'`);
    } else out.names.push(a);
  }
  return out;
}

/** An `--ignore` value, checked as the jobs file's `lint.ignore` items are. */
function ignoreGlob(g: string): string {
  const why = lintIgnoreProblem(g);
  if (why) throw new JxInputError(`--ignore '${g}': ${why}`);
  return g;
}

/** A `-j` value: a whole number of at least 1. */
function jobCount(flag: string, v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) {
    throw new JxInputError(`${flag}: expected a whole number of at least 1, got '${v}'`);
  }
  return Number(v);
}

/**
 * The strace tracer, each trace read as it is written through the run's reactor `loop`; bad input
 * (exit 2, one line naming the command, before anything runs) when strace is missing or cannot
 * trace here (ptrace not permitted, jx itself traced): a job it ran would fail for strace's reason,
 * not its own; and when its folder in the temporary directory cannot be made.
 */
export function newTracer(command: string, loop?: TraceLoop): StraceTracer {
  let tracer: StraceTracer;
  try {
    tracer = new StraceTracer({ loop });
  } catch (e) {
    throw new JxInputError(`${command}: ${(e as Error).message}`);
  }
  const why = tracer.probe();
  if (why) throw new JxInputError(`${command}: strace cannot trace here: ${why} (docs/lint.md)`);
  try {
    tracer.prepare();
  } catch (e) {
    throw new JxInputError(
      `${command}: cannot make its trace folder in ${tempRoot()}: ${ioReason(e)}`,
    );
  }
  return tracer;
}

/**
 * Runs `jx lint ...` (the arguments after `lint`) and returns the exit code.
 * Jobs run in parallel (`-j`): the comparison rests on what each job did
 * and on the graph's order, never on the order they happened to run in.
 */
export async function cmdLint(argv: string[]): Promise<number> {
  const args = parseLintArgs(argv);
  if (args.help) {
    writeAll(1, LINT_HELP);
    return 0;
  }
  const graph = loadJobsFile(jobsFileOrFail(args.file, process.cwd()));
  const selected = graph.selectForRun(args.names);
  // No strace, or one that cannot trace: bad input before the lock is taken.
  const tracer = newTracer("jx lint");
  let lock: { release(): void } | undefined;
  try {
    // One run per directory, as `jx run`: lint runs the jobs too.
    lock = await takeLock(graph.baseDir, false, "lint");
    return await lintRun(args, graph, selected, tracer);
  } finally {
    // Its folder, made already, goes whatever ends the run (a bad --events, an error).
    tracer.close();
    lock?.release();
  }
}

/** `jx lint`'s run, with the directory's lock held: every selected job, traced. */
async function lintRun(
  args: LintArgs,
  graph: Graph,
  selected: JobSpec[],
  tracer: StraceTracer,
): Promise<number> {
  const root = graph.baseDir;
  // First: an --events that cannot be written is bad input, before a job or a reactor.
  const events = args.events ? new EventLog(args.events, graph.filesRead()) : undefined;
  // A watchdog ends the jobs if jx is killed (see reactor/watchdog.ts).
  const reactor = guardReactor(createReactor(), DEFAULT_GRACE_MS);
  tracer.readThrough(reactor);
  const check = new AccessCheck({
    graph,
    tracer,
    ignore: [...fileIgnore(graph.file), ...args.ignore],
    clock: reactor,
    remembered: new Remembered(root, graph.file),
  });
  const reporters: Reporter[] = [
    new ConsoleReporter({ mode: "buffered", color: false, statusLine: isTerminal(2), graph }),
  ];
  if (events) reporters.push(events);
  reporters.unshift(check.reporter(reporters));
  const supervisor = new Supervisor();
  // The control socket, as in `jx run`: jobs may talk to the modules through JX_CTL.
  const ctl = selected.some((j) => j.kind === "module")
    ? await CtlServer.listen(root, (req) => supervisor.control(req)).catch(() => undefined)
    : undefined;
  try {
    const env = Object.fromEntries(
      Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
    );
    const warn = (w: string) => writeAll(2, `jx: warning: ${w}\n`);
    const result = await runJobs(graph, selected, {
      reactor,
      runner: check.runner(
        new LocalRunner(
          reactor,
          new LocalSlots(
            jobsWithinFds(args.jobs ?? cpuCount(), warn, { ...fdNeed(selected), traced: true }),
          ),
        ),
        strictExits(true, () => check.findings.length).decide,
      ),
      keepGoing: true,
      reporters,
      baseEnv: env,
      // Modules the jobs need run as in `jx run`, untraced (they outlive the jobs).
      modules: supervisor,
      extraEnv: ctl ? { JX_CTL: ctl.path } : undefined,
    });
    for (const r of reporters) await r.close?.();
    // Findings made it 1 before run.end said it (an interrupted lint keeps its 130/143).
    return result.exit;
  } finally {
    check.close();
    await ctl?.close();
    reactor.close();
    await reactor.drained();
  }
}
