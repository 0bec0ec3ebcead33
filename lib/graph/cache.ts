/**
 * A cache of loaded graphs in `.jx/` beside the jobs file. Parsing YAML is the
 * slowest part of starting a large run (about 1 s for 10,000 jobs with the
 * `yaml` package); a valid file that has not changed is read back instead.
 * The key covers everything the loader reads: the file's text, the variable
 * overrides, the base directory and the cache format.
 *
 * The file (`.jx/graph-FILE.json`) is the key on its first line, so that a
 * stale cache is known without parsing it; then a header (the shapes, the
 * pools, the file's settings); then an index (`PartIndex`: which jobs name
 * which files, the edges out of each job, where each row starts); then one
 * JSON array of rows, one row per line: each job is an array of its values,
 * after the index of its list of keys in a shared table (jobs of one file
 * have a handful of shapes), then each edge the same way. Reading it back
 * builds the same objects, keys in the same order, about three times faster
 * than parsing the objects themselves; `readCachedPart` parses only the rows
 * of the jobs an edit touches and of what follows them.
 *
 * @module
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { inspectOwned } from "../runtime/owned.ts";
import { sha256 } from "../runtime/hash.ts";
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
// in the shapes (`Slot`); 6: header, index and rows on lines of their own (`readCachedPart`)
const FORMAT = 6;

/** The header line after the key line. */
interface Header {
  /** Key lists: a row starts with the index of its own. */
  shapes: Slot[][];
  pools: [string, number][];
  /** The file's variables and top-level `cache:`. */
  settings?: FileSettings;
  /** Rows of jobs, then of edges. */
  jobs: number;
  edges: number;
}

/**
 * The index line: what `readCachedPart` needs to choose the jobs to load
 * without parsing any row. Lists of lists are flat (`start[i]` to
 * `start[i + 1]`).
 */
