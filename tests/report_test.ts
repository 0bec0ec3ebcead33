/**
 * The console reporter's stream mode on its own: lines cut across chunks,
 * two jobs interleaved, and a line longer than 64 KiB (a job that floods)
 * printed in prefixed pieces with every byte kept.
 */
import assert from "node:assert/strict";
import { ConsoleReporter } from "../lib/report/console.ts";
import { OutputBuffer } from "../lib/report/buffer.ts";
import { parseJobsFile } from "../lib/graph/mod.ts";

function streamReporter(opts: { color?: boolean; fd?: 1 | 2 | 0 } = {}) {
  const out: Uint8Array[] = [];
  const r = new ConsoleReporter({
    mode: "stream",
    color: opts.color ?? false,
    statusLine: false,
    write: (fd, text) => {
      if (fd === (opts.fd ?? 1) || opts.fd === 0) {
        out.push(typeof text === "string" ? new TextEncoder().encode(text) : text.slice());
      }
    },
  });
  r.event({ type: "run.start", t: 0, jobs: 2, slots: 2, jobserver: "none" });
  const text = () => new TextDecoder().decode(new Uint8Array(out.flatMap((b) => [...b])));
  return { r, text };
}

const enc = new TextEncoder();
const output = (job: string, s: string | Uint8Array, stream: "stdout" | "stderr" = "stdout") => ({
  type: "job.output" as const,
  t: 1,
  job,
  stream,
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
  assert.equal(text(), "[a]  a1\n[b]  b1\n[a]  a2\n[b]  b2\n");
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
  assert.ok(lines[0].startsWith("[f]  "), "the first piece is prefixed");
  const cont = lines.slice(1, -1);
  assert.ok(cont.length > 2 && cont.every((l) => l.startsWith("[f] +")), "the next ones say +");
  assert.ok(lines.at(-1)!.startsWith("[f]  "), "the line after is a new one");
  const body = lines.map((l) => l.slice(5));
  assert.equal(body.at(-1), "end");
  assert.equal(body.slice(0, -1).join(""), "x".repeat(sent) + "!", "every byte, in order");
  // Pieces of exactly 64 KiB, the last (with the "!") what is left.
  const sizes = body.slice(0, -1).map((l) => l.length);
  assert.deepEqual(sizes.slice(0, -1), sizes.slice(0, -1).map(() => 64 * 1024));
  assert.equal(sizes.at(-1), (sent + 1) % (64 * 1024));
});

Deno.test("stream output: a line just past 64 KiB is one full piece and the rest, however it comes; never an empty piece", () => {
  const P = 64 * 1024;
  const x = (n: number) => new Uint8Array(n).fill(120);
  const lines = (chunks: (string | Uint8Array)[]) => {
    const { r, text } = streamReporter();
    r.event(start("long"));
    for (const c of chunks) r.event(output("long", c));
    r.event(end("long"));
    // Each printed line as its prefix and the length of what follows: `[long]  65536`.
    return text().split("\n").slice(0, -1).map((l) => `${l.slice(0, 8)}${l.length - 8}`);
  };
  const whole = [`[long]  ${P}`, "[long] +1"];
  const cases: [string, (string | Uint8Array)[]][] = [
    ["one read", [new Uint8Array([...x(P + 1), 10])]],
    ["the newline alone last", [x(P + 1), "\n"]],
    ["a full piece, then the rest", [x(P), "x\n"]],
    ["small reads", [...Array.from({ length: 16 }, () => x(P / 16)), "x", "\n"]],
  ];
  for (const [what, chunks] of cases) assert.deepEqual(lines(chunks), whole, what);
  // Exactly 64 KiB, or two pieces' worth, ending as a piece ends: no empty continuation.
  assert.deepEqual(lines([x(P), "\n"]), [`[long]  ${P}`]);
  assert.deepEqual(lines([x(2 * P), "\n"]), [`[long]  ${P}`, `[long] +${P}`]);
  // A line that never ends: its last piece at the job's end.
  assert.deepEqual(lines([x(P + 5)]), [`[long]  ${P}`, "[long] +5"]);
});

