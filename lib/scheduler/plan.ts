/**
 * The build plan: which selected jobs are waiting, ready, running or
 * resolved, and how an outcome spreads to dependents. Pure logic: no
 * processes, no clock.
 *
 * Rules (also in docs/ordering.md):
 * - `needs` and `resource` edges (a write, then a read) carry failure: a
 *   dependent of a failed job is skipped with `dependency-failed`.
 * - `order` edges (a read or write, then a write) only order: the later job
 *   runs even when the earlier one failed (with `-k`).
 * - `if: J` runs only when J succeeded; `unless: J` only when J ran and
 *   failed. A skipped J is neither: both conditions are false.
 * - A job skipped by a condition does not block its dependents; they run.
 * - A job named by an `if`/`unless` is a test: its failure does not stop the
 *   run and does not make it fail.
 *
 * @module
 */
import type { Graph } from "../graph/graph.ts";
import type { JobSpec } from "../graph/types.ts";
import type { JobStatus, SkipReason } from "./events.ts";
import { MinHeap } from "./heap.ts";

/**
 * How a job was resolved.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { Plan } from "./plan.ts";
 * const g = parseJobsFile("jobs:\n  a: { run: x }\n", "j.yaml");
 * const plan = new Plan(g, g.jobs);
 * plan.outcome("a"); // undefined until a is resolved, then e.g. { kind: "ran", status: "ok" }
 * ```
 */
export type Outcome =
  | { kind: "ran"; status: JobStatus }
  | { kind: "skipped"; reason: SkipReason; because?: string };

interface Node {
  spec: JobSpec;
  /** Dependencies not yet resolved. */
  waiting: number;
  /** A reason to skip, found while waiting. */
  mark?: { reason: SkipReason; because?: string };
  state: "waiting" | "ready" | "running" | "done";
  outcome?: Outcome;
}

/**
 * A job resolved as skipped, for the caller to report.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { Plan } from "./plan.ts";
 * const g = parseJobsFile("jobs:\n  a: { run: x }\n  b: { run: y, needs: [a] }\n", "j.yaml");
 * const plan = new Plan(g, g.jobs);
 * plan.takeSkipped(); // [] until a fails; then [{ job: "b", reason: "dependency-failed", because: "a" }]
 * ```
 */
export interface Skipped {
  /** The skipped job. */
  job: string;
  /** Why it was skipped. */
  reason: SkipReason;
  /** The job whose failure (or condition) caused it. */
  because?: string;
}

/**
 * The plan over a selection of a graph.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { Plan } from "./plan.ts";
 * const g = parseJobsFile("jobs:\n  a: { run: x }\n  b: { run: y, needs: [a] }\n", "j.yaml");
 * const plan = new Plan(g, g.select([]));
 * plan.nextReady(); // the spec of "a"
 * plan.start("a");
 * plan.finish("a", "ok"); // b becomes ready
 * ```
 */
export class Plan {
  private nodes = new Map<string, Node>();
  private byIndex: Node[] = [];
  private ready = new MinHeap();
  /** Ready modules: they hold no job slots, so they are offered first and never wait for one. */
  private readyModules = new MinHeap();
  private unresolved: number;
  /** Jobs named by some `if`/`unless`. */
  readonly conditionJobs: Set<string> = new Set();
  /** Set once the run stops starting jobs (fail-fast after a failure, or an interrupt). */
  stopping: "failure" | "interrupt" | undefined;

  /** A plan for the `selected` jobs of `graph`; skips are pushed to `skippedOut` as they resolve. */
  constructor(private graph: Graph, selected: JobSpec[], private skippedOut: Skipped[] = []) {
    for (const spec of selected) {
      const n: Node = { spec, waiting: 0, state: "waiting" };
      this.nodes.set(spec.name, n);
      this.byIndex[spec.index] = n;
    }
    for (const n of this.nodes.values()) {
      for (const e of graph.depsOf(n.spec.name)) if (this.nodes.has(e.from)) n.waiting++;
      if (n.spec.if) this.conditionJobs.add(n.spec.if);
      if (n.spec.unless) this.conditionJobs.add(n.spec.unless);
    }
    this.unresolved = this.nodes.size;
    for (const n of this.nodes.values()) if (n.waiting === 0) this.becameFree(n);
  }

  /** Number of selected jobs. */
  get size(): number {
    return this.nodes.size;
  }

  /** True when every selected job is resolved. */
  get done(): boolean {
    return this.unresolved === 0;
  }

  /** The outcome of a resolved job. */
  outcome(name: string): Outcome | undefined {
    return this.nodes.get(name)?.outcome;
  }

  /** Skips resolved since the last call, in order. */
  takeSkipped(): Skipped[] {
    return this.skippedOut.splice(0);
  }

