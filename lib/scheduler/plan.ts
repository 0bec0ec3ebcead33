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
import { orderReads, ResourceIndex } from "../graph/edges.ts";
import type { Edge, JobSpec } from "../graph/types.ts";
import type { JobStatus, SkipReason } from "./events.ts";
import { MinHeap } from "./heap.ts";

/**
 * How a job was resolved.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { Plan } from "./plan.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  a: { run: x }\n", "j.yaml");
 * const plan = new Plan(g, g.jobs);
 * assertEquals(plan.outcome("a"), undefined);
 * plan.start("a");
 * plan.finish("a", "ok");
 * assertEquals(plan.outcome("a"), { kind: "ran", status: "ok" });
 * ```
 */
export type Outcome =
  | { kind: "ran"; status: JobStatus }
  | { kind: "skipped"; reason: SkipReason; because?: string };

interface Node {
  spec: JobSpec;
  /** Place in file order; a generated job sits just after its generator. */
  order: number;
  /** Dependencies not yet resolved. */
  waiting: number;
  /** A reason to skip, found while waiting. */
  mark?: { reason: SkipReason; because?: string };
  state: "waiting" | "ready" | "running" | "done";
  /**
   * A job added while running that was put first for a job before it in file order (one that
   * needs its generator): it does not wait for that job, so it covers nothing (`covers`).
   */
  waitedByEarlier?: boolean;
  outcome?: Outcome;
}

/**
 * A job resolved as skipped, for the caller to report.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { Plan } from "./plan.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  a: { run: x }\n  b: { run: y, needs: [a] }\n", "j.yaml");
 * const plan = new Plan(g, g.jobs);
 * assertEquals(plan.takeSkipped(), []);
 * plan.start("a");
 * plan.finish("a", "failed");
 * assertEquals(plan.takeSkipped(), [{ job: "b", reason: "dependency-failed", because: "a" }]);
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
 * What `offerReady`'s `tryStart` did with a job: started it (or resolved it),
 * or refused it: `blocked` (others may start), `full` (no other job of its
 * lane can), `stop` (no other job at all, this offer).
 */
export type Offered = "started" | "blocked" | "full" | "stop";

/**
 * The plan over a selection of a graph.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { Plan } from "./plan.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  a: { run: x }\n  b: { run: y, needs: [a] }\n", "j.yaml");
 * const plan = new Plan(g, g.select([]));
 * assertEquals(plan.nextReady()?.name, "a");
 * plan.start("a");
 * assertEquals(plan.nextReady(), undefined);
 * plan.finish("a", "ok");
 * assertEquals(plan.nextReady()?.name, "b");
 * ```
 */
export class Plan {
  /**
   * The selected jobs' nodes by `spec.index` (their place in file order,
   * what the ready heaps hold); a job not selected is a hole. An array, not
   * a map by name: a `Map` entry costs ~166 bytes on Bun, 3.3 MB at 20,000 jobs.
   */
  private nodes: (Node | undefined)[];
  /** Jobs added while running (few), by name and by their fractional place in order. */
  private addedByName = new Map<string, Node>();
  private addedByOrder = new Map<number, Node>();
  private count: number;
  /**
   * Ready jobs by lane (`laneOf`): a lane's jobs are those one "full" from
   * `tryStart` holds back (an executor's side); most runs have one.
   */
  private lanes: MinHeap[] = [new MinHeap()];
  /** Ready modules: they hold no job slots, so they are offered first and never wait for one. */
  private readyModules = new MinHeap();
  private unresolved: number;
  /** Jobs running (started, not resolved). */
  private started = 0;
  /** Jobs named by some `if`/`unless`. */
  readonly conditionJobs: Set<string> = new Set();
  /** Set once the run stops starting jobs (fail-fast after a failure, or an interrupt). */
  stopping: "failure" | "interrupt" | undefined;
  /** Edges of jobs added while running (the graph itself is never changed). */
  private addedOut = new Map<string, Edge[]>();
  private addedIn = new Map<string, Edge[]>();
  /** Every node's resources, built when the first job is added. */
  private resources?: ResourceIndex<{ node: Node; write: boolean }[]>;
  private added = 0;
  /** What each generator (an `emits: jobs` job, a deferred group, a feed) added, in order. */
  private made = new Map<string, string[]>();
  /** Each added job's generator (the inverse of `made`). */
  private maker = new Map<string, string>();
  /** Jobs of the graph pulled into the run for added jobs, until `takePulled`. */
  private pulledOut: { job: string; for: string }[] = [];
  /** The graph's `foreach` groups by their written name, built when a job added needs one. */
  private groups?: Map<string, string[]>;

  /** Skips as they resolve, until `takeSkipped`. */
  private skippedOut: Skipped[] = [];

