/**
 * The console reporter: job output (buffered, streamed or quiet), a status
 * line on a terminal, and the summary at the end.
 *
 * @module
 */
import { formatMs } from "../graph/duration.ts";
import type { Graph } from "../graph/graph.ts";
import type { Reporter, RunEvent } from "../scheduler/events.ts";
import { terminalColumns, writeAll } from "../runtime/mod.ts";

/** How job output is shown. */
export type OutputMode = "buffered" | "stream" | "quiet";

/** Console settings. */
export interface ConsoleOptions {
  mode: OutputMode;
  /** ANSI colors (off with `--no-color` or `NO_COLOR`). */
  color: boolean;
  /** Redraw a one-line status on stderr (only when stderr is a terminal). */
  statusLine: boolean;
  /** The graph, for commands in `-n` output. */
  graph?: Graph;
  verbose?: boolean;
  /** Where text goes (tests capture it); default: fds 1 and 2. */
  write?: (fd: 1 | 2, text: string | Uint8Array) => void;
}

interface JobView {
  chunks: Uint8Array[];
  /** Partial last line per stream, in stream mode. */
  partial: { stdout: string; stderr: string };
}

interface Ended {
  job: string;
  status: string;
  exit: number | null;
  signal: string | null;
  ms: number;
  error?: string;
  condition?: boolean;
}

const dec = new TextDecoder();

/**
 * Prints a run for people.
 *
 * @example
 * ```ts
 * import { ConsoleReporter } from "./console.ts";
 * const c = new ConsoleReporter({ mode: "buffered", color: false, statusLine: false });
 * c.event({ type: "run.start", t: 0, jobs: 0, slots: 1, jobserver: "none" });
 * c.event({ type: "run.end", t: 1, status: "ok", exit: 0, ms: 1 });
 * ```
 */
export class ConsoleReporter implements Reporter {
  private jobs = new Map<string, JobView>();
  private running = new Set<string>();
  private ended: Ended[] = [];
  private skipped: { job: string; reason: string; because?: string }[] = [];
  private total = 0;
  private finished = 0;
  private statusShown = false;
  private lastDraw = 0;
  private write: (fd: 1 | 2, text: string | Uint8Array) => void;

  constructor(private o: ConsoleOptions) {
    this.write = o.write ?? writeAll;
  }

  private c(code: string, s: string): string {
    return this.o.color ? `\x1b[${code}m${s}\x1b[0m` : s;
  }

  private out(fd: 1 | 2, text: string | Uint8Array): void {
    this.clearStatus();
    this.write(fd, text);
  }

  event(e: RunEvent): void {
    switch (e.type) {
      case "run.start":
        this.total = e.jobs;
        break;
      case "job.start":
        this.running.add(e.job);
        if (!this.jobs.has(e.job)) {
          this.jobs.set(e.job, { chunks: [], partial: { stdout: "", stderr: "" } });
        }
        if (this.o.verbose) {
          this.out(2, this.c("2", `jx: start ${e.job} (pid ${e.pid}, attempt ${e.attempt})\n`));
        }
        break;
      case "job.output":
        this.output(e.job, e.stream, e.chunk);
        return this.drawStatus(e.t);
      case "job.end":
        this.jobEnd(e);
        break;
      case "job.skip":
        this.finished++;
        this.skipped.push({ job: e.job, reason: e.reason, because: e.because });
        if (e.reason === "dry-run") {
          const spec = this.o.graph?.byName.get(e.job);
          this.out(1, `${e.job}: ${spec?.command ?? ""}\n`);
        } else if (this.o.verbose) {
          const why = e.because ? ` (${e.because})` : "";
          this.out(2, this.c("2", `jx: skip ${e.job}: ${e.reason}${why}\n`));
        }
        break;
      case "run.end":
        this.clearStatus();
        this.summary(e);
        return;
    }
    this.drawStatus(e.t, true);
  }

  private output(job: string, stream: "stdout" | "stderr", chunk: Uint8Array): void {
    const v = this.jobs.get(job);
    if (!v) return;
    if (this.o.mode === "stream") {
      const text = v.partial[stream] + dec.decode(chunk, { stream: true });
      const lines = text.split("\n");
      v.partial[stream] = lines.pop()!;
      if (lines.length) {
        const prefix = this.c("36", `[${job}]`) + " ";
        this.out(stream === "stdout" ? 1 : 2, lines.map((l) => prefix + l + "\n").join(""));
      }
      return;
    }
    v.chunks.push(chunk);
  }

