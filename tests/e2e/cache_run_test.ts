/**
 * The output cache in `jx run`, through the real CLI on real processes:
 * restores across checkouts through one local store (Deno and Bun), a
 * changed input reruns exactly the jobs it affects, up-to-date comes first,
 * corrupt and tampered entries are refused and the job runs, two runs share
 * a store at once, the real servers (turbo, nginx) of
 * tools/services/cache-server.sh carry results between stores, read-only
 * uploads nothing, a server that is down or answers 500 does not fail the
 * run, `--no-cache` and the default (off), `jx explain`.
 */
import assert from "node:assert/strict";
import {
  cacheRun,
  exists,
  jxCommand,
  ROOT,
  runJx,
  type Runtime,
  tempDir,
  waitForFile,
} from "../helpers.ts";

const JOBS = `
cache: true
jobs:
  gen-a:
    run: "echo making a; mkdir -p out; tr a-z A-Z < src/a.txt > out/a"
    reads: [src/a.txt]
    writes: [out/a]
  gen-b:
    run: "echo making b >&2; mkdir -p out; tr a-z A-Z < src/b.txt > out/b; chmod 755 out/b"
    reads: [src/b.txt]
    writes: [out/b]
  join:
    run: "cat out/a out/b > out/ab"
    reads: [out/a, out/b]
    writes: [out/ab]
  solo:
    run: "mkdir -p out/c.d && cp src/c.txt out/c.d/c && ln -sf c out/c.d/link"
    reads: [src/c.txt]
    writes: [out/c.d]
  test:
    run: "echo tests passed"
    reads: [out/ab]
    cache: true
  nocache:
    run: "mkdir -p out; date +%N > out/n"
    writes: [out/n]
    cache: false
`;

const ALL = ["gen-a", "gen-b", "join", "nocache", "solo", "test"];

/** A fresh checkout of the project. */
function checkout(jobs = JOBS): Promise<string> {
  return tempDir({
    "jobs.yaml": jobs,
    "src/a.txt": "alpha\n",
    "src/b.txt": "beta\n",
    "src/c.txt": "gamma\n",
  });
}

/** `jx run` in `dir` with an event log; what ran, what was restored. */
const run = (
  dir: string,
  args: string[] = [],
  env: Record<string, string> = {},
  runtime: Runtime = "deno",
) => cacheRun(dir, args, { env, runtime });

const restoredAll = (from: string, names = ALL.filter((n) => n !== "nocache")) =>
  Object.fromEntries(names.map((n) => [n, from]));

