/**
 * A parser for the POSIX shell subset `jx sh` needs: simple commands with
 * assignments and redirections (here-documents included), pipelines, `&&`/`||`
 * lists, `;`/`&`/newline lists, `if`, `while`/`until`, `for`, `case`, `{ }`
 * and `( )` groups, function definitions and comments. Words keep their exact
 * source text (quotes, `$(...)` and backticks are skipped over, never run),
 * plus the parts jx needs to resolve them: literal text and `$NAME`.
 *
 * Every node keeps its source span, so that a command runs under `/bin/sh -c`
 * exactly as written.
 *
 * @module
 */

/**
 * One piece of a word: literal text (`quoted` when it came from quotes or a
 * backslash), a parameter (`$NAME`, `${NAME}`, `$1`, `$?`...), or something
 * jx does not evaluate (`$(...)`, backticks, `$((...))`, `${x:-y}`).
 *
 * @example
 * ```ts
 * import type { WordPart } from "./parse.ts";
 * const parts: WordPart[] = [{ kind: "param", name: "f", quoted: true }, { kind: "lit", text: ".gz", quoted: false }];
 * ```
 */
export type WordPart =
  | { kind: "lit"; text: string; quoted: boolean }
  | { kind: "param"; name: string; quoted: boolean }
  | {
    kind: "other";
    what: "cmdsub" | "arith" | "param-op" | "tilde";
    text: string;
    /** Inside double quotes: its value is neither split nor a pattern. */
    quoted?: boolean;
  };

/**
 * A word as written, with its parts.
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * const { items } = parseScript('sort "$f" > out');
 * ```
 */
export interface Word {
  /** The source text, quotes included. */
  text: string;
  /** Offset of the first character. */
  start: number;
  parts: WordPart[];
}

/**
 * A here-document: its body is the source text between the line after the
 * command and the delimiter line (included).
 *
 * @example
 * ```ts
 * import type { HereDoc } from "./parse.ts";
 * const h: HereDoc = { delim: "EOF", quoted: false, strip: false, bodyStart: 10, bodyEnd: 20 };
 * ```
 */
export interface HereDoc {
  delim: string;
  /** The delimiter was quoted: no expansion in the body. */
  quoted: boolean;
  /** `<<-`: leading tabs are stripped. */
  strip: boolean;
  /** Offsets of the body (delimiter line included) in the source. */
  bodyStart: number;
  bodyEnd: number;
  /** The script ended before its delimiter line: the body runs to the end. */
  open?: boolean;
}

/**
 * A redirection: `[N]op target`.
 *
 * @example
 * ```ts
 * import type { Redir } from "./parse.ts";
 * const r: Redir = { op: ">>", target: { text: "log", start: 0, parts: [{ kind: "lit", text: "log", quoted: false }] } };
 * ```
 */
export interface Redir {
  fd?: number;
  op: string;
  target: Word;
  heredoc?: HereDoc;
}

/**
 * Where a node is in the source: offsets and the 1-based line and column of its start.
 *
 * @example
 * ```ts
 * import type { Span } from "./parse.ts";
 * const s: Span = { start: 0, end: 7, line: 1, col: 1 };
 * ```
 */
export interface Span {
  start: number;
  end: number;
  line: number;
  col: number;
}

/**
 * A parsed command.
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const { items } = parseScript("a && b || c\n");
 * assertEquals(items[0].node.type, "andor");
 * ```
 */
export type ShNode =
  | { type: "simple"; span: Span; assigns: Word[]; words: Word[]; redirs: Redir[] }
  | { type: "pipeline"; span: Span; bang: boolean; cmds: ShNode[] }
  | { type: "andor"; span: Span; first: ShNode; rest: { op: "&&" | "||"; node: ShNode }[] }
  | {
    type: "if";
    span: Span;
    clauses: { cond: Item[]; body: Item[] }[];
    otherwise?: Item[];
    redirs: Redir[];
  }
  | { type: "while" | "until"; span: Span; cond: Item[]; body: Item[]; redirs: Redir[] }
  | { type: "for"; span: Span; name: string; words?: Word[]; body: Item[]; redirs: Redir[] }
  | {
    type: "case";
    span: Span;
    word: Word;
    /** Every item's patterns, in order (they are expanded as the word is matched). */
    patterns: Word[];
    bodies: Item[][];
    redirs: Redir[];
  }
  | { type: "group" | "subshell"; span: Span; body: Item[]; redirs: Redir[] }
  | { type: "func"; span: Span; name: string; body: ShNode };

/**
 * One and-or list of a list, with its separator (`&` makes it `bg`).
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const { items } = parseScript("sleep 1 &\necho hi\n");
 * assertEquals(items[0].bg, true);
 * ```
 */
