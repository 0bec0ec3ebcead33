/**
 * Graphs that grow while they run: jobs emitted by `emits: jobs` jobs, a
 * `foreach` glob expanded once its files are written, `repeat` loops. The
 * plan's rules are tested directly; the runs on the fake reactor, with exact
 * virtual times.
 */
import assert from "node:assert/strict";
import { expandDeferred, MAX_JOBS, parseEmittedJob, parseJobsFile } from "../lib/graph/mod.ts";
import { JxInputError } from "../lib/graph/mod.ts";
import { Plan } from "../lib/scheduler/mod.ts";
import type { SpawnRequest } from "../lib/reactor/mod.ts";
import { fakeRun } from "./helpers.ts";

const CTX = { file: "jobs.yaml", baseDir: "/p", env: {}, vars: { CC: "gcc" }, pools: {} };
const emitted = (line: string) => parseEmittedJob(line, 1, "gen", CTX);

Deno.test("an emitted line becomes a job spec, variables and paths resolved", () => {
  const s = emitted(
    '{"name": "cc-a", "run": "${CC} -c a.c", "reads": ["./a.c"], "writes": ["a.o"]}',
  );
  assert.deepEqual(s.argv, ["/bin/sh", "-c", "gcc -c a.c"]);
  assert.deepEqual(s.reads, ["a.c"]);
  assert.equal(s.cwd, "/p");
  assert.equal(s.by, "gen");
});

Deno.test("a bad emitted line is one error naming the generator's stdout line and column", () => {
  const msg = (line: string, n = 7) => {
    try {
      parseEmittedJob(line, n, "gen", CTX);
    } catch (e) {
      assert.ok(e instanceof JxInputError);
      return e.format();
    }
    return "no error";
  };
  assert.equal(msg('{"name": "x", "rn": "echo"}'), "gen stdout:7:15: jobs.x: unknown key 'rn'");
  assert.equal(msg('{"name": "x"}'), "gen stdout:7:1: jobs.x: missing required key 'run'");
  assert.match(msg("echo hi"), /^gen stdout:7:1: expected a JSON object \(a job\), got echo hi/);
  assert.match(
    msg('{"name": "x", "run": "y", "tokens": 0}'),
    /^gen stdout:7:\d+: jobs\.x\.tokens: /,
  );
  assert.match(msg('{"name": "-x", "run": "y"}'), /invalid name '-x'/);
  assert.match(msg('{"name": "x", "run": "y", "foreach": [1]}'), /unknown key 'foreach'/);
});

Deno.test("Plan.add: a generated job goes between its generator and later jobs not yet started", () => {
  const g = parseJobsFile(
    `
jobs:
  early: { run: a, writes: [x] }
  gen: { run: g, emits: jobs }
  late: { run: l, reads: [y] }
  after: { run: z, needs: [gen] }
`,
    "j.yaml",
  );
  const plan = new Plan(g, g.jobs);
  plan.offerReady((s) => {
    if (s.name === "late") return "full"; // ready, not started
    plan.start(s.name);
    return "started";
  });
  const spec = emitted('{"name": "w", "run": "w", "reads": ["x"], "writes": ["y"]}');
  const edges = plan.add(spec, "gen").map((e) => `${e.from}->${e.to} ${e.kind} (${e.reason})`);
  assert.deepEqual(edges, [
    "early->w resource (writes x -> reads x)",
    "w->after needs (needs gen (made by it))",
    "w->late resource (writes y -> reads y)",
  ]);
  // late was ready; now it waits for w, which waits for early.
  assert.equal(plan.nextReady(), undefined);
  plan.finish("early", "ok");
  assert.equal(plan.nextReady()?.name, "w");
  plan.offerReady((s) => (plan.start(s.name), "started"));
  plan.finish("gen", "ok");
  assert.equal(plan.nextReady(), undefined, "after and late wait for w");
  plan.finish("w", "ok");
  const ready: string[] = [];
  plan.offerReady((s) => (ready.push(s.name), plan.start(s.name), "started"));
  assert.deepEqual(ready, ["late", "after"]);
});

