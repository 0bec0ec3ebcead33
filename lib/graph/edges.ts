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
  const states = new Map<string, ResourceState>();
  /** Plain paths filed under each of their ancestor directories. */
  const below = new Map<string, Set<string>>();
  const globs = new Set<string>();

  const stateOf = (res: string): ResourceState => {
    let s = states.get(res);
    if (!s) {
      s = { readersSince: [] };
      states.set(res, s);
      if (isGlob(res)) globs.add(res);
      else if (res[0] !== "@") {
        for (const a of ancestors(res)) {
          let set = below.get(a);
          if (!set) below.set(a, set = new Set());
          set.add(res);
        }
      }
    }
    return s;
  };

  const conflicting = (res: string): string[] => {
    if (res[0] === "@") return states.has(res) ? [res] : [];
    const out: string[] = [];
    if (isGlob(res)) {
      for (const other of states.keys()) {
        if (other[0] !== "@" && patternsOverlap(res, other)) out.push(other);
      }
      return out;
    }
    if (states.has(res)) out.push(res);
    for (const a of ancestors(res)) if (states.has(a)) out.push(a);
    for (const b of below.get(res) ?? []) out.push(b);
    for (const g of globs) if (patternsOverlap(g, res)) out.push(g);
    return out;
  };

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
      for (const c of conflicting(res)) {
        const s = states.get(c)!;
        if (s.lastWriter) edge(s.lastWriter, "writes", "writes", res);
        for (const r of s.readersSince) edge(r, "reads", "writes", res);
      }
    }
    for (const res of reads) {
      for (const c of conflicting(res)) {
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
