/**
 * `jx sh` benchmark: a plain shell script of N independent commands (default
 * 200) on generated files, half `sort FILE > FILE.sorted`, half
 * `gzip -c FILE > FILE.gz`, run three ways in the same run:
 *
 * - `sh script.sh` (one command after the other),
 * - `jx sh -jJ script.sh` (J = number of CPUs by default), on Deno,
 * - `xargs -d '\n' -PJ -n1 sh -c` fed the script's lines (each command under
 *   its own sh, J at a time: what a hand-parallelized script does).
 *
 * Before each timed run the outputs are removed; after the first run of each
 * tool the outputs are checked against those of `sh`. `jx sh` is also run
 * once with `--events` to check that N jobs ended ok and that jobs
 * overlapped. Prints medians, min, max and ratios to `sh`; with `--write`,
 * appends a dated section to bench/RESULTS.md.
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/sh.ts                 # 200 commands, 5 runs
 * node_modules/.bin/deno run -A bench/sh.ts --commands 100 --runs 3 -j 2
 * node_modules/.bin/deno run -A bench/sh.ts --write         # also append to RESULTS.md
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { availableParallelism } from "node:os";
import {
  appendResults,
  CLI,
  commandLine,
  DENO,
  environment,
  medianTable,
  positive,
  REPO,
  RESULTS,
  roundRobin,
  timeTool,
} from "./lib.ts";

interface Options {
  commands: number;
  lines: number;
  runs: number;
  parallel: number;
  write: boolean;
}

interface Tool {
  name: string;
  cmd: string;
  args: string[];
  stdin?: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      commands: { type: "string", default: "200" },
      lines: { type: "string", default: "20000" },
      runs: { type: "string", default: "5" },
      parallel: { type: "string", short: "j", default: String(availableParallelism()) },
      write: { type: "boolean", default: false },
    },
  });
  return {
    commands: positive("commands", values.commands),
    lines: positive("lines", values.lines),
    runs: positive("runs", values.runs),
    parallel: positive("parallel", values.parallel),
    write: values.write,
  };
}

/** A deterministic pseudo-random generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

/** Writes the input files and the script; returns the script's lines. */
async function prepare(opts: Options, dir: string): Promise<string[]> {
  const rand = rng(42);
  const lines: string[] = [];
  for (let i = 0; i < opts.commands; i++) {
    const rows: string[] = [];
    for (let k = 0; k < opts.lines; k++) rows.push(`${Math.floor(rand() * 1e9)} row ${k}`);
    await Deno.writeTextFile(`${dir}/in${i}.txt`, rows.join("\n") + "\n");
    lines.push(
      i % 2 ? `gzip -c in${i}.txt > in${i}.txt.gz` : `sort in${i}.txt > in${i}.txt.sorted`,
    );
  }
  await Deno.writeTextFile(`${dir}/script.sh`, lines.join("\n") + "\n");
  return lines;
}

async function clean(dir: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    if (/\.(sorted|gz)$/.test(e.name) || e.name.endsWith(".ndjson")) {
      await Deno.remove(`${dir}/${e.name}`);
    }
  }
}

/** Hashes of the outputs, by name. */
async function outputs(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    if (!/\.(sorted|gz)$/.test(e.name)) continue;
    const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(`${dir}/${e.name}`));
    out.set(
      e.name,
      [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join(""),
    );
  }
  return out;
}

/** The first three fields of /proc/loadavg. */
async function loadAverage(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "? ? ?");
  return text.split(" ").slice(0, 3).join(", ");
}

