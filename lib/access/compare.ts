/**
 * The comparison of what jobs did with what they declare (docs/lint.md,
 * "Checking declarations"): undeclared reads and writes, two jobs writing
 * one file with no order between them, a read of another job's file with no
 * order between them.
 *
 * @module
 */
import { statSync } from "node:fs";
import { posix } from "node:path";
import {
  depfileInputs,
  globMatch,
  type Graph,
  isGlob,
  type JobSpec,
  resourceNames,
} from "../graph/mod.ts";
import { formatEdit, narrowGlobs } from "./suggest.ts";
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

/** What one job did to one path, in the order it did it. */
interface PathUse {
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
  /** Globs (relative to `root`) never reported, on top of DEFAULT_IGNORE. */
  ignore?: string[];
  /** Whether a path (absolute) is a directory now (default: stat). */
  isDir?: (path: string) => boolean;
}

/** The uses of each path by one job, relative to the root, outside and ignored paths dropped. */
export function usesOf(accesses: Access[], o: CompareOptions): Map<string, PathUse> {
  const ignore = [...DEFAULT_IGNORE, ...(o.ignore ?? [])];
  const uses = new Map<string, PathUse>();
  for (const a of accesses) {
    const rel = posix.relative(o.root, a.path) || ".";
    if (rel === ".." || rel.startsWith("../") || posix.isAbsolute(rel)) continue;
    if (ignore.some((g) => resourceNames(g, rel) || (isGlob(g) && underGlob(g, rel)))) continue;
    let u = uses.get(rel);
    if (!u) uses.set(rel, u = {});
    fold(u, a);
  }
  return uses;
}

/** Whether `path` lies below something the glob matches (`**\/__pycache__` covers `a/__pycache__/x.pyc`). */
function underGlob(g: string, path: string): boolean {
  for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) {
    if (globMatch(g, path.slice(0, i))) return true;
  }
  return false;
}

