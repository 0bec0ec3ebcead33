/**
 * The commands over a jobs file: `jx run`, `list`, `graph`, `explain`,
 * `clean`. `main.ts` imports this module only when one of them runs.
 *
 * @module
 */
import { JxInputError, usageError } from "../runtime/errors.ts";
import { warnMakeJobs } from "../jobserver/mod.ts";
import type { Graph, JobSpec } from "../graph/mod.ts";
import { missingWhenFile, whenFails } from "../graph/when.ts";
import { DEFAULT_GRACE_MS } from "../graph/duration.ts";
import { resourcesConflict } from "../graph/edges.ts";
import { createReactor, guardReactor, jobsWithinFds, type Reactor } from "../reactor/mod.ts";
import {
  collectGarbage,
  dieAtExit,
  envObject,
  escapeControls,
  isBun,
  projectDir,
  writeAll,
} from "../runtime/mod.ts";
import {
  fdNeed,
  LocalRunner,
  type Reporter,
  runJobs,
  type Runner,
  signalExit,
  type Slots,
} from "../scheduler/mod.ts";
import { alwaysRuns, isTracked, rootCacheEnv, UpToDate } from "../state/mod.ts";
import type { Args } from "./args.ts";
import { fileWord, load, runLogs, setUpSlots, type SlotSetup, takeLock } from "./setup.ts";
import type { RunUi } from "./ui_live.ts";

/** Jobs in a graph past which a run collects the loader's garbage before it starts. */
const BIG_GRAPH = 5000;

/** `jx run`. */
export async function cmdRun(args: Args): Promise<number> {
  const noop = await import("./noop_run.ts" as string) as typeof import("./noop_run.ts");
  // The jobs file's stamp before it is read, for the no-op record.
  const before = noop.jobsFileStamp(args);
  // After an edit: the lock the fast path found it under (still held), released here whatever
  // happens (once: a run that gets as far as running releases it itself).
  const held = noop.heldLock(before?.file);
  let released = false;
  const lock = held && {
    release() {
      if (!released) released = true, held.release();
    },
  };
  try {
    return await runHolding(args, noop, before, lock);
  } finally {
    lock?.release();
  }
}

type Noop = typeof import("./noop_run.ts");
type Stamp = ReturnType<Noop["jobsFileStamp"]>;
type Held = { release(): void } | undefined;
type PartRun = Awaited<ReturnType<Noop["partialRun"]>>;
type Recordable = Parameters<Noop["recordRun"]>[3];
type Trusted = ReturnType<Noop["trustedJobs"]>;

/** `jx run` from the jobs file's stamp `before`, holding `held` when the fast path gave it. */
async function runHolding(args: Args, noop: Noop, before: Stamp, held: Held): Promise<number> {
  // Only the jobs the edit touches, when the record allows it.
  const part = held && noop.mayRunPart(args, before) ? await noop.partialRun(args) : undefined;
  const graph = part?.graph ?? await load(args);
  const selected = part ? graph.jobs : await selectJobs(args, graph);
  if (args.jobArgs) {
    (await import("./job_args.ts" as string) as typeof import("./job_args.ts")).applyJobArgs(
      graph,
      args.names,
      args.jobArgs,
    );
  }
  // Parsing a big graph leaves tens of MB of temporaries: on Bun, collect them before the run
  // builds its plan on top (the run's own garbage is the MemoryKeeper reporter's). Not after a
  // read of the graph cache, which leaves few: a full collection of the live graph cost more
  // than the rest of loading 100,000 jobs from the cache. Not on V8 either, where the only
  // collection on call is a low-memory notification (two or more full collections, none of
  // them concurrent): 0.5-0.6 s after parsing 100,000 jobs, for no lower peak (bench/RESULTS.md, load).
  if (isBun && graph.jobs.length >= BIG_GRAPH && !graph.fromCache) collectGarbage();
  const warn = (w: string) => writeAll(2, `jx: warning: ${escapeControls(w)}\n`);
  for (const w of args.warnings) warn(w);
  const baseDir = graph.baseDir;
  // A generator's jobs may declare files (its own `reads`/`writes` aside): state is kept for it.
  const tracked = selected.some((j) => isTracked(j) || j.emits !== undefined);
  const lock = await lockForRun(args, { held, part, before, baseDir, tracked, noop, warn });
  // The state, when a selected job declares files; a partial run checks its few jobs: only
  // their lines of the state log are read.
  const state = tracked
    ? new UpToDate(baseDir, undefined, part && new Set(selected.map((j) => j.name)))
    : undefined;
  if (state) {
    state.dotenvLoaded = graph.dotenvLoaded; // what the jobs get: as the load read it
    state.cacheEnv = rootCacheEnv(graph.settings);
    state.runLogs = runLogs(args, baseDir);
  }
  const trusted = state && trustEdits(args, { noop, state, selected, part, before });
  // What the no-op record of this run would be, when it leaves every job up to date.
  let recordable: Recordable;
  // A watchdog ends the run's jobs and modules if jx is killed (started with the first of them).
  const reactor = guardReactor(createReactor(args.reactor), graceOf(selected));
  let setup: SlotSetup | undefined;
  try {
    // A traced job's FIFO is held by jx too (lib/access/trace_pipe.ts).
    const traced = !!(args.checkAccess || args.strict);
    setup = setUpSlots(args, reactor, warn, { ...fdNeed(selected), traced });
    // Under an allocation of Slurm's, a -j chosen by no one bounds local jobs only (`openExecutor`).
    const inside = setup.byDefault && envObject().SLURM_JOB_ID && !args.checkAccess && !args.strict;
    const here = inside ? selected.filter((j) => !onSlurm(args, j)) : selected;
    checkTokens(here, setup.slots.limit, graph.file);
    const run = { graph, selected, reactor, setup, state, baseDir, part, warn, noop };
    const { exit, allUpToDate } = await runWithParts(args, run);
    if (allUpToDate && state) {
      recordable = recordOf(graph, state, setup.slots, before, { part, trusted });
    }
    return exit;
  } finally {
    const problem = setup?.finish();
    if (problem) warn(problem);
    reactor.close();
    state?.close();
    await reactor.drained();
    // A dry run changes no file: the record the last run left (if any) still holds.
    if (state && !isDryRun(args, setup)) {
      await noop.recordRun(args, graph.file, selected, recordable);
    }
    lock?.release();
  }
}

