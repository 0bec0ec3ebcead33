/**
 * What a restore from the output cache leaves on disk, through the real CLI
 * on real processes: never through a symlink the user put on the way, never
 * over a folder of the user's where the entry holds a file; a folder (or a
 * glob's matches) holding exactly what the entry holds, other jobs' files
 * kept. And what the key holds: inputs that appear while the job runs, a
 * read glob over the job's own output, a job editing its inputs in place, a dotenv variable the shell
 * overrides, an included file's `cache:` settings. And a Ctrl-C during a
 * long restore: heard between files, nothing of the job put in place.
 */
import assert from "node:assert/strict";
import {
  cacheRun,
  jxCommand,
  readEvents,
  runJxBound,
  RUNTIMES,
  sleep,
  tempDir,
  waitForFile,
} from "../helpers.ts";

/** `jx run` in `dir` on the store `store`, with an event log: what ran, what was restored. */
async function run(
  dir: string,
  store: string,
  args: string[] = [],
  env: Record<string, string> = {},
) {
  const r = await cacheRun(dir, ["--cache-dir", store, ...args], { env });
  return { ...r, restored: Object.keys(r.restored).sort() };
}

const ls = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("cache restore: a symlink the user put on the way to an output is refused, never written through", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  gen:
    run: "rm -rf out && mkdir -p out/l && cat ver.txt > out/l/x"
    reads: [ver.txt]
    writes: [out/l/x]
`;
  const a = await tempDir({ "jobs.yaml": jobs, "ver.txt": "v1\n" });
  assert.equal((await run(a, store)).code, 0);
  // Another checkout, where out/l is a link to the user's sources.
  const b = await tempDir({ "jobs.yaml": jobs, "ver.txt": "v1\n", "src/x": "mine\n" });
  await Deno.mkdir(`${b}/out`);
  await Deno.symlink("../src", `${b}/out/l`);
  const r = await run(b, store);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /jx: warning: cache entry [0-9a-f]{12} for gen not restored: out\/l\/x: out\/l is a symlink on disk/,
  );
  assert.deepEqual(r.restored, []);
  assert.deepEqual(r.ran, ["gen"]);
  assert.equal(await Deno.readTextFile(`${b}/src/x`), "mine\n");
  assert.equal(await Deno.readTextFile(`${b}/out/l/x`), "v1\n");
});

Deno.test("cache restore: a folder with the user's files where the entry holds a file is refused, not removed", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  gen: { run: "cat ver.txt > report", reads: [ver.txt], writes: [report] }
`;
  const a = await tempDir({ "jobs.yaml": jobs, "ver.txt": "v1\n" });
  assert.equal((await run(a, store)).code, 0);
  const b = await tempDir({ "jobs.yaml": jobs, "ver.txt": "v1\n", "report/notes.txt": "mine\n" });
  const r = await run(b, store);
  assert.match(
    r.stderr,
    /not restored: report: a directory on disk that is not empty, where the entry holds a file/,
  );
  assert.deepEqual(r.restored, []);
  assert.deepEqual(r.ran, ["gen"], "the job runs (and fails on its own: report is a folder)");
  assert.equal(await Deno.readTextFile(`${b}/report/notes.txt`), "mine\n");
  // An empty folder there is no one's work: replaced by the file.
  await Deno.remove(`${b}/report`, { recursive: true });
  await Deno.mkdir(`${b}/report`);
  const again = await run(b, store);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(again.restored, ["gen"]);
  assert.equal(await Deno.readTextFile(`${b}/report`), "v1\n");
});

