/**
 * Text from outside jx (job names, paths, descriptions, messages quoting
 * them) made safe to show in jx's own lines on a terminal.
 *
 * @module
 */

/**
 * The characters a terminal may act on rather than show: C0 controls
 * (U+0000-U+001F: ESC, CR, LF, BEL...), DEL (U+007F), C1 controls
 * (U+0080-U+009F, among them the one-character CSI U+009B) and the line and
 * paragraph separators U+2028 and U+2029; and U+10FF80-U+10FFFF, which
 * stand for bytes that are not UTF-8 (utf8.ts `decodeBytes`: a file name or
 * argument jx got as such bytes).
 */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u{10ff80}-\u{10ffff}]/u;
// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u{10ff80}-\u{10ffff}]/gu;

/** The controls written by their usual letter. */
const NAMED: Record<string, string> = { "\x1b": "\\e", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** One control as jx shows it (see `escapeControls`). */
function shown(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.codePointAt(0)!;
  if (code >= 0x10ff80) return `\\x${(code - 0x10ff00).toString(16)}`; // the byte it stands for
  return code > 0xff ? `\\u{${code.toString(16)}}` : `\\x${code.toString(16).padStart(2, "0")}`;
}

/**
 * `text` with each control character written as a visible escape, so that
 * it shows on one line and cannot move the cursor, clear the screen or set
 * the terminal's title: ESC is `\e`, LF `\n`, CR `\r`, TAB `\t`; the other
 * C0 controls, DEL and the C1 controls are `\xNN` (two lowercase hex
 * digits); U+2028 and U+2029 are `\u{2028}` and `\u{2029}`; a character
 * that stands for a byte that is not UTF-8 is that byte, `\xe9`. Everything else
 * (a backslash too) is left as it is, so escaping twice changes nothing
 * more. Text with no control, the usual case, is returned as it is after
 * one regular-expression test.
 *
 * @example
 * ```ts
 * import { escapeControls } from "./controls.ts";
 * import { strictEqual } from "node:assert";
 * strictEqual(escapeControls("bad\x1b[31mX"), "bad\\e[31mX");
 * strictEqual(escapeControls("a\r\nb\tc\x07\x7f\x9b\u2028"), "a\\r\\nb\\tc\\x07\\x7f\\x9b\\u{2028}");
 * strictEqual(escapeControls("ünï/日本"), "ünï/日本");
 * strictEqual(escapeControls("caf\u{10ffe9}.sh"), "caf\\xe9.sh");
 * ```
 */
export function escapeControls(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROLS, shown) : text;
}
