/**
 * The no-op fast path of `jx run`, after ninja's way of deciding from
 * stamps alone. After a run in which every selected job ended `ok` or up
 * to date, jx records in `.jx/noop-FILE.rec` the arguments of the run, the
 * stamps (size, mtime, inode) of the jobs file, of the state log and of
 * every path the jobs read or write, and the names of the jobs. A later
 * `jx run` with the same arguments that finds every one of those stamps
 * unchanged knows what the full check would say of each job (up to date:
 * same command, same inputs, outputs as recorded, no state line since) and
 * says it without loading the graph or the scheduler.
 *
 * A record that no longer matches still says which paths changed since
 * (`diffNoop`): when the arguments, the jobs file and the state log are as
 * recorded, the full run checks in full only the jobs that touch a changed
 * path (and those that read what a rerun job writes) and trusts the rest,
 * and its record is the old one with those paths' stamps replaced. When
 * the graph cache allows, it does not even load the rest (a partial run:
 * cli/noop_run.ts `partialRun`), and the record is patched in place
 * (`patchPart`).
 *
 * Stamps are size, mtime, inode and ctime (a write or a `utime` moves the
 * ctime to now, so an edit that restores the mtime is seen). A path whose
 * mtime or ctime is within `RACY_MS` of the record's writing could still be
 * edited within the same clock tick without a change of stamp: its content
 * hash is kept in the record and compared when it is next checked.
 *
 * Globs and directories in `reads` are covered by the directories their
 * walk lists: each one's stamp (mtime, inode, ctime: adding, removing or
 * renaming an entry moves its mtime), taken before it is listed, and the
 * walk's matches at the record's writing must be the files the job's state
 * line holds. A directory whose stamp is racy keeps its listing, compared
 * when it is next checked. A directory named in `writes` is checked for
 * being one (as the full check does), `@names` name no file.
 *
 * It is conservative: a record is written only when every selected job is
 * a job (no module) whose files exist as its state line says after the run,
 * and nothing was generated during it; anything that differs sends `jx run`
 * the full way.
 *
 * @module
 */
import {
  envVar,
  pid,
  readBytesSync,
  removeSync,
  renameSync,
  writeAll,
  writeBytesSync,
} from "../runtime/mod.ts";
import { stateDir } from "./guard.ts";
import { sha256 } from "../runtime/hash.ts";
import { inspectOwned } from "../runtime/owned.ts";
import { utf8Decoder, utf8Exact } from "../runtime/utf8.ts";
import { pathAt, type PathBytes, pathBytes, pathCount } from "./noop_paths.ts";
import {
  ABSENT,
  coarseNow,
  coarseTick,
  DIR,
  FILE,
  inDir,
  ST,
  statEachUnder,
  statInto,
  statUnder,
} from "./stat.ts";
import {
  collectStamps,
  coverable,
  DIR_MODE,
  listing,
  type NoopJob,
  patchPart,
  RACY_MS,
  type RecordFrom,
  W,
} from "./noop_collect.ts";

export type { NoopJob, RecordFrom } from "./noop_collect.ts";
export { RACY_MS };
export { pathCount } from "./noop_paths.ts";

// 4: the dotenv variables set in the environment (`envNames`, `envSet`); 5: with their values
// hashes (`NAME=HASH`: a job gets the environment's value, which its fingerprint holds); 6: a
// record that vouched for a read folder holding a folder whose name is not UTF-8 (whose files
// no check saw) is not replayed (fileset.ts `expandStamped`, strict)
const FORMAT = 6;
/** How a recorded directory is checked (first number of its stamp). */
const { EXISTS, MISSING } = DIR_MODE;

