/**
 * The page's HTTP server (node:http, which Deno and Bun both serve): the page
 * itself, the graph as JSON, the run's events as server-sent events, and
 * control requests handed to the caller's callback. Every request needs the
 * token and a Host header naming this server; nothing is shared across
 * origins (no CORS headers at all). Connections are bounded in number and,
 * until they show the token, in time (`connections.ts`).
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Reporter } from "../scheduler/mod.ts";
import { CONNECTION_LIMITS, ConnectionGuard, type ConnectionLimits } from "./connections.ts";
import type { UiGraph } from "./data.ts";
import { RunFeed } from "./feed.ts";
import { pageHtml } from "./page.ts";
import { hostAllowed, newToken, originAllowed, tokenMatches } from "./security.ts";
import { EventStream, STALL_MS, STREAM_LIMIT } from "./stream.ts";

/** What a page's control buttons ask of the run (the operations of `jx ctl`). */
export interface ControlRequest {
  action: "pause" | "resume" | "restart" | "stop" | "start" | "publish";
  /** The module (all but publish). */
  module?: string;
  /** publish: the topic and the message line. */
  topic?: string;
  message?: string;
}

/** Options of `startUi`. */
export interface UiOptions {
  /** The graph the page shows (see `graphData`). */
  graph: UiGraph;
  /** Port; 0 (the default) takes any free one. */
  port?: number;
  /** Address to bind; 127.0.0.1 unless told otherwise. */
  host?: string;
  /**
   * Handles control requests; without it they are refused (409: no run to
   * control). A reply `{ok: false, error}` is answered 409 with that error.
   */
  onControl?: (req: ControlRequest) => unknown | Promise<unknown>;
  /** Runs kept for a page that opens late or compares two (default 5). */
  keepRuns?: number;
  /** The token (default: a new random one). */
  token?: string;
  /**
   * What feeds the page: `jx ui` alone (the default), a `jx run --ui`, or a
   * `jx watch --ui` (whose runs the page calls cycles). Sent with the graph.
   */
  mode?: "ui" | "run" | "watch";
  /** Bounds on connections (default `CONNECTION_LIMITS`: 64 at once, 10 s to show the token). */
  limits?: ConnectionLimits;
  /**
   * Bytes an event stream may hold for a page that does not keep up (written
   * and not taken, live events waiting for the replay; default
   * `STREAM_LIMIT`, 4 MiB); past it the stream is ended and the page
   * reconnects.
   */
  streamLimit?: number;
  /**
   * How long an event stream may wait for its page to empty a full buffer,
   * in ms (default `STALL_MS`, 60 s); then it is ended, as past
   * `streamLimit`.
   */
  stallMs?: number;
}

/** A running page server. */
export interface UiServer {
  /** `http://ADDRESS:PORT/?token=TOKEN`, ADDRESS the one bound (127.0.0.1 unless told otherwise). */
  url: string;
  port: number;
  token: string;
  /** Feed it a run's events: the open pages see them live. */
  reporter: Reporter;
  /**
   * Shows another graph (`jx watch` loaded its jobs file again): the kept runs are
   * forgotten, and each open page is told to load itself again.
   */
  setGraph(graph: UiGraph): void;
  /** Ends the event streams and stops listening. */
  close(): Promise<void>;
}

interface Ctx {
  o: UiOptions;
  /** The names the Host header may give: the address asked for and the address bound. */
  binds: string[];
  port: number;
  token: string;
  feed: RunFeed;
  streams: Set<EventStream>;
  guard: ConnectionGuard;
}

const ACTIONS = new Set(["pause", "resume", "restart", "stop", "start", "publish"]);
const BODY_LIMIT = 64 * 1024;

/**
 * Starts the server and resolves once it listens.
 *
 * @example
 * ```ts
 * import { createReactor, parseJobsFile, runJobs } from "../../mod.ts";
 * import { parseCtlRequest, Supervisor } from "../modules/mod.ts";
 * import { graphData, startUi } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const graph = parseJobsFile("jobs:\n  a: { run: 'true' }\n", "jobs.yaml");
 * const modules = new Supervisor();
 * const ui = await startUi({
 *   graph: graphData(graph),
 *   // checked as a `jx ctl` line is, then done by the run's modules
 *   onControl: (req) => {
 *     const parsed = parseCtlRequest(JSON.stringify(req));
 *     return "error" in parsed ? { ok: false, error: parsed.error } : modules.control(parsed);
 *   },
 * });
 * console.log(`jx ui: ${ui.url}`);
 * const reactor = createReactor();
 * const result = await runJobs(graph, graph.jobs, { reactor, modules, reporters: [ui.reporter] });
 * await ui.close();
 * assertEquals(result.exit, 0);
 * ```
 */
