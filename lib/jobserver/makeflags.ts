/**
 * Reading and writing GNU make's MAKEFLAGS: the jobserver it advertises,
 * its -j, and the one-letter flags jx honours (n: dry run, k: keep going,
 * q: question, t: touch).
 *
 * @module
 */

/** A jobserver found in the environment. */
export type JobserverAuth =
  | { style: "pipe"; read: number; write: number }
  | { style: "fifo"; path: string };

/** What MAKEFLAGS says. */
export interface MakeFlags {
  auth?: JobserverAuth;
  /**
   * The value of the last `--jobserver-auth=` when it names no pool jx can read (`abc`, `3,`,
   * `3,4,5`): make 4.4 says `invalid --jobserver-auth string` and runs `-j1` (4.3 stops).
   */
  badAuth?: string;
  /** `-jN` when given. */
  jobs?: number;
  /** `-j` with no number (`make -j`: no limit, and no pool). */
  unlimited?: boolean;
  /**
   * The last `-j` whose count is no positive number (`-j-3`, `-jfoo`, `-j0`): make 4.4.1 stops
   * (`the '-j' option requires a positive integer argument`; `-j-3` hangs), 4.3 warns and goes
   * on without it. jx warns, reads it as no `-j`, and hands it to no job (`stripJobserver`).
   */
  badJobs?: string;
  dryRun: boolean;
  keepGoing: boolean;
  /** `q` (`make -q`: whether everything is up to date, by the exit status, nothing run). */
  question: boolean;
  /** `t` (`make -t`: targets touched instead of made). */
  touch: boolean;
  /** Where it came from: MAKEFLAGS, MFLAGS or CARGO_MAKEFLAGS. */
  source?: string;
}

/**
 * Parses the jobserver settings from the environment, as make and the Rust
 * `jobserver` crate do: CARGO_MAKEFLAGS, then MAKEFLAGS, then MFLAGS; the
 * last `--jobserver-auth=` (or old `--jobserver-fds=`) wins.
 *
 * @example
 * ```ts
 * import { parseMakeFlags } from "./makeflags.ts";
 * parseMakeFlags({ MAKEFLAGS: "kn -j3 --jobserver-auth=3,4" });
 * // { auth: { style: "pipe", read: 3, write: 4 }, jobs: 3, dryRun: true, keepGoing: true,
 * //   question: false, touch: false, source: "MAKEFLAGS" }
 * ```
 */
export function parseMakeFlags(env: Record<string, string | undefined>): MakeFlags {
  const out: MakeFlags = { dryRun: false, keepGoing: false, question: false, touch: false };
  for (const name of ["CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"]) {
    const v = env[name];
    if (!v || !/\S/.test(v)) continue;
    out.source = name;
    const words = blankSplit(v);
    const vars = words.indexOf("--");
    const flagWords = vars < 0 ? words : words.slice(0, vars);
    // The first word holds single-letter flags unless it is empty or an option.
    const first = v.startsWith(" ") ? "" : flagWords[0] ?? "";
    if (first && !first.startsWith("-") && !first.includes("=")) {
      out.dryRun = first.includes("n");
      out.keepGoing = first.includes("k");
      out.question = first.includes("q");
      out.touch = first.includes("t");
    }
    for (const [i, w] of flagWords.entries()) {
      // `-j 3` (a MAKEFLAGS set by hand) is `-j3` to make: a count may stand as the next word.
      const j = w === "-j" && /^\d+$/.test(flagWords[i + 1] ?? "") ? `-j${flagWords[i + 1]}` : w;
      if (j === "-j") out.unlimited = true;
      let m = /^-j(\d+)$/.exec(j);
      // `-j0` is no count of slots (make refuses it): as if no -j were given.
      if (m && Number(m[1]) > 0) out.jobs = Number(m[1]);
      else if (j.startsWith("-j") && j !== "-j") out.badJobs = j;
      m = /^--jobserver-(?:auth|fds)=(.*)$/.exec(w);
      if (!m) continue;
      const a = m[1];
      const pipe = /^(-?\d+),(-?\d+)$/.exec(a);
      if (a.startsWith("fifo:")) out.auth = { style: "fifo", path: unescapeBlanks(a.slice(5)) };
      else if (pipe) out.auth = { style: "pipe", read: Number(pipe[1]), write: Number(pipe[2]) };
      else {
        // The last one wins, even when it names no pool.
        [out.auth, out.badAuth] = [undefined, a];
        continue;
      }
      delete out.badAuth;
    }
    break;
  }
  return out;
}

/**
 * The words of a MAKEFLAGS value: split at blanks, but not at one a
 * backslash escapes (make 4.4 writes a fifo under `TMPDIR=/tmp/my dir` as
 * `fifo:/tmp/my\\ dir/GMfifo123`; any other backslash as it is).
 */
function blankSplit(value: string): string[] {
  return value.match(/(?:\\\s|\S)+/g) ?? [];
}

const unescapeBlanks = (word: string): string => word.replace(/\\(\s)/g, "$1");

/** The `--jobserver-auth=` value of `auth`, a fifo's path escaped as make does. */
function authValue(auth: JobserverAuth): string {
  return auth.style === "pipe"
    ? `${auth.read},${auth.write}`
    : `fifo:${auth.path.replace(/\s/g, "\\$&")}`;
}

/** The MAKEFLAGS value that hands a pool of `jobs` slots to children. */
export function formatMakeFlags(jobs: number, auth: JobserverAuth): string {
  return ` -j${jobs} --jobserver-auth=${authValue(auth)}`;
}

/** How a job is handed the pool: the pipe form (`R,W`), the fifo form, or not at all. */
export type JobStyle = "pipe" | "fifo" | "none";

