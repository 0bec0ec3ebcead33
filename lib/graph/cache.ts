/**
 * A cache of loaded graphs in `.jx/` beside the jobs file. Parsing YAML is the
 * slowest part of starting a large run (about 1 s for 10,000 jobs with the
 * `yaml` package); a valid file that has not changed is read back instead.
 * The key covers everything the loader reads: the file's text, the variable
 * overrides, the base directory and the cache format.
 *
 * The file (`.jx/graph-FILE.json`) is the key on its first line, so that a
 * stale cache is known without parsing it; then a header line (the shapes,
 * the pools, the file's settings, where the parts of the body are), padded
 * so that the body starts at a multiple of 8 bytes. The body holds an index
 * for partial loads (which jobs name which files, the edges out of each
 * job, where each row starts: int32s; the jobs' names and the files: JSON),
 * then one JSON array of rows, one row per line: each job is an array of its
 * values, after the index of its list of keys in a shared table (jobs of
 * one file have a handful of shapes), then each edge the same way. Reading
 * it back builds the same objects, keys in the same order, about three
 * times faster than parsing the objects themselves; `readCachedPart`
 * parses only the names and the rows of the jobs an edit touches and of
 * what follows them.
 *
 * @module
 */
import { inspectOwned } from "../runtime/owned.ts";
import { sha256 } from "../runtime/hash.ts";
import { GRAPH_FORMAT, VERSION } from "../runtime/version.ts";
import { pid, projectDir, readBytesSync, renameSync, stateDirSync } from "../runtime/fs.ts";
import { utf8Decoder, utf8Exact } from "../runtime/utf8.ts";
import { basename, dirname, join, resolve } from "../runtime/path.ts";
import { Graph } from "./graph.ts";
import { isGlob } from "./glob.ts";
import { isStrings } from "./read.ts";
import type { Edge, FileSettings, JobSpec } from "./types.ts";
import { type OpenFile, openFile, removePath } from "../runtime/files.ts";

/** Files smaller than this are parsed every time (it takes a few milliseconds). */
export const CACHE_MIN_BYTES = 32 * 1024;

/**
 * Text that may hold a `foreach` glob, which expands over the files on disk
 * (not covered by the key): such files are parsed every time. A `glob:`
 * elsewhere (in a command) only costs the cache.
 */
export const FOREACH_GLOB: RegExp = /\bglob["']?\s*:/;
// 3: `repeat` as { kind, test, max }; 4: the file's settings (vars, cache); 5: shared values
// in the shapes (`Slot`); 6: header, index and rows on lines of their own (`readCachedPart`);
// 7, 8: the index's numbers as int32s, its names as lines, the rows as JSON, by byte offsets;
// 9: none written for a file whose `env_file`/`include`/`glob` key hides behind a YAML escape;
// 10: values past MAX_VALUE_LENGTH refused at load (a graph cached before held them);
// 11: an empty `ready.cmd`/`health.cmd` refused at load. The key also holds jx's version, so
// that a release whose loader builds a graph differently never reads one an older jx cached.
// 12: `${NAME:q}` inside quotes (and after a backslash, in a comment) refused at load, and
// `when: { file }` a read for ordering (`WhenSpec.read`, its edges): a graph cached before held
// the one and lacked the other. 13: an included file's needs/if/unless/repeat name a job of a
// file it includes in turn as in its folder (`sub:build` in pkg/ is pkg/sub:build, not a root one).
// 14: edges as numbers (`edgeTo`, `edgeWhy`, the index's `outs`) and their reasons as a list of
// texts, each once (the readers of a folder that 2,000 jobs write share 2,000 reasons), not rows.
// 15: a number or flag where text is taken is its text as written (`PY: 3.10` was `3.1`); more of
// `${NAME:q}` refused (in `$((...))`, nested quotes of `"${...}"`...); vars substituted in modules'
// ready and health checks; an empty `log:` and topics no message can reach refused.
// 16: a run list whose program holds a blank (`run: [echo hi, echo there]`) and make's `$(NAME)`
// of a var in shell text refused at load, and a file that is not UTF-8 (its bytes as U+FFFD): a
// graph cached before held them.
// 17: an unknown `${NAME}` in `env` refused at load (it was kept as its text).
// 18: `.` orders against every path (it met only globs): a graph cached before lacks those edges.
// 19: `slurm: args` that srun would take as its command (or after which it runs nothing) refused.
// 20: a path of `reads`, `writes`, `depfile` or `when.file` that is empty once substituted
// (`"${OUT}"` with `OUT=`) refused: it was `.`, the whole project folder.
// 21: a deferred `foreach`'s stand-in reads no `env_file` of its job (each item reads its own).
// 22: `slurm: args` that rename the step (`--job-name`, `-J`) refused, and an empty `slurm:`
// partition, time, mem or gres (it was srun's `--time=`, or the default partition unsaid);
// `${NAME}` substituted in `slurm:` (it reached srun as that text).
// 23: `${NAME}` substituted in `foreach` list items and matrix values (they were kept as text);
// a duration with a unit twice (`1h1h`, read as 2h) refused.
// 24: `${NAME}` substituted in a command-line `NAME=VALUE`'s value, as in the var's own in the
// file (it reached the jobs as that text, for the shell to expand).
// 25: the graph is the same; a depfile's absolute paths into the project are inputs (they were
// left out): a no-op record of before, made from lines that lack them, is not replayed.
const FORMAT = GRAPH_FORMAT;

/** The header line after the key line. */
interface Header {
  /** Key lists: a row starts with the index of its own. */
  shapes: Slot[][];
  pools: [string, number][];
  /** The file's variables and top-level `cache:`. */
  settings?: FileSettings;
  /** Rows of jobs; edges (numbers in `ints`, see `Ints.edgeWhy`). */
  jobs: number;
  edges: number;
  /**
   * Where the parts of the body (after the header line, which is padded
   * with spaces so that the body starts at a multiple of 8 bytes) are, in
   * bytes from its start: each list of `Ints` (offset, count, as int32s),
   * each list of `Strings` (offset, length: the strings joined by newlines,
   * or a JSON list when one holds a newline), the rows (offset, length, as
   * JSON).
   */
  ints: Record<keyof Ints, [number, number]>;
  names: [number, number];
  files: [number, number];
  reasons: [number, number];
  /** Whether `names`, `files` and `reasons` are JSON lists rather than lines. */
  json: boolean;
  rows: [number, number];
}

/** The index's names: what `readCachedPart` matches paths and the selection against. */
interface Strings {
  /** The jobs' names, in file order. */
  names: string[];
  /** Every plain path a job reads, writes or takes its env from (no glob, no `@name`). */
  files: string[];
  /** The edges' reasons, each once, in the order first met. */
  reasons: string[];
}

/**
 * The index's numbers: what `readCachedPart` needs to choose the jobs to
 * load without parsing any row. Lists of lists are flat (`start[i]` to
 * `start[i + 1]`).
 */
interface Ints {
  /** Per file, the jobs that name it. */
  ownStart: ArrayLike<number>;
  owners: ArrayLike<number>;
  /** Per job, the files it writes. */
  wStart: ArrayLike<number>;
  writes: ArrayLike<number>;
  /** Per job, the edges out of it (edge numbers); per edge, the job it leads to. */
  outStart: ArrayLike<number>;
  outs: ArrayLike<number>;
  edgeTo: ArrayLike<number>;
  /** Per edge, its reason's index in `Strings.reasons` times 4, plus its kind's in `KINDS`. */
  edgeWhy: ArrayLike<number>;
  /** Jobs a partial load never takes (see `unfitForPart`). */
  unfit: ArrayLike<number>;
  /** Where each job's row starts in the rows' bytes; one more for the end. */
  at: ArrayLike<number>;
}

const INTS: (keyof Ints)[] = [
  "ownStart",
  "owners",
  "wStart",
  "writes",
  "outStart",
  "outs",
  "edgeTo",
  "edgeWhy",
  "unfit",
  "at",
];

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
  return (proto === Object.prototype || proto === null) && !hasKeys(v);
}

