/**
 * Up-to-date checks on real files: what reruns, what is skipped, `explain`,
 * `--force`, `clean`, concurrent runs, and kill -9 at random instants.
 */
import assert from "node:assert/strict";
import {
  jxCommand,
  killAndWait,
  readEvents,
  runJx,
  RUNTIMES,
  spawnJx,
  tempDir,
} from "../helpers.ts";

const JOBS = `
vars: { SUFFIX: "" }
jobs:
  upper:
    run: "tr a-z A-Z < src/a.txt > out/a.up\${SUFFIX}"
    reads: [src/a.txt]
    writes: ["out/a.up\${SUFFIX}"]
  count:
    run: "cat out/*.up | wc -c > out/count"
    reads: ["out/*.up"]
    writes: [out/count]
  all-src:
    run: "cat src/*.txt > out/all"
    reads: ["src/*.txt"]
    writes: [out/all]
  always:
    run: "true"
`;

async function ran(dir: string, ...args: string[]): Promise<string[]> {
  const r = await runJx(["run", "--events", "ev.ndjson", "--output", "quiet", ...args], {
    cwd: dir,
  });
  assert.equal(r.code, 0, r.stderr);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  return ev.filter((e) => e.type === "job.end").map((e) => e.job!).sort();
}

async function project() {
  const dir = await tempDir({
    "jobs.yaml": JOBS,
    "src/a.txt": "hello\n",
    "src/b.txt": "b\n",
    "out/.keep": "",
  });
  assert.deepEqual(await ran(dir), ["all-src", "always", "count", "upper"]);
  return dir;
}

const explain = async (dir: string, job: string) =>
  (await runJx(["explain", job], { cwd: dir })).stdout;

Deno.test("nothing changed: only the job with no files runs", async () => {
  const dir = await project();
  assert.deepEqual(await ran(dir), ["always"]);
  assert.match(await explain(dir, "upper"), /up to date/);
  assert.match(
    await explain(dir, "always"),
    /declares no files in reads or writes, so it always runs/,
  );
});

Deno.test("the project moved (renamed) or copied elsewhere: its jobs stay up to date, as make's", async () => {
  const dir = await project();
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    JOBS + `  in-src:\n    cwd: src\n    run: "wc -c a.txt > ../out/n"\n    reads: [src/a.txt]\n` +
      `    writes: [out/n]\n`,
  );
  assert.deepEqual(await ran(dir), ["always", "in-src"]);
  // Renamed: the same files (inodes), another path. The working directory was in the jobs'
  // fingerprints as an absolute path: every job ran again.
  const moved = `${dir}-moved`;
  await Deno.rename(dir, moved);
  assert.deepEqual(await ran(moved), ["always"]);
  assert.match(await explain(moved, "in-src"), /up to date/);
  // Copied with its .jx (new inodes: the contents are compared).
  const copied = `${dir}-copied`;
  const cp = await new Deno.Command("cp", { args: ["-a", moved, copied] }).output();
  assert.ok(cp.success);
  assert.deepEqual(await ran(copied), ["always"]);
  // A change of a job's working directory still runs it.
  const text = await Deno.readTextFile(`${copied}/jobs.yaml`);
  await Deno.writeTextFile(
    `${copied}/jobs.yaml`,
    text.replace("cwd: src", "cwd: out").replace(
      "wc -c a.txt > ../out/n",
      "wc -c ../src/a.txt > n",
    ),
  );
  assert.match(
    await explain(copied, "in-src"),
    /its command, environment, working directory or declared resources changed/,
  );
  assert.deepEqual(await ran(copied), ["always", "in-src"]);
  for (const d of [moved, copied]) await Deno.remove(d, { recursive: true });
});

