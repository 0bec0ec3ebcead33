/**
 * The status line on its own: its text from events at given times (elapsed
 * time, the estimate from past durations and what it does not know), and
 * the console reporter's redraws driven by a fake clock: on a job's start,
 * on the clock's ticks while the run lasts, and no timer once it has ended
 * or when there is no status line.
 */
import assert from "node:assert/strict";
import { ConsoleReporter } from "../lib/report/console.ts";
import { elapsed, StatusBoard, type StatusClock } from "../lib/report/status.ts";

Deno.test("elapsed: tenths below 10s, seconds below a minute, then minutes", () => {
  assert.equal(elapsed(0), "0.0s");
  assert.equal(elapsed(4230), "4.2s");
  assert.equal(elapsed(42_900), "42s");
  assert.equal(elapsed(62_000), "1m02s");
});

Deno.test("status text: counts, elapsed, running jobs; an estimate only from what is known", () => {
  const plain = new StatusBoard();
  plain.begin(2, 2);
  assert.equal(plain.text(100), "[0/2]  0.1s", "nothing running yet: no empty list");
  plain.start("a", 0);
  plain.start("b", 5);
  assert.equal(plain.text(1200), "[0/2]  1.2s  running: a, b");
  plain.end("a");
  assert.equal(plain.text(1300), "[1/2]  1.3s  running: b");
  plain.end("b");
  assert.equal(plain.text(1400), "[2/2]  1.4s", "nothing running any more");

  // a took 10s, b 4s, c 6s last time; 2 slots.
  const past = new Map([["a", 10_000], ["b", 4000], ["c", 6000]]);
  const b = new StatusBoard(past);
  b.begin(3, 2);
  b.start("a", 0);
  b.start("b", 0);
  // a: 9s to go; b: 3s; c: 6s not started -> max(9, 18/2) = 9s.
  assert.equal(b.text(1000), "[0/3]  1.0s  ~9s left  running: a, b");
  b.end("b");
  b.start("c", 4000);
  // a: 6s; c: 6s to go -> max(6, 12/2) = 6s.
  assert.equal(b.text(4000), "[1/3]  4.0s  ~6s left  running: a, c");
  // Past its last time a job counts as about to end; under 2s nothing is claimed.
  assert.equal(b.text(9500), "[1/3]  9.5s  running: a, c");

  // A job never timed: the figure is a lower bound, and says how many are unknown.
  const partial = new StatusBoard(new Map([["a", 20_000]]));
  partial.begin(3, 1);
  partial.start("a", 0);
  assert.equal(partial.text(0), "[0/3]  0.0s  20s+ left (2 new)  running: a");
  partial.skip("x");
  assert.equal(partial.text(0), "[1/3]  0.0s  20s+ left (1 new)  running: a");

  // Many skipped at once (a partial run's jobs left up to date): counted, and a timed one among
  // them no longer counted as to come, whichever side the board looks from.
  for (const many of [["x", "c", ...Array.from({ length: 40 }, (_, i) => `n${i}`)], ["x", "c"]]) {
    const bulk = new StatusBoard(new Map([["a", 20_000], ["c", 30_000]]));
    bulk.begin(many.length + 1, 1);
    bulk.start("a", 0);
    bulk.skipMany(many);
    assert.equal(bulk.text(0), `[${many.length}/${many.length + 1}]  0.0s  ~20s left  running: a`);
  }
});

/** A clock whose time moves only when told; timers fire in order. */
class FakeClock implements StatusClock {
  t = 1000;
  private timers = new Map<number, { at: number; cb: () => void }>();
  private next = 1;
  now() {
    return this.t;
  }
  setTimer(ms: number, cb: () => void) {
    this.timers.set(this.next, { at: this.t + ms, cb });
    return this.next++;
  }
  clearTimer(id: number) {
    this.timers.delete(id);
  }
  get pending() {
    return this.timers.size;
  }
  advance(ms: number) {
    const until = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter(([, x]) =>
        x.at <= until
      ).sort((x, y) => x[1].at - y[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = due[1].at;
      due[1].cb();
    }
    this.t = until;
  }
}

function reporter(clock: FakeClock, statusLine = true) {
  const lines: string[] = [];
  const r = new ConsoleReporter({
    mode: "buffered",
    color: false,
    statusLine,
    clock,
    write: (fd, text) => {
      if (fd === 2 && typeof text === "string" && text.startsWith("\r\x1b[K[")) {
        lines.push(text.slice(4));
      }
    },
  });
  return { r, lines };
}

const start = (job: string, t: number) => ({
  type: "job.start" as const,
  t,
  job,
  pid: 1,
  attempt: 1,
});

Deno.test("status line: a second start in the same instant is drawn by the next tick; ticks show time", () => {
  const clock = new FakeClock();
  const { r, lines } = reporter(clock);
  r.event({ type: "run.start", t: 0, jobs: 2, slots: 2, jobserver: "none" });
  r.event(start("a", 1));
  r.event(start("b", 2));
  // The draw limit left b out of the line drawn on events...
  assert.ok(!lines.some((l) => l.includes("a, b")), lines.join("|"));
  clock.advance(100);
  // ...the clock's tick draws both, at once.
  assert.equal(lines.at(-1), "[0/2]  0.1s  running: a, b");
  clock.advance(1000);
  assert.equal(lines.at(-1), "[0/2]  1.1s  running: a, b");
  assert.equal(clock.pending, 1, "one timer at a time");
  r.event({ type: "run.end", t: 1200, status: "ok", exit: 0, ms: 1200 });
  assert.equal(clock.pending, 0, "no timer once the run has ended: nothing keeps the process up");
  const count = lines.length;
  clock.advance(1000);
  assert.equal(lines.length, count);
});

Deno.test("status line off (not a terminal): no timer, no drawing", () => {
  const clock = new FakeClock();
  const { r, lines } = reporter(clock, false);
  r.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
  r.event(start("a", 1));
  assert.equal(clock.pending, 0);
  clock.advance(500);
  assert.deepEqual(lines, []);
});

Deno.test("status line: a redraw that cannot be written (stderr gone: a terminal hung up) throws at the next event, not in the timer", () => {
  const clock = new FakeClock();
  let gone = false;
  const r = new ConsoleReporter({
    mode: "buffered",
    color: false,
    statusLine: true,
    clock,
    write: () => {
      if (gone) throw new Error("write error: stderr: input/output error");
    },
  });
  r.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
  r.event(start("a", 1));
  gone = true;
  clock.advance(100); // the tick's redraw fails: an exception there would end jx with a trace
  assert.equal(clock.pending, 0, "no more redraws");
  assert.throws(
    () =>
      r.event({
        type: "job.output",
        t: 150,
        job: "a",
        stream: "stdout",
        chunk: new TextEncoder().encode("x\n"),
      }),
    /input\/output error/,
  );
});