export async function startUi(o: UiOptions): Promise<UiServer> {
  const host = o.host ?? "127.0.0.1";
  const ctx: Ctx = {
    o,
    binds: [host],
    port: 0,
    token: o.token ?? newToken(),
    feed: new RunFeed(o.keepRuns ?? 5),
    streams: new Set(),
    guard: new ConnectionGuard(o.limits ?? CONNECTION_LIMITS),
  };
  const server = createServer((req, res) => {
    // Whatever went wrong is not told: the client may not have shown the token.
    handle(ctx, req, res).catch(() => send(res, 500, "text/plain", "jx ui: internal error\n"));
  });
  server.on("connection", (socket) => ctx.guard.accept(socket));
  const bound = await listen(server, o.port ?? 0, host);
  ctx.port = bound.port;
  ctx.binds.push(bound.address);
  // The address bound, not the name asked for: `localhost` may also name [::1], where
  // another user could listen on the same port and be sent the token.
  const shown = bound.address.includes(":") ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${shown}:${ctx.port}/?token=${ctx.token}`,
    port: ctx.port,
    token: ctx.token,
    reporter: ctx.feed,
    setGraph: (graph) => {
      ctx.o = { ...ctx.o, graph };
      ctx.feed.restart();
      // A page that does not know `reload` reconnects, and is sent the new history.
      for (const s of ctx.streams) s.end("event: reload\ndata: {}\n\n");
      ctx.streams.clear();
    },
    close: () => closeServer(server, ctx),
  };
}

/**
 * Listens on `host`'s first address; resolves with the address and port
 * bound. Once listening, an error (a failed accept: no file descriptor left)
 * is not fatal: the server goes on listening.
 */
function listen(
  server: Server,
  port: number,
  host: string,
): Promise<{ address: string; port: number }> {
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      server.on("error", () => {});
      const a = server.address();
      ok(
        typeof a === "object" && a ? { address: a.address, port: a.port } : { address: host, port },
      );
    });
  });
}

/** Tells each open page that the server is going (so it stops reconnecting), then stops. */
async function closeServer(server: Server, ctx: Ctx): Promise<void> {
  // Each page is sent what it is owed (the rest of its replay, the events that waited) before
  // `bye`; one that takes nothing for CLOSE_STALL_MS is dropped.
  const ending = [...ctx.streams].map((s) => s.end("event: bye\ndata: {}\n\n", CLOSE_STALL_MS));
  ctx.streams.clear();
  const closed = new Promise<void>((ok) => server.close(() => ok()));
  // A page that reads, however slowly, delays jx's exit by CLOSE_MS at most: then its connection
  // is cut before `bye` (it sees an error, never a run that looks whole).
  let deadline: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(ending),
    new Promise<void>((ok) => deadline = setTimeout(ok, CLOSE_MS)),
  ]);
  clearTimeout(deadline);
  server.closeAllConnections?.();
  ctx.guard.closeAll();
  await closed;
}

/** How long a closing server waits for a page that takes nothing of what it is owed, in ms. */
const CLOSE_STALL_MS = 2000;
/** How long a closing server waits for its pages to take what they are owed, in all, in ms. */
const CLOSE_MS = 5000;

/** Answers one request: Host, then token, then the route. */
async function handle(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const host = req.headers.host;
  if (!hostAllowed(host, ctx.binds)) {
    return refuse(res, 403, "jx ui: this server does not answer to that Host\n");
  }
  const url = requestUrl(req.url);
  if (!url) return refuse(res, 400, "jx ui: bad request\n");
  // A body said to be past the limit: answered, not read (one sent in chunks is cut at it).
  if (req.method === "POST" && Number(header(req, "content-length")) > BODY_LIMIT) {
    return refuse(res, 413, `jx ui: request body too large (at most ${BODY_LIMIT} bytes)\n`);
  }
  const body = req.method === "POST" ? await readBody(req) : "";
  // An empty value is no token: the next place is looked at.
  const given = header(req, "x-jx-token") || url.searchParams.get("token") || bodyToken(body);
  if (!given) return refuse(res, 401, "jx ui: the token is missing\n");
  if (!tokenMatches(given, ctx.token)) return refuse(res, 403, "jx ui: wrong token\n");
  ctx.guard.trust(req.socket);
  const route = `${req.method} ${url.pathname}`;
  switch (route) {
    case "GET /":
      return sendPage(res);
    case "GET /api/graph":
      return send(res, 200, "application/json", graphJson(ctx.o));
    case "GET /api/events":
      return openStream(ctx, req, res);
    case "POST /api/control":
      if (!originAllowed(header(req, "origin"), host!)) {
        return send(res, 403, "text/plain", "jx ui: cross-origin request refused\n");
      }
      return await control(ctx, body, res);
  }
  const known = ["/", "/api/graph", "/api/events", "/api/control"].includes(url.pathname);
  send(res, known ? 405 : 404, "text/plain", known ? "method not allowed\n" : "not found\n");
}

/** The request's path and query, or undefined when they are not a URL's (`//[::1`). */
function requestUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? "/", "http://localhost");
  } catch {
    return undefined;
  }
}

