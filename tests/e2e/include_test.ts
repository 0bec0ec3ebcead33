/**
 * `include:` on real processes: namespaced names, paths relative to each
 * file, ordering and `needs` across files, selection by namespace, state in
 * the root's `.jx/`, and errors pointing into the included file.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readEvents, runJx, spans, tempDir } from "../helpers.ts";

const ROOT_JOBS = `
include: [tools/jobs.yaml, packages/*/jobs.yaml] # above jobs: their jobs come first
jobs:
  all:
    needs: [packages/a:test]
    run: cat packages/a/out/a.txt packages/b/out/b.txt > all.txt
    reads: [packages/b/out/b.txt]
    writes: [all.txt]
`;
const A_JOBS = `
jobs:
  build:
    run: mkdir -p out && cat ../../shared/version.txt src.txt > out/a.txt
    reads: [../../shared/version.txt, src.txt]
    writes: [out/a.txt]
  test:
    needs: [build]
    run: grep -q v1 out/a.txt
`;
const TOOLS_JOBS = `
jobs:
  gen:
    run: mkdir -p ../shared && echo v1 > ../shared/version.txt
    writes: [../shared/version.txt]
`;
const B_JOBS = `
vars: { NAME: b }
jobs:
  build:
    run: mkdir -p out && cp ../a/out/a.txt out/\${NAME}.txt
    reads: [../a/out/a.txt]
    writes: [out/b.txt]
