/**
 * Job slots and process lifecycle in the cases the main suites
 * (jobserver_test.ts, tokens_test.ts) do not cover: `make -j1`, which
 * names no pool; the jobs of a nested jx that a SIGKILL to its job ended.
 */
import assert from "node:assert/strict";
import {
  alive,
  readEvents,
  ROOT,
  runJx,
  RUNTIMES,
  sleep,
  spawnJx,
  tempDir,
  waitForFile,
} from "../helpers.ts";
import { findMake44, make, MAKE_TROUBLE, makeRunningJx } from "./jobserver_helpers.ts";

const JX = `${ROOT}/bin/jx`;

const MAKE44 = await findMake44("jobserver_fixes_test");

Deno.test("jobserver client: make -j1 (MAKEFLAGS ' -j1', no pool) runs jx at -j1, as a sub-make; jx's own -j still wins", async () => {
  const dir = await tempDir({
    "Makefile": `all:\n\t+@${JX} run $(J) --events ev.ndjson --output quiet\n`,
    "jobs.yaml": "jobs:\n  a: { run: 'true' }\n  b: { run: 'true' }\n",
  });
  for (const [args, slots] of [[["-j1"], 1], [["-j1", "J=-j3"], 3]] as const) {
    const r = await make([...args], dir);
    assert.equal(r.code, 0, r.text);
    assert.doesNotMatch(r.text, /warning/);
    const start = (await readEvents(`${dir}/ev.ndjson`))[0];
    assert.equal(start.slots, slots, args.join(" "));
  }
  // jx doctor says the same.
  const doctor = await runJx(["doctor"], { cwd: dir, env: { MAKELEVEL: "1", MAKEFLAGS: " -j1" } });
  assert.match(
    doctor.stdout,
    /^jobserver from make +none \(make -j1 names no pool\); a run uses -j1 unless given -j N$/m,
  );
});

Deno.test("jobserver client: a make without -j names no pool: jx runs at its own -j, and jx doctor says it runs under make", async () => {
  const dir = await tempDir({
    "Makefile": `all:\n\t+@${JX} run --events ev.ndjson --output quiet\n`,
    "jobs.yaml": "jobs:\n  a: { run: 'true' }\n  b: { run: 'true' }\n",
  });
  const r = await make([], dir);
  assert.equal(r.code, 0, r.text);
  const start = (await readEvents(`${dir}/ev.ndjson`))[0];
  assert.equal(start.slots, navigator.hardwareConcurrency);
  // It said "not running under make" (make sets MAKELEVEL and an empty MAKEFLAGS).
  const doctor = await runJx(["doctor"], { cwd: dir, env: { MAKELEVEL: "1", MAKEFLAGS: "" } });
  assert.match(
    doctor.stdout,
    /^jobserver from make +none \(the make that runs jx has no -j: no pool\); a run uses -j N if given, else the CPU count$/m,
  );
});

Deno.test("jobserver client: a --jobserver-auth= that names no pool ('abc', '3,4,5') warns and runs -j1, as make 4.4 does (was make's -j4, outside any pool, silently)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  a: { run: 'true' }\n  b: { run: 'true' }\n",
  });
  for (const bad of ["abc", "3,4,5"]) {
    const env = { MAKELEVEL: "1", MAKEFLAGS: ` -j4 --jobserver-auth=${bad}` };
    const r = await runJx(["run", "--events", "ev.ndjson", "--output", "quiet"], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `warning: jobserver unavailable \\(invalid --jobserver-auth string '${bad}'\\); using -j1`,
      ),
    );
    const start = (await readEvents(`${dir}/ev.ndjson`))[0];
    assert.equal(start.slots, 1, bad);
    const doctor = await runJx(["doctor"], { cwd: dir, env });
    assert.match(
      doctor.stdout,
      /^jobserver from make +MAKEFLAGS; jx would not join it: jobserver unavailable \(invalid/m,
    );
  }
});

