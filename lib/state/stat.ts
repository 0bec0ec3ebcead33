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
import { deno, isDeno, osName, platformArch } from "../runtime/mod.ts";
import { bunLibc } from "../runtime/libc_bun.ts";
import { decodeBytes, encodeBytes, RAW_BYTE, utf8Decoder } from "../runtime/utf8.ts";
import { type RingCalls, SKIPPED, StatRing, STATX_SIZE } from "./stat_ring.ts";
import { StatPace } from "./stat_pace.ts";

/**
 * What the last `statInto` found: size, mtime (ms), inode and ctime (ms);
 * `mtimeNsec`/`ctimeNsec`: the nanoseconds within the second, from statx
 * only (-1 when the stat came from a fallback that has no nanoseconds).
 */
export const ST = { size: 0, mtimeMs: 0, ino: 0, ctimeMs: 0, mtimeNsec: -1, ctimeNsec: -1 };

/** `statInto` results. */
export const ABSENT = 0, FILE = 1, DIR = 2, OTHER = 3;

/**
 * How long a file may keep its stamp after it: a filesystem that keeps whole seconds (ext3, ext4
 * with 128-byte inodes, FAT and its two seconds) gives every write within the same second (two)
 * the same mtime and ctime, so a same-size edit made then keeps size, mtime, inode and ctime. A
 * stamp whose mtime and ctime are both whole seconds is taken as one of those (on any other
 * filesystem one in a thousand is, and costs a hash); others tick within a few ms (`RACY_MS`).
 *
 * @example
 * ```ts
 * import { COARSE_MS, coarseTick } from "./stat.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(coarseTick(1700000001000, 1700000001000), COARSE_MS);
 * assertEquals(coarseTick(1700000001000, 1700000001234), 0);
 * ```
 */
export function coarseTick(mtimeMs: number, ctimeMs: number): number {
  return mtimeMs % 1000 === 0 && ctimeMs % 1000 === 0 ? COARSE_MS : 0;
}

/**
 * `coarseTick` of the stamp in `ST`, by its nanoseconds when the stat had them (statx): both 0
 * on a filesystem of whole seconds, and almost never elsewhere.
 */
export function coarseNow(): number {
  if (ST.mtimeNsec < 0) return coarseTick(ST.mtimeMs, ST.ctimeMs);
  return ST.mtimeNsec === 0 && ST.ctimeNsec === 0 ? COARSE_MS : 0;
}

/** The longest tick of a filesystem that keeps whole seconds (FAT's two seconds). */
export const COARSE_MS = 2000;

/**
 * Stamps (fileset.ts `FileStamp`s) taken within a coarse tick of their file's mtime or ctime
 * (`coarseTick`): the file may still change, in that tick, without a new stamp. A state line
 * records such a stamp with a ctime no file has (store.ts), so that the next check hashes the
 * file rather than trust a stamp that cannot tell.
 */
export const racyStamps: WeakSet<object> = new WeakSet();

const D = isDeno ? deno() : undefined;
const onDeno = !!D?.statSync;

const S_IFMT = 0o170000, S_IFREG = 0o100000, S_IFDIR = 0o040000, S_IFLNK = 0o120000;
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
  /** What an io_uring ring needs (`statEachUnder`); undefined where none is tried. */
  ring?: RingCalls;
  /** `syscall(n, a, b, c, d)`, for the calls on names that are not UTF-8 (`rawNames`). */
  sys: (n: number, a: number, b: number, c: number, d: number) => number;
  /** A buffer's address, for `sys`. */
  address: (b: Uint8Array) => number;
}
/** `open(2)` flags, the same on x64 and arm64. */
const O_PATH = 0o10000000, O_CLOEXEC = 0o2000000;
/** `mmap(2)`'s PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, and its failure ((void *) -1). */
const PROT_RW = 3, MAP_SHARED_POPULATE = 0x8001, MAP_FAILED = 2n ** 64n - 1n;
let ffi: Ffi | null | undefined;
const out = new Uint8Array(256);
const view = new DataView(out.buffer);
const pathBuf = new Uint8Array(4096);
const encoder = new TextEncoder(), decoder = utf8Decoder;

/** libc's statx through Deno's FFI or `bun:ffi`, or null when it cannot be had. */
function loadFfi(): Ffi | null {
  try {
    return onDeno ? denoFfi() : bunFfi();
  } catch {
    return null; // no FFI permission, or not glibc
  }
}

