/**
 * `jx sh` run by make, or by `jx exec` (a pool jx serves), takes a job slot of that pool for each
 * job beyond its implicit one, as `jx run` does: it ran `-j` (the number of CPUs) jobs at once
 * whatever the pool held, so `make -j2` running a script of 64 compiles ran 64 on a big machine.
 */
import assert from "node:assert/strict";
import { jxCommand, readEvents, RUNTIMES, spans, tempDir } from "../helpers.ts";

/** The most jobs of `events` that ran at once. */
function mostAtOnce(events: Awaited<ReturnType<typeof readEvents>>): number {
  const edges = [...spans(events).values()].flatMap((s) => [[s.start, 1], [s.end, -1]]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0, most = 0;
  for (const [, d] of edges) most = Math.max(most, now += d);
  return most;
}

// Jobs long enough that those started together overlap however late a loaded machine starts one.
const SCRIPT = "sleep 1\nsleep 1\nsleep 1\nsleep 1\nsleep 1\nsleep 1\n";

for (const rt of RUNTIMES) {
  Deno.test(`${rt}: jx sh under jx exec -j2 runs 2 jobs at once (the pool's), none lost`, async () => {
    const dir = await tempDir({ "s.sh": SCRIPT });
    try {
      const [cmd, jx] = jxCommand(rt, []);
      const run = async (args: string[]) => {
        const out = await new Deno.Command(cmd, {
          args: [...jx, ...args],
          cwd: dir,
          env: { NO_COLOR: "1" },
          stdin: "null",
        }).output();
        return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
      };
      // jx exec's command is another jx: `cmd jx... sh ...` under `cmd jx... exec -j2 --`.
      let r = await run([
        "exec",
        "-j2",
        "--",
        cmd,
        ...jx,
        "sh",
        "-j6",
        "--events",
        "ev.ndjson",
        "s.sh",
      ]);
      assert.equal(r.code, 0, r.stderr);
      // The -j6 gives way to the pool (as jx run's does); no token is lost (exec counts them).
      assert.equal(
        r.stderr,
        "jx: warning: -j6 ignored: using the jobserver of the make that runs jx\n",
      );
      let events = await readEvents(`${dir}/ev.ndjson`);
      const start = events.find((e) => e.type === "run.start")!;
      assert.equal(start.jobserver, "client");
      assert.equal(start.slots, 2);
      assert.equal(mostAtOnce(events), 2);
      // Without a pool: -j6.
      r = await run(["sh", "-j6", "--events", "ev.ndjson", "s.sh"]);
      assert.equal(r.code, 0, r.stderr);
      events = await readEvents(`${dir}/ev.ndjson`);
      assert.equal(events.find((e) => e.type === "run.start")!.jobserver, "none");
      assert.ok(mostAtOnce(events) > 2, "without a pool the jobs run together");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

for (const rt of RUNTIMES) {
  Deno.test(`${rt}: jx sh stopped while it waits for a token of the pool returns every token`, async () => {
    const dir = await tempDir({
      "a.sh": "sleep 4\nsleep 4\n",
      "b.sh": "sleep 4\nsleep 4\n",
    });
    try {
      const [cmd, jx] = jxCommand(rt, []);
      const sh = [cmd, ...jx, "sh"].map((w) => `'${w}'`).join(" ");
      // Under a pool of 2: a.sh takes the implicit slot and the one token; b.sh runs one job on
      // its own implicit slot and waits for a token for the other. SIGTERM to b.sh meanwhile.
      // Each step waits for the jobs' starts in the event logs (not for a time: a loaded
      // machine starts a runtime late).
      const starts = (f: string, n: number) =>
        `i=0; until [ "$(grep -c '"job.start"' ${f} 2>/dev/null)" = ${n} ] || [ $i = 600 ]; ` +
        `do i=$((i+1)); sleep 0.05; done`;
      const script = `${sh} --events a.ndjson a.sh & a=$!; ${starts("a.ndjson", 2)}
        ${sh} --events b.ndjson b.sh & b=$!; ${starts("b.ndjson", 1)}; sleep 0.3
        kill -TERM $b; wait $b; echo "b=$?"; wait $a; echo "a=$?"`;
      const out = await new Deno.Command(cmd, {
        args: [...jx, "exec", "-j2", "--", "sh", "-c", script],
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdin: "null",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      // The pool ended full (jx exec counts its tokens: a lost one is a warning); sh says how
      // b.sh ended.
      assert.equal(new TextDecoder().decode(out.stderr).replace("Terminated\n", ""), "");
      assert.equal(out.code, 0);
      assert.equal(stdout, "b=143\na=0\n");
      const a = await readEvents(`${dir}/a.ndjson`), b = await readEvents(`${dir}/b.ndjson`);
      assert.equal(mostAtOnce(a), 2);
      assert.equal(b.filter((e) => e.type === "job.start").length, 1, "b.sh waited for a token");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