async function assertOutputs(dir: string) {
  assert.equal(await Deno.readTextFile(`${dir}/out/ab`), "ALPHA\nBETA\n");
  assert.equal((await Deno.stat(`${dir}/out/b`)).mode! & 0o777, 0o755);
  assert.equal(await Deno.readTextFile(`${dir}/out/c.d/c`), "gamma\n");
  assert.equal(await Deno.readLink(`${dir}/out/c.d/link`), "c");
}

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`cache (${runtime}): a second checkout restores every cacheable job from the local store`, async () => {
    const store = await tempDir();
    const a = await checkout(), b = await checkout();
    const first = await run(a, ["--cache-dir", store], {}, runtime);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.ran, ALL);
    assert.deepEqual(first.restored, {});
    const second = await run(b, ["--cache-dir", store], {}, runtime);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(second.ran, ["nocache"], "cache: false runs every time");
    assert.deepEqual(second.restored, restoredAll("local"));
    await assertOutputs(b);
    // The stored output is shown as the job's output, stdout and stderr alike.
    assert.match(second.stdout, /── gen-a \(restored from the local cache\)\nmaking a\n/);
    assert.match(second.stdout, /making b/);
    assert.match(second.stdout, /tests passed/);
    assert.match(second.stderr, /jx: 1 job ok, 5 restored \(saved \d+ms\) in /);
  });
}

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`cache (${runtime}): under umask 000, nothing in the store is writable by others`, async () => {
    const store = await tempDir(), a = await checkout(), b = await checkout();
    // An output the job makes writable by all: its blob is not, yet it comes back as it was.
    await Deno.writeTextFile(`${a}/jobs.yaml`, JOBS.replace("chmod 755 out/b", "chmod 777 out/b"));
    await Deno.writeTextFile(`${b}/jobs.yaml`, JOBS.replace("chmod 755 out/b", "chmod 777 out/b"));
    const [cmd, argv] = jxCommand(runtime, ["run", "--cache-dir", store, "--output", "quiet"]);
    const r = await new Deno.Command("sh", {
      args: ["-c", 'umask 000 && exec "$0" "$@"', cmd, ...argv],
      cwd: a,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    const open: string[] = [];
    const walk = (dir: string) => {
      for (const e of Deno.readDirSync(dir)) {
        const path = `${dir}/${e.name}`, mode = Deno.lstatSync(path).mode! & 0o7777;
        if (mode & 0o002) open.push(`${path.slice(store.length + 1)} ${mode.toString(8)}`);
        if (e.isDirectory) walk(path);
      }
    };
    walk(store);
    assert.deepEqual(open, []);
    const second = await run(b, ["--cache-dir", store], {}, runtime);
    assert.equal(second.restored["gen-b"], "local", second.stderr);
    assert.equal((await Deno.stat(`${b}/out/b`)).mode! & 0o777, 0o777);
  });
}

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`cache (${runtime}): a store others may write in is not used (one warning); nor is an entry they may write`, async () => {
    const store = await tempDir(), a = await checkout(), b = await checkout();
    const first = await run(a, ["--cache-dir", store], {}, runtime);
    assert.equal(first.code, 0, first.stderr);
    // The store (as an older jx made it under umask 000), then one of its parts: off for the run.
    for (const open of [store, `${store}/entries`]) {
      await Deno.chmod(open, 0o777);
      await Deno.remove(`${b}/out`, { recursive: true }).catch(() => {});
      await Deno.remove(`${b}/.jx`, { recursive: true }).catch(() => {});
      const r = await run(b, ["--cache-dir", store], {}, runtime);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.restored, {});
      assert.deepEqual(r.ran, ALL);
      const warnings = r.stderr.split("\n").filter((l) => l.startsWith("jx: warning:"));
      assert.deepEqual(warnings, [
        `jx: warning: cache: ${open} is writable by other users, who could make a restore write ` +
        "anything: the cache is off for this run (chmod o-w it)",
      ]);
      await Deno.chmod(open, 0o755);
    }
    // One entry others may write: that job runs (the warning names the entry), the rest restore.
    const dir = `${store}/entries`;
    const entries = [...Deno.readDirSync(dir)].flatMap((d) =>
      [...Deno.readDirSync(`${dir}/${d.name}`)].map((e) => `${dir}/${d.name}/${e.name}`)
    );
    const gen = entries.find((e) => JSON.parse(Deno.readTextFileSync(e)).job === "gen-a")!;
    await Deno.chmod(gen, 0o666);
    await Deno.remove(`${b}/out`, { recursive: true });
    await Deno.remove(`${b}/.jx`, { recursive: true });
    const r = await run(b, ["--cache-dir", store], {}, runtime);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.ran.includes("gen-a"), r.stderr);
    assert.equal(r.restored["gen-b"], "local", r.stderr);
    assert.match(r.stderr, /jx: warning: gen-a: entry \w+ is writable by other users \(not used\)/);
  });
}

Deno.test({
  name:
    "cache: a store another user owns is not used (one warning), unless shared with its group; nor an entry of theirs",
  ignore: Deno.uid() !== 0, // (chown)
  fn: async () => {
    const store = await tempDir(), a = await checkout(), b = await checkout();
    const first = await run(a, ["--cache-dir", store]);
    assert.equal(first.code, 0, first.stderr);
    const chownAll = (uid: number) => {
      const r = new Deno.Command("chown", { args: ["-R", String(uid), store] }).outputSync();
      assert.ok(r.success, td.decode(r.stderr));
    };
    const fresh = async () => {
      await Deno.remove(`${b}/out`, { recursive: true }).catch(() => {});
      await Deno.remove(`${b}/.jx`, { recursive: true }).catch(() => {});
      return await run(b, ["--cache-dir", store]);
    };
    // Everything of the store another user's (who could change an entry and its blob at will).
    chownAll(65534);
    await Deno.chmod(store, 0o755);
    const r = await fresh();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.restored, {});
    assert.deepEqual(r.ran, ALL);
    assert.deepEqual(r.stderr.split("\n").filter((l) => l.startsWith("jx: warning:")), [
      `jx: warning: cache: ${store} belongs to uid 65534, not you, who could make a restore ` +
      "write anything: the cache is off for this run (use a store of your own, or chown it)",
    ]);
    // Shared with its group (g+w on its folder): its members are trusted, the owner one of them.
    await Deno.chmod(store, 0o775);
    const shared = await fresh();
    assert.deepEqual(shared.restored, restoredAll("local"), shared.stderr);
    // A group you are not in: the owner set g+w (as anyone may on their own folder), no share.
    const r2 = new Deno.Command("chgrp", { args: ["-R", "65534", store] }).outputSync();
    assert.ok(r2.success, td.decode(r2.stderr));
    await Deno.chmod(store, 0o775);
    const theirs = await fresh();
    assert.deepEqual(theirs.restored, {}, theirs.stderr);
    assert.match(theirs.stderr, /jx: warning: cache: \S+ belongs to uid 65534, not you/);
    new Deno.Command("chgrp", { args: ["-R", "0", store] }).outputSync();
    // One entry of another user in a store of yours (not shared): that job runs, the rest restore.
    chownAll(0);
    await Deno.chmod(store, 0o755);
    const dir = `${store}/entries`;
    const gen = [...Deno.readDirSync(dir)].flatMap((d) =>
      [...Deno.readDirSync(`${dir}/${d.name}`)].map((e) => `${dir}/${d.name}/${e.name}`)
    ).find((e) => JSON.parse(Deno.readTextFileSync(e)).job === "gen-a")!;
    await Deno.chown(gen, 65534, null);
    const one = await fresh();
    assert.ok(one.ran.includes("gen-a"), one.stderr);
    assert.equal(one.restored["gen-b"], "local", one.stderr);
    assert.match(
      one.stderr,
      /jx: warning: gen-a: entry \w+ belongs to uid 65534, not you \(not used\)/,
    );
  },
});

