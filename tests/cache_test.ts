/**
 * The output cache without servers: the key and its parts, the outputs
 * archive and its guarded restore, the local store (two processes writing,
 * pruning while restoring, corrupt blobs, LRU), the REAPI encoding, the
 * Turborepo artifact container and `jx cache`.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import {
  BadBlob,
  Cache,
  cacheable,
  type CacheJob,
  decodeActionResult,
  encodeActionResult,
  type Entry,
  keyOf,
  keyParts,
  LocalStore,
  openCache,
  type Output,
  parseSize,
  refuseOutputs,
  refusePath,
  stageOutputs,
  writeOutputs,
} from "../lib/cache/mod.ts";
import { parseEmittedJob } from "../lib/graph/mod.ts";
import { blobOf, entryOf, hex, keyOf as fixtureKey } from "./cache_fixtures.ts";
import { DENO, ROOT, tempDir } from "./helpers.ts";

const te = new TextEncoder(), td = new TextDecoder();

const job = (dir: string, over: Partial<CacheJob> = {}): CacheJob => ({
  name: "build",
  argv: ["/bin/sh", "-c", "cc -c src/a.c"],
  env: { LC_ALL: "C" },
  reads: ["src/*.c"],
  writes: ["out"],
  cwd: dir,
  ...over,
});

const newCache = (dir: string, warnings: string[] = []) =>
  new Cache({ local: new LocalStore(dir), warn: (l) => warnings.push(l) });

const out = (s: string) => [{ stream: "stdout" as const, chunk: te.encode(s) }];

Deno.test("key: a job the Slurm executor runs is keyed by the options that pick its nodes, not by this machine", async () => {
  const dir = await tempDir({ "src/a.c": "int a;" });
  const ctx = { baseDir: dir, vars: {}, platform: "linux/x64" };
  const key = (over: Partial<CacheJob>, c: Partial<typeof ctx & { executor: "slurm" }> = {}) =>
    keyOf(keyParts(job(dir, over), { ...ctx, ...c }));
  const local = key({});
  const slurm = key({ executor: "slurm" });
  assert.notEqual(slurm, local, "a node of the cluster may not be this machine's platform");
  assert.equal(
    key({}, { executor: "slurm" }),
    slurm,
    "the run's --executor counts as the job's own",
  );
  assert.equal(key({ executor: "local" }, { executor: "slurm" }), local);
  assert.equal(key({ executor: "slurm" }, { platform: "darwin/arm64" }), slurm);
  const picked = [
    key({ executor: "slurm", slurm: { partition: "arm" } }),
    key({ executor: "slurm", slurm: { partition: "x86" } }),
    key({ executor: "slurm", slurm: { gres: "gpu:1" } }),
    key({ executor: "slurm", slurm: { args: ["--constraint=avx512"] } }),
  ];
  assert.equal(new Set([local, slurm, ...picked]).size, 6);
  assert.equal(keyParts(job(dir, { executor: "slurm" }), ctx).platform, 'slurm:["",""]');
});

Deno.test("key: stable for the same job, and every listed part changes it", async () => {
  const dir = await tempDir({ "src/a.c": "int a;", "src/b.c": "int b;" });
  const ctx = { baseDir: dir, vars: { CC: "gcc" }, processEnv: { TOKEN: "x", OTHER: "z" } };
  const base = keyOf(keyParts(job(dir), ctx));
  assert.equal(keyOf(keyParts(job(dir), ctx)), base);
  assert.notEqual(
    keyOf(keyParts(job(dir, { name: "other" }), ctx)),
    base,
    "the name is in the key: jx gives the job JX_JOB, which its output may print",
  );
  assert.equal(keyParts(job(dir), ctx).env.JX_JOB, "build");
  const changed = [
    keyParts(job(dir, { argv: ["/bin/sh", "-c", "cc -O2 -c src/a.c"] }), ctx),
    keyParts(job(dir, { env: { LC_ALL: "POSIX" } }), ctx),
    keyParts(job(dir), { ...ctx, vars: { CC: "clang" } }),
    keyParts(job(dir, { cache: { env: ["TOKEN"] } }), ctx),
    keyParts(job(dir), { ...ctx, settings: { env: ["OTHER"] } }),
    keyParts(job(dir, { writes: ["out", "out2"] }), ctx),
    keyParts(job(dir), { ...ctx, platform: "darwin/arm64" }),
    keyParts(job(dir, { cache: { salt: "v2" } }), ctx),
    keyParts(job(dir, { cwd: join(dir, "src") }), ctx),
  ].map(keyOf);
  for (const k of changed) assert.notEqual(k, base);
  assert.equal(new Set(changed).size, changed.length);
  const withToken = keyOf(keyParts(job(dir, { cache: { env: ["TOKEN"] } }), ctx));
  const otherToken = keyParts(job(dir, { cache: { env: ["TOKEN"] } }), {
    ...ctx,
    processEnv: { TOKEN: "y" },
  });
  assert.notEqual(keyOf(otherToken), withToken, "a pass-through value is in the key");
  assert.ok(!JSON.stringify(otherToken).includes('"y"'), "its value is kept only as a hash");
  await Deno.writeTextFile(`${dir}/src/b.c`, "int b2;");
  assert.notEqual(keyOf(keyParts(job(dir), ctx)), base, "an input's content is in the key");
  await Deno.writeTextFile(`${dir}/src/c.c`, "int c;");
  const parts = keyParts(job(dir), ctx);
  assert.deepEqual(Object.keys(parts.inputs), ["src/a.c", "src/b.c", "src/c.c"]);
});

Deno.test("key: an input's executable bit is in it (a script made executable, or no longer)", async () => {
  const dir = await tempDir({ "gen.sh": "#!/bin/sh\necho hi\n" });
  const j = job(dir, { argv: ["/bin/sh", "-c", "./gen.sh > out/x"], reads: ["gen.sh"] });
  const ctx = { baseDir: dir, vars: {} };
  await Deno.chmod(`${dir}/gen.sh`, 0o644);
  const plain = keyParts(j, ctx);
  await Deno.chmod(`${dir}/gen.sh`, 0o755);
  const exec = keyParts(j, ctx);
  assert.notEqual(keyOf(exec), keyOf(plain), "./gen.sh fails with exit 126 unless executable");
  assert.match(exec.inputs["gen.sh"]!, /\+x$/);
  assert.equal(plain.inputs["gen.sh"]!.length, 32);
});

Deno.test("key: a dotenv name the process environment overrides is hashed with its value there (jobs made at run time too)", async () => {
  const dir = await tempDir({ "src/a.c": "int a;" });
  const ctx = (MODE: string) => ({ baseDir: dir, vars: {}, processEnv: { MODE } });
  const j = job(dir, { envFromProcess: ["MODE"] });
  assert.notEqual(keyOf(keyParts(j, ctx("release"))), keyOf(keyParts(j, ctx("other"))));
  assert.equal(keyOf(keyParts(j, ctx("release"))), keyOf(keyParts(j, ctx("release"))));
  const emitted = parseEmittedJob('{"name": "e", "run": "x", "writes": ["o"]}', 1, "gen", {
    file: "jobs.yaml",
    baseDir: dir,
    env: {},
    vars: {},
    pools: {},
    envFromProcess: ["MODE"],
  });
  assert.deepEqual(emitted.envFromProcess, ["MODE"]);
});

Deno.test("cacheable: jobs with writes unless cache: false; without writes only with cache: true", () => {
  const j = job("/p");
  assert.equal(cacheable(j), true);
  assert.equal(cacheable({ ...j, cache: false }), false);
  assert.equal(cacheable({ ...j, writes: [] }), false);
  assert.equal(cacheable({ ...j, writes: ["@db"] }), false);
  assert.equal(cacheable({ ...j, writes: [], cache: true }), true);
  // What it reads from the terminal is in no key: an answer typed differently would be restored.
  assert.equal(cacheable({ ...j, interactive: true }), false);
  assert.equal(cacheable({ ...j, interactive: true, cache: true }), false);
  // What an @name it reads stands for (a database a migration changed) is in no key.
  assert.equal(cacheable({ ...j, reads: [...j.reads, "@db"] }), false);
  assert.equal(cacheable({ ...j, reads: [...j.reads, "@db"], cache: true }), true);
  assert.equal(cacheable({ ...j, reads: ["@db"], writes: [...j.writes, "@db"] }), true);
});

/** A project whose job wrote files, a directory, an executable and symlinks. */
async function builtProject(): Promise<string> {
  const dir = await tempDir({
    "src/a.c": "int a;",
    "out/lib/x.txt": "x\n",
    "out/run.sh": "#!/bin/sh\n",
  });
  await Deno.chmod(`${dir}/out/run.sh`, 0o750);
  await Deno.chmod(`${dir}/out/lib`, 0o700);
  await Deno.symlink("lib/x.txt", `${dir}/out/link`);
  await Deno.symlink("../src/a.c", `${dir}/out/src-link`);
  return dir;
}

