/**
 * One `jx run` at a time per directory: an exclusive `flock(2)` on
 * `.jx/lock`. The kernel releases it when its holder dies, however it dies
 * (`kill -9` included), so a lock is never stale and a pid that the system
 * reused for another process never makes jx wait. The file holds the
 * holder's pid and command (`1234 watch`) for the waiting message only; it
 * is never removed (removing
 * a locked file lets a third run lock a new file beside a waiting one).
 *
 * Deno's `FsFile.tryLockSync` is `flock(LOCK_EX | LOCK_NB)`; on Bun the
 * same call goes through `bun:ffi`. Descriptors are close-on-exec: jobs do
 * not inherit the lock.
 *
 * @module
 */
import { nodeFs, pid, readTextSync } from "../runtime/fs.ts";
import { deno, isDeno, parentPid, writeAll } from "../runtime/mod.ts";
import { ioReason, JxInputError } from "../runtime/errors.ts";
import { bunLibc } from "../runtime/libc_bun.ts";
import { openRw } from "../runtime/bun_fs.ts";
import { checkStatePath, stateDir, stderrWarn, type Warn } from "./guard.ts";

// deno-lint-ignore no-explicit-any
const D: any = isDeno ? deno() : undefined;

/** A held lock: `release` closes it (the kernel drops the lock). */
export interface Lock {
  release(): void;
}

const LOCK_EX = 2, LOCK_NB = 4;

/** libc's flock through the one `bun:ffi` libc (runtime/libc_bun.ts). */
function flockBun(fd: number, op: number): number {
  const libc = bunLibc();
  if (!libc) throw new Error("flock: libc.so.6 could not be opened through bun:ffi");
  return libc.flock(fd, op);
}

/** Opens the lock file and tries to lock it: the lock, or undefined when another holds it. */
function tryFlock(path: string, command: string): Lock | undefined {
  const me = new TextEncoder().encode(`${pid()} ${command}\n`);
  if (D) {
    const f = D.openSync(path, { read: true, write: true, create: true, mode: 0o644 });
    if (!f.tryLockSync(true)) {
      f.close();
      return undefined;
    }
    try {
      // Written over the last holder's line, then cut to its length: a truncation to 0 first
      // frees the file's block, 0.2-0.5 ms on ext4, a twentieth of a one-job no-op.
      f.writeSync(me);
      f.truncateSync(me.length);
    } catch { /* a full disk: the lock holds all the same, its holder unnamed (pid 0) */ }
    return { release: () => f.close() };
  }
  // Bun: libc's calls when it has them (node:fs costs more to load than this whole path).
  const libc = bunLibc(), fast = libc ? openRw(path, 0o644) : undefined;
  if (libc && fast !== undefined) {
    if (libc.flock(fast, LOCK_EX | LOCK_NB) !== 0) {
      libc.close(fast);
      return undefined;
    }
    if (libc.write(fast, me, me.length) === me.length) libc.ftruncate(fast, me.length); // as above
    return { release: () => void libc.close(fast) };
  }
  const fs = nodeFs();
  const c = fs.constants;
  const fd = fs.openSync(path, c.O_RDWR | c.O_CREAT | c.O_NOFOLLOW, 0o644);
  if (flockBun(fd, LOCK_EX | LOCK_NB) !== 0) {
    fs.closeSync(fd);
    return undefined;
  }
  try {
    fs.writeSync(fd, me, 0, me.length, 0);
    fs.ftruncateSync(fd, me.length);
  } catch { /* as on Deno */ }
  return { release: () => fs.closeSync(fd) };
}

/**
 * Tries to take the lock: the lock, or the holder's pid (0 when it has not
 * written it yet) when another live jx holds it. Throws `JxInputError` when
 * `.jx/` or the lock file is a link or another user's.
 *
 * @example
 * ```ts
 * import { tryLock } from "./lock.ts";
 * const got = tryLock("/tmp/project");
 * if (typeof got !== "number") got.release();
 * ```
 */
