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
export { FakeReactor, type FakeRecord, type FakeScript } from "./fake.ts";

/** Reactor choices on the command line. */
export type ReactorChoice = "auto" | "epoll" | "portable";

/**
 * Creates the reactor asked for. `auto` is `portable` until the epoll backend lands.
 */
export function createReactor(choice: ReactorChoice = "auto"): Reactor {
  if (choice === "epoll") {
    throw new JxInputError("--reactor epoll: the epoll backend is not built yet; use portable");
  }
  return createPortableReactor();
}