/** The watchdog's grace: the longest grace of a selected job or module (jx's default for none). */
function graceOf(selected: JobSpec[]): number {
  let ms = selected.length ? 0 : DEFAULT_GRACE_MS;
  for (const s of selected) {
    ms = Math.max(ms, s.kind === "module" ? s.stop?.graceMs ?? DEFAULT_GRACE_MS : s.graceMs);
  }
  return ms;
}

/** Whether a run runs nothing: `-n`, or make's `-n`, `-t` or `-q` (`setup`: none before it is had). */
function isDryRun(args: Args, setup: SlotSetup | undefined): boolean {
  return args.dryRun || !!setup?.makeDryRun || !!setup?.makeQuestion;
}

/**
 * `graph.selectForRun(args.names)`. `jx run deploy prod`, as just passes a recipe its arguments, refuses
 * `prod` as a job: when the first name is a job and the second is no name at all, the error says
 * where arguments go (`jx run deploy -- prod`).
 */
function selectOrHint(args: Args, graph: Graph): JobSpec[] {
  try {
    return graph.selectForRun(args.names, args.all);
  } catch (e) {
    const [job, word, ...more] = args.names;
    if (
      !(e instanceof JxInputError) || word === undefined || args.jobArgs !== undefined ||
      !e.message.startsWith(`unknown job '${word}'`) || e.message.includes("(did you mean")
    ) throw e;
    try {
      graph.named([job]);
    } catch {
      throw e;
    }
    throw new JxInputError(
      `${e.message} (arguments of ${job}? jx run ${job} -- ${[word, ...more].join(" ")})`,
    );
  }
}

/** The jobs named on the command line (with what they need), or those changed since a commit. */
async function selectJobs(args: Args, graph: Graph): Promise<JobSpec[]> {
  if (args.changedSince === undefined) return selectOrHint(args, graph);
  const changed = await import("./changed.ts" as string) as typeof import("./changed.ts");
  return changed.changedSelection(
    graph,
    args.names,
    args.changedSince,
    graph.baseDir,
    args.vars,
    args.all,
  );
}

/**
 * The run's lock: one run (or watch) at a time per directory, files or not; a dry run takes it
 * only to read the up-to-date state. The fast path's lock (`held`) is kept when it was taken for
 * this jobs file's folder; any other folder's is released and its findings forgotten.
 */
async function lockForRun(args: Args, o: {
  held: Held;
  part: PartRun;
  before: Stamp;
  baseDir: string;
  tracked: boolean;
  noop: Noop;
  warn: (w: string) => void;
}): Promise<Held> {
  if (o.held && !o.part && o.before && projectDir(o.before.file) !== o.baseDir) {
    o.held.release();
    o.noop.forgetChanged();
  } else if (o.held) return o.held;
  if (o.tracked) return await takeLock(o.baseDir, args.noWait);
  // No state to protect: a .jx/ jx must not use (a link, another user's) costs only the lock.
  if (!args.dryRun) return await takeLock(o.baseDir, args.noWait, "run", o.warn);
}

