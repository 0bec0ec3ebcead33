/**
 * The watchdog: what ends jx's jobs and modules when jx itself is killed
 * with SIGKILL (`kill -9`, `timeout -s KILL`, the OOM killer) or crashes,
 * where no handler of jx's runs to stop them.
 *
 * `guardReactor` wraps a reactor: before the first child it spawns (never on
 * a run that starts nothing), it starts one small process, `/bin/sh` running
 * `awk`, in a session and process group of its own (a signal to jx's group
 * does not reach it), its stdin a pipe whose write end only jx holds
 * (close-on-exec: no child inherits it), its stdout and stderr `/dev/null`,
 * its cwd `/`. Every child's process group is written to that pipe when the
 * child starts (`+PGID`) and when its end has been seen (`-PGID`): at most
 * one write per turn of the event loop, a group that started and ended in
 * the same turn not at all. At the reactor's close jx writes `q` (when no
 * group is listed any more: a normal end) and closes the pipe: the watchdog
 * exits. End of file without `q` means jx is gone (killed, crashed, or ended
 * by an error with children still running):
 * the watchdog sends SIGTERM and SIGCONT (a group a Ctrl-Z stopped) to every
 * group still listed, gives them the grace, then SIGKILL to those left, and
 * exits. An interactive child (`terminal`), in jx's own group, is not listed.
 *
 * @module
 */
import { pid } from "../runtime/fs.ts";
import { JxInputError } from "../runtime/errors.ts";
import type { ChildHandle, Reactor, SpawnRequest } from "./types.ts";

/**
 * The watchdog's script (`$1`: the grace, in tenths of a second; `$2`, unused: jx's pid, for `ps`). `awk` reads
 * the pipe in blocks and keeps the listed groups; once it ends, `sh` signals
 * what it printed: the groups listed at the end of file, none after `q`.
 */
const SCRIPT = `exec >/dev/null 2>&1
g=$(awk '# jx-watchdog
$0 == "q" { q = 1; exit }
/^[+]/ { a[substr($0, 2)] = 1; next }
/^-/ { delete a[substr($0, 2)] }
END { if (!q) for (k in a) printf " -%s", k }')
[ -n "$g" ] || exit 0
kill -TERM $g
kill -CONT $g
n=$1
while [ "$n" -gt 0 ]; do
  for p in $g; do kill -0 $p && break; p=; done
  [ -n "$p" ] || exit 0
  sleep 0.1
  n=$((n - 1))
done
kill -KILL $g
`;

/** The watchdog's `$0`, followed by the grace (tenths of a second) and jx's pid: what `ps` shows. */
export const WATCHDOG_NAME = "jx-watchdog";

/**
 * A reactor whose children's process groups a watchdog process ends if jx
 * dies without stopping them.
 *
 * @example
 * ```ts
 * import { FakeReactor } from "./fake.ts";
 * import { guardReactor, WATCHDOG_NAME } from "./watchdog.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const fake = new FakeReactor((req) => ({ ms: req.argv[3] === WATCHDOG_NAME ? 1e9 : 10 }));
 * const r = guardReactor(fake, 5000);
 * r.spawn({ argv: ["job"], cwd: "/", env: {}, onOutput() {}, onExit() {} });
 * r.setTimer(20, () => r.close());
 * await fake.run();
 * // the watchdog (the first spawn) was told the job's group, then its end, then to quit
 * assertEquals(fake.records[0].stdin, ["+1001\n", "-1001\n", "q\n"]);
 * ```
 */
export interface GuardedReactor extends Reactor {
  /**
   * Lists process group `pgid` with the watchdog (started now if no spawn
   * started it) until the function returned is called: a module's group that
   * outlives its leader (a daemon), `jx exec`'s command (spawned otherwise).
   */
  hold(pgid: number): () => void;
  /** Resolves once what jx wrote to the watchdog has reached its pipe (after `close`). */
  drained(): Promise<void>;
}

/**
 * `inner` with a watchdog for its children (see the module's comment);
 * `graceMs` is what the watchdog waits between SIGTERM and SIGKILL.
 *
 * @example
 * ```ts
 * import { createReactor } from "./mod.ts";
 * import { guardReactor } from "./watchdog.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const r = guardReactor(createReactor("auto"), 5000);
 * const code = await new Promise((exited) =>
 *   r.spawn({ argv: ["true"], cwd: "/", env: {}, onOutput() {}, onExit: (s) => exited(s.code) })
 * );
 * r.close();
 * await r.drained();
 * assertEquals(code, 0);
 * ```
 */