Deno.test("local store: another checkout restores files, modes, symlinks and the log in order", async () => {
  const store = await tempDir();
  const a = await builtProject();
  const ctx = (baseDir: string) => ({ baseDir, vars: {} });
  const cache = newCache(store);
  const miss = await cache.lookup(job(a), ctx(a));
  assert.equal(miss.kind, "miss");
  const log = [
    { stream: "stdout" as const, chunk: te.encode("one\n") },
    { stream: "stderr" as const, chunk: te.encode("warn\n") },
    { stream: "stdout" as const, chunk: te.encode("two\n") },
  ];
  cache.record(job(a), miss, a, { exit: 0, durationMs: 1234, output: log });
  const b = await tempDir({ "src/a.c": "int a;" });
  const hit = await newCache(store).lookup(job(b), ctx(b));
  assert.equal(hit.kind, "hit");
  if (hit.kind !== "hit") return;
  assert.equal(hit.source, "local");
  const r = await newCache(store).restore(hit, job(b), b);
  assert.equal(r.kind, "restored");
  if (r.kind !== "restored") return;
  assert.equal(r.durationMs, 1234);
  assert.deepEqual(r.output.map((c) => [c.stream, td.decode(c.chunk)]), [
    ["stdout", "one\n"],
    ["stderr", "warn\n"],
    ["stdout", "two\n"],
  ]);
  assert.equal(await Deno.readTextFile(`${b}/out/lib/x.txt`), "x\n");
  assert.equal((await Deno.stat(`${b}/out/run.sh`)).mode! & 0o777, 0o750);
  assert.equal((await Deno.stat(`${b}/out/lib`)).mode! & 0o777, 0o700);
  assert.equal(await Deno.readLink(`${b}/out/link`), "lib/x.txt");
  assert.equal(await Deno.readLink(`${b}/out/src-link`), "../src/a.c");
  assert.equal(await Deno.readTextFile(`${b}/out/link`), "x\n");
});

Deno.test("record: a failed job is not stored; a symlink leading out of the project is refused", async () => {
  const store = await tempDir();
  const a = await tempDir({ "src/a.c": "int a;", "out/x": "x" });
  const warnings: string[] = [];
  const cache = newCache(store, warnings);
  const miss = await cache.lookup(job(a), { baseDir: a, vars: {} });
  cache.record(job(a), miss, a, { exit: 1, durationMs: 1, output: [] });
  assert.equal((await cache.lookup(job(a), { baseDir: a, vars: {} })).kind, "miss");
  await Deno.symlink("/etc/passwd", `${a}/out/evil`);
  cache.record(job(a), miss, a, { exit: 0, durationMs: 1, output: [] });
  assert.match(warnings.join("\n"), /out\/evil: symlink to \/etc\/passwd leads out of the project/);
  assert.equal((await cache.lookup(job(a), { baseDir: a, vars: {} })).kind, "miss");
});

