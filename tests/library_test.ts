/**
 * jx as a library, in process, through `mod.ts` as a user imports it: what
 * `runJobs` does with options a caller got wrong, and what it leaves behind.
 */
import assert from "node:assert/strict";
import { inTempDir } from "./helpers.ts";
import {
  type ConsoleOptions,
  ConsoleReporter,
  createPortableReactor,
  createReactor,
  type CtlLimits,
  guardReactor,
  type JobFeed,
  JxInputError,
  loadJobsFile,
  LocalRunner,
  LocalSlots,
  parseJobsFile,
  type RunControl,
  runJobs,
  type RunResult,
} from "../mod.ts";

/** How a run settled within `ms`: its status, its error's class and message, or `pending`. */
function settled(run: Promise<RunResult>, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise<string>((r) => timer = setTimeout(() => r("pending"), ms));
  const result = run.then(
    (r) => `resolved ${r.status}`,
    (e) => `rejected ${e instanceof JxInputError ? "JxInputError" : e?.name}: ${e?.message}`,
  );
  return Promise.race([result, pending]).finally(() => clearTimeout(timer));
}

Deno.test("runJobs: jobs selected from another graph are bad input, before anything starts", () =>
  inTempDir(async (dir) => {
    const graph = parseJobsFile("jobs:\n  a: { run: 'true' }\n", `${dir}/jobs.yaml`);
    const other = parseJobsFile("jobs:\n  b: { run: 'true' }\n", `${dir}/jobs.yaml`);
    const events: string[] = [];
    const run = runJobs(graph, other.jobs, {
      reactor: createPortableReactor(),
      reporters: [{ event: (e) => events.push(e.type) }],
    });
    assert.equal(
      await settled(run, 5000),
      "rejected JxInputError: job 'b' is not in the graph it is run with (select jobs from that graph)",
    );
    // Nothing began: no run.start, and no signal listener left behind (the test's sanitizer).
    assert.deepEqual(events, []);
    // A second parse of the same file selects the same jobs: that is no mistake.
    const again = parseJobsFile("jobs:\n  a: { run: 'true' }\n", `${dir}/jobs.yaml`);
    const ok = runJobs(graph, again.jobs, { reactor: createPortableReactor() });
    assert.equal(await settled(ok, 5000), "resolved ok");
  }));

Deno.test("runJobs: RunControl is filled in when runJobs returns, with feeds too, so a cancel at once ends the run", () =>
  inTempDir(async (dir) => {
    const graph = parseJobsFile("jobs:\n  a: { run: 'true' }\n", `${dir}/jobs.yaml`);
    for (const withFeed of [false, true]) {
      const control: RunControl = {};
      // A feed that never ends: only the cancel ends the run.
      const feeds = withFeed ? [{ name: "f", stream: new ReadableStream<Uint8Array>() }] : [];
      const run = runJobs(graph, graph.jobs, {
        reactor: createPortableReactor(),
        handleSignals: false,
        control,
        feeds,
      });
      assert.equal(typeof control.cancel, "function", `with a feed: ${withFeed}`);
      assert.equal(typeof control.stop, "function", `with a feed: ${withFeed}`);
      control.cancel!();
      assert.equal(await settled(run, 5000), "resolved cancelled", `with a feed: ${withFeed}`);
    }
  }));

