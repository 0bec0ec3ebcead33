/**
 * What both remote stores share: the store interface, HTTP requests bounded
 * by a deadline and their bodies by a size, and the error that becomes one
 * warning line and a miss.
 *
 * @module
 */
import { concatBytes, type Entry } from "./entry.ts";
import { redactUrl } from "./flags.ts";

/** A remote store failed, refused or lied: one warning line, then a miss (or no upload). */
export class RemoteError extends Error {
  /** `message`; `status`: the HTTP status that said so, when one did. */
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/**
 * The server cannot be reached, is too slow, or refuses (5xx, any 4xx but
 * 404, 409 and 413): not asked again this run.
 */
export class RemoteDown extends RemoteError {}

/**
 * Where a remote store puts the blobs of an entry it fetches: the local
 * store. Each blob is written in pieces as it arrives and hashed as it is
 * written, so that no blob is ever whole in memory (lookups run side by
 * side, and a blob may be as big as an entry may be).
 */
export interface KeepBlob {
  /** A new blob, to be written in pieces. */
  blobWriter(): BlobWriter;
}

/** One blob being written (see `KeepBlob`). */
export interface BlobWriter {
  write(chunk: Uint8Array): void;
  /**
   * Ends the blob: kept when its bytes are those `digest` names (else
   * dropped); gives the digest and size of what was written.
   */
  finish(digest: string): { digest: string; size: number };
  /** Drops what was written (a failed download); harmless after `finish`. */
  abort(): void;
}

/** Where an upload reads blobs: the local store. */
export interface BlobSource {
  /** A blob's bytes, checked against its digest (throws `BadBlob`). */
  readBlob(digest: string): Uint8Array;
  /** The file holding a blob, to be read in pieces (the reader checks the digest). */
  blobFile(digest: string): string;
}

/** A remote store. Every method throws `RemoteError` (only) when the server fails or lies. */
export interface RemoteStore {
  /** For messages: `turbo http://host:port` and the like. */
  readonly label: string;
  /**
   * The entry under `key`, or null when the store has none; each of its
   * blobs is handed to `keep` once checked, before the entry is returned.
   * `stop` aborted (jx stopped) cuts it short as its time-out does, what it
   * wrote removed.
   */
  get(key: string, keep: KeepBlob, stop?: AbortSignal): Promise<Entry | null>;
  /** Uploads an entry and the blobs it needs, read from `blobs`. */
  put(entry: Entry, blobs: BlobSource): Promise<void>;
}

/** How long one lookup (all its requests), or one upload request, may take (default 10 s). */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The most bytes one remote entry may take (1 GiB): a Turborepo artifact's
 * body, or a Bazel entry's blobs together. A larger one is neither fetched
 * nor uploaded (one warning).
 */
export const MAX_ENTRY_BYTES = 1024 ** 3;

/**
 * Statuses that concern one entry, not the server: 404 (no such entry; a
 * miss where a GET gets it), 409 (a conflicting write: WebDAV's answer to a
 * PUT whose directory is missing, or another writer) and 413 (this body is
 * too large for the server: turborepo-remote-cache's body limit, nginx's
 * `client_max_body_size`, bazel-remote's blob limit). Any other 4xx (400
 * for a missing token or team, 401, 402, 403, 405, 412 for a storage that
 * fails, 429...) answers every request alike.
 */
const ENTRY_STATUSES: ReadonlySet<number> = new Set([404, 409, 413]);

/**
 * One time budget shared by every request of an operation (a lookup with
 * all its requests, or one upload request): when it runs out, the request
 * in flight is aborted, and any later one fails at once, as `RemoteDown`.
 */
export class Deadline {
  /** Aborted when the time is up. */
  readonly signal: AbortSignal;
  private timer: ReturnType<typeof setTimeout>;

  private unlink = () => {};

  /**
   * Starts the clock: `ms` from now; `what` names the operation in the
   * message. `stop` (jx stopped: a Ctrl-C) aborts it at once too.
   */
  constructor(readonly ms: number, readonly what: string, stop?: AbortSignal) {
    const ctl = new AbortController();
    this.signal = ctl.signal;
    this.timer = setTimeout(() => ctl.abort(), ms);
    if (!stop) return;
    const abort = () => ctl.abort();
    if (stop.aborted) abort();
    stop.addEventListener("abort", abort, { once: true });
    this.unlink = () => stop.removeEventListener("abort", abort);
  }

