/**
 * A job's trace through a FIFO, read while strace writes it: `strace -o
 * FIFO` writes into a pipe that jx empties as data comes (the reactor's
 * `watch`, or a short timer where the backend has none), so a job that
 * makes millions of calls costs no disk, only the paths it touched
 * (docs/lint.md). jx holds a write end too, so the pipe never reads as
 * ended before strace has opened it; once strace has exited, what it wrote
 * is all in the pipe, and `close` reads the rest.
 *
 * @module
 */
import { C, cstr, errno, libc, strerror } from "../reactor/libc.ts";
import type { Reactor } from "../reactor/mod.ts";
import { ffiPermitted } from "../runtime/mod.ts";

/** What a `TracePipe` needs of the run's reactor. */
export type TraceLoop = Pick<Reactor, "setTimer" | "clearTimer" | "watch">;

/**
 * How often a pipe is emptied where the reactor cannot watch a descriptor (ms), and how seldom
 * at most while no data comes (a job that sleeps costs 20 wake-ups a second, not 200).
 */
const POLL_MS = 5, IDLE_MS = 50;

/** How long after a read a pipe that has data is left to fill (ms). */
const BATCH_MS = 2;

/** How much a pipe may hold before strace waits for jx to read (bytes, where permitted). */
const PIPE_BYTES = 1 << 20;

/** Whether FIFOs can be read here without blocking (libc through FFI). */
export function pipesAvailable(): boolean {
  try {
    return ffiPermitted() && !!libc();
  } catch {
    return false;
  }
}

function openFifo(path: string, flags: number): number {
  const fd: number = libc().symbols.open(cstr(path), flags | C.O_NONBLOCK | C.O_CLOEXEC, 0);
  if (fd < 0) throw new Error(`open ${path}: ${strerror(errno())}`);
  return fd;
}

/**
 * A FIFO at `path` whose bytes go to `onBytes` as they come, until `close`.
 * Throws when the FIFO cannot be made or opened.
 *
 * @example
 * ```ts
 * import { TracePipe } from "./trace_pipe.ts";
 * import { createReactor } from "../reactor/mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const reactor = createReactor();
 * let got = "";
 * const pipe = new TracePipe(`${dir}/t`, reactor, (b) => (got += new TextDecoder().decode(b)));
 * await new Deno.Command("sh", { args: ["-c", `echo hi > ${dir}/t`] }).output();
 * pipe.close();
 * reactor.close();
 * assertEquals(got, "hi\n");
 * ```
 */
export class TracePipe {
  private rfd = -1;
  private wfd = -1;
  private stop: (() => void) | undefined;
  private readonly buf = new Uint8Array(1 << 16);

  constructor(
    readonly path: string,
    loop: TraceLoop,
    private onBytes: (chunk: Uint8Array) => void,
  ) {
    const s = libc().symbols;
    if (s.mkfifo(cstr(path), 0o600) !== 0) throw new Error(`mkfifo ${path}: ${strerror(errno())}`);
    try {
      this.rfd = openFifo(path, C.O_RDONLY);
      this.wfd = openFifo(path, C.O_WRONLY);
    } catch (e) {
      this.release();
      throw e;
    }
    // Fewer wake-ups for a busy job; refused past the user's pipe quota, which is no matter.
    s.fcntl(this.rfd, C.F_SETPIPE_SZ, PIPE_BYTES);
    this.stop = loop.watch ? this.watch(loop, loop.watch) : this.poll(loop);
  }

  /**
   * Reads when the pipe has data, then waits `BATCH_MS` before it looks again: strace writes a
   * line at a time, and a read per line cost jx twice the CPU of reading the file after the job.
   */
  private watch(loop: TraceLoop, watch: NonNullable<TraceLoop["watch"]>): () => void {
    let cancel: (() => void) | undefined, timer: number | undefined;
    const arm = () => {
      timer = undefined;
      cancel = watch(this.rfd, () => {
        cancel?.();
        cancel = undefined;
        this.drain();
        timer = loop.setTimer(BATCH_MS, arm);
      });
    };
    arm();
    return () => {
      cancel?.();
      if (timer !== undefined) loop.clearTimer(timer);
    };
  }

  /** Reads every `POLL_MS` while data comes, less often (up to `IDLE_MS`) while none does. */
  private poll(loop: TraceLoop): () => void {
    let id = 0, ms = POLL_MS;
    const tick = () => {
      ms = this.drain() ? POLL_MS : Math.min(ms * 2, IDLE_MS);
      id = loop.setTimer(ms, tick);
    };
    id = loop.setTimer(ms, tick);
    return () => loop.clearTimer(id);
  }

  /** Reads what the pipe holds now; whether there was any. */
  private drain(): boolean {
    if (this.rfd < 0) return false;
    const s = libc().symbols;
    let any = false;
    for (;;) {
      const n = Number(s.read(this.rfd, this.buf, this.buf.length));
      if (n > 0) {
        this.onBytes(this.buf.subarray(0, n));
        any = true;
      } else if (n < 0 && errno() === C.EINTR) continue;
      else return any;
    }
  }

  /** Reads the rest (the writer has exited: all it wrote is in the pipe), then closes and removes it. */
  close(): void {
    if (this.rfd < 0) return;
    this.stop?.();
    this.stop = undefined;
    this.drain();
    this.release();
  }

  /** Closes and removes the FIFO, reading nothing more (a job that never started). */
  release(): void {
    this.stop?.();
    this.stop = undefined;
    const s = libc().symbols;
    if (this.rfd >= 0) s.close(this.rfd);
    if (this.wfd >= 0) s.close(this.wfd);
    this.rfd = this.wfd = -1;
    s.unlink(cstr(this.path));
  }
}
