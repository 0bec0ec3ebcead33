/**
 * The state log, `.jx/state.ndjson` beside the jobs file: one line per
 * successful job (its fingerprint, the inputs it started from, the outputs
 * it left). Appends only, so a jx killed at any instant leaves at worst a
 * torn last line, which is ignored; the log is compacted (temp file, fsync,
 * rename) when it has grown to twice its live size.
 *
 * A line is one flat JSON array, which parses several times faster than an
 * object keyed by paths (no object shape per path):
 *
 * ```text
 * [job, fp, nInputs, path, size, mtimeMs, ino, hash, path, size, ...]
 * ```
 *
 * five slots per file, the `nInputs` inputs first, then the outputs; a file
 * that was absent has size `null` (and `0, 0, null` after it). Lines of
 * another shape (an older jx's) are ignored, as a torn line is: those jobs
 * run again once.
 *
 * @module
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { FileStamp } from "./fileset.ts";
import { readText } from "./stat.ts";

/** What is remembered of a job's last success. */
export interface Entry {
  job: string;
  /** Hash of the command, env, cwd and declared resources. */
  fp: string;
  inputs: Record<string, FileStamp | null>;
  outputs: Record<string, FileStamp | null>;
}

/** One line of the log as parsed: see the module's description. */
export type Row = (string | number | null)[];

/** Slots per file in a row, and where the first file starts. */
export const SLOTS = 5, FIRST = 3;

/** Whether a parsed line has the shape of a row (and is not torn or an older jx's). */
function isRow(r: unknown): r is Row {
  return Array.isArray(r) && typeof r[0] === "string" && typeof r[1] === "string" &&
    typeof r[2] === "number" && (r.length - FIRST) % SLOTS === 0 &&
    r[2] * SLOTS <= r.length - FIRST;
}

function encodeFiles(row: Row, files: Record<string, FileStamp | null>): void {
  for (const [p, s] of Object.entries(files)) {
    if (s) row.push(p, s[0], s[1], s[2], s[3] ?? null);
    else row.push(p, null, 0, 0, null);
  }
}

/** A row as an `Entry`. */
export function decodeRow(row: Row): Entry {
  const inputs: Record<string, FileStamp | null> = {};
  const outputs: Record<string, FileStamp | null> = {};
  const n = row[2] as number;
  for (let k = 0, i = FIRST; i < row.length; k++, i += SLOTS) {
    const size = row[i + 1] as number | null;
    let s: FileStamp | null = null;
    if (size !== null) {
      s = [size, row[i + 2] as number, row[i + 3] as number];
      if (row[i + 4] !== null) s[3] = row[i + 4] as string;
    }
    (k < n ? inputs : outputs)[row[i] as string] = s;
  }
  return { job: row[0] as string, fp: row[1] as string, inputs, outputs };
}

/** An `Entry` as a row. */
export function encodeRow(e: Entry): Row {
  const row: Row = [e.job, e.fp, Object.keys(e.inputs).length];
  encodeFiles(row, e.inputs);
  encodeFiles(row, e.outputs);
  return row;
}

/** The state of one directory's jobs. */
export class StateStore {
  /** The last row of each job. */
  readonly rows = new Map<string, Row>();
  private lines = 0;
  private fd?: number;
  readonly dir: string;

  constructor(baseDir: string) {
    this.dir = join(baseDir, ".jx");
    const path = join(this.dir, "state.ndjson");
    if (!existsSync(path)) return;
    for (const line of readText(path).split("\n")) {
      if (!line) continue;
      this.lines++;
      try {
        const r = JSON.parse(line);
        if (isRow(r)) this.rows.set(r[0] as string, r);
      } catch {
        // A torn line from an interrupted write: ignore it.
      }
    }
  }

  /** The last success of `job`, or undefined. */
  get(job: string): Entry | undefined {
    const r = this.rows.get(job);
    return r && decodeRow(r);
  }

  /** Records a success (appended at once). */
  put(e: Entry): void {
    this.append(encodeRow(e));
  }

  /** Appends a row (at once) and makes it the job's current one. */
  append(row: Row): void {
    this.rows.set(row[0] as string, row);
    if (this.fd === undefined) {
      mkdirSync(this.dir, { recursive: true });
      this.fd = openSync(join(this.dir, "state.ndjson"), "a");
    }
    writeSync(this.fd, JSON.stringify(row) + "\n");
    this.lines++;
  }

  /** Flushes to disk; compacts when the log holds many stale lines. */
  close(): void {
    if (this.fd !== undefined) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    }
    if (this.lines > 1000 && this.lines > 2 * this.rows.size) {
      const path = join(this.dir, "state.ndjson");
      const tmp = `${path}.${process.pid}.tmp`;
      const fd = openSync(tmp, "w");
      writeSync(fd, [...this.rows.values()].map((r) => JSON.stringify(r) + "\n").join(""));
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, path);
      this.lines = this.rows.size;
    }
  }
}
