/**
 * The job graph: jobs and modules, their edges, and queries over them.
 *
 * @module
 */
import { didYouMean, JxInputError } from "./errors.ts";
import { dirname, join } from "../runtime/path.ts";
import { namesDescriptor, projectDir } from "../runtime/fs.ts";
import type { Edge, FileSettings, JobSpec } from "./types.ts";

/** The edges of a job that has none: one list for all of them (a run of many jobs has many). */
// Cast: frozen, so that a push into the shared empty list throws, yet typed as the lists that
// `dependentsOf`/`depsOf` return (readonly Edge[] would ripple into every caller).
const NO_EDGES: Edge[] = Object.freeze([]) as unknown as Edge[];

/** Appends `e` to the list of `key`, starting one when there is none. */
function append(map: Map<string, Edge[]>, key: string, e: Edge): void {
  const list = map.get(key);
  if (list) list.push(e);
  else map.set(key, [e]);
}

/**
 * Whether an edge from `e.from` is among the first `n` of `into`, the edges into `e.to` so far
 * (one per ordered pair); `many` keeps where a long list's edges come from. With `n` short of
 * the list (edges known to be new among the rest), `e` is not added to `many`.
 */
function hasEdge(into: Edge[], e: Edge, many: Map<string, Set<string>>, n = into.length): boolean {
  if (n < 16) {
    for (let k = 0; k < n; k++) if (into[k].from === e.from) return true;
    return false;
  }
  let from = many.get(e.to);
  if (!from) many.set(e.to, from = new Set(into.slice(0, n).map((d) => d.from)));
  if (from.has(e.from)) return true;
  if (n === into.length) from.add(e.from);
  return false;
}

/**
 * A validated job graph. Build one with `loadJobsFile`/`parseJobsFile` (from
 * code: a jobs file built as an object and `JSON.stringify`d, docs/library.md).
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "./load.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  a: { run: echo a }\n  b: { run: echo b, needs: [a] }\n", "jobs.yaml");
 * assertEquals(g.depsOf("b"), [{ from: "a", to: "b", kind: "needs", reason: "needs" }]);
 * ```
 */
export class Graph {
  /** Jobs and modules in file order. */
  readonly jobs: JobSpec[];
  /** Pool capacities. */
  readonly pools: Map<string, number>;
  /** Every edge, one per ordered pair (the first reason found; others in `reasons`). */
  readonly edges: Edge[];
  /** The jobs file this came from, for messages. */
  readonly file: string;
  private base?: string;
  /**
   * The project folder: relative `cwd`s and resources are under it, `.jx/` is in it (the
   * loader's `baseDir`; by default the jobs file's folder, `projectDir`).
   */
  get baseDir(): string {
    return this.base ??= projectDir(this.file);
  }
  set baseDir(dir: string) {
    this.base = dir;
  }
  /** Jobs and modules by name. */
  readonly byName: Map<string, JobSpec> = new Map();
  /** The file's variables and top-level `cache:` (set by the loader). */
  settings: FileSettings = {};
  /** `foreach` groups whose glob matched nothing: names of no job, still no unknown names. */
  emptyGroups?: Set<string>;
  /** The key of the graph cache (graph/cache.ts) it was read from or written to, if any. */
  cacheKey?: string;
  /** Whether it was read from the graph cache (no YAML parsed: few temporaries left). */
  fromCache?: boolean;
  /**
   * Whether loading it read more than the jobs file (dotenv or included
   * files, a `foreach` glob's matches): never cached (set by the loader).
   */
  moreFiles?: boolean;
  /**
   * The variables its dotenv files set (a job gets their value only when the
   * environment has none: the no-op record notes which are set), and whether
   * one of those files lies outside the project (set by the loader).
   */
  dotenv?: { names: string[]; outside: boolean };
  /**
   * The content hash of each dotenv file in the project as the load read it (set by the
   * loader), by path as jobs name it: a job runs with those values, whatever the file holds
   * when it starts.
   */
  dotenvLoaded?: ReadonlyMap<string, string>;
  /** The dotenv files outside the project it read, as absolute paths (set by the loader). */
  readOutside?: string[];
  /**
   * The `foreach` and `include` globs expanded when it was loaded, relative to the jobs file's
   * folder (set by the loader): a file that starts or stops matching one makes another graph.
   */
  graphGlobs?: string[];
  /**
   * Each `foreach` glob's matches when it was loaded (sorted), by glob as in `graphGlobs` (set by
   * the loader): a no-op record stamps the folders the glob walks and vouches for the graph only
   * while it matches these.
   */
  globMatches?: Map<string, string[]>;
  /** The files it includes, at any depth, as messages show them (set by the loader). */
  included?: string[];
  /** Edges by the job they lead to and by the job they come from; a job without any has no entry. */
  private deps = new Map<string, Edge[]>();
  private dependents = new Map<string, Edge[]>();

