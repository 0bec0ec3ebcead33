/**
 * A jx inside a Slurm step (a job of an outer `jx run --executor slurm` that runs `jx run` on a
 * jobs file of its own, as a sub-project's build does) on a real single-node cluster: its Slurm
 * jobs run as steps that overlap the step it runs in, within that step's CPUs. Skipped without
 * Slurm.
 *
 * @module
 */
import assert from "node:assert/strict";
import { jxCommand, readEvents, tempDir } from "../helpers.ts";
import {
  assertReleased,
  dec,
  endOf,
  HAVE_SLURM,
  startCluster,
  starts,
  stopCluster,
} from "./slurm_helpers.ts";

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

Deno.test({
  name: "jx run --executor slurm: a jx inside a job's step runs its Slurm jobs in that step's CPUs",
  ignore: !HAVE_SLURM,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { cluster, env } = await startCluster(2);
    try {
      const [cmd, argv] = jxCommand("deno", ["run", "-f", "sub/jobs.yaml", "--events", "in.nd"]);
      const inner = [cmd, ...argv].map(q).join(" ");
      const dir = await tempDir({
        // -j1: the outer run's allocation has one CPU, which the step of `outer` holds.
        "jobs.yaml": `
executor: slurm
jobs:
  outer: { run: ${JSON.stringify(inner)} }
`,
        "sub/jobs.yaml": `
executor: slurm
jobs:
  i1: { run: "echo in1" }
  i2: { run: "echo in2", tokens: 2 }
`,
      });
      // Before: the inner jx's steps waited for a CPU of the allocation that only `outer` held:
      // the run hung (here: stopped by timeout).
      const [, outer] = jxCommand("deno", ["run", "-j1", "--events", "ev.nd"]);
      const out = await new Deno.Command("timeout", {
        args: ["-s", "INT", "60", cmd, ...outer],
        cwd: dir,
        env: { ...env, NO_COLOR: "1" },
        stdin: "null",
      }).output();
      const said = dec.decode(out.stdout) + dec.decode(out.stderr);
      const ev = await readEvents(`${dir}/ev.nd`);
      const inEv = await readEvents(`${dir}/in.nd`);
      // i2 asks for 2 CPUs: the step jx runs in has 1 (its tokens), as an allocation's would.
      assert.equal(endOf(inEv, "i1").status, "ok", said);
      assert.equal(endOf(inEv, "i2").error, "the job needs 2 CPUs; the allocation has 1", said);
      assert.equal(out.code, 1, said);
      assert.match(said, /── i1 \(.*\)\nin1\n/);
      // The inner steps are steps of the outer run's allocation.
      const alloc = String(starts(ev, "outer")[0].slurm_job).split(".")[0];
      assert.equal(String(starts(inEv, "i1")[0].slurm_job).split(".")[0], alloc);
      await assertReleased(env, said);
    } finally {
      await stopCluster(cluster);
    }
  },
});
