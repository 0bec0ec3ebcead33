/**
 * jx's version, alone in a file: `cli.ts` answers `jx --version` with it
 * before anything else is loaded.
 *
 * @module
 */

/** The version printed by `jx --version`. */
export const VERSION = "0.1.0";

/**
 * What a loaded graph is and means: raised whenever the loader builds another graph from the
 * same text, or the graph cache stores it otherwise (its history: graph/cache.ts). A cached graph
 * of another format is not read, and a no-op record made under another is not replayed (its
 * jobs' commands may differ now).
 */
export const GRAPH_FORMAT = 25;
