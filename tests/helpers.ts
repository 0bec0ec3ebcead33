/**
 * Shared test helpers: temporary directories, running the real CLI, waiting
 * for files and processes, reading event logs, and a scheduler run on the
 * fake reactor.
 *
 * @module
 */
import { parseJobsFile } from "../lib/graph/mod.ts";
import { FakeReactor, type FakeScript, type SpawnRequest } from "../lib/reactor/mod.ts";
import { type RunEvent, runJobs, type RunOptions } from "../lib/scheduler/mod.ts";
import { ignoredAtStart } from "../lib/runtime/ignored.ts";

// A suite started in the background of a script (`bash .ci/run &`: SIGINT and SIGQUIT ignored) or
// under nohup (SIGHUP) would start every jx with those signals ignored, and jx keeps a signal its
// parent ignored as ignored (as make does): a test sending it SIGQUIT waited in vain. A listener
// here makes each one caught in this process, so the processes it starts get it at its default.
for (const sig of ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM"] as const) {
  if (ignoredAtStart(sig)) Deno.addSignalListener(sig, () => {});
}

/** The repository root. */
export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** Deno and Bun from `npm ci`. */
export const DENO = `${ROOT}/node_modules/.bin/deno`;
export const BUN = `${ROOT}/node_modules/.bin/bun`;

/** Runtimes the end-to-end suites run under. */
export const RUNTIMES: Runtime[] = ["deno", "bun"];
/** A jx to test: from source on Deno or Bun, or the standalone binary named by `JX_BINARY`. */
export type Runtime = "deno" | "bun" | "binary";
const BINARY = Deno.env.get("JX_BINARY");
if (BINARY) RUNTIMES.push("binary");

/** Makes a temporary directory with the given files; returns its path. */
export async function tempDir(files: Record<string, string> = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "jx-test-" });
  for (const [name, text] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  return dir;
}

/**
 * Runs `fn` in a fresh temporary folder holding `files` (as `tempDir`), removed afterwards
 * whatever `fn` does.
 */
