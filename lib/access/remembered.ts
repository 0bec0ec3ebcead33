/**
 * The findings of each job's last checked run, in `.jx/access.json`: one
 * JSON object, `{ "version": 2, "files": { FILE: { "jobs": { NAME: { "at":
 * ISO time, "findings": [Finding...] } } } } }`, by jobs file (its path
 * relative to the folder: two jobs files there may name a job alike) then
 * job. A job that ran under the tracer replaces
 * its entry (an empty list once it is fixed); jobs that did not run keep
 * theirs. Written when a checked run ends, merged into what is there,
 * through a temporary file and a rename, with the same checks as the rest
 * of `.jx/` (no links, no other user's file); a damaged file is ignored
 * and replaced. Read by `jx explain JOB` and by the output cache
 * (`hasUndeclaredInputs`).
 *
 * @module
 */
import { closeSync, constants, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import process from "node:process";
import { relative, resolve } from "node:path";
import { checkStatePath, stateDir, stderrWarn } from "../state/mod.ts";
import type { Finding } from "./types.ts";

const FILE = "access.json";

/** One job's last checked run. */
export interface CheckedRun {
  /** When it ended (ISO 8601). */
  at: string;
  findings: Finding[];
}

/** A JSON object (not an array, not null). */
const isTable = (x: unknown): x is Record<string, unknown> =>
  !!x && typeof x === "object" && !Array.isArray(x);

/** `table[key] = value` as an own property, whatever the key (`__proto__` included). */
function put<T>(table: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(table, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * The whole file, by jobs file then job; none when it is absent or damaged
 * (a version 1 file, keyed by job alone, is dropped: it could not say which
 * jobs file a job was of).
 */
function readAll(baseDir: string): Record<string, Record<string, CheckedRun>> {
  const path = `${baseDir}/.jx/${FILE}`;
  try {
    if (checkStatePath(`${baseDir}/.jx`, "dir", stderrWarn) === "absent") return {};
    if (checkStatePath(path, "file", stderrWarn) === "absent") return {};
    const data = JSON.parse(readFileSync(path, "utf8"));
    const files = data?.version === 2 && isTable(data.files) ? data.files : {};
    const out: Record<string, Record<string, CheckedRun>> = {};
    for (const [file, f] of Object.entries(files)) {
      if (isTable(f) && isTable(f.jobs)) put(out, file, f.jobs as Record<string, CheckedRun>);
    }
    return out;
  } catch (e) {
    if ((e as Error).name === "JxInputError") throw e;
    return {};
  }
}

/** Whether `f` has the shape of a `Finding` (the file's bytes are not trusted). */
function isFinding(f: unknown): f is Finding {
  const x = f as Finding;
  return !!x && typeof x === "object" && typeof x.job === "string" && typeof x.path === "string" &&
    typeof x.access === "string" && typeof x.problem === "string" &&
    typeof x.suggest === "string" && (x.other === undefined || typeof x.other === "string");
}

/** Whether a finding says the job read something it does not declare (or may read in any order). */
const undeclaredInput = (f: Finding) =>
  f.problem === "undeclared-read" || f.problem === "unordered-read";

/**
 * The remembered findings of a project, updated in memory as a checked run
 * goes (so the cache sees a finding of this very run) and saved at its end.
 *
 * @example
 * ```ts
 * import { Remembered } from "./remembered.ts";
 * import { strictEqual } from "node:assert/strict";
 * const r = new Remembered(Deno.makeTempDirSync(), "jobs.yaml");
 * r.checked("cc", [{ job: "cc", path: "a.h", access: "read", problem: "undeclared-read", suggest: "reads: [a.h]" }]);
 * strictEqual(r.hasUndeclaredInputs("cc"), true);
 * r.save();
 * ```
 */
export class Remembered {
  private jobs: Record<string, CheckedRun>;
  private changed = new Set<string>();
  /** The jobs file, relative to `baseDir`: its jobs' entries are this file's. */
  private file: string;

  /** The remembered findings of the jobs of `file` (the jobs file), in `baseDir`'s `.jx/`. */
  constructor(private baseDir: string, file: string) {
    this.file = relative(baseDir, resolve(baseDir, file));
    const all = readAll(baseDir);
    this.jobs = Object.hasOwn(all, this.file) ? all[this.file] : {};
  }

  /** The last checked run of `job`, if it was ever checked (a damaged entry: as if never). */
  get(job: string): CheckedRun | undefined {
    const r = Object.hasOwn(this.jobs, job) ? this.jobs[job] : undefined;
    return r && typeof r.at === "string" && Array.isArray(r.findings) &&
        r.findings.every(isFinding)
      ? r
      : undefined;
  }

  /** `job` ran under the tracer: these are all its findings so far in this run. */
  checked(job: string, findings: Finding[]): void {
    put(this.jobs, job, { at: new Date().toISOString(), findings });
    this.changed.add(job);
  }

  /**
   * Whether a finding of the last checked runs stands on `job`: one of its
   * own, or a race or an unordered read of another job with it (found only
   * when both jobs are traced in one run). A checked run runs such a job
   * again, so that `--strict` keeps failing until the finding is fixed.
   * `known`: whether a job is still in the jobs file (a removed job's
   * findings stand on nothing).
   */
  unfixed(job: string, known: (job: string) => boolean = () => true): boolean {
    if (this.get(job)?.findings.length) return true;
    return Object.keys(this.jobs).some((other) =>
      known(other) && this.get(other)?.findings.some((f) => f.other === job)
    );
  }

  /**
   * Whether the last checked run of `job` found it reading a file it does
   * not declare (`undeclared-read`, `unordered-read`): its outputs then
   * depend on more than the cache's key, so they are neither stored nor
   * restored until a checked run finds nothing.
   */
  hasUndeclaredInputs(job: string): boolean {
    return this.get(job)?.findings.some(undeclaredInput) ?? false;
  }

  /**
   * The output cache's one call: undefined when `job` may be stored and
   * restored, else the warning to print (once per job) as it runs uncached.
   *
   * @example
   * ```ts
   * import { Remembered } from "./remembered.ts";
   * import { strictEqual } from "node:assert/strict";
   * strictEqual(new Remembered(Deno.makeTempDirSync(), "jobs.yaml").cacheRefusal("cc"), undefined);
   * ```
   */
  cacheRefusal(job: string): string | undefined {
    if (!this.hasUndeclaredInputs(job)) return undefined;
    return `${job}: not cached: its last checked run found undeclared inputs (jx explain ${job})`;
  }

  /** Merges this run's entries into the file; a failure is one warning. */
  save(): void {
    if (!this.changed.size) return;
    try {
      const all = readAll(this.baseDir);
      const mine = Object.hasOwn(all, this.file) ? all[this.file] : {};
      for (const job of this.changed) put(mine, job, this.jobs[job]);
      put(all, this.file, mine);
      const files: Record<string, { jobs: Record<string, CheckedRun> }> = {};
      for (const [file, jobs] of Object.entries(all)) put(files, file, { jobs });
      const path = `${stateDir(this.baseDir)}/${FILE}`;
      const tmp = `${path}.${process.pid}.tmp`;
      const c = constants;
      const fd = openSync(tmp, c.O_WRONLY | c.O_CREAT | c.O_TRUNC | c.O_NOFOLLOW, 0o644);
      try {
        writeSync(fd, JSON.stringify({ version: 2, files }) + "\n");
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
      this.changed.clear();
    } catch (e) {
      if ((e as Error).name === "JxInputError") throw e;
      stderrWarn(`access findings not kept: ${(e as Error).message}`);
    }
  }
}

/**
 * The predicate the output cache calls before it stores or restores `job`
 * (a fresh read of `.jx/access.json`; within a checked run, use the run's
 * `Remembered` instead, which also knows this run's findings).
 *
 * @example
 * ```ts
 * import { hasUndeclaredInputs } from "./remembered.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(hasUndeclaredInputs(Deno.makeTempDirSync(), "jobs.yaml", "cc"), false);
 * ```
 */
export function hasUndeclaredInputs(baseDir: string, file: string, job: string): boolean {
  return new Remembered(baseDir, file).hasUndeclaredInputs(job);
}
