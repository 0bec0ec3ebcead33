/**
 * `jx graph --format html`: the page with the graph inlined, one file.
 *
 * @module
 */
import type { Graph } from "../graph/mod.ts";
import { graphData } from "./data.ts";
import { pageHtml } from "./page.ts";
import { newToken } from "./security.ts";

/**
 * The self-contained page for the jobs of `graph` named in `names`.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { staticHtml } from "./static.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  a: { run: x }\n", "jobs.yaml");
 * assertEquals(staticHtml(g, new Set(["a"])).includes('id="jx-data"'), true);
 * ```
 */
export function staticHtml(graph: Graph, names: Set<string>): string {
  return pageHtml({ nonce: newToken(), data: graphData(graph, names) });
}
