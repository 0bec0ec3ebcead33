/**
 * The builder: drives a `Plan` over a `Reactor`. Event-driven: a job starts
 * in the callback that resolved its last dependency; there is no polling.
 *
 * @module
 */
import type { Graph } from "../graph/graph.ts";
import { expandDeferred, parseEmittedJob } from "../graph/emit.ts";
import { JxInputError } from "../graph/errors.ts";
import { whenFails } from "../graph/when.ts";
import type { EmitContext, JobSpec } from "../graph/types.ts";
import type { ChildHandle, ExitStatus, ListenSignal, Reactor } from "../reactor/types.ts";
import type { JobStatus, Reporter, RunEvent } from "./events.ts";
import { Plan } from "./plan.ts";
import { LocalSlots, Pools, type Slots } from "./slots.ts";

/**
 * How to run.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { createReactor } from "../reactor/mod.ts";
 * import { runJobs, type RunOptions } from "./run.ts";
 * const graph = parseJobsFile("jobs:\n  a: { run: echo a }\n", "j.yaml");
 * const opts: RunOptions = { reactor: createReactor(), jobs: 2, keepGoing: true, reporters: [] };
 * await runJobs(graph, graph.jobs, opts);
 * ```
 */
export interface RunOptions {
  /** The event loop that spawns the jobs and keeps time. */
  reactor: Reactor;
  /** Job-slot limit (`-j`); ignored when `slots` is given. */
  jobs?: number;
  /** A slot source (a jobserver); default: a local counter of `jobs`. */
  slots?: Slots;
  /** What `run.start` says about the jobserver. */
  jobserver?: "server" | "client" | "none";
  /** `-k`: keep running what does not depend on a failure. */
  keepGoing?: boolean;
  /** `-n`: resolve every job as `dry-run`, run nothing. */
  dryRun?: boolean;
  /** Receivers of the run's events. */
  reporters?: Reporter[];
  /** The environment every job starts from (default: jx's own). */
  baseEnv?: Record<string, string>;
  /** Added to every job's environment, after the job's own `env`. */
  extraEnv?: Record<string, string>;
  /** The last word on a job's environment (the jobserver gives each job MAKEFLAGS in its style). */
  jobEnv?: (spec: JobSpec, env: Record<string, string>) => Record<string, string>;
  /** `JX_RUN_ID`; generated when absent. */
  runId?: string;
  /** Up-to-date state: jobs it finds up to date are skipped; successes are recorded. */
  state?: {
    check(spec: JobSpec): { upToDate: boolean };
    succeeded(spec: JobSpec): void;
  };
  /** `--force`: run jobs even when the state says they are up to date (still recorded). */
  force?: boolean;
  /** Listen for SIGINT/SIGTERM/SIGHUP (default true). */
  handleSignals?: boolean;
  /** The time events count from (default: now); `jx watch` keeps one clock for its cycles. */
  t0?: number;
  /**
   * Runs the selected modules (`Supervisor` from lib/modules). Required when
   * the selection holds a module, except with `dryRun`.
   */
  modules?: ModuleHost;
  /**
   * Filled in by `runJobs`: `stop(signal)` ends the run as a signal would
   * (running jobs get SIGTERM then SIGKILL after their grace, the rest is
   * cancelled); `jx watch` uses it to restart a cycle.
   */
  control?: { stop?: (signal: ListenSignal) => void };
  /** Streams that jobs come from while the run goes on (see `JobFeed`). */
  feeds?: JobFeed[];
}

/**
 * A stream of bytes that jobs come from while the run goes on, as an
 * `emits: jobs` job's stdout does: each line is turned into jobs by `parse`
 * (by default one JSON object per line, the jobs-file keys plus `name`),
 * each checked and added to the run at once. The run ends once the stream
 * ends and its jobs are done.
 *
 * @example
 * ```ts
 * import type { JobFeed } from "./run.ts";
 * const feed: JobFeed = {
 *   name: "files",
 *   stream: new Blob(["a.txt\nb.txt\n"]).stream(),
 *   parse: (line) => ({ name: `wc-${line}`, run: `wc -c ${line}` }),
 * };
 * ```
 */
