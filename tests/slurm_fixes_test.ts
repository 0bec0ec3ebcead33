/**
 * lib/slurm's reading of Slurm's texts, with texts as a real Slurm 22.05 wrote them (the
 * cluster of tools/slurm/start.sh): salloc's lines while it waits, sinfo's partitions, and
 * whose line of a step's stderr is srun's and whose the job's. tests/e2e/slurm_test.ts and
 * slurm_run_test.ts check the same on a running cluster.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  allocationId,
  allocationIds,
  exitStatus,
  gateScript,
  openSlurm,
  SrunStderr,
  stepArgv,
  stepEnv,
  stepExit,
} from "../lib/slurm/mod.ts";
import { partitionsOf } from "../lib/slurm/preflight.ts";
import { createReactor } from "../lib/reactor/mod.ts";
import {
  alive,
  jxCommand,
  readEvents,
  type Runtime,
  RUNTIMES,
  sleep,
  stateOf,
  tempDir,
} from "./helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feeds `chunks` to a new SrunStderr, ends it with srun's exit `code`: the job's stderr. */
function read(
  chunks: (string | Uint8Array)[],
  code: number | null,
  signal: string | null = null,
  signalled = false,
  spare = false,
) {
  const f = new SrunStderr();
  f.signalled = signalled;
  Object.assign(f, { spare }); // (a spare step's stderr: what SrunStep sets)
  const out: Uint8Array[] = [];
  for (const c of chunks) {
    const got = f.feed(typeof c === "string" ? enc.encode(c) : c);
    if (got) out.push(got.slice());
  }
  const srun = { code, signal };
  const rest = f.flush(srun);
  if (rest) out.push(rest);
  const bytes = new Uint8Array(out.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of out) bytes.set(c, at), at += c.length;
  return { bytes, text: dec.decode(bytes), exit: stepExit(srun, f), f };
}

const MARK = "\x1ejx-slurm-step 7.3\n";

Deno.test("salloc that waits: Pending then Granted is a grant, both ids seen", () => {
  const text =
    "salloc: Pending job allocation 12\nsalloc: job 12 queued and waiting for resources\n" +
    "salloc: job 12 has been allocated resources\nsalloc: Granted job allocation 12\n";
  assert.deepEqual(allocationId(text), { id: "12", granted: true });
  assert.deepEqual(allocationId("salloc: Pending job allocation 12\n"), {
    id: "12",
    granted: false,
  });
  assert.deepEqual(allocationIds(text), ["12"]);
});

Deno.test("sinfo: the default partition by name, its CPUs also under ''", () => {
  const p = partitionsOf("main* 0/2/0/2\nlong 0/8/0/8\n");
  assert.deepEqual([p.default, p.cpus.get(""), p.cpus.get("main"), p.cpus.get("long")], [
    "main",
    2,
    2,
    8,
  ]);
});

Deno.test("srun's end lines are srun's only when srun's exit says so", () => {
  // The task exits 3: srun's line (amid the task's last output) says so and is taken out.
  const bad = read([MARK, "a\nsrun: error: localhost: task 0: Exited with exit code 3\nb\n"], 3);
  assert.deepEqual([bad.text, bad.exit.code, bad.exit.reason], ["a\nb\n", 3, undefined]);
  // A nested srun failed, the job recovered and exits 0: the line is the job's.
  const nested = "srun: error: localhost: task 0: Exited with exit code 1\n";
  const rec = read([MARK, nested], 0);
  assert.deepEqual([rec.text, rec.exit.code], [nested, 0]);
  // The job prints srun's words with another code and exits 0: its line, shown, exit 0.
  const fake = "srun: error: n1: task 0: Exited with exit code 4\n";
  const f = read([MARK, fake], 0);
  assert.deepEqual([f.text, f.exit.code], [fake, 0]);
  // The job prints the line, then fails with exit 4: srun adds its own; one of two is srun's.
  const both = read([MARK, fake, "srun: error: localhost: task 0: Exited with exit code 4\n"], 4);
  assert.deepEqual([both.text, both.exit.code], [fake, 4]);
  // A signal line is srun's when srun exits 128+N.
  const segv = read([MARK, "srun: error: localhost: task 0: Segmentation fault\n"], 139);
  assert.deepEqual([segv.text, segv.exit.code, segv.exit.signal], ["", null, "SIGSEGV"]);
  const said = "srun: error: localhost: task 0: Segmentation fault\n";
  const notSegv = read([MARK, said], 0);
  assert.deepEqual([notSegv.text, notSegv.exit.signal], [said, null]);
  // The task's mark lost (killed right after it, on a loaded node: seen once in CI): srun's end
  // lines are judged the same, never passed on as the job's.
  const lost = read([said], 139);
  assert.deepEqual([lost.text, lost.exit.code, lost.exit.signal], ["", null, "SIGSEGV"]);
  const lostExit = read(["srun: error: localhost: task 0: Exited with exit code 3\n"], 3);
  assert.deepEqual([lostExit.text, lostExit.exit.code], ["", 3]);
  // Held before any mark but not confirmed by srun's exit: still Slurm's (no job wrote it),
  // shown and said as any line before a mark, its words the step's reason.
  const oom = "srun: error: n1: task 0: Out Of Memory\n";
  const unconfirmed = read([oom], 1);
  assert.deepEqual([unconfirmed.text, unconfirmed.exit.code, unconfirmed.exit.reason], [
    oom,
    1,
    "n1: task 0: Out Of Memory",
  ]);
  assert.deepEqual([unconfirmed.f.said, unconfirmed.f.before], [[oom.trim()], [oom.trim()]]);
  const killedExit = read(["srun: error: n1: task 0: Exited with exit code 3\n"], null, "SIGKILL");
  assert.deepEqual(
    [killedExit.exit.signal, killedExit.exit.reason],
    ["SIGKILL", "n1: task 0: Exited with exit code 3"],
  );
  // Slurm's other lines before a mark are said, as before.
  const before = read(["srun: error: Unable to create step for job 9: Timeout\n"], 1);
  assert.deepEqual(before.f.said, ["srun: error: Unable to create step for job 9: Timeout"]);
});

