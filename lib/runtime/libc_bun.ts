/**
 * libc through `bun:ffi`, opened once for every fast-path call jx makes on
 * Bun: `flock` (the run lock, state/lock.ts), `statx` (stamps,
 * state/stat.ts), `isatty` and `ioctl` (the console, runtime/mod.ts),
 * `open`, `read`, `write`, `ftruncate` and `close` (files without `node:fs`,
 * runtime/bun_fs.ts). Each
 * `dlopen` compiles trampolines for its symbols: 0.7-1.5 ms of CPU apiece in
 * a compiled binary, three of them on the one-job no-op path before they
 * were shared (bench/RESULTS.md, startup). Deno binds its own (no such cost
 * there); the reactor's epoll calls are bound in reactor/libc_bun.ts, off
 * the no-op path.
 *
 * @example
 * ```ts ignore
 * // Bun only (null on Deno).
 * import { bunLibc } from "./libc_bun.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(bunLibc()?.isatty(-1), 0);
 * ```
 *
 * @module
 */

/** The libc calls bound, and `bun:ffi`'s `ptr` for `statx`'s pointer arguments. */
export interface BunLibc {
  /** `flock(fd, operation)`. */
  flock(fd: number, op: number): number;
  /** `statx(dirfd, path, flags, mask, out)`, both buffers given as `ptr` results. */
  statx(dirfd: number, path: unknown, flags: number, mask: number, out: unknown): number;
  /** `isatty(fd)`. */
  isatty(fd: number): number;
  /** `ioctl(fd, request, buf)`. */
  ioctl(fd: number, request: number, buf: Uint8Array): number;
  /** `open(path, flags, mode)`, `path` NUL-terminated. */
  open(path: Uint8Array, flags: number, mode: number): number;
  /** `read(fd, buf, count)`. */
  read(fd: number, buf: Uint8Array, count: number): number;
  /** `write(fd, buf, count)`. */
  write(fd: number, buf: Uint8Array, count: number): number;
  /** `ftruncate(fd, length)`. */
  ftruncate(fd: number, length: number): number;
  /** `close(fd)`. */
  close(fd: number): number;
  /** A buffer's address (`bun:ffi`'s `ptr`). */
  ptr(buf: Uint8Array): unknown;
}

/** What `bun:ffi` gives for the symbols below. */
interface BunFfi {
  dlopen(p: string, s: Record<string, { args: string[]; returns: string }>): {
    symbols: Omit<BunLibc, "ptr">;
  };
  ptr(buf: Uint8Array): unknown;
}

let libc: BunLibc | null | undefined;

/**
 * libc on Bun on Linux, opened on first use; null elsewhere (Deno, no
 * glibc), where each caller has a fallback.
 */
export function bunLibc(): BunLibc | null {
  if (libc !== undefined) return libc;
  libc = null;
  try {
    // Required synchronously, behind a specifier Deno's module graph never sees.
    const req = (import.meta as unknown as { require?: (s: string) => unknown }).require;
    const platform = (globalThis as { process?: { platform?: string } }).process?.platform;
    if (typeof req !== "function" || platform !== "linux") return null;
    const ffi = req(["bun", "ffi"].join(":")) as BunFfi;
    const s = ffi.dlopen("libc.so.6", {
      flock: { args: ["i32", "i32"], returns: "i32" },
      statx: { args: ["i32", "ptr", "i32", "u32", "ptr"], returns: "i32" },
      isatty: { args: ["i32"], returns: "i32" },
      ioctl: { args: ["i32", "u64", "buffer"], returns: "i32" },
      open: { args: ["buffer", "i32", "u32"], returns: "i32" },
      read: { args: ["i32", "buffer", "u64"], returns: "i64" },
      write: { args: ["i32", "buffer", "u64"], returns: "i64" },
      ftruncate: { args: ["i32", "i64"], returns: "i32" },
      close: { args: ["i32"], returns: "i32" },
    }).symbols;
    libc = {
      flock: (fd, op) => s.flock(fd, op),
      statx: (dirfd, path, flags, mask, out) => s.statx(dirfd, path, flags, mask, out),
      isatty: (fd) => s.isatty(fd),
      ioctl: (fd, request, buf) => s.ioctl(fd, request, buf),
      open: (path, flags, mode) => s.open(path, flags, mode),
      // i64 results come back as a number (or a bigint past 2^53: never for a byte count).
      read: (fd, buf, count) => Number(s.read(fd, buf, count)),
      write: (fd, buf, count) => Number(s.write(fd, buf, count)),
      ftruncate: (fd, length) => s.ftruncate(fd, length),
      close: (fd) => s.close(fd),
      ptr: (buf) => ffi.ptr(buf),
    };
  } catch {
    libc = null; // not glibc: the callers' fallbacks
  }
  return libc;
}
