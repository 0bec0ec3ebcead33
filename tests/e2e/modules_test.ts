/**
 * Modules: the lifecycle rules on the fake reactor (exact virtual times),
 * then real processes through the CLI, under Deno and Bun: a TCP server a
 * job queries, every ready kind, restarts, reverse-order shutdown, Ctrl-C,
 * and the example of docs/modules.md; a ready port another process already
 * serves, and a check passed once a module's processes are gone.
 */
import assert from "node:assert/strict";
import { parseJobsFile } from "../../lib/graph/mod.ts";
import {
  backoffMs,
  Module,
  ReadyProbe,
  Supervisor,
  type SupervisorOptions,
} from "../../lib/modules/mod.ts";
import { createReactor, FakeReactor, type ListenSignal } from "../../lib/reactor/mod.ts";
import { type RunEvent, runJobs, type RunOptions } from "../../lib/scheduler/mod.ts";
import {
  alive,
  goneWithin,
  inGroups,
  jxCommand,
  killAndWait,
  type LoggedEvent,
  moduleStates,
  readEvents,
  ROOT,
  runJx,
  RUNTIMES,
  scriptFromCommand,
  sleep,
  tempDir,
  waitForFile,
} from "../helpers.ts";

// ---------------------------------------------------------------------------
// The rules, on the fake reactor

/** Runs a jobs file with modules on the fake reactor until the run ends. */
async function fakeRun(
  yaml: string,
  opts: Partial<RunOptions> & {
    names?: string[];
    supervisor?: SupervisorOptions;
    /** Called at virtual times (ms), with the supervisor and the reactor. */
    at?: [number, (s: Supervisor, r: FakeReactor) => void][];
  } = {},
) {
  const graph = parseJobsFile(yaml, "test.yaml", { baseDir: "/" });
  const reactor = new FakeReactor((req) => scriptFromCommand(req.argv.join(" ")));
  const modules = new Supervisor(opts.supervisor);
  const events: RunEvent[] = [];
  for (const [t, fn] of opts.at ?? []) reactor.at(t, () => fn(modules, reactor));
  let settled = false;
  const done = runJobs(graph, graph.select(opts.names ?? []), {
    jobs: 4,
    baseEnv: {},
    ...opts,
    reactor,
    modules,
    reporters: [{ event: (e) => events.push(e) }],
  }).finally(() => settled = true);
  // The supervisor's shutdown hops through promises between virtual events.
  while (!settled) {
    await reactor.run();
    await sleep(0);
  }
  const result = await done;
  const states = events.filter((e) => e.type === "module.state").map((e) => {
    const m = e as Extract<RunEvent, { type: "module.state" }>;
    return `${m.t} ${m.module} ${m.state}`;
  });
  return { result, events, reactor, modules, states };
}

Deno.test("modules: started when needed, ready before their dependents, stopped in reverse order", async () => {
  const { result, states, events } = await fakeRun(`
modules:
  db: { run: sleep 100000, ready: { delay: 50ms } }
  api: { run: sleep 100000, needs: [db], ready: { delay: 20ms } }
  unused: { run: sleep 100000 }
jobs:
  test: { run: sleep 10, needs: [api] }
`);
  assert.equal(result.exit, 0);
  assert.deepEqual(states, [
    "0 db idle",
    "0 api idle",
    "0 db starting",
    "50 db running",
    "50 api starting",
    "70 api running",
    "80 api stopped", // the job ended at 80: api first,
    "80 db stopped", // then what it needs
  ]);
  const start = events.find((e) => e.type === "job.start")!;
  assert.equal(start.t, 70);
  assert.equal((events[0] as { jobs: number }).jobs, 1, "run.start counts jobs, not modules");
});

Deno.test("modules hold no job slots: a module starts while -j1 is taken", async () => {
  const { states, events } = await fakeRun(
    `
modules:
  db: { run: sleep 100000, ready: { delay: 5ms } }
jobs:
  long: { run: sleep 100 }
  use: { run: sleep 10, needs: [db] }
`,
    { jobs: 1 },
  );
  assert.ok(states.includes("0 db starting"));
  const use = events.find((e) => e.type === "job.start" && e.job === "use")!;
  assert.equal(use.t, 100, "use waits for the slot, not for db");
});

Deno.test("a module that never becomes ready fails; its dependents are skipped; exit 1", async () => {
  const { result, events, reactor } = await fakeRun(`
modules:
  db:
    run: sleep 100000
    ready: { cmd: "exit 1", timeout: 300ms, interval: 100ms }
    stop: { signal: INT, grace: 50ms }
jobs:
  test: { run: sleep 10, needs: [db] }
`);
  assert.equal(result.exit, 1);
  const failed = events.find((e) => e.type === "module.state" && e.state === "failed") as {
    t: number;
    reason: string;
  };
  assert.equal(failed.t, 300);
  assert.match(failed.reason, /^not ready after 300ms: cmd exit 1 \(last: exit 1\)$/);
  assert.ok(events.some((e) => e.type === "job.skip" && e.job === "test"));
  const db = reactor.records.find((r) => r.argv.join(" ").includes("100000"))!;
  assert.deepEqual(db.signals.map((s) => `${s.at} ${s.signal}`), ["300 SIGINT"]);
  // The probe ran every 100ms: at 0, 100, 200 (each exits 1 after 10ms).
  const probes = reactor.records.filter((r) => r.argv.join(" ").includes("exit 1"));
  assert.deepEqual(probes.map((p) => p.start), [0, 110, 220]);
});

Deno.test("stop: the stop signal, then SIGKILL of the group after the grace", async () => {
  const { reactor, states } = await fakeRun(`
modules:
  stubborn: { run: sleep 100000 ignore TERM, stop: { grace: 300ms } }
jobs:
  use: { run: sleep 10, needs: [stubborn] }
`);
  const m = reactor.records[0];
  assert.deepEqual(m.signals.map((s) => `${s.at} ${s.signal}`), ["10 SIGTERM", "310 SIGKILL"]);
  assert.equal(states.at(-1), "310 stubborn stopped");
});