  /**
   * A plan for the `selected` jobs of `graph`. `laneOf` says which jobs a
   * "full" of `offerReady`'s `tryStart` holds back: those of its lane (a
   * small number; one lane unless given).
   */
  constructor(
    private graph: Graph,
    selected: JobSpec[],
    private laneOf: (spec: JobSpec) => number = () => 0,
  ) {
    this.nodes = new Array(graph.jobs.length).fill(undefined);
    const list: Node[] = [];
    let holes = graph.jobs.length;
    for (const spec of selected) {
      // Every field set here, in one order: one shape, none added later (a second allocation).
      const n: Node = {
        spec,
        order: spec.index,
        waiting: 0,
        state: "waiting",
        mark: undefined,
        outcome: undefined,
      };
      if (!this.nodes[spec.index]) holes--;
      this.nodes[spec.index] = n;
      list.push(n);
    }
    for (const n of list) {
      // A selection of every job waits for each edge's job: no lookup per edge then.
      const deps = graph.depsOf(n.spec.name);
      n.waiting = holes ? deps.filter((e) => this.node(e.from)).length : deps.length;
      if (n.spec.if) this.conditionJobs.add(n.spec.if);
      if (n.spec.unless) this.conditionJobs.add(n.spec.unless);
    }
    this.count = this.unresolved = list.length;
    for (const n of list) if (n.waiting === 0) this.becameFree(n);
  }

  /** The node of a selected or added job. */
  private node(name: string): Node | undefined {
    const spec = this.graph.byName.get(name);
    return spec ? this.nodes[spec.index] : this.addedByName.get(name);
  }

  /** The node at a place in order (a heap entry): a graph job's index, or an added job's. */
  private at(order: number): Node {
    return (Number.isInteger(order) ? this.nodes[order] : this.addedByOrder.get(order))!;
  }

  /** Every node: the selected jobs in file order, then those added. */
  private *allNodes(): Iterable<Node> {
    for (const n of this.nodes) if (n) yield n;
    yield* this.addedByName.values();
  }

  /** Number of selected jobs. */
  get size(): number {
    return this.count;
  }

  /** True when every selected job is resolved. */
  get done(): boolean {
    return this.unresolved === 0;
  }

  /** The outcome of a resolved job. */
  outcome(name: string): Outcome | undefined {
    return this.node(name)?.outcome;
  }

  /** Skips resolved since the last call, in order. */
  takeSkipped(): Skipped[] {
    return this.skippedOut.splice(0);
  }

  /**
   * The ready jobs in file order, each offered to `tryStart`; those it
   * refuses stay ready. A `"full"` stops the offer of that job's lane (see
   * the constructor), the other lanes' jobs are still offered; a `"stop"`
   * stops the whole offer (a job that must run alone waits for the others).
   */
  offerReady(tryStart: (spec: JobSpec) => Offered): void {
    const waitingModules: number[] = [];
    for (let i = this.readyModules.pop(); i !== undefined; i = this.readyModules.pop()) {
      const n = this.at(i);
      if (n.state !== "ready") continue;
      if (tryStart(n.spec) !== "started") waitingModules.push(i);
    }
    for (const i of waitingModules) {
      const n = this.at(i);
      if (n.state !== "ready") continue; // pulled back meanwhile: not this entry's
      // A start in the loop may have stopped the plan: what was refused is skipped then.
      if (this.stopping) this.skipFree(n);
      else this.readyModules.push(i);
    }
    const blocked: number[] = [];
    const full = new Set<MinHeap>();
    for (let lane = this.nextLane(full); lane; lane = this.nextLane(full)) {
      const i = lane.pop()!;
      const n = this.at(i);
      if (n.state !== "ready") continue; // pulled back by a job added before it
      const r = tryStart(n.spec);
      if (r === "started") continue;
      blocked.push(i);
      if (r === "stop") break;
      if (r === "full") full.add(lane);
    }
    // A job resolved during the loop may have stopped the plan (a job that
    // fails without starting): what was refused is then skipped, not kept.
    for (const i of blocked) {
      const n = this.at(i);
      if (n.state !== "ready") continue; // pulled back (or resolved) meanwhile: not this entry's
      if (this.stopping) this.skipFree(n);
      else this.laneHeap(n.spec).push(i);
    }
  }

  /** The lane whose first ready job comes first in file order, among those not `full`. */
  private nextLane(full: Set<MinHeap>): MinHeap | undefined {
    const { lanes } = this;
    if (lanes.length === 1) return full.size || lanes[0].size === 0 ? undefined : lanes[0];
    let best: MinHeap | undefined;
    for (const lane of lanes) {
      const top = lane.peek();
      if (top === undefined || full.has(lane)) continue;
      if (best === undefined || top < best.peek()!) best = lane;
    }
    return best;
  }

  /** The heap of a job's lane (made on first use). */
  private laneHeap(spec: JobSpec): MinHeap {
    const k = this.laneOf(spec);
    while (this.lanes.length <= k) this.lanes.push(new MinHeap());
    return this.lanes[k];
  }

  /** The first ready job in file order, without removing it. */
  nextReady(): JobSpec | undefined {
    for (const heap of [...this.lanes, this.readyModules]) {
      let i = heap.peek();
      while (i !== undefined && this.at(i).state !== "ready") heap.pop(), i = heap.peek();
    }
    const lane = this.nextLane(new Set());
    const i = lane?.peek() ?? this.readyModules.peek();
    return i === undefined ? undefined : this.at(i).spec;
  }

  /** Marks a ready job as running (it must have been taken from `offerReady`). */
  start(name: string): void {
    const n = this.node(name)!;
    if (n.state !== "running") this.started++;
    n.state = "running";
  }

