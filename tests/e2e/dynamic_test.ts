/**
 * Graphs that grow while they run, through the real CLI: `emits: jobs`
 * (generators of generators, a bad line), a `foreach` glob over files
 * another job writes, `repeat` until a test passes. On Deno and Bun.
 */
import assert from "node:assert/strict";
import { exists, jxCommand, readEvents, runJx, RUNTIMES, tempDir } from "../helpers.ts";

const GEN = `#!/bin/sh
# Emits one job per name given, then a generator that emits the summary job.
for n in "$@"; do
  printf '{"name": "make-%s", "run": "echo %s > out/%s.txt", "writes": ["out/%s.txt"]}\\n' "$n" "$n" "$n" "$n"
done
printf '%s\\n' '{"name": "more", "emits": "jobs", "run": "sh gen-sum.sh"}'
`;
const GEN_SUM =
  `printf '%s\\n' '{"name": "sum", "run": "cat out/*.txt > out/sum", "reads": ["out/*.txt"], "writes": ["out/sum"]}'
`;

const JOBS = `
jobs:
  gen:
    emits: jobs
    run: mkdir -p out && sh gen.sh a b c
  shout:
    needs: [gen]
    foreach: { glob: "out/*.txt", as: F }
    run: tr a-z A-Z < \${F} > out/\${F.stem}.up
    reads: ["\${F}"]
    writes: ["out/\${F.stem}.up"]
  report:
    needs: [gen, shout]
    run: cat out/sum out/*.up
  poll:
    run: n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n
    repeat: { until: ready, max: 5 }
  ready:
    run: test "$(cat n)" -ge 3
`;