/** What a record holds. */
export interface NoopRecord {
  /** The arguments and versions it is valid for. */
  key: string;
  /** The selected jobs, in the order their `job.skip` events go. */
  names: string[];
  /** `run.start`'s `slots` and `jobserver`, as the run reported them. */
  slots: number;
  jobserver: "server" | "client" | "none";
  /** Absolute paths of the jobs file and the state log. */
  file: string;
  state: string;
  /** Paths relative to `base` (the jobs file's directory, ending in `/`), jobs file and state log first. */
  base: string;
  paths: string[];
  /** Per path: size, mtime (ms), inode, ctime (ms); binary in the file (see `encodeRecord`). */
  stamps: Float64Array;
  /** Racy paths: index in `paths`, then the content hash its state line records. */
  racy: (number | string)[];
  /** Directories (relative to `base`): those a walk listed, those `writes` names. */
  dirs: string[];
  /** Per directory: LISTED (then mtime, inode, ctime), EXISTS or MISSING (then 0, 0, 0). */
  dstamps: number[];
  /** Racy directories: index in `dirs`, then their entries' names as listed (`listing`). */
  listings: (number | string)[];
  /** The patterns walked (globs, directories in `reads`): their jobs are never trusted unchecked. */
  walks: string[];
  /** The graph cache's key of the run's graph, when it had one (for a partial run). */
  graphKey?: string;
  /** The variables the graph's dotenv files set, and those of them the environment set then. */
  envNames: string[];
  envSet: string[];
}

/** A record and the paths (relative, as in `paths`) whose stamps changed since it was written. */
export interface NoopDiff {
  record: NoopRecord;
  changed: Set<string>;
  /** When the diff started (before its racy paths were checked by content), ms since the epoch. */
  checkedAt: number;
}

/**
 * Where the record of the jobs file `file` is kept.
 *
 * @example
 * ```ts
 * import { noopRecordPath } from "./noop.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(noopRecordPath("/p", "/p/jobs.yaml"), "/p/.jx/noop-jobs.yaml.rec");
 * ```
 */
export const noopRecordPath = (baseDir: string, file: string): string =>
  `${baseDir}/.jx/noop-${file.slice(file.lastIndexOf("/") + 1)}.rec`;

/** Whether `path`'s stat (into `ST`) is the recorded stamp at `s`. */
function sameStamp(kind: number, stamps: ArrayLike<number>, s: number): boolean {
  return kind === FILE && ST.size === stamps[s] && ST.mtimeMs === stamps[s + 1] &&
    ST.ino === stamps[s + 2] && ST.ctimeMs === stamps[s + 3];
}

/** Whether the directory at `s` of `dstamps` is as recorded. */
function sameDir(base: string, rel: string, dstamps: number[], s: number): boolean {
  const kind = statUnder(base, rel), mode = dstamps[s];
  if (mode === MISSING) return kind === ABSENT;
  if (mode === EXISTS) return kind === DIR;
  return kind === DIR && ST.mtimeMs === dstamps[s + 1] && ST.ino === dstamps[s + 2] &&
    ST.ctimeMs === dstamps[s + 3];
}

/** Adds to `changed` the directories that differ from the record's; false to stop at the first. */
function changedDirs(r: NoopRecord, changed: Set<string>, stopAtFirst: boolean): boolean {
  const { dirs, dstamps, listings, base } = r;
  for (let i = 0; i < dirs.length; i++) {
    if (sameDir(base, dirs[i], dstamps, i * W)) continue;
    changed.add(dirs[i]);
    if (stopAtFirst) return false;
  }
  for (let k = 0; k + 1 < listings.length; k += 2) {
    const d = dirs[listings[k] as number];
    if (d === undefined || changed.has(d) || listing(base, d) === listings[k + 1]) continue;
    changed.add(d);
    if (stopAtFirst) return false;
  }
  return true;
}

/**
 * The paths whose stamps differ from the record's (every one when `stopAtFirst`
 * finds one: a set of one), racy paths checked by content, directories by
 * their stamps (and racy ones by their listing); undefined when the jobs file
 * or the state log changed.
 */
