/**
 * Blobs as files, never whole in memory: a file's SHA-256 read through a
 * fixed buffer, a copy that is checked against its digest before anyone may
 * use it, and a blob's stamp (what says it has not changed since it was
 * last checked). The copy is the kernel's (`copyFileSync`: copy_file_range,
 * or a reflink where the filesystem has them); the check hashes the copy
 * itself, so the bytes that are checked are the bytes that stay.
 *
 * @module
 */
import { closeSync, copyFileSync, existsSync, openSync, readSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { FILE, ST, statInto } from "../state/mod.ts";

/** Bytes read at once while hashing (large reads cost less per byte; 4 MiB measured best). */
const CHUNK = 4 * 1024 * 1024;
let buffer: Uint8Array | undefined;

/** Files hashed by `hashPath` in this process (for tests: a restore that trusts a memo reads nothing). */
export const hashed = { files: 0 };

/** SHA-256 hex and size of the file at `path`, read `CHUNK` bytes at a time. */
export function hashPath(path: string): { digest: string; size: number } {
  buffer ??= new Uint8Array(CHUNK);
  hashed.files++;
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

/**
 * A blob file's stamp: size, inode, mtime and ctime, the times to the
 * nanosecond (statx). Any change made through the filesystem (a write, a
 * truncation, a chmod, a rename over it, a utime that puts the mtime back)
 * moves the ctime, which nobody can set back. Null when the file is not
 * there, or when the stat gave no nanoseconds (no FFI): then no stamp is
 * trusted and every restore hashes.
 */
export function blobStamp(path: string): string | null {
  if (statInto(path) !== FILE || ST.mtimeNsec < 0 || ST.ctimeNsec < 0) return null;
  const t = (ms: number, ns: number) => `${Math.floor(ms / 1000)}.${String(ns).padStart(9, "0")}`;
  return `${ST.size} ${ST.ino} ${t(ST.mtimeMs, ST.mtimeNsec)} ${t(ST.ctimeMs, ST.ctimeNsec)}`;
}

/** Copies `src` to `dest` (created or replaced); "missing" when `src` was not there (`dest` removed). */
export function copyPlain(src: string, dest: string): "missing" | null {
  try {
    copyFileSync(src, dest);
    return null;
  } catch (e) {
    rmSync(dest, { force: true });
    // ENOENT with `dest`'s directory there: `src` was not (it may be back by now: another
    // process stored it again after a prune).
    if ((e as { code?: string }).code === "ENOENT" && existsSync(dirname(dest))) return "missing";
    throw e;
  }
}

/** Whether the file at `path` holds `digest`; when it does not, it is removed. */
export function holds(path: string, digest: string): boolean {
  if (hashPath(path).digest === digest) return true;
  rmSync(path, { force: true });
  return false;
}
