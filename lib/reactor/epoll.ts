/**
 * The epoll reactor (Linux; Deno, and Bun through bun_wait.ts): children started with `posix_spawnp`
 * into a new session and process group, their output read from
 * non-blocking pipes, all in one epoll set waited on by a `nonblocking` FFI
 * call, so the JS event loop stays free while nothing happens. Timers and
 * signals use the runtime's own (setTimeout and signal listeners; signalfd
 * does not work with Deno's threads).
 *
 * Why: on Deno, `Deno.Command` with `detached: true` forks the whole
 * runtime for every child; `posix_spawn` uses vfork and sets the session up
 * in the child (POSIX_SPAWN_SETSID), with default signal dispositions and an
 * empty signal mask (Deno ignores SIGPIPE, which children must not inherit).
 *
 * On Bun, FFI calls all run on the JS thread: `posix_spawnp` is called
 * there (its vfork suspends the JS thread until the child execs), and a
 * Worker waits on the set instead of a helper thread (bun_wait.ts); the JS
 * thread collects the events itself with a timeout of 0.
 *
 * What a job costs here (bench/RESULTS.md has the figures):
 *
 * - `posix_spawnp` runs in a `nonblocking` FFI call, on a helper thread: its
 *   vfork + exec suspend that thread, not the JS one, and several spawns
 *   proceed at once. (A synchronous call, as make does, measured no better
 *   on a quiet machine and much worse on a busy one: the JS thread then
 *   waits for each child to get a CPU and exec.) The spawn attributes are
 *   built once; the C strings of argv and the environment live in a slab
 *   and are reused from one spawn to the next (only what changed, such as
 *   `JX_JOB`, is encoded again);
 * - a child's exit is seen as end of file on both its pipes (it closes them
 *   as it exits), then reaped with `wait4(WNOHANG)`; only a child still
 *   running with both pipes closed (or with a stdin pipe) gets a pidfd;
 * - after each wait, the set is polled again on the JS thread (timeout 0)
 *   while events keep coming, so a busy run rarely crosses threads; while a
 *   spawn is in flight, its return wakes the JS thread anyway, so the set is
 *   only polled then, and waited on (on a helper thread) once none is;
 * - a pipe that epoll reports hung up with nothing to read is closed
 *   without a `read` (it would return end of file);
 * - pipes start at the kernel's default size and grow to 1 MiB once a read
 *   fills one; a read loop then drains each ready pipe until it is empty.
 *
 * @module
 */
import { createBunWait } from "./bun_wait.ts";
import { C, cstr, errno, type Libc, libc, sessionSpawnAttr, strerror } from "./libc.ts";
import { addressOf } from "./libc_bun.ts";
import { killGroup, signalName } from "./portable.ts";
import { createTimers, onSignal } from "./timers.ts";
import { isBun, readTextSync } from "../runtime/mod.ts";
import type { ChildHandle, ExitStatus, Reactor, SpawnRequest } from "./types.ts";

/** One watched child. */
interface Child {
  req: SpawnRequest;
  pid: number;
  /** Read end of its stdout pipe; -1 once at end of file. */
  out: number;
  /** Read end of its stderr pipe; -1 once at end of file. */
  err: number;
  /** Its pidfd, opened only when needed (see `watchExit`); -1 when none. */
  pidfd: number;
  /** Set once reaped. */
  exit?: ExitStatus;
  /** onExit was called. */
  reported: boolean;
  /** Its pipes were enlarged. */
  grown: boolean;
  /** Closes jx's end of the child's stdin pipe, dropping what is queued (at exit). */
  dropStdin?: () => void;
}

/** Reads of up to 1 MiB, from pipes enlarged to 1 MiB once a child fills one. */
const READ_SIZE = 1024 * 1024;
/** The kernel's default pipe size: a read this long means the pipe was full. */
const PIPE_DEFAULT = 65536;
const MAX_EVENTS = 64;
/** Polls on the JS thread (timeout 0) after a wait, while they find events. */
const MAX_POLLS = 64;
/** How long spawns in flight may go without one returning before loop waits anyway. */
const SPAWN_GUARD_MS = 20;