export function guardReactor(inner: Reactor, graceMs: number): GuardedReactor {
  // (A negative or NaN grace reached the watchdog's `sleep` as it was: SIGKILL at once, or never.)
  if (typeof graceMs !== "number" || !Number.isFinite(graceMs) || graceMs < 0) {
    throw new JxInputError(
      `guardReactor: graceMs: expected a number of milliseconds, 0 or more, got ${
        typeof graceMs === "number" ? graceMs : JSON.stringify(graceMs)
      }`,
    );
  }
  const w = new Watchdog(inner, graceMs);
  const guarded: GuardedReactor = {
    name: inner.name,
    now: () => inner.now(),
    spawn: (req) => w.spawn(req),
    setTimer: (ms, cb) => inner.setTimer(ms, cb),
    clearTimer: (id) => inner.clearTimer(id),
    onSignal: (sig, cb) => inner.onSignal(sig, cb),
    stopSelf: () => inner.stopSelf(),
    close() {
      w.close();
      inner.close();
    },
    hold: (pgid) => w.hold(pgid),
    drained: () => w.drained(),
  };
  if (inner.watch) guarded.watch = (fd, cb) => inner.watch!(fd, cb);
  if (inner.afterSpawns) guarded.afterSpawns = (cb) => inner.afterSpawns!(cb);
  return guarded;
}

/**
 * Lists `pgid` with `reactor`'s watchdog until the function returned is
 * called; nothing where the reactor has none.
 *
 * @example
 * ```ts
 * import { FakeReactor } from "./fake.ts";
 * import { holdGroup } from "./watchdog.ts";
 * const release = holdGroup(new FakeReactor(() => ({ ms: 1 })), 4242);
 * release();
 * ```
 */
export function holdGroup(reactor: Reactor, pgid: number): () => void {
  const hold = (reactor as Partial<GuardedReactor>).hold;
  return hold ? hold(pgid) : () => {};
}

/** The watchdog process of one reactor, and what is to be written to it. */
class Watchdog {
  private child: ChildHandle | undefined;
  /** It exited (or never started): nothing is written any more. */
  private gone = false;
  private closed = false;
  /** The groups listed (or to be), each with the number of holds on it. */
  private readonly held = new Map<number, number>();
  /** Groups to list, and to take off the list, at the end of this turn. */
  private readonly adds = new Set<number>();
  private removes: number[] = [];
  private flushing = false;
  private readonly flushNow = () => this.flush();

  constructor(private readonly inner: Reactor, private readonly graceMs: number) {}

  spawn(req: SpawnRequest): ChildHandle {
    if (req.terminal || this.closed) return this.inner.spawn(req);
    if (!this.child && !this.gone) this.start();
    let pid = 0;
    let release: (() => void) | undefined;
    const { onStart, onExit } = req;
    return this.inner.spawn({
      ...req,
      onStart: (p) => {
        pid = p;
        release = this.hold(p);
        onStart?.(p);
      },
      onExit: (st) => {
        if (pid) release?.();
        onExit(st);
      },
    });
  }

  hold(pgid: number): () => void {
    if (pgid <= 1 || this.gone || this.closed) return () => {};
    if (!this.child) this.start(); // a group jx did not spawn through it (`jx exec`'s command)
    const n = this.held.get(pgid) ?? 0;
    this.held.set(pgid, n + 1);
    if (n === 0) this.queue(pgid, true);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.held.get(pgid) ?? 1) - 1;
      if (left > 0) return void this.held.set(pgid, left);
      this.held.delete(pgid);
      this.queue(pgid, false);
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.child || this.gone) return;
    this.flush();
    // Children still running are abandoned (an internal error): the watchdog ends them.
    if (!this.held.size) this.child.write?.("q\n");
    this.child.closeStdin?.();
  }

  async drained(): Promise<void> {
    // Only a backend whose writes are asynchronous (Deno's portable one) has any left.
    for (let i = 0; i < 100 && (this.child?.stdinPending?.() ?? 0) > 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private start(): void {
    const tenths = Math.max(1, Math.ceil(this.graceMs / 100));
    this.child = this.inner.spawn({
      argv: ["/bin/sh", "-c", SCRIPT, WATCHDOG_NAME, String(tenths), String(pid())],
      cwd: "/",
      env: { PATH: "/usr/bin:/bin", LC_ALL: "C" },
      stdin: "pipe",
      onOutput() {},
      onExit: () => {
        this.gone = true;
        this.adds.clear();
        this.removes = [];
      },
    });
  }

  private queue(pgid: number, listed: boolean): void {
    if (listed) this.adds.add(pgid);
    // One listed in this turn and ended in it is never written.
    else if (!this.adds.delete(pgid)) this.removes.push(pgid);
    if (!this.flushing) {
      this.flushing = true;
      queueMicrotask(this.flushNow);
    }
  }

  /** One write of what this turn listed and ended: the ends first (a group id listed again). */
  private flush(): void {
    this.flushing = false;
    if (this.gone || !this.child || (!this.adds.size && !this.removes.length)) return;
    let text = "";
    for (const g of this.removes) text += `-${g}\n`;
    for (const g of this.adds) text += `+${g}\n`;
    this.removes = [];
    this.adds.clear();
    this.child.write?.(text);
  }
}

/**
 * Resolves once what jx wrote to `reactor`'s watchdog has reached its pipe
 * (after `close`): at once where the reactor has none.
 *
 * @example
 * ```ts
 * import { FakeReactor } from "./fake.ts";
 * import { watchdogDrained } from "./watchdog.ts";
 * const r = new FakeReactor(() => ({ ms: 1 }));
 * r.close();
 * await watchdogDrained(r);
 * ```
 */
export async function watchdogDrained(reactor: Reactor): Promise<void> {
  await (reactor as Partial<GuardedReactor>).drained?.();
}