Deno.test("reads, writes and env written in another order: up to date (the same job)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  j:\n    run: cat a b > out/o; echo $X$Y > out/e\n" +
      "    reads: [a, b]\n    writes: [out/o, out/e]\n    env: { X: x, Y: y }\n",
    "a": "1\n",
    "b": "2\n",
    "out/.keep": "",
  });
  assert.deepEqual(await ran(dir), ["j"]);
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    "jobs:\n  j:\n    run: cat a b > out/o; echo $X$Y > out/e\n" +
      "    reads: [b, a]\n    writes: [out/e, out/o]\n    env: { Y: y, X: x }\n",
  );
  assert.deepEqual(await ran(dir), []);
  assert.match(await explain(dir, "j"), /up to date/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a content change reruns the job and its dependents; a touch alone does not", async () => {
  const dir = await project();
  const now = new Date();
  await Deno.utime(`${dir}/src/a.txt`, now, new Date(now.getTime() + 5000));
  assert.deepEqual(await ran(dir), ["always"]);
  await Deno.writeTextFile(`${dir}/src/a.txt`, "hullo\n");
  assert.match(
    await explain(dir, "upper"),
    /input src\/a\.txt changed \([0-9a-f]{12} -> [0-9a-f]{12}\)/,
  );
  assert.deepEqual(await ran(dir), ["all-src", "always", "count", "upper"]);
  assert.equal(await Deno.readTextFile(`${dir}/out/a.up`), "HULLO\n");
});

Deno.test("early cutoff: byte-identical outputs keep dependents up to date", async () => {
  const dir = await project();
  await Deno.writeTextFile(`${dir}/src/a.txt`, "HELLO\n"); // upper's output is the same
  assert.deepEqual(await ran(dir), ["all-src", "always", "upper"]);
});

Deno.test("a missing or modified output reruns its job", async () => {
  const dir = await project();
  await Deno.remove(`${dir}/out/count`);
  assert.match(await explain(dir, "count"), /output out\/count is missing/);
  assert.deepEqual(await ran(dir), ["always", "count"]);
  await Deno.writeTextFile(`${dir}/out/all`, "tampered");
  assert.match(await explain(dir, "all-src"), /output out\/all was modified/);
  assert.deepEqual(await ran(dir), ["all-src", "always"]);
});

Deno.test("an output that writes no longer names (a var changed it) is said so, not missing", async () => {
  const dir = await tempDir({
    "jobs.yaml":
      'vars: { OUT: out }\njobs:\n  a: { run: "mkdir -p ${OUT} && echo x > ${OUT}/a.txt", writes: ["${OUT}/a.txt"] }\n',
  });
  assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
  const r = (await runJx(["explain", "a", "OUT=build"], { cwd: dir })).stdout;
  assert.match(r, /output out\/a\.txt no longer matches writes/);
  assert.doesNotMatch(r, /out\/a\.txt is missing/);
  assert.match(r, /output build\/a\.txt is missing/);
});

Deno.test("a changed command, var or env reruns", async () => {
  const dir = await project();
  assert.match(
    (await runJx(["explain", "upper", "SUFFIX=2"], { cwd: dir })).stdout,
    /command, environment/,
  );
  assert.deepEqual((await ran(dir, "SUFFIX=2")).includes("upper"), true);
  await Deno.writeTextFile(`${dir}/jobs.yaml`, JOBS.replace("cat src/*.txt", "cat -u src/*.txt"));
  assert.deepEqual((await ran(dir)).includes("all-src"), true);
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    "env: { X: 1 }\n" + JOBS.replace("cat src/*.txt", "cat -u src/*.txt"),
  );
  assert.deepEqual(await ran(dir), ["all-src", "always", "count", "upper"]);
});

Deno.test("a glob that gains or loses a file reruns", async () => {
  const dir = await project();
  await Deno.writeTextFile(`${dir}/src/c.txt`, "c\n");
  assert.match(await explain(dir, "all-src"), /new input src\/c\.txt/);
  assert.deepEqual(await ran(dir), ["all-src", "always"]);
  await Deno.remove(`${dir}/src/b.txt`);
  assert.match(await explain(dir, "all-src"), /input src\/b\.txt no longer matches reads/);
  assert.deepEqual(await ran(dir), ["all-src", "always"]);
});

