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

const DEFERRED = `
jobs:
  gen: { run: "mkdir -p o && cp a.txt o/a.gen", reads: [a.txt], writes: [o/a.gen] }
  each:
    foreach: { glob: "o/*.gen", as: F }
    run: cp \${F} \${F}.r
    reads: ["\${F}"]
    writes: ["\${F}.r"]
  tot: { run: "cat o/*.r > tot", reads: ["o/*.r"], writes: [tot] }
`;

/** The jobs a `jx run` started, from its event log. */
async function started(dir: string): Promise<string[]> {
  const real = await runJx(["run", "--events", "real.ndjson"], { cwd: dir });
  assert.equal(real.code, 0, real.stderr);
  return (await readEvents(`${dir}/real.ndjson`)).filter((e) => e.type === "job.start")
    .map((e) => e.job as string);
}

Deno.test("-n: a reader of an @name that a job which would run writes would run too (no early cutoff spares it)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:
  migrate: { run: "cat m.sql > db.txt", reads: [m.sql], writes: ["@db"] }
  report: { run: "cat db.txt > report.txt", reads: ["@db"], writes: [report.txt] }
  copy: { run: "cp report.txt copy.txt", reads: [report.txt], writes: [copy.txt] }
`,
    "m.sql": "v1\n",
  });
  assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
  await Deno.writeTextFile(`${dir}/m.sql`, "v2\n");
  const dry = await runJx(["run", "-n"], { cwd: dir });
  assert.equal(
    dry.stdout,
    "migrate: cat m.sql > db.txt\nreport: cat db.txt > report.txt\n" +
      "copy: cp report.txt copy.txt  (may run: after report)\n",
  );
  assert.equal(dry.stderr, "jx: dry run: 2 jobs would run, 1 job may run\n");
});

Deno.test("-n: a foreach over files jobs write is decided by its items as the disk gives them", async () => {
  const dir = await tempDir({ "jobs.yaml": DEFERRED, "a.txt": "a\n" });
  assert.deepEqual(await started(dir), ["gen", "each[o/a.gen]", "tot"]);
  // Nothing to do: the group, which the run expands and never runs itself, is not listed.
  let dry = await runJx(["run", "-n"], { cwd: dir });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(dry.stdout, "");
  assert.deepEqual(await started(dir), []);
  // Its writer would run: its items may change.
  await Deno.writeTextFile(`${dir}/a.txt`, "a2\n");
  dry = await runJx(["run", "-n"], { cwd: dir });
  assert.equal(
    dry.stdout,
    "gen: mkdir -p o && cp a.txt o/a.gen\n" +
      "each: (foreach over o/*.gen, expanded once the jobs writing it have run)  (may run: after gen)\n" +
      "tot: cat o/*.r > tot  (may run: after each)\n",
  );
  assert.deepEqual(await started(dir), ["gen", "each[o/a.gen]", "tot"]);
  // An item out of date: the group would run.
  await Deno.remove(`${dir}/o/a.gen.r`);
  dry = await runJx(["run", "-n"], { cwd: dir });
  assert.equal(
    dry.stdout,
    "each: (foreach over o/*.gen, expanded once the jobs writing it have run)\n" +
      "tot: cat o/*.r > tot  (may run: after each)\n",
  );
  const explain = await runJx(["explain", "each"], { cwd: dir });
  assert.equal(explain.code, 0, explain.stderr);
  assert.equal(
    explain.stdout,
    "each: (foreach over o/*.gen, expanded once the jobs writing it have run)\n" +
      "  items now: each[o/a.gen]\n" +
      "  waits for (a job that reruns and changes what it globs changes its items):\n" +
      "    gen (writes o/a.gen -> reads o/*.gen)\n" +
      "each[o/a.gen]: cp o/a.gen o/a.gen.r\n" +
      "  would run:\n" +
      "    - output o/a.gen.r is missing\n",
  );
  // tot's input is as it was once the item has made it again (early cutoff): -n says it may run
  // (its only change is an input that a job which would run writes), and it does not.
  assert.deepEqual(await started(dir), ["each[o/a.gen]"]);
});

Deno.test("jx explain: an item of a foreach over files jobs write, and a foreach that matches nothing", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  gen: { run: 'mkdir -p o && echo a > o/a.gen', writes: [o/a.gen] }\n" +
      "  each: { foreach: { glob: 'o/*.gen', as: F }, run: 'cp ${F} ${F}.r', reads: ['${F}'], writes: ['${F}.r'] }\n" +
      "  none: { foreach: { glob: 'src/*.c', as: F }, run: 'echo ${F}' }\n",
  });
  assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
  const item = await runJx(["explain", "each[o/a.gen]"], { cwd: dir });
  assert.equal(item.code, 0, item.stderr);
  assert.match(item.stdout, /^each\[o\/a\.gen\]: cp o\/a\.gen o\/a\.gen\.r\n {2}up to date: /);
  const none = await runJx(["explain", "none"], { cwd: dir });
  assert.deepEqual([none.code, none.stdout], [
    0,
    "none: a foreach whose glob matches nothing now: no job\n",
  ]);
  // jx list shows it too (it showed nothing, as if there were no such entry).
  const list = await runJx(["list"], { cwd: dir });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ {2}none +\(a foreach whose glob matches nothing now\)$/m);
  const gone = await runJx(["explain", "each[o/b.gen]"], { cwd: dir });
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, /unknown job 'each\[o\/b\.gen\]'/);
});

Deno.test("jx explain: a module is said to be one (it said 'it declares no files ..., so it always runs', a job's words)", async () => {
  const dir = await tempDir({
    "jobs.yaml":
      "modules:\n  db: { run: sleep 100, writes: [db.log] }\njobs:\n  a: { run: 'true', needs: [db] }\n",
  });
  const out = (await runJx(["explain", "db"], { cwd: dir })).stdout;
  assert.match(
    out,
    /^db: sleep 100\n {2}would run:\n {4}- it is a module: started when a job that runs needs it\n/,
  );
});

Deno.test("jx explain: a generator and a repeat loop always run, as -n and the run say (not up to date)", async () => {
  // Both have files and had succeeded: explain took the state's verdict, "up to date", while
  // the scheduler never skips them and -n listed them.
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  gen: { run: "echo > g.txt", writes: [g.txt], emits: jobs }
  loop: { run: "echo l > l.txt", writes: [l.txt], repeat: { until: ok, max: 2 } }
  ok: { run: "true" }
  plain: { run: "echo p > p.txt", writes: [p.txt] }
`,
  });
  assert.deepEqual((await started(dir)).sort(), ["gen", "loop", "ok", "plain"]);
  const dry = await runJx(["run", "-n"], { cwd: dir });
  assert.equal(dry.stdout, "gen: echo > g.txt\nloop: echo l > l.txt\nok: true\n");
  const explain = async (job: string) => (await runJx(["explain", job], { cwd: dir })).stdout;
  assert.match(
    await explain("gen"),
    /would run:\n {4}- it generates jobs \(emits: jobs\), so it always runs\n/,
  );
  assert.match(await explain("loop"), /would run:\n {4}- it has repeat, so it always runs\n/);
  assert.match(await explain("plain"), /up to date/);
  assert.deepEqual((await started(dir)).sort(), ["gen", "loop", "ok"]);
});