Deno.test("runJobs: an AbortSignal cancels the run (its jobs get SIGTERM, even from within job.start); one aborted before rejects, nothing started", () =>
  inTempDir(async (dir) => {
    const graph = parseJobsFile(
      "jobs:\n  slow: { run: 'echo $$ > pid.txt; exec sleep 30', cwd: . }\n  after: { run: 'true', needs: [slow] }\n",
      `${dir}/jobs.yaml`,
    );
    for (const withFeed of [false, true]) {
      const abort = new AbortController();
      const events: string[] = [];
      const feeds = withFeed ? [{ name: "f", stream: new ReadableStream<Uint8Array>() }] : [];
      const run = runJobs(graph, graph.jobs, {
        reactor: createPortableReactor(),
        handleSignals: false,
        signal: abort.signal,
        feeds,
        reporters: [{
          event: (e) => {
            events.push(
              e.type === "job.skip"
                ? `${e.type} ${e.job} ${e.reason}`
                : e.type === "job.end"
                ? `${e.type} ${e.signal}`
                : e.type,
            );
            if (e.type === "job.start") abort.abort();
          },
        }],
      });
      assert.equal(await settled(run, 10_000), "resolved cancelled", `with a feed: ${withFeed}`);
      // Stopped by the SIGTERM sent from within job.start, not by the SIGKILL after its grace.
      assert.deepEqual(events, [
        "run.start",
        "job.start",
        "job.end SIGTERM",
        "job.skip after cancelled",
        "run.end",
      ]);
      const pid = Number(await Deno.readTextFile(`${dir}/pid.txt`).catch(() => "0"));
      if (pid) assert.throws(() => Deno.kill(pid, "SIGCONT"), `sleep ${pid} stopped`);
    }
    const events: string[] = [];
    const run = runJobs(graph, graph.jobs, {
      reactor: createPortableReactor(),
      signal: AbortSignal.abort(),
      reporters: [{ event: (e) => events.push(e.type) }],
    });
    assert.match(await settled(run, 5000), /^rejected AbortError/);
    assert.deepEqual(events, []);
  }));

Deno.test("runJobs: jobs that is not a whole number of at least 1 is bad input, not a run whose every job fails", () =>
  inTempDir(async (dir) => {
    const graph = parseJobsFile("jobs:\n  a: { run: 'true' }\n", `${dir}/jobs.yaml`);
    for (const jobs of [NaN, 0, -2, 1.5, Infinity]) {
      const run = runJobs(graph, graph.jobs, { reactor: createPortableReactor(), jobs });
      assert.equal(
        await settled(run, 5000),
        `rejected JxInputError: RunOptions.jobs: expected a whole number of at least 1, got ${jobs}`,
      );
    }
    const run = runJobs(graph, graph.jobs, { reactor: createPortableReactor(), jobs: 3 });
    assert.equal(await settled(run, 5000), "resolved ok");
  }));

Deno.test("mod.ts names the types its classes take: ConsoleOptions, CtlLimits", () =>
  inTempDir(async (dir) => {
    const graph = parseJobsFile("jobs:\n  hi: { run: echo hi }\n", `${dir}/jobs.yaml`);
    let text = "";
    const options: ConsoleOptions = {
      mode: "stream",
      color: false,
      statusLine: false,
      write: (_fd, t) => text += typeof t === "string" ? t : new TextDecoder().decode(t),
    };
    const console = new ConsoleReporter(options);
    await runJobs(graph, graph.jobs, { reactor: createPortableReactor(), reporters: [console] });
    assert.match(text, /\[hi\] +hi\n/);
    const limits: Partial<CtlLimits> = { idleMs: 1000 };
    assert.equal(limits.idleMs, 1000);
  }));

Deno.test("runJobs on an epoll reactor closed already: its jobs fail to start, the run ends", () =>
  inTempDir(async (dir) => {
    const graph = parseJobsFile("jobs:\n  a: { run: 'true' }\n", `${dir}/jobs.yaml`);
    const reactor = createReactor("epoll");
    const first = runJobs(graph, graph.jobs, { reactor, handleSignals: false });
    assert.equal(await settled(first, 5000), "resolved ok");
    reactor.close();
    const errors: string[] = [];
    const again = runJobs(graph, graph.jobs, {
      reactor,
      handleSignals: false,
      reporters: [{ event: (e) => e.type === "job.end" && errors.push(e.error ?? "") }],
    });
    assert.equal(await settled(again, 5000), "resolved failed");
    assert.deepEqual(errors, [`cannot start '/bin/sh' in ${dir}: the reactor is closed`]);
  }));

