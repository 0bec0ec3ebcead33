/**
 * `jx sh -n`: the graph jx derives from a script, without running it. Each
 * top-level command with what it reads and writes, whether it is a barrier
 * (and why), and which earlier commands it waits for, with the path or the
 * reason. Commands inside `if`, loops and `&&`/`||` are listed under their
 * construct: they become jobs when the test before them has ended.
 *
 * @module
 */
import {
  type Access,
  conflicts,
  deriveAccess,
  jobAccess,
  normalize,
  resolveWord,
} from "./derive.ts";
import {
  type Item,
  literalOf,
  type ParseResult,
  type ShNode,
  walk,
  type WordPart,
} from "./parse.ts";
import { commandWord, fallbackReason } from "./plan.ts";

/**
 * One row of the graph.
 *
 * @example
 * ```ts
 * import type { GraphRow } from "./graph.ts";
 * const show = (r: GraphRow) => `${r.name}: waits for ${r.waits.map((w) => w.name).join(", ")}`;
 * ```
 */
export interface GraphRow {
  name: string;
  line: number;
  /** `job`, `barrier`, `control` (if, loop, &&/||: expanded as it runs) or `rest` (the rest runs as one sh). */
  kind: "job" | "barrier" | "control" | "rest";
  access: Access;
  /** Earlier rows it waits for, each with the reason. */
  waits: { name: string; reason: string }[];
  /** Commands inside a control construct. */
  inner: { line: number; text: string; access: Access }[];
}

/**
 * Derives the rows of a parsed script. Variables set by plain assignments
 * (`out=build`) earlier in the script are used to resolve words; others are
 * unknown until the script runs.
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { graphRows } from "./graph.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const rows = graphRows(parseScript("echo a > x\ncat x\n"), { env: {}, argv0: "s.sh", cwd: "/" });
 * assertEquals(rows[1].waits, [{ name: "1:echo", reason: "writes x" }]);
 * ```
 */
export function graphRows(
  parsed: ParseResult,
  opts: { env: Record<string, string>; argv0: string; cwd: string },
): GraphRow[] {
  const rows = commandRows(parsed, opts);
  addWaits(rows, opts.cwd);
  return rows;
}

/**
 * One row per top-level command up to the first that runs the rest of the
 * script as one (a background job, what cannot be split, a syntax error),
 * then that one as a `rest` row; waits not yet filled.
 */
function commandRows(
  parsed: ParseResult,
  opts: { env: Record<string, string>; argv0: string; cwd: string },
): GraphRow[] {
  const vars = new Map<string, string | undefined>();
  const functions = new Set<string>();
  for (const i of parsed.items) walk(i.node, (n) => n.type === "func" && functions.add(n.name));
  const ctx = {
    functions,
    initialPath: opts.env.PATH,
    resolve: (name: string) => {
      if (vars.has(name)) return vars.get(name);
      if (name === "0") return opts.argv0;
      return /^[A-Za-z_]/.test(name) ? opts.env[name] : undefined;
    },
  };
  const names = new Map<string, number>();
  const nameOf = (line: number, word: string) => {
    const base = `${line}:${word}`;
    const n = (names.get(base) ?? 0) + 1;
    names.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  };
  const rows: GraphRow[] = [];
  const items = parsed.items;
  let restAt = items.findIndex((i) => i.bg || fallbackReason(i.node, false) !== undefined);
  // A script jx could not parse whole runs whole (plan.ts).
  if (parsed.error) restAt = 0;
  const upto = restAt < 0 ? items.length : restAt;
  for (let k = 0; k < upto; k++) {
    const node = items[k].node;
    // Inside it, what it sets itself (a loop's variable, an assignment) is not known beforehand.
    const own = new Map<string, string | undefined>();
    trackAssignments(node, own, ctx.resolve, functions);
    const inside = { ...ctx, resolve: (n: string) => own.has(n) ? own.get(n) : ctx.resolve(n) };
    rows.push(commandRow(parsed, node, ctx, inside, nameOf(node.span.line, commandWord(node))));
    trackAssignments(node, vars, ctx.resolve, functions);
  }
  if (restAt >= 0) rows.push(restRow(parsed, restAt));
  return rows;
}

/**
 * The row of one top-level command (`ctx`: the variables and functions known
 * before it; `inside`: those its inner commands may count on).
 */
