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

/** A symbol as libc.ts declares it for Deno. */
export interface DenoSymbol {
  readonly parameters: readonly string[];
  readonly result: string;
  readonly name?: string;
  readonly nonblocking?: boolean;
}

/** The parts of `bun:ffi` used here. */
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
  read: { i32(ptr: number, offset: number): number };
  CString: new (ptr: number) => { toString(): string };
  ptr(buf: ArrayBufferView): number;
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
 * @example
 * ```ts
 * import { dlopenBun } from "./libc_bun.ts";
 * const lib = dlopenBun("libc.so.6", { getpid: { parameters: [], result: "i32" } });
 * console.log(lib.symbols.getpid());
 * ```
 */
export function dlopenBun(
  path: string,
  symbols: Record<string, DenoSymbol>,
  // deno-lint-ignore no-explicit-any
): { symbols: Record<string, (...args: any[]) => any> } {
  const f = bunFfi();
  const direct: Record<string, { args: string[]; returns: string }> = {};
  const aliases: [string, string, { args: string[]; returns: string }][] = [];
  for (const [key, def] of Object.entries(symbols)) {
    if (def.nonblocking) continue;
    const bun = { args: [...def.parameters], returns: def.result };
    if (def.name && def.name !== key) aliases.push([key, def.name, bun]);
    else direct[key] = bun;
  }
  const out = { ...f.dlopen(path, direct).symbols };
  for (const [key, name, bun] of aliases) {
    out[key] = f.dlopen(path, { [name]: bun }).symbols[name];
  }
  return { symbols: out };
}

/** The int at a pointer returned by a bound function (`__errno_location`). */
export function readI32(ptr: number): number {
  return bunFfi().read.i32(ptr, 0);
}

/** The NUL-terminated string at a pointer returned by a bound function (`strerror`). */
export function readCString(ptr: number): string {
  return new (bunFfi().CString)(ptr).toString();
}

/** The address of a buffer, for arrays of pointers. */
export function addressOf(buf: ArrayBufferView): bigint {
  return BigInt(bunFfi().ptr(buf));
}
