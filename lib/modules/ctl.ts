/**
 * The control socket of a run: a unix socket under `.jx/` next to the jobs
 * file, mode 0600 in a 0700 directory, so only the user who runs jx can
 * connect (the runtimes give no access to the peer's credentials, so the
 * file modes are the check). One JSON object per line each way; a
 * malformed request gets an error reply and never disturbs the run.
 *
 * Each run listens on `.jx/ctl-PID.sock`, and `.jx/ctl.sock` is a symbolic
 * link to the newest live one; children get the socket's path as `JX_CTL`.
 * Deno's own unix sockets on Deno (its node:net takes ~20 ms to load),
 * node:net on Bun.
 *
 * @module
 */
import type net from "node:net";
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { deno, isDeno } from "../runtime/mod.ts";
import type { CtlReply, CtlRequest } from "./supervisor.ts";

/** A connection as the line protocol sees it. */
interface Conn {
  write(text: string): void;
  close(): void;
}

/** A listening socket of either runtime. */
interface Listening {
  close(): Promise<void>;
}

const enc = new TextEncoder();

/** Listens on `path` with Deno's own unix sockets. */
function listenDeno(path: string, accept: (c: Conn) => (text: string) => void): Listening {
  const D = deno();
  const listener = D.listen({ transport: "unix", path });
  const open = new Set<{ close(): void }>();
  (async () => {
    for await (const conn of listener) {
      open.add(conn);
      let out = Promise.resolve();
      let closed = false;
      const c: Conn = {
        write(text) {
          const bytes = enc.encode(text);
          out = out.then(async () => {
            for (let off = 0; off < bytes.length && !closed;) {
              off += await conn.write(bytes.subarray(off));
            }
          }).catch(() => {});
        },
        close() {
          if (closed) return;
          closed = true;
          open.delete(conn);
          try {
            conn.close();
          } catch { /* already closed */ }
        },
      };
      const onData = accept(c);
      (async () => {
        const buf = new Uint8Array(64 * 1024);
        const dec = new TextDecoder();
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) break;
            onData(dec.decode(buf.subarray(0, n), { stream: true }));
          }
        } catch { /* reset by the peer, or closed */ }
        await out;
        c.close();
      })();
    }
  })().catch(() => {});
  return {
    close() {
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      open.clear();
      return Promise.resolve();
    },
  };
}

/** Listens on `path` with node:net (Bun). */
async function listenNode(
  path: string,
  accept: (c: Conn) => (text: string) => void,
): Promise<Listening> {
  const { default: netm } = await import("node:net");
  const sockets = new Set<net.Socket>();
  const server = netm.createServer((sock) => {
    sockets.add(sock);
    sock.setEncoding("utf8");
    const onData = accept({
      write: (text) => {
        if (!sock.destroyed) sock.write(text);
      },
      close: () => sock.destroy(),
    });
    sock.on("data", (d: string) => onData(d));
    sock.on("error", () => {});
    sock.on("close", () => sockets.delete(sock));
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
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The longest request line accepted. */
const MAX_LINE = 1024 * 1024;
/** Longest unix socket path (sun_path holds 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

/** The name every client looks for in `.jx/`. */
export const CTL_LINK = "ctl.sock";

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/** The `ctl-PID.sock` sockets in `dir` whose jx is still alive, newest pid last. */
function liveSockets(dir: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    const m = /^ctl-(\d+)\.sock$/.exec(n);
    if (!m) continue;
    if (pidAlive(Number(m[1]))) out.push(n);
    else rmSync(join(dir, n), { force: true }); // left by a jx that was killed
  }
  return out;
}

/** Points `.jx/ctl.sock` at `target` (a name in the same directory), atomically. */
function pointLink(dir: string, target: string): void {
  const tmp = join(dir, `.ctl-link-${process.pid}`);
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, join(dir, CTL_LINK));
}

/**
 * A listening control socket.
 *
 * @example
 * ```ts
 * import { CtlServer } from "./ctl.ts";
 * const server = await CtlServer.listen("/tmp/project", async (req) =>
 *   req.action === "status" ? { ok: true, jobs: [], modules: [] } : { ok: false, error: "no" }
 * );
 * console.log(server.path); // /tmp/project/.jx/ctl-4242.sock
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
  ) {}

  /**
   * Listens under `baseDir/.jx/`; `handle` answers each request. Throws
   * when the directory cannot be made or the socket cannot be bound.
   */
  static async listen(
    baseDir: string,
    handle: (req: CtlRequest) => Promise<CtlReply>,
  ): Promise<CtlServer> {
    const dir = resolve(baseDir, ".jx");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      chmodSync(dir, 0o700);
    } catch { /* not ours: the socket's own mode still applies */ }
    liveSockets(dir);
    const name = `ctl-${process.pid}.sock`;
    let path = join(dir, name);
    if (path.length > MAX_SOCKET_PATH) {
      // Too long for a unix socket: bind in a private directory of /tmp, link from .jx/.
      const uid = typeof process.getuid === "function" ? process.getuid() : 0;
      const short = `/tmp/jx-ctl-${uid}`;
      mkdirSync(short, { recursive: true, mode: 0o700 });
      chmodSync(short, 0o700);
      path = join(short, `${process.pid}.sock`);
    }
    rmSync(path, { force: true });
    const accept = (c: Conn) => serve(c, handle);
    const server = isDeno ? listenDeno(path, accept) : await listenNode(path, accept);
    chmodSync(path, 0o600);
    if (path !== join(dir, name)) {
      rmSync(join(dir, name), { force: true });
      symlinkSync(path, join(dir, name));
    }
    pointLink(dir, name);
    return new CtlServer(server, path, dir, name);
  }

  /** Stops listening, ends open connections, removes the socket (and re-points the link). */
  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.path, { force: true });
    if (this.path !== join(this.dir, this.name)) rmSync(join(this.dir, this.name), { force: true });
    try {
      if (readlinkSync(join(this.dir, CTL_LINK)) === this.name) {
        const others = liveSockets(this.dir).filter((n) => n !== this.name);
        if (others.length) pointLink(this.dir, others[others.length - 1]);
        else rmSync(join(this.dir, CTL_LINK), { force: true });
      }
    } catch { /* no link, or not a link */ }
  }
}

