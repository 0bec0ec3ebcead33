/**
 * `jx run --changed-since REF`: affected-only runs (turbo `--affected`,
 * Pants `--changed-since`). The changed files are what git reports against
 * REF in the whole repository, as paths from the jobs file's folder (`../`
 * for one outside it): `git diff --name-only --no-renames REF` (commits since
 * REF, staged and unstaged edits, deletions; a rename as its two names) plus
 * untracked files that are not ignored (`git ls-files --others
 * --exclude-standard`), both NUL-separated (any name, as it is). A job is
 * affected when one of its inputs is among them: its `reads`, its dotenv
 * files, the inputs its depfile lists; or when its own definition changed
 * (the jobs file or a file it includes). The run takes the affected jobs,
 * every job that depends on those (any edge, transitively), and what they
 * need, as for named jobs.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { relative, resolve } from "node:path";
import { JxInputError } from "../runtime/errors.ts";
import { escapeGlob, namesAnyOf } from "../graph/glob.ts";
import { depfileInputs, type Graph, type JobSpec, parseJobsFile } from "../graph/mod.ts";

/** Runs git in `dir`; its output, or a usage error naming REF. */
function git(dir: string, ref: string, args: string[]): string {
  try {
    return execFileSync("git", args, {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 1 << 28,
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const why = (err.stderr ?? "").split("\n").find((l) => l.trim()) ?? err.message;
    throw new JxInputError(`--changed-since ${ref}: git: ${why.trim()}`);
  }
}

/** NUL-separated names (`git -z`), the empty ones left out. */
const names = (out: string) => out.split("\0").filter((l) => l !== "");

/**
 * The files changed since `ref`, relative to `dir` (the jobs file's folder;
 * `../x` for a file of the repository outside it), sorted.
 *
 * @example
 * ```ts
 * import { changedFiles } from "./changed.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const git = (...args: string[]) =>
 *   new Deno.Command("git", { args: ["-c", "user.name=a", "-c", "user.email=a@b", ...args], cwd: dir })
 *     .outputSync();
 * git("init", "-q");
 * Deno.writeTextFileSync(`${dir}/a.c`, "");
 * git("add", "a.c");
 * git("commit", "-qm", "a");
 * Deno.writeTextFileSync(`${dir}/a.c`, "changed");
 * Deno.writeTextFileSync(`${dir}/new.txt`, "");
 * assertEquals(changedFiles(dir, "HEAD"), ["a.c", "new.txt"]);
 * ```
 */
export function changedFiles(dir: string, ref: string): string[] {
  if (ref.startsWith("-")) throw new JxInputError(`--changed-since: bad git ref '${ref}'`);
  const top = git(dir, ref, ["rev-parse", "--show-toplevel"]).replace(/\n$/, "");
  const diff = git(top, ref, ["diff", "-z", "--name-only", "--no-renames", ref, "--"]);
  const untracked = git(top, ref, ["ls-files", "-z", "--others", "--exclude-standard"]);
  const fromDir = (p: string) => relative(dir, resolve(top, p));
  return [...new Set([...names(diff), ...names(untracked)].map(fromDir))].sort();
}

/**
 * A job's inputs as `--changed-since` matches them: reads, dotenv files, its depfile's inputs;
 * the last two are paths, whatever characters they hold: each as a pattern that names exactly
 * itself (`escapeGlob`), never a glob.
 */
function inputsOf(j: JobSpec, baseDir: string): string[] {
  const deps = j.depfile ? depfileInputs(baseDir, j.depfile, resolve(baseDir, j.cwd)) : undefined;
  return [...j.reads, ...[...(j.envFiles ?? []), ...(deps ?? [])].map(escapeGlob)];
}

/**
 * The jobs of `candidates` with an input among `changed` (or named in
 * `redefined`), and every job of `candidates` that depends on one of them,
 * in file order.
 */
export function affectedJobs(
  graph: Graph,
  candidates: JobSpec[],
  changed: string[],
  redefined: ReadonlySet<string> = new Set(),
): JobSpec[] {
  const baseDir = resolve(graph.file, "..");
  const inSelection = new Set(candidates.map((j) => j.name));
  const names = namesAnyOf(changed);
  const touched = (j: JobSpec) => redefined.has(j.name) || inputsOf(j, baseDir).some(names);
  const hit = new Set(candidates.filter(touched).map((j) => j.name));
  const dependents = new Map<string, string[]>();
  for (const e of graph.edges) {
    const list = dependents.get(e.from);
    if (list) list.push(e.to);
    else dependents.set(e.from, [e.to]);
  }
  const stack = [...hit];
  while (stack.length) {
    for (const to of dependents.get(stack.pop()!) ?? []) {
      if (inSelection.has(to) && !hit.has(to)) stack.push((hit.add(to), to));
    }
  }
  return candidates.filter((j) => hit.has(j.name));
}

/** What of a job's definition decides what it does: all but where it is written. */
function definition(j: JobSpec): string {
  return JSON.stringify(j, (k, v) => k === "pos" || k === "index" ? undefined : v);
}

/**
 * The jobs whose definition changed since `ref`: every job of an included
 * file that changed; for the jobs file itself, the jobs whose definition
 * differs from the one at `ref` (parsed from `git show`), or every job of
 * it when that cannot be read or parsed (a new file, a bad one then).
 */
function redefinedJobs(
  graph: Graph,
  ref: string,
  changed: string[],
  dir: string,
  vars: Record<string, string>,
): Set<string> {
  const out = new Set<string>();
  const changedAbs = new Set(changed.map((f) => resolve(dir, f)));
  for (const j of graph.jobs) {
    if (j.source !== undefined && changedAbs.has(resolve(j.source))) out.add(j.name);
  }
  if (!changedAbs.has(resolve(graph.file))) return out;
  let old: Map<string, string> | undefined;
  try {
    const text = git(dir, ref, ["show", `${ref}:./${relative(dir, resolve(graph.file))}`]);
    const before = parseJobsFile(text, graph.file, { baseDir: dir, vars });
    old = new Map(before.jobs.map((j) => [j.name, definition(j)]));
  } catch {
    old = undefined; // not there at REF, or not valid then: every job of the file is new
  }
  for (const j of graph.jobs) {
    if (j.source === undefined && old?.get(j.name) !== definition(j)) out.add(j.name);
  }
  return out;
}

/**
 * `jx run --changed-since REF`'s selection: the affected jobs among
 * `names`' selection (the file's `default:`, else or with `all` every job) and what they need; empty when
 * none is affected. `vars`: the command line's (the jobs file at REF is
 * read with them too).
 */
export function changedSelection(
  graph: Graph,
  names: string[],
  ref: string,
  dir: string,
  vars: Record<string, string> = {},
  all = false,
): JobSpec[] {
  const changed = changedFiles(dir, ref);
  const redefined = redefinedJobs(graph, ref, changed, dir, vars);
  const affected = affectedJobs(graph, graph.selectForRun(names, all), changed, redefined);
  return affected.length ? graph.select(affected.map((j) => j.name)) : [];
}
