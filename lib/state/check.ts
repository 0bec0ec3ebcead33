/**
 * Up-to-date decisions: a job whose command, environment and declared
 * resources are unchanged, whose inputs have the same content as when it last
 * succeeded, and whose outputs exist unchanged, is skipped. Early cutoff
 * follows: a rerun that writes byte-identical outputs leaves its dependents'
 * inputs unchanged, so they stay up to date.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { resourceNames } from "../graph/glob.ts";
import type { JobSpec } from "../graph/types.ts";
import { expandStamped, type FileStamp, sameContent } from "./fileset.ts";
import { type Entry, StateStore } from "./store.ts";

/** The verdict on one job. */
export interface Verdict {
  upToDate: boolean;
  /** Why it would run (empty when up to date). */
  reasons: string[];
}

/** True when a job declares a path (not only `@names`) in `reads` or `writes`. */
export function isTracked(spec: JobSpec): boolean {
  return [...spec.reads, ...spec.writes].some((r) => r[0] !== "@");
}

/** The part of a job's fingerprint that does not depend on files. */
export function staticFingerprint(spec: JobSpec): string {
  return createHash("sha256")
    .update(JSON.stringify([spec.argv, spec.cwd, spec.env, spec.reads, spec.writes]))
    .digest("hex")
    .slice(0, 32);
}

const short = (s: FileStamp | null | undefined) => s?.[3]?.slice(0, 12) ?? "?";

/**
 * Decides and records up-to-date state for the jobs of one jobs file.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { UpToDate } from "./check.ts";
 * const g = parseJobsFile("jobs:\n  cp: { run: cp a b, reads: [a], writes: [b] }\n", "jobs.yaml");
 * const state = new UpToDate(".");
 * state.check(g.jobs[0]); // { upToDate: false, reasons: ["it has not run successfully before"] }
 * ```
 */
export class UpToDate {
  private store: StateStore;
  private snapshots = new Map<string, Record<string, FileStamp | null>>();

  constructor(private baseDir: string) {
    this.store = new StateStore(baseDir);
  }

  /** Looks at the disk now; remembers the inputs seen, for `succeeded`. */
  check(spec: JobSpec): Verdict {
    // A job's own outputs are not its inputs, even when a reads glob matches them.
    const inputs = Object.fromEntries(
      [...expandStamped(spec.reads, this.baseDir)].filter(([p]) =>
        !spec.writes.some((w) => resourceNames(w, p))
      ),
    );
    this.snapshots.set(spec.name, inputs);
    const verdict = this.decide(spec, inputs);
    // Hash every input now, before the job can start: the state must describe
    // what the job read, not what the files hold when it ends.
    for (const [p, st] of Object.entries(inputs)) {
      if (st && !st[3]) sameContent(this.baseDir, p, [-1, 0, 0], st);
    }
    return verdict;
  }

  private decide(spec: JobSpec, inputs: Record<string, FileStamp | null>): Verdict {
    const reasons: string[] = [];
    if (!isTracked(spec)) {
      return {
        upToDate: false,
        reasons: ["it declares no files in reads or writes, so it always runs"],
      };
    }
    const old: Entry | undefined = this.store.entries.get(spec.name);
    if (!old) return { upToDate: false, reasons: ["it has not run successfully before"] };
    if (old.fp !== staticFingerprint(spec)) {
      reasons.push("its command, environment, working directory or declared resources changed");
    }
    for (const [p, now] of Object.entries(inputs)) {
      const was = old.inputs[p];
      if (was === undefined) reasons.push(now ? `new input ${p}` : `input ${p} is missing`);
      else if (!now && was) reasons.push(`input ${p} was deleted`);
      else if (now && !was) reasons.push(`input ${p} appeared`);
      else if (now && was && !sameContent(this.baseDir, p, was, now)) {
        reasons.push(`input ${p} changed (${short(was)} -> ${short(now)})`);
      }
    }
    for (const p of Object.keys(old.inputs)) {
      if (!(p in inputs) && old.inputs[p]) reasons.push(`input ${p} no longer matches reads`);
    }
    const outMap = expandStamped(spec.writes, this.baseDir, { wholeDirs: true });
    const outs = [...outMap.keys()];
    for (const [p, now] of outMap) {
      const was = old.outputs[p];
      if (!now && was === null) continue; // absent after its last success too (a temp file)
      if (!now) reasons.push(`output ${p} is missing`);
      else if (!was) reasons.push(`output ${p} was not written by its last run`);
      else if (!sameContent(this.baseDir, p, was, now)) reasons.push(`output ${p} was modified`);
    }
    for (const p of Object.keys(old.outputs)) {
      if (!outs.includes(p) && old.outputs[p]) reasons.push(`output ${p} is missing`);
    }
    return { upToDate: reasons.length === 0, reasons };
  }

  /** Records a success: the inputs as they were at the start, the outputs now. */
  succeeded(spec: JobSpec): void {
    if (!isTracked(spec)) return;
    const inputs = this.snapshots.get(spec.name) ?? {};
    const fill = (p: string, s: FileStamp | null) => {
      if (s && !s[3]) sameContent(this.baseDir, p, [-1, 0, 0], s);
      return s;
    };
    const outputs: Record<string, FileStamp | null> = {};
    for (const [p, st] of expandStamped(spec.writes, this.baseDir, { wholeDirs: true })) {
      outputs[p] = st === null || st[3] ? st : fill(p, st);
    }
    this.store.put({ job: spec.name, fp: staticFingerprint(spec), inputs, outputs });
  }

  /** Flushes the state to disk. */
  close(): void {
    this.store.close();
  }
}
