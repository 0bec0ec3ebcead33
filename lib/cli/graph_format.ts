/**
 * `jx graph` output: dot, mermaid, json and html, every edge with its reason.
 *
 * @module
 */
import { type Edge, type Graph, type JobSpec, jobSummary } from "../graph/mod.ts";
import { staticHtml } from "../ui/static.ts";
import { escapeControls } from "../runtime/mod.ts";

const q = (s: string) => JSON.stringify(s);
/** Mermaid's entity of each character a label must not hold as it is. */
const ENTITIES: Record<string, string> = {
  '"': "#quot;", // ends the label
  "|": "#124;", // ends an edge's label
  "#": "#35;", // starts an entity (`a#quot;b` would show `a"b`)
  "<": "#lt;", // HTML in a label (`<b>x</b>` would show bold, `<br>` break the line)
  "&": "#amp;",
  // `%%{WORD` anywhere starts a directive to mermaid, which drops it up to `}%%`, or to the end
  // of the whole text (every later line: nodes and edges vanish)
  "%": "#37;",
};

/**
 * A mermaid label's text: control characters escaped (a newline would end the node's line),
 * the characters mermaid reads in a label as its entities, so that the text shows as written.
 */
const label = (s: string) => escapeControls(s).replace(/["|#<&%]/g, (c) => ENTITIES[c]);

/**
 * Formats the part of `graph` whose job names are in `names`.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { formatGraph } from "./graph_format.ts";
 * const g = parseJobsFile("jobs:\n  a: { run: x, writes: [f] }\n  b: { run: y, reads: [f] }\n", "j.yaml");
 * formatGraph(g, new Set(["a", "b"]), "mermaid");
 * ```
 */
export function formatGraph(
  graph: Graph,
  names: Set<string>,
  format: "dot" | "mermaid" | "json" | "html",
): string {
  if (format === "html") return staticHtml(graph, names); // the jx ui page, self-contained
  const part = partOf(graph, names);
  switch (format) {
    case "json":
      return asJson(part);
    case "mermaid":
      return asMermaid(part);
    case "dot":
      return asDot(part);
    default: {
      const _assertNever: never = format;
      return _assertNever;
    }
  }
}

/** The jobs, edges and pools of the part of a graph that `jx graph` shows. */
interface Part {
  graph: Graph;
  jobs: JobSpec[];
  edges: Edge[];
  /** One per job and pool it takes units of. */
  poolEdges: { pool: string; job: string; units: number }[];
  /** The pools some job of the part uses, in their first use's order. */
  usedPools: string[];
}

/** The part of `graph` whose job names are in `names`. */
function partOf(graph: Graph, names: Set<string>): Part {
  const jobs = graph.jobs.filter((j) => names.has(j.name));
  const edges = graph.edges.filter((e) => names.has(e.from) && names.has(e.to));
  const poolEdges: Part["poolEdges"] = [];
  for (const j of jobs) {
    for (const [pool, units] of Object.entries(j.pools)) {
      poolEdges.push({ pool, job: j.name, units });
    }
  }
  const usedPools = [...new Set(poolEdges.map((p) => p.pool))];
  return { graph, jobs, edges, poolEdges, usedPools };
}

/** `--format json`: jobs, edges (pools' included, as `pool:NAME`) and the pools' sizes. */
function asJson({ graph, jobs, edges, poolEdges, usedPools }: Part): string {
  return JSON.stringify(
    {
      jobs: jobs.map(jobSummary),
      edges: [
        ...edges.map((e) => ({ from: e.from, to: e.to, kind: e.kind, reason: e.reason })),
        ...poolEdges.map((p) => ({
          from: `pool:${p.pool}`,
          to: p.job,
          kind: "pool",
          reason: `pool ${p.pool}`,
        })),
      ],
      pools: Object.fromEntries(usedPools.map((p) => [p, graph.pools.get(p)])),
    },
    null,
    2,
  ) + "\n";
}

/** `--format mermaid`: a left-to-right flowchart, modules rounded, pools as cylinders. */
function asMermaid({ graph, jobs, edges, poolEdges, usedPools }: Part): string {
  const id = new Map(jobs.map((j, i) => [j.name, `j${i}`]));
  const lines = ["flowchart LR"];
  for (const j of jobs) {
    const name = label(j.name);
    lines.push(
      j.kind === "module" ? `  ${id.get(j.name)}(["${name}"])` : `  ${id.get(j.name)}["${name}"]`,
    );
  }
  usedPools.forEach((p, i) =>
    lines.push(`  p${i}[("${label(`pool ${p}: ${graph.pools.get(p)}`)}")]`)
  );
  for (const e of edges) {
    lines.push(`  ${id.get(e.from)} -->|"${label(e.reason)}"| ${id.get(e.to)}`);
  }
  for (const p of poolEdges) {
    lines.push(
      `  p${usedPools.indexOf(p.pool)} -.-|"${label(`pool ${p.pool}`)}"| ${id.get(p.job)}`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * A pool's node in `dot`: `pool NAME`, with a space no job's name holds (`pool:NAME` was also
 * the node of a job of that name, which then vanished into the pool).
 */
const poolNode = (p: string) => q(`pool ${p}`);

/** `--format dot`: Graphviz, order edges dashed, condition and pool edges dotted. */
function asDot({ graph, jobs, edges, poolEdges, usedPools }: Part): string {
  const lines = ["digraph jx {", "  rankdir=LR;", "  node [shape=box];"];
  for (const j of jobs) {
    lines.push(`  ${q(j.name)}${j.kind === "module" ? " [shape=ellipse]" : ""};`);
  }
  for (const p of usedPools) {
    lines.push(
      `  ${poolNode(p)} [shape=cylinder, label=${q(`pool ${p}: ${graph.pools.get(p)}`)}];`,
    );
  }
  for (const e of edges) {
    const style = e.kind === "order"
      ? ", style=dashed"
      : e.kind === "condition"
      ? ", style=dotted"
      : "";
    lines.push(`  ${q(e.from)} -> ${q(e.to)} [label=${q(e.reason)}${style}];`);
  }
  for (const p of poolEdges) {
    lines.push(
      `  ${poolNode(p.pool)} -> ${q(p.job)} [label=${
        q(`pool ${p.pool}`)
      }, style=dotted, arrowhead=none];`,
    );
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
