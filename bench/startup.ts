/**
 * Startup benchmark: how long `jx` takes to start, do almost nothing, and exit.
 *
 * Two tasks, each through three ways of starting jx and one make baseline, in
 * the same run:
 *
 * - `jx --version`, and `jx run` of a one-job file (`run: [/bin/true]`),
 * - for the standalone binary (built fresh by `bun build --compile` into a temp
 *   dir, as `deno task compile` does), `deno run -A cli.ts` and `bun cli.ts`,
 * - next to `make --version` and `make` on a one-rule Makefile (recipe
 *   `/bin/true`).
 *
 * Each timed run executes every command once, in an order rotated from run to
 * run so that machine noise hits all of them alike. The wall time of each
 * whole command is measured (spawn to exit). Before the timed runs, every jx
 * variant is checked: `--version` prints `jx VERSION`, and `run --events`
 * logs one `job.end` with status `ok`. Prints median, min and max per command
 * and the ratio of each median to make's median for the same task. With
 * `--write`, appends a dated section to `bench/RESULTS.md`.
 *
 * The target (from the project's issue): the binary's `jx --version` in at
 * most 30 ms (median).
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/startup.ts                   # 10 runs
 * node_modules/.bin/deno run -A bench/startup.ts --runs 20 --write # append to RESULTS.md
 * node_modules/.bin/deno run -A bench/startup.ts --write --note "after lazy imports"
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
  compileCommand,
  DENO,
  environment,
  median,
  okJobEnds,
  positive,
  REPO,
  RESULTS,
  roundRobin,
  type Sample,
  timeTool,
} from "./lib.ts";

/** The target for the binary's `jx --version`, in milliseconds (median). */
const TARGET_MS = 30;

/** Command-line options of this benchmark. */
interface Options {
  /** Number of timed runs of each command. */
  runs: number;
  /** Append the results to bench/RESULTS.md. */
  write: boolean;
  /** A free-text note added to the written section. */
  note?: string;
}

/** What a command does: print the version, or run a one-job file. */
type Task = "version" | "run";

/** One command under test. */
interface Tool {
  /** How it starts: `binary`, `deno run`, `bun`, or `make`. */
  via: string;
  task: Task;
  cmd: string;
  args: string[];
  /** Whether this is a jx variant (checked before timing). */
  jx: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string", default: "10" },
      write: { type: "boolean", default: false },
      note: { type: "string" },
    },
  });
  return { runs: positive("runs", values.runs), write: values.write, note: values.note };
}

/** Writes the inputs to `dir` and returns the commands to time there. */
async function prepare(dir: string): Promise<Tool[]> {
  await Deno.writeTextFile(`${dir}/jobs.yaml`, "version: 1\njobs:\n  t: { run: [/bin/true] }\n");
  await Deno.writeTextFile(`${dir}/Makefile`, ".PHONY: t\nt:\n\t/bin/true\n");
  const binary = await buildBinary(`${dir}/jx`);
  const jxRun = ["run", "-f", `${dir}/jobs.yaml`, "--output", "quiet"];
  const starts: [string, string, string[]][] = [
    ["binary", binary, []],
    ["deno run", DENO, ["run", "-A", CLI]],
    ["bun", BUN, [CLI]],
  ];
  const tools: Tool[] = [];
  for (const task of ["version", "run"] as const) {
    for (const [via, cmd, pre] of starts) {
      const args = task === "version" ? ["--version"] : jxRun;
      tools.push({ via, task, cmd, args: [...pre, ...args], jx: true });
    }
    const makeArgs = task === "version" ? ["--version"] : ["-s", "-f", `${dir}/Makefile`, "t"];
    tools.push({ via: "make", task, cmd: "make", args: makeArgs, jx: false });
  }
  return tools;
}

/** A short name: `jx --version (binary)`, `make (one rule)`. */
function label(t: Tool): string {
  if (!t.jx) return t.task === "version" ? "make --version" : "make (one rule)";
  return `jx ${t.task === "version" ? "--version" : "run (one job)"} (${t.via})`;
}

/** Runs one command to completion in `cwd`; returns its wall time and stdout. Throws on failure. */
function timeOnce(
  tool: Tool,
  cwd: string,
  extraArgs: string[] = [],
): Promise<{ ms: number; stdout: string }> {
  return timeTool(label(tool), tool.cmd, [...tool.args, ...extraArgs], cwd, { stdout: "piped" });
}