Deno.test("restart: exponential backoff, then failed after max_restarts (a crash loop)", async () => {
  assert.deepEqual([1, 2, 3, 4].map(backoffMs), [100, 200, 400, 800]);
  const { result, events } = await fakeRun(`
modules:
  loop:
    run: sleep 10 exit 3 out crashing
    restart: on-failure
    max_restarts: 3
    ready: { delay: 50ms }
jobs:
  use: { run: sleep 10, needs: [loop] }
`);
  assert.equal(result.exit, 1);
  const st = events.filter((e) => e.type === "module.state") as Extract<
    RunEvent,
    { type: "module.state" }
  >[];
  // Each attempt runs 10ms, then waits 100, 200, 400ms.
  assert.deepEqual(
    st.filter((e) => e.state === "starting").map((e) => [e.t, e.attempt]),
    [[0, 1], [110, 2], [320, 3], [730, 4]],
  );
  assert.deepEqual(
    st.filter((e) => e.state === "failed").map((e) => [e.t, e.backoff_ms ?? null]),
    [[10, 100], [120, 200], [330, 400], [740, null]],
  );
  assert.equal(st.at(-1)!.reason, "exit 3; gave up after 3 restarts");
  assert.ok(events.some((e) => e.type === "job.skip" && e.job === "use"));
});

Deno.test("restart: always restarts after an exit 0 too; past max_restarts it stays stopped", async () => {
  const { result, states } = await fakeRun(`
modules:
  blip: { run: sleep 30, restart: always, max_restarts: 1 }
jobs:
  use: { run: sleep 1000, needs: [blip] }
`);
  assert.equal(result.exit, 0);
  assert.deepEqual(states, [
    "0 blip idle",
    "0 blip starting",
    "0 blip running",
    "30 blip stopped", // restarting: true, backoff_ms: 100
    "130 blip starting",
    "130 blip running",
    "160 blip stopped",
  ]);
});

Deno.test("pause queues messages; resume delivers them in order; stop discards, drain delivers", async () => {
  const { reactor, states } = await fakeRun(
    `
modules:
  a: { run: sleep 100000, subscribe: [t] }
  b: { run: sleep 100000, subscribe: ["jx.*", t] }
jobs:
  hold: { run: sleep 1000, needs: [a, b] }
`,
    {
      at: [
        [100, (s) => s.publish("t", "m1")],
        [200, (s) => s.control({ action: "pause", module: "a" })],
        [210, (s) => s.control({ action: "pause", module: "b" })],
        [300, (s) => s.publish("t", "m2\nwith a newline")],
        [310, (s) => s.publish("t", "m3")],
        [400, (s) => s.control({ action: "resume", module: "a" })],
        [500, (s) => s.control({ action: "stop", module: "b", drain: true })],
      ],
    },
  );
  const [a, b] = reactor.records;
  assert.deepEqual(a.stdin, ["t m1\n", "t m2 with a newline\n", "t m3\n"]);
  assert.deepEqual(a.signals.map((s) => `${s.at} ${s.signal}`), [
    "200 SIGSTOP",
    "400 SIGCONT",
    "1000 SIGTERM",
  ]);
  // b: drained (the queue, then end of file); its jx.job.end came after it stopped.
  assert.deepEqual(b.stdin, ["t m1\n", "t m2 with a newline\n", "t m3\n"]);
  assert.equal(b.stdinClosed, true);
  assert.deepEqual(b.signals.map((s) => `${s.at} ${s.signal}`), [
    "210 SIGSTOP",
    "500 SIGCONT",
    "5500 SIGTERM", // the grace (5s) to exit by itself after the pill
  ]);
  assert.ok(states.includes("5500 b stopped"));
  const c = await fakeRun(
    `
modules:
  c: { run: sleep 100000, subscribe: [t] }
jobs:
  hold: { run: sleep 1000, needs: [c] }
`,
    {
      at: [
        [100, (s) => s.control({ action: "pause", module: "c" })],
        [200, (s) => s.publish("t", "lost")],
        [300, (s) => s.control({ action: "stop", module: "c" })],
      ],
    },
  );
  assert.deepEqual(c.reactor.records[0].stdin, []);
  // A stop of a paused module also sends SIGCONT (a stopped process cannot act on TERM).
  assert.deepEqual(c.reactor.records[0].signals.map((s) => s.signal), [
    "SIGSTOP",
    "SIGTERM",
    "SIGCONT",
  ]);
});

Deno.test("two ctl restarts at once: both wait for the one stop and the one start", async () => {
  const replies: unknown[] = [];
  const twice = (s: Supervisor) => {
    for (let i = 0; i < 2; i++) {
      void s.control({ action: "restart", module: "db" }).then((r) => replies.push(r));
    }
  };
  const { result, reactor } = await fakeRun(
    `
modules:
  db: { run: sleep 100000 ignore TERM, ready: { delay: 20ms }, stop: { grace: 100ms } }
jobs:
  hold: { run: sleep 1000, needs: [db] }
`,
    {
      at: [[50, twice], [400, (s) => void s.control({ action: "pause", module: "db" })], [
        500,
        twice,
      ]],
    },
  );
  assert.equal(result.exit, 0);
  // No "internal error: module db has a process, or one on its way" for the second.
  const ok = { ok: true, state: "running" };
  assert.deepEqual(replies, [ok, ok, ok, ok]);
  const starts = reactor.records.filter((r) => r.argv.join(" ").includes("100000"));
  assert.deepEqual(starts.map((r) => r.start), [0, 150, 600]);
});

Deno.test("ctl stop answers stopped when a ctl restart that waited for the same stop starts it again", async () => {
  const replies: Record<string, unknown> = {};
  const ask = (action: "stop" | "restart") => (s: Supervisor) =>
    void s.control({ action, module: "db" }).then((r) => replies[action] = r);
  const { result } = await fakeRun(
    `
modules:
  db: { run: sleep 100000 ignore TERM, ready: { delay: 20ms }, stop: { grace: 100ms } }
jobs:
  hold: { run: sleep 1000, needs: [db] }
`,
    { at: [[50, ask("stop")], [60, ask("restart")]] },
  );
  assert.equal(result.exit, 0);
  // The stop's answer said "starting": the restart's start, made before the stop answered.
  assert.deepEqual(replies, {
    stop: { ok: true, state: "stopped" },
    restart: { ok: true, state: "running" },
  });
});

