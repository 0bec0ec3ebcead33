/**
 * Depfiles (ninja's `deps = gcc`): the make-format dependency files that
 * `gcc -MD -MF`, clang and `rustc --emit=dep-info` write. The prerequisites
 * they list become inputs of the job from its next run on; `state/` keeps
 * them on the job's state line, so the `.d` file is never the only copy;
 * `jx lint` takes them as declared reads.
 *
 * Format: rules `TARGET... : PREREQ...`; `\` at the end of a line
 * continues it; `\ ` is a space inside a path, `\#` a `#`, `$$` a `$`;
 * several rules (and phony `header.h:` rules from `-MP`, which add nothing)
 * may follow each other; `#` starts a comment.
 *
 * @module
 */
import { isAbsolute, relative, resolve } from "../runtime/path.ts";
import { readTextSync } from "../runtime/fs.ts";

/** The words of one logical line: escapes undone; a word ending in an unescaped `:` is marked. */
function words(line: string): { word: string; colon: boolean }[] {
  const out: { word: string; colon: boolean }[] = [];
  let w = "";
  const flush = (colon: boolean) => {
    if (w !== "" || colon) out.push({ word: w, colon });
    w = "";
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    const n = line[i + 1];
    if (c === "\\" && (n === " " || n === "#" || n === "\t")) {
      w += n;
      i++;
    } else if (c === "$" && n === "$") {
      w += "$";
      i++;
    } else if (c === "#") break;
    else if (c === " " || c === "\t") flush(false);
    else if (c === ":" && (n === undefined || n === " " || n === "\t")) {
      flush(true);
    } else w += c;
  }
  flush(false);
  return out;
}

/** Where a depfile is not make's format: its line (1-based) and what is wrong there. */
export interface DepfileProblem {
  line: number;
  why: string;
}

/**
 * The prerequisites of every rule of a depfile, in order, distinct, and the first line that is
 * no rule (words with no `:` at all, as `this is not a rule`; a NUL byte: not text), where what
 * the job reads cannot be known from it.
 *
 * @example
 * ```ts
 * import { checkDepfile } from "./depfile.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(checkDepfile("a.o: a.c \\\n  a.h\nnot a rule\n"), {
 *   inputs: ["a.c", "a.h"],
 *   problem: { line: 3, why: "not a make rule (TARGET: PREREQUISITES)" },
 * });
 * ```
 */
export function checkDepfile(text: string): { inputs: string[]; problem?: DepfileProblem } {
  const seen = new Set<string>();
  let problem: DepfileProblem | undefined;
  const rule = (joined: string, line: number) => {
    const ws = words(joined);
    if (!problem && joined.includes("\0")) problem = { line, why: "not text (a NUL byte)" };
    if (!problem && ws.length && !joined.includes(":")) {
      problem = { line, why: "not a make rule (TARGET: PREREQUISITES)" };
    }
    prerequisites(ws, seen);
  };
  // Logical lines: a `\` at the end of a line (before its CR, if any) continues it on the next.
  const lines = text.split("\n");
  let joined = "", start = 1;
  for (let i = 0; i < lines.length; i++) {
    if (joined === "") start = i + 1;
    const l = lines[i];
    if (i < lines.length - 1 && /\\\r?$/.test(l)) {
      joined += l.replace(/\\\r?$/, " ");
      continue;
    }
    rule(joined + (i < lines.length - 1 ? l.replace(/\r$/, "") : l), start);
    joined = "";
  }
  return problem ? { inputs: [...seen], problem } : { inputs: [...seen] };
}

/** The prerequisites of one logical line's words, added to `seen`. */
function prerequisites(ws: { word: string; colon: boolean }[], seen: Set<string>): void {
  let afterColon = false;
  for (const { word, colon } of ws) {
    if (colon) {
      if (word !== "" && afterColon) seen.add(word); // `a: b:` is not make's; keep b
      afterColon = true;
      continue;
    }
    if (afterColon && word !== "") seen.add(word);
  }
}

/**
 * The prerequisites of every rule of a depfile, in order, distinct.
 *
 * @example
 * ```ts
 * import { parseDepfile } from "./depfile.ts";
 * parseDepfile("out/a.o: src/a.c src/my\\ h.h \\\n  src/b.h\nsrc/b.h:\n");
 * // ["src/a.c", "src/my h.h", "src/b.h"]
 * ```
 */
export function parseDepfile(text: string): string[] {
  return checkDepfile(text).inputs;
}

/**
 * The inputs a job's depfile names, as paths relative to `baseDir` (the
 * jobs file's folder): prerequisites are relative to the job's `cwd`. One
 * written as an absolute path outside `baseDir` (a system header: `gcc -MD`,
 * or `-I/opt/...`) is left out, one in it is taken relative to it; a relative
 * one outside `baseDir` (`-I../common`) is kept, as `../common/x.h`.
 * Undefined when the depfile cannot be read.
 *
 * @example
 * ```ts
 * import { depfileInputs } from "./depfile.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${dir}/out`);
 * Deno.writeTextFileSync(`${dir}/out/a.d`, "out/a.o: src/a.c \\\n  src/a.h /usr/include/stdio.h ../lib/l.h\n");
 * assertEquals(depfileInputs(dir, "out/a.d", dir), ["src/a.c", "src/a.h", "../lib/l.h"]);
 * Deno.writeTextFileSync(`${dir}/out/b.d`, `out/b.o: ${dir}/src/b.c ${dir}2/x.h\n`);
 * assertEquals(depfileInputs(dir, "out/b.d", dir), ["src/b.c"]);
 * ```
 */
export function depfileInputs(
  baseDir: string,
  depfile: string,
  cwd: string,
): string[] | undefined {
  return readDepfile(baseDir, depfile, cwd).inputs;
}

/**
 * A job's depfile read as `depfileInputs` reads it, with the first line that is not make's
 * format (`checkDepfile`); `inputs` undefined when it cannot be read.
 *
 * @example
 * ```ts
 * import { readDepfile } from "./depfile.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/a.d`, "a.o: a.c\ngarbage\n");
 * assertEquals(readDepfile(dir, "a.d", dir).problem?.line, 2);
 * assertEquals(readDepfile(dir, "none.d", dir), { inputs: undefined });
 * ```
 */
export function readDepfile(
  baseDir: string,
  depfile: string,
  cwd: string,
): { inputs: string[] | undefined; problem?: DepfileProblem } {
  let text: string;
  try {
    text = readTextSync(resolve(baseDir, depfile));
  } catch {
    return { inputs: undefined };
  }
  const { inputs, problem } = checkDepfile(text);
  const out: string[] = [];
  for (const p of inputs) {
    // An absolute path outside the project (a system header) is left out; one in it (CMake's
    // `-I/home/u/proj/include`, `gcc -c $PWD/src/a.c`) is a file of it like any other.
    if (isAbsolute(p) && !resolve(p).startsWith(baseDir === "/" ? "/" : `${baseDir}/`)) continue;
    const rel = relative(baseDir, resolve(cwd, p));
    if (rel === "" || isAbsolute(rel)) continue;
    out.push(rel);
  }
  return problem ? { inputs: out, problem } : { inputs: out };
}