function commandRow(
  parsed: ParseResult,
  node: ShNode,
  ctx: Parameters<typeof deriveAccess>[2],
  inside: Parameters<typeof deriveAccess>[2],
  name: string,
): GraphRow {
  const access = jobAccess(node, parsed.src, ctx);
  const control = isControl(node);
  const kind = control ? "control" : access.barrier || access.fallback ? "barrier" : "job";
  const inner = control
    ? innerCommands(node).map((n) => ({
      line: n.span.line,
      text: parsed.src.slice(n.span.start, n.span.end).split("\n")[0],
      access: deriveAccess(n, parsed.src, inside),
    }))
    : [];
  return { name, line: node.span.line, kind, access, waits: [], inner };
}

/** The row of the rest of the script, from item `restAt` (or the syntax error) on. */
function restRow(parsed: ParseResult, restAt: number): GraphRow {
  const items = parsed.items;
  const start = parsed.error ? 0 : items[restAt].node.span.start;
  const line = parsed.src.slice(0, start).split("\n").length;
  const why = parsed.error
    ? parsed.error.tooDeep ? parsed.error.message : "not parsed"
    : fallbackReason(items[restAt].node, false) ?? "& (a background job)";
  return {
    name: `${line}:rest`,
    line,
    kind: "rest",
    access: { reads: [], writes: [], all: false, barrier: true, fallback: true, why: [why] },
    waits: [],
    inner: [],
  };
}

/**
 * Fills each row's waits: the last barrier, and the rows since it that it
 * conflicts with. Rows of plain paths are found through an index of paths
 * and of the directories above them; the others (barriers, patterns, "any
 * file") are compared with every row since the last barrier.
 */
function addWaits(rows: GraphRow[], cwd: string): void {
  let barrier = -1;
  const byPath = new Map<string, number[]>();
  const byAncestor = new Map<string, number[]>();
  const wide: number[] = [];
  const push = (m: Map<string, number[]>, k: string, v: number) => {
    const l = m.get(k);
    if (l) l.push(v);
    else m.set(k, [v]);
  };
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const isBarrier = r.access.barrier || r.access.fallback;
    const refs = [...r.access.reads, ...r.access.writes];
    const plain = !isBarrier && !r.access.all && refs.every((x) => !x.glob);
    if (barrier >= 0) r.waits.push({ name: rows[barrier].name, reason: "barrier" });
    let candidates: number[];
    if (!plain) candidates = Array.from({ length: i - barrier - 1 }, (_, k) => barrier + 1 + k);
    else {
      const set = new Set<number>(wide);
      for (const x of refs) {
        const p = normalize(x.path, cwd);
        for (const j of byPath.get(p) ?? []) set.add(j);
        for (const j of byAncestor.get(p) ?? []) set.add(j);
        for (const d of ancestors(p)) for (const j of byPath.get(d) ?? []) set.add(j);
      }
      candidates = [...set].sort((x, y) => x - y);
    }
    for (const j of candidates) addWait(r, rows[j], isBarrier, cwd);
    if (isBarrier) {
      barrier = i;
      byPath.clear();
      byAncestor.clear();
      wide.length = 0;
    } else if (!plain) wide.push(i);
    else {
      for (const x of refs) {
        const p = normalize(x.path, cwd);
        push(byPath, p, i);
        for (const d of ancestors(p)) push(byAncestor, d, i);
      }
    }
  }
}

/** Row `r` waits for the earlier row `e` when they conflict, with the reason. */
function addWait(r: GraphRow, e: GraphRow, isBarrier: boolean, cwd: string): void {
  const why = conflicts(e.access, r.access, cwd);
  if (!why) return;
  r.waits.push({
    name: e.name,
    reason: isBarrier
      ? "barrier after it"
      : why === "may touch any file"
      ? why
      : `${e.access.writes.some((w) => w.path === why) ? "writes" : "reads"} ${why}`,
  });
}

/**
 * The graph as text, one block per top-level command.
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { formatGraph } from "./graph.ts";
 * console.log(formatGraph(parseScript("sort a > b\ncd out\n"), { env: {}, argv0: "s.sh", cwd: "/" }));
 * ```
 */