Deno.test("ctl restart of a module whose needed module is stopped is refused, as ctl start is", async () => {
  const replies: unknown[] = [];
  const ask = (action: "stop" | "start" | "restart", module: string) => (s: Supervisor) =>
    void s.control({ action, module }).then((r) => replies.push(r));
  const { reactor } = await fakeRun(
    `
modules:
  db: { run: sleep 100000, ready: { delay: 10ms } }
  api: { run: sleep 100000, needs: [db], ready: { delay: 10ms } }
jobs:
  hold: { run: sleep 1000, needs: [api] }
`,
    {
      at: [
        [100, ask("stop", "db")],
        [200, ask("restart", "api")],
        [300, ask("stop", "api")],
        [400, ask("start", "api")],
        [500, ask("restart", "api")],
      ],
    },
  );
  const waits = { ok: false, error: "waits for db (stopped)" };
  assert.deepEqual(replies, [
    { ok: true, state: "stopped" },
    waits, // api keeps running: it is not stopped to be refused a start
    { ok: true, state: "stopped" },
    waits,
    waits,
  ]);
  // api started once: never again while db was down.
  const starts = reactor.records.filter((r) => r.argv.join(" ").includes("100000"));
  assert.equal(starts.length, 2);
});

Deno.test("jx publishes jx.job.end and jx.run.end to subscribers", async () => {
  const { reactor } = await fakeRun(`
modules:
  watcher: { run: sleep 100000, subscribe: ["jx.*"] }
jobs:
  a: { run: sleep 10 exit 2, needs: [watcher] }
`);
  assert.deepEqual(reactor.records[0].stdin, [
    'jx.job.end {"job":"a","status":"failed","exit":2,"signal":null}\n',
    'jx.run.end {"status":"failed"}\n',
  ]);
});

Deno.test("when: an unregistered module never starts; jobs that need it fail, saying why", async () => {
  const { result, events, reactor } = await fakeRun(
    `
modules:
  ci: { run: sleep 100000, when: { env: CI } }
  here: { run: sleep 100000, when: { os: linux, file: /etc } }
jobs:
  a: { run: sleep 10, needs: [ci] }
  b: { run: sleep 10, needs: [here] }
`,
    { keepGoing: true, baseEnv: { CI: "" } },
  );
  assert.equal(result.exit, 1);
  assert.equal(reactor.records.filter((r) => r.argv.join(" ").includes("100000")).length, 1);
  const a = events.find((e) => e.type === "job.end" && e.job === "a") as { error: string };
  assert.equal(a.error, "needs module 'ci', which is not registered (when: env CI is not set)");
  assert.ok(events.some((e) => e.type === "job.end" && e.job === "b" && e.status === "ok"));
  const ok = await fakeRun(
    "modules:\n  ci: { run: sleep 100000, when: { env: CI } }\njobs:\n  a: { run: sleep 1, needs: [ci] }\n",
    { baseEnv: { CI: "true" } },
  );
  assert.equal(ok.result.exit, 0);
});

Deno.test("a module that needs an unregistered module fails without starting; what needs it is skipped", async () => {
  const { result, events, reactor } = await fakeRun(
    `
modules:
  ci: { run: sleep 100000, when: { env: CI } }
  api: { run: sleep 200000, needs: [ci] }
jobs:
  a: { run: sleep 10, needs: [api] }
  b: { run: sleep 10 }
`,
    { keepGoing: true, baseEnv: { CI: "" } },
  );
  assert.equal(result.exit, 1);
  assert.equal(reactor.records.filter((r) => r.argv.join(" ").includes("00000")).length, 0);
  const failed = events.find((e) =>
    e.type === "module.state" && e.module === "api" && e.state === "failed"
  ) as { reason: string };
  assert.equal(
    failed.reason,
    "needs module 'ci', which is not registered (when: env CI is not set)",
  );
  assert.ok(events.some((e) => e.type === "job.skip" && e.job === "a"));
  assert.ok(events.some((e) => e.type === "job.end" && e.job === "b" && e.status === "ok"));
});

Deno.test("what needs a module that went down after it was ready does not start without it", async () => {
  // crash fails at 30 (no restart), done exits 0 at 30, `up` is stopped by ctl at 50;
  // what needs them starts after `slow` (100): each fails, saying why, none runs.
  const { result, events, reactor } = await fakeRun(
    `
modules:
  crash: { run: sleep 30 exit 4 }
  done: { run: sleep 30 }
  up: { run: sleep 100000 }
  after: { run: sleep 300000, needs: [up, slow] }
jobs:
  slow: { run: sleep 100 }
  a: { run: sleep 11 out a-ran, needs: [crash, slow] }
  b: { run: sleep 12 out b-ran, needs: [done, slow] }
  c: { run: sleep 13 out c-ran, needs: [after] }
`,
    { keepGoing: true, at: [[50, (s) => void s.control({ action: "stop", module: "up" })]] },
  );
  assert.equal(result.exit, 1);
  const ran = reactor.records.map((r) => r.argv.join(" "));
  assert.ok(!ran.some((c) => /-ran|300000/.test(c)), ran.join("; "));
  const error = (job: string) =>
    (events.find((e) => e.type === "job.end" && e.job === job) as { error?: string })?.error;
  assert.equal(error("a"), "needs module 'crash', which failed (exit 4)");
  assert.equal(error("b"), "needs module 'done', which ended by itself");
  const after = events.find((e) =>
    e.type === "module.state" && e.module === "after" && e.state === "failed"
  ) as { reason: string };
  assert.equal(after.reason, "needs module 'up', which was stopped (jx ctl stop)");
  assert.ok(events.some((e) => e.type === "job.skip" && e.job === "c"));
});

