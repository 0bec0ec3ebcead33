/**
 * `jx exec [-j N] -- COMMAND ARGS...`: one command under a fresh GNU make
 * jobserver pool of N slots, jx being the server. The command inherits jx's
 * stdin, stdout and stderr, runs in a process group of its own (jx passes
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT on to it; a Ctrl-Z, SIGTSTP, stops that
 * group, then jx, until `fg` or `bg`): a job of jx's terminal when it has one
 * (reactor/foreground.ts), else in a session of its own; jx exits with its exit
 * code, printing nothing of its own unless something is wrong, once what the
 * command left running in its group is ended (`endGroup`). With a pool,
 * a watchdog (reactor/watchdog.ts) ends the command's process group if jx
 * is killed (`kill -9`) or crashes while it runs.
 *
 * @module
 */
import { spawn as nodeSpawn } from "node:child_process";
import { constants } from "node:os";
import process from "node:process";
import { JxInputError, usageError } from "../runtime/errors.ts";
import {
  badJobsProblem,
  createJobserver,
  type JobserverSlots,
  parseMakeFlags,
  poolProblem,
  withoutJobserver,
} from "../jobserver/mod.ts";
import { DEFAULT_GRACE_MS } from "../graph/duration.ts";
import { C, libc, spawnInSession, strerror } from "../reactor/libc.ts";
import {
  controllingTerminal,
  createEpollReactor,
  epollAvailable,
  groupMembers,
  guardReactor,
  holdGroup,
  killGroup,
  type ListenSignal,
  processName,
  type Reactor,
  stopSignalNow,
  TerminalHandoff,
  terminalStop,
  watchdogDrained,
} from "../reactor/mod.ts";
import {
  dieAtExit,
  envObject,
  escapeControls,
  ignoredAtStart,
  sendSignal,
  writeAll,
} from "../runtime/mod.ts";
import type { Args } from "./args.ts";
import { wantedJobs } from "./slots.ts";
import { lossyText } from "../runtime/utf8.ts";

const SIGNALS: ListenSignal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

/**
 * Runs `args.execArgv` under a pool of `args.jobs` slots; resolves to its
 * exit code (128+N when signal N killed it; 127 when it cannot be found).
 *
 * @example
 * ```ts
 * import { cmdExec } from "./exec.ts";
 * import { parseArgs } from "./args.ts";
 * const code = await cmdExec(parseArgs(["exec", "-j4", "--", "make", "-C", "lib"]));
 * ```
 */
export async function cmdExec(args: Args): Promise<number> {
  const argv = args.execArgv ?? [];
  if (!argv.length) {
    throw usageError("exec", "missing COMMAND");
  }
  const warn = (w: string) => writeAll(2, `jx: warning: ${w}\n`);
  const env = currentEnv();
  // A -j make cannot read (`-jfoo`): the command gets none (`stripJobserver`), said once.
  const mf = parseMakeFlags(env);
  if (mf.badJobs !== undefined) warn(badJobsProblem(mf.source!, mf.badJobs));
  if (args.jobserverStyle === "none") return await runPlain(argv, withoutJobserver(env));
  if (!epollAvailable()) {
    warn(
      "no job-slot pool here (it needs Linux and Deno with FFI); running the command without one",
    );
    return await runPlain(argv, withoutJobserver(env));
  }
  // The command's group is listed with a watchdog while it runs: jx's default grace.
  const reactor = guardReactor(createEpollReactor(), DEFAULT_GRACE_MS);
  let pool: JobserverSlots | undefined;
  try {
    try {
      pool = createJobserver(
        wantedJobs(args),
        args.jobserverStyle === "fifo" ? "fifo" : "pipe",
        reactor,
      );
    } catch (e) {
      if (e instanceof JxInputError) throw e;
      warn(`no job-slot pool (${poolProblem(e)}); running the command without one`);
      return await runPlain(argv, withoutJobserver(env));
    }
    return await runInPool(argv, pool.jobEnv(env, { name: "exec", argv }), reactor);
  } finally {
    const problem = pool?.finish();
    if (problem) warn(problem);
    reactor.close();
    await watchdogDrained(reactor);
  }
}

function currentEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(envObject())) if (typeof v === "string") out[k] = v;
  return out;
}

/**
 * Spawns through posix_spawn, so the pool's R,W descriptors are inherited,
 * with stdio inherited too, then waits on a pidfd in the reactor. When jx
 * has a controlling terminal, the command gets it as a shell's job does
 * (reactor/foreground.ts): a process group of its own in jx's session, made
 * the foreground group when jx's is; otherwise a session of its own.
 */
