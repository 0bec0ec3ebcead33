/**
 * Bounds on the page server's connections, so that clients without the
 * token cannot hold jx's file descriptors: at most `max` connections open at
 * once, and a connection must show the token within `untrustedMs` of
 * connecting (its first request's headers, and a POST's body when the token
 * is in it). A connection that has shown the token (the page's event
 * stream, its requests) is trusted: it is neither timed out nor closed to
 * make room.
 *
 * @module
 */
import type { Socket } from "node:net";

/** The bounds of `ConnectionGuard`. */
export interface ConnectionLimits {
  /** Connections open at once. */
  max: number;
  /** How long a connection may go without showing the token, in ms. */
  untrustedMs: number;
}

/** The bounds of `jx ui`: a page takes a few connections (its event stream and requests). */
export const CONNECTION_LIMITS: ConnectionLimits = { max: 64, untrustedMs: 10_000 };

/**
 * Counts a server's connections and closes those past its bounds. A new
 * connection past `max` closes the oldest one that has not shown the token
 * (or itself, when all have): a flood of idle connections cannot keep the
 * page's own out.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { ConnectionGuard } from "./connections.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const guard = new ConnectionGuard({ max: 8, untrustedMs: 5000 });
 * const server = createServer((req, res) => {
 *   // The request has shown the token: its connection may stay open.
 *   guard.trust(req.socket);
 *   res.end("ok\n");
 * });
 * server.on("connection", (socket) => guard.accept(socket));
 * await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
 * const { port } = server.address() as { port: number };
 * const res = await fetch(`http://127.0.0.1:${port}/`);
 * assertEquals([res.status, await res.text(), guard.size], [200, "ok\n", 1]);
 * guard.closeAll();
 * await new Promise((ok) => server.close(ok));
 * assertEquals(guard.size, 0);
 * ```
 */
export class ConnectionGuard {
  /** Every open connection. */
  private readonly open = new Set<Socket>();
  /** The connections that have not shown the token, oldest first, with their deadlines. */
  private readonly untrusted = new Map<Socket, ReturnType<typeof setTimeout>>();

  constructor(private readonly limits: ConnectionLimits = CONNECTION_LIMITS) {}

  /** A new connection: counted until it closes, closed if it stays untrusted too long. */
  accept(socket: Socket): void {
    this.open.add(socket);
    this.untrusted.set(socket, setTimeout(() => this.drop(socket), this.limits.untrustedMs));
    socket.once("close", () => this.forget(socket));
    if (this.open.size > this.limits.max) this.drop(this.oldestUntrusted(socket));
  }

  /** The connection has shown the token: it stays open as long as its client wants. */
  trust(socket: Socket): void {
    this.settle(socket);
  }

  /** Closes every connection (the server is going), leaving no deadline behind. */
  closeAll(): void {
    for (const socket of [...this.open]) this.drop(socket);
  }

  /** Connections open now. */
  get size(): number {
    return this.open.size;
  }

  /** Forgets `socket`'s deadline. */
  private settle(socket: Socket): void {
    clearTimeout(this.untrusted.get(socket));
    this.untrusted.delete(socket);
  }

  /** Forgets `socket` (it is closed, or being closed). */
  private forget(socket: Socket): void {
    this.open.delete(socket);
    this.settle(socket);
  }

  /**
   * Closes `socket`, forgotten at once: its "close" event comes later, and
   * until then it must not count, nor be picked again to make room.
   */
  private drop(socket: Socket): void {
    this.forget(socket);
    socket.destroy();
  }

  /** The connection to close to make room: the oldest untrusted one, else `fallback`. */
  private oldestUntrusted(fallback: Socket): Socket {
    for (const socket of this.untrusted.keys()) return socket;
    return fallback;
  }
}