Deno.test("cache: a changed input reruns exactly the jobs it affects; the rest is restored", async () => {
  const store = await tempDir();
  const a = await checkout(), b = await checkout();
  assert.equal((await run(a, ["--cache-dir", store])).code, 0);
  await Deno.writeTextFile(`${b}/src/b.txt`, "bravo\n");
  const r = await run(b, ["--cache-dir", store]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.ran, ["gen-b", "join", "nocache", "test"]);
  assert.deepEqual(r.restored, restoredAll("local", ["gen-a", "solo"]));
  assert.equal(await Deno.readTextFile(`${b}/out/ab`), "ALPHA\nBRAVO\n");
  // Why it missed: the input that differs from the job's last stored key.
  const x = await runJx(["explain", "--cache-dir", store, "gen-b"], { cwd: a });
  assert.match(x.stdout, /cache: hit/);
  await Deno.writeTextFile(`${a}/src/b.txt`, "bingo\n");
  const y = await runJx(["explain", "--cache-dir", store, "gen-b"], { cwd: a });
  assert.equal(y.code, 0, y.stderr);
  assert.match(y.stdout, /cache: miss: no entry for key [0-9a-f]{16}/);
  assert.match(y.stdout, /src\/b\.txt: [0-9a-f]{16}/);
  assert.match(
    y.stdout,
    /differs from the last stored key [0-9a-f]{16}:\n {4}- inputs src\/b\.txt: changed/,
  );
});

Deno.test("cache: an up-to-date job is skipped, never restored; --force runs every job", async () => {
  const store = await tempDir();
  const a = await checkout();
  assert.equal((await run(a, ["--cache-dir", store])).code, 0);
  const again = await run(a, ["--cache-dir", store]);
  assert.deepEqual(again.restored, {});
  assert.deepEqual(again.ran, []);
  assert.deepEqual(again.skipped, ALL, "up to date");
  await Deno.writeTextFile(`${a}/src/a.txt`, "alpha\n"); // same content, newer stamp
  const touched = await run(a, ["--cache-dir", store]);
  assert.deepEqual(touched.restored, {});
  assert.deepEqual(touched.ran, [], "same content: still up to date");
  const forced = await run(a, ["--cache-dir", store, "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual(forced.restored, {}, "--force runs, never restores");
  assert.deepEqual(forced.ran, ALL);
});

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`cache (${runtime}): a variable cache: {env} names, changed, makes its job out of date (it was up to date, its output stale); the no-op record sees it too`, async () => {
    const store = await tempDir();
    const dir = await tempDir({
      "jobs.yaml": "cache: { env: [TARGET] }\njobs:\n" +
        "  build: { run: 'echo $TARGET > out.txt', writes: [out.txt] }\n" +
        "  own: { run: 'echo $OWN > own.txt', writes: [own.txt], cache: { env: [OWN] } }\n",
    });
    const go = (env: Record<string, string>) => run(dir, ["--cache-dir", store], env, runtime);
    const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
    assert.deepEqual((await go({ TARGET: "a", OWN: "1" })).ran, ["build", "own"]);
    assert.deepEqual((await go({ TARGET: "a", OWN: "1" })).skipped, ["build", "own"]);
    const b = await go({ TARGET: "b", OWN: "1" });
    assert.equal(b.code, 0, b.stderr);
    // The top level's names are every job's.
    assert.deepEqual(b.ran, ["build", "own"], "TARGET changed: its jobs run");
    assert.equal(await read("out.txt"), "b\n");
    // Back to a: not up to date (last success had b), restored from the entries a left.
    const a = await go({ TARGET: "a", OWN: "1" });
    assert.deepEqual([a.ran, a.restored], [[], { build: "local", own: "local" }]);
    assert.equal(await read("out.txt"), "a\n");
    const own = await go({ TARGET: "a", OWN: "2" });
    assert.deepEqual([own.ran, own.skipped], [["own"], ["build"]], "a job's own cache: {env}");
    assert.equal(await read("own.txt"), "2\n");
    assert.deepEqual((await go({ TARGET: "a", OWN: "2" })).skipped, ["build", "own"]);
  });
}