/**
 * What the no-op fast path found changed: the jobs it vouches for are not checked again; after a
 * partial load, a changed path whose stamp the state line still matches (an mtime put back) is
 * decided by its content. Says so under `--verbose`.
 */
function trustEdits(args: Args, o: {
  noop: Noop;
  state: InstanceType<typeof UpToDate>;
  selected: JobSpec[];
  part: PartRun;
  before: Stamp;
}): Trusted {
  const { state, selected, part } = o;
  const trusted = part ? undefined : o.noop.trustedJobs(args, selected, o.before);
  if (trusted) state.trust(trusted.jobs, trusted.diff.changed);
  else if (part) state.trust(new Set(), part.diff.changed);
  if (args.verbose && (trusted || part)) {
    const n = (trusted ?? part)!.diff.changed.size;
    const what = part
      ? `${selected.length} of ${selected.length + part.left.length} job(s) loaded`
      : `${trusted!.jobs.size} job(s) trusted`;
    writeAll(2, `jx: edit: ${n} recorded file(s) changed, ${what}\n`);
  }
  return trusted;
}

/**
 * Exit 2 before anything runs when a selected job needs more job slots than there are, at the
 * job in its own file (an included file's job by its name there: `jobs.x`, not `jobs.pkg:x`).
 */
function checkTokens(selected: JobSpec[], limit: number, file: string): void {
  for (const j of selected) {
    if (j.tokens > limit) {
      const own = j.source !== undefined && j.source !== file;
      const name = own ? j.name.slice(j.name.indexOf(":") + 1) : j.name;
      throw new JxInputError(
        `jobs.${name}.tokens: needs ${j.tokens} job slots but -j is ${limit}`,
        own ? j.source : file,
        j.pos,
      );
    }
  }
}

/** The no-op record of a run that left every job up to date (see `noop_run.ts`). */
function recordOf(
  graph: Graph,
  state: InstanceType<typeof UpToDate>,
  slots: Slots,
  before: Stamp,
  { part, trusted }: { part: PartRun; trusted: Trusted },
): Recordable {
  return {
    slots: slots.limit,
    jobserver: slots.role ?? "none",
    before,
    recorded: (job) => state.recordedStamps(job),
    previous: part
      ? { diff: part.diff, trusted: new Set(part.left), part: { again: part.again } }
      : trusted && { diff: trusted.diff, trusted: state.trustedHits },
    graphKey: graph.cacheKey,
    dotenv: recordEnv(graph),
    foreachGlobs: graph.globMatches,
  };
}

/**
 * The variables whose values the no-op record keeps (a hash of each): those the dotenv files set
 * (`Graph.dotenv`) and those a `cache: {env}` names, which are part of jobs' fingerprints
 * (`cacheEnvNames`): a change of one sends the next run the full way.
 */
function recordEnv(graph: Graph): Graph["dotenv"] {
  const names = new Set(graph.dotenv?.names ?? []);
  for (const n of rootCacheEnv(graph.settings)) names.add(n);
  for (const j of graph.jobs) {
    if (j.kind !== "job") continue;
    if (typeof j.cache === "object") { for (const n of j.cache.env ?? []) names.add(n); }
    for (const n of j.fileCache?.env ?? []) names.add(n);
  }
  if (!graph.dotenv && !names.size) return undefined;
  return { names: [...names].sort(), outside: graph.dotenv?.outside ?? false };
}

/**
 * The reporters of a run (with past durations for the status line's estimate, kept where the
 * state is: cli/durations.ts) and, under `--check-access`/`--strict`, the tracing of the jobs
 * that run (docs/lint.md), whose reporter comes first.
 */
async function reportersOf(
  args: Args,
  { graph, selected, reactor, setup, state, baseDir, noop }: RunSetUp,
  { dry, foreground }: { dry: boolean; foreground: string[] },
) {
  const timed = state && !dry
    ? (await import("./durations.ts" as string) as typeof import("./durations.ts"))
    : undefined;
  const lastMs = timed?.lastDurations(baseDir, selected);
  const reporters = noop.runReporters(args, graph, { clock: reactor, lastMs, foreground });
  if (timed) reporters.push(new timed.DurationRecorder(baseDir));
  const access = args.checkAccess || args.strict
    ? (await import("../access/mod.ts" as string) as typeof import("../access/mod.ts"))
    : undefined;
  // A dry run traces nothing, but says what the checked run would run: a job a remembered
  // finding stands on is not up to date there (docs/lint.md).
  if (dry) {
    return { reporters, check: undefined, checked: state && access?.checkedState(graph, state) };
  }
  const check = access?.runCheck({
    graph,
    reactor,
    slots: setup.slots,
    state,
    strict: !!args.strict,
    tracer: access.newTracer(`jx run ${args.strict ? "--strict" : "--check-access"}`, reactor),
  });
  if (check) reporters.unshift(check.reporter(reporters));
  return { reporters, check, checked: check?.state };
}

