/**
 * One stat call, as cheap as the runtime allows: a no-op `jx run` is mostly
 * stats (two per job). On Deno, `statx(2)` through FFI into one reused buffer
 * costs about half of `Deno.statSync`, which builds an object and four Dates
 * per call; Bun gets the same call through `bun:ffi` (its `statSync` costs
 * as much, and its `mtimeMs` is rounded otherwise than Deno's, which would
 * make a state written by one runtime hash every file under the other).
 * Without FFI (no permission, no glibc) it falls back to `Deno.statSync` or
 * `node:fs` `statSync`, with the mtime in whole milliseconds too.
 *
 * The result is written into `ST` (no object per call).
 *
 * @module
 */
import { envObject, nodeFs, readTextSync } from "../runtime/fs.ts";
import { deno, isDeno, osName } from "../runtime/mod.ts";
import { bunLibc } from "../runtime/libc_bun.ts";
import { utf8Decoder } from "../runtime/utf8.ts";

/**
 * What the last `statInto` found: size, mtime (ms), inode and ctime (ms);
 * `mtimeNsec`/`ctimeNsec`: the nanoseconds within the second, from statx
 * only (-1 when the stat came from a fallback that has no nanoseconds).
 */
export const ST = { size: 0, mtimeMs: 0, ino: 0, ctimeMs: 0, mtimeNsec: -1, ctimeNsec: -1 };

/** `statInto` results. */
export const ABSENT = 0, FILE = 1, DIR = 2, OTHER = 3;

const D = isDeno ? deno() : undefined;
const onDeno = !!D?.statSync;

const S_IFMT = 0o170000, S_IFREG = 0o100000, S_IFDIR = 0o040000;
const AT_FDCWD = -100, STATX_BASIC_STATS = 0x7ff;

interface Ffi {
  statx: (dirfd: number, path: Uint8Array, flags: number, mask: number, buf: Uint8Array) => number;
  /**
   * `statx(dirfd, path, 0, STATX_BASIC_STATS, out)` of the NUL-ended path at `off` of `bytes`;
   * sets `PATH_END.at` to the index of its NUL.
   */
  statxAt: (dirfd: number, bytes: Uint8Array, off: number) => number;
  /** `open(path, O_PATH | O_CLOEXEC)` of the NUL-terminated path in `pathBuf`: an fd, or < 0. */
  openPath: () => number;
  close: (fd: number) => number;
}
/** `open(2)` flags, the same on x64 and arm64. */
const O_PATH = 0o10000000, O_CLOEXEC = 0o2000000;
let ffi: Ffi | null | undefined;
const out = new Uint8Array(256);
const view = new DataView(out.buffer);
const pathBuf = new Uint8Array(4096);
const encoder = new TextEncoder(), decoder = utf8Decoder;

/** libc's statx through Deno's FFI or `bun:ffi`, or null when it cannot be had. */
function loadFfi(): Ffi | null {
  try {
    if (onDeno) {
      if (D.build?.os !== "linux" || typeof D.dlopen !== "function") return null;
      // Only with FFI already granted (as `-A` does): never a permission prompt.
      if (D.permissions?.querySync?.({ name: "ffi" }).state !== "granted") return null;
      const env = D.permissions.querySync({ name: "env", variable: "JX_NO_FFI_STAT" });
      if (env.state === "granted" && D.env.get("JX_NO_FFI_STAT")) return null;
      const lib = D.dlopen("libc.so.6", {
        statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
        open: { parameters: ["buffer", "i32"], result: "i32" },
        close: { parameters: ["i32"], result: "i32" },
      });
      return {
        statx: lib.symbols.statx,
        // Copied into pathBuf byte by byte: a view made per call (`subarray`) cost ~8 ms more
        // over 20,000 calls. Longer than the kernel takes (PATH_MAX): failed, as statx would;
        // with no NUL to end it (damage): failed, as on Bun.
        statxAt: (dirfd, bytes, off) => {
          prefix = ""; // pathBuf is overwritten
          let k = 0;
          for (let b = bytes[off]; b !== 0; b = bytes[off + ++k]) {
            if (b === undefined) return PATH_END.at = bytes.length, -1;
            if (k === pathBuf.length - 1) return PATH_END.at = endOf(bytes, off), -1;
            pathBuf[k] = b;
          }
          pathBuf[k] = 0;
          PATH_END.at = off + k; // found while copying: no search of its own
          return lib.symbols.statx(dirfd, pathBuf, 0, STATX_BASIC_STATS, out);
        },
        openPath: () => lib.symbols.open(pathBuf, O_PATH | O_CLOEXEC),
        close: lib.symbols.close,
      };
    }
    // Bun: the one libc of runtime/libc_bun.ts (also the lock's and the console's).
    if (osName() !== "linux" || envObject().JX_NO_FFI_STAT) return null;
    const libc = bunLibc();
    if (!libc) return null;
    const pathPtr = libc.ptr(pathBuf), outPtr = libc.ptr(out);
    return {
      statx: (dirfd, _path, flags, mask) => libc.statx(dirfd, pathPtr, flags, mask, outPtr),
      // The address asked for each call: a buffer's storage may move before it is first viewed.
      // A path with no NUL to end it (damage) is failed, never read past the bytes' end.
      statxAt: (dirfd, bytes, off) => {
        const end = PATH_END.at = endOf(bytes, off);
        if (end === bytes.length) return -1;
        return libc.statx(dirfd, (libc.ptr(bytes) as number) + off, 0, STATX_BASIC_STATS, outPtr);
      },
      openPath: () => libc.open(pathBuf, O_PATH | O_CLOEXEC, 0),
      close: (fd) => libc.close(fd),
    };
  } catch {
    return null; // no FFI permission, or not glibc
  }
}

