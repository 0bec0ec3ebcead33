/**
 * The page's script (plain JavaScript, no framework), embedded as a string.
 * It reads the graph (inlined, or from `/api/graph`), lays it out in layers
 * by dependency depth, and follows the run's events (`/api/events`).
 *
 * @module
 */

/** The JavaScript of the page. */
export const PAGE_JS = String.raw`
"use strict";
const $ = (id) => document.getElementById(id);
const NS = "http://www.w3.org/2000/svg";
const token = new URLSearchParams(location.search).get("token") || "";
const S = { g: null, pos: new Map(), nodes: new Map(), edges: [], runs: [], sel: null,
  live: false, view: { x: -20, y: -20, k: 1 }, crit: new Set(), modules: new Map(),
  mode: "ui", pick: {} };
const W = 180, H = 36, GX = 170, GY = 16;

function el(tag, attrs, text) {
  const e = tag.includes(":") || ["svg","g","rect","path","text","title","line"].includes(tag)
    ? document.createElementNS(NS, tag.replace("svg:", "")) : document.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmtMs(ms) {
  if (ms == null) return "";
  return ms < 1000 ? Math.round(ms) + " ms" : ms < 60000 ? (ms / 1000).toFixed(2) + " s"
    : Math.floor(ms / 60000) + " min " + Math.round(ms % 60000 / 1000) + " s";
}

/* ---- layout: layers by longest path, ordered by barycenters ---- */
function layout(g) {
  const idx = new Map(g.jobs.map((j, i) => [j.name, i]));
  const preds = new Map(g.jobs.map((j) => [j.name, []]));
  const succs = new Map(g.jobs.map((j) => [j.name, []]));
  for (const e of g.edges) { preds.get(e.to).push(e.from); succs.get(e.from).push(e.to); }
  const depth = new Map(), indeg = new Map(), queue = [];
  for (const j of g.jobs) { indeg.set(j.name, preds.get(j.name).length); depth.set(j.name, 0); }
  for (const j of g.jobs) if (!indeg.get(j.name)) queue.push(j.name);
  for (let i = 0; i < queue.length; i++) for (const s of succs.get(queue[i])) {
    depth.set(s, Math.max(depth.get(s), depth.get(queue[i]) + 1));
    indeg.set(s, indeg.get(s) - 1);
    if (!indeg.get(s)) queue.push(s);
  }
  const layers = [];
  for (const j of g.jobs) (layers[depth.get(j.name)] ||= []).push(j.name);
  const at = new Map();
  const place = () => layers.forEach((l) => l.forEach((n, i) => at.set(n, i)));
  place();
  const bary = (n, nb) => {
    const xs = nb.get(n).map((m) => at.get(m));
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : at.get(n);
  };
  for (let it = 0; it < 4; it++) {
    for (let d = 1; d < layers.length; d++) {
      const b = new Map(layers[d].map((n) => [n, bary(n, preds)]));
      layers[d].sort((p, q) => b.get(p) - b.get(q) || idx.get(p) - idx.get(q)); place();
    }
    for (let d = layers.length - 2; d >= 0; d--) {
      const b = new Map(layers[d].map((n) => [n, bary(n, succs)]));
      layers[d].sort((p, q) => b.get(p) - b.get(q) || idx.get(p) - idx.get(q)); place();
    }
  }
  const tallest = Math.max(1, ...layers.map((l) => l.length));
  layers.forEach((l, d) => {
    const off = (tallest - l.length) * (H + GY) / 2;
    l.forEach((n, i) => S.pos.set(n, { x: d * (W + GX), y: off + i * (H + GY) }));
  });
  S.preds = preds; S.succs = succs;
}

/* ---- the graph ---- */
function drawGraph() {
  const svg = $("graph"); svg.textContent = "";
  const vp = el("g", { id: "vp" }); svg.append(vp);
  S.edges = []; S.nodes = new Map();
  const labels = S.g.edges.length <= 250;
  for (const e of S.g.edges) {
    const a = S.pos.get(e.from), b = S.pos.get(e.to);
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
    const p = el("path", { class: "edge k-" + e.kind,
      d: "M" + x1 + "," + y1 + " C" + mx + "," + y1 + " " + mx + "," + y2 + " " + x2 + "," + y2 });
    p.append(el("title", {}, e.from + " \u2192 " + e.to + ": " + e.reason));
    const t = el("text", { class: "elabel" + (labels ? "" : " hide"), x: mx, y: (y1 + y2) / 2 - 3,
      "text-anchor": "middle" }, e.reason.length > 30 ? e.reason.slice(0, 29) + "\u2026" : e.reason);
    vp.append(p, t);
    S.edges.push({ e, p, t });
  }
  for (const j of S.g.jobs) {
    const { x, y } = S.pos.get(j.name);
    const n = el("g", { class: "node " + j.kind, transform: "translate(" + x + "," + y + ")",
      "data-name": j.name });
    n.append(el("rect", { width: W, height: H }),
      el("text", { x: 8, y: 15 }, j.name.length > 26 ? j.name.slice(0, 25) + "\u2026" : j.name),
      el("text", { x: 8, y: 29, class: "sub" }, ""),
      el("title", {}, j.name + (j.description ? "\n" + j.description : "") + "\n" + j.command));
    n.addEventListener("click", (ev) => { ev.stopPropagation(); select(j.name); });
    vp.append(n);
    S.nodes.set(j.name, n);
  }
  applyView();
}
function applyView() {
  const v = S.view;
  $("vp").setAttribute("transform", "translate(" + -v.x * v.k + "," + -v.y * v.k + ") scale(" + v.k + ")");
}
function panZoom(svg) {
  let drag = null;
  svg.addEventListener("mousedown", (e) => { drag = { x: e.clientX, y: e.clientY, v: { ...S.view } }; });
  addEventListener("mouseup", () => { drag = null; });
  addEventListener("mousemove", (e) => {
    if (!drag) return;
    S.view.x = drag.v.x - (e.clientX - drag.x) / S.view.k;
    S.view.y = drag.v.y - (e.clientY - drag.y) / S.view.k;
    applyView();
  });
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect(), k = S.view.k;
    const nk = Math.min(3, Math.max(0.1, k * (e.deltaY < 0 ? 1.15 : 1 / 1.15)));
    const px = e.clientX - r.left, py = e.clientY - r.top;
    S.view.x += px / k - px / nk; S.view.y += py / k - py / nk; S.view.k = nk;
    applyView();
  }, { passive: false });
  svg.addEventListener("click", () => select(null));
}
/** Zooms so that the whole graph fits, unless it would be too small to read. */
function fit() {
  const r = $("graph").getBoundingClientRect();
  let w = 0, h = 0;
  for (const p of S.pos.values()) { w = Math.max(w, p.x + W); h = Math.max(h, p.y + H); }
  const k = Math.max(0.35, Math.min(1, (r.width - 40) / w, (r.height - 40) / h));
  S.view = { x: -20 / k, y: -20 / k, k };
  applyView();
}
function centerOn(name) {
  const p = S.pos.get(name), r = $("graph").getBoundingClientRect();
  if (!p) return;
  S.view.x = p.x + W / 2 - r.width / 2 / S.view.k;
  S.view.y = p.y + H / 2 - r.height / 2 / S.view.k;
  applyView();
}

/* ---- job states: the newest run's that has the job, else the explain verdict ---- */
function lastRun() { return S.runs[S.runs.length - 1]; }
/** The newest run in which the job has a state (a watch cycle runs only some jobs), and that state. */
function latest(name) {
  for (let i = S.runs.length - 1; i >= 0; i--) {
    const s = S.runs[i].jobs.get(name);
    if (s) return { r: S.runs[i], s };
  }
  return {};
}
function jobState(j) {
  const { r, s } = latest(j.name);
  if (j.kind === "module") return { cls: S.modules.get(j.name) || "idle", sub: S.modules.get(j.name) || "module" };
  if (s) {
    const { cls, sub } = runState(s);
    // From an earlier run than the last: say which.
    return { cls, sub: r === lastRun() ? sub : sub + " (" + runName(r) + ")" };
  }
  const took = j.lastMs == null ? "" : " \u00b7 last " + fmtMs(j.lastMs);
  if (j.upToDate === true) return { cls: "uptodate", sub: "up to date" + took };
  if (j.upToDate === false) return { cls: "stale", sub: "would run" + took };
  return { cls: "idle", sub: took.slice(3) };
}
/**
 * A job's state in a run, as jx's summary counts it: a test of if/unless that failed is "false"
 * (an answer, not a failure), a job skipped as up to date is "uptodate".
 */
function runState(s) {
  if (s.status === "running") return { cls: "running", sub: "running\u2026" };
  if (s.status === "retrying") {
    return { cls: "retrying", sub: s.failedAs + ", retrying" + (s.retryIn ? " in " + fmtMs(s.retryIn) : "") +
      " (attempt " + ((s.attempt || 1) + 1) + ")" };
  }
  if (s.status === "skipped") return s.reason === "up-to-date" ? { cls: "uptodate", sub: "up to date" }
    : { cls: "skipped", sub: "skipped: " + s.reason };
  if (s.cache) return { cls: "cached", sub: "restored (" + s.cache + ") " + fmtMs(s.ms) };
  if (s.condition && s.status !== "ok") return { cls: "false", sub: "false (condition) " + fmtMs(s.ms) };
  return { cls: s.status, sub: s.status + " " + fmtMs(s.ms) };
}
function paint() {
  for (const j of S.g.jobs) {
    const n = S.nodes.get(j.name), st = jobState(j);
    n.setAttribute("class", "node " + j.kind + (j.madeBy ? " made" : "") + " st-" + st.cls +
      (S.sel === j.name ? " sel" : "") + (S.crit.has(j.name) ? " crit" : "") +
      (n.dataset.dim ? " dim" : "") + (n.dataset.hide ? " hide" : ""));
    n.querySelector(".sub").textContent = st.sub;
    n.dataset.state = st.cls;
  }
  for (const { e, p } of S.edges) {
    p.classList.toggle("crit", S.crit.has(e.from) && S.crit.has(e.to));
  }
  drawModules(); drawTimeline(); drawCompare();
  if (S.sel) drawDetails(S.sel);
  $("counts").textContent = countText();
}
function countText() {
  const c = {};
  for (const n of S.nodes.values()) c[n.dataset.state] = (c[n.dataset.state] || 0) + 1;
  return S.g.jobs.length + " nodes \u00b7 " + Object.entries(c).map((e) => e[1] + " " + e[0]).join(", ");
}

/* ---- search and filter ---- */
function applyFilter() {
  const q = $("search").value.trim().toLowerCase(), f = $("filter").value;
  for (const j of S.g.jobs) {
    const n = S.nodes.get(j.name), st = n.dataset.state;
    const match = !q || (j.name + " " + (j.description || "") + " " + j.command).toLowerCase().includes(q);
    const keep = f === "all" || (f === "job" || f === "module" ? j.kind === f : f === "failed"
      ? st === "failed" || st === "timeout" : st === f);
    n.dataset.dim = match ? "" : "1"; n.dataset.hide = keep ? "" : "1";
  }
  for (const { e, p, t } of S.edges) {
    const hide = S.nodes.get(e.from).dataset.hide || S.nodes.get(e.to).dataset.hide;
    p.classList.toggle("hide", !!hide); if (hide) t.classList.add("hide");
  }
  paint();
}

/* ---- details of the selected job ---- */
function select(name) {
  S.sel = name;
  for (const { e, p, t } of S.edges) {
    const on = name !== null && (e.from === name || e.to === name);
    p.classList.toggle("hl", on); t.classList.toggle("hl", on);
    if (S.g.edges.length > 250) t.classList.toggle("hide", !on);
  }
  paint();
  if (!name) {
    $("details").textContent = "Select a job in the graph (or search, then Enter).";
    $("details").dataset.key = "";
  }
}
function list(title, items) {
  const d = el("div"); d.append(el("h2", {}, title));
  const ul = el("ul"); for (const i of items) ul.append(el("li", {}, i)); d.append(ul);
  return items.length ? d : el("span");
}
/** The job of that name: the graph's, else a stand-in (a job the page heard of only from events). */
function jobNamed(name) {
  return S.g.jobs.find((x) => x.name === name) || { name, kind: "job", description: "",
    command: "(not in the graph)", reads: [], writes: [], upToDate: null, reasons: [], lastMs: null };
}
/**
 * The details of the selected job, made again only when what they show changed (not at every event
 * of the run: a text selected in them would be lost), its output scrolled to its end unless the
 * reader scrolled it up (then it stays where it was as the output grows).
 */
function drawDetails(name) {
  const j = jobNamed(name), box = $("details"), st = jobState(j);
  const { r, s } = latest(name);
  const key = [name, st.sub, s ? s.outN : -1, r ? r.n : 0, (lastRun() || {}).n, S.g.jobs.length,
    S.g.edges.length].join("\n");
  if (box.dataset.key === key) return;
  const old = $("output"), same = box.dataset.name === name;
  const top = same && old && old.scrollTop + old.clientHeight < old.scrollHeight - 4 ? old.scrollTop : null;
  box.dataset.key = key; box.dataset.name = name;
  box.textContent = "";
  box.append(el("h2", {}, j.kind + " " + j.name), el("div", {}, j.description || ""),
    el("pre", {}, j.command));
  const last = s ? st.sub : j.succeededBefore ? "succeeded before (state log)" : "no success recorded";
  box.append(el("div", {}, "last result: "), el("span", { class: "badge", id: "last-result" }, last));
  if (j.lastMs != null) box.append(el("div", { id: "last-ms" }, "last duration: " + fmtMs(j.lastMs)));
  if (j.madeBy) box.append(el("div", { id: "made-by" }, "made during the run by " + j.madeBy));
  if (j.joinedFor) box.append(el("div", { id: "joined-for" }, "not selected: joined the run for " + j.joinedFor));
  if (j.kind === "job") box.append(el("h2", {}, "explain"), j.upToDate === null ? el("div", {}, "not asked")
    : j.upToDate ? el("div", { id: "explain" }, "up to date: inputs, outputs and command are as when it last succeeded")
    : list("would run", j.reasons));
  box.append(list("waits for", S.g.edges.filter((e) => e.to === name).map((e) => e.from + " (" + e.reason + ")")),
    list("then", S.g.edges.filter((e) => e.from === name).map((e) => e.to + " (" + e.reason + ")")),
    list("reads", j.reads), list("writes", j.writes));
  if (s && s.out.length) {
    box.append(el("h2", {}, "output" + (r === lastRun() ? "" : " (" + runName(r) + ")")));
    const pre = outputPre(s);
    box.append(pre); pre.scrollTop = top ?? 1e9;
  }
}
/** A job's output as a pre, its colours (ANSI SGR) shown; made again only when the output grew. */
function outputPre(s) {
  if (s.pre && s.preN === s.outN) return s.pre;
  const pre = el("pre", { id: "output" });
  ansi(pre, (s.cut ? CUT_MARK : "") + s.out.join(""));
  s.pre = pre; s.preN = s.outN;
  return pre;
}
/**
 * Appends the text to the box as text, its SGR sequences (colours, bold...) as spans' classes (or,
 * for 256 colours and RGB, their style properties), every other escape sequence dropped: a tool
 * that colours its output (jx sets CLICOLOR_FORCE and FORCE_COLOR on a terminal) shows colours,
 * not "[31m". Nothing of the text is ever taken as markup.
 */
const ESC = /\x1b(?:\[([0-9;:?<=>]*)[ -\/]*([@-~])|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[ -\/]*[0-~]?)/g;
const RGB256 = (n) => n < 16 ? null : n > 231 ? "rgb(" + Array(3).fill(8 + (n - 232) * 10) + ")"
  : "rgb(" + [36, 6, 1].map((d) => Math.floor((n - 16) / d) % 6).map((v) => v ? 55 + v * 40 : 0) + ")";
function ansi(box, text) {
  let st = {}, at = 0, m;
  const put = (t) => {
    if (!t) return;
    const cls = [st.fg != null && "a-f" + st.fg, st.bg != null && "a-b" + st.bg, st.b && "a-bold",
      st.d && "a-dim", st.i && "a-it", st.u && "a-ul"].filter(Boolean);
    if (!cls.length && !st.fgc && !st.bgc) return box.append(t);
    const sp = el("span", cls.length ? { class: cls.join(" ") } : {}, t);
    if (st.fgc) sp.style.color = st.fgc;
    if (st.bgc) sp.style.backgroundColor = st.bgc;
    box.append(sp);
  };
  ESC.lastIndex = 0;
  while ((m = ESC.exec(text))) {
    put(text.slice(at, m.index)); at = ESC.lastIndex;
    if (m[2] === "m" && !/[?<=>]/.test(m[1])) st = sgr(st, m[1]);
  }
  put(text.slice(at));
}
/** The state after one SGR sequence's parameters. */
function sgr(st, params) {
  st = { ...st };
  const p = params.split(/[;:]/).map((x) => x === "" ? 0 : Number(x));
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === 0) st = {};
    else if (c === 1) st.b = true; else if (c === 2) st.d = true;
    else if (c === 3) st.i = true; else if (c === 4) st.u = true;
    else if (c === 22) st.b = st.d = false; else if (c === 23) st.i = false; else if (c === 24) st.u = false;
    else if (c >= 30 && c <= 37) { st.fg = c - 30; st.fgc = null; }
    else if (c >= 90 && c <= 97) { st.fg = c - 82; st.fgc = null; }
    else if (c >= 40 && c <= 47) { st.bg = c - 40; st.bgc = null; }
    else if (c >= 100 && c <= 107) { st.bg = c - 92; st.bgc = null; }
    else if (c === 39) st.fg = st.fgc = null; else if (c === 49) st.bg = st.bgc = null;
    else if (c === 38 || c === 48) {
      const fg = c === 38; let color = null, n = null;
      if (p[i + 1] === 5) { n = p[i + 2]; i += 2; }
      else if (p[i + 1] === 2) { color = "rgb(" + p.slice(i + 2, i + 5).map((v) => Math.min(255, v | 0)) + ")"; i += 4; }
      else break;
      if (n != null) { n = Math.min(255, n | 0); if (n < 16) color = null; else { color = RGB256(n); n = null; } }
      if (fg) { st.fg = n; st.fgc = color; } else { st.bg = n; st.bgc = color; }
    }
  }
  return st;
}

/* ---- modules and their controls ---- */
/**
 * The modules' rows and the publish form, made once for the graph's modules, then only updated
 * (states, buttons enabled, the last reply): made again at every event, as a run's output comes,
 * a button pressed would be another by its release (no click), a form's typing lost.
 */
function drawModules() {
  const mods = S.g.jobs.filter((j) => j.kind === "module"), box = $("modules");
  const key = mods.map((m) => m.name).join("\n");
  if (box.dataset.mods !== key) makeModules(box, mods, key);
  for (const row of box.querySelectorAll(".mod")) {
    row.querySelector(".state").textContent = S.modules.get(row.dataset.module) || "idle";
  }
  for (const b of box.querySelectorAll("button")) b.disabled = !S.live;
  if ($("ctl-reply")) $("ctl-reply").textContent = S.reply || "";
}
function makeModules(box, mods, key) {
  box.textContent = ""; box.dataset.mods = key;
  if (!mods.length) return;
  box.append(el("h2", {}, "modules"));
  for (const m of mods) {
    const row = el("div", { class: "mod", "data-module": m.name });
    row.append(el("b", {}, m.name), el("span", { class: "badge state" }, ""));
    for (const a of ["pause", "resume", "restart", "stop"]) {
      const b = el("button", { "data-action": a }, a);
      b.onclick = () => control({ action: a, module: m.name });
      row.append(b);
    }
    box.append(row);
  }
  const f = el("form", { id: "publish" });
  f.append(el("input", { name: "topic", placeholder: "topic", size: 8 }),
    el("input", { name: "message", placeholder: "message", size: 14 }), el("button", {}, "publish"));
  f.onsubmit = (e) => { e.preventDefault();
    control({ action: "publish", topic: f.topic.value, message: f.message.value }); };
  box.append(f, el("div", { id: "ctl-reply", class: "muted" }, ""));
}
async function control(req) {
  try {
    const res = await fetch("/api/control", { method: "POST", body: JSON.stringify(req),
      headers: { "content-type": "application/json", "x-jx-token": token } });
    const { body, text } = await replyOf(res);
    S.reply = req.action + ": " + (res.ok && body ? published(body.reply) || "done"
      : body && typeof body.error === "string" ? body.error : httpError(res, text));
  } catch (e) { S.reply = req.action + ": " + e; }
  drawModules();
}
/**
 * What became of a published message, in jx ctl publish's words (a reply of the run's supervisor);
 * "" for any other reply.
 */
function published(reply) {
  const by = reply && reply.modules_by_delivery;
  if (!by || !Array.isArray(by.delivered)) return "";
  const list = (k) => Array.isArray(by[k]) && by[k].length ? by[k].join(", ") : "";
  const parts = [
    list("delivered") && "delivered to " + list("delivered"),
    list("queued") && "queued for " + list("queued"),
    list("dropped") && "dropped by " + list("dropped") + " (not up, or its queue is full)",
    list("closed") && "not delivered to " + list("closed") +
      " (its stdin is closed; the message is discarded)",
  ].filter((p) => p);
  return parts.length ? parts.join("; ") : "no module subscribes";
}
/**
 * A reply's body: its JSON, or (not JSON: a proxy's HTML page, a plain-text 4xx/5xx) its text in
 * one line of at most 300 characters, an HTML page's without its tags.
 */
async function replyOf(res) {
  const raw = await res.text();
  try { return { body: JSON.parse(raw), text: "" }; } catch { /* not jx's JSON */ }
  let text = raw;
  if (/html/i.test(res.headers.get("content-type") || "") || /^\s*</.test(raw)) {
    const doc = new DOMParser().parseFromString(raw, "text/html");
    for (const x of doc.querySelectorAll("script, style")) x.remove();
    text = (doc.title || "") + " " + (doc.body ? doc.body.textContent : "");
  }
  text = text.replace(/\s+/g, " ").trim();
  return { body: null, text: text.length > 300 ? text.slice(0, 299) + "\u2026" : text };
}
/** An answer that is not jx's, in words: its status and text. */
function httpError(res, text) {
  return "HTTP " + res.status + (res.statusText ? " " + res.statusText : "") + (text ? ": " + text : "");
}

/* ---- runs: events in, lanes, critical path ---- */
/**
 * A run opens at the event that carries its number (the server's count: its run.start, a watch
 * cycle's change), so that a page opened late names runs as one open from the start.
 */
function openRun(e) {
  if (e.run == null ? S.runs.length : S.runs.length && lastRun().n === e.run) return;
  S.runs.push({ n: e.run || 1, when: new Date(), slots: 0, jobs: new Map(), lanes: [], end: null,
    ms: 0, t0: e.t || 0, changes: [] });
  if (S.runs.length > 5) for (const s of S.runs.shift().jobs.values()) dropOutput(s);
}
function runName(r) { return (S.mode === "watch" ? "cycle " : "run ") + r.n; }
/** Forgets the runs and the modules' states: the stream has (re)opened and sends them all again. */
function restart() {
  S.fresh = false; S.runs = []; S.modules = new Map(); S.outs = new Map(); S.outAll = 0;
}
function onEvent(e) {
  if (S.fresh) restart();
  if (e.type === "module.state") { S.modules.set(e.module, e.state); return schedule(); }
  openRun(e);
  if (e.type === "run.start") { lastRun().slots = e.slots || 0; lastRun().t0 = e.t; }
  // Times from the run's start (a watch session's events count from the session's).
  const r = lastRun(), t = (e.t || 0) - r.t0; r.ms = Math.max(r.ms, t);
  const job = (n) => r.jobs.get(n) || (r.jobs.set(n, { status: "waiting", out: [] }), r.jobs.get(n));
  switch (e.type) {
    case "job.start": { const s = job(e.job); s.status = "running"; s.start = t;
      s.lane = r.lanes.indexOf(null); if (s.lane < 0) s.lane = r.lanes.push(null) - 1;
      r.lanes[s.lane] = e.job; break; }
    case "job.end": { const s = job(e.job);
      if (s.lane !== undefined) r.lanes[s.lane] = null;
      // A job to be run again waits (its retries' delay): not running meanwhile.
      Object.assign(s, { status: e.retrying ? "retrying" : e.status, end: t, ms: e.ms, cache: e.cache,
        condition: e.condition, failedAs: e.status, attempt: e.attempt, retryIn: e.retry_in_ms });
      if (s.start === undefined) s.start = t - (e.cache ? 0 : e.ms); break; }
    case "job.skip": Object.assign(job(e.job), { status: "skipped", reason: e.reason }); break;
    case "job.output": addOutput(job(e.job), e.text); break;
    case "job.add": addJob(e); break;
    case "watch.change": r.changes.push(e.paths.join(", ")); break;
    case "run.end": r.end = e; break;
  }
  schedule();
}
/** A job's output on the page: its last OUT_MAX characters, after a marker once older text is dropped. */
const OUT_MAX = 256 * 1024, OUT_ALL = 64 * 1024 * 1024, CUT_MARK = "[jx ui: earlier output cut]\n";
function addOutput(s, text) {
  const before = s.outLen || 0;
  s.outN = (s.outN || 0) + 1; s.out.push(text); s.outLen = before + text.length;
  while (s.outLen > OUT_MAX && s.out.length > 1) { s.outLen -= s.out.shift().length; s.cut = true; }
  if (s.outLen > OUT_MAX) { s.out[0] = s.out[0].slice(-OUT_MAX); s.outLen = OUT_MAX; s.cut = true; }
  // In all, every job of every run: at most OUT_ALL characters, the output of the jobs written to
  // longest ago dropped first (the last one in S.outs was written to last).
  S.outs ||= new Map(); S.outAll = (S.outAll || 0) + s.outLen - before;
  S.outs.delete(s); S.outs.set(s, true);
  for (const old of S.outs.keys()) {
    if (S.outAll <= OUT_ALL || old === s) break;
    dropOutput(old); old.out = [""]; old.cut = true; old.outN++;
  }
}
/** Forgets a job's output in the count of what the page keeps (it is dropped, or its run is). */
function dropOutput(s) {
  if (!S.outs || !S.outs.delete(s)) return;
  S.outAll -= s.outLen; s.outLen = 0;
}
/**
 * A job made during the run (job.add) joins the graph: after the job that made it, and before
 * the jobs that need that one (they wait for it too). Laid out again at the next frame.
 */
function addJob(e) {
  // The names on the page, and what needs each maker: made once (not a pass over every job and
  // edge per added job: a generator may add thousands).
  if (!S.known) { S.known = new Set(S.g.jobs.map((j) => j.name)); S.thenOf = new Map(); }
  const known = (name) => S.known.has(name);
  if (known(e.job)) return;
  S.known.add(e.job);
  if (e.for !== undefined) return addJoined(e);
  const from = e.line ? ": line " + e.line + " of " + e.by + "'s output" : "";
  S.g.jobs.push({ name: e.job, kind: "job", description: null, needs: [], reads: [], writes: [],
    command: "(made during the run" + from + ")", upToDate: null, reasons: [], lastMs: null,
    succeededBefore: false, madeBy: e.by });
  S.relayout = true;
  if (!known(e.by)) return; // made by a library feed, not a job of the graph
  // Every edge out of a maker is on the page before it makes anything (it joined first).
  if (!S.thenOf.has(e.by)) {
    S.thenOf.set(e.by, S.g.edges.filter((x) => x.from === e.by && x.kind === "needs"));
  }
  const then = S.thenOf.get(e.by).filter((x) => x.to !== e.job);
  S.g.edges.push({ from: e.by, to: e.job, kind: "made", reason: "made by " + e.by });
  for (const x of then) {
    S.g.edges.push({ from: e.job, to: x.to, kind: "needs", reason: "needs " + e.by + ", which made it" });
  }
}
/** A job of the file the run did not select, joined for a made job that needs it (job.add with for). */
function addJoined(e) {
  S.g.jobs.push({ name: e.job, kind: "job", description: null, needs: [], reads: [], writes: [],
    command: "(a job of the file, not selected)", upToDate: null, reasons: [], lastMs: null,
    succeededBefore: false, joinedFor: e.for, madeBy: null });
  S.relayout = true;
}
let pending = false;
function schedule() {
  if (pending) return; pending = true;
  requestAnimationFrame(() => {
    pending = false;
    if (S.relayout) { S.relayout = false; layout(S.g); drawGraph(); }
    S.crit = criticalPath(lastRun()); applyFilter();
  });
}
/** The chain that set the run's length: from the last job to end, back through what it waited for. */
function criticalPath(r) {
  const out = new Set(); if (!r) return out;
  let cur = null;
  for (const [n, s] of r.jobs) if (s.end !== undefined && (!cur || s.end > r.jobs.get(cur).end)) cur = n;
  while (cur && !out.has(cur)) {
    out.add(cur);
    const start = r.jobs.get(cur).start;
    let best = null;
    for (const p of S.preds.get(cur) || []) {
      const s = r.jobs.get(p);
      if (s && s.end !== undefined && s.end <= start + 1 && (!best || s.end > r.jobs.get(best).end)) best = p;
    }
    cur = best;
  }
  return out;
}
/** Every job of the page has ended in run r (which has not: a foreground module holds it). */
function jobsDone(r) {
  return S.g.jobs.every((j) => j.kind === "module" || ["ok", "failed", "timeout", "cancelled",
    "skipped"].includes((r.jobs.get(j.name) || {}).status));
}
function drawTimeline() {
  const svg = $("timeline"), r = lastRun(); svg.textContent = "";
  if (!r) { $("tlhead").textContent = "timeline: no run yet"; return; }
  const bars = [...r.jobs].filter((x) => x[1].start !== undefined);
  const lanes = Math.max(1, r.lanes.length), span = Math.max(1, r.ms), LH = 18;
  const width = Math.max(300, $("tl").clientWidth - 90);
  const cacheLane = bars.some((b) => b[1].cache) ? lanes : -1;
  svg.setAttribute("width", width + 70); svg.setAttribute("height", (lanes + (cacheLane >= 0 ? 1 : 0)) * LH + 4);
  for (let l = 0; l < lanes; l++) svg.append(el("text", { x: 0, y: l * LH + 13 }, "slot " + (l + 1)));
  if (cacheLane >= 0) svg.append(el("text", { x: 0, y: cacheLane * LH + 13 }, "cache"));
  for (const [n, s] of bars) {
    const lane = s.cache ? cacheLane : s.lane, x = 60 + s.start / span * width;
    const w = Math.max(s.cache ? 4 : 2, ((s.end ?? r.ms) - s.start) / span * width);
    const b = el("rect", { class: "bar " + runState(s).cls + (S.crit.has(n) ? " crit" : ""),
      x, y: lane * LH + 2, width: w, height: LH - 4, "data-job": n });
    b.append(el("title", {}, n + ": " + (s.cache ? "restored from " + s.cache + " cache " + fmtMs(s.ms) : runState(s).sub)));
    b.addEventListener("click", () => { select(n); centerOn(n); });
    svg.append(b);
    if (w > 40) svg.append(el("text", { x: x + 3, y: lane * LH + 13, "pointer-events": "none" }, n));
  }
  $("tlhead").textContent = runName(r) + ": " + (r.end ? r.end.status + " in " + fmtMs(r.end.ms)
    : jobsDone(r) ? "jobs done in " + fmtMs(r.ms) + ", modules up" : "running")
    + " \u00b7 critical path: " + [...S.crit].reverse().join(" \u2192 ")
    + (r.changes.length ? " \u00b7 changed: " + r.changes[r.changes.length - 1] : "");
}

/* ---- two runs side by side ---- */
/**
 * The runs to compare, keyed by their numbers: the ones picked while they are kept, else the last
 * two. The options are made again whenever the kept runs change.
 */
function pickRuns() {
  const ids = S.runs.map((r) => String(r.n)), key = ids.join();
  for (const [k, def] of [["A", ids.length - 2], ["B", ids.length - 1]]) {
    const sel = $("run" + k);
    if (sel.dataset.ids !== key) {
      sel.textContent = ""; sel.dataset.ids = key;
      for (const r of S.runs) sel.append(el("option", { value: r.n }, runName(r) + " (" + r.when.toLocaleTimeString() + ")"));
    }
    sel.value = ids.includes(S.pick[k]) ? S.pick[k] : ids[Math.max(0, def)] || "";
  }
  const run = (k) => S.runs.find((r) => String(r.n) === $("run" + k).value);
  return [run("A"), run("B")];
}
function drawCompare() {
  const box = $("cmptable"), [ra, rb] = pickRuns();
  box.textContent = "";
  if (!ra || !rb || ra === rb) { box.append(el("div", { class: "muted" }, "two runs are needed to compare")); return; }
  const t = el("table"); t.append(el("tr", {}, ""));
  t.firstChild.append(el("th", {}, "job"), el("th", {}, runName(ra)), el("th", {}, runName(rb)), el("th", {}, "\u0394"));
  const names = new Set([...ra.jobs.keys(), ...rb.jobs.keys()]);
  for (const n of names) {
    const x = ra.jobs.get(n), y = rb.jobs.get(n), tr = el("tr");
    const d = x && y && x.ms != null && y.ms != null ? y.ms - x.ms : null;
    tr.append(el("td", {}, n), el("td", { class: "n" }, x ? (x.cache ? "cache " : "") + fmtMs(x.ms) || x.status : "\u2013"),
      el("td", { class: "n" }, y ? (y.cache ? "cache " : "") + fmtMs(y.ms) || y.status : "\u2013"),
      el("td", { class: "n " + (d === null || d === 0 ? "" : d < 0 ? "faster" : "slower") }, d === null ? "" : (d > 0 ? "+" : "") + fmtMs(Math.abs(d)).replace(/^/, d < 0 ? "-" : "")));
    t.append(tr);
  }
  box.append(t);
}

/* ---- start ---- */
async function start() {
  const inline = $("jx-data");
  if (inline) S.g = JSON.parse(inline.textContent);
  else {
    const res = await fetch("/api/graph?token=" + encodeURIComponent(token));
    const { body, text } = await replyOf(res);
    if (!res.ok || !body) {
      $("conn").textContent = "cannot load the graph: " + httpError(res, text);
      document.body.dataset.error = "1";
      return;
    }
    S.g = body;
  }
  $("file").textContent = S.g.file;
  layout(S.g); drawGraph(); panZoom($("graph")); fit(); select(null);
  $("search").addEventListener("input", applyFilter);
  $("search").addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    const hit = S.g.jobs.find((j) => !S.nodes.get(j.name).dataset.dim && !S.nodes.get(j.name).dataset.hide);
    if (hit) { select(hit.name); centerOn(hit.name); }
  });
  $("filter").addEventListener("change", applyFilter);
  for (const k of ["A", "B"]) $("run" + k).addEventListener("change", (e) => { S.pick[k] = e.target.value; drawCompare(); });
  // A bar selects its job when pressed too: the bars are made again at every event of a live run,
  // and one pressed would be another by its release (no click).
  $("timeline").addEventListener("mousedown", (e) => {
    const n = e.target.getAttribute && e.target.getAttribute("data-job");
    if (n) { e.preventDefault(); select(n); centerOn(n); }
  });
  if (inline) { $("conn").textContent = "static page (no server)"; applyFilter(); return; }
  // Controls work when the server has a run to send them to.
  S.live = S.g.control !== false; S.mode = S.g.mode || "ui";
  const live = S.mode === "ui" ? "live" : "live: jx " + S.mode;
  const es = new EventSource("/api/events?token=" + encodeURIComponent(token));
  // Each (re)connection is sent the kept runs whole (a page that fell too far behind is
  // disconnected, then catches up): they replace what the page had, at their first event.
  es.onopen = () => { $("conn").textContent = live; S.fresh = true; };
  es.onerror = () => { if (S.ended) return; $("conn").textContent = "disconnected"; };
  es.onmessage = (m) => onEvent(JSON.parse(m.data));
  // jx watch loaded its jobs file again: the page shows the new graph from the start.
  es.addEventListener("reload", () => { es.close(); location.reload(); });
  // The server says it is going (the run is over): stop reconnecting, keep what is shown.
  es.addEventListener("bye", () => {
    es.close(); S.ended = true; S.live = false;
    $("conn").textContent = "jx " + S.mode + " has ended; this page keeps what it showed";
    document.body.dataset.ended = "1"; drawModules();
  });
  applyFilter();
  document.body.dataset.ready = "1";
}
start().then(() => { document.body.dataset.ready = "1"; });
`;
