/**
 * runtime/sha256.ts against node:crypto: every length around the block
 * size and the length field's, seeded random data, and text.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { H0, K, sha256Hex } from "../lib/runtime/sha256.ts";
import { sha256 } from "../lib/runtime/hash.ts";

const native = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

Deno.test("runtime/sha256: the constants written out are the standard's definition", () => {
  // The first 32 bits of the fractional parts of the cube roots of the first 64 primes (K) and of
  // the square roots of the first 8 (H0), computed here as FIPS 180-4 defines them.
  const frac32 = (x: number) => ((x - Math.floor(x)) * 2 ** 32) | 0;
  const primes: number[] = [];
  for (let p = 2; primes.length < 64; p++) {
    if (primes.every((d) => p % d !== 0)) primes.push(p);
  }
  assert.deepEqual([...K], primes.map((p) => frac32(Math.cbrt(p))));
  assert.deepEqual([...H0], primes.slice(0, 8).map((p) => frac32(Math.sqrt(p))));
});

Deno.test("runtime/sha256: the same digests as node:crypto", () => {
  let seed = 11;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) & 0xff;
  for (let n = 0; n <= 300; n++) {
    const b = new Uint8Array(n).map(rnd);
    assert.equal(sha256Hex(b), native(b), `length ${n}`);
  }
  for (const n of [1000, 4095, 4096, 65536, 100_003, 1 << 20]) {
    const b = new Uint8Array(n).map(rnd);
    assert.equal(sha256Hex(b), native(b), `length ${n}`);
  }
});

Deno.test("runtime/hash: sha256() of text and bytes, in pieces, small and past the native threshold", () => {
  const text = "jobs:\n  ç: { run: échó }\n\uFEFF";
  assert.equal(sha256().update(text).hex(), native(text));
  const bytes = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff);
  assert.equal(
    sha256().update("head").update(bytes).update("").hex(),
    createHash("sha256").update("head").update(bytes).digest("hex"),
  );
  const big = new Uint8Array((2 << 20) + 5).map((_, i) => i & 0xff);
  assert.equal(
    sha256().update(big).update("x").hex(),
    createHash("sha256").update(big).update("x").digest("hex"),
  );
});

Deno.test("runtime/hash: past its JavaScript budget (6 MB in all) a process hashes natively, with the same digests", () => {
  for (let k = 0; k < 9; k++) {
    const b = new Uint8Array(900_000).map((_, i) => (i * (k + 3)) & 0xff);
    assert.equal(sha256().update(b).hex(), native(b), `piece ${k}`);
  }
  assert.equal(sha256().update("after").hex(), native("after"));
});
