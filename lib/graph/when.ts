/**
 * `when:` on a job or a module: whether it applies on this machine (the
 * OS, a variable set, a file present). A module whose condition fails is
 * not registered; a job is skipped with reason `condition`.
 *
 * @module
 */
import type { JobSpec, WhenSpec } from "./types.ts";
import { envVar, existsSync, osName } from "../runtime/mod.ts";
import { shapeOf } from "./glob.ts";

/** The operating system as `when: {os}` names it (`linux`, `darwin`, `windows`...). */
export function currentOs(): string {
  const p = osName();
  return p === "win32" ? "windows" : p;
}

/**
 * Why the `when:` of `spec` does not hold, or undefined when it does (or
 * there is none): every condition given must hold (`env` set and non-empty
 * in `env`, the `os`, the `file` existing).
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "./mod.ts";
 * import { whenFails } from "./when.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  a: { run: x, when: { env: CI } }\n", "j.yaml");
 * assertEquals(whenFails(g.get("a"), {}), "when: env CI is not set");
 * assertEquals(whenFails(g.get("a"), { CI: "1" }), undefined);
 * ```
 */
export function whenFails(
  spec: Pick<JobSpec, "when">,
  env?: Record<string, string | undefined>,
): string | undefined {
  const w = spec.when;
  if (!w) return undefined;
  // This process's environment by default, one variable read (not a copy of all: called per job).
  if (w.env !== undefined && !(env ? env[w.env] : envVar(w.env))) {
    return `when: env ${w.env} is not set`;
  }
  if (w.os !== undefined && w.os !== currentOs()) {
    return `when: os ${w.os} (this is ${currentOs()})`;
  }
  if (w.file !== undefined && !existsSync(w.file)) {
    return `when: file ${shownFile(w)} does not exist`;
  }
  return undefined;
}

/**
 * A `when: { file }` as jx names a job's paths (docs/cli.md): from the root jobs file's folder,
 * as its `read` resource has it with the glob escapes taken out (`o[1]/flag`, `pkg/@x/f`); the
 * absolute path only for a spec built without one (the library).
 */
function shownFile(w: WhenSpec): string | undefined {
  return w.read === undefined ? w.file : shapeOf(w.read).literal ?? w.read;
}

/**
 * The resource (`WhenSpec.read`) of a `when: { file }` that is all that fails (its `env` and
 * `os` hold, the file is not there), or undefined: a job that writes it before this one may
 * make the condition hold by the time the job would start (what a dry run and `jx explain`
 * say then).
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "./mod.ts";
 * import { missingWhenFile } from "./when.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  a: { run: x, when: { file: no-such-file } }\n", "j.yaml");
 * assertEquals(missingWhenFile(g.get("a"), {}), "no-such-file");
 * const h = parseJobsFile("jobs:\n  a: { run: x, when: { file: f, env: CI } }\n", "j.yaml");
 * assertEquals(missingWhenFile(h.get("a"), {}), undefined);
 * ```
 */
export function missingWhenFile(
  spec: Pick<JobSpec, "when">,
  env?: Record<string, string | undefined>,
): string | undefined {
  const w = spec.when;
  if (w?.file === undefined || w.read === undefined || existsSync(w.file)) return undefined;
  return whenFails({ when: { ...w, file: undefined } }, env) === undefined ? w.read : undefined;
}
