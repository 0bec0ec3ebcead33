/**
 * `--events FILE` and `--trace FILE` are opened before anything runs: a path
 * that cannot be written is bad input (one line, exit 2, no job run, on the
 * full way and the no-op fast path), and the jobs file (or `jx sh`'s script)
 * is never overwritten by them.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { runJx, RUNTIMES, tempDir } from "../helpers.ts";

const JOBS = 'jobs:\n  a: { run: "echo hi > ran.txt", writes: [ran.txt] }\n';

for (const runtime of RUNTIMES) {
  Deno.test(`--events/--trace: a path that cannot be written is exit 2 before any job runs [${runtime}]`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOBS });
    const cases: [string[], RegExp][] = [
      [
        ["--events", "/no/such/folder/e.ndjson"],
        /^jx: cannot write the event log '.*': no such folder\n$/,
      ],
      [
        ["--trace", "/no/such/folder/t.json"],
        /^jx: cannot write the trace '.*': no such folder\n$/,
      ],
      [["--events", "."], /^jx: cannot write the event log '\.': is a folder\n$/],
    ];
    for (const [flags, message] of cases) {
      const r = await runJx(["run", ...flags], { cwd: dir, runtime });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(existsSync(`${dir}/ran.txt`), false, "no job ran");
    }
    // The same from the no-op fast path (a record of a run with nothing to do).
    assert.equal((await runJx(["run"], { cwd: dir, runtime })).code, 0);
    assert.equal((await runJx(["run"], { cwd: dir, runtime })).code, 0);
    const r = await runJx(["run", "--trace", "/no/such/folder/t.json"], { cwd: dir, runtime });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^jx: cannot write the trace/);
  });

  Deno.test(`--events/--trace: never over the jobs file the run reads, nor jx sh's script [${runtime}]`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOBS, "build.sh": "echo hi > ran.txt\n" });
    for (const flag of ["--events", "--trace"]) {
      const r = await runJx(["run", flag, "jobs.yaml"], { cwd: dir, runtime });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr,
        `jx: the ${
          flag === "--events" ? "event log" : "trace"
        } 'jobs.yaml' would overwrite 'jobs.yaml', which this run reads\n`,
      );
      assert.equal(await Deno.readTextFile(`${dir}/jobs.yaml`), JOBS);
      const sh = await runJx(["sh", flag, "build.sh", "build.sh"], { cwd: dir, runtime });
      assert.equal(sh.code, 2, sh.stderr);
      assert.equal(await Deno.readTextFile(`${dir}/build.sh`), "echo hi > ran.txt\n");
    }
    assert.equal(existsSync(`${dir}/ran.txt`), false, "no job ran");
  });

  Deno.test(`--events: never over an included jobs file or a dotenv file the run reads [${runtime}]`, async () => {
    const dir = await tempDir({
      "jobs.yaml": "include: [pkg/jobs.yaml]\njobs:\n  a: { run: 'true', env_file: [.env] }\n",
      "pkg/jobs.yaml": "jobs:\n  b: { run: 'true' }\n",
      ".env": "X=1\n",
    });
    for (const path of ["pkg/jobs.yaml", ".env"]) {
      const before = await Deno.readTextFile(`${dir}/${path}`);
      const r = await runJx(["run", "--events", path], { cwd: dir, runtime });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /would overwrite/);
      assert.equal(await Deno.readTextFile(`${dir}/${path}`), before);
    }
  });
}
