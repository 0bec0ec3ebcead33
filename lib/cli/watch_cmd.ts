/**
 * `jx watch`: the command around `lib/watch`. Each cycle is a run with its
 * own console reporter, a fresh job-slot pool and the shared up-to-date
 * state; the event log spans the whole session. Modules belong to the session:
 * one `Supervisor` in session mode starts them when a cycle first needs them,
 * restarts those whose `reads` changed, and stops them when the watch ends.
 *
 * @module
 */
import { statSync } from "node:fs";
import { relative, resolve } from "node:path";
import { globFiles, resourceNames } from "../graph/glob.ts";
import { depfileInputs } from "../graph/mod.ts";
import type { Graph, JobSpec } from "../graph/mod.ts";
import { createReactor, guardReactor, type ListenSignal, type Reactor } from "../reactor/mod.ts";
import { DEFAULT_GRACE_MS } from "../graph/duration.ts";
import {
  ConsoleReporter,
  EventLog,
  MemoryKeeper,
  refuseSameOutput,
  TraceWriter,
} from "../report/mod.ts";
import type { CtlRequest } from "../modules/mod.ts";
import {
  fdNeed,
  onSuspend,
  type Reporter,
  type RunEvent,
  runJobs,
  signalExit,
  type Suspendable,
} from "../scheduler/mod.ts";
import { JxInputError } from "../runtime/errors.ts";
import { dieAtExit, escapeControls, isTerminal, writeAll } from "../runtime/mod.ts";
import { hashFile, rootCacheEnv, stamp, UpToDate } from "../state/mod.ts";
import { type CycleResult, Watcher, type WatchOptions } from "../watch/watch.ts";
import type { Args } from "./args.ts";
import { DurationRecorder, lastDurations } from "./durations.ts";
import { load, runLogs, setUpSlots, takeLock } from "./setup.ts";
import { applyJobArgs } from "./job_args.ts";
import type { RunUi } from "./ui_live.ts";

/**
 * `jx watch` runs every job here (it takes no Slurm allocation: docs/executors.md): said once a
 * session, when the jobs file sends jobs to Slurm (`executor: slurm`), rather than running them on
 * this machine without a word. Returns the check to make at each (re)load.
 */
function slurmNotice(warn: (w: string) => void): (selected: JobSpec[]) => void {
  let said = false;
  return (selected) => {
    if (said) return;
    const remote = selected.filter((j) => j.kind === "job" && j.executor === "slurm");
    if (!remote.length) return;
    said = true;
    const names = remote.slice(0, 3).map((j) => j.name).join(", ") +
      (remote.length > 3 ? `, ... (${remote.length} jobs)` : "");
    warn(
      "executor slurm: jx watch runs every job on this machine, also those the jobs file sends " +
        `to Slurm (${names}); only jx run runs them on the cluster`,
    );
  };
}

/** `--ui`: the live page for the whole session, its reporter among the session's. */
async function liveUi(
  args: Args,
  loaded: { graph: Graph; selected: JobSpec[] },
  session: Session,
): Promise<RunUi | undefined> {
  if (!args.ui) return undefined;
  const live = await import("./ui_live.ts" as string) as typeof import("./ui_live.ts");
  const control = (req: CtlRequest) => session.modules().control(req);
  const ui = await live.startRunUi(args, { ...loaded, mode: "watch", control });
  if (ui) session.persistent.push(ui.reporter);
  return ui;
}

