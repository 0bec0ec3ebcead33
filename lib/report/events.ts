/**
 * The NDJSON event log (`--events FILE`): one JSON object per line, written
 * as events happen, in order.
 *
 * @module
 */
import { nodeFs } from "../runtime/fs.ts";
import { openOutputFile } from "./output_file.ts";
import { WriteError } from "../runtime/errors.ts";
import type { Reporter, RunEvent } from "../scheduler/events.ts";

/**
 * Writes every event but `job.output` to `path`, one line each.
 *
 * @example
 * ```ts
 * import { EventLog } from "./events.ts";
 * const log = new EventLog("/tmp/events.ndjson");
 * log.event({ type: "run.end", t: 1.5, status: "ok", exit: 0, ms: 1.5 });
 * log.close();
 * ```
 */
export class EventLog implements Reporter {
  private fd: number;
  private pending: string[] = [];
  private flushQueued = false;
  /** Whether a write failed: nothing more is written (the run stops for it). */
  private broken = false;
  /**
   * The error of a write that failed in a deferred flush (a burst's starts), thrown by the next
   * call, to the run's frame (which stops the run for it), not out of a microtask, where nothing
   * catches it (Deno died of it, Bun went on, exit 0, with no event log).
   */
  private failed?: unknown;
  /** Bytes written so far (the file's length, once no write has failed). */
  private size = 0;

  /**
   * An event log writing to `path` (created or truncated now: a `JxInputError` when it cannot
   * be, or when it is one of `keep`, the files the run reads).
   */
  constructor(private path: string, keep: readonly string[] = []) {
    this.fd = openOutputFile(path, "the event log", keep);
  }

  /** Appends the event as one JSON line (output events are left out). */
  event(e: RunEvent): void {
    this.rethrow();
    if (e.type === "job.output") return;
    const r3 = (x: number) => Math.round(x * 1000) / 1000;
    const line =
      JSON.stringify("ms" in e ? { ...e, t: r3(e.t), ms: r3(e.ms) } : { ...e, t: r3(e.t) }) + "\n";
    this.pending.push(line);
    // The starts of one burst (a pump starting several jobs) in one write, at its end: a job
    // that runs long is in the file while it runs, not only once something else happens.
    if (e.type !== "job.start" || this.pending.length > 64) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => {
        this.flushQueued = false;
        try {
          if (this.fd >= 0) this.flush();
        } catch (error) {
          this.failed = error;
        }
      });
    }
  }

  /** `job.skip` lines (up to date, at `t`) for `jobs`, as `event` writes them, in one write. */
  skips(jobs: readonly string[], t: number): void {
    this.rethrow();
    const head = `{"type":"job.skip","t":${Math.round(t * 1000) / 1000},"job":`;
    for (const job of jobs) {
      this.pending.push(`${head}${JSON.stringify(job)},"reason":"up-to-date"}\n`);
    }
    this.flush();
  }

  /** Throws the error of a deferred flush that failed, once. */
  private rethrow(): void {
    if (this.failed === undefined) return;
    const error = this.failed;
    this.failed = undefined;
    throw error;
  }

  /** Writes the pending lines. */
  private flush(): void {
    if (!this.pending.length) return;
    const data = new TextEncoder().encode(this.pending.join(""));
    this.pending = [];
    if (this.broken) return;
    let off = 0;
    const fs = nodeFs();
    try {
      while (off < data.length) off += fs.writeSync(this.fd, data, off);
    } catch (e) {
      this.broken = true;
      this.untear(data.subarray(0, off));
      throw new WriteError(`the event log '${this.path}'`, e);
    }
    this.size += data.length;
  }

  /**
   * After a write that failed part way (a full disk, `ulimit -f`), cuts the file back to its last
   * whole line: a reader of the log never sees a line torn in two. Nothing when it cannot be (a
   * pipe). `written`: what the writes said they took (Deno's may take part of a write and then
   * fail it, saying nothing: the file is cut at the end of what is known whole).
   */
  private untear(written: Uint8Array): void {
    const whole = written.lastIndexOf(10) + 1;
    try {
      nodeFs().ftruncateSync(this.fd, this.size + whole);
    } catch {
      // Not a file: what was written stays as it is.
    }
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      this.flush();
    } catch {
      // Said when it failed (the run stopped for it); the file is closed all the same.
    }
    nodeFs().closeSync(this.fd);
    this.fd = -1;
  }
}
