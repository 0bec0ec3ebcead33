/**
 * What the page shows of a jobs file: the derived graph (the same jobs and
 * edges as `jx graph --format json`), and per job its last recorded success
 * and the `explain` verdict (why it would run).
 *
 * @module
 */
import { expandDeferred, type Graph, type JobSpec, jobSummary } from "../graph/mod.ts";
import { alwaysRuns, rootCacheEnv, StateStore, UpToDate } from "../state/mod.ts";

/** One job or module as the page sees it. */
export interface UiJob {
  name: string;
  kind: "job" | "module";
  description: string | null;
  command: string;
  needs: string[];
  reads: string[];
  writes: string[];
  pools: Record<string, number>;
  tokens: number;
  /** The state log has a success of this job (`.jx/state.ndjson`). */
  succeededBefore: boolean;
  /** `explain`: true when up to date, false when it would run, null when not asked. */
  upToDate: boolean | null;
  /** `explain`: why it would run. */
  reasons: string[];
  /** Its duration at its last success (`.jx/durations.json`), or null when unknown. */
  lastMs: number | null;
}

/** One edge of the derived graph, with its reason. */
export interface UiEdge {
  from: string;
  to: string;
  kind: "needs" | "resource" | "order" | "condition";
  reason: string;
}

/** The page's data. */
export interface UiGraph {
  /** The jobs file, as given. */
  file: string;
  jobs: UiJob[];
  edges: UiEdge[];
  /** Pool capacities. */
  pools: Record<string, number>;
}

/**
 * The page's data for the jobs of `graph` named in `names` (default: all),
 * with each job's explain verdict unless `explain` is false, and its last
 * duration when `lastMs` has one.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { graphData } from "./data.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  a: { run: x, writes: [f] }\n  b: { run: y, reads: [f] }\n", "j.yaml");
 * const [edge] = graphData(g, undefined, { explain: false }).edges;
 * assertEquals([edge.from, edge.to, edge.kind], ["a", "b", "resource"]);
 * ```
 */
export function graphData(
  graph: Graph,
  names?: Set<string>,
  opts: { explain?: boolean; lastMs?: ReadonlyMap<string, number> } = {},
): UiGraph {
  const baseDir = graph.baseDir;
  const explain = opts.explain ?? true;
  const keep = (n: string) => !names || names.has(n);
  const store = explain ? new StateStore(baseDir) : undefined;
  const upToDate = explain ? new UpToDate(baseDir) : undefined;
  if (upToDate) upToDate.cacheEnv = rootCacheEnv(graph.settings);
  const jobs = graph.jobs.filter((j) => keep(j.name)).map((j): UiJob => {
    const group = j.deferred && upToDate ? groupVerdict(j, upToDate, store!) : undefined;
    const always = upToDate && j.kind === "job" ? alwaysRuns(j) : undefined;
    const v = group ?? always ?? (j.kind === "job" ? upToDate?.check(j) : undefined);
    return {
      ...jobSummary(j),
      succeededBefore: group ? group.succeededBefore : store?.get(j.name) !== undefined,
      upToDate: v ? v.upToDate : null,
      reasons: v?.reasons ?? [],
      lastMs: opts.lastMs?.get(j.name) ?? null,
    };
  });
  const edges = graph.edges.filter((e) => keep(e.from) && keep(e.to)).map((e) => ({
    from: e.from,
    to: e.to,
    kind: e.kind,
    reason: e.reason,
  }));
  return { file: graph.file, jobs, edges, pools: Object.fromEntries(graph.pools) };
}

/**
 * A `foreach` over files jobs write (expanded by the run, never run itself), judged by its items
 * as the disk gives them now, as `jx explain` and `jx run -n` judge it; undefined when they cannot
 * be had (the expansion fails: the run would say why).
 */
function groupVerdict(group: JobSpec, upToDate: UpToDate, store: StateStore) {
  let items: JobSpec[];
  try {
    items = expandDeferred(group);
  } catch {
    return undefined;
  }
  const reasons: string[] = [];
  let all = true;
  for (const item of items) {
    const v = upToDate.check(item);
    all &&= v.upToDate;
    reasons.push(...v.reasons.map((r) => `${item.name}: ${r}`));
  }
  const succeededBefore = items.length > 0 && items.every((j) => store.get(j.name) !== undefined);
  return { upToDate: all, reasons, succeededBefore };
}
