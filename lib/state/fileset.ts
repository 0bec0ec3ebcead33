/**
 * What a job's `reads` and `writes` name on disk right now: globs expanded,
 * directories walked, each file with its size, mtime and inode.
 *
 * @module
 */
import { join } from "../runtime/path.ts";
import { globHead, globToRegExp, isGlob, walkFiles } from "../graph/glob.ts";
import { ABSENT, coarseNow, DIR, FILE, racyStamps, rawNames, ST, statInto } from "./stat.ts";
import { listDir } from "../runtime/files.ts";
import { RAW_BYTE } from "../runtime/utf8.ts";
import { sha256 } from "../runtime/hash.ts";
import { readBytesSync } from "../runtime/fs.ts";

/**
 * size, mtime (ms), inode, then the content hash once known, then the ctime
 * (ms) when the stamp was taken (a stamp of an older jx's line has none).
 * The ctime is the kernel's: a write or a `utime` sets it to now, so an edit
 * that keeps the size and puts the mtime back still changes the stamp.
 */
export type FileStamp = [
  size: number,
  mtimeMs: number,
  ino: number,
  hash?: string,
  ctimeMs?: number,
];

/**
 * The inputs that changed while a job ran: each path of `was` (stamps taken
 * before it started) whose stamp in `now` (the same inputs expanded and
 * stamped again) differs, is new or is gone, and each path `now` has that
 * `was` had not (it started to match a read), unless `own` says the job
 * made it.
 *
 * @example
 * ```ts
 * import { changedSince, type FileStamp } from "./fileset.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const a: FileStamp = [1, 2, 3], b: FileStamp = [1, 5, 3];
 * const now = new Map<string, FileStamp | null>([["x", b], ["new", a], ["out", a]]);
 * assertEquals(changedSince([["x", a], ["gone", a]], now, (p) => p === "out"), ["x", "gone", "new"]);
 * ```
 */
export function changedSince(
  was: Iterable<[string, FileStamp | null]>,
  now: ReadonlyMap<string, FileStamp | null>,
  own: (path: string) => boolean,
): string[] {
  const out: string[] = [], known = new Set<string>();
  for (const [p, before] of was) {
    known.add(p);
    const after = now.get(p) ?? null;
    if (before === null || after === null ? before !== after : !sameStamp(before, after)) {
      out.push(p);
    }
  }
  for (const [p, after] of now) if (after !== null && !known.has(p) && !own(p)) out.push(p);
  return out;
}

/** Whether two stamps may be of the same content without hashing: size, mtime, inode and ctime. */
export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] &&
    (a[4] === undefined || b[4] === undefined || a[4] === b[4]);
}

/** What one stat says. */
interface Stat {
  file: boolean;
  dir: boolean;
  size: number;
  mtimeMs: number;
  ino: number;
  ctimeMs: number;
  /** Its filesystem's coarse tick (stat.ts `coarseNow`), 0 for most. */
  tick: number;
}

/** One stat call (see stat.ts). */
function statPath(path: string): Stat | null {
  const k = statInto(path);
  if (k === ABSENT) return null;
  const { size, mtimeMs, ino, ctimeMs } = ST;
  return { file: k === FILE, dir: k === DIR, size, mtimeMs, ino, ctimeMs, tick: coarseNow() };
}

/**
 * The stamp of a directory named in `writes`: only its existence counts (the
 * files other jobs write into it are theirs).
 */
export const DIRECTORY: FileStamp = [-1, 0, 0, "directory"];

/** A file's stamp (null: none), noted as racy when its filesystem may still keep it after an edit. */
function toStamp(st: Stat | null): FileStamp | null {
  if (!st?.file) return null;
  const s: FileStamp = [st.size, st.mtimeMs, st.ino, undefined, st.ctimeMs];
  if (st.tick && Date.now() - Math.max(st.mtimeMs, st.ctimeMs) < st.tick) racyStamps.add(s);
  return s;
}

