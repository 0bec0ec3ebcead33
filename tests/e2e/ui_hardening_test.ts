/**
 * The page's server against clients without the token: connections are
 * bounded in number (the oldest without the token closed to make room) and
 * in the time they may take to show it, so that a flood of half-open
 * connections cannot take jx's file descriptors (a real `jx run --ui` and
 * `jx ui` under `ulimit -n 256`, on Deno and Bun); a request target that is
 * not a URL is a fixed 400; the printed address is the one bound; a Host
 * without a port means port 80; a job's kept output is its tail; an event
 * stream is bounded in what it holds and in how long it waits for a client
 * that reads nothing, and holds no copy of the kept output (a real
 * `jx run --ui`'s memory with 24 such clients).
 */
import assert from "node:assert/strict";
import { parseJobsFile } from "../../lib/graph/mod.ts";
import type { RunEvent } from "../../lib/scheduler/mod.ts";
import { graphData, RunFeed, startUi } from "../../lib/ui/mod.ts";
import { hostAllowed, originAllowed } from "../../lib/ui/security.ts";
import { jxCommand, killAndWait, RUNTIMES, tempDir } from "../helpers.ts";

const enc = new TextEncoder();

/** Opens `n` connections that send a request line and never finish the headers (no token). */
async function halfOpen(port: number, n: number): Promise<Deno.TcpConn[]> {
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < n; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await c.write(enc.encode("GET / HTTP/1.1\r\n")).catch(() => {});
    conns.push(c);
  }
  return conns;
}

/** Whether the server has closed `conn` (end of file or reset) within `ms`. */
async function closedWithin(conn: Deno.TcpConn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(4096);
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"open">((ok) => timer = setTimeout(() => ok("open"), left));
    const read = conn.read(buf).then((n) => n === null ? "closed" : "data", () => "closed");
    const r = await Promise.race([read, timeout]);
    clearTimeout(timer);
    if (r === "closed") return true;
    if (r === "open") return false; // the pending read is ended by closing the connection
  }
}

function closeAll(conns: Deno.TcpConn[]): void {
  for (const c of conns) {
    try {
      c.close();
    } catch { /* closed */ }
  }
}

/** A GET with the token, given up on after `ms`: the status, or "no answer". */
async function statusOf(url: string, ms = 5000): Promise<number | "no answer"> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(ms) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return "no answer";
  }
}

