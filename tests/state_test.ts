/**
 * The state's parts in-process: the stat call, the log's rows (round trip,
 * torn and foreign lines, compaction), the fast check against the full one,
 * stamps refreshed after a touch, and the graph cache's layout.
 */
import assert from "node:assert/strict";
import { parseJobsFile } from "../lib/graph/mod.ts";
import { loadJobsFile } from "../lib/graph/load.ts";
import { staticFingerprint, UpToDate } from "../lib/state/check.ts";
import { decodeRow, encodeRow, type Entry, StateStore } from "../lib/state/store.ts";
import { ABSENT, DIR, FILE, inDir, ST, statInto, statUnder } from "../lib/state/stat.ts";
import { BUN, ROOT, tempDir } from "./helpers.ts";
import { partialReadDifference, seeded, stateLogText } from "./state_log_cases.ts";

const lines = async (dir: string) =>
  (await Deno.readTextFile(`${dir}/.jx/state.ndjson`)).split("\n").filter((l) => l);

Deno.test("statInto: kind, size, inode, mtime and ctime in whole ms, as Deno.statSync says (ctime: seconds)", async () => {
  const dir = await tempDir({ "a.txt": "hello" });
  assert.equal(statInto(`${dir}/a.txt`), FILE);
  const st = Deno.statSync(`${dir}/a.txt`);
  const { ctimeMs, mtimeNsec, ctimeNsec, ...rest } = ST;
  assert.deepEqual(rest, { size: 5, mtimeMs: st.mtime!.getTime(), ino: st.ino });
  // statx's nanoseconds: the same times, finer.
  assert.equal(Math.floor(mtimeNsec / 1e6), rest.mtimeMs % 1000);
  assert.equal(Math.floor(ctimeNsec / 1e6), ctimeMs % 1000);
  // Deno.statSync gives the ctime in whole seconds only.
  assert.equal(Math.floor(ctimeMs / 1000), st.ctime!.getTime() / 1000);
  assert.equal(statInto(dir), DIR);
  assert.equal(statInto(`${dir}/missing`), ABSENT);
  assert.equal(statInto(`${dir}/a.txt/under-a-file`), ABSENT);
  // Under a directory prefix, and after a call that overwrote the prefix.
  await Deno.writeTextFile(`${dir}/b.txt`, "hi");
  assert.equal(statUnder(`${dir}/`, "a.txt"), FILE);
  assert.equal(ST.size, 5);
  assert.equal(statUnder(`${dir}/`, "b.txt"), FILE);
  assert.equal(ST.size, 2);
  assert.equal(statInto("/"), DIR);
  assert.equal(statUnder(`${dir}/`, "a.txt"), FILE);
  assert.equal(ST.size, 5);
  assert.equal(statUnder(`${dir}/`, `${dir}/b.txt`), FILE);
  assert.equal(ST.size, 2);
  assert.equal(statUnder("/nonexistent/", "a.txt"), ABSENT);
  assert.equal(statUnder(`${dir}/`, "é.txt"), ABSENT);
});

Deno.test("inDir: stats under the folder held open say what the same stats by full path say; the fd is closed after", async () => {
  const dir = await tempDir({ "a.txt": "hello", "sub/b.txt": "hi", "é.txt": "e" });
  await Deno.symlink("a.txt", `${dir}/link`);
  await Deno.symlink("missing", `${dir}/dangling`);
  const base = `${dir}/`;
  const rels = [
    "a.txt",
    "sub/b.txt",
    "sub",
    ".",
    "",
    "sub/..",
    "é.txt",
    "link",
    "dangling",
    "missing",
    "a.txt/x",
    `${dir}/a.txt`,
    "../" + dir.split("/").pop() + "/a.txt",
  ];
  const stamp = (kind: number) => [kind, ST.size, ST.mtimeMs, ST.ino, ST.ctimeMs];
  const byPath = rels.map((r) => stamp(statUnder(base, r)));
  // Fds open on the folders themselves (other fds may open and close on the runtime's own threads).
  const fds = () =>
    [...Deno.readDirSync("/proc/self/fd")].filter((e) => {
      try {
        return Deno.readLinkSync(`/proc/self/fd/${e.name}`).startsWith(dir);
      } catch {
        return false;
      }
    }).length;
  const before = fds();
  assert.equal(inDir(base, fds), before + 1);
  const inside = inDir(base, () => rels.map((r) => stamp(statUnder(base, r))));
  assert.deepEqual(inside, byPath);
  // Another folder's calls inside are by full path; nesting holds the outer folder only.
  assert.equal(inDir(base, () => statUnder("/nonexistent/", "a.txt")), ABSENT);
  assert.equal(
    inDir(base, () => inDir(`${dir}/sub/`, () => statUnder(`${dir}/sub/`, "b.txt"))),
    FILE,
  );
  assert.equal(ST.size, 2);
  assert.equal(fds(), before);
  // A folder that is not there: `f` runs, every stat absent.
  assert.equal(inDir("/nonexistent/", () => statUnder("/nonexistent/", "a.txt")), ABSENT);
  // A throw inside still closes it.
  assert.throws(() =>
    inDir(base, () => {
      throw new Error("boom");
    }), /boom/);
  assert.equal(fds(), before);
});

