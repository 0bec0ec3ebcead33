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
 * child starts (`+PGID`, at once: one listed at the end of the turn was not
 * yet when a kill -9 came as the child ran, and it outlived jx) and when its
 * end has been seen (`-PGID`, with the next start or at the end of the turn,
 * a group that started and ended in the same turn once each). jx also tells
 * it how many tokens of make's pool it holds (`tokenTeller`), which it writes
 * back if jx dies. At the reactor's close jx writes `q` (when no
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
 * the pipe in blocks and keeps the listed groups (`+PGID`, `-PGID`), the tokens jx holds (`tN`)
 * and where they go back (`wFD`, `pFIFO`); once it ends, it prints them (`G` the groups, `T` as
 * many `+`, `W` or `F`; nothing after `q`), and `sh` ends the groups, then writes the tokens.
 */
const SCRIPT = `exec >/dev/null 2>&1
r=$(awk '# jx-watchdog
$0 == "q" { q = 1; exit }
/^[+]/ { a[substr($0, 2)] = 1; next }
/^-/ { delete a[substr($0, 2)]; next }
$0 == "s" { n++; next }
$0 == "d" { n--; next }
/^r[-A-Za-z0-9._]+$/ { r[substr($0, 2)] = ++m; next }
/^t-?[0-9]+$/ { t = substr($0, 2) + 0; next }
/^w[0-9]+$/ { w = substr($0, 2); next }
$0 ~ "^p/[-A-Za-z0-9_.+/]+$" { f = substr($0, 2); next }
END {
  if (q) exit
  printf "G"
  for (k in a) printf " -%s", k
  if (n > 0) for (k in r) if (r[k] > m - 16) printf "\\nR%s", k
  if (t > 0 && (w != "" || f != "")) {
    printf "\\nT"
    for (i = 0; i < t; i++) printf "+"
    if (w != "") printf "\\nW%s", w
    else printf "\\nF%s", f
  }
}')
g= tokens= w= f= ids=
IFS='
'
for l in $r; do
  case $l in
  G*) g=\${l#G} ;;
  T*) tokens=\${l#T} ;;
  W*) w=\${l#W} ;;
  F*) f=\${l#F} ;;
  R*) ids="$ids \${l#R}" ;;
  esac
done
IFS=' 	
'
# Spawns in flight (a child jx started but had not yet seen the pid of): the session leaders
# of the last 16 runs' JX_RUN_ID (a long jx watch has one a cycle), found by their environment.
for id in $ids; do
  for e in $(grep -lzx "JX_RUN_ID=$id" /proc/[0-9]*/environ); do
    p=\${e#/proc/}
    p=\${p%/environ}
    set -- "$1" $(sed 's/.*) //' "/proc/$p/stat")
    [ "$5" = "$p" ] || continue
    case "$g " in *" -$p "*) ;; *) g="$g -$p" ;; esac
  done
done
end() {
  kill -TERM $g
  kill -CONT $g
  n=$1
  while [ "$n" -gt 0 ]; do
    for p in $g; do kill -0 $p && break; p=; done
    [ -n "$p" ] || return
    sleep 0.1
    n=$((n - 1))
  done
  kill -KILL $g
}
[ -z "$g" ] || end "$1"
[ -n "$tokens" ] || exit 0
if [ -n "$w" ]; then eval "printf %s \\$tokens >&$w"
elif [ -p "$f" ]; then printf %s "$tokens" 1<>"$f"
fi
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
 * const env = { JX_RUN_ID: "r1" };
 * r.spawn({ argv: ["job"], cwd: "/", env, onOutput() {}, onExit() {} });
 * r.setTimer(20, () => r.close());
 * await fake.run();
 * // the watchdog (the first spawn) was told of the spawn (`s`, with its run id), then of the
 * // job's group and the spawn's end (`d`), then of the group's end, then to quit
 * assertEquals(fake.records[0].stdin, ["rr1\ns\n", "+1001\nd\n", "-1001\n", "q\n"]);
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
  /** See `tokenTeller`. */
  tokenTeller(sink: TokenSink): ((n: number) => void) | undefined;
}

/** Where tokens go back to make's pool: its write end (inherited by the watchdog), or its fifo. */
export type TokenSink = { fd: number } | { fifo: string };

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
    tokenTeller: (sink) => w.tokenTeller(sink),
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

/**
 * A function that tells `reactor`'s watchdog how many tokens of make's pool jx holds (read
 * from it and not written back): if jx dies, the watchdog writes that many back to `sink` once
 * it has ended jx's groups (make's other recipes had one slot fewer each for the rest of the
 * build, and make said "INTERNAL: Exiting with N jobserver tokens available"). jx tells it
 * after a read from the pool and before a write to it, so that it never writes back a token
 * that is in the pool already: undefined where writes to the watchdog are not made at once (a
 * reactor other than `epoll`), or there is no watchdog.
 *
 * @example
 * ```ts
 * import { FakeReactor } from "./fake.ts";
 * import { tokenTeller } from "./watchdog.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(tokenTeller(new FakeReactor(() => ({ ms: 1 })), { fd: 4 }), undefined);
 * ```
 */
export function tokenTeller(reactor: Reactor, sink: TokenSink): ((n: number) => void) | undefined {
  return (reactor as Partial<GuardedReactor>).tokenTeller?.(sink);
}

/** The watchdog process of one reactor, and what is to be written to it. */
class Watchdog {
  private child: ChildHandle | undefined;
  /** It exited (or never started): nothing is written any more. */
  private gone = false;
  private closed = false;
  /** The groups listed (or to be), each with the number of holds on it. */
  private readonly held = new Map<number, number>();
  /** Groups ended, to take off the list with the next write (at the latest, the end of this turn). */
  private removes: number[] = [];
  private flushing = false;
  /** It was told of tokens (`tokenTeller`). */
  private told = false;
  private readonly flushNow = () => this.flush();

  constructor(private readonly inner: Reactor, private readonly graceMs: number) {}

  spawn(req: SpawnRequest): ChildHandle {
    if (req.terminal || this.closed) return this.inner.spawn(req);
    if (!this.child && !this.gone) this.start();
    // In flight until its pid is known (a child runs before jx hears of it, on Bun's workers
    // and Deno's nonblocking calls alike): if jx dies then, the watchdog finds it by its run's
    // JX_RUN_ID (a job's session leader).
    this.write(`${this.runIdLine(req.env.JX_RUN_ID)}s\n`);
    let pid = 0, landed = false;
    let release: (() => void) | undefined;
    const { onStart, onExit } = req;
    return this.inner.spawn({
      ...req,
      onStart: (p) => {
        pid = p;
        landed = true;
        release = this.hold(p, "d\n");
        onStart?.(p);
      },
      onExit: (st) => {
        if (pid) release?.();
        else if (!landed) this.write("d\n"); // never started
        landed = true;
        onExit(st);
      },
    });
  }

  /** The run ids told (`r` lines). */
  private readonly runIds = new Set<string>();

  /** The `r` line of a run id not told yet (one the script can take as it is), or "". */
  private runIdLine(id: string | undefined): string {
    if (id === undefined || this.runIds.has(id) || !/^[-A-Za-z0-9._]+$/.test(id)) return "";
    this.runIds.add(id);
    return `r${id}\n`;
  }

  /** Lists `pgid` (see `GuardedReactor.hold`); `landed`: a spawn's end of flight, told with it. */
  hold(pgid: number, landed = ""): () => void {
    if (pgid <= 1 || this.gone || this.closed) {
      if (landed) this.write(landed);
      return () => {};
    }
    if (!this.child) this.start(); // a group jx did not spawn through it (`jx exec`'s command)
    const n = this.held.get(pgid) ?? 0;
    this.held.set(pgid, n + 1);
    if (n === 0) this.write(`+${pgid}\n${landed}`);
    else if (landed) this.write(landed);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.held.get(pgid) ?? 1) - 1;
      if (left > 0) return void this.held.set(pgid, left);
      this.held.delete(pgid);
      this.unlist(pgid);
    };
  }

  tokenTeller(sink: TokenSink): ((n: number) => void) | undefined {
    if (this.inner.name !== "epoll") return undefined;
    const where = "fd" in sink ? `w${sink.fd}` : `p${sink.fifo}`;
    // A name the script could not take as it is (see its pattern): no tokens written back.
    if (!/^(w\d+|p\/[-A-Za-z0-9_.+/]+)$/.test(where)) return undefined;
    let said = false;
    return (n) => {
      if (this.gone || this.closed) return;
      if (!this.child) this.start();
      this.write(`${said ? "" : `${where}\n`}t${n}\n`);
      said = this.told = true;
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.child || this.gone) return;
    this.flush();
    // Children still running are abandoned (an internal error): the watchdog ends them. The
    // tokens it was told of are not written back: jx, which gives them back itself before
    // this (`finish`), can tell it nothing more.
    if (!this.held.size) this.child.write?.("q\n");
    else if (this.told) this.child.write?.("t0\n");
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
        this.removes = [];
      },
    });
  }

  /** Takes `pgid` off the list with the next start's write, or at the end of this turn. */
  private unlist(pgid: number): void {
    this.removes.push(pgid);
    if (!this.flushing) {
      this.flushing = true;
      queueMicrotask(this.flushNow);
    }
  }

  /** Writes the ends seen since the last write. */
  private flush(): void {
    this.flushing = false;
    if (this.removes.length) this.write("");
  }

  /** Writes the ends seen, then `text`. */
  private write(text: string): void {
    if (this.gone || !this.child) return;
    let ends = "";
    for (const g of this.removes) ends += `-${g}\n`;
    this.removes = [];
    this.child.write?.(ends + text);
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
