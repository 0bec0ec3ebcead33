/**
 * Every command reads a selection the same way (`Graph.named`): a `foreach`
 * group's name is accepted by `run`, `explain`, `graph`, `clean` and `watch`
 * alike, and an unknown name is refused by all of them with the same
 * message. `jx clean JOB` removes JOB's own outputs; `--deps` those of what
 * it waits for too.
 */
import assert from "node:assert/strict";
import { runJx, tempDir } from "../helpers.ts";

const JOBS = `
jobs:
  gen: { run: "echo h > gen.h", writes: [gen.h] }
  compile:
    foreach: [a, b]
    run: "cat gen.h > \${ITEM}.o"
    reads: [gen.h]
    writes: ["\${ITEM}.o"]
  link: { run: "cat a.o b.o > app", reads: ["*.o"], writes: [app] }
`;

const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);

Deno.test("a foreach group's name is a selection in run, explain, graph and clean", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS });
  const run = await runJx(["run", "compile"], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(await exists(`${dir}/a.o`) && await exists(`${dir}/b.o`));
  const explain = await runJx(["explain", "compile"], { cwd: dir });
  assert.equal(explain.code, 0, explain.stderr);
  assert.match(explain.stdout, /^compile\[a\]: .*\n {2}up to date/m);
  assert.match(explain.stdout, /^compile\[b\]: .*\n {2}up to date/m);
  const graph = await runJx(["graph", "--format", "json", "compile"], { cwd: dir });
  assert.equal(graph.code, 0, graph.stderr);
  assert.match(graph.stdout, /compile\[b\]/);
  const clean = await runJx(["clean", "-n", "compile"], { cwd: dir });
  assert.equal(clean.code, 0, clean.stderr);
  assert.equal(clean.stdout, "would remove a.o\nwould remove b.o\n");
});

