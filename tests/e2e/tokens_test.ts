/**
 * A job whose `tokens` can never fit in the job slots fails with a message
 * instead of waiting forever (issue #18 item 20), wherever it enters the
 * plan: a job of `jx run`'s file (exit 2 before anything runs), a job an
 * `emits: jobs` job emits during `jx run`, a job of a `jx watch` cycle.
 * A job of several tokens in a jobserver pool never sits on part of them
 * while other clients of the pool wait (jx's own jobs wait for it), and
 * tokens that jobs which ended never gave back are put back. Runs that
 * would hang run under `timeout` (exit 124).
 */
import assert from "node:assert/strict";
import { readEvents, ROOT, runJx, tempDir } from "../helpers.ts";
import { MAKE_TROUBLE, maxConcurrency, recordingJobs } from "./jobserver_helpers.ts";
import { Session } from "./watch_helpers.ts";

const JX = `${ROOT}/bin/jx`;

Deno.test("tokens: jx run -j2 with a job of tokens 3 in the file is bad input (exit 2)", async () => {
  const dir = await tempDir({ "jobs.yaml": "jobs:\n  big: { run: 'true', tokens: 3 }\n" });
  const r = await runJx(["run", "-j2"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^.*jobs\.yaml:2:\d+: jobs\.big\.tokens: needs 3 job slots but -j is 2\n$/,
  );
});

Deno.test("tokens: jx run -j2, an emitted job of tokens 3 fails and the run ends (exit 1)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:
  gen:
    emits: jobs
    run: echo '{"name":"big","run":"true","tokens":3}'
  after: { run: 'true', needs: [gen] }
`,
  });
  const r = await runJx(["run", "-j2", "--events", "ev.ndjson"], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  const big = ev.find((e) => e.type === "job.end" && e.job === "big");
  assert.equal(big?.status, "failed");
  assert.equal(big?.error, "needs 3 job slots but -j is 2");
  assert.match(r.stdout + r.stderr, /needs 3 job slots but -j is 2/);
});

Deno.test("tokens: jx watch -j2, a job of tokens 3 fails in the cycle instead of stalling", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  big: { run: 'true', tokens: 3 }\n  small: { run: 'true' }\n",
  });
  const s = new Session("deno", dir, { args: ["-j2", "-k"] });
  try {
    const ev = await s.cycles(1);
    const end = ev.find((e) => e.type === "job.end" && e.job === "big");
    assert.equal(end?.status, "failed");
    assert.equal(end?.error, "needs 3 job slots but -j is 2");
    assert.equal(ev.find((e) => e.type === "job.end" && e.job === "small")?.status, "ok");
    assert.equal(ev.find((e) => e.type === "run.end")?.status, "failed");
  } finally {
    await s.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

/** jx (or make) under `timeout SECS`: exit 124 when it still ran then (it hung). */
async function bounded(
  argv: string[],
  cwd: string,
  secs = 30,
): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command("timeout", {
    args: [String(secs), ...argv],
    cwd,
    env: { NO_COLOR: "1", MAKEFLAGS: "" },
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, text: d.decode(out.stdout) + d.decode(out.stderr) };
}

Deno.test("tokens: a job of tokens 4 gives back what it read while a nested jx of the pool needs 2 (no hang)", async () => {
  // `big` finds 3 of its 4 slots (y holds one) and waits; the jx inside y needs 2.
  const dir = await tempDir({
    "jobs.yaml": `jobs:
  y: { run: "sleep 1; ${JX} run -f inner/jobs.yaml" }
  big: { run: "echo big ran", tokens: 4 }
`,
    "inner/jobs.yaml": "jobs:\n  mid: { run: 'echo mid ran', tokens: 2 }\n",
  });
  const r = await bounded([JX, "run", "-j4"], dir);
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /big ran/);
  assert.match(r.text, /mid ran/);
  assert.doesNotMatch(r.text, /warning/);
});

Deno.test("tokens: make -j4 running two jx that need 4 and 2 tokens (no hang, make's check silent)", async () => {
  const dir = await tempDir({
    // Two directories: one jx run at a time per directory.
    "Makefile":
      `.PHONY: all a b\nall: a b\na:\n\t+@cd a && ${JX} run\nb:\n\t+@sleep 1; cd b && ${JX} run\n`,
    "a/jobs.yaml": "jobs:\n  big: { run: 'echo big ran', tokens: 4 }\n",
    "b/jobs.yaml": "jobs:\n  mid: { run: 'echo mid ran', tokens: 2 }\n",
  });
  const r = await bounded(["make", "-j4"], dir);
  assert.equal(r.code, 0, r.text);
  assert.match(r.text, /big ran/);
  assert.match(r.text, /mid ran/);
  assert.doesNotMatch(r.text, MAKE_TROUBLE);
});

Deno.test("tokens: once a job of tokens 3 waits for the pool, jx starts none of its smaller jobs before it", async () => {
  const small = [0, 1, 2, 3].map((i) => `  s${i}: { run: sleep 0.2 }`).join("\n");
  const dir = await tempDir({
    "jobs.yaml": `jobs:\n  a: { run: sleep 0.5 }\n  big: { run: 'true', tokens: 3 }\n${small}\n`,
  });
  const r = await bounded([JX, "run", "-j3", "--events", "ev.ndjson"], dir);
  assert.equal(r.code, 0, r.text);
  // Without the hold-back the small jobs took the tokens big had read and started at once.
  const starts = (await readEvents(`${dir}/ev.ndjson`)).filter((e) => e.type === "job.start")
    .map((e) => e.job);
  for (const s of ["s0", "s1", "s2", "s3"]) {
    assert.ok(starts.indexOf("big") < starts.indexOf(s), starts.join(" "));
  }
});

Deno.test("tokens: tokens a job took and never gave back (killed by its timeout) are put back for a later job of tokens 4", async () => {
  const take2 = `r=$(echo "$MAKEFLAGS" | sed "s/.*auth=\\([0-9]*\\),.*/\\1/"); ` +
    "head -c2 /proc/self/fd/$r > /dev/null; sleep 30";
  const dir = await tempDir({
    "jobs.yaml": `jobs:
  thief: { run: '${take2}', timeout: 1s }
  delay: { run: sleep 2 }
  big: { run: 'echo big ran', tokens: 4, needs: [delay] }
`,
  });
  const r = await bounded([JX, "run", "-j4", "-k", "--events", "ev.ndjson"], dir);
  assert.equal(r.code, 1, r.text);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  const status = (job: string) => ev.find((e) => e.type === "job.end" && e.job === job)?.status;
  assert.equal(status("thief"), "timeout");
  assert.equal(status("big"), "ok");
  assert.match(
    r.text,
    /jx: warning: jobserver: 2 token\(s\) were not returned by jobs that ended; jx put them back in the pool\n/,
  );
  assert.doesNotMatch(r.text, /pool of 4 ended/, "the pool is whole at the end");
});

Deno.test("tokens: tokens a job that ended kept are put back for later jobs of one token too (-j3 runs them 3 at a time)", async () => {
  // thief reads both tokens of the -j3 pool and ends (exit 0) without writing them back.
  const take2 = `r=$(echo "$MAKEFLAGS" | sed "s/.*auth=\\([0-9]*\\),.*/\\1/"); ` +
    "dd bs=1 count=2 if=/proc/self/fd/$r of=/dev/null 2>/dev/null";
  const dir = await tempDir({
    "jobs.yaml": `jobs:
  thief: { run: '${take2}' }
${recordingJobs("b", 3, 1).slice(1).map((l) => `${l.slice(0, -2)}, needs: [thief] }`).join("\n")}
`,
  });
  const r = await bounded([JX, "run", "-j3"], dir);
  assert.equal(r.code, 0, r.text);
  // Without the fix the pool stayed 2 tokens short: b0, b1 and b2 ran one at a time.
  assert.deepEqual(await maxConcurrency(`${dir}/log`), { max: 3, count: 3 });
  assert.match(r.text, /2 token\(s\) were not returned by jobs that ended; jx put them back/);
  assert.doesNotMatch(r.text, /pool of 3 ended/, "the pool is whole at the end");
});

Deno.test("tokens: tokens a job wrote to the pool and never took are taken out (-j2 never runs more than 2)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:
  gift: { run: 'printf +++ > "\${MAKEFLAGS##*fifo:}"', jobserver: fifo }
${recordingJobs("b", 4, 1).slice(1).map((l) => `${l.slice(0, -2)}, needs: [gift] }`).join("\n")}
`,
  });
  const r = await bounded([JX, "run", "-j2"], dir);
  assert.equal(r.code, 0, r.text);
  // Without the fix the pool held 4 tokens: b0..b3 ran at once.
  assert.deepEqual(await maxConcurrency(`${dir}/log`), { max: 2, count: 4 });
  assert.match(
    r.text,
    /jobserver: jobs wrote 3 token\(s\) they never took; jx took them out of the pool/,
  );
  assert.doesNotMatch(r.text, /more than they took/, "the pool is whole at the end");
});

Deno.test("tokens: a module's make holding tokens: a job of tokens 4 waits for them (said once), never over the pool", async () => {
  const dir = await tempDir({
    "jobs.yaml": `modules:
  m:
    run: |
      f=$(echo "$MAKEFLAGS" | sed "s/.*auth=fifo:\\([^ ]*\\).*/\\1/")
      head -c2 "$f" > /dev/null; touch got
      trap 'printf ++ > "$f"; exit 0' TERM; sleep 300 & wait
    ready: { cmd: test -e got }
jobs:
  big: { run: 'echo big ran', tokens: 4, needs: [m] }
`,
  });
  const r = await bounded(
    [JX, "run", "-j4", "--jobserver-style", "fifo", "--events", "ev.ndjson"],
    dir,
    4,
  );
  assert.equal(r.code, 124, r.text);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  assert.equal(ev.find((e) => e.type === "job.start" && e.job === "big"), undefined);
  assert.doesNotMatch(r.text, /put them back/);
  assert.match(r.text, /jobserver: a job waits for 4 slots; 2 token\(s\) are out of the pool/);
});
