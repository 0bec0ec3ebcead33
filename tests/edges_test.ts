/**
 * Resource edges (lib/graph/edges.ts) against their definition, pair by
 * pair: on random graphs small enough that no edge is left out as implied
 * (at most 32 earlier jobs), the edges are exactly those the rules give.
 *
 * For job `i` and an earlier job `k`, with `c` a resource seen before `i`
 * that conflicts with one of `i`'s (equal, a directory above, a glob over):
 * - `i` writes `w`, `k` is the last writer of `c` before `i`: an `order` edge;
 * - `i` writes `w`, `k` read `c` after its last writer: an `order` edge;
 * - `i` reads `r` (and does not write it), `k` is the last writer of `c`:
 *   a `resource` edge (the strongest kind is kept).
 */
import assert from "node:assert/strict";
import { deriveResourceEdges, ResourceIndex, resourcesConflict } from "../lib/graph/edges.ts";

const UNIVERSE = [
  "a",
  "a/b",
  "a/b/c",
  "a/b/d",
  "a/x",
  "d",
  "d/e.x",
  "a/*",
  "a/**",
  "*",
  "@lock",
  "@x",
  "d/*.x",
  "**/c",
  "out",
  "out/1",
  "out/*.o",
  ".",
  "a/b/*",
  "a/b/c/*.y",
  "a/[b]/c",
  "out/[*].o",
  "{a,d}/*",
  "d/e.x/*",
];

interface Job {
  name: string;
  reads: string[];
  writes: string[];
}

/** The edges by the rules above, as `from>to:kind`, sorted (`conflict`: whether two resources do). */
function byDefinition(jobs: Job[], conflict = resourcesConflict): string[] {
  const out: string[] = [];
  jobs.forEach((job, i) => {
    const kinds = new Map<string, string>();
    const add = (k: number, kind: string) => {
      const from = jobs[k].name;
      if (from !== job.name && kinds.get(from) !== "resource") kinds.set(from, kind);
    };
    const reads = job.reads.filter((r) => !job.writes.includes(r));
    const seen = new Set(jobs.slice(0, i).flatMap((j) => [...j.reads, ...j.writes]));
    for (const c of seen) {
      let writer = -1; // the last writer of c before i
      for (let k = 0; k < i; k++) if (jobs[k].writes.includes(c)) writer = k;
      const conflicts = (x: string) => conflict(c, x);
      if (job.writes.some(conflicts)) {
        if (writer >= 0) add(writer, "order");
        for (let k = writer + 1; k < i; k++) {
          if (jobs[k].reads.includes(c) && !jobs[k].writes.includes(c)) add(k, "order");
        }
      }
      if (reads.some(conflicts) && writer >= 0) add(writer, "resource");
    }
    for (const [from, kind] of kinds) out.push(`${from}>${job.name}:${kind}`);
  });
  return out.sort();
}

Deno.test("resource edges: exactly the edges the rules give, pair by pair (random graphs)", () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * n);
  };
  const pick = (n: number) => Array.from({ length: rnd(n) }, () => UNIVERSE[rnd(UNIVERSE.length)]);
  for (let round = 0; round < 400; round++) {
    const jobs = Array.from({ length: 1 + rnd(30) }, (_, i) => ({
      name: `j${i}`,
      reads: pick(5),
      writes: pick(3),
    }));
    const got: string[] = [];
    deriveResourceEdges(jobs, (e) => got.push(`${e.from}>${e.to}:${e.kind}`));
    assert.deepEqual(got.sort(), byDefinition(jobs), `round ${round}: ${JSON.stringify(jobs)}`);
  }
});

Deno.test("resource edges: `.` names every path, a top-level one too, on either side", () => {
  // It met only globs: a job reading `.` ran beside the job writing out.txt, read it half
  // written and was out of date at the next run (a top-level path's parent is none).
  for (const p of ["out.txt", "src/a.c", "deep/er/x", "*.o", "."]) {
    assert.equal(resourcesConflict(".", p), true, `. and ${p}`);
    assert.equal(resourcesConflict(p, "."), true, `${p} and .`);
  }
  assert.equal(resourcesConflict(".", "@lock"), false);
  const got: string[] = [];
  deriveResourceEdges([
    { name: "b", reads: ["src/a"], writes: ["out.txt"] },
    { name: "lint", reads: ["."], writes: [] },
    { name: "all", reads: [], writes: ["."] },
    { name: "r", reads: ["x"], writes: [] },
  ], (e) => got.push(`${e.from}>${e.to}:${e.kind}`));
  assert.deepEqual(got.sort(), [
    "all>r:resource",
    "b>all:order",
    "b>lint:resource",
    "lint>all:order",
  ]);
});

