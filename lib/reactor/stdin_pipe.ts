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
  let readEnd = p[0];
  let fd = p[1];
  s.fcntl(fd, C.F_SETFL, s.fcntl(fd, C.F_GETFL, 0) | C.O_NONBLOCK);
  const queue: Uint8Array[] = [];
  let queued = 0;
  let closing = false;
  let waiting = false;
  const drop = () => {
    if (fd < 0) return;
    if (waiting) set.remove(fd, watcher);
    waiting = false;
    s.close(fd);
    fd = -1;
    queue.length = 0;
    queued = 0;
  };
  /** Writes what is queued; false when the pipe is full (or gone). */
  const flush = (): boolean => {
    while (queue.length && fd >= 0) {
      const head = queue[0];
      const n = Number(s.write(fd, head, head.length));
      if (n >= 0) {
        queued -= n;
        if (n === head.length) queue.shift();
        else queue[0] = head.subarray(n);
        continue;
      }
      const e = errno();
      if (e === C.EINTR) continue;
      if (e === C.EAGAIN) return false;
      drop(); // EPIPE: the child closed its stdin
      return false;
    }
    return true;
  };
  const settle = () => {
    if (fd < 0) return;
    if (flush()) {
      if (waiting) set.remove(fd, watcher);
      waiting = false;
      if (closing) drop();
    } else if (fd >= 0 && !waiting) {
      set.add(fd, watcher, C.EPOLLOUT);
      waiting = true;
      kick();
    }
  };
  const watcher: Watcher = { kind: "stdin", writable: settle };
  return {
    get readEnd() {
      return readEnd;
    },
    get pending() {
      return queued;
    },
    spawned() {
      if (readEnd >= 0) s.close(readEnd);
      readEnd = -1;
    },
    closeBoth() {
      this.spawned();
      drop();
    },
    drop,
    write(data) {
      if (fd < 0 || closing) return;
      const bytes = typeof data === "string" ? enc.encode(data) : data.slice();
      if (!bytes.length) return;
      queue.push(bytes);
      queued += bytes.length;
      if (queue.length === 1) settle();
    },
    close() {
      closing = true;
      if (!queue.length) drop();
    },
  };
}
