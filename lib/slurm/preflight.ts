/**
 * What is checked before the first Slurm job runs (one line, exit 2 on failure): Slurm's
 * commands on PATH, a controller that answers, the partitions the jobs name; then the
 * allocation jx holds for the run (or the one it runs inside).
 *
 * @module
 */
import { JxInputError } from "../runtime/errors.ts";
import type { ChildHandle } from "../reactor/mod.ts";
import { pid, sendSignal } from "../runtime/mod.ts";
import { host } from "../runtime/stale.ts";
import { allocArgv, allocationId, allocationIds } from "./command.ts";
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
  /**
   * jx runs inside one of its steps (a job of an outer jx, `srun --pty bash`): that step holds
   * the CPUs jx may use, so jx's steps overlap it (`--overlap`) and `cpus` is the step's.
   */
  inStep?: boolean;
}

/**
 * The CPUs of the Slurm step jx runs inside (`SLURM_STEP_ID` set: a task of `srun`, not an
 * `sbatch` script or a `salloc` shell), from the variables slurmstepd gives its tasks: its
 * tasks' CPUs (`SLURM_CPUS_PER_TASK` × `SLURM_STEP_NUM_TASKS`), else its CPUs on this node
 * (`SLURM_CPUS_ON_NODE`). Undefined outside a step.
 *
 * @example
 * ```ts
 * import { stepCpus } from "./preflight.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(stepCpus({ SLURM_JOB_ID: "7", SLURM_STEP_ID: "3", SLURM_CPUS_PER_TASK: "2" }), 2);
 * deepStrictEqual(stepCpus({ SLURM_JOB_ID: "7", SLURM_STEP_ID: "0", SLURM_CPUS_ON_NODE: "4" }), 4);
 * deepStrictEqual(stepCpus({ SLURM_JOB_ID: "7", SLURM_CPUS_ON_NODE: "4" }), undefined);
 * ```
 */
export function stepCpus(env: Record<string, string | undefined>): number | undefined {
  if (!env.SLURM_JOB_ID || env.SLURM_STEP_ID === undefined) return undefined;
  const n = (v: string | undefined) => (Number(v) > 0 ? Math.floor(Number(v)) : undefined);
  const perTask = n(env.SLURM_CPUS_PER_TASK);
  if (perTask !== undefined) return perTask * (n(env.SLURM_STEP_NUM_TASKS) ?? 1);
  return n(env.SLURM_CPUS_ON_NODE) ?? n(env.SLURM_STEP_NUM_TASKS) ?? 1;
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
 * Checks that the allocation jx runs inside (`SLURM_JOB_ID`) is one Slurm runs: a variable left
 * from a shell whose allocation ended would fail every job. Returns its CPU count, all its
 * nodes' (squeue's `%C`), when Slurm says. A controller that does not say (squeue timed out) is
 * let through: the steps then say what is wrong.
 */
export async function checkInside(
  t: ToolEnv,
  id: string,
  timeoutMs: number,
): Promise<number | undefined> {
  const r = await runTool(t, ["squeue", "-h", "-j", id, "-o", "%T %C"], timeoutMs);
  if (r.timedOut) return undefined;
  const { state, cpus } = allocationState(r.stdout);
  if (r.code === 0 && state === "RUNNING") return cpus;
  const why = r.code !== 0 ? firstLine(r.stderr + r.stdout) : state || "not listed";
  fail(
    `SLURM_JOB_ID=${id} names no running allocation (squeue: ${why}); ` +
      "unset it to let jx ask for one",
  );
}

/**
 * An allocation's state and CPUs from `squeue -h -o "%T %C"`: one line per component of a
 * heterogeneous job, RUNNING when every one is (else the first other state; `""`: none
 * listed), their CPUs summed (undefined when none is said).
 *
 * @example
 * ```ts
 * import { allocationState } from "./preflight.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * deepStrictEqual(allocationState("RUNNING 4\n"), { state: "RUNNING", cpus: 4 });
 * deepStrictEqual(allocationState("RUNNING 2\nRUNNING 3\n"), { state: "RUNNING", cpus: 5 });
 * deepStrictEqual(allocationState("RUNNING 2\nPENDING 3\n").state, "PENDING");
 * deepStrictEqual(allocationState(""), { state: "", cpus: undefined });
 * ```
 */
