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
import { createHash, createHmac, type Hmac, randomBytes, timingSafeEqual } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync, rmSync, statSync, writeSync } from "node:fs";
import { tempPrefix } from "../runtime/stale.ts";
import { blobsOf, type Entry, isEntry } from "./entry.ts";
import { BadBlob } from "./local.ts";
import {
  type BlobSource,
  checkEntrySize,
  type Deadline,
  download,
  type KeepBlob,
  MAX_ENTRY_BYTES,
  RemoteError,
  type RemoteStore,
  request,
  statusError,
  withDeadline,
} from "./http.ts";
import { redactWholeUrl } from "./flags.ts";

const MAGIC = [0x4a, 0x58, 0x43, 0x31]; // "JXC1"

/**
 * The most bytes of an artifact's JSON header (16 MiB: some 70,000 output
 * files). The header is parsed whole, in memory and with the event loop
 * held: a larger one from a server (all of it `[],`) took minutes and
 * gigabytes, past the lookup's time-out. One past it is neither read nor
 * uploaded.
 */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

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
  /** How long one lookup or one upload may take. */
  timeoutMs: number;
  /** The most bytes of an artifact (default `MAX_ENTRY_BYTES`), fetched or uploaded. */
  maxEntryBytes?: number;
  /** The most bytes of its JSON header (default `MAX_HEADER_BYTES`), fetched or uploaded. */
  maxHeaderBytes?: number;
}

/** The `x-artifact-tag` of an artifact. */
export function artifactTag(key: string, hash: string, team: string, body: Uint8Array): string {
  return createHmac("sha256", key).update(hash).update(team).update(body).digest("base64");
}

/** Bytes read from a blob's file at once while uploading. */
const CHUNK = 4 * 1024 * 1024;

/** An artifact to upload: its head (magic, length, JSON header), then its blobs' files in order. */
export interface Packed {
  /** The bytes before the blobs. */
  head: Uint8Array;
  /** Each blob's digest and file. */
  blobs: { digest: string; file: string }[];
  /** The whole body's length. */
  size: number;
}

/** The artifact of an entry whose blobs are in `source` (their sizes from the files). */
export function packArtifact(entry: Entry, source: BlobSource): Packed {
  const blobs = blobsOf(entry).map((digest) => ({ digest, file: source.blobFile(digest) }));
  const sizes = blobs.map(({ digest, file }) => {
    try {
      return statSync(file).size;
    } catch {
      throw new BadBlob(`blob ${digest.slice(0, 12)} is missing`);
    }
  });
  // A shared store gets no key parts (what each job's environment held): only the key names it.
  const { parts: _, ...shared } = entry;
  const header = new TextEncoder().encode(
    JSON.stringify({ entry: shared, blobs: blobs.map((b, i) => [b.digest, sizes[i]]) }),
  );
  const head = new Uint8Array(8 + header.length);
  head.set(MAGIC, 0);
  new DataView(head.buffer).setUint32(4, header.length);
  head.set(header, 8);
  return { head, blobs, size: sizes.reduce((n, k) => n + k, head.length) };
}

/** Calls `f` with each piece of the file at `path`, in order (a new array each time). */
function eachPiece(path: string, f: (piece: Uint8Array) => void): void {
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const piece = new Uint8Array(CHUNK);
      const n = readSync(fd, piece, 0, CHUNK, null);
      if (n <= 0) return;
      f(piece.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads every blob of `p` once: each checked against its digest (`BadBlob`
 * otherwise), and the body fed to `mac` when given (the signature).
 */
function checkPacked(p: Packed, mac: Hmac | null): void {
  mac?.update(p.head);
  for (const { digest, file } of p.blobs) {
    const h = createHash("sha256");
    eachPiece(file, (piece) => (h.update(piece), mac?.update(piece)));
    if (h.digest("hex") !== digest) throw new BadBlob(`blob ${digest.slice(0, 12)} is corrupt`);
  }
}

/** The body of `p` as a stream read from the files as it is sent (one piece in memory). */
function bodyOf(p: Packed): ReadableStream<Uint8Array> {
  let i = -1, fd = -1;
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      for (;;) {
        if (i === -1) return (i = 0, ctl.enqueue(p.head));
        if (i >= p.blobs.length) return ctl.close();
        if (fd < 0) fd = openSync(p.blobs[i].file, "r");
        const piece = new Uint8Array(CHUNK);
        const n = readSync(fd, piece, 0, CHUNK, null);
        if (n > 0) return ctl.enqueue(piece.subarray(0, n));
        closeSync(fd), fd = -1, i++;
      }
    },
    cancel() {
      if (fd >= 0) closeSync(fd);
    },
  });
}

