/**
 * `jx run JOB -- ARG...` (CONTRACT.md "Job arguments") on real processes:
 * `$0`, `$1` and `$@` of a `run:` string, arguments appended to a `run:`
 * list, exactly one job, and up-to-date checks (the state and the no-op
 * fast path) that never take a run with other arguments as done.
 */
import assert from "node:assert/strict";
import { readEvents, runJx, RUNTIMES, tempDir } from "../helpers.ts";

const JOBS = `
jobs:
  greet:
    run: 'printf "%s|%s|%s\\n" "$0" "$1" "$#" > out.txt; for a in "$@"; do echo "[$a]" >> out.txt; done'
    writes: [out.txt]
  argv:
    run: [printf, "<%s>\\n", fixed]
  other:
    run: "true"
`;

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] job arguments: sh -c RUN JOB ARG... for a string, appended to a list`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOBS });
    const r = await runJx(["run", "greet", "--", "a b", "-k", "X=1"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      await Deno.readTextFile(`${dir}/out.txt`),
      "greet|a b|3\n[a b]\n[-k]\n[X=1]\n",
    );
    const l = await runJx(["run", "--output", "quiet", "argv", "--", "x", "y z"], {
      cwd: dir,
      runtime: rt,
    });
    assert.equal(l.code, 0, l.stderr);
    assert.equal(l.stdout, "");
    const s = await runJx(["run", "argv", "--", "x", "y z"], { cwd: dir, runtime: rt });
    assert.match(s.stdout, /<fixed>\n<x>\n<y z>\n/);
  });
}

Deno.test("job arguments: exactly one job, else one line and exit 2 (nothing run)", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS });
  for (
    const [args, msg] of [
      [["run", "--", "a"], /^jx: jx run JOB -- ARG\.\.\.: name exactly one job \(0 given\)\n$/],
      [["run", "greet", "other", "--", "a"], /name exactly one job \(2 given\)\n$/],
      [["run", "nope", "--", "a"], /^jx: unknown job 'nope'/],
      // `just deploy prod`'s habit: the word after a job is no job; the error says where it goes.
      [
        ["run", "greet", "staging", "eu"],
        /^jx: unknown job 'staging' \(arguments of greet\? jx run greet -- staging eu\)\n$/,
      ],
      [["run", "greet", "othr"], /^jx: unknown job 'othr' \(did you mean 'other'\?\)\n$/],
      [["run", "staging", "greet"], /^jx: unknown job 'staging'\n$/],
    ] as const
  ) {
    const r = await runJx([...args], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  await assert.rejects(Deno.stat(`${dir}/out.txt`));
  // A foreach group or a module named with arguments: the error says what it is instead.
  const other = await tempDir({
    "jobs.yaml": "jobs:\n  each: { foreach: [p, q], run: 'true' }\n" +
      "modules:\n  srv: { run: 'sleep 9' }\n",
  });
  for (
    const [name, what] of [
      ["each", "'each' is a foreach group of 2 jobs: name one, as 'each[p]'"],
      ["srv", "'srv' is a module"],
    ]
  ) {
    const r = await runJx(["run", name, "--", "a"], { cwd: other });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `jx: jx run JOB -- ARG...: name exactly one job (${what})\n`);
  }
  // `--` with no arguments after it is the run without it, whatever the no-op record holds
  // (the fast path answered 0 from `jx run greet other`'s record, the full path said 2).
  for (const args of [["greet", "other", "--"], ["--"]]) {
    for (const env of [{ JX_NO_FAST_NOOP: "1" }, {}] as Record<string, string>[]) {
      const r = await runJx(["run", ...args], { cwd: dir, env });
      assert.equal(r.code, 0, r.stderr);
    }
  }
});

Deno.test("job arguments: never up to date from a run with other arguments (state and no-op path)", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS });
  const run = async (env: Record<string, string>, ...jobArgs: string[]) => {
    const r = await runJx(["run", "-v", "--events", "ev.ndjson", "greet", "--", ...jobArgs], {
      cwd: dir,
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    return {
      fast: /^jx: no-op: /m.test(r.stderr),
      ran: ev.some((e) => e.type === "job.start"),
      out: (await Deno.readTextFile(`${dir}/out.txt`)).split("\n")[0],
    };
  };
  // The no-op fast path: the same arguments replay, other ones never do.
  assert.deepEqual(await run({}, "a"), { fast: false, ran: true, out: "greet|a|1" });
  assert.deepEqual(await run({}, "a"), { fast: true, ran: false, out: "greet|a|1" });
  assert.deepEqual(await run({}, "b"), { fast: false, ran: true, out: "greet|b|1" });
  // The state alone (no fast path): the arguments are in the job's fingerprint.
  const slow = { JX_NO_FAST_NOOP: "1" };
  assert.deepEqual(await run(slow, "b"), { fast: false, ran: false, out: "greet|b|1" });
  assert.deepEqual(await run(slow, "c"), { fast: false, ran: true, out: "greet|c|1" });
  assert.deepEqual(await run(slow), { fast: false, ran: true, out: "greet||0" });
  // `jx run JOB --` with no arguments is `jx run JOB`: up to date from it, both ways.
  const plain = await runJx(["run", "-v", "greet"], { cwd: dir, env: slow });
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /skip greet: up-to-date/);
  assert.equal(
    (await Deno.readTextFile(`${dir}/out.txt`)).split("\n")[0],
    "greet||0",
    "without -- the job runs as before ($0 is its name)",
  );
  assert.deepEqual(await run({}), { fast: true, ran: false, out: "greet||0" });
  const replayed = await runJx(["run", "-v", "greet"], { cwd: dir });
  assert.match(replayed.stderr, /^jx: no-op: /m, "the record of `greet --` answers `greet`");
});

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] $0 of a run string is the job's name, with and without arguments; a module's too`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  zero: { run: 'echo "$0|$#|$*" >> zero.txt', writes: [zero.txt] }
  listed: { run: [sh, -c, 'echo "$0" > listed.txt', own] }