Deno.test("Plan.add refuses a taken name, an unknown need and a cycle", () => {
  const g = parseJobsFile(
    `
jobs:
  p: { run: p, needs: [l], writes: [y] }
  gen: { run: g, emits: jobs }
  l: { run: l, reads: [x] }
`,
    "j.yaml",
  );
  const plan = new Plan(g, g.jobs);
  plan.offerReady((s) => s.name === "gen" ? (plan.start(s.name), "started") : "blocked");
  assert.throws(() => plan.add(emitted('{"name": "p", "run": "x"}'), "gen"), /already exists/);
  assert.throws(
    () => plan.add(emitted('{"name": "q", "run": "x", "needs": ["nope"]}'), "gen"),
    /unknown job 'nope' in needs/,
  );
  // Reads y (waits for p, which waits for l), writes x (l would wait for it).
  assert.throws(
    () => plan.add(emitted('{"name": "c", "run": "x", "reads": ["y"], "writes": ["x"]}'), "gen"),
    /would close a cycle/,
  );
  assert.equal(plan.size, 3, "nothing was added");
});

Deno.test("Plan.add: an if naming a foreach group is refused as in the file (it said 'unknown job')", () => {
  const g = parseJobsFile(
    "jobs:\n  t: { foreach: [a, b], run: t }\n  gen: { run: g, emits: jobs }\n",
    "j.yaml",
  );
  const plan = new Plan(g, g.jobs);
  assert.throws(
    () => plan.add(emitted('{"name": "x", "run": "x", "unless": "t"}'), "gen"),
    /^Error: 't' is a foreach group: unless names one job \(such as 't\[a\]'\)$/,
  );
});

Deno.test("Plan.add: a generated job that needs (or tests) a job needing its generator runs before it; through another job it is a cycle", () => {
  const g = parseJobsFile(
    `
jobs:
  gen: { run: g, emits: jobs }
  after: { run: a, needs: [gen] }
  x: { run: x, needs: [after] }
`,
    "j.yaml",
  );
  const plan = new Plan(g, g.jobs);
  plan.offerReady((s) => s.name === "gen" ? (plan.start(s.name), "started") : "blocked");
  const edges = (line: string) =>
    plan.add(emitted(line), "gen").map((e) => `${e.from}->${e.to} ${e.kind}`);
  // docs/jobs-file.md: 'after' does not wait for these two, they wait for it.
  assert.deepEqual(edges('{"name": "n", "run": "n", "needs": ["after"]}'), ["after->n needs"]);
  assert.deepEqual(edges('{"name": "i", "run": "i", "if": "after"}'), ["after->i condition"]);
  assert.throws(
    () => plan.add(emitted('{"name": "c", "run": "c", "needs": ["x"]}'), "gen"),
    /adding 'c' would close a cycle through 'x'/,
  );
});

const emitScript = (lines: string[], ms = 10) => (req: SpawnRequest) =>
  req.argv.join(" ").includes("GEN")
    ? { ms, stdout: lines.map((l) => l + "\n").join("") }
    : undefined;

Deno.test("emitted jobs run at once, ordered against the rest; needs of the generator wait for them", async () => {
  const r = await fakeRun(
    `
jobs:
  gen: { run: GEN, emits: jobs }
  slow: { run: sleep 1 }
  reader: { run: sleep 5, reads: [x], needs: [slow] }
  after: { run: sleep 1, needs: [gen] }
`,
    {
      jobs: 3,
      script: emitScript([
        '{"name": "w1", "run": "sleep 50", "writes": ["x"]}',
        '{"name": "w2", "run": "sleep 20"}',
      ], 100),
    },
  );
  assert.equal(r.result.exit, 0);
  const t = (j: string) => r.starts.get(j)?.t;
  // -j3: gen and slow start at 0; gen's lines arrive at 0: w1 takes the last
  // slot, w2 the one slow frees. In file order both come before reader, which
  // has not started: it now waits for w1 (writes x) too.
  assert.equal(t("w1"), 0);
  assert.equal(t("w2"), 1);
  assert.equal(t("reader"), 50, "reader waits for the emitted writer of x");
  assert.equal(t("after"), 100, "needs gen: waits for gen and all it emitted");
  const adds = r.events.filter((e) => e.type === "job.add");
  assert.deepEqual(adds.map((e) => [e.job, (e as { by: string }).by]), [["w1", "gen"], [
    "w2",
    "gen",
  ]]);
});

