/**
 * No-op benchmark: a 10,000-job graph where each job reads one source file
 * and writes one output (`cp`), built once, then run again with nothing to
 * do: `jx run` against `ninja` and `make` on the equivalent graph, same run,
 * medians. Targets (from the incremental issue): jx no-op within 1.5x of
 * ninja, faster than make.
 *
 * jx runs two ways: `bin/jx` (Deno, as the README says) and the standalone
 * binary (Bun), built fresh with `deno task compile`'s command. Each tool
 * writes its own outputs (`out/`, `nout/`, `mout/`), so that one tool's full
 * build does not touch the files another one checks. Before and after the
 * timed runs, each jx variant runs once with `--events`, and the bench checks
 * that no job started and all N were skipped as up to date.
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/noop.ts                          # 10,000 jobs, 9 runs
 * node_modules/.bin/deno run -A bench/noop.ts --jobs 2000 --runs 5
 * node_modules/.bin/deno run -A bench/noop.ts --write --note "after X"  # append to RESULTS.md
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
  roundRobin,
  timeTool,
} from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "10000" },
    runs: { type: "string", default: "9" },
    write: { type: "boolean", default: false },
    note: { type: "string" },
  },
});
const N = positive("jobs", values.jobs), RUNS = positive("runs", values.runs);

const dir = await Deno.makeTempDir({ prefix: "jx-bench-noop-" });
await Deno.mkdir(`${dir}/src`);
await Deno.mkdir(`${dir}/out`);
const jobs = ["jobs:"];
const ninja = ["rule cp", "  command = cp $in $out", ""];
for (let i = 0; i < N; i++) {
  await Deno.writeTextFile(`${dir}/src/${i}.txt`, `file ${i}\n`);
  jobs.push(
    `  c${i}: { run: [cp, src/${i}.txt, out/${i}.txt], reads: [src/${i}.txt], writes: [out/${i}.txt] }`,
  );
  ninja.push(`build nout/${i}.txt: cp src/${i}.txt`);
}
await Deno.writeTextFile(`${dir}/jobs.yaml`, jobs.join("\n") + "\n");
await Deno.writeTextFile(`${dir}/build.ninja`, ninja.join("\n") + "\n");
await Deno.writeTextFile(
  `${dir}/Makefile`,
  `SRC := $(wildcard src/*.txt)\nOUT := $(SRC:src/%=mout/%)\nall: $(OUT)\nmout/%.txt: src/%.txt\n\t@mkdir -p mout; cp $< $@\n`,
);

const binDir = await Deno.makeTempDir({ prefix: "jx-bench-noop-bin-" });
await buildBinary(`${binDir}/jx`);

interface Tool {
  name: string;
  cmd: string;
  args: string[];
  jx: boolean;
}
const jxArgs = ["run", "-j8", "--output", "quiet"];
const tools: Tool[] = [
  { name: "jx (Deno, bin/jx)", cmd: `${REPO}/bin/jx`, args: jxArgs, jx: true },
  { name: "jx (binary)", cmd: `${binDir}/jx`, args: jxArgs, jx: true },
  { name: "ninja", cmd: "ninja", args: ["-j8"], jx: false },
  { name: "make", cmd: "make", args: ["-s", "-j8"], jx: false },
];

/** Checks that a jx no-op started nothing and skipped all N jobs as up to date. */
async function verifyNoop(t: Tool): Promise<void> {
  const events = `${dir}/events.ndjson`;
  await timeTool(t.name, t.cmd, [...t.args, "--events", events], dir);
  const ev = (await Deno.readTextFile(events)).split("\n").filter((l) => l).map((l) =>
    JSON.parse(l)
  );
  const started = ev.filter((e) => e.type === "job.start").length;
  const skipped = ev.filter((e) => e.type === "job.skip" && e.reason === "up-to-date").length;
  if (started !== 0 || skipped !== N) {
    throw new Error(`${t.name}: ${started} jobs started, ${skipped} of ${N} up to date`);
  }
  await Deno.remove(events);
}

// The full builds, once each (not the figure of interest), then one untimed no-op each.
const full: Record<string, number> = {};
for (const t of tools) {
  if (t.name === "jx (binary)") continue; // shares jx's outputs and state
  full[t.name] = (await timeTool(t.name, t.cmd, t.args, dir)).ms;
}
for (const t of tools) {
  if (t.jx) await verifyNoop(t);
  else await timeTool(t.name, t.cmd, t.args, dir);
}
const results = await roundRobin(
  tools,
  RUNS,
  async (t) => (await timeTool(t.name, t.cmd, t.args, dir)).ms,
  (r, times) =>
    console.error(
      `run ${r + 1}: ${times.map(([t, ms]) => `${t.name} ${ms.toFixed(0)}`).join(", ")}`,
    ),
);
for (const t of tools) if (t.jx) await verifyNoop(t);

const samples = results.map((s) => ({ name: s.tool.name, ms: s.ms }));
const med = (name: string) => median(samples.find((s) => s.name === name)!.ms);
const nj = med("ninja"), mk = med("make");
const verdicts = tools.filter((t) => t.jx).map((t) => {
  const m = med(t.name);
  return `- ${t.name}: ${(m / nj).toFixed(2)}x ninja — target 1.5x ${
    m <= 1.5 * nj ? "met" : "NOT met"
  }; ${(m / mk).toFixed(2)}x make — faster than make ${m < mk ? "met" : "NOT met"}`;
});
const text = [
  `## ${new Date().toISOString().replace(/\.\d+Z$/, "Z")} — no-op: ${N} cp jobs, nothing to do`,
  "",
  ...(await environment()),
  `- ${N} jobs, each \`cp src/i.txt out/i.txt\` with reads/writes (jx), one \`build\` per file into \`nout/\` (ninja), a pattern rule into \`mout/\` (make); full build once, one untimed no-op, then ${RUNS} no-op runs per tool, round-robin, the order rotated each run; wall time of the whole command`,
  `- jx verified by \`--events\` before and after the timed runs: no job started, ${N} skipped as up to date`,
  `- full builds (one run each): ${
    Object.entries(full).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`).join(", ")
  }`,
  "- commands (`$TMP` is the fresh temp dir, also the working directory; `$BIN` the fresh binary's):",
  ...tools.map((t) =>
    `  - ${t.name}: ${commandLine(t.cmd, t.args, dir).replace(`${binDir}/`, "$BIN/")}`
  ),
  "",
  medianTable(samples, "ninja"),
  "",
  "Targets: jx no-op within 1.5x of ninja, faster than make (medians, same run).",
  "",
  ...verdicts,
  ...(values.note ? ["", values.note] : []),
].join("\n");
console.log(text);
if (values.write) await appendResults(text);
await Deno.remove(dir, { recursive: true });
await Deno.remove(binDir, { recursive: true });
