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
import { join } from "../runtime/path.ts";
import { JxInputError } from "../runtime/errors.ts";
import { myUid } from "../runtime/owned.ts";
import type { FileStamp } from "./fileset.ts";
import { checkStatePath, stateDir, stderrWarn, type Warn } from "./guard.ts";
import { racyStamps, readText } from "./stat.ts";
import { lastIndexOfBytes } from "../runtime/bytes.ts";
import { ignoreStateDir, pid, renameSync } from "../runtime/mod.ts";
import { type OpenFile, openFile, removePath } from "../runtime/files.ts";

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

/** How jx ends a line that a killed run left torn, before it appends (never valid JSON). */
const TORN = " #torn";

/**
 * Where a row's `["name",` ends (just after the comma), the name being a
 * JSON string that may hold commas and escaped quotes; -1 when the line
 * does not start so.
 */
function nameEnd(text: string, start: number): number {
  if (text[start] !== "[" || text[start + 1] !== '"') return -1;
  for (let at = start + 2;;) {
    const q = text.indexOf('"', at);
    if (q < 0) return -1;
    let slashes = 0;
    while (text[q - 1 - slashes] === "\\") slashes++;
    if (slashes % 2 === 0) return text[q + 1] === "," ? q + 2 : -1;
    at = q + 1;
  }
}

/** The state logs whose damage this process has warned about (see `StateStore.damaged`). */
const warnedDamage = new Set<string>();

/** The job a line names, when it starts as a row does (`["name",`), else undefined. */
function jobOf(text: string, start: number): string | undefined {
  const end = nameEnd(text, start);
  if (end < 0) return undefined;
  try {
    return JSON.parse(text.slice(start + 1, end - 1));
  } catch {
    return undefined;
  }
}

/** Jobs past which a partial read (`only`) scans every line rather than searching for each. */
const FEW = 64;
/** The bytes a partial read (`only`) reads at a time, from the end of the log. */
const CHUNK = 64 * 1024;
/** Whether `data` starts with `after` but its first byte (a newline). */
function startsLine(data: Uint8Array, after: Uint8Array): boolean {
  if (data.length < after.length - 1) return false;
  for (let k = 1; k < after.length; k++) if (data[k - 1] !== after[k]) return false;
  return true;
}

/** Slots per file in a row, and where the first file starts. */
export const SLOTS = 5, FIRST = 3;

/** Whether a parsed line has the shape of a row (and is not torn or an older jx's). */
function isRow(r: unknown): r is Row {
  if (!Array.isArray(r) || typeof r[0] !== "string" || typeof r[1] !== "string") return false;
  const n = r[2];
  if (!Number.isInteger(n) || n < 0 || (r.length - FIRST) % SLOTS !== 0) return false;
  if (n * SLOTS > r.length - FIRST) return false;
  for (let i = FIRST; i < r.length; i += SLOTS) if (!isFileSlot(r, i)) return false;
  return true;
}

/** Whether the five slots at `i` are a path and its stamp (size `null` when it was absent). */
function isFileSlot(r: unknown[], i: number): boolean {
  if (typeof r[i] !== "string") return false;
  if (r[i + 1] === null) return true;
  return typeof r[i + 1] === "number" && typeof r[i + 2] === "number" &&
    typeof r[i + 3] === "number" && (r[i + 4] === null || typeof r[i + 4] === "string");
}

function encodeFiles(row: Row, files: Record<string, FileStamp | null>): void {
  for (const [p, s] of Object.entries(files)) {
    if (s) row.push(p, s[0], s[1], s[2], hashSlot(s));
    else row.push(p, null, 0, 0, null);
  }
}

/**
 * A stamp's last slot: its hash, then `@` and its ctime when it has one
 * (`"3f2a...@1733350000123"`, `"@1733350000123"`), or null with neither: a
 * row keeps its five slots per file, and an older jx's line (no ctime) reads
 * as before.
 */
function hashSlot(s: FileStamp): string | null {
  if (s[4] === undefined) return s[3] ?? null;
  // Taken within its filesystem's coarse tick (stat.ts `racyStamps`): a ctime no file has, so
  // that the next check hashes it (an edit in the same second keeps every number of the stamp).
  return `${s[3] ?? ""}@${racyStamps.has(s) ? 0 : s[4]}`;
}

