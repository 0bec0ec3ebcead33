/**
 * Reads the output of `strace -f -y -xx` into accesses: lines split by a
 * call that blocked (`<unfinished ...>`, `<... resumed>`) joined again,
 * quoted strings with escapes decoded, relative paths resolved against the
 * directory strace names for the dirfd (`AT_FDCWD</cwd>`, `3</dir>`), or
 * against the process's working directory as followed through `chdir`,
 * `fchdir` and the `clone`s that made it.
 *
 * @module
 */
import { closeSync, openSync, readSync, realpathSync } from "node:fs";
import { posix } from "node:path";
import type { Access, AccessKind } from "./types.ts";
import { decodeBytes, RAW_BYTE, RAW_BYTE_BASE } from "../runtime/utf8.ts";

export { decodeBytes, RAW_BYTE, RAW_BYTE_BASE };

/** One call, joined and split: its name, its arguments as written, its result. */
export interface Call {
  pid: number;
  name: string;
  args: string[];
  /** The result as written: `0`, `3</p/a.c>`, `-1 ENOENT (No such file or directory)`. */
  ret: string;
}

const UNFINISHED = " <unfinished ...>";
const RESUMED = /^<\.\.\. ([A-Za-z0-9_]+) resumed>/;

/**
 * One line of a trace: the call it completes (`pid`, `body`), or undefined
 * while a split call waits in `pending` (its head kept until it resumes).
 */
function joinLine(
  line: string,
  pending: Map<number, string>,
): { pid: number; body: string } | undefined {
  const m = /^(\d+) +(.*)$/.exec(line);
  const pid = m ? Number(m[1]) : 0;
  let body = m ? m[2] : line;
  if (!body || body.startsWith("+++") || body.startsWith("---")) return undefined;
  if (body.endsWith(UNFINISHED)) {
    pending.set(pid, body.slice(0, -UNFINISHED.length));
    return undefined;
  }
  const r = RESUMED.exec(body);
  if (r) {
    const head = pending.get(pid);
    pending.delete(pid);
    if (head === undefined) return undefined;
    body = head + body.slice(r[0].length).replace(/^ /, "");
  }
  return { pid, body };
}

/** Joins each call that strace split across lines (another process's calls in between). */
export function joinLines(text: string): { pid: number; body: string }[] {
  const pending = new Map<number, string>();
  const out: { pid: number; body: string }[] = [];
  for (const line of text.split("\n")) {
    const j = joinLine(line, pending);
    if (j) out.push(j);
  }
  return out;
}

/** The index of the `)` that closes the argument list opened at `open`, or -1. */
function splitArgs(body: string, open: number): { args: string[]; close: number } {
  const args: string[] = [];
  let depth = 0, start = open + 1;
  for (let i = open + 1; i < body.length; i++) {
    const c = body[i];
    if (c === '"') {
      for (i++; i < body.length && body[i] !== '"'; i++) if (body[i] === "\\") i++;
    } else if (c === "(" || c === "[" || c === "{" || c === "<") depth++;
    else if ((c === "]" || c === "}" || c === ">") && depth > 0) depth--;
    else if (c === ")" && depth > 0) depth--;
    else if (c === ")" || (c === "," && depth === 0)) {
      const a = body.slice(start, i).trim();
      if (a) args.push(a);
      start = i + 1;
      if (c === ")") return { args, close: i };
    }
  }
  return { args, close: -1 };
}

/** Parses one joined line (`openat(AT_FDCWD</p>, "\x61", O_RDONLY) = 3</p/a>`); undefined if it is none. */
export function parseCall(pid: number, body: string): Call | undefined {
  const m = /^([A-Za-z0-9_]+)\(/.exec(body);
  if (!m) return undefined;
  const { args, close } = splitArgs(body, m[0].length - 1);
  if (close < 0) return undefined;
  const eq = /^\s*=\s*(.*)$/.exec(body.slice(close + 1));
  if (!eq) return undefined;
  return { pid, name: m[1], args, ret: eq[1] };
}

const SIMPLE: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, b: 8, a: 7 };

