/**
 * The GNU make jobserver with jx on Bun (`bun cli.ts`): the portable
 * reactor's `watch` (an epoll set waited on in a Worker) and libc through
 * `bun:ffi`. jx as the server of a pool its make sub-makes (make 4.3, pipe
 * form: Bun passes the pool's fds at 3,4) and a nested jx share; jx as a `+`
 * client inside `make -jN`; make 4.4.1's fifo form both ways; the pool whole
 * at the end. Concurrency comes from timestamps the recipes write, never
 * from wall-clock speed.
 */
import assert from "node:assert/strict";
import { BUN, readEvents, ROOT, runJx, tempDir } from "../helpers.ts";
import {
  checkFifoServer,
  checkJobPools,
  clientMakefile,
  findMake44,
  make,
  MAKE_TROUBLE,
  makeRunningJx,
  maxConcurrency,
  nestedServerDir,
  randomTokenGraph,
  recordingJobs,
  recordingMakefile,
  seeded,
  tokensHeld,
  tokenTaker,
} from "./jobserver_helpers.ts";

/** jx on Bun, as a command line inside a jobs file or a Makefile. */
const JX_BUN = `${BUN} ${ROOT}/cli.ts`;

/** How jx runs here: on Bun, outside any make's jobserver. */
const ON_BUN = { runtime: "bun", env: { MAKEFLAGS: "" } } as const;

const MAKE44 = await findMake44("jobserver_bun_test");

/** The pipe form a sub-make sees: Bun.spawn passes the pair at 3,4; posix_spawn as it is. */
const AUTH: Record<string, RegExp> = {
  epoll: /-j3 --jobserver-auth=\d+,\d+/,
  portable: /-j3 --jobserver-auth=3,4/,
};

for (const reactor of ["epoll", "portable"]) {
  Deno.test(`jobserver [bun ${reactor}] server: jx -j3 running three make 4.3 sub-makes and a nested jx never exceeds 3`, async () => {
    const mk = recordingMakefile(["a", "b", "c", "d", "e", "f"], 0.15);
    const dir = await nestedServerDir(mk, JX_BUN);
    const r = await runJx(["run", "-j3", "--reactor", reactor, "--events", "ev.ndjson"], {
      cwd: dir,
      ...ON_BUN,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, MAKE_TROUBLE);
    assert.doesNotMatch(r.stderr, /warning/, "no warning: the pool is whole at the end");
    const c = await maxConcurrency(
      `${dir}/d1/log`,
      `${dir}/d2/log`,
      `${dir}/d3/log`,
      `${dir}/d4/log`,
    );
    assert.equal(c.count, 21);
    assert.ok(c.max <= 3, `at most 3 recipes at once, saw ${c.max}`);
    assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
    // make 4.3 got the pipe form: at the fds Bun.spawn passed (3,4), or inherited as they are
    // (posix_spawn).
    assert.match(await Deno.readTextFile(`${dir}/d1/flags.a`), AUTH[reactor]);
    const start = (await readEvents(`${dir}/ev.ndjson`))[0];
    assert.equal(start.jobserver, "server");
    assert.equal(start.slots, 3);
    const nested = (await readEvents(`${dir}/d4/ev.ndjson`))[0];
    assert.equal(nested.jobserver, "client", "the nested jx (Bun) joined");
  });

  Deno.test(`jobserver [bun ${reactor}] client: make -j3 with two recipes and a + recipe running jx with 8 jobs never exceeds 3`, async () => {
    const jobs = recordingJobs("j", 8, 0.2);
    jobs.push("  m43: { run: make -s -C sub }");
    const dir = await tempDir({
      "Makefile": clientMakefile(JX_BUN, `--reactor ${reactor} `),
      "jobs.inner.yaml": jobs.join("\n") + "\n",
      "sub/Makefile": recordingMakefile(["s1", "s2"], 0.2),
    });
    const r = await make(["-j3"], dir);
    assert.equal(r.code, 0, r.text);
    assert.doesNotMatch(r.text, MAKE_TROUBLE);
    assert.doesNotMatch(r.text, /warning/);
    const c = await maxConcurrency(`${dir}/log`, `${dir}/sub/log`);
    assert.equal(c.count, 12);
    assert.ok(c.max <= 3, `at most 3 at once, saw ${c.max}`);
    assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
    const start = (await readEvents(`${dir}/ev.ndjson`))[0];
    assert.equal(start.jobserver, "client");
    // A job's make gets make's pipe, passed on by Bun.spawn at 3,4, or inherited as it is.
    assert.match(await Deno.readTextFile(`${dir}/sub/flags.s1`), AUTH[reactor]);
  });
}

Deno.test("jobserver [bun] client: SIGINT to jx mid-run gives every token back (make's final check stays silent)", async () => {
  const { pid, interrupt } = await makeRunningJx(JX_BUN);
  assert.ok(pid > 0);
  const text = await interrupt("SIGINT");
  // jx dies of the signal (after giving its tokens back): make names it, not an exit code.
  assert.match(text, /make: \*\*\* \[.*\] Interrupt\n/);
  assert.doesNotMatch(text, /INTERNAL: Exiting with/);
});

Deno.test("jobserver [bun]: random graphs never run more tokens than the pool and leave it whole", async () => {
  const rand = seeded(11);
  for (let round = 0; round < 3; round++) {
    const { j, yaml, tokensOf } = randomTokenGraph(rand);
    const dir = await tempDir({ "jobs.yaml": yaml });
    const r = await runJx(["run", `-j${j}`, "-k", "--events", "ev.ndjson", "--output", "quiet"], {
      cwd: dir,
      ...ON_BUN,
    });
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    assert.doesNotMatch(r.stderr, /jobserver/, "the pool is whole at the end");
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.equal(ev[0].jobserver, "server");
    for (const held of tokensHeld(ev, tokensOf)) {
      assert.ok(held <= j, `round ${round}: ${held} tokens held with -j${j}`);
    }
  }
});

Deno.test("jobserver [bun]: a job that keeps a token is reported at the end", async () => {
  const dir = await tempDir({ "jobs.yaml": tokenTaker("thief", 1) });
  const r = await runJx(["run", "-j4"], { cwd: dir, ...ON_BUN });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /jx: warning: jobserver: 1 token\(s\) were not returned by jobs/);
});

