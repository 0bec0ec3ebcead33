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
import { dirname, relative, resolve } from "node:path";
import { resourceNames } from "../graph/glob.ts";
import type { Graph, JobSpec } from "../graph/mod.ts";
import { createReactor, type ListenSignal, type Reactor } from "../reactor/mod.ts";
import { ConsoleReporter, EventLog, MemoryKeeper, TraceWriter } from "../report/mod.ts";
import { type Reporter, type RunEvent, runJobs, signalExit } from "../scheduler/mod.ts";
import { dieAtExit, escapeControls, isTerminal, writeAll } from "../runtime/mod.ts";
import { UpToDate } from "../state/mod.ts";
import { Watcher, type WatchOptions } from "../watch/watch.ts";
import type { Args } from "./args.ts";
import { DurationRecorder, lastDurations } from "./durations.ts";
import { load, setUpSlots, takeLock } from "./setup.ts";
import type { RunUi } from "./ui_live.ts";

/** Runs `jx watch` until SIGINT/SIGTERM; returns 130/143 (or 2 for bad input). */
export async function cmdWatch(args: Args): Promise<number> {
  const graph = await load(args);
  const selected = graph.select(args.names);
  const baseDir = dirname(resolve(graph.file));
  const lock = await takeLock(baseDir, args.noWait, "watch");
  const reactor = createReactor(args.reactor);
  const warn = (w: string) => writeAll(2, `jx: warning: ${w}\n`);
  const poll = args.poll || !reactor.watch;
  if (poll && !args.poll) {
    warn(`no inotify with the ${reactor.name} reactor: watching by polling every 300ms`);
  }
  const state = new UpToDate(baseDir);
  const session = await openSession(args, graph, baseDir, reactor);
  const { modules, persistent } = session;
  const edits = jobsFileEdits(graph);
  const sayEdit = () => {
    const file = edits.edited();
    if (file) {
      warn(
        `${
          escapeControls(file)
        } changed: restart jx watch to use it (this one runs what it loaded)`,
      );
    }
  };
  const watcher = new Watcher({
    graph,
    selected,
    baseDir,
    reactor,
    debounceMs: args.debounceMs,
    onBusy: args.onBusy,
    poll,
    runCycle: cycleRunner(args, {
      graph,
      selected,
      baseDir,
      reactor,
      state,
      session,
      warn,
      sayEdit,
    }),
    say: (line) => writeAll(2, line + "\n"),
    ownFiles: edits.files.map((f) => relative(baseDir, resolve(f))),
    onOwnFile: sayEdit,
  });

  let exit = 0;
  let ui: RunUi | undefined; // `--ui`: the live page, for the whole session
  const unlisten = (["SIGINT", "SIGTERM", "SIGHUP"] as ListenSignal[]).map((sig) =>
    reactor.onSignal(sig, () => {
      if (exit) modules.kill(); // a second signal: no more grace for the modules
      if (!exit) dieAtExit(sig); // jx dies of it at its exit (runtime/die.ts)
      exit ||= signalExit(sig);
      watcher.stop(sig);
    })
  );
  try {
    if (args.ui) {
      const live = await import("./ui_live.ts" as string) as typeof import("./ui_live.ts");
      const control = modules.control.bind(modules);
      ui = await live.startRunUi(args, { graph, selected, mode: "watch", control });
      if (ui) persistent.push(ui.reporter);
    }
    watcher.start();
    await watcher.done;
  } finally {
    // The session's modules, in reverse dependency order, before the sockets and logs close.
    await modules.end();
    for (const u of unlisten) u();
    await session.ctl?.close();
    for (const r of persistent) await r.close?.();
    await ui?.close();
    state.close();
    reactor.close();
    lock?.release();
  }
  return exit || 130;
}

/** What lasts the whole watch session (see `openSession`). */
interface Session {
  /** The event log, the trace and the memory keeper: every cycle's reporters. */
  persistent: Reporter[];
  /** Sends an event to the persistent reporters. */
  emitAll: (e: RunEvent) => void;
  modules: InstanceType<typeof import("../modules/mod.ts").Supervisor>;
  ctl: { path: string; close(): Promise<void> } | undefined;
  /** The session's start: every event's `t` counts from it. */
  t0: number;
}

/**
 * The session's reporters, its modules (their events to a console of their own: no status
 * line, no summary; and to the event log) and the control socket (`jx ctl` reaches the modules
 * and the jobs of every cycle).
 */
async function openSession(
  args: Args,
  graph: Graph,
  baseDir: string,
  reactor: Reactor,
): Promise<Session> {
  const persistent: Reporter[] = [];
  if (args.events) persistent.push(new EventLog(args.events, graph.filesRead()));
  if (args.trace) persistent.push(new TraceWriter(args.trace, graph.filesRead()));
  // One for the whole session: its limit follows what collections leave, cycle after cycle.
  persistent.push(new MemoryKeeper());
  const t0 = reactor.now();
  const emitAll = (e: RunEvent) => {
    for (const r of persistent) r.event(e);
  };
  const moduleConsole = new ConsoleReporter({
    mode: args.output,
    color: args.color && isTerminal(2),
    statusLine: false,
    graph,
    verbose: args.verbose,
  });
  const { CtlServer, Supervisor } = await import(
    "../modules/mod.ts" as string
  ) as typeof import("../modules/mod.ts");
  const modules = new Supervisor({
    session: true,
    emit: (e) => {
      moduleConsole.event(e);
      emitAll(e);
    },
  });
  const ctl = await CtlServer.listen(baseDir, (req) => modules.control(req)).catch(() => undefined);
  return { persistent, emitAll, modules, ctl, t0 };
}

/**
 * The jobs file or a file it includes that changed since the graph was
 * loaded, the first time it is seen changed (then never again); else
 * undefined.
 */
function jobsFileEdits(graph: Graph): { files: string[]; edited: () => string | undefined } {
  const files = [graph.file, ...new Set(graph.jobs.flatMap((j) => j.source ?? []))];
  const stampOf = (f: string) => {
    try {
      const st = statSync(f);
      return `${st.mtimeMs}:${st.ctimeMs}:${st.size}:${st.ino}`;
    } catch {
      return "gone";
    }
  };
  const loaded = new Map(files.map((f) => [f, stampOf(f)]));
  let said = false;
  const edited = () => {
    if (said) return undefined;
    const file = files.find((f) => stampOf(f) !== loaded.get(f));
    if (file !== undefined) said = true;
    return file;
  };
  return { files, edited };
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
  warn: (w: string) => void;
  /** Says once that the jobs file (or a file it includes) changed since it was loaded. */
  sayEdit: () => void;
}): WatchOptions["runCycle"] {
  const { graph, baseDir, reactor, session: { modules, emitAll, ctl, t0, persistent } } = c;
  return async (jobs, changed, control) => {
    c.sayEdit(); // when its own event has not come yet
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
    const setup = setUpSlots(args, reactor, c.warn);
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
    try {
      return await runJobs(graph, withModules(graph, c.selected, jobs), {
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
    } finally {
      durations.close();
      const problem = setup.finish();
      if (problem) c.warn(problem);
    }
  };
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
