/**
 * The run lock protects the directory's run, not only its state: one
 * `jx run` or `jx watch` at a time runs jobs in a directory, whether or not
 * they declare files. A run beside a `jx watch` says once that it waits for
 * the watch, naming its pid; a jx started by a job of the run that holds the
 * lock is refused instead of waiting for itself.
 */
import assert from "node:assert/strict";
import { jxCommand, runJx, spawnJx, tempDir } from "../helpers.ts";

/** Spawns jx in `dir` with piped output. */
const spawnIn = (dir: string, args: string[]) => spawnJx(args, { cwd: dir });

/** Resolves once the lock file names a holder (throws after 30 s: nobody took it). */
async function locked(dir: string): Promise<string> {
  for (const until = Date.now() + 30_000; Date.now() < until;) {
    const t = await Deno.readTextFile(`${dir}/.jx/lock`).catch(() => "");
    if (t.trim()) return t.trim();
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("nobody took the lock");
}

/** Reads `stream` until `re` matches what it said; returns the text. */
async function until(stream: ReadableStream<Uint8Array>, re: RegExp): Promise<string> {
  let said = "";
  const reader = stream.getReader();
  while (!re.test(said)) {
    const { value, done } = await reader.read();
    if (done) break;
    said += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return said;
}

// A job without reads or writes, which waits until the test creates `go`.
const SLOW = "jobs:\n  slow: { run: 'while [ ! -f go ]; do sleep 0.02; done' }\n";

Deno.test("a job without files still holds the lock: a second run waits, --no-wait exits 2", async () => {
  const dir = await tempDir({ "jobs.yaml": SLOW });
  const first = spawnIn(dir, ["run", "slow"]);
  assert.match(await locked(dir), /^\d+ run$/);
  const busy = await runJx(["run", "--no-wait", "slow"], { cwd: dir });
  assert.equal(busy.code, 2, busy.stderr);
  assert.match(busy.stderr, /^jx: another jx run is using .*\.jx \(pid \d+\); not waiting/);
  const second = spawnIn(dir, ["run", "slow"]);
  const said = await until(second.stderr, /\n/);
  assert.match(said, /^jx: waiting for another jx run in this directory \(pid \d+\)\.\.\.\n$/);
  await Deno.writeTextFile(`${dir}/go`, "");
  assert.equal((await first.output()).code, 0);
  assert.equal((await second.output()).code, 0);
});

Deno.test("a run beside jx watch says once that it waits for the watch, naming its pid", async () => {
  const dir = await tempDir({ "jobs.yaml": SLOW, go: "" });
  const watch = spawnIn(dir, ["watch"]);
  await until(watch.stderr, /watching for changes/);
  const holder = await locked(dir);
  assert.match(holder, /^\d+ watch$/);
  const run = spawnIn(dir, ["run", "slow"]);
  const said = await until(run.stderr, /\n/);
  assert.equal(
    said,
    `jx: waiting for another jx watch in this directory (pid ${holder.split(" ")[0]}) ` +
      "(a watch holds the lock until it is stopped)...\n",
  );
  watch.kill("SIGINT");
  assert.equal((await watch.output()).code, 130);
  assert.equal((await run.output()).code, 0);
});

Deno.test("a jx started by a job of the run holding the lock is refused, not left waiting", async () => {
  const [cmd, argv] = jxCommand("deno", ["run", "inner"]);
  const inner = [cmd, ...argv].map((a) => `'${a}'`).join(" ");
  const dir = await tempDir({
    "jobs.yaml": `jobs:\n  outer: { run: "${inner} 2> inner.err; echo $? > inner.code" }\n` +
      "  inner: { run: 'true' }\n",
  });
  const r = await runJx(["run", "outer"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await Deno.readTextFile(`${dir}/inner.code`)).trim(), "2");
  assert.match(
    await Deno.readTextFile(`${dir}/inner.err`),
    /^jx: this jx runs inside a job of the jx run \(pid \d+\) that holds .*\/\.jx\/lock: it would wait for itself/,
  );
});

// A job that writes its output, then waits until the test creates `go` (or 20 s pass).
const WRITE_THEN_WAIT = "jobs:\n  gen:\n    run: 'echo hi > out.txt; i=0; " +
  "while [ ! -f go ] && [ $i -lt 1000 ]; do sleep 0.02; i=$((i+1)); done'\n" +
  "    reads: [in.txt]\n    writes: [out.txt]\n";

Deno.test("jx clean waits for a run: an output it removed mid-run was recorded absent, up to date", async () => {
  const dir = await tempDir({ "jobs.yaml": WRITE_THEN_WAIT, "in.txt": "a\n" });
  const run = spawnIn(dir, ["run"]);
  assert.match(await locked(dir), /^\d+ run$/);
  for (const until = Date.now() + 30_000; Date.now() < until;) {
    if (await Deno.stat(`${dir}/out.txt`).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const busy = await runJx(["clean", "--no-wait"], { cwd: dir });
  assert.equal(busy.code, 2, busy.stdout + busy.stderr);
  assert.match(busy.stderr, /^jx: another jx run is using .*\.jx \(pid \d+\); not waiting/);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "hi\n", "nothing removed");
  const clean = spawnIn(dir, ["clean"]);
  const said = await until(clean.stderr, /\n/);
  assert.match(said, /^jx: waiting for another jx run in this directory \(pid \d+\)\.\.\.\n$/);
  await Deno.writeTextFile(`${dir}/go`, "");
  assert.equal((await run.output()).code, 0);
  const c = await clean.output();
  assert.equal(c.code, 0);
  assert.equal(new TextDecoder().decode(c.stdout), "removed out.txt\n");
  // The run recorded out.txt as written: gone now, the next run makes it again.
  const again = await runJx(["run"], { cwd: dir });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "hi\n");
});
