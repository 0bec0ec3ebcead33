/**
 * No-op benchmark: a 10,000-job graph where each job reads one source file
 * and writes one output (`cp`), built once, then run again with nothing to
 * do: `jx run` against `ninja` and `make` on the equivalent graph, same run,
 * medians. Targets (from the incremental issue): jx no-op within 1.5x of
 * ninja, faster than make.
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/noop.ts --jobs 10000 --runs 5 --write
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { appendResults, CLI, DENO, environment, median, medianTable, timeCommand } from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "10000" },
    runs: { type: "string", default: "5" },
    write: { type: "boolean", default: false },
  },
});
const N = Number(values.jobs), RUNS = Number(values.runs);

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
  ninja.push(`build out/${i}.txt: cp src/${i}.txt`);
}
await Deno.writeTextFile(`${dir}/jobs.yaml`, jobs.join("\n") + "\n");
await Deno.writeTextFile(`${dir}/build.ninja`, ninja.join("\n") + "\n");
await Deno.writeTextFile(
  `${dir}/Makefile`,
  `SRC := $(wildcard src/*.txt)\nOUT := $(SRC:src/%=mout/%)\nall: $(OUT)\nmout/%.txt: src/%.txt\n\t@mkdir -p mout; cp $< $@\n`,
);

const tools = [
  { name: "jx (Deno)", cmd: DENO, args: ["run", "-A", CLI, "run", "-j8", "--output", "quiet"] },
  { name: "ninja", cmd: "ninja", args: ["-j8"] },
  { name: "make", cmd: "make", args: ["-s", "-j8"] },
];
// The full builds, once (not timed as the figure of interest).
const full: Record<string, number> = {};
for (const t of tools) full[t.name] = await timeCommand(t.cmd, t.args, dir);
// Then the no-op runs, round-robin.
const samples = tools.map((t) => ({ name: t.name, ms: [] as number[] }));
for (let r = 0; r < RUNS; r++) {
  for (let k = 0; k < tools.length; k++) {
    const i = (k + r) % tools.length;
    samples[i].ms.push(await timeCommand(tools[i].cmd, tools[i].args, dir));
  }
}
const jx = median(samples[0].ms), nj = median(samples[1].ms), mk = median(samples[2].ms);
const text = [
  `## ${new Date().toISOString().replace(/\.\d+Z$/, "Z")} — no-op: ${N} cp jobs, nothing to do`,
  "",
  ...(await environment()),
  `- ${N} jobs, each \`cp src/i.txt out/i.txt\` with reads/writes (jx), one \`build\` per file (ninja), a pattern rule (make); full build once, then ${RUNS} no-op runs per tool, round-robin; wall time of the whole command`,
  `- full builds (one run each): ${
    Object.entries(full).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`).join(", ")
  }`,
  "- commands: `deno run -A cli.ts run -j8 --output quiet`, `ninja -j8`, `make -s -j8`",
  "",
  medianTable(samples, "ninja"),
  "",
  `Targets: jx within 1.5x of ninja — ${jx <= 1.5 * nj ? "met" : "NOT met"} (${
    (jx / nj).toFixed(2)
  }x); faster than make — ${jx < mk ? "met" : "NOT met"} (${(jx / mk).toFixed(2)}x).`,
].join("\n");
console.log(text);
if (values.write) await appendResults(text);
await Deno.remove(dir, { recursive: true });
