/**
 * `when:`: whether a module is registered at all. An unregistered module is
 * inert: it never starts, and jobs that need it fail with the reason.
 *
 * @module
 */
import { existsSync } from "node:fs";
import process from "node:process";
import type { JobSpec } from "../graph/mod.ts";

/** The operating system as `when: {os}` names it (`linux`, `darwin`, `windows`...). */
export function currentOs(): string {
  const p = process.platform as string;
  return p === "win32" ? "windows" : p;
}

/**
 * Why `spec` is not registered, or undefined when it is: every condition of
 * its `when:` must hold (`env` set and non-empty in `env`, the `os`, the
 * `file` existing).
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { unregisteredReason } from "./when.ts";
 * const g = parseJobsFile("modules:\n  db: { run: x, when: { env: CI } }\n", "j.yaml");
 * unregisteredReason(g.get("db"), {}); // "when: env CI is not set"
 * unregisteredReason(g.get("db"), { CI: "1" }); // undefined
 * ```
 */
export function unregisteredReason(
  spec: JobSpec,
  env: Record<string, string | undefined>,
): string | undefined {
  const w = spec.when;
  if (!w) return undefined;
  if (w.env !== undefined && !env[w.env]) return `when: env ${w.env} is not set`;
  if (w.os !== undefined && w.os !== currentOs()) {
    return `when: os ${w.os} (this is ${currentOs()})`;
  }
  if (w.file !== undefined && !existsSync(w.file)) return `when: file ${w.file} does not exist`;
  return undefined;
}
