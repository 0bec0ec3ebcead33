/**
 * `jx doctor` (also `jx --version --verbose`): what this jx will use here —
 * runtime, reactor, jobserver styles, inotify, how files are stat'd, the make,
 * ninja and strace on PATH.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { autoReactor, epollAvailable } from "../reactor/mod.ts";
import { isBun, runtimeName } from "../runtime/mod.ts";
import { badAuthProblem, jobserverProblem, parseMakeFlags } from "../jobserver/mod.ts";
import { statMethod } from "../state/mod.ts";
import { VERSION } from "./help.ts";
import { findStrace, StraceTracer } from "../access/mod.ts";

/** How the up-to-date checks stat files, in words. */
const STAMPS = {
  io_uring: "statx through FFI; a no-op's many through io_uring or one call each, the faster",
  statx: "statx through FFI, one call each (no io_uring here, or JX_NO_IO_URING set)",
  runtime: "the runtime's stat (no FFI: Deno needs --allow-ffi)",
};

function firstLine(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split(
      "\n",
    )[0].trim();
  } catch {
    return undefined;
  }
}

/**
 * The report, one `name: value` line each.
 *
 * @example
 * ```ts
 * import { doctorReport } from "./doctor.ts";
 * console.log(doctorReport(Deno.env.toObject()));
 * ```
 */
export function doctorReport(env: Record<string, string | undefined>): string {
  const lines = [...runtimeLines(env), ...toolLines()];
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n") + "\n";
}

/** jx, its runtime and what it can use there: the reactor, the jobserver, watch, stamps. */
function runtimeLines(env: Record<string, string | undefined>): [string, string][] {
  // libc through FFI: Deno with --allow-ffi, or Bun on Linux (bun:ffi).
  const ffi = epollAvailable();
  const auto = autoReactor();
  return [
    ["jx", VERSION],
    ["runtime", runtimeName()],
    [
      "reactor (auto)",
      auto === "epoll"
        ? `epoll (posix_spawn, pidfd, epoll through FFI${
          isBun ? "; the wait and spawns past the 16th in Workers" : ""
        })`
        : "portable (the runtime's own process APIs)",
    ],
    [
      "jobserver",
      ffi
        ? "server and client; styles pipe (default) and fifo"
        : "none (needs libc through FFI: Deno with --allow-ffi, or Bun on Linux)",
    ],
    ["jobserver from make", makePool(env, auto)],
    ["watch", ffi ? "inotify" : "polling (no inotify without FFI: Deno needs --allow-ffi)"],
    ["stamps", STAMPS[statMethod(true)]],
  ];
}

/**
 * What a run would do with the pool of the make that runs jx, by the checks the run makes
 * (cli/setup.ts `setUpSlots`): join it, or run with slots of its own, and why.
 */
function makePool(env: Record<string, string | undefined>, auto: string): string {
  const mf = parseMakeFlags(env);
  if (mf.badAuth !== undefined) {
    return `${mf.source}; jx would not join it: ${badAuthProblem(mf.badAuth)}; a run falls ` +
      "back to a pool of its own (-j N if given, else -j1)";
  }
  if (!mf.auth && env.MAKELEVEL !== undefined && mf.jobs) {
    return `none (make -j${mf.jobs} names no pool); a run uses -j${mf.jobs} unless given -j N`;
  }
  if (!mf.auth && env.MAKELEVEL !== undefined && mf.unlimited) {
    return "none (make -j with no number names no pool); a run uses -j N if given, " +
      "else the CPU count";
  }
  if (!mf.auth && env.MAKELEVEL !== undefined) {
    // A make without -j (MAKEFLAGS holds no -j) names no pool: jx is under make all the same.
    return "none (the make that runs jx has no -j: no pool); a run uses -j N if given, " +
      "else the CPU count";
  }
  if (!mf.auth) return "none (not running under make)";
  const named = `${mf.auth.style} (${mf.source})`;
  // The reactor must watch the pool's fd: epoll, or the portable one on Bun (a Worker waits).
  if (auto !== "epoll" && !isBun) {
    return `${named}; jx would not join it: the ${auto} reactor cannot watch its pool ` +
      "(Deno needs --allow-ffi); a run falls back to -j N if given, else the CPU count";
  }
  const problem = jobserverProblem(mf.auth);
  if (problem) {
    return `${named}; jx would not join it: ${problem}; a run falls back to a pool of its own ` +
      "(-j N if given, else -j1)";
  }
  return `${named}; jx would join it`;
}

/**
 * The tools jx works with that are found here: make, ninja (their jobserver styles), setsid,
 * strace.
 */
function toolLines(): [string, string][] {
  const make = firstLine("make", ["--version"]);
  const makeVersion = /(\d+)\.(\d+)/.exec(make ?? "");
  const fifoMake = makeVersion
    ? Number(makeVersion[1]) * 100 + Number(makeVersion[2]) >= 404
    : false;
  const ninja = firstLine("ninja", ["--version"]);
  const ninjaClient = ninja !== undefined && Number(ninja.split(".")[1]) >= 13;
  return [
    [
      "make",
      make
        ? `${make}${fifoMake ? " (understands the fifo style)" : " (pipe style only)"}`
        : "not found",
    ],
    [
      "ninja",
      ninja
        ? `${ninja}${ninjaClient ? " (jobserver client, fifo style)" : " (no jobserver client)"}`
        : "not found",
    ],
    [
      "setsid",
      existsSync("/usr/bin/setsid") || existsSync("/bin/setsid")
        ? "found (portable reactor on Deno)"
        : "not found",
    ],
    ["strace", straceLine()],
  ];
}

/**
 * The strace on PATH, which `jx lint` and `--check-access` run each job under, and whether it can
 * trace here (as they ask before they run anything).
 */
function straceLine(): string {
  const v = /version\s+(\S+)/.exec(firstLine("strace", ["-V"]) ?? "");
  const path = findStrace();
  if (!v || !path) {
    return "not found (jx lint and --check-access need it; Debian: apt-get install strace)";
  }
  const why = new StraceTracer({ strace: path }).probe();
  return why
    ? `${v[1]}, but it cannot trace here: ${why} (jx lint and --check-access exit 2)`
    : `${v[1]} (jx lint, --check-access)`;
}
