/**
 * `jx run --changed-since REF`: affected-only runs (turbo `--affected`,
 * Pants `--changed-since`). The changed files are what git reports against
 * REF in the jobs file's folder: `git diff --name-only --relative REF`
 * (commits since REF, staged and unstaged edits, deletions) plus untracked
 * files that are not ignored (`git ls-files --others --exclude-standard`).
 * The jobs run are those whose `reads` name one of them, and every job that
 * depends on those (any edge, transitively); the run then adds what they
 * need, as for named jobs.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { JxInputError } from "../runtime/errors.ts";
import { resourceNames } from "../graph/glob.ts";
import type { Graph, JobSpec } from "../graph/mod.ts";

/** Runs git in `dir`; its output lines, or a usage error naming REF. */
function git(dir: string, ref: string, args: string[]): string[] {
  try {
    const out = execFileSync("git", args, {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 1 << 28,
    });
    return out.split("\n").filter((l) => l !== "");
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const why = (err.stderr ?? "").split("\n").find((l) => l.trim()) ?? err.message;
    throw new JxInputError(`--changed-since ${ref}: git: ${why.trim()}`);
  }
}

/**
 * The files changed since `ref`, relative to `dir` (the jobs file's folder).
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
  const diff = git(dir, ref, [
    "-c",
    "core.quotePath=false",
    "diff",
    "--name-only",
    "--relative",
    ref,
    "--",
  ]);
  const untracked = git(dir, ref, [
    "-c",
    "core.quotePath=false",
    "ls-files",
    "--others",
    "--exclude-standard",
  ]);
  return [...new Set([...diff, ...untracked])].sort();
}

/**
 * The jobs of `candidates` whose reads name a file of `changed`, and every
 * job of `candidates` that depends on one of them, in file order.
 */
export function affectedJobs(graph: Graph, candidates: JobSpec[], changed: string[]): JobSpec[] {
  const inSelection = new Set(candidates.map((j) => j.name));
  const hit = new Set(
    candidates.filter((j) => j.reads.some((r) => changed.some((f) => resourceNames(r, f))))
      .map((j) => j.name),
  );
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

/**
 * `jx run --changed-since REF`'s selection: the affected jobs among
 * `names`' selection (all jobs by default) and what they need; empty when
 * none is affected.
 */
export function changedSelection(graph: Graph, names: string[], ref: string, dir: string) {
  const affected = affectedJobs(graph, graph.select(names), changedFiles(dir, ref));
  return affected.length ? graph.select(affected.map((j) => j.name)) : [];
}