export interface Item {
  node: ShNode;
  bg: boolean;
}

/**
 * A syntax error with its position.
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = parseScript("if true; then echo\n");
 * assertEquals(r.error?.message, "syntax error: unexpected end of file (expecting 'fi')");
 * ```
 */
export interface ShSyntaxError {
  message: string;
  line: number;
  col: number;
  offset: number;
  /**
   * Not an error of the script: it nests deeper than jx reads
   * (`MAX_NESTING`). sh reads it: it runs whole, as one sh.
   */
  tooDeep?: boolean;
}

/**
 * What `parseScript` returns: the top-level items parsed, and on a syntax
 * error, the error and the offset of the top-level command it is in (the
 * items before it are complete).
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = parseScript("echo a\necho b\n");
 * assertEquals(r.items.length, 2);
 * ```
 */
export interface ParseResult {
  src: string;
  items: Item[];
  /** Here-documents in source order. */
  heredocs: HereDoc[];
  error?: ShSyntaxError;
  /** With `error`: where the top-level command that holds it starts. */
  errorItemStart?: number;
}

interface Token {
  kind: "word" | "op" | "newline" | "io" | "eof";
  text: string;
  start: number;
  end: number;
  word?: Word;
  heredoc?: HereDoc;
}

class Fail extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

/** Nesting past `MAX_NESTING` (see `ShSyntaxError.tooDeep`). */
class TooDeep extends Fail {}

/**
 * How deep jx reads commands inside commands: `( )`, `{ }`, `if`, loops,
 * `case`, `$(...)` and `$((...))` inside each other, all counted together.
 * Parsing, deriving and planning all recurse over the tree: a script nested
 * deeper (10,000 subshells in each other) would overflow the stack, so it
 * runs whole as one sh instead (sh reads it, or fails, as it would).
 *
 * @example
 * ```ts
 * import { MAX_NESTING, parseScript } from "./parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const deep = "(".repeat(MAX_NESTING + 1) + "echo hi" + ")".repeat(MAX_NESTING + 1);
 * assertEquals(parseScript(deep).error?.tooDeep, true);
 * ```
 */
export const MAX_NESTING = 100;

/** The nesting reached so far, shared by the parsers of a script's substitutions. */
interface Depth {
  n: number;
}

/** `f()` one level of nesting deeper (at offset `at`), or a `TooDeep` past `MAX_NESTING`. */
function nested<T>(depth: Depth, at: number, f: () => T): T {
  if (depth.n >= MAX_NESTING) {
    throw new TooDeep(`nested more than ${MAX_NESTING} deep: jx runs the script as one sh`, at);
  }
  depth.n++;
  try {
    return f();
  } finally {
    depth.n--;
  }
}

const OPS = [
  "<<-",
  "&&",
  "||",
  ";;",
  "<<",
  ">>",
  "<&",
  ">&",
  "<>",
  ">|",
  "&",
  "|",
  ";",
  "<",
  ">",
  "(",
  ")",
];
const META = new Set([" ", "\t", "\n", ";", "&", "|", "<", ">", "(", ")"]);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set([
  "if",
  "then",
  "else",
  "elif",
  "fi",
  "do",
  "done",
  "case",
  "esac",
  "while",
  "until",
  "for",
  "{",
  "}",
  "!",
  "in",
]);

/**
 * Maps offsets to lines and columns.
 *
 * @example
 * ```ts
 * import { Lines } from "./parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(new Lines("a\nbc\n").pos(3), { line: 2, col: 2 });
 * ```
 */
export class Lines {
  private starts: number[] = [0];
  /** Line starts of `src`. */
  constructor(src: string) {
    for (let i = 0; i < src.length; i++) if (src[i] === "\n") this.starts.push(i + 1);
  }
  /** The 1-based line and column of `offset`. */
  pos(offset: number): { line: number; col: number } {
    let lo = 0, hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.starts[lo] + 1 };
  }
}

class Lexer {
  pos = 0;
  private buf: Token[] = [];
  private pending: HereDoc[] = [];
  private afterHeredocOp: "<<" | "<<-" | null = null;
  readonly heredocs: HereDoc[] = [];

  /** `lines`, `depth`: shared with the parsers of the command substitutions inside (`skipCmdsub`). */
  constructor(readonly src: string, readonly lines: Lines, readonly depth: Depth) {}

  peek(k = 0): Token {
    while (this.buf.length <= k) this.buf.push(this.lex());
    return this.buf[k];
  }

  next(): Token {
    const t = this.peek();
    this.buf.shift();
    return t;
  }

