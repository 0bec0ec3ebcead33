/**
 * Ctrl-Z (SIGTSTP) and `fg`/`bg` (SIGCONT) against real processes: jx stops
 * its jobs' and modules' process groups (SIGSTOP), then itself; once
 * continued, they go on and the run ends as it would have. States are read
 * from /proc/PID/stat and files the jobs append to; every wait polls with a
 * generous bound, and no assertion is about wall-clock speed.
 */
import assert from "node:assert/strict";
import {
  inGroups,
  jxCommand,
  killAndWait,
  parentOf,
  readEvents,
  ROOT,
  runJx,
  type Runtime,
  RUNTIMES,
  sleep,
  stateOf,
  tempDir,
  waitForFile,
} from "../helpers.ts";
import { MAKE_TROUBLE } from "./jobserver_helpers.ts";

/**
 * Writes its pid (its process group's id) to NAME.pid, then a line to NAME.txt every 50 ms until
 * `until` exists.
 */
const counter = (name: string, until = "go") =>
  `'echo $$ > ${name}.pid; i=0; while [ ! -e ${until} ]; do i=$((i+1)); echo $i >> ${name}.txt; sleep 0.05; done'`;

/** Lines appended to `path` so far (0 before it exists). */
function linesOf(path: string): number {
  try {
    return Deno.readTextFileSync(path).split("\n").length - 1;
  } catch {
    return 0;
  }
}

