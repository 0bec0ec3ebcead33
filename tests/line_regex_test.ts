/**
 * The linear matcher of `ready: {log}` patterns (lib/modules/line_regex.ts) against JavaScript's
 * own engine: the same answer on thousands of random patterns and lines, and an answer at all on
 * the patterns that make the engine backtrack for ever.
 */
import assert from "node:assert/strict";
import { lineMatcher } from "../lib/modules/line_regex.ts";

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296 * n) | 0;
  };
}

const ATOMS = [
  "a",
  "b",
  " ",
  "1",
  "_",
  ".",
  "\\d",
  "\\D",
  "\\w",
  "\\W",
  "\\s",
  "\\S",
  "\\.",
  "\\x61",
  "\\u0062",
  "\\t",
  "[ab]",
  "[^a]",
  "[a-c1]",
  "[\\d_]",
  "[^\\s]",
  "[-a]",
  "[a-]",
  "[\\b]",
  "[]",
  "[^]",
  "é",
];
const ASSERTS = ["^", "$", "\\b", "\\B"];
const QUANTS = ["*", "+", "?", "{2}", "{0,2}", "{1,}", "*?", "+?", "??", "{1,3}?"];

/** A random pattern of depth at most `d`. */
function pattern(r: (n: number) => number, d: number): string {
  const k = r(d > 0 ? 10 : 6);
  if (k < 4) return ATOMS[r(ATOMS.length)];
  if (k < 5) return ASSERTS[r(ASSERTS.length)];
  if (k < 6) return `${ATOMS[r(ATOMS.length)]}${QUANTS[r(QUANTS.length)]}`;
  if (k < 7) return `${pattern(r, d - 1)}${pattern(r, d - 1)}${pattern(r, d - 1)}`;
  if (k < 8) return `${pattern(r, d - 1)}|${pattern(r, d - 1)}`;
  const open = ["(", "(?:", "(?<n>"][r(3)];
  const inner = open === "(?<n>" ? pattern(r, d - 1).replaceAll("(?<n>", "(") : pattern(r, d - 1);
  return `${open}${inner})${r(2) ? QUANTS[r(QUANTS.length)] : ""}`;
}

const LETTERS = ["a", "b", " ", "1", "_", ".", "\t", "\u00a0", "é", "c", "-", "\b"];

function line(r: (n: number) => number): string {
  let s = "";
  for (let n = r(10); n > 0; n--) s += LETTERS[r(LETTERS.length)];
  return s;
}

Deno.test("ready log patterns: the linear matcher answers as JavaScript's engine on 3,000 random patterns, 20 lines each", () => {
  const r = rng(20261207);
  let checked = 0, linear = 0, patterns = 0;
  for (let i = 0; i < 3000; i++) {
    const src = pattern(r, 3);
    let re: RegExp;
    try {
      re = new RegExp(src);
    } catch {
      continue; // not a pattern jx accepts (a quantified assertion)
    }
    const before = new RegExp(`(?:${src})(?=[\\s\\S])`);
    const m = lineMatcher(src);
    patterns++;
    // The linear matcher is a class of its own; JavaScript's engine is wrapped in a plain object.
    if (Object.getPrototypeOf(m) !== Object.prototype) linear++;
    for (let j = 0; j < 20; j++) {
      const s = line(r);
      const what = `/${src}/ on ${JSON.stringify(s)}`;
      assert.equal(m.test(s), re.test(s), `test: ${what}`);
      assert.equal(m.endsBefore(s), before.test(s), `endsBefore: ${what}`);
      checked++;
    }
  }
  assert.ok(checked > 40_000, `${checked}`);
  // Those left to JavaScript's engine: a literal `{`... none of the generated ones.
  assert.equal(linear, patterns);
});

Deno.test("ready log patterns: ones that backtrack for ever in JavaScript's engine get an answer", () => {
  const long = "a".repeat(5000) + "!";
  for (const src of ["^(\\w+\\s?)*$", "(a+)+$", "^(a|a)*$", "(x+x+)+y", "^(\\d+\\.?)+$"]) {
    assert.equal(lineMatcher(src).test(long), false, src);
    assert.equal(lineMatcher(src).endsBefore(long), false, src);
  }
  assert.equal(lineMatcher("^(\\w+\\s?)*$").test("ready to serve"), true);
  assert.equal(lineMatcher("(a+)+!").endsBefore(long + "more"), true);
});

Deno.test("ready log patterns: constructs the linear matcher does not compile are JavaScript's", () => {
  // Back references, lookaround, control letters, properties, a literal `{`, a huge repeat.
  const cases: [string, string, boolean][] = [
    ["(a)\\1", "aa", true],
    ["a(?=b)", "ab", true],
    ["a(?!b)", "ab", false],
    ["(?<=a)b", "ab", true],
    ["\\cJ", "\n", true],
    ["a{", "a{", true],
    ["(?:x{5000}){5000}", "x", false],
  ];
  for (const [src, s, want] of cases) assert.equal(lineMatcher(src).test(s), want, src);
});

Deno.test("ready log patterns: an unfinished line counts through a match whatever follows keeps", () => {
  assert.equal(lineMatcher("port \\d+").endsBefore("port 80"), true); // `port 8` stays a match
  assert.equal(lineMatcher("port 80$").endsBefore("port 80"), false);
  assert.equal(lineMatcher("port 80\\b").endsBefore("port 80"), false);
  assert.equal(lineMatcher("port 80\\b").endsBefore("port 80 up"), true);
  assert.equal(lineMatcher("^$").endsBefore(""), false);
});

Deno.test("ready log patterns: a pattern of more DFA states than are kept (a, then 12 of a|b, from the end) answers as the engine", () => {
  const r = rng(7);
  const src = "a[ab]{12}$";
  const re = new RegExp(src), m = lineMatcher(src);
  for (let i = 0; i < 200; i++) {
    let s = "";
    for (let n = 2000 + r(100); n > 0; n--) s += r(2) ? "a" : "b";
    assert.equal(m.test(s), re.test(s));
    assert.equal(m.test(s + "c"), false);
  }
});
