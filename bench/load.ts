/**
 * Loading benchmark (issue #18, item 14): `jx run -n --output quiet` (load,
 * derive edges, plan, dry run) on generated jobs files, wall time and peak
 * RSS, medians of several rounds. Cases:
 *
 * - `plain`: 100,000 jobs with ordinary reads/writes (`src/N.c`, a shared
 *   header, the previous output; writes `out/N.o`). Target: at most 2 s.
 *   Timed twice: `cold` (no `.jx/` graph cache: YAML parsed) and `cached`
 *   (the graph read back from `.jx/graph-*.json`, as on every later run).
 * - `star`: 2,000 jobs each reading `**\/*` and writing `out/N/**`.
 * - `chain`: 60,000 jobs, each `needs` the one before.
 * - `cycle`: 60,000 jobs in one `needs` cycle (exit 2 expected).
 * - `globs`: 20,000 jobs each reading a glob of a folder of its own and a
 *   shared one, writing a file and a glob (each glob met every other: more
 *   than 11 minutes before ea6c16e).
 * - `foreach`: 3,000 `foreach` globs beside 3,000 writers (each glob checked
 *   against every write: 5 minutes before ea6c16e).
 * - `repeat`: 20,000 `repeat` loops, each with a test job of its own (each
 *   test was found by a scan of every job: 8.8 s before 635800e).
 * - `fanin`: 2,000 jobs each writing `obj/N.o`, then 2,000 each reading
 *   `obj`: an edge per reader and writer, 4 million (docs/ordering.md §2;
 *   12 s and 1.8 GB before cdb2443). Timed `cold` and `cached`, as `plain`.
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/load.ts                    # every case, 3 rounds
 * node_modules/.bin/deno run -A bench/load.ts --cases star,chain --runs 5
 * node_modules/.bin/deno run -A bench/load.ts --write --note "after X"  # append to RESULTS.md
 * node_modules/.bin/deno run -A bench/load.ts --cases plain --binary   # the standalone binary
 * node_modules/.bin/deno run -A bench/load.ts --cases plain --floor    # and bench/load_floor.ts
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  appendResults,
  buildBinary,
  CLEAN_ENV,
  environment,
  median,
  positive,
  REPO,
  timed,
} from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    cases: { type: "string", default: "plain,star,chain,cycle,globs,foreach,repeat,fanin" },
    runs: { type: "string", default: "3" },
    write: { type: "boolean", default: false },
    note: { type: "string", default: "" },
    binary: { type: "boolean", default: false },
    floor: { type: "boolean", default: false },
  },
});
const runs = positive("--runs", values.runs);

/** The jobs file of a case. */
function jobsFile(kind: string): string {
  const lines = ["jobs:"];
  const job = (i: number, rest: string) => lines.push(`  j${i}: { run: "true"${rest} }`);
  if (kind === "plain") {
    for (let i = 0; i < 100_000; i++) {
      const prev = i ? `, out/${i - 1}.o` : "";
      job(i, `, reads: [src/${i}.c, include/common.h${prev}], writes: [out/${i}.o]`);
    }
  } else if (kind === "star") {
    for (let i = 0; i < 2000; i++) job(i, `, reads: ["**/*"], writes: ["out/${i}/**"]`);
  } else if (kind === "chain") {
    for (let i = 0; i < 60_000; i++) job(i, i ? `, needs: [j${i - 1}]` : "");
  } else if (kind === "cycle") {
    for (let i = 0; i < 60_000; i++) job(i, `, needs: [j${(i + 1) % 60_000}]`);
  } else if (kind === "globs") {
    for (let i = 0; i < 20_000; i++) {
      job(i, `, reads: ["src/d${i}/*.c", "include/*.h"], writes: [out/${i}.o, "obj/${i}/*.d"]`);
    }
  } else if (kind === "foreach") {
    for (let i = 0; i < 3000; i++) job(i, `, writes: [gen/w${i}.txt]`);
    for (let i = 0; i < 3000; i++) {
      lines.push(
        `  g${i}: { foreach: { glob: "src/d${i}/*.c", as: F }, run: "true", ` +
          `reads: ["\${F}"], writes: ["out/${i}/\${F.stem}.o"] }`,
      );
    }
  } else if (kind === "repeat") {
    for (let i = 0; i < 20_000; i++) {
      job(i, `, repeat: { until: t${i}, max: 3 }`);
      lines.push(`  t${i}: { run: "true" }`);
    }
  } else if (kind === "fanin") {
    for (let i = 0; i < 2000; i++) job(i, `, writes: [obj/${i}.o]`);
    for (let i = 0; i < 2000; i++) job(2000 + i, `, reads: [obj], writes: [bin/${i}]`);
  } else throw new Error(`unknown case ${kind}`);
  return lines.join("\n") + "\n";
}

