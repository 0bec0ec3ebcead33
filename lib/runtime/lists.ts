/**
 * Which names of a long list are among a few others, found the cheap way
 * round: a partial run reports its 10,000 jobs left up to date at once
 * (`Reporter.skips`) to reporters that follow only its 3 (the status
 * board's timed jobs, the supervisor's followed ones).
 *
 * @module
 */

/** Up to this many, each of the few is searched for in the list; past it, the list is tested. */
const FEW = 32;

/**
 * The names of `many` that `few` holds (`few.has`), in any order: when
 * `few` has at most 32 names (`few.names()`) and under an eighth of
 * `many`'s, each of them is searched for in `many` (`includes`, native)
 * rather than each of `many` looked up; at most 32 passes either way.
 *
 * @example
 * ```ts
 * import { namesAmong } from "./lists.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const few = new Set(["b", "x"]);
 * const many = Array.from({ length: 100 }, (_, i) => i === 7 ? "b" : `n${i}`);
 * const set = { size: few.size, names: () => few, has: (n: string) => few.has(n) };
 * assertEquals(namesAmong(many, set), ["b"]);
 * assertEquals(namesAmong(["b", "c"], set), ["b"]);
 * ```
 */
export function namesAmong(
  many: readonly string[],
  few: { size: number; names(): Iterable<string>; has(name: string): boolean },
): string[] {
  if (few.size <= FEW && few.size * 8 < many.length) {
    return [...few.names()].filter((n) => many.includes(n));
  }
  return many.filter((n) => few.has(n));
}
