/**
 * The page's stylesheet, embedded (no file is read at run time).
 *
 * @module
 */

/** The CSS of the page. */
export const PAGE_CSS = String.raw`
*{box-sizing:border-box}
body{margin:0;font:13px/1.35 system-ui,sans-serif;color:#1d232b;background:#f6f7f9;height:100vh;display:flex;flex-direction:column}
header{display:flex;gap:10px;align-items:center;padding:6px 10px;background:#1d232b;color:#eef}
header b{font-size:15px}header input,header select{font:inherit;padding:2px 6px}
#search{width:220px}#conn{margin-left:auto;font-size:12px;opacity:.8}
main{flex:1;display:flex;min-height:0}
#graphbox{flex:1;position:relative;overflow:hidden;background:#fff;border-right:1px solid #d6dae0}
#graph{width:100%;height:100%;cursor:grab;user-select:none}
aside{width:380px;overflow:auto;padding:8px 10px}
h2{font-size:13px;margin:10px 0 4px;text-transform:uppercase;letter-spacing:.04em;color:#5a6472}
pre{background:#111820;color:#dfe6ee;padding:6px;max-height:260px;overflow:auto;white-space:pre-wrap;word-break:break-all;margin:4px 0;font-size:12px}
.node rect{fill:#eef1f5;stroke:#8a94a3;stroke-width:1.2;rx:5}
.node text{font-size:12px;fill:#1d232b;pointer-events:none}
.node .sub{font-size:10px;fill:#5a6472}
.node.module rect{rx:16}
.node.sel rect{stroke:#1f6feb;stroke-width:3}
.node.dim{opacity:.18}.node.hide,.edge.hide,.elabel.hide{display:none}
.st-uptodate rect{fill:#e7f5e9;stroke:#6aa876}
.st-stale rect{fill:#fff6e0;stroke:#d9a23a}
.st-running rect{fill:#dbeafe;stroke:#1f6feb;stroke-dasharray:4 2}
.st-retrying rect{fill:#fff1d6;stroke:#b26a00;stroke-dasharray:4 2}
.st-ok rect{fill:#c9efcf;stroke:#2f8a43}
.st-cached rect{fill:#d9f2f2;stroke:#1b8a8a}
.st-failed rect,.st-timeout rect{fill:#fbd5d5;stroke:#c62828}
.st-false rect{fill:#f3f0e6;stroke:#8d8266}
.st-skipped rect,.st-cancelled rect{fill:#eceff3;stroke:#a0a7b2;stroke-dasharray:2 2}
.st-paused rect{fill:#efe3fb;stroke:#7e57c2}
.node.crit rect{stroke:#d9480f;stroke-width:3}
.edge{fill:none;stroke:#9aa3af;stroke-width:1.2}
.edge.k-order{stroke-dasharray:5 3}.edge.k-condition{stroke-dasharray:1 3}.edge.k-made{stroke-dasharray:6 2 1 2}
.node.made text:first-of-type{font-style:italic}
.edge.hl{stroke:#1f6feb;stroke-width:2}.edge.crit{stroke:#d9480f;stroke-width:2.4}
.elabel{font-size:10px;fill:#5a6472}.elabel.hl{fill:#1f6feb}
#bottom{height:240px;border-top:1px solid #d6dae0;display:flex;min-height:0}
#tl{flex:1;overflow:auto;padding:4px 8px}#cmp{width:380px;overflow:auto;padding:4px 8px;border-left:1px solid #d6dae0}
#timeline .bar{stroke:#fff;stroke-width:.5}.bar.ok{fill:#4caf50}.bar.failed,.bar.timeout{fill:#e53935}.bar.cancelled{fill:#9e9e9e}.bar.false{fill:#b0a685}
.bar.running{fill:#64a0f0}.bar.retrying{fill:#e0a030}.bar.cached{fill:#26a6a6}.bar.crit{stroke:#d9480f;stroke-width:2.5}
#timeline text{font-size:10px;fill:#1d232b}
table{border-collapse:collapse;width:100%;font-size:12px}td,th{padding:1px 4px;border-bottom:1px solid #e3e6ea;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.faster{color:#2f8a43}.slower{color:#c62828}
.mod{display:flex;gap:4px;align-items:center;margin:3px 0}.mod b{flex:1}
button{font:inherit;font-size:12px;padding:1px 6px}
.badge{display:inline-block;padding:0 5px;border-radius:8px;background:#e3e6ea;font-size:11px}
.muted{color:#6b7480}ul{margin:2px 0;padding-left:18px}
.a-f0{color:#3b4252}.a-f1{color:#e06c75}.a-f2{color:#98c379}.a-f3{color:#e5c07b}.a-f4{color:#61afef}.a-f5{color:#c678dd}.a-f6{color:#56b6c2}.a-f7{color:#dfe6ee}.a-f8{color:#7a8290}.a-f9{color:#ff7b86}.a-f10{color:#b5e890}.a-f11{color:#ffd88a}.a-f12{color:#82c4ff}.a-f13{color:#e099f0}.a-f14{color:#7fd7e2}.a-f15{color:#ffffff}
.a-b0{background:#3b4252}.a-b1{background:#e06c75}.a-b2{background:#98c379}.a-b3{background:#e5c07b}.a-b4{background:#61afef}.a-b5{background:#c678dd}.a-b6{background:#56b6c2}.a-b7{background:#dfe6ee}.a-b8{background:#7a8290}.a-b9{background:#ff7b86}.a-b10{background:#b5e890}.a-b11{background:#ffd88a}.a-b12{background:#82c4ff}.a-b13{background:#e099f0}.a-b14{background:#7fd7e2}.a-b15{background:#ffffff}
.a-bold{font-weight:bold}.a-dim{opacity:.7}.a-it{font-style:italic}.a-ul{text-decoration:underline}
`;
