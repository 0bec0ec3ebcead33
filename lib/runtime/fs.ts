/**
 * The few synchronous file and process calls that jx's fast paths need,
 * without `node:` imports on Deno: loading Deno's Node compatibility costs
 * about 25 ms of startup, as much as a whole no-op of ninja. On Deno these
 * are `Deno.*` calls; on Bun libc's where runtime/bun_fs.ts has them (a
 * stat, a whole read), else (and for what Deno has no call for) `node:fs`,
 * fetched with `process.getBuiltinModule` on first use.
 *
 * @module
 */
import { fileType, isRegular, readFileBytes, statMode } from "./bun_fs.ts";
import { utf8Decoder } from "./utf8.ts";
import { addNotUtf8 } from "./environ.ts";
import { JxInputError } from "./errors.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
// deno-lint-ignore no-explicit-any
const D: any = typeof g.Deno !== "undefined" && typeof g.Bun === "undefined" ? g.Deno : undefined;

/**
 * `node:fs`, loaded on first use.
 *
 * @example
 * ```ts
 * import { nodeFs } from "./fs.ts";
 * nodeFs().writeSync(2, "hello\n");
 * ```
 */
export function nodeFs(): typeof import("node:fs") {
  return g.process.getBuiltinModule("node:fs");
}

/**
 * A whole file as text (throws when it cannot be read).
 *
 * @example
 * ```ts
 * import { readTextSync } from "./fs.ts";
 * readTextSync("/etc/hostname");
 * ```
 */
export function readTextSync(path: string): string {
  if (!D) return nodeFs().readFileSync(path, "utf8");
  // Read as bytes then decoded (as `readTextFileSync` would, a BOM kept): `readTextFileSync`
  // takes 7 ms a megabyte here, this 0.3 plus 3 to decode.
  return utf8Decoder.decode(readDeno(path));
}

/**
 * A whole regular file as text (`readTextSync`); anything else that exists
 * (a FIFO, which would wait for a writer; a device such as /dev/zero,
 * which never ends; a folder) throws "not a regular file" first, unread.
 *
 * @example
 * ```ts
 * import { readRegularText } from "./fs.ts";
 * import { throws } from "node:assert/strict";
 * throws(() => readRegularText("/dev/zero"), /not a regular file/);
 * ```
 */
export function readRegularText(path: string): string {
  // A regular file (the usual case) costs one stat; an absent one is readTextSync's error.
  if (!isFileSync(path) && existsSync(path)) {
    throw new Error("not a regular file (a FIFO, a device or a folder is not read)");
  }
  return readTextSync(path);
}

/** `readRegularText`'s bytes: a regular file's, or its error. */
export function readRegularBytes(path: string): Uint8Array<ArrayBuffer> {
  if (!isFileSync(path) && existsSync(path)) {
    throw new Error("not a regular file (a FIFO, a device or a folder is not read)");
  }
  return readBytesSync(path);
}

/**
 * A Deno file error worded as `node:fs` words its own (`EISDIR: is a
 * directory, open 'x'` for `Is a directory (os error 21): open 'x'`):
 * a message names the error code first on both runtimes.
 */
function nodeWorded(e: unknown): unknown {
  const err = e as { code?: unknown; message?: unknown } | undefined;
  const m = typeof err?.message === "string" &&
    /^(.+?) \(os error \d+\)(?:: (\w+) '(.*)')?$/.exec(err.message);
  if (m && typeof err!.code === "string") {
    const what = m[1][0].toLowerCase() + m[1].slice(1);
    try {
      err!.message = `${err!.code}: ${what}${m[2] ? `, ${m[2]} '${m[3]}'` : ""}`;
    } catch { /* a message that cannot be changed stays as it is */ }
  }
  return e;
}

/**
 * A whole file as bytes (throws when it cannot be read).
 *
 * @example
 * ```ts
 * import { readBytesSync } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const path = `${Deno.makeTempDirSync()}/x`;
 * Deno.writeTextFileSync(path, "ab");
 * assertEquals([...readBytesSync(path)], [97, 98]);
 * ```
 */
