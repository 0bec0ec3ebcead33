/**
 * `jx run --executor slurm` through the real CLI on a real single-node Slurm: the run's
 * semantics (ordering, failures and -k, timeouts, retries, up-to-date, output modes, events,
 * Ctrl-C with nothing left in squeue, preflight errors). One cluster for the file, started by
 * tools/slurm/start.sh and stopped by pid at the end; skipped when Slurm is not installed.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  jxCommand,
  type LoggedEvent,
  readEvents,
  runJx,
  type Runtime,
  spans,
  stateOf,
  tempDir,
  waitForFile,
} from "../helpers.ts";
import {
  allocationsFrom,
  assertReleased,
  dec,
  downConf,
  endOf,
  HAVE_SLURM,
  queue,
  startCluster,
  starts,
  stderrUntil,
  stopCluster,
} from "./slurm_helpers.ts";

Deno.test({
  name: "jx run --executor slurm on a real single-node cluster",
  ignore: !HAVE_SLURM,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { cluster, env } = await startCluster();
    try {
      await cases(t, env, "deno", cluster);
      await cases(t, env, "bun", cluster);
    } finally {
      await stopCluster(cluster);
    }
  },
});

/** `cmd ARGV` started in `cwd` with `env`, its stdout and stderr piped. */
function piped(cmd: string, argv: string[], cwd: string, env: Record<string, string>) {
  return new Deno.Command(cmd, { args: argv, cwd, env, stdout: "piped", stderr: "piped" }).spawn();
}

/**
 * The cases under runtime `rt`: every one under Deno; under Bun (bin/jx's other runtime) all
 * but the up-to-date check, which is runtime-neutral state code.
 */
