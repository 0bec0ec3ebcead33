/**
 * Derives ordering edges from declared resources, in file order, as a
 * parallelizing shell does: a writer waits for every earlier reader and
 * writer of what it writes; a reader waits for the last earlier writer.
 *
 * @module
 */
import { isGlob, patternsOverlap, shapeOf } from "./glob.ts";
import type { Edge, JobSpec } from "./types.ts";

/**
 * What is known of one resource so far: its last writer, and the readers
 * since (each job with the resource as it wrote it, for the edge's reason).
 */
interface ResourceState {
  writerJob?: string;
  writerRes?: string;
  readerJobs?: string[];
  readerRes?: string[];
}

/** Whether every path glob `g` can match lies under the plain directory `dir`. */
function globUnder(g: string, dir: string): boolean {
  if (dir === ".") return true;
  if (shapeOf(dir).glob) return false;
  const head = shapeOf(g).headPath;
  return head === dir || head.startsWith(dir + "/");
}

const NONE: readonly string[] = Object.freeze([]);

/**
 * Resources seen so far, each with a value, and which of them conflict with
 * another: equal, one a directory above the other, or a glob matching the
 * other (`@names` only by equality).
 *
 * @example
 * ```ts
 * import { ResourceIndex } from "./edges.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const idx = new ResourceIndex<string[]>();
 * idx.getOrAdd("out/a.o", () => []).push("cc");
 * assertEquals(idx.conflicting("out/*.o"), ["out/a.o"]);
 * assertEquals(idx.conflicting("out"), ["out/a.o"]);
 * ```
 */
export class ResourceIndex<T> {
  private values = new Map<string, T>();
  /** Plain paths filed under each of their ancestor directories (each once: added once). */
  private below = new Map<string, string[]>();
  private globs: string[] = [];

  /** The value of a resource seen before. */
  get(res: string): T | undefined {
    return this.values.get(res);
  }

  /** The value of `res`, made with `make` the first time. */
  getOrAdd(res: string, make: () => T): T {
    let v = this.values.get(res);
    if (v === undefined) {
      v = make();
      this.values.set(res, v);
      if (isGlob(res)) this.globs.push(res);
      else if (res[0] !== "@") {
        // Each parent directory: `a/b/c` -> `a/b`, `a`.
        for (let i = res.lastIndexOf("/"); i > 0; i = res.lastIndexOf("/", i - 1)) {
          const a = res.slice(0, i);
          const list = this.below.get(a);
          if (list) list.push(res);
          else this.below.set(a, [res]);
        }
      }
    }
    return v;
  }

  /**
   * The resources seen that conflict with `res` (itself included when seen):
   * itself, its parent directories (nearest first), the paths below it, the
   * globs, each group in the order first seen.
   */
  conflicting(res: string): readonly string[] {
    const seen = this.values;
    if (res[0] === "@") return seen.has(res) ? [res] : NONE;
    let out: string[] | undefined;
    if (isGlob(res)) {
      for (const other of seen.keys()) {
        if (other[0] !== "@" && (patternsOverlap(res, other) || globUnder(res, other))) {
          (out ??= []).push(other);
        }
      }
      return out ?? NONE;
    }
    if (seen.has(res)) out = [res];
    for (let i = res.lastIndexOf("/"); i > 0; i = res.lastIndexOf("/", i - 1)) {
      const a = res.slice(0, i);
      if (seen.has(a)) (out ??= []).push(a);
    }
    const below = this.below.get(res);
    if (below) {
      out ??= [];
      for (const b of below) out.push(b);
    }
    for (const g of this.globs) {
      if (patternsOverlap(g, res) || globUnder(g, res)) (out ??= []).push(g);
    }
    return out ?? NONE;
  }
}

/**
 * Whether two resources conflict (see `ResourceIndex`).
 *
 * @example
 * ```ts
 * import { resourcesConflict } from "./edges.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(resourcesConflict("out", "out/a.o"), true);
 * assertEquals(resourcesConflict("src/*.c", "src/a.h"), false);
 * ```
 */
export function resourcesConflict(a: string, b: string): boolean {
  const idx = new ResourceIndex<true>();
  idx.getOrAdd(a, () => true);
  return idx.conflicting(b).length > 0;
}

/** The values of `list`, each once, in order (`set`: its values, made when it is long). */
function unique(list: readonly string[], set: Set<string> | undefined): Iterable<string> {
  if (set) return set;
  for (let k = 1; k < list.length; k++) if (list.indexOf(list[k]) !== k) return new Set(list);
  return list;
}

/** A list's values as a set when a scan per item would cost more (long lists). */
const setOf = (list: readonly string[]): Set<string> | undefined =>
  list.length > 16 ? new Set(list) : undefined;

/** Whether `list` (with `set`, its values when long) holds `x`. */
const holds = (list: readonly string[], set: Set<string> | undefined, x: string): boolean =>
  set ? set.has(x) : list.includes(x);

/**
 * The earlier jobs a job waits for through its resources, one edge each,
 * strongest kind kept (undefined: none). A job that both reads and writes a
 * resource is treated as its writer.
 */
