/**
 * The status line under a real pseudo-terminal (`script` from util-linux):
 * both jobs that start together are shown running while they run (it is
 * redrawn on a start and on a timer, not only when a job ends), with the
 * run's elapsed time going up; the run still ends at once (the timer keeps
 * nothing alive), and off a terminal there is no status line at all.
 */
import assert from "node:assert/strict";
import { ROOT, runJx, tempDir } from "../helpers.ts";

Deno.test("status line on a terminal: every running job, elapsed time ticking", async () => {
  const dir = await tempDir({
    // Long enough that both run together, and the line is redrawn meanwhile several times, on a
    // loaded machine too.
    "jobs.yaml": "jobs:\n  a: { run: sleep 3 }\n  b: { run: sleep 3 }\n",
  });
  try {
    const out = await new Deno.Command("script", {
      args: ["-qec", `${ROOT}/bin/jx run -j2`, "/dev/null"],
      cwd: dir,
      env: { TERM: "xterm", NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, text);
    const drawn = text.split("\r\x1b[K").map((l) => l.trim());
    // At the start and the end nothing runs: the line has no `running:` then, never an empty one.
    assert.ok(drawn.every((l) => !/running:\s*$/m.test(l)), `an empty list:\n${drawn.join("\n")}`);
    const lines = drawn.filter((l) => l.startsWith("[0/2]"));
    assert.ok(
      lines.some((l) => /running: (a, b|b, a)$/.test(l)),
      `both jobs shown running:\n${lines.join("\n")}`,
    );
    // deno-lint-ignore no-regex-spaces
    const times = lines.map((l) => Number(/^\[0\/2\]  (\d+\.\d)s/.exec(l)?.[1]));
    assert.ok(times.every((t) => !isNaN(t)), lines.join("\n"));
    // Redrawn while nothing starts or ends: several times, later ones later.
    assert.ok(new Set(times).size >= 3, `ticks: ${times}`);
    assert.deepEqual(times, [...times].sort((x, y) => x - y));
    assert.match(text, /jx: 2 jobs ok in /);
    const piped = await runJx(["run"], { cwd: dir });
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(piped.stderr, /running:|\x1b/, "no status line off a terminal");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("status line: the time left, from the durations of the last run (.jx/durations.json)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  slow: { run: sleep 2.5 && touch out.txt, writes: [out.txt] }\n",
  });
  try {
    const first = await runJx(["run"], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    const kept = JSON.parse(await Deno.readTextFile(`${dir}/.jx/durations.json`));
    // About the sleep's 2.5 s: a job's time counts from its `job.start`, which a loaded host
    // may see a little after the process began (2,488 ms seen in CI).
    assert.ok(kept.slow >= 2000, JSON.stringify(kept));
    const out = await new Deno.Command("script", {
      args: ["-qec", `${ROOT}/bin/jx run --force`, "/dev/null"],
      cwd: dir,
      env: { TERM: "xterm", NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, text);
    // deno-lint-ignore no-regex-spaces
    assert.match(text, /\[0\/1\]  \d\.\ds  ~\ds left  running: slow/, "an estimate from last time");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
