/**
 * SHA-256, synchronously, as hex: Bun's own hasher on Bun (loading
 * `node:crypto` costs about 12 ms there, a tenth of an edit's rerun); on
 * Deno, runtime/sha256.ts for what is small (`node:crypto` would set up
 * Deno's Node compatibility, some 35 ms), `node:crypto` past `NATIVE_FROM`
 * bytes, or once `JS_BUDGET` bytes were hashed in JavaScript, where it saves
 * more than that.
 *
 * @module
 */
import type * as NodeCrypto from "node:crypto";
import { bun, isBun, nodeProcess } from "./mod.ts";
import { sha256Hex } from "./sha256.ts";

/** From this many bytes in one hash, Deno hashes with `node:crypto` (about 8x the JavaScript's rate). */
const NATIVE_FROM = 1 << 20;
/**
 * Past this many bytes hashed in JavaScript in all, `node:crypto` for the rest
 * of the process: its set-up (~35 ms) then costs less than the JavaScript would.
 */
const JS_BUDGET = 6 << 20;
let jsBytes = 0;
let nativeCrypto: typeof NodeCrypto | undefined;

const encoder = new TextEncoder();

/**
 * An incremental SHA-256: `update` with text or bytes, then `hex`. Bytes
 * given to `update` must stay as they are until `hex` (Deno hashes them then).
 */
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
  if (isBun) {
    const h = new (bun().CryptoHasher)("sha256");
    const me: Sha256 = { update: (d) => (h.update(d), me), hex: () => h.digest("hex") };
    return me;
  }
  // The pieces are kept (the callers hand over whole texts and files) and hashed at `hex`.
  const pieces: Uint8Array[] = [];
  let size = 0;
  const me: Sha256 = {
    update: (d) => {
      const bytes = typeof d === "string" ? encoder.encode(d) : d;
      pieces.push(bytes), size += bytes.length;
      return me;
    },
    hex: () => {
      if (nativeCrypto || size >= NATIVE_FROM || jsBytes + size > JS_BUDGET) {
        nativeCrypto ??= nodeProcess().getBuiltinModule("node:crypto") as typeof NodeCrypto;
        const h = nativeCrypto.createHash("sha256");
        for (const p of pieces) h.update(p);
        return h.digest("hex");
      }
      jsBytes += size;
      const all = pieces.length === 1 ? pieces[0] : new Uint8Array(size);
      if (all !== pieces[0]) {
        let at = 0;
        for (const p of pieces) all.set(p, at), at += p.length;
      }
      return sha256Hex(all);
    },
  };
  return me;
}
