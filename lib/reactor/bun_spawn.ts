/**
 * On Bun, `posix_spawnp` on Workers' threads once the process has spawned
 * many children. Bun's FFI calls block the thread that makes them, and a
 * spawn suspends its thread until the child has exec'd (vfork): on the JS
 * thread that is most of a run of quick jobs (2,000 `/bin/true` at -j8:
 * 0.93 s of 1.45 s spent in the spawn calls, by Bun's CPU profile), while
 * the JS thread could meanwhile reap, report and plan. Two workers also let
 * two spawns proceed at once on two cores (bench/RESULTS.md, the section
 * "2026-12-05T17:19:31Z — trivial" and what follows it: the binary 1.00 s
 * against 1.16 s with spawns on the JS thread, make -j8 0.91 s).
 *
 * The first `START_AFTER` spawns of the process stay on the JS thread: a
 * worker costs ~3 ms of the JS thread to create and ~5 ms to be ready,
 * which a run of a few jobs would pay for nothing. Until a worker says it
 * is ready, spawns go on the JS thread too. The workers are the process's
 * (every reactor's), never keep it alive while idle, and are not ended.
 * None is made under a low process limit (`fewProcesses`): a thread Bun
 * cannot make aborts it.
 *
 * A worker gets the addresses of what `posix_spawnp` reads (the caller
 * keeps those buffers alive and unchanged until the spawn returns) and
 * answers with its result; the pid is written where the caller asked.
 *
 * @example
 * ```ts
 * import { BunSpawns } from "./bun_spawn.ts";
 * const spawns = new BunSpawns();
 * // undefined: spawn on this thread (too few spawns yet, or no worker ready)
 * const call = spawns.spawn(new Int32Array(1), new Uint8Array(1), new Uint8Array(1), new Uint8Array(1), new Uint32Array(2), new Uint32Array(2));
 * if (call !== undefined) throw new Error("the first spawns stay on the JS thread");
 * ```
 *
 * @module
 */
import { type BunWorker, workerUrlOf } from "./bun_watcher.ts";
import { bufferAddress } from "./libc.ts";
import { isBun } from "../runtime/mod.ts";
import { readTextSync } from "../runtime/fs.ts";

/** Spawns on the JS thread before the workers are started. */
export const START_AFTER = 16;
/** How many workers spawn (one per core helps; a third found nothing more on two cores). */
const WORKERS = 2;

const WORKER_SOURCE = `
const ffi = require("bun:ffi");
const L = ffi.dlopen("libc.so.6", {
  posix_spawnp: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr"], returns: "i32" },
}).symbols;
self.onmessage = (e) => {
  const d = e.data;
  postMessage([d[0], L.posix_spawnp(d[1], d[2], d[3], d[4], d[5], d[6])]);
};
postMessage("ready");
`;

/** One spawning worker: ready once it bound `posix_spawnp`; its spawns in flight. */
interface SpawnWorker {
  worker: BunWorker;
  ready: boolean;
  /** Spawns sent and not answered, by id: what to call with the result. */
  inFlight: Map<number, (e: number) => void>;
}

/** `posix_spawnp` through workers on Bun, once `START_AFTER` children were spawned. */
export class BunSpawns {
  private asked = 0;
  private nextId = 0;
  /** How many spawns went to a worker (for tests). */
  get sent(): number {
    return this.nextId;
  }
  private workers: SpawnWorker[] = [];
  private ready?: Promise<void>;
  private resolveReady?: () => void;
  /** False once a worker failed: every later spawn on the JS thread. */
  private usable = isBun && typeof Worker === "function";

