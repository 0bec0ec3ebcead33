/**
 * The GNU make jobserver against real makes: the machine's make 4.3 and a
 * make 4.4.1 built once into ~/.cache/jx-tools/make-4.4 (the first make with the
 * fifo style; those tests are skipped, with a message, when it cannot be
 * built), and gcc's -flto=jobserver. jx as the server of the pool, jx as a
 * client inside make, `jx exec`, tokens never lost. Concurrency is measured
 * from timestamps the recipes write, never from wall-clock speed.
 */
import assert from "node:assert/strict";
import { makeJobsOption, stripJobserver, withAuth } from "../../lib/jobserver/mod.ts";
import { DENO, readEvents, ROOT, runJx, RUNTIMES, tempDir } from "../helpers.ts";
import {
  checkFifoServer,
  checkJobPools,
  clientMakefile,
  findMake44,
  findNinja113,
  inMake,
  make,
  MAKE_TROUBLE,
  makeRunningJx,
  maxConcurrency,
  nestedServerDir,
  randomTokenGraph,
  recorded,
  recordingJobs,
  recordingMakefile,
  seeded,
  tokensHeld,
  tokenTaker,
} from "./jobserver_helpers.ts";

const JX = `${ROOT}/bin/jx`;

const MAKE44 = await findMake44("jobserver_test");

const haveGcc = await new Deno.Command("gcc", { args: ["--version"], stdout: "null" }).output()
  .then((o) => o.success, () => false);

Deno.test("jobserver server: jx -j3 running three makes (6 targets each) and a nested jx never exceeds 3", async () => {
  const mk = `all: a b c d e f\na b c d e f:\n\t@${inMake(recorded("$@", 0.15))}\n`;
  const dir = await nestedServerDir(mk, JX);
  const r = await runJx(["run", "-j3", "--events", "ev.ndjson"], { cwd: dir });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, MAKE_TROUBLE);
  assert.doesNotMatch(r.stderr, /warning/);
  const c = await maxConcurrency(
    `${dir}/d1/log`,
    `${dir}/d2/log`,
    `${dir}/d3/log`,
    `${dir}/d4/log`,
  );
  assert.equal(c.count, 21);
  assert.ok(c.max <= 3, `at most 3 recipes at once, saw ${c.max}`);
  assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
  const start = (await readEvents(`${dir}/ev.ndjson`))[0];
  assert.equal(start.jobserver, "server");
  assert.equal(start.slots, 3);
  const nested = (await readEvents(`${dir}/d4/ev.ndjson`))[0];
  assert.equal(nested.jobserver, "client", "the nested jx joined through the R,W fds on the fifo");
});

Deno.test("jobserver server: MAKEFLAGS carries the pool, with the environment's other flags; --jobserver-style fifo and none", async () => {
  const dir = await tempDir({ "jobs.yaml": `jobs:\n  show: { run: 'echo "[$MAKEFLAGS]"' }\n` });
  const pipe = await runJx(["run", "-j5"], { cwd: dir });
  assert.match(pipe.stdout, /\[ -j5 --jobserver-auth=\d+,\d+\]/);
  // The environment's own MAKEFLAGS keeps its other flags and variables (its -j is jx's).
  // Not n, t or q: jx runs its jobs for real (set by hand: no pool, no MAKELEVEL: not make's).
  const own = await runJx(["run", "-j5"], { cwd: dir, env: { MAKEFLAGS: "nk -j2 -- CC=clang" } });
  assert.match(own.stdout, /\[k -j5 --jobserver-auth=\d+,\d+ -- CC=clang\]/);
  const fifo = await runJx(["run", "-j5", "--jobserver-style", "fifo"], { cwd: dir });
  const path = /--jobserver-auth=fifo:(\S+)\]/.exec(fifo.stdout)?.[1];
  assert.ok(path, fifo.stdout);
  await assert.rejects(Deno.stat(path!), "the fifo is removed at exit");
  // A jx killed with SIGKILL leaves its fifo's directory; the next one removes it.
  const tmp = `${dir}/tmp`;
  const host = Deno.hostname().replace(/[^A-Za-z0-9.]/g, "_");
  const gone = await new Deno.Command("true").spawn();
  await gone.status;
  await Deno.mkdir(`${tmp}/jx-jobserver-${host}-${gone.pid}-AbCdEf`, { recursive: true });
  await Deno.mkdir(`${tmp}/jx-jobserver-${host}-${Deno.pid}-AbCdEf`);
  const again = await runJx(["run", "-j2"], { cwd: dir, env: { TMPDIR: tmp } });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), [
    `jx-jobserver-${host}-${Deno.pid}-AbCdEf`,
  ]);
  const none = await runJx(["run", "--jobserver-style", "none"], {
    cwd: dir,
    env: { MAKEFLAGS: "" },
  });
  assert.match(none.stdout, /\[\]/);
});

