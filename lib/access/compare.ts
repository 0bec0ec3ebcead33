/**
 * The comparison of what jobs did with what they declare (CONTRACT.md,
 * "Checking declarations"): undeclared reads and writes, two jobs writing
 * one file with no order between them, a read of another job's file with no
 * order between them.
 *
 * @module
 */
import { readdirSync, realpathSync, statSync } from "node:fs";
import { posix, resolve } from "node:path";
import {
  depfileInputs,
  escapeGlob,
  globMatch,
  type Graph,
  isGlob,
  type JobSpec,
  namedByAny,
  namespaceOf,
  resourceNames,
} from "../graph/mod.ts";
import { expandBraces } from "../graph/glob.ts";
import {
  formatEdit,
  globFits,
  type GlobScope,
  itemForm,
  literalGlob,
  narrowGlobs,
  yamlItem,
} from "./suggest.ts";
import { decodeBytes } from "./strace_parse.ts";
import type { Access, AccessKind, Finding } from "./types.ts";

/**
 * Paths inside the project that are never reported, whatever the jobs file
 * says: jx's own state, version control, tool caches.
 */
export const DEFAULT_IGNORE = [
  ".jx",
  ".git",
  ".hg",
  ".svn",
  "node_modules/.cache",
  "**/__pycache__",
];

/** What one job did to one path, in the order it did it (`usesOf`). */
export interface PathUse {
  /** Read (or executed) before the job wrote it itself. */
  read?: AccessKind;
  /** A read that failed (an absent file probed). */
  probe?: boolean;
  wrote?: boolean;
  deleted?: boolean;
  /** Deleted a file the job had not made. */
  deletedOld?: boolean;
  last?: AccessKind;
  dir?: boolean;
  /**
   * The new name of a rename from outside the project, an ignored path, or a path not known
   * as a folder the job made: if a folder, what it holds is unknown to the trace.
   */
  foreign?: boolean;
  /** Only reached through a link the job named (`Access.alias`): for the pair checks only. */
  aliasOnly?: boolean;
}

/** Folds one access into the use of its path. */
function fold(u: PathUse, a: Access): void {
  if (a.dir) u.dir = true;
  switch (a.kind) {
    case "read":
    case "exec":
      if (a.dir && a.kind === "read") return;
      if (!a.ok) u.probe = !u.wrote || u.probe;
      else if (!u.wrote && !u.deleted && u.read !== "exec") u.read = a.kind;
      return;
    case "write":
      u.wrote = true;
      u.last = "write";
      return;
    case "delete":
      if (!u.wrote) u.deletedOld = true;
      u.deleted = true;
      u.last = "delete";
      return;
    default: {
      const _assertNever: never = a.kind;
      return _assertNever;
    }
  }
}

/** Options of `compare`. */
export interface CompareOptions {
  /** The jobs file's folder: paths outside it are not reported. */
  root: string;
  /**
   * The same folder with no symbolic link in it (default: its real path),
   * as the tracer names it: a path below it is taken as the same path below
   * `root`.
   */
  realRoot?: string;
  /** Globs (relative to `root`) never reported, on top of DEFAULT_IGNORE. */
  ignore?: string[];
  /** Whether a path (absolute) is a directory now (default: stat). */
  isDir?: (path: string) => boolean;
  /** The names in a folder (absolute) now, none when it cannot be read (default: readdir). */
  listDir?: (path: string) => string[];
}

/** The uses of each path by one job, relative to the root, outside and ignored paths dropped. */
export function usesOf(accesses: Access[], o: CompareOptions): Map<string, PathUse> {
  const ignore = [...DEFAULT_IGNORE, ...(o.ignore ?? [])];
  const uses = new Uses();
  const realRoot = o.realRoot ?? realPath(o.root) ?? o.root;
  const relOf = (path: string) => inside(o.root, path) ?? inside(realRoot, path);
  const ignored = (rel: string) =>
    ignore.some((g) => resourceNames(g, rel) || (isGlob(g) && underGlob(g, rel)));
  for (const a of accesses) {
    const rel = relOf(a.path);
    const kept = rel !== undefined && !ignored(rel);
    let u: PathUse | undefined;
    if (kept) {
      u = uses.map.get(rel);
      if (!u) u = uses.add(rel, a.alias ? { aliasOnly: true } : {});
      else if (!a.alias) delete u.aliasOnly;
      fold(u, a);
    }
    if (a.from === undefined) continue;
    const from = relOf(a.from);
    if (u && (from === undefined || ignored(from) || !uses.map.get(from)?.dir)) u.foreign = true;
    if (from !== undefined && from !== ".") {
      uses.moveBelow(from, kept ? rel : undefined, u, ignored);
    }
  }
  return uses.map;
}