function changedPaths(r: NoopRecord, stopAtFirst: boolean): Set<string> | undefined {
  // A dotenv variable the environment sets now and did not then (or the reverse) changes what a
  // job gets (the environment's value wins): nothing here holds.
  if (!sameEnvSet(r.envNames, r.envSet)) return undefined;
  const { stamps, base } = r;
  const changed = new Set<string>();
  if (r.dstamps.length !== r.dirs.length * W) return undefined;
  // A record read from its file stats its paths from the bytes read (no string per path).
  const read = pathBytes.get(r);
  if (read && !read.at) {
    if (!statFromBytes(r, read, changed, stopAtFirst)) return undefined;
  } else {
    const n = pathCount(r);
    if (stamps.length !== n * W) return undefined;
    // The jobs file and the state log first (either changed: nothing here holds), then the rest.
    for (let i = 0; i < 2 && i < n; i++) {
      if (!sameStamp(statInto(pathAt(r, i)!), stamps, i * W)) return undefined;
    }
    inDir(base, () => {
      for (let i = 2, s = 2 * W; i < n; i++, s += W) {
        if (sameStamp(statUnder(base, pathAt(r, i)!), stamps, s)) continue;
        changed.add(pathAt(r, i)!);
        if (stopAtFirst) return;
      }
    });
  }
  if (stopAtFirst && changed.size) return changed;
  for (let k = 0; k + 1 < r.racy.length; k += 2) {
    const i = r.racy[k] as number;
    const p = pathAt(r, i);
    if (p === undefined || changed.has(p)) continue;
    if (contentHash(p[0] === "/" ? p : base + p) === r.racy[k + 1]) continue;
    if (i < 2) return undefined; // the jobs file (or the state log): nothing here holds
    changed.add(p);
    if (stopAtFirst && changed.size) return changed;
  }
  changedDirs(r, changed, stopAtFirst);
  return changed;
}

/** A variable the environment sets, as a record keeps it: `NAME=` and a hash of its value. */
const setAs = (n: string, v: string) => `${n}=${sha256().update(v).hex().slice(0, 16)}`;

/** Those of `names` the environment sets now (`setAs`). */
const setNow = (names: readonly string[]) => {
  const out: string[] = [];
  for (const n of names) {
    const v = envVar(n);
    if (v !== undefined) out.push(setAs(n, v));
  }
  return out;
};

/**
 * Whether the environment sets exactly `set` of `names`, as when a record was written. Loops,
 * as `isRecord` and the rest of the no-op path: the first call of each of Array's callback
 * methods costs 35-150 us in a compiled binary (JavaScriptCore links its builtin then).
 */
function sameEnvSet(names: readonly string[], set: readonly string[]): boolean {
  let k = 0;
  for (const n of names) {
    const v = envVar(n);
    if (v === undefined) continue;
    if (set[k++] !== setAs(n, v)) return false;
  }
  return k === set.length;
}

/**
 * `changedPaths`'s stats of a record's paths straight from the bytes read
 * (`statEachUnder`: a ring's batches or the calls, the faster), noting where each
 * starts (`read.at`, for `pathAt` and `pathIndexes` later);
 * false when the jobs file or the state log changed, or when the bytes do
 * not hold one path per stamp.
 */
function statFromBytes(
  r: NoopRecord,
  read: PathBytes,
  changed: Set<string>,
  stopAtFirst: boolean,
): boolean {
  const { stamps, base } = r, { bytes } = read, n = stamps.length / W;
  if (!Number.isInteger(n)) return false;
  const at = new Int32Array(n);
  let i = 0, off = 0;
  const text = (end: number) => decoder.decode(bytes.subarray(at[i], end));
  // The jobs file and the state log first (either changed: nothing here holds).
  for (; i < 2 && i < n; i++) {
    const end = bytes.indexOf(0, off);
    if (end < 0) return false;
    at[i] = off;
    if (!sameStamp(statInto(text(end)), stamps, i * W)) return false;
    off = end + 1;
  }
  // Where each path starts (its NUL found once), then the stats in that order.
  for (; i < n && off < bytes.length; i++) {
    at[i] = off;
    const end = bytes.indexOf(0, off);
    off = end < 0 ? bytes.length : end + 1;
  }
  if (i !== n || off !== bytes.length || bytes[off - 1] !== 0) return false;
  let stopped = false;
  inDir(base, () =>
    statEachUnder(base, bytes, at, 2, n, (k, kind) => {
      if (sameStamp(kind, stamps, k * W)) return true;
      changed.add(decoder.decode(bytes.subarray(at[k], k + 1 < n ? at[k + 1] - 1 : off - 1)));
      return !(stopped = stopAtFirst);
    }));
  if (!stopped) read.at = at; // cut short: a later full pass checks the rest the same way
  return true;
}

/** SHA-256 of a file, hex, as the state's hashes are (`fileset.ts` `hashFile`); "" when unreadable. */
function contentHash(path: string): string {
  try {
    return sha256().update(readBytesSync(path)).hex().slice(0, 32);
  } catch {
    return "";
  }
}

