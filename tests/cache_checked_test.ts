/**
 * Checked-blob memos in the local store (issue #14): a restore of a blob
 * whose stamp (size, inode, mtime and ctime in nanoseconds) is the one its
 * memo remembers copies it without hashing; any change made through the
 * filesystem (in place with the mtime put back, a truncation, a file renamed
 * over it) is found, the blob and its memo removed; a damaged memo only costs
 * a hash; prune and clear take memos with their blobs; a restore racing
 * another process that stores and prunes gets the right bytes or a miss;
 * `verify()` finds what no stamp shows; without nanosecond stats every
 * restore hashes.
 */
import assert from "node:assert/strict";
import { BadBlob, Cache, type CacheJob, LocalStore } from "../lib/cache/mod.ts";
import { hashed } from "../lib/cache/blobfile.ts";
import { ST, statInto } from "../lib/state/mod.ts";
import { blobOf, hex } from "./cache_fixtures.ts";
import { DENO, ROOT, tempDir } from "./helpers.ts";

const td = new TextDecoder();
const blobPath = (store: string, d: string) => `${store}/blobs/${d.slice(0, 2)}/${d}`;
const memoPath = (store: string, d: string) => `${store}/checked/${d.slice(0, 2)}/${d}`;

/** A store holding blob 1 (stored by jx: its memo written at once) and a scratch directory. */
async function storeWithBlob() {
  const dir = await tempDir();
  const store = new LocalStore(`${dir}/store`);
  const data = blobOf(1), d = hex(data);
  store.putBlob(data);
  return { dir, store, data, d, path: blobPath(store.dir, d) };
}

/** Copies blob `d` to `dir/out`: "ok" (with the bytes checked here) or the BadBlob message. */
function restoreOnce(store: LocalStore, d: string, dir: string, data: Uint8Array): string {
  try {
    store.copyBlob(d, `${dir}/out`);
  } catch (e) {
    if (e instanceof BadBlob) return e.message;
    throw e;
  }
  assert.deepEqual(Deno.readFileSync(`${dir}/out`), data);
  return "ok";
}

/** Runs `touch ARGS` (nanosecond timestamps copied with `-r`). */
function touch(...args: string[]): void {
  const r = new Deno.Command("touch", { args }).outputSync();
  assert.equal(r.code, 0, td.decode(r.stderr));
}

/** Size, inode and mtime to the nanosecond of `path`. */
function sizeInoMtime(path: string): string {
  statInto(path);
  return `${ST.size} ${ST.ino} ${ST.mtimeMs} ${ST.mtimeNsec}`;
}

Deno.test("checked blob: a restore of an unchanged blob does not hash it; then a touch re-checks once", async () => {
  const { dir, store, data, d, path } = await storeWithBlob();
  assert.ok(Deno.statSync(memoPath(store.dir, d)).isFile, "stored by jx: memo written at once");
  const before = hashed.files;
  assert.equal(restoreOnce(store, d, dir, data), "ok");
  assert.equal(restoreOnce(store, d, dir, data), "ok");
  assert.equal(hashed.files - before, 0, "the memo's stamp matched: nothing hashed");
  touch(path); // same bytes, new stamp: hashed once, memo rewritten, then trusted again
  assert.equal(restoreOnce(store, d, dir, data), "ok");
  assert.equal(hashed.files - before, 1);
  assert.equal(restoreOnce(store, d, dir, data), "ok");
  assert.equal(hashed.files - before, 1);
});

Deno.test("checked blob: through Cache.restore, a hit of checked blobs reads none of them", async () => {
  const store = await tempDir();
  const a = await tempDir({ "out/x": "x".repeat(100_000), "out/y": "y" });
  const job: CacheJob = {
    name: "j",
    argv: ["true"],
    env: {},
    reads: [],
    writes: ["out"],
    cwd: ".",
  };
  const cache = new Cache({ local: new LocalStore(store), warn: (l) => assert.fail(l) });
  const miss = await cache.lookup(job, { baseDir: a, vars: {} });
  cache.record(job, miss, a, { exit: 0, durationMs: 1, output: [] });
  const b = await tempDir();
  const hit = await cache.lookup(job, { baseDir: b, vars: {} });
  if (hit.kind !== "hit") throw new Error("expected a hit");
  const before = hashed.files;
  assert.equal((await cache.restore(hit, job, b)).kind, "restored");
  assert.equal(hashed.files - before, 0);
  assert.equal(Deno.readTextFileSync(`${b}/out/x`), "x".repeat(100_000));
  assert.equal(Deno.readTextFileSync(`${b}/out/y`), "y");
});

Deno.test("checked blob: rewritten in place, same size, mtime put back to the nanosecond: found (ctime)", async () => {
  const { dir, store, data, d, path } = await storeWithBlob();
  touch("-r", path, `${dir}/ref`); // the blob's times, kept exactly
  const was = sizeInoMtime(path);
  const f = Deno.openSync(path, { write: true });
  f.seekSync(1000, Deno.SeekMode.Start);
  f.writeSync(new Uint8Array([data[1000] ^ 0xff]));
  f.close();
  touch("-r", `${dir}/ref`, path);
  assert.equal(sizeInoMtime(path), was, "size, inode and mtime are as they were");
  assert.match(restoreOnce(store, d, dir, data), /corrupt \(removed\)/);
  assert.throws(() => Deno.statSync(path), "the blob is removed");
  assert.throws(() => Deno.statSync(memoPath(store.dir, d)), "and its memo");
  assert.throws(() => Deno.statSync(`${dir}/out`), "no copy left behind");
});