Deno.test("--force runs everything; -n lists only what would run; clean removes outputs", async () => {
  const dir = await project();
  assert.deepEqual(await ran(dir, "--force"), ["all-src", "always", "count", "upper"]);
  const dry = await runJx(["run", "-n"], { cwd: dir });
  assert.equal(dry.stdout, "always: true\n");
  const clean = await runJx(["clean"], { cwd: dir });
  assert.match(clean.stdout, /removed out\/a\.up\nremoved out\/all\nremoved out\/count\n/);
  assert.deepEqual(await ran(dir), ["all-src", "always", "count", "upper"]);
});

Deno.test("two runs in one directory: the second waits, or fails with --no-wait", async () => {
  // The first run holds the lock until the test creates `go` (no race with a busy machine).
  const dir = await tempDir({
    "jobs.yaml":
      "jobs:\n  slow: { run: 'while [ ! -f go ]; do sleep 0.02; done; echo x > out.txt', writes: [out.txt] }\n",
  });
  const [cmd, argv] = jxCommand("deno", ["run", "--force"]);
  const first = new Deno.Command(cmd, { args: argv, cwd: dir, stdout: "piped", stderr: "piped" })
    .spawn();
  for (let i = 0; i < 1000; i++) {
    // The lock file holds the holder's pid once it is locked.
    if (await Deno.readTextFile(`${dir}/.jx/lock`).then((t) => t.trim() !== "", () => false)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const busy = await runJx(["run", "--no-wait"], { cwd: dir });
  assert.equal(busy.code, 2);
  assert.match(busy.stderr, /another jx run is using .*\.jx \(pid \d+\); not waiting/);
  const second = new Deno.Command(cmd, { args: argv, cwd: dir, stdout: "piped", stderr: "piped" })
    .spawn();
  // Read the second run's stderr until it says it waits; then let the first one finish.
  let said = "";
  const reader = second.stderr.getReader();
  while (!/waiting for another jx run in this directory/.test(said)) {
    const { value, done } = await reader.read();
    if (done) break;
    said += new TextDecoder().decode(value);
  }
  assert.match(said, /waiting for another jx run in this directory/);
  await Deno.writeTextFile(`${dir}/go`, "");
  assert.equal((await first.output()).code, 0);
  for (;;) if ((await reader.read()).done) break;
  assert.equal((await second.status).code, 0);
  await second.stdout.cancel();
});

Deno.test("kill -9 at random instants never leaves state that skips wrongly", async () => {
  // A chain: each stage derives from the previous; the final file is checked.
  const stages = 5;
  const lines = ["jobs:"];
  for (let i = 0; i < stages; i++) {
    const from = i === 0 ? "src.txt" : `s${i - 1}.txt`;
    lines.push(`  s${i}:`);
    lines.push(
      `    run: "sleep 0.03; sed 's/$/+${i}/' ${from} > s${i}.tmp; sleep 0.02; mv s${i}.tmp s${i}.txt"`,
    );
    lines.push(`    reads: [${from}]`);
    lines.push(`    writes: [s${i}.txt, s${i}.tmp]`);
  }
  const dir = await tempDir({ "jobs.yaml": lines.join("\n") + "\n", "src.txt": "v0\n" });
  const expected = (v: string) =>
    v + Array.from({ length: stages }, (_, i) => `+${i}`).join("") + "\n";
  let seed = 42;
  for (let round = 1; round <= 8; round++) {
    const v = `v${round}`;
    await Deno.writeTextFile(`${dir}/src.txt`, v + "\n");
    const [cmd, argv] = jxCommand("deno", ["run", "--output", "quiet"]);
    const child = new Deno.Command(cmd, { args: argv, cwd: dir, stdout: "null", stderr: "null" })
      .spawn();
    seed = (seed * 1103515245 + 12345) % 2147483648;
    await new Promise((r) => setTimeout(r, 60 + (seed % 250)));
    await killAndWait(child);
    await new Promise((r) => setTimeout(r, 120)); // orphaned jobs finish or die
    const r = await runJx(["run", "--output", "quiet"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      await Deno.readTextFile(`${dir}/s${stages - 1}.txt`),
      expected(v),
      `round ${round}`,
    );
    const again = await runJx(["run", "--events", "ev.ndjson", "--output", "quiet"], { cwd: dir });
    assert.equal(again.code, 0);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.equal(
      ev.filter((e) => e.type === "job.start").length,
      0,
      "all up to date after a good run",
    );
  }
});

Deno.test("a job whose reads glob matches its own output is up to date after it ran", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  a: { run: "echo 1 > out/a.txt", writes: [out/a.txt] }
  report: { run: "cat out/a.txt > out/report.txt", reads: ["out/*.txt"], writes: [out/report.txt] }
`,
    "out/.keep": "",
  });
  assert.deepEqual(await ran(dir), ["a", "report"]);
  assert.deepEqual(await ran(dir), []);
});

Deno.test("a directory in writes counts as itself: files other jobs put in it do not rerun its job", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  mkdir: { run: "mkdir -p build", writes: [build] }
  fill: { run: "date > build/stamp.txt", writes: [build/stamp.txt] }
`,
  });
  assert.deepEqual(await ran(dir), ["fill", "mkdir"]);
  assert.deepEqual(await ran(dir), []);
  await Deno.remove(`${dir}/build`, { recursive: true });
  assert.deepEqual(await ran(dir), ["fill", "mkdir"]);
});

