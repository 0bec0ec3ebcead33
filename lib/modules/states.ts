/**
 * The module state machine (after libmodule): which action each state
 * allows.
 *
 * - `idle`: registered, never started. `start`.
 * - `starting`: spawned, its `ready` check not passed yet. `stop`.
 * - `running`: ready. `pause`, `stop`, `restart`.
 * - `paused`: its process group got SIGSTOP; messages are queued. `resume`, `stop`, `restart`.
 * - `stopped`: ended by jx (or exited 0). `start`, `restart`.
 * - `failed`: never became ready, or crashed (past its restarts). `start`, `restart`.
 *
 * @module
 */
import type { ModuleState } from "../scheduler/mod.ts";

export type { ModuleState };

/** What `jx ctl` (or the library) can ask of a module. */
export type ModuleAction = "start" | "stop" | "restart" | "pause" | "resume";

const ALLOWED: Record<ModuleAction, ModuleState[]> = {
  start: ["idle", "stopped", "failed"],
  stop: ["starting", "running", "paused"],
  restart: ["running", "paused", "stopped", "failed"],
  pause: ["running"],
  resume: ["paused"],
};

/**
 * Why `action` cannot be done in `state`, or undefined when it can.
 *
 * @example
 * ```ts
 * import { refusal } from "./states.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(refusal("pause", "running"), undefined);
 * assertEquals(refusal("resume", "running"), "cannot resume a running module (only paused)");
 * assertEquals(refusal("stop", "idle"), "cannot stop an idle module (only starting, running, paused)");
 * ```
 */
export function refusal(action: ModuleAction, state: ModuleState): string | undefined {
  const ok = ALLOWED[action];
  if (ok.includes(state)) return undefined;
  const a = /^[aeiou]/.test(state) ? "an" : "a";
  return `cannot ${action} ${a} ${state} module (only ${ok.join(", ")})`;
}

/** Whether a module in `state` has (or is about to have) a process. */
export function isUp(state: ModuleState): boolean {
  return state === "starting" || state === "running" || state === "paused";
}