Deno.test("the log: rows round-trip; torn, foreign and older lines are ignored", async () => {
  const dir = await tempDir();
  const e: Entry = {
    job: "cc",
    fp: "f".repeat(32),
    inputs: { "src/a.c": [3, 1700000000123, 42, "a".repeat(32)], "src/gone.h": null },
    outputs: { "out/a.o": [9, 1700000000456, 43, "b".repeat(32)], "out": [-1, 0, 0, "directory"] },
  };
  assert.deepEqual(decodeRow(encodeRow(e)), e);
  const s = new StateStore(dir);
  s.put(e);
  s.close();
  await Deno.writeTextFile(
    `${dir}/.jx/state.ndjson`,
    [
      `{"job":"old","fp":"x","inputs":{},"outputs":{}}`, // an older jx's line
      `["bad",1,2]`,
      `["cc","torn",1,"src/a.c",3`,
    ].join("\n"),
    { append: true },
  );
  const again = new StateStore(dir);
  assert.deepEqual([...again.rows.keys()], ["cc"]);
  assert.deepEqual(again.get("cc"), e);
});

Deno.test("the log is compacted once it holds more than twice its live rows", async () => {
  const dir = await tempDir();
  const s = new StateStore(dir);
  for (let i = 0; i < 1200; i++) {
    s.put({ job: `j${i % 500}`, fp: String(i), inputs: {}, outputs: { [`o${i}`]: null } });
  }
  s.close();
  const rows = (await lines(dir)).map((l) => JSON.parse(l));
  assert.equal(rows.length, 500);
  assert.equal(new StateStore(dir).get("j7")!.fp, "1007");
});

Deno.test("a compaction that fails leaves the log as it was, whole, and the run goes on", async () => {
  const dir = await tempDir();
  const s = new StateStore(dir);
  for (let i = 0; i < 1200; i++) {
    s.put({ job: `j${i % 500}`, fp: String(i), inputs: {}, outputs: { [`o${i}`]: null } });
  }
  // A folder where the compaction's temp file goes: it cannot be opened.
  await Deno.mkdir(`${dir}/.jx/state.ndjson.${Deno.pid}.tmp`);
  s.close();
  assert.equal((await lines(dir)).length, 1200);
  assert.equal(new StateStore(dir).get("j7")!.fp, "1007");
});

const JOBS = `
jobs:
  cp: { run: cp a.txt out/a.txt, reads: [a.txt, "@lock"], writes: [out/a.txt, out/tmp] }
  all: { run: cat out/*.txt > all.txt, reads: ["out/*.txt"], writes: [all.txt] }
  self: { run: x, reads: [b.txt, out/b.txt], writes: [out/b.txt] }
`;

/** Runs the job as jx would: check, the command's effect, success recorded. */
async function build(dir: string, state: UpToDate, job: string, effect: () => Promise<void>) {
  const spec = parseJobsFile(JOBS, `${dir}/jobs.yaml`).get(job);
  const v = state.check(spec);
  if (!v.upToDate) {
    await effect();
    state.succeeded(spec);
  }
  return v;
}

