/**
 * The console reporter's own lines with a job name that holds control
 * characters: the name escaped in the stream prefix, the headers, the
 * summary and the status line; the job's output passed through as it came.
 */
import assert from "node:assert/strict";
import { ConsoleReporter } from "../lib/report/mod.ts";

/** Any character `escapeControls` escapes. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;

/** A console reporter whose writes are kept, as text, with their fd. */
function capture(mode: "buffered" | "stream", statusLine = false) {
  const out: string[] = [];
  const dec = new TextDecoder();
  const r = new ConsoleReporter({
    mode,
    color: false,
    statusLine,
    write: (fd, text) => out.push(`${fd}:${typeof text === "string" ? text : dec.decode(text)}`),
  });
  return { r, text: () => out.join("") };
}

const NAME = "c[x\x1b]0;t\x07]";
const SHOWN = "c[x\\e]0;t\\x07]";
const enc = new TextEncoder();

function failedRun(r: ConsoleReporter) {
  r.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
  r.event({ type: "job.start", t: 0, job: NAME, pid: 1, attempt: 1 });
  r.event({
    type: "job.output",
    t: 1,
    job: NAME,
    stream: "stdout",
    chunk: enc.encode("\x1b[1mbold\x1b[0m\n"),
  });
  r.event({
    type: "job.end",
    t: 2,
    job: NAME,
    status: "failed",
    exit: 1,
    signal: null,
    ms: 1,
    attempt: 1,
    error: "said 'no\x1b[2J'",
  });
  r.event({ type: "run.end", t: 3, status: "failed", exit: 1, ms: 3 });
}

Deno.test("console: a name's controls are escaped in jx's lines, the job's output is not", () => {
  for (const mode of ["buffered", "stream"] as const) {
    const { r, text } = capture(mode);
    failedRun(r);
    const all = text();
    // The job's own bytes, ESC included, pass through.
    assert.ok(all.includes("\x1b[1mbold\x1b[0m\n"), mode);
    // No other control character than the job's and the line ends.
    const ours = all.replace("\x1b[1mbold\x1b[0m\n", "").replaceAll("\n", "");
    assert.doesNotMatch(ours, CONTROL, `${mode}: ${JSON.stringify(ours)}`);
    assert.ok(all.includes(`✗ ${SHOWN}: FAILED (exit 1, 1ms) said 'no\\e[2J'`), mode);
    if (mode === "stream") assert.ok(all.includes(`1:[${SHOWN}]  \x1b[1mbold`), all);
    else assert.ok(all.includes(`1:── ${SHOWN}: FAILED (exit 1, 1ms)\n`), all);
  }
});

Deno.test("console: the status line shows running names with their controls escaped", () => {
  const { r, text } = capture("buffered", true);
  r.event({ type: "run.start", t: 0, jobs: 2, slots: 2, jobserver: "none" });
  // Later than the redraws' limit (20 ms), so that the start redraws it.
  r.event({ type: "job.start", t: 100, job: NAME, pid: 1, attempt: 1 });
  const status = text().split("\r\x1b[K").pop()!;
  assert.match(status, /running: /);
  assert.ok(status.endsWith(`running: ${SHOWN}`), JSON.stringify(status));
});