Deno.test("what needs a module on its way back (a restart, a stop under way) waits for it", async () => {
  // db crashes at 50 after it was ready (at 20); its restart starts at 150, ready at 170.
  // `use` becomes ready at 100 (after slow): it waits for db, not for nothing.
  const crash = await fakeRun(`
modules:
  db: { run: sleep 50 exit 3, restart: on-failure, max_restarts: 1, ready: { delay: 20ms } }
jobs:
  slow: { run: sleep 100 }
  use: { run: sleep 10, needs: [db, slow] }
`);
  const start = (r: { events: RunEvent[] }, job: string) =>
    r.events.find((e) => e.type === "job.start" && e.job === job)?.t;
  assert.ok(crash.states.includes("170 db running"), crash.states.join("; "));
  assert.equal(start(crash, "use"), 170);
  // jx ctl restart at 250: db stops, starts again, ready 200ms later (450); `use` is ready at 300.
  const restart = await fakeRun(
    `
modules:
  db: { run: sleep 100000, ready: { delay: 200ms } }
jobs:
  slow: { run: sleep 300 }
  use: { run: sleep 10, needs: [db, slow] }
`,
    { at: [[250, (s) => void s.control({ action: "restart", module: "db" })]] },
  );
  assert.equal(restart.result.exit, 0);
  assert.equal(start(restart, "use"), 450);
  // jx ctl stop at 250, ended at 400 (its grace): `use`, ready at 300, fails at 400, not run.
  const stop = await fakeRun(
    `
modules:
  db: { run: sleep 100000 ignore TERM, stop: { grace: 150ms } }
jobs:
  slow: { run: sleep 300 }
  use: { run: sleep 10 out use-ran, needs: [db, slow] }
`,
    { at: [[250, (s) => void s.control({ action: "stop", module: "db" })]] },
  );
  assert.equal(stop.result.exit, 1);
  assert.ok(!stop.reactor.records.some((r) => r.argv.join(" ").includes("use-ran")));
  const end = stop.events.find((e) => e.type === "job.end" && e.job === "use") as {
    t: number;
    error?: string;
  };
  assert.deepEqual([end.t, end.error], [400, "needs module 'db', which was stopped (jx ctl stop)"]);
});

Deno.test("a job failing at once for an unregistered module stops the run cleanly (fail fast)", async () => {
  const { result, events } = await fakeRun(
    `
modules:
  u: { run: sleep 100000, when: { env: NOPE } }
jobs:
  first: { run: sleep 10 }
  big: { run: sleep 10, tokens: 2 }
  small: { run: sleep 10, needs: [u] }
`,
    { jobs: 2 },
  );
  assert.equal(result.exit, 1);
  // big was refused a slot in the same pass in which small failed: skipped, not left waiting.
  assert.ok(
    events.some((e) => e.type === "job.skip" && e.job === "big" && e.reason === "cancelled"),
  );
});

Deno.test("foreground: a module named on the command line stays up until a signal", async () => {
  const { result, states } = await fakeRun(
    `
modules:
  db: { run: sleep 100000 }
  api: { run: sleep 100000, needs: [db] }
`,
    {
      names: ["api"],
      supervisor: { foreground: ["api"] },
      at: [[5000, (_s, r) => r.raise("SIGINT" as ListenSignal)]],
    },
  );
  assert.equal(result.exit, 130);
  assert.deepEqual(states.slice(-2), ["5000 api stopped", "5000 db stopped"]);
});

Deno.test("foreground: a module that fails its ready check ends the run (exit 1), not held", async () => {
  // Its process takes its grace (100ms) to die after the check gave up at 300ms.
  const { result, states } = await fakeRun(
    `
modules:
  srv:
    run: sleep 100000 ignore TERM
    ready: { cmd: "exit 1", timeout: 300ms }
    stop: { grace: 100ms }
`,
    {
      names: ["srv"],
      supervisor: { foreground: ["srv"] },
      at: [[60_000, (_s, r) => r.raise("SIGINT" as ListenSignal)]], // a hang ends here
    },
  );
  assert.equal(result.exit, 1);
  assert.deepEqual(states, ["0 srv idle", "0 srv starting", "300 srv failed"]);
  assert.ok(result.ms < 1000, `ended at ${result.ms}ms`);
});

Deno.test("foreground: Ctrl-C tells subscribers jx.run.end interrupted, as the event log says", async () => {
  const { result, events, reactor } = await fakeRun(
    `
modules:
  api: { run: sleep 100000 }
  listener: { run: sleep 100000, subscribe: ["jx.run.end"] }
`,
    {
      names: ["api", "listener"],
      supervisor: { foreground: ["api"] },
      at: [[5000, (_s, r) => r.raise("SIGINT" as ListenSignal)]],
    },
  );
  assert.equal(result.exit, 130);
  const end = events.find((e) => e.type === "run.end") as { status: string };
  assert.equal(end.status, "interrupted");
  const listener = reactor.records.find((r) => r.env.JX_JOB === "listener")!;
  assert.deepEqual(listener.stdin, ['jx.run.end {"status":"interrupted"}\n']);
});

// ---------------------------------------------------------------------------
// Real processes

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a real TCP server module; a job that needs it queries it; then it is stopped`, async () => {
    const port = freePort();
    const dir = await tempDir({
      "jobs.yaml": `
modules:
  web:
    run: python3 -m http.server ${port} --bind 127.0.0.1
    ready: { tcp: ${port}, timeout: 20s }
jobs:
  query:
    run: python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:${port}/').status)"
    needs: [web]
`,
    });
    const r = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /── query .*\n200\n/);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.deepEqual(moduleStates(ev), ["web idle", "web starting", "web running", "web stopped"]);
    const at = (pred: (e: LoggedEvent) => boolean) => ev.findIndex(pred);
    assert.ok(
      at((e) => e.state === "running") < at((e) => e.type === "job.start"),
      "the job starts once the server is ready",
    );
    assert.ok(at((e) => e.type === "job.end") < at((e) => e.state === "stopped"));
    const pid = ev.find((e) => e.state === "starting")!.pid as number;
    assert.equal(alive(pid), false, "the server is gone");
  });

  Deno.test(`[${rt}] Ctrl-C: jx run MODULE stays in the foreground; SIGINT leaves no process of any module's group`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
