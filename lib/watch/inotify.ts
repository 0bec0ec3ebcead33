/**
 * inotify through FFI, delivered by the reactor's `watch(fd)`: directories
 * are watched (recursively where a glob needs it), and every event comes out
 * as a path relative to the base directory. A watch follows its directory's
 * inode, not its path: when the directory is deleted, or moved away from the
 * path it was watched under, the watch ends (with the watches under it) and
 * a `gone` event says so, so that the caller watches the path again.
 *
 * @module
 */
import { decodeBytes } from "../runtime/utf8.ts";
import { cstr, errno, libc, strerror } from "../reactor/libc.ts";
import type { Reactor } from "../reactor/types.ts";

const IN = {
  MODIFY: 0x2,
  CLOSE_WRITE: 0x8,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  Q_OVERFLOW: 0x4000,
  IGNORED: 0x8000,
  ISDIR: 0x40000000,
  NONBLOCK: 0x800,
  CLOEXEC: 0x80000,
  ONLYDIR: 0x1000000,
};

const MASK = IN.MODIFY | IN.CLOSE_WRITE | IN.MOVED_FROM | IN.MOVED_TO | IN.CREATE | IN.DELETE |
  IN.DELETE_SELF | IN.MOVE_SELF | IN.ONLYDIR;

/** `inotify_add_watch`: the system's limit of watches is reached. */
const ENOSPC = 28;

/** One change: a path relative to the base directory, and whether it is a directory. */
export interface FsEvent {
  path: string;
  dir: boolean;
  /** The kernel's queue overflowed: anything may have changed. */
  overflow?: boolean;
  /** The watch of directory `path` ended: it was deleted or moved away. */
  gone?: boolean;
}

/**
 * Watches directories for changes to the files in them.
 *
 * @example
 * ```ts
 * import { Inotify } from "./inotify.ts";
 * import { createReactor } from "../reactor/mod.ts";
 * const w = new Inotify("/project", createReactor("epoll"), (evs) => console.log(evs));
 * w.add("src");
 * ```
 */
export class Inotify {
  private fd: number;
  /**
   * The paths each watch is known by: one folder reached by two paths (`inc` a link to `lib`,
   * both read) is one watch (`inotify_add_watch` gives the same descriptor), whose events count
   * under each path.
   */
  private byWd = new Map<number, string[]>();
  private byDir = new Map<string, number>();
  private buf = new Uint8Array(64 * 1024);
  private stop: () => void;

  /**
   * `onFull`: told (with the folder) when the system's limit of watches
   * (`fs.inotify.max_user_watches`) leaves a folder unwatched.
   */
  constructor(
    private baseDir: string,
    reactor: Reactor,
    private onEvents: (evs: FsEvent[]) => void,
    private onFull?: (dir: string) => void,
  ) {
    if (!reactor.watch) {
      throw new Error("inotify needs a reactor that watches fds (epoll on Deno, portable on Bun)");
    }
    const s = libc().symbols;
    this.fd = s.inotify_init1(IN.NONBLOCK | IN.CLOEXEC);
    if (this.fd < 0) throw new Error(`inotify_init1: ${strerror(errno())}`);
    this.stop = reactor.watch(this.fd, () => this.read());
  }

  /** Watches `dir` (relative; "." for the base directory); false when it does not exist. */
  add(dir: string): boolean {
    if (this.byDir.has(dir)) return true;
    const abs = dir === "." ? this.baseDir : `${this.baseDir}/${dir}`;
    const wd: number = libc().symbols.inotify_add_watch(this.fd, cstr(abs), MASK);
    if (wd < 0) {
      if (errno() === ENOSPC) this.onFull?.(dir);
      return false;
    }
    const names = this.byWd.get(wd);
    if (names) names.push(dir);
    else this.byWd.set(wd, [dir]);
    this.byDir.set(dir, wd);
    return true;
  }

