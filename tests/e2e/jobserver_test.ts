/**
 * The GNU make jobserver against the real make on the machine (4.3): jx as
 * the server of the pool, jx as a client inside make, tokens never lost.
 * Concurrency is measured from timestamps the recipes write, never from
 * wall-clock speed.
 */
import assert from "node:assert/strict";
import { DENO, readEvents, ROOT, runJx, tempDir } from "../helpers.ts";

const JX = `${ROOT}/bin/jx`;
const MAKE_TROUBLE = /INTERNAL: Exiting with|jobserver unavailable|invalid --jobserver-auth/;

/** A shell line that records its start and end (ns) in `log`. */
const recorded = (name: string, secs: number) =>
  `echo "start ${name} $(date +%s%N)" >> log; sleep ${secs}; echo "end ${name} $(date +%s%N)" >> log`;

/** The same line in a Makefile recipe, where `$(` must be written `$$(`. */
const inMake = (line: string) => line.replaceAll("$(", () => "$$(");

/** The most `start`s open at once, from every `log` under the directory. */
async function maxConcurrency(...logs: string[]): Promise<{ max: number; count: number }> {
  const ev: [number, number][] = [];
  for (const path of logs) {
    const text = await Deno.readTextFile(path).catch(() => "");
    for (const line of text.split("\n").filter((l) => l)) {
      const [kind, , ns] = line.split(" ");
      ev.push([Number(BigInt(ns) / 1000n), kind === "start" ? 1 : -1]);
    }
  }
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0, max = 0;
  for (const [, d] of ev) max = Math.max(max, cur += d);
  return { max, count: ev.length / 2 };
}

async function make(args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command("make", {
    args,
    cwd,
    env: { NO_COLOR: "1", MAKEFLAGS: "", ...env },
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, text: d.decode(out.stdout) + d.decode(out.stderr) };
}

Deno.test("jobserver server: jx -j3 running three makes (6 targets each) never exceeds 3", async () => {
  const mk = `all: a b c d e f\na b c d e f:\n\t@${inMake(recorded("$@", 0.15))}\n`;
  const dir = await tempDir({
    "d1/Makefile": mk,
    "d2/Makefile": mk,
    "d3/Makefile": mk,
    "jobs.yaml": `
jobs:
  m1: { run: make -s -C d1 }
  m2: { run: make -s -C d2 }
  m3: { run: make -s -C d3 }
`,
  });
  const r = await runJx(["run", "-j3", "--events", "ev.ndjson"], { cwd: dir });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, MAKE_TROUBLE);
  assert.doesNotMatch(r.stderr, /warning/);
  const c = await maxConcurrency(`${dir}/d1/log`, `${dir}/d2/log`, `${dir}/d3/log`);
  assert.equal(c.count, 18);
  assert.ok(c.max <= 3, `at most 3 recipes at once, saw ${c.max}`);
  assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
  const start = (await readEvents(`${dir}/ev.ndjson`))[0];
  assert.equal(start.jobserver, "server");
  assert.equal(start.slots, 3);
});

Deno.test("jobserver server: MAKEFLAGS carries the pool; --jobserver-style fifo and none", async () => {
  const dir = await tempDir({ "jobs.yaml": `jobs:\n  show: { run: 'echo "[$MAKEFLAGS]"' }\n` });
  const pipe = await runJx(["run", "-j5"], { cwd: dir });
  assert.match(pipe.stdout, /\[ -j5 --jobserver-auth=\d+,\d+\]/);
  const fifo = await runJx(["run", "-j5", "--jobserver-style", "fifo"], { cwd: dir });
  const path = /--jobserver-auth=fifo:(\S+)\]/.exec(fifo.stdout)?.[1];
  assert.ok(path, fifo.stdout);
  await assert.rejects(Deno.stat(path!), "the fifo is removed at exit");
  const none = await runJx(["run", "--jobserver-style", "none"], {
    cwd: dir,
    env: { MAKEFLAGS: "" },
  });
  assert.match(none.stdout, /\[\]/);
});

Deno.test("jobserver client: make -j3 with two recipes and a + recipe running jx with 8 jobs never exceeds 3", async () => {
  const jobs = ["jobs:"];
  for (let i = 0; i < 8; i++) jobs.push(`  j${i}: { run: '${recorded(`j${i}`, 0.2)}' }`);
  const dir = await tempDir({
    "Makefile": `all: x y j\nx y:\n\t@${
      inMake(recorded("$@", 0.3))
    }\nj:\n\t+@${JX} run -f jobs.inner.yaml --output quiet --events ev.ndjson\n`,
    "jobs.inner.yaml": jobs.join("\n") + "\n",
  });
  const r = await make(["-j3"], dir);
  assert.equal(r.code, 0, r.text);
  assert.doesNotMatch(r.text, MAKE_TROUBLE);
  assert.doesNotMatch(r.text, /warning/);
  const c = await maxConcurrency(`${dir}/log`);
  assert.equal(c.count, 10);
  assert.ok(c.max <= 3, `at most 3 at once, saw ${c.max}`);
  assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
  const start = (await readEvents(`${dir}/ev.ndjson`))[0];
  assert.equal(start.jobserver, "client");
});

