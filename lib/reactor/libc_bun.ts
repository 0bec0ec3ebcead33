/**
 * libc through Bun's FFI (`bun:ffi`), for `libc()` in libc.ts when jx runs
 * on Bun. Deno never loads `bun:ffi`: it is required synchronously (Bun's
 * `import.meta.require`, which works in `bun run` and in `bun build
 * --compile` binaries) only inside these functions, behind a specifier Deno
 * does not resolve.
 *
 * Deno's symbol table is translated: `parameters`/`result` become
 * `args`/`returns` (the type names match: Bun knows "buffer", "pointer",
 * "usize", "isize"); a `nonblocking` symbol is left out (Bun has no such
 * calls: they are the Deno epoll reactor's); a `name:` alias is bound
 * through a second `dlopen`. As on Deno, 64-bit results are bigints.
 *
 * @module
 */

/**
 * A C type's name, as both Deno and Bun spell the ones used here ("i32", "buffer", "usize"...).
 * `bun:ffi`'s types are declared here, not taken from bun-types: a program that imports jx and
 * type-checks (`deno check`, `deno test`) has no bun-types to read.
 */
type CTypeName =
  | "i8"
  | "u8"
  | "i16"
  | "u16"
  | "i32"
  | "u32"
  | "i64"
  | "u64"
  | "usize"
  | "isize"
  | "f32"
  | "f64"
  | "bool"
  | "void"
  | "pointer"
  | "buffer";
/** A symbol as Bun declares it. */
type BunSymbol = { args: CTypeName[]; returns: CTypeName };
/** A function bound through `bun:ffi` (arguments and result as Bun converts them). */
// deno-lint-ignore no-explicit-any
export type BunFunction = (...args: any[]) => any;
/** A pointer a bound function returned (`__errno_location`, `strerror`). */
export type BunPointer = number;
/** What jx uses of `bun:ffi`. */
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, BunSymbol>,
  ): { symbols: Record<string, BunFunction> };
  read: { i32(ptr: BunPointer, offset: number): number };
  CString: new (ptr: BunPointer) => { toString(): string };
  ptr(buf: ArrayBufferView | ArrayBuffer): number;
}

/** A symbol as libc.ts declares it for Deno. */
export interface DenoSymbol {
  readonly parameters: readonly CTypeName[];
  readonly result: CTypeName;
  readonly name?: string;
  readonly nonblocking?: boolean;
}

/** A specifier Deno's module graph never sees as an import. */
const SPEC = ["bun", "ffi"].join(":");
let ffi: BunFfi | undefined;

function bunFfi(): BunFfi {
  if (ffi) return ffi;
  const req = (import.meta as unknown as { require?: (s: string) => unknown }).require;
  if (typeof req !== "function") throw new Error("bun:ffi is not available in this runtime");
  ffi = req(SPEC) as BunFfi;
  return ffi;
}

/**
 * Binds `symbols` (Deno's declarations) from `path` through `bun:ffi`.
 *
 * @example On Bun only
 * ```ts ignore
 * import { dlopenBun } from "./libc_bun.ts";
 * const lib = dlopenBun("libc.so.6", { getpid: { parameters: [], result: "i32" } });
 * console.log(lib.symbols.getpid());
 * ```
 */
export function dlopenBun(
  path: string,
  symbols: Record<string, DenoSymbol>,
): { symbols: Record<string, BunFunction> } {
  const f = bunFfi();
  const direct: Record<string, BunSymbol> = {};
  const aliases: [string, string, BunSymbol][] = [];
  for (const [key, def] of Object.entries(symbols)) {
    if (def.nonblocking) continue;
    const bun = { args: [...def.parameters], returns: def.result };
    if (def.name && def.name !== key) aliases.push([key, def.name, bun]);
    else direct[key] = bun;
  }
  const out: Record<string, BunFunction> = { ...f.dlopen(path, direct).symbols };
  for (const [key, name, bun] of aliases) {
    out[key] = f.dlopen(path, { [name]: bun }).symbols[name];
  }
  return { symbols: out };
}

/** The int at a pointer returned by a bound function (`__errno_location`). */
export function readI32(ptr: BunPointer): number {
  return bunFfi().read.i32(ptr, 0);
}

/** The NUL-terminated string at a pointer returned by a bound function (`strerror`). */
export function readCString(ptr: BunPointer): string {
  return new (bunFfi().CString)(ptr).toString();
}

/** The address of a buffer, for arrays of pointers. */
export function addressOf(buf: Parameters<BunFfi["ptr"]>[0]): bigint {
  return BigInt(bunFfi().ptr(buf));
}
