/**
 * `jx run`'s no-op fast path: used only when the last run with the same
 * arguments left every job up to date and no recorded stamp changed;
 * every change sends the run the full way, which reruns what it must.
 */
import assert from "node:assert/strict";
import { readEvents, runJx, tempDir, waitForFile } from "../helpers.ts";

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

Deno.test("no-op fast path: no record for jobs it cannot vouch for (globs, always-run jobs)", async () => {
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
