/**
 * The `yaml` package's parse of what the fast front end (fast_yaml.ts)
 * leaves (anchors, block scalars, multi-line flows, errors...), less its
 * two costly parts, done here instead: nesting is measured on the syntax
 * tree (the package recurses and overflows the stack on deep input) and
 * duplicate keys are found with a set (the package compares each key with
 * every earlier one). Loading this module loads the package and hands the
 * parse to limits.ts `parseYaml` (graph/mod.ts loads it; a `jx run` only
 * when a file needs it: on Deno the package sets up the Node compatibility).
 *
 * @example
 * ```ts
 * import "./yaml_full.ts";
 * import { parseYaml } from "./limits.ts";
 * import { LineCounter } from "../runtime/yaml_light.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const doc = parseYaml("a: &x 1\nb: *x\n", "j.yaml", new LineCounter());
 * assertEquals(doc.toJS(), { a: 1, b: 1 });
 * ```
 *
 * @module
 */
import {
  Composer,
  CST,
  type CstToken,
  type Document,
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  type Node,
  Parser,
  YAMLParseError,
} from "../runtime/yaml.ts";
import type { LineCounter } from "../runtime/yaml_light.ts";
import { JxInputError } from "./errors.ts";
import { MAX_ALIAS_NODES, MAX_DEPTH, setFullParser } from "./limits.ts";
import { syntaxHint } from "./hints.ts";

/**
 * Parses `text` with the package as `parseDocument` with `merge: true` and
 * unique keys would, within the limits; throws the first problem as a
 * `FILE:LINE:COL` error.
 */
function parseFull(text: string, file: string, lines: LineCounter): Document.Parsed {
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
  const firstError = doc!.errors[0];
  if (firstError) throw yamlError(text, file, lines, firstError);
  checkNodes(doc!, fail);
  return doc!;
}

setFullParser(parseFull);

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

/** A YAML parse error as a one-line message at the most useful position. */
function yamlError(
  text: string,
  file: string,
  lines: LineCounter,
  err: { code: string; message: string; pos: [number, number] },
): JxInputError {
  let offset = err.pos[0];
  let msg = err.message.split("\n")[0].replace(/; please use .*$/, "");
  if (err.code === "DUPLICATE_KEY") {
    return new JxInputError(`duplicate key${keyAt(text, offset)}`, file, lines.linePos(offset));
  }
  if (/Missing closing .?quote/.test(msg)) {
    // Point at the opening quote, not at the end of the file.
    for (const tok of new Parser().parse(text)) {
      if (tok.type !== "document") continue;
      CST.visit(tok, (item) => {
        for (const t of [item.key, item.value]) {
          if (
            t && (t.type === "double-quoted-scalar" || t.type === "single-quoted-scalar") &&
            t.offset < offset
          ) {
            const q = t.source[0];
            if (t.source.length < 2 || !t.source.trimEnd().endsWith(q)) offset = t.offset;
          }
        }
      });
    }
  }
  const line = text.split("\n")[lines.linePos(offset).line - 1] ?? "";
  if (/\$\{/.test(line) && /flow|Missing , or :/i.test(msg)) {
    msg += ' (quote values that contain ${...} inside [ ] or { }: "${X}")';
  } else {
    const h = syntaxHint(err.code, msg, text, offset);
    [offset, msg] = [h.offset, (h.message ?? msg) + h.hint];
  }
  return new JxInputError(`YAML syntax error: ${msg}`, file, lines.linePos(offset));
}

function keyAt(text: string, offset: number): string {
  const m = /^["']?([^"':\n]+)/.exec(text.slice(offset));
  return m ? ` '${m[1].trim()}'` : "";
}
