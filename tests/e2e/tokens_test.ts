/**
 * A job whose `tokens` can never fit in the job slots fails with a message
 * instead of waiting forever (issue #18 item 20), wherever it enters the
 * plan: a job of `jx run`'s file (exit 2 before anything runs), a job an
 * `emits: jobs` job emits during `jx run`, a job of a `jx watch` cycle.
 */
import assert from "node:assert/strict";
import { readEvents, runJx, tempDir } from "../helpers.ts";
import { Session } from "./watch_helpers.ts";

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
