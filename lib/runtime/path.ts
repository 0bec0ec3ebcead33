/**
 * POSIX path arithmetic, as `node:path` does it (the answers are the same:
 * tests/path_test.ts compares them on thousands of paths), without loading
 * `node:path`: on Deno the first `node:` module sets up its Node
 * compatibility, some 35 ms of every `jx run` (bench/RESULTS.md).
 *
 * @example
 * ```ts
 * import { basename, dirname, join, relative, resolve } from "./path.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(join("a", "../b", "c/"), "b/c/");
 * assertEquals(dirname("/p/jobs.yaml"), "/p");
 * assertEquals(basename("/p/out/"), "out");
 * assertEquals(resolve("/p", "x/../y"), "/p/y");
 * assertEquals(relative("/p/a/b", "/p/c"), "../../c");
 * ```
 *
 * @module
 */
import { cwd } from "./fs.ts";

/** Whether `p` starts at the root. */
export function isAbsolute(p: string): boolean {
  return p.startsWith("/");
}

/**
 * `p` without `.` parts, empty parts and the `..` that can be undone; a
 * leading `/` and a trailing one kept; `.` for nothing (`./` for `a/../`).
 */
export function normalize(p: string): string {
  if (p === "") return ".";
  const abs = p.startsWith("/");
  const body = normalParts(p, abs).join("/");
  if (abs) return body === "" ? "/" : `/${body}${p.endsWith("/") ? "/" : ""}`;
  return (body === "" ? "." : body) + (p.endsWith("/") ? "/" : "");
}

/** The parts of `p` once normalized; above the root (`abs`) a `..` is dropped, else kept. */
function normalParts(p: string, abs: boolean): string[] {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== "..") out.push(part);
    else if (out.length && out[out.length - 1] !== "..") out.pop();
    else if (!abs) out.push("..");
  }
  return out;
}

/** The non-empty `parts` joined by `/`, normalized; `.` for nothing. */
export function join(...parts: string[]): string {
  const joined = parts.filter((x) => x !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/**
 * The absolute path of `parts` taken from the right up to the first
 * absolute one (else from the working directory), normalized, with no
 * trailing `/` (but the root's).
 */
export function resolve(...parts: string[]): string {
  let p = "";
  for (let i = parts.length - 1; i >= 0 && !p.startsWith("/"); i--) {
    if (parts[i] !== "") p = p === "" ? parts[i] : `${parts[i]}/${p}`;
  }
  if (!p.startsWith("/")) p = p === "" ? cwd() : `${cwd()}/${p}`;
  return "/" + normalParts(p, true).join("/");
}

/**
 * The folder part of `p`: everything before the slash that precedes its
 * last part (trailing `/` ignored; other slashes kept, as `node:path` keeps
 * them: `a//b` gives `a/`); `.` when it has one part, `/` for the root, and
 * `//` for `//a`.
 */
export function dirname(p: string): string {
  if (p === "") return ".";
  let i = p.length - 1;
  while (i >= 1 && p[i] === "/") i--; // trailing slashes
  while (i >= 1 && p[i] !== "/") i--; // the last part
  if (i < 1) return p[0] === "/" ? "/" : ".";
  return i === 1 && p[0] === "/" ? "//" : p.slice(0, i);
}

/** The last part of `p` (trailing `/` ignored); empty for the root or nothing. */
export function basename(p: string): string {
  let end = p.length;
  while (end > 0 && p[end - 1] === "/") end--;
  return p.slice(p.lastIndexOf("/", end - 1) + 1, end);
}

/** The path from `from` to `to` (both resolved first): `..` up to what they share, then down. */
export function relative(from: string, to: string): string {
  const a = resolve(from).split("/").filter((x) => x !== "");
  const b = resolve(to).split("/").filter((x) => x !== "");
  let same = 0;
  while (same < a.length && same < b.length && a[same] === b[same]) same++;
  return [...a.slice(same).map(() => ".."), ...b.slice(same)].join("/");
}

/**
 * Whether a relative path (as `relative` gives one) leads out of its
 * folder: `..` or `../...`, not a name that merely begins with two dots.
 *
 * @example
 * ```ts
 * import { leavesFolder } from "./path.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(leavesFolder("../x"), true);
 * assertEquals(leavesFolder(".."), true);
 * assertEquals(leavesFolder("..gen/x.h"), false);
 * ```
 */
export function leavesFolder(rel: string): boolean {
  return rel === ".." || rel.startsWith("../");
}