Deno.test("jobserver client: make -j3 with two recipes and a + recipe running jx with 8 jobs never exceeds 3", async () => {
  const jobs = recordingJobs("j", 8, 0.2);
  const dir = await tempDir({
    "Makefile": clientMakefile(JX),
    "jobs.inner.yaml": jobs.join("\n") + "\n",
  });
  const r = await make(["-j3"], dir);
  assert.equal(r.code, 0, r.text);
  assert.doesNotMatch(r.text, MAKE_TROUBLE);
  assert.doesNotMatch(r.text, /warning/);
  const c = await maxConcurrency(`${dir}/log`);
  assert.equal(c.count, 10);
  assert.ok(c.max <= 3, `at most 3 at once, saw ${c.max}`);
  assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
  const start = (await readEvents(`${dir}/ev.ndjson`))[0];
  assert.equal(start.jobserver, "client");
});

Deno.test("jobserver client: -j is ignored with a warning; without '+' jx says so, keeps an explicit -jN (else -j1) in a pool of its own", async () => {
  // Jobs: a make of its own (it must find a pool that works, not make's fds) and three sleepers.
  const par = [
    "jobs:",
    `  inner: { run: 'make -s -f inner.mk 2> inner.err; echo "$MAKEFLAGS" > flags.txt' }`,
    ...["j0", "j1", "j2"].map((j) => `  ${j}: { run: '${recorded(j, 0.3)}' }`),
  ].join("\n") + "\n";
  const dir = await tempDir({
    "Makefile": `all: plus noplus\nplus:\n\t+@${JX} run -j8 -f jobs.yaml --output quiet\n` +
      `noplus:\n\t@${JX} run $(J) -f par.yaml --events ev.ndjson --output quiet\n`,
    "jobs.yaml": "jobs:\n  a: { run: 'true' }\n",
    "par.yaml": par,
    "inner.mk": "all: x y\nx y:\n\t@true\n",
  });
  const r = await make(["-j2", "plus"], dir);
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /jx: warning: -j8 ignored: using the jobserver of the make that runs jx/);
  for (const [j, slots] of [["-j4", 4], ["", 1]] as const) {
    await Deno.remove(`${dir}/log`).catch(() => {});
    const n = await make(["-j2", "noplus", `J=${j}`], dir);
    assert.equal(n.code, 0, n.text);
    // One warning, saying what jx does: the user's -j4 (GNU make's sub-make keeps it too).
    assert.deepEqual(n.text.match(/^jx: warning: .*$/gm), [
      `jx: warning: jobserver unavailable (fds 3,4 are not make's pool: add '+' to the make rule that runs jx); using -j${slots}`,
    ]);
    const start = (await readEvents(`${dir}/ev.ndjson`))[0];
    assert.deepEqual([start.slots, start.jobserver], [slots, "server"], j);
    // The jobs' make found jx's pool: no complaint, and MAKEFLAGS names jx's pool, not fds 3,4.
    assert.equal(await Deno.readTextFile(`${dir}/inner.err`), "", j);
    const flags = (await Deno.readTextFile(`${dir}/flags.txt`)).trim();
    assert.match(flags, new RegExp(`(^| )-j${slots} --jobserver-auth=\\d+,\\d+( |$)`), j);
    assert.doesNotMatch(flags, /=3,4( |$)/, j);
    const c = await maxConcurrency(`${dir}/log`);
    assert.equal(c.count, 3);
    if (slots === 4) assert.ok(c.max >= 2, `-j4 honoured: ${c.max} at once`);
    else assert.equal(c.max, 1);
  }
});

Deno.test("jobserver client: MAKEFLAGS n and k reach jx (make -n runs + recipes)", async () => {
  const dir = await tempDir({
    "Makefile": `all:\n\t+@${JX} run -f jobs.yaml\n`,
    "jobs.yaml": "jobs:\n  a: { run: touch made }\n",
  });
  const r = await make(["-n", "-j2"], dir);
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /a: touch made/);
  await assert.rejects(Deno.stat(`${dir}/made`));
});

