/**
 * The processes that hold a job's output pipe open: found by the pipe's
 * inode in `/proc/PID/fd` (a link reads `pipe:[INODE]`), whatever their
 * process group. A child that left the job's group (`setsid cmd &`) and
 * outlived its parent is linked to the job by nothing else: its parent is
 * init (or a subreaper) by then, so `descendants.ts` cannot find it, and no
 * signal to the job's group reaches it. Only the epoll reactor can ask: it
 * holds the pipes' read ends (the portable reactor's runtime keeps them).
 *
 * A holder is a process of jx's own user (its real uid) other than jx, that
 * has the pipe open for writing (`/proc/PID/fdinfo/FD`'s flags), checked
 * again just before each signal: no other process is ever signalled.
 *
 * @module
 */
import { listDir, readLink } from "../runtime/files.ts";
import { pid as ownPid, readTextSync, sendSignal } from "../runtime/mod.ts";
import { myUid } from "../runtime/owned.ts";
import { procStat } from "./descendants.ts";

/**
 * What jx's own `fd` is, when it is a pipe: its link text, `pipe:[INODE]`
 * (undefined otherwise, or when `/proc` cannot be read).
 *
 * @example
 * ```ts
 * import { pipeOf } from "./pipe_holders.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(pipeOf(-1), undefined);
 * ```
 */
export function pipeOf(fd: number): string | undefined {
  if (fd < 0) return undefined;
  try {
    const link = readLink(`/proc/self/fd/${fd}`);
    return link.startsWith("pipe:[") ? link : undefined;
  } catch {
    return undefined;
  }
}

/** A process's open pipe: where it is (`/proc/PID/fd/FD`). */
interface Open {
  pid: number;
  fd: string;
}

/** Every pipe open in other processes that jx may look into, read once per turn of the event loop. */
let cached: Map<string, Open[]> | undefined;

function pipeTable(): Map<string, Open[]> {
  if (cached) return cached;
  cached = readPipes();
  queueMicrotask(() => cached = undefined);
  return cached;
}

/** Each pipe (`pipe:[INODE]`) with the processes that have it open; another user's are unreadable. */
function readPipes(): Map<string, Open[]> {
  const table = new Map<string, Open[]>();
  const me = String(ownPid());
  let names: string[];
  try {
    names = listDir("/proc").map((e) => e.name).filter((n) => /^\d+$/.test(n) && n !== me);
  } catch {
    return table;
  }
  for (const name of names) {
    let fds: string[];
    try {
      fds = listDir(`/proc/${name}/fd`).map((e) => e.name);
    } catch {
      continue; // gone, or another user's
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readLink(`/proc/${name}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!link.startsWith("pipe:[")) continue;
      const list = table.get(link);
      if (list) list.push({ pid: Number(name), fd });
      else table.set(link, [{ pid: Number(name), fd }]);
    }
  }
  return table;
}

/** Whether `o` is still `pipe`, open for writing, in a process of jx's user. */
function holds(o: Open, pipe: string): boolean {
  try {
    if (readLink(`/proc/${o.pid}/fd/${o.fd}`) !== pipe) return false;
    const flags = /^flags:\s*([0-7]+)/m.exec(readTextSync(`/proc/${o.pid}/fdinfo/${o.fd}`));
    if (!flags || (parseInt(flags[1], 8) & 3) !== 1) return false; // O_WRONLY: the write end
    const uid = /^Uid:\s*(\d+)/m.exec(readTextSync(`/proc/${o.pid}/status`));
    return !!uid && Number(uid[1]) === myUid();
  } catch {
    return false; // gone meanwhile
  }
}

/** A process holding a job's output pipe open (`pipeHolders`). */
export interface Holder {
  pid: number;
  /** Its process group. */
  pgrp: number;
  /** Its session (a job's process starts one of its own: its pid). */
  session: number;
  /** Where it holds one of the pipes: `/proc/PID/fd/FD`'s pipe (checked again before a signal). */
  at: Open & { pipe: string };
}

/**
 * The processes of jx's user, jx aside, that hold the write end of one of
 * `pipes` (each `pipe:[INODE]`, from `pipeOf`), one entry per process.
 *
 * @example
 * ```ts
 * import { pipeHolders } from "./pipe_holders.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(pipeHolders([]), []);
 * ```
 */
export function pipeHolders(pipes: string[]): Holder[] {
  if (!pipes.length) return [];
  const table = pipeTable();
  const out = new Map<number, Holder>();
  for (const pipe of pipes) {
    for (const o of table.get(pipe) ?? []) {
      if (out.has(o.pid) || !holds(o, pipe)) continue;
      const st = procStat(String(o.pid));
      if (st && st.state !== "Z") {
        out.set(o.pid, { pid: o.pid, pgrp: st.pgrp, session: st.session, at: { ...o, pipe } });
      }
    }
  }
  return [...out.values()];
}

/**
 * Sends `signal` to `h`, after checking once more that it holds the pipe it
 * was found holding (its pid may have ended and been taken by another
 * process since); false when it no longer did.
 *
 * @example
 * ```ts
 * import { signalHolder } from "./pipe_holders.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const gone = { pid: 0, pgrp: 0, session: 0, at: { pid: 0, fd: "1", pipe: "pipe:[1]" } };
 * assertEquals(signalHolder(gone, "SIGTERM"), false);
 * ```
 */
export function signalHolder(h: Holder, signal: string): boolean {
  if (h.pid <= 1 || !holds(h.at, h.at.pipe)) return false;
  try {
    sendSignal(h.pid, signal);
    return true;
  } catch {
    return false; // ESRCH: it has exited
  }
}

/**
 * A process's name, from `/proc/PID/comm` (`?` when it cannot be read), for
 * jx's lines about it.
 *
 * @example
 * ```ts
 * import { processName } from "./pipe_holders.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(processName(0), "?");
 * ```
 */
export function processName(pid: number): string {
  try {
    return readTextSync(`/proc/${pid}/comm`).trim() || "?";
  } catch {
    return "?";
  }
}