/** The uses of one job's paths, and the paths below each folder (for a folder renamed). */
class Uses {
  readonly map = new Map<string, PathUse>();
  /** By folder: the paths of `map` below it, at any depth. */
  private below = new Map<string, string[]>();

  /** Adds the use of a path not there yet. */
  add(rel: string, u: PathUse): PathUse {
    this.map.set(rel, u);
    for (let i = rel.indexOf("/"); i > 0; i = rel.indexOf("/", i + 1)) {
      const up = rel.slice(0, i), list = this.below.get(up);
      if (list) list.push(rel);
      else this.below.set(up, [rel]);
    }
    return u;
  }

  /**
   * Folder `from` was renamed to `to` (whose use is `toUse`; none when it
   * is outside the project or ignored): what the job made below it and had
   * not removed moved with it (renamed away from its old name, written at
   * its new one), and `to` is a folder when `from` was one. A file renamed
   * (nothing below it) costs one lookup.
   */
  moveBelow(
    from: string,
    to: string | undefined,
    toUse: PathUse | undefined,
    ignored: (rel: string) => boolean,
  ): void {
    if (toUse && this.map.get(from)?.dir) toUse.dir = true;
    for (const path of [...this.below.get(from) ?? []]) {
      const u = this.map.get(path)!;
      if (!u.wrote || u.last === "delete") continue;
      fold(u, { path, kind: "delete", pid: 0, ok: true });
      if (to === undefined || !toUse) continue;
      toUse.dir = true;
      const moved = to + path.slice(from.length);
      if (ignored(moved)) continue;
      const m = this.map.get(moved) ?? this.add(moved, {});
      fold(m, { path: moved, kind: "write", pid: 0, ok: true, dir: u.dir });
    }
  }
}

/** `path` relative to `root`, or undefined when it is not inside it. */
function inside(root: string, path: string): string | undefined {
  const rel = posix.relative(root, path) || ".";
  return rel === ".." || rel.startsWith("../") || posix.isAbsolute(rel) ? undefined : rel;
}

/** The names in folder `path` as the trace has them (bytes that are not UTF-8 kept), none when unreadable. */
function namesIn(path: string): string[] {
  try {
    return readdirSync(path, { encoding: "buffer" }).map((b) => decodeBytes(b));
  } catch {
    return [];
  }
}

