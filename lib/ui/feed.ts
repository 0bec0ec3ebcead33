/**
 * The live part's source: a `Reporter` that turns a run's events into JSON
 * lines for the page (output chunks decoded to text), keeps the last few runs
 * so that a page opened late (or reloaded) sees them whole, and hands every
 * event to the open event streams. Of a job's output in a run, the last
 * 256 KiB are kept (after a marker when older output was dropped): the end
 * of a long log, where its error usually is. A `watch.change` opens a run
 * (the watch cycle it starts: its `run.start` then opens none); modules
 * outlive runs, so the last state of each module whose events left with a
 * dropped run is replayed first. Of the other events, those a later one
 * makes moot for the page are dropped (`supersedes`): a module's earlier
 * states, a job's earlier attempt (start and end) once it starts again, an
 * earlier Ctrl-Z; so that a run that stays up for hours (a module restarted
 * by its health check, a `repeat` loop) keeps what the page draws, not
 * every event. The event that opens a run carries its
 * number (`run`: 1, 2... from the server's start), so that a page opened
 * late names the runs as one open from the start does. A page's replay
 * (`replay`) reads the kept runs as they were when it connected, an event at
 * a time as the page takes them: no page holds a copy of them.
 *
 * @module
 */
import type { Reporter, RunEvent } from "../scheduler/mod.ts";

/**
 * An event as the page receives it: `job.output` carries `text`, not bytes;
 * the one that opens a run carries the run's number.
 */
export type UiEvent =
  & (
    | Exclude<RunEvent, { type: "job.output" }>
    | { type: "job.output"; t: number; job: string; stream: "stdout" | "stderr"; text: string }
  )
  & { run?: number };

/** Output kept per job and run, in bytes: the last ones (older output is dropped, a marker says so). */
const OUTPUT_LIMIT = 256 * 1024;
/**
 * Kept output events of one stream are joined up to this many bytes: a job that writes a byte at a
 * time (a progress bar) would otherwise keep an event's JSON, about 100 bytes, per byte of output.
 */
const JOIN_MAX = 1024;
/**
 * Kept output events per job and run, at most: output alternating stdout and stderr a few bytes at
 * a time cannot be joined, and would otherwise keep an event (about 100 bytes of JSON, and the
 * work of moving them all when the oldest is dropped) per byte.
 */
const KEPT_MAX = 4096;
/**
 * Output kept in all, every job of every kept run: past it, the output of the jobs written to
 * longest ago (oldest run first) is dropped, a marker in its place, until it is under again. A run of
 * many jobs that each write their 256 KiB would otherwise hold that much per job.
 */
export const FEED_OUTPUT_LIMIT = 64 * 1024 * 1024;
/** The line that stands for a job's dropped output, before what is kept. */
const CUT_MARK = "[jx ui: earlier output cut]\n";

type UiOutput = Extract<UiEvent, { type: "job.output" }>;

interface RunLog {
  /** The run's number (1, 2... from the server's start). */
  number: number;
  /**
   * The run's events as JSON; a job's output is kept in one place, at its first output; null for
   * one dropped since (a later event made it moot), until the next compaction removes it.
   */
  events: (string | OutputTail | null)[];
  /** Each event's number in the run (0, 1...), ascending: where a replay is after a compaction. */
  seqs: number[];
  /** The number the next event gets. */
  next: number;
  /** Compactions so far (a replay under way looks for its place again after one). */
  gen: number;
  /** Events dropped, not compacted yet. */
  holes: number;
  /** The number of each kept event that a later one may make moot, by what it stands for (`moots`). */
  moot: Map<string, number>;
  /** Each job's kept output. */
  output: Map<string, OutputTail>;
  decoders: Map<string, TextDecoder>;
}

/**
 * A job's output in one run, as the page is sent it again: the output
 * events of its last `limit` bytes (stdout and stderr together; at most
 * `KEPT_MAX` events), after a marker when older output was dropped. Consecutive events of one stream are
 * kept joined (up to `JOIN_MAX` bytes, at the first one's time), so that what
 * is kept is about `limit` bytes however small the chunks. Each kept event
 * notes the feed's epoch it began in, and is joined only within it: a
 * replay begun since (`RunFeed.replay`) sends the events of the epochs before
 * it, whose text no longer grows, and the page is sent what came after live.
 */
class OutputTail {
  /** The kept events; the last one's text may still be in `parts` (joined when the next comes). */
  private kept: { e: UiOutput; bytes: number; epoch: number }[] = [];
  private parts: string[] = [];
  private bytes = 0;
  private cut = false;

