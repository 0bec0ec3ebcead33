/**
 * Shared pieces of the jobserver tests (jobserver_test.ts on Deno,
 * jobserver_bun_test.ts on Bun): finding GNU make 4.4.1, recipes that record
 * when they run, the concurrency those records show, running make, and the
 * scenarios both suites run with their own jx.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type LoggedEvent,
  ROOT,
  runJx,
  type Runtime,
  sleep,
  tempDir,
  waitForFile,
} from "../helpers.ts";

/**
 * A tool newer than Debian 12's, built from Debian's source by tools/build-tool.sh into
 * ~/.cache/jx-tools/DIR (not jx's cache store, ~/.cache/jx) (.ci/run builds both before the tests; a second call builds nothing):
 * `$ENV` when set, else that build; undefined, with a message naming `suite`, when it fails.
 */
async function builtTool(
  suite: string,
  tool: "make" | "ninja",
  env: string,
  dir: string,
): Promise<string | undefined> {
  const given = Deno.env.get(env);
  if (given) return given;
  const script = `${ROOT}/tools/build-tool.sh`;
  const prefix = `${Deno.env.get("HOME")}/.cache/jx-tools/${dir}`;
  let why: string;
  try {
    const out = await new Deno.Command("bash", { args: [script, tool, prefix], stdin: "null" })
      .output();
    const d = new TextDecoder();
    const path = d.decode(out.stdout).trim().split("\n").pop() ?? "";
    if (out.code === 0 && path) return path;
    why = `${script} ${tool} exited ${out.code}: ${d.decode(out.stderr).trim().split("\n").pop()}`;
  } catch (e) {
    why = (e as Error).message;
  }
  console.error(`${suite}: SKIPPING the ${dir} tests: ${why}`);
  return undefined;
}

/** GNU make 4.4.1 (the fifo style): `$JX_MAKE44`, else built (see `builtTool`). */
export const findMake44 = (suite: string): Promise<string | undefined> =>
  builtTool(suite, "make", "JX_MAKE44", "make-4.4");

/** ninja >= 1.13 (a jobserver client, fifo style only): `$JX_NINJA113`, else built. */
export const findNinja113 = (suite: string): Promise<string | undefined> =>
  builtTool(suite, "ninja", "JX_NINJA113", "ninja-1.13");

/** What make prints when the jobserver protocol goes wrong. */
export const MAKE_TROUBLE = /INTERNAL: Exiting with|jobserver unavailable|invalid --jobserver-auth/;

/** A shell line that records its start and end (ns) in `log`. */
export const recorded = (name: string, secs: number): string =>
  `echo "start ${name} $(date +%s%N)" >> log; sleep ${secs}; echo "end ${name} $(date +%s%N)" >> log`;

/** The same line in a Makefile recipe, where `$(` must be written `$$(`. */
export const inMake = (line: string): string => line.replaceAll("$(", () => "$$(");

/** A Makefile whose targets record their start and end in `log`, and their MAKEFLAGS in `flags.TARGET`. */
export const recordingMakefile = (targets: string[], secs: number): string =>
  `all: ${targets.join(" ")}\n${targets.join(" ")}:\n\t@echo "$$MAKEFLAGS" > flags.$@; ${
    inMake(recorded("$@", secs))
  }\n`;