Deno.test("a job's lines about other jobs are not Slurm's: no lost allocation, no node failure", () => {
  const other = "srun: error: Unable to confirm allocation for job 99: Invalid job id specified\n";
  const node = "srun: error: Node failure on n9\n";
  const r = read([MARK, other, node], 1);
  assert.equal(r.text, other + node);
  assert.deepEqual([r.f.before, r.f.said, r.exit.nodeFailure, r.exit.code], [[], [], undefined, 1]);
  // Before the step ran, the same line is srun's own.
  const early = read([other], 1);
  assert.deepEqual(early.f.before, [other.trim()]);
  // A CANCELLED line naming another step is the job's.
  const cancel =
    "slurmstepd-localhost: error: *** STEP 99.1 ON localhost CANCELLED AT 2026-12-05T08:59:55 ***\n";
  const c = read([MARK, cancel], 0);
  assert.deepEqual([c.text, c.f.said], [cancel, []]);
});

Deno.test("the job's last stderr without a newline: srun's end line glued to it is still srun's", () => {
  // As Slurm 22.05 wrote them (`printf 'about to crash' >&2; kill -SEGV $$`, and so on): srun's
  // line right after the task's unfinished one, in the same chunk or the next.
  const segv = read([
    MARK,
    "about to crash",
    "srun: error: localhost: task 0: Segmentation fault\n",
  ], 139);
  // Before: the job exited 139 (not killed by SIGSEGV), srun's words in its output.
  assert.deepEqual([segv.text, segv.exit.code, segv.exit.signal], [
    "about to crash",
    null,
    "SIGSEGV",
  ]);
  const e3 = read([MARK, "err no eolsrun: error: localhost: task 0: Exited with exit code 3\n"], 3);
  assert.deepEqual([e3.text, e3.exit.code, e3.exit.reason], ["err no eol", 3, undefined]);
  // A timeout's (or Ctrl-C's) cancel of this very step: jx's own, dropped as on a line of its own.
  const cancel =
    "slurmstepd-localhost: error: *** STEP 7.3 ON localhost CANCELLED AT 2026-12-06T07:00:02 ***\n";
  const killed = "srun: error: localhost: task 0: Killed\n";
  const to = read([MARK, "waiting", cancel, killed], 137, null, true);
  assert.deepEqual([to.text, to.exit.code, to.exit.signal], ["waiting", null, "SIGKILL"]);
  // Someone else's cancel of this step (jx sent it nothing): Slurm's line is shown.
  const other = read([MARK, "waiting\n", cancel, killed], 137);
  assert.deepEqual([other.text, other.exit.signal], ["waiting\n" + cancel, "SIGKILL"]);
  // Progress with carriage returns, then a time limit: the job's bytes, then Slurm's line kept.
  const limit = cancel.replace(" ***\n", " DUE TO TIME LIMIT ***\n");
  const bar = read(
    [MARK, "10%\r20%\r" + limit, "srun: error: localhost: task 0: Terminated\n"],
    143,
  );
  assert.deepEqual([bar.text, bar.exit.signal], ["10%\r20%\r" + limit, "SIGTERM"]);
  assert.match(bar.exit.reason!, /DUE TO TIME LIMIT/);
  // The job's own line quoting srun, mid-line, that srun's exit does not confirm: the job's, whole.
  const quoted = "log: srun: error: n1: task 0: Exited with exit code 4\n";
  const q = read([MARK, quoted], 0);
  assert.deepEqual([q.text, q.exit.code], [quoted, 0]);
});