Deno.test("fast and full checks agree; a touch is hashed once, then its stamps are kept", async () => {
  const dir = await tempDir({ "a.txt": "a\n", "b.txt": "b\n", "out/.keep": "" });
  const g = parseJobsFile(JOBS, `${dir}/jobs.yaml`);
  const cp = async () => await Deno.copyFile(`${dir}/a.txt`, `${dir}/out/a.txt`);
  let s = new UpToDate(dir);
  assert.equal((await build(dir, s, "cp", cp)).upToDate, false);
  assert.equal(
    (await build(dir, s, "self", () => Deno.writeTextFile(`${dir}/out/b.txt`, "B"))).upToDate,
    false,
  );
  assert.equal((await build(dir, s, "all", async () => {})).upToDate, false);
  s.close();
  const written = (await lines(dir)).length;

  s = new UpToDate(dir);
  for (const j of g.jobs) assert.equal(s.surelyOutOfDate(j), false, j.name);
  assert.equal(s.surelyOutOfDate({ ...g.get("cp"), name: "never-ran" }), true);
  for (const j of g.jobs) assert.deepEqual(s.check(j), { upToDate: true, reasons: [] }, j.name);
  s.close();
  assert.equal((await lines(dir)).length, written, "a no-op writes nothing");

  // A touch: same content, new mtime. Up to date (hashed), and the new stamp is kept.
  const later = new Date(Date.now() + 10_000);
  await Deno.utime(`${dir}/a.txt`, later, later);
  s = new UpToDate(dir);
  assert.equal(s.check(g.get("cp")).upToDate, true);
  s.close();
  const last = JSON.parse((await lines(dir)).at(-1)!);
  assert.equal(last[0], "cp");
  assert.equal(last[last.indexOf("a.txt") + 2], later.getTime()); // its mtime (after @lock's token)
  s = new UpToDate(dir);
  assert.equal(s.check(g.get("cp")).upToDate, true);
  s.close();
  assert.equal((await lines(dir)).length, written + 1, "no second refresh");

  // Changes the fast check must not miss.
  await Deno.writeTextFile(`${dir}/a.txt`, "A\n");
  s = new UpToDate(dir);
  assert.match(s.check(g.get("cp")).reasons.join(), /input a\.txt changed/);
  await Deno.remove(`${dir}/out/tmp`).catch(() => {});
  await Deno.writeTextFile(`${dir}/out/tmp`, "x");
  assert.match(s.check(g.get("cp")).reasons.join(), /output out\/tmp was not written/);
  await Deno.writeTextFile(`${dir}/out/c.txt`, "c");
  assert.match(s.check(g.get("all")).reasons.join(), /new input out\/c\.txt/);
  await Deno.writeTextFile(`${dir}/out/b.txt`, "changed");
  assert.match(s.check(g.get("self")).reasons.join(), /output out\/b\.txt was modified/);
});

Deno.test("explain's check writes nothing, even after a touch", async () => {
  const dir = await tempDir({ "a.txt": "a\n", "out/.keep": "" });
  const s = new UpToDate(dir);
  await build(dir, s, "cp", () => Deno.copyFile(`${dir}/a.txt`, `${dir}/out/a.txt`));
  s.close();
  const before = await Deno.readTextFile(`${dir}/.jx/state.ndjson`);
  const later = new Date(Date.now() + 10_000);
  await Deno.utime(`${dir}/a.txt`, later, later);
  const spec = parseJobsFile(JOBS, `${dir}/jobs.yaml`).get("cp");
  assert.equal(new UpToDate(dir).check(spec).upToDate, true); // not closed, as explain does
  assert.equal(await Deno.readTextFile(`${dir}/.jx/state.ndjson`), before);
});

Deno.test("a job that runs after a refresh keeps the line of its run", async () => {
  const dir = await tempDir({ "a.txt": "a\n", "out/.keep": "" });
  const spec = parseJobsFile(JOBS, `${dir}/jobs.yaml`).get("cp");
  let s = new UpToDate(dir);
  await build(dir, s, "cp", () => Deno.copyFile(`${dir}/a.txt`, `${dir}/out/a.txt`));
  s.close();
  const later = new Date(Date.now() + 10_000);
  await Deno.utime(`${dir}/out/a.txt`, later, later);
  s = new UpToDate(dir);
  assert.equal(s.check(spec).upToDate, true); // refresh pending
  await Deno.writeTextFile(`${dir}/out/a.txt`, "forced\n"); // --force runs it anyway
  s.succeeded(spec);
  s.close();
  s = new UpToDate(dir);
  assert.equal(s.check(spec).upToDate, true, "the run's line, not the refresh, is last");
});

