/**
 * The shell state `jx sh` carries from one `sh -c` to the next: the working
 * directory, variables (exported or not), options (`set -e`...), positional
 * parameters, the umask and function definitions. A barrier job ends by
 * dumping its state to a file (also when it exits: through an EXIT trap);
 * every later job starts with a prelude that restores it.
 *
 * @module
 */
import { RAW_BYTE } from "../runtime/utf8.ts";

/**
 * The state every job starts from.
 *
 * @example
 * ```ts
 * import { initialState } from "./state.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const s = initialState("/tmp", { PATH: "/usr/bin:/bin" });
 * assertEquals(s.options, "");
 * ```
 */
export interface ShState {
  cwd: string;
  /** Exported variables with a value: the environment of each job. */
  env: Record<string, string>;
  /** Exported without a value (`export X` before `X=...`). */
  exportedNames: string[];
  /** Shell variables that are not exported. */
  vars: Map<string, string>;
  /** The options among `eufaC` that are on. */
  options: string;
  /** `$1`, `$2`... */
  positional: string[];
  /** Set once a job changed it (as `umask` prints it). */
  umask?: string;
  /** Function definitions, as written, by name. */
  functions: Map<string, string>;
}

/**
 * The state of a fresh `sh SCRIPT` in `cwd` with environment `env`.
 *
 * @example
 * ```ts
 * import { initialState } from "./state.ts";
 * const s = initialState(process.cwd(), { HOME: "/root" });
 * ```
 */
export function initialState(cwd: string, env: Record<string, string>): ShState {
  return {
    cwd,
    env: { ...env },
    exportedNames: [],
    vars: new Map(),
    options: "",
    positional: [],
    functions: new Map(),
  };
}

/**
 * Single-quotes `s` for sh.
 *
 * @example
 * ```ts
 * import { shQuote } from "./state.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(shQuote("it's"), `'it'"'"'s'`);
 * ```
 */
