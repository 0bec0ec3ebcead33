/**
 * The pool as each job sees it: the form of MAKEFLAGS a job asked for (its
 * `jobserver:` key, else the fifo form for a job that runs ninja, which
 * ignores the pipe form), and warnings for jobs that would leave the pool: make
 * with a `-j` of its own, ninja given the pipe form.
 *
 * @module
 */
import type { JobStyle } from "./makeflags.ts";

/** What this module needs of a job. */
export interface JobserverJob {
  name: string;
  argv: string[];
  /** The job's `jobserver:` key. */
  jobserver?: JobStyle;
}

/** Words that may come before the make of a command: prefixes that run what follows. */
const PREFIXES = new Set([
  "env",
  "exec",
  "command",
  "nice",
  "nohup",
  "time",
  "ionice",
  "chrt",
  "taskset",
  "stdbuf",
  "timeout",
  "sudo",
  "builtin",
]);
const MAKE_NAME = /^(?:(?:.*\/)?g?make|\$\(MAKE\)|\$\{MAKE\}|\$MAKE)$/;
const NINJA_NAME = /^(?:.*\/)?ninja$/;
/** A command none of whose words hold this names neither (a cheap test first, on big graphs). */
const MAY_RUN = /make|MAKE|ninja/;
/** Short options of make that take no argument, so may come bundled before `j`. */
const BUNDLE = /^-[bBdeiknpqrsStvwhLR]*j(.*)$/;
/** A word that is (or expands to) -j's count: `4`, `$(nproc)`, `${N}`. */
const COUNT = /^(?:\d+|\$\S+)$/;
/** Options of make whose argument is the next word. */
const TAKES_ARG = new Set(["-C", "-f", "-I", "-o", "-W", "--file", "--directory"]);

/** Where the program of one simple command's words is: past prefixes, assignments, their options. */
function programAt(words: string[], name: RegExp): number {
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (name.test(w)) return i;
    if (PREFIXES.has(w) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(w) || /^-|^\d+$/.test(w)) continue;
    return -1;
  }
  return -1;
}

/** The `-j` of one simple command's words, if they run make with one. */
function jobsOption(words: string[]): string | undefined {
  const i = programAt(words, MAKE_NAME);
  if (i < 0) return undefined;
  const show = (v: string) => `-j${v}`;
  for (let k = i + 1; k < words.length; k++) {
    const w = words[k];
    if (TAKES_ARG.has(w)) {
      k++;
      continue;
    }
    const next = words[k + 1] ?? "";
    if (w === "--jobs" || w === "-j") return show(COUNT.test(next) ? next : "");
    if (w.startsWith("--jobs=")) return show(w.slice(7));
    const m = BUNDLE.exec(w);
    if (m) return show(m[1] === "" && COUNT.test(next) ? next : m[1]);
  }
  return undefined;
}

/**
 * Whether a job's command runs make with a `-j` of its own (a heuristic on
 * the command text): returns that option as `-jN` (or `-j`), else undefined.
 * A string command (`/bin/sh -c TEXT`) is split into simple commands at
 * `;`, `&`, `|`, newlines and parentheses; make may follow variable
 * assignments and prefixes such as `env`, `nice` or `time`.
 *
 * @example
 * ```ts
 * import { makeJobsOption } from "./jobs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(makeJobsOption(["/bin/sh", "-c", "cd lib && make -j4 all"]), "-j4");
 * assertEquals(makeJobsOption(["make", "--jobs=8"]), "-j8");
 * assertEquals(makeJobsOption(["/bin/sh", "-c", "make -C lib"]), undefined);
 * ```
 */
export function makeJobsOption(argv: string[]): string | undefined {
  for (const words of simpleCommands(argv)) {
    const found = jobsOption(words);
    if (found) return found;
  }
  return undefined;
}

/**
 * The words of each simple command of a job: a string command (`/bin/sh -c
 * TEXT`) is split at `;`, `&`, `|`, newlines and parentheses.
 */
function simpleCommands(argv: string[]): string[][] {
  if (!(argv.length === 3 && argv[0] === "/bin/sh" && argv[1] === "-c")) return [argv];
  const script = argv[2].replace(/\$\(([^()]*)\)/g, "$$[$1]"); // keep $(nproc) as one word
  return script.split(/;|&&?|\|\|?|\n|`|[(){}]/).map((part) =>
    part.trim().split(/\s+/).map((w) => w.replace(/^["']|["']$/g, "")).filter((w) => w)
      .map((w) => w.replace(/\$\[([^\]]*)\]/g, "$($1)"))
  );
}

/** Whether one of a job's simple commands runs the program `name` matches. */
function runs(argv: string[], name: RegExp): boolean {
  return simpleCommands(argv).some((words) => programAt(words, name) >= 0);
}

/**
 * The MAKEFLAGS form a job gets: its `jobserver:` key when given; else the
 * fifo form when its command runs ninja and no make (ninja >= 1.13 joins a
 * pool only in the fifo form: given the pipe form it ignores the pool and
 * runs `-jN` on its own; make 4.3 refuses the fifo form); else undefined
 * (the pool's own).
 *
 * @example
 * ```ts
 * import { jobStyle } from "./jobs.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(jobStyle({ name: "b", argv: ["/bin/sh", "-c", "cmake -G Ninja .. && ninja"] }), "fifo");
 * assertEquals(jobStyle({ name: "m", argv: ["make", "all"] }), undefined);
 * ```
 */
export function jobStyle(job: JobserverJob): JobStyle | undefined {
  if (job.jobserver) return job.jobserver;
  // Most commands name no ninja: answered without an entry in `styles` (a
  // WeakMap entry per job was 1 MB at 20,000 jobs).
  if (!job.argv.some((a) => a.includes("ninja"))) return undefined;
  let style = styles.get(job.argv);
  if (style === undefined) {
    style = runs(job.argv, NINJA_NAME) && !runs(job.argv, MAKE_NAME) ? "fifo" : "";
    styles.set(job.argv, style);
  }
  return style || undefined;
}

/** The form of each command naming ninja, found once (a job's argv is one array on every start). */
const styles = new WeakMap<string[], JobStyle | "">();

/**
 * Warns, once per job, about jobs whose command runs make with a `-j` of its
 * own (that make leaves the pool); jobs with `jobserver: none` are left alone.
 *
 * @example
 * ```ts
 * import { warnMakeJobs } from "./jobs.ts";
 * warnMakeJobs([{ name: "lib", argv: ["/bin/sh", "-c", "make -j4"] }], console.warn);
 * // job lib runs make with -j4, which leaves jx's job-slot pool (make: "-jN forced in submake")
 * ```
 */
export function warnMakeJobs(jobs: JobserverJob[], warn: (message: string) => void): void {
  for (const j of jobs) {
    if (j.jobserver === "none" || !j.argv.some((a) => MAY_RUN.test(a))) continue;
    if (jobStyle(j) !== "fifo" && runs(j.argv, NINJA_NAME)) {
      const why = j.jobserver === "pipe" ? "its jobserver: pipe" : "it also runs make";
      warn(
        `job ${j.name} runs ninja with the pipe form of the pool (${why}): ninja >= 1.13 ` +
          `ignores it and runs -jN jobs of its own; give it jobserver: fifo`,
      );
    }
    const option = makeJobsOption(j.argv);
    if (option) {
      warn(
        `job ${j.name} runs make with ${option}, which leaves jx's job-slot pool ` +
          `(make: "-jN forced in submake")`,
      );
    }
  }
}
