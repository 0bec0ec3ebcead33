/**
 * Many `statx` calls in a few system calls: an io_uring ring (Linux 5.6 and
 * later) takes a batch of `IORING_OP_STATX` requests in one `io_uring_enter`.
 * A no-op `jx run` of 10,000 jobs stats 20,000 recorded paths; one FFI call
 * each costs 50-62 ms on Deno here, the same stats through a ring 36-44 ms
 * (a C loop of `statx` calls: 46). What each request finds is what the call
 * finds (the same `struct statx`, relative to the same directory), so the
 * caller reads each result as it would the call's.
 *
 * Nothing here is required: a ring that cannot be had (an old kernel,
 * `kernel.io_uring_disabled`, a seccomp filter such as Docker's), a request
 * the kernel does not know (`-EINVAL`), or an `io_uring_enter` that keeps
 * failing, and the caller stats path by path as before (`StatRing.open`
 * gives null, `run` false). The ring's mappings and its results' buffer
 * live as long as the process (a given-up ring's fd is closed, its mappings
 * are kept), so a request still in the kernel then can never write into
 * memory reused since.
 *
 * @module
 */

/** What the ring needs of the runtime's FFI (Deno's or Bun's; see state/stat.ts). */
export interface RingCalls {
  /** libc's `syscall(n, a, b, c, d, e, f)`: its result (-1 on failure, as libc returns it). */
  syscall(n: number, a: number, b: number, c: number, d: number, e: number, f: number): number;
  /**
   * `mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, off)`
   * as an ArrayBuffer over the mapping; null when it failed.
   */
  map(len: number, fd: number, off: number): ArrayBuffer | null;
  /** The address of the first byte of `buf`'s view. */
  address(buf: Uint8Array): number;
  /** `close(fd)`. */
  close(fd: number): void;
}

/** x86_64 system call numbers (the same on arm64: 425 and 426 are shared). */
const SYS_IO_URING_SETUP = 425, SYS_IO_URING_ENTER = 426;
const IORING_OP_STATX = 21, IORING_ENTER_GETEVENTS = 1, IORING_FEAT_SINGLE_MMAP = 1;
const IORING_OFF_SQ_RING = 0, IORING_OFF_CQ_RING = 0x8000000, IORING_OFF_SQES = 0x10000000;
const STATX_BASIC_STATS = 0x7ff;
/** What `statx` answers for a path that cannot be stat'd: EPERM, ENOENT, EACCES, ENOTDIR, ENAMETOOLONG, ELOOP. */
const STATX_ERRORS = new Set([1, 2, 13, 20, 36, 40]);
/** `struct statx` is 256 bytes: one slot of `out` per request. */
export const STATX_SIZE = 256;
/** How often a failing `io_uring_enter` (a signal: EINTR) is tried again before the ring is given up. */
const MAX_FAILURES = 100;
/** `res` of a slot left out of the batch (its path is stat'd by the caller). */
export const SKIPPED = 1;

/**
 * A ring of `entries` requests and as many result slots.
 *
 * @example
 * ```ts ignore
 * // With calls bound by state/stat.ts (FFI): stats two paths of `bytes` under the open `dirfd`.
 * const ring = StatRing.open(calls, 256);
 * if (ring && ring.run(dirfd, bytes, new Int32Array([0, 6]), 0, 2, () => false)) {
 *   console.log(ring.res[0] === 0 ? "found" : "absent", ring.res[1]);
 * }
 * ```
 */
export class StatRing {
  /** Per slot of the last `run`: 0 (its `statx` result at `out`, slot * 256), -errno, or SKIPPED. */
  readonly res: Int32Array;
  /** The results' buffer, one `struct statx` per slot. */
  readonly out: Uint8Array;
  readonly outView: DataView;
  private readonly outAddr: number;
  private broken = false;
  private closed = false;

  /** Whether the ring still answers (false once given up). */
  get usable(): boolean {
    return !this.broken;
  }

  private constructor(
    private readonly calls: RingCalls,
    private readonly fd: number,
    private readonly sq: Uint32Array,
    private readonly cq: Uint32Array,
    private readonly cqView: DataView,
    private readonly sqes: Uint32Array,
    private readonly at: {
      sqHead: number;
      sqTail: number;
      sqMask: number;
      cqHead: number;
      cqTail: number;
      cqMask: number;
      cqes: number;
    },
    readonly entries: number,
  ) {
    this.res = new Int32Array(entries);
    this.out = new Uint8Array(entries * STATX_SIZE);
    this.outView = new DataView(this.out.buffer);
    this.outAddr = calls.address(this.out);
  }

