/**
 * Limits that stop a hostile or mistaken jobs file before time or memory run
 * away: nesting depth, what YAML aliases expand to, the length of a
 * substituted value and the number of jobs. Each is documented in
 * docs/jobs-file.md ("Limits"); going past one is a `FILE:LINE:COL` error.
 *
 * Also the YAML front end: the `yaml` package's own parse, less its two costly
 * parts, done here instead: nesting is measured on the syntax tree (the
 * package recurses and overflows the stack on deep input) and duplicate keys
 * are found with a set (the package compares each key with every earlier one).
 *
 * @module
 */
import {
  Composer,
  type CstToken,
  type Document,
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  Parser,
  YAMLParseError,
} from "../runtime/yaml.ts";
import { JxInputError } from "./errors.ts";
import { fastYaml } from "./fast_yaml.ts";
import { globProblem } from "./glob.ts";
import type { JobSpec } from "./types.ts";
import type { PosMap } from "./validate.ts";

/** Collections nested deeper than this are an error (a jobs file needs about 6). */
export const MAX_DEPTH = 64;
/** At most this many YAML nodes added by aliases (`*name`, `<<: *name`) in all. */
export const MAX_ALIAS_NODES = 200_000;
/** The longest value after `${NAME}` substitution (Linux's limit on one argument is 128 KiB). */
export const MAX_VALUE_LENGTH = 128 * 1024;
/** At most this many jobs and modules in a file, after `foreach`. */
export const MAX_JOBS = 200_000;

/** A CST token's nested tokens (the key and value of each item), if it is a collection. */
function children(tok: CstToken): CstToken[] {
  switch (tok.type) {
    case "document":
      return tok.value ? [tok.value] : [];
    case "block-map":
    case "block-seq":
    case "flow-collection": {
      const out: CstToken[] = [];
      for (const it of tok.items) {
        if ("key" in it && it.key) out.push(it.key);
        if (it.value) out.push(it.value);
      }
      return out;
    }
    default:
      return [];
  }
}