Deno.test("a graph's baseDir is the loader's (given, or the jobs file's folder), also read back from the graph cache", () =>
  inTempDir(async (dir) => {
    const text = "jobs:\n  a: { run: 'true', reads: [in.txt] }\n";
    assert.equal(parseJobsFile(text, `${dir}/jobs.yaml`).baseDir, dir);
    assert.equal(parseJobsFile(text, `${dir}/jobs.yaml`, { baseDir: "/srv/p" }).baseDir, "/srv/p");
    // Big enough for the graph cache: the second load is read back from it.
    const big = "jobs:\n" +
      Array.from({ length: 3000 }, (_, i) => `  j${i}: { run: 'true' }\n`).join("");
    await Deno.writeTextFile(`${dir}/jobs.yaml`, big);
    for (let round = 0; round < 2; round++) {
      const g = loadJobsFile(`${dir}/jobs.yaml`, { baseDir: `${dir}/sub` });
      assert.equal(g.fromCache === true, round === 1, `round ${round}`);
      assert.equal(g.baseDir, `${dir}/sub`);
    }
  }));

for (const kind of ["epoll", "portable"] as const) {
  Deno.test(`runJobs: the ${kind} reactor closed while its jobs run: they are killed, the run ends failed`, () =>
    inTempDir(async (dir) => {
      const graph = parseJobsFile(
        "jobs:\n  a: { run: 'sleep 30' }\n  b: { run: 'true', needs: [a] }\n",
        `${dir}/jobs.yaml`,
      );
      const reactor = createReactor(kind);
      const ends: string[] = [];
      const run = runJobs(graph, graph.jobs, {
        reactor,
        handleSignals: false,
        reporters: [{
          event: (e) => {
            if (e.type === "job.start") queueMicrotask(() => reactor.close());
            if (e.type === "job.end") ends.push(`${e.job} ${e.status} ${e.signal}`);
          },
        }],
      });
      // Pending for good before: the child's exit was never reported after the close.
      assert.equal(await settled(run, 10_000), "resolved failed");
      assert.deepEqual(ends, ["a failed SIGKILL"]);
    }));
}

Deno.test("runJobs: a selection with a module and no RunOptions.modules is bad input", () =>
  inTempDir(async (dir) => {
    const graph = parseJobsFile(
      "modules:\n  db: { run: 'sleep 60' }\njobs:\n  a: { run: 'true', needs: [db] }\n",
      `${dir}/jobs.yaml`,
    );
    const run = runJobs(graph, graph.select([]), { reactor: createPortableReactor() });
    assert.equal(
      await settled(run, 5000),
      "rejected JxInputError: the selection holds modules (db): pass RunOptions.modules (a Supervisor)",
    );
  }));

Deno.test("runJobs: a job selected twice (selections joined) runs once; a name in the selection is bad input", () =>
  inTempDir(async (dir) => {
    const graph = parseJobsFile(
      "jobs:\n  gen: { run: 'echo x >> gen.log', cwd: . }\n  a: { run: 'true', needs: [gen] }\n  b: { run: 'true', needs: [gen] }\n",
      `${dir}/jobs.yaml`,
    );
    const events: string[] = [];
    const run = runJobs(graph, [...graph.select(["a"]), ...graph.select(["b"])], {
      reactor: createPortableReactor(),
      handleSignals: false,
      jobs: 2,
      reporters: [{ event: (e) => e.type === "job.end" && events.push(e.job) }],
    });
    assert.equal(await settled(run, 5000), "resolved ok");
    assert.deepEqual(events.sort(), ["a", "b", "gen"]);
    assert.equal(await Deno.readTextFile(`${dir}/gen.log`), "x\n");
    const named = runJobs(graph, ["a"] as never[], { reactor: createPortableReactor() });
    assert.equal(
      await settled(named, 5000),
      "rejected JxInputError: the selection holds 'a', not a job (select jobs with graph.select([...names]))",
    );
  }));

