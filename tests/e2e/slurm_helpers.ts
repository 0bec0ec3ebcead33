/**
 * What the tests of `jx run --executor slurm` on a real cluster share: whether Slurm is here, a
 * single-node cluster started by tools/slurm/start.sh (and stopped by pid), squeue's view, and
 * reading a running jx's output.
 *
 * @module
 */
import { type LoggedEvent, ROOT } from "../helpers.ts";

export const HAVE_SLURM = ["slurmctld", "slurmd", "munged", "srun"].every((c) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${c}`], stdout: "null" }).outputSync().success
);
if (!HAVE_SLURM) console.error("slurm tests: slurm-wlm is not installed; skipped");

export const dec = new TextDecoder();

/** What squeue still lists (jobs, then steps). */
export function queue(env: Record<string, string>): string {
  const q = (...a: string[]) =>
    dec.decode(new Deno.Command("squeue", { args: a, env }).outputSync().stdout);
  return (q("-h", "-o", "%i %j %T") + q("-s", "-h", "-o", "%i")).trim();
}

/**
 * Asserts that a jx run that has exited left nothing in squeue, as jx promises: it waits (up to
 * 10 s) for squeue to stop listing its allocation, and says so when it could not tell
 * (`may not have been released`). Such a warning is that promise kept on a loaded node; the
 * listing is then waited out (bounded), so the next case starts clean. A listing jx said nothing
 * about fails, with what jx said (`said`) and what squeue lists a second later.
 */
export async function assertReleased(
  env: Record<string, string>,
  said: string,
  what = "nothing of the run left in squeue",
): Promise<void> {
  const left = queue(env);
  if (left === "") return;
  const warned = /may not have been released/.test(said);
  for (const end = Date.now() + (warned ? 30_000 : 1_000); queue(env) && Date.now() < end;) {
    await new Promise((ok) => setTimeout(ok, 100));
  }
  if (warned) return;
  throw new Error(
    `${what}: squeue listed ${JSON.stringify(left)} as jx exited, ` +
      `${JSON.stringify(queue(env))} a second later; jx said:\n${said}`,
  );
}

/**
 * How many allocations (Slurm jobs named jx) asked for from `dir` the cluster has ended: its job
 * completion log (tools/slurm/start.sh), written before squeue stops listing a job.
 */
export function allocationsFrom(cluster: string, dir: string): number {
  return Deno.readTextFileSync(`${cluster}/log/jobcomp.txt`).split("\n")
    .filter((l) => l.includes(" Name=jx ") && l.includes(` WorkDir=${dir} `)).length;
}

/** A copy of the cluster's slurm.conf whose controller port nothing listens on. */
export async function downConf(conf: string): Promise<string> {
  const path = `${await Deno.makeTempDir({ prefix: "jx-slurm-down-" })}/slurm.conf`;
  const text = await Deno.readTextFile(conf);
  await Deno.writeTextFile(path, text.replace(/^SlurmctldPort=.*$/m, "SlurmctldPort=1"));
  return path;
}

/** Reads `child`'s stderr until `re` matches what came; returns that text. */
export async function stderrUntil(
  child: Deno.ChildProcess,
  re: RegExp,
  stream: "stdout" | "stderr" = "stderr",
): Promise<string> {
  const reader = child[stream].getReader();
  let text = "";
  while (!re.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value);
  }
  reader.releaseLock();
  return text;
}

export const starts = (ev: LoggedEvent[], job: string) =>
  ev.filter((e) => e.type === "job.start" && e.job === job);
export const endOf = (ev: LoggedEvent[], job: string) =>
  ev.findLast((e) => e.type === "job.end" && e.job === job)!;

/** Starts a single-node cluster of `cpus` CPUs in a new folder: the folder and Slurm's env. */
export async function startCluster(
  cpus = 4,
): Promise<{ cluster: string; env: Record<string, string> }> {
  const cluster = await Deno.makeTempDir({ prefix: "jx-slurm-" });
  const out = await new Deno.Command(`${ROOT}/tools/slurm/start.sh`, {
    args: [cluster],
    env: { JX_SLURM_CPUS: String(cpus), JX_SLURM_LIFETIME: "900" },
    stdin: "null",
  }).output();
  if (!out.success) {
    await stopCluster(cluster);
    throw new Error(dec.decode(out.stderr));
  }
  return { cluster, env: { SLURM_CONF: /SLURM_CONF=(\S+)/.exec(dec.decode(out.stdout))![1] } };
}

/** Stops the cluster `startCluster` started (its daemons, by the pids it wrote). */
export async function stopCluster(cluster: string): Promise<void> {
  await new Deno.Command(`${ROOT}/tools/slurm/stop.sh`, { args: [cluster] }).output();
}