/** Runs `jx watch` until SIGINT/SIGTERM; returns 130/143 (or 2 for bad input). */
export async function cmdWatch(args: Args): Promise<number> {
  let graph = await load(args);
  // An edit made from now on (while the lock is awaited too) is one to take in.
  const stamps = new Map(graph.filesRead().map((f) => [f, stampOf(f)]));
  // A reload reads the same file again (a positional `x.yaml` was taken off the names).
  args = { ...args, file: graph.file };
  let selected = graph.selectForRun(args.names, args.all);
  applyJobArgs(graph, args.names, args.jobArgs, "watch");
  const baseDir = graph.baseDir;
  const lock = await takeLock(baseDir, args.noWait, "watch");
  // A watchdog ends the session's jobs and modules if jx is killed (see reactor/watchdog.ts).
  const reactor = guardReactor(createReactor(args.reactor), DEFAULT_GRACE_MS);
  const warn = (w: string) => writeAll(2, `jx: warning: ${w}\n`);
  const poll = args.poll || !reactor.watch;
  if (poll && !args.poll) {
    warn(`no inotify with the ${reactor.name} reactor: watching by polling every 300ms`);
  }
  const sayLocal = slurmNotice(warn);
  sayLocal(selected);
  const state = new UpToDate(baseDir);
  const session = await openSession(args, graph, baseDir, reactor);
  let exit = 0;
  let ui: RunUi | undefined; // `--ui`: the live page, for the whole session
  let watching: Watching | undefined;
  const unlisten = (["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"] as ListenSignal[]).map((sig) =>
    reactor.onSignal(sig, () => {
      if (exit) watching?.modules.kill(); // a second signal: no more grace for the modules
      if (!exit) dieAtExit(sig); // jx dies of it at its exit (runtime/die.ts)
      exit ||= signalExit(sig);
      watching?.watcher.stop(sig);
    })
  );
  unlisten.push(onSuspend(reactor, () => suspending(watching)));
  try {
    ui = await liveUi(args, { graph, selected }, session);
    const common = { args, baseDir, reactor, state, session, warn, poll };
    let loaded: Loaded = { graph, selected, stamps }; // the graph being watched
    for (let modules = session.modules();; modules = session.newModules(graph)) {
      watching = watchGraph(loaded, modules, common);
      const next = await watching.ended;
      // Output that could not be written (`jx watch | head -1`): said as `jx run` says it, exit 1.
      if (watching.watcher.failure) throw watching.watcher.failure.error;
      // The graph's modules, in reverse dependency order, before the next graph's start.
      await watching.modules.end();
      if (exit || !next) break;
      ({ graph, selected } = loaded = next);
      sayLocal(selected);
      ui?.reload(graph, selected);
    }
  } finally {
    await watching?.modules.end();
    for (const u of unlisten) u();
    await session.ctl?.close();
    for (const r of session.persistent) await r.close?.();
    await ui?.close();
    state.close();
    reactor.close();
    await reactor.drained();
    lock?.release();
  }
  return exit || 130;
}

type Supervisor = InstanceType<typeof import("../modules/mod.ts").Supervisor>;

/**
 * What a Ctrl-Z stops (and continues once jx goes on): the running cycle's jobs and modules, or
 * between cycles the modules.
 */
function suspending(watching: Watching | undefined): Suspendable[] {
  if (!watching) return [];
  const suspend = watching.watcher.cycleSuspend;
  return [suspend ? { suspend } : watching.modules];
}

/** What lasts the whole watch session, across reloads of the jobs file (see `openSession`). */
interface Session {
  /** The event log, the trace and the memory keeper: every cycle's reporters. */
  persistent: Reporter[];
  /** Sends an event to the persistent reporters. */
  emitAll: (e: RunEvent) => void;
  /**
   * The running cycle's console, told how modules end (its summary names them), and the modules
   * started (or restarted) in it (its line names them).
   */
  cycle: { console?: ConsoleReporter; started?: string[] };
  /** The supervisor of the graph being watched (a new one after each reload). */
  modules: () => Supervisor;
  /** A new supervisor for a graph: its modules' events to their own console and the log. */
  newModules: (graph: Graph) => Supervisor;
  ctl: { path: string; close(): Promise<void> } | undefined;
  /** The session's start: every event's `t` counts from it. */
  t0: number;
}

/**
 * The session's reporters, its module supervisors (their events to a console of their own: no
 * status line, no summary; and to the event log) and the control socket (`jx ctl` reaches the
 * modules and the jobs of every cycle, of whichever graph is being watched).
 */