// Each job says it started, then waits for `go` before it reads its inputs.
const WAITS = `
jobs:
  one:
    run: "touch one.started; while [ ! -f go ]; do sleep 0.02; done; cat src/a.txt > out/one"
    reads: [src/a.txt]
    writes: [out/one]
  all:
    run: "touch all.started; while [ ! -f go ]; do sleep 0.02; done; cat src/*.txt > out/all"
    reads: ["src/*.txt"]
    writes: [out/all]
`;

Deno.test("an input edited while its job ran, then put back: the job runs again", async () => {
  const dir = await tempDir({ "jobs.yaml": WAITS, "src/a.txt": "aaaa\n", go: "", "out/.keep": "" });
  assert.deepEqual(await ran(dir), ["all", "one"]);
  for (const f of ["go", "one.started", "all.started"]) await Deno.remove(`${dir}/${f}`);
  const run = spawnJx(["run", "--force", "--output", "quiet"], { cwd: dir });
  for (const job of ["one", "all"]) {
    while (!(await Deno.stat(`${dir}/${job}.started`).then(() => true, () => false))) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  // While they run: a.txt edited (same size), a new file matches the glob; both read so.
  await Deno.writeTextFile(`${dir}/src/a.txt`, "bbbb\n");
  await Deno.writeTextFile(`${dir}/src/new.txt`, "new\n");
  await Deno.writeTextFile(`${dir}/go`, "");
  assert.equal((await run.output()).code, 0);
  assert.equal(await Deno.readTextFile(`${dir}/out/one`), "bbbb\n");
  assert.equal(await Deno.readTextFile(`${dir}/out/all`), "bbbb\nnew\n");
  // Both put back as they were when the jobs started: the outputs are not theirs.
  await Deno.writeTextFile(`${dir}/src/a.txt`, "aaaa\n");
  await Deno.remove(`${dir}/src/new.txt`);
  assert.match(await explain(dir, "one"), /would run:\n {4}- input src\/a.txt changed/);
  assert.deepEqual(await ran(dir), ["all", "one"]);
  assert.equal(await Deno.readTextFile(`${dir}/out/one`), "aaaa\n");
  assert.equal(await Deno.readTextFile(`${dir}/out/all`), "aaaa\n");
  assert.deepEqual(await ran(dir), [], "up to date after that");
});

Deno.test("a declared read that did not exist when the job ran is said once (a misspelt path never changes)", async () => {
  const dir = await tempDir({
    "main.c": "int main;\n",
    "jobs.yaml": "jobs:\n" +
      "  cc: { run: cat main.c > app, reads: [mian.c], writes: [app] }\n" +
      "  log: { run: echo x >> log.txt, reads: [log.txt], writes: [log.txt] }\n",
  });
  const said = /^jx: warning: cc: reads mian\.c, which did not exist when it ran/m;
  const first = await runJx(["run"], { cwd: dir });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, said);
  assert.doesNotMatch(first.stderr, /log\.txt/, "its own output, which it makes");
  const again = await runJx(["run", "--force"], { cwd: dir });
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, said, "said once");
  await Deno.writeTextFile(`${dir}/mian.c`, "x\n");
  assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
  await Deno.remove(`${dir}/mian.c`);
  const gone = await runJx(["run"], { cwd: dir });
  assert.match(gone.stderr, said, "there, then gone: said again");
});