  constructor(private readonly job: string, private readonly limit: number) {}

  /** The bytes of output kept. */
  get size(): number {
    return this.bytes;
  }

  /** Drops the kept output, leaving the marker in its place; the bytes freed. */
  clear(): number {
    const first = this.kept[0], freed = this.bytes;
    if (!first || !freed) return 0;
    this.kept = [{ e: { ...first.e, text: CUT_MARK }, bytes: 0, epoch: first.epoch }];
    this.parts = [CUT_MARK];
    this.bytes = 0;
    this.cut = false; // the marker is the kept event
    return freed;
  }

  /** Keeps `e` (`bytes` of output, in the feed's `epoch`), dropping the oldest output past the limit. */
  add(e: UiOutput, bytes: number, epoch: number): void {
    if (bytes > this.limit) {
      e = { ...e, text: tailBytes(e.text, this.limit) };
      bytes = this.limit;
      this.cut = true;
    }
    const last = this.kept[this.kept.length - 1];
    if (last?.epoch === epoch && last.e.stream === e.stream && last.bytes + bytes <= JOIN_MAX) {
      this.parts.push(e.text);
      last.bytes += bytes;
    } else {
      this.join();
      this.kept.push({ e: { ...e }, bytes, epoch });
      this.parts = [e.text];
    }
    this.bytes += bytes;
    while (this.bytes > this.limit || this.kept.length > KEPT_MAX) {
      this.bytes -= this.kept.shift()!.bytes;
      this.cut = true;
    }
  }

  /** The last kept event's text, whole (a string of many small pieces costs far more than its text). */
  private join(): void {
    const last = this.kept[this.kept.length - 1];
    if (!last || this.parts.length < 2) return;
    last.e.text = this.parts.join("");
    this.parts = [last.e.text];
  }

  /**
   * The kept output events (JSON) begun in epochs up to `upTo`, after the
   * marker when some were dropped.
   */
  events(upTo = Infinity): string[] {
    this.join();
    let n = this.kept.length;
    while (n > 0 && this.kept[n - 1].epoch > upTo) n--;
    const kept = this.kept.slice(0, n).map((k) => JSON.stringify(k.e));
    if (!this.cut || !n) return kept;
    const { t, stream, run } = this.kept[0].e;
    const mark: UiOutput = { type: "job.output", t, job: this.job, stream, text: CUT_MARK, run };
    return [JSON.stringify(mark), ...kept];
  }
}

/** Compaction of a run's events once this many were dropped, and at least half of them. */
const HOLES_MAX = 1024;

/**
 * What an event stands for on the page (`key`), and what earlier events of the run it makes moot
 * (`ends`): a module's state its earlier states (the page shows the last); a job's start its
 * earlier start and end (an attempt before, a `repeat` loop's round before: the page draws the
 * last); a job's end, skip, emit error, its earlier one; an access finding the same finding; a
 * Ctrl-Z (or its resume) the one before. Others (a run's start and end, `job.add`, a watch
 * change) are kept.
 */
function moots(e: RunEvent): { key: string; ends: string[] } | undefined {
  const one = (key: string) => ({ key, ends: [key] });
  switch (e.type) {
    case "module.state":
      return one(`module\0${e.module}`);
    case "job.start":
      return { key: `start\0${e.job}`, ends: [`start\0${e.job}`, `end\0${e.job}`] };
    case "job.end":
      return one(`end\0${e.job}`);
    case "job.skip":
      return one(`skip\0${e.job}`);
    case "emit.error":
      return one(`emit\0${e.job}`);
    case "access.finding":
      return one(JSON.stringify(["finding", e.job, e.path, e.access, e.problem, e.other]));
    case "run.suspend":
    case "run.resume":
      return one(e.type);
    case "run.start":
    case "run.end":
    case "job.output":
    case "job.add":
    case "watch.change":
    case "watch.reload":
      return undefined;
    default: {
      const _assertNever: never = e;
      return undefined;
    }
  }
}

