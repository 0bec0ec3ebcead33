/**
 * `Reactor.watch(fd, cb)` on Bun, where FFI calls block: a Worker owns an
 * epoll set and waits in a blocking `epoll_wait`; the main thread adds fds
 * with `EPOLL_CTL_ADD` and `EPOLLIN | EPOLLONESHOT` (epoll_ctl on the set
 * from another thread is safe while the worker waits), the worker posts the
 * ready fds, the main thread calls each callback and re-arms the fd
 * (`EPOLL_CTL_MOD`) if it is still watched. Level-triggered and one-shot: a
 * callback that leaves data unread is called again, and a ready fd wakes the
 * worker once until the main thread has handled it. Each registration puts
 * a generation number beside its fd in the event's data, so a message about
 * an fd unwatched (and perhaps watched again) since is dropped.
 *
 * The worker runs from a Blob URL holding its source, so it works the same
 * from `bun cli.ts` and from a `bun build --compile` binary (a worker file
 * would have to be another entry point of the build). It is created on the
 * first `watch`, is ref'd while something is watched (like the Deno epoll
 * reactor, a watch keeps the process alive) and unref'd otherwise; `close`
 * wakes it through an eventfd in the set, and the set is closed once the
 * worker says it has left `epoll_wait`, never before (the number could be
 * reused by another reactor's set).
 *
 * Why postMessage rather than SharedArrayBuffer + Atomics.waitAsync:
 * bench/bun_watch.ts measured both (bench/RESULTS.md).
 *
 * @module
 */
import { C, errno, libc, strerror } from "./libc.ts";
import { isBun, osName } from "../runtime/mod.ts";

/**
 * The start of the source of a Worker that waits in `epoll_wait`: libc bound
 * in the worker's own thread (FFI functions are per thread), as `ffi` and
 * `L` (`L.epoll_wait`, `L.__errno_location`).
 */
export const EPOLL_WORKER_PRELUDE = `
const ffi = require("bun:ffi");
const L = ffi.dlopen("libc.so.6", {
  epoll_wait: { args: ["i32", "buffer", "i32", "i32"], returns: "i32" },
  __errno_location: { args: [], returns: "ptr" },
}).symbols;
`;

/**
 * A Worker on Bun, which can be told whether it keeps the process alive
 * (bun-types' `Bun.Worker`; Deno's Worker type has no such methods).
 */
export interface BunWorker extends Worker {
  ref?(): void;
  unref?(): void;
}

const workerUrls = new Map<string, string>();

/**
 * A Blob URL holding a worker's source, one per source for the process and
 * never revoked (Bun loads the worker after the constructor returns): it
 * works the same from `bun cli.ts` and from a `bun build --compile` binary,
 * where a worker file would have to be another entry point of the build.
 *
 * @example On Bun only
 * ```ts ignore
 * import { EPOLL_WORKER_PRELUDE, workerUrlOf } from "./bun_watcher.ts";
 * const w = new Worker(workerUrlOf(EPOLL_WORKER_PRELUDE + "self.onmessage = () => {};"));
 * ```
 */
export function workerUrlOf(source: string): string {
  let url = workerUrls.get(source);
  if (!url) {
    url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    workerUrls.set(source, url);
  }
  return url;
}

/**
 * The worker: binds epoll_wait itself (FFI functions are per thread), then
 * waits until the eventfd named `wakefd` is readable. Each wake posts the
 * ready registrations as a flat array `[fd, gen, fd, gen, ...]`; the end
 * posts "done".
 */
const WORKER_SOURCE = EPOLL_WORKER_PRELUDE + `
self.onmessage = (e) => {
  const { epfd, wakefd } = e.data;
  const MAX = 64;
  const evs = new Uint8Array(12 * MAX);
  const view = new DataView(evs.buffer);
  let why = "woken";
  for (;;) {
    const n = L.epoll_wait(epfd, evs, MAX, -1);
    if (n < 0) {
      const err = ffi.read.i32(L.__errno_location(), 0);
      if (err === 4) continue;
      why = "epoll_wait errno " + err;
      break;
    }
    const ready = [];
    let stop = false;
    for (let i = 0; i < n; i++) {
      const fd = view.getInt32(i * 12 + 4, true);
      const gen = view.getUint32(i * 12 + 8, true);
      if (fd === wakefd && gen === 0) stop = true;
      else ready.push(fd, gen);
    }
    if (ready.length) postMessage(ready);
    if (stop) break;
  }
  postMessage(why);
};
`;

/** One registration. */
interface Entry {
  cb: () => void;
  gen: number;
}

/** What the portable reactor adds on Bun. */
export interface BunWatcher {
  /** `Reactor.watch`: calls `cb` whenever `fd` is readable, until the returned function is called. */
  watch(fd: number, cb: () => void): () => void;
  /** Wakes and ends the worker; the set is closed once it has stopped waiting. */
  close(): void;
}

/**
 * Whether `watch` can be offered here: Bun on Linux with libc through
 * `bun:ffi` and Workers.
 */
