/**
 * The console reporter's stream mode on its own: lines cut across chunks,
 * two jobs interleaved, and a line longer than 64 KiB (a job that floods)
 * printed in prefixed pieces with every byte kept.
 */
import assert from "node:assert/strict";
import { ConsoleReporter } from "../lib/report/console.ts";

function streamReporter() {
  const out: Uint8Array[] = [];
  const r = new ConsoleReporter({
    mode: "stream",
    color: false,
    statusLine: false,
    write: (fd, text) => {
      if (fd === 1) {
        out.push(typeof text === "string" ? new TextEncoder().encode(text) : text.slice());
      }
    },
  });
  r.event({ type: "run.start", t: 0, jobs: 2, slots: 2, jobserver: "none" });
  const text = () => new TextDecoder().decode(new Uint8Array(out.flatMap((b) => [...b])));
  return { r, text };
}

const enc = new TextEncoder();
const output = (job: string, s: string | Uint8Array) => ({
  type: "job.output" as const,
  t: 1,
  job,
  stream: "stdout" as const,
  chunk: typeof s === "string" ? enc.encode(s) : s,
});
const start = (job: string) => ({ type: "job.start" as const, t: 0, job, pid: 1, attempt: 1 });
const end = (job: string) => ({
  type: "job.end" as const,
  t: 2,
  job,
  status: "ok" as const,
  exit: 0,
  signal: null,
  ms: 1,
  attempt: 1,
});

Deno.test("stream output: lines cut across chunks and two jobs interleaved stay whole", () => {
  const { r, text } = streamReporter();
  r.event(start("a"));
  r.event(start("b"));
  r.event(output("a", "a1\na"));
  r.event(output("b", "b1\nb"));
  r.event(output("a", "2\n"));
  r.event(output("b", "2"));
  r.event(end("a"));
  r.event(end("b"));
  assert.equal(text(), "[a] a1\n[b] b1\n[a] a2\n[b] b2\n");
});

Deno.test("stream output: a line past 64 KiB goes out in prefixed pieces, every byte kept", () => {
  const { r, text } = streamReporter();
  r.event(start("f"));
  // 1 MiB without a newline in 14 KiB reads, then a short line.
  const piece = new Uint8Array(14 * 1024).fill(120); // "x"
  let sent = 0;
  while (sent < 1024 * 1024) {
    r.event(output("f", piece));
    sent += piece.length;
  }
  r.event(output("f", "!\nend\n"));
  r.event(end("f"));
  const lines = text().split("\n").slice(0, -1);
  assert.ok(lines.every((l) => l.startsWith("[f] ")), "every piece is prefixed");
  const body = lines.map((l) => l.slice(4));
  assert.equal(body.at(-1), "end");
  assert.equal(body.slice(0, -1).join(""), "x".repeat(sent) + "!", "every byte, in order");
  for (const l of body.slice(0, -2)) assert.ok(l.length > 64 * 1024, `a piece of ${l.length}`);
});

Deno.test("MemoryKeeper: past its limit it collects, then waits for the margin to fill", async () => {
  const { MemoryKeeper } = await import("../lib/report/memory.ts");
  const { collectGarbage, residentBytes } = await import("../lib/runtime/mod.ts");
  assert.ok(collectGarbage(), "Deno gives a full collection (node:v8 flag, node:vm context)");
  const keeper = new MemoryKeeper({ limitBytes: 1, marginBytes: 1 << 30, every: 2 });
  keeper.event({ type: "run.start", t: 0, jobs: 6, slots: 1, jobserver: "none" });
  assert.equal(keeper.collections, 0, "run.start is not looked at (jx run collects a big graph)");
  keeper.event(end("j0"));
  assert.equal(keeper.collections, 0, "a look every 2 job ends");
  keeper.event(end("j1"));
  assert.equal(keeper.collections, 1, "over the limit: collected");
  for (let i = 2; i < 6; i++) keeper.event(end(`j${i}`));
  assert.equal(keeper.collections, 1, "then not again before the margin fills");
  const idle = new MemoryKeeper({ limitBytes: residentBytes() + (1 << 30), every: 1 });
  idle.event(end("j"));
  assert.equal(idle.collections, 0, "under the limit: nothing");
});