/** Reads exactly `n` bytes at `at` of `fd`, or throws "truncated". */
function readAt(fd: number, at: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const k = readSync(fd, out, got, n - got, at + got);
    if (k <= 0) throw new RemoteError("artifact is truncated");
    got += k;
  }
  return out;
}

/** Bytes of a blob copied from the spool at once. */
const PIECE = 4 * 1024 * 1024;

/**
 * The `n` bytes at `at` of the spool `fd` into `keep`, a piece at a time,
 * kept only when they are the blob `digest` names (else `RemoteError`).
 */
function copyBlob(fd: number, at: number, n: number, digest: string, keep: KeepBlob): void {
  const w = keep.blobWriter();
  try {
    for (let done = 0; done < n;) {
      const piece = readAt(fd, at + done, Math.min(PIECE, n - done));
      w.write(piece);
      done += piece.length;
    }
    if (w.finish(digest).digest !== digest) {
      throw new RemoteError(`artifact blob ${String(digest).slice(0, 12)}: wrong digest`);
    }
  } finally {
    w.abort();
  }
}

/**
 * Unpacks an artifact spooled to the file `path`: its entry, and its blobs,
 * each copied to `keep` a piece at a time and checked against its digest
 * there (no blob is ever whole in memory); throws `RemoteError` on anything
 * wrong (blobs already kept are checked, content-addressed, harmless).
 */
export function unpackArtifact(
  path: string,
  key: string,
  keep: KeepBlob,
  maxHeaderBytes = MAX_HEADER_BYTES,
): Entry {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const magic = size >= 8 ? readAt(fd, 0, 8) : new Uint8Array(8);
    if (MAGIC.some((m, i) => magic[i] !== m)) {
      throw new RemoteError("artifact is not a jx artifact");
    }
    const len = new DataView(magic.buffer).getUint32(4);
    if (8 + len > size) throw new RemoteError("artifact is truncated");
    if (len > maxHeaderBytes) {
      throw new RemoteError(`artifact header is ${len} bytes, over the ${maxHeaderBytes} read`);
    }
    let head: { entry: Entry; blobs: [string, number][] };
    try {
      head = JSON.parse(new TextDecoder().decode(readAt(fd, 8, len)));
    } catch {
      throw new RemoteError("artifact header is not JSON");
    }
    // Any JSON at all may come (`null`, rows that are no pairs): all of it a lie, none a crash.
    const row = (r: unknown) => Array.isArray(r) && typeof r[0] === "string";
    if (
      typeof head !== "object" || head === null || !isEntry(head.entry) ||
      head.entry.key !== key || !Array.isArray(head.blobs) || !head.blobs.every(row)
    ) {
      throw new RemoteError("artifact header is not an entry for this key");
    }
    const listed = new Set(head.blobs.map(([d]) => d));
    for (const d of blobsOf(head.entry)) {
      if (!listed.has(d)) throw new RemoteError(`artifact lacks blob ${d.slice(0, 12)}`);
    }
    let at = 8 + len;
    for (const [d, n] of head.blobs) {
      if (!Number.isSafeInteger(n) || n < 0 || at + n > size) {
        throw new RemoteError("artifact is truncated");
      }
      copyBlob(fd, at, n, d, keep);
      at += n;
    }
    return head.entry;
  } finally {
    closeSync(fd);
  }
}

/** A Turborepo v8 remote cache. */
export class TurboStore implements RemoteStore {
  readonly label: string;
  constructor(private o: TurboOptions) {
    this.label = `turbo ${redactWholeUrl(o.base)}`;
  }