/** The most `start`s open at once, from the given logs (a missing log counts as empty). */
export async function maxConcurrency(...logs: string[]): Promise<{ max: number; count: number }> {
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

/** Runs make (or `program`) in `cwd` with an empty MAKEFLAGS; returns its code and all its output. */
export async function make(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  program = "make",
): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(program, {
    args,
    cwd,
    env: { NO_COLOR: "1", MAKEFLAGS: "", ...env },
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, text: d.decode(out.stdout) + d.decode(out.stderr) };
}

/** A jobs file's `jobs:` lines: `PREFIX0`..`PREFIXn-1`, each a `recorded` line of `secs`. */
export function recordingJobs(prefix: string, n: number, secs: number): string[] {
  const jobs = ["jobs:"];
  for (let i = 0; i < n; i++) {
    jobs.push(`  ${prefix}${i}: { run: '${recorded(`${prefix}${i}`, secs)}' }`);
  }
  return jobs;
}

/**
 * A directory for jx as the server: three makes on `mk` (in d1..d3) and a
 * nested `jx` on three recorded jobs (in d4, its events in d4/ev.ndjson).
 */
export const nestedServerDir = (mk: string, jx: string): Promise<string> =>
  tempDir({
    "d1/Makefile": mk,
    "d2/Makefile": mk,
    "d3/Makefile": mk,
    "d4/jobs.yaml": recordingJobs("n", 3, 0.15).join("\n") + "\n",
    "jobs.yaml": `
jobs:
  m1: { run: make -s -C d1 }
  m2: { run: make -s -C d2 }
  m3: { run: make -s -C d3 }
  nested: { run: ${jx} run -f d4/jobs.yaml --output quiet --events d4/ev.ndjson }
`,
  });

/**
 * A directory for jx as the server in the fifo style: two sub-makes of make
 * 4.4.1 (`make44`, in d1 and d2), a make 4.3 job given the pipe form (d3),
 * all recording six targets, and a job outside the pool writing none.txt.
 */
export const fifoServerDir = (make44: string): Promise<string> => {
  const mk = recordingMakefile(["a", "b", "c", "d", "e", "f"], 0.15);
  return tempDir({
    "d1/Makefile": mk,
    "d2/Makefile": mk,
    "d3/Makefile": mk,
    "jobs.yaml": `
jobs:
  m1: { run: ${make44} -s -C d1 }
  m2: { run: ${make44} -s -C d2 }
  m3: { run: make -s -C d3, jobserver: pipe }
  plain: { run: 'echo "[$MAKEFLAGS]" > none.txt', jobserver: none }
`,
  });
};

/**
 * `jx run -j3 --jobserver-style fifo` in a `fifoServerDir` (on `opts.runtime`):
 * its 18 recipes ran, at most 3 at once and more than one; make 4.4.1 got the
 * fifo form, the make 4.3 job the pipe form, the job outside the pool no
 * MAKEFLAGS; the pool whole at the end and the fifo removed.
 */
export async function checkFifoServer(
  make44: string,
  opts: { runtime?: Runtime; env?: Record<string, string> } = {},
): Promise<void> {
  const dir = await fifoServerDir(make44);
  const r = await runJx(["run", "-j3", "--jobserver-style", "fifo"], { cwd: dir, ...opts });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, MAKE_TROUBLE);
  assert.doesNotMatch(r.stderr, /warning/, "the pool is whole at the end");
  const c = await maxConcurrency(`${dir}/d1/log`, `${dir}/d2/log`, `${dir}/d3/log`);
  assert.equal(c.count, 18);
  assert.ok(c.max <= 3, `at most 3 recipes at once, saw ${c.max}`);
  assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
  const fifo = /--jobserver-auth=fifo:(\S+)/.exec(await Deno.readTextFile(`${dir}/d1/flags.a`));
  assert.ok(fifo, "make 4.4.1 got the fifo form");
  assert.match(await Deno.readTextFile(`${dir}/d2/flags.f`), /-j3 --jobserver-auth=fifo:/);
  assert.match(await Deno.readTextFile(`${dir}/d3/flags.a`), /-j3 --jobserver-auth=\d+,\d+/);
  assert.equal(await Deno.readTextFile(`${dir}/none.txt`), "[]\n");
  await assert.rejects(Deno.stat(fifo[1]), "the fifo is removed at exit");
}

/**
 * `jx run -j8` (on `opts.runtime`, with its reactor) of three makes at once, each recording eight
 * targets: `big` (make 4.3, `tokens: 4`, the pipe form), `big44` (make 4.4.1, `tokens: 3`,
 * `jobserver: fifo`) and `small` (make 4.3, one token, the shared pool). Each job of several
 * tokens gets a pool of its own: its make runs as many recipes at once as the job holds slots
 * (not one, as when it shared a pool the others had emptied) and gets `-jK`; the three never
 * run more than 8 at once; every pool is whole at the end (no warning) and its fifo removed.
 */
export async function checkJobPools(
  make44: string,
  opts: { runtime?: Runtime; env?: Record<string, string>; reactor?: string } = {},
): Promise<void> {
  const mk = recordingMakefile(["a", "b", "c", "d", "e", "f", "g", "h"], 0.5);
  const dir = await tempDir({
    "d1/Makefile": mk,
    "d2/Makefile": mk,
    "d3/Makefile": mk,
    "jobs.yaml": `
jobs:
  big: { run: make -s -C d1, tokens: 4 }
  big44: { run: ${make44} -s -C d2, tokens: 3, jobserver: fifo }
  small: { run: make -s -C d3 }
`,
  });
  const reactor = opts.reactor ? ["--reactor", opts.reactor] : [];
  const r = await runJx(["run", "-j8", ...reactor], { cwd: dir, ...opts });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, MAKE_TROUBLE);
  assert.doesNotMatch(r.stderr, /warning/, "every pool is whole at the end");
  const [d1, d2, d3] = ["d1", "d2", "d3"].map((d) => `${dir}/${d}/log`);
  assert.equal((await maxConcurrency(d1)).max, 4, "tokens: 4 runs 4 recipes at once");
  assert.equal((await maxConcurrency(d2)).max, 3, "tokens: 3 runs 3 recipes at once");
  const all = await maxConcurrency(d1, d2, d3);
  assert.equal(all.count, 24);
  assert.ok(all.max <= 8, `at most 8 recipes at once, saw ${all.max}`);
  assert.match(await Deno.readTextFile(`${dir}/d1/flags.a`), /-j4 --jobserver-auth=\d+,\d+/);
  const fifo = /-j3 --jobserver-auth=fifo:(\S+)/.exec(await Deno.readTextFile(`${dir}/d2/flags.a`));
  assert.ok(fifo, "make 4.4.1 got its pool in the fifo form");
  await assert.rejects(Deno.stat(fifo[1]), "its fifo is removed");
  assert.match(await Deno.readTextFile(`${dir}/d3/flags.a`), /-j8 --jobserver-auth=\d+,\d+/);
}