export function bunWatchAvailable(): boolean {
  if (!isBun || osName() !== "linux" || typeof Worker !== "function") return false;
  try {
    libc();
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates the watcher (nothing is started before the first `watch`).
 */
export function createBunWatcher(): BunWatcher {
  return new EpollWatcher();
}

/** The watcher: the epoll set, its wake eventfd and the worker waiting on them. */
class EpollWatcher implements BunWatcher {
  private entries = new Map<number, Entry>();
  private ev = new Uint8Array(C.SIZEOF_EPOLL_EVENT);
  private evView = new DataView(this.ev.buffer);
  private nextGen = 1;
  private epfd = -1;
  private wakefd = -1;
  private worker: BunWorker | undefined;
  private closed = false;
  private referenced = false;

  watch(fd: number, cb: () => void): () => void {
    if (this.closed) throw new Error("watch: the reactor is closed");
    if (!this.worker) this.start();
    const old = this.entries.get(fd);
    const entry: Entry = { cb, gen: this.nextGen++ };
    // The generation shares the event's data with the fd: 32 bits, never 0 (the wake fd's).
    if (this.nextGen > 0xffffffff) this.nextGen = 1;
    this.entries.set(fd, entry);
    if (this.ctl(old ? C.EPOLL_CTL_MOD : C.EPOLL_CTL_ADD, fd, entry.gen) < 0) {
      const e = errno();
      this.entries.delete(fd);
      if (!this.entries.size) this.keepAlive(false);
      throw new Error(`epoll_ctl(${fd}): ${strerror(e)}`);
    }
    this.keepAlive(true);
    return () => this.unwatch(fd, entry);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.entries.clear();
    if (!this.worker) return;
    this.keepAlive(false);
    // Wake the worker; the set is closed when it says it has stopped waiting.
    libc().symbols.write(this.wakefd, new BigUint64Array([1n]), 8);
  }

  /** Ends registration `entry` of `fd`, if it is still the current one. */
  private unwatch(fd: number, entry: Entry): void {
    if (this.entries.get(fd) !== entry) return;
    this.entries.delete(fd);
    if (!this.closed) this.ctl(C.EPOLL_CTL_DEL, fd, 0);
    if (!this.entries.size) this.keepAlive(false);
  }

  /** `epoll_ctl` of `fd`, one-shot readable, with generation `gen` in its data. */
  private ctl(op: number, fd: number, gen: number): number {
    this.evView.setUint32(0, C.EPOLLIN | C.EPOLLONESHOT, true);
    this.evView.setInt32(4, fd, true);
    this.evView.setUint32(8, gen, true);
    return libc().symbols.epoll_ctl(this.epfd, op, fd, this.ev);
  }

  /** A watch keeps the process alive, like the Deno epoll reactor's pending wait. */
  private keepAlive(on: boolean): void {
    if (!this.worker || on === this.referenced) return;
    this.referenced = on;
    if (on) this.worker.ref?.();
    else this.worker.unref?.();
  }

  /** Closes the set and the eventfd and ends the worker (it has left `epoll_wait`). */
  private release(): void {
    const s = libc().symbols;
    if (this.epfd >= 0) s.close(this.epfd);
    if (this.wakefd >= 0) s.close(this.wakefd);
    this.epfd = this.wakefd = -1;
    this.worker?.terminate();
    this.worker = undefined;
  }

  /** The worker's message: ready `[fd, gen, ...]`, or why it left `epoll_wait`. */
  private onMessage(data: unknown): void {
    if (!Array.isArray(data)) {
      // The worker left epoll_wait ("woken" after close, or an error).
      if (!this.closed && data !== "woken") throw new Error(`jx: fd watcher stopped: ${data}`);
      this.release();
      return;
    }
    for (let i = 0; i < data.length; i += 2) {
      const fd = data[i], gen = data[i + 1];
      const entry = this.entries.get(fd);
      if (this.closed || !entry || entry.gen !== gen) continue; // unwatched since
      entry.cb();
      // Still the same registration: arm it again (one event per arming).
      if (!this.closed && this.entries.get(fd) === entry) this.ctl(C.EPOLL_CTL_MOD, fd, gen);
    }
  }

  /** The epoll set, its wake eventfd, and the worker that waits on them. */
  private start(): void {
    const s = libc().symbols;
    this.epfd = s.epoll_create1(C.O_CLOEXEC);
    if (this.epfd < 0) throw new Error(`epoll_create1: ${strerror(errno())}`);
    this.wakefd = s.eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK);
    if (this.wakefd < 0) throw new Error(`eventfd: ${strerror(errno())}`);
    if (this.ctl(C.EPOLL_CTL_ADD, this.wakefd, 0) < 0) {
      throw new Error(`epoll_ctl: ${strerror(errno())}`);
    }
    const worker: BunWorker = new Worker(workerUrlOf(WORKER_SOURCE));
    worker.onmessage = (e: MessageEvent) => this.onMessage(e.data);
    worker.onerror = (e) => {
      throw new Error(`jx: fd watcher failed: ${e.message}`);
    };
    this.worker = worker;
    this.referenced = true;
    worker.postMessage({ epfd: this.epfd, wakefd: this.wakefd });
  }
}
