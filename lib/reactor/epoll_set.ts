/**
 * The epoll reactor's set: one epoll instance, its wake eventfd, and one
 * watcher per registered fd, so that an event is dispatched by one lookup
 * (after libuv's Linux backend, which keeps one watcher per fd).
 *
 * @module
 */
import { C, errno, type Libc, strerror } from "./libc.ts";
import type { EpollChild } from "./epoll_child.ts";

/** What a registered fd is, and who handles its events. */
export type Watcher =
  /** A child's stdout or stderr read end. */
  | { readonly kind: "pipe"; readonly child: EpollChild }
  /** A child's pidfd (a child that runs on with its pipes closed, or has a stdin pipe). */
  | { readonly kind: "pidfd"; readonly child: EpollChild }
  /** The eventfd that wakes a pending wait at close. */
  | { readonly kind: "wake" }
  /** An fd watched through `Reactor.watch` (the jobserver's read end, inotify). */
  | { readonly kind: "fd"; readonly cb: () => void }
  /** A child's stdin write end with data queued, waiting to be writable. */
  | { readonly kind: "stdin"; readonly writable: () => void };

/** The set. Throws from the constructor when epoll or eventfd cannot be had. */
export class EpollSet {
  /** The epoll fd. */
  readonly fd: number;
  /** The eventfd written at close (always registered, as a `wake` watcher). */
  readonly wakefd: number;
  private readonly watchers = new Map<number, Watcher>();
  private readonly ev = new Uint8Array(C.SIZEOF_EPOLL_EVENT);
  private readonly evView = new DataView(this.ev.buffer);

  /** A new set, with its wake fd registered. */
  constructor(private readonly s: Libc["symbols"]) {
    this.fd = s.epoll_create1(C.O_CLOEXEC);
    if (this.fd < 0) throw new Error(`epoll_create1: ${strerror(errno())}`);
    this.wakefd = s.eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK);
    if (this.wakefd < 0) throw new Error(`eventfd: ${strerror(errno())}`);
    this.add(this.wakefd, { kind: "wake" });
  }

  /** The watcher of `fd`, if registered. */
  get(fd: number): Watcher | undefined {
    return this.watchers.get(fd);
  }

  /** Whether anything but the wake fd is registered (something to wait for). */
  get busy(): boolean {
    return this.watchers.size > 1;
  }

  /** Registers `fd` with its watcher (throws when epoll refuses it). */
  add(fd: number, w: Watcher, events: number = C.EPOLLIN): void {
    this.evView.setUint32(0, events, true);
    this.evView.setUint32(4, fd, true); // data.u64 = fd (the high half stays 0)
    if (this.s.epoll_ctl(this.fd, C.EPOLL_CTL_ADD, fd, this.ev) < 0) {
      throw new Error(`epoll_ctl: ${strerror(errno())}`);
    }
    this.watchers.set(fd, w);
  }

  /**
   * Unregisters `fd` if `w` is still its watcher (the number may have been
   * reused since); false when it was not.
   */
  remove(fd: number, w: Watcher): boolean {
    if (this.watchers.get(fd) !== w) return false;
    this.watchers.delete(fd);
    this.s.epoll_ctl(this.fd, C.EPOLL_CTL_DEL, fd, this.ev);
    return true;
  }

  /**
   * Unregisters and closes `fd`. (Closing alone would not do: a child being
   * spawned holds a copy of the fd table until it execs.)
   */
  close(fd: number, w: Watcher): void {
    this.remove(fd, w);
    this.s.close(fd);
  }

  /** Wakes a pending wait (at close). */
  wake(): void {
    this.s.write(this.wakefd, new BigUint64Array([1n]), 8);
  }
}
