/**
 * `jx clean`: removes the files that the selected jobs' `writes` name, and
 * nothing else. Every path is checked before anything is removed; one that
 * is outside the project folder (`..`, an absolute path, a symbolic link on
 * the way that leads out, after resolving links), the project folder
 * itself, the jobs file (or one it includes), `.jx/` or `.git/` (or a
 * folder holding one), a source reached through a link in the project (a
 * file jobs read and none writes) stops the command with exit 2 naming it. A folder that `writes` names is
 * removed only once it is empty: files in it that no job's `writes` names
 * are never removed.
 *
 * @module
 */
import { lstatSync, readlinkSync, realpathSync, rmdirSync, unlinkSync } from "node:fs";
import { basename, dirname, relative, resolve } from "node:path";
import { expandDeferred, type Graph, type JobSpec, namedByAny } from "../graph/mod.ts";
import { ioReason, JxInputError } from "../runtime/errors.ts";
import { cwd, escapeControls, writeAll } from "../runtime/mod.ts";
import { expandStamped, listRaw, rawKind, removeRaw } from "../state/mod.ts";
import { RAW_BYTE } from "../runtime/utf8.ts";

/**
 * How a path is removed: a file or link by unlink, a folder only when empty. `rel` is the path
 * as the user's shell would name it: relative to the working directory, not the jobs file's folder
 * (the same unless jx was started from a subfolder, or with `-f` naming a file elsewhere).
 */
type Target = { rel: string; abs: string; kind: "file" | "dir" };

const realOrNull = (p: string): string | null => {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
};

const inside = (path: string, dir: string) => path === dir || path.startsWith(dir + "/");

/**
 * Why `rel` must not be cleaned, or undefined when it may be. `abs` has its links resolved;
 * `jobsFiles` are the root jobs file, then the files it includes, each as named and where it
 * leads.
 */
function refusal(
  abs: string,
  root: string,
  jobsFiles: JobsFilePath[],
  source: (rel: string) => boolean,
): string | undefined {
  if (abs === root) return "it is the project folder";
  if (!inside(abs, root)) return `it is outside the project folder ${root}`;
  // Reached through a link in the project (`out/x -> ../src`): never a file that jobs read and
  // no job writes where it is (a source).
  const real = relative(root, abs);
  if (source(real)) {
    return `it is ${real} (through a symbolic link), which jobs read and none writes`;
  }
  for (const { path: f, root: isRoot } of jobsFiles) {
    if (!inside(f, abs)) continue;
    const what = isRoot ? "the jobs file" : "a jobs file (included)";
    return abs === f ? `it is ${what}` : `it holds ${what}`;
  }
  // Any `.jx/` or `.git/` on its way: an included package's own too.
  const own = relative(root, abs).split("/").find((part) => part === ".jx" || part === ".git");
  return own ? `it is in ${own}/` : undefined;
}

/** A path that reaches a jobs file, and whether that file is the root one. */
interface JobsFilePath {
  path: string;
  root: boolean;
}

/**
 * Jobs file `f` as every path that reaches it: as named (lexically, and with its folder's links
 * resolved), each link of a chain to it, and where it leads.
 */
function jobsFilePaths(f: string): string[] {
  const out = new Set<string>();
  let p = resolve(f);
  for (let hops = 0; hops < 40; hops++) {
    out.add(p);
    out.add(resolve(realOrNull(dirname(p)) ?? dirname(p), basename(p)));
    let target: string;
    try {
      if (!lstatSync(p).isSymbolicLink()) break;
      target = readlinkSync(p);
    } catch {
      break;
    }
    p = resolve(dirname(p), target);
  }
  out.add(realOrNull(f) ?? resolve(f));
  return [...out];
}

/**
 * The path with its folder's links resolved (the last part itself is not followed); null when a
 * folder on its way whose name is not UTF-8 is a symbolic link (not resolved here: refused).
 */
