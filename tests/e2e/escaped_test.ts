/**
 * End-to-end: a job whose command leaves a process outside its process group
 * (`setsid cmd &`) that keeps the job's output pipe open after the job's own
 * process has exited. Nothing but the pipe links that process to the job (its
 * parent is gone): the epoll reactor finds it by the pipe's inode in /proc.
 * A timeout and a Ctrl-C reach it; with neither, the job ends a `grace` after
 * its process exited, naming it, and leaves it running (docs/jobs-file.md).
 * Every process a test starts is gone at its end (checked by pid).
 */
import assert from "node:assert/strict";
import {
  alive,
  goneWithin,
  jxCommand,
  killAndWait,
  type LoggedEvent,
  readEvents,
  RUNTIMES,
  sleep,
  tempDir,
  waitForFile,
} from "../helpers.ts";

/** A generous bound: jx waiting this long is waiting for the escaped process (it sleeps 120 s). */
const BOUND_MS = 30_000;

/**
 * Starts `jx run --reactor epoll --events ev.ndjson` in `dir`, in a session of its own (its pid
 * is its group, as a terminal's job); returns it and the escaped process's pid once written.
 */
async function start(rt: (typeof RUNTIMES)[number], dir: string) {
  const [cmd, argv] = jxCommand(rt, ["run", "--reactor", "epoll", "--events", "ev.ndjson"]);
  const child = new Deno.Command("setsid", {
    args: [cmd, ...argv],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pid = Number(await waitForFile(`${dir}/esc.pid`));
  return { child, pid };
}

/** jx's end, or undefined when it still runs after BOUND_MS. */
async function ended(child: Deno.ChildProcess) {
  const out = await Promise.race([child.output(), sleep(BOUND_MS).then(() => undefined)]);
  if (!out) return undefined;
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The job's `job.end`. */
async function jobEnd(dir: string): Promise<LoggedEvent> {
  return (await readEvents(`${dir}/ev.ndjson`)).find((e) => e.type === "job.end")!;
}

/** The test's last word: the escaped process and jx are gone, whatever happened. */
async function cleanUp(child: Deno.ChildProcess, pid: number) {
  if (pid > 1 && alive(pid)) Deno.kill(pid, "SIGKILL");
  await killAndWait(child).catch(() => {});
  for (let i = 0; i < 500 && pid > 1 && alive(pid); i++) await sleep(20);
  assert.ok(!(pid > 1 && alive(pid)), `pid ${pid} is still running`);
}

/** The job: its process exits at once; `inner` runs in a session of its own, on its output. */
const JOB = (inner: string, extra: string) => `
jobs:
  escape:
    run: |
      setsid sh -c '${inner}echo $$ > esc.pid; exec sleep 120' &
      echo started
${extra}`;

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a timeout reaches a setsid child that holds the job's output after the job's process exited`, async () => {
    // The timeout comes long before the grace after the exit would end the job.
    const dir = await tempDir({
      "jobs.yaml": JOB(`trap "" TERM; `, "    timeout: 300ms\n    grace: 3s\n"),
    });
    const { child, pid } = await start(rt, dir);
    try {
      const r = await ended(child);
      assert.ok(r, "jx still waits for the process that left the job's group");
      assert.equal(r.code, 1, r.stderr);
      const end = await jobEnd(dir);
      assert.equal(end.status, "timeout");
      assert.equal(end.left, undefined);
      // It ignored the SIGTERM: the SIGKILL after the grace ended it.
      assert.ok(await goneWithin(pid), "the escaped process is gone");
    } finally {
      await cleanUp(child, pid);
    }
  });

  Deno.test(`[${rt}] Ctrl-C reaches a setsid child that holds the job's output after the job's process exited`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOB(`trap "" TERM; `, "    grace: 3s\n") });
    const { child, pid } = await start(rt, dir);
    try {
      Deno.kill(-child.pid, "SIGINT"); // as a terminal's Ctrl-C: jx's group, not the escaped one
      const r = await ended(child);
      assert.ok(r, "jx still waits for the process that left the job's group");
      assert.equal(r.code, 130, r.stderr);
      assert.ok(await goneWithin(pid), "the escaped process is gone");
    } finally {
      await cleanUp(child, pid);
    }
  });

  Deno.test(`[${rt}] a setsid daemon holding the output: the job ends a grace after its process exited, naming it, and leaves it running`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOB("", "    grace: 500ms\n") });
    const { child, pid } = await start(rt, dir);
    try {
      const r = await ended(child);
      assert.ok(r, "jx still waits for the process that left the job's group");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /started/);
      const end = await jobEnd(dir);
      assert.equal(end.status, "ok");
      assert.deepEqual(end.left, [{ pid, name: "sleep" }]);
      assert.ok(
        r.stderr.includes(`jx: warning: escape: pid ${pid} (sleep) left the job's process group`),
        r.stderr,
      );
      assert.ok(alive(pid), "the daemon is left running");
    } finally {
      await cleanUp(child, pid);
    }
  });

  Deno.test(`[${rt}] a background process of the job's own group holding the output is still waited for`, async () => {
    await waitedFor(rt, "(sleep 1; echo late; echo done > esc.pid) &");
  });

  Deno.test(`[${rt}] a background process that made a group of its own (timeout) is still the job's: waited for`, async () => {
    // coreutils timeout calls setpgid(0, 0): another group, but the job's session still.
    await waitedFor(rt, "timeout 30 sh -c 'sleep 1; echo late; echo done > esc.pid' &");
  });
}

/**
 * A job whose `background` line (writing `late` a second later) outlives its own process, a
 * grace of 100 ms: the job waits for it (its output whole, no `left`, no warning).
 */
async function waitedFor(rt: (typeof RUNTIMES)[number], background: string) {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  late:
    run: |
      ${background}
      echo started
    grace: 100ms
`,
  });
  const { child } = await start(rt, dir);
  const r = await ended(child);
  if (!r) await killAndWait(child);
  assert.ok(r);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /started\nlate\n/);
  assert.equal((await jobEnd(dir)).left, undefined);
  assert.doesNotMatch(r.stderr, /warning/);
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a module's stop at the run's end reaches a setsid child that holds its output`, async () => {
    // The module's own process and a process it left in a session of its own (its parent, a
    // subshell, gone at once) holding the module's output get the stop's SIGTERM: that one by
    // the pipe, which is all that links it to jx.
    const dir = await tempDir({
      "jobs.yaml": `
modules:
  m:
    run: |
      (setsid sh -c 'echo $$ > esc.pid; exec sleep 120' &)
      exec sleep 100
    stop: { signal: TERM, grace: 500ms }
jobs:
  j: { run: "while [ ! -s esc.pid ]; do sleep 0.05; done; echo used", needs: [m] }
`,
    });
    const { child, pid } = await start(rt, dir);
    try {
      const r = await ended(child);
      assert.ok(r, "jx still waits for the process that left the module's group");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /used/);
      assert.ok(await goneWithin(pid), "the escaped process is gone");
    } finally {
      await cleanUp(child, pid);
    }
  });
}
