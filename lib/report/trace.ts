/**
 * Chrome trace-event JSON (`--trace FILE`), one lane per job slot, for
 * Perfetto or chrome://tracing.
 *
 * @module
 */
import { nodeFs } from "../runtime/fs.ts";
import { openOutputFile } from "./output_file.ts";
import { WriteError } from "../runtime/errors.ts";
import type { Reporter, RunEvent } from "../scheduler/events.ts";

/** The lane of the jobs restored from the output cache (after any slot's). */
const CACHE_TID = 100_000;

interface Open {
  lane: number;
  start: number;
  attempt: number;
}

/**
 * Collects job spans and writes the trace when the run ends.
 *
 * @example
 * ```ts
 * import { TraceWriter } from "./trace.ts";
 * const tr = new TraceWriter("/tmp/trace.json");
 * tr.event({ type: "job.start", t: 0, job: "a", pid: 1, attempt: 1 });
 * tr.event({ type: "job.end", t: 5, job: "a", status: "ok", exit: 0, signal: null, ms: 5, attempt: 1 });
 * tr.close();
 * ```
 */
export class TraceWriter implements Reporter {
  private events: Record<string, unknown>[] = [];
  private open = new Map<string, Open>();
  private lanes: boolean[] = [];
  /** Whether a job was restored from the cache (the `cache` lane is named). */
  private cacheLane = false;

  private fd: number;

  /**
   * A trace writer that writes `path` when closed; the file is opened now (a `JxInputError`
   * when it cannot be, or when it is one of `keep`, the files the run reads).
   */
  constructor(private path: string, keep: readonly string[] = []) {
    this.fd = openOutputFile(path, "the trace", keep);
  }

  /** Records job spans (one lane per job slot) from start and end events. */
  event(e: RunEvent): void {
    if (e.type === "job.start") {
      let lane = this.lanes.indexOf(false);
      if (lane < 0) lane = this.lanes.push(true) - 1;
      this.lanes[lane] = true;
      this.open.set(e.job, { lane, start: e.t, attempt: e.attempt });
    } else if (e.type === "job.end") {
      const o = this.open.get(e.job);
      if (!o && e.cache) return this.restored(e);
      if (!o) return;
      this.open.delete(e.job);
      this.lanes[o.lane] = false;
      this.events.push({
        name: e.job,
        cat: e.status,
        ph: "X",
        ts: Math.round(o.start * 1000),
        dur: Math.max(1, Math.round((e.t - o.start) * 1000)),
        pid: 1,
        tid: o.lane + 1,
        args: { status: e.status, exit: e.exit, signal: e.signal, attempt: e.attempt },
      });
    } else if (e.type === "run.suspend" || e.type === "run.resume") {
      // A Ctrl-Z and the going on after it: marks across every lane.
      const name = e.type === "run.suspend" ? "stopped (Ctrl-Z)" : "continued";
      this.events.push({ name, ph: "i", s: "g", ts: Math.round(e.t * 1000), pid: 1, tid: 0 });
    } else if (e.type === "job.skip") {
      this.events.push({
        name: `${e.job} (skipped: ${e.reason})`,
        ph: "i",
        s: "g",
        ts: Math.round(e.t * 1000),
        pid: 1,
        tid: 0,
      });
    }
  }

  /**
   * A job restored from the output cache (its `job.end` has no `job.start`: no slot was taken): a
   * span on a lane of its own, `cache`, as the page's timeline has it.
   */
  private restored(e: Extract<RunEvent, { type: "job.end" }>): void {
    this.cacheLane = true;
    this.events.push({
      name: e.job,
      cat: `cache ${e.cache}`,
      ph: "X",
      ts: Math.round((e.t - e.ms) * 1000),
      dur: Math.max(1, Math.round(e.ms * 1000)),
      pid: 1,
      tid: CACHE_TID,
      args: { status: e.status, cache: e.cache, saved_ms: e.saved_ms, attempt: e.attempt },
    });
  }

  close(): void {
    const meta = [
      { name: "process_name", ph: "M", pid: 1, tid: 0, args: { name: "jx" } },
      ...this.lanes.map((_, i) => ({
        name: "thread_name",
        ph: "M",
        pid: 1,
        tid: i + 1,
        args: { name: `slot ${i + 1}` },
      })),
      ...(this.cacheLane
        ? [{ name: "thread_name", ph: "M", pid: 1, tid: CACHE_TID, args: { name: "cache" } }]
        : []),
    ];
    const fs = nodeFs();
    try {
      fs.writeFileSync(
        this.fd,
        JSON.stringify({ traceEvents: [...meta, ...this.events], displayTimeUnit: "ms" }) + "\n",
      );
    } catch (e) {
      // Not a trace cut short (JSON that no viewer reads whole): an empty file, and the error.
      try {
        fs.ftruncateSync(this.fd, 0);
      } catch {
        // Not a file (a pipe): what was written stays.
      }
      throw new WriteError(`the trace '${this.path}'`, e);
    } finally {
      fs.closeSync(this.fd);
    }
  }
}
