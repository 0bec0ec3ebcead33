/**
 * A job's outputs as cache items: every file and directory under its
 * `writes` (content digest, mode bits) and symlinks that stay inside the
 * project; and their restore, which writes only inside the job's `writes`.
 *
 * @module
 */
import {
  accessSync,
  chmodSync,
  constants as fsConstants,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { globHead, globToRegExp, isGlob } from "../graph/mod.ts";
import { expand } from "../state/mod.ts";
import { pid } from "../runtime/fs.ts";
import { host, isStale } from "../runtime/stale.ts";
import { hashPath } from "./blobfile.ts";

/** One output of a job, by its path relative to the jobs file's directory. */
export type Output =
  | { kind: "file"; path: string; mode: number; digest: string; size: number }
  | { kind: "dir"; path: string; mode: number }
  | { kind: "symlink"; path: string; target: string };

/** What `collectOutputs` found: the items, parents before children. */
export interface Collected {
  /** Items, parents before children. */
  outputs: Output[];
  /** What a restore's checks of them would walk: past the bound, nothing more is taken. */
  walk?: Walk;
}

/**
 * Takes one output file's bytes (into a store, or only hashes them) and
 * gives the digest and size of what it took.
 */
export type TakeFile = (abs: string) => { digest: string; size: number };

/** A job's outputs cannot be stored or restored (the reason is the message). */
export class CacheRefusal extends Error {}

/** SHA-256 hex of bytes. */
export const digestOf = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** Whether `abs` is `root` or under it. */
export const inside = (root: string, abs: string): boolean =>
  abs === root || abs.startsWith(root.endsWith(sep) ? root : root + sep);

const NO_LINKS: ReadonlyMap<string, string> = new Map(), NO_PATHS: ReadonlySet<string> = new Set();

/** A job as `WriteOwners` sees it. */
interface Writer {
  name: string;
  writes: readonly string[];
}

/**
 * Who declares what in `writes`, so that a job writing a folder does not
 * take the files other jobs write into it as its own outputs (the
 * up-to-date state treats them as theirs, `fileset.ts` `DIRECTORY`): stored
 * with it, they would come back stale over the other job's fresh ones.
 *
 * @example
 * ```ts
 * import { WriteOwners } from "./archive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const gen = { name: "gen", writes: ["out"] }, b = { name: "b", writes: ["out/b.txt"] };
 * const owners = new WriteOwners([gen, b, { name: "o", writes: ["out/*.o"] }]);
 * assertEquals(owners.othersOwn(gen, "out/b.txt"), true);
 * assertEquals(owners.othersOwn(gen, "out/x.o"), true);
 * assertEquals(owners.othersOwn(gen, "out/a.txt"), false);
 * assertEquals(owners.othersOwn(b, "out/b.txt"), false);
 * ```
 */
export class WriteOwners {
  /** Plain paths declared, with the jobs that declare each. */
  private plain = new Map<string, string[]>();
  /**
   * Globs declared, each with its job, by the folder before their first glob character (`""`:
   * none): a glob matches only paths at or below that folder, so a path meets only the globs
   * filed at its own folders (a job restoring 10,000 files beside 2,000 jobs writing globs
   * tested each file against every glob).
   */
  private globs = new Map<string, Owned[]>();

  constructor(jobs: readonly Writer[]) {
    for (const j of jobs) {
      for (const w of j.writes) {
        if (w[0] === "@") continue;
        if (isGlob(w)) {
          const owned = { glob: w, re: globToRegExp(w), job: j.name };
          const head = globHead(w) === "." ? "" : globHead(w); // (`./*`: every path)
          const list = this.globs.get(head);
          if (list) list.push(owned);
          else this.globs.set(head, [owned]);
        } else {
          const names = this.plain.get(w);
          if (names) names.push(j.name);
          else this.plain.set(w, [j.name]);
        }
      }
    }
  }

  /**
   * Whether `rel`, found under one of `job`'s `writes`, belongs to another
   * job: another declares it (or a folder above it) more narrowly than
   * `job` does, or matches it with a glob `job` does not declare too.
   */
  othersOwn(job: Writer, rel: string): boolean {
    let own = -1; // the length of job's own nearest plain path covering rel
    for (const w of job.writes) {
      if ((rel === w || rel.startsWith(w + "/")) && w.length > own) own = w.length;
    }
    for (let p = rel; p.length > own; p = p.slice(0, Math.max(p.lastIndexOf("/"), 0))) {
      if (this.plain.get(p)?.some((n) => n !== job.name)) return true;
      if (!p.includes("/")) break;
    }
    const other = (g: Owned) =>
      g.job !== job.name && !job.writes.includes(g.glob) && g.re.test(rel);
    if (this.globs.get("")?.some(other)) return true;
    for (let p = rel;;) {
      if (this.globs.get(p)?.some(other)) return true;
      const up = p.lastIndexOf("/");
      if (up < 0) return false;
      p = p.slice(0, up);
    }
  }
}

/** A glob declared in `writes`, and the job that declares it. */
interface Owned {
  glob: string;
  re: ReturnType<typeof globToRegExp>;
  job: string;
}

/** What `stageOutputs` names its temporary files: `.jx-restore-HOST-PID-HEX`. */
const STAGED_PREFIX = ".jx-restore-";
const STAGED = /^\.jx-restore-(.+)-(\d+)-[0-9a-f]{12}$/;

/** A new temporary name for a file staged by this process. */
const stagedName = () => `${STAGED_PREFIX}${host()}-${pid()}-${randomBytes(6).toString("hex")}`;

/**
 * Removes what restores killed midway (`kill -9`) left in `dir`: staged
 * files of this host's jx processes that are gone. Errors are ignored.
 */
function sweepStaged(dir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = STAGED.exec(name);
    if (!m || m[1] !== host() || Number(m[2]) === pid()) continue;
    try {
      if (isStale(join(dir, name), Number(m[2]))) rmSync(join(dir, name), { force: true });
    } catch { /* another user's, or gone */ }
  }
}

