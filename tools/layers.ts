/**
 * Checks the layering rules that ARCHITECTURE.md states, so that they stay true:
 *
 * 1. No import cycles between files of lib/ (static imports, `export ... from`
 *    and dynamic `import("...")` alike; `import type` is erased at run time and
 *    may go both ways, as between two classes that name each other).
 * 2. A part (a folder of lib/) imports only the parts its entry in
 *    ARCHITECTURE.md's list names under "depends on", so the parts form no cycle.
 * 3. An import that crosses parts goes through the part's `mod.ts`, or through
 *    one of the doors ARCHITECTURE.md lists on its "Doors besides mod.ts:"
 *    line (small leaves that the fast paths load without the rest of a part),
 *    or is `import type` (erased at run time).
 * 4. Runtime access goes through lib/runtime/: outside it (in lib/, cli.ts and
 *    mod.ts) no code names `globalThis`, reads a member of the `Deno` or `Bun`
 *    global (a type such as `Deno.Conn` is erased and allowed), or uses the
 *    `process` global; `process` comes from `import process from "node:process"`,
 *    the Node API that Deno and Bun both implement (ARCHITECTURE.md, "Runtime
 *    access"). Comments are not code.
 * 5. A dynamic import of a module of jx is written `import("./x.ts" as string)`
 *    (with a cast to its type), so that Deno does not read its module graph
 *    when the importer loads (ARCHITECTURE.md, "Lazy imports").
 * 6. The modules a partial `jx run` loads (`RUN_PATH`, through static
 *    imports) import no `node:` or `npm:` module, statically or by a
 *    top-level `await import` (ARCHITECTURE.md, "The run path").
 *
 * Run: `deno run --allow-read tools/layers.ts` (from the repository root; .ci/run
 * does). Prints one line per broken rule and exits 1, else prints a count.
 *
 * @example The import parser on one file's text
 * ```ts
 * import { importsOf } from "./layers.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert";
 * const text = 'import { a } from "../graph/mod.ts";\nimport type { T } from "./t.ts";';
 * assertEquals(importsOf(text), [
 *   { spec: "../graph/mod.ts", typeOnly: false, line: 1 },
 *   { spec: "./t.ts", typeOnly: true, line: 2 },
 * ]);
 * ```
 *
 * @module
 */

/** One relative import found in a file. */
export interface Import {
  /** The specifier as written. */
  spec: string;
  /** `import type` / `export type`: erased at run time. */
  typeOnly: boolean;
  /** 1-based line of the import. */
  line: number;
  /** A dynamic import written `import("./x.ts" as string)` (undefined: not a dynamic one). */
  lazy?: boolean;
}

