/**
 * The control socket of a run: a unix socket under `.jx/` next to the jobs
 * file, mode 0600 in a 0700 directory that must belong to the user who runs
 * jx, so only that user can connect (the runtimes give no access to the
 * peer's credentials, so the file modes are the check). One JSON object per
 * line each way; a malformed request gets an error reply and never disturbs
 * the run. Connections are bounded (`CTL_LIMITS`): at most 32 at once (a
 * new one closes the one idle longest), closed after 30s without a
 * request, at most 64 requests waiting for their answers each.
 *
 * Each run listens on `.jx/ctl-PID.sock`, and `.jx/ctl.sock` is a symbolic
 * link to the newest live one; children get the socket's path as `JX_CTL`.
 * When that path is too long for a unix socket, the socket is bound in
 * `$XDG_RUNTIME_DIR` (when it is a 0700 directory of the same user) or in a
 * directory jx makes with mkdtemp under /tmp, linked from `.jx/`.
 * Deno's own unix sockets on Deno (its node:net takes ~20 ms to load),
 * node:net on Bun.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "../runtime/path.ts";
import {
  deno,
  envObject,
  isDeno,
  mkdirpSync,
  pid,
  renameSync,
  sendSignal,
} from "../runtime/mod.ts";
import {
  chmodPath,
  listDir,
  lstatOf,
  makeLink,
  makeTempDir,
  readLink,
  realPath,
  removeEmptyDir,
  removePath,
} from "../runtime/files.ts";
import { myUid } from "../runtime/owned.ts";
import { parseCtlRequest } from "./request.ts";
import type { CtlReply, CtlRequest } from "./supervisor.ts";

/** A connection as the line protocol sees it. */
interface Conn {
  /** Writes in order; resolves once written (or the connection is gone). */
  write(text: string): Promise<void>;
  close(): void;
}

/** A listening socket of either runtime. */
interface Listening {
  close(): Promise<void>;
}

/**
 * Bounds on the control socket's connections.
 *
 * @example
 * ```ts
 * import { CTL_LIMITS, type CtlLimits } from "./ctl.ts";
 * const strict: CtlLimits = { ...CTL_LIMITS, idleMs: 1000 };
 * ```
 */
export interface CtlLimits {
  /** Connections open at once; one more closes the connection idle longest (or is refused). */
  maxConnections: number;
  /** A connection with no request for this long, and none unanswered, is closed. */
  idleMs: number;
  /** Requests of one connection not answered yet; past it, jx reads no more from it until some are. */
  maxPending: number;
}

/** The default bounds. */
export const CTL_LIMITS: CtlLimits = { maxConnections: 32, idleMs: 30_000, maxPending: 64 };

/** The longest request line accepted. */
const MAX_LINE = 1024 * 1024;
/** Longest unix socket path (sun_path holds 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

/** The name every client looks for in `.jx/`. */
export const CTL_LINK = "ctl.sock";

const enc = new TextEncoder();

/** One open connection and what the limits need to know of it. */
interface Peer {
  conn: Conn;
  /** When it last sent something. */
  last: number;
  /** Requests whose answers are not written yet. */
  busy: number;
  timer?: ReturnType<typeof setTimeout>;
  /** Reading was held (too many requests unanswered): goes on reading. */
  resume?: () => void;
}

/** The open connections of a socket, kept within `CtlLimits`. */
class Peers {
  private open = new Set<Peer>();
  constructor(private limits: CtlLimits) {}

  /** Takes a new connection, closing the one idle longest when full; undefined: refused. */
  admit(conn: Conn): Peer | undefined {
    if (this.open.size >= this.limits.maxConnections) {
      let oldest: Peer | undefined;
      for (const p of this.open) if (!p.busy && (!oldest || p.last < oldest.last)) oldest = p;
      if (!oldest) {
        conn.write(errorLine(`too many connections (${this.limits.maxConnections}), all busy`));
        conn.close();
        return undefined;
      }
      this.drop(oldest, `closed: a newer connection needed the place`);
    }
    const peer: Peer = { conn, last: Date.now(), busy: 0 };
    this.open.add(peer);
    this.idle(peer);
    return peer;
  }

