/**
 * A cache of loaded graphs in `.jx/` beside the jobs file. Parsing YAML is the
 * slowest part of starting a large run (about 1 s for 10,000 jobs with the
 * `yaml` package); a valid file that has not changed is read back instead.
 * The key covers everything the loader reads: the file's text, the variable
 * overrides, the base directory and the cache format.
 *
 * The file (`.jx/graph-FILE.json`) is the key on its first line, so that a
 * stale cache is known without parsing it, then one JSON document laid out
 * for a fast read: each job is an array of its values, after the index of
 * its list of keys in a shared table (jobs of one file have a handful of
 * shapes), and each edge an array. Reading it back builds the same objects,
 * keys in the same order, about three times faster than parsing the objects
 * themselves.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { inspectOwned } from "../runtime/owned.ts";
import { readTextSync } from "../runtime/fs.ts";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { Graph } from "./graph.ts";
import type { Edge, FileSettings, JobSpec } from "./types.ts";

/** Files smaller than this are parsed every time (it takes a few milliseconds). */
export const CACHE_MIN_BYTES = 32 * 1024;

/**
 * Text that may hold a `foreach` glob, which expands over the files on disk
 * (not covered by the key): such files are parsed every time. A `glob:`
 * elsewhere (in a command) only costs the cache.
 */