  private lex(): Token {
    const s = this.src;
    for (;;) {
      const c = s[this.pos];
      if (c === " " || c === "\t") this.pos++;
      else if (c === "\\" && s[this.pos + 1] === "\n") this.pos += 2;
      else if (c === "#") {
        while (this.pos < s.length && s[this.pos] !== "\n") this.pos++;
      } else break;
    }
    const start = this.pos;
    if (start >= s.length) {
      if (this.pending.length) this.readBodies();
      return { kind: "eof", text: "", start, end: start };
    }
    if (s[start] === "\n") {
      this.pos++;
      if (this.pending.length) this.readBodies();
      return { kind: "newline", text: "\n", start, end: start + 1 };
    }
    for (const op of OPS) {
      if (s.startsWith(op, start)) {
        this.pos += op.length;
        if (op === "<<" || op === "<<-") this.afterHeredocOp = op;
        return { kind: "op", text: op, start, end: this.pos };
      }
    }
    let i = start;
    while (i < s.length && s[i] >= "0" && s[i] <= "9") i++;
    if (i > start && (s[i] === "<" || s[i] === ">")) {
      this.pos = i;
      return { kind: "io", text: s.slice(start, i), start, end: i };
    }
    const word = this.scanWord();
    // A backslash-newline is gone before sh reads words: `i\<newline>f` is the keyword if,
    // `x\<newline>=1` an assignment. The token's text is compared; the word keeps its source.
    const text = word.text.includes("\\\n") ? word.text.replace(/\\\n/g, "") : word.text;
    const tok: Token = { kind: "word", text, start, end: this.pos, word };
    if (this.afterHeredocOp) {
      const quoted = word.parts.some((p) => p.kind === "lit" && p.quoted);
      const delim = word.parts.map((p) =>
        p.kind === "lit" ? p.text : p.kind === "param" ? "$" + p.name : p.text
      ).join("");
      const hd: HereDoc = {
        delim,
        quoted,
        strip: this.afterHeredocOp === "<<-",
        bodyStart: -1,
        bodyEnd: -1,
      };
      this.pending.push(hd);
      this.heredocs.push(hd);
      tok.heredoc = hd;
      this.afterHeredocOp = null;
    }
    return tok;
  }

  private readBodies(): void {
    const s = this.src;
    for (const hd of this.pending) {
      hd.bodyStart = this.pos;
      for (;;) {
        if (this.pos >= s.length) {
          hd.open = true;
          break;
        }
        let nl = s.indexOf("\n", this.pos);
        if (nl < 0) nl = s.length;
        let line = s.slice(this.pos, nl);
        if (hd.strip) line = line.replace(/^\t+/, "");
        this.pos = Math.min(nl + 1, s.length);
        if (line === hd.delim) break;
      }
      hd.bodyEnd = this.pos;
    }
    this.pending = [];
  }

  /** Scans a word from `pos`: quotes, escapes, `$...` and backticks. */
  private scanWord(): Word {
    const s = this.src;
    const start = this.pos;
    const parts: WordPart[] = [];
    const lit = (text: string, quoted: boolean) => {
      const last = parts[parts.length - 1];
      if (last?.kind === "lit" && last.quoted === quoted) last.text += text;
      else parts.push({ kind: "lit", text, quoted });
    };
    while (this.pos < s.length) {
      const c = s[this.pos];
      if (META.has(c)) break;
      if (c === "\\") {
        if (s[this.pos + 1] === "\n") this.pos += 2;
        else {
          if (this.pos + 1 < s.length) lit(s[this.pos + 1], true);
          this.pos += 2;
        }
      } else if (c === "'") {
        const end = s.indexOf("'", this.pos + 1);
        if (end < 0) throw new Fail("syntax error: unterminated quoted string", this.pos);
        lit(s.slice(this.pos + 1, end), true);
        this.pos = end + 1;
      } else if (c === '"') this.scanDoubleQuoted(parts, lit);
      else if (c === "$") parts.push(this.scanDollar(false));
      else if (c === "`") parts.push(this.scanBacktick());
      else if (c === "~" && this.pos === start) {
        let j = this.pos + 1;
        while (j < s.length && !META.has(s[j]) && s[j] !== "/") j++;
        parts.push({ kind: "other", what: "tilde", text: s.slice(this.pos, j) });
        this.pos = j;
      } else {
        lit(c, false);
        this.pos++;
      }
    }
    return { text: s.slice(start, this.pos), start, parts };
  }

