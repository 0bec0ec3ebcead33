/**
 * The state folder under hostile or damaged conditions, on Deno and Bun: a
 * lock naming a live but unrelated pid, `.jx/` or a file in it that is a
 * link or another user's (refused, nothing written through it), and damaged
 * state (a `null` no-op record, a folder for the log, a file for `.jx`,
 * lines of the wrong types, a torn last line) that gives one warning and a
 * rebuild.
 */
import assert from "node:assert/strict";
import { jxCommand, readEvents, runJx, RUNTIMES, tempDir } from "../helpers.ts";

const JOBS = "jobs:\n  cp: { run: 'cp a.txt b.txt', reads: [a.txt], writes: [b.txt] }\n";

async function project(): Promise<string> {
  return await tempDir({ "jobs.yaml": JOBS, "a.txt": "a\n" });
}

/** Runs jx; returns its result and the jobs that started. */
async function run(dir: string, runtime: "deno" | "bun" | "binary", ...args: string[]) {
  await Deno.remove(`${dir}/ev.ndjson`).catch(() => {});
  const r = await runJx(["run", "--events", "ev.ndjson", "--output", "quiet", ...args], {
    cwd: dir,
    runtime,
  });
  const started = r.code === 0
    ? (await readEvents(`${dir}/ev.ndjson`)).filter((e) => e.type === "job.start").map((e) => e.job)
    : [];
  return { ...r, started };
}

