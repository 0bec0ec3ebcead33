/**
 * The GNU make jobserver as a source of job slots, both ways:
 *
 * - server: jx creates the pool holding N-1 tokens, keeps the implicit slot,
 *   and hands the pool to its jobs through MAKEFLAGS. The pool is always a
 *   named fifo, so one pool serves both forms: `--jobserver-auth=fifo:PATH`
 *   (make >= 4.4, ninja >= 1.13) and `--jobserver-auth=R,W` with R and W
 *   two inherited descriptors opened on that fifo (every make, gcc, cargo);
 * - client: jx runs inside make and takes tokens from make's pool.
 *
 * Tokens are read through a private non-blocking description of the pool's
 * read end (the fifo opened again, or /proc/self/fd/R reopened), watched by
 * the reactor, so no read ever blocks the event loop and no pending read can
 * swallow a token. Every token read is written back: when its job ends, and
 * at the end of the run for any still held.
 *
 * What a job start costs: nothing, mostly. A token a job gives back is kept
 * until the current turn of the event loop ends (a microtask), so that the
 * next job jx starts in the same turn takes it without a write and a read;
 * what is left is written back then. While jx waits for the pool (its read
 * found it empty and the reactor watches it), starts are refused without
 * another read: the watch calls back when a token arrives.
 *
 * A job of several tokens takes all of them or none: when the pool has only
 * some, what was read goes back at once (other clients of the pool may need
 * it to finish) and jx tries again on a timer (10 ms, doubling to 250 ms),
 * or at once when one of its own jobs gives slots back. From its first wait
 * on, jx starts none of its smaller jobs, so the pool drains to it.
 * A client (make runs jx) none of whose jobs runs lends its implicit slot to
 * the pool meanwhile, so two jx waiting so under one make do not wait for
 * each other for ever; the take that succeeds keeps a token in its place.
 *
 * Tokens lost for good: a server that holds all its slots (none of its jobs
 * runs) knows every token should be in the pool; when it finds fewer (it
 * counts at the first start after a job ended, or when a waiting job reads
 * it dry), jobs that ended took the rest and never gave them back, and jx
 * writes new ones in their place (with a warning), instead of running one
 * job at a time, or waiting forever; tokens beyond the pool's size, which
 * jobs wrote without taking them, it takes out (else more than -j ran).
 * make does not do that; jx can, because it created the pool.
 *
 * @module
 */
import { C, cstr, errno, libc, strerror } from "../reactor/libc.ts";
import { removeStaleTemp, tempPrefix, tempRoot } from "../runtime/stale.ts";
import { ioReason, JxInputError } from "../runtime/errors.ts";
import type { Reactor } from "../reactor/types.ts";
import { tokenTeller } from "../reactor/mod.ts";
import type { JobPool, Slots } from "../scheduler/slots.ts";
import { type JobserverJob, jobStyle } from "./jobs.ts";
import {
  FLAG_VARS,
  formatMakeFlags,
  type JobserverAuth,
  type JobStyle,
  stripJobserver,
  withAuth,
  withoutBadJobs,
  withoutJobserver,
  withoutModeFlags,
} from "./makeflags.ts";
import { escapeControls, existsSync, pid } from "../runtime/mod.ts";
import { fifoIdOf, makeTempDir, readLink, removeEmptyDir, removePath } from "../runtime/files.ts";

/** A jobserver pool as jx's job slots. */
export interface JobserverSlots extends Slots {
  /** `server` or `client`. */
  readonly role: "server" | "client";
  /** The form jobs get unless they ask for another (a job's `jobserver:` key). */
  readonly style: "pipe" | "fifo";
  /** MAKEFLAGS for jobs of the pool's style (server), or undefined to pass make's own through (client). */
  readonly makeflags?: string;
  /**
   * The most slots jx holds at once (a client under an open-files limit that holds fewer jobs
   * than make's `-j`: see reactor's `jobsWithinFds`); the rest stay in the pool for make's other
   * recipes. A job bigger than this starts alone. Unset: `limit`.
   */
  atOnce?: number;
  /**
   * The environment of a job that asks for `style` (default: the pool's own;
   * given the job, the form `jobStyle` picks for it):
   * MAKEFLAGS naming this same pool in that form, or, for `none`, MAKEFLAGS
   * (and MFLAGS, CARGO_MAKEFLAGS) without a jobserver or `-j`. May set
   * MAKEFLAGS in `env` itself and return it: pass an object of the job's own.
   */
  jobEnv(env: Record<string, string>, style?: JobStyle | JobserverJob): Record<string, string>;
  /**
   * Ends use of the pool: writes back every token jx still holds; for a
   * server, counts the pool and says whether children lost or over-returned
   * tokens (undefined when the pool is whole), then closes it.
   */
  finish(): string | undefined;
}

