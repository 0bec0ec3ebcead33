/**
 * `jx watch` keeps each cycle's job durations in `.jx/durations.json`, as
 * `jx run` does, and its status line (under a real pseudo-terminal, through
 * `script`) shows the time left from them.
 */
import assert from "node:assert/strict";
import { jxCommand, ROOT, tempDir, waitForFile } from "../helpers.ts";

Deno.test("jx watch records each cycle's durations in .jx/durations.json", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  slow: { run: sleep 0.3 && touch out.txt, writes: [out.txt] }\n",
  });
  const [cmd, argv] = jxCommand("deno", ["watch"]);
  const watch = new Deno.Command(cmd, {
    args: argv,
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    // Written when the first cycle ends, while the session goes on.
    const kept = JSON.parse(await waitForFile(`${dir}/.jx/durations.json`, 30_000));
    // Its run's duration, not a speed: measured from jx's job.start, which a loaded machine
    // may see a little after the process began (295 ms for `sleep 0.3` once).
    assert.ok(kept.slow >= 200, JSON.stringify(kept));
  } finally {
    watch.kill("SIGINT");
    await watch.status;
  }
});

Deno.test("jx watch's status line shows the time left from the last durations", async () => {
  const dir = await tempDir({
    // The job ends the watch itself (SIGINT to jx, its parent) once it has run for a while.
    "jobs.yaml":
      "jobs:\n  slow: { run: sleep 1.5 && touch out.txt && kill -INT $PPID, writes: [out.txt] }\n",
    ".jx/durations.json": '{"slow": 4000}\n',
  });
  const out = await new Deno.Command("script", {
    args: ["-qec", `${ROOT}/bin/jx watch`, "/dev/null"],
    cwd: dir,
    env: { TERM: "xterm", NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.match(text, /\[0\/1\] {2}\d\.\ds {2}~\ds left {2}running: slow/, text);
});
