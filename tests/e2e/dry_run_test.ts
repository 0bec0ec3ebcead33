/**
 * `jx run -n` lists every job that would or may run: after an edit, the
 * jobs that read the edited file would run, and the jobs downstream of them
 * (up to date now) may run, marked so: the real run then runs no job that
 * the dry run did not list.
 */
import assert from "node:assert/strict";
import { readEvents, runJx, tempDir } from "../helpers.ts";

const JOBS = `
jobs:
  compile: { run: "cp a.c a.o", reads: [a.c], writes: [a.o] }
  other: { run: "cp b.c b.o", reads: [b.c], writes: [b.o] }
  link: { run: "cat a.o b.o > app", reads: [a.o, b.o], writes: [app] }
  test: { run: "cp app test.ok", reads: [app], writes: [test.ok] }
  docs: { run: "cp b.c docs.txt", reads: [b.c], writes: [docs.txt] }
`;

Deno.test("-n after an edit: would run, and may run for what waits on it; the real run stays inside", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS, "a.c": "a1\n", "b.c": "b\n" });
  assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
  await Deno.writeTextFile(`${dir}/a.c`, "a2\n");
  const dry = await runJx(["run", "-n", "--events", "dry.ndjson"], { cwd: dir });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(
    dry.stdout,
    "compile: cp a.c a.o\n" +
      "link: cat a.o b.o > app  (may run: after compile)\n" +
      "test: cp app test.ok  (may run: after link)\n",
  );
  assert.equal(dry.stderr, "jx: dry run: 1 job would run, 2 jobs may run\n");
  const skips = (await readEvents(`${dir}/dry.ndjson`)).filter((e) => e.type === "job.skip");
  assert.deepEqual(
    skips.filter((e) => e.reason === "dry-run").map((e) => [e.job, e.may ?? false]),
    [["compile", false], ["link", true], ["test", true]],
  );
  const real = await runJx(["run", "--events", "real.ndjson"], { cwd: dir });
  assert.equal(real.code, 0, real.stderr);
  const ran = (await readEvents(`${dir}/real.ndjson`)).filter((e) => e.type === "job.start")
    .map((e) => e.job);
  assert.deepEqual(ran, ["compile", "link", "test"]);
});
