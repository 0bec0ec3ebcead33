/**
 * Tables keyed by text from the jobs file.
 *
 * @module
 */

/**
 * The prototype of `table`s: an object with no prototype and no keys, so
 * that nothing is inherited. (`Object.create(null)` itself would give each
 * table a dictionary of its keys, slower to fill and to walk.)
 */
const NO_PROTO: object = Object.freeze(Object.create(null));

/**
 * A table keyed by text from the jobs file: it inherits nothing, so a key
 * such as `constructor` or `__proto__` is a key like any other.
 *
 * @example
 * ```ts
 * import { table } from "./table.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const t = table<number>();
 * t["__proto__"] = 1;
 * assertEquals([Object.keys(t), "constructor" in t], [["__proto__"], false]);
 * ```
 */
export function table<T>(): Record<string, T> {
  return Object.create(NO_PROTO);
}
