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
 * square roots of the first 8 (FIPS 180-4, 4.2.2 and 5.3.3). Written out,
 * not computed: computing them took 0.6-1 ms of a compiled binary's start,
 * a tenth of a one-job no-op (tests/sha256_test.ts checks them against
 * their definition).
 */
// deno-fmt-ignore
export const K: Int32Array = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
/** The first hash (see `K`). */
// deno-fmt-ignore
export const H0: Int32Array = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

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