export interface JobFeed {
  /** Names the feed in `job.add` events (`by`) and in messages. */
  name: string;
  /** The bytes. */
  stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;
  /**
   * Turns one line (without its newline) into job entries; `undefined`
   * skips the line. A throw is a bad line. Default: `JSON.parse`, blank
   * lines and `#` comments skipped.
   */
  parse?: (
    line: string,
    lineNo: number,
  ) => Record<string, unknown> | Record<string, unknown>[] | undefined;
  /** What relative paths resolve against, the env and variables (default: the current directory, none). */
  context?: Partial<EmitContext>;
}

/**
 * What a run ended with.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { createReactor } from "../reactor/mod.ts";
 * import { runJobs } from "./run.ts";
 * const graph = parseJobsFile("jobs:\n  a: { run: exit 3 }\n", "j.yaml");
 * const result = await runJobs(graph, graph.jobs, { reactor: createReactor(), reporters: [] });
 * result.exit; // 1
 * result.results.get("a"); // { status: "failed" }
 * ```
 */
export interface RunResult {
  /** The process exit code: 0, 1, or 128+signal when interrupted. */
  exit: number;
  /** How the run ended. */
  status: "ok" | "failed" | "interrupted";
  /** Per job: the final status, or the skip reason. */
  results: Map<string, { status: JobStatus | "skipped"; reason?: string; because?: string }>;
  /** Wall time of the run, in milliseconds. */
  ms: number;
}

/**
 * What `runJobs` gives a `ModuleHost` when a run starts.
 *
 * @example
 * ```ts
 * import type { ModuleRun } from "./run.ts";
 * const say = (run: ModuleRun) =>
 *   run.emit({ type: "module.state", t: run.t(), module: "db", state: "idle" });
 * ```
 */
export interface ModuleRun {
  /** The graph of the run. */
  graph: Graph;
  /** The selected jobs and modules. */
  selected: JobSpec[];
  /** The run's event loop. */
  reactor: Reactor;
  /** Sends an event to the run's reporters. */
  emit(e: RunEvent): void;
  /** Milliseconds since the run started, for events. */
  t(): number;
  /** The environment a job or module starts with. */
  env(spec: JobSpec): Record<string, string>;
}

/**
 * What runs a selection's modules for `runJobs` (the `Supervisor` of
 * lib/modules). It receives every event of the run, as a reporter does.
 *
 * @example
 * ```ts
 * import type { ModuleHost } from "./run.ts";
 * // A host that makes every module ready at once and has nothing to stop.
 * const host: ModuleHost = {
 *   attach() {},
 *   notRegistered: () => undefined,
 *   start: (_spec, resolved) => resolved("ok"),
 *   interrupt() {},
 *   finish: () => Promise.resolve({ failed: false }),
 *   event() {},
 * };
 * ```
 */
export interface ModuleHost extends Reporter {
  /** Called once, right after `run.start`. */
  attach(run: ModuleRun): void;
  /** Why a module is not registered (its `when:` does not hold), or undefined. */
  notRegistered(name: string): string | undefined;
  /**
   * Starts a module whose needs have resolved; `resolved` is called once:
   * `ok` when it is ready, `failed` when it never became ready, `cancelled`
   * when the run stopped first.
   */
  start(spec: JobSpec, resolved: (status: JobStatus) => void): void;
  /**
   * The run stops starting things (after a failure, or a signal): modules
   * still starting are cancelled, foreground modules are released. A second
   * signal kills every module's process group at once.
   */
  interrupt(why: "failure" | ListenSignal): void;
  /**
   * The jobs are done: stop the modules in reverse dependency order (after
   * holding foreground ones until a signal); resolves when every module
   * process has ended, saying whether a module failed.
   */
  finish(status: "ok" | "failed" | "interrupted"): Promise<{ failed: boolean }>;
}

