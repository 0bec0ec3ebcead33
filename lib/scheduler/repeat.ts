/**
 * `repeat` loops: after a job (or every job of its `foreach` group)
 * succeeds, its test runs in the slot of the body job that ended last; the
 * body runs again while the test says so, up to `max` runs. The body's nodes
 * stay running in the plan until the loop ends.
 *
 * @module
 */
import type { Graph } from "../graph/graph.ts";
import type { JobSpec } from "../graph/types.ts";
import type { JobStatus, RunEvent } from "./events.ts";
import type { Plan } from "./plan.ts";

/** A `repeat` loop: one job, or every job of a `foreach` group, then the test. */
export interface Loop {
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

/** Where an attempt sits in a loop: the run number, and for the test, the loop it tests. */
export interface LoopPlace {
  iteration: number;
  test?: Loop;
}

/**
 * What the loops need from the builder.
 *
 * @example
 * ```ts
 * import type { LoopHost } from "./repeat.ts";
 * const start = (h: LoopHost) => h.pump();
 * ```
 */
export interface LoopHost {
  readonly plan: Plan;
  emit(e: RunEvent): void;
  t(): number;
  /** Resolves a job (giving its capacity back unless `give` is false), then pumps. */
  complete(spec: JobSpec, status: JobStatus, give?: boolean): void;
  startAttempt(spec: JobSpec, attempt: number, place?: LoopPlace): void;
  /** Takes a job's slots and pools now, or false. */
  reserve(spec: JobSpec): boolean;
  /** Gives a job's slots and pools back. */
  release(spec: JobSpec): void;
  pump(): void;
}

/**
 * The `repeat` loops of a run.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { Plan } from "./plan.ts";
 * import { Loops } from "./repeat.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile(
 *   "jobs:\n  t: { run: 'true' }\n  a: { run: x, repeat: { until: t, max: 3 } }\n",
 *   "j.yaml",
 * );
 * const loops = new Loops(g, g.jobs, new Plan(g, g.jobs));
 * // a test counts as ok until it has run; then this is its last status
 * assertEquals(loops.testStatus("t"), "ok");
 * ```
 */
export class Loops {
  /** Jobs that ran as `repeat` tests, with their last status. */
  private tests = new Map<string, JobStatus>();
  /** The tests that have run at least once. */
  private ran = new Set<string>();
  /** The loop of each body job: its own, or its `foreach` group's. */
  private loops = new Map<string, Loop>();
  /** Body jobs of loops waiting for a slot to run again, in order. */
  private queue: JobSpec[] = [];

  /** The loops of `selected`; their tests become condition jobs of `plan`. */
  constructor(graph: Graph, selected: JobSpec[], plan: Plan) {
    const byKey = new Map<string, Loop>();
    for (const s of selected) {
      const test = s.repeat?.test;
      if (test === undefined) continue;
      this.tests.set(test, "ok");
      plan.conditionJobs.add(test);
      const key = s.group ?? s.name;
      let loop = byKey.get(key);
      if (!loop) {
        loop = { body: [], test: graph.get(test), iteration: 1, pending: new Set(), broken: false };
        byKey.set(key, loop);
      }
      loop.body.push(s);
      loop.pending.add(s.name);
      this.loops.set(s.name, loop);
    }
  }

  /** A test's last status when the job ran as a `repeat` test (it then resolves with it). */
  testStatus(name: string): JobStatus | undefined {
    return this.tests.get(name);
  }

  /** Whether `name` ran as a `repeat` test (its status then is its last run's, not a skip). */
  ranAsTest(name: string): boolean {
    return this.ran.has(name);
  }

  /** Whether loops wait for slots to run their body again. */
  get queued(): boolean {
    return this.queue.length > 0;
  }

  /** A body job will not run (skipped, failed before starting): its loop ends. */
  notRun(host: LoopHost, name: string): void {
    const loop = this.loops.get(name);
    if (!loop || loop.broken) return;
    loop.pending.delete(name);
    this.breakLoop(host, loop, name);
  }

  /** A body job that could not start (its loop ends; it resolves on its own). */
  failedToStart(host: LoopHost, name: string): void {
    const loop = this.loops.get(name);
    if (loop && !loop.broken) this.breakLoop(host, loop, name);
  }

  /**
   * A body job's attempt ended for good. Returns true when the loop keeps
   * its node running (the test runs next, or others of the body are still
   * going); false: resolve it now.
   */
  bodyEnded(host: LoopHost, spec: JobSpec, status: JobStatus): boolean {
    const loop = this.loops.get(spec.name);
    if (!loop || loop.broken) return false;
    if (status !== "ok" || host.plan.stopping) {
      this.breakLoop(host, loop, spec.name);
      return false;
    }
    loop.pending.delete(spec.name);
    if (loop.pending.size === 0) {
      // The test runs next, in the slot of the body job that ended last.
      loop.holder = spec;
      host.startAttempt(loop.test, 1, { iteration: loop.iteration, test: loop });
      return true;
    }
    // Done for this iteration: its slot goes back, its node stays running.
    host.release(spec);
    host.pump();
    return true;
  }

  /** Ends a loop early: what already ended in this iteration resolves as ok. */
  private breakLoop(host: LoopHost, loop: Loop, except: string): void {
    loop.broken = true;
    for (const m of loop.body) {
      if (m.name !== except && !loop.pending.has(m.name)) host.complete(m, "ok", false);
    }
  }

  /** A `repeat` test ended: run the body again, or resolve it. */
  testEnded(host: LoopHost, loop: Loop, status: JobStatus): void {
    const rep = loop.body[0].repeat!;
    this.tests.set(loop.test.name, status);
    this.ran.add(loop.test.name);
    if (status === "cancelled" || host.plan.stopping) {
      return this.resolveBody(host, loop, "cancelled");
    }
    const again = rep.kind === "until" ? status !== "ok" : status === "ok";
    if (!again) return this.resolveBody(host, loop, "ok");
    if (loop.iteration < rep.max) {
      host.release(loop.holder!);
      loop.iteration++;
      loop.pending = new Set(loop.body.map((m) => m.name));
      this.queue.push(...loop.body);
      return host.pump();
    }
    const how = `${rep.kind} ${rep.test} succeeds`;
    const what = loop.body.length > 1 ? loop.body[0].group! : loop.holder!.name;
    host.emit({
      type: "emit.error",
      t: host.t(),
      job: what,
      error: `${what}: repeat ${how}: gave up after ${rep.max} runs (max)`,
    });
    this.resolveBody(host, loop, "ok", "failed");
  }

  /** Resolves the body: the holder gives back the slot it kept. */
  private resolveBody(host: LoopHost, loop: Loop, st: JobStatus, holderStatus = st): void {
    loop.broken = true;
    for (const m of loop.body) if (m !== loop.holder) host.complete(m, st, false);
    host.complete(loop.holder!, holderStatus);
  }

  /** Starts the queued body jobs as slots allow (or cancels them when the run stops). */
  startQueued(host: LoopHost): void {
    while (this.queue.length) {
      const spec = this.queue[0];
      const loop = this.loops.get(spec.name)!;
      if (host.plan.stopping || loop.broken) {
        this.queue.shift();
        loop.broken = true;
        host.complete(spec, "cancelled", false);
        continue;
      }
      if (!host.reserve(spec)) return;
      this.queue.shift();
      host.startAttempt(spec, 1, { iteration: loop.iteration });
    }
  }
}
