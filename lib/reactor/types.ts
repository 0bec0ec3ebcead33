/**
 * The reactor interface: everything the scheduler needs from the operating
 * system, as callbacks. Backends: `portable` (the runtime's own process and
 * stream APIs), `fake` (virtual clock, scripted processes, for tests), and
 * later `epoll` (Linux, through FFI).
 *
 * @module
 */

/**
 * How a child ended.
 *
 * @example
 * ```ts
 * import { createPortableReactor } from "./portable.ts";
 * import type { ExitStatus } from "./types.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = createPortableReactor();
 * const status = await new Promise<ExitStatus>((onExit) =>
 *   r.spawn({ argv: ["sh", "-c", "exit 3"], cwd: ".", env: {}, onOutput() {}, onExit })
 * );
 * r.close();
 * assertEquals(status, { code: 3, signal: null });
 * ```
 */
export interface ExitStatus {
  /** Exit code, or null when killed by a signal or never started. */
  code: number | null;
  /** Signal name (`SIGTERM`) when killed by one, else null. */
  signal: string | null;
  /** Set when the process could not be started at all (the command or cwd missing...). */
  error?: string;
  /**
   * The processes outside the child's session that still held its output open
   * `SpawnRequest.lingerMs` after it exited (not waited for, left running).
   */
  left?: { pid: number; name: string }[];
  /** CPU time of the process and its waited-for children, where the backend knows it (epoll). */
  cpu?: { userMs: number; sysMs: number };
  /**
   * Peak resident memory (KiB) of the largest process of the child's tree, where the backend
   * can tell it (epoll, when it exceeds jx's own peak: see epoll.ts).
   */
  maxRssKb?: number;
}

/**
 * Which output stream a chunk came from.
 *
 * @example
 * ```ts
 * import type { StreamName } from "./types.ts";
 * const onOutput = (stream: StreamName, chunk: Uint8Array) =>
 *   (stream === "stderr" ? console.error : console.log)(new TextDecoder().decode(chunk));
 * ```
 */
export type StreamName = "stdout" | "stderr";

/**
 * What to start and where to report.
 *
 * @example
 * ```ts
 * import { createPortableReactor } from "./portable.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = createPortableReactor();
 * let out = "";
 * const code = await new Promise((exited) =>
 *   r.spawn({
 *     argv: ["echo", "hi"],
 *     cwd: "/tmp",
 *     env: { JX_JOB: "greet" },
 *     onStart: (pid) => console.log("started", pid),
 *     onOutput: (_stream, chunk) => (out += new TextDecoder().decode(chunk)),
 *     onExit: (status) => exited(status.code),
 *   })
 * );
 * r.close();
 * assertEquals([out, code], ["hi\n", 0]);
 * ```
 */
export interface SpawnRequest {
  /** Program and arguments; `argv[0]` is looked up on PATH. */
  argv: string[];
  /** Absolute working directory. */
  cwd: string;
  /** The complete environment of the child. */
  env: Record<string, string>;
  /**
   * The child's stdin: `/dev/null` (the default), or `"pipe"`: a pipe whose
   * write end jx keeps, written through `ChildHandle.write`.
   */
  stdin?: "null" | "pipe";
  /**
   * An interactive job: the child gets jx's own stdin, stdout and stderr
   * (fds 0-2, a terminal) and stays in jx's process group, as make runs
   * its recipes, so the terminal's foreground group (Ctrl-C, reads, /dev/tty)
   * includes it. No output reaches `onOutput`; `kill` signals the child alone.
   */
  terminal?: boolean;
  /**
   * The child's stdout and stderr are jx's own fds 1 and 2, inherited (not
   * opened again): it writes at the same file offsets as jx and as whatever
   * shares them (the shell that started jx), as the child of a shell does.
   * It still runs in a process group of its own; no output reaches `onOutput`.
   */
  inheritOutput?: boolean;
  /**
   * Once the child's own process has exited, how long its output may stay
   * open held only by processes outside its session (a daemon started
   * with `setsid` that kept the job's stdout): past that, the child is
   * reported exited, its pipes closed, those processes (left running) named
   * in `ExitStatus.left`. Output held by a process of its own group or
   * session (one that only made a group of its own, as coreutils `timeout`
   * does) is waited for, as without it. Epoll reactor only (the portable reactor has
   * no pipe of its own to look for); absent: wait for the output's end.
   */
  lingerMs?: number;
  /**
   * Called once the process exists, with its pid, before any output. A
   * backend may call it during `spawn` or later; never when the start failed.
   */
  onStart?(pid: number): void;
  /**
   * Called for every chunk of output, in the order read. The chunk may be a
   * view of the backend's read buffer: copy it to keep it past the call.
   */
  onOutput(stream: StreamName, chunk: Uint8Array): void;
  /** Called once, after the process exited and all its output was delivered. */
  onExit(status: ExitStatus): void;
}