modules:
  db:
    run: sleep 300 & echo $! > db.child; echo up; wait
    ready: { log: up }
  api:
    run: trap '' TERM; sleep 300 & echo $! > api.child; echo serving; wait
    needs: [db]
    ready: { log: serving }
    stop: { grace: 300ms }
`,
    });
    const [cmd, argv] = jxCommand(rt, ["run", "api", "--events", "ev.ndjson"]);
    const child = new Deno.Command(cmd, { args: argv, cwd: dir, stdout: "piped", stderr: "piped" })
      .spawn();
    await waitForFile(`${dir}/api.child`, 20_000);
    // Long after its (no) jobs are done, it is still up: a foreground run.
    for (;;) {
      const ev = await readEvents(`${dir}/ev.ndjson`).catch(() => []);
      if (ev.some((e) => e.module === "api" && e.state === "running")) break;
      await sleep(20);
    }
    await sleep(300);
    const before = await readEvents(`${dir}/ev.ndjson`);
    assert.ok(!before.some((e) => e.type === "run.end"), "still in the foreground");
    child.kill("SIGINT");
    const out = await child.output();
    assert.equal(out.code, 130, new TextDecoder().decode(out.stderr));
    const ev = await readEvents(`${dir}/ev.ndjson`);
    const pgids = ev.filter((e) => e.state === "starting").map((e) => e.pid as number);
    assert.equal(pgids.length, 2);
    assert.deepEqual(inGroups(pgids), [], "no process of a module's group is alive");
    for (const f of ["db.child", "api.child"]) {
      assert.equal(alive(Number(await Deno.readTextFile(`${dir}/${f}`))), false, f);
    }
    // api (which ignores TERM: killed after its grace) before db.
    assert.deepEqual(moduleStates(ev).slice(-2), ["api stopped", "db stopped"]);
    assert.equal(ev.find((e) => e.module === "api" && e.state === "stopped")!.signal, "SIGKILL");
  });
}

Deno.test("every ready kind on real processes; a server that never becomes ready fails, its output shown", async () => {
  const port = freePort();
  const dir = await tempDir({
    "jobs.yaml": `
modules:
  http:
    run: python3 -m http.server ${port} --bind 127.0.0.1
    ready: { http: "http://127.0.0.1:${port}/", timeout: 20s }
  log:
    run: sleep 0.2; echo "ready to serve" >&2; sleep 300
    ready: { log: "ready to .erve" }
  cmd:
    run: sleep 0.2; touch cmd.ok; sleep 300
    ready: { cmd: test -f cmd.ok, interval: 50ms }
  delay:
    run: sleep 300
    ready: { delay: 200ms }
  never:
    run: 'echo "starting on a port nobody checks"; echo "fatal: no config" >&2; sleep 300'
    ready: { tcp: ${freePort()}, timeout: 3s }
jobs:
  all: { run: echo all ready, needs: [http, log, cmd, delay] }
  hopeless: { run: echo unreachable, needs: [never] }
`,
  });
  const r = await runJx(["run", "-k", "--events", "ev.ndjson"], { cwd: dir });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /── all .*\nall ready\n/);
  const never = r.stdout.slice(r.stdout.indexOf("── module never:"));
  assert.match(
    never,
    /^── module never: FAILED \(not ready after 3\.00s: tcp \d+ \(last: ECONNREFUSED\)\)\n/,
  );
  assert.match(never, /\nstarting on a port nobody checks\n/);
  assert.match(never, /\nfatal: no config\n/);
  assert.match(r.stderr, /✗ module never: not ready after 3\.00s/);
  assert.match(r.stderr, /skipped hopeless: depends on never/);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  for (const m of ["http", "log", "cmd", "delay"]) {
    assert.deepEqual(moduleStates(ev).filter((s) => s.startsWith(m + " ")), [
      `${m} idle`,
      `${m} starting`,
      `${m} running`,
      `${m} stopped`,
    ]);
  }
  const allStart = ev.findIndex((e) => e.type === "job.start" && e.job === "all");
  for (const m of ["http", "log", "cmd", "delay"]) {
    assert.ok(ev.findIndex((e) => e.module === m && e.state === "running") < allStart, m);
  }
  assert.equal(
    inGroups(ev.filter((e) => e.state === "starting").map((e) => e.pid as number)).length,
    0,
  );
});

Deno.test("a log ready check takes lines ended by \\r\\n or \\r, and no line before it ends", () => {
  const reactor = new FakeReactor(() => scriptFromCommand("true"));
  const enc = new TextEncoder();
  /** Whether `log` passes once `chunks` are fed, in order, on stdout. */
  const passes = (log: string, chunks: string[]) => {
    let ok: boolean | undefined;
    const probe = new ReadyProbe({ log }, { reactor, cwd: "/", env: {} }, (r) => ok = r);
    probe.start();
    for (const c of chunks) probe.feed("stdout", enc.encode(c));
    probe.cancel();
    return ok === true;
  };
  // A line ended by \r\n (a program on a terminal's conventions, Windows tools): no \r in it.
  assert.equal(passes("ready$", ["ready\r\n"]), true);
  assert.equal(passes("^ready$", ["ready\r", "\n"]), true);
  // A status line redrawn in place, the module then silent: its \r ended it.
  assert.equal(passes("^ready$", ["starting\rready\r"]), true);
  // A progress line redrawn in place: each part is a line.
  assert.equal(passes("^listening$", ["loading 10%\rloading 90%\rlistening\n"]), true);
  // The first half of a line written in two is not the line: "port 8080" does not end in "port 80".
  assert.equal(passes("port 80$", ["listening on port 80"]), false);
  assert.equal(passes("port 80$", ["listening on port 80", "80\n"]), false);
  assert.equal(passes("port 80$", ["listening on port 80", "\n"]), true);
  assert.equal(passes("^ready$", ["ready", "-not\n"]), false);
  // A match that more of the unfinished line follows counts at once (a prompt with no newline).
  assert.equal(passes("ready>", ["ready> "]), true);
  assert.equal(passes("listening on", ["listen", "ing on port 8"]), true);
  reactor.close();
});

Deno.test("a log ready check takes an unfinished line that matches to its end once its stream stays quiet an interval", async () => {
  const enc = new TextEncoder();
  /** What the check says, and when (virtual ms), after `chunks` at their times on stdout. */
  const outcome = async (log: string, chunks: [number, string][]) => {
    const reactor = new FakeReactor(() => scriptFromCommand("true"));
    let got: [boolean, number] | undefined;
    const probe = new ReadyProbe(
      { log, intervalMs: 100, timeoutMs: 5000 },
      { reactor, cwd: "/", env: {} },
      (ok) => got = [ok, reactor.now()],
    );
    probe.start();
    for (const [t, c] of chunks) reactor.at(t, () => probe.feed("stdout", enc.encode(c)));
    await reactor.run();
    return got;
  };
  // A prompt that ends no line, then nothing: ready an interval later.
  assert.deepEqual(await outcome("^ready$", [[10, "ready"]]), [true, 110]);
  // The line goes on within the interval: not what the check asked for.
  assert.deepEqual(await outcome("port 80$", [[10, "on port 80"], [60, "80\n"]]), [false, 5000]);
});

/** Live processes whose command line is exactly `argv`, read from /proc. */
function runningArgv(argv: string[]): number[] {
  const want = argv.join("\0") + "\0";
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`) === want) out.push(Number(e.name));
    } catch { /* gone */ }
  }
  return out;
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a cmd ready or health probe that starts a background process leaves none behind`, async () => {
    // Sleeps of lengths no other test uses, each found by its exact command line.
    const tag = String(Date.now() % 100000).padStart(5, "0");
    const [ready, health, failing] = ["594", "593", "595"].map((s) => ["sleep", `${s}.${tag}`]);
    const bg = (argv: string[], then: string) => `"${argv.join(" ")} >/dev/null 2>&1 & ${then}"`;
    const dir = await tempDir({
      "jobs.yaml": `