/** What `runWithParts` needs of the run set up so far. */
interface RunSetUp {
  graph: Graph;
  selected: JobSpec[];
  reactor: Reactor;
  setup: SlotSetup;
  state: InstanceType<typeof UpToDate> | undefined;
  baseDir: string;
  part: PartRun;
  warn: (w: string) => void;
  noop: Noop;
}

/**
 * Runs the selected jobs with the run's parts around them: the Slurm executor, modules and the
 * control socket, reporters (past durations, `--ui`), tracing (`--check-access`), the output
 * cache; each closed at the end. `allUpToDate`: every selected job ended ok or up to date and the
 * exit is 0 (a no-op record may be written).
 */
async function runWithParts(
  args: Args,
  r: RunSetUp,
): Promise<{ exit: number; allUpToDate: boolean }> {
  const { graph, selected, reactor, setup, state } = r;
  const dry = isDryRun(args, setup);
  const mods = await import("../modules/mod.ts" as string) as Mods;
  const foreground = args.names.filter((n) => graph.byName.get(n)?.kind === "module");
  const modules = new mods.Supervisor({ foreground });
  const parts: Parts = {};
  // First, as they open their files (`--events`, `--trace`: exit 2 when they cannot be written).
  const { reporters, check, checked } = await reportersOf(args, r, { dry, foreground });
  try {
    await openParts(parts, args, r, { dry, mods, modules, reporters });
    const result = await runJobs(graph, selected, {
      reactor,
      // A jobserver pool also gives each job its MAKEFLAGS, in its `jobserver:` style.
      slots: setup.slots,
      keepGoing: args.keepGoing || setup.makeKeepGoing,
      dryRun: dry,
      runner: await runnerOf(parts, check, args, r),
      state: checked ?? state,
      force: args.force,
      leftUpToDate: r.part?.left,
      reporters,
      modules,
      extraEnv: parts.ctl ? { JX_CTL: parts.ctl.path } : undefined,
    });
    const upToDate = (x?: { status: string; reason?: string }) =>
      x?.status === "ok" || (x?.status === "skipped" && x.reason === "up-to-date");
    // `make -q`: 1 when a job would run (make's "not up to date"), else the dry run's own.
    const wouldRun = () =>
      [...result.results.values()].some((x) => x.status === "skipped" && x.reason === "dry-run");
    const asked = setup.makeQuestion && result.exit === 0 && wouldRun() ? 1 : result.exit;
    const ran = check ? check.exit(asked) : asked;
    const exit = parts.executor ? await parts.executor.end(ran) : ran;
    const allUpToDate = !dry && result.exit === 0 && exit === result.exit &&
      selected.every((j) => upToDate(result.results.get(j.name)));
    return { exit, allUpToDate };
  } finally {
    await parts.executor?.close();
    await parts.cache?.close();
    await parts.ctl?.close();
    for (const x of reporters) await x.close?.();
    await parts.ui?.close();
    check?.close();
  }
}

/** The modules part, loaded when a run starts. */
type Mods = typeof import("../modules/mod.ts");

/** What a run opens around its jobs (`openParts`), each closed at its end. */
interface Parts {
  /** The Slurm executor. */
  executor?: Executor;
  /** The control socket (`jx ctl`, JX_CTL). */
  ctl?: { path: string; close(): Promise<void> };
  /** `--ui`: the live page. */
  ui?: RunUi;
  /** The output cache. */
  cache?: RunCache;
}

/** Opens a run's parts into `parts` (what is open when one fails is still closed by the caller). */
async function openParts(
  parts: Parts,
  args: Args,
  r: RunSetUp,
  o: {
    dry: boolean;
    mods: Mods;
    modules: InstanceType<Mods["Supervisor"]>;
    reporters: Reporter[];
  },
): Promise<void> {
  const { graph, selected, reactor, setup: { slots, byDefault }, baseDir, warn } = r;
  const { dry, modules } = o;
  // The Slurm executor: it reaches Slurm only when a Slurm job must run.
  parts.executor = dry
    ? undefined
    : await openExecutor(args, selected, reactor, { slots, byDefault }, baseDir);
  if (parts.executor) o.reporters.push(parts.executor.reporter);
  if (!dry) {
    parts.ctl = await o.mods.CtlServer.listen(baseDir, (req) => modules.control(req)).catch((e) => {
      if (args.verbose || e.name === "CtlUnsafe") {
        warn(`no control socket (jx ctl cannot reach this run): ${e.message}`);
      }
      return undefined;
    });
  }
  if (args.ui) {
    const live = await import("./ui_live.ts" as string) as typeof import("./ui_live.ts");
    const control = modules.control.bind(modules);
    parts.ui = await live.startRunUi(args, { graph, selected, mode: "run", control });
    if (parts.ui) o.reporters.push(parts.ui.reporter);
  }
  if (slots.role) warnMakeJobs(selected, warn);
  // The output cache wraps the local runner when the file or the command line asks for it.
  parts.cache = dry ? undefined : await openRunCache(args, graph);
}

