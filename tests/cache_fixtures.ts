/** Entries whose content follows from a number, shared by the cache tests and their worker. */
import { createHash } from "node:crypto";
import type { Entry } from "../lib/cache/mod.ts";

/** 256 KiB of bytes that depend on `i` only. */
export function blobOf(i: number): Uint8Array {
  const seed = createHash("sha256").update(`blob ${i}`).digest();
  const out = new Uint8Array(256 * 1024);
  for (let j = 0; j < out.length; j++) out[j] = seed[j % 32] ^ (j >> 5);
  return out;
}

/** SHA-256 hex. */
export const hex = (b: Uint8Array | string): string => createHash("sha256").update(b).digest("hex");

/** The key of entry `i`. */
export const keyOf = (i: number): string => hex(`key ${i}`);

/** Entry `i`: one file `out/i.bin` holding `blob`. */
export function entryOf(i: number, blob: Uint8Array): Entry {
  return {
    v: 1,
    key: keyOf(i),
    job: `job${i}`,
    createdMs: 0,
    exit: 0,
    durationMs: 100,
    outputs: [{
      kind: "file",
      path: `out/${i}.bin`,
      mode: 0o644,
      digest: hex(blob),
      size: blob.length,
    }],
    log: { stdout: null, stderr: null, order: [] },
  };
}