Deno.test("cache: off by default, and --no-cache turns a file's cache: off", async () => {
  const home = await tempDir();
  const env = { HOME: home, XDG_CACHE_HOME: `${home}/xdg` };
  const plain = await checkout(JOBS.replace("cache: true\njobs:", "jobs:"));
  assert.equal((await run(plain, [], env)).code, 0);
  const b = await checkout(JOBS.replace("cache: true\njobs:", "jobs:"));
  const r = await run(b, [], env);
  assert.deepEqual(r.restored, {});
  assert.equal(await exists(`${home}/xdg/jx`), false, "nothing stored");
  const c = await checkout();
  assert.equal((await run(c, ["--no-cache"], env)).code, 0);
  assert.equal(await exists(`${home}/xdg/jx`), false, "--no-cache stores nothing");
  assert.equal((await run(c, ["--force"], env)).code, 0);
  assert.equal(await exists(`${home}/xdg/jx/entries`), true, "cache: true uses XDG_CACHE_HOME/jx");
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await filesUnder(p));
    else out.push(p);
  }
  return out;
}

Deno.test("cache: corrupt blobs are refused with a warning and the jobs run", async () => {
  const store = await tempDir();
  assert.equal((await run(await checkout(), ["--cache-dir", store])).code, 0);
  for (const f of await filesUnder(`${store}/blobs`)) await Deno.writeTextFile(f, "corrupt");
  const b = await checkout();
  const r = await run(b, ["--cache-dir", store]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.restored, {});
  assert.deepEqual(r.ran, ALL);
  assert.match(r.stderr, /jx: warning: cache entry [0-9a-f]{12} for gen-a not restored/);
  await assertOutputs(b);
});

Deno.test("cache: a corrupt entry (not JSON) is removed with one warning, and the job runs", async () => {
  const store = await tempDir();
  assert.equal((await run(await checkout(), ["--cache-dir", store])).code, 0);
  const entries = await filesUnder(`${store}/entries`);
  for (const f of entries) await Deno.writeTextFile(f, "{garbage");
  const b = await checkout();
  const r = await run(b, ["--cache-dir", store]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.restored, {});
  assert.deepEqual(r.ran, ALL);
  const warned = r.stderr.match(/jx: warning: \S+: entry [0-9a-f]{12} is corrupt \(removed\)\n/g);
  assert.equal(warned?.length, entries.length, r.stderr);
  await assertOutputs(b);
});

Deno.test("cache: a tampered entry that writes outside the job's writes is refused", async () => {
  const store = await tempDir();
  assert.equal((await run(await checkout(), ["--cache-dir", store])).code, 0);
  for (const f of await filesUnder(`${store}/entries`)) {
    const e = JSON.parse(await Deno.readTextFile(f));
    for (const o of e.outputs) o.path = `../escaped-${crypto.randomUUID()}`;
    await Deno.writeTextFile(f, JSON.stringify(e));
  }
  const b = await checkout();
  const r = await run(b, ["--cache-dir", store]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.restored, { test: "local" }, "a job without outputs: its log only");
  assert.deepEqual(r.ran, ALL.filter((n) => n !== "test"));
  assert.match(r.stderr, /not restored: /);
  const parent = b.slice(0, b.lastIndexOf("/"));
  for await (const e of Deno.readDir(parent)) assert.ok(!e.name.startsWith("escaped-"), e.name);
  await assertOutputs(b);
});

Deno.test("cache: two runs on one store at once; a third checkout restores everything", async () => {
  const store = await tempDir();
  const [a, b, c] = [await checkout(), await checkout(), await checkout()];
  const both = await Promise.all([run(a, ["--cache-dir", store]), run(b, ["--cache-dir", store])]);
  for (const r of both) assert.equal(r.code, 0, r.stderr);
  const third = await run(c, ["--cache-dir", store]);
  assert.equal(third.code, 0, third.stderr);
  assert.deepEqual(third.restored, restoredAll("local"));
  await assertOutputs(c);
});