Deno.test("a step Slurm refused before it ran: no exit code of the job's, srun's words its error", () => {
  // As srun 22.05 says them for `slurm: {time: bogus}` (exit 255), `args: [--no-such-option]`
  // (255) and a step in an allocation the controller cannot confirm (1).
  const cases: [string, number, string][] = [
    ["srun: error: Invalid --time specification\n", 255, "Invalid --time specification"],
    [
      "srun: unrecognized option '--no-such-option'\nTry \"srun --help\" for more information\n",
      255,
      "unrecognized option '--no-such-option'",
    ],
    [
      "srun: error: Unable to confirm allocation for job 91: Unable to contact slurm controller (connect failure)\n",
      1,
      "Unable to confirm allocation for job 91: Unable to contact slurm controller (connect failure)",
    ],
  ];
  for (const [said, code, error] of cases) {
    const r = read([said], code);
    // Before: exit 255 (or 1), srun's, as if the job had exited so ("FAILED (exit 255)").
    assert.deepEqual([r.exit.code, r.exit.signal, exitStatus(r.exit).error], [null, null, error]);
  }
  // The task ran, its mark lost, and srun reported its end: that exit is the job's, as before.
  const lost = read(["srun: error: n1: task 0: Out Of Memory\n"], 1);
  assert.equal(lost.exit.code, 1);
});

Deno.test("a job whose directory is not on the node could not start (Slurm would run it in /tmp)", async () => {
  // On a node that lacks the job's directory, slurmstepd says so and runs the task in /tmp
  // (measured, Slurm 22.05, a project dir in a mount namespace the node did not see): the job
  // ran there, srun exited 0 and the job was `ok`, its outputs in the node's /tmp.
  const chdir = "slurmstepd-n1: error: couldn't chdir to `/no/such/dir': No such file or " +
    "directory: going to /tmp instead\n";
  const tmp = await tempDir(); // the node's /tmp
  const job = ["/bin/sh", "-c", "touch out.txt", "j"];
  const run = (argv: string[]) => {
    const out = new Deno.Command(argv[0], {
      args: argv.slice(1),
      cwd: tmp,
      env: { PATH: Deno.env.get("PATH")!, SLURMD_NODENAME: "n1" },
      clearEnv: true,
    }).outputSync();
    return { code: out.code, stderr: dec.decode(out.stderr) };
  };
  const why = "the job's directory /no/such/dir is not on node n1; " +
    "it must be on a filesystem the nodes share";
  // A step of its own: what srun runs on the node, run here by sh.
  const argv = stepArgv("12", { name: "j", argv: job, tokens: 1, cwd: "/no/such/dir" });
  const step = run(argv.slice(argv.indexOf("--") + 1));
  assert.equal(step.code, 1, step.stderr);
  const r = read([chdir, chdir, step.stderr], step.code);
  assert.deepEqual([r.exit.code, r.exit.signal, exitStatus(r.exit).error], [null, null, why]);
  assert.doesNotMatch(r.text, /nocwd/);
  // A spare step's script for the same job (the spare itself may run in /tmp too).
  const script = gateScript("/no/such/dir", {}, {}, job)!;
  const spare = run(["/bin/sh", "-c", script]);
  const s = read([MARK, "\x1ejx-slurm-run\n", spare.stderr], spare.code, null, false, true);
  assert.deepEqual([s.exit.code, exitStatus(s.exit).error], [null, why]);
  await assert.rejects(Deno.stat(`${tmp}/out.txt`), "the job never ran in /tmp");
  // Where the directory is, the job runs there as before.
  const here = stepArgv("12", { name: "j", argv: job, tokens: 1, cwd: tmp });
  assert.equal(run(here.slice(here.indexOf("--") + 1)).code, 0);
  await Deno.stat(`${tmp}/out.txt`);
});