function resolved(root: string, rel: string): string | null {
  const lexical = resolve(root, rel);
  if (!inside(lexical, root) || lexical === root) return lexical;
  if (RAW_BYTE.test(dirname(lexical))) return resolvedRaw(lexical);
  const parent = realOrNull(dirname(lexical));
  return parent === null ? lexical : resolve(parent, basename(lexical));
}

/**
 * `resolved` of a path with a folder whose name is not UTF-8 on its way (`gen/d\xfe/z.o`,
 * which `realpathSync` cannot take): the folders before it resolved, then each such folder
 * checked by its bytes to be no link (null when one is).
 */
function resolvedRaw(lexical: string): string | null {
  const parts = lexical.split("/");
  const at = parts.findIndex((p) => RAW_BYTE.test(p));
  const head = parts.slice(0, at).join("/") || "/";
  let dir = realOrNull(head) ?? head;
  for (const p of parts.slice(at, -1)) {
    dir = `${dir === "/" ? "" : dir}/${p}`;
    if (rawKind(dir) === "link") return null;
  }
  return `${dir}/${parts.at(-1)}`;
}

/**
 * What `abs` itself is (a link not followed), undefined when absent; a name that is not UTF-8
 * (a byte of `decodeBytes`, as `listRaw` lists it) by its bytes.
 */
function kindOf(abs: string): string | undefined {
  if (RAW_BYTE.test(abs)) return rawKind(abs);
  try {
    return lstatSync(abs).isDirectory() ? "dir" : "file";
  } catch {
    return undefined;
  }
}

/**
 * The targets of `files` (relative to the jobs file's folder, `root` once its links are resolved) that exist,
 * after checking every one (throws `JxInputError`); each named as `shown` gives it.
 */
function plan(
  files: string[],
  root: string,
  jobsFiles: JobsFilePath[],
  shown: (rel: string) => string,
  source: (rel: string) => boolean,
): Target[] {
  const out: Target[] = [];
  for (const file of files) {
    const rel = shown(file);
    const abs = resolved(root, file);
    if (abs === null) {
      const why = "a symbolic link on its way has a name that is not UTF-8";
      throw new JxInputError(`clean: refusing to remove ${escapeControls(rel)}: ${why}`);
    }
    const why = refusal(abs, root, jobsFiles, (real) => real !== file && source(real));
    if (why) throw new JxInputError(`clean: refusing to remove ${rel}: ${why}`);
    const kind = kindOf(abs);
    if (kind === undefined) continue; // absent
    out.push({ rel, abs, kind: kind === "dir" ? "dir" : "file" });
  }
  return out;
}

/**
 * Removes (or, with `dryRun`, lists) what the `writes` of `jobs` name.
 * Returns the exit code. Each path is printed relative to `from` (default:
 * the working directory), so that a line can be pasted into a shell there.
 *
 * @example
 * ```ts
 * import { loadJobsFile } from "../graph/mod.ts";
 * import { cleanOutputs } from "./clean.ts";
 * import { strictEqual } from "node:assert";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/jobs.yaml`, "jobs:\n  a: { run: echo, writes: [out.txt] }\n");
 * Deno.writeTextFileSync(`${dir}/out.txt`, "x");
 * const graph = loadJobsFile(`${dir}/jobs.yaml`);
 * // -n: lists it, removes nothing
 * strictEqual(cleanOutputs(graph, graph.jobs, true), 0);
 * strictEqual(Deno.statSync(`${dir}/out.txt`).isFile, true);
 * ```
 */