Deno.test("checked blob: a truncated blob is found", async () => {
  const { dir, store, data, d, path } = await storeWithBlob();
  Deno.truncateSync(path, data.length - 1);
  assert.match(restoreOnce(store, d, dir, data), /corrupt \(removed\)/);
  assert.equal(store.hasBlob(d), false);
});

Deno.test("checked blob: another file renamed over the blob (same size and mtime) is found", async () => {
  const { dir, store, data, d, path } = await storeWithBlob();
  const other = data.slice();
  other[7] ^= 1;
  Deno.writeFileSync(`${dir}/other`, other);
  touch("-r", path, `${dir}/other`);
  Deno.renameSync(`${dir}/other`, path);
  assert.match(restoreOnce(store, d, dir, data), /corrupt \(removed\)/);
  assert.equal(store.hasBlob(d), false);
});

Deno.test("checked blob: a damaged or missing memo costs one hash, and is written again", async () => {
  const { dir, store, data, d } = await storeWithBlob();
  for (const damage of ["garbage", ""] as const) {
    const before = hashed.files;
    if (damage) Deno.writeTextFileSync(memoPath(store.dir, d), damage);
    else Deno.removeSync(memoPath(store.dir, d));
    assert.equal(restoreOnce(store, d, dir, data), "ok");
    assert.equal(restoreOnce(store, d, dir, data), "ok");
    assert.equal(hashed.files - before, 1, damage || "missing");
  }
});

Deno.test("checked blob: damage that changes no stamp is trusted; verify() finds it", async () => {
  const { dir, store, data, d, path } = await storeWithBlob();
  store.putBlob(blobOf(2));
  // Stand-in for damage below the filesystem: other bytes, and a memo that matches the new stamp.
  const bad = data.slice();
  bad[5] ^= 1;
  Deno.writeFileSync(path, bad);
  const memo = Deno.readTextFileSync(memoPath(store.dir, d)).split(" ").slice(0, 2).join(" ");
  statInto(path);
  const t = (ms: number, ns: number) => `${Math.floor(ms / 1000)}.${String(ns).padStart(9, "0")}`;
  Deno.writeTextFileSync(
    memoPath(store.dir, d),
    `${memo} ${ST.size} ${ST.ino} ${t(ST.mtimeMs, ST.mtimeNsec)} ${t(ST.ctimeMs, ST.ctimeNsec)}\n`,
  );
  store.copyBlob(d, `${dir}/out`);
  assert.deepEqual(
    Deno.readFileSync(`${dir}/out`),
    bad,
    "the documented limit: no hash, no notice",
  );
  assert.deepEqual(store.verify(), { blobs: 2, bad: 1, bytes: 2 * data.length });
  assert.equal(store.hasBlob(d), false);
  assert.throws(() => Deno.statSync(memoPath(store.dir, d)));
  assert.deepEqual(store.verify(), { blobs: 1, bad: 0, bytes: data.length });
});

Deno.test("checked blob: clear and prune take the memos with their blobs", async () => {
  const { store, d } = await storeWithBlob();
  store.clear();
  assert.throws(() => Deno.statSync(`${store.dir}/checked`));
  store.putBlob(blobOf(1));
  assert.ok(Deno.statSync(memoPath(store.dir, d)).isFile);
  Deno.utimeSync(blobPath(store.dir, d), 0, 0); // an old unreferenced blob: pruned
  store.prune(0);
  assert.equal(store.hasBlob(d), false);
  assert.deepEqual([...Deno.readDirSync(`${store.dir}/checked/${d.slice(0, 2)}`)], []);
});

Deno.test("checked blob: restoring while another process stores and prunes: right bytes or a miss", async () => {
  const dir = await tempDir();
  const store = new LocalStore(`${dir}/store`);
  const churn = new Deno.Command(DENO, {
    args: ["run", "-A", "--quiet", `${ROOT}/tests/cache_worker.ts`, "churn", store.dir, "3000"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  let ended = false;
  churn.finally(() => ended = true);
  const counts = { ok: 0, missing: 0 };
  const blobs = [...Array(8).keys()].map((i) => ({ data: blobOf(i), d: hex(blobOf(i)) }));
  while (!ended) {
    for (const { data, d } of blobs) {
      const r = restoreOnce(store, d, dir, data);
      if (r === "ok") counts.ok++;
      else assert.match(r, /is missing/), counts.missing++;
    }
    await new Promise((r) => setTimeout(r, 0));
  }
  const r = await churn;
  assert.equal(td.decode(r.stdout).trim(), "done", td.decode(r.stderr));
  assert.ok(counts.ok > 0, JSON.stringify(counts));
  store.prune(0); // the last memos this process wrote for blobs pruned since go too
  for (const s of Deno.readDirSync(`${store.dir}/checked`)) {
    assert.deepEqual([...Deno.readDirSync(`${store.dir}/checked/${s.name}`)], []);
  }
});

Deno.test("checked blob: without statx's nanoseconds (JX_NO_FFI_STAT) no memo is trusted: every restore hashes", async () => {
  const run = async (env: Record<string, string>) => {
    const dir = await tempDir();
    const r = await new Deno.Command(DENO, {
      args: ["run", "-A", "--quiet", `${ROOT}/tests/cache_worker.ts`, "restore", dir],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, td.decode(r.stderr));
    return td.decode(r.stdout).trim();
  };
  assert.equal(await run({}), "hashed 0\ndone");
  assert.equal(await run({ JX_NO_FFI_STAT: "1" }), "hashed 2\ndone");
});
