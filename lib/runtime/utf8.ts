/**
 * UTF-8 for the texts jx writes and reads back itself (the no-op record's
 * paths, the graph cache's lists): decoded exactly, a leading U+FEFF kept
 * (the default `TextDecoder` drops it as a byte order mark, and a path may
 * begin with one), and a check that a string survives the round trip at
 * all (a lone surrogate is encoded as U+FFFD: such a string is stored some
 * other way, or not at all).
 *
 * @module
 */

/** A UTF-8 decoder that keeps a leading U+FEFF. */
export const utf8Decoder: TextDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** A lone surrogate: a high one not followed by a low one, or a low one not after a high one. */
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether `s` encodes to UTF-8 and decodes back to itself (no lone surrogate).
 *
 * @example
 * ```ts
 * import { utf8Decoder, utf8Exact } from "./utf8.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(utf8Exact("\uFEFFça 😀"), true);
 * assertEquals(utf8Exact("a\uD800b"), false);
 * assertEquals(utf8Decoder.decode(new TextEncoder().encode("\uFEFFa")), "\uFEFFa");
 * ```
 */
export function utf8Exact(s: string): boolean {
  return !LONE.test(s);
}

/** Strict UTF-8 that keeps a U+FEFF wherever it is (a run after a raw byte begins anew). */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Where `decodeBytes` puts a byte that is not UTF-8: U+10FF00 + the byte
 * (U+10FF80 to U+10FFFF, the end of a private use plane). A lone
 * surrogate would be the usual choice, but Bun's `node:path` turns those
 * into U+FFFD.
 */
export const RAW_BYTE_BASE = 0x10ff00;
/** A character `decodeBytes` made of a byte that is not UTF-8. */
export const RAW_BYTE = /[\u{10ff80}-\u{10ffff}]/u;

/**
 * Bytes as text: UTF-8 decoded, each byte that is not part of valid UTF-8
 * as the character U+10FF00 + byte (`RAW_BYTE_BASE`). A name that is valid
 * UTF-8 never decodes to one of those (the bytes of such a character, from
 * a name that holds it, are kept as bytes too): distinct names stay
 * distinct, and none equals a name that is UTF-8 (`check.ts` shows such a
 * byte as `\xff`). A leading U+FEFF (a byte order mark) is kept: a shell
 * reads it as part of the first word, and a name may begin with it.
 *
 * @example
 * ```ts
 * import { decodeBytes } from "./utf8.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(decodeBytes(new Uint8Array([0xc3, 0xa9, 0xff])), "\u00e9\u{10ffff}");
 * assertEquals(decodeBytes(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])), "\ufeffa");
 * assertEquals(decodeBytes(new Uint8Array([0xff, 0xef, 0xbb, 0xbf])), "\u{10ffff}\ufeff");
 * ```
 */
export function decodeBytes(bytes: Uint8Array): string {
  try {
    const text = UTF8.decode(bytes);
    if (!RAW_BYTE.test(text)) return text;
  } catch { /* a byte that is not UTF-8: decoded in runs below */ }
  let out = "";
  for (let i = 0, start = 0; i <= bytes.length; i++) {
    const n = i < bytes.length ? utf8Length(bytes, i) : 0;
    if (n) {
      i += n - 1;
      continue;
    }
    out += UTF8.decode(bytes.subarray(start, i));
    if (i < bytes.length) out += String.fromCodePoint(RAW_BYTE_BASE + bytes[i]);
    start = i + 1;
  }
  return out;
}

/**
 * The length of the valid UTF-8 sequence at `i` (1 to 4), or 0 when the
 * byte there starts none, or starts a character of `RAW_BYTE`.
 */
function utf8Length(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
  if (!n || c > 0xf4 || i + n > b.length) return 0;
  if (c === 0xf4 && b[i + 1] === 0x8f && b[i + 2] >= 0xbe) return 0;
  // The second byte's range excludes overlong forms, UTF-16 surrogates, and code points past U+10FFFF.
  const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
  const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
  if (b[i + 1] < lo || b[i + 1] > hi) return 0;
  for (let k = 2; k < n; k++) if (b[i + k] < 0x80 || b[i + k] > 0xbf) return 0;
  return n;
}

/**
 * Text as `decodeBytes` made it, back to its bytes: each character
 * U+10FF80-U+10FFFF as the byte it stands for, the rest as UTF-8.
 *
 * @example
 * ```ts
 * import { decodeBytes, encodeBytes } from "./utf8.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const bytes = new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0xc3, 0xa9]);
 * assertEquals(encodeBytes(decodeBytes(bytes)), bytes);
 * ```
 */
export function encodeBytes(text: string): Uint8Array {
  if (!RAW_BYTE.test(text)) return new TextEncoder().encode(text);
  const out: number[] = [];
  const enc = new TextEncoder();
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c >= RAW_BYTE_BASE + 0x80 && c <= RAW_BYTE_BASE + 0xff) out.push(c - RAW_BYTE_BASE);
    else out.push(...enc.encode(ch));
  }
  return new Uint8Array(out);
}

const RAW_BYTES = /[\u{10ff80}-\u{10ffff}]/gu;

/**
 * `text` with U+FFFD for each character that stands for a byte that is not
 * UTF-8: what a spawn that takes strings (`Deno.Command`, `Bun.spawn`,
 * `node:child_process`) can pass for it, as the runtimes decode such bytes.
 *
 * @example
 * ```ts
 * import { decodeBytes, lossyText } from "./utf8.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(lossyText(decodeBytes(new Uint8Array([0x61, 0xe9]))), "a\uFFFD");
 * ```
 */
export function lossyText(text: string): string {
  return RAW_BYTE.test(text) ? text.replace(RAW_BYTES, "\uFFFD") : text;
}

/** Where a text file's bytes stop being UTF-8: a 1-based line and column, and why. */
export interface NotUtf8 {
  line: number;
  col: number;
  message: string;
}

/**
 * Undefined when `bytes` are UTF-8 text (a leading byte order mark allowed); else where they are
 * not and what to do: a file saved as UTF-16 (its byte order mark) or in another encoding (a
 * byte that starts no UTF-8 character, such as Latin-1's 0xe9 for é), which a lenient decoder
 * would silently turn into U+FFFD.
 *
 * @example
 * ```ts
 * import { notUtf8 } from "./utf8.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(notUtf8(new TextEncoder().encode("a: café\n")), undefined);
 * assertEquals(notUtf8(new Uint8Array([0x61, 0x0a, 0x62, 0xe9])), {
 *   line: 2,
 *   col: 2,
 *   message: "not UTF-8 text (byte 0xe9; save the file as UTF-8)",
 * });
 * ```
 */
export function notUtf8(bytes: Uint8Array): NotUtf8 | undefined {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    const bom = bytes[0] === 0xff ? "FF FE" : "FE FF";
    return {
      line: 1,
      col: 1,
      message: `UTF-16 text (byte order mark ${bom}; save the file as UTF-8)`,
    };
  }
  try {
    UTF8.decode(bytes);
    return undefined;
  } catch { /* found below */ }
  const text = decodeBytes(bytes);
  const at = text.search(RAW_BYTE);
  if (at < 0) return undefined;
  const lineStart = text.lastIndexOf("\n", at - 1) + 1;
  const line = text.slice(0, at).split("\n").length;
  const byte = text.codePointAt(at)! - RAW_BYTE_BASE;
  return {
    line,
    col: at - lineStart + 1,
    message: `not UTF-8 text (byte 0x${
      byte.toString(16).padStart(2, "0")
    }; save the file as UTF-8)`,
  };
}
