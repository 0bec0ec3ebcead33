/**
 * The end of a `jx run --executor slurm` on a real single-node cluster: a stop signal while jx
 * releases its allocation, and a Slurm that cannot run the jobs after local ones already ran.
 * One cluster for the file (tools/slurm/start.sh, stopped by pid); skipped without Slurm.
 *
 * @module
 */
import assert from "node:assert/strict";
import { jxCommand, readEvents, type Runtime, tempDir } from "../helpers.ts";
import {
  dec,
  endOf,
  HAVE_SLURM,
  queue,
  startCluster,
  stderrUntil,
  stopCluster,
} from "./slurm_helpers.ts";

Deno.test({
  name: "jx run --executor slurm: the end of a run",
  ignore: !HAVE_SLURM,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { cluster, env } = await startCluster(2);
    try {
      for (const rt of ["deno", "bun"] as const) await cases(t, env, rt);
    } finally {
      await stopCluster(cluster);
    }
  },
});

async function cases(t: Deno.TestContext, env: Record<string, string>, rt: Runtime) {
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    await t.step(
      `${rt}: ${sig} while the allocation is released: run.end interrupted, exit ${code}`,
      async () => {
        const dir = await tempDir({ "jobs.yaml": "jobs:\n  c: { run: echo hi }\n" });
        const [cmd, argv] = jxCommand(rt, ["run", "--executor", "slurm", "--events", "ev.ndjson"]);
        // jx pauses 3 s before it releases its allocation at the end (a seam for this test) and
        // says so: the signal comes in that pause, after every job has ended.
        const child = new Deno.Command(cmd, {
          args: argv,
          cwd: dir,
          env: { ...env, JX_SLURM_RELEASE_PAUSE_MS: "3000" },
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const said = await stderrUntil(child, /allocation \d+ to be released; pausing/);
        child.kill(sig);
        const o = await child.output();
        const stderr = said + dec.decode(o.stderr);
        assert.equal(o.code, code, stderr);
        const ev = await readEvents(`${dir}/ev.ndjson`);
        assert.equal(endOf(ev, "c").status, "ok");
        const end = ev.at(-1)!;
        assert.deepEqual([end.type, end.status, end.exit], ["run.end", "interrupted", code]);
        assert.equal(queue(env), "", "the allocation is released all the same");
      },
    );
  }
}