Deno.test("stream output: a long line's pieces never split a UTF-8 character", () => {
  const { r, text } = streamReporter();
  r.event(start("u"));
  const line = "€".repeat(50_000); // 3 bytes each: 64 KiB falls inside one
  r.event(output("u", line + "\n"));
  r.event(end("u"));
  const pieces = text().split("\n").slice(0, -1).map((l) => l.slice(5));
  assert.equal(pieces.length, 3);
  assert.ok(pieces.every((p) => !p.includes("\ufffd")), "each piece decodes whole");
  assert.equal(pieces.join(""), line);
  assert.deepEqual(pieces.map((p) => new TextEncoder().encode(p).length), [
    P_EURO,
    P_EURO,
    150_000 - 2 * P_EURO,
  ]);
});

/** The bytes of a piece of a line of 3-byte characters: 64 KiB less the one that would be cut. */
const P_EURO = 64 * 1024 - 1;

Deno.test("stream output: prefixes aligned to the longest name so far, stderr marked, a colour per job", () => {
  const { r, text } = streamReporter({ fd: 0 });
  r.event(start("a"));
  r.event(start("compile"));
  r.event(output("a", "out\n"));
  r.event(output("compile", "warning\n", "stderr"));
  r.event(output("a", "err\n", "stderr"));
  r.event(output("compile", "partial"));
  r.event(end("compile"));
  assert.equal(
    text(),
    "[a]        out\n[compile]! warning\n[a]      ! err\n[compile]  partial\n",
  );
  const colored = streamReporter({ color: true, fd: 0 });
  for (const j of ["a", "b"]) colored.r.event(start(j));
  colored.r.event(output("a", "x\n"));
  colored.r.event(output("b", "y\n"));
  colored.r.event(output("b", "z\n", "stderr"));
  const lines = colored.text().split("\n");
  // deno-lint-ignore no-control-regex
  const color = (l: string) => /^\x1b\[([\d;]+)m\[/.exec(l)?.[1];
  assert.ok(color(lines[0]) && color(lines[1]) && color(lines[0]) !== color(lines[1]), lines[1]);
  assert.equal(color(lines[2]), color(lines[1]), "a job keeps its colour on stderr");
  // deno-lint-ignore no-control-regex
  assert.match(lines[2], /\x1b\[1;31m!\x1b\[0m z$/, "stderr's mark in red");
});

/** What a buffered console reporter prints on stderr for `events` (no colours). */
function stderrOf(events: Parameters<ConsoleReporter["event"]>[0][]): string {
  let err = "";
  const r = new ConsoleReporter({
    mode: "buffered",
    color: false,
    statusLine: false,
    write: (fd, text) => {
      if (fd === 2) err += typeof text === "string" ? text : new TextDecoder().decode(text);
    },
  });
  for (const e of events) r.event(e);
  return err;
}

/** The summary line of a run made of `events`, as printed (no colours). */
function summaryOf(events: Parameters<ConsoleReporter["event"]>[0][]): string {
  return stderrOf(events).trimEnd().split("\n").at(-1)!;
}

Deno.test("summary: counts that read as words, a failed module counted", () => {
  const run = { type: "run.start" as const, t: 0, jobs: 3, slots: 2, jobserver: "none" as const };
  const ok = (status: "ok" | "failed" | "interrupted") => ({
    type: "run.end" as const,
    t: 9,
    status,
    exit: status === "ok" ? 0 : status === "failed" ? 1 : 130,
    ms: 19,
  });
  const skip = (job: string, reason: "up-to-date" | "dependency-failed", because?: string) => ({
    type: "job.skip" as const,
    t: 1,
    job,
    reason,
    because,
  });
  assert.equal(summaryOf([run, end("a"), end("b"), end("c"), ok("ok")]), "jx: 3 jobs ok in 19ms");
  assert.equal(
    summaryOf([run, end("a"), skip("b", "up-to-date"), skip("c", "up-to-date"), ok("ok")]),
    "jx: 1 job ok, 2 up to date in 19ms",
  );
  assert.equal(summaryOf([run, ok("ok")]), "jx: nothing to do in 19ms");
  const failed = {
    type: "module.state" as const,
    t: 2,
    module: "api",
    state: "failed" as const,
    reason: "exit 1",
  };
  assert.equal(
    summaryOf([run, failed, skip("t", "dependency-failed", "api"), ok("failed")]),
    "jx: FAILED: 1 module failed, 1 job skipped (dependency-failed) in 19ms",
  );
  const bad = { ...end("b"), status: "failed" as const, exit: 2 };
  assert.equal(
    summaryOf([run, end("a"), bad, ok("failed")]),
    "jx: FAILED: 1 job failed, 1 ok in 19ms",
  );
  // A module that failed, was started again (jx ctl restart) and failed again is one module.
  const again = { ...failed, reason: "exit 3" };
  assert.equal(
    summaryOf([run, failed, again, ok("failed")]),
    "jx: FAILED: 1 module failed in 19ms",
  );
});

Deno.test("summary: a module that failed twice is listed once, with its last reason", () => {
  const failed = (reason: string) => ({
    type: "module.state" as const,
    t: 1,
    module: "api",
    state: "failed" as const,
    reason,
  });
  const err = stderrOf([
    { type: "run.start", t: 0, jobs: 0, slots: 1, jobserver: "none" },
    failed("exit 1"),
    failed("exit 3"),
    { type: "run.end", t: 2, status: "failed", exit: 1, ms: 2 },
  ]);
  assert.deepEqual(err.split("\n").filter((l) => l.includes("✗")), ["  ✗ module api: exit 3"]);
});

Deno.test("MemoryKeeper: past its limit it collects, then waits for the margin to fill", async () => {
  const { MemoryKeeper } = await import("../lib/report/memory.ts");
  const { collectGarbage, residentBytes } = await import("../lib/runtime/mod.ts");
  assert.ok(collectGarbage(), "Deno gives a full collection (node:v8 flag, node:vm context)");
  // Looks far apart: only the margin could make a second collection due.
  const keeper = new MemoryKeeper({
    limitBytes: 1,
    marginBytes: 1 << 30,
    every: 2,
    looksBetween: 100,
  });
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

Deno.test("MemoryKeeper: a heap that seems not to grow (Bun's) is collected again after a few looks past the limit, then ever fewer", async () => {
  const { MemoryKeeper } = await import("../lib/report/memory.ts");
  // A margin no heap fills: only the looks can make a second collection due.
  const keeper = new MemoryKeeper({
    limitBytes: 1,
    marginBytes: 1 << 40,
    every: 1,
    looksBetween: 3,
  });
  keeper.event(end("j0"));
  assert.equal(keeper.collections, 1, "over the limit: collected");
  keeper.event(end("j1"));
  keeper.event(end("j2"));
  assert.equal(keeper.collections, 1, "not at every look");
  keeper.event(end("j3"));
  assert.equal(keeper.collections, 2, "the third look past the limit since the last collection");
  // Still past the limit: twice as many looks before the next (live data alone past it).
  for (let i = 4; i < 9; i++) keeper.event(end(`j${i}`));
  assert.equal(keeper.collections, 2, "not after three looks more");
  keeper.event(end("j9"));
  assert.equal(keeper.collections, 3, "after six");
  for (let i = 10; i < 21; i++) keeper.event(end(`j${i}`));
  assert.equal(keeper.collections, 3, "then after twelve");
  keeper.event(end("j21"));
  assert.equal(keeper.collections, 4);
});

Deno.test("a jx watch cycle: no verdict line (watch has its own), a restart's cancel said plainly", () => {
  let out = "", err = "";
  const r = new ConsoleReporter({
    mode: "buffered",
    color: true,
    statusLine: false,
    cycle: true,
    write: (fd, text) => {
      const s = typeof text === "string" ? text : new TextDecoder().decode(text);
      if (fd === 1) out += s;
      else err += s;
    },
  });
  r.event({ type: "run.start", t: 0, jobs: 2, slots: 2, jobserver: "none" });
  r.event(start("a"));
  r.event(output("a", "half of it\n"));
  r.event({ ...end("a"), status: "cancelled", exit: null, signal: "SIGTERM", ms: 413 });
  r.event({ type: "run.end", t: 5, status: "interrupted", exit: 130, ms: 415 });
  assert.equal(out, "\x1b[2m── a: cancelled (413ms)\x1b[0m\n", "dim, no partial output, not red");
  assert.equal(err, "", "no ✗ line, no 'jx: interrupted'");
  // A real failure in a cycle is still listed.
  const failed = new ConsoleReporter({
    mode: "quiet",
    color: false,
    statusLine: false,
    cycle: true,
    write: (fd, text) => {
      if (fd === 2) err += typeof text === "string" ? text : new TextDecoder().decode(text);
    },
  });
  failed.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
  failed.event(start("b"));
  failed.event({ ...end("b"), status: "failed", exit: 1 });
  failed.event({ type: "run.end", t: 5, status: "failed", exit: 1, ms: 5 });
  assert.equal(err, "  ✗ b: FAILED (exit 1, 1ms)\n");
});

Deno.test("dry run: the lines go out in one write per batch, in order, before the summary", async () => {
  const writes: [number, string][] = [];
  const r = new ConsoleReporter({
    mode: "buffered",
    color: false,
    statusLine: false,
    write: (fd, text) => {
      writes.push([fd, typeof text === "string" ? text : new TextDecoder().decode(text)]);
    },
  });
  r.event({ type: "run.start", t: 0, jobs: 3000, slots: 2, jobserver: "none" });
  const names = Array.from({ length: 3000 }, (_, i) => `j${i}`);
  for (const job of names) r.event({ type: "job.skip", t: 1, job, reason: "dry-run" });
  const lines = names.map((n) => `${n}: \n`).join("");
  // One task's lines: written at its end (a microtask), not one write each.
  await Promise.resolve();
  assert.deepEqual(writes.filter(([fd]) => fd === 1).map(([, t]) => t).join(""), lines);
  assert.ok(writes.length <= 2, `${writes.length} writes for 3000 lines`);
  r.event({ type: "job.skip", t: 2, job: "last", reason: "dry-run" });
  r.event({ type: "run.end", t: 3, status: "ok", exit: 0, ms: 3 });
  const last = writes.findIndex(([, t]) => t === "last: \n");
  assert.ok(last > 0 && writes.slice(last + 1).every(([fd]) => fd === 2), "the summary after");
});

Deno.test("skips many at once: the same summary and event log lines as one event per job", async () => {
  const { EventLog } = await import("../lib/report/events.ts");
  const { skipUpToDate } = await import("../lib/scheduler/events.ts");
  type Any = import("../lib/scheduler/events.ts").Reporter;
  const dir = await Deno.makeTempDir({ prefix: "jx-test-" });
  const jobs = ["a", "b:c", 'q"uote'];
  const runOnce = async (bulk: boolean, verbose: boolean) => {
    let said = "";
    const console = new ConsoleReporter({
      mode: "buffered",
      color: false,
      statusLine: false,
      verbose,
      write: (_fd, text) =>
        said += typeof text === "string" ? text : new TextDecoder().decode(text),
    });
    const log = new EventLog(`${dir}/${bulk}${verbose}.ndjson`);
    const reporters: Any[] = [console, log];
    for (const r of reporters) {
      r.event({ type: "run.start", t: 0, jobs: 4, slots: 1, jobserver: "none" });
    }
    if (bulk) skipUpToDate(reporters, jobs, 1.23456);
    else {
      for (const job of jobs) {
        for (const r of reporters) {
          r.event({ type: "job.skip", t: 1.23456, job, reason: "up-to-date" });
        }
      }
    }
    for (const r of reporters) {
      r.event({ type: "job.start", t: 2, job: "d", pid: 1, attempt: 1 });
      r.event({
        type: "job.end",
        t: 3,
        job: "d",
        status: "ok",
        exit: 0,
        signal: null,
        ms: 1,
        attempt: 1,
      });
      r.event({ type: "run.end", t: 4, status: "ok", exit: 0, ms: 4 });
      await r.close?.();
    }
    return [
      said.replace(/in \d+ms/, ""),
      await Deno.readTextFile(`${dir}/${bulk}${verbose}.ndjson`),
    ];
  };
  for (const verbose of [false, true]) {
    assert.deepEqual(await runOnce(true, verbose), await runOnce(false, verbose));
  }
  assert.match((await runOnce(true, false))[0], /1 job ok, 3 up to date/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("indexOfByte: long spans through libc's memchr once the reactor's libc is loaded, same answers", async () => {
  const { indexOfByte } = await import("../lib/runtime/bytes.ts");
  const buf = new Uint8Array(100_000).fill(97);
  for (const at of [5000, 70_000, 99_999]) buf[at] = 10;
  const before = [
    indexOfByte(buf, 10, 0),
    indexOfByte(buf, 10, 5001),
    indexOfByte(buf, 10, 99_999),
  ];
  await import("../lib/reactor/libc.ts"); // sets memchr (Deno, FFI permitted)
  const after = [indexOfByte(buf, 10, 0), indexOfByte(buf, 10, 5001), indexOfByte(buf, 10, 99_999)];
  assert.deepEqual(before, [5000, 70_000, 99_999]);
  assert.deepEqual(after, before);
  assert.equal(indexOfByte(buf, 11, 0), -1);
  assert.equal(indexOfByte(buf.subarray(1), 10, 4000), 4999);
  // Whatever indexOf takes, indexOfByte answers alike (memchr only for a plain index and byte).
  for (const [byte, from] of [[10, -50_000], [10, 1.5], [10, NaN], [266, 0], [10, 200_000]]) {
    assert.equal(indexOfByte(buf, byte, from), buf.indexOf(byte, from), `${byte} from ${from}`);
  }
});

Deno.test("event log: a job.start is in the file at the end of its burst, not only at the next end", async () => {
  const { EventLog } = await import("../lib/report/events.ts");
  const dir = await Deno.makeTempDir();
  const path = `${dir}/ev.ndjson`;
  const log = new EventLog(path);
  log.event({ type: "job.start", t: 1, job: "a", pid: 10, attempt: 1 });
  log.event({ type: "job.start", t: 1, job: "b", pid: 11, attempt: 1 });
  assert.equal(Deno.readTextFileSync(path), "", "one write for the burst, at its end");
  await Promise.resolve();
  const lines = Deno.readTextFileSync(path).split("\n").filter((l) => l);
  assert.deepEqual(lines.map((l) => JSON.parse(l).job), ["a", "b"]);
  log.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("event log: a burst's write that fails is thrown by the next event, not out of a microtask", async () => {
  const { EventLog } = await import("../lib/report/events.ts");
  const { WriteError } = await import("../lib/runtime/errors.ts");
  const log = new EventLog("/dev/full"); // every write: ENOSPC
  log.event({ type: "job.start", t: 1, job: "a", pid: 10, attempt: 1 });
  await new Promise((ok) => setTimeout(ok, 10)); // the burst's flush has run (and failed)
  const end = { type: "job.end", t: 2, job: "a", status: "ok", exit: 0, signal: null, ms: 1 };
  assert.throws(() => log.event(end as never), WriteError);
  log.event(end as never); // thrown once: the run stops for it, the rest is not written
  log.close();
});

for (const rt of ["deno", "bun"] as const) {
  Deno.test(`[${rt}] jx run --events: a job.start line that cannot be written stops the run, one line, exit 1`, async () => {
    const { jxCommand, tempDir } = await import("./helpers.ts");
    // The first job.start line is past 512 bytes, the file size limit: its write fails (EFBIG).
    const name = "j".repeat(600);
    const dir = await tempDir({
      "jobs.yaml":
        `version: 1\njobs:\n  ${name}: { run: "sleep 0.1" }\n  after: { run: "true", needs: [${name}] }\n`,
    });
    const [cmd, args] = jxCommand(rt, ["run", "--events", "ev.ndjson"]);
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", 'trap "" XFSZ; ulimit -f 1 && exec "$@"', "sh", cmd, ...args],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.match(stderr, /^jx: write error: the event log 'ev\.ndjson': file too large$/m);
    assert.doesNotMatch(stderr, /Uncaught| {4}at /, "no stack trace");
    assert.doesNotMatch(new TextDecoder().decode(out.stdout), /── after/, "the run stopped");
    await Deno.remove(dir, { recursive: true });
  });
}

for (const rt of ["deno", "bun"] as const) {
  Deno.test(`[${rt}] jx run --events past the file size limit: the log keeps whole lines, none torn`, async () => {
    const { jxCommand, tempDir } = await import("./helpers.ts");
    // 40 jobs, each line about 170 bytes: the limit (1,024 bytes) falls inside a line.
    const jobs = Array.from(
      { length: 40 },
      (_, i) => `  job_with_a_long_name_${i}: { run: "true" }`,
    );
    const dir = await tempDir({ "jobs.yaml": `version: 1\njobs:\n${jobs.join("\n")}\n` });
    const [cmd, args] = jxCommand(rt, ["run", "-j1", "--events", "ev.ndjson"]);
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", 'trap "" XFSZ; ulimit -f 2 && exec "$@"', "sh", cmd, ...args],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.match(stderr, /^jx: write error: the event log 'ev\.ndjson': file too large$/m);
    const text = Deno.readTextFileSync(`${dir}/ev.ndjson`);
    assert.ok(text.endsWith("\n"), `the last line is whole: ${JSON.stringify(text.slice(-80))}`);
    const lines = text.split("\n").slice(0, -1);
    assert.ok(lines.length > 2, text);
    for (const line of lines) assert.equal(typeof JSON.parse(line).type, "string", line);
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("trace: a job restored from the cache (a job.end, no job.start) is a span on a cache lane", async () => {
  const { TraceWriter } = await import("../lib/report/trace.ts");
  const dir = await Deno.makeTempDir();
  const tr = new TraceWriter(`${dir}/tr.json`);
  tr.event({ type: "job.start", t: 1, job: "a", pid: 10, attempt: 1 });
  tr.event({
    type: "job.end",
    t: 5,
    job: "a",
    status: "ok",
    exit: 0,
    signal: null,
    ms: 4,
    attempt: 1,
  });
  tr.event({
    type: "job.end",
    t: 9,
    job: "gen",
    status: "ok",
    exit: 0,
    signal: null,
    ms: 2,
    attempt: 1,
    cache: "local",
    saved_ms: 300,
  });
  tr.close();
  const events: {
    name: string;
    ph: string;
    ts: number;
    dur: number;
    tid: number;
    args: { name?: string };
  }[] = JSON.parse(Deno.readTextFileSync(`${dir}/tr.json`)).traceEvents;
  const spans = events.filter((e) => e.ph === "X");
  assert.deepEqual(spans.map((e) => e.name), ["a", "gen"]);
  const gen = spans[1];
  assert.deepEqual([gen.ts, gen.dur], [7000, 2000], "from its lookup to its end");
  assert.notEqual(gen.tid, spans[0].tid, "not in a job slot's lane");
  const lane = events.find((e) => e.ph === "M" && e.name === "thread_name" && e.tid === gen.tid);
  assert.equal(lane?.args.name, "cache");
  await Deno.remove(dir, { recursive: true });
});

for (const rt of ["deno", "bun"] as const) {
  Deno.test(`[${rt}] jx run --trace past the file size limit: one line, exit 1, and no trace cut short`, async () => {
    const { jxCommand, tempDir } = await import("./helpers.ts");
    // 20 spans of about 200 bytes: the trace (written whole at the end) is past 1,024 bytes.
    const jobs = Array.from(
      { length: 20 },
      (_, i) => `  job_with_a_long_name_${i}: { run: "true" }`,
    );
    const dir = await tempDir({ "jobs.yaml": `version: 1\njobs:\n${jobs.join("\n")}\n` });
    const [cmd, args] = jxCommand(rt, ["run", "--trace", "tr.json"]);
    const out = await new Deno.Command("/bin/sh", {
      args: ["-c", 'trap "" XFSZ; ulimit -f 2 && exec "$@"', "sh", cmd, ...args],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.match(stderr, /^jx: write error: the trace 'tr\.json': file too large$/m);
    assert.equal(Deno.readTextFileSync(`${dir}/tr.json`), "", "empty, not JSON cut short");
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("buffered output of one-byte chunks is kept in a few blocks, not an array per chunk", () => {
  const b = new OutputBuffer();
  const reused = new Uint8Array(1); // the reactor reuses its read buffer
  for (let i = 0; i < 100_000; i++) {
    reused[0] = 97 + (i % 26);
    b.push(reused);
  }
  // deno-lint-ignore no-explicit-any
  const held = (b as any).chunks as Uint8Array[];
  assert.ok(held.length <= 16, `${held.length} arrays for 100,000 one-byte chunks`);
  const out: number[] = [];
  b.drain((bytes) => out.push(...bytes));
  assert.equal(out.length, 100_000);
  assert.ok(out.every((c, i) => c === 97 + (i % 26)), "every byte, in order");
});

Deno.test("summary: a module skipped because a module it needs failed is counted as a module", () => {
  const graph = parseJobsFile(
    "modules:\n  s: { run: exit 3 }\n  r: { run: sleep 9, needs: [s] }\n" +
      "jobs:\n  t: { run: echo t, needs: [r] }\n",
    "jobs.yaml",
  );
  let err = "";
  const r = new ConsoleReporter({
    mode: "buffered",
    color: false,
    statusLine: false,
    graph,
    write: (fd, text) => {
      if (fd === 2) err += typeof text === "string" ? text : new TextDecoder().decode(text);
    },
  });
  const events: Parameters<ConsoleReporter["event"]>[0][] = [
    { type: "run.start", t: 0, jobs: 1, slots: 2, jobserver: "none" },
    { type: "module.state", t: 1, module: "s", state: "failed", reason: "exit 3" },
    { type: "job.skip", t: 2, job: "r", reason: "dependency-failed", because: "s" },
    { type: "job.skip", t: 2, job: "t", reason: "dependency-failed", because: "s" },
    { type: "run.end", t: 9, status: "failed", exit: 1, ms: 19 },
  ];
  for (const e of events) r.event(e);
  const lines = err.trimEnd().split("\n");
  assert.equal(
    lines.at(-1),
    "jx: FAILED: 1 module failed, 1 job skipped (dependency-failed), " +
      "1 module skipped (dependency-failed) in 19ms",
  );
  // Both still named under the module that caused their skip.
  assert.ok(
    err.includes("skipped r: depends on s") && err.includes("skipped t: depends on s"),
    err,
  );
});

Deno.test("summary: a foreground module stopped by a ctl restart whose start failed is not also said stopped", () => {
  let err = "";
  const r = new ConsoleReporter({
    mode: "buffered",
    color: false,
    statusLine: false,
    foreground: ["srv"],
    write: (fd, text) => {
      if (fd === 2) err += typeof text === "string" ? text : new TextDecoder().decode(text);
    },
  });
  const state = (
    t: number,
    state: "starting" | "running" | "stopped" | "failed",
    reason?: string,
  ) => ({
    type: "module.state" as const,
    t,
    module: "srv",
    state,
    ...(reason ? { reason } : {}),
  });
  const events: Parameters<ConsoleReporter["event"]>[0][] = [
    { type: "run.start", t: 0, jobs: 0, slots: 2, jobserver: "none" },
    state(1, "starting"),
    state(2, "running"),
    state(3, "stopped"), // the restart's stop
    state(4, "starting"),
    state(5, "failed", "not ready after 1.00s: cmd test -f ok (last: exit 1)"),
    { type: "run.end", t: 9, status: "failed", exit: 1, ms: 19 },
  ];
  for (const e of events) r.event(e);
  // It said "jx: FAILED: 1 module failed, module srv stopped in 19ms".
  assert.equal(err.trimEnd().split("\n").at(-1), "jx: FAILED: 1 module failed in 19ms");
});
