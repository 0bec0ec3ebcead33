/**
 * The epoll reactor (Linux, Deno): children started with `posix_spawnp`
 * into a new session and process group, their output read from
 * non-blocking pipes and their exit seen through a pidfd, all in one epoll
 * set waited on by a single `nonblocking` FFI call, so the JS event loop
 * stays free. Timers and signals use the runtime's own (setTimeout and
 * signal listeners; signalfd does not work with Deno's threads).
 *
 * Why: on Deno, `Deno.Command` with `detached: true` forks the whole
 * runtime for every child; `posix_spawn` uses vfork and sets the session up
 * in the child (POSIX_SPAWN_SETSID), with default signal dispositions and an
 * empty signal mask (Deno ignores SIGPIPE, which children must not inherit).
 *
 * @module
 */
import { C, cstr, errno, type Libc, libc, spawnInSession, strerror } from "./libc.ts";
import { killGroup, signalName } from "./portable.ts";
import { createTimers, onSignal } from "./timers.ts";
import type { ChildHandle, ExitStatus, Reactor, SpawnRequest } from "./types.ts";

/** One watched child. */
interface Child {
  req: SpawnRequest;
  pid: number;
  pidfd: number;
  /** Open read ends, by stream. */
  fds: Map<number, "stdout" | "stderr">;
  exit?: ExitStatus;
  /** onExit was called. */
  reported?: boolean;
  /** Closes jx's end of the child's stdin pipe, dropping what is queued (at exit). */
  dropStdin?: () => void;
}