/** The first bytes of a record file (the format's version in them). */
const MAGIC = "JXNOOP6\n";
const encoder = new TextEncoder(), decoder = utf8Decoder;
/** The bytes each record was read from (`decodeRecord`), for `encodeRecord`'s `sameHead`. */
const readFrom = new WeakMap<object, { bytes: Uint8Array; head: Uint8Array }>();
/** The strings of `bytes`, each ended by a NUL; undefined when the last is not ended. */
function splitEnded(bytes: Uint8Array): string[] | undefined {
  if (bytes.length && bytes[bytes.length - 1] !== 0) return undefined;
  return bytes.length ? decoder.decode(bytes.subarray(0, -1)).split("\0") : [];
}

/**
 * The strings of a list, each ended by a NUL. None may hold one (it would
 * end it early) nor a lone surrogate (it would come back as U+FFFD, another
 * path): such a record is not written, and the next run takes the full way.
 */
function joinEnded(list: readonly string[] | undefined): Uint8Array {
  if (!list?.length) return new Uint8Array(0);
  if (list.some((x) => x.includes("\0"))) throw new Error("a NUL in a name or path");
  if (!list.every(utf8Exact)) throw new Error("a lone surrogate in a name or path");
  return encoder.encode(list.join("\0") + "\0");
}

/** The fields a record's file keeps outside its JSON. */
const APART = new Set(["names", "paths", "stamps", "racy"]);

/**
 * A record's head: three little-endian u32 (the lengths of the three parts
 * that follow), the JSON of everything but the names, the paths, the
 * stamps and the racy paths, then the names and the paths, each ended by a
 * NUL (so that a path is stat'd from the bytes read: `statEachUnder`).
 */
function encodeHead(r: NoopRecord): Uint8Array {
  // The other fields by name (a record read keeps its paths unmade: no spread of them).
  const rest: Record<string, unknown> = {};
  for (const k of Object.keys(r)) if (!APART.has(k)) rest[k] = r[k as keyof NoopRecord];
  const json = encoder.encode(JSON.stringify(rest));
  const names = joinEnded(r.names), paths = joinEnded(r.paths);
  const out = new Uint8Array(12 + json.length + names.length + paths.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, names.length, true);
  view.setUint32(8, paths.length, true);
  out.set(json, 12);
  out.set(names, 12 + json.length);
  out.set(paths, 12 + json.length + names.length);
  return out;
}

/** A record's head as `encodeHead` wrote it (its paths made when first asked for), or undefined. */
function decodeHead(head: Uint8Array): unknown {
  if (head.length < 12) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.length);
  const json = view.getUint32(0, true), names = view.getUint32(4, true);
  const end = 12 + json + names + view.getUint32(8, true);
  if (end !== head.length) return undefined;
  const r = JSON.parse(decoder.decode(head.subarray(12, 12 + json)));
  if (typeof r !== "object" || r === null) return r;
  r.names = splitEnded(head.subarray(12 + json, 12 + json + names));
  const bytes = head.subarray(12 + json + names, end);
  if (bytes.length && bytes[bytes.length - 1] !== 0) return undefined;
  pathBytes.set(r, { bytes }); // where each path starts: noted by the stat pass (`changedPaths`)
  Object.defineProperty(r, "paths", {
    configurable: true,
    enumerable: true,
    get() {
      const paths = splitEnded(bytes)!;
      Object.defineProperty(r, "paths", { value: paths, writable: true, enumerable: true });
      return paths;
    },
  });
  return r;
}

/** Whether this machine stores a float64 little-endian, as the file does (every one jx runs on). */
const littleEndian = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/**
 * A record as the bytes of its file: `MAGIC`, the length of the head that
 * follows and the number of stamps (two little-endian u32), the head
 * (`encodeHead`: the JSON of the other fields, then the names and the
 * paths as NUL-ended strings: a run that stats 20,000 paths makes no
 * string of them, and parsing them as JSON cost more than the stats'
 * other work), padding to 8 bytes, the stamps as float64s (parsing 4
 * numbers per path as JSON text cost more than every other part of reading
 * a record), then the racy paths as JSON to the end. As pieces to write
 * one after the other: after a partial run only stamps and racy paths
 * change, and a record read from a file whose stamps were changed in place
 * (`sameHead`) is written back from the bytes read, with a new tail (no
 * copy, no JSON of its 10,000 paths).
 *
 * @example
 * ```ts
 * import { decodeRecord, encodeRecord, type NoopRecord } from "./noop.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = { key: "k", racy: [0, "ab"], stamps: new Float64Array([1, 2.5, 3, 4]) } as unknown as NoopRecord;
 * const bytes = new Uint8Array(encodeRecord(r).flatMap((piece) => [...piece]));
 * const back = decodeRecord(bytes) as NoopRecord;
 * assertEquals([back.key, back.racy, [...back.stamps]], ["k", [0, "ab"], [1, 2.5, 3, 4]]);
 * ```
 */