  /**
   * `posix_spawnp(pid, file, fa, attr, argv, envp)` on a ready worker: a
   * promise of its result, or undefined when the caller must spawn on its
   * own thread (too few spawns yet, no worker ready, not Bun).
   */
  spawn(
    pid: Int32Array,
    file: Uint8Array,
    fa: Uint8Array,
    attr: Uint8Array,
    argv: Uint32Array,
    envp: Uint32Array,
  ): Promise<number> | undefined {
    if (!this.usable) return undefined;
    if (++this.asked === START_AFTER) this.start();
    const w = this.leastBusy();
    if (!w) return undefined;
    const id = this.nextId++;
    const addr = (b: ArrayBufferView) => bufferAddress(b as Uint8Array);
    const msg = [id, addr(pid), addr(file), addr(fa), addr(attr), addr(argv), addr(envp)];
    if (w.inFlight.size === 0) w.worker.ref?.(); // the process waits for the answer
    return new Promise((resolve) => {
      w.inFlight.set(id, resolve);
      w.worker.postMessage(msg);
    });
  }

  /**
   * Starts the workers now (if not yet): resolves once one is ready, or at
   * once where there are none (not Bun, or a worker failed). For tests: the
   * conformance cases through the workers from a reactor's first spawn.
   */
  startNow(): Promise<void> {
    if (!this.usable) return Promise.resolve();
    if (this.asked < START_AFTER) this.asked = START_AFTER, this.start();
    return this.ready ?? Promise.resolve();
  }

  /** The ready worker with the fewest spawns in flight, if any. */
  private leastBusy(): SpawnWorker | undefined {
    let best: SpawnWorker | undefined;
    for (const w of this.workers) {
      if (w.ready && (!best || w.inFlight.size < best.inFlight.size)) best = w;
    }
    return best;
  }

  private start(): void {
    if (fewProcesses()) return void (this.usable = false); // spawns stay on the JS thread
    this.ready = new Promise((resolve) => this.resolveReady = resolve);
    for (let k = 0; k < WORKERS; k++) {
      const w: SpawnWorker = {
        worker: new Worker(workerUrlOf(WORKER_SOURCE)),
        ready: false,
        inFlight: new Map(),
      };
      w.worker.unref?.();
      w.worker.onmessage = (e: MessageEvent) => this.answered(w, e.data);
      w.worker.onerror = () => this.failed(w);
      this.workers.push(w);
    }
  }

  private answered(w: SpawnWorker, data: unknown): void {
    if (data === "ready") {
      w.ready = this.usable;
      this.resolveReady?.();
      return;
    }
    const [id, result] = data as [number, number];
    const done = w.inFlight.get(id);
    w.inFlight.delete(id);
    if (w.inFlight.size === 0) w.worker.unref?.();
    done?.(result);
  }

  /**
   * A worker failed (its libc could not be bound, or it died): no spawn goes
   * to any worker again, and those it had in flight are answered as failed
   * (EAGAIN). A worker that binds its libc runs nothing but the call, so in
   * practice it fails before it is ready, with nothing in flight.
   */
  private failed(w: SpawnWorker): void {
    this.usable = false;
    w.ready = false;
    const pending = [...w.inFlight.values()];
    w.inFlight.clear();
    w.worker.terminate();
    this.resolveReady?.();
    for (const done of pending) done(EAGAIN);
  }
}

/** Below this many processes for the user (`RLIMIT_NPROC`), no spawning worker is made. */
const FEW_PROCESSES = 4096;

/**
 * Whether the user may have few processes (`ulimit -u`, `prlimit --nproc`): a thread that Bun
 * cannot make aborts the whole process (Bun 1.4: `new Worker` throws "Failed to spawn worker
 * thread", and Bun panics even when that is caught), which would orphan the run's children.
 */
function fewProcesses(): boolean {
  try {
    const m = /^Max processes\s+(\d+|unlimited)/m.exec(readTextSync("/proc/self/limits"));
    return !!m && m[1] !== "unlimited" && Number(m[1]) < FEW_PROCESSES;
  } catch {
    return false;
  }
}

/** The process's spawning workers (every reactor's). */
export const bunSpawns: BunSpawns = new BunSpawns();

/** `posix_spawnp`'s "resource temporarily unavailable". */
const EAGAIN = 11;
