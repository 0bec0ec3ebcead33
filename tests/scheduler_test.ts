/**
 * Scheduler unit tests on the fake reactor: virtual time, scripted
 * processes, exact start and end times.
 */
import assert from "node:assert/strict";
import { fakeRun, scriptFromCommand } from "./helpers.ts";
import { type Edge, Graph, type JxInputError, parseJobsFile } from "../lib/graph/mod.ts";
import { FakeReactor } from "../lib/reactor/mod.ts";
import {
  type ModuleHost,
  type RunControl,
  type RunEvent,
  RunFrame,
  runJobs,
} from "../lib/scheduler/mod.ts";

const startOf = (r: Awaited<ReturnType<typeof fakeRun>>, job: string) => r.starts.get(job)?.t;
const endOf = (r: Awaited<ReturnType<typeof fakeRun>>, job: string) =>
  r.ends.get(job) as
    | { t: number; status: string; attempt: number; exit: number | null; signal: string | null }
    | undefined;

Deno.test("a job starts the moment its last dependency ends", async () => {
  const r = await fakeRun(`
jobs:
  a: { run: sleep 100 }
  b: { run: sleep 30 }
  c: { run: sleep 5, needs: [a, b] }
`);
  assert.equal(startOf(r, "a"), 0);
  assert.equal(startOf(r, "b"), 0);
  assert.equal(startOf(r, "c"), 100);
  assert.equal(r.result.exit, 0);
  assert.equal(r.result.ms, 105);
});

Deno.test("-j limits how many run at once, in file order", async () => {
  const r = await fakeRun(
    `
jobs:
  a: { run: sleep 10 }
  b: { run: sleep 10 }
  c: { run: sleep 10 }
  d: { run: sleep 10 }
  e: { run: sleep 10 }
`,
    { jobs: 2 },
  );
  assert.deepEqual(["a", "b", "c", "d", "e"].map((j) => startOf(r, j)), [0, 0, 10, 10, 20]);
});

Deno.test("tokens: a job holding 2 slots leaves room for nothing else at -j2", async () => {
  const r = await fakeRun(
    `
jobs:
  big: { run: sleep 50, tokens: 2 }
  small1: { run: sleep 10 }
  small2: { run: sleep 10 }
`,
    { jobs: 2 },
  );
  assert.equal(startOf(r, "big"), 0);
  assert.equal(startOf(r, "small1"), 50);
  assert.equal(startOf(r, "small2"), 50);
});

Deno.test("tokens: a big job waits for slots while smaller ready jobs fill the gaps", async () => {
  const r = await fakeRun(
    `
jobs:
  a: { run: sleep 10 }
  big: { run: sleep 10, tokens: 3 }
  b: { run: sleep 10 }
`,
    { jobs: 3 },
  );
  assert.equal(startOf(r, "a"), 0);
  assert.equal(startOf(r, "b"), 0);
  assert.equal(startOf(r, "big"), 10);
});

Deno.test("pools limit their members; others run beside them", async () => {
  const r = await fakeRun(
    `
pools: { link: 1 }
jobs:
  l1: { run: sleep 20, pool: link }
  l2: { run: sleep 20, pool: link }
  l3: { run: sleep 20, pools: { link: 1 } }
  other: { run: sleep 20 }
`,
    { jobs: 4 },
  );
  assert.deepEqual(["l1", "l2", "l3", "other"].map((j) => startOf(r, j)), [0, 20, 40, 0]);
});

Deno.test("fail fast: nothing new starts after a failure; running jobs finish", async () => {
  const r = await fakeRun(
    `
jobs:
  bad: { run: sleep 10; exit 1 }
  long: { run: sleep 50 }
  later: { run: sleep 5, needs: [long] }
  dep: { run: sleep 5, needs: [bad] }
`,
    { jobs: 4 },
  );
  assert.equal(r.result.exit, 1);
  assert.equal(endOf(r, "long")?.status, "ok");
  assert.equal(r.starts.has("later"), false);
  assert.deepEqual(r.skips.get("later"), {
    type: "job.skip",
    t: 50,
    job: "later",
    reason: "cancelled",
    because: undefined,
  });
  assert.equal((r.skips.get("dep") as { reason: string }).reason, "dependency-failed");
});

