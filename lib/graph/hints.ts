/**
 * What to write instead, for the YAML syntax errors a new jobs file meets
 * most: a tab in the indentation, a key indented unlike its neighbours, a
 * `: ` inside a plain value (`run: echo note: x`), a value that starts with
 * a quote and goes on after it (`run: "echo" hi`), and a value that starts
 * with a character YAML reserves (make's `@echo`, `@db`, a backquote);
 * and, once the YAML is read, for keys of other tools' files (`deps:`,
 * `cmds:`, `tasks:`), a job written outside `jobs:`, and a job that is not a
 * mapping (`build: make`, `build:` with its keys not indented below it).
 *
 * @example
 * ```ts
 * import { syntaxHint } from "./hints.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const text = "jobs:\n  a:\n    run: echo note: x\n";
 * const h = syntaxHint("BLOCK_AS_IMPLICIT_KEY", "Nested mappings...", text, text.indexOf("echo"));
 * assertEquals(h.hint, " (a value holding ': ' is quoted: run: 'echo note: x')");
 * ```
 *
 * @module
 */

import type { Node } from "../runtime/yaml.ts";
import { isMap, isScalar, isSeq } from "../runtime/yaml_light.ts";
import { didYouMean } from "./errors.ts";

/** Where to point (an offset in the text) and what to add to the message (`""`: nothing). */
export interface SyntaxHint {
  offset: number;
  hint: string;
  /** A clearer message than the package's, when there is one. */
  message?: string;
}

/** A hint for the package's error `code` at `offset` in `text`. */
export function syntaxHint(code: string, msg: string, text: string, offset: number): SyntaxHint {
  const { start, line } = lineAt(text, offset);
  const indent = /^[ \t]*/.exec(line)![0];
  if (code === "TAB_AS_INDENT" || indent.includes("\t")) {
    return { offset, hint: " (indent with spaces, not tabs)" };
  }
  const col = offset - start;
  const pair = /^[ \t]*(?:- )?([A-Za-z_][\w.-]*):[ \t]+/.exec(line);
  const valueHere = pair !== null && pair[0].length === col;
  switch (code) {
    case "BAD_INDENT":
      return /same column/.test(msg)
        ? badIndent(line, start, indent, offset)
        : { offset, hint: "" };
    case "BLOCK_AS_IMPLICIT_KEY":
      return valueHere ? colonInValue(text, line, start, pair![1], col) : { offset, hint: "" };
    case "UNEXPECTED_TOKEN":
      return afterQuote(line, pair, offset);
    case "BAD_SCALAR_START":
      return reserved(line, pair, valueHere, col, offset);
    default:
      return { offset, hint: "" };
  }
}

