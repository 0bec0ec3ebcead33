/**
 * The local store, shared by every checkout on the machine:
 * `DIR/blobs/ab/SHA256` (content-addressed, each blob once) and
 * `DIR/entries/ab/KEY.json` (one per key). Everything is written to a file
 * in `DIR/tmp/` and renamed into place, so another process never sees half
 * an entry or half a blob; an entry is written after its blobs. A hit sets
 * the entry's mtime (least recently used first when pruning). A blob whose
 * bytes do not match its name is removed and counts as a miss.
 *
 * `DIR/checked/ab/SHA256` is a blob's memo: the stamp (size, inode, mtime
 * and ctime in nanoseconds) the blob had when its bytes were last found to
 * match its name. A restore that finds the same stamp before and after its
 * copy trusts the copy without hashing it; anything else hashes, and a
 * success writes the memo. A memo is written whole (temp + rename) and goes
 * with its blob (prune, clear, a corrupt blob).
 *
 * @module
 */
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { pid } from "../runtime/fs.ts";
import { host, isStale } from "../runtime/stale.ts";
import { ioReason, JxInputError } from "../runtime/errors.ts";
import { myGroups, myUid } from "../runtime/owned.ts";
import { STORE_MARK } from "../graph/mod.ts";
import { digestOf } from "./archive.ts";
import { blobStamp, copyPlain, hashPath, holds } from "./blobfile.ts";
import { blobsOf, type Entry, isEntry } from "./entry.ts";
import { isKeyParts, type KeyParts, storedParts } from "./key.ts";
import type { BlobWriter, KeepBlob } from "./http.ts";

/**
 * Modes of what the store makes (its folders; its entries, memos and downloaded blobs), before the
 * umask: never writable by others, even under umask 000 (a group may share a store, umask 002),
 * for a store that others can write can be made to restore anything. A stored blob is a copy of
 * its output and keeps the output's mode, but for the others' write bit.
 */
const DIR_MODE = 0o775, FILE_MODE = 0o664;

/** Default size limit of a local store: 10 GiB. */
export const DEFAULT_MAX_BYTES = 10 * 1024 ** 3;

/** A blob newer than this is never removed as unreferenced (its entry may be on its way). */
const ORPHAN_GRACE_MS = 10 * 60 * 1000;

/** A blob that is missing or whose bytes do not match its digest. */
export class BadBlob extends Error {}

/** The default store: `$XDG_CACHE_HOME/jx`, else `~/.cache/jx`; `JX_CACHE_DIR` first. */
export function defaultCacheDir(env: Record<string, string | undefined>): string {
  if (env.JX_CACHE_DIR) return env.JX_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "jx");
  return join(env.HOME || homedir(), ".cache", "jx");
}

/** What `stats()` reports. */
export interface StoreStats {
  /** The store's directory. */
  dir: string;
  /** Entries stored. */
  entries: number;
  /** Blobs stored. */
  blobs: number;
  /** Bytes of blobs and entries. */
  bytes: number;
  /** The size limit. */
  maxBytes: number;
}

/** One file of the store, for pruning. */
interface Item {
  path: string;
  size: number;
  mtimeMs: number;
}

/** The folders a store is made of (`clear` removes them, and nothing else). */
const STORE_PARTS = ["entries", "blobs", "checked", "last", "tmp"];

/**
 * One of them as `clear` renames it before removing it (`blobs.clear-HOST-PID-HEX`): a part of
 * the store too, left behind by a clear that was killed midway.
 */
const ASIDE = /^(entries|blobs|checked|last|tmp)\.clear-(.+)-(\d+)-[0-9a-f]{12}$/;

/** The local store in one directory. */
export class LocalStore implements KeepBlob {
  /** `dir`: the store; `maxBytes`: pruned to this at `trim()`. */
  constructor(readonly dir: string, readonly maxBytes = DEFAULT_MAX_BYTES) {}