const STATIC = /^\s*(import|export)\s+(type\s+)?[^"']*?\bfrom\s+["'](\.[^"']+)["']/;
const BARE = /^\s*import\s+["'](\.[^"']+)["']/;
/**
 * A dynamic import, also as jx writes its lazy ones (`import("./x.ts" as string)`, so that Deno does
 * not load the module's graph with the importer's: ARCHITECTURE.md, "Lazy imports"), over lines;
 * `typeof import("./x.ts")` (a type) is not one.
 */
const DYNAMIC = /(typeof\s+)?\bimport\s*\(\s*["'`](\.[^"'`]+)["'`]\s*(as\s+string\s*)?\)/g;

/**
 * The text with each comment line blanked (a `//` line, and every line of a
 * `/* ... *\/` block that starts a line: JSDoc), line numbers kept: an
 * import in an example is not an import.
 */
export function withoutComments(text: string): string {
  let inBlock = false;
  return text.split("\n").map((line) => {
    const t = line.trimStart();
    if (inBlock || t.startsWith("/*")) {
      inBlock = !line.includes("*/");
      return "";
    }
    return t.startsWith("//") ? "" : line;
  }).join("\n");
}

/** The relative imports of a file's text (static, `export from`, dynamic), comments left out. */
export function importsOf(source: string): Import[] {
  const found: Import[] = [];
  const text = withoutComments(source);
  // A multi-line import is joined from its first line up to its `from`.
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let stmt = lines[i];
    if (/^\s*(import|export)\b/.test(stmt) && !/["']\s*;?\s*$/.test(stmt)) {
      let j = i;
      while (j + 1 < lines.length && j - i < 40 && !/\bfrom\s+["']/.test(stmt)) stmt += lines[++j];
    }
    const s = STATIC.exec(stmt);
    if (s) found.push({ spec: s[3], typeOnly: s[2] !== undefined, line: i + 1 });
    const b = BARE.exec(lines[i]);
    if (b) found.push({ spec: b[1], typeOnly: false, line: i + 1 });
  }
  for (const d of text.matchAll(DYNAMIC)) {
    if (d[1]) continue; // a type
    const line = text.slice(0, d.index).split("\n").length;
    found.push({ spec: d[2], typeOnly: false, line, lazy: d[3] !== undefined });
  }
  return found.sort((a, b) => a.line - b.line);
}

/** The rules as ARCHITECTURE.md writes them: allowed dependencies per part, extra doors. */
export interface Rules {
  deps: Map<string, Set<string>>;
  doors: Set<string>;
}

/** Reads the parts list ("- `part/` (depends on: ...): ...") and the doors of ARCHITECTURE.md. */
export function rulesOf(architecture: string): Rules {
  const deps = new Map<string, Set<string>>();
  for (const line of architecture.split("\n")) {
    const row = /^- `([a-z_]+)\/` \(depends on: ([^:]*)\):/.exec(line);
    if (!row) continue;
    const names = row[2].replace(/\([^)]*\)/g, "").match(/[a-z_]+/g) ?? [];
    deps.set(row[1], new Set(names.filter((n) => n !== "everything" && n !== "above")));
    if (/everything above/.test(row[2])) deps.get(row[1])!.add("*");
  }
  const at = architecture.search(/Doors\s+besides\s+mod\.ts:/);
  const para = at < 0 ? "" : architecture.slice(at).split("\n\n")[0].split(":")[1] ?? "";
  const doors = new Set(para.match(/`[a-z_]+\/[a-z_]+\.ts`/g)?.map((d) => d.slice(1, -1)));
  return { deps, doors };
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) walk(p, out);
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

function normalize(from: string, spec: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const seg of spec.split("/")) {
    if (seg === "..") parts.pop();
    else if (seg !== ".") parts.push(seg);
  }
  return parts.join("/");
}

const partOf = (file: string): string | undefined => /^lib\/([a-z_]+)\//.exec(file)?.[1];

/**
 * The parts that `part` may import: its entry's, every part above it for an
 * "everything above" entry, and the base parts (an entry that depends on
 * nothing) for every part.
 */
function allowed(rules: Rules, part: string, order: string[]): Set<string> {
  const own = rules.deps.get(part) ?? new Set<string>();
  const bases = order.filter((p) => rules.deps.get(p)!.size === 0);
  if (!own.has("*")) return new Set([...own, ...bases]);
  return new Set(order.slice(0, order.indexOf(part)));
}

/** Every broken rule, one message each (`FILE:LINE: message`). */
export function check(files: Map<string, string>, rules: Rules): string[] {
  const problems: string[] = [];
  const order = [...rules.deps.keys()];
  const edges = new Map<string, string[]>();
  for (const [file, text] of files) {
    const targets: string[] = [];
    edges.set(file, targets);
    const from = partOf(file);
    for (const imp of importsOf(text)) {
      const target = normalize(file, imp.spec);
      if (!imp.typeOnly) targets.push(target);
      if (imp.lazy === false) {
        problems.push(
          `${file}:${imp.line}: write it import("${imp.spec}" as string) (ARCHITECTURE.md, "Lazy imports")`,
        );
      }
      const to = partOf(target);
      if (!from || !to || from === to) continue;
      if (!rules.deps.has(from)) {
        problems.push(`${file}:${imp.line}: part ${from}/ has no entry in ARCHITECTURE.md's list`);
      } else if (!allowed(rules, from, order).has(to)) {
        problems.push(`${file}:${imp.line}: ${from}/ may not import ${to}/ (ARCHITECTURE.md)`);
      }
      const door = target.slice("lib/".length);
      const base = rules.deps.get(to)?.size === 0; // every file of a base part is a door
      if (!imp.typeOnly && !base && !door.endsWith("/mod.ts") && !rules.doors.has(door)) {
        problems.push(`${file}:${imp.line}: ${door} is not ${to}/mod.ts nor a listed door`);
      }
    }
  }
  return problems.concat(cycles(edges));
}

/** Outside lib/runtime/: the one place that may touch the runtime's globals. */
const RUNTIME_DIR = "lib/runtime/";

/**
 * Uses of the runtime's globals in one file's text (rule 4), one message each.
 *
 * @example
 * ```ts
 * import { globalsOf } from "./layers.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert";
 * const text = "const a = Deno.args;\nlet c: Deno.Conn;\n// Deno.exit(1)\n";
 * assertEquals(globalsOf("x.ts", text), ["x.ts:1: Deno.args: through lib/runtime/"]);
 * ```
 */
export function globalsOf(file: string, text: string): string[] {
  if (file.startsWith(RUNTIME_DIR)) return [];
  const problems: string[] = [];
  const importsProcess = /^\s*import\s+process\s+from\s+["']node:process["']/m.test(text);
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const code = codeOf(lines[i]);
    const found = [
      ...code.matchAll(/\bglobalThis\b/g),
      ...code.matchAll(/(?<![\w.$])(?:Deno|Bun)(?:\.[a-z_$][\w$]*|\[)/g),
      ...code.matchAll(/\bnew\s+(?:Deno|Bun)\.\w+/g),
      ...(importsProcess ? [] : code.matchAll(/(?<![\w.$])process\.\w+/g)),
    ];
    for (const m of found) problems.push(`${file}:${i + 1}: ${m[0]}: through lib/runtime/`);
  }
  return problems;
}

/**
 * A line without its comment and quoted strings (a JSDoc line is all
 * comment); template literals stay, as their `${...}` parts are code.
 */
function codeOf(line: string): string {
  if (/^\s*(\*|\/\*|\/\/)/.test(line)) return "";
  return line.replace(/(["'])(?:\\.|(?!\1).)*\1/g, '""').replace(/\/\/.*$/, "");
}

/**
 * The modules a partial `jx run` loads (rule 6): `cli.ts` and those it
 * imports lazily on that path, each followed through its static imports.
 */
export const RUN_PATH = [
  "cli.ts",
  "lib/cli/noop_run.ts",
  "lib/cli/main.ts",
  "lib/cli/commands.ts",
  "lib/modules/mod.ts",
  "lib/cli/durations.ts",
  "lib/graph/cache.ts",
  "lib/graph/load.ts",
];

/**
 * The modules other than jx's own that a file loads when it loads (rule
 * 6): `node:` and `npm:` ones, and bare names (an import map's, as `yaml`):
 * its imports of them that are not `import type`, and a top-level
 * `await import(...)` of one; `[line, specifier]` each.
 *
 * @example
 * ```ts
 * import { runtimeModulesOf } from "./layers.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert";
 * const text = 'import type * as F from "node:fs";\nimport { join } from "node:path";\n' +
 *   'const c = await import("node:crypto");\nasync function f() {\n  await import("node:net");\n}\n';
 * assertEquals(runtimeModulesOf(text), [[2, "node:path"], [3, "node:crypto"]]);
 * ```
 */
export function runtimeModulesOf(source: string): [number, string][] {
  const found: [number, string][] = [];
  const lines = withoutComments(source).split("\n");
  // A module's name, not an expression: `node:fs`, `npm:yaml@2`, `yaml`, `@scope/x` (no `${`).
  const NAME = `([a-z@][\\w@./:-]*)`;
  const fromStmt = new RegExp(
    `^(?:import|export)\\s+(type\\s+)?[^"'\`]*?\\bfrom\\s+["']${NAME}["']`,
    "i",
  );
  const bare = new RegExp(`^import\\s+()["']${NAME}["']`, "i");
  const call = new RegExp(`(?<!typeof\\s*)\\bimport\\s*\\(\\s*["'\`]${NAME}["'\`]`, "i");
  for (let i = 0; i < lines.length; i++) {
    let stmt = lines[i];
    // Only an import or re-export is joined over lines (up to its `from`), not `export const`...
    if (/^(import|export)\s+(type\s+)?[{*]/.test(stmt) && !/["']\s*;?\s*$/.test(stmt)) {
      for (let j = i; j + 1 < lines.length && j - i < 40 && !/\bfrom\s+["']/.test(stmt);) {
        stmt += lines[++j];
      }
    }
    const s = fromStmt.exec(stmt) ?? bare.exec(stmt);
    if (s && !s[1] && !s[2].startsWith(".")) found.push([i + 1, s[2]]);
    // At the top level (not indented), `import(...)` runs when the module loads; the call may
    // wrap lines (`await import(\n  "node:fs"\n)`).
    const top = /^\S/.test(lines[i]) && !/^(import|export|type|interface|declare)\s/.test(lines[i]);
    if (top && /\bimport\s*\(/.test(lines[i])) {
      const d = call.exec(lines.slice(i, i + 3).join(" "));
      if (d && !d[1].startsWith(".")) found.push([i + 1, d[1]]);
    }
  }
  return found;
}

/** Rule 6: the `node:` and `npm:` modules that `RUN_PATH` loads, one message each. */
export function nodeOnRunPath(files: Map<string, string>, roots: string[] = RUN_PATH): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f) || !files.has(f)) continue;
    seen.add(f);
    const text = files.get(f)!;
    for (const imp of importsOf(text)) {
      if (!imp.typeOnly && imp.lazy === undefined) stack.push(normalize(f, imp.spec));
    }
    for (const [line, spec] of runtimeModulesOf(text)) {
      problems.push(
        `${f}:${line}: ${spec} loads with a jx run: on Deno it sets up the Node ` +
          `compatibility (ARCHITECTURE.md, "The run path")`,
      );
    }
  }
  return problems;
}

/** File-level import cycles, each reported once (Tarjan's strongly connected components). */
function cycles(edges: Map<string, string[]>): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1) found.push(`${scc.sort()[0]}: import cycle: ${scc.sort().join(" <-> ")}`);
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** The checked sources by path (run from the repository root): lib/'s files, cli.ts and mod.ts. */
export function sourceFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of walk("lib").sort()) files.set(f, Deno.readTextFileSync(f));
  for (const f of ["cli.ts", "mod.ts"]) files.set(f, Deno.readTextFileSync(f));
  return files;
}

if (import.meta.main) {
  const files = sourceFiles();
  const rules = rulesOf(Deno.readTextFileSync("ARCHITECTURE.md"));
  const problems = check(files, rules);
  for (const [f, text] of files) problems.push(...globalsOf(f, text));
  problems.push(...nodeOnRunPath(files));
  for (const p of problems) console.log(p);
  if (problems.length) Deno.exit(1);
  console.log(
    `layers: ${files.size} files of ${rules.deps.size} parts, no cycle, every door kept, ` +
      "runtime globals only in lib/runtime/",
  );
}