Deno.test("runJobs: a state's check, or a runner's start, that throws stops the run and rejects once its jobs are gone", async () => {
  const dir = await Deno.makeTempDir();
  const pids: number[] = [];
  try {
    // `slow` starts first; `after` is offered once `gate` ends, `early` at once.
    const graph = parseJobsFile(
      "jobs:\n  slow: { run: 'echo $$ > pid.txt; exec sleep 30', cwd: . }\n" +
        "  gate: { run: 'sleep 0.2' }\n  after: { run: 'true', needs: [gate] }\n",
      `${dir}/jobs.yaml`,
    );
    const reactor = createPortableReactor();
    const bad = (name: string) => {
      throw new Error(`no verdict on ${name}`);
    };
    const runner = new LocalRunner(reactor, new LocalSlots(3));
    const start = runner.start.bind(runner);
    const throwing = [
      {
        state: {
          check: (s: { name: string }) => s.name === "after" ? bad(s.name) : { upToDate: false },
          succeeded() {},
        },
      },
      {
        runner: Object.assign(runner, {
          start: (req: Parameters<typeof start>[0], sink: Parameters<typeof start>[1]) =>
            req.spec.name === "after" ? bad("after") : start(req, sink),
        }),
      },
    ];
    for (const opts of throwing) {
      await Deno.remove(`${dir}/pid.txt`).catch(() => {});
      const ends: string[] = [];
      const run = runJobs(graph, graph.jobs, {
        reactor,
        jobs: 3,
        handleSignals: false,
        reporters: [{
          event: (e) => e.type === "job.end" && ends.push(`${e.job} ${e.status} ${e.error ?? ""}`),
        }],
        ...opts,
      });
      assert.equal(await settled(run, 10_000), "rejected Error: no verdict on after");
      const pid = Number(await Deno.readTextFile(`${dir}/pid.txt`));
      pids.push(pid);
      // Rejected once `slow` was stopped, not while it ran on.
      assert.throws(() => Deno.kill(pid, "SIGCONT"), `sleep ${pid} stopped`);
      assert.deepEqual(ends.sort(), [
        "after failed cannot start: no verdict on after",
        "gate ok ",
        "slow cancelled ",
      ]);
    }
  } finally {
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone, as it should be */ }
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runJobs: a feed without a name is bad input, not an unhandled rejection", () =>
  inTempDir(async (dir) => {
    const graph = parseJobsFile("jobs:\n  a: { run: 'true' }\n", `${dir}/jobs.yaml`);
    for (const name of [undefined, ""]) {
      const line = JSON.stringify({ name: "x", run: "true" }) + "\n";
      const feed = { name, stream: new Blob([line]).stream() } as unknown as JobFeed;
      const run = runJobs(graph, graph.jobs, {
        reactor: createPortableReactor(),
        handleSignals: false,
        feeds: [feed],
      });
      assert.equal(
        await settled(run, 5000),
        `rejected JxInputError: RunOptions.feeds: a feed's name must be a non-empty string, got ${
          name === "" ? "''" : name
        }`,
      );
    }
  }));

Deno.test("library: arguments of the wrong type are bad input that says which (select, parseJobsFile, createReactor)", () => {
  const graph = parseJobsFile(
    "jobs:\n  b: { run: 'true' }\n  u: { run: 'true' }\n",
    "/v/jobs.yaml",
  );
  const bad = (f: () => unknown, message: string) =>
    assert.throws(f, (e) => e instanceof JxInputError && e.message === message);
  // A string was iterated: select("bu") selected b and u.
  bad(
    () => graph.select("bu" as unknown as string[]),
    "select: expected a list of job names, got the string 'bu'",
  );
  bad(
    () => graph.selectForRun("b" as unknown as string[]),
    "select: expected a list of job names, got the string 'b'",
  );
  bad(
    () => parseJobsFile(undefined as unknown as string, "/v/jobs.yaml"),
    "parseJobsFile: text must be a string, got undefined",
  );
  bad(
    () => parseJobsFile("jobs: {}\n", undefined as unknown as string),
    "parseJobsFile: file must be a string, got undefined",
  );
  // A typo was taken for epoll.
  bad(
    () => createReactor("Portable" as "portable"),
    `createReactor: expected "auto", "epoll" or "portable", got "Portable"`,
  );
  // A negative or NaN grace reached the watchdog's `sleep` as it was.
  const inner = createPortableReactor();
  try {
    for (const [grace, shown] of [[-1, "-1"], [NaN, "NaN"], ["5s", '"5s"']] as const) {
      bad(
        () => guardReactor(inner, grace as number),
        `guardReactor: graceMs: expected a number of milliseconds, 0 or more, got ${shown}`,
      );
    }
  } finally {
    inner.close();
  }
});

Deno.test("runJobs: a baseEnv or extraEnv value that is not a string is bad input, before anything starts", () =>
  inTempDir(async (dir) => {
    const graph = parseJobsFile("jobs:\n  a: { run: 'true' }\n", `${dir}/jobs.yaml`);
    const cases: [Partial<Record<"baseEnv" | "extraEnv", Record<string, string>>>, string][] = [
      [{ baseEnv: { PATH: "/usr/bin:/bin", N: 1 as unknown as string } }, "baseEnv.N", "number"],
      [{ extraEnv: { X: undefined as unknown as string } }, "extraEnv.X", "undefined"],
      [{ extraEnv: { X: null as unknown as string } }, "extraEnv.X", "null"],
    ].map(([env, key, type]) => [
      env as Record<string, Record<string, string>>,
      `rejected JxInputError: RunOptions.${key}: expected a string, got ${type}`,
    ]);
    for (const [env, expected] of cases) {
      for (const reactor of [createPortableReactor(), createReactor("auto")]) {
        const events: string[] = [];
        const run = runJobs(graph, graph.jobs, {
          reactor,
          handleSignals: false,
          reporters: [{ event: (e) => events.push(e.type) }],
          ...env,
        });
        assert.equal(await settled(run, 5000), expected);
        assert.deepEqual(events, []);
        reactor.close();
      }
    }
  }));

Deno.test("runJobs: a cancel while the run is suspended (RunControl.suspend) ends its jobs by their SIGTERM, not the SIGKILL after their grace", () =>
  inTempDir(async (dir) => {
    // The grace is long: a job that ends by SIGKILL ends after the test's bound.
    const graph = parseJobsFile(
      "jobs:\n  slow: { run: 'exec sleep 30', grace: 60s }\n",
      `${dir}/jobs.yaml`,
    );
    const control: RunControl = {};
    const ends: string[] = [];
    const run = runJobs(graph, graph.jobs, {
      reactor: createPortableReactor(),
      handleSignals: false,
      control,
      reporters: [{
        event: (e) => {
          // Once the job's handle is there (within job.start, the runner has not returned it).
          if (e.type === "job.start") {
            setTimeout(() => (control.suspend!(true), control.cancel!()), 50);
          }
          if (e.type === "job.end") ends.push(`${e.job} ${e.signal}`);
        },
      }],
    });
    assert.equal(await settled(run, 10_000), "resolved cancelled");
    assert.deepEqual(ends, ["slow SIGTERM"]);
  }));

Deno.test("runJobs: RunControl.suspend from within a job's job.start stops that job too", () =>
  inTempDir(async (dir) => {
    const graph = parseJobsFile("jobs:\n  slow: { run: 'exec sleep 30' }\n", `${dir}/jobs.yaml`);
    const control: RunControl = {};
    let pid = 0;
    const run = runJobs(graph, graph.jobs, {
      reactor: createPortableReactor(),
      handleSignals: false,
      control,
      reporters: [{
        event: (e) => {
          if (e.type === "job.start") pid = e.pid, control.suspend!(true);
        },
      }],
    });
    // The process state in /proc/PID/stat: T once stopped.
    const state = () => Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]?.[0];
    for (let i = 0; i < 600 && !(pid && state() === "T"); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(state(), "T", `sleep ${pid} stopped`);
    control.cancel!();
    assert.equal(await settled(run, 10_000), "resolved cancelled");
  }));
