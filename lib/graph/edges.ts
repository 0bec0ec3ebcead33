/**
 * Derives ordering edges from declared resources, in file order, as a
 * parallelizing shell does: a writer waits for every earlier reader and
 * writer of what it writes; a reader waits for the last earlier writer.
 *
 * @module
 */
import { isGlob, patternsOverlap, shapeOf } from "./glob.ts";
import type { Edge, JobSpec } from "./types.ts";

/** Whether every path glob `g` can match lies under the plain directory `dir`. */
function globUnder(g: string, dir: string): boolean {
  if (dir === ".") return true;
  if (shapeOf(dir).glob) return false;
  const head = shapeOf(g).headPath;
  return head === dir || head.startsWith(dir + "/");
}

/**
 * Whether `a` and `b`, one of them a path escaped to name itself (a `foreach` item's `o/[*].d`),
 * the other escaped or plain, are one a directory above the other.
 */
function literalsNest(a: string, b: string): boolean {
  const la = shapeOf(a).literal;
  if (la === undefined) return false; // a real glob (most): no shape made for `b`
  const sb = shapeOf(b), lb = sb.glob ? sb.literal : b;
  return lb !== undefined && (la.startsWith(lb + "/") || lb.startsWith(la + "/"));
}

/** What a resource is: a plain path, a glob, an `@name`. */
const PLAIN = 0, GLOB = 1, NAME = 2;

/** Folders this many levels below the top or deeper are found by their last part (`pathId`). */
const DEEP = 16;

/** `into` holding `from` first. */
function grown<A extends Uint8Array | Int32Array>(from: A, into: A): A {
  into.set(from);
  return into;
}

