/**
 * Tracing on the runner seam (scheduler/runner.ts): a `Runner` that wraps
 * another (the `LocalRunner`) and starts each attempt's argv under a
 * `Tracer`; when the attempt's process has exited, and before its end is
 * reported to the builder, the accesses go to `onTrace`.
 *
 * @module
 */
import { accessSync, constants, statSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import type { JobSpec } from "../graph/mod.ts";
import {
  type RunHandle,
  type Runner,
  type RunRequest,
  type RunSink,
  WrappingRunner,
} from "../scheduler/mod.ts";
import type { ExitStatus } from "../reactor/mod.ts";
import type { Access, TracedRun, Tracer } from "./types.ts";
import { escapeControls } from "../runtime/mod.ts";

/**
 * Runs every job of `inner` under `tracer`. A job restored from a cache or
 * skipped ran no process: nothing is traced and `onTrace` is not called.
 * Modules never reach a runner (the builder starts them through its
 * `ModuleHost`), so they are never traced; neither are `repeat` tests.
 *
 * An output cache wraps this runner, not the reverse: a job restored from
 * the cache is not traced, and a job that runs is traced before the cache
 * decides whether to store it (`Remembered.hasUndeclaredInputs`).
 *
 * @example
 * ```ts
 * import { TracingRunner } from "./runner.ts";
 * import { StraceTracer } from "./strace.ts";
 * import { createPortableReactor } from "../reactor/mod.ts";
 * import { LocalRunner, LocalSlots } from "../scheduler/mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const local = new LocalRunner(createPortableReactor(), new LocalSlots(2));
 * const runner = new TracingRunner(local, new StraceTracer(), (job, a) => console.log(job, a.length));
 * assertEquals(runner.limit, 2);
 * ```
 */
export class TracingRunner extends WrappingRunner {
  readonly name: string;
  /** The accesses of each job's failed attempt, until it is retried or its end is final (`lastEnd`). */
  private held = new Map<string, { spec: JobSpec; accesses: Access[] }>();

  constructor(
    inner: Runner,
    private tracer: Tracer,
    private onTrace: (spec: JobSpec, accesses: Access[]) => void,
    /** The run's exit from what was found (`--strict`, `jx lint`), given the one it would have. */
    private exitOf?: (code: number) => number | undefined,
  ) {
    super(inner);
    this.name = `${inner.name}+${tracer.name}`;
  }

  override runExit(own: number): number | undefined {
    const inner = this.inner.runExit?.(own);
    return this.exitOf?.(inner ?? own) ?? inner;
  }

  /** A job the tracer recorded nothing of: one line in its output says so. */
  private untraced(spec: JobSpec, sink: RunSink): void {
    const line =
      `jx: ${escapeControls(spec.name)}: ${this.tracer.name} recorded nothing (not permitted to ` +
      `trace here?): not checked, its last checked run's findings kept\n`;
    sink.output("stderr", new TextEncoder().encode(line));
  }

  /** What the tracer could not see of a job: one line each in its output. */
  private say(spec: JobSpec, sink: RunSink, notes: string[]): void {
    const text = notes.map((n) => `jx: ${escapeControls(spec.name)}: ${n}\n`).join("");
    if (text) sink.output("stderr", new TextEncoder().encode(text));
  }

  /**
   * A job's last attempt is over (its `job.end` without `retrying`): the accesses of a failed
   * attempt held for a retry that did not come are compared now. Nothing when none is held.
   */
  lastEnd(job: string): void {
    const held = this.held.get(job);
    if (!held) return;
    this.held.delete(job);
    this.onTrace(held.spec, held.accesses);
  }

  start(req: RunRequest, sink: RunSink): RunHandle {
    // Another attempt: what the one before it did is not the job's (it failed, and is retried).
    this.held.delete(req.spec.name);
    // A program that is not there starts nothing to trace: the inner runner says so as without
    // tracing ("cannot start"), where strace would fail in the job's place ("Can't stat", exit 1).
    if (!runnable(req.argv[0], req.spec.cwd, req.env.PATH)) return this.inner.start(req, sink);
    const run = this.tracer.wrap(req.argv, req.spec.cwd);
    const traced: RunRequest = { ...req, argv: run.argv, env: { ...req.env, ...run.env } };
    try {
      return this.inner.start(traced, {
        started: (pid, where) => sink.started(pid, where),
        output: (stream, chunk) => sink.output(stream, chunk),
        ended: (end) => {
          // Collected even when the job failed: what it did before failing is real.
          if (end.kind === "exited") this.collected(req, end.status, sink, run);
          else run.discard?.();
          sink.ended(end);
        },
      });
    } catch (e) {
      run.discard?.();
      throw e;
    }
  }

  /**
   * The accesses of an attempt that exited, to `onTrace` (none traced: a line says so); a failed
   * attempt's are held instead while the job may be retried (`lastEnd`).
   */
  private collected(req: RunRequest, st: ExitStatus, sink: RunSink, run: TracedRun): void {
    const { spec } = req;
    const accesses = run.collect();
    // No trace at all: what it touched is unknown (its last findings stand).
    if (!accesses) return this.untraced(spec, sink);
    this.say(spec, sink, run.notes?.() ?? []);
    const failed = st.code !== 0 || st.signal !== null || st.error !== undefined;
    if (failed && req.attempt <= spec.retries) this.held.set(spec.name, { spec, accesses });
    else this.onTrace(spec, accesses);
  }
}

/**
 * Whether `program` (a job's `argv[0]`: with a `/`, relative to `cwd`; else looked up on `path`)
 * is a file that may be executed.
 */
function runnable(
  program: string | undefined,
  cwd: string,
  path = process.env.PATH ?? "",
): boolean {
  if (!program) return false;
  const dirs = program.includes("/") ? [cwd] : path.split(":").map((d) => d || ".");
  return dirs.some((d) => {
    try {
      const file = resolve(cwd, d, program);
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
}