Deno.test("a reader of an @name runs again after a job that writes the name started", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  migrate: { run: "cat mig.sql > db.txt; test ! -e fail", reads: [mig.sql], writes: ["@db"] }
  apply:
    foreach: [a, b]
    run: "echo \${ITEM} >> applied.txt"
    reads: ["@db", "in.\${ITEM}"]
    writes: ["@db"]
  report: { run: "cat db.txt > report.txt", reads: ["@db"], writes: [report.txt] }
  cfg1: { run: "sleep 0.3; echo 1 > c1.txt", reads: ["@cfg"], writes: [c1.txt] }
  cfg2: { run: "echo 2 > c2.txt", reads: ["@cfg"], writes: [c2.txt] }
`,
    "mig.sql": "v1\n",
    "in.a": "",
    "in.b": "",
  });
  const all = ["apply[a]", "apply[b]", "cfg1", "cfg2", "migrate", "report"];
  assert.deepEqual(await ran(dir), all);
  // Nothing changed: jobs that read and write a name (each apply[x]) do not make each other run,
  // nor do two readers of a name nobody writes (the first to end makes its token).
  assert.deepEqual(await ran(dir), []);
  await Deno.writeTextFile(`${dir}/mig.sql`, "v2\n");
  assert.deepEqual(await ran(dir), ["migrate", "report"]);
  assert.equal(await Deno.readTextFile(`${dir}/report.txt`), "v2\n");
  assert.deepEqual(await ran(dir), []);
  // The writer run alone: the reader says why it would run, then runs.
  assert.deepEqual(await ran(dir, "--force", "migrate"), ["migrate"]);
  assert.match(await explain(dir, "report"), /@db was written since it last ran/);
  assert.deepEqual(await ran(dir), ["report"]);
  await Deno.writeTextFile(`${dir}/in.b`, "x");
  assert.deepEqual(await ran(dir), ["apply[b]", "report"]);
  // A writer that fails may have changed what the name stands for: its readers run again.
  await Deno.writeTextFile(`${dir}/mig.sql`, "v3\n");
  await Deno.writeTextFile(`${dir}/fail`, "");
  const r = await runJx(["run", "--output", "quiet"], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  await Deno.remove(`${dir}/fail`);
  await Deno.writeTextFile(`${dir}/mig.sql`, "v2\n"); // as its last success read it
  assert.deepEqual(await ran(dir), ["report"]);
  assert.deepEqual(await ran(dir), []);
});

Deno.test("files a job reads in a folder it writes are its inputs: an edit of one reruns it", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  conf: { run: "cp conf.in out/config.json", reads: [conf.in], writes: [out/config.json] }
  gen: { run: "cat out/config.json > out/gen.txt", reads: [out/config.json], writes: [out] }
  fmt:
    run: "for f in src/*.txt; do tr a-z A-Z < $f > $f.t && mv $f.t $f; done"
    reads: ["src/*.txt"]
    writes: [src]
`,
    "conf.in": "v1\n",
    "src/a.txt": "a\n",
    "out/.keep": "",
  });
  assert.deepEqual(await ran(dir), ["conf", "fmt", "gen"]);
  assert.deepEqual(await ran(dir), []); // what fmt rewrote itself is recorded as it left it
  await Deno.writeTextFile(`${dir}/conf.in`, "v2\n");
  assert.deepEqual(await ran(dir), ["conf", "gen"]);
  assert.equal(await Deno.readTextFile(`${dir}/out/gen.txt`), "v2\n");
  await Deno.writeTextFile(`${dir}/src/a.txt`, "b\n");
  assert.match(await explain(dir, "fmt"), /input src\/a\.txt changed/);
  assert.deepEqual(await ran(dir), ["fmt"]);
  assert.equal(await Deno.readTextFile(`${dir}/src/a.txt`), "B\n");
  assert.deepEqual(await ran(dir), []);
});

