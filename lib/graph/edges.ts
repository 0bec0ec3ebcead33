/**
 * Derives ordering edges from declared resources, in file order, as a
 * parallelizing shell does: a writer waits for every earlier reader and
 * writer of what it writes; a reader waits for the last earlier writer.
 *
 * @module
 */
import { isGlob, patternsOverlap } from "./glob.ts";
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
  if (isGlob(dir)) return false;
  const segs = g.split("/");
  const i = segs.findIndex((x) => isGlob(x));
  const head = segs.slice(0, i < 0 ? segs.length : i).join("/");
  return head === dir || head.startsWith(dir + "/") || dir === ".";
}

/**
 * Resources seen so far, each with a value, and which of them conflict with
 * another: equal, one a directory above the other, or a glob matching the
 * other (`@names` only by equality).
 *
 * @example
 * ```ts
 * import { ResourceIndex } from "./edges.ts";
 * const idx = new ResourceIndex<string[]>();
 * idx.getOrAdd("out/a.o", () => []).push("cc");
 * idx.conflicting("out/*.o"); // ["out/a.o"]
 * idx.conflicting("out"); // ["out/a.o"]
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
 * resourcesConflict("out", "out/a.o"); // true
 * resourcesConflict("src/*.c", "src/a.h"); // false
 * ```
 */
export function resourcesConflict(a: string, b: string): boolean {
  const idx = new ResourceIndex<true>();
  idx.getOrAdd(a, () => true);
  return idx.conflicting(b).length > 0;
}

/**
 * Adds resource edges for `jobs` (already in file order) to `add`.
 * Two resources conflict when they are equal, when one is a directory above
 * the other, or when a glob matches the other (`@names` only by equality).
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

  for (const job of jobs) {
    const seen = new Set<string>();
    const edge = (from: Access, mode: string, toMode: string, res: string) => {
      if (from.job === job.name || seen.has(from.job)) return;
      seen.add(from.job);
      add({
        from: from.job,
        to: job.name,
        kind: mode === "writes" && toMode === "reads" ? "resource" : "order",
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
    for (const res of writes) {
      const s = stateOf(res);
      s.lastWriter = { job: job.name, res };
      s.readersSince = [];
    }
    for (const res of reads) stateOf(res).readersSince.push({ job: job.name, res });
  }
}