/**
 * The hash and the ctime of a row's last slot for a file (see `hashSlot`).
 *
 * @example
 * ```ts
 * import { readHashSlot } from "./store.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(readHashSlot("ab12@1700000000123"), ["ab12", 1700000000123]);
 * assertEquals(readHashSlot("@5"), [undefined, 5]);
 * assertEquals(readHashSlot("ab12"), ["ab12", undefined]);
 * assertEquals(readHashSlot(null), [undefined, undefined]);
 * ```
 */
export function readHashSlot(
  slot: unknown,
): [hash: string | undefined, ctimeMs: number | undefined] {
  if (typeof slot !== "string") return [undefined, undefined];
  const at = slot.indexOf("@");
  if (at < 0) return [slot || undefined, undefined];
  const c = digitsAt(slot, at + 1);
  return [slot.slice(0, at) || undefined, Number.isNaN(c) ? undefined : c];
}

/**
 * The whole number written in `s` from `from` on, NaN when anything but
 * digits is there (a slot's ctime, read without a string made: check.ts
 * reads 20,000 of them in a no-op of 10,000 jobs).
 *
 * @example
 * ```ts
 * import { digitsAt } from "./store.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(digitsAt("ab@123", 3), 123);
 * assertEquals(digitsAt("ab@", 3), NaN);
 * assertEquals(digitsAt("ab@1e3", 3), NaN);
 * ```
 */