/** The target of the link `abs`, with U+FFFD where it is not UTF-8 (Deno throws, Bun does this). */
function linkTarget(abs: string): string {
  try {
    return readlinkSync(abs);
  } catch (e) {
    if (/not valid UTF-8/.test((e as Error)?.message ?? "")) return "\uFFFD";
    throw e;
  }
}

/** Adds `rel` (and, for a directory, everything under it) to `c`, but what `skip` says is not its own. */
function collectPath(
  baseDir: string,
  rel: string,
  c: Collected,
  seen: Set<string>,
  take: TakeFile,
  skip?: (rel: string) => boolean,
): void {
  if (seen.has(rel) || skip?.(rel)) return;
  seen.add(rel);
  // What a restore would refuse is not stored (it would be, and refused, at every run), and
  // nothing more of it is taken into the store once it is known.
  const tooBig = (c.walk ??= new Walk()).add(rel);
  if (tooBig) throw new CacheRefusal(tooBig);
  const abs = join(baseDir, rel);
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    // A name listed (in a folder, by a glob) that is not UTF-8 reads back with U+FFFD, a name
    // that is not there: left out, the entry lacked that file, and a restore put the folder in
    // place without it.
    if (rel.includes("\uFFFD")) {
      throw new CacheRefusal(`${rel}: its name is not UTF-8, so jx cannot store it`);
    }
    return; // a declared output the job did not write: nothing to store
  }
  if (st.isSymbolicLink()) {
    const target = linkTarget(abs);
    // Bun reads a target that is not UTF-8 with U+FFFD (Deno throws): stored so, the restored link
    // led to another name.
    if (target.includes("\uFFFD")) {
      throw new CacheRefusal(`${rel}: a symlink whose target is not UTF-8, so jx cannot store it`);
    }
    const steps = [...rel.split("/").slice(0, -1), ...target.split("/")];
    if (climbsAfterName(target)) {
      throw new CacheRefusal(`${rel}: symlink to ${target} climbs (..) out of a folder it names`);
    }
    if (isAbsolute(target) || !staysInside(realpathSync(baseDir), steps, NO_LINKS, NO_PATHS)) {
      throw new CacheRefusal(`${rel}: symlink to ${target} leads out of the project`);
    }
    const far = c.walk.add(target);
    if (far) throw new CacheRefusal(far);
    c.outputs.push({ kind: "symlink", path: rel, target });
  } else if (st.isDirectory()) {
    c.outputs.push({ kind: "dir", path: rel, mode: st.mode & 0o777 });
    let swept = false;
    for (const name of readdirSync(abs).sort()) {
      // A restore's temporary file (its own, now, or one a killed restore left) is no output;
      // a dead one's is removed (`kill -9` during a restore left hundreds).
      if (name.startsWith(STAGED_PREFIX)) {
        if (!swept) swept = true, sweepStaged(abs);
        continue;
      }
      collectPath(baseDir, `${rel}/${name}`, c, seen, take, skip);
    }
  } else if (st.isFile()) {
    const { digest, size } = take(abs);
    c.outputs.push({ kind: "file", path: rel, mode: st.mode & 0o777, digest, size });
  } else throw new CacheRefusal(`${rel}: not a file, directory or symlink`);
}

/**
 * Everything under `writes` now (`@names` skipped; globs expanded over the
 * disk), each file's bytes given to `take` (by default only hashed); what
 * `skip` says is another job's (`WriteOwners`) left out.
 */
export function collectOutputs(
  writes: string[],
  baseDir: string,
  take: TakeFile = hashPath,
  skip?: (rel: string) => boolean,
): Collected {
  const c: Collected = { outputs: [] };
  const seen = new Set<string>();
  for (const w of writes) {
    if (w[0] === "@") continue;
    const paths = isGlob(w) ? expand([w], baseDir) : [w];
    for (const p of paths) collectPath(baseDir, p, c, seen, take, skip);
  }
  // What a restore would refuse is not stored (it would be, and refused, at every run).
  const why = refuseShape(c.outputs, writes);
  if (why) throw new CacheRefusal(why);
  return c;
}

