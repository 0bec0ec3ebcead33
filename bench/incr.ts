/**
 * Incremental benchmark: the same 10,000 `cp` jobs as bench/noop.ts (one
 * source read, one output written each), built once, then per round and per
 * tool two timed runs: three sources edited (each round three others, new
 * content), the rerun; then at once the first no-op after that build. jx
 * (`bin/jx` on Deno and the standalone binary, sharing one directory: each
 * turn starts from the tree the previous turn left up to date) against
 * ninja (and, with `--make`, make: its no-op alone takes seconds at 10,000)
 * in directories of their own, round-robin, the order rotated each round,
 * medians. Target (issue #19): at most 1.5x ninja in both cases.
 *
 * After the timed rounds, each jx variant is checked with `--events`: an
 * edit of three sources starts exactly those three jobs, and the no-op
 * after it starts none.
 *
 * Each round also times the two runtimes' bare starts (`deno run` of an
 * empty script, a compiled Bun hello world): what jx itself does is the
 * binary's time less Bun's start, and `bin/jx` on Deno can be no faster
 * than Deno's start plus that. The floor is printed beside each ratio.
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/incr.ts                      # 10,000 jobs, 9 rounds
 * node_modules/.bin/deno run -A bench/incr.ts --jobs 2000 --runs 5
 * node_modules/.bin/deno run -A bench/incr.ts --write --note "after X"
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  appendResults,
  buildBinary,
  commandLine,
  environment,
  median,
  medianTable,
  positive,
  REPO,
  rotate,
  timeTool,
} from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "10000" },
    runs: { type: "string", default: "9" },
    edits: { type: "string", default: "3" },
    make: { type: "boolean", default: false },
    write: { type: "boolean", default: false },
    note: { type: "string" },
  },
});
const N = positive("jobs", values.jobs), RUNS = positive("runs", values.runs);
const EDITS = positive("edits", values.edits);

const root = await Deno.makeTempDir({ prefix: "jx-bench-incr-" });

/** A directory with N sources and the given build file. */
async function tree(name: string, files: Record<string, string>): Promise<string> {
  const dir = `${root}/${name}`;
  await Deno.mkdir(`${dir}/src`, { recursive: true });
  await Deno.mkdir(`${dir}/out`);
  for (let i = 0; i < N; i++) await Deno.writeTextFile(`${dir}/src/${i}.txt`, `file ${i}\n`);
  for (const [f, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${f}`, text);
  return dir;
}

const jobs = ["jobs:"], ninja = ["rule cp", "  command = cp $in $out", ""];
for (let i = 0; i < N; i++) {
  jobs.push(
    `  c${i}: { run: [cp, src/${i}.txt, out/${i}.txt], reads: [src/${i}.txt], writes: [out/${i}.txt] }`,
  );
  ninja.push(`build out/${i}.txt: cp src/${i}.txt`);
}
const jxDir = await tree("jx", { "jobs.yaml": jobs.join("\n") + "\n" });
const ninjaDir = await tree("ninja", { "build.ninja": ninja.join("\n") + "\n" });
const makeDir = values.make
  ? await tree("make", {
    Makefile:
      `SRC := $(wildcard src/*.txt)\nOUT := $(SRC:src/%=out/%)\nall: $(OUT)\nout/%.txt: src/%.txt\n\tcp $< $@\n`,
  })
  : "";

const binDir = await Deno.makeTempDir({ prefix: "jx-bench-incr-bin-" });
await buildBinary(`${binDir}/jx`);
// The runtimes' bare starts, for the floor of `bin/jx` on Deno (see the module's comment).
await Deno.writeTextFile(`${binDir}/empty.ts`, "");
await Deno.writeTextFile(`${binDir}/hello.ts`, 'console.log("hello");\n');
const hello = await buildBinary(`${binDir}/hello`, `${binDir}/hello.ts`);
const starts = [
  {
    name: "Deno's bare start",
    cmd: `${REPO}/tools/deno`,
    args: ["run", "-A", "--quiet", `${binDir}/empty.ts`],
  },
  { name: "Bun's bare start (compiled)", cmd: hello, args: [] },
];

interface Tool {
  name: string;
  cmd: string;
  args: string[];
  dir: string;
  jx: boolean;
}
const jxArgs = ["run", "-j8", "--output", "quiet"];
const tools: Tool[] = [
  { name: "jx (Deno, bin/jx)", cmd: `${REPO}/bin/jx`, args: jxArgs, dir: jxDir, jx: true },
  { name: "jx (binary)", cmd: `${binDir}/jx`, args: jxArgs, dir: jxDir, jx: true },
  { name: "ninja", cmd: "ninja", args: ["-j8"], dir: ninjaDir, jx: false },
  ...(values.make
    ? [{ name: "make", cmd: "make", args: ["-s", "-j8"], dir: makeDir, jx: false }]
    : []),
];

let edit = 0;
/** Edits EDITS sources of `dir` (others each time, new content); returns their numbers. */
async function editSources(dir: string): Promise<number[]> {
  const picked: number[] = [];
  for (let k = 0; k < EDITS; k++) {
    const i = (edit * 7919 + k * 104729) % N;
    picked.push(i);
    await Deno.writeTextFile(`${dir}/src/${i}.txt`, `file ${i} edit ${edit}\n`, { append: true });
  }
  edit++;
  return picked;
}

/** The jobs a jx run with --events started. */
async function started(t: Tool): Promise<string[]> {
  const events = `${root}/events.ndjson`;
  await timeTool(t.name, t.cmd, [...t.args, "--events", events], t.dir);
  const ev = (await Deno.readTextFile(events)).split("\n").filter((l) => l).map((l) =>
    JSON.parse(l)
  );
  await Deno.remove(events);
  return ev.filter((e) => e.type === "job.start").map((e) => e.job).sort();
}

/** An edit starts exactly the edited jobs; the no-op after it none. */
async function verify(t: Tool): Promise<void> {
  const want = (await editSources(t.dir)).map((i) => `c${i}`).sort();
  const ran = await started(t);
  if (ran.join() !== want.join()) throw new Error(`${t.name}: edit ran ${ran}, wanted ${want}`);
  const again = await started(t);
  if (again.length) throw new Error(`${t.name}: the no-op after an edit ran ${again}`);
}

// The full builds, once each (not a figure of interest), and one untimed round.
const full: Record<string, number> = {};
for (const t of tools) {
  if (t.name === "jx (binary)") continue; // shares the directory of bin/jx
  full[t.name] = (await timeTool(t.name, t.cmd, t.args, t.dir)).ms;
}
for (const t of tools) {
  await editSources(t.dir);
  await timeTool(t.name, t.cmd, t.args, t.dir);
  await timeTool(t.name, t.cmd, t.args, t.dir);
}

const cases = ["3 sources edited", "first no-op after build"] as const;
const samples = new Map<string, number[]>();
const put = (c: string, t: Tool, ms: number) => {
  const k = `${c}\0${t.name}`;
  samples.set(k, [...samples.get(k) ?? [], ms]);
};
for (let r = 0; r < RUNS; r++) {
  const line: string[] = [];
  for (const t of rotate(tools, r)) {
    await editSources(t.dir);
    const e = (await timeTool(t.name, t.cmd, t.args, t.dir)).ms;
    const n = (await timeTool(t.name, t.cmd, t.args, t.dir)).ms;
    put(cases[0], t, e);
    put(cases[1], t, n);
    line.push(`${t.name} ${e.toFixed(0)}/${n.toFixed(0)}`);
  }
  for (const s of starts) {
    const ms = (await timeTool(s.name, s.cmd, s.args, root)).ms;
    const k = `start\0${s.name}`;
    samples.set(k, [...samples.get(k) ?? [], ms]);
    line.push(`${s.name} ${ms.toFixed(0)}`);
  }
  console.error(`round ${r + 1} (edited/no-op ms): ${line.join(", ")}`);
}
for (const t of tools) if (t.jx) await verify(t);

const tables: string[] = [], verdicts: string[] = [];
const startOf = (name: string) => median(samples.get(`start\0${name}`)!);
const denoStart = startOf(starts[0].name), bunStart = startOf(starts[1].name);
for (const c of cases) {
  const s = tools.map((t) => ({ name: t.name, ms: samples.get(`${c}\0${t.name}`)! }));
  const nj = median(s.find((x) => x.name === "ninja")!.ms);
  tables.push(`### ${c}`, "", medianTable(s, "ninja"), "");
  for (const x of s.filter((x) => x.name.startsWith("jx"))) {
    const ratio = median(x.ms) / nj;
    verdicts.push(
      `- ${c}, ${x.name}: ${ratio.toFixed(2)}x ninja — target 1.5x ${
        ratio <= 1.5 ? "met" : "NOT met"
      }`,
    );
  }
  // jx's own work (the binary less Bun's start), on Deno's start: no faster than that.
  const own = median(s.find((x) => x.name === "jx (binary)")!.ms) - bunStart;
  const floor = denoStart + own;
  verdicts.push(
    `  - ${c}: the floor of bin/jx on Deno (Deno's bare start ${denoStart.toFixed(0)} ms + ` +
      `the binary's work ${own.toFixed(0)} ms) is ${floor.toFixed(0)} ms, ` +
      `${(floor / nj).toFixed(2)}x ninja`,
  );
}
const text = [
  `## ${
    new Date().toISOString().replace(/\.\d+Z$/, "Z")
  } — incremental: ${N} cp jobs, ${EDITS} sources edited, then the first no-op`,
  "",
  ...(await environment()),
  `- ${N} jobs, each \`cp src/i.txt out/i.txt\` with reads/writes (jx), one \`build\` per file (ninja)${
    values.make ? ", a pattern rule (make)" : ""
  }; a directory per tool (both jx variants share one); full build once, one untimed round, then ${RUNS} rounds: per tool, ${EDITS} sources edited and the rerun timed, then the no-op right after it; the order of tools rotated each round; wall time of the whole command`,
  `- jx verified by \`--events\` after the timed rounds: an edit of ${EDITS} sources starts exactly those jobs, the no-op after it none`,
  `- full builds (one run each): ${
    Object.entries(full).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`).join(", ")
  }`,
  "- commands (`$TMP` is the tool's directory, also the working directory; `$BIN` the fresh binary's):",
  ...tools.map((t) =>
    `  - ${t.name}: ${commandLine(t.cmd, t.args, t.dir).replace(`${binDir}/`, "$BIN/")}`
  ),
  ...starts.map((s) =>
    `  - ${s.name}: ${commandLine(s.cmd, s.args, root).replaceAll(`${binDir}/`, "$BIN/")} ` +
    `(median ${startOf(s.name).toFixed(0)} ms, timed once per round)`
  ),
  "",
  ...tables,
  "Target (issue #19): at most 1.5x ninja in both cases (medians, same run).",
  "",
  ...verdicts,
  ...(values.note ? ["", values.note] : []),
].join("\n");
console.log(text);
if (values.write) await appendResults(text);
await Deno.remove(root, { recursive: true });
await Deno.remove(binDir, { recursive: true });