/**
 * Resources seen so far, each with a value, and which of them conflict with
 * another: equal, one a directory above the other, or a glob matching the
 * other (`@names` only by equality). Each resource (and each directory
 * above a path) has a number (`idOf`), made once; the rest is lists by
 * number, so that a resource costs one lookup of its text.
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
  /** Resources by their text: those asked for, and folders less than DEEP below the top. */
  private ids = new Map<string, number>();
  /** Folders DEEP or more below the top, by their last part under their parent's number. */
  private children = new Map<number, Map<string, number>>();
  /** By number: the resource, its kind, its parent directory's number (-1: none). */
  private texts: string[] = [];
  private kinds = new Uint8Array(64);
  private parents = new Int32Array(64);
  /** By number: its place in `order` and `values` once seen (added), else -1. */
  private seenAt = new Int32Array(64).fill(-1);
  /** Every resource seen, in the order seen, and its value. */
  private order: number[] = [];
  private values: T[] = [];
  /** By a folder's number: the plain paths seen below it. */
  private below = new Map<number, number[]>();
  /**
   * The globs seen, in the order seen, and by their literal head directory (`shapeOf`'s
   * `headPath`): `globsAt` by the head itself, `globsBelow` by the head and every directory
   * above it, `rootGlobs` those with none (`*.o`, `{a,b}/x`). Only globs whose heads lie on one
   * line of directories can conflict, so a query looks at those, not at every glob.
   */
  private globs: number[] = [];
  private globsAt = new Map<number, number[]>();
  private globsBelow = new Map<number, number[]>();
  private rootGlobs: number[] = [];
  /** The number of `.` once seen (every path lies below it), else -1. */
  private dot = -1;
  /**
   * Per glob asked for: how many resources had been seen when it was last asked for, and which
   * of those conflict with it, in the order seen (nothing seen is ever taken out).
   */
  private globMemo = new Map<number, { seen: number; hits: number[] }>();

  /** The number of `res` (made the first time it is asked for, with its parent directories'). */
  idOf(res: string): number {
    const known = this.ids.get(res);
    if (known !== undefined) return known;
    const kind = res[0] === "@" ? NAME : isGlob(res) ? GLOB : PLAIN;
    if (kind === PLAIN) return this.pathId(res); // (which files it under its text)
    const id = this.number(res, -1, kind);
    this.ids.set(res, id);
    return id;
  }

  /**
   * The number of the plain path `res`, not numbered yet (filed under its
   * text in `ids`). A folder less than DEEP levels below the top is found
   * by its text (one lookup when its parent is known, as most are); a
   * deeper one by its last part under its parent's number, so that a path
   * thousands of folders deep costs its length, not its length times its
   * depth.
   */
  private pathId(res: string): number {
    let cut = -1, depth = 0;
    for (let i = res.indexOf("/", 1); i > 0; i = res.indexOf("/", i + 1)) {
      if (++depth === DEEP) {
        cut = i;
        break;
      }
    }
    if (cut < 0) return this.numberShallow(res, res, res.length);
    let id = this.shallow(res, cut);
    for (let from = cut; from > 0;) {
      const next = res.indexOf("/", from + 1), to = next < 0 ? res.length : next;
      let under = this.children.get(id);
      if (!under) this.children.set(id, under = new Map());
      const part = res.slice(from + 1, to);
      const had = under.get(part);
      if (had !== undefined) id = had;
      else under.set(part, id = this.number(res.slice(0, to), id, PLAIN));
      from = next;
    }
    this.ids.set(res, id);
    return id;
  }

  /**
   * The last few folders paths were numbered under, and their numbers (most paths share their
   * folder with one of the few before): `folderOf` finds them with no lookup by text.
   */
  private recent: string[] = ["", "", "", ""];
  private recentIds = new Int32Array(4);
  private recentNext = 0;

  /** The number of folder `res.slice(0, to)`, less than DEEP below the top: by its text. */
  private shallow(res: string, to: number): number {
    const text = to === res.length ? res : res.slice(0, to);
    return this.ids.get(text) ?? this.numberShallow(res, text, to);
  }

  /** Numbers `text`, which is `res.slice(0, to)`, less than DEEP below the top and not numbered yet. */
  private numberShallow(res: string, text: string, to: number): number {
    const slash = res.lastIndexOf("/", to - 1);
    const id = this.number(text, slash > 0 ? this.folderOf(res, slash) : -1, PLAIN);
    this.ids.set(text, id);
    return id;
  }

  /** The number of folder `res.slice(0, to)`: a recent one's when it is one (no lookup). */
  private folderOf(res: string, to: number): number {
    const recent = this.recent;
    for (let k = 0; k < recent.length; k++) {
      if (recent[k].length === to && res.startsWith(recent[k])) return this.recentIds[k];
    }
    const id = this.shallow(res, to), k = this.recentNext;
    recent[k] = this.texts[id];
    this.recentIds[k] = id;
    this.recentNext = (k + 1) % recent.length;
    return id;
  }

  /** Numbers `res` (of `kind`), whose parent directory is `parent` (-1: none). */
  private number(res: string, parent: number, kind: number): number {
    const id = this.texts.length;
    this.texts.push(res);
    if (id === this.kinds.length) {
      this.kinds = grown(this.kinds, new Uint8Array(id * 2));
      this.parents = grown(this.parents, new Int32Array(id * 2));
      this.seenAt = grown(this.seenAt, new Int32Array(id * 2).fill(-1));
    }
    this.kinds[id] = kind;
    this.parents[id] = parent;
    return id;
  }

  /** The resource of number `id`. */
  textOf(id: number): string {
    return this.texts[id];
  }

  /** The value of a resource seen before. */
  get(res: string): T | undefined {
    const id = this.ids.get(res);
    return id === undefined || this.seenAt[id] < 0 ? undefined : this.values[this.seenAt[id]];
  }

  /** The value of resource `id` (seen before). */
  valueOf(id: number): T {
    return this.values[this.seenAt[id]];
  }

  /** The value of `res`, made with `make` the first time. */
  getOrAdd(res: string, make: () => T): T {
    return this.addId(this.idOf(res), make);
  }

  /** The value of resource `id`, made with `make` the first time. */
  addId(id: number, make: () => T): T {
    const at = this.seenAt[id];
    if (at >= 0) return this.values[at];
    const v = make();
    this.seenAt[id] = this.order.push(id) - 1;
    this.values.push(v);
    if (this.kinds[id] === GLOB) this.addGlob(id);
    else if (this.kinds[id] === PLAIN) {
      if (this.texts[id] === ".") this.dot = id;
      for (let a = this.parents[id]; a >= 0; a = this.parents[a]) push(this.below, a, id);
    }
    return v;
  }

  /** The resources seen that conflict with `res` (itself included when seen). */
  conflicting(res: string): string[] {
    const out: string[] = [];
    this.conflictingIds(this.idOf(res), (c) => out.push(this.texts[c]));
    return out;
  }

  /** Files glob `id` (seen now) by its head directory. */
  private addGlob(id: number): void {
    this.globs.push(id);
    const head = this.headOf(id);
    if (head < 0) {
      this.rootGlobs.push(id);
      return;
    }
    push(this.globsAt, head, id);
    for (let a = head; a >= 0; a = this.parents[a]) push(this.globsBelow, a, id);
  }

  /** The number of glob `id`'s literal head directory; -1 when it has none. */
  private headOf(id: number): number {
    const head = shapeOf(this.texts[id]).headPath;
    return head === "" || head === "." ? -1 : this.idOf(head);
  }

  /**
   * Calls `f` with each resource seen that conflicts with resource `id`:
   * itself, its parent directories (nearest first), the paths below it, the
   * globs, each group in the order first seen.
   */
  conflictingIds(id: number, f: (c: number) => void): void {
    const kind = this.kinds[id];
    if (kind === NAME) {
      if (this.seenAt[id] >= 0) f(id);
      return;
    }
    if (kind === GLOB) {
      // Asked again (each job reading `out/*.h`): only what was seen since is tested.
      let memo = this.globMemo.get(id);
      if (!memo) this.globMemo.set(id, memo = { seen: 0, hits: [] });
      if (memo.seen < this.order.length) {
        // Numbered before the lists are read: numbering a head may grow them.
        const head = this.headOf(id), res = this.texts[id];
        for (const o of this.seenSince(head, memo.seen)) {
          if (globMeets(res, this.texts[o])) memo.hits.push(o);
        }
        memo.seen = this.order.length;
      }
      for (const o of memo.hits) f(o);
      return;
    }
    const { seenAt, texts } = this;
    const res = texts[id];
    if (res === ".") return this.everything(id, f);
    if (seenAt[id] >= 0) f(id);
    for (let a = this.parents[id]; a >= 0; a = this.parents[a]) if (seenAt[a] >= 0) f(a);
    // `.` is above every path (a top-level one's parent is none: -1).
    if (this.dot >= 0) f(this.dot);
    const below = this.below.get(id);
    if (below) { for (const b of below) f(b); }
    if (!this.globs.length) return;
    // `.` lies under no glob's head and every glob's lies under it: all of them.
    const globs = res === "." ? this.globs : this.linedGlobs(id);
    for (const g of globs) if (globMeets(texts[g], res)) f(g);
  }

  /**
   * `.` (resource `id`) names every path: each resource seen but `@names` (itself too), asked
   * again only for those seen since (as a glob's, `globMemo`). It met none but globs: a top-level
   * path's parent is none, and `.` was above nothing, so a job reading `.` was not ordered after
   * one writing `out.txt` (nor one reading `out.txt` after one writing `.`).
   */
  private everything(id: number, f: (c: number) => void): void {
    let memo = this.globMemo.get(id);
    if (!memo) this.globMemo.set(id, memo = { seen: 0, hits: [] });
    const { order, kinds } = this;
    for (let k = memo.seen; k < order.length; k++) {
      if (kinds[order[k]] !== NAME) memo.hits.push(order[k]);
    }
    memo.seen = order.length;
    for (const o of memo.hits) f(o);
  }

  /**
   * The resources seen since the first `from` (in the order seen) that may conflict with a glob
   * whose head is `head` (-1: none, and every one may): the head and the folders above it, the
   * paths below it, `.`, the globs whose heads lie on its line (no resource twice among those).
   */
  private seenSince(head: number, from: number): number[] {
    const { order, seenAt, kinds } = this;
    if (head < 0) return order.slice(from).filter((o) => kinds[o] !== NAME);
    const out: number[] = [];
    let top = head;
    for (let a = head; a >= 0; a = this.parents[a]) {
      top = a;
      if (seenAt[a] >= from) out.push(a);
    }
    // `.` is on the line already when the head is `./...`.
    if (this.dot >= 0 && top !== this.dot && seenAt[this.dot] >= from) out.push(this.dot);
    for (const list of [this.below.get(head), ...this.globLine(head)]) {
      // Each list in the order seen: what was seen since is at its end.
      for (let k = (list?.length ?? 0) - 1; k >= 0 && seenAt[list![k]] >= from; k--) {
        out.push(list![k]);
      }
    }
    return inOrderSeen(out, seenAt);
  }

  /**
   * The globs seen whose heads lie on directory `dir`'s line (at it, below it or above it),
   * and those with no head, in the order seen.
   */
  private linedGlobs(dir: number): readonly number[] {
    const parts = this.globLine(dir);
    // Each part in the order seen already; no glob in two of them.
    return parts.length < 2 ? parts[0] ?? [] : inOrderSeen(parts.flat(), this.seenAt);
  }

  /** `linedGlobs`'s lists, each in the order seen. */
  private globLine(dir: number): number[][] {
    const parts: number[][] = [];
    const below = this.globsBelow.get(dir);
    if (below) parts.push(below);
    for (let a = this.parents[dir]; a >= 0; a = this.parents[a]) {
      const at = this.globsAt.get(a);
      if (at) parts.push(at);
    }
    if (this.rootGlobs.length) parts.push(this.rootGlobs);
    return parts;
  }
}