/** Whether a directory made or removed holds something the job declares in `writes`. */
function dirCovered(dir: string, writes: string[]): boolean {
  return writes.some((w) => dir === "." || w === dir || w.startsWith(dir + "/"));
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

const named = (patterns: string[], path: string) => patterns.some((p) => resourceNames(p, path));
const isTemp = (u: PathUse) => !!u.wrote && u.last === "delete" && !u.deletedOld;
const changed = (u: PathUse) => (!!u.wrote || !!u.deleted) && !isTemp(u);

/** Everything `compare` works from: the jobs, what each did, the order between them. */
interface Ctx {
  graph: Graph;
  jobs: JobSpec[];
  uses: Map<string, Map<string, PathUse>>;
  order: Order;
  isDir: (rel: string) => boolean;
  /** What a job declares it reads: `reads`, dotenv files, what its depfile lists. */
  readsOf: (job: JobSpec) => string[];
}

/** Whether a job `job` waits for wrote `path` (traced, or declared). */
function writtenBefore(c: Ctx, job: JobSpec, path: string): boolean {
  for (const a of c.order.ancestors(job.name)) {
    const u = c.uses.get(a)?.get(path);
    if ((u && u.wrote) || named(c.graph.byName.get(a)?.writes ?? [], path)) return true;
  }
  return false;
}

/** Reads and writes of one job that its own `reads`/`writes` do not name. */
function ownFindings(c: Ctx, job: JobSpec): Finding[] {
  const out: Finding[] = [];
  const reads = c.readsOf(job);
  for (const [path, u] of c.uses.get(job.name) ?? []) {
    const declared = named(job.writes, path) || path === job.depfile;
    if (changed(u) && !declared && !(u.dir && dirCovered(path, job.writes))) {
      const access = u.wrote ? "write" : "delete";
      out.push({ job: job.name, path, access, problem: "undeclared-write", suggest: "" });
    }
    if (
      u.read && !named(reads, path) && !named(job.writes, path) &&
      !writtenBefore(c, job, path) && !c.isDir(path)
    ) {
      out.push({ job: job.name, path, access: u.read, problem: "undeclared-read", suggest: "" });
    }
  }
  return out;
}

/** The jobs that changed each path, in file order. */
function writersOf(c: Ctx): Map<string, JobSpec[]> {
  const writers = new Map<string, JobSpec[]>();
  for (const j of c.jobs) {
    for (const [path, u] of c.uses.get(j.name) ?? []) {
      if (!changed(u)) continue;
      const list = writers.get(path);
      if (list) list.push(j);
      else writers.set(path, [j]);
    }
  }
  return writers;
}

/** Races (two writers, no order) and reads of another job's file with no order between them. */
function crossFindings(c: Ctx): Finding[] {
  const out: Finding[] = [];
  const writers = writersOf(c);
  for (const [path, list] of writers) {
    for (let i = 0; i < list.length; i++) {
      for (let k = i + 1; k < list.length; k++) {
        const [a, b] = [list[i], list[k]];
        if (!c.order.unordered(a.name, b.name)) continue;
        const access = c.uses.get(b.name)!.get(path)!.wrote ? "write" : "delete";
        const fix = named(a.writes, path) && !named(b.writes, path)
          ? formatEdit("writes", [path])
          : formatEdit("needs", [a.name]);
        out.push({ job: b.name, path, access, problem: "race", other: a.name, suggest: fix });
      }
    }
  }
  for (const r of c.jobs) {
    for (const [path, u] of c.uses.get(r.name) ?? []) {
      if (!u.read && !u.probe) continue;
      for (const w of writers.get(path) ?? []) {
        if (!c.order.unordered(r.name, w.name)) continue;
        const fix = named(w.writes, path) && w.index < r.index
          ? formatEdit("reads", [path])
          : formatEdit("needs", [w.name]);
        const access = u.read ?? "read";
        out.push({
          job: r.name,
          path,
          access,
          problem: "unordered-read",
          other: w.name,
          suggest: fix,
        });
      }
    }
  }
  return out;
}

/** Fills in the `suggest` of undeclared reads and writes: per job, the narrowest globs. */
function suggest(findings: Finding[]): void {
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
    const globs = narrowGlobs(list.map((f) => f.path));
    for (const f of list) f.suggest = formatEdit(field, [globs.get(f.path)!]);
  }
}

/**
 * Every difference between what the `jobs` did (`traces`: each job's
 * accesses, in order) and what they declare, in file order.
 *
 * @example
 * ```ts
 * import { compare } from "./compare.ts";
 * import { parseJobsFile } from "../graph/mod.ts";
 * const g = parseJobsFile("jobs:\n  cc: { run: gcc -c a.c, reads: [a.c], writes: [a.o] }\n", "/p/jobs.yaml");
 * const traces = new Map([["cc", [{ path: "/p/a.h", kind: "read" as const, pid: 1, ok: true }]]]);
 * compare(g, g.jobs, traces, { root: "/p", isDir: () => false });
 * // [{ job: "cc", path: "a.h", access: "read", problem: "undeclared-read", suggest: "reads: [a.h]" }]
 * ```
 */
export function compare(
  graph: Graph,
  jobs: JobSpec[],
  traces: Map<string, Access[]>,
  o: CompareOptions,
): Finding[] {
  const isDirAbs = o.isDir ?? ((p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  });
  const uses = new Map<string, Map<string, PathUse>>();
  for (const j of jobs) uses.set(j.name, usesOf(traces.get(j.name) ?? [], o));
  const c: Ctx = {
    graph,
    jobs,
    uses,
    order: new Order(graph),
    isDir: (r) => isDirAbs(posix.join(o.root, r)),
    readsOf: (j) => [
      ...j.reads,
      ...j.envFiles ?? [],
      ...(j.depfile ? depfileInputs(o.root, j.depfile, j.cwd) ?? [] : []),
    ],
  };
  const findings = [...jobs.flatMap((j) => ownFindings(c, j)), ...crossFindings(c)];
  suggest(findings);
  const rank = new Map(jobs.map((j, i) => [j.name, i]));
  return findings.sort((a, b) =>
    (rank.get(a.job)! - rank.get(b.job)!) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  );
}
