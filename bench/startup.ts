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

/** The target for the binary's `jx --version`, in milliseconds (median). */
const TARGET_MS = 30;

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const DENO = `${REPO}/node_modules/.bin/deno`;
const BUN = `${REPO}/node_modules/.bin/bun`;
const CLI = `${REPO}/cli.ts`;
const RESULTS = `${REPO}/bench/RESULTS.md`;

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

/** The wall times of one command over all runs, in milliseconds. */
interface Sample {
  tool: Tool;
  ms: number[];
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
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs: expected a positive integer");
  return { runs, write: values.write, note: values.note };
}

/** `deno task compile`'s command line (from deno.json), with `--outfile` set to `out`. */
async function compileCommand(out: string): Promise<string[]> {
  const task: string = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)).tasks.compile;
  const words = task.trim().split(/\s+/);
  const i = words.indexOf("--outfile");
  if (i < 0) throw new Error(`no --outfile in the compile task: ${task}`);
  words[i + 1] = out;
  return words;
}

/** Builds the standalone binary into `dir` with `deno task compile`'s command; returns its path. */
async function buildBinary(dir: string): Promise<string> {
  const out = `${dir}/jx`;
  const [cmd, ...args] = await compileCommand(out);
  const r = await new Deno.Command(cmd.startsWith("/") ? cmd : `${REPO}/${cmd}`, {
    args,
    cwd: REPO,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (r.code !== 0) {
    throw new Error(`bun build --compile failed:\n${new TextDecoder().decode(r.stderr)}`);
  }
  return out;
}

/** Writes the inputs to `dir` and returns the commands to time there. */
async function prepare(dir: string): Promise<Tool[]> {
  await Deno.writeTextFile(`${dir}/jobs.yaml`, "version: 1\njobs:\n  t: { run: [/bin/true] }\n");
  await Deno.writeTextFile(`${dir}/Makefile`, ".PHONY: t\nt:\n\t/bin/true\n");
  const binary = await buildBinary(dir);
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
async function timeOnce(
  tool: Tool,
  cwd: string,
  extraArgs: string[] = [],
): Promise<{ ms: number; stdout: string }> {
  // An inherited make jobserver would change what make and jx do.
  const env = { MAKEFLAGS: "", MFLAGS: "", NO_COLOR: "1" };
  const start = performance.now();
  const out = await new Deno.Command(tool.cmd, {
    args: [...tool.args, ...extraArgs],
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  if (out.code !== 0) {
    const err = new TextDecoder().decode(out.stderr).slice(-2000);
    throw new Error(`${label(tool)} exited with ${out.code}\n${err}`);
  }
  return { ms, stdout: new TextDecoder().decode(out.stdout) };
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
  const lines = (await Deno.readTextFile(events)).split("\n").filter((l) => l.trim() !== "");
  const ok = lines.map((l) => JSON.parse(l)).filter((e) =>
    e.type === "job.end" && e.status === "ok"
  );
  if (ok.length !== 1) throw new Error(`${label(tool)}: ${ok.length} ok job.end events, not 1`);
  await Deno.remove(events);
}

/** `xs` rotated left by `k`. */
function rotate<T>(xs: T[], k: number): T[] {
  const s = k % xs.length;
  return [...xs.slice(s), ...xs.slice(0, s)];
}

/** Runs every command `runs` times, round-robin, rotating the start each run. */
async function measure(tools: Tool[], cwd: string, runs: number): Promise<Sample[]> {
  const samples = new Map(tools.map((t) => [t, [] as number[]]));
  for (let r = 0; r < runs; r++) {
    for (const tool of rotate(tools, r)) samples.get(tool)!.push((await timeOnce(tool, cwd)).ms);
    console.error(`run ${r + 1}/${runs} done`);
  }
  return tools.map((tool) => ({ tool, ms: samples.get(tool)! }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The make baseline for a task. */
function baselineOf(samples: Sample[], task: Task): Sample {
  return samples.find((s) => s.tool.task === task && !s.tool.jx)!;
}

/** The markdown table: command, median, min, max, ratio of median to make's median (same task). */
function table(samples: Sample[]): string {
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
function verdict(samples: Sample[]): string {
  const s = samples.find((s) => s.tool.jx && s.tool.via === "binary" && s.tool.task === "version")!;
  const m = median(s.ms);
  return `binary \`jx --version\`: ${m.toFixed(1)} ms median — target <= ${TARGET_MS} ms ${
    m <= TARGET_MS ? "met" : "NOT met"
  }`;
}

/** Stdout of a command (trimmed), or a note when it cannot be run. */
async function capture(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch (e) {
    return `(unavailable: ${e instanceof Error ? e.message : e})`;
  }
}

/** Machine and runtime facts for the results file. */
async function environment(): Promise<string[]> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const cpu = cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown";
  const deno = (await capture(DENO, ["--version"])).split("\n")[0];
  return [
    `- machine: ${await capture("nproc", [])} CPUs, ${await capture("uname", ["-sr"])}, ${cpu}`,
    `- runtimes: ${deno}; bun ${await capture(BUN, ["--version"])}; ${
      (await capture("make", ["--version"])).split("\n")[0]
    }`,
  ];
}

/** A shell-readable form of a command line, with paths relative to the repo. */
function commandLine(tool: Tool, dir: string): string {
  const words = [tool.cmd, ...tool.args].map((w) =>
    w.replace(`${REPO}/`, "").replace(`${dir}/`, "$TMP/")
  );
  return "`" + words.join(" ") + "`";
}

/** The dated markdown section appended to RESULTS.md. */
async function section(opts: Options, samples: Sample[], dir: string): Promise<string> {
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return [
    `## ${date} — startup: \`jx --version\` and a one-job \`jx run\``,
    "",
    ...(await environment()),
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
    ...samples.map(({ tool }) => `  - ${label(tool)}: ${commandLine(tool, dir)}`),
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

async function appendResults(text: string): Promise<void> {
  const exists = await Deno.stat(RESULTS).then(() => true, () => false);
  const head = exists
    ? ""
    : "# Benchmark results\n\nAppended by the benches in this directory; newest last.\n\n";
  await Deno.writeTextFile(RESULTS, head + text + "\n", { append: true });
  // Keep the file as `deno fmt` wants it (wrapped lines, aligned tables).
  const fmt = await new Deno.Command(DENO, { args: ["fmt", "--quiet", RESULTS], stdout: "null" })
    .output();
  if (fmt.code !== 0) console.error(`warning: deno fmt ${RESULTS} exited with ${fmt.code}`);
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
