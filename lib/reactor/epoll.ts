/**
 * The epoll reactor (Linux; Deno, and Bun through bun_wait.ts): children started with `posix_spawnp`
 * into a new session and process group, their output read from
 * non-blocking pipes, all in one epoll set waited on by a `nonblocking` FFI
 * call, so the JS event loop stays free while nothing happens. Timers and
 * signals use the runtime's own (setTimeout and signal listeners; signalfd
 * does not work with Deno's threads), except the spawn guard on Deno: a
 * `poll(NULL, 0, ms)` on a helper thread, so that a run whose jobs set no
 * timer never loads Deno's `node:timers` (its first `setTimeout` costs
 * 10-14 ms).
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
 * - after each wait, the set is polled again on the JS thread (timeout 0)
 *   while events keep coming, so a busy run rarely crosses threads; while a
 *   spawn is in flight, its return wakes the JS thread anyway, so the set is
 *   only polled then, and waited on (on a helper thread) once none is;
 * - each registered fd has one watcher (`epoll_set.ts`), so an event is
 *   dispatched by one lookup; a child's pipes, reap and exit live in its own
 *   object (`epoll_child.ts`); its peak RSS is decided in `peak_rss.ts`;
 * - every `posix_spawn_file_actions_*` call is checked: a failing one becomes
 *   the job's start error, never a child half set up; so does a pipe that
 *   cannot be had (`pipe2: Too many open files`), the pipes already opened
 *   closed, never an exception from `spawn`.
 *
 * @module
 */
import { bunSpawns } from "./bun_spawn.ts";
import { createBunWait } from "./bun_wait.ts";
import { type ChildContext, EpollChild, READ_SIZE } from "./epoll_child.ts";
import { EpollSet } from "./epoll_set.ts";
import {
  bufferAddress,
  C,
  cstr,
  errno,
  type Libc,
  libc,
  sessionSpawnAttr,
  strerror,
} from "./libc.ts";
import { CStrings } from "./cstrings.ts";
import { PeakRss } from "./peak_rss.ts";
import { type Holder, signalHolder } from "./pipe_holders.ts";
import { killGroup, signalName, spawnTerminal, startError } from "./portable.ts";
import { type StdinPipe, stdinPipe } from "./stdin_pipe.ts";
import { createTimers, onSignal } from "./timers.ts";
import { isBun } from "../runtime/mod.ts";
import type { ChildHandle, Reactor, SpawnRequest } from "./types.ts";

const MAX_EVENTS = 64;
/** Polls on the JS thread (timeout 0) after a wait, while they find events. */
const MAX_POLLS = 64;
/** How long spawns in flight may go without one returning before loop waits anyway. */
const SPAWN_GUARD_MS = 20;
/** How often the children with a `lingerMs` are looked at (`EpollChild.linger`). */
const LINGER_LOOK_MS = 250;

/** What `createEpollReactor` may be given. */
export interface EpollOptions {
  /** libc to call (default: `libc()`); tests pass one whose calls fail, beside the real one. */
  libc?: Libc;
}

/**
 * The wait on the set and the dispatch of its events: one lookup per event
 * (`EpollSet.get`), then the watcher's kind says what to do.
 */
class EventLoop {
  /** Spawns in flight: their `posix_spawnp` has not returned yet. */
  spawning = 0;
  /** Spawns that have returned (for the guard in `run`). */
  returned = 0;
  /** Called once no spawn is in flight (`afterSpawns`). */
  private spawnWaiters: (() => void)[] = [];
  closed = false;
  private waiting = false;
  /** At close: closes the set, once no wait on it is pending (a reused fd number must never be waited on). */
  private release?: () => void;
  /**
   * While spawns are in flight the set is only polled (see `run`). So that a
   * spawn that takes long (an exec on a hung file system) cannot hold back
   * the other children, a timer makes `run` wait on the helper thread anyway
   * when no spawn has returned since it was set.
   */
  private guard = false;
  private forceWait = false;
  private readonly events = new Uint8Array(MAX_EVENTS * C.SIZEOF_EPOLL_EVENT);
  private readonly eventsView = new DataView(this.events.buffer);
  private readonly wakeBuf = new BigUint64Array(1);
  /** On Bun, a Worker waits on the set (FFI calls block there); Deno waits on a helper thread. */
  readonly bunWait;