/** An unsigned 64-bit field of the statx buffer (exact below 2^53). */
const u64 = (off: number) => view.getUint32(off, true) + view.getUint32(off + 4, true) * 2 ** 32;

/** The kind of what the statx buffer describes; its stamp into `ST`. */
function fromBuffer(): number {
  const mode = view.getUint16(28, true) & S_IFMT;
  ST.ino = u64(32);
  ST.size = u64(40);
  // stx_mtime: i64 seconds at 112, u32 nanoseconds at 120; whole milliseconds,
  // as `Deno.statSync(...).mtime.getTime()` gives them.
  const sec = view.getUint32(112, true) + view.getInt32(116, true) * 2 ** 32;
  ST.mtimeNsec = view.getUint32(120, true);
  ST.mtimeMs = sec * 1000 + Math.floor(ST.mtimeNsec / 1e6);
  // stx_ctime at 96 (nanoseconds at 104): a write or a utime moves it, to now.
  const csec = view.getUint32(96, true) + view.getInt32(100, true) * 2 ** 32;
  ST.ctimeNsec = view.getUint32(104, true);
  ST.ctimeMs = csec * 1000 + Math.floor(ST.ctimeNsec / 1e6);
  return mode === S_IFREG ? FILE : mode === S_IFDIR ? DIR : OTHER;
}

/** The directory prefix encoded at the start of `pathBuf`, and the rest of it. */
let prefix = "";
let tail = pathBuf;
/** The directory `inDir` holds open for its calls (`dirFd`, or -1), as `statUnder`'s `dir`. */
let openDir = "", dirFd = -1;

/**
 * Runs `f` with `dir` (ending with `/`) open, so that its `statUnder(dir,
 * ...)` calls stat relative paths from that descriptor: the kernel walks
 * `src/a.c`, not every folder from `/` on each time (a tenth of a no-op's
 * 20,000 stats). Open only while `f` runs: a folder moved or replaced
 * meanwhile is seen at the next call. Without FFI, `f` alone.
 *
 * @example
 * ```ts
 * import { FILE, inDir, statUnder } from "./stat.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync() + "/";
 * Deno.writeTextFileSync(`${dir}a.txt`, "a");
 * assertEquals(inDir(dir, () => statUnder(dir, "a.txt")), FILE);
 * ```
 */
export function inDir<T>(dir: string, f: () => T): T {
  if (ffi === undefined) ffi = loadFfi();
  const { read, written } = encoder.encodeInto(dir, pathBuf);
  if (!ffi || openDir || read !== dir.length || written >= pathBuf.length) return f();
  prefix = ""; // pathBuf is overwritten
  pathBuf[written] = 0;
  const fd = ffi.openPath();
  if (fd < 0) return f();
  openDir = dir, dirFd = fd;
  try {
    return f();
  } finally {
    openDir = "", dirFd = -1;
    ffi.close(fd);
  }
}

/**
 * Stats `dir + rel` into `ST`, as `statInto` does; `dir` ends with `/` (a
 * `rel` that starts with `/` is taken as is). The prefix is encoded once
 * for a run of calls with the same `dir`: no string is built per call.
 */
