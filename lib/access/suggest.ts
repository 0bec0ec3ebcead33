/**
 * Suggested edits: the narrowest glob list that covers the paths a job
 * touched without declaring them, written so that each item, pasted into
 * the jobs file, loads back as exactly that glob.
 *
 * @module
 */
import { posix } from "node:path";
import { RAW_BYTE } from "./strace_parse.ts";
import { escapeGlob } from "../graph/mod.ts";

/**
 * A path as a resource glob that matches only that path: each glob
 * character (`*`, `?`, `[`, `{`) and a leading `@` (a resource name) as a
 * one-character class, the one way jx's glob syntax writes it literally.
 * Bytes that are not UTF-8, which a jobs file cannot hold, are the one
 * exception: each run of them is `*`.
 *
 * @example
 * ```ts
 * import { literalGlob } from "./suggest.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(literalGlob("d[1]/a.h"), "d[[]1]/a.h");
 * assertEquals(literalGlob("@x"), "[@]x");
 * ```
 */
export function literalGlob(path: string): string {
  return escapeGlob(path).replace(RAW_BYTES, "*");
}

/**
 * Bytes of a file name that are not UTF-8, as `decodeBytes` keeps them: a
 * jobs file is UTF-8 text and cannot name them, so a suggestion matches
 * each run of them with `*`.
 */
const RAW_BYTES = new RegExp(`${RAW_BYTE.source}+`, "gu");

/** `src/a.h`, `src/b.h` -> `src/*.h`: one glob per folder with two or more paths of one extension. */
export function narrowGlobs(paths: string[]): Map<string, string> {
  const byDir = new Map<string, string[]>();
  for (const p of new Set(paths)) {
    const d = posix.dirname(p);
    const list = byDir.get(d);
    if (list) list.push(p);
    else byDir.set(d, [p]);
  }
  const out = new Map<string, string>();
  for (const [dir, list] of byDir) {
    const prefix = dir === "." ? "" : literalGlob(dir) + "/";
    const exts = new Set(list.map((p) => posix.extname(p)));
    const ext = [...exts][0];
    let glob: string | undefined;
    if (list.length >= 2 && exts.size === 1 && ext) glob = `${prefix}*${literalGlob(ext)}`;
    else if (list.length > 3) glob = `${prefix}*`;
    for (const p of list) out.set(p, glob ?? literalGlob(p));
  }
  return out;
}

/** Characters of a plain item that YAML reads as text, whatever its neighbours. */
const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./*+-]*$/;
/**
 * Plain scalars a YAML schema reads as something other than a string: a
 * number (`123`, `1e3`, `0x10`, `.5`, `.inf`), a null, a boolean (YAML 1.1's
 * `yes`/`on` too), a date; anything starting with a digit is quoted.
 */
const SPECIAL = /^\.?[0-9]|^\.(?:inf|nan)$|^(?:null|true|false|yes|no|on|off|y|n)$/i;

/**
 * A YAML flow item that loads as exactly `s`: plain when it is made of safe
 * characters and is no special form, else double-quoted.
 *
 * @example
 * ```ts
 * import { yamlItem } from "./suggest.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(yamlItem("src/*.h"), "src/*.h");
 * assertEquals(yamlItem("null"), '"null"');
 * ```
 */
export function yamlItem(s: string): string {
  return PLAIN.test(s) && !SPECIAL.test(s) ? s : JSON.stringify(s);
}

/** `a${X}b` -> `a$${X}b`: what jx's substitution turns back into `s` (`${...}` kept). */
export function escapeVars(s: string): string {
  return s.includes("${") ? s.replace(/\$\{[^}]*\}/g, (m) => "$" + m) : s;
}

/**
 * `reads: [src/*.h, gen.h]`: each item loads back as given (`reads` and
 * `writes` are substituted, so a `${` in them is written `$${`).
 */
export function formatEdit(field: string, items: string[]): string {
  const text = field === "reads" || field === "writes" ? escapeVars : (s: string) => s;
  return `${field}: [${[...new Set(items)].map((s) => yamlItem(text(s))).join(", ")}]`;
}
