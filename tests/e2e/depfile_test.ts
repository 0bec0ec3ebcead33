/**
 * Depfiles with real gcc: the headers a depfile names are inputs of the
 * compile from its next run on, kept in the state (not only in the `.d`).
 */
import assert from "node:assert/strict";
import { readEvents, runJx, tempDir, waitForFile } from "../helpers.ts";

const cc = (x: string) => `
  cc-${x}:
    run: gcc -MMD -MP -MF out/${x}.d -Iinclude -c src/${x}.c -o out/${x}.o
    reads: [src/${x}.c]
    writes: [out/${x}.o]
    depfile: out/${x}.d`;

const JOBS = `jobs:${cc("a")}${cc("b")}${cc("c")}
  link:
    run: gcc out/a.o out/b.o out/c.o -o out/app
    reads: ["out/*.o"]
    writes: [out/app]
`;

async function ran(dir: string): Promise<string[]> {
  const r = await runJx(["run", "--events", "ev.ndjson", "--output", "quiet"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  return ev.filter((e) => e.type === "job.end").map((e) => e.job!).sort();
}

async function project(): Promise<string> {
  const dir = await tempDir({
    "jobs.yaml": JOBS,
    "include/common.h": "#define ONE 1\n",
    "include/my h.h": "#define TWO 2\n",
    "src/a.c": '#include "common.h"\n#include "my h.h"\nint a(void) { return ONE + TWO; }\n',
    "src/b.c": '#include "common.h"\nint b(void) { return ONE; }\n',
    "src/c.c": "int a(void); int b(void);\nint main(void) { return a() + b() - 4; }\n",
    "out/.keep": "",
  });
  assert.deepEqual(await ran(dir), ["cc-a", "cc-b", "cc-c", "link"]);
  assert.deepEqual(await ran(dir), []);
  return dir;
}

Deno.test("editing a header that only the depfile names reruns exactly the compiles that include it", async () => {
  const dir = await project();
  await Deno.writeTextFile(`${dir}/include/common.h`, "#define ONE 1 /* edited */\n");
  // a.o and b.o get the same bytes: early cutoff leaves link up to date.
  assert.deepEqual(await ran(dir), ["cc-a", "cc-b"]);
  // A name with a space (`\ ` in the depfile).
  await Deno.writeTextFile(`${dir}/include/my h.h`, "#define TWO (1 + 1)\n");
  assert.deepEqual(await ran(dir), ["cc-a"]);
  const ex = await runJx(["explain", "cc-b"], { cwd: dir });
  assert.match(ex.stdout, /up to date/);
});

Deno.test("deleting the .d files does not make a compile wrongly up to date", async () => {
  const dir = await project();
  for (const x of ["a", "b", "c"]) await Deno.remove(`${dir}/out/${x}.d`);
  assert.deepEqual(await ran(dir), [], "the state, not the .d, holds the inputs");
  await Deno.writeTextFile(`${dir}/include/common.h`, "#define ONE 1 /* again */\n");
  const ex = await runJx(["explain", "cc-a"], { cwd: dir });
  assert.match(ex.stdout, /include\/common\.h changed/);
  assert.deepEqual(await ran(dir), ["cc-a", "cc-b"]);
});

Deno.test("a header removed from disk reruns its compile (which then fails like make's)", async () => {
  const dir = await project();
  await Deno.remove(`${dir}/include/my h.h`);
  const r = await runJx(["run", "--output", "quiet", "cc-a"], { cwd: dir });
  assert.equal(r.code, 1, "gcc cannot find the header: the job ran");
});

Deno.test("a header whose name holds glob characters is that file, not a pattern", async () => {
  // gcc writes `include/x[12].h` as it is in the depfile: a path, not a glob matching x1.h, x2.h.
  const dir = await tempDir({
    "jobs.yaml": `jobs:${cc("a")}\n`,
    "include/x[12].h": "#define X 12\n",
    "include/x1.h": "#define X 1\n",
    "include/x2.h": "#define X 2\n",
    "src/a.c": '#include "x[12].h"\nint a(void) { return X; }\n',
    "out/.keep": "",
  });
  const plain = () => runJx(["run", "-v"], { cwd: dir });
  assert.deepEqual(await ran(dir), ["cc-a"]);
  assert.deepEqual(await ran(dir), []);
  assert.equal((await plain()).code, 0); // writes the no-op record
  // Files the name would match as a glob are no inputs: edited, nothing runs (either way).
  await Deno.writeTextFile(`${dir}/include/x1.h`, "#define X 1 /* edited */\n");
  await Deno.writeTextFile(`${dir}/include/x2.h`, "#define X 2 /* edited */\n");
  assert.doesNotMatch((await plain()).stderr, /start cc-a/);
  assert.deepEqual(await ran(dir), []);
  // The header itself, edited: the compile reruns, on the full way and on the no-op fast path.
  await Deno.writeTextFile(`${dir}/include/x[12].h`, "#define X (12)\n");
  assert.deepEqual(await ran(dir), ["cc-a"]);
  assert.equal((await plain()).code, 0);
  assert.doesNotMatch((await plain()).stderr, /start cc-a/);
  await Deno.writeTextFile(`${dir}/include/x[12].h`, "#define X (6 + 6)\n");
  assert.match((await plain()).stderr, /start cc-a/);
});

Deno.test("a bad depfile path is refused with its position", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  a:\n    run: 'true'\n    depfile: ../x.d\n",
  });
  const r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^jobs\.yaml:4:14: jobs\.a\.depfile: '\.\.\/x\.d' is outside/);
});