Deno.test("-k runs everything that does not depend on a failure", async () => {
  const r = await fakeRun(
    `
jobs:
  bad: { run: sleep 10; exit 2 }
  dep: { run: sleep 5, needs: [bad] }
  depdep: { run: sleep 5, needs: [dep] }
  free: { run: sleep 30 }
  after-free: { run: sleep 5, needs: [free] }
`,
    { keepGoing: true },
  );
  assert.equal(r.result.exit, 1);
  assert.equal(endOf(r, "after-free")?.status, "ok");
  assert.deepEqual(
    ["dep", "depdep"].map((j) => r.skips.get(j) as { reason: string; because: string }).map((
      s,
    ) => [s.reason, s.because]),
    [["dependency-failed", "bad"], ["dependency-failed", "bad"]],
  );
});

Deno.test("-k: a write-after-read edge orders but does not carry failure", async () => {
  const r = await fakeRun(
    `
jobs:
  reader: { run: sleep 10; exit 1, reads: [f] }
  writer: { run: sleep 10, writes: [f] }
`,
    { keepGoing: true },
  );
  assert.equal(startOf(r, "writer"), 10);
  assert.equal(endOf(r, "writer")?.status, "ok");
});

Deno.test("timeout: SIGTERM to the group, then SIGKILL after the grace period", async () => {
  const r = await fakeRun(`
jobs:
  polite: { run: sleep 1000, timeout: 50ms }
  stubborn: { run: sleep 1000; ignore TERM, timeout: 50ms, grace: 200ms }
`);
  const polite = r.reactor.records.find((x) =>
    x.argv.join(" ").includes("sleep 1000") && !x.argv.join(" ").includes("ignore")
  )!;
  const stubborn = r.reactor.records.find((x) => x.argv.join(" ").includes("ignore"))!;
  assert.deepEqual(polite.signals, [{ at: 50, signal: "SIGTERM" }]);
  assert.deepEqual(stubborn.signals, [{ at: 50, signal: "SIGTERM" }, {
    at: 250,
    signal: "SIGKILL",
  }]);
  assert.equal(endOf(r, "polite")?.status, "timeout");
  assert.equal(endOf(r, "stubborn")?.status, "timeout");
  assert.equal(endOf(r, "stubborn")?.signal, "SIGKILL");
  assert.equal(r.result.exit, 1);
});

Deno.test("Ctrl-Z: jobs get SIGSTOP, jx stops itself, then SIGCONT; the time stopped counts towards no timeout", async () => {
  const r = await fakeRun(
    `
jobs:
  timed: { run: sleep 100, timeout: 150ms }
`,
    {
      before: (fake) => {
        fake.stopMs = 1000; // jx stopped for a second, on the virtual clock
        fake.at(50, () => fake.raise("SIGTSTP"));
      },
    },
  );
  assert.equal(r.reactor.selfStops, 1);
  assert.deepEqual(r.reactor.records[0].signals, [
    { at: 50, signal: "SIGSTOP" },
    { at: 1050, signal: "SIGCONT" },
  ]);
  assert.equal(endOf(r, "timed")?.status, "ok", "its timeout is 100 ms away when jx goes on");
  assert.equal(r.result.exit, 0);
});

Deno.test("retries rerun a failed job; the last attempt decides", async () => {
  let n = 0;
  const r = await fakeRun(
    `
jobs:
  flaky: { run: flaky, retries: 2 }
  after: { run: sleep 1, needs: [flaky] }
`,
    {
      before: (fake) => {
        // deno-lint-ignore no-explicit-any
        const f = fake as any;
        const orig = f.script;
        f.script = (req: { argv: string[] }) =>
          req.argv.join(" ").includes("flaky") ? { ms: 10, code: ++n < 3 ? 1 : 0 } : orig(req);
      },
    },
  );
  const attempts = r.events.filter((e) => e.type === "job.start" && e.job === "flaky").map((e) =>
    (e as { attempt: number }).attempt
  );
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.equal(endOf(r, "flaky")?.status, "ok");
  assert.equal(startOf(r, "after"), 30);
  assert.equal(r.result.exit, 0);
});