Deno.test("jobserver client: make -n and -k without -j (no pool) reach jx too, through MAKELEVEL", async () => {
  const dir = await tempDir({
    "Makefile": `all:\n\t+@${JX} run -f jobs.yaml\n`,
    "jobs.yaml":
      "jobs:\n  a: { run: touch made }\n  b: { run: 'false' }\n  c: { run: touch c, needs: [b] }\n  d: { run: touch d, needs: [a] }\n",
  });
  const dry = await make(["-n"], dir);
  assert.equal(dry.code, 0, dry.text);
  assert.match(dry.text, /a: touch made/);
  await assert.rejects(Deno.stat(`${dir}/made`), "make -n: nothing made");
  const kept = await make(["-k", "-j1"], dir);
  assert.notEqual(kept.code, 0, kept.text);
  await Deno.stat(`${dir}/d`); // -k: what does not depend on the failure still ran
  // A MAKEFLAGS set by hand (no pool, no MAKELEVEL) is not make's: jx runs for real.
  const own = await runJx(["run", "a"], { cwd: dir, env: { MAKEFLAGS: "n" } });
  assert.equal(own.code, 0, own.stderr);
  await Deno.stat(`${dir}/made`);
});

Deno.test("jobserver client: make -q asks jx as a sub-make (1: something would run, 0: none); make -t runs nothing", async () => {
  const dir = await tempDir({
    "Makefile": `all:\n\t+@${JX} run -f jobs.yaml\n`,
    "jobs.yaml": "jobs:\n  a: { run: cp in out, reads: [in], writes: [out] }\n",
    "in": "1\n",
  });
  const ask = await make(["-q"], dir);
  assert.equal(ask.code, 1, ask.text);
  await assert.rejects(Deno.stat(`${dir}/out`), "make -q: nothing made");
  assert.equal((await make([], dir)).code, 0);
  const again = await make(["-q"], dir);
  assert.equal(again.code, 0, again.text);
  await Deno.writeTextFile(`${dir}/in`, "2\n");
  const touch = await make(["-t"], dir);
  assert.equal(touch.code, 0, touch.text);
  assert.match(touch.text, /make -t: jx touches nothing; a dry run instead/);
  assert.equal(await Deno.readTextFile(`${dir}/out`), "1\n", "make -t: nothing run");
  assert.equal((await make(["-q", "-j2"], dir)).code, 1, "with a pool too");
});

