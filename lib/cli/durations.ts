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
import type { JobSpec } from "../graph/types.ts";
import type { Reporter, RunEvent } from "../scheduler/events.ts";
import { checkStatePath, stateDir, stderrWarn } from "../state/mod.ts";
import { pid, readTextSync, renameSync } from "../runtime/mod.ts";
import { openFile, removePath } from "../runtime/files.ts";
import { ioReason } from "../runtime/errors.ts";

const FILE = "durations.json";

/** The whole file as an object, or an empty one when absent or damaged. */
function readAll(baseDir: string): Record<string, number> {
  const path = `${baseDir}/.jx/${FILE}`;
  try {
    if (checkStatePath(`${baseDir}/.jx`, "dir", stderrWarn) === "absent") return {};
    if (checkStatePath(path, "file", stderrWarn) === "absent") return {};
    const data = JSON.parse(readTextSync(path));
    return data && typeof data === "object" && !Array.isArray(data) ? data : {};
  } catch (e) {
    if ((e as Error).name === "JxInputError") throw e;
    return {};
  }
}

/**
 * The file's text as jx writes it (one line, no spaces), or undefined when
 * absent, written otherwise or unreadable (a refused one throws).
 */
function readText(baseDir: string): string | undefined {
  const path = `${baseDir}/.jx/${FILE}`;
  try {
    if (checkStatePath(`${baseDir}/.jx`, "dir", stderrWarn) === "absent") return undefined;
    if (checkStatePath(path, "file", stderrWarn) === "absent") return undefined;
    const text = readTextSync(path).replace(/\n$/, "");
    return /^\{[^\s]*\}$/.test(text) ? text : undefined;
  } catch (e) {
    if ((e as Error).name === "JxInputError") throw e;
    return undefined;
  }
}

/** Where the value of key `name` starts in `text` (an object of numbers, as written), or -1. */
function valueAt(text: string, name: string): number {
  const key = `${JSON.stringify(name)}:`;
  for (let at = text.indexOf(key); at >= 0; at = text.indexOf(key, at + 1)) {
    // A key starts after `{` or `,` (values are numbers: no quote outside a key).
    if (text[at - 1] === "{" || text[at - 1] === ",") return at + key.length;
  }
  return -1;
}

/** The number at `at` in `text`, or undefined. */
function numberAt(text: string, at: number): number | undefined {
  const m = /^-?\d+(\.\d+)?(e[-+]?\d+)?/i.exec(text.slice(at, at + 32));
  return m ? Number(m[0]) : undefined;
}

/** Jobs past which the whole file is parsed rather than each entry looked up in its text. */
const FEW = 64;

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
  const out = new Map<string, number>();
  const keep = (name: string, ms: unknown) => {
    if (typeof ms === "number" && Number.isFinite(ms) && ms >= 0) out.set(name, ms);
  };
  // A few jobs of many (a partial run): their entries found in the text, nothing else parsed.
  const text = selected.length <= FEW ? readText(baseDir) : undefined;
  if (text !== undefined) {
    for (const j of selected) {
      const at = valueAt(text, j.name);
      if (at >= 0) keep(j.name, numberAt(text, at));
    }
    return out;
  }
  const all = readAll(baseDir);
  for (const j of selected) keep(j.name, all[j.name]);
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

  /** A skipped job ran for no time: nothing to keep. */
  skips(): void {}

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
      stderrWarn(`job durations not kept: ${ioReason(e)}`);
    }
  }

  private write(): void {
    const text = this.seen.size <= FEW ? this.patched() : undefined;
    let all: Record<string, number> | undefined;
    if (text === undefined) {
      all = readAll(this.baseDir);
      for (const [job, ms] of this.seen) all[job] = ms;
    }
    const dir = stateDir(this.baseDir);
    const path = `${dir}/${FILE}`;
    const tmp = `${path}.${pid()}.tmp`;
    const f = openFile(tmp, "write");
    try {
      try {
        f.write(text ?? JSON.stringify(all) + "\n");
      } finally {
        f.close();
      }
      renameSync(tmp, path);
    } catch (e) {
      try {
        removePath(tmp); // a full disk leaves no temporary file in .jx/
      } catch { /* cannot be removed either */ }
      throw e;
    }
  }

  /**
   * The file's text with the few durations noted put in (each number
   * replaced, or the entry added at the end): what `JSON.stringify` of the
   * merged object would give, without parsing the rest. Undefined when the
   * file is absent or not as written.
   */
  private patched(): string | undefined {
    let text = readText(this.baseDir);
    if (text === undefined) return undefined;
    for (const [job, ms] of this.seen) {
      const at = valueAt(text, job);
      const old: string | undefined = at >= 0
        ? /^-?[\d.eE+-]+/.exec(text.slice(at, at + 32))?.[0]
        : undefined;
      if (at >= 0 && old === undefined) return undefined;
      text = at >= 0
        ? text.slice(0, at) + ms + text.slice(at + old!.length)
        : `${text.slice(0, -1)}${text === "{}" ? "" : ","}${JSON.stringify(job)}:${ms}}`;
    }
    return text + "\n";
  }
}