/** The pool's words and every `-j` word (one that make cannot read too: `-j-3`, `-jfoo`). */
const JOBSERVER_WORD = /^(?:--jobserver-(?:auth|fds)=.*|-j.*)$/;

/** `flags` without the jobserver's words, nor the count a `-j` has as the next word (`-j 3`). */
const withoutJobWords = (flags: string[]): string[] =>
  flags.filter((w, i) =>
    !JOBSERVER_WORD.test(w) && !(i > 0 && flags[i - 1] === "-j" && /^\d+$/.test(w))
  );

/** Splits a MAKEFLAGS value into its flag words and the ` -- VAR=...` tail. */
function splitFlags(value: string): { flags: string[]; tail: string } {
  const at = value.search(/(^|\s)--(\s|$)/);
  const head = at < 0 ? value : value.slice(0, at);
  const tail = at < 0 ? "" : value.slice(at).trim();
  // The first word (single-letter flags) may be empty: keep its place.
  const words = blankSplit(head);
  return { flags: /^\S/.test(head) ? words : ["", ...words], tail };
}

function joinFlags(flags: string[], tail: string): string {
  const text = flags.join(" ") + (tail ? " " + tail : "");
  return /\S/.test(text) ? text : "";
}

/**
 * Removes the jobserver (`--jobserver-auth=`, `--jobserver-fds=`) and every
 * `-j` (`-jN`, `-j N`, `-j`, and one make cannot read: `-jfoo`) from a MAKEFLAGS value, keeping the other flags and variables; returns ""
 * when nothing is left.
 *
 * @example
 * ```ts
 * import { stripJobserver } from "./makeflags.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(stripJobserver("k -j4 --jobserver-auth=3,4 -- CC=clang"), "k -- CC=clang");
 * ```
 */
export function stripJobserver(value: string): string {
  const { flags, tail } = splitFlags(value);
  return joinFlags(withoutJobWords(flags), tail);
}

/** A `-j` word make cannot read: `-j-3`, `-jfoo`, `-j0` (not `-j`, nor `-jN` with N > 0). */
const BAD_JOBS_WORD = /^-j(?!0*[1-9]\d*$)./;

/**
 * A MAKEFLAGS-like value without the `-j` words make cannot read (`BAD_JOBS_WORD`), the rest
 * kept; "" when nothing is left.
 *
 * @example
 * ```ts
 * import { withoutBadJobs } from "./makeflags.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(withoutBadJobs("k -jfoo -j4 -- CC=cc"), "k -j4 -- CC=cc");
 * ```
 */
export function withoutBadJobs(value: string): string {
  const { flags, tail } = splitFlags(value);
  return joinFlags(flags.filter((w) => !BAD_JOBS_WORD.test(w)), tail);
}

/** make's flags that change what it does rather than how: print, touch or ask instead of run. */
const MODE_WORD = /^--(?:just-print|dry-run|recon|touch|question)$/;

/**
 * A MAKEFLAGS value without the flags that make a make print, touch or
 * question instead of running (`n`, `t`, `q` and their long forms): what
 * jx may hand on to its jobs from its own environment when it runs them for
 * real.
 *
 * @example
 * ```ts
 * import { withoutModeFlags } from "./makeflags.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(withoutModeFlags("nk --touch -- CC=clang"), "k -- CC=clang");
 * ```
 */
export function withoutModeFlags(value: string): string {
  const { flags, tail } = splitFlags(value);
  const kept = flags.map((w, i) => i === 0 && !w.startsWith("-") ? w.replace(/[ntq]/g, "") : w)
    .filter((w, i) => i === 0 || !MODE_WORD.test(w));
  return joinFlags(kept, tail);
}

/** The variables make passes its flags in, the jobserver among them. */
export const FLAG_VARS: readonly string[] = ["MAKEFLAGS", "MFLAGS", "CARGO_MAKEFLAGS"];

/**
 * `env` with the jobserver and `-jN` stripped from MAKEFLAGS, MFLAGS and
 * CARGO_MAKEFLAGS (`stripJobserver`), each removed when nothing is left.
 *
 * @example
 * ```ts
 * import { withoutJobserver } from "./makeflags.ts";
 * withoutJobserver({ MAKEFLAGS: " -j4 --jobserver-auth=3,4", MFLAGS: "-k" });
 * // { MFLAGS: "-k" }
 * ```
 */
export function withoutJobserver(env: Record<string, string>): Record<string, string> {
  const out = { ...env };
  for (const name of FLAG_VARS) {
    if (out[name] === undefined) continue;
    const v = stripJobserver(out[name]);
    if (v) out[name] = v;
    else delete out[name];
  }
  return out;
}

/**
 * A MAKEFLAGS value with its jobserver replaced by `auth` (and `-jN` set to
 * `jobs` when given), keeping the other flags and variables.
 *
 * @example
 * ```ts
 * import { withAuth } from "./makeflags.ts";
 * withAuth("k -j4 --jobserver-auth=fifo:/tmp/f", { style: "pipe", read: 5, write: 6 });
 * // "k -j4 --jobserver-auth=5,6"
 * ```
 */
export function withAuth(value: string, auth: JobserverAuth, jobs?: number): string {
  const { flags, tail } = splitFlags(value);
  const j = jobs === undefined ? flags.find((w) => /^-j0*[1-9]\d*$/.test(w)) : `-j${jobs}`;
  const kept = withoutJobWords(flags);
  if (kept.length === 0) kept.push("");
  kept.push(...(j ? [j] : []), `--jobserver-auth=${authValue(auth)}`);
  return joinFlags(kept, tail);
}