/** One raw request with exactly these lines; the status line and the body. */
async function raw(port: number, lines: string[]): Promise<{ status: string; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(enc.encode([...lines, "Connection: close", "", ""].join("\r\n")));
  let text = "";
  const buf = new Uint8Array(65536);
  for (let n; (n = await conn.read(buf)) !== null;) {
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  const [head, body = ""] = text.split("\r\n\r\n");
  return { status: head.split("\r\n")[0], body };
}

const GRAPH = graphData(parseJobsFile("jobs:\n  a: { run: 'true' }\n", "jobs.yaml"), undefined, {
  explain: false,
});

Deno.test("[deno] startUi: past its bound the oldest connection without the token is closed, one that never shows it after its time; the page's stream stays", async () => {
  // The time an untrusted connection is given (3 s) is far past how long the test looks for
  // those closed at once (1 s), on a loaded machine too (the 20 connections take a while).
  const ui = await startUi({ graph: GRAPH, limits: { max: 8, untrustedMs: 3000 } });
  const conns: Deno.TcpConn[] = [];
  try {
    // The page's event stream: it has shown the token.
    const stream = await Deno.connect({ hostname: "127.0.0.1", port: ui.port });
    conns.push(stream);
    await stream.write(enc.encode(
      `GET /api/events?token=${ui.token} HTTP/1.1\r\nHost: 127.0.0.1:${ui.port}\r\n\r\n`,
    ));
    const buf = new Uint8Array(65536);
    assert.match(new TextDecoder().decode(buf.subarray(0, (await stream.read(buf))!)), / 200 /);
    conns.push(...await halfOpen(ui.port, 20));
    // At most 8 open: 13 of the 20 were closed at once to make room, the oldest first.
    const early = await Promise.all(conns.slice(1).map((c) => closedWithin(c, 1000)));
    assert.deepEqual(early.indexOf(false), 13, `closed at once: ${early}`);
    assert.equal(early.filter((x) => x).length, 13);
    // With the token, a request gets through meanwhile.
    assert.equal(await statusOf(ui.url.replace("/?", "/api/graph?")), 200);
    // The rest never show the token: closed after their time.
    const late = await Promise.all(conns.slice(14).map((c) => closedWithin(c, 10_000)));
    assert.deepEqual(late, [true, true, true, true, true, true, true]);
    // The stream is still open: it gets the next event.
    ui.reporter.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
    const n = await stream.read(buf);
    assert.match(new TextDecoder().decode(buf.subarray(0, n!)), /"type":"run.start"/);
  } finally {
    closeAll(conns);
    await ui.close();
  }
});

/** Starts jx (`args`) under `ulimit -n LIMIT`; resolves with the process and its page's address. */
async function startUnderLimit(
  rt: "deno" | "bun" | "binary",
  dir: string,
  args: string[],
  limit: number,
) {
  const [cmd, argv] = jxCommand(rt, args);
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", `ulimit -n ${limit} && exec "$@"`, "sh", cmd, ...argv],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stream = args[0] === "ui" ? child.stdout : child.stderr;
  const other = args[0] === "ui" ? child.stderr : child.stdout;
  const reader = stream.getReader();
  let text = "";
  let m: RegExpExecArray | null = null;
  while (!(m = /jx ui: (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([\w-]+))\n/.exec(text))) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`jx ended without the ui line: ${text}`);
    text += new TextDecoder().decode(value);
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += new TextDecoder().decode(value);
    }
  })();
  const out = new Response(other).text();
  return { child, url: m[1], port: Number(m[2]), token: m[3], rest, out };
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] jx run --ui under ulimit -n 256, 400 connections that never finish their headers: the page answers, the next job runs`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `version: 1
jobs:
  wait: { run: "while [ ! -f go ]; do sleep 0.02; done" }
  after: { run: echo after-the-flood, needs: [wait] }
`,
    });
    const jx = await startUnderLimit(rt, dir, ["run", "--ui"], 256);
    const flood: Deno.TcpConn[] = [];
    try {
      flood.push(...await halfOpen(jx.port, 400));
      assert.equal(await statusOf(jx.url.replace("/?", "/api/graph?")), 200);
      await Deno.writeTextFile(`${dir}/go`, "");
      const { code } = await jx.child.status;
      const stderr = await jx.rest;
      assert.equal(code, 0, stderr);
      assert.match(await jx.out, /after-the-flood/);
    } finally {
      closeAll(flood);
      await killAndWait(jx.child);
    }
  });

  Deno.test(`[${rt}] jx ui under ulimit -n 256: answers during and after a flood of 400 connections`, async () => {
    const dir = await tempDir({ "jobs.yaml": "version: 1\njobs:\n  a: { run: 'true' }\n" });
    const jx = await startUnderLimit(rt, dir, ["ui"], 256);
    const flood: Deno.TcpConn[] = [];
    try {
      flood.push(...await halfOpen(jx.port, 400));
      assert.equal(await statusOf(jx.url), 200);
      closeAll(flood);
      assert.equal(await statusOf(jx.url), 200);
      jx.child.kill("SIGINT");
      assert.equal((await jx.child.status).code, 130, await jx.rest);
    } finally {
      closeAll(flood);
      await killAndWait(jx.child);
    }
  });

  Deno.test(`[${rt}] jx ui: a request target that is not a URL is 400 with a fixed line, token or not`, async () => {
    const dir = await tempDir({ "jobs.yaml": "version: 1\njobs:\n  a: { run: 'true' }\n" });
    const jx = await startUnderLimit(rt, dir, ["ui"], 1024);
    try {
      const host = `Host: 127.0.0.1:${jx.port}`;
      for (const target of ["//[::1", "http://[", "http://%zz/", `//[::1?token=${jx.token}`]) {
        const r = await raw(jx.port, [`GET ${target} HTTP/1.1`, host]);
        assert.match(r.status, / 400 /, target);
        assert.equal(r.body, "jx ui: bad request\n", target);
      }
      jx.child.kill("SIGINT");
      assert.equal((await jx.child.status).code, 130, await jx.rest);
    } finally {
      await killAndWait(jx.child);
    }
  });
}

