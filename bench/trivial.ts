/**
 * Trivial-jobs benchmark: the per-job overhead of `jx run`.
 *
 * Runs N trivial jobs (`/bin/true`, default 2,000) with J in flight (default 8)
 * through these tools on the same commands, in the same run:
 *
 * - `jx run` on Deno and on Bun, each with the epoll and the portable reactor
 *   (a jobs file of N `run: [/bin/true]` jobs),
 * - `make -j J` (a Makefile of N phony targets, each recipe `/bin/true`), and
 *   `make -j J -Otarget` (each recipe's output held and written whole, as jx's
 *   default `--output group` does; plain `make -j J` lets children write to
 *   its own stdout and captures nothing),
 * - `ninja -j J` (N edges whose outputs are never made),
 * - `xargs -P J -n 1 /bin/true` (fed N lines on stdin).
 *
 * Each timed run executes every tool once, in an order rotated from run to run
 * so that machine noise hits all of them alike. The wall time of each whole
 * command is measured (process start to exit, so jx's startup counts). Before
 * and after the timed runs, an untimed verification run of each jx variant
 * writes `--events` and checks that exactly N `job.end` events have status
 * `ok`. Prints median, min and max per tool and the ratio of each median to
 * make's median, and each tool's peak RSS (GNU time's `%M` around every timed
 * run, where /usr/bin/time exists). With `--write`, appends a dated section to
 * `bench/RESULTS.md`.
 *
 * Targets: jx within 1.5x of `make -j8` (the first issue); issue #4: the epoll
 * reactor at most 1.0x make, jx's RSS under 100 MiB.
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/trivial.ts                # 2,000 jobs, 5 runs, -j8
 * node_modules/.bin/deno run -A bench/trivial.ts --jobs 500 --runs 3 -j 4
 * node_modules/.bin/deno run -A bench/trivial.ts --write        # also append to RESULTS.md
 * node_modules/.bin/deno run -A bench/trivial.ts --reactor epoll --binary  # with the standalone binary
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  appendResults,
  buildBinary,
  BUN,
  CLI,
  commandLine,
  DENO,
  environment,
  median,
  medianTable,
  okJobEnds,
  positive,
  REPO,
  RESULTS,
  roundRobin,
  type Sample,
  timeTool,
  trivialJobsYaml,
  trivialMakefile,
} from "./lib.ts";

/** The target ratio of jx's median to make's median. */
const TARGET_RATIO = 1.5;
/** Issue #4's target for the epoll reactor: at most make's wall time. */
const EPOLL_TARGET_RATIO = 1.0;
/** Issue #4's target: jx's peak RSS under 100 MiB. */
const RSS_TARGET_KIB = 100 * 1024;

/** Peak RSS (KiB) of each timed run, by tool name (GNU time's %M; see bench/lib.ts). */
const rssByTool: Record<string, number[]> = {};

/** Command-line options of this benchmark. */
interface Options {
  /** Number of trivial jobs. */
  jobs: number;
  /** Number of timed runs of each tool. */
  runs: number;
  /** Jobs in flight (`-j` / `-P`). */
  parallel: number;
  /** jx's `--reactor` backend on Deno and Bun: `epoll`, `portable`, or `all` (both; the default). */
  reactor: string;
  /** Append the results to bench/RESULTS.md. */
  write: boolean;
  /** Also the standalone binary (`bun build --compile`, built fresh), default reactor. */
  binary: boolean;
}

/** One tool under test: how to run it on the generated inputs. */
interface Tool {
  name: string;
  cmd: string;
  args: string[];
  /** Text fed to stdin, if any. */
  stdin?: string;
  /** Whether this is a jx variant (verified through its events file). */
  jx: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      jobs: { type: "string", default: "2000" },
      runs: { type: "string", default: "5" },
      parallel: { type: "string", short: "j", default: "8" },
      reactor: { type: "string", default: "all" },
      write: { type: "boolean", default: false },
      binary: { type: "boolean", default: false },
    },
  });
  return {
    jobs: positive("jobs", values.jobs),
    runs: positive("runs", values.runs),
    parallel: positive("parallel", values.parallel),
    reactor: values.reactor,
    write: values.write,
    binary: values.binary,
  };
}