export function digitsAt(s: string, from: number): number {
  let n = 0;
  for (let k = from; k < s.length; k++) {
    const d = s.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return from < s.length ? n : NaN;
}

/** The stamp of a row's file at slot `i` (its size not null). */
export function rowStamp(row: Row, i: number): FileStamp {
  const s: FileStamp = [row[i + 1] as number, row[i + 2] as number, row[i + 3] as number];
  const [hash, ctime] = readHashSlot(row[i + 4]);
  if (hash !== undefined) s[3] = hash;
  if (ctime !== undefined) s[4] = ctime;
  return s;
}

/** A row as an `Entry`. */
export function decodeRow(row: Row): Entry {
  const inputs: Record<string, FileStamp | null> = {};
  const outputs: Record<string, FileStamp | null> = {};
  const n = row[2] as number;
  for (let k = 0, i = FIRST; i < row.length; k++, i += SLOTS) {
    const s = row[i + 1] === null ? null : rowStamp(row, i);
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
  private file?: OpenFile;
  readonly dir: string;

  /** Whether the log ends in the middle of a line (a torn last write). */
  private torn = false;
  /** Whether the log held damaged lines: rewritten without them at `close`. */
  private rewrite = false;
  /**
   * A partial read of the whole log (`only`, more than a few jobs): the other jobs' last lines
   * that look like rows, as they are, so that it can compact the log too (each checked then).
   * Partial runs alone (an edit, a run, again) grew it by a line per job run, for ever.
   */
  private others?: Map<string, string>;

  /**
   * Reads `baseDir/.jx/state.ndjson`. Damaged state (a folder where the log
   * should be, lines of the wrong shape) gets one warning through `warn`
   * and is left out (a job with no line left runs again; see `damaged`). A link or another user's file
   * throws `JxInputError`. With `only`, the rows of those jobs alone are
   * parsed (a partial run checks a few jobs of many), other lines are
   * counted unseen; a read of the whole log (more than a few jobs) keeps their last lines as
   * they are, so that the log can be compacted all the same (`othersAreRows`).
   */
  constructor(
    private baseDir: string,
    private warn: Warn = stderrWarn,
    private only?: ReadonlySet<string>,
  ) {
    this.dir = join(baseDir, ".jx");
    const path = join(this.dir, "state.ndjson");
    if (checkStatePath(this.dir, "dir", warn) === "absent") return;
    if (checkStatePath(path, "file", warn) === "absent") return;
    if (only && only.size <= FEW) {
      this.findRows(path, only);
      return;
    }
    const text = readText(path);
    this.torn = text.length > 0 && !text.endsWith("\n");
    // A row starts with its job's name as JSON: `["name",`.
    const wanted = only && new Set([...only].map((n) => `[${JSON.stringify(n)},`));
    if (wanted) this.others = new Map();
    const damaged: (string | undefined)[] = [];
    for (let at = 0; at < text.length;) {
      let end = text.indexOf("\n", at);
      if (end < 0) end = text.length;
      const start = at;
      at = end + 1;
      if (end === start) continue;
      this.lines++;
      if (wanted) {
        const name = nameEnd(text, start);
        if (!wanted.has(text.slice(start, name))) {
          if (name > 0 && end < text.length && text[end - 1] === "]") {
            this.others!.set(text.slice(start, name), text.slice(start, end));
          }
          continue;
        }
      }
      const line = text.slice(start, end);
      // An older jx's line, or a torn line a later run ended: ignored quietly.
      if (this.take(line) || line[0] === "{" || line.endsWith(TORN)) continue;
      if (end < text.length) damaged.push(jobOf(text, start)); // not a killed run's torn last line
    }
    if (damaged.length) this.damaged(path, damaged);
  }

  /**
   * Damaged lines met (each one's job, when its name can be read): one warning, which claims a
   * rerun only for a job left with no line at all. A full read has the log rewritten without
   * them when it is closed (`compact`), so that the next run meets no damage and says nothing;
   * a partial read (`only`) cannot rewrite it, and says something only when a job lost its line.
   */
  private damaged(path: string, jobs: (string | undefined)[]): void {
    const lost = [...new Set(jobs)].filter((j) => j !== undefined && !this.rows.has(j));
    this.rewrite = !this.only;
    if (this.only && !lost.length) return;
    if (warnedDamage.has(path)) return; // once per process (jx ui reads the log twice)
    warnedDamage.add(path);
    const names = lost.slice(0, 3).map((j) => JSON.stringify(j)).join(", ") +
      (lost.length > 3 ? ` and ${lost.length - 3} more` : "");
    const rerun = lost.length ? `; no record left of ${names}: out of date` : "";
    this.warn(`${path}: ${jobs.length} damaged line(s) ignored${rerun}`);
  }

  /**
   * Takes the last row of each of a few jobs, found from the end of the
   * log (a later line of a job replaces its earlier ones; a line that is
   * not a row is passed over, as the full read ignores it). Read backwards
   * a chunk at a time into one buffer, stopping once every job is found: a
   * partial run of a few jobs reads the last lines of a log of 10,000 jobs,
   * and never pays for the whole file's memory (fresh pages cost more than
   * the read itself).
   */
  private findRows(path: string, jobs: ReadonlySet<string>): void {
    const enc = new TextEncoder(), dec = new TextDecoder();
    // Each job's row prefix after the newline that ends the line before.
    const left = new Map([...jobs].map((j) => [j, enc.encode(`\n[${JSON.stringify(j)},`)]));
    const f = openFile(path, "read");
    try {
      let pos = f.stat().size;
      let buf = new Uint8Array(Math.min(pos, CHUNK) + 4096);
      // The start of the file's next line (read before, from the chunk after this one), its
      // bytes kept until the chunk that holds the rest of it is read.
      let carry = new Uint8Array(0);
      const last = new Uint8Array(1);
      this.torn = pos > 0 && f.readAt(last, 0, 1, pos - 1) === 1 && last[0] !== 0x0a;
      while (pos > 0 && left.size) {
        const n = Math.min(pos, CHUNK);
        pos -= n;
        if (buf.length < n + carry.length) buf = new Uint8Array(n + carry.length);
        for (let got = 0; got < n;) {
          const k = f.readAt(buf, got, n - got, pos + got);
          if (k <= 0) return; // cut short under jx (not by a run: a run renames): those jobs run
          got += k;
        }
        buf.set(carry, n);
        const data = buf.subarray(0, n + carry.length);
        // Whole lines from just after the first newline (from 0 at the file's start), last first.
        const first = pos === 0 ? -1 : data.indexOf(0x0a);
        if (pos > 0 && first < 0) {
          carry = data.slice(); // the middle of one long line
          continue;
        }
        this.takeLinesBackward(data, first + 1, left, dec);
        carry = first < 0 ? new Uint8Array(0) : data.slice(0, first);
      }
    } finally {
      f.close();
    }
  }

  /**
   * Takes, for each job still looked for, the last of its rows among the
   * whole lines of `data` from `from` on (a line of its that is not a row
   * is passed over, for one before it): each job's `\n[name,` searched for
   * from the end (`lastIndexOfBytes`, native on Bun), not line by line.
   */
  private takeLinesBackward(
    data: Uint8Array,
    from: number,
    left: Map<string, Uint8Array>,
    dec: TextDecoder,
  ): void {
    for (const [job, after] of left) {
      for (let pos = data.length - 1, first = from === 0;;) {
        const at = lastIndexOfBytes(data, after, pos);
        let start: number;
        if (at >= 0 && at + 1 >= from) start = at + 1, pos = at - 1;
        else if (first && startsLine(data, after)) start = 0, first = false, pos = -1;
        else break;
        const end = data.indexOf(0x0a, start);
        if (this.take(dec.decode(data.subarray(start, end < 0 ? data.length : end)))) {
          left.delete(job);
          break;
        }
      }
    }
  }

  /** Takes one line into `rows`: false when it is not a row. */
  private take(line: string): boolean {
    try {
      const r = JSON.parse(line);
      if (!isRow(r)) return false;
      this.rows.set(r[0] as string, r);
      return true;
    } catch {
      return false;
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
    if (this.file === undefined) this.file = this.open();
    try {
      // A torn last line (a killed run's, or a write that failed) is ended first.
      this.file.write((this.torn ? TORN + "\n" : "") + JSON.stringify(row) + "\n");
    } catch (e) {
      this.torn = true; // a part of the line may be on disk
      throw e;
    }
    this.torn = false;
    this.rows.set(row[0] as string, row);
    this.lines++;
  }

  /**
   * Opens the log to append, never through a link (O_NOFOLLOW), and checks
   * that what was opened is our own file.
   */
  private open(): OpenFile {
    const dir = stateDir(this.baseDir, this.warn);
    ignoreStateDir(dir); // a .jx/ an older jx made has no .gitignore
    const path = join(dir, "state.ndjson");
    checkStatePath(path, "file", this.warn);
    const f = openFile(path, "append");
    const st = f.stat();
    const me = myUid();
    if (!st.isFile || (me >= 0 && st.uid !== me)) {
      f.close();
      throw new JxInputError(
        `${path} changed under jx (not a file of this user's): not writing to it`,
      );
    }
    return f;
  }

  /**
   * Closes the log; compacts it when it holds many stale lines. Not synced to
   * disk (as ninja's log is not): the outputs it describes are not either, so
   * a sync would vouch for nothing, and it cost 1-100 ms per run. After a
   * machine crash, lines not yet on disk are lost, and their jobs run again.
   */
  close(): void {
    if (this.file !== undefined) {
      this.file.close();
      this.file = undefined;
    }
    const kept = this.rows.size + (this.others?.size ?? 0);
    const stale = this.lines > 1000 && this.lines > 2 * kept;
    if (!this.only ? stale || this.rewrite : stale && this.othersAreRows()) this.compact();
  }

  /**
   * Whether every line kept for another job (`others`) is a row, as a full read takes it, and
   * none is of a job this run wrote a row for: else no compaction (it could lose a job's row).
   */
  private othersAreRows(): boolean {
    if (!this.others) return false;
    for (const [prefix, line] of this.others) {
      try {
        const r = JSON.parse(line);
        if (!isRow(r) || `[${JSON.stringify(r[0])},` !== prefix || this.rows.has(r[0] as string)) {
          return false;
        }
      } catch {
        return false;
      }
    }
    return true;
  }

  /**
   * Rewrites the log with one line per row (a temp file, then a rename).
   * When that fails (a full disk) the log stays as it was, still whole, and
   * the temp file is removed.
   */
  private compact(): void {
    const path = join(this.dir, "state.ndjson");
    const tmp = `${path}.${pid()}.tmp`;
    let f: OpenFile | undefined;
    try {
      f = openFile(tmp, "write");
      const others = [...this.others?.values() ?? []].map((line) => line + "\n").join("");
      f.write([...this.rows.values()].map((r) => JSON.stringify(r) + "\n").join("") + others);
      f.sync();
      const opened = f;
      f = undefined;
      opened.close();
      renameSync(tmp, path);
      this.lines = this.rows.size + (this.others?.size ?? 0);
      this.rewrite = false;
      warnedDamage.delete(path); // damage met again later is new
    } catch {
      // Each step on its own: the log is whole either way; the temporary file goes if it can.
      try {
        f?.close();
      } catch { /* closed already */ }
      try {
        removePath(tmp);
      } catch { /* not made, or not ours to remove */ }
    }
  }
}