Deno.test("-n: a job out of date only by an input that a job which would run writes may run (deleted intermediate)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:
  gen: { run: "cp a.c a.o", reads: [a.c], writes: [a.o] }
  use: { run: "cat a.o h.txt > out", reads: [a.o, h.txt], writes: [out] }
`,
    "a.c": "a\n",
    "h.txt": "h\n",
  });
  assert.deepEqual(await started(dir), ["gen", "use"]);
  // a.o deleted: gen would run and writes it again, the same; use then is up to date.
  await Deno.remove(`${dir}/a.o`);
  const dry = await runJx(["run", "-n"], { cwd: dir });
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(dry.stdout, "gen: cp a.c a.o\nuse: cat a.o h.txt > out  (may run: after gen)\n");
  assert.equal(dry.stderr, "jx: dry run: 1 job would run, 1 job may run\n");
  const explain = await runJx(["explain", "use"], { cwd: dir });
  assert.equal(
    explain.stdout,
    "use: cat a.o h.txt > out\n  would run:\n    - input a.o was deleted\n" +
      "  (may be spared: gen writes these inputs; a run that makes them again as they were" +
      " finds it up to date)\n" +
      "  waits for (a dependency that reruns and changes its outputs makes this run too):\n" +
      "    gen (writes a.o -> reads a.o)\n",
  );
  assert.deepEqual(await started(dir), ["gen"]);
  // An input no job writes changed too: it would run, whatever gen makes.
  await Deno.remove(`${dir}/a.o`);
  await Deno.writeTextFile(`${dir}/h.txt`, "h2\n");
  const dry2 = await runJx(["run", "-n"], { cwd: dir });
  assert.equal(dry2.stdout, "gen: cp a.c a.o\nuse: cat a.o h.txt > out\n");
  const explain2 = await runJx(["explain", "use"], { cwd: dir });
  assert.equal(explain2.stdout.includes("may be spared"), false, explain2.stdout);
  assert.deepEqual(await started(dir), ["gen", "use"]);
});
