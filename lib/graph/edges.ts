/**
 * Derives ordering edges from declared resources, in file order, as a
 * parallelizing shell does: a writer waits for every earlier reader and
 * writer of what it writes; a reader waits for the last earlier writer.
 *
 * @module
 */
import { isGlob, patternsOverlap, shapeOf } from "./glob.ts";
import type { Edge, JobSpec } from "./types.ts";

interface Access {
  job: string;
  res: string;
}

interface ResourceState {
  lastWriter?: Access;
  readersSince: Access[];
}

/** Parent directories of a plain path: `a/b/c` -> `a/b`, `a`. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
    out.push(path.slice(0, i));
  }
  return out;
}

/** Whether every path glob `g` can match lies under the plain directory `dir`. */
function globUnder(g: string, dir: string): boolean {
  if (dir === ".") return true;
  if (shapeOf(dir).glob) return false;
  const head = shapeOf(g).headPath;
  return head === dir || head.startsWith(dir + "/");
}

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
  /** Plain paths filed under each of their ancestor directories. */
  private below = new Map<string, Set<string>>();
  private globs = new Set<string>();

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
      if (isGlob(res)) this.globs.add(res);
      else if (res[0] !== "@") {
        for (const a of ancestors(res)) {
          let set = this.below.get(a);
          if (!set) this.below.set(a, set = new Set());
          set.add(res);
        }
      }
    }
    return v;
  }

  /** The resources seen that conflict with `res` (itself included when seen). */
  conflicting(res: string): string[] {
    const seen = this.values;
    if (res[0] === "@") return seen.has(res) ? [res] : [];
    const out: string[] = [];
    if (isGlob(res)) {
      for (const other of seen.keys()) {
        if (other[0] !== "@" && (patternsOverlap(res, other) || globUnder(res, other))) {
          out.push(other);
        }
      }
      return out;
    }
    if (seen.has(res)) out.push(res);
    for (const a of ancestors(res)) if (seen.has(a)) out.push(a);
    for (const b of this.below.get(res) ?? []) out.push(b);
    for (const g of this.globs) if (patternsOverlap(g, res) || globUnder(g, res)) out.push(g);
    return out;
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

/** The earlier jobs a job waits for through its resources, one edge each, strongest kind kept. */
function candidates(
  job: Pick<JobSpec, "name" | "reads" | "writes">,
  states: ResourceIndex<ResourceState>,
): Map<string, Edge> {
  const out = new Map<string, Edge>();
  const edge = (from: Access, mode: string, toMode: string, res: string) => {
    if (from.job === job.name) return;
    const kind = mode === "writes" && toMode === "reads" ? "resource" : "order";
    const had = out.get(from.job);
    if (had && (had.kind === "resource" || kind === "order")) return;
    out.set(from.job, {
      from: from.job,
      to: job.name,
      kind,
      reason: `${mode} ${from.res} -> ${toMode} ${res}`,
    });
  };
  // A job that both reads and writes a resource is treated as its writer.
  const writes = new Set(job.writes);
  const reads = job.reads.filter((r) => !writes.has(r));
  for (const res of writes) {
    for (const c of states.conflicting(res)) {
      const s = states.get(c)!;
      if (s.lastWriter) edge(s.lastWriter, "writes", "writes", res);
      for (const r of s.readersSince) edge(r, "reads", "writes", res);
    }
  }
  for (const res of reads) {
    for (const c of states.conflicting(res)) {
      const s = states.get(c)!;
      if (s.lastWriter) edge(s.lastWriter, "writes", "reads", res);
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
  cands: Map<string, Edge>,
  position: Map<string, number>,
  barrier: Uint8Array,
): Edge[] {
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
  const stateOf = (res: string) => states.getOrAdd(res, () => ({ readersSince: [] }));
  const position = new Map<string, number>();
  const barrier = new Uint8Array(jobs.length);
  jobs.forEach((job, i) => {
    position.set(job.name, i);
    for (const e of dropImplied(i, candidates(job, states), position, barrier)) add(e);
    const writes = new Set(job.writes);
    for (const res of writes) {
      const s = stateOf(res);
      s.lastWriter = { job: job.name, res };
      s.readersSince = [];
    }
    for (const res of job.reads) {
      if (!writes.has(res)) stateOf(res).readersSince.push({ job: job.name, res });
    }
  });
}
