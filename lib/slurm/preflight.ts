/**
 * What is checked before anything runs (one line, exit 2 on failure): Slurm's commands on
 * PATH, a controller that answers, the partitions the jobs name; then the allocation jx
 * holds for the run (or the one it runs inside).
 *
 * @module
 */
import { JxInputError } from "../runtime/errors.ts";
import { allocArgv, allocationId } from "./command.ts";
import { onPath, runTool, type ToolEnv } from "./tools.ts";

/** The client commands the executor runs. */
const COMMANDS = ["srun", "salloc", "scancel", "scontrol", "sinfo"];

/** One allocation the steps run in. */
export interface Allocation {
  /** Slurm's job id. */
  id: string;
  /** jx asked for it (and releases it at the end); false: the one jx runs inside. */
  own: boolean;
  /** Its CPUs: the largest step it can hold. */
  cpus: number;
}

/** The error of the preflight checks: one line, exit 2. */
function fail(message: string): never {
  throw new JxInputError(`executor slurm: ${message}`);
}

/** First line of a command's complaint. */
function firstLine(text: string): string {
  return text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "no output";
}

/**
 * Checks that Slurm can run the run's jobs; returns each partition's CPU count (`""`: the
 * default partition).
 */
export async function preflight(
  t: ToolEnv,
  partitions: string[],
  timeoutMs: number,
): Promise<Map<string, number>> {
  for (const c of COMMANDS) {
    if (!onPath(c, t.env.PATH)) fail(`${c} not found on PATH (install Slurm's client commands)`);
  }
  const ping = await runTool(t, ["scontrol", "ping"], timeoutMs);
  if (ping.code !== 0 || !/ is UP/.test(ping.stdout)) {
    const why = ping.timedOut
      ? `no answer in ${timeoutMs} ms`
      : firstLine(ping.stderr + ping.stdout);
    fail(
      `the Slurm controller does not answer (scontrol ping: ${why}; SLURM_CONF=${
        t.env.SLURM_CONF ?? "unset"
      })`,
    );
  }
  const info = await runTool(t, ["sinfo", "-h", "-o", "%P %C"], timeoutMs);
  if (info.code !== 0) fail(`sinfo failed: ${firstLine(info.stderr)}`);
  const cpus = new Map<string, number>();
  for (const line of info.stdout.split("\n").filter(Boolean)) {
    const [name, counts] = line.trim().split(/\s+/);
    const total = Number(counts.split("/")[3]) || 0;
    const bare = name.replace(/\*$/, "");
    cpus.set(bare, (cpus.get(bare) ?? 0) + total);
    if (bare !== name) cpus.set("", (cpus.get("") ?? 0) + total);
  }
  for (const p of partitions) {
    if (p !== "" && !cpus.has(p)) {
      fail(
        `partition '${p}' does not exist (partitions: ${
          [...cpus.keys()].filter(Boolean).join(", ")
        })`,
      );
    }
  }
  return cpus;
}

/**
 * Asks for an allocation of `cpus` CPUs (`salloc --no-shell`); `onPending` gets its id as soon
 * as Slurm queues it, so that a Ctrl-C during the wait can cancel it.
 */
export async function allocate(
  t: ToolEnv,
  cpus: number,
  partition: string,
  onPending: (id: string) => void,
  warn: (msg: string) => void,
): Promise<Allocation> {
  let said = false;
  const res = await runTool(t, allocArgv(cpus, partition || undefined), 2 ** 31 - 1, (text) => {
    const a = allocationId(text);
    if (a) onPending(a.id);
    if (a && !a.granted && !said) {
      said = true;
      warn(`executor slurm: waiting for an allocation of ${cpus} CPUs (job ${a.id})`);
    }
  });
  const a = allocationId(res.stderr);
  if (res.code !== 0 || !a?.granted) {
    // Its first lines may be the pending reason ("Required node not available..."): its error.
    const errors = res.stderr.split("\n").filter((l) => /error/i.test(l));
    fail(`salloc failed: ${firstLine(errors.at(-1) ?? res.stderr)}`);
  }
  return { id: a.id, own: true, cpus };
}