Deno.test("cache restore: a restored folder holds exactly the entry's files, and another job's file in it stays", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  gen:
    run: "rm -rf out && mkdir -p out/sub && for f in $(cat list.txt); do echo $f > out/sub/$f; done"
    reads: [list.txt]
    writes: [out]
  keep: { run: "mkdir -p out && echo k > out/keep.txt", writes: [out/keep.txt] }
`;
  const dir = await tempDir({ "jobs.yaml": jobs, "list.txt": "a\n" });
  assert.equal((await run(dir, store)).code, 0);
  await Deno.writeTextFile(`${dir}/list.txt`, "b\n");
  assert.equal((await run(dir, store)).code, 0);
  assert.deepEqual(ls(`${dir}/out/sub`), ["b"]);
  await Deno.mkdir(`${dir}/out/old`);
  await Deno.writeTextFile(`${dir}/out/old/stale`, "");
  await Deno.writeTextFile(`${dir}/list.txt`, "a\n");
  const r = await run(dir, store, ["gen"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.restored, ["gen"]);
  assert.deepEqual(ls(`${dir}/out`), ["keep.txt", "sub"]);
  assert.deepEqual(ls(`${dir}/out/sub`), ["a"]);
  assert.equal(await Deno.readTextFile(`${dir}/out/keep.txt`), "k\n");
});

Deno.test("cache restore: a glob's stale matches are removed, not another job's", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  gen:
    run: "mkdir -p out && rm -f out/[a-y].o && for f in $(cat list.txt); do echo $f > out/$f.o; done"
    reads: [list.txt]
    writes: ["out/*.o"]
  z: { run: "mkdir -p out && echo z > out/z.o", writes: [out/z.o] }
`;
  const dir = await tempDir({ "jobs.yaml": jobs, "list.txt": "a\n", "out/notes.txt": "mine\n" });
  assert.equal((await run(dir, store)).code, 0);
  await Deno.writeTextFile(`${dir}/list.txt`, "b\n");
  assert.equal((await run(dir, store)).code, 0);
  await Deno.writeTextFile(`${dir}/list.txt`, "a\n");
  const r = await run(dir, store, ["gen"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.restored, ["gen"]);
  assert.deepEqual(ls(`${dir}/out`), ["a.o", "notes.txt", "z.o"]);
});

Deno.test("cache: a file that starts matching a read glob while the job runs: not stored under the old key", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  cat:
    run: "echo up > started; while [ ! -f go ]; do sleep 0.02; done; cat src/*.txt > out.txt"
    reads: ["src/*.txt"]
    writes: [out.txt]
`;
  const files = { "jobs.yaml": jobs, "src/a.txt": "a\n" };
  const dir = await tempDir(files);
  const running = run(dir, store);
  await waitForFile(`${dir}/started`);
  await Deno.writeTextFile(`${dir}/src/b.txt`, "b\n");
  await Deno.writeTextFile(`${dir}/go`, "");
  const r = await running;
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /jx: warning: cat not stored in the cache: src\/b\.txt changed while it ran\n/,
  );
  // Without b.txt, in a fresh checkout: nothing stored under that key, so the job runs.
  const b = await tempDir({ ...files, go: "" });
  const again = await run(b, store);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(again.restored, []);
  assert.equal(await Deno.readTextFile(`${b}/out.txt`), "a\n");
});

Deno.test("cache: a read glob over the job's own output: stored from a tree without it, never restored stale after; the warning says why", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  report: { run: "cat out/a.txt > out/report.txt", reads: ["out/*.txt"], writes: [out/report.txt] }
`;
  const files = { "jobs.yaml": jobs, "out/a.txt": "a\n" };
  const dir = await tempDir(files);
  const first = await run(dir, store);
  assert.equal(first.code, 0, first.stderr);
  assert.doesNotMatch(first.stderr, /warning/, "the output it made is no new input");
  // Its output now exists, and is among its inputs: rewritten while it runs, not stored.
  const rerun = await run(dir, store, ["--force"]);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(
    rerun.stderr,
    /report not stored in the cache: it reads out\/report.txt, which it writes/,
  );
  // A fresh tree (no report yet) is the first run's key: restored.
  const b = await tempDir(files);
  const r = await run(b, store);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.restored, ["report"]);
  assert.equal(await Deno.readTextFile(`${b}/out/report.txt`), "a\n");
});