/**
 * The files that `patterns` name under `baseDir`, with their stamps, sorted
 * by path; `@names` are ignored. A plain path that does not exist is kept
 * (stamp null) so that its appearance counts as a change. One stat per path.
 * A directory is walked, or with `wholeDirs` (for `writes`) stands as itself.
 * `literal`: paths that name themselves whatever characters they hold (a
 * dotenv file, a depfile's input, a file a state line holds): stamped as a
 * plain path is, never read as a glob (`src/x[12].h` is that file, not
 * `src/x1.h`) nor as an `@name`.
 * `strict`: a file a walk lists whose name is not UTF-8 throws (`NotUtf8Name`):
 * the runtimes list it with U+FFFD for each byte that is not, a name that is
 * not there, so its stamp would be "absent" whatever its content; so does a folder the walk
 * meets whose name is not UTF-8 (its files could not be listed at all).
 * `rawNames`: a walk lists such a name by its bytes instead (`listRaw`), and stamps it so
 * (`jx clean` removes it, `jx watch --poll` sees it change).
 *
 * @example
 * ```ts
 * import { expandStamped } from "./fileset.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * for (const f of ["x1.h", "x[12].h"]) Deno.writeTextFileSync(`${dir}/${f}`, "");
 * assertEquals([...expandStamped(["x[12].h"], dir).keys()], ["x1.h"]);
 * assertEquals([...expandStamped([], dir, { literal: ["x[12].h"] }).keys()], ["x[12].h"]);
 * ```
 */