Deno.test("[deno] jx ui --host localhost: the line names the address bound, which answers", async () => {
  const dir = await tempDir({ "jobs.yaml": "version: 1\njobs:\n  a: { run: 'true' }\n" });
  const [cmd, argv] = jxCommand("deno", ["ui", "--host", "localhost"]);
  const child = new Deno.Command(cmd, {
    args: argv,
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    // An IP literal (localhost's first address here), never the name: [::1] may be another's.
    const m = /^jx ui: (http:\/\/(127\.\d+\.\d+\.\d+|\[::1\]):\d+\/\?token=[\w-]+)\n$/.exec(text);
    assert.ok(m, text);
    assert.equal(await statusOf(m[1]), 200);
  } finally {
    child.kill("SIGINT");
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
});

Deno.test("ui Host check: the name decides, on any port (a port forwarded to jx ui's: ssh -L)", () => {
  const binds = ["127.0.0.1"];
  assert.equal(hostAllowed("127.0.0.1", binds), true);
  assert.equal(hostAllowed("localhost", binds), true);
  assert.equal(hostAllowed("[::1]", binds), true);
  assert.equal(hostAllowed("127.0.0.1:80", binds), true);
  assert.equal(hostAllowed("127.0.0.1:9000", binds), true);
  assert.equal(hostAllowed("localhost:9000", binds), true);
  assert.equal(hostAllowed("rebind.example", binds), false);
  assert.equal(hostAllowed("rebind.example:9000", binds), false);
  assert.equal(hostAllowed("10.0.0.5:9000", binds), false);
  // The Origin of a page on port 80 has no port either.
  assert.equal(originAllowed("http://127.0.0.1", "127.0.0.1"), true);
  assert.equal(originAllowed("http://127.0.0.1", "127.0.0.1:80"), true);
  assert.equal(originAllowed("http://127.0.0.1:8080", "127.0.0.1:80"), false);
});

Deno.test("[deno] startUi on port 80 answers a browser's Host (no port) when port 80 can be had", async (t) => {
  let ui;
  try {
    ui = await startUi({ graph: GRAPH, port: 80 });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== "EACCES" && code !== "EADDRINUSE") throw e;
    return void await t.step({
      name: `port 80 cannot be had here (${code})`,
      ignore: true,
      fn() {},
    });
  }
  try {
    const r = await raw(80, [`GET /?token=${ui.token} HTTP/1.1`, "Host: 127.0.0.1"]);
    assert.match(r.status, / 200 /);
  } finally {
    await ui.close();
  }
});

Deno.test("RunFeed: a job's kept output is its last 256 KiB, after a marker; the live page gets it all", () => {
  const feed = new RunFeed();
  let live = "";
  feed.subscribe((json) => {
    const e = JSON.parse(json);
    if (e.type === "job.output") live += e.text;
  });
  feed.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
  const out = (text: string, stream: "stdout" | "stderr" = "stdout"): RunEvent => ({
    type: "job.output",
    t: 1,
    job: "t",
    stream,
    chunk: enc.encode(text),
  });
  feed.event(out("FIRST-LINE\n"));
  for (let i = 0; i < 4000; i++) feed.event(out("a".repeat(99) + "\n"));
  feed.event(out("ERROR-AT-END\n", "stderr"));
  const kept = feed.history().map((j) => JSON.parse(j)).filter((e) => e.type === "job.output")
    .map((e) => e.text).join("");
  assert.ok(kept.startsWith("[jx ui: earlier output cut]\n"), kept.slice(0, 60));
  assert.ok(kept.endsWith("a\nERROR-AT-END\n"));
  assert.ok(!kept.includes("FIRST-LINE"));
  const bytes = enc.encode(kept.slice("[jx ui: earlier output cut]\n".length)).length;
  assert.ok(bytes <= 256 * 1024 && bytes > 255 * 1024, String(bytes));
  assert.ok(live.startsWith("FIRST-LINE\n") && live.endsWith("ERROR-AT-END\n"));

  // One chunk longer than the bound: its end is kept, no character cut in two.
  const big = new RunFeed();
  big.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
  big.event(out("é".repeat(200 * 1024) + "END\n"));
  const text = big.history().map((j) => JSON.parse(j)).filter((e) => e.type === "job.output")
    .map((e) => e.text).join("");
  assert.ok(text.startsWith("[jx ui: earlier output cut]\né"), text.slice(0, 40));
  assert.ok(text.endsWith("éEND\n"));
  assert.ok(!text.includes("\ufffd"));
  assert.ok(enc.encode(text).length <= 256 * 1024 + 40);
});

Deno.test("RunFeed: the output kept in all is bounded (64 MiB), not 256 KiB per job however many jobs; those written to longest ago lose theirs first, a marker in its place", () => {
  const feed = new RunFeed();
  let live = 0;
  feed.subscribe((json) => {
    const e = JSON.parse(json);
    if (e.type === "job.output") live += e.text.length;
  });
  feed.event({ type: "run.start", t: 0, jobs: 300, slots: 1, jobserver: "none" });
  const chunk = enc.encode("x".repeat(64 * 1024 - 1) + "\n");
  for (let j = 0; j < 300; j++) {
    for (let i = 0; i < 4; i++) {
      feed.event({ type: "job.output", t: j, job: `j${j}`, stream: "stdout", chunk });
    }
  }
  assert.equal(live, 300 * 256 * 1024); // the live page is sent it all
  const kept = new Map<string, string>();
  for (const e of feed.history().map((j) => JSON.parse(j))) {
    if (e.type === "job.output") kept.set(e.job, (kept.get(e.job) ?? "") + e.text);
  }
  const total = [...kept.values()].reduce((n, t) => n + t.length, 0);
  assert.ok(total <= 64 * 1024 * 1024 + 300 * 64, `${total} bytes kept`);
  assert.equal(kept.get("j0"), "[jx ui: earlier output cut]\n");
  assert.equal(kept.get("j299"), new TextDecoder().decode(chunk).repeat(4));
  // A job that writes again after its output was dropped: the marker, then what came.
  feed.event({
    type: "job.output",
    t: 400,
    job: "j0",
    stream: "stdout",
    chunk: enc.encode("more\n"),
  });
  const j0 = feed.history().map((j) => JSON.parse(j)).filter((e) => e.job === "j0")
    .map((e) => e.text).join("");
  assert.equal(j0, "[jx ui: earlier output cut]\nmore\n");
});

Deno.test("RunFeed: output in one-byte chunks keeps about its bytes, not an event per byte; the text and the streams' order are kept", () => {
  const feed = new RunFeed();
  feed.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
  let all = "";
  const out = (text: string, stream: "stdout" | "stderr" = "stdout") => {
    all += text;
    feed.event({ type: "job.output", t: 1, job: "dots", stream, chunk: enc.encode(text) });
  };
  const kept = () => {
    const events = feed.history().map((j) => JSON.parse(j)).filter((e) => e.type === "job.output");
    return { events, text: events.map((e) => e.text).join("") };
  };
  out("FIRST\n");
  for (let i = 0; i < 1000; i++) out(String(i % 10));
  assert.equal(kept().text, all); // asked in the middle of a joined event: nothing lost
  for (let i = 0; i < 300 * 1024; i++) out(i % 80 === 79 ? "\n" : ".");
  out("ERR\n", "stderr");
  out("x");
  out("y");
  const { events, text } = kept();
  // Without joining, about 256 K events (each ~100 bytes of JSON) would be kept for 256 KiB.
  assert.ok(events.length < 300, String(events.length));
  assert.ok(text.startsWith("[jx ui: earlier output cut]\n"), text.slice(0, 40));
  const tail = text.slice("[jx ui: earlier output cut]\n".length);
  assert.ok(tail.length <= 256 * 1024 && tail.length > 255 * 1024, String(tail.length));
  assert.equal(tail, all.slice(-tail.length));
  const last = events.slice(-2).map((e) => [e.stream, e.text]);
  assert.deepEqual(last, [["stderr", "ERR\n"], ["stdout", "xy"]]);
});

Deno.test("RunFeed: output alternating stdout and stderr a byte at a time keeps a bounded number of events, its tail in order", () => {
  const feed = new RunFeed();
  feed.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
  const chunks = [enc.encode("o"), enc.encode("e")];
  // 300 K one-byte chunks, the streams alternating: none can be joined to the one before.
  // Kept one event per byte up to 256 KiB, they cost about 100 MiB (and each event past the
  // bound moved a quarter million others: seconds of the run's time).
  const started = performance.now();
  for (let i = 0; i < 300_000; i++) {
    feed.event({
      type: "job.output",
      t: i,
      job: "pingpong",
      stream: i % 2 ? "stderr" : "stdout",
      chunk: chunks[i % 2],
    });
  }
  const ms = performance.now() - started;
  const events = feed.history().map((j) => JSON.parse(j)).filter((e) => e.type === "job.output");
  assert.ok(events.length <= 4097, `${events.length} events kept (${Math.round(ms)} ms)`);
  assert.equal(events[0].text, "[jx ui: earlier output cut]\n");
  const kept = events.slice(1);
  assert.ok(kept.length >= 4000, String(kept.length));
  // The last chunks, in order, each with its stream.
  assert.deepEqual(kept.slice(-2).map((e) => [e.stream, e.text]), [["stdout", "o"], [
    "stderr",
    "e",
  ]]);
  assert.equal(kept.map((e) => e.text).join(""), "oe".repeat(kept.length / 2));
});

/** Reads `conn` to its end (end of file or reset) within `ms`: the bytes read, or "still open". */
async function drain(conn: Deno.TcpConn, ms: number): Promise<number | "still open"> {
  let bytes = 0;
  const buf = new Uint8Array(1 << 16);
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return "still open";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"open">((ok) => timer = setTimeout(() => ok("open"), left));
    const read = conn.read(buf).then((n) => n ?? "end", () => "end" as const);
    const r = await Promise.race([read, timeout]);
    clearTimeout(timer);
    if (r === "end") return bytes;
    if (r === "open") return "still open";
    bytes += r;
  }
}