  /**
   * The ready jobs in file order, each offered to `tryStart`; those it
   * refuses stay ready. Stops early when `tryStart` returns `"full"`.
   */
  offerReady(tryStart: (spec: JobSpec) => "started" | "blocked" | "full"): void {
    const waitingModules: number[] = [];
    for (let i = this.readyModules.pop(); i !== undefined; i = this.readyModules.pop()) {
      if (tryStart(this.byIndex[i].spec) !== "started") waitingModules.push(i);
    }
    for (const i of waitingModules) this.readyModules.push(i);
    const blocked: number[] = [];
    for (let i = this.ready.pop(); i !== undefined; i = this.ready.pop()) {
      const n = this.byIndex[i];
      const r = tryStart(n.spec);
      if (r === "started") continue;
      blocked.push(i);
      if (r === "full") break;
    }
    // A job resolved during the loop may have stopped the plan (a job that
    // fails without starting): what was refused is then skipped, not kept.
    for (const i of blocked) {
      if (this.stopping) this.skipFree(this.byIndex[i]);
      else this.ready.push(i);
    }
  }

  /** The first ready job in file order, without removing it. */
  nextReady(): JobSpec | undefined {
    for (const heap of [this.ready, this.readyModules]) {
      const i = heap.pop();
      if (i === undefined) continue;
      heap.push(i);
      return this.byIndex[i].spec;
    }
    return undefined;
  }

  /** Marks a ready job as running (it must have been taken from `offerReady`). */
  start(name: string): void {
    const n = this.nodes.get(name)!;
    n.state = "running";
  }

  /** Resolves a job that ran. Dependents that become ready are queued; skips are collected. */
  finish(name: string, status: JobStatus): void {
    this.resolve(this.nodes.get(name)!, { kind: "ran", status });
  }

  /** Resolves a ready job as skipped without running it (up to date, dry run). */
  skipReady(name: string, reason: SkipReason): void {
    const n = this.nodes.get(name)!;
    this.skippedOut.push({ job: name, reason });
    this.resolve(n, { kind: "skipped", reason });
  }

  /** Starts nothing more; every job not yet started is resolved as skipped. */
  stop(why: "failure" | "interrupt"): void {
    this.stopping ??= why;
    const free: number[] = [];
    for (let i = this.ready.pop(); i !== undefined; i = this.ready.pop()) free.push(i);
    for (let i = this.readyModules.pop(); i !== undefined; i = this.readyModules.pop()) {
      free.push(i);
    }
    for (const i of free) this.skipFree(this.byIndex[i]);
  }

  /** Whether a failure of this job counts (it is not only another job's condition). */
  failureCounts(name: string): boolean {
    return !this.conditionJobs.has(name);
  }

  /** Jobs whose last dependency resolved, handled in a loop (no deep recursion on long chains). */
  private freed: Node[] = [];
  private draining = false;

  /** Records a job's outcome and frees (or marks) what waits for it. */
  private resolve(n: Node, outcome: Outcome): void {
    n.state = "done";
    n.outcome = outcome;
    this.unresolved--;
    const name = n.spec.name;
    for (const e of this.graph.dependentsOf(name)) {
      const d = this.nodes.get(e.to);
      if (!d || d.state === "done") continue;
      if (!d.mark) d.mark = this.markFor(e.kind, name, outcome, d.spec);
      if (--d.waiting === 0) this.freed.push(d);
    }
    if (this.draining) return;
    this.draining = true;
    try {
      for (let i = 0; i < this.freed.length; i++) this.becameFree(this.freed[i]);
    } finally {
      this.freed.length = 0;
      this.draining = false;
    }
  }

  /** What an edge of `kind` from a resolved job means for a dependent. */
  private markFor(
    kind: string,
    from: string,
    o: Outcome,
    to: JobSpec,
  ): Node["mark"] {
    const ran = o.kind === "ran";
    const succeeded = (ran && o.status === "ok") || (!ran && o.reason === "up-to-date") ||
      (!ran && o.reason === "dry-run");
    const cancelled = (ran && o.status === "cancelled") || (!ran && o.reason === "cancelled");
    if (kind === "condition") {
      if (to.if === from && succeeded) return undefined;
      if (to.unless === from && ran && (o.status === "failed" || o.status === "timeout")) {
        return undefined;
      }
      if (cancelled) return { reason: "cancelled", because: from };
      return { reason: "condition", because: from };
    }
    if (kind === "order") return undefined;
    if (succeeded) return undefined;
    if (cancelled) return { reason: "cancelled", because: from };
    if (!ran && o.reason === "condition") return undefined;
    const root = !ran && o.reason === "dependency-failed" ? o.because : from;
    return { reason: "dependency-failed", because: root };
  }

  /** A job whose dependencies have all resolved: ready, or skipped if marked or stopping. */
  private becameFree(n: Node): void {
    if (n.mark || this.stopping) return this.skipFree(n);
    n.state = "ready";
    (n.spec.kind === "module" ? this.readyModules : this.ready).push(n.spec.index);
  }

  /** Resolves a freed job as skipped, with the reason it was marked with. */
  private skipFree(n: Node): void {
    const mark = n.mark ?? { reason: "cancelled" as const };
    this.skippedOut.push({ job: n.spec.name, reason: mark.reason, because: mark.because });
    this.resolve(n, { kind: "skipped", reason: mark.reason, because: mark.because });
  }
}