/** Checks a jx variant: the version line, or one ok `job.end` in its event log. */
async function verify(tool: Tool, cwd: string): Promise<void> {
  if (tool.task === "version") {
    const { stdout } = await timeOnce(tool, cwd);
    if (!/^jx \d+\.\d+\.\d+\n$/.test(stdout)) {
      throw new Error(`${label(tool)} printed ${JSON.stringify(stdout)}`);
    }
    return;
  }
  const events = `${cwd}/events.ndjson`;
  await timeOnce(tool, cwd, ["--events", events]);
  const ok = await okJobEnds(events);
  if (ok !== 1) throw new Error(`${label(tool)}: ${ok} ok job.end events, not 1`);
  await Deno.remove(events);
}

/** Runs every command `runs` times, round-robin, rotating the start each run. */
function measure(tools: Tool[], cwd: string, runs: number): Promise<Sample<Tool>[]> {
  return roundRobin(
    tools,
    runs,
    async (tool) => (await timeOnce(tool, cwd)).ms,
    (r) => console.error(`run ${r + 1}/${runs} done`),
  );
}

/** The make baseline for a task. */
function baselineOf(samples: Sample<Tool>[], task: Task): Sample<Tool> {
  return samples.find((s) => s.tool.task === task && !s.tool.jx)!;
}

/** The markdown table: command, median, min, max, ratio of median to make's median (same task). */
function table(samples: Sample<Tool>[]): string {
  const f = (ms: number) => ms.toFixed(1);
  const rows = samples.map(({ tool, ms }) => {
    const base = baselineOf(samples, tool.task);
    const ratio = median(ms) / median(base.ms);
    return `| ${label(tool)} | ${f(median(ms))} | ${f(Math.min(...ms))} | ${f(Math.max(...ms))} | ${
      ratio.toFixed(1)
    }x ${label(base.tool)} |`;
  });
  return [
    "| command | median (ms) | min (ms) | max (ms) | median / make's median |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

/** Did the binary's `--version` median meet the target? */
function verdict(samples: Sample<Tool>[]): string {
  const s = samples.find((s) => s.tool.jx && s.tool.via === "binary" && s.tool.task === "version")!;
  const m = median(s.ms);
  return `binary \`jx --version\`: ${m.toFixed(1)} ms median — target <= ${TARGET_MS} ms ${
    m <= TARGET_MS ? "met" : "NOT met"
  }`;
}

/** The dated markdown section appended to RESULTS.md. */
async function section(opts: Options, samples: Sample<Tool>[], dir: string): Promise<string> {
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return [
    `## ${date} — startup: \`jx --version\` and a one-job \`jx run\``,
    "",
    ...(await environment({ label: "runtimes", ninja: false })),
    `- ${opts.runs} timed runs per command (round-robin, order rotated each run); wall time of ` +
    "the whole command, spawn to exit",
    `- \`$TMP/jx\` is built fresh for the run with \`${
      (await compileCommand("$TMP/jx")).join(" ")
    }\` (the command of \`deno task compile\`); ` +
    "`$TMP/jobs.yaml` is one job `t: { run: [/bin/true] }`, " +
    "`$TMP/Makefile` one phony rule `t` with recipe `/bin/true`",
    "- jx checked before the timed runs: `--version` prints `jx VERSION`; " +
    "`run --events` logs one ok `job.end`",
    "- commands (`$TMP` is a fresh temp dir, also the working directory):",
    ...samples.map(({ tool }) => `  - ${label(tool)}: ${commandLine(tool.cmd, tool.args, dir)}`),
    "",
    table(samples),
    "",
    `Target: the binary's \`jx --version\` in at most ${TARGET_MS} ms (median).`,
    "",
    `- ${verdict(samples)}`,
    ...(opts.note ? ["", opts.note] : []),
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const opts = parseOptions(Deno.args);
  const dir = await Deno.makeTempDir({ prefix: "jx-bench-startup-" });
  try {
    const tools = await prepare(dir);
    for (const t of tools) if (t.jx) await verify(t, dir);
    // One untimed pass warms the page cache for every command.
    for (const t of tools) await timeOnce(t, dir);
    const samples = await measure(tools, dir, opts.runs);
    console.log(table(samples));
    console.log(verdict(samples));
    if (opts.write) {
      await appendResults(await section(opts, samples, dir));
      console.log(`appended to ${RESULTS.replace(`${REPO}/`, "")}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
