/**
 * Readiness checks: when a started module counts as `running`. One of
 * `{tcp: PORT}` (a connection to localhost is accepted), `{http: URL}` (a
 * 2xx answer), `{log: REGEX}` (a line of its output matches), `{cmd:
 * COMMAND}` (exits 0), `{delay: 1s}`; probed every `interval` until
 * `timeout`. Without `ready:` a module is running once its process exists.
 * A `tcp` check, or an `http` one on this machine, is probed once before the
 * module's process starts (`servedProbe`): a port that answers then is
 * another process's, and the check could not tell when the module is ready.
 *
 * @module
 */
import type net from "node:net";
import type { ReadySpec } from "../graph/mod.ts";
import { formatMs } from "../graph/duration.ts";
import type { ChildHandle, Reactor, StreamName } from "../reactor/mod.ts";
import { signalGroup } from "./group.ts";
import { type LineMatcher, lineMatcher } from "./line_regex.ts";

/** Give up when not ready after this long, when `ready.timeout` is not given. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;
/** Time between probes, when `ready.interval` is not given. */
export const DEFAULT_READY_INTERVAL_MS = 100;
/** Longest partial line kept for `log` matching. */
const MAX_LINE = 64 * 1024;

/**
 * The check in words, for messages: `tcp 5432`, `log /listening/`.
 *
 * @example
 * ```ts
 * import { describeReady } from "./ready.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(describeReady({ tcp: 8080 }), "tcp 8080");
 * ```
 */
export function describeReady(r: ReadySpec | undefined): string {
  if (!r) return "started";
  if (r.tcp !== undefined) return `tcp ${r.tcp}`;
  if (r.http !== undefined) return `http ${r.http}`;
  if (r.log !== undefined) return `log /${r.log}/`;
  if (r.cmd !== undefined) return `cmd ${r.cmd}`;
  return `delay ${formatMs(r.delay ?? 0)}`;
}

/** Where a probe runs its command (`cmd`). */
export interface ProbeContext {
  reactor: Reactor;
  cwd: string;
  env: Record<string, string>;
}

/**
 * One readiness check of one start of a module. `start()` once the process
 * exists; `feed()` its output (for `log`); `result` is called once, unless
 * `cancel()` came first.
 *
 * @example
 * ```ts
 * import { createReactor } from "../reactor/mod.ts";
 * import { ReadyProbe } from "./ready.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const reactor = createReactor("portable");
 * const results: [boolean, string | undefined][] = [];
 * const probe = new ReadyProbe({ log: "listening" }, { reactor, cwd: "/", env: {} }, (ok, why) =>
 *   results.push([ok, why])
 * );
 * probe.start();
 * probe.feed("stdout", new TextEncoder().encode("listening on 8080\n"));
 * reactor.close();
 * assertEquals(results, [[true, undefined]]);
 * ```
 */
export class ReadyProbe {
  private done = false;
  private timers: number[] = [];
  private partial: Record<StreamName, string> = { stdout: "", stderr: "" };
  private decoders: Record<StreamName, TextDecoder> = {
    stdout: new TextDecoder(),
    stderr: new TextDecoder(),
  };
  private regex?: LineMatcher;
  /** Per stream: the timer that takes its unfinished line as written once it stays so. */
  private quiet: Partial<Record<StreamName, number>> = {};
  private child?: ChildHandle;
  private socket?: net.Socket[];
  private abort?: AbortController;
  private lastProblem = "";

  /**
   * A probe for `spec` that reports through `result` (ok, or not with why).
   * With `once`, a failed attempt is the result (a health check), not a
   * reason to try again.
   */
  constructor(
    private spec: ReadySpec | undefined,
    private ctx: ProbeContext,
    private result: (ok: boolean, why?: string) => void,
    private once = false,
  ) {
    if (spec?.log !== undefined) this.regex = lineMatcher(spec.log);
  }

