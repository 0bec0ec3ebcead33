/**
 * `jx watch` on Bun (`bun cli.ts watch`) with inotify, through the portable
 * reactor's `watch` (an epoll set waited on in a Worker): no polling
 * fallback, each editor save pattern causes exactly one rerun of exactly
 * the affected jobs, Ctrl-C ends it. The rerun sets come from the event log.
 */
import assert from "node:assert/strict";
import { jxCommand, type LoggedEvent, readEvents, tempDir } from "../helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Session {
  private child: Deno.ChildProcess;
  constructor(private dir: string, args: string[] = []) {
    const [cmd, argv] = jxCommand("bun", [
      "watch",
      "--events",
      "ev.ndjson",
      "--output",
      "quiet",
      ...args,
    ]);
    this.child = new Deno.Command(cmd, {
      args: argv,
      cwd: dir,
      env: { MAKEFLAGS: "" },
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
  }
  async events(): Promise<LoggedEvent[]> {
    return await readEvents(`${this.dir}/ev.ndjson`).catch(() => []);
  }
  /** Waits until `n` cycles have ended; returns the events. */
  async cycles(n: number, ms = 10_000): Promise<LoggedEvent[]> {
    const until = Date.now() + ms;
    for (;;) {
      const ev = await this.events();
      if (ev.filter((e) => e.type === "run.end").length >= n) return ev;
      if (Date.now() > until) {
        throw new Error(`waited for ${n} cycles: ${JSON.stringify(ev.map((e) => e.type))}`);
      }
      await sleep(25);
    }
  }
  /** The jobs that ran in cycle `i` (0-based). */
  async ranIn(i: number): Promise<string[]> {
    const ev = await this.events();
    const starts = ev.map((e, k) => e.type === "run.start" ? k : -1).filter((k) => k >= 0);
    const part = ev.slice(starts[i], starts[i + 1] ?? ev.length);
    return part.filter((e) => e.type === "job.start").map((e) => e.job!).sort();
  }
  private stopped?: Promise<{ code: number; stderr: string }>;
  stop(signal: Deno.Signal = "SIGINT") {
    if (!this.stopped) {
      try {
        this.child.kill(signal);
      } catch { /* already gone */ }
      this.stopped = this.child.output().then((out) => ({
        code: out.code,
        stderr: new TextDecoder().decode(out.stderr),
      }));
    }
    return this.stopped;
  }
}

const JOBS = `
jobs:
  upper: { run: "tr a-z A-Z < src/a.txt > out/a", reads: [src/a.txt], writes: [out/a] }
  lower: { run: "tr A-Z a-z < src/b.txt > out/b", reads: [src/b.txt], writes: [out/b] }
  both:  { run: "cat out/a out/b > out/ab", reads: [out/a, out/b], writes: [out/ab] }
`;

const SAVES: Record<string, (path: string) => Promise<void>> = {
  "write in place": async (p) => await Deno.writeTextFile(p, "in place\n"),
  "write a temp file and rename over": async (p) => {
    await Deno.writeTextFile(p + ".tmp~", "renamed\n");
    await Deno.rename(p + ".tmp~", p);
  },
  "delete and recreate": async (p) => {
    await Deno.remove(p);
    await sleep(20);
    await Deno.writeTextFile(p, "recreated\n");
  },
};

Deno.test("watch [bun]: inotify, not polling; each save reruns exactly the affected jobs, once", async () => {
  const dir = await tempDir({
    "jobs.yaml": JOBS,
    "src/a.txt": "a\n",
    "src/b.txt": "B\n",
    "out/.keep": "",
  });
  const w = new Session(dir);
  try {
    await w.cycles(1);
    assert.deepEqual(await w.ranIn(0), ["both", "lower", "upper"]);
    let n = 1;
    for (const [name, save] of Object.entries(SAVES)) {
      await save(`${dir}/src/a.txt`);
      await w.cycles(++n);
      await sleep(400); // a second cycle would have started by now
      const ev = await w.events();
      assert.equal(
        ev.filter((e) => e.type === "run.start").length,
        n,
        `${name}: exactly one rerun`,
      );
      assert.deepEqual(await w.ranIn(n - 1), ["both", "upper"], name);
      const change = ev.filter((e) => e.type === "watch.change").at(-1)!;
      assert.deepEqual(change.paths, ["src/a.txt"], name);
    }
    await Deno.writeTextFile(`${dir}/src/b.txt`, "Bee\n");
    await w.cycles(++n);
    assert.deepEqual(await w.ranIn(n - 1), ["both", "lower"]);
    assert.equal(await Deno.readTextFile(`${dir}/out/ab`), "RECREATED\nbee\n");
  } finally {
    const s = await w.stop();
    assert.equal(s.code, 130, s.stderr);
    assert.doesNotMatch(s.stderr, /polling/, "inotify was used");
  }
});
