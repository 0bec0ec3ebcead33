/**
 * The command lines jx gives Slurm, built without running anything: the allocation (`salloc
 * --no-shell`), one step per job (`srun --exact` inside it), and the environment of a step.
 *
 * @module
 */

/** A job's `slurm:` options (the jobs file's `slurm:` key). */
export interface SlurmOptions {
  /** `--partition`. */
  partition?: string;
  /** `--time` of the step (Slurm's formats: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`...). */
  time?: string;
  /** `--mem`, e.g. `2G`. */
  mem?: string;
  /** `--gres`, e.g. `gpu:1`: such a job runs as its own Slurm job (see `stepArgv`). */
  gres?: string;
  /** More `srun` options, passed as they are. */
  args?: string[];
}

/**
 * Variables a job's step sets in its task's environment after srun has started it (`taskVars`):
 * `[NAME, VALUE, force]`, where `force` false sets NAME only when the step's environment lacks it
 * (Slurm's own variables for the step win over jx's inherited ones).
 */
export type TaskVar = [name: string, value: string, force: boolean];

/** What one step runs. */
export interface StepCommand {
  /** The job's name (the step's name is `jx:NAME`). */
  name: string;
  /** The job's argv (`/bin/sh -c CMD` for a `run:` string). */
  argv: string[];
  /** CPUs of the step: the job's tokens. */
  tokens: number;
  /** The job's `slurm:` options. */
  slurm?: SlurmOptions;
  /** The job's directory (absolute), which the step checks it runs in (`CWD_MARK`). */
  cwd?: string;
  /** Variables of the job's environment that srun must not read (`taskVars`). */
  vars?: TaskVar[];
}

/**
 * The line a step writes on its stderr first, on the node, so that jx learns its id at the
 * moment it starts: `\x1ejx-slurm-step JOBID.STEPID`. jx removes it from the output.
 */
export const STEP_MARK = "\x1ejx-slurm-step ";

/**
 * The line a spare step writes on its stderr once it has read a job's script and runs it: the
 * evidence that the job ran (a spare that ends without it never ran its job). jx removes it.
 */
export const RUN_MARK = "\x1ejx-slurm-run";

/**
 * The line a step (or a spare's script) writes instead of running its job when the job's
 * directory is not on the node, `\x1ejx-slurm-nocwd NODE DIR`: Slurm runs such a task in /tmp
 * (`couldn't chdir to ...: going to /tmp instead`), where the job would "succeed" with its
 * outputs written there. jx removes it; the job could not start.
 */
export const CWD_MARK = "\x1ejx-slurm-nocwd ";

/** Shell text for a `cd` to "$1" that failed: the mark, exit 1 (NODE, then DIR). */
const NO_CWD =
  `{ printf '\\036jx-slurm-nocwd %s %s\\n' "\${SLURMD_NODENAME:-?}" "$1" >&2; exit 1; }`;

/**
 * The line a step (or a spare's script) writes instead of running its job when the job's
 * command is not found on the node, `\x1ejx-slurm-nocmd NODE COMMAND`: the job could not start,
 * as a local job whose command does not exist (a `run:` string's command is the shell's: its
 * own 127, as locally).
 */
export const CMD_MARK = "\x1ejx-slurm-nocmd ";

/** Shell text that ends the step (NODE, then the command "$1") when "$1" is not found. */
const NO_CMD = `command -v -- "$1" >/dev/null 2>&1 || ` +
  `{ printf '\\036jx-slurm-nocmd %s %s\\n' "\${SLURMD_NODENAME:-?}" "$1" >&2; exit 127; }`;

/**
 * What a job's own `srun` (an MPI launch, `srun -n4 ./app`) needs: a step of the allocation
 * that shares the job's CPUs (`--overlap`, which srun reads from `SLURM_OVERLAP`). Without it
 * the inner step waits for CPUs of the allocation that jx's steps hold: for ever when they
 * hold them all.
 */
const OVERLAP = "export SLURM_OVERLAP=1";

