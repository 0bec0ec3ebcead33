/**
 * Finding the jobs file from a subfolder (CONTRACT.md `-f` default):
 * `jobs.yaml` then `jobs.yml` here, else in the nearest parent that has
 * one; paths stay relative to that file's folder; the full run, the no-op
 * fast path and `jx ctl` agree on the file.
 */
import assert from "node:assert/strict";
import { jxCommand, runJx, RUNTIMES, tempDir, waitForFile } from "../helpers.ts";

const JOBS = `
jobs:
  mark:
    run: 'pwd > out/where.txt'
    writes: [out/where.txt]
`;

Deno.test("jobs file from a subfolder: the nearest parent's, paths relative to it, fast path agrees", async () => {
  const dir = await tempDir({
    "jobs.yaml": JOBS,
    "out/.keep": "",
    "a/b/c/.keep": "",
    // A nearer parent with only jobs.yml wins over the root's jobs.yaml.
    "n/jobs.yml": "jobs:\n  near: { run: 'echo near > near.txt' }\n",
    "n/deep/.keep": "",
  });
  const sub = `${dir}/a/b/c`;
  const run = () => runJx(["run", "-v", "mark"], { cwd: sub });
  const first = await run();
  assert.equal(first.code, 0, first.stderr);
  assert.equal((await Deno.readTextFile(`${dir}/out/where.txt`)).trim(), await Deno.realPath(dir));
  await assert.rejects(Deno.stat(`${sub}/out`), "nothing written under the subfolder");
  const again = await run();
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /^jx: no-op: /m, "the fast path finds the same file");
  const list = await runJx(["list", "--names"], { cwd: sub });
  assert.equal(list.stdout, "mark\n");
  // jobs.yml in a nearer folder.
  const near = await runJx(["run"], { cwd: `${dir}/n/deep` });
  assert.equal(near.code, 0, near.stderr);
  assert.equal(await Deno.readTextFile(`${dir}/n/near.txt`), "near\n");
  // A bad file found in a parent: its path in the message, exit 2.
  await Deno.writeTextFile(`${dir}/jobs.yaml`, "jobs:\n  mark: { run: x, bogus: 1 }\n");
  const bad = await runJx(["run"], { cwd: sub });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^\.\.\/\.\.\/\.\.\/jobs\.yaml:2:\d+: .*bogus/);
});

Deno.test("no jobs file here or above: one line naming jx init, exit 2 (run, lint, ui, graph)", async () => {
  const dir = await tempDir({ "x/.keep": "" });
  for (const cmd of ["run", "lint", "ui", "graph"]) {
    const r = await runJx([cmd], { cwd: `${dir}/x` });
    assert.equal(r.code, 2, cmd);
    assert.equal(
      r.stderr,
      "jx: no jobs.yaml or jobs.yml here or in a parent folder (use -f FILE, or jx init to make one)\n",
      cmd,
    );
  }
});

Deno.test("[deno] jx ctl from a subfolder reaches the run of the parent's jobs file", async () => {
  const dir = await tempDir({
    "jobs.yaml":
      "jobs:\n  hold: { run: 'echo up > started; while [ ! -e stop ]; do sleep 0.05; done' }\n",
    "sub/dir/.keep": "",
  });
  const [cmd, argv] = jxCommand("deno", ["run"]);
  const child = new Deno.Command(cmd, {
    args: argv,
    cwd: `${dir}/sub`,
    stdout: "null",
    stderr: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  try {
    await waitForFile(`${dir}/started`);
    const st = await runJx(["ctl", "status", "--json"], { cwd: `${dir}/sub/dir` });
    assert.equal(st.code, 0, st.stderr);
  } finally {
    await Deno.writeTextFile(`${dir}/stop`, "");
    assert.equal((await child.status).code, 0);
  }
});

Deno.test("a folder named jobs.yaml on the way up stops the search: one line saying so, exit 2", async () => {
  const dir = await tempDir({
    "jobs.yaml": JOBS,
    "sub/jobs.yaml/.keep": "",
    "sub/deep/.keep": "",
    // A jobs.yml file beside such a folder is the jobs file of its folder, as before.
    "both/jobs.yaml/.keep": "",
    "both/jobs.yml": "jobs:\n  yml: { run: 'echo yml > yml.txt' }\n",
  });
  for (const [cwd, shown] of [["sub", "jobs.yaml"], ["sub/deep", "../jobs.yaml"]]) {
    for (const cmd of [["run"], ["run", "mark"], ["list"], ["graph"], ["lint"]]) {
      const r = await runJx(cmd, { cwd: `${dir}/${cwd}` });
      assert.equal(r.code, 2, `${cwd}: ${cmd.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr, `${shown}: cannot read: is a folder\n`, `${cwd}: ${cmd.join(" ")}`);
    }
  }
  await assert.rejects(Deno.stat(`${dir}/out/where.txt`), "the parent's jobs were not run");
  const yml = await runJx(["run"], { cwd: `${dir}/both` });
  assert.equal(yml.code, 0, yml.stderr);
  assert.equal(await Deno.readTextFile(`${dir}/both/yml.txt`), "yml\n");
});

Deno.test("a link to nothing named jobs.yaml on the way up stops the search too, saying so", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS, "sub/deep/.keep": "" });
  await Deno.symlink("gone.yaml", `${dir}/sub/jobs.yaml`);
  for (const [cwd, shown] of [["sub", "jobs.yaml"], ["sub/deep", "../jobs.yaml"]]) {
    for (const cmd of [["run"], ["list"]]) {
      const r = await runJx(cmd, { cwd: `${dir}/${cwd}` });
      assert.equal(r.code, 2, `${cwd}: ${cmd.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr, `${shown}: no such file: a link to nothing\n`, cwd);
    }
  }
  await assert.rejects(Deno.stat(`${dir}/out/where.txt`), "the parent's jobs were not run");
  // -f names such a link: the same words; a path with nothing there: as before.
  const f = await runJx(["run", "-f", "sub/jobs.yaml"], { cwd: dir });
  assert.equal(f.stderr, "sub/jobs.yaml: no such file: a link to nothing\n");
  const none = await runJx(["run", "-f", "sub/none.yaml"], { cwd: dir });
  assert.equal(none.stderr, "sub/none.yaml: no such file\n");
  // Each runtime looks with its own calls (Bun: lstat through libc).
  for (const runtime of RUNTIMES) {
    const r = await runJx(["run"], { cwd: `${dir}/sub/deep`, runtime });
    assert.equal(r.stderr, "../jobs.yaml: no such file: a link to nothing\n", runtime);
    await Deno.remove(`${dir}/sub/jobs.yaml`);
    await Deno.mkdir(`${dir}/sub/jobs.yaml`);
    const f = await runJx(["run"], { cwd: `${dir}/sub/deep`, runtime });
    assert.equal(f.stderr, "../jobs.yaml: cannot read: is a folder\n", runtime);
    await Deno.remove(`${dir}/sub/jobs.yaml`);
    await Deno.symlink("gone.yaml", `${dir}/sub/jobs.yaml`);
  }
});