Deno.test("jobserver server: a -j in MAKEFLAGS that make cannot read (-j-3, -jfoo, -j0) warns and no job gets it (was handed on: make 4.4.1 in a job stopped on it, or hung on -j-3); -j 3 is -j3", async () => {
  // The job's make (4.4.1 when built, else the machine's) reads what jx hands it.
  const mk = MAKE44 ?? "make";
  const dir = await tempDir({
    "sub.mk": 'all:\n\t@echo "[$$MAKEFLAGS]" > flags\n',
    "jobs.yaml": `jobs:\n  a: { run: 'timeout 20 ${mk} -s -f sub.mk' }\n`,
  });
  for (const runtime of RUNTIMES) {
    for (const style of ["pipe", "none"]) {
      for (const bad of ["-j-3", "-jfoo", "-j0"]) {
        const env = { MAKEFLAGS: `k ${bad} -- CC=cc` };
        const args = ["run", "--jobserver-style", style, "--output", "quiet"];
        const r = await runJx(args, { cwd: dir, env, runtime });
        const what = `${runtime} ${style} ${bad}`;
        assert.equal(r.code, 0, `${what}: ${r.stderr}`);
        assert.match(
          r.stderr,
          new RegExp(`warning: MAKEFLAGS: ${bad} ignored \\(the '-j' option requires a positive`),
        );
        const flags = await Deno.readTextFile(`${dir}/flags`);
        assert.doesNotMatch(flags, new RegExp(bad), what);
        assert.match(flags, /^\[ks? .*-- CC=cc\]$/m, what); // the job's make adds -s
      }
    }
  }
  // MFLAGS (which `$(MAKE) $(MFLAGS)` puts on make's command line) and CARGO_MAKEFLAGS: the same.
  for (const runtime of RUNTIMES) {
    for (const name of ["MFLAGS", "CARGO_MAKEFLAGS"]) {
      const env = { [name]: "k -jfoo" };
      const args = ["exec", "--", "sh", "-c", `echo "[$${name}]"`];
      const r = await runJx(args, { cwd: dir, env, runtime });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`warning: ${name}: -jfoo ignored`));
      assert.match(r.stdout, /^\[k( -j\d+ --jobserver-auth=\S+)?\]$/m, `${runtime} ${name}`);
    }
  }
  // jx exec: the same warning, and its command gets no such -j either.
  for (const runtime of RUNTIMES) {
    for (const style of ["pipe", "none"]) {
      const env = { MAKEFLAGS: "k -jfoo" };
      const args = ["exec", "--jobserver-style", style, "--", "sh", "-c", 'echo "[$MAKEFLAGS]"'];
      const r = await runJx(args, { cwd: dir, env, runtime });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: MAKEFLAGS: -jfoo ignored/);
      assert.match(r.stdout, /^\[k( -j\d+ --jobserver-auth=\S+)?\]$/m, `${runtime} ${style}`);
    }
  }
  // `-j 3` is make's -j3: nothing to warn of, and no stray `3` handed on.
  const r = await runJx(["run", "--output", "quiet"], { cwd: dir, env: { MAKEFLAGS: "-j 3" } });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /warning/);
  assert.doesNotMatch(await Deno.readTextFile(`${dir}/flags`), /(^|\s)3(\s|$)/);
});

Deno.test("jobserver server: MFLAGS and CARGO_MAKEFLAGS naming another pool name jx's in its jobs and jx exec's command (a cargo read CARGO_MAKEFLAGS first: the other pool)", async () => {
  const show = `echo "M=$MAKEFLAGS"; echo "F=$MFLAGS"; echo "C=$CARGO_MAKEFLAGS"`;
  const dir = await tempDir({ "jobs.yaml": `jobs:\n  s: { run: '${show}' }\n` });
  const env = {
    MFLAGS: "-j8 --jobserver-auth=3,4",
    CARGO_MAKEFLAGS: "-j8 --jobserver-auth=fifo:/nonexistent/GMfifo1",
  };
  for (
    const args of [
      ["exec", "-j2", "--", "sh", "-c", show],
      ["exec", "-j2", "--jobserver-style", "fifo", "--", "sh", "-c", show],
      ["run", "-j2", "--output", "stream"],
    ]
  ) {
    const r = await runJx(args, { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    const make = /^(?:\[s\] +)?M=(.*)$/m.exec(r.stdout)?.[1] ?? "";
    const auth = /--jobserver-auth=\S+/.exec(make)?.[0];
    assert.ok(auth && !auth.includes("3,4") && !auth.includes("GMfifo"), r.stdout);
    assert.match(
      r.stdout,
      new RegExp(`^(?:\\[s\\] +)?F=.*${RegExp.escape(auth)}$`, "m"),
      args.join(" "),
    );
    assert.match(
      r.stdout,
      new RegExp(`^(?:\\[s\\] +)?C=.*${RegExp.escape(auth)}$`, "m"),
      args.join(" "),
    );
  }
});

Deno.test("lifecycle: a job running a nested jx, SIGKILLed after its grace: the nested jx's jobs (groups of their own) die too", async () => {
  // inner's job ignores SIGTERM and inner gives it 60 s; outer's job has 1 s: then SIGKILL.
  const dir = await tempDir({
    "jobs.yaml": `jobs:\n  outer: { run: ${JX} run -f inner/jobs.yaml, grace: 1s }\n`,
    "inner/jobs.yaml":
      `jobs:\n  i: { run: 'trap "" TERM; echo $$ > ../i.pid; sleep 60 & wait', grace: 60s }\n`,
  });
  const child = spawnJx(["run", "-j3"], { cwd: dir });
  let pid = 0;
  try {
    pid = Number(await waitForFile(`${dir}/i.pid`, 30_000));
    child.kill("SIGTERM");
    const out = await child.output();
    assert.equal(out.code, 143, new TextDecoder().decode(out.stderr));
    for (let i = 0; i < 500 && alive(pid); i++) await sleep(20);
    assert.equal(alive(pid), false, "the nested jx's job outlived the run");
  } finally {
    if (pid && alive(pid)) Deno.kill(-pid, "SIGKILL");
  }
});

Deno.test("a TMPDIR that is not there: one warning and the pool (and jx sh's folder) under /tmp, as make 4.4 does (was an internal error, exit 1)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:\n  a: { run: 'echo "$MAKEFLAGS" > flags.txt', jobserver: fifo }\n`,
  });
  const r = await runJx(["run", "-j2"], { cwd: dir, env: { TMPDIR: `${dir}/none` } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stderr.match(/^jx: warning: .*$/gm), [
    `jx: warning: TMPDIR value ${dir}/none: not a directory; using /tmp`,
  ]);
  const flags = await Deno.readTextFile(`${dir}/flags.txt`);
  assert.match(flags, /^ -j2 --jobserver-auth=fifo:\/tmp\/jx-jobserver-/);
  // jx sh's own folder too (it was "internal error: ENOENT ... mkdtemp").
  await Deno.writeTextFile(`${dir}/s.sh`, "echo hi\n");
  const sh = await runJx(["sh", "s.sh"], { cwd: dir, env: { TMPDIR: `${dir}/none` } });
  assert.equal(sh.code, 0, sh.stderr);
  assert.equal(sh.stdout, "hi\n");
  assert.match(sh.stderr, /^jx: warning: TMPDIR value .*\/none: not a directory; using \/tmp$/m);
});

