/**
 * `jx watch` on real files: each editor save pattern causes exactly one
 * rerun of exactly the affected jobs, jx never triggers itself, a restarted
 * long job leaves no orphan, polling works, Ctrl-C ends it cleanly. The rerun
 * sets come from the event log.
 */
import assert from "node:assert/strict";
import { jxCommand, type LoggedEvent, readEvents, tempDir } from "../helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

class Session {
  private child: Deno.ChildProcess;
  constructor(private dir: string, args: string[] = []) {
    const [cmd, argv] = jxCommand("deno", [
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
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    })
      .spawn();
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
  async stop(signal: Deno.Signal = "SIGINT") {
    this.child.kill(signal);
    const out = await this.child.output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
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
  "truncate then write": async (p) => {
    const f = await Deno.open(p, { write: true, truncate: true });
    await f.write(new TextEncoder().encode("trunc"));
    await sleep(20);
    await f.write(new TextEncoder().encode("ated\n"));
    f.close();
  },
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

Deno.test("watch: each save pattern reruns exactly the affected jobs, once", async () => {
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
    assert.equal(await Deno.readTextFile(`${dir}/out/ab`), "RECREATED\nb\n");
  } finally {
    const s = await w.stop();
    assert.equal(s.code, 130, s.stderr);
  }
});

Deno.test("watch: jx never triggers itself with what its jobs write", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  gen: { run: "cp seed.txt src/gen.txt", reads: [seed.txt], writes: [src/gen.txt] }
  use: { run: "cat src/*.txt > all.txt", reads: ["src/*.txt"], writes: [all.txt] }
`,
    "seed.txt": "1\n",
    "src/a.txt": "a\n",
  });
  const w = new Session(dir);
  try {
    await w.cycles(1);
    await Deno.writeTextFile(`${dir}/seed.txt`, "2\n");
    await w.cycles(2);
    assert.deepEqual(await w.ranIn(1), ["gen", "use"]);
    await sleep(500);
    assert.equal(
      (await w.events()).filter((e) => e.type === "run.start").length,
      2,
      "no self-triggered cycle",
    );
    await Deno.writeTextFile(`${dir}/src/a.txt`, "changed\n");
    await w.cycles(3);
    assert.deepEqual(await w.ranIn(2), ["use"]);
  } finally {
    await w.stop();
  }
});

Deno.test("watch: a change restarts a long job; the old process group is gone", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  server:
    run: "sleep 30 & echo $! > pid.txt; wait"
    reads: [config.txt]
    grace: 2s
`,
    "config.txt": "1\n",
  });
  const w = new Session(dir);
  try {
    let first = 0;
    for (let i = 0; i < 400 && !first; i++, await sleep(25)) {
      first = Number((await Deno.readTextFile(`${dir}/pid.txt`).catch(() => "")).trim());
    }
    assert.ok(first > 0 && alive(first));
    await Deno.remove(`${dir}/pid.txt`);
    await Deno.writeTextFile(`${dir}/config.txt`, "2\n");
    let second = 0;
    for (let i = 0; i < 400 && !second; i++, await sleep(25)) {
      second = Number((await Deno.readTextFile(`${dir}/pid.txt`).catch(() => "")).trim());
    }
    assert.ok(second > 0 && second !== first, "restarted");
    assert.equal(alive(first), false, "the old job's grandchild was stopped");
    const ends = (await w.events()).filter((e) => e.type === "job.end");
    assert.equal(ends[0].status, "cancelled");
    const s = await w.stop();
    assert.equal(s.code, 130);
    assert.equal(alive(second), false, "Ctrl-C stops the running job's group");
  } finally {
    await w.stop().catch(() => {});
  }
});

Deno.test("watch --poll: a change is found by scanning", async () => {
  const dir = await tempDir({
    "jobs.yaml": JOBS,
    "src/a.txt": "a\n",
    "src/b.txt": "B\n",
    "out/.keep": "",
  });
  const w = new Session(dir, ["--poll"]);
  try {
    await w.cycles(1);
    await sleep(50);
    await Deno.writeTextFile(`${dir}/src/b.txt`, "Bee\n");
    await w.cycles(2);
    assert.deepEqual(await w.ranIn(1), ["both", "lower"]);
  } finally {
    await w.stop("SIGTERM").then((s) => assert.equal(s.code, 143));
  }
});
