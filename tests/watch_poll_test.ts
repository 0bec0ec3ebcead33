/**
 * `Watcher --poll`: a cycle's own writes are its own until the scan after it
 * ended, however late that scan comes (a scan of a big tree, a loaded machine).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { parseJobsFile } from "../lib/graph/mod.ts";
import { createPortableReactor } from "../lib/reactor/mod.ts";
import { Watcher } from "../lib/watch/watch.ts";
import { sleep, tempDir } from "./helpers.ts";
import { okCycle, tickingReactor } from "./watch_unit.ts";

const JOBS = `jobs:
  gen: { run: 'true', reads: [in.txt], writes: [gen.txt] }
  use: { run: 'true', reads: [gen.txt], writes: [use.txt] }
`;

Deno.test("watch --poll: a cycle's own write seen by a scan that comes late after its end starts no cycle", async () => {
  const dir = await tempDir({ "in.txt": "0\n" });
  const graph = parseJobsFile(JOBS, `${dir}/jobs.yaml`);
  const real = createPortableReactor();
  // The clock jumps once the first cycle has ended: its next scan comes long after.
  let skew = 0;
  const { reactor, ticks } = tickingReactor(real, () => skew);
  const cycles: string[][] = [];
  const watcher = new Watcher({
    graph,
    selected: graph.jobs,
    baseDir: dir,
    reactor,
    debounceMs: 10,
    onBusy: "queue",
    poll: true,
    pollMs: 20,
    runCycle: (jobs, changed) => {
      cycles.push(changed);
      if (jobs.some((j) => j.name === "gen")) writeFileSync(`${dir}/gen.txt`, `${cycles.length}\n`);
      return okCycle(jobs);
    },
    say: (line) => {
      if (line.includes("first run")) skew += 60_000;
    },
  });
  try {
    watcher.start();
    for (let i = 0; i < 1000 && ticks() < 20; i++) await sleep(10); // scans after the first cycle
    assert.deepEqual(cycles, [[]], "gen.txt, the first cycle's write, started a cycle");
    await Deno.writeTextFile(`${dir}/in.txt`, "1\n"); // a real change still does
    for (let i = 0; i < 3000 && cycles.length < 2; i++) await sleep(10);
    assert.deepEqual(cycles, [[], ["in.txt"]]);
  } finally {
    watcher.stop("SIGTERM");
    await watcher.done;
    real.close();
  }
});

Deno.test("watch --poll: a header a depfile lists for the first time is not a change by itself", async () => {
  const dir = await tempDir({ "main.c": "main\n", "h.h": "h\n" });
  const graph = parseJobsFile(
    "jobs:\n  cc: { run: 'true', reads: [main.c], writes: [out.o, out.d], depfile: out.d }\n",
    `${dir}/jobs.yaml`,
  );
  const real = createPortableReactor();
  const { reactor, ticks } = tickingReactor(real);
  const cycles: string[][] = [];
  const watcher = new Watcher({
    graph,
    selected: graph.jobs,
    baseDir: dir,
    reactor,
    debounceMs: 10,
    onBusy: "queue",
    poll: true,
    pollMs: 20,
    runCycle: (jobs, changed) => {
      cycles.push(changed);
      writeFileSync(`${dir}/out.d`, "out.o: main.c h.h\n");
      return okCycle(jobs);
    },
    say: () => {},
  });
  try {
    watcher.start();
    for (let i = 0; i < 1000 && ticks() < 20; i++) await sleep(10); // scans after the first cycle
    assert.deepEqual(cycles, [[]], "h.h, new to the reads, was taken as changed");
    await Deno.writeTextFile(`${dir}/h.h`, "h2\n"); // an edit of it is one
    for (let i = 0; i < 3000 && cycles.length < 2; i++) await sleep(10);
    assert.deepEqual(cycles, [[], ["h.h"]]);
  } finally {
    watcher.stop("SIGTERM");
    await watcher.done;
    real.close();
  }
});

Deno.test("watch: a job that writes what it reads without listing it in writes: said once, after three cycles it started in a row", async () => {
  const dir = await tempDir({ "src/a.txt": "a\n" });
  const graph = parseJobsFile(
    "jobs:\n  fmt: { run: 'true', reads: [src/*.txt] }\n",
    `${dir}/jobs.yaml`,
  );
  const reactor = createPortableReactor();
  const cycles: string[][] = [];
  const said: string[] = [];
  let n = 0;
  const watcher = new Watcher({
    graph,
    selected: graph.jobs,
    baseDir: dir,
    reactor,
    debounceMs: 10,
    onBusy: "queue",
    poll: true,
    pollMs: 20,
    runCycle: (jobs, changed) => {
      cycles.push(changed);
      writeFileSync(`${dir}/src/log.txt`, `${++n}\n`); // `date >> src/log.txt`, undeclared
      return okCycle(jobs);
    },
    say: (line) => said.push(line),
  });
  try {
    watcher.start();
    for (let i = 0; i < 3000 && cycles.length < 8; i++) await sleep(10);
    assert.ok(cycles.length >= 8, "each run starts the next cycle: never dropped");
    const warned = said.filter((l) => l.includes("warning"));
    assert.deepEqual(warned, [
      "jx watch: warning: src/log.txt changed while the jobs that read it ran, 3 cycles in a " +
      "row: if one of them writes it, list it in its `writes` (else each run starts the next cycle)",
    ]);
  } finally {
    watcher.stop("SIGTERM");
    await watcher.done;
    reactor.close();
  }
});
