/**
 * Suggested edits: the narrowest glob list that covers the paths a job
 * touched without declaring them.
 *
 * @module
 */
import { posix } from "node:path";

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
    const prefix = dir === "." ? "" : dir + "/";
    const exts = new Set(list.map((p) => posix.extname(p)));
    const ext = [...exts][0];
    let glob: string | undefined;
    if (list.length >= 2 && exts.size === 1 && ext) glob = `${prefix}*${ext}`;
    else if (list.length > 3) glob = `${prefix}*`;
    for (const p of list) out.set(p, glob ?? p);
  }
  return out;
}

/** A YAML flow item: quoted when plain would not read back as the same string. */
export function yamlItem(s: string): string {
  return /[,\[\]{}#"'\s]|: |:$|^[&*!|>%@`?-]/.test(s) ? JSON.stringify(s) : s;
}

/** `reads: [src/*.h, gen.h]`. */
export function formatEdit(field: string, items: string[]): string {
  return `${field}: [${[...new Set(items)].map(yamlItem).join(", ")}]`;
}