  /**
   * Links on the way to watched folders (`sub/lnk` for a watched
   * `sub/lnk/src`), their parent folders watched too: an event that one was
   * replaced (`ln -sfn`) ends the watches below it, as a folder moved away.
   */
  readonly linksOnWay = new Set<string>();

  /** Directories watched now. */
  dirs(): string[] {
    return [...this.byDir.keys()];
  }

  /** Forgets path `dir`; its watch's descriptor, when no other path names that watch now. */
  private forget(dir: string): number | undefined {
    const wd = this.byDir.get(dir);
    if (wd === undefined) return undefined;
    this.byDir.delete(dir);
    const names = this.byWd.get(wd)?.filter((d) => d !== dir) ?? [];
    if (names.length) {
      this.byWd.set(wd, names);
      return undefined;
    }
    this.byWd.delete(wd);
    return wd;
  }

  /** Ends the watches of `dir` and of the directories under it (they moved with it). */
  private remove(dir: string): void {
    const s = libc().symbols;
    for (const d of [...this.byDir.keys()]) {
      if (d !== dir && !d.startsWith(`${dir}/`)) continue;
      const wd = this.forget(d);
      // Its IN_IGNORED comes later and is dropped: the descriptor no longer names a directory.
      // A watch another path still names (the folder a link leads to) stays.
      if (wd !== undefined) s.inotify_rm_watch(this.fd, wd);
    }
  }

  private read(): void {
    const s = libc().symbols;
    const out: FsEvent[] = [];
    for (;;) {
      const n = Number(s.read(this.fd, this.buf, this.buf.length));
      if (n <= 0) break;
      const view = new DataView(this.buf.buffer, 0, n);
      for (let off = 0; off + 16 <= n;) {
        const wd = view.getInt32(off, true);
        const mask = view.getUint32(off + 4, true);
        const len = view.getUint32(off + 12, true);
        let name = "";
        if (len) {
          const raw = this.buf.subarray(off + 16, off + 16 + len);
          const end = raw.indexOf(0);
          // A leading U+FEFF kept: a file may be named so; a name that is not UTF-8 as its bytes
          // (`decodeBytes`: U+FFFD would name no file, and a folder so named could not be watched).
          name = decodeBytes(end < 0 ? raw : raw.subarray(0, end));
        }
        off += 16 + len;
        if (mask & IN.Q_OVERFLOW) {
          out.push({ path: ".", dir: true, overflow: true });
          continue;
        }
        for (const dir of [...this.byWd.get(wd) ?? []]) this.event(dir, mask, name, out);
      }
    }
    if (out.length) this.onEvents(out);
  }

  /** The event `mask` (on entry `name`, or "" for itself) of watched folder `dir`, into `out`. */
  private event(dir: string, mask: number, name: string, out: FsEvent[]): void {
    if (mask & IN.IGNORED) {
      // Deleted (after IN_DELETE_SELF), or its file system unmounted.
      this.forget(dir);
      out.push({ path: dir, dir: true, gone: true });
      return;
    }
    if (mask & IN.MOVE_SELF && dir !== ".") {
      // Its events would now come from the place it moved to, under the old name.
      this.remove(dir);
      out.push({ path: dir, dir: true, gone: true });
      return;
    }
    const path = name ? (dir === "." ? name : `${dir}/${name}`) : dir;
    const placed = IN.CREATE | IN.MOVED_TO | IN.DELETE | IN.MOVED_FROM;
    if (
      name && !(mask & IN.ISDIR) && mask & placed &&
      (this.byDir.has(path) || this.linksOnWay.has(path))
    ) {
      // A folder watched through a link, and the link now leads elsewhere (`ln -sfn`), or is
      // gone: the old watch still follows the folder it led to. Ended, as a folder moved away.
      this.remove(path);
      out.push({ path, dir: true, gone: true });
      return;
    }
    out.push({ path, dir: (mask & IN.ISDIR) !== 0 });
  }

  close(): void {
    this.stop();
    libc().symbols.close(this.fd);
  }
}
