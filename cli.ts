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
import { exit, scriptArgs } from "./lib/runtime/mod.ts";

if (import.meta.main) {
  const args = scriptArgs();
  // A `jx run` with nothing to do answers before the rest of jx is loaded.
  if (args.includes("run")) {
    const code = await (await import("./lib/cli/noop_run.ts")).fastRun(args);
    if (code !== undefined) exit(code);
  }
  exit(await (await import("./lib/cli/main.ts")).main(args));
}
