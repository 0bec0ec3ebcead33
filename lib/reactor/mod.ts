/**
 * Reactors: the event loop under the scheduler.
 *
 * @example
 * ```ts
 * import { createReactor } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = createReactor("auto");
 * // "epoll" on Linux with FFI (Deno --allow-ffi, or Bun), else "portable"
 * assertEquals(r.name, Deno.build.os === "linux" ? "epoll" : "portable");
 * r.close();
 * ```
 *
 * @module
 */
import { JxInputError } from "../runtime/errors.ts";
import { createEpollReactor } from "./epoll.ts";
import { createPortableReactor } from "./portable.ts";
import type { Reactor } from "./types.ts";
import { ffiPermitted, isBun, isDeno, osName } from "../runtime/mod.ts";

export type {
  ChildHandle,
  ExitStatus,
  ListenSignal,
  Reactor,
  SpawnRequest,
  StreamName,
  SuspendSignal,
} from "./types.ts";
export { createPortableReactor, killGroup, signalName } from "./portable.ts";
export { groupMembers, groupsBelow, groupsReached, procStat } from "./descendants.ts";
export { processName } from "./pipe_holders.ts";
export { createEpollReactor } from "./epoll.ts";
export { controllingTerminal, stopSignalNow, TerminalHandoff, terminalStop } from "./foreground.ts";
export {
  type GuardedReactor,
  guardReactor,
  holdGroup,
  type TokenSink,
  tokenTeller,
  WATCHDOG_NAME,
  watchdogDrained,
} from "./watchdog.ts";
export { bunWatchAvailable } from "./bun_watcher.ts";
import { bunWatchAvailable } from "./bun_watcher.ts";
export { FakeReactor, type FakeRecord, type FakeScript } from "./fake.ts";
export { type FdNeed, jobsWithinFds } from "./fd_limit.ts";

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
 * Whether the epoll backend can run here: Linux, and Deno with FFI permitted
 * or Bun (libc through `bun:ffi`, the wait in a Worker).
 *
 * @example
 * ```ts
 * import { epollAvailable } from "./mod.ts";
 * console.log(epollAvailable() ? "epoll" : "portable only");
 * ```
 */
export function epollAvailable(): boolean {
  if (isBun) return bunWatchAvailable();
  return isDeno && osName() === "linux" && ffiPermitted();
}

/**
 * What `auto` picks: `epoll` wherever it can run, on Deno and on Bun (on Bun
 * it measured faster and smaller than `Bun.spawn`: bench/RESULTS.md), else
 * `portable`.
 *
 * @example
 * ```ts
 * import { autoReactor } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * // under deno test -A (FFI allowed)
 * assertEquals(autoReactor(), Deno.build.os === "linux" ? "epoll" : "portable");
 * ```
 */
export function autoReactor(): "epoll" | "portable" {
  return epollAvailable() ? "epoll" : "portable";
}

/**
 * Creates the reactor asked for: `auto` is `epoll` where it is available
 * (Linux, with Deno's FFI permitted or on Bun), else `portable`.
 *
 * @example
 * ```ts
 * import { createReactor } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * // epoll on Linux with FFI (Deno --allow-ffi, Bun), else portable
 * const r = createReactor("auto");
 * assertEquals(["epoll", "portable"].includes(r.name), true);
 * r.close();
 * ```
 */
export function createReactor(choice: ReactorChoice = "auto"): Reactor {
  // Anything else (a typo: "Portable") was taken for epoll.
  if (choice !== "auto" && choice !== "epoll" && choice !== "portable") {
    throw new JxInputError(
      `createReactor: expected "auto", "epoll" or "portable", got ${JSON.stringify(choice)}`,
    );
  }
  const use = choice === "auto" ? autoReactor() : choice;
  if (use === "portable") return createPortableReactor();
  if (epollAvailable()) return createEpollReactor();
  throw new JxInputError(
    "--reactor epoll needs Linux, and Deno with FFI permitted (deno run --allow-ffi) or Bun",
  );
}