Deno.test("a job whose command is not on the node could not start, as a local one", async () => {
  // A job given as an argv whose program is missing: locally "cannot start" (exit null, its
  // error); on the node it was the wrapper's exec failing, exit 127 (a `run:` string's missing
  // command is its shell's 127, on both).
  const tmp = await tempDir();
  const run = (argv: string[]) => {
    const out = new Deno.Command(argv[0], {
      args: argv.slice(1),
      cwd: tmp,
      env: { PATH: "/usr/bin:/bin", SLURMD_NODENAME: "n1" },
      clearEnv: true,
    }).outputSync();
    return { code: out.code, stderr: dec.decode(out.stderr) };
  };
  const why = "cannot start '/no/such/binary' on node n1: not found";
  const argv = stepArgv("12", { name: "j", argv: ["/no/such/binary", "x"], tokens: 1, cwd: tmp });
  const step = run(argv.slice(argv.indexOf("--") + 1));
  const r = read([step.stderr], step.code);
  assert.deepEqual([r.exit.code, exitStatus(r.exit).error, r.text], [null, why, ""]);
  const script = gateScript(tmp, {}, {}, ["/no/such/binary", "x"])!;
  const spare = run(["/bin/sh", "-c", script]);
  const s = read([MARK, "\x1ejx-slurm-run\n", spare.stderr], spare.code, null, false, true);
  assert.deepEqual([s.exit.code, exitStatus(s.exit).error, s.text], [null, why, ""]);
  // A command that is there runs as before; a `run:` string's missing command is the job's 127.
  const ok = stepArgv("12", { name: "j", argv: ["true"], tokens: 1, cwd: tmp });
  assert.equal(run(ok.slice(ok.indexOf("--") + 1)).code, 0);
  const sh = stepArgv("12", {
    name: "j",
    argv: ["/bin/sh", "-c", "nosuchcmd_x"],
    tokens: 1,
    cwd: tmp,
  });
  assert.equal(run(sh.slice(sh.indexOf("--") + 1)).code, 127);
});

Deno.test("stderr split on bytes: not UTF-8 kept as it is, across chunks", () => {
  const bytes = new Uint8Array([0xff, 0xfe, 0x0a, 0xe2, 0x82]);
  const more = new Uint8Array([0xac, 0x0a, 0x80]);
  const r = read([MARK, bytes, more], 0);
  assert.deepEqual([...r.bytes], [0xff, 0xfe, 0x0a, 0xe2, 0x82, 0xac, 0x0a, 0x80]);
});

Deno.test("a step cancelled for its time limit: slurmstepd's line kept in the output", () => {
  const limit =
    "slurmstepd-localhost: error: *** STEP 7.3 ON localhost CANCELLED AT 2026-12-05T08:59:55 DUE TO TIME LIMIT ***\n";
  const r = read([MARK, "start\n", limit, "srun: error: localhost: task 0: Terminated\n"], 143);
  assert.equal(r.text, "start\n" + limit);
  assert.deepEqual([r.exit.code, r.exit.signal], [null, "SIGTERM"]);
  assert.match(r.exit.reason!, /DUE TO TIME LIMIT/);
  // jx's own cancel (no "DUE TO"): dropped as before.
  const own = read([MARK, limit.replace(" DUE TO TIME LIMIT", "")], 137, null, true);
  assert.equal(own.text, "");
});

/**
 * Slurm's commands as scripts: a controller that answers, one partition of 4 CPUs, and a salloc
 * that queues a job (writing its comment where squeue reads it) without naming its id and
 * ignores SIGTERM: a salloc stopped in that window waited for a grant that never came.
 */
