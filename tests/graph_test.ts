/**
 * Loader and edge-derivation tests: the ordering rules of CONTRACT.md.
 */
import assert from "node:assert/strict";
import {
  type Edge,
  globMatch,
  Graph,
  type JobSpec,
  normalizeResource,
  parseJobsFile,
  patternsOverlap,
} from "../lib/graph/mod.ts";

const edgesOf = (yaml: string, vars?: Record<string, string>) =>
  parseJobsFile(yaml, "t.yaml", { baseDir: "/w", vars }).edges.map((e) =>
    `${e.from}->${e.to}: ${e.reason}`
  );

Deno.test("after a writer come its readers; readers of one resource run together", () => {
  assert.deepEqual(
    edgesOf(`
jobs:
  w: { run: x, writes: [f] }
  r1: { run: x, reads: [f] }
  r2: { run: x, reads: [f] }
`),
    ["w->r1: writes f -> reads f", "w->r2: writes f -> reads f"],
  );
});

Deno.test("file order is the order written, for jobs named by numbers too", () => {
  // A mapping's integer-like keys come first in a JS object's key order: `1` was put
  // before `b` and read f before b wrote it.
  for (const name of ["1", "0", "42", "007"]) {
    const text = `
jobs:
  b: { run: x, writes: [f] }
  "${name}": { run: x, reads: [f] }
modules:
  m: { run: x }
  "9": { run: x }
`;
    assert.deepEqual(edgesOf(text), [`b->${name}: writes f -> reads f`], name);
    const g = parseJobsFile(text, "t.yaml", { baseDir: "/w" });
    assert.deepEqual(g.jobs.map((j) => j.name), ["b", name, "m", "9"]);
    // Without the fast YAML front end (each job's lines of its own) too.
    const block = text.replace(
      `"${name}": { run: x, reads: [f] }`,
      `"${name}":\n    run: x\n    reads: [f]`,
    );
    assert.deepEqual(edgesOf(block), [`b->${name}: writes f -> reads f`], `${name} block`);
  }
});

Deno.test("a writer comes after every earlier reader and writer", () => {
  assert.deepEqual(
    edgesOf(`
jobs:
  w1: { run: x, writes: [f] }
  r1: { run: x, reads: [f] }
  r2: { run: x, reads: [f] }
  w2: { run: x, writes: [f] }
  r3: { run: x, reads: [f] }
`),
    [
      "w1->r1: writes f -> reads f",
      "w1->r2: writes f -> reads f",
      "w1->w2: writes f -> writes f",
      "r1->w2: reads f -> writes f",
      "r2->w2: reads f -> writes f",
      "w2->r3: writes f -> reads f",
    ],
  );
});

Deno.test("a reader before any writer does not wait; file order decides", () => {
  assert.deepEqual(
    edgesOf(`
jobs:
  r: { run: x, reads: [f] }
  w: { run: x, writes: [f] }
`),
    ["r->w: reads f -> writes f"],
  );
});

Deno.test("a glob in reads matches paths other jobs write", () => {
  assert.deepEqual(
    edgesOf(`
jobs:
  gen: { run: x, writes: [out/gen.h] }
  other: { run: x, writes: [out/gen.c] }
  cc: { run: x, reads: [out/*.h] }
`),
    ["gen->cc: writes out/gen.h -> reads out/*.h"],
  );
});

Deno.test("a glob written first orders later plain readers; ** crosses directories", () => {
  assert.deepEqual(
    edgesOf(`
jobs:
  gen: { run: x, writes: ["out/**/*.o"] }
  use: { run: x, reads: [out/a/b/c.o] }
  no: { run: x, reads: [src/c.o] }
`),
    ["gen->use: writes out/**/*.o -> reads out/a/b/c.o"],
  );
});

Deno.test("a directory conflicts with the paths below it", () => {
  assert.deepEqual(
    edgesOf(`
jobs:
  mk: { run: x, writes: [out] }
  a: { run: x, writes: [out/a.o] }
  clean: { run: x, writes: [out] }
`),
    [
      "mk->a: writes out -> writes out/a.o",
      "mk->clean: writes out -> writes out",
      "a->clean: writes out/a.o -> writes out",
    ],
  );
});

Deno.test("@names match only themselves; paths are normalized", () => {
  assert.deepEqual(
    edgesOf(`
jobs:
  db: { run: x, writes: ["@db"] }
  q: { run: x, reads: ["@db", ./x//y] }
  w: { run: x, writes: [x/y] }
  at: { run: x, reads: ["@dbx"] }
`),
    ["db->q: writes @db -> reads @db", "q->w: reads x/y -> writes x/y"],
  );
});