export function allocationState(text: string): { state: string; cpus: number | undefined } {
  const rows = text.split("\n").map((l) => l.trim().split(/\s+/)).filter((w) => w[0]);
  const state = rows.find(([s]) => s !== "RUNNING")?.[0] ?? (rows.length ? "RUNNING" : "");
  const cpus = rows.reduce((n, [, c]) => n + (Number(c) > 0 ? Number(c) : 0), 0);
  return { state, cpus: cpus > 0 ? cpus : undefined };
}

/** What preflight learns of the partitions. */
export interface Partitions {
  /** Each partition's CPU count (`""`: the default partition). */
  cpus: Map<string, number>;
  /** The default partition's name (`""` when sinfo marks none). */
  default: string;
  /** Each node's CPUs, when sinfo said (`nodeCpusOf`). */
  nodeCpus?: Map<string, number>;
  /** Each partition's nodes (`""`: the default partition's), when sinfo said (`nodesOf`). */
  nodes?: Map<string, Set<string>>;
}

/** Checks that Slurm can run the run's jobs; returns the partitions' CPU counts. */
export async function preflight(
  t: ToolEnv,
  partitions: string[],
  timeoutMs: number,
): Promise<Partitions> {
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
  const found = partitionsOf(info.stdout);
  const byNode = await runTool(t, ["sinfo", "-h", "-N", "-o", "%N %P %c"], timeoutMs);
  if (byNode.code === 0) {
    found.nodes = nodesOf(byNode.stdout);
    found.nodeCpus = nodeCpusOf(byNode.stdout);
  }
  for (const p of partitions) {
    if (p !== "" && !found.cpus.has(p)) {
      fail(
        `partition '${p}' does not exist (partitions: ${
          [...found.cpus.keys()].filter(Boolean).join(", ")
        })`,
      );
    }
  }
  return found;
}

/**
 * `sinfo -h -N -o "%N %P"`'s lines (a node and one partition it is in) as
 * each partition's nodes; the default one (its name ends with `*`) under
 * `""` too. Partitions that share nodes share their CPUs.
 *
 * @example
 * ```ts
 * import { nodesOf } from "./preflight.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const n = nodesOf("n1 main*\nn1 debug\nn2 main*\n");
 * assertEquals([...n.get("main")!], ["n1", "n2"]);
 * assertEquals([...n.get("")!], ["n1", "n2"]);
 * assertEquals([...n.get("debug")!], ["n1"]);
 * ```
 */
export function nodesOf(stdout: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (p: string, node: string) => {
    let set = out.get(p);
    if (!set) out.set(p, set = new Set());
    set.add(node);
  };
  for (const line of stdout.split("\n").filter(Boolean)) {
    const [node, name = ""] = line.trim().split(/\s+/);
    const bare = name.replace(/\*$/, "");
    add(bare, node);
    if (bare !== name) add("", node);
  }
  return out;
}

/**
 * `sinfo -h -N -o "%N %P %c"`'s lines (a node, a partition it is in, its CPUs) as each node's
 * CPUs.
 *
 * @example
 * ```ts
 * import { nodeCpusOf } from "./preflight.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals([...nodeCpusOf("n1 main* 4\nn1 debug 4\nn2 main* 8\n")], [["n1", 4], ["n2", 8]]);
 * ```
 */
export function nodeCpusOf(stdout: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of stdout.split("\n").filter(Boolean)) {
    const [node, , cpus] = line.trim().split(/\s+/);
    if (Number(cpus) > 0) out.set(node, Number(cpus));
  }
  return out;
}

/**
 * The size of each partition's allocation (`parts`: the keys of the partitions the jobs use;
 * `""` the default one), at most `cpus` (the run's `-j`) and the partition's CPUs. Partitions
 * that share nodes share their CPUs: whatever nodes Slurm gives the others' allocations, each
 * one's must still fit, or it waits behind them for ever (they are held to the run's end).
 * Each starts at its part of the CPUs (its own, split among the partitions it shares nodes
 * with); then, while one could not fit beside the others placed on its nodes at worst, the
 * largest of them asks for one CPU less. Without each node's CPUs (`nodeCpus`), the first part
 * only.
 *
 * @example
 * ```ts
 * import { allocationSizes } from "./preflight.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * // a on n1 and n2, b on n2 only (4 CPUs each): a's 4 could all be on n2, where b's 2 would wait.
 * const found = {
 *   default: "a",
 *   cpus: new Map([["", 8], ["b", 4]]),
 *   nodes: new Map([["", new Set(["n1", "n2"])], ["b", new Set(["n2"])]]),
 *   nodeCpus: new Map([["n1", 4], ["n2", 4]]),
 * };
 * assertEquals([...allocationSizes(["", "b"], found, 8)], [["", 2], ["b", 2]]);
 * // Nodes sinfo did not say: the part only.
 * assertEquals([...allocationSizes([""], { default: "a", cpus: new Map([["", 4]]) }, 2)], [["", 2]]);
 * assertEquals([...allocationSizes(["", "b"], { ...found, nodeCpus: new Map() }, 8)], [["", 4], ["b", 2]]);
 * ```
 */
