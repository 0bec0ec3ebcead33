/**
 * Which of the files a job's `reads` match are its own outputs, never its inputs: the rule the
 * full check (check.ts) and the no-op record (noop_collect.ts) share. The glob functions are
 * passed in: the no-op path loads graph/glob.ts only when it needs it.
 *
 * - A file its `writes` name as a file or a glob that matches it is its own.
 * - A file in a folder its `writes` name is its own when the read pattern only sweeps over the
 *   folder (`reads: ["**\/*.js"]` over `writes: [dist]`: files other jobs write there too), and an
 *   input when the pattern is aimed at the folder (its literal head at or below it:
 *   `reads: [out/config.json]` or `reads: ["src/*.ts"]` with `writes: [src]`).
 *
 * @module
 */

/** What `ownOutputs` needs of graph/glob.ts. */
export interface OwnGlobs {
  isGlob(s: string): boolean;
  namedByAny(patterns: readonly string[]): (path: string) => boolean;
}

/** The literal folder head of a pattern: the path itself, or a glob's segments before its first glob. */
export function patternHead(p: string, isGlob: (s: string) => boolean): string {
  if (!isGlob(p)) return p;
  const segs = p.split("/"), lit = segs.findIndex((s) => isGlob(s));
  return segs.slice(0, lit).join("/");
}

/**
 * Whether a read pattern is aimed at a folder that `writes` names as a plain path: its head is
 * that folder or below it (`.` is every path's).
 *
 * @example
 * ```ts
 * import { aimedAtWritten } from "./own.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const isGlob = (s: string) => /[*?[{]/.test(s);
 * assertEquals(aimedAtWritten("src/*.ts", ["src"], isGlob), true);
 * assertEquals(aimedAtWritten("out/config.json", ["out", "@x"], isGlob), true);
 * assertEquals(aimedAtWritten("**\/*.js", ["dist"], isGlob), false);
 * ```
 */
export function aimedAtWritten(
  pattern: string,
  writes: readonly string[],
  isGlob: (s: string) => boolean,
): boolean {
  const head = patternHead(pattern, isGlob);
  for (const w of writes) {
    if (w[0] === "@" || isGlob(w)) continue;
    if (w === "." || head === w || head.startsWith(w + "/")) return true;
  }
  return false;
}

/**
 * The job's own outputs among the files its `reads` match (see the module's rule): a predicate
 * over paths. `inputs in folders`, when it is not empty, is the patterns aimed at a written folder.
 *
 * @example
 * ```ts
 * import { ownOutputs } from "./own.ts";
 * import { namedByAny } from "../graph/glob.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const isGlob = (s: string) => /[*?[{]/.test(s);
 * const own = ownOutputs(["**\/*.js", "dist/cfg.js"], ["dist", "gen/*.js"], { isGlob, namedByAny });
 * assertEquals(["dist/a.js", "dist/cfg.js", "gen/x.js", "src/a.js"].map(own), [true, false, true, false]);
 * ```
 */
export function ownOutputs(
  reads: readonly string[],
  writes: readonly string[],
  g: OwnGlobs,
): (path: string) => boolean {
  const inWrites = g.namedByAny(writes);
  const aimed = reads.filter((r) => r[0] !== "@" && aimedAtWritten(r, writes, g.isGlob));
  if (!aimed.length) return inWrites;
  const asFile = namedAsFile(writes, g);
  const aimedAt = g.namedByAny(aimed);
  return (p) => inWrites(p) && (asFile(p) || !aimedAt(p));
}

/**
 * Whether `writes` names a path as a file: the path itself, or a glob that matches it (not a
 * folder above it, which stands for itself).
 */
export function namedAsFile(writes: readonly string[], g: OwnGlobs): (path: string) => boolean {
  const plain = new Set<string>(), globs: string[] = [];
  for (const w of writes) {
    if (w[0] === "@") continue;
    if (g.isGlob(w)) globs.push(w);
    else plain.add(w);
  }
  if (!globs.length) return (path) => plain.has(path);
  const byGlob = g.namedByAny(globs);
  return (path) => plain.has(path) || byGlob(path);
}
