/**
 * dotenv files (`env_file:`): the usual syntax of `.env` files, read into
 * plain variables. A malformed line is a `JxInputError` at its line and
 * column in the dotenv file.
 *
 * Syntax: `NAME=VALUE` per line; blank lines and `#` comments; an optional
 * `export ` before the name; a value unquoted (trimmed, ` #` starts a
 * comment), in single quotes (literal), or in double quotes (escapes `\n`,
 * `\t`, `\r`, `\"`, `\\`, `\$`; may span lines, a CRLF there read as `\n`). No `${...}`
 * expansion.
 *
 * @module
 */
import { JxInputError, type Pos } from "./errors.ts";
import { VAR_RE } from "./schema.ts";
import { errorCode, errorMessage } from "./read.ts";
import { readRegularBytes } from "../runtime/fs.ts";
import { sha256 } from "../runtime/hash.ts";
import { notUtf8, utf8Decoder } from "../runtime/utf8.ts";

const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  '"': '"',
  "\\": "\\",
  $: "$",
};

/** A cursor over the text that knows line and column. */
class Cursor {
  i = 0;
  line = 1;
  lineStart = 0;
  constructor(readonly text: string, readonly file: string) {}
  get pos(): Pos {
    return { line: this.line, col: this.i - this.lineStart + 1 };
  }
  peek(): string {
    return this.text[this.i] ?? "";
  }
  next(): string {
    const c = this.text[this.i++] ?? "";
    if (c === "\n") {
      this.line++;
      this.lineStart = this.i;
    }
    return c;
  }
  fail(msg: string, pos = this.pos): never {
    throw new JxInputError(msg, this.file, pos);
  }
  skipBlanks(): void {
    while (this.peek() === " " || this.peek() === "\t") this.next();
  }
  /** Skips blanks and a comment up to the end of the line; fails on anything else. */
  endOfLine(): void {
    this.skipBlanks();
    if (this.peek() === "#") { while (this.peek() !== "" && this.peek() !== "\n") this.next(); }
    if (this.peek() === "\r") this.next();
    if (this.peek() !== "" && this.peek() !== "\n") this.fail("unexpected text after the value");
    this.next();
  }
}

function quoted(c: Cursor, q: string): string {
  const start = c.pos;
  c.next();
  let out = "";
  for (;;) {
    const ch = c.next();
    if (ch === "") c.fail(`unclosed ${q === '"' ? "double" : "single"} quote`, start);
    if (ch === q) return out;
    if (ch === "\r" && c.peek() === "\n") continue; // a CRLF file's line break in the value is \n
    if (q === '"' && ch === "\\") {
      const e = c.next();
      const v = ESCAPES[e];
      if (v === undefined) c.fail(`unknown escape \\${e} (known: \\n \\t \\r \\" \\\\ \\$)`);
      out += v;
      continue;
    }
    out += ch;
  }
}

function unquoted(c: Cursor): string {
  let out = "";
  while (c.peek() !== "" && c.peek() !== "\n") {
    if (c.peek() === "#" && (out === "" || /[ \t]$/.test(out))) break;
    out += c.next();
  }
  return out.trim();
}

/** One `NAME=VALUE` line (or a blank or comment line) into `out`. */
function entry(c: Cursor, out: Record<string, string>): void {
  c.skipBlanks();
  if (c.peek() === "#" || c.peek() === "\n" || c.peek() === "\r" || c.peek() === "") {
    return c.endOfLine();
  }
  if (c.text.startsWith("export ", c.i) || c.text.startsWith("export\t", c.i)) {
    for (let k = 0; k < 7; k++) c.next();
    c.skipBlanks();
  }
  const at = c.pos;
  let name = "";
  while (/[A-Za-z0-9_.-]/.test(c.peek())) name += c.next();
  if (!VAR_RE.test(name)) {
    c.fail(name === "" ? "expected NAME=VALUE" : `invalid variable name '${name}'`, at);
  }
  c.skipBlanks();
  if (c.peek() !== "=") c.fail(`expected '=' after ${name}`);
  c.next();
  c.skipBlanks();
  const q = c.peek();
  const valueAt = c.pos;
  const value = q === '"' || q === "'" ? quoted(c, q) : unquoted(c);
  if (value.includes("\0")) {
    // As for `env:` in a jobs file: a process's environment cannot hold one (it was cut there).
    c.fail(`${name}: the value contains a NUL byte (\\0), which no environment can hold`, valueAt);
  }
  out[name] = value;
  c.endOfLine();
}

/**
 * Parses dotenv text; `file` names it in errors.
 *
 * @example
 * ```ts
 * import { parseDotenv } from "./dotenv.ts";
 * parseDotenv('# db\nexport HOST=localhost\nMSG="a\\nb" # two lines\n', ".env");
 * // { HOST: "localhost", MSG: "a\nb" }
 * ```
 */
export function parseDotenv(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const c = new Cursor(text, file);
  // A byte order mark at the start (some editors write one) is not part of the first name.
  if (text.startsWith("\uFEFF")) c.i = c.lineStart = 1;
  while (c.i < text.length) entry(c, out);
  return out;
}

/**
 * Reads the dotenv file at `path` (absolute); `shown` names it in the messages of its contents.
 * Undefined when it does not exist; a file that cannot be read (a folder, no permission) throws
 * what `unreadable` makes of the reason (an error at the `env_file` item that names it).
 */
export function readDotenv(
  path: string,
  shown: string,
  unreadable: (why: string) => Error,
  hashed?: (hash: string) => void,
): Record<string, string> | undefined {
  let bytes: Uint8Array;
  try {
    bytes = readRegularBytes(path);
  } catch (e) {
    if (errorCode(e) === "ENOENT") return undefined;
    throw unreadable(errorMessage(e));
  }
  // Its content's hash as the state stamps files: a job checked after an edit runs with the
  // values read here, not the file's new ones (`UpToDate.dotenvLoaded`).
  hashed?.(sha256().update(bytes).hex().slice(0, 32));
  const bad = notUtf8(bytes);
  if (bad) throw new JxInputError(bad.message, shown, { line: bad.line, col: bad.col });
  return parseDotenv(utf8Decoder.decode(bytes), shown);
}