/** Why a stored path may not be written for a job with these `writes`, or null when it may. */
export function refusePath(path: string, writes: string[]): string | null {
  if (typeof path !== "string" || !path || path.includes("\0")) return "an empty or invalid path";
  if (isAbsolute(path)) return `${path}: an absolute path`;
  if (path.split("/").some((s) => s === ".." || s === "." || s === "")) {
    return `${path}: not a plain relative path`;
  }
  const covered = writes.some((w) =>
    w[0] !== "@" &&
    (path === w || path.startsWith(w + "/") || (isGlob(w) && globToRegExp(w).test(path)))
  );
  return covered ? null : `${path}: outside the job's writes`;
}

/** The longest path (bytes) an entry may hold, a link's target too: the kernel's PATH_MAX less one. */
export const MAX_PATH = 4095;

/**
 * The most a restore's checks may walk: the sum over an entry's paths (and
 * its links' targets) of their length times their depth, as each folder on
 * a path's way is looked at. An entry of 300,000 files ten folders deep, of
 * 90 bytes each (a big `node_modules`), walks 270 million, checked in about
 * a second; one of a few paths thousands of folders deep (a lying store's)
 * would take minutes and gigabytes. An entry past it is neither stored nor
 * restored.
 */
export const MAX_WALK = 2 ** 30;

/**
 * Why an entry's paths are too long, or too deep all told, to be checked
 * (`MAX_PATH`, `MAX_WALK`), or null; before anything else looks at them.
 */
function refuseSize(outputs: Output[]): string | null {
  const walk = new Walk();
  for (const o of outputs) {
    const why = walk.add(o.path) ?? (o.kind === "symlink" ? walk.add(o.target) : null);
    if (why) return why;
  }
  return null;
}

/** What checking an entry's paths walks so far (`MAX_PATH`, `MAX_WALK`). */
class Walk {
  private walk = 0;

  /** Adds a path (or a link's target); why the entry is too big to check from then on, or null. */
  add(text: string): string | null {
    if (typeof text !== "string") return null; // (the entry's shape is checked apart)
    // Bytes: a character takes up to 3 bytes in UTF-8 (4 for a pair of 2).
    if (text.length > MAX_PATH / 3 && new TextEncoder().encode(text).length > MAX_PATH) {
      return `${text.slice(0, 60)}...: a path longer than ${MAX_PATH} bytes`;
    }
    let depth = 1;
    for (let i = text.indexOf("/"); i >= 0; i = text.indexOf("/", i + 1)) depth++;
    this.walk += text.length * depth;
    return this.walk > MAX_WALK
      ? `paths too deep to check (${this.walk} > ${MAX_WALK} bytes to walk)`
      : null;
  }
}

/** The nearest existing ancestor of `abs` (itself included) resolved through symlinks. */
function realAncestor(abs: string): string {
  for (let p = abs;; p = dirname(p)) {
    try {
      return realpathSync(p);
    } catch {
      if (dirname(p) === p) return p;
    }
  }
}

/**
 * Whether a link's target has a `..` after a name (`outB/x/..`): where that
 * leads depends on what the name is when the link is followed, not when it
 * is checked (a link another job makes there later can lead it out of the
 * project). A stored link's target climbs only at its start (`../lib/x`).
 *
 * @example
 * ```ts
 * import { climbsAfterName } from "./archive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(climbsAfterName("../outB/x/.."), true);
 * assertEquals(climbsAfterName("../../lib/./x"), false);
 * ```
 */
export function climbsAfterName(target: string): boolean {
  let named = false;
  for (const part of target.split("/")) {
    if (part === "..") {
      if (named) return true;
    } else if (part !== "" && part !== ".") named = true;
  }
  return false;
}

/** How many links one path may go through before it is taken as a loop (as the kernel's ELOOP). */
const MAX_LINKS = 40;