export function formatGraph(
  parsed: ParseResult,
  opts: { env: Record<string, string>; argv0: string; cwd: string },
): string {
  const out: string[] = [];
  const paths = (refs: { path: string }[]) => [...new Set(refs.map((r) => r.path))].join(" ");
  const describe = (a: Access, pad: string) => {
    if (a.barrier || a.fallback) out.push(`${pad}barrier: ${a.why.join("; ")}`);
    else if (a.all) out.push(`${pad}may touch any file: ${a.why.join("; ")}`);
    if (a.reads.length) out.push(`${pad}reads: ${paths(a.reads)}`);
    if (a.writes.length) out.push(`${pad}writes: ${paths(a.writes)}`);
  };
  for (const r of graphRows(parsed, opts)) {
    const label = r.kind === "control"
      ? "control (its commands become jobs as the tests end)"
      : r.kind === "rest"
      ? "the rest of the script runs as one sh"
      : r.kind;
    out.push(`${r.name} (line ${r.line}): ${label}`);
    if (r.kind === "rest") out.push(`  why: ${r.access.why.join("; ")}`);
    else if (r.kind !== "control") describe(r.access, "  ");
    for (const c of r.inner) {
      out.push(`  | line ${c.line}: ${c.text}`);
      describe(c.access, "  |   ");
    }
    if (r.waits.length) {
      out.push(`  waits for: ${r.waits.map((w) => `${w.name} (${w.reason})`).join(", ")}`);
    } else out.push("  waits for: nothing");
  }
  return out.join("\n") + "\n";
}

/** The directories above an absolute path: `/a/b/c` → `/a/b`, `/a`, `/`. */
function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1)) out.push(p.slice(0, i));
  if (p !== "/") out.push("/");
  return out;
}

function isControl(node: ShNode): boolean {
  if ("redirs" in node && node.redirs.length) return false;
  return ["andor", "if", "while", "until", "for", "group", "func"].includes(node.type);
}

function innerCommands(node: ShNode): ShNode[] {
  const out: ShNode[] = [];
  const items = (l: Item[]) => l.forEach((i) => add(i.node));
  const add = (n: ShNode) => {
    if (!isControl(n) || n.type === "func") out.push(n);
    else inner(n);
  };
  const inner = (n: ShNode) => {
    switch (n.type) {
      case "andor":
        add(n.first);
        n.rest.forEach((r) => add(r.node));
        break;
      case "if":
        n.clauses.forEach((c) => {
          items(c.cond);
          items(c.body);
        });
        items(n.otherwise ?? []);
        break;
      case "while":
      case "until":
        items(n.cond);
        items(n.body);
        break;
      case "for":
      case "group":
        items(n.body);
        break;
      case "simple":
      case "pipeline":
      case "case":
      case "subshell":
      case "func":
        break;
      default: {
        const _assertNever: never = n;
      }
    }
  };
  if (node.type === "func") return [];
  inner(node);
  return out;
}

/** Follows plain `NAME=value` assignments at the top level; anything else that sets a variable makes it unknown. */
function trackAssignments(
  node: ShNode,
  vars: Map<string, string | undefined>,
  resolve: (n: string) => string | undefined,
  functions: Set<string>,
): void {
  if (node.type === "simple" && !node.words.length) {
    for (const a of node.assigns) {
      const eq = a.text.indexOf("=");
      const name = a.text.slice(0, eq);
      const value = { ...a, parts: cutName(a.parts, eq + 1) };
      vars.set(name, resolveWord(value, resolve)?.value);
    }
    return;
  }
  walk(node, (n) => {
    if (n.type === "simple") {
      for (const a of n.assigns) vars.set(a.text.slice(0, a.text.indexOf("=")), undefined);
      const w = n.words[0] && literalOf(n.words[0]);
      if (w === "read" || w === "export" || w === "unset" || w === "getopts") {
        for (const x of n.words.slice(1)) {
          const l = literalOf(x);
          if (l && /^[A-Za-z_]/.test(l)) vars.set(l.split("=")[0], undefined);
        }
      }
      if ((n.words.length && w === undefined) || (w && functions.has(w))) vars.clear();
    }
    if (n.type === "for") vars.set(n.name, undefined);
  });
}

/** The parts of an assignment word after `NAME=` (`skip` characters of its literal start). */
function cutName(parts: WordPart[], skip: number) {
  const out = [...parts];
  const first = out[0];
  if (first?.kind === "lit") out[0] = { ...first, text: first.text.slice(skip) };
  return out;
}