export function allocationSizes(
  parts: string[],
  found: Partitions,
  cpus: number,
): Map<string, number> {
  const nodes = (p: string) => found.nodes?.get(p) ?? new Set<string>();
  const shared = (p: string, q: string) => [...nodes(q)].some((n) => nodes(p).has(n));
  const sizes = new Map<string, number>();
  for (const p of parts) {
    // Its part of the CPUs it shares (none taken from -j where they are enough for all).
    const sharing = parts.filter((q) => q !== p && shared(p, q)).length;
    const part = Math.floor((found.cpus.get(p) || cpus) / (1 + sharing));
    sizes.set(p, Math.max(1, Math.min(cpus, part)));
  }
  const nodeCpus = found.nodeCpus;
  if (!nodeCpus) return sizes;
  const cpusOn = (set: Iterable<string>) =>
    [...set].reduce((n, x) => n + (nodeCpus.get(x) ?? 0), 0);
  const within = (q: string, p: string) => cpusOn([...nodes(q)].filter((n) => nodes(p).has(n)));
  for (let changed = true; changed;) {
    changed = false;
    for (const p of parts) {
      // (A partition sinfo said no node or node's CPUs of keeps its part.)
      if (!nodes(p).size || [...nodes(p)].some((n) => !nodeCpus.has(n))) continue;
      const others = parts.filter((q) => q !== p && shared(p, q));
      const worst = others.reduce((n, q) => n + Math.min(sizes.get(q)!, within(q, p)), 0);
      if (worst + sizes.get(p)! <= cpusOn(nodes(p))) continue;
      const largest = [p, ...others].filter((q) => sizes.get(q)! > 1)
        .sort((x, y) => sizes.get(y)! - sizes.get(x)!)[0];
      if (largest === undefined) continue;
      sizes.set(largest, sizes.get(largest)! - 1);
      changed = true;
    }
  }
  return sizes;
}

/**
 * `sinfo -h -o "%P %C"`'s lines as CPU counts by partition; the default one (its name ends
 * with `*`) counts under `""` too.
 *
 * @example
 * ```ts
 * import { partitionsOf } from "./preflight.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const p = partitionsOf("main* 0/2/0/2\nlong 0/8/0/8\n");
 * assertEquals([p.default, p.cpus.get(""), p.cpus.get("long")], ["main", 2, 8]);
 * ```
 */
export function partitionsOf(stdout: string): Partitions {
  const cpus = new Map<string, number>();
  let def = "";
  for (const line of stdout.split("\n").filter(Boolean)) {
    const [name, counts = ""] = line.trim().split(/\s+/);
    const total = Number(counts.split("/")[3]) || 0;
    const bare = name.replace(/\*$/, "");
    cpus.set(bare, (cpus.get(bare) ?? 0) + total);
    if (bare !== name) {
      cpus.set("", (cpus.get("") ?? 0) + total);
      def = bare;
    }
  }
  return { cpus, default: def };
}

/** How `allocate` reports while it waits. */
export interface AllocateHooks {
  /** Each job id salloc names, as soon as it names it (a Ctrl-C cancels it). */
  onPending(id: string): void;
  warn(msg: string): void;
  /** The salloc child, to stop it. */
  onSpawn?(child: ChildHandle): void;
  /** How often to say that the allocation is still pending (default 60 s). */
  noticeMs?: number;
  /** Bound on the squeue that says why it waits. */
  toolTimeoutMs?: number;
}

/**
 * Asks for an allocation of `cpus` CPUs (`salloc --no-shell`) and waits for its grant (salloc
 * prints "Pending job allocation N", then "Granted job allocation N"); while it waits, says so
 * every `noticeMs` with Slurm's reason, or that the controller does not answer.
 */