function openNonblockingRead(path: string): number {
  const s = libc().symbols;
  const fd: number = s.open(cstr(path), C.O_RDONLY | C.O_NONBLOCK | C.O_CLOEXEC, 0);
  if (fd < 0) throw new Error(`open ${path}: ${strerror(errno())}`);
  return fd;
}

function openFifo(path: string, flags: number): number {
  const fd: number = libc().symbols.open(cstr(path), flags, 0);
  if (fd < 0) throw new Error(`open ${path}: ${strerror(errno())}`);
  return fd;
}

interface PoolInit {
  role: "server" | "client";
  style: "pipe" | "fifo";
  limit: number;
  reactor: Reactor;
  /** Private non-blocking read end. */
  rfd: number;
  /** Write end. */
  wfd: number;
  /** The fifo, when the pool is one (every server; a make >= 4.4 in fifo style). */
  path?: string;
  /** The R,W pair children inherit, when the pool already has one (a client of a pipe pool). */
  pipe?: { read: number; write: number };
  /** Closes what was opened and removes the fifo (server). */
  cleanup: () => void;
  /** Says something the user should know now (tokens put back in the pool). */
  warn?: (w: string) => void;
  /**
   * Told how many tokens jx holds (read and not written back) after each read from the pool
   * and before each write to it: the watchdog's count, written back if jx dies (a client).
   */
  tell?: (n: number) => void;
}

/** The byte jx writes as a token. */
const TOKEN = 0x2b;
/** A job that found part of its tokens tries again after this long, doubling up to the max. */
const RETRY_FIRST_MS = 10;
const RETRY_MAX_MS = 250;

class Pool implements JobserverSlots {
  readonly role: "server" | "client";
  readonly style: "pipe" | "fifo";
  readonly limit: number;
  /** Tokens read for the take in progress: assigned when it has them all, else written back. */
  private reserve: number[] = [];
  /** Tokens held by running jobs, as the bytes read. */
  private held: number[] = [];
  /** Tokens given back in this turn, written back at its end unless taken again first. */
  private returned: number[] = [];
  private flushQueued = false;
  /** MAKEFLAGS of a server's jobs, per style. */
  private flagsFor = new Map<"pipe" | "fifo", string>();
  private implicitFree = true;
  /**
   * A client none of whose jobs runs, waiting for a job of several slots, lent its implicit slot
   * to the pool as a token (see `lend`); the next take keeps one token read in its place.
   */
  private lent = false;
  private cancelWatch?: () => void;
  private buf = new Uint8Array(64);
  /** Descriptors opened for children (R,W on the fifo), closed at the end. */
  private childFds: number[] = [];
  /** The tokens of the job jx holds its smaller jobs back for (0: none waits). */
  private holdFor = 0;
  /** A job of `holdFor` tokens or more asked since the last wake-up. */
  private asked = false;
  /** jx's own jobs gave slots back since the waiting job last tried. */
  private cameBack = false;
  private retryTimer?: number;
  private retryMs = RETRY_FIRST_MS;
  onAvailable?: () => void;
  atOnce?: number;

  /** Tokens read from the pool and not written back (`PoolInit.tell`). */
  private out = 0;

  constructor(private init: PoolInit) {
    this.role = init.role;
    this.style = init.style;
    this.limit = init.limit;
  }

  get makeflags(): string | undefined {
    return this.role === "server"
      ? formatMakeFlags(this.limit, this.authFor(this.style))
      : undefined;
  }

  /** The pool in the given form; opens the R,W pair on the fifo when first asked. */
  private authFor(style: "pipe" | "fifo"): JobserverAuth {
    if (style === "fifo") {
      // A client of a pipe pool: the pipe is reachable by path while jx lives.
      const path = this.init.path ?? `/proc/${pid()}/fd/${this.init.pipe!.read}`;
      return { style: "fifo", path };
    }
    if (!this.init.pipe) {
      // Two descriptors on the fifo, without O_CLOEXEC: children inherit them.
      const read = openFifo(this.init.path!, C.O_RDWR);
      let write;
      try {
        write = openFifo(this.init.path!, C.O_RDWR);
      } catch (e) {
        libc().symbols.close(read);
        throw e;
      }
      this.childFds.push(read, write);
      this.init.pipe = { read, write };
    }
    return { style: "pipe", ...this.init.pipe };
  }

