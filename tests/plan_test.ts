/**
 * `Plan` on its own: no reactor, no runner. What is ready, in file order;
 * how an outcome spreads; stop; a job added while running.
 */
import assert from "node:assert/strict";
import { parseJobsFile } from "../lib/graph/mod.ts";
import type { JobNode } from "../lib/graph/types.ts";
import { Plan } from "../lib/scheduler/plan.ts";

const planOf = (yaml: string) => {
  const g = parseJobsFile(yaml, "p.yaml", { baseDir: "/" });
  return new Plan(g, g.select([]));
};

/** Takes every ready job (starting it), in the order offered. */
const takeReady = (plan: Plan) => {
  const out: string[] = [];
  plan.offerReady((spec) => {
    out.push(spec.name);
    plan.start(spec.name);
    return "started";
  });
  return out;
};

Deno.test("plan: ready jobs come in file order; a dependent waits for all it needs", () => {
  const plan = planOf("jobs:\n  a: { run: x }\n  b: { run: x }\n  c: { run: x, needs: [a, b] }\n");
  assert.deepEqual(takeReady(plan), ["a", "b"]);
  plan.finish("b", "ok");
  assert.deepEqual(takeReady(plan), []);
  plan.finish("a", "ok");
  assert.deepEqual(takeReady(plan), ["c"]);
  plan.finish("c", "ok");
  assert.equal(plan.done, true);
  assert.deepEqual(plan.outcome("c"), { kind: "ran", status: "ok" });
});

Deno.test('plan: a refused job stays ready; "full" stops the offer', () => {
  const plan = planOf("jobs:\n  a: { run: x }\n  b: { run: x }\n  c: { run: x }\n");
  const seen: string[] = [];
  plan.offerReady((s) => (seen.push(s.name), s.name === "a" ? "blocked" : "full"));
  assert.deepEqual(seen, ["a", "b"]);
  assert.equal(plan.nextReady()?.name, "a");
  assert.deepEqual(takeReady(plan), ["a", "b", "c"]);
});

Deno.test("plan: a failure skips what needs it, transitively, naming the root", () => {
  const plan = planOf(
    "jobs:\n  a: { run: x }\n  b: { run: x, needs: [a] }\n  c: { run: x, needs: [b] }\n",
  );
  takeReady(plan);
  plan.finish("a", "failed");
  assert.deepEqual(plan.takeSkipped(), [
    { job: "b", reason: "dependency-failed", because: "a" },
    { job: "c", reason: "dependency-failed", because: "a" },
  ]);
  assert.equal(plan.done, true);
});

Deno.test("plan: an order edge (read, then write) orders but does not carry failure", () => {
  const plan = planOf(
    "jobs:\n  r: { run: x, reads: [f] }\n  w: { run: x, writes: [f] }\n",
  );
  assert.deepEqual(takeReady(plan), ["r"]);
  plan.finish("r", "failed");
  assert.deepEqual(takeReady(plan), ["w"]);
});

Deno.test("plan: if/unless conditions; the tested job's failure does not count", () => {
  const plan = planOf(
    "jobs:\n  t: { run: x }\n  yes: { run: x, if: t }\n  no: { run: x, unless: t }\n",
  );
  takeReady(plan);
  plan.finish("t", "failed");
  assert.equal(plan.failureCounts("t"), false);
  assert.deepEqual(takeReady(plan), ["no"]);
  assert.deepEqual(plan.takeSkipped(), [{ job: "yes", reason: "condition", because: "t" }]);
});

Deno.test("plan: a job added during the run makes a test of a job that has not ended, not of one that failed", () => {
  const g = parseJobsFile(
    "jobs:\n  t: { run: x }\n  u: { run: x }\n  gen: { run: x }\n",
    "p.yaml",
    {
      baseDir: "/",
    },
  );
  const plan = new Plan(g, g.select([]));
  const spec = (name: string, extra: { needs?: string[]; if?: string; unless?: string }) =>
    ({ ...g.get("gen"), name, ...extra }) as JobNode;
  assert.deepEqual(takeReady(plan), ["t", "u", "gen"]);
  plan.finish("t", "failed");
  assert.equal(plan.failureCounts("t"), true);
  // Named after it failed: its failure counted (and stopped the run without -k): it stays counted.
  plan.add(spec("g", { unless: "t" }), "gen");
  assert.equal(plan.failureCounts("t"), true);
  assert.deepEqual(takeReady(plan), ["g"]); // decided on t's outcome all the same
  plan.add(spec("h", { needs: ["t"] }), "gen");
  assert.deepEqual(plan.takeSkipped(), [{ job: "h", reason: "dependency-failed", because: "t" }]);
  // Named while it runs: a test, as in the file.
  plan.add(spec("k", { if: "u" }), "gen");
  plan.finish("u", "failed");
  assert.equal(plan.failureCounts("u"), false);
  assert.deepEqual(plan.takeSkipped(), [{ job: "k", reason: "condition", because: "u" }]);
});

Deno.test("plan: stop skips everything not started as cancelled; running jobs still finish", () => {
  const plan = planOf("jobs:\n  a: { run: x }\n  b: { run: x }\n  c: { run: x, needs: [a] }\n");
  plan.offerReady((s) => s.name === "a" ? (plan.start("a"), "started") : "blocked");
  plan.stop("interrupt");
  assert.deepEqual(plan.takeSkipped(), [{ job: "b", reason: "cancelled", because: undefined }]);
  plan.finish("a", "cancelled");
  assert.deepEqual(plan.takeSkipped(), [{ job: "c", reason: "cancelled", because: "a" }]);
  assert.equal(plan.done, true);
});

Deno.test("plan: tryAdd says why a job cannot join, as a value; add throws it", () => {
  const g = parseJobsFile("jobs:\n  gen: { run: x }\n  b: { run: x }\n", "p.yaml", {
    baseDir: "/",
  });
  const plan = new Plan(g, g.select(["gen"]));
  const spec = (name: string, extra: { needs?: string[] } = {}) => ({
    ...g.get("gen"),
    name,
    ...extra,
  });
  assert.equal(plan.tryAdd(spec("b"), "gen"), "a job named 'b' already exists");
  assert.equal(
    plan.tryAdd(spec("x", { needs: ["b"] }), "gen"),
    "needs 'b', which is not part of this run",
  );
  assert.equal(plan.tryAdd(spec("y", { needs: ["zz"] }), "gen"), "unknown job 'zz' in needs");
  assert.throws(() => plan.add(spec("b"), "gen"), /already exists/);
  takeReady(plan);
  assert.deepEqual(plan.tryAdd(spec("z", { needs: ["gen"] }), "gen"), [
    { from: "gen", to: "z", kind: "needs", reason: "needs" },
  ]);
  plan.finish("gen", "ok");
  assert.deepEqual(takeReady(plan), ["z"]);
});