/** A request refused before the token was shown: a fixed line, and the connection closed. */
function refuse(res: ServerResponse, status: number, text: string): void {
  res.setHeader("connection", "close");
  send(res, status, "text/plain", text);
}

/** The graph, with what feeds the page (`mode`) and whether its controls reach a run. */
function graphJson(o: UiOptions): string {
  return JSON.stringify({ ...o.graph, mode: o.mode ?? "ui", control: !!o.onControl });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((ok, fail) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (s: string) => {
      text += s;
      if (text.length > BODY_LIMIT) req.destroy(new Error("request body too large"));
    });
    req.on("end", () => ok(text));
    req.on("error", fail);
    req.on("close", () => fail(new Error("the connection closed"))); // after "end": no effect
  });
}

function bodyToken(body: string): string | undefined {
  try {
    const t = JSON.parse(body)?.token;
    return typeof t === "string" ? t : undefined;
  } catch {
    return undefined;
  }
}

const SAFE_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

function send(res: ServerResponse, status: number, type: string, text: string): void {
  if (res.destroyed) return; // its connection is gone (closed by its client or by the guard)
  if (res.headersSent) return void res.end();
  const bytes = new TextEncoder().encode(text);
  res.writeHead(status, {
    ...SAFE_HEADERS,
    "content-type": `${type}; charset=utf-8`,
    "content-length": String(bytes.length),
  });
  res.end(bytes);
}

function sendPage(res: ServerResponse): void {
  const nonce = newToken();
  res.setHeader(
    "content-security-policy",
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; ` +
      `connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  );
  send(res, 200, "text/html", pageHtml({ nonce }));
}

/**
 * The event stream: every kept event (read from the feed as the page takes
 * them), then each new one, until the page or the server goes, or the page
 * falls too far behind or takes nothing for too long (`stream.ts`).
 */
function openStream(ctx: Ctx, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { ...SAFE_HEADERS, "content-type": "text/event-stream; charset=utf-8" });
  res.write(": jx ui\n\n");
  const limit = ctx.o.streamLimit ?? STREAM_LIMIT;
  const stream = new EventStream(res, ctx.feed.replay(), limit, ctx.o.stallMs ?? STALL_MS);
  // At once: what comes after the replay began is sent live.
  const stop = ctx.feed.subscribe((json) => stream.send(json));
  ctx.streams.add(stream);
  const gone = () => {
    stop();
    ctx.streams.delete(stream);
  };
  req.on("close", gone);
  res.on("close", gone);
}

async function control(ctx: Ctx, body: string, res: ServerResponse): Promise<void> {
  let r: ControlRequest & { token?: string };
  try {
    r = JSON.parse(body);
  } catch {
    return send(res, 400, "application/json", JSON.stringify({ error: "body is not JSON" }));
  }
  if (!r || !ACTIONS.has(r.action)) {
    return send(res, 400, "application/json", JSON.stringify({ error: "unknown action" }));
  }
  if (!ctx.o.onControl) {
    return send(res, 409, "application/json", JSON.stringify({ error: "no run to control" }));
  }
  const { action, module, topic, message } = r;
  try {
    const reply = await ctx.o.onControl({ action, module, topic, message });
    // A reply `{ok: false, error}` (as the run's supervisor gives) is a refusal: 409.
    const r = reply as { ok?: unknown; error?: unknown } | null | undefined;
    if (r && typeof r === "object" && r.ok === false) {
      const error = typeof r.error === "string" ? r.error : "refused";
      return send(res, 409, "application/json", JSON.stringify({ ok: false, error, reply }));
    }
    send(res, 200, "application/json", JSON.stringify({ ok: true, reply: reply ?? null }));
  } catch (e) {
    send(res, 500, "application/json", JSON.stringify({ ok: false, error: String(e) }));
  }
}
