/**
 * A fast front end for the YAML that jobs files are made of: block mappings
 * and sequences, plain and quoted one-line scalars, one-line flow `[a, b]`
 * and `{k: v}` (`{"k":v}` as JSON writes it), comments; and the lines an
 * `emits: jobs` job writes, one JSON object each. It builds the same nodes, with the same ranges,
 * as the `yaml` package (so the `Validator` and every `FILE:LINE:COL` stay
 * as they were), in a fraction of its time and memory. Anything else
 * (anchors, aliases, tags, block scalars, multi-line flows or scalars,
 * duplicate keys, documents markers, tabs, any error) makes it give up:
 * `fastYaml` returns undefined and the `yaml` package parses the whole text,
 * errors included.
 *
 * @module
 */
import type { Document } from "../runtime/yaml.ts";
import { coreNumber } from "../runtime/yaml_light.ts";
import { table } from "./table.ts";

/**
 * Nodes as light as the `Validator` needs: the package's node classes set
 * their kind with `defineProperty` on each object, which costs more than the
 * parse itself on a big file. The package tells kinds apart by a registered
 * symbol (`Symbol.for`, shared by every copy of it), set here once on each
 * class's prototype, so its `isScalar`, `isMap`, `isSeq` and `isPair` know
 * these. `range` is made when asked for (only its start is ever read).
 */
const NODE_TYPE = Symbol.for("yaml.node.type");

/**
 * A scalar: its value and where its text starts and ends; a plain one read as other than a
 * string (`3.10`, `0x1F`, `True`) keeps its text as written in `source`, as the package's do.
 */
class LightScalar {
  constructor(
    readonly value: unknown,
    readonly start: number,
    readonly end: number,
    readonly source?: string,
  ) {}
  get range(): [number, number, number] {
    return [this.start, this.end, this.end];
  }
}

/** A mapping's key and value. */
class LightPair {
  constructor(readonly key: LightScalar, readonly value: LightNode) {}
}

/** A mapping or a sequence. */
class LightCollection<T> {
  readonly items: T[] = [];
  end = 0;
  constructor(readonly start: number, readonly flow: boolean) {}
  get range(): [number, number, number] {
    return [this.start, this.end, this.end];
  }
}
/** SameValueZero, as a Set compares: `===`, but NaN is NaN. */
const sameKey = (a: unknown, b: unknown) => a === b || (a !== a && b !== b);

class LightMap extends LightCollection<LightPair> {
  /** The keys, once there are more than a few (a scan is cheaper before). */
  private keys?: Set<unknown>;

  /** Adds a pair; gives up on a key that is already there, or the merge key `<<`. */
  add(pair: LightPair): void {
    const key = pair.key.value;
    if (key === "<<") giveUp();
    if (this.keys) {
      const had = this.keys.size;
      if (this.keys.add(key).size === had) giveUp(); // there already (one lookup, not two)
    } else {
      // As the Set above and graph/yaml_full.ts's check (SameValueZero): `.nan` twice is a key
      // twice, and so are 0 and -0.
      for (const p of this.items) if (sameKey(p.key.value, key)) giveUp();
      if (this.items.length === 8) {
        this.keys = new Set([...this.items.map((p) => p.key.value), key]);
      }
    }
    this.items.push(pair);
  }
}
class LightSeq extends LightCollection<LightNode> {}

/**
 * A one-line flow mapping of scalars and flat lists of scalars under string
 * keys (`{ run: "true", reads: [a.c, b.h] }`: a job as big files write it),
 * kept as its values. Its nodes are made when asked for (`items`: the
 * validator's walk for positions, a message); a reader of `compactValues`
 * never makes them. A big file held about 1.5 KB of nodes per such job.
 */
class CompactMap {
  readonly flow = true;
  private made?: LightPair[];
  constructor(
    readonly start: number,
    readonly end: number,
    /** Each key's value: a scalar's, or a list of scalars' (keys in their order). */
    readonly values: Readonly<Record<string, unknown>>,
    private readonly parser: FastParser,
    private readonly line: number,
    private readonly depth: number,
  ) {}
  get range(): [number, number, number] {
    return [this.start, this.end, this.end];
  }
  get items(): LightPair[] {
    return this.made ??= this.parser.remake(this.line, this.start, this.depth);
  }
}
type LightNode = LightScalar | LightMap | LightSeq | CompactMap;