Deno.test("cache: a job writing a folder does not store (nor restore stale) the files another job writes into it", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  gen-b: { run: "mkdir -p out && cat src/b.txt > out/b.txt", reads: [src/b.txt], writes: [out/b.txt] }
  gen-a: { run: "mkdir -p out && cat src/a.txt > out/a.txt", reads: [src/a.txt], writes: [out] }
`;
  const a = await checkout(jobs);
  assert.equal((await run(a, ["--cache-dir", store, "-j1"])).code, 0);
  // A fresh checkout where b's source changed: b runs, a is restored and must leave b's file alone.
  const b = await checkout(jobs);
  await Deno.writeTextFile(`${b}/src/b.txt`, "beta 2\n");
  const r = await run(b, ["--cache-dir", store, "-j1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.ran, ["gen-b"]);
  assert.deepEqual(r.restored, { "gen-a": "local" });
  assert.equal(await Deno.readTextFile(`${b}/out/b.txt`), "beta 2\n");
  assert.equal(await Deno.readTextFile(`${b}/out/a.txt`), "alpha\n");
});

Deno.test("cache: an input edited while its job runs: the outputs are not stored under the key of the old content", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  copy:
    run: "echo up > started; while [ ! -f go ]; do sleep 0.02; done; mkdir -p out; cat src/a.txt > out/a.txt"
    reads: [src/a.txt]
    writes: [out/a.txt]
`;
  const dir = await checkout(jobs);
  const running = run(dir, ["--cache-dir", store]);
  await waitForFile(`${dir}/started`);
  await Deno.writeTextFile(`${dir}/src/a.txt`, "edited while it ran\n");
  await Deno.writeTextFile(`${dir}/go`, "");
  const r = await running;
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /jx: warning: copy not stored in the cache: src\/a\.txt changed while it ran\n/,
  );
  // The old content again, in a fresh checkout: nothing stored under its key, so the job runs.
  const b = await checkout(jobs);
  await Deno.writeTextFile(`${b}/go`, "");
  const again = await run(b, ["--cache-dir", store]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(again.restored, {});
  assert.equal(await Deno.readTextFile(`${b}/out/a.txt`), "alpha\n");
});

// ---- remote stores: the project's real servers ----

const SCRIPT = `${ROOT}/tools/services/cache-server.sh`;
const td = new TextDecoder();

function startServer(kind: "turbo" | "nginx") {
  const dir = Deno.makeTempDirSync({ prefix: `jx-${kind}-` });
  const r = new Deno.Command("bash", {
    args: [SCRIPT, "start", kind, dir],
    // The turbo server keeps an artifact's signature (x-artifact-tag) only with a key of its own.
    env: { LIFETIME: "600", TURBO_TOKEN: "tok", TURBO_REMOTE_CACHE_SIGNATURE_KEY: "server" },
    stdin: "null",
  }).outputSync();
  if (!r.success) return { error: td.decode(r.stderr).trim().split("\n").at(-1) ?? "failed" };
  const [pid, port] = td.decode(r.stdout).trim().split(" ").map(Number);
  return { pid, port, dir };
}

const servers = { turbo: startServer("turbo"), nginx: startServer("nginx") };
globalThis.addEventListener("unload", () => {
  for (const s of Object.values(servers)) {
    if ("pid" in s) {
      new Deno.Command("bash", { args: [SCRIPT, "stop", String(s.pid)] }).outputSync();
    }
  }
});

const urlOf = (kind: "turbo" | "nginx") => {
  const s = servers[kind];
  if (!("port" in s)) return "";
  return kind === "turbo"
    ? `turbo+http://127.0.0.1:${s.port}?team=t${crypto.randomUUID().slice(0, 8)}`
    : `bazel+http://127.0.0.1:${s.port}/p${crypto.randomUUID().slice(0, 8)}`;
};
const ENV = { JX_REMOTE_CACHE_TOKEN: "tok", JX_REMOTE_CACHE_SIGNATURE_KEY: "team-secret" };

