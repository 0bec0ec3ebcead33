/**
 * One child of the epoll reactor: its pipes drained, its exit reaped and
 * reported once all of its output has been handed over.
 *
 * - a child's exit is seen as end of file on both its pipes (it closes them
 *   as it exits), then reaped with `wait4(WNOHANG)`; only a child still
 *   running with both pipes closed (or with a stdin pipe, or with no pipes:
 *   `SpawnRequest.inheritOutput`) gets a pidfd;
 * - a pipe that epoll reports hung up with nothing to read is closed
 *   without a `read` (it would return end of file);
 * - pipes start at the kernel's default size and grow to 1 MiB once a read
 *   fills one; a read loop then drains each ready pipe until it is empty.
 *
 * @module
 */
import { C, errno, type Libc } from "./libc.ts";
import type { EpollSet, Watcher } from "./epoll_set.ts";
import type { PeakRss } from "./peak_rss.ts";
import { type Holder, pipeHolders, pipeOf, processName } from "./pipe_holders.ts";
import { killGroup, signalName } from "./portable.ts";
import type { ExitStatus, SpawnRequest, StreamName } from "./types.ts";

/** Reads of up to 1 MiB, from pipes enlarged to 1 MiB once a child fills one. */
export const READ_SIZE = 1024 * 1024;
/** The kernel's default pipe size: a read this long means the pipe was full. */
const PIPE_DEFAULT = 65536;

/** What the children of one reactor share. */
export interface ChildContext {
  readonly s: Libc["symbols"];
  readonly set: EpollSet;
  /** The reactor's read buffer (chunks handed over are views of it). */
  readonly readBuf: Uint8Array;
  readonly peaks: PeakRss;
  setTimer(ms: number, cb: () => void): number;
  /** Looks at `child` every so often until its `linger` says it is done (`SpawnRequest.lingerMs`). */
  lingerWatch(child: EpollChild): void;
  /** The children started and not reported yet (each is `abandon`ed when the reactor closes). */
  readonly live: Set<EpollChild>;
}

/** How long `abandon` waits for a child it killed to be reaped (one in the kernel's uninterruptible sleep may not be). */
const ABANDON_WAIT_MS = 1000;
/** What `abandon` sleeps on between two looks (Atomics.wait: a synchronous sleep). */
const nap = new Int32Array(new SharedArrayBuffer(4));

const statusBuf = new Int32Array(1);
const siginfo = new Int32Array(C.SIZEOF_SIGINFO / 4);
const rusage = new Uint8Array(C.SIZEOF_RUSAGE);
const rusageView = new DataView(rusage.buffer);

/** The status `wait4` left in `statusBuf` and `rusage`. */
function exitStatus(peaks: PeakRss): ExitStatus {
  const st = statusBuf[0];
  // struct timeval: 64-bit seconds and microseconds, both far below 2^32 here.
  const tv = (off: number) =>
    rusageView.getUint32(off, true) * 1000 + rusageView.getUint32(off + 8, true) / 1000;
  const cpu = { userMs: tv(0), sysMs: tv(16) };
  const maxRssKb = peaks.childPeakKb(rusageView.getUint32(32, true)); // ru_maxrss (long, KiB)
  return (st & 0x7f) === 0
    ? { code: (st >> 8) & 0xff, signal: null, cpu, maxRssKb }
    : { code: null, signal: signalName(st & 0x7f), cpu, maxRssKb };
}

/** A started child, registered in the set by its two pipes. */
export class EpollChild {
  /** Read end of its stdout pipe; -1 once at end of file. */
  private out: number;
  /** Read end of its stderr pipe; -1 once at end of file. */
  private err: number;
  /** Its pidfd, opened only when needed (see `watchExit`); -1 when none. */
  private pidfd = -1;
  /** Set once reaped. */
  private exit?: ExitStatus;
  private reported = false;
  /** Its pipes were enlarged. */
  private grown = false;
  private readonly pipes: Watcher = { kind: "pipe", child: this };
  private readonly exitWatch: Watcher = { kind: "pidfd", child: this };
  /** When its process was seen exited with a pipe still open (`linger`), in `now`'s time. */
  private exitedAt?: number;
  /** A signal was sent to it (a timeout, a stop): no more `linger`, the stop ends it. */
  signalled = false;

