/**
 * Suggested edits: the narrowest glob list that covers the paths a job
 * touched without declaring them, written so that each item, pasted into
 * the jobs file, loads back as exactly that glob.
 *
 * @module
 */
import { posix } from "node:path";
import { RAW_BYTE } from "./strace_parse.ts";
import { escapeGlob, ResourceIndex, resourceNames } from "../graph/mod.ts";

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

/**
 * The narrowest glob over paths of one folder: two or more of one extension
 * as `folder/*.ext`, more than three mixed as `folder/*`, else none.
 */
export function folderGlob(dir: string, list: string[]): string | undefined {
  const prefix = dir === "." ? "" : literalGlob(dir) + "/";
  const exts = new Set(list.map((p) => posix.extname(p)));
  const ext = [...exts][0];
  if (list.length >= 2 && exts.size === 1 && ext) return `${prefix}*${literalGlob(ext)}`;
  if (list.length > 3) return `${prefix}*`;
  return undefined;
}

/** The paths by folder, each once, in the order first seen. */
function byFolder(paths: string[]): Map<string, string[]> {
  const byDir = new Map<string, string[]>();
  for (const p of new Set(paths)) {
    const d = posix.dirname(p);
    const list = byDir.get(d);
    if (list) list.push(p);
    else byDir.set(d, [p]);
  }
  return byDir;
}

/**
 * The items to suggest for each path: its folder's glob (`folderGlob`,
 * `src/a.h`, `src/b.h` -> `[src/*.h]`) when `fits` takes it; when it does
 * not, the folder's paths listed, the same list for each; a path with no
 * glob for its folder, itself.
 *
 * @example
 * ```ts
 * import { narrowGlobs } from "./suggest.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(narrowGlobs(["a.h", "b.h"]).get("a.h"), ["*.h"]);
 * assertEquals(narrowGlobs(["a.h", "b.h"], () => false).get("a.h"), ["a.h", "b.h"]);
 * ```
 */
export function narrowGlobs(
  paths: string[],
  fits: (glob: string, paths: string[]) => boolean = () => true,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [dir, list] of byFolder(paths)) {
    const glob = folderGlob(dir, list);
    if (glob === undefined) { for (const p of list) out.set(p, [literalGlob(p)]); }
    else {
      const items = fits(glob, list) ? [glob] : list.map(literalGlob);
      for (const p of list) out.set(p, items);
    }
  }
  return out;
}

/**
 * What a glob suggested for one job's paths of one folder must leave alone,
 * so that pasted in it names no more than it should (`globFits`).
 */
export interface GlobScope {
  /** The paths found undeclared, which the glob is for. */
  found: string[];
  /** Paths of the job's trace the glob must not cover: read ones (for `writes`), changed ones (for `reads`). */
  untouchable: string[];
  /** Declared resources that the glob must not touch beyond what `found` touches already. */
  declared: string[];
  /** For `writes`: the paths in the glob's folder on disk now; each must be found or `wrote`. */
  onDisk?: string[];
  /** Whether the job wrote a path. */
  wrote?: (path: string) => boolean;
}

/**
 * Whether `glob` (relative to the root, as `scope`'s paths) covers no
 * untouchable path, conflicts with no declared resource that the found
 * paths listed would not conflict with too (no ordering edge of its own),
 * and covers no file on disk the job did not write.
 *
 * @example
 * ```ts
 * import { globFits } from "./suggest.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const found = ["bad.txt", "gone.txt"];
 * assertEquals(globFits("*.txt", { found, untouchable: [], declared: ["out.txt"] }), false);
 * assertEquals(globFits("*.txt", { found, untouchable: ["in.txt"], declared: [] }), false);
 * assertEquals(globFits("*.txt", { found, untouchable: [], declared: ["*.md", "bad.txt"] }), true);
 * ```
 */
export function globFits(glob: string, scope: GlobScope): boolean {
  const paths = new Set(scope.found);
  if (scope.untouchable.some((p) => !paths.has(p) && resourceNames(glob, p))) return false;
  if (scope.onDisk?.some((p) => resourceNames(glob, p) && !paths.has(p) && !scope.wrote?.(p))) {
    return false;
  }
  const idx = new ResourceIndex<true>();
  for (const r of scope.declared) idx.getOrAdd(r, () => true);
  // The found paths in one index (not one per pair): each conflicting resource must meet one.
  const found = new ResourceIndex<true>();
  for (const p of scope.found) found.getOrAdd(escapeGlob(p), () => true);
  return idx.conflicting(glob).every((r) => found.conflicting(r).length > 0);
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

/**
 * A path a `foreach` item touched, as the item's variables write it: the
 * item itself (`${F}`), or a file named after it in any folder
 * (`out/${F.stem}.o` for `out/a.o` of item `src/a.c`, `${F.name}`); the one
 * edit that fits every item, since they share one entry. Undefined when the
 * path's name is not the item's name, nor its stem alone or followed by `.`,
 * `_` or `-`. The text is as the jobs file writes it (`literalGlob`, `$${`).
 *
 * @example
 * ```ts
 * import { itemForm } from "./suggest.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const item = { as: "F", value: "src/a.c" };
 * assertEquals(itemForm("src/a.c", item), "${F}");
 * assertEquals(itemForm("out/a.o", item), "out/${F.stem}.o");
 * assertEquals(itemForm("out/all.o", item), undefined);
 * ```
 */
export function itemForm(path: string, item: { as: string; value: string }): string | undefined {
  if (path === item.value) return `\${${item.as}}`;
  const name = item.value.slice(item.value.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const slash = path.lastIndexOf("/");
  const base = path.slice(slash + 1);
  const head = slash < 0 ? "" : `${escapeVars(literalGlob(path.slice(0, slash)))}/`;
  if (!stem || RAW_BYTE.test(name)) return undefined;
  if (base === name) return `${head}\${${item.as}.name}`;
  if (base !== stem && !/^[._-]/.test(base.slice(stem.length))) return undefined;
  if (!base.startsWith(stem)) return undefined;
  return `${head}\${${item.as}.stem}${escapeVars(literalGlob(base.slice(stem.length)))}`;
}
