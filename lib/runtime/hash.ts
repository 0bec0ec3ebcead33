/**
 * SHA-256, synchronously, as hex: Bun's own hasher on Bun (loading
 * `node:crypto` costs about 12 ms there, a tenth of an edit's rerun), and
 * `node:crypto` on Deno, loaded only there.
 *
 * @module
 */
import type * as NodeCrypto from "node:crypto";
import { bun, isBun } from "./mod.ts";

const nodeCrypto: typeof NodeCrypto | undefined = isBun ? undefined : await import("node:crypto");

/** An incremental SHA-256: `update` with text or bytes, then `hex`. */
export interface Sha256 {
  update(data: string | Uint8Array): Sha256;
  hex(): string;
}

/**
 * A new SHA-256.
 *
 * @example
 * ```ts
 * import { sha256 } from "./hash.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(
 *   sha256().update("abc").hex(),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 */
export function sha256(): Sha256 {
  if (nodeCrypto) {
    const h = nodeCrypto.createHash("sha256");
    const me: Sha256 = { update: (d) => (h.update(d), me), hex: () => h.digest("hex") };
    return me;
  }
  const h = new (bun().CryptoHasher)("sha256");
  const me: Sha256 = { update: (d) => (h.update(d), me), hex: () => h.digest("hex") };
  return me;
}
