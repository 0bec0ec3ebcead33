/**
 * Colours for jobs. A job's stdout and stderr are pipes to jx, never a
 * terminal, so compilers and test runners turn their colours off; when jx's
 * own output is a colour terminal, jobs are told to keep them, through the
 * two variables most tools read (as ninja and cargo users set them by hand):
 * `CLICOLOR_FORCE=1` (ninja, CMake, clang, ls and the BSD tools, Rust's
 * `anstream`...) and `FORCE_COLOR=1` (Node tools, Python 3.13+, pytest...).
 * GCC reads neither: it needs `-fdiagnostics-color=always` (`GCC_COLORS`
 * only picks the palette, so jx leaves it alone).
 *
 * @module
 */
import { envObject, setEnv } from "./fs.ts";

/** The variables jx sets for jobs when its output is a colour terminal. */
export const FORCE_VARS = ["CLICOLOR_FORCE", "FORCE_COLOR"] as const;

/**
 * What to add to the jobs' environment: nothing unless jx's output is a
 * colour terminal (`colorTerminal`: a terminal, colours not turned off by
 * `--no-color`) and `NO_COLOR` is unset or empty; never a variable the user
 * set (even to `0`), and nothing for `TERM=dumb`.
 *
 * @example
 * ```ts
 * import { jobColorEnv } from "./color.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(jobColorEnv({ TERM: "xterm" }, true), { CLICOLOR_FORCE: "1", FORCE_COLOR: "1" });
 * assertEquals(jobColorEnv({ TERM: "xterm", FORCE_COLOR: "0" }, true), { CLICOLOR_FORCE: "1" });
 * assertEquals(jobColorEnv({ NO_COLOR: "1" }, true), {});
 * ```
 */
export function jobColorEnv(
  env: Record<string, string | undefined>,
  colorTerminal: boolean,
): Record<string, string> {
  if (!colorTerminal || env.NO_COLOR || env.TERM === "dumb") return {};
  const add: Record<string, string> = {};
  for (const v of FORCE_VARS) if (env[v] === undefined) add[v] = "1";
  return add;
}

/**
 * Sets `jobColorEnv`'s variables in jx's own environment (its jobs inherit
 * it) when its output is a colour terminal: the full way does it before it
 * loads the jobs file, the no-op fast path before it compares the record's
 * dotenv variables, so both see the environment jobs get.
 *
 * @example
 * ```ts
 * import { giveJobsColours } from "./color.ts";
 * // Not a colour terminal: nothing is set.
 * giveJobsColours(false);
 * ```
 */
export function giveJobsColours(colorTerminal: boolean): void {
  if (colorTerminal) setEnv(jobColorEnv(envObject(), true));
}