Deno.test("jobserver: a job that keeps a token is reported at the end", async () => {
  const dir = await tempDir({ "jobs.yaml": tokenTaker("thief", 1) });
  const r = await runJx(["run", "-j4"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /jx: warning: jobserver: 1 token\(s\) were not returned by jobs/);
});

Deno.test("jobserver: a job killed by a signal while holding two extra tokens is reported at the end", async () => {
  const dir = await tempDir({ "jobs.yaml": tokenTaker("greedy", 2, "; kill -9 $$") });
  const r = await runJx(["run", "-j4", "--events", "ev.ndjson"], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  const end = (await readEvents(`${dir}/ev.ndjson`)).find((e) => e.type === "job.end")!;
  assert.equal(end.signal, "SIGKILL");
  assert.match(
    r.stderr,
    /jx: warning: jobserver: 2 token\(s\) were not returned by jobs \(pool of 4 ended with 2\)/,
  );
});

// jx dies of the signal (after giving its tokens back): make names the signal, not an exit code.
for (const [signal, said] of [["SIGINT", "Interrupt"], ["SIGTERM", "Terminated"]] as const) {
  Deno.test(`jobserver client: ${signal} to jx mid-run gives every token back (make's final check stays silent)`, async () => {
    const { pid, interrupt } = await makeRunningJx(JX);
    assert.ok(pid > 0);
    const text = await interrupt(signal);
    assert.match(text, new RegExp(`make: \\*\\*\\* \\[.*\\] ${said}\\n`));
    assert.doesNotMatch(text, /INTERNAL: Exiting with/);
  });
}

Deno.test("jobserver: random graphs never run more tokens than the pool and leave it whole", async () => {
  const rand = seeded(7);
  for (let round = 0; round < 4; round++) {
    const { j, yaml, tokensOf } = randomTokenGraph(rand);
    const dir = await tempDir({ "jobs.yaml": yaml });
    const r = await runJx(["run", `-j${j}`, "-k", "--events", "ev.ndjson", "--output", "quiet"], {
      cwd: dir,
    });
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    assert.doesNotMatch(r.stderr, /jobserver/, "the pool is whole at the end");
    const ev = await readEvents(`${dir}/ev.ndjson`);
    for (const held of tokensHeld(ev, tokensOf)) {
      assert.ok(held <= j, `round ${round}: ${held} tokens held with -j${j}`);
    }
  }
});

Deno.test("jobserver needs FFI: deno without --allow-ffi falls back to plain slots", async () => {
  const dir = await tempDir({ "jobs.yaml": `jobs:\n  show: { run: 'echo "[$MAKEFLAGS]"' }\n` });
  const out = await new Deno.Command(DENO, {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-sys",
      `${ROOT}/cli.ts`,
      "run",
    ],
    cwd: dir,
    env: { MAKEFLAGS: "" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /\[\]/);
});

Deno.test({
  name:
    "jobserver server, fifo style: make 4.4.1 sub-makes, a make 4.3 job (jobserver: pipe) and a none job share jx -j3",
  ignore: !MAKE44,
  fn: async () => {
    await checkFifoServer(MAKE44!);
  },
});

Deno.test({
  name:
    "jobserver server: a job of tokens 4 (make 4.3) and one of tokens 3 (make 4.4.1, fifo) get pools of their own",
  ignore: !MAKE44,
  fn: async () => {
    await checkJobPools(MAKE44!, { env: { MAKEFLAGS: "" } });
  },
});

Deno.test({
  name:
    "jobserver client: make 4.4.1 -j3 (fifo style) runs +jx, which joins through fifo:PATH; a job's make 4.3 gets R,W",
  ignore: !MAKE44,
  fn: async () => {
    const jobs = recordingJobs("j", 6, 0.2);
    jobs.push("  show: { run: 'echo \"$MAKEFLAGS\" > jx.flags' }");
    jobs.push("  m43: { run: make -s -C sub, jobserver: pipe }");
    const dir = await tempDir({
      "Makefile": clientMakefile(JX),
      "jobs.inner.yaml": jobs.join("\n") + "\n",
      "sub/Makefile": recordingMakefile(["s1", "s2"], 0.2),
    });
    const r = await make(["-j3"], dir, {}, MAKE44);
    assert.equal(r.code, 0, r.text);
    assert.doesNotMatch(r.text, MAKE_TROUBLE);
    assert.doesNotMatch(r.text, /warning/);
    const c = await maxConcurrency(`${dir}/log`, `${dir}/sub/log`);
    assert.equal(c.count, 10);
    assert.ok(c.max <= 3, `at most 3 at once, saw ${c.max}`);
    assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
    const start = (await readEvents(`${dir}/ev.ndjson`))[0];
    assert.equal(start.jobserver, "client");
    assert.match(await Deno.readTextFile(`${dir}/jx.flags`), /--jobserver-auth=fifo:/);
    assert.match(await Deno.readTextFile(`${dir}/sub/flags.s1`), /-j3 --jobserver-auth=\d+,\d+/);
  },
});

Deno.test({
  name: "jobserver: gcc -flto=jobserver links in a jx job through the pool (jx -j3)",
  ignore: !haveGcc,
  fn: async () => {
    // Functions gcc cannot inline away, so -flto-partition=max gives many LTRANS units.
    const files: Record<string, string> = {};
    const decls: string[] = [], calls: string[] = [];
    for (let i = 1; i <= 4; i++) {
      const fns: string[] = [];
      for (let k = 1; k <= 4; k++) {
        fns.push(
          `__attribute__((noipa)) int f${i}_${k}(int x) { int s = 0; for (int n = 0; n < x; n++) s += n * ${i} ^ ${k}; return s; }`,
        );
        decls.push(`int f${i}_${k}(int);`);
        calls.push(`s += f${i}_${k}(c);`);
      }
      files[`f${i}.c`] = fns.join("\n") + "\n";
    }
    files["main.c"] = `${decls.join("\n")}\nint main(int c, char **v) { (void)v; int s = 0; ${
      calls.join(" ")
    } return s & 1; }\n`;
    // gcc runs its LTRANS steps with `make -f TMP.mk` (make 4.3), which takes
    // its slots from MAKEFLAGS. SHELL=logsh (a make variable carried in
    // MAKEFLAGS) records when each recipe runs and the MAKEFLAGS it saw.
    files["logsh"] = `#!/bin/sh
echo "$MAKEFLAGS" >> "$LOGDIR/flags"
echo "start $$ $(date +%s%N)" >> "$LOGDIR/log"
/bin/sh "$@"; rc=$?
echo "end $$ $(date +%s%N)" >> "$LOGDIR/log"
exit $rc
`;
    const names = ["f1", "f2", "f3", "f4", "main"];
    const jobs = ["jobs:"];
    for (const n of names) {
      jobs.push(`  cc-${n}: { run: gcc -O2 -flto -flto-partition=max -c ${n}.c }`);
    }
    jobs.push(
      `  link:`,
      `    needs: [${names.map((n) => `cc-${n}`).join(", ")}]`,
      `    run: 'echo "$MAKEFLAGS" > job.flags; MAKEFLAGS="$MAKEFLAGS SHELL=$PWD/logsh" LOGDIR=$PWD gcc -O2 -flto=jobserver -flto-partition=max *.o -o prog'`,
    );
    files["jobs.yaml"] = jobs.join("\n") + "\n";
    const dir = await tempDir(files);
    await Deno.chmod(`${dir}/logsh`, 0o755);
    const r = await runJx(["run", "-j3"], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /jobserver is not available|serial compilation/);
    assert.doesNotMatch(r.stderr, /warning/, "the pool is whole at the end");
    // The make gcc started is a client of jx's pool: same R,W, same -j.
    const auth = /-j3 --jobserver-auth=\d+,\d+/.exec(await Deno.readTextFile(`${dir}/job.flags`));
    assert.ok(auth, "the link job got the pipe form");
    const seen = (await Deno.readTextFile(`${dir}/flags`)).trim().split("\n");
    assert.ok(seen.length >= 4, `several LTRANS recipes, saw ${seen.length}`);
    for (const f of seen) assert.ok(f.includes(auth[0]), `recipe MAKEFLAGS '${f}' name jx's pool`);
    const c = await maxConcurrency(`${dir}/log`);
    assert.ok(c.max <= 3, `at most 3 LTRANS recipes at once, saw ${c.max}`);
    assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
    assert.equal((await new Deno.Command(`${dir}/prog`).output()).code, 0);
  },
});

Deno.test("jobserver server: a job that runs make with its own -j gets one warning before running", async () => {
  const dir = await tempDir({
    "mk": "all:\n\t@true\n",
    "jobs.yaml": `
jobs:
  a: { run: make -s -j2 -f mk }
  b: { run: 'cd . && nice make -s --jobs=3 -f mk' }
  c: { run: [make, -s, -f, mk] }
  d: { run: make -s -j2 -f mk, jobserver: none }
  e: { run: echo make -j4 }
  f: { run: [make, -sj, -f, mk], retries: 1 }
`,
  });
  const r = await runJx(["run", "-j3"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.stderr.split("\n").filter((l) => l.startsWith("jx: warning: job "));
  assert.deepEqual(warnings.sort(), [
    `jx: warning: job a runs make with -j2, which leaves jx's job-slot pool (make: "-jN forced in submake")`,
    `jx: warning: job b runs make with -j3, which leaves jx's job-slot pool (make: "-jN forced in submake")`,
    `jx: warning: job f runs make with -j, which leaves jx's job-slot pool (make: "-jN forced in submake")`,
  ]);
  // make agrees: those makes left the pool.
  assert.match(r.stdout + r.stderr, /-j2 forced in submake/);
  // The warnings come before any job's output.
  assert.ok(r.stderr.indexOf("jx: warning: job") < r.stderr.indexOf("forced in submake"));
});

Deno.test("makeJobsOption: the -j of a make in a job's command", () => {
  const sh = (s: string) => makeJobsOption(["/bin/sh", "-c", s]);
  assert.equal(sh("make -j4"), "-j4");
  assert.equal(sh("cd x && make -C lib -j 8 all"), "-j8");
  assert.equal(sh("CC=clang env FOO=1 nice /usr/bin/make --jobs=2"), "-j2");
  assert.equal(sh("make -kj"), "-j");
  assert.equal(sh("$(MAKE) -j$(nproc)"), "-j$(nproc)");
  assert.equal(sh("(make -j 3)"), "-j3");
  assert.equal(sh("gmake -f x.mk -j5 && echo ok"), "-j5");
  assert.equal(sh("make -C lib"), undefined);
  assert.equal(sh("echo make -j4"), undefined);
  assert.equal(sh("make -f -j4"), undefined, "-j4 is the makefile's name there");
  assert.equal(makeJobsOption(["make", "--jobs", "6"]), "-j6");
  assert.equal(makeJobsOption(["ninja", "-j4"]), undefined);
});

Deno.test("stripJobserver and withAuth keep make's other flags and variables", () => {
  assert.equal(stripJobserver(" -j4 --jobserver-auth=3,4"), "");
  assert.equal(stripJobserver("k -j4 --jobserver-auth=3,4 -- CC=clang"), "k -- CC=clang");
  assert.equal(stripJobserver("-j --jobserver-fds=3,4"), "");
  assert.equal(
    withAuth(" -j3 --jobserver-auth=fifo:/tmp/f", { style: "pipe", read: 5, write: 6 }),
    " -j3 --jobserver-auth=5,6",
  );
  assert.equal(
    withAuth("kw -j3 --jobserver-auth=3,4 -- X=1", { style: "fifo", path: "/p" }),
    "kw -j3 --jobserver-auth=fifo:/p -- X=1",
  );
});

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] jx exec -j3: two sub-makes side by side never run more than 3 recipes; exit code passed through`, async () => {
    const mk = recordingMakefile(["a", "b", "c", "d", "e", "f"], 0.15);
    const dir = await tempDir({
      "Makefile": ".PHONY: a b\nall: a b\na b:\n\t+@$(MAKE) -s -C $@\n",
      "a/Makefile": mk,
      "b/Makefile": mk,
    });
    const env = { MAKEFLAGS: "" };
    const r = await runJx(["exec", "-j3", "--", "make", "-s"], { cwd: dir, env, runtime: rt });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, "", "jx prints nothing of its own");
    let c = await maxConcurrency(`${dir}/a/log`, `${dir}/b/log`);
    assert.equal(c.count, 12);
    assert.ok(c.max <= 3, `at most 3 recipes at once, saw ${c.max}`);
    assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
    assert.match(await Deno.readTextFile(`${dir}/a/flags.a`), /-j3 --jobserver-auth=\d+,\d+/);
    // Two makes started side by side by a shell: each has an implicit slot of
    // its own (the protocol's rule), so they share the 2 tokens plus 2 slots.
    await Deno.remove(`${dir}/a/log`);
    await Deno.remove(`${dir}/b/log`);
    const sh = await runJx(
      ["exec", "-j3", "--", "sh", "-c", "make -s -C a & make -s -C b & wait"],
      {
        cwd: dir,
        env,
        runtime: rt,
      },
    );
    assert.equal(sh.code, 0, sh.stderr);
    c = await maxConcurrency(`${dir}/a/log`, `${dir}/b/log`);
    assert.equal(c.count, 12);
    assert.ok(c.max <= 4, `at most 2 tokens + 2 implicit slots, saw ${c.max}`);
    const seven = await runJx(["exec", "-j2", "sh", "-c", "exit 7"], { cwd: dir, runtime: rt });
    assert.equal(seven.code, 7);
    assert.equal(seven.stdout + seven.stderr, "");
    const missing = await runJx(["exec", "--", "no-such-command-jx"], { cwd: dir, runtime: rt });
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /jx: cannot run 'no-such-command-jx': command not found/);
    const usage = await runJx(["exec", "-j2"], { cwd: dir, runtime: rt });
    assert.equal(usage.code, 2);
  });
}

Deno.test("docs/make.md: the Makefile example runs as written (make -j8, jx on PATH)", async () => {
  const doc = await Deno.readTextFile(`${ROOT}/docs/make.md`);
  const makefile = /```make\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(makefile, "docs/make.md has a make block");
  const dir = await tempDir({
    "Makefile": makefile,
    "a.c": "int a(void) { return 1; }\n",
    "b.c": "int b(void) { return 2; }\n",
    "tests.yaml":
      `jobs:\n  t1: { run: 'echo "$MAKEFLAGS" > t1.flags' }\n  t2: { run: touch t2.done }\n`,
  });
  const r = await make(["-j8"], dir, { PATH: `${ROOT}/bin:${Deno.env.get("PATH")}` });
  assert.equal(r.code, 0, r.text);
  assert.doesNotMatch(r.text, MAKE_TROUBLE);
  assert.doesNotMatch(r.text, /warning/);
  for (const f of ["a.o", "b.o", "t2.done"]) await Deno.stat(`${dir}/${f}`);
  assert.match(await Deno.readTextFile(`${dir}/t1.flags`), /-j8 --jobserver-auth=\d+,\d+/);
});

const NINJA113 = await findNinja113("jobserver_test");

/** A ninja project of `n` edges, each recorded in `log` for `secs`. */
function ninjaProject(n: number, secs: number): Record<string, string> {
  const edges = Array.from({ length: n }, (_, i) => `build o${i}: rec`);
  return {
    "nj/rec.sh": recorded("$1", secs) + '; touch "$1"\n',
    "nj/build.ninja": `rule rec\n  command = sh rec.sh $out\n${edges.join("\n")}\n`,
  };
}

Deno.test({
  name:
    "jobserver server: a job running ninja 1.13 gets the fifo form and joins the pool (8 edges + another job at jx -j3 never exceed 3); with jobserver: pipe, a warning",
  ignore: !NINJA113,
  fn: async () => {
    const dir = await tempDir({
      ...ninjaProject(8, 0.3),
      "jobs.yaml": `
jobs:
  build: { run: '${NINJA113} -C nj > ninja.out; echo "$MAKEFLAGS" > flags' }
  other: { run: 'cd nj && ${recorded("other", 1.2)}' }
`,
    });
    const r = await runJx(["run", "-j3"], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, /warning/);
    assert.match(await Deno.readTextFile(`${dir}/flags`), /-j3 --jobserver-auth=fifo:/);
    assert.doesNotMatch(await Deno.readTextFile(`${dir}/ninja.out`), /Ignoring jobserver/);
    const c = await maxConcurrency(`${dir}/nj/log`);
    assert.equal(c.count, 9);
    assert.ok(c.max <= 3, `at most 3 at once, saw ${c.max}`);
    assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);

    // Asked for the pipe form: jx says ninja will leave the pool.
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      `jobs:\n  build: { run: '${NINJA113} -C nj -t clean > /dev/null', jobserver: pipe }\n`,
    );
    const w = await runJx(["run", "-j3"], { cwd: dir });
    assert.equal(w.code, 0, w.stderr);
    assert.match(
      w.stderr,
      /warning: job build runs ninja with the pipe form of the pool \(its jobserver: pipe\): ninja >= 1\.13 ignores it/,
    );
  },
});