Deno.test("retries give up after the last attempt", async () => {
  const r = await fakeRun(`
jobs:
  bad: { run: sleep 10; exit 1, retries: 1 }
`);
  assert.equal(r.events.filter((e) => e.type === "job.start").length, 2);
  assert.equal(r.result.exit, 1);
});

Deno.test("retries with a delay: each wait is the last times backoff, at most max_delay", async () => {
  const r = await fakeRun(`
jobs:
  bad: { run: sleep 10; exit 1, retries: { count: 3, delay: 100ms, backoff: 2, max_delay: 300ms } }
  free: { run: sleep 5 }
`);
  const starts = r.events.filter((e) => e.type === "job.start" && e.job === "bad");
  assert.deepEqual(starts.map((e) => e.t), [0, 110, 320, 630]);
  const ends = r.events.filter((e) => e.type === "job.end" && e.job === "bad") as {
    retry_in_ms?: number;
    retrying?: boolean;
  }[];
  assert.deepEqual(ends.map((e) => e.retry_in_ms), [100, 200, 300, undefined]);
  assert.deepEqual(ends.map((e) => e.retrying), [true, true, true, undefined]);
  assert.equal(startOf(r, "free"), 0);
  assert.equal(r.result.exit, 1);
  assert.equal(r.result.ms, 640);
});

Deno.test("retries with a delay: the job keeps its slot while it waits; retries: N waits not", async () => {
  const r = await fakeRun(
    `
jobs:
  flaky: { run: sleep 10; exit 1, retries: { count: 1, delay: 50ms } }
  next: { run: sleep 5 }
  plain: { run: sleep 10; exit 1, retries: 1 }
`,
    { jobs: 1, keepGoing: true },
  );
  assert.deepEqual(
    r.events.filter((e) => e.type === "job.start").map((e) => `${e.job}@${e.t}`),
    ["flaky@0", "flaky@60", "next@70", "plain@75", "plain@85"],
  );
});

Deno.test("retries with a delay: Ctrl-C or a failure elsewhere during the wait ends the job as it was", async () => {
  const yaml = `
jobs:
  flaky: { run: sleep 10; exit 1, retries: { count: 5, delay: 1s } }
  bad: { run: sleep 50; exit 1 }
`;
  // The job's last word: its job.end again, without `retrying`, when the wait is cancelled.
  const lastEnd = (r: Awaited<ReturnType<typeof fakeRun>>) =>
    r.events.filter((e) => e.type === "job.end" && e.job === "flaky")
      .map((e) => e.type === "job.end" && `${e.status}@${e.t}${e.retrying ? " retrying" : ""}`);
  const failed = await fakeRun(yaml);
  assert.equal(failed.events.filter((e) => e.type === "job.start").length, 2, "no rerun");
  assert.equal(failed.result.exit, 1);
  assert.equal(failed.result.ms, 50, "the failure elsewhere cancels the wait at once");
  assert.deepEqual(lastEnd(failed), ["failed@10 retrying", "failed@50"]);
  const interrupted = await fakeRun(yaml, {
    before: (fake) => fake.at(30, () => fake.raise("SIGINT")),
  });
  assert.equal(interrupted.result.exit, 130);
  assert.equal(interrupted.result.ms, 30, "Ctrl-C cancels the wait at once");
  assert.equal(
    interrupted.events.filter((e) => e.type === "job.start" && e.job === "flaky").length,
    1,
  );
  assert.deepEqual(lastEnd(interrupted), ["failed@10 retrying", "failed@30"]);
});

