/**
 * A module's process group after its leader has gone: whether a process of
 * it still lives (a daemon the leader forked, or members a stop has not
 * ended yet), and signals to it. A group whose id is still in use cannot be
 * reused by another process, so signalling it is safe while it lives.
 *
 * @module
 */
import { sendSignal } from "../runtime/mod.ts";
import { listDir } from "../runtime/files.ts";
import { groupsReached, procStat } from "../reactor/mod.ts";

/** How often a followed group is checked for being empty. */
export const GROUP_POLL_MS = 200;

/**
 * Whether process group `pgid` has a live member. A zombie (exited, not yet
 * reaped by its new parent) does not count, so `/proc` is read when the
 * kernel says the group exists.
 *
 * @example
 * ```ts
 * import { groupAlive } from "./group.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * // setsid: the child leads a process group of its own, numbered by its pid
 * const child = new Deno.Command("setsid", {
 *   args: ["sh", "-c", "echo up; exec sleep 30"],
 *   stdout: "piped",
 * }).spawn();
 * const out = child.stdout.getReader();
 * // "up": setsid has made the group
 * await out.read();
 * assertEquals(groupAlive(child.pid), true);
 * child.kill("SIGTERM");
 * await child.status;
 * await out.cancel();
 * assertEquals(groupAlive(child.pid), false);
 * ```
 */
export function groupAlive(pgid: number): boolean {
  if (pgid <= 1) return false;
  try {
    sendSignal(-pgid, 0);
  } catch (e) {
    if ((e as { code?: string }).code !== "EPERM") return false;
  }
  let names: string[];
  try {
    names = listDir("/proc").map((e) => e.name);
  } catch {
    return true; // no /proc: the kernel's word
  }
  for (const name of names) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    const st = procStat(name);
    if (st && st.pgrp === pgid && st.state !== "Z" && st.state !== "X") return true;
  }
  return false;
}

/**
 * Whether a module's processes are still there: its leader `pid` (not a
 * zombie: exited, its end not yet seen), else a live member of its group
 * (a daemon). The leader first, one small read, for a check made often.
 *
 * @example
 * ```ts
 * import { leaderOrGroupAlive } from "./group.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const child = new Deno.Command("sleep", { args: ["30"] }).spawn();
 * assertEquals(leaderOrGroupAlive(child.pid), true);
 * child.kill("SIGKILL");
 * await child.status;
 * assertEquals(leaderOrGroupAlive(child.pid), false);
 * ```
 */
export function leaderOrGroupAlive(pid: number): boolean {
  const st = procStat(String(pid));
  if (st && st.state !== "Z" && st.state !== "X") return true;
  return groupAlive(pid);
}

/**
 * Sends `signal` to every process of group `pgid`; nothing if it is gone. A SIGKILL, SIGSTOP or
 * SIGCONT goes to the groups below it too (a nested jx's jobs, each in a group of its own:
 * `groupsReached`), as a job's does.
 */
export function signalGroup(pgid: number, signal: string): void {
  if (pgid <= 1) return;
  const below = groupsReached(pgid, signal);
  for (const g of [pgid, ...below]) {
    try {
      sendSignal(-g, signal);
    } catch { /* gone */ }
  }
}