  /** Stops the clock (the operation ended). */
  end(): void {
    clearTimeout(this.timer);
    this.unlink();
  }

  /** The error of a request this deadline cut short. */
  error(): RemoteDown {
    return new RemoteDown(`${this.what} timed out after ${this.ms} ms`);
  }
}

/** Runs `f` under a new deadline of `ms` (cut short by `stop`), stopped however `f` ends. */
export async function withDeadline<T>(
  ms: number,
  what: string,
  f: (d: Deadline) => Promise<T>,
  stop?: AbortSignal,
): Promise<T> {
  const d = new Deadline(ms, what, stop);
  try {
    return await f(d);
  } finally {
    d.end();
  }
}

/** What a request sends. */
export interface Outgoing {
  /** `GET`, `HEAD`, `PUT`. */
  method: string;
  /** Headers besides `Accept-Encoding` (always `identity`). */
  headers?: Record<string, string>;
  /** A body, sent as it is read when a stream. */
  body?: Uint8Array | ReadableStream<Uint8Array>;
}

/** An answer's status and headers (its body read or dropped). */
export interface Answer {
  /** The HTTP status. */
  status: number;
  /** The headers. */
  headers: Headers;
}

/**
 * Sends one request and hands its answer to `take`, all under `deadline`;
 * any failure other than a `RemoteError` (unreachable, reset, aborted by
 * the deadline) becomes a `RemoteDown`. The body is asked for as it is
 * (`Accept-Encoding: identity`). Redirects are jx's to follow (`nextHop`):
 * a lookup's, without the token past the configured origin; an upload's
 * never.
 */
async function exchange<T>(
  url: string,
  out: Outgoing,
  deadline: Deadline,
  take: (res: Response) => Promise<T>,
): Promise<T> {
  try {
    let res = await send(url, out, deadline);
    for (let hops = 0, at = url;; hops++) {
      const next = await nextHop(res, at, out.method, hops);
      if (next === null) break;
      const same = new URL(url).origin === new URL(next).origin;
      at = same ? withUserinfo(url, next) : next;
      res = await send(
        at,
        { method: out.method, headers: same ? out.headers : noAuth(out) },
        deadline,
      );
    }
    return await take(res);
  } catch (e) {
    if (e instanceof RemoteError) throw e;
    if (deadline.signal.aborted) throw deadline.error();
    throw new RemoteDown(`${out.method} failed: ${reason(e)}`);
  }
}

/**
 * `url` without its `//USER:PASSWORD@`, and the headers with them as Basic auth unless they hold
 * an `Authorization` already (a token wins): the same request on every runtime (Deno's fetch sent
 * the URL's Basic auth over the token; Bun's the token).
 */
function userinfoAsHeader(
  url: string,
  headers: Record<string, string>,
): [string, Record<string, string>] {
  const u = new URL(url);
  if (!u.username && !u.password) return [url, headers];
  const text = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const pair = new TextEncoder().encode(`${text(u.username)}:${text(u.password)}`);
  u.username = u.password = "";
  if (Object.keys(headers).some((k) => k.toLowerCase() === "authorization")) {
    return [u.href, headers];
  }
  const basic = `Basic ${btoa(String.fromCharCode(...pair))}`;
  return [u.href, { ...headers, authorization: basic }];
}

/** One request as it is: a redirect is answered, not followed (`redirect: "manual"`). */
function send(at: string, out: Outgoing, deadline: Deadline): Promise<Response> {
  const [url, headers] = userinfoAsHeader(at, out.headers ?? {});
  return fetch(url, {
    method: out.method,
    headers: { ...headers, "accept-encoding": "identity" },
    body: out.body as BodyInit | undefined,
    signal: deadline.signal,
    redirect: "manual",
    // A stream body is sent as it is read (required by the fetch standard for one).
    ...(out.body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);
}

/** The redirects a lookup follows, each with a `Location`. */
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * Redirects a lookup follows at most: one is what servers send
 * (turborepo-remote-cache's reads from a CDN, an S3 signed URL, http to
 * https), more is a loop.
 */
const MAX_REDIRECTS = 5;

/**
 * Where the redirect `res` (to a `method` request at `at`) leads, its body
 * dropped; null when `res` is no redirect (the answer to take). A GET or
 * HEAD (no body) follows it to another http(s) address; an upload never
 * does, whatever the address: a cache's bodies (and credentials) go to the
 * configured server only (`RemoteError` with the status: uploads stop).
 */
async function nextHop(
  res: Response,
  at: string,
  method: string,
  hops: number,
): Promise<string | null> {
  const location = res.headers.get("location");
  if (!REDIRECTS.has(res.status) || location === null) return null;
  await drop(res);
  const to = URL.canParse(location, at) ? new URL(location, at) : null;
  const where = !to ? "an invalid address" : to.origin === "null" ? to.protocol : to.origin;
  const redirect = `HTTP ${res.status}, a redirect to ${where}`;
  if (method !== "GET" && method !== "HEAD") {
    throw new RemoteError(`${method}: ${redirect} (not followed for an upload)`, res.status);
  }
  if (to?.protocol !== "http:" && to?.protocol !== "https:") {
    throw new RemoteDown(`${method}: ${redirect} (http or https only)`, res.status);
  }
  if (hops >= MAX_REDIRECTS) {
    throw new RemoteDown(`${method}: more than ${MAX_REDIRECTS} redirects`);
  }
  return to.href;
}

/** `to` (on `from`'s origin) with the credentials of `from` (`//USER:PASSWORD@`) if it has none. */
function withUserinfo(from: string, to: string): string {
  const a = new URL(from), b = new URL(to);
  if (b.username || b.password) return to;
  b.username = a.username;
  b.password = a.password;
  return b.href;
}

/** `out`'s headers without `Authorization`: the token is for the configured origin only. */
function noAuth(out: Outgoing): Record<string, string> {
  return Object.fromEntries(
    Object.entries(out.headers ?? {}).filter(([k]) => k.toLowerCase() !== "authorization"),
  );
}

/**
 * Why a request failed, in one line: the error's message and, where the runtime keeps the
 * reason in its cause (Deno says only "fetch failed"), that reason, without the URL; without
 * Bun's advice on `verbose: true` (a fetch option jx does not expose); credentials in any URL
 * masked.
 */
function reason(e: unknown): string {
  const err = e as Error & { cause?: unknown; code?: unknown };
  if (refused(err)) return "connection refused";
  if (unresolved(err)) return "cannot resolve the host name";
  if (dropped(err)) return "the server closed the connection";
  let msg = String(err?.message ?? e).split("\n")[0];
  const cause = err?.cause instanceof Error ? err.cause.message.split("\n")[0] : "";
  if (cause) {
    msg += `: ${cause.replace(/^error sending request (?:from \S+ )?for \S+ \([^)]*\): /, "")}`;
  }
  return redactUrl(msg.replace(/\.? For more information, pass `verbose: true`.*$/, ""));
}

/**
 * Whether the server refused the connection: said alike on both runtimes (Deno: "...tcp connect
 * error: Connection refused (os error 111)" in the cause; Bun: code ECONNREFUSED, "Unable to
 * connect. Is the computer able to access the url?").
 */
function refused(err: (Error & { cause?: unknown; code?: unknown }) | undefined): boolean {
  if (err?.code === "ECONNREFUSED") return true;
  const cause = err?.cause instanceof Error ? err.cause.message : "";
  return /Connection refused \(os error 111\)/.test(cause);
}

/**
 * Whether the server closed or reset the connection before it answered: said alike on both
 * runtimes (Deno: "Connection reset by peer (os error 104)" or "...connection closed before
 * message completed" in the cause; Bun: code ECONNRESET, "The socket connection was closed
 * unexpectedly").
 */
function dropped(err: (Error & { cause?: unknown; code?: unknown }) | undefined): boolean {
  if (err?.code === "ECONNRESET") return true;
  const cause = err?.cause instanceof Error ? err.cause.message : "";
  return /Connection reset by peer \(os error 104\)|connection closed before message completed/
    .test(cause);
}

/**
 * Whether the server's name could not be resolved (no such name, or no name server answering):
 * said alike on both runtimes (Deno: "...dns error: failed to lookup address information: ..."
 * in the cause; Bun: code ENOTFOUND or EAI_AGAIN, "getaddrinfo ENOTFOUND HOST").
 */
function unresolved(err: (Error & { cause?: unknown; code?: unknown }) | undefined): boolean {
  if (err?.code === "ENOTFOUND" || err?.code === "EAI_AGAIN") return true;
  if (/\b(ENOTFOUND|EAI_AGAIN)\b/.test(err?.message ?? "")) return true;
  const cause = err?.cause instanceof Error ? err.cause.message : "";
  return /\bdns error\b/.test(cause);
}

/** Drops a body not wanted (or refused), never throwing. */
async function drop(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => {});
}

/**
 * Reads a 200 answer's body into `sink` chunk by chunk, at most `max` bytes:
 * past that (or a `Content-Length` above it) the body is dropped and
 * `RemoteError` thrown. A body in any `Content-Encoding` but identity is
 * refused unread (`RemoteDown`): jx asked for identity, and whether the
 * runtime would inflate it differs (Bun does, Deno does not); the bytes
 * counted against `max` are those the runtime hands over.
 */
async function readBody(
  res: Response,
  what: string,
  max: number,
  sink: (chunk: Uint8Array) => void,
): Promise<void> {
  // An HTML page is no cache's answer: a login or captive portal, a web app's fallback page for
  // any path (a wrong URL). It would be so for every entry: the server is not asked again.
  if (/^\s*text\/html\b/i.test(res.headers.get("content-type") ?? "")) {
    await drop(res);
    throw new RemoteDown(`GET ${what}: answered with an HTML page, not a cache entry`);
  }
  const encoding = res.headers.get("content-encoding");
  if (encoding && encoding.trim().toLowerCase() !== "identity") {
    await drop(res);
    throw new RemoteDown(`GET ${what}: answered in Content-Encoding ${encoding}, not identity`);
  }
  const tooLarge = () => new RemoteError(`GET ${what}: more than ${max} bytes`);
  if (Number(res.headers.get("content-length")) > max) {
    await drop(res);
    throw tooLarge();
  }
  if (!res.body) return;
  const reader = res.body.getReader();
  for (let got = 0;;) {
    const { done, value } = await reader.read();
    if (done) return;
    got += value.length;
    if (got > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    sink(value);
  }
}

/** Sends one request whose answer's body is not wanted (a `PUT`, a `HEAD`). */
export function request(url: string, out: Outgoing, deadline: Deadline): Promise<Answer> {
  return exchange(url, out, deadline, async (res) => {
    await drop(res);
    return { status: res.status, headers: res.headers };
  });
}

/**
 * One GET whose body goes to `sink` as it arrives (nothing held), only when
 * the status is 200, and at most `max` bytes of it (else `RemoteError`);
 * `what` names the resource in messages. Returns the status and headers.
 */
export function download(
  url: string,
  headers: Record<string, string>,
  deadline: Deadline,
  what: string,
  max: number,
  sink: (chunk: Uint8Array) => void,
): Promise<Answer> {
  return exchange(url, { method: "GET", headers }, deadline, async (res) => {
    if (res.status === 200) await readBody(res, what, max, sink);
    else await drop(res);
    return { status: res.status, headers: res.headers };
  });
}

/**
 * One GET whose body, when the status is 200, is read whole into memory:
 * at most `max` bytes (else `RemoteError`). `body` is empty for any other
 * status.
 */
export async function getBody(
  url: string,
  headers: Record<string, string>,
  deadline: Deadline,
  what: string,
  max: number,
): Promise<Answer & { body: Uint8Array }> {
  const chunks: Uint8Array[] = [];
  const answer = await download(url, headers, deadline, what, max, (c) => chunks.push(c));
  return { ...answer, body: concatBytes(chunks) };
}

/**
 * The `RemoteError` for an unexpected status: `RemoteDown` (the server is
 * not asked again this run) for a 5xx and for any 4xx but 404, 409 and 413,
 * which concern one entry only.
 */
export function statusError(method: string, status: number, what: string): RemoteError {
  const auth = status === 401 || status === 403;
  const msg = `${method} ${what}: HTTP ${status}${auth ? " (check JX_REMOTE_CACHE_TOKEN)" : ""}`;
  const down = status >= 500 || (status >= 400 && !ENTRY_STATUSES.has(status));
  return down ? new RemoteDown(msg, status) : new RemoteError(msg, status);
}

/** Refuses (`RemoteError`) an entry of `bytes`, past `max`, the bytes a remote entry may take. */
export function checkEntrySize(what: string, bytes: number, max: number): void {
  if (bytes > max) {
    throw new RemoteError(`${what}: ${bytes} bytes, over the ${max} a remote entry may take`);
  }
}