export function encodeRecord(r: NoopRecord, sameHead = false): Uint8Array[] {
  const tail = encoder.encode(JSON.stringify(r.racy));
  const was = sameHead ? readFrom.get(r) : undefined;
  const head = was?.head ?? encodeHead(r);
  const at = (16 + head.length + 7) & ~7;
  const size = at + r.stamps.byteLength;
  // The stamps still the view into the bytes read (changed in place): those bytes are the rest.
  const inPlace = was && r.stamps.buffer === was.bytes.buffer &&
    r.stamps.byteOffset === was.bytes.byteOffset + at && size <= was.bytes.length;
  if (inPlace) return [was.bytes.subarray(0, size), tail];
  const out = new Uint8Array(size);
  out.set(encoder.encode(MAGIC));
  const view = new DataView(out.buffer);
  view.setUint32(8, head.length, true);
  view.setUint32(12, r.stamps.length, true);
  out.set(head, 16);
  const stamps = new Float64Array(out.buffer, at, r.stamps.length);
  stamps.set(r.stamps);
  return [out, tail];
}

/**
 * The parsed content of a record file's bytes (stamps as a `Float64Array`),
 * an older format's JSON, or undefined when it is neither.
 */
export function decodeRecord(bytes: Uint8Array): unknown {
  if (decoder.decode(bytes.subarray(0, 8)) !== MAGIC) {
    try {
      return JSON.parse(decoder.decode(bytes)); // an older jx's record, or damage
    } catch {
      return undefined;
    }
  }
  if (bytes.length < 16 || !littleEndian) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const headLength = view.getUint32(8, true), n = view.getUint32(12, true);
  const at = (16 + headLength + 7) & ~7;
  if (at + n * 8 > bytes.length) return undefined;
  const head = bytes.subarray(16, 16 + headLength);
  const r = decodeHead(head) as Record<string, unknown> | undefined;
  if (typeof r !== "object" || r === null) return r;
  r.racy = JSON.parse(decoder.decode(bytes.subarray(at + n * 8)));
  readFrom.set(r, { bytes, head });
  // A view when the bytes are aligned (a file read whole: they are), else a copy.
  r.stamps = (bytes.byteOffset + at) % 8 === 0
    ? new Float64Array(bytes.buffer, bytes.byteOffset + at, n)
    : new Float64Array(bytes.slice(at, at + n * 8).buffer);
  return r;
}

/** Whether `bytes` are a record of another format than this jx's (`MAGIC` with another version). */
function isOtherFormat(bytes: Uint8Array): boolean {
  const magic = decoder.decode(bytes.subarray(0, 8));
  return magic !== MAGIC && /^JXNOOP\d+\n$/.test(magic);
}

/** The record of `file`, parsed, when it is for `key`; undefined otherwise. */
function readRecord(baseDir: string, file: string, key: string): NoopRecord | undefined {
  let r: NoopRecord;
  // As every file of `.jx/`: never through a link, never another user's (the next record written
  // replaces it).
  const found = inspectOwned(noopRecordPath(baseDir, file), "file");
  if (found.kind !== "ok") {
    if (found.kind !== "absent") {
      const why = found.kind === "symlink"
        ? "is a symbolic link"
        : found.kind === "foreign"
        ? `belongs to uid ${found.uid}, not to this user`
        : "is not a file";
      writeAll(2, `jx: warning: ${noopRecordPath(baseDir, file)} ${why}: not used\n`);
    }
    return undefined;
  }
  try {
    const bytes = readBytesSync(noopRecordPath(baseDir, file));
    // Another jx's format (before an upgrade): not for this run, and no damage either.
    if (isOtherFormat(bytes)) return undefined;
    r = decodeRecord(bytes) as NoopRecord;
  } catch {
    return undefined;
  }
  // Another key (an older format's too) is no damage: that record is not for this run.
  const other = typeof r === "object" && r !== null && typeof r.key === "string" && r.key !== key;
  if (other) return undefined;
  if (!isRecord(r)) {
    writeAll(2, `jx: warning: ${noopRecordPath(baseDir, file)} is damaged: ignored\n`);
    return undefined;
  }
  return r.key === key && r.file === file ? r : undefined;
}

