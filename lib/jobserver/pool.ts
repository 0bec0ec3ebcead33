/**
 * The GNU make jobserver as a source of job slots, both ways:
 *
 * - server: jx creates the pool (a pipe, or a named fifo for make >= 4.4 and
 *   ninja >= 1.13) holding N-1 tokens, keeps the implicit slot, and hands the
 *   pool to its jobs through MAKEFLAGS;
 * - client: jx runs inside make and takes tokens from make's pool.
 *
 * Tokens are read through a private non-blocking description of the pool's
 * read end (reopened through /proc/self/fd), watched by the reactor, so no
 * read ever blocks the event loop and no pending read can swallow a token.
 * Every token read is written back: when its job ends, and at the end of the
 * run for any still held.
 *
 * @module
 */
import { mkdtempSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { C, cstr, errno, libc, strerror } from "../reactor/libc.ts";
import type { Reactor } from "../reactor/types.ts";
import type { Slots } from "../scheduler/slots.ts";
import { formatMakeFlags, type JobserverAuth } from "./makeflags.ts";

/** A jobserver pool as jx's job slots. */
export interface JobserverSlots extends Slots {
  /** `server` or `client`. */
  readonly role: "server" | "client";
  readonly style: "pipe" | "fifo";
  /** MAKEFLAGS for jobs (server), or undefined to pass make's own through (client). */
  readonly makeflags?: string;
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

class Pool implements JobserverSlots {
  /** Tokens read and not yet assigned to a job (kept while a multi-token job gathers). */
  private reserve: number[] = [];
  /** Tokens held by running jobs, as the bytes read. */
  private held: number[] = [];
  private implicitFree = true;
  private cancelWatch?: () => void;
  private buf = new Uint8Array(64);
  onAvailable?: () => void;

  constructor(
    readonly role: "server" | "client",
    readonly style: "pipe" | "fifo",
    readonly limit: number,
    private reactor: Reactor,
    /** Private non-blocking read end. */
    private rfd: number,
    /** Write end (shared with children). */
    private wfd: number,
    readonly makeflags: string | undefined,
    private cleanup: () => void,
  ) {}

  get free(): number {
    return (this.implicitFree ? 1 : 0) + this.reserve.length;
  }

  tryTake(n: number): boolean {
    const s = libc().symbols;
    let need = n - (this.implicitFree ? 1 : 0) - this.reserve.length;
    while (need > 0) {
      const k = Number(s.read(this.rfd, this.buf, Math.min(need, this.buf.length)));
      if (k <= 0) break; // EAGAIN: the pool is empty now (EINTR: try again later)
      for (let i = 0; i < k; i++) this.reserve.push(this.buf[i]);
      need -= k;
    }
    if (need > 0) {
      this.arm();
      return false;
    }
    if (this.implicitFree) {
      this.implicitFree = false;
      n--;
    }
    this.held.push(...this.reserve.splice(0, n));
    return true;
  }

  give(n: number): void {
    if (n <= 0) return;
    // The implicit slot is given back first; it costs no write.
    if (!this.implicitFree) {
      this.implicitFree = true;
      n--;
    }
    const back = this.held.splice(this.held.length - n, n);
    this.write(back);
  }

  private write(tokens: number[]): void {
    if (!tokens.length) return;
    const s = libc().symbols;
    const data = new Uint8Array(tokens);
    let off = 0;
    while (off < data.length) {
      const w = Number(s.write(this.wfd, data.subarray(off), data.length - off));
      if (w <= 0) {
        const e = errno();
        if (e === C.EINTR || e === C.EAGAIN) continue;
        throw new Error(`jobserver: cannot return tokens: ${strerror(e)}`);
      }
      off += w;
    }
  }

  /** Asks the reactor to call `onAvailable` once the pool has a token to read. */
  private arm(): void {
    if (this.cancelWatch || !this.reactor.watch) return;
    this.cancelWatch = this.reactor.watch(this.rfd, () => {
      this.cancelWatch?.();
      this.cancelWatch = undefined;
      this.onAvailable?.();
    });
  }

  finish(): string | undefined {
    this.cancelWatch?.();
    this.cancelWatch = undefined;
    this.write([...this.reserve, ...this.held]);
    this.reserve = [];
    this.held = [];
    let problem: string | undefined;
    if (this.role === "server") {
      const s = libc().symbols;
      let count = 0;
      for (;;) {
        const k = Number(s.read(this.rfd, this.buf, this.buf.length));
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
    this.cleanup();
    return problem;
  }
}

/**
 * Creates a pool of `jobs` slots for jx's children (the server side).
 *
 * @example
 * ```ts
 * import { createJobserver } from "./pool.ts";
 * import { createReactor } from "../reactor/mod.ts";
 * const pool = createJobserver(8, "pipe", createReactor("epoll"));
 * console.log(pool.makeflags); // " -j8 --jobserver-auth=5,6"
 * pool.finish();
 * ```
 */
export function createJobserver(
  jobs: number,
  style: "pipe" | "fifo",
  reactor: Reactor,
): JobserverSlots {
  const s = libc().symbols;
  let auth: JobserverAuth;
  let rfd: number, wfd: number;
  const toClose: number[] = [];
  let cleanupPath: (() => void) | undefined;
  if (style === "pipe") {
    const fds = new Int32Array(2);
    // Without O_CLOEXEC: children inherit both ends, as make's `+` recipes do.
    if (s.pipe2(fds, 0) < 0) throw new Error(`pipe2: ${strerror(errno())}`);
    auth = { style: "pipe", read: fds[0], write: fds[1] };
    wfd = fds[1];
    rfd = openNonblockingRead(`/proc/self/fd/${fds[0]}`);
    toClose.push(fds[0], fds[1], rfd);
  } else {
    // A private directory (mode 0700) holds the fifo (mode 0600).
    const dir = mkdtempSync(join(tmpdir(), "jx-jobserver-"));
    const path = `${dir}/fifo`;
    if (s.mkfifo(cstr(path), 0o600) < 0) throw new Error(`mkfifo ${path}: ${strerror(errno())}`);
    rfd = openNonblockingRead(path);
    wfd = s.open(cstr(path), C.O_RDWR | C.O_CLOEXEC, 0);
    auth = { style: "fifo", path };
    toClose.push(rfd, wfd);
    cleanupPath = () => {
      s.unlink(cstr(path));
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const pool = new Pool(
    "server",
    style,
    jobs,
    reactor,
    rfd,
    wfd,
    formatMakeFlags(jobs, auth),
    () => {
      for (const fd of toClose) s.close(fd);
      cleanupPath?.();
    },
  );
  // The pool holds N-1 tokens; jx keeps the implicit one.
  if (jobs > 1) writeTokens(wfd, jobs - 1);
  return pool;
}

function writeTokens(fd: number, n: number): void {
  const s = libc().symbols;
  const data = new Uint8Array(n).fill(0x2b); // '+'
  let off = 0;
  while (off < n) {
    const w = Number(s.write(fd, data.subarray(off), n - off));
    if (w <= 0) throw new Error(`jobserver: cannot fill the pool: ${strerror(errno())}`);
    off += w;
  }
}

/**
 * Joins the pool of the make that runs jx (the client side). Returns an
 * error message instead when the pool's fds are not open here (make prints
 * "jobserver unavailable" in that case: the rule needs a `+`).
 */
export function joinJobserver(
  auth: JobserverAuth,
  limit: number,
  reactor: Reactor,
): JobserverSlots | string {
  const s = libc().symbols;
  let rfd: number, wfd: number;
  const toClose: number[] = [];
  if (auth.style === "pipe") {
    // Both fds must be the two ends of one pipe: a make that did not pass
    // them (no '+' on the rule) leaves the numbers free for anything else.
    const link = (fd: number) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return "";
      }
    };
    const [r, w] = [link(auth.read), link(auth.write)];
    if (!r.startsWith("pipe:") || r !== w) {
      return `jobserver unavailable (fds ${auth.read},${auth.write} are not make's pool: ` +
        "add '+' to the make rule that runs jx)";
    }
    rfd = openNonblockingRead(`/proc/self/fd/${auth.read}`);
    wfd = auth.write;
    toClose.push(rfd);
  } else {
    try {
      rfd = openNonblockingRead(auth.path);
    } catch (e) {
      return `jobserver unavailable (${(e as Error).message})`;
    }
    wfd = s.open(cstr(auth.path), C.O_RDWR | C.O_CLOEXEC, 0);
    toClose.push(rfd, wfd);
  }
  return new Pool("client", auth.style, limit, reactor, rfd, wfd, undefined, () => {
    for (const fd of toClose) s.close(fd);
  });
}
