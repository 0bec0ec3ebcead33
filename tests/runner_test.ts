/**
 * The runner seam (lib/scheduler/runner.ts) with runners of the kinds that
 * will plug in: one that restores a job's result without a process (a
 * cache), one whose jobs start seconds after they are submitted and hold no
 * local slots (a cluster queue). And a job whose `tokens` can never fit:
 * failed with a message instead of a run that never ends.
 */
import assert from "node:assert/strict";
import { parseJobsFile } from "../lib/graph/mod.ts";
import { FakeReactor } from "../lib/reactor/mod.ts";
import {
  LocalRunner,
  LocalSlots,
  type RunEvent,
  runJobs,
  type Runner,
  type RunRequest,
  type RunSink,
} from "../lib/scheduler/mod.ts";
import { fakeRun } from "./helpers.ts";

const graphOf = (yaml: string) => parseJobsFile(yaml, "r.yaml", { baseDir: "/" });

/** Runs `yaml` through `runner` on a fake reactor; returns the events. */
async function withRunner(yaml: string, runner: (r: FakeReactor) => Runner) {
  const g = graphOf(yaml);
  const reactor = new FakeReactor(() => ({ ms: 10 }));
  const events: RunEvent[] = [];
  const done = runJobs(g, g.select([]), {
    reactor,
    runner: runner(reactor),
    reporters: [{ event: (e) => events.push(e) }],
  });
  await reactor.run();
  return { result: await done, events, reactor };
}

Deno.test("runner: a result restored without a process: job.end ok with cache, no job.start", async () => {
  const yaml = "jobs:\n  a: { run: build }\n  b: { run: test, needs: [a] }\n";
  const r = await withRunner(yaml, (reactor) => {
    const local = new LocalRunner(reactor, new LocalSlots(2));
    return {
      name: "cache",
      limit: 2,
      reserve: (s) => local.reserve(s),
      release: (s) => local.release(s),
      start(req: RunRequest, sink: RunSink) {
        if (req.spec.name !== "a") return local.start(req, sink);
        sink.output("stdout", new TextEncoder().encode("from the cache\n"));
        sink.ended({ kind: "restored", from: "local" });
        return { signal() {} };
      },
    };
  });
  assert.equal(r.result.exit, 0);
  const of = (job: string) =>
    r.events.filter((e) => "job" in e && e.job === job).map((e) => e.type);
  assert.deepEqual(of("a"), ["job.output", "job.end"]);
  assert.deepEqual(of("b"), ["job.start", "job.end"]);
  const end = r.events.find((e) => e.type === "job.end" && e.job === "a");
  assert.equal(end?.type === "job.end" && end.cache, "local");
  assert.deepEqual(
    r.reactor.records.map((p) => p.argv),
    [["/bin/sh", "-c", "test", "b"]],
    "only b",
  );
});

Deno.test("runner: a queue that starts jobs seconds later, with no local slots; timeouts and ms (from the start) and cancel reach it", async () => {
  const yaml =
    "jobs:\n  a: { run: x }\n  b: { run: x }\n  c: { run: x }\n  slow: { run: x, timeout: 30s }\n";
  const cancelled: string[] = [];
  const r = await withRunner(yaml, (reactor) => ({
    name: "queue",
    limit: 1, // what a job's tokens must fit in, not how many run at once
    reserve: () => "ok",
    release() {},
    start(req, sink) {
      let live = true;
      reactor.setTimer(5_000, () => {
        if (!live) return;
        sink.started(0);
        const ms = req.spec.name === "slow" ? 60_000 : 1_000;
        reactor.setTimer(ms, () => {
          if (live) sink.ended({ kind: "exited", status: { code: 0, signal: null } });
          live = false;
        });
      });
      return {
        signal(sig) {
          if (!live) return;
          live = false;
          cancelled.push(`${req.spec.name} ${sig}`);
          sink.ended({ kind: "exited", status: { code: null, signal: sig } });
        },
      };
    },
  }));
  const starts = r.events.filter((e) => e.type === "job.start").map((e) => e.t);
  assert.deepEqual(starts, [5000, 5000, 5000, 5000], "all four at once: no local slot held");
  assert.deepEqual(cancelled, ["slow SIGTERM"]);
  const slow = r.events.find((e) => e.type === "job.end" && e.job === "slow");
  assert.equal(slow?.type === "job.end" && slow.status, "timeout");
  assert.equal(slow?.t, 35_000, "the timeout counts from the start, not the submission");
  const ms = r.events.filter((e) => e.type === "job.end" && e.job !== "slow")
    .map((e) => e.type === "job.end" && e.ms);
  assert.deepEqual(ms, [1000, 1000, 1000], "a job's ms counts from its job.start, not the queue");
  assert.equal(r.result.exit, 1);
});