Deno.test("cache: a job that edits its inputs in place is never restored over a later edit", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  fmt:
    run: for f in src/*.txt; do tr a-z A-Z < $f > $f.tmp && mv $f.tmp $f; done
    reads: ["src/*.txt"]
    writes: ["src/*.txt"]
`;
  const dir = await tempDir({ "jobs.yaml": jobs, "src/a.txt": "hello\n" });
  assert.equal((await run(dir, store)).code, 0);
  assert.equal(await Deno.readTextFile(`${dir}/src/a.txt`), "HELLO\n");
  await Deno.writeTextFile(`${dir}/src/a.txt`, "my new edit\n");
  await Deno.writeTextFile(`${dir}/src/b.txt`, "brand new file\n");
  const r = await run(dir, store);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.restored, []);
  assert.deepEqual(r.ran, ["fmt"]);
  assert.equal(await Deno.readTextFile(`${dir}/src/a.txt`), "MY NEW EDIT\n");
  assert.equal(await Deno.readTextFile(`${dir}/src/b.txt`), "BRAND NEW FILE\n");
});

Deno.test("cache: a dotenv variable overridden from the shell is in the key with the shell's value", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
env_file: [.env]
jobs:
  gen: { run: 'echo "mode=$MODE" > out.txt', writes: [out.txt] }
`;
  const files = { "jobs.yaml": jobs, ".env": "MODE=debug\n" };
  const a = await tempDir(files);
  assert.equal((await run(a, store, [], { MODE: "release" })).code, 0);
  assert.equal(await Deno.readTextFile(`${a}/out.txt`), "mode=release\n");
  const b = await tempDir(files);
  const r = await run(b, store, [], { MODE: "other" });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.restored, []);
  assert.equal(await Deno.readTextFile(`${b}/out.txt`), "mode=other\n");
  const c = await tempDir(files);
  const same = await run(c, store, [], { MODE: "release" });
  assert.deepEqual(same.restored, ["gen"], "the same value: restored");
});

Deno.test("cache: an included file's cache: {env, salt} joins the keys of its own jobs", async () => {
  const store = await tempDir();
  const pkg = (salt: string) => `
cache: { env: [TARGET], salt: ${salt} }
jobs:
  gen: { run: 'echo "target=$TARGET" > out.txt', writes: [out.txt] }
`;
  const files = (salt = "s1") => ({
    "jobs.yaml": "cache: true\ninclude: [pkg/jobs.yaml]\njobs:\n  top: { run: 'true' }\n",
    "pkg/jobs.yaml": pkg(salt),
  });
  const a = await tempDir(files());
  assert.equal((await run(a, store, ["pkg:gen"], { TARGET: "x86" })).code, 0);
  const b = await tempDir(files());
  const arm = await run(b, store, ["pkg:gen"], { TARGET: "arm" });
  assert.equal(arm.code, 0, arm.stderr);
  assert.deepEqual(arm.restored, [], "another TARGET: another key");
  assert.equal(await Deno.readTextFile(`${b}/pkg/out.txt`), "target=arm\n");
  const c = await tempDir(files());
  assert.deepEqual((await run(c, store, ["pkg:gen"], { TARGET: "x86" })).restored, ["pkg:gen"]);
  const d = await tempDir(files("s2"));
  const salted = await run(d, store, ["pkg:gen"], { TARGET: "x86" });
  assert.deepEqual(salted.restored, [], "another salt: another key");
  assert.equal(await Deno.readTextFile(`${d}/pkg/out.txt`), "target=x86\n");
});

Deno.test("cache: true or false in an included file (a package that also runs alone) is the root file's to decide", async () => {
  const store = await tempDir();
  const files = {
    "jobs.yaml": "cache: true\ninclude: [pkg/jobs.yaml]\njobs:\n  top: { run: 'true' }\n",
    "pkg/jobs.yaml": "jobs:\n  gen: { run: 'echo x > x', writes: [x] }\ncache: false\n",
  };
  const a = await tempDir(files);
  const r = await run(a, store);
  assert.equal(r.code, 0, r.stderr);
  const b = await tempDir(files);
  assert.ok((await run(b, store)).restored.includes("pkg:gen"), "the root file says cache: true");
});

Deno.test("cache restore: a timed-out job that exits 0 on SIGTERM is not stored (the next run runs it)", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  gen:
    run: "trap 'exit 0' TERM; mkdir -p out; echo partial > out/x; sleep 30 & wait; echo full > out/x"
    writes: [out/x]
    timeout: 500ms
`;
  const a = await tempDir({ "jobs.yaml": jobs });
  const first = await run(a, store);
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stderr, /gen: TIMED OUT \(exit 0/);
  // Its outputs were cut short: a fresh checkout must not get them as a success.
  const b = await tempDir({ "jobs.yaml": jobs });
  const again = await run(b, store);
  assert.deepEqual(again.restored, []);
  assert.deepEqual(again.ran, ["gen"]);
  assert.equal(again.code, 1, again.stderr);
});

/** The temporary files of a restore under way in `dir` (`.jx-restore-HOST-PID-HEX`). */
const staged = (dir: string) => ls(dir).filter((n) => n.startsWith(".jx-restore-"));

/** Waits (30 s at most) until a restore has staged a file in `dir`. */
async function restoreUnderWay(dir: string): Promise<void> {
  for (const until = Date.now() + 30_000; !staged(dir).length; await sleep(2)) {
    if (Date.now() > until) throw new Error("no restore under way after 30 s");
  }
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] cache restore: Ctrl-C during a long restore stops the run (130), nothing of the job put in place; the next run restores it whole`, async () => {
    const n = 2000; // small files: each costs the restore some 0.2 to 1.5 ms
    const store = await tempDir();
    const dir = await tempDir({
      "jobs.yaml": `cache: true
jobs:
  gen:
    run: "mkdir -p out && i=0; while [ $i -lt ${n} ]; do echo $i > out/f$i; i=$((i+1)); done"
    writes: [out]
`,
    });
    const first = await cacheRun(dir, ["--cache-dir", store], { runtime: rt });
    assert.deepEqual([first.code, first.ran], [0, ["gen"]], first.stderr);
    await Deno.remove(`${dir}/out`, { recursive: true });
    const [cmd, args] = jxCommand(rt, ["run", "--cache-dir", store, "--events", "ev.ndjson"]);
    const child = new Deno.Command(cmd, {
      args,
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    await restoreUnderWay(dir);
    child.kill("SIGINT");
    const out = await child.output();
    const said = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 130, said);
    assert.equal(out.signal, "SIGINT", "it died of the signal, as after jobs");
    const ends = (await readEvents(`${dir}/ev.ndjson`)).filter((e) => e.type === "job.end");
    assert.deepEqual(ends.map((e) => [e.job, e.status, e.cache]), [[
      "gen",
      "cancelled",
      undefined,
    ]]);
    assert.deepEqual([staged(dir), ls(dir).includes("out")], [[], false], "nothing left of it");
    const next = await cacheRun(dir, ["--cache-dir", store], { runtime: rt });
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(next.restored, { gen: "local" }, "restored, not taken as up to date");
    assert.equal(ls(`${dir}/out`).length, n);
    assert.equal(await Deno.readTextFile(`${dir}/out/f${n - 1}`), `${n - 1}\n`);
  });
}

Deno.test("cache restore: over an earlier run's read-only output folders (chmod a-w): restored, stale files and read-only folders removed, modes as stored", async () => {
  // (As root: in /tmp, which nobody can reach; the suite's own folder is root's, 0700.)
  const dir = await Deno.makeTempDir({
    prefix: "jx-ro-",
    dir: Deno.uid() === 0 ? "/tmp" : undefined,
  });
  try {
    await roSteps(dir);
  } finally {
    await new Deno.Command("chmod", { args: ["-R", "u+w", dir] }).output();
    await Deno.remove(dir, { recursive: true });
  }
});

async function roSteps(dir: string) {
  await Deno.mkdir(`${dir}/p`);
  await Deno.writeTextFile(
    `${dir}/p/jobs.yaml`,
    `cache: true
jobs:
  gen:
    run: "chmod -R u+w out 2>/dev/null; rm -rf out; mkdir -p out/ro out/d$(cat in) && cat in > out/ro/f && cat in > out/ro/s$(cat in) && cat in > out/d$(cat in)/g && chmod 555 out/ro out/d$(cat in) out && chmod 444 out/ro/f"
    reads: [in]
    writes: [out]
`,
  );
  if (Deno.uid() === 0) {
    for (const p of [dir, `${dir}/p`, `${dir}/p/jobs.yaml`]) Deno.chownSync(p, 65534, 65534);
  }
  const step = async (v: string, restored: boolean) => {
    await Deno.writeTextFile(`${dir}/p/in`, v);
    if (Deno.uid() === 0) Deno.chownSync(`${dir}/p/in`, 65534, 65534);
    const r = await runJxBound(dir);
    if (r === null) return false;
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /warning/, r.stderr);
    assert.equal(/1 job restored/.test(r.stderr), restored, r.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/p/out/ro/f`), v);
    assert.deepEqual(ls(`${dir}/p/out/ro`), ["f", `s${v.trim()}`]);
    assert.deepEqual(
      ls(`${dir}/p/out`),
      [`d${v.trim()}`, "ro"],
      "a stale read-only folder removed",
    );
    assert.equal((await Deno.stat(`${dir}/p/out/ro`)).mode! & 0o777, 0o555);
    assert.equal((await Deno.stat(`${dir}/p/out`)).mode! & 0o777, 0o555);
    assert.equal((await Deno.stat(`${dir}/p/out/ro/f`)).mode! & 0o777, 0o444);
    return true;
  };
  if (!(await step("1\n", false))) return; // (no way to be bound by modes here)
  await step("2\n", false);
  await step("1\n", true);
  await step("2\n", true);
}

