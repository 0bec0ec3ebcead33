/**
 * Jobs' durations at their last success, in `.jx/durations.json` (one JSON
 * object, job name to milliseconds), for the status line's estimate of the
 * time left. Read when a run starts (only the selected jobs' entries);
 * written once when it ends, merged into what is there, through a temporary
 * file and a rename (by `jx watch`, once per cycle). Kept only where jx
 * keeps its state (a run whose jobs declare files, or a watch, under the
 * run lock), through the same checks as the rest
 * of `.jx/` (no links, no other user's files); a damaged file is ignored and
 * replaced: it only feeds an estimate.
 *
 * @module
 */
import { closeSync, constants, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import process from "node:process";
import type { JobSpec } from "../graph/types.ts";
import type { Reporter, RunEvent } from "../scheduler/events.ts";
import { checkStatePath, stateDir, stderrWarn } from "../state/mod.ts";

const FILE = "durations.json";

/** The whole file as an object, or an empty one when absent or damaged. */
function readAll(baseDir: string): Record<string, number> {
  const path = `${baseDir}/.jx/${FILE}`;
  try {
    if (checkStatePath(`${baseDir}/.jx`, "dir", stderrWarn) === "absent") return {};
    if (checkStatePath(path, "file", stderrWarn) === "absent") return {};
    const data = JSON.parse(readFileSync(path, "utf8"));
    return data && typeof data === "object" && !Array.isArray(data) ? data : {};
  } catch (e) {
    if ((e as Error).name === "JxInputError") throw e;
    return {};
  }
}

/**
 * The last durations of `selected` that are known.
 *
 * @example
 * ```ts
 * import { lastDurations } from "./durations.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * // a project that has never run: nothing known
 * assertEquals(lastDurations(Deno.makeTempDirSync(), []), new Map());
 * ```
 */
export function lastDurations(baseDir: string, selected: JobSpec[]): Map<string, number> {
  const all = readAll(baseDir);
  const out = new Map<string, number>();
  for (const j of selected) {
    const ms = all[j.name];
    if (typeof ms === "number" && Number.isFinite(ms) && ms >= 0) out.set(j.name, ms);
  }
  return out;
}

/**
 * A reporter that notes each job's duration when it succeeds and, when the
 * run is over (`close`), merges them into `.jx/durations.json`.
 *
 * @example
 * ```ts
 * import { DurationRecorder } from "./durations.ts";
 * const r = new DurationRecorder("/tmp/project");
 * r.event({ type: "run.start", t: 0, jobs: 0, slots: 1, jobserver: "none" });
 * ```
 */
export class DurationRecorder implements Reporter {
  private seen = new Map<string, number>();

  constructor(private baseDir: string) {}

  /** Keeps the duration of a job that succeeded. */
  event(e: RunEvent): void {
    if (e.type === "job.end" && e.status === "ok" && !e.condition) {
      this.seen.set(e.job, Math.round(e.ms));
    }
  }

  /**
   * Writes what it noted, merged into the file (nothing when nothing
   * succeeded); a failure is one warning: the run's outcome stands.
   */
  close(): void {
    if (!this.seen.size) return;
    try {
      this.write();
    } catch (e) {
      stderrWarn(`job durations not kept: ${(e as Error).message}`);
    }
  }

  private write(): void {
    const all = readAll(this.baseDir);
    for (const [job, ms] of this.seen) all[job] = ms;
    const dir = stateDir(this.baseDir);
    const path = `${dir}/${FILE}`;
    const tmp = `${path}.${process.pid}.tmp`;
    const c = constants;
    const fd = openSync(tmp, c.O_WRONLY | c.O_CREAT | c.O_TRUNC | c.O_NOFOLLOW, 0o644);
    try {
      writeSync(fd, JSON.stringify(all) + "\n");
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }
}