Deno.test("refusePath: absolute, .., and paths outside the job's writes", () => {
  const writes = ["out", "gen/*.h", "@db"];
  assert.equal(refusePath("out/a/b", writes), null);
  assert.equal(refusePath("out", writes), null);
  assert.equal(refusePath("gen/x.h", writes), null);
  assert.match(refusePath("/etc/passwd", writes)!, /absolute/);
  assert.match(refusePath("out/../etc", writes)!, /plain relative/);
  assert.match(refusePath("out/./x", writes)!, /plain relative/);
  assert.match(refusePath("outside/x", writes)!, /outside the job's writes/);
  assert.match(refusePath("output", writes)!, /outside the job's writes/);
  assert.match(refusePath("db", writes)!, /outside the job's writes/);
});

Deno.test("restore: a tampered entry writes nothing outside the writes (paths, symlinks, linked dirs)", async () => {
  const store = await tempDir();
  const outside = await tempDir();
  const p = await tempDir({ "src/a.c": "int a;" });
  const local = new LocalStore(store);
  const blob = te.encode("pwned");
  local.putBlob(blob);
  const file = (path: string) => ({
    kind: "file" as const,
    path,
    mode: 0o644,
    digest: hex(blob),
    size: 5,
  });
  const cases: [Entry["outputs"], RegExp][] = [
    [[file("out/ok"), file("../escape")], /plain relative/],
    [[file(`${outside}/abs`)], /absolute/],
    [[file("src/a.c")], /outside the job's writes/],
    [[{ kind: "symlink", path: "out/l", target: outside }], /leads out/],
    [[{ kind: "symlink", path: "out/l", target: "../../x" }], /leads out/],
  ];
  const link = (path: string, target: string) => ({ kind: "symlink" as const, path, target });
  const dir = (path: string) => ({ kind: "dir" as const, path, mode: 0o755 });
  cases.push(
    // Links through links: each target's text stays inside, where it leads does not.
    [
      [dir("out"), link("out/up", ".."), link("out/esc", "up/..")],
      /out\/esc: symlink to up\/\.\. climbs \(\.\.\) out of a folder it names/,
    ],
    // A `..` after a name leads where that name leads when followed: a link another job makes
    // there later (outB/x -> ..) would take it out of the project, though it looks inside now.
    [[dir("out"), link("out/l", "../outB/x/..")], /out\/l: symlink to \.\.\/outB\/x\/\.\. climbs/],
    // A file written through the entry's own link (into .git/hooks, or over a source).
    [
      [dir("out"), link("out/up", ".."), link("out/esc", "up/.."), file("out/esc/PWNED")],
      /below a symlink/,
    ],
    [[link("out/r", ".."), file("out/r/src/a.c")], /below a symlink/],
    // The same with the link after the file (a Bazel entry's order: files, then links).
    [[file("out/r/x"), link("out/r", "..")], /below a symlink/],
    [[file("out/d"), file("out/d")], /stored twice/],
    // A link on disk on the way.
    [[link("out2/esc", "up/..")], /climbs/],
    [[link("out2/esc", "linked")], /leads out/],
    // A lying store's paths thousands of folders deep: refused before any is walked (each walk
    // of every folder on their way took 25 s and 1 GB for 20 paths 5,000 deep).
    [[dir(`out/${"s0/".repeat(5000)}x`)], /a path longer than 4095 bytes/],
    [[dir(`out/${"é".repeat(2100)}`)], /a path longer than 4095 bytes/], // (bytes, not characters)
    [
      Array.from({ length: 140 }, (_, i) => dir(`out/${i}/${"a/".repeat(2000)}x`)),
      /paths too deep to check \(\d+ > 1073741824 bytes to walk\)/,
    ],
  );
  await Deno.mkdir(`${p}/out2`);
  await Deno.symlink("..", `${p}/out2/up`);
  await Deno.symlink(outside, `${p}/out2/linked`);
  cases.push([[file("out2/linked/x")], /directory leads out/]);
  for (const [outputs, why] of cases) {
    const warnings: string[] = [];
    const cache = newCache(store, warnings);
    const parts = keyParts(job(p, { writes: ["out", "out2"] }), { baseDir: p, vars: {} });
    const entry: Entry = { ...entryOf(0, blob), key: keyOf(parts), outputs };
    const r = await cache.restore(
      { kind: "hit", source: "local", key: entry.key, parts, entry },
      job(p, { writes: ["out", "out2"] }),
      p,
    );
    assert.equal(r.kind, "refused");
    assert.match(warnings[0], why);
    assert.equal(warnings.length, 1);
  }
  assert.deepEqual([...Deno.readDirSync(outside)], []);
  assert.equal(await Deno.readTextFile(`${p}/src/a.c`), "int a;");
  assert.throws(() => Deno.statSync(`${p}/out/ok`), "nothing written before the refusal");
  assert.equal(refuseOutputs([file("out/x")], ["out"], p), null);
  assert.equal(refuseOutputs([link("out/a", "../out/c"), link("out/b", ".")], ["out"], p), null);
  assert.match(refuseOutputs([link("out/a", "b/../c")], ["out"], p)!, /climbs/);
  assert.deepEqual(Deno.readDirSync(p).map((e) => e.name).toArray().sort(), ["out2", "src"]);
});

Deno.test("restore: an entry with an output outside the job's writes is removed from the store; one stopped by this disk stays", async () => {
  const store = await tempDir(), outside = await tempDir();
  const p = await tempDir({ "src/a.c": "int a;" });
  await Deno.symlink(outside, `${p}/linked`); // this checkout's own link, not the entry's doing
  for (
    const [path, why, stays] of [
      ["../escape", /plain relative/, false],
      ["src/a.c", /outside the job's writes/, false],
      ["linked/x", /directory leads out/, true],
    ] as const
  ) {
    const { r, warnings, key } = await restoreFiles(
      store,
      p,
      ["linked", "out"],
      [path],
      te.encode("x"),
    );
    assert.equal(r.kind, "refused");
    assert.match(warnings[0], why);
    assert.equal(new LocalStore(store).getEntry(key) !== null, stays, path);
  }
  // A file and a path below it (out, out/x; either order): no run leaves that. Refused before
  // anything is written (out was left a file, and the job failed at every run), and removed.
  for (const paths of [["out", "out/x"], ["out/x", "out"]]) {
    const { r, warnings, key } = await restoreFiles(store, p, ["out"], paths, te.encode("x"));
    assert.equal(r.kind, "refused");
    assert.match(warnings[0], /out\/x: below a file \(out\) of the entry/);
    assert.equal(new LocalStore(store).getEntry(key), null);
    assert.throws(() => Deno.lstatSync(`${p}/out`), "nothing written");
  }
});

Deno.test("refuseOutputs: a symlink on disk on the way to an output (an entry without folders, as a Bazel one) is refused", async () => {
  const p = await tempDir({ "src/x": "mine", "out/.keep": "" });
  await Deno.symlink("../src", `${p}/out/l`);
  const file = {
    kind: "file" as const,
    path: "out/l/x",
    mode: 0o644,
    digest: "0".repeat(64),
    size: 1,
  };
  assert.match(refuseOutputs([file], ["out"], p)!, /out\/l\/x: out\/l is a symlink on disk/);
  assert.match(
    refuseOutputs([{ kind: "dir", path: "out", mode: 0o755 }, file], ["out"], p)!,
    /out\/l is a symlink on disk/,
  );
  // A folder of the entry replaces the link (removed, never followed): allowed.
  const dir = { kind: "dir" as const, path: "out/l", mode: 0o755 };
  assert.equal(refuseOutputs([dir, file], ["out"], p), null);
  // A folder of the user's where the entry has a file or a link: refused, unless empty.
  assert.match(refuseOutputs([{ ...file, path: "src" }], ["src"], p)!, /not empty/);
  assert.match(
    refuseOutputs([{ kind: "symlink", path: "src", target: "out" }], ["src"], p)!,
    /not empty/,
  );
  await Deno.mkdir(`${p}/empty`);
  assert.equal(refuseOutputs([{ ...file, path: "empty" }], ["empty"], p), null);
});

Deno.test("restore over an output folder that is a link (to a folder in the project): restored, no staged file left behind", async () => {
  const store = await tempDir();
  const p = await tempDir({ "src/a.c": "int a;", "build/.keep": "" });
  await Deno.symlink("build", `${p}/out`);
  const local = new LocalStore(store);
  const blob = te.encode("made");
  local.putBlob(blob);
  const parts = keyParts(job(p), { baseDir: p, vars: {} });
  const entry: Entry = {
    ...entryOf(0, blob),
    key: keyOf(parts),
    outputs: [
      { kind: "dir", path: "out", mode: 0o755 },
      { kind: "file", path: "out/a", mode: 0o644, digest: hex(blob), size: blob.length },
    ],
  };
  const warnings: string[] = [];
  const r = await newCache(store, warnings).restore(
    { kind: "hit", source: "local", key: entry.key, parts, entry },
    job(p),
    p,
  );
  assert.equal(r.kind, "restored", warnings.join("\n"));
  assert.equal(await Deno.readTextFile(`${p}/out/a`), "made");
  const left = [...Deno.readDirSync(p), ...Deno.readDirSync(`${p}/build`)]
    .filter((e) => e.name.startsWith(".jx-restore"));
  assert.deepEqual(left, []);
});

/**
 * Restores, in the project `p`, a stored entry whose outputs are the files
 * `paths` (each `blob`) for a job that writes `writes`: the result, the
 * warnings and the entry's key.
 */
async function restoreFiles(
  store: string,
  p: string,
  writes: string[],
  paths: readonly string[],
  blob: Uint8Array,
) {
  const local = new LocalStore(store);
  local.putBlob(blob);
  const j = job(p, { writes });
  const parts = keyParts(j, { baseDir: p, vars: {} });
  const file = (path: string) => ({
    kind: "file" as const,
    path,
    mode: 0o644,
    digest: hex(blob),
    size: blob.length,
  });
  const entry: Entry = { ...entryOf(0, blob), key: keyOf(parts), outputs: paths.map(file) };
  local.putEntry(entry);
  const warnings: string[] = [];
  const hit = { kind: "hit" as const, source: "local" as const, key: entry.key, parts, entry };
  return { r: await newCache(store, warnings).restore(hit, j, p), warnings, key: entry.key };
}

Deno.test("restore: a glob's head that is a link on disk (out -> a folder elsewhere): nothing removed through it", async () => {
  const store = await tempDir();
  const outside = await tempDir({ "notes.txt": "precious", "keep.o": "mine" });
  const p = await tempDir({ "src/a.c": "int a;", "src/b.txt": "mine too" });
  await Deno.symlink(outside, `${p}/out`);
  await Deno.symlink("src", `${p}/gen`);
  // The run matched none of its globs but one (its entry holds no file under out/ or gen/).
  const { r, warnings } = await restoreFiles(
    store,
    p,
    ["out/*.txt", "out/*.o", "gen/*.txt", "log/*.txt"],
    ["log/a.txt"],
    te.encode("made"),
  );
  assert.equal(r.kind, "restored", warnings.join("\n"));
  assert.equal(await Deno.readTextFile(`${p}/log/a.txt`), "made");
  assert.deepEqual(
    Deno.readDirSync(outside).map((e) => e.name).toArray().sort(),
    ["keep.o", "notes.txt"],
    "a restore removes nothing outside the project through a link",
  );
  assert.equal(await Deno.readTextFile(`${p}/src/b.txt`), "mine too");
});

Deno.test("restore: a file the job declares that its run did not leave is removed (a stale one of another run); a folder stays", async () => {
  const store = await tempDir();
  const p = await tempDir({
    "report.txt": "old",
    "errors.log": "stale: from a run on other inputs",
    "logs/keep": "the user's",
  });
  const { r, warnings } = await restoreFiles(
    store,
    p,
    ["report.txt", "errors.log", "logs", "other.txt"],
    ["report.txt"],
    te.encode("ok"),
  );
  assert.equal(r.kind, "restored", warnings.join("\n"));
  assert.equal(await Deno.readTextFile(`${p}/report.txt`), "ok");
  assert.throws(() => Deno.lstatSync(`${p}/errors.log`), "as the run left it: no errors.log");
  assert.equal(await Deno.readTextFile(`${p}/logs/keep`), "the user's");
});

Deno.test("a restore whose stop is aborted ends 'stopped': nothing put in place, no staged file left, no warning", async () => {
  const store = await tempDir();
  const a = await tempDir({ "src/a.c": "int a;", "out/x": "x", "out/y": "y" });
  const warnings: string[] = [];
  const cache = newCache(store, warnings);
  const miss = await cache.lookup(job(a), { baseDir: a, vars: {} });
  cache.record(job(a), miss, a, { exit: 0, durationMs: 1, output: out("built\n") });
  const b = await tempDir({ "src/a.c": "int a;", "out/old": "mine" });
  const hit = await cache.lookup(job(b), { baseDir: b, vars: {} });
  assert.equal(hit.kind, "hit");
  if (hit.kind !== "hit") return;
  const ac = new AbortController();
  ac.abort();
  const r = await cache.restore(hit, job(b), b, undefined, ac.signal);
  assert.deepEqual([r, warnings], [{ kind: "stopped" }, []]);
  assert.deepEqual([...Deno.readDirSync(`${b}/out`)].map((e) => e.name), ["old"]);
  assert.deepEqual([...Deno.readDirSync(b)].map((e) => e.name).sort(), ["out", "src"]);
  assert.equal((await cache.restore(hit, job(b), b)).kind, "restored", "without a stop");
  assert.deepEqual([...Deno.readDirSync(`${b}/out`)].map((e) => e.name).sort(), ["x", "y"]);
});

Deno.test("a restore killed midway: its staged file is no output, and the next restore there removes it (not a live process's)", async () => {
  const { host } = await import("../lib/runtime/stale.ts");
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  const dead = `.jx-restore-${host()}-${gone.pid}-0123456789ab`;
  const live = `.jx-restore-${host()}-1-0123456789ab`; // pid 1: alive, and older than the file
  const store = await tempDir();
  const a = await tempDir({ "src/a.c": "int a;", "out/x": "x", [`out/${dead}`]: "half" });
  const cache = newCache(store);
  const miss = await cache.lookup(job(a), { baseDir: a, vars: {} });
  cache.record(job(a), miss, a, { exit: 0, durationMs: 1, output: [] });
  const hit = await cache.lookup(job(a), { baseDir: a, vars: {} });
  assert.equal(hit.kind, "hit");
  if (hit.kind !== "hit") return;
  assert.deepEqual(hit.entry.outputs.map((o) => o.path), ["out", "out/x"]);
  const b = await tempDir({
    "src/a.c": "int a;",
    [`out/${dead}`]: "half",
    [`out/${live}`]: "busy",
  });
  assert.equal((await cache.restore(hit, job(b), b)).kind, "restored");
  assert.deepEqual(Deno.readDirSync(`${b}/out`).map((e) => e.name).toArray().sort(), [live, "x"]);
});

Deno.test("a malformed entry (a symlink without a target, a failed exit, a duration past belief) is a miss, never a crash", async () => {
  const store = await tempDir();
  const p = await tempDir({ "src/a.c": "int a;" });
  const local = new LocalStore(store);
  const parts = keyParts(job(p), { baseDir: p, vars: {} });
  const good = { ...entryOf(0, te.encode("x")), key: keyOf(parts) };
  local.putBlob(te.encode("x"));
  local.putEntry(good);
  assert.equal((await newCache(store).lookup(job(p), { baseDir: p, vars: {} })).kind, "hit");
  const bad = [
    { ...good, outputs: [{ kind: "symlink", path: "out/x" }] },
    { ...good, outputs: [{ kind: "symlink", path: "out/x", target: 5 }] },
    { ...good, outputs: [{ kind: "fifo", path: "out/x" }] },
    { ...good, outputs: [{ kind: "file", path: "out/x", mode: 0o644, digest: "zz", size: 1 }] },
    { ...good, exit: 1 },
    { ...good, durationMs: -5e15 },
    { ...good, durationMs: 1e300 },
    { ...good, log: { stdout: 5, stderr: null, order: [] } },
  ];
  for (const e of bad) {
    local.putEntry(e as unknown as Entry);
    const warnings: string[] = [];
    const got = await newCache(store, warnings).lookup(job(p), { baseDir: p, vars: {} });
    assert.equal(got.kind, "miss", JSON.stringify(e));
  }
});

Deno.test("a job's last stored key without its parts (damaged) says 'never stored', not an internal error", async () => {
  const store = await tempDir();
  const p = await tempDir({ "src/a.c": "int a;" });
  const local = new LocalStore(store);
  local.setLast(p, "build", "abc", undefined as unknown as ReturnType<typeof keyParts>);
  const got = await newCache(store).lookup(job(p), { baseDir: p, vars: {} });
  assert.equal(got.kind, "miss");
  if (got.kind === "miss") assert.equal(got.why, "never stored");
});

Deno.test("local store: a corrupt blob is detected by its hash, removed, and the job runs", async () => {
  const store = await tempDir();
  const a = await tempDir({ "src/a.c": "int a;", "out/x": "precious output" });
  const cache = newCache(store);
  const ctx = { baseDir: a, vars: {} };
  const miss = await cache.lookup(job(a), ctx);
  cache.record(job(a), miss, a, { exit: 0, durationMs: 5, output: out("log\n") });
  const digest = hex("precious output");
  const blobPath = `${store}/blobs/${digest.slice(0, 2)}/${digest}`;
  await Deno.writeTextFile(blobPath, "precious outpuX");
  await Deno.writeTextFile(`${a}/out/x`, "changed by hand");
  const warnings: string[] = [];
  const c2 = newCache(store, warnings);
  const hit = await c2.lookup(job(a), ctx);
  assert.equal(hit.kind, "hit");
  if (hit.kind !== "hit") return;
  const r = await c2.restore(hit, job(a), a);
  assert.equal(r.kind, "refused");
  assert.match(warnings[0], /corrupt \(removed\)/);
  assert.throws(() => Deno.statSync(blobPath));
  assert.equal(await Deno.readTextFile(`${a}/out/x`), "changed by hand", "nothing written");
  assert.equal((await c2.lookup(job(a), ctx)).kind, "miss", "the entry now misses");
  assert.throws(() => new LocalStore(store).readBlob(digest), BadBlob);
});

Deno.test("local store: prune removes least recently used entries first, and their blobs", async () => {
  const store = new LocalStore(await tempDir());
  for (let i = 0; i < 4; i++) {
    const b = blobOf(i);
    store.putBlob(b);
    store.putEntry(entryOf(i, b));
  }
  const t = (s: number) => new Date(Date.now() - s * 1000);
  for (let i = 0; i < 4; i++) {
    const k = fixtureKey(i);
    Deno.utimeSync(`${store.dir}/entries/${k.slice(0, 2)}/${k}.json`, t(100 - i), t(100 - i));
  }
  store.getEntry(fixtureKey(0)); // a hit makes entry 0 the most recently used
  const before = store.stats();
  assert.equal(before.entries, 4);
  store.prune(before.bytes - 1); // must drop one entry: the least recently used is 1
  assert.equal(store.getEntry(fixtureKey(1)), null);
  assert.equal(store.hasBlob(hex(blobOf(1))), false);
  for (const i of [0, 2, 3]) assert.notEqual(store.getEntry(fixtureKey(i)), null);
  store.prune(0);
  assert.deepEqual([store.stats().entries, store.stats().blobs], [0, 0]);
});

Deno.test("local store: trim measures the store only after adding to it (a run that only restored does not)", async () => {
  const dir = await tempDir();
  const filled = new LocalStore(dir);
  for (let i = 0; i < 4; i++) filled.putBlob(blobOf(i)), filled.putEntry(entryOf(i, blobOf(i)));
  const reader = new LocalStore(dir, 1); // a later run, the store above its limit
  assert.notEqual(reader.getEntry(fixtureKey(0)), null);
  reader.copyBlob(hex(blobOf(0)), `${await tempDir()}/restored`);
  reader.trim();
  assert.equal(reader.stats().entries, 4, "nothing added: the store is not measured, nor pruned");
  reader.putBlob(blobOf(9));
  reader.trim();
  assert.equal(reader.stats().entries, 0, "added to: measured, and pruned");
});

Deno.test("local store: prune removes temporary files left by a process that died while writing", async () => {
  const store = new LocalStore(await tempDir());
  const w = store.blobWriter(); // a download under way in another run: left alone
  w.write(blobOf(1));
  Deno.writeFileSync(`${store.dir}/tmp/123-dead`, new Uint8Array(5000)); // a killed run's
  const t = new Date(Date.now() - 3600_000);
  Deno.utimeSync(`${store.dir}/tmp/123-dead`, t, t);
  assert.equal(store.prune(10 ** 9), 5000);
  assert.equal([...Deno.readDirSync(`${store.dir}/tmp`)].length, 1);
  w.abort();
  assert.deepEqual([...Deno.readDirSync(`${store.dir}/tmp`)], []);
});

/** Runs tests/cache_worker.ts in another process. */
function worker(...args: string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command(DENO, {
    args: ["run", "-A", "--quiet", `${ROOT}/tests/cache_worker.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("local store: two processes writing the same entries; a reader never sees half of one", async () => {
  const dir = await tempDir();
  const n = 60;
  const writers = Promise.all([worker("write", dir, String(n)), worker("write", dir, String(n))]);
  let done = false, seen = 0;
  writers.finally(() => done = true);
  const store = new LocalStore(dir);
  while (!done) {
    for (let i = 0; i < n; i++) {
      const e = store.getEntry(fixtureKey(i));
      if (!e) continue;
      seen++;
      const o = e.outputs[0];
      assert.ok(o.kind === "file");
      assert.deepEqual(new Uint8Array(store.readBlob(o.digest)), blobOf(i)); // the blob is complete before its entry
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  for (const r of await writers) {
    assert.equal(td.decode(r.stdout).trim(), "done", td.decode(r.stderr));
  }
  assert.equal(store.stats().entries, n);
  assert.equal(store.stats().blobs, n);
  assert.deepEqual([...Deno.readDirSync(`${dir}/tmp`)], [], "no temporary file left");
  assert.ok(seen > 0);
});

Deno.test("local store: pruning in another process while restoring gives a miss or the right files", async () => {
  const store = await tempDir();
  const p = await tempDir({ "src/a.c": "int a;" });
  const pruner = worker("prune", store, "3000");
  let ended = false;
  pruner.finally(() => ended = true);
  const counts = { restored: 0, other: 0 };
  for (let i = 0; !ended || i < 5; i++) {
    const content = `output ${i}\n`.repeat(2000);
    await Deno.mkdir(`${p}/out`, { recursive: true });
    await Deno.writeTextFile(`${p}/out/x`, content);
    const cache = newCache(store, []);
    const j = job(p, { argv: ["echo", String(i)] });
    const miss = await cache.lookup(j, { baseDir: p, vars: {} });
    cache.record(j, miss, p, { exit: 0, durationMs: 1, output: [] });
    await Deno.remove(`${p}/out`, { recursive: true });
    const l = await cache.lookup(j, { baseDir: p, vars: {} });
    const r = l.kind === "hit" ? await cache.restore(l, j, p) : null;
    if (r?.kind === "restored") {
      counts.restored++;
      assert.equal(await Deno.readTextFile(`${p}/out/x`), content);
    } else counts.other++;
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.equal(td.decode((await pruner).stdout).trim(), "done");
  assert.ok(counts.restored + counts.other > 5, JSON.stringify(counts));
});

Deno.test("REAPI ActionResult: round trip, and known bytes for a Digest-only result", () => {
  const d = hex("x");
  const r = {
    files: [{ path: "out/a", digest: { hash: d, size: 1 }, executable: true }],
    symlinks: [{ path: "out/l", target: "a" }],
    exitCode: 0,
    stdout: { hash: d, size: 1 },
    stderr: undefined,
    startMs: 1_700_000_000_250,
    endMs: 1_700_000_001_500,
  };
  assert.deepEqual(decodeActionResult(encodeActionResult(r)), r);
  // exit_code (field 4, varint) = 3: tag 0x20, value 0x03.
  assert.deepEqual([...encodeActionResult({ files: [], symlinks: [], exitCode: 3 })], [0x20, 0x03]);
  assert.equal(
    decodeActionResult(encodeActionResult({ files: [], symlinks: [], exitCode: -1 })).exitCode,
    -1,
  );
  assert.throws(() => decodeActionResult(Uint8Array.of(0x12, 0x05, 0x0a)), /truncated/);
});

Deno.test("sizes: 500M, 10G, 1.5GiB, plain bytes; junk is an input error", () => {
  assert.equal(parseSize("500M"), 500 * 1024 ** 2);
  assert.equal(parseSize("10G"), 10 * 1024 ** 3);
  assert.equal(parseSize("1.5GiB"), 1.5 * 1024 ** 3);
  assert.equal(parseSize("123"), 123);
  assert.throws(() => parseSize("lots"), /not a size/);
});

Deno.test("openCache: off unless the file or a store asks; --no-cache wins", () => {
  assert.equal(openCache({}, {}, () => {}), null);
  assert.notEqual(openCache({ fileSaysCache: true }, { HOME: "/tmp" }, () => {}), null);
  assert.notEqual(openCache({}, { JX_CACHE_DIR: "/tmp/x" }, () => {}), null);
  assert.equal(openCache({ noCache: true, cacheDir: "/tmp/x" }, {}, () => {}), null);
  assert.throws(() => openCache({ remoteCache: "http://x" }, {}, () => {}), /expected turbo\+http/);
  assert.throws(() => openCache({ remoteCache: "turbo+http://h:1" }, {}, () => {}), /team=NAME/);
  assert.equal(
    openCache({}, { XDG_CACHE_HOME: "/xdg", JX_REMOTE_CACHE: "bazel+http://h:1/p" }, () => {})
      ?.local.dir,
    "/xdg/jx",
  );
});

Deno.test("openCache: a signature key set but empty turns the remote store off, with a warning; a bad JX_CACHE_MAX_SIZE is named", async () => {
  const store = await tempDir(), p = await tempDir({ "src/a.c": "int a;" });
  const warnings: string[] = [];
  // Port 9 refuses at once: a remote store that was asked would say so in a second warning.
  const env = { JX_REMOTE_CACHE: "bazel+http://127.0.0.1:9/p", JX_REMOTE_CACHE_SIGNATURE_KEY: "" };
  const cache = openCache({ cacheDir: store }, env, (l) => warnings.push(l))!;
  assert.equal((await cache.lookup(job(p), { baseDir: p, vars: {} })).kind, "miss");
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0],
    /JX_REMOTE_CACHE_SIGNATURE_KEY is set but empty: no entry can be verified/,
  );
  assert.throws(
    () => openCache({}, { JX_CACHE_DIR: store, JX_CACHE_MAX_SIZE: "-1" }, () => {}),
    /^Error: JX_CACHE_MAX_SIZE: '-1' is not a size|JX_CACHE_MAX_SIZE: '-1' is not a size/,
  );
});

Deno.test("a killed restore's temporary files: no job's input (nor in a key), and removed when the job's outputs are next stored", async () => {
  const { host } = await import("../lib/runtime/stale.ts");
  const { expand } = await import("../lib/state/mod.ts");
  const store = await tempDir();
  // A pid no process has (above Linux's pid_max of 2^22).
  const left = `.jx-restore-${host()}-9999999-0123456789ab`;
  const p = await tempDir({ "src/a.c": "int a;", [`out/${left}`]: "half", "out/o": "o" });
  assert.deepEqual(expand(["out"], p), ["out/o"]);
  const warnings: string[] = [];
  const cache = newCache(store, warnings);
  const miss = await cache.lookup(job(p), { baseDir: p, vars: {} });
  if (miss.kind !== "miss") throw new Error(miss.kind);
  cache.record(job(p), miss, p, { exit: 0, durationMs: 1, output: [] });
  assert.deepEqual(warnings, []);
  assert.deepEqual([...Deno.readDirSync(`${p}/out`)].map((e) => e.name), ["o"]);
});

Deno.test("record: a store's file that fails is named in the warning", async () => {
  const store = await tempDir({ "tmp": "a file where the store's folder goes" });
  const p = await tempDir({ "src/a.c": "int a;", "out/o": "o" });
  const warnings: string[] = [];
  const cache = newCache(store, warnings);
  const miss = await cache.lookup(job(p), { baseDir: p, vars: {} });
  if (miss.kind !== "miss") throw new Error(miss.kind);
  cache.record(job(p), miss, p, { exit: 0, durationMs: 1, output: [] });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], new RegExp(`not stored in the cache: ${store}/tmp\\S*: `));
});

Deno.test("record: outputs a restore would refuse (a path out of the project) are not stored, with one warning", async () => {
  const store = await tempDir();
  const root = await tempDir({ "proj/src/a.c": "int a;", "dist/o.txt": "o" });
  const p = `${root}/proj`;
  const warnings: string[] = [];
  const cache = newCache(store, warnings);
  const j = job(p, { writes: ["../dist/o.txt"] });
  const miss = await cache.lookup(j, { baseDir: p, vars: {} });
  assert.equal(miss.kind, "miss");
  if (miss.kind !== "miss") return;
  cache.record(j, miss, p, { exit: 0, durationMs: 1, output: [] });
  assert.deepEqual(warnings, [
    "jx: warning: build not stored in the cache: ../dist/o.txt: not a plain relative path",
  ]);
  assert.equal(new LocalStore(store).getEntry(miss.key), null);
});

Deno.test("explain: the key's parts and which part differs from the last stored key", async () => {
  const store = await tempDir();
  const a = await tempDir({ "src/a.c": "int a;", "out/x": "x" });
  const cache = newCache(store);
  const ctx = { baseDir: a, vars: { CC: "gcc" } };
  const miss = await cache.lookup(job(a), ctx);
  assert.equal(miss.kind === "miss" && miss.why, "never stored");
  cache.record(job(a), miss, a, { exit: 0, durationMs: 1, output: [] });
  assert.deepEqual(cache.explain(job(a), ctx).differs, []);
  assert.equal(cache.explain(job(a), ctx).stored, true);
  await Deno.writeTextFile(`${a}/src/a.c`, "int a = 1;");
  const e = cache.explain(job(a), { ...ctx, vars: { CC: "clang" } });
  assert.deepEqual(e.differs, ["vars CC: changed", "inputs src/a.c: changed"]);
  assert.equal(e.stored, false);
  const m = await cache.lookup(job(a), ctx);
  assert.equal(
    m.kind === "miss" && m.why,
    "differs from the last stored key: inputs src/a.c: changed",
  );
  // A last key as a store written before values were hashed holds it (values in clear): only
  // what changed is said, not every value of the environment and vars.
  const old = `${store}/last/${(await Array.fromAsync(Deno.readDir(`${store}/last`)))[0].name}`;
  const last = JSON.parse(await Deno.readTextFile(old));
  last.parts.vars = { CC: "gcc" };
  last.parts.env = keyParts(job(a), ctx).env; // in clear
  assert.ok(Object.keys(last.parts.env).length > 1);
  await Deno.writeTextFile(old, JSON.stringify(last));
  assert.deepEqual(cache.explain(job(a), { ...ctx, vars: { CC: "clang" } }).differs, [
    "vars CC: changed",
    "inputs src/a.c: changed",
  ]);
});

Deno.test("jx cache stats|prune|clear", async () => {
  const dir = await tempDir();
  const store = new LocalStore(dir);
  for (let i = 0; i < 3; i++) store.putBlob(blobOf(i)), store.putEntry(entryOf(i, blobOf(i)));
  const run = async (...args: string[]) => {
    const r = await new Deno.Command(DENO, {
      args: ["run", "-A", "--quiet", `${ROOT}/cli.ts`, "cache", ...args],
      env: { JX_CACHE_DIR: dir },
    }).output();
    return { code: r.code, stdout: td.decode(r.stdout), stderr: td.decode(r.stderr) };
  };
  const stats = await run("stats");
  assert.equal(stats.code, 0, stats.stderr);
  assert.match(stats.stdout, /entries: 3\nblobs: 3\nsize: 76\d\.\d KiB \(limit 10\.0 GiB\)/);
  // Without a size: down to the store's limit (JX_CACHE_MAX_SIZE here).
  const limited = await new Deno.Command(DENO, {
    args: ["run", "-A", "--quiet", `${ROOT}/cli.ts`, "cache", "prune"],
    env: { JX_CACHE_DIR: dir, JX_CACHE_MAX_SIZE: "600K" },
  }).output();
  assert.equal(limited.code, 0, td.decode(limited.stderr));
  assert.equal(store.stats().entries, 2);
  assert.equal((await run("prune")).code, 0, "under the default 10G: nothing to remove");
  assert.equal(store.stats().entries, 2);
  const pruned = await run("prune", "--max-size", "300K");
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.equal(store.stats().entries, 1);
  const bad = await run("prune", "--max-size", "lots");
  assert.deepEqual([bad.code, bad.stderr], [
    2,
    "jx: --max-size: expected a size (like 500M or 10G), got 'lots'\n",
  ]);
  assert.equal((await run("frob")).code, 2);
  assert.equal((await run("clear", "--cache-dir", dir)).code, 0);
  assert.equal(store.stats().entries, 0);
  // A folder that is not a store (a mistyped --cache-dir, an empty one: the current folder).
  const project = await tempDir({
    "jobs.yaml": "jobs: {}\n",
    "tmp/notes.txt": "keep\n",
    "last/x": "k",
  });
  const wrong = await new Deno.Command(DENO, {
    args: ["run", "-A", "--quiet", `${ROOT}/cli.ts`, "cache", "clear", "--cache-dir", project],
  }).output();
  assert.equal(wrong.code, 2);
  assert.match(
    td.decode(wrong.stderr),
    /^jx: .* is not a jx cache store \(it holds '[a-z.]+'\): nothing removed\n$/,
  );
  assert.equal(await Deno.readTextFile(`${project}/tmp/notes.txt`), "keep\n");
  // prune there as well: it removed the files two folders down in checked/ and blobs/.
  const data = await tempDir({
    "checked/2024/report.txt": "mine\n",
    "blobs/photos/cat.jpg": "mine\n",
    "docs/a.txt": "mine\n",
  });
  const old = new Date(Date.now() - 3600_000);
  await Deno.utime(`${data}/blobs/photos/cat.jpg`, old, old);
  const notStore = await run("prune", "--cache-dir", data);
  assert.equal(notStore.code, 2);
  assert.match(notStore.stderr, /is not a jx cache store \(it holds 'docs'\)/);
  assert.equal(await Deno.readTextFile(`${data}/checked/2024/report.txt`), "mine\n");
  assert.equal(await Deno.readTextFile(`${data}/blobs/photos/cat.jpg`), "mine\n");
  for (const args of [["cache", "clear", "--cache-dir="], ["run", "--cache-dir="]]) {
    const empty = await new Deno.Command(DENO, {
      args: ["run", "-A", "--quiet", `${ROOT}/cli.ts`, ...args],
      cwd: project,
    }).output();
    assert.equal(empty.code, 2, args.join(" "));
    assert.equal(td.decode(empty.stderr), "jx: --cache-dir needs a value (it is empty)\n");
    assert.equal(await Deno.readTextFile(`${project}/tmp/notes.txt`), "keep\n");
  }
  assert.deepEqual(Deno.readDirSync(project).map((e) => e.name).toArray().sort(), [
    "jobs.yaml",
    "last",
    "tmp",
  ]);
});

Deno.test("cache clear while another process writes into the store: no ENOTEMPTY, nothing left", async () => {
  const dir = await tempDir();
  const store = new LocalStore(dir);
  // Another jx storing meanwhile, as fast as it can: files into the shards of every folder.
  const writer = new Deno.Command(DENO, {
    args: [
      "eval",
      `const d = ${JSON.stringify(dir)}; const until = Date.now() + 20000;
       for (let i = 0; Date.now() < until; i++) {
         for (const sub of ["entries", "blobs", "checked", "tmp"]) {
           try {
             Deno.mkdirSync(d + "/" + sub + "/ab", { recursive: true });
             Deno.writeTextFileSync(d + "/" + sub + "/ab/" + i, "x");
           } catch { /* removed meanwhile */ }
         }
         if (i === 0) Deno.writeTextFileSync(d + "/started", "");
       }`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    while (!(await Deno.stat(`${dir}/started`).then(() => true, () => false))) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await Deno.remove(`${dir}/started`);
    for (let i = 0; i < 30; i++) store.clear();
  } finally {
    writer.kill("SIGKILL");
    await writer.status;
  }
  // Only the store's own folders are left (those the writer made again), nothing set aside.
  const names = [...Deno.readDirSync(dir)].map((e) => e.name);
  assert.ok(names.every((n) => ["entries", "blobs", "checked", "tmp"].includes(n)), `${names}`);
  // A clear killed midway left its folders aside: a store still, removed by the next clear.
  Deno.mkdirSync(
    `${dir}/blobs.clear-${(await import("../lib/runtime/stale.ts")).host()}-999999-0123456789ab/ab`,
    {
      recursive: true,
    },
  );
  store.prune(0);
  store.clear();
  assert.deepEqual([...Deno.readDirSync(dir)], []);
});

Deno.test("local store: an entry whose log's blob is missing is a miss (another store may have it), not a refused restore", async () => {
  const store = await tempDir();
  const a = await tempDir({ "src/a.c": "int a;", "out/x": "output" });
  const cache = newCache(store);
  const ctx = { baseDir: a, vars: {} };
  const miss = await cache.lookup(job(a), ctx);
  cache.record(job(a), miss, a, { exit: 0, durationMs: 5, output: out("the log\n") });
  assert.equal((await cache.lookup(job(a), ctx)).kind, "hit");
  const entry = new LocalStore(store).getEntry(miss.key)!;
  const log = entry.log.stdout!;
  await Deno.remove(`${store}/blobs/${log.slice(0, 2)}/${log}`);
  assert.equal((await newCache(store).lookup(job(a), ctx)).kind, "miss");
});

Deno.test("local store: a prune never follows a link put in the place of a shard (it removed the files it led to)", async () => {
  const store = await tempDir(), victim = await tempDir({ config: "keep me" });
  const a = await tempDir({ "src/a.c": "int a;", "out/x": "output" });
  const cache = newCache(store);
  const miss = await cache.lookup(job(a), { baseDir: a, vars: {} });
  cache.record(job(a), miss, a, { exit: 0, durationMs: 5, output: out("log\n") });
  await Deno.symlink(victim, `${store}/entries/zz`);
  await Deno.symlink(victim, `${store}/blobs/zz`);
  new LocalStore(store).prune(0);
  assert.equal(await Deno.readTextFile(`${victim}/config`), "keep me");
});

Deno.test("local store: a prune never follows a store folder (entries, blobs, checked, tmp) that is a link", async () => {
  for (const sub of ["entries", "blobs", "checked", "tmp"]) {
    const store = await tempDir(), victim = await tempDir();
    const a = await tempDir({ "src/a.c": "int a;", "out/x": "output" });
    const cache = newCache(store);
    const miss = await cache.lookup(job(a), { baseDir: a, vars: {} });
    cache.record(job(a), miss, a, { exit: 0, durationMs: 5, output: out("log\n") });
    // What a prune removes there: an old file (tmp), a shard's file (the others).
    const name = "f".repeat(64), old = new Date(Date.now() - 3 * 86_400_000);
    const path = sub === "tmp" ? `${victim}/${name}` : `${victim}/ff/${name}`;
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeTextFile(path, "keep me");
    await Deno.utime(path, old, old);
    await Deno.remove(`${store}/${sub}`, { recursive: true }).catch(() => {});
    await Deno.symlink(victim, `${store}/${sub}`);
    new LocalStore(store).prune(0);
    assert.equal(await Deno.readTextFile(path), "keep me", sub);
  }
  // A blob's memo where `checked/` leads: a prune dropping that blob removed it.
  const store = await tempDir(), victim = await tempDir();
  const a = await tempDir({ "src/a.c": "int a;", "out/x": "output" });
  const cache = newCache(store);
  const miss = await cache.lookup(job(a), { baseDir: a, vars: {} });
  cache.record(job(a), miss, a, { exit: 0, durationMs: 5, output: out("log\n") });
  const shard = [...Deno.readDirSync(`${store}/blobs`)][0].name;
  const digest = [...Deno.readDirSync(`${store}/blobs/${shard}`)][0].name;
  await Deno.mkdir(`${victim}/${shard}`);
  await Deno.writeTextFile(`${victim}/${shard}/${digest}`, "keep me");
  await Deno.remove(`${store}/checked`, { recursive: true }).catch(() => {});
  await Deno.symlink(victim, `${store}/checked`);
  new LocalStore(store).prune(0);
  assert.equal(await Deno.readTextFile(`${victim}/${shard}/${digest}`), "keep me", "memo");
});

Deno.test("a store kept inside a job's writes (node_modules/.cache/jx) is neither stored into itself nor removed by the job's restore", async () => {
  const p = await tempDir({ "src/a.c": "int a;" });
  const store = `${p}/node_modules/.cache/jx`;
  const install = job(p, { name: "install", writes: ["node_modules"] });
  const ctx = { baseDir: p, vars: {} };
  const cache = newCache(store);
  const put = async (v: string) => {
    await Deno.writeTextFile(`${p}/src/a.c`, v);
    await Deno.mkdir(`${p}/node_modules/pkg`, { recursive: true });
    await Deno.writeTextFile(`${p}/node_modules/pkg/index.js`, v);
    const miss = await cache.lookup(install, ctx);
    assert.equal(miss.kind, "miss");
    cache.record(install, miss, p, { exit: 0, durationMs: 5, output: [] });
  };
  await put("one");
  await put("two");
  for (const e of Deno.readDirSync(`${store}/entries`)) {
    for (const f of Deno.readDirSync(`${store}/entries/${e.name}`)) {
      const entry = JSON.parse(Deno.readTextFileSync(`${store}/entries/${e.name}/${f.name}`));
      const paths = entry.outputs.map((o: { path: string }) => o.path);
      assert.deepEqual(paths.filter((x: string) => x.startsWith("node_modules/.cache/")), []);
      assert.ok(paths.includes("node_modules/pkg/index.js"));
    }
  }
  await Deno.writeTextFile(`${p}/src/a.c`, "one");
  const hit = await cache.lookup(install, ctx);
  assert.equal(hit.kind, "hit");
  if (hit.kind !== "hit") return;
  const r = await cache.restore(hit, install, p);
  assert.equal(r.kind, "restored");
  assert.equal(await Deno.readTextFile(`${p}/node_modules/pkg/index.js`), "one");
  assert.equal(Deno.readDirSync(`${store}/entries`).toArray().length, 2, "the store is intact");
  await Deno.writeTextFile(`${p}/src/a.c`, "two");
  assert.equal((await cache.lookup(install, ctx)).kind, "hit", "the other entry still there");
});

Deno.test("jx cache clear|prune where the store's path is a file (or goes through one): exit 2 and one line, no stack trace", async () => {
  const dir = await tempDir({ "notes.txt": "keep\n" });
  for (const path of [`${dir}/notes.txt`, `${dir}/notes.txt/jx`]) {
    for (const action of ["clear", "prune"]) {
      const r = await new Deno.Command(DENO, {
        args: ["run", "-A", "--quiet", `${ROOT}/cli.ts`, "cache", action, "--cache-dir", path],
      }).output();
      assert.deepEqual([r.code, td.decode(r.stdout)], [2, ""], `${action} ${path}`);
      assert.match(
        td.decode(r.stderr),
        /^jx: .*: a part of the path is not a folder: not a jx cache store, nothing removed\n$/,
      );
    }
  }
  assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "keep\n");
});

Deno.test("jx cache stats where the store's path is a file, or a folder that is no store: exit 2 and one line, not an empty store", async () => {
  // It printed 'entries: 0 ... size: 0 B' and exit 0 for a mistyped --cache-dir, where prune and
  // clear say that it is no store.
  const dir = await tempDir({ "notes.txt": "keep\n" });
  const cases: [string, RegExp][] = [
    [
      `${dir}/notes.txt`,
      /: a part of the path is not a folder: not a jx cache store, nothing counted\n$/,
    ],
    [
      `${dir}/notes.txt/jx`,
      /: a part of the path is not a folder: not a jx cache store, nothing counted\n$/,
    ],
    [dir, /is not a jx cache store \(it holds 'notes.txt'\): nothing counted\n$/],
  ];
  for (const [path, why] of cases) {
    const r = await new Deno.Command(DENO, {
      args: ["run", "-A", "--quiet", `${ROOT}/cli.ts`, "cache", "stats", "--cache-dir", path],
    }).output();
    assert.deepEqual([r.code, td.decode(r.stdout)], [2, ""], path);
    assert.match(
      td.decode(r.stderr),
      new RegExp(`^jx: .*${why.source}`),
    );
  }
  // No store yet (a first run has not made it) is an empty one.
  const none = await new Deno.Command(DENO, {
    args: ["run", "-A", "--quiet", `${ROOT}/cli.ts`, "cache", "stats", "--cache-dir", `${dir}/new`],
  }).output();
  assert.equal(none.code, 0, td.decode(none.stderr));
  assert.match(td.decode(none.stdout), /entries: 0/);
});

Deno.test("record: a store whose last/ cannot be written still stores (and uploads) the entry, with no warning that it did not", async () => {
  const store = await tempDir({ last: "not a folder" });
  const p = await tempDir({ "src/a.c": "int a;", "out/a.o": "obj" });
  const warnings: string[] = [];
  const put: string[] = [];
  const remote = {
    label: "r",
    get: () => Promise.resolve(null),
    put: (e: Entry) => (put.push(e.key), Promise.resolve()),
  };
  const cache = new Cache({ local: new LocalStore(store), remote, warn: (l) => warnings.push(l) });
  const ctx = { baseDir: p, vars: {} };
  const miss = await cache.lookup(job(p), ctx);
  assert.equal(miss.kind, "miss");
  cache.record(job(p), miss, p, { exit: 0, durationMs: 5, output: [] });
  await cache.close();
  assert.deepEqual(warnings, []);
  assert.deepEqual(put, [miss.key]);
  assert.equal((await newCache(store).lookup(job(p), ctx)).kind, "hit");
});

Deno.test("a store inside a job's writes that its first store makes (walked after it is made) is not stored into itself", async () => {
  const p = await tempDir({ "src/a.c": "int a;", "node_modules/a.js": "a" });
  await Deno.mkdir(`${p}/node_modules/zz`);
  const store = `${p}/node_modules/zz/jx`; // made by the store of a.js, then walked
  const install = job(p, { name: "install", writes: ["node_modules"] });
  const cache = newCache(store);
  const miss = await cache.lookup(install, { baseDir: p, vars: {} });
  assert.equal(miss.kind, "miss");
  cache.record(install, miss, p, { exit: 0, durationMs: 5, output: [] });
  const [e] = Deno.readDirSync(`${store}/entries`).toArray();
  const [f] = Deno.readDirSync(`${store}/entries/${e.name}`).toArray();
  const entry = JSON.parse(Deno.readTextFileSync(`${store}/entries/${e.name}/${f.name}`));
  assert.deepEqual(
    entry.outputs.map((o: { path: string }) => o.path),
    ["node_modules", "node_modules/a.js", "node_modules/zz"],
  );
});

Deno.test("a store inside a job's reads (JX_CACHE_DIR=$PWD/.ci-cache/jx, a job reading .) is in no key, nor a change while it ran", async () => {
  const p = await tempDir({ "src/a.c": "int a;", "out/a.o": "obj" });
  const store = `${p}/.ci-cache/jx`;
  const lint = job(p, { name: "lint", reads: ["."], writes: ["out/a.o"] });
  const other = job(p, { name: "other", reads: ["src/a.c"], writes: ["out/a.o"] });
  const ctx = { baseDir: p, vars: {} };
  const warnings: string[] = [];
  const cache = newCache(store, warnings);
  const miss = await cache.lookup(lint, ctx);
  assert.equal(miss.kind, "miss");
  // Another job stores while this one runs: the store changes under the folder it reads.
  const m2 = await cache.lookup(other, ctx);
  cache.record(other, m2, p, { exit: 0, durationMs: 5, output: out("other\n") });
  cache.record(lint, miss, p, { exit: 0, durationMs: 5, output: out("lint\n") });
  assert.deepEqual(warnings, []);
  const hit = await cache.lookup(lint, ctx);
  assert.equal(hit.kind, "hit", "the key after a store is the key before it");
  assert.equal(hit.key, miss.key);
  assert.ok(!Object.keys(hit.parts.inputs).some((i) => i.startsWith(".ci-cache")));
});

Deno.test("stageOutputs: an entry's read-only folder on disk, opened to stage into, gets its mode back when the restore fails", async () => {
  const p = await tempDir({ "out/f": "old" });
  await Deno.chmod(`${p}/out`, 0o555);
  const outputs: Output[] = [
    { kind: "dir", path: "out", mode: 0o755 },
    { kind: "file", path: "out/f", mode: 0o644, digest: hex("new"), size: 3 },
  ];
  await assert.rejects(
    stageOutputs(outputs, p, () => {
      assert.equal(Deno.statSync(`${p}/out`).mode! & 0o777, 0o755, "opened while staging");
      throw new Error("no such blob");
    }),
    /no such blob/,
  );
  assert.equal(Deno.statSync(`${p}/out`).mode! & 0o777, 0o555);
  assert.deepEqual([...Deno.readDirSync(`${p}/out`)].map((e) => e.name), ["f"]);
  await Deno.chmod(`${p}/out`, 0o755);
});

Deno.test("writeOutputs: a failure midway (in the removal of stale files) undoes it all: the outputs as they were, no staged or set-aside file left", async () => {
  const old = {
    "out/a": "old a",
    "out/b": "old b",
    "out/s1": "s1",
    "out/s2": "s2",
  };
  const p = await tempDir(old);
  await Deno.symlink("a", `${p}/out/l2`);
  await Deno.mkdir(`${p}/out/l`); // (an empty folder where the entry holds a file)
  await Deno.chmod(`${p}/out`, 0o555);
  const outputs: Output[] = [
    { kind: "dir", path: "out", mode: 0o755 },
    { kind: "file", path: "out/a", mode: 0o644, digest: hex("new a"), size: 5 },
    { kind: "file", path: "out/c", mode: 0o644, digest: hex("new c"), size: 5 },
    { kind: "file", path: "out/l", mode: 0o644, digest: hex("new l"), size: 5 },
    { kind: "symlink", path: "out/l2", target: "c" },
    { kind: "dir", path: "out/d/e", mode: 0o700 },
  ];
  const bytes = new Map(["new a", "new c", "new l"].map((t) => [hex(t), t]));
  const staged = await stageOutputs(
    outputs,
    p,
    (d, tmp) => Deno.writeTextFileSync(tmp, bytes.get(d)!),
  );
  let asked = 0;
  assert.throws(() =>
    writeOutputs(outputs, p, staged, {
      writes: ["out"],
      othersOwn: (rel) => {
        // (past the first stale file: it is set aside by then)
        if (rel.startsWith("out/s") && asked++ === 1) throw new Error("cannot remove " + rel);
        return false;
      },
    }), /cannot remove/);
  assert.equal(asked, 2, "failed after a stale file was set aside");
  const files = [...Deno.readDirSync(`${p}/out`)].map((e) => e.name).sort();
  assert.deepEqual(files, ["a", "b", "l", "l2", "s1", "s2"]);
  for (const [f, text] of Object.entries(old)) {
    assert.equal(await Deno.readTextFile(`${p}/${f}`), text);
  }
  assert.equal(await Deno.readLink(`${p}/out/l2`), "a");
  assert.ok(Deno.lstatSync(`${p}/out/l`).isDirectory);
  assert.equal(Deno.statSync(`${p}/out`).mode! & 0o777, 0o555);
  await Deno.chmod(`${p}/out`, 0o755);
});

Deno.test("record: a store that cannot be written (a file where its tmp/ goes) is said once, not once per job", async () => {
  const store = await tempDir({ tmp: "not a folder" });
  const p = await tempDir({ "src/a.c": "int a;", "out/a.o": "obj", "out/b.o": "obj" });
  const warnings: string[] = [];
  const cache = newCache(store, warnings);
  for (const name of ["a", "b", "c"]) {
    const j = job(p, { name, writes: [`out/${name}.o`] });
    const miss = await cache.lookup(j, { baseDir: p, vars: {} });
    cache.record(j, miss, p, { exit: 0, durationMs: 5, output: out(`${name}\n`) });
  }
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0],
    /^jx: warning: a not stored in the cache: .*\/tmp: EEXIST; nothing more is stored there this run$/,
  );
});

Deno.test("lookup: a remote hit that the local store cannot take (a file where its tmp/ goes) is said once; the server is not asked again, every job a miss", async () => {
  const store = await tempDir({ tmp: "not a folder" });
  const p = await tempDir({ "src/a.c": "int a;" });
  const warnings: string[] = [];
  let asked = 0;
  const remote = {
    label: "r",
    get: (_key: string, keep: { blobWriter(): unknown }) => {
      asked++;
      keep.blobWriter(); // where every hit goes first
      return Promise.resolve(null);
    },
    put: () => Promise.resolve(),
  } as unknown as ConstructorParameters<typeof Cache>[0]["remote"];
  const cache = new Cache({ local: new LocalStore(store), remote, warn: (l) => warnings.push(l) });
  for (const name of ["a", "b", "c"]) {
    const l = await cache.lookup(job(p, { name }), { baseDir: p, vars: {} });
    assert.equal(l.kind, "miss");
  }
  assert.equal(asked, 1);
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0],
    /^jx: warning: cache: cannot write .*: .*; the remote store is not used and nothing is stored this run$/,
  );
  await cache.close();
});

Deno.test("jx cache clear|prune on a store this user may not change (another user's, read-only): exit 1 and one line, no stack trace", async () => {
  const root = Deno.uid() === 0;
  if (root && !(await Deno.stat("/usr/bin/setpriv").catch(() => null))) return;
  // (As root, run as nobody: in /tmp, which nobody can reach; the suite's folder is root's, 0700.)
  const dir = await Deno.makeTempDir({ prefix: "jx-store-", dir: root ? "/tmp" : undefined });
  try {
    await Deno.chmod(dir, 0o755);
    const store = new LocalStore(`${dir}/store`);
    for (let i = 0; i < 2; i++) store.putBlob(blobOf(i)), store.putEntry(entryOf(i, blobOf(i)));
    if (!root) await Deno.chmod(`${dir}/store`, 0o555);
    for (const args of [["clear"], ["prune", "--max-size", "0"]]) {
      const jx = [DENO, "run", "-A", "--quiet", `${ROOT}/cli.ts`, "cache", ...args];
      const argv = root
        ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...jx]
        : jx;
      const r = await new Deno.Command(argv[0], {
        args: [...argv.slice(1), "--cache-dir", `${dir}/store`],
        env: { DENO_DIR: `${dir}/deno`, HOME: dir, TMPDIR: dir },
      }).output();
      const err = td.decode(r.stderr);
      assert.equal(r.code, 1, err);
      assert.match(err, new RegExp(`^jx: cache ${args[0]}: (\\S+: )?permission denied\\n$`));
    }
    assert.equal(store.stats().entries, 2, "nothing removed");
  } finally {
    await Deno.chmod(dir, 0o755);
    await Deno.chmod(`${dir}/store`, 0o755).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stageOutputs from a library caller's relative base folder (./p): a read-only folder on the way is opened to stage into, as with an absolute one", async () => {
  // As a user whom file modes bind: this one, or nobody (root writes into a read-only folder).
  const root = Deno.uid() === 0;
  if (root && !(await Deno.stat("/usr/bin/setpriv").catch(() => null))) return;
  const dir = await Deno.makeTempDir({ prefix: "jx-bound-", dir: root ? "/tmp" : undefined });
  try {
    await Deno.mkdir(`${dir}/p/out`, { recursive: true });
    const script = `
import { stageOutputs } from "${ROOT}/lib/cache/mod.ts";
const outputs = [{ kind: "file", path: "out/f", mode: 0o644, digest: "${hex("new")}", size: 3 }];
const staged = await stageOutputs(outputs, "./p", (_d, tmp) => Deno.writeTextFileSync(tmp, "new"));
console.log([...staged.opened.keys()].map((d) => d.slice(d.lastIndexOf("/p/") + 1)).join());
staged.discard();
`;
    await Deno.writeTextFile(`${dir}/s.ts`, script);
    if (root) {
      for (const p of [dir, `${dir}/p`, `${dir}/p/out`]) Deno.chownSync(p, 65534, 65534);
    }
    await Deno.chmod(`${dir}/p/out`, 0o555);
    const deno = [DENO, "run", "-A", "--quiet", `${dir}/s.ts`];
    const argv = root
      ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...deno]
      : deno;
    const r = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      cwd: dir,
      env: { NO_COLOR: "1", HOME: dir, DENO_DIR: `${dir}/deno`, TMPDIR: dir },
      stdin: "null",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, err);
    assert.equal(new TextDecoder().decode(r.stdout), "p/out\n");
    assert.equal(Deno.statSync(`${dir}/p/out`).mode! & 0o777, 0o555, "its mode given back");
  } finally {
    await Deno.chmod(`${dir}/p/out`, 0o755).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
