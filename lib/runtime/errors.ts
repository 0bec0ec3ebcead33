/**
 * Errors that end a run before anything starts: they carry a position in the
 * jobs file and always mean exit code 2.
 *
 * @module
 */

/**
 * A line and column in a source file, both starting at 1.
 *
 * @example
 * ```ts
 * import { JxInputError } from "./errors.ts";
 * import { deepStrictEqual } from "node:assert";
 * const e = new JxInputError("unknown key", "jobs.yaml", { line: 3, col: 5 });
 * deepStrictEqual(e.pos, { line: 3, col: 5 });
 * ```
 */
export interface Pos {
  /** Line, from 1. */
  line: number;
  /** Column, from 1. */
  col: number;
}

/**
 * An invalid jobs file or command line. Printed as one line,
 * `FILE:LINE:COL: message` when it has a position, and exit code 2.
 *
 * @example
 * ```ts
 * import { JxInputError } from "./errors.ts";
 * import { strictEqual } from "node:assert";
 * const e = new JxInputError("unknown key 'rnu'", "jobs.yaml", { line: 3, col: 5 });
 * strictEqual(e.format(), "jobs.yaml:3:5: unknown key 'rnu'");
 * strictEqual(e.exitCode, 2);
 * ```
 */
export class JxInputError extends Error {
  /** The file the error is in, when it comes from a file. */
  readonly file?: string;
  /** Where in the file. */
  readonly pos?: Pos;
  /** Always 2: usage error or invalid jobs file. */
  readonly exitCode = 2;
  /**
   * The file (absolute) whose absence is the error (an `include` or dotenv file not made
   * yet): `jx watch` looks for it to appear.
   */
  missing?: string;

  /** An error with `message`, at `pos` in `file` when it comes from a file. */
  constructor(message: string, file?: string, pos?: Pos) {
    super(message);
    this.name = "JxInputError";
    this.file = file;
    this.pos = pos;
  }

  /** The one-line form printed to the user. */
  format(): string {
    if (this.file && this.pos) {
      return `${this.file}:${this.pos.line}:${this.pos.col}: ${this.message}`;
    }
    if (this.file) return `${this.file}: ${this.message}`;
    return this.message;
  }
}

/**
 * A usage error of `command` (a word it does not take, one it lacks, an unknown option, an
 * option without its value): the one wording of every command's, `COMMAND: PROBLEM (see jx
 * COMMAND --help)`, printed as `jx: ...`, exit 2 as all bad input (docs/cli.md). Without a
 * command (an option before it), `PROBLEM (see jx --help)`.
 *
 * @example
 * ```ts
 * import { usageError } from "./errors.ts";
 * import { strictEqual } from "node:assert/strict";
 * const e = usageError("list", "unexpected argument 'foo'");
 * strictEqual(e.message, "list: unexpected argument 'foo' (see jx list --help)");
 * strictEqual(e.exitCode, 2);
 * strictEqual(usageError("help", "unexpected argument 'x'").message.endsWith("(see jx --help)"), true);
 * ```
 */
export function usageError(command: string | undefined, problem: string): JxInputError {
  if (!command || command === "help") {
    return new JxInputError(`${command ? `${command}: ` : ""}${problem} (see jx --help)`);
  }
  return new JxInputError(`${command}: ${problem} (see jx ${command} --help)`);
}

/**
 * Throws for a flag that takes no value when one was `given` (`--no-color=x`): the one message
 * of every parser of jx's arguments, a usage error of `command`.
 *
 * @example
 * ```ts
 * import { noValue } from "./errors.ts";
 * import { throws } from "node:assert/strict";
 * // No value: nothing thrown.
 * noValue("--no-color", false, "run");
 * throws(
 *   () => noValue("--no-color", true, "run"),
 *   /^JxInputError: run: --no-color takes no value \(see jx run --help\)$/,
 * );
 * ```
 */
export function noValue(flag: string, given: boolean, command?: string): void {
  if (given) throw usageError(command, `${flag} takes no value`);
}