Deno.test("retries: a count or {count, delay, backoff, max_delay}; bad ones say where", () => {
  const retries = (v: string) => {
    try {
      const a = parseJobsFile(`jobs:\n  a: { run: x, retries: ${v} }\n`, "j.yaml").get("a");
      return [a.retries, a.retryDelay];
    } catch (e) {
      return (e as JxInputError).format();
    }
  };
  assert.deepEqual(retries("2"), [2, undefined]);
  assert.deepEqual(retries("{ count: 2 }"), [2, undefined]);
  assert.deepEqual(retries("{ count: 2, delay: 2s }"), [2, {
    delayMs: 2000,
    backoff: 1,
    maxMs: 300_000,
  }]);
  assert.equal(
    retries("{ delay: 1s }"),
    "j.yaml:2:16: jobs.a.retries: missing required key 'count'",
  );
  assert.equal(
    retries("{ count: 1, backoff: 0 }"),
    "j.yaml:2:46: jobs.a.retries.backoff: must be at least 1, got 0",
  );
  assert.equal(
    retries("{ count: 1, dealy: 1s }"),
    "j.yaml:2:37: jobs.a.retries: unknown key 'dealy' (did you mean 'delay'?)",
  );
});

Deno.test("interactive: waits for the running jobs, then runs alone; later jobs wait for it", async () => {
  const r = await fakeRun(`
jobs:
  a: { run: sleep 30 }
  i: { run: sleep 10, interactive: true }
  b: { run: sleep 5 }
  c: { run: sleep 5 }
`);
  assert.deepEqual(["a", "i", "b", "c"].map((j) => startOf(r, j)), [0, 30, 40, 40]);
});

Deno.test("if/unless run like && and ||; a skipped job is neither success nor failure", async () => {
  const r = await fakeRun(`
jobs:
  has-x: { run: sleep 5; exit 1 }
  use-x: { run: sleep 5, if: has-x }
  fallback: { run: sleep 5, unless: has-x }
  ok-test: { run: sleep 5 }
  on-ok: { run: sleep 5, if: ok-test }
  not-on-ok: { run: sleep 5, unless: ok-test }
  after-skipped: { run: sleep 5, if: use-x }
  after-skipped2: { run: sleep 5, unless: use-x }
  needs-skipped: { run: sleep 5, needs: [use-x] }
`);
  const ran = (j: string) => r.ends.get(j) !== undefined;
  assert.equal(ran("use-x"), false);
  assert.equal(ran("fallback"), true);
  assert.equal(ran("on-ok"), true);
  assert.equal(ran("not-on-ok"), false);
  assert.equal((r.skips.get("use-x") as { reason: string }).reason, "condition");
  assert.equal((r.skips.get("after-skipped") as { reason: string }).reason, "condition");
  assert.equal((r.skips.get("after-skipped2") as { reason: string }).reason, "condition");
  assert.equal(ran("needs-skipped"), true, "a condition-skipped job does not block its dependents");
  assert.equal(r.result.exit, 0, "a failed test job named by if/unless does not fail the run");
});

Deno.test("a failing condition job does not stop the run (fail fast does not apply to tests)", async () => {
  const r = await fakeRun(`
jobs:
  test: { run: sleep 5; exit 1 }
  fix: { run: sleep 5, unless: test }
  unrelated: { run: sleep 50 }
  after: { run: sleep 5, needs: [unrelated] }
`);
  assert.equal(endOf(r, "fix")?.status, "ok");
  assert.equal(endOf(r, "after")?.status, "ok");
  assert.equal(r.result.exit, 0);
});

Deno.test("a job that needs a failed test is skipped and fails the run: it was asked for and did not run", async () => {
  const r = await fakeRun(`
jobs:
  test: { run: sleep 5; exit 1 }
  on-ok: { run: sleep 5, if: test }
  built: { run: sleep 5, needs: [test] }
`);
  assert.equal((r.skips.get("on-ok") as { reason: string }).reason, "condition");
  assert.equal((r.skips.get("built") as { reason: string }).reason, "dependency-failed");
  assert.deepEqual([r.result.exit, r.result.status], [1, "failed"]);
  // A test skipped so is an answer, as its failure would be: it does not fail the run.
  const t = await fakeRun(`
jobs:
  t0: { run: sleep 5; exit 1 }
  c2: { run: sleep 5, needs: [t0] }
  d2: { run: sleep 5, if: c2 }
  e2: { run: sleep 5, unless: t0 }
`);
  assert.equal((t.skips.get("c2") as { reason: string }).reason, "dependency-failed");
  assert.equal(endOf(t, "e2")?.status, "ok");
  assert.deepEqual([t.result.exit, t.result.status], [0, "ok"]);
});