for (const rt of RUNTIMES.filter((r) => r !== "binary")) {
  Deno.test(`[${rt}] emitted jobs, generators of generators, a deferred foreach and a repeat loop`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOBS, "gen.sh": GEN, "gen-sum.sh": GEN_SUM });
    const r = await runJx(["run", "--events", "ev.ndjson", "-j", "4"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 0, r.stderr);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    const adds = ev.filter((e) => e.type === "job.add").map((e) => `${e.job}<${e.by}`);
    assert.deepEqual(adds.sort(), [
      "make-a<gen",
      "make-b<gen",
      "make-c<gen",
      "more<gen",
      "shout[out/a.txt]<shout",
      "shout[out/b.txt]<shout",
      "shout[out/c.txt]<shout",
      "sum<more",
    ]);
    // report needs gen (and so all it made) and the expanded group.
    assert.match(r.stdout, /── report[^\n]*\na\nb\nc\nA\nB\nC\n/);
    assert.equal(await Deno.readTextFile(`${dir}/out/sum`), "a\nb\nc\n");
    assert.equal(await Deno.readTextFile(`${dir}/n`), "3\n");
    const loop = ev.filter((e) => e.type === "job.end" && (e.job === "poll" || e.job === "ready"));
    assert.deepEqual(
      loop.map((e) => `${e.job}#${e.iteration}:${e.status}`),
      ["poll#1:ok", "ready#1:failed", "poll#2:ok", "ready#2:failed", "poll#3:ok", "ready#3:ok"],
    );
    await Deno.remove(dir, { recursive: true });
  });
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] an emitted line that is not JSON: the same words on every runtime`, async () => {
    // The error quoted the engine's JSON.parse message: V8's on Deno, JavaScriptCore's on Bun.
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  gen:\n    emits: jobs\n    run: echo 'not json'; echo '[1]'\n",
    });
    const r = await runJx(["run", "-k"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 1, r.stderr);
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("jx: gen stdout:"));
    assert.deepEqual(errors, [
      "jx: gen stdout:1:1: expected a JSON object (a job), got not json (not valid JSON)",
      "jx: gen stdout:2:1: expected a JSON object (a job), got [1] (not an object)",
    ]);
  });
}

Deno.test("a bad emitted line: one error naming the line; -k runs the rest, exit 1", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  gen:
    emits: jobs
    run: |
      echo '{"name": "good", "run": "echo good > good.txt"}'
      echo '{"name": "bad", "run": "x", "tokens": "many"}'
`,
  });
  const r = await runJx(["run", "-k"], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^jx: gen stdout:2:\d+: jobs\.bad\.tokens: expected a whole number/m);
  assert.equal(await Deno.readTextFile(`${dir}/good.txt`), "good\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an emitted line past 16 MiB is one error, not read (a 200 MB line took 90 s and 2 GB); -k runs the next line's job", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  gen:
    emits: jobs
    run: |
      head -c 20000000 /dev/zero | tr '\\0' x
      echo
      echo '{"name": "good", "run": "echo good > good.txt"}'
`,
  });
  const r = await runJx(["run", "-k"], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^jx: gen stdout:1:1: a line longer than 16777216 characters \(no job is that long\): not read$/m,
  );
  assert.equal(await Deno.readTextFile(`${dir}/good.txt`), "good\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a generated job's unless: on a job that has not ended makes it a test as in the file; on one that failed, its failure stays counted", async () => {
  const job = `{"name": "g", "run": "echo g > g.txt", "unless": "t"}`;
  const run = async (jobs: string, k: string[] = []) => {
    const dir = await tempDir({ "jobs.yaml": jobs });
    const r = await runJx(["run", ...k], { cwd: dir });
    const ran = await Deno.stat(`${dir}/g.txt`).then(() => true, () => false);
    await Deno.remove(dir, { recursive: true });
    return { code: r.code, ran, summary: r.stderr.split("\n").at(-2)!.replace(/ in \d+ms$/, "") };
  };
  // In the file: t is a test, its failure an answer.
  const file = `jobs:\n  t: { run: "exit 1" }\n  g: { run: echo g > g.txt, unless: t }\n`;
  assert.deepEqual(await run(file), { code: 0, ran: true, summary: "jx: 1 job ok, 1 false" });
  // Generated while t still runs: the same.
  const gen = (t: string, before: string) =>
    `jobs:\n  t: { run: "${t}" }\n  gen:\n    emits: jobs\n    run: |\n      ${before}echo '${job}'\n`;
  const early = gen("sleep 0.5; exit 1", "");
  assert.deepEqual(await run(early), { code: 0, ran: true, summary: "jx: 2 jobs ok, 1 false" });
  // Generated after t failed: that failure counted (it stopped the run) and stays counted.
  const late = gen("exit 1", "sleep 0.5; ");
  assert.deepEqual(await run(late), {
    code: 1,
    ran: false,
    summary: "jx: FAILED: 1 job failed, 1 ok, 1 skipped (cancelled)",
  });
  assert.deepEqual(await run(late, ["-k"]), {
    code: 1,
    ran: true,
    summary: "jx: FAILED: 1 job failed, 2 ok",
  });
});

Deno.test("a loop that gives up at max: the summary names it failed; its test is not 'skipped'", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  poll:
    run: echo try
    repeat: { until: ready, max: 3 }
  ready: { run: "false" }
`,
  });
  const r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.replace(/ in \d+ms\n$/, "\n"),
    "jx: poll: repeat until ready succeeds: gave up after 3 runs (max)\n" +
      "  ✗ poll: FAILED (repeat until ready succeeds: gave up after 3 runs)\n" +
      // Jobs counted once, by their last end (it said "3 ok, 3 false" of a 2-job file).
      "jx: FAILED: 1 job failed, 1 false\n",
  );
  // A loop that ends well, a job after it: three jobs.
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    "jobs:\n  poll: { run: 'test -e x || touch x', repeat: { while: more, max: 9 } }\n" +
      "  more: { run: 'test ! -e y && touch y' }\n  after: { needs: [poll], run: 'true' }\n",
  );
  const ok = await runJx(["run", "--output", "quiet"], { cwd: dir });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /^jx: 2 jobs ok, 1 false in /m);
  // Another job fails while the loop runs: the test that ran keeps its last status (it was
  // also reported skipped, cancelled).
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    "jobs:\n  poll: { run: 'sleep 0.3', repeat: { until: t, max: 50 } }\n" +
      "  t: { run: 'false' }\n  bad: { run: 'sleep 1; exit 1' }\n",
  );
  const ff = await runJx(["run", "--output", "quiet", "--events", "ev"], { cwd: dir });
  assert.equal(ff.code, 1);
  const ev = await readEvents(`${dir}/ev`);
  assert.deepEqual(ev.filter((e) => e.job === "t" && e.type === "job.skip"), []);
  assert.match(ff.stderr, /^jx: FAILED: 1 job failed, 1 ok, 1 false in /m);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a bad emitted line: the error said once; the generator FAILED for its output, exit 0", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  plan:
    emits: jobs
    run: |
      echo '{"name": "a", "rn": "x"}'
  merge: { run: echo merge, needs: [plan] }