async function runInPool(
  argv: string[],
  env: Record<string, string>,
  reactor: Reactor,
): Promise<number> {
  let pid = 0;
  let pending: ListenSignal[] = [];
  const forward = (sig: ListenSignal) => pid ? killGroup(pid, sig) : pending.push(sig);
  // Listen first: a signal during the spawn is passed on once the child exists.
  const unlisten = SIGNALS.map((sig) => reactor.onSignal(sig, () => forward(sig)));
  // Under nohup the command keeps a session of its own: as the terminal's foreground group it
  // would get the hangup's SIGHUP (jx cannot pass an ignored signal on as ignored).
  const tty = ignoredAtStart("SIGHUP") ? undefined : controllingTerminal();
  const handoff = tty === undefined ? undefined : new TerminalHandoff(tty);
  // Ctrl-Z (`kill -TSTP`; the terminal's reaches jx only when the command has no terminal): its
  // process group is stopped, then jx; one heard during the spawn waits for the child to exist.
  let suspendLater = false;
  const suspend = () => {
    killGroup(pid, "SIGSTOP");
    if (handoff) handoff.pause(() => reactor.stopSelf());
    else reactor.stopSelf();
    killGroup(pid, "SIGCONT");
  };
  unlisten.push(reactor.onSignal("SIGTSTP", () => pid ? suspend() : (suspendLater = true)));
  try {
    // The command takes the terminal itself before its exec where libc can (a shell's way):
    // else jx gives it after the spawn and continues the command, which a read of the
    // terminal before then stopped; a Ctrl-Z typed at that moment was continued with it.
    const takes = handoff?.spawnAction();
    const { err, pid: spawned } = await spawnInSession(argv, env, takes, !!handoff);
    if (err !== 0) {
      writeAll(
        2,
        `jx: cannot run '${argv[0]}': ${err === 2 ? "command not found" : strerror(err)}\n`,
      );
      return err === 2 ? 127 : 126;
    }
    pid = spawned;
    // Its group (its pid), listed with the watchdog until it has exited.
    const release = holdGroup(reactor, pid);
    handoff?.start(pid);
    if (!takes) killGroup(pid, "SIGCONT"); // stopped by a read of the terminal before it had it
    for (const sig of pending) killGroup(pid, sig);
    pending = [];
    if (suspendLater) suspend();
    // A stop of the command: jx stops with it; but one for a read of the terminal in the
    // background, when a `fg` has brought jx to the foreground since, goes on with the terminal.
    const stopped = (sig: number) =>
      terminalStop(sig) && handoff!.handBack() ? killGroup(pid, "SIGCONT") : suspend();
    const code = await waitExit(pid, reactor, () => handoff?.end(), handoff && stopped);
    await endGroup(pid, argv[0], reactor);
    release();
    return code;
  } finally {
    handoff?.end();
    for (const u of unlisten) u();
  }
}

/** Between the SIGTERM to what the command left in its group and the SIGKILL. */
const LEFT_GRACE_MS = DEFAULT_GRACE_MS;

/**
 * Once the command has exited: the processes it left in its process group
 * (`sh -c 'server &'`, a make's recipe after a failure), which would run on,
 * orphaned, with the pool's descriptors, are ended as a job's group is at
 * a stop: SIGTERM (and SIGCONT), SIGKILL to those left after the grace, or
 * at once on a signal to jx meanwhile. One warning line names them.
 * Resolves when none is left (or once the SIGKILL has gone).
 */
function endGroup(pgid: number, name: string, reactor: Reactor): Promise<void> {
  // The usual case, an empty group, without reading all of /proc.
  const left = groupExists(pgid) ? groupMembers(pgid) : [];
  if (!left.length) return Promise.resolve();
  // Named before the signal, which may end them.
  const named = left.slice(0, 3).map((p) => `${p} (${processName(p)})`);
  killGroup(pgid, "SIGTERM");
  killGroup(pgid, "SIGCONT"); // a stopped process acts on the SIGTERM once continued
  sayLeft(name, named, left.length);
  return new Promise((resolve) => {
    const deadline = reactor.now() + LEFT_GRACE_MS;
    let timer = 0;
    const finish = (kill: boolean) => {
      if (kill) killGroup(pgid, "SIGKILL");
      reactor.clearTimer(timer);
      for (const u of unlisten) u();
      resolve();
    };
    const look = () => {
      if (!groupMembers(pgid).length) finish(false);
      else if (reactor.now() >= deadline) finish(true);
      else timer = reactor.setTimer(50, look);
    };
    const unlisten = SIGNALS.map((sig) => reactor.onSignal(sig, () => finish(true)));
    timer = reactor.setTimer(50, look);
  });
}