Deno.test("SIGINT stops every running job's group, cancels the rest, exits 130", async () => {
  const r = await fakeRun(
    `
jobs:
  a: { run: sleep 1000 }
  b: { run: sleep 1000; ignore TERM, grace: 100ms }
  c: { run: sleep 5, needs: [a] }
`,
    { before: (fake) => fake.at(40, () => fake.raise("SIGINT")) },
  );
  assert.equal(r.result.exit, 130);
  assert.equal(r.result.status, "interrupted");
  assert.equal(endOf(r, "a")?.status, "cancelled");
  assert.equal(endOf(r, "a")?.t, 40);
  assert.equal(endOf(r, "b")?.status, "cancelled");
  assert.equal(endOf(r, "b")?.t, 140, "SIGKILL after the grace period");
  assert.equal((r.skips.get("c") as { reason: string }).reason, "cancelled");
  const last = r.events[r.events.length - 1];
  assert.equal(last.type, "run.end");
  assert.equal(last.t, 140, "run.end only after every child has exited");
});

Deno.test("control.cancel stops the run as a first signal would, but its run.end says cancelled, exit null", async () => {
  const yaml = `
jobs:
  a: { run: sleep 1000 }
  b: { run: sleep 1000; ignore TERM, grace: 100ms }
  c: { run: sleep 5, needs: [a] }
`;
  const control: RunControl = {};
  const r = await fakeRun(yaml, {
    control,
    handleSignals: false,
    before: (fake) => fake.at(40, () => control.cancel?.()),
  });
  assert.deepEqual([r.result.status, r.result.exit], ["cancelled", 0]);
  const last = r.events.at(-1)!;
  assert.deepEqual(last.type === "run.end" && [last.status, last.exit, last.t], [
    "cancelled",
    null,
    140,
  ]);
  assert.equal(endOf(r, "a")?.status, "cancelled");
  assert.equal(endOf(r, "b")?.t, 140, "the grace of a cancel, as of a signal");
  assert.equal((r.skips.get("c") as { reason: string }).reason, "cancelled");
  // A stop after a cancel is a first one (the run ends interrupted); a second cancel is nothing.
  const control2: RunControl = {};
  const s = await fakeRun(yaml, {
    control: control2,
    handleSignals: false,
    before: (fake) => {
      fake.at(40, () => control2.cancel?.());
      fake.at(50, () => control2.cancel?.());
      fake.at(60, () => control2.stop?.("SIGINT"));
    },
  });
  assert.deepEqual([s.result.status, s.result.exit], ["interrupted", 130]);
  assert.equal(endOf(s, "b")?.t, 140, "neither the second cancel nor the stop killed at once");
});

Deno.test("SIGTERM exits 143; a second signal kills at once", async () => {
  const r = await fakeRun(
    `
jobs:
  b: { run: sleep 1000; ignore TERM, grace: 500ms }
`,
    {
      before: (fake) => {
        fake.at(10, () => fake.raise("SIGTERM"));
        fake.at(20, () => fake.raise("SIGTERM"));
      },
    },
  );
  assert.equal(r.result.exit, 143);
  assert.equal(endOf(r, "b")?.t, 20);
});

/**
 * A run on the fake reactor whose first reporter throws on the events of
 * `throwOn` (a new error each time); the second one records every event,
 * and a module host what it was asked to do (`host`).
 */
async function throwingRun(yaml: string, throwOn: (e: RunEvent) => boolean) {
  const graph = parseJobsFile(yaml, "test.yaml", { baseDir: "/" });
  const reactor = new FakeReactor((req) => scriptFromCommand(req.argv.join(" ")));
  const events: RunEvent[] = [];
  let thrown = 0;
  const host: string[] = [];
  const modules: ModuleHost = {
    attach() {},
    notRegistered: () => undefined,
    start: (_spec, resolved) => resolved("ok"),
    interrupt: (why) => host.push(`interrupt ${why}`),
    finish: (status) => (host.push(`finish ${status}`), Promise.resolve({ failed: false })),
    event() {},
  };
  const thrower = {
    event(e: RunEvent) {
      if (throwOn(e)) throw new Error(`reporter error ${++thrown} on ${e.type}`);
    },
  };
  const done = runJobs(graph, graph.jobs, {
    jobs: 4,
    reactor,
    reporters: [thrower, { event: (e) => events.push(e) }],
    modules,
  });
  const settled = done.then(() => "resolved", (e: Error) => e.message);
  await reactor.run();
  return { settled: await settled, events, reactor, host };
}