/** Whether `v` has an own key (no list of its keys made). */
function hasKeys(v: object): boolean {
  for (const k in v) if (Object.hasOwn(v, k)) return true;
  return false;
}

/** Whether `argv` is `/bin/sh -c command` (a `run:` string). */
function isShell(argv: unknown, command: unknown): boolean {
  return Array.isArray(argv) && argv.length === 3 && argv[0] === "/bin/sh" &&
    argv[1] === "-c" && argv[2] === command;
}

/** Whether `v` is a position `{line, col}` and nothing else. */
function isPos(v: unknown): v is { line: number; col: number } {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    if (k !== (n === 0 ? "line" : n === 1 ? "col" : undefined)) return false;
    n++;
  }
  return n === 2;
}

/** The key of an empty list or mapping kept in a shape, in `ShapeNode`'s maps. */
const EMPTY_LIST = Symbol("[]"), EMPTY_MAP = Symbol("{}");

/**
 * A shared value as a key of `ShapeNode.shared`: itself for a flag, null, a
 * number or a string (no two values share one), a tag for an empty list or
 * mapping (see `shared`).
 */
function sharedKey(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  return Array.isArray(v) ? EMPTY_LIST : EMPTY_MAP;
}

/**
 * The shapes seen, as a tree: from the root, one step per stored key (its
 * kind and name, and for a shared value the value), so that a row finds its
 * shape by a few lookups of strings it already holds (no signature made).
 */
class ShapeNode {
  id = -1;
  /** Keys stored as their value, a `sh -c` or a position: by kind, then by name. */
  private plain = new Map<string, Map<unknown, ShapeNode>>();
  /** Keys kept in the shape (`c`): by name, then by `sharedKey`. */
  private shared = new Map<string, Map<unknown, ShapeNode>>();

  /** The node after key `k` stored as `kind` (with `v`, for a shared value). */
  next(kind: SlotKind, k: string, v: unknown): ShapeNode {
    const [table, by, step] = kind === "c" ? [this.shared, k, sharedKey(v)] : [this.plain, kind, k];
    let steps = table.get(by);
    if (!steps) table.set(by, steps = new Map());
    let n = steps.get(step);
    if (!n) steps.set(step, n = new ShapeNode());
    return n;
  }
}

/** One step of the last row's way through the shapes (see `Packer.row`). */
interface Step {
  k: string;
  kind: SlotKind;
  /** `sharedKey` of the value, for a shared one. */
  shared: unknown;
  /** The node after the step. */
  node: ShapeNode;
}

/** Objects as rows of values after the index of their shape in `shapes`. */
class Packer {
  readonly shapes: Slot[][] = [];
  private root = new ShapeNode();
  /**
   * The last row's steps: a row whose keys and shared values are the last
   * one's, as most rows of a file are, follows them without a lookup.
   */
  private last: Step[] = [];

  row(o: object): unknown[] {
    // Cast: any object's own keys, read by name (JobSpec and Edge are interfaces, so they are
    // not assignable to an index signature).
    const r = o as Record<string, unknown>;
    const row: unknown[] = [0];
    const last = this.last;
    let node = this.root, n = 0;
    // Its own keys in order, as Object.keys gives them (no list made per row).
    for (const k in r) {
      if (!Object.hasOwn(r, k)) continue;
      const v = r[k];
      const kind = slotKind(r, k, v);
      if (kind === undefined) continue;
      const shared = kind === "c" ? sharedKey(v) : undefined;
      const was = n < last.length ? last[n] : undefined;
      if (was && was.k === k && was.kind === kind && was.shared === shared) node = was.node;
      else {
        node = node.next(kind, k, v);
        last.length = n;
        last.push({ k, kind, shared, node });
      }
      n++;
      if (kind === "p") row.push([(v as Pos).line, (v as Pos).col]);
      else if (kind === "k") row.push(v);
    }
    last.length = n;
    if (node.id < 0) node.id = this.shapes.push(slotsOf(r, Object.keys(r))) - 1;
    row[0] = node.id;
    return row;
  }
}

/** A position, as `isPos` finds it. */
type Pos = { line: number; col: number };
/** How a key is stored (see `slotKind`). */
type SlotKind = "c" | "s" | "p" | "k";

/**
 * How key `k` (value `v`) of `r` is stored: in the shape (`c`), as the
 * `sh -c` of its command (`s`), as a `[line, col]` pair (`p`), as its value
 * (`k`); undefined when it is left out (as JSON.stringify would).
 */