for (const kind of ["turbo", "nginx"] as const) {
  const s = servers[kind];
  const why = "error" in s ? ` (ignored: server did not start: ${s.error})` : "";
  Deno.test({
    name: `cache: through the ${kind} server, a checkout with an empty store restores${why}`,
    ignore: !!why,
    fn: async () => {
      const url = urlOf(kind);
      const first = await run(await checkout(), ["--cache-dir", await tempDir()], {
        ...ENV,
        JX_REMOTE_CACHE: url,
      });
      assert.equal(first.code, 0, first.stderr);
      assert.doesNotMatch(first.stderr, /warning/);
      const b = await checkout();
      const r = await run(b, ["--cache-dir", await tempDir(), "--remote-cache", url], ENV);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /warning/);
      assert.deepEqual(r.restored, restoredAll("remote"));
      await assertOutputs(b);
    },
  });
  Deno.test({
    name: `cache: --remote-cache-read-only restores from ${kind} but uploads nothing${why}`,
    ignore: !!why,
    fn: async () => {
      const url = urlOf(kind);
      const ro = await run(await checkout(), [
        "--cache-dir",
        await tempDir(),
        "--remote-cache",
        url,
        "--remote-cache-read-only",
      ], ENV);
      assert.equal(ro.code, 0, ro.stderr);
      const after = await run(await checkout(), ["--cache-dir", await tempDir()], {
        ...ENV,
        JX_REMOTE_CACHE: url,
      });
      assert.deepEqual(after.restored, {}, "the read-only run uploaded nothing");
      assert.deepEqual(after.ran, ALL);
      const env = { ...ENV, JX_REMOTE_CACHE_READ_ONLY: "1" };
      const again = await run(await checkout(), [
        "--cache-dir",
        await tempDir(),
        "--remote-cache",
        url,
      ], env);
      assert.deepEqual(again.restored, restoredAll("remote"), "read-only still restores");
    },
  });
}

/** The files under `dir` (every folder walked) whose bytes hold `text`. */
function filesHolding(dir: string, text: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...filesHolding(path, text));
    else if (e.isFile && td.decode(Deno.readFileSync(path)).includes(text)) out.push(path);
  }
  return out;
}

Deno.test({
  name:
    "cache: no value of a job's environment (a dotenv file's secret) nor of a var reaches a store",
  ignore: !("port" in servers.turbo) || !("port" in servers.nginx),
  fn: async () => {
    const jobs = "cache: true\nenv_file: .env\njobs:\n" +
      '  build: { run: "mkdir -p out; echo built > out/app", writes: [out/app] }\n';
    const a = await tempDir({ "jobs.yaml": jobs, ".env": "API_TOKEN=sk-live-SECRET-1\n" });
    const store = await tempDir();
    for (const kind of ["turbo", "nginx"] as const) {
      const r = await run(a, ["--cache-dir", store, "--remote-cache", urlOf(kind), "--force"], {
        ...ENV,
      }, "deno");
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.ran, ["build"]);
    }
    const withVar = await run(a, ["--cache-dir", store, "--force", "PASSWORD=hunter2-VAR"]);
    assert.equal(withVar.code, 0, withVar.stderr);
    // (The project's own .jx/ keeps the run's vars for its no-op record: not a store.)
    for (const dir of [store, servers.turbo.dir!, servers.nginx.dir!]) {
      assert.deepEqual(filesHolding(dir, "sk-live-SECRET-1"), [], dir);
      assert.deepEqual(filesHolding(dir, "hunter2-VAR"), [], dir);
    }
    // jx explain still names the part that changed (from the hashes the store keeps).
    await Deno.writeTextFile(`${a}/.env`, "API_TOKEN=sk-live-SECRET-2\n");
    const ex = await runJx(["explain", "--cache-dir", store, "build"], { cwd: a });
    assert.match(ex.stdout, /env API_TOKEN: changed/, ex.stdout + ex.stderr);
  },
});

Deno.test("cache: a remote store that is down gives one warning; the run goes on", async () => {
  const port = (() => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const p = (l.addr as Deno.NetAddr).port;
    l.close();
    return p;
  })();
  const r = await run(await checkout(), [
    "--cache-dir",
    await tempDir(),
    "--remote-cache",
    `bazel+http://127.0.0.1:${port}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.ran, ALL);
  const warnings = r.stderr.split("\n").filter((l) => l.includes("warning"));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0], /not used for the rest of this run/);
});

Deno.test("cache: a remote store that answers 500 does not fail the run", async () => {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    hits++;
    return new Response("boom", { status: 500 });
  });
  try {
    const store = await tempDir();
    const url = `turbo+http://127.0.0.1:${server.addr.port}?team=x`;
    const r = await run(await checkout(), ["--cache-dir", store, "--remote-cache", url], ENV);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.ran, ALL);
    assert.ok(hits > 0, "the server was asked");
    assert.match(r.stderr, /jx: warning: .*500/);
    // The local store still got the results.
    const b = await run(await checkout(), ["--cache-dir", store]);
    assert.deepEqual(b.restored, restoredAll("local"));
  } finally {
    await server.shutdown();
  }
});

