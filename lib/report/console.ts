/**
 * The console reporter: job output (buffered, streamed or quiet), a status
 * line on a terminal, and the summary at the end.
 *
 * @module
 */
import { formatMs } from "../graph/duration.ts";
import type { Graph } from "../graph/graph.ts";
import type { Reporter, RunEvent, SkipReason } from "../scheduler/events.ts";
import { escapeControls as esc, existsSync, terminalColumns, writeOut } from "../runtime/mod.ts";
import { OutputBuffer } from "./buffer.ts";
import { indexOfByte } from "../runtime/bytes.ts";
import { StatusBoard, type StatusClock } from "./status.ts";
import { cutLong, PIECE } from "./long_lines.ts";

/**
 * How job output is shown.
 *
 * @example
 * ```ts
 * import { ConsoleReporter, type OutputMode } from "./console.ts";
 * // lines as they come, prefixed [job]
 * const mode: OutputMode = "stream";
 * const reporter = new ConsoleReporter({ mode, color: false, statusLine: false });
 * ```
 */
export type OutputMode = "buffered" | "stream" | "quiet";

/** Console settings. */
export interface ConsoleOptions {
  /** How jobs' output is shown: `buffered` (each job's at its end), `stream` (lines as they come), `quiet`. */
  mode: OutputMode;
  /** ANSI colors (off with `--no-color` or `NO_COLOR`). */
  color: boolean;
  /** Redraw a one-line status on stderr (only when stderr is a terminal). */
  statusLine: boolean;
  /**
   * The clock that redraws the status line between events (elapsed time, a
   * job that runs on); a reactor will do. Its timer runs only while a run
   * does, and only with `statusLine`. Without one, it is redrawn on events.
   */
  clock?: StatusClock;
  /** Each selected job's duration at its last success, for the status line's estimate. */
  lastMs?: ReadonlyMap<string, number>;
  /**
   * One cycle of `jx watch`, which ends each cycle with a line of its own:
   * no verdict line here, and a job cancelled by a restart is said plainly
   * (dim, without its partial output), not as a failure.
   */
  cycle?: boolean;
  /**
   * Modules run in the foreground (`jx run MODULE`): said at once when they
   * start and when they are ready (how long it took, how to stop them), and
   * their output streamed live, prefixed `[name]`, whatever the mode but
   * `quiet`.
   */
  foreground?: readonly string[];
  /** The graph, for commands in `-n` output. */
  graph?: Graph;
  /** `-v`: a dim line on stderr for each start, skip, added job and module state. */
  verbose?: boolean;
  /**
   * Where text goes (tests capture it); default: fds 1 and 2. The bytes are
   * valid during the call only (they may be views of reused buffers): copy
   * them to keep them.
   */
  write?: (fd: 1 | 2, text: string | Uint8Array) => void;
}

interface JobView {
  buffer: OutputBuffer;
  /** Partial last line per stream, in stream mode. */
  partial: { stdout: Uint8Array[]; stderr: Uint8Array[] };
  partialBytes: { stdout: number; stderr: number };
  /** Streams whose last printed piece was part of a line cut in pieces of 64 KiB (stream mode). */
  cut?: Set<"stdout" | "stderr">;
  /** Where the partial line's bytes are kept, reused from line to line (stream mode). */
  held?: { stdout?: Uint8Array; stderr?: Uint8Array };
  /** The prefixes of its lines, encoded once per kind and width (stream mode; see `prefix`). */
  prefixes?: { width: number; bytes: Map<string, Uint8Array> };
}

interface Ended {
  job: string;
  status: string;
  exit: number | null;
  signal: string | null;
  ms: number;
  error?: string;
  condition?: boolean;
  user_ms?: number;
  sys_ms?: number;
  max_rss_kb?: number;
  cache?: string;
  saved_ms?: number;
  /** Why it failed in short, when the error itself was printed when it happened (`emit.error`). */
  why?: string;
}

/** A `job.end` event, with `why` when its error was printed already. */
type JobEnd = Extract<RunEvent, { type: "job.end" }> & { why?: string };

const enc = new TextEncoder();
const NEWLINE = new Uint8Array([10]);

/** The SGR colours of job prefixes in stream mode, one per job in the order they start. */
const PALETTE = ["36", "33", "35", "32", "34", "96", "93", "95", "92", "94"];
/** Names longer than this do not widen the prefixes of the others. */
const MAX_ALIGN = 24;

function newView(): JobView {
  return {
    buffer: new OutputBuffer(),
    partial: { stdout: [], stderr: [] },
    partialBytes: { stdout: 0, stderr: 0 },
  };
}

/** Made on first use (64 KB zeroed at load was 0.1 ms of a compiled binary's no-op). */
let scratch = new Uint8Array(0);

