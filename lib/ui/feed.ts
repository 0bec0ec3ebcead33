/**
 * The live part's source: a `Reporter` that turns a run's events into JSON
 * lines for the page (output chunks decoded to text), keeps the last few runs
 * so that a page opened late (or reloaded) sees them whole, and hands every
 * event to the open event streams. A `watch.change` opens a run (the watch
 * cycle it starts: its `run.start` then opens none); modules outlive runs,
 * so the last state of each module whose events left with a dropped run is
 * replayed first.
 *
 * @module
 */
import type { Reporter, RunEvent } from "../scheduler/mod.ts";

/** An event as the page receives it: `job.output` carries `text`, not bytes. */
export type UiEvent =
  | Exclude<RunEvent, { type: "job.output" }>
  | { type: "job.output"; t: number; job: string; stream: "stdout" | "stderr"; text: string };

/** Output kept per job and run (the tail, beyond which older text is dropped). */
const OUTPUT_LIMIT = 256 * 1024;

interface RunLog {
  events: string[];
  output: Map<string, number>;
  decoders: Map<string, TextDecoder>;
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

  constructor(private keep = 5) {}

  /** Receives one event (a `run.start`, or a `watch.change` and the cycle's `run.start`, opens a run). */
  event(e: RunEvent): void {
    if (e.type === "module.state" && !this.runs.length) return this.outsideRuns(e);
    const opens = e.type === "run.start" || e.type === "watch.change";
    if (!this.runs.length || (opens && !this.cycleOpen)) this.openRun();
    if (opens) this.cycleOpen = e.type === "watch.change";
    const run = this.runs[this.runs.length - 1];
    const ui = e.type === "job.output" ? this.outputOf(run, e) : e;
    if (!ui) return;
    const json = JSON.stringify(ui);
    run.events.push(json);
    for (const s of this.subscribers) s(json);
  }

  /** A module's state before any run: kept as the dropped runs' are, and sent on. */
  private outsideRuns(e: Extract<RunEvent, { type: "module.state" }>): void {
    const json = JSON.stringify(e);
    this.dropped.delete(e.module);
    this.dropped.set(e.module, json);
    for (const s of this.subscribers) s(json);
  }

  /** Every kept event, oldest run first, after the dropped runs' last module states. */
  history(): string[] {
    return [...this.dropped.values(), ...this.runs.flatMap((r) => r.events)];
  }

  /** Calls `send` with each new event until the returned function is called. */
  subscribe(send: (json: string) => void): () => void {
    this.subscribers.add(send);
    return () => this.subscribers.delete(send);
  }

  private openRun(): void {
    this.runs.push({ events: [], output: new Map(), decoders: new Map() });
    if (this.runs.length <= this.keep) return;
    for (const json of this.runs.shift()!.events) {
      if (!json.startsWith('{"type":"module.state"')) continue;
      const { module } = JSON.parse(json);
      this.dropped.delete(module); // re-inserted last: the replay keeps the order they changed in
      this.dropped.set(module, json);
    }
  }

  /** The output event as text, or null once the job's kept output is full. */
  private outputOf(run: RunLog, e: Extract<RunEvent, { type: "job.output" }>): UiEvent | null {
    const key = `${e.job}\0${e.stream}`;
    let dec = run.decoders.get(key);
    if (!dec) run.decoders.set(key, dec = new TextDecoder());
    const text = dec.decode(e.chunk, { stream: true });
    const used = run.output.get(e.job) ?? 0;
    if (used >= OUTPUT_LIMIT) return null;
    run.output.set(e.job, used + text.length);
    const kept = used + text.length > OUTPUT_LIMIT
      ? text.slice(0, OUTPUT_LIMIT - used) + "\n[jx ui: output cut]\n"
      : text;
    return { type: "job.output", t: e.t, job: e.job, stream: e.stream, text: kept };
  }
}