  constructor(
    private readonly s: Libc["symbols"],
    private readonly set: EpollSet,
    private readonly guardTimer: (ms: number, cb: () => void) => void,
  ) {
    this.bunWait = isBun ? createBunWait(set.fd) : undefined;
  }

  /** Handles `n` events collected in `events`. */
  private dispatch(n: number): void {
    for (let i = 0; i < n; i++) {
      const at = i * C.SIZEOF_EPOLL_EVENT;
      const fd = this.eventsView.getUint32(at + 4, true);
      const w = this.set.get(fd);
      if (!w) continue; // unregistered by an earlier event of this batch
      switch (w.kind) {
        case "pipe":
          w.child.pipeReady(fd, this.eventsView.getUint32(at, true));
          break;
        case "pidfd":
          w.child.exited();
          break;
        case "wake":
          this.s.read(fd, this.wakeBuf, 8);
          break;
        case "fd":
          w.cb();
          break;
        case "stdin":
          w.writable();
          break;
        default: {
          const _assertNever: never = w;
          throw new Error(`unknown watcher ${JSON.stringify(_assertNever)}`);
        }
      }
    }
  }

  /**
   * More is often ready already (children exit while others spawn): polls
   * the set on this thread (timeout 0), a bounded number of times.
   */
  private pollNow(): void {
    for (let k = 0; k < MAX_POLLS && !this.closed; k++) {
      const m: number = this.s.epoll_wait_now(this.set.fd, this.events, MAX_EVENTS, 0);
      if (m <= 0) break;
      this.dispatch(m);
    }
  }

  /**
   * While a spawn is in flight: poll only (its return wakes this thread and
   * calls `run` again), with a guard against a spawn that does not return.
   */
  private pollWhileSpawning(): void {
    this.pollNow();
    if (this.guard) return;
    const mark = this.returned;
    this.guardTimer(SPAWN_GUARD_MS, () => {
      this.guard = false;
      if (this.spawning === 0 || this.closed) return;
      // No spawn returned in the meantime: wait on the set anyway. Either way
      // run() again, which sets a new guard while it still only polls (a
      // slow spawn must not hold back the other children's events).
      if (this.returned === mark) this.forceWait = true;
      this.run();
    });
    this.guard = true; // after the call: one that throws leaves no guard armed for good
  }

  /**
   * Moves `fd`'s event, if among the `n` collected, to the front: the one the Bun wait worker
   * took first, which its wait sent to the back of the kernel's ready list.
   */
  private putFirst(fd: number, n: number): void {
    const size = C.SIZEOF_EPOLL_EVENT;
    for (let i = 1; i < n; i++) {
      if (this.eventsView.getUint32(i * size + 4, true) !== fd) continue;
      const ev = this.events.slice(i * size, (i + 1) * size);
      this.events.copyWithin(size, 0, i * size);
      this.events.set(ev, 0);
      return;
    }
  }

  /** One wait for events: the count collected in `events` (< 0 on failure). */
  private async waitOnce(): Promise<number> {
    if (this.bunWait) {
      const first = await this.bunWait.ready();
      this.forceWait = false;
      if (this.closed) return 0;
      const n: number = this.s.epoll_wait_now(this.set.fd, this.events, MAX_EVENTS, 0);
      this.putFirst(first, n);
      return n;
    }
    const n: number = await this.s.epoll_wait(this.set.fd, this.events, MAX_EVENTS, -1);
    this.forceWait = false;
    // Closed while the wait was pending: what it collected is not handled.
    return this.closed ? 0 : n;
  }

  /**
   * At close (the wake fd written): `release` runs once no wait on the set is
   * pending and no spawn is in flight (its return registers the child's pipes).
   */
  shutdown(release: () => void): void {
    this.release = release;
    this.releaseIfIdle();
  }

  /** Calls `cb` once no spawn is in flight: at once when none is. */
  afterSpawns(cb: () => void): void {
    if (this.spawning === 0) cb();
    else this.spawnWaiters.push(cb);
  }

