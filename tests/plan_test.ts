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

Deno.test('plan: lanes: "full" stops its lane only, "stop" the whole offer; file order across lanes', () => {
  const g = parseJobsFile(
    "jobs:\n" + ["a", "s1", "b", "s2", "c", "s3"].map((n) => `  ${n}: { run: x }\n`).join(""),
    "p.yaml",
    { baseDir: "/" },
  );
  const plan = new Plan(g, g.select([]), (spec) => spec.name.startsWith("s") ? 1 : 0);
  assert.equal(plan.nextReady()?.name, "a");
  const seen: string[] = [];
  // Lane 0 full at its first job: lane 1's jobs are offered still, in file order.
  plan.offerReady((s) => {
    seen.push(s.name);
    if (s.name === "a") return "full";
    plan.start(s.name);
    return "started";
  });
  assert.deepEqual(seen, ["a", "s1", "s2", "s3"]);
  assert.equal(plan.nextReady()?.name, "a");
  // "stop": nothing after it is offered, of any lane.
  const plan2 = new Plan(g, g.select([]), (spec) => spec.name.startsWith("s") ? 1 : 0);
  const seen2: string[] = [];
  plan2.offerReady((s) => (seen2.push(s.name), s.name === "s1" ? "stop" : "blocked"));
  assert.deepEqual(seen2, ["a", "s1"]);
  assert.deepEqual(takeReady(plan2), ["a", "s1", "b", "s2", "c", "s3"]);
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
  const g = parseJobsFile(
    "jobs:\n  gen: { run: x }\n  b: { run: x }\nmodules:\n  m: { run: x }\n",
    "p.yaml",
    { baseDir: "/" },
  );
  const plan = new Plan(g, g.select(["gen"]));
  const spec = (name: string, extra: { needs?: string[] } = {}) => ({
    ...g.get("gen"),
    name,
    ...extra,
  });
  assert.equal(plan.tryAdd(spec("b"), "gen"), "a job named 'b' already exists");
  assert.equal(
    plan.tryAdd(spec("x", { needs: ["m"] }), "gen"),
    "needs 'm', which is not part of this run and cannot join it while it runs " +
      "(it is a module: name it on the command line)",
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

/** A plan of `selected` (in file order; not closed under what they wait for, as a library may pass). */
const planOfSome = (yaml: string, selected: string[]) => {
  const g = parseJobsFile(yaml, "p.yaml", { baseDir: "/" });
  const plan = new Plan(g, g.jobs.filter((j) => selected.includes(j.name)));
  const spec = (
    name: string,
    extra: { needs?: string[]; writes?: string[]; reads?: string[]; if?: string } = {},
  ) => ({
    ...(g.get("gen") as JobNode),
    name,
    emits: undefined,
    ...extra,
  });
  return { g, plan, spec };
};

Deno.test("plan: a job added while running pulls in the graph's jobs it needs, with theirs, in file order", () => {
  const { plan, spec } = planOfSome(
    `
jobs:
  gen: { run: g, emits: jobs }
  base: { run: b }
  lib: { run: l, needs: [base], writes: [lib.a] }
  user: { run: u, reads: [lib.a] }
  other: { run: o }
`,
    ["gen", "user"],
  );
  assert.deepEqual(takeReady(plan), ["gen", "user"]);
  plan.finish("user", "ok"); // ended before lib joined: it did not wait for it
  assert.ok(Array.isArray(plan.tryAdd(spec("app", { needs: ["lib"] }), "gen")));
  assert.deepEqual(plan.takePulled(), [{ job: "base", for: "app" }, { job: "lib", for: "app" }]);
  assert.equal(plan.size, 5, "gen, user, base, lib, app");
  assert.deepEqual(takeReady(plan), ["base"]);
  plan.finish("base", "ok");
  assert.deepEqual(takeReady(plan), ["lib"]);
  plan.finish("lib", "ok"); // releases user, which is done: nothing
  assert.deepEqual(takeReady(plan), ["app"]);
  plan.finish("app", "ok");
  plan.finish("gen", "ok");
  assert.equal(plan.done, true);
  assert.equal(plan.outcome("other"), undefined, "what nothing needs stays out");
});

Deno.test("plan: a job of the run not started waits for a job pulled in before it in the graph", () => {
  const { plan, spec } = planOfSome(
    `
jobs:
  gen: { run: g, emits: jobs }
  lib: { run: l, writes: [lib.a] }
  user: { run: u, reads: [lib.a] }
`,
    ["gen", "user"],
  );
  plan.offerReady((s) => s.name === "gen" ? (plan.start(s.name), "started") : "blocked");
  assert.equal(plan.nextReady()?.name, "user", "ready, not started");
  plan.add(spec("app", { needs: ["lib"] }), "gen");
  assert.deepEqual(takeReady(plan), ["lib"], "user is held back: it reads what lib writes");
  plan.finish("lib", "failed");
  assert.deepEqual(plan.takeSkipped(), [
    { job: "user", reason: "dependency-failed", because: "lib" },
    { job: "app", reason: "dependency-failed", because: "lib" },
  ]);
});

Deno.test("plan: a pulled-in job whose dependency in the run failed is skipped, and so is the job that needed it", () => {
  const { plan, spec } = planOfSome(
    `
jobs:
  gen: { run: g, emits: jobs }
  a: { run: a }
  lib: { run: l, needs: [a] }
`,
    ["gen", "a"],
  );
  takeReady(plan);
  plan.finish("a", "failed");
  plan.add(spec("app", { needs: ["lib"] }), "gen");
  assert.deepEqual(plan.takeSkipped(), [
    { job: "lib", reason: "dependency-failed", because: "a" },
    { job: "app", reason: "dependency-failed", because: "a" },
  ]);
});

Deno.test("plan: a pulled-in job is ordered with jobs added before it by their files", () => {
  const { plan, spec } = planOfSome(
    `
jobs:
  gen: { run: g, emits: jobs }
  lib: { run: l, writes: [f] }
`,
    ["gen"],
  );
  takeReady(plan);
  plan.add(spec("w", { writes: ["f"] }), "gen"); // just after gen: before lib
  plan.add(spec("app", { needs: ["lib"] }), "gen");
  assert.deepEqual(takeReady(plan), ["w"], "lib writes f after w");
  plan.finish("w", "ok");
  assert.deepEqual(takeReady(plan), ["lib"]);
  plan.finish("lib", "ok");
  assert.deepEqual(takeReady(plan), ["app"]);
});

Deno.test("plan: jobs pulled in that would close a cycle are refused; the plan is unchanged", () => {
  const { plan, spec } = planOfSome(
    `
jobs:
  gen: { run: g, emits: jobs }
  s: { run: s, reads: [f] }
  lib: { run: l, needs: [s], writes: [g] }
  d: { run: d, reads: [g] }
`,
    ["gen", "s", "d"],
  );
  plan.offerReady((x) => x.name === "gen" ? (plan.start(x.name), "started") : "blocked");
  plan.add(spec("a", { needs: ["d"], writes: ["f"] }), "gen"); // d, then a, then s
  // lib would wait for s and d for lib: lib, d, a, s, lib.
  assert.equal(
    plan.tryAdd(spec("x", { needs: ["lib"] }), "gen"),
    "adding 'x' would close a cycle through 'lib'",
  );
  assert.deepEqual(plan.takePulled(), []);
  assert.equal(plan.size, 4, "gen, s, d, a");
  assert.deepEqual(takeReady(plan), ["d"]);
});

// `report` comes from `gen`; `summary`, which it pulls in, needs `g2`, another generator.
const TWO_GENERATORS = `
jobs:
  gen: { run: g, emits: jobs }
  g2: { run: h, emits: jobs }
  summary: { run: s, needs: [g2] }
`;

Deno.test("plan: a pulled-in job that needs a generator waits for what it made so far, and later", () => {
  const { plan, spec } = planOfSome(TWO_GENERATORS, ["gen", "g2"]);
  takeReady(plan);
  plan.add(spec("s1"), "g2");
  assert.deepEqual(takeReady(plan), ["s1"]);
  plan.add(spec("report", { needs: ["summary"] }), "gen");
  plan.add(spec("s2"), "g2"); // made after summary joined: it waits for that too
  assert.deepEqual(takeReady(plan), ["s2"]);
  plan.finish("g2", "ok");
  plan.finish("s1", "ok");
  assert.deepEqual(takeReady(plan), [], "summary waits for s2, which g2 made after it joined");
  plan.finish("s2", "ok");
  assert.deepEqual(takeReady(plan), ["summary"]);
});

Deno.test("plan: a pulled-in job that needs a generator waits for what it made before", () => {
  const { plan, spec } = planOfSome(TWO_GENERATORS, ["gen", "g2"]);
  takeReady(plan);
  plan.add(spec("s1"), "g2");
  assert.deepEqual(takeReady(plan), ["s1"]);
  plan.add(spec("report", { needs: ["summary"] }), "gen");
  plan.finish("g2", "ok");
  assert.deepEqual(takeReady(plan), [], "summary waits for s1, which g2 made before it joined");
  plan.finish("s1", "ok");
  assert.deepEqual(takeReady(plan), ["summary"]);
});

Deno.test("plan: jobs pulled in after the generator in the file come before the job that needs them", () => {
  const { plan, spec } = planOfSome(
    `
jobs:
  gen: { run: g, emits: jobs }
  base: { run: b, writes: [base.out] }
  lib: { run: l, needs: [base], reads: [base.out], writes: [lib.out] }
`,
    ["gen"],
  );
  takeReady(plan);
  const added = plan.tryAdd(
    spec("app", { needs: ["lib"], reads: ["base.out", "lib.out"], writes: ["app.out"] }),
    "gen",
  );
  assert.ok(Array.isArray(added), String(added));
  assert.deepEqual(takeReady(plan), ["base"]);
  plan.finish("base", "ok");
  assert.deepEqual(takeReady(plan), ["lib"]);
  plan.finish("lib", "ok");
  assert.deepEqual(takeReady(plan), ["app"]);
});

Deno.test("plan: a job pulled in for an if is a test from the start: its skip is no failure", () => {
  const { plan, spec } = planOfSome(
    `
jobs:
  gen: { run: g, emits: jobs }
  probe: { run: p }
  t: { run: t, needs: [probe] }
`,
    ["gen", "probe"],
  );
  takeReady(plan);
  plan.finish("probe", "failed");
  plan.takeSkipped();
  assert.ok(Array.isArray(plan.tryAdd(spec("app", { if: "t" }), "gen")));
  assert.deepEqual(plan.takeSkipped(), [
    { job: "t", reason: "dependency-failed", because: "probe" },
    { job: "app", reason: "condition", because: "t" },
  ]);
  assert.equal(plan.failureCounts("t"), false);
});

Deno.test("plan: a refused job pulls nothing in", () => {
  const { plan, spec } = planOfSome(
    "jobs:\n  gen: { run: g, emits: jobs }\n  lib: { run: l }\n",
    ["gen"],
  );
  takeReady(plan);
  assert.equal(
    plan.tryAdd(spec("app", { needs: ["lib", "nope"] }), "gen"),
    "unknown job 'nope' in needs",
  );
  assert.deepEqual(plan.takePulled(), []);
  assert.equal(plan.size, 1);
  assert.equal(plan.outcome("lib"), undefined);
  plan.finish("gen", "ok");
  assert.equal(plan.done, true);
});

Deno.test("plan: a pulled-in job waits for a job of the run that follows it in the graph and started already", () => {
  const { plan, spec } = planOfSome(
    "jobs:\n  gen: { run: g, emits: jobs }\n  lib: { run: l, writes: [f] }\n  user: { run: u, writes: [f] }\n",
    ["gen", "user"],
  );
  assert.deepEqual(takeReady(plan), ["gen", "user"]);
  plan.add(spec("app", { needs: ["lib"] }), "gen");
  assert.deepEqual(takeReady(plan), [], "user writes f now");
  plan.finish("user", "ok");
  assert.deepEqual(takeReady(plan), ["lib"]);
});

Deno.test("plan: a job pulled in that needs a generator is ordered after what it made, by name, not refused", () => {
  const yaml = `
jobs:
  gen: { run: g, emits: jobs }
  p: { run: p, needs: [g2], writes: [f] }
  p2: { run: q, needs: [g2] }
  p3: { run: r, needs: [p2], writes: [f] }
  g2: { run: h, emits: jobs }
`;
  for (const need of ["p", "p3"]) {
    const { plan, spec } = planOfSome(yaml, ["gen", "g2"]);
    takeReady(plan);
    plan.add(spec("a1", { writes: ["f"] }), "g2"); // not started
    const added = plan.tryAdd(spec("n", { needs: [need] }), "gen");
    assert.ok(Array.isArray(added), `${need}: ${added}`);
    plan.finish("g2", "ok");
    plan.finish("gen", "ok");
    assert.deepEqual(takeReady(plan), ["a1"], need);
  }
});

Deno.test("plan: whether an added job closes a cycle does not hang on the order of its writes", () => {
  const yaml = `
jobs:
  x: { run: x, needs: [y], writes: [b] }
  gen: { run: g, emits: jobs }
  y: { run: y, writes: [a] }
`;
  const outcomes = [["a", "b"], ["b", "a"]].map((writes) => {
    const { plan, spec } = planOfSome(yaml, ["x", "gen", "y"]);
    plan.offerReady((s) => s.name === "gen" ? (plan.start(s.name), "started") : "blocked");
    const r = plan.tryAdd(spec("n", { writes }), "gen");
    return typeof r === "string" ? r : "added";
  });
  assert.equal(outcomes[0], outcomes[1]);
});

Deno.test("plan: a job pulled in waits for a running job of the run it conflicts with through others", () => {
  const { plan, spec } = planOfSome(
    `
jobs:
  gen: { run: g, emits: jobs }
  p: { run: p, writes: [f] }
  q: { run: q, writes: [f] }
  r: { run: r, writes: [f] }
`,
    ["gen", "r"],
  );
  assert.deepEqual(takeReady(plan), ["gen", "r"]);
  plan.add(spec("n", { needs: ["p"] }), "gen");
  assert.deepEqual(takeReady(plan), [], "r writes f now");
  plan.finish("r", "ok");
  assert.deepEqual(takeReady(plan), ["p"]);
});

Deno.test("plan: jobs made by nested generators and by their maker never share a place: each is offered", () => {
  const { g, plan, spec } = planOfSome(
    "jobs:\n  gen: { run: g, emits: jobs }\n  z: { run: z }\n",
    ["gen", "z"],
  );
  assert.deepEqual(takeReady(plan), ["gen", "z"]);
  plan.add({ ...spec("c"), emits: (g.get("gen") as JobNode).emits }, "gen");
  assert.deepEqual(takeReady(plan), ["c"]);
  plan.add(spec("d", { needs: ["z"] }), "gen");
  plan.add(spec("e", { needs: ["z"] }), "c");
  plan.add(spec("f", { needs: ["z"] }), "gen");
  plan.finish("z", "ok");
  assert.deepEqual(takeReady(plan).sort(), ["d", "e", "f"]);
  for (const j of ["gen", "c", "d", "e", "f"]) plan.finish(j, "ok");
  assert.equal(plan.done, true);
});

Deno.test("plan: a job that needs a generator waits for what it makes, even one it comes before by files", () => {
  const { plan, spec } = planOfSome(
    "jobs:\n  p: { run: p, needs: [gen], writes: [f] }\n  gen: { run: h, emits: jobs }\n",
    ["p", "gen"],
  );
  assert.deepEqual(takeReady(plan), ["gen"]);
  plan.add(spec("a1", { writes: ["f"] }), "gen");
  plan.finish("gen", "ok");
  assert.deepEqual(takeReady(plan), ["a1"], "p waits for a1");
  plan.finish("a1", "ok");
  assert.deepEqual(takeReady(plan), ["p"]);
});

Deno.test("plan: a ready job pulled back by a job added during the offer is not resolved twice when the run stops", () => {
  const { plan, spec } = planOfSome(
    "jobs:\n  gen: { run: g, emits: jobs }\n  a: { run: a, reads: [f] }\n  b: { run: b }\n",
    ["gen", "a", "b"],
  );
  plan.offerReady((s) => s.name === "gen" ? (plan.start(s.name), "started") : "blocked");
  plan.takeSkipped();
  plan.offerReady((s) => {
    if (s.name === "a") return "blocked";
    plan.start(s.name);
    plan.add(spec("n", { writes: ["f"] }), "gen"); // before a: a waits for it
    plan.stop("failure");
    return "started";
  });
  const skipped = plan.takeSkipped().map((x) => x.job);
  assert.deepEqual(skipped.sort(), ["a", "n"]);
});

Deno.test("plan: a line that would close a cycle through jobs it pulls in is refused as when they were selected", () => {
  const yaml = `
jobs:
  gen: { run: g, emits: jobs }
  d: { run: d, needs: [gen] }
  e: { run: e, needs: [d] }
`;
  for (const selected of [["gen"], ["gen", "d", "e"]]) {
    const { plan, spec } = planOfSome(yaml, selected);
    takeReady(plan);
    const r = plan.tryAdd(spec("j", { needs: ["e"] }), "gen");
    assert.equal(typeof r, "string", `${selected}: d needs gen, so it waits for j, which needs e`);
    assert.match(String(r), /would close a cycle/);
  }
});

Deno.test("plan: a cycle is not looked for through a job that started (library selection)", () => {
  const { plan, spec } = planOfSome(
    `
jobs:
  gen: { run: g, emits: jobs }
  p: { run: p, writes: [f] }
  r: { run: r, writes: [f] }
  x: { run: x, needs: [r] }
`,
    ["gen", "r", "x"],
  );
  assert.deepEqual(takeReady(plan), ["gen", "r"]);
  plan.add(spec("j1", { needs: ["p"] }), "gen"); // p joins, after r (running)
  const r = plan.tryAdd(spec("j2", { needs: ["x"], writes: ["f"] }), "gen");
  assert.ok(Array.isArray(r), String(r));
});

Deno.test("plan: a module refused while another start stops the plan is skipped, not left ready", () => {
  const g = parseJobsFile(
    "modules:\n  m1: { run: a }\n  m2: { run: b }\njobs:\n  j: { run: x }\n",
    "p.yaml",
    { baseDir: "/" },
  );
  const plan = new Plan(g, g.jobs);
  plan.offerReady((s) => {
    if (s.name !== "m2") return "blocked";
    plan.start("m2");
    plan.stop("failure");
    return "started";
  });
  assert.deepEqual(plan.takeSkipped().map((x) => x.job).sort(), ["j", "m1"]);
  plan.finish("m2", "ok");
  assert.equal(plan.done, true);
});

Deno.test("plan: a made job that needs a job needing its maker comes after it (summary, then upload)", () => {
  const { plan, spec } = planOfSome(
    "jobs:\n  gen: { run: g, emits: jobs }\n  d: { run: d, needs: [gen] }\n",
    ["gen", "d"],
  );
  takeReady(plan);
  plan.add(spec("s1"), "gen");
  plan.add(spec("summary", { needs: ["gen"] }), "gen");
  assert.ok(Array.isArray(plan.tryAdd(spec("upload", { needs: ["summary", "d"] }), "gen")));
  assert.deepEqual(takeReady(plan), ["s1"]);
  plan.finish("s1", "ok");
  plan.finish("gen", "ok");
  assert.deepEqual(takeReady(plan), ["summary"], "d needs gen: it waits for summary too");
  plan.finish("summary", "ok");
  assert.deepEqual(takeReady(plan), ["d"], "not for upload, which needs it");
  plan.finish("d", "ok");
  assert.deepEqual(takeReady(plan), ["upload"]);
});

Deno.test("plan: made jobs that need their maker wait for it alone, not for each other (they ran one at a time)", () => {
  const { plan, spec } = planOfSome(
    "jobs:\n  gen: { run: g, emits: jobs }\n  report: { run: r, needs: [gen] }\n",
    ["gen", "report"],
  );
  assert.deepEqual(takeReady(plan), ["gen"]);
  for (const n of ["c1", "c2", "c3"]) plan.add(spec(n, { needs: ["gen"] }), "gen");
  assert.deepEqual(takeReady(plan), []);
  plan.finish("gen", "ok");
  assert.deepEqual(takeReady(plan), ["c1", "c2", "c3"], "side by side");
  plan.finish("c1", "ok");
  plan.finish("c3", "ok");
  assert.deepEqual(takeReady(plan), [], "report, which needs gen, waits for all it made");
  plan.finish("c2", "ok");
  assert.deepEqual(takeReady(plan), ["report"]);
});

Deno.test("plan: a chain of made jobs through their maker joins (a needs gen, b needs a, c needs b: c was refused as a cycle)", () => {
  const { plan, spec } = planOfSome(
    "jobs:\n  gen: { run: g, emits: jobs }\n  report: { run: r, needs: [gen] }\n",
    ["gen", "report"],
  );
  takeReady(plan);
  plan.add(spec("a", { needs: ["gen"] }), "gen");
  plan.add(spec("b", { needs: ["a"] }), "gen");
  assert.ok(Array.isArray(plan.tryAdd(spec("c", { needs: ["b"] }), "gen")));
  plan.finish("gen", "ok");
  for (const n of ["a", "b", "c"]) {
    assert.deepEqual(takeReady(plan), [n]);
    plan.finish(n, "ok");
  }
  assert.deepEqual(takeReady(plan), ["report"]);
});

Deno.test("plan: a made job that writes waits for the last made writer before it, not for all of them (4,000 made jobs writing log.txt: 8 million edges, 2.3 GB)", () => {
  const { plan, spec } = planOfSome(
    "jobs:\n  gen: { run: g, emits: jobs }\n  r: { run: r, reads: [log.txt], writes: [x] }\n",
    ["gen", "r"],
  );
  assert.deepEqual(takeReady(plan), ["gen", "r"]);
  plan.start("r");
  const from = (e: unknown) =>
    (e as { from: string; to: string }[]).map((x) => `${x.from}>${x.to}`).sort();
  assert.deepEqual(from(plan.tryAdd(spec("w1", { writes: ["log.txt"] }), "gen")), ["r>w1"]);
  assert.deepEqual(from(plan.tryAdd(spec("w2", { writes: ["log.txt"] }), "gen")), [
    "r>w2",
    "w1>w2",
  ]);
  // w2 waits for r and w1: w3 waits for w2 alone (and for r, which is running).
  assert.deepEqual(from(plan.tryAdd(spec("w3", { writes: ["log.txt"] }), "gen")), [
    "r>w3",
    "w2>w3",
  ]);
  plan.finish("r", "ok");
  plan.finish("gen", "ok");
  for (const n of ["w1", "w2", "w3"]) {
    assert.deepEqual(takeReady(plan), [n]);
    plan.finish(n, "ok");
  }
  // What ended gives a writer no edge; a reader still gets one from the last writer.
  assert.deepEqual(from(plan.tryAdd(spec("w4", { writes: ["log.txt"] }), "gen")), []);
  assert.deepEqual(from(plan.tryAdd(spec("r2", { reads: ["log.txt"] }), "gen")), [
    "w1>r2",
    "w2>r2",
    "w3>r2",
    "w4>r2",
  ]);
});

Deno.test("plan: 4,000 made jobs writing one file each get at most two edges (the last writer before, the running reader)", () => {
  const { plan, spec } = planOfSome(
    "jobs:\n  gen: { run: g, emits: jobs }\n  r: { run: r, reads: [log.txt], writes: [x] }\n",
    ["gen", "r"],
  );
  takeReady(plan);
  plan.start("r");
  for (let i = 0; i < 4000; i++) {
    const edges = plan.tryAdd(spec(`w${i}`, { writes: ["log.txt"] }), "gen");
    assert.ok(Array.isArray(edges) && edges.length <= 2, `w${i}: ${JSON.stringify(edges)}`);
  }
});

Deno.test("plan: a made writer put first for an earlier job that needs its generator covers nothing (x and N wrote c.txt at once)", () => {
  const { plan, spec } = planOfSome(
    "jobs:\n  x: { run: x, needs: [gen2], writes: [c.txt] }\n  gen2: { run: g, emits: jobs }\n" +
      "  gen3: { run: g, emits: jobs }\n  gen: { run: g }\n",
    ["x", "gen2", "gen3"],
  );
  assert.deepEqual(takeReady(plan), ["gen2", "gen3"]);
  plan.add(spec("W", { writes: ["c.txt"] }), "gen2"); // x needs gen2: x waits for W
  plan.add(spec("N", { writes: ["c.txt"] }), "gen3"); // after x in file order: waits for x too
  plan.finish("gen2", "ok");
  plan.finish("gen3", "ok");
  assert.deepEqual(takeReady(plan), ["W"]);
  plan.finish("W", "ok");
  assert.deepEqual(takeReady(plan), ["x"], "N waits for x");
  plan.finish("x", "ok");
  assert.deepEqual(takeReady(plan), ["N"]);
});

Deno.test("plan: a made job writing one file and reading another that a running job writes is skipped when that job fails (the order edge hid the resource one)", () => {
  const { plan, spec } = planOfSome(
    "jobs:\n  gen: { run: g, emits: jobs }\n  a: { run: a, writes: [c, h] }\n",
    ["gen", "a"],
  );
  assert.deepEqual(takeReady(plan), ["gen", "a"]);
  plan.start("a");
  plan.add(spec("n", { writes: ["c"], reads: ["h"] }), "gen");
  plan.finish("a", "failed");
  plan.finish("gen", "ok");
  assert.deepEqual(takeReady(plan), []);
  assert.deepEqual(
    plan.takeSkipped().map((x) => [x.job, x.reason, x.because]),
    [["n", "dependency-failed", "a"]],
  );
});

Deno.test("plan: a made writer that waits for the new job (it needs the new job's generator) covers nothing for it (W wrote c while r, before both, read it)", () => {
  const { plan, spec } = planOfSome(
    "jobs:\n  r: { run: r, reads: [c] }\n  g0: { run: g, emits: jobs }\n" +
      "  gen: { run: g, emits: jobs }\n",
    ["r", "g0", "gen"],
  );
  plan.start("g0");
  plan.start("gen");
  plan.add(spec("x", { needs: ["gen"], writes: ["c"] }), "g0"); // waits for r and gen
  plan.add(spec("W", { writes: ["c"] }), "gen"); // x needs gen: x waits for W, not W for x
  assert.deepEqual(takeReady(plan), ["r"], "W waits for r");
  plan.finish("r", "ok");
  assert.deepEqual(takeReady(plan), ["W"]);
});
