/**
 * `jx watch`: the command around `lib/watch`. Each cycle is a run with its
 * own console reporter, a fresh job-slot pool and the shared up-to-date
 * state; the event log spans the whole session.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { JxInputError } from "../graph/mod.ts";
import { createReactor, type ListenSignal } from "../reactor/mod.ts";
import { ConsoleReporter, EventLog, TraceWriter } from "../report/mod.ts";
import { type Reporter, type RunEvent, runJobs } from "../scheduler/mod.ts";
import { isTerminal, writeAll } from "../runtime/mod.ts";
import { UpToDate } from "../state/mod.ts";
import { Watcher } from "../watch/watch.ts";
import type { Args } from "./args.ts";
import { load, setUpJobserver, takeLock } from "./main.ts";

const EXIT: Record<ListenSignal, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/** Runs `jx watch` until SIGINT/SIGTERM; returns 130/143 (or 2 for bad input). */
export async function cmdWatch(args: Args): Promise<number> {
  const graph = load(args);
  const selected = graph.select(args.names);
  for (const j of selected) {
    if (j.kind === "module") {
      throw new JxInputError(
        `modules.${j.name}: jx watch does not run modules yet (jx run does)`,
        graph.file,
        j.pos,
      );
    }
  }
  const baseDir = dirname(resolve(graph.file));
  const lock = await takeLock(baseDir, args.noWait);
  const reactor = createReactor(args.reactor);
  const warn = (w: string) => writeAll(2, `jx: warning: ${w}\n`);
  const poll = args.poll || !reactor.watch;
  if (poll && !args.poll) {
    warn(`no inotify with the ${reactor.name} reactor: watching by polling every 300ms`);
  }
  const state = new UpToDate(baseDir);
  const persistent: Reporter[] = [];
  if (args.events) persistent.push(new EventLog(args.events));
  if (args.trace) persistent.push(new TraceWriter(args.trace));
  const t0 = reactor.now();
  // `jx ctl` (status, publish) reaches the cycle that runs, or ran last.
  const { CtlServer, Supervisor } = await import("../modules/mod.ts");
  let cycle = new Supervisor();
  const ctl = await CtlServer.listen(baseDir, (req) => cycle.control(req)).catch(() => undefined);
  const emitAll = (e: RunEvent) => {
    for (const r of persistent) r.event(e);
  };

  const watcher = new Watcher({
    graph,
    selected,
    baseDir,
    reactor,
    debounceMs: args.debounceMs,
    onBusy: args.onBusy,
    poll,
    runCycle: async (jobs, changed, control) => {
      if (changed.length) {
        emitAll({
          type: "watch.change",
          t: reactor.now() - t0,
          paths: changed,
          jobs: jobs.map((j) => j.name),
        });
      }
      // Each cycle starts from a full pool.
      const js = setUpJobserver(args, reactor, warn);
      const console = new ConsoleReporter({
        mode: args.output,
        color: args.color && isTerminal(2),
        statusLine: isTerminal(2) && args.output !== "stream",
        graph,
        verbose: args.verbose,
      });
      cycle = new Supervisor();
      try {
        return await runJobs(graph, jobs, {
          modules: cycle,
          extraEnv: ctl ? { JX_CTL: ctl.path } : undefined,
          reactor,
          jobs: js.jobs ?? availableParallelism(),
          slots: js.pool,
          jobserver: js.pool?.role ?? "none",
          jobEnv: js.pool ? (spec, env) => js.pool!.jobEnv(env, spec.jobserver) : undefined,
          keepGoing: args.keepGoing || js.keepGoing,
          state,
          force: args.force && !changed.length,
          reporters: [console, ...persistent],
          handleSignals: false,
          t0,
          control,
        });
      } finally {
        const problem = js.pool?.finish();
        if (problem) warn(problem);
      }
    },
    say: (line) => writeAll(2, line + "\n"),
  });

  let exit = 0;
  const unlisten = (["SIGINT", "SIGTERM", "SIGHUP"] as ListenSignal[]).map((sig) =>
    reactor.onSignal(sig, () => {
      exit ||= EXIT[sig];
      watcher.stop(sig);
    })
  );
  try {
    watcher.start();
    await watcher.done;
  } finally {
    for (const u of unlisten) u();
    await ctl?.close();
    for (const r of persistent) await r.close?.();
    state.close();
    reactor.close();
    lock.release();
  }
  return exit || 130;
}