  /**
   * Registers the read ends `out` and `err` (made non-blocking here); -1 for
   * both when the child has no pipes (it inherited jx's stdout and stderr).
   */
  constructor(
    private readonly ctx: ChildContext,
    private readonly req: SpawnRequest,
    readonly pid: number,
    out: number,
    err: number,
    /** Closes jx's end of the child's stdin pipe, dropping what is queued (at exit). */
    private readonly dropStdin?: () => void,
  ) {
    this.out = out;
    this.err = err;
    for (const fd of [out, err]) {
      if (fd < 0) continue;
      // The read ends, new and only ours: O_NONBLOCK is their only status flag.
      ctx.s.fcntl(fd, C.F_SETFL, C.O_NONBLOCK);
      ctx.set.add(fd, this.pipes);
    }
    ctx.live.add(this);
    if (dropStdin || (out < 0 && err < 0)) this.watchExit();
    else if (req.lingerMs !== undefined) ctx.lingerWatch(this);
  }

  /**
   * The reactor closes while the child runs: nothing would read its pipes or reap it after, so
   * its group is killed (SIGKILL), it is reaped (waited for at most ABANDON_WAIT_MS), what its
   * pipes hold is handed over, they are closed, and its exit is reported, before `close` returns.
   */
  abandon(): void {
    if (this.reported) return;
    this.signalled = true;
    if (!this.exit) killGroup(this.pid, "SIGKILL");
    for (let waited = 0; !this.exit && !this.reap() && waited < ABANDON_WAIT_MS; waited += 5) {
      Atomics.wait(nap, 0, 0, 5);
    }
    for (const fd of this.readEnds()) this.drain(fd);
    // Still open: held by a process outside its group (a daemon it started), not waited for.
    for (const fd of this.readEnds()) this.pipeClosed(fd);
    if (this.pidfd >= 0) {
      this.ctx.set.close(this.pidfd, this.exitWatch); // never reaped (see ABANDON_WAIT_MS)
      this.pidfd = -1;
    }
    this.exit ??= { code: null, signal: "SIGKILL" };
    this.report();
  }

  /** The processes that hold its pipes open, its own included (none once both are closed). */
  holders(): Holder[] {
    return pipeHolders(this.readEnds().map(pipeOf).filter((p) => p !== undefined));
  }

  /**
   * Looked at every so often while it runs (`SpawnRequest.lingerMs`): once
   * its own process has exited (seen without reaping it: its pid, its group's
   * id, stays reserved), its pipes are given `lingerMs`; if still open then,
   * and held only by processes outside its session (it was spawned into one
   * of its own: `setsid`, a daemon's double fork), what they hold is read, the
   * pipes are closed and the child is reported exited with them in
   * `ExitStatus.left`. A process of its own group or session holding them is
   * waited for (looked at again `lingerMs` later): one that only made a group
   * of its own (coreutils `timeout`, a shell's job control) is still the job's.
   * True once there is nothing more to look at.
   */
  linger(now: number): boolean {
    if (this.reported || this.signalled || (this.out < 0 && this.err < 0)) return true;
    if (this.exitedAt === undefined) {
      if (this.exit || this.exitedNow()) this.exitedAt = now;
      return false;
    }
    if (now - this.exitedAt < this.req.lingerMs!) return false;
    const holders = this.holders();
    if (!holders.length || holders.some((h) => h.pgrp === this.pid || h.session === this.pid)) {
      this.exitedAt = now; // its own group's or session's (or closing now): waited for
      return false;
    }
    for (const fd of this.readEnds()) this.drain(fd);
    if (this.reported) return true; // closed meanwhile
    for (const fd of this.readEnds()) this.pipeClosed(fd, holders);
    return true;
  }

  /** Whether its process has exited, without reaping it (`waitid` with WNOWAIT). */
  private exitedNow(): boolean {
    siginfo.fill(0);
    const r = this.ctx.s.waitid(C.P_PID, this.pid, siginfo, C.WEXITED | C.WNOHANG | C.WNOWAIT);
    return r === 0 && siginfo[4] === this.pid; // si_pid: 0 while it runs
  }

  /** The read ends of its pipes still open (not at end of file). */
  readEnds(): number[] {
    return [this.out, this.err].filter((fd) => fd >= 0);
  }

  /** An event on one of its pipes. */
  pipeReady(fd: number, flags: number): void {
    // Hung up with nothing to read (no EPOLLIN): at end of file already.
    if ((flags & (C.EPOLLIN | C.EPOLLHUP)) === C.EPOLLHUP) this.pipeClosed(fd);
    else this.drain(fd);
  }