/** The shell text that prints the mark, then runs the job's argv in its place. */
const WRAPPER = `${NO_CMD}; ${OVERLAP}; ` +
  `printf '\\036jx-slurm-step %s.%s\\n' "$SLURM_JOB_ID" "$SLURM_STEP_ID" >&2; exec "$@"`;

/** `rest`, first checking that the step runs in the job's directory, "$1" (then shifted). */
const inCwd = (rest: string) => `cd -- "$1" 2>/dev/null || ${NO_CWD}; shift; ${rest}`;

/**
 * Shell text that exports the job's variables srun was not given (`taskVars`): "$1" of them,
 * each `!NAME=VALUE` (set) or `?NAME=VALUE` (set when the step's environment lacks NAME),
 * shifted off before the job's argv. NAME is a shell name (`taskVars` keeps no other).
 */
const VARS = `n=$1; shift; while [ "$n" -gt 0 ]; do v=\${1#?}; k=\${v%%=*}; ` +
  `case $1 in '!'*) export "$v";; *) eval "s=\\\${$k+1}"; [ -n "$s" ] || export "$v";; esac; ` +
  "shift; n=$((n - 1)); done; ";

/**
 * The `srun` argv of one job: a step inside allocation `jobId` with `--exact` (only the
 * step's own CPUs, so steps run side by side), one task on one node, `--cpus-per-task` =
 * tokens, the job's options, `--quiet` (no "step creation temporarily disabled" chatter),
 * then a small `sh` that prints the step's id mark and execs the job. A job with `gres` is
 * its own Slurm job (no `--jobid`): a step cannot have generic resources its allocation lacks.
 * `overlap`: jx runs inside a step of the allocation (a job of an outer jx), whose CPUs the
 * step shares (`--overlap`), as those the step does not hold may all be taken.
 *
 * @example
 * ```ts
 * import { stepArgv } from "./command.ts";
 * stepArgv("12", { name: "cc", argv: ["/bin/sh", "-c", "make"], tokens: 2 });
 * // ["srun", "--jobid=12", "--exact", "--ntasks=1", "--nodes=1", "--cpus-per-task=2",
 * //  "--job-name=jx:cc", "--quiet", "--kill-on-bad-exit=1", "--", "/bin/sh", "-c", ...]
 * ```
 */
export function stepArgv(jobId: string | undefined, cmd: StepCommand, overlap = false): string[] {
  const o = cmd.slurm ?? {};
  const argv = ["srun"];
  if (jobId !== undefined && o.gres === undefined) {
    argv.push(`--jobid=${jobId}`, "--exact");
    // jx runs inside a step of this allocation, which holds its CPUs: its steps share them.
    if (overlap) argv.push("--overlap");
  }
  argv.push("--ntasks=1", "--nodes=1", `--cpus-per-task=${cmd.tokens}`);
  argv.push(`--job-name=jx:${cmd.name}`, "--quiet", "--kill-on-bad-exit=1");
  if (o.partition !== undefined && (jobId === undefined || o.gres !== undefined)) {
    argv.push(`--partition=${o.partition}`);
  }
  if (o.time !== undefined) argv.push(`--time=${o.time}`);
  if (o.mem !== undefined) argv.push(`--mem=${o.mem}`);
  if (o.gres !== undefined) argv.push(`--gres=${o.gres}`);
  argv.push(...(o.args ?? []), "--", "/bin/sh", "-c");
  const vars = cmd.vars ?? [];
  const set = vars.map(([k, v, force]) => `${force ? "!" : "?"}${k}=${v}`);
  if (set.length) set.unshift(String(set.length));
  const wrapper = set.length ? VARS + WRAPPER : WRAPPER;
  if (cmd.cwd === undefined) argv.push(wrapper, "jx-step", ...set, ...cmd.argv);
  else argv.push(inCwd(wrapper), "jx-step", cmd.cwd, ...set, ...cmd.argv);
  return argv;
}