/**
 * What runs the jobs: tracing runs them locally (strace cannot follow a job onto a cluster
 * node); the cache wraps whatever runs them (the tracer's, the executor's, or a local runner),
 * so a restored job is not traced and a traced job's findings come before it is stored.
 */
async function runnerOf(
  { cache, executor }: Parts,
  check: Awaited<ReturnType<typeof reportersOf>>["check"],
  args: Args,
  r: RunSetUp,
): Promise<Runner | undefined> {
  const inner = check?.runner ?? executor?.runner;
  if (!cache) return inner;
  const refusal = await cacheRefusal(check?.remembered, r.graph, !!args.strict);
  return cache.runner(inner ?? new LocalRunner(r.reactor, r.setup.slots), refusal);
}

/** The Slurm executor of a run: its runner, and its end. */
interface Executor {
  runner: Runner;
  /** Sees the run's events: a module started counts as something run (see `end`). */
  reporter: Reporter;
  /**
   * After the run (its exit `exit`), once an open under way has settled: an interrupted open is
   * said; the executor's failure is thrown (a `JxInputError`: one line, exit 2) when the run
   * exits 2 (nothing ran); the allocations are released, and a signal heard meanwhile makes the
   * exit its own (128+N). Returns the run's exit.
   */
  end(exit: number): Promise<number>;
  /** Releases whatever the session took (after an error); stops listening for signals. */
  close(): Promise<void>;
}

/**
 * Tests' seams (tests/e2e/slurm_run_test.ts): a pause right at the grant
 * (`JX_SLURM_GRANT_PAUSE_MS`), or right before the release at the end
 * (`JX_SLURM_RELEASE_PAUSE_MS`), said on stderr, for a signal there.
 */
function slurmSeams(env: Record<string, string>, reactor: Reactor): {
  onGranted?: (id: string) => Promise<void>;
  onRelease?: (ids: string[]) => Promise<void>;
} {
  const pause = (name: string, what: string) => {
    const ms = Number(env[name]) || 0;
    if (!ms) return undefined;
    return (ids: string | string[]) => {
      writeAll(2, `jx: ${name}: allocation ${[ids].flat().join(", ")} ${what}; pausing ${ms} ms\n`);
      return new Promise<void>((ok) => reactor.setTimer(ms, () => ok()));
    };
  };
  return {
    onGranted: pause("JX_SLURM_GRANT_PAUSE_MS", "granted"),
    onRelease: pause("JX_SLURM_RELEASE_PAUSE_MS", "to be released"),
  };
}

/** The warning for interactive jobs the jobs file sends to Slurm. */
function interactiveHere(names: string[]): string {
  return `executor slurm: ${names.join(", ")}: interactive, run on this machine ` +
    "(a Slurm step has no terminal)";
}

/** Whether job `j` runs on Slurm (an interactive job runs here whatever its executor). */
function onSlurm(args: Args, j: JobSpec): boolean {
  return j.kind === "job" && (j.executor ?? args.executor ?? "local") === "slurm" && !j.interactive;
}

/**
 * The executor of a run whose jobs (some or all) run under Slurm, undefined when every job is
 * local. Nothing reaches Slurm here: the session is checked and its allocation taken when the
 * first Slurm job that must run starts (`SlurmRunner`), so a run whose Slurm jobs are all up to
 * date or restored takes none.
 */