/** What the page draws of the events it was sent: each module's state, each job's last attempt. */
function pageState(events: Iterable<string>): string {
  const modules = new Map<string, string>(), jobs = new Map<string, string>();
  for (const json of events) {
    const e = JSON.parse(json);
    if (e.type === "module.state") modules.set(e.module, e.state);
    if (e.type === "job.start") jobs.set(e.job, `running since ${e.t}`);
    if (e.type === "job.end") jobs.set(e.job, `${jobs.get(e.job)}, ${e.status} at ${e.t}`);
  }
  return JSON.stringify([[...modules], [...jobs]]);
}

Deno.test("RunFeed: a long run's events are bounded: a module's earlier states and a job's earlier rounds are dropped; a replay, also one under way meanwhile, draws what the live page does", () => {
  const feed = new RunFeed();
  const live: string[] = [];
  feed.subscribe((json) => live.push(json));
  let t = 0;
  const flap = (n: number) => {
    for (let i = 0; i < n; i++) {
      for (const state of ["starting", "running", "failed"] as const) {
        feed.event({ type: "module.state", t: ++t, module: "api", state });
      }
      feed.event({ type: "job.start", t: ++t, job: "poll", pid: 1, attempt: 1 });
      feed.event({
        type: "job.end",
        t: ++t,
        job: "poll",
        status: i % 2 ? "ok" : "failed",
        exit: 0,
        signal: null,
        ms: 1,
        attempt: 1,
      });
    }
  };
  feed.event({ type: "run.start", t: 0, jobs: 2, slots: 1, jobserver: "none" });
  feed.event({ type: "job.start", t: ++t, job: "build", pid: 1, attempt: 1 });
  feed.event({ type: "module.state", t: ++t, module: "db", state: "running" });
  flap(50_000);
  const kept = feed.history();
  assert.ok(kept.length < 20, `${kept.length} events kept`);
  assert.equal(pageState(kept), pageState(live));

  // A replay begun now, read while 20,000 more rounds come (compactions meanwhile), then the
  // events sent live since it began: what the page draws is the live page's.
  const replay = feed.replay()[Symbol.iterator]();
  const got = [replay.next().value!, replay.next().value!];
  const since = live.length;
  flap(20_000);
  feed.event({
    type: "job.end",
    t: ++t,
    job: "build",
    status: "ok",
    exit: 0,
    signal: null,
    ms: 1,
    attempt: 1,
  });
  for (let r = replay.next(); !r.done; r = replay.next()) got.push(r.value);
  assert.ok(got.length < 20, `${got.length} events replayed`);
  assert.ok(got.every((j) => JSON.parse(j).t < t - 5 * 20_000), "none of those sent live");
  assert.equal(pageState([...got, ...live.slice(since)]), pageState(live));
  assert.ok(feed.history().length < 20);
});