/** What `path` (absolute) holds as a link on disk now, or undefined when it is not a link. */
function diskLink(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `steps` (path parts, relative to the project's real directory
 * `root`) stay inside the project once every link on the way is followed:
 * `links` (a restore's own links, by path, as they will be) first, else the
 * link on disk at that path unless `replaced` holds it (the restore puts
 * something else there). A `..` above the project, an absolute target
 * outside it, or more than `MAX_LINKS` links: false.
 *
 * @example
 * ```ts
 * import { staysInside } from "./archive.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const root = Deno.makeTempDirSync();
 * const links = new Map([["out/up", ".."]]);
 * assertEquals(staysInside(root, "out/esc/../x".split("/"), new Map(), new Set()), true);
 * assertEquals(staysInside(root, "out/up/..".split("/"), links, new Set()), false);
 * ```
 */
export function staysInside(
  root: string,
  steps: string[],
  links: ReadonlyMap<string, string>,
  replaced: ReadonlySet<string>,
): boolean {
  const at: string[] = [];
  const todo = [...steps].reverse();
  let hops = 0;
  while (todo.length) {
    const part = todo.pop()!;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (!at.length) return false;
      at.pop();
      continue;
    }
    at.push(part);
    const rel = at.join("/");
    const target = links.get(rel) ?? (replaced.has(rel) ? undefined : diskLink(join(root, rel)));
    if (target === undefined) continue;
    if (++hops > MAX_LINKS) return false;
    at.pop();
    let next = target;
    if (isAbsolute(target)) {
      const abs = resolve(target);
      if (!inside(root, abs)) return false;
      at.length = 0;
      next = relative(root, abs);
    }
    for (const t of next.split("/").reverse()) todo.push(t);
  }
  return true;
}

/**
 * Why `outputs` may not be restored into `baseDir` for these `writes`, or
 * null. Checked before anything is written: each path (plain, relative,
 * inside `writes`, once), no path below one of the entry's own links (a
 * restore never writes through a link), every folder on the way as it is
 * on disk (no symlink but where the entry puts a directory, `DiskWay`), no
 * directory holding anything where the entry puts a file or a link, and
 * where each link leads once every link on its way is followed, the
 * entry's own as they will be (inside the project).
 */
export function refuseOutputs(outputs: Output[], writes: string[], baseDir: string): string | null {
  const own = refuseShape(outputs, writes);
  if (own) return own;
  const root = realpathSync(baseDir);
  const links = new Map<string, string>(), paths = new Set<string>();
  for (const o of outputs) {
    if (o.kind === "symlink") links.set(o.path, o.target);
    paths.add(o.path);
  }
  // Where each folder found on an output's way leads (realpath), once for the entry's paths.
  const onDisk = new DiskWay(baseDir), real = new Map<string, string>();
  for (const o of outputs) {
    const way = onDisk.walk(o);
    const at = way.deepest ? join(baseDir, way.deepest) : baseDir;
    let where = real.get(at);
    if (where === undefined) real.set(at, where = realAncestor(at));
    if (!inside(root, where)) return `${o.path}: its directory leads out of the project`;
    const disk = onDisk.refuse(o, way);
    if (disk) return disk;
  }
  for (const [path, target] of links) {
    const steps = [...path.split("/").slice(0, -1), ...target.split("/")];
    if (!staysInside(root, steps, links, paths)) {
      return `${path}: symlink to ${target} leads out of the project`;
    }
  }
  return null;
}

/**
 * Why an entry is not one a run of the job could have left, whatever the disk holds, or null:
 * its size (`refuseSize`), each path (plain, relative, inside `writes`, once), no path below one
 * of its files or links (a restore never writes through a link; `out` a file and `out/x` too
 * made `out` a file the job then could not make a folder), and each link's target relative and
 * never climbing after a name (where it leads on disk: `refuseOutputs`). Such an entry is a lie
 * under its key: never offered again.
 */
export function refuseShape(outputs: Output[], writes: string[]): string | null {
  const tooBig = refuseSize(outputs);
  if (tooBig) return tooBig;
  // Its files and links first: a path below one is refused wherever it comes in the list (a
  // Bazel entry lists its files before its links).
  const leaves = new Map<string, Output["kind"]>(), paths = new Set<string>();
  for (const o of outputs) if (o.kind !== "dir") leaves.set(o.path, o.kind);
  for (const o of outputs) {
    const why = refusePath(o.path, writes);
    if (why) return why;
    if (paths.has(o.path)) return `${o.path}: stored twice`;
    paths.add(o.path);
    for (let i = o.path.indexOf("/"); i > 0; i = o.path.indexOf("/", i + 1)) {
      const kind = leaves.get(o.path.slice(0, i));
      if (kind === "symlink") return `${o.path}: below a symlink`;
      if (kind) return `${o.path}: below a file (${o.path.slice(0, i)}) of the entry`;
    }
  }
  for (const o of outputs) {
    if (o.kind !== "symlink") continue;
    const { path, target } = o;
    if (climbsAfterName(target)) {
      return `${path}: symlink to ${target} climbs (..) out of a folder it names`;
    }
    if (isAbsolute(target)) return `${path}: symlink to ${target} leads out of the project`;
  }
  return null;
}

/**
 * What a restore finds on disk on its way, path by path: a symlink on the
 * way to an output (but one that a directory of the entry, met before,
 * replaces) and a directory that holds something where the entry holds a
 * file or a link are refused. The user may have put either there; writing
 * through the one, or removing the other, could lose their work.
 */
class DiskWay {
  /** Directories of the entry met so far: a link there is removed and the directory made. */
  private dirs = new Set<string>();
  /** What each folder on the way checked so far is on disk (`diskKind`). */
  private kinds = new Map<string, DiskKind>();

  constructor(private baseDir: string) {}

  /**
   * The folders on `o`'s way as the disk has them, from the top: the
   * deepest that is there ("" for none), the first that is a link (but one
   * a directory of the entry met before replaces), and whether one is not
   * there (then nothing below it is, `o` neither). Each folder looked at
   * once for all the entry's paths, and no further than the first missing.
   */
  walk(o: Output): Way {
    const way: Way = { deepest: "", absent: false };
    for (let i = o.path.indexOf("/"); i > 0; i = o.path.indexOf("/", i + 1)) {
      const up = o.path.slice(0, i); // (a slice: no copy of each folder's path kept)
      let kind = this.kinds.get(up);
      if (kind === undefined) this.kinds.set(up, kind = diskKind(join(this.baseDir, up)));
      if (kind === "absent") {
        way.absent = true;
        break;
      }
      way.deepest = up;
      if (kind === "link" && way.linkAt === undefined && !this.dirs.has(up)) way.linkAt = up;
    }
    return way;
  }

  /** Why `o` may not be written as the disk is (its `walk` was `way`), or null. */
  refuse(o: Output, way: Way): string | null {
    if (way.linkAt !== undefined) {
      return `${o.path}: ${way.linkAt} is a symlink on disk (a restore never writes through one)`;
    }
    if (o.kind === "dir") this.dirs.add(o.path);
    else if (!way.absent && fullDir(join(this.baseDir, o.path))) {
      return `${o.path}: a directory on disk that is not empty, where the entry holds a ${o.kind}`;
    }
    return null;
  }
}

/** What `DiskWay.walk` found on an output's way. */
interface Way {
  deepest: string;
  linkAt?: string;
  absent: boolean;
}

/** What a path is on disk: a link, not there (nor can anything be below it), or something else. */
type DiskKind = "link" | "absent" | "other";

function diskKind(path: string): DiskKind {
  try {
    const st = lstatSync(path, { throwIfNoEntry: false });
    return st === undefined ? "absent" : st.isSymbolicLink() ? "link" : "other";
  } catch {
    return "absent"; // a file on the way (ENOTDIR): nothing below it either
  }
}

/** Whether `abs` is a directory (not a link to one) that holds anything. */
function fullDir(abs: string): boolean {
  try {
    return lstatSync(abs).isDirectory() && readdirSync(abs).length > 0;
  } catch {
    return false;
  }
}

/**
 * The nearest ancestor of `abs` (itself included) that is a directory now,
 * not a link to one (the restore may replace a link on the way by the
 * directory it stores: a file staged through it would be left behind).
 */
function nearestDir(abs: string): string {
  for (let p = abs;; p = dirname(p)) {
    try {
      if (lstatSync(p).isDirectory() || dirname(p) === p) return p;
    } catch { /* not there yet */ }
  }
}

/**
 * Temporary files holding checked file outputs, by output path; `discard`
 * removes them (and gives back their modes to the folders opened for them).
 */
export class Staged {
  /** Temporary path by output path. */
  readonly tmp = new Map<string, string>();
  /**
   * The folders already on disk without write permission (an earlier run's
   * read-only output, or the job's own `chmod 555` of a folder above what
   * it writes), made writable to stage, put and remove files in, with their
   * mode then: `writeOutputs` gives the entry's folders the entry's mode,
   * `discard` the others theirs.
   */
  readonly opened = new Map<string, number>();

  /** Folders `open` has looked at (a folder of thousands of outputs: once). */
  private seen = new Set<string>();

  /** The base folder, absolute: a folder is compared with it as an absolute path. */
  private baseDir: string;

  /** For a restore into `baseDir`: only folders there (it included) are ever opened. */
  constructor(baseDir: string) {
    this.baseDir = resolve(baseDir);
  }

  /**
   * Makes the folder `dir` (in the project, not a link) writable and
   * searchable by its owner, its mode noted in `opened`, when this process
   * may not change what it holds and its owner could (as the job does,
   * `chmod u+w`, to write there); else leaves it as it is (what the restore
   * does there then fails, and is undone).
   */
  open(dir: string): void {
    if (this.seen.has(dir) || this.opened.has(dir) || !inside(this.baseDir, resolve(dir))) return;
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st?.isDirectory()) return;
    this.seen.add(dir);
    if ((st.mode & 0o300) === 0o300) return;
    try {
      return accessSync(dir, fsConstants.W_OK | fsConstants.X_OK); // (root: any folder)
    } catch { /* opened below */ }
    this.opened.set(dir, st.mode & 0o7777);
    chmodSync(dir, (st.mode & 0o7777) | 0o300);
  }

  /**
   * Removes every temporary file still there; a folder opened and not the
   * entry's gets its mode back (the deepest first: a folder above it may
   * lose its search permission).
   */
  discard(): void {
    for (const t of this.tmp.values()) rmSync(t, { force: true });
    this.tmp.clear();
    const opened = [...this.opened].sort((a, b) => b[0].length - a[0].length);
    for (const [abs, mode] of opened) {
      try {
        chmodSync(abs, mode);
      } catch { /* gone */ }
    }
    this.opened.clear();
  }
}