const stuckSlurm = () =>
  fakeSlurm((dir) => ({
    scontrol: 'echo "Slurmctld(primary) at fake is UP"',
    sinfo: 'echo "main* 0/4/0/4"',
    // Its pid first (the test waits for `queued`): the same process once it execs the sleep.
    salloc: `echo $$ > ${dir}/salloc.pid; trap '' TERM; ` +
      `for a; do case $a in --comment=*) echo "77 \${a#--comment=}" > ${dir}/queued;; esac; done; ` +
      "exec sleep 600",
    squeue: `cat ${dir}/queued 2>/dev/null; true`,
    scancel: `echo "$@" >> ${dir}/cancelled; rm -f ${dir}/queued`,
    srun: "exit 1",
  }));

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a salloc that does not end on a stop signal is killed after a grace, what it queued cancelled`, async () => {
    const { dir, bin } = await stuckSlurm();
    await Deno.writeTextFile(`${dir}/jobs.yaml`, "jobs:\n  c: { run: touch ran }\n");
    const child = underFakeSlurm(rt, dir, bin, []);
    const queued = async () => await Deno.stat(`${dir}/queued`).then(() => true, () => false);
    for (let i = 0; i < 400 && !await queued(); i++) await sleep(25);
    // By the pid it wrote (a pattern would match another test's processes).
    const salloc = [Number(await Deno.readTextFile(`${dir}/salloc.pid`))].filter((p) => alive(p));
    child.kill("SIGINT");
    // Before, jx waited on salloc for good: ended here after 20 s, so that the test fails.
    const hung = setTimeout(() => child.kill("SIGKILL"), 20_000);
    try {
      const out = await child.output();
      assert.equal(out.code, 130, new TextDecoder().decode(out.stderr));
      assert.match(await Deno.readTextFile(`${dir}/cancelled`), /^-Q 77$/m, "its job cancelled");
      for (const p of salloc) assert.equal(alive(p), false, "salloc is gone");
    } finally {
      clearTimeout(hung);
      for (const p of salloc) if (alive(p)) Deno.kill(p, "SIGKILL");
    }
  });
}

/**
 * `jx run --executor slurm ARGS` in `dir` with the fake Slurm of `bin` first on PATH; its stderr
 * piped, its stdout piped or dropped.
 */
function underFakeSlurm(
  rt: Runtime,
  dir: string,
  bin: string,
  args: string[],
  stdout: "null" | "piped" = "null",
): Deno.ChildProcess {
  const [cmd, argv] = jxCommand(rt, ["run", "--executor", "slurm", ...args]);
  return new Deno.Command(cmd, {
    args: argv,
    cwd: dir,
    env: { PATH: `${bin}:${Deno.env.get("PATH")}` },
    stdout,
    stderr: "piped",
  }).spawn();
}

/** Slurm's commands as scripts (`tools(dir)`: name to body) in DIR/bin; returns DIR and bin. */
async function fakeSlurm(
  tools: (dir: string) => Record<string, string>,
): Promise<{ dir: string; bin: string }> {
  const dir = await tempDir();
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin);
  for (const [name, body] of Object.entries(tools(dir))) {
    await Deno.writeTextFile(`${bin}/${name}`, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }
  return { dir, bin };
}

/**
 * Slurm's commands as scripts again, with an srun that acts as Slurm 22.05's does when it is
 * stopped (SIGTERM) while its step launches: it exits 0 and says nothing (measured on the cluster
 * of tools/slurm/start.sh, several times in 30 tries of three steps stopped 10-30 ms after their
 * srun started; its task had been killed, or still ran). Its spares end when their stdin does.
 */
const launchingSlurm = () =>
  fakeSlurm((dir) => ({
    scontrol: 'echo "Slurmctld(primary) at fake is UP"',
    sinfo: 'echo "main* 0/4/0/4"',
    salloc: 'echo "salloc: Granted job allocation 77" >&2',
    squeue: "true",
    scancel: `echo "$@" >> ${dir}/cancelled`,
    srun: `case " $* " in *" --overlap "*) exec cat >/dev/null;; esac