Deno.test("[deno] startUi: an event stream whose page does not read is ended past its limit; a reading page's stays", async () => {
  const ui = await startUi({ graph: GRAPH, streamLimit: 1024 * 1024 });
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port: ui.port });
  const reading = await fetch(ui.url.replace("/?", "/api/events?"));
  const seen = reading.body!.pipeThrough(new TextDecoderStream()).getReader();
  let tail = "";
  const readAll = (async () => {
    for (let r; !tail.includes("LAST-LINE") && !(r = await seen.read()).done;) {
      tail = (tail + r.value).slice(-100);
    }
  })();
  try {
    await stalled.write(enc.encode(
      `GET /api/events?token=${ui.token} HTTP/1.1\r\nHost: 127.0.0.1:${ui.port}\r\n\r\n`,
    ));
    ui.reporter.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
    // 32 MiB of output, a read of 64 KiB at a time: the stalled page's stream may not queue it.
    const chunk = enc.encode("x".repeat(64 * 1024 - 1) + "\n");
    for (let i = 0; i < 512; i++) {
      ui.reporter.event({ type: "job.output", t: 1, job: "a", stream: "stdout", chunk });
      await new Promise((ok) => setTimeout(ok, 1));
    }
    const last = enc.encode("LAST-LINE\n");
    ui.reporter.event({ type: "job.output", t: 2, job: "a", stream: "stdout", chunk: last });
    // The stalled one was closed having been sent far less than the output (the limit, and
    // what the kernel's buffers took); the reading one got it all.
    const got = await drain(stalled, 10000);
    assert.notEqual(got, "still open");
    assert.ok((got as number) < 16 * 1024 * 1024, String(got));
    await readAll;
    assert.ok(tail.includes("LAST-LINE"));
  } finally {
    stalled.close();
    await seen.cancel().catch(() => {});
    await ui.close();
  }
});