/**
 * Variables that `srun` reads as options (set by an enclosing `salloc`/`sbatch`): left in the
 * environment they would change a step's shape, so the step's environment drops them.
 */
const SRUN_INPUT = new Set([
  "SLURM_NTASKS",
  "SLURM_NPROCS",
  "SLURM_NNODES",
  "SLURM_CPUS_PER_TASK",
  "SLURM_NTASKS_PER_NODE",
  "SLURM_MEM_PER_CPU",
  "SLURM_MEM_PER_NODE",
  "SLURM_MEM_PER_GPU",
  "SLURM_DISTRIBUTION",
  "SLURM_EXCLUSIVE",
  "SLURM_OVERLAP",
  "SLURM_JOB_NAME",
  "SLURM_JOBID",
  "SLURM_JOB_ID",
  "SLURM_STEP_ID",
  "SLURM_STEPID",
  "SLURM_TIMELIMIT",
  "SLURM_PARTITION",
  // What the step's environment and I/O are: `--export=NONE` (as `sbatch --export=NONE` leaves
  // it for the steps inside) would drop the job's env; `--label` prefix jx's marks and the
  // output; `--output`, `--error`, `--input` send the output to files, read stdin from one.
  "SLURM_EXPORT_ENV",
  "SLURM_LABELIO",
  "SLURM_STDOUTMODE",
  "SLURM_STDERRMODE",
  "SLURM_STDINMODE",
  "SLURM_OPEN_MODE",
]);

/**
 * The environment of `srun` (which Slurm passes on to the step, `--export=ALL`): the job's,
 * minus the variables `srun` would read as options, with `MAKEFLAGS` set to ` -jN` (N = the
 * step's CPUs). jx's local jobserver cannot reach another node, so a `make` in the step starts
 * a pool of its own with exactly the step's CPUs; recursive makes below it share that pool.
 *
 * @example
 * ```ts
 * import { stepEnv } from "./command.ts";
 * stepEnv({ PATH: "/bin", MAKEFLAGS: " -j8 --jobserver-auth=3,4", SLURM_NTASKS: "4" }, 2);
 * // { PATH: "/bin", MAKEFLAGS: " -j2" }
 * ```
 */
export function stepEnv(env: Record<string, string>, tokens: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (!SRUN_INPUT.has(k)) out[k] = v;
  out.MAKEFLAGS = ` -j${tokens}`;
  return out;
}

/**
 * The variables Slurm's client commands read as their options: `SLURM_*` (srun's, and the
 * cluster's: `SLURM_CONF`...), `SALLOC_*`, `SRUN_*`, `SBATCH_*`, and those of the commands jx
 * asks (`SQUEUE_*`, `SINFO_*`, `SCANCEL_*`, `SCONTROL_*`).
 */
const CLIENT_INPUT = /^(SLURMD?|SALLOC|SRUN|SBATCH|SQUEUE|SINFO|SCANCEL|SCONTROL)_[A-Za-z0-9_]*$/;

/**
 * Of `CLIENT_INPUT`, those jx's own environment passes to Slurm's commands: which cluster
 * (`SLURM_CONF`), and whose share of it the allocation is charged to (account, QOS,
 * reservation, wckey). None changes what a jobs file asks for; the others (a partition, a time
 * limit, memory, GPUs, exclusive nodes, `scancel`'s or `squeue`'s filters...) would, unseen.
 */
export const HONOURED_VARS: readonly string[] = [
  "SLURM_CONF",
  "SALLOC_ACCOUNT",
  "SALLOC_QOS",
  "SALLOC_RESERVATION",
  "SALLOC_WCKEY",
  "SLURM_ACCOUNT",
  "SLURM_QOS",
  "SLURM_RESERVATION",
  "SLURM_WCKEY",
];