  /** A word's "..." part, from its opening quote to past its closing one. */
  private scanDoubleQuoted(parts: WordPart[], lit: (text: string, quoted: boolean) => void): void {
    const s = this.src;
    const open = this.pos;
    this.pos++;
    if (s[this.pos] === '"') lit("", true);
    while (s[this.pos] !== '"') {
      if (this.pos >= s.length) {
        throw new Fail("syntax error: unterminated quoted string", open);
      }
      const d = s[this.pos];
      if (d === "\\") {
        const n = s[this.pos + 1];
        if (n === "\n") this.pos += 2;
        else {
          lit('$`"\\'.includes(n) ? n : "\\" + n, true);
          this.pos += 2;
        }
      } else if (d === "$") parts.push(this.scanDollar(true));
      else if (d === "`") parts.push(this.scanBacktick(true));
      else {
        lit(d, true);
        this.pos++;
      }
    }
    this.pos++;
  }

  private scanDollar(quoted: boolean): WordPart {
    const s = this.src;
    const start = this.pos;
    const n = s[this.pos + 1];
    if (n === "(") {
      const arith = s[this.pos + 2] === "(";
      this.pos = arith ? this.skipParens(this.pos + 1) : this.skipCmdsub(this.pos + 1);
      const what = arith ? "arith" : "cmdsub";
      return { kind: "other", what, text: s.slice(start, this.pos), quoted };
    }
    if (n === "{") {
      let depth = 0;
      let i = this.pos + 1;
      for (; i < s.length; i++) {
        const c = s[i];
        if (c === "\\") i++;
        else if (c === "'" && !quoted) {
          const e = s.indexOf("'", i + 1);
          if (e < 0) throw new Fail("syntax error: unterminated quoted string", i);
          i = e;
        } else if (c === '"') {
          i = this.skipDq(i);
        } else if (c === "$" && s[i + 1] === "(") i = this.skipSubst(i + 1) - 1;
        else if (c === "`") i = this.skipBacktick(i) - 1;
        else if (c === "{") depth++;
        else if (c === "}" && --depth === 0) break;
      }
      if (i >= s.length) throw new Fail("syntax error: missing '}'", start);
      this.pos = i + 1;
      const inner = s.slice(start + 2, i);
      if (NAME.test(inner) || /^([0-9]+|[?#@*!$-])$/.test(inner)) {
        return { kind: "param", name: inner, quoted };
      }
      return { kind: "other", what: "param-op", text: s.slice(start, this.pos), quoted };
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]*|[0-9?#@*!$-])/.exec(s.slice(this.pos + 1, this.pos + 200));
    if (m) {
      this.pos += 1 + m[1].length;
      return { kind: "param", name: m[1], quoted };
    }
    this.pos++;
    return { kind: "lit", text: "$", quoted };
  }

  /** From the `(` of a `$(` or `$((` at `i`, the offset after the `)` that closes it. */
  private skipSubst(i: number): number {
    return this.src[i + 1] === "(" ? this.skipParens(i) : this.skipCmdsub(i);
  }

  /**
   * From the `(` of a `$(` at `i`, the offset after the `)` that closes it, as
   * sh finds it: by reading the commands inside (a `case` pattern's `)`, a
   * comment, a here-document do not close it).
   */
  private skipCmdsub(i: number): number {
    return nested(this.depth, i, () => {
      const p = new Parser(this.src, this.lines, this.depth);
      p.lx.pos = i + 1;
      p.list([]);
      const t = p.lx.next();
      if (t.kind !== "op" || t.text !== ")") throw new Fail("syntax error: missing ')'", i);
      return t.end;
    });
  }

  /** From the `(` at `i`, the offset after its matching `)`. */
  private skipParens(i: number): number {
    return nested(this.depth, i, () => this.matchParen(i));
  }

  /** `skipParens`, one level deeper. */
  private matchParen(i: number): number {
    const s = this.src;
    const open = i;
    let depth = 0;
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === "\\") i++;
      else if (c === "'") {
        const e = s.indexOf("'", i + 1);
        if (e < 0) throw new Fail("syntax error: unterminated quoted string", i);
        i = e;
      } else if (c === '"') i = this.skipDq(i);
      else if (c === "`") i = this.skipBacktick(i) - 1;
      else if (c === "$" && s[i + 1] === "(") i = this.skipSubst(i + 1) - 1;
      else if (c === "(") depth++;
      else if (c === ")" && --depth === 0) return i + 1;
    }
    throw new Fail("syntax error: missing ')'", open);
  }

  /** From the `"` at `i`, the offset of its closing `"`. */
  private skipDq(i: number): number {
    const s = this.src;
    const open = i;
    for (i++; i < s.length; i++) {
      const c = s[i];
      if (c === "\\") i++;
      else if (c === '"') return i;
      else if (c === "$" && s[i + 1] === "(") i = this.skipSubst(i + 1) - 1;
      else if (c === "`") i = this.skipBacktick(i) - 1;
    }
    throw new Fail("syntax error: unterminated quoted string", open);
  }

  /** From the backtick at `i`, the offset after the closing one. */
  private skipBacktick(i: number): number {
    const s = this.src;
    for (let j = i + 1; j < s.length; j++) {
      if (s[j] === "\\") j++;
      else if (s[j] === "`") return j + 1;
    }
    throw new Fail("syntax error: unterminated backquote", i);
  }

  private scanBacktick(quoted = false): WordPart {
    const start = this.pos;
    this.pos = this.skipBacktick(this.pos);
    return { kind: "other", what: "cmdsub", text: this.src.slice(start, this.pos), quoted };
  }
}

/**
 * The literal value of a word when it is made of literal text only.
 *
 * @example
 * ```ts
 * import { literalOf, parseScript } from "./parse.ts";
 * import { strictEqual } from "node:assert";
 * const node = parseScript("echo 'a b'c $x\n").items[0].node;
 * if (node.type !== "simple") throw new Error("a simple command");
 * strictEqual(literalOf(node.words[1]), "a bc");
 * strictEqual(literalOf(node.words[2]), undefined);
 * ```
 */
export function literalOf(w: Word): string | undefined {
  let out = "";
  for (const p of w.parts) {
    if (p.kind !== "lit") return undefined;
    out += p.text;
  }
  return out;
}

class Parser {
  readonly lx: Lexer;
  readonly lines: Lines;
  constructor(readonly src: string, lines?: Lines, private depth: Depth = { n: 0 }) {
    this.lines = lines ?? new Lines(src);
    this.lx = new Lexer(src, this.lines, depth);
  }