export function cleanOutputs(
  graph: Graph,
  jobs: JobSpec[],
  dryRun: boolean,
  from: string = cwd(),
): number {
  const baseDir = graph.baseDir;
  const shown = (file: string) =>
    resolve(from) === baseDir ? file : relative(from, resolve(baseDir, file)) || ".";
  const root = realpathSync(baseDir);
  // The root jobs file and those it includes (`graph.included`: paths from the working directory).
  // Each as named, every link on its way, and where it leads: none is removed (a link to a
  // jobs file, a folder link it is reached through, a link in a chain of them).
  const jobsFiles: JobsFilePath[] = [graph.file, ...graph.included ?? []].flatMap((f, i) =>
    jobsFilePaths(f).map((path) => ({ path, root: i === 0 }))
  );
  const files = new Set<string>();
  // A foreach over files jobs write stands for its items until they exist: its items as the
  // disk gives them now (its own `writes` are a glob over every item's: they would name files
  // no item writes).
  const specs = jobs.flatMap((j) => j.deferred ? expandDeferred(j) : [j]);
  for (const j of specs) {
    // A folder in writes stands as itself: never walked into the files it holds.
    // Names that are not UTF-8 by their bytes (the runtimes list them with U+FFFD: no file).
    const opts = { wholeDirs: true, rawNames: true };
    for (const f of expandStamped(j.writes, baseDir, opts).keys()) files.add(f);
  }
  const targets = plan([...files].sort(), root, jobsFiles, shown, sourceOf(graph));
  // A path found on disk (a foreach item's) may hold control characters: shown as escapes.
  const say = (s: string) => writeAll(1, escapeControls(s) + "\n");
  // Files first; then folders, deepest first, each only when empty by then.
  const dirs = targets.filter((t) => t.kind === "dir").sort((a, b) => b.abs.length - a.abs.length);
  let done = 0, failed = 0;
  for (const t of targets.filter((t) => t.kind === "file")) {
    done++;
    if (!dryRun && !removed(t)) failed++;
    else say(`${dryRun ? "would remove" : "removed"} ${t.rel}`);
  }
  // -n says of each folder what the removal will: gone once what it holds is (the files, and
  // the folders found empty by then, that would be removed before it).
  const gone = new Set(targets.filter((t) => t.kind === "file").map((t) => t.abs));
  const emptyOnceCleaned = (abs: string) => {
    try {
      return listRaw(abs).every((e) => gone.has(`${abs}/${e.name}`));
    } catch {
      return false;
    }
  };
  const kept = (t: Target) => say(`${dryRun ? "would keep" : "kept"} ${t.rel}/ (${HOLDS})`);
  for (const t of dirs) {
    if (dryRun) {
      if (emptyOnceCleaned(t.abs)) (gone.add(t.abs), say(`would remove ${t.rel}/`));
      else kept(t);
    } else {
      if (removedDir(t.abs)) say(`removed ${t.rel}/`);
      else kept(t);
    }
    done++;
  }
  if (!done) say("nothing to clean");
  return failed ? 1 : 0;
}

/** Whether a project path is a source of `graph`: some job's `reads` names it, no job's `writes` does. */
function sourceOf(graph: Graph): (rel: string) => boolean {
  const read = namedByAny(graph.jobs.flatMap((j) => j.reads));
  const written = namedByAny(graph.jobs.flatMap((j) => j.writes));
  return (rel) => read(rel) && !written(rel);
}

const HOLDS = "it holds files that no job's writes names";

/** Removes an empty folder (a name that is not UTF-8 by its bytes); false when it cannot. */
function removedDir(abs: string): boolean {
  if (RAW_BYTE.test(abs)) return removeRaw(abs, true);
  try {
    rmdirSync(abs);
    return true;
  } catch {
    return false;
  }
}

/** Removes a file; one that cannot be (a read-only folder) is one line on stderr: false. */
function removed(t: { abs: string; rel: string }): boolean {
  try {
    if (RAW_BYTE.test(t.abs)) {
      if (removeRaw(t.abs)) return true;
      throw Object.assign(new Error("cannot remove it"), {
        code: kindOf(t.abs) ? "EACCES" : "ENOENT",
      });
    }
    unlinkSync(t.abs);
    return true;
  } catch (e) {
    writeAll(2, `jx: cannot remove ${escapeControls(t.rel)}: ${ioReason(e)}\n`);
    return false;
  }
}
