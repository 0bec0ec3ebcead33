/**
 * What `jx explain JOB` says about a job's last checked run.
 *
 * @module
 */
import type { Graph } from "../graph/mod.ts";
import { formatFinding } from "./check.ts";
import { Remembered } from "./remembered.ts";

/**
 * The lines `jx explain` adds for `job`: the findings of its last checked
 * run (`jx lint`, `jx run --check-access`), none when it was never checked.
 *
 * @example
 * ```ts
 * import { explainFindings } from "./explain.ts";
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const g = parseJobsFile("jobs:\n  a: { run: 'true' }\n", `${dir}/jobs.yaml`);
 * deepStrictEqual(explainFindings(g, "a"), []);
 * ```
 */
export function explainFindings(graph: Graph, job: string): string[] {
  const remembered = new Remembered(graph.baseDir, graph.file);
  const last = remembered.get(job);
  if (!last) return [];
  const n = last.findings.length;
  if (!n) return [`  last checked run (${last.at}): no finding`];
  const lines = [`  last checked run (${last.at}): ${n} finding${n === 1 ? "" : "s"}:`];
  for (const f of last.findings) lines.push(`    ${formatFinding(graph, f).trimEnd()}`);
  if (remembered.hasUndeclaredInputs(job)) {
    lines.push(
      "  (undeclared inputs: not stored in or restored from the output cache until fixed)",
    );
  }
  return lines;
}