  span(start: number, end: number): Span {
    return { start, end, ...this.lines.pos(start) };
  }

  isWord(t: Token, text: string): boolean {
    return t.kind === "word" && t.text === text;
  }

  describe(t: Token): string {
    return t.kind === "eof" ? "end of file" : t.kind === "newline" ? "newline" : `'${t.text}'`;
  }

  expectWord(text: string): Token {
    const t = this.lx.next();
    if (!this.isWord(t, text)) {
      throw new Fail(`syntax error: unexpected ${this.describe(t)} (expecting '${text}')`, t.start);
    }
    return t;
  }

  expectOp(text: string): Token {
    const t = this.lx.next();
    if (t.kind !== "op" || t.text !== text) {
      throw new Fail(`syntax error: unexpected ${this.describe(t)} (expecting '${text}')`, t.start);
    }
    return t;
  }

  skipNewlines(): void {
    while (this.lx.peek().kind === "newline") this.lx.next();
  }

  /** A list, up to (not including) one of `ends`, `)`, `;;` or the end of file. */
  list(ends: string[]): Item[] {
    const items: Item[] = [];
    this.skipNewlines();
    for (;;) {
      const t = this.lx.peek();
      if (t.kind === "eof") break;
      if (t.kind === "word" && ends.includes(t.text)) break;
      if (t.kind === "op" && (t.text === ")" || t.text === ";;")) break;
      const node = this.andOr();
      const sep = this.lx.peek();
      let bg = false;
      if (sep.kind === "op" && (sep.text === ";" || sep.text === "&")) {
        this.lx.next();
        bg = sep.text === "&";
      } else if (sep.kind !== "newline") {
        items.push({ node, bg });
        break;
      }
      items.push({ node, bg });
      this.skipNewlines();
    }
    return items;
  }

  andOr(): ShNode {
    const first = this.pipeline();
    const rest: { op: "&&" | "||"; node: ShNode }[] = [];
    for (;;) {
      const t = this.lx.peek();
      if (t.kind !== "op" || (t.text !== "&&" && t.text !== "||")) break;
      this.lx.next();
      this.skipNewlines();
      rest.push({ op: t.text as "&&" | "||", node: this.pipeline() });
    }
    if (!rest.length) return first;
    return {
      type: "andor",
      span: this.span(first.span.start, rest[rest.length - 1].node.span.end),
      first,
      rest,
    };
  }

  pipeline(): ShNode {
    const t = this.lx.peek();
    const bang = this.isWord(t, "!");
    if (bang) this.lx.next();
    const cmds = [this.command()];
    for (;;) {
      const p = this.lx.peek();
      if (p.kind !== "op" || p.text !== "|") break;
      this.lx.next();
      this.skipNewlines();
      cmds.push(this.command());
    }
    if (!bang && cmds.length === 1) return cmds[0];
    return {
      type: "pipeline",
      span: this.span(bang ? t.start : cmds[0].span.start, cmds[cmds.length - 1].span.end),
      bang,
      cmds,
    };
  }