Deno.test("cache: a job whose checked run found undeclared inputs is neither stored nor restored", async () => {
  const jobs = `
cache: true
jobs:
  sneaky:
    run: "mkdir -p out; cat src/a.txt src/b.txt > out/s"
    reads: [src/a.txt]
    writes: [out/s]
  honest:
    run: "mkdir -p out; cat src/a.txt > out/h"
    reads: [src/a.txt]
    writes: [out/h]
`;
  const store = await tempDir();
  const a = await checkout(jobs);
  // A checked run finds that sneaky reads src/b.txt undeclared: it is not stored.
  const first = await run(a, ["--cache-dir", store, "--check-access"]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(first.ran, ["honest", "sneaky"]);
  assert.match(first.stderr, /sneaky: not cached: its last checked run found undeclared inputs/);
  // The next runs, checked or not, restore honest only; sneaky runs, with one warning.
  const b = await checkout(jobs);
  await Deno.mkdir(`${b}/.jx`, { recursive: true });
  await Deno.copyFile(`${a}/.jx/access.json`, `${b}/.jx/access.json`);
  const second = await run(b, ["--cache-dir", store]);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(second.ran, ["sneaky"]);
  assert.deepEqual(second.restored, { honest: "local" });
  assert.equal(second.stderr.match(/sneaky: not cached/g)?.length, 1, second.stderr);
  assert.equal(await Deno.readTextFile(`${b}/out/s`), "alpha\nbeta\n");
});

for (const runtime of ["deno", "bun"] as Runtime[]) {
  Deno.test(`[${runtime}] cache: a read file named __proto__ is in the key (a changed one is not restored stale)`, async () => {
    const dir = await tempDir({
      "jobs.yaml": "cache: true\njobs:\n  gen:\n" +
        "    run: cat ./__proto__ > out.txt\n    reads: [__proto__]\n    writes: [out.txt]\n",
      ["__proto__"]: "one\n", // (computed: a literal `"__proto__":` sets the prototype)
    });
    const env = { JX_CACHE_DIR: `${dir}/.store` };
    const first = await cacheRun(dir, [], { env, runtime });
    assert.equal(first.code, 0, first.stderr);
    await Deno.writeTextFile(`${dir}/__proto__`, "two\n");
    const second = await cacheRun(dir, [], { env, runtime });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual([second.ran, second.restored], [["gen"], {}]);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "two\n");
    await Deno.writeTextFile(`${dir}/__proto__`, "one\n");
    const third = await cacheRun(dir, [], { env, runtime });
    assert.deepEqual(third.restored, { gen: "local" });
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "one\n");
  });
}

Deno.test("a store inside the project (JX_CACHE_DIR=$PWD/.ci-cache/jx) is no job's input: a job reading . is up to date at the next run", async () => {
  const dir = await tempDir({
    "jobs.yaml": "cache: true\njobs:\n" +
      '  b: { run: "cat src/a > out.txt", reads: [src], writes: [out.txt] }\n' +
      '  lint: { run: "ls src", reads: ["."] }\n',
    "src/a": "hi\n",
  });
  const env = { JX_CACHE_DIR: `${dir}/.ci-cache/jx` };
  const first = await runJx(["run"], { cwd: dir, env });
  assert.equal(first.code, 0, first.stderr);
  assert.ok(await exists(`${dir}/.ci-cache/jx/.jx-store`), "the store is marked");
  // lint ran again: a new input, .ci-cache/jx/blobs/..., stored after it had run.
  const second = await runJx(["run"], { cwd: dir, env });
  assert.match(second.stderr, /^jx: 2 jobs up to date in /m, second.stderr);
  const why = await runJx(["explain", "lint"], { cwd: dir, env });
  assert.doesNotMatch(why.stdout, /\.ci-cache/);
});

Deno.test("cache: an input whose name is not UTF-8 makes no key: the job runs uncached, never restored", async () => {
  const dir = await tempDir({
    "jobs.yaml":
      `jobs:\n  cat: { run: "cat src/* > out", reads: ["src/*"], writes: [out], cache: true }\n`,
    "src/a": "a\n",
  });
  const write = (text: string) =>
    new Deno.Command("sh", { args: ["-c", `printf ${text} > "$(printf 'src/b\\377')"`], cwd: dir })
      .output();
  const run = (...more: string[]) =>
    runJx(["run", "--cache-dir", `${dir}/store`, ...more], { cwd: dir });
  await write("x");
  assert.equal((await run()).code, 0);
  // The walk lists `b\xff` as `b\uFFFD`, a name that is not there: it was in the key as absent,
  // so after an edit of it the key was the same, and the old output came back from the store.
  await write("y");
  const r = await run();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await Deno.readTextFile(`${dir}/out`), "a\ny");
  assert.equal((await run("--force")).code, 0);
  const x = await runJx(["explain", "--cache-dir", `${dir}/store`, "cat"], { cwd: dir });
  assert.equal(x.code, 0, x.stderr);
  assert.match(x.stdout, /cache: no key: src\/b\uFFFD: its name is not UTF-8/);
  await Deno.remove(dir, { recursive: true });
});