  private url(hash: string): string {
    return `${this.o.base.replace(/\/$/, "")}/v8/artifacts/${hash}?slug=${
      encodeURIComponent(this.o.team)
    }`;
  }

  private headers(): Record<string, string> {
    return this.o.token ? { authorization: `Bearer ${this.o.token}` } : {};
  }

  /** Checks the tag (`mac`: the HMAC of the body received) when a signature key is set. */
  private verify(mac: Hmac | null, tag: string | null): void {
    if (!mac) return;
    if (!tag) throw new RemoteError("artifact has no signature (x-artifact-tag)");
    const want = Buffer.from(mac.digest("base64"));
    const got = Buffer.from(tag);
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new RemoteError("artifact signature does not verify");
    }
  }

  private get maxEntryBytes(): number {
    return this.o.maxEntryBytes ?? MAX_ENTRY_BYTES;
  }

  /**
   * The artifact is spooled to a temporary file as it arrives (its HMAC
   * computed on the way; at most `maxEntryBytes`, within the time-out), its
   * signature checked, then unpacked blob by blob: never held whole in
   * memory.
   */
  get(key: string, keep: KeepBlob, stop?: AbortSignal): Promise<Entry | null> {
    return withDeadline(
      this.o.timeoutMs,
      "lookup",
      (d) => this.fetchArtifact(key, keep, d),
      stop,
    );
  }

  private async fetchArtifact(key: string, keep: KeepBlob, d: Deadline): Promise<Entry | null> {
    // Named as jx's temporary folders are: a jx killed meanwhile leaves it to the next one.
    const spool = `${tempPrefix("artifact")}${randomBytes(6).toString("hex")}`;
    const fd = openSync(spool, "wx", 0o600);
    const mac = this.o.signatureKey
      ? createHmac("sha256", this.o.signatureKey).update(key).update(this.o.team)
      : null;
    try {
      const what = `artifact ${key.slice(0, 12)}`;
      const r = await download(this.url(key), this.headers(), d, what, this.maxEntryBytes, (c) => {
        for (let w = 0; w < c.length;) w += writeSync(fd, c, w, c.length - w);
        mac?.update(c);
      });
      if (r.status === 404) return null;
      if (r.status !== 200) throw statusError("GET", r.status, "artifact");
      this.verify(mac, r.headers.get("x-artifact-tag"));
      return unpackArtifact(spool, key, keep, this.o.maxHeaderBytes);
    } finally {
      closeSync(fd);
      rmSync(spool, { force: true });
    }
  }

  /**
   * Uploads the artifact read from the local store's files: once to check
   * every blob (and sign the body), once more as the request body is sent;
   * never held whole in memory. One past `maxEntryBytes` is not uploaded.
   */
  async put(entry: Entry, blobs: BlobSource): Promise<void> {
    const packed = packArtifact(entry, blobs);
    checkEntrySize(`artifact ${entry.key.slice(0, 12)}`, packed.size, this.maxEntryBytes);
    const header = packed.head.length - 8, maxHeader = this.o.maxHeaderBytes ?? MAX_HEADER_BYTES;
    if (header > maxHeader) {
      throw new RemoteError(
        `artifact ${
          entry.key.slice(0, 12)
        }: a header of ${header} bytes, over the ${maxHeader} read`,
      );
    }
    const mac = this.o.signatureKey
      ? createHmac("sha256", this.o.signatureKey).update(entry.key).update(this.o.team)
      : null;
    checkPacked(packed, mac);
    const body = bodyOf(packed);
    const headers: Record<string, string> = {
      ...this.headers(),
      "content-type": "application/octet-stream",
      "content-length": String(packed.size),
      "x-artifact-duration": String(Math.round(entry.durationMs)),
      "x-artifact-client-ci": "jx",
    };
    if (mac) headers["x-artifact-tag"] = mac.digest("base64");
    const r = await withDeadline(
      this.o.timeoutMs,
      "PUT",
      (d) => request(this.url(entry.key), { method: "PUT", headers, body }, d),
    );
    if (r.status < 200 || r.status >= 300) throw statusError("PUT", r.status, "artifact");
  }
}