modules:
  m:
    run: sleep 592
    ready: { cmd: ${bg(ready, "true")} }
    health: { cmd: ${bg(health, "true")}, interval: 300ms }
  never:
    run: sleep 592
    ready: { cmd: ${bg(failing, "false")}, interval: 100ms, timeout: 1s }
jobs:
  a: { run: sleep 2, needs: [m] }
  b: { run: 'true', needs: [never] }
`,
    });
    try {
      const r = await runJx(["run", "-k", "--events", "ev.ndjson"], { cwd: dir, runtime: rt });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      assert.equal(ev.find((e) => e.type === "job.end" && e.job === "a")?.status, "ok");
      assert.match(r.stderr, /✗ module never: not ready after 1(\.00)?s/);
      for (const argv of [ready, health, failing]) {
        assert.deepEqual(runningArgv(argv), [], `${argv.join(" ")} outlived its probe`);
      }
    } finally {
      for (const argv of [ready, health, failing]) {
        for (const pid of runningArgv(argv)) Deno.kill(pid, "SIGKILL");
      }
    }
  });
}

Deno.test("restart on real processes: backoff between attempts, a recovery, and a crash loop with its last output", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
modules:
  flaky:
    run: 'n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; [ $n -ge 2 ] && exec sleep 300; exit 3'
    restart: on-failure
    ready: { delay: 100ms }
  crashy:
    run: 'echo "attempt at $(date +%s%N)"; echo "cannot bind" >&2; exit 9'
    restart: always
    max_restarts: 2
    ready: { log: "^listening$" } # never printed: it crashes while starting, however slow the machine
jobs:
  ok: { run: echo flaky recovered, needs: [flaky] }
  doomed: { run: echo never, needs: [crashy] }
`,
  });
  const r = await runJx(["run", "-k", "--events", "ev.ndjson"], { cwd: dir });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /flaky recovered/);
  assert.match(
    r.stdout,
    /── module crashy: FAILED \(exit 9; gave up after 2 restarts\)\nattempt at \d+\ncannot bind\n/,
  );
  assert.equal((r.stdout.match(/attempt at/g) ?? []).length, 1, "only the last attempt's output");
  assert.match(r.stderr, /jx: module crashy: exit 9, restarting in 100ms/);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  const starts = (m: string) => ev.filter((e) => e.module === m && e.state === "starting");
  assert.equal(starts("flaky").length, 3);
  assert.equal(starts("crashy").length, 3);
  const fails = ev.filter((e) => e.module === "crashy" && e.state === "failed");
  assert.deepEqual(fails.map((e) => e.backoff_ms ?? null), [100, 200, null]);
  // Each restart came at least its backoff after the crash before it.
  const s = starts("crashy");
  for (let i = 1; i < s.length; i++) {
    assert.ok(s[i].t - fails[i - 1].t >= (fails[i - 1].backoff_ms as number) - 1);
  }
});

Deno.test("docs/modules.md: the example (a database, an API that needs it, a test) runs with one command", async () => {
  const src = `${ROOT}/examples/modules`;
  const doc = await Deno.readTextFile(`${ROOT}/docs/modules.md`);
  const example = await Deno.readTextFile(`${src}/jobs.yaml`);
  assert.ok(doc.includes(example.trim()), "docs/modules.md shows examples/modules/jobs.yaml whole");
  // A copy, on free ports (two test runs at once must not meet on the example's).
  const files: Record<string, string> = {};
  for (const f of ["db.py", "api.py", "test_api.py"]) {
    files[f] = await Deno.readTextFile(`${src}/${f}`);
  }
  files["jobs.yaml"] = example.replaceAll("54329", String(freePort()))
    .replaceAll("58080", String(freePort()));
  const dir = await tempDir(files);
  const r = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /── test .*\n(.*\n)*all 7 checks passed\n/);
  assert.match(r.stdout, /asked the database to compact its log \(1 subscriber\)/);
  assert.match(r.stdout, /── module db \(stopped\)\n(.*\n)*db: compacted the log to 3 keys\n/);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  assert.deepEqual(moduleStates(ev), [
    "db idle",
    "api idle",
    "db starting",
    "db running",
    "api starting",
    "api running",
    "api stopped", // reverse order: api first,
    "db stopped", // then the database it needs
  ]);
});

