/**
 * The output cache's file path without whole blobs in memory: a multi-MiB
 * restore (content and modes), a corrupt blob in the middle of an entry
 * (nothing half written, no temporary file, the blob removed), storing a
 * file hashes the copy that is stored, and the up-to-date state takes the
 * hashes the cache already knows instead of reading the files again.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Cache, type CacheJob, LocalStore } from "../lib/cache/mod.ts";
import { noteHash, stamp, UpToDate } from "../lib/state/mod.ts";
import type { JobSpec } from "../lib/graph/types.ts";
import { tempDir } from "./helpers.ts";

const hex = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

/** `mib` MiB of bytes that follow from `seed` (not all alike, so a wrong copy shows). */
function bytes(mib: number, seed: number): Uint8Array {
  const out = new Uint8Array(mib * 1024 * 1024);
  const view = new DataView(out.buffer);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i + 4 <= out.length; i += 4) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    view.setUint32(i, x);
  }
  return out;
}

const job = (over: Partial<CacheJob> = {}): CacheJob => ({
  name: "big",
  argv: ["/bin/sh", "-c", "make big"],
  env: {},
  reads: [],
  writes: ["out"],
  cwd: ".",
  ...over,
});

/** Files (not `.jx-restore-*` temporaries) and temporaries under `dir`, relative. */
function walk(dir: string, rel = ""): { files: string[]; temps: string[] } {
  const acc = { files: [] as string[], temps: [] as string[] };
  for (const e of Deno.readDirSync(`${dir}/${rel}`)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.name.startsWith(".jx-restore-")) acc.temps.push(p);
    else if (e.isDirectory) {
      const sub = walk(dir, p);
      acc.files.push(...sub.files), acc.temps.push(...sub.temps);
    } else acc.files.push(p);
  }
  return acc;
}

/** A project whose `out/` holds a 12 MiB executable, a 3 MiB file and a small one, stored. */
async function stored(store: string) {
  const a = await tempDir({ "out/small.txt": "small\n" });
  const big = bytes(12, 1), mid = bytes(3, 2);
  await Deno.writeFile(`${a}/out/tool`, big, { mode: 0o751 });
  await Deno.chmod(`${a}/out/tool`, 0o751);
  await Deno.mkdir(`${a}/out/sub`);
  await Deno.writeFile(`${a}/out/sub/data.bin`, mid);
  await Deno.chmod(`${a}/out/sub/data.bin`, 0o600);
  const warnings: string[] = [];
  const cache = new Cache({ local: new LocalStore(store), warn: (l) => warnings.push(l) });
  const miss = await cache.lookup(job(), { baseDir: a, vars: {} });
  assert.equal(miss.kind, "miss");
  cache.record(job(), miss, a, { exit: 0, durationMs: 50, output: [] });
  assert.deepEqual(warnings, []);
  return { big, mid };
}

Deno.test("restore: multi-MiB files come back with their bytes and modes, no temporary left", async () => {
  const store = await tempDir();
  const { big, mid } = await stored(store);
  const b = await tempDir({ "out/tool": "an older tool" });
  const warnings: string[] = [];
  const cache = new Cache({ local: new LocalStore(store), warn: (l) => warnings.push(l) });
  const hit = await cache.lookup(job(), { baseDir: b, vars: {} });
  assert.equal(hit.kind, "hit");
  if (hit.kind !== "hit") return;
  assert.equal((await cache.restore(hit, job(), b)).kind, "restored", warnings.join("\n"));
  assert.deepEqual(await Deno.readFile(`${b}/out/tool`), big);
  assert.deepEqual(await Deno.readFile(`${b}/out/sub/data.bin`), mid);
  assert.equal(await Deno.readTextFile(`${b}/out/small.txt`), "small\n");
  assert.equal(Deno.statSync(`${b}/out/tool`).mode! & 0o777, 0o751);
  assert.equal(Deno.statSync(`${b}/out/sub/data.bin`).mode! & 0o777, 0o600);
  assert.deepEqual(walk(b).temps, []);
  assert.deepEqual([...Deno.readDirSync(`${store}/tmp`)], [], "nothing left in the store's tmp");
  // The restore tells the state each file's digest: while the file keeps its stamp (size, mtime,
  // inode, ctime), the state records that digest without reading the file (a digest noted for it
  // that is not its bytes' shows it).
  noteHash(b, "out/small.txt", "f".repeat(64));
  assert.match(recordedState(b, "out/small.txt"), new RegExp(`"f{32}@`));
  // Other bytes of the same size under the same mtime and inode: the ctime moved, so it is read.
  const st = Deno.statSync(`${b}/out/small.txt`);
  noteHash(b, "out/small.txt", "f".repeat(64));
  const f = await Deno.open(`${b}/out/small.txt`, { write: true });
  await f.write(new TextEncoder().encode("SMALL\n"));
  f.close();
  Deno.utimeSync(`${b}/out/small.txt`, st.atime!, st.mtime!);
  assert.equal(Deno.statSync(`${b}/out/small.txt`).ino, st.ino);
  assert.match(recordedState(b, "out/small.txt"), new RegExp(hex("SMALL\n").slice(0, 32)));
});