  jobEnv(env: Record<string, string>, style?: JobStyle | JobserverJob): Record<string, string> {
    const want = (typeof style === "object" ? jobStyle(style) : style) ?? this.style;
    if (want === "none") return withoutJobserver(env);
    if (this.role === "server") {
      let flags = this.flagsFor.get(want);
      if (flags === undefined) {
        this.flagsFor.set(want, flags = formatMakeFlags(this.limit, this.authFor(want)));
      }
      // `env` is the job's own fresh object: set in place, not copied (a
      // copy per job is most of the garbage of a run of many small jobs).
      // Flags of the environment's own MAKEFLAGS (`k`, `-- CC=clang`) are kept, its -j and pool
      // not, nor `n`, `t`, `q`: jx runs its jobs for real, and so do the makes they start.
      const own = env.MAKEFLAGS && withoutModeFlags(env.MAKEFLAGS);
      env.MAKEFLAGS = own && stripJobserver(own)
        ? withAuth(own, this.authFor(want), this.limit)
        : flags;
      // MFLAGS (make exports it beside MAKEFLAGS) and CARGO_MAKEFLAGS (what cargo's jobserver
      // crate reads first) naming another pool, a make's jx did not join or a cargo's: they name
      // this one too, or a job's cargo would take its slots from that pool and not from jx's.
      for (const name of FLAG_VARS) {
        const v = env[name];
        if (name === "MAKEFLAGS" || v === undefined) continue;
        if (/--jobserver-(auth|fds)=/.test(v)) {
          env[name] = withAuth(v, this.authFor(want), this.limit);
        } // A -j make cannot read (`MFLAGS=-jfoo`, which `$(MAKE) $(MFLAGS)` passes on): left out.
        else if (/(^|\s)-j/.test(v)) {
          const kept = withoutBadJobs(v);
          if (kept) env[name] = kept;
          else delete env[name];
        }
      }
      return env;
    }
    // A client passes make's own flags through, in another form when asked.
    if (want === this.style) return env;
    const auth = this.authFor(want);
    const out = { ...env };
    let found = false;
    for (const name of FLAG_VARS) {
      if (!/--jobserver-(auth|fds)=/.test(out[name] ?? "")) continue;
      out[name] = withAuth(out[name], auth);
      found = true;
    }
    if (!found) out.MAKEFLAGS = formatMakeFlags(this.limit, auth);
    return out;
  }

  jobPool(
    env: Record<string, string>,
    job: JobserverJob & { tokens: number },
  ): JobPool | undefined {
    if (job.tokens <= 1) return undefined;
    const want = jobStyle(job) ?? this.style;
    return want === "none" ? undefined : createJobPool(env, job.tokens, want);
  }

  get free(): number {
    return (this.implicitFree ? 1 : 0) + this.returned.length;
  }

  get waiting(): number {
    return this.holdFor;
  }

  /** All `n` slots or none: a job never sits on part of them while the pool is short. */
  tryTake(n: number): boolean {
    // A bigger job waits: smaller ones wait with it, so the pool drains to it.
    if (n < this.holdFor) return false;
    // No more at once than the open-files limit holds (no token read: make's other recipes
    // take them); one job alone always may.
    const inUse = (this.implicitFree || this.lent ? 0 : 1) + this.held.length;
    if (this.atOnce !== undefined && inUse && inUse + n > this.atOnce) return false;
    this.asked = true;
    if (this.endedSinceCount && this.holdsAll()) this.countPool();
    // Slots given back in this turn first: no I/O.
    if (!this.lent && this.have() + this.returned.length >= n) return this.assign(n);
    // Waiting already: the watch or the retry timer says when to read again
    // (unless jx's jobs gave slots back, or none runs and lost tokens may show).
    const waiting = this.cancelWatch || this.retryTimer !== undefined;
    if (waiting && !this.cameBack && !this.holdsAll()) return this.hold(n);
    this.cameBack = false;
    const dry = this.gather(n);
    if (this.have() < n && dry && this.holdsAll()) this.replaceLost();
    else if (this.have() < n && dry && this.heldOutside()) this.sayHeldOutside(n);
    if (this.have() < n) return this.waitFor(n);
    return this.assign(n);
  }

  /**
   * A client none of whose jobs runs, whose job of `n` > 1 slots must wait: the implicit slot
   * goes to the pool as a token. Two jx under one make, each waiting so with its implicit slot
   * kept, waited for each other for ever (make -j2: neither could have 2); lent, the pool has
   * them both, and one job runs. The take that succeeds keeps a token in its place (`unlend`).
   */
  private lend(n: number): void {
    if (this.role !== "client" || n < 2 || this.lent || !this.implicitFree) return;
    if (this.held.length || this.reserve.length || this.returned.length) return;
    this.implicitFree = false;
    this.lent = true;
    this.write([TOKEN]);
  }

