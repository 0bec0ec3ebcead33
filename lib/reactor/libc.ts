/**
 * The libc calls of the epoll reactor, the jobserver and inotify, bound
 * through Deno's FFI, or on Bun through `bun:ffi` (libc_bun.ts). Loaded
 * lazily: only what uses it pays for it.
 *
 * Sizes and offsets are glibc x86_64 (see ../shared/FACTS.md).
 *
 * @module
 */
import { addressOf, dlopenBun, readCString, readI32 } from "./libc_bun.ts";
import { deno, ffiPermitted, inheritedBytes, isBun } from "../runtime/mod.ts";
import { useMemchr } from "../runtime/bytes.ts";
import { decodeBytes, encodeBytes, RAW_BYTE } from "../runtime/utf8.ts";

/** The symbols used, with their C signatures. */
const SYMBOLS = {
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true },
  /** The same call on the JS thread, for a timeout of 0 (no thread hop). */
  epoll_wait_now: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  // ssize_t, taken as its low 32 bits: every read and write here is far under
  // 2 GiB, and an i32 comes back as a number where an isize is a BigInt.
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  syscall: { parameters: ["i64", "i64", "i64"], result: "i64" },
  waitid: { parameters: ["i32", "u32", "buffer", "i32"], result: "i32" },
  wait4: { parameters: ["i32", "buffer", "i32", "buffer"], result: "i32" },
  posix_spawnp: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  posix_spawnp_async: {
    name: "posix_spawnp",
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
    nonblocking: true,
  },
  /**
   * `poll(NULL, 0, ms)` on a helper thread: a sleep whose promise resolves
   * after `ms`, for the epoll reactor's spawn guard on Deno (the first
   * `setTimeout` of a Deno process loads its `node:timers`: 10-14 ms).
   */
  sleep_ms: {
    name: "poll",
    parameters: ["pointer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  posix_spawn_file_actions_init: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawn_file_actions_adddup2: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  posix_spawn_file_actions_addopen: {
    parameters: ["buffer", "i32", "buffer", "i32", "u32"],
    result: "i32",
  },
  posix_spawn_file_actions_addchdir_np: { parameters: ["buffer", "buffer"], result: "i32" },
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
  posix_spawnattr_setsigdefault: { parameters: ["buffer", "buffer"], result: "i32" },
  posix_spawnattr_setsigmask: { parameters: ["buffer", "buffer"], result: "i32" },
  posix_spawnattr_setpgroup: { parameters: ["buffer", "i32"], result: "i32" },
  sigfillset: { parameters: ["buffer"], result: "i32" },
  sigemptyset: { parameters: ["buffer"], result: "i32" },
  sigaddset: { parameters: ["buffer", "i32"], result: "i32" },
  sigprocmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  tcgetpgrp: { parameters: ["i32"], result: "i32" },
  tcsetpgrp: { parameters: ["i32", "i32"], result: "i32" },
  getpgrp: { parameters: [], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  inotify_init1: { parameters: ["i32"], result: "i32" },
  inotify_add_watch: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  inotify_rm_watch: { parameters: ["i32", "i32"], result: "i32" },
  memchr: { parameters: ["buffer", "i32", "usize"], result: "pointer" },
  getcwd: { parameters: ["buffer", "usize"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** Constants (Linux x86_64). */
export const C = {
  EPOLL_CTL_ADD: 1,
  EPOLL_CTL_DEL: 2,
  EPOLL_CTL_MOD: 3,
  EPOLLONESHOT: 0x40000000,
  EPOLLIN: 0x001,
  EPOLLOUT: 0x004,
  EPOLLHUP: 0x010,
  EPOLLERR: 0x008,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_PATH: 0o10000000,
  F_GETFD: 1,
  F_SETFD: 2,
  FD_CLOEXEC: 1,
  O_NONBLOCK: 0x800,
  O_CLOEXEC: 0x80000,
  F_GETFL: 3,
  F_SETFL: 4,
  F_SETPIPE_SZ: 1031,
  F_GETPIPE_SZ: 1032,
  EFD_CLOEXEC: 0x80000,
  EFD_NONBLOCK: 0x800,
  SYS_pidfd_open: 434,
  P_PID: 1,
  P_PIDFD: 3,
  WEXITED: 4,
  WNOWAIT: 0x01000000,
  WNOHANG: 1,
  SIZEOF_RUSAGE: 144,
  POSIX_SPAWN_SETPGROUP: 2,
  POSIX_SPAWN_SETSIGDEF: 4,
  POSIX_SPAWN_SETSIGMASK: 8,
  POSIX_SPAWN_SETSID: 128,
  CLD_EXITED: 1,
  CLD_KILLED: 2,
  CLD_DUMPED: 3,
  CLD_STOPPED: 5,
  WSTOPPED: 2,
  SIG_BLOCK: 0,
  SIG_SETMASK: 2,
  SIGTTIN: 21,
  SIGTTOU: 22,
  EAGAIN: 11,
  EPIPE: 32,
  EINTR: 4,
  SIZEOF_FILE_ACTIONS: 80,
  SIZEOF_SPAWNATTR: 336,
  SIZEOF_SIGSET: 128,
  SIZEOF_SIGINFO: 128,
  SIZEOF_EPOLL_EVENT: 12,
} as const;

/** The bound library (Deno's `DynamicLibrary`). */
// deno-lint-ignore no-explicit-any
export type Libc = { symbols: Record<keyof typeof SYMBOLS, (...args: any[]) => any> };

let lib: Libc | undefined;

/** Loads libc through FFI (once); throws when FFI is not permitted or not available. */
export function libc(): Libc {
  if (lib) return lib;
  if (isBun) return lib = dlopenBun("libc.so.6", SYMBOLS) as Libc;
  const D = deno();
  if (!D?.dlopen) throw new Error("FFI is not available in this runtime");
  lib = D.dlopen("libc.so.6", SYMBOLS) as Libc;
  return lib;
}

/** What `spawnTcsetpgrp` found: the function, or null (a libc without it). */
let tcsetpgrpAction: ((fa: Uint8Array, fd: number) => number) | null | undefined;

/**
 * glibc's `posix_spawn_file_actions_addtcsetpgrp_np` (2.35 and later): the child makes its own
 * group the foreground of terminal `fd` before its exec (all signals blocked then: no SIGTTOU),
 * as a shell's child does, so that it never reads the terminal before it has it. Undefined with
 * an older libc.
 */
export function spawnTcsetpgrp(): ((fa: Uint8Array, fd: number) => number) | undefined {
  if (tcsetpgrpAction === undefined) {
    const sym = {
      posix_spawn_file_actions_addtcsetpgrp_np: { parameters: ["buffer", "i32"], result: "i32" },
    } as const;
    try {
      // deno-lint-ignore no-explicit-any
      const l: { symbols: Record<string, (...a: any[]) => any> } = isBun
        ? dlopenBun("libc.so.6", sym)
        : deno()!.dlopen!("libc.so.6", sym);
      tcsetpgrpAction = l.symbols.posix_spawn_file_actions_addtcsetpgrp_np;
    } catch {
      tcsetpgrpAction = null;
    }
  }
  return tcsetpgrpAction ?? undefined;
}

/** errno's location on the JS thread (fixed for the thread: one per isolate). */
// deno-lint-ignore no-explicit-any
let errnoView: any;

/** The current errno. */
export function errno(): number {
  if (errnoView) return errnoView.getInt32(0);
  const p = libc().symbols.__errno_location();
  if (isBun) return readI32(p);
  const D = deno();
  errnoView = new D.UnsafePointerView(p);
  return errnoView.getInt32(0);
}

/** The message of an errno value. */
export function strerror(code: number): string {
  const p = libc().symbols.strerror(code);
  return isBun ? readCString(p) : deno().UnsafePointerView.getCString(p);
}

let memchrOk: boolean | undefined;

/**
 * libc's `memchr` for runtime/bytes.ts `indexOfByte` (its long spans), where
 * Deno permits FFI: the index of `byte` in `span`, or -1; undefined when it
 * cannot be had (Bun: its `indexOf` is fast already). Set when this module
 * loads, so the no-op path (which never splits output) loads no FFI for it.
 */
function memchrIndex(span: Uint8Array, byte: number): number | undefined {
  if (memchrOk === undefined) {
    try {
      memchrOk = !isBun && ffiPermitted() && !!libc();
    } catch {
      memchrOk = false;
    }
  }
  if (!memchrOk) return undefined;
  const D = deno();
  const p = libc().symbols.memchr(span, byte, span.length);
  if (p === null) return -1;
  return Number(D.UnsafePointer.value(p)) - Number(D.UnsafePointer.value(D.UnsafePointer.of(span)));
}
useMemchr(memchrIndex);

const enc = new TextEncoder();

/**
 * A NUL-terminated C string; a character that stands for a byte that is not UTF-8
 * (runtime/utf8.ts `decodeBytes`: an argument jx got, a script's text) is that byte.
 */
export function cstr(s: string): Uint8Array {
  return RAW_BYTE.test(s) ? encodeBytes(s + "\0") : enc.encode(s + "\0");
}

/** `NAME=VALUE` as a C string: the bytes jx inherited for a variable that is not UTF-8. */
function cstrEnv(entry: string): Uint8Array {
  const raw = inheritedBytes(entry);
  if (!raw) return cstr(entry);
  const b = new Uint8Array(raw.length + 1);
  b.set(raw);
  return b;
}

/**
 * Runs `use` with a name the runtime's file calls can open for `path`, a path
 * that may hold bytes that are not UTF-8 (a character of `decodeBytes` for
 * each: a script named `caf\xe9.sh`). Deno's `node:fs` and `Deno` calls
 * encode a name as UTF-8, so such a byte would become another file's: the
 * path is opened here by its bytes (O_PATH, which reads nothing and opens a
 * folder too) and `use` gets `/proc/self/fd/N`, which opens the same file.
 * A path that is UTF-8 is passed as it is. Throws an `Error` with the errno's
 * `code` ("ENOENT"...) when the path cannot be opened, or `code`
 * "ENOSYS" when libc cannot be called (Deno without `--allow-ffi`).
 *
 * @example
 * ```ts
 * import { withBytePath } from "./libc.ts";
 * import { readFileSync } from "node:fs";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * // `caf` and the byte 0xe9 (Latin-1's é): a name Deno cannot write, made by a shell.
 * const sh = `printf 'echo hi\\n' > "$(printf '${dir}/caf\\351.sh')"`;
 * new Deno.Command("sh", { args: ["-c", sh] }).outputSync();
 * const text = withBytePath(`${dir}/caf\u{10ffe9}.sh`, (p) => readFileSync(p, "utf8"));
 * assertEquals(text, "echo hi\n");
 * ```
 */
export function withBytePath<T>(path: string, use: (path: string) => T): T {
  if (!RAW_BYTE.test(path)) return use(path);
  let s: Libc["symbols"];
  try {
    if (!isBun && !ffiPermitted()) throw new Error("FFI is not permitted");
    s = libc().symbols;
  } catch (e) {
    const why = Object.assign(new Error(`cannot open a name that is not UTF-8 (${e})`), {
      code: "ENOSYS",
    });
    throw why;
  }
  const fd: number = s.open(cstr(path), C.O_PATH | C.O_CLOEXEC, 0);
  if (fd < 0) {
    const code = errno();
    throw Object.assign(new Error(strerror(code)), { code: ERRNO_NAMES[code] ?? `E${code}` });
  }
  try {
    return use(`/proc/self/fd/${fd}`);
  } finally {
    s.close(fd);
  }
}

/**
 * The current folder as its bytes (`decodeBytes`: one that is not UTF-8, `/tmp/caf\xe9`,
 * which Deno's `cwd()` refuses and Bun's gives with U+FFFD, keeps them), through libc's
 * `getcwd`; undefined when libc cannot be called or the call fails.
 *
 * @example
 * ```ts
 * import { rawCwd } from "./libc.ts";
 * import { strictEqual } from "node:assert";
 * strictEqual(rawCwd(), Deno.cwd());
 * ```
 */
export function rawCwd(): string | undefined {
  try {
    if (!isBun && !ffiPermitted()) return undefined;
    const buf = new Uint8Array(4097);
    const p = libc().symbols.getcwd(buf, buf.length);
    if (p === null || p === 0) return undefined;
    return decodeBytes(buf.subarray(0, buf.indexOf(0)));
  } catch {
    return undefined;
  }
}

/** The names of the errno values an open of a path may give (Linux). */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  13: "EACCES",
  20: "ENOTDIR",
  36: "ENAMETOOLONG",
  40: "ELOOP",
};

/** A NULL-terminated array of C strings; keep the returned `keep` alive while it is used. */
export function cstrArray(
  items: string[],
  encode = cstr,
): { ptrs: BigUint64Array; keep: Uint8Array[] } {
  const keep = items.map((s) => encode(s));
  const ptrs = new BigUint64Array(items.length + 1);
  keep.forEach((b, i) => ptrs[i] = BigInt(bufferAddress(b)));
  return { ptrs, keep };
}

/**
 * The address of a buffer's first byte (for arrays of pointers), through
 * Deno's or Bun's FFI.
 *
 * @example
 * ```ts
 * import { bufferAddress } from "./libc.ts";
 * if (!(bufferAddress(new Uint8Array(8)) > 0)) throw new Error("no address");
 * ```
 */
export function bufferAddress(b: Uint8Array): number {
  if (isBun) return Number(addressOf(b));
  const D = deno();
  return Number(D.UnsafePointer.value(D.UnsafePointer.of(b)));
}

/**
 * Initialized `posix_spawnattr_t` bytes for a child in a new session and
 * process group (`groupOnly`: a new process group in jx's session), every
 * signal at its default disposition, an empty mask.
 */
export function sessionSpawnAttr(groupOnly = false): Uint8Array {
  const s = libc().symbols;
  const attr = new Uint8Array(C.SIZEOF_SPAWNATTR);
  const sigs = new Uint8Array(C.SIZEOF_SIGSET);
  s.posix_spawnattr_init(attr);
  if (groupOnly) s.posix_spawnattr_setpgroup(attr, 0);
  s.posix_spawnattr_setflags(
    attr,
    (groupOnly ? C.POSIX_SPAWN_SETPGROUP : C.POSIX_SPAWN_SETSID) | C.POSIX_SPAWN_SETSIGDEF |
      C.POSIX_SPAWN_SETSIGMASK,
  );
  s.sigfillset(sigs);
  s.posix_spawnattr_setsigdefault(attr, sigs);
  s.sigemptyset(sigs);
  s.posix_spawnattr_setsigmask(attr, sigs);
  return attr;
}

/** What `spawnInSession` calls in flight read: kept alive until each has returned. */
const inFlight = new Set<unknown[]>();

/**
 * `posix_spawnp` of `argv` with `env`, on a helper thread on Deno (the JS event
 * loop goes on meanwhile), on the JS thread on Bun: the child in a new session and process
 * group, every signal at its default disposition, an empty signal mask (Deno
 * ignores SIGPIPE, which children must not inherit). `fileActions` adds to
 * the file actions (initialized) and returns the buffers they use, kept
 * alive until the call has returned. `groupOnly`: a new process group in
 * jx's session (which keeps jx's controlling terminal) instead of a new
 * session. Resolves to the call's error number (0 when the child started)
 * and the child's pid.
 */
export async function spawnInSession(
  argv: string[],
  env: Record<string, string>,
  fileActions: (fa: Uint8Array) => unknown[] = () => [],
  groupOnly = false,
): Promise<{ err: number; pid: number }> {
  const s = libc().symbols;
  const fa = new Uint8Array(C.SIZEOF_FILE_ACTIONS);
  const pidOut = new Int32Array(1);
  s.posix_spawn_file_actions_init(fa);
  const attr = sessionSpawnAttr(groupOnly);
  const kept = fileActions(fa);
  const cargv = cstrArray(argv);
  const envp = cstrArray(Object.entries(env).map(([k, v]) => `${k}=${v}`), cstrEnv);
  const file = cstr(argv[0]);
  // Held by a set, not by a bare `void [...]` after the call (Bun's transpiler drops that).
  const held = [kept, cargv.keep, envp.keep, file];
  inFlight.add(held);
  let err: number;
  try {
    err = isBun
      ? s.posix_spawnp(pidOut, file, fa, attr, cargv.ptrs, envp.ptrs) // Bun: no thread hop
      : await s.posix_spawnp_async(pidOut, file, fa, attr, cargv.ptrs, envp.ptrs);
  } finally {
    inFlight.delete(held);
    s.posix_spawn_file_actions_destroy(fa);
    s.posix_spawnattr_destroy(attr);
  }
  return { err, pid: err === 0 ? pidOut[0] : 0 };
}