async function cases(
  t: Deno.TestContext,
  env: Record<string, string>,
  rt: Runtime,
  cluster: string,
) {
  /** `jx run ARGS` in `dir` against the cluster. */
  const jx = (dir: string, env: Record<string, string>, ...args: string[]) =>
    runJx(["run", "--executor", "slurm", "--events", "ev.ndjson", ...args], {
      cwd: dir,
      env,
      runtime: rt,
    });
  /** An allocation of `n` CPUs taken with `salloc --no-shell` (as a user's `salloc` or `sbatch`). */
  const outerAllocation = (n: number, name: string): string => {
    const args = ["--no-shell", `-n${n}`, `--job-name=${name}`];
    const got = dec.decode(new Deno.Command("salloc", { args, env }).outputSync().stderr);
    const id = /Granted job allocation (\d+)/.exec(got)?.[1];
    assert.ok(id, got);
    return id;
  };
  /** A case; `deno`: only under Deno. */
  const step = (name: string, fn: () => Promise<void>, only?: "deno") =>
    only && only !== rt ? Promise.resolve(true) : t.step(`${rt}: ${name}`, fn);
  await step(
    "ordering from reads/writes and needs; events carry executor and slurm_job",
    async () => {
      const dir = await tempDir({
        "jobs.yaml": `
jobs:
  gen: { run: "sleep 0.3; mkdir -p out; echo one > out/gen.h", writes: [out/gen.h] }
  r1: { run: "touch r1.up; sh wait.sh r2.up; cat out/gen.h", reads: [out/*.h] }
  r2: { run: "touch r2.up; sh wait.sh r1.up; cat out/gen.h", reads: [out/*.h] }
  regen: { run: "echo two > out/gen.h", writes: [out/gen.h] }
  after: { run: "echo after", needs: [r1] }
  here: { run: "echo here", executor: local }
`,
        // The two readers run at once: each waits (bounded) for the other to be up.
        "wait.sh": 'for i in $(seq 600); do [ -f "$1" ] && exit 0; sleep 0.05; done; exit 9\n',
      });
      const r = await jx(dir, env, "-j3");
      assert.equal(r.code, 0, r.stderr);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      const s = spans(ev);
      for (const j of ["r1", "r2"]) {
        assert.ok(
          s.get(j)!.start >= s.get("gen")!.end,
          `${j} after gen`,
        );
      }
      // r1 and r2 ran at once: each waited for the other to be up (exit 0 above). Their events'
      // times are when jx read each step's mark, from pipes read in no set order: not compared.
      assert.ok(s.get("regen")!.start >= Math.max(s.get("r1")!.end, s.get("r2")!.end));
      assert.ok(s.get("after")!.start >= s.get("r1")!.end, "needs");
      for (const j of ["gen", "r1", "r2", "regen", "after"]) {
        const [e] = starts(ev, j);
        assert.equal(e.executor, "slurm", j);
        assert.match(String(e.slurm_job), /^\d+\.\d+$/, `${j}: ${JSON.stringify(e)}`);
      }
      const [h] = starts(ev, "here");
      assert.deepEqual([h.executor, h.slurm_job], ["local", undefined]);
      assert.equal(await Deno.readTextFile(`${dir}/out/gen.h`), "two\n");
      assert.match(r.stdout, /── r1 \(.*\)\none\n/);
      // jx ended its run (the summary comes after the allocation is released), not its process.
      assert.match(r.stderr, /^jx: 6 jobs ok in /m, r.stderr);
      await assertReleased(env, r.stderr, "the allocation is released");
    },
  );

  await step("output modes: buffered, stream, quiet", async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  a: { run: "for i in 1 2 3; do echo a$i; done" }
  b: { run: "echo b1 $0; echo b-err >&2" }
`,
    });
    // b's $0 is its name through srun too (sh -c RUN b, as a local job).
    const buf = await jx(dir, env, "-j2");
    assert.equal(buf.code, 0, buf.stderr);
    assert.match(buf.stdout, /── a \(.*\)\na1\na2\na3\n/);
    // srun writes the job's stdout and stderr to two pipes, as a local job does: their
    // relative order is not kept (seen reversed under Bun), each stream's own order is.
    assert.match(buf.stdout, /── b \(.*\)\n(b1 b\nb-err|b-err\nb1 b)\n/);
    assert.doesNotMatch(buf.stdout + buf.stderr, /srun|slurmstepd|jx-slurm-step/);
    const st = await jx(dir, env, "-j2", "--output", "stream");
    assert.equal(st.code, 0, st.stderr);
    for (const l of ["[a]  a1", "[a]  a3", "[b]  b1 b"]) assert.ok(st.stdout.includes(l + "\n"), l);
    assert.ok(st.stderr.includes("[b]! b-err\n"), st.stderr);
    const q = await jx(dir, env, "-j2", "--output", "quiet");
    assert.equal(q.stdout, "");
    assert.match(q.stderr, /jx: 2 jobs ok/);
  });

  await step("a failure: exit code kept, fail fast; -k keeps going", async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  bad: { run: "echo oops >&2; exit 3" }
  after-bad: { run: "true", needs: [bad] }
  slow: { run: "sleep 3" }
  later: { run: "true", needs: [slow] }
`,
    });
    // (slow's 3 s: bad's step, launched beside it on a busy host, once ended after 1 s of sleep.)
    const r = await jx(dir, env, "-j2");
    assert.equal(r.code, 1);
    assert.match(r.stdout + r.stderr, /oops/);
    let ev = await readEvents(`${dir}/ev.ndjson`);
    assert.deepEqual([endOf(ev, "bad").status, endOf(ev, "bad").exit], ["failed", 3]);
    assert.equal(starts(ev, "later").length, 0, "fail fast");
    const k = await jx(dir, env, "-j2", "-k");
    assert.equal(k.code, 1);
    ev = await readEvents(`${dir}/ev.ndjson`);
    assert.equal(endOf(ev, "later").status, "ok");
    assert.ok(ev.some((e) => e.job === "after-bad" && e.reason === "dependency-failed"));
  });

  await step(
    "timeout: SIGTERM reaches the job on the node; retries repeat a failure",
    async () => {
      const dir = await tempDir({
        "jobs.yaml": `
jobs:
  slow:
    # Slurm signals every process of the step, one kill(2) each, children first
    # (proctrack/linuxproc): with 'sleep 30 & wait' the sleep could die first, 'wait' return 0
    # and the shell exit 0 before its own SIGTERM came (CI saw exit 0 twice). The loop ends only
    # through the trap. 4 s, not 1: a step on a busy machine may take a second to reach the trap.
    run: "trap 'echo term; exit 7' TERM; echo up; while :; do sleep 1 & wait; done"
    timeout: 4s
  flaky:
    run: "n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; test $n -ge 2"
    retries: 2
`,
      });
      const r = await jx(dir, env, "-j2", "-k");
      assert.equal(r.code, 1);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      assert.deepEqual([endOf(ev, "slow").status, endOf(ev, "slow").exit], ["timeout", 7]);
      assert.match(r.stdout, /up\nterm\n/);
      assert.equal(starts(ev, "flaky").length, 2);
      assert.equal(endOf(ev, "flaky").status, "ok");
      assert.notEqual(starts(ev, "flaky")[0].slurm_job, starts(ev, "flaky")[1].slurm_job);
      await assertReleased(env, r.stderr);
    },
  );

  await step("up to date on the second run", async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  make: { run: "cat in.txt > out.txt", reads: [in.txt], writes: [out.txt] }
`,
      "in.txt": "x\n",
    });
    const first = await jx(dir, env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(starts(await readEvents(`${dir}/ev.ndjson`), "make").length, 1);
    const second = await jx(dir, env);
    assert.equal(second.code, 0, second.stderr);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.equal(starts(ev, "make").length, 0);
    assert.ok(ev.some((e) => e.job === "make" && e.reason === "up-to-date"));
  }, "deno");

  await step("SIGINT: exit 130, every step and the allocation cancelled", async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  a: { run: "echo up > a.up; sleep 60" }
  b: { run: "echo up > b.up; sleep 60" }
  c: { run: "sleep 60", needs: [a] }
`,
    });
    const [cmd, argv] = jxCommand(rt, ["run", "--executor", "slurm", "-j2"]);
    const child = piped(cmd, argv, dir, env);
    await waitForFile(`${dir}/a.up`, 30_000);
    await waitForFile(`${dir}/b.up`, 30_000);
    assert.notEqual(queue(env), "");
    child.kill("SIGINT");
    const o = await child.output();
    assert.equal(o.code, 130, dec.decode(o.stderr));
    await assertReleased(env, dec.decode(o.stderr), "nothing of the run left in squeue");
  });

  await step("Ctrl-Z: a running step's tasks stop with jx and go on with it", async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  a: { run: "while [ ! -e go ]; do echo x >> c.txt; sleep 0.05; done" }
`,
    });
    const lines = () => {
      try {
        return Deno.readTextFileSync(`${dir}/c.txt`).length;
      } catch {
        return 0;
      }
    };
    const until = async (what: string, ok: () => boolean) => {
      for (const end = Date.now() + 30_000; !ok(); await new Promise((r) => setTimeout(r, 50))) {
        assert.ok(Date.now() < end, what);
      }
    };
    const [cmd, argv] = jxCommand(rt, ["run", "--executor", "slurm", "--events", "ev.ndjson"]);
    const child = piped(cmd, argv, dir, env);
    try {
      await until("the step's first lines", () => lines() > 0);
      child.kill("SIGTSTP");
      await until("jx stopped", () => stateOf(child.pid) === "T");
      // Stopped on its node (Slurm delivers the signal on its own time): no new line for 0.7 s.
      let at = lines(), since = Date.now();
      await until("the step's tasks stopped", () => {
        if (lines() !== at) at = lines(), since = Date.now();
        return Date.now() - since >= 700;
      });
      child.kill("SIGCONT");
      await until("the step going on", () => lines() > at);
      await Deno.writeTextFile(`${dir}/go`, "");
      const o = await child.output();
      assert.equal(o.code, 0, dec.decode(o.stderr));
      const kinds = (await readEvents(`${dir}/ev.ndjson`)).map((e) => e.type);
      assert.deepEqual(kinds.filter((k) => k.startsWith("run.s") || k === "run.resume"), [
        "run.start",
        "run.suspend",
        "run.resume",
      ]);
    } finally {
      try {
        child.kill("SIGCONT");
        child.kill("SIGKILL");
      } catch { /* ended */ }
    }
  });

  await step(
    "node failure: a failed attempt with Slurm's reason; the retry runs in a new allocation",
    async () => {
      const dir = await tempDir({
        "jobs.yaml": `
jobs:
  victim:
    run: "n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; if [ $n = 1 ]; then echo up > up; sleep 60; fi; echo attempt $n"
    retries: 1
  next: { run: "echo next", needs: [victim] }
`,
      });
      const [cmd, argv] = jxCommand(rt, [
        "run",
        "--executor",
        "slurm",
        "--events",
        "ev.ndjson",
      ]);
      const child = piped(cmd, argv, dir, { NO_COLOR: "1", ...env });
      await waitForFile(`${dir}/up`, 30_000);
      // The node fails under the running step: Slurm kills its tasks and ends the allocation
      // (NODE_FAIL); srun says "Node failure on localhost" and exits 0.
      const node = (...a: string[]) =>
        new Deno.Command("scontrol", { args: ["update", "nodename=localhost", ...a], env })
          .outputSync();
      assert.ok(node("state=down", "reason=jx-test").success);
      node("state=resume"); // the cluster as found (ReturnToService=2 may have resumed it)
      const o = await child.output();
      const [stdout, stderr] = [dec.decode(o.stdout), dec.decode(o.stderr)];
      assert.equal(o.code, 0, stdout + stderr);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      const ends = ev.filter((e) => e.type === "job.end" && e.job === "victim");
      assert.deepEqual(ends.map((e) => [e.status, e.retrying]), [["failed", true], [
        "ok",
        undefined,
      ]]);
      // Slurm's reason: srun's "Node failure" line, or (srun at load) only the step's cancel line.
      const reason =
        /(Node failure on localhost|\*\*\* STEP \S+ ON localhost CANCELLED .* NODE FAILURE.*)/;
      assert.match(String(ends[0].error), new RegExp(`^${reason.source}`));
      assert.match(stdout, new RegExp(`\njx: ${reason.source}\n`));
      assert.match(stdout, /── victim \(.*\)\nattempt 2\n/);
      assert.match(
        stderr,
        /executor slurm: allocation \d+ lost \(node failure\); asking for a new one/,
      );
      const [a1, a2] = starts(ev, "victim").map((e) => String(e.slurm_job).split(".")[0]);
      assert.notEqual(a1, a2, "the retry runs in a new allocation");
      assert.equal(String(starts(ev, "next")[0].slurm_job).split(".")[0], a2);
      await assertReleased(env, stderr);
      // The node back to idle: a last allocation may still be completing ("comp") on a loaded
      // machine (CI saw it once, on Bun), so it is waited for, bounded.
      const state = () =>
        dec.decode(
          new Deno.Command("sinfo", { args: ["-h", "-N", "-o", "%t"], env }).outputSync().stdout,
        ).trim();
      for (const end = Date.now() + 30_000; state() === "comp" && Date.now() < end;) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(state(), "idle");
    },
  );

  /** `srun -n4 sleep SECONDS` (every CPU of the cluster) in the background, once running. */
  const blocker = async (seconds: number) => {
    const child = new Deno.Command("srun", {
      args: ["-n4", "--job-name=blocker", "sleep", String(seconds)],
      env,
      stdout: "null",
      stderr: "null",
    }).spawn();
    while (!/ blocker RUNNING/.test(queue(env))) await new Promise((r) => setTimeout(r, 50));
    return child;
  };

  await step(
    "an allocation that must wait: granted later, the run goes on, nothing left",
    async () => {
      const dir = await tempDir({ "jobs.yaml": "jobs:\n  c: { run: echo ran }\n" });
      const held = await blocker(3);
      const r = await jx(dir, env, "-j2", "c");
      await held.status;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /executor slurm: waiting for an allocation of 2 CPUs \(job \d+\)/);
      assert.match(r.stdout, /ran/);
      await assertReleased(env, r.stderr);
    },
    "deno",
  );

  await step("SIGINT while the allocation waits: exit 130, the pending one cancelled", async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs:\n  c: { run: touch ran }\n" });
    const held = await blocker(60);
    try {
      const [cmd, argv] = jxCommand(rt, ["run", "--executor", "slurm", "-j2", "--events", "e"]);
      const child = new Deno.Command(cmd, { args: argv, cwd: dir, env, stderr: "piped" }).spawn();
      const reader = child.stderr.getReader();
      let text = "";
      while (!/waiting for an allocation/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += dec.decode(value);
      }
      child.kill("SIGINT");
      reader.releaseLock();
      const o = await child.output();
      text += dec.decode(o.stderr);
      assert.equal(o.code, 130, text);
      assert.match(queue(env), /^\d+ blocker RUNNING\n\d+\.0$/, "only the blocker is left");
      await assert.rejects(Deno.stat(`${dir}/ran`));
      // As a local job that waits for a slot: skipped (cancelled), never started.
      const ev = (await readEvents(`${dir}/e`)).filter((e) => e.job === "c");
      assert.deepEqual(ev.map((e) => [e.type, e.reason]), [["job.skip", "cancelled"]]);
      assert.match(text, /1 job skipped \(cancelled\)/);
    } finally {
      new Deno.Command("scancel", { args: ["-n", "blocker"], env }).outputSync();
      await held.status;
    }
  });

  await step(
    "a partition whose allocation waits holds back its own jobs only; SIGINT: they never started",
    async () => {
      const scontrol = (...args: string[]) =>
        new Deno.Command("scontrol", { args, env, stdout: "null", stderr: "piped" }).outputSync();
      // A partition that queues jobs and runs none (a GPU queue hours long).
      const made = scontrol("create", "PartitionName=held", "Nodes=localhost", "State=DOWN");
      assert.ok(made.success, dec.decode(made.stderr));
      try {
        const dir = await tempDir({
          "jobs.yaml": `
jobs:
  d1: { run: "echo d1" }
  s: { run: "touch s-ran", slurm: { partition: held } }
  d2: { run: "echo d2", needs: [d1] }
`,
        });
        const [cmd, argv] = jxCommand(rt, ["run", "--executor", "slurm", "-j2", "--events", "e"]);
        const child = new Deno.Command(cmd, { args: argv, cwd: dir, env, stderr: "piped" })
          .spawn();
        const text = stderrUntil(child, /waiting for an allocation/);
        // d2 runs (in the default partition's allocation) while 'held' waits.
        let ev: LoggedEvent[] = [];
        for (let i = 0; i < 200 && !ev.some((e) => e.type === "job.end" && e.job === "d2"); i++) {
          await new Promise((ok) => setTimeout(ok, 100));
          ev = await readEvents(`${dir}/e`).catch(() => []);
        }
        assert.equal(endOf(ev, "d2")?.status, "ok", "d2 ran while held's allocation waited");
        await text;
        child.kill("SIGINT");
        const o = await child.output();
        assert.equal(o.code, 130);
        await assert.rejects(Deno.stat(`${dir}/s-ran`));
        ev = (await readEvents(`${dir}/e`)).filter((e) => e.job === "s");
        assert.deepEqual(ev.map((e) => [e.type, e.reason]), [["job.skip", "cancelled"]]);
        assert.equal(queue(env), "", "nothing of the run left in the queue");
        // A failure (no -k): the job waiting for 'held' is withdrawn, the run ends (it waited
        // for the grant to run after the failure).
        await Deno.writeTextFile(
          `${dir}/jobs.yaml`,
          `jobs:
  bad: { run: "sleep 1; exit 3" }
  s: { run: "touch s-ran", slurm: { partition: held } }
`,
        );
        const [c2, a2] = jxCommand(rt, ["run", "--executor", "slurm", "-j2", "--events", "e"]);
        const f = await new Deno.Command(c2, {
          args: a2,
          cwd: dir,
          env,
          signal: AbortSignal.timeout(60_000),
        }).output();
        assert.equal(f.code, 1, dec.decode(f.stderr));
        ev = (await readEvents(`${dir}/e`)).filter((e) => e.job === "s");
        assert.deepEqual(ev.map((e) => [e.type, e.reason]), [["job.skip", "cancelled"]]);
        await assert.rejects(Deno.stat(`${dir}/s-ran`));
        assert.equal(queue(env), "", "nothing of the run left in the queue");
      } finally {
        scontrol("delete", "PartitionName=held");
      }
    },
    "deno",
  );

  await step(
    "the default partition named by one job and not by another: one allocation",
    async () => {
      const dir = await tempDir({
        "jobs.yaml": `
jobs:
  a: { run: "echo a" }
  b: { run: "echo b", slurm: { partition: main } }
`,
      });
      const r = await jx(dir, env, "-j2");
      assert.equal(r.code, 0, r.stderr);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      const alloc = (j: string) => String(starts(ev, j)[0].slurm_job).split(".")[0];
      assert.equal(alloc("a"), alloc("b"));
      await assertReleased(env, r.stderr);
    },
    "deno",
  );

  await step(
    "two partitions on the same node share its CPUs: each allocation takes its part, no wait for ever",
    async () => {
      const scontrol = (...args: string[]) =>
        new Deno.Command("scontrol", { args, env, stdout: "null", stderr: "piped" }).outputSync();
      const made = scontrol("create", "PartitionName=second", "Nodes=localhost", "State=UP");
      assert.ok(made.success, dec.decode(made.stderr));
      try {
        const dir = await tempDir({
          "jobs.yaml": `
jobs:
  d: { run: "echo d" }
  s: { run: "echo s", slurm: { partition: second } }
`,
        });
        // -j4 on a 4-CPU node: each asked for all 4, the second waited behind the first.
        const r = await jx(dir, env, "-j4");
        assert.equal(r.code, 0, r.stderr);
        const ev = await readEvents(`${dir}/ev.ndjson`);
        assert.deepEqual([endOf(ev, "d").status, endOf(ev, "s").status], ["ok", "ok"]);
        await assertReleased(env, r.stderr);
        // The file's jobs name only 'second': a job made during the run that names none has no
        // allocation (it ran in 'second').
        await Deno.writeTextFile(
          `${dir}/jobs.yaml`,
          `jobs:
  gen:
    run: 'echo "{\\"name\\": \\"g\\", \\"run\\": \\"echo ran\\"}"'
    emits: jobs
    slurm: { partition: second }
`,
        );
        const g = await jx(dir, env, "-j2");
        assert.equal(g.code, 1, g.stdout + g.stderr);
        const gev = await readEvents(`${dir}/ev.ndjson`);
        assert.match(String(endOf(gev, "g").error), /the default partition has no allocation/);
        await assertReleased(env, g.stderr);
        // A partition's allocation is taken when its first job starts: none for a partition
        // whose jobs are all up to date.
        const real = await Deno.realPath(dir);
        await Deno.writeTextFile(
          `${dir}/jobs.yaml`,
          `jobs:
  d: { run: "cat d.in > d.out", reads: [d.in], writes: [d.out] }
  s: { run: "cat s.in > s.out", reads: [s.in], writes: [s.out], slurm: { partition: second } }
`,
        );
        const taken = () =>
          ["main", "second"].map((p) =>
            Deno.readTextFileSync(`${cluster}/log/jobcomp.txt`).split("\n").filter((l) =>
              l.includes(" Name=jx ") && l.includes(` WorkDir=${real} `) &&
              l.includes(` Partition=${p} `)
            ).length
          );
        const runs: [string | undefined, number[]][] = [
          [undefined, [1, 1]],
          ["d.in", [1, 0]],
          ["s.in", [0, 1]],
        ];
        for (const [edit, more] of runs) {
          for (const f of ["d.in", "s.in"]) {
            if (!edit || edit === f) {
              await Deno.writeTextFile(`${dir}/${f}`, `${Math.random()}\n`);
            }
          }
          const had = taken();
          const r = await jx(dir, env, "-j2");
          assert.equal(r.code, 0, r.stderr);
          await assertReleased(env, r.stderr);
          assert.deepEqual(taken().map((n, i) => n - had[i]), more, `edited ${edit}`);
        }
      } finally {
        scontrol("delete", "PartitionName=second");
      }
    },
    "deno",
  );

  await step(
    "a job made during the run that names a partition the run took no allocation for fails saying so",
    async () => {
      const dir = await tempDir({
        "jobs.yaml": `
jobs:
  gen:
    run: 'echo "{\\"name\\": \\"g\\", \\"run\\": \\"echo ran\\", \\"slurm\\": {\\"partition\\": \\"gpu\\"}}"'
    emits: jobs
`,
      });
      const r = await jx(dir, env, "-j2");
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      assert.equal(endOf(ev, "gen").status, "ok");
      assert.equal(endOf(ev, "g").status, "failed");
      assert.match(
        String(endOf(ev, "g").error),
        /partition 'gpu' has no allocation in this run/,
      );
      assert.doesNotMatch(r.stdout, /^ran$/m, "not run in another partition");
      await assertReleased(env, r.stderr);
    },
    "deno",
  );

  await step(
    "a job made during the run that says executor: slurm runs on Slurm though no job of the file does",
    async () => {
      const dir = await tempDir({
        "jobs.yaml": `
jobs:
  gen:
    run: 'echo "{\\"name\\": \\"g\\", \\"run\\": \\"echo in=\\$SLURM_JOB_ID\\", \\"executor\\": \\"slurm\\"}"'
    emits: jobs
`,
      });
      const r = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir, env, runtime: rt });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      assert.equal(starts(ev, "gen")[0].executor, "local");
      assert.equal(starts(ev, "g")[0].executor, "slurm");
      assert.match(r.stdout, /in=\d+/);
      await assertReleased(env, r.stderr);
    },
    "deno",
  );

  await step(
    "a generated job with gres (its own Slurm job) is not refused for want of an allocation; --check-access of a run with generators and no Slurm job says nothing of Slurm",
    async () => {
      const dir = await tempDir({
        "jobs.yaml": `
jobs:
  gen:
    run: 'echo "{\\"name\\": \\"g\\", \\"run\\": \\"echo ran\\", \\"slurm\\": {\\"partition\\": \\"main\\", \\"gres\\": \\"nosuch:1\\"}}"'
    emits: jobs
`,
      });
      const r = await jx(dir, env, "-j2");
      const ev = await readEvents(`${dir}/ev.ndjson`);
      assert.doesNotMatch(String(endOf(ev, "g")?.error), /has no allocation in this run/);
      assert.ok(r.code === 0 || r.code === 1, r.stderr);
      const plain = await tempDir({
        "jobs.yaml":
          `jobs:\n  gen: { run: "echo '{\\"name\\": \\"g\\", \\"run\\": \\"true\\"}'", emits: jobs }\n`,
      });
      const c = await runJx(["run", "--check-access"], { cwd: plain, env, runtime: rt });
      assert.equal(c.code, 0, c.stderr);
      assert.doesNotMatch(c.stderr, /executor slurm/);
    },
    "deno",
  );

  await step("a job's own srun-like stderr is its output, not Slurm's", async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  nested: { run: "srun --jobid=$SLURM_JOB_ID --overlap -n1 -c1 --quiet false || echo recovered; exit 0" }
  fake: { run: "echo 'srun: error: n1: task 0: Exited with exit code 4' >&2; echo done" }
  other: { run: "echo 'srun: error: Unable to confirm allocation for job 99999: Invalid job id specified' >&2; exit 1" }
  after: { run: "echo after", needs: [other] }
`,
    });
    const r = await jx(dir, env, "-j2", "-k");
    assert.equal(r.code, 1, r.stderr);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.deepEqual([endOf(ev, "nested").status, endOf(ev, "nested").exit], ["ok", 0]);
    assert.deepEqual([endOf(ev, "fake").status, endOf(ev, "fake").exit], ["ok", 0]);
    assert.match(r.stdout, /srun: error: n1: task 0: Exited with exit code 4/);
    assert.match(r.stdout, /recovered/);
    assert.deepEqual([endOf(ev, "other").exit, endOf(ev, "other").error], [1, undefined]);
    assert.doesNotMatch(r.stderr, /lost/, "the allocation is not taken for lost");
    await assertReleased(env, r.stderr);
  }, "deno");

  await step("stderr that is not UTF-8 comes through byte for byte", async () => {
    const dir = await tempDir({
      "jobs.yaml": `jobs:\n  b: { run: 'printf "x\\377\\376y\\n" >&2' }\n`,
    });
    const [cmd, argv] = jxCommand(rt, ["run", "--executor", "slurm", "--output", "stream"]);
    const o = await new Deno.Command(cmd, { args: argv, cwd: dir, env }).output();
    assert.equal(o.code, 0, dec.decode(o.stderr));
    const want = [0x78, 0xff, 0xfe, 0x79, 0x0a];
    const at = o.stderr.findIndex((_, i) => want.every((b, k) => o.stderr[i + k] === b));
    assert.ok(at >= 0, JSON.stringify([...o.stderr]));
  }, "deno");

  await step("tokens beyond the allocation: the allocation's CPUs in the message", async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs:\n  big: { run: 'true', tokens: 5 }\n" });
    const r = await jx(dir, env, "-j8");
    assert.equal(r.code, 1);
    assert.match(r.stdout + r.stderr, /the job needs 5 CPUs; the allocation has 4/);
    assert.doesNotMatch(r.stdout + r.stderr, /job slots/);
  }, "deno");

  await step("--check-access: jobs run here, one warning, no allocation", async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  a: { run: 'echo $SLURM_JOB_ID; touch ran' }\n",
    });
    const r = await jx(dir, env, "--check-access");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /--check-access runs the jobs locally; no Slurm allocation taken/);
    assert.doesNotMatch(r.stderr, /waiting|allocation \d+/);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.equal(starts(ev, "a")[0].slurm_job, undefined);
  }, "deno");

  await step(
    "a step cancelled from outside (scancel): Slurm's line shown, the job failed",
    async () => {
      // The job names its own step (the event log may not have its job.start yet).
      const dir = await tempDir({
        "jobs.yaml":
          "jobs:\n  long: { run: 'echo \"up $SLURM_JOB_ID.$SLURM_STEP_ID\"; sleep 60' }\n",
      });
      const [cmd, argv] = jxCommand(rt, [
        "run",
        ...["--executor", "slurm", "--events", "ev.ndjson", "--output", "stream"],
      ]);
      const child = piped(cmd, argv, dir, env);
      let out = "";
      try {
        const said = await stderrUntil(child, /up \d+\.\d+\n/, "stdout");
        const step = /up (\d+\.\d+)\n/.exec(said)![1];
        new Deno.Command("scancel", { args: [step], env }).outputSync();
        const o = await child.output();
        out = said + dec.decode(o.stdout) + dec.decode(o.stderr);
        assert.equal(o.code, 1, out);
        // Slurm's own line, passed on; a step cancelled within a few ms of its first output
        // (a loaded CI) was once ended by Slurm with SIGKILL and no line at all (slurmstepd's):
        // then the job is failed, killed, as jx saw it.
        const line = new RegExp(`\\*\\*\\* STEP ${step} ON \\S+ CANCELLED AT \\S+ \\*\\*\\*`);
        if (!line.test(out)) assert.match(out, /long: FAILED \(killed by SIGKILL/);
        assert.equal(endOf(await readEvents(`${dir}/ev.ndjson`), "long").status, "failed");
      } finally {
        // Never left running (its allocation would stay for the next cases).
        try {
          child.kill("SIGTERM");
          await child.status;
        } catch { /* ended */ }
      }
      await assertReleased(env, out);
    },
    "deno",
  );

  await step(
    "a stale SLURM_JOB_ID (its allocation ended): exit 2 up front, nothing ran",
    async () => {
      const id = outerAllocation(1, "gone");
      new Deno.Command("scancel", { args: [id], env }).outputSync();
      const dir = await tempDir({ "jobs.yaml": "jobs:\n  a: { run: 'touch ran' }\n" });
      for (const stale of [id, "99999999"]) {
        const r = await jx(dir, { ...env, SLURM_JOB_ID: stale }, "-j2");
        assert.equal(r.code, 2, r.stderr);
        assert.match(
          r.stderr.trim().split("\n").at(-1)!,
          new RegExp(`^jx: executor slurm: SLURM_JOB_ID=${stale} names no running allocation \\(`),
        );
      }
      await assert.rejects(Deno.stat(`${dir}/ran`));
    },
    "deno",
  );

  await step(
    "under an existing allocation -j still bounds the jobs at once; an interactive job runs here",
    async () => {
      const id = outerAllocation(2, "outer");
      try {
        const dir = await tempDir({
          "jobs.yaml": "jobs:\n" +
            [1, 2, 3].map((i) => `  j${i}: { run: "sleep 0.3" }\n`).join("") +
            "  inter: { run: 'read a; echo \"got=$a\"', interactive: true }\n",
        });
        const r = await jx(dir, { ...env, SLURM_JOB_ID: id, SLURM_CPUS_ON_NODE: "2" }, "-j1");
        assert.equal(r.code, 0, r.stderr);
        const ev = await readEvents(`${dir}/ev.ndjson`);
        const s = [...spans(ev)].filter(([j]) => j !== "inter").map(([, v]) => v)
          .sort((a, b) => a.start - b.start);
        for (let i = 1; i < s.length; i++) assert.ok(s[i].start >= s[i - 1].end, "one at a time");
        assert.equal(starts(ev, "inter")[0].executor, "local");
        assert.match(r.stderr, /executor slurm: inter: interactive, run on this machine/);
      } finally {
        new Deno.Command("scancel", { args: [id], env }).outputSync();
      }
    },
    "deno",
  );

  await step(
    "under an existing allocation and no -j, its CPUs bound the jobs, not this machine's count",
    async () => {
      const id = outerAllocation(4, "outer4");
      try {
        // The 4-CPU allocation from a machine of fewer CPUs (2 in CI): four at once, and a job
        // of 3 tokens is no "-j is 2" at load. Each job waits (bounded) for the four to be up,
        // not 2 s: a step launched late on a loaded machine started after another's end.
        const dir = await tempDir({
          "jobs.yaml": "jobs:\n" +
            [1, 2, 3, 4].map((i) => `  j${i}: { run: "touch j${i}.up; sh wait4.sh" }\n`).join("") +
            "  wide: { run: 'echo wide', tokens: 3, needs: [j1, j2, j3, j4] }\n",
          "wait4.sh": "for i in $(seq 600); do [ $(ls *.up | wc -l) -ge 4 ] && exit 0; " +
            "sleep 0.05; done; exit 9\n",
        });
        const r = await jx(dir, { ...env, SLURM_JOB_ID: id });
        assert.equal(r.code, 0, r.stderr);
        const ev = await readEvents(`${dir}/ev.ndjson`);
        const s = [...spans(ev)].filter(([j]) => j !== "wide").map(([, v]) => v);
        assert.equal(s.length, 4);
        const lastStart = Math.max(...s.map((v) => v.start));
        assert.ok(lastStart < Math.min(...s.map((v) => v.end)), "all four at once");
        assert.equal(endOf(ev, "wide").status, "ok");
        // A -j given still bounds them.
        const one = await jx(dir, { ...env, SLURM_JOB_ID: id }, "-j1", "--force");
        assert.equal(one.code, 2, one.stderr);
        assert.match(one.stderr, /tokens: needs 3 job slots but -j is 1/);
      } finally {
        new Deno.Command("scancel", { args: [id], env }).outputSync();
      }
    },
    "deno",
  );

  await step("a --trace that cannot be written: exit 2, no allocation taken or left", async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs:\n  a: { run: 'touch ran' }\n" });
    const r = await jx(dir, env, "--trace", "/no/such/folder/t.json");
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot write the trace/);
    assert.doesNotMatch(r.stderr, /allocation/);
    await assertReleased(env, r.stderr, "no allocation");
  }, "deno");

  await step(
    "Slurm cannot run a job: the reason as the last line, exit 2, nothing ran",
    async () => {
      const dir = await tempDir({
        "jobs.yaml": `
jobs:
  a: { run: "touch ran", slurm: { partition: nosuch } }
`,
      });
      const r = await jx(dir, env);
      assert.equal(r.code, 2, r.stderr);
      const last = r.stderr.trim().split("\n").at(-1);
      assert.equal(
        last,
        "jx: executor slurm: partition 'nosuch' does not exist (partitions: main)",
      );
      let ev = await readEvents(`${dir}/ev.ndjson`);
      assert.match(String(endOf(ev, "a").error), /^executor slurm: partition 'nosuch' does not/);
      assert.deepEqual([ev.at(-1)!.type, ev.at(-1)!.exit], ["run.end", 2]);
      const down = await jx(dir, { ...env, SLURM_CONF: `${dir}/missing.conf` });
      assert.equal(down.code, 2);
      assert.match(down.stderr.trim().split("\n").at(-1)!, /^jx: executor slurm: /);
      ev = await readEvents(`${dir}/ev.ndjson`);
      assert.match(String(endOf(ev, "a").error), /^executor slurm: /);
      await assert.rejects(Deno.stat(`${dir}/ran`));
      await assertReleased(env, r.stderr + down.stderr);
    },
  );

  await step(
    "Slurm cannot run a job while a local one runs, then SIGINT: exit 130, as run.end says",
    async () => {
      const dir = await tempDir({
        "jobs.yaml": `
jobs:
  build: { run: "sleep 5", executor: local }
  submit: { run: "touch ran", executor: slurm, slurm: { partition: nosuch } }
`,
      });
      const [cmd, argv] = jxCommand(rt, ["run", "--events", "ev.ndjson"]);
      const child = piped(cmd, argv, dir, env);
      // The job's failure is on stdout at once (the console's job block); build still runs.
      const said = await stderrUntil(child, /── submit: FAILED/, "stdout");
      child.kill("SIGINT");
      const o = await child.output();
      const out = said + dec.decode(o.stdout) + dec.decode(o.stderr);
      assert.equal(o.code, 130, out);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      assert.deepEqual([ev.at(-1)!.status, ev.at(-1)!.exit], ["interrupted", 130]);
      await assert.rejects(Deno.stat(`${dir}/ran`));
      await assertReleased(env, out);
    },
  );

  await step("no allocation when no Slurm job has to run; one when one has", async () => {
    const dir = await Deno.realPath(
      await tempDir({
        "jobs.yaml": `
cache: true
jobs:
  a: { run: "cat in.txt > a.out", reads: [in.txt], writes: [a.out] }
  b: { run: "cat a.out > b.out", reads: [a.out], writes: [b.out] }
  here: { run: "echo here", executor: local }
`,
        "in.txt": "one\n",
      }),
    );
    const store = ["--cache-dir", await Deno.makeTempDir({ prefix: "jx-store-" })];
    const unreachable = { ...env, SLURM_CONF: await downConf(env.SLURM_CONF) };
    const forget = async () => {
      for (const p of [".jx", "a.out", "b.out"]) {
        await Deno.remove(`${dir}/${p}`, { recursive: true });
      }
    };
    const first = await jx(dir, env, ...store);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(allocationsFrom(cluster, dir), 1);
    // Outputs and state gone: both Slurm jobs come back from the cache, no allocation taken;
    // with the controller unreachable too, nothing to say.
    for (const e of [env, unreachable]) {
      await forget();
      const r = await jx(dir, e, ...store);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /slurm|allocation/i);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      for (const j of ["a", "b"]) {
        assert.deepEqual([starts(ev, j).length, endOf(ev, j).cache], [0, "local"], j);
      }
      assert.equal(starts(ev, "here")[0].executor, "local");
      assert.equal(await Deno.readTextFile(`${dir}/b.out`), "one\n");
    }
    // Up to date, the full way (not the no-op fast path), the controller unreachable.
    const up = await jx(dir, { ...unreachable, JX_NO_FAST_NOOP: "1" }, ...store);
    assert.equal(up.code, 0, up.stderr);
    assert.doesNotMatch(up.stderr, /slurm|allocation/i);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.ok(ev.some((e) => e.job === "b" && e.reason === "up-to-date"));
    assert.equal(allocationsFrom(cluster, dir), 1, "none for the restored and up-to-date runs");
    // One job to do: the allocation is taken for it (after the run began), the next one runs too.
    await Deno.writeTextFile(`${dir}/in.txt`, "two\n");
    const again = await jx(dir, env, ...store);
    assert.equal(again.code, 0, again.stderr);
    const ev2 = await readEvents(`${dir}/ev.ndjson`);
    for (const j of ["a", "b"]) assert.equal(starts(ev2, j)[0].executor, "slurm", j);
    assert.equal(await Deno.readTextFile(`${dir}/b.out`), "two\n");
    assert.equal(allocationsFrom(cluster, dir), 2);
    await assertReleased(env, again.stderr);
    // The same jobs run here: what the cluster's nodes made is not restored (their key names
    // the partition they ran on, not this machine's platform).
    await forget();
    const here = await jx(dir, env, ...store, "--executor", "local");
    assert.equal(here.code, 0, here.stderr);
    const ev3 = await readEvents(`${dir}/ev.ndjson`);
    for (const j of ["a", "b"]) {
      assert.deepEqual([starts(ev3, j)[0]?.executor, endOf(ev3, j).cache], ["local", undefined], j);
    }
    assert.equal(allocationsFrom(cluster, dir), 2);
  });

  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    await step(
      `${sig} right as the allocation is granted: exit ${code}, nothing left`,
      async () => {
        const dir = await tempDir({ "jobs.yaml": "jobs:\n  c: { run: touch ran }\n" });
        const [cmd, argv] = jxCommand(rt, ["run", "--executor", "slurm", "--events", "ev.ndjson"]);
        // jx pauses 3 s right after salloc's grant, before the allocation is used (a seam for
        // this test), and says so: the signal comes in that pause.
        const child = new Deno.Command(cmd, {
          args: argv,
          cwd: dir,
          env: { ...env, JX_SLURM_GRANT_PAUSE_MS: "3000" },
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const said = await stderrUntil(child, /allocation \d+ granted; pausing/);
        child.kill(sig);
        const o = await child.output();
        const stderr = said + dec.decode(o.stderr);
        assert.equal(o.code, code, stderr);
        assert.match(
          stderr,
          new RegExp(`interrupted \\(${sig}\\).*; what it asked for is cancelled`),
        );
        await assertReleased(env, stderr, "the allocation is released");
        await assert.rejects(Deno.stat(`${dir}/ran`));
        const ev = await readEvents(`${dir}/ev.ndjson`);
        assert.deepEqual([ev.at(-1)!.status, ev.at(-1)!.exit], ["interrupted", code]);
        // Never started (held for the allocation): skipped, as a local job waiting for a slot.
        const c = ev.filter((e) => e.job === "c").map((e) => [e.type, e.reason]);
        assert.deepEqual(c, [["job.skip", "cancelled"]]);
      },
    );
  }
}
