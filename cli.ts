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
import { exit, isBun, preloadBunFfi, scriptArgs, writeAll } from "./lib/runtime/mod.ts";
import { VERSION } from "./lib/runtime/version.ts";

if (import.meta.main) {
  const args = scriptArgs();
  // `jx --version` alone (the environment cannot change it) loads nothing more: on Bun not
  // even node:fs (writeAll's there), which costs more than the rest of this path, but the
  // native, synchronous console.log.
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    if (isBun) console.log(`jx ${VERSION}`);
    else writeAll(1, `jx ${VERSION}\n`);
    exit(0);
  }
  // Every other way on Bun calls libc through bun:ffi: imported now, it costs a third of what
  // its first use would (libc_bun.ts).
  if (isBun) await preloadBunFfi();
  // A `jx run` with nothing to do answers before the rest of jx is loaded.
  // An error there (the current folder removed...) is the full way's to report, as one line.
  if (args.includes("run")) {
    const code = await (await import(
      "./lib/cli/noop_run.ts" as string
    ) as typeof import("./lib/cli/noop_run.ts")).fastRun(args).catch(() => undefined);
    if (code !== undefined) exit(code);
  }
  exit(
    await (await import("./lib/cli/main.ts" as string) as typeof import("./lib/cli/main.ts")).main(
      args,
    ),
  );
}