/**
 * Makes each folder the restore writes into that is on disk already, a
 * folder (not a link), and not writable and searchable by its owner (an
 * earlier run left it read-only: `chmod a-w`, a tool that protects its
 * outputs) so, noting its mode in `staged`: the entry's own folders (their
 * mode is the entry's once put in place) and, with `writes`, the folders on
 * the way to its outputs at or below a folder the job declares (a Bazel
 * entry holds no folders: they get their mode back). No other restore (a
 * fresh checkout's) finds them so.
 */
function openDirs(
  outputs: Output[],
  baseDir: string,
  staged: Staged,
  writes: readonly string[] = [],
): void {
  const dirs = new Set<string>();
  const declared = (rel: string) =>
    writes.some((w) => w[0] !== "@" && !isGlob(w) && (rel === w || rel.startsWith(w + "/")));
  for (const o of outputs) {
    if (o.kind === "dir") dirs.add(o.path);
    for (let up = o.path.lastIndexOf("/"); up > 0; up = o.path.lastIndexOf("/", up - 1)) {
      const dir = o.path.slice(0, up);
      if (declared(dir)) dirs.add(dir);
    }
  }
  for (const rel of dirs) {
    const abs = join(baseDir, rel);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st?.isDirectory() || (st.mode & 0o300) === 0o300 || linkOnWay(baseDir, rel)) continue;
    staged.opened.set(abs, st.mode & 0o7777);
    chmodSync(abs, st.mode & 0o7777 | 0o300);
  }
}