  /**
   * Runs the release `shutdown` left, once nothing uses the set any more (on
   * Bun, the wait worker is stopped first; its pending wait never resolves).
   */
  releaseIfIdle(): void {
    if (this.spawning === 0 && this.spawnWaiters.length) {
      for (const cb of this.spawnWaiters.splice(0)) cb();
    }
    if (!this.closed || this.spawning > 0 || !this.release) return;
    if (!this.bunWait && this.waiting) return;
    const release = this.release;
    this.release = undefined;
    if (this.bunWait) this.bunWait.close(release);
    else release();
  }

  /** Waits and dispatches while anything is registered (one wait pending at a time). */
  async run(): Promise<void> {
    if (this.waiting || this.closed) return;
    this.waiting = true;
    let failures = 0;
    try {
      while (!this.closed && this.set.busy) {
        if (this.spawning > 0 && !this.forceWait) {
          this.pollWhileSpawning();
          break;
        }
        const n = await this.waitOnce();
        if (n < 0) {
          // errno lives on the helper thread that made the call, so it cannot
          // be read here; the usual cause is EINTR (a SIGCHLD). Retry, but
          // not forever on a persistent error.
          if (++failures > 1000) throw new Error("epoll_wait keeps failing");
          continue;
        }
        failures = 0;
        this.dispatch(n);
        this.pollNow();
      }
    } finally {
      this.waiting = false;
      this.releaseIfIdle();
    }
  }
}

/** What a spawn in flight uses (file actions, pid, pointer arrays), reused by later spawns. */
interface SpawnBuffers {
  fa: Uint8Array;
  pid: Int32Array;
  ptrs: Uint32Array;
  /**
   * While the call is in flight: what it points into that nothing else may
   * keep (the C strings' slab, which a later spawn can replace; the program's
   * path, which `cpath` can forget). A property, not a closure's variable
   * read only by `void`: Bun's transpiler drops such an expression, and the
   * variable with it.
   */
  keep?: unknown[];
}

/** One pipe, both ends close-on-exec. */
interface Pipe {
  r: number;
  w: number;
}

/**
 * A child's pipes: its stdout and stderr (none when it inherits jx's:
 * `SpawnRequest.inheritOutput`), and its stdin when it has one.
 */
interface ChildPipes {
  out?: Pipe;
  err?: Pipe;
  stdin?: StdinPipe;
}

/**
 * Sets up a spawn's file actions (stdin, the two pipes, the working
 * directory); on a failing call, destroys them and says which call failed
 * and why (the spawn must not go ahead half set up). Without pipes the child
 * keeps jx's fds 1 and 2 (never close-on-exec: jx got them through exec).
 */
function fileActions(
  s: Libc["symbols"],
  fa: Uint8Array,
  stdinFd: number,
  { out, err }: ChildPipes,
  cwd: Uint8Array,
): string | undefined {
  let e: number = s.posix_spawn_file_actions_init(fa);
  if (e !== 0) return `posix_spawn_file_actions_init: ${strerror(e)}`;
  const failed = (call: string) => {
    s.posix_spawn_file_actions_destroy(fa);
    return `posix_spawn_file_actions_${call}: ${strerror(e)}`;
  };
  if (stdinFd >= 0) {
    if ((e = s.posix_spawn_file_actions_adddup2(fa, stdinFd, 0)) !== 0) return failed("adddup2");
  } else if ((e = s.posix_spawn_file_actions_addopen(fa, 0, DEVNULL, C.O_RDONLY, 0)) !== 0) {
    return failed("addopen");
  }
  if (out && (e = s.posix_spawn_file_actions_adddup2(fa, out.w, 1)) !== 0) return failed("adddup2");
  if (err && (e = s.posix_spawn_file_actions_adddup2(fa, err.w, 2)) !== 0) return failed("adddup2");
  if ((e = s.posix_spawn_file_actions_addchdir_np(fa, cwd)) !== 0) return failed("addchdir_np");
  return undefined;
}