/** The equivalent build.ninja: N edges whose outputs are never made, so each runs every time. */
function ninjaFile(n: number): string {
  const lines = ["rule t", "  command = /bin/true", ""];
  for (let i = 0; i < n; i++) lines.push(`build t${i}: t`);
  return lines.join("\n") + "\n";
}

/** The xargs input: one line per job. */
function xargsInput(n: number): string {
  return Array.from({ length: n }, (_, i) => `t${i}\n`).join("");
}

/** Writes the inputs to a fresh temp dir and returns the tools to run there. */
async function prepare(opts: Options, dir: string): Promise<Tool[]> {
  const jobsFile = `${dir}/jobs.yaml`;
  const makeFile = `${dir}/Makefile`;
  await Deno.writeTextFile(jobsFile, trivialJobsYaml(opts.jobs));
  await Deno.writeTextFile(makeFile, trivialMakefile(opts.jobs));
  await Deno.writeTextFile(`${dir}/build.ninja`, ninjaFile(opts.jobs));
  const j = String(opts.parallel);
  const jxArgs = (reactor: string) => [
    "run",
    "-f",
    jobsFile,
    `-j${j}`,
    "--output",
    "quiet",
    "--reactor",
    reactor,
  ];
  const deno = (reactor: string): Tool => ({
    name: `jx (Deno, ${reactor})`,
    cmd: DENO,
    args: ["run", "-A", CLI, ...jxArgs(reactor)],
    jx: true,
  });
  const bun = (reactor: string): Tool => ({
    name: `jx (Bun, ${reactor})`,
    cmd: BUN,
    args: [CLI, ...jxArgs(reactor)],
    jx: true,
  });
  const reactors = opts.reactor === "all" ? ["epoll", "portable"] : [opts.reactor];
  const binary: Tool[] = opts.binary
    ? [{
      name: "jx (binary, epoll)",
      cmd: await buildBinary(`${dir}/jx`),
      args: jxArgs("epoll"),
      jx: true,
    }]
    : [];
  return [
    ...reactors.map(deno),
    ...reactors.map(bun),
    ...binary,
    { name: `make -j${j}`, cmd: "make", args: ["-s", `-j${j}`, "-f", makeFile, "all"], jx: false },
    // Each recipe's output held and written whole, as jx's default (`--output group`) does.
    {
      name: `make -j${j} -Otarget`,
      cmd: "make",
      args: ["-s", `-j${j}`, "-Otarget", "-f", makeFile, "all"],
      jx: false,
    },
    { name: `ninja -j${j}`, cmd: "ninja", args: [`-j${j}`, "-C", dir, "--quiet"], jx: false },
    {
      name: `xargs -P${j}`,
      cmd: "xargs",
      args: [`-P${j}`, "-n1", "/bin/true"],
      stdin: xargsInput(opts.jobs),
      jx: false,
    },
  ];
}

/** Runs one tool to completion in `cwd`; returns its wall time in ms. Throws on a non-zero exit. */
async function timeOnce(tool: Tool, cwd: string, extraArgs: string[] = []): Promise<number> {
  const args = [...tool.args, ...extraArgs];
  const r = await timeTool(tool.name, tool.cmd, args, cwd, { stdin: tool.stdin, rss: true });
  if (r.rssKiB !== undefined && !extraArgs.length) (rssByTool[tool.name] ??= []).push(r.rssKiB);
  return r.ms;
}

/** Runs a jx tool once with `--events` and checks that it ran all N jobs successfully. */
async function verifyJx(tool: Tool, cwd: string, n: number): Promise<void> {
  const events = `${cwd}/events-${tool.name.replace(/\W+/g, "_")}.ndjson`;
  await timeOnce(tool, cwd, ["--events", events]);
  const ok = await okJobEnds(events);
  if (ok !== n) throw new Error(`${tool.name}: ${ok} job.end ok events, expected ${n}`);
}

/** Runs every tool `runs` times, round-robin, rotating the start each run. */
function measure(tools: Tool[], cwd: string, runs: number): Promise<Sample<Tool>[]> {
  return roundRobin(tools, runs, (tool) => timeOnce(tool, cwd), (r, times) => {
    const line = times.map(([tool, ms]) => `${tool.name} ${(ms / 1000).toFixed(2)} s`);
    console.error(`run ${r + 1}/${runs}: ${line.join(", ")}`);
  });
}