/**
 * The values of a compact flow mapping made here (see `CompactMap`), keys in
 * their order; undefined for any other node.
 *
 * @example
 * ```ts
 * import { compactValues, fastYaml } from "./fast_yaml.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const doc = fastYaml("a: { run: x, reads: [b, c] }\n")!.doc;
 * const pair = (doc.contents as unknown as { items: { value: unknown }[] }).items[0];
 * assertEquals({ ...compactValues(pair.value) }, { run: "x", reads: ["b", "c"] });
 * ```
 */
export function compactValues(node: unknown): Readonly<Record<string, unknown>> | undefined {
  return node instanceof CompactMap ? node.values : undefined;
}

for (
  const [cls, kind] of [
    [LightScalar, "yaml.scalar"],
    [LightPair, "yaml.pair"],
    [LightMap, "yaml.map"],
    [CompactMap, "yaml.map"],
    [LightSeq, "yaml.seq"],
  ] as const
) {
  Object.defineProperty(cls.prototype, NODE_TYPE, { value: Symbol.for(kind) });
}

/** Documents made here: none holds a NUL (an escaped one makes the parser give up). */
const made = new WeakSet<object>();

/** Whether `doc` was made here, so holds no NUL character. */
export function nulFree(doc: object): boolean {
  return made.has(doc);
}

/** Thrown inside the parser when the text is outside its subset. */
const GIVE_UP = Symbol("give up");

/** Deeper than this (block or flow) is left to the `yaml` package and its limits. */
const MAX_NEST = 32;

/** Characters that make the text not ours at all (tabs, CR, control characters, BOM). */
// deno-lint-ignore no-control-regex
const FOREIGN = /[\0-\x08\t\x0b-\x1f\x7f\ufeff\u2028\u2029]/;

