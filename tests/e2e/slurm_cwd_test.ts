/**
 * `jx run --executor slurm` from a directory the cluster's node does not have, on a real
 * single-node cluster: jx runs in a mount namespace of its own (`unshare -m`) whose project
 * folder, on a tmpfs, slurmd does not see. Slurm then runs a task in /tmp ("couldn't chdir ...
 * going to /tmp instead"), so a job would "succeed" with its outputs in the node's /tmp: jx
 * fails it instead. Skipped without Slurm, or where a mount namespace cannot be made.
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
  stopCluster,
} from "./slurm_helpers.ts";

/** Whether this process may make a mount namespace and mount a tmpfs in it (root, in most CI). */
const CAN_UNSHARE = HAVE_SLURM &&
  new Deno.Command("unshare", {
    args: ["-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /mnt"],
    stdout: "null",
    stderr: "null",
  }).outputSync().success;
if (HAVE_SLURM && !CAN_UNSHARE) console.error("slurm_cwd_test: no mount namespace here; skipped");

Deno.test({
  name: "jx run --executor slurm: a job directory the node lacks fails the job, not in /tmp",
  ignore: !CAN_UNSHARE,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { cluster, env } = await startCluster(2);
    const hidden = await tempDir(); // a tmpfs over it, in jx's namespace only
    const proj = `${hidden}/proj`; // on that tmpfs: the node has no such folder
    const nodeTmp = "/tmp"; // where slurmstepd puts a task whose directory it cannot enter
    const outs = ["own.txt", "spare.txt"].map((f) => `${nodeTmp}/jx-cwd-test-${f}`);
    try {
      // `first` (its own step), then `second` a second later (in the spare step launched when
      // `first` started, if it runs by then).
      const jobs = `
jobs:
  first: { run: "pwd; touch ${outs[0]}" }
  gate: { run: "sleep 1", executor: local }
  second: { run: "pwd; touch ${outs[1]}", needs: [gate] }
`;
      const [cmd, argv] = jxCommand("deno", [
        "run",
        "--executor",
        "slurm",
        "-k",
        "--events",
        "ev.ndjson",
      ]);
      const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
      const script = `mount -t tmpfs none ${q(hidden)} && mkdir ${q(proj)} && cd ${q(proj)} && ` +
        `printf '%s' ${q(jobs)} > jobs.yaml && ${[cmd, ...argv].map(q).join(" ")}; ` +
        `code=$?; cp ev.ndjson ${q(`${cluster}/ev.ndjson`)}; exit $code`;
      const out = await new Deno.Command("unshare", {
        args: ["-m", "--propagation", "private", "sh", "-c", script],
        env: { ...env, NO_COLOR: "1" },
      }).output();
      const said = dec.decode(out.stdout) + dec.decode(out.stderr);
      assert.equal(out.code, 1, said);
      const ev = await readEvents(`${cluster}/ev.ndjson`);
      // Before: both `ok` (exit 0), run in the node's /tmp, their files written there.
      for (const j of ["first", "second"]) {
        const end = endOf(ev, j);
        assert.deepEqual([end.status, end.exit], ["failed", null], `${j}: ${JSON.stringify(end)}`);
        assert.equal(
          end.error,
          `the job's directory ${proj} is not on node localhost; ` +
            "it must be on a filesystem the nodes share",
        );
      }
      for (const f of outs) await assert.rejects(Deno.stat(f), `${f}: no job ran in /tmp`);
      await assertReleased(env, said);
    } finally {
      for (const f of outs) await Deno.remove(f).catch(() => {});
      await stopCluster(cluster);
    }
  },
});