export function expandStamped(
  patterns: readonly string[],
  baseDir: string,
  opts: { wholeDirs?: boolean; literal?: readonly string[]; strict?: boolean; rawNames?: boolean } =
    {},
): Map<string, FileStamp | null> {
  const out = new Map<string, FileStamp | null>();
  // `strict`: a folder whose name is not UTF-8 cannot be listed by the name the runtime gives
  // (U+FFFD): the files in it would be left out of the reads unseen (a job up to date though
  // one of them changed). Its path, to throw once the walk is over (a listing's error is taken
  // by the walk as a folder that cannot be read).
  let unlisted: string | undefined;
  const strictList = (path: string) => {
    const entries = listDir(path);
    const bad = entries.find((e) => e.kind === "dir" && e.name.includes("\uFFFD"));
    if (bad) unlisted ??= join(path, bad.name);
    return entries;
  };
  const walk = (root: string, files: string[]) => {
    const list = opts.rawNames ? listRaw : opts.strict ? strictList : listDir;
    walkFiles(baseDir, root, files, undefined, list);
    if (unlisted !== undefined) throw new NotUtf8Name(unlisted);
  };
  const walked = (f: string) => {
    const st = stamp(baseDir, f);
    if (st === null && opts.strict && f.includes("\uFFFD")) throw new NotUtf8Name(join(baseDir, f));
    out.set(f, st);
  };
  const plain = (p: string) => {
    const st = statPath(join(baseDir, p));
    if (st?.dir && opts.wholeDirs) out.set(p, DIRECTORY);
    else if (st?.dir) {
      const files: string[] = [];
      walk(p, files);
      for (const f of files) walked(f);
    } else out.set(p, toStamp(st));
  };
  for (const p of patterns) {
    if (p[0] === "@") continue;
    if (!isGlob(p)) {
      plain(p);
      continue;
    }
    // Walk from the glob's literal directory head.
    const root = globHead(p) || ".";
    const re = globToRegExp(p);
    const files: string[] = [];
    walk(root, files);
    for (const f of files) if (re.test(f) && !out.has(f)) walked(f);
  }
  for (const p of opts.literal ?? []) plain(p);
  if (out.size < 2) return out;
  return new Map([...out].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * The entries of folder `path` as `listDir` gives them, but that a name that is not UTF-8 (the
 * runtime's listing shows U+FFFD) is given by its bytes (`rawNames`), as is a folder whose path
 * holds such a byte; `listDir`'s when FFI cannot be had. Throws when the folder cannot be read.
 *
 * @example
 * ```ts
 * import { listRaw } from "./fileset.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * new Deno.Command("sh", { args: ["-c", `: > "$(printf '${dir}/x\\377')"`] }).outputSync();
 * assertEquals(listRaw(dir), [{ name: "x\u{10ffff}", kind: "file" }]);
 * ```
 */
export function listRaw(path: string): { name: string; kind: string }[] {
  if (RAW_BYTE.test(path)) {
    const raw = rawNames(path);
    if (!raw) throw new Error(`cannot list ${path}`);
    return raw.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }
  const entries = listDir(path);
  if (!entries.some((e) => e.name.includes("\uFFFD"))) return entries;
  const raw = rawNames(path);
  return raw ? raw.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : entries;
}

/**
 * A file a walk listed whose name is not UTF-8: jx takes names as text, so
 * it cannot stat it, nor see it change (`path`: the name as listed).
 */
export class NotUtf8Name extends Error {
  constructor(readonly path: string) {
    super("its name is not UTF-8, so jx cannot see it change (rename it)");
  }
}

/** The files that `patterns` name under `baseDir`, sorted (see `expandStamped`). */
export function expand(patterns: string[], baseDir: string, rawNames = false): string[] {
  return [...expandStamped(patterns, baseDir, { rawNames }).keys()];
}

/** The stamp of a file, or null when it does not exist. */
export function stamp(baseDir: string, path: string): FileStamp | null {
  return toStamp(statPath(join(baseDir, path)));
}

/** SHA-256 of a file's content, hex. What it throws names the file (`path`, absolute). */
export function hashFile(baseDir: string, path: string): string {
  const abs = join(baseDir, path);
  let bytes;
  try {
    bytes = readBytesSync(abs);
  } catch (e) {
    if (e instanceof Error && !("path" in e)) Object.assign(e, { path: abs }); // a read's failure
    throw e;
  }
  return sha256().update(bytes).hex().slice(0, 32);
}

/** Content hashes told by `noteHash`, by absolute path, with the stamp they hold for. */
const noted = new Map<string, FileStamp>();

/**
 * Tells the state the content hash (SHA-256 hex) of a file just written or
 * hashed by someone else (the output cache knows every file it restores or
 * stores), so that recording it does not read it again. Kept while the file
 * keeps the stamp it has now, and `before` (its stamp when it was hashed),
 * when given, still matches.
 */
export function noteHash(baseDir: string, path: string, hash: string, before?: FileStamp): void {
  const now = stamp(baseDir, path);
  if (!now || (before && !sameStamp(before, now))) return;
  if (noted.size >= 100_000) noted.clear(); // never used (no state): stays bounded
  noted.set(join(baseDir, path), [now[0], now[1], now[2], hash.slice(0, 32), now[4]]);
}

/** The content hash of a file with stamp `now`: as noted, else read. */
function hashOf(baseDir: string, path: string, now: FileStamp): string {
  const abs = join(baseDir, path), n = noted.get(abs);
  if (n) noted.delete(abs);
  if (n && sameStamp(n, now)) return n[3]!;
  return hashFile(baseDir, path);
}

/**
 * Whether the file matches an earlier stamp: size+mtime+inode (and ctime,
 * when both have one) as the fast path, the content hash to confirm when they differ (a touch is no change).
 * Fills in `now`'s hash when it had to compute it; a hash `now` already
 * holds is compared even when the stamps are equal.
 */
export function sameContent(
  baseDir: string,
  path: string,
  old: FileStamp,
  now: FileStamp,
): boolean {
  // A hash already taken (a suspect file, see check.ts) decides over equal stamps.
  if (sameStamp(old, now) && old[3] && !now[3]) {
    now[3] = old[3];
    return true;
  }
  if (old[0] !== now[0]) {
    now[3] ??= hashOf(baseDir, path, now);
    return false;
  }
  now[3] ??= hashOf(baseDir, path, now);
  return now[3] === old[3];
}