/** The markdown table: tool, median, min, max, ratio of median to make's median. */
function table(samples: Sample<Tool>[], baseline: string): string {
  const named = samples.map(({ tool, ms }) => ({ name: tool.name, ms }));
  return medianTable(named, baseline, { unit: "s", rssKiB: rssByTool });
}

/** One line per jx variant: did its median meet the target? */
function verdicts(samples: Sample<Tool>[], baseline: string): string[] {
  const base = median(samples.find((s) => s.tool.name === baseline)!.ms);
  return samples.filter((s) => s.tool.jx).map(({ tool, ms }) => {
    const ratio = median(ms) / base;
    const met = (target: number) => ratio <= target ? "met" : "NOT met";
    const epoll = tool.name.includes("epoll")
      ? `; issue #4 (epoll): ${EPOLL_TARGET_RATIO.toFixed(1)}x ${met(EPOLL_TARGET_RATIO)}`
      : "";
    const kib = rssByTool[tool.name] ?? [];
    const rss = kib.length
      ? `; peak RSS ${(Math.max(...kib) / 1024).toFixed(0)} MiB, under 100 MiB ${
        Math.max(...kib) < RSS_TARGET_KIB ? "met" : "NOT met"
      }`
      : "";
    return `${tool.name}: ${ratio.toFixed(2)}x ${baseline} — target ${TARGET_RATIO}x ${
      met(TARGET_RATIO)
    }${epoll}${rss}`;
  });
}

/** A shell-readable form of a tool's command line, with paths relative to the repo. */
function toolLine(tool: Tool, dir: string): string {
  const code = commandLine(tool.cmd, tool.args, dir);
  return tool.stdin === undefined ? code : `${code} with N lines \`t0\`..\`tN-1\` on stdin`;
}

/** The dated markdown section appended to RESULTS.md. */
async function section(
  opts: Options,
  tools: Tool[],
  samples: Sample<Tool>[],
  baseline: string,
  dir: string,
): Promise<string> {
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return [
    `## ${date} — trivial: ${opts.jobs} × /bin/true, -j${opts.parallel}`,
    "",
    ...(await environment({ label: "runtimes", ninja: false })),
    `- N = ${opts.jobs} jobs, ${opts.parallel} in flight, ${opts.runs} timed runs per tool ` +
    "(round-robin, order rotated each run); wall time of the whole command, startup included",
    "- jx verified by `--events` (N `job.end` ok) " +
    "before and after the timed runs",
    "- peak RSS: GNU time's `%M` around each timed run, the largest of the runs (for jx, jx's " +
    "own peak: a child started by vfork and exec reports its parent's size at the spawn)",
    "- commands (`$TMP` is a fresh temp dir, also the working directory):",
    ...tools.map((t) => `  - ${t.name}: ${toolLine(t, dir)}`),
    "",
    table(samples, baseline),
    "",
    `Targets: jx within ${TARGET_RATIO}x of ${baseline} (medians, same run); issue #4: ` +
    `jx with the epoll reactor at most ${EPOLL_TARGET_RATIO.toFixed(1)}x, jx's RSS under 100 MiB.`,
    ...verdicts(samples, baseline).map((v) => `- ${v}`),
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const opts = parseOptions(Deno.args);
  const dir = await Deno.makeTempDir({ prefix: "jx-bench-trivial-" });
  try {
    const tools = await prepare(opts, dir);
    const baseline = tools.find((t) => t.name.startsWith("make"))!.name;
    const jxTools = tools.filter((t) => t.jx);
    for (const t of jxTools) await verifyJx(t, dir, opts.jobs);
    const samples = await measure(tools, dir, opts.runs);
    for (const t of jxTools) await verifyJx(t, dir, opts.jobs);
    console.log(table(samples, baseline));
    for (const v of verdicts(samples, baseline)) console.log(v);
    if (opts.write) {
      await appendResults(await section(opts, tools, samples, baseline, dir));
      console.log(`appended to ${RESULTS.replace(`${REPO}/`, "")}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