/** Edit distance (with transpositions), for did-you-mean suggestions. */
export function editDistance(a: string, b: string): number {
  // Optimal string alignment: insertions, deletions, substitutions, transpositions.
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** `" (did you mean 'x'?)"` for the closest candidate, or `""` when none is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best = "";
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  const limit = word.length < 3 ? 0 : Math.max(1, Math.floor(word.length / 3));
  return best && bestD <= limit ? ` (did you mean '${best}'?)` : "";
}

/**
 * `didYouMean` for an unknown option: the one candidate it begins, when just
 * one does (`--dry` for `--dry-run`, `--keep` for `--keep-going`: an edit
 * distance would rather name a short option of about its length, `--help`),
 * else the closest by edit distance.
 *
 * @example
 * ```ts
 * import { optionHint } from "./errors.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const own = ["--help", "--keep-going", "--no-color", "--no-wait"];
 * assertEquals(optionHint("--keep", own), " (did you mean '--keep-going'?)");
 * assertEquals(optionHint("--hlep", own), " (did you mean '--help'?)");
 * assertEquals(optionHint("--no", own), ""); // two begin with it, none is close
 * ```
 */
export function optionHint(flag: string, candidates: Iterable<string>): string {
  const list = [...candidates];
  if (flag.startsWith("--") && flag.length > 3) {
    const longer = list.filter((c) => c.length > flag.length && c.startsWith(flag));
    if (longer.length === 1) return ` (did you mean '${longer[0]}'?)`;
  }
  return didYouMean(flag, list);
}

/** A few errno codes of a failed write or open, in words. */
const IO_REASONS: Record<string, string> = {
  ENOSPC: "no space left on device",
  EPIPE: "broken pipe",
  EIO: "input/output error",
  EDQUOT: "disk quota exceeded",
  EFBIG: "file too large",
  EBADF: "bad file descriptor",
  EROFS: "read-only file system",
  EMFILE: "too many open files",
  ENFILE: "too many open files in system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a folder",
  ELOOP: "too many levels of symbolic links",
};

/**
 * A failed file call's reason in words, worded the same on Deno and Bun (their messages
 * differ): by its errno code when known, else the code, else the message.
 *
 * @example
 * ```ts
 * import { ioReason } from "./errors.ts";
 * import { strictEqual } from "node:assert";
 * strictEqual(ioReason(Object.assign(new Error("x"), { code: "EMFILE" })), "too many open files");
 * ```
 */
export function ioReason(cause: unknown): string {
  const message = String((cause as Error)?.message ?? cause);
  const given = (cause as { code?: unknown })?.code;
  // Deno gives some errors no code (EFBIG): its message ends in "(os error 27)".
  const code = typeof given === "string"
    ? given
    : ERRNOS[/\(os error (\d+)\)/.exec(message)?.[1] ?? ""];
  if (code === undefined) return message;
  return IO_REASONS[code] ?? code;
}

/** The codes of `IO_REASONS` by errno number (Linux). */
const ERRNOS: Record<string, string> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  9: "EBADF",
  13: "EACCES",
  23: "ENFILE",
  24: "EMFILE",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  32: "EPIPE",
  122: "EDQUOT",
};

/**
 * A write jx could not make: to its stdout or stderr, or to the event log. Printed as one line,
 * `jx: write error: stdout: no space left on device`; a run it stops exits 1 (docs/cli.md).
 *
 * @example
 * ```ts
 * import { WriteError } from "./errors.ts";
 * import { strictEqual } from "node:assert";
 * const e = new WriteError("stdout", Object.assign(new Error("x"), { code: "ENOSPC" }));
 * strictEqual(e.message, "write error: stdout: no space left on device");
 * strictEqual(e.code, "ENOSPC");
 * ```
 */
export class WriteError extends Error {
  /** The errno code of the failure (`ENOSPC`, `EPIPE`...), when known. */
  readonly code?: string;

  /** `where` (`stdout`, `the event log 'x'`) could not be written: `cause` is the runtime's error. */
  constructor(where: string, cause: unknown) {
    const code = (cause as { code?: unknown })?.code;
    super(`write error: ${where}: ${ioReason(cause)}`);
    this.name = "WriteError";
    this.code = typeof code === "string" ? code : undefined;
  }
}