Deno.test("a bad emitted line fails its generator; -k runs the rest, fail-fast cancels", async () => {
  const yaml = `
jobs:
  gen: { run: GEN, emits: jobs }
  other: { run: sleep 200 }
`;
  const lines = [
    '{"name": "a", "run": "sleep 5"}',
    '{"name": "b", "rn": "x"}',
    '{"name": "c", "run": "sleep 5"}',
  ];
  const k = await fakeRun(yaml, { jobs: 4, keepGoing: true, script: emitScript(lines) });
  assert.equal(k.result.exit, 1);
  assert.equal((k.ends.get("gen") as { status: string }).status, "failed");
  assert.match(
    (k.ends.get("gen") as { error: string }).error,
    /^gen stdout:2:\d+: jobs\.b: unknown key 'rn'/,
  );
  assert.deepEqual(
    k.events.filter((e) => e.type === "emit.error").map((e) => (e as { line: number }).line),
    [2],
  );
  assert.ok(k.ends.has("a") && k.ends.has("c"), "-k: the good lines ran");
  const ff = await fakeRun(yaml, { jobs: 1, script: emitScript(lines) });
  assert.equal(ff.result.exit, 1);
  assert.equal(ff.starts.has("a"), false, "fail-fast: nothing starts after the bad line");
});

Deno.test("a generated generator's jobs join too", async () => {
  const r = await fakeRun(
    `
jobs:
  gen: { run: GEN, emits: jobs }
`,
    {
      script: (req) => {
        const cmd = req.argv.join(" ");
        if (cmd.includes("GEN")) {
          return { ms: 5, stdout: '{"name": "sub", "run": "SUB", "emits": "jobs"}\n' };
        }
        if (cmd.includes("SUB")) return { ms: 5, stdout: '{"name": "leaf", "run": "sleep 7"}' };
        return undefined;
      },
    },
  );
  assert.equal(r.result.exit, 0);
  assert.deepEqual([...r.ends.keys()], ["gen", "sub", "leaf"]);
  // Its line has no newline: it joins when sub ends.
  assert.equal(r.starts.get("leaf")?.t, 5);
});

Deno.test("a generated job the plan refuses: one FILE:LINE:COL error naming the job", async () => {
  const r = await fakeRun(
    `
jobs:
  gen: { run: GEN, emits: jobs }
`,
    {
      keepGoing: true,
      script: emitScript([
        '{"name": "gen", "run": "x"}',
        '{"name": "q", "run": "x", "needs": ["nope"]}',
        '{"name": "s", "run": "x", "needs": ["s"]}',
        '{"name": "t", "run": "x", "if": "t"}',
      ]),
    },
  );
  assert.deepEqual(r.events.filter((e) => e.type === "emit.error").map((e) => e.error), [
    // At the generator in the jobs file (the job is no part of it), naming the job and its line.
    "test.yaml:3:3: jobs.gen: the job 'gen' it wrote on stdout line 1: a job named 'gen' already exists",
    "test.yaml:3:3: jobs.gen: the job 'q' it wrote on stdout line 2: unknown job 'nope' in needs",
    "test.yaml:3:3: jobs.gen: the job 's' it wrote on stdout line 3: 's' cannot need itself",
    "test.yaml:3:3: jobs.gen: the job 't' it wrote on stdout line 4: 't' cannot depend on itself",
  ]);
});

Deno.test("a generated job that needs a generator waits for all it made, even made before it", async () => {
  const r = await fakeRun(
    `
jobs:
  g1: { run: G1, emits: jobs }
  g2: { run: G2, emits: jobs }
`,
    {
      script: (req) => {
        const cmd = req.argv.join(" ");
        if (cmd.includes("G1")) {
          return { ms: 5, stdout: '{"name": "slow", "run": "sleep 50"}\n' };
        }
        // now: `early` (g1 still running); `late` when g2 ends (no newline), after g1 ended.
        if (cmd.includes("G2")) {
          return {
            ms: 10,
            stdout: '{"name": "early", "run": "sleep 1", "needs": ["g1"]}\n' +
              '{"name": "late", "run": "sleep 1", "needs": ["g1"]}',
          };
        }
        return undefined;
      },
    },
  );
  assert.equal(r.result.exit, 0);
  assert.equal(r.starts.get("slow")?.t, 0);
  assert.equal(r.starts.get("early")?.t, 50, "early waits for slow, made by g1 before it");
  assert.equal(r.starts.get("late")?.t, 50, "late waits for slow, though g1 had ended");
});