Deno.test("resource edges: paths on either side of the depth where folders are found by their last part", () => {
  // Folders less than 16 levels deep are found by their text, deeper ones under their parent:
  // paths that share folders on both sides of that depth, met in any order, are one resource
  // each (checked against plain prefix tests, not against the index itself).
  const level = Array.from({ length: 22 }, (_, i) => `l${i}`);
  const universe = [12, 14, 15, 16, 17, 18, 21, 22].flatMap((n) => {
    const path = level.slice(0, n).join("/");
    return [path, `${path}/x`];
  });
  const conflict = (a: string, b: string) =>
    a === b || b.startsWith(a + "/") || a.startsWith(b + "/");
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * n);
  };
  const pick = (n: number) => Array.from({ length: rnd(n) }, () => universe[rnd(universe.length)]);
  for (let round = 0; round < 300; round++) {
    const jobs = Array.from({ length: 1 + rnd(20) }, (_, i) => ({
      name: `j${i}`,
      reads: pick(4),
      writes: pick(3),
    }));
    const got: string[] = [];
    deriveResourceEdges(jobs, (e) => got.push(`${e.from}>${e.to}:${e.kind}`));
    assert.deepEqual(got.sort(), byDefinition(jobs, conflict), `round ${round}`);
  }
});

Deno.test("resource edges: an @name conflicts only with itself, one that looks like a glob too", () => {
  const edges = (reads: string, writes: string) => {
    const got: string[] = [];
    deriveResourceEdges(
      [{ name: "a", reads: [], writes: [writes] }, { name: "b", reads: [reads], writes: [] }],
      (e) => got.push(`${e.from}>${e.to}:${e.kind}`),
    );
    return got;
  };
  // `@n/*` is a name, not a glob over files: no conflict with the project folder `.`
  // (it had one while an @name that looked like a glob was indexed as a glob).
  assert.deepEqual(edges(".", "@n/*"), []);
  assert.deepEqual(edges("@n/x", "@n/*"), []);
  assert.deepEqual(edges("@n/*", "@n/*"), ["a>b:resource"]);
  assert.deepEqual(edges("@n/*", "."), []);
  assert.equal(resourcesConflict("@n/*", "."), false);
  assert.equal(resourcesConflict(".", "@n/*"), false);
});

Deno.test("resource edges: a path 60,000 folders deep costs its length (it took 25 s, and a crash once)", () => {
  const deep = Array(60_000).fill("a").join("/");
  const got: string[] = [];
  deriveResourceEdges(
    [
      { name: "w", reads: [], writes: [deep] },
      { name: "r", reads: [deep], writes: [] },
      { name: "top", reads: ["a"], writes: [] },
    ],
    (e) => got.push(`${e.from}>${e.to}:${e.kind}`),
  );
  assert.deepEqual(got, ["w>r:resource", "w>top:resource"]);
});

Deno.test("resource edges: 20,000 jobs reading and writing globs under folders of their own (each glob met every other: it took more than 11 minutes)", () => {
  const jobs = Array.from({ length: 20_000 }, (_, i) => ({
    name: `c${i}`,
    reads: [`src/d${i}/*.c`, "include/*.h"],
    writes: [`out/${i}.o`, `obj/${i}/*.d`],
  }));
  jobs.push({ name: "all", reads: ["obj/**"], writes: ["include/all.h"] });
  const got: string[] = [];
  deriveResourceEdges(jobs, (e) => got.push(`${e.from}>${e.to}`));
  // `all` waits for every writer of obj/; no job before it waits for another.
  assert.equal(got.length, 20_000);
  assert.ok(got.every((e) => e.endsWith(">all")));
});

Deno.test("resource edges: 20,000 jobs reading one glob, under a folder or none, that matches nothing they write (each read tested every path seen: 8,000 took 7 s)", () => {
  for (const glob of ["out/*.h", "**/*.c"]) {
    const jobs: Job[] = [{ name: "gen", reads: [], writes: ["out/gen.h", "src/gen.c"] }];
    for (let i = 0; i < 20_000; i++) {
      jobs.push({ name: `c${i}`, reads: [glob], writes: [`out/${i}.o`] });
    }
    const got: string[] = [];
    deriveResourceEdges(jobs, (e) => got.push(`${e.from}>${e.to}`));
    assert.equal(got.length, 20_000, glob);
    assert.ok(got.every((e) => e.startsWith("gen>")), glob);
  }
});

Deno.test("ResourceIndex: a glob under ./ finds `.` once", () => {
  const idx = new ResourceIndex<true>();
  for (const r of [".", "./src/a.c"]) idx.getOrAdd(r, () => true);
  assert.deepEqual(idx.conflicting("./src/*.c"), [".", "./src/a.c"]);
  idx.getOrAdd("./src/b.c", () => true);
  assert.deepEqual(idx.conflicting("./src/*.c"), [".", "./src/a.c", "./src/b.c"]);
});