touch ${dir}/launching
trap 'kill $! 2>/dev/null; exit 0' TERM
sleep 600 & wait`,
  }));

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a job whose srun exits 0 after jx stopped it as it launched: cancelled, not ok`, async () => {
    const { dir, bin } = await launchingSlurm();
    await Deno.writeTextFile(`${dir}/jobs.yaml`, "jobs:\n  c: { run: touch ran }\n");
    const child = underFakeSlurm(rt, dir, bin, ["--events", "ev.ndjson"], "piped");
    const launching = async () => await Deno.stat(`${dir}/launching`).then(() => true, () => false);
    for (let i = 0; i < 400 && !await launching(); i++) await sleep(25);
    child.kill("SIGINT");
    const hung = setTimeout(() => child.kill("SIGKILL"), 30_000);
    try {
      const out = await child.output();
      const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 130, said);
      const end = (await readEvents(`${dir}/ev.ndjson`)).findLast((e) =>
        e.type === "job.end" && e.job === "c"
      )!;
      // Before, srun's 0 was taken for the job's: `ok`, exit 0, for a job that never ran.
      assert.deepEqual([end.status, end.exit, end.signal], ["cancelled", null, "SIGTERM"], said);
      assert.doesNotMatch(said, /1 job ok/);
    } finally {
      clearTimeout(hung);
    }
  });
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] Ctrl-Z on a step whose id jx has not read yet: its own allocation's steps stop and go on`, async () => {
    // The fake srun never says its step's id: jx reaches the step through allocation 77, its own.
    const { dir, bin } = await launchingSlurm();
    await Deno.writeTextFile(`${dir}/jobs.yaml`, "jobs:\n  c: { run: touch ran }\n");
    const child = underFakeSlurm(rt, dir, bin, []);
    const has = async (f: string) => await Deno.stat(`${dir}/${f}`).then(() => true, () => false);
    const said = async () => await Deno.readTextFile(`${dir}/cancelled`).catch(() => "");
    const hung = setTimeout(() => child.kill("SIGKILL"), 30_000);
    try {
      for (let i = 0; i < 400 && !await has("launching"); i++) await sleep(25);
      child.kill("SIGTSTP");
      for (let i = 0; i < 400 && stateOf(child.pid) !== "T"; i++) await sleep(25);
      assert.equal(stateOf(child.pid), "T");
      // Sent and ended before jx stopped itself.
      assert.match(await said(), /^-Q --signal=STOP 77$/m);
      child.kill("SIGCONT");
      for (let i = 0; i < 400 && !/--signal=CONT 77/.test(await said()); i++) await sleep(25);
      assert.match(await said(), /^-Q --signal=CONT 77$/m);
      child.kill("SIGINT");
      assert.equal((await child.output()).code, 130);
    } finally {
      clearTimeout(hung);
    }
  });
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a stop signal while the controller does not answer the checks: jx ends at once`, async () => {
    // A controller that takes the connection and never answers (stopped, overloaded): scontrol
    // ping waits for its timeout (10 s).
    const { dir, bin } = await fakeSlurm((dir) => ({
      scontrol: `echo $$ > ${dir}/pinging; exec sleep 600`,
      sinfo: 'echo "main* 0/4/0/4"',
      salloc: "exit 1",
      squeue: "true",
      scancel: "true",
      srun: "exit 1",
    }));
    await Deno.writeTextFile(`${dir}/jobs.yaml`, "jobs:\n  c: { run: touch ran }\n");
    const child = underFakeSlurm(rt, dir, bin, []);
    const ping = async () => Number(await Deno.readTextFile(`${dir}/pinging`).catch(() => "0"));
    for (let i = 0; i < 400 && !await ping(); i++) await sleep(25);
    const scontrol = await ping();
    assert.ok(scontrol > 0, "scontrol ping ran");
    const t0 = Date.now();
    child.kill("SIGINT");
    try {
      const out = await child.output();
      const ms = Date.now() - t0;
      const said = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 130, said);
      // Before, jx went on waiting for scontrol's 10 s timeout: 9-10 s after the signal.
      assert.ok(ms < 4000, `exited ${ms} ms after SIGINT`);
      assert.match(said, /interrupted \(SIGINT\) while waiting for the allocation/);
      assert.equal(alive(scontrol), false, "scontrol is gone");
    } finally {
      if (alive(scontrol)) Deno.kill(scontrol, "SIGKILL");
    }
  });
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] jx watch with jobs the file sends to Slurm: says it runs them here`, async () => {
    const dir = await tempDir({
      "jobs.yaml": "executor: slurm\njobs:\n  sim: { run: touch ran, writes: [ran] }\n",
    });
    const [cmd, args] = jxCommand(rt, ["watch", "--events", "ev.ndjson"]);
    const child = new Deno.Command(cmd, { args, cwd: dir, stdout: "piped", stderr: "piped" })
      .spawn();
    const hung = setTimeout(() => child.kill("SIGKILL"), 30_000);
    try {
      // The first cycle's line comes once the job ran: then stop the watch.
      const reader = child.stderr.getReader();
      let said = "";
      while (!/watching for changes/.test(said)) {
        const { value, done } = await reader.read();
        if (done) break;
        said += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      child.kill("SIGINT");
      const out = await child.output();
      said += new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 130, said);
      // Before, the job ran here without a word, whatever the file said.
      assert.match(
        said,
        /jx: warning: executor slurm: jx watch runs every job on this machine, also those the jobs file sends to Slurm \(sim\); only jx run runs them on the cluster\n/,
      );
      const start = (await readEvents(`${dir}/ev.ndjson`)).find((e) => e.type === "job.start")!;
      assert.equal(start.executor, "local");
    } finally {
      clearTimeout(hung);
    }
  });
}

Deno.test("a step's environment drops what srun reads for the step's env and I/O", () => {
  const env = {
    PATH: "/bin",
    X: "x",
    // Before: kept; srun then ran the step with no environment (X lost), prefixed every line
    // (and jx's marks) with `0: `, or wrote the output to files or read stdin from one.
    SLURM_EXPORT_ENV: "NONE",
    SLURM_LABELIO: "1",
    SLURM_STDOUTMODE: "/tmp/out",
    SLURM_STDERRMODE: "/tmp/err",
    SLURM_STDINMODE: "/etc/passwd",
    SLURM_OPEN_MODE: "append",
  };
  assert.deepEqual(stepEnv(env, 2), { PATH: "/bin", X: "x", MAKEFLAGS: " -j2" });
});

