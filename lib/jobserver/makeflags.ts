/**
 * Reading and writing GNU make's MAKEFLAGS: the jobserver it advertises,
 * its -j, and the one-letter flags jx honours (n: dry run, k: keep going).
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
  /** `-jN` when given. */
  jobs?: number;
  dryRun: boolean;
  keepGoing: boolean;
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
 * // { auth: { style: "pipe", read: 3, write: 4 }, jobs: 3, dryRun: true, keepGoing: true, source: "MAKEFLAGS" }
 * ```
 */
export function parseMakeFlags(env: Record<string, string | undefined>): MakeFlags {
  const out: MakeFlags = { dryRun: false, keepGoing: false };
  for (const name of ["CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"]) {
    const v = env[name];
    if (!v || !/\S/.test(v)) continue;
    out.source = name;
    const words = v.split(/\s+/);
    const vars = words.indexOf("--");
    const flagWords = vars < 0 ? words : words.slice(0, vars);
    // The first word holds single-letter flags unless it is empty or an option.
    const first = v.startsWith(" ") ? "" : flagWords[0] ?? "";
    if (first && !first.startsWith("-") && !first.includes("=")) {
      out.dryRun = first.includes("n");
      out.keepGoing = first.includes("k");
    }
    for (const w of flagWords) {
      let m = /^-j(\d+)$/.exec(w);
      if (m) out.jobs = Number(m[1]);
      m = /^--jobserver-(?:auth|fds)=(.*)$/.exec(w);
      if (!m) continue;
      const a = m[1];
      const pipe = /^(-?\d+),(-?\d+)$/.exec(a);
      if (a.startsWith("fifo:")) out.auth = { style: "fifo", path: a.slice(5) };
      else if (pipe) out.auth = { style: "pipe", read: Number(pipe[1]), write: Number(pipe[2]) };
    }
    break;
  }
  return out;
}

/** The MAKEFLAGS value that hands a pool of `jobs` slots to children. */
export function formatMakeFlags(jobs: number, auth: JobserverAuth): string {
  const a = auth.style === "pipe" ? `${auth.read},${auth.write}` : `fifo:${auth.path}`;
  return ` -j${jobs} --jobserver-auth=${a}`;
}
