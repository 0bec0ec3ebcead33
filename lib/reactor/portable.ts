/**
 * The portable reactor: processes and pipes through the runtime's own APIs
 * (`Deno.Command` on Deno, `Bun.spawn` on Bun), timers through `setTimeout`,
 * signals through the runtime's listeners.
 *
 * @module
 */
import { bun, deno, existsSync, isBun, isDirSync, isFileSync, sendSignal } from "../runtime/mod.ts";
import { bunWatchAvailable, createBunWatcher } from "./bun_watcher.ts";
import { jobserverFds } from "./bun_fds.ts";
import { lossyText } from "../runtime/utf8.ts";
import { groupsBelow, groupsReached } from "./descendants.ts";
import { createTimers, onSignal } from "./timers.ts";
import type { ChildHandle, ExitStatus, Reactor, SpawnRequest, StreamName } from "./types.ts";

/** Signal numbers on Linux x86_64, for statuses reported as numbers. */
const SIGNAL_NAMES: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  5: "SIGTRAP",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  10: "SIGUSR1",
  11: "SIGSEGV",
  12: "SIGUSR2",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
  17: "SIGCHLD",
  18: "SIGCONT",
  19: "SIGSTOP",
  20: "SIGTSTP",
  24: "SIGXCPU",
  25: "SIGXFSZ",
};

/** The name of a signal given as a number or a name. */
export function signalName(sig: number | string | null | undefined): string | null {
  if (sig === null || sig === undefined) return null;
  if (typeof sig === "number") return SIGNAL_NAMES[sig] ?? `SIG${sig}`;
  return sig.startsWith("SIG") ? sig : `SIG${sig}`;
}

/**
 * Sends `signal` to process group `pid`, ignoring a group that is already
 * gone. Falls back to the pid alone when the group does not exist yet (a
 * child killed before its `setsid` ran). A SIGKILL, and a Ctrl-Z's SIGSTOP
 * and SIGCONT, go to the groups below it too (a nested jx's jobs, which that
 * jx, killed or stopped by SIGSTOP, cannot signal itself: `groupsBelow`),
 * found before it is sent. `seen` (the child's own) keeps the groups below
 * found at a first signal (a timeout's SIGTERM): the SIGKILL after the grace
 * reaches them too, though the shell that linked them to the job's group may
 * have died of that SIGTERM (a `setsid` child that ignores it would hold the
 * job's output, and so the job and the run, open).
 */
export function killGroup(pid: number, signal: string, seen?: Set<number>): void {
  const name = signalName(signal)!;
  const below = groupsReached(pid, name);
  if (seen && name !== "SIGSTOP" && name !== "SIGCONT") {
    for (const g of name === "SIGKILL" ? [] : groupsBelow(pid)) seen.add(g);
  }
  for (const g of [pid, ...below]) {
    try {
      sendSignal(-g, name);
    } catch {
      try {
        sendSignal(g, name);
      } catch {
        // ESRCH: it has exited.
      }
    }
  }
  if (name !== "SIGKILL" || !seen) return;
  for (const g of seen) {
    try {
      if (!below.includes(g)) sendSignal(-g, name); // the group only: its pid may be another's now
    } catch {
      // ESRCH: it has exited.
    }
  }
  seen.clear();
}

/**
 * `setsid(1)`, when the machine has it. On Deno, `detached: true` makes the
 * runtime fork() the whole jx process for every child (about 3 ms of system
 * time each, measured in bench/RESULTS.md), while a plain spawn uses vfork;
 * starting `setsid CMD` that way costs one extra exec and gives the same new
 * session and process group.
 */
const SETSID = ["/usr/bin/setsid", "/bin/setsid"].find(isFileSync);

async function pump(
  stream: ReadableStream<Uint8Array> | null | undefined,
  name: StreamName,
  onOutput: SpawnRequest["onOutput"],
): Promise<void> {
  if (!stream) return;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value.length) onOutput(name, value);
    }
  } catch {
    // A read error ends the stream; the exit status still comes.
  } finally {
    reader.releaseLock();
  }
}

/**
 * Spawns `req` with jx's stdin, stdout and stderr and in jx's process group
 * (`SpawnRequest.terminal`), on either runtime; the epoll reactor uses it too.
 */
