/**
 * The facade a runner calls. The integration, step by step:
 *
 * ```
 * const cache = openCache(config);                       // once per run (null: cache off)
 * // before starting a cacheable job (cacheable(job)):
 * const l = await cache.lookup(job, ctx);
 * if (l.kind === "hit") {
 *   const r = await cache.restore(l, job, ctx.baseDir, owners, stop); // stop: an AbortSignal
 *   if (r.kind === "restored") {                         // no process: job.end ok, cache: l.source
 *     replay(r.output); finish(job, { cache: l.source, savedMs: r.durationMs });
 *     return;
 *   }              // refused: one warning was printed, run it; stopped: end it as stopped
 * }
 * // ... run the job, keeping its output chunks ...
 * if (exit === 0) cache.record(job, l, ctx.baseDir, { exit, durationMs, output });
 * // at the run's end:
 * await cache.close();                                   // waits for uploads, at most uploadWaitMs
 * ```
 *
 * Nothing here throws for a store that fails or lies: the outcome is a
 * miss, a refused restore or a skipped upload, with one warning line.
 *
 * @module
 */
import { resolve } from "node:path";
import { noteHash, stamp } from "../state/mod.ts";
import { ioReason } from "../runtime/errors.ts";
import { umask } from "../runtime/mod.ts";
import {
  CacheRefusal,
  collectOutputs,
  digestOf,
  inside,
  type Output,
  refuseOutputs,
  refuseShape,
  relPath,
  stageOutputs,
  writeOutputs,
  WriteOwners,
} from "./archive.ts";
import { blobsOf, type Entry, isEntry, joinLog, type OutputChunk, splitLog } from "./entry.ts";
import { RemoteDown, RemoteError, type RemoteStore } from "./http.ts";
import {
  asStored,
  type CacheJob,
  changedInputs,
  diffParts,
  type InputStamps,
  type KeyContext,
  keyOf,
  type KeyParts,
  keyParts,
  storedParts,
  storeUnder,
  writtenBy,
} from "./key.ts";
import { BadBlob, type LocalStore } from "./local.ts";

/**
 * The errors of a file call in the local store that every later store would
 * meet too: no permission, a read-only or full filesystem, a file where a
 * folder of the store should be.
 */
