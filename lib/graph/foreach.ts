/**
 * `foreach:` fan-out: one job per item of a list, a glob (over files on disk
 * when the file is loaded) or a matrix. Each expanded job is named
 * `job[item]` and sees the item as variables.
 *
 * @module
 */
import { globFiles } from "./glob.ts";
import { existsSync } from "../runtime/fs.ts";
import { resolve } from "../runtime/path.ts";
import type { Foreach } from "./validate.ts";

/** One expanded job: its name and the variables of its item. */
export interface Expansion {
  name: string;
  vars: Record<string, string>;
}

/** `${AS}`, `${AS.name}`, `${AS.stem}`, `${AS.dir}`, `${AS.ext}` of one item. */
export function itemVars(as: string, item: string): Record<string, string> {
  const slash = item.lastIndexOf("/");
  const name = item.slice(slash + 1);
  const dot = name.lastIndexOf(".");
  return {
    [as]: item,
    [`${as}.name`]: name,
    [`${as}.dir`]: slash < 0 ? "." : item.slice(0, slash) || "/",
    [`${as}.stem`]: dot > 0 ? name.slice(0, dot) : name,
    [`${as}.ext`]: dot > 0 ? name.slice(dot) : "",
  };
}

/**
 * Why a glob's items cannot be given to jobs, or undefined: the first file
 * whose name is not UTF-8 (the runtime names it with U+FFFD in place of its
 * bytes: a path that does not exist, which the job could not open).
 *
 * @example
 * ```ts
 * import { lostName } from "./foreach.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(lostName(["src/a.c"], "/"), undefined);
 * assertEquals(lostName(["no-such-\uFFFD.c"], "/")?.startsWith("the file 'no-such-"), true);
 * ```
 */
export function lostName(paths: string[], baseDir: string): string | undefined {
  const p = paths.find((p) => p.includes("\uFFFD") && !existsSync(resolve(baseDir, p)));
  return p === undefined ? undefined : `the file '${p}' has a name that is not UTF-8 (shown with ` +
    "U+FFFD): jx cannot name it to a job; rename it, or narrow the glob";
}

/** How many jobs a list or matrix makes (a glob: 0 until it is expanded). */
export function foreachCount(fe: Foreach): number {
  if (fe.kind === "list") return fe.items.length;
  if (fe.kind === "glob") return 0;
  return fe.axes.reduce((n, [, values]) => n * values.length, 1);
}

/**
 * Expands a job's `foreach`. `substitute` applies the file's variables to
 * the glob, each list item and each matrix value first, given its key under
 * the `foreach` (`glob`, `list.0`, `matrix.OS.1`).
 *
 * @example
 * ```ts
 * import { expandForeach } from "./foreach.ts";
 * expandForeach("cc", { kind: "list", items: ["src/a.c"], as: "SRC" }, "/p", (s, _key) => s);
 * // [{ name: "cc[src/a.c]", vars: { SRC: "src/a.c", "SRC.stem": "a", ... } }]
 * ```
 */
export function expandForeach(
  job: string,
  fe: Foreach,
  baseDir: string,
  substitute: (s: string, key: string) => string,
): Expansion[] {
  if (fe.kind === "list") {
    return fe.items.map((item, n) => {
      const i = substitute(item, `list.${n}`);
      return { name: `${job}[${i}]`, vars: itemVars(fe.as, i) };
    });
  }
  if (fe.kind === "glob") {
    return globFiles(substitute(fe.glob, "glob"), baseDir).map((f) => ({
      name: `${job}[${f}]`,
      vars: itemVars(fe.as, f),
    }));
  }
  let combos: [string, string][][] = [[]];
  for (const [k, written] of fe.axes) {
    const values = written.map((v, n) => substitute(v, `matrix.${k}.${n}`));
    combos = combos.flatMap((c) => values.map((v): [string, string][] => [...c, [k, v]]));
  }
  return combos.map((c) => ({
    name: `${job}[${c.map(([, v]) => v).join(",")}]`,
    vars: Object.fromEntries(c),
  }));
}
