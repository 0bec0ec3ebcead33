/**
 * The graph cache (`.jx/graph-FILE.json`) stores what most jobs share once
 * per shape (issue #18 item 14): the graph read back is the graph loaded,
 * keys in the same order, each job with lists and mappings of its own.
 */
import assert from "node:assert/strict";
import { type Graph, loadJobsFile } from "../lib/graph/mod.ts";
import { readCachedPart, writeCachedGraph } from "../lib/graph/cache.ts";

/** A jobs file over the cache's size with most kinds of values, and its loads. */
async function loads(lines: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "jx-gcache-" });
  const file = `${dir}/jobs.yaml`;
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const fresh = loadJobsFile(file);
  const cache = `${dir}/.jx/graph-jobs.yaml.json`;
  // The rows (after the key, the header and the partial loads' index): what a job costs.
  const [, header] = new TextDecoder().decode(await Deno.readFile(cache)).split("\n", 2);
  const bytes: number = JSON.parse(header).rows[1];
  const cached = loadJobsFile(file);
  await Deno.remove(dir, { recursive: true });
  return { fresh, cached, bytes };
}

/** What these tests read of a graph cache file's header. */
interface CacheHead {
  ints: Record<string, [number, number]>;
  reasons: [number, number];
  json: boolean;
}

/** A graph cache file's header, and where its body starts (after the key and header lines). */
function cacheParts(bytes: Uint8Array): { head: CacheHead; body: number } {
  const keyEnd = bytes.indexOf(10), headEnd = bytes.indexOf(10, keyEnd + 1);
  return {
    head: JSON.parse(new TextDecoder().decode(bytes.subarray(keyEnd + 1, headEnd))),
    body: headEnd + 1,
  };
}

/** Whether two graphs have the same edges, and each job the same edges in and out, in order. */
function sameEdges(cached: Graph, fresh: Graph): void {
  assert.equal(JSON.stringify(cached.edges), JSON.stringify(fresh.edges));
  for (const { name } of fresh.jobs) {
    assert.deepEqual(cached.depsOf(name), fresh.depsOf(name));
    assert.deepEqual(cached.dependentsOf(name), fresh.dependentsOf(name));
  }
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
  sameEdges(cached, fresh);
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
  // A job: its name, index, command, reads, writes, position (with its edge's names and reason
  // about 230 bytes when every default was stored per job; edges are numbers since format 14).
  assert.ok(bytes / 2000 < 160, `${(bytes / 2000).toFixed(0)} bytes a job`);
});