async function openSession(
  args: Args,
  graph: Graph,
  baseDir: string,
  reactor: Reactor,
): Promise<Session> {
  const persistent: Reporter[] = [];
  refuseSameOutput(args.events, args.trace);
  if (args.events) persistent.push(new EventLog(args.events, graph.filesRead()));
  if (args.trace) persistent.push(new TraceWriter(args.trace, graph.filesRead()));
  // One for the whole session: its limit follows what collections leave, cycle after cycle.
  persistent.push(new MemoryKeeper());
  const t0 = reactor.now();
  const emitAll = (e: RunEvent) => {
    for (const r of persistent) r.event(e);
  };
  const { CtlServer, Supervisor } = await import(
    "../modules/mod.ts" as string
  ) as typeof import("../modules/mod.ts");
  let current: Supervisor;
  const cycle: Session["cycle"] = {};
  const newModules = (graph: Graph) => {
    const moduleConsole = new ConsoleReporter({
      mode: args.output,
      color: args.color && isTerminal(2),
      statusLine: false,
      graph,
      verbose: args.verbose,
    });
    return current = new Supervisor({
      session: true,
      emit: (e) => {
        moduleConsole.event(e);
        if (e.type === "module.state") cycle.console?.moduleNoted(e);
        if (e.type === "module.state" && e.state === "starting") cycle.started?.push(e.module);
        emitAll(e);
      },
    });
  };
  newModules(graph);
  const modules = () => current;
  const ctl = await CtlServer.listen(baseDir, (req) => modules().control(req))
    .catch(() => undefined);
  return { persistent, emitAll, cycle, modules, newModules, ctl, t0 };
}

/** What `watchGraph` shares with every graph of the session. */
interface Common {
  args: Args;
  baseDir: string;
  reactor: Reactor;
  state: InstanceType<typeof UpToDate>;
  session: Session;
  warn: (w: string) => void;
  poll: boolean;
}

/** A graph loaded (at the start, or again), its selection, and its files' stamps. */
interface Loaded {
  graph: Graph;
  selected: JobSpec[];
  /** Each file's stamp (`stampOf`) as it was read: an edit since is one to take in. */
  stamps: Map<string, string>;
  /** The edited file that made it load again (none: the session's start). */
  file?: string;
  /** What made it load again: `jobs.yaml changed`, `the files src/*.c matches changed`. */
  why?: string;
}

/** One graph being watched: until a signal, or an edit of the jobs file that loads. */
interface Watching {
  modules: Supervisor;
  watcher: Watcher;
  /** The graph loaded from the edited jobs file; undefined: a signal ended the session. */
  ended: Promise<Loaded | undefined>;
}

/** Starts watching a graph with its `modules`: its watcher runs the first cycle at once. */
function watchGraph(loaded: Loaded, modules: Supervisor, c: Common): Watching {
  const { graph, selected, file: reloaded } = loaded;
  const { args, baseDir, reactor, session, warn } = c;
  let following: Loaded | undefined; // the graph that follows, once loaded
  const reload = new JobsFileReload(graph, loaded.stamps, {
    args,
    reactor,
    warn,
    over: () => watcher.stopping,
    loaded: (next) => {
      const file = next.file;
      writeAll(2, `jx watch: ${escapeControls(next.why)}: reloading the jobs file\n`);
      session.emitAll({ type: "watch.reload", t: reactor.now() - session.t0, file });
      following = next;
      watcher.stop();
      // `--on-busy restart` stops the running cycle's jobs as a change would; else it ends first.
      if (args.onBusy === "restart") watcher.cancelCycle();
    },
  });
  const watcher: Watcher = new Watcher({
    graph,
    selected,
    baseDir,
    reactor,
    debounceMs: args.debounceMs,
    onBusy: args.onBusy,
    poll: c.poll,
    // `--force` is the session's first cycle's: a reload's reruns only what the edit changed.
    runCycle: cycleRunner(reloaded === undefined ? args : { ...args, force: false }, {
      graph,
      selected,
      baseDir,
      reactor,
      state: c.state,
      session,
      modules,
      warn,
      onCycle: reload.soon,
    }),
    say: (line) => writeAll(2, line + "\n"),
    ownFiles: reload.files.map((f) => relative(baseDir, resolve(f))),
    ownGlobs: graph.graphGlobs,
    runLogs: [...runLogs(args, baseDir)],
    onOwnFile: reload.soon,
    startedBy: reloaded && `${escapeControls(reloaded)} reloaded`,
  });
  // The next graph starts once the running cycle has ended (its jobs gone).
  const ended = watcher.done.then(() => following);
  watcher.start();
  return { modules, watcher, ended };
}