  /**
   * A graph of `jobs` (file order) with pool capacities and edges (duplicates dropped);
   * `byName`, when the caller has it, is `jobs` by name (taken as it is, not copied). The edges
   * from `unique` on (default: none) are known to be one per ordered pair among themselves (the
   * loader's resource edges, a cached graph's edges): each is checked only against the edges
   * before `unique` (a folder read by 2,000 jobs and written by 2,000 is 4 million edges).
   * With `lists` (the graph cache's reader), `edges` are one per pair and `lists` holds them by
   * the job they lead to (`into`) and come from (`out`), each list in their order: all taken as
   * they are.
   */
  constructor(
    file: string,
    jobs: JobSpec[],
    pools: Map<string, number>,
    edges: Edge[],
    byName?: Map<string, JobSpec>,
    unique = edges.length,
    lists?: { into: Map<string, Edge[]>; out: Map<string, Edge[]> },
  ) {
    this.file = file;
    this.jobs = jobs;
    this.pools = pools;
    if (byName) this.byName = byName;
    else for (const j of jobs) this.byName.set(j.name, j);
    if (lists) {
      this.edges = edges, this.deps = lists.into, this.dependents = lists.out;
      return;
    }
    this.edges = [];
    /** For a job with many edges in, where they come from (a short list is scanned instead). */
    const many = new Map<string, Set<string>>();
    for (let i = 0; i < unique; i++) {
      const e = edges[i], into = this.deps.get(e.to);
      if (!into || !hasEdge(into, e, many)) this.add(e, into);
    }
    if (unique === edges.length) return;
    // Each job's edges in so far (from before `unique`): how many, and the sets of the longest.
    const before = new Map<string, number>();
    for (const [to, into] of this.deps) before.set(to, into.length);
    // (A job's edges in come one after another, as the loader makes them: one lookup for them.)
    let to: string | undefined, into: Edge[] | undefined, n: number | undefined;
    for (let i = unique; i < edges.length; i++) {
      const e = edges[i];
      if (e.to !== to) to = e.to, into = this.deps.get(to), n = into && before.get(to);
      if (!n || !hasEdge(into!, e, many, n)) into = this.add(e, into);
    }
  }

  /**
   * Adds edge `e`, new; `into` is the list of edges into `e.to` so far, if it has one. Returns
   * that list.
   */
  private add(e: Edge, into: Edge[] | undefined): Edge[] {
    this.edges.push(e);
    if (into) into.push(e);
    else this.deps.set(e.to, into = [e]);
    append(this.dependents, e.from, e);
    return into;
  }

  /**
   * Edges into `name`: what it waits for (do not change the list). A name the
   * graph does not have (a job made during a run, or a misspelt one) has none:
   * `[]`, not an error (check a name from a user with `get` first).
   *
   * @example
   * ```ts
   * import { parseJobsFile } from "./load.ts";
   * import { deepStrictEqual as assertEquals } from "node:assert/strict";
   * const g = parseJobsFile("jobs:\n  gen: { run: x }\n  build: { run: y, needs: [gen] }\n", "jobs.yaml");
   * assertEquals(g.depsOf("build").map((e) => e.from), ["gen"]);
   * assertEquals(g.depsOf("gen"), []);
   * assertEquals(g.depsOf("made-later"), []);
   * ```
   */
  depsOf(name: string): Edge[] {
    return this.deps.get(name) ?? NO_EDGES;
  }