Deno.test("partitions that share only some nodes: each allocation fits beside the others", async () => {
  // a on n1 and n2, b on n2 only (4 CPUs each). Before: a asked for 4 CPUs (half its 8), b for 2;
  // a's 4 could all be on n2, where b's 2 then waited for ever (a is held to the run's end).
  const { dir, bin } = await fakeSlurm((dir) => ({
    scontrol: 'echo "Slurmctld(primary) at fake is UP"',
    sinfo: `case " $* " in *" -N "*) printf 'n1 a* 4\\nn2 a* 4\\nn2 b 4\\n';; ` +
      `*) printf 'a* 0/8/0/8\\nb 0/4/0/4\\n';; esac`,
    salloc: `echo "$@" >> ${dir}/salloc; n=$(wc -l < ${dir}/salloc); ` +
      'echo "salloc: Granted job allocation 7$n" >&2',
    squeue: "true",
    scancel: "true",
    srun: "exit 1",
  }));
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    "jobs:\n  x: { run: 'true' }\n  y: { run: 'true', slurm: { partition: b } }\n",
  );
  const out = await underFakeSlurm("deno", dir, bin, ["-k", "-j8"]).output();
  assert.equal(out.code, 1, new TextDecoder().decode(out.stderr));
  const asked = (await Deno.readTextFile(`${dir}/salloc`)).trim().split("\n")
    .map((l) => [/--partition=(\S+)/.exec(l)?.[1] ?? "", /--ntasks=(\d+)/.exec(l)?.[1]]);
  assert.deepEqual(asked.sort(), [["", "2"], ["b", "2"]]);
});

Deno.test("jx's marks in a job's own stderr are the job's output, never jx's", () => {
  const nocwd = "\x1ejx-slurm-nocwd n1 /nowhere\n";
  const nocmd = "\x1ejx-slurm-nocmd n1 foo\n";
  const run = "\x1ejx-slurm-run\n";
  // Before: a job printing these bytes 'could not start' (its exit lost), its step id became
  // 99.9, and the lines vanished from its output.
  const own = read([MARK, nocwd, nocmd, "\x1ejx-slurm-step 99.9\n", run], 1);
  assert.equal(own.text, nocwd + nocmd + "\x1ejx-slurm-step 99.9\n" + run);
  assert.deepEqual([own.f.stepId, own.f.cannotStart, own.exit.code], ["7.3", undefined, 1]);
  // The step's own check, before its mark, is jx's.
  const check = read([nocwd], 1);
  assert.deepEqual([check.text, check.f.cannotStart?.startsWith("the job's directory")], [
    "",
    true,
  ]);
  // A spare: its checks follow the run mark; once the job has written a line, a mark is its own.
  const spare = (chunks: string[]) => {
    const f = new SrunStderr();
    Object.assign(f, { spare: true }); // (a spare step: what SrunStep sets)
    let ran = 0;
    f.onRun = () => ran++;
    const text = chunks.map((c) => dec.decode(f.feed(enc.encode(c)) ?? new Uint8Array()));
    return { f, text: text.join(""), ran };
  };
  const gate = spare([MARK, run, nocmd]);
  assert.deepEqual([gate.ran, gate.text, gate.f.cannotStart], [
    1,
    "",
    "cannot start 'foo' on node n1: not found",
  ]);
  const job = spare([MARK, run, "hello\n", nocmd, run]);
  assert.deepEqual([job.ran, job.text, job.f.cannotStart], [1, "hello\n" + nocmd + run, undefined]);
});

Deno.test("a Slurm job's end carries no CPU time: srun's on this machine is not the job's", () => {
  // Before: srun's (a job that burnt 1.5 s of CPU on the node ended with user_ms 7).
  const srun = { code: 0, signal: null, cpu: { userMs: 7, sysMs: 10 } };
  const e = stepExit(srun, new SrunStderr());
  assert.equal(e.cpu, undefined);
  assert.equal(exitStatus({ ...e, ...srun }).cpu, undefined);
});

Deno.test({
  name: "a job's step that Slurm holds back is said after a while, once",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { dir, bin } = await fakeSlurm(() => ({
      scontrol: 'echo "Slurmctld(primary) at fake is UP"',
      sinfo: 'echo "main* 0/4/0/4"',
      salloc: 'echo "salloc: Granted job allocation 77" >&2',
      squeue: "true",
      scancel: "true",
      // The job's step starts a second late (as Slurm held steps back for two minutes after a
      // controller restart, srun saying nothing); spares end with their stdin.
      srun: `case " $* " in *" --overlap "*) exec cat >/dev/null;; esac
sleep 1; printf '\\036jx-slurm-step 77.1\\n' >&2; echo ran`,
    }));
    // (The reactor finds a command on jx's own PATH, as jx run's whole environment has it.)
    const path = Deno.env.get("PATH")!;
    Deno.env.set("PATH", `${bin}:${path}`);
    const reactor = createReactor();
    const said: string[] = [];
    const options = {
      reactor,
      env: { PATH: `${bin}:${path}` },
      cwd: dir,
      cpus: 2,
      stepNoticeMs: 300,
      warn: (m: string) => said.push(m),
    };
    try {
      const s = await openSlurm(options);
      const step = s.start({
        name: "slow",
        argv: ["true"],
        tokens: 2,
        cwd: dir,
        env: {},
        onOutput() {},
        onExit() {},
      });
      const end = await step.done;
      assert.equal(end.code, 0, JSON.stringify(end));
      await s.close();
    } finally {
      Deno.env.set("PATH", path);
      reactor.close();
    }
    // Before: nothing said while the run stood still.
    assert.deepEqual(said.filter((m) => /has not started/.test(m)), [
      "executor slurm: the step of slow has not started 0.3 s after it was sent; Slurm holds it " +
      "back (the steps it counts in the allocation: squeue -s -j 77)",
    ]);
  },
});

