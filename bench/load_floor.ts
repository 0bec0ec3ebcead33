/**
 * The floor of a cold load (issue #18 item 14): the least a loader must do with bench/load.ts's
 * `plain` file, written as plainly as JavaScript allows, to show what 2 s leaves for the rest.
 * It reads `jobs.yaml` in the working folder, takes each one-line job apart with one regular
 * expression (no YAML parser, no positions, no schema, no vars, no checks: a file of any other
 * shape is not read), numbers every path through one Map, derives each read's writer, and writes
 * the jobs, numbers and edges as one JSON cache; no plan, no dry run, no output. Its phases go to
 * stderr. bench/load.ts `--floor` times it beside `jx run -n` in the same rounds.
 *
 * @example
 * ```sh
 * cd DIR_WITH_PLAIN_JOBS_YAML && deno run -A /path/to/bench/load_floor.ts
 * ```
 *
 * @module
 */
const t0 = performance.now();
const text = Deno.readTextFileSync("jobs.yaml");
const t1 = performance.now();
interface Job {
  name: string;
  run: string;
  reads: string[];
  writes: string[];
  line: number;
}
const jobs: Job[] = [];
const shape = /^ {2}([^:\s]+): \{ run: "([^"]*)", reads: \[([^\]]*)\], writes: \[([^\]]*)\] \}$/;
for (let pos = 0, line = 1; pos < text.length; line++) {
  let nl = text.indexOf("\n", pos);
  if (nl < 0) nl = text.length;
  const m = shape.exec(text.slice(pos, nl));
  if (m) {
    jobs.push({ name: m[1], run: m[2], reads: m[3].split(", "), writes: m[4].split(", "), line });
  }
  pos = nl + 1;
}
const t2 = performance.now();
const ids = new Map<string, number>();
const paths: string[] = [];
const idOf = (p: string) => {
  let id = ids.get(p);
  if (id === undefined) ids.set(p, id = paths.push(p) - 1);
  return id;
};
const writer: number[] = [];
const reads = jobs.map((j) => j.reads.map(idOf));
const writes = jobs.map((j, k) => j.writes.map((p) => writer[idOf(p)] = k));
const edges: number[] = [];
reads.forEach((rs, k) => {
  for (const r of rs) if (writer[r] !== undefined && writer[r] !== k) edges.push(writer[r], k);
});
const t3 = performance.now();
const cache = JSON.stringify({
  jobs: jobs.map((j) => [j.name, j.run, j.line]),
  reads,
  writes,
  paths,
  edges,
});
Deno.writeTextFileSync(".floor.json", cache);
const t4 = performance.now();
const ms = (a: number, b: number) => Math.round(b - a);
console.error(
  `floor: ${jobs.length} jobs, ${edges.length / 2} edges; read ${ms(t0, t1)} ms, parse ${
    ms(t1, t2)
  } ms, paths and edges ${ms(t2, t3)} ms, cache ${ms(t3, t4)} ms (${cache.length} bytes)`,
);