  /** Edges out of `name`: who waits for it (do not change the list); `[]` as `depsOf`'s. */
  dependentsOf(name: string): Edge[] {
    return this.dependents.get(name) ?? NO_EDGES;
  }

  /** Looks a name up, or throws a usage error with a suggestion. */
  get(name: string): JobSpec {
    const j = this.byName.get(name);
    if (!j) {
      throw new JxInputError(`unknown job '${name}'${didYouMean(name, this.byName.keys())}`);
    }
    return j;
  }

  /**
   * The files loading it read: the jobs file, the files it includes, the
   * dotenv files (`env_file`; optional ones, even absent, and those outside
   * the project too), as paths from the working directory.
   */
  filesRead(): string[] {
    const base = namesDescriptor(this.file) ? "." : dirname(this.file);
    const out = new Set([this.file, ...this.included ?? []]);
    for (const j of this.jobs) {
      if (j.source !== undefined) out.add(j.source);
      for (const f of j.envFiles ?? []) out.add(f.startsWith("/") ? f : join(base, f));
    }
    for (const f of this.readOutside ?? []) out.add(f);
    return [...out];
  }

  /**
   * The jobs a run of `names` takes (`jx run`, `jx watch`, `jx lint`):
   * `select(names)`, or, with no name, the file's `default:` and what it
   * needs (every job when it has none, or with `all`: `--all`).
   *
   * @example
   * ```ts
   * import { parseJobsFile } from "./mod.ts";
   * import { deepStrictEqual as assertEquals } from "node:assert/strict";
   * const g = parseJobsFile(
   *   "default: [build]\njobs:\n  gen: { run: x }\n  build: { run: y, needs: [gen] }\n  deploy: { run: z }\n",
   *   "jobs.yaml",
   * );
   * assertEquals(g.selectForRun([]).map((j) => j.name), ["gen", "build"]);
   * assertEquals(g.selectForRun(["deploy"]).map((j) => j.name), ["deploy"]);
   * assertEquals(g.select([]).length, 3);
   * ```
   */
  selectForRun(names: string[], all = false): JobSpec[] {
    return this.select(names.length || all ? names : this.settings.default ?? []);
  }

  /**
   * The named jobs and everything they transitively wait for, in file
   * order; all jobs (not modules) when `names` is empty, whatever the file's
   * `default:` (for that, `selectForRun`).
   */
  select(names: string[]): JobSpec[] {
    // A string is iterable: `select("build")` selected the jobs named b, u, i, l and d.
    if (!Array.isArray(names)) {
      throw new JxInputError(`select: expected a list of job names, got ${describe(names)}`);
    }
    if (names.length === 0) {
      const jobs = this.jobs.filter((j) => j.kind === "job");
      // No module: what the jobs wait for is jobs, all of them taken already (nothing to walk).
      if (jobs.length === this.jobs.length) return jobs;
      return this.closure(new Set(jobs.map((j) => j.name)));
    }
    return this.closure(new Set(this.named(names).map((j) => j.name)));
  }

  /**
   * The jobs and modules that `names` name, and nothing they wait for, in
   * file order: the one reading of a selection every command shares. A
   * `foreach` job's own name names every job it expanded to. Throws a usage
   * error (with a suggestion) for a name that is neither.
   */
  named(names: string[]): JobSpec[] {
    const keep = new Set<string>();
    for (const n of names) {
      if (this.byName.has(n)) {
        keep.add(n);
        continue;
      }
      // `NAMESPACE:` names every job of an included file (not its modules).
      if (n.endsWith(":")) {
        for (const name of this.inNamespace(n)) keep.add(name);
        continue;
      }
      const members = this.jobs.filter((j) => j.group === n);
      if (!members.length && this.emptyGroups?.has(n)) continue; // it stands for no job now
      if (!members.length) {
        const groups = new Set(this.jobs.flatMap((j) => j.group ? [j.group] : []));
        // A namespace as a name too: `jx run pkg` suggests `pkg:` (every job of that file).
        const all = [...this.byName.keys(), ...groups, ...this.emptyGroups ?? [], ...this.spaces()];
        throw new JxInputError(`unknown job '${n}'${didYouMean(n, all)}`);
      }
      for (const j of members) keep.add(j.name);
    }
    return this.jobs.filter((j) => keep.has(j.name));
  }