Deno.test("needs, if and unless are edges with their reason", () => {
  assert.deepEqual(
    edgesOf(`
jobs:
  a: { run: x }
  b: { run: x, needs: a }
  c: { run: x, if: a }
  d: { run: x, unless: b }
`),
    ["a->b: needs", "a->c: if", "b->d: unless"],
  );
});

Deno.test("vars substitute in run, reads, writes, cwd, env; NAME=VALUE overrides", () => {
  const g = parseJobsFile(
    `
vars: { CC: gcc, OUT: out, OBJ: "\${OUT}/main.o" }
env: { A: "\${CC}" }
jobs:
  cc:
    run: \${CC} -o \${OBJ} $HOME \${UNKNOWN} $\${LITERAL}
    writes: ["\${OBJ}"]
    cwd: "\${OUT}"
    env: { B: "\${OUT}" }
`,
    "t.yaml",
    { baseDir: "/w", vars: { CC: "clang" } },
  );
  const j = g.jobs[0];
  assert.equal(j.command, "clang -o out/main.o $HOME ${UNKNOWN} ${LITERAL}");
  assert.deepEqual(j.argv, ["/bin/sh", "-c", j.command]);
  assert.deepEqual(j.writes, ["out/main.o"]);
  assert.equal(j.cwd, "/w/out");
  assert.deepEqual(j.env, { A: "clang", B: "out" });
});

Deno.test("vars substitute in a module's ready and health checks (http, cmd, log); NAME=VALUE overrides", () => {
  const yaml = `
vars: { PORT: "8080" }
modules:
  api:
    run: ./serve --port \${PORT}
    ready: { http: "http://127.0.0.1:\${PORT}/health" }
    health: { cmd: "curl -sf localhost:\${PORT} && test -n \\"\${HOME}\\"" }
  log:
    run: ./serve --port \${PORT}
    ready: { log: "listening on \${PORT}$" }
    health: { http: "http://localhost:\${PORT}/" }
  cmd:
    run: ./serve --port \${PORT}
    ready: { cmd: "nc -z localhost \${PORT}" }
`;
  const g = parseJobsFile(yaml, "t.yaml", { baseDir: "/w", vars: { PORT: "9090" } });
  const [api, log, cmd] = ["api", "log", "cmd"].map((n) => g.byName.get(n)!);
  assert.equal(api.ready?.http, "http://127.0.0.1:9090/health");
  // An unknown name in a command is the shell's, as in run.
  assert.equal(api.health?.cmd, 'curl -sf localhost:9090 && test -n "${HOME}"');
  assert.equal(log.ready?.log, "listening on 9090$");
  assert.equal(log.health?.http, "http://localhost:9090/");
  assert.equal(cmd.ready?.cmd, "nc -z localhost 9090");
  // An unknown name where no shell reads it is an error, at its place.
  assert.throws(
    () => parseJobsFile(yaml.replace("127.0.0.1:${PORT}", "${HOST}:${PORT}"), "t.yaml"),
    /modules.api.ready.http: unknown variable \$\{HOST\}/,
  );
});

Deno.test("a var inside the shell's own \${X:-...} is substituted; \$\${ stays literal around one", () => {
  const g = parseJobsFile(
    `vars: { V: vee }\njobs:\n  a: { run: "echo \${X:-\${V}} \${X:-$V} $\${X:-\${V}} \${V}" }\n`,
    "t.yaml",
    { baseDir: "/w" },
  );
  assert.equal(g.jobs[0].command, "echo ${X:-vee} ${X:-$V} ${X:-vee} vee");
});