/**
 * The record for `key` and what changed since it was written: undefined when
 * there is none, or when the jobs file or the state log changed (then
 * nothing it says can be trusted).
 *
 * @example
 * ```ts
 * import { diffNoop } from "./noop.ts";
 * const d = diffNoop("/p", "/p/jobs.yaml", "key");
 * if (d) console.log(`${d.changed.size} paths changed`);
 * ```
 */
export function diffNoop(
  baseDir: string,
  file: string,
  key: string,
): NoopDiff | undefined {
  const record = readRecord(baseDir, file, key);
  const checkedAt = Date.now();
  const changed = record && changedPaths(record, false);
  return record && changed && { record, changed, checkedAt };
}

/**
 * The record for the jobs file `file` (absolute) when its key is `key` and
 * nothing it names has changed since; otherwise undefined.
 *
 * @example
 * ```ts
 * import { checkNoop } from "./noop.ts";
 * const r = checkNoop("/p", "/p/jobs.yaml", "key");
 * if (r) console.log(`${r.names.length} up to date`);
 * ```
 */
export function checkNoop(
  baseDir: string,
  file: string,
  key: string,
): NoopRecord | undefined {
  const r = readRecord(baseDir, file, key);
  return r && changedPaths(r, true)?.size === 0 ? r : undefined;
}

/** Whether `a` is an array of strings (a loop: see `sameEnvSet`). */
function isStrings(a: unknown): boolean {
  if (!Array.isArray(a)) return false;
  for (const x of a) if (typeof x !== "string") return false;
  return true;
}

/** Whether `a` (an array) holds numbers only (a loop: see `sameEnvSet`). */
function isNumbers(a: unknown[]): boolean {
  for (const x of a) if (typeof x !== "number") return false;
  return true;
}

/** Whether a parsed record has every field of the type it must have. */
function isRecord(r: unknown): r is NoopRecord {
  if (typeof r !== "object" || r === null) return false;
  const o = r as Record<string, unknown>;
  const strings = typeof o.key === "string" && typeof o.file === "string" &&
    typeof o.state === "string" && typeof o.base === "string";
  return strings &&
    // Paths read from a file are not made here: their count is checked by `changedPaths`.
    isStrings(o.names) && (pathBytes.has(o) || isStrings(o.paths)) &&
    typeof o.slots === "number" &&
    ["server", "client", "none"].includes(o.jobserver as string) &&
    o.stamps instanceof Float64Array &&
    Array.isArray(o.racy) && isStrings(o.dirs) && isStrings(o.walks) &&
    Array.isArray(o.dstamps) && isNumbers(o.dstamps) &&
    Array.isArray(o.listings) && (o.graphKey === undefined || typeof o.graphKey === "string") &&
    isStrings(o.envNames) && isStrings(o.envSet);
}

/**
 * The stamp (size, mtime, inode, ctime) of a file, or undefined when it is not a file.
 *
 * @example
 * ```ts
 * import { stampOf } from "./noop.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/jobs.yaml`, "jobs: {}\n");
 * const st = Deno.statSync(`${dir}/jobs.yaml`);
 * // e.g. [9, 1763900000000.123, 42, 1763900000000]  (size, mtime, inode, ctime)
 * assertEquals(stampOf(`${dir}/jobs.yaml`)?.length, 4);
 * assertEquals(stampOf(`${dir}/jobs.yaml`)?.[0], 9);
 * assertEquals(stampOf(`${dir}/jobs.yaml`)?.[2], st.ino);
 * assertEquals(stampOf(dir), undefined);
 * ```
 */
export function stampOf(path: string): number[] | undefined {
  return statInto(path) === FILE ? [ST.size, ST.mtimeMs, ST.ino, ST.ctimeMs] : undefined;
}