  private blobPath = (d: string) => join(this.dir, "blobs", d.slice(0, 2), d);
  private memoPath = (d: string) => join(this.dir, "checked", d.slice(0, 2), d);
  private memoText = (d: string, stamp: string) => `1 ${d} ${stamp}\n`;
  private entryPath = (k: string) => join(this.dir, "entries", k.slice(0, 2), `${k}.json`);
  private lastPath = (baseDir: string, job: string) =>
    join(this.dir, "last", createHash("sha256").update(`${baseDir}\0${job}`).digest("hex"));

  /** A new temporary path in `DIR/tmp/` (same filesystem as the store: renames are atomic). */
  private tmpPath(): string {
    const tmpDir = join(this.dir, "tmp");
    mkdirSync(tmpDir, { recursive: true, mode: DIR_MODE });
    this.mark();
    return join(tmpDir, `${pid()}-${randomBytes(6).toString("hex")}`);
  }

  private marked = false;
  /**
   * The store's mark (`STORE_MARK`), written once before its first file: a store inside the
   * project (`JX_CACHE_DIR=$PWD/.ci-cache/jx`) is then walked by no job's reads (a job reading `.`
   * was out of date after every run that stored something: a new input in the store).
   */
  private mark(): void {
    if (this.marked) return;
    this.marked = true;
    const at = join(this.dir, STORE_MARK);
    if (!existsSync(at)) {
      writeFileSync(at, "jx output cache store: no job's input\n", { mode: FILE_MODE });
    }
  }

  /** Writes `data` at `path` through a temporary file and a rename. */
  private put(path: string, data: Uint8Array | string): void {
    const tmp = this.tmpPath();
    try {
      writeFileSync(tmp, data, { mode: FILE_MODE });
      this.place(tmp, path);
    } catch (e) {
      rmSync(tmp, { force: true }); // half written (a full disk): never left in tmp/
      throw e;
    }
  }

  /** Renames `tmp` to `path`, making its directory. */
  private place(tmp: string, path: string): void {
    mkdirSync(join(path, ".."), { recursive: true, mode: DIR_MODE });
    renameSync(tmp, path);
    this.grew = true;
  }

  /** Whether this process added to the store (`trim` looks at its size only then). */
  private grew = false;

  /**
   * The first of the store's folder and its parts (`entries`, `blobs`...) that someone not
   * trusted may write in, or undefined: anyone who can write there can make a restore write
   * what they like. Not trusted: users other than the owner and group (the `o+w` bit: a store
   * made by an older jx under umask 000, a `--cache-dir` in a shared folder), and the owner when
   * that is another user than you (and root), unless the store is shared with its group (`g+w`
   * on its folder: its members are trusted as you are); `uid` then says whose it is. Folders not
   * made yet are fine: the store makes them without that bit.
   *
   * @example
   * ```ts
   * import { LocalStore } from "./local.ts";
   * import { deepStrictEqual as assertEquals } from "node:assert/strict";
   * assertEquals(new LocalStore("/nonexistent/store").untrusted(), undefined);
   * ```
   */
  untrusted(): { path: string; uid?: number } | undefined {
    for (const path of [this.dir, ...STORE_PARTS.map((p) => join(this.dir, p))]) {
      let st: { mode: number; uid: number };
      try {
        st = statSync(path);
      } catch {
        continue; // not there (yet)
      }
      if (st.mode & 0o002) return { path };
      if (!this.trusts(st.uid)) return { path, uid: st.uid };
    }
    return undefined;
  }

  /**
   * Whether the store is shared with a group you are in (its folder `g+w`, its group one of
   * yours: its owner can set the bit, but can give it only to a group they are in), read once.
   */
  private get shared(): boolean {
    if (this.sharedMemo === undefined) {
      try {
        const st = statSync(this.dir);
        this.sharedMemo = (st.mode & 0o020) !== 0 && myGroups().includes(st.gid);
      } catch {
        this.sharedMemo = false;
      }
    }
    return this.sharedMemo;
  }
  private sharedMemo?: boolean;

  /** Whether what user `uid` owns in the store is trusted: yours, root's, a shared store's. */
  private trusts(uid: number): boolean {
    const me = myUid();
    return me < 0 || uid === me || uid === 0 || this.shared;
  }

