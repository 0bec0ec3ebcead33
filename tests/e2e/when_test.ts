/** `when:` on jobs, on real processes: skipped with reason `condition`, dependents run. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readEvents, runJx, tempDir } from "../helpers.ts";

const JOBS = `
jobs:
  only-ci: { run: echo ci > ci.txt, when: { env: JX_TEST_CI } }
  not-here: { run: echo win > win.txt, when: { os: windows } }
  after: { run: echo after > after.txt, needs: [not-here] }
  with-file: { run: echo f > f.txt, when: { file: marker, os: linux } }
`;

async function run(dir: string, env: Record<string, string> = {}, ...args: string[]) {
  const r = await runJx(["run", "--events", "ev.ndjson", "--output", "quiet", ...args], {
    cwd: dir,
    env,
  });
  assert.equal(r.code, 0, r.stderr);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  const skips = Object.fromEntries(
    ev.filter((e) => e.type === "job.skip").map((e) => [e.job!, e.reason]),
  );
  const ran = ev.filter((e) => e.type === "job.end").map((e) => e.job!).sort();
  return { skips, ran };
}

Deno.test("when: a job whose condition fails is skipped (condition); what needs it runs", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS });
  let r = await run(dir);
  assert.deepEqual(r.skips, {
    "only-ci": "condition",
    "not-here": "condition",
    "with-file": "condition",
  });
  assert.deepEqual(r.ran, ["after"]);
  assert.ok(!existsSync(`${dir}/win.txt`) && existsSync(`${dir}/after.txt`));
  await Deno.writeTextFile(`${dir}/marker`, "");
  r = await run(dir, { JX_TEST_CI: "1" });
  assert.deepEqual(r.skips, { "not-here": "condition" });
  assert.deepEqual(r.ran, ["after", "only-ci", "with-file"]);
  // A dry run says the same, not "dry-run", for a job that would not run here.
  r = await run(dir, {}, "-n");
  assert.equal(r.skips["only-ci"], "condition");
  assert.equal(r.skips["with-file"], "dry-run");
  const ex = await runJx(["explain", "not-here"], { cwd: dir });
  assert.match(ex.stdout, /^ {2}skipped here \(when: os windows \(this is linux\)\)$/m);
});

Deno.test("when: bad conditions are refused with a position", async () => {
  for (
    const [text, msg] of [
      [
        "jobs:\n  a: { run: x, when: { os: plan9 } }\n",
        /^jobs\.yaml:2:28: jobs\.a\.when\.os: must be one of linux/,
      ],
      ["jobs:\n  a: { run: x, when: {} }\n", /^jobs\.yaml:2:22: jobs\.a\.when: give at least one/],
      [
        "jobs:\n  a: { run: x, when: { cpu: 4 } }\n",
        /^jobs\.yaml:2:24: jobs\.a\.when: unknown key 'cpu'/,
      ],
    ] as const
  ) {
    const dir = await tempDir({ "jobs.yaml": text });
    const r = await runJx(["run"], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, msg);
  }
});

Deno.test("when: file X is checked after the earlier job that writes X, and before a later one does", async () => {
  // `gen` makes the flag late; `cond` would start with it, find no flag and be skipped (its
  // second run would then run it) without the edge the condition's file gives.
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  gen:
    run: sleep 0.5 && mkdir -p 'o[1]' && touch 'o[1]/flag'
    writes: ['o[[]1]/flag']
  cond:
    run: echo ran > cond.txt
    when: { file: 'o[1]/flag' }
  drop:
    run: rm 'o[1]/flag'
    writes: ['o[[]1]/flag']
`,
  });
  const r = await run(dir, {}, "-j4");
  assert.deepEqual(r.skips, {});
  assert.deepEqual(r.ran, ["cond", "drop", "gen"]);
  assert.ok(existsSync(`${dir}/cond.txt`) && !existsSync(`${dir}/o[1]/flag`));
  const g = await runJx(["explain", "cond"], { cwd: dir });
  assert.match(g.stdout, /gen/, g.stdout);
});

Deno.test("when: file X that an earlier job would write: -n says the job may run after it, as the run then runs it", async () => {
  // -n took the file's absence now as the run's verdict ('skip cond: condition', not listed),
  // and explain said 'skipped here'; the run checks it when the job would start, after gen.
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  gen:
    run: mkdir -p 'o[1]' && touch 'o[1]/flag'
    writes: ['o[[]1]/']
  cond:
    run: echo ran > cond.txt
    when: { file: 'o[1]/flag' }
  other: { run: "true", when: { file: none, env: JX_TEST_UNSET } }
`,
  });
  const dry = await runJx(["run", "-n"], { cwd: dir });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^cond: echo ran > cond\.txt {2}\(may run: after gen\)$/m);
  assert.doesNotMatch(dry.stdout, /^other/m);
  const ex = await runJx(["explain", "cond"], { cwd: dir });
  assert.match(ex.stdout, /does not exist\), unless gen, which runs before it, writes it$/m);
  const r = await run(dir);
  assert.deepEqual(r.skips, { other: "condition" });
  assert.deepEqual(r.ran, ["cond", "gen"]);
});

Deno.test("when: file of a foreach item over files a job writes is checked per item (the whole group was skipped)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  mk: { run: "mkdir -p d && touch d/a.c d/b.c d/b.c.ok", writes: [d/] }
  cc:
    foreach: { glob: "d/*.c", as: S }
    run: touch \${S}.ran
    when: { file: "\${S}.ok" }
  never:
    foreach: { glob: "d/*.c", as: S }
    run: touch \${S}.never
    when: { file: "\${S}.ok", env: JX_TEST_UNSET }
`,
  });
  const r = await run(dir);
  assert.deepEqual(r.skips, { "cc[d/a.c]": "condition", never: "condition" });
  assert.deepEqual(r.ran, ["cc[d/b.c]", "mk"]);
  assert.ok(existsSync(`${dir}/d/b.c.ran`) && !existsSync(`${dir}/d/a.c.ran`));
});

Deno.test("when: file X orders a job emitted at run time too (after X's earlier writer)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  gen:
    run: sleep 0.5 && touch flag
    writes: [flag]
  emit:
    run: echo '{"name":"c","run":"echo ran > c.txt","when":{"file":"flag"}}'
    emits: jobs
`,
  });
  const r = await run(dir);
  assert.deepEqual(r.skips, {});
  assert.deepEqual(r.ran, ["c", "emit", "gen"]);
});

Deno.test("when: a module whose condition fails is counted as a module in the summary (it said '1 job skipped')", async () => {
  const dir = await tempDir({
    "jobs.yaml": "modules:\n  srv: { run: sleep 100, when: { os: windows } }\n" +
      "jobs:\n  j: { run: 'true', when: { os: windows } }\n",
  });
  const one = await runJx(["run", "srv"], { cwd: dir });
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stderr, /^jx: 1 module skipped \(condition\) in /m);
  const both = await runJx(["run", "srv", "j"], { cwd: dir });
  assert.match(
    both.stderr,
    /^jx: 1 job skipped \(condition\), 1 module skipped \(condition\) in /m,
  );
});

Deno.test("when: file that does not exist is named as the jobs file writes it, from its folder, not as an absolute path", async () => {
  // explain said 'when: file /tmp/.../o[1]/flag does not exist' and a job needing a module
  // whose when: file failed 'which is not registered (when: file /tmp/.../x does not exist)',
  // though jx names a job's paths from the jobs file's folder elsewhere (docs/cli.md).
  const dir = await tempDir({
    "jobs.yaml": `
include: [pkg/jobs.yaml]
modules:
  m: { run: sleep 30, when: { file: "o[1]/flag" } }
jobs:
  cond: { run: "true", when: { file: "o[1]/flag" } }
  a: { run: "true", needs: [m] }
`,
    "pkg/jobs.yaml": `jobs:\n  p: { run: "true", when: { file: "@x/f" } }\n`,
  });
  const ex = await runJx(["explain", "cond"], { cwd: dir });
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, /^ {2}skipped here \(when: file o\[1\]\/flag does not exist\)$/m);
  const sub = await runJx(["explain", "pkg:p"], { cwd: dir });
  assert.match(sub.stdout, /^ {2}skipped here \(when: file pkg\/@x\/f does not exist\)$/m);
  const r = await runJx(["run", "--output", "quiet", "a"], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /which is not registered \(when: file o\[1\]\/flag does not exist\)/);
  assert.doesNotMatch(r.stderr + ex.stdout + sub.stdout, new RegExp(dir));
});