async function openExecutor(
  args: Args,
  selected: JobSpec[],
  reactor: Reactor,
  { slots, byDefault }: Pick<SlotSetup, "slots" | "byDefault">,
  baseDir: string,
): Promise<Executor | undefined> {
  const fallback = args.executor ?? "local";
  const slurmSide = (j: JobSpec) => j.kind === "job" && (j.executor ?? fallback) === "slurm";
  const remote = selected.filter((j) => onSlurm(args, j));
  // A generator may make jobs that say `executor: slurm`: they run there too (a job of the file
  // that must run on Slurm opens the session; none does here, so no allocation unless one is made).
  const makers = selected.some((j) => j.emits || j.deferred);
  const warn = (m: string) => writeAll(2, `jx: warning: ${escapeControls(m)}\n`);
  const here = selected.filter((j) => slurmSide(j) && j.interactive).map((j) => j.name);
  if (here.length) warn(interactiveHere(here));
  if (!remote.length && !makers) return undefined;
  if (args.checkAccess || args.strict) {
    // Tracing runs every job here (strace cannot follow one onto a node): no allocation.
    if (remote.length) {
      warn("executor slurm: --check-access runs the jobs locally; no Slurm allocation taken");
    }
    return undefined;
  }
  const slurm = await import("../slurm/mod.ts" as string) as typeof import("../slurm/mod.ts");
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(envObject())) if (v !== undefined) env[k] = v;
  const session = new slurm.SlurmSession({
    reactor,
    env,
    cwd: baseDir,
    cpus: slots.limit,
    cpusByDefault: byDefault,
    fit: (n) => jobsWithinFds(n, warn, fdNeed(selected)),
    partitions: remote.length ? [...new Set(remote.map((j) => j.slurm?.partition ?? ""))] : [""],
    warn,
    // The run listens too: from salloc to the release, a signal always finds a handler.
    holdSignals: true,
    ...slurmSeams(env, reactor),
  });
  const slurmRunner = new slurm.SlurmRunner(session);
  const runner = new slurm.ExecutorRunner(new LocalRunner(reactor, slots), slurmRunner, fallback, {
    // One made during the run: said as it starts (the file's were said above).
    interactive: (j) => warn(interactiveHere([j.name])),
    told: new Set(here),
  });
  return {
    runner,
    // A module (local, started by the supervisor, not the runner) ran: so something ran.
    reporter: {
      event: (e) => void (e.type === "module.state" && e.state === "starting" && runner.ran()),
    },
    async end(exit) {
      // The open may still be settling (the run withdrew the jobs that waited for it): closing
      // waits for it, so that what it came to is known below.
      await session.close();
      const failure = session.failure, sig = session.interrupted;
      if (failure instanceof slurm.SlurmInterrupted) {
        writeAll(2, `jx: ${failure.message}; what it asked for is cancelled\n`);
      } else if (failure instanceof JxInputError && !sig && exit === 2) {
        // Slurm cannot run the jobs and nothing ran: exit 2 with the reason as the last line.
        // Once a job has run, its Slurm jobs are failed jobs (each with the reason), exit 1.
        throw failure;
      }
      if (sig && exit < 128) {
        dieAtExit(sig);
        return signalExit(sig);
      }
      return exit;
    },
    close: () => session.close(),
  };
}

/**
 * Why a job must not be cached: its last checked run (`--check-access`, `jx lint`) found
 * undeclared inputs, remembered in `.jx/` (docs/lint.md). A checked run's own record is the one
 * it updates as jobs end, so a job found wanting in this run is not stored either.
 */
async function cacheRefusal(
  remembered: {
    cacheRefusal(job: string): string | undefined;
    unfixed(job: string, known: (job: string) => boolean): boolean;
  } | undefined,
  graph: { file: string; baseDir: string; byName: Map<string, unknown> },
  strict: boolean,
): Promise<(spec: JobSpec) => string | undefined> {
  const r = remembered ??
    new (await import("../access/mod.ts" as string) as typeof import("../access/mod.ts"))
      .Remembered(graph.baseDir, graph.file);
  // Under --strict a job with findings (or another job's race or unordered read with it) runs,
  // traced, until they are fixed: a restore would pass it.
  const unfixed = (job: string) =>
    strict && r.unfixed(job, (n) => graph.byName.has(n))
      ? `${job}: not restored under --strict: its last checked run has findings (jx explain ${job})`
      : undefined;
  return (spec) => r.cacheRefusal(spec.name) ?? unfixed(spec.name);
}

/** A run's output cache: the runner that wraps the local one, what explain shows, the end. */
interface RunCache {
  /** `refused`: why a job must not be cached (undeclared inputs found: docs/lint.md). */
  runner(inner: Runner, refused?: (spec: JobSpec) => string | undefined): Runner;
  explain(job: JobSpec): string[];
  close(): Promise<void>;
}

/**
 * The output cache of a run, when the jobs file has a top-level `cache:` or
 * a store is named (flags, environment), unless `--no-cache` (docs/cache.md).
 * The cache part is loaded only then.
 */
