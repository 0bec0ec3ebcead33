/**
 * Globs over resource paths: `*` (within one path segment), `**` (any number
 * of segments), `?`, `[abc]` and `{a,b}`. Used to decide when a glob in `reads`
 * matches a path another job `writes` (without touching the disk), and
 * `globFiles` for `foreach` and up-to-date checks (on disk).
 *
 * @module
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";

/** True when the string contains glob metacharacters. */
export function isGlob(s: string): boolean {
  return /[*?[{]/.test(s);
}

const cache = new Map<string, RegExp>();

/**
 * Compiles a glob into an anchored regular expression.
 *
 * @example
 * ```ts
 * import { globToRegExp } from "./glob.ts";
 * globToRegExp("out/*.h").test("out/gen.h"); // true
 * globToRegExp("src/**\/*.c").test("src/a/b.c"); // true
 * ```
 */
export function globToRegExp(glob: string): RegExp {
  let re = cache.get(glob);
  if (re) return re;
  let out = "";
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const slashAfter = glob[i + 2] === "/";
        out += slashAfter ? "(?:.*/)?" : ".*";
        i += slashAfter ? 2 : 1;
      } else out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) out += "\\[";
      else {
        let body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (body[0] === "!") body = "^" + body.slice(1);
        out += `[${body}]`;
        i = end;
      }
    } else if (c === "{") {
      depth++;
      out += "(?:";
    } else if (c === "}" && depth > 0) {
      depth--;
      out += ")";
    } else if (c === "," && depth > 0) out += "|";
    else out += c.replace(/[.+^$()|\\\]]/g, "\\$&");
  }
  re = new RegExp(`^${out}$`);
  cache.set(glob, re);
  return re;
}

/** True when the path matches the glob. */
export function globMatch(glob: string, path: string): boolean {
  return globToRegExp(glob).test(path);
}

function segmentsMayOverlap(a: string, b: string): boolean {
  const ga = isGlob(a), gb = isGlob(b);
  if (!ga && !gb) return a === b;
  if (!ga) return globMatch(b, a);
  if (!gb) return globMatch(a, b);
  // Both patterns: compare their literal heads and tails.
  const head = (s: string) => s.slice(0, s.search(/[*?[{]/));
  const tail = (s: string) => {
    const m = /[*?\]}]([^*?\]}]*)$/.exec(s);
    return m ? m[1] : "";
  };
  const ha = head(a), hb = head(b), ta = tail(a), tb = tail(b);
  return (ha.startsWith(hb) || hb.startsWith(ha)) && (ta.endsWith(tb) || tb.endsWith(ta));
}

/**
 * Whether two resource patterns can name a common path. Exact for a glob
 * against a plain path; conservative (may say yes) for two globs.
 */
export function patternsOverlap(a: string, b: string): boolean {
  if (!isGlob(a) && !isGlob(b)) return a === b;
  if (!isGlob(a)) return globMatch(b, a);
  if (!isGlob(b)) return globMatch(a, b);
  const sa = a.split("/"), sb = b.split("/");
  if (sa.includes("**") || sb.includes("**") || /\*\*/.test(a + b) || /[{]/.test(a + b)) {
    // Compare the literal directory heads only.
    const lit = (segs: string[]) => {
      const i = segs.findIndex((s) => isGlob(s));
      return segs.slice(0, i < 0 ? segs.length : i);
    };
    const la = lit(sa), lb = lit(sb);
    for (let i = 0; i < Math.min(la.length, lb.length); i++) if (la[i] !== lb[i]) return false;
    return true;
  }
  if (sa.length !== sb.length) return false;
  return sa.every((s, i) => segmentsMayOverlap(s, sb[i]));
}

/**
 * Whether a resource pattern names a path: the same path, a path below it
 * (a directory), or a glob match. `@names` name no path.
 *
 * @example
 * ```ts
 * import { resourceNames } from "./glob.ts";
 * resourceNames("out", "out/a.o"); // true
 * resourceNames("out/*.txt", "out/a.txt"); // true
 * ```
 */
export function resourceNames(pattern: string, path: string): boolean {
  if (pattern[0] === "@") return false;
  if (pattern === "." || path === pattern || path.startsWith(pattern + "/")) return true;
  return isGlob(pattern) && globMatch(pattern, path);
}

/** Directories never entered when walking. */
const SKIP = new Set([".jx", ".git", "node_modules"]);

/**
 * Appends to `out` every file below `rel` (relative to `baseDir`), skipping
 * `.jx`, `.git` and `node_modules`.
 *
 * @example
 * ```ts
 * import { walkFiles } from "./glob.ts";
 * const files: string[] = [];
 * walkFiles("/project", "src", files); // ["src/a.c", "src/lib/b.c", ...]
 * ```
 */
export function walkFiles(baseDir: string, rel: string, out: string[]): void {
  let entries;
  try {
    entries = readdirSync(join(baseDir, rel), { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (SKIP.has(e.name)) continue;
    const p = rel === "." ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) walkFiles(baseDir, p, out);
    else out.push(p);
  }
}

/**
 * The files on disk under `baseDir` that a glob matches, sorted.
 *
 * @example
 * ```ts
 * import { globFiles } from "./glob.ts";
 * globFiles("src/*.c", "/project"); // ["src/a.c", "src/b.c"]
 * ```
 */
export function globFiles(glob: string, baseDir: string): string[] {
  const segs = glob.split("/");
  const lit = segs.findIndex((s) => isGlob(s));
  const root = lit < 0 ? glob : segs.slice(0, lit).join("/") || ".";
  const files: string[] = [];
  walkFiles(baseDir, root, files);
  const re = globToRegExp(glob);
  return files.filter((f) => re.test(f)).sort();
}