  /**
   * Whether jobs are left that nothing can ever free: some unresolved, none
   * running (a job, a module starting, a loop, a generator, a feed: each is
   * running until it resolves) and none ready (a job held for slots, tokens
   * or a module coming back is ready). Then every one left waits for another
   * left: a cycle, which the loader refuses, so only a damaged graph (or a
   * bug) gets here; `abandon` ends them.
   */
  get stalled(): boolean {
    return this.unresolved > 0 && this.started === 0 && this.nextReady() === undefined;
  }

  /**
   * Stops the plan (for `why`, unless it stopped already) and skips every job
   * still waiting, as `cancelled`, each naming a job it waited for; returns
   * their names in file order. For a `stalled` plan: without it, the run
   * would wait for them for ever, even past a stop signal.
   */
  abandon(why: "failure" | "interrupt"): string[] {
    this.stop(why);
    const left: Node[] = [];
    for (const n of this.allNodes()) if (n.state === "waiting") left.push(n);
    for (const n of left) {
      if (n.state !== "waiting") continue; // skipped meanwhile, freed by one skipped before it
      const on = this.graph.depsOf(n.spec.name).find((e) => this.node(e.from)?.state === "waiting");
      n.mark ??= { reason: "cancelled", because: on?.from };
      this.skipFree(n);
    }
    return left.map((n) => n.spec.name);
  }

  /** Whether a job is running (started, not resolved). */
  running(name: string): boolean {
    return this.node(name)?.state === "running";
  }

  /** Resolves a job that ran. Dependents that become ready are queued; skips are collected. */
  finish(name: string, status: JobStatus): void {
    this.resolve(this.node(name)!, { kind: "ran", status });
  }

  /** Resolves a ready job as skipped without running it (up to date, dry run). */
  skipReady(name: string, reason: SkipReason): void {
    const n = this.node(name)!;
    this.skippedOut.push({ job: name, reason });
    this.resolve(n, { kind: "skipped", reason });
  }

  /** Starts nothing more; every job not yet started is resolved as skipped. */
  stop(why: "failure" | "interrupt"): void {
    this.stopping ??= why;
    const free: number[] = [];
    for (const lane of this.lanes) {
      for (let i = lane.pop(); i !== undefined; i = lane.pop()) free.push(i);
    }
    for (let i = this.readyModules.pop(); i !== undefined; i = this.readyModules.pop()) {
      free.push(i);
    }
    for (const i of free) {
      const n = this.at(i);
      if (n.state === "ready") this.skipFree(n);
    }
  }

  /**
   * Adds a job while the run goes on (emitted by `by`, or expanded from it).
   * It sits in file order just after `by` and the jobs `by` added before:
   * it waits for its `needs`, for every conflicting job before it or
   * already started, and for nothing else; conflicting jobs after it that
   * have not started wait for it, and so does every job that `needs` `by`.
   * A job of the graph it names that the plan does not hold joins first,
   * with what it waits for (see `tryAdd`; `takePulled` is cleared here).
   * Returns the edges it added, or throws an `Error` saying why it cannot
   * join (a taken name, an unknown `needs`, a cycle): `tryAdd` returns it.
   */
  add(spec: JobSpec, by?: string): Edge[] {
    const added = this.tryAdd(spec, by);
    this.pulledOut.length = 0; // no events here: those are `Generated`'s, through `tryAdd`
    if (typeof added === "string") throw new Error(added);
    return added;
  }

  /** `add`, with the reason a job cannot join as the result (a string); nothing changes then. */
  tryAdd(spec: JobSpec, by?: string): Edge[] | string {
    if (this.addedByName.has(spec.name) || this.graph.byName.has(spec.name)) {
      return `a job named '${spec.name}' already exists`;
    }
    if (this.groupMembers(spec.name)) return `a foreach group named '${spec.name}' already exists`;
    const pull = this.pullFor(spec);
    if (typeof pull === "string") return pull;
    const gen = by === undefined ? undefined : this.node(by);
    // After the file's job its generator comes from (a generated generator's too), and after
    // all added before: one count for the whole run, so that no two keys are ever the same.
    const order = (gen ? Math.floor(gen.order) : this.graph.jobs.length) + (this.added + 1) * 1e-9;
    const edges = new NewEdges(spec.name);
    this.namedEdges(spec, edges, by);
    // What needs its generator waits for it, whatever their places (before the resource edges).
    if (by !== undefined) this.generatorEdges(by, edges, pull.byName);
    const { writes, reads } = this.resourceEdges(spec, order, edges, {
      pulled: pull.byName,
      pulledEdges: pull.edges.map((x) => x.e),
      pullIndex: pull.nodes.length ? pulledIndex(pull) : undefined,
    });
    const cycle = pull.nodes.length
      ? this.pullCycle(pull, spec.name, edges)
      : this.cycleThrough(spec.name, edges.into, edges.out);
    if (cycle) return cycle;
    this.added++;
    if (pull.nodes.length) this.commitPull(pull, spec);
    this.join(spec, order, edges, { writes, reads });
    if (edges.out.some((e) => this.node(e.to)!.order < order)) {
      this.addedByName.get(spec.name)!.waitedByEarlier = true;
    }
    if (by !== undefined) this.pushEdge(this.made, by, spec.name), this.maker.set(spec.name, by);
    return [...edges.into, ...edges.out];
  }