  /** Starts checking (the module's process exists). */
  start(): void {
    const r = this.ctx.reactor;
    const s = this.spec;
    if (!s) return this.settle(true); // running once its process exists
    if (s.delay !== undefined) return this.later(s.delay, () => this.settle(true));
    const timeout = s.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    this.timers.push(r.setTimer(timeout, () => {
      const last = this.lastProblem ? ` (last: ${this.lastProblem})` : "";
      this.settle(false, `not ready after ${formatMs(timeout)}: ${describeReady(s)}${last}`);
    }));
    if (s.log === undefined) this.probe();
  }

  /**
   * Output of the module, for `log` checks. A line ends at `\n`, `\r\n` or a
   * lone `\r` (a line redrawn in place), none of them part of it (a `\r`
   * that ends a chunk ends its line, and may be half of a `\r\n`). A
   * line not finished yet counts through a match that more of it already
   * follows (the rest of the line cannot undo that one, where `port 80$`
   * would match the first half of `port 8080` written in two), or once the
   * module has written nothing more on that stream for an `interval` (a
   * prompt that ends no line).
   */
  feed(stream: StreamName, chunk: Uint8Array): void {
    if (this.done || !this.regex) return;
    this.stillQuiet(stream);
    let text = this.partial[stream] + this.decoders[stream].decode(chunk, { stream: true });
    const lines = text.split(/\r\n|\r(?!$)|\n/);
    text = lines.pop()!;
    for (const line of lines) {
      if (this.regex.test(line)) return this.settle(true);
    }
    // Before a `\r` that ends the chunk, the line is finished, whether a `\n` follows or not.
    const ended = text.endsWith("\r");
    if (ended ? this.regex.test(text.slice(0, -1)) : this.regex.endsBefore(text)) {
      return this.settle(true);
    }
    this.partial[stream] = text.length > MAX_LINE ? text.slice(-MAX_LINE) : text;
    // A match up to its end: the line may go on (`port 80` of `port 8080`), or it is a prompt
    // that ends no line. Taken once nothing more comes on that stream for an `interval`.
    if (!ended && this.regex.test(text)) {
      const wait = this.spec?.intervalMs ?? DEFAULT_READY_INTERVAL_MS;
      this.quiet[stream] = this.ctx.reactor.setTimer(wait, () => {
        this.quiet[stream] = undefined;
        this.settle(true);
      });
    }
  }

  /** More output on `stream`: its unfinished line was not the whole line yet. */
  private stillQuiet(stream: StreamName): void {
    const t = this.quiet[stream];
    if (t === undefined) return;
    this.ctx.reactor.clearTimer(t);
    this.quiet[stream] = undefined;
  }

  /** Stops checking; `result` will not be called. */
  cancel(): void {
    this.done = true;
    this.cleanup();
  }

  private later(ms: number, fn: () => void): void {
    this.timers.push(this.ctx.reactor.setTimer(ms, fn));
  }

  private settle(ok: boolean, why?: string): void {
    if (this.done) return;
    this.done = true;
    this.cleanup();
    this.result(ok, why);
  }

  private cleanup(): void {
    for (const t of this.timers) this.ctx.reactor.clearTimer(t);
    this.timers = [];
    this.stillQuiet("stdout");
    this.stillQuiet("stderr");
    this.child?.kill("SIGKILL");
    this.child = undefined;
    for (const s of this.socket ?? []) s.destroy();
    this.socket = undefined;
    this.abort?.abort();
    this.abort = undefined;
  }

  /** One probe; on failure, the next after the interval. */
  private probe(): void {
    if (this.done) return;
    const s = this.spec!;
    const again = (problem: string) => {
      if (this.done) return;
      if (this.once) return this.settle(false, problem);
      this.lastProblem = problem;
      this.later(s.intervalMs ?? DEFAULT_READY_INTERVAL_MS, () => this.probe());
    };
    if (s.tcp !== undefined) void this.probeTcp(s.tcp, again);
    else if (s.http !== undefined) this.probeHttp(s.http, again);
    else if (s.cmd !== undefined) this.probeCmd(s.cmd, again);
  }