  /** The implicit slot lent is jx's again: one token read stands for it (not written back). */
  private unlend(): void {
    if (!this.lent || !this.reserve.length) return;
    this.reserve.pop();
    this.lent = false;
    this.implicitFree = true;
  }

  /** The implicit slot (when free) and the tokens of the take in progress. */
  private have(): number {
    return (this.implicitFree ? 1 : 0) + this.reserve.length;
  }

  /** Reads until `n` slots are at hand; whether the pool ran dry first (EAGAIN). */
  private gather(n: number): boolean {
    const s = libc().symbols;
    this.reserve.push(...this.returned.splice(0));
    // A lent implicit slot is not at hand: one token more is read, which stands for it (`unlend`).
    let need = n - this.have();
    while (need > 0) {
      const k = Number(s.read(this.init.rfd, this.buf, Math.min(need, this.buf.length)));
      if (k <= 0) return k < 0 && errno() === C.EAGAIN; // EINTR: not known to be dry
      this.counted(k);
      for (let i = 0; i < k; i++) this.reserve.push(this.buf[i]);
      need -= k;
    }
    this.unlend();
    return false;
  }

  /** `n` slots to a job: the implicit one first, then tokens (given back in this turn, or read). */
  private assign(n: number): true {
    if (this.holdFor && n >= this.holdFor) this.stopHolding();
    let tokens = n;
    if (this.implicitFree) {
      this.implicitFree = false;
      tokens--;
    }
    const fromReturned = Math.max(0, tokens - this.reserve.length);
    this.reserve.push(...this.returned.splice(this.returned.length - fromReturned, fromReturned));
    this.held.push(...this.reserve.splice(0, tokens));
    return true;
  }

  /** The take failed: what it read goes back now; a watch or a timer says when to try again. */
  private waitFor(n: number): false {
    const back = this.reserve;
    this.reserve = [];
    this.write(back);
    this.lend(n);
    // Tokens just written make the pool readable at once: only an empty one is watched.
    if (back.length || this.lent) this.retryLater();
    else this.arm();
    return this.hold(n);
  }

  /** A job of `n` slots waits: smaller ones wait for it (one of one slot holds nothing back). */
  private hold(n: number): false {
    if (n > 1) this.holdFor = Math.max(this.holdFor, n);
    return false;
  }

  private retryLater(): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = this.init.reactor.setTimer(this.retryMs, () => {
      this.retryTimer = undefined;
      this.wake();
    });
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private stopHolding(): void {
    this.holdFor = 0;
    this.retryMs = RETRY_FIRST_MS;
    if (this.retryTimer !== undefined) this.init.reactor.clearTimer(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** The scheduler asks again; a hold that no job asks for any more (it started or was dropped) ends. */
  private wake(): void {
    this.asked = false;
    this.onAvailable?.();
    if (!this.holdFor || this.asked) return;
    this.stopHolding();
    this.onAvailable?.();
  }

  /** See `Slots.othersMayHold`. */
  othersMayHold?: () => boolean;

  /**
   * See `Slots.noJobRuns`: no job's process runs, though jobs waiting to retry may hold slots;
   * a pool jx serves (no module holding tokens either) is counted now, before a retry starts
   * (tokens a killed make held were lost for every attempt after it).
   */
  noJobRuns(): void {
    if (this.role !== "server" || this.othersMayHold?.()) return;
    this.countPool();
  }

  /**
   * A server none of whose jobs runs, and no module either (one may run a
   * make that holds tokens): every token of the pool should be in it now.
   */
  private holdsAll(): boolean {
    return this.serverIdle() && !this.othersMayHold?.();
  }

  /** A server none of whose jobs runs (the implicit slot free, no token held). */
  private serverIdle(): boolean {
    return this.role === "server" && this.implicitFree && this.held.length === 0;
  }

  /** Whether tokens missing now may be a module's: no job of jx's runs, a module does. */
  private heldOutside(): boolean {
    return this.serverIdle() && !!this.othersMayHold?.();
  }

  /** Says once that a job waits for tokens that a module's processes may hold. */
  private sayHeldOutside(n: number): void {
    if (this.saidOutside) return;
    this.saidOutside = true;
    const short = this.limit - 1 - this.reserve.length;
    this.init.warn?.(
      `jobserver: a job waits for ${n} slots; ${short} token(s) are out of the pool while no job ` +
        "of jx's runs (a module's make holds them?): it starts when they come back",
    );
  }

  private saidOutside = false;

  /** A job gave its slots back since the pool was last counted. */
  private endedSinceCount = false;

  /**
   * None of jx's jobs runs, and one ended since the last count: the pool should be whole. Reads
   * it dry, puts back what jobs kept (else a lost token cut `-j` for the rest of the run), takes
   * out what they wrote beyond its size, and leaves the tokens to be taken or written back at
   * the end of the turn.
   */
  private countPool(): void {
    this.endedSinceCount = false;
    // (Tokens jx holds for jobs waiting to retry are out of the pool, as the implicit slot is.)
    if (this.gather(this.limit - this.held.length)) this.replaceLost();
    else if (this.have() >= this.limit) this.dropExtra();
    this.returned.push(...this.reserve.splice(0));
    this.flushSoon();
  }

  /** The pool holds all its tokens: any more were written by jobs that never took them. */
  private dropExtra(): void {
    let extra = 0;
    for (let k; (k = Number(libc().symbols.read(this.init.rfd, this.buf, this.buf.length))) > 0;) {
      extra += k;
    }
    this.counted(extra);
    if (!extra) return;
    this.init.warn?.(
      `jobserver: jobs wrote ${extra} token(s) they never took; jx took them out of the pool`,
    );
  }

  /** Tokens that jobs which ended never gave back: new ones in their place (the pool was read dry). */
  private replaceLost(): void {
    const lost = this.limit - 1 - this.held.length - this.reserve.length;
    if (lost <= 0) return;
    for (let i = 0; i < lost; i++) this.reserve.push(TOKEN);
    this.init.warn?.(
      `jobserver: ${lost} token(s) were not returned by jobs that ended; jx put them back in the pool`,
    );
  }

  give(n: number): void {
    if (n <= 0) return;
    this.endedSinceCount = true;
    if (this.holdFor) this.cameBack = true;
    // Tokens are given back first, the implicit slot last: a free implicit slot while jx held a
    // token kept that token from the pool's other clients (a make in the job still running ran
    // one recipe fewer; a nested jx waiting for a job of 2 slots waited for ever).
    const tokens = Math.min(n, this.held.length);
    if (n > tokens) this.implicitFree = true;
    if (!tokens) return;
    this.returned.push(...this.held.splice(this.held.length - tokens, tokens));
    this.flushSoon();
  }

  /** Writes the tokens given back in this turn at its end, unless taken again first. */
  private flushSoon(): void {
    if (this.flushQueued || !this.returned.length) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      const back = this.returned;
      this.returned = [];
      this.write(back);
    });
  }