/**
 * The warning of `endGroup`. Not a reason to fail: jx's status stays the command's even when
 * stderr cannot take the line (a full device).
 */
function sayLeft(name: string, named: string[], count: number): void {
  const more = count > named.length ? ` and ${count - named.length} more` : "";
  const what = count === 1 ? "a process" : `${count} processes`;
  try {
    writeAll(
      2,
      `jx: warning: exec: '${escapeControls(lossyText(name))}' exited and left ${what} of its ` +
        `process group running, pid ${escapeControls(named.join(", "))}${more}: sent SIGTERM ` +
        `(SIGKILL after ${LEFT_GRACE_MS / 1000}s)\n`,
    );
  } catch { /* stderr cannot take it: the processes are ended all the same */ }
}

/** Whether process group `pgid` has a process (a zombie counts). */
function groupExists(pgid: number): boolean {
  try {
    sendSignal(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The exit code of `pid` (128+N when signal N killed it, and jx is to die of
 * N), once it has exited; `ended` is called first. With `suspend`, a stop of
 * the command (the terminal's Ctrl-Z reached its group) is looked for every
 * 100 ms and answered by `suspend`: jx stops with it.
 */
function waitExit(
  pid: number,
  reactor: Reactor,
  ended: () => void,
  suspend?: (sig: number) => void,
): Promise<number> {
  const s = libc().symbols;
  const pidfd = Number(s.syscall(C.SYS_pidfd_open, pid, 0));
  if (pidfd < 0) throw new Error(`pidfd_open: ${strerror(-pidfd)}`);
  return new Promise<number>((resolve) => {
    let timer = 0;
    const look = () => {
      const sig = stopSignalNow(pidfd);
      if (sig) suspend!(sig);
      timer = reactor.setTimer(100, look);
    };
    if (suspend) timer = reactor.setTimer(100, look);
    const stop = reactor.watch!(pidfd, () => {
      stop();
      if (timer) reactor.clearTimer(timer);
      ended();
      const info = new Uint8Array(C.SIZEOF_SIGINFO);
      const r = s.waitid(C.P_PIDFD, pidfd, info, C.WEXITED);
      s.close(pidfd);
      if (r < 0) return resolve(1);
      const view = new DataView(info.buffer);
      const code = view.getInt32(8, true);
      const status = view.getInt32(24, true);
      // Its command died of a signal: so does jx at its exit (runtime/die.ts).
      if (code !== C.CLD_EXITED) dieAtExit(status);
      resolve(code === C.CLD_EXITED ? status : 128 + status);
    });
  });
}

/**
 * What the runtime's spawn says of a command it cannot start (`spawn ./x EACCES`), in the words
 * of the spawn with a pool (strerror): one message whichever way the command was started.
 */
const SPAWN_ERRORS: Record<string, string> = {
  EACCES: "Permission denied",
  ENOEXEC: "Exec format error",
  ENOTDIR: "Not a directory",
  E2BIG: "Argument list too long",
  ELOOP: "Too many levels of symbolic links",
  ENAMETOOLONG: "File name too long",
};

/** Without a pool (no FFI, or `--jobserver-style none`): the runtime's own spawn. */
function runPlain(argv: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const words = argv.map(lossyText); // a string spawn: a byte that is not UTF-8 is U+FFFD
    const child = nodeSpawn(words[0], words.slice(1), { stdio: "inherit", env });
    const forward = (sig: ListenSignal) => () => child.kill(sig);
    // One ignored when jx started (nohup) reaches the command as it does jx: not at all.
    const handlers = SIGNALS.filter((sig) => !ignoredAtStart(sig)).map((sig) =>
      [sig, forward(sig)] as const
    );
    for (const [sig, h] of handlers) process.on(sig, h);
    const done = (code: number) => {
      for (const [sig, h] of handlers) process.off(sig, h);
      resolve(code);
    };
    child.on("error", (e: Error & { code?: string }) => {
      const why = e.code === "ENOENT"
        ? "command not found"
        : SPAWN_ERRORS[e.code ?? ""] ?? e.message;
      writeAll(2, `jx: cannot run '${argv[0]}': ${why}\n`);
      done(e.code === "ENOENT" ? 127 : 126);
    });
    child.on("exit", (code, signal) => {
      const n = signal ? (constants.signals as Record<string, number>)[signal] ?? 0 : 0;
      if (code === null && n) dieAtExit(n); // died of it: so does jx at its exit
      done(code ?? 128 + n);
    });
  });
}