  command(): ShNode {
    const t = this.lx.peek();
    if (t.kind === "word") {
      switch (t.text) {
        case "{":
        case "if":
        case "while":
        case "until":
        case "for":
        case "case":
          return this.compound();
      }
      const t1 = this.lx.peek(1);
      if (NAME.test(t.text) && !RESERVED.has(t.text) && t1.kind === "op" && t1.text === "(") {
        this.lx.next();
        this.lx.next();
        this.expectOp(")");
        this.skipNewlines();
        const body = this.compound();
        return { type: "func", span: this.span(t.start, body.span.end), name: t.text, body };
      }
      // `!` opens a pipeline only (pipeline()): not again (`! !`), nor after `|`, as dash reads it.
      if (RESERVED.has(t.text) && t.text !== "in") {
        throw new Fail(`syntax error: unexpected '${t.text}'`, t.start);
      }
    }
    if (t.kind === "op" && t.text === "(") return this.compound();
    return this.simple();
  }

  /** A compound command (`( )`, `{ }`, if, while, until, for, case) and its redirections. */
  compound(): ShNode {
    const first = this.lx.next();
    const node = nested(this.depth, first.start, () => this.compoundCommand(first));
    // Redirections after a compound command apply to all of it.
    for (;;) {
      const r = this.redirect();
      if (!r) break;
      (node as { redirs: Redir[] }).redirs.push(r);
      node.span = this.span(node.span.start, this.lastEnd);
    }
    return node;
  }

  /** The compound command its first token `t` opens. */
  private compoundCommand(t: Token): ShNode {
    const start = t.start;
    if (t.kind === "op") {
      const body = this.body([]);
      const end = this.expectOp(")").end;
      return { type: "subshell", span: this.span(start, end), body, redirs: [] };
    }
    switch (t.text) {
      case "{": {
        const body = this.body(["}"]);
        const end = this.expectWord("}").end;
        return { type: "group", span: this.span(start, end), body, redirs: [] };
      }
      case "if":
        return this.ifCommand(start);
      case "while":
      case "until": {
        const cond = this.list(["do"]);
        this.nonEmpty(cond, start, t.text);
        this.expectWord("do");
        const body = this.body(["done"]);
        const end = this.expectWord("done").end;
        return { type: t.text, span: this.span(start, end), cond, body, redirs: [] };
      }
      case "for":
        return this.forCommand(start);
      case "case":
        return this.caseCommand(start);
      default:
        throw new Fail(`syntax error: unexpected '${t.text}'`, t.start);
    }
  }

  /** `if COND; then BODY; [elif COND; then BODY;]... [else BODY;] fi`, after `if`. */
  private ifCommand(start: number): ShNode {
    const clauses: { cond: Item[]; body: Item[] }[] = [];
    let otherwise: Item[] | undefined;
    const cond = this.list(["then"]);
    this.expectWord("then");
    clauses.push({ cond, body: this.body(["elif", "else", "fi"]) });
    for (;;) {
      const k = this.lx.peek();
      if (this.isWord(k, "elif")) {
        this.lx.next();
        const c = this.list(["then"]);
        this.expectWord("then");
        clauses.push({ cond: c, body: this.body(["elif", "else", "fi"]) });
      } else if (this.isWord(k, "else")) {
        this.lx.next();
        otherwise = this.body(["fi"]);
      } else break;
    }
    const end = this.expectWord("fi").end;
    for (const c of clauses) this.nonEmpty(c.cond, start, "if");
    return { type: "if", span: this.span(start, end), clauses, otherwise, redirs: [] };
  }

  /** `for NAME [in WORD...]; do BODY; done`, after `for`. */
  private forCommand(start: number): ShNode {
    const n = this.lx.next();
    if (n.kind !== "word" || !NAME.test(n.text)) {
      throw new Fail(`syntax error: bad for loop variable ${this.describe(n)}`, n.start);
    }
    this.skipNewlines();
    let words: Word[] | undefined;
    if (this.isWord(this.lx.peek(), "in")) {
      this.lx.next();
      words = [];
      while (this.lx.peek().kind === "word") words.push(this.lx.next().word!);
      const sep = this.lx.next();
      if (!(sep.kind === "newline" || (sep.kind === "op" && sep.text === ";"))) {
        throw new Fail(`syntax error: unexpected ${this.describe(sep)}`, sep.start);
      }
    } else if (this.lx.peek().kind === "op" && this.lx.peek().text === ";") this.lx.next();
    this.skipNewlines();
    this.expectWord("do");
    const body = this.body(["done"]);
    const end = this.expectWord("done").end;
    return { type: "for", span: this.span(start, end), name: n.text, words, body, redirs: [] };
  }

