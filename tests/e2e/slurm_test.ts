/**
 * The Slurm layer (lib/slurm) against a real single-node Slurm: the test starts its own
 * cluster with tools/slurm/start.sh (about 1.3 s; its own ports, so test files and workers do
 * not share one) and stops it by pid at the end. Skipped, with a message, when Slurm is not
 * installed (.ci/run installs it).
 *
 * @module
 */
import assert from "node:assert/strict";
import { createReactor, type Reactor } from "../../lib/reactor/mod.ts";
import type { ListenSignal } from "../../lib/reactor/mod.ts";
import {
  gateScript,
  openSlurm,
  SlurmInterrupted,
  SlurmSession,
  type StepExit,
} from "../../lib/slurm/mod.ts";
import { ROOT } from "../helpers.ts";

const HAVE_SLURM = ["slurmctld", "slurmd", "munged", "srun"].every((c) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${c}`], stdout: "null" }).outputSync().success
);
if (!HAVE_SLURM) console.error("slurm_test: slurm-wlm is not installed; skipped");

const dec = new TextDecoder();

/** A cluster of the test's own. */
async function startCluster(cpus: number): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await Deno.makeTempDir({ prefix: "jx-slurm-" });
  const out = await new Deno.Command(`${ROOT}/tools/slurm/start.sh`, {
    args: [dir],
    env: { JX_SLURM_CPUS: String(cpus), JX_SLURM_LIFETIME: "600" },
    stdin: "null",
  }).output();
  if (!out.success) throw new Error(`start.sh failed: ${dec.decode(out.stderr)}`);
  const conf = /SLURM_CONF=(\S+)/.exec(dec.decode(out.stdout))![1];
  return { dir, env: { PATH: Deno.env.get("PATH")!, SLURM_CONF: conf } };
}

/** A Slurm client command, run plainly. */
function slurm(env: Record<string, string>, ...argv: string[]): string {
  const out = new Deno.Command(argv[0], { args: argv.slice(1), env, clearEnv: true }).outputSync();
  return dec.decode(out.stdout) + dec.decode(out.stderr);
}

/** The ids of the spare steps (`jx:spare`) squeue lists. */
function spareSteps(env: Record<string, string>): string[] {
  return slurm(env, "squeue", "-s", "-h", "-o", "%i %j").split("\n")
    .filter((l) => l.endsWith(" jx:spare")).map((l) => l.split(" ")[0]);
}

/** Keeps this thread busy for `ms`: what the reactor would hand over meanwhile piles up. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) { /* busy */ }
}

/** Waits until the blocker job holds the CPUs; gives up (killing it) after 30 s. */
async function blockerRunning(env: Record<string, string>, blocker: Deno.ChildProcess) {
  const until = Date.now() + 30_000;
  while (!/ blocker RUNNING/.test(queue(env))) {
    if (Date.now() > until) {
      blocker.kill("SIGKILL");
      throw new Error(`the blocker never ran: ${queue(env)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What is left of jobs and steps in squeue. */
function queue(env: Record<string, string>): string {
  return (slurm(env, "squeue", "-h", "-o", "%i %j %T") +
    slurm(env, "squeue", "-s", "-h", "-o", "%i"))
    .trim();
}

/**
 * The steps still in `squeue` (jx's spare steps aside), once none is left or
 * after 30 s: a step whose
 * srun has exited may stay listed (COMPLETING) until slurmctld hears from
 * slurmd, which a loaded machine makes take a while.
 */
async function stepsGone(env: Record<string, string>): Promise<string[]> {
  const steps = () =>
    slurm(env, "squeue", "-s", "-h", "-o", "%i %j").split("\n")
      .filter((l) => l.includes(".") && !l.endsWith(" jx:spare"));
  for (const end = Date.now() + 30_000; steps().length && Date.now() < end;) {
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return steps();
}

/**
 * `real` with its signal listeners kept here: `fire` calls them as a signal would (none reaches
 * the test's process), `listening` counts them.
 */
function signalSpy(real: Reactor) {
  const cbs = new Set<{ sig: ListenSignal; cb: () => void }>();
  const reactor = new Proxy(real, {
    get(target, prop) {
      if (prop === "onSignal") {
        return (sig: ListenSignal, cb: () => void) => {
          const l = { sig, cb };
          cbs.add(l);
          return () => cbs.delete(l);
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return {
    reactor,
    listening: () => cbs.size,
    fire: (sig: ListenSignal) => [...cbs].filter((l) => l.sig === sig).forEach((l) => l.cb()),
  };
}

interface Ran {
  exit: StepExit;
  stdout: string;
  stderr: string;
  started?: string;
}

/** Runs one step to its end; `onStart` may act on it (a kill). */
function runStep(
  s: SlurmSession,
  cwd: string,
  run: string,
  more: {
    tokens?: number;
    onStart?: (kill: (sig: string) => void, id: string) => void;
    /** Called with all of the job's stdout so far, each time more comes. */
    onStdout?: (kill: (sig: string) => void, stdout: string) => void;
  } = {},
): Promise<Ran> {
  const r: Ran = { exit: { code: null, signal: null }, stdout: "", stderr: "" };
  return new Promise((done) => {
    const step = s.start({
      name: "t",
      argv: ["/bin/sh", "-c", run],
      tokens: more.tokens ?? 1,
      cwd,
      env: {},
      onStart(id) {
        r.started = id;
        more.onStart?.((sig) => step.kill(sig), id);
      },
      onOutput(stream, chunk) {
        r[stream] += dec.decode(chunk);
        if (stream === "stdout") more.onStdout?.((sig) => step.kill(sig), r.stdout);
      },
      onExit(exit) {
        r.exit = exit;
        done(r);
      },
    });
  });
}

Deno.test("slurm: a spare step's script (gateScript) run by sh", async () => {
  const base = { KEEP: "k", GONE: "g", "odd-name": "o", PATH: Deno.env.get("PATH")! };
  const env = { ...base, V: 'it\'s "two"\nlines', KEEP: "k" } as Record<string, string>;
  delete env.GONE;
  const dir = await Deno.makeTempDir();
  const script = gateScript(dir, env, base, [
    "/bin/sh",
    "-c",
    'echo "$PWD|$V|$KEEP|${GONE-unset}"',
  ]);
  assert.ok(script && !/KEEP=|odd-name/.test(script), String(script)); // only what changed
  const out = new Deno.Command("/bin/sh", { args: ["-c", script], env: base, clearEnv: true })
    .outputSync();
  assert.equal(dec.decode(out.stdout), `${dir}|it's "two"\nlines|k|unset\n`);
  assert.equal(gateScript(dir, { ...env, "a-b": "changed" }, base, ["true"]), undefined);
});

Deno.test({
  name: "slurm: steps in an allocation on a real single-node cluster",
  ignore: !HAVE_SLURM,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { dir, env } = await startCluster(4);
    const reactor: Reactor = createReactor();
    try {
      await steps(t, reactor, dir, env);
    } finally {
      reactor.close();
      await new Deno.Command(`${ROOT}/tools/slurm/stop.sh`, { args: [dir] }).output();
    }
  },
});

async function steps(
  t: Deno.TestContext,
  reactor: Reactor,
  dir: string,
  env: Record<string, string>,
) {
  const warnings: string[] = [];
  const s = await openSlurm({ reactor, env, cwd: dir, cpus: 2, warn: (m) => warnings.push(m) });
  const alloc = s.allocationFor(undefined)!;
  assert.ok(alloc.own);
  assert.deepEqual(alloc.cpus, 2);

  await t.step("output, exit code and the step id", async () => {
    const r = await runStep(s, dir, "echo out; echo err >&2; pwd; exit 3");
    assert.deepEqual(r.exit.code, 3);
    assert.deepEqual(r.exit.signal, null);
    assert.deepEqual(r.stdout, `out\n${dir}\n`);
    // Slurm's own lines and the step mark are taken out: srun's exit line when it comes last, as
    // it does but at load, where srun may write it before the task's own last line (then it is
    // the task's for all jx can tell).
    const srunFirst = "srun: error: localhost: task 0: Exited with exit code 3\nerr\n";
    assert.ok(r.stderr === "err\n" || r.stderr === srunFirst, JSON.stringify(r.stderr));
    assert.match(r.started!, new RegExp(`^${alloc.id}\\.\\d+$`));
    assert.deepEqual(r.exit.stepId, r.started);
    const ok = await runStep(s, dir, "true");
    assert.deepEqual([ok.exit.code, ok.exit.reason], [0, undefined]);
  });

  await t.step(
    "--cpus-per-task is the job's tokens; MAKEFLAGS is a pool of that size",
    async () => {
      await Deno.writeTextFile(`${dir}/Makefile`, 'all:\n\t@echo "flags=$(MAKEFLAGS)"\n');
      const r = await runStep(s, dir, 'echo "cpus=$SLURM_CPUS_PER_TASK"; make -s', { tokens: 2 });
      assert.deepEqual(r.exit.code, 0, r.stderr);
      assert.match(r.stdout, /^cpus=2\n/);
      assert.match(r.stdout, /flags=.*-j2/);
      assert.match(r.stdout, /--jobserver-auth=/); // make made its own pool of 2
      const big = await runStep(s, dir, "true", { tokens: 3 });
      assert.deepEqual(big.exit.code, null);
      assert.match(big.exit.reason!, /needs 3 CPUs; the allocation has 2/);
    },
  );

  await t.step("spare steps: launched ahead, a job runs in one as in its own step", async () => {
    await runStep(s, dir, "true"); // a job started: one spare is launched for the next
    while (s.readySpares === 0) await new Promise((r) => setTimeout(r, 20));
    const spares = spareSteps(env);
    await Deno.mkdir(`${dir}/sub`, { recursive: true });
    const r = await new Promise<Ran>((done) => {
      const out: Ran = { exit: { code: null, signal: null }, stdout: "", stderr: "" };
      s.start({
        name: "in-spare",
        argv: ["/bin/sh", "-c", 'echo "$PWD|$V|$SLURM_CPUS_PER_TASK|$MAKEFLAGS"; cat; exit 4'],
        tokens: 1,
        cwd: `${dir}/sub`,
        env: { V: `it's "quoted"\nand two lines` },
        onStart: (id) => out.started = id,
        onOutput: (st, c) => out[st] += dec.decode(c),
        onExit: (e) => done({ ...out, exit: e }),
      });
    });
    assert.ok(
      spares.includes(r.started!),
      `the job ran in a spare launched before it: ${r.started}`,
    );
    assert.equal(r.stdout, `${dir}/sub|it's "quoted"\nand two lines|1| -j1\n`); // stdin: empty
    assert.deepEqual([r.exit.code, r.exit.stepId, r.stderr], [4, r.started, ""]);
  });

  await t.step("a job in a spare that ends before jx looks again: started first", async () => {
    await runStep(s, dir, "true"); // a job started: spares are kept for the next
    while (s.readySpares === 0) await new Promise((r) => setTimeout(r, 20));
    const order: string[] = [];
    const ended = new Promise<void>((done) => {
      s.start({
        name: "quick",
        argv: ["/bin/sh", "-c", "echo hi"],
        tokens: 1,
        cwd: dir,
        env: {},
        onStart: () => order.push("start"),
        onOutput: () => order.push("output"),
        onExit: () => (order.push("exit"), done()),
      });
    });
    // The thread busy while the job runs and ends: its output, its end and the start's timer
    // are all due in the reactor's next turn.
    busy(1500);
    await ended;
    assert.deepEqual(order, ["start", "output", "exit"]);
  });

  await t.step(
    "a spare that ends before it runs its job: the job runs in a step of its own",
    async () => {
      await runStep(s, dir, "true"); // spares are kept for the next job
      while (s.readySpares === 0) await new Promise((r) => setTimeout(r, 20));
      // Every spare cancelled while the thread is busy: the job below is handed to one whose end
      // jx has not seen yet.
      const cancelled = spareSteps(env);
      for (const id of cancelled) slurm(env, "scancel", "-Q", id);
      // Gone from squeue (slurmctld cancels them in its own time: on a loaded machine, more than
      // a second), and their srun clients given time to end, all with this thread still busy.
      const until = Date.now() + 30_000;
      while (spareSteps(env).some((id) => cancelled.includes(id)) && Date.now() < until) busy(50);
      busy(1000);
      const order: string[] = [];
      const r = await new Promise<Ran>((done) => {
        const out: Ran = { exit: { code: null, signal: null }, stdout: "", stderr: "" };
        s.start({
          name: "orphan",
          argv: ["/bin/sh", "-c", "echo ran"],
          tokens: 1,
          cwd: dir,
          env: {},
          onStart: (id) => (out.started = id, order.push("start")),
          onOutput: (st, c) => (out[st] += dec.decode(c), order.push("output")),
          onExit: (e) => (order.push("exit"), done({ ...out, exit: e })),
        });
      });
      assert.deepEqual([r.exit.code, r.stdout, order], [0, "ran\n", ["start", "output", "exit"]]);
      assert.ok(!cancelled.includes(r.started!), `not a cancelled spare: ${r.started}`);
      assert.ok(
        warnings.some((w) => / ended unused;/.test(w)),
        `handed to a spare first: ${JSON.stringify([warnings, r])}`,
      );
      assert.equal(r.exit.stepId, r.started);
    },
  );

  await t.step("a job killed by a signal on the node ends as a local one", async () => {
    // srun names the signal only when its line ("Segmentation fault", "Terminated") comes
    // before the step's end; on a loaded machine CI saw it not (once each): then all jx has is
    // srun's own exit, 128+N, which a job's `exit 128+N` gives too.
    const killedBy = (e: { code: number | null; signal: string | null }, sig: string, n: number) =>
      e.code === null ? e.signal === sig : e.code === 128 + n;
    const segv = await runStep(s, dir, "kill -SEGV $$");
    assert.ok(killedBy(segv.exit, "SIGSEGV", 11), JSON.stringify(segv.exit));
    assert.deepEqual(segv.stderr, "");
    const term = await runStep(s, dir, "kill -TERM $$");
    assert.ok(killedBy(term.exit, "SIGTERM", 15), JSON.stringify(term.exit));
  });

  await t.step("a timeout's SIGTERM reaches the job through scancel; nothing left", async () => {
    // Slurm signals every process of the step, one kill(2) each, children first
    // (proctrack/linuxproc): `sleep 30 & wait` would let the sleep die first, `wait` return 0
    // and the shell exit 0 before its own SIGTERM came (CI saw it once; 7 in 200 runs here). The
    // loop ends only through the trap, whichever process the signal reaches first; and the
    // signal goes once "up" says the trap is set (200 ms after the start may be before the shell
    // even runs, on a loaded machine).
    let sent = false;
    const job = "trap 'echo term; exit 7' TERM; echo up; while :; do sleep 1 & wait; done";
    const r = await runStep(s, dir, job, {
      onStdout: (kill, out) => {
        if (sent || out !== "up\n") return;
        sent = true;
        kill("SIGTERM");
      },
    });
    assert.deepEqual(r.exit.code, 7);
    assert.deepEqual(r.stdout, "up\nterm\n");
    assert.deepEqual(r.stderr, ""); // the CANCELLED line of our own cancel is not the job's
    const k = await runStep(s, dir, "sleep 30", { onStart: (kill) => kill("SIGKILL") });
    assert.deepEqual([k.exit.code, k.exit.signal], [null, "SIGKILL"]);
    assert.deepEqual(await stepsGone(env), []);
  });

  await t.step("a Slurm failure carries Slurm's reason", async () => {
    const r = await runStep(s, dir, "true", {}).then(() =>
      new Promise<Ran>((done) => {
        const out: Ran = { exit: { code: null, signal: null }, stdout: "", stderr: "" };
        s.start({
          name: "mem",
          argv: ["true"],
          tokens: 1,
          cwd: dir,
          env: {},
          slurm: { gres: "gpu:1" }, // no such resource here
          onOutput: (st, c) => out[st] += dec.decode(c),
          onExit: (e) => done({ ...out, exit: e }),
        });
      })
    );
    assert.ok(r.exit.code !== 0);
    assert.deepEqual(r.started, undefined);
    assert.match(r.exit.reason!, /Invalid generic resource/);
    assert.match(r.stderr, /srun: error: .*Invalid generic resource/); // shown as well
  });

  await t.step("cancel-all at shutdown: nothing of the run left in squeue", async () => {
    const started: string[] = [];
    const ends: Promise<Ran>[] = [];
    for (let i = 0; i < 3; i++) {
      ends.push(runStep(s, dir, "sleep 30", { onStart: (_k, id) => started.push(id) }));
    }
    while (started.length < 2) await new Promise((r) => setTimeout(r, 20));
    await s.close();
    const all = await Promise.all(ends);
    for (const r of all) assert.ok(r.exit.code !== 0, JSON.stringify(r.exit));
    // Cancelled: on a loaded host slurmctld may list the allocation COMPLETING (with its step)
    // for a while after the session's own wait; nothing is left RUNNING or PENDING.
    const left = queue(env);
    for (const line of left.split("\n").filter((l) => l.includes(" "))) {
      assert.match(line, / COMPLETING$/, left);
    }
    for (let i = 0; i < 150 && queue(env) !== ""; i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(queue(env), "");
  });

  await t.step("under an existing allocation: steps in it, the allocation left alone", async () => {
    const got = slurm(env, "salloc", "--no-shell", "--ntasks=2", "--job-name=outer");
    const id = /Granted job allocation (\d+)/.exec(got)?.[1];
    assert.ok(id, got);
    try {
      const inner = await openSlurm({
        reactor,
        env: { ...env, SLURM_JOB_ID: id, SLURM_NTASKS: "2", SLURM_CPUS_ON_NODE: "2" },
        cwd: dir,
        cpus: 8,
      });
      assert.deepEqual(inner.allocationFor(undefined), { id, own: false, cpus: 2 });
      const r = await runStep(inner, dir, 'echo "$SLURM_JOB_ID $SLURM_NTASKS"');
      assert.deepEqual(r.stdout, `${id} 1\n`); // the outer SLURM_NTASKS=2 did not make two tasks
      await inner.close();
      assert.match(queue(env), new RegExp(`^${id} outer RUNNING$`));
    } finally {
      // Always: a failure here must not leave its CPUs held for the next steps.
      slurm(env, "scancel", id);
    }
  });

  await t.step("a pending allocation: said again while it waits, with Slurm's reason", async () => {
    const blocker = new Deno.Command("srun", {
      args: ["-n4", "--job-name=blocker", "sleep", "30"],
      env,
      stdout: "null",
      stderr: "null",
    }).spawn();
    await blockerRunning(env, blocker);
    const said: string[] = [];
    const opening = openSlurm({
      reactor,
      env,
      cwd: dir,
      cpus: 2,
      noticeMs: 300,
      warn: (m) => said.push(m),
    });
    const saidBy = Date.now() + 30_000;
    while (!said.some((w) => /still waiting for allocation \d+ after \d+ s \(reason: /.test(w))) {
      if (Date.now() > saidBy) {
        slurm(env, "scancel", "-n", "blocker");
        throw new Error(`never said it still waits: ${JSON.stringify(said)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    slurm(env, "scancel", "-n", "blocker");
    await blocker.status;
    const got = await opening;
    assert.match(said[0], /waiting for an allocation of 2 CPUs \(job (\d+)\)/);
    assert.equal(got.allocationFor(undefined)!.id, /\(job (\d+)\)/.exec(said[0])![1]);
    await got.close();
    assert.deepEqual(queue(env), "");
  });

  await t.step("an allocation a killed jx left: named at the next open", async () => {
    const host = Deno.readTextFileSync("/proc/sys/kernel/hostname").trim();
    const comment = `--comment=jx pid ${2 ** 22 + 1} on ${host}`;
    const got = slurm(env, "salloc", "--no-shell", "--ntasks=1", "--job-name=jx", comment);
    const id = /Granted job allocation (\d+)/.exec(got)![1];
    const said: string[] = [];
    const s2 = await openSlurm({ reactor, env, cwd: dir, cpus: 1, warn: (m) => said.push(m) });
    const mine = s2.allocationFor(undefined)!.id;
    await s2.close();
    slurm(env, "scancel", id);
    assert.ok(said.some((w) => w.includes(`allocation ${id} of an earlier jx`)), said.join("\n"));
    assert.ok(!said.some((w) => w.includes(`allocation ${mine} of`)), "its own is not one");
  });

  await t.step("clear errors before anything runs", async () => {
    await assert.rejects(
      () => openSlurm({ reactor, env: { ...env, PATH: "/nowhere" }, cwd: dir, cpus: 1 }),
      (e: Error) => e.message.startsWith("executor slurm: srun not found on PATH"),
    );
    const conf = (await Deno.readTextFile(env.SLURM_CONF)).replace(
      /^SlurmctldPort=.*$/m,
      "SlurmctldPort=1",
    );
    await Deno.writeTextFile(`${dir}/down.conf`, conf);
    await assert.rejects(
      () =>
        openSlurm({ reactor, env: { ...env, SLURM_CONF: `${dir}/down.conf` }, cwd: dir, cpus: 1 }),
      (e: Error) => e.message.startsWith("executor slurm: the Slurm controller does not answer"),
    );
    await assert.rejects(
      () => openSlurm({ reactor, env, cwd: dir, cpus: 1, partitions: ["nope"] }),
      (e: Error) =>
        e.message.startsWith("executor slurm: partition 'nope' does not exist (partitions: main)"),
    );
    assert.deepEqual(queue(env), "");
  });

  await t.step("nothing reaches Slurm before the open; the first step opens it", async () => {
    const spy = signalSpy(reactor);
    const lazy = new SlurmSession({ reactor: spy.reactor, env, cwd: dir, cpus: 1 });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual([lazy.ready, spy.listening(), queue(env)], [false, 0, ""]);
    const r = await runStep(lazy, dir, "echo hi");
    assert.deepEqual([r.exit.code, r.stdout, lazy.ready], [0, "hi\n", true]);
    assert.equal(spy.listening(), 0, "listening only while it opened");
    await lazy.close();
    assert.deepEqual(queue(env), "");
  });

  await t.step("a stop signal right at the grant: the open ends, nothing left", async () => {
    const spy = signalSpy(reactor);
    const s2 = new SlurmSession({
      reactor: spy.reactor,
      env,
      cwd: dir,
      cpus: 1,
      onGranted: (id) => {
        assert.match(queue(env), new RegExp(`^${id} jx RUNNING`));
        spy.fire("SIGTERM");
      },
    });
    const step = runStep(s2, dir, "touch ran");
    await assert.rejects(s2.open(), (e) => e instanceof SlurmInterrupted && e.signal === "SIGTERM");
    const r = await step;
    assert.deepEqual([r.exit.code, r.exit.signal, r.started], [null, "SIGTERM", undefined]);
    assert.deepEqual([queue(env), spy.listening()], ["", 0]);
    await assert.rejects(Deno.stat(`${dir}/ran`));
    await s2.close();
  });

  await t.step("holdSignals: listening from the open until the release is over", async () => {
    const spy = signalSpy(reactor);
    const held = new SlurmSession({
      reactor: spy.reactor,
      env,
      cwd: dir,
      cpus: 1,
      holdSignals: true,
      onGranted: () => assert.equal(spy.listening(), 4, "at the grant"),
    });
    assert.equal(spy.listening(), 0, "not before the open");
    await held.open();
    assert.equal(spy.listening(), 4, "after the open");
    const closing = held.close();
    assert.equal(spy.listening(), 4, "while it releases");
    spy.fire("SIGINT"); // heard, not fatal: the release goes on
    await closing;
    assert.deepEqual([held.interrupted, spy.listening(), queue(env)], ["SIGINT", 0, ""]);
  });

  await t.step("closed while the allocation waits: nothing left", async () => {
    const blocker = new Deno.Command("srun", {
      args: ["-n4", "--job-name=blocker", "sleep", "30"],
      env,
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await blockerRunning(env, blocker);
      const said: string[] = [];
      const s4 = new SlurmSession({ reactor, env, cwd: dir, cpus: 2, warn: (m) => said.push(m) });
      const step = runStep(s4, dir, "touch ran");
      while (!said.some((w) => /waiting for an allocation/.test(w))) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await s4.close();
      const r = await step;
      assert.match(r.exit.error!, /closed while it opened/);
      assert.match(queue(env), /^\d+ blocker RUNNING\n\d+\.0$/, "only the blocker is left");
    } finally {
      slurm(env, "scancel", "-n", "blocker");
      await blocker.status;
    }
    await assert.rejects(Deno.stat(`${dir}/ran`));
  });

  // Last: it stops the controller.
  await t.step("the controller gone at the end: a warning names the allocation", async () => {
    const said: string[] = [];
    const s3 = await openSlurm({
      reactor,
      env,
      cwd: dir,
      cpus: 1,
      toolTimeoutMs: 2000,
      warn: (m) => said.push(m),
    });
    const id = s3.allocationFor(undefined)!.id;
    const pid = Deno.readTextFileSync(`${dir}/run/slurmctld.pid`).trim();
    new Deno.Command("kill", { args: ["-TERM", pid] }).outputSync();
    while (/ is UP/.test(slurm(env, "scontrol", "ping"))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await s3.close();
    assert.ok(
      said.some((w) => w.includes(`allocation ${id} may not have been released`)),
      said.join("\n"),
    );
  });
}
