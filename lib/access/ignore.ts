/**
 * The jobs file's `lint: { ignore: [...] }`.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "../runtime/yaml.ts";

/** `lint: { ignore: [...] }` of the jobs file (validated by the loader), or none. */
export function fileIgnore(file: string): string[] {
  const doc = parseYaml(readFileSync(file, "utf8")) as { lint?: { ignore?: string | string[] } };
  const ig = doc?.lint?.ignore;
  return ig === undefined ? [] : Array.isArray(ig) ? ig.map(String) : [String(ig)];
}
