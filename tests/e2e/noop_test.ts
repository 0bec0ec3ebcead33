/**
 * `jx run`'s no-op fast path: used only when the last run with the same
 * arguments left every job up to date and no recorded stamp changed;
 * every change sends the run the full way, which reruns what it must.
 */
import assert from "node:assert/strict";
import { jxCommand, readEvents, ROOT, runJx, tempDir, waitForFile } from "../helpers.ts";
import type { NoopRecord } from "../../lib/state/noop.ts";

const JOBS = `
jobs:
  up: { run: "tr a-z A-Z < src/a.txt > out/a.up", reads: [src/a.txt], writes: [out/a.up] }
  cat: { run: "cat out/a.up src/b.txt > out/all", reads: [out/a.up, src/b.txt], writes: [out/all] }
`;

/** A run with -v and events: whether it took the fast path, and the jobs that started. */
async function run(dir: string, ...args: string[]) {
  const r = await runJx(["run", "-v", "--events", "ev.ndjson", ...args], { cwd: dir });
  const ev = await readEvents(`${dir}/ev.ndjson`);
  return {
    code: r.code,
    fast: /^jx: no-op: /m.test(r.stderr),
    /** The jobs the edit path trusted from the record (-1: it was not taken). */
    trusted: Number(
      r.stderr.match(/^jx: edit: \d+ recorded file\(s\) changed, (\d+) job/m)?.[1] ?? -1,
    ),
    /** The jobs a partial run loaded (-1: it was not taken). */
    loaded: Number(r.stderr.match(/^jx: edit: .*, (\d+) of \d+ job\(s\) loaded$/m)?.[1] ?? -1),
    ran: ev.filter((e) => e.type === "job.start").map((e) => e.job).sort(),
    skipped: ev.filter((e) => e.type === "job.skip").map((e) => `${e.job}:${e.reason}`).sort(),
    stderr: r.stderr,
  };
}

Deno.test("no-op fast path: taken when nothing changed, left for every change", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS, "src/a.txt": "a\n", "src/b.txt": "b\n" });
  await Deno.mkdir(`${dir}/out`);
  const first = await run(dir);
  assert.deepEqual([first.fast, first.ran], [false, ["cat", "up"]]);
  const noop = await run(dir);
  assert.equal(noop.fast, true, noop.stderr);
  assert.deepEqual(noop.skipped, ["cat:up-to-date", "up:up-to-date"]);
  assert.match(noop.stderr, /^jx: 2 jobs up to date in /m);

  // An input's content changes: the full way, which reruns it and what reads its output.
  await Deno.writeTextFile(`${dir}/src/a.txt`, "aa\n");
  assert.deepEqual(await run(dir).then((r) => [r.fast, r.ran]), [false, ["cat", "up"]]);
  assert.equal((await run(dir)).fast, true);

  // Touched, same content: the full way finds it up to date, then the fast path again.
  const now = new Date();
  await Deno.utime(`${dir}/src/b.txt`, now, new Date(now.getTime() + 5000));
  assert.deepEqual(await run(dir).then((r) => [r.fast, r.ran]), [false, []]);
  assert.equal((await run(dir)).fast, true);

  // An output removed: rerun.
  await Deno.remove(`${dir}/out/all`);
  assert.deepEqual(await run(dir).then((r) => [r.fast, r.ran]), [false, ["cat"]]);

  // Another selection, another variable: their own records.
  assert.equal((await run(dir, "up")).fast, false);
  assert.equal((await run(dir, "up")).fast, true);
  assert.equal((await run(dir, "X=1")).fast, false);
  assert.equal((await run(dir)).fast, false, "the last run was another selection");
  assert.equal((await run(dir)).fast, true);

  // The jobs file changes (a command): the full way reruns that job.
  await Deno.writeTextFile(`${dir}/jobs.yaml`, JOBS.replace("cat out/a.up", "cat  out/a.up"));
  assert.deepEqual(await run(dir).then((r) => [r.fast, r.ran]), [false, ["cat"]]);

  // A failed run drops the record: the next run is the full way and reruns the failure.
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    JOBS.replace("src/b.txt > out/all", "nope > out/all"),
  );
  const failed = await run(dir);
  assert.deepEqual([failed.code, failed.fast], [1, false]);
  const again = await run(dir);
  assert.deepEqual([again.code, again.fast, again.ran], [1, false, ["cat"]]);

  // -n, --force and MAKEFLAGS always take the full way.
  await Deno.writeTextFile(`${dir}/jobs.yaml`, JOBS);
  await run(dir);
  assert.equal((await run(dir)).fast, true);
  assert.equal((await run(dir, "-n")).fast, false);
  assert.deepEqual(await run(dir, "--force").then((r) => [r.fast, r.ran]), [false, ["cat", "up"]]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no-op fast path: a dry run leaves the record as it was (the next run is still fast)", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS, "src/a.txt": "a\n", "src/b.txt": "b\n" });
  await Deno.mkdir(`${dir}/out`);
  await run(dir);
  assert.equal((await run(dir)).fast, true);
  const dry = await runJx(["run", "-n"], { cwd: dir });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal((await run(dir)).fast, true, "after jx run -n");
  // A dry run after an edit says what would run and keeps nothing stale: the edit is still seen.
  await Deno.writeTextFile(`${dir}/src/b.txt`, "bb\n");
  assert.match((await runJx(["run", "-n"], { cwd: dir })).stdout, /cat/);
  assert.deepEqual(await run(dir).then((r) => [r.fast, r.ran]), [false, ["cat"]]);
});

