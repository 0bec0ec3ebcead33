/**
 * The Turborepo remote cache API v8: `GET`/`PUT /v8/artifacts/HASH?slug=TEAM`
 * with a bearer token. The artifact is jx's own container: `JXC1`, a 4-byte
 * big-endian length, a JSON header (the entry and its blobs' digests and
 * sizes), then the blobs in that order. With a signature key the artifact
 * carries `x-artifact-tag`: base64 of HMAC-SHA256(key, HASH + TEAM + body),
 * as the turbo client computes it; one whose tag does not verify is refused.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import { digestOf } from "./archive.ts";
import { blobsOf, type Entry, isEntry } from "./entry.ts";
import { type KeepBlob, RemoteError, type RemoteStore, request, statusError } from "./http.ts";

const MAGIC = [0x4a, 0x58, 0x43, 0x31]; // "JXC1"

/** Settings of a Turborepo remote store. */
export interface TurboOptions {
  /** `http(s)://host:port[/path]` (the API is under `/v8/`). */
  base: string;
  /** The team (sent as `slug`). */
  team: string;
  /** Bearer token. */
  token?: string;
  /** HMAC key for `x-artifact-tag`. */
  signatureKey?: string;
  /** Per-request time-out. */
  timeoutMs: number;
}

/** The `x-artifact-tag` of an artifact. */
export function artifactTag(key: string, hash: string, team: string, body: Uint8Array): string {
  return createHmac("sha256", key).update(hash).update(team).update(body).digest("base64");
}

/** Packs an entry and its blobs into one artifact. */
export function packArtifact(entry: Entry, blob: (d: string) => Uint8Array): Uint8Array {
  const ds = blobsOf(entry);
  const bytes = ds.map(blob);
  const header = new TextEncoder().encode(
    JSON.stringify({ entry, blobs: ds.map((d, i) => [d, bytes[i].length]) }),
  );
  const out = new Uint8Array(8 + header.length + bytes.reduce((n, b) => n + b.length, 0));
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, header.length);
  out.set(header, 8);
  let at = 8 + header.length;
  for (const b of bytes) out.set(b, (at += b.length) - b.length);
  return out;
}

/**
 * Unpacks an artifact: its entry, and its blobs, each checked against its
 * digest, all checked before the first is handed to `keep`; throws
 * `RemoteError` on anything wrong.
 */
export function unpackArtifact(body: Uint8Array, key: string, keep: KeepBlob): Entry {
  if (body.length < 8 || MAGIC.some((m, i) => body[i] !== m)) {
    throw new RemoteError("artifact is not a jx artifact");
  }
  const len = new DataView(body.buffer, body.byteOffset).getUint32(4);
  if (8 + len > body.length) throw new RemoteError("artifact is truncated");
  let head: { entry: Entry; blobs: [string, number][] };
  try {
    head = JSON.parse(new TextDecoder().decode(body.subarray(8, 8 + len)));
  } catch {
    throw new RemoteError("artifact header is not JSON");
  }
  if (!isEntry(head.entry) || head.entry.key !== key || !Array.isArray(head.blobs)) {
    throw new RemoteError("artifact header is not an entry for this key");
  }
  const blobs = new Map<string, Uint8Array>();
  let at = 8 + len;
  for (const [d, size] of head.blobs) {
    if (at + size > body.length) throw new RemoteError("artifact is truncated");
    const b = body.subarray(at, at += size);
    if (digestOf(b) !== d) {
      throw new RemoteError(`artifact blob ${String(d).slice(0, 12)}: wrong digest`);
    }
    blobs.set(d, b);
  }
  for (const d of blobsOf(head.entry)) {
    if (!blobs.has(d)) throw new RemoteError(`artifact lacks blob ${d.slice(0, 12)}`);
  }
  for (const [d, b] of blobs) keep(d, b);
  return head.entry;
}

/** A Turborepo v8 remote cache. */
export class TurboStore implements RemoteStore {
  readonly label: string;
  constructor(private o: TurboOptions) {
    this.label = `turbo ${o.base}`;
  }

  private url(hash: string): string {
    return `${this.o.base.replace(/\/$/, "")}/v8/artifacts/${hash}?slug=${
      encodeURIComponent(this.o.team)
    }`;
  }

  private headers(): Record<string, string> {
    return this.o.token ? { authorization: `Bearer ${this.o.token}` } : {};
  }

  /** Checks the tag when a signature key is set; throws when it does not verify. */
  private verify(hash: string, body: Uint8Array, tag: string | null): void {
    if (!this.o.signatureKey) return;
    if (!tag) throw new RemoteError("artifact has no signature (x-artifact-tag)");
    const want = Buffer.from(artifactTag(this.o.signatureKey, hash, this.o.team, body));
    const got = Buffer.from(tag);
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new RemoteError("artifact signature does not verify");
    }
  }

  async get(key: string, keep: KeepBlob): Promise<Entry | null> {
    const r = await request(
      this.url(key),
      { method: "GET", headers: this.headers() },
      this.o.timeoutMs,
    );
    if (r.status === 404) return null;
    if (r.status !== 200) throw statusError("GET", r.status, "artifact");
    this.verify(key, r.body, r.headers.get("x-artifact-tag"));
    return unpackArtifact(r.body, key, keep);
  }

  async put(entry: Entry, blob: (d: string) => Uint8Array): Promise<void> {
    const body = packArtifact(entry, blob);
    const headers: Record<string, string> = {
      ...this.headers(),
      "content-type": "application/octet-stream",
      "x-artifact-duration": String(Math.round(entry.durationMs)),
      "x-artifact-client-ci": "jx",
    };
    if (this.o.signatureKey) {
      headers["x-artifact-tag"] = artifactTag(this.o.signatureKey, entry.key, this.o.team, body);
    }
    const r = await request(
      this.url(entry.key),
      { method: "PUT", headers, body },
      this.o.timeoutMs,
    );
    if (r.status < 200 || r.status >= 300) throw statusError("PUT", r.status, "artifact");
  }
}
