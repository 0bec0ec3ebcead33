/**
 * Modules under `jx watch`, with real processes: a module starts once in the
 * first cycle and stays up across cycles, receives `jx.watch.change` before
 * each rerun and `jx.run.end` after each cycle, is restarted (before its
 * dependents run) when its own `reads` change, shows in `jx ctl status`, and
 * is stopped with its whole process group when the watch ends.
 */
import assert from "node:assert/strict";
import {
  inGroups,
  jxCommand,
  type LoggedEvent,
  moduleStates,
  readEvents,
  type Runtime,
  sleep,
  tempDir,
} from "../helpers.ts";

const inGroup = (pgid: number) => inGroups([pgid]);

/** Polls `check` until it returns a value (not undefined), or fails after `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const readLines = async (path: string) =>
  (await Deno.readTextFile(path).catch(() => "")).split("\n").filter((l) => l);

class Session {
  private child: Deno.ChildProcess;
  constructor(private dir: string, private runtime: Runtime) {
    const [cmd, argv] = jxCommand(runtime, ["watch", "--events", "ev.ndjson", "--output", "quiet"]);
    this.child = new Deno.Command(cmd, {
      args: argv,
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
  }
  async events(): Promise<LoggedEvent[]> {
    return await readEvents(`${this.dir}/ev.ndjson`).catch(() => []);
  }
  /** Waits until `n` cycles have ended; returns the events. */
  cycles(n: number): Promise<LoggedEvent[]> {
    return until(`${n} cycles`, async () => {
      const ev = await this.events();
      return ev.filter((e) => e.type === "run.end").length >= n ? ev : undefined;
    });
  }
  /** `jx ctl status --json` against the running watch. */
  async status(): Promise<{ ok: boolean; modules: Record<string, unknown>[] }> {
    const [cmd, argv] = jxCommand(this.runtime, ["ctl", "status", "--json"]);
    const out = await new Deno.Command(cmd, { args: argv, cwd: this.dir, stdin: "null" })
      .output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return JSON.parse(new TextDecoder().decode(out.stdout));
  }
  async stop(signal: Deno.Signal = "SIGINT") {
    this.child.kill(signal);
    const out = await this.child.output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  }
  kill() {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
}

// The module leaves a child in its group (`sleep`), writes its pid, says it is
// up, then appends each message line it receives to got.txt.
const MODULE = `'sleep 300 & echo $$ >> srv.pid; echo up; ` +
  `while read topic msg; do echo "$topic $msg" >> got.txt; done'`;

const JOBS = `
modules:
  srv:
    run: ${MODULE}
    ready: { log: up }
    reads: [conf.txt]
    subscribe: [jx.run.end, jx.watch.change]
    stop: { grace: 2s }
jobs:
  build:
    run: cp src/a.txt out/a
    reads: [src/a.txt, conf.txt]
    writes: [out/a]
    needs: [srv]
`;

const runtimes: Runtime[] = ["deno", "bun"];

for (const runtime of runtimes) {
  Deno.test(`[${runtime}] watch: a module stays up across cycles and hears jx.watch.change and jx.run.end`, async () => {
    const dir = await tempDir({
      "jobs.yaml": JOBS,
      "src/a.txt": "one\n",
      "conf.txt": "port 1\n",
      "out/.keep": "",
    });
    const w = new Session(dir, runtime);
    try {
      await w.cycles(1);
      const st = await w.status();
      assert.equal(st.ok, true);
      const srv = st.modules.find((m) => m.name === "srv")!;
      assert.equal(srv.state, "running");
      const pid = srv.pid as number;
      assert.ok(pid > 0);
      assert.deepEqual(await readLines(`${dir}/srv.pid`), [String(pid)]);

      for (const [n, text] of [[2, "two\n"], [3, "three\n"]] as const) {
        await Deno.writeTextFile(`${dir}/src/a.txt`, text);
        await w.cycles(n);
        assert.equal(await Deno.readTextFile(`${dir}/out/a`), text);
      }
      // One jx.run.end per cycle, and a jx.watch.change (with the path) before each rerun.
      const got = await until("the module's messages", async () => {
        const lines = await readLines(`${dir}/got.txt`);
        return lines.length >= 5 ? lines : undefined;
      });
      await sleep(300); // nothing more should come
      assert.deepEqual(await readLines(`${dir}/got.txt`), got);
      assert.deepEqual(got.map((l) => l.split(" ")[0]), [
        "jx.run.end",
        "jx.watch.change",
        "jx.run.end",
        "jx.watch.change",
        "jx.run.end",
      ]);
      for (const l of got.filter((l) => l.startsWith("jx.watch.change "))) {
        const msg = JSON.parse(l.slice("jx.watch.change ".length));
        assert.deepEqual(msg.paths, ["src/a.txt"]);
        assert.deepEqual(msg.jobs, ["build"]);
      }
      for (const l of got.filter((l) => l.startsWith("jx.run.end "))) {
        assert.deepEqual(JSON.parse(l.slice("jx.run.end ".length)), { status: "ok" });
      }
      // Started once, in the first cycle, before the job; still up.
      const ev = await w.events();
      assert.deepEqual(moduleStates(ev), ["srv idle", "srv starting", "srv running"]);
      const firstJob = ev.findIndex((e) => e.type === "job.start");
      const running = ev.findIndex((e) => e.type === "module.state" && e.state === "running");
      assert.ok(running < firstJob, "the job started after the module was ready");
      assert.equal(ev.filter((e) => e.type === "job.start").length, 3);
      assert.ok(inGroup(pid).length >= 2, "the module and its child run");
      assert.equal((await w.status()).modules[0].pid, pid);

      const { code, stderr } = await w.stop("SIGINT");
      assert.equal(code, 130, stderr);
      assert.deepEqual(inGroup(pid), [], "no process of the module's group is left");
      const end = await w.events();
      assert.deepEqual(moduleStates(end).slice(3), ["srv stopped"]);
      assert.equal(end.at(-1)!.type, "module.state", "stopped after the last cycle ended");
      assert.deepEqual(await readLines(`${dir}/srv.pid`), [String(pid)]);
    } finally {
      w.kill();
      for (const p of (await readLines(`${dir}/srv.pid`)).map(Number)) {
        for (const q of inGroup(p)) Deno.kill(q, "SIGKILL");
      }
    }
  });
}