/** The index of the first of `seqs` (ascending) past `seq`. */
function after(seqs: number[], seq: number): number {
  let lo = 0, hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (seqs[mid] <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The end of `text` that fits in `max` bytes of UTF-8 (no character cut in two). */
function tailBytes(text: string, max: number): string {
  const bytes = new TextEncoder().encode(text);
  let from = Math.max(0, bytes.length - max);
  while (from < bytes.length && (bytes[from] & 0xc0) === 0x80) from++; // not inside a character
  return new TextDecoder().decode(bytes.subarray(from));
}

/**
 * Keeps the last `keep` runs' events (as JSON) and sends each new one to the
 * subscribers.
 *
 * @example
 * ```ts
 * import { RunFeed } from "./feed.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const feed = new RunFeed(3);
 * const seen: string[] = [];
 * feed.subscribe((line) => seen.push(line));
 * feed.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
 * assertEquals(seen.length, 1);
 * ```
 */
export class RunFeed implements Reporter {
  private runs: RunLog[] = [];
  private subscribers = new Set<(json: string) => void>();
  /** The last `module.state` of each module among the dropped runs' events. */
  private dropped = new Map<string, string>();
  /** A `watch.change` opened the current run, and its `run.start` has not come yet. */
  private cycleOpen = false;
  /** Runs opened so far: the number of the current one. */
  private count = 0;
  /** Replays begun so far: the epoch new output is kept in (see `OutputTail`). */
  private epoch = 0;
  /** The bytes of output kept, in all runs. */
  private kept = 0;

  /** `keep` runs; at most `outputLimit` bytes of output kept in all (`FEED_OUTPUT_LIMIT`). */
  constructor(private keep = 5, private readonly outputLimit = FEED_OUTPUT_LIMIT) {}

  /** Receives one event (a `run.start`, or a `watch.change` and the cycle's `run.start`, opens a run). */
  event(e: RunEvent): void {
    if (e.type === "module.state" && !this.runs.length) return this.outsideRuns(e);
    const opens = e.type === "run.start" || e.type === "watch.change";
    const opened = !this.runs.length || (opens && !this.cycleOpen);
    if (opened) this.openRun();
    if (opens) this.cycleOpen = e.type === "watch.change";
    const run = this.runs[this.runs.length - 1];
    // The end of a job's process: what its decoders hold (a character its output cut short) is
    // its last output, a U+FFFD, not dropped.
    if (e.type === "job.end") this.flushDecoders(run, e.job, e.t);
    const number = opened ? { run: this.count } : {};
    const json = e.type === "job.output"
      ? this.output(run, e, number)
      : JSON.stringify({ ...e, ...number });
    if (e.type !== "job.output") this.keepEvent(run, e, json, opened);
    for (const s of this.subscribers) s(json);
  }

  /** Keeps an event (not output) in `run`, dropping the earlier ones it makes moot (`moots`). */
  private keepEvent(run: RunLog, e: RunEvent, json: string, opened: boolean): void {
    const seq = run.next++;
    // The event that opens a run carries its number: always kept.
    const m = opened ? undefined : moots(e);
    if (m) {
      for (const key of m.ends) this.unkeep(run, key);
      run.moot.set(m.key, seq);
    }
    this.push(run, json, seq);
  }

  private push(run: RunLog, e: string | OutputTail, seq: number): void {
    run.events.push(e);
    run.seqs.push(seq);
  }

  /** Drops the kept event that stands for `key`, if any; compacts the run past `HOLES_MAX`. */
  private unkeep(run: RunLog, key: string): void {
    const seq = run.moot.get(key);
    if (seq === undefined) return;
    run.moot.delete(key);
    run.events[after(run.seqs, seq) - 1] = null;
    if (++run.holes <= HOLES_MAX || run.holes * 2 <= run.events.length) return;
    const events: RunLog["events"] = [], seqs: number[] = [];
    run.events.forEach((ev, i) => {
      if (ev !== null) events.push(ev), seqs.push(run.seqs[i]);
    });
    Object.assign(run, { events, seqs, holes: 0, gen: run.gen + 1 });
  }

  /** A module's state before any run: kept as the dropped runs' are, and sent on. */
  private outsideRuns(e: Extract<RunEvent, { type: "module.state" }>): void {
    const json = JSON.stringify(e);
    this.dropped.delete(e.module);
    this.dropped.set(e.module, json);
    for (const s of this.subscribers) s(json);
  }

  /** Forgets every run (`jx watch` loaded its jobs file again: they were of the old graph). */
  restart(): void {
    this.runs = [];
    this.kept = 0;
    this.dropped.clear();
    this.cycleOpen = false;
  }

  /** Every kept event, oldest run first, after the dropped runs' last module states. */
  history(): string[] {
    return [...this.walk([...this.dropped.values()], this.runs.map((r) => [r, r.next]))];
  }

  /**
   * A page's replay: the kept events as `history` has them now, read one at a
   * time as the page takes them, from the feed itself (no copy: a job's kept
   * output is made into events when the replay comes to it). What comes
   * after this call is not in it: a page subscribed at once is sent that
   * live. A run the feed drops before the replay comes to it is left out
   * (the replay holds no run but the one it is reading).
   */
  replay(): Iterable<string> {
    const upTo = this.epoch++;
    const runs = this.runs.map((r) => [r.number, r.next] as const);
    const kept = (function* (feed: RunFeed) {
      for (const [number, length] of runs) {
        const run = feed.runs.find((r) => r.number === number);
        if (run) yield [run, length] as const;
      }
    })(this);
    return this.walk([...this.dropped.values()], kept, upTo);
  }

  /**
   * The events of `dropped`, then of each run those kept of its events numbered below `end`
   * (output up to `upTo`). A compaction meanwhile (`gen`) moves the events: the walk finds its
   * place again by number.
   */
  private *walk(
    dropped: string[],
    runs: Iterable<readonly [RunLog, number]>,
    upTo = Infinity,
  ): Generator<string> {
    yield* dropped;
    for (const [run, end] of runs) {
      let gen = run.gen, i = 0, last = -1;
      for (;;) {
        if (run.gen !== gen) [gen, i] = [run.gen, after(run.seqs, last)];
        if (i >= run.events.length || run.seqs[i] >= end) break;
        last = run.seqs[i];
        const e = run.events[i++];
        if (typeof e === "string") yield e;
        else if (e) yield* e.events(upTo);
      }
    }
  }

  /** Calls `send` with each new event until the returned function is called. */
  subscribe(send: (json: string) => void): () => void {
    this.subscribers.add(send);
    return () => this.subscribers.delete(send);
  }

  private openRun(): void {
    this.count++;
    this.runs.push({
      number: this.count,
      events: [],
      seqs: [],
      next: 0,
      gen: 0,
      holes: 0,
      moot: new Map(),
      output: new Map(),
      decoders: new Map(),
    });
    if (this.runs.length <= this.keep) return;
    const gone = this.runs.shift()!;
    for (const tail of gone.output.values()) this.kept -= tail.size;
    for (const json of gone.events) {
      if (typeof json !== "string" || !json.startsWith('{"type":"module.state"')) continue;
      const { module } = JSON.parse(json);
      this.dropped.delete(module); // re-inserted last: the replay keeps the order they changed in
      this.dropped.set(module, json);
    }
  }

  /** The output event as text (JSON), sent whole; the job's kept output keeps its tail. */
  private output(
    run: RunLog,
    e: Extract<RunEvent, { type: "job.output" }>,
    number: { run?: number },
  ): string {
    const key = `${e.job}\0${e.stream}`;
    let dec = run.decoders.get(key);
    if (!dec) run.decoders.set(key, dec = new TextDecoder());
    const text = dec.decode(e.chunk, { stream: true });
    const ui: UiOutput = {
      type: "job.output",
      t: e.t,
      job: e.job,
      stream: e.stream,
      text,
      ...number,
    };
    return this.keepOutput(run, ui, e.chunk.length);
  }

  /** Keeps `ui` (`bytes` of output) in its job's kept output; its JSON. */
  private keepOutput(run: RunLog, ui: UiOutput, bytes: number): string {
    let tail = run.output.get(ui.job);
    if (!tail) {
      tail = new OutputTail(ui.job, OUTPUT_LIMIT);
      this.push(run, tail, run.next++);
    }
    // Last in the map: the one written to last is the last whose output is dropped.
    run.output.delete(ui.job);
    run.output.set(ui.job, tail);
    const json = JSON.stringify(ui);
    const before = tail.size;
    tail.add(ui, bytes, this.epoch);
    this.kept += tail.size - before;
    if (this.kept > this.outputLimit) this.dropOutput();
    return json;
  }

  /** Past `outputLimit`: the output of the jobs written to longest ago, oldest run first, dropped. */
  private dropOutput(): void {
    for (const run of this.runs) {
      for (const tail of run.output.values()) {
        this.kept -= tail.clear();
        if (this.kept <= this.outputLimit) return;
      }
    }
  }

  /**
   * The job's process ended: each of its streams' decoders gives what it holds (the start of a
   * character that never came whole: U+FFFD), sent and kept as output; the next attempt starts
   * afresh.
   */
  private flushDecoders(run: RunLog, job: string, t: number): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const key = `${job}\0${stream}`;
      const dec = run.decoders.get(key);
      if (!dec) continue;
      run.decoders.delete(key);
      const text = dec.decode();
      if (!text) continue;
      const json = this.keepOutput(run, { type: "job.output", t, job, stream, text }, 0);
      for (const s of this.subscribers) s(json);
    }
  }
}
