/**
 * A spawn that fails for lack of resources is that job's failure, with the
 * reason, never an exception out of the run: the epoll reactor with a
 * `pipe2` that fails (as with no file descriptor left) reports the child's
 * exit and leaves no fd open; `LocalRunner` turns a spawn that throws into
 * the job's failure; a real `jx run` under `ulimit -n 64` with 60 jobs at
 * once (from make's pool: its own -j is lowered to what the limit holds)
 * fails the jobs it cannot start and ends the run (exit 1, no internal
 * error, every started job waited for), on Deno and Bun.
 */
import assert from "node:assert/strict";
import { parseJobsFile } from "../lib/graph/mod.ts";
import { createEpollReactor, type ExitStatus, FakeReactor } from "../lib/reactor/mod.ts";
import { type Libc, libc } from "../lib/reactor/libc.ts";
import { LocalRunner, LocalSlots, type RunEvent, runJobs } from "../lib/scheduler/mod.ts";
import { jxCommand, RUNTIMES, tempDir } from "./helpers.ts";

const EMFILE = 24;

/**
 * The real libc whose `pipe2` fails with EMFILE from its `failAt`-th call on
 * (1: the first), and the fds its `pipe2` made that its `close` has not
 * closed yet (`live`): what the reactor opened and left open, whatever
 * other tests running in this process open meanwhile (a count of
 * /proc/self/fd was not: it failed once in CI, 78 against 84).
 */
function pipesRunOut(failAt: number): { libc: Libc; live: Set<number> } {
  const real = libc();
  // errno of the JS thread, written as a failing pipe2 would leave it.
  const errno = new Int32Array(
    Deno.UnsafePointerView.getArrayBuffer(real.symbols.__errno_location()!, 4),
  );
  const live = new Set<number>();
  let calls = 0;
  const pipe2 = (fds: Int32Array, flags: number): number => {
    if (++calls >= failAt) {
      errno[0] = EMFILE;
      return -1;
    }
    const r = real.symbols.pipe2(fds, flags);
    if (r === 0) live.add(fds[0]).add(fds[1]);
    return r;
  };
  const close = (fd: number): number => (live.delete(fd), real.symbols.close(fd));
  return { libc: { symbols: { ...real.symbols, pipe2, close } } as unknown as Libc, live };
}

for (
  const [what, failAt, stdin] of [
    ["the stdout pipe", 1, false],
    ["the stderr pipe (the stdout pipe closed again)", 2, false],
    ["the stdin pipe", 1, true],
    ["the stdout pipe after the stdin pipe (both closed again)", 2, true],
  ] as const
) {
  Deno.test(`spawn [deno epoll] no ${what}: the child's exit says why, no fd left open`, async () => {
    const { libc, live } = pipesRunOut(failAt);
    const r = createEpollReactor({ libc });
    try {
      let started = false;
      let handle: { write?(d: string): void } | undefined;
      const status = await new Promise<ExitStatus>((done) => {
        handle = r.spawn({
          argv: ["/bin/sh", "-c", "echo ran"],
          cwd: "/tmp",
          env: { PATH: "/usr/bin:/bin" },
          ...(stdin ? { stdin: "pipe" as const } : {}),
          onStart: () => started = true,
          onOutput: () => {},
          onExit: done,
        });
      });
      handle?.write?.("dropped\n"); // a handle whose child never started takes writes
      assert.equal(started, false, "no child was started");
      assert.deepEqual({ code: status.code, signal: status.signal }, { code: null, signal: null });
      assert.match(
        status.error ?? "",
        /^cannot start '\/bin\/sh' in \/tmp: pipe2: Too many open files$/,
      );
      assert.deepEqual([...live], [], "what was opened was closed");
    } finally {
      r.close();
    }
  });
}

Deno.test("LocalRunner: a spawn that throws is the job's failure; the run goes on to its end", async () => {
  const g = parseJobsFile(
    "jobs:\n  a: { run: build }\n  b: { run: test }\n  c: { run: pack, needs: [b] }\n",
    "r.yaml",
    { baseDir: "/" },
  );
  const reactor = new FakeReactor((req) => {
    if (req.argv.includes("test")) throw new Error("pipe2: Too many open files");
    return { ms: 10 };
  });
  const events: RunEvent[] = [];
  const done = runJobs(g, g.select([]), {
    reactor,
    runner: new LocalRunner(reactor, new LocalSlots(2)),
    reporters: [{ event: (e) => events.push(e) }],
  });
  await reactor.run();
  const result = await done;
  assert.equal(result.exit, 1);
  const ends = new Map(
    events.flatMap((e) => e.type === "job.end" ? [[e.job, e] as const] : []),
  );
  assert.equal(ends.get("a")?.status, "ok");
  assert.equal(ends.get("b")?.status, "failed");
  assert.match(ends.get("b")?.error ?? "", /^cannot start '.+' in \/: pipe2: Too many open files$/);
  assert.ok(
    events.some((e) => e.type === "job.skip" && e.job === "c"),
    "what needs the job is skipped",
  );
});

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] jx run under ulimit -n 64, 60 jobs at once from make's pool: those that cannot start fail, the run ends`, async () => {
    const jobs = Array.from(
      { length: 60 },
      (_, i) => `  j${i}: { run: "sleep 1; touch done.$JX_JOB" }`,
    );
    // Its own -j would be lowered to what the limit holds (hostile_test): as make's client it
    // takes the slots make offers.
    const [cmd, argv] = jxCommand(rt, ["run"]);
    const dir = await tempDir({
      "jobs.yaml": `version: 1\njobs:\n${jobs.join("\n")}\n`,
      "Makefile": `all:\n\t+${[cmd, ...argv].map((a) => `'${a}'`).join(" ")}\n`,
    });
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", 'ulimit -n 64 && exec "$@"', "sh", "make", "-s", "-j60"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    // What ran had ended when jx exited: no job outlived it.
    const done = Deno.readDirSync(dir).filter((e) => e.name.startsWith("done.")).toArray().length;
    assert.equal(out.code, 2, stderr); // make's, for a recipe that failed
    assert.match(stderr, /\] Error 1\n/, "jx's exit: 1");
    assert.doesNotMatch(stderr, /internal error/);
    assert.match(stderr, /cannot start '.+' in .+: pipe2: Too many open files\n/);
    const m = /FAILED: (\d+) jobs failed, (\d+) ok in /.exec(stderr);
    assert.ok(m, stderr);
    assert.equal(Number(m[1]) + Number(m[2]), 60, stderr);
    assert.ok(Number(m[2]) > 0, "some jobs ran");
    assert.equal(done, Number(m[2]), "every job that started had ended when jx exited");
    await Deno.remove(dir, { recursive: true });
  });
}