for (const runtime of RUNTIMES) {
  Deno.test(`[${runtime}] a module that daemonizes (its leader exits 0, its fork runs on) is running, used, and stopped with its group`, async () => {
    // Without `ready:` (running once its process exists), and with a check the daemon passes.
    const dir = await tempDir({
      "jobs.yaml": `
modules:
  plain:
    run: 'sh -c "echo \\$\\$ > plain.pid; exec sleep 300" >/dev/null 2>&1 </dev/null & exit 0'
  checked:
    run: '(sleep 0.3; echo up > checked.up; echo $$ > checked.pid; exec sleep 300) >/dev/null 2>&1 </dev/null & exit 0'
    ready: { cmd: test -s checked.up }
jobs:
  use:
    run: 'test -s plain.pid && test -s checked.up && echo used'
    needs: [plain, checked]
`,
    });
    const r = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /used/);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    const states = moduleStates(ev);
    for (const m of ["plain", "checked"]) {
      assert.deepEqual(
        states.filter((s) => s.startsWith(`${m} `)),
        [`${m} idle`, `${m} starting`, `${m} running`, `${m} stopped`],
      );
    }
    // jx stopped the daemons: no process of either group is left.
    const pgids = ev.filter((e) => e.type === "module.state" && e.state === "starting" && e.pid)
      .map((e) => Number(e.pid));
    assert.equal(pgids.length, 2);
    assert.deepEqual(inGroups(pgids), [], "a daemon outlived jx");
  });
}

Deno.test("a daemonizing module whose daemon ends by itself is stopped (exit 0); one whose leader fails is failed, its group killed", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
modules:
  brief:
    run: '(sleep 0.5) >/dev/null 2>&1 </dev/null & exit 0'
  broken:
    run: '(echo $$ > broken.pid; exec sleep 300) >/dev/null 2>&1 </dev/null & sleep 0.2; exit 3'
    ready: { delay: 5s }
jobs:
  wait: { run: 'sleep 1', needs: [brief] }
  never: { run: 'true', needs: [broken] }
`,
  });
  const r = await runJx(["run", "-k", "--events", "ev.ndjson"], { cwd: dir });
  assert.equal(r.code, 1, r.stderr + r.stdout);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  const brief = ev.filter((e) => e.module === "brief" && e.type === "module.state");
  assert.deepEqual(brief.map((e) => e.state), ["idle", "starting", "running", "stopped"]);
  assert.equal(brief[3].exit, 0);
  const broken = ev.filter((e) => e.module === "broken" && e.type === "module.state");
  assert.deepEqual(broken.map((e) => e.state), ["idle", "starting", "failed"]);
  assert.deepEqual(inGroups([Number(broken[1].pid)]), []);
});

// ---------------------------------------------------------------------------
// A readiness check another process passes

/** A `python3 -m http.server` on 127.0.0.1:`port` that is not jx's, once it accepts connections. */
async function otherServer(port: number): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("python3", {
    args: ["-m", "http.server", String(port), "--bind", "127.0.0.1"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(20)) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return child;
    } catch { /* not listening yet */ }
  }
  await killAndWait(child);
  throw new Error(`no server on port ${port}`);
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a ready port another process already serves: the module fails unstarted, what needs it is skipped`, async () => {
    const port = freePort();
    const other = await otherServer(port);
    try {
      // Each would bind the port taken (EADDRINUSE) while its check passed on the other server.
      const dir = await tempDir({
        "jobs.yaml": `
modules:
  web:
    run: touch web.started; exec python3 -m http.server ${port} --bind 127.0.0.1
    ready: { tcp: ${port}, timeout: 20s }
  api:
    run: touch api.started; exec python3 -m http.server ${port} --bind 127.0.0.1
    ready: { http: "http://localhost:${port}/", timeout: 20s }
jobs:
  query: { run: touch query.ran, needs: [web] }
  fetch: { run: touch fetch.ran, needs: [api] }
`,
      });
      const r = await runJx(["run", "-k", "--events", "ev.ndjson"], { cwd: dir, runtime: rt });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const web = `port ${port} already answers on localhost before web started: ` +
        "another process serves it";
      const api = `http://localhost:${port}/ already answers before api started: ` +
        `another process serves localhost:${port}`;
      assert.ok(r.stderr.includes(`✗ module web: ${web}\n`), r.stderr);
      assert.ok(r.stderr.includes(`✗ module api: ${api}\n`), r.stderr);
      assert.match(r.stderr, /skipped query: depends on web/);
      assert.match(r.stderr, /skipped fetch: depends on api/);
      for (const f of ["web.started", "api.started", "query.ran", "fetch.ran"]) {
        assert.equal(await Deno.stat(`${dir}/${f}`).then(() => true, () => false), false, f);
      }
      const ev = await readEvents(`${dir}/ev.ndjson`);
      assert.deepEqual(moduleStates(ev).sort(), [
        "api failed",
        "api idle",
        "web failed",
        "web idle",
      ]);
      const reasons = ev.filter((e) => e.state === "failed").map((e) => e.reason).sort();
      assert.deepEqual(reasons, [api, web]);
    } finally {
      await killAndWait(other);
    }
  });
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a ready check passed once the module's processes are gone does not make it ready`, async () => {
    // The leader exits 0 (a daemon), its group's last process (the sleep) ends
    // 250ms later, and only then (at the end of the pipe it wrote) does a
    // process out of the group (setsid) create the file the check looks for:
    // before jx sees the group empty (checked every 200ms), the check passes on
    // another process's work. Without output to jx, so that the leader's exit
    // is seen at once.
    const dir = await tempDir({
      "jobs.yaml": `
modules:
  gone:
    run: "sleep 0.25 2>/dev/null | setsid sh -c 'cat; echo up > ready.flag' >/dev/null 2>&1 & exit 0"
    ready: { cmd: test -s ready.flag, interval: 10ms, timeout: 10s }
jobs:
  use: { run: touch use.ran, needs: [gone] }
`,
    });
    const r = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /✗ module gone: exited before it was ready \(exit 0\)\n/);
    await waitForFile(`${dir}/ready.flag`);
    assert.equal(await Deno.stat(`${dir}/use.ran`).then(() => true, () => false), false);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.deepEqual(moduleStates(ev), ["gone idle", "gone starting", "gone failed"]);
  });
}