  /** Data came: not idle. */
  active(peer: Peer): void {
    peer.last = Date.now();
    clearTimeout(peer.timer);
    peer.timer = undefined;
  }

  /** A request starts. */
  begin(peer: Peer): void {
    peer.busy++;
  }

  /** Whether reading from it must wait for answers to be written. */
  full(peer: Peer): boolean {
    return peer.busy > this.limits.maxPending;
  }

  /** A request's answer was written. */
  end(peer: Peer): void {
    peer.busy--;
    if (!this.full(peer) && peer.resume) {
      const go = peer.resume;
      peer.resume = undefined;
      go();
    }
    this.idle(peer);
  }

  /** Arms the idle timer of a connection with nothing in flight. */
  private idle(peer: Peer): void {
    if (peer.busy || peer.timer || !this.open.has(peer)) return;
    peer.timer = setTimeout(
      () => this.drop(peer, `idle for ${this.limits.idleMs / 1000}s`),
      this.limits.idleMs,
    );
  }

  /** Closes a connection, saying why. */
  drop(peer: Peer, why?: string): void {
    if (!this.open.delete(peer)) return;
    clearTimeout(peer.timer);
    if (why) peer.conn.write(errorLine(why));
    peer.conn.close();
    peer.resume?.();
  }

  /** Closes every connection. */
  closeAll(): void {
    for (const p of [...this.open]) this.drop(p);
  }

  /** Forgets a connection the peer closed. */
  gone(peer: Peer): void {
    this.drop(peer);
  }
}

function errorLine(error: string): string {
  return JSON.stringify({ ok: false, error }) + "\n";
}

/** Wraps a Deno connection as a `Conn`: writes in order, never throwing. */
function denoConn(conn: Deno.Conn): Conn {
  let out = Promise.resolve();
  let closed = false;
  return {
    write(text) {
      const bytes = enc.encode(text);
      out = out.then(async () => {
        for (let off = 0; off < bytes.length && !closed;) {
          off += await conn.write(bytes.subarray(off));
        }
      }).catch(() => {});
      return out;
    },
    close() {
      if (closed) return;
      closed = true;
      // After what was written (an error line), unless the peer does not read.
      const end = () => {
        try {
          conn.close();
        } catch { /* already closed */ }
      };
      const t = setTimeout(end, 1000);
      out.then(() => {
        clearTimeout(t);
        end();
      });
    },
  };
}

/** Listens on `path` with Deno's own unix sockets. */
function listenDeno(path: string, peers: Peers, serveConn: (p: Peer) => Handler): Listening {
  const D = deno();
  const listener = D.listen({ transport: "unix", path });
  let closed = false;
  const read = async (conn: Deno.Conn, peer: Peer, onData: Handler) => {
    const buf = new Uint8Array(64 * 1024);
    const dec = new TextDecoder();
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        onData(dec.decode(buf.subarray(0, n), { stream: true }));
        if (peers.full(peer)) await new Promise<void>((r) => peer.resume = r);
      }
    } catch { /* reset by the peer, or closed */ }
    peers.gone(peer);
  };
  (async () => {
    while (!closed) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        // Out of descriptors (EMFILE) must not end the socket: try again shortly.
        if (!closed) await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const peer = peers.admit(denoConn(conn));
      if (peer) void read(conn, peer, serveConn(peer));
    }
  })();
  return {
    close() {
      closed = true;
      try {
        listener.close();
      } catch { /* closed */ }
      peers.closeAll();
      return Promise.resolve();
    },
  };
}

