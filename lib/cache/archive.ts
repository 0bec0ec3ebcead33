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
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { globToRegExp, isGlob } from "../graph/mod.ts";
import { expand } from "../state/mod.ts";
import { pid } from "../runtime/fs.ts";

/** One output of a job, by its path relative to the jobs file's directory. */
export type Output =
  | { kind: "file"; path: string; mode: number; digest: string; size: number }
  | { kind: "dir"; path: string; mode: number }
  | { kind: "symlink"; path: string; target: string };

/** What `collectOutputs` found: the items, and each blob's source file by digest. */
export interface Collected {
  /** Items, parents before children. */
  outputs: Output[];
  /** Digest to the absolute path holding those bytes. */
  sources: Map<string, string>;
}

/** A job's outputs cannot be stored or restored (the reason is the message). */
export class CacheRefusal extends Error {}

/** SHA-256 hex of bytes. */
export const digestOf = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

/** Whether `abs` is `root` or under it. */
export const inside = (root: string, abs: string): boolean =>
  abs === root || abs.startsWith(root.endsWith(sep) ? root : root + sep);

/** Adds `rel` (and, for a directory, everything under it) to `c`. */
function collectPath(baseDir: string, rel: string, c: Collected, seen: Set<string>): void {
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
    for (const name of readdirSync(abs).sort()) collectPath(baseDir, `${rel}/${name}`, c, seen);
  } else if (st.isFile()) {
    const digest = digestOf(readFileSync(abs));
    c.outputs.push({ kind: "file", path: rel, mode: st.mode & 0o777, digest, size: st.size });
    c.sources.set(digest, abs);
  } else throw new CacheRefusal(`${rel}: not a file, directory or symlink`);
}

/** Everything under `writes` now (`@names` skipped; globs expanded over the disk). */
export function collectOutputs(writes: string[], baseDir: string): Collected {
  const c: Collected = { outputs: [], sources: new Map() };
  const seen = new Set<string>();
  for (const w of writes) {
    if (w[0] === "@") continue;
    const paths = isGlob(w) ? expand([w], baseDir) : [w];
    for (const p of paths) collectPath(baseDir, p, c, seen);
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

/**
 * Writes `outputs` under `baseDir`, blobs from `blob(digest)`. Call
 * `refuseOutputs` first; every blob should be at hand before the first write.
 * Files go through a temporary name and a rename (never through a symlink).
 */
export function writeOutputs(
  outputs: Output[],
  baseDir: string,
  blob: (digest: string) => Uint8Array,
): void {
  for (const o of outputs) {
    const abs = join(baseDir, o.path);
    mkdirSync(dirname(abs), { recursive: true });
    if (o.kind === "dir") {
      clear(abs, true);
      mkdirSync(abs, { recursive: true });
      chmodSync(abs, o.mode & 0o777);
    } else if (o.kind === "file") {
      const tmp = `${abs}.jx-restore-${pid()}`;
      writeFileSync(tmp, blob(o.digest), { mode: o.mode & 0o777 });
      chmodSync(tmp, o.mode & 0o777);
      clear(abs, false);
      renameSync(tmp, abs);
    } else if (o.kind === "symlink") {
      clear(abs, false);
      symlinkSync(o.target, abs);
    } else {
      const _assertNever: never = o;
      throw new Error(`unknown output ${JSON.stringify(_assertNever)}`);
    }
  }
}

/** `path` relative to `baseDir`, with `/` separators. */
export const relPath = (baseDir: string, abs: string): string =>
  relative(baseDir, abs).split(sep).join("/");