/** The strings `decodeQuoted` decoded last, by their text as strace printed them. */
const decoded = new Map<string, string>();
/** How many strings `decoded` holds before it starts afresh. */
const DECODED_MAX = 4096;

/**
 * The bytes of a C-quoted string as strace prints it (`\xHH`, `\NNN`, `\n`,
 * `\"`), as text. A trace names the same few folders and files again and
 * again (`AT_FDCWD</p>` on every call): those are decoded once.
 */
export function decodeQuoted(s: string): string {
  let text = decoded.get(s);
  if (text !== undefined) return text;
  text = decodeQuotedOnce(s);
  if (decoded.size >= DECODED_MAX) decoded.clear();
  decoded.set(s, text);
  return text;
}

const UTF8_OUT = new TextEncoder();

/** `decodeQuoted` without the memo. */
function decodeQuotedOnce(s: string): string {
  const q = s.indexOf('"'), end = s.lastIndexOf('"');
  const body = q >= 0 && end > q ? s.slice(q + 1, end) : s;
  // Each character of the text is at most 3 bytes of UTF-8 (4 for a pair of 2 characters).
  const bytes = new Uint8Array(body.length * 3);
  let n = 0;
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    if (code !== 0x5c) {
      if (code < 0x80) bytes[n++] = code;
      else {
        const pair = code >= 0xd800 && code < 0xdc00 ? 2 : 1;
        n += UTF8_OUT.encodeInto(body.slice(i, i + pair), bytes.subarray(n)).written;
        i += pair - 1;
      }
      continue;
    }
    const c = body[++i];
    if (c === "x") {
      bytes[n++] = parseInt(body.slice(i + 1, i + 3), 16);
      i += 2;
    } else if (c >= "0" && c <= "7") {
      const oct = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      bytes[n++] = parseInt(oct, 8);
      i += oct.length - 1;
    } else bytes[n++] = SIMPLE[c] ?? c.charCodeAt(0);
  }
  return decodeBytes(bytes.subarray(0, n));
}

/**
 * The path strace names for a descriptor (`AT_FDCWD</p>`, `3</p/src>`,
 * `3</p/gone>(deleted)`), or undefined: none printed (`3`: a path longer
 * than PATH_MAX, or strace run without `-y`).
 */
export function fdPath(arg: string): string | undefined {
  const m = /^(?:AT_FDCWD|-?\d+)<(.*)>(?:\(deleted\))?$/s.exec(arg);
  return m ? decodeQuoted(m[1]) : undefined;
}

/**
 * A path argument as bytes decoded, or undefined when strace printed no
 * whole string for it (an address it could not read, a name cut short: `"..."...`).
 */
function quotedName(arg: string | undefined): string | undefined {
  return arg && arg.length >= 2 && arg.startsWith('"') && arg.endsWith('"')
    ? decodeQuoted(arg)
    : undefined;
}

/** What a call did to which path arguments: [dirfd index or -1, path index, kind, is a directory]. */
type Effect = [number, number, AccessKind, boolean];

const OPEN_WRITE = /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/;

/** The effects of the calls whose flags change nothing the rules look at. */
const FIXED = new Map<string, Effect[]>([
  ["creat", [[-1, 0, "write", false]]],
  ["truncate", [[-1, 0, "write", false]]],
  ["execve", [[-1, 0, "exec", false]]],
  ["execveat", [[0, 1, "exec", false]]],
  // The new name gets the old one's contents: the old name is read (an input), then removed.
  ["rename", [[-1, 0, "read", false], [-1, 0, "delete", false], [-1, 1, "write", false]]],
  ["renameat", [[0, 1, "read", false], [0, 1, "delete", false], [2, 3, "write", false]]],
  ["unlink", [[-1, 0, "delete", false]]],
  ["rmdir", [[-1, 0, "delete", true]]],
  ["mkdir", [[-1, 0, "write", true]]],
  ["mkdirat", [[0, 1, "write", true]]],
  // A device, a FIFO, a socket or an empty file made at the path.
  ["mknod", [[-1, 0, "write", false]]],
  ["mknodat", [[0, 1, "write", false]]],
  // A hard link: the new name has the old one's contents (an input, as a copy's source is).
  ["link", [[-1, 0, "read", false], [-1, 1, "write", false]]],
  ["symlink", [[-1, 1, "write", false]]],
  ["linkat", [[0, 1, "read", false], [2, 3, "write", false]]],
  ["symlinkat", [[1, 2, "write", false]]],
]);

