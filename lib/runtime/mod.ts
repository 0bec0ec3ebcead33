/**
 * The few places where Deno and Bun differ, behind one door.
 *
 * @module
 */
import { nodeFs } from "./fs.ts";
import { bunLibc } from "./libc_bun.ts";
import { readFileBytes, writeBytes } from "./bun_fs.ts";
import { decodeBytes } from "./utf8.ts";
import { dieOf, dyingOf } from "./die.ts";
import { WriteError } from "./errors.ts";
import { ignoredAtStart } from "./ignored.ts";

export * from "./fs.ts";
export { dieAtExit } from "./die.ts";
export { escapeControls } from "./controls.ts";
export { inheritedBytes } from "./environ.ts";
export { ignoredAtStart } from "./ignored.ts";
export { preloadBunFfi } from "./libc_bun.ts";
export { WriteError } from "./errors.ts";

/** The shape of the `Deno` global this project uses (typed by Deno itself when present). */
// deno-lint-ignore no-explicit-any
type AnyGlobal = any;
const g = globalThis as AnyGlobal;

/** True when running under Bun. */
export const isBun: boolean = typeof g.Bun !== "undefined";
/** True when running under Deno. */
export const isDeno: boolean = typeof g.Deno !== "undefined" && !isBun;

/**
 * The command-line arguments after the script (`Deno.args`, or `process.argv` less two). Both
 * runtimes decode them with U+FFFD for each byte that is not UTF-8, so `caf\xe9` and `caf\xe8`
 * were one word, and a command given it got other bytes: such a word is read again from
 * `/proc/self/cmdline` (the last words there are these) and decoded by `decodeBytes`, which keeps
 * each such byte as a character of its own that a spawn writes back as the byte.
 */
export function scriptArgs(): string[] {
  const args: string[] = isDeno ? g.Deno.args : g.process.argv.slice(2);
  return args.some((a) => a.includes("\uFFFD")) ? withRawBytes(args) : args;
}

function withRawBytes(args: string[]): string[] {
  let words: Uint8Array[];
  try {
    const b: Uint8Array | undefined = isDeno
      ? g.Deno.readFileSync("/proc/self/cmdline")
      : readFileBytes("/proc/self/cmdline");
    if (!b) return args;
    words = [];
    for (let at = 0, end; at < b.length; at = end + 1) {
      end = b.indexOf(0, at);
      if (end < 0) end = b.length;
      words.push(b.subarray(at, end));
    }
  } catch {
    return args;
  }
  const skip = words.length - args.length;
  if (skip < 0) return args;
  const lossy = new TextDecoder("utf-8", { ignoreBOM: true });
  return args.map((a, i) => {
    const raw = words[skip + i];
    return a.includes("\uFFFD") && lossy.decode(raw) === a ? decodeBytes(raw) : a;
  });
}

/** `linux/x64`: the platform and CPU in Node's names (`process.platform`/`process.arch`). */
export function platformArch(): string {
  return `${g.process.platform}/${g.process.arch}`;
}

/** `deno 2.9.6` or `bun 1.4.4`. */
export function runtimeName(): string {
  if (isBun) return `bun ${g.Bun.version}`;
  if (isDeno) return `deno ${g.Deno.version.deno}`;
  return `node ${g.process?.version}`;
}

/**
 * The operating system: `linux`, `darwin`...
 *
 * @example
 * ```ts
 * import { osName } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(osName(), "linux");
 * ```
 */
export function osName(): string {
  return isDeno ? g.Deno.build.os : String(g.process?.platform);
}

/**
 * Whether FFI may be used: always on Bun; on Deno, when `--allow-ffi` was granted.
 *
 * @example
 * ```ts
 * import { ffiPermitted } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * // under deno test -A
 * assertEquals(ffiPermitted(), true);
 * ```
 */