  private write(tokens: number[]): void {
    if (!tokens.length) return;
    // Told first: dead between the two, jx has lost them, never doubled them.
    this.counted(-tokens.length);
    writeAllTo(this.init.wfd, new Uint8Array(tokens), "cannot return tokens");
  }

  /** Asks the reactor to call `onAvailable` once the pool has a token to read. */
  private arm(): void {
    if (this.cancelWatch || !this.init.reactor.watch) return;
    this.cancelWatch = this.init.reactor.watch(this.init.rfd, () => {
      this.cancelWatch?.();
      this.cancelWatch = undefined;
      this.wake();
    });
  }

  /**
   * At the end, the implicit slot lent to the pool is taken back out (make gives its recipe's
   * slot back when jx exits). When another client holds every token now, it cannot be: the
   * pool then holds one more than make's `-j`, which make's check at its end reports.
   */
  private reclaimLent(): void {
    if (!this.lent) return;
    this.lent = false;
    this.implicitFree = true;
    if (Number(libc().symbols.read(this.init.rfd, this.buf, 1)) === 1) this.counted(1);
  }

  /** `k` tokens more read from the pool (fewer, written back): the watchdog is told. */
  private counted(k: number): void {
    if (!k) return;
    this.out += k;
    this.init.tell?.(this.out);
  }

  finish(): string | undefined {
    this.cancelWatch?.();
    this.cancelWatch = undefined;
    this.stopHolding();
    this.write([...this.reserve, ...this.held, ...this.returned]);
    this.reclaimLent();
    this.reserve = [];
    this.held = [];
    this.returned = [];
    let problem: string | undefined;
    const s = libc().symbols;
    if (this.role === "server") {
      let count = 0;
      for (;;) {
        const k = Number(s.read(this.init.rfd, this.buf, this.buf.length));
        if (k <= 0) break;
        count += k;
      }
      const want = this.limit - 1;
      if (count !== want) {
        problem = count < want
          ? `jobserver: ${
            want - count
          } token(s) were not returned by jobs (pool of ${this.limit} ended with ${count + 1})`
          : `jobserver: jobs returned ${count - want} token(s) more than they took`;
      }
    }
    for (const fd of this.childFds) s.close(fd);
    this.childFds = [];
    this.init.cleanup();
    return problem;
  }
}

