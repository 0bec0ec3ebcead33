/**
 * The `strace` tracer: each job runs as `strace -f -o FIFO -- ARGV`, and
 * its trace is read as strace writes it (`trace_pipe.ts`, `strace_parse.ts`).
 *
 * @module
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { removeStaleTemp, tempPrefix } from "../runtime/stale.ts";
import { escapeControls } from "../runtime/mod.ts";
import { StraceParser } from "./strace_parse.ts";
import { pipesAvailable, type TraceLoop, TracePipe } from "./trace_pipe.ts";
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
  /** How many bytes of a trace file are read at once (default 16 MiB; tests make it small). */
  chunk?: number;
  /**
   * The run's reactor: each trace is then a FIFO read as strace writes it (no disk used, however
   * many calls a job makes). Without it (or without FFI), a file in the temporary directory, read
   * when the job has exited.
   */
  loop?: TraceLoop;
}

/** How much of a trace is read at once (a trace may pass the longest string a runtime makes). */
const TRACE_CHUNK = 16 << 20;

/**
 * A trace parsed as its bytes come, whole lines at a time: what stays in
 * memory follows the paths touched, not the calls made.
 */
class TraceLines {
  private readonly parser: StraceParser;
  private readonly decoder = new TextDecoder();
  private rest = "";
  private total = 0;

  constructor(cwd: string) {
    this.parser = new StraceParser(cwd);
  }

  feed(bytes: Uint8Array): void {
    this.total += bytes.length;
    const text = this.rest + this.decoder.decode(bytes, { stream: true });
    const end = text.lastIndexOf("\n");
    this.parser.lines(text.slice(0, end + 1));
    this.rest = text.slice(end + 1);
  }

  /**
   * The trace parsed; undefined when there is none (strace could not start or trace: nothing
   * came, or only exit lines, since the traced command's own `execve` is always in a trace).
   */
  end(): StraceParser | undefined {
    this.parser.lines(this.rest + this.decoder.decode());
    this.rest = "";
    return this.total && this.parser.calls ? this.parser : undefined;
  }
}

/** The trace file `file` parsed, read a part at a time (undefined: no trace, as `TraceLines.end`). */
function readTrace(file: string, cwd: string, chunk = TRACE_CHUNK): StraceParser | undefined {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return undefined;
  }
  const lines = new TraceLines(cwd);
  const buf = new Uint8Array(chunk);
  try {
    for (let n; (n = readSync(fd, buf)) > 0;) lines.feed(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return lines.end();
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
export class StraceTracer implements Tracer {
  readonly name = "strace";
  private dir: string | undefined;
  private n = 0;
  private readonly strace: string;
  /** The FIFOs of the jobs not collected yet (closed by `close`). */
  private pipes = new Set<TracePipe>();

  constructor(private opts: StraceOptions = {}) {
    const found = opts.strace ?? findStrace();
    if (!found) throw new Error("strace not found in PATH (Debian: apt-get install strace)");
    this.strace = found;
  }

  /** Reads each trace from now on through `loop` (the run's reactor), as `StraceOptions.loop`. */
  readThrough(loop: TraceLoop): void {
    this.opts = { ...this.opts, loop };
  }

  /**
   * Makes the folder the traces go in, and returns it (before any job: a failure is said once).
   * First, the folders a jx killed with SIGKILL left (its traces among them) are removed: `jx lint`
   * makes no jobserver pool, whose start does that for `jx run`.
   */
  prepare(): string {
    if (this.dir) return this.dir;
    removeStaleTemp();
    return this.dir = mkdtempSync(tempPrefix("trace"));
  }

  wrap(argv: string[], cwd: string): TracedRun {
    const file = join(this.prepare(), `${++this.n}.trace`);
    const lines = new TraceLines(cwd);
    const pipe = this.pipe(file, lines);
    let parsed: StraceParser | undefined;
    const collect = () => {
      if (!pipe) return readTrace(file, cwd, this.opts.chunk);
      pipe.close();
      this.pipes.delete(pipe);
      return lines.end();
    };
    return {
      argv: [this.strace, ...this.flags(), "-o", file, "--", ...argv],
      // Node.js (libuv) does its file work through io_uring when it can, which strace cannot
      // see: in a traced run it uses plain system calls (docs/lint.md).
      env: { UV_USE_IO_URING: "0" },
      collect(): Access[] | undefined {
        try {
          parsed = collect();
          return parsed?.accesses;
        } finally {
          rmSync(file, { force: true });
        }
      },
      discard: () => {
        pipe?.release();
        if (pipe) this.pipes.delete(pipe);
        rmSync(file, { force: true });
      },
      notes: () => parsed?.notes() ?? [],
    };
  }

  /**
   * Why strace cannot trace here, in its own words (`ptrace(PTRACE_TRACEME, ...): Operation not
   * permitted`: ptrace refused, jx itself traced; an option this strace lacks), or undefined when
   * it can: `/bin/sh -c :` run as a job would be, its trace to /dev/null.
   */
  probe(timeoutMs = 10_000): string | undefined {
    const r = spawnSync(this.strace, [
      ...this.flags(),
      "-o",
      "/dev/null",
      "--",
      "/bin/sh",
      "-c",
      ":",
    ], {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: timeoutMs,
      killSignal: "SIGKILL",
    });
    if (r.status === 0) return undefined;
    if (r.error) return r.error.message;
    const said = new TextDecoder().decode(r.stderr ?? new Uint8Array()).split("\n")
      .map((l) => l.replace(/^\S*strace: /, "").trim()).filter((l) => l).at(-1);
    const how = r.status === null ? `killed by ${r.signal}` : `exit ${r.status}`;
    return escapeControls(said ?? how);
  }

  /** strace's options before `-o FILE`. */
  private flags(): string[] {
    // Exit lines kept (`+++ exited`): a process id used again starts afresh (strace_parse.ts).
    const flags = ["-f", "--quiet=attach,personality", "-y", "-xx", "-e", "signal=none"];
    if (this.opts.seccomp !== false) flags.push("--seccomp-bpf");
    return [...flags, "-e", `trace=${TRACED_CALLS.join(",")}`];
  }

  /** A FIFO at `file` read into `lines` as strace writes (undefined: a plain file, read at the end). */
  private pipe(file: string, lines: TraceLines): TracePipe | undefined {
    if (!this.opts.loop || !pipesAvailable()) return undefined;
    let pipe: TracePipe;
    try {
      pipe = new TracePipe(file, this.opts.loop, (b) => lines.feed(b));
    } catch {
      return undefined; // no descriptor left, say: this job's trace is a file, as without FFI
    }
    this.pipes.add(pipe);
    return pipe;
  }

  close(): void {
    for (const p of this.pipes) p.release();
    this.pipes.clear();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