  /** A ring of `entries` (a power of two) requests, or null when the kernel gives none. */
  static open(calls: RingCalls, entries: number): StatRing | null {
    const params = new Uint8Array(120);
    const fd = calls.syscall(SYS_IO_URING_SETUP, entries, calls.address(params), 0, 0, 0, 0);
    if (fd < 0) return null;
    const p = new DataView(params.buffer);
    const sqEntries = p.getUint32(0, true), cqEntries = p.getUint32(4, true);
    const single = (p.getUint32(20, true) & IORING_FEAT_SINGLE_MMAP) !== 0;
    // struct io_sqring_offsets at 40, io_cqring_offsets at 80 (byte offsets into the rings).
    const sqOff = (k: number) => p.getUint32(40 + k, true);
    const cqOff = (k: number) => p.getUint32(80 + k, true);
    const sqSize = sqOff(24) + sqEntries * 4, cqSize = cqOff(20) + cqEntries * 16;
    const sqBuf = calls.map(single ? Math.max(sqSize, cqSize) : sqSize, fd, IORING_OFF_SQ_RING);
    const cqBuf = single ? sqBuf : calls.map(cqSize, fd, IORING_OFF_CQ_RING);
    const sqeBuf = calls.map(sqEntries * 64, fd, IORING_OFF_SQES);
    if (!sqBuf || !cqBuf || !sqeBuf || sqEntries < entries) {
      calls.close(fd);
      return null;
    }
    const sq = new Uint32Array(sqBuf), cq = new Uint32Array(cqBuf);
    // The submission array maps ring positions to entries: each position to its own, once.
    for (let i = 0; i < sqEntries; i++) sq[sqOff(24) / 4 + i] = i;
    return new StatRing(calls, fd, sq, cq, new DataView(cqBuf), new Uint32Array(sqeBuf), {
      sqHead: sqOff(0) / 4,
      sqTail: sqOff(4) / 4,
      sqMask: sq[sqOff(8) / 4],
      cqHead: cqOff(0) / 4,
      cqTail: cqOff(4) / 4,
      cqMask: cq[cqOff(8) / 4],
      cqes: cqOff(20),
    }, entries);
  }

  /**
   * `statx(dirfd, path, 0, STATX_BASIC_STATS)` of the NUL-ended paths of
   * `bytes` that start at `starts[from..to)` (at most `entries` of them),
   * but those `skip` says to leave out; slot `k - from` holds path `k`'s
   * result. False when the ring failed (no slot can be trusted, and the
   * ring is not used again).
   */
  run(
    dirfd: number,
    bytes: Uint8Array,
    starts: Int32Array,
    from: number,
    to: number,
    skip: (start: number) => boolean,
  ): boolean {
    if (this.broken || to - from > this.entries) return false;
    const { sq, sqes, at } = this;
    const base = this.calls.address(bytes);
    let tail = sq[at.sqTail], queued = 0;
    for (let k = from; k < to; k++) {
      const slot = k - from;
      if (skip(starts[k])) {
        this.res[slot] = SKIPPED;
        continue;
      }
      const q = (tail & at.sqMask) * 16;
      const path = base + starts[k], out = this.outAddr + slot * STATX_SIZE;
      sqes[q] = IORING_OP_STATX; // opcode, no flags, no priority
      sqes[q + 1] = dirfd;
      sqes[q + 2] = out >>> 0; // addr2: the statx buffer
      sqes[q + 3] = (out / 2 ** 32) >>> 0;
      sqes[q + 4] = path >>> 0; // addr: the path
      sqes[q + 5] = (path / 2 ** 32) >>> 0;
      sqes[q + 6] = STATX_BASIC_STATS; // len: the mask
      sqes[q + 7] = 0; // statx_flags
      sqes[q + 8] = slot; // user_data
      sqes.fill(0, q + 9, q + 16);
      tail = (tail + 1) >>> 0;
      queued++;
    }
    Atomics.store(sq, at.sqTail, tail);
    return this.complete(tail, queued);
  }

  /** Submits what is queued up to `tail` and collects `queued` completions into `res`. */
  private complete(tail: number, queued: number): boolean {
    const { sq, cq, at } = this;
    let got = 0, failures = 0;
    while (got < queued) {
      const unsent = (tail - Atomics.load(sq, at.sqHead)) >>> 0;
      const r = this.calls.syscall(
        SYS_IO_URING_ENTER,
        this.fd,
        unsent,
        queued - got,
        IORING_ENTER_GETEVENTS,
        0,
        0,
      );
      if (r < 0 && ++failures > MAX_FAILURES) return this.giveUp();
      let head = Atomics.load(cq, at.cqHead);
      const end = Atomics.load(cq, at.cqTail);
      for (; head !== end; head = (head + 1) >>> 0) {
        const c = at.cqes + (head & at.cqMask) * 16;
        const slot = this.cqView.getUint32(c, true), res = this.cqView.getInt32(c + 8, true);
        // What statx itself answers for a path is kept; anything else (a kernel without
        // IORING_OP_STATX: -EINVAL; the ring's own -ECANCELED, -EAGAIN, -ENOMEM...) is no answer.
        if (res < 0 && !STATX_ERRORS.has(-res)) this.broken = true;
        if (slot < this.res.length) this.res[slot] = res;
        got++;
      }
      Atomics.store(cq, at.cqHead, head);
    }
    return !this.broken || this.giveUp();
  }

  /** The ring failed: its fd closed (its mappings and `out` kept), never used again. */
  private giveUp(): false {
    if (this.fd >= 0 && !this.closed) this.calls.close(this.fd);
    this.broken = this.closed = true;
    return false;
  }
}
