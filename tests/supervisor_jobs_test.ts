/**
 * The `Supervisor`'s record of the jobs (what `jx ctl status` lists), kept
 * by each job's index in the run's graph rather than in a map by name: a
 * run's jobs with their states, and in a session (`jx watch`) the jobs of
 * every cycle, also when the jobs file changed between cycles.
 */
import assert from "node:assert/strict";
import { parseJobsFile } from "../lib/graph/mod.ts";
import type { Graph } from "../lib/graph/mod.ts";
import { Supervisor } from "../lib/modules/mod.ts";
import { FakeReactor } from "../lib/reactor/mod.ts";
import type { RunEvent } from "../lib/scheduler/mod.ts";

/** Attaches `sup` to a run of `names` (all jobs when empty) of `graph`. */
function attach(sup: Supervisor, graph: Graph, names: string[] = []): void {
  sup.attach({
    graph,
    selected: graph.select(names),
    reactor: new FakeReactor(() => ({ ms: 1 })),
    emit: () => {},
    t: () => 0,
    env: () => ({}),
  });
}

const start = (job: string): RunEvent => ({ type: "job.start", t: 0, job, pid: 42 } as RunEvent);
const end = (job: string, status: "ok" | "failed"): RunEvent =>
  ({ type: "job.end", t: 0, job, status, exit: 0, signal: null, ms: 1 }) as RunEvent;

Deno.test("status lists the run's selected jobs in file order, with pids and skip reasons", () => {
  const g = parseJobsFile(
    "jobs:\n  a: { run: x }\n  b: { run: y, needs: [a] }\n  c: { run: z }\n  d: { run: w }\n",
    "j.yaml",
  );
  const sup = new Supervisor();
  attach(sup, g, ["b", "c"]);
  sup.event(start("a"));
  sup.event({ type: "job.skip", t: 0, job: "c", reason: "up-to-date" } as RunEvent);
  sup.event(start("d")); // not selected: not followed
  assert.deepEqual(sup.status().jobs, [
    { name: "a", kind: "job", state: "running", pid: 42 },
    { name: "b", kind: "job", state: "waiting" },
    { name: "c", kind: "job", state: "skipped", reason: "up-to-date" },
  ]);
  sup.event(end("a", "ok"));
  assert.deepEqual(sup.status().jobs[0], { name: "a", kind: "job", state: "ok" });
});

Deno.test("jobs up to date many at once: those followed get their state, found from either side", () => {
  const g = parseJobsFile("jobs:\n  a: { run: x }\n  b: { run: y }\n", "j.yaml");
  for (const others of [0, 100]) {
    const sup = new Supervisor();
    attach(sup, g);
    // A partial run's skips name many jobs the part does not hold.
    sup.skips([...Array.from({ length: others }, (_, i) => `left${i}`), "b"]);
    assert.deepEqual(sup.status().jobs, [
      { name: "a", kind: "job", state: "waiting" },
      { name: "b", kind: "job", state: "skipped", reason: "up-to-date" },
    ], `${others} others`);
  }
});

Deno.test("a session keeps the jobs of earlier cycles, also of a jobs file since changed", () => {
  const first = parseJobsFile("jobs:\n  a: { run: x }\n  b: { run: y }\n", "j.yaml");
  const sup = new Supervisor({ session: true });
  attach(sup, first);
  sup.event(start("a"));
  sup.event(end("a", "failed"));
  sup.event(start("b"));
  sup.event(end("b", "ok"));
  // The file changed: `a` is gone, `c` comes first, `b` moved.
  const second = parseJobsFile("jobs:\n  c: { run: z }\n  b: { run: y }\n", "j.yaml");
  attach(sup, second, ["b"]);
  assert.deepEqual(sup.status().jobs, [
    { name: "b", kind: "job", state: "waiting" },
    { name: "a", kind: "job", state: "failed" },
  ]);
  sup.event(start("b"));
  sup.event(end("b", "ok"));
  attach(sup, second, ["c"]);
  sup.event(start("c"));
  assert.deepEqual(sup.status().jobs.map((j) => `${j.name} ${j.state}`), [
    "c running",
    "b ok",
    "a failed",
  ]);
});