/**
 * The files the graph was made from (the jobs file, the files it includes,
 * the dotenv files: `Graph.filesRead`), and `soon`: once the edits of one
 * of them have settled (`--debounce`), the file is loaded again; a load
 * that fails is said (its one `FILE:LINE:COL` line and a warning) and the
 * session goes on with what it loaded, until the next edit. A `foreach` glob
 * expanded at load whose matches change (a source added or removed) is such an
 * edit too: the graph it made has a job too few or too many.
 */
class JobsFileReload {
  /** The files the graph was made from, and those a failed load found missing. */
  readonly files: string[];
  /** Each file's stamp (`stampOf`) as last loaded or tried. */
  private known: Map<string, string>;
  /**
   * Each file's content as loaded, when its stamp still says so: a save of the same bytes (a
   * job that writes an included file again, a `touch`) is no edit, and loads nothing.
   */
  private contents = new Map<string, string>();
  private globs: string[];
  private baseDir: string;
  private knownMatches: Map<string, string>;
  private timer?: number;
  private missingTimer?: number;

  constructor(private graph: Graph, stamps: Map<string, string>, private o: ReloadOptions) {
    this.files = graph.filesRead();
    this.known = new Map(this.files.map((f) => [f, stamps.get(f) ?? stampOf(f)]));
    for (const f of this.files) {
      if (stampOf(f) === this.known.get(f)) this.contents.set(f, contentOf(f));
    }
    this.globs = graph.graphGlobs ?? [];
    this.baseDir = graph.baseDir;
    this.knownMatches = new Map(this.globs.map((g) => [g, this.matchesOf(g)]));
  }

  /** Called at each event in the files' folders (each scan with `--poll`): a stat of each file. */
  readonly soon = (): void => {
    const { o, files, known } = this;
    if (o.over() || this.timer !== undefined) return;
    if (files.every((f) => stampOf(f) === known.get(f)) && this.globChanged() === undefined) return;
    this.timer = o.reactor.setTimer(o.args.debounceMs, () => void this.attempt());
  };

  private matchesOf(g: string): string {
    return globFiles(g, this.baseDir).join("\0");
  }

  private globChanged(): string | undefined {
    return this.globs.find((g) => this.matchesOf(g) !== this.knownMatches.get(g));
  }

  /** The first file whose stamp changed and whose content did too (the others' new stamps kept). */
  private editedFile(): string | undefined {
    return this.files.find((f) => {
      const stamp = stampOf(f);
      if (stamp === this.known.get(f)) return false;
      if (this.contents.get(f) !== contentOf(f)) return true;
      this.known.set(f, stamp);
      return false;
    });
  }

  /** Loads the graph again once a file was edited (or a glob's matches changed). */
  private async attempt(): Promise<void> {
    const { o, graph } = this;
    this.timer = undefined;
    const edited = this.editedFile();
    const glob = edited === undefined ? this.globChanged() : undefined;
    if (o.over() || (edited === undefined && glob === undefined)) return;
    const file = edited ?? graph.file;
    const why = edited !== undefined
      ? `${edited} changed`
      : `the files ${glob} matches changed (${graph.file})`;
    for (const f of this.files) { // this version is the one tried
      this.known.set(f, stampOf(f));
      this.contents.set(f, contentOf(f));
    }
    for (const g of this.globs) this.knownMatches.set(g, this.matchesOf(g));
    try {
      const next = await load(o.args);
      const selected = next.selectForRun(o.args.names, o.args.all);
      applyJobArgs(next, o.args.names, o.args.jobArgs, "watch");
      if (o.over()) return;
      if (this.missingTimer !== undefined) o.reactor.clearTimer(this.missingTimer);
      o.loaded({ graph: next, selected, stamps: this.known, file, why });
    } catch (e) {
      const line = !(e instanceof JxInputError)
        ? `jx: cannot load: ${(e as Error)?.message ?? e}`
        : e.file
        ? e.format()
        : `jx: ${e.message}`;
      writeAll(2, escapeControls(line) + "\n");
      o.warn(`${escapeControls(why)} but does not load: going on with the jobs loaded before`);
      if (e instanceof JxInputError && e.missing !== undefined) this.watchMissing(e.missing);
    }
  }

