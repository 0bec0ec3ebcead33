/**
 * What a command reads and writes, derived from its text: redirections, the
 * arguments of commands whose file use is known, and conservative answers
 * for everything else (a command that may touch any file, or a barrier: a
 * command that reads or changes the shell's own state).
 *
 * @module
 */
import { lstatSync, readlinkSync } from "node:fs";
import { compileGlob, type GlobMatcher, SHELL_GLOB } from "../graph/glob.ts";
import { absolutePath } from "../runtime/fs.ts";
import { literalOf, parseScript, type Redir, type ShNode, walk, type Word } from "./parse.ts";

/**
 * A path a command reads or writes; `glob` when it is a pattern (`*.txt`).
 *
 * @example
 * ```ts
 * import type { PathRef } from "./derive.ts";
 * const r: PathRef = { path: "*.txt", glob: true };
 * ```
 */
export interface PathRef {
  path: string;
  glob: boolean;
}

/**
 * What one command touches.
 *
 * - `barrier`: it reads or changes shell state (a variable, the directory,
 *   `$?`, options, functions...): it runs alone, after everything before it
 *   and before everything after it, and its state is carried on.
 * - `all`: it may touch any file (an unknown program, a `$(...)`, a word jx
 *   cannot resolve): it waits for every earlier command and every later one
 *   waits for it, but it changes no shell state.
 * - `fallback`: jx cannot carry what it does (`exec`, `trap`, `eval`,
 *   `alias`, `set -x`...): it and the rest of the script run as one `sh`.
 *
 * @example
 * ```ts
 * import type { Access } from "./derive.ts";
 * const a: Access = { reads: [{ path: "in", glob: false }], writes: [], all: false, barrier: false, fallback: false, why: [] };
 * ```
 */
export interface Access {
  reads: PathRef[];
  writes: PathRef[];
  all: boolean;
  barrier: boolean;
  fallback: boolean;
  /**
   * It reads `$?`: a barrier (only a barrier's prelude restores the status),
   * also inside a subshell or a pipeline, where other state changes are local.
   */
  status?: boolean;
  /** It may make, change or remove a symbolic link (cp, mv, rm, ln...): paths are followed again after it. */
  links?: boolean;
  /** Why it is `all`, a barrier or a fallback, in words. */
  why: string[];
}

/**
 * Looks a variable up: its value, or undefined when jx does not know it now.
 *
 * @example
 * ```ts
 * import type { Resolver } from "./derive.ts";
 * const vars = new Map([["f", "a.txt"]]);
 * const resolve: Resolver = (name) => vars.get(name);
 * ```
 */
export type Resolver = (name: string) => string | undefined;

/**
 * What derivation needs beyond the command: variables and the script's function names.
 *
 * @example
 * ```ts
 * import type { DeriveContext } from "./derive.ts";
 * const ctx: DeriveContext = { resolve: () => undefined, functions: new Set(["build"]) };
 * ```
 */
export interface DeriveContext {
  resolve: Resolver;
  /** Names of every function the script defines anywhere: calling one is a barrier. */
  functions: Set<string>;
  /**
   * `PATH` as jx found it: a command name in the tables below is taken for
   * that tool only while the script's `PATH` is this one (or this one with
   * folders added at its end). Undefined: not checked.
   */
  initialPath?: string;
}

/** Commands that only read the files they are given (their options aside). */
const READ_ONLY = new Set([
  "cat",
  "grep",
  "egrep",
  "fgrep",
  "sort",
  "wc",
  "head",
  "tail",
  "cut",
  "diff",
  "cmp",
  "comm",
  "md5sum",
  "sha1sum",
  "sha224sum",
  "sha256sum",
  "sha384sum",
  "sha512sum",
  "b2sum",
  "cksum",
  "sum",
  "tac",
  "nl",
  "od",
  "hexdump",
  "base64",
  "paste",
  "join",
  "fold",
  "fmt",
  "expand",
  "unexpand",
  "rev",
  "strings",
  "ls",
  "stat",
  "file",
  "du",
  "test",
  "[",
  "zcat",
  "readlink",
  "realpath",
  "tr",
  "uniq",
  "tee",
  "date",
]);

/** Commands that touch no file through their arguments. */
const NO_FILES = new Set([
  "echo",
  "printf",
  "true",
  "false",
  "sleep",
  "seq",
  "basename",
  "dirname",
  "expr",
  "pwd",
  "whoami",
  "id",
  "uname",
  "hostname",
  "nproc",
  "yes",
]);

/** Commands whose arguments are the files they create, change or remove. */
const FILE_TOOLS = new Set([
  "cp",
  "mv",
  "rm",
  "mkdir",
  "rmdir",
  "touch",
  "ln",
  "chmod",
  "chown",
  "chgrp",
  "truncate",
]);

/** Compressors: with -c (or -l, -t) they only read; otherwise they replace FILE by FILE.EXT. */
const COMPRESSORS: Record<string, string> = {
  gzip: ".gz",
  gunzip: ".gz",
  bzip2: ".bz2",
  bunzip2: ".bz2",
  xz: ".xz",
  unxz: ".xz",
};

/** Builtins that change (or need) the shell's state: barriers. */
const STATE_BUILTINS = new Set([
  "cd",
  "export",
  "unset",
  "shift",
  "read",
  "exit",
  "umask",
  "wait",
  "getopts",
  "hash",
  "return",
  "break",
  "continue",
  "local",
]);

/**
 * Builtins whose effect jx cannot carry from one `sh -c` to the next: where
 * one appears, the rest of the script runs as one sh.
 *
 * @example
 * ```ts
 * import { FALLBACK_BUILTINS } from "./derive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(FALLBACK_BUILTINS.has("trap"), true);
 * ```
 */
