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

for (const runtime of RUNTIMES) {
  Deno.test(`--events/--trace: never over an optional dotenv file (even one not written yet) nor one outside the project [${runtime}]`, async () => {
    const top = await tempDir({
      "p/jobs.yaml": "env_file: [.env, .env.local?, ../out.env]\ninclude: [pkg/jobs.yaml]\n" +
        "jobs:\n  a: { run: 'echo hi > ran.txt', env_file: [job.env?, ../job-out.env?] }\n",
      "p/pkg/jobs.yaml": "env_file: [pkg.env?]\njobs:\n  b: { run: 'true' }\n",
      "p/.env": "X=1\n",
      "p/sub/.keep": "",
      "out.env": "Y=1\n",
    });
    const dir = `${top}/p`;
    const cases: [string, string, string][] = [
      ["--events", ".env.local", ".env.local"],
      ["--trace", ".env.local", ".env.local"],
      ["--events", "job.env", "job.env"],
      ["--events", "pkg/pkg.env", "pkg/pkg.env"],
      // Another spelling of the same place.
      ["--events", "sub/../.env.local", ".env.local"],
      // Outside the project: required (it exists) and optional (absent).
      ["--events", "../out.env", `${top}/out.env`],
      ["--trace", "../job-out.env", `${top}/job-out.env`],
    ];
    for (const [flag, path, kept] of cases) {
      const before = existsSync(`${dir}/${path}`)
        ? await Deno.readTextFile(`${dir}/${path}`)
        : null;
      const r = await runJx(["run", flag, path], { cwd: dir, runtime });
      const what = flag === "--events" ? "event log" : "trace";
      assert.equal(r.code, 2, `${flag} ${path}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        `jx: the ${what} '${path}' would overwrite '${kept}', which this run reads\n`,
      );
      const after = existsSync(`${dir}/${path}`) ? await Deno.readTextFile(`${dir}/${path}`) : null;
      assert.equal(after, before, `${path} left as it was`);
    }
    // Once it exists, as before; an unrelated absent path is written.
    await Deno.writeTextFile(`${dir}/.env.local`, "X=2\n");
    const r = await runJx(["run", "--events", ".env.local"], { cwd: dir, runtime });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/.env.local`), "X=2\n");
    assert.equal(existsSync(`${dir}/ran.txt`), false, "no job ran");
    const ok = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir, runtime });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(existsSync(`${dir}/ran.txt`), true);
    await Deno.remove(top, { recursive: true });
  });

  Deno.test(`--events and --trace naming one file (two names of it too) is exit 2, nothing written or run [${runtime}]`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOBS, "build.sh": "echo hi > ran.txt\n" });
    await Deno.mkdir(`${dir}/sub`);
    const runs = [
      ["run", "--events", "out.json", "--trace", "out.json"],
      ["run", "--events", "out.json", "--trace", "sub/../out.json"],
      ["watch", "--events", "out.json", "--trace", "./out.json"],
      ["sh", "--events", "out.json", "--trace", "out.json", "build.sh"],
    ];
    for (const args of runs) {
      const r = await runJx(args, { cwd: dir, runtime });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        `jx: --events and --trace name the same file '${args.at(args[0] === "sh" ? -2 : -1)}'\n`,
      );
      assert.equal(existsSync(`${dir}/out.json`), false, "neither file made");
    }
    // The same from the no-op fast path (a record of a run with nothing to do).
    assert.equal((await runJx(["run"], { cwd: dir, runtime })).code, 0);
    assert.equal((await runJx(["run"], { cwd: dir, runtime })).code, 0);
    const r = await runJx(runs[0], { cwd: dir, runtime });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(existsSync(`${dir}/out.json`), false);
    // Two files: both written, each whole.
    const ok = await runJx(["run", "--force", "--events", "ev.ndjson", "--trace", "tr.json"], {
      cwd: dir,
      runtime,
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      JSON.parse(await Deno.readTextFile(`${dir}/tr.json`)).traceEvents.length > 0,
      true,
    );
    const lines = (await Deno.readTextFile(`${dir}/ev.ndjson`)).trim().split("\n");
    assert.equal(JSON.parse(lines[lines.length - 1]).type, "run.end");
    await Deno.remove(dir, { recursive: true });
  });
}