export function shQuote(s: string): string {
  return "'" + s.replace(/'/g, `'"'"'`) + "'";
}

/**
 * Whether an exported value can reach a job through its environment: not
 * when it holds bytes that are not UTF-8 (the environment is encoded as
 * UTF-8), nor when it is too long for one (exec refuses a string over 128
 * KiB): the prelude exports those (`jobScript`), and `jobEnv` leaves them out.
 */
function inEnvironment(value: string): boolean {
  return value.length <= 32_768 && !RAW_BYTE.test(value);
}

/**
 * The environment a job is started with: the state's exported variables,
 * but those its prelude exports (`inEnvironment`).
 *
 * @example
 * ```ts
 * import { initialState, jobEnv } from "./state.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const s = initialState("/", { A: "1", B: "x".repeat(200_000) });
 * assertEquals(Object.keys(jobEnv(s)), ["A"]);
 * ```
 */
export function jobEnv(state: ShState): Record<string, string> {
  const env = state.env;
  if (Object.values(env).every(inEnvironment)) return env;
  return Object.fromEntries(Object.entries(env).filter(([, v]) => inEnvironment(v)));
}

/** Variables sh sets itself; restored only when the script changed them. */
const SHELL_DEFAULTS: Record<string, string[]> = {
  IFS: [" \t\n"],
  OPTIND: ["1"],
  PS1: ["$ ", "# "],
  PS2: ["> "],
  PS4: ["+ "],
};
/** The variables of jx's own prelude and epilogue (a script's other `__jx...` variables are its own). */
const JX_VARS = new Set(["__jx_x", "__jx_o", "__jx_m", "__jx_n"]);
/** Between the sections of a dump. */
const SEP = "\n\0\n";
/** Never restored: sh sets them from the process. */
const NOT_CARRIED = new Set(["PPID", "PWD", "LINENO"]);

/**
 * How one job runs: whether it dumps its state (`dumpFile`), its options,
 * the status `$?` starts with, variables bound by an expanded `for`.
 *
 * @example
 * ```ts
 * import type { PreludeOptions } from "./state.ts";
 * const o: PreludeOptions = { errexit: true, status: 0, binds: new Map([["f", "a.txt"]]) };
 * ```
 */
export interface PreludeOptions {
  /**
   * `set -e` applies (not in a condition: `if`, `while`, `&&`...; there the
   * command runs as `{ CMD\n} && :`, where sh ignores `-e`).
   */
  errexit: boolean;
  /**
   * The command is a condition (`if`/`while` test, left of `&&`/`||`): it
   * runs as `{ CMD\n} && :` also without `set -e` in the script, so that a
   * `set -e` inside it (`( set -e; false; echo x )`) is ignored, as in sh.
   */
  cond?: boolean;
  /** `$?` when the command starts. */
  status: number;
  binds: Map<string, string>;
  /** Dump the state here when the command ends or exits. */
  dumpFile?: string;
  /** Record here whether the command got to its end (`c STATUS`) or the shell exited (`x STATUS`). */
  probeFile?: string;
  /** The command's line in the script (blank lines pad the prelude up to it). */
  line?: number;
  /**
   * The command ends inside a here-document that runs to the end of the
   * script without a final newline (`ShJob.openEnd`): nothing follows it, not
   * even a newline; a probe or a dump then comes from the EXIT trap (as when
   * the shell exits: nothing in the script follows the command either).
   */
  openEnd?: boolean;
  /** Send the command's stderr into its stdout (jx's fds 1 and 2 are one file). */
  mergeStderr?: boolean;
  /**
   * Change to this directory first (the text is run as a file from another
   * directory); `OLDPWD` is then restored.
   */
  chdir?: string;
}

/**
 * The full text given to `sh -c`: the prelude that restores `state`, the
 * command, and for a barrier the dump of the state it leaves.
 *
 * @example
 * ```ts
 * import { initialState, jobScript } from "./state.ts";
 * const text = jobScript(initialState("/", {}), "echo hi", { errexit: false, status: 0, binds: new Map() });
 * // "echo hi\n"
 * ```
 */
export function jobScript(state: ShState, command: string, o: PreludeOptions): string {
  const { multi, one } = preludeParts(state, o);
  // In a condition `set -e` stays on and the command runs on the left of
  // `&&`, where sh itself ignores it: a `set` there is seen in `$-` as in sh.
  const suspend = o.cond || (!o.errexit && state.options.includes("e"));
  const head = placedHead(multi, one, o.line ?? 1);
  // An open end cannot be wrapped: `set -e` then applies in a condition too.
  if (o.openEnd) return head + command;
  let text = head + (suspend ? `{ ${command}\n} && :` : command) + "\n";
  if (o.probeFile) {
    text += `__jx_x=$?; trap - EXIT; command printf 'c %s' "$__jx_x" > ${
      shQuote(o.probeFile)
    }; exit "$__jx_x"\n`;
  }
  if (o.dumpFile) {
    text += `__jx_x=$?; __jx_o=$-; set +eu; trap - EXIT; __jx_d c "$@"\nexit "$__jx_x"\n`;
  }
  return text;
}

/**
 * The prelude's pieces: those of many lines (functions, values put on many
 * lines) and those of one. A value's newlines come from a variable
 * (`__jx_n`), so that it takes no line of its own.
 */
function preludeParts(state: ShState, o: PreludeOptions): { multi: string[]; one: string[] } {
  const multi: string[] = [];
  const one: string[] = [];
  const put = (s: string) => (s.includes("\n") ? multi : one).push(s);
  let newline = false;
  const q = (v: string) => {
    if (!v.includes("\n")) return shQuote(v);
    newline = true;
    return v.split("\n").map(shQuote).join('"$__jx_n"');
  };
  if (o.mergeStderr) one.push("exec 2>&1");
  if (o.chdir !== undefined) {
    one.push(`command cd -- ${q(o.chdir)} || exit 2`);
    const old = state.vars.get("OLDPWD") ?? state.env.OLDPWD;
    put(old === undefined ? "unset OLDPWD" : `OLDPWD=${q(old)}`);
  }
  if (o.probeFile) {
    one.push(`trap '__jx_x=$?; command printf "x %s" "$__jx_x" > ${shQuote(o.probeFile)}' EXIT`);
  }
  if (o.dumpFile) {
    one.push(`__jx_d() { ${dump(o.dumpFile)}; }`);
    one.push(`trap '__jx_x=$?; __jx_o=$-; set +eu; __jx_d x "$@"' EXIT`);
  }
  // `command`: the script's functions are defined by now, and may be named printf, umask, pwd, cd.
  if (state.umask !== undefined) one.push(`command umask ${state.umask}`);
  for (const f of state.functions.values()) put(f);
  for (const [k, v] of state.vars) put(`${k}=${q(v)}`);
  for (const [k, v] of Object.entries(state.env)) {
    if (!inEnvironment(v)) put(`export ${k}=${q(v)}`);
  }
  if (state.exportedNames.length) one.push(`export ${state.exportedNames.join(" ")}`);
  for (const [k, v] of o.binds) put(`${k}=${q(v)}`);
  // A fresh sh's IFS is space, tab, newline: its last character is the newline.
  if (newline) one.unshift("__jx_n=${IFS#??}");
  if (state.options) one.push(`set -${state.options}`);
  if (o.status !== 0) one.push(`(exit ${o.status}) && :`);
  return { multi, one };
}

/**
 * The prelude as text: the pieces of many lines first, then one line for
 * the rest, then blank lines so that the command starts on its `line` in the
 * script (sh's messages, "script.sh: 12: ...", name the same line).
 */
function placedHead(multi: string[], one: string[], line: number): string {
  const multiHead = multi.map((m) => m + "\n").join("");
  const multiUsed = multiHead.split("\n").length - 1;
  if (one.length && multiUsed + 1 > line - 1 && multiUsed <= line - 1) {
    // No room for a line of its own: the one-line part goes before the command, on its line.
    return multiHead + "\n".repeat(line - 1 - multiUsed) + one.join("; ") + "; ";
  }
  let head = multiHead + (one.length ? one.join("; ") + "\n" : "");
  const used = head.split("\n").length - 1;
  if (used < line - 1) head += "\n".repeat(line - 1 - used);
  return head;
}

function dump(file: string): string {
  // `command`: the script's own functions may be named printf, umask or pwd.
  const p = "command printf";
  return `__jx_m=$1; shift; { ${p} '%s %s\\n' "$__jx_m" "$__jx_x"; command umask; ` +
    `${p} '%s\\n' "$__jx_o"; command pwd; ${p} '\\0\\n'; export -p; ${p} '\\0\\n'; set; ` +
    `${p} '\\0\\n%s\\n' "$#"; ${p} '%s\\0' "$@"; } > ${shQuote(file)} 2>/dev/null`;
}

/**
 * A dumped state: whether the shell exited (`exit`, or `set -e`) and with
 * what status, and the state to carry on.
 *
 * @example
 * ```ts
 * import { initialState, parseDump } from "./state.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const d = parseDump("c 0\n0022\n\n/tmp\n\0\nexport A='1'\n\0\nA='1'\nx='y'\n\0\n0\n", initialState("/", {}));
 * assertEquals(d?.state.vars.get("x"), "y");
 * ```
 */
export interface Dump {
  exited: boolean;
  status: number;
  state: ShState;
}

/**
 * Reads a dump written by a barrier's epilogue or EXIT trap; undefined when
 * it is not one. Functions are kept from `prev` (sh cannot print them).
 *
 * @example
 * ```ts
 * import { initialState, parseDump } from "./state.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const d = parseDump("x 3\n0022\n\n/tmp\n\0\n\n\0\n\n\0\n0\n", initialState("/", {}));
 * // the shell exited with status 3
 * assertEquals([d?.exited, d?.status], [true, 3]);
 * ```
 */
export function parseDump(text: string, prev: ShState): Dump | undefined {
  // NUL: no variable's value can hold one (a value may hold any other byte: \x1e, newlines).
  const sections = text.split(SEP);
  if (sections.length < 4) return undefined;
  const head = sections[0].split("\n");
  const m = /^([xc]) (\d+)$/.exec(head[0] ?? "");
  if (!m) return undefined;
  const umask = head[1];
  const options = (head[2] ?? "").replace(/[^eufaC]/g, "");
  const cwd = head[3] || prev.cwd;
  const env: Record<string, string> = {};
  const exportedNames: string[] = [];
  for (const [k, v] of assignments(sections[1], "export ")) {
    // jx's own variables are exported too under `set -a`.
    if (JX_VARS.has(k)) continue;
    if (v === undefined) exportedNames.push(k);
    else env[k] = v;
  }
  const vars = new Map<string, string>();
  for (const [k, v] of assignments(sections[2], "")) {
    if (v === undefined || k in env || JX_VARS.has(k) || NOT_CARRIED.has(k)) continue;
    if (SHELL_DEFAULTS[k]?.includes(v)) continue;
    vars.set(k, v);
  }
  const rest = sections.slice(3).join(SEP);
  const nl = rest.indexOf("\n");
  const count = Number(rest.slice(0, nl));
  const positional = count ? rest.slice(nl + 1).split("\0").slice(0, count) : [];
  env.PWD = cwd;
  return {
    exited: m[1] === "x",
    status: Number(m[2]),
    state: {
      cwd,
      env,
      exportedNames,
      vars,
      options,
      positional,
      umask: umask || prev.umask,
      functions: prev.functions,
    },
  };
}

/** `NAME='value'` entries (each after `prefix`) as sh prints them; values may span lines. */
function assignments(text: string, prefix: string): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === "\n") {
      i++;
      continue;
    }
    if (prefix && text.startsWith(prefix, i)) i += prefix.length;
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 256));
    if (!m) {
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? text.length : nl + 1;
      continue;
    }
    const name = m[0];
    i += name.length;
    if (text[i] !== "=") {
      out.push([name, undefined]);
      continue;
    }
    i++;
    let value = "";
    while (i < text.length && text[i] !== "\n" && text[i] !== " ") {
      const c = text[i];
      if (c === "'" || c === '"') {
        const end = text.indexOf(c, i + 1);
        const stop = end < 0 ? text.length : end;
        value += text.slice(i + 1, stop);
        i = stop + 1;
      } else if (c === "\\") {
        value += text[i + 1] ?? "";
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    out.push([name, value]);
  }
  return out;
}