/** Listens on `path` with node:net (Bun). */
async function listenNode(
  path: string,
  peers: Peers,
  serveConn: (p: Peer) => Handler,
): Promise<Listening> {
  const { default: netm } = await import("node:net");
  const server = netm.createServer((sock) => {
    sock.setEncoding("utf8");
    sock.on("error", () => {});
    const peer = peers.admit({
      write: (text) =>
        new Promise<void>((done) => {
          if (sock.destroyed) done();
          else sock.write(text, () => done());
        }),
      close: () => sock.end(() => sock.destroy()),
    });
    if (!peer) return;
    const onData = serveConn(peer);
    sock.on("data", (d: string) => {
      onData(d);
      if (peers.full(peer)) {
        sock.pause();
        peer.resume = () => sock.resume();
      }
    });
    sock.on("close", () => peers.gone(peer));
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(path, () => {
      server.off("error", fail);
      ok();
    });
  });
  server.on("error", () => {});
  return {
    close: async () => {
      peers.closeAll();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function uid(): number {
  return Math.max(myUid(), 0);
}

function pidAlive(pid: number): boolean {
  try {
    sendSignal(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/**
 * A directory for the socket that nobody else can change: a real directory
 * (not a link), owned by this user, closed to others. Throws, saying why not.
 */
function checkPrivate(dir: string, what: string): void {
  const st = lstatOf(dir);
  if (st.kind !== "dir") {
    throw unsafe(`${dir}: ${what} is not a directory (a symbolic link or a file)`);
  }
  if (st.uid !== uid()) {
    throw unsafe(`${dir}: ${what} belongs to uid ${st.uid}, not to uid ${uid()} who runs jx`);
  }
  if (st.mode & 0o077) {
    throw unsafe(`${dir}: ${what} is open to others (mode ${(st.mode & 0o777).toString(8)})`);
  }
}

/** An error that refuses a place others could change; `jx run` always shows it. */
function unsafe(message: string): Error {
  const e = new Error(`refusing the control socket: ${message}`);
  e.name = "CtlUnsafe";
  return e;
}

/** `/tmp/jx-ctl-XXXXXX`, as `shortSocketPath` makes it (mkdtemp). */
const MKDTEMP_DIR = /^\/tmp\/jx-ctl-[A-Za-z0-9]{6}$/;

/**
 * Removes a socket jx made outside `.jx/` (and the directory mkdtemp made
 * for it): only a socket of this user's where `shortSocketPath` puts one
 * (`/tmp/jx-ctl-XXXXXX/ctl.sock`, or `jx-ctl-PID.sock` right in
 * `$XDG_RUNTIME_DIR`), and that directory only once it is empty (rmdir). A
 * link in `.jx/` that names anything else removes nothing there. `xdg`: the
 * `$XDG_RUNTIME_DIR` the server was given (its `env`, not necessarily jx's).
 */
function removeOutside(path: string, xdg: string | undefined): void {
  const dir = dirname(path), name = basename(path);
  const made = name === "ctl.sock" && MKDTEMP_DIR.test(dir);
  const inXdg = !!xdg && dir === resolve(xdg) && /^jx-ctl-\d+\.sock$/.test(name);
  if (!made && !inXdg) return;
  const mine = (p: string, kind: string) => {
    const st = lstatOf(p);
    return st.kind === kind && st.uid === uid();
  };
  try {
    if (mine(path, "other")) removePath(path); // a socket ("other": not a file, folder or link)
  } catch { /* gone */ }
  try {
    if (made && mine(dir, "dir")) removeEmptyDir(dir);
  } catch { /* gone, or holds something else: left */ }
}

/** The `ctl-PID.sock` sockets in `dir` whose jx is still alive, newest pid last. */
function liveSockets(dir: string, xdg: string | undefined): string[] {
  let names: string[] = [];
  try {
    names = listDir(dir).map((e) => e.name);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const m = /^ctl-(\d+)\.sock$/.exec(n);
    if (!m) continue;
    if (pidAlive(Number(m[1]))) {
      out.push(n);
      continue;
    }
    // Left by a jx that was killed (with the directory it made, if any).
    try {
      removeOutside(readLink(join(dir, n)), xdg);
    } catch { /* not a link */ }
    removePath(join(dir, n));
  }
  return out;
}

/** Points `.jx/ctl.sock` at `target` (a name in the same directory), atomically. */
function pointLink(dir: string, target: string): void {
  const tmp = join(dir, `.ctl-link-${pid()}`);
  removePath(tmp);
  makeLink(target, tmp);
  renameSync(tmp, join(dir, CTL_LINK));
}

/**
 * Where to bind when `.jx/ctl-PID.sock` is too long: `$XDG_RUNTIME_DIR` when
 * it is private to this user, else a directory made by mkdtemp under /tmp.
 */
function shortSocketPath(env: Record<string, string | undefined>): string {
  const xdg = env.XDG_RUNTIME_DIR;
  const inXdg = xdg && join(xdg, `jx-ctl-${pid()}.sock`);
  if (xdg && inXdg && xdg.startsWith("/") && inXdg.length <= MAX_SOCKET_PATH) {
    try {
      checkPrivate(xdg, "XDG_RUNTIME_DIR");
      return inXdg;
    } catch { /* not private: a directory of our own instead */ }
  }
  const dir = makeTempDir("/tmp/jx-ctl-");
  checkPrivate(dir, "the directory mkdtemp made");
  return join(dir, "ctl.sock");
}

/**
 * A listening control socket.
 *
 * @example
 * ```ts
 * import { CtlServer } from "./ctl.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const server = await CtlServer.listen(dir, async (req) =>
 *   req.action === "status" ? { ok: true, jobs: [], modules: [] } : { ok: false, error: "no" }
 * );
 * assertEquals(server.path, `${dir}/.jx/ctl-${Deno.pid}.sock`);
 * await server.close();
 * ```
 */
export class CtlServer {
  private constructor(
    private server: Listening,
    /** The socket's path (`JX_CTL`). */
    readonly path: string,
    private dir: string,
    private name: string,
    /** The `$XDG_RUNTIME_DIR` of the server's `env` (where `shortSocketPath` may have bound). */
    private xdg: string | undefined,
  ) {}

  /**
   * Listens under `baseDir/.jx/`; `handle` answers each request. Throws
   * when the directory cannot be made or the socket cannot be bound, and
   * (an error named `CtlUnsafe`) when `.jx/` is not a directory of this
   * user's that others cannot change.
   */
  static async listen(
    baseDir: string,
    handle: (req: CtlRequest) => Promise<CtlReply>,
    opts: { limits?: Partial<CtlLimits>; env?: Record<string, string | undefined> } = {},
  ): Promise<CtlServer> {
    const dir = resolve(baseDir, ".jx");
    mkdirpSync(dir, 0o700);
    const st = lstatOf(dir);
    if (st.kind === "dir" && st.uid === uid() && st.mode & 0o077) chmodPath(dir, 0o700);
    checkPrivate(dir, ".jx");
    const env = opts.env ?? envObject(), xdg = env.XDG_RUNTIME_DIR;
    liveSockets(dir, xdg);
    const name = `ctl-${pid()}.sock`;
    let path = join(dir, name);
    if (path.length > MAX_SOCKET_PATH) path = shortSocketPath(env);
    removePath(path);
    const peers = new Peers({ ...CTL_LIMITS, ...opts.limits });
    const serveConn = (p: Peer) => serve(p, peers, handle);
    let server: Listening;
    try {
      server = isDeno
        ? listenDeno(path, peers, serveConn)
        : await listenNode(path, peers, serveConn);
    } catch (e) {
      removeOutside(path, xdg);
      throw e;
    }
    chmodPath(path, 0o600);
    if (path !== join(dir, name)) {
      removePath(join(dir, name));
      makeLink(path, join(dir, name));
    }
    pointLink(dir, name);
    return new CtlServer(server, path, dir, name, xdg);
  }

  /** Stops listening, ends open connections, removes the socket (and re-points the link). */
  async close(): Promise<void> {
    await this.server.close();
    removePath(this.path);
    if (this.path !== join(this.dir, this.name)) {
      removeOutside(this.path, this.xdg);
      removePath(join(this.dir, this.name));
    }
    try {
      if (readLink(join(this.dir, CTL_LINK)) === this.name) {
        const others = liveSockets(this.dir, this.xdg).filter((n) => n !== this.name);
        if (others.length) pointLink(this.dir, others[others.length - 1]);
        else removePath(join(this.dir, CTL_LINK));
      }
    } catch { /* no link, or not a link */ }
  }
}

/** What a connection does with the text it receives. */
type Handler = (text: string) => void;

/** Serves one connection: a reply line per request line, in order; returns its data handler. */
function serve(
  peer: Peer,
  peers: Peers,
  handle: (req: CtlRequest) => Promise<CtlReply>,
): Handler {
  let buf = "";
  let chain = Promise.resolve();
  const reply = (r: CtlReply) => peer.conn.write(JSON.stringify(r) + "\n");
  return (data: string) => {
    peers.active(peer);
    buf += data;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      peers.begin(peer);
      const req = parseCtlRequest(line);
      chain = chain.then(async () => {
        let written: Promise<void>;
        try {
          written = reply("error" in req ? { ok: false, error: req.error } : await handle(req));
        } catch (e) {
          written = reply({ ok: false, error: String((e as Error)?.message ?? e) });
        }
        void written.then(() => peers.end(peer));
      });
    }
    if (buf.length > MAX_LINE) {
      buf = "";
      peers.drop(peer, `request longer than ${MAX_LINE} bytes`);
    }
  };
}

/**
 * The control socket to talk to: `JX_CTL`, else `.jx/ctl.sock` beside the
 * jobs file (`baseDir`); followed through its link when the path is too
 * long for a socket.
 *
 * @example
 * ```ts
 * import { findCtlSocket } from "./ctl.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(findCtlSocket({ JX_CTL: "/srv/app/.jx/ctl-4242.sock" }, "."), "/srv/app/.jx/ctl-4242.sock");
 * ```
 */
export function findCtlSocket(env: Record<string, string | undefined>, baseDir: string): string {
  const path = env.JX_CTL || resolve(baseDir, ".jx", CTL_LINK);
  if (path.length <= MAX_SOCKET_PATH) return path;
  try {
    return realPath(path);
  } catch {
    return path;
  }
}

/**
 * Sends one request to a running jx and returns its reply. Rejects when no
 * jx listens there, or with no answer in `timeoutMs`. A `start`, `restart`
 * or `stop` is answered once the module is ready or gone, which its ready
 * `timeout` and stop `grace` bound, not `timeoutMs` (they may well be
 * minutes): with no answer by then, a `status` request on a connection of
 * its own checks that the run still answers, and the wait goes on while it
 * does (a stopped or hung jx still fails it).
 *
 * @example Against a stand-in server (a `jx run` with modules answers the same way)
 * ```ts
 * import { CtlServer, ctlRequest } from "./ctl.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const server = await CtlServer.listen(Deno.makeTempDirSync(), async (req) =>
 *   req.action === "pause" ? { ok: true, state: "paused" } : { ok: false, error: "no" }
 * );
 * const reply = await ctlRequest(server.path, { action: "pause", module: "db" });
 * await server.close();
 * assertEquals(reply, { ok: true, state: "paused" });
 * ```
 */
export async function ctlRequest(
  path: string,
  req: CtlRequest,
  timeoutMs = 120_000,
): Promise<CtlReply> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let done = false;
  const waits = req.action === "start" || req.action === "restart" || req.action === "stop";
  const timeout = new Promise<never>((_, fail) => {
    const arm = () => {
      if (done) return;
      timer = setTimeout(async () => {
        if (waits) {
          // Still waiting for the module: fine while the run answers.
          const alive = await ctlRequest(path, { action: "status" }, timeoutMs).then(
            () => true,
            () => false,
          );
          if (alive || done) return arm();
        }
        fail(new Error(`no answer from ${path} in ${timeoutMs / 1000}s`));
      }, timeoutMs);
    };
    arm();
  });
  try {
    const line = await Promise.race([
      isDeno ? exchangeDeno(path, JSON.stringify(req) + "\n") : exchangeNode(path, req),
      timeout,
    ]);
    let reply: unknown;
    try {
      reply = JSON.parse(line);
    } catch {
      throw new Error(`bad answer from ${path}: ${line.slice(0, 200)}`);
    }
    const problem = replyProblem(reply, req);
    if (problem) throw new Error(`bad answer from ${path}: ${problem}: ${line.slice(0, 200)}`);
    return reply as CtlReply;
  } finally {
    done = true;
    clearTimeout(timer);
  }
}

/**
 * What is wrong with a parsed answer to `req` (a socket that is not a jx's,
 * or a jx that answers otherwise), or undefined: what `jx ctl` shows must be
 * there, of its type.
 */
function replyProblem(r: unknown, req: CtlRequest): string | undefined {
  if (typeof r !== "object" || r === null || Array.isArray(r)) return "not an object";
  const o = r as Record<string, unknown>;
  if (typeof o.ok !== "boolean") return "no ok";
  if (!o.ok) return typeof o.error === "string" ? undefined : "refused without an error";
  const strings = (x: unknown) => Array.isArray(x) && x.every((v) => typeof v === "string");
  const entries = (x: unknown) =>
    x === undefined ||
    (Array.isArray(x) && x.every((e) =>
      typeof e === "object" && e !== null && typeof e.name === "string" &&
      typeof e.state === "string" &&
      ["pid", "queued", "dropped", "restarts", "attempt"].every((k) =>
        e[k] === undefined || typeof e[k] === "number"
      ) && (e.reason === undefined || typeof e.reason === "string")
    ));
  switch (req.action) {
    case "status":
      return entries(o.jobs) && entries(o.modules) ? undefined : "jobs or modules not a list";
    case "publish": {
      const by = o.modules_by_delivery as Record<string, unknown> | undefined;
      if (by !== undefined && (typeof by !== "object" || by === null)) return "bad deliveries";
      if (by && !["delivered", "queued", "dropped"].every((k) => strings(by[k]))) {
        return "bad deliveries";
      }
      if (by && by.closed !== undefined && !strings(by.closed)) return "bad deliveries";
      return o.delivered === undefined || typeof o.delivered === "number" ? undefined : "bad count";
    }
    case "start":
    case "restart":
    case "pause":
    case "resume":
    case "stop":
      return typeof o.state === "string" ? undefined : "no state";
    default: {
      const _assertNever: never = req;
      return `unknown request ${JSON.stringify(_assertNever)}`;
    }
  }
}

/** Why a connection failed, in words. */
function connectError(path: string, code: string | undefined, message: string): Error {
  const why = code === "ENOENT" || code === "ECONNREFUSED" || code === "NotFound" ||
      code === "ConnectionRefused"
    ? "no jx is running there"
    : code === "EACCES" || code === "PermissionDenied"
    ? "permission denied (the socket belongs to another user)"
    : message;
  return new Error(`cannot connect to ${path}: ${why}`);
}

/** Sends one line and reads one back, with Deno's unix sockets. */
async function exchangeDeno(path: string, line: string): Promise<string> {
  const D = deno();
  let conn;
  try {
    conn = await D.connect({ transport: "unix", path });
  } catch (e) {
    throw connectError(path, (e as Error).name, (e as Error).message);
  }
  try {
    const bytes = enc.encode(line);
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    const dec = new TextDecoder();
    const buf = new Uint8Array(64 * 1024);
    let got = "";
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) throw new Error(`${path} closed without an answer`);
      const from = got.length; // the newline is in what came last (not a search from 0 each time)
      got += dec.decode(buf.subarray(0, n), { stream: true });
      const nl = got.indexOf("\n", from);
      if (nl >= 0) return got.slice(0, nl);
    }
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** Sends one request and reads one line back, with node:net (Bun). */
async function exchangeNode(path: string, req: CtlRequest): Promise<string> {
  const { default: netm } = await import("node:net");
  return new Promise((ok, fail) => {
    const sock = netm.createConnection(path);
    let buf = "";
    let settled = false;
    const done = (f: () => void) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      f();
    };
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(JSON.stringify(req) + "\n"));
    sock.on("data", (d: string) => {
      const from = buf.length; // as above: only what came last is searched
      buf += d;
      const nl = buf.indexOf("\n", from);
      if (nl >= 0) done(() => ok(buf.slice(0, nl)));
    });
    sock.on(
      "error",
      (e: Error & { code?: string }) => done(() => fail(connectError(path, e.code, e.message))),
    );
    sock.on("close", () => done(() => fail(new Error(`${path} closed without an answer`))));
  });
}