/** A `repeat` loop: one job, or every job of a `foreach` group, then the test. */
interface Loop {
  /** The jobs run again each time. */
  body: JobSpec[];
  test: JobSpec;
  iteration: number;
  /** Body jobs not yet ended in this iteration. */
  pending: Set<string>;
  /** The body job whose slot the test runs in. */
  holder?: JobSpec;
  /** A body job failed: the loop is over, the rest resolve as they end. */
  broken: boolean;
}

interface Running {
  spec: JobSpec;
  handle: ChildHandle;
  attempt: number;
  /** In a `repeat` loop: the run number, and for the test, the loop it tests. */
  loop?: { iteration: number; test?: Loop };
  start: number;
  timeoutTimer?: number;
  killTimer?: number;
  timedOut: boolean;
}

const NO_HANDLE: ChildHandle = { pid: 0, kill() {} };

const SIGNAL_EXIT: Record<ListenSignal, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** A short random id for `JX_RUN_ID`. */
export function newRunId(): string {
  return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 8);
}

/**
 * Runs the selected jobs of a graph.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { createPortableReactor } from "../reactor/mod.ts";
 * import { runJobs } from "./run.ts";
 * const g = parseJobsFile("jobs:\n  hi: { run: echo hi }\n", "j.yaml");
 * const result = await runJobs(g, g.select([]), { reactor: createPortableReactor(), jobs: 2 });
 * console.log(result.exit); // 0
 * ```
 */
