/**
 * What both remote stores share: the store interface, HTTP requests bounded
 * by a time-out, and the error that becomes one warning line and a miss.
 *
 * @module
 */
import type { Entry } from "./entry.ts";

/** A remote store failed, refused or lied: one warning line, then a miss (or no upload). */
export class RemoteError extends Error {}

/** The server cannot be reached, is too slow, or refuses (401/403/5xx): not asked again this run. */
export class RemoteDown extends RemoteError {}

/**
 * Takes one blob of an entry being fetched, already checked against its
 * digest (the local store keeps it; the remote store then drops it, so an
 * entry is never held whole when its protocol sends blobs one by one).
 */
export type KeepBlob = (digest: string, bytes: Uint8Array) => void;

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
   */
  get(key: string, keep: KeepBlob): Promise<Entry | null>;
  /** Uploads an entry and the blobs it needs, read from `blobs`. */
  put(entry: Entry, blobs: BlobSource): Promise<void>;
}

/** How long one request may take before it counts as failed (default 10 s). */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * One HTTP request with a time-out over the whole exchange (body included).
 * Returns the status, headers and body; throws `RemoteError` when the server
 * cannot be reached or is too slow.
 */
export async function request(
  url: string,
  init: {
    method: string;
    headers?: Record<string, string>;
    body?: Uint8Array | ReadableStream<Uint8Array>;
  },
  timeoutMs: number,
): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const res = await fetch(url, {
      method: init.method,
      headers: init.headers,
      body: init.body as BodyInit | undefined,
      signal: ctl.signal,
      redirect: "follow",
      // A stream body is sent as it is read (required by the fetch standard for one).
      ...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
    } as RequestInit);
    const body = new Uint8Array(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body };
  } catch (e) {
    if (ctl.signal.aborted) throw new RemoteDown(`${init.method} timed out after ${timeoutMs} ms`);
    throw new RemoteDown(`${init.method} failed: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One GET whose body goes to `sink` chunk by chunk as it arrives (nothing
 * held), only when the status is 200; the time-out covers the whole
 * exchange, as `request`'s does. Returns the status and headers.
 */
export async function download(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  sink: (chunk: Uint8Array) => void,
): Promise<{ status: number; headers: Headers }> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const res = await fetch(url, { headers, signal: ctl.signal, redirect: "follow" });
    if (res.status !== 200 || !res.body) {
      await res.body?.cancel();
      return { status: res.status, headers: res.headers };
    }
    for await (const chunk of res.body) sink(chunk);
    return { status: res.status, headers: res.headers };
  } catch (e) {
    if (e instanceof RemoteError) throw e;
    if (ctl.signal.aborted) throw new RemoteDown(`GET timed out after ${timeoutMs} ms`);
    throw new RemoteDown(`GET failed: ${(e as Error).message.split("\n")[0]}`);
  } finally {
    clearTimeout(timer);
  }
}

/** The `RemoteError` for an unexpected status. */
export function statusError(method: string, status: number, what: string): RemoteError {
  const auth = status === 401 || status === 403;
  const msg = `${method} ${what}: HTTP ${status}${auth ? " (check JX_REMOTE_CACHE_TOKEN)" : ""}`;
  return auth || status >= 500 ? new RemoteDown(msg) : new RemoteError(msg);
}