  /**
   * Edges in from what `spec` (made by `by`) needs (every member of a `foreach` group it names)
   * and its conditions. A job that needs a generator waits for all it made, unless it is one of
   * them itself: it then waits for the generator alone (else each of 1,000 shards that need
   * their generator waited for the one made before it).
   */
  private namedEdges(spec: JobSpec, edges: NewEdges, by: string | undefined): void {
    for (const n of spec.needs) {
      // A `foreach` group's written name stands for every job it expanded to, as in the file.
      const members = this.graph.byName.has(n) || this.node(n) ? undefined : this.groupMembers(n);
      for (const m of members ?? [n]) {
        edges.from(m, "needs", members ? `needs ${n}` : "needs");
        if (by === undefined || (by !== m && !this.madeBy(by, m))) this.madeEdges(m, edges);
      }
    }
    for (const key of ["if", "unless"] as const) {
      const n = spec[key];
      if (n !== undefined) edges.from(n, "condition", key);
    }
  }

  /**
   * What `m` made so far, and what that made: a job that needs a generator waits for it all, as
   * one of the file does (what it makes from now on: `generatorEdges`).
   */
  private madeEdges(m: string, edges: NewEdges): void {
    const stack = [...this.made.get(m) ?? []];
    while (stack.length) {
      const x = stack.pop()!;
      edges.from(x, "needs", `needs ${m} (made by it)`);
      stack.push(...this.made.get(x) ?? []);
    }
  }

  /** The jobs of the graph's `foreach` group `name`, or undefined when there is no such group. */
  private groupMembers(name: string): string[] | undefined {
    if (!this.groups) {
      this.groups = new Map();
      for (const j of this.graph.jobs) {
        if (j.group === undefined) continue;
        const list = this.groups.get(j.group);
        if (list) list.push(j.name);
        else this.groups.set(j.group, [j.name]);
      }
    }
    return this.groups.get(name);
  }

  /**
   * The jobs of the graph outside the run that `spec` names (in `needs`, directly or through a
   * `foreach` group, or in `if`/`unless`), with what they wait for in turn, as `select` takes
   * them: the nodes they would be, in file order, and their edges with jobs of the run that the
   * graph does not have (jobs added so far, by their files; jobs that started before them in the
   * graph's order; what a generator they need made). Nothing changes yet (`commitPull`). The
   * reason when a name is unknown, or when one of them can join a run only when it starts.
   */
  private pullFor(spec: JobSpec): Pull | string {
    const roots: [string, string][] = []; // name, and where `spec` names it
    for (const n of spec.needs) {
      if (n === spec.name) return `'${n}' cannot need itself`;
      if (this.node(n)) continue;
      if (this.graph.byName.has(n)) roots.push([n, "needs"]);
      else if (this.groupMembers(n)) {
        for (const m of this.groupMembers(n)!) if (!this.node(m)) roots.push([m, "needs"]);
      } else return `unknown job '${n}' in needs`;
    }
    for (const key of ["if", "unless"] as const) {
      const n = spec[key];
      if (n === undefined || this.node(n)) continue;
      if (n === spec.name) return `'${n}' cannot depend on itself`;
      const members = this.graph.byName.has(n) ? undefined : this.groupMembers(n);
      // As the loader says it of a job of the file.
      if (members) {
        return `'${n}' is a foreach group: ${key} names one job (such as '${members[0]}')`;
      }
      if (!this.graph.byName.has(n)) return `unknown job '${n}' in ${key}`;
      roots.push([n, key]);
    }
    const byName = new Map<string, Node>();
    for (const [name, what] of roots) {
      const why = this.outsideClosure(name, byName);
      if (why) {
        return `${what} '${name}', which is not part of this run and cannot join it while it ` +
          `runs (${why}: name it on the command line)`;
      }
    }
    const nodes = [...byName.values()].sort((a, b) => a.order - b.order);
    // What each waits for by name first (made jobs, jobs started), then by files: what they wait
    // for comes before them.
    const named = nodes.map((n) => this.pulledNamedEdges(n, byName));
    const edges = nodes.map((n, i) => ({
      e: named[i],
      ...this.resourceEdges(n.spec, n.order, named[i], {
        only: (m) => m.state === "running" || this.addedByName.get(m.spec.name) === m,
        pulled: byName,
        pulledEdges: named,
      }),
    }));
    return { nodes, byName, edges };
  }

  /**
   * Adds to `into` the nodes `name` and what it waits for in the graph would be, when not in the
   * run; why one cannot join while it runs (`onlyAtStart`), if one cannot.
   */
  private outsideClosure(name: string, into: Map<string, Node>): string | undefined {
    const stack = [name];
    while (stack.length) {
      const x = stack.pop()!;
      if (into.has(x) || this.node(x)) continue;
      const spec = this.graph.byName.get(x)!;
      const kind = onlyAtStart(spec);
      if (kind) return `${x === name ? "it is" : `'${x}', which it waits for, is`} ${kind}`;
      into.set(x, { spec, order: spec.index, waiting: 0, state: "waiting" });
      for (const e of this.graph.depsOf(x)) stack.push(e.from);
    }
  }