export const FOREACH_GLOB: RegExp = /\bglob["']?\s*:/;
// 3: `repeat` as { kind, test, max }; 4: the file's settings (vars, cache); 5: shared values
// in the shapes (`Slot`)
const FORMAT = 5;

/** The document after the key line. */
interface Packed {
  /** Key lists: a row starts with the index of its own. */
  shapes: Slot[][];
  /** Per job: shape index, then the values of its stored keys in order. */
  jobs: unknown[][];
  pools: [string, number][];
  /** Per edge, the same. */
  edges: unknown[][];
  /** The file's variables and top-level `cache:`. */
  settings?: FileSettings;
}

/**
 * One key of a shape: its value in the row (`k`), the same value in every
 * row of the shape (`c`: a default, an empty list or mapping, a flag), a
 * `sh -c` argv made of the row's `command` (`sh`), or a position stored as
 * `[line, col]` (`pos`). Most of a job's values are defaults: stored once
 * per shape, not once per job.
 */
type Slot = { k: string } | { c: string; v: unknown } | { sh: string } | { pos: string };

/** Keys whose text or number is one value in most jobs of a file: kept in the shape. */
const SHARED = new Set(["kind", "cwd", "tokens", "graceMs", "retries"]);

/** Whether `v` is stored in the shape: see `SHARED`; a flag; an empty list or mapping. */
function shared(k: string, v: unknown): boolean {
  if (v === null || typeof v === "boolean") return true;
  if (typeof v === "string" || typeof v === "number") return SHARED.has(k);
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && Object.keys(v).length === 0;
}

/** Whether `argv` is `/bin/sh -c command` (a `run:` string). */
function isShell(argv: unknown, command: unknown): boolean {
  return Array.isArray(argv) && argv.length === 3 && argv[0] === "/bin/sh" &&
    argv[1] === "-c" && argv[2] === command;
}

/** Whether `v` is a position `{line, col}` and nothing else. */
function isPos(v: unknown): v is { line: number; col: number } {
  if (typeof v !== "object" || v === null) return false;
  const keys = Object.keys(v);
  return keys.length === 2 && keys[0] === "line" && keys[1] === "col";
}

/** Objects as rows of values after the index of their shape in `shapes`. */
class Packer {
  readonly shapes: Slot[][] = [];
  private ids = new Map<string, number>();

  row(o: object): unknown[] {
    // Cast: any object's own keys, read by name (JobSpec and Edge are interfaces, so they are
    // not assignable to an index signature).
    const r = o as Record<string, unknown>;
    const slots: Slot[] = [];
    const row: unknown[] = [0];
    let sig = "";
    for (const k of Object.keys(r)) {
      const v = r[k];
      if (v === undefined) continue; // left out, as JSON.stringify would
      if (shared(k, v)) {
        slots.push({ c: k, v });
        sig += `c${k}\0${JSON.stringify(v)}\0`;
      } else if (k === "argv" && isShell(v, r.command)) {
        slots.push({ sh: k });
        sig += `s${k}\0`;
      } else if (k === "pos" && isPos(v)) {
        slots.push({ pos: k });
        sig += `p${k}\0`;
        row.push([v.line, v.col]);
      } else {
        slots.push({ k });
        sig += `k${k}\0`;
        row.push(v);
      }
    }
    let id = this.ids.get(sig);
    if (id === undefined) {
      id = this.shapes.push(slots) - 1;
      this.ids.set(sig, id);
    }
    row[0] = id;
    return row;
  }
}

/** A shared value for one object: a fresh empty list or mapping (specs are not frozen). */
function copyOf(v: unknown): unknown {
  if (Array.isArray(v)) return [];
  return typeof v === "object" && v !== null ? {} : v;
}

/** The object of one row, keys in their original order. */
function unpackRow(row: unknown[], slots: Slot[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  let next = 1;
  let shell: string | undefined;
  for (const s of slots) {
    if ("k" in s) o[s.k] = row[next++];
    else if ("c" in s) o[s.c] = copyOf(s.v);
    else if ("sh" in s) {
      shell = s.sh;
      o[s.sh] = null; // filled below, once `command` is read (the key keeps its place)
    } else {
      const [line, col] = row[next++] as [number, number]; // Cast: packed by Packer.row
      o[s.pos] = { line, col };
    }
  }
  if (shell !== undefined) o[shell] = ["/bin/sh", "-c", o.command];
  return o;
}

/** The objects of `rows`. */
function unpack<T>(rows: unknown[][], shapes: Slot[][]): T[] {
  const out: T[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    // Cast: the rows were packed from T by this file's Packer, in a file keyed by a hash of the
    // jobs file, FORMAT and the variables (checking 10,000 specs again would cost what the
    // cache saves); a file that does not parse is ignored.
    out[i] = unpackRow(rows[i], shapes[Number(rows[i][0])]) as T;
  }
  return out;
}

/** The cache key of a load. */
export function cacheKey(text: string, vars: Record<string, string>, baseDir: string): string {
  return createHash("sha256")
    .update(JSON.stringify([FORMAT, baseDir, Object.entries(vars).sort()]))
    .update(text)
    .digest("hex");
}

/** Deno's own read where it runs: node:fs's utf8 decoding costs a few ms more on megabytes. */
const readText = readTextSync;

function cachePath(file: string): string {
  const abs = resolve(file);
  return join(dirname(abs), ".jx", `graph-${basename(abs)}.json`);
}

/**
 * Whether the cache file and its `.jx/` are ours and not links (a cached
 * graph is code: another user's would choose what runs).
 */
function trusted(path: string, absentOk: boolean): boolean {
  const ok = (k: string) => k === "ok" || (absentOk && k === "absent");
  return ok(inspectOwned(dirname(path), "dir").kind) && ok(inspectOwned(path, "file").kind);
}

/** The cached graph for `key`, or undefined. */
export function readCachedGraph(file: string, key: string): Graph | undefined {
  try {
    if (!trusted(cachePath(file), false)) return undefined;
    const text = readText(cachePath(file));
    const nl = text.indexOf("\n");
    if (nl !== key.length || !text.startsWith(key)) return undefined;
    const c = JSON.parse(text.slice(nl + 1)) as Packed; // Cast: written by writeCachedGraph (above)
    const jobs = unpack<JobSpec>(c.jobs, c.shapes);
    const graph = new Graph(file, jobs, new Map(c.pools), unpack<Edge>(c.edges, c.shapes));
    graph.settings = c.settings ?? {};
    return graph;
  } catch {
    return undefined;
  }
}

/** Stores a graph; failures (a read-only directory) are ignored. Atomic: temp file, then rename. */
export function writeCachedGraph(file: string, key: string, graph: Graph): void {
  const path = cachePath(file);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    if (!trusted(path, true)) return;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const p = new Packer();
    const jobs = graph.jobs.map((j) => p.row(j));
    const edges = graph.edges.map((e) => p.row(e));
    const c: Packed = {
      shapes: p.shapes,
      jobs,
      pools: [...graph.pools],
      edges,
      settings: graph.settings,
    };
    rmSync(tmp, { force: true });
    writeFileSync(tmp, key + "\n" + JSON.stringify(c), { flag: "wx" }); // never through a link
    renameSync(tmp, path);
  } catch {
    // No cache then.
  }
}
