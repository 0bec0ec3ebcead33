/**
 * The file calls a full `jx run` makes (its state log, the graph cache,
 * past durations, the control socket's folder, globs over the disk), on
 * Deno through `Deno.*` and never `node:fs`: the first `node:` module a
 * Deno process loads sets up its Node compatibility, some 35 ms of every
 * run (bench/RESULTS.md). On Bun, `node:fs` (Bun's own). Errors are the
 * runtime's, each with the `code` that `node:fs` would give it (`ENOENT`,
 * `EEXIST`, `ELOOP`...): callers tell cases apart by that.
 *
 * @example
 * ```ts
 * import { listDir, openFile } from "./files.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const f = openFile(`${dir}/log`, "append");
 * f.write("a\n");
 * f.close();
 * assertEquals(listDir(dir), [{ name: "log", kind: "file" }]);
 * ```
 *
 * @module
 */
import { nodeFs } from "./fs.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
// deno-lint-ignore no-explicit-any
const D: any = typeof g.Deno !== "undefined" && typeof g.Bun === "undefined" ? g.Deno : undefined;
const encoder = new TextEncoder();

/** An error as `node:fs` makes it: a `code` and the path in its message. */
function fsError(code: string, what: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${what} '${path}'`), { code });
}

/**
 * How `openFile` opens: to read; to append (created when missing); to
 * write anew (created, or emptied); to create (fails when anything is
 * there, a link included).
 */
export type OpenHow = "read" | "append" | "write" | "create";

/** A file `openFile` opened. */
export interface OpenFile {
  /** Its size, owner and kind now (an `fstat` of what was opened). */
  stat(): { size: number; uid: number; isFile: boolean };
  /** Reads up to `len` bytes at `pos` of the file into `buf` from `off`: how many (0 at the end). */
  readAt(buf: Uint8Array, off: number, len: number, pos: number): number;
  /** Writes all of `data` (at the end, for a file opened to append). */
  write(data: string | Uint8Array): void;
  /** Flushes it to the disk (`fsync`). */
  sync(): void;
  close(): void;
}

/**
 * Opens `path` never through a symbolic link (as `O_NOFOLLOW`: a link
 * there fails with `ELOOP`); a created file gets `mode`.
 */
export function openFile(path: string, how: OpenHow, mode = 0o644): OpenFile {
  return D ? openDeno(path, how, mode) : openNode(path, how, mode);
}

function openDeno(path: string, how: OpenHow, mode: number): OpenFile {
  // Deno's open has no O_NOFOLLOW: a link is refused by an lstat first. jx opens this way only
  // under `.jx/`, which is private to its user (state/guard.ts): nobody else can put a link
  // there between the look and the open.
  let there: { isSymlink: boolean } | undefined;
  try {
    there = D.lstatSync(path);
  } catch (e) {
    if (how === "read" || (e as { code?: string }).code !== "ENOENT") throw e;
  }
  // As open(2): O_EXCL refuses anything there, a link included; O_NOFOLLOW a link.
  if (there && how === "create") throw fsError("EEXIST", "file already exists, open", path);
  if (there?.isSymlink) throw fsError("ELOOP", "too many symbolic links encountered, open", path);
  const f = D.openSync(
    path,
    how === "read"
      ? { read: true }
      : how === "append"
      ? { append: true, create: true, mode }
      : how === "write"
      ? { write: true, create: true, truncate: true, mode }
      : { write: true, createNew: true, mode },
  );
  return {
    stat: () => {
      const s = f.statSync();
      return { size: s.size, uid: s.uid ?? -1, isFile: s.isFile };
    },
    readAt: (buf, off, len, pos) => {
      f.seekSync(pos, D.SeekMode.Start);
      return f.readSync(buf.subarray(off, off + len)) ?? 0;
    },
    write: (data) => {
      let bytes = typeof data === "string" ? encoder.encode(data) : data;
      while (bytes.length) bytes = bytes.subarray(f.writeSync(bytes));
    },
    sync: () => f.syncSync(),
    close: () => f.close(),
  };
}

function openNode(path: string, how: OpenHow, mode: number): OpenFile {
  const fs = nodeFs(), c = fs.constants;
  const flags = c.O_NOFOLLOW |
    (how === "read"
      ? c.O_RDONLY
      : how === "append"
      ? c.O_WRONLY | c.O_APPEND | c.O_CREAT
      : how === "write"
      ? c.O_WRONLY | c.O_CREAT | c.O_TRUNC
      : c.O_WRONLY | c.O_CREAT | c.O_EXCL);
  const fd = fs.openSync(path, flags, mode);
  return {
    stat: () => {
      const s = fs.fstatSync(fd);
      return { size: s.size, uid: s.uid, isFile: s.isFile() };
    },
    readAt: (buf, off, len, pos) => fs.readSync(fd, buf, off, len, pos),
    write: (data) => {
      const bytes = typeof data === "string" ? encoder.encode(data) : data;
      for (let off = 0; off < bytes.length;) off += fs.writeSync(fd, bytes, off);
    },
    sync: () => fs.fsyncSync(fd),
    close: () => fs.closeSync(fd),
  };
}

/** What a directory entry is (symbolic links not followed). */
export type EntryKind = "file" | "dir" | "link" | "other";

/**
 * The entries of a directory sorted by name (their bytes, as Deno's
 * `node:fs` gives them; Bun's are in the file system's order): both
 * runtimes walk a tree alike. Throws when it cannot be read.
 */
export function listDir(path: string): { name: string; kind: EntryKind }[] {
  const out: { name: string; kind: EntryKind }[] = [];
  if (D) {
    for (const e of D.readDirSync(path)) {
      out.push({
        name: e.name,
        kind: e.isFile ? "file" : e.isDirectory ? "dir" : e.isSymlink ? "link" : "other",
      });
    }
    return out.sort((a, b) => byBytes(a.name, b.name));
  }
  for (const e of nodeFs().readdirSync(path, { withFileTypes: true })) {
    const kind = e.isFile()
      ? "file"
      : e.isDirectory()
      ? "dir"
      : e.isSymbolicLink()
      ? "link"
      : "other";
    out.push({ name: e.name, kind });
  }
  return out.sort((a, b) => byBytes(a.name, b.name));
}

/** What `lstat` says of `path` itself (a link not followed); throws when it is not there. */
export function lstatOf(path: string): { kind: EntryKind; uid: number; mode: number } {
  if (D) {
    const s = D.lstatSync(path);
    const kind = s.isFile ? "file" : s.isDirectory ? "dir" : s.isSymlink ? "link" : "other";
    return { kind, uid: s.uid ?? -1, mode: s.mode ?? 0 };
  }
  const s = nodeFs().lstatSync(path);
  const kind = s.isFile()
    ? "file"
    : s.isDirectory()
    ? "dir"
    : s.isSymbolicLink()
    ? "link"
    : "other";
  return { kind, uid: s.uid, mode: s.mode };
}

/**
 * `dev:ino` of what `path` leads to when it is a FIFO or a pipe (following
 * links: `/proc/self/fd/N` names an open descriptor), else "" (nothing there
 * included).
 */
export function fifoIdOf(path: string): string {
  try {
    if (D) {
      const s = D.statSync(path);
      return s.isFifo ? `${s.dev}:${s.ino}` : "";
    }
    const s = nodeFs().statSync(path);
    return s.isFIFO() ? `${s.dev}:${s.ino}` : "";
  } catch {
    return "";
  }
}

/** `chmod(path, mode)` (following a link). */
export function chmodPath(path: string, mode: number): void {
  if (D) D.chmodSync(path, mode);
  else nodeFs().chmodSync(path, mode);
}

/** Removes `path` (a file, a link, or with `recursive` a whole tree); nothing when it is not there. */
export function removePath(path: string, recursive = false): void {
  if (!D) return nodeFs().rmSync(path, { recursive, force: true });
  try {
    D.removeSync(path, { recursive });
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") throw e;
  }
}

/** Makes the symbolic link `path` pointing at `target`. */
export function makeLink(target: string, path: string): void {
  if (D) D.symlinkSync(target, path);
  else nodeFs().symlinkSync(target, path);
}

/** Where the symbolic link `path` points (as written in it). */
export function readLink(path: string): string {
  return D ? D.readLinkSync(path) : nodeFs().readlinkSync(path);
}

/** The absolute path of `path` with every link resolved. */
export function realPath(path: string): string {
  return D ? D.realPathSync(path) : nodeFs().realpathSync(path);
}

/**
 * A new directory `prefix` + six random characters (as `mkdtemp`), closed
 * to others; `prefix` is a path (`/tmp/jx-ctl-`).
 */
export function makeTempDir(prefix: string): string {
  if (!D) return nodeFs().mkdtempSync(prefix);
  // As mkdtemp(3) does: six random letters or digits, a new directory or another try.
  for (let tries = 0;; tries++) {
    const path = prefix +
      Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => ALNUM[b % 62])
        .join("");
    try {
      D.mkdirSync(path, { mode: 0o700 });
      return path;
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST" || tries >= 100) throw e;
    }
  }
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Removes the empty directory `path` (`rmdir`: throws when it holds anything). */
export function removeEmptyDir(path: string): void {
  if (!D) return nodeFs().rmdirSync(path);
  // Deno's remove takes a file as well: rmdir(2) does not.
  if (!D.lstatSync(path).isDirectory) throw fsError("ENOTDIR", "not a directory, rmdir", path);
  D.removeSync(path);
}

/**
 * `strcmp` order of two names' UTF-8 bytes: UTF-16's order but that a
 * character past U+FFFF (a surrogate pair) sorts after U+E000-U+FFFF.
 */
function byBytes(a: string, b: string): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 || y < 0xd800) return x - y;
    const lift = (c: number) => c < 0xe000 ? c + 0x2000 : c - 0x800; // surrogates last
    return lift(x) - lift(y);
  }
  return a.length - b.length;
}