function candidates(
  job: Pick<JobSpec, "name" | "reads" | "writes">,
  states: ResourceIndex<ResourceState>,
  wset: Set<string> | undefined,
): Map<string, Edge> | undefined {
  let out: Map<string, Edge> | undefined;
  const edge = (from: string, fromRes: string, mode: string, toMode: string, res: string) => {
    if (from === job.name) return;
    const kind = mode === "writes" && toMode === "reads" ? "resource" : "order";
    const had = out?.get(from);
    if (had && (had.kind === "resource" || kind === "order")) return;
    (out ??= new Map()).set(from, {
      from,
      to: job.name,
      kind,
      reason: `${mode} ${fromRes} -> ${toMode} ${res}`,
    });
  };
  const { reads, writes } = job;
  for (const res of unique(writes, wset)) {
    for (const c of states.conflicting(res)) {
      const s = states.get(c)!;
      if (s.writerJob !== undefined) edge(s.writerJob, s.writerRes!, "writes", "writes", res);
      const rj = s.readerJobs, rr = s.readerRes;
      if (rj && rr) {
        for (let r = 0; r < rj.length; r++) edge(rj[r], rr[r], "reads", "writes", res);
      }
    }
  }
  for (const res of reads) {
    if (holds(writes, wset, res)) continue;
    for (const c of states.conflicting(res)) {
      const s = states.get(c)!;
      if (s.writerJob !== undefined) edge(s.writerJob, s.writerRes!, "writes", "reads", res);
    }
  }
  return out;
}

/** A job with at most this many resource edges keeps them all. */
const KEEP_ALL_EDGES = 32;

/**
 * Barriers: a job that waits (directly or not) for every job before it.
 * 1: through any edges; 2: through edges that pass a failure on (`resource`).
 * A job that waits for barrier `b` needs no edge from a job before `b`
 * (an `order` edge always; a `resource` one when `b` is 2 and so is the way
 * to it), which keeps "each job reads everything" files linear in edges.
 * Only a job with more than KEEP_ALL_EDGES candidates loses edges.
 */
function dropImplied(
  i: number,
  cands: Map<string, Edge> | undefined,
  position: Map<string, number>,
  barrier: Uint8Array,
): readonly Edge[] {
  if (!cands) {
    // No edge: a barrier only as the first job.
    barrier[i] = i === 0 ? 2 : 0;
    return [];
  }
  let b = -1;
  for (const from of cands.keys()) {
    const k = position.get(from)!;
    if (k > b && barrier[k]) b = k;
  }
  // Few edges are kept whole: every reason stays visible in `jx graph` and `jx explain`.
  const keepAll = cands.size <= KEEP_ALL_EDGES;
  const strongB = b >= 0 && barrier[b] === 2 &&
    [...cands.values()].some((e) => position.get(e.from) === b && e.kind === "resource");
  const out: Edge[] = [];
  let after = 0, allResource = true;
  for (const e of cands.values()) {
    const k = position.get(e.from)!;
    if (k < b && !keepAll && (e.kind === "order" || strongB)) continue;
    out.push(e);
    if (k > b) {
      after++;
      if (e.kind !== "resource") allResource = false;
    }
  }
  const full = after === i - b - 1;
  barrier[i] = !full ? 0 : allResource && (b < 0 || strongB) ? 2 : 1;
  return out;
}

/**
 * Adds resource edges for `jobs` (already in file order) to `add`.
 * Two resources conflict when they are equal, when one is a directory above
 * the other, or when a glob matches the other (`@names` only by equality).
 * An edge implied by a barrier (see `dropImplied`) is left out.
 *
 * @example
 * ```ts
 * import { deriveResourceEdges } from "./edges.ts";
 * const edges: { from: string; to: string; reason: string }[] = [];
 * deriveResourceEdges(
 *   [
 *     { name: "gen", reads: [], writes: ["out/gen.h"] },
 *     { name: "cc", reads: ["out/*.h"], writes: [] },
 *   ],
 *   (e) => edges.push(e),
 * );
 * // edges[0].reason === "writes out/gen.h -> reads out/*.h"
 * ```
 */
export function deriveResourceEdges(
  jobs: Pick<JobSpec, "name" | "reads" | "writes">[],
  add: (e: Edge) => void,
): void {
  const states = new ResourceIndex<ResourceState>();
  // Every field from the start: one shape for every state.
  const make = (): ResourceState => ({
    writerJob: undefined,
    writerRes: undefined,
    readerJobs: undefined,
    readerRes: undefined,
  });
  const position = new Map<string, number>();
  const barrier = new Uint8Array(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i], name = job.name, { reads, writes } = job;
    position.set(name, i);
    const wset = setOf(writes);
    for (const e of dropImplied(i, candidates(job, states, wset), position, barrier)) add(e);
    for (const res of unique(writes, wset)) {
      const s = states.getOrAdd(res, make);
      s.writerJob = name;
      s.writerRes = res;
      s.readerJobs = s.readerRes = undefined;
    }
    for (const res of reads) {
      if (holds(writes, wset, res)) continue;
      const s = states.getOrAdd(res, make);
      (s.readerJobs ??= []).push(name);
      (s.readerRes ??= []).push(res);
    }
  }
}