const DEVNULL = cstr("/dev/null");

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
export function createEpollReactor(opts: EpollOptions = {}): Reactor {
  const s = (opts.libc ?? libc()).symbols;
  const set = new EpollSet(s);
  const { setTimer, clearTimer, stopSelf, clearAll } = createTimers();
  // The guard never needs cancelling (it checks the loop when it fires); on Deno it sleeps on a
  // helper thread rather than through setTimeout (see the module's comment).
  const guardTimer = isBun
    ? (ms: number, cb: () => void) => void setTimer(ms, cb)
    : (ms: number, cb: () => void) => void s.sleep_ms(null, 0, ms).then(cb);
  const loop = new EventLoop(s, set, guardTimer);
  // Never at once: while a spawn is in flight the loop polls on this thread, and a kick from
  // inside `watch`, `spawn` or a stdin write would run callbacks before their caller returned
  // (a watch callback before its caller held the cancel: "epoll_ctl: File exists" under make).
  let kickQueued = false;
  const kick = () => {
    if (kickQueued) return;
    kickQueued = true;
    queueMicrotask(() => {
      kickQueued = false;
      void loop.run();
    });
  };
  // The children with a `lingerMs`, looked at every LINGER_LOOK_MS while there are any (on the
  // guard's sleep: no `setTimeout` on Deno for a run of quick jobs).
  const lingering = new Set<EpollChild>();
  let looking = false;
  const look = () => {
    if (loop.closed) return void (looking = false);
    const now = performance.now();
    for (const c of lingering) if (c.linger(now)) lingering.delete(c);
    looking = lingering.size > 0;
    if (looking) guardTimer(LINGER_LOOK_MS, look);
  };
  const ctx: ChildContext = {
    live: new Set(),
    s,
    set,
    readBuf: new Uint8Array(READ_SIZE),
    peaks: new PeakRss(),
    setTimer,
    lingerWatch(child) {
      lingering.add(child);
      if (looking) return;
      looking = true;
      guardTimer(LINGER_LOOK_MS, look);
    },
  };
  const spawner = new Spawner(s, ctx, loop, kick);
  return {
    name: "epoll",
    now: () => performance.now(),
    spawn: (req) => spawner.spawn(req),
    setTimer,
    clearTimer,
    watch(fd, cb) {
      const w = { kind: "fd", cb } as const;
      set.add(fd, w);
      kick();
      return () => void set.remove(fd, w);
    },
    onSignal,
    stopSelf,
    afterSpawns: (cb) => loop.afterSpawns(cb),
    close() {
      if (loop.closed) return;
      loop.closed = true;
      clearAll();
      // Their exits reported now (they are killed): nothing would wait for them after.
      for (const child of [...ctx.live]) child.abandon();
      spawner.close();
      // Wake a pending epoll_wait so the process can exit.
      set.wake();
      loop.shutdown(() => {
        s.close(set.fd);
        s.close(set.wakefd);
      });
    },
  };
}

/**
 * Starts children: `posix_spawnp` on a helper thread on Deno (its return
 * comes back as a promise); on Bun on the JS thread (its vfork suspends the
 * JS thread until the child execs) for a reactor's first spawns, then on
 * workers' threads (bun_spawn.ts).
 */
class Spawner {
  /**
   * What every spawn shares, built once: a new session and process group,
   * every signal at its default disposition, an empty signal mask.
   */
  private readonly attr = sessionSpawnAttr();
  private readonly spare: SpawnBuffers[] = [];
  /** C strings of working directories and programs, by value (few distinct ones). */
  private readonly paths = new Map<string, Uint8Array>();
  private readonly strings = new CStrings(bufferAddress);
  private readonly pipeFds = new Int32Array(2);
  /** On Bun, past the process's first spawns: `posix_spawnp` on workers' threads. */
  private readonly bunSpawns = bunSpawns;

  constructor(
    private readonly s: Libc["symbols"],
    private readonly ctx: ChildContext,
    private readonly loop: EventLoop,
    private readonly kick: () => void,
  ) {}

  close(): void {
    this.s.posix_spawnattr_destroy(this.attr);
  }

  private cpath(p: string): Uint8Array {
    let b = this.paths.get(p);
    if (!b) {
      if (this.paths.size > 1000) this.paths.clear();
      this.paths.set(p, b = cstr(p));
    }
    return b;
  }

