/**
 * Paired runs of two checkouts of jx on the same work: this one and another
 * (`--other DIR`, e.g. the main checkout before a refactor), alternating
 * A, B, B, A... so that machine noise hits both alike. Two cases:
 *
 * - `trivial`: N `run: [/bin/true]` jobs at -j8 (a full run every time);
 * - `noop`: N `cp` jobs built once per checkout (each in its own copy of the
 *   files), then run again with nothing to do (the no-op fast path).
 *
 * Prints each checkout's median, min and max, and the ratio of the medians.
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/paired.ts --other /work/main --case trivial --runs 9
 * node_modules/.bin/deno run -A bench/paired.ts --other /work/main --case noop --jobs 10000
 * node_modules/.bin/deno run -A bench/paired.ts --other /work/main --runtime bun
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BUN, DENO, median, REPO, timeCommand } from "./lib.ts";

const { values } = parseArgs({
  options: {
    other: { type: "string" },
    case: { type: "string", default: "trivial" },
    jobs: { type: "string" },
    runs: { type: "string", default: "9" },
    runtime: { type: "string", default: "deno" },
  },
});
if (!values.other) throw new Error("--other DIR: the checkout to compare with");
const kase = values.case === "noop" ? "noop" : "trivial";
const n = Number(values.jobs ?? (kase === "noop" ? 10_000 : 2_000));
const runs = Number(values.runs);

/** The jobs file of the case. */
function jobsFile(): string {
  const lines = ["version: 1", "jobs:"];
  for (let i = 0; i < n; i++) {
    lines.push(
      kase === "noop"
        ? `  c${i}: { run: [cp, src/f${i}, out/f${i}], reads: [src/f${i}], writes: [out/f${i}] }`
        : `  t${i}: { run: [/bin/true] }`,
    );
  }
  return lines.join("\n") + "\n";
}

/** A working directory with the jobs file (and, for noop, the sources). */
async function workDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `jx-paired-${kase}-` });
  await Deno.writeTextFile(`${dir}/jobs.yaml`, jobsFile());
  if (kase === "noop") {
    await Deno.mkdir(`${dir}/src`);
    await Deno.mkdir(`${dir}/out`);
    for (let i = 0; i < n; i++) await Deno.writeTextFile(`${dir}/src/f${i}`, `${i}\n`);
  }
  return dir;
}

const sides = [
  { name: "this checkout", root: REPO },
  { name: `other (${values.other})`, root: values.other },
].map((s) => ({ ...s, ms: [] as number[], dir: "" }));
const bun = values.runtime === "bun";
const runtime = bun ? BUN : DENO;
const args = (root: string) => [
  ...(bun ? [] : ["run", "-A"]),
  `${root}/cli.ts`,
  "run",
  "-j8",
  "--output",
  "quiet",
];
for (const s of sides) {
  s.dir = await workDir();
  // noop: the first run builds, the second leaves the no-op record; trivial: a warm-up.
  for (let i = 0; i < (kase === "noop" ? 2 : 1); i++) {
    await timeCommand(runtime, args(s.root), s.dir);
  }
}
for (let r = 0; r < runs; r++) {
  const order = r % 2 === 0 ? sides : [...sides].reverse();
  for (const s of order) s.ms.push(await timeCommand(runtime, args(s.root), s.dir));
}
const fmt = (ms: number) => (ms / 1000).toFixed(3);
console.log(
  `case ${kase}, N = ${n}, ${runs} paired runs (order alternating), jx on ${
    bun ? "Bun" : "Deno"
  }, -j8`,
);
for (const s of sides) {
  console.log(
    `${s.name}: median ${fmt(median(s.ms))} s, min ${fmt(Math.min(...s.ms))}, max ${
      fmt(Math.max(...s.ms))
    }`,
  );
}
console.log(`ratio this/other: ${(median(sides[0].ms) / median(sides[1].ms)).toFixed(3)}`);
for (const s of sides) await Deno.remove(s.dir, { recursive: true });
