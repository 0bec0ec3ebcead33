/**
 * The builder: drives a pure `Plan` through a `Runner`. It offers ready
 * jobs to the runner, hears of starts, output and ends, resolves jobs in
 * the plan (one path), retries, and hands `repeat` loops (repeat.ts),
 * generated jobs (generated.ts) and modules (`ModuleHost`) their turn.
 * Event-driven: a job starts in the callback that resolved its last
 * dependency; there is no polling.
 *
 * @module
 */
import type { Graph } from "../graph/graph.ts";
import type { JobSpec } from "../graph/types.ts";
import { startArgv } from "../graph/argv.ts";
import { missingWhenFile, whenFails } from "../graph/when.ts";
import { namesAnyOf } from "../graph/glob.ts";
import { resourcesConflict } from "../graph/edges.ts";
import type { ExitStatus, ListenSignal, Reactor, StreamName } from "../reactor/types.ts";
import type { JobStatus, RunEvent } from "./events.ts";
import { RunFrame } from "./frame.ts";
import { Generated, type GenHost } from "./generated.ts";
import type { ModuleHost, RunOptions, RunResult } from "./options.ts";
import { type Offered, Plan, type Skipped } from "./plan.ts";
import { type LoopHost, type LoopPlace, Loops } from "./repeat.ts";
import { Attempts, retryDelayMs } from "./attempts.ts";
import { type Runner, type RunnerEnd, type StartedWhere, tooBigFor } from "./runner.ts";
import { Pools } from "./slots.ts";

/** One attempt in flight, as the builder sees it (its handle and timers: `Attempts`). */
interface Running {
  spec: JobSpec;
  attempt: number;
  loop?: LoopPlace;
  start: number;
  started: boolean;
  timedOut: boolean;
  /** An `emits: jobs` job's stdout, split into jobs. */
  lines?: { push(chunk: Uint8Array): void; end(whole: boolean): void };
}

