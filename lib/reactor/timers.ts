/**
 * Timers and signal listeners through the runtime's own APIs (`setTimeout`;
 * Deno's signal listeners, or `process.on` on Bun), as the epoll and
 * portable reactors both offer them.
 *
 * @module
 */
import { deno, ignoredAtStart, isBun, nodeProcess, pid } from "../runtime/mod.ts";
import type { ListenSignal, Reactor, SuspendSignal } from "./types.ts";

/** A pending timer: its callback, when it is due, and its `setTimeout` (none while held). */
interface Pending {
  cb: () => void;
  due: number;
  t?: ReturnType<typeof setTimeout>;
}

/**
 * A reactor's `setTimer`, `clearTimer` and `stopSelf` on `setTimeout`, with
 * `clearAll` to cancel every pending timer when the reactor closes. While jx
 * is stopped (`stopSelf`) its timers are held: each fires as late as the stop
 * lasted.
 *
 * @example
 * ```ts
 * import { createTimers } from "./timers.ts";
 * const timers = createTimers();
 * const id = timers.setTimer(100, () => console.log("never"));
 * timers.clearTimer(id);
 * timers.clearAll();
 * ```
 */
export function createTimers(): Pick<Reactor, "setTimer" | "clearTimer" | "stopSelf"> & {
  clearAll(): void;
} {
  const timers = new Map<number, Pending>();
  let nextTimer = 1;
  const arm = (id: number, p: Pending, ms: number) => {
    p.due = performance.now() + ms;
    p.t = setTimeout(() => {
      timers.delete(id);
      p.cb();
    }, ms);
  };
  return {
    setTimer(ms, cb) {
      const id = nextTimer++;
      const p: Pending = { cb, due: 0 };
      timers.set(id, p);
      arm(id, p, ms);
      return id;
    },
    clearTimer(id) {
      const p = timers.get(id);
      if (p?.t !== undefined) clearTimeout(p.t);
      timers.delete(id);
    },
    stopSelf() {
      const now = performance.now();
      const left = [...timers].map(([id, p]) => [id, p, Math.max(0, p.due - now)] as const);
      for (const [, p] of left) clearTimeout(p.t);
      stopOwnProcess();
      for (const [id, p, ms] of left) if (timers.get(id) === p) arm(id, p, ms);
    },
    clearAll() {
      for (const p of timers.values()) clearTimeout(p.t);
      timers.clear();
    },
  };
}

/**
 * SIGSTOP to jx's own process: every thread stops before the call returns,
 * and it returns once a SIGCONT has continued the process.
 */
function stopOwnProcess(): void {
  if (isBun) nodeProcess().kill(pid(), "SIGSTOP");
  else deno().kill(pid(), "SIGSTOP");
}

/**
 * A reactor's `onSignal`: calls `cb` on each `sig` until the returned
 * function is called. A signal that was ignored when jx started
 * (`nohup jx run` and SIGHUP) is left ignored, as make leaves it: `cb` is
 * never called.
 *
 * @example
 * ```ts
 * import { onSignal } from "./timers.ts";
 * const stop = onSignal("SIGINT", () => console.log("interrupted"));
 * stop();
 * ```
 */
export function onSignal(sig: ListenSignal | SuspendSignal, cb: () => void): () => void {
  if (ignoredAtStart(sig)) return () => {};
  if (isBun) {
    const proc = nodeProcess();
    proc.on(sig, cb);
    return () => proc.off(sig, cb);
  }
  deno().addSignalListener(sig, cb);
  return () => deno().removeSignalListener(sig, cb);
}