  /** Its pidfd is readable: it has exited. */
  exited(): void {
    if (this.reap()) this.report();
  }

  private report(): void {
    if (this.exit && this.out < 0 && this.err < 0 && !this.reported) {
      this.reported = true;
      this.ctx.live.delete(this);
      this.req.onExit(this.exit);
    }
  }

  /**
   * Reaps the child if it has exited (`wait4` with WNOHANG, by pid: safe, the
   * pid stays ours until reaped), with its CPU times and peak RSS; false
   * when it still runs.
   */
  private reap(): boolean {
    const r: number = this.ctx.s.wait4(this.pid, statusBuf, C.WNOHANG, rusage);
    if (r === 0) return false;
    if (this.pidfd >= 0) {
      this.ctx.set.close(this.pidfd, this.exitWatch);
      this.pidfd = -1;
    }
    this.dropStdin?.();
    this.exit = r < 0 ? { code: null, signal: null } : exitStatus(this.ctx.peaks);
    return true;
  }

  /**
   * Watches the child's exit through a pidfd: for a child that closed both
   * pipes but runs on, and for one with a stdin pipe (dropped at its exit).
   */
  private watchExit(): void {
    if (this.pidfd >= 0 || this.exit) return;
    const pidfd = Number(this.ctx.s.syscall(C.SYS_pidfd_open, this.pid, 0));
    if (pidfd < 0) {
      // No pidfd (a kernel before 5.3): look again every 10 ms.
      const poll = () => this.reap() ? this.report() : this.ctx.setTimer(10, poll);
      this.ctx.setTimer(10, poll);
      return;
    }
    this.pidfd = pidfd;
    this.ctx.set.add(pidfd, this.exitWatch);
  }

  /**
   * A pipe reached end of file (or failed, or `linger` gave up on the processes
   * `left` holding it): forget it; reap when both are done.
   */
  private pipeClosed(fd: number, left?: Holder[]): void {
    this.ctx.set.close(fd, this.pipes);
    if (fd === this.out) this.out = -1;
    else this.err = -1;
    if (this.out >= 0 || this.err >= 0) return;
    // Both closed: the child is exiting (or has exited), most likely.
    if (this.exit || this.reap()) {
      if (left) this.exit!.left = left.map((h) => ({ pid: h.pid, name: processName(h.pid) }));
      this.report();
    } else this.watchExit();
  }

  /** A child that fills a pipe: both of its pipes get room (best effort: the limit may be lower). */
  private grow(): void {
    this.grown = true;
    if (this.out >= 0) this.ctx.s.fcntl(this.out, C.F_SETPIPE_SZ, READ_SIZE);
    if (this.err >= 0) this.ctx.s.fcntl(this.err, C.F_SETPIPE_SZ, READ_SIZE);
  }

  /**
   * Reads what the pipe holds until it is empty; closes it at end of file. A
   * child that floods is read until its pipe is empty, its reads joined in
   * the read buffer and handed over once it is full or the pipe is empty
   * (reads race the writer and come in pieces of a few KiB: one callback per
   * piece cost more than the reads).
   */
  private drain(fd: number): void {
    const { s, readBuf } = this.ctx;
    const stream: StreamName = fd === this.out ? "stdout" : "stderr";
    /** Bytes read into readBuf and not yet handed over. */
    let held = 0;
    const handOver = () => {
      // A view of the read buffer: valid during the call only (see SpawnRequest.onOutput).
      if (held) this.req.onOutput(stream, readBuf.subarray(0, held));
      held = 0;
    };
    for (;;) {
      const n = Number(s.read(fd, held ? readBuf.subarray(held) : readBuf, READ_SIZE - held));
      if (n > 0) {
        held += n;
        if (n >= PIPE_DEFAULT && !this.grown) this.grow();
        if (!this.grown) {
          // A short read usually emptied the pipe (epoll says if not).
          handOver();
          if (n < READ_SIZE) return;
        } else if (held === READ_SIZE) handOver();
        continue;
      }
      // errno first: handing over runs callbacks whose own calls may change it.
      const e = n < 0 ? errno() : 0;
      handOver();
      if (n === 0) return this.pipeClosed(fd);
      if (e === C.EINTR) continue;
      if (e === C.EAGAIN) return;
      return this.pipeClosed(fd);
    }
  }
}