Deno.test("lifecycle: SIGQUIT (Ctrl-\\) stops the jobs as SIGTERM does, exit 131; under make every token goes back", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  a: { run: 'echo $$ > a.pid; sleep 60 & wait' }\n",
  });
  const child = spawnJx(["run"], { cwd: dir });
  let pid = 0;
  try {
    pid = Number(await waitForFile(`${dir}/a.pid`, 30_000));
    child.kill("SIGQUIT");
    const out = await child.output();
    assert.equal(out.code, 131, new TextDecoder().decode(out.stderr));
    assert.equal(alive(pid), false, "the job outlived jx");
  } finally {
    if (pid && alive(pid)) Deno.kill(-pid, "SIGKILL");
  }
  const { interrupt } = await makeRunningJx(JX);
  const text = await interrupt("SIGQUIT");
  assert.match(text, /make: \*\*\* \[.*\] Error 131\n/);
  assert.doesNotMatch(text, /INTERNAL: Exiting with/);
});

Deno.test({
  name:
    "jobserver: a TMPDIR with a blank: the fifo form escapes it as make 4.4 does, both ways (jx's job's make, make running jx)",
  ignore: !MAKE44,
  fn: async () => {
    const dir = await tempDir({
      "my dir/.keep": "",
      "sub.mk": "x:\n\t@echo sub ran\n",
      "jobs.yaml": `jobs:\n  a: { run: '${MAKE44} -s -f sub.mk x', jobserver: fifo }\n`,
      "Makefile": `all:\n\t+@${JX} run -f inner.yaml --events ev.ndjson\n`,
      "inner.yaml": "jobs:\n  b: { run: 'true' }\n",
    });
    const env = { TMPDIR: `${dir}/my dir` };
    const r = await runJx(["run", "-j2"], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    // Before: make read 'fifo:.../my' and the rest as a target ("No rule to make target").
    assert.doesNotMatch(r.stdout + r.stderr, /No rule|jobserver unavailable|cannot open/);
    assert.match(r.stdout, /sub ran/);
    const m = await make(["-j3"], dir, env, MAKE44);
    assert.equal(m.code, 0, m.text);
    assert.doesNotMatch(m.text, /warning|cannot open/);
    assert.doesNotMatch(m.text, MAKE_TROUBLE);
    assert.equal((await readEvents(`${dir}/ev.ndjson`))[0].jobserver, "client");
  },
});

Deno.test("jobserver: tokens a killed make held come back before its job's retry (the retry ran on what was left, and could wait for ever)", async () => {
  // Attempt 1's make is SIGKILLed holding 3 tokens (k1-k3 run on well past k4's kill, on a
  // loaded machine too); attempt 2's make runs 4 recipes, each waiting (up to 30 s) for the 4 to
  // have started, then counting them: 4 at -j5 when every token is back (not for a time: a
  // recipe started late ran after another's end).
  const dir = await tempDir({
    "sub.mk": "crash: k1 k2 k3 k4\nk1 k2 k3:\n\tsleep 3\nk4:\n\tsleep 0.1; kill -9 $$PPID\n" +
      "all: a b c d\na b c d:\n\tmkdir -p run; touch run/$@; i=0; " +
      "while [ $$(ls run | wc -l) -lt 4 ] && [ $$i -lt 600 ]; do sleep 0.05; i=$$((i+1)); done; " +
      "ls run | wc -l > n.$@\n",
    "jobs.yaml": "jobs:\n  build:\n    run: 'if [ -e once ]; then make -s -f sub.mk all; " +
      "else touch once; make -s -f sub.mk crash; fi'\n    retries: 1\n",
  });
  const r = await runJx(["run", "-j5"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /jobserver: 3 token\(s\) were not returned by jobs that ended; jx put/);
  assert.doesNotMatch(r.stderr, /pool of 5 ended with/);
  for (const t of ["a", "b", "c", "d"]) {
    assert.equal((await Deno.readTextFile(`${dir}/n.${t}`)).trim(), "4", `${t}: four at once`);
  }
});
