/**
 * Startup benchmark: how long `jx` takes to start, do almost nothing, and exit.
 *
 * Three tasks, each through three ways of starting jx and one make baseline,
 * in the same run, next to the floor of a compiled Bun program:
 *
 * - `jx --version`; `jx run` of a one-job file (`run: [/bin/true]`, which runs
 *   every time); the no-op of a one-job project (`cp a.txt b.txt` with its
 *   `reads`/`writes`, up to date: the fast path of cli/noop_run.ts),
 * - for the standalone binary (built fresh by `bun build --compile` into a temp
 *   dir, as `deno task compile` does), `deno run -A cli.ts` and `bun cli.ts`,
 * - next to `make --version`, `make` on a one-rule Makefile (recipe
 *   `/bin/true`) and on an up-to-date `m.txt: a.txt` rule,
 * - and a Bun hello world (`console.log`) compiled with the same command.
 *
 * Each timed run executes every command once, in an order rotated from run to
 * run so that machine noise hits all of them alike. The wall time of each
 * whole command is measured (spawn to exit), and its CPU time (user + system,
 * from this process's children's times in /proc/self/stat: a mean, as the
 * clock ticks only add up over runs; it does not count the time spent waiting
 * for a CPU on a loaded machine). Before the timed runs, every jx variant is
 * checked: `--version` prints `jx VERSION`, `run --events` logs one `job.end`
 * with status `ok`, the no-op logs one `job.skip`. Prints median, min and max
 * per command, the mean CPU, the ratio of each median to make's median for the
 * same task and to the Bun hello world's. With `--write`, appends a dated
 * section to `bench/RESULTS.md`.
 *
 * The target (issue #19): the binary's `jx --version` and no-op of a one-job
 * project in at most 10 ms (median), a compiled Bun hello world taking 6-8 ms.
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

/** The target for the binary's `jx --version` and one-job no-op, in milliseconds (median). */
const TARGET_MS = 10;

/** Command-line options of this benchmark. */
interface Options {
  /** Number of timed runs of each command. */
  runs: number;
  /** Append the results to bench/RESULTS.md. */
  write: boolean;
  /** A free-text note added to the written section. */
  note?: string;
}

/**
 * What a command does: print the version, run a one-job file, find its one job up to date, find
 * jobs.yaml.example's six jobs up to date (globs, depfiles, a directory in `writes`).
 */
type Task = "version" | "run" | "noop" | "example";

/** One command under test. */
interface Tool {
  /** How it starts: `binary`, `deno run`, `bun`, `make`, or `hello` (the compiled floor). */
  via: string;
  task: Task;
  cmd: string;
  args: string[];
  /** Whether this is a jx variant (checked before timing). */
  jx: boolean;
  /** Mean CPU time per run, in ms (filled in by `measure`). */
  cpuMs?: number;
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
  await Deno.mkdir(`${dir}/p`);
  await Deno.writeTextFile(`${dir}/p/a.txt`, "a\n");
  await Deno.writeTextFile(
    `${dir}/p/jobs.yaml`,
    "version: 1\njobs:\n  t: { run: [cp, a.txt, b.txt], reads: [a.txt], writes: [b.txt] }\n",
  );
  await Deno.writeTextFile(`${dir}/p/Makefile`, "m.txt: a.txt\n\tcp a.txt m.txt\n");
  await Deno.writeTextFile(`${dir}/hello.ts`, 'console.log("hello");\n');
  await copyExample(`${dir}/ex`, `${dir}/exm`);
  const binary = await buildBinary(`${dir}/jx`);
  const hello = await buildBinary(`${dir}/hello`, `${dir}/hello.ts`);
  const taskArgs: Record<Task, string[]> = {
    version: ["--version"],
    run: ["run", "-f", `${dir}/jobs.yaml`, "--output", "quiet"],
    noop: ["run", "-f", `${dir}/p/jobs.yaml`, "--output", "quiet"],
    example: ["run", "-f", `${dir}/ex/jobs.yaml`, "--output", "quiet"],
  };
  const makeArgs: Record<Task, string[]> = {
    version: ["--version"],
    run: ["-s", "-f", `${dir}/Makefile`, "t"],
    noop: ["-s", "-C", `${dir}/p`, "m.txt"],
    example: ["-s", "-C", `${dir}/exm`, "out/example/hello"],
  };
  const starts: [string, string, string[]][] = [
    ["binary", binary, []],
    ["deno run", DENO, ["run", "-A", CLI]],
    ["bun", BUN, [CLI]],
  ];
  const tools: Tool[] = [{ via: "hello", task: "version", cmd: hello, args: [], jx: false }];
  for (const task of ["version", "run", "noop", "example"] as const) {
    for (const [via, cmd, pre] of starts) {
      tools.push({ via, task, cmd, args: [...pre, ...taskArgs[task]], jx: true });
    }
    tools.push({ via: "make", task, cmd: "make", args: makeArgs[task], jx: false });
  }
  return tools;
}

