/**
 * The runners of this machine: `LocalRunner` spawns each job on the reactor
 * and holds job slots for it; `DryRunRunner` runs nothing (`-n`).
 *
 * @module
 */
import type { JobSpec } from "../graph/types.ts";
import type { ChildHandle, Reactor } from "../reactor/types.ts";
import type { RunHandle, Runner, RunRequest, RunSink } from "./runner.ts";
import type { JobPool, Slots } from "./slots.ts";

/**
 * Runs jobs as child processes of jx, each in its own process group, each
 * holding its `tokens` job slots while it runs.
 *
 * @example
 * ```ts
 * import { createPortableReactor } from "../reactor/mod.ts";
 * import { LocalRunner } from "./local_runner.ts";
 * import { LocalSlots } from "./slots.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const runner = new LocalRunner(createPortableReactor(), new LocalSlots(4));
 * assertEquals(runner.reserve({ tokens: 2 } as never), "ok");
 * ```
 */
export class LocalRunner implements Runner {
  readonly name = "local";
  /** Runs on `reactor`, within `slots`. */
  constructor(private reactor: Reactor, private slots: Slots) {}

  get limit(): number {
    return this.slots.limit;
  }

  set onCapacity(cb: (() => void) | undefined) {
    this.slots.onAvailable = cb;
  }

  reserve(spec: JobSpec): "ok" | "blocked" | "full" {
    if (this.slots.tryTake(spec.tokens)) return "ok";
    // When even one slot cannot be had, no other job can start either; but
    // while a bigger job waits for the pool, that job must still be asked.
    return spec.tokens === 1 && !this.slots.waiting ? "full" : "blocked";
  }

  release(spec: JobSpec): void {
    this.slots.give(spec.tokens);
  }

  /**
   * Spawns the job. A spawn that throws (a reactor out of resources) is the
   * attempt's failure, with the reason, never an exception out of the run.
   */
  start(req: RunRequest, sink: RunSink): RunHandle {
    let child: ChildHandle;
    let pool: JobPool | undefined;
    try {
      // A job of several tokens: a make in it gets them all, from a pool of its own.
      pool = req.spec.tokens > 1 ? this.slots.jobPool?.(req.env, req.spec) : undefined;
      child = this.reactor.spawn({
        argv: req.argv,
        cwd: req.spec.cwd,
        env: pool?.env ?? req.env,
        ...(req.spec.interactive ? { terminal: true } : {}),
        ...(req.spec.inheritOutput ? { inheritOutput: true } : {}),
        // After its process exited, a daemon outside its group holding its output gets the grace.
        lingerMs: req.spec.graceMs,
        onStart: (pid) => sink.started(pid),
        onOutput: (stream, chunk) => sink.output(stream, chunk),
        onExit: (status) => {
          pool?.finish();
          sink.ended({ kind: "exited", status });
        },
      });
    } catch (e) {
      pool?.finish();
      return notStarted(req, sink, e);
    }
    return {
      signal: (sig) => child.kill(sig),
      suspend: (stopped) => child.kill(stopped ? "SIGSTOP" : "SIGCONT"),
    };
  }

  close(): void {
    this.slots.onAvailable = undefined;
  }
}

/**
 * An attempt whose spawn threw: it ends as a process that could not start,
 * reported after `start` has returned (as a reactor reports a failed start).
 */
function notStarted(req: RunRequest, sink: RunSink, e: unknown): RunHandle {
  const why = e instanceof Error ? e.message : String(e);
  const error = `cannot start '${req.argv[0]}' in ${req.spec.cwd}: ${why}`;
  queueMicrotask(() => sink.ended({ kind: "exited", status: { code: null, signal: null, error } }));
  return { signal() {} };
}

/**
 * `-n`: every ready node resolves as skipped (`dry-run`) unless it is up to
 * date; nothing is spawned, no module started, no generator expanded.
 *
 * @example
 * ```ts
 * import { DryRunRunner } from "./local_runner.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const runner = new DryRunRunner(8);
 * assertEquals(runner.passOver, "dry-run");
 * ```
 */
export class DryRunRunner implements Runner {
  readonly name = "dry-run";
  readonly passOver = "dry-run" as const;
  /** A dry run of `-j limit` (what `run.start` says). */
  constructor(readonly limit: number) {}
  reserve(): "ok" {
    return "ok";
  }
  release(): void {}
  start(_req: RunRequest, sink: RunSink): RunHandle {
    sink.ended({ kind: "skipped", reason: "dry-run" });
    return { signal() {} };
  }
}
