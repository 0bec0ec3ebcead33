/**
 * The fake reactor: a virtual clock and scripted processes, so scheduler
 * tests are deterministic and take no real time.
 *
 * @module
 */
import type {
  ChildHandle,
  ExitStatus,
  ListenSignal,
  Reactor,
  SpawnRequest,
  SuspendSignal,
} from "./types.ts";

/**
 * What a scripted process does.
 *
 * @example
 * ```ts
 * import { FakeReactor } from "./fake.ts";
 * // Every child runs 50 virtual ms and prints "hi"; `flaky` fails with exit 1.
 * const r = new FakeReactor((req) => ({ ms: 50, stdout: "hi\n", code: req.argv[0] === "flaky" ? 1 : 0 }));
 * ```
 */
export interface FakeScript {
  /** How long it runs, in virtual milliseconds. */
  ms: number;
  /** Exit code when it ends by itself (default 0). */
  code?: number;
  /** Output written at start. */
  stdout?: string;
  /** Error output written at start. */
  stderr?: string;
  /** Signals it ignores (say `SIGTERM`, to test the SIGKILL escalation). */
  ignores?: string[];
  /** Makes the spawn fail with this message. */
  startError?: string;
}

/**
 * One spawn, as recorded for assertions.
 *
 * @example
 * ```ts
 * import { FakeReactor } from "./fake.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = new FakeReactor(() => ({ ms: 10 }));
 * r.spawn({ argv: ["a"], cwd: "/", env: {}, onOutput() {}, onExit() {} });
 * await r.run();
 * const { pid, argv, start, end } = r.records[0];
 * assertEquals({ pid, argv, start, end }, { pid: 1000, argv: ["a"], start: 0, end: 10 });
 * assertEquals(r.records[0].status?.code, 0);
 * ```
 */
export interface FakeRecord {
  /** The fake pid. */
  pid: number;
  /** The argv spawned. */
  argv: string[];
  /** The environment given. */
  env: Record<string, string>;
  /** Virtual start time. */
  start: number;
  /** Virtual end time, once it ended. */
  end?: number;
  /** How it ended. */
  status?: ExitStatus;
  /** Signals sent to its group, with virtual times. */
  signals: { at: number; signal: string }[];
  /** What was written to its stdin (spawned with `stdin: "pipe"`), as text, in order. */
  stdin: string[];
  /** Its stdin was closed. */
  stdinClosed?: boolean;
}

interface Event {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A deterministic reactor. `script(req)` decides what each spawned process
 * does; `run()` advances the virtual clock until nothing is left to do.
 *
 * @example
 * ```ts
 * import { FakeReactor } from "./fake.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = new FakeReactor(() => ({ ms: 100, code: 0 }));
 * const ends: unknown[] = [];
 * r.spawn({ argv: ["x"], cwd: "/", env: {}, onOutput() {}, onExit: (s) => ends.push([r.now(), s]) });
 * await r.run();
 * assertEquals(ends, [[100, { code: 0, signal: null }]]);
 * ```
 */
export class FakeReactor implements Reactor {
  readonly name = "fake";
  /** Every spawn so far. */
  readonly records: FakeRecord[] = [];
  private clock = 0;
  private seq = 0;
  private queue: Event[] = [];
  private cancelled = new Set<number>();
  private listeners = new Map<ListenSignal | SuspendSignal, Set<() => void>>();
  /** How many times jx stopped itself (`stopSelf`). */
  selfStops = 0;
  /** How long each `stopSelf` lasts on the virtual clock (everything pending is held as long). */
  stopMs = 0;
  private nextPid = 1000;

  /** A reactor whose children do what `script` returns for their spawn request. */
  constructor(private script: (req: SpawnRequest) => FakeScript) {}

  now(): number {
    return this.clock;
  }

  /** Schedules `fn` at virtual time `at`; returns its id. */
  at(at: number, fn: () => void): number {
    const seq = ++this.seq;
    this.queue.push({ at: Math.max(at, this.clock), seq, fn });
    return seq;
  }

  spawn(req: SpawnRequest): ChildHandle {
    const s = this.script(req);
    const pid = this.nextPid++;
    const rec: FakeRecord = {
      pid,
      argv: req.argv,
      env: req.env,
      start: this.clock,
      signals: [],
      stdin: [],
    };
    this.records.push(rec);
    const enc = new TextEncoder();
    let ended = false;
    let exitEvent = -1;
    const finish = (status: ExitStatus) => {
      if (ended) return;
      ended = true;
      this.cancelled.add(exitEvent);
      rec.end = this.clock;
      rec.status = status;
      req.onExit(status);
    };
    if (s.startError) {
      this.at(this.clock, () => finish({ code: null, signal: null, error: s.startError }));
      return { pid: 0, kill() {}, write() {}, closeStdin() {} };
    }
    req.onStart?.(pid);
    this.at(this.clock, () => {
      if (s.stdout) req.onOutput("stdout", enc.encode(s.stdout));
      if (s.stderr) req.onOutput("stderr", enc.encode(s.stderr));
    });
    exitEvent = this.at(this.clock + s.ms, () => finish({ code: s.code ?? 0, signal: null }));
    return {
      pid,
      kill: (signal: string) => {
        if (ended) return;
        rec.signals.push({ at: this.clock, signal });
        // Job control and ignored signals do not end it.
        if (signal === "SIGSTOP" || signal === "SIGCONT") return;
        if (signal === "SIGKILL" || !(s.ignores ?? []).includes(signal)) {
          this.at(this.clock, () => finish({ code: null, signal }));
        }
      },
      write: (data: Uint8Array | string) => {
        if (ended || rec.stdinClosed || req.stdin !== "pipe") return;
        rec.stdin.push(typeof data === "string" ? data : new TextDecoder().decode(data));
      },
      closeStdin: () => {
        if (req.stdin === "pipe") rec.stdinClosed = true;
      },
    };
  }

  setTimer(ms: number, cb: () => void): number {
    return this.at(this.clock + ms, cb);
  }

  /** Cancels a timer set by `setTimer`. */
  clearTimer(id: number): void {
    this.cancelled.add(id);
  }

  /** Listens for a signal; `signal(name)` delivers one. Returns the function that stops listening. */
  onSignal(signal: ListenSignal | SuspendSignal, cb: () => void): () => void {
    let set = this.listeners.get(signal);
    if (!set) this.listeners.set(signal, set = new Set());
    set.add(cb);
    return () => set!.delete(cb);
  }

  /** Delivers a signal to jx's listeners, as if a user pressed Ctrl-C. */
  raise(signal: ListenSignal | SuspendSignal): void {
    for (const cb of [...(this.listeners.get(signal) ?? [])]) cb();
  }

  /** Counts the stop; the clock moves on by `stopMs`, and every pending event as far. */
  stopSelf(): void {
    this.selfStops++;
    this.clock += this.stopMs;
    for (const e of this.queue) e.at += this.stopMs;
  }

  /** Runs events in time order until none is left; returns the final virtual time. */
  async run(): Promise<number> {
    for (;;) {
      // Let promise continuations of the last event settle first.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      if (!this.queue.length) return this.clock;
      let best = 0;
      for (let i = 1; i < this.queue.length; i++) {
        const a = this.queue[i], b = this.queue[best];
        if (a.at < b.at || (a.at === b.at && a.seq < b.seq)) best = i;
      }
      const [ev] = this.queue.splice(best, 1);
      if (this.cancelled.has(ev.seq)) continue;
      this.clock = ev.at;
      ev.fn();
    }
  }

  close(): void {
    this.queue = [];
  }
}
