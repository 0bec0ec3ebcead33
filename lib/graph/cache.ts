/**
 * A cache of loaded graphs in `.jx/` beside the jobs file. Parsing YAML is the
 * slowest part of starting a large run (about 1 s for 10,000 jobs with the
 * `yaml` package); a valid file that has not changed is read back from JSON
 * instead. The key covers everything the loader reads: the file's text, the
 * variable overrides, the base directory and the cache format.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { Graph } from "./graph.ts";
import type { Edge, JobSpec } from "./types.ts";

/** Files smaller than this are parsed every time (it takes a few milliseconds). */
export const CACHE_MIN_BYTES = 32 * 1024;
const FORMAT = 1;

interface Cached {
  key: string;
  jobs: JobSpec[];
  pools: [string, number][];
  edges: Edge[];
}

/** The cache key of a load. */
export function cacheKey(text: string, vars: Record<string, string>, baseDir: string): string {
  return createHash("sha256")
    .update(JSON.stringify([FORMAT, baseDir, Object.entries(vars).sort()]))
    .update(text)
    .digest("hex");
}

function cachePath(file: string): string {
  const abs = resolve(file);
  return join(dirname(abs), ".jx", `graph-${basename(abs)}.json`);
}

/** The cached graph for `key`, or undefined. */
export function readCachedGraph(file: string, key: string): Graph | undefined {
  try {
    const c = JSON.parse(readFileSync(cachePath(file), "utf8")) as Cached;
    if (c.key !== key) return undefined;
    return new Graph(file, c.jobs, new Map(c.pools), c.edges);
  } catch {
    return undefined;
  }
}

/** Stores a graph; failures (a read-only directory) are ignored. Atomic: temp file, then rename. */
export function writeCachedGraph(file: string, key: string, graph: Graph): void {
  const path = cachePath(file);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    const c: Cached = { key, jobs: graph.jobs, pools: [...graph.pools], edges: graph.edges };
    writeFileSync(tmp, JSON.stringify(c));
    renameSync(tmp, path);
  } catch {
    // No cache then.
  }
}
