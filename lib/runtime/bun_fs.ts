/**
 * File calls on Bun through libc (runtime/libc_bun.ts), for the paths that
 * must not load `node:fs`: loading it costs 2.5-4.5 ms in a compiled
 * binary, as much as the rest of a one-job no-op `jx run` (bench/RESULTS.md,
 * startup). Each call answers only when libc does (Bun on Linux x64 or
 * arm64, the call succeeded); otherwise it returns undefined and the caller
 * asks `node:fs`, whose answers and errors stay the reference. Deno never
 * takes these (its own calls cost nothing to load).
 *
 * @module
 */
import { type BunLibc, bunLibc } from "./libc_bun.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const onBun = typeof g.Bun !== "undefined";

/** `open(2)` flags, as Linux numbers them on x64 and arm64 (O_NOFOLLOW differs). */
const O_RDONLY = 0, O_RDWR = 2, O_CREAT = 0o100, O_CLOEXEC = 0o2000000;
/**
 * O_NOFOLLOW on this machine, or -1 (another one). Asked on Bun only: on Deno
 * the first touch of `globalThis.process` loads its Node compatibility
 * (about 25 ms, at every start, when this was a top-level constant).
 */
const O_NOFOLLOW = !onBun
  ? -1
  : g.process?.arch === "x64"
  ? 0o400000
  : g.process?.arch === "arm64"
  ? 0o100000
  : -1;
const AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100, STATX_TYPE_MODE_UID = 0x1 | 0x2 | 0x8;
const STATX_SIZE = 0x200;
const S_IFMT = 0o170000;

let libc: BunLibc | null | undefined;
let statBuf: Uint8Array, statView: DataView, statPtr: unknown;

/** libc when these calls may use it, else null. */
function lib(): BunLibc | null {
  if (libc !== undefined) return libc;
  libc = onBun && O_NOFOLLOW > 0 && g.process?.platform === "linux" ? bunLibc() : null;
  if (libc) {
    statBuf = new Uint8Array(256);
    statView = new DataView(statBuf.buffer);
    statPtr = libc.ptr(statBuf);
  }
  return libc;
}

const encoder = new TextEncoder();

/** `path` as a C string (undefined when it holds a NUL: no such path). */
function cString(path: string): Uint8Array | undefined {
  if (path.includes("\0")) return undefined;
  return encoder.encode(`${path}\0`);
}

/**
 * `stat` (`follow`) or `lstat` of `path`: its mode (type and permissions)
 * and owner; null when it cannot be had (absent, no access: what a caller
 * takes for absent); undefined when libc cannot be asked.
 *
 * @example
 * ```ts
 * import { statMode } from "./bun_fs.ts";
 * // On Deno: undefined (node:fs or Deno's own calls answer).
 * statMode("/", true);
 * ```
 */
export function statMode(
  path: string,
  follow: boolean,
): { mode: number; uid: number } | null | undefined {
  const c = lib();
  const p = c && cString(path);
  if (!c || !p) return undefined;
  const flags = follow ? 0 : AT_SYMLINK_NOFOLLOW;
  if (c.statx(AT_FDCWD, c.ptr(p), flags, STATX_TYPE_MODE_UID, statPtr) !== 0) return null;
  return { mode: statView.getUint16(28, true), uid: statView.getUint32(20, true) };
}

/**
 * What `mode` (from `statMode`) says the path is.
 *
 * @example
 * ```ts
 * import { fileType } from "./bun_fs.ts";
 * import { strictEqual } from "node:assert";
 * strictEqual(fileType(0o100644), "file");
 * strictEqual(fileType(0o120777), "link");
 * ```
 */
export function fileType(mode: number): "file" | "dir" | "link" | "other" {
  const type = mode & S_IFMT;
  return type === 0o100000
    ? "file"
    : type === 0o040000
    ? "dir"
    : type === 0o120000
    ? "link"
    : "other";
}

/** Whether `mode` (from `statMode`) is a regular file's. */
export const isRegular = (mode: number): boolean => fileType(mode) === "file";

/**
 * A whole file's bytes, or undefined (libc cannot be asked, or the read
 * failed: `node:fs` then says why).
 *
 * @example
 * ```ts
 * import { readFileBytes } from "./bun_fs.ts";
 * // On Deno: undefined (Deno's own call answers).
 * readFileBytes("/etc/hostname");
 * ```
 */
export function readFileBytes(path: string, max = Infinity): Uint8Array<ArrayBuffer> | undefined {
  const c = lib();
  const p = c && cString(path);
  if (!c || !p) return undefined;
  // Its size first: a buffer of that size (one byte more, to see the end in one read; at
  // least a page: a /proc file says 0).
  if (c.statx(AT_FDCWD, c.ptr(p), 0, STATX_SIZE, statPtr) !== 0) return undefined;
  const size = statView.getUint32(40, true) + statView.getUint32(44, true) * 2 ** 32;
  const fd = c.open(p, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return undefined;
  try {
    let buf = new Uint8Array(Math.max(Math.min(size, 2 ** 30) + 1, 4096)), n = 0;
    for (;;) {
      if (n === buf.length) {
        const more = new Uint8Array(buf.length * 2);
        more.set(buf);
        buf = more;
      }
      const got = c.read(fd, buf.subarray(n), buf.length - n);
      if (got < 0) return undefined;
      if (got === 0) return buf.subarray(0, n);
      n += got;
      if (n > max) return buf.subarray(0, n); // the caller refuses it (a pipe that never ends)
    }
  } finally {
    c.close(fd);
  }
}

/**
 * Writes all of `bytes` to `fd`; the bytes left unwritten when a write
 * fails (the caller's `node:fs` loop then handles EAGAIN, EPIPE...), or
 * undefined when libc cannot be asked.
 *
 * @example
 * ```ts
 * import { writeBytes } from "./bun_fs.ts";
 * // Nothing written and nothing left; undefined on Deno.
 * writeBytes(2, new TextEncoder().encode(""));
 * ```
 */
export function writeBytes(fd: number, bytes: Uint8Array): Uint8Array | undefined {
  const c = lib();
  if (!c) return undefined;
  while (bytes.length) {
    const n = c.write(fd, bytes, bytes.length);
    if (n <= 0) return bytes;
    bytes = bytes.subarray(n);
  }
  return bytes;
}

/**
 * Opens (creating, mode `mode` before the umask) `path` for reading and
 * writing, never through a symbolic link, close-on-exec: the descriptor,
 * or undefined (libc cannot be asked, or the open failed).
 *
 * @example
 * ```ts
 * import { openRw } from "./bun_fs.ts";
 * import { strictEqual } from "node:assert";
 * // Deno asks its own calls (the doc tests run on Deno): undefined here.
 * strictEqual(openRw("/tmp/x.lock", 0o644), undefined);
 * ```
 */
export function openRw(path: string, mode: number): number | undefined {
  const c = lib();
  const p = c && cString(path);
  if (!c || !p) return undefined;
  const fd = c.open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
  return fd < 0 ? undefined : fd;
}