  /** `case WORD in [(]PATTERN[|PATTERN]...) BODY;; ... esac`, after `case`. */
  private caseCommand(start: number): ShNode {
    const w = this.lx.next();
    if (w.kind !== "word") throw new Fail(`syntax error: unexpected ${this.describe(w)}`, w.start);
    this.skipNewlines();
    this.expectWord("in");
    this.skipNewlines();
    const bodies: Item[][] = [];
    const patterns: Word[] = [];
    for (;;) {
      const k = this.lx.peek();
      if (this.isWord(k, "esac")) break;
      if (k.kind === "op" && k.text === "(") this.lx.next();
      patterns.push(...this.casePatterns());
      this.expectOp(")");
      bodies.push(this.list(["esac"]));
      const e = this.lx.peek();
      if (e.kind === "op" && e.text === ";;") {
        this.lx.next();
        this.skipNewlines();
      } else break;
    }
    const end = this.expectWord("esac").end;
    const span = this.span(start, end);
    return { type: "case", span, word: w.word!, patterns, bodies, redirs: [] };
  }

  /** A case item's patterns, `a|b|c` (up to its `)`). */
  private casePatterns(): Word[] {
    const words: Word[] = [];
    for (;;) {
      const p = this.lx.next();
      if (p.kind !== "word") {
        throw new Fail(`syntax error: unexpected ${this.describe(p)} in a case pattern`, p.start);
      }
      words.push(p.word!);
      const q = this.lx.peek();
      if (!(q.kind === "op" && q.text === "|")) return words;
      this.lx.next();
    }
  }

  /**
   * The body of a compound command (`{ }`, `( )`, then, else, do): a list
   * that is not empty, as dash reads it (`{ }` is a syntax error at `}`).
   */
  body(ends: string[]): Item[] {
    const items = this.list(ends);
    const t = this.lx.peek();
    // At the end of file, the caller's `expecting '}'` says more.
    if (!items.length && t.kind !== "eof") {
      throw new Fail(`syntax error: unexpected ${this.describe(t)}`, t.start);
    }
    return items;
  }

  nonEmpty(items: Item[], at: number, what: string): void {
    if (!items.length) throw new Fail(`syntax error: empty condition in '${what}'`, at);
  }

  lastEnd = 0;

  /** A redirection at the current token, or undefined. */
  redirect(): Redir | undefined {
    let t = this.lx.peek();
    let fd: number | undefined;
    if (t.kind === "io") {
      fd = Number(t.text);
      this.lx.next();
      t = this.lx.peek();
      if (t.kind !== "op") throw new Fail("syntax error: expected a redirection", t.start);
    }
    if (
      t.kind !== "op" || !["<", ">", ">>", "<&", ">&", "<>", ">|", "<<", "<<-"].includes(t.text)
    ) {
      return undefined;
    }
    this.lx.next();
    const target = this.lx.next();
    if (target.kind !== "word") {
      throw new Fail(
        `syntax error: unexpected ${this.describe(target)} after '${t.text}'`,
        target.start,
      );
    }
    this.lastEnd = target.end;
    return { fd, op: t.text, target: target.word!, heredoc: target.heredoc };
  }

  simple(): ShNode {
    const start = this.lx.peek().start;
    const assigns: Word[] = [];
    const words: Word[] = [];
    const redirs: Redir[] = [];
    let end = start;
    for (;;) {
      const r = this.redirect();
      if (r) {
        redirs.push(r);
        end = this.lastEnd;
        continue;
      }
      const t = this.lx.peek();
      if (t.kind !== "word") break;
      this.lx.next();
      end = t.end;
      if (!words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(t.text)) assigns.push(t.word!);
      else words.push(t.word!);
    }
    if (!assigns.length && !words.length && !redirs.length) {
      const t = this.lx.peek();
      throw new Fail(`syntax error: unexpected ${this.describe(t)}`, t.start);
    }
    return { type: "simple", span: this.span(start, end), assigns, words, redirs };
  }