/**
 * Puts every file output's bytes into a temporary file beside its
 * destination (in its directory, or the nearest one that exists yet: the
 * same filesystem, so the rename that follows is atomic), through
 * `copy(digest, tmp)`, which must leave `tmp` holding exactly the blob or
 * throw. `pause`, when given, is awaited before each file and once after
 * the last (a long restore gives the event loop a turn there: a stop signal
 * is heard), and may throw to stop the restore. Nothing of the project
 * changes but the new temporary files and the modes of the read-only
 * folders it writes into (`openDirs`; `writes`: the job's), and when `copy`
 * or `pause` throws they are all removed (the modes given back) before it
 * rethrows.
 */
export async function stageOutputs(
  outputs: Output[],
  baseDir: string,
  copy: (digest: string, tmp: string) => void,
  pause?: () => Promise<void>,
  writes?: readonly string[],
): Promise<Staged> {
  const staged = new Staged(baseDir);
  const swept = new Set<string>();
  try {
    openDirs(outputs, baseDir, staged, writes);
    for (const o of outputs) {
      if (o.kind !== "file") continue;
      await pause?.();
      const dir = nearestDir(dirname(join(baseDir, o.path)));
      if (!swept.has(dir)) swept.add(dir), staged.open(dir), sweepStaged(dir);
      const tmp = join(dir, stagedName());
      staged.tmp.set(o.path, tmp);
      copy(o.digest, tmp);
      chmodSync(tmp, o.mode & 0o777);
    }
    await pause?.();
  } catch (e) {
    staged.discard();
    throw e;
  }
  return staged;
}

/** What else a restore removes: stale paths under `writes` that `othersOwn` does not claim. */
export interface Prune {
  /** The job's `writes`. */
  writes: readonly string[];
  /** Whether a path under them is another job's (`WriteOwners.othersOwn`). */
  othersOwn: (rel: string) => boolean;
}

/**
 * Writes `outputs` under `baseDir`: directories and symlinks made, files
 * renamed from what `stageOutputs` staged (never written through a
 * symlink); then, with `prune`, what else its `writes` hold removed (see
 * `pruneStale`). Call `refuseOutputs` first. All or nothing: what it
 * replaces or removes is set aside until everything is in place
 * (`Journal`), and on a failure (a stale file it may not remove, a folder
 * it may not change) all it did is undone, the temporary files left
 * removed, before it rethrows: the outputs are as they were.
 */
export function writeOutputs(
  outputs: Output[],
  baseDir: string,
  staged: Staged,
  prune?: Prune,
): void {
  const j = new Journal(staged);
  try {
    for (const o of outputs) writeOutput(o, baseDir, staged, j);
    if (prune) pruneStale(outputs, baseDir, prune, j);
    // Each directory's own mode last, deepest first: one without write permission is
    // written into before it gets it.
    const dirs: string[] = [];
    for (let i = outputs.length - 1; i >= 0; i--) {
      const o = outputs[i];
      if (o.kind !== "dir") continue;
      dirs.push(join(baseDir, o.path));
      j.chmod(join(baseDir, o.path), o.mode & 0o777);
    }
    j.commit();
    for (const d of dirs) staged.opened.delete(d); // the entry's mode, not the one it had
  } catch (e) {
    j.rollback();
    throw e;
  } finally {
    staged.discard();
  }
}

