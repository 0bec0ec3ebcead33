/**
 * The `strace` tracer: each job runs as `strace -f -o FILE -- ARGV`, and
 * its trace is read once it has exited (`strace_parse.ts`).
 *
 * @module
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { tempPrefix } from "../runtime/stale.ts";
import { StraceParser } from "./strace_parse.ts";
import type { Access, TracedRun, Tracer } from "./types.ts";

/**
 * The calls traced: everything that opens, makes, renames, links, removes
 * or executes a path; what moves a working directory, makes a process or
 * unshares a working directory (to resolve the relative paths of the calls
 * without a dirfd); `io_uring_setup` (to say that what goes through a ring
 * is not seen). A `?` lets strace skip a call this architecture lacks
 * (`open` on arm64).
 */
export const TRACED_CALLS = [
  "?open",
  "openat",
  "?openat2",
  "?creat",
  "truncate",
  "execve",
  "?execveat",
  "?rename",
  "?renameat",
  "?renameat2",
  "?unlink",
  "unlinkat",
  "?rmdir",
  "?mkdir",
  "mkdirat",
  "?mknod",
  "mknodat",
  "?link",
  "linkat",
  "?symlink",
  "symlinkat",
  "chdir",
  "fchdir",
  "?fork",
  "?vfork",
  "clone",
  "?clone3",
  "unshare",
  "?io_uring_setup",
];

/** Where `strace` is, from PATH, or undefined. */
export function findStrace(path = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(":")) {
    if (!dir) continue;
    try {
      if (statSync(join(dir, "strace")).isFile()) return join(dir, "strace");
    } catch { /* not here */ }
  }
  return undefined;
}

/** Options of the strace tracer. */
export interface StraceOptions {
  /** The strace binary (default: from PATH). */
  strace?: string;
  /**
   * `--seccomp-bpf`: stop the traced processes only at the calls traced,
   * not at every system call (much cheaper; strace falls back without it).
   */
  seccomp?: boolean;
  /** How many bytes of a trace are read at once (default 16 MiB; tests make it small). */
  chunk?: number;
}

/**
 * Records a job's accesses with `strace -f` (ptrace: works as any user on
 * their own processes, unless `kernel.yama.ptrace_scope` is 3 or the job is
 * already traced).
 *
 * @example
 * ```ts
 * import { StraceTracer } from "./strace.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const t = new StraceTracer({ strace: "/usr/bin/strace" });
 * const run = t.wrap(["cat", "a.txt"], "/project");
 * assertEquals(run.argv.slice(0, 5), ["/usr/bin/strace", "-f", "--quiet=attach,personality", "-y", "-xx"]);
 * assertEquals(run.argv.slice(-3), ["--", "cat", "a.txt"]);
 * ```
 */
/** How much of a trace is read at once (a trace may pass the longest string a runtime makes). */
const TRACE_CHUNK = 16 << 20;

/**
 * The trace file `file` parsed, read a part at a time; undefined when there
 * is no trace (strace could not start or trace: the file is missing, empty
 * or holds only exit lines, since the traced command's own `execve` is
 * always in a trace).
 */
function readTrace(file: string, cwd: string, chunk = TRACE_CHUNK): StraceParser | undefined {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return undefined;
  }
  const parser = new StraceParser(cwd);
  const decoder = new TextDecoder();
  const buf = new Uint8Array(chunk);
  let rest = "", total = 0;
  try {
    for (let n; (n = readSync(fd, buf)) > 0;) {
      total += n;
      const text = rest + decoder.decode(buf.subarray(0, n), { stream: true });
      const end = text.lastIndexOf("\n");
      parser.lines(text.slice(0, end + 1));
      rest = text.slice(end + 1);
    }
  } finally {
    closeSync(fd);
  }
  parser.lines(rest + decoder.decode());
  // No call (a file empty, or holding only exit lines: strace could not trace): nothing recorded.
  return total && parser.calls ? parser : undefined;
}

export class StraceTracer implements Tracer {
  readonly name = "strace";
  private dir: string | undefined;
  private n = 0;
  private readonly strace: string;

  constructor(private opts: StraceOptions = {}) {
    const found = opts.strace ?? findStrace();
    if (!found) throw new Error("strace not found in PATH (Debian: apt-get install strace)");
    this.strace = found;
  }

  wrap(argv: string[], cwd: string): TracedRun {
    this.dir ??= mkdtempSync(tempPrefix("trace"));
    const file = join(this.dir, `${++this.n}.trace`);
    const chunk = this.opts.chunk;
    let parsed: StraceParser | undefined;
    // Exit lines kept (`+++ exited`): a process id used again starts afresh (strace_parse.ts).
    const flags = ["-f", "--quiet=attach,personality", "-y", "-xx", "-e", "signal=none"];
    if (this.opts.seccomp !== false) flags.push("--seccomp-bpf");
    return {
      argv: [
        this.strace,
        ...flags,
        "-e",
        `trace=${TRACED_CALLS.join(",")}`,
        "-o",
        file,
        "--",
        ...argv,
      ],
      // Node.js (libuv) does its file work through io_uring when it can, which strace cannot
      // see: in a traced run it uses plain system calls (docs/lint.md).
      env: { UV_USE_IO_URING: "0" },
      collect(): Access[] | undefined {
        try {
          parsed = readTrace(file, cwd, chunk);
          return parsed?.accesses;
        } finally {
          rmSync(file, { force: true });
        }
      },
      notes: () => parsed?.notes() ?? [],
    };
  }

  close(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
