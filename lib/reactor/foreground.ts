/**
 * The terminal's foreground, handed to a command and taken back, as a shell
 * does for the job it runs (`jx exec`): the command runs in a process group
 * of its own in jx's session, so that it keeps jx's controlling terminal
 * (`/dev/tty`: sudo's, ssh's and git's prompts, an editor), and the terminal
 * sends Ctrl-C, `Ctrl-\` and Ctrl-Z to its group. jx takes the terminal back
 * when the command stops (Ctrl-Z, or a read of the terminal while jx runs in
 * the background) or ends. Only when jx is a job of its own (the leader of
 * its process group): under make or a script the command has a session of
 * its own as before, so that a Ctrl-C still reaches the whole group at once.
 *
 * @module
 */
import { pid } from "../runtime/mod.ts";
import { C, libc, spawnTcsetpgrp } from "./libc.ts";

/**
 * The descriptor (0, 1 or 2) of jx's controlling terminal when jx is a job
 * of it (an interactive shell made jx's process group, jx its leader, in the
 * foreground or the background), else undefined: no terminal (a pipe, a CI
 * runner), or jx one process of another's group (a make recipe, a script),
 * whose Ctrl-C must reach that whole group as before.
 *
 * @example
 * ```ts
 * import { controllingTerminal } from "./foreground.ts";
 * if (controllingTerminal() === undefined) console.log("not a job of a terminal");
 * ```
 */
export function controllingTerminal(): number | undefined {
  const s = libc().symbols;
  if (s.getpgrp() !== pid()) return undefined;
  for (const fd of [0, 1, 2]) if (s.tcgetpgrp(fd) >= 0) return fd;
  return undefined;
}

/** Whether `pgid` is the foreground process group of terminal `fd`. */
export function inForeground(fd: number, pgid: number): boolean {
  return libc().symbols.tcgetpgrp(fd) === pgid;
}

/**
 * Makes `pgid` (jx's own group when omitted) the foreground group of
 * terminal `fd`, with SIGTTOU blocked meanwhile (a process of a background
 * group that changes it is otherwise stopped); false when it could not.
 */
export function giveTerminal(fd: number, pgid?: number): boolean {
  const s = libc().symbols;
  const block = new Uint8Array(C.SIZEOF_SIGSET), old = new Uint8Array(C.SIZEOF_SIGSET);
  s.sigemptyset(block);
  s.sigaddset(block, C.SIGTTOU);
  s.sigprocmask(C.SIG_BLOCK, block, old);
  try {
    return s.tcsetpgrp(fd, pgid ?? s.getpgrp()) === 0;
  } finally {
    s.sigprocmask(C.SIG_SETMASK, old, block); // (Bun's FFI takes no null buffer)
  }
}

/**
 * The signal that stopped the child of `pidfd` since the last look, or 0 (a stop is reported
 * once: `waitid` with WSTOPPED and WNOHANG).
 */
export function stopSignalNow(pidfd: number): number {
  const s = libc().symbols;
  const info = new Uint8Array(C.SIZEOF_SIGINFO);
  if (s.waitid(C.P_PIDFD, pidfd, info, C.WSTOPPED | C.WNOHANG) < 0) return 0;
  const view = new DataView(info.buffer);
  if (view.getInt32(16, true) === 0 || view.getInt32(8, true) !== C.CLD_STOPPED) return 0;
  return view.getInt32(24, true);
}

/** Whether `sig` is the terminal's stop of a background process that used it (SIGTTIN, SIGTTOU). */
export function terminalStop(sig: number): boolean {
  return sig === C.SIGTTIN || sig === C.SIGTTOU;
}

/**
 * A command's hold on jx's terminal: `start` hands it the foreground, `pause`
 * takes it back around a stop of jx (and hands it over again after `fg`, not
 * after `bg`), `end` takes it back once the command has ended.
 */
export class TerminalHandoff {
  constructor(readonly fd: number, private pgid = 0) {}

  /**
   * The spawn's file action by which the command takes the terminal itself before its exec,
   * when jx has it and libc can (`spawnTcsetpgrp`); else undefined, and `start` gives it.
   */
  spawnAction(): ((fa: Uint8Array) => unknown[]) | undefined {
    const add = spawnTcsetpgrp();
    if (!add || !inForeground(this.fd, libc().symbols.getpgrp())) return undefined;
    return (fa) => {
      add(fa, this.fd);
      return [];
    };
  }

  /**
   * Gives the terminal to `pgid` when jx has it (jx in the background: the command is a
   * background job too, stopped by the terminal when it reads from it).
   */
  start(pgid: number): void {
    this.pgid = pgid;
    if (inForeground(this.fd, libc().symbols.getpgrp())) giveTerminal(this.fd, pgid);
  }

  /**
   * Gives the terminal to the command when jx's group has it now (a `fg` came before jx had
   * stopped for the command's read of the terminal in the background); whether it did.
   */
  handBack(): boolean {
    if (!this.pgid || !inForeground(this.fd, libc().symbols.getpgrp())) return false;
    return giveTerminal(this.fd, this.pgid);
  }

  /**
   * Around `stopSelf` (jx stopped until `fg` or `bg`): the terminal back to
   * jx's group if the command has it, then to the command again if jx is
   * continued in the foreground.
   */
  pause(stopSelf: () => void): void {
    if (this.pgid && inForeground(this.fd, this.pgid)) giveTerminal(this.fd);
    stopSelf();
    if (this.pgid && inForeground(this.fd, libc().symbols.getpgrp())) {
      giveTerminal(this.fd, this.pgid);
    }
  }

  /** The terminal back to jx's group if the command's group still has it. */
  end(): void {
    if (this.pgid && inForeground(this.fd, this.pgid)) giveTerminal(this.fd);
    this.pgid = 0;
  }
}
