/**
 * Stream mode's long lines: a line longer than `PIECE` bytes is printed in pieces of `PIECE`
 * bytes (a piece ends up to three bytes early rather than split a UTF-8 character), the last
 * piece holding what is left: never an empty one. The console reporter holds at most one piece
 * of a line it has not seen the end of.
 *
 * @module
 */

/** The most bytes of a line printed as one piece in stream mode: 64 KiB. */
export const PIECE = 64 * 1024;

/** Whether `b` is a UTF-8 continuation byte (`10xxxxxx`). */
const continues = (b: number) => (b & 0xc0) === 0x80;

/**
 * Where the piece of `line` that starts at `at` ends, `line` having more than `PIECE` bytes from
 * `at` on: `at + PIECE`, or before the first byte of the UTF-8 character that would straddle it.
 *
 * @example
 * ```ts
 * import { cutAt, PIECE } from "./long_lines.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const ascii = new Uint8Array(PIECE + 10).fill(120);
 * assertEquals(cutAt(ascii, 0), PIECE);
 * // "€" is 3 bytes: 21,845 of them end one byte before the 64 KiB mark.
 * const euros = new TextEncoder().encode("€".repeat(30_000));
 * assertEquals(cutAt(euros, 0), PIECE - 1);
 * ```
 */
export function cutAt(line: Uint8Array, at: number): number {
  const end = at + PIECE;
  let k = end;
  while (k > end - 3 && continues(line[k])) k--;
  // Four continuation bytes in a row are no character: cut where the piece is full.
  return continues(line[k]) ? end : k;
}

/**
 * The line made of `held` then `more` (no newline; more than `PIECE` bytes in all) cut into the
 * pieces to print now and the rest to hold (1 to `PIECE` bytes): its end is not known yet, and a
 * line that ends right after a full piece is printed whole, never with an empty continuation.
 * Returns views of one new copy: they outlive the caller's buffers.
 *
 * @example
 * ```ts
 * import { cutLong, PIECE } from "./long_lines.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const { pieces, rest } = cutLong([new Uint8Array(PIECE)], new Uint8Array(PIECE + 1));
 * assertEquals([pieces.map((p) => p.length), rest.length], [[PIECE, PIECE], 1]);
 * // Exactly two pieces' worth: the second is held, in case the newline comes next.
 * assertEquals(cutLong([], new Uint8Array(2 * PIECE)).rest.length, PIECE);
 * ```
 */
export function cutLong(
  held: readonly Uint8Array[],
  more: Uint8Array,
): { pieces: Uint8Array[]; rest: Uint8Array } {
  let n = more.length;
  for (const h of held) n += h.length;
  const line = new Uint8Array(n);
  let off = 0;
  for (const h of held) line.set(h, off), off += h.length;
  line.set(more, off);
  const pieces: Uint8Array[] = [];
  let at = 0;
  while (n - at > PIECE) {
    const end = cutAt(line, at);
    pieces.push(line.subarray(at, end));
    at = end;
  }
  return { pieces, rest: line.subarray(at) };
}
