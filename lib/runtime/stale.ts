/**
 * jx's private folders in the temporary directory (the jobserver's fifo,
 * spilled job output, `jx sh`'s files, `jx lint`'s traces; and the file a
 * Turborepo artifact is spooled to) are
 * named `jx-KIND-HOST-PID-XXXXXX`, so that a later
 * jx can remove those of a jx that died without removing its own (`kill
 * -9`): one scan, for every kind, when a jobserver pool is created, the
 * first output of a process spills, or a checked run makes its trace folder.
 *
 * A folder is stale when its pid is gone on this host, or when the process
 * now holding that pid started after the folder was last changed (the pid
 * was reused).
 *
 * @module
 */
import { isDirSync, nodeFs, pid, readTextSync, sendSignal } from "./fs.ts";
import { escapeControls } from "./controls.ts";
import { writeAll } from "./mod.ts";
import { removePath } from "./files.ts";
import { inspectOwned } from "./owned.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/** The kinds of folder (and, for a remote cache's download, file) jx makes in the temporary directory. */
export type TempKind = "jobserver" | "output" | "artifact" | "sh" | "trace";
const KINDS: TempKind[] = ["jobserver", "output", "artifact", "sh", "trace"];

let root: string | undefined;

/**
 * The temporary directory: `$TMPDIR`, else /tmp (no trailing slash). A
 * `$TMPDIR` that is not a directory is /tmp, with one warning, as make 4.4
 * says it (`TMPDIR value X: No such file or directory`) and goes on.
 */
export function tempRoot(): string {
  if (root !== undefined) return root;
  const t = g.Deno && !g.Bun ? g.Deno.env.get("TMPDIR") : g.process?.env?.TMPDIR;
  const dir: string = (t || "/tmp").replace(/(.)\/+$/, "$1");
  if (dir === "/tmp" || isDirSync(dir)) return root = dir;
  writeAll(2, `jx: warning: TMPDIR value ${escapeControls(dir)}: not a directory; using /tmp\n`);
  return root = "/tmp";
}

let hostWord: string | undefined;

/**
 * The host name, as a file-name word: a pid is only checked on the host
 * (container) that made it. Read once. On Bun the kernel's from /proc (what
 * node:os's `hostname()` returns: node:os costs a millisecond to load there,
 * at every run that makes a pool); on Deno `Deno.hostname()` (the same
 * permission as node:os's, which took 8-30 ms to load there; a read of /proc
 * needs every permission, and would prompt for it).
 */
export function host(): string {
  if (hostWord !== undefined) return hostWord;
  let name = "";
  const nodeOs = (): string => g.process.getBuiltinModule("node:os").hostname();
  try {
    if (g.Bun) {
      try {
        name = readTextSync("/proc/sys/kernel/hostname").trim();
      } catch {
        name = nodeOs();
      }
    } else name = g.Deno ? g.Deno.hostname() : nodeOs();
  } catch { /* not permitted to ask */ }
  return hostWord = name.replace(/[^A-Za-z0-9.]/g, "_") || "host";
}

/**
 * The prefix of this process's folders of `kind` (for `mkdtemp`).
 *
 * @example
 * ```ts
 * import { tempPrefix } from "./stale.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * // e.g. "/tmp/jx-output-myhost-4242-"
 * const prefix = tempPrefix("output");
 * assertEquals(prefix.includes("/jx-output-") && prefix.endsWith(`-${Deno.pid}-`), true);
 * ```
 */
export function tempPrefix(kind: TempKind): string {
  return `${tempRoot()}/jx-${kind}-${host()}-${pid()}-`;
}

/** When process `p` started (ms since the epoch), from /proc; undefined when unknown. */
function startedMs(p: number): number | undefined {
  try {
    const stat = readTextSync(`/proc/${p}/stat`);
    const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readTextSync("/proc/stat"))?.[1]);
    return Number.isFinite(ticks) && btime ? btime * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** When `path` was last modified (ms since the epoch); throws when it is not there. */
function mtimeMs(path: string): number {
  if (g.Deno && !g.Bun) return g.Deno.statSync(path).mtime?.getTime() ?? 0;
  return nodeFs().statSync(path).mtimeMs;
}

/**
 * Whether `path` (a folder or file), made by process `p` of this host, is
 * left over: `p` is gone, or the process holding that pid now started
 * after `path` was last changed.
 */
export function isStale(path: string, p: number): boolean {
  try {
    sendSignal(p, 0);
  } catch (e) {
    return (e as { code?: string }).code === "ESRCH";
  }
  // Alive (or not ours to signal): stale only when that process is younger than the folder.
  const start = startedMs(p);
  try {
    return start !== undefined && start > mtimeMs(path) + 1000;
  } catch {
    return false;
  }
}

/**
 * Removes the folders of every kind left by jx processes of this host that
 * are gone, of this user's only (not links). Errors are ignored (a race).
 *
 * @example
 * ```ts
 * import { removeStaleTemp } from "./stale.ts";
 * removeStaleTemp();
 * ```
 */
export function removeStaleTemp(): void {
  const root = tempRoot();
  const mine = KINDS.map((k) => `jx-${k}-${host()}-`);
  const spool = `jx-artifact-${host()}-`;
  let names: string[];
  try {
    // On Deno, its own call: node:fs's sorts and converts every entry, some
    // milliseconds on every run when the temporary directory holds thousands.
    names = g.Deno && !g.Bun
      ? Array.from(g.Deno.readDirSync(root), (e: { name: string }) => e.name)
      : nodeFs().readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const prefix = mine.find((m) => name.startsWith(m));
    if (!prefix) continue;
    const p = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1] ?? 0);
    if (!p || p === pid() || !isStale(`${root}/${name}`, p)) continue;
    // Only this user's own folder (or spool), never a link: as root, not another user's tree,
    // which that user could change (a folder swapped for a link) while it is being removed.
    if (inspectOwned(`${root}/${name}`, prefix === spool ? "file" : "dir").kind !== "ok") continue;
    try {
      removePath(`${root}/${name}`, true);
    } catch { /* another user's, or already gone */ }
  }
}