/** A module of `yaml` on a real reactor, in `dir`, and the states it goes through. */
function realModule(yaml: string, dir: string) {
  const g = parseJobsFile(yaml, `${dir}/jobs.yaml`, { baseDir: dir });
  const reactor = createReactor("portable");
  const states: string[] = [];
  const m = new Module(g.get("m"), {
    reactor,
    emit: (e) => e.type === "module.state" && states.push(e.state),
    t: () => 0,
    env: () => ({ PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" }),
    closing: () => false,
    changed: () => {},
  });
  return { m, reactor, states };
}

Deno.test("a stop while the port is probed before the start: stopped, no process started", async () => {
  // A listener that accepts and never answers: the http probe waits (up to 2s).
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) conns.push(c);
  })();
  const dir = await tempDir();
  const { m, reactor, states } = realModule(
    `modules:\n  m: { run: touch started; sleep 30, ready: { http: "http://127.0.0.1:${port}/" } }\n`,
    dir,
  );
  try {
    m.start();
    assert.equal(m.live, true, "a start on its way");
    assert.throws(() => m.start(), /has a process, or one on its way/);
    const settled = new Promise<string>((r) => m.onSettled(r));
    while (conns.length === 0) await sleep(5);
    await m.stop(false);
    assert.equal(await settled, "cancelled");
    assert.deepEqual(states, ["stopped"]);
    assert.equal(m.live, false);
    assert.equal(m.attempt, 0);
    await sleep(100);
    assert.equal(await Deno.stat(`${dir}/started`).then(() => true, () => false), false);
  } finally {
    reactor.close();
    listener.close();
    for (const c of conns) c.close();
    await accepting.catch(() => {});
  }
});

Deno.test("an http ready check's port that answers, but not 2xx, before the start does not stop it", async () => {
  // As a proxy in front of the module would (502 until it is up): its check cannot pass yet.
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("no", { status: 502 }),
  );
  const dir = await tempDir();
  const url = `http://127.0.0.1:${server.addr.port}/health`;
  const { m, reactor, states } = realModule(
    // Time for a probe to get its answer on a loaded machine (its last one is the reason).
    `modules:\n  m: { run: sleep 30, ready: { http: "${url}", timeout: 3s } }\n`,
    dir,
  );
  try {
    m.start();
    assert.equal(await new Promise<string>((r) => m.onSettled(r)), "failed");
    assert.deepEqual(states, ["starting", "failed"]);
    assert.equal(m.attempt, 1);
    assert.equal(m.reason, `not ready after 3.00s: http ${url} (last: HTTP 502)`);
    await m.whenGone();
  } finally {
    reactor.close();
    await server.shutdown();
  }
});

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] an http ready check on a port nobody listens on: the last reason worded alike`, async () => {
    // Deno gave its fetch's whole sentence ('error sending request for url (...): client error
    // (Connect): tcp connect error: Connection refused (os error 111)'), Bun its own.
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const dir = await tempDir({
      "jobs.yaml": `modules:\n  h:\n    run: exec sleep 30\n` +
        `    ready: { http: "http://127.0.0.1:${port}/", timeout: 0.5s }\n` +
        `jobs:\n  d: { needs: [h], run: echo d }\n`,
    });
    const r = await runJx(["run"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /✗ module h: not ready after [\d.]+m?s: http \S+ \(last: ECONNREFUSED\)\n/,
    );
  });
}

Deno.test("a daemonized module that outlives its stop signal: the SIGKILL after the grace reaches the groups below it too", async () => {
  // The daemon ignores TERM; below it, a process in a session of its own (as a nested jx's job):
  // the group's SIGKILL did not reach it, and it outlived jx.
  const dir = await tempDir({
    "jobs.yaml": `
modules:
  stubborn:
    run: >-
      (trap '' TERM; setsid sleep 300 >/dev/null 2>&1 </dev/null & echo $! > inner.pid;
      while :; do sleep 0.05; done) >/dev/null 2>&1 </dev/null & exit 0
    stop: { signal: TERM, grace: 300ms }
jobs:
  use: { run: 'while ! test -s inner.pid; do sleep 0.05; done', needs: [stubborn] }
`,
  });
  const r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const inner = Number(await Deno.readTextFile(`${dir}/inner.pid`));
  const gone = await goneWithin(inner);
  if (!gone) Deno.kill(inner, "SIGKILL");
  assert.ok(gone, "the process below the module's group outlived jx");
});

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a ready log pattern that backtracks for ever in JavaScript's engine (^(\\w+\\s?)*$ on 3,000 letters and a !) does not freeze jx`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
modules:
  srv:
    run: printf '%03000d!\\n' 0 | tr 0 a; echo "ready to serve"; sleep 300
    ready: { log: '^(\\w+\\s?)*$', timeout: 60s }
jobs:
  use: { run: echo used, needs: [srv] }
`,
    });
    // Killed after 60 s: jx on the main thread inside the match answers no signal.
    const [cmd, argv] = jxCommand(rt, ["run", "--output", "quiet", "--events", "ev.ndjson"]);
    const out = await new Deno.Command("timeout", {
      args: ["-s", "KILL", "60", cmd, ...argv],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.deepEqual(moduleStates(ev), ["srv idle", "srv starting", "srv running", "srv stopped"]);
    assert.ok(ev.some((e) => e.type === "job.end" && e.job === "use" && e.status === "ok"));
  });
}