Deno.test("an unknown \${NAME} in a list run stays as its text; in env it is an error, $\${ its text", () => {
  const g = parseJobsFile(
    `jobs:\n  a: { run: [echo, "\${HOME}/x"], env: { P: "$\${HOME}/bin", Q: "$\${CC}" } }\n`,
    "t.yaml",
    { baseDir: "/w" },
  );
  assert.deepEqual(g.jobs[0].argv, ["echo", "${HOME}/x"]);
  assert.deepEqual(g.jobs[0].env, { P: "${HOME}/bin", Q: "${CC}" });
  // It was kept as the text: env: { PATH: "${PATH}:/opt/bin" } set PATH to that, silently.
  for (
    const doc of [
      "jobs:\n  a: { run: x, env: { P: '${HOME}/bin' } }\n",
      "env: { P: '${HOME}' }\njobs:\n  a: { run: x }\n",
    ]
  ) {
    assert.throws(
      () => parseJobsFile(doc, "t.yaml", { baseDir: "/w" }),
      /env\.P: unknown variable \$\{HOME\} \(no shell reads env values/,
    );
  }
});

Deno.test("a list run is an argv; defaults are filled in", () => {
  const g = parseJobsFile(`jobs:\n  t: { run: [/bin/echo, "a b", 3] }\n`, "t.yaml", {
    baseDir: "/w",
  });
  const j = g.jobs[0];
  assert.deepEqual(j.argv, ["/bin/echo", "a b", "3"]);
  assert.equal(j.command, "/bin/echo 'a b' 3");
  assert.equal(j.tokens, 1);
  assert.equal(j.retries, 0);
  assert.equal(j.cwd, "/w");
});

Deno.test("durations", () => {
  const g = parseJobsFile(`jobs:\n  t: { run: x, timeout: 1m30s, grace: 250ms }\n`, "t.yaml");
  assert.equal(g.jobs[0].timeoutMs, 90_000);
  assert.equal(g.jobs[0].graceMs, 250);
});

Deno.test("select: named jobs and everything they wait for, transitively", () => {
  const g = parseJobsFile(
    `
jobs:
  a: { run: x, writes: [f] }
  b: { run: x, reads: [f], writes: [g] }
  c: { run: x, reads: [g] }
  d: { run: x }
`,
    "t.yaml",
  );
  assert.deepEqual(g.select(["c"]).map((j) => j.name), ["a", "b", "c"]);
  assert.deepEqual(g.select([]).map((j) => j.name), ["a", "b", "c", "d"]);
  assert.throws(() => g.select(["cc"]), /unknown job 'cc'/);
});

Deno.test("glob matching and overlap", () => {
  assert.ok(globMatch("src/*.c", "src/a.c"));
  assert.ok(!globMatch("src/*.c", "src/x/a.c"));
  assert.ok(globMatch("src/**/*.c", "src/a.c"));
  assert.ok(globMatch("src/**/*.c", "src/x/y/a.c"));
  assert.ok(globMatch("{a,b}.txt", "b.txt"));
  assert.ok(globMatch("file[0-9].txt", "file7.txt"));
  assert.ok(patternsOverlap("out/*.o", "out/a*.o"));
  assert.ok(!patternsOverlap("out/*.o", "src/*.o"));
  assert.ok(!patternsOverlap("out/*.o", "out/*.h"));
  assert.ok(patternsOverlap("out/**", "out/x/*.h"));
});

Deno.test("overlap: a path escaped to name itself (a foreach item's) is exact, as a plain path is", () => {
  assert.ok(!patternsOverlap("o/e-[*].out", "o/e-[@]x.out"));
  assert.ok(!patternsOverlap("o/e-a[[]1].out", "o/e-n[?].out"));
  assert.ok(patternsOverlap("o/e-[*].out", "o/e-[*].out"));
  assert.ok(patternsOverlap("o/e-[*].out", "o/*.out"));
  assert.ok(patternsOverlap("o/**", "o/e-[{]p[,]q[}].out"));
  assert.ok(!patternsOverlap("o/e-[*].out", "o/*.txt"));
});

Deno.test("foreach items with glob characters in their names: no edge between items writing other files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jx-foreach-" });
  await Deno.mkdir(`${dir}/src`);
  for (const f of ["*", "@x", "a[1]", "n?", "{p,q}"]) {
    await Deno.writeTextFile(`${dir}/src/${f}.in`, "");
  }
  const g = parseJobsFile(
    `
jobs:
  each:
    foreach: { glob: "src/*.in", as: F }
    run: cp \${F:q} o/\${F.stem:q}.out
    reads: ["\${F}"]
    writes: ["o/\${F.stem}.out"]
  all: { run: "cat o/*.out > all", reads: ["o/*.out"], writes: [all] }
`,
    "t.yaml",
    { baseDir: dir },
  );
  // Each item waits for no other, so `jx run 'each[src/{p,q}.in]'` runs that one alone.
  assert.deepEqual(
    g.edges.map((e) => `${e.from}->${e.to}`).filter((e) => !e.endsWith("->all")),
    [],
  );
  assert.deepEqual(g.select(["each[src/{p,q}.in]"]).map((j) => j.name), ["each[src/{p,q}.in]"]);
});

Deno.test("foreach items with glob characters in their names: a folder one writes orders what reads in it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jx-foreach-" });
  await Deno.mkdir(`${dir}/src`);
  for (const f of ["*", "a"]) await Deno.writeTextFile(`${dir}/src/${f}.in`, "");
  const g = parseJobsFile(
    `
jobs:
  mk:
    foreach: { glob: "src/*.in", as: F }
    run: mkdir -p o/\${F.stem:q}.d && cp \${F:q} o/\${F.stem:q}.d/x
    reads: ["\${F}"]
    writes: ["o/\${F.stem}.d"]
  use:
    foreach: { glob: "src/*.in", as: F }
    run: cat o/\${F.stem:q}.d/x > \${F.stem:q}.r
    reads: ["o/\${F.stem}.d/x"]
    writes: ["\${F.stem}.r"]
`,
    "t.yaml",
    { baseDir: dir },
  );
  assert.deepEqual(g.edges.map((e) => `${e.from}->${e.to}: ${e.reason}`), [
    "mk[src/*.in]->use[src/*.in]: writes o/[*].d -> reads o/[*].d/x",
    "mk[src/a.in]->use[src/a.in]: writes o/a.d -> reads o/a.d/x",
  ]);
});