`,
  });
  for (const output of ["buffered", "stream", "quiet"]) {
    const r = await runJx(["run", "--output", output], { cwd: dir });
    assert.equal(r.code, 1);
    const all = r.stdout + r.stderr;
    const error = "plan stdout:1:15: jobs.a: unknown key 'rn'";
    assert.equal(all.split(error).length - 1, 1, `${output}: the error once:\n${all}`);
    assert.match(r.stderr, new RegExp(`^jx: ${error}$`, "m"));
    const status = /FAILED \(bad job on stdout line 1; exit 0, \d+ms\)/;
    assert.match(r.stderr, new RegExp(`^  ✗ plan: ${status.source}$`, "m"), output);
    if (output !== "quiet") assert.match(all, new RegExp(`(── |\\[)plan.*${status.source}`));
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a file whose only job is a generator: its generated jobs are up to date on the next run", async () => {
  // No job written in the file declares files: the state is kept for what the generator adds.
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  plan: { emits: jobs, run: sh plan.sh }\n",
    "plan.sh":
      `printf '%s\\n' '{"name": "shard", "run": "cat in.txt > out.txt", "reads": ["in.txt"], "writes": ["out.txt"]}'\n`,
    "in.txt": "one\n",
  });
  const run = async () => {
    const r = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    return ev.filter((e) => e.job === "shard" && (e.type === "job.start" || e.type === "job.skip"))
      .map((e) => e.type === "job.skip" ? `skip:${e.reason}` : "start");
  };
  assert.deepEqual(await run(), ["start"]);
  assert.deepEqual(await run(), ["skip:up-to-date"]);
  await Deno.writeTextFile(`${dir}/in.txt`, "two\n");
  assert.deepEqual(await run(), ["start"]);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "two\n");
  await Deno.remove(dir, { recursive: true });
});

for (const rt of RUNTIMES.filter((r) => r !== "binary")) {
  Deno.test(`[${rt}] a generated job that needs a job outside the selection: it joins with what it needs, as make would build it`, async () => {
    const dir = await tempDir({
      // The generator first: what it pulls in comes after it in the file, before app all the same.
      "jobs.yaml": `
jobs:
  gen:
    emits: jobs
    run: |
      echo '{"name": "app", "run": "cat lib.out > app.out", "needs": ["lib"], "reads": ["base.out", "lib.out"], "writes": ["app.out"]}'
  base: { run: cat base.in > base.out, reads: [base.in], writes: [base.out] }
  lib: { run: cat base.out > lib.out, needs: [base], reads: [base.out], writes: [lib.out] }
  other: { run: touch other.out }
`,
      "base.in": "one\n",
    });
    const run = async () => {
      const r = await runJx(["run", "gen", "-v", "--events", "ev.ndjson"], {
        cwd: dir,
        runtime: rt,
      });
      assert.equal(r.code, 0, r.stderr);
      return { r, ev: await readEvents(`${dir}/ev.ndjson`) };
    };
    const { r, ev } = await run();
    assert.equal(await Deno.readTextFile(`${dir}/app.out`), "one\n");
    const adds = ev.filter((e) => e.type === "job.add").map((e) => `${e.job}<${e.by} for ${e.for}`);
    assert.deepEqual(adds, ["base<gen for app", "lib<gen for app", "app<gen for undefined"]);
    assert.match(r.stderr, /^jx: add lib \(for app, from gen line 1\)$/m);
    assert.match(r.stderr, /4 jobs ok/);
    assert.equal(await exists(`${dir}/other.out`), false, "what nothing needs stays out");
    // Next time they are up to date, as any job with files.
    const again = await run();
    const skips = again.ev.filter((e) => e.type === "job.skip").map((e) => `${e.job}:${e.reason}`);
    assert.deepEqual(skips.sort(), ["app:up-to-date", "base:up-to-date", "lib:up-to-date"]);
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("a generated job that needs a module outside the selection: one error naming it, exit 1", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  gen:
    emits: jobs
    run: |
      echo '{"name": "app", "run": "true", "needs": ["db"]}'
modules:
  db: { run: sleep 100 }
`,
  });
  const r = await runJx(["run", "gen"], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^jx: jobs\.yaml:3:3: jobs\.gen: the job 'app' it wrote on stdout line 1: needs 'db', which is not part of this run and cannot join it while it runs \(it is a module: name it on the command line\)$/m,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("jobs made by a generated generator and by its maker all run (their places never collide)", async () => {
  // gen makes c (a generator) and d, c makes e, then gen makes f: e and f had the same place in
  // order, one of them was never started and jx waited for it for ever.
  const job = (name: string, more = "") =>
    `{"name": "${name}", "run": "echo ${name} >> ran.txt", "needs": ["z"]${more}}`;
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  z: { run: sleep 0.5 }
  gen:
    emits: jobs
    run: sh gen.sh
`,
    "gen.sh": `echo '{"name": "c", "emits": "jobs", "run": "sh c.sh"}'\necho '${job("d")}'\n` +
      `sleep 0.3\necho '${job("f")}'\n`,
    "c.sh": `echo '${job("e")}'\n`,
  });
  const [cmd, argv] = jxCommand("deno", ["run", "-j", "4"]);
  const out = await new Deno.Command("timeout", {
    args: ["-s", "KILL", "60", cmd, ...argv],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const ran = (await Deno.readTextFile(`${dir}/ran.txt`)).trim().split("\n").sort();
  assert.deepEqual(ran, ["d", "e", "f"]);
  await Deno.remove(dir, { recursive: true });
});

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] made jobs that need their maker run side by side (they ran one at a time); a chain of them joins`, async () => {
    // Each shard waits until all four have started: one at a time, the first gave up.
    const shard = (i: number) =>
      `{"name": "s${i}", "needs": ["gen"], "run": "touch up.s${i}; ` +
      `for k in $(seq 100); do [ $(ls up.* | wc -l) -ge 4 ] && exit 0; sleep 0.1; done; exit 1"}`;
    const lines = [1, 2, 3, 4].map(shard).concat([
      `{"name": "b", "needs": ["s1"], "run": "echo b >> order"}`,
      `{"name": "c", "needs": ["b"], "run": "echo c >> order"}`,
    ]);
    const dir = await tempDir({
      "lines": lines.join("\n") + "\n",
      "jobs.yaml": "jobs:\n  gen: { run: cat lines, emits: jobs }\n" +
        "  report: { run: echo report >> order, needs: [gen] }\n",
    });
    const r = await runJx(["run", "-j", "8"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/order`), "b\nc\nreport\n");
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("errors of made jobs are at their maker in the jobs file: a generator's, a deferred foreach's item", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:
  gen:
    emits: jobs
    run: |
      echo '{"name": "a", "run": "true", "needs": ["nope"]}'
  unpack: { run: "mkdir -p data && touch data/x.csv", writes: [data/] }
  count:
    foreach: { glob: "data/*.csv", as: F }
    env_file: "\${F}.env"
    run: echo \${F}
`,
  });
  const r = await runJx(["run", "-k", "--events", "ev.ndjson"], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("jx: ") && l.includes(": jobs."));
  assert.deepEqual(errors.sort(), [
    "jx: jobs.yaml:2:3: jobs.gen: the job 'a' it wrote on stdout line 1: unknown job 'nope' in needs",
    "jx: jobs.yaml:8:14: jobs.count.foreach: item 'data/x.csv' (job count[data/x.csv]): " +
    "env_file[0]: no such dotenv file 'data/x.csv.env' (write '${F}.env?' if it is optional)",
  ]);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  assert.deepEqual(
    ev.filter((e) => e.type === "emit.error").map((e) => e.error).sort(),
    errors.map((l) => l.slice(4)),
  );
  await Deno.remove(dir, { recursive: true });
});
