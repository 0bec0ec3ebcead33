/**
 * The tracer's own files and failures: a job's trace takes no disk however
 * many calls it makes (a FIFO read as strace writes), and nothing of it is
 * left in the temporary directory whatever way the job or jx ends.
 */
import assert from "node:assert/strict";
import { findStrace } from "../../lib/access/mod.ts";
import { jxCommand, runJx, RUNTIMES, tempDir, waitForFile } from "../helpers.ts";

const ignore = !findStrace();

/** The entries of jx's trace folders under `tmp` (none once a run has ended). */
async function traceLeft(tmp: string): Promise<string[]> {
  const left: string[] = [];
  for await (const e of Deno.readDir(tmp)) if (e.name.startsWith("jx-trace-")) left.push(e.name);
  return left;
}

/** A job that opens `f` `n` times (no process per open: a long trace, quickly made). */
const loop = (n: number) => `i=0; while [ $i -lt ${n} ]; do : < f; i=$((i+1)); done`;

for (const runtime of RUNTIMES) {
  for (const reactor of ["auto", "portable"]) {
    Deno.test({
      name: `${runtime}: lint: a job's trace is never a file in TMPDIR (reactor ${reactor})`,
      ignore,
      fn: async () => {
        const dir = await tempDir({ "f": "", "tmp/.keep": "" });
        // While it runs, the job looks for a trace file in the temporary directory.
        const look = `find "$TMPDIR" -path '*jx-trace-*' -type f -size +4k > seen.txt`;
        await Deno.writeTextFile(
          `${dir}/jobs.yaml`,
          `jobs:\n  b:\n    run: |\n      ${
            loop(3000)
          }; ${look}\n    reads: [f]\n    writes: [seen.txt]\n`,
        );
        const r = await runJx(["run", "--strict", "--reactor", reactor], {
          cwd: dir,
          runtime,
          env: { TMPDIR: `${dir}/tmp` },
        });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(await Deno.readTextFile(`${dir}/seen.txt`), "");
        assert.deepEqual(await traceLeft(`${dir}/tmp`), []);
      },
    });
  }
}

Deno.test({
  name: "lint: nothing of a trace is left after a failed job, a timeout or jx's SIGTERM",
  ignore,
  fn: async () => {
    const dir = await tempDir({ "f": "", "tmp/.keep": "" });
    const env = { TMPDIR: `${dir}/tmp` };
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      "jobs:\n  bad: { run: 'cat f; exit 3' }\n  slow: { run: 'sleep 30', timeout: 300ms }\n" +
        "  long: { run: 'echo up > up; sleep 30' }\n",
    );
    for (const job of ["bad", "slow"]) {
      const r = await runJx(["lint", job], { cwd: dir, env });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.deepEqual(await traceLeft(`${dir}/tmp`), [], job);
    }
    const [cmd, argv] = jxCommand("deno", ["lint", "long"]);
    const lint = new Deno.Command(cmd, {
      args: argv,
      cwd: dir,
      env,
      stdout: "null",
      stderr: "null",
    })
      .spawn();
    await waitForFile(`${dir}/up`);
    lint.kill("SIGTERM");
    assert.equal((await lint.status).code, 143);
    assert.deepEqual(await traceLeft(`${dir}/tmp`), []);
  },
});