/**
 * The environment of Slurm's client commands (`salloc`, `srun`, `scancel`, `squeue`...): `env`
 * without the variables they read as options (`CLIENT_INPUT`), but for `HONOURED_VARS` as jx's
 * own environment `jx` has them (a job's `env: {SLURM_CONF}` is its command's, not srun's).
 *
 * @example
 * ```ts
 * import { clientEnv } from "./command.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const jx = { PATH: "/bin", SLURM_CONF: "/c", SALLOC_PARTITION: "big", SALLOC_ACCOUNT: "a" };
 * assertEquals(clientEnv(jx), { PATH: "/bin", SLURM_CONF: "/c", SALLOC_ACCOUNT: "a" });
 * assertEquals(clientEnv({ ...jx, SLURM_CONF: "/other" }, jx).SLURM_CONF, "/c");
 * ```
 */
export function clientEnv(
  env: Record<string, string>,
  jx: Record<string, string> = env,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (!CLIENT_INPUT.test(k)) out[k] = v;
  for (const k of HONOURED_VARS) if (jx[k] !== undefined) out[k] = jx[k];
  return out;
}

/**
 * What a step's task must get that its srun was not given (`clientEnv` took it out): each
 * variable of the job's environment `job` whose value `srun` lacks. One the job sets (its value
 * not jx's, `jx`) is set; one jx's own environment passed on is set only when the step's
 * environment lacks it, as srun would have passed it (Slurm's variables for the step win).
 *
 * @example
 * ```ts
 * import { taskVars } from "./command.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const jx = { SLURM_CONF: "/c", SLURM_MPI_TYPE: "pmix" };
 * const job = { ...jx, SLURM_CONF: "/job" };
 * assertEquals(taskVars(job, { SLURM_CONF: "/c" }, jx), [
 *   ["SLURM_CONF", "/job", true],
 *   ["SLURM_MPI_TYPE", "pmix", false],
 * ]);
 * ```
 */
export function taskVars(
  job: Record<string, string>,
  srun: Record<string, string>,
  jx: Record<string, string>,
): TaskVar[] {
  const out: TaskVar[] = [];
  for (const [k, v] of Object.entries(job)) {
    if (srun[k] !== v && CLIENT_INPUT.test(k)) out.push([k, v, jx[k] !== v]);
  }
  return out;
}

/**
 * The `salloc` argv of the allocation jx holds for a run: `cpus` single-CPU tasks (so steps
 * of any size up to one node's CPUs fit), no shell (it returns once granted), named `jx`;
 * `comment` says which jx holds it (`ownerComment`).
 *
 * @example
 * ```ts
 * import { allocArgv } from "./command.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(allocArgv(4, "main"), ["salloc", "--no-shell", "--job-name=jx", "--ntasks=4", "--cpus-per-task=1", "--partition=main"]);
 * ```
 */
export function allocArgv(cpus: number, partition?: string, comment?: string): string[] {
  const argv = ["salloc", "--no-shell", "--job-name=jx", `--ntasks=${cpus}`, "--cpus-per-task=1"];
  if (partition !== undefined) argv.push(`--partition=${partition}`);
  if (comment !== undefined) argv.push(`--comment=${comment}`);
  return argv;
}

/**
 * The job id in `salloc`'s last "Granted job allocation N" or "Pending job allocation N": a
 * salloc that waits prints both, Pending first.
 *
 * @example
 * ```ts
 * import { allocationId } from "./command.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const text = "salloc: Pending job allocation 7\nsalloc: Granted job allocation 7\n";
 * assertEquals(allocationId(text), { id: "7", granted: true });
 * ```
 */
export function allocationId(text: string): { id: string; granted: boolean } | undefined {
  const all = [...text.matchAll(/(Granted|Pending) job allocation (\d+)/g)];
  const m = all.at(-1);
  return m ? { id: m[2], granted: m[1] === "Granted" } : undefined;
}

/** Every job id salloc named (pending or granted), in order, each once. */
export function allocationIds(text: string): string[] {
  return [
    ...new Set([...text.matchAll(/(?:Granted|Pending) job allocation (\d+)/g)].map((m) => m[1])),
  ];
}

/**
 * What a spare step runs: it prints its id mark, then reads a script on stdin up to end of
 * file, prints the run mark and runs it (`gateScript`: the job's cwd, environment and argv).
 * Closing its stdin with nothing written ends it (exit 0, no run mark).
 */
