/**
 * UTF-8 for the texts jx writes and reads back itself (the no-op record's
 * paths, the graph cache's lists): decoded exactly, a leading U+FEFF kept
 * (the default `TextDecoder` drops it as a byte order mark, and a path may
 * begin with one), and a check that a string survives the round trip at
 * all (a lone surrogate is encoded as U+FFFD: such a string is stored some
 * other way, or not at all).
 *
 * @module
 */

/** A UTF-8 decoder that keeps a leading U+FEFF. */
export const utf8Decoder: TextDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** A lone surrogate: a high one not followed by a low one, or a low one not after a high one. */
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether `s` encodes to UTF-8 and decodes back to itself (no lone surrogate).
 *
 * @example
 * ```ts
 * import { utf8Decoder, utf8Exact } from "./utf8.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(utf8Exact("\uFEFFça 😀"), true);
 * assertEquals(utf8Exact("a\uD800b"), false);
 * assertEquals(utf8Decoder.decode(new TextEncoder().encode("\uFEFFa")), "\uFEFFa");
 * ```
 */
export function utf8Exact(s: string): boolean {
  return !LONE.test(s);
}
