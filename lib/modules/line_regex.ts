/**
 * A `ready: {log: REGEX}` pattern matched in time linear in the line: the
 * pattern compiled to a Thompson NFA and every possible match run at once,
 * no backtracking. JavaScript's own engine backtracks: `^(\w+\s?)*$` on a
 * line of 40 letters and a `!` takes minutes, and the match runs on jx's
 * only thread (no job output, no Ctrl-C meanwhile).
 *
 * The patterns compiled are those of JavaScript's syntax (no flags) made of
 * characters, escapes (`\d \w \s \b`, their capitals, `\t \n \xHH \uHHHH`,
 * escaped punctuation), classes, `.`, `^ $`, groups (`( )`, `(?: )`,
 * `(?<name> )`), `|` and the quantifiers (`* + ? {n,m}`, lazy or not).
 * Anything else (back references, lookaround, `\p{..}`, a repeat that would
 * make a huge automaton) is left to JavaScript's engine, as before.
 *
 * @module
 */

/** Whether a line holds a match; whether one ends before its end. */
export interface LineMatcher {
  /** Whether `line` holds a match of the pattern, as `RegExp.prototype.test`. */
  test(line: string): boolean;
  /**
   * Whether a match ends before the end of `text`, an unfinished line: one
   * that whatever follows keeps (`port \d+` in `port 80`; not `port 80$`).
   */
  endsBefore(text: string): boolean;
}

/**
 * The matcher of `source` (a pattern `new RegExp` accepts): linear when its
 * constructs allow it, JavaScript's engine otherwise.
 *
 * @example
 * ```ts
 * import { lineMatcher } from "./line_regex.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const m = lineMatcher("^(\\w+\\s?)*$");
 * assertEquals(m.test("a".repeat(5000) + "!"), false); // at once
 * assertEquals(m.test("listening on port"), true);
 * assertEquals(lineMatcher("port \\d+").endsBefore("port 80"), true);
 * assertEquals(lineMatcher("port 80$").endsBefore("port 80"), false);
 * ```
 */
export function lineMatcher(source: string): LineMatcher {
  const nfa = compile(source);
  if (nfa) return new NfaMatcher(nfa);
  const re = new RegExp(source);
  // A match followed by a character: one that ends before the end.
  const before = new RegExp(`(?:${source})(?=[\\s\\S])`);
  return { test: (l) => re.test(l), endsBefore: (t) => before.test(t) };
}

/** More states than this: left to JavaScript's engine (`x{1000}{1000}`). */
const MAX_STATES = 20_000;

/** Code-unit ranges, sorted, inclusive: `[lo, hi, lo, hi, ...]`; `not` inverts them. */
interface CharSet {
  ranges: number[];
  not: boolean;
}

type Assertion = "start" | "end" | "word" | "notWord";

type Node =
  | { kind: "char"; set: CharSet }
  | { kind: "assert"; what: Assertion }
  | { kind: "seq"; items: Node[] }
  | { kind: "alt"; items: Node[] }
  | { kind: "repeat"; item: Node; min: number; max: number };

/** The pattern's construct is not one compiled here. */
class Unsupported extends Error {}

const DIGIT = [48, 57];
const WORD = [48, 57, 65, 90, 95, 95, 97, 122];
// deno-fmt-ignore
const SPACE = [
  9, 13, 32, 32, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f,
  0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff,
];
/** What `.` does not match: the line terminators. */
const TERMINATORS = [10, 10, 13, 13, 0x2028, 0x2029];

/** Parses JavaScript regular expression syntax (the supported part) into a tree. */
class Parser {
  private i = 0;
  constructor(private src: string) {}

  parse(): Node {
    const n = this.alternation();
    if (this.i < this.src.length) throw new Unsupported(); // a stray `)`
    return n;
  }