Deno.test("graph cache: the same jobs back, keys in order; a foreach glob is never cached", async () => {
  const dir = await tempDir({ "src/a.c": "", "src/b.c": "" });
  const big = ["vars: { X: a }", "pools: { link: 1 }", "jobs:"];
  for (let i = 0; i < 1200; i++) {
    big.push(
      `  j${i}: { run: "echo \${X} ${i}", description: d${i}, reads: [o/${
        i - 1
      }], writes: [o/${i}], timeout: 5s, pool: link }`,
    );
  }
  await Deno.writeTextFile(`${dir}/jobs.yaml`, big.join("\n") + "\n");
  const first = loadJobsFile(`${dir}/jobs.yaml`);
  const second = loadJobsFile(`${dir}/jobs.yaml`);
  assert.ok(Deno.statSync(`${dir}/.jx/graph-jobs.yaml.json`).isFile);
  assert.equal(JSON.stringify(second.jobs), JSON.stringify(first.jobs));
  assert.equal(JSON.stringify(second.edges), JSON.stringify(first.edges));
  assert.deepEqual([...second.pools], [...first.pools]);

  const globs = [...big, "  cc:", "    foreach: { glob: src/*.c, as: SRC }", "    run: cc ${SRC}"];
  await Deno.writeTextFile(`${dir}/jobs.yaml`, globs.join("\n") + "\n");
  assert.equal(loadJobsFile(`${dir}/jobs.yaml`).jobs.filter((j) => j.group === "cc").length, 2);
  await Deno.writeTextFile(`${dir}/src/c.c`, "");
  assert.equal(loadJobsFile(`${dir}/jobs.yaml`).jobs.filter((j) => j.group === "cc").length, 3);
});

Deno.test("the fingerprint: the same for the same job, another for any change", () => {
  const fp = (yaml: string) => staticFingerprint(parseJobsFile(yaml, "/p/jobs.yaml").get("a"));
  const base = "jobs:\n  a: { run: cc -c a.c, reads: [a.c], writes: [a.o], env: { X: '1' } }\n";
  assert.equal(fp(base), fp(base));
  assert.match(fp(base), /^[0-9a-f]{16}$/);
  const variants = [
    base.replace("cc -c", "cc -C"),
    base.replace("a.c]", "b.c]"),
    base.replace("a.o", "a.O"),
    base.replace("'1'", "'2'"),
    base.replace("[a.c]", '[a.c, "@lock"]'),
  ];
  const all = new Set([fp(base), ...variants.map(fp)]);
  assert.equal(all.size, variants.length + 1);
});

Deno.test("graph cache: a damaged cache under the right key is parsed again, never trusted", async () => {
  const dir = await tempDir();
  const big = ["jobs:"];
  for (let i = 0; i < 800; i++) big.push(`  j${i}: { run: "echo ${i}", writes: [o/${i}] }`);
  await Deno.writeTextFile(`${dir}/jobs.yaml`, big.join("\n") + "\n");
  const want = JSON.stringify(loadJobsFile(`${dir}/jobs.yaml`).jobs);
  const path = `${dir}/.jx/graph-jobs.yaml.json`;
  const key = (await Deno.readTextFile(path)).split("\n")[0];
  const bodies = [
    "null",
    '{"jobs":5}',
    '{"shapes":[],"jobs":[[0,1]],"pools":[],"edges":[]}',
    '{"shapes":[["name"]],"jobs":[[7,"x"]],"pools":[],"edges":[]}',
    '{"shapes":[["name"]],"jobs":"x","pools":[],"edges":[]}',
    '{"shapes":[["na',
  ];
  for (const body of bodies) {
    await Deno.writeTextFile(path, `${key}\n${body}`);
    assert.equal(JSON.stringify(loadJobsFile(`${dir}/jobs.yaml`).jobs), want, body);
  }
});