Deno.test("a reporter that throws stops the run as SIGTERM would, run.end says failed, exit 1, then runJobs rejects with its first error", async () => {
  const { settled, events, reactor, host } = await throwingRun(
    `
jobs:
  a: { run: sleep 1000 }
  b: { run: sleep 1000; ignore TERM, grace: 100ms }
  c: { run: sleep 5, needs: [a] }
`,
    (e) => e.type === "job.start" || e.type === "job.end",
  );
  assert.equal(settled, "reporter error 1 on job.start");
  assert.deepEqual(host, ["interrupt SIGTERM", "finish failed"], "modules stopped");
  assert.deepEqual(
    reactor.records.map((x) => x.signals),
    [[{ at: 0, signal: "SIGTERM" }], [{ at: 0, signal: "SIGTERM" }, {
      at: 100,
      signal: "SIGKILL",
    }]],
    "each group signalled, the grace honoured",
  );
  const ends = events.filter((e) => e.type === "job.end" || e.type === "job.skip");
  assert.deepEqual(ends.map((e) => [e.job, e.type === "job.end" ? e.status : e.reason, e.t]), [
    ["a", "cancelled", 0],
    ["c", "cancelled", 0],
    ["b", "cancelled", 100],
  ]);
  const last = events[events.length - 1];
  assert.deepEqual(last.type === "run.end" && [last.status, last.exit, last.t, last.error], [
    "failed",
    1,
    100,
    "reporter error 1 on job.start",
  ]);
});

Deno.test("a reporter that throws on job.output, on the last job.end or on run.end: runJobs rejects", async () => {
  const yaml = "jobs:\n  a: { run: sleep 10; out x }\n  b: { run: sleep 1000 }\n";
  const onOutput = await throwingRun(yaml, (e) => e.type === "job.output");
  assert.equal(onOutput.settled, "reporter error 1 on job.output");
  assert.deepEqual(onOutput.reactor.records.map((x) => x.signals[0]?.signal), [
    "SIGTERM",
    "SIGTERM",
  ]);
  const quick = "jobs:\n  a: { run: sleep 10 }\n";
  const onEnd = await throwingRun(quick, (e) => e.type === "job.end");
  assert.equal(onEnd.settled, "reporter error 1 on job.end");
  const onRunEnd = await throwingRun(quick, (e) => e.type === "run.end");
  assert.equal(onRunEnd.settled, "reporter error 1 on run.end");
  const onRunStart = await throwingRun(quick, (e) => e.type === "run.start");
  assert.equal(onRunStart.settled, "reporter error 1 on run.start");
  assert.equal(onRunStart.reactor.records.length, 0, "nothing started");
});

Deno.test("a command that cannot start fails with a clear error", async () => {
  const r = await fakeRun(
    `
jobs:
  a: { run: sleep 1 }
`,
    {
      before: (fake) => {
        // deno-lint-ignore no-explicit-any
        (fake as any).script = () => ({
          ms: 0,
          startError: "cannot start 'nope': no such file or directory",
        });
      },
    },
  );
  const end = endOf(r, "a") as unknown as { status: string; error: string };
  assert.equal(end.status, "failed");
  assert.match(end.error, /no such file/);
  assert.equal(r.result.exit, 1);
});