/**
 * The jobs file's stamp before a run reads it, and its content's hash when
 * that stamp is racy (the file changed within `RACY_MS` before `at`, when
 * the stamp was taken): an edit of the same size in the same millisecond,
 * after the run read it, keeps the stamp; the record then holds the hash,
 * and the next run compares the content (`changedPaths`).
 *
 * @example
 * ```ts
 * import { jobsFileStampAt } from "./noop.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/jobs.yaml`, "jobs: {}\n");
 * // just written: racy, so hashed
 * assertEquals(typeof jobsFileStampAt(`${dir}/jobs.yaml`, Date.now())?.hash, "string");
 * assertEquals(jobsFileStampAt(`${dir}/none.yaml`, Date.now()), undefined);
 * ```
 */
export function jobsFileStampAt(
  path: string,
  at: number,
): { stamp: number[]; hash?: string } | undefined {
  const stamp = stampOf(path);
  if (!stamp) return undefined;
  // Racy: changed within a clock tick of `at` (a coarse one on a filesystem of whole seconds).
  const tick = RACY_MS + coarseNow();
  return Math.max(stamp[1], stamp[3]) < at - tick ? { stamp } : {
    stamp,
    hash: contentHash(path),
  };
}

/**
 * Writes the record of a run that left every job in `jobs` up to date, or
 * removes a stale one when the jobs are not all of the kind a record can
 * cover. Call it after the state log is closed, holding the run lock. The
 * stamps recorded are those the run decided on, not the disk's now: the
 * jobs file's as it was before the run read it (`from.jobsFile`), each
 * job's files as its state line records them (`from.recorded`), each only
 * when the disk still says so (its ctime taken now); so a file changed
 * while the run went on no longer matches, and the next run takes the full
 * way. With `from.previous`, only the paths that changed or that jobs
 * checked in full name are taken again. Failures (a read-only directory)
 * are ignored: no record.
 */
export function recordNoop(
  baseDir: string,
  file: string,
  key: string,
  jobs: NoopJob[],
  slots: number,
  jobserver: NoopRecord["jobserver"],
  from: RecordFrom,
): boolean {
  const path = noopRecordPath(baseDir, file);
  const drop = () => (dropNoop(baseDir, file), false);
  const state = `${baseDir}/.jx/state.ndjson`;
  const base = baseDir.endsWith("/") ? baseDir : baseDir + "/";
  const stateStamp = stampOf(state);
  if (!stateStamp || !jobs.every(coverable) || from.dotenv?.outside) return drop();
  if (from.previous?.part) {
    // A graph with a `foreach` glob is never cached, so never loaded in part.
    if (from.foreachGlobs?.size) return drop();
    // A partial run: the record it started from, its changed paths stamped again.
    // Cast: the previous record is the one `diffNoop` read, this module's own type.
    const r = from.previous.diff.record as NoopRecord;
    if (!patchPart(jobs, from, base)) return drop();
    r.stamps.set([...from.jobsFile, ...stateStamp]);
    r.racy = [...jobsFileRacy(from), ...racyPaths(r.racy)];
    // Stamps and racy paths are outside the head (`encodeRecord`): it is written again only
    // when a setting in it changed.
    const same = r.slots === slots && r.jobserver === jobserver && r.graphKey === from.graphKey;
    if (same) return write(baseDir, path, r, true);
    return write(baseDir, path, { ...r, slots, jobserver, graphKey: from.graphKey });
  }
  const stamps = collectStamps(jobs, from, base);
  if (!stamps) return drop();
  const r: NoopRecord = {
    key,
    names: jobs.map((j) => j.name),
    slots,
    jobserver,
    file,
    state,
    base,
    paths: [file, state, ...stamps.paths],
    stamps: new Float64Array([...from.jobsFile, ...stateStamp, ...stamps.stamps]),
    racy: [...jobsFileRacy(from), ...stamps.racy.map((x, k) => k % 2 ? x : (x as number) + 2)],
    dirs: stamps.dirs,
    dstamps: stamps.dstamps,
    listings: stamps.listings,
    walks: [...stamps.walks],
    graphKey: from.graphKey,
    envNames: from.dotenv?.names ?? [],
    envSet: setNow(from.dotenv?.names ?? []),
  };
  return write(baseDir, path, r);
}