/** What the up-to-date state records for a job writing `path` in `dir`, after its success. */
function recordedState(dir: string, path: string): string {
  const spec = { name: "j", argv: ["true"], cwd: ".", env: {}, reads: [], writes: [path] };
  const state = new UpToDate(dir);
  state.check(spec as unknown as JobSpec);
  state.succeeded(spec as unknown as JobSpec);
  state.close();
  return Deno.readTextFileSync(`${dir}/.jx/state.ndjson`);
}

Deno.test("restore: a corrupt blob mid-entry leaves no half-written output and no temporary file", async () => {
  const store = await tempDir();
  const { big, mid } = await stored(store);
  // Corrupt the 3 MiB blob in its middle, size unchanged: found only by hashing all of it.
  const midPath = `${store}/blobs/${hex(mid).slice(0, 2)}/${hex(mid)}`;
  const bad = mid.slice();
  bad[bad.length >> 1] ^= 0xff;
  await Deno.writeFile(midPath, bad);
  // A fresh checkout: no out/ yet, so the temporaries go in the project's root.
  const b = await tempDir({ "keep.txt": "k" });
  const warnings: string[] = [];
  const cache = new Cache({ local: new LocalStore(store), warn: (l) => warnings.push(l) });
  const hit = await cache.lookup(job(), { baseDir: b, vars: {} });
  if (hit.kind !== "hit") throw new Error("expected a hit");
  assert.equal((await cache.restore(hit, job(), b)).kind, "refused");
  assert.match(warnings.join("\n"), /corrupt \(removed\)/);
  assert.deepEqual(walk(b), { files: ["keep.txt"], temps: [] }, "the project is as it was");
  assert.throws(() => Deno.statSync(midPath), "the corrupt blob is removed");
  assert.ok(new LocalStore(store).hasBlob(hex(big)), "the good blobs stay");
  assert.equal((await cache.lookup(job(), { baseDir: b, vars: {} })).kind, "miss");
  // Out/ already there: staged beside the files, refused, the old files untouched.
  const c = await tempDir({ "out/tool": "older tool", "out/sub/data.bin": "older data" });
  const local = new LocalStore(store);
  local.putBlob(mid); // the store is whole again, then corrupted once more
  await Deno.writeFile(midPath, bad);
  const again = await cache.lookup(job(), { baseDir: c, vars: {} });
  if (again.kind !== "hit") throw new Error("expected a hit");
  assert.equal((await cache.restore(again, job(), c)).kind, "refused");
  assert.equal(await Deno.readTextFile(`${c}/out/tool`), "older tool");
  assert.equal(await Deno.readTextFile(`${c}/out/sub/data.bin`), "older data");
  assert.deepEqual(walk(c).files.sort(), ["out/sub/data.bin", "out/tool"]);
  assert.deepEqual(walk(c).temps, []);
});

Deno.test("local store: putFile stores a copy under the digest of what it copied", async () => {
  const dir = await tempDir();
  const local = new LocalStore(`${dir}/store`);
  const data = bytes(5, 3);
  await Deno.writeFile(`${dir}/f`, data);
  const got = local.putFile(`${dir}/f`);
  assert.deepEqual(got, { digest: hex(data), size: data.length });
  assert.deepEqual(new Uint8Array(local.readBlob(got.digest)), data);
  assert.deepEqual(local.putFile(`${dir}/f`), got, "stored once, the second copy dropped");
  assert.deepEqual([...Deno.readDirSync(`${dir}/store/tmp`)], []);
});

Deno.test("state: a hash the cache noted is used while the file keeps its stamp", async () => {
  const dir = await tempDir({ "out/a": "real content" });
  const fake = "ab".repeat(32); // never the file's: seen only when the note is used
  const recorded = () => recordedState(dir, "out/a");
  noteHash(dir, "out/a", fake, stamp(dir, "out/a")!);
  assert.match(recorded(), new RegExp(fake.slice(0, 32)), "the noted hash, the file not read");
  // A file changed after the note: read again.
  noteHash(dir, "out/a", fake);
  await Deno.writeTextFile(`${dir}/out/a`, "other content, other size");
  assert.match(recorded(), new RegExp(hex("other content, other size").slice(0, 32)));
  // A stamp that moved between hashing and noting: not noted.
  const before = stamp(dir, "out/a")!;
  await Deno.writeTextFile(`${dir}/out/a`, "third");
  noteHash(dir, "out/a", fake, before);
  assert.match(recorded(), new RegExp(hex("third").slice(0, 32)));
});