export const FALLBACK_BUILTINS: ReadonlySet<string> = new Set([
  "exec",
  "trap",
  "alias",
  "unalias",
  "eval",
  ".",
  "source",
  "ulimit",
  "readonly",
  "jobs",
  "fg",
  "bg",
  "builtin",
]);

/** POSIX special builtins: assignments before them persist. */
const SPECIAL = new Set([
  ":",
  ".",
  "break",
  "continue",
  "eval",
  "exec",
  "exit",
  "export",
  "readonly",
  "return",
  "set",
  "shift",
  "times",
  "trap",
  "unset",
]);

/** Paths that are never files of the script. */
const DEVICES = /^\/dev\/(null|zero|stdout|stderr|stdin|tty|u?random|fd\/\d+)$/;

/** Options that carry a value in the next argument, per read-only command. */
const VALUE_OPTS: Record<string, string> = {
  grep: "efmABCdD",
  egrep: "efmABCdD",
  fgrep: "efmABCdD",
  sort: "kotTS",
  head: "nc",
  tail: "nc",
  cut: "dfbc",
  wc: "",
  uniq: "fsw",
  diff: "",
  paste: "d",
  join: "12jto",
  fold: "w",
  nl: "bdfhilnsvw",
  od: "AjNtw",
  tr: "",
  date: "dfrs",
  du: "BdtX",
  ls: "ITw",
  file: "fmFeP",
  b2sum: "l",
};

/** An access that touches nothing. */
export const EMPTY = (): Access => ({
  reads: [],
  writes: [],
  all: false,
  barrier: false,
  fallback: false,
  why: [],
});

/** Merges `b` into `a`. */
function merge(a: Access, b: Access): Access {
  a.reads.push(...b.reads);
  a.writes.push(...b.writes);
  a.all ||= b.all;
  a.barrier ||= b.barrier;
  a.fallback ||= b.fallback;
  a.status ||= b.status;
  a.links ||= b.links;
  for (const w of b.why) if (!a.why.includes(w)) a.why.push(w);
  return a;
}

function all(a: Access, why: string): void {
  a.all = true;
  if (!a.why.includes(why)) a.why.push(why);
}

function barrier(a: Access, why: string): void {
  a.barrier = true;
  if (!a.why.includes(why)) a.why.push(why);
}

function fallback(a: Access, why: string): void {
  a.fallback = true;
  if (!a.why.includes(why)) a.why.push(why);
}

/**
 * A word's value when jx can know it without running anything: literal text
 * and variables the resolver knows (an unquoted variable only when its value
 * would not be split or globbed). `glob` when an unquoted `*`, `?` or `[`
 * makes it a pattern.
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { resolveWord } from "./derive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const w = (parseScript('x "$f".gz').items[0].node as { words: { parts: unknown[] }[] }).words[1];
 * assertEquals(resolveWord(w as never, (n) => (n === "f" ? "a b" : undefined)), { value: "a b.gz", glob: false });
 * ```
 */
