/**
 * A child's stdin for the epoll reactor (`SpawnRequest.stdin: "pipe"`).
 *
 * @module
 */
import { C, errno, type Libc, strerror } from "./libc.ts";
import type { EpollSet, Watcher } from "./epoll_set.ts";

/** jx's side of a child's stdin pipe. */
export interface StdinPipe {
  /** The read end, for the child's fd 0 (-1 once closed here). */
  readonly readEnd: number;
  /** The child has its copy (or the spawn failed): close ours. */
  spawned(): void;
  /** Closes both ends (the spawn never happened). */
  closeBoth(): void;
  /** Forgets the write end: closes it, drops the queue. */
  drop(): void;
  /** `ChildHandle.write`. */
  write(data: Uint8Array | string): void;
  /** `ChildHandle.closeStdin`. */
  close(): void;
  /** Bytes queued, not yet in the pipe (`ChildHandle.stdinPending`). */
  readonly pending: number;
  /** False once the write end is closed or closing (`ChildHandle.stdinOpen`). */
  readonly open: boolean;
  /** Bytes written that never went in: dropped with the write end (`ChildHandle.stdinLost`). */
  readonly lost: number;
}

const enc = new TextEncoder();

/**
 * A pipe whose read end becomes the child's fd 0 and whose write end jx
 * keeps, non-blocking. Writes go straight into the pipe; what it cannot take
 * is queued and flushed when epoll says the fd is writable (`kick` makes the
 * reactor wait for that). Throws when no pipe can be had.
 */
export function stdinPipe(s: Libc["symbols"], set: EpollSet, kick: () => void): StdinPipe {
  const p = new Int32Array(2);
  if (s.pipe2(p, C.O_CLOEXEC) < 0) throw new Error(`pipe2: ${strerror(errno())}`);
  s.fcntl(p[1], C.F_SETFL, s.fcntl(p[1], C.F_GETFL, 0) | C.O_NONBLOCK);
  return new Pipe(s, set, kick, p[0], p[1]);
}

/** `stdinPipe`'s pipe: its two ends, what waits to go in, and its watch for writability. */
class Pipe implements StdinPipe {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private dropped = 0;
  private closing = false;
  /** Whether `fd` is in the epoll set, waiting to be writable. */
  private waiting = false;
  private watcher: Watcher = { kind: "stdin", writable: () => this.settle() };

  constructor(
    private s: Libc["symbols"],
    private set: EpollSet,
    private kick: () => void,
    private read: number,
    private fd: number,
  ) {}

  get readEnd(): number {
    return this.read;
  }

  get pending(): number {
    return this.queued;
  }

  get open(): boolean {
    return this.fd >= 0 && !this.closing;
  }

  get lost(): number {
    return this.dropped;
  }

  spawned(): void {
    if (this.read >= 0) this.s.close(this.read);
    this.read = -1;
  }

  closeBoth(): void {
    this.spawned();
    this.drop();
  }

  drop(): void {
    if (this.fd < 0) return;
    this.unwait();
    this.s.close(this.fd);
    this.fd = -1;
    this.queue.length = 0;
    this.dropped += this.queued;
    this.queued = 0;
  }

  write(data: Uint8Array | string): void {
    if (this.fd < 0 || this.closing) return;
    const bytes = typeof data === "string" ? enc.encode(data) : data.slice();
    if (!bytes.length) return;
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (this.queue.length === 1) this.settle();
  }

  close(): void {
    this.closing = true;
    if (!this.queue.length) this.drop();
  }

  /** Leaves the epoll set, if waiting there. */
  private unwait(): void {
    if (this.waiting) this.set.remove(this.fd, this.watcher);
    this.waiting = false;
  }

  /** Writes what it can; waits for writability if some is left, or closes if asked to. */
  private settle(): void {
    if (this.fd < 0) return;
    if (this.flush()) {
      this.unwait();
      if (this.closing) this.drop();
    } else if (this.fd >= 0 && !this.waiting) {
      this.set.add(this.fd, this.watcher, C.EPOLLOUT);
      this.waiting = true;
      this.kick();
    }
  }

  /** Writes what is queued; false when the pipe is full (or gone). */
  private flush(): boolean {
    while (this.queue.length && this.fd >= 0) {
      const head = this.queue[0];
      const n = Number(this.s.write(this.fd, head, head.length));
      if (n >= 0) {
        this.queued -= n;
        if (n === head.length) this.queue.shift();
        else this.queue[0] = head.subarray(n);
        continue;
      }
      const e = errno();
      if (e === C.EINTR) continue;
      if (e === C.EAGAIN) return false;
      this.drop(); // EPIPE: the child closed its stdin
      return false;
    }
    return true;
  }
}
