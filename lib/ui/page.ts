/**
 * The page: one HTML document with its style and script inline. Served by
 * `jx ui` (the data then comes from the server), or written whole by
 * `jx graph --format html` with the graph inlined and a policy that forbids
 * every request (it works offline, from a file).
 *
 * @module
 */
import type { UiGraph } from "./data.ts";
import { PAGE_JS } from "./page_script.ts";
import { PAGE_CSS } from "./page_style.ts";

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/** JSON that is safe inside a `<script>` element (no `</script>`, no `<!--`). */
const scriptJson = (v: unknown) =>
  JSON.stringify(v).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(
    /\u2029/g,
    "\\u2029",
  );

const BODY = `<header><b>jx</b><span id="file"></span>
<input id="search" type="search" placeholder="search jobs (Enter: go to)" aria-label="search">
<select id="filter" aria-label="filter"><option value="all">all</option><option value="job">jobs</option>
<option value="module">modules</option><option value="stale">would run</option>
<option value="uptodate">up to date</option><option value="running">running</option>
<option value="failed">failed</option><option value="ok">ok</option><option value="cached">cached</option></select>
<span id="counts"></span><span id="conn"></span></header>
<main><section id="graphbox"><svg id="graph" role="img" aria-label="job graph"></svg></section>
<aside><div id="details"></div><div id="modules"></div></aside></main>
<section id="bottom"><div id="tl"><div id="tlhead"></div><svg id="timeline"></svg></div>
<div id="cmp"><h2>compare runs</h2><select id="runA" aria-label="run A"></select> vs
<select id="runB" aria-label="run B"></select><div id="cmptable"></div></div></section>`;

/**
 * The page. With `data` it is self-contained (the graph inlined, no
 * requests allowed); without, it asks its server for the graph and events.
 *
 * @example
 * ```ts
 * import { pageHtml } from "./page.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(pageHtml({ nonce: "n0" }).startsWith("<!doctype html>"), true);
 * ```
 */
export function pageHtml(o: { nonce: string; data?: UiGraph }): string {
  const csp = o.data
    ? `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${o.nonce}'; style-src 'nonce-${o.nonce}'; img-src data:">`
    : "";
  const title = o.data ? `jx: ${esc(o.data.file)}` : "jx ui";
  const data = o.data
    ? `<script type="application/json" id="jx-data">${scriptJson(o.data)}</script>`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${csp}
<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer">
<title>${title}</title><style nonce="${o.nonce}">${PAGE_CSS}</style></head>
<body>${BODY}
${data}<script nonce="${o.nonce}">${PAGE_JS}</script></body></html>
`;
}