/** The calls whose return value is a descriptor of the file they name (`= 3</real/path>`). */
const OPENS = new Set(["open", "openat", "openat2", "creat"]);

/** The effects of one call on paths (none for a call that changes nothing the rules look at). */
function effectsOf(c: Call): Effect[] {
  const flags = (i: number) => c.args[i] ?? "";
  const open = (d: number, p: number, f: number): Effect[] =>
    // O_TMPFILE names a folder and makes a file with no name there: a
    // `linkat` that names it later is the write. O_PATH reads nothing (a
    // place to start from, as a stat, which is not traced either): what is
    // done through it is its own call.
    /O_TMPFILE|O_PATH/.test(flags(f))
      ? []
      : [[d, p, OPEN_WRITE.test(flags(f)) ? "write" : "read", /O_DIRECTORY/.test(flags(f))]];
  switch (c.name) {
    case "open":
      return open(-1, 0, 1);
    case "openat":
    case "openat2":
      return open(0, 1, 2);
    case "renameat2":
      // RENAME_EXCHANGE swaps the two files: each path gets the other's contents.
      return /RENAME_EXCHANGE/.test(flags(4))
        ? [[0, 1, "read", false], [2, 3, "read", false], [0, 1, "write", false], [
          2,
          3,
          "write",
          false,
        ]]
        : FIXED.get("renameat")!;
    case "linkat":
      // AT_EMPTY_PATH: the file of the descriptor, opened before (an O_TMPFILE one has no name).
      return c.args[1] === '""' ? [[2, 3, "write", false]] : FIXED.get("linkat")!;
    case "unlinkat":
      return [[0, 1, "delete", /AT_REMOVEDIR/.test(flags(2))]];
    default:
      return FIXED.get(c.name) ?? [];
  }
}

/**
 * A working directory as the kernel keeps it: one per `fs` (the threads of
 * a process, and children made with `CLONE_FS`, share one; a `fork` copies).
 * `guessed`: made for a process seen before the call that made it returned.
 */
interface Fs {
  /** Undefined when unknown (an `fchdir` to a folder strace could not name). */
  cwd: string | undefined;
  guessed: boolean;
}

const MAKES_PROCESS = /^(clone3?|v?fork)$/;
/** The line strace writes when a process ends (`12 +++ exited with 0 +++`). */
const ENDED = /^\d+ +\+\+\+ (?:exited|killed)/;
/** Whether a `clone` (its arguments, or its line) makes a child that shares the caller's fs. */
const sharesFs = (text: string) => /\bCLONE_FS\b/.test(text);

/** The real path of a folder (no link, no `..`: `..` taken after links), or undefined. */
export type RealDir = (path: string) => string | undefined;

/** `RealDir` on the disk as it is now (libc's realpath: a `..` after a link leaves its target). */
const realDirOnDisk: RealDir = (path) => {
  try {
    return realpathSync.native(path);
  } catch {
    return undefined;
  }
};

/** A script's first bytes (its `#!` line), or undefined when it cannot be read. */
export type ScriptHead = (path: string) => string | undefined;