  /** A connection to the port on 127.0.0.1 or ::1 (node:net, loaded on first use). */
  private async probeTcp(port: number, again: (problem: string) => void): Promise<void> {
    netModule ??= (await import("node:net")).default;
    if (this.done) return;
    const net = netModule;
    let pending = 2;
    let problem = "";
    const sockets = ["127.0.0.1", "::1"].map((host) => {
      const sock = net.connect({ port, host });
      sock.once("connect", () => {
        sock.destroy();
        this.settle(true);
      });
      sock.once("error", (e: Error & { code?: string }) => {
        sock.destroy();
        if (host === "127.0.0.1") problem = e.code ?? e.message;
        if (--pending === 0) {
          this.socket = undefined;
          again(problem);
        }
      });
      return sock;
    });
    this.socket = sockets;
  }

  /**
   * A GET answered with a 2xx status. The answer is waited for until the
   * check's `timeout` (which aborts it), as a `tcp` connection or a `cmd`
   * is: a server that takes 3s to answer passes a check with a 5s timeout.
   */
  private probeHttp(url: string, again: (problem: string) => void): void {
    const abort = new AbortController();
    this.abort = abort;
    fetch(url, { signal: abort.signal, redirect: "manual" }).then(async (res) => {
      await res.body?.cancel().catch(() => {});
      if (res.status >= 200 && res.status < 300) this.settle(true);
      else again(`HTTP ${res.status}`);
    }, (e: Error) => again(e.name === "AbortError" ? "no answer" : errorText(e))).finally(() => {
      if (this.abort === abort) this.abort = undefined;
    });
  }

  /**
   * The command, under /bin/sh in the module's directory and environment,
   * exits 0. It runs in a process group of its own, killed when it exits:
   * what it left in the background does not outlive the probe (or, stopped
   * first, `cleanup` kills the group through the child's handle).
   */
  private probeCmd(cmd: string, again: (problem: string) => void): void {
    let tail = "";
    const dec = new TextDecoder();
    const child = this.ctx.reactor.spawn({
      argv: ["/bin/sh", "-c", cmd],
      cwd: this.ctx.cwd,
      env: this.ctx.env,
      onOutput: (_s, chunk) => {
        tail = (tail + dec.decode(chunk, { stream: true })).slice(-200);
      },
      onExit: (st) => {
        if (this.child === child) this.child = undefined;
        this.endGroup(child.pid);
        if (st.code === 0) return this.settle(true);
        const last = tail.trim().split("\n").pop() ?? "";
        const how = st.error ?? (st.signal ? `killed by ${st.signal}` : `exit ${st.code}`);
        again(last ? `${how}: ${last}` : how);
      },
    });
    this.child = child;
  }

  /**
   * SIGKILL to the group of a probe whose leader has just exited (reaped:
   * while a member lives, no other process can take the group's id). The
   * fake reactor's pids are not processes.
   */
  private endGroup(pgid: number): void {
    if (this.ctx.reactor.name !== "fake") signalGroup(pgid, "SIGKILL");
  }
}

let netModule: typeof net | undefined;

/**
 * Whether check `r` looks outside the module (`tcp`, `http`, `cmd`), so that
 * another process could pass it; `log` reads the module's own output, and
 * `delay` or no check only needs its process to have started.
 *
 * @example
 * ```ts
 * import { checksOutside } from "./ready.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(checksOutside({ cmd: "test -f up" }), true);
 * assertEquals(checksOutside({ log: "listening" }), false);
 * assertEquals(checksOutside(undefined), false);
 * ```
 */
export function checksOutside(r: ReadySpec | undefined): boolean {
  return r?.tcp !== undefined || r?.http !== undefined || r?.cmd !== undefined;
}

/**
 * A readiness check that a process other than the module could pass: one
 * on a port of this machine, probed once before the module's process
 * starts.
 */
export type ServedProbe =
  | { kind: "tcp"; port: number }
  | { kind: "http"; url: string; where: string };

/** How long the probe before a start waits for an answer (a local port answers at once). */
export const SERVED_PROBE_TIMEOUT_MS = 2000;

