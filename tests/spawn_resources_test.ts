/**
 * A spawn that fails for lack of resources is that job's failure, with the
 * reason, never an exception out of the run: the epoll reactor with a
 * `pipe2` that fails (as with no file descriptor left) reports the child's
 * exit and leaves no fd open; `LocalRunner` turns a spawn that throws into
 * the job's failure; the library's `runJobs` (which fits no `-j` to the
 * limit) under `ulimit -n 64` with 60 jobs at once fails the jobs it cannot
 * start and ends the run (exit 1, every started job waited for); `jx run` as
 * the client of a `make -j60` under the same limit takes no more of make's
 * tokens at once than the limit holds, and no job fails; on Deno and Bun.
 */
import assert from "node:assert/strict";
import { parseJobsFile } from "../lib/graph/mod.ts";
import { createEpollReactor, type ExitStatus, FakeReactor } from "../lib/reactor/mod.ts";
import { type Libc, libc } from "../lib/reactor/libc.ts";
import { LocalRunner, LocalSlots, type RunEvent, runJobs } from "../lib/scheduler/mod.ts";
import { BUN, DENO, jxCommand, ROOT, RUNTIMES, tempDir } from "./helpers.ts";

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
  Deno.test(`[${rt}] runJobs (the library: no limit fitted) under ulimit -n 64, 60 jobs at once: those that cannot start fail, the run ends`, async () => {
    const dir = await tempDir({
      "use.ts": `
        import { createReactor, parseJobsFile, runJobs } from "${ROOT}/mod.ts";
        const jobs = Array.from({ length: 60 }, (_, i) => \`  j\${i}: { run: "sleep 1; touch done.$JX_JOB" }\`);
        const graph = parseJobsFile(\`jobs:\\n\${jobs.join("\\n")}\\n\`, "jobs.yaml");
        const errors = [];
        const reporter = { event: (e) => e.type === "job.end" && e.error && errors.push(e.error) };
        const r = await runJobs(graph, graph.jobs, { reactor: createReactor("epoll"), jobs: 60, reporters: [reporter] });
        const failed = [...r.results.values()].filter((x) => x.status === "failed");
        console.log(r.exit, failed.length, r.results.size, errors[0] ?? "");
      `,
    });
    const [cmd, args] = rt === "bun"
      ? [BUN, ["use.ts"]]
      : [DENO, ["run", "-A", "--quiet", "use.ts"]];
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", 'ulimit -n 64 && exec "$@"', "sh", cmd, ...args],
      cwd: dir,
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const [exit, failed, total, ...why] = stdout.trim().split(" ");
    assert.equal(exit, "1", stdout);
    assert.equal(total, "60", stdout);
    assert.ok(Number(failed) > 0, stdout);
    assert.match(why.join(" "), /^cannot start '.+' in .+: pipe2: Too many open files$/);
    // What ran had ended when runJobs settled: no job outlived it.
    const done = Deno.readDirSync(dir).filter((e) => e.name.startsWith("done.")).toArray().length;
    assert.equal(done, 60 - Number(failed), "every job that started had ended");
    await Deno.remove(dir, { recursive: true });
  });

  Deno.test(`[${rt}] jx run as the client of make -j60 under ulimit -n 64: no more jobs at once than the limit holds, none fails`, async () => {
    const jobs = Array.from(
      { length: 60 },
      (_, i) => `  j${i}: { run: "sleep 0.2; touch done.$JX_JOB" }`,
    );
    const [cmd, argv] = jxCommand(rt, ["run", "--events", "events.ndjson"]);
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
    assert.equal(out.code, 0, stderr);
    assert.doesNotMatch(stderr, /Too many open files|internal error/);
    const m = /-j60: at most (\d+) jobs run at once within the open-files limit \(ulimit -n 64;/
      .exec(stderr);
    assert.ok(m, stderr);
    const fit = Number(m[1]);
    assert.ok(fit >= 1 && fit < 60, stderr);
    const done = Deno.readDirSync(dir).filter((e) => e.name.startsWith("done.")).toArray().length;
    assert.equal(done, 60);
    // The events' starts and ends, in order: never more than `fit` running.
    let running = 0, peak = 0;
    for (const line of (await Deno.readTextFile(`${dir}/events.ndjson`)).trim().split("\n")) {
      const e = JSON.parse(line);
      if (e.type === "job.start") peak = Math.max(peak, ++running);
      if (e.type === "job.end") running--;
    }
    assert.ok(peak > 1 && peak <= fit, `peak ${peak}, fit ${fit}`);
    await Deno.remove(dir, { recursive: true });
  });
}