modules:
  again: { run: 'echo "$0" > again.txt', restart: "no" }
`,
    });
    const run = (...argv: string[]) => runJx(["run", ...argv], { cwd: dir, runtime: rt });
    // Traced (--check-access: the tracer wraps what the job is started with) and not.
    const runs = [["zero"], ["zero", "--", "a", "b c"], ["--force", "--check-access", "zero"]];
    for (const argv of runs) {
      const r = await run(...argv);
      assert.equal(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
    }
    assert.equal(await Deno.readTextFile(`${dir}/zero.txt`), "zero|0|\nzero|2|a b c\nzero|0|\n");
    // A run list is left as written: its own $0.
    assert.equal((await run("listed")).code, 0);
    assert.equal(await Deno.readTextFile(`${dir}/listed.txt`), "own\n");
    // A module (named: in the foreground until it ends by itself).
    assert.equal((await run("again")).code, 0);
    assert.equal(await Deno.readTextFile(`${dir}/again.txt`), "again\n");
    // -n shows the command as written.
    const dry = await run("-n", "zero", "--", "x");
    assert.match(dry.stdout, /^zero: echo "\$0\|\$#\|\$\*" >> zero\.txt -- x$/m);
  });
}

Deno.test("job arguments: jx watch JOB -- ARG... gives them to the job at each cycle (they were taken as job names)", async () => {
  const { Session } = await import("./watch_helpers.ts");
  const dir = await tempDir({
    "jobs.yaml": JOBS.replace("writes: [out.txt]", "writes: [out.txt]\n    reads: [in.txt]"),
    "in.txt": "1\n",
  });
  const s = new Session("deno", dir, { args: ["greet", "--", "a b", "other"] });
  try {
    await s.cycles(1);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "greet|a b|2\n[a b]\n[other]\n");
    assert.deepEqual(await s.ranIn(0), ["greet"], "no job named by an argument ran");
    await Deno.writeTextFile(`${dir}/in.txt`, "2\n");
    await s.cycles(2);
    assert.deepEqual(await s.ranIn(1), ["greet"]);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "greet|a b|2\n[a b]\n[other]\n");
  } finally {
    await s.stop();
  }
  const two = await runJx(["watch", "greet", "other", "--", "a"], { cwd: dir });
  assert.equal(two.code, 2);
  assert.equal(two.stderr, "jx: jx watch JOB -- ARG...: name exactly one job (2 given)\n");
});