Deno.test("the no-op fast path sees a header that only the depfile names", async () => {
  const dir = await project();
  const plain = () => runJx(["run", "-v"], { cwd: dir });
  assert.equal((await plain()).code, 0); // writes the no-op record
  assert.doesNotMatch((await plain()).stderr, /start cc-/); // replayed from it
  await Deno.writeTextFile(`${dir}/include/common.h`, "#define ONE 1 /* no-op */\n");
  const r = await plain();
  assert.match(r.stderr, /start cc-a/);
  assert.match(r.stderr, /start cc-b/);
  assert.doesNotMatch(r.stderr, /start cc-c/);
});

Deno.test("jx watch: editing a header the depfile names reruns the compiles that include it", async () => {
  const { Session } = await import("./watch_helpers.ts");
  const dir = await project();
  await Deno.remove(`${dir}/ev.ndjson`); // the session's own log, not the runs' before it
  const w = new Session("deno", dir);
  try {
    await w.cycles(1);
    await Deno.writeTextFile(`${dir}/include/my h.h`, "#define TWO (2)\n");
    await w.cycles(2);
    assert.deepEqual(await w.ranIn(1), ["cc-a"]);
    await Deno.writeTextFile(`${dir}/include/common.h`, "#define ONE (1)\n");
    await w.cycles(3);
    assert.deepEqual(await w.ranIn(2), ["cc-a", "cc-b"]);
  } finally {
    await w.stop();
  }
});

