/**
 * Searching bytes for bytes. Bun's `Buffer` does it natively (a 1.8 MB state
 * log searched for a job's last line in 0.5 ms, where decoding it to text
 * for `String.lastIndexOf` cost 7-9 ms); elsewhere a loop over the needle's
 * first byte, found by the runtime's own `lastIndexOf`.
 *
 * @module
 */
import { isBun } from "./mod.ts";

/** What is used of Bun's `Buffer` class. */
interface BufferClass {
  from(b: ArrayBufferLike, at: number, n: number): {
    lastIndexOf(x: Uint8Array, at: number): number;
  };
}
/**
 * Bun's `Buffer` (Deno's is a JS polyfill: slower there than the loop below), looked up on
 * first use: Bun sets its `Buffer` up when it is first named (0.1-0.2 ms of a compiled
 * binary's start, which the no-op path does not need).
 */
let nativeBuffer: BufferClass | null | undefined;
const bunBuffer = () =>
  nativeBuffer ??= isBun ? (globalThis as { Buffer?: BufferClass }).Buffer ?? null : null;

/**
 * The last index `i <= pos` at which `needle` (not empty) starts in `hay`, or -1.
 *
 * @example
 * ```ts
 * import { lastIndexOfBytes } from "./bytes.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const hay = new TextEncoder().encode("ab\nab\nb");
 * const ab = new TextEncoder().encode("ab");
 * assertEquals(lastIndexOfBytes(hay, ab, hay.length - 1), 3);
 * assertEquals(lastIndexOfBytes(hay, ab, 2), 0);
 * assertEquals(lastIndexOfBytes(hay, new TextEncoder().encode("ba"), 6), -1);
 * ```
 */
export function lastIndexOfBytes(hay: Uint8Array, needle: Uint8Array, pos: number): number {
  if (pos < 0 || !needle.length) return -1;
  const native = bunBuffer();
  if (native) {
    return native.from(hay.buffer, hay.byteOffset, hay.length).lastIndexOf(needle, pos);
  }
  const first = needle[0], n = needle.length;
  for (let i = hay.lastIndexOf(first, pos); i >= 0; i = i ? hay.lastIndexOf(first, i - 1) : -1) {
    if (i + n > hay.length) continue;
    let k = 1;
    while (k < n && hay[i + k] === needle[k]) k++;
    if (k === n) return i;
  }
  return -1;
}

/** Spans shorter than this are searched in JS (an FFI call costs more than it saves). */
const MEMCHR_MIN = 4096;

/** A faster search for long spans (reactor/libc.ts sets libc's `memchr` when it loads). */
let memchr: ((span: Uint8Array, byte: number) => number | undefined) | undefined;

/** Sets the search `indexOfByte` uses for long spans (undefined from it: not available). */
export function useMemchr(f: typeof memchr): void {
  memchr = f;
}

/**
 * The index of the first `byte` in `buf` at or after `from`, or -1: as
 * `buf.indexOf(byte, from)`, but long spans go through libc's `memchr` once
 * the reactor has loaded it where Deno permits FFI (V8 scans a typed array
 * byte by byte, about 2 GB/s here; memchr is some 40 times faster), which
 * matters for a job printing gigabytes.
 *
 * @example
 * ```ts
 * import { indexOfByte } from "./bytes.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(indexOfByte(new TextEncoder().encode("a\nb"), 10, 0), 1);
 * ```
 */
export function indexOfByte(buf: Uint8Array, byte: number, from: number): number {
  // memchr for a long span from a plain index, for a byte; anything else as `indexOf` takes it.
  const plain = Number.isInteger(from) && from >= 0 && byte === (byte & 0xff);
  if (!memchr || !plain || buf.length - from < MEMCHR_MIN) return buf.indexOf(byte, from);
  const at = memchr(from ? buf.subarray(from) : buf, byte);
  return at === undefined ? buf.indexOf(byte, from) : at < 0 ? -1 : from + at;
}