Deno.test("-n resolves every job as dry-run in dependency order and starts nothing", async () => {
  const r = await fakeRun(
    `
jobs:
  b: { run: sleep 1, needs: [a] }
  a: { run: sleep 1 }
  c: { run: sleep 1, unless: a }
`,
    { dryRun: true },
  );
  assert.equal(r.reactor.records.length, 0);
  const skips = r.events.filter((e) => e.type === "job.skip").map((e) =>
    `${(e as { job: string }).job}:${(e as { reason: string }).reason}`
  );
  assert.deepEqual(skips.filter((s) => s.endsWith("dry-run")), ["a:dry-run", "b:dry-run"]);
  assert.ok(skips.includes("c:condition"), "unless on a job assumed to succeed is false");
  assert.equal(r.result.exit, 0);
});

Deno.test("a dry run checks on disk only the jobs the state is not sure about", async () => {
  const checked: string[] = [];
  const r = await fakeRun(
    `
jobs:
  a: { run: sleep 1, writes: [a.o] }
  b: { run: sleep 1, reads: [a.o], writes: [b.o] }
`,
    {
      dryRun: true,
      state: {
        check: (spec) => (checked.push(spec.name), { upToDate: true }),
        succeeded: () => {},
        surelyOutOfDate: (spec) => spec.name === "a",
      },
    },
  );
  assert.deepEqual(checked, ["b"], "a never ran: no stat for it");
  const skips = r.events.filter((e) => e.type === "job.skip").map((e) =>
    `${(e as { job: string }).job}:${(e as { reason: string }).reason}`
  );
  assert.deepEqual(skips, ["a:dry-run", "b:dry-run"], "b waits for a, which would run");
});

Deno.test("selecting a job runs it and what it needs, not the rest", async () => {
  const r = await fakeRun(
    `
jobs:
  gen: { run: sleep 1, writes: [g.h] }
  cc: { run: sleep 1, reads: ["*.h"], writes: [a.o] }
  other: { run: sleep 1 }
  link: { run: sleep 1, reads: ["*.o"], needs: [] }
`,
    { names: ["link"] },
  );
  assert.deepEqual([...r.starts.keys()].sort(), ["cc", "gen", "link"]);
});

Deno.test("a long chain resolves without deep recursion", async () => {
  const lines = ["jobs:", "  j0: { run: exit 1 }"];
  for (let i = 1; i < 20000; i++) lines.push(`  j${i}: { run: sleep 1, needs: [j${i - 1}] }`);
  const r = await fakeRun(lines.join("\n"));
  assert.equal(r.skips.size, 19999);
});

Deno.test("jobs a partial run left out: counted in run.start, skipped up to date first, not in results", async () => {
  const r = await fakeRun("jobs:\n  a: { run: sleep 5 }\n", { leftUpToDate: ["x", "y"] });
  const start = r.events[0];
  assert.deepEqual(start.type === "run.start" && start.jobs, 3);
  assert.deepEqual(
    r.events.slice(1, 3).map((e) => e.type === "job.skip" && [e.job, e.reason]),
    [["x", "up-to-date"], ["y", "up-to-date"]],
  );
  assert.deepEqual([...r.result.results.keys()], ["a"]);
  assert.equal(r.result.exit, 0);
});

Deno.test("RunFrame: a signal passOn takes is no stop; the next one it declines is the first", () => {
  const fake = new FakeReactor(() => ({ ms: 1 }));
  const frame = new RunFrame(fake, []);
  const stops: [string, boolean][] = [];
  let take = true;
  frame.listen((sig, first) => stops.push([sig, first]), () => take);
  fake.raise("SIGINT");
  fake.raise("SIGTERM");
  assert.deepEqual(stops, []);
  assert.equal(frame.interrupted, undefined);
  take = false;
  fake.raise("SIGINT");
  // Once stopped, every signal is a stop (a second one kills), whatever passOn would say.
  take = true;
  fake.raise("SIGINT");
  assert.deepEqual(stops, [["SIGINT", true], ["SIGINT", false]]);
  assert.equal(frame.end(0).exit, 130);
});