Deno.test("graph cache: edges are numbers, each reason stored once (300 writers and 300 readers of a folder)", async () => {
  // Every reader of `obj` waits for every writer of a file in it: 90,000 edges, 300 reasons.
  const lines = ["jobs:"];
  for (let i = 0; i < 300; i++) lines.push(`  w${i}: { run: "true", writes: [obj/${i}.o] }`);
  lines.push("  n: { run: 'true', needs: [w0], if: w1 }");
  for (let i = 0; i < 300; i++) {
    lines.push(`  r${i}: { run: "true", reads: [obj], writes: [b/${i}] }`);
  }
  lines.push(`# ${"-".repeat(32 * 1024)}`); // over the size below which files are parsed every time
  const dir = await Deno.makeTempDir({ prefix: "jx-gcache-" });
  const file = `${dir}/jobs.yaml`;
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const fresh = loadJobsFile(file);
  const cached = loadJobsFile(file);
  assert.equal(cached.fromCache, true);
  assert.equal(fresh.edges.length, 90_002);
  assert.deepEqual(
    new Set(cached.edges.map((e) => e.kind)),
    new Set(["needs", "condition", "resource"]),
  );
  sameEdges(cached, fresh);
  const path = `${dir}/.jx/graph-jobs.yaml.json`;
  const bytes = await Deno.readFile(path);
  const { head, body: start } = cacheParts(bytes);
  const [at, length] = head.reasons;
  const body = bytes.subarray(start);
  const reasons = new TextDecoder().decode(body.subarray(at, at + length)).split("\n");
  assert.equal(reasons.length, 302); // 300 files in `obj`, `needs`, `if`
  // Three int32s an edge (its place among its job's edges out, where it leads, its reason and
  // kind): 12 bytes; as a JSON row of names and reason, about 40.
  assert.ok(bytes.length < 90_000 * 14, `${bytes.length} bytes`);
  // A reason's number out of range: the cache is not trusted, the file is parsed again.
  const [whyAt, whyCount] = head.ints.edgeWhy;
  new DataView(body.buffer, body.byteOffset + whyAt, whyCount * 4).setInt32(4 * 500, 303 * 4, true);
  await Deno.writeFile(path, bytes);
  const again = loadJobsFile(file);
  assert.equal(again.fromCache, undefined);
  assert.equal(JSON.stringify(again.edges), JSON.stringify(fresh.edges));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("graph cache: a partial load reads what an edit touches and what follows it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jx-gcache-" });
  const file = `${dir}/jobs.yaml`;
  const lines = ["jobs:"];
  // c0..c299 copy a source each; d1 reads c1's output, e1 needs d1; u reads an output of c2
  // before c2 (in file order) writes it; s0 and s1 share a header nobody writes.
  // (u's description is not ASCII: rows are found by byte, not by character)
  lines.push("  u: { run: cat out/2, reads: [out/2], description: ünïcödé }");
  for (let i = 0; i < 300; i++) {
    lines.push(`  c${i}: { run: cp src/${i} out/${i}, reads: [src/${i}], writes: [out/${i}] }`);
  }
  lines.push(
    "  d1: { run: cp out/1 out/d1, reads: [out/1], writes: [out/d1] }",
    "  e1: { run: 'true', needs: [d1] }",
    "  s0: { run: 'true', reads: [src/0, inc/h.h] }",
    "  s1: { run: 'true', reads: [inc/h.h] }",
    `# ${"-".repeat(32 * 1024)}`, // over the size below which files are parsed every time
  );
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const full = loadJobsFile(file);
  const key = full.cacheKey!;
  assert.ok(key, "written to the cache");
  const names = full.jobs.map((j) => j.name);
  const part = (changed: string[], max = 50, selected = names) =>
    readCachedPart(file, key, selected, new Set(changed), max);

  // An edit of c1's source: c1, what reads its output (d1), and what needs that (e1).
  const one = part(["src/1"])!;
  assert.deepEqual(one.graph.jobs.map((j) => j.name), ["c1", "d1", "e1"]);
  assert.deepEqual(one.graph.jobs.map((j) => j.index), [0, 1, 2]);
  assert.deepEqual(one.graph.edges.map((e) => `${e.from}>${e.to}`), ["c1>d1", "d1>e1"]);
  assert.equal(one.left.length, names.length - 3);
  assert.deepEqual([...one.again].sort(), ["out/1", "out/d1", "src/1"]);
  assert.equal(
    JSON.stringify(one.graph.get("d1")),
    JSON.stringify({ ...full.get("d1"), index: 1 }),
  );
  // Its edges as loaded: kinds and reasons read back from their numbers.
  assert.deepEqual(one.graph.edges, [...full.depsOf("d1"), ...full.depsOf("e1")]);

  // A shared input that is not written: only the job whose own source changed comes along.
  assert.deepEqual(part(["src/0"])!.graph.jobs.map((j) => j.name), ["c0", "s0"]);
  // What a loaded job writes brings every job that names it, even one before it in the file.
  assert.deepEqual(part(["src/2"])!.graph.jobs.map((j) => j.name), ["u", "c2"]);
  // A path no job names, too many jobs, a cache of another key: no partial load.
  assert.equal(part(["nope"]), undefined);
  assert.equal(part(["src/1"], 2), undefined);
  assert.equal(readCachedPart(file, "other", names, new Set(["src/1"]), 50), undefined);
  // Only selected jobs: e1 is not in the selection (a run of d1 alone).
  const sel = names.filter((n) => n !== "e1" && n !== "s0" && n !== "s1");
  assert.deepEqual(part(["src/1"], 50, sel)!.graph.jobs.map((j) => j.name), ["c1", "d1"]);

  // A damaged index (its key line intact) loads nothing rather than the wrong jobs: the file
  // owners zeroed make every path job 0's (u), whose rows name none of the changed paths.
  const path = `${dir}/.jx/graph-jobs.yaml.json`;
  const bytes = await Deno.readFile(path);
  const { head, body } = cacheParts(bytes);
  const [at, count] = head.ints.owners;
  bytes.fill(0, body + at, body + at + 4 * count);
  await Deno.writeFile(path, bytes);
  assert.equal(part(["src/1"]), undefined, "owners zeroed");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("graph cache: a partial load never takes a job whose files are more than stamps", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jx-gcache-" });
  const file = `${dir}/jobs.yaml`;
  const lines = ["jobs:", "  g: { run: 'true', reads: ['src/*.c'] }"];
  for (let i = 0; i < 400; i++) {
    lines.push(`  c${i}: { run: cp src/${i} out/${i}, reads: [src/${i}], writes: [out/${i}] }`);
  }
  lines.push(`# ${"-".repeat(32 * 1024)}`);
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const full = loadJobsFile(file);
  const names = full.jobs.map((j) => j.name);
  // A glob's matches are not in the index: a selection with it never loads in part.
  assert.equal(readCachedPart(file, full.cacheKey!, names, new Set(["src/1"]), 50), undefined);
  const without = names.filter((n) => n !== "g");
  const part = readCachedPart(file, full.cacheKey!, without, new Set(["src/1"]), 50);
  assert.deepEqual(part?.graph.jobs.map((j) => j.name), ["c1"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("graph cache: the key holds jx's version (another release never reads this one's graph)", async () => {
  const { cacheKey } = await import("../lib/graph/cache.ts");
  const { VERSION } = await import("../lib/runtime/version.ts");
  const text = "jobs:\n  a: { run: true }\n";
  assert.equal(cacheKey(text, {}, "/p"), cacheKey(text, {}, "/p", VERSION));
  assert.notEqual(cacheKey(text, {}, "/p"), cacheKey(text, {}, "/p", `${VERSION}-next`));
});

Deno.test("graph cache: a graph cached by format 11 to 23 (before ${NAME:q} in quotes was refused, when: file ordered, nested includes' names read as in their folder, edges as rows, numbers as text as YAML reads them, a run list's program with a blank and make's $(VAR) refused, an unknown var in env refused, `.` ordered against every path, slurm args srun would take as its command refused, an empty substituted path refused, a deferred foreach reading its env_file per item, slurm args -J refused, vars kept as text in foreach items, a duration with a unit twice, command-line values kept as text) is not read", async () => {
  const { cacheKey } = await import("../lib/graph/cache.ts");
  const { VERSION } = await import("../lib/runtime/version.ts");
  const { createHash } = await import("node:crypto");
  const text = 'jobs:\n  a: { run: echo "${X:q}" }\n';
  const keyOf = (format: number) =>
    createHash("sha256").update(JSON.stringify([VERSION, format, "/p", []])).update(text)
      .digest("hex");
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(11));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(12));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(13));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(14));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(15));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(16));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(17));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(18));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(19));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(20));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(21));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(22));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(23));
  assert.notEqual(cacheKey(text, {}, "/p"), keyOf(24));
  // The same computation with the current format is the key (what the test above assumes).
  assert.equal(cacheKey(text, {}, "/p"), keyOf(25));
  // A no-op record made under another format is not replayed: its key holds the format too.
  const { GRAPH_FORMAT } = await import("../lib/runtime/version.ts");
  const { runKey } = await import("../lib/cli/noop_run.ts");
  const { parseArgs } = await import("../lib/cli/args.ts");
  assert.equal(GRAPH_FORMAT, 25);
  assert.deepEqual(
    JSON.parse(runKey(parseArgs(["run"], {}), "/p/jobs.yaml", [])).slice(1, 3),
    [VERSION, GRAPH_FORMAT],
  );
});