Deno.test("runner: a job the queue refuses after 10 s, never started: ms counts from its job.start (0)", async () => {
  const r = await withRunner("jobs:\n  a: { run: x }\n", (reactor) => ({
    name: "queue",
    limit: 1,
    reserve: () => "ok",
    release() {},
    start(_req, sink) {
      const status = { code: null, signal: null, error: "Unable to confirm allocation" };
      reactor.setTimer(10_000, () => sink.ended({ kind: "exited", status }));
      return { signal() {} };
    },
  }));
  const start = r.events.find((e) => e.type === "job.start")!;
  const end = r.events.find((e) => e.type === "job.end")!;
  assert.equal(start.t, 10_000, "job.start when the job ended: it never started before");
  assert.equal(end.type === "job.end" && end.ms, end.t - start.t);
});

Deno.test("tokens beyond the limit: the job fails with a message, the run ends (library, -j2)", async () => {
  const r = await fakeRun("jobs:\n  big: { run: x, tokens: 3 }\n  small: { run: x }\n", {
    jobs: 2,
    keepGoing: true,
  });
  const end = r.ends.get("big") as { status: string; error: string };
  assert.equal(end.status, "failed");
  assert.equal(end.error, "needs 3 job slots but -j is 2");
  assert.equal((r.ends.get("small") as { status: string }).status, "ok");
  assert.equal(r.result.exit, 1);
});

Deno.test("tokens beyond the limit: an emitted job fails instead of hanging the run", async () => {
  const r = await fakeRun("jobs:\n  gen: { run: GEN, emits: jobs }\n", {
    jobs: 2,
    script: (req) =>
      req.argv.join(" ").includes("GEN")
        ? { ms: 5, stdout: '{"name":"big","run":"true","tokens":3}\n' }
        : undefined,
  });
  const end = r.ends.get("big") as { status: string; error: string };
  assert.equal(end.status, "failed");
  assert.match(end.error, /needs 3 job slots but -j is 2/);
  assert.equal(r.result.exit, 1);
});

/** A runner that counts what its `reserve` answered. */
function counted(inner: Runner, asked: Record<string, number>): Runner {
  return {
    name: inner.name,
    get limit() {
      return inner.limit;
    },
    set onCapacity(cb: (() => void) | undefined) {
      inner.onCapacity = cb;
    },
    reserve(s) {
      const got = inner.reserve(s);
      asked[got] = (asked[got] ?? 0) + 1;
      return got;
    },
    release: (s) => inner.release(s),
    start: (req, sink) => inner.start(req, sink),
  };
}

Deno.test("runner: the executor runner, local side full and no job for Slurm, stops each offer (it passed over every ready job: n² refusals)", async () => {
  const { ExecutorRunner } = await import("../lib/slurm/mod.ts");
  const n = 400;
  const yaml = "jobs:\n" + Array.from({ length: n }, (_, i) => `  j${i}: { run: x }\n`).join("");
  const asked: Record<string, number> = {};
  const r = await withRunner(yaml, (reactor) => {
    const local = counted(new LocalRunner(reactor, new LocalSlots(2)), asked);
    const slurm = new LocalRunner(reactor, new LocalSlots(2)); // never asked: no job for it
    return new ExecutorRunner(local, slurm, "local");
  });
  assert.equal(r.result.exit, 0);
  assert.equal(asked.ok, n);
  // One refusal per offer that found the slots taken: about one per job, not per ready job.
  assert.ok((asked.full ?? 0) + (asked.blocked ?? 0) <= 2 * n, JSON.stringify(asked));
});

Deno.test("runner: jobs for Slurm beside local ones: a full side stops the offer of its own jobs only (n² refusals before)", async () => {
  const { ExecutorRunner } = await import("../lib/slurm/mod.ts");
  const n = 400;
  const yaml = "jobs:\n" +
    Array.from({ length: n }, (_, i) => `  j${i}: { run: x }\n`).join("") +
    Array.from({ length: n }, (_, i) => `  s${i}: { run: y, executor: slurm }\n`).join("");
  const local: Record<string, number> = {}, slurm: Record<string, number> = {};
  const r = await withRunner(yaml, (reactor) =>
    new ExecutorRunner(
      counted(new LocalRunner(reactor, new LocalSlots(2)), local),
      counted(new LocalRunner(reactor, new LocalSlots(3)), slurm),
      "local",
    ));
  assert.equal(r.result.exit, 0);
  assert.equal(local.ok, n);
  assert.equal(slurm.ok, n);
  // Both sides busy at once: the Slurm side's jobs were not held back by the full local side.
  const running = new Set<string>();
  let both = false;
  for (const e of r.events) {
    if (e.type === "job.start") running.add(e.job);
    if (e.type === "job.end") running.delete(e.job);
    const names = [...running];
    if (names.some((j) => j[0] === "j") && names.some((j) => j[0] === "s")) both = true;
  }
  assert.ok(both, "no moment with jobs of both sides running");
  for (const asked of [local, slurm]) {
    const refusals = (asked.full ?? 0) + (asked.blocked ?? 0);
    assert.ok(refusals <= 2 * n, JSON.stringify({ local, slurm }));
  }
});