Deno.test("foreach: a glob that matches nothing names no job, as in needs: jx run GROUP runs nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jx-foreach-" });
  const g = parseJobsFile(
    `
jobs:
  each: { foreach: { glob: "in/*.txt", as: F }, run: "cp \${F} out", reads: ["\${F}"] }
  after: { run: "true", needs: [each] }
`,
    "t.yaml",
    { baseDir: dir },
  );
  assert.deepEqual(g.select(["each"]), []);
  assert.deepEqual(g.select(["after", "each"]).map((j) => j.name), ["after"]);
  assert.throws(() => g.select(["eahc"]), /unknown job 'eahc' \(did you mean 'each'\?\)/);
});

Deno.test("10,000 jobs load and derive edges quickly enough to matter (not timed)", () => {
  const lines = ["jobs:"];
  for (let i = 0; i < 10000; i++) {
    lines.push(
      `  c${i}: { run: [cp, src/${i}.txt, out/${i}.txt], reads: [src/${i}.txt], writes: [out/${i}.txt] }`,
    );
  }
  lines.push(`  all: { run: x, reads: ["out/*.txt"] }`);
  const g = parseJobsFile(lines.join("\n"), "big.yaml");
  assert.equal(g.edges.length, 10000);
});

Deno.test("docs/jobs.schema.json is generated from the loader's schema (deno task schema)", async () => {
  const { schemaText } = await import("../tools/schema.ts");
  const onDisk = await Deno.readTextFile(new URL("../docs/jobs.schema.json", import.meta.url));
  assert.equal(onDisk, schemaText());
});

Deno.test("YAML anchors, aliases, merge keys and x- extension keys work", () => {
  const g = parseJobsFile(
    `
x-defaults: &defaults
  timeout: 5s
  retries: 1
jobs:
  a: &a
    <<: *defaults
    run: echo a
    reads: &srcs [src/a.c, src/b.c]
  b:
    <<: *a
    run: echo b
    retries: 3
    reads: *srcs
`,
    "t.yaml",
  );
  const [a, b] = g.jobs;
  assert.deepEqual([a.timeoutMs, a.retries, a.command, a.reads], [5000, 1, "echo a", [
    "src/a.c",
    "src/b.c",
  ]]);
  assert.deepEqual([b.timeoutMs, b.retries, b.command, b.reads], [5000, 3, "echo b", [
    "src/a.c",
    "src/b.c",
  ]]);
});