/** The jobs file's racy entry (path index 0, its hash) when the run's stamp of it was racy. */
const jobsFileRacy = (from: RecordFrom) => from.jobsFileHash ? [0, from.jobsFileHash] : [];

/** The racy entries (index, hash) of the jobs' paths, without the jobs file's. */
function racyPaths(racy: (number | string)[]): (number | string)[] {
  const out: (number | string)[] = [];
  for (let k = 0; k + 1 < racy.length; k += 2) {
    if ((racy[k] as number) > 1) out.push(racy[k], racy[k + 1]);
  }
  return out;
}

/**
 * After a diff that found nothing changed, drops from its record the racy
 * paths it checked by content and the racy directories it checked by their
 * listing that are racy no more (their mtime and ctime more than `RACY_MS`
 * before the diff started: an edit from now on moves the stamp), and writes
 * the record again when it dropped one: without it every no-op until the
 * next full run hashed them again (a big output the last job wrote, at every
 * no-op), or listed the folder (on Bun, loading `node:fs` to do it: a
 * millisecond of a compiled binary's no-op of jobs.yaml.example). Call it
 * holding the run lock.
 *
 * @example
 * ```ts
 * import { diffNoop, settleRacy } from "./noop.ts";
 * const d = diffNoop("/p", "/p/jobs.yaml", "key");
 * if (d && d.changed.size === 0) settleRacy("/p", "/p/jobs.yaml", d);
 * ```
 */
export function settleRacy(baseDir: string, file: string, diff: NoopDiff): boolean {
  const r = diff.record;
  if (diff.changed.size || !r.racy.length && !r.listings.length) return false;
  const settled = (stamps: ArrayLike<number>, s: number) =>
    diff.checkedAt - Math.max(stamps[s + 1], stamps[s + 3]) >
      RACY_MS + coarseTick(stamps[s + 1], stamps[s + 3]);
  const still: (number | string)[] = [], listed: (number | string)[] = [];
  for (let k = 0; k + 1 < r.racy.length; k += 2) {
    if (!settled(r.stamps, (r.racy[k] as number) * W)) still.push(r.racy[k], r.racy[k + 1]);
  }
  // A directory keeps its stamp (LISTED: mtime, inode and ctime compared), not its listing.
  for (let k = 0; k + 1 < r.listings.length; k += 2) {
    const s = (r.listings[k] as number) * W;
    if (!settled(r.dstamps, s)) listed.push(r.listings[k], r.listings[k + 1]);
  }
  if (still.length === r.racy.length && listed.length === r.listings.length) return false;
  // The listings are in the record's head: written anew when one goes.
  const sameHead = listed.length === r.listings.length;
  r.racy = still;
  r.listings = listed;
  return write(baseDir, noopRecordPath(baseDir, file), r, sameHead);
}

/** Writes record `r` to `path` (atomic: temp file, then rename); false when it cannot. */
function write(baseDir: string, path: string, r: NoopRecord, sameHead = false): boolean {
  const tmp = `${path}.${pid()}.tmp`;
  try {
    stateDir(baseDir, () => {});
    writeBytesSync(tmp, encodeRecord(r, sameHead));
    renameSync(tmp, path);
    return true;
  } catch {
    try {
      removeSync(tmp); // written, or half written, but not renamed
    } catch { /* not made */ }
    return false;
  }
}

/**
 * Removes the record of `file`, if any.
 *
 * @example
 * ```ts
 * import { dropNoop } from "./noop.ts";
 * dropNoop("/p", "/p/jobs.yaml");
 * ```
 */
export function dropNoop(baseDir: string, file: string): void {
  try {
    removeSync(noopRecordPath(baseDir, file));
  } catch { /* none */ }
}

/**
 * The key of a run: the record applies only to a run with the same jobs
 * file, selection, variables and settings that change what `run.start`
 * says, on the same runtime and version of jx.
 *
 * @example
 * ```ts
 * import { noopKey } from "./noop.ts";
 * noopKey(["0.1.0", "deno", "/p/jobs.yaml", [], {}, 2, "auto", "pipe"]);
 * ```
 */
export function noopKey(parts: unknown[]): string {
  return JSON.stringify([FORMAT, ...parts]);
}