function writeAllTo(fd: number, data: Uint8Array, what: string): void {
  const s = libc().symbols;
  let off = 0;
  while (off < data.length) {
    const w = Number(s.write(fd, data.subarray(off), data.length - off));
    if (w <= 0) {
      const e = errno();
      if (e === C.EINTR || e === C.EAGAIN) continue;
      throw new Error(`jobserver: ${what}: ${strerror(e)}`);
    }
    off += w;
  }
}

/**
 * How many tokens the fifo `wfd` holds, grown first to hold `tokens` when it can: it must hold
 * them all at once (filling one too small blocked forever). It holds 64 KiB unless grown (to
 * 1 MiB here, /proc/sys/fs/pipe-max-size's default).
 */
function fifoRoom(wfd: number, tokens: number): number {
  const s = libc().symbols;
  const need = Math.min(tokens, 2 ** 30);
  if (need > s.fcntl(wfd, C.F_GETPIPE_SZ, 0)) s.fcntl(wfd, C.F_SETPIPE_SZ, Math.min(need, 2 ** 20));
  return s.fcntl(wfd, C.F_GETPIPE_SZ, 0);
}

/**
 * Creates a pool of `jobs` slots for jx's children (the server side): a fifo
 * (mode 0600 in a private directory, removed by `finish`) holding `jobs - 1`
 * tokens. Jobs get the `style` form by default and can ask for the other.
 * `warn` hears of tokens that jobs lost and jx put back during the run.
 *
 * @example
 * ```ts
 * import { createJobserver } from "./pool.ts";
 * import { createReactor } from "../reactor/mod.ts";
 * import { match } from "node:assert/strict";
 * const pool = createJobserver(8, "pipe", createReactor("epoll"));
 * // the pipe's two fds, e.g. " -j8 --jobserver-auth=7,8"
 * match(pool.makeflags ?? "", /^ -j8 --jobserver-auth=\d+,\d+$/);
 * // e.g. " -j8 --jobserver-auth=fifo:/tmp/jx-jobserver-box-4242-Ab12Cd/fifo"
 * match(pool.jobEnv({}, "fifo").MAKEFLAGS ?? "", /^ -j8 --jobserver-auth=fifo:\/.*\/jx-jobserver-.*\/fifo$/);
 * pool.finish();
 * ```
 */
export function createJobserver(
  jobs: number,
  style: "pipe" | "fifo",
  reactor: Reactor,
  warn?: (w: string) => void,
): JobserverSlots {
  const s = libc().symbols;
  removeStaleTemp(); // left by a jx killed with SIGKILL: fifo folders and spilled output
  const { path, removeDir } = newFifo();
  const { rfd, wfd } = openPoolFifo(path, removeDir);
  // Everything made so far undone: at the run's end, or when the pool cannot be used.
  const release = () => {
    s.close(rfd);
    s.close(wfd);
    s.unlink(cstr(path));
    removeDir();
  };
  const room = fifoRoom(wfd, jobs - 1);
  if (jobs - 1 > room) {
    release();
    throw new JxInputError(
      `--jobs: ${jobs} job slots are more than a jobserver pool holds here (at most ${room + 1})`,
    );
  }
  const pool = new Pool({
    role: "server",
    style,
    limit: jobs,
    reactor,
    rfd,
    wfd,
    path,
    cleanup: release,
    warn,
  });
  try {
    void pool.makeflags; // the pipe style's pair for the jobs, now: no fd left fails the pool
  } catch (e) {
    release();
    throw e;
  }
  // The pool holds N-1 tokens; jx keeps the implicit one.
  if (jobs > 1) writeAllTo(wfd, new Uint8Array(jobs - 1).fill(TOKEN), "cannot fill the pool");
  return pool;
}

/**
 * A pool of one job's own, for one run of it (`Slots.jobPool`): a fifo in a
 * private folder holding `tokens - 1` tokens, and `env` copied with every
 * MAKEFLAGS-like variable that names a pool (MAKEFLAGS itself when none does)
 * naming this one instead, with `-j` the job's tokens. The job holds its
 * `tokens` slots of the shared pool meanwhile, so a make in it runs that many
 * recipes at once, never more, and tokens it loses (killed) are lost with the
 * pool, not from the shared one. In the pipe style the R,W pair is opened
 * inheritable, as the shared pool's: other children started meanwhile inherit
 * it too and are not told of it.
 */
