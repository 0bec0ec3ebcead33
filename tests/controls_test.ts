/**
 * `escapeControls`: control characters shown as escapes, other text as it is.
 */
import assert from "node:assert/strict";
import { escapeControls } from "../lib/runtime/mod.ts";

/** Any character `escapeControls` escapes. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;

Deno.test("escapeControls: every C0 control, DEL, C1 control and U+2028/U+2029 is an escape", () => {
  const named: Record<number, string> = { 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r", 0x1b: "\\e" };
  const codes = [...Array(0x20).keys(), ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i)];
  for (const code of codes) {
    const want = named[code] ?? `\\x${code.toString(16).padStart(2, "0")}`;
    assert.equal(escapeControls(`a${String.fromCharCode(code)}b`), `a${want}b`, `U+${code}`);
  }
  assert.equal(escapeControls("\x00\x1f\x7f\x80\x9f"), "\\x00\\x1f\\x7f\\x80\\x9f");
  assert.equal(escapeControls("a\u2028b\u2029c"), "a\\u{2028}b\\u{2029}c");
  assert.equal(escapeControls("x\x1b]0;title\x07"), "x\\e]0;title\\x07");
  assert.equal(escapeControls("bad\x1b[31mX\r\n"), "bad\\e[31mX\\r\\n");
});

Deno.test("escapeControls: other text is unchanged, and escaping twice changes nothing more", () => {
  for (const s of ["", "build:x86_64/a+b-c", "ünï ÿ\u00a0 日本 😀", "C:\\dir\\n", "~!@#$%^&*()"]) {
    assert.equal(escapeControls(s), s);
  }
  const once = escapeControls("a\x1b[2J\nb\u2028\x9b");
  assert.equal(escapeControls(once), once);
  assert.doesNotMatch(once, CONTROL);
});

Deno.test("escapeControls: a character that stands for a byte that is not UTF-8 is shown as that byte", () => {
  // decodeBytes makes byte B into U+10FF00 + B (0x80-0xff); shown as-is it is a private-use glyph.
  assert.equal(escapeControls("caf\u{10ffe9}.sh"), "caf\\xe9.sh");
  assert.equal(escapeControls("\u{10ff80}\u{10ffff}"), "\\x80\\xff");
  assert.equal(escapeControls("\u{10ff7f}"), "\u{10ff7f}");
});