  /** A pipe, both ends close-on-exec; or why none could be had (`pipe2: Too many open files`). */
  private pipe(): Pipe | string {
    if (this.s.pipe2(this.pipeFds, C.O_CLOEXEC) === 0) {
      return { r: this.pipeFds[0], w: this.pipeFds[1] };
    }
    return `pipe2: ${strerror(errno())}`;
  }

  /**
   * The pipes of `req`'s child: stdout, stderr and, when asked for, stdin.
   * When one cannot be had (no file descriptor left), those already opened
   * are closed and the reason is returned instead.
   */
  private openPipes(req: SpawnRequest): ChildPipes | string {
    let stdin: StdinPipe | undefined;
    try {
      stdin = req.stdin === "pipe" ? stdinPipe(this.s, this.ctx.set, this.kick) : undefined;
    } catch (e) {
      return (e as Error).message; // stdinPipe's `pipe2: ...`: it left nothing open
    }
    if (req.inheritOutput) return { stdin };
    const out = this.pipe();
    if (typeof out === "string") {
      stdin?.closeBoth();
      return out;
    }
    const err = this.pipe();
    if (typeof err === "string") {
      this.s.close(out.r);
      this.s.close(out.w);
      stdin?.closeBoth();
      return err;
    }
    return { out, err, stdin };
  }

  /** Starts `req`'s child; its start, output and exit come through `req`'s callbacks. */
  spawn(req: SpawnRequest): ChildHandle {
    // Its epoll set and spawn attributes are gone: nothing starts.
    if (this.loop.closed) {
      reportNotStarted(req, "the reactor is closed");
      return new Handle(undefined);
    }
    // An interactive job has no pipes to watch: the runtime's own spawn, fds 0-2 inherited.
    if (req.terminal) return spawnTerminal(req);
    const pipes = this.openPipes(req);
    if (typeof pipes === "string") {
      // Nothing was spawned: the reason is the child's exit, as a failing posix_spawn's is.
      reportNotStarted(req, pipes);
      return new Handle(undefined);
    }
    const { stdin } = pipes;
    const buf = this.spare.pop() ??
      {
        fa: new Uint8Array(C.SIZEOF_FILE_ACTIONS),
        pid: new Int32Array(1),
        ptrs: new Uint32Array(256),
        keep: undefined,
      };
    const h = new Handle(stdin);
    const failed = fileActions(this.s, buf.fa, stdin?.readEnd ?? -1, pipes, this.cpath(req.cwd));
    const started = (e: number, pid: number) => {
      if (!failed) this.s.posix_spawn_file_actions_destroy(buf.fa);
      if (this.spare.length < 64) this.spare.push(buf);
      this.started(req, h, pipes, e === 0 ? undefined : failed ?? whyNot(e), pid);
    };
    if (failed) started(-1, 0);
    else this.launch(req, buf, started);
    return h;
  }

  /** Calls `posix_spawnp` with `buf`'s file actions; `started(err, pid)` once it returned. */
  private launch(
    req: SpawnRequest,
    buf: SpawnBuffers,
    started: (err: number, pid: number) => void,
  ): void {
    const { argv, envp } = this.strings.arrays(req.argv, req.env);
    const file = this.cpath(req.argv[0]);
    // The pointer arrays are copied into this spawn's buffers (the next
    // spawn refills `strings`' own); the slab they point into is kept alive
    // until the call returns.
    const na = argv.length, ne = envp.length;
    if (buf.ptrs.length < na + ne) buf.ptrs = new Uint32Array(2 * (na + ne));
    buf.ptrs.set(argv, 0);
    buf.ptrs.set(envp, na);
    const argvPtrs = buf.ptrs.subarray(0, na);
    const envPtrs = buf.ptrs.subarray(na, na + ne);
    const call = isBun
      ? this.bunSpawns.spawn(buf.pid, file, buf.fa, this.attr, argvPtrs, envPtrs)
      : this.s.posix_spawnp_async(buf.pid, file, buf.fa, this.attr, argvPtrs, envPtrs);
    if (call === undefined) {
      // Bun, no worker (yet): spawn here (vfork + exec), report the start after `spawn` has
      // returned, as otherwise.
      const e: number = this.s.posix_spawnp(buf.pid, file, buf.fa, this.attr, argvPtrs, envPtrs);
      queueMicrotask(() => started(e, buf.pid[0]));
      return;
    }
    // Alive until the call returned (a worker's or helper thread's call reads them meanwhile).
    buf.keep = [this.strings.slab, file, argvPtrs, envPtrs, this.attr];
    this.loop.spawning++;
    call.then((e: number) => {
      buf.keep = undefined;
      this.loop.spawning--;
      this.loop.returned++;
      started(e, buf.pid[0]);
      this.loop.releaseIfIdle();
    });
  }