export function spawnTerminal(req: SpawnRequest): ChildHandle {
  let child;
  try {
    child = isBun
      ? bun().spawn({
        cmd: req.argv.map(lossyText),
        cwd: req.cwd,
        env: req.env,
        stdio: ["inherit", "inherit", "inherit", ...(jobserverFds(req.env)?.fds ?? [])],
      })
      : new (deno().Command)(lossyText(req.argv[0]), {
        args: req.argv.slice(1).map(lossyText),
        cwd: req.cwd,
        env: req.env,
        clearEnv: true,
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
  } catch (e) {
    return failedStart(req, e);
  }
  const pid: number = child.pid;
  req.onStart?.(pid);
  const ended = isBun
    ? child.exited.then(() => ({ code: child.exitCode, signal: child.signalCode }))
    : child.status;
  ended.then((st: { code: number | null; signal: number | string | null }) => {
    const sig = signalName(st.signal);
    req.onExit({ code: sig ? null : st.code, signal: sig });
  }, (e: unknown) => req.onExit({ code: null, signal: null, error: String(e) }));
  const kill = (sig: string) => {
    try {
      sendSignal(pid, signalName(sig)!);
    } catch { /* gone */ }
  };
  return { pid, kill, write() {}, closeStdin() {} };
}

/**
 * Whether no file is where setsid(1)'s execvp would look for `req.argv[0]`
 * (a name with a slash from the child's cwd, another on its PATH): Deno would
 * start setsid, which says so and exits 127, where a spawn of the command
 * itself fails to start (as on the other backends).
 */
function notFound(req: SpawnRequest): boolean {
  const cmd = req.argv[0] ?? "";
  const at = (dir: string) =>
    dir.startsWith("/") ? `${dir}/${cmd}` : `${req.cwd}/${dir || "."}/${cmd}`;
  if (cmd.includes("/")) return !isFileSync(cmd.startsWith("/") ? cmd : `${req.cwd}/${cmd}`);
  return !cmd || !(req.env.PATH ?? "/bin:/usr/bin").split(":").some((dir) => isFileSync(at(dir)));
}

function spawnDeno(req: SpawnRequest): ChildHandle {
  const D = deno();
  let child;
  if (SETSID && notFound(req)) return failedStart(req, { code: "ENOENT" });
  const argv = (SETSID ? [SETSID, ...req.argv] : req.argv).map(lossyText);
  try {
    child = new D.Command(argv[0], {
      args: argv.slice(1),
      cwd: req.cwd,
      env: req.env,
      clearEnv: true,
      stdin: req.stdin === "pipe" ? "piped" : "null",
      stdout: req.inheritOutput ? "inherit" : "piped",
      stderr: req.inheritOutput ? "inherit" : "piped",
      detached: !SETSID,
    }).spawn();
  } catch (e) {
    return failedStart(req, e);
  }
  const pid: number = child.pid;
  req.onStart?.(pid);
  // Deno throws on reading `child.stdout` when it was not piped.
  const piped = !req.inheritOutput;
  Promise.all([
    piped && pump(child.stdout, "stdout", req.onOutput),
    piped && pump(child.stderr, "stderr", req.onOutput),
    child.status,
  ]).then(([, , st]: [unknown, unknown, { code: number; signal: string | null }]) => {
    req.onExit({ code: st.signal ? null : st.code, signal: signalName(st.signal) });
  }, (e: unknown) => req.onExit({ code: null, signal: null, error: String(e) }));
  const seen = new Set<number>();
  return {
    pid,
    kill: (sig) => killGroup(pid, sig, seen),
    ...denoStdin(req.stdin === "pipe" ? child.stdin : null),
  };
}

/** Writing to a Deno child's piped stdin: the stream keeps the order; errors drop the rest. */
function denoStdin(
  stream: WritableStream<Uint8Array> | null | undefined,
): Pick<ChildHandle, "write" | "closeStdin" | "stdinPending" | "stdinOpen"> {
  if (!stream) {
    return {
      write() {},
      closeStdin() {},
      stdinPending: () => 0,
      stdinOpen: () => false,
    };
  }
  const writer = stream.getWriter();
  const enc = new TextEncoder();
  let broken = false;
  let closing = false;
  let pending = 0;
  const fail = () => {
    broken = true;
    pending = 0;
  };
  return {
    write(data) {
      if (broken || closing) return;
      const bytes = typeof data === "string" ? enc.encode(data) : data.slice();
      if (!bytes.length) return;
      pending += bytes.length;
      writer.write(bytes).then(() => pending -= bytes.length, fail);
    },
    stdinPending: () => pending,
    stdinOpen: () => !broken && !closing,
    closeStdin() {
      if (closing) return;
      closing = true;
      writer.close().catch(fail);
    },
  };
}

function spawnBun(req: SpawnRequest): ChildHandle {
  let child;
  // Bun closes every fd a child is not given: a jobserver pipe named in MAKEFLAGS goes at 3, 4.
  const pass = jobserverFds(req.env);
  const stdin = req.stdin === "pipe" ? "pipe" : "ignore";
  const output = req.inheritOutput ? "inherit" : "pipe";
  try {
    child = bun().spawn({
      cmd: req.argv.map(lossyText),
      cwd: req.cwd,
      env: pass?.env ?? req.env,
      stdin,
      stdout: output,
      stderr: output,
      ...(pass ? { stdio: [stdin, output, output, ...pass.fds] } : {}),
      detached: true,
    });
  } catch (e) {
    return failedStart(req, e);
  }
  const pid: number = child.pid;
  req.onStart?.(pid);
  Promise.all([
    pump(child.stdout, "stdout", req.onOutput),
    pump(child.stderr, "stderr", req.onOutput),
    child.exited,
  ]).then(() => {
    const sig = signalName(child.signalCode);
    req.onExit({ code: sig ? null : child.exitCode, signal: sig });
  }, (e: unknown) => req.onExit({ code: null, signal: null, error: String(e) }));
  const seen = new Set<number>();
  return { pid, kill: (sig) => killGroup(pid, sig, seen), ...bunStdin(child.stdin) };
}

/** Writing to a Bun child's piped stdin (a FileSink, which buffers and never blocks). */
// deno-lint-ignore no-explicit-any
function bunStdin(sink: any): Pick<ChildHandle, "write" | "closeStdin" | "stdinOpen"> {
  if (!sink || typeof sink.write !== "function") {
    return { write() {}, closeStdin() {}, stdinOpen: () => false };
  }
  let done = false;
  const guard = (fn: () => unknown) => {
    try {
      const r = fn();
      // flush() and end() may return a promise that rejects on a closed pipe.
      if (r && typeof (r as Promise<unknown>).catch === "function") {
        (r as Promise<unknown>).catch(() => done = true);
      }
    } catch {
      done = true;
    }
  };
  return {
    write(data) {
      if (done) return;
      guard(() => sink.write(data));
      guard(() => sink.flush());
    },
    stdinOpen: () => !done,
    closeStdin() {
      if (done) return;
      done = true;
      guard(() => sink.end());
    },
  };
}

/** Why a spawn failed, worded as the epoll reactor words it (strerror, in lower case). */
const SPAWN_ERRORS: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EACCES: "permission denied",
};

/**
 * A failed start in words: `cannot start 'ARGV0' in CWD: WHY`, or, when the working folder is
 * what is missing (a job's `cwd:` not made yet, or a file), that it is: the spawn's ENOENT
 * reads as though the program were missing.
 *
 * @example
 * ```ts
 * import { startError } from "./portable.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(
 *   startError("/bin/sh", "/no/such/dir", "no such file or directory"),
 *   "cannot start '/bin/sh': its working directory /no/such/dir does not exist",
 * );
 * assertEquals(startError("nope", "/", "no such file or directory"), "cannot start 'nope' in /: no such file or directory");
 * ```
 */
export function startError(argv0: string, cwd: string, why: string): string {
  if (/^(no such file or directory|not a directory)$/.test(why) && !isDirSync(cwd)) {
    const what = existsSync(cwd) ? "is not a directory" : "does not exist";
    return `cannot start '${argv0}': its working directory ${cwd} ${what}`;
  }
  return `cannot start '${argv0}' in ${cwd}: ${why}`;
}

function failedStart(req: SpawnRequest, e: unknown): ChildHandle {
  const err = e as { code?: string; message?: string };
  let msg = err.message ?? String(e);
  const why = err.code !== undefined && Object.hasOwn(SPAWN_ERRORS, err.code)
    ? SPAWN_ERRORS[err.code]
    : /not found|No such file/i.test(msg)
    ? SPAWN_ERRORS.ENOENT
    : undefined;
  if (why) msg = startError(req.argv[0], req.cwd, why);
  const status: ExitStatus = { code: null, signal: null, error: msg };
  queueMicrotask(() => req.onExit(status));
  return { pid: 0, kill: () => {}, write: () => {}, closeStdin: () => {} };
}

/**
 * Creates the portable reactor for the current runtime.
 *
 * @example
 * ```ts
 * import { createPortableReactor } from "./portable.ts";
 * const r = createPortableReactor();
 * r.spawn({ argv: ["true"], cwd: "/", env: {}, onOutput() {}, onExit: (s) => console.log(s) });
 * ```
 */
export function createPortableReactor(): Reactor {
  const plain = isBun ? spawnBun : spawnDeno;
  // The children not reported exited yet: killed at close, as the epoll reactor's are.
  const live = new Set<ChildHandle>();
  let closed = false;
  const spawn = (req: SpawnRequest): ChildHandle => {
    if (closed) {
      return failedStart(req, {
        message: `cannot start '${req.argv[0]}' in ${req.cwd}: the reactor is closed`,
      });
    }
    let exited = false;
    const onExit = (status: ExitStatus) => {
      exited = true;
      live.delete(h);
      req.onExit(status);
    };
    const tracked = { ...req, onExit };
    const h = req.terminal ? spawnTerminal(tracked) : plain(tracked);
    if (!exited && h.pid > 0) live.add(h);
    return h;
  };
  const { setTimer, clearTimer, stopSelf, clearAll } = createTimers();
  // On Bun, fd readiness (the jobserver, inotify) through an epoll set waited on in a Worker;
  // Deno has the epoll reactor for that.
  const watcher = isBun && bunWatchAvailable() ? createBunWatcher() : undefined;
  return {
    name: "portable",
    now: () => performance.now(),
    spawn,
    ...(watcher ? { watch: (fd: number, cb: () => void) => watcher.watch(fd, cb) } : {}),
    setTimer,
    clearTimer,
    onSignal,
    stopSelf,
    close() {
      closed = true;
      clearAll();
      watcher?.close();
      for (const h of live) h.kill("SIGKILL"); // their exits follow, as SIGKILL
    },
  };
}