`;

async function project(files: Record<string, string> = {}): Promise<string> {
  return await tempDir({
    "jobs.yaml": ROOT_JOBS,
    "packages/a/jobs.yaml": A_JOBS,
    "packages/a/src.txt": "a-src\n",
    "packages/b/jobs.yaml": B_JOBS,
    "tools/jobs.yaml": TOOLS_JOBS,
    ...files,
  });
}

async function run(dir: string, ...args: string[]) {
  const r = await runJx(["run", "--events", "ev.ndjson", "--output", "quiet", ...args], {
    cwd: dir,
  });
  assert.equal(r.code, 0, r.stderr);
  return spans(await readEvents(`${dir}/ev.ndjson`));
}

Deno.test("include: namespaced jobs, each file's paths, ordering across files, root state", async () => {
  const dir = await project();
  const s = await run(dir);
  assert.deepEqual(
    [...s.keys()].sort(),
    ["all", "packages/a:build", "packages/a:test", "packages/b:build", "tools:gen"],
  );
  const before = (a: string, b: string) =>
    assert.ok(s.get(a)!.end <= s.get(b)!.start, `${a} before ${b}`);
  before("tools:gen", "packages/a:build"); // writes shared/version.txt -> reads it, across files
  before("packages/a:build", "packages/b:build"); // across two included files
  before("packages/a:build", "packages/a:test"); // `needs: [build]` in its own namespace
  before("packages/a:test", "all"); // `needs` across files
  before("packages/b:build", "all");
  assert.equal(await Deno.readTextFile(`${dir}/all.txt`), "v1\na-src\nv1\na-src\n");
  assert.ok(existsSync(`${dir}/.jx/state.ndjson`));
  assert.ok(!existsSync(`${dir}/packages/a/.jx`), "state stays in the root's .jx/");
  // Up to date from the root's state; a change in a package reruns what depends on it.
  assert.deepEqual([...(await run(dir)).keys()].sort(), ["packages/a:test"]);
  await Deno.writeTextFile(`${dir}/packages/a/src.txt`, "a-src 2\n");
  assert.deepEqual(
    [...(await run(dir)).keys()].sort(),
    ["all", "packages/a:build", "packages/a:test", "packages/b:build"],
  );
  const ex = await runJx(["explain", "packages/b:build"], { cwd: dir });
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, /up to date/);
  assert.match(ex.stdout, /^ {2}in packages\/b\/jobs\.yaml$/m);
});

Deno.test("include: `NAMESPACE:` selects a file's jobs and what they need", async () => {
  const dir = await project();
  const s = await run(dir, "packages/b:");
  assert.deepEqual([...s.keys()].sort(), ["packages/a:build", "packages/b:build", "tools:gen"]);
  const bad = await runJx(["run", "packages/c:"], { cwd: dir });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no jobs in namespace 'packages\/c:' \(did you mean '[^']+'\?\)/);
  // A root job named `zz:x` is in no namespace (`zz:` ran it, and `pkg:` took root jobs too).
  const root = await tempDir({
    "jobs.yaml":
      "include: [pkg/jobs.yaml]\njobs:\n  zz:x: { run: 'true' }\n  pkg:r: { run: 'true' }\n",
    "pkg/jobs.yaml": "jobs:\n  b: { run: 'true' }\n",
  });
  const zz = await runJx(["run", "zz:"], { cwd: root });
  assert.equal(zz.code, 2);
  assert.equal(zz.stderr.trim(), "jx: no jobs in namespace 'zz:'");
  assert.deepEqual([...(await run(root, "pkg:")).keys()], ["pkg:b"]);
  // A file of modules alone: its namespace was suggested as a typo of itself ('no jobs in
  // namespace 'svc:' (did you mean 'svc:'?)'), on the command line and in default: alike.
  await Deno.mkdir(`${root}/svc`);
  await Deno.writeTextFile(`${root}/svc/jobs.yaml`, "modules:\n  db: { run: 'sleep 9' }\n");
  await Deno.writeTextFile(
    `${root}/jobs.yaml`,
    "include: [pkg/jobs.yaml, svc/jobs.yaml]\ndefault: ['svc:']\njobs:\n  x: { run: 'true' }\n",
  );
  const svc = await runJx(["run", "-n"], { cwd: root });
  assert.equal(svc.code, 2);
  assert.equal(
    svc.stderr.trim(),
    "jobs.yaml:2:11: default[0]: no jobs in namespace 'svc:' (its file has modules only: " +
      "name one, 'svc:db')",
  );
  // The namespace written without its ':' is suggested as one (it suggested a job, or nothing).
  const bare = await runJx(["run", "tools"], { cwd: dir });
  assert.equal(bare.code, 2);
  assert.equal(bare.stderr.trim(), "jx: unknown job 'tools' (did you mean 'tools:'?)");
});

Deno.test("include: a glob's match that is the including file (or one that includes it) is passed over", async () => {
  const dir = await tempDir({
    "jobs.yaml": `include: ["**/jobs.yaml"]\njobs:\n  top: { run: 'true' }\n`,
    "packages/a/jobs.yaml": "include: [../*/jobs.yaml]\njobs:\n  build: { run: 'true' }\n",
    "packages/b/jobs.yaml": "include: [../*/jobs.yaml]\njobs:\n  build: { run: 'true' }\n",
  });
  const r = await runJx(["list", "--names"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n").sort(), [
    "packages/a:build",
    "packages/b:build",
    "top",
  ]);
});

Deno.test("include: errors point into the included file; cycles and missing files at the include", async () => {
  const dir = await project({
    "packages/b/jobs.yaml": "jobs:\n  build:\n    run: 'true'\n    needs: [nope]\n",
  });
  let r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "packages/b/jobs.yaml:4:13: jobs.build.needs[0]: unknown job 'nope' in needs",
  );
  await Deno.writeTextFile(
    `${dir}/packages/b/jobs.yaml`,
    "include: [../../jobs.yaml]\njobs:\n  build: { run: 'true' }\n",
  );
  r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "packages/b/jobs.yaml:1:11: include[0]: include cycle: " +
      "jobs.yaml -> packages/b/jobs.yaml -> jobs.yaml",
  );
  // Run in the package, its include of a file above it has no name below the root: said how.
  r = await runJx(["run"], { cwd: `${dir}/packages/b` });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "jobs.yaml:1:11: include[0]: '../../jobs.yaml' is outside the root jobs file's folder, " +
      "below which its jobs would be named (run jx from a folder above both, whose jobs file " +
      "includes them)",
  );
  await Deno.writeTextFile(`${dir}/jobs.yaml`, "include: [nope/jobs.yaml]\njobs: {}\n");
  r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), "jobs.yaml:1:11: include: nope/jobs.yaml: no such file");
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    "include: [packages/a/jobs.yaml]\njobs:\n  x:\n    run: 'true'\n    bogus: 1\n",
  );
  await Deno.writeTextFile(
    `${dir}/packages/a/jobs.yaml`,
    "jobs:\n  a:\n    run: 'true'\n    rnu: 1\n",
  );
  r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^jobs\.yaml:5:5: /, "the root's own error first");
  // Two files whose jobs end up with one name (a root job named like an included one).
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    "include: [ci.yaml]\njobs:\n  ci:x: { run: 'true' }\n",
  );
  await Deno.writeTextFile(`${dir}/ci.yaml`, "jobs:\n  x: { run: 'true' }\n");
  r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "jobs.yaml:3:3: jobs.ci:x: duplicate name 'ci:x' (already a job of ci.yaml:2:3)",
  );
  // A foreach group of one file named as a job, module or group of another: one name, one
  // thing (`needs: [ci:g]` ran the group's items, `jx run ci:g` the root's job).
  await Deno.writeTextFile(`${dir}/ci.yaml`, "jobs:\n  g: { foreach: [a, b], run: 'true' }\n");
  for (
    const [root, what] of [
      ["jobs:\n  ci:g: { run: 'true' }\n", "job"],
      ["modules:\n  ci:g: { run: 'sleep 9' }\n", "module"],
      ["jobs:\n  ci:g: { foreach: [c], run: 'true' }\n", "foreach group"],
    ]
  ) {
    await Deno.writeTextFile(`${dir}/jobs.yaml`, `include: [ci.yaml]\n${root}`);
    r = await runJx(["list"], { cwd: dir });
    assert.equal(r.code, 2, root);
    assert.equal(
      r.stderr.trim(),
      `ci.yaml:2:3: jobs.g: duplicate name 'ci:g' (already a ${what} of jobs.yaml${
        what === "foreach group" ? "" : ":3:3"
      })`,
    );
  }
});

Deno.test("include: an included file's default: is checked from the root as in its folder (its own names first)", async () => {
  const dir = await project({
    "packages/b/jobs.yaml": "default: [build, buidl]\njobs:\n  build: { run: 'true' }\n",
  });
  const r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "packages/b/jobs.yaml:1:18: default[1]: unknown job 'buidl' (did you mean 'build'?)",
  );
  // Its own names, then the graph's (as its needs take them): fine from the root.
  await Deno.writeTextFile(
    `${dir}/packages/b/jobs.yaml`,
    "default: [build, \"packages/a:\"]\njobs:\n  build: { run: 'true' }\n",
  );
  const ok = await runJx(["run", "-n"], { cwd: dir });
  assert.equal(ok.code, 0, ok.stderr);
  // A file it includes in turn, named as in its folder (packages/b/sub:build from the root).
  await Deno.writeTextFile(
    `${dir}/packages/b/jobs.yaml`,
    'include: [sub/jobs.yaml]\ndefault: ["sub:build", "sub:"]\njobs:\n  build: { run: "true" }\n',
  );
  await Deno.mkdir(`${dir}/packages/b/sub`);
  await Deno.writeTextFile(`${dir}/packages/b/sub/jobs.yaml`, "jobs:\n  build: { run: 'true' }\n");
  for (const cwd of [dir, `${dir}/packages/b`]) {
    const nested = await runJx(["run", "-n"], { cwd });
    assert.equal(nested.code, 0, nested.stderr);
  }
});

Deno.test("include: a job's needs names a job of a file its file includes in turn as in its folder ('sub:build' in pkg/ is pkg/sub:build)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "include: [pkg/jobs.yaml]\njobs:\n  top: { run: 'true' }\n",
    "pkg/jobs.yaml": "include: [sub/jobs.yaml]\njobs:\n" +
      "  own: { run: 'cat sub/out.txt', needs: ['sub:build'] }\n",
    "pkg/sub/jobs.yaml": "jobs:\n  build: { run: 'echo built > out.txt' }\n",
  });
  // From the root (it was: unknown job 'sub:build' in needs, exit 2) and from its folder alike.
  for (const cwd of [dir, `${dir}/pkg`]) {
    const r = await runJx(["run", cwd === dir ? "pkg:own" : "own"], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /built/);
  }
});

Deno.test("include: an included file with no jobs of its own is one the run reads: --events cannot overwrite it", async () => {
  const dir = await tempDir({
    "jobs.yaml": "include: [a/jobs.yaml]\njobs:\n  x: { run: 'true' }\n",
    "a/jobs.yaml": "include: [b/jobs.yaml]\n",
    "a/b/jobs.yaml": "jobs:\n  y: { run: 'true' }\n",
  });
  const r = await runJx(["run", "--events", "a/jobs.yaml"], { cwd: dir });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /would overwrite 'a\/jobs\.yaml', which this run reads/);
  assert.equal(await Deno.readTextFile(`${dir}/a/jobs.yaml`), "include: [b/jobs.yaml]\n");
});

Deno.test("include: a folder with glob characters or a leading '@' is a folder: its jobs' paths order, stamp and clean", async () => {
  const dir = await tempDir({
    "jobs.yaml": 'include: ["@acme/*/jobs.yaml", "packages/*/jobs.yaml"]\n',
    "@acme/api/jobs.yaml":
      'jobs:\n  build: { run: "cat src.txt > out.txt", reads: [src.txt], writes: [out.txt] }\n',
    "@acme/api/src.txt": "v1\n",
    "packages/w{x}/jobs.yaml": "jobs:\n  build:\n    run: cat ../../@acme/api/out.txt > out.txt\n" +
      "    reads: [../../@acme/api/out.txt]\n    writes: [out.txt]\n",
    "packages/a[1]/jobs.yaml": 'jobs:\n  build: { run: "echo a > out.txt", writes: [out.txt] }\n',
  });
  // One edge: api's out.txt -> w{x}'s read of it (none between the two packages' out.txt).
  const g = await runJx(["graph", "--format", "json"], { cwd: dir });
  assert.equal(g.code, 0, g.stderr);
  const edges = JSON.parse(g.stdout).edges.map((e: { from: string; to: string }) =>
    `${e.from} -> ${e.to}`
  );
  assert.deepEqual(edges, ["@acme/api:build -> packages/w{x}:build"]);
  await run(dir);
  assert.deepEqual([...(await run(dir)).keys()], [], "all up to date");
  await Deno.writeTextFile(`${dir}/@acme/api/src.txt`, "v2\n");
  assert.deepEqual([...(await run(dir)).keys()], ["@acme/api:build", "packages/w{x}:build"]);
  assert.equal(await Deno.readTextFile(`${dir}/packages/w{x}/out.txt`), "v2\n");
  await Deno.writeTextFile(`${dir}/packages/a[1]/out.txt`, "edited\n");
  assert.deepEqual([...(await run(dir)).keys()], ["packages/a[1]:build"]);
  const clean = await runJx(["clean", "-n"], { cwd: dir });
  assert.equal(clean.code, 0, clean.stderr);
  assert.equal(
    clean.stdout,
    "would remove @acme/api/out.txt\nwould remove packages/a[1]/out.txt\n" +
      "would remove packages/w{x}/out.txt\n",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("include: written between jobs: and modules:, the included jobs come after the file's jobs, before its modules", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  gen: { run: echo v2 > gen.txt, writes: [gen.txt] }\n" +
      "include: [pkg/jobs.yaml]\n" +
      "modules:\n  srv: { run: sleep 100, reads: [used.txt] }\n",
    "pkg/jobs.yaml":
      "jobs:\n  use: { run: cp ../gen.txt ../used.txt, reads: [../gen.txt], writes: [../used.txt] }\n",
  });
  const g = await runJx(["graph", "--format", "json", "srv"], { cwd: dir });
  assert.equal(g.code, 0, g.stderr);
  const graph = JSON.parse(g.stdout);
  assert.deepEqual(graph.jobs.map((j: { name: string }) => j.name), ["gen", "pkg:use", "srv"]);
  assert.deepEqual(
    graph.edges.map((e: { from: string; to: string; reason: string }) =>
      `${e.from} -> ${e.to}: ${e.reason}`
    ),
    [
      "gen -> pkg:use: writes gen.txt -> reads gen.txt",
      "pkg:use -> srv: writes used.txt -> reads used.txt",
    ],
  );
  const s = await run(dir, "pkg:use");
  assert.ok(s.get("gen")!.end <= s.get("pkg:use")!.start, "gen before pkg:use");
  assert.equal(await Deno.readTextFile(`${dir}/used.txt`), "v2\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("include: ci.yaml beside the root and ci/jobs.yaml cannot share the namespace 'ci' (a needs would find the other file's job)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "include: [ci.yaml, ci/jobs.yaml]\njobs:\n  build: { run: echo root }\n",
    "ci.yaml": "jobs:\n  test: { run: 'true', needs: [build] }\n", // the root's build
    "ci/jobs.yaml": "jobs:\n  build: { run: echo folder }\n",
    "ci.yml": "jobs:\n  other: { run: 'true' }\n",
  });
  for (const cmd of [["graph"], ["run", "-n"], ["list"]]) {
    const r = await runJx(cmd, { cwd: dir });
    assert.equal(r.code, 2, `${cmd}: ${r.stdout}${r.stderr}`);
    assert.equal(
      r.stderr,
      "jobs.yaml:1:20: include: ci/jobs.yaml: its namespace 'ci' is already ci.yaml's " +
        "(rename one of them)\n",
    );
  }
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    "include: [ci.yaml, ci.yml]\njobs:\n  build: { run: x }\n",
  );
  const yml = await runJx(["list"], { cwd: dir });
  assert.equal(yml.code, 2, yml.stdout);
  assert.match(yml.stderr, /^jobs\.yaml:1:20: include: ci\.yml: its namespace 'ci' is already/);
  // Two files of one package folder share its namespace, as before.
  await Deno.writeTextFile(`${dir}/ci/more.yaml`, "jobs:\n  more: { run: x, needs: [build] }\n");
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    "include: [ci/*.yaml]\njobs:\n  build: { run: x }\n",
  );
  const g = await runJx(["graph", "--format", "json"], { cwd: dir });
  assert.equal(g.code, 0, g.stderr);
  assert.deepEqual(JSON.parse(g.stdout).edges.map((e: { from: string }) => e.from), ["ci:build"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("include: a foreach glob over files another jobs file's jobs write is refused at the glob, both ways", async () => {
  // Expanded at load (nothing there yet), such a group missed the writer's files in the first
  // run and took them in the next: the root's glob over an included file's output, and an
  // included file's glob over a root job's.
  const dir = await tempDir({
    "jobs.yaml": "include: [pkg/jobs.yaml]\njobs:\n  each:\n" +
      '    foreach: { glob: "pkg/m/*.txt", as: M }\n    run: cat ${M}\n',
    "pkg/jobs.yaml": "jobs:\n  w: { run: mkdir -p m && echo x > m/x.txt, writes: [m/x.txt] }\n",
  });
  let r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "jobs.yaml:4:14: jobs.each.foreach: a glob over files that pkg:w (in pkg/jobs.yaml) " +
      "writes: not across included files (yet)",
  );
  assert.ok(!existsSync(`${dir}/pkg/m`), "nothing ran");
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    "include: [pkg/jobs.yaml]\njobs:\n  w: { run: 'true', writes: [pkg/m/y.txt] }\n",
  );
  await Deno.writeTextFile(
    `${dir}/pkg/jobs.yaml`,
    'jobs:\n  each:\n    foreach: { glob: "m/*.txt", as: M }\n    run: cat ${M}\n',
  );
  r = await runJx(["list"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "pkg/jobs.yaml:3:14: jobs.each.foreach: a glob over files that w (in jobs.yaml) " +
      "writes: not across included files (yet)",
  );
  // A glob over what no other file's job writes is expanded as before.
  await Deno.writeTextFile(`${dir}/jobs.yaml`, "include: [pkg/jobs.yaml]\njobs: {}\n");
  await Deno.mkdir(`${dir}/pkg/m`);
  await Deno.writeTextFile(`${dir}/pkg/m/a.txt`, "a\n");
  r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^a$/m);
});

Deno.test("include: a pool is shared by every file, whichever file names it first (the root's jobs use an included file's)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "include: [a/jobs.yaml, b/jobs.yaml]\n" +
      "jobs:\n  r: { run: 'sleep 0.2', pool: db }\n",
    "a/jobs.yaml": "jobs:\n  a: { run: 'sleep 0.2', pools: { db: 1 } }\n",
    "b/jobs.yaml": "pools: { db: 1 }\njobs:\n  b: { run: 'sleep 0.2', pool: db }\n",
  });
  const s = await run(dir);
  const [x, y, z] = ["a:a", "b:b", "r"].map((j) => s.get(j)!).sort((p, q) => p.start - q.start);
  assert.ok(x.end <= y.start && y.end <= z.start, "one at a time: the pool has 1 unit");
  // Still checked: an unknown pool, or more units than the pool has, at the job's key.
  await Deno.writeTextFile(`${dir}/a/jobs.yaml`, "jobs:\n  a: { run: 'true', pools: { db: 2 } }\n");
  let r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "a/jobs.yaml:2:34: jobs.a.pools.db: takes 2 units of pool 'db', which has only 1",
  );
  await Deno.writeTextFile(`${dir}/a/jobs.yaml`, "jobs:\n  a: { run: 'true', pool: dbb }\n");
  r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "a/jobs.yaml:2:27: jobs.a.pool: unknown pool 'dbb' (did you mean 'db'?)",
  );
});

Deno.test("include: a job the root's emits: jobs job makes may take an included file's pool", async () => {
  const dir = await tempDir({
    "jobs.yaml": "include: [a/jobs.yaml]\njobs:\n  gen:\n    emits: jobs\n" +
      `    run: |\n      echo '{"name": "e", "run": "true", "pool": "db"}'\n`,
    "a/jobs.yaml": "pools: { db: 1 }\njobs:\n  a: { run: 'true', pool: db }\n",
  });
  const s = await run(dir);
  assert.equal(s.get("e")?.status, "ok");
});

Deno.test("include: a file whose namespace starts with '-' is refused at the item (`-x.yaml` made jobs `-x:b`, taken for an option)", async () => {
  for (const [f, ns] of [["-dash.yaml", "-dash"], ["-pkg/jobs.yaml", "-pkg"]]) {
    const dir = await project({
      "jobs.yaml": `include: [${JSON.stringify(f)}]\njobs:\n  r: { run: 'true' }\n`,
      [f]: "jobs:\n  b: { run: 'true' }\n",
    });
    const r = await runJx(["list"], { cwd: dir });
    assert.equal(r.code, 2, f);
    assert.equal(
      r.stderr.trim(),
      `jobs.yaml:1:11: include[0]: '${f}': its namespace '${ns}' starts with '-' (its jobs ` +
        "could not be named on the command line): rename the file or its folder",
    );
  }
});

Deno.test("include: a job of an included file with more tokens than -j is refused at its place in its file (it was the root's, as jobs.pkg:x)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "include: [pkg/jobs.yaml]\njobs:\n  r: { run: 'true' }\n",
    "pkg/jobs.yaml": "jobs:\n  a: { run: 'true' }\n  x: { run: 'true', tokens: 4 }\n",
  });
  const r = await runJx(["run", "-j2"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), "pkg/jobs.yaml:3:3: jobs.x.tokens: needs 4 job slots but -j is 2");
});