Deno.test({
  name:
    "jobserver [bun] server, fifo style: make 4.4.1 sub-makes, a make 4.3 job (jobserver: pipe) and a none job share jx -j3",
  ignore: !MAKE44,
  fn: async () => {
    await checkFifoServer(MAKE44!, ON_BUN);
  },
});

for (const reactor of ["epoll", "portable"]) {
  Deno.test({
    name:
      `jobserver [bun] server (${reactor}): jobs of tokens 4 (make 4.3) and 3 (make 4.4.1, fifo) get pools of their own`,
    ignore: !MAKE44,
    fn: async () => {
      await checkJobPools(MAKE44!, { ...ON_BUN, reactor });
    },
  });
}

Deno.test({
  name:
    "jobserver [bun] client: make 4.4.1 -j3 (fifo style) runs +jx, which joins through fifo:PATH",
  ignore: !MAKE44,
  fn: async () => {
    const jobs = recordingJobs("j", 6, 0.2);
    jobs.push("  show: { run: 'echo \"$MAKEFLAGS\" > jx.flags' }");
    const dir = await tempDir({
      "Makefile": clientMakefile(JX_BUN),
      "jobs.inner.yaml": jobs.join("\n") + "\n",
    });
    const r = await make(["-j3"], dir, {}, MAKE44);
    assert.equal(r.code, 0, r.text);
    assert.doesNotMatch(r.text, MAKE_TROUBLE);
    assert.doesNotMatch(r.text, /warning/);
    const c = await maxConcurrency(`${dir}/log`);
    assert.equal(c.count, 8);
    assert.ok(c.max <= 3, `at most 3 at once, saw ${c.max}`);
    assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
    const start = (await readEvents(`${dir}/ev.ndjson`))[0];
    assert.equal(start.jobserver, "client");
    assert.match(await Deno.readTextFile(`${dir}/jx.flags`), /--jobserver-auth=fifo:/);
  },
});