/** `loadFfi` on Deno: only with FFI already granted (as `-A` does), never a prompt. */
function denoFfi(): Ffi | null {
  if (D.build?.os !== "linux" || typeof D.dlopen !== "function") return null;
  if (D.permissions?.querySync?.({ name: "ffi" }).state !== "granted") return null;
  const env = D.permissions.querySync({ name: "env", variable: "JX_NO_FFI_STAT" });
  if (env.state === "granted" && D.env.get("JX_NO_FFI_STAT")) return null;
  const lib = D.dlopen("libc.so.6", {
    statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
    open: { parameters: ["buffer", "i32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
    syscall: { parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], result: "i64" },
    mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  });
  const address = (b: Uint8Array) => Number(D.UnsafePointer.value(D.UnsafePointer.of(b)));
  const noRing = D.permissions.querySync({ name: "env", variable: "JX_NO_IO_URING" });
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
    sys: (n, a, b, c, d) => Number(lib.symbols.syscall(n, a, b, c, d, 0, 0)),
    address,
    ring: noRing.state === "granted" && D.env.get("JX_NO_IO_URING") ? undefined : {
      syscall: (n, a, b, c, d, e, f) => Number(lib.symbols.syscall(n, a, b, c, d, e, f)),
      map: (len, fd, off) => {
        const p = lib.symbols.mmap(null, len, PROT_RW, MAP_SHARED_POPULATE, fd, off);
        const at = p === null ? -1n : BigInt(D.UnsafePointer.value(p));
        if (at === 0n || at === MAP_FAILED) return null;
        return D.UnsafePointerView.getArrayBuffer(p, len);
      },
      address,
      close: (fd) => void lib.symbols.close(fd),
    },
  };
}

/** `loadFfi` on Bun: the one libc of runtime/libc_bun.ts (also the lock's and the console's). */
function bunFfi(): Ffi | null {
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
    sys: (n, a, b, c, d) => libc.syscall(n, a, b, c, d, 0, 0),
    address: (b) => libc.ptr(b) as number,
    ring: envObject().JX_NO_IO_URING ? undefined : {
      syscall: libc.syscall,
      map: (len, fd, off) => libc.map(len, PROT_RW, MAP_SHARED_POPULATE, fd, off),
      address: (b) => libc.ptr(b) as number,
      close: (fd) => void libc.close(fd),
    },
  };
}

/** An unsigned 64-bit field of a statx buffer (exact below 2^53). */
const u64 = (v: DataView, off: number) =>
  v.getUint32(off, true) + v.getUint32(off + 4, true) * 2 ** 32;

/**
 * The kind of what a statx buffer describes (`v` from byte `at`: the one
 * call's buffer by default, else a ring's slot); its stamp into `ST`.
 */