/** With `--binary`: the standalone binary, built fresh from this tree (else `cli.ts` on Deno). */
const binDir = values.binary ? await Deno.makeTempDir({ prefix: "jx-load-bin-" }) : undefined;
const binary = binDir ? await buildBinary(`${binDir}/jx`) : undefined;
const runtime = binary ? "the standalone binary, built fresh" : "Deno";

/**
 * One timed `jx run -n` in `dir` (or, for `floor`, bench/load_floor.ts: the least a loader must
 * do); the exit code must be `want`.
 */
async function once(
  dir: string,
  want: number,
  floor = false,
): Promise<{ ms: number; rssKiB?: number }> {
  const jx = ["run", "-n", "--output", "quiet", "-f", "jobs.yaml"];
  const [cmd, args] = floor
    ? [`${REPO}/tools/deno`, ["run", "-A", `${REPO}/bench/load_floor.ts`]]
    : binary
    ? [binary, jx]
    : [`${REPO}/tools/deno`, ["run", "-A", `${REPO}/cli.ts`, ...jx]];
  const r = await timed(cmd, args, dir, {
    env: CLEAN_ENV,
    stdout: "null",
    rss: true,
  });
  if (r.code !== want) throw new Error(`exit ${r.code}, wanted ${want}: ${r.stderr.slice(-500)}`);
  return { ms: r.ms, rssKiB: r.rssKiB };
}

const rows: string[] = [];
for (const kind of values.cases.split(",")) {
  const dir = await Deno.makeTempDir({ prefix: `jx-load-${kind}-` });
  await Deno.writeTextFile(`${dir}/jobs.yaml`, jobsFile(kind));
  const variants = kind === "plain" || kind === "fanin" ? ["cold", "cached"] : ["cold"];
  if (kind === "plain" && values.floor) variants.push("floor");
  for (const v of variants) {
    const ms: number[] = [], rss: number[] = [];
    for (let r = 0; r < runs; r++) {
      if (v === "cold") await Deno.remove(`${dir}/.jx`, { recursive: true }).catch(() => {});
      else if (r === 0 && v === "cached") await once(dir, 0); // fills the cache
      const t = await once(dir, kind === "cycle" ? 2 : 0, v === "floor");
      ms.push(t.ms);
      if (t.rssKiB) rss.push(t.rssKiB);
      console.error(`${kind} ${v} round ${r + 1}: ${(t.ms / 1000).toFixed(2)} s`);
    }
    const peak = rss.length ? `${(Math.max(...rss) / 1024).toFixed(0)}` : "n/a";
    rows.push(
      `| ${kind} ${v} | ${(median(ms) / 1000).toFixed(2)} | ${
        (Math.min(...ms) / 1000).toFixed(2)
      } | ${(Math.max(...ms) / 1000).toFixed(2)} | ${peak} |`,
    );
  }
  await Deno.remove(dir, { recursive: true });
}

const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
const text = [
  `## ${new Date().toISOString().replace(/\.\d+Z$/, "Z")} — load: jx run -n on generated files${
    values.note ? ` (${values.note})` : ""
  }`,
  "",
  `- command: \`deno run -A bench/load.ts --cases ${values.cases} --runs ${runs}${
    binary ? " --binary" : ""
  }${
    values.floor ? " --floor" : ""
  }\`; each round \`jx run -n --output quiet -f jobs.yaml\` (${runtime}), wall time and peak RSS ` +
  "by GNU time",
  `- load average at the end: ${load}`,
  ...(await environment({ ninja: false })),
  "",
  "| case | median (s) | min (s) | max (s) | peak RSS (MiB) |",
  "| --- | ---: | ---: | ---: | ---: |",
  ...rows,
].join("\n");
console.log(text);
if (values.write) await appendResults(text);
if (binDir) await Deno.remove(binDir, { recursive: true });