  private jobEnd(e: Extract<RunEvent, { type: "job.end" }>): void {
    const v = this.jobs.get(e.job) ?? { chunks: [], partial: { stdout: "", stderr: "" } };
    const ok = e.status === "ok";
    if (!e.retrying) {
      this.running.delete(e.job);
      this.finished++;
      this.ended.push(e);
    }
    const what = ok ? "" : this.describe(e);
    if (this.o.mode === "stream") {
      for (const s of ["stdout", "stderr"] as const) {
        if (v.partial[s]) {
          this.out(s === "stdout" ? 1 : 2, `${this.c("36", `[${e.job}]`)} ${v.partial[s]}\n`);
        }
        v.partial[s] = "";
      }
      if (!ok) this.out(2, `${this.c("36", `[${e.job}]`)} ${this.c("31", what)}\n`);
    } else {
      const show = !ok || (this.o.mode === "buffered" && v.chunks.length > 0);
      if (show) {
        const head = ok
          ? this.c("1", `── ${e.job}`) + this.c("2", ` (${formatMs(e.ms)})`)
          : this.c("1;31", `── ${e.job}: ${what}`);
        const parts: (string | Uint8Array)[] = [head + "\n", ...v.chunks];
        const last = v.chunks[v.chunks.length - 1];
        if (last && last[last.length - 1] !== 10) parts.push("\n");
        if (e.error) parts.push(`jx: ${e.error}\n`);
        this.out(1, concat(parts));
      }
    }
    v.chunks = [];
  }

  private describe(
    e: {
      status: string;
      exit: number | null;
      signal: string | null;
      ms: number;
      retrying?: boolean;
      attempt?: number;
      condition?: boolean;
    },
  ): string {
    const cause = e.signal
      ? `killed by ${e.signal}`
      : e.exit !== null
      ? `exit ${e.exit}`
      : "could not start";
    const label = e.status === "timeout"
      ? "TIMED OUT"
      : e.status === "cancelled"
      ? "CANCELLED"
      : e.condition
      ? "false"
      : "FAILED";
    const retry = e.retrying ? `, retrying (attempt ${(e.attempt ?? 1) + 1})` : "";
    return `${label} (${cause}, ${formatMs(e.ms)})${retry}`;
  }

  private clearStatus(): void {
    if (this.statusShown) {
      this.write(2, "\r\x1b[K");
      this.statusShown = false;
    }
  }

  private drawStatus(t: number, force = false): void {
    if (!this.o.statusLine || this.total === 0) return;
    if (!force && t - this.lastDraw < 50) return;
    if (force && t - this.lastDraw < 20 && this.statusShown) return;
    this.lastDraw = t;
    const names = [...this.running].join(", ");
    let line = `[${this.finished}/${this.total}] running: ${names}`;
    const cols = terminalColumns();
    if (line.length > cols - 1) line = line.slice(0, cols - 4) + "...";
    this.write(2, "\r\x1b[K" + line);
    this.statusShown = true;
  }

  private summary(e: Extract<RunEvent, { type: "run.end" }>): void {
    const lines: string[] = [];
    const dry = this.skipped.filter((s) => s.reason === "dry-run").length;
    if (dry) {
      this.write(2, `jx: dry run: ${dry} job${dry === 1 ? "" : "s"} would run\n`);
      return;
    }
    const counts = new Map<string, number>();
    for (const j of this.ended) {
      const key = j.status !== "ok" && j.condition ? "false" : j.status;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    for (const s of this.skipped) {
      const key = s.reason === "up-to-date" ? "up to date" : `skipped (${s.reason})`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const failures = this.ended.filter((j) => j.status !== "ok" && !j.condition);
    // Root causes in the order they ended, each followed by what it cancelled.
    for (const f of failures) {
      lines.push(
        this.c("31", `  ✗ ${f.job}: ${this.describe(f)}`) + (f.error ? ` ${f.error}` : ""),
      );
      for (const s of this.skipped) {
        if (s.because === f.job && s.reason === "dependency-failed") {
          lines.push(this.c("2", `      skipped ${s.job}: depends on ${f.job}`));
        }
      }
    }
    const notRun = this.skipped.filter((s) => s.reason === "cancelled").length;
    if (notRun && failures.length && e.status !== "interrupted") {
      lines.push(
        this.c(
          "2",
          `  ${notRun} job${
            notRun === 1 ? "" : "s"
          } not started after the failure (use -k to keep going)`,
        ),
      );
    }
    const slow = [...this.ended].sort((a, b) => b.ms - a.ms).slice(0, 3).filter((j) =>
      j.ms >= 1000
    );
    if (slow.length && this.ended.length > 1) {
      lines.push(
        this.c("2", `  slowest: ${slow.map((j) => `${j.job} ${formatMs(j.ms)}`).join(", ")}`),
      );
    }
    const order = ["ok", "failed", "timeout", "cancelled", "false"];
    const parts = [...counts.entries()].sort((a, b) => {
      const ia = order.indexOf(a[0]), ib = order.indexOf(b[0]);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    }).map(([k, n]) => `${n} ${k}`);
    const verdict = e.status === "ok"
      ? this.c("32", "ok")
      : e.status === "interrupted"
      ? this.c("33", "interrupted")
      : this.c("31", "FAILED");
    lines.push(`jx: ${verdict}: ${parts.join(", ") || "nothing to do"} in ${formatMs(e.ms)}`);
    this.write(2, lines.join("\n") + "\n");
  }
}

function concat(parts: (string | Uint8Array)[]): Uint8Array {
  const enc = new TextEncoder();
  const bufs = parts.map((p) => typeof p === "string" ? enc.encode(p) : p);
  const out = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of bufs) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}