const warnings = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("jx: warning"));

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: a lock naming a live, unrelated pid does not make jx wait`, async () => {
    const dir = await project();
    await Deno.mkdir(`${dir}/.jx`);
    // This test's own pid: alive, and not a jx holding the lock.
    await Deno.writeTextFile(`${dir}/.jx/lock`, `${Deno.pid}\n`);
    const r = await run(dir, runtime, "--no-wait");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.started, ["cp"]);
  });

  Deno.test(`${runtime}: .jx as a link elsewhere is refused; nothing is written there`, async () => {
    const dir = await project();
    const elsewhere = await tempDir();
    await Deno.symlink(elsewhere, `${dir}/.jx`);
    const r = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^jx: .*\/\.jx is a symbolic link: jx does not keep its state/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.deepEqual([...Deno.readDirSync(elsewhere)], []);
  });

  Deno.test(`${runtime}: a big jobs file's graph cache is not written through a .jx link`, async () => {
    const dir = await tempDir({ "jobs.yaml": `# ${"x".repeat(40_000)}\n${JOBS}`, "a.txt": "a\n" });
    const elsewhere = await tempDir();
    await Deno.symlink(elsewhere, `${dir}/.jx`);
    for (const cmd of ["list", "run"]) {
      const r = await runJx([cmd], { cwd: dir, runtime });
      assert.equal(r.code, cmd === "run" ? 2 : 0, r.stderr);
    }
    assert.deepEqual([...Deno.readDirSync(elsewhere)], []);
    // Without the link, the cache is made (so the test above saw the size that caches).
    await Deno.remove(`${dir}/.jx`);
    assert.equal((await runJx(["list"], { cwd: dir, runtime })).code, 0);
    assert.ok(await Deno.stat(`${dir}/.jx/graph-jobs.yaml.json`));
  });

  Deno.test(`${runtime}: a state file linked elsewhere is never appended to`, async () => {
    const dir = await project();
    const victim = `${await tempDir({ "victim.txt": "keep\n" })}/victim.txt`;
    await Deno.mkdir(`${dir}/.jx`);
    await Deno.symlink(victim, `${dir}/.jx/state.ndjson`);
    const r = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /state\.ndjson is a symbolic link/);
    assert.equal(await Deno.readTextFile(victim), "keep\n");
    // The lock too.
    await Deno.remove(`${dir}/.jx/state.ndjson`);
    await Deno.remove(`${dir}/.jx/lock`).catch(() => {});
    await Deno.symlink(victim, `${dir}/.jx/lock`);
    const l = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(l.code, 2, l.stderr);
    assert.match(l.stderr, /lock is a symbolic link/);
    assert.equal(await Deno.readTextFile(victim), "keep\n");
  });

  Deno.test({
    name: `${runtime}: a .jx or state file of another user is refused`,
    ignore: Deno.uid() !== 0,
    fn: async () => {
      const dir = await project();
      await Deno.mkdir(`${dir}/.jx`);
      await Deno.chown(`${dir}/.jx`, 65534, 65534);
      const r = await runJx(["run"], { cwd: dir, runtime });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /\.jx: this state folder belongs to uid 65534, not to this user/);
      await Deno.chown(`${dir}/.jx`, 0, 0);
      await Deno.writeTextFile(`${dir}/.jx/state.ndjson`, "");
      await Deno.chown(`${dir}/.jx/state.ndjson`, 65534, 65534);
      const f = await runJx(["run"], { cwd: dir, runtime });
      assert.equal(f.code, 2, f.stderr);
      assert.match(f.stderr, /state\.ndjson: this state file belongs to uid 65534/);
      assert.equal(await Deno.readTextFile(`${dir}/.jx/state.ndjson`), "");
    },
  });

  Deno.test(`${runtime}: a group-writable .jx of ours is made private`, async () => {
    const dir = await project();
    await Deno.mkdir(`${dir}/.jx`);
    await Deno.writeTextFile(`${dir}/.jx/state.ndjson`, "");
    await Deno.chmod(`${dir}/.jx`, 0o777);
    await Deno.chmod(`${dir}/.jx/state.ndjson`, 0o666);
    // explain: no control socket (which makes .jx/ private on its own).
    const r = await runJx(["explain", "cp"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await Deno.stat(`${dir}/.jx/state.ndjson`)).mode! & 0o022, 0);
    assert.equal((await Deno.stat(`${dir}/.jx`)).mode! & 0o022, 0);
  });

  Deno.test(`${runtime}: damaged state gives one warning, then a rebuild`, async () => {
    const dir = await project();
    assert.deepEqual((await run(dir, runtime)).started, ["cp"]);
    // A no-op record holding null.
    await Deno.writeTextFile(`${dir}/.jx/noop-jobs.yaml.rec`, "null");
    let r = await run(dir, runtime);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(warnings(r.stderr).length, 1, r.stderr);
    assert.deepEqual(r.started, []);
    assert.deepEqual(warnings((await run(dir, runtime)).stderr), [], "the record was rewritten");
    // A record cut short (its stamps missing): one warning, and the record is written again.
    const rec = await Deno.readFile(`${dir}/.jx/noop-jobs.yaml.rec`);
    await Deno.writeFile(`${dir}/.jx/noop-jobs.yaml.rec`, rec.subarray(0, rec.length - 8));
    r = await run(dir, runtime);
    assert.deepEqual([r.code, warnings(r.stderr).length, r.started], [0, 1, []], r.stderr);
    assert.deepEqual(warnings((await run(dir, runtime)).stderr), [], "the record was rewritten");
    // The log a folder.
    await Deno.remove(`${dir}/.jx/state.ndjson`);
    await Deno.mkdir(`${dir}/.jx/state.ndjson/x`, { recursive: true });
    r = await run(dir, runtime);
    assert.equal(r.code, 0, r.stderr);
    assert.match(warnings(r.stderr).join("\n"), /state\.ndjson is a directory, not a file/);
    assert.equal(warnings(r.stderr).length, 1, r.stderr);
    assert.deepEqual(r.started, ["cp"]);
    assert.deepEqual((await run(dir, runtime)).started, []);
    // The log a FIFO: said in words.
    await Deno.remove(`${dir}/.jx/state.ndjson`);
    const fifo = await new Deno.Command("mkfifo", { args: [`${dir}/.jx/state.ndjson`] }).output();
    assert.equal(fifo.code, 0);
    r = await run(dir, runtime);
    assert.equal(r.code, 0, r.stderr);
    assert.match(warnings(r.stderr).join("\n"), /state\.ndjson is neither a file nor a folder \(/);
    // The lock a folder.
    await Deno.remove(`${dir}/.jx/lock`).catch(() => {});
    await Deno.mkdir(`${dir}/.jx/lock`);
    await Deno.writeTextFile(`${dir}/a.txt`, "changed\n");
    r = await run(dir, runtime, "--no-wait");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /lock is a directory, not a file/);
    assert.deepEqual(r.started, ["cp"]);
    // .jx a plain file.
    await Deno.remove(`${dir}/.jx`, { recursive: true });
    await Deno.writeTextFile(`${dir}/.jx`, "garbage");
    r = await run(dir, runtime);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\.jx is a file, not a folder/);
    assert.deepEqual(r.started, ["cp"]);
    assert.deepEqual((await run(dir, runtime)).started, []);
  });

  Deno.test(`${runtime}: lines of the wrong types are ignored with a warning`, async () => {
    const dir = await project();
    assert.deepEqual((await run(dir, runtime)).started, ["cp"]);
    const path = `${dir}/.jx/state.ndjson`;
    const line = (await Deno.readTextFile(path)).trim();
    const row = JSON.parse(line);
    const bad = [
      [...row.slice(0, 3), 7, ...row.slice(4)], // a path that is a number
      [...row.slice(0, 4), "3", ...row.slice(5)], // a size that is a string
      [row[0], row[1], -1],
      [row[0], row[1], 1.5, ...row.slice(3)],
    ];
    for (const b of bad) {
      await Deno.writeTextFile(path, JSON.stringify(b) + "\n\x00\xff garbage\n");
      await Deno.remove(`${dir}/.jx/noop-jobs.yaml.rec`).catch(() => {});
      const r = await run(dir, runtime);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /2 damaged line\(s\) ignored; no record left of "cp": out of date\n/);
      assert.deepEqual(r.started, ["cp"], JSON.stringify(b));
    }
  });

  Deno.test(`${runtime}: damaged lines are warned about once, and a rerun only claimed when one happens`, async () => {
    const dir = await project();
    assert.deepEqual((await run(dir, runtime)).started, ["cp"]);
    const path = `${dir}/.jx/state.ndjson`;
    const good = await Deno.readTextFile(path);
    // After cp's good line: garbage, and a damaged line of cp's own (its good line stands).
    await Deno.writeTextFile(path, good + "garbage\n" + '["cp", 7 damaged\n');
    let r = await run(dir, runtime);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(warnings(r.stderr), [`jx: warning: ${path}: 2 damaged line(s) ignored`]);
    assert.deepEqual(r.started, [], "cp's good line stands: nothing reruns");
    assert.equal(await Deno.readTextFile(path), good, "the log is rewritten without them");
    r = await run(dir, runtime);
    assert.deepEqual([warnings(r.stderr), r.started], [[], []], "said once");
    // cp's only line damaged: the warning says it is out of date, and it runs.
    await Deno.writeTextFile(path, '["cp", 7 damaged\n');
    r = await run(dir, runtime);
    assert.match(r.stderr, /1 damaged line\(s\) ignored; no record left of "cp": out of date\n/);
    assert.deepEqual(r.started, ["cp"]);
    r = await run(dir, runtime);
    assert.deepEqual([warnings(r.stderr), r.started], [[], []]);
  });

  Deno.test(`${runtime}: a line appended after a torn one is kept`, async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n" +
        "  one: { run: 'cp a.txt b.txt', reads: [a.txt], writes: [b.txt] }\n" +
        "  two: { run: 'cp a.txt c.txt', reads: [a.txt], writes: [c.txt] }\n",
      "a.txt": "a\n",
    });
    assert.deepEqual((await run(dir, runtime, "one")).started, ["one"]);
    const path = `${dir}/.jx/state.ndjson`;
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, text + text.slice(0, 20)); // a write cut short by kill -9
    assert.deepEqual((await run(dir, runtime, "two")).started, ["two"]);
    const r = await run(dir, runtime, "one", "two");
    assert.deepEqual(warnings(r.stderr), []);
    assert.deepEqual(r.started, []);
  });
}

