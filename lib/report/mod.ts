/**
 * Reporters: the console, the NDJSON event log and the Chrome trace.
 *
 * @example
 * ```ts
 * import { ConsoleReporter, EventLog } from "./mod.ts";
 * const reporters = [
 *   new ConsoleReporter({ mode: "buffered", color: false, statusLine: false }),
 *   new EventLog(`${Deno.makeTempDirSync()}/events.ndjson`),
 * ];
 * ```
 *
 * @module
 */
export { type ConsoleOptions, ConsoleReporter, type OutputMode } from "./console.ts";
export { EventLog } from "./events.ts";
export type { StatusClock } from "./status.ts";
export { TraceWriter } from "./trace.ts";
export { refuseSameOutput } from "./output_file.ts";
export { MemoryKeeper, type MemoryKeeperOptions } from "./memory.ts";