Deno.test("[deno] startUi: an empty X-Jx-Token header is no token: the query's is taken", async () => {
  const ui = await startUi({ graph: GRAPH });
  try {
    const host = `Host: 127.0.0.1:${ui.port}`;
    const withQuery = await raw(ui.port, [
      `GET /api/graph?token=${ui.token} HTTP/1.1`,
      host,
      "X-Jx-Token: ",
    ]);
    assert.match(withQuery.status, / 200 /);
    const alone = await raw(ui.port, ["GET /api/graph HTTP/1.1", host, "X-Jx-Token: "]);
    assert.match(alone.status, / 401 /);
  } finally {
    await ui.close();
  }
});

Deno.test("[deno] startUi: a POST whose Content-Length is past the body limit is answered 413, not reset", async () => {
  const ui = await startUi({ graph: GRAPH, onControl: () => Promise.resolve({ ok: true }) });
  try {
    const res = await fetch(ui.url.replace("/?", "/api/control?"), {
      method: "POST",
      headers: { "content-type": "application/json", origin: new URL(ui.url).origin },
      body: JSON.stringify({ op: "pause", module: "m", pad: "x".repeat(200 * 1024) }),
    });
    assert.equal(res.status, 413);
    assert.match(await res.text(), /^jx ui: request body too large \(at most 65536 bytes\)\n$/);
  } finally {
    await ui.close();
  }
});

// deno-lint-ignore no-explicit-any
type Sse = any;

/**
 * Reads the server-sent events at `url` as a page would, as fast as they come: `events`, their
 * data parsed; `opened` once the response's head came; `done` when the stream ends (with the
 * error that ended it, if one did).
 */