/** Reads of up to 1 MiB, from pipes enlarged to 1 MiB (fewer wakeups for a job that floods). */
const READ_SIZE = 1024 * 1024;
const MAX_EVENTS = 64;

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
  const epfd: number = s.epoll_create1(C.O_CLOEXEC);
  if (epfd < 0) throw new Error(`epoll_create1: ${strerror(errno())}`);
  const wakefd: number = s.eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK);
  /** What each registered fd belongs to. */
  const owners = new Map<number, Child>();
  /** Callbacks for fds watched with `watch` (the jobserver's read end). */
  const watchers = new Map<number, () => void>();
  /** Stdin write ends with data queued, waiting to be writable (EPOLLOUT). */
  const writers = new Map<number, () => void>();
  const byPidfd = new Map<number, Child>();
  const readBuf = new Uint8Array(READ_SIZE);
  const events = new Uint8Array(MAX_EVENTS * C.SIZEOF_EPOLL_EVENT);
  const eventsView = new DataView(events.buffer);
  const statusBuf = new Int32Array(1);
  const rusage = new Uint8Array(C.SIZEOF_RUSAGE);
  const rusageView = new DataView(rusage.buffer);
  const ev = new Uint8Array(C.SIZEOF_EPOLL_EVENT);
  const evView = new DataView(ev.buffer);
  let waiting = false;
  /** Spawns in flight on helper threads. */
  let pending = 0;
  let closed = false;
  const { setTimer, clearTimer, clearAll } = createTimers();

  const watchFd = (fd: number, events: number = C.EPOLLIN) => {
    evView.setUint32(0, events, true);
    evView.setBigUint64(4, BigInt(fd), true);
    if (s.epoll_ctl(epfd, C.EPOLL_CTL_ADD, fd, ev) < 0) {
      throw new Error(`epoll_ctl: ${strerror(errno())}`);
    }
  };
  const unwatch = (fd: number) => {
    s.epoll_ctl(epfd, C.EPOLL_CTL_DEL, fd, ev);
    s.close(fd);
  };
  watchFd(wakefd);

  const maybeDone = (c: Child) => {
    if (c.exit && c.fds.size === 0 && !c.reported) {
      c.reported = true;
      c.req.onExit(c.exit);
    }
  };

  /** Reads what is there; closes the fd at end of file. */
  const drain = (fd: number, c: Child) => {
    const stream = c.fds.get(fd)!;
    for (;;) {
      const n = Number(s.read(fd, readBuf, READ_SIZE));
      if (n > 0) {
        // A view of the read buffer: valid during the call only (see SpawnRequest.onOutput).
        c.req.onOutput(stream, readBuf.subarray(0, n));
        if (n < READ_SIZE) return; // likely empty now; epoll says if not
        continue;
      }
      if (n === 0) {
        c.fds.delete(fd);
        owners.delete(fd);
        unwatch(fd);
        return maybeDone(c);
      }
      const e = errno();
      if (e === C.EINTR) continue;
      if (e === C.EAGAIN) return;
      c.fds.delete(fd);
      owners.delete(fd);
      unwatch(fd);
      return maybeDone(c);
    }
  };

  const reap = (pidfd: number, c: Child) => {
    // wait4 by pid (safe: the pidfd we hold keeps the pid from being reused)
    // gives the status and the child's CPU times. Its ru_maxrss is not the
    // child's own peak after a vfork-style spawn, so it is not reported.
    const r = s.wait4(c.pid, statusBuf, C.WNOHANG, rusage);
    byPidfd.delete(pidfd);
    owners.delete(pidfd);
    unwatch(pidfd);
    c.dropStdin?.();
    if (r <= 0) {
      c.exit = { code: null, signal: null };
    } else {
      const st = statusBuf[0];
      const tv = (off: number) =>
        Number(rusageView.getBigInt64(off, true)) * 1000 +
        Number(rusageView.getBigInt64(off + 8, true)) / 1000;
      const cpu = { userMs: tv(0), sysMs: tv(16) };
      c.exit = (st & 0x7f) === 0
        ? { code: (st >> 8) & 0xff, signal: null, cpu }
        : { code: null, signal: signalName(st & 0x7f), cpu };
    }
    // Output written just before exit may still be in the pipes.
    for (const fd of [...c.fds.keys()]) drain(fd, c);
    maybeDone(c);
  };

  const dispatch = (n: number) => {
    for (let i = 0; i < n; i++) {
      const fd = Number(eventsView.getBigUint64(i * C.SIZEOF_EPOLL_EVENT + 4, true));
      if (fd === wakefd) {
        s.read(wakefd, readBuf, 8);
        continue;
      }
      const w = watchers.get(fd) ?? writers.get(fd);
      if (w) {
        w();
        continue;
      }
      const c = owners.get(fd);
      if (!c) continue;
      if (byPidfd.has(fd)) reap(fd, c);
      else drain(fd, c);
    }
  };

  const loop = async () => {
    if (waiting || closed) return;
    waiting = true;
    let failures = 0;
    try {
      while (!closed && (owners.size > 0 || watchers.size > 0 || writers.size > 0)) {
        const n: number = await s.epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
          // errno lives on the helper thread that made the call, so it cannot
          // be read here; the usual cause is EINTR (a SIGCHLD). Retry, but
          // not forever on a persistent error.
          if (++failures > 1000) throw new Error("epoll_wait keeps failing");
          continue;
        }
        failures = 0;
        dispatch(n);
        // More may be ready already (a pipe refilled while we read): look
        // again on this thread, a bounded number of times, before waiting.
        for (let k = 0; k < 32 && !closed; k++) {
          const m: number = s.epoll_wait_now(epfd, events, MAX_EVENTS, 0);
          if (m <= 0) break;
          dispatch(m);
        }
      }
    } finally {
      waiting = false;
    }
  };

  /**
   * Starts a child. `posix_spawnp` runs on a helper thread (its caller waits
   * until the child has exec'd, about half a millisecond), so the event loop
   * goes on meanwhile and several spawns proceed at once.
   */
  const spawn = (req: SpawnRequest): ChildHandle => {
    const stdin = req.stdin === "pipe" ? stdinPipe() : undefined;
    const pipes = new Int32Array(4);
    if (s.pipe2(pipes.subarray(0, 2), C.O_CLOEXEC) < 0) {
      const e = errno();
      stdin?.closeBoth();
      throw new Error(`pipe2: ${strerror(e)}`);
    }
    if (s.pipe2(pipes.subarray(2, 4), C.O_CLOEXEC) < 0) {
      const e = errno();
      s.close(pipes[0]);
      s.close(pipes[1]);
      stdin?.closeBoth();
      throw new Error(`pipe2: ${strerror(e)}`);
    }
    let pid = 0;
    let pendingSignals: string[] = [];
    pending++;
    spawnInSession(req.argv, req.env, (fa) => {
      const devnull = cstr("/dev/null");
      const dir = cstr(req.cwd);
      if (stdin) s.posix_spawn_file_actions_adddup2(fa, stdin.readEnd, 0);
      else s.posix_spawn_file_actions_addopen(fa, 0, devnull, C.O_RDONLY, 0);
      s.posix_spawn_file_actions_adddup2(fa, pipes[1], 1);
      s.posix_spawn_file_actions_adddup2(fa, pipes[3], 2);
      s.posix_spawn_file_actions_addchdir_np(fa, dir);
      return [devnull, dir];
    }).then(({ err, pid: spawned }) => {
      pending--;
      s.close(pipes[1]);
      s.close(pipes[3]);
      stdin?.spawned();
      if (err !== 0) {
        s.close(pipes[0]);
        s.close(pipes[2]);
        stdin?.drop();
        const why = err === 2 ? "no such file or directory" : strerror(err);
        req.onExit({
          code: null,
          signal: null,
          error: `cannot start '${req.argv[0]}' in ${req.cwd}: ${why}`,
        });
        return;
      }
      pid = spawned;
      const pidfd = Number(s.syscall(C.SYS_pidfd_open, pid, 0));
      const c: Child = {
        req,
        pid,
        pidfd,
        fds: new Map([[pipes[0], "stdout"], [pipes[2], "stderr"]]),
        dropStdin: stdin?.drop,
      };
      for (const fd of [pipes[0], pipes[2]]) {
        s.fcntl(fd, C.F_SETFL, s.fcntl(fd, C.F_GETFL, 0) | C.O_NONBLOCK);
        s.fcntl(fd, C.F_SETPIPE_SZ, READ_SIZE); // best effort: the limit may be lower
        owners.set(fd, c);
        watchFd(fd);
      }
      owners.set(pidfd, c);
      byPidfd.set(pidfd, c);
      watchFd(pidfd);
      req.onStart?.(pid);
      for (const sig of pendingSignals) killGroup(pid, sig);
      pendingSignals = [];
      loop();
    });
    return {
      get pid() {
        return pid;
      },
      kill: (sig) => pid ? killGroup(pid, sig) : pendingSignals.push(sig),
      write: (data) => stdin?.write(data),
      closeStdin: () => stdin?.close(),
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
    let closing = false;
    const enc = new TextEncoder();
    /** Forgets the write end: closes it, drops the queue. */
    const drop = () => {
      if (fd < 0) return;
      if (writers.delete(fd)) s.epoll_ctl(epfd, C.EPOLL_CTL_DEL, fd, ev);
      s.close(fd);
      fd = -1;
      queue.length = 0;
    };
    /** Writes what is queued; false when the pipe is full (or gone). */
    const flush = (): boolean => {
      while (queue.length && fd >= 0) {
        const head = queue[0];
        const n = Number(s.write(fd, head, head.length));
        if (n >= 0) {
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
      write(data: Uint8Array | string) {
        if (fd < 0 || closing) return;
        const bytes = typeof data === "string" ? enc.encode(data) : data.slice();
        if (!bytes.length) return;
        queue.push(bytes);
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
      closed = true;
      clearAll();
      // Wake a pending epoll_wait so the process can exit.
      s.write(wakefd, new BigUint64Array([1n]), 8);
    },
  };
}
