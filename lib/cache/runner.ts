/**
 * `CacheRunner`: the output cache as a runner wrapping another (the
 * `LocalRunner`). The builder has already asked the up-to-date state, so an
 * up-to-date job never gets here (it is skipped, never restored). For a
 * cacheable job the runner looks its key up: on a hit it restores the
 * outputs, replays the stored log as the job's output and ends `restored`
 * (no process, no `job.start`); on a miss (or a refused restore) it runs the
 * job on the inner runner, keeps its output, and records the outputs when
 * it exits 0.
 *
 * @module
 */
import type { JobSpec } from "../graph/types.ts";
import type { StreamName } from "../reactor/types.ts";
import {
  type RunHandle,
  type Runner,
  type RunRequest,
  type RunSink,
  WrappingRunner,
} from "../scheduler/mod.ts";
import { type Cache, type Lookup, RESTORE_SLICE_MS } from "./cache.ts";
import type { OutputChunk } from "./entry.ts";
import type { WriteOwners } from "./archive.ts";
import { cacheable, type InputStamps, type KeyContext, keyOf, keyParts } from "./key.ts";

/**
 * How long after a long restore the run's end waits for a stop signal
 * (`CacheRunner.settle`): Deno heard one 3 to 35 ms after it came on a
 * loaded machine (once 90 ms); 20 ms costs a run that ends so at most that.
 */
const HEAR_MS = 20;

/** Whether the cache may take part in this attempt of `spec` at all. */
function usable(req: RunRequest): boolean {
  const s = req.spec;
  // A generator's stdout is jobs, a loop reruns on purpose, a retry follows a failure.
  if (s.kind !== "job" || s.emits || s.deferred || s.repeat || req.attempt > 1) return false;
  return cacheable(s);
}

/**
 * The longest a stop waits for the lookup it cut short (a remote
 * download, aborted) to remove what it wrote, before the attempt ends
 * anyway.
 */
const LOOKUP_STOP_MS = 1000;

/**
 * One attempt of a cacheable job before it runs (its lookup, its restore),
 * as the builder holds it: a stop while the key is looked up (a slow
 * remote) aborts the lookup and ends the attempt once the lookup has
 * removed what it downloaded (at most `LOOKUP_STOP_MS` later): ended at
 * once, jx exited with a partial blob left in the store's `tmp/`. A stop
 * during a restore stops the restore (`stop`, seen between files), which
 * ends it once nothing of it is left (`settle`). Once the job runs,
 * `handle` is its.
 */
class CacheAttempt implements RunHandle {
  /** The job on the inner runner, once it runs. */
  handle?: RunHandle;
  /** The signal that stopped the attempt before it ran, if one did. */
  stopped?: string;
  /** Aborted by that stop. */
  private ac = new AbortController();
  private inRestore = false;
  /** The key is being looked up (`looking`): a stop waits for it to end. */
  private inLookup = false;
  /** Ends an attempt whose lookup a stop aborted, should the lookup not end by then. */
  private lateStop?: ReturnType<typeof setTimeout>;
  private ended = false;

  constructor(private sink: RunSink) {}

  /** What a restore watches: aborted on a stop. */
  get stop(): AbortSignal {
    return this.ac.signal;
  }

  signal(sig: string): void {
    if (this.handle) return this.handle.signal(sig);
    if (this.stopped || this.ended) return;
    this.stopped = sig;
    this.ac.abort();
    if (this.inLookup) this.lateStop = setTimeout(() => this.settle(), LOOKUP_STOP_MS);
    else if (!this.inRestore) this.settle();
  }

  /** The job's, once it runs (a lookup or a restore is jx's own work: it stops with jx). */
  suspend(stopped: boolean): void {
    this.handle?.suspend?.(stopped);
  }

  /** Runs `lookup`, a stop meanwhile aborting it (`stop`) and ending the attempt when it ends. */
  async looking<T>(lookup: () => Promise<T>): Promise<T> {
    this.inLookup = true;
    try {
      return await lookup();
    } finally {
      this.inLookup = false;
      this.settle();
    }
  }

