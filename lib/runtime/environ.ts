/**
 * The variables jx inherited whose bytes are not UTF-8 (`LANG` of a Latin-1
 * system, a binary token), which JavaScript strings cannot hold: Deno leaves
 * them out of its environment, Bun gives them with U+FFFD for each bad
 * byte. Read once from `/proc/self/environ` (Linux), they are kept as their
 * bytes under that lossy text, so that a child given `NAME=VALUE` unchanged
 * gets the bytes jx got.
 *
 * @module
 */

import { readFileBytes } from "./bun_fs.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
// deno-lint-ignore no-explicit-any
const D: any = typeof g.Deno !== "undefined" && typeof g.Bun === "undefined" ? g.Deno : undefined;
let raw: Map<string, Uint8Array> | undefined;

/**
 * Each inherited `NAME=VALUE` that is not UTF-8: its text with U+FFFD for the bad bytes, mapped
 * to its bytes (empty where `/proc/self/environ` cannot be read).
 *
 * @example
 * ```ts
 * import { inheritedNotUtf8 } from "./environ.ts";
 * for (const [text, bytes] of inheritedNotUtf8()) console.log(text, bytes.length);
 * ```
 */
export function inheritedNotUtf8(): ReadonlyMap<string, Uint8Array> {
  if (raw) return raw;
  raw = new Map();
  let bytes: Uint8Array | undefined;
  try {
    bytes = D ? D.readFileSync("/proc/self/environ") : readFileBytes("/proc/self/environ");
  } catch { /* none then */ }
  if (!bytes) return raw;
  const strict = new TextDecoder("utf-8", { fatal: true }), lossy = new TextDecoder();
  for (let start = 0, end; start < bytes.length; start = end + 1) {
    end = bytes.indexOf(0, start);
    if (end < 0) end = bytes.length;
    const entry = bytes.subarray(start, end);
    try {
      strict.decode(entry);
    } catch {
      raw.set(lossy.decode(entry), entry.slice());
    }
  }
  return raw;
}

/**
 * The bytes jx inherited for `entry` (`NAME=VALUE`) when it is such a variable, unchanged.
 *
 * @example
 * ```ts
 * import { inheritedBytes } from "./environ.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(inheritedBytes("PATH_SURELY_NOT=x"), undefined);
 * ```
 */
export function inheritedBytes(entry: string): Uint8Array | undefined {
  const m = inheritedNotUtf8();
  return m.size ? m.get(entry) : undefined;
}

/**
 * Adds to `env` (Deno's environment, which leaves them out) each such variable not in it, as its
 * lossy text.
 */
export function addNotUtf8(env: Record<string, string | undefined>): void {
  for (const text of inheritedNotUtf8().keys()) {
    const eq = text.indexOf("=");
    const name = text.slice(0, eq);
    if (eq > 0 && !(name in env)) env[name] = text.slice(eq + 1);
  }
}