export async function allocate(
  t: ToolEnv,
  cpus: number,
  partition: string,
  hooks: AllocateHooks,
  comment?: string,
): Promise<Allocation> {
  let text = "";
  const seen = new Set<string>();
  const notice = pendingNotice(t, cpus, hooks);
  const argv = allocArgv(cpus, partition || undefined, comment);
  const res = await runTool(t, argv, 2 ** 31 - 1, (chunk) => {
    text += chunk;
    for (const id of allocationIds(text)) {
      if (!seen.has(id)) seen.add(id), hooks.onPending(id);
    }
    const a = allocationId(text);
    if (a && !a.granted) notice.pending(a.id);
  }, hooks.onSpawn).finally(() => notice.stop());
  const a = allocationId(res.stderr);
  if (res.code !== 0 || !a?.granted) {
    // Its first lines may be the pending reason ("Required node not available..."): its error.
    const errors = res.stderr.split("\n").filter((l) => /error/i.test(l));
    fail(`salloc failed: ${firstLine(errors.at(-1) ?? res.stderr)}`);
  }
  return { id: a.id, own: true, cpus };
}

/** The warnings of a pending allocation: one when it queues, then one every `noticeMs`. */
function pendingNotice(t: ToolEnv, cpus: number, hooks: AllocateHooks) {
  let id: string | undefined;
  let timer: number | undefined;
  const every = hooks.noticeMs ?? 60_000;
  const since = t.reactor.now();
  const tick = async () => {
    const r = await runTool(
      t,
      ["squeue", "-h", "-j", id!, "-o", "%r"],
      hooks.toolTimeoutMs ?? 10_000,
    );
    if (timer === undefined) return; // granted or given up meanwhile
    const why = r.code === 0 && r.stdout.trim()
      ? `reason: ${r.stdout.trim()}`
      : "the controller does not answer (squeue failed)";
    const s = Math.round((t.reactor.now() - since) / 1000);
    hooks.warn(`executor slurm: still waiting for allocation ${id} after ${s} s (${why})`);
    timer = t.reactor.setTimer(every, () => void tick());
  };
  return {
    pending(got: string) {
      if (id !== undefined) return;
      id = got;
      hooks.warn(`executor slurm: waiting for an allocation of ${cpus} CPUs (job ${id})`);
      timer = t.reactor.setTimer(every, () => void tick());
    },
    stop() {
      if (timer !== undefined) t.reactor.clearTimer(timer);
      timer = undefined;
    },
  };
}

/**
 * The `--comment` of jx's allocations: which process asked for it, so that a later run can
 * tell one left behind by a jx that was killed (`kill -9`) and could not release it.
 */
export function ownerComment(): string {
  return `jx pid ${pid()} on ${host()}`;
}

/**
 * Warnings for this user's allocations that a jx on this host asked for and that outlived it
 * (its pid is gone) and are still held: Slurm keeps an allocation without a time limit until
 * it is cancelled. One cancelled already and still completing (after a controller restart, for
 * tens of seconds) needs no `scancel`.
 */
export async function leftovers(t: ToolEnv, timeoutMs: number): Promise<string[]> {
  // Held: pending, running or suspended; one completing (cancelled already) goes by itself.
  const states = ["-t", "PENDING,CONFIGURING,RUNNING,SUSPENDED"];
  const argv = ["squeue", "--me", "-h", "-n", "jx", ...states, "-o", "%i %k"];
  const r = await runTool(t, argv, timeoutMs);
  if (r.code !== 0) return [];
  const out: string[] = [];
  for (const line of r.stdout.split("\n")) {
    const m = /^(\d+) jx pid (\d+) on (\S+)$/.exec(line.trim());
    if (!m || m[3] !== host() || alive(Number(m[2]))) continue;
    out.push(
      `executor slurm: allocation ${m[1]} of an earlier jx (pid ${m[2]}, gone) is still held; ` +
        `release it with: scancel ${m[1]}`,
    );
  }
  return out;
}

/**
 * This user's allocations that this jx asked for (its `ownerComment`), pending or granted: what
 * a salloc that had to be killed may have left queued before it named its id.
 */
export async function ownAllocations(t: ToolEnv, timeoutMs: number): Promise<string[]> {
  const r = await runTool(t, ["squeue", "--me", "-h", "-n", "jx", "-o", "%i %k"], timeoutMs);
  if (r.code !== 0) return [];
  const mine = ownerComment();
  return r.stdout.split("\n").map((l) => l.trim()).filter((l) => l.endsWith(` ${mine}`))
    .map((l) => l.slice(0, l.indexOf(" ")));
}

/** Whether process `p` exists (EPERM: it does, another user's). */
function alive(p: number): boolean {
  try {
    sendSignal(p, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code !== "ESRCH";
  }
}