function readEvents(url: string, bytesPerMs = Infinity) {
  const events: Sse[] = [];
  let opened!: () => void;
  const head = new Promise<void>((ok) => opened = ok);
  const done = (async () => {
    const res = await fetch(url);
    opened();
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      // A slow page (a loaded machine's): it takes what it is sent at this pace.
      if (bytesPerMs < Infinity) {
        await new Promise((ok) => setTimeout(ok, value.length / bytesPerMs));
      }
      text += value;
      for (let end; (end = text.indexOf("\n\n")) >= 0;) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        if (block.startsWith("data: ")) events.push(JSON.parse(block.slice("data: ".length)));
      }
    }
  })().then(() => undefined, (e) => {
    opened();
    return String(e);
  });
  return { events, opened: head, done };
}

/** Each job's output as `events` have it, joined. */
function outputOf(events: Sse[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of events) {
    if (e.type === "job.output") out.set(e.job, (out.get(e.job) ?? "") + e.text);
  }
  return out;
}

Deno.test("[deno] startUi: a stream whose client reads nothing is closed once it took nothing for its time, though no event passes the limit; pages that read get every event once", async () => {
  const ui = await startUi({ graph: GRAPH, streamLimit: 1024 * 1024, stallMs: 1000 });
  const url = ui.url.replace("/?", "/api/events?");
  const out = (job: string, text: string) =>
    ui.reporter.event({ type: "job.output", t: 1, job, stream: "stdout", chunk: enc.encode(text) });
  const early = readEvents(url);
  let stalled: Deno.TcpConn | undefined;
  try {
    await early.opened;
    ui.reporter.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
    // 24 MB of kept output (96 jobs of 250,000 bytes: each kept whole), far more than what the
    // kernel takes for a client that reads nothing.
    const line = "x".repeat(49_999) + "\n";
    for (let j = 0; j < 96; j++) {
      for (let k = 0; k < 5; k++) {
        out(`big${j}`, line);
        await new Promise((ok) => setTimeout(ok, 1));
      }
    }
    // Output a byte at a time (joined in what is kept), before and after the next pages connect.
    for (let i = 0; i < 100; i++) out("dots", "a");
    stalled = await Deno.connect({ hostname: "127.0.0.1", port: ui.port });
    await stalled.write(enc.encode(
      `GET /api/events?token=${ui.token} HTTP/1.1\r\nHost: 127.0.0.1:${ui.port}\r\n\r\n`,
    ));
    const late = readEvents(url);
    await late.opened;
    for (let i = 0; i < 100; i++) out("dots", "b");
    // The run goes on, a line every 50 ms for 2.5 s: far below the limit of what the stalled
    // stream may hold; it took nothing meanwhile.
    for (let i = 1; i <= 50; i++) {
      out("tick", `tick-${i}\n`);
      await new Promise((ok) => setTimeout(ok, 50));
    }
    // It was closed: reading now gets what the kernel's buffers took, then the end.
    const got = await drain(stalled, 20_000);
    assert.notEqual(got, "still open");
    assert.ok((got as number) < 20_000_000, String(got));
    ui.reporter.event({ type: "run.end", t: 3, status: "ok", exit: 0, ms: 3 });
    await ui.close();
    assert.deepEqual(await Promise.all([early.done, late.done]), [undefined, undefined]);
    // The pages that read got every event once, in order: the early one live, the late one the
    // kept runs (as they were when it connected) and then what came after, live.
    const ticks = Array.from({ length: 50 }, (_, i) => `tick-${i + 1}\n`).join("");
    for (const page of [early, late]) {
      const text = outputOf(page.events);
      assert.equal(text.size, 98);
      for (let j = 0; j < 96; j++) assert.equal(text.get(`big${j}`), line.repeat(5), `big${j}`);
      assert.equal(text.get("dots"), "a".repeat(100) + "b".repeat(100));
      assert.equal(text.get("tick"), ticks);
      assert.deepEqual(
        page.events.filter((e: Sse) => e.type !== "job.output").map((e: Sse) => e.type),
        ["run.start", "run.end"],
      );
    }
  } finally {
    stalled?.close();
    await ui.close();
  }
});