export function runJobs(graph: Graph, selected: JobSpec[], opts: RunOptions): Promise<RunResult> {
  const modules = selected.filter((j) => j.kind === "module");
  const host = opts.dryRun ? undefined : opts.modules;
  if (modules.length && !host && !opts.dryRun) {
    throw new Error(
      `the selection holds modules (${modules.map((m) => m.name).join(", ")}): ` +
        "pass RunOptions.modules (a Supervisor from lib/modules)",
    );
  }
  const reactor = opts.reactor;
  const reporters = [...(opts.reporters ?? []), ...(host ? [host] : [])];
  const slots: Slots = opts.slots ?? new LocalSlots(Math.max(1, opts.jobs ?? 1));
  const pools = new Pools(graph.pools);
  const plan = new Plan(graph, selected);
  const running = new Map<string, Running>();
  const results: RunResult["results"] = new Map();
  const runId = opts.runId ?? newRunId();
  // A copy in V8's fast mode: the environment of a process comes as a
  // dictionary-mode object, and spreading one of those for every job (below)
  // costs about 30 times as much, most of a run's garbage.
  const baseEnv = fastCopy(opts.baseEnv ?? currentEnv());
  const runStart = reactor.now();
  const t0 = opts.t0 ?? runStart;
  let failures = 0;
  let interrupted: ListenSignal | undefined;
  let finished = false;
  let resolveDone!: (r: RunResult) => void;
  const done = new Promise<RunResult>((r) => resolveDone = r);

  const emit = (e: RunEvent) => {
    for (const r of reporters) r.event(e);
  };
  const t = () => reactor.now() - t0;

  const flushSkips = () => {
    for (const s of plan.takeSkipped()) {
      results.set(s.job, { status: "skipped", reason: s.reason, because: s.because });
      emit({ type: "job.skip", t: t(), job: s.job, reason: s.reason, because: s.because });
      // A loop's body job that will not run ends the loop.
      const loop = loops.get(s.job);
      if (loop && !loop.broken) {
        loop.pending.delete(s.job);
        breakLoop(loop, s.job);
      }
    }
  };

  const envFor = (spec: JobSpec): Record<string, string> => {
    const env = { ...baseEnv, ...spec.env, ...opts.extraEnv, JX_JOB: spec.name, JX_RUN_ID: runId };
    return opts.jobEnv ? opts.jobEnv(spec, env) : env;
  };

  /** Fails a job that needs a module `when:` left unregistered, without starting it. */
  const failUnregistered = (spec: JobSpec): boolean => {
    let why: string | undefined;
    for (const n of spec.needs) if ((why = host?.notRegistered(n))) break;
    if (!why) return false;
    plan.start(spec.name);
    emit({ type: "job.start", t: t(), job: spec.name, pid: 0, attempt: 1 });
    emit({
      type: "job.end",
      t: t(),
      job: spec.name,
      status: "failed",
      exit: null,
      signal: null,
      ms: 0,
      attempt: 1,
      error: why,
    });
    results.set(spec.name, { status: "failed" });
    plan.finish(spec.name, "failed");
    if (plan.failureCounts(spec.name)) {
      failures++;
      if (!opts.keepGoing) stopOnFailure();
    }
    return true;
  };

  const stopOnFailure = () => {
    plan.stop("failure");
    host?.interrupt("failure");
    for (const c of feedCancels) c();
  };
  /** Stops the library feeds' reading (see `startFeed`). */
  const feedCancels: (() => void)[] = [];

  /** Starts a module through the host; it holds no job slot. */
  const startModule = (spec: JobSpec) => {
    if (host!.notRegistered(spec.name)) {
      plan.skipReady(spec.name, "condition");
      flushSkips(); // before its dependents start
      return;
    }
    plan.start(spec.name);
    host!.start(spec, (status) => {
      if (finished) return;
      results.set(spec.name, { status });
      plan.finish(spec.name, status);
      if (status === "failed" && plan.failureCounts(spec.name)) {
        failures++;
        if (!opts.keepGoing) stopOnFailure();
      }
      pump();
    });
  };

  const startAttempt = (spec: JobSpec, attempt: number, loop?: Running["loop"]) => {
    const r: Running = {
      spec,
      handle: NO_HANDLE,
      attempt,
      start: reactor.now(),
      timedOut: false,
      loop,
    };
    let started = false;
    const onStart = (pid: number) => {
      started = true;
      const e: Extract<RunEvent, { type: "job.start" }> = {
        type: "job.start",
        t: t(),
        job: spec.name,
        pid,
        attempt,
      };
      if (loop) e.iteration = loop.iteration;
      emit(e);
    };
    running.set(spec.name, r);
    const lines = spec.emits ? emitLines(spec) : undefined;
    const env = envFor(spec);
    if (loop) env.JX_ITERATION = String(loop.iteration);
    r.handle = reactor.spawn({
      argv: spec.argv,
      cwd: spec.cwd,
      env,
      onStart,
      onOutput: (stream, chunk) => {
        // An `emits: jobs` job's stdout is job definitions, not output to show.
        if (lines && stream === "stdout") lines.push(chunk);
        else emit({ type: "job.output", t: t(), job: spec.name, stream, chunk });
      },
      onExit: (st) => {
        if (!started) onStart(0);
        lines?.end();
        ended(r, st);
      },
    });
    if (spec.timeoutMs !== undefined) {
      r.timeoutTimer = reactor.setTimer(spec.timeoutMs, () => {
        r.timedOut = true;
        terminate(r, "SIGTERM");
      });
    }
  };

  /** Sends `signal` to a job's process group, then SIGKILL after its grace period. */
  const terminate = (r: Running, signal: string) => {
    r.handle.kill(signal);
    if (r.killTimer === undefined) {
      r.killTimer = reactor.setTimer(r.spec.graceMs, () => r.handle.kill("SIGKILL"));
    }
  };

  const ended = (r: Running, st: ExitStatus) => {
    if (r.timeoutTimer !== undefined) reactor.clearTimer(r.timeoutTimer);
    if (r.killTimer !== undefined) reactor.clearTimer(r.killTimer);
    running.delete(r.spec.name);
    let status: JobStatus = interrupted && st.code !== 0
      ? "cancelled"
      : r.timedOut
      ? "timeout"
      : st.code === 0 && !st.error
      ? "ok"
      : "failed";
    const spec = r.spec;
    const badOutput = emitErrors.get(spec.name);
    if (status === "ok" && badOutput) status = "failed";
    const error = st.error ?? badOutput;
    const retrying = (status === "failed" || status === "timeout") && r.attempt <= spec.retries &&
      !plan.stopping && !badOutput;
    const isTest = r.loop?.test !== undefined;
    // Optional keys are set one by one, in this order (spreads would make
    // temporary objects for every job).
    const end: Extract<RunEvent, { type: "job.end" }> = {
      type: "job.end",
      t: t(),
      job: spec.name,
      status,
      exit: st.code,
      signal: st.signal,
      ms: reactor.now() - r.start,
      attempt: r.attempt,
    };
    if (error) end.error = error;
    if (st.cpu) {
      end.user_ms = round3(st.cpu.userMs);
      end.sys_ms = round3(st.cpu.sysMs);
    }
    if (st.maxRssKb) end.max_rss_kb = st.maxRssKb;
    if (retrying) end.retrying = retrying;
    if (status !== "ok" && (plan.conditionJobs.has(spec.name) || isTest)) end.condition = true;
    if (r.loop) end.iteration = r.loop.iteration;
    emit(end);
    if (retrying) {
      startAttempt(spec, r.attempt + 1, r.loop);
      return;
    }
    if (isTest) return loopTestEnded(r.loop!.test!, status);
    const loop = loops.get(spec.name);
    if (loop && !loop.broken) {
      if (status === "ok" && !plan.stopping) {
        loop.pending.delete(spec.name);
        if (loop.pending.size === 0) {
          // The test runs next, in the slot of the body job that ended last.
          loop.holder = spec;
          startAttempt(loop.test, 1, { iteration: loop.iteration, test: loop });
          return;
        }
        // Done for this iteration: its slot goes back, its node stays running.
        slots.give(spec.tokens);
        pools.give(spec.pools);
        pump();
        return;
      }
      breakLoop(loop, spec.name);
    }
    complete(spec, status);
  };

  /** Ends a loop early (a body job failed or never ran): what already ended in this iteration resolves as ok. */
  const breakLoop = (loop: Loop, except: string) => {
    loop.broken = true;
    for (const m of loop.body) {
      if (m.name !== except && !loop.pending.has(m.name)) complete(m, "ok", false);
    }
  };

  /** A `repeat` test ended: run the body again, or resolve it. */
  const loopTestEnded = (loop: Loop, status: JobStatus) => {
    const rep = loop.body[0].repeat!;
    const holder = loop.holder!;
    loopTests.set(loop.test.name, status);
    /** Resolves the body: the holder gives back the slot it kept. */
    const resolveBody = (st: JobStatus, holderStatus = st) => {
      loop.broken = true;
      for (const m of loop.body) if (m !== holder) complete(m, st, false);
      complete(holder, holderStatus);
    };
    if (status === "cancelled" || plan.stopping) return resolveBody("cancelled");
    const again = rep.until !== undefined ? status !== "ok" : status === "ok";
    if (!again) return resolveBody("ok");
    if (loop.iteration < rep.max) {
      slots.give(holder.tokens);
      pools.give(holder.pools);
      loop.iteration++;
      loop.pending = new Set(loop.body.map((m) => m.name));
      loopQueue.push(...loop.body);
      return pump();
    }
    const how = rep.until !== undefined
      ? `until ${rep.until} succeeds`
      : `while ${rep.while} succeeds`;
    const what = loop.body.length > 1 ? loop.body[0].group! : holder.name;
    emit({
      type: "emit.error",
      t: t(),
      job: what,
      error: `${what}: repeat ${how}: gave up after ${rep.max} runs (max)`,
    });
    resolveBody("ok", "failed");
  };

  /** Body jobs of loops waiting for a slot to run again, in order. */
  const loopQueue: JobSpec[] = [];
  /** Starts what `loopQueue` holds as slots allow (or cancels it when the run stops). */
  const startLooped = () => {
    while (loopQueue.length) {
      const spec = loopQueue[0];
      const loop = loops.get(spec.name)!;
      if (plan.stopping || loop.broken) {
        loopQueue.shift();
        loop.broken = true;
        complete(spec, "cancelled", false);
        continue;
      }
      if (!slots.tryTake(spec.tokens)) return;
      if (!pools.tryTake(spec.pools)) {
        slots.give(spec.tokens);
        return;
      }
      loopQueue.shift();
      startAttempt(spec, 1, { iteration: loop.iteration });
    }
  };

  /** A job is resolved: its slots go back (unless given already), its dependents may start. */
  const complete = (spec: JobSpec, status: JobStatus, give = true) => {
    if (give) {
      slots.give(spec.tokens);
      pools.give(spec.pools);
    }
    results.set(spec.name, { status });
    if (status === "ok") opts.state?.succeeded(spec);
    plan.finish(spec.name, status);
    if (status !== "ok" && status !== "cancelled" && plan.failureCounts(spec.name)) {
      failures++;
      if (!opts.keepGoing) stopOnFailure();
    }
    pump();
  };

  /** Jobs that ran as `repeat` tests, with their last status. */
  const loopTests = new Map<string, JobStatus>();
  /** The loop of each body job: its own, or its `foreach` group's. */
  const loops = new Map<string, Loop>();
  const loopOf = new Map<string, Loop>();
  for (const s of selected) {
    const test = s.repeat?.until ?? s.repeat?.while;
    if (test === undefined) continue;
    loopTests.set(test, "ok");
    plan.conditionJobs.add(test);
    const key = s.group ?? s.name;
    let loop = loopOf.get(key);
    if (!loop) {
      loop = { body: [], test: graph.get(test), iteration: 1, pending: new Set(), broken: false };
      loopOf.set(key, loop);
    }
    loop.body.push(s);
    loop.pending.add(s.name);
    loops.set(s.name, loop);
  }

  /** The first bad job definition of each `emits: jobs` job (or feed). */
  const emitErrors = new Map<string, string>();

  /** Jobs added during the run: who made them, and their command. */
  const madeBy = new Map<string, string>();

  /** Adds a generated job to the plan, or reports why it cannot join. */
  const addGenerated = (by: string, make: () => JobSpec, line?: number) => {
    try {
      const spec = make();
      // A retried generator that says the same again adds nothing new.
      const key = `${by}\0${spec.command}`;
      if (madeBy.get(spec.name) === key) return;
      plan.add(spec, by);
      madeBy.set(spec.name, key);
      emit({ type: "job.add", t: t(), job: spec.name, by, ...(line ? { line } : {}) });
    } catch (e) {
      const error = e instanceof JxInputError
        ? e.format()
        : `${by} stdout${line ? `:${line}` : ""}: ${(e as Error).message}`;
      emit({ type: "emit.error", t: t(), job: by, ...(line ? { line } : {}), error });
      if (!emitErrors.has(by)) {
        emitErrors.set(by, error);
        if (!opts.keepGoing) stopOnFailure();
      }
    }
    flushSkips();
  };

  /** Splits an `emits: jobs` job's stdout into lines, each a job that joins at once. */
  const emitLines = (spec: JobSpec) => {
    const decoder = new TextDecoder();
    let partial = "";
    let lineNo = 0;
    const take = (text: string) => {
      const parts = text.split("\n");
      partial = parts.pop()!;
      for (const raw of parts) {
        lineNo++;
        const line = raw.trim();
        if (line === "" || line.startsWith("#")) continue;
        const n = lineNo;
        addGenerated(spec.name, () => parseEmittedJob(line, n, spec.name, spec.emits!), n);
      }
    };
    return {
      push(chunk: Uint8Array) {
        take(partial + decoder.decode(chunk, { stream: true }));
        pump();
      },
      end() {
        take(partial + decoder.decode() + "\n");
      },
    };
  };

  /** Reads a library feed: a pseudo-job that is running until its stream ends. */
  const startFeed = (feed: JobFeed) => {
    const ctx: EmitContext = {
      file: feed.name,
      baseDir: currentDir(),
      env: {},
      vars: {},
      pools: Object.fromEntries(graph.pools),
      ...feed.context,
    };
    plan.add({
      name: feed.name,
      kind: "job",
      index: -1,
      argv: [],
      command: `(feed ${feed.name})`,
      needs: [],
      reads: [],
      writes: [],
      pools: {},
      tokens: 0,
      cwd: ctx.baseDir,
      env: {},
      graceMs: 0,
      retries: 0,
      pos: { line: 1, col: 1 },
    });
    plan.start(feed.name);
    const parse = feed.parse ?? ((line: string) => {
      const l = line.trim();
      return l === "" || l.startsWith("#") ? undefined : JSON.parse(l);
    });
    const take = (line: string, n: number) => {
      let entries: Record<string, unknown> | Record<string, unknown>[] | undefined;
      try {
        entries = parse(line, n);
      } catch (e) {
        return addGenerated(feed.name, () => {
          throw new JxInputError(`bad line: ${(e as Error).message}`, feed.name, {
            line: n,
            col: 1,
          });
        }, n);
      }
      if (entries === undefined) return;
      for (const entry of Array.isArray(entries) ? entries : [entries]) {
        addGenerated(feed.name, () => parseEmittedJob(entry, n, feed.name, ctx), n);
      }
    };
    // The run stopping (a signal, fail-fast) stops reading: the feed is cancelled.
    let cancel!: () => void;
    const cancelled = new Promise<{ done: true; value: undefined }>((r) =>
      cancel = () => r({ done: true, value: undefined })
    );
    feedCancels.push(cancel);
    (async () => {
      const decoder = new TextDecoder();
      let partial = "";
      let n = 0;
      const it = (feed.stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      for (;;) {
        const next = await Promise.race([it.next(), cancelled]);
        if (next.done || plan.stopping) {
          if (!next.done || plan.stopping) it.return?.()?.catch(() => {});
          if (plan.stopping) return;
          break;
        }
        if (finished) return;
        const chunk = next.value;
        const parts = (partial + decoder.decode(chunk, { stream: true })).split("\n");
        partial = parts.pop()!;
        for (const line of parts) take(line, ++n);
        pump();
      }
      partial += decoder.decode();
      if (partial !== "") take(partial, ++n);
    })().catch((e) => {
      addGenerated(feed.name, () => {
        throw new JxInputError(`read failed: ${(e as Error).message}`, feed.name);
      });
    }).finally(() => {
      if (finished) return;
      const status = emitErrors.has(feed.name) ? "failed" : plan.stopping ? "cancelled" : "ok";
      results.set(feed.name, { status });
      plan.finish(feed.name, status);
      if (status === "failed" && plan.failureCounts(feed.name)) failures++;
      pump();
    });
  };

  /** Expands a deferred `foreach` now that what it globs is written; resolves the group. */
  const expandGroup = (spec: JobSpec) => {
    plan.start(spec.name);
    let specs: JobSpec[] = [];
    try {
      specs = expandDeferred(spec);
    } catch (e) {
      addGenerated(spec.name, () => {
        throw e;
      });
    }
    for (const s of specs) addGenerated(spec.name, () => s);
    const status = emitErrors.has(spec.name) ? "failed" : "ok";
    results.set(spec.name, { status });
    plan.finish(spec.name, status);
    if (status === "failed" && plan.failureCounts(spec.name)) failures++;
  };

  const verdicts = new Map<string, boolean>();
  /** Resolves the job as up to date when the state says so (checked once per run). */
  const skipIfUpToDate = (spec: JobSpec): boolean => {
    // A generator always runs: what it would emit is not known otherwise; a loop too.
    if (!opts.state || spec.emits || spec.deferred || spec.repeat) return false;
    let up = verdicts.get(spec.name);
    if (up === undefined) {
      up = opts.state.check(spec).upToDate && !opts.force;
      verdicts.set(spec.name, up);
    }
    if (up) plan.skipReady(spec.name, "up-to-date");
    return up;
  };

  /** A job whose `when:` fails here is skipped, as one whose `if:` failed: its dependents run. */
  const skipIfWhenFails = (spec: JobSpec): boolean => {
    if (spec.kind !== "job" || whenFails(spec) === undefined) return false;
    plan.skipReady(spec.name, "condition");
    return true;
  };

  const tryStart = (spec: JobSpec): "started" | "blocked" | "full" => {
    if (spec.kind === "module") {
      startModule(spec);
      return "started";
    }
    if (skipIfWhenFails(spec)) return "started";
    if (host && failUnregistered(spec)) {
      const loop = loops.get(spec.name);
      if (loop && !loop.broken) breakLoop(loop, spec.name);
      return "started";
    }
    if (spec.deferred) {
      expandGroup(spec);
      return "started";
    }
    const tested = loopTests.get(spec.name);
    if (tested !== undefined) {
      // A `repeat` test ran inside its job's loop: it resolves with its last status.
      plan.start(spec.name);
      results.set(spec.name, { status: tested });
      plan.finish(spec.name, tested);
      return "started";
    }
    if (skipIfUpToDate(spec)) return "started";
    // When even one slot cannot be had, no other job can start either.
    if (!slots.tryTake(spec.tokens)) return spec.tokens === 1 ? "full" : "blocked";
    if (!pools.tryTake(spec.pools)) {
      slots.give(spec.tokens);
      return "blocked";
    }
    plan.start(spec.name);
    startAttempt(spec, 1, spec.repeat ? { iteration: 1 } : undefined);
    return "started";
  };

  const pump = () => {
    if (finished) return;
    if (loopQueue.length) startLooped();
    if (!plan.stopping) {
      if (opts.dryRun) {
        plan.offerReady((spec) => {
          if (!skipIfWhenFails(spec) && !skipIfUpToDate(spec)) {
            plan.skipReady(spec.name, "dry-run");
          }
          return "started";
        });
      } else plan.offerReady(tryStart);
    }
    flushSkips();
    if (plan.done && running.size === 0) finish();
  };

  const unlisten: (() => void)[] = [];
  const onSignal = (sig: ListenSignal) => {
    if (interrupted) {
      for (const r of running.values()) r.handle.kill("SIGKILL");
      host?.interrupt(sig);
      return;
    }
    interrupted = sig;
    plan.stop("interrupt");
    host?.interrupt(sig);
    for (const c of feedCancels) c();
    // SIGTERM, whatever jx received: a shell's background jobs ignore SIGINT.
    for (const r of running.values()) terminate(r, "SIGTERM");
    pump();
  };
  if (opts.control) opts.control.stop = onSignal;
  if (opts.handleSignals !== false) {
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as ListenSignal[]) {
      unlisten.push(reactor.onSignal(sig, () => onSignal(sig)));
    }
  }

  const finish = () => {
    finished = true;
    slots.onAvailable = undefined;
    if (!host) return end();
    // Modules are stopped (or held in the foreground) once the jobs are done.
    const status = interrupted ? "interrupted" : failures ? "failed" : "ok";
    host.finish(status).catch(() => ({ failed: true })).then(({ failed }) => {
      if (failed) failures++;
      end();
    });
  };

  const end = () => {
    for (const u of unlisten) u();
    const exit = interrupted ? SIGNAL_EXIT[interrupted] : failures ? 1 : 0;
    const status = interrupted ? "interrupted" : failures ? "failed" : "ok";
    const ms = reactor.now() - runStart;
    emit({ type: "run.end", t: t(), status, exit, ms });
    resolveDone({ exit, status, results, ms });
  };

  slots.onAvailable = () => pump();
  emit({
    type: "run.start",
    t: t(),
    jobs: plan.size - modules.length,
    slots: slots.limit,
    jobserver: opts.jobserver ?? "none",
  });
  host?.attach({ graph, selected, reactor, emit, t, env: envFor });
  for (const feed of opts.feeds ?? []) startFeed(feed);
  pump();
  return done;
}

function currentDir(): string {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  return g.Deno && !g.Bun ? g.Deno.cwd() : g.process.cwd();
}

/**
 * A copy of a string-valued record, same keys in the same order, built so
 * that V8 keeps it in fast mode (as `JSON.parse` builds objects), whatever
 * mode the original is in.
 */
function fastCopy(o: Record<string, string>): Record<string, string> {
  // Only plain strings survive JSON unchanged: anything else is used as it is.
  for (const k in o) if (typeof o[k] !== "string" || !Object.hasOwn(o, k)) return o;
  return JSON.parse(JSON.stringify(o));
}

function currentEnv(): Record<string, string> {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Deno && !g.Bun) return g.Deno.env.toObject();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(g.process?.env ?? {})) if (typeof v === "string") out[k] = v;
  return out;
}
