/**
 * What jx finds in its environment under Slurm, on a real single-node cluster: a jx inside a
 * Slurm step (a job of an outer `jx run --executor slurm` that runs `jx run` on a jobs file of
 * its own, as a sub-project's build does) runs its Slurm jobs as steps that overlap the step it
 * runs in, within that step's CPUs; srun's variables for the step's environment and I/O (as
 * `sbatch --export=NONE` leaves them) do not reach its steps; a job's own `srun` shares its
 * step's CPUs. Skipped without Slurm.
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
  name: "jx run --executor slurm: what jx finds in its environment",
  ignore: !HAVE_SLURM,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const { cluster, env } = await startCluster(2);
    try {
      await t.step(
        "a jx inside a job's step runs its Slurm jobs in that step's CPUs",
        () => nested(env),
      );
      await t.step("srun's variables for the step's environment and I/O", () => srunVars(env));
      await t.step("a job's own srun shares the job's CPUs", () => ownSrun(env));
      await t.step("Slurm's variables in jx's environment and a job's", () => clientVars(env));
    } finally {
      await stopCluster(cluster);
    }
  },
});

/** A jx in a job's step, whose jobs file sends its jobs to Slurm. */
async function nested(env: Record<string, string>) {
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
}

/** `SLURM_EXPORT_ENV=NONE` (as `sbatch --export=NONE` leaves it), `SLURM_LABELIO`... */
async function srunVars(env: Record<string, string>) {
  const dir = await tempDir({
    "jobs.yaml": `
executor: slurm
jobs:
  own: { run: 'echo "[$X]"; cat', env: { X: x1 }, tokens: 2 }
  spare: { run: 'echo "[$X]"', env: { X: x2 }, needs: [own] }
  files: { run: 'echo out; echo err >&2', env: { SLURM_STDOUTMODE: o.txt }, needs: [spare] }
`,
  });
  const vars = {
    SLURM_EXPORT_ENV: "NONE",
    SLURM_LABELIO: "1",
    SLURM_STDERRMODE: "e.txt",
    SLURM_STDINMODE: "jobs.yaml",
  };
  const [cmd, argv] = jxCommand("deno", ["run", "-j2", "--events", "ev.nd"]);
  const out = await new Deno.Command(cmd, {
    args: argv,
    cwd: dir,
    env: { ...env, ...vars, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const said = dec.decode(out.stdout) + dec.decode(out.stderr);
  assert.equal(out.code, 0, said);
  // Before: `[]` (no environment), each line prefixed `0: ` (jx's marks too), the job's stdin
  // the jobs file, its output in files.
  assert.match(said, /── own \(.*\)\n\[x1\]\n── /);
  assert.match(said, /── spare \(.*\)\n\[x2\]\n/);
  assert.match(said, /── files \(.*\)\n(out\nerr|err\nout)\n/);
  for (const f of ["o.txt", "e.txt"]) await assert.rejects(Deno.stat(`${dir}/${f}`), f);
  await assertReleased(env, said);
}

/** A job that runs `srun` itself (an MPI launch), in a step of its own and in a spare. */
async function ownSrun(env: Record<string, string>) {
  const dir = await tempDir({
    "jobs.yaml": `
executor: slurm
jobs:
  own: { run: "srun -n1 echo inner-own" }
  spare: { run: "srun -n1 echo inner-spare", needs: [own] }
`,
  });
  // -j1: the allocation's one CPU is the job's. Before: the inner step waited for another for
  // ever (here: stopped by timeout).
  const [cmd, argv] = jxCommand("deno", ["run", "-j1"]);
  const out = await new Deno.Command("timeout", {
    args: ["-s", "INT", "60", cmd, ...argv],
    cwd: dir,
    env: { ...env, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const said = dec.decode(out.stdout) + dec.decode(out.stderr);
  assert.equal(out.code, 0, said);
  assert.match(said, /── own \(.*\)\ninner-own\n/);
  assert.match(said, /── spare \(.*\)\ninner-spare\n/);
  await assertReleased(env, said);
}

/**
 * Variables Slurm's commands read as options, in jx's own environment (a user's shell) and in a
 * job's `env`: they reach the job's command, not the salloc, srun or scancel jx runs.
 */
async function clientVars(env: Record<string, string>) {
  const show = 'echo "[$SLURM_CONF|$SLURM_MPI_TYPE|$SALLOC_PARTITION|$SLURMD_NODENAME]"';
  const dir = await tempDir({
    "jobs.yaml": `
executor: slurm
jobs:
  own: { run: '${show}', env: { SLURM_CONF: /no/such.conf }, tokens: 2 }
  plain: { run: '${show}', needs: [own] }
  spare: { run: 'sleep 0.5; ${show}', env: { SLURM_CONF: /no/such.conf }, needs: [plain] }
`,
  });
  const vars = {
    SALLOC_PARTITION: "nosuch", // before: the allocation asked for a partition that is not there
    SALLOC_TIMELIMIT: "1", // before: the allocation had a time limit of a minute
    SLURM_MPI_TYPE: "bogus", // before: srun could not load mpi/bogus
    SCANCEL_STATE: "PENDING", // before: the release cancelled no running allocation
    SLURMD_NODENAME: "elsewhere", // the step's own wins
  };
  const [cmd, argv] = jxCommand("deno", ["run", "-j2", "--events", "ev.nd"]);
  const out = await new Deno.Command("timeout", {
    args: ["-s", "INT", "60", cmd, ...argv],
    cwd: dir,
    env: { ...env, ...vars, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const said = dec.decode(out.stdout) + dec.decode(out.stderr);
  assert.equal(out.code, 0, said);
  assert.doesNotMatch(said, /time limit/);
  // A job's SLURM_CONF is its command's (before: srun read it and could not start the step).
  const node = "[^|\\]]+";
  assert.match(
    said,
    new RegExp(`── own \\(.*\\)\\n\\[/no/such.conf\\|bogus\\|nosuch\\|${node}\\]\\n`),
  );
  assert.match(
    said,
    new RegExp(`── spare \\(.*\\)\\n\\[/no/such.conf\\|bogus\\|nosuch\\|${node}\\]\\n`),
  );
  const conf = env.SLURM_CONF.replace(/[.]/g, "\\.");
  assert.match(said, new RegExp(`── plain \\(.*\\)\\n\\[${conf}\\|bogus\\|nosuch\\|${node}\\]\\n`));
  assert.doesNotMatch(said, /\|elsewhere\]/);
  await assertReleased(env, said);
}
