/**
 * `jx ui`: a local web page showing the graph of a jobs file and, fed a
 * run's events, the run live (states, output, modules and their controls,
 * a timeline with the critical path, two runs compared). Everything it
 * serves is embedded here: no file is read at run time, no CDN.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { graphData, startUi } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const graph = parseJobsFile("jobs:\n  a: { run: 'true' }\n", "jobs.yaml");
 * const ui = await startUi({ graph: graphData(graph), onControl: (req) => console.log(req) });
 * // the page; pass ui.reporter to runJobs for the live part
 * const page = await fetch(ui.url);
 * assertEquals([page.status, (await page.text()).startsWith("<!doctype html>")], [200, true]);
 * await ui.close();
 * ```
 *
 * @module
 */
export { graphData, type UiEdge, type UiGraph, type UiJob } from "./data.ts";
export { FEED_OUTPUT_LIMIT, RunFeed, type UiEvent } from "./feed.ts";
export { pageHtml } from "./page.ts";
export { type ControlRequest, startUi, type UiOptions, type UiServer } from "./server.ts";
export { CONNECTION_LIMITS, type ConnectionLimits } from "./connections.ts";
export { STALL_MS, STREAM_LIMIT } from "./stream.ts";
export { cmdUi, listenReason } from "./cli.ts";
export { staticHtml } from "./static.ts";
