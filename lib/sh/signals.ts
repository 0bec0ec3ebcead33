/**
 * Where a stop signal jx received was sent: to jx's whole process group (a
 * terminal's Ctrl-C, `kill -INT -PGID`) or to jx alone (`kill -INT PID`).
 * Under sh the first reaches the script's shell and the command it waits
 * for, the second only the shell; jx sh hands it on to its jobs to match
 * (run.ts: the same signal to every job, or the running one left to end),
 * and to the rest of the script when that runs as one sh. A signal carries no
 * sign of it: a sentinel child that stays in jx's process group (`sleep`)
 * gets the group's signals too, and is seen dying of it, or with it pending.
 * It sleeps a minute at a time (started again after each), so that one jx
 * could not end (SIGKILL) leaves no sleep behind for long.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import type { ChildHandle, ListenSignal, Reactor } from "../reactor/mod.ts";
import { signalNumber } from "../scheduler/mod.ts";

/** How long one sentinel sleeps, in seconds. */
const SENTINEL_S = 60;

/**
 * The sentinel, from `watch` to `close`.
 *
 * @example
 * ```ts
 * import { createReactor } from "../reactor/mod.ts";
 * import { GroupSignals } from "./signals.ts";
 * const reactor = createReactor("auto");
 * const g = new GroupSignals(reactor, { PATH: "/usr/bin:/bin" });
 * g.watch();
 * // a SIGINT to this process alone: g.toGroup("SIGINT") is false
 * g.close();
 * reactor.close();
 * ```
 */
export class GroupSignals {
  private child?: ChildHandle;
  /** The signal the last sentinel died of, not yet asked about. */
  private diedOf?: string;
  private closed = false;

  constructor(private reactor: Reactor, private env: Record<string, string>) {}

  /** Starts the sentinel (once; again after it died of a signal). */
  watch(): void {
    if (this.child || this.closed) return;
    const child = this.reactor.spawn({
      // Its fds on /dev/null: a jx killed with SIGKILL leaves no sleep holding its output open.
      argv: ["/bin/sh", "-c", `exec sleep ${SENTINEL_S} </dev/null >/dev/null 2>&1`],
      cwd: "/",
      env: this.env,
      // Stays in jx's process group.
      terminal: true,
      onOutput() {},
      onExit: (st) => {
        if (this.child !== child) return; // one `toGroup` already took as the signal's
        this.child = undefined;
        if (st.signal) this.diedOf = st.signal;
        else if (st.code === 0) this.watch();
      },
    });
    this.child = child;
  }

  /** The sentinel told of a signal (its end said no more): a new one for the next signal. */
  private renew(): void {
    this.child = undefined;
    this.watch();
  }

  /**
   * Whether `sig`, received just now, went to jx's process group: the
   * sentinel died of it, is dying, or has it pending. When nothing tells
   * (no sentinel), the group: a terminal's Ctrl-C is the usual case.
   */
  toGroup(sig: ListenSignal): boolean {
    if (this.diedOf === sig) {
      this.diedOf = undefined;
      this.watch();
      return true;
    }
    const pid = this.child?.pid;
    if (!pid) {
      // None to tell (dead of another signal, or not started): a new one for the next signal.
      this.diedOf = undefined;
      this.watch();
      return true;
    }
    const group = gotSignal(pid, signalNumber(sig));
    // Taken as this signal's: its end (the reactor may report it later) says nothing more.
    if (group) this.renew();
    return group;
  }

  /** Ends the sentinel. */
  close(): void {
    this.closed = true;
    this.child?.kill("SIGKILL");
    this.child = undefined;
  }
}

/**
 * Whether process `pid` got signal `n`: dead of it and not reaped, or with it
 * pending; true when it is gone (not by jx: the signal killed it).
 */
function gotSignal(pid: number, n: number): boolean {
  let status: string, stat: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return true; // gone, and not by jx: it died of the signal
  }
  // Dead, not reaped: what killed it (exit_code, field 52 of stat, is a wait status).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (/^[ZX]/.test(fields[0])) return (Number(fields[49]) & 0x7f) === n;
  const bit = 1n << BigInt(n - 1);
  return ["SigPnd", "ShdPnd"].some((k) => {
    const hex = new RegExp(`^${k}:\\s*([0-9a-f]+)`, "m").exec(status)?.[1];
    return hex !== undefined && (BigInt(`0x${hex}`) & bit) !== 0n;
  });
}