function createJobPool(
  env: Record<string, string>,
  tokens: number,
  style: "pipe" | "fifo",
): JobPool {
  const s = libc().symbols;
  const { path, removeDir } = newFifo();
  // Held by jx until the job ends (a fifo no one holds loses its tokens): the fifo form's one
  // descriptor, or the pipe form's R,W pair the job inherits (the tokens written through W).
  const fds: number[] = [];
  let open = true;
  const finish = () => {
    if (!open) return;
    open = false;
    for (const fd of fds) s.close(fd);
    s.unlink(cstr(path));
    removeDir();
  };
  try {
    fds.push(openFifo(path, style === "pipe" ? C.O_RDWR : C.O_RDWR | C.O_CLOEXEC));
    if (style === "pipe") fds.push(openFifo(path, C.O_RDWR));
    const w = fds[fds.length - 1];
    if (tokens - 1 > fifoRoom(w, tokens - 1)) throw new Error("too many tokens for a fifo");
    writeAllTo(w, new Uint8Array(tokens - 1).fill(TOKEN), "cannot fill the pool");
    const auth: JobserverAuth = style === "pipe"
      ? { style: "pipe", read: fds[0], write: fds[1] }
      : { style: "fifo", path };
    const out = { ...env };
    let named = false;
    for (const name of FLAG_VARS) {
      if (!/--jobserver-(auth|fds)=/.test(out[name] ?? "")) continue;
      out[name] = withAuth(out[name], auth, tokens);
      named = true;
    }
    if (!named) out.MAKEFLAGS = formatMakeFlags(tokens, auth);
    return { env: out, finish };
  } catch (e) {
    finish();
    throw e;
  }
}

/**
 * A new fifo (mode 0600) in a private folder of its own under `$TMPDIR`, named as the stale scan
 * knows it (`jx-jobserver-HOST-PID-XXXXXX`), and the folder's removal (once the fifo is
 * unlinked). On failure nothing stays behind and the error is thrown.
 */
function newFifo(): { path: string; removeDir: () => void } {
  const dir = makeTempDir(tempPrefix("jobserver"));
  const path = `${dir}/fifo`;
  // Empty once the fifo is unlinked: a plain rmdir (a recursive rm costs some milliseconds on
  // Bun), the recursive one only if something else is in it.
  const removeDir = () => {
    try {
      removeEmptyDir(dir);
    } catch {
      removePath(dir, true);
    }
  };
  if (libc().symbols.mkfifo(cstr(path), 0o600) < 0) {
    const e = strerror(errno());
    removeDir();
    throw new Error(`mkfifo ${path}: ${e}`);
  }
  return { path, removeDir };
}

/**
 * The shared pool's fifo at `path` (`newFifo`) opened: its nonblocking read end and a read-write
 * end held for the whole run (the fifo never reports end of file). On failure nothing stays
 * behind (the fifo unlinked, `removeDir` called) and the error is thrown.
 */
function openPoolFifo(path: string, removeDir: () => void): { rfd: number; wfd: number } {
  const s = libc().symbols;
  let rfd = -1;
  try {
    rfd = openNonblockingRead(path);
    return { rfd, wfd: openFifo(path, C.O_RDWR | C.O_CLOEXEC) };
  } catch (e) {
    if (rfd >= 0) s.close(rfd); // no descriptor left: nothing stays behind
    s.unlink(cstr(path));
    removeDir();
    throw e;
  }
}

/**
 * Why `createJobserver` could not make the pool (its folder in a full or read-only `$TMPDIR`,
 * no fd left), worded the same on Deno and Bun.
 *
 * @example
 * ```ts
 * import { poolProblem } from "./pool.ts";
 * import { strictEqual } from "node:assert";
 * const e = Object.assign(new Error("x"), { code: "EROFS" });
 * strictEqual(poolProblem(e).endsWith(": read-only file system"), true);
 * ```
 */
export function poolProblem(e: unknown): string {
  if (typeof (e as { code?: unknown })?.code !== "string") return String((e as Error)?.message);
  return `${escapeControls(tempRoot())}: ${ioReason(e)}`; // its folder could not be made
}

/** `dev:ino` of a FIFO or pipe open as `fd` here, or "" when it is not one. */
function fifoId(fd: number): string {
  return fifoIdOf(`/proc/self/fd/${fd}`);
}

/**
 * Why the pool of the make that runs jx cannot be joined here, or undefined
 * when it can: the check `joinJobserver` makes first, and what `jx doctor`
 * reports. The pipe style's fds must be one pipe (or fifo) open here: a make
 * that did not pass them (no '+' on the rule) leaves the numbers free for
 * anything else; the fifo style's path must be a fifo jx can open.
 */
export function jobserverProblem(auth: JobserverAuth): string | undefined {
  if (auth.style === "pipe") {
    const id = fifoId(auth.read);
    if (!id || id !== fifoId(auth.write)) {
      return `jobserver unavailable (fds ${auth.read},${auth.write} are not make's pool: ` +
        "add '+' to the make rule that runs jx)";
    }
    return pipeModeProblem(auth.read, auth.write);
  }
  if (!fifoIdOf(auth.path)) {
    const what = existsSync(auth.path) ? "not a fifo" : "no such file";
    return `jobserver unavailable (fifo:${auth.path}: ${what})`;
  }
  try {
    libc().symbols.close(openNonblockingRead(auth.path));
  } catch (e) {
    return `jobserver unavailable (${(e as Error).message})`;
  }
  return undefined;
}