async function openRunCache(args: Args, graph: Graph): Promise<RunCache | undefined> {
  const env = envObject();
  const setting = graph.settings.cache;
  const named = args.cacheDir !== undefined || args.remoteCache !== undefined ||
    !!env.JX_CACHE_DIR || !!env.JX_REMOTE_CACHE;
  if (args.noCache || !(named || (setting !== undefined && setting !== false))) return undefined;
  const c = await import("../cache/mod.ts" as string) as typeof import("../cache/mod.ts");
  const flags = {
    cacheDir: args.cacheDir,
    remoteCache: args.remoteCache,
    remoteReadOnly: args.remoteCacheReadOnly,
    fileSaysCache: true,
  };
  const cache = c.openCache(flags, env, (line) => writeAll(2, escapeControls(line) + "\n"));
  if (!cache) return undefined; // its store is writable by others: said
  const ctx = {
    baseDir: graph.baseDir,
    vars: graph.settings.vars ?? {},
    settings: typeof setting === "object" ? setting : undefined,
    executor: args.executor,
  };
  const warn = (l: string) => writeAll(2, escapeControls(l) + "\n");
  return {
    runner: (inner, refused) =>
      new c.CacheRunner(
        inner,
        cache,
        ctx,
        args.force,
        refused,
        warn,
        new c.WriteOwners(graph.jobs),
      ),
    explain: (job) => c.explainLines(cache, job, ctx),
    close: () => cache.close(),
  };
}

/** `jx list`. */
export async function cmdList(args: Args): Promise<number> {
  // It lists every job: a name (`jx list build`) would be silently ignored. Said before the
  // jobs file is looked for, as every usage error (`jx list other.yaml` is `-f other.yaml`).
  const extra = args.names[fileWord(args) === undefined ? 0 : 1];
  if (extra !== undefined) throw usageError("list", `unexpected argument '${extra}'`);
  const graph = await load(args);
  if (args.namesOnly) {
    // For shell completions: bare names, one per line, jobs then modules.
    const names = ["job", "module"].flatMap((k) => graph.jobs.filter((j) => j.kind === k));
    writeAll(1, names.map((j) => escapeControls(j.name) + "\n").join(""));
    return 0;
  }
  // Names and descriptions with their control characters escaped: each job on one line.
  const rows: string[] = [];
  for (const kind of ["job", "module"] as const) {
    const items = graph.jobs.filter((j) => j.kind === kind)
      .map((j) => ({ name: escapeControls(j.name), about: escapeControls(j.description ?? "") }));
    // A `foreach` whose glob matches no file now stands for no job, but is there to run later.
    if (kind === "job") {
      for (const g of graph.emptyGroups ?? []) {
        items.push({
          name: escapeControls(g),
          about: "(a foreach whose glob matches nothing now)",
        });
      }
    }
    if (!items.length) continue;
    rows.push(kind === "job" ? "Jobs:" : "Modules:");
    const w = items.reduce((m, j) => Math.max(m, j.name.length), 0); // no spread: 200,000 jobs
    for (const j of items) rows.push(`  ${j.name.padEnd(w)}  ${j.about}`.trimEnd());
  }
  writeAll(1, rows.join("\n") + "\n");
  return 0;
}

/** `jx graph`. */
export async function cmdGraph(args: Args): Promise<number> {
  const graph = await load(args);
  // With no name, the whole file: its modules too, as `jx list` shows them (a run's selection
  // leaves out the modules no job needs).
  const chosen = args.names.length ? graph.select(args.names) : graph.jobs;
  const names = new Set(chosen.map((j) => j.name));
  writeAll(
    1,
    (await import("./graph_format.ts" as string) as typeof import("./graph_format.ts")).formatGraph(
      graph,
      names,
      args.format,
    ),
  );
  return 0;
}

/** `jx explain`. */
export async function cmdExplain(args: Args): Promise<number> {
  const names = args.names.slice(fileWord(args) === undefined ? 0 : 1);
  if (!names.length) throw usageError("explain", "missing JOB");
  if (names.length > 1) throw usageError("explain", `unexpected argument '${names[1]}'`);
  const graph = await load(args);
  // The same selections as `jx run` (a foreach group explains each of its jobs).
  const state = new UpToDate(graph.baseDir);
  state.cacheEnv = rootCacheEnv(graph.settings);
  const access = await import("../access/mod.ts" as string) as typeof import("../access/mod.ts");
  const cache = await openRunCache(args, graph);
  const { resourceNames } = await import(
    "../graph/glob.ts" as string
  ) as typeof import("../graph/glob.ts");
  const context: ExplainContext = {
    graph,
    state,
    findings: (name) => access.explainFindings(graph, name),
    cache: (job) => cache?.explain(job) ?? [],
    names: resourceNames,
  };
  const name = args.names[0];
  const emit = () =>
    import("../graph/emit.ts" as string) as Promise<typeof import("../graph/emit.ts")>;
  // An item of a foreach over files jobs write (`each[o/a.gen]`): the graph has only its group.
  const group = graph.byName.has(name) ? undefined : graph.byName.get(name.split("[")[0]);
  const item = group?.deferred && name.endsWith("]")
    ? (await emit()).expandDeferred(group).find((j) => j.name === name)
    : undefined;
  const jobs = item ? [item] : graph.named(args.names);
  if (!jobs.length) {
    writeAll(1, escapeControls(`${name}: a foreach whose glob matches nothing now: no job`) + "\n");
    return 0;
  }
  // A foreach over files jobs write is expanded by the run and never runs itself: its items.
  const expand = jobs.some((j) => j.deferred) ? (await emit()).expandDeferred : undefined;
  const text = jobs.map((job) =>
    job.deferred ? explainGroup(context, job, expand!(job)) : explainOne(context, job)
  ).join("");
  writeAll(1, text);
  return 0;
}