/** The real path of `path` (no symbolic link in it), or undefined when it does not exist. */
function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * What a declared plain path names once links are followed, relative to
 * the real root (for a path not made yet, its folder's real path), or
 * undefined when that is itself or outside the project. `literal`: the path
 * is one whatever characters it holds (a dotenv file, a depfile's input),
 * never a glob nor an `@name`.
 */
function realAlias(
  root: string,
  realRoot: string,
  declared: string,
  literal = false,
): string | undefined {
  if (declared === "." || (!literal && (declared[0] === "@" || isGlob(declared)))) {
    return undefined;
  }
  const abs = posix.join(root, declared);
  const parent = realPath(posix.dirname(abs));
  const real = realPath(abs) ?? (parent && posix.join(parent, posix.basename(abs)));
  const rel = real === undefined ? undefined : inside(realRoot, real);
  return rel === declared ? undefined : rel;
}

/** Whether `path` lies below something the glob matches (`**\/__pycache__` covers `a/__pycache__/x.pyc`). */
function underGlob(g: string, path: string): boolean {
  for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) {
    if (globMatch(g, path.slice(0, i))) return true;
  }
  return false;
}

/**
 * Whether a directory made or removed holds something the job declares in
 * `writes`; `globsOnly`: through a glob only (a folder whose contents are
 * unknown: one path declared in it does not cover the rest).
 */
function dirCovered(dir: string, writes: string[], globsOnly = false): boolean {
  return writes.some((w) =>
    dir === "." || w === dir || (!globsOnly && w.startsWith(dir + "/")) ||
    (isGlob(w) && onTheWay(w, dir))
  );
}

/**
 * Whether folder `dir` may hold a path the glob matches (`out/sub` on the
 * way to `out/**\/*.o`): each of its segments matched by the glob's, up to
 * a `**`, before the glob's last segment (which names the files).
 */
function onTheWay(glob: string, dir: string): boolean {
  const d = dir.split("/");
  return expandBraces(glob).some((alt) => {
    const g = alt.split("/");
    for (let i = 0; i < d.length; i++) {
      if (g[i] === "**") return true;
      if (i >= g.length - 1 || !globMatch(g[i], d[i])) return false;
    }
    return true;
  });
}

/** Jobs each job waits for, directly or not (through the graph's edges), computed once per job. */
class Order {
  private memo = new Map<string, Set<string>>();
  constructor(private graph: Graph) {}

  /** Whether `a` always ends before `b` starts. */
  before(a: string, b: string): boolean {
    return this.ancestors(b).has(a);
  }

  /** Whether neither job waits for the other. */
  unordered(a: string, b: string): boolean {
    return a !== b && !this.before(a, b) && !this.before(b, a);
  }

  ancestors(job: string): Set<string> {
    let set = this.memo.get(job);
    if (set) return set;
    set = new Set();
    const stack = [job];
    while (stack.length) {
      for (const e of this.graph.depsOf(stack.pop()!)) {
        if (!set.has(e.from)) {
          set.add(e.from);
          stack.push(e.from);
        }
      }
    }
    this.memo.set(job, set);
    return set;
  }
}

/** Whether any of `patterns` names `path`: one matcher per list (`namedByAny`), made once. */
const matchers = new WeakMap<string[], (path: string) => boolean>();
const named = (patterns: string[], path: string) => {
  let m = matchers.get(patterns);
  if (!m) matchers.set(patterns, m = namedByAny(patterns));
  return m(path);
};
const isTemp = (u: PathUse) => !!u.wrote && u.last === "delete" && !u.deletedOld;
/** Whether the job left the path changed: written or deleted, and not a temporary of its own. */
export const changed = (u: PathUse): boolean => (!!u.wrote || !!u.deleted) && !isTemp(u);

/** Everything `compare` works from: the jobs, what each did, the order between them. */
interface Ctx {
  graph: Graph;
  uses: Map<string, Map<string, PathUse>>;
  order: Order;
  isDir: (rel: string) => boolean;
  /** The paths (relative to the root) in a folder (relative to the root) now. */
  list: (rel: string) => string[];
  /** What a job declares it reads: `reads`, dotenv files, what its depfile lists (and `realAlias`es). */
  readsOf: (job: JobSpec) => string[];
  /** What a job declares it writes (and the `realAlias`es of those paths). */
  writesOf: (job: JobSpec) => string[];
  /** A path (relative to the root) as the job's own jobs file names it: relative to its folder. */
  ownPath: (job: JobSpec, path: string) => string;
  /**
   * The `needs` item that, written in `job`'s own jobs file, names `other`
   * (an included file's names are tried in its namespace first); undefined
   * when none does (`other` is outside it and the namespace has its name).
   */
  needName: (job: JobSpec, other: JobSpec) => string | undefined;
  /** A job's spec by name (of the graph, or made during the run). */
  spec: (name: string) => JobSpec | undefined;
}

/** Whether a job `job` waits for wrote `path` (traced, or declared). */
function writtenBefore(c: Ctx, job: JobSpec, path: string): boolean {
  for (const a of c.order.ancestors(job.name)) {
    const u = c.uses.get(a)?.get(path);
    const spec = c.spec(a);
    if ((u && u.wrote) || (spec && named(c.writesOf(spec), path))) return true;
  }
  return false;
}

/** Reads and writes of one job that its own `reads`/`writes` do not name. */
function ownFindings(c: Ctx, job: JobSpec): Finding[] {
  const out: Finding[] = [];
  const reads = c.readsOf(job), writes = c.writesOf(job);
  for (const [path, u] of c.uses.get(job.name) ?? []) {
    if (u.aliasOnly) continue; // the job named the link: checked as that name
    const declared = named(writes, path) || path === job.depfile;
    // A folder moved in whole from elsewhere (`u.foreign`): its contents are unknown.
    const covered = u.dir
      ? dirCovered(path, writes)
      : !!u.foreign && dirCovered(path, writes, true);
    if (changed(u) && !declared && !covered) {
      const access = u.wrote ? "write" : "delete";
      out.push({ job: job.name, path, access, problem: "undeclared-write", suggest: "" });
    }
    // A declared output the job read before changing it (`sed -i`, `ar r`, a formatter) is an
    // input too: its old contents made the new ones, and a cache key without it restores
    // stale contents over an edited file. One read back after the job wrote it is not (`fold`).
    if (
      u.read && !named(reads, path) && !(named(writes, path) && !changed(u)) &&
      !writtenBefore(c, job, path) && !c.isDir(path)
    ) {
      out.push({ job: job.name, path, access: u.read, problem: "undeclared-read", suggest: "" });
    }
  }
  return out;
}

/** A race of `a` and `b` on `path`, reported on the later one in file order (undefined: none). */
function race(c: Ctx, x: JobSpec, y: JobSpec, path: string): Finding | undefined {
  const [a, b] = x.index < y.index ? [x, y] : [y, x];
  const ua = c.uses.get(a.name)?.get(path), ub = c.uses.get(b.name)?.get(path);
  if (!ua || !ub || !changed(ua) || !changed(ub)) return undefined;
  const access = ub.wrote ? "write" : "delete";
  const fix = named(c.writesOf(a), path) && !named(c.writesOf(b), path)
    ? formatEdit("writes", [literalGlob(c.ownPath(b, path))])
    : needsEdit(c, b, a);
  return { job: b.name, path, access, problem: "race", other: a.name, suggest: fix };
}

/**
 * `needs: [other]` as written in `job`'s file; empty when no name there
 * reaches `other`. An item of another `foreach` is named by its group
 * (`needs: [cc]`, every item): its own name (`cc[src/a.c]`) fixes one item,
 * and each other item, or one the glob matches later, would be a finding.
 */
function needsEdit(c: Ctx, job: JobSpec, other: JobSpec): string {
  const group = other.group !== undefined && other.group !== job.group ? other.group : undefined;
  const name = c.needName(job, group === undefined ? other : { ...other, name: group });
  return name === undefined ? "" : formatEdit("needs", [name]);
}

/** `r` read (or probed) `path`, which `w` changed (undefined: it did not). */
function unorderedRead(c: Ctx, r: JobSpec, w: JobSpec, path: string): Finding | undefined {
  const ur = c.uses.get(r.name)?.get(path), uw = c.uses.get(w.name)?.get(path);
  if (!ur || !uw || (!ur.read && !ur.probe) || !changed(uw)) return undefined;
  const fix = named(c.writesOf(w), path) && w.index < r.index
    ? formatEdit("reads", [literalGlob(c.ownPath(r, path))])
    : needsEdit(c, r, w);
  const access = ur.read ?? "read";
  return { job: r.name, path, access, problem: "unordered-read", other: w.name, suggest: fix };
}

/**
 * Races (two writers, no order) and reads of the other job's file with no
 * order between them, for one pair of jobs: what they did, not when.
 */
function pairFindings(c: Ctx, x: JobSpec, y: JobSpec): Finding[] {
  if (!c.order.unordered(x.name, y.name)) return [];
  const ux = c.uses.get(x.name), uy = c.uses.get(y.name);
  if (!ux || !uy) return [];
  const [small, other] = ux.size <= uy.size ? [ux, uy] : [uy, ux];
  const out: Finding[] = [];
  for (const path of small.keys()) {
    if (!other.has(path)) continue;
    for (
      const f of [race(c, x, y, path), unorderedRead(c, x, y, path), unorderedRead(c, y, x, path)]
    ) if (f) out.push(f);
  }
  return out;
}

/**
 * Fills in the `suggest` of undeclared reads and writes: per job, the
 * narrowest globs, relative to the folder of the file the job is written in,
 * where they fit (`globFits`), else the paths.
 */
function suggest(c: Ctx, findings: Finding[]): void {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    if (f.problem !== "undeclared-read" && f.problem !== "undeclared-write") continue;
    const key = `${f.job}\0${f.problem}`;
    const g = groups.get(key);
    if (g) g.push(f);
    else groups.set(key, [f]);
  }
  for (const list of groups.values()) {
    const field = list[0].problem === "undeclared-read" ? "reads" : "writes";
    const spec = c.spec(list[0].job);
    const own = (f: Finding) => spec ? c.ownPath(spec, f.path) : f.path;
    // A `foreach` item's own file, or one named after it, by its variables (one edit for
    // every item, which share one entry: `out/${F.stem}.o`), not by its path.
    const item = spec?.item;
    const formOf = (f: Finding) => item && itemForm(own(f), item);
    const rest = list.filter((f) => !formOf(f));
    for (const f of list) {
      const form = formOf(f);
      if (form) f.suggest = `${field}: [${yamlItem(form)}]`;
    }
    const rootOf = new Map(rest.map((f) => [own(f), f.path]));
    const globs = narrowGlobs(rest.map(own), spec && fits(c, spec, field, rootOf));
    for (const f of rest) f.suggest = formatEdit(field, globs.get(own(f))!);
  }
}

