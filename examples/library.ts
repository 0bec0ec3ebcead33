/**
 * jx as a library: a graph built in code, run with `runJobs`, and a custom
 * reporter on the event stream. See docs/library.md.
 *
 * Run it from the repository (Deno reads the `yaml` import from deno.json):
 *
 * ```sh
 * node_modules/.bin/deno run -A examples/library.ts
 * node_modules/.bin/bun examples/library.ts
 * ```
 *
 * @module
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createReactor, parseJobsFile, type Reporter, type RunEvent, runJobs } from "../mod.ts";

// 1. The graph, built in code. parseJobsFile takes the text of a jobs file;
//    JSON is YAML, so an object from code goes through JSON.stringify, and
//    is validated exactly like a file (a typo is a JxInputError with a position).
const parts = ["alpha", "beta", "gamma"];
const jobs: Record<string, unknown> = {
  setup: { run: "mkdir -p out", writes: ["out"] },
  gen: { run: "echo '#define PARTS 3' > out/parts.h", writes: ["out/parts.h"] },
};
for (const p of parts) {
  // Each compile step reads the header gen writes: the edge gen -> compile-P
  // is derived from reads/writes, no `needs` required.
  jobs[`compile-${p}`] = {
    run: `cat out/parts.h > out/${p}.o && echo ${p} >> out/${p}.o`,
    reads: ["out/*.h"],
    writes: [`out/${p}.o`],
  };
}
jobs.link = { run: "cat out/*.o > out/app", reads: ["out/*.o"], writes: ["out/app"] };
jobs.test = { run: "grep -c define out/app", reads: ["out/app"] };

// The file name is used for messages and as the base of relative paths:
// every job runs in (and every path is relative to) the temp dir.
const dir = mkdtempSync(join(tmpdir(), "jx-library-"));
const graph = parseJobsFile(JSON.stringify({ version: 1, jobs }), join(dir, "jobs.yaml"));
for (const e of graph.edges) console.log(`edge ${e.from} -> ${e.to}: ${e.reason}`);

// 2. A reporter: any object with event(e), and optionally close().
class Timeline implements Reporter {
  readonly lines: string[] = [];
  private output = new Map<string, string>();

  event(e: RunEvent): void {
    switch (e.type) {
      case "run.start":
        this.lines.push(`start: ${e.jobs} jobs, ${e.slots} slots`);
        break;
      case "job.output":
        this.output.set(e.job, (this.output.get(e.job) ?? "") + new TextDecoder().decode(e.chunk));
        break;
      case "job.end": {
        const out = this.output.get(e.job)?.trim();
        this.lines.push(`${e.job}: ${e.status}${out ? ` (said ${out})` : ""}`);
        break;
      }
      case "job.skip":
        this.lines.push(`${e.job}: skipped, ${e.reason}`);
        break;
      case "run.end":
        this.lines.push(`end: ${e.status}, exit ${e.exit}`);
    }
  }

  close(): void {
    console.log(this.lines.join("\n"));
  }
}

// 3. Run `test` and everything it needs, two at a time, on the portable
//    reactor (Deno and Bun alike). runJobs resolves when every job has ended;
//    closing the reporters is the caller's part.
const timeline = new Timeline();
try {
  const result = await runJobs(graph, graph.select(["test"]), {
    reactor: createReactor("portable"),
    jobs: 2,
    reporters: [timeline],
    handleSignals: false,
  });
  timeline.close();
  console.log(`app: ${readFileSync(join(dir, "out/app"), "utf8").split("\n").length - 1} lines`);
  process.exitCode = result.exit;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