/** Serves one connection: a reply line per request line, in order; returns its data handler. */
function serve(c: Conn, handle: (req: CtlRequest) => Promise<CtlReply>): (text: string) => void {
  let buf = "";
  let chain = Promise.resolve();
  const reply = (r: CtlReply) => c.write(JSON.stringify(r) + "\n");
  return (data: string) => {
    buf += data;
    if (buf.length > MAX_LINE && !buf.includes("\n")) {
      reply({ ok: false, error: `request longer than ${MAX_LINE} bytes` });
      buf = "";
      c.close();
      return;
    }
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      let req: CtlRequest | undefined;
      let problem = "";
      try {
        req = JSON.parse(line);
        if (!req || typeof req !== "object" || typeof req.action !== "string") {
          problem = 'malformed request: expected {"action": ...}';
        }
      } catch (e) {
        problem = `malformed request: ${(e as Error).message}`;
      }
      chain = chain.then(async () => {
        if (problem) return reply({ ok: false, error: problem });
        try {
          reply(await handle(req!));
        } catch (e) {
          reply({ ok: false, error: String((e as Error)?.message ?? e) });
        }
      });
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
 * findCtlSocket({ JX_CTL: "/srv/app/.jx/ctl-4242.sock" }, "."); // "/srv/app/.jx/ctl-4242.sock"
 * ```
 */
export function findCtlSocket(env: Record<string, string | undefined>, baseDir: string): string {
  const path = env.JX_CTL || resolve(baseDir, ".jx", CTL_LINK);
  if (path.length <= MAX_SOCKET_PATH) return path;
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Sends one request to a running jx and returns its reply. Rejects when no
 * jx listens there, or with no answer in `timeoutMs`.
 *
 * @example
 * ```ts
 * import { ctlRequest } from "./ctl.ts";
 * const reply = await ctlRequest(".jx/ctl.sock", { action: "pause", module: "db" });
 * if (!reply.ok) console.error(reply.error);
 * ```
 */
export async function ctlRequest(
  path: string,
  req: CtlRequest,
  timeoutMs = 120_000,
): Promise<CtlReply> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(
      () => fail(new Error(`no answer from ${path} in ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
  });
  try {
    const line = await Promise.race([
      isDeno ? exchangeDeno(path, JSON.stringify(req) + "\n") : exchangeNode(path, req),
      timeout,
    ]);
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(`bad answer from ${path}: ${line.slice(0, 200)}`);
    }
  } finally {
    clearTimeout(timer);
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
      got += dec.decode(buf.subarray(0, n), { stream: true });
      const nl = got.indexOf("\n");
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
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) done(() => ok(buf.slice(0, nl)));
    });
    sock.on(
      "error",
      (e: Error & { code?: string }) => done(() => fail(connectError(path, e.code, e.message))),
    );
    sock.on("close", () => done(() => fail(new Error(`${path} closed without an answer`))));
  });
}