/** `ScriptHead` on the disk as it is now (the trace is read when the job has ended). */
const scriptHeadOnDisk: ScriptHead = (path) => {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const buf = new Uint8Array(256);
    return decodeBytes(buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
};

/** How many `#!` interpreters deep the kernel follows (Linux: BINPRM_MAX_RECURSION). */
const SCRIPT_DEPTH = 4;

/**
 * The interpreter a `#!` line names (`#!/usr/bin/env python3`: `/usr/bin/env`), or undefined
 * when `head` is no script's.
 *
 * @example
 * ```ts
 * import { interpreterOf } from "./strace_parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(interpreterOf("#! /p/.venv/bin/python -u\nprint(1)\n"), "/p/.venv/bin/python");
 * assertEquals(interpreterOf("\x7fELF..."), undefined);
 * ```
 */
export function interpreterOf(head: string): string | undefined {
  if (!head.startsWith("#!")) return undefined;
  const line = head.slice(2).split("\n", 1)[0];
  return /^[ \t]*([^ \t\r]+)/.exec(line)?.[1];
}

/**
 * `name` resolved against the folder `base` as the kernel does it: what
 * comes up to its last `..` looked up on disk (`lnk/..` is the folder
 * above the link's target, not the one holding the link; as written when
 * that folder is gone), the rest kept as written (links not followed).
 */
function resolveName(base: string, name: string, realDir: RealDir): string {
  const joined = posix.isAbsolute(name) ? name : `${base}/${name}`;
  if (!joined.includes("..")) return posix.resolve(joined);
  const parts = joined.split("/");
  const last = parts.lastIndexOf("..");
  if (last < 0) return posix.resolve(joined);
  const head = parts.slice(0, last + 1).join("/") || "/";
  return posix.resolve(realDir(head) ?? posix.resolve(head), parts.slice(last + 1).join("/"));
}

/** A call that makes a process and has not returned yet: who made it, its arguments so far. */
interface Creator {
  pid: number;
  head: string;
}

/** Per-process working directories, followed through the trace. */
class Cwds {
  private fs = new Map<number, Fs>();
  /**
   * `start`: the traced command's directory. `creating`: the one call
   * making a process that has not returned yet, if there is exactly one.
   */
  constructor(
    private start: string,
    private creating: () => Creator | undefined,
    private resolve: (base: string, name: string) => string,
  ) {}

  private of(pid: number): Fs {
    let f = this.fs.get(pid);
    if (f) return f;
    // The first process is the traced command; a later one not yet known is
    // the child of the one call making a process now, else a guess.
    const c = this.fs.size ? this.creating() : undefined;
    const p = c && this.of(c.pid);
    if (p && sharesFs(c.head)) f = p;
    else f = { cwd: p?.cwd ?? this.start, guessed: this.fs.size > 0 && !p };
    this.fs.set(pid, f);
    return f;
  }

  get(pid: number): string | undefined {
    return this.of(pid).cwd;
  }

  /** A process ended: its id may be given to a new one, which starts afresh. */
  forget(pid: number): void {
    this.fs.delete(pid);
  }

  private set(pid: number, cwd: string | undefined): void {
    const f = this.of(pid);
    f.cwd = cwd;
    f.guessed = false;
  }

  /**
   * `child`, made by `parent`: sharing its fs (`CLONE_FS`), or with a copy.
   * A child seen before (its calls came before the clone returned) keeps
   * what it did itself: a shared fs takes its directory.
   */
  private made(parent: number, child: number, shared: boolean): void {
    const p = this.of(parent), own = this.fs.get(child);
    if (shared) {
      if (own && !own.guessed) p.cwd = own.cwd;
      this.fs.set(child, p);
    } else if (!own || own.guessed) this.fs.set(child, { cwd: p.cwd, guessed: false });
  }

  /** Learns from a call: a cwd named by `AT_FDCWD<...>`, a chdir, a child, an fs unshared. */
  learn(c: Call, ok: boolean): void {
    const at = c.args.find((a) => a.startsWith("AT_FDCWD<"));
    if (at) this.set(c.pid, fdPath(at)!);
    if (!ok) return;
    if (c.name === "chdir") {
      const name = quotedName(c.args[0]), base = this.get(c.pid);
      const known = name !== undefined && (posix.isAbsolute(name) || base !== undefined);
      this.set(c.pid, known ? this.resolve(base ?? "/", name) : undefined);
    } else if (c.name === "fchdir") {
      this.set(c.pid, fdPath(c.args[0] ?? ""));
    } else if (MAKES_PROCESS.test(c.name)) {
      const child = parseInt(c.ret, 10);
      if (child > 0) this.made(c.pid, child, c.args.some(sharesFs));
    } else if (c.name === "unshare" && sharesFs(c.args[0] ?? "")) {
      // The caller leaves the fs it shared, with a copy of it.
      this.fs.set(c.pid, { cwd: this.get(c.pid), guessed: false });
    }
  }
}

/**
 * The accesses in a trace written by `strace -f -y -xx` (other forms parse
 * too, less exactly). `cwd` is the directory the traced command started in;
 * `realDir` finds the folder a `..` leaves (default: on disk, as it is now).
 *
 * @example
 * ```ts
 * import { parseStrace } from "./strace_parse.ts";
 * parseStrace('7 openat(AT_FDCWD</p>, "a.txt", O_RDONLY) = 3</p/a.txt>\n', "/p");
 * // [{ path: "/p/a.txt", kind: "read", pid: 7, ok: true }]
 * ```
 */
export function parseStrace(text: string, cwd: string, realDir?: RealDir): Access[] {
  const p = new StraceParser(cwd, realDir);
  p.lines(text);
  return p.accesses;
}

/**
 * `parseStrace` a part at a time, for a trace too large for one string
 * (`lines` takes whole lines; state carries from one part to the next).
 *
 * @example
 * ```ts
 * import { StraceParser } from "./strace_parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const p = new StraceParser("/p");
 * p.lines('7 openat(AT_FDCWD</p>, "a.txt", O_RDONLY <unfinished ...>');
 * p.lines("7 <... openat resumed>) = 3</p/a.txt>");
 * assertEquals(p.accesses.map((a) => a.path), ["/p/a.txt"]);
 * ```
 */
export class StraceParser {
  /**
   * The accesses so far, in trace order; one that repeats the last access
   * kept of its path (a header opened by each of 10 000 compiles) is not kept
   * again: the comparison takes it as it took the first, and a trace of
   * millions of opens is held in memory by its distinct paths.
   */
  readonly accesses: Access[] = [];
  /** By path: how the last access kept of it was made (`keep`); cleared by a rename. */
  private lastOf = new Map<string, string>();
  private cwds: Cwds;
  private pending = new Map<number, string>();
  /** Successful calls whose path could not be told (`pathOf`). */
  private unnamed = 0;
  /** Calls read (an exit line is none: a trace of exit lines alone recorded nothing). */
  calls = 0;
  /** A ring was set up: what goes through it makes no call strace sees. */
  private ioUring = false;

  /** The interpreter each executed file names (`#!`), read once per file. */
  private named = new Map<string, string | undefined>();

  /** Each folder up to a `..`, looked up once (`resolveName`). */
  private realDirs = new Map<string, string | undefined>();

  /**
   * `cwd`: the directory the traced command started in. `realDir`: how a
   * folder a `..` leaves is found (default: on disk, when the trace is read).
   */
  constructor(
    cwd: string,
    private realDir: RealDir = realDirOnDisk,
    private scriptHead: ScriptHead = scriptHeadOnDisk,
  ) {
    this.cwds = new Cwds(cwd, () => this.creating(), (b, n) => this.resolve(b, n));
  }

  /** `resolveName`, each folder looked up once. */
  private resolve(base: string, name: string): string {
    return resolveName(base, name, (head) => {
      if (!this.realDirs.has(head)) this.realDirs.set(head, this.realDir(head));
      return this.realDirs.get(head);
    });
  }

  /** The one call making a process that has not returned yet (none, or several: undefined). */
  private creating(): Creator | undefined {
    let found: Creator | undefined;
    for (const [pid, head] of this.pending) {
      if (!MAKES_PROCESS.test(/^[a-z0-9]+/.exec(head)?.[0] ?? "")) continue;
      if (found) return undefined;
      found = { pid, head };
    }
    return found;
  }

  /** Parses whole lines (one or more, separated by newlines). */
  lines(text: string): void {
    for (const line of text.split("\n")) {
      const j = joinLine(line, this.pending);
      if (j) this.call(j.pid, j.body);
      else if (ENDED.test(line)) this.cwds.forget(parseInt(line, 10));
    }
  }

  private call(pid: number, body: string): void {
    const c = parseCall(pid, body);
    if (!c) return;
    this.calls++;
    const ok = !c.ret.startsWith("-") && !c.ret.startsWith("?");
    if (c.name === "io_uring_setup" && ok) this.ioUring = true;
    let moved: string | undefined; // a rename's old name (its `delete` comes before the write)
    for (const [d, p, kind, dir] of effectsOf(c)) {
      // A failed read or exec is a probe (a shell trying each PATH folder); a failed change is none.
      if (!ok && kind !== "read" && kind !== "exec") continue;
      const path = this.pathOf(c, d, p);
      if (path === undefined) {
        if (ok) this.unnamed++;
        continue;
      }
      if (kind === "delete" && c.name.startsWith("rename")) moved = path;
      const a: Access = dir ? { path, kind, pid, ok, dir } : { path, kind, pid, ok };
      if (kind === "write" && moved !== undefined) a.from = moved;
      this.keep(a);
      if (ok && kind === "exec") this.interpreters(path, c.pid);
      // An open through a link: the descriptor's own path (strace -y) is the file itself.
      const real = ok && OPENS.has(c.name) ? fdPath(c.ret) : undefined;
      if (real !== undefined && real !== path && posix.isAbsolute(real)) {
        this.keep({ path: real, kind, pid, ok, ...(dir ? { dir } : {}), alias: true });
      }
    }
    this.cwds.learn(c, ok);
  }

  /**
   * Adds `a` to the accesses unless it repeats the last one kept of its path
   * (the same kind, outcome, folder and link flags: folding it again changes
   * nothing). A rename moves what is below a folder (`usesOf`), so the
   * paths below it are new ones: it forgets every last access.
   */
  private keep(a: Access): void {
    const how = `${a.kind} ${a.ok} ${a.dir ?? false} ${a.alias ?? false}`;
    if (a.from === undefined && this.lastOf.get(a.path) === how) return;
    this.accesses.push(a);
    if (a.from !== undefined) this.lastOf.clear();
    else this.lastOf.set(a.path, how);
  }

  /**
   * The interpreters of a script that was executed (its `#!` line, and theirs): the kernel opens
   * them itself, with no call for strace to show.
   */
  private interpreters(path: string, pid: number): void {
    for (let depth = 0, at = path; depth < SCRIPT_DEPTH; depth++) {
      if (!this.named.has(at)) {
        const head = this.scriptHead(at);
        this.named.set(at, head === undefined ? undefined : interpreterOf(head));
      }
      const name = this.named.get(at);
      if (name === undefined) return;
      const base = posix.isAbsolute(name) ? "/" : this.cwds.get(pid);
      if (base === undefined) return;
      at = this.resolve(base, name);
      this.keep({ path: at, kind: "exec", pid, ok: true });
    }
  }

  /**
   * The path argument `p` of a call, resolved against its dirfd argument
   * `d` (-1: none, the working directory); undefined when it cannot be
   * told: a name strace did not print whole, a folder it could not name.
   */
  private pathOf(c: Call, d: number, p: number): string | undefined {
    const name = quotedName(c.args[p]);
    if (name === undefined) return undefined;
    if (posix.isAbsolute(name)) return this.resolve("/", name);
    const dirfd = d >= 0 ? c.args[d] ?? "" : "AT_FDCWD";
    const base = fdPath(dirfd) ?? (dirfd === "AT_FDCWD" ? this.cwds.get(c.pid) : undefined);
    if (base === undefined) return undefined;
    return name === "" ? base : this.resolve(base, name);
  }

  /**
   * What the trace could not show, one sentence each: accesses whose path
   * could not be told, an io_uring ring (its opens are no system calls).
   */
  notes(): string[] {
    const out: string[] = [], n = this.unnamed;
    if (n) {
      out.push(
        `${n} access${n === 1 ? "" : "es"} not checked: strace could not name the folder ` +
          "their path is relative to (a folder path longer than PATH_MAX?)",
      );
    }
    if (this.ioUring) {
      out.push(
        "uses io_uring: the files it opens, reads or writes through the ring are not traced, " +
          "so not checked",
      );
    }
    return out;
  }
}