  /**
   * A pulled node's edges by name that the graph does not have: from what a generator it needs
   * made, and from jobs of the run it comes before in the graph that started already (it waits
   * for them to end). Its edges by files with the jobs added so far and the jobs running: see
   * `pullFor`.
   */
  private pulledNamedEdges(n: Node, pulled: Map<string, Node>): NewEdges {
    const e = new NewEdges(n.spec.name);
    for (const x of this.graph.depsOf(n.spec.name)) {
      if (x.kind === "needs") this.madeEdges(x.from, e);
    }
    for (const x of this.graph.dependentsOf(n.spec.name)) {
      const d = pulled.has(x.to) ? undefined : this.node(x.to);
      if (d?.state === "running") e.from(x.to, "order", `${x.to} started before it joined`);
    }
    return e;
  }

  /**
   * Why `spec` with what it pulls in would close a cycle, if it would: the run had none, so a
   * new one goes through one of them. A depth-first walk from each over what would wait for it
   * (jobs not started, those pulled in, `spec`).
   */
  private pullCycle(pull: Pull, name: string, edges: NewEdges): string | undefined {
    const fresh = new Set([name, ...pull.byName.keys()]);
    const newOut = new Map<string, string[]>();
    for (const e of [edges, ...pull.edges.map((x) => x.e)]) {
      for (const x of e.into) this.pushEdge(newOut, x.from, x.to);
      for (const x of e.out) this.pushEdge(newOut, x.from, x.to);
    }
    const waits = (x: string) => {
      const n = this.node(x);
      return fresh.has(x) || (n !== undefined && notStarted(n));
    };
    const next = (x: string) => {
      const out = this.graph.dependentsOf(x).map((e) => e.to);
      for (const e of this.addedOut.get(x) ?? []) out.push(e.to);
      return [...out, ...newOut.get(x) ?? []].filter(waits);
    };
    const state = new Map<string, 1 | 2>(); // 1: on the walk's path, 2: done
    for (const root of fresh) {
      if (state.has(root)) continue;
      const frames: [string, string[]][] = [[root, next(root)]];
      state.set(root, 1);
      while (frames.length) {
        const [x, out] = frames[frames.length - 1];
        const y = out.pop();
        if (y === undefined) {
          state.set(x, 2);
          frames.pop();
        } else if (state.get(y) === 1) {
          return `adding '${name}' would close a cycle through '${y}'`;
        } else if (!state.has(y)) {
          state.set(y, 1);
          frames.push([y, next(y)]);
        }
      }
    }
  }

  /**
   * Puts the pulled nodes in the plan (for `spec`, joining next): each waits for its edges of the
   * graph and those `pullFor` found; a job of the run not started that follows it in the graph
   * waits for it (one that started does not: `release` passes it by).
   */
  private commitPull(pull: Pull, spec: JobSpec): void {
    this.resourceIndex(); // built without them: `indexResources` adds them
    for (const n of pull.nodes) {
      this.nodes[n.spec.index] = n;
      this.count++;
      this.unresolved++;
      this.pulledOut.push({ job: n.spec.name, for: spec.name });
    }
    // Tests from now on, as in the file (before any of them resolves): `spec`'s conditions, and
    // theirs unless the job has ended (see `join`).
    for (const x of [spec, ...pull.nodes.map((n) => n.spec)]) {
      for (const t of [x.if, x.unless]) {
        if (t !== undefined && this.node(t)?.state !== "done") this.conditionJobs.add(t);
      }
    }
    pull.nodes.forEach((n, i) => {
      for (const e of this.graph.depsOf(n.spec.name)) this.waitFor(n, e.kind, this.node(e.from)!);
      for (const e of this.graph.dependentsOf(n.spec.name)) {
        const d = this.node(e.to);
        if (d && !pull.byName.has(e.to) && notStarted(d)) this.holdBack(d);
      }
      const { e, writes, reads } = pull.edges[i];
      this.link(n, e);
      this.indexResources(n, writes, reads);
    });
    for (const n of pull.nodes) if (n.waiting === 0) this.freed.push(n);
    this.drainFreed();
  }

  /** Jobs of the graph that joined the run for a job added since the last call (`pullFor`). */
  takePulled(): { job: string; for: string }[] {
    return this.pulledOut.splice(0);
  }

  /**
   * Edges through resources: in from the jobs before `order` (or started) that conflict, out to
   * those after it; for a job pulled in, a job it waits for through its named edges
   * (transitively) comes before it whatever its place. Of those `only` takes, when given; with
   * those pulled in with it (`pullIndex`: all of which it waits for). A resource both read and
   * written counts as written.
   */
  private resourceEdges(
    spec: JobSpec,
    order: number,
    edges: NewEdges,
    { only, pulled, pulledEdges = [], pullIndex }: {
      only?: (other: Node) => boolean;
      /** The nodes being pulled in (with `spec`, or `spec` one of them), and their named edges. */
      pulled?: Map<string, Node>;
      pulledEdges?: NewEdges[];
      /** The resources of those pulled in with `spec` (all of which it waits for). */
      pullIndex?: ResourceIndex<{ node: Node; write: boolean }[]>;
    } = {},
  ): { writes: Set<string>; reads: string[] } {
    const idx = this.resourceIndex();
    // Its named edges (and a pulled job's of the graph), before the resource edges come: a walk
    // up from those only, made at the first conflict after it (a job that needs nothing: none).
    const named = [...this.graph.depsOf(spec.name), ...edges.into].map((e) => e.from);
    let ancestors: Set<string> | undefined;
    // A job pulled in (few, rarely: no cost for an ordinary added job, ordered by file alone).
    const walks = pulled?.has(spec.name) ?? false;
    const before = (n: Node) => {
      if (n.state === "running" || n.state === "done" || n.order < order) return true;
      if (!walks) return false;
      ancestors ??= this.ancestors(named, pulled, pulledEdges);
      return ancestors.has(n.spec.name);
    };
    const writes = new Set(spec.writes);
    const reads = orderReads(spec).filter((r) => !writes.has(r));
    const indexes = pullIndex ? [idx, pullIndex] : [idx];
    for (const [list, write] of [[[...writes], true], [reads, false]] as const) {
      for (const res of list) {
        for (const ix of indexes) {
          for (const c of ix.conflicting(res)) {
            const at = { res, c, write, pulled: ix !== idx };
            this.accessorEdges(edges, ix.get(c)!, at, { before, only });
          }
        }
      }
    }
    return { writes, reads };
  }