Deno.test("a generated job may need a foreach group by its written name", async () => {
  const r = await fakeRun(
    `
jobs:
  c: { foreach: [a, b], run: sleep 20 }
  gen: { run: GEN, emits: jobs }
`,
    { script: emitScript(['{"name": "after-c", "run": "sleep 1", "needs": ["c"]}']) },
  );
  assert.equal(r.result.exit, 0, JSON.stringify(r.events.filter((e) => e.type === "emit.error")));
  assert.equal(r.starts.get("after-c")?.t, 20, "waits for c[a] and c[b]");
  // A generated job cannot take a group's name, as a job of the file cannot.
  const taken = await fakeRun(
    `
jobs:
  c: { foreach: [a, b], run: sleep 20 }
  gen: { run: GEN, emits: jobs }
`,
    { script: emitScript(['{"name": "c", "run": "sleep 1"}']) },
  );
  assert.equal(taken.result.exit, 1);
  assert.match(
    (taken.ends.get("gen") as { error: string }).error,
    /a foreach group named 'c' already exists/,
  );
});

Deno.test("a generator jx stops (its timeout) leaves its cut last line unread: no bad job", async () => {
  const r = await fakeRun(
    `
jobs:
  gen: { run: GEN, emits: jobs, timeout: 10ms }
`,
    {
      keepGoing: true,
      // Its second line is unfinished when the timeout stops it.
      script: (req) =>
        req.argv.join(" ").includes("GEN")
          ? { ms: 100, stdout: '{"name": "a", "run": "sleep 1"}\n{"name": "b", "ru' }
          : undefined,
    },
  );
  assert.equal(r.result.exit, 1);
  const end = r.ends.get("gen") as { status: string; error?: string };
  assert.equal(end.status, "timeout");
  assert.equal(end.error, undefined);
  assert.deepEqual(r.events.filter((e) => e.type === "emit.error"), []);
  assert.equal((r.ends.get("a") as { status: string }).status, "ok", "its whole lines joined");
});

Deno.test("repeat until: the job and its test alternate until the test succeeds", async () => {
  const yaml = (max: number, key = "until") => `
jobs:
  poll: { run: sleep 10, repeat: { ${key}: check, max: ${max} } }
  check: { run: CHECK }
  next: { run: sleep 1, needs: [poll] }
`;
  // check succeeds on the third run.
  const script = (pass: (k: number) => boolean) => (req: SpawnRequest) =>
    req.argv.join(" ").includes("CHECK")
      ? { ms: 2, code: pass(Number(req.env.JX_ITERATION)) ? 0 : 1 }
      : undefined;
  const r = await fakeRun(yaml(5), { script: script((k) => k === 3) });
  assert.equal(r.result.exit, 0);
  const runs = r.events.filter((e) => e.type === "job.start").map((e) =>
    `${(e as { job: string }).job}#${(e as { iteration?: number }).iteration ?? ""}@${e.t}`
  );
  assert.deepEqual(runs, [
    "poll#1@0",
    "check#1@10",
    "poll#2@12",
    "check#2@22",
    "poll#3@24",
    "check#3@34",
    "next#@36",
  ]);
  // Gives up after max runs: the job fails.
  const g = await fakeRun(yaml(2), { script: script(() => false) });
  assert.equal(g.result.exit, 1);
  assert.equal((g.ends.get("poll") as { status: string; iteration: number }).iteration, 2);
  assert.equal(g.skips.has("next"), true);
  // while: reruns while the test succeeds.
  const w = await fakeRun(yaml(5, "while"), { script: script((k) => k < 2) });
  assert.equal(w.result.exit, 0);
  assert.equal(w.events.filter((e) => e.type === "job.start" && e.job === "poll").length, 2);
});