/** Throws when collections in `doc` nest deeper than MAX_DEPTH (walked without recursion). */
function checkDepth(doc: CstToken, fail: (msg: string, offset: number) => never): void {
  const stack: [CstToken, number][] = [[doc, 0]];
  while (stack.length) {
    const [tok, depth] = stack.pop()!;
    const kids = children(tok);
    const d = tok.type === "document" ? depth : depth + 1;
    if (kids.length && d > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} levels`, tok.offset);
    for (const c of kids) stack.push([c, d]);
  }
}

/** The offset of the most indented line (counting `- ` as indentation). */
function deepestLine(text: string): number {
  let best = 0, bestIndent = -1;
  const re = /^[ -]*/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0].length > bestIndent) [best, bestIndent] = [m.index, m[0].length];
    re.lastIndex = m.index + m[0].length + 1;
  }
  return best;
}

let useFastYaml = true;

/** Turns the fast front end (`fast_yaml.ts`) off or on: tests compare both. */
export function setFastYaml(on: boolean): void {
  useFastYaml = on;
}

/**
 * Parses YAML text into a document with positions, as `parseDocument` with
 * `merge: true` and unique keys would, within the limits above. Problems the
 * `yaml` package finds are left in `doc.errors`; those found here throw.
 */
export function parseYaml(text: string, file: string, lines: LineCounter): Document.Parsed {
  // The subset jobs files are made of, fast; anything else (errors too) by the package.
  const fast = useFastYaml ? fastYaml(text) : undefined;
  if (fast) {
    for (const s of fast.lineStarts) lines.addNewLine(s);
    return fast.doc;
  }
  const fail = (msg: string, offset: number): never => {
    throw new JxInputError(msg, file, lines.linePos(offset));
  };
  let tokens: CstToken[];
  try {
    tokens = [...new Parser(lines.addNewLine).parse(text)];
  } catch (e) {
    // The parser recurses once per level when thousands of block levels close at once.
    if (!(e instanceof RangeError)) throw e;
    fail(`nested deeper than ${MAX_DEPTH} levels`, deepestLine(text));
  }
  for (const t of tokens!) if (t.type === "document") checkDepth(t, fail);
  const composer = new Composer({ uniqueKeys: false, merge: true, prettyErrors: false });
  let doc: Document.Parsed | undefined;
  for (const d of composer.compose(tokens!, true, text.length)) {
    if (!doc) doc = d;
    else {
      const msg = "Source contains multiple documents";
      doc.errors.push(new YAMLParseError([d.range[0], d.range[1]], "MULTIPLE_DOCS", msg));
      break;
    }
  }
  if (doc!.errors.length === 0) checkNodes(doc!, fail);
  return doc!;
}

/**
 * Finds duplicate keys, and measures the document as aliases expand it: each
 * alias adds the size of the node it names (that node's own aliases
 * included), and nests as deep as that node does.
 */
function checkNodes(doc: Document.Parsed, fail: (msg: string, offset: number) => never): void {
  /** Size and depth of each node seen, aliases expanded. */
  const measure = new Map<Node, [number, number]>();
  let added = 0;
  // Post-order without recursion: a node is entered, then left once its children are done.
  const stack: [Node, boolean][] = isNode(doc.contents) ? [[doc.contents, false]] : [];
  while (stack.length) {
    const [node, done] = stack.pop()!;
    if (isAlias(node)) {
      const resolved = node.resolve(doc);
      const target = isNode(resolved) ? resolved : undefined;
      const m: [number, number] | undefined = target ? measure.get(target) : [1, 0];
      if (m === undefined) fail(`alias *${node.source} is inside the node it names`, at(node));
      if ((added += m![0]) > MAX_ALIAS_NODES) {
        fail(`aliases expand to more than ${MAX_ALIAS_NODES} YAML nodes`, at(node));
      }
      measure.set(node, m!);
      continue;
    }
    const kids = childNodes(node);
    if (!done) {
      if (isMap(node)) checkKeys(node.items, fail);
      stack.push([node, true]);
      for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], false]);
      continue;
    }
    let size = 1, depth = 0;
    for (const k of kids) {
      const [s, d] = measure.get(k) ?? [1, 0];
      size += s;
      depth = Math.max(depth, d);
    }
    if (kids.length && ++depth > MAX_DEPTH) {
      fail(`nested deeper than ${MAX_DEPTH} levels once aliases are expanded`, at(node));
    }
    measure.set(node, [size, depth]);
  }
}

function at(node: Node): number {
  return node.range?.[0] ?? 0;
}

/** The keys and values of a mapping, the items of a sequence. */
function childNodes(node: Node): Node[] {
  const out: Node[] = [];
  if (!isMap(node) && !isSeq(node)) return out;
  const items: unknown[] = node.items;
  for (const it of items) {
    if (isPair(it)) {
      if (isNode(it.key)) out.push(it.key);
      if (isNode(it.value)) out.push(it.value);
    } else if (isNode(it)) out.push(it);
  }
  return out;
}

/** A key written twice in one mapping: `duplicate key 'k'` at the second. */
function checkKeys(items: unknown[], fail: (msg: string, offset: number) => never): void {
  const seen = new Set<unknown>();
  for (const it of items) {
    if (!isPair(it) || !isScalar(it.key)) continue;
    const k = it.key.value;
    if (seen.has(k)) {
      const shown = typeof k === "symbol" ? k.description : String(k);
      fail(`duplicate key '${shown}'`, at(it.key));
    }
    seen.add(k);
  }
}

/**
 * Throws at the first malformed glob in a spec's `reads` or `writes` (an
 * unclosed `{` or `[`, a backwards range), at its position when known.
 */
export function checkResourceGlobs(spec: JobSpec, p: string, file: string, positions: PosMap) {
  for (const key of ["reads", "writes"] as const) {
    spec[key].forEach((r, i) => {
      const problem = r[0] === "@" ? undefined : globProblem(r);
      if (problem === undefined) return;
      const pos = positions.get(`${p}.${key}.${i}`) ?? positions.get(`${p}.${key}`);
      throw new JxInputError(`${p}.${key}[${i}]: bad glob '${r}': ${problem}`, file, pos);
    });
  }
}