  /**
   * The edges between the new job and the jobs that touched `c` (`accs`), which conflicts with
   * its `res`: from those `before` it (all of them for jobs pulled in with it), to the others.
   * A job that writes skips what an earlier writer it waits for waits for already, and what
   * ended (else the 4,000th of 4,000 made jobs writing log.txt got 3,999 edges): see `covers`;
   * latest first, so that the writer that covers is met first.
   */
  private accessorEdges(
    edges: NewEdges,
    accs: readonly { node: Node; write: boolean }[],
    { res, c, write, pulled }: { res: string; c: string; write: boolean; pulled: boolean },
    { before, only }: { before: (n: Node) => boolean; only?: (n: Node) => boolean },
  ): void {
    const covering = write && !pulled;
    let cover = -Infinity;
    for (let k = covering ? accs.length - 1 : 0; k >= 0 && k < accs.length;) {
      const { node: n, write: wrote } = accs[k];
      k += covering ? -1 : 1;
      if (!write && !wrote) continue; // two readers
      if (only && !only(n)) continue;
      if (covering && (n.state === "done" || (notStarted(n) && n.order < cover))) continue;
      const other = n.spec.name;
      if (pulled || before(n)) {
        edges.from(other, edgeKind(wrote, write), `${mode(wrote)} ${c} -> ${mode(write)} ${res}`);
        // Only a writer it waits for covers: not one it was put first for (it needs the
        // generator of a job `spec` is made by: `generatorEdges`), whose edge goes out.
        if (covering && wrote && this.covers(n) && edges.waitsFor(other)) {
          cover = Math.max(cover, n.order);
        }
      } else {
        edges.to(other, edgeKind(write, wrote), `${mode(write)} ${res} -> ${mode(wrote)} ${c}`);
      }
    }
  }

  /**
   * Whether `n`, a job that writes a resource and has not started, waits for every job of the
   * run not started that touched that resource before it and comes before it: a job added while
   * running does (its own resource edges), unless one it waits for did in its place, which waits
   * in turn. A job of the graph may not (its edges with an earlier writer may pass through a job
   * the run did not select). A job added later that writes the resource and comes after `n` need
   * not wait for those: waiting for `n` is enough. Those that ended need no edge from a job that
   * writes (an `order` edge: no mark, nothing to wait for).
   */
  private covers(n: Node): boolean {
    return notStarted(n) && this.addedByName.get(n.spec.name) === n && !n.waitedByEarlier;
  }

  /**
   * The jobs of the run not started (and of those `pulled`) that `sources` wait for,
   * transitively, with them: through the graph's edges, those of jobs added so far, and
   * `pulledEdges`.
   */
  private ancestors(
    sources: string[],
    pulled: Map<string, Node> | undefined,
    pulledEdges: NewEdges[],
  ): Set<string> {
    const out = new Set<string>();
    const stack = [...sources];
    const pulledIn = new Map<string, Edge[]>();
    for (const x of pulledEdges) for (const e of x.into) this.pushEdge(pulledIn, e.to, e);
    while (stack.length) {
      const x = stack.pop()!;
      if (out.has(x)) continue;
      // Not up through a job that started: all it waited for has resolved (and comes before).
      const n = this.node(x);
      if (n ? !notStarted(n) : !pulled?.has(x)) continue;
      out.add(x);
      for (const e of this.graph.depsOf(x)) stack.push(e.from);
      for (const e of this.addedIn.get(x) ?? []) stack.push(e.from);
      for (const e of pulledIn.get(x) ?? []) stack.push(e.from);
    }
    return out;
  }

  /**
   * What waits for the generator `by` (through `needs`, not started) waits for what it made,
   * unless the new job needs it, or it is one of `by`'s jobs itself (see `namedEdges`).
   */
  private generatorEdges(by: string, edges: NewEdges, pulled: Map<string, Node>): void {
    const needsBy = [
      ...this.graph.dependentsOf(by),
      ...(this.addedOut.get(by) ?? []),
    ].filter((e) => e.kind === "needs");
    for (const e of needsBy) {
      const d = this.node(e.to) ?? pulled.get(e.to); // a job pulled in with it, too
      if (!d || !notStarted(d) || this.madeBy(e.to, by)) continue;
      // Not one the new job needs itself (gen makes `upload`, which needs the file's `lint`,
      // which needs gen): that one comes first (`NewEdges.to` passes it by).
      edges.to(e.to, "needs", `needs ${by} (made by it)`);
    }
  }

