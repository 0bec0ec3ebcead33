/**
 * What the graph part needs of the `yaml` package when the fast front end
 * (graph/fast_yaml.ts) parses a file, without loading the package: on Deno
 * an `npm:` package sets up the Node compatibility, some 35 ms of a `jx run`
 * (bench/RESULTS.md). The node tests tell the package's own nodes and the
 * fast front end's apart by the registered symbol the package sets on each
 * (`Symbol.for("yaml.node.type")`), as the package's `isMap`... do; the line
 * counter gives the package's `LineCounter` positions; numbers are read as
 * the core schema reads them. The package itself is runtime/yaml.ts,
 * loaded when the fast front end gives up (graph/yaml_full.ts).
 *
 * @example
 * ```ts
 * import { coreNumber, LineCounter } from "./yaml_light.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const lines = new LineCounter();
 * [0, 4, 9].forEach(lines.addNewLine);
 * assertEquals(lines.linePos(6), { line: 2, col: 3 });
 * assertEquals([coreNumber("0o17"), coreNumber("-.inf"), coreNumber("1e3")], [15, -Infinity, 1000]);
 * ```
 *
 * @module
 */
import type { Alias, Node, Pair, Scalar, YAMLMap, YAMLSeq } from "./yaml.ts";

/** The key under which the package (and the fast front end) keeps a node's kind. */
const NODE_TYPE = Symbol.for("yaml.node.type");
const MAP = Symbol.for("yaml.map"), SEQ = Symbol.for("yaml.seq");
const SCALAR = Symbol.for("yaml.scalar"), PAIR = Symbol.for("yaml.pair");
const ALIAS = Symbol.for("yaml.alias");

/** The kind a node carries, or undefined for anything else. */
function kindOf(x: unknown): symbol | undefined {
  return typeof x === "object" && x !== null
    ? (x as { [NODE_TYPE]?: symbol })[NODE_TYPE]
    : undefined;
}

/** Whether `x` is a mapping node. */
export const isMap = (x: unknown): x is YAMLMap<unknown, unknown> => kindOf(x) === MAP;
/** Whether `x` is a sequence node. */
export const isSeq = (x: unknown): x is YAMLSeq<unknown> => kindOf(x) === SEQ;
/** Whether `x` is a scalar node. */
export const isScalar = (x: unknown): x is Scalar<unknown> => kindOf(x) === SCALAR;
/** Whether `x` is a key and its value. */
export const isPair = (x: unknown): x is Pair<unknown, unknown> => kindOf(x) === PAIR;
/** Whether `x` is an alias (`*name`). */
export const isAlias = (x: unknown): x is Alias => kindOf(x) === ALIAS;
/** Whether `x` is a node: a mapping, a sequence, a scalar or an alias (not a pair). */
export function isNode(x: unknown): x is Node {
  const k = kindOf(x);
  return k === MAP || k === SEQ || k === SCALAR || k === ALIAS;
}

/**
 * Lines and columns of a text from the offsets where its lines start (as
 * the package's `LineCounter`: `addNewLine` is a bound function that its
 * parser may call).
 */
export class LineCounter {
  readonly lineStarts: number[] = [];
  readonly addNewLine = (offset: number): number => this.lineStarts.push(offset);

  /** The 1-based line and column of `offset` (line 0 when no line starts at or before it). */
  linePos(offset: number): { line: number; col: number } {
    // How many lines start at or before `offset`.
    let low = 0, high = this.lineStarts.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.lineStarts[mid] <= offset) low = mid + 1;
      else high = mid;
    }
    return low === 0
      ? { line: 0, col: offset }
      : { line: low, col: offset - this.lineStarts[low - 1] + 1 };
  }
}

/**
 * A plain scalar that the core schema reads as a number (the caller has
 * checked its form): decimal, `0o` octal, `0x` hex, floats, `.inf`, `.nan`.
 */
export function coreNumber(src: string): number {
  const t = src.toLowerCase();
  if (t.endsWith(".nan")) return NaN;
  if (t.endsWith(".inf")) return t[0] === "-" ? -Infinity : Infinity;
  return Number(src);
}
