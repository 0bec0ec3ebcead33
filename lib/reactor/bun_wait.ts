/**
 * The epoll reactor's wait on Bun, where FFI calls block the calling
 * thread: a Worker blocks in `epoll_wait` on the reactor's own set and tells
 * the main thread when something is ready; the main thread then collects the
 * events itself with `epoll_wait(..., 0)`.
 *
 * The set is level-triggered, so the worker's wait (one event, never read)
 * takes nothing away: every ready fd is still ready when the main thread
 * polls. But the kernel queues the fd it reported behind the others: the
 * worker posts that fd, and the main thread puts it back first (a job's
 * stdout, then stderr, written before jx looked, would otherwise come
 * stderr first). The two threads take turns through a shared gate, so the worker
 * waits only while the main thread is idle:
 *
 * - the main thread, out of events, opens the gate (`ready()`) and awaits a
 *   message;
 * - the worker, woken by the gate, blocks in `epoll_wait` until an fd is
 *   ready, posts its number and parks on the gate again;
 * - `close()` sets the gate to "stop" and the reactor writes its eventfd, so
 *   a worker in `epoll_wait` returns; the set is closed only after the
 *   worker has said it stopped (a reused fd number must never be waited on).
 *
 * The worker runs from a Blob URL holding its source, so the same code works
 * from `bun cli.ts` and from a `bun build --compile` binary. It is ref'd only
 * while the main thread awaits it, so an idle reactor never keeps the
 * process alive. (postMessage rather than Atomics.waitAsync for the wake:
 * bench/bun_watch.ts measured it faster, see bench/RESULTS.md.)
 *
 * @module
 */

import { type BunWorker, EPOLL_WORKER_PRELUDE, workerUrlOf } from "./bun_watcher.ts";

/** The worker: parks on the gate (0), waits on the set when it is 1, stops when it is 2. */
const WORKER_SOURCE = EPOLL_WORKER_PRELUDE + `
self.onmessage = (e) => {
  const { epfd, gate: sab } = e.data;
  const gate = new Int32Array(sab);
  const ev = new Uint8Array(12);
  const view = new DataView(ev.buffer);
  let why = "stopped";
  for (;;) {
    Atomics.wait(gate, 0, 0);
    if (Atomics.load(gate, 0) === 2) break;
    const n = L.epoll_wait(epfd, ev, 1, -1);
    if (n < 0) {
      const err = ffi.read.i32(L.__errno_location(), 0);
      if (err === 4) continue;
      why = "epoll_wait errno " + err;
      break;
    }
    if (Atomics.compareExchange(gate, 0, 1, 0) === 2) break;
    postMessage(view.getUint32(4, true));
  }
  postMessage(why);
};
`;

/** The wait of one epoll set, for `createEpollReactor` on Bun. */
export interface BunWait {
  /**
   * Resolves once an fd of the set is ready, with the first one (the events are left for the
   * caller to collect, where that fd now comes last).
   */
  ready(): Promise<number>;
  /** Stops the worker; `release` runs once it no longer waits on the set. */
  close(release: () => void): void;
}

/**
 * Starts the worker for the set `epfd` (it does not wait before `ready()`).
 */
export function createBunWait(epfd: number): BunWait {
  const sab = new SharedArrayBuffer(4);
  const gate = new Int32Array(sab);
  const worker: BunWorker = new Worker(workerUrlOf(WORKER_SOURCE));
  let pending: ((fd: number) => void) | undefined;
  let release: (() => void) | undefined;
  let stopped = false;
  worker.unref?.();
  worker.onmessage = (e: MessageEvent) => {
    if (typeof e.data === "number") {
      const done = pending;
      pending = undefined;
      if (!release) worker.unref?.(); // closing: stay ref'd until the worker has stopped
      done?.(e.data);
      return;
    }
    // The worker stopped (closed, or epoll_wait failed).
    stopped = true;
    worker.terminate();
    if (release) release();
    else throw new Error(`jx: epoll wait worker stopped: ${e.data}`);
  };
  worker.onerror = (e: ErrorEvent) => {
    throw new Error(`jx: epoll wait worker failed: ${e.message}`);
  };
  worker.postMessage({ epfd, gate: sab });
  return {
    ready() {
      if (stopped || release) return new Promise(() => {});
      return new Promise((resolve) => {
        pending = resolve;
        worker.ref?.();
        Atomics.store(gate, 0, 1);
        Atomics.notify(gate, 0);
      });
    },
    close(then) {
      if (release) return;
      release = then;
      pending = undefined;
      if (stopped) return then();
      worker.ref?.();
      Atomics.store(gate, 0, 2);
      Atomics.notify(gate, 0);
    },
  };
}
