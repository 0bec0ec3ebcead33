#!/usr/bin/env -S deno run -A
/**
 * The jx command line. Run with `deno run -A cli.ts` or `bun cli.ts`.
 *
 * @example
 * ```sh
 * deno run -A cli.ts run -f jobs.yaml.example
 * ```
 *
 * @module
 */
import { main } from "./lib/cli/main.ts";
import { exit } from "./lib/runtime/mod.ts";

if (import.meta.main) {
  const args = typeof (globalThis as { Deno?: { args: string[] } }).Deno !== "undefined" &&
      !("Bun" in globalThis)
    ? (globalThis as unknown as { Deno: { args: string[] } }).Deno.args
    : (await import("node:process")).default.argv.slice(2);
  exit(await main(args));
}
