/**
 * libc through `bun:ffi`, opened once for every fast-path call jx makes on
 * Bun: `flock` (the run lock, state/lock.ts), `statx`, `syscall` and
 * `mmap` (stamps, one by one or through an io_uring ring: state/stat.ts),
 * `isatty` and `ioctl` (the console, runtime/mod.ts), `open`, `read`,
 * `write`, `ftruncate` and `close` (files without `node:fs`,
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
  /** `syscall(n, a, b, c, d, e, f)` (io_uring's calls, state/stat_ring.ts). */
  syscall(n: number, a: number, b: number, c: number, d: number, e: number, f: number): number;
  /**
   * `mmap(NULL, len, prot, flags, fd, off)` as an ArrayBuffer over the mapping
   * (`bun:ffi`'s `toArrayBuffer`); null when it failed.
   */
  map(len: number, prot: number, flags: number, fd: number, off: number): ArrayBuffer | null;
}

/** What `bun:ffi` gives for the symbols below. */
interface BunFfi {
  dlopen(p: string, s: Record<string, { args: string[]; returns: string }>): {
    symbols: Omit<BunLibc, "ptr" | "map"> & {
      mmap(a: null, len: number, prot: number, flags: number, fd: number, off: number): unknown;
    };
  };
  ptr(buf: Uint8Array): unknown;
  toArrayBuffer(p: unknown, offset: number, len: number): ArrayBuffer;
}

let libc: BunLibc | null | undefined;

/** `bun:ffi` when `preloadBunFfi` has imported it. */
let preloaded: BunFfi | undefined;

/**
 * On Bun, imports `bun:ffi` ahead of the first `bunLibc()` (0.2-0.3 ms in a compiled binary,
 * where the synchronous `require` that `bunLibc` falls back on costs 0.7-0.9 ms: a tenth of a
 * one-job no-op). Does nothing elsewhere.
 *
 * @example
 * ```ts
 * import { bunLibc, preloadBunFfi } from "./libc_bun.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * await preloadBunFfi();
 * // On Deno: nothing imported, and still no libc through bun:ffi.
 * assertEquals(bunLibc(), null);
 * ```
 */
export async function preloadBunFfi(): Promise<void> {
  if (preloaded || libc !== undefined || !(globalThis as { Bun?: unknown }).Bun) return;
  try {
    preloaded = await import("bun:ffi" as string) as BunFfi;
  } catch { /* bunLibc's require says */ }
}

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
    const ffi = preloaded ?? req(["bun", "ffi"].join(":")) as BunFfi;
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
      syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: "i64" },
      mmap: { args: ["ptr", "u64", "i32", "i32", "i32", "i64"], returns: "ptr" },
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
      syscall: (n, a, b, c, d, e, f) => Number(s.syscall(n, a, b, c, d, e, f)),
      map: (len, prot, flags, fd, off) => {
        const p = s.mmap(null, len, prot, flags, fd, off);
        // MAP_FAILED is (void *) -1: an address no mapping has.
        if (!p || Number(p) >= 2 ** 53 || Number(p) < 0) return null;
        return ffi.toArrayBuffer(p, 0, len);
      },
    };
  } catch {
    libc = null; // not glibc: the callers' fallbacks
  }
  return libc;
}