/**
 * The probe to make before a module with readiness `r` starts: `tcp`, or
 * `http` to a loopback or wildcard address; undefined for the other kinds
 * and for other hosts (a remote service may well be up already).
 *
 * @example
 * ```ts
 * import { servedProbe } from "./ready.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(servedProbe({ tcp: 8080 }), { kind: "tcp", port: 8080 });
 * assertEquals(servedProbe({ http: "http://localhost/health" }), {
 *   kind: "http",
 *   url: "http://localhost/health",
 *   where: "localhost:80",
 * });
 * assertEquals(servedProbe({ http: "https://[::1]:8443/" })?.kind, "http");
 * assertEquals(servedProbe({ http: "https://example.com/health" }), undefined);
 * assertEquals(servedProbe({ http: "http://127.example.com/" }), undefined);
 * assertEquals(servedProbe({ log: "listening" }), undefined);
 * ```
 */
export function servedProbe(r: ReadySpec | undefined): ServedProbe | undefined {
  if (r?.tcp !== undefined) return { kind: "tcp", port: r.tcp };
  if (r?.http === undefined) return undefined;
  const u = new URL(r.http);
  if (!isLocalHost(u.hostname)) return undefined;
  const port = u.port || (u.protocol === "https:" ? "443" : "80");
  return { kind: "http", url: r.http, where: `${u.hostname}:${port}` };
}

/**
 * A URL's host name that names this machine (as `URL` writes it: IPv6 in
 * brackets, an IPv4-mapped one in hex): `localhost` and its subdomains, also
 * written fully qualified (`localhost.`), 127/8, the wildcard addresses, and
 * those of IPv4 mapped in IPv6 (`[::ffff:127.0.0.1]` is `[::ffff:7f00:1]`).
 */
function isLocalHost(host: string): boolean {
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  return name === "localhost" || name.endsWith(".localhost") ||
    /^127\.\d+\.\d+\.\d+$/.test(host) || host === "0.0.0.0" || host === "[::1]" ||
    host === "[::]" || /^\[::ffff:(7f[0-9a-f]{2}:[0-9a-f]{1,4}|0:0)\]$/.test(host);
}

/**
 * Why module `name` is not started: `p` answered before its process
 * existed, so another process serves that port.
 *
 * @example
 * ```ts
 * import { servedMessage } from "./ready.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(
 *   servedMessage({ kind: "tcp", port: 8080 }, "api"),
 *   "port 8080 already answers on localhost before api started: another process serves it",
 * );
 * ```
 */
export function servedMessage(p: ServedProbe, name: string): string {
  switch (p.kind) {
    case "tcp":
      return `port ${p.port} already answers on localhost before ${name} started: ` +
        "another process serves it";
    case "http":
      return `${p.url} already answers before ${name} started: ` +
        `another process serves ${p.where}`;
    default: {
      const _assertNever: never = p;
      return `unknown probe ${JSON.stringify(_assertNever)}`;
    }
  }
}

/**
 * The readiness check that `p` makes once, before the start (a
 * `ReadyProbe` with `once`): a connection accepted, a 2xx answer.
 */
export function servedSpec(p: ServedProbe): ReadySpec {
  const timeoutMs = SERVED_PROBE_TIMEOUT_MS;
  switch (p.kind) {
    case "tcp":
      return { tcp: p.port, timeoutMs };
    case "http":
      return { http: p.url, timeoutMs };
    default: {
      const _assertNever: never = p;
      throw new Error(`unknown probe ${JSON.stringify(_assertNever)}`);
    }
  }
}

/** Why a probe failed; a refused connection as ECONNREFUSED on both runtimes. */
function errorText(e: Error): string {
  const err = e as Error & { code?: unknown; cause?: { code?: string; message?: string } };
  // Bun puts the code on the error itself; Deno's fetch says it only in words.
  const words = `${e.message} ${err.cause?.message ?? ""}`;
  if (err.code === "ECONNREFUSED" || /Connection refused \(os error 111\)/.test(words)) {
    return "ECONNREFUSED";
  }
  return err.cause?.code ?? err.cause?.message ?? e.message;
}