/** The parts joined, in a buffer reused from call to call: valid until the next call. */
function concatBytes(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((n, p) => n + p.length, 0);
  if (n > scratch.length) scratch = new Uint8Array(Math.max(n, scratch.length * 2, 64 * 1024));
  let off = 0;
  for (const p of parts) {
    scratch.set(p, off);
    off += p.length;
  }
  return scratch.subarray(0, n);
}

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
  private board: StatusBoard;
  /** The status line's timer, and `clock.now()` at the run's time 0. */
  private tick?: number;
  private base = 0;
  private lastLine = "";
  /**
   * What the summary needs of the jobs that ended, gathered as they end (not
   * every end event, which a run of many jobs would hold to the end): their
   * number, counts by status, the failures, the three slowest over 1 s.
   */
  private endedCount = 0;
  /** What the jobs restored from the cache took when they ran (the time restoring saved). */
  private savedMs = 0;
  private endedCounts = new Map<string, number>();
  /**
   * Of each job that ends once per run of a `repeat` loop (its job, its test), its count so far:
   * a job counts once, by its last end (a loop of 4 runs was "4 ok" of a 3-job file).
   */
  private loopEnds = new Map<string, string>();
  private loopJobs?: Set<string>;
  private failures: Ended[] = [];
  /** Per failed job, a note on the file order that made it run first (`fileOrderHint`). */
  private hints = new Map<string, string>();
  private slowest: Ended[] = [];
  /** The jobs' CPU times summed, and the largest peak memory known (see `usage`). */
  private cpu = {
    known: false,
    user: 0,
    sys: 0,
    top: undefined as { job: string; kb: number } | undefined,
  };
  /**
   * The first error each job's `emit.error` printed (a bad job in a generator's output, a loop
   * given up), with its line: not printed again at the job's end or in the summary.
   */
  private said = new Map<string, { error: string; line?: number }>();
  /** Foreground modules that ended, not failed: `stopped` (by jx, jx ctl) or `exited` (by itself). */
  private fgEnded = new Map<string, "stopped" | "exited">();
  /** Modules that ended failed, with why. */
  /** Per module, why it last failed (one that failed twice, after a `jx ctl restart`, is one). */
  private moduleFailures = new Map<string, string>();
  /** Modules whose last end was `stopped` (by jx, `jx ctl stop`, or by themselves). */
  private stoppedModules = new Set<string>();
  /** When each module last started (to say how long it took to be ready). */
  private started = new Map<string, number>();
  /**
   * What the summary needs of the skips, gathered as they come (not an object per skip: a dry
   * run of 100,000 jobs has as many): counts by reason in the order the reasons first came, the
   * jobs a failure skipped (named under it), and a dry run's jobs that would run, how many are
   * modules and how many may run.
   */
  private skipCounts = new Map<SkipReason, number>();
  /** Modules skipped, by reason: their `when` does not hold, a module they need failed (not counted as jobs). */
  private modulesSkipped = new Map<SkipReason, number>();
  private skippedByFailure: { job: string; because: string }[] = [];
  private dry = { listed: 0, modules: 0, may: 0 };
  /** `access.finding` events seen (`jx lint`, `--check-access`): counted in the last line. */
  private findings = 0;
  /** Jobs up to date reported many at once (`skips`), beside those in `skipCounts`. */
  private upToDateMany = 0;
  /** Stream mode: the prefix width (the longest name so far) and each name's colour. */
  private align = 0;
  private colors = new Map<string, string>();
  private statusShown = false;
  private lastDraw = 0;
  private write: (fd: 1 | 2, text: string | Uint8Array) => void;
  /**
   * A dry run's lines not yet written (one write per batch, not per line: a
   * dry run of 100,000 jobs made 100,000 writes). Written before anything
   * else is, at the end of the task that queued them, or once 64 KB wait.
   */
  private dryLines: string[] = [];
  private dryBytes = 0;
  /** The writer itself (`write` flushes the dry run's lines first). */
  private raw: (fd: 1 | 2, text: string | Uint8Array) => void;

  /** The interactive job that has the terminal now, if one has. */
  private aside?: string;

  /** A console reporter with the given mode, colors and status line. */
  constructor(private o: ConsoleOptions) {
    // A write that fails (a closed pipe too) throws: the run stops (docs/cli.md).
    const write = o.write ?? writeOut;
    this.raw = write;
    this.write = (fd, text) => {
      this.flushDry();
      write(fd, text);
    };
    this.board = new StatusBoard(o.lastMs);
  }

  /** `s` in the SGR color `code`, when colors are on. */
  private c(code: string, s: string): string {
    return this.o.color ? `\x1b[${code}m${s}\x1b[0m` : s;
  }

  /** Queues a dry run's line for fd 1 (see `dryLines`). */
  private dryLine(text: string): void {
    this.clearStatus();
    if (!this.dryLines.length) queueMicrotask(() => this.flushDry());
    this.dryLines.push(text);
    this.dryBytes += text.length;
    if (this.dryBytes >= 64 * 1024) this.flushDry();
  }

  /** Writes the queued dry-run lines, if any. */
  private flushDry(): void {
    if (!this.dryLines.length) return;
    const text = this.dryLines.join("");
    this.dryLines = [];
    this.dryBytes = 0;
    this.raw(1, text);
  }

  /** Writes to fd 1 or 2, clearing the status line first. */
  private out(fd: 1 | 2, text: string | Uint8Array): void {
    this.clearStatus();
    this.write(fd, text);
  }

  /** Jobs up to date, many at once (`Reporter.skips`): as many `job.skip` events would do. */
  skips(jobs: readonly string[], t: number): void {
    if (this.o.verbose) {
      for (const job of jobs) this.event({ type: "job.skip", t, job, reason: "up-to-date" });
      return;
    }
    // Counted, not listed: the summary names no job up to date.
    this.board.skipMany(jobs);
    this.upToDateMany += jobs.length;
    this.drawStatus(t, true);
  }

  /**
   * What the status line's timer could not write (stderr gone: a terminal hung up, a full
   * device): thrown at the next event, as a write of that event's would be (docs/cli.md).
   */
  private clockError?: { error: unknown };

  /** Prints what the event calls for: output, ends, skips, the status line, the summary. */
  event(e: RunEvent): void {
    if (this.clockError) {
      const { error } = this.clockError;
      this.clockError = undefined;
      throw error;
    }
    switch (e.type) {
      case "run.start":
        this.board.begin(e.jobs, e.slots);
        this.startClock(e.t);
        break;
      case "job.start":
        this.jobStart(e);
        break;
      case "job.output":
        this.output(e.job, e.stream, e.chunk);
        return this.drawStatus(e.t);
      case "job.end":
        if (this.aside === e.job) this.aside = undefined;
        this.jobEnd(e);
        if (e.left) this.leftRunning(e.job, e.left);
        break;
      case "module.state":
        this.moduleState(e);
        break;
      case "job.add":
        this.jobAdd(e);
        break;
      case "emit.error":
        this.out(2, this.c("31", `jx: ${esc(e.error)}`) + "\n");
        this.errorSaid(e);
        break;
      case "job.skip":
        this.jobSkip(e);
        break;
      case "run.end":
        this.stopClock();
        this.clearStatus();
        this.summary(e);
        return;
      case "watch.change":
      case "watch.reload":
        break; // the watch session says what changed itself
      case "run.suspend":
      case "run.resume":
        break; // the shell says "Stopped" itself; the status line is drawn again below
      case "access.finding":
        this.findings++; // `jx lint` and `--check-access` print them themselves; counted here
        break;
      default: {
        // A new kind of event must be handled here, not taken silently.
        const _exhaustive: never = e;
        return _exhaustive;
      }
    }
    this.drawStatus(e.t, true);
  }

  /** A job starts: its view, `-v`'s line; an interactive job has the terminal until it ends. */
  private jobStart(e: Extract<RunEvent, { type: "job.start" }>): void {
    if (this.o.graph?.byName.get(e.job)?.interactive) {
      this.clearStatus();
      this.aside = e.job;
    }
    this.board.start(e.job, e.t);
    this.seen(e.job);
    if (!this.jobs.has(e.job)) this.jobs.set(e.job, newView());
    if (this.o.verbose) {
      this.out(2, this.c("2", `jx: start ${esc(e.job)} (pid ${e.pid}, attempt ${e.attempt})\n`));
    }
  }

  /** A job an `emits: jobs` job added: counted, and named under `-v`. */
  private jobAdd(e: Extract<RunEvent, { type: "job.add" }>): void {
    this.board.added();
    if (!this.o.verbose) return;
    const line = e.line ? ` line ${e.line}` : "";
    const why = `${e.for === undefined ? "" : `for ${esc(e.for)}, `}from ${esc(e.by)}${line}`;
    this.out(2, this.c("2", `jx: add ${esc(e.job)} (${why})\n`));
  }

  /** A skip: kept for the summary; a dry run's line, or `-v`'s reason. */
  private jobSkip(e: Extract<RunEvent, { type: "job.skip" }>): void {
    this.board.skip(e.job);
    this.countSkip(e);
    if (e.reason === "dry-run") {
      const spec = this.o.graph?.byName.get(e.job);
      this.dry.listed++;
      if (spec?.kind === "module") this.dry.modules++;
      else if (e.may) this.dry.may++;
      // Up to date now, but after a job that would run: only if that one's outputs change.
      const may = e.may ? `  (may run: after ${e.because})` : "";
      this.dryLine(esc(`${e.job}: ${spec?.command ?? ""}${may}`) + "\n");
    } else if (this.o.verbose) {
      const why = e.because ? ` (${e.because})` : "";
      this.out(2, this.c("2", esc(`jx: skip ${e.job}: ${e.reason}${why}`) + "\n"));
    }
  }

  /** Counts a skip for the summary; one a failure caused is kept to be named under it. */
  private countSkip(e: Extract<RunEvent, { type: "job.skip" }>): void {
    // A skipped module is counted as a module (it said "1 job skipped"), and named under its cause.
    const counts = this.o.graph?.byName.get(e.job)?.kind === "module"
      ? this.modulesSkipped
      : this.skipCounts;
    counts.set(e.reason, (counts.get(e.reason) ?? 0) + 1);
    if (e.reason === "dependency-failed" && e.because !== undefined) {
      this.skippedByFailure.push({ job: e.job, because: e.because });
    }
  }

  /** Whether `name`'s output goes out line by line as it comes: stream mode, or a foreground module. */
  private streams(name: string): boolean {
    return this.o.mode === "stream" ||
      (this.o.mode !== "quiet" && !!this.o.foreground?.includes(name));
  }

  /** Stream mode: a name that starts widens the prefixes (up to MAX_ALIGN) and gets a colour. */
  private seen(name: string): void {
    if (!this.streams(name) || this.colors.has(name)) return;
    this.colors.set(name, PALETTE[this.colors.size % PALETTE.length]);
    const shown = esc(name).length;
    if (shown <= MAX_ALIGN) this.align = Math.max(this.align, shown);
  }

  /**
   * The prefix of a stream-mode line: `[name]` padded to the longest name so
   * far, then two marks: `!` for stderr, `+` for the continuation of a line
   * cut in pieces of 64 KiB (`[a]  out`, `[a]! err`, `[a] +rest of a long line`).
   * The name's control characters are escaped; the line after it is the job's, as it came.
   */
  private prefix(v: JobView, name: string, stream: "stdout" | "stderr", cont = false): Uint8Array {
    if (!v.prefixes || v.prefixes.width !== this.align) {
      v.prefixes = { width: this.align, bytes: new Map() };
    }
    const key = `${stream}${cont ? "+" : ""}`;
    let bytes = v.prefixes.bytes.get(key);
    if (!bytes) {
      const shown = esc(name);
      const pad = " ".repeat(Math.max(0, this.align - shown.length));
      const err = stream === "stderr";
      const marks = (err ? "!" : " ") + (cont ? "+" : " ");
      const color = this.colors.get(name) ?? "36";
      const text = this.c(color, `[${shown}]`) + pad +
        (err ? this.c("1;31", marks.trimEnd()) + marks.slice(marks.trimEnd().length) : marks);
      bytes = enc.encode(text);
      v.prefixes.bytes.set(key, bytes);
    }
    return bytes;
  }

  /** Buffers (buffered) or prints with a `[job]` prefix (stream) a chunk of a job's output. */
  private output(job: string, stream: "stdout" | "stderr", chunk: Uint8Array): void {
    let v = this.jobs.get(job);
    if (!v) {
      // A job restored from the cache has no job.start: its stored output comes first.
      this.seen(job);
      this.jobs.set(job, v = newView());
    }
    if (this.streams(job)) {
      // Lines are cut and prefixed as bytes: no decoding, nothing held but
      // the unfinished last line (printed in pieces of 64 KiB: long_lines.ts).
      const parts: Uint8Array[] = [];
      let tail: Uint8Array | undefined;
      let start = 0;
      for (let nl = indexOfByte(chunk, 10, 0); nl >= 0; nl = indexOfByte(chunk, 10, start)) {
        let line = chunk.subarray(start, nl + 1);
        if (v.partialBytes[stream] + nl - start > PIECE) {
          this.cutPieces(v, job, stream, chunk.subarray(start, nl), parts);
          line = NEWLINE;
        }
        parts.push(this.linePrefix(v, job, stream), ...v.partial[stream], line);
        v.partial[stream] = [];
        v.partialBytes[stream] = 0;
        v.cut?.delete(stream);
        start = nl + 1;
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        if (v.partialBytes[stream] + rest.length > PIECE) {
          this.cutPieces(v, job, stream, rest, parts);
        } else tail = rest;
      }
      if (parts.length) {
        const fd = stream === "stdout" ? 1 : 2;
        let bytes = 0;
        for (const p of parts) bytes += p.length;
        if (bytes < 32 * 1024 || parts.length > 8) this.out(fd, concatBytes(parts));
        else {
          // A few long lines (a job that floods) go out as they are, not copied again.
          this.clearStatus();
          for (const p of parts) this.write(fd, p);
        }
      }
      if (tail) this.hold(v, stream, tail);
      return;
    }
    v.buffer.push(chunk);
  }

  /**
   * Stream mode: the full pieces of the line held for `stream` followed by `more` (it is longer
   * than a piece) go to `parts`, each prefixed and ended; the rest (a copy) is held.
   */
  private cutPieces(
    v: JobView,
    job: string,
    stream: "stdout" | "stderr",
    more: Uint8Array,
    parts: Uint8Array[],
  ): void {
    const { pieces, rest } = cutLong(v.partial[stream], more);
    for (const piece of pieces) {
      parts.push(this.linePrefix(v, job, stream), piece, NEWLINE);
      // The next piece says it continues this one.
      (v.cut ??= new Set()).add(stream);
    }
    v.partial[stream] = [rest];
    v.partialBytes[stream] = rest.length;
  }

  /** The prefix of the next line of `stream`: a continuation after a cut. */
  private linePrefix(v: JobView, job: string, stream: "stdout" | "stderr"): Uint8Array {
    return this.prefix(v, job, stream, v.cut?.has(stream) ?? false);
  }

  /**
   * Keeps `bytes` (a view the reactor reuses) at the end of the stream's
   * partial line, copied into a buffer of the view's that later lines reuse:
   * a job writing a long line in small reads makes no garbage per read.
   */
  private hold(v: JobView, stream: "stdout" | "stderr", bytes: Uint8Array): void {
    const at = v.partialBytes[stream];
    const end = at + bytes.length;
    v.held ??= {};
    let buf = v.held[stream];
    if (!buf || buf.length < end) {
      // Views already held point into the old buffer, which they keep alive.
      buf = v.held[stream] = new Uint8Array(Math.min(64 * 1024, Math.max(4096, 2 * end)));
    }
    buf.set(bytes, at);
    v.partial[stream].push(buf.subarray(at, end));
    v.partialBytes[stream] = end;
  }

  /**
   * An `emit.error` was printed. Of a job still running (a generator), its end says it failed
   * for it; of one that is not (a `repeat` loop given up, a `foreach` group, a library feed), it
   * is that job's failure, which no `job.end` reports: counted and listed in the summary.
   */
  private errorSaid(e: Extract<RunEvent, { type: "emit.error" }>): void {
    if (this.said.has(e.job)) return;
    this.said.set(e.job, { error: e.error, line: e.line });
    if (this.jobs.has(e.job)) return;
    // A loop given up: its job's last run counted ok; the loop failed.
    const last = this.loopEnds.get(e.job);
    if (last !== undefined) this.count(last, -1), this.loopEnds.set(e.job, "failed");
    this.count("failed", 1);
    const why = this.gaveUp(e.job) ?? "the error above";
    this.failures.push({ job: e.job, status: "failed", exit: null, signal: null, ms: 0, why });
  }

  /** A `repeat` loop's give-up in short (`repeat until t succeeds: gave up after 3 runs`). */
  private gaveUp(job: string): string | undefined {
    const g = this.o.graph;
    const rep = (g?.byName.get(job) ?? g?.jobs.find((j) => j.group === job))?.repeat;
    return rep && `repeat ${rep.kind} ${esc(rep.test)} succeeds: gave up after ${rep.max} runs`;
  }

  /**
   * `e` with an error printed already (a bad job in the generator's output) left out, and said
   * in short instead (`why`): the error line is printed once.
   */
  private sayOnce(e: JobEnd): JobEnd {
    const said = this.said.get(e.job);
    if (e.status !== "failed" || e.error === undefined || said?.error !== e.error) return e;
    const line = said.line === undefined ? "" : ` line ${said.line}`;
    return { ...e, error: undefined, why: `bad job on stdout${line}` };
  }

  /** The processes a job's end left holding its output (`job.end`'s `left`), one line each. */
  private leftRunning(job: string, left: { pid: number; name: string }[]): void {
    for (const p of left) {
      this.out(
        2,
        this.c(
          "33",
          `jx: warning: ${esc(job)}: pid ${p.pid} (${esc(p.name)}) left the job's process group ` +
            `and still held its output a grace after the job's process exited: ` +
            `not waited for, left running (its output is no longer read)`,
        ) + "\n",
      );
    }
  }

  /** Prints a job's end: its buffered output under a header, or its failure. */
  private jobEnd(end: JobEnd): void {
    const e = this.sayOnce(end);
    const v = this.jobs.get(e.job) ??
      newView();
    const ok = e.status === "ok";
    if (e.retrying) this.board.retry(e.job);
    else {
      this.board.end(e.job);
      this.noteEnded(e);
      // Its output is all in (a job's output comes before its end): a job
      // that runs again (a `repeat` loop) gets a new view at its start.
      this.jobs.delete(e.job);
    }
    const what = ok ? "" : this.describe(e);
    if (this.o.cycle && e.status === "cancelled") {
      const head = this.o.mode === "stream" ? this.decodedPrefix(v, e.job) : `── ${esc(e.job)}: `;
      if (this.o.mode !== "quiet") {
        this.out(1, this.c("2", `${head}cancelled (${formatMs(e.ms)})`) + "\n");
      }
      v.buffer.dispose();
      v.held = undefined;
      return;
    }
    if (this.o.mode === "stream") {
      this.flushPartial(v, e.job);
      if (!ok) this.out(2, `${this.decodedPrefix(v, e.job)}${this.c("31", what)}\n`);
    } else {
      const show = !ok || (this.o.mode === "buffered" && v.buffer.size > 0);
      if (show) {
        const took = e.cache ? `restored from the ${e.cache} cache` : formatMs(e.ms);
        const head = ok
          ? this.c("1", `── ${esc(e.job)}`) + this.c("2", ` (${took})`)
          : this.c("1;31", `── ${esc(e.job)}: ${what}`);
        // Header, output and trailer go out back to back: never interleaved.
        this.out(1, head + "\n");
        const last = v.buffer.lastByte;
        v.buffer.drain((bytes) => this.write(1, bytes));
        const tail = (last >= 0 && last !== 10 ? "\n" : "") +
          (e.error ? `jx: ${esc(e.error)}\n` : "");
        if (tail) this.write(1, tail);
      }
    }
    v.buffer.dispose();
    v.held = undefined;
  }

  /** Stream mode: prints what is left of each stream's last line (it had no newline). */
  private flushPartial(v: JobView, name: string): void {
    for (const s of ["stdout", "stderr"] as const) {
      if (v.partial[s].length) {
        const line = concatBytes([this.linePrefix(v, name, s), ...v.partial[s], NEWLINE]);
        this.out(s === "stdout" ? 1 : 2, line);
      }
      v.partial[s] = [];
      v.partialBytes[s] = 0;
    }
    v.cut = undefined;
  }

  /** Stream mode: the stdout prefix of `name` as text, for jx's own lines about it. */
  private decodedPrefix(v: JobView, name: string): string {
    return new TextDecoder().decode(this.prefix(v, name, "stdout"));
  }

  /** Adds `n` to the summary's count of `key`. */
  private count(key: string, n: number): void {
    this.endedCounts.set(key, (this.endedCounts.get(key) ?? 0) + n);
  }

  /** Whether `job` runs once per run of a `repeat` loop: the loop's job (or item), its test. */
  private inLoop(job: string): boolean {
    if (!this.loopJobs) {
      this.loopJobs = new Set();
      for (const j of this.o.graph?.jobs ?? []) {
        if (j.kind === "job" && j.repeat) this.loopJobs.add(j.name).add(j.repeat.test);
      }
    }
    return this.loopJobs.has(job);
  }

  /** Counts an ended job for the summary (see `endedCount`). */
  private noteEnded(e: Ended): void {
    const key = e.status !== "ok" && e.condition ? "false" : e.cache ? "restored" : e.status;
    const last = this.inLoop(e.job) ? this.loopEnds.get(e.job) : undefined;
    if (this.inLoop(e.job)) this.loopEnds.set(e.job, key);
    if (last === undefined) this.endedCount++;
    else this.count(last, -1);
    if (e.cache) this.savedMs += e.saved_ms ?? 0;
    this.count(key, 1);
    const restarted = this.o.cycle && e.status === "cancelled";
    if (e.status !== "ok" && !e.condition && !restarted) {
      this.failures.push(e);
      const hint = this.fileOrderHint(e.job);
      if (hint) this.hints.set(e.job, hint);
    }
    if (e.user_ms !== undefined) {
      const u = this.cpu;
      u.known = true;
      u.user += e.user_ms;
      u.sys += e.sys_ms ?? 0;
      if (e.max_rss_kb && (!u.top || e.max_rss_kb > u.top.kb)) {
        u.top = { job: e.job, kb: e.max_rss_kb };
      }
    }
    if (e.ms >= 1000) {
      // Slowest first; of equal times, the one that ended first.
      let at = 0;
      while (at < this.slowest.length && this.slowest[at].ms >= e.ms) at++;
      if (at < 3) {
        this.slowest.splice(at, 0, e);
        this.slowest.length = Math.min(this.slowest.length, 3);
      }
    }
  }

  /**
   * A module's state change. Its output is kept like a job's and printed
   * when it stops or fails (buffered), or streamed as it comes (stream).
   */
  private moduleState(e: Extract<RunEvent, { type: "module.state" }>): void {
    const name = e.module;
    // In jx's lines: the name and the reason (a ready check's words) with controls escaped.
    const shown = esc(name);
    const reason = e.reason === undefined ? undefined : esc(e.reason);
    const dim = (s: string) => this.c("2", s);
    const fg = this.o.foreground?.includes(name);
    if (e.state === "starting") {
      if (!this.jobs.has(name)) this.jobs.set(name, newView());
      this.seen(name);
      this.started.set(name, e.t);
      if (fg) {
        const cmd = this.o.graph?.byName.get(name)?.command ?? "";
        this.out(2, this.c("1", `jx: module ${shown} starting (pid ${e.pid}): ${esc(cmd)}\n`));
      } else if (this.o.verbose) this.out(2, dim(`jx: start module ${shown} (pid ${e.pid})\n`));
      return;
    }
    if (fg && e.state === "running" && this.started.has(name)) {
      const took = formatMs(e.t - this.started.get(name)!);
      this.started.delete(name);
      const ready = this.o.graph?.byName.get(name)?.ready ? `ready in ${took}` : "running";
      this.out(2, this.c("1;32", `jx: module ${shown} ${ready}`) + " (Ctrl-C to stop)\n");
      return;
    }
    if (e.state !== "stopped" && e.state !== "failed") {
      if (this.o.verbose) this.out(2, dim(`jx: module ${shown} ${e.state}\n`));
      return;
    }
    const v = this.jobs.get(name);
    if (e.restarting) {
      // Only the last attempt's output is shown; say why it restarts.
      v?.buffer.dispose();
      const why = reason ? `${reason}, ` : "";
      this.out(2, this.c("33", `jx: module ${shown}: ${why}restarting in ${e.backoff_ms}ms\n`));
      return;
    }
    this.moduleEnded(e, v);
  }

  /**
   * A module's state change that another console shows (`jx watch`: the session's modules have a
   * console of their own): only what this one's summary says of it; nothing is printed.
   */
  moduleNoted(e: Extract<RunEvent, { type: "module.state" }>): void {
    if (!e.restarting && (e.state === "stopped" || e.state === "failed")) this.noteModuleEnd(e);
  }

  /** What the summary keeps of a module's end: why it failed, or that it stopped. */
  private noteModuleEnd(e: Extract<RunEvent, { type: "module.state" }>): void {
    const name = e.module;
    if (e.state === "failed") {
      this.moduleFailures.delete(name); // listed where it failed last
      this.moduleFailures.set(name, e.reason ?? "failed");
      this.stoppedModules.delete(name);
      this.fgEnded.delete(name); // stopped earlier (a `jx ctl restart`), failed since
    } else this.stoppedModules.add(name);
  }

  /** A module that stopped or failed for good: its output (unless streamed), and how it ended. */
  private moduleEnded(e: Extract<RunEvent, { type: "module.state" }>, v?: JobView): void {
    const name = e.module, shown = esc(name);
    const reason = e.reason === undefined ? undefined : esc(e.reason);
    this.jobs.delete(name);
    const failed = e.state === "failed";
    this.noteModuleEnd(e);
    if (this.streams(name)) {
      const view = v ?? newView();
      this.flushPartial(view, name);
      if (failed) {
        this.out(2, `${this.decodedPrefix(view, name)}${this.c("31", `FAILED (${reason})`)}\n`);
      }
    } else if (v && (failed || (this.o.mode === "buffered" && v.buffer.size > 0))) {
      const head = failed
        ? this.c("1;31", `── module ${shown}: FAILED (${reason})`)
        : this.c("1", `── module ${shown}`) + this.c("2", " (stopped)");
      this.out(1, head + "\n");
      const last = v.buffer.lastByte;
      v.buffer.drain((bytes) => this.write(1, bytes));
      if (last >= 0 && last !== 10) this.write(1, "\n");
    }
    v?.buffer.dispose();
    if (failed || !this.o.foreground?.includes(name)) return;
    this.fgEnded.set(name, reason === undefined ? "stopped" : "exited");
    // One that ended by itself (a reason, not a failure) ends the run: say so.
    if (reason !== undefined) {
      this.out(2, this.c("33", `jx: module ${shown} exited by itself (${reason})`) + "\n");
    }
  }

  /**
   * The jobs' CPU time and the largest peak memory known, when the jobs used
   * at least a second of CPU (the reactor must know it: epoll).
   */
  private usage(): string | undefined {
    const u = this.cpu;
    if (!u.known || u.user + u.sys < 1000) return undefined;
    const top = u.top;
    const mem = top ? `; most memory: ${esc(top.job)} ${(top.kb / 1024).toFixed(0)} MiB` : "";
    return `  cpu: ${formatMs(u.user)} user, ${formatMs(u.sys)} sys in jobs${mem}`;
  }

  /** A job's status in words: `FAILED (exit 3, 1.2s)`. */
  private describe(
    e: {
      status: string;
      exit: number | null;
      signal: string | null;
      ms: number;
      retrying?: boolean;
      attempt?: number;
      condition?: boolean;
      why?: string;
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
    // A failure no process end tells (a loop given up): its reason alone.
    if (e.why && e.exit === null && e.signal === null) return `${label} (${e.why})`;
    const why = e.why ? `${e.why}; ` : "";
    const retry = e.retrying ? `, retrying (attempt ${(e.attempt ?? 1) + 1})` : "";
    return `${label} (${why}${cause}, ${formatMs(e.ms)})${retry}`;
  }

  /** Erases the status line, if one is shown. */
  private clearStatus(): void {
    if (this.statusShown) {
      this.write(2, "\r\x1b[K");
      this.statusShown = false;
    }
  }

  /**
   * Redraws the status line (at most every so often unless `force`; what
   * the limit leaves out, the clock's next tick draws).
   */
  private drawStatus(t: number, force = false): void {
    if (!this.o.statusLine || !this.board.shown || this.aside) return;
    if (!force && t - this.lastDraw < 50) return;
    if (force && t - this.lastDraw < 20 && this.statusShown) return;
    this.lastDraw = t;
    let line = esc(this.board.text(t)); // running job names, controls escaped
    const cols = terminalColumns();
    if (line.length > cols - 1) line = line.slice(0, cols - 4) + "...";
    if (this.statusShown && line === this.lastLine) return;
    this.lastLine = line;
    this.write(2, "\r\x1b[K" + line);
    this.statusShown = true;
  }

  /** Every 100 ms while the run lasts (status line on, a clock given), a redraw. */
  private startClock(t: number): void {
    const clock = this.o.clock;
    if (!clock || !this.o.statusLine || this.tick !== undefined) return;
    this.base = clock.now() - t;
    const every = () => {
      this.tick = clock.setTimer(100, every);
      try {
        this.drawStatus(clock.now() - this.base, true);
      } catch (e) {
        // Thrown in a timer, it would end jx with a stack trace: the run stops at its next event.
        this.stopClock();
        this.clockError ??= { error: e };
      }
    };
    this.tick = clock.setTimer(100, every);
  }

  /** Stops the status line's timer (the run is over: nothing keeps the process alive). */
  private stopClock(): void {
    if (this.tick !== undefined) this.o.clock?.clearTimer(this.tick);
    this.tick = undefined;
  }

  /** Prints the summary on stderr: counts, failures with what they caused to skip, slow jobs. */
  private summary(e: Extract<RunEvent, { type: "run.end" }>): void {
    this.skippedBy = undefined; // grouped again from the skips so far (`skippedFor`)
    if (this.dry.listed) return this.dryRunSummary();
    const counts = new Map(this.endedCounts);
    if (this.upToDateMany) counts.set("up to date", this.upToDateMany);
    for (const [reason, n] of this.skipCounts) {
      const key = reason === "up-to-date" ? "up to date" : `skipped (${reason})`;
      counts.set(key, (counts.get(key) ?? 0) + n);
    }
    // Names and errors quoted in these lines have their control characters escaped.
    const lines: string[] = [];
    for (const [module, reason] of this.moduleFailures) {
      lines.push(this.c("31", esc(`  ✗ module ${module}: ${reason}`)));
      lines.push(...this.skippedFor(module));
    }
    // Root causes in the order they ended, each followed by what it cancelled.
    for (const f of this.failures) {
      lines.push(
        this.c("31", `  ✗ ${esc(f.job)}: ${this.describe(f)}`) +
          (f.error ? ` ${esc(f.error)}` : ""),
      );
      const hint = this.hints.get(f.job);
      if (hint) lines.push(this.c("2", esc(hint)));
      lines.push(...this.skippedFor(f.job));
    }
    lines.push(...this.falseNeeded());
    const notRun = this.skipCounts.get("cancelled") ?? 0;
    if (notRun && this.failures.length && e.status === "failed") {
      const jobs = `${notRun} job${notRun === 1 ? "" : "s"}`;
      lines.push(this.c("2", `  ${jobs} not started after the failure (use -k to keep going)`));
    }
    const slow = this.slowest;
    if (slow.length && this.endedCount > 1) {
      lines.push(
        this.c("2", `  slowest: ${slow.map((j) => `${esc(j.job)} ${formatMs(j.ms)}`).join(", ")}`),
      );
    }
    const usage = this.usage();
    if (usage) lines.push(this.c("2", usage));
    // A watch cycle ends with jx watch's own line instead.
    if (!this.o.cycle) lines.push(this.verdictLine(e, counts));
    if (lines.length) this.write(2, lines.join("\n") + "\n");
  }

  /**
   * For a failed job that reads what a job later in the file writes (so it ran first, without
   * it: docs/ordering.md), when that file is not there as it ends, a line saying so: a job
   * written before the one that makes its input is a first-contact mistake nothing else names.
   */
  private fileOrderHint(job: string): string | undefined {
    const g = this.o.graph;
    const base = g?.baseDir;
    const missing = (r: string) => {
      const cut = r.search(/[*?[{]/); // a glob: its folder before the first pattern
      const path = cut < 0 ? r : r.slice(0, r.lastIndexOf("/", cut) + 1) || ".";
      return !existsSync(path.startsWith("/") ? path : `${base}/${path}`);
    };
    const later = g?.dependentsOf(job).map((e) => ({
      e,
      read: e.reason.slice("reads ".length, e.reason.indexOf(" -> ")),
    })).filter(({ e, read }) =>
      e.kind === "order" && e.reason.startsWith("reads ") && missing(read)
    );
    if (!g || !later?.length) return undefined;
    const { e, read } = later[0];
    // A `needs` item as the root file writes it (an included file names its jobs otherwise).
    const plain = g.byName.get(job)?.source === undefined &&
      g.byName.get(e.to)?.source === undefined;
    const need = plain ? ` or add needs: [${e.to}]` : ` or make ${job} need it`;
    return `      note: ${read} is written by ${e.to}, later in the file: ${job} ran before it ` +
      `(file order: docs/ordering.md); to use its output, move ${job} after ${e.to}${need}`;
  }

  /**
   * The tests (`if`/`unless` jobs) that were false and that other jobs `needs`: no failure, but
   * what they skipped makes the run fail, so each is named with what it skipped.
   */
  private falseNeeded(): string[] {
    const failed = new Set([...this.failures.map((f) => f.job), ...this.moduleFailures.keys()]);
    const causes = new Set(
      this.skippedByFailure.map((s) => s.because).filter((b) => !failed.has(b)),
    );
    return [...causes].flatMap((cause) => [
      // A module stopped before it was ready (`jx ctl stop`): what needed it could not run.
      this.stoppedModules.has(cause)
        ? this.c("31", esc(`  ✗ module ${cause}: stopped (jx ctl stop) before it was ready`))
        : this.c("31", esc(`  ✗ ${cause}: false (a test that other jobs need)`)),
      ...this.skippedFor(cause),
    ]);
  }

  /** The summary's lines for the jobs skipped because `cause` (a job or a module) failed. */
  private skippedFor(cause: string): string[] {
    // Grouped once for the summary (not a pass over every skip per failure: -k, 10,000 of each).
    if (!this.skippedBy) {
      this.skippedBy = new Map();
      for (const s of this.skippedByFailure) {
        const list = this.skippedBy.get(s.because);
        if (list) list.push(s.job);
        else this.skippedBy.set(s.because, [s.job]);
      }
    }
    return (this.skippedBy.get(cause) ?? []).map((job) =>
      this.c("2", esc(`      skipped ${job}: depends on ${cause}`))
    );
  }
  private skippedBy?: Map<string, string[]>;

  /** A dry run's one line: `jx: dry run: 3 jobs and 1 module would run, 2 jobs may run`. */
  private dryRunSummary(): void {
    const { listed, modules: mods, may } = this.dry;
    const jobs = listed - mods - may;
    const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
    const what = [jobs ? plural(jobs, "job") : "", mods ? plural(mods, "module") : ""]
      .filter((x) => x).join(" and ");
    const maybe = may ? `${what ? ", " : ""}${plural(may, "job")} may run` : "";
    this.write(2, `jx: dry run: ${what}${what ? " would run" : ""}${maybe}\n`);
  }

  /**
   * The last line: `jx: 3 jobs ok in 19ms`, `jx: 1 job ok, 2 up to date in
   * 5ms`, `jx: FAILED: 1 module failed, 1 job skipped (dependency-failed) in
   * 2s`, `jx: interrupted: ...`. The first count names what it counts.
   */
  private verdictLine(
    e: Extract<RunEvent, { type: "run.end" }>,
    counts: Map<string, number>,
  ): string {
    const order = ["failed", "timeout", "ok", "restored", "up to date", "cancelled", "false"];
    const rank = (k: string) => order.indexOf(k) < 0 ? 99 : order.indexOf(k);
    const sorted = [...counts.entries()].filter(([, n]) => n > 0).sort((a, b) =>
      rank(a[0]) - rank(b[0])
    );
    const label = (k: string) =>
      k === "restored" ? `restored (saved ${formatMs(Math.round(this.savedMs))})` : k;
    const parts = sorted.map(([k, n], i) =>
      i ? `${n} ${label(k)}` : `${n} job${n === 1 ? "" : "s"} ${label(k)}`
    );
    const mods = this.moduleFailures.size;
    if (mods) parts.unshift(`${mods} module${mods === 1 ? "" : "s"} failed`);
    // The foreground modules (`jx run MODULE`) that ended, by name: what a Ctrl-C stopped.
    for (const how of ["stopped", "exited"] as const) {
      const names = [...this.fgEnded].filter(([, h]) => h === how).map(([n]) => esc(n));
      if (names.length) {
        parts.push(`module${names.length > 1 ? "s" : ""} ${names.join(", ")} ${how}`);
      }
    }
    for (const [reason, n] of this.modulesSkipped) {
      parts.push(`${n} module${n === 1 ? "" : "s"} skipped (${reason})`);
    }
    // A lint's findings: what fails a run whose jobs all ended ok.
    if (this.findings) parts.push(`${this.findings} finding${this.findings === 1 ? "" : "s"}`);
    const what = parts.join(", ") || "nothing to do";
    const verdict = e.status === "ok"
      ? ""
      : e.status === "interrupted" || e.status === "cancelled"
      ? this.c("33", e.status) + ": "
      : this.c("31", "FAILED") + ": ";
    const done = e.status === "ok" && parts.length ? this.c("32", what) : what;
    return `jx: ${verdict}${done} in ${formatMs(e.ms)}`;
  }
}