Deno.test("a header only the depfile names, edited while its compile runs (the first): the next run compiles again (it was up to date for ever, its object stale)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:
  cc:
    run: "cat main.c h.h > out.o; printf 'out.o: main.c h.h\\\\n' > out.d; echo x > read; sleep 1"
    reads: [main.c]
    writes: [out.o, out.d]
    depfile: out.d
`,
    "main.c": "main\n",
    "h.h": "h5\n",
  });
  const during = runJx(["run", "--output", "quiet"], { cwd: dir });
  await waitForFile(`${dir}/read`);
  await Deno.writeTextFile(`${dir}/h.h`, "h6\n"); // after the job read it
  const r = await during;
  assert.equal(r.code, 0);
  assert.match(r.stderr, /cc: h\.h, which its depfile names, changed while it ran: it runs again/);
  assert.equal(await Deno.readTextFile(`${dir}/out.o`), "main\nh5\n");
  assert.deepEqual(await ran(dir), ["cc"], "the header changed while it ran");
  assert.equal(await Deno.readTextFile(`${dir}/out.o`), "main\nh6\n");
  assert.deepEqual(await ran(dir), [], "then up to date");
});

Deno.test("a header outside the project (-I../common) is an input too; a system header is not", async () => {
  const dir = await tempDir({
    "proj/jobs.yaml": `jobs:
  cc:
    run: gcc -MD -MF out/a.d -I../common -c src/a.c -o out/a.o
    reads: [src/a.c]
    writes: [out/a.o]
    depfile: out/a.d
`,
    "common/c.h": "#define ONE 1\n",
    "proj/src/a.c": '#include <stddef.h>\n#include "c.h"\nint a(void) { return ONE; }\n',
    "proj/out/.keep": "",
  });
  const proj = `${dir}/proj`;
  assert.deepEqual(await ran(proj), ["cc"]);
  assert.match(await Deno.readTextFile(`${proj}/out/a.d`), /\/stddef\.h/); // -MD: absolute
  assert.deepEqual(await ran(proj), []);
  await Deno.writeTextFile(`${dir}/common/c.h`, "#define ONE 2\n");
  const ex = await runJx(["explain", "cc"], { cwd: proj });
  assert.match(ex.stdout, /input \.\.\/common\/c\.h changed/);
  assert.doesNotMatch(ex.stdout, /stddef/);
  assert.deepEqual(await ran(proj), ["cc"]);
  assert.deepEqual(await ran(proj), []);
});

Deno.test("a malformed depfile: one warning naming its file and line, and the job is never up to date while it stays so", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  cc:\n    run: cp src.c out.o && cp dep.txt out.d\n    reads: [src.c]\n" +
      "    writes: [out.o, out.d]\n    depfile: out.d\n",
    "src.c": "s\n",
    "hdr.h": "h\n",
    // gcc's form, then a line that is no rule (its file, say, half written by another tool).
    "dep.txt": "out.o: src.c \\\n  hdr.h\nthis is not a rule\n",
  });
  const warning = "jx: warning: cc: out.d:3: not a make rule (TARGET: PREREQUISITES): the " +
    "depfile's inputs are not known: it runs again next time\n";
  for (let i = 0; i < 2; i++) {
    const r = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.split(warning).length, 2, r.stderr); // once
    assert.ok(r.stderr.startsWith(warning), r.stderr);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.deepEqual(ev.filter((e) => e.type === "job.end").map((e) => e.job), ["cc"], `run ${i}`);
  }
  const ex = await runJx(["explain", "cc"], { cwd: dir });
  assert.match(ex.stdout, /its depfile out.d:3: not a make rule/);
  // Fixed: it runs once more (its depfile is read after it), then is up to date.
  await Deno.writeTextFile(`${dir}/dep.txt`, "out.o: src.c \\\n  hdr.h\n");
  assert.deepEqual(await ran(dir), ["cc"]);
  assert.deepEqual(await ran(dir), []);
  await Deno.writeTextFile(`${dir}/hdr.h`, "h2\n");
  assert.deepEqual(await ran(dir), ["cc"]);
});

Deno.test("jx watch: a header the first compile lists, in a folder not watched yet, edited while it ran: a cycle runs it again (the edit had no event to start one)", async () => {
  const { Session } = await import("./watch_helpers.ts");
  const dir = await tempDir({
    "jobs.yaml": `jobs:
  cc:
    run: "cat main.c inc/h.h > out.o; printf 'out.o: main.c inc/h.h\\\\n' > out.d; echo x > read; while [ ! -e go ]; do sleep 0.05; done"
    reads: [main.c]
    writes: [out.o, out.d, read]
    depfile: out.d
`,
    "main.c": "main\n",
    "inc/h.h": "h5\n",
  });
  const w = new Session("deno", dir);
  try {
    await waitForFile(`${dir}/read`);
    await Deno.writeTextFile(`${dir}/inc/h.h`, "h6\n"); // after cc read it; inc/ not watched yet
    await Deno.writeTextFile(`${dir}/go`, "");
    await w.cycles(2);
    assert.deepEqual(await w.ranIn(1), ["cc"]);
    assert.equal(await Deno.readTextFile(`${dir}/out.o`), "main\nh6\n");
  } finally {
    await w.stop();
  }
});

Deno.test("jx watch: a header the first compile lists, in a folder not watched yet, edited after it ended, before the cycle's: a cycle runs it again", async () => {
  const { Session } = await import("./watch_helpers.ts");
  const dir = await tempDir({
    "jobs.yaml": `jobs:
  cc:
    run: "cat main.c inc/h.h > out.o; printf 'out.o: main.c inc/h.h\\\\n' > out.d"
    reads: [main.c]
    writes: [out.o, out.d]
    depfile: out.d
  other:
    run: "echo x > read; while [ ! -e go ]; do sleep 0.05; done"
    writes: [read]
`,
    "main.c": "main\n",
    "inc/h.h": "h5\n",
  });
  const w = new Session("deno", dir);
  try {
    await waitForFile(`${dir}/read`);
    await waitForFile(`${dir}/out.d`); // cc has ended; the cycle has not
    await Deno.writeTextFile(`${dir}/inc/h.h`, "h6\n");
    await Deno.writeTextFile(`${dir}/go`, "");
    await w.cycles(2);
    assert.deepEqual(await w.ranIn(1), ["cc"]);
    assert.equal(await Deno.readTextFile(`${dir}/out.o`), "main\nh6\n");
  } finally {
    await w.stop();
  }
});

Deno.test("a depfile's absolute path into the project is an input (CMake's -I/abs/include); one outside is not", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:
  cc:
    run: 'cat main.c inc/a.h > out.o; printf "out.o: main.c %s/inc/a.h /usr/include/stdio.h\\n" "$(pwd -P)" > out.d'
    reads: [main.c]
    writes: [out.o, out.d]
    depfile: out.d
`,
    "main.c": "m\n",
    "inc/a.h": "1\n",
  });
  assert.deepEqual(await ran(dir), ["cc"]);
  assert.deepEqual(await ran(dir), []);
  // It was left out with the system header: the compile stayed up to date on the old header.
  await Deno.writeTextFile(`${dir}/inc/a.h`, "2\n");
  assert.deepEqual(await ran(dir), ["cc"]);
  assert.equal(await Deno.readTextFile(`${dir}/out.o`), "m\n2\n");
  assert.deepEqual(await ran(dir), []);
  await Deno.remove(dir, { recursive: true });
});