/** Whether glob `g` conflicts with resource `o`: a common path, `o` a folder above, nested literals. */
function globMeets(g: string, o: string): boolean {
  return patternsOverlap(g, o) || globUnder(g, o) || literalsNest(g, o);
}

/** `list[key]` with `v` added. */
function push(lists: Map<number, number[]>, key: number, v: number): void {
  const list = lists.get(key);
  if (list) list.push(v);
  else lists.set(key, [v]);
}

/** `ids` (seen resources, no repeat), sorted into the order they were first seen. */
function inOrderSeen(ids: number[], seenAt: Int32Array): number[] {
  return ids.length < 2 ? ids : ids.sort((a, b) => seenAt[a] - seenAt[b]);
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

/**
 * What a job reads for ordering: its `reads`, and its `when: { file: F }` as one more read of F
 * (`WhenSpec.read`; ordering only, not an input). The loader's edges and the plan's run-time
 * edges both take it.
 *
 * @example
 * ```ts
 * import { orderReads } from "./edges.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(orderReads({ reads: ["a"], when: { file: "/p/f", read: "f" } }), ["a", "f"]);
 * assertEquals(orderReads({ reads: ["a"] }), ["a"]);
 * ```
 */
export function orderReads(spec: Pick<JobSpec, "reads" | "when">): string[] {
  const read = spec.when?.read;
  return read === undefined ? spec.reads : [...spec.reads, read];
}

/**
 * By resource number: its last writer (a job's place in file order, -1: none) and its readers
 * since, in order. Typed lists rather than an object and a list per resource: 100,000 jobs
 * name 300,000 resources, kept until the last job, and the collector copies every object kept
 * that long into its old space. The first reader since the last write is in `first`, a
 * second and later ones (a file many jobs read) in `more`.
 */
class ResourceStates {
  private writers = new Int32Array(1024).fill(-1);
  private first = new Int32Array(1024).fill(-1);
  private more = new Map<number, number[]>();

  /** The last writer of resource `id` (-1: none). */
  writerOf(id: number): number {
    return id < this.writers.length ? this.writers[id] : -1;
  }

  /** The first reader of resource `id` since its last writer (-1: none). */
  firstReaderOf(id: number): number {
    return id < this.first.length ? this.first[id] : -1;
  }

  /** The second and later readers of resource `id` since its last writer, if any. */
  moreReadersOf(id: number): readonly number[] | undefined {
    return this.more.size ? this.more.get(id) : undefined;
  }

  /** Job `job` writes resource `id`: its last writer now, no reader since. */
  wrote(id: number, job: number): void {
    this.fit(id);
    this.writers[id] = job;
    if (this.first[id] < 0) return;
    this.first[id] = -1;
    if (this.more.size) this.more.delete(id);
  }

  /** Job `job` reads resource `id`. */
  read(id: number, job: number): void {
    this.fit(id);
    if (this.first[id] < 0) this.first[id] = job;
    else push(this.more, id, job);
  }

  /** Room for resource `id` in the lists. */
  private fit(id: number): void {
    if (id < this.writers.length) return;
    const size = Math.max(id + 1, this.writers.length * 2);
    this.writers = grown(this.writers, new Int32Array(size).fill(-1));
    this.first = grown(this.first, new Int32Array(size).fill(-1));
  }
}

/**
 * Each job's resources as numbers (`ResourceIndex.idOf`), as the edge derivation met them:
 * job `j`'s writes, then its reads (as the derivation was given them), repeats kept, from
 * `start[j]` to `start[j + 1]` in `ids`.
 */
export class JobResources {
  /** One more than the jobs recorded (`start[0]` is 0). */
  start: Int32Array = new Int32Array(1024);
  ids: Int32Array = new Int32Array(4096);
  /** Jobs recorded so far; numbers so far. */
  jobs = 0;
  private size = 0;

  /** Records resource number `id` for the job being recorded. */
  add(id: number): void {
    if (this.size === this.ids.length) this.ids = grown(this.ids, new Int32Array(this.size * 2));
    this.ids[this.size++] = id;
  }

  /** Ends the current job's record. */
  endJob(): void {
    if (this.jobs + 1 === this.start.length) {
      this.start = grown(this.start, new Int32Array(this.start.length * 2));
    }
    this.start[++this.jobs] = this.size;
  }
}

/** Int32s pushed one at a time, in a typed list grown by doubling (no JS list of numbers). */
class IntList {
  private list = new Int32Array(1024);
  private size = 0;

  push(n: number): void {
    if (this.size === this.list.length) this.list = grown(this.list, new Int32Array(this.size * 2));
    this.list[this.size++] = n;
  }

  /** The numbers pushed (a view: valid until the next push). */
  get items(): Int32Array {
    return this.list.subarray(0, this.size);
  }
}

/**
 * What the edge derivation found, kept for the graph cache's writer (graph/cache.ts's
 * `PathNumbers`), which then looks up no path, reason or job by its text: each job's
 * resources as numbers (`paths`), and for each edge given to `add`, in order, its reason's
 * number (equal numbers for equal texts, and only then) and the places of its jobs in file
 * order.
 */
export class Derived {
  readonly paths: JobResources = new JobResources();
  private why = new IntList();
  private places = new IntList();
  private waits = new IntList();

  /** Records the next edge: of reason number `reason`, from the job at `from` to the one at `to`. */
  edge(reason: number, from: number, to: number): void {
    this.why.push(reason), this.places.push(from), this.waits.push(to);
  }

  /** Each edge's reason's number. */
  get reasons(): Int32Array {
    return this.why.items;
  }

  /** Each edge's job it comes from, by place. */
  get from(): Int32Array {
    return this.places.items;
  }

  /** Each edge's job it leads to, by place. */
  get to(): Int32Array {
    return this.waits.items;
  }
}

/**
 * Each resource of `list` once, as its number, in order, into `out` (emptied first); each
 * number, repeats kept, also into `paths`.
 */
function idsOf<T>(
  list: readonly string[],
  idx: ResourceIndex<T>,
  out: number[],
  paths: JobResources | undefined,
): number[] {
  out.length = 0;
  const had = list.length > 16 ? new Set<number>() : undefined;
  for (const res of list) {
    const id = idx.idOf(res);
    paths?.add(id);
    if (had ? had.has(id) : out.includes(id)) continue;
    had?.add(id);
    out.push(id);
  }
  return out;
}

/**
 * The earlier jobs one job at a time waits for through its resources (by
 * place in file order), one edge each, strongest kind kept, in the order
 * first met: lists reused from job to job, an earlier job's entry found by
 * its place (no map made per job).
 */
class Candidates {
  /** The earlier jobs' places, their edges and their edges' reasons' numbers (the same index). */
  readonly places: number[] = [];
  readonly edges: Edge[] = [];
  readonly why: number[] = [];
  /** By a job's place: its index in the lists, when `taken` holds the job now (plus 1). */
  private at: Int32Array;
  private taken: Int32Array;
  private job = -1;
  private to = "";
  /** The resource of the job whose conflicts `onWrite` and `onRead` are given. */
  private res = -1;

  private reasons: Reasons;

  constructor(
    private jobs: readonly Pick<JobSpec, "name">[],
    private index: ResourceIndex<true>,
    private states: ResourceStates,
  ) {
    this.at = new Int32Array(jobs.length);
    this.taken = new Int32Array(jobs.length);
    this.reasons = new Reasons(index);
  }

  /**
   * Job `i`'s candidates (a job that both reads and writes a resource is
   * treated as its writer): in `places`, `edges` and `why` until the next call.
   */
  of(i: number, writes: readonly number[], reads: readonly number[]): this {
    this.job = i, this.to = this.jobs[i].name;
    this.places.length = this.edges.length = this.why.length = 0;
    for (const w of writes) this.res = w, this.index.conflictingIds(w, this.onWrite);
    for (const r of reads) this.res = r, this.index.conflictingIds(r, this.onRead);
    return this;
  }

  /** A resource `c` met by the job's written `res`: its writer and its readers wait before. */
  private onWrite = (c: number): void => {
    const { states, res } = this;
    const w = states.writerOf(c), r = states.firstReaderOf(c);
    if (w >= 0) this.edge(w, c, "writes", "writes", res);
    if (r < 0) return;
    this.edge(r, c, "reads", "writes", res);
    const more = states.moreReadersOf(c);
    if (more) { for (const m of more) this.edge(m, c, "reads", "writes", res); }
  };

  /** A resource `c` met by the job's read `res`: its writer waits before. */
  private onRead = (c: number): void => {
    const w = this.states.writerOf(c);
    if (w >= 0) this.edge(w, c, "writes", "reads", this.res);
  };

  /** The edge from job `from` (the stronger of it and the one before). */
  private edge(from: number, c: number, mode: string, toMode: string, res: number): void {
    if (from === this.job) return; // (a job's own resources are added after its candidates)
    const kind = mode === "writes" && toMode === "reads" ? "resource" : "order";
    const k = this.taken[from] === this.job + 1 ? this.at[from] : -1;
    if (k >= 0 && (this.edges[k].kind === "resource" || kind === "order")) return;
    const why = this.reasons.of(c, mode, toMode, res);
    const e: Edge = {
      from: this.jobs[from].name,
      to: this.to,
      kind,
      reason: this.reasons.texts[why],
    };
    if (k >= 0) this.edges[k] = e, this.why[k] = why;
    else {
      this.taken[from] = this.job + 1, this.at[from] = this.places.push(from) - 1;
      this.edges.push(e);
      this.why.push(why);
    }
  }

  /** The edge from job `from` among the candidates, if it is one. */
  from(from: number): Edge | undefined {
    return this.taken[from] === this.job + 1 ? this.edges[this.at[from]] : undefined;
  }
}

/**
 * The reason of a resource edge: `writes out/a.o -> reads out`. Joined from a list, the text
 * is one flat string; a template makes a tree of five joined pieces (V8's cons strings, 184
 * bytes each reason against 48), and 100,000 jobs keep as many reasons.
 */
function reasonText(mode: string, from: string, toMode: string, to: string): string {
  return [mode, from, "->", toMode, to].join(" ");
}

/** Keys of `Reasons` below this are V8's small integers (looked up with no number made). */
const SMALL = 2 ** 28;

/**
 * The reasons of resource edges (`writes out/a.o -> reads out`), each text made once and
 * numbered: equal numbers for equal texts, and only then (the graph cache's writer numbers
 * its list of reasons by them, with no text hashed). A pair of two resources is found by both
 * numbers and modes (the readers of a folder that many jobs write each get an edge from every
 * writer, all of them the same few texts); a pair of one resource (`writes a -> reads a`) by
 * its number and modes in a typed list (100,000 jobs each reading the file the one before
 * wrote: as many texts, no map entry each).
 */
class Reasons {
  /** Each reason by its number. */
  readonly texts: string[] = [];
  /** A pair of one resource: by its number times 4 plus the modes' (`modesOf`), that plus 1. */
  private same = new Int32Array(1024);
  /** A pair of two: by the later resource's number times 4 plus the modes', then by the earlier's. */
  private pairs = new Map<number, Map<number, number>>();
  /**
   * Reasons by their text, where a resource's text holds ` -> ` itself (the text of one pair
   * could then be another's) or a number is too large for the keys above.
   */
  private byText = new Map<string, number>();

  constructor(private index: ResourceIndex<unknown>) {}

  /** The number of the reason of an edge from resource `c` (as `mode`) to `res` (as `toMode`). */
  of(c: number, mode: string, toMode: string, res: number): number {
    const key = res * 4 + (mode === "writes" ? 2 : 0) + (toMode === "writes" ? 1 : 0);
    const from = this.index.textOf(c), to = this.index.textOf(res);
    if (res >= SMALL || c >= SMALL || from.includes(" -> ") || to.includes(" -> ")) {
      const text = reasonText(mode, from, toMode, to);
      let n = this.byText.get(text);
      if (n === undefined) this.byText.set(text, n = this.texts.push(text) - 1);
      return n;
    }
    if (c === res) return this.ofSame(key, () => reasonText(mode, from, toMode, to));
    let byC = this.pairs.get(key);
    if (!byC) this.pairs.set(key, byC = new Map());
    let n = byC.get(c);
    if (n === undefined) byC.set(c, n = this.texts.push(reasonText(mode, from, toMode, to)) - 1);
    return n;
  }

  /** The number of the reason of a pair of one resource, by `key`; `text` makes it the first time. */
  private ofSame(key: number, text: () => string): number {
    if (key >= this.same.length) {
      this.same = grown(this.same, new Int32Array(Math.max(key + 1, this.same.length * 2)));
    }
    const had = this.same[key];
    if (had) return had - 1;
    const n = this.texts.push(text()) - 1;
    this.same[key] = n + 1;
    return n;
  }
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
 * Returns the indexes of the candidates kept, in `kept` (emptied first).
 */
function dropImplied(
  i: number,
  cands: Candidates,
  barrier: Uint8Array,
  kept: number[],
): readonly number[] {
  const { places, edges } = cands;
  kept.length = 0;
  if (!places.length) {
    // No edge: a barrier only as the first job.
    barrier[i] = i === 0 ? 2 : 0;
    return kept;
  }
  let b = -1;
  for (const k of places) if (k > b && barrier[k]) b = k;
  // Few edges are kept whole: every reason stays visible in `jx graph` and `jx explain`.
  const keepAll = places.length <= KEEP_ALL_EDGES;
  const strongB = b >= 0 && barrier[b] === 2 && cands.from(b)?.kind === "resource";
  let after = 0, allResource = true;
  for (let n = 0; n < places.length; n++) {
    const k = places[n], e = edges[n];
    if (k < b && !keepAll && (e.kind === "order" || strongB)) continue;
    kept.push(n);
    if (k > b) {
      after++;
      if (e.kind !== "resource") allResource = false;
    }
  }
  const full = after === i - b - 1;
  barrier[i] = !full ? 0 : allResource && (b < 0 || strongB) ? 2 : 1;
  return kept;
}

/**
 * Adds resource edges for `jobs` (already in file order) to `add`; returns
 * the index of their resources (each path numbered once: the graph cache
 * numbers its files by it). With `derived`, what the derivation found is
 * recorded there too (see `Derived`).
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
  jobs: readonly Pick<JobSpec, "name" | "reads" | "writes">[],
  add: (e: Edge) => void,
  derived?: Derived,
): ResourceIndex<unknown> {
  const index = new ResourceIndex<true>(), states = new ResourceStates();
  const seen = () => true as const;
  const barrier = new Uint8Array(jobs.length);
  const cands = new Candidates(jobs, index, states);
  // Lists reused from job to job (each job's are done with before the next).
  const writes: number[] = [], reads: number[] = [], kept: number[] = [];
  const paths = derived?.paths;
  for (let i = 0; i < jobs.length; i++) {
    idsOf(jobs[i].writes, index, writes, paths);
    const written = writes.length > 16 ? new Set(writes) : undefined;
    reads.length = 0;
    for (const res of jobs[i].reads) {
      const id = index.idOf(res);
      paths?.add(id);
      if (!(written ? written.has(id) : writes.includes(id))) reads.push(id);
    }
    paths?.endJob();
    for (const n of dropImplied(i, cands.of(i, writes, reads), barrier, kept)) {
      add(cands.edges[n]);
      derived?.edge(cands.why[n], cands.places[n], i);
    }
    for (const w of writes) index.addId(w, seen), states.wrote(w, i);
    for (const r of reads) index.addId(r, seen), states.read(r, i);
  }
  return index;
}