Deno.test("a retried generator's repeated lines add nothing twice", async () => {
  let runs = 0;
  const r = await fakeRun(
    `
jobs:
  gen: { run: GEN, emits: jobs, retries: 1 }
`,
    {
      script: (req) => {
        if (!req.argv.join(" ").includes("GEN")) return undefined;
        runs++;
        return { ms: 5, code: runs === 1 ? 1 : 0, stdout: '{"name": "a", "run": "sleep 1"}\n' };
      },
    },
  );
  assert.equal(r.result.exit, 0);
  assert.equal(r.events.filter((e) => e.type === "job.add").length, 1);
  assert.equal(r.events.filter((e) => e.type === "emit.error").length, 0);
});

Deno.test("repeat on a foreach group: every item runs, then the test, then every item again", async () => {
  const yaml = `
jobs:
  shard: { foreach: [a, b, c], run: sleep 10, repeat: { until: check, max: 5 } }
  check: { run: CHECK }
  next: { run: sleep 1, needs: [shard] }
`;
  const script = (pass: (k: number) => boolean) => (req: SpawnRequest) =>
    req.argv.join(" ").includes("CHECK")
      ? { ms: 2, code: pass(Number(req.env.JX_ITERATION)) ? 0 : 1 }
      : undefined;
  const r = await fakeRun(yaml, { jobs: 2, script: script((k) => k === 2) });
  assert.equal(r.result.exit, 0);
  const runs = r.events.filter((e) => e.type === "job.start").map((e) =>
    `${(e as { job: string }).job}#${(e as { iteration?: number }).iteration ?? ""}@${e.t}`
  );
  assert.deepEqual(runs, [
    "shard[a]#1@0",
    "shard[b]#1@0",
    "shard[c]#1@10",
    "check#1@20",
    "shard[a]#2@22",
    "shard[b]#2@22",
    "shard[c]#2@32",
    "check#2@42",
    "next#@44",
  ]);
  // An item failing ends the loop: the group fails, the rest resolve.
  const f = await fakeRun(yaml.replace("run: sleep 10", "run: sleep 10 exit 1"), {
    jobs: 2,
    keepGoing: true,
    script: script(() => false),
  });
  assert.equal(f.result.exit, 1);
  assert.equal(f.starts.has("check"), false);
  assert.equal(f.skips.has("next"), true);
  // Gives up after max: one error, the run fails.
  const g = await fakeRun(yaml.replace("max: 5", "max: 2"), {
    jobs: 3,
    script: script(() => false),
  });
  assert.equal(g.result.exit, 1);
  assert.deepEqual(
    g.events.filter((e) => e.type === "emit.error").map((e) => (e as { error: string }).error),
    ["shard: repeat until check succeeds: gave up after 2 runs (max)"],
  );
  assert.equal(g.events.filter((e) => e.type === "job.start" && e.job === "shard[a]").length, 2);
  // The test ran each time: it is not skipped as a dependent of the loop that gave up.
  assert.equal(g.skips.has("check"), false);
  assert.equal(g.result.results.get("check")?.status, "failed");
});

Deno.test("repeat on a foreach group of interactive jobs: each item runs alone, the loop goes on", async () => {
  const r = await fakeRun(
    `
jobs:
  ask: { foreach: [a, b], interactive: true, run: sleep 10, repeat: { until: check, max: 5 } }
  check: { run: CHECK }
  other: { run: sleep 3 }
`,
    {
      jobs: 4,
      script: (req) =>
        req.argv.join(" ").includes("CHECK")
          ? { ms: 2, code: req.env.JX_ITERATION === "2" ? 0 : 1 }
          : undefined,
    },
  );
  assert.equal(r.result.exit, 0);
  const runs = r.events.filter((e) => e.type === "job.start").map((e) =>
    `${(e as { job: string }).job}#${(e as { iteration?: number }).iteration ?? ""}@${e.t}`
  );
  assert.deepEqual(runs, [
    "ask[a]#1@0",
    "ask[b]#1@10",
    "check#1@20",
    "ask[a]#2@22",
    "ask[b]#2@32",
    "check#2@42",
    "other#@44",
  ]);
});