Deno.test("graph cache: paths and reasons with a newline or a lone surrogate read back as loaded", async () => {
  for (const odd of ["plain", "new\\nline", "lone\\uD800half"]) {
    const lines = ["jobs:"];
    for (let i = 0; i < 300; i++) {
      lines.push(
        `  "w${i}": { run: "true", writes: ["obj/${i}/${odd}.o"] }`,
        `  "r${i}": { run: "true", reads: ["obj/${i}"] }`,
      );
    }
    lines.push(`# ${"-".repeat(32 * 1024)}`);
    const { fresh, cached } = await loads(lines);
    assert.equal(cached.fromCache, true, odd);
    assert.equal(JSON.stringify(cached.jobs), JSON.stringify(fresh.jobs));
    sameEdges(cached, fresh);
    assert.ok(fresh.edges[0].reason.includes(odd === "plain" ? odd : odd.slice(0, 3)));
  }
});

Deno.test("graph cache: a damaged index of edges (an edge to its own job, twice to one job, a cycle, out of range) is parsed again, never run", async () => {
  // a -> b -> c by files; d needs a (an edge back in file order).
  const lines = [
    "jobs:",
    "  d: { run: 'true', needs: [a] }",
    "  a: { run: 'true', writes: [o/a] }",
    "  b: { run: 'true', reads: [o/a], writes: [o/b] }",
    "  c: { run: 'true', reads: [o/b] }",
    `# ${"-".repeat(32 * 1024)}`,
  ];
  const dir = await Deno.makeTempDir({ prefix: "jx-gcache-" });
  const file = `${dir}/jobs.yaml`;
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const fresh = loadJobsFile(file);
  assert.deepEqual(fresh.edges.map((e) => `${e.from}>${e.to}`), ["a>d", "a>b", "b>c"]);
  const path = `${dir}/.jx/graph-jobs.yaml.json`;
  const good = await Deno.readFile(path);
  const { head, body } = cacheParts(good);
  /** The cache with int32 `i` of index list `name` set to `v`. */
  const damaged = (name: string, i: number, v: number) => {
    const bytes = good.slice();
    const view = new DataView(bytes.buffer, body + head.ints[name][0]);
    view.setInt32(4 * i, v, true);
    return bytes;
  };
  const names = fresh.jobs.map((j) => j.name);
  // Edge numbers: 0 a>d, 1 a>b, 2 b>c; places: d 0, a 1, b 2, c 3.
  for (
    const [why, name, i, v] of [
      ["an edge to its own job (b>b)", "edgeTo", 2, 2],
      ["two edges to one job (a>d twice)", "edgeTo", 1, 0],
      ["a cycle (b>a)", "edgeTo", 2, 1],
      ["an edge number out of range", "outs", 0, 7],
      ["an edge to no job", "edgeTo", 2, 9],
    ] as const
  ) {
    await Deno.writeFile(path, damaged(name, i, v));
    const again = loadJobsFile(file);
    assert.equal(again.fromCache, undefined, why);
    assert.deepEqual(again.edges, fresh.edges, why);
    // A partial load from the same file: refused, never a graph short of an edge or waiting.
    await Deno.writeFile(path, damaged(name, i, v));
    assert.equal(
      readCachedPart(file, fresh.cacheKey!, names, new Set(["o/a"]), 10),
      undefined,
      why,
    );
  }
  // Reasons kept as a JSON list (a path holds a newline) that is not a list of texts.
  await Deno.writeTextFile(file, lines.join("\n").replaceAll("[o/a]", '["o/a\\nx"]') + "\n");
  const odd = loadJobsFile(file), json = await Deno.readFile(path);
  const jsonParts = cacheParts(json);
  assert.equal(jsonParts.head.json, true);
  const [at, length] = jsonParts.head.reasons;
  json.set(new TextEncoder().encode("[7, 7, 7]".padEnd(length)), jsonParts.body + at);
  await Deno.writeFile(path, json);
  const read = loadJobsFile(file);
  assert.equal(read.fromCache, undefined, "reasons not texts");
  assert.deepEqual(read.edges, odd.edges);
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  await Deno.writeFile(path, good);
  assert.equal(loadJobsFile(file).fromCache, true);
  assert.deepEqual(
    readCachedPart(file, fresh.cacheKey!, names, new Set(["o/a"]), 10)?.graph.edges.map((e) =>
      `${e.from}>${e.to}`
    ),
    ["a>d", "a>b", "b>c"],
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("graph cache: a big file of no jobs is read back from its cache", async () => {
  // The rows of no job are "[\n\n]": their length was written as 2, so the cache never read.
  const { fresh, cached } = await loads([`# ${"x".repeat(40_000)}`, "jobs: {}"]);
  assert.equal(fresh.jobs.length, 0);
  assert.equal(cached.jobs.length, 0);
  assert.equal(cached.fromCache, true);
});

Deno.test("graph cache: the file the loader writes with the edge derivation's numbers is the one numbering every path and reason by its text writes", async () => {
  // The loader hands the writer the numbers the derivation gave paths and reasons (no text
  // looked up again); a graph read back from the cache has none, and is numbered by text.
  const lines = ["jobs:", '  gen: { run: "true", writes: [o/g.h, "@db", "o/a -> reads b"] }'];
  lines.push('  two: { run: "true", reads: ["o/a -> reads b"], writes: [o/a] }');
  for (let i = 0; i < 400; i++) {
    const reads = [`s/${i}.c`, "o/*.h", "inc/c.h", `o/${i - 1}.o`, `o/${i - 1}.o`];
    if (i % 5 === 0) reads.push('"@db"', "o");
    const writes = [`o/${i}.o`, ...(i % 7 === 0 ? ["inc/c.h", `"d/${i}/*.d"`] : [])];
    const needs = i % 9 === 1 ? `, needs: [c${i - 1}]` : "";
    lines.push(
      `  c${i}: { run: "true", reads: [${reads}], writes: [${writes}]${needs} }`,
    );
  }
  lines.push('  last: { run: "true", reads: [o, "d/**"], when: { file: inc/c.h } }');
  const dir = await Deno.makeTempDir({ prefix: "jx-gcache-" });
  const file = `${dir}/jobs.yaml`, path = `${dir}/.jx/graph-jobs.yaml.json`;
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const fresh = loadJobsFile(file);
  const written = await Deno.readFile(path);
  const cached = loadJobsFile(file);
  assert.equal(cached.fromCache, true);
  await Deno.remove(path);
  writeCachedGraph(file, fresh.cacheKey!, cached);
  assert.deepEqual(await Deno.readFile(path), written);
  await Deno.remove(dir, { recursive: true });
});