/** What explaining a job needs: the graph, the state, remembered findings, the cache's key. */
interface ExplainContext {
  graph: Graph;
  state: UpToDate;
  findings: (job: string) => string[];
  cache: (job: JobSpec) => string[];
  /** Whether a `writes` pattern names a path (itself, a folder above it, a glob over it). */
  names: (pattern: string, path: string) => boolean;
}

/**
 * What `jx explain` says of a deferred `foreach`: the items the disk gives now, what the group
 * waits for, then each item as a job.
 */
function explainGroup(c: ExplainContext, group: JobSpec, items: JobSpec[]): string {
  const names = items.length
    ? items.map((j) => j.name).join(", ")
    : "none (its glob matches nothing)";
  const lines = [`${group.name}: ${group.command}`, `  items now: ${names}`];
  const deps = c.graph.depsOf(group.name);
  if (deps.length) {
    lines.push("  waits for (a job that reruns and changes what it globs changes its items):");
    for (const e of deps) lines.push(`    ${e.from} (${e.reason})`);
  }
  const head = lines.map(escapeControls).join("\n") + "\n";
  return head + items.map((j) => explainOne(c, j)).join("");
}

/**
 * What `jx explain` says of a job whose `when: { file }` fails only because a job it waits for
 * has not written the file yet: the run checks it when the job would start.
 */
function whenWriter(c: ExplainContext, job: JobSpec): string | undefined {
  const read = missingWhenFile(job);
  if (read === undefined) return undefined;
  const writer = c.graph.depsOf(job.name).find((e) =>
    e.kind !== "order" && c.graph.byName.get(e.from)?.writes.some((w) => resourcesConflict(w, read))
  );
  return writer && `, unless ${writer.from}, which runs before it, writes it`;
}

/** What `jx explain` says of one job. */
function explainOne(c: ExplainContext, job: JobSpec): string {
  const lines = [`${job.name}: ${job.command}`];
  if (job.source) lines.push(`  in ${job.source}`);
  const unmet = whenFails(job);
  if (unmet) lines.push(`  skipped here (${unmet})${whenWriter(c, job) ?? ""}`);
  const v = alwaysRuns(job) ?? c.state.check(job);
  if (v.upToDate) {
    lines.push("  up to date: inputs, outputs and command are as when it last succeeded");
  } else {
    lines.push("  would run:");
    for (const r of v.reasons) lines.push(`    - ${r}`);
  }
  lines.push(...c.findings(job.name));
  const deps = c.graph.depsOf(job.name);
  // Only inputs that jobs it waits for write: a run checks it again once they are done.
  const writers = (v.inputs ?? []).map((p) =>
    deps.find((e) =>
      e.kind !== "order" && c.graph.byName.get(e.from)?.writes.some((w) => c.names(w, p))
    )?.from
  );
  if (writers.length && writers.every((w) => w !== undefined)) {
    lines.push(
      `  (may be spared: ${
        [...new Set(writers)].join(", ")
      } writes these inputs; a run that makes them again as they were finds it up to date)`,
    );
  }
  if (deps.length) {
    lines.push(
      "  waits for (a dependency that reruns and changes its outputs makes this run too):",
    );
    for (const e of deps) lines.push(`    ${e.from} (${e.reason})`);
  }
  lines.push(...c.cache(job));
  // Names, paths and the command quoted with their control characters escaped, one per line.
  return lines.map(escapeControls).join("\n") + "\n";
}

/**
 * `jx clean`. It takes the run lock (waits for a run or watch in the directory, as a second run
 * does): an output removed between a job's end and its state line would be recorded as absent,
 * which a later run takes as up to date ("a temporary the run did not leave").
 */
export async function cmdClean(args: Args): Promise<number> {
  const graph = await load(args);
  // The named jobs' own outputs; with --deps, those of everything they wait for too.
  const jobs = args.deps || !args.names.length ? graph.select(args.names) : graph.named(args.names);
  const warn = (w: string) => writeAll(2, `jx: warning: ${escapeControls(w)}\n`);
  const lock = args.dryRun ? undefined : await takeLock(graph.baseDir, args.noWait, "clean", warn);
  try {
    return (await import("./clean.ts" as string) as typeof import("./clean.ts")).cleanOutputs(
      graph,
      jobs,
      args.dryRun,
    );
  } finally {
    lock?.release();
  }
}
