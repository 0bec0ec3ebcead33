/**
 * `jx lint [-f FILE] [--ignore GLOB]... [--events FILE] [JOB...]`: runs the
 * selected jobs (and what they need) one at a time under the tracer and
 * reports every difference from their declarations (docs/lint.md).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import process from "node:process";
import { parse as parseYaml } from "../runtime/yaml.ts";
import { findJobsFile, type Graph, JxInputError, loadJobsFile } from "../graph/mod.ts";
import { createReactor } from "../reactor/mod.ts";
import { type Reporter, type RunEvent, runJobs } from "../scheduler/mod.ts";
import { CtlServer, Supervisor } from "../modules/mod.ts";
import { ConsoleReporter, EventLog } from "../report/mod.ts";
import { isTerminal, writeAll } from "../runtime/mod.ts";
import { compare } from "./compare.ts";
import { tracingReactor } from "./reactor.ts";
import { StraceTracer } from "./strace.ts";
import type { Access, Finding } from "./types.ts";

const USAGE = "usage: jx lint [-f FILE] [--ignore GLOB]... [--events FILE] [JOB...]";

/** The parsed arguments of `jx lint`. */
export interface LintArgs {
  /** `-f FILE`: the jobs file (default: jobs.yaml or jobs.yml here). */
  file?: string;
  /** `--ignore GLOB`, each time given. */
  ignore: string[];
  /** `--events FILE`: the NDJSON event log. */
  events?: string;
  /** The jobs to check (default: all). */
  names: string[];
}

/** Parses the arguments after `lint`; throws `JxInputError` on anything unknown. */
export function parseLintArgs(args: string[]): LintArgs {
  const out: LintArgs = { ignore: [], names: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = () => {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new JxInputError(`${flag} needs a value (${USAGE})`);
      return v;
    };
    if (flag === "-f" || flag === "--file") out.file = value();
    else if (flag === "--ignore") out.ignore.push(value());
    else if (flag === "--events") out.events = value();
    else if (a.startsWith("-")) throw new JxInputError(`jx lint: unknown option '${a}' (${USAGE})`);
    else out.names.push(a);
  }
  return out;
}

/** `lint: { ignore: [...] }` of the jobs file (validated by the loader), or none. */
export function fileIgnore(file: string): string[] {
  const doc = parseYaml(readFileSync(file, "utf8")) as { lint?: { ignore?: string | string[] } };
  const ig = doc?.lint?.ignore;
  return ig === undefined ? [] : Array.isArray(ig) ? ig.map(String) : [String(ig)];
}

/** One console line per finding: `FILE:LINE:COL: job 'cc' read src/a.h, not in its reads: add reads: [src/*.h]`. */
export function formatFinding(graph: Graph, f: Finding): string {
  const pos = graph.byName.get(f.job)?.pos;
  const where = pos ? `${graph.file}:${pos.line}:${pos.col}: ` : "";
  const what = {
    "undeclared-read": `not in its reads`,
    "undeclared-write": `not in its writes`,
    "race": `as '${f.other}' does, with no order between them`,
    "unordered-read": `which '${f.other}' writes, with no order between them`,
  }[f.problem];
  return `${where}job '${f.job}' ${f.access} ${f.path}, ${what}: add ${f.suggest}\n`;
}

/**
 * Passes a run's events on to `inner`; at `run.end`, first compares the
 * traces with the declarations and reports each finding (a console line
 * and an `access.finding` event).
 */
class FindingReporter implements Reporter {
  findings: Finding[] = [];
  constructor(private inner: Reporter[], private check: () => Finding[], private graph: Graph) {}

  event(e: RunEvent): void {
    if (e.type === "run.end") {
      this.findings = this.check();
      for (const f of this.findings) {
        writeAll(1, formatFinding(this.graph, f));
        const ev: RunEvent = { type: "access.finding", t: e.t, ...f };
        for (const r of this.inner) r.event(ev);
      }
    }
    for (const r of this.inner) r.event(e);
  }

  async close(): Promise<void> {
    for (const r of this.inner) await r.close?.();
  }
}

/** Runs `jx lint ...` (the arguments after `lint`) and returns the exit code. */
export async function cmdLint(argv: string[]): Promise<number> {
  const args = parseLintArgs(argv);
  const file = args.file ?? findJobsFile(process.cwd());
  if (!file) {
    throw new JxInputError("no jobs.yaml or jobs.yml here (use -f FILE, or jx init to write one)");
  }
  const graph = loadJobsFile(file);
  const selected = graph.select(args.names);
  let tracer: StraceTracer;
  try {
    tracer = new StraceTracer();
  } catch (e) {
    throw new JxInputError(`jx lint: ${(e as Error).message}`);
  }
  const traces = new Map<string, Access[]>();
  const record = (job: string, a: Access[]) => traces.set(job, [...(traces.get(job) ?? []), ...a]);
  const reactor = tracingReactor(createReactor(), tracer, record);
  const root = dirname(resolve(graph.file));
  const ignore = [...fileIgnore(graph.file), ...args.ignore];
  const inner: Reporter[] = [
    new ConsoleReporter({ mode: "buffered", color: false, statusLine: isTerminal(2), graph }),
  ];
  if (args.events) inner.push(new EventLog(args.events));
  const findings = new FindingReporter(
    inner,
    () => compare(graph, selected, traces, { root, ignore }),
    graph,
  );
  const supervisor = new Supervisor();
  // The control socket, as in `jx run`: jobs may talk to the modules through JX_CTL.
  const ctl = selected.some((j) => j.kind === "module")
    ? await CtlServer.listen(root, (req) => supervisor.control(req)).catch(() => undefined)
    : undefined;
  try {
    const env = Object.fromEntries(
      Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
    );
    const result = await runJobs(graph, selected, {
      reactor,
      jobs: 1,
      keepGoing: true,
      reporters: [findings],
      baseEnv: env,
      // Modules the jobs need run as in `jx run`, untraced (they outlive the jobs).
      modules: supervisor,
      extraEnv: ctl ? { JX_CTL: ctl.path } : undefined,
    });
    await findings.close();
    if (findings.findings.length) return 1;
    return result.exit;
  } finally {
    await ctl?.close();
    reactor.close();
    tracer.close();
  }
}