/**
 * A started child: the leader of its own process group.
 *
 * @example
 * ```ts
 * import { createPortableReactor } from "./portable.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = createPortableReactor();
 * const { promise: signal, resolve } = Promise.withResolvers<string | null>();
 * const child = r.spawn({
 *   argv: ["sleep", "10"],
 *   cwd: ".",
 *   env: {},
 *   onOutput() {},
 *   onExit: (s) => resolve(s.signal),
 * });
 * r.setTimer(100, () => child.kill("SIGTERM"));
 * assertEquals(await signal, "SIGTERM");
 * r.close();
 * ```
 */
export interface ChildHandle {
  /** The process id (also its process-group id); 0 until started. */
  readonly pid: number;
  /** Sends a signal to the child's whole process group; no error if it is gone. */
  kill(signal: string): void;
  /**
   * Writes to the child's stdin (spawned with `stdin: "pipe"`), in order,
   * without ever blocking: what the pipe cannot take now is queued and
   * written when it can. Data written after the child closed its stdin or
   * exited is dropped. Present on every backend; a no-op without a pipe.
   */
  write?(data: Uint8Array | string): void;
  /** Closes the child's stdin once what was written has gone (the child reads end of file). */
  closeStdin?(): void;
  /**
   * Bytes written to stdin that the pipe has not taken yet (held by jx), so
   * that a writer can bound them; absent where a backend cannot tell.
   */
  stdinPending?(): number;
  /**
   * False once jx knows that nothing more can reach the child's stdin: the
   * child closed its end (a write failed with EPIPE), it exited, or
   * `closeStdin` was called; true before. Absent where a backend cannot tell.
   */
  stdinOpen?(): boolean;
  /**
   * Bytes written to stdin that never reached the child's pipe: jx held them
   * (`stdinPending`) when the child closed its stdin or exited. Absent where
   * a backend cannot tell.
   */
  stdinLost?(): number;
}

/**
 * Signals jx listens for.
 *
 * @example
 * ```ts
 * import { createReactor } from "./mod.ts";
 * const r = createReactor();
 * const stop = r.onSignal("SIGINT", () => console.log("interrupted"));
 * stop();
 * ```
 */
export type ListenSignal = "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGQUIT";

/**
 * The job-control signal jx listens for: SIGTSTP (a terminal's Ctrl-Z), after
 * which jx stops its jobs' process groups and then itself (`Reactor.stopSelf`).
 *
 * @example
 * ```ts
 * import { createReactor } from "./mod.ts";
 * import type { SuspendSignal } from "./types.ts";
 * const r = createReactor();
 * const sig: SuspendSignal = "SIGTSTP";
 * const stop = r.onSignal(sig, () => r.stopSelf());
 * stop();
 * ```
 */
export type SuspendSignal = "SIGTSTP";

/**
 * The event loop as the scheduler sees it.
 *
 * @example
 * ```ts
 * import type { Reactor } from "./types.ts";
 * function runOne(r: Reactor): Promise<number | null> {
 *   return new Promise((done) => {
 *     r.spawn({
 *       argv: ["/bin/echo", "hi"],
 *       cwd: "/",
 *       env: {},
 *       onOutput: () => {},
 *       onExit: (s) => done(s.code),
 *     });
 *   });
 * }
 * ```
 */
export interface Reactor {
  /** `portable`, `fake`, `epoll`. */
  readonly name: string;
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Starts a child in a new process group. Start failures arrive through `onExit` with `error`. */
  spawn(req: SpawnRequest): ChildHandle;
  /** Calls `cb` once after `ms`. */
  setTimer(ms: number, cb: () => void): number;
  /** Cancels a timer set by `setTimer` (nothing if it already ran). */
  clearTimer(id: number): void;
  /**
   * Calls `cb` whenever `fd` (a raw OS fd, non-blocking) is readable, until
   * the returned function is called; never before `watch` returns (so a
   * callback may cancel with what it returned). Only backends with raw fds have it
   * (epoll; portable on Bun, through a Worker); the jobserver and inotify need it.
   */
  watch?(fd: number, cb: () => void): () => void;
  /** Listens for a signal to jx itself; returns the function that stops listening. */
  onSignal(signal: ListenSignal | SuspendSignal, cb: () => void): () => void;
  /**
   * Stops jx itself (SIGSTOP to its own process) and returns once it is
   * continued (SIGCONT: a shell's `fg` or `bg`). Its timers are held
   * meanwhile: the time jx spent stopped counts towards none of them.
   */
  stopSelf(): void;
  /**
   * Calls `cb` once no spawn is under way (at once when none is): a child
   * may run before its spawn has returned its pid, when jx could not signal
   * it yet. Absent where a spawn returns the pid (nothing is ever under way).
   */
  afterSpawns?(cb: () => void): void;
  /**
   * Releases what the backend holds. Children still running are killed with
   * their process groups (SIGKILL) and their exits reported as such (on epoll
   * before `close` returns, with what their pipes held). A reactor is not for
   * use after: a spawn then starts nothing (its exit's error says the reactor
   * is closed).
   */
  close(): void;
}