for (const rt of ["deno", "bun"] as Runtime[]) {
  Deno.test(`[${rt}] cache: an output whose name is not UTF-8 (in a folder, by a glob) is not stored: never restored without it`, async () => {
    const jobs = `jobs:
  g: { run: "mkdir -p out && printf x > \\"out/b$(printf '\\\\377')\\" && echo a > out/a", writes: [out] }
  h: { run: "mkdir -p gl && printf x > \\"gl/c$(printf '\\\\377').o\\" && echo a > gl/a.o", writes: ["gl/*.o"] }
`;
    const store = await tempDir();
    const first = await tempDir({ "jobs.yaml": jobs });
    const r = await runJx(["run", "--cache-dir", store], { cwd: first, runtime: rt });
    assert.equal(r.code, 0, r.stderr);
    // The folder listed `b\xff` as `b\uFFFD`, a name that is not there: left out of the entry
    // without a word, and a fresh checkout got `out` without it.
    const warned = r.stderr.split("\n").filter((l) => l.startsWith("jx: warning:")).sort();
    assert.deepEqual(warned, [
      "jx: warning: g not stored in the cache: out/b\uFFFD: its name is not UTF-8, so jx cannot store it",
      "jx: warning: h not stored in the cache: gl/c\uFFFD.o: its name is not UTF-8, so jx cannot store it",
    ]);
    const second = await tempDir({ "jobs.yaml": jobs });
    const again = await runJx(["run", "--cache-dir", store], { cwd: second, runtime: rt });
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /restored/, again.stderr);
    assert.equal([...Deno.readDirSync(`${second}/out`)].length, 2, "the job ran: both files");
    for (const d of [store, first, second]) await Deno.remove(d, { recursive: true });
  });
}

for (const rt of ["deno", "bun"] as Runtime[]) {
  Deno.test(`[${rt}] cache: a symlink whose target is not UTF-8 is not stored (Bun stored it with U+FFFD: restored, it led elsewhere)`, async () => {
    const jobs = `jobs:
  g: { run: "mkdir -p out && echo a > out/a && ln -s \\"x$(printf '\\\\377')\\" out/l", writes: [out] }
`;
    const store = await tempDir();
    const first = await tempDir({ "jobs.yaml": jobs });
    const r = await runJx(["run", "--cache-dir", store], { cwd: first, runtime: rt });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stderr.split("\n").filter((l) => l.startsWith("jx: warning:")), [
      "jx: warning: g not stored in the cache: out/l: a symlink whose target is not UTF-8, so jx cannot store it",
    ]);
    const second = await tempDir({ "jobs.yaml": jobs });
    const again = await runJx(["run", "--cache-dir", store], { cwd: second, runtime: rt });
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /restored/, again.stderr);
    const target = new Deno.Command("readlink", { args: ["out/l"], cwd: second, stdout: "piped" })
      .outputSync().stdout;
    assert.deepEqual([...target], [0x78, 0xff, 0x0a], "the link the job made");
    for (const d of [store, first, second]) await Deno.remove(d, { recursive: true });
  });
}

Deno.test("cache: a store given as ~/... where no shell expands it (--cache-dir=~/x, CI's JX_CACHE_DIR: ~/x) is in the home folder, not a folder named ~ in the project", async () => {
  const home = await tempDir();
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  a: { run: echo a > a.txt, writes: [a.txt] }\n",
  });
  const runs: [string[], Record<string, string>, string][] = [
    [["--cache-dir=~/flag"], {}, "flag"],
    [[], { JX_CACHE_DIR: "~/env" }, "env"],
  ];
  for (const [args, env, name] of runs) {
    await Deno.remove(`${dir}/a.txt`).catch(() => {});
    const r = await runJx(["run", ...args], { cwd: dir, env: { ...env, HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await exists(`${dir}/~`), false, "no folder named ~ in the project");
    assert.ok(await exists(`${home}/${name}/entries`), `the store is ${home}/${name}`);
  }
  for (const d of [home, dir]) await Deno.remove(d, { recursive: true });
});
