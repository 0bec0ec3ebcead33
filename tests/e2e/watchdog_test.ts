/**
 * jx killed with SIGKILL (no handler of its runs) while jobs and a module run:
 * its watchdog (lib/reactor/watchdog.ts) ends them: SIGTERM, then SIGKILL
 * after the grace for a job whose processes ignore SIGTERM. A run that ends
 * normally leaves no watchdog behind. On Deno and Bun, both reactors. Every
 * wait polls with a generous bound; no assertion is about wall-clock speed.
 */
import assert from "node:assert/strict";
import {
  alive,
  jxCommand,
  killAndWait,
  parentOf,
  type Runtime,
  RUNTIMES,
  sleep,
  stateOf,
  tempDir,
  waitForFile,
  within,
} from "../helpers.ts";

/**
 * `m` (a module) and `a` (a job that needs it) are one `sleep` each; `b`'s shell and its `sleep`
 * ignore SIGTERM (`trap "" TERM` is inherited), so only a SIGKILL ends them; `d` is a module whose
 * leader leaves a daemon in its group and exits, and `c` a job that leaves a process with its
 * output closed and ends: jx no longer signals it, nor does the watchdog.
 */
const JOBS = `modules:
  m: { run: 'echo $$ > m.pid; exec sleep 1000', stop: { grace: 1s } }
  d: { run: 'sleep 1000 > /dev/null 2>&1 & echo $! > d.pid', stop: { grace: 1s } }
jobs:
  a: { run: 'echo $$ > a.pid; exec sleep 1000', needs: [m, d], grace: 1s }
  b: { run: 'trap "" TERM; sleep 1000 & echo $$ $! > b.pid; wait', grace: 1s }
  c: { run: 'sleep 1000 > /dev/null 2>&1 & echo $! > c.pid', grace: 1s }
`;

/** The watchdog of jx `jx` (its `sh`, and the `awk` under it): pids, none when it has none. */
function watchdogOf(jx: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
      const i = argv.indexOf("jx-watchdog");
      if (i < 0 || argv[i + 2] !== String(jx) || !alive(Number(e.name))) continue;
      out.push(Number(e.name));
    } catch { /* gone */ }
  }
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    if (out.includes(parentOf(e.name)) && alive(Number(e.name))) out.push(Number(e.name));
  }
  return out;
}

/** The watchdog of `jx` (its sh and awk) once both run; fewer pids when they did not within 30 s. */
async function watchdogOfRunning(jx: Deno.ChildProcess): Promise<number[]> {
  let watchdog: number[] = [];
  await within(30_000, () => (watchdog = watchdogOf(jx.pid)).length === 2);
  return watchdog;
}

/** Whether the events file shows `a` and `b` started, `c` ended, `m` and `d` running. */
function allStarted(dir: string): boolean {
  let text = "";
  try {
    text = Deno.readTextFileSync(`${dir}/ev.ndjson`);
  } catch {
    return false;
  }
  const seen = new Set<string>();
  for (const line of text.split("\n")) {
    try {
      const e = JSON.parse(line);
      if (e.type === "job.start" && e.job !== "c") seen.add(e.job);
      if (e.type === "job.end") seen.add(e.job);
      if (e.type === "module.state" && e.state === "running") seen.add(e.module);
    } catch { /* a line being written */ }
  }
  return ["a", "b", "c", "d", "m"].every((n) => seen.has(n));
}