Deno.test("the .jx folder ignores itself for git (a .gitignore of '*', added to an older .jx, a user's kept)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  a: { run: echo a > a.txt, writes: [a.txt] }\n",
  });
  const git = (...args: string[]) =>
    new Deno.Command("git", { args, cwd: dir, stdout: "piped", stderr: "piped" }).output();
  assert.ok((await git("init", "-q")).success);
  const r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    await Deno.readTextFile(`${dir}/.jx/.gitignore`).then((t) => t.endsWith("\n*\n")),
    true,
  );
  const status = new TextDecoder().decode((await git("status", "--porcelain", "-uall")).stdout);
  assert.deepEqual(status.split("\n").filter(Boolean).sort(), ["?? a.txt", "?? jobs.yaml"]);
  // A .jx an older jx made (none there): the next run adds it; one a user wrote stays.
  await Deno.remove(`${dir}/.jx/.gitignore`);
  assert.equal((await runJx(["run", "--force"], { cwd: dir })).code, 0);
  assert.ok(await Deno.stat(`${dir}/.jx/.gitignore`));
  await Deno.writeTextFile(`${dir}/.jx/.gitignore`, "mine\n");
  assert.equal((await runJx(["run", "--force"], { cwd: dir })).code, 0);
  assert.equal(await Deno.readTextFile(`${dir}/.jx/.gitignore`), "mine\n");
});

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: under umask 000, nothing jx makes in .jx is writable by group or others`, async () => {
    // A big jobs file, so that its graph cache is written too.
    const dir = await tempDir({ "jobs.yaml": `# ${"x".repeat(40_000)}\n${JOBS}`, "a.txt": "a\n" });
    const [cmd, argv] = jxCommand(runtime, ["run", "--output", "quiet"]);
    const r = await new Deno.Command("sh", {
      args: ["-c", 'umask 000 && exec "$0" "$@"', cmd, ...argv],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    const names = [".", ...[...Deno.readDirSync(`${dir}/.jx`)].map((e) => e.name)];
    assert.ok(
      names.some((n) => n.startsWith("noop-")) && names.some((n) => n.startsWith("graph-")),
    );
    const open = names.map((n) => [n, Deno.lstatSync(`${dir}/.jx/${n}`).mode! & 0o777] as const)
      .filter(([, mode]) => mode & 0o022).map(([n, mode]) => `${n} ${mode.toString(8)}`);
    assert.deepEqual(open, []);
  });
}