function fromBuffer(v: DataView = view, at = 0): number {
  const mode = v.getUint16(at + 28, true) & S_IFMT;
  ST.ino = u64(v, at + 32);
  ST.size = u64(v, at + 40);
  // stx_mtime: i64 seconds at 112, u32 nanoseconds at 120; whole milliseconds,
  // as `Deno.statSync(...).mtime.getTime()` gives them.
  const sec = v.getUint32(at + 112, true) + v.getInt32(at + 116, true) * 2 ** 32;
  ST.mtimeNsec = v.getUint32(at + 120, true);
  ST.mtimeMs = sec * 1000 + Math.floor(ST.mtimeNsec / 1e6);
  // stx_ctime at 96 (nanoseconds at 104): a write or a utime moves it, to now.
  const csec = v.getUint32(at + 96, true) + v.getInt32(at + 100, true) * 2 ** 32;
  ST.ctimeNsec = v.getUint32(at + 104, true);
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

/** Requests per ring batch, and the fewest paths for which a ring is worth its set-up (~0.5 ms). */
const RING_ENTRIES = 256, RING_MIN = 512;
let ring: StatRing | null | undefined;

/**
 * `statUnderBytes(dir, bytes, starts[i])` for each `i` of `from..to`, in
 * that order, each result given to `each(i, kind)` with `ST` filled; stops
 * when `each` returns false. Within `inDir(dir, ...)` and for many paths,
 * a batch at a time, through an io_uring ring (state/stat_ring.ts: the same
 * answers in a fraction of the system calls) or one call each, whichever
 * the first batches found faster here (state/stat_pace.ts). `starts` must
 * hold the start of each path (its NUL found by the caller).
 *
 * @example
 * ```ts
 * import { FILE, inDir, statEachUnder } from "./stat.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync() + "/";
 * Deno.writeTextFileSync(`${dir}a.txt`, "a");
 * const bytes = new TextEncoder().encode("a.txt\0b.txt\0");
 * const kinds: number[] = [];
 * inDir(dir, () => statEachUnder(dir, bytes, new Int32Array([0, 6]), 0, 2, (_, k) => kinds.push(k) > 0));
 * assertEquals(kinds, [FILE, 0]);
 * ```
 */
export function statEachUnder(
  dir: string,
  bytes: Uint8Array,
  starts: Int32Array,
  from: number,
  to: number,
  each: (i: number, kind: number) => boolean,
): void {
  if (ffi === undefined) ffi = loadFfi();
  if (ring === undefined && ffi?.ring && to - from >= RING_MIN) {
    ring = StatRing.open(ffi.ring, RING_ENTRIES);
  }
  let i = from;
  if (ring && ffi && dir === openDir) {
    // An absolute or empty path is stat'd by the call, as `statUnderBytes` does it.
    const apart = (at: number) => bytes[at] === 0x2f || bytes[at] === 0 || at >= bytes.length;
    pace ??= new StatPace(paceFixed);
    for (; i < to;) {
      const first = i, end = Math.min(to, i + RING_ENTRIES);
      const viaRing = pace.viaRing(), t0 = performance.now();
      if (viaRing) {
        if (!ring.run(dirFd, bytes, starts, i, end, apart)) break; // given up: the calls below
        for (let slot = 0; i < end; i++, slot++) {
          const res = ring.res[slot];
          const kind = res === SKIPPED
            ? statUnderBytes(dir, bytes, starts[i])
            : res !== 0
            ? ABSENT
            : fromBuffer(ring.outView, slot * STATX_SIZE);
          if (!each(i, kind)) return;
        }
      } else {
        for (; i < end; i++) if (!each(i, statUnderBytes(dir, bytes, starts[i]))) return;
      }
      pace.took(viaRing, performance.now() - t0, end - first);
    }
  }
  for (; i < to; i++) if (!each(i, statUnderBytes(dir, bytes, starts[i]))) return;
}

/** This process's choice between the ring and the calls (state/stat_pace.ts), made once. */
let pace: StatPace | undefined;
let paceFixed: "ring" | "calls" | undefined;

/**
 * For tests: `statEachUnder`'s many stats always through the ring (where
 * one answers) or always one call each, instead of the faster of the two.
 */
export function fixStatWay(way: "ring" | "calls" | undefined): void {
  paceFixed = way;
  pace = undefined;
}

/**
 * How many stats go (for `jx doctor` and the tests): "io_uring" while a ring
 * answers, "statx" through FFI one call each, "runtime" through the
 * runtime's own stat; `probe` first sets a ring up if one may be had.
 *
 * @example
 * ```ts
 * import { statMethod } from "./stat.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * // "io_uring" on Linux 5.6 and later with FFI permitted
 * assertEquals(["io_uring", "statx", "runtime"].includes(statMethod(true)), true);
 * ```
 */
export function statMethod(probe = false): "io_uring" | "statx" | "runtime" {
  if (ffi === undefined) ffi = loadFfi();
  if (probe && ring === undefined && ffi?.ring) {
    // Set up, and asked once (a kernel without IORING_OP_STATX is found out only then).
    ring = StatRing.open(ffi.ring, RING_ENTRIES);
    ring?.run(AT_FDCWD, encoder.encode(".\0"), new Int32Array(1), 0, 1, () => false);
  }
  return !ffi ? "runtime" : ring?.usable ? "io_uring" : "statx";
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
  if (ffi && RAW_BYTE.test(path)) {
    // A name that is not UTF-8 (a byte of `decodeBytes`, from `rawNames`): stat its bytes.
    if (!toPathBuf(encodeBytes(path))) return ABSENT;
    return ffi.statx(AT_FDCWD, pathBuf, 0, STATX_BASIC_STATS, out) !== 0 ? ABSENT : fromBuffer();
  }
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

/** `bytes` NUL-ended in `pathBuf`; false when they do not fit (longer than PATH_MAX). */
function toPathBuf(bytes: Uint8Array): boolean {
  if (bytes.length >= pathBuf.length) return false;
  prefix = ""; // pathBuf is overwritten
  pathBuf.set(bytes);
  pathBuf[bytes.length] = 0;
  return true;
}

/** The system calls `rawNames` and `removeRaw` make, by machine (glibc's `syscall`). */
const sysCalls = () =>
  platformArch().endsWith("/arm64")
    ? { openat: 56, close: 57, getdents64: 61, unlinkat: 35 }
    : { openat: 257, close: 3, getdents64: 217, unlinkat: 263 };
const O_RDONLY_DIR = 0o200000 | O_CLOEXEC, AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200;
const DT_DIR = 4, DT_REG = 8, DT_LNK = 10;

/** What an entry of a folder is, as `rawNames` gives it. */
export type RawKind = "file" | "dir" | "link" | "other";

/**
 * The entries of folder `dir` with their names as their bytes (`decodeBytes`: a name that is
 * not UTF-8, `x\xff.o`, keeps its byte, where the runtimes' listings put U+FFFD, the name of no
 * file), read by `getdents64`; `dir` may hold such bytes too. Undefined when FFI cannot be had
 * or the folder cannot be read.
 *
 * @example
 * ```ts
 * import { rawNames } from "./stat.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * new Deno.Command("sh", { args: ["-c", `: > "$(printf '${dir}/x\\377')"`] }).outputSync();
 * assertEquals(rawNames(dir), [{ name: "x\u{10ffff}", kind: "file" }]);
 * ```
 */
export function rawNames(dir: string): { name: string; kind: RawKind }[] | undefined {
  if (ffi === undefined) ffi = loadFfi();
  if (!ffi || !toPathBuf(encodeBytes(dir))) return undefined;
  const f = ffi, SYS = sysCalls();
  const fd = f.sys(SYS.openat, AT_FDCWD, f.address(pathBuf), O_RDONLY_DIR, 0);
  if (fd < 0) return undefined;
  const out: { name: string; kind: RawKind }[] = [];
  const buf = new Uint8Array(32768), v = new DataView(buf.buffer);
  try {
    for (;;) {
      const n = f.sys(SYS.getdents64, fd, f.address(buf), buf.length, 0);
      if (n < 0) return undefined;
      if (n === 0) return out;
      for (let at = 0; at < n; at += v.getUint16(at + 16, true)) {
        const end = buf.indexOf(0, at + 19);
        const name = decodeBytes(buf.slice(at + 19, end));
        if (name === "." || name === "..") continue;
        const t = buf[at + 18];
        const kind = t === DT_REG
          ? "file"
          : t === DT_DIR
          ? "dir"
          : t === DT_LNK
          ? "link"
          : t
          ? "other"
          : rawKind(`${dir}/${name}`) ?? "other"; // DT_UNKNOWN: the file system did not say
        out.push({ name, kind });
      }
    }
  } finally {
    f.sys(SYS.close, fd, 0, 0, 0);
  }
}

/** What `path` itself is (a link not followed), by its bytes; undefined when it is not there. */
export function rawKind(path: string): RawKind | undefined {
  if (ffi === undefined) ffi = loadFfi();
  if (!ffi || !toPathBuf(encodeBytes(path))) return undefined;
  if (ffi.statx(AT_FDCWD, pathBuf, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, out) !== 0) {
    return undefined;
  }
  const mode = view.getUint16(28, true) & S_IFMT;
  return mode === S_IFREG ? "file" : mode === S_IFDIR ? "dir" : mode === S_IFLNK ? "link" : "other";
}

/**
 * Removes `path` by its bytes: a file or link (`unlink`), or with `dir` an empty folder
 * (`rmdir`). False when it could not be (or FFI cannot be had).
 */
export function removeRaw(path: string, dir = false): boolean {
  if (ffi === undefined) ffi = loadFfi();
  if (!ffi || !toPathBuf(encodeBytes(path))) return false;
  const flags = dir ? AT_REMOVEDIR : 0;
  return ffi.sys(sysCalls().unlinkat, AT_FDCWD, ffi.address(pathBuf), flags, 0) === 0;
}