  /** The spawn returned: the child is registered, or `error` is reported as its exit. */
  private started(
    req: SpawnRequest,
    h: Handle,
    fds: ChildPipes,
    error: string | undefined,
    pid: number,
  ): void {
    const { out, err, stdin } = fds;
    for (const p of [out, err]) if (p) this.s.close(p.w);
    stdin?.spawned();
    if (error !== undefined) {
      for (const p of [out, err]) if (p) this.s.close(p.r);
      stdin?.drop();
      reportNotStarted(req, error);
      this.kick(); // it may have stopped waiting for this spawn
      return;
    }
    h.pid = pid;
    h.child = new EpollChild(
      this.ctx,
      req,
      pid,
      out?.r ?? -1,
      err?.r ?? -1,
      stdin && (() => stdin.drop()),
    );
    req.onStart?.(pid);
    h.sendPending();
    if (this.loop.closed) h.child.abandon(); // closed while its spawn was in flight
    this.kick();
  }
}

/**
 * A child that could not be started: `error` (why) is reported as its exit,
 * asynchronously, as a start that failed later would be; `onStart` is never called.
 */
function reportNotStarted(req: SpawnRequest, error: string): void {
  const status = {
    code: null,
    signal: null,
    error: startError(req.argv[0], req.cwd, error),
  };
  queueMicrotask(() => req.onExit(status));
}

/** A spawn error number in words. */
function whyNot(e: number): string {
  // In lower case, as the portable reactor words it ("Not a directory": "not a directory").
  const text = e === 2 ? "no such file or directory" : strerror(e);
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/**
 * The handle `spawn` returns; signals sent before the start are sent once it is known.
 *
 * A signal (but a Ctrl-Z's SIGSTOP and SIGCONT) reaches the child's group (`killGroup`) and
 * also every other process that holds its output pipes open (`pipe_holders.ts`): a `setsid`
 * child that outlived its parent is linked to the job by nothing else, and would keep the job
 * (and a timed out or stopped run) waiting for its end.
 */
class Handle implements ChildHandle {
  pid = 0;
  /** Its pipes and exit, once started. */
  child?: EpollChild;
  private pending: string[] = [];
  /** The groups below its own found at a signal before a SIGKILL (`killGroup`). */
  private seen = new Set<number>();

  constructor(private readonly stdin: StdinPipe | undefined) {}

  /** Sends the signals asked for before the start (`pid` is set). */
  sendPending(): void {
    for (const sig of this.pending) this.send(sig);
    this.pending = [];
  }

  kill(sig: string): void {
    if (this.pid) this.send(sig);
    else this.pending.push(sig);
  }

  private send(sig: string): void {
    const name = signalName(sig) ?? sig;
    let holders: Holder[] = [];
    if (name !== "SIGSTOP" && name !== "SIGCONT" && this.child) {
      this.child.signalled = true;
      // Outside its group (which the group's signal reaches), found before that signal.
      holders = this.child.holders().filter((h) => h.pgrp !== this.pid);
    }
    killGroup(this.pid, sig, this.seen);
    for (const h of holders) signalHolder(h, name);
  }

  write(data: Uint8Array | string): void {
    this.stdin?.write(data);
  }

  closeStdin(): void {
    this.stdin?.close();
  }

  stdinPending(): number {
    return this.stdin?.pending ?? 0;
  }

  stdinOpen(): boolean {
    return this.stdin?.open ?? false;
  }

  stdinLost(): number {
    return this.stdin?.lost ?? 0;
  }
}
