/**
 * Reactors: the event loop under the scheduler.
 *
 * @example
 * ```ts
 * import { createReactor } from "./mod.ts";
 * const r = createReactor("auto");
 * console.log(r.name); // "portable"
 * ```
 *
 * @module
 */
import { JxInputError } from "../graph/errors.ts";
import { createEpollReactor } from "./epoll.ts";
import { createPortableReactor } from "./portable.ts";
import type { Reactor } from "./types.ts";

export type {
  ChildHandle,
  ExitStatus,
  ListenSignal,
  Reactor,
  SpawnRequest,
  StreamName,
} from "./types.ts";
export { createPortableReactor, killGroup, signalName } from "./portable.ts";
export { createEpollReactor } from "./epoll.ts";
export { bunWatchAvailable } from "./bun_watcher.ts";
export { FakeReactor, type FakeRecord, type FakeScript } from "./fake.ts";

/**
 * Reactor choices on the command line.
 *
 * @example
 * ```ts
 * import { createReactor, type ReactorChoice } from "./mod.ts";
 * const choice: ReactorChoice = "portable";
 * const r = createReactor(choice);
 * ```
 */
export type ReactorChoice = "auto" | "epoll" | "portable";

/**
 * Whether the epoll backend can run here: Linux, Deno, FFI permitted.
 * (On Bun, `Bun.spawn` already spawns with posix_spawn and a new session, so
 * `auto` keeps the portable backend there.)
 */
export function epollAvailable(): boolean {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Bun || !g.Deno || g.Deno.build?.os !== "linux") return false;
  try {
    return g.Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * Creates the reactor asked for: `auto` is `epoll` where it is available
 * (Linux, Deno with FFI permitted), else `portable`.
 *
 * @example
 * ```ts
 * import { createReactor } from "./mod.ts";
 * const r = createReactor("auto"); // epoll on Deno with FFI allowed, else portable
 * console.log(r.name);
 * r.close();
 * ```
 */
export function createReactor(choice: ReactorChoice = "auto"): Reactor {
  if (choice === "portable") return createPortableReactor();
  if (epollAvailable()) return createEpollReactor();
  if (choice === "epoll") {
    throw new JxInputError(
      "--reactor epoll needs Linux and Deno with FFI permitted (deno run --allow-ffi); " +
        "on Bun use portable",
    );
  }
  return createPortableReactor();
}