Deno.test("an unknown name gets the same one-line refusal from every command", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS });
  for (const cmd of ["run", "explain", "graph", "clean", "watch"]) {
    const r = await runJx([cmd, "compil"], { cwd: dir });
    assert.equal(r.code, 2, `${cmd}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr, "jx: unknown job 'compil' (did you mean 'compile'?)\n", cmd);
  }
});

Deno.test("clean JOB removes JOB's own outputs; --deps also those of what it waits for", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS });
  assert.equal((await runJx(["run", "link"], { cwd: dir })).code, 0);
  const own = await runJx(["clean", "-n", "link"], { cwd: dir });
  assert.equal(own.stdout, "would remove app\n");
  const all = await runJx(["clean", "--deps", "link"], { cwd: dir });
  assert.equal(all.code, 0, all.stderr);
  assert.equal(all.stdout, "removed a.o\nremoved app\nremoved b.o\nremoved gen.h\n");
  for (const f of ["a.o", "b.o", "app", "gen.h"]) assert.ok(!await exists(`${dir}/${f}`), f);
  assert.ok(await exists(`${dir}/jobs.yaml`));
});

Deno.test("no jobs file: the one line names -f and jx init", async () => {
  const dir = await tempDir({});
  const r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    "jx: no jobs.yaml or jobs.yml here or in a parent folder (use -f FILE, or jx init to make one)\n",
  );
});

Deno.test("default: jx run, watch and run -n with no name take it (and what it needs); a name, or graph and list, every job", async () => {
  const dir = await tempDir({
    "jobs.yaml": "default: [build]\n" +
      "jobs:\n" +
      "  gen: { run: echo gen > gen.txt, writes: [gen.txt] }\n" +
      "  build: { run: cat gen.txt > build.txt, reads: [gen.txt], writes: [build.txt] }\n" +
      "  deploy: { run: echo deployed > deploy.txt }\n",
  });
  const dry = await runJx(["run", "-n"], { cwd: dir });
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(dry.stdout.split("\n").filter(Boolean).map((l) => l.split(":")[0]), [
    "gen",
    "build",
  ]);
  const run = await runJx(["run"], { cwd: dir });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(await exists(`${dir}/build.txt`));
  assert.equal(await exists(`${dir}/deploy.txt`), false, "deploy is not the default");
  const named = await runJx(["run", "deploy"], { cwd: dir });
  assert.equal(named.code, 0, named.stderr);
  assert.ok(await exists(`${dir}/deploy.txt`));
  const graph = await runJx(["graph", "--format", "json"], { cwd: dir });
  assert.deepEqual(JSON.parse(graph.stdout).jobs.map((j: { name: string }) => j.name), [
    "gen",
    "build",
    "deploy",
  ]);
  // --all: every job (not answered by the record of the default's no-op run just made).
  await Deno.remove(`${dir}/deploy.txt`);
  assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
  const all = await runJx(["run", "--all", "--events", "ev.ndjson"], { cwd: dir });
  assert.equal(all.code, 0, all.stderr);
  assert.ok(await exists(`${dir}/deploy.txt`), "--all runs deploy too");
});

Deno.test("default: a name that names no job, or an empty list, is bad input at its place; an included file's is not the run's", async () => {
  for (
    const [text, want] of [
      [
        "default: [biuld]\njobs:\n  build: { run: x }\n",
        /^jobs\.yaml:1:11: default\[0\]: unknown job 'biuld' \(did you mean 'build'\?\)$/m,
      ],
      ["jobs:\n  build: { run: x }\ndefault: []\n", /^jobs\.yaml:3:10: default: empty/m],
    ] as const
  ) {
    const dir = await tempDir({ "jobs.yaml": text });
    const r = await runJx(["run"], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, want);
  }
  const dir = await tempDir({
    "jobs.yaml": "include: [sub/jobs.yaml]\njobs:\n  top: { run: echo top > top.txt }\n",
    "sub/jobs.yaml": "default: [only]\njobs:\n  only: { run: echo only > only.txt }\n",
  });
  const r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await exists(`${dir}/top.txt`) && await exists(`${dir}/sub/only.txt`));
});

Deno.test("a NAME=VALUE no jobs file names is said (a misspelt var changes nothing); one it names is not", async () => {
  const dir = await tempDir({
    "jobs.yaml": "vars: { CC: gcc }\njobs:\n  a: { run: 'echo ${CC} ${EXTRA}' }\n",
  });
  const typo = await runJx(["run", "CCC=clang"], { cwd: dir });
  assert.equal(typo.code, 0, typo.stderr);
  assert.match(
    typo.stderr,
    /^jx: warning: CCC=\.\.\. on the command line: the jobs file has no variable CCC \(did you mean 'CC'\?\), so it changes nothing$/m,
  );
  const used = await runJx(["run", "CC=clang", "EXTRA=-O2"], { cwd: dir });
  assert.equal(used.code, 0, used.stderr);
  assert.doesNotMatch(used.stderr, /warning/);
  assert.match(used.stdout, /clang -O2/);
  // Said at every run, an up-to-date one too (the no-op record's replay said nothing).
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    "vars: { CC: gcc }\njobs:\n  a: { run: 'echo ${CC} > o.txt', writes: [o.txt] }\n",
  );
  for (let i = 0; i < 3; i++) {
    const again = await runJx(["run", "CCC=clang"], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /CCC=\.\.\. on the command line/, `run ${i + 1}`);
    if (i) assert.match(again.stderr, /1 job up to date/);
  }
});

Deno.test("graph with no name: every job and module of the file, as list shows them", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  a: { run: 'true' }\nmodules:\n  srv: { run: sleep 100 }\n",
  });
  const graph = await runJx(["graph", "--format", "json"], { cwd: dir });
  assert.equal(graph.code, 0, graph.stderr);
  assert.deepEqual(JSON.parse(graph.stdout).jobs.map((j: { name: string }) => j.name), [
    "a",
    "srv",
  ]);
  const named = await runJx(["graph", "--format", "json", "a"], { cwd: dir });
  assert.deepEqual(JSON.parse(named.stdout).jobs.map((j: { name: string }) => j.name), ["a"]);
});