Deno.test("jobserver client: -j is ignored with a warning; without '+' jx says so and runs -j1", async () => {
  const dir = await tempDir({
    "Makefile":
      `all: plus noplus\nplus:\n\t+@${JX} run -j8 -f jobs.yaml --output quiet\nnoplus:\n\t@${JX} run -f jobs.yaml --output quiet\n`,
    "jobs.yaml": "jobs:\n  a: { run: 'true' }\n",
  });
  const r = await make(["-j2", "plus"], dir);
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /jx: warning: -j8 ignored: using the jobserver of the make that runs jx/);
  const n = await make(["-j2", "noplus"], dir);
  assert.equal(n.code, 0, n.text);
  assert.match(
    n.text,
    /jx: warning: jobserver unavailable .*add '\+' to the make rule that runs jx.*; using -j1/,
  );
});

Deno.test("jobserver client: MAKEFLAGS n and k reach jx (make -n runs + recipes)", async () => {
  const dir = await tempDir({
    "Makefile": `all:\n\t+@${JX} run -f jobs.yaml\n`,
    "jobs.yaml": "jobs:\n  a: { run: touch made }\n",
  });
  const r = await make(["-n", "-j2"], dir);
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /a: touch made/);
  await assert.rejects(Deno.stat(`${dir}/made`));
});

Deno.test("jobserver: a job that keeps a token is reported at the end", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  thief:
    run: 'r=$(echo "$MAKEFLAGS" | sed "s/.*auth=\\([0-9]*\\),.*/\\1/"); head -c1 /proc/self/fd/$r > /dev/null'
`,
  });
  const r = await runJx(["run", "-j4"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /jx: warning: jobserver: 1 token\(s\) were not returned by jobs/);
});

Deno.test("jobserver client: SIGINT to jx mid-run gives every token back (make's final check stays silent)", async () => {
  const jobs = ["jobs:", "  pid: { run: 'echo $PPID > jx.pid; sleep 30' }"];
  for (let i = 0; i < 4; i++) jobs.push(`  s${i}: { run: sleep 30 }`);
  const dir = await tempDir({
    "Makefile":
      `all: j other\nj:\n\t+@${JX} run -f jobs.inner.yaml --output quiet\nother:\n\t@sleep 0.2\n`,
    "jobs.inner.yaml": jobs.join("\n") + "\n",
  });
  const child = new Deno.Command("make", {
    args: ["-j4", "-k"],
    cwd: dir,
    env: { MAKEFLAGS: "" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let pid = 0;
  for (let i = 0; i < 500 && !pid; i++) {
    pid = Number((await Deno.readTextFile(`${dir}/jx.pid`).catch(() => "")).trim());
    if (!pid) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(pid > 0);
  await new Promise((r) => setTimeout(r, 300));
  Deno.kill(pid, "SIGINT");
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.match(text, /Error 130/);
  assert.doesNotMatch(text, /INTERNAL: Exiting with/);
});

Deno.test("jobserver: random graphs never run more tokens than the pool and leave it whole", async () => {
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let round = 0; round < 4; round++) {
    const j = 1 + rand(4);
    const lines = ["jobs:"];
    const n = 12 + rand(8);
    for (let i = 0; i < n; i++) {
      const tokens = 1 + rand(j);
      const needs = i > 0 && rand(3) === 0 ? `, needs: [t${rand(i)}]` : "";
      const fail = rand(8) === 0 ? "; exit 1" : "";
      lines.push(`  t${i}: { run: "sleep 0.0${1 + rand(5)}${fail}", tokens: ${tokens}${needs} }`);
    }
    const dir = await tempDir({ "jobs.yaml": lines.join("\n") + "\n" });
    const r = await runJx(["run", `-j${j}`, "-k", "--events", "ev.ndjson", "--output", "quiet"], {
      cwd: dir,
    });
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    assert.doesNotMatch(r.stderr, /jobserver/, "the pool is whole at the end");
    const ev = await readEvents(`${dir}/ev.ndjson`);
    const tokensOf = new Map(
      lines.slice(1).map((l) => [/^ {2}(t\d+)/.exec(l)![1], Number(/tokens: (\d+)/.exec(l)![1])]),
    );
    let held = 0;
    for (const e of ev) {
      if (e.type === "job.start") held += tokensOf.get(e.job!)!;
      if (e.type === "job.end" && !e.retrying) held -= tokensOf.get(e.job!)!;
      assert.ok(held <= j, `round ${round}: ${held} tokens held with -j${j}`);
    }
  }
});

Deno.test("jobserver needs FFI: deno without --allow-ffi falls back to plain slots", async () => {
  const dir = await tempDir({ "jobs.yaml": `jobs:\n  show: { run: 'echo "[$MAKEFLAGS]"' }\n` });
  const out = await new Deno.Command(DENO, {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-sys",
      `${ROOT}/cli.ts`,
      "run",
    ],
    cwd: dir,
    env: { MAKEFLAGS: "" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /\[\]/);
});
