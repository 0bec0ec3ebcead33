/**
 * A reactor that runs every job under a tracer: the seam `jx lint` uses in
 * phase 1 (phase 2 moves it onto the scheduler's runners).
 *
 * @module
 */
import type { Reactor, SpawnRequest } from "../reactor/mod.ts";
import type { Access, Tracer } from "./types.ts";

/**
 * Wraps `inner` so that each spawn of a job (a request whose environment
 * names it in `JX_JOB`) runs under `tracer`; once the job's process has
 * exited, and before its exit is reported, `record` gets what it did.
 * Modules (`JX_MODULE`) and spawns without `JX_JOB` run untraced.
 *
 * @example
 * ```ts
 * import { tracingReactor } from "./reactor.ts";
 * import { StraceTracer } from "./strace.ts";
 * import { createReactor } from "../reactor/mod.ts";
 * const seen = new Map<string, number>();
 * const r = tracingReactor(createReactor(), new StraceTracer(), (job, a) => seen.set(job, a.length));
 * ```
 */
export function tracingReactor(
  inner: Reactor,
  tracer: Tracer,
  record: (job: string, accesses: Access[]) => void,
): Reactor {
  const spawn = (req: SpawnRequest) => {
    const job = req.env.JX_JOB;
    if (job === undefined || req.env.JX_MODULE !== undefined) return inner.spawn(req);
    const run = tracer.wrap(req.argv, req.cwd);
    return inner.spawn({
      ...req,
      argv: run.argv,
      env: { ...req.env, ...run.env },
      onExit(status) {
        record(job, run.collect());
        req.onExit(status);
      },
    });
  };
  return {
    name: inner.name,
    now: () => inner.now(),
    spawn,
    setTimer: (ms, cb) => inner.setTimer(ms, cb),
    clearTimer: (id) => inner.clearTimer(id),
    watch: inner.watch ? (fd, cb) => inner.watch!(fd, cb) : undefined,
    onSignal: (signal, cb) => inner.onSignal(signal, cb),
    close: () => inner.close(),
  };
}