/**
 * The C strings of `posix_spawnp`'s argv and environment, kept in one slab
 * from one spawn to the next: a job's environment differs from the last
 * one's in a variable or two (`JX_JOB`), so most strings are encoded once.
 * When the slab is full, a new one starts (a spawn in flight keeps the old
 * one alive).
 */
class CStrings {
  /** The current slab (a spawn in flight keeps it alive). */
  slab = new Uint8Array(0);
  private base = 0;
  private used = 0;
  /** Per variable name: the value encoded, and where. */
  private env = new Map<string, { value: string; at: number }>();
  /** argv words encoded, and where. */
  private words = new Map<string, number>();
  /** argv then envp, each NULL-terminated, as 64-bit pointers in two 32-bit halves. */
  private ptrs = new Uint32Array(512);
  private enc = new TextEncoder();

  constructor(private address: (b: Uint8Array) => number) {
    this.fresh(256 * 1024);
  }

  private fresh(size: number): void {
    this.slab = new Uint8Array(size);
    this.base = this.address(this.slab);
    this.used = 0;
    this.env.clear();
    this.words.clear();
  }

  /** Encodes `s` and a NUL; its address, or -1 when it may not fit. */
  private add(s: string): number {
    if (s.length * 3 + 1 > this.slab.length - this.used) return -1;
    const { written } = this.enc.encodeInto(s, this.slab.subarray(this.used));
    this.slab[this.used + written] = 0;
    const at = this.base + this.used;
    this.used += written + 1;
    return at;
  }

  private put(i: number, at: number): void {
    this.ptrs[2 * i] = at % 4294967296;
    this.ptrs[2 * i + 1] = Math.floor(at / 4294967296);
  }

  private fill(argv: string[], env: Record<string, string>): number {
    let n = argv.length + 2;
    for (const _ in env) n++;
    if (this.ptrs.length < 2 * n) this.ptrs = new Uint32Array(4 * n);
    let i = 0;
    for (const w of argv) {
      let at = this.words.get(w);
      if (at === undefined) {
        if ((at = this.add(w)) < 0) return -1;
        this.words.set(w, at);
      }
      this.put(i++, at);
    }
    this.put(i++, 0);
    for (const k in env) {
      const value = env[k];
      let e = this.env.get(k);
      if (e === undefined || e.value !== value) {
        const at = this.add(k + "=" + value);
        if (at < 0) return -1;
        this.env.set(k, e = { value, at });
      }
      this.put(i++, e.at);
    }
    this.put(i++, 0);
    return argv.length + 1;
  }

  /** argv and envp for `posix_spawnp`, valid until the next call. */
  arrays(argv: string[], env: Record<string, string>): { argv: Uint32Array; envp: Uint32Array } {
    let split = this.fill(argv, env);
    if (split < 0) {
      let size = 0;
      for (const w of argv) size += w.length * 3 + 1;
      for (const k in env) size += (k.length + env[k].length) * 3 + 2;
      this.fresh(Math.max(256 * 1024, 2 * size));
      split = this.fill(argv, env);
    }
    let n = split;
    for (const _ in env) n++;
    return {
      argv: this.ptrs.subarray(0, 2 * split),
      envp: this.ptrs.subarray(2 * split, 2 * (n + 1)),
    };
  }
}

/**
 * Creates the epoll reactor; throws when FFI is not permitted.
 *
 * @example
 * ```ts
 * import { createEpollReactor } from "./epoll.ts";
 * const r = createEpollReactor();
 * r.spawn({ argv: ["echo", "hi"], cwd: "/", env: { PATH: "/usr/bin:/bin" }, onOutput() {}, onExit: console.log });
 * ```
 */