Deno.test("large files are cached in .jx/; any change of text or vars reloads", async () => {
  const { loadJobsFile } = await import("../lib/graph/mod.ts");
  const dir = await Deno.makeTempDir({ prefix: "jx-cache-" });
  const file = `${dir}/jobs.yaml`;
  const lines = ["vars: { X: a }", "jobs:"];
  for (let i = 0; i < 1500; i++) {
    lines.push(`  j${i}: { run: "echo \${X} ${i}", writes: [o/${i}] }`);
  }
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  const first = loadJobsFile(file);
  const cache = `${dir}/.jx/graph-jobs.yaml.json`;
  assert.ok((await Deno.stat(cache)).isFile);
  const second = loadJobsFile(file);
  assert.equal(JSON.stringify(second.jobs), JSON.stringify(first.jobs));
  assert.equal(JSON.stringify(second.edges), JSON.stringify(first.edges));
  assert.equal(second.jobs[5].command, "echo a 5");
  assert.equal(loadJobsFile(file, { vars: { X: "b" } }).jobs[5].command, "echo b 5");
  await Deno.writeTextFile(file, lines.join("\n").replace("echo ${X} 5", "echo changed") + "\n");
  assert.equal(loadJobsFile(file).jobs[5].command, "echo changed");
  await Deno.writeTextFile(cache, "{ not json");
  assert.equal(loadJobsFile(file).jobs[5].command, "echo changed");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("foreach: a list, a glob on disk and a matrix expand into job[item] with item variables", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jx-foreach-" });
  await Deno.mkdir(`${dir}/src/lib`, { recursive: true });
  for (const f of ["src/a.c", "src/b.c", "src/lib/c.c", "src/x.h"]) {
    await Deno.writeTextFile(`${dir}/${f}`, "");
  }
  const g = parseJobsFile(
    `
vars: { OUT: out }
jobs:
  cc:
    foreach: { glob: "src/**/*.c", as: SRC }
    run: cc -c \${SRC} -o \${OUT}/\${SRC.stem}.o
    reads: ["\${SRC}"]
    writes: ["\${OUT}/\${SRC.stem}.o"]
  link: { run: ld, reads: ["out/*.o"], writes: [out/app] }
  test:
    foreach: { matrix: { OS: [linux, mac], ARCH: [x64, arm] } }
    run: echo \${OS}/\${ARCH}
    needs: [link]
  say: { foreach: [hi, 2], run: "echo \${ITEM}" }
  after: { run: "true", needs: [test] }
`,
    "t.yaml",
    { baseDir: dir },
  );
  assert.deepEqual(g.jobs.map((j) => j.name), [
    "cc[src/a.c]",
    "cc[src/b.c]",
    "cc[src/lib/c.c]",
    "link",
    "test[linux,x64]",
    "test[linux,arm]",
    "test[mac,x64]",
    "test[mac,arm]",
    "say[hi]",
    "say[2]",
    "after",
  ]);
  const c = g.byName.get("cc[src/lib/c.c]")!;
  assert.equal(c.command, "cc -c src/lib/c.c -o out/c.o");
  assert.deepEqual(c.writes, ["out/c.o"]);
  assert.equal(c.group, "cc");
  assert.equal(g.byName.get("test[mac,arm]")!.command, "echo mac/arm");
  assert.equal(g.byName.get("say[2]")!.command, "echo 2");
  // Ordering is derived as usual on the expanded jobs; needs on a group waits for all of it.
  assert.deepEqual(g.depsOf("link").map((e) => e.from), [
    "cc[src/a.c]",
    "cc[src/b.c]",
    "cc[src/lib/c.c]",
  ]);
  assert.deepEqual(g.depsOf("after").map((e) => `${e.from}: ${e.reason}`), [
    "test[linux,x64]: needs test",
    "test[linux,arm]: needs test",
    "test[mac,x64]: needs test",
    "test[mac,arm]: needs test",
  ]);
  // The group's name selects all of it; one item by its full name.
  assert.deepEqual(g.select(["cc"]).map((j) => j.name), [
    "cc[src/a.c]",
    "cc[src/b.c]",
    "cc[src/lib/c.c]",
  ]);
  assert.deepEqual(g.select(["cc[src/b.c]"]).map((j) => j.name), ["cc[src/b.c]"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("foreach: bad forms are one-line errors with positions", () => {
  const err = (yaml: string) => {
    try {
      parseJobsFile(yaml, "t.yaml", { baseDir: "/" });
    } catch (e) {
      return (e as { format(): string }).format();
    }
    return "no error";
  };
  assert.equal(
    err("jobs:\n  a:\n    run: x\n    foreach: { glob: '*.c', list: [a] }\n"),
    "t.yaml:4:14: jobs.a.foreach: give exactly one of glob, list, matrix",
  );
  assert.equal(
    err("jobs:\n  a:\n    run: x\n    foreach: { globb: '*.c' }\n"),
    "t.yaml:4:16: jobs.a.foreach: unknown key 'globb' (did you mean 'glob'?)",
  );
  assert.equal(
    err("jobs:\n  a:\n    run: x\n    foreach: []\n"),
    "t.yaml:4:14: jobs.a.foreach: expected a non-empty list",
  );
  assert.equal(
    err("jobs:\n  a:\n    run: x\n    foreach: { list: [a], as: 'bad-name' }\n"),
    "t.yaml:4:31: jobs.a.foreach.as: invalid variable name 'bad-name'",
  );
});

Deno.test("foreach: vars are substituted in list items and matrix values, as in a glob", () => {
  const yaml = `
vars: { A: alpha, OS: linux }
jobs:
  g: { foreach: ["\${A}", b, "$\${A}"], run: "echo \${ITEM}" }
  l: { foreach: { list: ["\${A}/x.c"], as: F }, run: "echo \${F.stem}", writes: ["\${F}"] }
  m: { foreach: { matrix: { X: ["\${OS}", mac] } }, run: "echo \${X}" }
`;
  const g = parseJobsFile(yaml, "t.yaml", { baseDir: "/w" });
  assert.deepEqual(
    g.jobs.map((j) => `${j.name}: ${j.command}`),
    [
      "g[alpha]: echo alpha",
      "g[b]: echo b",
      "g[${A}]: echo ${A}",
      "l[alpha/x.c]: echo x",
      "m[linux]: echo linux",
      "m[mac]: echo mac",
    ],
  );
  assert.deepEqual(g.get("l[alpha/x.c]").writes, ["alpha/x.c"]);
  // A var given on the command line (NAME=VALUE) too.
  const over = parseJobsFile(yaml, "t.yaml", { baseDir: "/w", vars: { OS: "win" } });
  assert.ok(over.jobs.some((j) => j.name === "m[win]"));
});

Deno.test("foreach: an unknown var in a list item or a matrix value is refused at the item", () => {
  const err = (yaml: string) => {
    try {
      parseJobsFile(yaml, "t.yaml", { baseDir: "/" });
    } catch (e) {
      return (e as { format(): string }).format();
    }
    return "no error";
  };
  assert.equal(
    err('vars: { AB: a }\njobs:\n  g: { foreach: [x, "${AC}"], run: x }\n'),
    "t.yaml:3:21: jobs.g.foreach[1]: unknown variable ${AC}",
  );
  assert.equal(
    err('jobs:\n  g: { foreach: { list: ["${B}"] }, run: x }\n'),
    "t.yaml:2:26: jobs.g.foreach.list[0]: unknown variable ${B}",
  );
  assert.equal(
    err('jobs:\n  g:\n    run: x\n    foreach: { matrix: { X: [a, "${C}"] } }\n'),
    "t.yaml:4:33: jobs.g.foreach.matrix.X[1]: unknown variable ${C}",
  );
});

Deno.test("durations: a unit given twice (1h1h) is refused in every duration field, not added up", () => {
  const err = (yaml: string) => {
    try {
      parseJobsFile(yaml, "t.yaml", { baseDir: "/" });
    } catch (e) {
      return (e as { format(): string }).format();
    }
    return "no error";
  };
  const twice = (u: string) => `'${u}' twice (give each unit once, e.g. 2h or 1h30m)`;
  assert.equal(
    err("jobs:\n  a: { run: x, timeout: 1h1h }\n"),
    `t.yaml:2:25: jobs.a.timeout: bad duration "1h1h": ${twice("h")}`,
  );
  assert.equal(
    err("jobs:\n  a: { run: x, grace: 2s1m3s }\n"),
    `t.yaml:2:23: jobs.a.grace: bad duration "2s1m3s": ${twice("s")}`,
  );
  assert.equal(
    err("modules:\n  m: { run: x, ready: { timeout: 1m1m } }\n"),
    `t.yaml:2:34: modules.m.ready.timeout: bad duration "1m1m": ${twice("m")}`,
  );
  assert.equal(
    err("jobs:\n  a: { run: x, retries: { count: 1, max_delay: 1ms2ms } }\n"),
    `t.yaml:2:48: jobs.a.retries.max_delay: bad duration "1ms2ms": ${twice("ms")}`,
  );
  // Each unit once, in any order, is as before.
  const ok = parseJobsFile("jobs:\n  a: { run: x, timeout: 1h30m5s, grace: 30s1m }\n", "t.yaml", {
    baseDir: "/",
  });
  assert.equal(ok.get("a").timeoutMs, 5_405_000);
  assert.equal(ok.get("a").graceMs, 90_000);
});

Deno.test("an edge that is both order and resource is a resource edge (a failure spreads)", () => {
  const g = parseJobsFile(
    "jobs:\n  a: { run: x, reads: [y], writes: [x] }\n  b: { run: x, reads: [x], writes: [y] }\n",
    "t.yaml",
    { baseDir: "/w" },
  );
  assert.deepEqual(
    g.edges.map((e) => `${e.from}->${e.to} ${e.kind}: ${e.reason}`),
    ["a->b resource: writes x -> reads x"],
  );
});

Deno.test("normalizeResource: its shortcut agrees with the full walk on every short path", () => {
  const full = (r: string) => {
    if (r[0] === "@") return r;
    const parts: string[] = [];
    for (const p of r.split("/")) {
      if (p === "" || p === ".") continue;
      if (p === ".." && parts.length && parts[parts.length - 1] !== "..") parts.pop();
      else parts.push(p);
    }
    return (r.startsWith("/") ? "/" : "") + parts.join("/") || ".";
  };
  const alphabet = ["a", ".", "..", "/", "x.", ".y", "@"];
  const walk = (s: string, k: number): void => {
    assert.equal(normalizeResource(s), full(s), JSON.stringify(s));
    if (k > 0) { for (const c of alphabet) walk(s + c, k - 1); }
  };
  walk("", 5);
});

/** Jobs j0..j39, `few` and `many` (for edges into them), and a `needs` edge with a reason. */
function fewAndMany() {
  const names = Array.from({ length: 40 }, (_, i) => `j${i}`);
  const jobs = [...names, "few", "many"].map((name) => ({ name }) as JobSpec);
  const edge = (from: string, to: string, reason: string): Edge => ({
    from,
    to,
    kind: "needs",
    reason,
  });
  return { names, jobs, edge };
}

Deno.test("Graph: edges known to be new among themselves are checked against those before them only", () => {
  const { names, jobs, edge } = fewAndMany();
  const links = [
    edge("j0", "few", "link"),
    ...names.slice(0, 20).map((n) => edge(n, "many", "link")),
  ];
  // From `unique` on: a pair a link has (dropped), and pairs of their own (kept, none twice).
  const more = [
    edge("j0", "few", "resource"),
    edge("j1", "few", "resource"),
    ...names.map((n) => edge(n, "many", "resource")),
  ];
  const g = new Graph("t.yaml", jobs, new Map(), [...links, ...more], undefined, links.length);
  assert.deepEqual(g.depsOf("few").map((e) => `${e.from} ${e.reason}`), ["j0 link", "j1 resource"]);
  assert.equal(g.depsOf("many").length, 40);
  assert.deepEqual(
    g.depsOf("many").map((e) => e.reason),
    [...Array(20).fill("link"), ...Array(20).fill("resource")],
  );
  assert.equal(g.edges.length, 42);
  // As the loader builds them: a job that needs its input's writer has the one edge, the link.
  const loaded = parseJobsFile(
    "jobs:\n  a: { run: x, writes: [o] }\n  b: { run: y, reads: [o], needs: [a] }\n",
    "j.yaml",
  );
  assert.deepEqual(loaded.edges, [{ from: "a", to: "b", kind: "needs", reason: "needs" }]);
});

Deno.test("Graph keeps one edge per ordered pair, for a job with few edges in and with many", () => {
  const { names, jobs, edge } = fewAndMany();
  const edges = [
    ...names.slice(0, 3).map((n) => edge(n, "few", "first")),
    ...names.map((n) => edge(n, "many", "first")),
    ...names.slice(0, 3).map((n) => edge(n, "few", "again")),
    ...names.map((n) => edge(n, "many", "again")),
  ];
  const g = new Graph("t.yaml", jobs, new Map(), edges);
  assert.equal(g.edges.length, 43);
  assert.deepEqual(g.depsOf("few").map((e) => e.reason), ["first", "first", "first"]);
  assert.deepEqual(new Set(g.depsOf("many").map((e) => e.reason)), new Set(["first"]));
  assert.equal(g.depsOf("many").length, 40);
  assert.equal(g.dependentsOf("j0").length, 2);
});

Deno.test("when: env names no variable can have ('', 'A=B') are unset, not an error (Deno's env throws on them)", async () => {
  const { whenFails } = await import("../lib/graph/when.ts");
  assert.equal(whenFails({ when: { env: "" } }), "when: env  is not set");
  assert.equal(whenFails({ when: { env: "A=B" } }), "when: env A=B is not set");
  assert.equal(whenFails({ when: { env: "PATH" } }), undefined);
});

Deno.test("a cycle through resource edges and one link edge back is found; forward edges alone load", () => {
  const cycle = (yaml: string) => {
    try {
      parseJobsFile(yaml, "t.yaml", { baseDir: "/w" });
      return "loaded";
    } catch (e) {
      return (e as Error).message;
    }
  };
  // a -> b -> c by what they write and read; c's edge back to a is `needs` (a needs c).
  const back = "jobs:\n  a: { run: x, writes: [p], needs: [c] }\n" +
    "  b: { run: x, reads: [p], writes: [q] }\n  c: { run: x, reads: [q] }\n";
  assert.match(cycle(back), /^cycle: /);
  // The same jobs with the `needs` forward (c needs a): no cycle, nothing refused.
  const forward = "jobs:\n  a: { run: x, writes: [p] }\n" +
    "  b: { run: x, reads: [p], writes: [q] }\n  c: { run: x, reads: [q], needs: [a] }\n";
  assert.equal(cycle(forward), "loaded");
  // A job that needs itself is refused before any cycle check.
  assert.match(cycle("jobs:\n  a: { run: x, needs: [a] }\n"), /cannot need itself/);
});

Deno.test("docs/jobs.schema.json: a duration with a unit twice is refused there too, as the loader does", async () => {
  const { schemaText } = await import("../tools/schema.ts");
  const patterns = new Set<string>();
  JSON.parse(schemaText(), (k, v) => {
    if (k === "pattern" && typeof v === "string" && v.includes("ms|s|m|h")) patterns.add(v);
    return v;
  });
  assert.equal(patterns.size, 1, [...patterns].join(" "));
  const re = new RegExp([...patterns][0]);
  for (const ok of ["1h", "1h30m", "1m30s", "500ms", "1m1ms", "30s1m", "2", "1.5", "1.5h"]) {
    assert.ok(re.test(ok), ok);
  }
  for (const bad of ["1h1h", "1m30s1m", "500ms500ms", "1s2ms3s", "1m5m", "5x", "1 h"]) {
    assert.ok(!re.test(bad), bad);
  }
});

Deno.test("a number or flag where the schema takes text is its text as written (3.10 stays 3.10), with either YAML front end", () => {
  const body = "vars: { PY: 3.10, HEX: 0x1F, T: True, N: -0.50, E: 1e3 }\n" +
    "env: { V: 3.10 }\n" +
    "jobs:\n" +
    "  a: { run: 'echo ${PY} ${HEX} ${T} ${N} ${E}', env: { L: 1.50 } }\n" +
    "  c: { run: [echo, 3.10], description: 2.0 }\n" +
    "  m:\n" +
    "    foreach: { list: [3.8, 3.10], as: V }\n" +
    "    run: echo ${V}\n";
  // The fast front end; then the `yaml` package's (an anchor makes the fast one give up).
  for (const text of [body, `x-a: &a 1\n${body}`]) {
    const g = parseJobsFile(text, "jobs.yaml");
    const a = g.byName.get("a")!, c = g.byName.get("c")!;
    assert.equal(a.command, "echo 3.10 0x1F True -0.50 1e3");
    assert.equal(a.env.V, "3.10");
    assert.equal(a.env.L, "1.50");
    assert.deepEqual(c.argv, ["echo", "3.10"]);
    assert.equal(c.description, "2.0");
    assert.deepEqual(g.jobs.map((j) => j.name).filter((n) => n.startsWith("m")), [
      "m[3.8]",
      "m[3.10]",
    ]);
  }
});

Deno.test("slurm: options take vars, checked once substituted", () => {
  // Before: `partition: "${PART}"` reached srun as that text (`--partition=${PART}`).
  const text = `executor: slurm
vars: { PART: main, C: avx2 }
jobs:
  a: { run: "true", slurm: { partition: "\${PART}", time: "\${M}:00", args: ["--constraint=\${C}"] } }
  t: { run: "true", foreach: [p1, p2], slurm: { partition: "\${ITEM}" } }
`;
  const g = parseJobsFile(text, "t.yaml", { baseDir: "/w", vars: { M: "5" } });
  const slurm = (n: string) => (g.get(n) as { slurm?: unknown }).slurm;
  assert.deepEqual(slurm("a"), { partition: "main", time: "5:00", args: ["--constraint=avx2"] });
  assert.deepEqual(slurm("t[p2]"), { partition: "p2" });
});

Deno.test("vars: a command-line value (NAME=VALUE) is read as the var's own would be at its place: ${NAME} of the vars above it", () => {
  const yaml = "vars:\n  OUT: out\n  OBJ: ${OUT}/main.o\n  TAG: v1\n" +
    'jobs:\n  c: { run: "cc -o ${OBJ} ${TAG}", writes: ["${OBJ}"] }\n';
  const load = (vars: Record<string, string>) =>
    parseJobsFile(yaml, "t.yaml", { baseDir: "/w", vars }).get("c");
  // It reached the job as that text: the shell expanded ${OUT} (empty), writing /x.o.
  assert.deepEqual(load({ OBJ: "${OUT}/x.o" }).writes, ["out/x.o"]);
  assert.equal(load({ OBJ: "${OUT}/x.o" }).command, "cc -o out/x.o v1");
  // The other values given are the vars' values too; `$${` is a literal `${`.
  assert.equal(load({ OUT: "b", OBJ: "${OUT}/x.o" }).command, "cc -o b/x.o v1");
  assert.equal(load({ TAG: "$${TAG}" }).command, "cc -o out/main.o ${TAG}");
  const err = (vars: Record<string, string>) => {
    try {
      load(vars);
    } catch (e) {
      return (e as { format(): string }).format();
    }
    return "no error";
  };
  assert.equal(
    err({ OBJ: "${NOPE}/x.o" }),
    "OBJ=... on the command line: unknown variable ${NOPE}",
  );
  assert.equal(
    err({ OUT: "${TAG}" }),
    "OUT=... on the command line: ${TAG} is set below it (a var may use only the vars above it)",
  );
  // A name the file does not set comes first, as it is.
  assert.equal(
    parseJobsFile('vars:\n  A: "${P}/a"\njobs:\n  c: { run: "echo ${A}" }\n', "t.yaml", {
      baseDir: "/w",
      vars: { P: "pre" },
    }).get("c").command,
    "echo pre/a",
  );
});