  /**
   * The jobs of included files named `prefix...` (`prefix` ends in `:`), or a usage error when
   * there is none (a root job named `zz:x` is no namespace's).
   */
  private inNamespace(prefix: string): string[] {
    const out = this.jobs.filter((j) =>
      j.kind === "job" && j.name.startsWith(prefix) && j.source !== undefined &&
      j.source !== this.file
    );
    if (out.length === 0) {
      // Its file may hold modules alone: then the namespace exists, and is no typo of another.
      const spaces = this.spaces();
      const mod = spaces.has(prefix)
        ? this.jobs.find((j) => j.kind === "module" && j.name.startsWith(prefix))
        : undefined;
      throw new JxInputError(
        `no jobs in namespace '${prefix}'${
          mod ? ` (its file has modules only: name one, '${mod.name}')` : didYouMean(prefix, spaces)
        }`,
      );
    }
    return out.map((j) => j.name);
  }

  /** The namespaces of included files' jobs (`pkg:`), from the names (a `foreach` item's aside). */
  private spaces(): Set<string> {
    const out = new Set<string>();
    for (const j of this.jobs) {
      if (j.source === undefined || j.source === this.file) continue; // the root file's
      const m = /^[^[]*:/.exec(j.name);
      if (m) out.add(j.name.slice(0, j.name.lastIndexOf(":", m[0].length - 1) + 1));
    }
    return out;
  }

  /** The `roots` and everything they wait for, in file order. */
  private closure(roots: Set<string>): JobSpec[] {
    const keep = new Set<string>();
    const stack = [...roots];
    while (stack.length) {
      const n = stack.pop()!;
      if (keep.has(n)) continue;
      keep.add(n);
      for (const e of this.depsOf(n)) stack.push(e.from);
    }
    return this.jobs.filter((j) => keep.has(j.name));
  }

  /** A cycle as a list of names (first repeated last), or undefined. */
  findCycle(): string[] | undefined {
    const state = new Map<string, 1 | 2>();
    const path: string[] = [];
    for (const root of this.jobs) {
      if (state.has(root.name)) continue;
      // Iterative DFS: each frame is a node and the index of its next edge.
      const frames: [string, number][] = [[root.name, 0]];
      state.set(root.name, 1);
      path.push(root.name);
      while (frames.length) {
        const top = frames[frames.length - 1];
        const out = this.dependentsOf(top[0]);
        if (top[1] < out.length) {
          const next = out[top[1]++].to;
          const s = state.get(next);
          if (s === 1) return [...path.slice(path.indexOf(next)), next];
          if (s === undefined) {
            state.set(next, 1);
            path.push(next);
            frames.push([next, 0]);
          }
        } else {
          state.set(top[0], 2);
          path.pop();
          frames.pop();
        }
      }
    }
    return undefined;
  }
}

/** A job's declared fields, as `jx graph --format json` and the `jx ui` page show them. */
export type JobSummary =
  & Pick<
    JobSpec,
    "name" | "kind" | "command" | "needs" | "reads" | "writes" | "pools" | "tokens"
  >
  & { description: string | null };

/** What `jx graph --format json` and the `jx ui` page show of a job: its declared fields. */
export function jobSummary(j: JobSpec): JobSummary {
  return {
    name: j.name,
    kind: j.kind,
    description: j.description ?? null,
    command: j.command,
    needs: j.needs,
    reads: j.reads,
    writes: j.writes,
    pools: j.pools,
    tokens: j.tokens,
  };
}

/** A value a caller passed instead of a list, as a message shows it. */
function describe(v: unknown): string {
  return typeof v === "string" ? `the string '${v}'` : String(v);
}
