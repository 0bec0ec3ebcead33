/**
 * SHA-256 (FIPS 180-4) in plain JavaScript, for Deno: its `node:crypto`
 * would set up the Node compatibility (some 35 ms of a `jx run`), and Web
 * Crypto's digest is asynchronous only. runtime/hash.ts uses it for what is
 * small (a jobs file, a source file) and the native hash past that.
 * tests/sha256_test.ts compares it with `node:crypto` at every length
 * around the block size and on random data.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./sha256.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(
 *   sha256Hex(new TextEncoder().encode("abc")),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 *
 * @module
 */

/**
 * The round constants and the first hash: the first 32 bits of the
 * fractional parts of the cube roots of the first 64 primes, and of the
 * square roots of the first 8 (computed once, as the standard defines them).
 */
const K = new Int32Array(64), H0 = new Int32Array(8);
{
  const frac32 = (x: number) => ((x - Math.floor(x)) * 2 ** 32) | 0;
  for (let p = 2, n = 0; n < 64; p++) {
    let prime = true;
    for (let d = 2; d * d <= p; d++) if (p % d === 0) prime = false;
    if (!prime) continue;
    K[n] = frac32(Math.cbrt(p));
    if (n < 8) H0[n] = frac32(Math.sqrt(p));
    n++;
  }
}

/** Rotates the 32 bits of `x` right by `n`. */
const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** One 64-byte block of `b` at `off` into the state `h` (`w`: the message schedule's room). */
function block(h: Int32Array, w: Int32Array, b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++, off += 4) {
    w[i] = (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15], y = w[i - 2];
    const s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
    const s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = h[0], b1 = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (let i = 0; i < 64; i++) {
    const t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) |
      0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b1) ^ (a & c) ^ (b1 & c))) | 0;
    k = g, g = f, f = e, e = (d + t1) | 0, d = c, c = b1, b1 = a, a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0, h[1] = (h[1] + b1) | 0, h[2] = (h[2] + c) | 0, h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0, h[5] = (h[5] + f) | 0, h[6] = (h[6] + g) | 0, h[7] = (h[7] + k) | 0;
}

/** The SHA-256 of `data`, as 64 lowercase hex digits. */
export function sha256Hex(data: Uint8Array): string {
  const h = H0.slice(), w = new Int32Array(64);
  const whole = data.length - (data.length % 64);
  for (let off = 0; off < whole; off += 64) block(h, w, data, off);
  // The rest, the 0x80 that ends the message, zeros, and its length in bits (64, big-endian).
  const tail = new Uint8Array(data.length - whole < 56 ? 64 : 128);
  tail.set(data.subarray(whole));
  tail[data.length - whole] = 0x80;
  const view = new DataView(tail.buffer);
  view.setUint32(tail.length - 8, Math.floor(data.length / 2 ** 29));
  view.setUint32(tail.length - 4, (data.length * 8) >>> 0);
  for (let off = 0; off < tail.length; off += 64) block(h, w, tail, off);
  let hex = "";
  for (const x of h) hex += (x >>> 0).toString(16).padStart(8, "0");
  return hex;
}