/**
 * jobs.yaml.example and its sources into `jx` (as jobs.yaml), and into `make` with a Makefile
 * that builds the same program the same way (objects with `-MMD` depfiles, a generated header).
 */
async function copyExample(jx: string, make: string): Promise<void> {
  for (const d of [jx, make]) {
    await Deno.mkdir(`${d}/examples/c/src`, { recursive: true });
    for (const f of ["main.c", "greet.c", "greet.h"]) {
      await Deno.copyFile(`${REPO}/examples/c/src/${f}`, `${d}/examples/c/src/${f}`);
    }
  }
  await Deno.copyFile(`${REPO}/jobs.yaml.example`, `${jx}/jobs.yaml`);
  await Deno.writeTextFile(
    `${make}/Makefile`,
    [
      "SRC := examples/c/src",
      "OUT := out/example",
      "$(OUT)/hello: $(OUT)/main.o $(OUT)/greet.o",
      "\tcc $^ -o $@",
      "$(OUT)/main.o: $(SRC)/main.c $(OUT)/version.h",
      "\tcc -MMD -MP -c -I$(SRC) -I$(OUT) $< -o $@",
      "$(OUT)/greet.o: $(SRC)/greet.c | $(OUT)",
      "\tcc -MMD -MP -c -I$(SRC) $< -o $@",
      "$(OUT)/version.h: | $(OUT)",
      "\tprintf '#define JX_EXAMPLE_VERSION \"%s\"\\n' 1.0 > $@",
      "$(OUT):",
      "\tmkdir -p $@",
      "-include $(OUT)/main.d $(OUT)/greet.d",
      "",
    ].join("\n"),
  );
}

