/**
 * What a job's or a module's process is started with: its `argv`, and for a
 * `run:` string its name as `$0`.
 *
 * @module
 */
import type { SpecBase } from "./types.ts";

/** Whether `spec` is a `run:` string (`/bin/sh -c RUN`) without job arguments, not a list. */
export function isShellString(spec: Pick<SpecBase, "argv" | "command">): boolean {
  const [sh, c, run] = spec.argv;
  return spec.argv.length === 3 && sh === "/bin/sh" && c === "-c" && spec.command === run;
}

/**
 * The argv `spec`'s process is started with: a `run:` string runs as
 * `sh -c RUN NAME`, so that its `$0` is its name, as with job arguments
 * (`jx run JOB -- ARG...` gives `sh -c RUN NAME ARG...`, already in its
 * `argv`: cli/job_args.ts); a `run:` list as it is. The name is not part of
 * `argv`, which the up-to-date fingerprint and the cache key hash (the key
 * has the name already, as `JX_JOB`).
 *
 * @example
 * ```ts
 * import { startArgv } from "./argv.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const shell = { name: "greet", argv: ["/bin/sh", "-c", "echo $0"], command: "echo $0" };
 * assertEquals(startArgv(shell), ["/bin/sh", "-c", "echo $0", "greet"]);
 * const list = { name: "ls", argv: ["ls", "-l"], command: "ls -l" };
 * assertEquals(startArgv(list), ["ls", "-l"]);
 * ```
 */
export function startArgv(spec: Pick<SpecBase, "name" | "argv" | "command">): string[] {
  return isShellString(spec) ? [...spec.argv, spec.name] : spec.argv;
}
