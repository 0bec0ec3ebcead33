/**
 * Timers and signal listeners through the runtime's own APIs (`setTimeout`;
 * Deno's signal listeners, or `process.on` on Bun), as the epoll and
 * portable reactors both offer them.
 *
 * @module
 */
import { deno, isBun, nodeProcess } from "../runtime/mod.ts";
import type { ListenSignal, Reactor } from "./types.ts";

/**
 * A reactor's `setTimer` and `clearTimer` on `setTimeout`, with `clearAll`
 * to cancel every pending timer when the reactor closes.
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
export function createTimers(): Pick<Reactor, "setTimer" | "clearTimer"> & { clearAll(): void } {
  const timers = new Map<number, ReturnType<typeof setTimeout>>();
  let nextTimer = 1;
  return {
    setTimer(ms, cb) {
      const id = nextTimer++;
      timers.set(
        id,
        setTimeout(() => {
          timers.delete(id);
          cb();
        }, ms),
      );
      return id;
    },
    clearTimer(id) {
      const t = timers.get(id);
      if (t !== undefined) clearTimeout(t);
      timers.delete(id);
    },
    clearAll() {
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
  };
}

/**
 * A reactor's `onSignal`: calls `cb` on each `sig` until the returned
 * function is called.
 *
 * @example
 * ```ts
 * import { onSignal } from "./timers.ts";
 * const stop = onSignal("SIGINT", () => console.log("interrupted"));
 * stop();
 * ```
 */
export function onSignal(sig: ListenSignal, cb: () => void): () => void {
  if (isBun) {
    const proc = nodeProcess();
    proc.on(sig, cb);
    return () => proc.off(sig, cb);
  }
  deno().addSignalListener(sig, cb);
  return () => deno().removeSignalListener(sig, cb);
}