const GATE = `printf '\\036jx-slurm-step %s.%s\\n' "$SLURM_JOB_ID" "$SLURM_STEP_ID" >&2; ` +
  `s=$(cat) && { [ -z "$s" ] || { printf '\\036jx-slurm-run\\n' >&2 && eval "$s"; }; }`;

/**
 * The `srun` argv of a spare step: launched before jx knows which job it will run, so that
 * Slurm's step creation and launch (most of a step's cost) overlap the jobs running. One CPU
 * (`--exact`), and `--overlap`: a waiting spare holds no CPU a job's step would need (jx, not
 * Slurm, counts the allocation's CPUs). Its name is `jx:spare`.
 *
 * @example
 * ```ts
 * import { spareArgv } from "./command.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(spareArgv("12").slice(0, 4), ["srun", "--jobid=12", "--exact", "--overlap"]);
 * ```
 */
export function spareArgv(jobId: string): string[] {
  return [
    "srun",
    `--jobid=${jobId}`,
    "--exact",
    "--overlap",
    "--ntasks=1",
    "--nodes=1",
    "--cpus-per-task=1",
    "--job-name=jx:spare",
    "--quiet",
    "--kill-on-bad-exit=1",
    "--",
    "/bin/sh",
    "-c",
    GATE,
    "jx-spare",
  ];
}

/** Whether a job can run in a spare step: one CPU, no Slurm options but its partition. */
export function spareFits(cmd: StepCommand): boolean {
  const keys = Object.keys(cmd.slurm ?? {}).filter((k) => k !== "partition");
  return cmd.tokens === 1 && keys.length === 0;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The script a spare step runs for a job: `cd` to its cwd, the differences between the spare's
 * environment (`base`, as `srun` passed it) and the job's (`env`; one of Slurm's variables that
 * jx's environment `jx` passed on is set only when the step lacks it, as `taskVars` says),
 * `SLURM_OVERLAP=1` (the job's
 * own sruns share its CPUs), then `exec` of its argv with stdin at end of file, as a direct
 * step's. Undefined when a variable the job sets or changes
 * has a name that is not a shell name (such a job takes a step of its own).
 *
 * @example
 * ```ts
 * import { gateScript } from "./command.ts";
 * gateScript("/p", { A: "1", B: "it's" }, { A: "1", C: "x" }, ["make", "-s"]);
 * // "set -- '/p'; cd -- \"$1\" 2>/dev/null || { printf ...nocwd... >&2; exit 1; }\n" +
 * //   "export B='it'\\''s'\nunset C\nset -- 'make'; command -v ...; export SLURM_OVERLAP=1\n" +
 * //   "exec 'make' '-s' </dev/null\n"
 * ```
 */
export function gateScript(
  cwd: string,
  env: Record<string, string>,
  base: Record<string, string>,
  argv: string[],
  jx: Record<string, string> = {},
): string | undefined {
  const dir = quote(cwd);
  const lines = [`set -- ${dir}; cd -- "$1" 2>/dev/null || ${NO_CWD}`];
  const inherited = new Set(taskVars(env, base, jx).filter(([, , f]) => !f).map(([k]) => k));
  for (const [k, v] of Object.entries(env)) {
    if (base[k] === v) continue;
    if (!NAME.test(k)) return undefined;
    // One jx's environment passed on that srun was not given: Slurm's own for the step wins.
    const unset = inherited.has(k) ? `[ -n "\${${k}+1}" ] || ` : "";
    lines.push(`${unset}export ${k}=${quote(v)}`);
  }
  for (const k of Object.keys(base)) if (!(k in env) && NAME.test(k)) lines.push(`unset ${k}`);
  lines.push(`set -- ${quote(argv[0])}; ${NO_CMD}; ${OVERLAP}`);
  lines.push(`exec ${argv.map(quote).join(" ")} </dev/null`);
  return lines.join("\n") + "\n";
}