  private alternation(): Node {
    const items = [this.sequence()];
    while (this.src[this.i] === "|") {
      this.i++;
      items.push(this.sequence());
    }
    return items.length === 1 ? items[0] : { kind: "alt", items };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== "|" && this.src[this.i] !== ")") {
      const atom = this.atom();
      items.push(this.quantified(atom));
    }
    return { kind: "seq", items };
  }

  /** `atom` followed by its quantifier, if any. */
  private quantified(atom: Node): Node {
    const c = this.src[this.i];
    let min: number, max: number;
    if (c === "*") [min, max] = [0, Infinity];
    else if (c === "+") [min, max] = [1, Infinity];
    else if (c === "?") [min, max] = [0, 1];
    else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) throw new Unsupported(); // a literal `{` (Annex B)
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
      this.i += m[0].length - 1;
    } else return atom;
    this.i++;
    if (this.src[this.i] === "?") this.i++; // lazy: the same matches, for a test
    if (atom.kind === "assert") throw new Unsupported();
    return { kind: "repeat", item: atom, min, max };
  }

  private atom(): Node {
    const c = this.src[this.i++];
    switch (c) {
      case "^":
        return { kind: "assert", what: "start" };
      case "$":
        return { kind: "assert", what: "end" };
      case ".":
        return { kind: "char", set: { ranges: TERMINATORS, not: true } };
      case "(":
        return this.group();
      case "[":
        return { kind: "char", set: this.charClass() };
      case "\\":
        return this.escape();
      case "*":
      case "+":
      case "?":
      case "{":
      case "}":
      case "]":
        throw new Unsupported(); // a quantifier of nothing, or a literal only Annex B allows
      default: {
        const code = c.charCodeAt(0);
        return { kind: "char", set: { ranges: [code, code], not: false } };
      }
    }
  }

  private group(): Node {
    if (this.src[this.i] === "?") {
      const named = /^\?<[A-Za-z_$][\w$]*>/.exec(this.src.slice(this.i));
      if (this.src[this.i + 1] === ":") this.i += 2;
      else if (named) this.i += named[0].length;
      else throw new Unsupported(); // lookaround
    }
    const inner = this.alternation();
    if (this.src[this.i++] !== ")") throw new Unsupported();
    return inner;
  }

  /** An escape outside a class: a character, a class or a word boundary. */
  private escape(): Node {
    const c = this.src[this.i];
    if (c === "b" || c === "B") {
      this.i++;
      return { kind: "assert", what: c === "b" ? "word" : "notWord" };
    }
    return { kind: "char", set: this.escapedSet(false) };
  }

  /** The set an escape stands for (after its `\`), inside a class or not. */
  private escapedSet(inClass: boolean): CharSet {
    const c = this.src[this.i++];
    const one = (code: number): CharSet => ({ ranges: [code, code], not: false });
    switch (c) {
      case "d":
      case "D":
        return { ranges: DIGIT, not: c === "D" };
      case "w":
      case "W":
        return { ranges: WORD, not: c === "W" };
      case "s":
      case "S":
        return { ranges: SPACE, not: c === "S" };
      case "t":
        return one(9);
      case "n":
        return one(10);
      case "v":
        return one(11);
      case "f":
        return one(12);
      case "r":
        return one(13);
      case "x":
      case "u":
        return one(this.hex(c === "x" ? 2 : 4));
      case "b":
        if (inClass) return one(8);
        break;
      case "0":
        if (!/[0-9]/.test(this.src[this.i] ?? "")) return one(0);
        break;
    }
    // Punctuation stands for itself; a letter or digit not above is a back reference, a
    // property, a control letter or an Annex B identity escape: not compiled here.
    if (c !== undefined && /[^A-Za-z0-9]/.test(c)) return one(c.charCodeAt(0));
    throw new Unsupported();
  }

  private hex(digits: number): number {
    const h = this.src.slice(this.i, this.i + digits);
    if (!new RegExp(`^[0-9A-Fa-f]{${digits}}$`).test(h)) throw new Unsupported();
    this.i += digits;
    return parseInt(h, 16);
  }

  /** A class after its `[`: its ranges, through its `]`. */
  private charClass(): CharSet {
    const not = this.src[this.i] === "^";
    if (not) this.i++;
    const parts: CharSet[] = [];
    while (this.src[this.i] !== "]") {
      if (this.i >= this.src.length) throw new Unsupported();
      const lo = this.classAtom();
      if (this.src[this.i] === "-" && this.src[this.i + 1] !== "]") {
        this.i++;
        const hi = this.classAtom();
        if (!single(lo) || !single(hi)) throw new Unsupported(); // `[\d-z]` (Annex B)
        parts.push({ ranges: [lo.ranges[0], hi.ranges[0]], not: false });
      } else parts.push(lo);
    }
    this.i++;
    return { ranges: union(parts), not };
  }

  private classAtom(): CharSet {
    const c = this.src[this.i++];
    if (c === "\\") return this.escapedSet(true);
    const code = c.charCodeAt(0);
    return { ranges: [code, code], not: false };
  }
}

