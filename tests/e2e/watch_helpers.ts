/**
 * Shared pieces of the `jx watch` tests (watch_test.ts on Deno,
 * watch_bun_test.ts on Bun): a running `jx watch` session read through its
 * event log, a small jobs file to watch, and the ways editors save a file.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  jxCommand,
  type LoggedEvent,
  readEvents,
  type Runtime,
  sleep,
  tempDir,
} from "../helpers.ts";

/** `jx watch --events ev.ndjson --output quiet ARGS` running in `dir` on a runtime. */
export class Session {
  private child: Deno.ChildProcess;
  private stopped?: Promise<{ code: number; stderr: string }>;
  /** What it wrote to stderr so far (read as it comes: `waitForStderr`). */
  private err = "";
  private drained: Promise<void>;
  constructor(
    runtime: Runtime,
    private dir: string,
    opts: { args?: string[]; env?: Record<string, string> } = {},
  ) {
    const [cmd, argv] = jxCommand(runtime, [
      "watch",
      "--events",
      "ev.ndjson",
      "--output",
      "quiet",
      ...opts.args ?? [],
    ]);
    this.child = new Deno.Command(cmd, {
      args: argv,
      cwd: dir,
      env: opts.env,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    const dec = new TextDecoder();
    this.drained = Promise.all([
      this.child.stdout.pipeTo(new WritableStream()),
      this.child.stderr.pipeTo(
        new WritableStream({ write: (b) => void (this.err += dec.decode(b, { stream: true })) }),
      ),
    ]).then(() => void (this.err += dec.decode()));
  }
  /** What it wrote to stderr so far. */
  get stderr(): string {
    return this.err;
  }
  /**
   * Waits until its stderr matches `re` (a line said: a load that failed, a reload); throws
   * after `ms` with what it said.
   */
  async waitForStderr(re: RegExp, ms = 30_000): Promise<void> {
    const until = Date.now() + ms;
    while (!re.test(this.err)) {
      if (Date.now() > until) {
        throw new Error(`waited for stderr to match ${re}: ${JSON.stringify(this.err)}`);
      }
      await sleep(25);
    }
  }
  /** The events logged so far. */
  async events(): Promise<LoggedEvent[]> {
    return await readEvents(`${this.dir}/ev.ndjson`).catch(() => []);
  }
  /**
   * Waits until `n` cycles have ended, their `run.end` logged and their line said (jx said it
   * once it had taken in the cycle's end: the links its jobs made followed, a depfile's new
   * inputs watched; an edit made between the two could go unseen); returns the events.
   */
  async cycles(n: number, ms = 30_000): Promise<LoggedEvent[]> {
    const until = Date.now() + ms;
    for (;;) {
      const ev = await this.events();
      const said = this.err.match(/^jx watch: .* -> .*$/gm)?.length ?? 0;
      if (ev.filter((e) => e.type === "run.end").length >= n && said >= n) return ev;
      if (Date.now() > until) {
        throw new Error(
          `waited for ${n} cycles: ${JSON.stringify(ev.map((e) => e.type))}; stderr: ${
            JSON.stringify(this.err)
          }`,
        );
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
  /** Sends `signal` without waiting for the end (a first Ctrl-C before a second one). */
  signal(signal: Deno.Signal): void {
    this.child.kill(signal);
  }
  /** Sends `signal` (once) and waits for the end; later calls give the same end. */
  stop(signal: Deno.Signal = "SIGINT"): Promise<{ code: number; stderr: string }> {
    if (!this.stopped) {
      try {
        this.child.kill(signal);
      } catch { /* already gone */ }
      this.stopped = Promise.all([this.child.status, this.drained]).then(([status]) => ({
        code: status.code,
        stderr: this.err,
      }));
    }
    return this.stopped;
  }
}

/** Waits until the file at `path` holds exactly `text`; throws after `ms` with what it held. */
export async function waitForText(path: string, text: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  let last = "";
  for (;;) {
    last = await Deno.readTextFile(path).catch(() => "(none)");
    if (last === text) return;
    if (Date.now() > until) {
      throw new Error(
        `waited for ${path} to hold ${JSON.stringify(text)}: ${JSON.stringify(last)}`,
      );
    }
    await sleep(25);
  }
}

/** Three jobs: `upper` from src/a.txt, `lower` from src/b.txt, `both` from their outputs. */
export const JOBS = `
jobs:
  upper: { run: "tr a-z A-Z < src/a.txt > out/a", reads: [src/a.txt], writes: [out/a] }
  lower: { run: "tr A-Z a-z < src/b.txt > out/b", reads: [src/b.txt], writes: [out/b] }
  both:  { run: "cat out/a out/b > out/ab", reads: [out/a, out/b], writes: [out/ab] }
`;

/** A fresh directory with `JOBS` and its sources (src/a.txt "a", src/b.txt "B"). */
export const jobsDir = (): Promise<string> =>
  tempDir({
    "jobs.yaml": JOBS,
    "src/a.txt": "a\n",
    "src/b.txt": "B\n",
    "out/.keep": "",
  });

/** The ways an editor saves a file, by name; each changes the file once. */
export const SAVES: Record<string, (path: string) => Promise<void>> = {
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

/**
 * Applies each save pattern to `src/a.txt` of a running session (after its
 * first cycle) and checks that each causes exactly one rerun, of exactly the
 * jobs that depend on that file, with the path in `watch.change`. Returns
 * the number of cycles run so far. `quietMs`: how long after a cycle a second
 * one would have started (longer than the session's `--debounce`).
 */
export async function eachSaveRerunsOnce(
  w: Session,
  dir: string,
  saves: Record<string, (path: string) => Promise<void>>,
  quietMs = 400,
): Promise<number> {
  let n = 1;
  for (const [name, save] of Object.entries(saves)) {
    await save(`${dir}/src/a.txt`);
    await w.cycles(++n);
    await sleep(quietMs); // a second cycle would have started by now
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
  return n;
}