async function main(): Promise<void> {
  const opts = parseOptions(Deno.args);
  const loadBefore = await loadAverage();
  const dir = await Deno.makeTempDir({ prefix: "jx-bench-sh-" });
  try {
    const lines = await prepare(opts, dir);
    const j = opts.parallel;
    const tools: Tool[] = [
      { name: "sh", cmd: "sh", args: ["script.sh"] },
      {
        name: `jx sh -j${j} (Deno)`,
        cmd: DENO,
        args: ["run", "-A", CLI, "sh", `-j${j}`, "script.sh"],
      },
      {
        name: `xargs -P${j}`,
        cmd: "xargs",
        args: ["-d", "\\n", `-P${j}`, "-n1", "sh", "-c"],
        stdin: lines.join("\n") + "\n",
      },
    ];
    // Reference outputs from sh; every tool must produce the same files.
    await clean(dir);
    await timeTool("sh", "sh", ["script.sh"], dir);
    const want = await outputs(dir);
    if (want.size !== opts.commands) throw new Error(`sh made ${want.size} files`);
    const checked = new Set<string>();
    const samples = await roundRobin(tools, opts.runs, async (tool) => {
      await clean(dir);
      const { ms } = await timeTool(tool.name, tool.cmd, tool.args, dir, { stdin: tool.stdin });
      if (!checked.has(tool.name)) {
        const got = await outputs(dir);
        for (const [k, v] of want) {
          if (got.get(k) !== v) throw new Error(`${tool.name}: ${k} differs from sh's`);
        }
        checked.add(tool.name);
      }
      return ms;
    }, (r, times) => {
      console.error(
        `run ${r + 1}/${opts.runs}: ` +
          times.map(([t, ms]) => `${t.name} ${(ms / 1000).toFixed(2)} s`).join(", "),
      );
    });
    // Overlap, from jx's event log.
    await clean(dir);
    const ev = `${dir}/events.ndjson`;
    await timeTool(
      "jx sh",
      DENO,
      ["run", "-A", CLI, "sh", `-j${j}`, "--events", ev, "script.sh"],
      dir,
    );
    const events = (await Deno.readTextFile(ev)).split("\n").filter((l) => l).map((l) =>
      JSON.parse(l)
    );
    const ends = events.filter((e) => e.type === "job.end" && e.status === "ok").length;
    if (ends !== opts.commands) throw new Error(`jx sh: ${ends} ok job.end events`);
    let live = 0, peak = 0;
    for (const e of events) {
      if (e.type === "job.start") peak = Math.max(peak, ++live);
      if (e.type === "job.end") live--;
    }
    const loadAfter = await loadAverage();
    const named = samples.map(({ tool, ms }) => ({ name: tool.name, ms }));
    const table = medianTable(named, "sh", { unit: "s" });
    console.log(table);
    console.log(`jx sh: ${ends} jobs ok, at most ${peak} running at once (from --events)`);
    console.log(`load average before: ${loadBefore}; after: ${loadAfter}`);
    if (opts.write) {
      const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
      const fmtTool = (t: Tool) =>
        `  - ${t.name}: ${commandLine(t.cmd, t.args, dir)}` +
        (t.stdin ? " with the script's lines on stdin" : "");
      await appendResults([
        `## ${date} — jx sh: ${opts.commands} independent sort/gzip commands`,
        "",
        ...(await environment({ label: "tools", ninja: false })),
        `- script: ${opts.commands} lines, \`sort inI.txt > inI.txt.sorted\` for even I and ` +
        `\`gzip -c inI.txt > inI.txt.gz\` for odd I; each input ${opts.lines} lines (about ` +
        `${Math.round(opts.lines * 20 / 1024)} KiB)`,
        `- ${opts.runs} timed runs per tool (round-robin, order rotated each run), outputs removed ` +
        "before each run and checked against sh's after each tool's first run; wall time of the " +
        "whole command, startup included",
        `- load average (1, 5, 15 min) before: ${loadBefore}; after: ${loadAfter} ` +
        "(other work on the machine shrinks what parallelism can gain)",
        "- commands (`$TMP` is a fresh temp dir, also the working directory):",
        ...tools.map(fmtTool),
        "",
        table,
        "",
        `From a separate \`jx sh --events\` run: ${ends} jobs ok, at most ${peak} running at once.`,
        "",
      ].join("\n"));
      console.log(`appended to ${RESULTS.replace(`${REPO}/`, "")}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
