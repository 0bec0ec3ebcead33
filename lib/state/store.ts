/**
 * The state log, `.jx/state.ndjson` beside the jobs file: one line per
 * successful job (its fingerprint, the inputs it started from, the outputs
 * it left). Appends only, so a jx killed at any instant leaves at worst a
 * torn last line, which is ignored; the log is compacted (temp file, fsync,
 * rename) when it has grown to twice its live size.
 *
 * @module
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { FileStamp } from "./fileset.ts";

/** What is remembered of a job's last success. */
export interface Entry {
  job: string;
  /** Hash of the command, env, cwd and declared resources. */
  fp: string;
  inputs: Record<string, FileStamp | null>;
  outputs: Record<string, FileStamp | null>;
}

/** The state of one directory's jobs. */
export class StateStore {
  readonly entries = new Map<string, Entry>();
  private lines = 0;
  private fd?: number;
  readonly dir: string;

  constructor(baseDir: string) {
    this.dir = join(baseDir, ".jx");
    const path = join(this.dir, "state.ndjson");
    if (!existsSync(path)) return;
    for (const line of readFileSync(path, "utf8").split("\n")) {
      if (!line) continue;
      try {
        const e = JSON.parse(line) as Entry;
        if (typeof e.job === "string" && typeof e.fp === "string") this.entries.set(e.job, e);
        this.lines++;
      } catch {
        // A torn line from an interrupted write: ignore it.
      }
    }
  }

  /** Records a success (appended at once). */
  put(e: Entry): void {
    this.entries.set(e.job, e);
    if (this.fd === undefined) {
      mkdirSync(this.dir, { recursive: true });
      this.fd = openSync(join(this.dir, "state.ndjson"), "a");
    }
    writeSync(this.fd, JSON.stringify(e) + "\n");
    this.lines++;
  }

  /** Flushes to disk; compacts when the log holds many stale lines. */
  close(): void {
    if (this.fd !== undefined) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    }
    if (this.lines > 1000 && this.lines > 2 * this.entries.size) {
      const path = join(this.dir, "state.ndjson");
      const tmp = `${path}.${process.pid}.tmp`;
      const fd = openSync(tmp, "w");
      writeSync(fd, [...this.entries.values()].map((e) => JSON.stringify(e) + "\n").join(""));
      fsyncSync(fd);
      closeSync(fd);
      renameSync(tmp, path);
      this.lines = this.entries.size;
    }
  }
}