type JobEnd = Extract<RunEvent, { type: "job.end" }>;
type JobSkip = Extract<RunEvent, { type: "job.skip" }>;

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * One run of a selection. `runJobs` (run.ts) makes one and calls `run()`.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { FakeReactor } from "../reactor/mod.ts";
 * import { Builder } from "./builder.ts";
 * import { LocalRunner } from "./local_runner.ts";
 * import { LocalSlots } from "./slots.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  a: { run: x }\n", "j.yaml");
 * const reactor = new FakeReactor(() => ({ ms: 5 }));
 * const runner = new LocalRunner(reactor, new LocalSlots(1));
 * const env = (spec: { name: string }) => ({ JX_JOB: spec.name });
 * const done = new Builder(g, g.jobs, { reactor }, runner, env).run();
 * await reactor.run();
 * assertEquals((await done).exit, 0);
 * ```
 */
export class Builder implements LoopHost, GenHost {
  readonly plan: Plan;
  finished = false;
  private reactor: Reactor;
  private host?: ModuleHost;
  /** Reporters, clock, stop signals, run.start/job.start/run.end (shared with `jx sh`). */
  private frame: RunFrame;
  private pools: Pools;
  private loops: Loops;
  private gen = new Generated();
  private attempts: Attempts;
  private results: RunResult["results"] = new Map();
  /**
   * Each checked job's verdict (up to date or not), by its place in the plan (`spec.index`): an
   * array, not a map by name (an entry per job of a dry run of 100,000).
   */
  private verdicts: (boolean | undefined)[];
  /**
   * A dry run's jobs that may run, each with the job that would run it names (those that would
   * run are the plan's skipped `dry-run` without an entry: no entry for each of 100,000 jobs).
   */
  private mayRunAfter = new Map<string, string>();
  /**
   * A dry run's jobs out of date only by inputs (`Verdict.inputs`): those paths, by `spec.index`.
   */
  private staleInputs = new Map<number, string[]>();
  private failures = 0;
  private failStopped = false;
  /**
   * The interactive job running (or waiting to retry), if one is: nothing
   * starts beside it, and it starts only when nothing runs ("full" stops the
   * offer, so later jobs wait for it rather than pass it).
   */
  private console?: string;
  private resolveDone!: (r: RunResult) => void;
  private rejectDone!: (error: unknown) => void;

  /** A run of `selected` over `runner`; `env` makes each job's environment. */
  constructor(
    readonly graph: Graph,
    private selected: JobSpec[],
    private opts: RunOptions,
    private runner: Runner,
    private readonly envOf: (spec: JobSpec) => Record<string, string>,
  ) {
    this.reactor = opts.reactor;
    this.host = runner.passOver ? undefined : opts.modules;
    const reporters = [...(opts.reporters ?? []), ...(this.host ? [this.host] : [])];
    // A reporter's exception stops the run once the step it came from is over.
    const threw = () => this.reactor.setTimer(0, () => this.stopForReporter());
    this.frame = new RunFrame(this.reactor, reporters, opts.t0, threw);
    this.emit = this.frame.emit;
    this.t = this.frame.t;
    this.pools = new Pools(graph.pools);
    this.plan = new Plan(graph, selected, (spec) => runner.laneOf?.(spec) ?? 0);
    this.verdicts = new Array(graph.jobs.length).fill(undefined);
    this.loops = new Loops(graph, selected, this.plan);
    this.attempts = new Attempts(this.reactor, runner);
  }

  /**
   * Starts the run; resolves when every selected job is resolved (and
   * modules stopped), or rejects then with a reporter's exception.
   */
  run(): Promise<RunResult> {
    const done = new Promise<RunResult>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    const { frame } = this;
    if (this.opts.control) {
      this.opts.control.stop = (sig) => this.onSignal(sig, frame.interrupt(sig));
      this.opts.control.cancel = () => {
        if (frame.cancel()) this.stopRun("cancel");
      };
    }
    if (this.opts.control) this.opts.control.suspend = (stopped) => this.suspend(stopped);
    if (this.opts.handleSignals !== false) {
      frame.listen((sig, first) => this.onSignal(sig, first));
      frame.listenSuspend(this);
    }
    this.runner.onCapacity = () => this.pump();
    const modules = this.selected.filter((j) => j.kind === "module").length;
    const left = this.opts.leftUpToDate ?? [];
    frame.begin(
      this.plan.size - modules + left.length,
      this.runner.limit,
      this.opts.slots?.role ?? "none",
    );
    const { graph, selected, reactor } = this;
    this.host?.attach({
      graph,
      selected,
      reactor,
      emit: this.emit,
      t: this.t,
      env: this.envOf,
      wake: () => this.pump(),
    });
    const host = this.host;
    if (host && this.opts.slots) this.opts.slots.othersMayHold = () => host.anyAlive?.() ?? true;
    if (left.length) frame.upToDate(left);
    for (const feed of this.opts.feeds ?? []) this.gen.startFeed(this, feed);
    this.pump();
    return done;
  }

  /** Sends an event to the run's reporters (and the module host). */
  readonly emit: (e: RunEvent) => void;

  /** Milliseconds since the run's `t0`. */
  readonly t: () => number;

  /** Starts what can start, reports skips, ends the run when nothing is left. */
  pump(): void {
    if (this.finished) return;
    if (this.frame.reporterError && !this.frame.interrupted) return this.stopForReporter();
    this.pumping++;
    try {
      if (this.loops.queued) this.loops.startQueued(this);
      if (!this.plan.stopping) this.plan.offerReady(this.tryStart);
      // Only the outermost turn looks: one nested in an offer may see jobs it holds aside.
      if (this.pumping === 1 && this.attempts.size === 0 && this.plan.stalled) this.abandon();
      this.flushSkips();
    } finally {
      this.pumping--;
    }
    if (this.plan.done && this.attempts.size === 0) this.finish();
  }

  /** How deep `pump` calls are nested (a start that fails at once pumps from inside an offer). */
  private pumping = 0;

  /**
   * The plan is stalled (jobs left that wait for each other: a cycle the
   * loader refuses, so a damaged graph or a bug): they are skipped, never
   * waited for. In a run that was stopping that is all (a stop signal ends
   * it, as any other); in one that was not, the run fails, saying which.
   */
  private abandon(): void {
    const stopping = this.plan.stopping;
    const left = this.plan.abandon(stopping ?? "failure");
    if (stopping) return;
    this.failures++;
    const some = left.slice(0, 5).map((n) => `'${n}'`).join(", ");
    const more = left.length > 5 ? ` and ${left.length - 5} more` : "";
    this.emit({
      type: "emit.error",
      t: this.t(),
      job: left[0],
      error: `${some}${more}: wait for each other and can never start (not run)`,
    });
  }

  /**
   * Reports the skips the plan made; a loop's body job that will not run ends its loop. A
   * `repeat` test that ran is not skipped when its loop fails or the run stops: it keeps its
   * last status, as when the loop ends well.
   */
  flushSkips(): void {
    for (const s of this.plan.takeSkipped()) {
      if (s.reason !== "dry-run" && this.loops.ranAsTest(s.job)) {
        this.results.set(s.job, { status: this.loops.testStatus(s.job)! });
        continue;
      }
      this.results.set(s.job, { status: "skipped", reason: s.reason, because: s.because });
      // A job left out because a test failed (whose failure is an answer, not counted) did not
      // succeed, so neither did the run; unless it is a test itself (skipped, it answers too).
      const root = s.because;
      if (
        s.reason === "dependency-failed" && root && !this.plan.failureCounts(root) &&
        this.plan.failureCounts(s.job)
      ) this.failures++;
      this.emit(this.skipEvent(s));
      this.loops.notRun(this, s.job);
    }
  }

  /** The `job.skip` of a skip; a dry run's job that may run names the job it runs after. */
  private skipEvent(s: Skipped): JobSkip {
    const after = s.reason === "dry-run" ? this.mayRunAfter.get(s.job) : undefined;
    const e: JobSkip = {
      type: "job.skip",
      t: this.t(),
      job: s.job,
      reason: s.reason,
      because: after ?? s.because,
    };
    // Set, not spread in (a temporary object per skip).
    if (after !== undefined) e.may = true;
    return e;
  }

  /**
   * Offers one ready node (`offer`). An exception there (a `state` whose `check` or `started`
   * throws, a runner whose `start` does) stops the run as a reporter's does, the node resolved
   * as failed: the run rejected at once, its other jobs left running, or, from a later offer,
   * the node left neither ready nor running and the run pending for good.
   */
  private readonly tryStart = (spec: JobSpec): Offered => {
    try {
      return this.offer(spec);
    } catch (error) {
      this.frame.fault(error);
      if (!this.plan.outcome(spec.name) && !this.attempts.has(spec.name)) {
        this.failWithoutStart(spec, `cannot start: ${(error as Error)?.message ?? error}`);
      }
      return "started";
    }
  };

  /** Offers one ready node: a module, a generator, a loop's test, or a job for the runner. */
  private offer(spec: JobSpec): Offered {
    const pass = this.runner.passOver;
    if (pass) {
      if (!this.mayMeetWhen(spec) && !this.skipIfWhenFails(spec)) this.passOver(spec, pass);
      return "started";
    }
    // A module it needs went down after it was ready, and comes back: wait for it (`wake`).
    if (this.host?.comingBack && spec.needs.some((n) => this.host!.comingBack!(n))) {
      return "blocked";
    }
    if (spec.kind === "module") return this.startModule(spec), "started";
    if (this.skipIfWhenFails(spec)) return "started";
    const unregistered = this.unregisteredNeed(spec);
    if (unregistered) return this.cannotStart(spec, unregistered);
    if (spec.deferred) return this.gen.expandGroup(this, spec), "started";
    const tested = this.loops.testStatus(spec.name);
    if (tested !== undefined) {
      // A `repeat` test ran inside its job's loop: it resolves with its last status.
      this.plan.start(spec.name);
      this.resolve(spec, tested);
      return "started";
    }
    if (this.skipIfUpToDate(spec)) return "started";
    const tooBig = tooBigFor(this.runner, spec);
    if (tooBig !== undefined) return this.cannotStart(spec, tooBig);
    if (this.console || (spec.interactive && this.attempts.size > 0)) return "stop"; // runs alone
    const got = this.reserveOrSay(spec);
    if (got !== "ok") return got;
    if (spec.interactive) this.console = spec.name;
    this.plan.start(spec.name);
    this.opts.state?.started?.(spec);
    this.startAttempt(spec, 1, spec.repeat ? { iteration: 1 } : undefined);
    return "started";
  }

  /** Why a module the job needs is not there: not registered (its `when:` fails), or stopped by a user. */
  private unregisteredNeed(spec: JobSpec): string | undefined {
    if (!this.host) return undefined;
    for (const n of spec.needs) {
      const why = this.host.notRegistered(n) ?? this.host.stoppedByUser?.(n);
      if (why) return why;
    }
  }

  /** A job that can never start here fails with `error`; a loop it is in ends. */
  private cannotStart(spec: JobSpec, error: string): "started" {
    this.failWithoutStart(spec, error);
    this.loops.failedToStart(this, spec.name);
    return "started";
  }

  /**
   * A job whose `when:` fails here is skipped, as one whose `if:` failed: its dependents run.
   * A deferred `foreach` is judged by its `os` and `env` alone: its `file` may name an item's
   * (`${S}.ok`), which each item, once expanded, checks for itself.
   */
  private skipIfWhenFails(spec: JobSpec): boolean {
    if (spec.kind !== "job") return false;
    const w = spec.deferred && spec.when?.file !== undefined
      ? { when: { ...spec.when, file: undefined } }
      : spec;
    if (whenFails(w) === undefined) return false;
    this.plan.skipReady(spec.name, "condition");
    return true;
  }

  /**
   * A dry run's job whose `when: { file }` fails only because the file is not there yet, while
   * a job it waits for that would or may run writes it: the run checks the condition when the
   * job would start, after that job, so the job may run (after it).
   */
  private mayMeetWhen(spec: JobSpec): boolean {
    const read = spec.kind === "job" && !spec.deferred ? missingWhenFile(spec) : undefined;
    if (read === undefined) return false;
    const writer = this.graph.depsOf(spec.name).find((e) =>
      e.kind !== "order" && this.dryListed(e.from) &&
      this.graph.byName.get(e.from)?.writes.some((w) => resourcesConflict(w, read))
    );
    if (!writer) return false;
    this.mayRunAfter.set(spec.name, writer.from);
    this.plan.skipReady(spec.name, "dry-run");
    return true;
  }

  /**
   * A dry run: a job that is out of date would run; one up to date now that
   * waits (by `needs`, data or a condition) for a job that would or may run
   * may run (when that job's outputs change; early cutoff can spare it);
   * the rest are up to date.
   */
  private passOver(spec: JobSpec, pass: "dry-run"): void {
    if (spec.deferred ? this.itemsUpToDate(spec) : this.upToDate(spec)) {
      const deps = this.graph.depsOf(spec.name);
      const after = deps.find((e) => e.kind !== "order" && this.dryListed(e.from));
      if (!after) return this.plan.skipReady(spec.name, "up-to-date");
      if (!this.surelyAfter(deps, spec)) this.mayRunAfter.set(spec.name, after.from);
    } else {
      // Out of date only by inputs that jobs it waits for, which would or may run, write: the
      // run checks it again once they are done, and it runs only if they leave those inputs
      // other than its last run read them (an intermediate file deleted, rewritten the same).
      const stale = this.staleInputs.get(spec.index);
      const deps = stale && this.graph.depsOf(spec.name);
      const after = deps && this.writerOfAll(stale, deps);
      if (after !== undefined && !this.surelyAfter(deps!, spec)) {
        this.mayRunAfter.set(spec.name, after);
      }
    }
    this.plan.skipReady(spec.name, pass);
  }

  /**
   * Whether one of `deps` would run for sure writing an `@name` `spec` reads: that makes it run
   * (its token changes: state/check.ts); no early cutoff spares it.
   */
  private surelyAfter(deps: readonly { from: string }[], spec: JobSpec): boolean {
    return deps.some((e) => this.wouldRunWriting(e.from, spec));
  }

  /**
   * The first of `deps` that a dry run listed and whose `writes` name one of `inputs`, when each
   * of `inputs` is named by such a job; else undefined.
   */
  private writerOfAll(
    inputs: string[] | undefined,
    deps: readonly { from: string; kind: string }[],
  ): string | undefined {
    if (!inputs?.length) return undefined;
    const writers = deps.filter((e) => e.kind !== "order" && this.dryListed(e.from))
      .map((e) => this.graph.byName.get(e.from)!).filter((w) => w);
    let first: string | undefined;
    for (const p of inputs) {
      const names = namesAnyOf([p]);
      const w = writers.find((j) => j.writes.some(names));
      if (!w) return undefined;
      first ??= w.name;
    }
    return first;
  }

  /** Whether a dry run has `from` run for sure, writing an `@name` that `spec` reads, not writes. */
  private wouldRunWriting(from: string, spec: JobSpec): boolean {
    if (!this.dryListed(from) || this.mayRunAfter.has(from)) return false;
    const writer = this.graph.byName.get(from);
    return !!writer?.writes.some((w) =>
      w[0] === "@" && spec.reads.includes(w) && !spec.writes.includes(w)
    );
  }

  /** Whether a dry run listed the job: it would or may run (`passOver` skipped it as `dry-run`). */
  private dryListed(name: string): boolean {
    const o = this.plan.outcome(name);
    return o?.kind === "skipped" && o.reason === "dry-run";
  }

  /**
   * A dry run's verdict on a deferred `foreach`, which the run expands and does not run itself:
   * up to date when each of its items, as the disk gives them now, is (none: nothing to run).
   */
  private itemsUpToDate(spec: JobSpec): boolean {
    const state = this.opts.state;
    if (!state || this.opts.force) return false;
    const items = this.gen.itemsOf(spec);
    return !!items && items.every((j) => state.check(j).upToDate);
  }

  /** Resolves the job as up to date when the state says so. */
  private skipIfUpToDate(spec: JobSpec): boolean {
    const up = this.upToDate(spec);
    if (up) this.plan.skipReady(spec.name, "up-to-date");
    return up;
  }

  /** Whether the state says the job is up to date (checked once per run). */
  private upToDate(spec: JobSpec): boolean {
    const state = this.opts.state;
    // A generator always runs: what it would emit is not known otherwise; a loop too.
    if (!state || spec.emits || spec.deferred || spec.repeat) return false;
    let up = this.verdicts[spec.index];
    if (up === undefined) {
      // A dry run takes nothing from `check` but its verdict: spare the stats when it is sure.
      const sure = this.runner.passOver && state.surelyOutOfDate?.(spec);
      const verdict = sure ? undefined : state.check(spec);
      up = !!verdict?.upToDate && !this.opts.force;
      this.verdicts[spec.index] = up;
      if (this.runner.passOver && !this.opts.force && verdict?.inputs) {
        this.staleInputs.set(spec.index, verdict.inputs);
      }
    }
    return up;
  }

  private reserveOrSay(spec: JobSpec): "ok" | "blocked" | "full" {
    const got = this.runner.reserve(spec);
    if (got !== "ok") return got;
    if (this.pools.tryTake(spec.pools)) return "ok";
    this.runner.release(spec);
    return "blocked";
  }

  /** A `repeat` loop's body job takes its capacity to run again; an interactive one runs alone. */
  reserve(spec: JobSpec): boolean {
    if (this.console || (spec.interactive && this.attempts.size > 0)) return false;
    if (this.reserveOrSay(spec) !== "ok") return false;
    if (spec.interactive) this.console = spec.name;
    return true;
  }

  /** Gives a job's capacity back: an interactive job's loop lets the others start meanwhile. */
  release(spec: JobSpec): void {
    this.runner.release(spec);
    this.pools.give(spec.pools);
    if (this.console === spec.name) this.console = undefined;
  }

  /** Fails a job without starting it (a `job.start` with pid 0, then its `job.end` with `error`). */
  private failWithoutStart(spec: JobSpec, error: string): void {
    this.plan.start(spec.name);
    this.frame.jobStart(spec.name, 0, 1, { executor: this.runner.executorOf?.(spec) ?? "local" });
    const end: JobEnd = {
      type: "job.end",
      t: this.t(),
      job: spec.name,
      status: "failed",
      exit: null,
      signal: null,
      ms: 0,
      attempt: 1,
      error,
    };
    this.emit(end);
    this.resolve(spec, "failed");
  }

  /** Starts a module through the host; it holds no job slot. */
  private startModule(spec: JobSpec): void {
    const host = this.host!;
    if (host.notRegistered(spec.name)) {
      this.plan.skipReady(spec.name, "condition");
      this.flushSkips(); // before its dependents start
      return;
    }
    this.plan.start(spec.name);
    host.start(spec, (status) => {
      if (this.finished) return;
      this.resolve(spec, status);
      this.pump();
    });
  }

  /**
   * The one resolve path: records the result (and a success in the state
   * when `record`), resolves the node, counts a failure that counts and
   * stops the run on it unless `-k`.
   */
  resolve(spec: JobSpec | string, status: JobStatus, record = false): void {
    const name = typeof spec === "string" ? spec : spec.name;
    this.results.set(name, { status });
    if (record && status === "ok") this.opts.state?.succeeded(spec as JobSpec);
    this.plan.finish(name, status);
    if (status === "ok" || status === "cancelled" || !this.plan.failureCounts(name)) return;
    this.failures++;
    this.failFast();
  }

  /** A job that ran is resolved: its capacity goes back (unless given already), its dependents may start. */
  complete(spec: JobSpec, status: JobStatus, give = true): void {
    if (give) this.release(spec);
    if (this.console === spec.name) this.console = undefined;
    this.resolve(spec, status, true);
    this.pump();
  }

  /** After a failure: start nothing more (unless `-k`). */
  failFast(): void {
    if (this.opts.keepGoing || this.failStopped) return;
    this.failStopped = true;
    this.plan.stop("failure");
    this.host?.interrupt("failure");
    this.gen.cancelFeeds();
    // A job waiting to retry ends as its last attempt ended, now: not after its delay.
    this.attempts.cancelWaits();
    // Nor does one wait on for hours for a Slurm allocation to run after the run failed.
    this.runner.withdrawWaiting?.();
  }

  /** Starts one attempt of a job on the runner. */
  startAttempt(spec: JobSpec, attempt: number, loop?: LoopPlace): void {
    const r: Running = {
      spec,
      attempt,
      start: this.reactor.now(),
      started: false,
      timedOut: false,
      loop,
      lines: spec.emits ? this.gen.lines(this, spec) : undefined,
    };
    const env = this.envOf(spec);
    if (loop) env.JX_ITERATION = String(loop.iteration);
    const req = { spec, argv: startArgv(spec), env, attempt, iteration: loop?.iteration };
    this.attempts.start(spec.name, req, {
      started: (pid, where) => this.started(r, pid, where),
      output: (stream, chunk) => this.output(r, stream, chunk),
      ended: (end) => this.guarded(spec.name, () => this.ended(r, end)),
    }, { timeoutMs: spec.timeoutMs, graceMs: spec.graceMs, onTimeout: () => r.timedOut = true });
  }

  /**
   * Runs `step` of a job's end. An exception there (a bug, a failure nothing caught) stops the
   * run as a reporter's does (its jobs stopped, the run rejected with it: one line, exit 1), the
   * job resolved as failed: left running in the plan, the run never ended (Bun waited for good).
   */
  private guarded(job: string, step: () => void): void {
    try {
      step();
    } catch (error) {
      this.frame.fault(error);
      if (this.plan.running(job)) this.plan.finish(job, "failed");
      this.pump();
    }
  }

  private started(r: Running, pid: number, where?: StartedWhere, at = this.reactor.now()): void {
    r.started = true;
    // A job's `ms` counts from its `job.start`: not the cache's lookup or the spawn before it.
    r.start = at;
    this.frame.jobStart(r.spec.name, pid, r.attempt, where, r.loop?.iteration);
  }

  private output(r: Running, stream: StreamName, chunk: Uint8Array): void {
    // An `emits: jobs` job's stdout is job definitions, not output to show.
    if (r.lines && stream === "stdout") r.lines.push(chunk);
    else this.emit({ type: "job.output", t: this.t(), job: r.spec.name, stream, chunk });
  }

  /** An attempt is over: report it, then retry, go on with its loop, or resolve it. */
  private ended(r: Running, end: RunnerEnd): void {
    switch (end.kind) {
      case "skipped":
        this.release(r.spec);
        this.plan.skipReady(r.spec.name, end.reason);
        return this.pump();
      case "restored":
        return this.afterAttempt(r, this.restoredEnd(r, end.from, end.savedMs));
      case "exited":
        if (!r.started) {
          // Never started (a queue that refused it): job.start now, and ms counts from it.
          this.started(r, 0, { executor: this.runner.executorOf?.(r.spec) ?? "local" });
        }
        // A generator jx stopped (its timeout, a stop) was cut: its unfinished last line is no job.
        r.lines?.end(!r.timedOut && !this.frame.stopped);
        return this.afterAttempt(r, this.exitedEnd(r, end.status));
      default: {
        const _exhaustive: never = end;
        return _exhaustive;
      }
    }
  }

  /** The `job.end` of an attempt that restored the job's result without a process. */
  private restoredEnd(r: Running, from: "local" | "remote", savedMs?: number): JobEnd {
    const end = this.endEvent(r, "ok", { code: 0, signal: null });
    end.cache = from;
    if (savedMs !== undefined) end.saved_ms = round3(savedMs);
    return end;
  }

  /** The `job.end` of an attempt whose process exited. */
  private exitedEnd(r: Running, st: ExitStatus): JobEnd {
    let status: JobStatus = this.frame.stopped && st.code !== 0
      ? "cancelled"
      : r.timedOut
      ? "timeout"
      : st.code === 0 && !st.error
      ? "ok"
      : "failed";
    const badOutput = this.gen.errorOf(r.spec.name);
    if (status === "ok" && badOutput) status = "failed";
    const end = this.endEvent(r, status, st);
    const error = st.error ?? badOutput;
    if (error) end.error = error;
    if (st.cpu) {
      end.user_ms = round3(st.cpu.userMs);
      end.sys_ms = round3(st.cpu.sysMs);
    }
    if (st.maxRssKb) end.max_rss_kb = st.maxRssKb;
    if (st.left?.length) end.left = st.left;
    const retrying = (status === "failed" || status === "timeout") &&
      r.attempt <= r.spec.retries && !this.plan.stopping && !badOutput;
    if (retrying) end.retrying = retrying;
    const wait = retrying ? retryDelayMs(r.spec.retryDelay, r.attempt) : 0;
    if (wait) end.retry_in_ms = wait;
    return end;
  }

  private endEvent(r: Running, status: JobStatus, st: ExitStatus): JobEnd {
    // Optional keys are set one by one, in this order (spreads would make
    // temporary objects for every job).
    return {
      type: "job.end",
      t: this.t(),
      job: r.spec.name,
      status,
      exit: st.code,
      signal: st.signal,
      ms: this.reactor.now() - r.start,
      attempt: r.attempt,
    };
  }

  /** Emits the attempt's end, then retries, hands it to its loop, or resolves it. */
  private afterAttempt(r: Running, end: JobEnd): void {
    const { spec } = r;
    const test = r.loop?.test;
    if (end.status !== "ok" && (this.plan.conditionJobs.has(spec.name) || test)) {
      end.condition = true;
    }
    if (r.loop) end.iteration = r.loop.iteration;
    this.emit(end);
    // No process of a job runs now, but a job holds slots to retry: tokens a killed make took
    // are put back before the retry (with no job holding any, the pool counts itself).
    const held = end.retrying || this.attempts.size > 0;
    if (held && this.attempts.running === 0) this.opts.slots?.noJobRuns?.();
    if (end.retrying) return this.retry(r, end);
    if (test) return this.loops.testEnded(this, test, end.status);
    if (this.loops.bodyEnded(this, spec, end.status)) return;
    this.complete(spec, end.status);
  }

  /**
   * The next attempt of a failed job: at once, or after its `retries` delay
   * (the job keeps its slot meanwhile); a stop (Ctrl-C, or a failure elsewhere
   * without -k) during the wait ends the job as it ended.
   */
  private retry(r: Running, end: JobEnd): void {
    const ms = retryDelayMs(r.spec.retryDelay, r.attempt);
    if (!ms) return this.startAttempt(r.spec, r.attempt + 1, r.loop);
    // No attempt follows after all: its `job.end` again, without `retrying`, is the job's last word.
    const give = () => {
      const last: JobEnd = { ...end, t: this.t() };
      delete last.retrying;
      delete last.retry_in_ms;
      this.emit(last);
      this.complete(r.spec, end.status);
    };
    this.attempts.wait(r.spec.name, ms, () => {
      if (this.plan.stopping) give();
      else this.startAttempt(r.spec, r.attempt + 1, r.loop);
    }, give);
  }

  /** A stop (a signal, `jx ctl stop`): the first stops the run, a second kills what runs. */
  private onSignal(sig: ListenSignal, first: boolean): void {
    if (first) return this.stopRun(sig);
    this.attempts.killAll();
    this.host?.interrupt(sig);
  }

  /**
   * Ctrl-Z: the jobs' process groups are stopped, then the modules'; once
   * jx goes on, the modules go on first, then the jobs (which may need them).
   */
  suspend(stopped: boolean): void {
    if (stopped) this.attempts.suspend(true);
    this.host?.suspend?.(stopped);
    if (!stopped) this.attempts.suspend(false);
  }

  /** Starts nothing more; what runs gets SIGTERM, then SIGKILL after its grace. */
  private stopRun(why: ListenSignal | "cancel"): void {
    this.plan.stop("interrupt");
    this.host?.interrupt(why);
    this.gen.cancelFeeds();
    // SIGTERM, whatever jx received: a shell's background jobs ignore SIGINT.
    this.attempts.terminateAll("SIGTERM");
    this.pump();
  }

  /**
   * A reporter threw: the run stops as on SIGTERM (nothing more starts, the
   * jobs' process groups get SIGTERM and their grace, modules are stopped),
   * `run.end` says `failed`, exit 1, with the error, and `run()` rejects with
   * the exception once it is over.
   */
  private stopForReporter(): void {
    if (this.finished || !this.frame.stopForReporter()) return;
    this.onSignal("SIGTERM", true);
  }

  private finish(): void {
    this.finished = true;
    this.runner.onCapacity = undefined;
    this.runner.close?.();
    if (!this.host) return this.settle();
    // Modules are stopped (or held in the foreground) once the jobs are done.
    this.host.finish(this.status()).catch(() => ({ failed: true })).then(({ failed }) => {
      if (failed) this.failures++;
      this.settle();
    });
  }

  /**
   * The runner gives back what it holds (a Slurm allocation) before `run.end`, while the run
   * still hears stop signals: one that comes then makes `run.end` interrupted, as the exit.
   */
  private settle(): void {
    const settling = this.runner.settle?.();
    if (!settling) return this.end();
    settling.catch(() => {}).then(() => this.end());
  }

  private status(): RunResult["status"] {
    const { frame } = this;
    if (frame.byReporter) return "failed";
    if (frame.interrupted) return "interrupted";
    return frame.cancelled ? "cancelled" : this.failures ? "failed" : "ok";
  }

  private end(): void {
    const own = this.failures ? 1 : 0;
    const failed = this.runner.runExit?.(own) ?? own;
    const { exit, ms, status } = this.frame.end(failed);
    const threw = this.frame.reporterError;
    // Output jx could not write at run.end (its summary) leaves the exit run.end said.
    if (threw && !threw.atEnd) return this.rejectDone(threw.error);
    // The runner's exit (--strict's findings, Slurm's 2) can fail a run none of whose jobs did.
    const said = status === "failed" ? "failed" : this.status();
    this.resolveDone({ exit: exit ?? failed, status: said, results: this.results, ms });
  }
}