/**
 * Whether a glob over paths of one folder, both as the job's own jobs file
 * names them (`rootOf`: each such path relative to the root), fits in the
 * job's `field` (`globFits`, on the same glob relative to the root).
 */
function fits(
  c: Ctx,
  spec: JobSpec,
  field: "reads" | "writes",
  rootOf: Map<string, string>,
): (glob: string, paths: string[]) => boolean {
  return (glob, paths) => {
    const found = paths.map((p) => rootOf.get(p)!);
    const dir = posix.dirname(found[0]);
    const last = glob.slice(glob.lastIndexOf("/") + 1);
    const rootGlob = dir === "." ? last : `${literalGlob(dir)}/${last}`;
    return globFits(rootGlob, scopeOf(c, spec, field, found, dir));
  };
}

/**
 * What a glob over `found` (paths of folder `dir`, relative to the root)
 * must leave alone. In `writes`: what the job read and did not change, what
 * it and every other job declare reading, what other jobs declare writing,
 * the folder's files the job did not write (a writes glob makes them
 * outputs: `jx clean` removes them, edges order the job with their readers).
 * In `reads`: what the job changed or declares writing, what other jobs
 * declare writing (a reads glob over them orders the job after or before
 * them, even into a cycle); files on disk are not checked (an extra input
 * costs a rerun, never an order).
 */