Deno.test("no-op fast path: no record for jobs it cannot vouch for (an always-run job beside a glob)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  all: { run: "cat src/*.txt > out.txt", reads: ["src/*.txt"], writes: [out.txt] }
  always: { run: "true" }
`,
    "src/a.txt": "a\n",
  });
  await run(dir);
  const second = await run(dir);
  assert.deepEqual([second.fast, second.ran], [false, ["always"]]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no-op fast path: an input edited while the run goes on is not recorded as checked", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  copy: { run: "cp in.txt out.txt; echo x > copied; sleep 1", reads: [in.txt], writes: [out.txt] }
`,
    "in.txt": "one\n",
  });
  await run(dir);
  await Deno.remove(`${dir}/copied`);
  const during = run(dir, "--force");
  await waitForFile(`${dir}/copied`); // the job has read in.txt
  await Deno.writeTextFile(`${dir}/in.txt`, "two\n");
  await during;
  const next = await run(dir);
  assert.deepEqual([next.fast, next.ran], [false, ["copy"]]);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "two\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no-op fast path: not for a foreach glob over the disk, nor under make", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  cc: { foreach: { glob: "src/*.c", as: S }, run: "cp \${S} \${S}.o", reads: ["\${S}"], writes: ["\${S}.o"] }
  plain: { run: "cp a.txt b.txt", reads: [a.txt], writes: [b.txt] }
`,
    "src/a.c": "a\n",
    "a.txt": "a\n",
  });
  await run(dir);
  await Deno.writeTextFile(`${dir}/src/b.c`, "b\n");
  const r = await run(dir);
  assert.deepEqual([r.fast, r.ran], [false, ["cc[src/b.c]"]]);
  // Only the plain job: recorded; then a run under make takes the full way and drops it.
  await run(dir, "plain");
  assert.equal((await run(dir, "plain")).fast, true);
  const make = await runJx(["run", "-v", "plain"], { cwd: dir, env: { MFLAGS: "-k" } });
  assert.doesNotMatch(make.stderr, /^jx: no-op: /m);
  assert.equal((await run(dir, "plain")).fast, false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no-op fast path: a foreach glob's new match is seen, also when it matched nothing or is no selected job's", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  conv: { foreach: { glob: "src/*.md", as: F }, run: "cp \${F} out/\${F}.html", reads: ["\${F}"], writes: ["out/\${F}.html"] }
  index: { run: "ls out/src > index.txt", reads: ["out/src/*.x.md.html"], writes: [index.txt] }
`,
    "a.txt": "a\n",
  });
  await Deno.mkdir(`${dir}/src`);
  await Deno.mkdir(`${dir}/out/src`, { recursive: true });
  // No match yet: no item in the selection, but a new match is a new job to run.
  assert.deepEqual((await run(dir)).ran, ["index"]);
  assert.equal((await run(dir)).fast, true);
  await Deno.writeTextFile(`${dir}/src/a.md`, "a\n");
  assert.deepEqual(await run(dir).then((r) => [r.fast, r.ran]), [false, ["conv[src/a.md]"]]);
  // A named selection that no item is in: a new match whose output its glob reads joins it.
  await run(dir, "index");
  assert.equal((await run(dir, "index")).fast, true);
  await Deno.writeTextFile(`${dir}/src/b.x.md`, "b\n");
  const r = await run(dir, "index");
  assert.deepEqual([r.fast, r.ran], [false, ["conv[src/b.x.md]", "index"]]);
  await Deno.remove(dir, { recursive: true });
});

const CHAIN = `
jobs:
  up: { run: "tr a-z A-Z < src/a.txt > out/a.up", reads: [src/a.txt], writes: [out/a.up] }
  cat: { run: "cat out/a.up src/b.txt > out/all", reads: [out/a.up, src/b.txt], writes: [out/all] }
  other: { run: "cp src/c.txt out/c", reads: [src/c.txt], writes: [out/c] }
`;

/**
 * A comment that takes a jobs file over the size below which it is parsed
 * every time: its graph is cached, and an edit loads only what it touches.
 */
const PAD = `# ${"-".repeat(32 * 1024)}\n`;

/** A built tree of CHAIN (`pad`: with PAD) whose next run takes the fast path. */
async function chain(pad = ""): Promise<string> {
  const dir = await tempDir({
    "jobs.yaml": CHAIN + pad,
    "src/a.txt": "a\n",
    "src/b.txt": "b\n",
    "src/c.txt": "c\n",
  });
  await Deno.mkdir(`${dir}/out`);
  await run(dir);
  // Past the racy window of the record, so that its stamps are trusted by stamp alone.
  await new Promise((r) => setTimeout(r, 100));
  await run(dir, "--force");
  return dir;
}

Deno.test("edit path: a missed record trusts the untouched jobs and checks what follows an edit", async () => {
  const dir = await chain();
  assert.equal((await run(dir)).fast, true);
  // An edit: its job reruns, and so does the one reading its output (no stale trust).
  await Deno.writeTextFile(`${dir}/src/a.txt`, "ab\n");
  // cat and other trusted by the record, cat checked all the same (it reads what up rewrites).
  assert.deepEqual(await run(dir).then((r) => [r.fast, r.trusted, r.ran]), [false, 2, [
    "cat",
    "up",
  ]]);
  assert.equal(await Deno.readTextFile(`${dir}/out/all`), "AB\nb\n");
  // The record the edit run left (updated, not rebuilt) answers the next no-op.
  const next = await run(dir);
  assert.deepEqual([next.fast, next.skipped.length], [true, 3]);
  // A deleted output: that job reruns, the rest is trusted.
  await Deno.remove(`${dir}/out/c`);
  assert.deepEqual(await run(dir).then((r) => [r.fast, r.trusted, r.ran]), [false, 2, ["other"]]);
  assert.equal((await run(dir)).fast, true);
  // An output another process rewrote: its job reruns and puts it back.
  await Deno.writeTextFile(`${dir}/out/c`, "x\n");
  assert.deepEqual(await run(dir).then((r) => [r.fast, r.trusted, r.ran]), [false, 2, ["other"]]);
  assert.equal(await Deno.readTextFile(`${dir}/out/c`), "c\n");
  assert.equal((await run(dir)).fast, true);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("edit path: an edit that keeps size and mtime is seen (ctime)", async () => {
  const dir = await chain();
  assert.equal((await run(dir)).fast, true);
  const { mtime, atime } = await Deno.stat(`${dir}/src/c.txt`);
  await Deno.writeTextFile(`${dir}/src/c.txt`, "C\n"); // same size
  await Deno.utime(`${dir}/src/c.txt`, atime!, mtime!); // the mtime put back
  const r = await run(dir);
  assert.deepEqual([r.fast, r.trusted, r.ran], [false, 2, ["other"]]);
  assert.equal(await Deno.readTextFile(`${dir}/out/c`), "C\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("edit path: no trust after another run's state line, a changed var or jobs file", async () => {
  const dir = await chain();
  // Another selection's run appends a state line (and writes its own record).
  await Deno.remove(`${dir}/out/c`);
  await run(dir, "other");
  await Deno.writeTextFile(`${dir}/src/a.txt`, "ab\n");
  // The full selection's record is stale by the state log: everything is checked again.
  const r = await run(dir);
  assert.deepEqual([r.fast, r.trusted, r.ran], [false, -1, ["cat", "up"]]);
  assert.equal((await run(dir)).fast, true);
  // A variable: another key; the jobs file: its stamp. Both the full way, results right.
  await Deno.writeTextFile(`${dir}/src/c.txt`, "cc\n");
  assert.deepEqual(await run(dir, "X=1").then((r) => [r.fast, r.trusted, r.ran]), [false, -1, [
    "other",
  ]]);
  await Deno.writeTextFile(`${dir}/src/c.txt`, "ccc\n");
  await Deno.writeTextFile(`${dir}/jobs.yaml`, CHAIN.replace("cp src/c.txt", "cp  src/c.txt"));
  assert.deepEqual(await run(dir).then((r) => [r.fast, r.trusted, r.ran]), [false, -1, ["other"]]);
  assert.equal(await Deno.readTextFile(`${dir}/out/c`), "ccc\n");
  await Deno.remove(dir, { recursive: true });
});

/**
 * In a tree whose `copy` job copies in.txt, writes `copied` and sleeps: a
 * built run, then an edit of in.txt and a run during which in.txt is edited
 * again once the job has read it; that run's result.
 */
async function editDuringRun(dir: string) {
  await run(dir);
  await Deno.remove(`${dir}/copied`);
  await Deno.writeTextFile(`${dir}/in.txt`, "two\n"); // an edit: copy reruns
  const during = run(dir);
  await waitForFile(`${dir}/copied`); // the job has read in.txt
  await Deno.writeTextFile(`${dir}/in.txt`, "three\n");
  return await during;
}

Deno.test("edit path: an input edited while the run goes on is not trusted next time", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  copy: { run: "cp in.txt out.txt; echo x > copied; sleep 1", reads: [in.txt], writes: [out.txt] }
  other: { run: "cp o.txt o.out", reads: [o.txt], writes: [o.out] }
`,
    "in.txt": "one\n",
    "o.txt": "o\n",
  });
  assert.deepEqual((await editDuringRun(dir)).ran, ["copy"]);
  const next = await run(dir);
  assert.deepEqual([next.fast, next.ran], [false, ["copy"]]);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "three\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no-op record: a racy stamp (written within a clock tick of the record) is checked by content", async () => {
  const { decodeRecord, diffNoop, encodeRecord, noopRecordPath, recordNoop, stampOf } =
    await import(
      "../../lib/state/noop.ts"
    );
  const { hashFile } = await import("../../lib/state/fileset.ts");
  const dir = await tempDir({ "jobs.yaml": "jobs: {}\n", "a.txt": "a\n", ".jx/state.ndjson": "" });
  const file = `${dir}/jobs.yaml`;
  // Racy however slow the machine: an mtime ahead of the record's writing (not 50 ms behind it).
  const ahead = new Date(Date.now() + 3_600_000);
  await Deno.utime(`${dir}/a.txt`, ahead, ahead);
  const job = { name: "j", kind: "job", reads: ["a.txt"], writes: [] };
  const line = (hash?: string) => () => {
    const [size, mtime, ino] = stampOf(`${dir}/a.txt`)!;
    return new Map([["a.txt", hash ? [size, mtime, ino, hash] : [size, mtime, ino]]]) as never;
  };
  const from = { jobsFile: stampOf(file)!, recorded: line() };
  // Just written and no hash on the line: no record rather than a stamp that may lie.
  assert.equal(recordNoop(dir, file, "k", [job], 1, "none", from), false);
  const hash = hashFile(dir, "a.txt");
  assert.equal(
    recordNoop(dir, file, "k", [job], 1, "none", { ...from, recorded: line(hash) }),
    true,
  );
  // Cast: the record just written.
  const rec = decodeRecord(await Deno.readFile(noopRecordPath(dir, file))) as NoopRecord;
  assert.deepEqual(rec.racy, [2, hash]);
  assert.equal(diffNoop(dir, file, "k")!.changed.size, 0);
  // An edit within the same tick: same size, and (as the clock would give it) the same stamp.
  await Deno.writeTextFile(`${dir}/a.txt`, "b\n");
  rec.stamps.set(stampOf(`${dir}/a.txt`)!, 8);
  await Deno.writeFile(noopRecordPath(dir, file), joined(encodeRecord(rec)));
  assert.deepEqual([...diffNoop(dir, file, "k")!.changed], ["a.txt"]);
  await Deno.remove(dir, { recursive: true });
});

const GLOBS = `
jobs:
  all:
    run: "find src -name '*.txt' | LC_ALL=C sort | xargs cat > out/all.txt"
    reads: ["src/**/*.txt", "@lock"]
    writes: [out/all.txt]
  tree: { run: "find lib | LC_ALL=C sort > out/lib.txt", reads: [lib], writes: [out/lib.txt] }
  none: { run: "ls gen > out/gen.txt 2>&1 || true", reads: ["gen/*.h"], writes: [out/gen.txt] }
`;

/** A built tree of GLOBS whose next run takes the fast path. */
async function globs(): Promise<string> {
  const dir = await tempDir({
    "jobs.yaml": GLOBS,
    "src/a.txt": "a\n",
    "src/sub/b.txt": "b\n",
    "src/notes.md": "n\n",
    "lib/x.ts": "x\n",
    "out/.keep": "",
  });
  await run(dir);
  await new Promise((r) => setTimeout(r, 100)); // past the racy window of the directories
  await run(dir, "--force");
  return dir;
}

Deno.test("no-op fast path over globs and directories: every change of what they match is seen", async () => {
  const dir = await globs();
  const noop = await run(dir);
  assert.deepEqual([noop.fast, noop.skipped.length], [true, 3], noop.stderr);
  const all = () => Deno.readTextFile(`${dir}/out/all.txt`);
  const step = async (what: string, change: () => Promise<void>, ran: string[], text?: string) => {
    await change();
    const r = await run(dir);
    assert.deepEqual([r.fast, r.ran], [false, ran], what);
    if (text !== undefined) assert.equal(await all(), text, what);
    assert.equal((await run(dir)).fast, true, `${what}: then the fast path again`);
  };
  await step(
    "a new match",
    () => Deno.writeTextFile(`${dir}/src/c.txt`, "c\n"),
    ["all"],
    "a\nc\nb\n",
  );
  await step("a removed match", () => Deno.remove(`${dir}/src/c.txt`), ["all"], "a\nb\n");
  await step("a renamed match", () => Deno.rename(`${dir}/src/a.txt`, `${dir}/src/d.txt`), [
    "all",
  ], "a\nb\n");
  await step(
    "a new subdirectory with a match",
    async () => {
      await Deno.mkdir(`${dir}/src/sub/deep`);
      await Deno.writeTextFile(`${dir}/src/sub/deep/e.txt`, "e\n");
    },
    ["all"],
    "a\nb\ne\n",
  );
  await step("an edit of a match", () => Deno.writeTextFile(`${dir}/src/d.txt`, "D\n"), [
    "all",
  ], "D\nb\ne\n");
  // Not matched, in a watched directory: the full way, which finds everything up to date.
  await step("an unrelated new file", () => Deno.writeTextFile(`${dir}/src/x.md`, "x\n"), []);
  await step("a file in a directory read", () => Deno.writeTextFile(`${dir}/lib/y.ts`, ""), [
    "tree",
  ]);
  assert.match(await Deno.readTextFile(`${dir}/out/lib.txt`), /lib\/y\.ts/);
  // A glob that matched nothing (its directory absent) gains a match.
  await step("a glob's missing directory appears", async () => {
    await Deno.mkdir(`${dir}/gen`);
    await Deno.writeTextFile(`${dir}/gen/v.h`, "");
  }, ["none"]);
  assert.equal(await Deno.readTextFile(`${dir}/out/gen.txt`), "v.h\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no-op fast path over globs: a match that appears while the run goes on is not vouched for", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  all: { run: "cat src/*.txt > all.txt; echo x > started; sleep 1", reads: ["src/*.txt"], writes: [all.txt] }
`,
    "src/a.txt": "a\n",
  });
  const during = run(dir);
  await waitForFile(`${dir}/started`); // the job has listed src/
  await Deno.writeTextFile(`${dir}/src/b.txt`, "b\n");
  await during;
  const next = await run(dir);
  assert.deepEqual([next.fast, next.ran], [false, ["all"]]);
  assert.equal(await Deno.readTextFile(`${dir}/all.txt`), "a\nb\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no-op fast path: jobs.yaml.example (globs, depfiles, a directory in writes)", async () => {
  const dir = await tempDir({ "jobs.yaml": await Deno.readTextFile("jobs.yaml.example") });
  for (const f of ["main.c", "greet.c", "greet.h"]) {
    await Deno.mkdir(`${dir}/examples/c/src`, { recursive: true });
    await Deno.copyFile(`examples/c/src/${f}`, `${dir}/examples/c/src/${f}`);
  }
  const first = await run(dir);
  assert.equal(first.code, 0, first.stderr);
  const second = await run(dir);
  assert.deepEqual([second.fast, second.skipped.length], [true, 6], second.stderr);
  // A header the depfile found: the full way, which recompiles (same objects: no relink).
  await Deno.writeTextFile(`${dir}/examples/c/src/greet.h`, "\n", { append: true });
  const edit = await run(dir);
  assert.deepEqual([edit.fast, edit.ran], [false, ["compile-greet", "compile-main"]]);
  assert.equal((await run(dir)).fast, true);
  // A new object file beside the others: link's glob gains it.
  await Deno.copyFile(`${dir}/out/example/main.o`, `${dir}/out/example/extra.o`);
  const extra = await run(dir);
  assert.deepEqual([extra.fast, extra.ran.includes("link")], [false, true]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("edit path: a job that reads below a directory a rerun job writes is not trusted", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  gen: { run: "mkdir -p gen && cp src/a.txt gen/a.txt", reads: [src/a.txt], writes: [gen] }
  use: { run: "cat gen/a.txt > use.txt", reads: [gen/a.txt], writes: [use.txt] }
  other: { run: "cp src/b.txt b.out", reads: [src/b.txt], writes: [b.out] }
`,
    "src/a.txt": "a\n",
    "src/b.txt": "b\n",
  });
  await run(dir);
  await new Promise((r) => setTimeout(r, 100)); // past the racy window
  await run(dir, "--force");
  assert.equal((await run(dir)).fast, true);
  await Deno.writeTextFile(`${dir}/src/a.txt`, "A\n");
  // use and other trusted by the record; use checked all the same (gen rewrites what is below gen).
  const r = await run(dir);
  assert.deepEqual([r.fast, r.trusted, r.ran], [false, 2, ["gen", "use"]]);
  assert.equal(await Deno.readTextFile(`${dir}/use.txt`), "A\n");
  assert.equal((await run(dir)).fast, true);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no-op record: a racy directory (listed within a clock tick of the record) is compared by its names", async () => {
  const { decodeRecord, diffNoop, encodeRecord, noopRecordPath, recordNoop, stampOf } =
    await import(
      "../../lib/state/noop.ts"
    );
  const globs = await import("../../lib/graph/glob.ts");
  const { hashFile } = await import("../../lib/state/fileset.ts");
  const { DIR, ST, statInto } = await import("../../lib/state/stat.ts");
  const dir = await tempDir({
    "jobs.yaml": "jobs: {}\n",
    "src/a.c": "a\n",
    ".jx/state.ndjson": "",
  });
  const file = `${dir}/jobs.yaml`;
  const job = { name: "j", kind: "job", reads: ["src/*.c"], writes: [] };
  const [size, mtime, ino] = stampOf(`${dir}/src/a.c`)!;
  const line = new Map([["src/a.c", [size, mtime, ino, hashFile(dir, "src/a.c")]]]);
  const from = { jobsFile: stampOf(file)!, recorded: () => line as never, globs };
  const later = new Date(Date.now() + 10_000); // within the racy window whatever the machine's speed
  await Deno.utime(`${dir}/src`, later, later);
  // Without the glob functions (the fast path's view), a job with a glob gets no record.
  assert.equal(recordNoop(dir, file, "k", [job], 1, "none", { ...from, globs: undefined }), false);
  assert.equal(recordNoop(dir, file, "k", [job], 1, "none", from), true);
  // Cast: the record just written.
  const rec = decodeRecord(await Deno.readFile(noopRecordPath(dir, file))) as NoopRecord;
  assert.deepEqual([rec.dirs, rec.walks, rec.listings], [["src"], ["src/*.c"], [0, "a.c"]]);
  assert.equal(diffNoop(dir, file, "k")!.changed.size, 0);
  // A file added within the same tick: the directory's stamp as the clock would leave it.
  await Deno.writeTextFile(`${dir}/src/b.c`, "b\n");
  await Deno.utime(`${dir}/src`, later, later);
  assert.equal(statInto(`${dir}/src`), DIR);
  rec.dstamps.splice(1, 3, ST.mtimeMs, ST.ino, ST.ctimeMs);
  await Deno.writeFile(noopRecordPath(dir, file), joined(encodeRecord(rec)));
  const stamps = diffNoop(dir, file, "k")!;
  assert.deepEqual([...stamps.changed], ["src"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("partial run: an edit loads the jobs it touches and what follows them, and no more", async () => {
  const dir = await chain(PAD);
  assert.equal((await run(dir)).fast, true);
  await Deno.writeTextFile(`${dir}/src/a.txt`, "ab\n");
  const r = await run(dir);
  // up (its source changed) and cat (it reads what up writes): loaded and rerun; other: skipped.
  assert.deepEqual([r.fast, r.loaded, r.ran], [false, 2, ["cat", "up"]]);
  assert.deepEqual(r.skipped, ["other:up-to-date"]);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  assert.equal(ev.find((e) => e.type === "run.start")?.jobs, 3);
  assert.match(r.stderr, /^jx: 2 jobs ok, 1 up to date/m);
  assert.equal(await Deno.readTextFile(`${dir}/out/all`), "AB\nb\n");
  // The record it patched answers the next no-op; the full check agrees with it.
  assert.deepEqual(await run(dir).then((n) => [n.fast, n.skipped.length]), [true, 3]);
  const full = await runJx(["run", "-v"], { cwd: dir, env: { JX_NO_FAST_NOOP: "1" } });
  assert.match(full.stderr, /^jx: 3 jobs up to date/m);
  // A deleted output, an output rewritten by hand, an edit that keeps size and mtime: each
  // loads only its job, which puts the output back.
  await Deno.remove(`${dir}/out/c`);
  assert.deepEqual(await run(dir).then((n) => [n.loaded, n.ran]), [1, ["other"]]);
  await Deno.writeTextFile(`${dir}/out/c`, "x\n");
  assert.deepEqual(await run(dir).then((n) => [n.loaded, n.ran]), [1, ["other"]]);
  assert.equal(await Deno.readTextFile(`${dir}/out/c`), "c\n");
  await new Promise((r) => setTimeout(r, 100)); // past the racy window
  const { mtime, atime } = await Deno.stat(`${dir}/src/c.txt`);
  await Deno.writeTextFile(`${dir}/src/c.txt`, "C\n");
  await Deno.utime(`${dir}/src/c.txt`, atime!, mtime!);
  assert.deepEqual(await run(dir).then((n) => [n.loaded, n.ran]), [1, ["other"]]);
  assert.equal(await Deno.readTextFile(`${dir}/out/c`), "C\n");
  assert.equal((await run(dir)).fast, true);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("partial run: not after another run's state line, a changed var or jobs file", async () => {
  const dir = await chain(PAD);
  await Deno.remove(`${dir}/out/c`);
  await run(dir, "other"); // another selection: a state line
  await Deno.writeTextFile(`${dir}/src/a.txt`, "ab\n");
  let r = await run(dir);
  assert.deepEqual([r.fast, r.loaded, r.trusted, r.ran], [false, -1, -1, ["cat", "up"]]);
  assert.equal((await run(dir)).fast, true);
  await Deno.writeTextFile(`${dir}/src/c.txt`, "cc\n");
  r = await run(dir, "X=1");
  assert.deepEqual([r.loaded, r.trusted, r.ran], [-1, -1, ["other"]]);
  await Deno.writeTextFile(`${dir}/src/c.txt`, "ccc\n");
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    CHAIN.replace("cp src/c.txt", "cp  src/c.txt") + PAD,
  );
  r = await run(dir);
  assert.deepEqual([r.loaded, r.trusted, r.ran], [-1, -1, ["other"]]);
  assert.equal(await Deno.readTextFile(`${dir}/out/c`), "ccc\n");
  // The graph cache rewritten for another key (the same file listed with a var): the record
  // stands, but it names the other cache: no partial load (the jobs it vouches for are trusted).
  assert.equal((await run(dir)).fast, true);
  assert.equal((await runJx(["list", "X=2"], { cwd: dir })).code, 0);
  await Deno.writeTextFile(`${dir}/src/c.txt`, "c4\n");
  r = await run(dir);
  assert.deepEqual([r.loaded, r.trusted, r.ran], [-1, 2, ["other"]]);
  assert.equal(await Deno.readTextFile(`${dir}/out/c`), "c4\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("partial run: a failure leaves no record, an input edited during it is seen next time", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  copy: { run: "cp in.txt out.txt; echo x > copied; sleep 1", reads: [in.txt], writes: [out.txt] }
  check: { run: "! grep -q bad o.txt && cp o.txt o.out", reads: [o.txt], writes: [o.out] }
` + PAD,
    "in.txt": "one\n",
    "o.txt": "o\n",
  });
  assert.deepEqual(await editDuringRun(dir).then((r) => [r.loaded, r.ran]), [1, ["copy"]]);
  let r = await run(dir);
  assert.deepEqual([r.fast, r.ran], [false, ["copy"]]);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "three\n");
  // A job that fails: exit 1, and the next run checks it again (and the rest stays done).
  await Deno.writeTextFile(`${dir}/o.txt`, "bad\n");
  r = await run(dir);
  assert.deepEqual([r.code, r.loaded, r.ran], [1, 1, ["check"]]);
  r = await run(dir);
  assert.deepEqual([r.code, r.fast, r.ran], [1, false, ["check"]]);
  await Deno.writeTextFile(`${dir}/o.txt`, "good\n");
  r = await run(dir);
  assert.deepEqual([r.code, r.ran], [0, ["check"]]);
  assert.equal((await run(dir)).fast, true);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("partial run: a job with when: is never vouched for, by a record or a partial load", async () => {
  const jobs = Array.from(
    { length: 40 },
    (_, i) => `  c${i}: { run: "cp src/c${i} out/c${i}", reads: [src/c${i}], writes: [out/c${i}] }`,
  );
  const files: Record<string, string> = {
    "jobs.yaml": "jobs:\n" +
      '  w: { run: "cp src/w out/w", reads: [src/w], writes: [out/w], when: { env: JX_TEST_FOO } }\n' +
      jobs.join("\n") + "\n" + PAD,
    "src/w": "w\n",
  };
  for (let i = 0; i < 40; i++) files[`src/c${i}`] = `${i}\n`;
  const dir = await tempDir(files);
  await Deno.mkdir(`${dir}/out`);
  const foo = { JX_TEST_FOO: "1" };
  const withFoo = (...a: string[]) =>
    runJx(["run", "-v", "--events", "ev.ndjson", ...a], { cwd: dir, env: foo });
  assert.equal((await withFoo()).code, 0);
  assert.equal((await withFoo()).code, 0);
  await Deno.writeTextFile(`${dir}/src/c1`, "edited\n");
  // Without the variable, w does not apply: skipped for its condition, as the full way says.
  const r = await run(dir);
  assert.deepEqual([r.fast, r.loaded, r.ran], [false, -1, ["c1"]]);
  assert.ok(r.skipped.includes("w:condition"), r.skipped.join(" "));
  const again = await run(dir);
  assert.equal(again.fast, false);
  assert.ok(again.skipped.includes("w:condition"));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("partial run: more than 64 jobs loaded, names with commas (a matrix)", async () => {
  const lines = [
    "jobs:",
    '  t: { foreach: { matrix: { OS: [a, b], ARCH: [x, y] } }, run: "cp src/s out/t-${OS}-${ARCH}", reads: [src/s], writes: ["out/t-${OS}-${ARCH}"] }',
  ];
  const files: Record<string, string> = { "src/s": "s\n" };
  for (let i = 0; i < 70; i++) {
    lines.push(`  r${i}: { run: "cp src/s out/r${i}", reads: [src/s], writes: [out/r${i}] }`);
  }
  for (let i = 0; i < 600; i++) {
    lines.push(
      `  c${i}: { run: "cp src/c${i} out/c${i}", reads: [src/c${i}], writes: [out/c${i}] }`,
    );
    files[`src/c${i}`] = `${i}\n`;
  }
  files["jobs.yaml"] = lines.join("\n") + "\n" + PAD;
  const dir = await tempDir(files);
  await Deno.mkdir(`${dir}/out`);
  assert.equal((await run(dir)).code, 0);
  await new Promise((r) => setTimeout(r, 100)); // past the racy window
  assert.equal((await run(dir)).fast, true);
  // The same content written again: every job reading it is loaded (74), none reruns.
  await Deno.writeTextFile(`${dir}/src/s`, "s\n");
  let r = await run(dir);
  assert.deepEqual([r.loaded, r.ran], [74, []]);
  // An edit: those 74 rerun, the rest stays.
  await Deno.writeTextFile(`${dir}/src/s`, "S\n");
  r = await run(dir);
  assert.deepEqual([r.loaded, r.ran.length], [74, 74]);
  assert.equal(await Deno.readTextFile(`${dir}/out/t-b-y`), "S\n");
  assert.equal((await run(dir)).fast, true);
  await Deno.remove(dir, { recursive: true });
});

/** Whether another process can take `dir`'s run lock now (it is released at once). */
async function lockFree(dir: string): Promise<boolean> {
  const code = `import { tryLock } from "${ROOT}/lib/state/lock.ts";\n` +
    `const l = tryLock(${JSON.stringify(dir)});\n` +
    `console.log(typeof l === "number" ? "held" : "free");\n`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return new TextDecoder().decode(out.stdout).trim() === "free";
}

Deno.test("edit path: what the fast path found stays under its hold of the lock until the run goes on", async () => {
  // Released between the fast path and the run, another run (a jx, holding the same lock) could
  // change a recorded file unseen: the run would trust the fast path's findings and leave that
  // job stale (found by an attack on the partial path).
  const dir = await tempDir({ "jobs.yaml": JOBS, "src/a.txt": "a\n", "src/b.txt": "b\n" });
  await Deno.mkdir(`${dir}/out`);
  await run(dir);
  assert.equal((await run(dir)).fast, true);
  await Deno.writeTextFile(`${dir}/src/a.txt`, "edited\n");
  const noop = await import("../../lib/cli/noop_run.ts");
  const { parseArgs } = await import("../../lib/cli/args.ts");
  const file = `${dir}/jobs.yaml`;
  assert.equal(await noop.tryNoopRun(parseArgs(["run", "-f", file], {})), undefined);
  assert.equal(await lockFree(dir), false, "the fast path kept the lock");
  const lock = noop.heldLock(file);
  assert.ok(lock, "handed to the run");
  assert.equal(noop.heldLock(file), undefined, "once");
  lock.release();
  assert.equal(await lockFree(dir), true);
  // For another jobs file: released, and the findings forgotten.
  assert.equal(await noop.tryNoopRun(parseArgs(["run", "-f", file], {})), undefined);
  assert.equal(noop.heldLock(`${dir}/other.yaml`), undefined);
  assert.equal(await lockFree(dir), true);
  assert.equal(noop.trustedJobs(parseArgs(["run"], {}), [], { file, stamp: [] }), undefined);
  // A run that stops before it runs anything (its jobs file no longer loads) lets it go too.
  assert.equal(await noop.tryNoopRun(parseArgs(["run", "-f", file], {})), undefined);
  const good = await Deno.readTextFile(file);
  await Deno.writeTextFile(file, "jobs: [\n");
  const { cmdRun } = await import("../../lib/cli/commands.ts");
  await assert.rejects(cmdRun(parseArgs(["run", "-f", file], {})));
  assert.equal(await lockFree(dir), true, "released after a failed load");
  await Deno.writeTextFile(file, good);
  // The run itself: the edit reruns what it must, under that lock.
  assert.deepEqual((await run(dir)).ran, ["cat", "up"]);
});

/** A record's pieces (`encodeRecord`) as the one buffer of its file. */
function joined(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) out.set(p, at), at += p.length;
  return out;
}

Deno.test("no-op record: one of another format (an older jx's) is no record, and no damage either; garbage is", async () => {
  const { noopRecordPath } = await import("../../lib/state/noop.ts");
  const dir = await tempDir({ "jobs.yaml": JOBS, "src/a.txt": "a\n", "src/b.txt": "b\n" });
  await Deno.mkdir(`${dir}/out`);
  assert.equal((await run(dir)).code, 0);
  const rec = noopRecordPath(dir, `${dir}/jobs.yaml`);
  await Deno.writeFile(rec, new TextEncoder().encode("JXNOOP4\n\x10\0\0\0\x02\0\0\0{}"));
  const older = await run(dir);
  assert.deepEqual([older.code, older.fast, older.ran], [0, false, []]);
  assert.doesNotMatch(older.stderr, /damaged/);
  assert.equal((await run(dir)).fast, true, "the run wrote its own record");
  await Deno.writeFile(rec, new TextEncoder().encode("JXNOOPX\n{}"));
  assert.match((await run(dir)).stderr, /noop-jobs\.yaml\.rec is damaged: ignored/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("partial run: racy paths settle once checked past the racy window (they never pile up)", async () => {
  const { decodeRecord, noopRecordPath } = await import("../../lib/state/noop.ts");
  const dir = await chain(PAD);
  const racyPaths = async () => {
    const r = decodeRecord(
      await Deno.readFile(noopRecordPath(dir, `${dir}/jobs.yaml`)),
    ) as NoopRecord;
    return r.racy.filter((_, k) => k % 2 === 0).map((i) => r.paths[i as number]).sort();
  };
  const subset = (a: string[], of: string[]) => a.every((p) => of.includes(p));
  // The build just wrote its outputs: racy, checked by content next time (unless the machine
  // took more than the racy window between the writes and the record: then nothing to settle).
  const built = await racyPaths();
  assert.ok(subset(built, ["out/a.up", "out/all", "out/c"]), built.join());
  // A partial run past their racy window settles them (its diff checked them by content): only
  // what it took again may be racy.
  await new Promise((r) => setTimeout(r, 200));
  await Deno.writeTextFile(`${dir}/src/c.txt`, "c2\n");
  assert.deepEqual(await run(dir).then((r) => [r.loaded, r.ran]), [1, ["other"]]);
  const first = await racyPaths();
  assert.ok(subset(first, ["out/c", "src/c.txt"]), first.join());
  await new Promise((r) => setTimeout(r, 200));
  await Deno.writeTextFile(`${dir}/src/b.txt`, "b2\n");
  assert.deepEqual(await run(dir).then((r) => [r.loaded, r.ran]), [1, ["cat"]]);
  const second = await racyPaths();
  assert.ok(subset(second, ["out/all", "src/b.txt"]), second.join());
  // Settled for good: an edit of a settled path is still seen (by its stamp).
  await Deno.writeTextFile(`${dir}/src/c.txt`, "c3\n");
  assert.deepEqual(await run(dir).then((r) => [r.loaded, r.ran]), [1, ["other"]]);
  assert.equal(await Deno.readTextFile(`${dir}/out/c`), "c3\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no-op record: a write that fails leaves no temporary file behind, and the run goes on", async () => {
  const { noopRecordPath } = await import("../../lib/state/noop.ts");
  const dir = await tempDir({ "jobs.yaml": JOBS, "src/a.txt": "a\n", "src/b.txt": "b\n" });
  await Deno.mkdir(`${dir}/out`);
  // A folder (not empty) where the record goes: the rename over it fails.
  const rec = noopRecordPath(dir, `${dir}/jobs.yaml`);
  await Deno.mkdir(`${rec}/x`, { recursive: true });
  for (let i = 0; i < 2; i++) {
    const r = await run(dir);
    assert.deepEqual([r.code, r.fast], [0, false]);
  }
  const left = [...Deno.readDirSync(`${dir}/.jx`)].map((e) => e.name).filter((n) =>
    n.endsWith(".tmp")
  );
  assert.deepEqual(left, []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no-op record: a dotenv variable the shell sets (or stops setting) is seen; a dotenv file outside the project gets no record", async () => {
  const dir = await tempDir({
    "app.env": "JX_TEST_FOO=from-dotenv\n",
    "jobs.yaml": `jobs:
  a: { run: 'echo "$JX_TEST_FOO" > out.txt', env_file: [app.env], writes: [out.txt] }
`,
  });
  const runWith = async (env: Record<string, string>) => {
    const r = await runJx(["run", "-v", "--events", "ev.ndjson"], { cwd: dir, env });
    assert.equal(r.code, 0, r.stderr);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    return {
      fast: /^jx: no-op: /m.test(r.stderr),
      ran: ev.filter((e) => e.type === "job.start").map((e) => e.job),
      out: await Deno.readTextFile(`${dir}/out.txt`),
    };
  };
  // The shell's value wins over the dotenv file's.
  assert.deepEqual(await runWith({ JX_TEST_FOO: "from-shell" }), {
    fast: false,
    ran: ["a"],
    out: "from-shell\n",
  });
  // No longer set: the dotenv file's value, so the job's environment changed: it runs.
  assert.deepEqual(await runWith({}), { fast: false, ran: ["a"], out: "from-dotenv\n" });
  assert.deepEqual(await runWith({}), { fast: true, ran: [], out: "from-dotenv\n" });
  // Set again: not replayed.
  assert.deepEqual(await runWith({ JX_TEST_FOO: "x" }), { fast: false, ran: ["a"], out: "x\n" });

  // A dotenv file outside the project: no stamp covers it, so no record vouches for the run.
  const outside = await tempDir({ "o.env": "JX_TEST_BAR=one\n" });
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    `jobs:\n  b: { run: 'echo "$JX_TEST_BAR" > out.txt', env_file: [${outside}/o.env], writes: [out.txt] }\n`,
  );
  await runWith({});
  await Deno.writeTextFile(`${outside}/o.env`, "JX_TEST_BAR=two\n");
  assert.deepEqual(await runWith({}), { fast: false, ran: ["b"], out: "two\n" });
  assert.equal((await runWith({})).fast, false);
  await Deno.remove(outside, { recursive: true });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("graph cache: none for a file whose env_file key is written with a YAML escape", async () => {
  const lines = ['"env\\x5ffile": [app.env]', "jobs:"];
  lines.push(`  a: { run: 'echo "$JX_TEST_FOO" > out.txt', writes: [out.txt] }`);
  // Past the graph cache's smallest file (32 KB).
  for (let i = 0; i < 700; i++) {
    lines.push(`  filler-job-number-${i}: { run: "true", writes: [o/${i}] }`);
  }
  const dir = await tempDir({
    "app.env": "JX_TEST_FOO=one\n",
    "jobs.yaml": lines.join("\n") + "\n",
  });
  assert.equal((await runJx(["run", "a"], { cwd: dir })).code, 0);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "one\n");
  await Deno.writeTextFile(`${dir}/app.env`, "JX_TEST_FOO=two\n");
  const r = await runJx(["run", "a"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "two\n");
  assert.equal(
    await Deno.stat(`${dir}/.jx/graph-jobs.yaml.json`).then(() => true, () => false),
    false,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no-op record: one that is a link, or another user's, is not used (a warning), and the next is jx's own", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS, "src/a.txt": "a\n", "src/b.txt": "b\n" });
  await Deno.mkdir(`${dir}/out`);
  const rec = `${dir}/.jx/noop-jobs.yaml.rec`;
  try {
    assert.equal((await run(dir)).code, 0);
    assert.equal((await run(dir)).fast, true);
    // A link to a copy of a good record (elsewhere): not read through.
    const copy = `${dir}/elsewhere.rec`;
    await Deno.copyFile(rec, copy);
    await Deno.remove(rec);
    await Deno.symlink(copy, rec);
    const linked = await run(dir);
    assert.deepEqual([linked.code, linked.fast, linked.ran], [0, false, []]);
    assert.match(linked.stderr, /noop-jobs\.yaml\.rec is a symbolic link: not used/);
    assert.equal((await Deno.lstat(rec)).isSymlink, false, "replaced by jx's own record");
    assert.equal((await run(dir)).fast, true);
    if (Deno.uid() === 0) {
      await Deno.chown(rec, 65534, 65534);
      const foreign = await run(dir);
      assert.deepEqual([foreign.code, foreign.fast, foreign.ran], [0, false, []]);
      assert.match(foreign.stderr, /noop-jobs\.yaml\.rec belongs to uid 65534, not to this user/);
      assert.equal((await Deno.lstat(rec)).uid, 0);
      assert.equal((await run(dir)).fast, true);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no-op record: on a colour terminal the fast path sees the environment jobs get (FORCE_COLOR, CLICOLOR_FORCE jx adds)", async () => {
  const dir = await tempDir({
    ".env": "FORCE_COLOR=0\n",
    "in.txt": "x\n",
    "jobs.yaml": `env_file: [.env]
jobs:
  a: { run: 'echo "FC=\${FORCE_COLOR-unset}" > out.txt', reads: [in.txt], writes: [out.txt] }
`,
  });
  const env = { TERM: "xterm" };
  try {
    // Piped: the dotenv file's value.
    assert.equal((await runJx(["run"], { cwd: dir, env })).code, 0);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "FC=0\n");
    // On a terminal jx tells jobs to keep colours (FORCE_COLOR=1 wins over the dotenv file's):
    // another environment, so the job runs again, fast path or not.
    const [cmd, argv] = jxCommand("deno", ["run", "-v"]);
    const line = [cmd, ...argv].map((a) => `'${a}'`).join(" ");
    const pty = await new Deno.Command("script", {
      args: ["-qec", line, "/dev/null"],
      cwd: dir,
      // Neither variable set, nor NO_COLOR: only what a terminal session has.
      env: {
        ...env,
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: Deno.env.get("HOME") ?? "/",
      },
      clearEnv: true,
      stdin: "null",
    }).output();
    const said = new TextDecoder().decode(pty.stdout);
    assert.equal(pty.code, 0, said);
    assert.doesNotMatch(said, /no-op: /);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "FC=1\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("state: a same-size edit that puts the mtime back is seen by any run (the line keeps the ctime), also one made while the job runs", async () => {
  const dir = await tempDir({
    "src.txt": "AAAA\n",
    "jobs.yaml": `jobs:
  a: { run: 'cp src.txt tmp.txt; cat go.txt 2>/dev/null; mv tmp.txt out.txt', reads: [src.txt], writes: [out.txt] }
`,
  });
  const edit = async (text: string) => {
    const { mtime, atime } = await Deno.stat(`${dir}/src.txt`);
    await Deno.writeTextFile(`${dir}/src.txt`, text);
    await Deno.utime(`${dir}/src.txt`, atime!, mtime!); // same size, same mtime: only the ctime moved
  };
  try {
    assert.equal((await run(dir)).code, 0);
    // Another run's arguments (no record of its own): the full check sees the ctime.
    await edit("BBBB\n");
    assert.deepEqual((await run(dir, "-j1")).ran, ["a"]);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "BBBB\n");
    assert.equal((await run(dir, "-j1")).fast, true);
    // Edited while the job runs (after it read its input): not vouched for, run again next time.
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      `jobs:
  a: { run: 'cp src.txt tmp.txt; while [ ! -e go.txt ]; do sleep 0.01; done; mv tmp.txt out.txt', reads: [src.txt], writes: [out.txt] }
`,
    );
    await Deno.remove(`${dir}/go.txt`).catch(() => {});
    const [cmd, argv] = jxCommand("deno", ["run"]);
    const p = new Deno.Command(cmd, { args: argv, cwd: dir, stdout: "null", stderr: "null" })
      .spawn();
    await waitForFile(`${dir}/tmp.txt`);
    await edit("CCCC\n");
    await Deno.writeTextFile(`${dir}/go.txt`, "");
    assert.equal((await p.status).code, 0);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "BBBB\n");
    const again = await run(dir);
    assert.deepEqual([again.fast, again.ran], [false, ["a"]]);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "CCCC\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no-op fast path: bad cache settings give the full way's answer (exit 2), not 'up to date'", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS, "src/a.txt": "a\n", "src/b.txt": "b\n" });
  await Deno.mkdir(`${dir}/out`);
  assert.equal((await run(dir)).code, 0);
  assert.equal((await run(dir)).fast, true, "the next plain run answers from the record");
  const cases: [string[], Record<string, string>][] = [
    [["--remote-cache", "http://x"], {}],
    [["--remote-cache", "turbo+http://127.0.0.1:1"], {}], // a turbo URL without ?team=
    [[], { JX_REMOTE_CACHE: "ftp://x" }],
    [["--no-cache", "--remote-cache", "http://x"], {}], // no cache: nothing to refuse
  ];
  const strip = (s: string) => s.replace(/ in [\d.]+m?s$/m, "");
  for (const [argv, env] of cases) {
    const what = `${argv.join(" ")} ${JSON.stringify(env)}`;
    const fast = await runJx(["run", ...argv], { cwd: dir, env });
    const full = await runJx(["run", ...argv], { cwd: dir, env: { ...env, JX_NO_FAST_NOOP: "1" } });
    assert.equal(fast.code, full.code, what);
    assert.equal(strip(fast.stderr), strip(full.stderr), what);
    assert.equal(fast.code, argv.includes("--no-cache") ? 0 : 2, `${what}: ${fast.stderr}`);
  }
  assert.equal((await run(dir)).fast, true, "a refused run leaves the record as it was");
});

Deno.test("no-op fast path: --events or --trace over a file the run reads (a dotenv file) is refused as the full way refuses it", async () => {
  const dir = await tempDir({
    "jobs.yaml":
      "env_file: .env\njobs:\n  a: { run: cp in.txt out.txt, reads: [in.txt], writes: [out.txt] }\n",
    ".env": "X=1\n",
    "in.txt": "1\n",
  });
  // The first run's outputs are racy (written within a clock tick of its record): a second run
  // checks them; the third answers from the record.
  for (let i = 0; i < 2; i++) assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
  assert.match((await runJx(["run", "-v"], { cwd: dir })).stderr, /^jx: no-op: /m);
  for (const flag of ["--events", "--trace"]) {
    const r = await runJx(["run", flag, ".env"], { cwd: dir });
    assert.equal(r.code, 2, `${flag}: ${r.stderr}`);
    assert.match(r.stderr, /would overwrite '.*\.env', which this run reads/);
    assert.equal(await Deno.readTextFile(`${dir}/.env`), "X=1\n", `${flag}: .env kept`);
  }
});

Deno.test("no-op fast path: a racy folder it checked by its listing past the racy window settles (not listed at every no-op)", async () => {
  const { decodeRecord, noopRecordPath } = await import("../../lib/state/noop.ts");
  // A glob's folder (walked: recorded with its stamp) whose mtime the first job leaves 2 s ahead:
  // racy at the record's writing, past the racy window once that time has gone by (as the racy
  // file of the test below).
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  a:\n    run: mkdir -p out && cp in.txt out/f.txt && " +
      "touch -d @$(( $(date +%s) + 2 )) out\n    reads: [in.txt]\n    writes: [out/f.txt]\n" +
      "  b:\n    run: cat out/*.txt > all.txt\n    reads: [out/*.txt]\n    writes: [all.txt]\n",
    "in.txt": "1\n",
  });
  const listed = async () => {
    const r = decodeRecord(
      await Deno.readFile(noopRecordPath(dir, `${dir}/jobs.yaml`)),
    ) as NoopRecord;
    return r.listings.filter((_, k) => k % 2 === 0).map((i) => r.dirs[i as number]);
  };
  const noop = async () => /^jx: no-op: /m.test((await runJx(["run", "-v"], { cwd: dir })).stderr);
  assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
  assert.deepEqual(await listed(), ["out"]);
  const ahead = (await Deno.stat(`${dir}/out`)).mtime!.getTime();
  assert.ok(await noop());
  if (Date.now() < ahead) assert.deepEqual(await listed(), ["out"]);
  await new Promise((r) => setTimeout(r, Math.max(0, ahead - Date.now()) + 200));
  // Past it: listed once more, then settled (the record written again without the listing).
  assert.ok(await noop());
  assert.deepEqual(await listed(), []);
  assert.ok(await noop());
  // Settled, a file added to the folder is still seen (by the folder's stamp): b runs again.
  await Deno.writeTextFile(`${dir}/out/g.txt`, "new\n");
  assert.equal(await noop(), false);
  assert.equal(await Deno.readTextFile(`${dir}/all.txt`), "1\nnew\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("no-op fast path: racy paths it checked by content past the racy window settle (not hashed at every no-op)", async () => {
  const { decodeRecord, noopRecordPath } = await import("../../lib/state/noop.ts");
  // The job leaves its output's mtime 2 s ahead: racy at the record's writing however slow the
  // machine, and past the racy window once that time has gone by.
  const dir = await tempDir({
    "jobs.yaml":
      "jobs:\n  a:\n    run: cp in.txt out.txt && touch -d @$(( $(date +%s) + 2 )) out.txt\n" +
      "    reads: [in.txt]\n    writes: [out.txt]\n",
    "in.txt": "1\n",
  });
  const racy = async () => {
    const r = decodeRecord(
      await Deno.readFile(noopRecordPath(dir, `${dir}/jobs.yaml`)),
    ) as NoopRecord;
    return r.racy.filter((_, k) => k % 2 === 0).map((i) => r.paths[i as number]);
  };
  assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
  assert.deepEqual(await racy(), ["out.txt"]);
  const ahead = (await Deno.stat(`${dir}/out.txt`)).mtime!.getTime();
  // Within the window: checked by content, still racy.
  assert.match((await runJx(["run", "-v"], { cwd: dir })).stderr, /^jx: no-op: /m);
  if (Date.now() < ahead) assert.deepEqual(await racy(), ["out.txt"]);
  await new Promise((r) => setTimeout(r, Math.max(0, ahead - Date.now()) + 200));
  // Past it: checked by content once more, then settled (the record written again without it).
  assert.match((await runJx(["run", "-v"], { cwd: dir })).stderr, /^jx: no-op: /m);
  assert.deepEqual(await racy(), []);
  // Settled, an edit is still seen (by its stamp).
  await Deno.writeTextFile(`${dir}/out.txt`, "edited\n");
  assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "1\n");
  await Deno.remove(dir, { recursive: true });
});

/**
 * A folder on a filesystem that keeps whole seconds (ext4 with 128-byte inodes, on a loop
 * device: ext3, FAT and old ext4 filesystems are such), and how to remove it; undefined where it
 * cannot be made (no mkfs.ext4, no loop device, no right to mount).
 */
async function wholeSecondsFolder(): Promise<
  { dir: string; done: () => Promise<void> } | undefined
> {
  const tmp = await Deno.makeTempDir({ prefix: "jx-coarse-" });
  const img = `${tmp}/fs.img`, dir = `${tmp}/m`;
  const sh = (cmd: string, ...args: string[]) =>
    new Deno.Command(cmd, { args, stdout: "null", stderr: "null", stdin: "null" }).output()
      .then((o) => o.success, () => false);
  await Deno.mkdir(dir);
  const ok = await sh("truncate", "-s", "16M", img) &&
    await sh("mkfs.ext4", "-q", "-F", "-I", "128", img) &&
    await sh("mount", "-o", "loop", img, dir);
  if (!ok) {
    await Deno.remove(tmp, { recursive: true });
    return undefined;
  }
  return {
    dir,
    done: async () => (await sh("umount", dir), await Deno.remove(tmp, { recursive: true })),
  };
}

/** Steps that could not be made to share one second (a slow host). */
class TooSlow extends Error {}

/** Waits (at most a second) for the next whole second of the clock, and 10 ms more. */
const nextSecond = () => new Promise((r) => setTimeout(r, 1010 - Date.now() % 1000));

/** The whole second of a file's last change (mtime and ctime), to check that two edits shared one. */
const secondOf = (p: string) => {
  const st = Deno.statSync(p);
  return `${Math.floor(st.mtime!.getTime() / 1000)}/${Math.floor(st.ctime!.getTime() / 1000)}`;
};

Deno.test({
  name:
    "a filesystem of whole seconds: an edit in the second of the stamp is seen (input, jobs file, a glob's folder), by the full check and the no-op record",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const fs = await wholeSecondsFolder();
    if (!fs) return console.log("no filesystem of whole seconds could be mounted: nothing checked");
    const dir = fs.dir;
    const jx = (env: Record<string, string> = {}) => runJx(["run", "-v"], { cwd: dir, env });
    /**
     * Runs `steps` (attempt `k`) within one whole second (the edits they make share it); when
     * they spill into the next, `reset` and again (at most 5 times).
     */
    const inOneSecond = async (
      steps: (k: number) => Promise<string[]>,
      reset: () => Promise<void> = async () => {},
    ) => {
      for (let k = 0; k < 5; k++) {
        await nextSecond();
        const seconds = await steps(k);
        if (new Set(seconds).size === 1) return k;
        await reset();
      }
      // A host too slow for two edits and a run in one second (a loaded CI): nothing to show.
      throw new TooSlow();
    };
    const write = (p: string, text: string) => Deno.writeTextFileSync(`${dir}/${p}`, text);
    /** Rewrites the jobs file in place (same inode), as an editor that saves in place does. */
    const edit = (from: string, to: string) => {
      const p = `${dir}/jobs.yaml`, text = Deno.readTextFileSync(p).replace(from, to);
      const f = Deno.openSync(p, { write: true });
      f.writeSync(new TextEncoder().encode(text));
      f.close();
    };
    const settle = async () => {
      assert.equal((await jx()).code, 0);
      // Past the second of the last writes: the lines and the record vouch by stamps again.
      await new Promise((r) => setTimeout(r, 2100));
      assert.equal((await jx()).code, 0);
      assert.match((await jx()).stderr, /^jx: no-op: /m);
    };
    try {
      // An input edited twice in one second, the same size, a run between: the full check
      // (JX_NO_FAST_NOOP) and the default way both run the job again.
      for (const env of [{ JX_NO_FAST_NOOP: "1" }, {}] as Record<string, string>[]) {
        await Deno.remove(`${dir}/.jx`, { recursive: true }).catch(() => {});
        write(
          "jobs.yaml",
          'jobs:\n  j: { run: "cp a.txt o.txt", reads: [a.txt], writes: [o.txt] }\n',
        );
        await inOneSecond(async () => {
          write("a.txt", "1\n");
          const first = secondOf(`${dir}/a.txt`);
          assert.equal((await jx(env)).code, 0);
          write("a.txt", "2\n");
          return [first, secondOf(`${dir}/a.txt`)];
        });
        assert.equal((await jx(env)).code, 0);
        assert.equal(Deno.readTextFileSync(`${dir}/o.txt`), "2\n", JSON.stringify(env));
      }

      // The jobs file: a comment edited (a run finds the job up to date and records it), then
      // its command, in the same second, the same size: not replayed as up to date.
      write(
        "jobs.yaml",
        '# a0\njobs:\n  j: { run: "echo 0 > o.txt", reads: [a.txt], writes: [o.txt] }\n',
      );
      assert.equal((await jx()).code, 0);
      await settle();
      const k = await inOneSecond(async (k) => {
        edit(`# a${k}`, `# a${k + 1}`);
        const first = secondOf(`${dir}/jobs.yaml`);
        assert.doesNotMatch((await jx()).stderr, /^jx: start /m);
        edit(`echo ${k}`, `echo ${k + 1}`);
        return [first, secondOf(`${dir}/jobs.yaml`)];
      }, settle);
      assert.match((await jx()).stderr, /^jx: start j /m);
      assert.equal(Deno.readTextFileSync(`${dir}/o.txt`), `${k + 1}\n`);

      // A glob's folder: a file it does not match added (a run finds the job up to date and
      // records the folder's stamp), then one it matches, in the same second.
      await Deno.mkdir(`${dir}/src`);
      write("src/a.c", "a\n");
      write(
        "jobs.yaml",
        'jobs:\n  j: { run: "cat src/*.c > o.txt", reads: ["src/*.c"], writes: [o.txt] }\n',
      );
      assert.equal((await jx()).code, 0);
      await settle();
      await inOneSecond(async (k) => {
        write(`src/x${k}.txt`, "x\n");
        const first = secondOf(`${dir}/src`);
        assert.doesNotMatch((await jx()).stderr, /^jx: start /m);
        write(`src/b${k}.c`, "b\n");
        return [first, secondOf(`${dir}/src`)];
      }, settle);
      assert.match((await jx()).stderr, /^jx: start j /m);
      const all = [...Deno.readDirSync(`${dir}/src`)].map((e) => e.name).filter((n) =>
        n.endsWith(".c")
      );
      const want = all.sort().map((n) => Deno.readTextFileSync(`${dir}/src/${n}`)).join("");
      assert.equal(Deno.readTextFileSync(`${dir}/o.txt`), want);
    } catch (e) {
      if (!(e instanceof TooSlow)) throw e;
      console.log("the edits never shared one second in 5 tries (a slow host): not checked");
    } finally {
      await fs.done();
    }
  },
});

Deno.test({
  name:
    "a filesystem of whole seconds: a header only the depfile names, edited in the second its compile started, runs it again next time",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const fs = await wholeSecondsFolder();
    if (!fs) return console.log("no filesystem of whole seconds could be mounted: nothing checked");
    const dir = fs.dir;
    const jx = () => runJx(["run", "--output", "quiet"], { cwd: dir });
    try {
      await Deno.writeTextFile(
        `${dir}/jobs.yaml`,
        `jobs:
  cc:
    run: "cat main.c h.h > out.o; printf 'out.o: main.c h.h\\\\n' > out.d; echo x > read; sleep 0.2"
    reads: [main.c]
    writes: [out.o, out.d]
    depfile: out.d
`,
      );
      let k = 0;
      for (;; k++) {
        if (k === 5) {
          // A host too slow for a run's start and the edit in one second: nothing to show.
          return console.log("the edit never fell in the job's second in 5 tries: not checked");
        }
        await Deno.remove(`${dir}/read`).catch(() => {});
        await Deno.writeTextFile(`${dir}/main.c`, `main${k}\n`); // (a first run, or a change)
        await Deno.writeTextFile(`${dir}/h.h`, "h5\n");
        await nextSecond();
        const during = jx();
        await waitForFile(`${dir}/read`);
        await Deno.writeTextFile(`${dir}/h.h`, "h6\n"); // after the job read it
        assert.equal((await during).code, 0);
        assert.equal(await Deno.readTextFile(`${dir}/out.o`), `main${k}\nh5\n`);
        if (secondOf(`${dir}/read`) === secondOf(`${dir}/h.h`)) break;
      }
      assert.equal((await jx()).code, 0);
      assert.equal(await Deno.readTextFile(`${dir}/out.o`), `main${k}\nh6\n`, "compiled again");
    } finally {
      await fs.done();
    }
  },
});