interface PartIndex {
  /** The jobs' names, in file order. */
  names: string[];
  /** Every plain path a job reads, writes or takes its env from (no glob, no `@name`). */
  files: string[];
  /** Per file, the jobs that name it. */
  ownStart: number[];
  owners: number[];
  /** Per job, the files it writes. */
  wStart: number[];
  writes: number[];
  /** Per job, the edges out of it (edge numbers); per edge, the job it leads to. */
  outStart: number[];
  outs: number[];
  edgeTo: number[];
  /** Jobs a partial load never takes (see `unfitForPart`). */
  unfit: number[];
  /** Where each row (jobs, then edges) starts in the rows' text; one more for the end. */
  at: number[];
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
  return sha256()
    .update(JSON.stringify([FORMAT, baseDir, Object.entries(vars).sort()]))
    .update(text)
    .hex();
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

/** The cache file's text when its first line is `key` (and it is ours), else undefined. */
function cachedText(file: string, key: string): string | undefined {
  if (!trusted(cachePath(file), false)) return undefined;
  const text = readText(cachePath(file));
  return text.indexOf("\n") === key.length && text.startsWith(key) ? text : undefined;
}

/** The header, the index's line (not parsed) and the rows' offset in a cache file's text. */
function split(
  text: string,
  key: string,
): { header: Header; index: [number, number]; rows: number } {
  const h = key.length + 1, i = text.indexOf("\n", h) + 1, r = text.indexOf("\n", i) + 1;
  if (i === 0 || r === 0) throw new Error("truncated");
  const header = JSON.parse(text.slice(h, i - 1)) as Header; // Cast: written by writeCachedGraph
  return { header, index: [i, r - 1], rows: r };
}

/** The cached graph for `key`, or undefined. */
export function readCachedGraph(file: string, key: string): Graph | undefined {
  try {
    const text = cachedText(file, key);
    if (!text) return undefined;
    const { header: c, rows } = split(text, key);
    const all = JSON.parse(text.slice(rows)) as unknown[][]; // Cast: rows written below
    const jobs = unpack<JobSpec>(all.slice(0, c.jobs), c.shapes);
    const edges = unpack<Edge>(all.slice(c.jobs), c.shapes);
    const graph = new Graph(file, jobs, new Map(c.pools), edges);
    graph.settings = c.settings ?? {};
    graph.cacheKey = key;
    return graph;
  } catch {
    return undefined;
  }
}

/** A glob or an `@name`: not a file the index lists. */
const notFile = (p: string) => p[0] === "@" || /[*?[{]/.test(p);

/**
 * Whether a partial load must not take the job: what decides it is more
 * than its files' stamps (a module, generated jobs, a loop, a depfile's
 * inputs, a glob, a condition on another job's result).
 */
function unfitForPart(j: JobSpec): boolean {
  if (j.kind !== "job" || j.emits || j.deferred || j.repeat || j.fromGlob) return true;
  if (j.depfile || j.if !== undefined || j.unless !== undefined || j.source !== undefined) {
    return true;
  }
  return [j.reads, j.writes, j.envFiles ?? []].some((l) =>
    l.some((p) => p[0] !== "@" && notFile(p))
  );
}

/** A flat list of lists: `start` (one more than the lists) and the items. */
function flat(lists: number[][]): [number[], number[]] {
  const start = [0], items: number[] = [];
  for (const l of lists) items.push(...l), start.push(items.length);
  return [start, items];
}

/** The index of `graph` for partial loads; `at` is filled by the writer. */
function indexOf(graph: Graph): PartIndex {
  const jobs = graph.jobs, fileIds = new Map<string, number>();
  const files: string[] = [], owned: number[][] = [];
  const id = (p: string) => {
    let i = fileIds.get(p);
    if (i === undefined) fileIds.set(p, i = files.push(p) - 1), owned.push([]);
    return i;
  };
  const written: number[][] = [], unfit: number[] = [];
  for (let j = 0; j < jobs.length; j++) {
    const s = jobs[j], seen = new Set<number>();
    if (unfitForPart(s)) unfit.push(j);
    for (const p of [...s.reads, ...s.writes, ...s.envFiles ?? []]) {
      if (notFile(p)) continue;
      const f = id(p);
      if (!seen.has(f)) seen.add(f), owned[f].push(j);
    }
    written.push(s.writes.filter((p) => !notFile(p)).map(id));
  }
  const byName = new Map(jobs.map((s, j) => [s.name, j]));
  const outs: number[][] = jobs.map(() => []);
  const edgeTo = graph.edges.map((e, k) => {
    outs[byName.get(e.from)!].push(k);
    return byName.get(e.to)!;
  });
  const [ownStart, owners] = flat(owned), [wStart, writes] = flat(written);
  const [outStart, outList] = flat(outs);
  return {
    names: jobs.map((s) => s.name),
    files,
    ownStart,
    owners,
    wStart,
    writes,
    outStart,
    outs: outList,
    edgeTo,
    unfit,
    at: [],
  };
}

/** Stores a graph; failures (a read-only directory) are ignored. Atomic: temp file, then rename. */
export function writeCachedGraph(file: string, key: string, graph: Graph): void {
  const path = cachePath(file);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    if (!trusted(path, true)) return;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const p = new Packer();
    const rows = [...graph.jobs.map((j) => p.row(j)), ...graph.edges.map((e) => p.row(e))];
    const header: Header = {
      shapes: p.shapes,
      pools: [...graph.pools],
      settings: graph.settings,
      jobs: graph.jobs.length,
      edges: graph.edges.length,
    };
    const index = indexOf(graph);
    // The rows' text: "[\n" row ",\n" row ... "\n]"; each row ends 2 before the next starts.
    const texts = rows.map((r) => JSON.stringify(r));
    let at = 2;
    for (const t of texts) index.at.push(at), at += t.length + 2;
    index.at.push(at);
    const body = `[\n${texts.join(",\n")}\n]`;
    rmSync(tmp, { force: true });
    const text = `${key}\n${JSON.stringify(header)}\n${JSON.stringify(index)}\n${body}`;
    writeFileSync(tmp, text, { flag: "wx" }); // never through a link
    renameSync(tmp, path);
    graph.cacheKey = key;
  } catch {
    // No cache then.
  }
}

/** A partial graph: the jobs an edit touches and what follows them (`readCachedPart`). */
export interface PartGraph {
  graph: Graph;
  /** The selected jobs left out (up to date unless the full check is asked for), in file order. */
  left: string[];
  /**
   * The paths whose stamps a record of this run must take again: the
   * changed ones and those the loaded jobs write (every job that names
   * them is loaded).
   */
  again: Set<string>;
}

/**
 * From the cache for `key`: the selected jobs (`selected`, in file order)
 * that name a path of `changed`, everything that follows them (by an edge,
 * or by naming a path one of them writes), as a graph of their own; the
 * rest are `left`. Undefined when there is no such cache, when a changed
 * path is named by no job, when a job to load (or any selected job) is
 * unfit (`unfitForPart`), or when more than `max` jobs would load.
 */
export function readCachedPart(
  file: string,
  key: string,
  selected: readonly string[],
  changed: ReadonlySet<string>,
  max: number,
): PartGraph | undefined {
  try {
    const text = cachedText(file, key);
    if (!text) return undefined;
    const { header, index: [i0, i1], rows } = split(text, key);
    const ix = JSON.parse(text.slice(i0, i1)) as PartIndex; // Cast: written by writeCachedGraph
    const n = header.jobs, sel = selectedOf(ix.names, selected);
    if (!sel) return undefined;
    for (const j of ix.unfit) if (sel[j]) return undefined;
    const inPart = new Uint8Array(n), stack: number[] = [], again = new Set(changed);
    let size = 0;
    const add = (j: number) => {
      if (sel[j] && !inPart[j]) inPart[j] = 1, stack.push(j), size++;
    };
    let found = 0;
    for (let f = 0; f < ix.files.length; f++) {
      if (!changed.has(ix.files[f])) continue;
      found++;
      for (let k = ix.ownStart[f]; k < ix.ownStart[f + 1]; k++) add(ix.owners[k]);
    }
    if (found !== changed.size) return undefined;
    while (stack.length && size <= max) {
      const j = stack.pop()!;
      for (let k = ix.outStart[j]; k < ix.outStart[j + 1]; k++) add(ix.edgeTo[ix.outs[k]]);
      for (let k = ix.wStart[j]; k < ix.wStart[j + 1]; k++) {
        const f = ix.writes[k];
        again.add(ix.files[f]);
        for (let o = ix.ownStart[f]; o < ix.ownStart[f + 1]; o++) add(ix.owners[o]);
      }
    }
    if (size > max) return undefined;
    const row = (r: number) => JSON.parse(text.slice(rows + ix.at[r], rows + ix.at[r + 1] - 2));
    const jobs: JobSpec[] = [], edges: Edge[] = [], left: string[] = [];
    for (let j = 0; j < n; j++) {
      if (!inPart[j]) {
        if (sel[j]) left.push(ix.names[j]);
        continue;
      }
      const r = row(j);
      const spec = unpackRow(r, header.shapes[r[0]]);
      spec.index = jobs.length; // its place in the partial graph, file order kept
      jobs.push(spec as unknown as JobSpec); // Cast: packed from a JobSpec by Packer.row
      for (let k = ix.outStart[j]; k < ix.outStart[j + 1]; k++) {
        if (!inPart[ix.edgeTo[ix.outs[k]]]) continue;
        const e = row(n + ix.outs[k]);
        edges.push(unpackRow(e, header.shapes[e[0]]) as unknown as Edge); // Cast: as above
      }
    }
    const graph = new Graph(file, jobs, new Map(header.pools), edges);
    graph.settings = header.settings ?? {};
    graph.cacheKey = key;
    return { graph, left, again };
  } catch {
    return undefined;
  }
}

/**
 * Which of `names` (every job, file order) are `selected` (some of them,
 * file order): a flag per job, or undefined when a selected name is not there.
 */
function selectedOf(names: string[], selected: readonly string[]): Uint8Array | undefined {
  const sel = new Uint8Array(names.length);
  let k = 0;
  for (let j = 0; j < names.length && k < selected.length; j++) {
    if (names[j] === selected[k]) sel[j] = 1, k++;
  }
  return k === selected.length ? sel : undefined;
}