/** Polls `ok` every 20 ms until it holds; throws after `ms` with `what` (and `seen()`). */
async function until(
  what: string,
  ok: () => boolean,
  seen: () => string = () => "",
  ms = 30_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} ${seen()}`);
    await sleep(20);
  }
}

/** The states of `pid` and of the processes of `groups`, to say what a wait saw. */
const states = (pid: number, groups: number[]) => () =>
  `(jx ${pid}: ${stateOf(pid)}; ${
    inGroups(groups).map((p) => `${p} (${commOf(p)} of ${parentOf(p)}): ${stateOf(p)}`).join(", ")
  })`;

/** A process's command name, for messages. */
function commOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return "?";
  }
}

/**
 * Every process of `groups` (pgids) is stopped, and there is one at least in each. A shell
 * stopped in the middle of a vfork shows `D` (waiting for its child, stopped before its exec):
 * stopped too, when that child is.
 */
function allStopped(groups: number[]): boolean {
  const pids = inGroups(groups);
  const stopped = pids.filter((p) => stateOf(p) === "T");
  const waiting = (p: number) => stateOf(p) === "D" && stopped.some((c) => parentOf(c) === p);
  return groups.every((g) => inGroups([g]).length > 0) &&
    pids.every((p) => stopped.includes(p) || waiting(p));
}

/** None of the processes of `groups` is stopped (`T`), and each group still has one. */
const noneStopped = (groups: number[]) =>
  groups.every((g) => inGroups([g]).length > 0) &&
  inGroups(groups).every((p) => stateOf(p) !== "T");

/** The files of `names` (NAME.txt) grow no more over half a second. */
async function stillFor(dir: string, names: string[]): Promise<void> {
  const before = names.map((n) => linesOf(`${dir}/${n}.txt`));
  await sleep(500);
  assert.deepEqual(names.map((n) => linesOf(`${dir}/${n}.txt`)), before, `${names} grew`);
}

/** Waits until each file of `names` has grown by one line at least. */
async function growing(dir: string, names: string[]): Promise<void> {
  const before = names.map((n) => linesOf(`${dir}/${n}.txt`));
  await until(
    `${names} to grow`,
    () => names.every((n, i) => linesOf(`${dir}/${n}.txt`) > before[i]),
  );
}

/** Starts jx in `dir` with output piped. */
function startJx(runtime: Runtime, dir: string, args: string[]): Deno.ChildProcess {
  const [cmd, argv] = jxCommand(runtime, args);
  return new Deno.Command(cmd, {
    args: argv,
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** The pids (pgids) the jobs of `names` wrote. */
const pidsOf = async (dir: string, names: string[]) =>
  await Promise.all(names.map(async (n) => Number(await waitForFile(`${dir}/${n}.pid`, 30_000))));

/**
 * A test's last word: `child` killed (see `killAndWait`), and the process groups of the jobs
 * (those that wrote NAME.pid in `dir`), which a failed test would otherwise leave running.
 */
async function cleanUp(child: Deno.ChildProcess, dir: string): Promise<void> {
  await killAndWait(child);
  for (const e of Deno.readDirSync(dir)) {
    if (!e.name.endsWith(".pid")) continue;
    try {
      Deno.kill(-Number(Deno.readTextFileSync(`${dir}/${e.name}`)), "SIGKILL");
    } catch { /* gone */ }
  }
}

for (const runtime of RUNTIMES) {
  Deno.test(`[${runtime}] Ctrl-Z: SIGTSTP stops jx and its jobs, SIGCONT goes on; the stop does not count towards a timeout`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `jobs:\n  a: { run: ${counter("a")}, timeout: 4s }\n  b: { run: ${
        counter("b")
      } }\n`,
    });
    const jx = startJx(runtime, dir, ["run", "--events", "ev.ndjson", "--trace", "tr.json"]);
    try {
      const groups = await pidsOf(dir, ["a", "b"]);
      await until(
        "the first lines",
        () => linesOf(`${dir}/a.txt`) > 0 && linesOf(`${dir}/b.txt`) > 0,
      );
      Deno.kill(jx.pid, "SIGTSTP");
      await until(
        "jx and its jobs stopped",
        () => stateOf(jx.pid) === "T" && allStopped(groups),
        states(jx.pid, groups),
      );
      await stillFor(dir, ["a", "b"]);
      // Stopped for longer than a's timeout: the time stopped is not counted.
      await sleep(4500);
      assert.equal(stateOf(jx.pid), "T");
      assert.ok(allStopped(groups));
      Deno.kill(jx.pid, "SIGCONT");
      await until(
        "jx and its jobs going on",
        () => stateOf(jx.pid) !== "T" && noneStopped(groups),
        states(jx.pid, groups),
      );
      await growing(dir, ["a", "b"]);
      await Deno.writeTextFile(`${dir}/go`, "");
      const out = await jx.output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, text);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      const ends = ev.filter((e) => e.type === "job.end").map((e) => `${e.job} ${e.status}`);
      assert.deepEqual(ends.sort(), ["a ok", "b ok"]);
      // The stop and the going on are events: between the jobs' starts and their ends, in order.
      const at = (type: string) => ev.findIndex((e) => e.type === type);
      const kinds = ev.map((e) => e.type).filter((t) => /^run\.(suspend|resume)$/.test(t));
      assert.deepEqual(kinds, ["run.suspend", "run.resume"]);
      assert.ok(at("job.start") < at("run.suspend") && at("run.resume") < at("job.end"));
      const t = (type: string) => ev[at(type)].t as number;
      assert.ok(
        t("run.resume") - t("run.suspend") >= 4000,
        `${t("run.suspend")} ${t("run.resume")}`,
      );
      // The trace marks them too, across the lanes.
      const trace = JSON.parse(await Deno.readTextFile(`${dir}/tr.json`)).traceEvents as {
        name: string;
        ph: string;
      }[];
      const marks = trace.filter((e) => e.ph === "i").map((e) => e.name);
      assert.deepEqual(marks, ["stopped (Ctrl-Z)", "continued"]);
      assert.deepEqual(inGroups(groups), [], "no process left");
    } finally {
      await cleanUp(jx, dir);
    }
  });

  Deno.test(`[${runtime}] Ctrl-Z: modules stop and go on with jx; one paused by jx ctl stays paused`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `modules:\n  m: { run: ${counter("m")} }\n  p: { run: ${counter("p")} }\n` +
        `jobs:\n  j: { needs: [m, p], run: ${counter("j")} }\n`,
    });
    const jx = startJx(runtime, dir, ["run", "--events", "ev.ndjson"]);
    try {
      const [m, p, j] = await pidsOf(dir, ["m", "p", "j"]);
      await until(
        "the first lines",
        () => ["m", "p", "j"].every((n) => linesOf(`${dir}/${n}.txt`) > 0),
      );
      const paused = await runJx(["ctl", "pause", "p"], { cwd: dir, runtime });
      assert.equal(paused.code, 0, paused.stderr);
      await until("p paused", () => allStopped([p]));
      Deno.kill(jx.pid, "SIGTSTP");
      await until(
        "jx, m and j stopped",
        () => stateOf(jx.pid) === "T" && allStopped([m, j]),
        states(jx.pid, [m, j]),
      );
      await stillFor(dir, ["m", "p", "j"]);
      Deno.kill(jx.pid, "SIGCONT");
      await until(
        "jx, m and j going on",
        () => stateOf(jx.pid) !== "T" && noneStopped([m, j]),
        states(jx.pid, [m, j]),
      );
      await growing(dir, ["m", "j"]);
      assert.ok(allStopped([p]), "p, paused by jx ctl, is still stopped");
      await stillFor(dir, ["p"]);
      const resumed = await runJx(["ctl", "resume", "p"], { cwd: dir, runtime });
      assert.equal(resumed.code, 0, resumed.stderr);
      await growing(dir, ["p"]);
      await Deno.writeTextFile(`${dir}/go`, "");
      const out = await jx.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.deepEqual(inGroups([m, p, j]), [], "no process left");
    } finally {
      await cleanUp(jx, dir);
    }
  });
}

Deno.test("[deno] Ctrl-Z: jx -j2 as a jobserver (three jobs, a nested make) loses no token", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:\n  a: { run: ${counter("a")} }\n  b: { run: ${counter("b")} }\n` +
      `  c: { run: ${counter("c")} }\n  m: { run: make -s, needs: [a, b, c] }\n`,
    "Makefile": "all: x y z\nx y z:\n\t@true\n",
  });
  const jx = startJx("deno", dir, ["run", "-j2", "--events", "ev.ndjson"]);
  try {
    await until(
      "two jobs running",
      () => ["a", "b", "c"].filter((n) => linesOf(`${dir}/${n}.txt`) > 0).length === 2,
    );
    const groups = await pidsOf(dir, ["a", "b", "c"].filter((n) => linesOf(`${dir}/${n}.txt`) > 0));
    Deno.kill(jx.pid, "SIGTSTP");
    await until(
      "jx and its jobs stopped",
      () => stateOf(jx.pid) === "T" && allStopped(groups),
      states(jx.pid, groups),
    );
    Deno.kill(jx.pid, "SIGCONT");
    await until(
      "jx going on",
      () => stateOf(jx.pid) !== "T" && noneStopped(groups),
      states(jx.pid, groups),
    );
    await Deno.writeTextFile(`${dir}/go`, "");
    const out = await jx.output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, text);
    assert.doesNotMatch(text, /token|jobserver/, "the pool is whole at the end");
    assert.doesNotMatch(text, MAKE_TROUBLE);
  } finally {
    await cleanUp(jx, dir);
  }
});