export function statUnder(dir: string, rel: string): number {
  if (rel[0] === "/") return statInto(rel);
  if (ffi === undefined) ffi = loadFfi();
  if (!ffi) return statInto(dir + rel);
  if (dir === openDir && rel) {
    prefix = ""; // pathBuf is overwritten
    const { read, written } = encoder.encodeInto(rel, pathBuf);
    if (read !== rel.length || written >= pathBuf.length) return statInto(dir + rel);
    pathBuf[written] = 0;
    return ffi.statx(dirFd, pathBuf, 0, STATX_BASIC_STATS, out) !== 0 ? ABSENT : fromBuffer();
  }
  if (dir !== prefix) {
    const { read, written } = encoder.encodeInto(dir, pathBuf);
    if (read !== dir.length || written >= 2048) return statInto(dir + rel);
    prefix = dir;
    tail = pathBuf.subarray(written);
  }
  const { read, written } = encoder.encodeInto(rel, tail);
  if (read !== rel.length || written >= tail.length) return statInto(dir + rel);
  tail[written] = 0;
  if (ffi.statx(AT_FDCWD, pathBuf, 0, STATX_BASIC_STATS, out) !== 0) return ABSENT;
  return fromBuffer();
}

/**
 * `statUnder(dir, rel)` for the `rel` held in `bytes` from `off` to the
 * next NUL: within `inDir(dir, ...)` straight from those bytes (no string
 * made, nothing encoded), else from its text.
 *
 * @example
 * ```ts
 * import { FILE, inDir, statUnderBytes } from "./stat.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync() + "/";
 * Deno.writeTextFileSync(`${dir}a.txt`, "a");
 * const bytes = new TextEncoder().encode("x\0a.txt\0");
 * assertEquals(inDir(dir, () => statUnderBytes(dir, bytes, 2)), FILE);
 * assertEquals(statUnderBytes(dir, bytes, 2), FILE);
 * ```
 */
export function statUnderBytes(dir: string, bytes: Uint8Array, off: number): number {
  if (ffi === undefined) ffi = loadFfi();
  const c = bytes[off];
  // Not an absolute path nor an empty one (`statUnder` stats those otherwise).
  if (ffi && dir === openDir && c !== 0x2f && c !== 0 && c !== undefined) {
    return ffi.statxAt(dirFd, bytes, off) !== 0 ? ABSENT : fromBuffer();
  }
  const end = PATH_END.at = endOf(bytes, off);
  return statUnder(dir, decoder.decode(bytes.subarray(off, end)));
}

/**
 * Where the path `statUnderBytes` last stat'd ends in its bytes (the index
 * of its NUL, or their length): the next path starts after it, so a pass
 * over a record's paths needs no list of where each starts.
 */
export const PATH_END = { at: 0 };

/** The index of the NUL that ends the string at `off` of `bytes`, or their length. */
function endOf(bytes: Uint8Array, off: number): number {
  const end = bytes.indexOf(0, off);
  return end < 0 ? bytes.length : end;
}

/**
 * Stats `path` (following symlinks) into `ST`; returns `FILE`, `DIR`,
 * `OTHER` or `ABSENT` (any error counts as absent, as for a missing file).
 */
export function statInto(path: string): number {
  if (ffi === undefined) ffi = loadFfi();
  if (ffi) {
    prefix = ""; // pathBuf is overwritten
    const { read, written } = encoder.encodeInto(path, pathBuf);
    if (read === path.length && written < pathBuf.length) {
      pathBuf[written] = 0;
      if (ffi.statx(AT_FDCWD, pathBuf, 0, STATX_BASIC_STATS, out) !== 0) return ABSENT;
      return fromBuffer();
    }
  }
  ST.mtimeNsec = ST.ctimeNsec = -1;
  try {
    if (onDeno) {
      const st = D.statSync(path);
      ST.size = st.size;
      ST.mtimeMs = st.mtime?.getTime() ?? 0;
      ST.ino = st.ino ?? 0;
      ST.ctimeMs = st.ctime?.getTime() ?? 0;
      return st.isFile ? FILE : st.isDirectory ? DIR : OTHER;
    }
    // Bun rounds mtimeMs rather than truncating it: a rare file then stamps
    // otherwise than under Deno, and is hashed once. (bigint stats are exact
    // but 30 times slower there.)
    const st = nodeFs().statSync(path, { throwIfNoEntry: false });
    if (!st) return ABSENT;
    ST.size = st.size;
    ST.mtimeMs = Math.floor(st.mtimeMs);
    ST.ino = st.ino;
    ST.ctimeMs = Math.floor(st.ctimeMs);
    return st.isFile() ? FILE : st.isDirectory() ? DIR : OTHER;
  } catch {
    return ABSENT;
  }
}

/**
 * A whole file as text: `Deno.readTextFileSync` on Deno (node:fs's utf8
 * decoding costs a few more milliseconds there on a file of megabytes).
 */
export function readText(path: string): string {
  return readTextSync(path);
}
