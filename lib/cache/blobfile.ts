/**
 * Blobs as files, never whole in memory: a file's SHA-256 read through a
 * fixed buffer, and a copy that is checked against its digest before anyone
 * may use it. The copy is the kernel's (`copyFileSync`: copy_file_range, or
 * a reflink where the filesystem has them); the check hashes the copy
 * itself, so the bytes that are checked are the bytes that stay.
 *
 * @module
 */
import { closeSync, copyFileSync, existsSync, openSync, readSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";

/** Bytes read at once while hashing (large reads cost less per byte; 4 MiB measured best). */
const CHUNK = 4 * 1024 * 1024;
let buffer: Uint8Array | undefined;

/** SHA-256 hex and size of the file at `path`, read `CHUNK` bytes at a time. */
export function hashPath(path: string): { digest: string; size: number } {
  buffer ??= new Uint8Array(CHUNK);
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  let size = 0;
  try {
    for (let n; (n = readSync(fd, buffer, 0, CHUNK, null)) > 0; size += n) {
      h.update(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return { digest: h.digest("hex"), size };
}

/** What `copyChecked` found wrong. */
export type CopyFault = "missing" | "mismatch";

/**
 * Copies `src` to `dest` (created or replaced) and hashes the copy: null when
 * it holds `digest`; otherwise `dest` is removed and the fault returned
 * (`missing`: `src` could not be read).
 */
export function copyChecked(src: string, dest: string, digest: string): CopyFault | null {
  try {
    copyFileSync(src, dest);
  } catch (e) {
    rmSync(dest, { force: true });
    if ((e as { code?: string }).code === "ENOENT" && !existsSync(src)) return "missing";
    throw e;
  }
  if (hashPath(dest).digest === digest) return null;
  rmSync(dest, { force: true });
  return "mismatch";
}