/** `All mapping items must start at the same column`: the key, and how to fix it. */
function badIndent(line: string, start: number, indent: string, offset: number): SyntaxHint {
  const key = /^[ \t]*(?:- )?([^\s:#][^:#]*?):(?:\s|$)/.exec(line);
  if (!key) return { offset, hint: "" };
  return {
    offset: start + indent.length,
    hint: ` (indent '${key[1]}' by as many spaces as the other keys of its mapping)`,
  };
}

/**
 * `Nested mappings are not allowed in compact mappings`: a `: ` in the value on this line (quote
 * it), or a key on a later line indented more than this one (line them up).
 */
function colonInValue(
  text: string,
  line: string,
  start: number,
  key: string,
  col: number,
): SyntaxHint {
  const value = plainValue(line.slice(col));
  if (/:(?:[ \t]|$)/.test(value)) {
    return {
      offset: start + col,
      hint: ` (a value holding ': ' is quoted: ${key}: ${quoteYaml(value)})`,
    };
  }
  const next = nextKeyLine(text, start + line.length + 1);
  if (!next) return { offset: start + col, hint: "" };
  return {
    offset: next.offset,
    hint: "",
    message:
      `'${next.key}' is indented more than '${key}' above it (line up the keys of one mapping)`,
  };
}

/** `Unexpected scalar at node end`: a value that starts with a quote and goes on after it. */
function afterQuote(line: string, pair: RegExpExecArray | null, offset: number): SyntaxHint {
  if (!pair) return { offset, hint: "" };
  const value = line.slice(pair[0].length).trimEnd();
  if (!/^["']/.test(value)) return { offset, hint: "" };
  return {
    offset,
    hint: ` (a value that starts with a quote ends with it: quote the whole value, ${pair[1]}: ${
      quoteYaml(value)
    })`,
  };
}

/** `Plain value cannot start with reserved character @` (or a backquote, `%`...). */
function reserved(
  line: string,
  pair: RegExpExecArray | null,
  valueHere: boolean,
  col: number,
  offset: number,
): SyntaxHint {
  const ch = line[col] ?? "";
  if (!valueHere) return { offset, hint: ` (quote the value that starts with ${ch})` };
  const value = plainValue(line.slice(col));
  if (pair![1] === "run" && ch === "@") {
    const rest = value.slice(1).trimStart();
    return {
      offset,
      hint: ` (jx prints no commands, so make's @ is not needed: run: ${quoteYaml(rest)})`,
    };
  }
  return { offset, hint: ` (quote it: ${pair![1]}: ${quoteYaml(value)})` };
}

/** The line holding `offset`, and where it starts. */
function lineAt(text: string, offset: number): { start: number; line: string } {
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  const end = text.indexOf("\n", offset);
  return { start, line: text.slice(start, end < 0 ? text.length : end).replace(/\r$/, "") };
}

/** A plain value as YAML would end it on its line: before a ` #` comment, trailing blanks off. */
function plainValue(rest: string): string {
  const hash = rest.search(/[ \t]#/);
  return (hash < 0 ? rest : rest.slice(0, hash)).trimEnd();
}

/** The first line from `from` on that holds a `key:`, and where that key starts. */
function nextKeyLine(text: string, from: number): { offset: number; key: string } | undefined {
  const re = /^([ \t]*)(?:- )?([^\s:#][^:#\n]*?):(?:[ \t]|$)/gm;
  re.lastIndex = from;
  const m = re.exec(text);
  return m ? { offset: m.index + m[1].length, key: m[2] } : undefined;
}

/**
 * `value` as a YAML scalar that is read back exactly: single-quoted (no escapes there: a printf's
 * `\n` stays two characters), or double-quoted when it holds a `'` and neither `"` nor `\`; a
 * long one is left for the reader to quote.
 */
export function quoteYaml(value: string): string {
  if (value.length > 60) return "'...' (the whole value)";
  if (value.includes("'") && !/["\\]/.test(value)) return `"${value}"`;
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Keys of other tools' files (docker compose, go-task, turbo, just, make,
 * process-compose, GitHub Actions...) and the jx keys that say the same, for "did you mean":
 * the first of them that the mapping takes.
 */
const OTHER_TOOLS: Record<string, string[]> = {
  depends_on: ["needs"],
  depends: ["needs"],
  deps: ["needs"],
  dependencies: ["needs"],
  dependsOn: ["needs"],
  after: ["needs"],
  requires: ["needs"],
  cmd: ["run"],
  cmds: ["run"],
  command: ["run"],
  commands: ["run"],
  script: ["run"],
  steps: ["run"],
  exec: ["run"],
  inputs: ["reads"],
  sources: ["reads"],
  srcs: ["reads"],
  outputs: ["writes"],
  generates: ["writes"],
  targets: ["writes", "jobs"],
  outs: ["writes"],
  dir: ["cwd"],
  workdir: ["cwd"],
  working_dir: ["cwd"],
  "working-directory": ["cwd"],
  environment: ["env"],
  dotenv: ["env_file"],
  platforms: ["when"],
  desc: ["description"],
  summary: ["description"],
  readiness_probe: ["ready"],
  tasks: ["jobs"],
  pipeline: ["jobs"],
  recipes: ["jobs"],
  services: ["modules"],
  processes: ["modules"],
  variables: ["vars"],
  includes: ["include"],
};

/** How several commands are written, as make and go-task run them: stopping at a failure. */
export const SEVERAL_COMMANDS = "run: | with set -e, then one command a line";

/** Keys that hold several commands in other tools (go-task's `cmds`, GitLab's `script`...). */
const COMMAND_LISTS = new Set(["cmds", "commands", "script", "steps"]);

/**
 * What to say of an unknown key `key` (its value `value`) in a mapping of `fields` at `path`
 * (`""`: the top level): another tool's name for one of them, a job written outside `jobs:`, or
 * the closest of them.
 *
 * @example
 * ```ts
 * import { unknownKeyHint } from "./hints.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const job = { run: {}, needs: {} };
 * assertEquals(unknownKeyHint("deps", null, job, "jobs.a"), " (did you mean 'needs'?)");
 * assertEquals(unknownKeyHint("rnu", null, job, "jobs.a"), " (did you mean 'run'?)");
 * ```
 */
export function unknownKeyHint(
  key: string,
  value: Node | null,
  fields: Record<string, unknown>,
  path: string,
): string {
  const ours = (Object.hasOwn(OTHER_TOOLS, key) ? OTHER_TOOLS[key] : [])
    .find((k) => Object.hasOwn(fields, k));
  if (ours === "run" && COMMAND_LISTS.has(key)) {
    return ` (did you mean 'run'? several commands: ${SEVERAL_COMMANDS})`;
  }
  if (ours) return ` (did you mean '${ours}'?)`;
  if (path === "" && Object.hasOwn(fields, "jobs") && looksLikeJob(value)) {
    return ` (a job? indent it under jobs:)`;
  }
  return didYouMean(key, Object.keys(fields));
}

/** Whether a value is a mapping with a `run` key (or another tool's name for it). */
function looksLikeJob(value: Node | null): boolean {
  if (!isMap(value)) return false;
  return value.items.some((p) => {
    const k = isScalar(p.key) ? p.key.value : undefined;
    return typeof k === "string" &&
      (k === "run" || Object.hasOwn(OTHER_TOOLS, k) && OTHER_TOOLS[k][0] === "run");
  });
}

/**
 * What to say when the job or module at `path` (`jobs.build`) is `node`, not a mapping: where
 * its command goes, or that its keys go below it; `""` for any other mapping that is not one.
 *
 * @example
 * ```ts
 * import { notAMappingHint } from "./hints.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(
 *   notAMappingHint(null, { run: {} }, "jobs.build"),
 *   " (its keys go on the lines below it, indented more than 'build')",
 * );
 * ```
 */
export function notAMappingHint(
  node: Node | null,
  fields: Record<string, unknown>,
  path: string,
): string {
  const section = /^(jobs|modules)\.(.+)$/.exec(path);
  if (!section || !Object.hasOwn(fields, "run")) return "";
  const [what, name] = [section[1] === "jobs" ? "job" : "module", section[2]];
  const v = isScalar(node) ? node.value : undefined;
  if (node === null || (isScalar(node) && v === null)) {
    return ` (its keys go on the lines below it, indented more than '${name}')`;
  }
  if (typeof v === "string") {
    return ` (a ${what}'s command is its run: key: ${name}: { run: ${quoteYaml(v)} })`;
  }
  if (isSeq(node)) return ` (a ${what}'s commands go under its run: key: ${SEVERAL_COMMANDS})`;
  return "";
}

/** For `jobs:` written as a list (`- name: build`, as CI files do): how jobs are written. */
export function jobsListHint(node: Node | null, path: string): string {
  return isSeq(node) && (path === "jobs" || path === "modules")
    ? ` (each is written under its name, not as a list item: build: { run: make })`
    : "";
}

/**
 * What to write for a value of the wrong kind where a new user's habit is known: `yes` for a
 * flag (YAML 1.1's true), a var or env value left empty or computed by a command (go-task's
 * `sh:`), a `foreach` glob written bare; `""` otherwise.
 *
 * @example
 * ```ts
 * import { valueHint } from "./hints.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(valueHint("flag", "yes"), " (write true: YAML reads yes as text)");
 * assertEquals(valueHint("foreach", "src/*.c"), " (a glob: foreach: { glob: 'src/*.c' })");
 * ```
 */
export function valueHint(where: "flag" | "text" | "foreach", value: unknown): string {
  switch (where) {
    case "flag": {
      if (typeof value !== "string") return "";
      const word = value.toLowerCase();
      if (["yes", "on", "y"].includes(word)) return ` (write true: YAML reads ${value} as text)`;
      if (["no", "off", "n"].includes(word)) return ` (write false: YAML reads ${value} as text)`;
      return "";
    }
    case "text":
      if (value === null) return ` (an empty value is written "")`;
      return typeof value === "object"
        ? " (a value is text; a command's output is for the job to take: $(cmd) in its run)"
        : "";
    case "foreach":
      return typeof value === "string" ? ` (a glob: foreach: { glob: ${quoteYaml(value)} })` : "";
    default: {
      const _assertNever: never = where;
      return _assertNever;
    }
  }
}

/** Other tools' files by name, and whose they are. */
const TOOL_FILES: Record<string, string> = {
  Makefile: "make's",
  makefile: "make's",
  GNUmakefile: "make's",
  justfile: "just's",
  Justfile: "just's",
  ".justfile": "just's",
  "Taskfile.yml": "go-task's",
  "Taskfile.yaml": "go-task's",
  "taskfile.yml": "go-task's",
  "taskfile.yaml": "go-task's",
  "package.json": "npm's",
  "turbo.json": "turbo's",
  "process-compose.yaml": "process-compose's",
  "process-compose.yml": "process-compose's",
  "docker-compose.yml": "docker compose's",
  "docker-compose.yaml": "docker compose's",
  "compose.yaml": "docker compose's",
  "compose.yml": "docker compose's",
};

/**
 * For an error in `-f FILE` where FILE is another tool's (`-f Makefile`): that it is, and what
 * jx reads instead; `""` for any other name.
 *
 * @example
 * ```ts
 * import { toolFileHint } from "./hints.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(toolFileHint("sub/jobs.yaml"), "");
 * assertEquals(
 *   toolFileHint("sub/Makefile"),
 *   " (Makefile is make's file, not a jobs file: jx reads jobs.yaml, which jx init writes; " +
 *     "jx exec -- make runs make in a pool of job slots)",
 * );
 * ```
 */
export function toolFileHint(file: string): string {
  const name = file.slice(file.lastIndexOf("/") + 1);
  const whose = Object.hasOwn(TOOL_FILES, name) ? TOOL_FILES[name] : undefined;
  if (!whose) return "";
  const make = whose === "make's" ? "; jx exec -- make runs make in a pool of job slots" : "";
  return ` (${name} is ${whose} file, not a jobs file: jx reads jobs.yaml, which jx init writes${make})`;
}