  /** Runs `restore` (true: the job was restored and has ended), a stop meanwhile left to it. */
  async restoring(restore: () => Promise<boolean>): Promise<boolean> {
    this.inRestore = true;
    try {
      return this.ended = await restore();
    } finally {
      this.inRestore = false;
    }
  }

  /** Ends the attempt as stopped (once). */
  settle(): void {
    if (this.ended || !this.stopped) return;
    this.ended = true;
    clearTimeout(this.lateStop);
    this.sink.ended({ kind: "exited", status: { code: null, signal: this.stopped } });
  }
}

/**
 * Restores cached jobs, runs the rest on `inner` and records their outputs.
 *
 * @example
 * ```ts
 * import { CacheRunner, openCache } from "./mod.ts";
 * import { createPortableReactor } from "../reactor/mod.ts";
 * import { LocalRunner, LocalSlots } from "../scheduler/mod.ts";
 * const dir = Deno.makeTempDirSync();
 * const cache = openCache({ cacheDir: `${dir}/store` }, {}, console.error)!;
 * const local = new LocalRunner(createPortableReactor(), new LocalSlots(2));
 * const runner = new CacheRunner(local, cache, { baseDir: dir, vars: {} });
 * if (runner.limit !== 2) throw new Error("the inner runner's limit");
 * ```
 */
export class CacheRunner extends WrappingRunner {
  readonly name = "cache";

  /**
   * Wraps `inner`; keys are computed in `ctx` (the jobs file's directory,
   * vars, settings). With `force` (`--force`) nothing is restored: every job
   * runs and its result is stored. `refused` says why a job must not be
   * cached (its last checked run found undeclared inputs: docs/lint.md); such
   * a job is neither restored nor stored, with one warning line. `owners`:
   * who writes what (the graph's jobs), so that a job writing a folder does
   * not store the files other jobs write into it.
   */
  constructor(
    inner: Runner,
    private cache: Cache,
    private ctx: KeyContext,
    private force = false,
    private refused: (spec: JobSpec) => string | undefined = () => undefined,
    private warn: (line: string) => void = () => {},
    private owners?: WriteOwners,
  ) {
    super(inner);
  }

  /** Jobs already warned about (one line each per run). */
  private warned = new Set<string>();

  /** When the last restore that took `RESTORE_SLICE_MS` or more ended (see `settle`). */
  private longRestoreEnd = -Infinity;

  /**
   * The run's end waits for the inner runner's and, when a long restore
   * ended less than `HEAR_MS` ago, until then: its renames give the event
   * loop no turn, and Deno hears a signal some ms after it came, so that a
   * Ctrl-C sent during them is the run's (exit 130, the job restored whole),
   * not lost with a run that ended first.
   */
  override settle(): Promise<void> | undefined {
    const inner = super.settle();
    const wait = this.longRestoreEnd + HEAR_MS - performance.now();
    if (wait <= 0) return inner;
    const heard = new Promise<void>((resolve) => setTimeout(resolve, wait));
    return inner ? Promise.all([inner, heard]).then(() => {}) : heard;
  }

  /** Whether the job is refused now; says so once. */
  private isRefused(spec: JobSpec): boolean {
    const why = this.refused(spec);
    if (why && !this.warned.has(spec.name)) {
      this.warned.add(spec.name);
      this.warn(`jx: warning: ${why}`);
    }
    return why !== undefined;
  }