Deno.test("graph cache: rows that parse but cannot be the graph (a name twice, a command of the wrong type) are parsed again", async () => {
  const dir = await tempDir();
  const big = ["jobs:"];
  for (let i = 0; i < 500; i++) {
    big.push(
      `  j${i}: { run: "echo ${i} > o/${i}.txt", reads: [o/${i - 1}.txt], writes: [o/${i}.txt] }`,
    );
  }
  await Deno.writeTextFile(`${dir}/jobs.yaml`, big.join("\n") + "\n");
  const want = JSON.stringify(loadJobsFile(`${dir}/jobs.yaml`).jobs);
  const path = `${dir}/.jx/graph-jobs.yaml.json`;
  const good = await Deno.readFile(path);
  const text = new TextDecoder("latin1").decode(good);
  const damages: [RegExp, string][] = [
    [/\[0,"j5",/, '[0,"j4",'], // a name twice
    [/"echo 5 > o\/5\.txt"/, "5"], // a command that is a number
    [/"echo 7 > o\/7\.txt"/, "null"],
  ];
  for (const [from, to] of damages) {
    assert.match(text, from);
    const damaged = text.replace(from, to);
    await Deno.writeFile(path, Uint8Array.from(damaged, (c) => c.charCodeAt(0)));
    assert.equal(JSON.stringify(loadJobsFile(`${dir}/jobs.yaml`).jobs), want, String(from));
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("statUnderBytes: from the bytes of NUL-ended paths, as statUnder; one past PATH_MAX absent", async () => {
  const { statUnderBytes } = await import("../lib/state/stat.ts");
  const dir = await tempDir({ "a.txt": "a", "sub/b.txt": "bb" });
  const base = dir + "/";
  const long = "x/".repeat(2500) + "a.txt";
  const list = ["a.txt", long, "sub/b.txt", "", "missing", `${base}a.txt`];
  const bytes = new TextEncoder().encode(list.join("\0") + "\0");
  const offs = list.map((_, i) =>
    list.slice(0, i).reduce((n, p) => n + new TextEncoder().encode(p).length + 1, 0)
  );
  const got = inDir(base, () => offs.map((o) => [statUnderBytes(base, bytes, o), ST.size]));
  const want = inDir(base, () => list.map((p) => [statUnder(base, p), ST.size]));
  assert.deepEqual(got.map(([k]) => k), [FILE, ABSENT, FILE, DIR, ABSENT, FILE]);
  assert.deepEqual(got.filter(([k]) => k === FILE), want.filter(([k]) => k === FILE));
  assert.deepEqual(got.map(([k]) => k), want.map(([k]) => k));
  // Bytes that end before a path's NUL (damage): failed, nothing read past them.
  const cut = new TextEncoder().encode("a.txt");
  assert.equal(inDir(base, () => statUnderBytes(base, cut, 0)), ABSENT);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("state log: a read of a few jobs (a partial run) finds each one's last valid row", () => {
  const dir = Deno.makeTempDirSync({ prefix: "jx-test-" });
  Deno.mkdirSync(`${dir}/.jx`, { mode: 0o700 });
  const row = (job: string, fp: string) => JSON.stringify([job, fp, 0]);
  const lines = [
    row("a", "1"),
    row("b", "1"),
    row("ab", "1"),
    row("a", "2"),
    `["b","x", 9 #torn`, // damaged: b's row before it stands
    row("c", "1"),
    row("t[a,x]", "1"), // a matrix job's name holds a comma
    row('q"u,ote', "1"),
  ];
  Deno.writeTextFileSync(`${dir}/.jx/state.ndjson`, lines.join("\n") + "\n");
  const full = new StateStore(dir, () => {});
  const few = new StateStore(dir, () => {}, new Set(["a", "b", "nope"]));
  assert.deepEqual([...few.rows.keys()].sort(), ["a", "b"]);
  for (const job of ["a", "b"]) assert.deepEqual(few.rows.get(job), full.rows.get(job));
  assert.equal(few.rows.get("a")?.[1], "2");
  // Every line scanned (more than a few jobs asked for): the same rows, names with commas too.
  const many = new Set(["a", "b", ...Array.from({ length: 80 }, (_, i) => `x${i}`)]);
  const scanned = new StateStore(dir, () => {}, many);
  assert.deepEqual(scanned.rows, few.rows);
  const odd = ["t[a,x]", 'q"u,ote'];
  const withOdd = new StateStore(dir, () => {}, new Set([...many, ...odd]));
  assert.deepEqual([...withOdd.rows.keys()].sort(), ["a", "b", ...odd].sort());
  assert.deepEqual(
    new StateStore(dir, () => {}, new Set(odd)).rows,
    new Map(
      odd.map((j) => [j, full.rows.get(j)]),
    ),
  );
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("no-op record: stamps changed in place are written back from the bytes read, a new tail of racy paths", async () => {
  const { decodeRecord, encodeRecord } = await import("../lib/state/noop.ts");
  type Rec = Parameters<typeof encodeRecord>[0];
  const join = (pieces: Uint8Array[]) => new Uint8Array(pieces.flatMap((p) => [...p]));
  const r0 = {
    key: "k",
    paths: ["a", "b"],
    racy: [],
    stamps: new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]),
  };
  // Read back from a buffer with room after it, as a whole-file read gives one.
  const bytes = join(encodeRecord(r0 as unknown as Rec));
  const big = new Uint8Array(bytes.length + 8);
  big.set(bytes);
  const read = big.subarray(0, bytes.length);
  const r = decodeRecord(read) as Rec;
  assert.deepEqual(r.racy, []);
  r.stamps[5] = 60.5;
  r.racy = [1, "hash"];
  const [body, tail] = encodeRecord(r, true);
  assert.equal(body.buffer, read.buffer, "the bytes read, not a copy");
  const back = decodeRecord(join([body, tail])) as Rec & { key: string; paths: string[] };
  assert.deepEqual([back.key, back.paths, back.racy], ["k", ["a", "b"], [1, "hash"]]);
  assert.deepEqual([...back.stamps], [1, 2, 3, 4, 5, 60.5, 7, 8]);
  // Stamps replaced by other ones (another count): a new encoding, the same head.
  r.stamps = new Float64Array([9, 9, 9, 9]);
  const other = encodeRecord(r, true);
  assert.notEqual(other[0].buffer, read.buffer);
  const again = decodeRecord(join(other)) as Rec & { key: string; paths: string[] };
  assert.deepEqual([again.key, again.paths, [...again.stamps]], ["k", ["a", "b"], [9, 9, 9, 9]]);
  // Without sameHead the head is encoded again (a changed field shows).
  (r as unknown as { key: string }).key = "k2";
  assert.equal((decodeRecord(join(encodeRecord(r))) as unknown as { key: string }).key, "k2");
  // A tail cut short does not decode: no record (readRecord's caller takes the full way).
  assert.throws(() => decodeRecord(join([body, tail.subarray(0, 3)])));
});

Deno.test("no-op record: names and paths kept as NUL-ended UTF-8, paths made only when asked for", async () => {
  const { decodeRecord, encodeRecord } = await import("../lib/state/noop.ts");
  type Rec = Parameters<typeof encodeRecord>[0];
  const join = (pieces: Uint8Array[]) => new Uint8Array(pieces.flatMap((p) => [...p]));
  const paths = [
    "/abs/jobs.yaml",
    "/abs/.jx/state.ndjson",
    "src/ça é.txt",
    "",
    "out/€.o",
    "xa",
    "a",
    "\uFEFFbom.txt", // kept: a default UTF-8 decoder drops a leading U+FEFF
  ];
  const r0 = { key: "k", names: ["\uFEFFa", "b.é"], paths, racy: [], stamps: new Float64Array(32) };
  const r = decodeRecord(join(encodeRecord(r0 as unknown as Rec))) as Rec;
  assert.deepEqual(r.names, ["\uFEFFa", "b.é"]);
  // Found and read from the bytes, before any list of strings is made.
  const { pathAt, pathIndexes } = await import("../lib/state/noop_paths.ts");
  const found = paths.map((p) => pathIndexes(r, p, 2));
  assert.deepEqual(found, [[], [], [2], [3], [4], [5], [6], [7]]);
  assert.deepEqual(pathIndexes(r, "/abs/jobs.yaml", 0), [0]);
  assert.deepEqual(pathIndexes(r, "ç", 0), []);
  assert.deepEqual(paths.map((_, i) => pathAt(r, i)), paths);
  assert.equal(pathAt(r, 8), undefined);
  const desc = Object.getOwnPropertyDescriptor(r, "paths");
  assert.ok(desc?.get, "not made at decode");
  assert.deepEqual(r.paths, paths);
  assert.ok(Object.getOwnPropertyDescriptor(r, "paths")?.value, "made once");
  // Written again (not from the bytes read): the same paths.
  assert.deepEqual((decodeRecord(join(encodeRecord(r))) as Rec).paths, paths);
  // No paths, no names: empty lists.
  const empty = decodeRecord(join(encodeRecord({ ...r0, names: [], paths: [] } as unknown as Rec)));
  assert.deepEqual([(empty as Rec).names, (empty as Rec).paths], [[], []]);
  // A NUL would end a path early: such a record is not written (the full way runs).
  assert.throws(() => encodeRecord({ ...r0, paths: ["a\0b"] } as unknown as Rec), /NUL/);
  // A lone surrogate would come back as U+FFFD (another path): not written either.
  assert.throws(() => encodeRecord({ ...r0, paths: ["a\uD800"] } as unknown as Rec), /surrogate/);
});

Deno.test("no-op record: read back, its paths stat'd from the bytes; paths and stamps that do not pair up are no record", async () => {
  const { diffNoop, encodeRecord, noopRecordPath, stampOf } = await import("../lib/state/noop.ts");
  type Rec = Parameters<typeof encodeRecord>[0];
  const dir = await tempDir({ "jobs.yaml": "jobs: {}\n", ".jx/state.ndjson": "", "a.txt": "a" });
  const file = `${dir}/jobs.yaml`, state = `${dir}/.jx/state.ndjson`;
  const record = (paths: string[], count: number) => {
    const stamps = new Float64Array(count * 4);
    stamps.set([...stampOf(file)!, ...stampOf(state)!, ...stampOf(`${dir}/a.txt`)!]);
    const r = { key: "k", names: [], slots: 1, jobserver: "none", file, state, base: `${dir}/` };
    const rest = { racy: [], dirs: [], dstamps: [], listings: [], walks: [] };
    return { ...r, ...rest, paths, stamps, envNames: [], envSet: [] } as unknown as Rec;
  };
  const cases: [string[], number, string | undefined][] = [
    [[file, state, "a.txt"], 3, ""],
    [[file, state, "a.txt", "b.txt"], 4, "b.txt"], // b.txt absent, recorded as a file: changed
    [[file, state, "a.txt"], 4, undefined], // a stamp with no path
    [[file, state, "a.txt", "b.txt"], 3, undefined], // a path with no stamp
  ];
  for (const [paths, count, want] of cases) {
    const bytes = encodeRecord(record(paths, count));
    Deno.writeFileSync(noopRecordPath(dir, file), new Uint8Array(bytes.flatMap((b) => [...b])));
    const d = diffNoop(dir, file, "k");
    assert.equal(d && [...d.changed].join(), want, `${paths.length} paths, ${count} stamps`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("[bun] state log: a partial read from the end finds what the full read finds (native byte search)", async () => {
  const p = await new Deno.Command(BUN, {
    args: [`${ROOT}/tests/bun/state_find_check.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(p.stdout).trim();
  assert.equal(out, "ok", out + new TextDecoder().decode(p.stderr));
});

Deno.test("state log: a partial read from the end over many chunks finds what the full read finds", () => {
  const dir = Deno.makeTempDirSync({ prefix: "jx-test-" });
  Deno.mkdirSync(`${dir}/.jx`, { mode: 0o700 });
  const rand = seeded(7);
  Deno.writeTextFileSync(`${dir}/.jx/state.ndjson`, stateLogText(rand));
  assert.equal(partialReadDifference(dir, rand), undefined);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("no-op record: a jobs file edited in the millisecond of its stamp (same size) is compared by content", async () => {
  const { diffNoop, jobsFileStampAt, recordNoop, stampOf } = await import("../lib/state/noop.ts");
  const dir = await tempDir({ "jobs.yaml": "jobs: { a: { run: x } }\n", ".jx/state.ndjson": "" });
  const file = `${dir}/jobs.yaml`;
  // Stamped right after it was written: racy, so the content the run reads is hashed. (At its
  // own mtime: `Date.now()` here may be past the racy window on a busy host, as CI saw.)
  const read = jobsFileStampAt(file, Deno.statSync(file).mtime!.getTime())!;
  assert.equal(typeof read.hash, "string");
  Deno.writeTextFileSync(file, "jobs: { a: { run: y } }\n"); // same size, after the run read it
  // As if in the same millisecond: the stamp the record holds is the disk's now.
  const from = (hash?: string) => ({
    jobsFile: stampOf(file)!,
    jobsFileHash: hash,
    recorded: () => undefined,
  });
  assert.ok(recordNoop(dir, file, "k", [], 1, "none", from(read.hash)));
  assert.equal(diffNoop(dir, file, "k"), undefined, "the jobs file changed: nothing holds");
  // The content the run read is the disk's: the record holds.
  assert.ok(
    recordNoop(dir, file, "k", [], 1, "none", from(jobsFileStampAt(file, Date.now())!.hash)),
  );
  assert.equal(diffNoop(dir, file, "k")?.changed.size, 0);
  // Stamped long after it was written: no hash, the stamp alone decides.
  assert.equal(jobsFileStampAt(file, Date.now() + 60_000)?.hash, undefined);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pathIndexesOf: many paths by one pass, the same as a search each, on a record read as bytes", async () => {
  const { pathBytes, pathIndexes, pathIndexesOf } = await import("../lib/state/noop_paths.ts");
  const names = Array.from({ length: 200 }, (_, i) => `src/f${i % 150}.txt`);
  const r = { paths: names };
  pathBytes.set(r, { bytes: new TextEncoder().encode(names.map((n) => n + "\0").join("")) });
  const want = [...new Set(names.slice(10, 60)), "absent.txt"];
  const got = pathIndexesOf(r, want, 2);
  for (const p of want) assert.deepEqual(got.get(p), pathIndexes(r, p, 2), p);
});

Deno.test("a partial run that read the whole log compacts it too, keeping every other job's row (partial runs alone grew it for ever)", async () => {
  const dir = await tempDir();
  await Deno.mkdir(`${dir}/.jx`);
  // Long and short lines, multi-byte names, damaged lines, a torn last line.
  await Deno.writeTextFile(`${dir}/.jx/state.ndjson`, stateLogText(seeded(5)));
  const before = new StateStore(dir, () => {});
  const only = new Set(Array.from({ length: 100 }, (_, i) => `j${i}`));
  const part = new StateStore(dir, () => {}, only);
  part.put({ job: "j5", fp: "new", inputs: {}, outputs: {} });
  part.close();
  const text = await Deno.readTextFile(`${dir}/.jx/state.ndjson`);
  const after = new StateStore(dir, () => {});
  assert.equal(text.trimEnd().split("\n").length, after.rows.size, "one line a job");
  assert.deepEqual(
    [...after.rows.keys()].sort(),
    [...new Set([...before.rows.keys(), "j5"])].sort(),
  );
  for (const [job, row] of before.rows) {
    if (job !== "j5") assert.deepEqual(after.rows.get(job), row, job);
  }
  assert.equal(after.get("j5")?.fp, "new");
  // A line that only looks like a row, as the last of another job: no compaction (no row lost).
  await Deno.writeTextFile(`${dir}/.jx/state.ndjson`, `["zz","fp",0]\n["zz",1]\n`.repeat(600), {
    append: true,
  });
  const lines = (await Deno.readTextFile(`${dir}/.jx/state.ndjson`)).split("\n").length;
  const again = new StateStore(dir, () => {}, only);
  again.put({ job: "j6", fp: "new", inputs: {}, outputs: {} });
  again.close();
  assert.equal((await Deno.readTextFile(`${dir}/.jx/state.ndjson`)).split("\n").length, lines + 1);
  assert.equal(new StateStore(dir, () => {}).rows.get("zz")?.[1], "fp");
});