  /**
   * A file a failed load found missing (an `include` of a file not made yet): looked at every
   * `POLL_MISSING_MS`, as its folder may not be watched, until it appears.
   */
  private watchMissing(abs: string): void {
    const rel = relative(resolve("."), abs); // as the other files are shown
    const missing = rel.startsWith("../") ? abs : rel;
    if (!this.files.includes(missing)) this.files.push(missing);
    this.known.set(missing, "gone");
    this.contents.set(missing, "gone");
    const look = () => {
      this.missingTimer = undefined;
      if (this.o.over() || this.known.get(missing) !== "gone") return;
      this.soon();
      this.missingTimer = this.o.reactor.setTimer(POLL_MISSING_MS, look);
    };
    this.missingTimer ??= this.o.reactor.setTimer(POLL_MISSING_MS, look);
  }
}

/** What `JobsFileReload` needs of the watch. */
interface ReloadOptions {
  args: Args;
  reactor: Reactor;
  warn: (w: string) => void;
  /** Whether the watch of the graph is ending (a signal, or a reload): no load then. */
  over: () => boolean;
  loaded: (next: Required<Loaded>) => void;
}

/** How often a file that a failed load found missing is looked for. */
const POLL_MISSING_MS = 300;

/** A file's content as a SHA-256 (or `gone`). */
function contentOf(f: string): string {
  try {
    return hashFile("/", resolve(f));
  } catch {
    return "gone";
  }
}

/** A file's mtime, ctime, size and inode (or `gone`): a save of any kind changes it. */
function stampOf(f: string): string {
  try {
    const st = statSync(f);
    return `${st.mtimeMs}:${st.ctimeMs}:${st.size}:${st.ino}`;
  } catch {
    return "gone";
  }
}

/**
 * One watch cycle: the change said (event, `jx.watch.change` message, modules whose own
 * `reads` changed started again before their dependents run), then a run of the cycle's jobs
 * from a full pool, with its own console reporter and the session's state.
 */