Deno.test("[deno] Ctrl-Z: jx as a jobserver client inside make -j3 returns every token", async () => {
  const dir = await tempDir({
    "Makefile": `all: j\nj:\n\t+@${ROOT}/bin/jx run -f jobs.inner.yaml --output quiet\n`,
    "jobs.inner.yaml": `jobs:\n  a: { run: ${counter("a")} }\n  b: { run: ${counter("b")} }\n` +
      `  c: { run: ${counter("c")} }\n`,
  });
  const make = new Deno.Command("make", {
    args: ["-j3"],
    cwd: dir,
    env: { MAKEFLAGS: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let jxPid = 0;
  try {
    const groups = await pidsOf(dir, ["a", "b", "c"]);
    // jx is the parent of its jobs' shells.
    jxPid = parentOf(groups[0]);
    Deno.kill(jxPid, "SIGTSTP");
    await until(
      "jx and its jobs stopped",
      () => stateOf(jxPid) === "T" && allStopped(groups),
      states(jxPid, groups),
    );
    await stillFor(dir, ["a", "b", "c"]);
    Deno.kill(jxPid, "SIGCONT");
    await until(
      "jx going on",
      () => stateOf(jxPid) !== "T" && noneStopped(groups),
      states(jxPid, groups),
    );
    await growing(dir, ["a", "b", "c"]);
    await Deno.writeTextFile(`${dir}/go`, "");
    const out = await make.output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, text);
    assert.doesNotMatch(text, MAKE_TROUBLE);
    assert.doesNotMatch(text, /token/);
    assert.deepEqual(inGroups(groups), [], "no process left");
  } finally {
    try {
      if (jxPid) Deno.kill(jxPid, "SIGKILL");
    } catch { /* ended */ }
    await cleanUp(make, dir);
  }
});

for (const runtime of RUNTIMES) {
  Deno.test(`[${runtime}] Ctrl-Z in jx watch: during a cycle (its job and module) and between cycles (the module)`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `modules:\n  m: { run: ${counter("m", "never")} }\n` +
        `jobs:\n  j: { needs: [m], run: ${counter("j")}, reads: [in.txt] }\n`,
      "in.txt": "1\n",
    });
    const jx = startJx(runtime, dir, ["watch", "--events", "ev.ndjson"]);
    try {
      const [m, j] = await pidsOf(dir, ["m", "j"]);
      await until(
        "the first lines",
        () => linesOf(`${dir}/m.txt`) > 0 && linesOf(`${dir}/j.txt`) > 0,
      );
      Deno.kill(jx.pid, "SIGTSTP");
      await until(
        "jx, the job and the module stopped",
        () => stateOf(jx.pid) === "T" && allStopped([m, j]),
        states(jx.pid, [m, j]),
      );
      await stillFor(dir, ["m", "j"]);
      Deno.kill(jx.pid, "SIGCONT");
      await until(
        "jx, the job and the module going on",
        () => stateOf(jx.pid) !== "T" && noneStopped([m, j]),
        states(jx.pid, [m, j]),
      );
      await growing(dir, ["m", "j"]);
      await Deno.writeTextFile(`${dir}/go`, "");
      const ended = async () =>
        (await readEvents(`${dir}/ev.ndjson`)).some((e) => e.type === "job.end");
      for (let n = 0; !(await ended()); n++) {
        if (n > 1500) throw new Error("the cycle did not end");
        await sleep(20);
      }
      Deno.kill(jx.pid, "SIGTSTP");
      await until(
        "jx and the module stopped",
        () => stateOf(jx.pid) === "T" && allStopped([m]),
        states(jx.pid, [m]),
      );
      await stillFor(dir, ["m"]);
      Deno.kill(jx.pid, "SIGCONT");
      await until(
        "jx and the module going on",
        () => stateOf(jx.pid) !== "T" && noneStopped([m]),
        states(jx.pid, [m]),
      );
      await growing(dir, ["m"]);
      Deno.kill(jx.pid, "SIGINT");
      const out = await jx.output();
      assert.equal(out.code, 130, new TextDecoder().decode(out.stderr));
      const ev = await readEvents(`${dir}/ev.ndjson`);
      const ends = ev.filter((e) => e.type === "job.end").map((e) => `${e.job} ${e.status}`);
      assert.deepEqual(ends, ["j ok"]);
      assert.deepEqual(inGroups([m, j]), [], "no process left");
    } finally {
      await cleanUp(jx, dir);
    }
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`[${runtime}] Ctrl-Z in jx exec: its command's process group stops with jx and goes on with it`, async () => {
    const dir = await tempDir();
    const jx = startJx(runtime, dir, ["exec", "-j2", "--", "sh", "-c", counter("c").slice(1, -1)]);
    try {
      const [c] = await pidsOf(dir, ["c"]);
      await until("the first line", () => linesOf(`${dir}/c.txt`) > 0);
      Deno.kill(jx.pid, "SIGTSTP");
      await until(
        "jx and its command stopped",
        () => stateOf(jx.pid) === "T" && allStopped([c]),
        states(jx.pid, [c]),
      );
      await stillFor(dir, ["c"]);
      Deno.kill(jx.pid, "SIGCONT");
      await until(
        "jx and its command going on",
        () => stateOf(jx.pid) !== "T" && noneStopped([c]),
        states(jx.pid, [c]),
      );
      await growing(dir, ["c"]);
      await Deno.writeTextFile(`${dir}/go`, "");
      const out = await jx.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.deepEqual(inGroups([c]), [], "no process left");
    } finally {
      await cleanUp(jx, dir);
    }
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`[${runtime}] Ctrl-Z in jx sh: its job stops with jx and goes on with it`, async () => {
    // A command that may touch any file (sh -c): a job of its own, then the echo.
    const loop =
      `sh -c 'cut -d" " -f5 /proc/$$/stat > a.pid; while [ ! -e go ]; do echo . >> a.txt; sleep 0.05; done'`;
    const dir = await tempDir({ "script.sh": `${loop}\necho done\n` });
    const jx = startJx(runtime, dir, ["sh", "-j2", "script.sh"]);
    try {
      const groups = await pidsOf(dir, ["a"]);
      await until("the first line", () => linesOf(`${dir}/a.txt`) > 0);
      Deno.kill(jx.pid, "SIGTSTP");
      await until(
        "jx and its job stopped",
        () => stateOf(jx.pid) === "T" && allStopped(groups),
        states(jx.pid, groups),
      );
      await stillFor(dir, ["a"]);
      Deno.kill(jx.pid, "SIGCONT");
      await until(
        "jx and its job going on",
        () => stateOf(jx.pid) !== "T" && noneStopped(groups),
        states(jx.pid, groups),
      );
      await growing(dir, ["a"]);
      await Deno.writeTextFile(`${dir}/go`, "");
      const out = await jx.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.equal(new TextDecoder().decode(out.stdout), "done\n");
      assert.deepEqual(inGroups(groups), [], "no process left");
    } finally {
      await cleanUp(jx, dir);
    }
  });
}

Deno.test("[deno] Ctrl-Z: the jobs of a jx run inside a job (groups of their own) stop and go on too", async () => {
  const dir = await tempDir({
    // In a folder of its own: one jx run at a time per folder (the lock).
    "jobs.yaml":
      `jobs:\n  nested: { run: echo $$ > n.pid; ${ROOT}/bin/jx run -f sub/jobs.yaml --output quiet }\n`,
    "sub/jobs.yaml": `jobs:\n  c: { run: ${counter("c")} }\n`,
  });
  const sub = `${dir}/sub`;
  const jx = startJx("deno", dir, ["run"]);
  try {
    const [c] = await pidsOf(sub, ["c"]);
    await until("the first line", () => linesOf(`${sub}/c.txt`) > 0);
    Deno.kill(jx.pid, "SIGTSTP");
    await until(
      "jx and the inner job stopped",
      () => stateOf(jx.pid) === "T" && allStopped([c]),
      states(jx.pid, [c]),
    );
    await stillFor(sub, ["c"]);
    Deno.kill(jx.pid, "SIGCONT");
    await until(
      "jx and the inner job going on",
      () => stateOf(jx.pid) !== "T" && noneStopped([c]),
      states(jx.pid, [c]),
    );
    await growing(sub, ["c"]);
    await Deno.writeTextFile(`${sub}/go`, "");
    const out = await jx.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(inGroups([c]), [], "no process left");
  } finally {
    await cleanUp(jx, sub);
    await cleanUp(jx, dir);
  }
});

for (const runtime of RUNTIMES) {
  Deno.test(`[${runtime}] Ctrl-Z at a terminal: bash's job control (Ctrl-Z, jobs, fg) stops and continues the run`, async () => {
    const dir = await tempDir({ "jobs.yaml": `jobs:\n  a: { run: ${counter("a")} }\n` });
    // An interactive bash on a pty (`script`): it runs jx as a foreground job of its own.
    const shell = new Deno.Command("script", {
      args: ["-qec", "bash --norc --noprofile -i", "/dev/null"],
      cwd: dir,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", TERM: "xterm", PS1: "$ " },
    }).spawn();
    const writer = shell.stdin.getWriter();
    const type = (text: string) => writer.write(new TextEncoder().encode(text));
    let out = "";
    const reading = (async () => {
      for await (const chunk of shell.stdout) out += new TextDecoder().decode(chunk);
    })();
    let jxPid = 0;
    try {
      const quoted = jxCommand(runtime, ["run"]).flat().map((a) => `'${a}'`).join(" ");
      await type(`${quoted}\n`);
      const [a] = await pidsOf(dir, ["a"]);
      jxPid = parentOf(a);
      await until("the first line", () => linesOf(`${dir}/a.txt`) > 0);
      await type("\x1a"); // Ctrl-Z: SIGTSTP from the terminal to jx's process group
      await until(
        "jx and its job stopped",
        () => stateOf(jxPid) === "T" && allStopped([a]),
        states(jxPid, [a]),
      );
      await stillFor(dir, ["a"]);
      await until(
        "bash to say it is stopped",
        () => /Stopped/.test(out),
        () => JSON.stringify(out),
      );
      await type("fg\n");
      await until(
        "jx and its job going on",
        () => stateOf(jxPid) !== "T" && noneStopped([a]),
        states(jxPid, [a]),
      );
      await growing(dir, ["a"]);
      await Deno.writeTextFile(`${dir}/go`, "");
      await until("jx to end", () => stateOf(jxPid) === "", states(jxPid, [a]));
      await type("echo rc=$?\n");
      await until("its exit status", () => /rc=\d+/.test(out), () => JSON.stringify(out));
      assert.match(out, /rc=0/);
      await type("exit\n");
      await shell.status;
      assert.deepEqual(inGroups([a]), [], "no process left");
    } finally {
      await writer.close().catch(() => {});
      try {
        if (jxPid) Deno.kill(jxPid, "SIGKILL");
      } catch { /* ended */ }
      await cleanUp(shell, dir);
      await reading.catch(() => {});
    }
  });
}