export async function inTempDir<T>(
  fn: (dir: string) => Promise<T>,
  files: Record<string, string> = {},
): Promise<T> {
  const dir = await tempDir(files);
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The command line that starts jx on a runtime. */
export function jxCommand(runtime: Runtime, args: string[]): [string, string[]] {
  if (runtime === "binary") {
    if (!BINARY) throw new Error("JX_BINARY is not set");
    return [BINARY.startsWith("/") ? BINARY : `${ROOT}/${BINARY}`, args];
  }
  return runtime === "bun"
    ? [BUN, ["--no-env-file", "--config=/dev/null", `${ROOT}/cli.ts`, ...args]]
    : [DENO, ["run", "-A", "--quiet", `${ROOT}/cli.ts`, ...args]];
}

/** Starts jx with stdout and stderr piped, stdin from /dev/null, NO_COLOR set (not waited for). */
export function spawnJx(
  args: string[],
  opts: { cwd?: string; runtime?: Runtime } = {},
): Deno.ChildProcess {
  const [cmd, argv] = jxCommand(opts.runtime ?? "deno", args);
  return new Deno.Command(cmd, {
    args: argv,
    cwd: opts.cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs jx to completion. */
export async function runJx(
  args: string[],
  opts: { cwd?: string; runtime?: Runtime; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, argv] = jxCommand(opts.runtime ?? "deno", args);
  const out = await new Deno.Command(cmd, {
    args: argv,
    cwd: opts.cwd,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Whether a path exists (a link counts, not followed). */
export async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** SIGKILLs `child` if it still runs and waits for it (a test's last word, passed or failed). */
export async function killAndWait(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch { /* ended */ }
  await child.status;
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The fields of `/proc/PID/stat` after the command name (which may hold spaces and parentheses):
 * `[state, ppid, pgrp, session, ...]`; undefined once the process is gone.
 */
export function procStat(pid: number | string): string[] | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** A process's state letter (`T` stopped, `S`, `R`, `Z`...), or "" once it is gone. */
export function stateOf(pid: number): string {
  return procStat(pid)?.[0] ?? "";
}

/** A process's parent's pid, or 0 once it is gone. */
export function parentOf(pid: number | string): number {
  return Number(procStat(pid)?.[1] ?? 0);
}

/** Whether process `pid` exists and is not a zombie (from /proc/PID/stat). */
export function alive(pid: number): boolean {
  const state = stateOf(pid);
  return state !== "" && state !== "Z";
}

/**
 * Whether process `pid` is gone (`alive` false) within `ms`, polled every 10 ms. For a process
 * not jx's child that jx has SIGKILLed: its pipes close (what jx waits for) a moment before it is
 * a zombie, and on a loaded machine that moment can outlast jx's own exit.
 */
export function goneWithin(pid: number, ms = 10_000): Promise<boolean> {
  return within(ms, () => !alive(pid), 10);
}

/** Polls `done()` every `every` ms until it holds or `ms` have passed; returns its last answer. */
export async function within(ms: number, done: () => boolean, every = 50): Promise<boolean> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) return false;
    await sleep(every);
  }
  return true;
}

/**
 * Waits until the file at `path` has some text (a pid, a marker) and returns
 * it trimmed; polls every 20 ms, throws after `ms`.
 */
export async function waitForFile(path: string, ms = 30_000): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const text = await Deno.readTextFile(path);
      if (text.trim()) return text.trim();
    } catch { /* not yet */ }
    if (Date.now() > until) throw new Error(`timed out waiting for ${path}`);
    await sleep(20);
  }
}

/** A parsed NDJSON event. */
export type LoggedEvent = Record<string, unknown> & { type: string; t: number; job?: string };

/** Reads an NDJSON event log. */
export async function readEvents(path: string): Promise<LoggedEvent[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

/** What a `jx run` with an event log did (`cacheRun`). */
export interface CacheRan {
  code: number;
  stdout: string;
  stderr: string;
  /** Jobs that ran a process, sorted. */
  ran: string[];
  /** Jobs restored from the output cache, with where from (`local`, `remote`). */
  restored: Record<string, string>;
  /** Jobs skipped, sorted. */
  skipped: string[];
}

/**
 * `jx run ARGS` in `dir` with an event log (`ev.ndjson`): what ran, what was
 * restored from the output cache (checked on the way: a restored job has no
 * `job.start` and ends `ok`), what was skipped.
 */
export async function cacheRun(
  dir: string,
  args: string[] = [],
  opts: { env?: Record<string, string>; runtime?: Runtime } = {},
): Promise<CacheRan> {
  const r = await runJx(["run", "--events", "ev.ndjson", ...args], { cwd: dir, ...opts });
  const ev = await readEvents(`${dir}/ev.ndjson`);
  const started = new Set(ev.filter((e) => e.type === "job.start").map((e) => e.job!));
  const restored: Record<string, string> = {};
  for (const e of ev) {
    if (e.type !== "job.end" || !e.cache) continue;
    restored[e.job!] = e.cache as string;
    if (started.has(e.job!)) throw new Error(`${e.job}: a restored job has a job.start`);
    if (e.status !== "ok") throw new Error(`${e.job}: restored, but ${e.status}`);
  }
  return {
    ...r,
    ran: [...started].sort(),
    restored,
    skipped: ev.filter((e) => e.type === "job.skip").map((e) => e.job!).sort(),
  };
}

/** Start and end times of each job, from an event log. */
export function spans(
  events: LoggedEvent[],
): Map<string, { start: number; end: number; status: string }> {
  const m = new Map<string, { start: number; end: number; status: string }>();
  for (const e of events) {
    if (e.type === "job.start") m.set(e.job!, { start: e.t, end: NaN, status: "" });
    if (e.type === "job.end") {
      const s = m.get(e.job!)!;
      s.end = e.t;
      s.status = e.status as string;
    }
  }
  return m;
}

/**
 * A fake process script from the command text: `sleep N` runs N virtual
 * ms, `exit C` ends with code C, `ignore TERM` ignores SIGTERM (likewise INT), `out X` prints X.
 */
export function scriptFromCommand(cmd: string): FakeScript {
  const num = (re: RegExp, d: number) => {
    const m = re.exec(cmd);
    return m ? Number(m[1]) : d;
  };
  return {
    ms: num(/sleep (\d+)/, 10),
    code: num(/exit (\d+)/, 0),
    ignores: [...cmd.matchAll(/ignore ([A-Z]+)/g)].map((m) => "SIG" + m[1]),
    stdout: /out (\S+)/.exec(cmd)?.[1],
  };
}

/** Runs a jobs file on the fake reactor; returns events (with virtual times) and the reactor. */
export async function fakeRun(
  yaml: string,
  opts: Partial<RunOptions> & {
    names?: string[];
    before?: (r: FakeReactor) => void;
    /** A script of one's own for some commands (the rest as `scriptFromCommand`). */
    script?: (req: SpawnRequest) => FakeScript | undefined;
  } = {},
) {
  const graph = parseJobsFile(yaml, "test.yaml", { baseDir: "/" });
  const reactor = new FakeReactor((req) =>
    opts.script?.(req) ?? scriptFromCommand(req.argv.join(" "))
  );
  const events: RunEvent[] = [];
  opts.before?.(reactor);
  const done = runJobs(graph, graph.select(opts.names ?? []), {
    jobs: 4,
    ...opts,
    reactor,
    reporters: [{ event: (e) => events.push(e) }],
  });
  await reactor.run();
  const result = await done;
  const byJob = (type: string) =>
    new Map(
      events.filter((e) => e.type === type).map((e) => [(e as { job: string }).job, e]),
    );
  return {
    result,
    events,
    reactor,
    starts: byJob("job.start"),
    ends: byJob("job.end"),
    skips: byJob("job.skip"),
  };
}

/** `module.state` events as `module state` strings, in order. */
export const moduleStates = (ev: LoggedEvent[]) =>
  ev.filter((e) => e.type === "module.state").map((e) => `${e.module} ${e.state}`);

/** Live processes whose process group is one of `pgids`. */
export function inGroups(pgids: number[]): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const f = procStat(e.name);
    if (f && f[0] !== "Z" && pgids.includes(Number(f[2]))) out.push(Number(e.name));
  }
  return out;
}

/**
 * Runs `jx run --cache-dir DIR/store ARGS` in `DIR/p` as a user whom file modes bind: this one,
 * or (as root, who writes into a read-only folder anyway) nobody through setpriv; `DIR` must be
 * theirs (as root: made in /tmp, and chowned to 65534). Null when neither can be.
 */
export async function runJxBound(
  dir: string,
  args: string[] = [],
): Promise<{ code: number; stderr: string } | null> {
  const root = Deno.uid() === 0;
  if (root && !(await Deno.stat("/usr/bin/setpriv").catch(() => null))) return null;
  const jx = [DENO, "run", "-A", "--quiet", `${ROOT}/cli.ts`, "run", "--cache-dir", `${dir}/store`];
  const argv = root
    ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...jx, ...args]
    : [...jx, ...args];
  const r = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: `${dir}/p`,
    env: { NO_COLOR: "1", HOME: dir, DENO_DIR: `${dir}/deno`, TMPDIR: dir },
    stdin: "null",
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}