export function readBytesSync(path: string, max = Infinity): Uint8Array<ArrayBuffer> {
  if (D) return readDeno(path, max);
  const bytes = readFileBytes(path, max) ?? nodeFs().readFileSync(path);
  if (bytes.length > max) throw tooLarge(path, max);
  return bytes;
}

/** The error of a file (or pipe) longer than `max` bytes: EFBIG, as the kernel says it. */
function tooLarge(path: string, max: number): Error {
  return Object.assign(new Error(`EFBIG: file too large (over ${max} bytes), read '${path}'`), {
    code: "EFBIG",
    path,
  });
}

/**
 * A whole file through `Deno.openSync` and `readSync` into one buffer of
 * its size: `Deno.readFileSync` of a 1 MB file takes 6-8 ms here, this 0.5
 * (bench/RESULTS.md). A file that grows meanwhile is read to its end.
 */
function readDeno(path: string, max = Infinity): Uint8Array<ArrayBuffer> {
  let f;
  try {
    f = D.openSync(path);
  } catch (e) {
    throw nodeWorded(e);
  }
  try {
    // One byte more than its size: the read that fills less ends it, with no read past (a
    // file of /proc says 0: a page, not one byte doubled a dozen times).
    let buf = new Uint8Array((f.statSync().size || 4095) + 1), n = 0;
    for (;;) {
      if (n === buf.length) {
        const more = new Uint8Array(buf.length * 2);
        more.set(buf);
        buf = more;
      }
      const got: number | null = f.readSync(buf.subarray(n));
      if (!got) return buf.subarray(0, n);
      n += got;
      if (n > max) throw tooLarge(path, max); // a pipe that never ends (`<(yes)`)
    }
  } catch (e) {
    throw nodeWorded(e);
  } finally {
    f.close();
  }
}

/**
 * Writes a whole file (created or truncated).
 *
 * @example
 * ```ts
 * import { writeTextSync } from "./fs.ts";
 * writeTextSync("/tmp/x.txt", "x\n");
 * ```
 */
export function writeTextSync(path: string, text: string): void {
  if (D) D.writeTextFileSync(path, text);
  else nodeFs().writeFileSync(path, text);
}

/**
 * Writes a whole file of bytes (created or truncated), given as one piece or
 * as pieces written one after the other (no copy to join them); a file it
 * creates is mode 0644 whatever the umask (jx's own files are not others' to write).
 *
 * @example
 * ```ts
 * import { writeBytesSync } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const path = `${Deno.makeTempDirSync()}/x.bin`;
 * writeBytesSync(path, [new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3])]);
 * assertEquals([...Deno.readFileSync(path)], [1, 2, 3]);
 * ```
 */