function scopeOf(
  c: Ctx,
  job: JobSpec,
  field: "reads" | "writes",
  found: string[],
  dir: string,
): GlobScope {
  const uses = c.uses.get(job.name) ?? new Map<string, PathUse>();
  const writes = field === "writes";
  const untouchable: string[] = [];
  for (const [p, u] of uses) {
    if (writes ? (u.read || u.probe) && !changed(u) : changed(u)) untouchable.push(p);
  }
  const declared = writes ? [...c.readsOf(job)] : [...c.writesOf(job)];
  for (const o of otherJobs(c, job)) {
    if (writes) declared.push(...o.reads);
    declared.push(...o.writes);
  }
  if (!writes) return { found, untouchable, declared };
  const wrote = (p: string) => !!uses.get(p)?.wrote;
  return { found, untouchable, declared, onDisk: c.list(dir), wrote };
}

/** Every job but `job`: the graph's, and those made during the run that were recorded. */
function otherJobs(c: Ctx, job: JobSpec): JobSpec[] {
  const out = c.graph.jobs.filter((j) => j.name !== job.name);
  for (const name of c.uses.keys()) {
    const made = c.graph.byName.has(name) || name === job.name ? undefined : c.spec(name);
    if (made) out.push(made);
  }
  return out;
}

/** What `Checker` needs: the comparison's options, and the job specs of jobs made during a run. */
export interface CheckerOptions extends CompareOptions {
  /** A job's spec by name when the graph does not hold it (a job made during the run). */
  spec?: (name: string) => JobSpec | undefined;
}