function writeOutput(o: Output, baseDir: string, staged: Staged, j: Journal): void {
  const abs = join(baseDir, o.path);
  j.mkdirs(dirname(abs));
  if (o.kind === "dir") {
    if (!realDir(abs)) j.putAside(abs), j.mkdirs(abs);
    j.chmod(abs, (o.mode & 0o777) | 0o700); // its own mode once all is written
  } else if (o.kind === "file") {
    const tmp = staged.tmp.get(o.path);
    if (!tmp) throw new Error(`${o.path}: not staged`);
    j.putAside(abs);
    j.put(abs, () => renameSync(tmp, abs));
    staged.tmp.delete(o.path);
  } else if (o.kind === "symlink") {
    j.putAside(abs);
    j.put(abs, () => symlinkSync(o.target, abs));
  } else {
    const _assertNever: never = o;
    throw new Error(`unknown output ${JSON.stringify(_assertNever)}`);
  }
}

/**
 * What a restore has changed in the project so far, so that a failure
 * midway undoes it (`rollback`): what it replaces or removes is renamed
 * aside in its own folder (a staged name: what `sweepStaged` takes, were
 * the restore killed) and removed once everything is in place (`commit`),
 * what it makes removed again, modes given back. Each step is undone in
 * the folder it was done in, which it could change then.
 */
class Journal {
  private undo: (() => void)[] = [];
  /** The set-aside paths (and whether each is a directory), removed by `commit`. */
  private aside: { path: string; dir: boolean }[] = [];
  /** Stale folders emptied, removed by `commit` (the deepest first) when nothing else is in them. */
  private emptied: string[] = [];
  /** Folders known to be there (not links). */
  private dirs = new Set<string>();

  constructor(readonly staged: Staged) {}

  /**
   * Moves what is at `abs` (a link: never followed) aside, if anything; a
   * directory only when empty (`refuseOutputs` refused an entry that would
   * replace a full one: this throws if one appeared since).
   */
  putAside(abs: string): void {
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory() && readdirSync(abs).length) {
      throw new Error(`${abs}: a directory that is not empty`);
    }
    const dir = dirname(abs), tmp = join(dir, stagedName());
    this.staged.open(dir);
    renameSync(abs, tmp);
    this.dirs.delete(abs);
    this.aside.push({ path: tmp, dir: st.isDirectory() });
    this.undo.push(() => renameSync(tmp, abs));
  }

  /** Makes the folder `abs` and those missing above it (`mkdir -p`). */
  mkdirs(abs: string): void {
    if (this.dirs.has(abs)) return;
    // Made, or found made (through a link, as mkdir -p): by a job running beside the restore
    // too (`mkdir -p out`), between any look here and the mkdir (a stat first raced with it).
    if (!statSync(abs, { throwIfNoEntry: false })?.isDirectory()) {
      this.staged.open(dirname(abs));
      try {
        mkdirSync(abs);
        this.undo.push(() => rmdirSync(abs));
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "ENOENT") return this.mkdirs(dirname(abs)), this.mkdirs(abs);
        // A file or a link to one there: EEXIST, as mkdir -p says.
        if (code !== "EEXIST" || !statSync(abs, { throwIfNoEntry: false })?.isDirectory()) throw e;
      }
    }
    this.dirs.add(abs);
  }

  /** Makes `abs` (nothing there now) by `make`. */
  put(abs: string, make: () => void): void {
    this.staged.open(dirname(abs));
    make();
    this.undo.push(() => unlinkSync(abs));
  }

  /** Gives the folder `abs` the mode `mode`. */
  chmod(abs: string, mode: number): void {
    const was = lstatSync(abs).mode & 0o7777;
    if (was === mode) return;
    chmodSync(abs, mode);
    this.undo.push(() => chmodSync(abs, was));
  }

  /** A stale folder whose stale paths are set aside: removed by `commit` unless it holds more. */
  emptiedDir(abs: string): void {
    this.emptied.push(abs);
  }

  /** Undoes every step, the last first (as far as it can: a step that fails is passed over). */
  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) {
      try {
        this.undo[i]();
      } catch { /* passed over */ }
    }
    this.undo = [], this.aside = [], this.emptied = [];
  }

  /**
   * Removes what was set aside, and the emptied stale folders (in a folder
   * that has its read-only mode by now, opened for that once, its mode then
   * given back); what fails stays (a staged name: the next restore's
   * `sweepStaged` takes it).
   */
  commit(): void {
    const opened = new Map<string, number>();
    for (const t of this.aside) {
      inOpen(opened, dirname(t.path), () => t.dir ? rmdirSync(t.path) : unlinkSync(t.path));
    }
    for (const d of this.emptied) {
      if (realDir(d) && readdirSync(d).length === 0) inOpen(opened, dirname(d), () => rmdirSync(d));
    }
    for (const [dir, mode] of [...opened].sort((a, b) => b[0].length - a[0].length)) {
      try {
        chmodSync(dir, mode);
      } catch { /* gone */ }
    }
    this.undo = [], this.aside = [], this.emptied = [];
  }
}