export function writeBytesSync(path: string, bytes: Uint8Array | Uint8Array[]): void {
  const pieces = Array.isArray(bytes) ? bytes : [bytes];
  if (D) {
    if (pieces.length === 1) return D.writeFileSync(path, pieces[0], { mode: 0o644 });
    const f = D.openSync(path, { write: true, create: true, truncate: true, mode: 0o644 });
    try {
      for (const piece of pieces) {
        for (let off = 0; off < piece.length;) off += f.writeSync(piece.subarray(off));
      }
    } finally {
      f.close();
    }
    return;
  }
  const fs = nodeFs();
  if (pieces.length === 1) return fs.writeFileSync(path, pieces[0], { mode: 0o644 });
  const fd = fs.openSync(path, "w", 0o644);
  try {
    for (const piece of pieces) {
      for (let off = 0; off < piece.length;) off += fs.writeSync(fd, piece, off);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Creates `path` (mode 0644 whatever the umask) holding `text` only if it does not exist: false
 * when it does.
 *
 * @example
 * ```ts
 * import { createNewSync } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const lock = `${Deno.makeTempDirSync()}/x.lock`;
 * assertEquals(createNewSync(lock, "123"), true);
 * assertEquals(createNewSync(lock, "456"), false);
 * assertEquals(Deno.readTextFileSync(lock), "123");
 * ```
 */
export function createNewSync(path: string, text: string): boolean {
  if (D) {
    try {
      D.writeTextFileSync(path, text, { createNew: true, mode: 0o644 });
      return true;
    } catch (e) {
      if (e instanceof D.errors.AlreadyExists) return false;
      throw e;
    }
  }
  const fs = nodeFs();
  let fd: number;
  try {
    fd = fs.openSync(path, "wx", 0o644);
  } catch (e) {
    if ((e as { code?: string }).code === "EEXIST") return false;
    throw e;
  }
  fs.writeSync(fd, text);
  fs.closeSync(fd);
  return true;
}

/**
 * Renames (atomically, within one file system).
 *
 * @example
 * ```ts
 * import { renameSync } from "./fs.ts";
 * import { strictEqual } from "node:assert";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/x.tmp`, "new");
 * renameSync(`${dir}/x.tmp`, `${dir}/x`);
 * strictEqual(Deno.readTextFileSync(`${dir}/x`), "new");
 * ```
 */
export function renameSync(from: string, to: string): void {
  if (D) D.renameSync(from, to);
  else nodeFs().renameSync(from, to);
}

/**
 * Removes a file (throws when it is not there).
 *
 * @example
 * ```ts
 * import { removeSync } from "./fs.ts";
 * try { removeSync("/tmp/x"); } catch { /* not there *\/ }
 * ```
 */
export function removeSync(path: string): void {
  if (D) D.removeSync(path);
  else nodeFs().unlinkSync(path);
}

/**
 * Makes a directory and its parents, if missing, new ones with `mode` (as
 * `mkdir -p -m`, umask applied).
 *
 * @example
 * ```ts
 * import { mkdirpSync } from "./fs.ts";
 * mkdirpSync("/tmp/a/b");
 * ```
 */
export function mkdirpSync(path: string, mode = 0o777): void {
  if (D) D.mkdirSync(path, { recursive: true, mode });
  else nodeFs().mkdirSync(path, { recursive: true, mode });
}

/** What `.jx/.gitignore` holds (`stateDirSync`). */
const STATE_GITIGNORE = "# jx's own state and caches: nothing here is the project's\n*\n";

/**
 * Makes jx's own folder `dir` (`.jx/`) as `mkdirpSync` does, with a
 * `.gitignore` that ignores all of it (as pytest's and ruff's caches have),
 * so that `git add -A` never takes jx's state; one there is left as it is.
 *
 * @example
 * ```ts
 * import { stateDirSync } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = `${Deno.makeTempDirSync()}/.jx`;
 * stateDirSync(dir);
 * assertEquals(Deno.readTextFileSync(`${dir}/.gitignore`).split("\n").at(-2), "*");
 * ```
 */
export function stateDirSync(dir: string, mode = 0o777): void {
  mkdirpSync(dir, mode);
  ignoreStateDir(dir);
}

/**
 * Writes `dir/.gitignore` (`stateDirSync`) unless there is one: for a `.jx/`
 * an older jx made. On Bun it loads `node:fs`: not for a no-op run.
 */
export function ignoreStateDir(dir: string): void {
  try {
    createNewSync(`${dir}/.gitignore`, STATE_GITIGNORE);
  } catch { /* not writable (checked where the state is written), or not a folder */ }
}

/**
 * Whether `path` is a regular file (following symlinks).
 *
 * @example
 * ```ts
 * import { isFileSync } from "./fs.ts";
 * isFileSync("jobs.yaml");
 * ```
 */
export function isFileSync(path: string): boolean {
  try {
    if (D) return D.statSync(path).isFile;
    const st = statMode(path, true); // Bun: without loading node:fs
    if (st !== undefined) return st !== null && isRegular(st.mode);
    return nodeFs().statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Whether `path` is a character or block device (following symlinks): `/dev/zero` never ends.
 *
 * @example
 * ```ts
 * import { isDeviceSync } from "./fs.ts";
 * import { strictEqual } from "node:assert";
 * strictEqual(isDeviceSync("/dev/null"), true);
 * strictEqual(isDeviceSync("/tmp"), false);
 * ```
 */
export function isDeviceSync(path: string): boolean {
  try {
    if (D) {
      const st = D.statSync(path);
      return !!(st.isCharDevice || st.isBlockDevice);
    }
    const st = statMode(path, true);
    if (st === null) return false;
    const type = (st?.mode ?? nodeFs().statSync(path).mode) & 0o170000;
    return type === 0o020000 || type === 0o060000;
  } catch {
    return false;
  }
}

/**
 * Whether `path` is a directory (following symlinks).
 *
 * @example
 * ```ts
 * import { isDirSync } from "./fs.ts";
 * isDirSync("/tmp");
 * ```
 */
export function isDirSync(path: string): boolean {
  try {
    if (D) return D.statSync(path).isDirectory;
    const st = statMode(path, true); // Bun: without loading node:fs
    if (st !== undefined) return st !== null && fileType(st.mode) === "dir";
    return nodeFs().statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Whether `path` exists (anything, following symlinks).
 *
 * @example
 * ```ts
 * import { existsSync } from "./fs.ts";
 * existsSync("/proc/1");
 * ```
 */
export function existsSync(path: string): boolean {
  try {
    if (D) D.statSync(path);
    else nodeFs().statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * This process's id.
 *
 * @example
 * ```ts
 * import { pid } from "./fs.ts";
 * console.log(pid());
 * ```
 */
export function pid(): number {
  return D ? D.pid : g.process.pid;
}

/**
 * This process's parent's id.
 *
 * @example
 * ```ts
 * import { parentPid } from "./fs.ts";
 * console.log(parentPid());
 * ```
 */
export function parentPid(): number {
  return D ? D.ppid : g.process.ppid;
}

/**
 * `kill(pid, signal)`: a signal's name (`SIGTERM`) or 0 (only whether the
 * process or group, `pid` < 0, exists and may be signalled). Throws as
 * `node:process` does: an error whose `code` is `ESRCH`, `EPERM`...
 *
 * @example
 * ```ts
 * import { pid, sendSignal } from "./fs.ts";
 * import { throws } from "node:assert/strict";
 * // 0: whether it is there (this process is)
 * sendSignal(pid(), 0);
 * throws(() => sendSignal(2 ** 22 + 1, 0), (e: { code?: string }) => e.code === "ESRCH");
 * ```
 */
export function sendSignal(pid: number, signal: string | 0): void {
  if (!D) return void g.process.kill(pid, signal);
  try {
    D.kill(pid, signal);
  } catch (e) {
    // Deno says which errno in its message ("ESRCH: No such process").
    const code = /^(E[A-Z]+):/.exec(String((e as Error | undefined)?.message))?.[1];
    if (code && typeof e === "object" && e !== null) (e as { code?: string }).code = code;
    throw e;
  }
}

/**
 * One variable of this process's environment (no copy of the whole
 * environment, which `envObject` makes on Deno: ~20 us each time).
 *
 * @example
 * ```ts
 * import { envVar } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(envVar("JX_SURELY_NOT_SET_ANYWHERE"), undefined);
 * assertEquals(envVar("constructor"), undefined); // unset, on every runtime
 * ```
 */
export function envVar(name: string): string | undefined {
  if (!D) {
    // Its own variables only: Bun's `process.env.constructor` (`toString`, `__proto__`...) is
    // its prototype's, a function or an object that no variable of that name set.
    const env = g.process.env;
    return Object.hasOwn(env, name) ? env[name] : undefined;
  }
  try {
    return D.env.get(name);
  } catch {
    return undefined; // a name no variable can have ("", "A=B"): Deno throws, Node says unset
  }
}

/**
 * Sets variables in this process's environment (what its children inherit
 * and `envObject` gives from then on).
 *
 * @example
 * ```ts
 * import { envObject, setEnv } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * setEnv({ JX_DOC_EXAMPLE: "1" });
 * assertEquals(envObject().JX_DOC_EXAMPLE, "1");
 * ```
 */
export function setEnv(vars: Record<string, string>): void {
  if (!D) Object.assign(g.process.env, vars);
  else for (const [k, v] of Object.entries(vars)) D.env.set(k, v);
}

let knownUmask: number | undefined;

/**
 * The process's umask, read where reading it changes nothing (`Umask:` in
 * /proc/self/status): `process.umask()` sets it to 0 and back, and a file
 * another thread creates meanwhile would be made writable by everyone.
 * Without /proc, 022.
 *
 * @example
 * ```ts
 * import { umask } from "./fs.ts";
 * if ((umask() & ~0o777) !== 0) throw new Error("a umask is 9 bits");
 * ```
 */
export function umask(): number {
  if (knownUmask !== undefined) return knownUmask;
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readTextSync("/proc/self/status"));
    knownUmask = m ? parseInt(m[1], 8) & 0o777 : 0o022;
  } catch {
    knownUmask = 0o022;
  }
  return knownUmask;
}

/**
 * Node's `process` (Bun's own global): on Deno its first use sets up the
 * Node compatibility, ~30 ms, so only for what has no other way.
 */
export function nodeProcess(): typeof import("node:process") {
  return g.process;
}

/**
 * Runs `argv` to its end before returning, its output dropped: its exit code, or undefined when
 * it could not start or was killed after `timeoutMs`. For the rare step that must be done
 * before jx goes on (a Ctrl-Z stops jx right after); everything else runs through a reactor.
 *
 * @example
 * ```ts
 * import { runSync } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(runSync(["/bin/sh", "-c", "exit 3"], {}, 5000), 3);
 * assertEquals(runSync(["/no/such/tool"], {}, 5000), undefined);
 * ```
 */
export function runSync(
  argv: string[],
  env: Record<string, string>,
  timeoutMs: number,
): number | undefined {
  const cp = nodeProcess().getBuiltinModule(
    "node:child_process",
  ) as typeof import("node:child_process");
  const r = cp.spawnSync(argv[0], argv.slice(1), {
    env: Object.keys(env).length ? env : undefined,
    stdio: "ignore",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  return r.error || r.status === null ? undefined : r.status;
}

/**
 * The current directory. One whose path is not UTF-8 (`/tmp/caf\xe9`) is
 * refused with one line (exit 2): Deno's call throws on it, and Bun's puts
 * U+FFFD in place of the byte, the name of another folder (where the jobs
 * file lookup went on upward and ran a parent's jobs). `jx sh` reads such a
 * folder's bytes through libc instead (cli/main.ts `shCwd`).
 *
 * @example
 * ```ts
 * import { cwd } from "./fs.ts";
 * console.log(cwd());
 * ```
 */
export function cwd(): string {
  let here: string;
  try {
    here = D ? D.cwd() : g.process.cwd();
  } catch (e) {
    if (!/not valid UTF-8/.test(String((e as Error)?.message))) throw e;
    throw notUtf8Cwd();
  }
  if (!D && here.includes("\uFFFD") && !isHere(here)) throw notUtf8Cwd();
  return here;
}

const notUtf8Cwd = () =>
  new JxInputError(
    "the current folder's path is not UTF-8: jx reads and writes a project's paths as text " +
      "(run it from a folder whose path is, or rename this one; `jx sh` runs here)",
  );

/** Whether `path` is the current folder (Bun: a `cwd()` holding U+FFFD may name another). */
function isHere(path: string): boolean {
  const fs = nodeFs();
  const a = fs.statSync(path, { throwIfNoEntry: false }), b = fs.statSync(".");
  return a !== undefined && a.ino === b.ino && a.dev === b.dev;
}

/**
 * The environment, as an object.
 *
 * @example
 * ```ts
 * import { envObject } from "./fs.ts";
 * envObject().HOME;
 * ```
 */
export function envObject(): Record<string, string | undefined> {
  if (!D) return g.process.env;
  const env = D.env.toObject();
  addNotUtf8(env); // Deno leaves out what is not UTF-8
  return env;
}

/**
 * Logical CPUs (what `-j` defaults to).
 *
 * @example
 * ```ts
 * import { cpuCount } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const n = cpuCount();
 * assertEquals(Number.isInteger(n) && n >= 1, true);
 * ```
 */
export function cpuCount(): number {
  return g.navigator?.hardwareConcurrency || 1;
}

/**
 * `path` made absolute against `base` (default: the current directory),
 * with `.`, `..` and repeated slashes resolved.
 *
 * @example
 * ```ts
 * import { absolutePath } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(absolutePath("b/../c", "/a"), "/a/c");
 * ```
 */
export function absolutePath(path: string, base: string = cwd()): string {
  const parts: string[] = [];
  for (const p of (path.startsWith("/") ? path : `${base}/${path}`).split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return "/" + parts.join("/");
}

/**
 * The directory part of an absolute path.
 *
 * @example
 * ```ts
 * import { parentDir } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(parentDir("/a/b/jobs.yaml"), "/a/b");
 * ```
 */
export function parentDir(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/**
 * Paths that name a descriptor, not a file in a folder: `/dev/stdin`, `/dev/fd/N` (bash's
 * `<(cmd)`), `/proc/self/fd/N`.
 */
const DESCRIPTOR_PATH = /^\/(?:dev\/(?:stdin|fd\/\d+)|proc\/(?:self|thread-self|\d+)\/fd\/\d+)$/;

/**
 * `file` with its folder as the system finds it, when that differs from what the text says (a
 * symbolic link on the way: `-f lp/jobs.yaml` with `lp` a link to `p`; a link then `..`:
 * `l/../jobs.yaml` is the file in the folder above the link's target, which the text alone takes
 * for `./jobs.yaml`; given relative, it stays relative when it is below the current folder), else
 * `file` as it is. The folder is where the jobs run and the state is
 * kept: one spelling of it per folder, or each would run the jobs again (their working directory
 * is in their fingerprint). A folder that is not there, or a descriptor (`/dev/fd/63`), as is.
 *
 * @example
 * ```ts
 * import { physicalFile } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.realPathSync(Deno.makeTempDirSync());
 * Deno.mkdirSync(`${dir}/p/sub`, { recursive: true });
 * Deno.symlinkSync("p/sub", `${dir}/l`);
 * assertEquals(physicalFile(`${dir}/l/../jobs.yaml`), `${dir}/p/jobs.yaml`);
 * assertEquals(physicalFile(`${dir}/p/jobs.yaml`), `${dir}/p/jobs.yaml`);
 * assertEquals(physicalFile("jobs.yaml"), "jobs.yaml");
 * assertEquals(physicalFile(`${dir}/none/jobs.yaml`), `${dir}/none/jobs.yaml`);
 * ```
 */
export function physicalFile(file: string): string {
  const cut = file.lastIndexOf("/");
  if (cut < 0 || DESCRIPTOR_PATH.test(absolutePath(file))) return file;
  const dir = file.slice(0, cut) || "/";
  let real: string;
  try {
    real = D ? D.realPathSync(dir) : nodeFs().realpathSync(dir);
  } catch {
    return file;
  }
  // (One that is not UTF-8 comes back with U+FFFD, the name of no folder: the text is kept.)
  if (real === absolutePath(dir) || real.includes("\uFFFD")) return file;
  const abs = `${real === "/" ? "" : real}/${file.slice(cut + 1)}`;
  // Relative as given: from the current folder when it is below it (`p/jobs.yaml` in messages).
  const here = file.startsWith("/") ? undefined : cwd();
  return here && abs.startsWith(`${here}/`) ? abs.slice(here.length + 1) : abs;
}

/**
 * The project folder of a jobs file: the folder its paths are relative to, and where its `.jx/`
 * is. That is the file's own folder, but for a path that names a descriptor (`-f /dev/stdin`,
 * `-f <(gen-jobs)`, which bash passes as `/dev/fd/63`): such a file has no folder of its own
 * (`/dev` is no project's), so it is the current directory, as `make -f -` runs there.
 *
 * @example
 * ```ts
 * import { cwd, projectDir } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(projectDir("/a/b/jobs.yaml"), "/a/b");
 * assertEquals(projectDir("/dev/fd/63"), cwd());
 * assertEquals(projectDir("/dev/stdin"), cwd());
 * ```
 */
export function projectDir(file: string): string {
  const abs = absolutePath(file);
  return DESCRIPTOR_PATH.test(abs) ? cwd() : parentDir(abs);
}

/**
 * Whether a path names a descriptor (`/dev/stdin`, `/dev/fd/63`, `/proc/self/fd/0`) rather than a
 * file in a folder: see `projectDir`.
 *
 * @example
 * ```ts
 * import { namesDescriptor } from "./fs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(namesDescriptor("/dev/fd/63"), true);
 * assertEquals(namesDescriptor("/dev/shm/jobs.yaml"), false);
 * ```
 */
export function namesDescriptor(path: string): boolean {
  return DESCRIPTOR_PATH.test(absolutePath(path));
}

/**
 * Whether there is anything at `path` itself (`lstat`: a link to nothing too).
 *
 * @example
 * ```ts
 * import { isThereSync } from "./fs.ts";
 * import { strictEqual } from "node:assert";
 * const dir = Deno.makeTempDirSync();
 * Deno.symlinkSync("nowhere", `${dir}/link`);
 * strictEqual(isThereSync(`${dir}/link`), true);
 * strictEqual(isThereSync(`${dir}/nothing`), false);
 * ```
 */
export function isThereSync(path: string): boolean {
  try {
    if (D) return D.lstatSync(path), true;
    const st = statMode(path, false); // Bun: without loading node:fs
    if (st !== undefined) return st !== null;
    return nodeFs().lstatSync(path), true;
  } catch {
    return false;
  }
}

/** The names a jobs file is looked for under, in order. */
export const JOBS_FILE_NAMES = ["jobs.yaml", "jobs.yml"];

/**
 * The jobs file of a folder: `jobs.yaml`, then `jobs.yml`, in `dir`, else in
 * the nearest parent folder that has one (as just and go-task look). The
 * path is relative to `dir` (`jobs.yaml`, `../../jobs.yml`), so that
 * messages stay short; undefined when no folder up to `/` has one. A folder
 * that holds something else of one of the names (a folder `jobs.yaml/`, a
 * link to nothing, a pipe) and no file of the other ends the search too:
 * that name is returned, and reading it says what it is, as with `-f`
 * (never the jobs file of a parent instead).
 *
 * @example
 * ```ts
 * import { findJobsFileUp } from "./fs.ts";
 * import { strictEqual } from "node:assert";
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/a/b`, { recursive: true });
 * Deno.writeTextFileSync(`${dir}/jobs.yml`, "jobs: {}\n");
 * strictEqual(findJobsFileUp(`${dir}/a/b`), "../../jobs.yml");
 * strictEqual(findJobsFileUp(dir), "jobs.yml");
 * ```
 */
export function findJobsFileUp(dir: string): string | undefined {
  let abs = dir.startsWith("/") ? dir : `${cwd()}/${dir}`;
  for (let up = "";; up += "../") {
    for (const name of JOBS_FILE_NAMES) if (isFileSync(`${abs}/${name}`)) return up + name;
    const other = JOBS_FILE_NAMES.find((name) => isThereSync(`${abs}/${name}`));
    if (other) return up + other;
    const parent = abs.replace(/\/+[^/]*\/*$/, "");
    if (parent === abs || abs === "/" || abs === "") return undefined;
    abs = parent || "/";
  }
}