/** A short name: `jx --version (binary)`, `make (one rule)`. */
function label(t: Tool): string {
  if (t.via === "hello") return "Bun hello world (compiled)";
  const what: Record<Task, [string, string]> = {
    version: ["make --version", "--version"],
    run: ["make (one rule)", "run (one job)"],
    noop: ["make (up to date)", "run (one-job no-op)"],
    example: ["make (example, up to date)", "run (jobs.yaml.example no-op)"],
  };
  return t.jx ? `jx ${what[t.task][1]} (${t.via})` : what[t.task][0];
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
  if (tool.task === "noop" || tool.task === "example") {
    const events = `${cwd}/events.ndjson`;
    await timeOnce(tool, cwd); // the build, then its no-op
    await timeOnce(tool, cwd, ["--events", events]);
    const skips = (await Deno.readTextFile(events)).split("\n").filter((l) =>
      l.includes('"job.skip"')
    ).length;
    const want = tool.task === "noop" ? 1 : 6;
    if (skips !== want) throw new Error(`${label(tool)}: ${skips} job.skip events, not ${want}`);
    return await Deno.remove(events);
  }
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

/** User + system CPU of this process's waited-for children so far, in ms (/proc/self/stat). */
async function childrenCpuMs(): Promise<number> {
  const stat = await Deno.readTextFile("/proc/self/stat");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // from field 3 (state) on
  return (Number(f[13]) + Number(f[14])) * 10; // cutime, cstime in 100 Hz ticks
}

/**
 * Runs every command `runs` times, round-robin, rotating the start each run;
 * sets each tool's mean CPU time.
 */
async function measure(tools: Tool[], cwd: string, runs: number): Promise<Sample<Tool>[]> {
  const cpu = new Map(tools.map((t) => [t, 0]));
  const samples = await roundRobin(
    tools,
    runs,
    async (tool) => {
      const before = await childrenCpuMs();
      const { ms } = await timeOnce(tool, cwd);
      cpu.set(tool, cpu.get(tool)! + (await childrenCpuMs()) - before);
      return ms;
    },
    (r) => console.error(`run ${r + 1}/${runs} done`),
  );
  for (const t of tools) t.cpuMs = cpu.get(t)! / runs;
  return samples;
}

/** The make baseline for a task. */
function baselineOf(samples: Sample<Tool>[], task: Task): Sample<Tool> {
  return samples.find((s) => s.tool.task === task && s.tool.via === "make")!;
}

/** The compiled Bun hello world. */
function helloOf(samples: Sample<Tool>[]): Sample<Tool> {
  return samples.find((s) => s.tool.via === "hello")!;
}

/** The markdown table: command, median, min, max, ratio of median to make's median (same task). */
function table(samples: Sample<Tool>[]): string {
  const f = (ms: number) => ms.toFixed(1);
  const hello = median(helloOf(samples).ms);
  const rows = samples.map(({ tool, ms }) => {
    const base = baselineOf(samples, tool.task);
    const ratio = median(ms) / median(base.ms);
    return `| ${label(tool)} | ${f(median(ms))} | ${f(Math.min(...ms))} | ${f(Math.max(...ms))} | ${
      f(tool.cpuMs ?? NaN)
    } | ${ratio.toFixed(1)}x ${label(base.tool)} | ${(median(ms) / hello).toFixed(2)}x |`;
  });
  return [
    "| command | median (ms) | min (ms) | max (ms) | mean CPU (ms) | median / make's median | median / hello's |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

/** Did the binary's `--version` median meet the target? */
function verdict(samples: Sample<Tool>[]): string {
  const hello = median(helloOf(samples).ms);
  return (["version", "noop"] as const).map((task) => {
    const s = samples.find((s) => s.tool.via === "binary" && s.tool.task === task)!;
    const m = median(s.ms);
    return `${label(s.tool)}: ${m.toFixed(1)} ms median (${(m / hello).toFixed(2)}x the Bun ` +
      `hello world's ${hello.toFixed(1)} ms) — target <= ${TARGET_MS} ms ${
        m <= TARGET_MS ? "met" : "NOT met"
      }`;
  }).join("\n");
}

/** The dated markdown section appended to RESULTS.md. */
async function section(
  opts: Options,
  samples: Sample<Tool>[],
  dir: string,
  loadStart: string,
): Promise<string> {
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  return [
    `## ${date} — startup: \`jx --version\` and a one-job \`jx run\``,
    "",
    ...(await environment({ label: "runtimes", ninja: false })),
    `- ${opts.runs} timed runs per command (round-robin, order rotated each run); wall time of ` +
    "the whole command, spawn to exit",
    `- \`$TMP/jx\` is built fresh for the run with \`${
      (await compileCommand("$TMP/jx")).join(" ")
    }\` (the command of \`deno task compile\`), \`$TMP/hello\` the same way from ` +
    '`console.log("hello")`; `$TMP/jobs.yaml` is one job `t: { run: [/bin/true] }`, ' +
    "`$TMP/Makefile` one phony rule `t` with recipe `/bin/true`; `$TMP/p/jobs.yaml` one job " +
    "`cp a.txt b.txt` reading `a.txt`, writing `b.txt` (built, then timed up to date), " +
    "`$TMP/p/Makefile` the rule `m.txt: a.txt` (up to date); `$TMP/ex/jobs.yaml` is " +
    "jobs.yaml.example with its sources (built, then timed up to date), `$TMP/exm/Makefile` " +
    "builds the same program the same way (up to date)",
    `- load average at the start: ${loadStart}; at the end: ${await loadAverage()}`,
    "- jx checked before the timed runs: `--version` prints `jx VERSION`; " +
    "`run --events` logs one ok `job.end`; the no-op one `job.skip`",
    "- commands (`$TMP` is a fresh temp dir, also the working directory):",
    ...samples.map(({ tool }) => `  - ${label(tool)}: ${commandLine(tool.cmd, tool.args, dir)}`),
    "",
    table(samples),
    "",
    `Target: the binary's \`jx --version\` and one-job no-op in at most ${TARGET_MS} ms (median).`,
    "",
    ...verdict(samples).split("\n").map((l) => `- ${l}`),
    ...(opts.note ? ["", opts.note] : []),
    "",
  ].join("\n");
}

/** The 1, 5 and 15 minute load averages. */
async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
}

async function main(): Promise<void> {
  const opts = parseOptions(Deno.args);
  const loadStart = await loadAverage();
  const dir = await Deno.makeTempDir({ prefix: "jx-bench-startup-" });
  try {
    const tools = await prepare(dir);
    for (const t of tools) if (t.jx) await verify(t, dir);
    // One untimed pass warms the page cache for every command.
    for (const t of tools) await timeOnce(t, dir);
    const samples = await measure(tools, dir, opts.runs);
    console.log(table(samples));
    console.log(`load average: ${loadStart} at the start, ${await loadAverage()} at the end`);
    console.log(verdict(samples));
    if (opts.write) {
      await appendResults(await section(opts, samples, dir, loadStart));
      console.log(`appended to ${RESULTS.replace(`${REPO}/`, "")}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