Deno.test("watch: a change to a module's reads restarts it before its dependents run", async () => {
  const dir = await tempDir({
    "jobs.yaml": JOBS,
    "src/a.txt": "one\n",
    "conf.txt": "port 1\n",
    "out/.keep": "",
  });
  const w = new Session(dir, "deno");
  try {
    await w.cycles(1);
    await Deno.writeTextFile(`${dir}/conf.txt`, "port 2\n");
    const ev = await w.cycles(2);
    const pids = (await readLines(`${dir}/srv.pid`)).map(Number);
    assert.equal(pids.length, 2, "started twice");
    const second = ev.slice(ev.findIndex((e) => e.type === "watch.change"));
    assert.deepEqual(second[0].paths, ["conf.txt"]);
    const order = second.filter((e) => e.type === "module.state" || e.type === "job.start")
      .map((e) => e.type === "job.start" ? `job ${e.job}` : `${e.module} ${e.state}`);
    assert.deepEqual(order, ["srv stopped", "srv starting", "srv running", "job build"]);
    assert.deepEqual(inGroup(pids[0]), [], "the first process group is gone");
    const st = await w.status();
    assert.equal(st.modules[0].pid, pids[1]);
    assert.equal(st.modules[0].attempt, 2);

    const { code, stderr } = await w.stop("SIGTERM");
    assert.equal(code, 143, stderr);
    assert.deepEqual(inGroup(pids[1]), []);
    // Each cycle's line says the module started (it said "nothing to do" when no job ran).
    assert.match(stderr, /^jx watch: first run -> started srv; ran build: ok \(\d+ms\); watching/m);
    assert.match(stderr, /^jx watch: conf\.txt changed -> started srv; ran build: ok \(/m);
  } finally {
    w.kill();
    for (const p of (await readLines(`${dir}/srv.pid`)).map(Number)) {
      for (const q of inGroup(p)) Deno.kill(q, "SIGKILL");
    }
  }
});

Deno.test("watch: a module's log: file under a folder a job reads starts no cycle (jx writes it; it looped a cycle per run end)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
modules:
  m:
    run: 'echo up; while read t msg; do echo "heard $t"; done'
    ready: { log: up }
    subscribe: [jx.run.end]
    log: out/m.log
    stop: { grace: 2s }
jobs:
  j: { run: 'ls out > list.txt', needs: [m], reads: ["out/**"], writes: [list.txt] }
`,
    "out/seed.txt": "x\n",
  });
  const s = new Session(dir, "deno");
  try {
    await s.cycles(1);
    await until("the module heard the run's end", async () => {
      const log = await Deno.readTextFile(`${dir}/out/m.log`).catch(() => "");
      return log.includes("heard jx.run.end") ? true : undefined;
    });
    await sleep(1500); // a cycle the log's write started would have begun and ended by now
    const ev = await s.events();
    assert.equal(
      ev.filter((e) => e.type === "run.end").length,
      1,
      JSON.stringify(ev.map((e) => e.type)),
    );
    // A real edit there still starts one.
    await Deno.writeTextFile(`${dir}/out/new.txt`, "y\n");
    await s.cycles(2);
  } finally {
    await s.stop();
  }
});

Deno.test("watch: a cycle stopped while its job waits for a module says what it did: started the module, nothing ran (not 'nothing to do')", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
modules:
  m: { run: "exec sleep 300", ready: { delay: 10s } }
jobs:
  j: { run: "true", needs: [m], reads: [in.txt] }
`,
    "in.txt": "x\n",
  });
  const s = new Session(dir, "deno");
  try {
    await until("the module starting", async () => {
      const ev = await s.events();
      return ev.some((e) => e.type === "module.state" && e.state === "starting") ? true : undefined;
    });
  } finally {
    const end = await s.stop();
    assert.match(end.stderr, /^jx watch: first run -> started m: interrupted \(\d+ms\)$/m);
  }
});

Deno.test("watch: a cycle's summary names a module that failed as failed, not as a false test", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
modules:
  srv: { run: 'echo "bad conf" >&2; exit 3', ready: { log: up } }
jobs:
  build: { run: "true", needs: [srv] }
`,
  });
  const s = new Session(dir, "deno");
  try {
    await s.cycles(1);
  } finally {
    const end = await s.stop();
    assert.match(end.stderr, /^ {2}✗ module srv: exit 3\n {6}skipped build: depends on srv$/m);
    assert.doesNotMatch(end.stderr, /a test that other jobs need/);
  }
});
