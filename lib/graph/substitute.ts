/**
 * `${NAME}` substitution (`Substituter`), and where a `${NAME:q}` may stand in a `run` string:
 * the shell's quoting followed through the text (`ShellQuoting`), so that the quotes jx puts
 * around a value are read as quotes, never as text.
 *
 * @module
 */
import { didYouMean, JxInputError } from "./errors.ts";
import { MAX_VALUE_LENGTH } from "./limits.ts";
import { escapeGlob } from "./glob.ts";
import type { PosMap } from "./validate.ts";

/** Quotes an argv item for display. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * A command's quoting as the shell reads it: inside quotes (`q`), open parentheses (a subshell's,
 * a `case` pattern's `(a)`), `case`s, and whether it is arithmetic.
 */
interface ShellLevel {
  q: "" | "'" | '"' | "$'";
  parens: number;
  /** `case`s open (each pattern's `)` is no end of a `$(...)`: `$(case $x in a) cmd;; esac)`). */
  cases: number;
  /**
   * An arithmetic `$((...))`, `((...))` or `$[...]` (bash's, also as `sh`), where `<<` is a
   * shift, not a here-document.
   */
  arith?: boolean;
  /** A `$((...))` or `$[...]`: a part of a word, as a `$(...)` is (`((...))` is none). */
  dollar?: boolean;
  /**
   * The character that ends this level: `)` or a backquote (a command substitution), `]` (a
   * `$[...]`, its `[`s counted in `parens`), or `}`: a
   * parameter expansion inside double quotes (`"${X:-"a b"}"`), where a `"` opens quotes of its
   * own (nested, not the end of the outer ones) and a `'` is read differently by the shells.
   */
  end: ")" | "`" | "]" | "}";
}

/** A here-document of a `run` string (see `ShellQuoting`). */
interface HereDoc {
  word: string;
  expand: boolean;
  strip: boolean;
}

/**
 * Whether the reserved word `w` is at `i` of `s`: a word of its own (`case`, not `cases`) where a
 * command starts (after `;`, `&`, `|`, `(`, a newline, a backquote, or a reserved word that a
 * command follows: `do`, `then`, `else`, `{`...; `echo case` is no `case`).
 */