function startJx(runtime: Runtime, args: string[], cwd: string): Deno.ChildProcess {
  const [cmd, argv] = jxCommand(runtime, args);
  return new Deno.Command(cmd, {
    args: argv,
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

for (const runtime of RUNTIMES) {
  for (const reactor of ["epoll", "portable"]) {
    Deno.test(`${runtime} (${reactor}): kill -9 of jx ends its jobs and modules, then its watchdog`, async () => {
      const dir = await Deno.realPath(await tempDir({ "jobs.yaml": JOBS }));
      const jx = startJx(runtime, ["run", "--reactor", reactor, "--events", "ev.ndjson"], dir);
      let pids: number[] = [];
      let left = 0; // c's process
      try {
        const [m, d, a, b, c] = [
          await waitForFile(`${dir}/m.pid`, 30_000),
          await waitForFile(`${dir}/d.pid`, 30_000),
          await waitForFile(`${dir}/a.pid`, 30_000),
          await waitForFile(`${dir}/b.pid`, 30_000),
          await waitForFile(`${dir}/c.pid`, 30_000),
        ];
        pids = [m, d, a, ...b.split(" ")].map(Number);
        left = Number(c);
        assert.equal(pids.length, 5, b);
        assert.ok(await within(30_000, () => allStarted(dir)), "a, b, m and d run, c ended");
        // What jx wrote at those events (a write at the end of their turn) reaches the watchdog.
        await sleep(300);
        const watchdog = await watchdogOfRunning(jx);
        const watched = watchdog.length === 2;
        assert.ok(pids.every(alive), "every process runs before the kill");
        jx.kill("SIGKILL");
        await jx.status;
        const gone = await within(30_000, () => !pids.some(alive));
        assert.ok(gone, `left running: ${pids.filter(alive)}`);
        assert.ok(watched, "the watchdog's sh and awk ran");
        assert.ok(alive(left), "c's process, no longer c's, is not signalled");
        assert.ok(await within(30_000, () => !watchdog.some(alive)), "the watchdog exited");
      } finally {
        await killAndWait(jx);
        for (const p of [...pids, left].filter((p) => p && alive(p))) Deno.kill(p, "SIGKILL");
      }
    });
  }

  for (const reactor of ["epoll", "portable"]) {
    Deno.test(`${runtime} (${reactor}): a run that ends normally leaves no watchdog behind`, async () => {
      const dir = await Deno.realPath(
        await tempDir({
          "jobs.yaml": `modules:
  m: { run: exec sleep 1000 }
jobs:
  a: { run: 'touch started; while [ ! -e go ]; do sleep 0.05; done', needs: [m] }
`,
        }),
      );
      const jx = startJx(runtime, ["run", "--reactor", reactor], dir);
      try {
        await endsWithItsWatchdog(jx, dir, 0);
      } finally {
        // Failed before its end: the job's loop ends by itself, and jx stops the module (a
        // SIGKILL alone left both running for good once, with no watchdog to end them).
        await Deno.writeTextFile(`${dir}/go`, "").catch(() => {});
        try {
          jx.kill("SIGTERM");
        } catch { /* ended */ }
        await Promise.race([jx.status, sleep(10_000)]);
        await killAndWait(jx);
      }
    });
  }
}

for (const runtime of RUNTIMES) {
  for (const command of ["watch", "sh", "exec"]) {
    Deno.test(`${runtime}: kill -9 of jx ${command} ends the command it runs`, async () => {
      const dir = await Deno.realPath(
        await tempDir({
          "jobs.yaml": "jobs:\n  w: { run: 'echo $$ > w.pid; exec sleep 1000' }\n",
          "script.sh": "sh -c 'echo $$ > w.pid; exec sleep 1000'\n",
        }),
      );
      const args = {
        watch: ["watch", "w"],
        sh: ["sh", "script.sh"],
        // Its command runs in a session of its own: only the watchdog can end it.
        exec: ["exec", "-j2", "--", "sh", "script.sh"],
      }[command]!;
      const jx = startJx(runtime, args, dir);
      let pid = 0;
      try {
        pid = Number(await waitForFile(`${dir}/w.pid`, 30_000));
        const watchdog = await watchdogOfRunning(jx);
        const watched = watchdog.length === 2;
        // What jx wrote at the start (a write at the end of its turn) reaches the watchdog.
        await sleep(300);
        jx.kill("SIGKILL");
        await jx.status;
        assert.ok(await within(30_000, () => !alive(pid)), "the command was ended");
        assert.ok(watched, "the watchdog's sh and awk ran");
        assert.ok(await within(30_000, () => !watchdog.some(alive)), "the watchdog exited");
      } finally {
        await killAndWait(jx);
        if (pid && alive(pid)) Deno.kill(pid, "SIGKILL");
      }
    });
  }
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: jx exec whose command ends leaves no watchdog behind, with its exit code`, async () => {
    const dir = await Deno.realPath(
      await tempDir({
        "cmd.sh": "touch started; while [ ! -e go ]; do sleep 0.05; done; exit 3\n",
      }),
    );
    const jx = startJx(runtime, ["exec", "--", "sh", "cmd.sh"], dir);
    try {
      await endsWithItsWatchdog(jx, dir, 3);
    } finally {
      await Deno.writeTextFile(`${dir}/go`, "").catch(() => {});
      await Promise.race([jx.status, sleep(10_000)]);
      await killAndWait(jx);
    }
  });
}

/**
 * Once `dir/started` exists (what jx runs is running), jx's watchdog (its sh and awk) runs; then
 * `dir/go` is written, which ends it: jx exits `code`, and its watchdog after it.
 */
async function endsWithItsWatchdog(jx: Deno.ChildProcess, dir: string, code: number) {
  const started = () => {
    try {
      return Deno.statSync(`${dir}/started`).isFile;
    } catch {
      return false;
    }
  };
  assert.ok(await within(30_000, started), "what jx runs started");
  const watchdog = await watchdogOfRunning(jx);
  assert.equal(watchdog.length, 2, "the watchdog's sh and awk run");
  await Deno.writeTextFile(`${dir}/go`, "");
  assert.equal((await jx.status).code, code);
  assert.ok(await within(30_000, () => !watchdog.some(alive)), "the watchdog exited");
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: kill -9 of jx stopped by Ctrl-Z ends its stopped jobs`, async () => {
    const dir = await Deno.realPath(
      await tempDir({
        "jobs.yaml": "jobs:\n  w: { run: 'echo $$ > w.pid; exec sleep 1000', grace: 1s }\n",
      }),
    );
    const jx = startJx(runtime, ["run"], dir);
    let pid = 0;
    try {
      pid = Number(await waitForFile(`${dir}/w.pid`, 30_000));
      const watchdog = await watchdogOfRunning(jx);
      const watched = watchdog.length === 2;
      Deno.kill(jx.pid, "SIGTSTP");
      // jx stops the job's group (SIGSTOP), then itself.
      const stopped = () => stateOf(pid) === "T" && stateOf(jx.pid) === "T";
      assert.ok(
        await within(30_000, stopped),
        `stopped: job ${stateOf(pid)}, jx ${stateOf(jx.pid)}`,
      );
      jx.kill("SIGKILL");
      await jx.status;
      assert.ok(
        await within(30_000, () => !alive(pid)),
        `the stopped job was ended: ${stateOf(pid)}`,
      );
      assert.ok(watched, "the watchdog's sh and awk ran");
      assert.ok(await within(30_000, () => !watchdog.some(alive)), "the watchdog exited");
    } finally {
      await killAndWait(jx);
      if (pid && alive(pid)) Deno.kill(pid, "SIGKILL");
    }
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: kill -9 of jx as its first job starts ends the jobs it had started but not yet heard the pid of`, async () => {
    // Eight jobs start at once; jx is killed as soon as the first one runs: the others have been
    // spawned, and jx had not yet heard the pids of some (a spawn's result comes back later:
    // Bun's workers, Deno's nonblocking calls), so they were never listed: 2-4 of 8 ran on.
    const jobs = ["jobs:"];
    for (let n = 0; n < 8; n++) jobs.push(`  j${n}: { run: 'echo $$ > p${n}; exec sleep 1000' }`);
    const dir = await tempDir({ "jobs.yaml": jobs.join("\n") + "\n" });
    const left: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (let n = 0; n < 8; n++) await Deno.remove(`${dir}/p${n}`).catch(() => {});
      const [cmd, args] = jxCommand(runtime, ["run", "-j8", "--output", "quiet"]);
      const jx = new Deno.Command(cmd, { args, cwd: dir, stdout: "null", stderr: "null" }).spawn();
      await waitForFile(`${dir}/p0`);
      await killAndWait(jx);
      const pids = () => {
        const out: number[] = [];
        for (let n = 0; n < 8; n++) {
          try {
            const p = Number(Deno.readTextFileSync(`${dir}/p${n}`));
            if (p && alive(p)) out.push(p);
          } catch { /* not started */ }
        }
        return out;
      };
      await within(20_000, () => pids().length === 0);
      for (const p of pids()) {
        left.push(`round ${round}: ${p}`);
        Deno.kill(p, "SIGKILL");
      }
    }
    assert.deepEqual(left, []);
    await Deno.remove(dir, { recursive: true });
  });
}