/**
 * One pipe, but R not open for reading or W not for writing (`--jobserver-auth=4,3`, the pair
 * swapped): jx would read through its own description of R, and then fail to give a token back
 * (and a make among its jobs, given the same pair, would fail too).
 */
function pipeModeProblem(read: number, write: number): string | undefined {
  const mode = (fd: number): number => libc().symbols.fcntl(fd, C.F_GETFL, 0) & 3;
  const bad = mode(read) === C.O_WRONLY
    ? `fd ${read} is not open for reading`
    : mode(write) === C.O_RDONLY
    ? `fd ${write} is not open for writing`
    : undefined;
  return bad && `jobserver unavailable (--jobserver-auth=${read},${write}: ${bad})`;
}

/**
 * Why a `--jobserver-auth=` value that names no pool (`MakeFlags.badAuth`) is not joined: in
 * make 4.4's words (`invalid --jobserver-auth string 'abc'`).
 */
export function badAuthProblem(value: string): string {
  return `jobserver unavailable (invalid --jobserver-auth string '${escapeControls(value)}')`;
}

/**
 * Whether the pool is a jx server's (its fifo in a `jx-jobserver-` folder, named in MAKEFLAGS
 * or behind the pipe form's write end): that jx puts back the tokens a job lost itself, once
 * none of its jobs runs, so a watchdog's writing them back besides could make them too many.
 *
 * @example
 * ```ts
 * import { servedByJx } from "./pool.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(servedByJx({ style: "fifo", path: "/tmp/jx-jobserver-h-1-Ab12Cd/fifo" }), true);
 * assertEquals(servedByJx({ style: "fifo", path: "/tmp/GMfifo4242" }), false);
 * ```
 */
export function servedByJx(auth: JobserverAuth): boolean {
  let path = "";
  if (auth.style === "fifo") path = auth.path;
  else {
    try {
      path = readLink(`/proc/self/fd/${auth.write}`); // make's own: "pipe:[1234]"
    } catch {
      // not known: make's, as most are
    }
  }
  return /\/jx-jobserver-[^/]*\/fifo$/.test(path);
}

/**
 * Why a `-j` of MAKEFLAGS (`-j-3`, `-jfoo`: `MakeFlags.badJobs`) is left out: make 4.4.1's words
 * for it; jx reads it as no `-j` and no job gets it (make 4.4.1 would stop there, or hang on
 * `-j-3`).
 */
export function badJobsProblem(source: string, word: string): string {
  return `${source}: ${escapeControls(word)} ignored (the '-j' option requires a positive ` +
    "integer argument); jobs get no such -j";
}

/**
 * Joins the pool of the make that runs jx (the client side). Returns an
 * error message instead when the pool cannot be reached here
 * (`jobserverProblem`; make prints "jobserver unavailable" in that case: the
 * rule needs a `+`).
 */
export function joinJobserver(
  auth: JobserverAuth,
  limit: number,
  reactor: Reactor,
): JobserverSlots | string {
  const s = libc().symbols;
  const problem = jobserverProblem(auth);
  if (problem) return problem;
  if (auth.style === "pipe") {
    const rfd = openNonblockingRead(`/proc/self/fd/${auth.read}`);
    // make passes the pair inheritable; Bun marks every inherited fd close-on-exec at its
    // start. jx's children (a sub-make, gcc) must get them as make gave them.
    for (const fd of [auth.read, auth.write]) s.fcntl(fd, C.F_SETFD, 0);
    return new Pool({
      role: "client",
      style: "pipe",
      limit,
      reactor,
      tell: servedByJx(auth) ? undefined : tokenTeller(reactor, { fd: auth.write }),
      rfd,
      wfd: auth.write,
      pipe: { read: auth.read, write: auth.write },
      cleanup: () => s.close(rfd),
    });
  }
  let rfd: number;
  try {
    rfd = openNonblockingRead(auth.path);
  } catch (e) {
    return `jobserver unavailable (${(e as Error).message})`;
  }
  const wfd = openFifo(auth.path, C.O_RDWR | C.O_CLOEXEC);
  return new Pool({
    role: "client",
    style: "fifo",
    limit,
    reactor,
    tell: servedByJx(auth) ? undefined : tokenTeller(reactor, { fifo: auth.path }),
    rfd,
    wfd,
    path: auth.path,
    cleanup: () => {
      s.close(rfd);
      s.close(wfd);
    },
  });
}