Deno.test("a reads glob that only sweeps over a folder the job writes takes no input from it; the no-op path agrees", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  build:
    run: rm -rf dist && mkdir dist && cp src/app.js dist/app.js
    reads: ["**/*.js"]
    writes: [dist]
  minify: { run: "tr -d ' ' < dist/app.js > dist/app.min.js", reads: [dist/app.js], writes: [dist/app.min.js] }
  fmt:
    run: "test -f src/extra.ts || echo x > src/extra.ts; for f in src/*.ts; do tr a-z A-Z < $f > $f.t; cat $f.t > $f; rm $f.t; done"
    reads: ["src/*.ts"]
    writes: [src]
`,
    "src/app.js": "var a = 1;\n",
    "src/a.ts": "a\n",
  });
  assert.deepEqual(await ran(dir), ["build", "fmt", "minify"]);
  assert.deepEqual(await ran(dir), []);
  await Deno.writeTextFile(`${dir}/src/app.js`, "var b = 2;\n");
  assert.deepEqual(await ran(dir), ["build", "minify"]);
  assert.deepEqual(await ran(dir), []); // dist/app.min.js, which minify writes, is no input of build
  // The no-op path (no --events): a file fmt made in its folder is stamped; an edit of it is seen.
  const plain = () => runJx(["run", "-v"], { cwd: dir });
  await plain();
  assert.match((await plain()).stderr, /no-op/);
  await Deno.writeTextFile(`${dir}/src/extra.ts`, "lower\n", { append: true });
  assert.match((await plain()).stderr, /start fmt/);
  assert.equal(await Deno.readTextFile(`${dir}/src/extra.ts`), "X\nLOWER\n");
});

Deno.test("a file whose name is not UTF-8 in a walked folder cannot be checked: its job runs each time, no-op path included", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:\n  cat: { run: "cat src/* > out", reads: ["src/*"], writes: [out] }\n`,
    "src/a.txt": "a\n",
  });
  // The runtimes list `b\xff` as `b\uFFFD`, a name that is not there: it was recorded as absent,
  // so an edit of it was never seen (the job stayed up to date, with the old content in out).
  const write = (text: string) =>
    new Deno.Command("sh", { args: ["-c", `printf ${text} > "$(printf 'src/b\\377')"`], cwd: dir })
      .output();
  await write("x");
  const r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /cat: not recorded as done \(src\/b\uFFFD: its name is not UTF-8/);
  await write("y");
  const again = await runJx(["run", "-v"], { cwd: dir });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(await Deno.readTextFile(`${dir}/out`), "a\ny");
  assert.match(await explain(dir, "cat"), /cannot be checked: src\/b\uFFFD: its name is not UTF-8/);
  await Deno.remove(dir, { recursive: true });
});

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: a folder whose name is not UTF-8 in a read folder cannot be checked: its job runs each time (was up to date after an edit of a file in it: the folder could not be listed, its files were left out unseen)`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `jobs:\n  cat: { run: "cat src/*/f > out", reads: [src], writes: [out] }\n`,
    });
    const write = (text: string) =>
      new Deno.Command("sh", {
        args: [
          "-c",
          `mkdir -p "$(printf 'src/d\\376')" && printf ${text} > "$(printf 'src/d\\376/f')"`,
        ],
        cwd: dir,
      }).output();
    await write("x");
    const r = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /cat: not recorded as done \(src\/d\uFFFD: its name is not UTF-8/);
    await write("y");
    const again = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /1 job ok/);
    assert.equal(await Deno.readTextFile(`${dir}/out`), "y");
    assert.match(
      await explain(dir, "cat"),
      /cannot be checked: src\/d\uFFFD: its name is not UTF-8/,
    );
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("-f through a symbolic link: the jobs run in the file's real folder, up to date by either path", async () => {
  const dir = await tempDir({
    "p/jobs.yaml":
      `jobs:\n  w: { run: "pwd > where.txt", reads: [jobs.yaml], writes: [where.txt] }\n`,
    "p/sub/.keep": "",
  });
  await Deno.symlink("p", `${dir}/lp`);
  await Deno.symlink("p/sub", `${dir}/l`);
  const real = await Deno.realPath(`${dir}/p`);
  // The working directory (in a job's fingerprint) was the path as written: by `lp/` then by
  // `p/`, the job ran each time.
  assert.deepEqual(await ran(dir, "-f", "lp/jobs.yaml"), ["w"]);
  assert.equal(await Deno.readTextFile(`${dir}/p/where.txt`), `${real}\n`);
  assert.deepEqual(await ran(dir, "-f", "p/jobs.yaml"), []);
  assert.deepEqual(await ran(dir, "-f", "lp/jobs.yaml"), []);
  // `l/../jobs.yaml` is p/jobs.yaml to the system; its text alone said ./jobs.yaml, so the job
  // ran in `dir` (and kept its state there).
  await Deno.writeTextFile(`${dir}/p/jobs.yaml`, "# edited\n", { append: true });
  assert.deepEqual(await ran(dir, "-f", "l/../jobs.yaml"), ["w"]);
  assert.equal(await Deno.readTextFile(`${dir}/p/where.txt`), `${real}\n`);
  await assert.rejects(Deno.stat(`${dir}/where.txt`));
  await assert.rejects(Deno.stat(`${dir}/.jx`));
  assert.deepEqual(await ran(dir, "-f", "p/jobs.yaml"), []);
  // Messages name it by its real folder, relative to the current one.
  await Deno.writeTextFile(`${dir}/p/jobs.yaml`, "jobs:\n  a: { rnu: x }\n");
  const bad = await runJx(["run", "-f", "lp/jobs.yaml"], { cwd: dir });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^p\/jobs\.yaml:2:8: jobs\.a: unknown key 'rnu'/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a link to a folder in a folder the job reads is said once: its files are not inputs", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:\n  cat: { run: "cat src/*/*.txt > out", reads: [src], writes: [out] }\n`,
    "src/d/a.txt": "a\n",
    "shared/s.txt": "s\n",
  });
  await Deno.symlink("../shared", `${dir}/src/l`);
  // Nothing said: an edit of shared/s.txt left the job up to date, with no word of why.
  const first = await runJx(["run"], { cwd: dir });
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stderr,
    /^jx: warning: cat: src\/l, found in what it reads, is a link to a folder: jx does not follow it/m,
  );
  await Deno.writeTextFile(`${dir}/src/d/a.txt`, "a2\n");
  const again = await runJx(["run"], { cwd: dir });
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /warning/);
  await Deno.remove(dir, { recursive: true });
});
