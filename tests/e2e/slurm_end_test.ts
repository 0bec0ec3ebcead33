/**
 * The end of a `jx run --executor slurm` on a real single-node cluster: a stop signal while jx
 * releases its allocation, and a Slurm that cannot run the jobs after local ones already ran.
 * One cluster for the file (tools/slurm/start.sh, stopped by pid); skipped without Slurm.
 *
 * @module
 */
import assert from "node:assert/strict";
import { jxCommand, readEvents, runJx, type Runtime, tempDir } from "../helpers.ts";
import {
  assertReleased,
  dec,
  downConf,
  endOf,
  HAVE_SLURM,
  startCluster,
  starts,
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
        await assertReleased(env, stderr, "the allocation is released all the same");
      },
    );
  }
  await failedOpen(t, env, rt);
}

/** A build, then Slurm jobs on a partition that does not exist, and local jobs after them. */
const AFTER_LOCAL = `
jobs:
  build: { run: "echo built", executor: local }
  slow: { run: "sleep 1", executor: local, needs: [build] }
  s1: { run: "touch ran1", executor: slurm, slurm: { partition: nosuch }, needs: [build] }
  s2: { run: "touch ran2", executor: slurm, slurm: { partition: nosuch }, needs: [build] }
  late: { run: "touch late", executor: local, needs: [slow] }
  tail: { run: "touch tail", executor: local, needs: [s1] }
`;

/**
 * Slurm cannot run the jobs (its open fails): exit 2 only while nothing ran (CONTRACT.md: exit 2,
 * nothing was run); once a local job ran, the Slurm jobs are failed jobs, exit 1, -k as for any.
 */
async function failedOpen(t: Deno.TestContext, env: Record<string, string>, rt: Runtime) {
  const why = "executor slurm: partition 'nosuch' does not exist (partitions: main)";
  const jx = (dir: string, e: Record<string, string>, ...args: string[]) =>
    runJx(["run", "--events", "ev.ndjson", ...args], { cwd: dir, env: e, runtime: rt });
  for (const keepGoing of [false, true]) {
    const k = keepGoing ? ["-k"] : [];
    await t.step(
      `${rt}: a failed open after a local job ran${keepGoing ? ", -k" : ""}: exit 1`,
      async () => {
        const dir = await tempDir({ "jobs.yaml": AFTER_LOCAL });
        const r = await jx(dir, env, ...k);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        const ev = await readEvents(`${dir}/ev.ndjson`);
        for (const j of ["s1", "s2"]) {
          assert.deepEqual([endOf(ev, j).status, endOf(ev, j).error], ["failed", why], j);
          assert.match(
            r.stderr,
            new RegExp(`✗ ${j}: FAILED \\(could not start.*\\) ${why.replace(/[()]/g, "\\$&")}`),
          );
        }
        assert.deepEqual([ev.at(-1)!.type, ev.at(-1)!.status, ev.at(-1)!.exit], [
          "run.end",
          "failed",
          1,
        ]);
        // Not the one line of bad input: the summary's last line says what failed.
        assert.match(r.stderr.trim().split("\n").at(-1)!, /^jx: FAILED: 2 jobs failed/);
        assert.equal(endOf(ev, "build").status, "ok");
        const skip = ev.find((e) => e.type === "job.skip" && e.job === "tail");
        assert.equal(skip?.reason, "dependency-failed");
        // A job ready only after the failure: started with -k, not without (fail fast).
        assert.equal(starts(ev, "late").length, keepGoing ? 1 : 0);
        for (const f of ["ran1", "ran2", "tail"]) await assert.rejects(Deno.stat(`${dir}/${f}`), f);
        await assertReleased(env, r.stderr);
      },
    );
  }
  await t.step(
    `${rt}: the controller down after a local job ran: exit 1, the reason on the job`,
    async () => {
      const dir = await tempDir({
        "jobs.yaml": `
jobs:
  build: { run: "echo built", executor: local }
  submit: { run: "touch ran", executor: slurm, needs: [build] }
`,
      });
      const r = await jx(dir, { ...env, SLURM_CONF: await downConf(env.SLURM_CONF) });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      assert.equal(endOf(ev, "submit").status, "failed");
      assert.match(
        String(endOf(ev, "submit").error),
        /^executor slurm: the Slurm controller does not answer/,
      );
      assert.deepEqual([ev.at(-1)!.status, ev.at(-1)!.exit], ["failed", 1]);
    },
  );
  await t.step(
    `${rt}: a failed open after a module started: exit 1 (a module ran), the reason on the job`,
    async () => {
      const dir = await tempDir({
        "jobs.yaml": `
modules:
  srv: { run: "echo up > up; exec sleep 30", ready: { cmd: test -s up } }
jobs:
  submit: { run: "touch ran", executor: slurm, needs: [srv] }
`,
      });
      const r = await jx(dir, { ...env, SLURM_CONF: await downConf(env.SLURM_CONF) });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      assert.equal(endOf(ev, "submit").status, "failed");
      assert.deepEqual([ev.at(-1)!.status, ev.at(-1)!.exit], ["failed", 1]);
      // The module ran (ready once its file is there: without the check, a stop that came before
      // its shell wrote it left none, CI saw it once on Bun).
      await Deno.stat(`${dir}/up`);
    },
  );
  await t.step(
    `${rt}: a failed open before anything ran: exit 2, the reason as the last line`,
    async () => {
      // -k: the other Slurm job fails the same way; a local job after them never becomes ready.
      const dir = await tempDir({
        "jobs.yaml": `
jobs:
  s1: { run: "touch ran1", executor: slurm, slurm: { partition: nosuch } }
  s2: { run: "touch ran2", executor: slurm, slurm: { partition: nosuch } }
  after: { run: "touch after", executor: local, needs: [s1] }
`,
      });
      const r = await jx(dir, env, "-k");
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.equal(r.stderr.trim().split("\n").at(-1), `jx: ${why}`);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      assert.deepEqual([ev.at(-1)!.type, ev.at(-1)!.exit], ["run.end", 2]);
      for (const f of ["ran1", "ran2", "after"]) await assert.rejects(Deno.stat(`${dir}/${f}`), f);
    },
  );
}
