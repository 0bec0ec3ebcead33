/**
 * Output flood: one job writes 1 GiB to stdout; jx passes it to /dev/null
 * (`--output stream`, and the default `buffered`, which holds 1 MiB in
 * memory and spills the rest to a temporary file), on Deno and on Bun, against
 * `cat` of the same stream, and the floor of buffering: the same gigabyte
 * written to a file by the kernel alone. Wall time (median) and jx's peak RSS (`/usr/bin/time -f %M`), same
 * run. Targets (epoll issue): at least half the rate of `cat`; RSS under
 * 100 MiB.
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/flood.ts --runs 5 --write
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { appendResults, BUN, CLI, DENO, environment, median } from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { runs: { type: "string", default: "5" }, write: { type: "boolean", default: false } },
});
const RUNS = Number(values.runs);
const BYTES = 1024 * 1024 * 1024;
const dir = await Deno.makeTempDir({ prefix: "jx-bench-flood-" });
await Deno.writeTextFile(
  `${dir}/jobs.yaml`,
  `jobs:\n  flood: { run: "head -c ${BYTES} /dev/zero" }\n`,
);

/** Runs `sh -c line` under /usr/bin/time; returns [seconds, max RSS KiB]. */
async function measure(line: string): Promise<[number, number]> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%e %M", "sh", "-c", line],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  const last = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)!;
  const [s, kb] = last.split(" ").map(Number);
  if (out.code !== 0) throw new Error(`${line}: exit ${out.code}`);
  return [s * 1000, kb];
}

const tools = [
  { name: "cat", line: `head -c ${BYTES} /dev/zero | cat > /dev/null` },
  { name: "jx --output stream", line: `${DENO} run -A ${CLI} run --output stream > /dev/null` },
  { name: "jx (buffered)", line: `${DENO} run -A ${CLI} run > /dev/null` },
  { name: "jx --output stream (Bun)", line: `${BUN} ${CLI} run --output stream > /dev/null` },
  { name: "jx (buffered, Bun)", line: `${BUN} ${CLI} run > /dev/null` },
  // What buffering cannot avoid: the same gigabyte written to a file in this directory (the
  // spill file's file system), by the kernel alone.
  { name: "floor: head > file", line: `head -c ${BYTES} /dev/zero > spill; rm spill` },
];
const ms = tools.map(() => [] as number[]);
const rss = tools.map(() => [] as number[]);
for (let r = 0; r < RUNS; r++) {
  for (let k = 0; k < tools.length; k++) {
    const i = (k + r) % tools.length;
    const [t, kb] = await measure(tools[i].line);
    ms[i].push(t);
    rss[i].push(kb);
  }
}
await Deno.remove(dir, { recursive: true });
const cat = median(ms[0]);
const rows = tools.map((t, i) => {
  const m = median(ms[i]);
  return `| ${t.name} | ${(m / 1000).toFixed(2)} s | ${
    (BYTES / 1048576 / (m / 1000)).toFixed(0)
  } MiB/s | ${(cat / m).toFixed(2)} | ${(Math.max(...rss[i]) / 1024).toFixed(0)} MiB |`;
});
const text = [
  `## ${new Date().toISOString().replace(/\.\d+Z$/, "Z")} — output flood: 1 GiB from one job`,
  "",
  ...(await environment()),
  `- one job \`head -c 1073741824 /dev/zero\`; jx's stdout to /dev/null; ${RUNS} runs each, round-robin; wall time of the whole command (jx startup included); peak RSS of the measured command from \`/usr/bin/time -f %M\``,
  "",
  "| command | median | rate | rate / cat | peak RSS |",
  "| --- | ---: | ---: | ---: | ---: |",
  ...rows,
  "",
  "Targets: at least half the rate of cat, RSS under 100 MiB.",
  ...tools.slice(1).filter((t) => t.name.startsWith("jx")).map((t) => {
    const i = tools.indexOf(t);
    const rate = cat / median(ms[i]) >= 0.5 ? "met" : "NOT met";
    const mem = Math.max(...rss[i]) < 102400 ? "met" : "NOT met";
    return `- ${t.name}: rate ${rate}; RSS ${mem}`;
  }),
].join("\n");
console.log(text);
if (values.write) await appendResults(text);