/**
 * The comparison, one job at a time, as jobs end (in any order the graph
 * allows: several at once under `-j`). At a job's end: its own undeclared
 * reads and writes (the jobs it waits for have ended, so their writes are
 * known), and races and unordered reads between it and every job that
 * ended before. Each pair of jobs is compared once, when the later of the
 * two ends; what is reported depends only on what the jobs did and on the
 * graph's order, never on which one ran first.
 *
 * @example
 * ```ts
 * import { Checker } from "./compare.ts";
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  cc: { run: cat a.h, reads: [a.c] }\n", "/p/jobs.yaml");
 * const checker = new Checker(g, { root: "/p", isDir: () => false });
 * const found = checker.ended("cc", [{ path: "/p/a.h", kind: "read", pid: 1, ok: true }]);
 * assertEquals(found.map((f) => f.suggest), ["reads: [a.h]"]);
 * ```
 */
export class Checker {
  private c: Ctx;
  private raw = new Map<string, Access[]>();
  private seen = new Set<string>();
  /** The recorded jobs that used each path: a job is compared only with jobs sharing a path. */
  private byPath = new Map<string, Set<string>>();
  /** The `realAlias`es of each job's declared reads (`r` + name) and writes (`w` + name). */
  private aliases = new Map<string, string[]>();

  constructor(graph: Graph, private o: CheckerOptions) {
    const isDirAbs = o.isDir ?? ((p: string) => {
      try {
        return statSync(p).isDirectory();
      } catch {
        return false;
      }
    });
    const listAbs = o.listDir ?? namesIn;
    const realRoot = o.realRoot ?? realPath(o.root) ?? o.root;
    this.o = { ...o, realRoot };
    const rootDir = graph.baseDir;
    this.c = {
      graph,
      uses: new Map(),
      order: new Order(graph),
      isDir: (r) => isDirAbs(posix.join(o.root, r)),
      list: (r) => {
        const names = listAbs(posix.join(o.root, r));
        return r === "." ? names : names.map((n) => `${r}/${n}`);
      },
      readsOf: (j) =>
        this.withAliases(`r${j.name}`, j.reads, [
          ...j.envFiles ?? [],
          ...(j.depfile ? depfileInputs(o.root, j.depfile, j.cwd) ?? [] : []),
        ]),
      writesOf: (j) => this.withAliases(`w${j.name}`, j.writes),
      ownPath: (j, path) => {
        const prefix = j.source ? posix.relative(rootDir, posix.dirname(resolve(j.source))) : "";
        return prefix ? posix.relative(prefix, path) || "." : path;
      },
      needName: (j, other) => {
        const file = j.source && resolve(j.source);
        const ns = file && file !== resolve(graph.file) ? namespaceOf(rootDir, file) : "";
        if (!ns) return other.name;
        if (other.name.startsWith(`${ns}:`)) return other.name.slice(ns.length + 1);
        return graph.byName.has(`${ns}:${other.name}`) ? undefined : other.name;
      },
      spec: (name) => this.spec(name),
    };
  }

  /**
   * `patterns`, the paths `literal` holds (dotenv files, a depfile's inputs: paths whatever
   * characters they hold), and what their plain paths name through links (`realAlias`, looked up
   * once per key), as patterns: a path as one that names exactly itself (`escapeGlob`), never a
   * glob (`x[12].h` does not declare `x1.h`).
   */
  private withAliases(key: string, patterns: string[], literal: string[] = []): string[] {
    let aliases = this.aliases.get(key);
    if (!aliases) {
      const { root, realRoot } = this.o;
      aliases = [
        ...patterns.map((p) => realAlias(root, realRoot!, p)),
        ...literal.map((p) => realAlias(root, realRoot!, p, true)),
      ].filter((p) => p !== undefined).map(escapeGlob);
      this.aliases.set(key, aliases);
    }
    const list = literal.length ? [...patterns, ...literal.map(escapeGlob)] : patterns;
    return aliases.length ? [...list, ...aliases] : list;
  }