  start(req: RunRequest, sink: RunSink): RunHandle {
    if (!usable(req) || this.isRefused(req.spec)) return this.inner.start(req, sink);
    const a = new CacheAttempt(sink);
    const failed = (error: unknown) => {
      if (a.stopped || a.handle) return a.settle();
      // A lookup or a restore that throws (a disk error) must not lose the job: run it.
      const why = (error as Error)?.message ?? String(error);
      sink.output("stderr", new TextEncoder().encode(`jx: cache: ${why}\n`));
      a.handle = this.inner.start(req, sink);
    };
    a.looking(() => this.lookup(req.spec, a.stop)).then(async (l) => {
      if (a.stopped) return;
      try {
        if (l.kind === "hit" && await a.restoring(() => this.restored(req.spec, l, sink, a.stop))) {
          return;
        }
      } catch (e) {
        return failed(e);
      }
      if (a.stopped) return a.settle();
      a.handle = this.runAndRecord(req, sink, l);
    }, failed).catch((e) => {
      // The inner runner threw as it started the job: its end, not a lost job.
      if (!a.stopped) {
        sink.ended({ kind: "exited", status: { code: null, signal: null, error: `${e}` } });
      }
    });
    return a;
  }

  /** The job's key, looked up in the stores (with `force`: computed only, a miss). */
  private async lookup(spec: JobSpec, stop: AbortSignal): Promise<Lookup> {
    // (async: a key that cannot be computed rejects, and the job runs uncached: `failed`)
    if (!this.force) return await this.cache.lookup(spec, this.ctx, stop);
    const stamps: InputStamps = new Map();
    const parts = keyParts(spec, this.cache.inStore(this.ctx), stamps);
    return { kind: "miss", key: keyOf(parts), parts, why: "--force", stamps };
  }

  /**
   * Restores a hit; false when the restore was refused (one warning printed:
   * run the job) or stopped (`stop` aborted: nothing put in place, the job
   * not ended).
   */
  private async restored(
    spec: JobSpec,
    hit: Extract<Lookup, { kind: "hit" }>,
    sink: RunSink,
    stop: AbortSignal,
  ): Promise<boolean> {
    const t0 = performance.now();
    const r = await this.cache.restore(hit, spec, this.ctx.baseDir, this.owners, stop);
    const t1 = performance.now();
    if (t1 - t0 >= RESTORE_SLICE_MS) this.longRestoreEnd = t1;
    if (r.kind !== "restored") return false;
    for (const o of r.output) sink.output(o.stream, o.chunk);
    sink.ended({ kind: "restored", from: hit.source, savedMs: r.durationMs });
    return true;
  }

  /**
   * Runs the job on the inner runner, keeping its output; a success is
   * recorded under the key, unless jx signalled the job meanwhile (its
   * timeout, a Ctrl-C): a job that traps SIGTERM and exits 0 was cut short,
   * and its outputs may be partial (a timed-out job is a failure however it
   * exits).
   */
  private runAndRecord(req: RunRequest, sink: RunSink, l: Lookup): RunHandle {
    // Kept to be stored, up to the cache's bound (past it: not stored, and no more kept).
    let output: OutputChunk[] = [], kept = 0, cut = false;
    const max = this.cache.maxLogBytes;
    let t0 = performance.now();
    let signalled = false;
    const handle = this.inner.start(req, {
      started: (pid, where) => {
        t0 = performance.now();
        sink.started(pid, where);
      },
      output: (stream: StreamName, chunk: Uint8Array) => {
        if (!cut && (kept += chunk.length) > max) cut = true, output = [];
        if (!cut) output.push({ stream, chunk: chunk.slice() });
        sink.output(stream, chunk);
      },
      ended: (end) => {
        // A traced run may have found undeclared inputs just now: then nothing is stored.
        const ok = end.kind === "exited" && end.status.code === 0 && !end.status.error &&
          !signalled;
        if (ok && !this.isRefused(req.spec)) {
          const durationMs = performance.now() - t0;
          const r = { exit: 0, durationMs, output, outputCut: cut };
          this.cache.record(req.spec, l, this.ctx.baseDir, r, this.owners);
        }
        sink.ended(end);
      },
    });
    return {
      signal(sig: string) {
        signalled = true;
        handle.signal(sig);
      },
      suspend: (stopped: boolean) => handle.suspend?.(stopped),
    };
  }
}