export function createEpollReactor(): Reactor {
  const L: Libc = libc();
  const s = L.symbols;
  // deno-lint-ignore no-explicit-any
  const D = (globalThis as any).Deno;
  const epfd: number = s.epoll_create1(C.O_CLOEXEC);
  if (epfd < 0) throw new Error(`epoll_create1: ${strerror(errno())}`);
  const wakefd: number = s.eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK);
  /** On Bun, a Worker waits on the set (FFI calls block there); Deno waits on a helper thread. */
  const bunWait = isBun ? createBunWait(epfd) : undefined;
  /** The child each registered pipe or pidfd belongs to. */
  const owners = new Map<number, Child>();
  /** Callbacks for fds watched with `watch` (the jobserver's read end, inotify). */
  const watchers = new Map<number, () => void>();
  /** Stdin write ends with data queued, waiting to be writable (EPOLLOUT). */
  const writers = new Map<number, () => void>();
  const readBuf = new Uint8Array(READ_SIZE);
  const events = new Uint8Array(MAX_EVENTS * C.SIZEOF_EPOLL_EVENT);
  const eventsView = new DataView(events.buffer);
  const statusBuf = new Int32Array(1);
  const rusage = new Uint8Array(C.SIZEOF_RUSAGE);
  const rusageView = new DataView(rusage.buffer);
  const ev = new Uint8Array(C.SIZEOF_EPOLL_EVENT);
  const evView = new DataView(ev.buffer);
  let waiting = false;
  /** Spawns in flight: their `posix_spawnp` has not returned yet. */
  let spawning = 0;
  /** Spawns that have returned (for the guard in loop). */
  let returned = 0;
  /**
   * While spawns are in flight the set is only polled (see loop). So that a
   * spawn that takes long (an exec on a hung file system) cannot hold back
   * the other children, a timer makes loop wait on the helper thread anyway
   * when no spawn has returned since it was set.
   */
  let guard: number | undefined;
  let forceWait = false;
  let closed = false;
  const { setTimer, clearTimer, clearAll } = createTimers();

  // What every spawn shares, built once: a new session and process group,
  // every signal at its default disposition, an empty signal mask.
  const attr = sessionSpawnAttr();
  const pipeFds = new Int32Array(2);
  /** What a spawn in flight uses (file actions, pid, pointer arrays), reused by later spawns. */
  interface SpawnBuffers {
    fa: Uint8Array;
    pid: Int32Array;
    ptrs: Uint32Array;
  }
  const spare: SpawnBuffers[] = [];
  const newSpawnBuffers = (): SpawnBuffers => ({
    fa: new Uint8Array(C.SIZEOF_FILE_ACTIONS),
    pid: new Int32Array(1),
    ptrs: new Uint32Array(256),
  });
  const devnull = cstr("/dev/null");
  /** C strings of working directories and programs, by value (few distinct ones). */
  const paths = new Map<string, Uint8Array>();
  const cpath = (p: string) => {
    let b = paths.get(p);
    if (!b) {
      if (paths.size > 1000) paths.clear();
      paths.set(p, b = cstr(p));
    }
    return b;
  };
  const strings = new CStrings((b) =>
    isBun ? Number(addressOf(b)) : Number(D.UnsafePointer.value(D.UnsafePointer.of(b)))
  );

  const watchFd = (fd: number, events: number = C.EPOLLIN) => {
    evView.setUint32(0, events, true);
    evView.setUint32(4, fd, true); // data.u64 = fd (the high half stays 0)
    if (s.epoll_ctl(epfd, C.EPOLL_CTL_ADD, fd, ev) < 0) {
      throw new Error(`epoll_ctl: ${strerror(errno())}`);
    }
  };
  /**
   * Removes an fd from the set and closes it. (Closing alone would not do:
   * a child being spawned holds a copy of the fd table until it execs.)
   */
  const unwatch = (fd: number) => {
    s.epoll_ctl(epfd, C.EPOLL_CTL_DEL, fd, ev);
    s.close(fd);
  };
  watchFd(wakefd);

  const report = (c: Child) => {
    if (c.exit && c.out < 0 && c.err < 0 && !c.reported) {
      c.reported = true;
      c.req.onExit(c.exit);
    }
  };

  /**
   * jx's own peak RSS (KiB): VmHWM of its memory, from /proc/self/status.
   * (Not getrusage: jx's own ru_maxrss holds its parent's size at the fork
   * that started jx, for the same reason as below.)
   */
  const hwm = /VmHWM:\s*(\d+)/;
  /** VmHWM now, or undefined when it cannot be read. */
  const ownPeakNow = (): number | undefined => {
    try {
      const m = hwm.exec(readTextSync("/proc/self/status"));
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  };
  let ownPeak = 0;
  /**
   * Whether `kb` is above jx's peak (which only grows: read again only when it
   * might be); false when the peak cannot be read this time.
   */
  const aboveOwnPeak = (kb: number) => {
    if (kb <= ownPeak) return false;
    const now = ownPeakNow();
    if (now === undefined) return false;
    ownPeak = now;
    return kb > ownPeak;
  };

  /**
   * Reaps the child if it has exited (`wait4` with WNOHANG, by pid: safe, the
   * pid stays ours until reaped); false when it still runs. `wait4` also
   * gives its CPU times and ru_maxrss. posix_spawn uses vfork: the child runs
   * in jx's memory until it execs, and the kernel then folds that memory's
   * peak (VmHWM) into the child's ru_maxrss. So ru_maxrss is max(jx's peak at the spawn, the
   * child's own peak): exact when it is above jx's peak now, unknown (and
   * not reported) otherwise.
   */
  const tryReap = (c: Child): boolean => {
    const r: number = s.wait4(c.pid, statusBuf, C.WNOHANG, rusage);
    if (r === 0) return false;
    if (c.pidfd >= 0) {
      owners.delete(c.pidfd);
      unwatch(c.pidfd);
      c.pidfd = -1;
    }
    c.dropStdin?.();
    if (r < 0) {
      c.exit = { code: null, signal: null };
      return true;
    }
    const st = statusBuf[0];
    // struct timeval: 64-bit seconds and microseconds, both far below 2^32 here.
    const tv = (off: number) =>
      rusageView.getUint32(off, true) * 1000 + rusageView.getUint32(off + 8, true) / 1000;
    const cpu = { userMs: tv(0), sysMs: tv(16) };
    const maxRss = rusageView.getUint32(32, true); // ru_maxrss (long, KiB), far below 2^32
    const maxRssKb = aboveOwnPeak(maxRss) ? maxRss : undefined;
    c.exit = (st & 0x7f) === 0
      ? { code: (st >> 8) & 0xff, signal: null, cpu, maxRssKb }
      : { code: null, signal: signalName(st & 0x7f), cpu, maxRssKb };
    return true;
  };

  /**
   * Watches the child's exit through a pidfd: for a child that closed both
   * pipes but runs on, and for one with a stdin pipe (dropped at its exit).
   */
  const watchExit = (c: Child) => {
    if (c.pidfd >= 0 || c.exit) return;
    const pidfd = Number(s.syscall(C.SYS_pidfd_open, c.pid, 0));
    if (pidfd < 0) {
      // No pidfd (a kernel before 5.3): look again every 10 ms.
      const poll = () => tryReap(c) ? report(c) : setTimer(10, poll);
      setTimer(10, poll);
      return;
    }
    c.pidfd = pidfd;
    owners.set(pidfd, c);
    watchFd(pidfd);
  };

  /** A pipe reached end of file (or failed): forget it; reap when both are done. */
  const pipeClosed = (fd: number, c: Child) => {
    owners.delete(fd);
    unwatch(fd);
    if (fd === c.out) c.out = -1;
    else c.err = -1;
    if (c.out >= 0 || c.err >= 0) return;
    // Both closed: the child is exiting (or has exited), most likely.
    if (c.exit || tryReap(c)) report(c);
    else watchExit(c);
  };

  /**
   * Reads what the pipe holds until it is empty; closes it at end of file. A
   * child that floods is read until its pipe is empty, its reads joined in
   * the read buffer and handed over once it is full or the pipe is empty
   * (reads race the writer and come in pieces of a few KiB: one callback per
   * piece cost more than the reads).
   */
  const drain = (fd: number, c: Child) => {
    const stream = fd === c.out ? "stdout" : "stderr";
    /** Bytes read into readBuf and not yet handed over. */
    let held = 0;
    const handOver = () => {
      // A view of the read buffer: valid during the call only (see SpawnRequest.onOutput).
      if (held) c.req.onOutput(stream, readBuf.subarray(0, held));
      held = 0;
    };
    for (;;) {
      const n = Number(
        s.read(fd, held ? readBuf.subarray(held) : readBuf, READ_SIZE - held),
      );
      if (n > 0) {
        held += n;
        if (n >= PIPE_DEFAULT && !c.grown) {
          // A child that fills a pipe: give both of its pipes room (fewer
          // wakeups, bigger reads). Best effort: the limit may be lower.
          c.grown = true;
          if (c.out >= 0) s.fcntl(c.out, C.F_SETPIPE_SZ, READ_SIZE);
          if (c.err >= 0) s.fcntl(c.err, C.F_SETPIPE_SZ, READ_SIZE);
        }
        if (!c.grown) {
          // A short read usually emptied the pipe (epoll says if not).
          handOver();
          if (n < READ_SIZE) return;
        } else if (held === READ_SIZE) handOver();
        continue;
      }
      // errno first: handing over runs callbacks whose own calls may change it.
      const e = n < 0 ? errno() : 0;
      handOver();
      if (n === 0) return pipeClosed(fd, c);
      if (e === C.EINTR) continue;
      if (e === C.EAGAIN) return;
      return pipeClosed(fd, c);
    }
  };

  const dispatch = (n: number) => {
    for (let i = 0; i < n; i++) {
      const fd = eventsView.getUint32(i * C.SIZEOF_EPOLL_EVENT + 4, true);
      const c = owners.get(fd);
      if (c) {
        if (fd === c.pidfd) {
          if (tryReap(c)) report(c);
          continue;
        }
        // Hung up with nothing to read (no EPOLLIN): at end of file already.
        const flags = eventsView.getUint32(i * C.SIZEOF_EPOLL_EVENT, true);
        if ((flags & (C.EPOLLIN | C.EPOLLHUP)) === C.EPOLLHUP) pipeClosed(fd, c);
        else drain(fd, c);
        continue;
      }
      if (fd === wakefd) {
        s.read(wakefd, readBuf, 8);
        continue;
      }
      (watchers.get(fd) ?? writers.get(fd))?.();
    }
  };

  /**
   * More is often ready already (children exit while others spawn): polls
   * the set on this thread (timeout 0), a bounded number of times.
   */
  const pollNow = () => {
    for (let k = 0; k < MAX_POLLS && !closed; k++) {
      const m: number = s.epoll_wait_now(epfd, events, MAX_EVENTS, 0);
      if (m <= 0) break;
      dispatch(m);
    }
  };

  const loop = async () => {
    if (waiting || closed) return;
    waiting = true;
    let failures = 0;
    try {
      while (!closed && (owners.size > 0 || watchers.size > 0 || writers.size > 0)) {
        if (spawning > 0 && !forceWait) {
          // A spawn in flight wakes this thread when it returns, and calls
          // loop() again: poll only, and wait on a helper thread once no
          // spawn is in flight (a thread hop fewer per wait saved).
          pollNow();
          if (guard === undefined) {
            const mark = returned;
            guard = setTimer(SPAWN_GUARD_MS, () => {
              guard = undefined;
              if (spawning === 0) return;
              // No spawn returned in the meantime: wait on the set anyway. Either way
              // loop() runs again, and sets a new guard while it still only polls (a
              // slow spawn must not hold back the other children's events).
              if (returned === mark) forceWait = true;
              loop();
            });
          }
          break;
        }
        let n: number;
        if (bunWait) {
          await bunWait.ready();
          if (closed) break;
          n = s.epoll_wait_now(epfd, events, MAX_EVENTS, 0);
        } else {
          n = await s.epoll_wait(epfd, events, MAX_EVENTS, -1);
          forceWait = false;
        }
        if (n < 0) {
          // errno lives on the helper thread that made the call, so it cannot
          // be read here; the usual cause is EINTR (a SIGCHLD). Retry, but
          // not forever on a persistent error.
          if (++failures > 1000) throw new Error("epoll_wait keeps failing");
          continue;
        }
        failures = 0;
        dispatch(n);
        pollNow();
      }
    } finally {
      waiting = false;
    }
  };

  /** A pipe, both ends close-on-exec, in `pipeFds`; throws with `cleanup` run first. */
  const newPipe = (cleanup: () => void) => {
    if (s.pipe2(pipeFds, C.O_CLOEXEC) === 0) return;
    const e = errno();
    cleanup();
    throw new Error(`pipe2: ${strerror(e)}`);
  };

  /**
   * Starts a child: `posix_spawnp` on this thread, which returns once the
   * child has exec'd (or failed to).
   */
  const spawn = (req: SpawnRequest): ChildHandle => {
    const stdin = req.stdin === "pipe" ? stdinPipe() : undefined;
    newPipe(() => stdin?.closeBoth());
    const outR = pipeFds[0], outW = pipeFds[1];
    newPipe(() => {
      s.close(outR);
      s.close(outW);
      stdin?.closeBoth();
    });
    const errR = pipeFds[0], errW = pipeFds[1];
    const buf = spare.pop() ?? newSpawnBuffers();
    const fa = buf.fa;
    s.posix_spawn_file_actions_init(fa);
    if (stdin) s.posix_spawn_file_actions_adddup2(fa, stdin.readEnd, 0);
    else s.posix_spawn_file_actions_addopen(fa, 0, devnull, C.O_RDONLY, 0);
    s.posix_spawn_file_actions_adddup2(fa, outW, 1);
    s.posix_spawn_file_actions_adddup2(fa, errW, 2);
    s.posix_spawn_file_actions_addchdir_np(fa, cpath(req.cwd));
    const { argv, envp } = strings.arrays(req.argv, req.env);
    const file = cpath(req.argv[0]);
    let pid = 0;
    let pendingSignals: string[] = [];
    const started = (err: number, spawned: number) => {
      s.posix_spawn_file_actions_destroy(fa);
      if (spare.length < 64) spare.push(buf);
      s.close(outW);
      s.close(errW);
      stdin?.spawned();
      if (err !== 0) {
        s.close(outR);
        s.close(errR);
        stdin?.drop();
        const why = err === 2 ? "no such file or directory" : strerror(err);
        const error = `cannot start '${req.argv[0]}' in ${req.cwd}: ${why}`;
        // Reported asynchronously, as a start that failed later would be.
        queueMicrotask(() => req.onExit({ code: null, signal: null, error }));
        loop(); // it may have stopped waiting for this spawn
        return;
      }
      pid = spawned;
      const c: Child = {
        req,
        pid,
        out: outR,
        err: errR,
        pidfd: -1,
        reported: false,
        grown: false,
        dropStdin: stdin?.drop,
      };
      // The read ends, new and only ours: O_NONBLOCK is their only status flag.
      s.fcntl(outR, C.F_SETFL, C.O_NONBLOCK);
      s.fcntl(errR, C.F_SETFL, C.O_NONBLOCK);
      owners.set(outR, c);
      watchFd(outR);
      owners.set(errR, c);
      watchFd(errR);
      if (stdin) watchExit(c);
      req.onStart?.(pid);
      for (const sig of pendingSignals) killGroup(pid, sig);
      pendingSignals = [];
      loop();
    };
    // The pointer arrays are copied into this spawn's buffers (the next
    // spawn refills `strings`' own); the slab they point into is kept alive
    // until the call returns.
    const na = argv.length, ne = envp.length;
    if (buf.ptrs.length < na + ne) buf.ptrs = new Uint32Array(2 * (na + ne));
    buf.ptrs.set(argv, 0);
    buf.ptrs.set(envp, na);
    const argvPtrs = buf.ptrs.subarray(0, na);
    const envPtrs = buf.ptrs.subarray(na, na + ne);
    if (isBun) {
      // Bun has no calls off the JS thread: spawn here (vfork + exec), report the start after
      // `spawn` has returned, as on Deno.
      const err: number = s.posix_spawnp(buf.pid, file, fa, attr, argvPtrs, envPtrs);
      queueMicrotask(() => started(err, buf.pid[0]));
    } else {
      const slab = strings.slab;
      spawning++;
      s.posix_spawnp_async(buf.pid, file, fa, attr, argvPtrs, envPtrs).then((err: number) => {
        void [slab, file, argvPtrs, envPtrs];
        spawning--;
        returned++;
        started(err, buf.pid[0]);
      });
    }
    return {
      get pid() {
        return pid;
      },
      kill: (sig) => pid ? killGroup(pid, sig) : pendingSignals.push(sig),
      write: (data) => stdin?.write(data),
      closeStdin: () => stdin?.close(),
      stdinPending: () => stdin?.pending ?? 0,
    };
  };

  /**
   * A child's stdin: a pipe whose read end becomes its fd 0 and whose write
   * end jx keeps, non-blocking. Writes go straight into the pipe; what it
   * cannot take is queued and flushed when epoll says the fd is writable.
   */
  const stdinPipe = () => {
    const p = new Int32Array(2);
    if (s.pipe2(p, C.O_CLOEXEC) < 0) throw new Error(`pipe2: ${strerror(errno())}`);
    let readEnd = p[0];
    let fd = p[1];
    s.fcntl(fd, C.F_SETFL, s.fcntl(fd, C.F_GETFL, 0) | C.O_NONBLOCK);
    const queue: Uint8Array[] = [];
    let queued = 0;
    let closing = false;
    const enc = new TextEncoder();
    /** Forgets the write end: closes it, drops the queue. */
    const drop = () => {
      if (fd < 0) return;
      if (writers.delete(fd)) s.epoll_ctl(epfd, C.EPOLL_CTL_DEL, fd, ev);
      s.close(fd);
      fd = -1;
      queue.length = 0;
      queued = 0;
    };
    /** Writes what is queued; false when the pipe is full (or gone). */
    const flush = (): boolean => {
      while (queue.length && fd >= 0) {
        const head = queue[0];
        const n = Number(s.write(fd, head, head.length));
        if (n >= 0) {
          queued -= n;
          if (n === head.length) queue.shift();
          else queue[0] = head.subarray(n);
          continue;
        }
        const e = errno();
        if (e === C.EINTR) continue;
        if (e === C.EAGAIN) return false;
        drop(); // EPIPE: the child closed its stdin
        return false;
      }
      return true;
    };
    const settle = () => {
      if (fd < 0) return;
      if (flush()) {
        if (writers.delete(fd)) s.epoll_ctl(epfd, C.EPOLL_CTL_DEL, fd, ev);
        if (closing) drop();
      } else if (fd >= 0 && !writers.has(fd)) {
        writers.set(fd, settle);
        watchFd(fd, C.EPOLLOUT);
        loop();
      }
    };
    return {
      get readEnd() {
        return readEnd;
      },
      /** The child has its copy (or the spawn failed): close ours. */
      spawned() {
        if (readEnd >= 0) s.close(readEnd);
        readEnd = -1;
      },
      closeBoth() {
        this.spawned();
        drop();
      },
      drop,
      /** Bytes queued, not yet in the pipe. */
      get pending() {
        return queued;
      },
      write(data: Uint8Array | string) {
        if (fd < 0 || closing) return;
        const bytes = typeof data === "string" ? enc.encode(data) : data.slice();
        if (!bytes.length) return;
        queue.push(bytes);
        queued += bytes.length;
        if (queue.length === 1) settle();
      },
      close() {
        closing = true;
        if (!queue.length) drop();
      },
    };
  };

  return {
    name: "epoll",
    now: () => performance.now(),
    spawn,
    setTimer,
    clearTimer,
    watch(fd, cb) {
      watchers.set(fd, cb);
      watchFd(fd);
      loop();
      return () => {
        if (watchers.delete(fd)) s.epoll_ctl(epfd, C.EPOLL_CTL_DEL, fd, ev);
      };
    },
    onSignal,
    close() {
      if (closed) return;
      closed = true;
      clearAll();
      s.posix_spawnattr_destroy(attr);
      // Wake a pending epoll_wait so the process can exit.
      s.write(wakefd, new BigUint64Array([1n]), 8);
      bunWait?.close(() => {
        s.close(epfd);
        s.close(wakefd);
      });
    },
  };
}