/** A plain scalar may not start with one of these. */
const INDICATOR = /[-?:,[\]{}#&*!|>'"%@`]/;

/** Plain scalars the core schema reads as something other than a string, by form. */
const NULLS = new Set(["~", "null", "Null", "NULL"]);
const BOOLS = new Map([
  ["true", true],
  ["True", true],
  ["TRUE", true],
  ["false", false],
  ["False", false],
  ["FALSE", false],
]);
/** The core schema's numbers (ints, octal, hex, floats, inf, nan): read by the `yaml` package. */
const NUMBER =
  /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;

/** What a double-quoted escape stands for (one character after the backslash). */
const ESCAPES: Record<string, string> = {
  "0": "\0",
  a: "\x07",
  b: "\b",
  t: "\t",
  n: "\n",
  v: "\v",
  f: "\f",
  r: "\r",
  e: "\x1b",
  " ": " ",
  '"': '"',
  "/": "/",
  "\\": "\\",
  N: "\x85",
  _: "\xa0",
  L: "\u2028",
  P: "\u2029",
};
const HEX_LEN: Record<string, number> = { x: 2, u: 4, U: 8 };

/**
 * Parses `text` when it is within the subset: the document (as the `yaml`
 * package's `parseDocument` would make it, without errors) and the offset
 * where each line starts (for a `LineCounter`); undefined otherwise. With
 * `flowRoot`, the root may also be a flow collection on one line (a JSON
 * object: a line an `emits: jobs` job wrote); a jobs file's root is a block
 * mapping.
 */
export function fastYaml(
  text: string,
  flowRoot = false,
): { doc: Document.Parsed; lineStarts: number[] } | undefined {
  if (FOREIGN.test(text)) return undefined;
  try {
    const p = new FastParser(text);
    const contents = p.document(flowRoot);
    // Cast: what the loader reads of a document (its contents, range and errors), without the
    // package's class (loading the package is what this front end saves).
    const doc = {
      contents,
      range: [0, text.length, text.length],
      errors: [],
      warnings: [],
    } as unknown as Document.Parsed;
    made.add(doc);
    return { doc, lineStarts: p.lineStarts };
  } catch (e) {
    if (e === GIVE_UP) return undefined;
    throw e;
  }
}

/** What `flowScalar` gives for a collection (not a scalar's value). */
const NOT_SCALAR = Symbol("not a scalar");

const giveUp = (): never => {
  throw GIVE_UP;
};

/** The parser's state: the text, its lines, the current line. */
class FastParser {
  readonly lineStarts: number[] = [0];
  private line = 0; // index of the current line
  private start = 0; // its first offset
  private end = 0; // its end (the newline's offset, or the text's length)
  private indent = 0; // offset of its first non-space character, minus `start`
  private stop = 0; // where the scalar last read ends (see `plainValue`, `quotedValue`)

  constructor(private text: string) {
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) {
      this.lineStarts.push(i + 1);
    }
    this.seek(0);
  }

  /**
   * The root: a block mapping at column 1 (or, with `flowRoot`, a one-line
   * flow collection there), then nothing but comments.
   */
  document(flowRoot: boolean): LightNode {
    if (this.atEnd() || this.indent !== 0) giveUp();
    const c = this.text[this.start];
    let root: LightNode;
    if (flowRoot && (c === "{" || c === "[")) {
      root = this.flow(this.start, 0);
      this.afterValue(root.end);
      this.seek(this.line + 1);
    } else root = this.block(0, 0);
    if (!this.atEnd()) giveUp();
    return root;
  }

  /** Moves to the next line with content at or after line `n` (comments and blanks skipped). */
  private seek(n: number): void {
    const { text, lineStarts } = this;
    for (; n < lineStarts.length; n++) {
      const s = lineStarts[n];
      const e = n + 1 < lineStarts.length ? lineStarts[n + 1] - 1 : text.length;
      let i = s;
      while (i < e && text.charCodeAt(i) === 32) i++;
      if (i === e || text[i] === "#") continue;
      if (i === s && /^(---|\.\.\.|%)/.test(text.slice(s, s + 3))) giveUp();
      this.line = n;
      this.start = s;
      this.end = e;
      this.indent = i - s;
      return;
    }
    this.line = lineStarts.length;
    this.start = this.end = text.length;
    this.indent = -1;
  }

  /** The offset of `s` (one or two characters) on the current line from `i`, or -1. */
  private find(s: string, i: number): number {
    const { text, end } = this;
    const c = s.charCodeAt(0), d = s.length > 1 ? s.charCodeAt(1) : -1;
    for (; i < end; i++) {
      if (text.charCodeAt(i) === c && (d < 0 || text.charCodeAt(i + 1) === d)) return i;
    }
    return -1;
  }

  private atEnd(): boolean {
    return this.line >= this.lineStarts.length;
  }

  /** Whether offset `i` starts a block sequence item (`-` then a space or the line's end). */
  private isDash(i: number): boolean {
    return this.text[i] === "-" && (i + 1 === this.end || this.text[i + 1] === " ");
  }

  /** The block collection whose first line is the current one, at `indent`. */
  private block(indent: number, depth: number): LightNode {
    if (depth > MAX_NEST) giveUp();
    return this.isDash(this.start + indent)
      ? this.blockSeq(indent, depth)
      : this.blockMap(indent, depth);
  }

  /** A block mapping: `key: value` lines at `indent`. */
  private blockMap(indent: number, depth: number): LightNode {
    const map = new LightMap(this.start + indent, false);
    while (!this.atEnd() && this.indent === indent && !this.isDash(this.start + indent)) {
      const [key, colon] = this.blockKey(this.start + indent);
      map.add(new LightPair(key, this.blockValue(colon + 1, indent, depth)));
    }
    if (!this.atEnd() && this.indent > indent) giveUp();
    map.end = this.start;
    return map;
  }

  /** A key and the offset of its `:`. */
  private blockKey(i: number): [LightScalar, number] {
    const { text } = this;
    if (text[i] === '"' || text[i] === "'") {
      const key = this.quoted(i);
      const colon = key.end;
      if (text[colon] !== ":") giveUp();
      return [key, colon];
    }
    let j = this.find(":", i);
    while (j >= 0 && j + 1 < this.end && text[j + 1] !== " ") j = this.find(":", j + 1);
    if (j < 0) giveUp();
    return [this.plain(i, j, true), j];
  }

  /** The value after a key's colon: on the same line, or the block on the next lines. */
  private blockValue(i: number, indent: number, depth: number): LightNode {
    i = this.skipSpaces(i);
    if (i < this.end && this.text[i] !== "#") {
      if (this.text[i - 1] !== " ") giveUp(); // `"key":value`
      const v = this.inlineValue(i, depth);
      this.seek(this.line + 1);
      return v;
    }
    this.seek(this.line + 1);
    if (this.atEnd()) giveUp();
    if (this.indent > indent) return this.block(this.indent, depth + 1);
    if (this.indent === indent && this.isDash(this.start + indent)) {
      return this.blockSeq(indent, depth + 1);
    }
    return giveUp(); // an empty value: left to the yaml package
  }

  /** A block sequence: `- item` lines at `indent`. */
  private blockSeq(indent: number, depth: number): LightNode {
    const seq = new LightSeq(this.start + indent, false);
    while (!this.atEnd() && this.indent === indent && this.isDash(this.start + indent)) {
      const i = this.skipSpaces(this.start + indent + 1);
      if (i >= this.end || this.text[i] === "#" || this.isDash(i)) giveUp();
      seq.items.push(this.inlineValue(i, depth));
      this.seek(this.line + 1);
    }
    if (!this.atEnd() && this.indent > indent) giveUp();
    seq.end = this.start;
    return seq;
  }

  /** A value that ends on this line: flow, quoted or plain, then only a comment. */
  private inlineValue(i: number, depth: number): LightNode {
    const { text } = this;
    let node: LightNode;
    const c = text[i];
    if (c === "{") node = this.compact(i, depth + 1) ?? this.flow(i, depth + 1);
    else if (c === "[") node = this.flow(i, depth + 1);
    else if (c === '"' || c === "'") node = this.quoted(i);
    else {
      const hash = this.find(" #", i);
      let e = hash >= 0 ? hash : this.end;
      while (text.charCodeAt(e - 1) === 32) e--;
      node = this.plain(i, e, false);
      const v = text.slice(i, e);
      if (v.includes(": ") || v.endsWith(":")) giveUp();
    }
    this.afterValue(node.end);
    return node;
  }

  /** Only spaces or a comment may follow a value on its line. */
  private afterValue(i: number): void {
    i = this.skipSpaces(i);
    if (i < this.end && !(this.text[i] === "#" && this.text[i - 1] === " ")) giveUp();
  }

  private skipSpaces(i: number): number {
    while (i < this.end && this.text.charCodeAt(i) === 32) i++;
    return i;
  }

  /** A plain scalar `text[i, e)`, resolved as the core schema does. */
  private plain(i: number, e: number, key: boolean): LightScalar {
    const value = this.plainValue(i, e, key);
    if (typeof value === "string") return new LightScalar(value, i, this.stop);
    return new LightScalar(value, i, this.stop, this.text.slice(i, this.stop));
  }

  /** The value of the plain scalar `text[i, e)`; `stop` is set to where its text ends. */
  private plainValue(i: number, e: number, key: boolean): unknown {
    // YAML trims spaces and tabs only (`trimEnd` would take U+00A0, U+3000... too).
    let k = e;
    while (k > i && (this.text.charCodeAt(k - 1) === 32 || this.text.charCodeAt(k - 1) === 9)) k--;
    const src = this.text.slice(i, k);
    if (src === "" || (key && src.includes(" #"))) giveUp();
    // `-O2` is plain; `- x`, `-`, `&a`, `*a`, `!t`, `|`, `>`... are not ours.
    if (INDICATOR.test(src[0]) && !(src[0] === "-" && src.length > 1 && src[1] !== " ")) giveUp();
    this.stop = k;
    return resolvePlain(src);
  }

  /** A one-line quoted scalar starting at `i` (its range ends after the closing quote). */
  private quoted(i: number): LightScalar {
    const value = this.quotedValue(i);
    return new LightScalar(value, i, this.stop);
  }

  /** The value of the quoted scalar at `i`; `stop` is set to after its closing quote. */
  private quotedValue(i: number): string {
    const { text } = this;
    const q = text[i];
    let out = "";
    let j = i + 1;
    for (;;) {
      const k = q === "'" ? this.find("'", j) : this.dqStop(j);
      if (k < 0) giveUp();
      out += text.slice(j, k);
      if (q === "'" && text[k + 1] === "'") [out, j] = [out + "'", k + 2];
      else if (q === '"' && text[k] === "\\") [out, j] = this.escape(out, k);
      else {
        j = k + 1;
        break;
      }
    }
    this.stop = j;
    return out;
  }

  /** The next `"` or backslash on this line from `j`, or -1. */
  private dqStop(j: number): number {
    for (; j < this.end; j++) {
      const c = this.text.charCodeAt(j);
      if (c === 34 || c === 92) return j;
    }
    return -1;
  }

  /** One escape at `k` (a backslash) of a double-quoted scalar. */
  private escape(out: string, k: number): [string, number] {
    const c = this.text[k + 1];
    const n = HEX_LEN[c];
    if (n === undefined) {
      // `\0` is left to the package path, where the Validator refuses it with its position.
      const v = c !== "0" && Object.hasOwn(ESCAPES, c) ? ESCAPES[c] : giveUp();
      return [out + v, k + 2];
    }
    const hex = this.text.slice(k + 2, k + 2 + n);
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) giveUp();
    const cp = parseInt(hex, 16);
    if (cp > 0x10ffff || cp === 0) giveUp();
    return [out + String.fromCodePoint(cp), k + 2 + n];
  }

  /**
   * A flow mapping at `i` as a `CompactMap`, when it holds only scalars and
   * flat lists of scalars under string keys; undefined otherwise (`flow`
   * makes its nodes then). Gives up where `flow` would.
   */
  private compact(i: number, depth: number): CompactMap | undefined {
    if (depth > MAX_NEST) giveUp();
    const { text } = this;
    const values: Record<string, unknown> = table();
    let j = this.skipSpaces(i + 1);
    while (text[j] !== "}") {
      const quotedKey = text[j] === '"' || text[j] === "'";
      const key = this.flowScalar(j);
      if (key === NOT_SCALAR) giveUp(); // a collection as a key: `flow` would give up too
      j = this.skipSpaces(this.stop);
      if (!this.isColon(j, quotedKey)) giveUp();
      j = this.skipSpaces(j + 1);
      const v = text[j] === "[" ? this.scalarList(j, depth + 1) : this.flowScalar(j);
      if (key === "<<" || (typeof key === "string" && Object.hasOwn(values, key))) giveUp();
      // A key that is not a string, a mapping in the mapping, a list of lists: nodes.
      if (typeof key !== "string" || v === NOT_SCALAR) return undefined;
      values[key] = v;
      j = this.skipSpaces(this.stop);
      if (text[j] === ",") j = this.skipSpaces(j + 1);
      else if (text[j] !== "}") giveUp();
    }
    return new CompactMap(i, j + 1, values, this, this.line, depth);
  }

  /**
   * The value of the scalar at `i` in a flow collection (`stop` set to
   * where it ends), as `flowItem` reads it; `NOT_SCALAR` for a collection.
   */
  private flowScalar(i: number): unknown {
    const { text } = this;
    if (i >= this.end) giveUp();
    const c = text.charCodeAt(i);
    if (c === 91 || c === 123) return NOT_SCALAR; // `[` `{`
    if (c === 34 || c === 39) return this.quotedValue(i); // `"` `'`
    const e = this.plainEnd(i);
    return this.plainValue(i, e, true);
  }

  /**
   * The flow list at `i` as its values when it holds only scalars (`stop`
   * set to after its `]`), else `NOT_SCALAR`; gives up where `flow` would.
   */
  private scalarList(i: number, depth: number): unknown[] | typeof NOT_SCALAR {
    if (depth > MAX_NEST) giveUp();
    const { text } = this;
    // Gathered in one list reused from call to call, then copied at their size: a list grown
    // by a push has room for 17 (152 bytes for a job's `reads` of 3, 40 copied), and these
    // live as long as the load, and then as the jobs' own `reads` and `writes`.
    const list = this.listItems;
    list.length = 0;
    let j = this.skipSpaces(i + 1);
    while (text[j] !== "]") {
      const v = this.flowScalar(j);
      if (v === NOT_SCALAR) return NOT_SCALAR;
      list.push(v);
      j = this.skipSpaces(this.stop);
      if (text[j] === ",") j = this.skipSpaces(j + 1);
      else if (text[j] !== "]") giveUp();
    }
    this.stop = j + 1;
    return list.slice();
  }

  /** `scalarList`'s items while it reads them. */
  private listItems: unknown[] = [];

  /** The pairs of the compact mapping at `i` on line `line`, made again as nodes. */
  remake(line: number, i: number, depth: number): LightPair[] {
    const { lineStarts } = this;
    this.line = line;
    this.start = lineStarts[line];
    this.end = line + 1 < lineStarts.length ? lineStarts[line + 1] - 1 : this.text.length;
    const map = this.flow(i, depth);
    if (!(map instanceof LightMap)) throw new Error("internal error: a compact mapping changed");
    return map.items;
  }

  /** A flow collection that closes on this line. */
  private flow(i: number, depth: number): LightNode {
    if (depth > MAX_NEST) giveUp();
    const isMap = this.text[i] === "{";
    const close = isMap ? "}" : "]";
    const node = isMap ? new LightMap(i, true) : new LightSeq(i, true);
    let j = this.skipSpaces(i + 1);
    while (this.text[j] !== close) {
      const item = this.flowItem(j, depth);
      j = this.skipSpaces(item.end);
      if (node instanceof LightMap) {
        if (!(item instanceof LightScalar)) return giveUp();
        if (!this.isColon(j, this.text[item.start] === '"' || this.text[item.start] === "'")) {
          giveUp();
        }
        const value = this.flowItem(this.skipSpaces(j + 1), depth);
        node.add(new LightPair(item, value));
        j = this.skipSpaces(value.end);
      } else node.items.push(item);
      if (this.text[j] === ",") j = this.skipSpaces(j + 1);
      else if (this.text[j] !== close) giveUp();
    }
    node.end = j + 1;
    return node;
  }

  /**
   * Whether a flow mapping's `:` is at `j`: followed by a space, or, after a quoted key, by
   * anything (`{"a":1}`, as JSON writes it: YAML 1.2 takes a value right after a JSON-like key).
   */
  private isColon(j: number, quotedKey: boolean): boolean {
    return this.text[j] === ":" && (quotedKey || this.text[j + 1] === " ");
  }

  /** An item of a flow collection: a nested flow, a quoted or a plain scalar. */
  private flowItem(i: number, depth: number): LightNode {
    const { text } = this;
    if (i >= this.end) giveUp();
    const c = text[i];
    if (c === "[" || c === "{") return this.flow(i, depth + 1);
    if (c === '"' || c === "'") return this.quoted(i);
    return this.plain(i, this.plainEnd(i), true);
  }

  /** Where the plain scalar at `i` in a flow collection ends; gives up on a comment or `a:b`. */
  private plainEnd(i: number): number {
    const { text } = this;
    let e = i;
    for (; e < this.end; e++) {
      const c = text.charCodeAt(e);
      if (isFlowEnd(c)) break;
      if (c === 35 && text.charCodeAt(e - 1) === 32) giveUp(); // ` #`: a comment
    }
    if (text[e] === ":" && text[e + 1] !== " ") giveUp();
    return e;
  }
}

/**
 * Whether the character (code) `c` ends a plain scalar inside a flow
 * collection: `,` `[` `]` `{` `}` `:` (a `:` ends it only before a space).
 */
function isFlowEnd(c: number): boolean {
  return c === 44 || c === 91 || c === 93 || c === 123 || c === 125 || c === 58;
}

/** A plain scalar's value: null, a boolean, a number (as the core schema reads it), or the text. */
function resolvePlain(src: string): unknown {
  if (src.length <= 5) {
    if (NULLS.has(src)) return null;
    const b = BOOLS.get(src);
    if (b !== undefined) return b;
  }
  const c = src.charCodeAt(0);
  // Only a digit, a sign or a dot can start a number.
  if ((c <= 57 && c >= 48) || c === 43 || c === 45 || c === 46) {
    if (NUMBER.test(src)) return coreNumber(src);
  }
  return src;
}