export function ffiPermitted(): boolean {
  if (isBun) return true;
  try {
    return !!g.Deno?.dlopen && g.Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

/** The Bun global, untyped (Deno type-checks this project). */
export function bun(): AnyGlobal {
  return g.Bun;
}

/** The Deno global. */
export function deno(): AnyGlobal {
  return g.Deno;
}

const encoder = new TextEncoder();

/**
 * Writes all of `data` to fd 1 or 2, synchronously, so that nothing is lost
 * when the process exits right after. A closed pipe (EPIPE) takes the rest
 * silently; any other failure is a `WriteError` (`write error: stdout: ...`).
 */
export function writeAll(fd: 1 | 2, data: string | Uint8Array): void {
  try {
    writeOut(fd, data);
  } catch (e) {
    if (e instanceof WriteError && e.code === "EPIPE") return;
    throw e;
  }
}

/**
 * `writeAll`, but a closed pipe is a `WriteError` too (code `EPIPE`): a run's console output
 * stops the run when nobody reads it any more (docs/cli.md, "Output that cannot be written").
 */
export function writeOut(fd: 1 | 2, data: string | Uint8Array): void {
  let bytes = typeof data === "string" ? encoder.encode(data) : data;
  const where = fd === 1 ? "stdout" : "stderr";
  if (isDeno) {
    const f = fd === 1 ? g.Deno.stdout : g.Deno.stderr;
    while (bytes.length) {
      try {
        bytes = bytes.subarray(f.writeSync(bytes));
      } catch (e) {
        throw new WriteError(where, e);
      }
    }
    return;
  }
  bytes = writeBytes(fd, bytes) ?? bytes; // Bun: libc's write, node:fs only for what it left
  while (bytes.length) {
    try {
      bytes = bytes.subarray(nodeFs().writeSync(fd, bytes));
    } catch (e) {
      if ((e as { code?: string }).code === "EAGAIN") continue;
      throw new WriteError(where, e);
    }
  }
}

/** Whether fd 1 or 2 is a terminal. */
export function isTerminal(fd: 1 | 2): boolean {
  if (isDeno) return (fd === 1 ? g.Deno.stdout : g.Deno.stderr).isTerminal();
  // libc's isatty: Bun's `process.stderr` builds a Node stream on first use,
  // about as much CPU as a compiled binary's whole start (bench/RESULTS.md).
  const libc = bunLibc();
  if (libc) return libc.isatty(fd) === 1;
  return Boolean(g.process?.[fd === 1 ? "stdout" : "stderr"]?.isTTY);
}

/** `TIOCGWINSZ`: `struct winsize` (rows, columns, two more u16) of a terminal. */
const TIOCGWINSZ = 0x5413;

/** Terminal width, or 80. */
export function terminalColumns(): number {
  try {
    if (isDeno) return g.Deno.consoleSize().columns || 80;
    const libc = bunLibc();
    if (libc) {
      const ws = new Uint8Array(8);
      if (libc.ioctl(2, TIOCGWINSZ, ws) !== 0) return 80;
      return (ws[2] | (ws[3] << 8)) || 80;
    }
    return g.process?.stderr?.columns || 80;
  } catch {
    return 80;
  }
}

/**
 * On Deno, a write past the file size limit (`ulimit -f`) fails with EFBIG, said as any write
 * error, instead of killing jx by SIGXFSZ and leaving its jobs running: jx handles the signal
 * (a handler, which a job does not inherit as it would an ignored signal). Bun does already.
 *
 * Deno's first signal listener installs its handler for SIGHUP, SIGINT and SIGTERM too, and a
 * signal that then comes with no listener kills jx, also one its parent left ignored
 * (`nohup jx run`: the hangup killed the run). So the signals ignored at start are read first
 * (runtime/ignored.ts), and each gets a listener that does nothing: it stays ignored.
 */
export function surviveFileSizeLimit(): void {
  if (!isDeno) return;
  for (const sig of ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGTSTP"]) {
    if (ignoredAtStart(sig)) g.Deno.addSignalListener(sig, () => {});
  }
  g.Deno.addSignalListener("SIGXFSZ", () => {});
}

/**
 * SIGUSR1 does not end jx, on either runtime. Deno handles it some time after its start (a
 * handler of its own: the signal then did nothing to a `jx run` or `jx sh` under way, and killed
 * one in its first second or so), Bun did not: the signal killed jx (exit 138), and its watchdog
 * then ended its jobs (reactor/watchdog.ts). A listener that does nothing, from
 * jx's start, on both (a handler, which jobs do not inherit: they get the signal's default). One
 * that jx's parent left ignored stays ignored (runtime/ignored.ts), as jobs then inherit it.
 */
export function surviveUsr1(): void {
  if (ignoredAtStart("SIGUSR1")) return;
  if (isDeno) g.Deno.addSignalListener("SIGUSR1", () => {});
  else g.process?.on?.("SIGUSR1", () => {});
}

/**
 * Exits the process now; with 128+N after `dieAtExit(N)` (a run signal N
 * interrupted), by dying of N instead (runtime/die.ts says why).
 */
export function exit(code: number): never {
  const sig = dyingOf();
  if (sig !== undefined && code === 128 + sig) dieOf(sig);
  if (isDeno) g.Deno.exit(code);
  g.process.exit(code);
  throw new Error("unreachable");
}

let collector: (() => void) | null | undefined;

/**
 * A full garbage collection, where the runtime can be asked for one: Bun's
 * `Bun.gc(true)`; on Deno, V8's `gc` (the `--expose-gc` flag set at run time
 * through `node:v8`, `gc` taken from a new context of `node:vm`, which sees
 * the flag). False when neither works. Loaded on first use only.
 *
 * @example
 * ```ts
 * import { collectGarbage } from "./mod.ts";
 * // true once the heap has been collected; false where the runtime offers no collection
 * console.log(collectGarbage());
 * ```
 */
export function collectGarbage(): boolean {
  if (collector === undefined) {
    collector = null;
    try {
      if (isBun) collector = () => g.Bun.gc(true);
      else {
        const p = g.process ?? {};
        const v8 = p.getBuiltinModule?.("node:v8");
        const vm = p.getBuiltinModule?.("node:vm");
        if (v8 && vm) {
          v8.setFlagsFromString("--expose-gc");
          const gc = vm.runInNewContext("gc");
          if (typeof gc === "function") collector = gc;
        }
      }
    } catch {
      collector = null;
    }
  }
  if (!collector) return false;
  collector();
  return true;
}

/**
 * The resident set size of this process, in bytes.
 *
 * @example
 * ```ts
 * import { residentBytes } from "./mod.ts";
 * console.log(residentBytes() > 0);
 * ```
 */
export function residentBytes(): number {
  return isDeno ? g.Deno.memoryUsage().rss : g.process.memoryUsage().rss;
}

/**
 * The bytes the JavaScript heap holds now (live data and garbage not yet
 * collected), or undefined when the runtime does not say.
 *
 * @example
 * ```ts
 * import { heapBytes } from "./mod.ts";
 * console.log((heapBytes() ?? 1) > 0);
 * ```
 */
export function heapBytes(): number | undefined {
  const used = isDeno ? g.Deno.memoryUsage().heapUsed : g.process?.memoryUsage?.().heapUsed;
  return typeof used === "number" && used > 0 ? used : undefined;
}