export function tryLock(
  baseDir: string,
  warn: Warn = stderrWarn,
  command = "run",
): Lock | number {
  let got, path = `${baseDir}/.jx`;
  try {
    path = `${stateDir(baseDir, warn)}/lock`;
    checkStatePath(path, "file", warn);
    got = tryFlock(path, command);
  } catch (e) {
    throw unusable(path, e);
  }
  if (got) return got;
  return lockHolder(baseDir).pid;
}

/**
 * A `.jx/` (`path`) or lock file (`path`) that cannot be made or opened (a
 * read-only folder, a full disk) as bad input (one line), as one jx must not
 * use is, marked `readOnly` on a read-only filesystem: `e` else.
 */
function unusable(path: string, e: unknown): unknown {
  if (e instanceof JxInputError || typeof (e as { code?: unknown })?.code !== "string") return e;
  const error = new JxInputError(`cannot take the run lock: ${path}: ${ioReason(e)}`);
  return Object.assign(error, { readOnly: ioReason(e) === "read-only file system" });
}

/**
 * Who holds (or last held) the lock, as its file says: the pid (0 when not
 * written yet) and the jx command (`run`, `watch`; `run` when unknown).
 */
export function lockHolder(baseDir: string): { pid: number; command: string } {
  let text = "";
  try {
    text = readTextSync(`${baseDir}/.jx/lock`);
  } catch { /* not there */ }
  const [p, command] = text.trim().split(/\s+/);
  return { pid: Number(p) || 0, command: /^[a-z]+$/.test(command ?? "") ? command : "run" };
}

/**
 * Takes `.jx/lock` for `command` (`run`, `watch`), waiting (with one line
 * naming the holder) for another run unless `noWait`. A jx started by a job
 * of the run that holds the lock is refused: it would wait forever. With
 * `unsafe`, a `.jx/` or lock file that jx must not use (a link, another
 * user's) is a warning and no lock, not an error.
 */
export async function takeLock(
  baseDir: string,
  noWait: boolean,
  command = "run",
  unsafe?: (warning: string) => void,
): Promise<{ release(): void } | undefined> {
  let said = false;
  for (;;) {
    let got;
    try {
      got = tryLock(baseDir, undefined, command);
    } catch (e) {
      // On a read-only filesystem no run can write the state: nothing for a lock to guard.
      const readOnly = (e as { readOnly?: boolean }).readOnly === true;
      if (!(e instanceof JxInputError) || !(unsafe || readOnly)) throw e;
      const why = readOnly ? "nothing is recorded" : "another run may start beside this one";
      (unsafe ?? stderrWarn)(`no run lock (${why}): ${e.message}`);
      return undefined;
    }
    if (typeof got !== "number") return got;
    const holder = `jx ${lockHolder(baseDir).command}`;
    if (noWait) {
      throw new JxInputError(
        `another ${holder} is using ${baseDir}/.jx (pid ${got}); not waiting (--no-wait)`,
      );
    }
    if (got && isAncestor(got)) {
      throw new JxInputError(
        `this jx runs inside a job of the ${holder} (pid ${got}) that holds ${baseDir}/.jx/lock: ` +
          "it would wait for itself (one run per directory)",
      );
    }
    if (!said) {
      const watch = holder === "jx watch" ? " (a watch holds the lock until it is stopped)" : "";
      writeAll(2, `jx: waiting for another ${holder} in this directory (pid ${got})${watch}...\n`);
    }
    said = true;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether `pid` is this process's parent, or its parent's, and so on (Linux's /proc). */
function isAncestor(pid: number): boolean {
  let p = parentPid();
  for (let hops = 0; p > 1 && hops < 64; hops++) {
    if (p === pid) return true;
    try {
      const stat = readTextSync(`/proc/${p}/stat`);
      p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      return false;
    }
  }
  return false;
}
