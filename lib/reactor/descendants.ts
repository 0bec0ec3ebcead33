/**
 * The process groups below a job's group: processes descended from it that
 * live in groups of their own, as a nested jx's jobs do (each is the leader
 * of its own group, in a session of its own). A SIGKILL to the job's group
 * kills that jx before it can stop them; their groups, found first, get the
 * SIGKILL too, as a make's recipes (in make's own group) would.
 *
 * @module
 */
import { readTextSync } from "../runtime/mod.ts";
import { listDir } from "../runtime/files.ts";

type Table = { pid: number; ppid: number; pgrp: number; state: string }[];

/** The table read in this turn of the event loop: a second Ctrl-C kills every job in one turn. */
let cached: Table | undefined;

/** Each process's parent and group, from /proc (empty where /proc cannot be read). */
function processTable(): Table {
  if (cached) return cached;
  cached = readTable();
  queueMicrotask(() => cached = undefined);
  return cached;
}

/** A read of /proc costs about 0.1 ms a process on Deno: once per turn, see `processTable`. */
function readTable(): Table {
  const out: Table = [];
  let names: string[];
  try {
    names = listDir("/proc").map((e) => e.name).filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  for (const name of names) {
    const st = procStat(name);
    if (st) out.push({ pid: Number(name), ppid: st.ppid, pgrp: st.pgrp, state: st.state }); // else gone meanwhile
  }
  return out;
}

/**
 * The state letter, parent, process group and session of `/proc/PID/stat` (undefined: no such
 * process).
 *
 * @example
 * ```ts
 * import { procStat } from "./descendants.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(procStat("0"), undefined);
 * ```
 */
export function procStat(
  pid: string,
): { state: string; ppid: number; pgrp: number; session: number } | undefined {
  try {
    const stat = readTextSync(`/proc/${pid}/stat`);
    // After the command's ")": state, ppid, pgrp, session.
    const [state, ppid, pgrp, session] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state, ppid: Number(ppid), pgrp: Number(pgrp), session: Number(session) };
  } catch {
    return undefined;
  }
}

/**
 * The groups (other than `pgid`) of every process descended from a member
 * of group `pgid`, found through the parent links of /proc.
 *
 * @example
 * ```ts
 * import { groupsBelow } from "./descendants.ts";
 * // e.g. [4250, 4251]: the groups of a nested jx's two running jobs
 * groupsBelow(4242);
 * ```
 */
export function groupsBelow(pgid: number): number[] {
  const table = processTable();
  const children = new Map<number, number[]>();
  for (const p of table) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const groupOf = new Map(table.map((p) => [p.pid, p.pgrp]));
  const todo = table.filter((p) => p.pgrp === pgid).map((p) => p.pid);
  const seen = new Set(todo);
  const groups = new Set<number>();
  while (todo.length) {
    for (const c of children.get(todo.pop()!) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      todo.push(c);
      const g = groupOf.get(c)!;
      if (g !== pgid && g > 1) groups.add(g);
    }
  }
  return [...groups];
}

/**
 * The live processes of group `pgid` now (a fresh read of /proc; a zombie
 * that its parent has yet to reap is not one), in pid order.
 *
 * @example
 * ```ts
 * import { groupMembers } from "./descendants.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(groupMembers(2 ** 22 + 1), []); // above any pid_max: no such group
 * ```
 */
export function groupMembers(pgid: number): number[] {
  return readTable().filter((p) => p.pgrp === pgid && !/^[ZX]/.test(p.state)).map((p) => p.pid)
    .sort((a, b) => a - b);
}

/** The signals that also go to the groups below a child's. */
const DOWN = new Set(["SIGKILL", "SIGSTOP", "SIGCONT"]);

/**
 * The groups below `pgid` that `signal` must reach too (`groupsBelow`): for SIGKILL (its jobs
 * would outlive a nested jx), SIGSTOP and SIGCONT (a Ctrl-Z: a nested jx cannot catch SIGSTOP);
 * none for the signals a nested jx handles itself.
 *
 * @example
 * ```ts
 * import { groupsReached } from "./descendants.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(groupsReached(4242, "SIGTERM"), []);
 * ```
 */
export function groupsReached(pgid: number, signal: string): number[] {
  return DOWN.has(signal) ? groupsBelow(pgid) : [];
}
