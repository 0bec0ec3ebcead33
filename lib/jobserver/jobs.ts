/**
 * The pool as each job sees it: the form of MAKEFLAGS a job asked for (its
 * `jobserver:` key), and a warning for jobs that run make with a `-j` of
 * their own, which takes that make out of the pool.
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
/** Short options of make that take no argument, so may come bundled before `j`. */
const BUNDLE = /^-[bBdeiknpqrsStvwhLR]*j(.*)$/;
/** A word that is (or expands to) -j's count: `4`, `$(nproc)`, `${N}`. */
const COUNT = /^(?:\d+|\$\S+)$/;
/** Options of make whose argument is the next word. */
const TAKES_ARG = new Set(["-C", "-f", "-I", "-o", "-W", "--file", "--directory"]);

/** The `-j` of one simple command's words, if they run make with one. */
function jobsOption(words: string[]): string | undefined {
  let i = 0;
  for (; i < words.length; i++) {
    const w = words[i];
    if (MAKE_NAME.test(w)) break;
    if (PREFIXES.has(w) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(w) || /^-|^\d+$/.test(w)) continue;
    return undefined;
  }
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
 * makeJobsOption(["/bin/sh", "-c", "cd lib && make -j4 all"]); // "-j4"
 * makeJobsOption(["make", "--jobs=8"]); // "-j8"
 * makeJobsOption(["/bin/sh", "-c", "make -C lib"]); // undefined
 * ```
 */
export function makeJobsOption(argv: string[]): string | undefined {
  if (argv.length === 3 && argv[0] === "/bin/sh" && argv[1] === "-c") {
    const script = argv[2].replace(/\$\(([^()]*)\)/g, "$$[$1]"); // keep $(nproc) as one word
    for (const part of script.split(/;|&&?|\|\|?|\n|`|[(){}]/)) {
      const words = part.trim().split(/\s+/).map((w) => w.replace(/^["']|["']$/g, ""))
        .filter((w) => w);
      const found = jobsOption(words.map((w) => w.replace(/\$\[([^\]]*)\]/g, "$($1)")));
      if (found) return found;
    }
    return undefined;
  }
  return jobsOption(argv);
}

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
    if (j.jobserver === "none") continue;
    const option = makeJobsOption(j.argv);
    if (option) {
      warn(
        `job ${j.name} runs make with ${option}, which leaves jx's job-slot pool ` +
          `(make: "-jN forced in submake")`,
      );
    }
  }
}