Deno.test("jobStyle: the fifo form for a job that runs ninja and no make; a job's own jobserver: key wins", async () => {
  const { jobStyle } = await import("../../lib/jobserver/mod.ts");
  const sh = (s: string) => ["/bin/sh", "-c", s];
  assert.equal(jobStyle({ name: "a", argv: sh("cmake -G Ninja -B b && ninja -C b") }), "fifo");
  assert.equal(jobStyle({ name: "b", argv: ["/usr/bin/ninja", "all"] }), "fifo");
  assert.equal(jobStyle({ name: "c", argv: sh("env CC=clang nice ninja") }), "fifo");
  assert.equal(jobStyle({ name: "d", argv: sh("make -C a; ninja -C b") }), undefined);
  assert.equal(jobStyle({ name: "e", argv: sh("echo ninja") }), undefined);
  assert.equal(jobStyle({ name: "f", argv: ["ninja"], jobserver: "pipe" }), "pipe");
  assert.equal(jobStyle({ name: "g", argv: ["make"] }), undefined);
});

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] jobserver server: a -j too large for the pool's pipe is exit 2, nothing run, no hang, no temp folder left`, async () => {
    const dir = await tempDir({ "jobs.yaml": "version: 1\njobs:\n  a: {run: touch ran}\n" });
    const tmp = await Deno.makeTempDir({ dir });
    // 2^31 - 1 slots cannot fit (a pipe grows to 1 MiB at most here); 10^20 is no safe integer.
    for (const j of ["2147483647", "99999999999999999999"]) {
      const r = await runJx(["run", `-j${j}`], { cwd: dir, runtime: rt, env: { TMPDIR: tmp } });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /^jx: --jobs: /);
      assert.doesNotMatch(r.stderr, /internal error/);
    }
    // More slots than a default pipe's 64 KiB hold: the pipe grows (it hung, writing the tokens).
    const r = await runJx(["run", "-j100000"], { cwd: dir, runtime: rt, env: { TMPDIR: tmp } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), []);
  });
}