const STORE_DOWN = new Set(["EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "ENOTDIR", "EEXIST"]);

/**
 * A failed file call in the same words on every runtime (a full disk: "no
 * space left on device"), where Deno and Bun word it apart, with the file
 * of the store (or of the job) that failed when the error names it.
 */
function storeFailure(e: unknown): string {
  const where = (e as { path?: unknown })?.path;
  return typeof where === "string" ? `${where}: ${ioReason(e)}` : ioReason(e);
}

/** What `lookup` answers. */
export type Lookup =
  | {
    kind: "hit";
    source: "local" | "remote";
    key: string;
    parts: KeyParts;
    entry: Entry;
    /** The inputs' stamps as they were hashed for the key (see `record`). */
    stamps?: InputStamps;
  }
  | { kind: "miss"; key: string; parts: KeyParts; why: string; stamps?: InputStamps };

/**
 * What `restore` answers: the log to show and the time saved; or why nothing
 * was restored (warned already: the job runs); or that its `stop` came
 * before anything was put in place (the job is to end as stopped).
 */
export type Restored =
  | { kind: "restored"; output: OutputChunk[]; durationMs: number }
  | { kind: "refused"; why: string }
  | { kind: "stopped" };

/** What a finished job hands to `record`. */
export interface JobResult {
  /** Exit code: only 0 is stored. */
  exit: number;
  /** How long it ran. */
  durationMs: number;
  /** Its output, in the order it came. */
  output: OutputChunk[];
  /**
   * Set when its output passed `Cache.maxLogBytes` and was no longer kept
   * (`output` is then partial): nothing is stored, with one warning.
   */
  outputCut?: boolean;
}

/**
 * The most bytes of a job's output (stdout and stderr together) kept to be
 * stored with its entry (64 MiB). A job's output is kept in memory until it
 * ends, twice over as it is stored, and a restore replays it from memory: a
 * job printing gigabytes (a test run at its most verbose) took jx's memory
 * with it. Past it the job is not stored, with one warning.
 */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;

/** How a run's cache is set up. */
export interface CacheOptions {
  /** The local store. */
  local: LocalStore;
  /** The remote store, if any. */
  remote?: RemoteStore | null;
  /** Never upload. */
  readOnly?: boolean;
  /** Uploads in flight at once (default 4). */
  uploadConcurrency?: number;
  /** How long `close()` waits for uploads still running (default 30 s); then they are dropped. */
  uploadWaitMs?: number;
  /** Prints one warning line (without a trailing newline). */
  warn: (line: string) => void;
  /** The most bytes of a job's output kept to be stored (default `MAX_LOG_BYTES`). */
  maxLogBytes?: number;
}

/** What `jx explain` shows of a job's key. */
export interface Explained {
  /** The key now. */
  key: string;
  /** Its parts. */
  parts: KeyParts;
  /** Whether the local store holds an entry for it. */
  stored: boolean;
  /** The last key stored for this job in this project, if any. */
  lastKey?: string;
  /** What differs from that key's parts (empty when it is the same key). */
  differs: string[];
}

/** One run's cache: the local store, maybe a remote one, and the uploads in flight. */
export class Cache {
  private remote: RemoteStore | null;
  private uploads = new Set<Promise<void>>();
  private queue: (() => Promise<void>)[] = [];
  /** The server refused an upload for want of rights: no more this run. */
  private uploadsOff = false;
  /** The local store cannot be written (`STORE_DOWN`): nothing more is stored this run. */
  private storesOff = false;

  constructor(private o: CacheOptions) {
    this.remote = o.remote ?? null;
  }

  /** The local store. */
  get local(): LocalStore {
    return this.o.local;
  }

  /** `ctx` naming this cache's local store (no input of any key: `storeUnder`). */
  inStore(ctx: KeyContext): KeyContext {
    return { ...ctx, store: this.o.local.dir };
  }

  /** The most bytes of a job's output kept to be stored with it (`MAX_LOG_BYTES`). */
  get maxLogBytes(): number {
    return this.o.maxLogBytes ?? MAX_LOG_BYTES;
  }

  /**
   * A remote failure: one warning; a server that is down or refuses is not
   * asked again this run (requests already in flight to it fail silently).
   */
  private remoteFailed(e: unknown, what: string, store: RemoteStore): void {
    if (!(e instanceof RemoteError)) throw e;
    if (store !== this.remote) return; // dropped already: warned once
    const label = store.label;
    if (e instanceof RemoteDown) {
      this.o.warn(
        `jx: warning: ${label}: ${what}: ${e.message}; not used for the rest of this run`,
      );
      this.remote = null;
    } else this.o.warn(`jx: warning: ${label}: ${what}: ${e.message}; not used`);
  }

  /**
   * Whether `e` is a failed file call inside the local store that every
   * store would meet too (`STORE_DOWN`).
   */
  private storeDown(e: unknown): boolean {
    const where = (e as { path?: unknown })?.path, code = (e as { code?: unknown })?.code;
    if (typeof where !== "string" || !STORE_DOWN.has(`${code}`)) return false;
    // In it, or a folder on its way that could not be made (Bun names the first of a mkdir -p).
    const dir = resolve(this.o.local.dir), at = resolve(where);
    return inside(dir, at) || inside(at, dir);
  }

  /**
   * The key of `job` now, then the local store, then the remote one (whose
   * hit is copied locally). `stop` aborted (jx stopped) cuts the remote
   * lookup short, what it downloaded removed: a miss, without a warning.
   */
  async lookup(job: CacheJob, ctx: KeyContext, stop?: AbortSignal): Promise<Lookup> {
    const stamps: InputStamps = new Map();
    const parts = keyParts(job, this.inStore(ctx), stamps);
    const key = keyOf(parts);
    // A corrupt entry: one warning, and the job runs (or the remote store answers).
    const local = this.o.local.getEntry(
      key,
      (why) => this.o.warn(`jx: warning: ${job.name}: ${why}`),
    );
    // Every blob there, the log's too (a missing one: the remote store may have it).
    const complete = local && blobsOf(local).every((d) => this.o.local.hasBlob(d));
    if (local && complete) {
      return { kind: "hit", source: "local", key, parts, entry: local, stamps };
    }
    const remote = this.remote;
    if (remote) {
      try {
        const got = await remote.get(key, this.o.local, stop);
        if (got) {
          const entry = { ...got, job: got.job || job.name, parts, outputs: ownModes(got.outputs) };
          // What a server sends is checked as the local store checks what it reads back.
          if (!isEntry(entry)) throw new RemoteError("a malformed entry");
          this.o.local.putEntry(entry);
          return { kind: "hit", source: "remote", key, parts, entry, stamps };
        }
      } catch (e) {
        if (stop?.aborted && e instanceof RemoteError) {
          // Cut short by jx's stop, not the server's doing: nothing to say.
        } else if (this.storeDown(e)) {
          // Every remote hit is written to the local store before it is restored: none can be.
          if (this.remote) {
            this.o.warn(
              `jx: warning: cache: cannot write ${this.o.local.dir}: ${
                storeFailure(e)
              }; the remote store is not used and nothing is stored this run`,
            );
          }
          this.remote = null;
          this.storesOff = true;
        } else this.remoteFailed(e, `entry ${key.slice(0, 12)} for ${job.name}`, remote);
      }
    }
    const why = this.missWhy(job, ctx.baseDir, key, parts);
    return { kind: "miss", key, parts, why, stamps };
  }

  private missWhy(job: CacheJob, baseDir: string, key: string, parts: KeyParts): string {
    const last = this.o.local.getLast(baseDir, job.name);
    if (!last) return "never stored";
    if (last.key === key) return "the stored entry is gone";
    const d = diffParts(asStored(last.parts), storedParts(parts));
    return d.length ? `differs from the last stored key: ${d.join("; ")}` : "key changed";
  }

  /**
   * Writes a hit's outputs (only inside the job's `writes`) and gives back
   * its log. Every file is first copied from its blob into a temporary file
   * beside its destination and checked there against the blob's digest; only
   * when all are staged are they renamed into place. A missing or corrupt
   * blob (removed from the store) refuses the whole entry with nothing of
   * the project changed and no temporary file left. Then what else the
   * job's `writes` hold of its own (not in the entry; not what `owners`
   * says other jobs write there, as `record` skips it) is removed: its
   * folders hold what the entry holds. Without `owners`, the job is taken
   * as the only one writing there. While it stages, a restore that has
   * held the event loop for `RESTORE_SLICE_MS` gives it a turn before the
   * next file (or the renames), where a stop signal is heard; once `stop`
   * is aborted (seen there), it ends `stopped`, its temporary files removed
   * and nothing of the project changed. The renames take no turn.
   */
  async restore(
    hit: Extract<Lookup, { kind: "hit" }>,
    job: CacheJob,
    baseDir: string,
    owners?: WriteOwners,
    stop?: AbortSignal,
  ): Promise<Restored> {
    const refuse = (why: string): Restored => {
      this.o.warn(
        `jx: warning: cache entry ${hit.key.slice(0, 12)} for ${job.name} not restored: ${why}`,
      );
      return { kind: "refused", why };
    };
    try {
      // An entry no run of the job could have left (an output outside its `writes`, a link out
      // of them, a path below a file), which its key covers: a lie under this key, never to be
      // offered again (a remote server's was kept here by the lookup).
      const lie = refuseShape(hit.entry.outputs, job.writes) ?? this.refuseLog(hit.entry);
      if (lie) {
        this.o.local.dropEntry(hit.key);
        return refuse(lie);
      }
      // What stands in the way on this disk (a link, a folder of the user's) is not the entry's
      // doing: it stays.
      const why = refuseOutputs(hit.entry.outputs, job.writes, baseDir);
      if (why) return refuse(why);
      return await this.putOutputs(hit, job, baseDir, owners ?? new WriteOwners([job]), stop);
    } catch (err) {
      if (err instanceof RestoreStopped) return { kind: "stopped" };
      if (err instanceof BadBlob) return refuse(err.message);
      return refuse(`cannot write: ${(err as Error).message}`);
    }
  }

  /**
   * Why an entry's log is more than a job's output is ever stored with
   * (`maxLogBytes`, stdout and stderr together), or null: a remote store's
   * lie (1 GiB of stdout was read whole into memory and replayed as the
   * job's output).
   */
  private refuseLog(e: Entry): string | null {
    const size = (d: string | null) => (d ? this.o.local.blobSize(d) ?? 0 : 0);
    const bytes = size(e.log.stdout) + size(e.log.stderr);
    return bytes > this.maxLogBytes
      ? `its output is ${bytes} bytes, over the ${this.maxLogBytes} a job's output is stored up to`
      : null;
  }

  /** `restore`'s work once the entry's paths are known to be the job's: staged, then put. */
  private async putOutputs(
    hit: Extract<Lookup, { kind: "hit" }>,
    job: CacheJob,
    baseDir: string,
    who: WriteOwners,
    stop?: AbortSignal,
  ): Promise<Restored> {
    const e = hit.entry, local = this.o.local, inStore = storeUnder(local.dir, baseDir);
    const stdout = e.log.stdout ? local.readBlob(e.log.stdout) : new Uint8Array();
    const stderr = e.log.stderr ? local.readBlob(e.log.stderr) : new Uint8Array();
    const copy = (d: string, t: string) => local.copyBlob(d, t);
    const staged = await stageOutputs(e.outputs, baseDir, copy, pacer(stop), job.writes);
    writeOutputs(e.outputs, baseDir, staged, {
      writes: job.writes,
      othersOwn: (p) => who.othersOwn(job, p) || inStore(p),
    });
    // The up-to-date state then records these files without reading them again.
    for (const o of e.outputs) if (o.kind === "file") noteHash(baseDir, o.path, o.digest);
    try {
      local.setLast(baseDir, job.name, hit.key, hit.parts); // for explain only
    } catch { /* explain then compares with an older key */ }
    return {
      kind: "restored",
      output: joinLog(stdout, stderr, e.log.order),
      durationMs: e.durationMs,
    };
  }

  /**
   * Stores a successful job's outputs (each file copied into the store and
   * hashed once, as copied) and log under the missed key, then queues its
   * upload. What `owners` says other jobs write into its folders is not its own.
   */
  record(
    job: CacheJob,
    miss: { key: string; parts: KeyParts; stamps?: InputStamps },
    baseDir: string,
    r: JobResult,
    owners?: WriteOwners,
  ): void {
    if (r.exit !== 0 || this.storesOff) return;
    if (r.outputCut) {
      const max = this.maxLogBytes;
      const size = max % 1048576 ? `${max} bytes` : `${max / 1048576} MiB`;
      return this.o.warn(
        `jx: warning: ${job.name} not stored in the cache: its output passed ${size}`,
      );
    }
    // An input edited, made or removed while the job ran: its outputs may not be what the key says.
    const changed = miss.stamps
      ? changedInputs(miss.stamps, baseDir, job, storeUnder(this.o.local.dir, baseDir))
      : [];
    if (changed.length) return this.o.warn(changedWarning(job, changed));
    let entry: Entry;
    try {
      entry = this.store(job, miss, baseDir, r, owners);
    } catch (e) {
      const why = e instanceof CacheRefusal || e instanceof BadBlob ? e.message : storeFailure(e);
      // The store itself cannot be written (a HOME that is not writable, a full disk): every
      // job would say so; once is enough.
      if (this.storeDown(e)) {
        this.storesOff = true;
        this.o.warn(
          `jx: warning: ${job.name} not stored in the cache: ${why}; nothing more is stored there this run`,
        );
        return;
      }
      this.o.warn(`jx: warning: ${job.name} not stored in the cache: ${why}`);
      return;
    }
    if (this.remote && !this.o.readOnly && !this.uploadsOff) this.enqueue(entry);
  }

  /** `record`'s entry: the outputs and the log's blobs put in the local store, then the entry. */
  private store(
    job: CacheJob,
    miss: { key: string; parts: KeyParts },
    baseDir: string,
    r: JobResult,
    owners?: WriteOwners,
  ): Entry {
    const local = this.o.local;
    const take = (abs: string) => {
      const rel = relPath(baseDir, abs), before = stamp(baseDir, rel);
      const got = local.putFile(abs);
      if (before) noteHash(baseDir, rel, got.digest, before);
      return got;
    };
    const inStore = storeUnder(local.dir, baseDir);
    const c = collectOutputs(
      job.writes,
      baseDir,
      take,
      (p) => (owners?.othersOwn(job, p) ?? false) || inStore(p),
    );
    const log = splitLog(r.output);
    const put = (b: Uint8Array) => {
      if (!b.length) return null;
      const d = digestOf(b);
      local.putBlob(b, d);
      return d;
    };
    const entry: Entry = {
      v: 1,
      key: miss.key,
      job: job.name,
      createdMs: Date.now(),
      exit: 0,
      durationMs: r.durationMs,
      outputs: c.outputs,
      log: { stdout: put(log.stdout), stderr: put(log.stderr), order: log.order },
      parts: miss.parts,
    };
    local.putEntry(entry);
    try {
      local.setLast(baseDir, job.name, miss.key, miss.parts); // for explain only
    } catch { /* stored all the same (and uploaded): explain then compares with an older key */ }
    return entry;
  }

  /**
   * The server refuses this token's uploads (401/403 to a PUT: a read-only
   * token or server; 404: no such place to put anything, a wrong path; a
   * redirect, which an upload never follows: http to https, another host):
   * one warning, no further upload; its lookups go on.
   */
  private uploadsRefused(e: RemoteError, store: RemoteStore): void {
    if (this.uploadsOff || store !== this.remote) return;
    this.uploadsOff = true;
    this.queue.length = 0;
    this.o.warn(
      `jx: warning: ${store.label}: ${e.message}; uploads refused: none for the rest of this run`,
    );
  }

  private enqueue(entry: Entry): void {
    this.queue.push(async () => {
      const remote = this.remote;
      if (!remote) return;
      try {
        await remote.put(entry, this.o.local);
      } catch (e) {
        if (e instanceof BadBlob) return;
        // 404 to a PUT: nowhere to upload (a wrong path or prefix), for every entry alike.
        if (e instanceof RemoteError && refusesUploads(e.status)) {
          return this.uploadsRefused(e, remote);
        }
        this.remoteFailed(e, `upload of ${entry.job}`, remote);
      }
    });
    this.pump();
  }

  private pump(): void {
    while (this.queue.length && this.uploads.size < (this.o.uploadConcurrency ?? 4)) {
      const p: Promise<void> = this.queue.shift()!().finally(() => {
        this.uploads.delete(p);
        this.pump();
      });
      this.uploads.add(p);
    }
  }

  /** Uploads still queued or in flight. */
  get pendingUploads(): number {
    return this.queue.length + this.uploads.size;
  }

  /** The key's parts now and what differs from the last stored key. */
  explain(job: CacheJob, ctx: KeyContext): Explained {
    const parts = keyParts(job, this.inStore(ctx));
    const key = keyOf(parts);
    const last = this.o.local.getLast(ctx.baseDir, job.name);
    const differs = last && last.key !== key
      ? diffParts(asStored(last.parts), storedParts(parts))
      : [];
    return { key, parts, stored: this.o.local.getEntry(key) !== null, lastKey: last?.key, differs };
  }

  /**
   * Waits for the uploads, at most `uploadWaitMs` (default 30 s: the bound
   * on how long uploads hold up a run's end; one line says so once they
   * have taken a second), then trims the local store to its size limit.
   */
  async close(): Promise<void> {
    const waitMs = this.o.uploadWaitMs ?? 30_000;
    const deadline = Date.now() + waitMs, noteAt = Date.now() + UPLOAD_NOTE_MS;
    let noted = false;
    while (this.pendingUploads) {
      const now = Date.now(), left = deadline - now;
      if (left <= 0) break;
      if (!noted && now >= noteAt) {
        // Said once, so that a run that has printed its summary is not silent for seconds.
        noted = true;
        this.o.warn(
          `jx: waiting for ${uploads(this.pendingUploads)} (at most ${waitMs} ms in all)`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wait = noted ? left : Math.min(left, noteAt - now);
      const timeout = new Promise<void>((r) => timer = setTimeout(r, wait));
      await Promise.race([Promise.race(this.uploads), timeout]);
      clearTimeout(timer);
    }
    if (this.pendingUploads) {
      this.o.warn(
        `jx: warning: ${uploads(this.pendingUploads)} unfinished after ${
          this.o.uploadWaitMs ?? 30_000
        } ms: dropped`,
      );
      this.queue.length = 0;
      this.remote = null;
    }
    try {
      this.o.local.trim();
    } catch (e) {
      this.o.warn(`jx: warning: cache: trimming ${this.o.local.dir}: ${ioReason(e)}`);
    }
  }
}

/**
 * A remote entry's outputs with this process's umask taken off their modes
 * (as `git checkout` writes files): their modes were made on
 * another machine, under its umask (a Bazel entry's are 0644 or 0755
 * whatever it was), and a user whose umask keeps their files private (077)
 * got outputs every user could read, where the job makes them 0600. A
 * malformed output is left as it is, for `isEntry` to refuse.
 */
function ownModes(outputs: Output[]): Output[] {
  if (!Array.isArray(outputs)) return outputs;
  const mask = umask();
  return outputs.map((o) =>
    (o?.kind === "file" || o?.kind === "dir") && typeof o.mode === "number"
      ? { ...o, mode: o.mode & ~mask }
      : o
  );
}

/** Whether an answer of `status` to an upload refuses every upload alike (see `uploadsRefused`). */
const refusesUploads = (status = 0): boolean =>
  status === 401 || status === 403 || status === 404 || (status >= 300 && status < 400);

/**
 * How long a restore holds the event loop before it gives it a turn,
 * between two files: a Ctrl-C waits that long (and one file's copy, and
 * Deno's delivery: below) at most; a turn costs some 2.5 ms (`nextTurn`),
 * 5% of a long restore.
 */
export const RESTORE_SLICE_MS = 50;

/** A restore whose `stop` was aborted: nothing of it is put in place. */
class RestoreStopped extends Error {}

/**
 * A restore's `pause` (`stageOutputs`): after `RESTORE_SLICE_MS` without one, a
 * turn of the event loop, where a stop signal's listener runs; throws
 * `RestoreStopped` once `stop` is aborted.
 */
function pacer(stop?: AbortSignal): () => Promise<void> {
  let at = performance.now();
  return async () => {
    if (performance.now() - at >= RESTORE_SLICE_MS) {
      await nextTurn();
      at = performance.now();
    }
    if (stop?.aborted) throw new RestoreStopped("stopped");
  };
}

/**
 * Resolves after a turn of the event loop: a `setTimeout` (some 2.5 ms on
 * Deno). Deno hears a signal a few ms after it came, 3 to 35 ms measured
 * on a loaded machine: a turn or more after it, whatever kind of turn. A
 * message to itself (`MessageChannel`, 0.5 ms) is a turn that seldom lets
 * it in: a Ctrl-C was heard 1.4 s late, after some 60 such turns.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Uploads still under way this long after a run's end are said to be waited for (one line). */
const UPLOAD_NOTE_MS = 1000;

/**
 * Why a job's outputs are not stored: `changed` (its inputs edited, made or
 * removed while it ran); for its own output among its reads (a read glob over
 * what it writes), how to fix that.
 */
function changedWarning(job: CacheJob, changed: string[]): string {
  const own = changed.find((p) => writtenBy(job, p));
  const what = changed.length === 1 ? changed[0] : `${changed[0]} and ${changed.length - 1} more`;
  return own === undefined
    ? `jx: warning: ${job.name} not stored in the cache: ${what} changed while it ran`
    : `jx: warning: ${job.name} not stored in the cache: it reads ${own}, which it writes ` +
      `(a job's inputs are in its key: leave its outputs out of its reads)`;
}

/** `n` cache uploads, in words: "1 cache upload", "3 cache uploads". */
function uploads(n: number): string {
  return `${n} cache upload${n === 1 ? "" : "s"}`;
}
