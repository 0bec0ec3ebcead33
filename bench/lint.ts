/**
 * The cost of checking declarations: `jx run --check-access` and `jx lint`
 * (every job under `strace -f`) against `jx run --force` (the same jobs,
 * untraced), at -j1 and at the CPU count, on
 * two graphs: N trivial jobs (`/bin/true`) and a real compile graph (C files
 * each including two headers, compiled by gcc, then linked). Rounds
 * alternate the commands; medians. All must exit 0 (lint: no finding).
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/lint.ts                       # 200 trivial, 32 compiles, 5 runs
 * node_modules/.bin/deno run -A bench/lint.ts --jobs 2000 --runs 3 --write
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  appendResults,
  CLI,
  commandLine,
  DENO,
  environment,
  median,
  medianTable,
  positive,
  roundRobin,
  timeTool,
  trivialJobsYaml,
} from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "200" },
    compiles: { type: "string", default: "32" },
    runs: { type: "string", default: "5" },
    write: { type: "boolean", default: false },
    note: { type: "string" },
  },
});
const n = positive("--jobs", values.jobs!);
const compiles = positive("--compiles", values.compiles!);
const runs = positive("--runs", values.runs!);

/** A folder with `compiles` C files, two headers, and the jobs file that builds them. */
async function compileProject(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/src`, { recursive: true });
  await Deno.writeTextFile(`${dir}/src/common.h`, "#include <stdio.h>\n#define K 3\n");
  await Deno.writeTextFile(
    `${dir}/src/extra.h`,
    "static inline int twice(int x) { return 2 * x; }\n",
  );
  const lines = ["version: 1", "jobs:"];
  const objs: string[] = [];
  for (let i = 0; i < compiles; i++) {
    await Deno.writeTextFile(
      `${dir}/src/f${i}.c`,
      `#include "common.h"\n#include "extra.h"\nint f${i}(void) { printf("%d", K); return twice(${i}); }\n`,
    );
    lines.push(
      `  cc${i}: { run: gcc -O1 -c src/f${i}.c -o out/f${i}.o, reads: [src/f${i}.c, src/*.h], ` +
        `writes: [out/f${i}.o] }`,
    );
    objs.push(`out/f${i}.o`);
  }
  await Deno.writeTextFile(`${dir}/src/main.c`, "int main(void) { return 0; }\n");
  lines.push(
    `  link: { run: gcc -o out/prog src/main.c ${objs.join(" ")}, ` +
      `reads: [src/main.c, "out/*.o"], writes: [out/prog] }`,
  );
  await Deno.mkdir(`${dir}/out`);
  await Deno.writeTextFile(`${dir}/jobs.yaml`, lines.join("\n") + "\n");
}

const trivial = await Deno.makeTempDir({ prefix: "jx-bench-lint-" });
await Deno.writeTextFile(`${trivial}/jobs.yaml`, trivialJobsYaml(n));
const cc = await Deno.makeTempDir({ prefix: "jx-bench-lint-cc-" });
await compileProject(cc);

const jx = (args: string[]) => [DENO, ["run", "-A", CLI, ...args]] as const;
const quiet = ["--force", "--output", "quiet"];
const variants = (dir: string) => [
  { name: "jx run -j1 --force", cmd: jx(["run", "-j1", ...quiet]), dir },
  {
    name: "jx run -j1 --force --check-access",
    cmd: jx(["run", "-j1", "--check-access", ...quiet]),
    dir,
  },
  { name: "jx lint -j1", cmd: jx(["lint", "-j1"]), dir },
  // Under -j (the CPU count): lint's comparison no longer needs one job at a time.
  { name: "jx run --force", cmd: jx(["run", ...quiet]), dir },
  { name: "jx lint", cmd: jx(["lint"]), dir },
];

const sections: string[] = [];
for (
  const [label, dir] of [[`${n} trivial jobs`, trivial], [`${compiles} gcc compiles + link`, cc]]
) {
  const vs = variants(dir);
  const samples = await roundRobin(vs, runs, async (v) => {
    const [cmd, args] = v.cmd;
    return (await timeTool(v.name, cmd, [...args], v.dir)).ms;
  });
  const ms = (name: string) => samples.find((s) => s.tool.name === name)!.ms;
  const table = medianTable(
    vs.map((v) => ({ name: v.name, ms: ms(v.name) })),
    "jx run -j1 --force",
  );
  const r = (a: string, b: string) => (median(ms(a)) / median(ms(b))).toFixed(2) + "x";
  const ratio =
    `check-access / run (-j1): ${r("jx run -j1 --force --check-access", "jx run -j1 --force")}; ` +
    `lint / run (-j1): ${r("jx lint -j1", "jx run -j1 --force")}; ` +
    `lint / run (-j): ${r("jx lint", "jx run --force")}`;
  console.log(`${label}\n${table}\n${ratio}\n`);
  sections.push(
    `### ${label}\n\n- commands: ${
      vs.map((v) => commandLine(v.cmd[0], [...v.cmd[1]], dir)).join(", ")
    }\n\n${table}\n\n${ratio}`,
  );
}
await Deno.remove(trivial, { recursive: true });
await Deno.remove(cc, { recursive: true });

if (values.write) {
  const env = await environment({ ninja: false });
  await appendResults(
    `## ${new Date().toISOString().slice(0, 19)}Z — lint: the cost of tracing (bench/lint.ts)\n\n` +
      `- command: \`deno run -A bench/lint.ts --jobs ${n} --compiles ${compiles} --runs ${runs} ` +
      `--write\`; ${runs} runs each, alternating\n${env.join("\n")}\n` +
      (values.note ? `- note: ${values.note}\n` : "") + "\n" + sections.join("\n\n"),
  );
}