/**
 * A folder in `/tmp` (as root: owned by nobody, whom `runJxBound` runs as) with `p/jobs.yaml`
 * holding `jobs`; `f` gets it, then it is removed (null, and nothing run: no way to be bound by
 * file modes here).
 */
async function inBoundDir(jobs: string, f: (dir: string) => Promise<void>) {
  const root = Deno.uid() === 0;
  if (root && !(await Deno.stat("/usr/bin/setpriv").catch(() => null))) {
    console.log("SKIPPED: checking file modes as root needs /usr/bin/setpriv (to run as nobody)");
    return;
  }
  // (As root: in /tmp, which nobody can reach; the suite's own folder is root's, 0700.)
  const dir = await Deno.makeTempDir({ prefix: "jx-bound-", dir: root ? "/tmp" : undefined });
  try {
    await Deno.mkdir(`${dir}/p`);
    await Deno.writeTextFile(`${dir}/p/jobs.yaml`, jobs);
    if (root) {
      for (const p of [dir, `${dir}/p`, `${dir}/p/jobs.yaml`]) Deno.chownSync(p, 65534, 65534);
    }
    await f(dir);
  } finally {
    await new Deno.Command("chmod", { args: ["-R", "u+w", dir] }).output();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Writes `text` to `path`, owned by nobody when root runs the tests. */
async function boundWrite(path: string, text: string) {
  await Deno.writeTextFile(path, text);
  if (Deno.uid() === 0) Deno.chownSync(path, 65534, 65534);
}

Deno.test("cache restore: a declared file in a read-only folder that is not declared (writes: [ro/out.txt], ro 0555): restored, the folder's mode kept", async () => {
  const jobs = `cache: true
jobs:
  gen:
    run: "mkdir -p ro && chmod u+w ro && cat in > ro/out.txt && chmod 555 ro"
    reads: [in]
    writes: [ro/out.txt]
`;
  await inBoundDir(jobs, async (dir) => {
    for (const [v, restored] of [["1\n", false], ["2\n", false], ["1\n", true]] as const) {
      await boundWrite(`${dir}/p/in`, v);
      const r = (await runJxBound(dir))!;
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /warning/, r.stderr);
      assert.equal(/1 job restored/.test(r.stderr), restored, r.stderr);
      assert.equal(await Deno.readTextFile(`${dir}/p/ro/out.txt`), v);
      assert.deepEqual(ls(`${dir}/p/ro`), ["out.txt"], "no staged file left");
      assert.equal((await Deno.stat(`${dir}/p/ro`)).mode! & 0o777, 0o555);
    }
  });
});

Deno.test("cache restore: a stale file that cannot be removed (another user's folder in the output): nothing of the entry put in place, one warning, the job runs on the outputs as they were", async () => {
  if (Deno.uid() !== 0) {
    console.log("SKIPPED: needs root, to put a folder of another user's into the output");
    return;
  }
  const jobs = `cache: true
jobs:
  gen:
    run: "cat out/a out/b > seen 2>/dev/null; mkdir -p out && cat in > out/a && cat in > out/b"
    reads: [in]
    writes: [out]
`;
  await inBoundDir(jobs, async (dir) => {
    for (const v of ["1\n", "2\n"]) {
      await boundWrite(`${dir}/p/in`, v);
      const r = (await runJxBound(dir))!;
      assert.equal(r.code, 0, r.stderr);
    }
    // root's folder in the job's output (a run under sudo left it): nobody cannot empty it.
    await Deno.mkdir(`${dir}/p/out/sub`);
    await Deno.writeTextFile(`${dir}/p/out/sub/x`, "root's\n");
    await boundWrite(`${dir}/p/in`, "1\n");
    const r = (await runJxBound(dir))!;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.match(/warning/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /cache entry [0-9a-f]{12} for gen not restored: .*out\/sub/, r.stderr);
    assert.doesNotMatch(r.stderr, /restored\b.*job/, r.stderr);
    assert.equal(
      await Deno.readTextFile(`${dir}/p/seen`),
      "2\n2\n",
      "the job saw the outputs as they were",
    );
    assert.equal(await Deno.readTextFile(`${dir}/p/out/a`), "1\n");
    assert.deepEqual(ls(`${dir}/p/out`), ["a", "b", "sub"], "no staged or kept-aside file left");
  });
});

Deno.test("cache restore: a stale file whose name is not UTF-8 in the job's folder (or matching its glob) refuses the entry: never left beside the entry's files", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  gen: { run: "rm -rf out gl && mkdir out gl && cat in > out/a && cat in > gl/a.o", reads: [in], writes: [out, "gl/*.o"] }
`;
  const a = await tempDir({ "jobs.yaml": jobs, "in": "1\n" });
  assert.equal((await run(a, store)).code, 0);
  for (const stale of ["out/z\\377", "gl/z\\377.o"]) {
    const b = await tempDir({ "jobs.yaml": jobs, "in": "1\n", "out/old": "", "gl/old.o": "" });
    const sh = ["-c", `printf s > "$(printf '${stale}')"`];
    assert.ok((await new Deno.Command("sh", { args: sh, cwd: b }).output()).success);
    // The folder lists `z\xff` as `z\uFFFD`, a name that is not there: it was passed over, and
    // the restore left it beside the entry's out/a, where no run of the job leaves it.
    const r = await run(b, store);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /not restored: .*: a stale file whose name is not UTF-8/, r.stderr);
    assert.deepEqual(r.restored, []);
    assert.deepEqual(r.ran, ["gen"]);
    assert.deepEqual([ls(`${b}/out`), ls(`${b}/gl`)], [["a"], ["a.o"]]);
    await Deno.remove(b, { recursive: true });
  }
  for (const d of [store, a]) await Deno.remove(d, { recursive: true });
});