/**
 * Runs `f`; when it fails, opens the folder `dir` (its mode noted in
 * `opened`, unless it is there already: then `f` is not tried again) and
 * runs it again. What fails then is passed over.
 */
function inOpen(opened: Map<string, number>, dir: string, f: () => void): void {
  try {
    return f();
  } catch { /* opened below */ }
  if (opened.has(dir)) return;
  try {
    const mode = lstatSync(dir).mode & 0o7777;
    chmodSync(dir, mode | 0o300);
    opened.set(dir, mode);
    f();
  } catch { /* left */ }
}

/**
 * Makes the job's `writes` hold what the entry holds and nothing else of
 * the job's, as a run would have left them: under each folder it declares
 * (and the entry holds), and among a glob's matches, every path that is
 * neither in the entry nor another job's (`othersOwn`, as `collectOutputs`
 * skips them) is removed; links are removed, never followed. A file it
 * declares that the entry does not hold (the run left none) is removed too;
 * a folder it declares that the entry does not hold (the run made none) is
 * left alone. Nothing is removed through a link on disk on the way (a
 * glob's `out/*.txt` with `out` a link elsewhere).
 */
function pruneStale(outputs: Output[], baseDir: string, p: Prune, j: Journal): void {
  const keep = new Set<string>(); // the entry's paths and the folders above them
  for (const o of outputs) {
    for (let q = o.path; q && !keep.has(q); q = q.slice(0, Math.max(q.lastIndexOf("/"), 0))) {
      keep.add(q);
    }
  }
  for (const w of p.writes) {
    if (w[0] === "@" || refusePath(w, [w]) !== null) continue;
    if (!isGlob(w)) {
      if (keep.has(w)) {
        if (realDir(join(baseDir, w))) pruneDir(baseDir, w, keep, p.othersOwn, j);
      } else if (!p.othersOwn(w) && !linkOnWay(baseDir, w) && !realDir(join(baseDir, w))) {
        // A file (or link) it declares that its run did not leave: a stale one of another run.
        j.putAside(join(baseDir, w));
      }
      continue;
    }
    // A glob's head may be a link on disk (`out` -> elsewhere): what it leads to is not the job's.
    for (const f of expand([w], baseDir)) {
      if (keep.has(f) || p.othersOwn(f) || linkOnWay(baseDir, f)) continue;
      readableName(baseDir, f);
      j.putAside(join(baseDir, f));
    }
  }
}

/** Whether a folder on the way to `rel` (not `rel` itself) is a symlink on disk. */
function linkOnWay(baseDir: string, rel: string): boolean {
  const parts = rel.split("/");
  for (let i = 1; i < parts.length; i++) {
    if (diskLink(join(baseDir, ...parts.slice(0, i))) !== undefined) return true;
  }
  return false;
}

/** Sets aside what is under the folder `rel` but neither in `keep` nor another job's. */
function pruneDir(
  baseDir: string,
  rel: string,
  keep: ReadonlySet<string>,
  othersOwn: (rel: string) => boolean,
  j: Journal,
): void {
  for (const name of readdirSync(join(baseDir, rel))) {
    // Another restore's temporary file (a live one's; `sweepStaged` takes the dead ones').
    if (name.startsWith(STAGED_PREFIX)) continue;
    const child = `${rel}/${name}`, abs = join(baseDir, child);
    if (othersOwn(child)) continue;
    readableName(baseDir, child);
    if (realDir(abs)) {
      // A stale folder an earlier run left read-only (the entry's own are open already): opened
      // to be emptied, its mode given back if it stays (another job's files are in it).
      if (!keep.has(child)) j.staged.open(abs);
      pruneDir(baseDir, child, keep, othersOwn, j);
      if (!keep.has(child)) j.emptiedDir(abs);
    } else if (!keep.has(child)) j.putAside(abs);
  }
}

/**
 * Throws when the stale path `rel` was listed with U+FFFD for a name that
 * is not UTF-8 (no such name is there): jx cannot remove it, and a restore
 * that left it would not leave the folder holding exactly the entry's files
 * (the stale `out/z\xff` stayed beside the restored `out/a`).
 */
function readableName(baseDir: string, rel: string): void {
  if (!rel.includes("\uFFFD") || lstatSync(join(baseDir, rel), { throwIfNoEntry: false })) return;
  throw new Error(`${rel}: a stale file whose name is not UTF-8, which jx cannot remove`);
}

/** Whether `abs` is a directory, not a link to one. */
function realDir(abs: string): boolean {
  try {
    return lstatSync(abs).isDirectory();
  } catch {
    return false;
  }
}

/** `path` relative to `baseDir`, with `/` separators. */
export const relPath = (baseDir: string, abs: string): string =>
  relative(baseDir, abs).split(sep).join("/");