function cycleRunner(args: Args, c: {
  graph: Graph;
  selected: JobSpec[];
  baseDir: string;
  reactor: Reactor;
  state: InstanceType<typeof UpToDate>;
  session: Session;
  modules: Supervisor;
  warn: (w: string) => void;
  /** Looks whether the jobs file (or a file it includes) changed since it was loaded. */
  onCycle: () => void;
}): WatchOptions["runCycle"] {
  const { graph, baseDir, reactor, modules, session: { emitAll, cycle, ctl, t0, persistent } } = c;
  // -j lowered to the open-files limit: said again only when it changes, not per cycle (the
  // pool's own warnings, of tokens lost in a cycle, are each cycle's).
  let saidLimit: string | undefined;
  const slotWarn = (w: string) => {
    if (!w.includes("open-files limit")) return c.warn(w);
    if (w !== saidLimit) saidLimit = w, c.warn(w);
  };
  // Its modules' descriptors: reserved for the first cycle; after it, those running are open.
  let need = fdNeed(c.selected);
  return async (jobs, changed, control) => {
    c.onCycle(); // an edit of the jobs file whose own event has not come yet
    if (changed.length) {
      const names = jobs.map((j) => j.name);
      emitAll({ type: "watch.change", t: reactor.now() - t0, paths: changed, jobs: names });
      modules.publish("jx.watch.change", JSON.stringify({ paths: changed, jobs: names }));
      modules.stale(
        jobs.filter((j) =>
          j.kind === "module" && j.reads.some((r) => changed.some((p) => resourceNames(r, p)))
        ).map((j) => j.name),
      );
    }
    const setup = setUpSlots(args, reactor, slotWarn, need);
    need = { ...need, modules: 0 };
    // Its jobs' last durations feed the status line's estimate; the cycle's successes are kept.
    const durations = new DurationRecorder(baseDir);
    const console = new ConsoleReporter({
      mode: args.output,
      color: args.color && isTerminal(2),
      statusLine: isTerminal(2) && args.output !== "stream",
      graph,
      verbose: args.verbose,
      clock: reactor,
      lastMs: lastDurations(baseDir, jobs),
      cycle: true,
    });
    // (The values this cycle's jobs get are those its graph's load read.)
    c.state.dotenvLoaded = graph.dotenvLoaded;
    c.state.cacheEnv = rootCacheEnv(graph.settings);
    c.state.runLogs = runLogs(args, baseDir);
    cycle.console = console;
    const started: string[] = cycle.started = [];
    try {
      const r = await runJobs(graph, withModules(graph, c.selected, jobs), {
        modules,
        extraEnv: ctl ? { JX_CTL: ctl.path } : undefined,
        reactor,
        slots: setup.slots,
        keepGoing: args.keepGoing || setup.makeKeepGoing,
        state: c.state,
        force: args.force && !changed.length,
        reporters: [console, durations, ...persistent],
        handleSignals: false,
        t0,
        control,
      });
      const changedWhileRan = editedWhileRan(c.state, baseDir, jobs, r);
      const out: CycleResult = changedWhileRan.length ? { ...r, changedWhileRan } : r;
      return started.length ? { ...out, modulesStarted: [...new Set(started)] } : out;
    } finally {
      if (cycle.console === console) cycle.console = undefined;
      if (cycle.started === started) cycle.started = undefined;
      durations.close();
      const problem = setup.finish();
      if (problem) c.warn(problem);
    }
  };
}

/**
 * The files the depfiles of the cycle's jobs that ran list that changed since their job's state
 * line recorded them: while it ran (size -1, or a file listed for the first time recorded as not
 * read though it is there: the job runs again), or after it, before the cycle's end. A header a
 * depfile listed for the first time may be in a folder the watch did not watch until the cycle
 * ended: no event came for its edit.
 */
function editedWhileRan(
  state: InstanceType<typeof UpToDate>,
  baseDir: string,
  jobs: JobSpec[],
  r: CycleResult,
): string[] {
  const out: string[] = [];
  for (const j of jobs) {
    if (!j.depfile || r.results.get(j.name)?.status !== "ok") continue;
    const recorded = state.recordedStamps(j.name);
    for (const p of depfileInputs(baseDir, j.depfile, j.cwd) ?? []) {
      const was = recorded?.get(p), now = stamp(baseDir, p);
      if (was === undefined) continue; // not an input (its own output)
      const same = was === null
        ? now === null
        : now !== null && was[0] === now[0] && was[1] === now[1] && was[2] === now[2];
      if (!same) out.push(p);
    }
  }
  return out;
}

/**
 * A cycle's jobs and the modules of the selection they need (directly or
 * through other modules): a running module resolves at once, an idle one
 * starts.
 */
function withModules(graph: Graph, selected: JobSpec[], jobs: JobSpec[]): JobSpec[] {
  const modules = new Map(selected.filter((j) => j.kind === "module").map((j) => [j.name, j]));
  const keep = new Set(jobs.map((j) => j.name));
  const stack = [...keep];
  while (stack.length) {
    for (const e of graph.depsOf(stack.pop()!)) {
      if (!modules.has(e.from) || keep.has(e.from)) continue;
      keep.add(e.from);
      stack.push(e.from);
    }
  }
  return selected.filter((j) => keep.has(j.name));
}
