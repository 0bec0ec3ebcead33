/**
 * The paths of a no-op record read from its file, kept as the bytes read
 * (each path ended by a NUL) with where each starts: the stat pass reads
 * them from there (`statUnderBytes`), a partial run's patch finds its few
 * paths by a byte search, and `paths` as strings is made only when some
 * other use asks for it (state/noop.ts `decodeHead`). Decoded keeping a
 * leading U+FEFF (`utf8Decoder`): a path must come back as the string the
 * jobs name, or a change to it would be no job's.
 *
 * @module
 */
import { lastIndexOfBytes } from "../runtime/bytes.ts";
import { utf8Decoder } from "../runtime/utf8.ts";

/**
 * A record's paths as read: `bytes`, and the offset in them of each path
 * (`offsetsOf`: noted by the stat pass, state/noop.ts `changedPaths`, or
 * found when first asked for).
 */
export interface PathBytes {
  bytes: Uint8Array;
  at?: Int32Array;
}

/** Where each path of `p` starts (found now if no pass noted them). */
export function offsetsOf(p: PathBytes): Int32Array {
  if (p.at) return p.at;
  const at: number[] = [];
  for (let i = 0; i < p.bytes.length; i = p.bytes.indexOf(0, i) + 1) at.push(i);
  return p.at = Int32Array.from(at);
}

/** The path bytes of each record read from a file (state/noop.ts `decodeRecord` sets them). */
export const pathBytes = new WeakMap<object, PathBytes>();

const encoder = new TextEncoder(), decoder = utf8Decoder;

/** The number of paths of record `r`. */
export function pathCount(r: { paths: readonly string[] }): number {
  const p = pathBytes.get(r);
  return p ? offsetsOf(p).length : r.paths.length;
}

/**
 * Path `i` of record `r` (undefined past its paths), from the bytes read
 * when it was read from its file.
 *
 * @example
 * ```ts
 * import { pathAt } from "./noop_paths.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(pathAt({ paths: ["a", "b"] }, 1), "b");
 * assertEquals(pathAt({ paths: ["a", "b"] }, 2), undefined);
 * ```
 */
export function pathAt(r: { paths: readonly string[] }, i: number): string | undefined {
  const p = pathBytes.get(r);
  if (!p) return r.paths[i];
  const at = offsetsOf(p);
  if (!Number.isInteger(i) || i < 0 || i >= at.length) return undefined;
  return decoder.decode(p.bytes.subarray(at[i], p.bytes.indexOf(0, at[i])));
}

/**
 * The indexes `>= from` at which `path` is a path of record `r`, in order
 * (a record names each path once: at most one).
 *
 * @example
 * ```ts
 * import { pathIndexes } from "./noop_paths.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(pathIndexes({ paths: ["a", "b", "a"] }, "a", 1), [2]);
 * ```
 */
export function pathIndexes(r: { paths: readonly string[] }, path: string, from: number): number[] {
  const out: number[] = [];
  const p = pathBytes.get(r);
  if (!p) {
    for (let i = from; i < r.paths.length; i++) if (r.paths[i] === path) out.push(i);
    return out;
  }
  const needle = encoder.encode(path + "\0");
  for (let pos = p.bytes.length - 1; pos >= 0;) {
    const at = lastIndexOfBytes(p.bytes, needle, pos);
    if (at < 0) break;
    pos = at - 1;
    if (at > 0 && p.bytes[at - 1] !== 0) continue; // the end of a longer path
    const i = startIndex(offsetsOf(p), at);
    if (i >= from) out.push(i);
  }
  return out.reverse();
}

/** The index of the path starting at byte `at` (one does: `at` follows a NUL or is 0). */
function startIndex(starts: Int32Array, at: number): number {
  let lo = 0, hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * `pathIndexes` for each of `paths`: by a search of the bytes for a few, by one pass over the
 * record's paths for many (a search each was the whole record per path: 7,000 paths of a
 * 64,000-path record took 27 s).
 *
 * @example
 * ```ts
 * import { pathIndexesOf } from "./noop_paths.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(pathIndexesOf({ paths: ["a", "b", "a"] }, ["a", "c"], 1), new Map([["a", [2]], ["c", []]]));
 * ```
 */
export function pathIndexesOf(
  r: { paths: readonly string[] },
  paths: Iterable<string>,
  from: number,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const path of paths) out.set(path, []);
  if (out.size <= 16) {
    for (const path of out.keys()) out.set(path, pathIndexes(r, path, from));
    return out;
  }
  const n = pathCount(r);
  for (let i = from; i < n; i++) out.get(pathAt(r, i)!)?.push(i);
  return out;
}