Deno.test("a group loop whose item is skipped (a failed dependency) ends instead of hanging", async () => {
  const r = await fakeRun(
    `
jobs:
  bad: { run: exit 1, writes: [eu.in] }
  crawl: { foreach: [eu, us], run: sleep 5, reads: ["\${ITEM}.in"], repeat: { until: t, max: 3 } }
  t: { run: CHECK }
`,
    {
      keepGoing: true,
      script: (req) => req.argv.join(" ").includes("CHECK") ? { ms: 1 } : undefined,
    },
  );
  assert.equal(r.result.exit, 1);
  assert.equal(r.skips.has("crawl[eu]"), true);
  assert.equal((r.ends.get("crawl[us]") as { status: string }).status, "ok");
  assert.equal(r.starts.has("t"), false);
});

Deno.test("a library feed that never ends is cancelled when the run is stopped", async () => {
  const { createReactor, runJobs } = await import("../mod.ts");
  const g = parseJobsFile("jobs:\n  a: { run: 'true' }\n", "/tmp/feed.yaml");
  const control: { stop?: (s: "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGQUIT") => void } = {};
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"name": "b", "run": "true"}\n'));
    },
  });
  const reactor = createReactor("portable");
  // Stopped once both the file's job and the feed's job have ended: the feed is then only waiting.
  const ended = new Set<string>();
  const done = runJobs(g, g.jobs, {
    reactor,
    jobs: 2,
    handleSignals: false,
    control,
    feeds: [{ name: "f", stream }],
    reporters: [{
      event(e) {
        if (e.type !== "job.end") return;
        ended.add(e.job);
        if (ended.has("a") && ended.has("b")) control.stop?.("SIGINT");
      },
    }],
  });
  const result = await done;
  reactor.close();
  assert.equal(result.exit, 130);
  assert.equal(result.results.get("f")?.status, "cancelled");
  assert.equal(result.results.get("b")?.status, "ok");
});

Deno.test("a library feed named as a job (or another feed) is refused before anything starts", async () => {
  const { createReactor, runJobs } = await import("../mod.ts");
  const g = parseJobsFile("jobs:\n  a: { run: 'true' }\n", "/tmp/feed.yaml");
  const reactor = createReactor("portable");
  for (const names of [["a"], ["f", "f"]]) {
    const events: string[] = [];
    await assert.rejects(
      runJobs(g, g.jobs, {
        reactor,
        handleSignals: false,
        feeds: names.map((name) => ({ name, stream: new Blob([]).stream() })),
        reporters: [{ event: (e) => events.push(e.type) }],
      }),
      (e) => e instanceof JxInputError && /feeds: the name '(a|f)' is taken/.test(e.message),
    );
    assert.deepEqual(events, [], "nothing started");
  }
  reactor.close();
});

Deno.test("a library feed whose parse gives no object (undefined, a number, a bigint): a bad line naming it, no crash", async () => {
  const { createReactor, runJobs } = await import("../mod.ts");
  const g = parseJobsFile("jobs:\n  a: { run: 'true' }\n", "/tmp/feed.yaml");
  const reactor = createReactor("portable");
  const errors: string[] = [];
  const result = await runJobs(g, g.jobs, {
    reactor,
    handleSignals: false,
    keepGoing: true,
    feeds: [{
      name: "f",
      stream: new Blob(["1\n2\n3\n4\n"]).stream(),
      // deno-lint-ignore no-explicit-any
      parse: (line) => [[undefined], 42, 7n, { name: "ok", run: "true" }][Number(line) - 1] as any,
    }],
    reporters: [{ event: (e) => e.type === "emit.error" && errors.push(e.error) }],
  });
  reactor.close();
  assert.deepEqual(errors, [
    "f:1:1: parse gave undefined, not a job (an object)",
    "f:2:1: parse gave 42, not a job (an object)",
    "f:3:1: parse gave 7n, not a job (an object)",
  ]);
  assert.equal(result.results.get("ok")?.status, "ok");
});

