/**
 * Typed reads of an entry the `Validator` has checked against the schema.
 * The validator returns `unknown` values; these narrow one key to the type
 * the schema promises (by a runtime test, not a cast), and throw an internal
 * error if the schema and the reader ever disagree, so a drift shows up in
 * the first test that loads such a key instead of as a wrong type later.
 *
 * @module
 */
import type { CacheSettings, JobSlurmOptions } from "./types.ts";
import type { Foreach } from "./validate.ts";

/** A validated mapping (a job entry, or one of its mappings). */
export type Entry = Readonly<Record<string, unknown>>;

function disagree(key: string, v: unknown): never {
  throw new Error(`internal error: '${key}' (${typeof v}) is not what the schema checked`);
}

/** The message of a thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The `code` of a thrown system error (`ENOENT`...), if it has one. */
export function errorCode(e: unknown): string | undefined {
  return isEntry(e) && typeof e.code === "string" ? e.code : undefined;
}

/** A mapping (not a list, not null). */
export function isEntry(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A list of strings. */
export function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === "string");
}

/** `o[key]`: a string, or absent. */
export function str(o: Entry, key: string): string | undefined {
  const v = o[key];
  return v === undefined || typeof v === "string" ? v : disagree(key, v);
}

/** `o[key]`: a number (counts, ports, durations in ms), or absent. */
export function num(o: Entry, key: string): number | undefined {
  const v = o[key];
  return v === undefined || typeof v === "number" ? v : disagree(key, v);
}

/** `o[key]`: a list of strings, or absent. */
export function strs(o: Entry, key: string): string[] | undefined {
  const v = o[key];
  return v === undefined || isStrings(v) ? v : disagree(key, v);
}

/** `o[key]`: a mapping, or absent. */
export function entry(o: Entry, key: string): Entry | undefined {
  const v = o[key];
  return v === undefined || isEntry(v) ? v : disagree(key, v);
}

/** `o[key]`: a mapping whose values are all of one type (`env`, `pools`), or absent. */
export function tableOf<T>(
  o: Entry,
  key: string,
  is: (v: unknown) => v is T,
): Record<string, T> | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  return isTable(v, is) ? v : disagree(key, v);
}

/**
 * `o[key]`: a mapping of names to entries (`jobs:`, `modules:`), which the
 * validator gives as `[name, entry]` pairs in the order written, or absent.
 *
 * @example
 * ```ts
 * import { entriesOf } from "./read.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(entriesOf({ jobs: [["b", { run: "x" }], ["1", {}]] }, "jobs")?.map((e) => e[0]), ["b", "1"]);
 * assertEquals(entriesOf({}, "jobs"), undefined);
 * ```
 */
export function entriesOf(o: Entry, key: string): [string, Entry][] | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  return Array.isArray(v) && allEntries(v) ? v : disagree(key, v);
}

function allEntries(pairs: unknown[]): pairs is [string, Entry][] {
  for (const p of pairs) {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || !isEntry(p[1])) {
      return false;
    }
  }
  return true;
}

function isTable<T>(v: unknown, is: (v: unknown) => v is T): v is Record<string, T> {
  return isEntry(v) && Object.values(v).every(is);
}

/** A string (for `tableOf`). */
export function isString(v: unknown): v is string {
  return typeof v === "string";
}

/** A number (for `tableOf`). */
export function isNumber(v: unknown): v is number {
  return typeof v === "number";
}

/** `o[key]`: one of `allowed`, or absent. */
export function oneOf<T extends string>(
  o: Entry,
  key: string,
  allowed: readonly T[],
): T | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  return allowed.find((a) => a === v) ?? disagree(key, v);
}

/** `cache:` of a job or the file: true, false, or `{env, salt}`. */
export function cacheOf(o: Entry, key: string): boolean | CacheSettings | undefined {
  const v = o[key];
  if (v === undefined || typeof v === "boolean") return v;
  return isCacheSettings(v) ? v : disagree(key, v);
}

function isCacheSettings(v: unknown): v is CacheSettings {
  return isEntry(v) && (v.env === undefined || isStrings(v.env)) &&
    (v.salt === undefined || typeof v.salt === "string");
}

/** `slurm:` of a job. */
export function slurmOf(o: Entry, key: string): JobSlurmOptions | undefined {
  const v = o[key];
  return v === undefined || isSlurm(v) ? v : disagree(key, v);
}

function isSlurm(v: unknown): v is JobSlurmOptions {
  if (!isEntry(v)) return false;
  const strings = ["partition", "time", "mem", "gres"].every((k) =>
    v[k] === undefined || typeof v[k] === "string"
  );
  return strings && (v.args === undefined || isStrings(v.args));
}

/** `foreach:` as the validator checked it. */
export function foreachOf(o: Entry, key: string): Foreach | undefined {
  const v = o[key];
  return v === undefined || isForeach(v) ? v : disagree(key, v);
}

function isForeach(v: unknown): v is Foreach {
  if (!isEntry(v)) return false;
  switch (v.kind) {
    case "list":
      return isStrings(v.items) && typeof v.as === "string";
    case "glob":
      return typeof v.glob === "string" && typeof v.as === "string";
    case "matrix":
      return Array.isArray(v.axes) &&
        v.axes.every((a) => Array.isArray(a) && typeof a[0] === "string" && isStrings(a[1]));
    default:
      return false;
  }
}