Deno.test("an earlier jx's allocation that is completing is not said to be held", async () => {
  const host = Deno.hostname();
  // squeue as Slurm answers it: allocation 12 (of a jx gone) is completing, 13 is running; with
  // -t, only the states asked for. Before: 'allocation 12 ... is still held; release it with:
  // scancel 12' for one cancelled already.
  const { dir, bin } = await fakeSlurm(() => ({
    scontrol: 'echo "Slurmctld(primary) at fake is UP"',
    sinfo: 'echo "main* 0/4/0/4"',
    salloc: 'echo "salloc: Granted job allocation 77" >&2',
    squeue: `case " $* " in *" -n jx "*) ;; *) exit 0;; esac
case " $* " in *" -t "*) ;; *) echo "12 jx pid 2147483640 on ${host}";; esac
echo "13 jx pid 2147483641 on ${host}"`,
    scancel: "true",
    srun: `case " $* " in *" --overlap "*) exec cat >/dev/null;; esac
printf '\\036jx-slurm-step 77.1\\n' >&2`,
  }));
  await Deno.writeTextFile(`${dir}/jobs.yaml`, "jobs:\n  c: { run: 'true' }\n");
  const out = await underFakeSlurm("deno", dir, bin, []).output();
  const said = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, said);
  assert.match(said, /allocation 13 of an earlier jx \(pid 2147483641, gone\) is still held/);
  assert.doesNotMatch(said, /allocation 12 /);
});

Deno.test("a step's stderr of many lines is passed on at the pace of a local job's", () => {
  // 1,500,000 short lines (`seq 1 1500000 >&2`), in 64 KiB chunks. Before: each line decoded and
  // matched on its own, 4.4 us a line (3 million lines: 13 s, a local job's under 1 s); now each
  // chunk with no mark and nothing of srun's passes whole.
  let text = "";
  for (let i = 1; i <= 1_500_000; i++) text += `${i}\n`;
  const all = enc.encode(text);
  const f = new SrunStderr();
  f.feed(enc.encode(MARK));
  const t0 = performance.now();
  let n = 0;
  for (let at = 0; at < all.length; at += 65536) {
    n += f.feed(all.subarray(at, at + 65536))?.length ?? 0;
  }
  const ms = performance.now() - t0;
  assert.equal(n, all.length);
  assert.ok(ms < 1500, `${ms.toFixed(0)} ms`);
  // A chunk with srun's line still goes line by line: its end line held, the rest passed on.
  const end = "srun: error: n1: task 0: Exited with exit code 3\n";
  assert.equal(dec.decode(f.feed(enc.encode(`a\n${end}b\n`))), "a\nb\n");
  assert.equal(f.flush({ code: 3, signal: null }), undefined);
});

Deno.test("an allocation that has a time limit after all is said to have one", async () => {
  // jx asks for no time limit; a partition's DefaultTime gives one all the same (measured: a
  // job of 100 s was cancelled 'DUE TO TIME LIMIT' at 1m26s, nothing said before).
  const { dir, bin } = await fakeSlurm(() => ({
    scontrol: 'echo "Slurmctld(primary) at fake is UP"',
    sinfo: 'echo "main* 0/4/0/4"',
    salloc: 'echo "salloc: Granted job allocation 77" >&2',
    squeue: `case " $* " in *" -j 77 -o %l "*) echo "1:00:00";; esac`,
    scancel: "true",
    srun: `case " $* " in *" --overlap "*) exec cat >/dev/null;; esac
printf '\\036jx-slurm-step 77.1\\n' >&2; sleep 0.5`,
  }));
  await Deno.writeTextFile(`${dir}/jobs.yaml`, "jobs:\n  c: { run: 'true' }\n");
  const out = await underFakeSlurm("deno", dir, bin, []).output();
  const said = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, said);
  assert.match(
    said,
    /executor slurm: allocation 77 has a time limit of 1:00:00 \(the partition's DefaultTime/,
  );
  // A QOS's MaxWall below the partition's limit gives one too (where the cluster enforces
  // limits); SALLOC_TIMELIMIT no longer does (jx does not pass it on): said so.
  assert.match(said, /DefaultTime, or its QOS's MaxWall\)/);
  assert.doesNotMatch(said, /SALLOC_TIMELIMIT/);
});