  /** The spec of a job of the graph or of the run. */
  private spec(name: string): JobSpec | undefined {
    return this.c.graph.byName.get(name) ?? this.o.spec?.(name);
  }

  /** Keeps what `job` did (added to what an earlier attempt did), without comparing. */
  record(job: string, accesses: Access[]): void {
    const all = [...(this.raw.get(job) ?? []), ...accesses];
    this.raw.set(job, all);
    const uses = usesOf(all, this.o);
    this.c.uses.set(job, uses);
    for (const path of uses.keys()) {
      const jobs = this.byPath.get(path);
      if (jobs) jobs.add(job);
      else this.byPath.set(path, new Set([job]));
    }
  }

  /** The recorded jobs that used a path `job` used. */
  private sharing(job: string): Set<string> {
    const out = new Set<string>();
    for (const path of this.c.uses.get(job)?.keys() ?? []) {
      for (const j of this.byPath.get(path) ?? []) out.add(j);
    }
    return out;
  }

  /**
   * The findings of `job` against its declarations and against `others`
   * (default: every job recorded so far), not reported before.
   */
  findingsOf(job: string, others?: Iterable<string>): Finding[] {
    const spec = this.spec(job);
    if (!spec) return [];
    const found = ownFindings(this.c, spec);
    const sharing = this.sharing(job);
    const candidates = others ? [...others].filter((o) => sharing.has(o)) : sharing;
    for (const name of candidates) {
      const o = name === job ? undefined : this.spec(name);
      if (o) found.push(...pairFindings(this.c, spec, o));
    }
    suggest(this.c, found);
    return found.filter((f) => {
      const key = `${f.job}\0${f.path}\0${f.problem}\0${f.other ?? ""}`;
      if (this.seen.has(key)) return false;
      this.seen.add(key);
      return true;
    });
  }

  /** A job ended after doing `accesses`: `record`, then its new findings. */
  ended(job: string, accesses: Access[]): Finding[] {
    this.record(job, accesses);
    return this.findingsOf(job);
  }
}

/** Sorts findings in file order of their jobs, then by path. */
export function inFileOrder(graph: Graph, findings: Finding[]): Finding[] {
  const rank = (name: string) => graph.byName.get(name)?.index ?? Number.MAX_SAFE_INTEGER;
  return findings.sort((a, b) =>
    (rank(a.job) - rank(b.job)) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  );
}

/**
 * Every difference between what the `jobs` did (`traces`: each job's
 * accesses, in order) and what they declare, in file order.
 *
 * @example
 * ```ts
 * import { compare } from "./compare.ts";
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  cc: { run: gcc -c a.c, reads: [a.c], writes: [a.o] }\n", "/p/jobs.yaml");
 * const traces = new Map([["cc", [{ path: "/p/a.h", kind: "read" as const, pid: 1, ok: true }]]]);
 * assertEquals(compare(g, g.jobs, traces, { root: "/p", isDir: () => false }), [
 *   { job: "cc", path: "a.h", access: "read", problem: "undeclared-read", suggest: "reads: [a.h]" },
 * ]);
 * ```
 */
export function compare(
  graph: Graph,
  jobs: JobSpec[],
  traces: Map<string, Access[]>,
  o: CompareOptions,
): Finding[] {
  const checker = new Checker(graph, o);
  for (const j of jobs) checker.record(j.name, traces.get(j.name) ?? []);
  const found: Finding[] = [];
  // Each pair once: a job against the jobs before it in the list.
  jobs.forEach((j, i) =>
    found.push(...checker.findingsOf(j.name, jobs.slice(0, i).map((x) => x.name)))
  );
  return inFileOrder(graph, found);
}