/**
 * A Makefile for `make -j3`: two recorded recipes `x` and `y`, and `j`, a `+`
 * recipe running `jx run RUNARGS` on jobs.inner.yaml with its events in ev.ndjson.
 */
export const clientMakefile = (jx: string, runArgs = ""): string =>
  `all: x y j\nx y:\n\t@${
    inMake(recorded("$@", 0.3))
  }\nj:\n\t+@${jx} run ${runArgs}-f jobs.inner.yaml --output quiet --events ev.ndjson\n`;

/**
 * A jobs file whose job `name` takes `n` tokens from the pool named in
 * MAKEFLAGS and does not give them back; `then` is shell run after.
 */
export const tokenTaker = (name: string, n: number, then = ""): string => `
jobs:
  ${name}:
    run: 'r=$(echo "$MAKEFLAGS" | sed "s/.*auth=\\([0-9]*\\),.*/\\1/"); head -c${n} /proc/self/fd/$r > /dev/null${then}'
`;

/**
 * `make -j4 -k` running `+jx` (`jx` is its command line) on five jobs that
 * sleep, beside a short recipe. Resolves once jx has started its jobs (they
 * wrote its pid) and had 300 ms more; `interrupt` sends jx the signal and
 * returns all that make printed.
 */
export async function makeRunningJx(
  jx: string,
): Promise<{ pid: number; interrupt(signal: Deno.Signal): Promise<string> }> {
  const jobs = ["jobs:", "  pid: { run: 'echo $PPID > jx.pid; sleep 30' }"];
  for (let i = 0; i < 4; i++) jobs.push(`  s${i}: { run: sleep 30 }`);
  const dir = await tempDir({
    "Makefile":
      `all: j other\nj:\n\t+@${jx} run -f jobs.inner.yaml --output quiet\nother:\n\t@sleep 0.2\n`,
    "jobs.inner.yaml": jobs.join("\n") + "\n",
  });
  const child = new Deno.Command("make", {
    args: ["-j4", "-k"],
    cwd: dir,
    env: { MAKEFLAGS: "" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pid = Number(await waitForFile(`${dir}/jx.pid`));
  await sleep(300);
  return {
    pid,
    async interrupt(signal) {
      Deno.kill(pid, signal);
      const out = await child.output();
      return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    },
  };
}

/** A pseudo-random `rand(n)` in [0, n), the same sequence for the same seed. */
export function seeded(seed: number): (n: number) => number {
  return (n) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
}

/**
 * A random graph for a pool of `j` slots (1 to 4): 12 to 19 short jobs, each
 * taking 1 to `j` tokens, some needing an earlier one, some failing; with the
 * tokens of each job.
 */
export function randomTokenGraph(
  rand: (n: number) => number,
): { j: number; yaml: string; tokensOf: Map<string, number> } {
  const j = 1 + rand(4);
  const lines = ["jobs:"];
  const n = 12 + rand(8);
  for (let i = 0; i < n; i++) {
    const tokens = 1 + rand(j);
    const needs = i > 0 && rand(3) === 0 ? `, needs: [t${rand(i)}]` : "";
    const fail = rand(8) === 0 ? "; exit 1" : "";
    lines.push(`  t${i}: { run: "sleep 0.0${1 + rand(5)}${fail}", tokens: ${tokens}${needs} }`);
  }
  const tokensOf = new Map(
    lines.slice(1).map((l) => [/^ {2}(t\d+)/.exec(l)![1], Number(/tokens: (\d+)/.exec(l)![1])]),
  );
  return { j, yaml: lines.join("\n") + "\n", tokensOf };
}

/** The tokens held by running jobs after each event of a run (a retried job keeps its own). */
export function tokensHeld(ev: LoggedEvent[], tokensOf: Map<string, number>): number[] {
  let held = 0;
  return ev.map((e) => {
    if (e.type === "job.start") held += tokensOf.get(e.job!)!;
    if (e.type === "job.end" && !e.retrying) held -= tokensOf.get(e.job!)!;
    return held;
  });
}