function slotKind(r: Record<string, unknown>, k: string, v: unknown): SlotKind | undefined {
  if (v === undefined) return undefined;
  if (shared(k, v)) return "c";
  if (k === "argv" && isShell(v, r.command)) return "s";
  return k === "pos" && isPos(v) ? "p" : "k";
}

/** The shape of an object (the slots its row's signature stands for). */
function slotsOf(r: Record<string, unknown>, keys: string[]): Slot[] {
  const slots: Slot[] = [];
  for (const k of keys) {
    const v = r[k];
    const kind = slotKind(r, k, v);
    if (kind === undefined) continue;
    switch (kind) {
      case "c":
        slots.push({ c: k, v });
        continue;
      case "s":
        slots.push({ sh: k });
        continue;
      case "p":
        slots.push({ pos: k });
        continue;
      case "k":
        slots.push({ k });
        continue;
      default: {
        const _assertNever: never = kind;
        return _assertNever;
      }
    }
  }
  return slots;
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

/**
 * Throws when rows read back cannot be the graph the loader made: a job
 * whose name, command, argv, working directory, files, needs or slots are
 * not of their types, a name twice. Cheap (a few checks per job, ~1 ms for
 * 10,000): a damaged cache whose JSON still parses must never be run (a name
 * twice left a run waiting forever). Edges need no check here: each is made
 * from the places of two jobs read (`edgeAt`), a place out of range throws.
 * Returns the jobs by name (the graph's `byName`, made once).
 */
function checkRows(jobs: JobSpec[]): Map<string, JobSpec> {
  const names = new Map<string, JobSpec>();
  for (const j of jobs) {
    const ok = typeof j === "object" && j !== null && typeof j.name === "string" &&
      (j.kind === "job" || j.kind === "module") && typeof j.command === "string" &&
      isStrings(j.argv) && j.argv.length > 0 && typeof j.cwd === "string" &&
      isStrings(j.reads) && isStrings(j.writes) && isStrings(j.needs) &&
      Number.isInteger(j.tokens) && j.tokens >= 0 && !names.has(j.name);
    if (!ok) throw new Error("damaged rows");
    names.set(j.name, j);
  }
  return names;
}

/**
 * The cache key of a load: jx's version and the cache format, the jobs file's bytes (or text),
 * the variables, the base directory. `version`: another jx's, for tests.
 */
export function cacheKey(
  text: string | Uint8Array,
  vars: Record<string, string>,
  baseDir: string,
  version: string = VERSION,
): string {
  return sha256()
    .update(JSON.stringify([version, FORMAT, baseDir, Object.entries(vars).sort()]))
    .update(text)
    .hex();
}

function cachePath(file: string): string {
  return join(projectDir(file), ".jx", `graph-${basename(resolve(file))}.json`);
}

/**
 * Whether the cache file and its `.jx/` are ours and not links (a cached
 * graph is code: another user's would choose what runs).
 */
function trusted(path: string, absentOk: boolean): boolean {
  const ok = (k: string) => k === "ok" || (absentOk && k === "absent");
  return ok(inspectOwned(dirname(path), "dir").kind) && ok(inspectOwned(path, "file").kind);
}

const encoder = new TextEncoder(), decoder = utf8Decoder;
/** Whether this machine stores an int32 little-endian, as the file does (every one jx runs on). */
const littleEndian = new Uint8Array(new Int32Array([1]).buffer)[0] === 1;

/** A cache file whose first line is the key asked for: its header and the bytes of its body. */
interface Opened {
  header: Header;
  /** The body, or its first part (up to the rows) when opened for a partial load. */
  body: Uint8Array;
  /** The text of the body's bytes `[at, at + length)`, read now when they are not in `body`. */
  text(at: number, length: number): string;
  close(): void;
}

/** Reads `into.length` bytes at `position` of `f` (fewer only at the end of the file). */
function readAt(f: OpenFile, into: Uint8Array, position: number): number {
  let got = 0;
  while (got < into.length) {
    const n = f.readAt(into, got, into.length - got, position + got);
    if (n <= 0) break;
    got += n;
  }
  return got;
}

/** The header and where the body starts, from the file's first bytes; undefined when not `key`'s. */
function headOf(bytes: Uint8Array, key: string): { header: Header; start: number } | undefined {
  const k = bytes.indexOf(10);
  if (k !== key.length || decoder.decode(bytes.subarray(0, k)) !== key) return undefined;
  const h = bytes.indexOf(10, k + 1);
  if (h < 0) return undefined;
  const header = JSON.parse(decoder.decode(bytes.subarray(k + 1, h))) as Header; // Cast: ours
  return { header, start: h + 1 };
}

/**
 * The cache file of `file` when it is ours and its first line is `key`,
 * else undefined: read whole, or (`indexOnly`) up to its rows, the rows
 * then read one by one as they are asked for (a partial load reads a few).
 */
function open(file: string, key: string, indexOnly = false): Opened | undefined {
  const path = cachePath(file);
  if (!littleEndian || !trusted(path, false)) return undefined;
  if (!indexOnly) {
    const bytes = readBytesSync(path);
    const head = headOf(bytes, key);
    if (!head) return undefined;
    const body = bytes.subarray(head.start);
    const text = (at: number, length: number) => decoder.decode(body.subarray(at, at + length));
    return { header: head.header, body, text, close: () => {} };
  }
  const f = openFile(path, "read");
  try {
    const first = new Uint8Array(64 * 1024);
    const head = headOf(first.subarray(0, readAt(f, first, 0)), key);
    const body = new Uint8Array(head?.header.rows[0] ?? 0);
    if (!head || readAt(f, body, head.start) !== body.length) {
      f.close();
      return undefined;
    }
    const text = (at: number, length: number) => {
      if (at + length <= body.length) return decoder.decode(body.subarray(at, at + length));
      const bytes = new Uint8Array(length);
      return decoder.decode(bytes.subarray(0, readAt(f, bytes, head.start + at)));
    };
    return { header: head.header, body, text, close: () => f.close() };
  } catch (e) {
    f.close();
    throw e;
  }
}

/** The text of part `[offset, length]` of the body. */
const textOf = (o: Opened, [at, length]: [number, number]) => o.text(at, length);

/** A list of strings of the body (`Header.names`, `Header.files`). */
function stringsOf(o: Opened, part: [number, number]): string[] {
  const text = textOf(o, part);
  // Cast: written by writeCachedGraph
  return o.header.json ? JSON.parse(text) as string[] : text ? text.split("\n") : [];
}

/**
 * The index in `Header.files` of each path of `paths`, or undefined when
 * one is not there. A few paths are looked for in the text (no list of
 * every file is made); many, in the list.
 */
function fileIndexes(o: Opened, paths: ReadonlySet<string>): number[] | undefined {
  const out: number[] = [];
  const bytes = bytesOf(o, o.header.files);
  if (o.header.json || paths.size > 16 || !bytes) {
    const files = stringsOf(o, o.header.files);
    for (let f = 0; f < files.length; f++) if (paths.has(files[f])) out.push(f);
    return out.length === paths.size ? out : undefined;
  }
  const wanted = [...paths].map((p) => encoder.encode(p));
  const found = wanted.map(() => -1);
  let left = wanted.length;
  eachLine(bytes, (f, start, end) => {
    for (let w = 0; w < wanted.length; w++) {
      if (found[w] < 0 && sameBytes(bytes, start, end, wanted[w])) found[w] = f, left--;
    }
    return left > 0;
  });
  return left ? undefined : found;
}

/**
 * The strings at `indexes` (ascending, no repeat) of a list of the body,
 * found by one pass over its bytes when it is newline-joined (no list of
 * every string made: a partial run wants a few of 20,000 paths).
 */
function stringsAt(o: Opened, part: [number, number], indexes: number[]): string[] {
  const bytes = bytesOf(o, part);
  if (o.header.json || !bytes) {
    const all = stringsOf(o, part);
    return indexes.map((i) => all[i]);
  }
  const out: string[] = [];
  let k = 0;
  eachLine(bytes, (i, start, end) => {
    if (i === indexes[k]) out.push(decoder.decode(bytes.subarray(start, end))), k++;
    return k < indexes.length;
  });
  return out;
}

/** The bytes of part `[at, length]` of the body when they were read with it. */
const bytesOf = (o: Opened, [at, length]: [number, number]) =>
  at + length <= o.body.length ? o.body.subarray(at, at + length) : undefined;

/** Calls `f(index, start, end)` for each newline-separated line of `bytes` while it says true. */
function eachLine(bytes: Uint8Array, f: (i: number, start: number, end: number) => boolean): void {
  if (!bytes.length) return;
  for (let i = 0, start = 0; start <= bytes.length; i++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    if (!f(i, start, end)) return;
    start = end + 1;
  }
}

/** Whether `bytes[start, end)` are `b`. */
function sameBytes(bytes: Uint8Array, start: number, end: number, b: Uint8Array): boolean {
  if (end - start !== b.length) return false;
  for (let k = 0; k < b.length; k++) if (bytes[start + k] !== b[k]) return false;
  return true;
}

/** The index's numbers: views of the body (a copy if it is not aligned). */
function intsOf(o: Opened): Ints {
  const out: Partial<Record<keyof Ints, Int32Array>> = {};
  for (const name of INTS) {
    const [at, count] = o.header.ints[name];
    const start = o.body.byteOffset + at;
    out[name] = start % 4 === 0
      ? new Int32Array(o.body.buffer, start, count)
      : new Int32Array(o.body.slice(at, at + count * 4).buffer);
  }
  return out as Ints; // Cast: every name of INTS set above
}

/**
 * Every edge of an opened cache file whose jobs are `jobs`, in the graph's order, and the lists
 * of them by the job they lead to and come from (as `Graph` takes them); `back`: whether one
 * leads back in file order (only then can the edges make a cycle).
 */
function allEdges(o: Opened, jobs: readonly JobSpec[]) {
  const ix = intsOf(o), count = o.header.edges, reasons = stringsOf(o, o.header.reasons);
  const n = jobs.length, reason = (r: number) => reasons[r];
  if (ix.outStart.length !== n + 1 || ix.outs.length !== count || !isStrings(reasons)) {
    throw new Error("damaged index");
  }
  // Each job's edges out, each put in its place (edge numbers are the graph's order of edges).
  const edges: Edge[] = new Array(count), out = new Map<string, Edge[]>(), seen = new Int32Array(n);
  let made = 0, back = false;
  for (let j = 0; j < n; j++) {
    const [s, e] = outsOf(ix, j, n, count, seen);
    if (s === e) continue;
    const from = jobs[j].name, list: Edge[] = [];
    for (let i = s; i < e; i++) {
      const k = ix.outs[i], t = ix.edgeTo[k];
      if (edges[k]) throw new Error("damaged index");
      list.push(edges[k] = edgeAt(ix, k, from, jobs[t].name, reason)), made++;
      back ||= t < j;
    }
    out.set(from, list);
  }
  if (made !== count) throw new Error("damaged index");
  // By the job each leads to, in the graph's order.
  const byPlace: (Edge[] | undefined)[] = [], into = new Map<string, Edge[]>();
  for (let t = 0; t < n; t++) byPlace.push(undefined); // (a list with no holes: fast elements)
  for (let k = 0; k < count; k++) (byPlace[ix.edgeTo[k]] ??= []).push(edges[k]);
  for (let t = 0; t < n; t++) if (byPlace[t]) into.set(jobs[t].name, byPlace[t]!);
  return { edges, lists: { into, out }, back };
}

/** The cached graph for `key`, or undefined. */
export function readCachedGraph(file: string, key: string): Graph | undefined {
  try {
    const o = open(file, key);
    if (!o) return undefined;
    const c = o.header;
    const jobs = unpack<JobSpec>(JSON.parse(textOf(o, c.rows)), c.shapes); // Cast: rows written below
    if (jobs.length !== c.jobs) return undefined;
    const { edges, lists, back } = allEdges(o, jobs);
    const graph = new Graph(file, jobs, new Map(c.pools), edges, checkRows(jobs), 0, lists);
    // The loader refused a cycle; a damaged file could hold one, and a run of it would wait.
    if (back && graph.findCycle()) return undefined;
    graph.settings = c.settings ?? {};
    graph.cacheKey = key;
    graph.fromCache = true;
    return graph;
  } catch {
    return undefined;
  }
}

/**
 * Whether a partial load must not take the job: what decides it is more
 * than its files' stamps (a module, generated jobs, a loop, a depfile's
 * inputs, a condition on another job's result, a `when:`; a glob in its
 * files is found by `indexOf`).
 */
function unfitForPart(j: JobSpec): boolean {
  if (j.kind !== "job" || j.emits || j.deferred || j.repeat || j.fromGlob) return true;
  // `when:` holds or not by the environment, which no stamp covers.
  if (j.depfile || j.if !== undefined || j.unless !== undefined || j.source !== undefined) {
    return true;
  }
  return j.when !== undefined;
}

/**
 * The flat form of the pairs (`keys[i]`, `values[i]`; `i` when there are no
 * values) grouped by key (a counting sort, pairs of one key in their order):
 * `start` (one more than `size`) and the values.
 */
function grouped(size: number, keys: Int32Array, values?: Int32Array): [Int32Array, Int32Array] {
  const start = new Int32Array(size + 1);
  for (let i = 0; i < keys.length; i++) start[keys[i] + 1]++;
  for (let i = 0; i < size; i++) start[i + 1] += start[i];
  const next = start.slice(0, size), out = new Int32Array(keys.length);
  for (let i = 0; i < keys.length; i++) out[next[keys[i]]++] = values ? values[i] : i;
  return [start, out];
}

/**
 * Numbers of paths (one per path): the edge derivation's `ResourceIndex`,
 * handed over by the loader, so that no path is looked up in a map made
 * again for the cache; and what else the derivation found, so that no path
 * and no reason is looked up by its text at all (100,000 jobs: 400,000
 * paths and 100,000 reasons of one resource each, `writes out/N.o -> reads
 * out/N.o`, each text hashed for nothing but a number the derivation had).
 */
export interface PathNumbers {
  idOf(path: string): number;
  /**
   * Each job's writes then its reads (as the derivation took them: `orderReads`) as numbers,
   * from `start[j]` to `start[j + 1]`, for `jobs` jobs (graph/edges.ts's `JobResources`).
   */
  paths?: { start: ArrayLike<number>; ids: ArrayLike<number>; jobs: number };
  /**
   * The resource edges as the derivation made them, in order (the graph keeps them in that
   * order, less those that repeat a link edge), each one's reason's number (equal numbers for
   * equal texts, and only then) and the places of the jobs it comes from and leads to.
   */
  made?: {
    edges: readonly Edge[];
    reasons: ArrayLike<number>;
    from: ArrayLike<number>;
    to: ArrayLike<number>;
  };
}

/** `PathNumbers` of a map of its own, for a graph that comes without any. */
class OwnNumbers implements PathNumbers {
  private ids = new Map<string, number>();

  idOf(path: string): number {
    let id = this.ids.get(path);
    if (id === undefined) this.ids.set(path, id = this.ids.size);
    return id;
  }
}

/**
 * The plain paths (`files`, in the order first met), and each path's index
 * there by its number (`PathNumbers`): -1 for an `@name`, -2 for a glob
 * (decided once a path).
 */
class FileIds {
  readonly files: string[] = [];
  /** By a path's number: its index plus 3 (0: not met yet). */
  private of = new Int32Array(1024);

  /** The index of path `p`, whose number (`PathNumbers.idOf`) is `n`. */
  id(p: string, n: number): number {
    if (n >= this.of.length) {
      const more = new Int32Array(Math.max(n + 1, this.of.length * 2));
      more.set(this.of);
      this.of = more;
    }
    const had = this.of[n];
    if (had) return had - 3;
    const i = p[0] === "@" ? -1 : isGlob(p) ? -2 : this.files.push(p) - 1;
    this.of[n] = i + 3;
    return i;
  }
}

/** The index of a graph for partial loads, but where the rows start (`Ints.at`). */
interface Index {
  strings: Strings;
  ints: Omit<Ints, "at">;
}

/** How many paths the jobs name (reads, writes, env files), repeats counted. */
function pathCount(jobs: readonly JobSpec[]): number {
  let n = 0;
  for (const s of jobs) n += s.reads.length + s.writes.length + (s.envFiles?.length ?? 0);
  return n;
}

/**
 * The index of `graph` for partial loads. Its lists are int32s sized at
 * once (lists grown by a push cost twice the time, and their copies GC).
 */
function indexOf(graph: Graph, numbers: PathNumbers): Index {
  const jobs = graph.jobs, ids = new FileIds(), room = pathCount(jobs);
  // (file, job) once per pair, in job order; each job's written files; flat lists, no list per job.
  const pairFile = new Int32Array(room), pairJob = new Int32Array(room);
  const lastJob = new Int32Array(room).fill(-1); // by file (there are at most `room`)
  const wStart = new Int32Array(jobs.length + 1), writes = new Int32Array(room);
  const unfit: number[] = [];
  const known = numbers.paths?.jobs === jobs.length ? numbers.paths : undefined;
  let pairs = 0, written = 0;
  // `at`: where the list's numbers start in `known.ids` (-1: each path looked up by its text).
  const pair = (list: readonly string[], j: number, w: boolean, at: number) => {
    let glob = false;
    for (let k = 0; k < list.length; k++) {
      const p = list[k], f = ids.id(p, at >= 0 ? known!.ids[at + k] : numbers.idOf(p));
      if (f < 0) {
        glob ||= f === -2;
        continue;
      }
      if (lastJob[f] !== j) lastJob[f] = j, pairFile[pairs] = f, pairJob[pairs++] = j;
      if (w) writes[written++] = f;
    }
    return glob;
  };
  for (let j = 0; j < jobs.length; j++) {
    const s = jobs[j], at = known ? knownAt(known, j, s) : -1;
    const globR = pair(s.reads, j, false, at < 0 ? -1 : at + s.writes.length);
    const globW = pair(s.writes, j, true, at);
    const globE = s.envFiles !== undefined && pair(s.envFiles, j, false, -1);
    if (globR || globW || globE || unfitForPart(s)) unfit.push(j);
    wStart[j + 1] = written;
  }
  const { from, to: edgeTo, why: edgeWhy, reasons } = edgesAsNumbers(graph, numbers.made);
  const files = ids.files;
  const [ownStart, owners] = grouped(files.length, pairFile.subarray(0, pairs), pairJob);
  const [outStart, outs] = grouped(jobs.length, from);
  return {
    strings: { names: jobs.map((s) => s.name), files, reasons },
    ints: {
      ownStart,
      owners,
      wStart,
      writes: writes.subarray(0, written),
      outStart,
      outs,
      edgeTo,
      edgeWhy,
      unfit,
    },
  };
}

/**
 * Where job `j`'s numbers start in `known.ids` (its writes, then its reads); -1 when they
 * cannot be its (too few).
 */
function knownAt(known: NonNullable<PathNumbers["paths"]>, j: number, s: JobSpec): number {
  const at = known.start[j];
  return known.start[j + 1] - at >= s.writes.length + s.reads.length ? at : -1;
}

/** Edge kinds by their number in `Ints.edgeWhy`. */
const KINDS: readonly Edge["kind"][] = ["needs", "resource", "order", "condition"];

/**
 * Per edge of `graph`, the places of the jobs it comes from and leads to, and its reason's
 * number (in `reasons`, each text once, in the order first met) and kind's, as `Ints.edgeWhy`
 * holds them. An edge the derivation made (`made`) has its reason's number and its places
 * from it: no text looked up.
 */
function edgesAsNumbers(graph: Graph, made?: PathNumbers["made"]) {
  const edges = graph.edges, from = new Int32Array(edges.length), to = new Int32Array(edges.length);
  const why = new Int32Array(edges.length), reasons: string[] = [];
  const byText = new Map<string, number>(), at = made && madeAt(graph, made);
  // By a reason number of the derivation's: that reason's number here, plus 1 (0: not met yet).
  const mine = new Int32Array(at ? at.count : 0);
  let lastTo: string | undefined, place = -1; // (a job's edges in come one after another)
  for (let k = 0; k < edges.length; k++) {
    const e = edges[k], kind = KINDS.indexOf(e.kind), j = at ? at.of[k] : -1;
    if (kind < 0 || typeof e.reason !== "string") throw new Error(`edge of kind ${e.kind}`);
    const m = j >= 0 ? made!.reasons[j] : -1;
    let r = m >= 0 ? mine[m] - 1 : byText.get(e.reason);
    if (r === undefined || r < 0) {
      r = reasons.push(e.reason) - 1;
      if (m >= 0) mine[m] = r + 1;
      else byText.set(e.reason, r);
    }
    if (j >= 0) from[k] = made!.from[j], to[k] = made!.to[j];
    else {
      if (e.to !== lastTo) lastTo = e.to, place = placeOf(graph, e.to);
      from[k] = placeOf(graph, e.from), to[k] = place;
    }
    why[k] = r * 4 + kind;
  }
  return { from, to, why, reasons };
}

/**
 * Per edge of `graph`, its index in `made` (-1: an edge the derivation did not make), and one
 * more than the largest reason number of those; undefined when the graph's edges are not the
 * derivation's as it made them (in order, some left out, their jobs where it found them), or
 * when another edge's reason could be one of its texts (all of which start with a mode): then
 * every edge is found by its texts.
 */
function madeAt(graph: Graph, made: NonNullable<PathNumbers["made"]>) {
  const { edges, jobs } = graph, of = new Int32Array(edges.length).fill(-1);
  let j = 0, count = 0;
  for (let k = 0; k < edges.length; k++) {
    const e = edges[k];
    if (e.kind !== "resource" && e.kind !== "order") {
      const r = e.reason;
      if (typeof r !== "string" || r.startsWith("writes ") || r.startsWith("reads ")) {
        return undefined;
      }
      continue;
    }
    while (j < made.edges.length && made.edges[j] !== e) j++;
    if (j === made.edges.length) return undefined;
    if (jobs[made.from[j]]?.name !== e.from || jobs[made.to[j]]?.name !== e.to) return undefined;
    count = Math.max(count, made.reasons[j] + 1);
    of[k] = j++;
  }
  return { of, count };
}

/**
 * `start[i]` to `start[i + 1]`, a range of a list of `length` (a flat list of lists of the
 * index); throws when it is not one (a damaged index).
 */
function span(start: ArrayLike<number>, i: number, length: number): [number, number] {
  const s = start[i], e = start[i + 1];
  if (!(s >= 0 && s <= e && e <= length)) throw new Error("damaged index");
  return [s, e];
}

/**
 * Where the edges out of job `j` of an index of `n` jobs and `count` edges
 * are in `Ints.outs` (`outs[i]` an edge's number, `edgeTo` of it the place
 * of the job it leads to), each checked. Throws on a number out of range, an
 * edge to `j` itself or a second edge to one job (a damaged index: the
 * loader makes neither). `seen` (by place, one per job of the index) marks
 * the places met, as `j + 1`.
 */
function outsOf(ix: Ints, j: number, n: number, count: number, seen: Int32Array): [number, number] {
  const [s, e] = span(ix.outStart, j, ix.outs.length);
  for (let i = s; i < e; i++) {
    const k = ix.outs[i], t = k >= 0 && k < count ? ix.edgeTo[k] : -1;
    if (!(t >= 0 && t < n) || t === j || seen[t] === j + 1) throw new Error("damaged index");
    seen[t] = j + 1;
  }
  return [s, e];
}

/**
 * Edge number `k` of an index read back, from job `from` to job `to` (the
 * names of its jobs: `Ints.edgeTo[k]` is `to`'s place), its reason found by
 * number with `reasons`. Throws on a number out of range.
 */
function edgeAt(
  ix: Ints,
  k: number,
  from: string,
  to: string,
  reasons: (r: number) => string | undefined,
): Edge {
  const why = ix.edgeWhy[k], reason = why >= 0 ? reasons(why >>> 2) : undefined;
  if (reason === undefined) throw new Error("damaged index");
  return { from, to, kind: KINDS[why & 3], reason };
}

/** The place of job `name` in `graph.jobs` (its `index`, checked). */
function placeOf(graph: Graph, name: string): number {
  const spec = graph.byName.get(name);
  if (!spec || graph.jobs[spec.index] !== spec) throw new Error(`no job ${name} in its place`);
  return spec.index;
}

/** Stores a graph; failures (a read-only directory) are ignored. Atomic: temp file, then rename. */
export function writeCachedGraph(
  file: string,
  key: string,
  graph: Graph,
  numbers: PathNumbers = new OwnNumbers(),
): void {
  const path = cachePath(file);
  const tmp = `${path}.${pid()}.tmp`;
  try {
    if (!trusted(path, true)) return;
    stateDirSync(dirname(path), 0o700);
    const { strings, ints } = indexOf(graph, numbers);
    // Names and files, then the rows, as UTF-8 as they are made (no list of 200,000 texts kept).
    const sink = new ByteSink();
    const { json, texts } = storedLists([strings.names, strings.files, strings.reasons]);
    const [names, files, reasons] = texts.map((t) => putStrings(sink, t));
    const p = new Packer(), rows = sink.length, at = putRows(sink, p, graph.jobs);
    const header: Header = {
      shapes: p.shapes,
      pools: [...graph.pools],
      settings: graph.settings,
      jobs: graph.jobs.length,
      edges: graph.edges.length,
      ints: {} as Header["ints"], // filled by `numbersOf`
      json,
      names,
      files,
      reasons,
      rows: [rows, at[at.length - 1]],
    };
    const body = numbersOf(header, { ...ints, at });
    removePath(tmp);
    writeParts(tmp, key, header, [body, ...sink.parts()]);
    renameSync(tmp, path);
    graph.cacheKey = key;
  } catch {
    // No cache then.
  }
}

/**
 * The index's lists of strings as stored: each joined by newlines, or
 * (`json`) all of them as JSON lists when a string holds a newline or would
 * not come back from UTF-8 as itself (lines split faster than JSON parses).
 */
function storedLists(lists: string[][]): { json: boolean; texts: string[] } {
  const joined = lists.map((l) => l.join("\n"));
  // Joined by newlines, no two strings make a surrogate pair: one test for all.
  const json = joined.some((t, i) =>
    newlines(t) !== Math.max(lists[i].length - 1, 0) || !utf8Exact(t)
  );
  return { json, texts: json ? lists.map((l) => JSON.stringify(l)) : joined };
}

/** How many newlines `t` holds. */
function newlines(t: string): number {
  let n = 0;
  for (let i = t.indexOf("\n"); i >= 0; i = t.indexOf("\n", i + 1)) n++;
  return n;
}

/**
 * UTF-8 in buffers of a megabyte or more, each filled before the next is
 * made (none copied into a larger one: a page of fresh memory costs a
 * fault, and a copy touches every page twice).
 */
class ByteSink {
  private done: Uint8Array[] = [];
  private last = new Uint8Array(0);
  private used = 0;
  /** Bytes put so far. */
  length = 0;

  /** Appends `text`; returns how many bytes it took. */
  put(text: string): number {
    const most = text.length * 3; // at most 3 bytes per UTF-16 unit
    if (this.used + most > this.last.length) {
      if (this.used) this.done.push(this.last.subarray(0, this.used));
      this.last = new Uint8Array(Math.max(most, 1 << 20)), this.used = 0;
    }
    const { written } = encoder.encodeInto(text, this.last.subarray(this.used));
    this.used += written, this.length += written;
    return written;
  }

  /** The bytes put, in order. */
  parts(): Uint8Array[] {
    return this.used ? [...this.done, this.last.subarray(0, this.used)] : this.done;
  }
}

/** Puts a list of the index's strings (`storedLists`) into `sink`: where it starts, its length. */
function putStrings(sink: ByteSink, text: string): [number, number] {
  const at = sink.length;
  return [at, sink.put(text)];
}

/** Rows are encoded when this many characters of them wait. */
const ROWS_CHUNK = 1 << 16;

/**
 * Puts the rows of `jobs` (packed by `p`) into `sink`: "[\n" row ",\n"
 * row ... "\n]", a JSON list, a row a line. Returns where each row starts,
 * from the list's start, and (one more) its length.
 */
function putRows(sink: ByteSink, p: Packer, jobs: readonly JobSpec[]): Int32Array {
  const n = jobs.length, at = new Int32Array(n + 1);
  const start = sink.length;
  let texts: string[] = [], first = 0, chars = 0;
  const add = (o: object) => {
    const text = JSON.stringify(p.row(o));
    texts.push(text);
    chars += text.length;
    if (chars < ROWS_CHUNK) return;
    putChunk(sink, start, texts, first, at);
    first += texts.length, texts = [], chars = 0;
  };
  jobs.forEach(add);
  if (texts.length || !first) putChunk(sink, start, texts, first, at);
  sink.put("\n]");
  at[n] = sink.length - start;
  return at;
}

/**
 * Puts rows `first` on (`texts`) into `sink` after those before them (the
 * list's `[` before the first), and their starts (from the list's start,
 * `start` in `sink`) into `at`: a row's bytes are its characters unless it
 * holds others than ASCII.
 */
function putChunk(sink: ByteSink, start: number, texts: string[], first: number, at: Int32Array) {
  const text = (first ? ",\n" : "[\n") + texts.join(",\n");
  let row = sink.length - start + 2;
  const ascii = sink.put(text) === text.length;
  for (let i = 0; i < texts.length; i++) {
    at[first + i] = row;
    row += (ascii ? texts[i].length : encoder.encode(texts[i]).length) + 2;
  }
}

/**
 * The index's numbers as the int32s of the body's start, `header.ints` set
 * to where each list is (the other parts of the body, which follow them,
 * moved past them).
 */
function numbersOf(header: Header, ints: Ints): Uint8Array {
  let end = 0;
  for (const name of INTS) {
    header.ints[name] = [end, ints[name].length], end += ints[name].length * 4;
  }
  const numbers = new Int32Array(end / 4);
  for (const name of INTS) numbers.set(ints[name], header.ints[name][0] / 4);
  for (const part of [header.names, header.files, header.reasons, header.rows]) part[0] += end;
  return new Uint8Array(numbers.buffer);
}

/**
 * Writes a new cache file at `tmp` (never through a link): the key, the
 * header line padded with spaces so that the body (its int32s) starts
 * aligned, then `parts`.
 */
function writeParts(tmp: string, key: string, header: Header, parts: Uint8Array[]) {
  const line = `${key}\n${JSON.stringify(header)}`;
  const pad = (8 - ((encoder.encode(line).length + 1) % 8)) % 8;
  const f = openFile(tmp, "create");
  try {
    f.write(encoder.encode(`${line}${" ".repeat(pad)}\n`));
    for (const part of parts) f.write(part);
  } finally {
    f.close();
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
  let o: Opened | undefined;
  try {
    o = open(file, key, true);
    if (!o) return undefined;
    const ix = intsOf(o), n = o.header.jobs;
    // Every job selected (a run of all): no names to read.
    const sel = selected.length === n
      ? new Uint8Array(n).fill(1)
      : selectedOf(stringsOf(o, o.header.names), selected);
    if (!sel) return undefined;
    for (let k = 0; k < ix.unfit.length; k++) if (sel[ix.unfit[k]]) return undefined;
    const part = partOf(o, ix, sel, changed, max);
    if (!part) return undefined;
    const loaded = loadPart(o, ix, file, key, selected, sel, part.inPart);
    // Every changed path is a loaded job's, by the rows themselves (not only by the index).
    const named = new Set<string>();
    for (const j of loaded.graph.jobs) {
      for (const list of [j.reads, j.writes, j.envFiles ?? []]) {
        for (const p of list) {
          if (isGlob(p)) return undefined;
          named.add(p);
        }
      }
    }
    for (const p of changed) if (!named.has(p)) return undefined;
    return { ...loaded, again: part.again };
  } catch {
    return undefined;
  } finally {
    o?.close();
  }
}

/**
 * Which selected jobs (`sel`) a partial load takes (`inPart`): those that
 * name a path of `changed`, and from each taken job the jobs its edges lead
 * to and every job naming a file it writes (`again` gets those files); or
 * undefined when a changed path is no job's, or when more than `max` are.
 */
function partOf(
  o: Opened,
  ix: Ints,
  sel: Uint8Array,
  changed: ReadonlySet<string>,
  max: number,
): { inPart: Uint8Array; again: Set<string> } | undefined {
  const inPart = new Uint8Array(sel.length), stack: number[] = [], again = new Set(changed);
  let size = 0;
  const add = (j: number) => {
    if (sel[j] && !inPart[j]) inPart[j] = 1, stack.push(j), size++;
  };
  const n = sel.length, files = ix.ownStart.length - 1, seen = new Int32Array(n);
  const ownersOf = (f: number) => {
    if (!(f >= 0 && f < files)) throw new Error("damaged index");
    const [s, e] = span(ix.ownStart, f, ix.owners.length);
    for (let k = s; k < e; k++) {
      if (!(ix.owners[k] >= 0 && ix.owners[k] < n)) throw new Error("damaged index");
      add(ix.owners[k]);
    }
  };
  const seeds = fileIndexes(o, changed);
  if (!seeds) return undefined;
  seeds.forEach(ownersOf);
  const written = new Set<number>(); // the files taken jobs write, named once the part is known
  while (stack.length && size <= max) {
    const j = stack.pop()!;
    const [outsAt, outsEnd] = outsOf(ix, j, n, o.header.edges, seen);
    for (let i = outsAt; i < outsEnd; i++) add(ix.edgeTo[ix.outs[i]]);
    const [writesAt, writesEnd] = span(ix.wStart, j, ix.writes.length);
    for (let k = writesAt; k < writesEnd; k++) {
      written.add(ix.writes[k]);
      ownersOf(ix.writes[k]);
    }
  }
  if (size > max) return undefined;
  for (const p of stringsAt(o, o.header.files, [...written].sort((a, b) => a - b))) again.add(p);
  return { inPart, again };
}

/**
 * The jobs `inPart` flags, parsed from their rows, with the edges between
 * them, as a graph of their own (each job's `index` its place in it, file
 * order kept); `left`: the other selected jobs' names.
 */
function loadPart(
  o: Opened,
  ix: Ints,
  file: string,
  key: string,
  selected: readonly string[],
  sel: Uint8Array,
  inPart: Uint8Array,
): { graph: Graph; left: string[] } {
  const { header } = o, n = header.jobs;
  // Cast: each row was packed from a JobSpec by Packer.row.
  const row = (r: number): JobSpec => {
    const values = JSON.parse(o.text(header.rows[0] + ix.at[r], ix.at[r + 1] - 2 - ix.at[r]));
    return unpackRow(values, header.shapes[values[0]]) as unknown as JobSpec;
  };
  const jobs: JobSpec[] = [], left: string[] = [], taken = new Map<number, string>();
  // The k-th selected job is `selected[k]` (both in file order).
  for (let j = 0, k = 0; j < n; j++) {
    if (!sel[j]) continue;
    if (!inPart[j]) {
      left.push(selected[k++]);
      continue;
    }
    // The index is checked against the rows it leads to (a damaged one loads nothing).
    const spec = row(j);
    if (spec.name !== selected[k++] || unfitForPart(spec)) throw new Error("index and rows differ");
    jobs.push({ ...spec, index: jobs.length });
    taken.set(j, spec.name);
  }
  // The edges between the jobs taken, each one's out in order; their reasons read in one pass.
  const ends: [number, string, string][] = [], wanted = new Set<number>();
  const seen = new Int32Array(n);
  let back = false;
  for (const [j, from] of taken) {
    const [s, e] = outsOf(ix, j, n, header.edges, seen);
    for (let i = s; i < e; i++) {
      const k = ix.outs[i], t = ix.edgeTo[k], to = taken.get(t);
      if (to === undefined) continue;
      ends.push([k, from, to]);
      wanted.add(ix.edgeWhy[k] >>> 2);
      back ||= t < j;
    }
  }
  const numbers = [...wanted].sort((a, b) => a - b);
  const texts = stringsAt(o, header.reasons, numbers), reasons = new Map<number, string>();
  numbers.forEach((r, i) => typeof texts[i] === "string" && reasons.set(r, texts[i]));
  const edges = ends.map(([k, from, to]) => edgeAt(ix, k, from, to, (r) => reasons.get(r)));
  const graph = new Graph(file, jobs, new Map(header.pools), edges, checkRows(jobs), 0);
  // (As a full read: a damaged file's cycle would leave the run waiting.)
  if (back && graph.findCycle()) throw new Error("damaged index");
  graph.settings = header.settings ?? {};
  graph.cacheKey = key;
  graph.fromCache = true;
  return { graph, left };
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