Deno.test("[deno] startUi: a page still catching up on the kept output when the server closes is sent the rest, then bye", async () => {
  const ui = await startUi({ graph: GRAPH });
  const url = ui.url.replace("/?", "/api/events?");
  try {
    ui.reporter.event({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
    // 8 MB kept (32 jobs of 250,000 bytes: each kept whole); a page that takes 2 MB a second.
    const chunk = enc.encode("x".repeat(62_500));
    for (let j = 0; j < 32; j++) {
      for (let k = 0; k < 4; k++) {
        ui.reporter.event({ type: "job.output", t: 1, job: `big${j}`, stream: "stdout", chunk });
      }
    }
    const slow = readEvents(url, 2000);
    await slow.opened;
    ui.reporter.event({ type: "run.end", t: 3, status: "ok", exit: 0, ms: 3 });
    await ui.close(); // it was cut short here: the rest of its replay and run.end dropped
    assert.equal(await slow.done, undefined);
    const text = outputOf(slow.events);
    for (let j = 0; j < 32; j++) assert.equal(text.get(`big${j}`)?.length, 250_000, `big${j}`);
    assert.equal(slow.events.at(-1).type, "run.end");
  } finally {
    await ui.close();
  }
});

/** A process's resident size, in bytes. */
async function rssOf(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/**
 * 128 jobs of 250,000 bytes of output each (32 MB kept: each whole), then one that writes a line
 * every 50 ms until a file `go` is there.
 */
function bigOutputJobs(): string {
  const big = Array.from({ length: 128 }, (_, j) => `big${j}`);
  return `version: 1\njobs:\n` +
    big.map((name) => `  ${name}:\n    run: head -c 250000 /dev/zero | tr '\\0' x\n`).join("") +
    `  tick:\n    needs: [${big.join(", ")}]\n` +
    `    run: i=0; while [ ! -f go ]; do i=$((i+1)); echo tick-$i; sleep 0.05; done; echo LAST\n`;
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] jx run --ui: 24 event streams that read nothing while the run goes on hold no copy of the kept output (jx's memory stays bounded); pages that read get every event`, async () => {
    const dir = await tempDir({ "jobs.yaml": bigOutputJobs() });
    const jx = await startUnderLimit(rt, dir, ["run", "--ui", "tick"], 1024);
    const url = jx.url.replace("/?", "/api/events?");
    const stalled: Deno.TcpConn[] = [];
    try {
      const early = readEvents(url);
      for (let i = 0; !early.events.some((e) => e.type === "job.start" && e.job === "tick"); i++) {
        assert.ok(i < 600, "tick did not start");
        await new Promise((ok) => setTimeout(ok, 50));
      }
      const before = await rssOf(jx.child.pid);
      for (let i = 0; i < 24; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: jx.port });
        stalled.push(conn);
        await conn.write(enc.encode(
          `GET /api/events?token=${jx.token} HTTP/1.1\r\nHost: 127.0.0.1:${jx.port}\r\n\r\n`,
        ));
      }
      const late = readEvents(url);
      // Its growth, in MiB, over 3 s while the run goes on.
      const grown: number[] = [];
      for (let i = 0; i < 15; i++) {
        await new Promise((ok) => setTimeout(ok, 200));
        grown.push(Math.round((await rssOf(jx.child.pid) - before) / 2 ** 20));
      }
      // A copy of the kept output for each would be some 800 MB (as it was); what each costs
      // now is what passed through jx into the kernel's buffers for it (a few MB), whatever
      // jx keeps.
      assert.ok(Math.max(...grown) < 256, `jx's resident size grew by ${grown.join(", ")} MiB`);
      await Deno.writeTextFile(`${dir}/go`, "");
      assert.equal((await jx.child.status).code, 0, await jx.rest);
      assert.deepEqual(await Promise.all([early.done, late.done]), [undefined, undefined]);
      for (const page of [early, late]) {
        const text = outputOf(page.events);
        for (let j = 0; j < 128; j++) assert.equal(text.get(`big${j}`), "x".repeat(250_000));
        const ticks = text.get("tick")!.split("\n");
        assert.deepEqual(ticks.slice(-2), ["LAST", ""]);
        assert.deepEqual(ticks.slice(0, -2), ticks.slice(0, -2).map((_, i) => `tick-${i + 1}`));
        assert.ok(ticks.length > 20, String(ticks.length));
        assert.equal(page.events.at(-1).type, "run.end");
      }
    } finally {
      closeAll(stalled);
      await killAndWait(jx.child);
    }
  });
}
