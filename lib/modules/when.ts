/**
 * `when:`: whether a module is registered at all. An unregistered module is
 * inert: it never starts, and jobs that need it fail with the reason. The
 * condition itself is the graph's (`graph/when.ts`, shared with jobs).
 *
 * @module
 */
import type { JobSpec } from "../graph/mod.ts";
import { currentOs, whenFails } from "../graph/when.ts";

export { currentOs };

/**
 * Why `spec` is not registered, or undefined when it is: every condition of
 * its `when:` must hold (`env` set and non-empty in `env`, the `os`, the
 * `file` existing).
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { unregisteredReason } from "./when.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("modules:\n  db: { run: x, when: { env: CI } }\n", "j.yaml");
 * assertEquals(unregisteredReason(g.get("db"), {}), "when: env CI is not set");
 * assertEquals(unregisteredReason(g.get("db"), { CI: "1" }), undefined);
 * ```
 */
export function unregisteredReason(
  spec: JobSpec,
  env: Record<string, string | undefined>,
): string | undefined {
  return whenFails(spec, env);
}
