/**
 * jx's version, alone in a file: `cli.ts` answers `jx --version` with it
 * before anything else is loaded.
 *
 * @module
 */

/** The version printed by `jx --version`. */
export const VERSION = "0.1.0";
