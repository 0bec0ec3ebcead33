/**
 * The graph cache (`.jx/graph-FILE.json`) stores what most jobs share once
 * per shape (issue #18 item 14): the graph read back is the graph loaded,
 * keys in the same order, each job with lists and mappings of its own.
 */
import assert from "node:assert/strict";
import { loadJobsFile } from "../lib/graph/mod.ts";

/** A jobs file over the cache's size with most kinds of values, and its loads. */
async function loads(lines: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "jx-gcache-" });
  const file = `${dir}/jobs.yaml`;
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const fresh = loadJobsFile(file);
  const cache = `${dir}/.jx/graph-jobs.yaml.json`;
  const bytes = (await Deno.stat(cache)).size;
  const cached = loadJobsFile(file);
  await Deno.remove(dir, { recursive: true });
  return { fresh, cached, bytes };
}

Deno.test("graph cache: every kind of value read back as loaded, keys in order", async () => {
  const lines = ["vars: { X: a }", "pools: { db: 2 }", "jobs:"];
  for (let i = 0; i < 400; i++) {
    lines.push(
      `  j${i}: { run: "echo \${X} ${i}", reads: [s/${i}.c, s/common.h], writes: [o/${i}] }`,
      `  k${i}:`,
      `    run: [printf, "%s\\n", "${i}"]`,
      `    needs: [j${i}]`,
      `    tokens: ${1 + (i % 3)}`,
      `    cwd: ${i % 2 ? "sub" : "."}`,
      `    env: { N: "${i}" }`,
      `    pools: { db: 1 }`,
      `    timeout: 10s`,
      `    description: the k of ${i}`,
      `    ${i % 2 ? "if" : "unless"}: j${i}`,
    );
  }
  lines.push("modules:", "  m: { run: sleep 100, ready: { delay: 1s } }");
  const { fresh, cached } = await loads(lines);
  assert.equal(JSON.stringify(cached.jobs), JSON.stringify(fresh.jobs));
  assert.equal(JSON.stringify(cached.edges), JSON.stringify(fresh.edges));
  assert.deepEqual([...cached.pools], [...fresh.pools]);
  // Shared empties are copies: one job's list is not another's.
  const [a, b] = [cached.byName.get("j1")!, cached.byName.get("j2")!];
  assert.notEqual(a.needs, b.needs);
  assert.notEqual(a.pools, b.pools);
  assert.deepEqual(a.argv, ["/bin/sh", "-c", "echo a 1"]);
});

Deno.test("graph cache: a plain job's row holds its own values, not the defaults", async () => {
  const lines = ["jobs:"];
  for (let i = 0; i < 2000; i++) {
    const prev = i ? `, out/${i - 1}.o` : "";
    lines.push(
      `  j${i}: { run: "true", reads: [src/${i}.c, inc/common.h${prev}], writes: [out/${i}.o] }`,
    );
  }
  const { fresh, cached, bytes } = await loads(lines);
  assert.equal(JSON.stringify(cached.jobs), JSON.stringify(fresh.jobs));
  // A job and its edge: its name, index, command, reads, writes, position; the edge's
  // names and reason (about 230 bytes each when every default was stored per job).
  assert.ok(bytes / 2000 < 160, `${(bytes / 2000).toFixed(0)} bytes a job`);
});
