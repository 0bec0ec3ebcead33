/**
 * A job's outputs as cache items: every file and directory under its
 * `writes` (content digest, mode bits) and symlinks that stay inside the
 * project; and their restore, which writes only inside the job's `writes`.
 *
 * @module
 */
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { globToRegExp, isGlob } from "../graph/mod.ts";
import { expand } from "../state/mod.ts";
import { pid } from "../runtime/fs.ts";
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

/** Adds `rel` (and, for a directory, everything under it) to `c`. */
function collectPath(
  baseDir: string,
  rel: string,
  c: Collected,
  seen: Set<string>,
  take: TakeFile,
): void {
  if (seen.has(rel)) return;
  seen.add(rel);
  const abs = join(baseDir, rel);
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    return; // a declared output the job did not write: nothing to store
  }
  if (st.isSymbolicLink()) {
    const target = readlinkSync(abs);
    if (isAbsolute(target) || !inside(baseDir, resolve(dirname(abs), target))) {
      throw new CacheRefusal(`${rel}: symlink to ${target} leads out of the project`);
    }
    c.outputs.push({ kind: "symlink", path: rel, target });
  } else if (st.isDirectory()) {
    c.outputs.push({ kind: "dir", path: rel, mode: st.mode & 0o777 });
    for (const name of readdirSync(abs).sort()) {
      collectPath(baseDir, `${rel}/${name}`, c, seen, take);
    }
  } else if (st.isFile()) {
    const { digest, size } = take(abs);
    c.outputs.push({ kind: "file", path: rel, mode: st.mode & 0o777, digest, size });
  } else throw new CacheRefusal(`${rel}: not a file, directory or symlink`);
}

/**
 * Everything under `writes` now (`@names` skipped; globs expanded over the
 * disk), each file's bytes given to `take` (by default only hashed).
 */
export function collectOutputs(
  writes: string[],
  baseDir: string,
  take: TakeFile = hashPath,
): Collected {
  const c: Collected = { outputs: [] };
  const seen = new Set<string>();
  for (const w of writes) {
    if (w[0] === "@") continue;
    const paths = isGlob(w) ? expand([w], baseDir) : [w];
    for (const p of paths) collectPath(baseDir, p, c, seen, take);
  }
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

/** Why `outputs` may not be restored into `baseDir` for these `writes`, or null. */
export function refuseOutputs(outputs: Output[], writes: string[], baseDir: string): string | null {
  const root = realpathSync(baseDir);
  for (const o of outputs) {
    const why = refusePath(o.path, writes);
    if (why) return why;
    const abs = join(baseDir, o.path);
    if (!inside(root, realAncestor(dirname(abs)))) {
      return `${o.path}: its directory leads out of the project`;
    }
    if (o.kind !== "symlink") continue;
    if (isAbsolute(o.target) || !inside(resolve(baseDir), resolve(dirname(abs), o.target))) {
      return `${o.path}: symlink to ${o.target} leads out of the project`;
    }
  }
  return null;
}

/** Removes whatever is at `abs` unless it is a directory and `keepDir`; never follows a symlink. */
function clear(abs: string, keepDir: boolean): void {
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    return;
  }
  if (st.isDirectory()) {
    if (!keepDir) rmSync(abs, { recursive: true, force: true });
  } else unlinkSync(abs);
}

/** The nearest ancestor of `abs` (itself included) that is a directory now. */
function nearestDir(abs: string): string {
  for (let p = abs;; p = dirname(p)) {
    try {
      if (statSync(p).isDirectory() || dirname(p) === p) return p;
    } catch { /* not there yet */ }
  }
}

/** Temporary files holding checked file outputs, by output path; `discard` removes them. */
export class Staged {
  /** Temporary path by output path. */
  readonly tmp = new Map<string, string>();
  /** Removes every temporary file still there. */
  discard(): void {
    for (const t of this.tmp.values()) rmSync(t, { force: true });
    this.tmp.clear();
  }
}

/**
 * Puts every file output's bytes into a temporary file beside its
 * destination (in its directory, or the nearest one that exists yet: the
 * same filesystem, so the rename that follows is atomic), through
 * `copy(digest, tmp)`, which must leave `tmp` holding exactly the blob or
 * throw. Nothing of the project changes but the new temporary files, and
 * when one copy throws they are all removed before it rethrows.
 */
export function stageOutputs(
  outputs: Output[],
  baseDir: string,
  copy: (digest: string, tmp: string) => void,
): Staged {
  const staged = new Staged();
  try {
    for (const o of outputs) {
      if (o.kind !== "file") continue;
      const abs = join(baseDir, o.path);
      const tmp = join(
        nearestDir(dirname(abs)),
        `.jx-restore-${pid()}-${randomBytes(6).toString("hex")}`,
      );
      staged.tmp.set(o.path, tmp);
      copy(o.digest, tmp);
      chmodSync(tmp, o.mode & 0o777);
    }
  } catch (e) {
    staged.discard();
    throw e;
  }
  return staged;
}

/**
 * Writes `outputs` under `baseDir`: directories and symlinks made, files
 * renamed from what `stageOutputs` staged (never written through a
 * symlink). Call `refuseOutputs` first. On a failure the temporary files
 * left are removed.
 */
export function writeOutputs(outputs: Output[], baseDir: string, staged: Staged): void {
  try {
    for (const o of outputs) writeOutput(o, baseDir, staged);
  } finally {
    staged.discard();
  }
}

function writeOutput(o: Output, baseDir: string, staged: Staged): void {
  const abs = join(baseDir, o.path);
  mkdirSync(dirname(abs), { recursive: true });
  if (o.kind === "dir") {
    clear(abs, true);
    mkdirSync(abs, { recursive: true });
    chmodSync(abs, o.mode & 0o777);
  } else if (o.kind === "file") {
    const tmp = staged.tmp.get(o.path);
    if (!tmp) throw new Error(`${o.path}: not staged`);
    clear(abs, false);
    renameSync(tmp, abs);
    staged.tmp.delete(o.path);
  } else if (o.kind === "symlink") {
    clear(abs, false);
    symlinkSync(o.target, abs);
  } else {
    const _assertNever: never = o;
    throw new Error(`unknown output ${JSON.stringify(_assertNever)}`);
  }
}

/** `path` relative to `baseDir`, with `/` separators. */
export const relPath = (baseDir: string, abs: string): string =>
  relative(baseDir, abs).split(sep).join("/");
