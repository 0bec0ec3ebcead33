/**
 * Checks that the JSDoc examples of the library assert what they show: a
 * line of code in a TypeScript example that ends in a `//` comment shows a result
 * the doc test does not check (`parseDuration("1m30s"); // 90000`). Write
 * `assertEquals(parseDuration("1m30s"), 90000);` instead, or put a comment
 * that explains on its own line above the code. An assertion may carry a
 * trailing comment (it is checked).
 *
 * Run: `deno run --allow-read tools/doc_examples.ts [PATH...]` (from the
 * repository root; default `lib mod.ts`; .ci/run does). Prints one
 * `FILE:LINE:COL: message` line per offending line and exits 1, else prints a
 * count of the examples read.
 *
 * @example One offending line
 * ```ts
 * import { trailingResults } from "./doc_examples.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const fence = "`".repeat(3);
 * const text = [
 *   "/**",
 *   " * " + fence + "ts",
 *   ' * half(4); // 2',
 *   " * assertEquals(half(4), 2); // checked",
 *   ' * // "http://x" on its own line',
 *   " * " + fence,
 *   " *" + "/",
 * ].join("\n");
 * assertEquals(trailingResults(text), { examples: 1, found: [{ line: 3, col: 13 }] });
 * ```
 *
 * @module
 */

/** Where an offending comment starts (1-based). */
export interface Found {
  line: number;
  col: number;
}

/** Lines that call an assertion: their trailing comments are allowed. */
const ASSERTION =
  /^(await\s+)?(assert\w*|strictEqual|deepStrictEqual|equal|ok|throws|rejects)\s*\(/;

/**
 * The column (0-based) where a `//` comment starts in a line of code, outside
 * strings and template literals, or -1.
 */
export function commentStart(code: string): number {
  let quote = "";
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "/" && code[i + 1] === "/") return i;
  }
  return -1;
}

/** The offending lines of one file's text, and how many code examples it has. */
export function trailingResults(text: string): { examples: number; found: Found[] } {
  const found: Found[] = [];
  let examples = 0;
  let inCode = false;
  text.split("\n").forEach((line, i) => {
    const m = line.match(/^(\s*\*\s?)(.*)$/);
    if (!m) return void (inCode = false);
    const fence = m[2].trim().match(/^```(\w*)/);
    if (fence) {
      inCode = !inCode && /^(ts|tsx|typescript|js|javascript)$/.test(fence[1]);
      if (inCode) examples++;
      return;
    }
    if (!inCode) return;
    const at = commentStart(m[2]);
    const code = at < 0 ? "" : m[2].slice(0, at).trim();
    if (code && !ASSERTION.test(code)) found.push({ line: i + 1, col: m[1].length + at + 1 });
  });
  return { examples, found };
}

/** The `.ts` files under `path` (or `path` itself). */
function tsFiles(path: string): string[] {
  if (!Deno.statSync(path).isDirectory) return [path];
  const out: string[] = [];
  for (const e of Deno.readDirSync(path)) {
    const p = `${path}/${e.name}`;
    if (e.isDirectory) out.push(...tsFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out.sort();
}

/** One offending line of a file. */
export interface FoundIn extends Found {
  file: string;
}

/** Reads the `.ts` files of `paths`: how many examples they have, and the offending lines. */
export function checkPaths(paths: string[]): { examples: number; found: FoundIn[] } {
  let examples = 0;
  const found: FoundIn[] = [];
  for (const file of paths.flatMap(tsFiles)) {
    const r = trailingResults(Deno.readTextFileSync(file));
    examples += r.examples;
    found.push(...r.found.map((f) => ({ file, ...f })));
  }
  return { examples, found };
}

function main(paths: string[]): number {
  const { examples, found } = checkPaths(paths);
  for (const f of found) {
    console.log(
      `${f.file}:${f.line}:${f.col}: an example shows a result in a trailing comment: ` +
        "assert it (assertEquals) or put the comment on its own line",
    );
  }
  if (found.length) return 1;
  console.log(`doc examples: ${examples} checked, no result shown as a comment`);
  return 0;
}

if (import.meta.main) Deno.exit(main(Deno.args.length ? Deno.args : ["lib", "mod.ts"]));