  /** Whether the job `name` was made by `gen`, or by a job `gen` made, and so on. */
  private madeBy(name: string, gen: string): boolean {
    for (let m = this.maker.get(name); m !== undefined; m = this.maker.get(m)) {
      if (m === gen) return true;
    }
    return false;
  }

  /** Puts the added job in the plan with its edges; ready at once when it waits for nothing. */
  private join(
    spec: JobSpec,
    order: number,
    { into, out }: NewEdges,
    { writes, reads }: { writes: Set<string>; reads: string[] },
  ): void {
    const n: Node = {
      spec: { ...spec, index: this.graph.jobs.length + this.added },
      order,
      waiting: 0,
      state: "waiting",
    };
    this.addedByName.set(spec.name, n);
    this.addedByOrder.set(order, n);
    this.count++;
    this.unresolved++;
    // A test from now on, as in the file; not a job that has ended: its failure counted when it
    // ended (and stopped the run, without -k), so it stays counted (`failureCounts`), and a job
    // skipped for it later is no second failure.
    for (const t of [spec.if, spec.unless]) {
      if (t !== undefined && this.node(t)?.state !== "done") this.conditionJobs.add(t);
    }
    this.addedIn.set(spec.name, []);
    this.link(n, { into, out });
    this.indexResources(n, writes, reads);
    if (n.waiting === 0) {
      this.freed.push(n);
      this.drainFreed();
    }
  }

  /**
   * Puts edges of a job joining while running (made, or pulled in) in the plan: it waits for
   * those `into` it (or is marked by one already resolved), those `out` of it wait for it.
   */
  private link(n: Node, { into, out }: { into: Edge[]; out: Edge[] }): void {
    for (const e of into) {
      const from = this.node(e.from)!;
      this.pushEdge(this.addedOut, e.from, e);
      this.pushEdge(this.addedIn, n.spec.name, e);
      this.waitFor(n, e.kind, from);
    }
    for (const e of out) {
      this.pushEdge(this.addedOut, n.spec.name, e);
      this.pushEdge(this.addedIn, e.to, e);
      this.holdBack(this.node(e.to)!);
    }
  }

  /** `n`, not yet started, waits for `from` through an edge of `kind` (marked if it resolved). */
  private waitFor(n: Node, kind: Edge["kind"], from: Node): void {
    if (from.state !== "done") n.waiting++;
    else if (!n.mark) n.mark = this.markFor(kind, from.spec.name, from.outcome!, n.spec);
  }

  /** `d`, not yet started, waits for one more job (a ready one is pulled back: its heap entry is stale). */
  private holdBack(d: Node): void {
    if (d.state === "ready") d.state = "waiting";
    d.waiting++;
  }

  /** Adds a node's resources to the index (when it is built: else it will hold them). */
  private indexResources(n: Node, writes: Iterable<string>, reads: Iterable<string>): void {
    const idx = this.resourceIndex();
    for (const res of writes) idx.getOrAdd(res, () => []).push({ node: n, write: true });
    for (const res of reads) idx.getOrAdd(res, () => []).push({ node: n, write: false });
  }

  /** Edges into a job added while running. */
  addedDepsOf(name: string): Edge[] {
    return this.addedIn.get(name) ?? [];
  }

  /** Appends `e` to the list of `key` in `map`. */
  private pushEdge<T>(map: Map<string, T[]>, key: string, e: T): void {
    const list = map.get(key);
    if (list) list.push(e);
    else map.set(key, [e]);
  }

  /** The resources of every job, indexed once. */
  private resourceIndex(): ResourceIndex<{ node: Node; write: boolean }[]> {
    if (this.resources) return this.resources;
    const idx = new ResourceIndex<{ node: Node; write: boolean }[]>();
    for (const n of this.allNodes()) {
      const writes = new Set(n.spec.writes);
      for (const res of writes) idx.getOrAdd(res, () => []).push({ node: n, write: true });
      for (const res of orderReads(n.spec)) {
        if (!writes.has(res)) idx.getOrAdd(res, () => []).push({ node: n, write: false });
      }
    }
    return this.resources = idx;
  }

  /** Why a new job that waits for `into` and is waited for by `out` closes a cycle, if it does. */
  private cycleThrough(name: string, into: Edge[], out: Edge[]): string | undefined {
    const pending = new Set(
      into.filter((e) => !["running", "done"].includes(this.node(e.from)!.state)).map((e) =>
        e.from
      ),
    );
    if (!pending.size || !out.length) return;
    const seen = new Set<string>();
    const stack = out.map((e) => e.to);
    while (stack.length) {
      const x = stack.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      if (pending.has(x)) return `adding '${name}' would close a cycle through '${x}'`;
      // Not through a job outside the run, nor one that started: neither waits.
      for (const e of this.graph.dependentsOf(x)) {
        const d = this.node(e.to);
        if (d && notStarted(d)) stack.push(e.to);
      }
      for (const e of this.addedOut.get(x) ?? []) {
        const d = this.node(e.to);
        if (d && notStarted(d)) stack.push(e.to);
      }
    }
  }

  /**
   * Whether a failure of this job counts (it is not only another job's condition: a job that a
   * job added during the run names only after it ended is not one).
   */
  failureCounts(name: string): boolean {
    return !this.conditionJobs.has(name);
  }