export function resolveWord(
  w: Word,
  resolve: Resolver,
): { value: string; glob: boolean } | undefined {
  let value = "";
  let glob = false;
  let open = false;
  for (const p of w.parts) {
    if (p.kind === "lit") {
      value += p.text;
      if (!p.quoted && /[*?]/.test(p.text)) glob = true;
      if (!p.quoted && p.text.includes("[")) open = true;
      if (!p.quoted && open && p.text.includes("]")) glob = true;
    } else if (p.kind === "param") {
      const v = resolve(p.name);
      if (v === undefined) return undefined;
      if (!p.quoted && (v === "" || /[\s*?[\\]/.test(v))) return undefined;
      // A changed IFS splits on other characters (or on none): unknown.
      if (!p.quoted && !defaultIfs(resolve)) return undefined;
      value += v;
    } else return undefined;
  }
  return { value, glob };
}

/** Whether IFS is unset or has its default value, as far as `resolve` knows. */
function defaultIfs(resolve: Resolver): boolean {
  const ifs = resolve("IFS");
  return ifs === undefined || ifs === " \t\n";
}

/** Whether a word refers to `$?` (directly or inside a substitution). */
function refersToStatus(text: string): boolean {
  return /\$(\?|\{\?\})/.test(text);
}

/**
 * Whether text's expansions may assign (`${x=...}`, `${x:=...}`,
 * `$((x=...))`), also nested in another expansion (`${a:-${b:=B}}`,
 * `${x:-$((y+=1))}`). Conservative: quoted text counts too.
 */
function assignsInExpansion(t: string): boolean {
  if (/\$\{[A-Za-z_][A-Za-z0-9_]*:?=/.test(t)) return true;
  return arithmetics(t).some((x) => /[^=!<>]=[^=]|\+\+|--/.test(x));
}

/**
 * The texts inside the arithmetic expansions of `t` (`$((n + 1))` gives
 * `n + 1`), where a variable is named without `$`.
 *
 * @example
 * ```ts
 * import { arithmetics } from "./derive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(arithmetics('echo "$((v * (2 + 1)))" $x'), ["v * (2 + 1)"]);
 * ```
 */
export function arithmetics(t: string): string[] {
  const out: string[] = [];
  for (let i = t.indexOf("$(("); i >= 0; i = t.indexOf("$((", i + 3)) {
    let depth = 0;
    let end = t.length;
    for (let k = i + 1; k < t.length; k++) {
      if (t[k] === "(") depth++;
      else if (t[k] === ")" && --depth === 0) {
        end = k;
        break;
      }
    }
    out.push(t.slice(i + 3, Math.max(i + 3, end - 1)));
  }
  return out;
}

/**
 * What the command substitutions of a word touch: their commands, parsed
 * and derived like any other (they run in a subshell, so a state change
 * there only makes them "may touch any file").
 */
function substitutions(w: Word, ctx: DeriveContext, a: Access, depth = 0): void {
  for (const p of w.parts) {
    if (p.kind !== "other" || p.what !== "cmdsub") continue;
    const inner = p.text.startsWith("$(")
      ? p.text.slice(2, -1)
      : p.text.slice(1, -1).replace(/\\([\\`$])/g, "$1");
    const r = parseScript(inner);
    if (r.error || depth > 8) {
      all(a, "runs a command substitution jx cannot read");
      continue;
    }
    for (const i of r.items) {
      merge(a, local(jobAccess(i.node, r.src, ctx), "in a command substitution"));
    }
  }
}

/**
 * Words whose expansion reads or changes the shell's state make a barrier:
 * `$?` (restored only for a barrier), an assignment in an expansion.
 */
function stateWords(words: Word[], a: Access): void {
  if (words.some((w) => refersToStatus(w.text))) {
    barrier(a, "uses $?");
    a.status = true;
  }
  if (words.some((w) => assignsInExpansion(w.text))) barrier(a, "assigns in an expansion");
}

/** Paths of a redirection. */
function redirAccess(r: Redir, ctx: DeriveContext, a: Access): void {
  // A here-document's body is in the node: `$(...)` there is checked by the caller (heredocRisk).
  if (r.heredoc) return;
  if ((r.op === "<&" || r.op === ">&")) {
    const lit = literalOf(r.target);
    if (lit !== undefined && /^(\d+|-)$/.test(lit)) return;
  }
  const v = resolveWord(r.target, ctx.resolve);
  if (!v || v.glob) return all(a, `redirection target ${r.target.text} not known before running`);
  if (DEVICES.test(v.value)) return;
  const ref = { path: v.value, glob: false };
  if (r.op === "<") a.reads.push(ref);
  else if (r.op === "<>") {
    a.reads.push(ref);
    a.writes.push(ref);
  } else a.writes.push(ref);
}

/** Reads and writes of a simple command. */
function simpleAccess(node: Extract<ShNode, { type: "simple" }>, ctx: DeriveContext): Access {
  const a = EMPTY();
  const allWords = [...node.assigns, ...node.words, ...node.redirs.map((r) => r.target)];
  stateWords(allWords, a);
  for (const w of allWords) substitutions(w, ctx, a);
  for (const r of node.redirs) redirAccess(r, ctx, a);
  if (!node.words.length) {
    if (node.assigns.length) barrier(a, "assigns a variable");
    return a;
  }
  const name = resolveWord(node.words[0], ctx.resolve);
  if (!name || name.glob) {
    barrier(a, `command name ${node.words[0].text} not known before running`);
    return a;
  }
  const cmd = name.value;
  if (ctx.functions.has(cmd)) {
    barrier(a, `calls function ${cmd}`);
    return a;
  }
  if (node.assigns.length && SPECIAL.has(cmd)) barrier(a, `assignment before ${cmd} persists`);
  if (!SH_BUILTINS.has(cmd) && !builtinAccess(cmd, [], EMPTY()) && pathChanged(node, ctx)) {
    all(a, `${cmd}: PATH was changed, it may find another program`);
  } else commandAccess(cmd, node.words.slice(1), ctx, a);
  for (const w of node.words.slice(1)) expansionReads(w, ctx, a);
  return a;
}

/** Characters that make an unquoted expansion's value a pattern. */
const GLOB_CHARS = /[*?[]/;

/**
 * The pathname expansion of an argument, whatever the command does with
 * it: a pattern reads the directories it matches in (`echo *.txt` lists
 * them). An unquoted expansion that may hold a pattern jx cannot know (a
 * command substitution, `${x%y}`, `$@` past `$9`) may read any.
 */
function expansionReads(w: Word, ctx: DeriveContext, a: Access): void {
  const maybe = w.parts.some((p) =>
    p.kind === "lit"
      ? !p.quoted && /[*?]|\[.*\]/.test(p.text)
      : p.kind === "param"
      ? !p.quoted && paramValues(p.name, ctx.resolve).some((v) => GLOB_CHARS.test(v))
      : !p.quoted && (p.what === "cmdsub" || p.what === "param-op")
  );
  if (!maybe) return;
  const v = resolveWord(w, ctx.resolve);
  if (v?.glob) a.reads.push({ path: v.value, glob: true });
  else all(a, `the expansion of ${w.text} may be a pattern`);
}

/** What `$name` may expand to (unset: nothing); `$@` and `$*` as each positional parameter. */
function paramValues(name: string, resolve: Resolver): string[] {
  if (name !== "@" && name !== "*") return [resolve(name) ?? ""];
  const n = Number(resolve("#"));
  if (!(n <= 9)) return ["*"];
  return Array.from({ length: n }, (_, i) => resolve(String(i + 1)) ?? "");
}

/** Tools of the tables that are dash builtins: found without `PATH`. */
const SH_BUILTINS = new Set([
  ":",
  "type",
  "times",
  "echo",
  "printf",
  "true",
  "false",
  "pwd",
  "test",
  "[",
]);

/**
 * Whether `PATH` may find another program than the tool of that name: the
 * command sets `PATH` itself, or the script changed it other than by
 * adding folders at its end (`PATH=./bin:$PATH` may find a `./bin/cat`).
 */
function pathChanged(node: Extract<ShNode, { type: "simple" }>, ctx: DeriveContext): boolean {
  if (ctx.initialPath === undefined) return false;
  if (node.assigns.some((w) => w.text.startsWith("PATH="))) return true;
  const now = ctx.resolve("PATH");
  return now !== ctx.initialPath && !now?.startsWith(ctx.initialPath + ":");
}

/** What command `cmd` (not a function) with `args` may touch, added to `a`. */
function commandAccess(cmd: string, args: Word[], ctx: DeriveContext, a: Access): void {
  if (builtinAccess(cmd, args, a)) return;
  if (cmd === ":" || cmd === "type" || cmd === "times" || NO_FILES.has(cmd)) return;
  if (READ_ONLY.has(cmd)) return readOnlyArgs(cmd, args, ctx, a);
  if (cmd in COMPRESSORS) return compressorArgs(cmd, args, ctx, a);
  if (FILE_TOOLS.has(cmd)) return fileToolArgs(cmd, args, ctx, a);
  all(a, `${cmd}: an unknown program may touch any file`);
}

/**
 * A builtin that changes the shell's state (a barrier) or that jx leaves to
 * sh (a fallback), marked in `a`: false when `cmd` is none of them.
 */
function builtinAccess(cmd: string, args: Word[], a: Access): boolean {
  if (cmd === "set") {
    const lits = args.map(literalOf);
    const ok = lits.every((l, i) =>
      l !== undefined && (/^[-+][eufaC]+$/.test(l) || l === "--" || lits.slice(0, i).includes("--"))
    );
    if (!args.length || ok) barrier(a, "set");
    else fallback(a, `set ${args.map((w) => w.text).join(" ")}`);
  } else if (cmd === "unset" && args.some((w) => literalOf(w) === "-f")) {
    fallback(a, "unset -f");
  } else if (cmd === "command") {
    const opt = args[0] && literalOf(args[0]);
    if (opt !== "-v" && opt !== "-V") fallback(a, "command");
  } else if (STATE_BUILTINS.has(cmd)) barrier(a, cmd);
  else if (FALLBACK_BUILTINS.has(cmd)) fallback(a, cmd);
  else return false;
  return true;
}

/**
 * A file tool's options: the short ones that take a value, and those that
 * name files: a directory written into (`-t`), a file read (`--reference`),
 * a backup file made (`-b`: `dst~`, a name jx does not know).
 */
interface ToolOpts {
  values: string;
  files: Record<string, "target" | "read" | "backup">;
}

const COPY_OPTS: ToolOpts = {
  values: "tS",
  files: {
    t: "target",
    "--target-directory": "target",
    b: "backup",
    "--backup": "backup",
    S: "backup",
    "--suffix": "backup",
  },
};

/** Per file tool (the others take no option values and name no files by options). */
const TOOL_OPTS: Record<string, ToolOpts> = {
  cp: COPY_OPTS,
  mv: COPY_OPTS,
  ln: COPY_OPTS,
  touch: { values: "rtd", files: { r: "read", "--reference": "read" } },
  truncate: { values: "rs", files: { r: "read", "--reference": "read" } },
  mkdir: { values: "m", files: {} },
  chmod: { values: "", files: { "--reference": "read" } },
  chown: { values: "", files: { "--reference": "read" } },
  chgrp: { values: "", files: { "--reference": "read" } },
};

/** A tool whose operands are the files it creates, changes or removes (`FILE_TOOLS`). */
function fileToolArgs(cmd: string, args: Word[], ctx: DeriveContext, a: Access): void {
  a.links = true;
  const tool = TOOL_OPTS[cmd] ?? { values: "", files: {} };
  const { opts, operands: ops } = parseArgs(args, tool.values);
  const paths: Word[] = [...ops];
  // `ln TARGET` alone makes a link named as TARGET's last part, here.
  const here = cmd === "ln" && ops.length === 1 && !opts.some((o) => tool.files[o.name]);
  if (here) {
    const v = resolveWord(ops[0], ctx.resolve);
    if (!v || v.glob) return all(a, `argument ${ops[0].text} not known before running`);
    paths.push(literalWord(v.value.replace(/\/+$/, "").replace(/.*\//, "") || "."));
  }
  for (const o of opts) {
    const use = tool.files[o.name];
    if (use === "backup") {
      return all(a, `${cmd} ${o.name}: a backup file its arguments do not name`);
    }
    if (!use) continue;
    if (o.value === undefined) return all(a, `${cmd} ${o.name} without a value`);
    paths.push(typeof o.value === "string" ? literalWord(o.value) : o.value);
  }
  // `mkdir -p out/obj` also makes `out`: a write there (`echo > out/log`) must wait for it.
  const parents = cmd === "mkdir" && opts.some((o) => o.name === "p" || o.name === "--parents");
  for (const w of paths) {
    const v = resolveWord(w, ctx.resolve);
    if (!v || v.glob) return all(a, `argument ${w.text} not known before running`);
    const made = [v.value];
    if (parents) made.push(...ancestors(v.value));
    for (const path of made) {
      const ref = { path, glob: false };
      a.reads.push(ref);
      a.writes.push(ref);
    }
  }
}

/**
 * The folders above `path` as written, nearest first, up to (not
 * including) `.`, `..` or `/`: `out/obj/` gives `out`.
 *
 * @example
 * ```ts
 * import { ancestors } from "./derive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(ancestors("./a/b/c/"), ["./a/b", "./a"]);
 * ```
 */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  const segs = path.replace(/\/+$/, "").split("/");
  for (let n = segs.length - 1; n > 0; n--) {
    const last = segs[n - 1];
    if (last === "" || last === "." || last === "..") break;
    out.push(segs.slice(0, n).join("/"));
  }
  return out;
}

/** A word made of literal text (an option's attached value). */
function literalWord(text: string): Word {
  return { text, start: -1, parts: [{ kind: "lit", text, quoted: true }] };
}

/** Long options of grep that take a value (`--regexp PAT` as well as `--regexp=PAT`). */
const GREP_LONG_VALUES = new Set([
  "--regexp",
  "--file",
  "--max-count",
  "--after-context",
  "--before-context",
  "--context",
  "--label",
  "--include",
  "--exclude",
  "--exclude-from",
  "--exclude-dir",
  "--devices",
  "--directories",
  "--binary-files",
]);

/** An option of a command line: its letter or long name, and its value (attached or next). */
interface Opt {
  name: string;
  value?: Word | string;
}

/**
 * Splits arguments into options and operands. A short option in
 * `valueOpts` takes the rest of its argument (`-ePAT`, `-ie PAT`) or the
 * next one; a long option takes `=VALUE`, or the next argument when it is
 * in `longValues`.
 */
function parseArgs(
  args: Word[],
  valueOpts: string,
  longValues: Set<string> = new Set(),
): { opts: Opt[]; operands: Word[] } {
  const opts: Opt[] = [];
  const out: Word[] = [];
  let more = true;
  for (let i = 0; i < args.length; i++) {
    const w = args[i];
    const l = literalOf(w);
    if (more && l === "--") {
      more = false;
      continue;
    }
    if (!more || l === undefined || !l.startsWith("-") || l.length < 2) {
      out.push(w);
      continue;
    }
    if (l.startsWith("--")) {
      const eq = l.indexOf("=");
      if (eq > 0) opts.push({ name: l.slice(0, eq), value: l.slice(eq + 1) });
      else if (longValues.has(l)) opts.push({ name: l, value: args[++i] });
      else opts.push({ name: l });
      continue;
    }
    for (let j = 1; j < l.length; j++) {
      if (!valueOpts.includes(l[j])) {
        opts.push({ name: l[j] });
        continue;
      }
      opts.push({ name: l[j], value: j + 1 < l.length ? l.slice(j + 1) : args[++i] });
      break;
    }
  }
  return { opts, operands: out };
}

/**
 * Options of read-only commands that name files (by their value) or that
 * make the command touch files its arguments do not name (`any`): `sort -o`
 * writes, `grep -f` reads, `sha256sum -c` reads the files its list names.
 */
const OPTION_FILES: Record<string, Record<string, "read" | "write" | "any">> = {
  sort: {
    o: "write",
    "--output": "write",
    "--random-source": "read",
    "--compress-program": "any",
  },
  grep: { f: "read", "--file": "read", "--exclude-from": "read" },
  date: { r: "read", "--reference": "read", f: "read", "--file": "read" },
  file: { f: "any", "--files-from": "any", m: "read", "--magic-file": "read" },
  diff: { "--from-file": "read", "--to-file": "read", "--exclude-from": "read" },
  du: { X: "read", "--exclude-from": "read" },
};
for (const g of ["egrep", "fgrep"]) OPTION_FILES[g] = OPTION_FILES.grep;
for (const c of ["md5sum", "sha1sum", "sha224sum", "sha256sum", "sha384sum", "sha512sum"]) {
  OPTION_FILES[c] = { c: "any", "--check": "any" };
}
OPTION_FILES.b2sum = OPTION_FILES.cksum = OPTION_FILES.md5sum;

/** Long options that take the next argument as their value, per command (besides `--opt=value`). */
const LONG_VALUES: Record<string, Set<string>> = {
  grep: GREP_LONG_VALUES,
  egrep: GREP_LONG_VALUES,
  fgrep: GREP_LONG_VALUES,
  sort: new Set(["--output", "--random-source", "--compress-program", "--files0-from"]),
  date: new Set(["--date", "--file", "--reference", "--set"]),
  file: new Set(["--files-from", "--magic-file", "--separator"]),
  // Their value would otherwise be taken for a file, and ls or du without files reads `.`.
  ls: new Set([
    "--block-size",
    "--format",
    "--hide",
    "--ignore",
    "--indicator-style",
    "--quoting-style",
    "--sort",
    "--tabsize",
    "--time",
    "--time-style",
    "--width",
  ]),
  du: new Set([
    "--block-size",
    "--exclude",
    "--exclude-from",
    "--files0-from",
    "--max-depth",
    "--threshold",
    "--time-style",
  ]),
};

/**
 * The files `cmd`'s options name, added to `a` (`OPTION_FILES`); false when
 * one makes the command touch files jx cannot name (`a` is then `all`).
 */
function optionFiles(cmd: string, opts: Opt[], ctx: DeriveContext, a: Access): boolean {
  for (const o of opts) {
    const kind = o.name === "--files0-from" ? "any" : OPTION_FILES[cmd]?.[o.name];
    if (!kind) continue;
    if (kind === "any") {
      all(a, `${cmd} ${o.name} touches files its arguments do not name`);
      return false;
    }
    const v = o.value === undefined
      ? undefined
      : typeof o.value === "string"
      ? { value: o.value, glob: false }
      : resolveWord(o.value, ctx.resolve);
    if (!v || (v.glob && kind === "write")) {
      all(a, `${cmd} ${o.name} file not known before running`);
      return false;
    }
    if (DEVICES.test(v.value) || v.value === "-") continue;
    (kind === "write" ? a.writes : a.reads).push({ path: v.value, glob: v.glob });
  }
  return true;
}

/** A command that only reads the files it is given (`READ_ONLY`), its options aside. */
function readOnlyArgs(cmd: string, args: Word[], ctx: DeriveContext, a: Access): void {
  const { opts, operands: ops } = parseArgs(args, VALUE_OPTS[cmd] ?? "", LONG_VALUES[cmd]);
  if (!optionFiles(cmd, opts, ctx, a)) return;
  let files = ops;
  if (/grep$/.test(cmd)) {
    // The first operand is the pattern unless -e/-f gave it; -r without files reads `.`.
    const given = opts.some((o) => ["e", "f", "--regexp", "--file"].includes(o.name));
    const recursive = opts.some((o) =>
      ["r", "R", "--recursive", "--dereference-recursive"].includes(o.name)
    );
    files = given ? ops : ops.slice(1);
    if (recursive && !files.length) a.reads.push({ path: ".", glob: false });
  }
  // Their operands are no files: tr's sets, date's +FORMAT.
  if (cmd === "tr" || cmd === "date") files = [];
  // file -C compiles its magic files into NAME.mgc in the working directory: a write.
  if (cmd === "file" && opts.some((o) => o.name === "C" || o.name === "--compile")) {
    return all(a, "file -C writes the compiled magic file");
  }
  // Without operands, ls and du read the working directory.
  if ((cmd === "ls" || cmd === "du") && !files.length) a.reads.push({ path: ".", glob: false });
  if (cmd === "[" && files.length && literalOf(files[files.length - 1]) === "]") {
    files = files.slice(0, -1);
  }
  for (let k = 0; k < files.length; k++) {
    const w = files[k];
    const v = resolveWord(w, ctx.resolve);
    if (!v) return all(a, `argument ${w.text} not known before running`);
    if (DEVICES.test(v.value) || v.value === "-") continue;
    const ref = { path: v.value, glob: v.glob };
    if ((cmd === "tee" || (cmd === "uniq" && k === 1)) && !v.glob) a.writes.push(ref);
    else if (cmd === "tee" || cmd === "uniq") return all(a, `${cmd} writes a pattern`);
    else a.reads.push(ref);
  }
}

function compressorArgs(cmd: string, args: Word[], ctx: DeriveContext, a: Access): void {
  const lits = args.map(literalOf);
  const toStdout = lits.some((l) =>
    l !== undefined && (/^-[a-zA-Z0-9]*[clt]/.test(l) && !l.startsWith("--") ||
      l === "--stdout" || l === "--to-stdout" || l === "--list" || l === "--test")
  );
  const ext = COMPRESSORS[cmd];
  const { opts, operands: ops } = parseArgs(args, "S");
  // Another suffix, or the name stored in the archive (gunzip -N): names jx does not know.
  const renames = opts.find((o) => ["S", "--suffix", "N", "--name"].includes(o.name));
  if (renames && !toStdout) return all(a, `${cmd} ${renames.name}: file names jx does not know`);
  // xz --files[=LIST], --files0[=LIST]: the files to (de)compress are read from LIST or stdin.
  const listed = opts.find((o) => o.name === "--files" || o.name === "--files0");
  if (listed) return all(a, `${cmd} ${listed.name}: its files are named in a list`);
  for (const w of ops) {
    const v = resolveWord(w, ctx.resolve);
    if (!v || (v.glob && !toStdout)) return all(a, `argument ${w.text} not known before running`);
    if (toStdout) {
      a.reads.push({ path: v.value, glob: v.glob });
      continue;
    }
    for (
      const p of [
        v.value,
        v.value + ext,
        v.value.endsWith(ext) ? v.value.slice(0, -ext.length) : "",
      ]
    ) {
      if (!p) continue;
      a.reads.push({ path: p, glob: false });
      a.writes.push({ path: p, glob: false });
    }
  }
}

/**
 * What `node` touches when it runs as one job (a simple command, a pipeline,
 * or a compound command run whole).
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { deriveAccess } from "./derive.ts";
 * const r = parseScript("sort in > out\n");
 * const a = deriveAccess(r.items[0].node, r.src, { resolve: () => undefined, functions: new Set() });
 * // a.reads: [{ path: "in" }], a.writes: [{ path: "out" }], a.barrier: false
 * ```
 */
export function deriveAccess(node: ShNode, src: string, ctx: DeriveContext): Access {
  switch (node.type) {
    case "simple":
      return simpleAccess(node, ctx);
    case "pipeline": {
      const a = EMPTY();
      for (const c of node.cmds) {
        const b = deriveAccess(c, src, ctx);
        if (node.cmds.length > 1) local(b, "in a pipeline (a subshell)");
        merge(a, b);
      }
      return a;
    }
    case "subshell": {
      const a = EMPTY();
      for (const i of node.body) merge(a, local(deriveAccess(i.node, src, ctx), "in a subshell"));
      ownWordsAccess(node, ctx, a);
      for (const r of node.redirs) redirAccess(r, ctx, a);
      return a;
    }
    case "func": {
      const a = EMPTY();
      barrier(a, `defines function ${node.name}`);
      return a;
    }
    case "andor":
    case "if":
    case "while":
    case "until":
    case "for":
    case "case":
    case "group": {
      // A compound command run whole, in the script's shell.
      const a = EMPTY();
      const lists: ShNode[] = [];
      walk(node, (n) => {
        if (n !== node) lists.push(n);
      });
      const direct = children(node);
      for (const c of direct) merge(a, deriveAccess(c, src, ctx));
      if (lists.some((n) => n.type === "func")) {
        fallback(a, "defines a function inside a compound command");
      }
      if (node.type === "for") barrier(a, `for sets ${node.name}`);
      if (node.type === "case") {
        const v = resolveWord(node.word, ctx.resolve);
        if (!v) all(a, `case word ${node.word.text} not known before running`);
      }
      ownWordsAccess(node, ctx, a);
      if ("redirs" in node) { for (const r of node.redirs) redirAccess(r, ctx, a); }
      return a;
    }
    default: {
      const _assertNever: never = node;
      return _assertNever;
    }
  }
}

/**
 * What the words a compound command expands itself do (a `for`'s list, a
 * `case` word and its patterns, redirection targets): their `$?`,
 * assignments and command substitutions. (dash expands a subshell's
 * redirections in the script's shell: `( cmd ) > ${f:=out}` sets `f`.)
 */
function ownWordsAccess(node: ShNode, ctx: DeriveContext, a: Access): void {
  const words = "redirs" in node ? node.redirs.map((r) => r.target) : [];
  if (node.type === "for") words.push(...node.words ?? []);
  if (node.type === "case") words.push(node.word, ...node.patterns);
  stateWords(words, a);
  for (const w of words) substitutions(w, ctx, a);
}

/** The commands directly inside a compound command. */
function children(node: ShNode): ShNode[] {
  const items = (l: { node: ShNode }[]) => l.map((i) => i.node);
  switch (node.type) {
    case "andor":
      return [node.first, ...node.rest.map((r) => r.node)];
    case "if":
      return [
        ...node.clauses.flatMap((c) => [...items(c.cond), ...items(c.body)]),
        ...items(node.otherwise ?? []),
      ];
    case "while":
    case "until":
      return [...items(node.cond), ...items(node.body)];
    case "for":
    case "group":
    case "subshell":
      return items(node.body);
    case "case":
      return node.bodies.flatMap(items);
    case "simple":
    case "pipeline":
    case "func":
      return [];
    default: {
      const _assertNever: never = node;
      return _assertNever;
    }
  }
}

/** State changes inside a subshell stay there: a barrier inside becomes "may touch anything". */
function local(a: Access, where: string): Access {
  if (a.barrier || a.fallback) {
    a.all = true;
    a.why = a.why.map((w) => `${w} (${where})`);
  }
  // `$?` is the status before the job also in a subshell: only a barrier's prelude has it.
  a.barrier = !!a.status;
  a.fallback = false;
  return a;
}

/**
 * Whether a node's here-document bodies read `$?`, assign in an expansion
 * (`${x:=1}`, `$((n+=1))`), or run commands (`$(...)` or backticks), in a
 * body whose delimiter was not quoted.
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { heredocRisk } from "./derive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = parseScript("cat <<E\n$(date)\nE\n");
 * assertEquals(heredocRisk(r.src, r.items[0].node), "cmdsub");
 * ```
 */
export function heredocRisk(src: string, node: ShNode): "cmdsub" | "assign" | "status" | undefined {
  const rank = { cmdsub: 1, assign: 2, status: 3 };
  let risk: "cmdsub" | "assign" | "status" | undefined;
  const raise = (r: "cmdsub" | "assign" | "status") => {
    if (!risk || rank[r] > rank[risk]) risk = r;
  };
  walk(node, (n) => {
    if (!("redirs" in n)) return;
    for (const r of n.redirs) {
      const h = r.heredoc;
      if (!h || h.quoted) continue;
      const body = src.slice(h.bodyStart, h.bodyEnd);
      if (refersToStatus(body)) raise("status");
      if (assignsInExpansion(body)) raise("assign");
      if (/\$\(|`/.test(body)) raise("cmdsub");
    }
  });
  return risk;
}

/**
 * What `node` touches when it runs as one job: `deriveAccess`, and what the
 * bodies of its here-documents do (`heredocRisk`).
 *
 * @example
 * ```ts
 * import { parseScript } from "./parse.ts";
 * import { jobAccess } from "./derive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = parseScript("cat <<E\n${x:=1}\nE\n");
 * assertEquals(jobAccess(r.items[0].node, r.src, { resolve: () => undefined, functions: new Set() }).barrier, true);
 * ```
 */
export function jobAccess(node: ShNode, src: string, ctx: DeriveContext): Access {
  const a = deriveAccess(node, src, ctx);
  const risk = heredocRisk(src, node);
  if (risk === "status") {
    barrier(a, "a here-document uses $?");
    a.status = true;
  } else if (risk === "assign") barrier(a, "a here-document assigns in an expansion");
  else if (risk === "cmdsub") all(a, "a here-document runs a command substitution");
  return a;
}

/**
 * Whether two accesses conflict: either is a barrier or touches everything,
 * or one writes a path the other reads or writes (a path, a directory above
 * it, or a pattern that matches it).
 *
 * @example
 * ```ts
 * import { conflicts, type Access } from "./derive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const w: Access = { reads: [], writes: [{ path: "a", glob: false }], all: false, barrier: false, fallback: false, why: [] };
 * const r: Access = { reads: [{ path: "*", glob: true }], writes: [], all: false, barrier: false, fallback: false, why: [] };
 * assertEquals(conflicts(w, r, "/tmp"), "a");
 * ```
 */
export function conflicts(a: Access, b: Access, cwd: string): string | undefined {
  if (a.barrier || b.barrier || a.fallback || b.fallback) return "barrier";
  if (a.all || b.all) return "may touch any file";
  for (const w of a.writes) {
    for (const x of b.reads) if (overlap(w, x, cwd)) return w.path;
    for (const x of b.writes) if (overlap(w, x, cwd)) return w.path;
  }
  for (const w of b.writes) for (const x of a.reads) if (overlap(w, x, cwd)) return w.path;
  return undefined;
}

/**
 * An absolute, normalized form of `p` relative to `cwd`.
 *
 * @example
 * ```ts
 * import { normalize } from "./derive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(normalize("./out/../a.txt", "/src"), "/src/a.txt");
 * ```
 */
export function normalize(p: string, cwd: string): string {
  const key = cwd + "\0" + p;
  let n = normalized.get(key);
  if (n === undefined) {
    if (normalized.size > 100_000) normalized.clear();
    n = absolutePath(p, cwd);
    normalized.set(key, n);
  }
  return n;
}

const normalized = new Map<string, string>();

/**
 * A shell word's glob: `*` never crosses `/`, no braces, malformed parts
 * literal; each bracket expression as `?` (any one character), which
 * matches all it may match under sh (`[[:alpha:]]`, `[!a]`) and more.
 */
function globRe(pattern: string): GlobMatcher {
  return compileGlob(looseBrackets(pattern), SHELL_GLOB);
}

/**
 * `pattern` with each bracket expression, as dash reads one, made `?`:
 * `[!a]`, `[]a]`, `[[:alpha:]]`; a `[` that closes none stays.
 *
 * @example
 * ```ts
 * import { looseBrackets } from "./derive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(looseBrackets("[[:alpha:]]3/[!a]x[]]*[y"), "?3/?x?*[y");
 * ```
 */
export function looseBrackets(pattern: string): string {
  if (!pattern.includes("[")) return pattern;
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const end = pattern[i] === "[" ? bracketEnd(pattern, i) : undefined;
    out += end === undefined ? pattern[i] : "?";
    if (end !== undefined) i = end;
  }
  return out;
}

/** The `]` that closes the bracket expression opening at `open`, or undefined (a plain `[`). */
function bracketEnd(p: string, open: number): number | undefined {
  let i = open + 1;
  if (p[i] === "!" || p[i] === "^") i++;
  if (p[i] === "]") i++;
  for (; i < p.length; i++) {
    if (p[i] === "/") return undefined;
    if (p[i] === "]") return i;
    if (p[i] === "[" && ":=.".includes(p[i + 1] ?? "x")) {
      const close = p.indexOf(p[i + 1] + "]", i + 2);
      if (close < 0) return undefined;
      i = close + 1;
    }
  }
  return undefined;
}

/** `ref`'s normalized path in `cwd`, kept on the reference. */
function abs(ref: PathRef & { abs?: string; absCwd?: string }, cwd: string): string {
  if (ref.absCwd !== cwd) {
    ref.abs = normalize(ref.path, cwd);
    ref.absCwd = cwd;
  }
  return ref.abs!;
}

/** `ref`'s path in `cwd`, absolute but with its `.` and `..` kept (for `followLinks`). */
function raw(ref: PathRef, cwd: string): string {
  return ref.path.startsWith("/") ? ref.path : `${cwd}/${ref.path}`;
}

/** Where symbolic links lead, by `g`/`p` + absolute path (`followLinks`), until `forgetLinks`. */
const linkCache = new Map<string, string>();

/**
 * Forgets where symbolic links led through `paths` (absolute; all of them
 * when undefined): a command that may have made, changed or removed a link
 * there has ended.
 *
 * @example
 * ```ts
 * import { forgetLinks } from "./derive.ts";
 * forgetLinks(["/tmp/out"]);
 * ```
 */
export function forgetLinks(paths?: string[]): void {
  if (!paths) return linkCache.clear();
  const through = (p: string) =>
    paths.some((w) => p === w || p.startsWith(w === "/" ? "/" : w + "/"));
  for (const [k, v] of linkCache) if (through(k.slice(1)) || through(v)) linkCache.delete(k);
}

/**
 * The absolute forms of the paths `a` writes, as written and with links
 * followed, relative to `cwd` (for `forgetLinks`).
 */
export function writtenPaths(a: Access, cwd: string): string[] {
  return a.writes.flatMap((w) => {
    const path = abs(w, cwd);
    const real = followLinks(raw(w, cwd), w.glob);
    return real === path ? [path] : [path, real];
  });
}

/**
 * `path` (absolute, normalized) with the symbolic links on its way followed,
 * as they are on disk now (the part that does not exist stays as written);
 * for a pattern, the links of the folders before its first pattern part.
 *
 * @example
 * ```ts
 * import { followLinks } from "./derive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const d = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${d}/real`);
 * Deno.symlinkSync("real", `${d}/link`);
 * assertEquals(followLinks(`${d}/link/a.txt`).endsWith("/real/a.txt"), true);
 * assertEquals(followLinks(`${d}/link/*.txt`, true).endsWith("/real/*.txt"), true);
 * ```
 */
export function followLinks(path: string, glob = false): string {
  const key = (glob ? "g" : "p") + path;
  const hit = linkCache.get(key);
  if (hit !== undefined) return hit;
  let rest = path.split("/").filter(Boolean);
  let done = "";
  for (let hops = 0; rest.length && !(glob && /[*?[]/.test(rest[0]));) {
    // `..` goes up from where the links so far led (`link/..` is not `.`), as the kernel does.
    if (rest[0] === "." || rest[0] === "..") {
      if (rest[0] === "..") done = done.slice(0, done.lastIndexOf("/"));
      rest = rest.slice(1);
      continue;
    }
    const next = `${done}/${rest[0]}`;
    const st = lstatSync(next, { throwIfNoEntry: false });
    if (!st) break; // not there (yet): the rest as written
    const link = st.isSymbolicLink() && hops++ < 40 ? readlinkSync(next) : undefined;
    rest = rest.slice(1);
    if (link === undefined) done = next;
    else {
      const to = link.startsWith("/") ? link : `${done}/${link}`;
      rest = [...to.split("/").filter(Boolean), ...rest];
      done = "";
    }
  }
  // The part that does not exist has no links: its `..` as written.
  const out = rest.length ? absolutePath(rest.join("/"), done || "/") : done || "/";
  if (linkCache.size > 100_000) linkCache.clear();
  linkCache.set(key, out);
  return out;
}

/** Whether `a` and `b` may name one file: by their names, or once their links are followed. */
function overlap(a: PathRef, b: PathRef, cwd: string): boolean {
  const x = abs(a, cwd), y = abs(b, cwd);
  if (overlapAt(a, x, b, y)) return true;
  const rx = followLinks(raw(a, cwd), a.glob), ry = followLinks(raw(b, cwd), b.glob);
  if (rx === x && ry === y) return false;
  return overlapAt(a, rx, b, y) || overlapAt(a, x, b, ry) || overlapAt(a, rx, b, ry);
}

/** `overlap` for one absolute form of each (`x` of `a`, `y` of `b`). */
function overlapAt(a: PathRef, x: string, b: PathRef, y: string): boolean {
  if (a.glob && b.glob) return true;
  if (a.glob || b.glob) {
    const [pat, path] = a.glob ? [x, y] : [y, x];
    // The pattern matches the path, or a directory above it, or a path under it.
    const re = globRe(pat);
    const segs = path.split("/");
    for (let i = 2; i <= segs.length; i++) if (re.test(segs.slice(0, i).join("/"))) return true;
    // A directory above a possible match: the pattern's first segments match it.
    if (path === "/") return true;
    const pegs = pat.split("/");
    return segs.length < pegs.length && globRe(pegs.slice(0, segs.length).join("/")).test(path);
  }
  return x === y || y.startsWith(x === "/" ? "/" : x + "/") ||
    x.startsWith(y === "/" ? "/" : y + "/");
}