  /** The memo of a blob, or null. */
  private readMemo(digest: string): string | null {
    let fd = -1;
    try {
      fd = openSync(this.memoPath(digest), "r");
      // One another user could write would let a blob they changed pass unhashed.
      const st = fstatSync(fd);
      return st.mode & 0o002 || !this.trusts(st.uid) ? null : readFileSync(fd, "utf8");
    } catch {
      return null;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }

  /** Remembers that the blob with this stamp holds its digest (nothing when `stamp` is null). */
  private noteChecked(digest: string, stamp: string | null): void {
    if (!stamp) return;
    try {
      this.put(this.memoPath(digest), this.memoText(digest, stamp));
    } catch { /* without a memo the next restore hashes */ }
  }

  /** Removes a blob and its memo. */
  private dropBlob(digest: string): void {
    rmSync(this.blobPath(digest), { force: true });
    this.dropMemo(digest);
  }

  /** Removes a blob's memo, never through a link (`checked/` or its shard one). */
  private dropMemo(digest: string): void {
    const shard = join("checked", digest.slice(0, 2));
    if (this.ownFolder("checked") && this.ownFolder(shard)) {
      rmSync(this.memoPath(digest), { force: true });
    }
  }

  /** The file holding a blob (its bytes unchecked: whoever reads it hashes them). */
  blobFile(digest: string): string {
    return this.blobPath(digest);
  }

  /** A stored blob's size in bytes (its bytes unchecked), or null when it is not there. */
  blobSize(digest: string): number | null {
    try {
      return statSync(this.blobPath(digest)).size;
    } catch {
      return null;
    }
  }

  /** Whether a blob is stored (its bytes are checked only when read). */
  hasBlob(digest: string): boolean {
    try {
      return statSync(this.blobPath(digest)).isFile();
    } catch {
      return false;
    }
  }

  /** Stores bytes under their digest (checked: bytes that do not match are refused). */
  putBlob(data: Uint8Array, digest = digestOf(data)): void {
    if (digestOf(data) !== digest) {
      throw new BadBlob(`blob ${digest.slice(0, 12)}: digest mismatch`);
    }
    if (this.hasBlob(digest)) return;
    this.put(this.blobPath(digest), data);
    this.noteChecked(digest, blobStamp(this.blobPath(digest)));
  }

  /**
   * A blob written in pieces (a remote store's download, see `KeepBlob`):
   * hashed as it is written into a temporary file, which becomes the blob
   * when its digest is the one asked for, and is removed otherwise.
   */
  blobWriter(): BlobWriter {
    const tmp = this.tmpPath();
    const fd = openSync(tmp, "wx", FILE_MODE);
    const h = createHash("sha256");
    let size = 0, open = true;
    const close = () => {
      if (open) open = false, closeSync(fd);
    };
    return {
      write: (chunk) => {
        for (let w = 0; w < chunk.length;) w += writeSync(fd, chunk, w, chunk.length - w);
        h.update(chunk);
        size += chunk.length;
      },
      finish: (want) => {
        close();
        const digest = h.digest("hex");
        if (digest !== want || this.hasBlob(digest)) rmSync(tmp, { force: true });
        else {
          this.place(tmp, this.blobPath(digest));
          this.noteChecked(digest, blobStamp(this.blobPath(digest)));
        }
        return { digest, size };
      },
      abort: () => {
        close();
        rmSync(tmp, { force: true });
      },
    };
  }

  /**
   * Stores a copy of the file at `path` (never whole in memory) and gives
   * the digest and size of the copy: what is stored is what was hashed, even
   * if the file changes meanwhile.
   */
  putFile(path: string): { digest: string; size: number } {
    const tmp = this.tmpPath();
    try {
      copyFileSync(path, tmp);
      const mode = statSync(tmp).mode; // the output's, whatever the umask
      if (mode & 0o002) chmodSync(tmp, mode & 0o7775);
      const got = hashPath(tmp);
      if (this.hasBlob(got.digest)) rmSync(tmp, { force: true });
      else {
        this.place(tmp, this.blobPath(got.digest));
        this.noteChecked(got.digest, blobStamp(this.blobPath(got.digest)));
      }
      return got;
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Copies a blob to the new file `dest`. When the blob's stamp before and
   * after the copy is the one its memo remembers, the copy is trusted (no
   * change went through the filesystem since the blob was checked);
   * otherwise the copy is hashed, and a match writes the memo. Throws
   * `BadBlob` when the blob is missing, or corrupt (then it and its memo are
   * removed from the store and `dest` is not left behind).
   */
  copyBlob(digest: string, dest: string): void {
    const src = this.blobPath(digest), memo = this.readMemo(digest);
    const before = blobStamp(src);
    if (copyPlain(src, dest)) throw new BadBlob(`blob ${digest.slice(0, 12)} is missing`);
    const after = blobStamp(src);
    const steady = after !== null && after === before;
    if (steady && memo === this.memoText(digest, after)) return;
    if (!holds(dest, digest)) {
      this.dropBlob(digest);
      throw new BadBlob(`blob ${digest.slice(0, 12)} is corrupt (removed)`);
    }
    if (steady) this.noteChecked(digest, after);
  }

  /** A blob's bytes, checked against its digest; a bad one is removed and throws `BadBlob`. */
  readBlob(digest: string): Uint8Array {
    const path = this.blobPath(digest);
    let data: Uint8Array;
    try {
      data = readFileSync(path);
    } catch {
      throw new BadBlob(`blob ${digest.slice(0, 12)} is missing`);
    }
    if (digestOf(data) === digest) return data;
    this.dropBlob(digest);
    throw new BadBlob(`blob ${digest.slice(0, 12)} is corrupt (removed)`);
  }

  /**
   * The entry stored under `key` (its mtime set to now), or null; an unreadable one is removed,
   * and `bad` told why.
   */
  getEntry(key: string, bad?: (why: string) => void): Entry | null {
    const path = this.entryPath(key);
    let text: string;
    const fd = (() => {
      try {
        return openSync(path, "r");
      } catch {
        return -1;
      }
    })();
    if (fd < 0) return null;
    try {
      // One that others may write could say anything: not used (left for its owner to see).
      const st = fstatSync(fd);
      if (st.mode & 0o002) {
        bad?.(`entry ${key.slice(0, 12)} is writable by other users (not used)`);
        return null;
      }
      if (!this.trusts(st.uid)) {
        bad?.(`entry ${key.slice(0, 12)} belongs to uid ${st.uid}, not you (not used)`);
        return null;
      }
      text = readFileSync(fd, "utf8");
    } catch {
      return null;
    } finally {
      closeSync(fd);
    }
    let e: unknown;
    try {
      e = JSON.parse(text);
    } catch {
      e = null;
    }
    if (!isEntry(e) || e.key !== key) {
      rmSync(path, { force: true });
      bad?.(`entry ${key.slice(0, 12)} is corrupt (removed)`);
      return null;
    }
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch { /* pruned meanwhile: the caller reads what it has */ }
    return e;
  }

  /** Stores an entry (its blobs must be stored first). */
  putEntry(e: Entry): void {
    // The parts as a store keeps them: no value of the job's environment or vars (`storedParts`).
    this.put(
      this.entryPath(e.key),
      JSON.stringify(e.parts ? { ...e, parts: storedParts(e.parts) } : e),
    );
  }

  /** Removes an entry (its blobs stay until a prune finds them unused). */
  dropEntry(key: string): void {
    rmSync(this.entryPath(key), { force: true });
  }

  /** Remembers the last key stored for a job of a project (for `jx explain`). */
  setLast(baseDir: string, job: string, key: string, parts: KeyParts): void {
    this.put(
      this.lastPath(baseDir, job),
      JSON.stringify({ key, parts: isKeyParts(parts) ? storedParts(parts) : parts }),
    );
  }

  /** The last key stored for a job of a project, or null. */
  getLast(baseDir: string, job: string): { key: string; parts: KeyParts } | null {
    try {
      const last = JSON.parse(readFileSync(this.lastPath(baseDir, job), "utf8"));
      return typeof last?.key === "string" && isKeyParts(last.parts) ? last : null;
    } catch {
      return null;
    }
  }

  /** Whether the store's folder `sub` is a folder, not a link to one (a prune would follow it). */
  private ownFolder(sub: string): boolean {
    try {
      return lstatSync(join(this.dir, sub)).isDirectory();
    } catch {
      return false;
    }
  }

  /** Every file under `sub` (two levels: `ab/NAME`). */
  private list(sub: string): Item[] {
    const out: Item[] = [];
    const root = join(this.dir, sub);
    let shards: string[] = [];
    try {
      // The folder itself a link (`entries -> elsewhere`): not followed either.
      if (this.ownFolder(sub)) shards = readdirSync(root);
    } catch { /* empty store */ }
    for (const s of shards) {
      let names: string[] = [];
      try {
        // A link put in the place of a shard is not followed: a prune would remove what it leads to.
        if (lstatSync(join(root, s)).isDirectory()) names = readdirSync(join(root, s));
      } catch { /* removed meanwhile */ }
      for (const n of names) {
        try {
          const st = lstatSync(join(root, s, n));
          if (st.isFile()) out.push({ path: join(root, s, n), size: st.size, mtimeMs: st.mtimeMs });
        } catch { /* removed meanwhile */ }
      }
    }
    return out;
  }

  /** Counts and sizes. */
  stats(): StoreStats {
    const entries = this.list("entries"), blobs = this.list("blobs");
    const bytes = [...entries, ...blobs].reduce((n, i) => n + i.size, 0);
    return {
      dir: this.dir,
      entries: entries.length,
      blobs: blobs.length,
      bytes,
      maxBytes: this.maxBytes,
    };
  }

  /**
   * Removes least recently used entries until the store holds at most
   * `maxBytes`, each entry's blobs once nothing else refers to them, and
   * unreferenced blobs and temporary files older than a grace period. A
   * concurrent restore whose
   * blob goes away sees a miss, never a wrong file. Returns bytes removed.
   * A folder that is not a store (`clear`) throws, nothing removed.
   */
  prune(maxBytes: number): number {
    this.mustBeStore();
    const entries = this.list("entries").sort((a, b) => a.mtimeMs - b.mtimeMs);
    const blobs = new Map(this.list("blobs").map((b) => [b.path.slice(-64), b]));
    const refs = new Map<string, number>();
    const uses = new Map<string, string[]>();
    for (const it of entries) {
      let e: unknown = null;
      try {
        e = JSON.parse(readFileSync(it.path, "utf8"));
      } catch { /* unreadable: refers to nothing */ }
      const ds = isEntry(e) ? blobsOf(e) : [];
      uses.set(it.path, ds);
      for (const d of ds) refs.set(d, (refs.get(d) ?? 0) + 1);
    }
    let total = [...entries, ...blobs.values()].reduce((n, i) => n + i.size, 0);
    const before = total;
    const drop = (it: Item) => {
      rmSync(it.path, { force: true });
      if (it.path.startsWith(join(this.dir, "blobs"))) {
        this.dropMemo(basename(it.path));
      }
      total -= it.size;
    };
    for (const it of entries) {
      if (total <= maxBytes) break;
      drop(it);
      for (const d of uses.get(it.path) ?? []) {
        const n = (refs.get(d) ?? 1) - 1;
        refs.set(d, n);
        const b = blobs.get(d);
        if (n === 0 && b) drop(b), blobs.delete(d);
      }
    }
    const old = Date.now() - ORPHAN_GRACE_MS;
    for (const [d, b] of blobs) if (!refs.get(d) && b.mtimeMs < old) drop(b);
    total -= this.pruneTmp(old);
    for (const m of this.list("checked")) {
      if (!this.hasBlob(basename(m.path))) rmSync(m.path, { force: true }); // its blob went
    }
    return before - total;
  }

  /**
   * Removes the temporary files last written before `old`: a process's that
   * died while writing (a download cut by a kill, a full disk). Returns the
   * bytes removed.
   */
  private pruneTmp(old: number): number {
    const dir = join(this.dir, "tmp");
    let names: string[] = [];
    try {
      if (this.ownFolder("tmp")) names = readdirSync(dir);
    } catch { /* none */ }
    let freed = 0;
    for (const n of names) {
      try {
        const st = lstatSync(join(dir, n));
        if (st.isFile() && st.mtimeMs < old) rmSync(join(dir, n)), freed += st.size;
      } catch { /* removed meanwhile */ }
    }
    return freed;
  }

  /**
   * Hashes every blob again (memos not trusted): one whose bytes do not
   * match its name is removed with its memo; a good one's memo is written.
   * Finds what no stamp shows (damage below the filesystem, bit rot).
   */
  verify(): { blobs: number; bad: number; bytes: number } {
    const r = { blobs: 0, bad: 0, bytes: 0 };
    for (const b of this.list("blobs")) {
      const d = basename(b.path), before = blobStamp(b.path);
      let got;
      try {
        got = hashPath(b.path);
      } catch {
        continue; // removed meanwhile
      }
      const steady = blobStamp(b.path) === before; // null twice without FFI: judged too
      r.blobs++, r.bytes += got.size;
      if (got.digest === d) {
        if (steady) this.noteChecked(d, before);
      } else if (steady) this.dropBlob(d), r.bad++; // else replaced meanwhile: not judged
    }
    return r;
  }

  /**
   * Prunes to 80% of the size limit when above it, after this process added
   * to the store: its size is a stat of every file in it (a large store's
   * many thousands), which a run that only restored or looked up skips.
   */
  trim(): void {
    if (!this.grew) return;
    if (this.stats().bytes > this.maxBytes) this.prune(Math.floor(this.maxBytes * 0.8));
  }

  /**
   * Throws a `JxInputError` when the folder holds anything but a store's own
   * folders: it is not a store (a mistyped `--cache-dir`), and neither
   * `prune` nor `clear` may remove anything there (nor `jx cache stats`
   * count it as an empty store); `what` ends the message.
   */
  mustBeStore(what = "nothing removed"): void {
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      // No store there: nothing to remove. A file (or a path through one) is no store either.
      if ((e as { code?: string }).code !== "ENOENT") {
        throw new JxInputError(
          `${this.dir}: ${ioReason(e)}: not a jx cache store, ${what}`,
        );
      }
    }
    const other = names.find((n) => !STORE_PARTS.includes(n) && !ASIDE.test(n) && n !== STORE_MARK);
    if (other !== undefined) {
      throw new JxInputError(
        `${this.dir} is not a jx cache store (it holds '${other}'): ${what}`,
      );
    }
  }

  /**
   * Removes everything the store holds. A folder holding anything but a
   * store's own folders is not a store (a mistyped `--cache-dir`): nothing
   * is removed, and the name found is thrown (a `JxInputError`).
   */
  clear(): void {
    this.mustBeStore();
    // Each folder is renamed aside first, then removed: a jx storing into the store meanwhile
    // makes a new folder, never a file in the one being removed (whose removal then failed,
    // ENOTEMPTY, with half the store gone).
    const aside: string[] = [];
    for (const sub of STORE_PARTS) {
      const to = join(
        this.dir,
        `${sub}.clear-${host()}-${pid()}-${randomBytes(6).toString("hex")}`,
      );
      try {
        renameSync(join(this.dir, sub), to);
        aside.push(to);
      } catch (e) {
        if ((e as { code?: string }).code !== "ENOENT") throw e;
      }
    }
    // What a clear killed midway left (this host's, its process gone; a live one removes its own).
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch { /* no store */ }
    for (const n of names) {
      const m = ASIDE.exec(n);
      if (m && m[2] === host() && Number(m[3]) !== pid() && isStale(join(this.dir, n), +m[3])) {
        aside.push(join(this.dir, n));
      }
    }
    for (const p of aside) rmSync(p, { recursive: true, force: true });
  }
}