  /** Jobs whose last dependency resolved, handled in a loop (no deep recursion on long chains). */
  private freed: Node[] = [];
  private draining = false;

  /** Records a job's outcome and frees (or marks) what waits for it. */
  private resolve(n: Node, outcome: Outcome): void {
    if (n.state === "running") this.started--;
    n.state = "done";
    n.outcome = outcome;
    this.unresolved--;
    const name = n.spec.name;
    for (const e of this.graph.dependentsOf(name)) this.release(e, name, outcome);
    // Edges of jobs added while running (none in most runs: no lookup then).
    const added = this.addedOut.size ? this.addedOut.get(name) : undefined;
    if (added) { for (const e of added) this.release(e, name, outcome); }
    this.drainFreed();
  }

  /** Handles the jobs freed so far, in a loop (no deep recursion on long chains). */
  private drainFreed(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let i = 0; i < this.freed.length; i++) this.becameFree(this.freed[i]);
    } finally {
      this.freed.length = 0;
      this.draining = false;
    }
  }

  /** A dependency of `e.to` resolved. */
  private release(e: Edge, name: string, outcome: Outcome): void {
    const d = this.node(e.to);
    // A job that started before one it follows in the graph was pulled in did not wait for it.
    if (!d || d.state === "done" || d.state === "running") return;
    if (!d.mark) d.mark = this.markFor(e.kind, name, outcome, d.spec);
    if (--d.waiting === 0) this.freed.push(d);
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
    (n.spec.kind === "module" ? this.readyModules : this.laneHeap(n.spec)).push(n.order);
  }

  /** Resolves a freed job as skipped, with the reason it was marked with. */
  private skipFree(n: Node): void {
    const mark = n.mark ?? { reason: "cancelled" as const };
    this.skippedOut.push({ job: n.spec.name, reason: mark.reason, because: mark.because });
    this.resolve(n, { kind: "skipped", reason: mark.reason, because: mark.because });
  }
}

/** The edges of a job being added: in from other jobs and out to them, one per other job. */
class NewEdges {
  readonly into: Edge[] = [];
  readonly out: Edge[] = [];
  private seenIn = new Map<string, Edge>();
  private seenOut = new Set<string>();

  constructor(readonly name: string) {}

  /**
   * An edge from `job` into the new one, unless one from `job` into it or out to it is there;
   * an `order` edge there already becomes this `resource` one (the one that passes a failure
   * on, as the loader keeps the strongest: `writes [c, h]` then `writes [c], reads [h]`).
   */
  from(job: string, kind: Edge["kind"], reason: string): void {
    const had = this.seenIn.get(job);
    if (had) {
      if (had.kind === "order" && kind === "resource") had.kind = kind, had.reason = reason;
      return;
    }
    if (this.seenOut.has(job)) return;
    const e: Edge = { from: job, to: this.name, kind, reason };
    this.seenIn.set(job, e);
    this.into.push(e);
  }

  /** Whether the new job waits for `job` (an edge from it, not one out to it). */
  waitsFor(job: string): boolean {
    return this.seenIn.has(job);
  }

  /** An edge from the new job to `job`, unless one from `job` into it or out to it is there. */
  to(job: string, kind: Edge["kind"], reason: string): void {
    if (this.seenOut.has(job) || this.seenIn.has(job)) return;
    this.seenOut.add(job);
    this.out.push({ from: this.name, to: job, kind, reason });
  }
}

/** How a job touches a resource, in an edge's reason. */
const mode = (w: boolean) => w ? "writes" : "reads";
/** The kind of an edge from a job that touched a resource (`w1`: wrote) to one that does (`w2`). */
const edgeKind = (w1: boolean, w2: boolean): Edge["kind"] => w1 && !w2 ? "resource" : "order";

/** Whether a node waits or is ready (not running, not resolved). */
function notStarted(n: { state: string }): boolean {
  return n.state === "waiting" || n.state === "ready";
}

/**
 * What a job is that can join a run only when it starts (its loop, module or deferred group is
 * set up then), in words; undefined for any other.
 */
function onlyAtStart(s: JobSpec): string | undefined {
  if (s.kind === "module") return "a module";
  if (s.repeat) return "a `repeat` loop";
  if (s.deferred) return "a `foreach` expanded during the run";
}

/** A pulled node's edges that the graph does not have, and its resources (`pullFor`). */
interface PulledEdges {
  e: NewEdges;
  writes: Set<string>;
  reads: string[];
}

/** Jobs of the graph outside the run that a job being added brings in, not yet in the plan. */
interface Pull {
  /** In file order. */
  nodes: Node[];
  byName: Map<string, Node>;
  /** Each node's (same order). */
  edges: PulledEdges[];
}

/** The resources of the nodes `pull` brings in, indexed. */
function pulledIndex(pull: Pull): ResourceIndex<{ node: Node; write: boolean }[]> {
  const idx = new ResourceIndex<{ node: Node; write: boolean }[]>();
  pull.nodes.forEach((n, i) => {
    const { writes, reads } = pull.edges[i];
    for (const res of writes) idx.getOrAdd(res, () => []).push({ node: n, write: true });
    for (const res of reads) idx.getOrAdd(res, () => []).push({ node: n, write: false });
  });
  return idx;
}