Deno.test("an exception at a job's end (the state cannot record it, say) stops the run as a reporter's does: runJobs rejects with it", async () => {
  const graph = parseJobsFile(
    "jobs:\n  a: { run: sleep 10 }\n  b: { run: sleep 1, needs: [a] }\n  c: { run: sleep 1000 }\n",
    "test.yaml",
    { baseDir: "/" },
  );
  const reactor = new FakeReactor((req) => scriptFromCommand(req.argv.join(" ")));
  const events: RunEvent[] = [];
  const done = runJobs(graph, graph.jobs, {
    jobs: 4,
    reactor,
    reporters: [{ event: (e) => events.push(e) }],
    state: {
      check: () => ({ upToDate: false }),
      succeeded: () => {
        throw new Error("boom");
      },
    },
  });
  const settled = done.then(() => "resolved", (e: Error) => e.message);
  await reactor.run(); // on Bun's reactor, the exception left the run waiting for good
  assert.equal(await settled, "boom");
  assert.deepEqual(reactor.records.map((x) => x.signals), [[], [{ at: 10, signal: "SIGTERM" }]]);
  const ends = events.filter((e) => e.type === "job.end" || e.type === "job.skip");
  assert.deepEqual(ends.map((e) => [e.job, e.type === "job.end" ? e.status : e.reason]), [
    ["a", "ok"],
    ["b", "dependency-failed"],
    ["c", "cancelled"],
  ]);
  const last = events[events.length - 1];
  assert.deepEqual(last.type === "run.end" && [last.status, last.exit], ["failed", 1]);
});

/**
 * A run of `yaml`'s graph with `extra` edges added behind the loader's back (a cycle it
 * refuses: only a damaged graph or a bug could bring one), on the fake reactor; undefined when
 * the run is still waiting once nothing is left to happen.
 */
async function runWithEdges(yaml: string, extra: Edge[], before?: (f: FakeReactor) => void) {
  const loaded = parseJobsFile(yaml, "test.yaml", { baseDir: "/" });
  const graph = new Graph("test.yaml", loaded.jobs, loaded.pools, [...loaded.edges, ...extra]);
  const reactor = new FakeReactor((req) => scriptFromCommand(req.argv.join(" ")));
  const control: RunControl = {};
  const events: RunEvent[] = [];
  before?.(reactor);
  const done = runJobs(graph, graph.select([]), {
    jobs: 4,
    reactor,
    control,
    reporters: [{ event: (e) => events.push(e) }],
  });
  await reactor.run();
  const waiting = Symbol("still waiting");
  const result = await Promise.race([
    done,
    new Promise<typeof waiting>((r) => setTimeout(r, 50, waiting)),
  ]);
  if (result === waiting) return undefined;
  const skips = events.flatMap((e) =>
    e.type === "job.skip" ? [`${e.job} ${e.reason} ${e.because}`] : []
  );
  const errors = events.flatMap((e) => e.type === "emit.error" ? [e.error] : []);
  return { result, skips, errors };
}

Deno.test("jobs that wait for each other are never waited for: the run fails saying which, or a stop ends it", async () => {
  const yaml = `
jobs:
  a: { run: sleep 10 }
  b: { run: sleep 5, needs: [a] }
  c: { run: sleep 5, needs: [b] }
  d: { run: sleep 5, needs: [c] }
  e: { run: sleep 1000 }
`;
  const back: Edge = { from: "c", to: "b", kind: "needs", reason: "needs" };
  // Nothing stops the run: once e ends, b and c can never start (nor d after them).
  const r = await runWithEdges(yaml, [back]);
  assert.ok(r, "the run ended");
  assert.deepEqual([r.result.status, r.result.exit], ["failed", 1]);
  assert.deepEqual(r.skips, ["b cancelled c", "c cancelled b", "d cancelled c"]);
  assert.deepEqual(r.errors, ["'b', 'c', 'd': wait for each other and can never start (not run)"]);
  // A stop while e runs: e ends on its SIGTERM, then the run ends interrupted (was: waited for ever).
  const s = await runWithEdges(yaml, [back], (fake) => fake.at(40, () => fake.raise("SIGTERM")));
  assert.ok(s, "the stopped run ended");
  assert.deepEqual([s.result.status, s.result.exit], ["interrupted", 143]);
  assert.deepEqual(s.skips, ["b cancelled c", "c cancelled b", "d cancelled c"]);
  assert.deepEqual(s.errors, [], "a stop says nothing more");
});