function single(s: CharSet): boolean {
  return !s.not && s.ranges.length === 2 && s.ranges[0] === s.ranges[1];
}

/** The ranges of the union of `sets` (each possibly inverted), sorted and merged. */
function union(sets: CharSet[]): number[] {
  const pairs: [number, number][] = [];
  for (const s of sets) {
    const r = s.not ? invert(s.ranges) : s.ranges;
    for (let k = 0; k < r.length; k += 2) pairs.push([r[k], r[k + 1]]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n && lo <= out[n - 1] + 1) out[n - 1] = Math.max(out[n - 1], hi);
    else out.push(lo, hi);
  }
  return out;
}

/** The code units (0..0xFFFF) not in sorted, merged `ranges`. */
function invert(ranges: number[]): number[] {
  const out: number[] = [];
  let next = 0;
  for (let k = 0; k < ranges.length; k += 2) {
    if (ranges[k] > next) out.push(next, ranges[k] - 1);
    next = ranges[k + 1] + 1;
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}

function inSet(s: CharSet, code: number): boolean {
  const r = s.ranges;
  let found = false;
  for (let k = 0; k < r.length && r[k] <= code; k += 2) {
    if (code <= r[k + 1]) {
      found = true;
      break;
    }
  }
  return found !== s.not;
}

/** A state of the automaton: a character to take, a fork, a check of the position, the end. */
type State =
  | { kind: "char"; set: CharSet; next: number }
  | { kind: "split"; a: number; b: number }
  | { kind: "assert"; what: Assertion; next: number }
  | { kind: "match" };

/** The automaton: its states, and the one it starts at. */
interface Nfa {
  states: State[];
  start: number;
}

/** The automaton of `source`, or undefined if a construct is not compiled here. */
function compile(source: string): Nfa | undefined {
  let tree: Node;
  try {
    tree = new Parser(source).parse();
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
  const b = new Builder();
  const end = b.add({ kind: "match" });
  try {
    return { states: b.states, start: b.build(tree, end) };
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

/** Builds states back to front: each node's states lead on to `next`. */
class Builder {
  states: State[] = [];

  add(s: State): number {
    if (this.states.length >= MAX_STATES) throw new Unsupported();
    this.states.push(s);
    return this.states.length - 1;
  }

  /** The states of `n` leading to `next`; returns the first. */
  build(n: Node, next: number): number {
    switch (n.kind) {
      case "char":
        return this.add({ kind: "char", set: n.set, next });
      case "assert":
        return this.add({ kind: "assert", what: n.what, next });
      case "seq": {
        let at = next;
        for (let k = n.items.length - 1; k >= 0; k--) at = this.build(n.items[k], at);
        return at;
      }
      case "alt": {
        let at = this.build(n.items[n.items.length - 1], next);
        for (let k = n.items.length - 2; k >= 0; k--) {
          at = this.add({ kind: "split", a: this.build(n.items[k], next), b: at });
        }
        return at;
      }
      case "repeat":
        return this.repeat(n.item, n.min, n.max, next);
      default: {
        const _assertNever: never = n;
        return _assertNever;
      }
    }
  }

  /** `item{min,max}`: `min` copies, then optional ones (or a loop when unbounded). */
  private repeat(item: Node, min: number, max: number, next: number): number {
    const end = next;
    let at = next;
    if (max === Infinity) {
      // A loop: a fork into one more `item` (whose end comes back to the fork) or on.
      const fork = this.add({ kind: "split", a: -1, b: next });
      const body = this.build(item, fork);
      (this.states[fork] as { a: number }).a = body;
      at = fork;
    } else {
      // `x{0,2}`: (x(x)?)? — each optional copy leads to the next or straight to the end.
      for (let k = min; k < max; k++) {
        at = this.add({ kind: "split", a: this.build(item, at), b: end });
      }
    }
    for (let k = 0; k < min; k++) at = this.build(item, at);
    return at;
  }
}

function isWord(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || code === 95 ||
    (code >= 97 && code <= 122);
}

/**
 * A state of the automaton run as a DFA, made when first reached (as RE2 does): the automaton's
 * states live at a position (`kernel`: those a character led to, and the start, since a match
 * may start anywhere), what it knows of the position (the line's start; whether the character
 * before is a word's), and, by the character that follows, where it goes and whether a match
 * ends there.
 */
interface DState {
  kernel: number[];
  atStart: boolean;
  prevWord: boolean;
  /** By whether the next character is a word's: the `char` states reached, and a match. */
  reached: [Reach | undefined, Reach | undefined];
  /** Whether a match ends here when this is the line's end. */
  atEnd?: boolean;
  /** The state after each ASCII character; after others. */
  ascii: (DState | undefined)[];
  other?: Map<number, DState>;
}

interface Reach {
  chars: number[];
  match: boolean;
}

/** More DFA states than this for one pattern: the ones after are made and not kept. */
const MAX_DSTATES = 4096;

/** Runs the automaton over a line, every match at once (a match may start anywhere). */
class NfaMatcher implements LineMatcher {
  /** The step a state was last added at: each state once per closure. */
  private seen: Int32Array;
  private step = 0;
  private dstates = new Map<string, DState>();
  private first: DState;
  constructor(private nfa: Nfa) {
    this.seen = new Int32Array(nfa.states.length).fill(-1);
    this.first = this.dstate([nfa.start], true, false);
  }

  test(line: string): boolean {
    return this.run(line, line.length + 1);
  }

  endsBefore(text: string): boolean {
    return this.run(text, text.length);
  }

  /** Whether a match ends at a position before `limit` (`text.length + 1`: anywhere). */
  private run(text: string, limit: number): boolean {
    let d = this.first;
    for (let p = 0; p < text.length; p++) {
      const code = text.charCodeAt(p);
      const w = isWord(code);
      const r = d.reached[w ? 1 : 0] ??= this.close(d, w, false);
      if (r.match) return true; // (p < text.length < limit)
      d = (code < 128 ? d.ascii[code] : d.other?.get(code)) ?? this.next(d, r, code);
    }
    if (limit <= text.length) return false;
    return d.atEnd ??= this.close(d, false, true).match;
  }

  /** The DFA state after `code` from `d` (whose states reached are `r`), kept when it may be. */
  private next(d: DState, r: Reach, code: number): DState {
    const kernel: number[] = [];
    for (const s of r.chars) {
      const st = this.nfa.states[s] as { set: CharSet; next: number };
      if (inSet(st.set, code)) kernel.push(st.next);
    }
    kernel.push(this.nfa.start);
    const to = this.dstate(kernel, false, isWord(code));
    if (this.dstates.size < MAX_DSTATES) {
      if (code < 128) d.ascii[code] = to;
      else (d.other ??= new Map()).set(code, to);
    }
    return to;
  }

  private dstate(kernel: number[], atStart: boolean, prevWord: boolean): DState {
    const sorted = [...new Set(kernel)].sort((a, b) => a - b);
    const key = `${atStart ? "^" : ""}${prevWord ? "w" : ""}${sorted.join()}`;
    let d = this.dstates.get(key);
    if (d) return d;
    d = { kernel: sorted, atStart, prevWord, reached: [undefined, undefined], ascii: [] };
    if (this.dstates.size < MAX_DSTATES) this.dstates.set(key, d);
    return d;
  }

  /**
   * Follows the states of `d` through forks and checks of the position (the next character a
   * word's or not, the line's end or not): the `char` states reached, and whether the end (a
   * match) is.
   */
  private close(d: DState, nextWord: boolean, atEnd: boolean): Reach {
    const chars: number[] = [];
    const stack = [...d.kernel].reverse();
    const step = ++this.step;
    let match = false;
    while (stack.length) {
      const k = stack.pop()!;
      if (this.seen[k] === step) continue;
      this.seen[k] = step;
      const st = this.nfa.states[k];
      switch (st.kind) {
        case "match":
          match = true;
          break;
        case "char":
          chars.push(k);
          break;
        case "split":
          stack.push(st.b, st.a);
          break;
        case "assert":
          if (holds(st.what, d, nextWord, atEnd)) stack.push(st.next);
          break;
        default: {
          const _assertNever: never = st;
          return _assertNever;
        }
      }
    }
    return { chars, match };
  }
}

/** Whether the check `what` holds at a position `d` is at, with what follows it. */
function holds(what: Assertion, d: DState, nextWord: boolean, atEnd: boolean): boolean {
  switch (what) {
    case "start":
      return d.atStart;
    case "end":
      return atEnd;
    case "word":
      return d.prevWord !== nextWord;
    case "notWord":
      return d.prevWord === nextWord;
    default: {
      const _assertNever: never = what;
      return _assertNever;
    }
  }
}