function wordAt(s: string, i: number, w: string): boolean {
  if (!s.startsWith(w, i) || !/^[\s;&|()<>`]?$/.test(s[i + w.length] ?? "")) return false;
  let k = i - 1;
  while (k >= 0 && (s[k] === " " || s[k] === "\t")) k--;
  if (k < 0 || ";&|(\n`".includes(s[k])) return true;
  let b = k;
  while (b > 0 && !/[\s;&|()`]/.test(s[b - 1])) b--;
  return BEFORE_COMMAND.has(s.slice(b, k + 1));
}

/** `ShellQuoting.at`'s word for a place inside backquotes. */
const BACKQUOTES = "backquotes";

/** `ShellQuoting.at`'s word for a place after a `'` inside a double-quoted `${...}`. */
const LOST_BRACE = "after-brace-quote";

/** `ShellQuoting.at`'s word for a place inside `$((...))`, `((...))` or `$[...]`: then its form. */
const ARITH = "arithmetic ";

/** `ShellQuoting.at`'s word for a place after a `\'` inside `$'...'`. */
const LOST_ANSI = "after-ansi-quote";

/** Reserved words after which a command starts (`for f in a; do case ...`). */
const BEFORE_COMMAND = new Set(["do", "then", "else", "elif", "if", "while", "until", "{", "!"]);

/**
 * Reads shell text `s` from its start, as far as asked: whether a place in it is inside quotes
 * or a here-document (where a `${NAME:q}` must not be: the shell still expands `$(...)` in its
 * value inside double quotes and an unquoted here-document, and reads its quotes as text). A
 * command substitution (`"$(cmd ${X:q})"`) starts afresh. A sketch of the shell's lexer: quotes,
 * backslashes, `$(`, backquotes, arithmetic, `case` patterns, comments and here-documents; places
 * asked for in order, so that a long `run` is read once. A place that an escape or a comment
 * takes in is not bare either.
 */
class ShellQuoting {
  private i = 0;
  private stack: ShellLevel[] = [{ q: "", parens: 0, cases: 0, end: ")" }];
  /**
   * The `<<WORD`s of the line being read: each body's end word, whether it is expanded, and
   * whether leading tabs are stripped from its lines (`<<-`: only there is `\tWORD` its end).
   */
  private pending: HereDoc[] = [];
  /** The here-documents whose bodies are being read (the first one's body now). */
  private bodies: HereDoc[] = [];
  /** What the last jump over text (an escape, a comment) went through, for a place inside it. */
  private over = "";
  /**
   * Where the last `$(...)` or `$((...))` ended (its last `)`): a `#` right after it is in the
   * same word (`$(date)#x`), no comment.
   */
  private substEnd = -2;
  /**
   * Set where the shells part ways on which quotes are quotes (`LOST_BRACE`, `LOST_ANSI`): from
   * there on no place is known to be bare.
   */
  private lost?: string;

  constructor(private s: string) {}

  /** Where `end` falls (not before a place asked for earlier): undefined when bare. */
  at(end: number): string | undefined {
    const s = this.s;
    for (; this.i < end && !this.lost; this.i++) {
      const i = this.i, c = s[i], top = this.stack[this.stack.length - 1];
      if (this.bodies.length) {
        if (i === 0 || s[i - 1] === "\n") {
          const nl = s.indexOf("\n", i), line = s.slice(i, nl < 0 ? s.length : nl);
          const { word, strip } = this.bodies[0];
          if ((strip ? line.replace(/^\t*/, "") : line) === word) {
            this.bodies.shift();
            this.i = nl < 0 ? s.length : nl;
            this.over = "a here-document";
          }
        }
        continue;
      }
      if (top.q === "'") {
        if (c === "'") top.q = "";
      } else if (top.q === "$'" && c === "\\" && s[i + 1] === "'") {
        // bash ends `$'it\'s'` at its last quote; dash (/bin/sh on Debian and Ubuntu) has no
        // `$'...'` and ends `'it\'` at the escaped one: what follows is bare to one of them only.
        this.lost = LOST_ANSI;
      } else if (c === "\\") this.i++, this.over = "a backslash escape";
      else if (top.q === "$'") {
        if (c === "'") top.q = "";
      } else if (c === "$" && s[i + 1] === "(") {
        const arith = s[i + 2] === "(";
        this.stack.push({ q: "", parens: 0, cases: 0, end: ")", arith, dollar: arith });
        this.i += arith ? 2 : 1;
      } else if (c === "$" && s[i + 1] === "[") { // bash's `$[1 + 2]`, also when it is `sh`
        this.stack.push({ q: "", parens: 0, cases: 0, end: "]", arith: true, dollar: true });
        this.i++;
      } else if (c === "`") {
        if (top.end === "`" && this.stack.length > 1) this.stack.pop();
        else this.stack.push({ q: "", parens: 0, cases: 0, end: "`" });
      } else if (top.q === '"') {
        if (c === '"') top.q = "";
        else if (c === "$" && s[i + 1] === "{") this.brace();
      } else if (top.end === "}") this.inBrace(c, top);
      else this.bare(c, top);
    }
    if (this.lost) return this.lost;
    // The place itself went by in a jump: `\${X:q}` (the shell reads jx's first quote as a
    // character: the rest of the value is code), or a comment (a newline in the value ends it).
    if (this.i > end) return this.over;
    // Inside backquotes the shell reads `\\`, `\$` and `` \` `` again, in jx's quotes too.
    if (this.stack.some((l) => l.end === "`")) return BACKQUOTES;
    if (this.bodies.length) {
      return this.bodies[0].expand ? "an unquoted here-document" : "a quoted here-document";
    }
    const top = this.stack[this.stack.length - 1];
    if (top.end === "}" && !top.q) return "double quotes"; // `"${Y:-${X:q}}"`
    // An arithmetic expression is read as if in double quotes: `$(( '$(cmd)' ))` runs cmd.
    if (top.arith && !top.q) {
      return ARITH + (top.end === "]" ? "$[...]" : top.dollar ? "$((...))" : "((...))");
    }
    const q = top.q;
    return q === "'" ? "single quotes" : q === '"' ? "double quotes" : q ? "$'...'" : undefined;
  }

  /** A `${` inside double quotes (or inside such a `${...}`): its own level, to its `}`. */
  private brace(): void {
    this.stack.push({ q: "", parens: 0, cases: 0, end: "}" });
    this.i++;
  }

  /**
   * A character of a `${...}` inside double quotes, outside its own nested quotes: `"` opens
   * them, `}` ends the expansion, `${` nests one; `$(...)` and backquotes were taken before.
   * A `'` there is a quote to bash and a character to dash (`"${X:-'}'}"` ends at the first
   * `}` in dash, the second in bash): a pair holding no `}`, `"`, `$`, backslash or backquote is
   * read alike (skipped); any other leaves where the double quotes end unknown.
   */
  private inBrace(c: string, top: ShellLevel): void {
    if (c === '"') top.q = c;
    else if (c === "}") this.stack.pop();
    else if (c === "$" && this.s[this.i + 1] === "{") this.brace();
    else if (c === "'") {
      const close = this.s.indexOf("'", this.i + 1);
      if (close < 0 || /[}"$\\`]/.test(this.s.slice(this.i + 1, close))) this.lost = LOST_BRACE;
      else this.i = close;
    }
  }

  /** A character outside quotes. */
  private bare(c: string, top: ShellLevel): void {
    const s = this.s, i = this.i;
    if (c === "'" || c === '"') top.q = c;
    else if (c === "$" && s[i + 1] === "'") top.q = "$'", this.i++;
    else if (c === "(" && s[i + 1] === "(") { // `((...))`: its own level, ended by `))`
      this.stack.push({ q: "", parens: 0, cases: 0, end: ")", arith: true });
      this.i++;
    } else if (c === "(") top.parens++;
    else if (c === ")") {
      if (top.parens > 0) top.parens--;
      else if (top.arith && top.end === ")") {
        if (s[i + 1] === ")") { // its `))`
          this.stack.pop();
          this.i++;
          if (top.dollar) this.substEnd = this.i;
        }
      } else if (!top.cases && this.stack.length > 1 && top.end === ")") {
        this.stack.pop();
        this.substEnd = i;
      }
    } else if (top.end === "]" && (c === "[" || c === "]")) {
      if (c === "[") top.parens++;
      else if (top.parens > 0) top.parens--;
      else this.stack.pop(), this.substEnd = i;
    } else if (c === "c" && wordAt(s, i, "case")) top.cases++;
    else if (c === "e" && top.cases && wordAt(s, i, "esac")) top.cases--;
    else if (c === "#" && (i === 0 || /[\s;&|()]/.test(s[i - 1])) && this.substEnd !== i - 1) {
      // A comment starts a word: `(echo)#x` has one, `$(date)#x` is one word (as `${X}#x`).
      const nl = s.indexOf("\n", i); // a comment, to the end of its line
      this.i = (nl < 0 ? s.length : nl) - 1;
      this.over = "a comment";
    } else if (c === "<" && s[i + 1] === "<" && s[i + 2] === "<") this.i += 2; // a here-string
    else if (c === "<" && s[i + 1] === "<" && !top.arith) { // not `$((1 << 2))`
      // The word's quotes may be any part of it (`<<E"OF"`): its body ends at the word unquoted.
      const m = /^<<-?[ \t]*((?:'[^'\n]*'|"[^"\n]*"|\\.|[^\s;&|()<>'"\\])+)/.exec(
        s.slice(i, i + 256),
      );
      if (m) {
        const word = m[1].replace(/'([^']*)'|"([^"]*)"|\\(.)/g, (_, a, b, c) => a ?? b ?? c);
        this.pending.push({ word, expand: !/['"\\]/.test(m[1]), strip: m[0][2] === "-" });
        this.i += m[0].length - 1;
        this.over = "a here-document's word";
      }
    } else if (c === "\n" && this.pending.length) {
      this.bodies = this.pending; // their bodies start on the next line, one after the other
      this.pending = [];
    }
  }
}

/**
 * `${NAME}` substitution with the file's variables (and a `foreach` item's).
 *
 * @example
 * ```ts
 * import { Substituter } from "./substitute.ts";
 * import { PosMap } from "./validate.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const sub = new Substituter(new Map([["CC", "gcc"]]), "jobs.yaml", new PosMap());
 * assertEquals(sub.apply("${CC} -c a.c", "jobs.a.run", true), "gcc -c a.c");
 * assertEquals(sub.apply("${X:-${CC}} $${CC}", "jobs.a.run", false), "${X:-gcc} ${CC}");
 * ```
 */
export class Substituter {
  constructor(
    /** The variables, by name. */
    readonly vars: Map<string, string>,
    private file: string,
    private positions: PosMap,
    /** Variables whose values are paths found on disk: in `reads`/`writes`, no glob. */
    private literal: ReadonlySet<string> = new Set(),
  ) {}

  /**
   * While the file's `vars:` are read, in order: the names set there that are not read yet, so
   * that using one says it comes too late rather than that it is unknown.
   */
  later?: ReadonlySet<string>;

  /**
   * The same, with more variables (a `foreach` item's). `found`: they are
   * paths found on disk (a glob's items), which `reads` and `writes` take
   * as exactly those paths (`src/*.c` is a file's name there, not a glob).
   */
  with(extra: Record<string, string>, found = false): Substituter {
    const names = Object.keys(extra);
    return new Substituter(
      new Map([...this.vars, ...Object.entries(extra)]),
      this.file,
      this.positions,
      found ? new Set([...this.literal, ...names]) : this.literal,
    );
  }

  /**
   * A `reads`/`writes` item with its variables replaced (`apply`, strict),
   * paths found on disk with their glob characters escaped (`escapeGlob`).
   */
  resource(s: string, path: string): string {
    return this.apply(s, path, true, false, true);
  }

  /**
   * Replaces `${NAME}`; `$${` stays a literal `${`. Unknown names are left
   * for the shell when `strict` is false, and are an error when true.
   * `${NAME:q}` is the value quoted as exactly one shell word: only in
   * shell text (`shell`, a `run` string), and only for a known variable.
   */
  apply(s: string, path: string, strict: boolean, shell = false, resource = false): string {
    if (s.length > MAX_VALUE_LENGTH) {
      this.fail(`${path}: longer than ${MAX_VALUE_LENGTH} characters`, path);
    }
    if (shell && s.includes("$(")) this.makeVars(s, path);
    if (!s.includes("${")) return s; // nothing to replace (most values)
    let length = s.length; // stops doubling variables before memory runs out
    let quoting: ShellQuoting | undefined;
    // `$${` is a literal `${`; `${...}` holds no `${` (in `${X:-${V}}`, the shell's default
    // around a jx var, `${V}` is the var).
    return s.replace(/\$\$\{|\$\{((?:[^}$]|\$(?!\{))*)\}/g, (whole, inner: string, at: number) => {
      if (inner === undefined) return "${";
      const quote = inner.endsWith(":q");
      const name = quote ? inner.slice(0, -2) : inner;
      const inside = quote && shell ? (quoting ??= new ShellQuoting(s)).at(at) : undefined;
      const misplaced = inside && misplacedQuote(inside, inner);
      if (misplaced) this.fail(`${path}: ${misplaced}`, path);
      const v = this.vars.get(name);
      if (quote && !shell) {
        // A path with no position is the loader's own guess at what a job writes: leave it.
        if (!strict && !this.positions.has(path)) return whole;
        this.fail(
          `${path}: \${${inner}} quotes for the shell, only in a \`run\` string ` +
            `(here the value is used as it is: write \${${name}})`,
          path,
        );
      }
      if (v !== undefined) {
        if (v.includes("\0")) this.fail(`${path}: \${${name}} holds a NUL byte (\\0)`, path);
        const out = quote ? shellQuote(v) : resource && this.literal.has(name) ? escapeGlob(v) : v;
        if ((length += out.length - whole.length) > MAX_VALUE_LENGTH) {
          this.fail(`${path}: longer than ${MAX_VALUE_LENGTH} characters after substitution`, path);
        }
        return out;
      }
      if (!strict && !quote) return whole;
      return this.unknown(name, quote, path);
    });
  }

  /**
   * Fails on make's `$(NAME)` in shell text `s` where NAME is one of the vars, in capitals
   * (`$(CC)`): the shell runs a command `CC` there. Not where the shell keeps it as text (single
   * quotes, a quoted here-document, a comment: a job that writes a Makefile).
   */
  private makeVars(s: string, path: string): void {
    let quoting: ShellQuoting | undefined;
    for (const m of s.matchAll(/\$\(([A-Z_][A-Z0-9_]*)\)/g)) {
      const name = m[1];
      if (!this.vars.has(name) || (m.index > 0 && s[m.index - 1] === "\\")) continue;
      const inside = (quoting ??= new ShellQuoting(s)).at(m.index);
      if (inside && !/^(double quotes|an unquoted here-document|backquotes)$/.test(inside)) {
        continue;
      }
      this.fail(
        `${path}: $(${name}) runs a command named ${name} (the shell's $(...)); ` +
          `jx's var ${name} is written \${${name}}`,
        path,
      );
    }
  }

  /** Fails on `${name}` (or `${name:q}`), which names no variable (yet). */
  private unknown(name: string, quote: boolean, path: string): never {
    if (this.later?.has(name)) {
      const own = path === `vars.${name}`;
      return this.fail(
        `${path}: \${${name}} ${own ? "is this var itself" : "is set below it"} ` +
          "(a var may use only the vars above it)",
        path,
      );
    }
    const hint = didYouMean(name, this.vars.keys());
    const shellVar = quote ? ` (:q quotes jx vars; for the shell's own, write "$${name}")` : "";
    // `env: { PATH: "${PATH}:/opt/bin" }` (compose's habit) set PATH to that text, silently.
    const env = /(^|\.)env\.[^.]+$/.test(path) && !hint
      ? ` (no shell reads env values: build on the environment in the run string, ` +
        `run: '${name}="$${name}:..." cmd'; the text \${${name}} itself is written $\${${name}})`
      : "";
    return this.fail(`${path}: unknown variable \${${name}}${hint}${shellVar}${env}`, path);
  }

  private fail(msg: string, path: string): never {
    // Positions are keyed `reads.0`; messages say `reads[0]`, as everywhere else.
    const shown = path.replace(/\.(\d+)(?=\.|$)/g, "[$1]");
    throw new JxInputError(msg.replace(path, () => shown), this.file, this.positions.get(path));
  }
}

/**
 * Why `${inner}` (a `:q`) cannot stand where `ShellQuoting.at` found it (`inside`): the shell
 * would not read the quotes of its value as quotes there.
 */
function misplacedQuote(inside: string, inner: string): string {
  if (inside === LOST_BRACE) {
    return `\${${inner}} after a ' inside "\${...}", which the shells read differently ` +
      `(dash as a character, bash as a quote), so where the double quotes end is unknown ` +
      `(write the \${...} without the ' or outside the double quotes)`;
  }
  if (inside.startsWith(ARITH)) {
    return `\${${inner}} inside ${inside.slice(ARITH.length)}, which the shell reads as ` +
      `inside double quotes ` +
      `(its quotes are text there and a $(...) in the value runs): assign it first, ` +
      `n=\${${inner}}, then write $((n + 1))`;
  }
  if (inside === LOST_ANSI) {
    return `\${${inner}} after a $'...' holding \\', which the shells end at different ` +
      `quotes (dash, /bin/sh on Debian and Ubuntu, has no $'...'), so what follows may be ` +
      `quoted (write the ' as "'" outside the $'...')`;
  }
  if (inside === BACKQUOTES) {
    return `\${${inner}} inside backquotes, where the shell reads backslashes in its quotes ` +
      `again (write $(...) for \`...\`)`;
  }
  return `\${${inner}} inside ${inside}, where the shell does not read its quotes as quotes ` +
    `(write it bare: "a "\${${inner}}" b")`;
}
