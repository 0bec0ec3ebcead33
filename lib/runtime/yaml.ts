/**
 * The `yaml` npm package, found on either runtime without the user's
 * configuration: Deno resolves the fully qualified `npm:yaml@2.9.1` (from
 * jx's node_modules inside this checkout, from its own npm cache when
 * `mod.ts` is imported from elsewhere), which Bun cannot; Bun resolves the
 * bare `yaml` from the node_modules beside jx's files, which Deno maps only
 * through jx's own deno.json. So the package is imported once here, the
 * right way for the runtime, and the graph part takes it from this file.
 * (`bun build --compile` is told that the `npm:` form is external: the
 * executable runs on Bun and never loads it.)
 *
 * @module
 */
// The point of this file: a specifier that needs no import map (see above).
// deno-lint-ignore no-import-prefix
import type * as Yaml from "npm:yaml@2.9.1";
import { isBun } from "./mod.ts";

// deno-lint-ignore no-import-prefix
const yaml: typeof Yaml = isBun ? await import("yaml") : await import("npm:yaml@2.9.1");

export type { Node } from "npm:yaml@2.9.1";
/** A YAML document (a class). */
export type Document = Yaml.Document;
/** The `Document` namespace's types (`Document.Parsed`). */
export declare namespace Document {
  /** A document made by a parser. */
  export type Parsed = Yaml.Document.Parsed;
}
/** An alias node (`*name`, a class). */
export type Alias = Yaml.Alias;
/** A key and its value (a class). */
export type Pair<K = unknown, V = unknown> = Yaml.Pair<K, V>;
/** A scalar node (a class). */
export type Scalar<T = unknown> = Yaml.Scalar<T>;
/** A mapping node (a class). */
export type YAMLMap<K = unknown, V = unknown> = Yaml.YAMLMap<K, V>;
/** A sequence node (a class). */
export type YAMLSeq<T = unknown> = Yaml.YAMLSeq<T>;
/** Lines and columns of a parsed text (a class: `new LineCounter()`). */
export type LineCounter = Yaml.LineCounter;
/** A token of the concrete syntax tree (`CST.Token`). */
export type CstToken = Yaml.CST.Token;
/** The parts of the package that jx uses (see the package's own documentation). */
export const {
  Composer,
  CST,
  Document,
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  Pair,
  parse,
  parseDocument,
  Parser,
  Scalar,
  YAMLMap,
  YAMLParseError,
  YAMLSeq,
} = yaml;
