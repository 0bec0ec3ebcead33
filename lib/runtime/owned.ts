/**
 * What jx may write into: a path inspected without following a symbolic
 * link (`lstat`), its owner and mode. `.jx/` and the files in it are only
 * written when they are ours (owner == our uid), not links, and of the
 * expected type. Without `node:` imports on Deno, nor `node:fs` on Bun
 * (the no-op fast path takes the run lock).
 *
 * @module
 */
import { nodeFs } from "./fs.ts";
import { fileType, statMode } from "./bun_fs.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
// deno-lint-ignore no-explicit-any
const D: any = typeof g.Deno !== "undefined" && typeof g.Bun === "undefined" ? g.Deno : undefined;

/** What `inspectOwned` found. */
export type Owned =
  | { kind: "absent" }
  | { kind: "ok"; mode: number }
  | { kind: "symlink" }
  | { kind: "foreign"; uid: number }
  | { kind: "wrong-type"; found: "file" | "directory" | "other" };

/** This process's effective uid (-1 where there is none). */
export function myUid(): number {
  try {
    return D ? (D.uid() ?? -1) : (g.process.geteuid?.() ?? g.process.getuid?.() ?? -1);
  } catch {
    return -1;
  }
}

/**
 * This process's groups: the effective one and the supplementary ones (from
 * `/proc/self/status`, else `process.getgroups`); none where there are none.
 */
export function myGroups(): number[] {
  try {
    const status = nodeFs().readFileSync("/proc/self/status", "utf8") as string;
    const line = /^Groups:(.*)$/m.exec(status)?.[1] ?? "";
    const gid = /^Gid:\s+\d+\s+(\d+)/m.exec(status)?.[1];
    const all = line.trim().split(/\s+/).filter((x) => x).map(Number);
    return gid === undefined ? all : [Number(gid), ...all];
  } catch {
    try {
      return g.process.getgroups?.() ?? [];
    } catch {
      return [];
    }
  }
}

interface Lstat {
  link: boolean;
  file: boolean;
  dir: boolean;
  uid: number;
  mode: number;
}

function lstat(path: string): Lstat | undefined {
  try {
    if (D) {
      const s = D.lstatSync(path);
      return { link: s.isSymlink, file: s.isFile, dir: s.isDirectory, uid: s.uid, mode: s.mode };
    }
    const st = statMode(path, false); // Bun: without loading node:fs
    if (st === null) return undefined;
    if (st !== undefined) {
      const type = fileType(st.mode);
      return { link: type === "link", file: type === "file", dir: type === "dir", ...st };
    }
    const s = nodeFs().lstatSync(path);
    return {
      link: s.isSymbolicLink(),
      file: s.isFile(),
      dir: s.isDirectory(),
      uid: s.uid,
      mode: s.mode,
    };
  } catch {
    return undefined;
  }
}

/**
 * Inspects `path` (not following a link) for use as a `want` of ours.
 *
 * @example
 * ```ts
 * import { inspectOwned } from "./owned.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.chmodSync(dir, 0o755);
 * assertEquals(inspectOwned(dir, "dir"), { kind: "ok", mode: 0o40755 });
 * ```
 */
export function inspectOwned(path: string, want: "file" | "dir"): Owned {
  const s = lstat(path);
  if (!s) return { kind: "absent" };
  if (s.link) return { kind: "symlink" };
  const me = myUid();
  if (me >= 0 && s.uid !== me) return { kind: "foreign", uid: s.uid };
  if (want === "dir" ? !s.dir : !s.file) {
    return { kind: "wrong-type", found: s.file ? "file" : s.dir ? "directory" : "other" };
  }
  return { kind: "ok", mode: s.mode };
}

/**
 * Takes write permission away from group and others on a path of ours
 * (so that nobody else can add or change files in it); errors ignored.
 *
 * @example
 * ```ts
 * import { privateMode } from "./owned.ts";
 * privateMode("/tmp/project/.jx", 0o40775);
 * ```
 */
export function privateMode(path: string, mode: number): void {
  if ((mode & 0o022) === 0) return;
  try {
    if (D) D.chmodSync(path, mode & 0o7755);
    else nodeFs().chmodSync(path, mode & 0o7755);
  } catch { /* not permitted: what is written is still checked */ }
}

/**
 * Removes `path` and what is under it (a link itself, not its target);
 * errors ignored.
 *
 * @example
 * ```ts
 * import { removeTree } from "./owned.ts";
 * removeTree("/tmp/project/.jx/state.ndjson");
 * ```
 */
export function removeTree(path: string): void {
  try {
    if (D) D.removeSync(path, { recursive: true });
    else nodeFs().rmSync(path, { recursive: true, force: true });
  } catch { /* gone, or not ours to remove */ }
}
