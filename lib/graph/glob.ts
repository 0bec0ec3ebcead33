/**
 * Globs over resource paths: `*` (within one path segment), `**` (any number
 * of segments), `?`, `[abc]`, `[a-z]`, `[!abc]` and `{a,b}`. Used to decide
 * when a glob in `reads` matches a path another job `writes` (without
 * touching the disk), and `globFiles` for `foreach` and up-to-date checks (on
 * disk). `jx sh` uses the same compiler with shell rules (`compileGlob(g,
 * SHELL_GLOB)`).
 *
 * A glob compiles to a list of token sequences (one per `{a,b}`
 * alternative), matched by simulating all positions at once: the time is
 * linear in the path's length whatever the number of stars (a regular
 * expression would backtrack: `*a*a*a*a*a*a*a*a*a*ab` took seconds on a
 * 40-character path).
 *
 * @module
 */
import { join } from "../runtime/path.ts";
import { listDir } from "../runtime/files.ts";

/** True when the string contains glob metacharacters. */
export function isGlob(s: string): boolean {
  return /[*?[{]/.test(s);
}

/**
 * A path as a resource that matches exactly itself: each glob
 * metacharacter as a one-character class (`[*]`), `,` and `}` too (inside
 * a `{a,b}` written around it they would split or end the group), a
 * leading `@` too (else a name). A path without those comes back as it is.
 *
 * @example
 * ```ts
 * import { escapeGlob, globMatch } from "./glob.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(escapeGlob("src/*.c"), "src/[*].c");
 * assertEquals(escapeGlob("d[1]/{a,b}.h"), "d[[]1]/[{]a[,]b[}].h");
 * assertEquals(escapeGlob("@x"), "[@]x");
 * assertEquals(escapeGlob("src/a.c"), "src/a.c");
 * assertEquals(globMatch(escapeGlob("src/*.c"), "src/*.c"), true);
 * assertEquals(globMatch(escapeGlob("src/*.c"), "src/a.c"), false);
 * // inside a group written around it, a name with `,` stays one alternative
 * assertEquals(globMatch(`out/{${escapeGlob("a,b")}.o,z}`, "out/a,b.o"), true);
 * assertEquals(globMatch(`out/{${escapeGlob("a,b")}.o,z}`, "out/a"), false);
 * ```
 */
export function escapeGlob(path: string): string {
  return path.replace(/[*?[{},]|^@/g, (c) => `[${c}]`);
}

/** At most this many alternatives after expanding `{a,b}` groups. */
export const MAX_GLOB_ALTERNATIVES = 1024;

/** How a glob is read. */
export interface GlobDialect {
  /** `{a,b}` is an alternation (else literal text). */
  braces: boolean;
  /** `**` spans directories (else it is two `*`). */
  globstar: boolean;
  /** Malformed classes are literal text or match nothing, as in a shell (else an error). */
  lenient: boolean;
}

/** Resource globs in a jobs file: braces, `**`, malformed globs are errors. */
export const JOBS_GLOB: GlobDialect = { braces: true, globstar: true, lenient: false };
/** Shell words (`jx sh`): no braces, `*` never crosses `/`, malformed parts literal. */
export const SHELL_GLOB: GlobDialect = { braces: false, globstar: false, lenient: true };

/** One step of a compiled glob. */
type Tok =
  | { k: "lit"; c: string }
  /** `?`: one character, not `/`. */
  | { k: "one" }
  /** `[...]`: one character (not `/`) in (or, negated, not in) the ranges. */
  | { k: "class"; neg: boolean; ranges: [number, number][] }
  /** `*`: any run of characters without `/`. */
  | { k: "star" }
  /** `**`: any run of characters. */
  | { k: "any" }
  /** `**` + `/`: nothing, or any run ending in `/`. */
  | { k: "dirs" };

/** Braces nested deeper than this are an error. */
const MAX_BRACE_DEPTH = 32;

/** A malformed glob; the message says what is wrong. */
export class GlobError extends Error {
  /** An error saying `message`. */
  constructor(message: string) {
    super(message);
    this.name = "GlobError";
  }
}

/** The end of the brace group opening at `open` (its `}`), or -1. */
function braceEnd(g: string, open: number): number {
  let depth = 0;
  for (let i = open; i < g.length; i++) {
    if (g[i] === "[") i = classEnd(g, i) ?? i;
    else if (g[i] === "{" && ++depth > MAX_BRACE_DEPTH) {
      throw new GlobError(`'{' nested deeper than ${MAX_BRACE_DEPTH} levels`);
    } else if (g[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/** The index of the `]` closing the class opening at `open`, or undefined. */
function classEnd(g: string, open: number): number | undefined {
  let i = open + 1;
  if (g[i] === "!" || g[i] === "^") i++;
  if (g[i] === "]") i++; // a leading `]` is a member
  const end = g.indexOf("]", i);
  return end < 0 ? undefined : end;
}

/** The top-level alternatives of the brace group `g[open..close]`. */
function splitAlternatives(g: string, open: number, close: number): string[] {
  const out: string[] = [];
  let depth = 0, start = open + 1;
  for (let i = open + 1; i < close; i++) {
    if (g[i] === "[") i = classEnd(g, i) ?? i;
    else if (g[i] === "{") depth++;
    else if (g[i] === "}") depth--;
    else if (g[i] === "," && depth === 0) {
      out.push(g.slice(start, i));
      start = i + 1;
    }
  }
  out.push(g.slice(start, close));
  return out;
}

/** `a{b,c}d` -> `abd`, `acd` (nested groups too), at most MAX_GLOB_ALTERNATIVES. */
export function expandBraces(g: string): string[] {
  for (let i = 0; i < g.length; i++) {
    if (g[i] === "[") i = classEnd(g, i) ?? i;
    else if (g[i] === "{") {
      const close = braceEnd(g, i);
      if (close < 0) throw new GlobError(`'{' without its closing '}'`);
      const tails = expandBraces(g.slice(close + 1));
      const out: string[] = [];
      for (const alt of splitAlternatives(g, i, close)) {
        for (const a of expandBraces(alt)) {
          for (const t of tails) {
            out.push(g.slice(0, i) + a + t);
            if (out.length > MAX_GLOB_ALTERNATIVES) {
              throw new GlobError(`'{...}' makes more than ${MAX_GLOB_ALTERNATIVES} alternatives`);
            }
          }
        }
      }
      return out;
    }
  }
  return [g];
}

/** The tokens of the class `g[open..close]`; an inverted range is an error (or empty, leniently). */
function classTok(g: string, open: number, close: number, lenient: boolean): Tok {
  let i = open + 1;
  const neg = g[i] === "!" || g[i] === "^";
  if (neg) i++;
  const ranges: [number, number][] = [];
  for (; i < close; i++) {
    const lo = g.charCodeAt(i);
    if (g[i + 1] === "-" && i + 2 < close) {
      const hi = g.charCodeAt(i + 2);
      if (hi < lo && !lenient) {
        throw new GlobError(
          `range '${g.slice(i, i + 3)}' is backwards in '${g.slice(open, close + 1)}'`,
        );
      }
      ranges.push([lo, hi]);
      i += 2;
    } else ranges.push([lo, lo]);
  }
  return { k: "class", neg, ranges };
}

/** The tokens of one alternative (no braces left in it unless literal). */
function tokenize(g: string, d: GlobDialect): Tok[] {
  const toks: Tok[] = [];
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === "*") {
      if (d.globstar && g[i + 1] === "*") {
        const slash = g[i + 2] === "/";
        toks.push({ k: slash ? "dirs" : "any" });
        i += slash ? 2 : 1;
      } else if (toks[toks.length - 1]?.k !== "star") toks.push({ k: "star" });
    } else if (c === "?") toks.push({ k: "one" });
    else if (c === "[") {
      const end = classEnd(g, i);
      if (end === undefined) {
        if (!d.lenient) throw new GlobError(`'[' without its closing ']'`);
        toks.push({ k: "lit", c });
      } else {
        toks.push(classTok(g, i, end, d.lenient));
        i = end;
      }
    } else toks.push({ k: "lit", c });
  }
  return toks;
}

function inClass(t: Tok & { k: "class" }, code: number): boolean {
  let hit = false;
  for (const [lo, hi] of t.ranges) if (code >= lo && code <= hi) hit = true;
  return hit !== t.neg;
}

/** Positions the matcher visited since the start (to check its cost by counting). */
export const globSteps = { count: 0 };

/**
 * Whether `toks` match all of `s`: every position the glob may be at is
 * followed at once (no backtracking), so the cost is length(s) x tokens.
 * State `i` is "before token i"; state `inside + i` is "within the `**\/`
 * at i, some characters taken", which may no longer match nothing.
 */
function run(toks: Tok[], s: string, marks: Int32Array, cur: number[], next: number[]): boolean {
  const inside = toks.length + 1;
  let gen = 1;
  marks.fill(0);
  const push = (list: number[], i: number) => {
    if (marks[i] !== gen) marks[i] = gen, list.push(i);
  };
  const add = (list: number[], i: number) => {
    for (;;) {
      push(list, i);
      const k = toks[i]?.k;
      if (k !== "star" && k !== "any" && k !== "dirs") return;
      i++; // each of these may match nothing
    }
  };
  cur.length = 0;
  add(cur, 0);
  for (let p = 0; p < s.length && cur.length; p++) {
    const c = s[p];
    globSteps.count += cur.length;
    gen++;
    next.length = 0;
    for (const i of cur) step(toks[i >= inside ? i - inside : i], i % inside, c, s, p, next);
    [cur, next] = [next, cur];
  }
  return cur.includes(toks.length);

  function step(t: Tok | undefined, i: number, c: string, s: string, p: number, next: number[]) {
    if (t === undefined) return;
    switch (t.k) {
      case "lit":
        if (c === t.c) add(next, i + 1);
        return;
      case "one":
        if (c !== "/") add(next, i + 1);
        return;
      case "class":
        if (c !== "/" && inClass(t, s.charCodeAt(p))) add(next, i + 1);
        return;
      case "star":
        if (c !== "/") add(next, i);
        return;
      case "any":
        add(next, i);
        return;
      case "dirs":
        push(next, inside + i);
        if (c === "/") add(next, i + 1);
        return;
      default: {
        const _assertNever: never = t;
        return _assertNever;
      }
    }
  }
}

/** A compiled glob. */
export interface GlobMatcher {
  /** Whether the whole of `path` matches. */
  test(path: string): boolean;
}

/** A literal token's text (the callers pass literal tokens only). */
function litText(t: Tok): string {
  return t.k === "lit" ? t.c : "";
}

/** One alternative: literal text compares as a string, the rest runs the tokens. */
function altMatcher(toks: Tok[]): (s: string) => boolean {
  if (toks.every((t) => t.k === "lit")) {
    const lit = toks.map(litText).join("");
    return (s) => s === lit;
  }
  // The literal head and tail rule most paths out before any simulation.
  let h = 0, t = toks.length;
  while (h < t && toks[h].k === "lit") h++;
  while (t > h && toks[t - 1].k === "lit") t--;
  const head = toks.slice(0, h).map(litText).join("");
  const tail = toks.slice(t).map(litText).join("");
  const marks = new Int32Array(2 * (toks.length + 1));
  const cur: number[] = [], next: number[] = [];
  return (s) =>
    s.length >= head.length + tail.length && s.startsWith(head) && s.endsWith(tail) &&
    run(toks, s, marks, cur, next);
}

const cache = new Map<string, GlobMatcher>();

/**
 * Compiles a glob; throws a `GlobError` when it is malformed (in the jobs
 * file's dialect: an unclosed `{` or `[`, a backwards range such as
 * `[z-a]`, too many alternatives).
 *
 * @example
 * ```ts
 * import { compileGlob } from "./glob.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(compileGlob("out/*.h").test("out/gen.h"), true);
 * assertEquals(compileGlob("src/**\/*.c").test("src/a/b.c"), true);
 * ```
 */
export function compileGlob(glob: string, dialect: GlobDialect = JOBS_GLOB): GlobMatcher {
  const key = `${+dialect.braces}${+dialect.globstar}${+dialect.lenient}${glob}`;
  let m = cache.get(key);
  if (m) return m;
  const alts = (dialect.braces ? expandBraces(glob) : [glob]).map((a) =>
    altMatcher(tokenize(a, dialect))
  );
  m = alts.length === 1 ? { test: alts[0] } : { test: (s) => alts.some((a) => a(s)) };
  cache.set(key, m);
  return m;
}

/** What is wrong with a glob of the jobs file, or undefined when it is well formed. */
export function globProblem(glob: string): string | undefined {
  if (!isGlob(glob)) return undefined;
  try {
    compileGlob(glob);
    return undefined;
  } catch (e) {
    if (e instanceof GlobError) return e.message;
    throw e;
  }
}

/**
 * Why a glob written with a trailing `/` (`build-*` then `/`) is refused, or undefined: a glob matches
 * files only (walks list files), so it would name the files its pattern matches, never the
 * folders the slash asks for. A plain folder (`out/`) is that folder, and is fine.
 *
 * @example
 * ```ts
 * import { folderGlobProblem } from "./glob.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(folderGlobProblem("out/"), undefined);
 * assertEquals(folderGlobProblem("build-*"), undefined);
 * assertEquals(typeof folderGlobProblem("build-[ab]/"), "string");
 * assertEquals(typeof folderGlobProblem("build-?/."), "string");
 * assertEquals(folderGlobProblem("pkgs/[[]id]/out/"), undefined);
 * ```
 */
export function folderGlobProblem(raw: string, as?: string): string | undefined {
  // `build-*/`, `build-*/.`, `build-*//`: all normalize to `build-*`. A character escaped as a
  // one-character class (`[[]x]`: a foreach item's folder) is no glob.
  const g = raw.replace(/(\/\.?)+$/, "");
  if (g === raw || g === "" || !isGlob(g.replace(/\[[^\]]\]/g, ""))) return undefined;
  if (as !== undefined) {
    // A `foreach`: one job per folder is one per a file each folder holds.
    return `a glob matches files, not folders: for one job per folder, match a file each ` +
      `holds ('${g}/Makefile') and use \${${as}.dir}`;
  }
  return `a glob matches files, not folders: write '${g}/**' for the files in the folders it ` +
    `matches, or name each folder`;
}

/** The old name of `compileGlob` (the result has `test` only). */
export const globToRegExp: (glob: string) => GlobMatcher = (g) => compileGlob(g);

/** True when the path matches the glob. */
export function globMatch(glob: string, path: string): boolean {
  return compileGlob(glob).test(path);
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

/** What overlap checks need of a pattern, worked out once per pattern. */
interface Shape {
  glob: boolean;
  segs: string[];
  /** Has `**` or `{`: only the literal head is compared. */
  loose: boolean;
  /** The segments before the first one with a glob character. */
  head: string[];
  /** The same joined with `/`. */
  headPath: string;
  /** The one path it names when every glob character in it is escaped (`literalOf`). */
  literal: string | undefined;
}

const shapes = new Map<string, Shape>();

/** `p` with each `[...]` class as `?`: a `{` or `**` left is the glob's own, not an escaped one. */
function withoutClasses(p: string): string {
  if (!p.includes("[")) return p;
  let out = "";
  for (let i = 0; i < p.length; i++) {
    const end = p[i] === "[" ? classEnd(p, i) : undefined;
    if (end === undefined) out += p[i];
    else out += "?", i = end;
  }
  return out;
}

/** The shape of `p` (cached). */
export function shapeOf(p: string): Shape {
  let s = shapes.get(p);
  if (s) return s;
  const segs = p.split("/");
  const i = segs.findIndex((x) => isGlob(x));
  const head = segs.slice(0, i < 0 ? segs.length : i);
  const bare = withoutClasses(p);
  s = {
    glob: isGlob(p),
    segs,
    loose: bare.includes("**") || bare.includes("{"),
    head,
    headPath: head.join("/"),
    literal: literalOf(p),
  };
  shapes.set(p, s);
  return s;
}

/**
 * The one path `p` names when each glob character in it is escaped as a
 * one-character class (`escapeGlob`'s form: a `foreach` item's `o/[*].txt`),
 * else undefined.
 */
function literalOf(p: string): string | undefined {
  let out = "";
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "[") {
      const m = p[i + 1];
      if (p[i + 2] !== "]" || m === "!" || m === "^" || m === "]" || m === "/") return undefined;
      out += m;
      i += 2;
    } else if (c === "*" || c === "?" || c === "{") return undefined;
    else out += c;
  }
  return out;
}

/**
 * Whether two resource patterns can name a common path. Exact for a glob
 * against a plain path or an escaped one (`o/[*].txt`); conservative (may
 * say yes) for two globs.
 */
export function patternsOverlap(a: string, b: string): boolean {
  const sa = shapeOf(a), sb = shapeOf(b);
  if (!sa.glob && !sb.glob) return a === b;
  if (!sa.glob) return globMatch(b, a);
  if (!sb.glob) return globMatch(a, b);
  // An escaped path names itself alone: as exact as a plain one.
  const la = sa.literal, lb = sb.literal;
  if (la !== undefined) return lb !== undefined ? la === lb : globMatch(b, la);
  if (lb !== undefined) return globMatch(a, lb);
  if (sa.loose || sb.loose) {
    // Compare the literal directory heads only.
    const la = sa.head, lb = sb.head;
    for (let i = 0; i < Math.min(la.length, lb.length); i++) if (la[i] !== lb[i]) return false;
    return true;
  }
  if (sa.segs.length !== sb.segs.length) return false;
  return sa.segs.every((s, i) => segmentsMayOverlap(s, sb.segs[i]));
}

/**
 * Whether a resource pattern names a path: the same path, a path below it
 * (a directory), or a glob match. `@names` name no path.
 *
 * @example
 * ```ts
 * import { resourceNames } from "./glob.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(resourceNames("out", "out/a.o"), true);
 * assertEquals(resourceNames("out/*.txt", "out/a.txt"), true);
 * ```
 */
export function resourceNames(pattern: string, path: string): boolean {
  if (pattern[0] === "@") return false;
  if (pattern === "." || path === pattern || path.startsWith(pattern + "/")) return true;
  return isGlob(pattern) && globMatch(pattern, path);
}

/**
 * Whether any of `patterns` names a path (`resourceNames`), made once for many paths: plain
 * patterns through a set (the path and each folder above it), globs one by one. A job's check of
 * thousands of inputs against thousands of its outputs was one `resourceNames` per pair.
 *
 * @example
 * ```ts
 * import { namedByAny } from "./glob.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const own = namedByAny(["out", "gen/*.h", "@lock"]);
 * assertEquals([own("out/a/b.o"), own("gen/x.h"), own("src/a.c"), own("@lock")], [true, true, false, false]);
 * ```
 */
export function namedByAny(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length < 8) return (path) => patterns.some((p) => resourceNames(p, path));
  const plain = new Set<string>(), globs: string[] = [];
  for (const p of patterns) {
    if (p === ".") return () => true;
    if (p[0] === "@") continue;
    if (isGlob(p)) globs.push(p);
    else plain.add(p);
  }
  return (path) => {
    if (plain.has(path)) return true;
    return anyFolderAbove(path, (dir) => plain.has(dir)) ||
      globs.some((g) => resourceNames(g, path));
  };
}

/**
 * Whether a pattern names any of `paths` (`resourceNames`), made once for many patterns: a plain
 * pattern is one of them or a folder above one (one set), a glob is tried on each.
 *
 * @example
 * ```ts
 * import { namesAnyOf } from "./glob.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const hit = namesAnyOf(["src/a/b.c", "README"]);
 * assertEquals(["src", "src/a/b.c", "src/*\/*.c", "lib", "@x"].map(hit), [true, true, true, false, false]);
 * ```
 */
export function namesAnyOf(paths: readonly string[]): (pattern: string) => boolean {
  const named = new Set<string>();
  for (const p of paths) {
    named.add(p);
    anyFolderAbove(p, (dir) => (named.add(dir), false));
  }
  return (pattern) => {
    if (pattern[0] === "@" || !paths.length) return false;
    if (pattern === "." || named.has(pattern)) return true;
    return isGlob(pattern) && paths.some((p) => resourceNames(pattern, p));
  };
}

/**
 * Whether `test` holds for a folder above `path`, nearest first (`""` too for `/x`, as
 * `resourceNames` has it: a pattern names what lies below it).
 *
 * @example
 * ```ts
 * import { anyFolderAbove } from "./glob.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const seen: string[] = [];
 * assertEquals(anyFolderAbove("a/b/c", (d) => (seen.push(d), false)), false);
 * assertEquals(seen, ["a/b", "a"]);
 * ```
 */
export function anyFolderAbove(path: string, test: (dir: string) => boolean): boolean {
  for (let i = path.lastIndexOf("/"); i >= 0; i = i ? path.lastIndexOf("/", i - 1) : -1) {
    if (test(path.slice(0, i))) return true;
  }
  return false;
}

/** Directories never entered when walking. */
const SKIP = new Set([".jx", ".git", "node_modules"]);
/** A cache restore's temporary file (cache/archive.ts), one a killed restore left too: no input. */
const STAGED = ".jx-restore-";
/**
 * The file that marks the root of an output cache's local store (lib/cache/local.ts writes it):
 * a folder holding it is jx's own, as `.jx` is, wherever it is (`JX_CACHE_DIR=$PWD/.ci-cache/jx`),
 * and never walked.
 */
export const STORE_MARK = ".jx-store";

/**
 * Appends to `out` every file below `rel` (relative to `baseDir`), skipping
 * `.jx`, `.git`, `node_modules`, a cache store (a folder holding `STORE_MARK`) and a cache
 * restore's temporary files. `onDir` hears of each directory it is
 * about to list (`rel` first), before it lists it (the no-op record stamps
 * them: lib/state/noop.ts). `list` lists a folder (default: `listDir`, names as the runtime
 * gives them).
 *
 * @example
 * ```ts
 * import { walkFiles } from "./glob.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/src/lib`, { recursive: true });
 * Deno.writeTextFileSync(`${dir}/src/a.c`, "");
 * Deno.writeTextFileSync(`${dir}/src/lib/b.c`, "");
 * const files: string[] = [];
 * walkFiles(dir, "src", files);
 * assertEquals(files.sort(), ["src/a.c", "src/lib/b.c"]);
 * ```
 */
export function walkFiles(
  baseDir: string,
  rel: string,
  out: string[],
  onDir?: (rel: string) => void,
  list: (path: string) => { name: string; kind: string }[] = listDir,
): void {
  let entries;
  onDir?.(rel);
  try {
    entries = list(join(baseDir, rel));
  } catch {
    return;
  }
  for (const e of entries) if (e.name === STORE_MARK) return; // a cache store: none of its files
  for (const e of entries) {
    if (SKIP.has(e.name) || e.name.startsWith(STAGED)) continue;
    const p = rel === "." ? e.name : `${rel}/${e.name}`;
    if (e.kind === "dir") walkFiles(baseDir, p, out, onDir, list);
    else out.push(p);
  }
}

/**
 * The folder a glob's literal head names: its segments before the first
 * one holding a glob character (`""` when that is its first; the whole path
 * when it has none). Only paths at or below it can match.
 *
 * @example
 * ```ts
 * import { globHead } from "./glob.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals([globHead("obj/3/*.d"), globHead("**\/*.c"), globHead("a/b")], ["obj/3", "", "a/b"]);
 * ```
 */
export function globHead(p: string): string {
  const segs = p.split("/"), lit = segs.findIndex((s) => isGlob(s));
  return lit < 0 ? p : segs.slice(0, lit).join("/");
}

/**
 * The files on disk under `baseDir` that a glob matches, sorted.
 *
 * @example
 * ```ts
 * import { globFiles } from "./glob.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/src`);
 * for (const f of ["b.c", "a.c", "a.h"]) Deno.writeTextFileSync(`${dir}/src/${f}`, "");
 * assertEquals(globFiles("src/*.c", dir), ["src/a.c", "src/b.c"]);
 * ```
 */
export function globFiles(glob: string, baseDir: string): string[] {
  const root = isGlob(glob) ? globHead(glob) || "." : glob;
  const files: string[] = [];
  walkFiles(baseDir, root, files);
  const re = compileGlob(glob);
  return files.filter((f) => re.test(f)).sort();
}