Deno.test("a deferred foreach's item that is refused: at the foreach in the jobs file, naming the item", () => {
  const dir = Deno.makeTempDirSync({ prefix: "jx-test-" });
  try {
    const g = parseJobsFile(
      "jobs:\n  gen: { run: x, writes: [gen/] }\n  wc:\n    run: 'wc ${F}'\n" +
        "    foreach: { glob: 'gen/*.txt', as: F }\n    env_file: ['${F}.env']\n",
      "j.yaml",
      { baseDir: dir },
    );
    Deno.mkdirSync(`${dir}/gen`);
    Deno.writeTextFileSync(`${dir}/gen/a.txt`, "a"); // as gen would, with no gen/a.txt.env
    assert.throws(() => expandDeferred(g.get("wc")), (e: unknown) => {
      assert.ok(e instanceof JxInputError);
      assert.equal(
        e.format(),
        "j.yaml:5:14: jobs.wc.foreach: item 'gen/a.txt' (job wc[gen/a.txt]): env_file[0]: " +
          "no such dotenv file 'gen/a.txt.env' (write '${F}.env?' if it is optional)",
      );
      return true;
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a deferred foreach matching more than MAX_JOBS files is refused, as at load (it made them all)", () => {
  const dir = Deno.makeTempDirSync({ prefix: "jx-test-" });
  try {
    const g = parseJobsFile(
      "jobs:\n  gen: { run: x, writes: [gen/] }\n  wc:\n    run: 'wc ${F}'\n" +
        "    foreach: { glob: 'gen/*', as: F }\n",
      "j.yaml",
      { baseDir: dir },
    );
    Deno.mkdirSync(`${dir}/gen`);
    // MAX_JOBS files take a minute to write: the same check with a limit of 10.
    for (let i = 0; i <= 10; i++) Deno.writeFileSync(`${dir}/gen/${i}`, new Uint8Array());
    assert.throws(
      () => expandDeferred(g.get("wc"), 10),
      (e: unknown) =>
        e instanceof JxInputError &&
        e.format() ===
          "j.yaml:5:14: jobs.wc.foreach: matches 11 files: more than 10 jobs (the limit)",
    );
    assert.equal(expandDeferred(g.get("wc"), 11).length, 11);
    assert.equal(expandDeferred(g.get("wc")).length, 11, `the limit is MAX_JOBS, ${MAX_JOBS}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an emitted line nested thousands deep: the jobs file's limit, not the engine's stack message", () => {
  const deep = (n: number) =>
    `{"name": "a", "run": "x", "env": {"X": ${"[".repeat(n)}${"]".repeat(n)}}}`;
  const at = '{"name": "a", "run": "x", "env": {"X": '.length + 62 + 1;
  for (const n of [100, 5000]) {
    assert.throws(
      () => parseEmittedJob(deep(n), 3, "gen", CTX),
      (e: unknown) =>
        e instanceof JxInputError &&
        e.format() === `gen stdout:3:${at}: nested deeper than 64 levels`,
    );
    // A feed's object too (its text is made from it).
    assert.throws(
      () => parseEmittedJob(JSON.parse(deep(n)), 3, "feed", CTX),
      (e: unknown) => e instanceof JxInputError && /nested deeper than 64 levels$/.test(e.message),
    );
  }
  // Brackets inside strings are text.
  const text = `{"name": "a", "run": "echo '${"[".repeat(100)}'"}`;
  assert.equal(parseEmittedJob(text, 1, "gen", CTX).name, "a");
});

Deno.test("a library feed's refused job: at the feed's name, its line, and a column of that line (none for what parse gave)", async () => {
  const { createReactor, runJobs } = await import("../mod.ts");
  const g = parseJobsFile("jobs:\n  a: { run: 'true' }\n", "/tmp/feed.yaml");
  const errors: string[] = [];
  for (
    const [text, parse] of [
      ['{"name": "a2",   "run": "x", "timeout": "zz"}\n', undefined],
      ["alpha\n", (l: string) => ({ name: `echo-${l}`, run: `echo ${l}`, timeout: "zz" })],
    ] as const
  ) {
    const reactor = createReactor("portable");
    await runJobs(g, g.jobs, {
      reactor,
      handleSignals: false,
      keepGoing: true,
      feeds: [{ name: "f", stream: new Blob([text]).stream(), parse }],
      reporters: [{ event: (e) => e.type === "emit.error" && errors.push(e.error) }],
    });
    reactor.close();
  }
  // Were "f stdout:1:33" (a column of the line re-serialised) and "f stdout:1:51" (of the object
  // as JSON): a feed is no job's stdout, and "alpha" has no column 51.
  const bad = 'timeout: bad duration "zz" (use e.g. 500ms, 30s, 2m, 1h, 1m30s)';
  assert.deepEqual(errors, [`f:1:41: jobs.a2.${bad}`, `f:1:1: jobs.echo-alpha.${bad}`]);
});