  program(): ParseResult {
    const items: Item[] = [];
    let itemStart = 0;
    try {
      this.skipNewlines();
      for (;;) {
        const t = this.lx.peek();
        if (t.kind === "eof") break;
        itemStart = t.start;
        const node = this.andOr();
        const sep = this.lx.peek();
        let bg = false;
        if (sep.kind === "op" && (sep.text === ";" || sep.text === "&")) {
          this.lx.next();
          bg = sep.text === "&";
        } else if (sep.kind !== "newline" && sep.kind !== "eof") {
          throw new Fail(`syntax error: unexpected ${this.describe(sep)}`, sep.start);
        }
        items.push({ node, bg });
        this.skipNewlines();
      }
      return { src: this.src, items, heredocs: this.lx.heredocs };
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      const pos = this.lines.pos(e.offset);
      return {
        src: this.src,
        items,
        heredocs: this.lx.heredocs,
        error: {
          message: e.message,
          offset: e.offset,
          ...pos,
          ...(e instanceof TooDeep ? { tooDeep: true } : {}),
        },
        errorItemStart: itemStart,
      };
    }
  }
}

/**
 * Parses a whole script.
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = parseScript("sort a > a.sorted\nif [ -s a.sorted ]; then echo ok; fi\n");
 * assertEquals(r.items.map((i) => i.node.type), ["simple", "if"]);
 * ```
 */
export function parseScript(src: string): ParseResult {
  return new Parser(src).program();
}

/**
 * The text that runs `node` under `sh -c`: its source span, followed by the
 * bodies of here-documents that begin after it.
 *
 * @example
 * ```ts
 * import { nodeText, parseScript } from "./parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = parseScript("cat <<E > out\nhi\nE\n");
 * assertEquals(nodeText(r, r.items[0].node), "cat <<E > out\nhi\nE\n");
 * ```
 */
export function nodeText(r: { src: string; heredocs: HereDoc[] }, node: ShNode): string {
  return jobText(r, node).text;
}

/**
 * `nodeText`, and whether it must be the last thing sh reads (`open`): see
 * `closeHeredocs`.
 *
 * @example
 * ```ts
 * import { jobText, parseScript } from "./parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = parseScript("cat <<E\nhi");
 * assertEquals(jobText(r, r.items[0].node), { text: "cat <<E\nhi", open: true });
 * ```
 */
export function jobText(
  r: { src: string; heredocs: HereDoc[] },
  node: ShNode,
): { text: string; open: boolean } {
  const { start, end } = node.span;
  const text = r.src.slice(start, end);
  const after = r.heredocs.filter((h) => h.bodyStart >= end && ownsHeredoc(node, h));
  if (!after.length) return { text, open: false };
  return closeHeredocs(
    r.src,
    after,
    text + "\n" + after.map((h) => r.src.slice(h.bodyStart, h.bodyEnd)).join(""),
  );
}

/**
 * A job text that reaches the end of the script, with here-documents `hds`
 * in it, made to read as the script does when more text follows it: an open
 * here-document (the script ends before its delimiter line) gets its
 * delimiter line when its body is empty or ends in a newline (sh reads the
 * same body). A body without a final newline cannot be closed: the text is
 * `open`, and sh must read nothing after it (not even a newline).
 *
 * @example
 * ```ts
 * import { closeHeredocs, parseScript } from "./parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = parseScript("cat <<E\nhi\n");
 * assertEquals(closeHeredocs(r.src, r.heredocs, r.src), { text: "cat <<E\nhi\nE\n", open: false });
 * ```
 */
export function closeHeredocs(
  src: string,
  hds: HereDoc[],
  text: string,
): { text: string; open: boolean } {
  for (const h of hds) {
    if (!h.open) continue;
    const body = src.slice(h.bodyStart, h.bodyEnd);
    if (body !== "" && !body.endsWith("\n")) return { text, open: true };
    text += h.delim + "\n";
  }
  return { text, open: false };
}

/** Whether a redirection inside `node` names here-document `h`. */
function ownsHeredoc(node: ShNode, h: HereDoc): boolean {
  let found = false;
  walk(node, (n) => {
    if ("redirs" in n && n.redirs.some((r) => r.heredoc === h)) found = true;
  });
  return found;
}

/**
 * Calls `f` on `node` and every node inside it.
 *
 * @example
 * ```ts
 * import { parseScript, walk } from "./parse.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = parseScript("if a; then b; fi\n");
 * let n = 0;
 * walk(r.items[0].node, () => n++);
 * assertEquals(n, 3);
 * ```
 */
export function walk(node: ShNode, f: (n: ShNode) => void): void {
  f(node);
  const items = (list: Item[]) => list.forEach((i) => walk(i.node, f));
  switch (node.type) {
    case "pipeline":
      node.cmds.forEach((c) => walk(c, f));
      break;
    case "andor":
      walk(node.first, f);
      node.rest.forEach((r) => walk(r.node, f));
      break;
    case "if":
      for (const c of node.clauses) {
        items(c.cond);
        items(c.body);
      }
      if (node.otherwise) items(node.otherwise);
      break;
    case "while":
    case "until":
      items(node.cond);
      items(node.body);
      break;
    case "for":
    case "group":
    case "subshell":
      items(node.body);
      break;
    case "case":
      node.bodies.forEach(items);
      break;
    case "func":
      walk(node.body, f);
      break;
    case "simple":
      break;
    default: {
      const _assertNever: never = node;
    }
  }
}
