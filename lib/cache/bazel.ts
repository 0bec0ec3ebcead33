/**
 * The Bazel HTTP cache protocol: `PREFIX/ac/KEY` holds a REAPI `ActionResult`
 * protobuf (output files with digests, symlinks, stdout/stderr digests, exit
 * code, start/end times), `PREFIX/cas/SHA256` each blob once. What the
 * protocol cannot carry: mode bits other than the executable bit (files come
 * back 0755 or 0644), empty directories, and how stdout and stderr
 * interleaved (replayed stdout first). With a signature key, a second AC
 * entry at sha256("jx-signature\0" + KEY) holds the hex HMAC-SHA256(key, KEY
 * + ActionResult bytes); an entry whose signature does not verify is refused.
 *
 * @module
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";
import { statSync } from "node:fs";
import { digestOf } from "./archive.ts";
import { blobsOf, type Entry } from "./entry.ts";
import { BadBlob } from "./local.ts";
import {
  type BlobSource,
  checkEntrySize,
  type Deadline,
  download,
  getBody,
  type KeepBlob,
  MAX_ENTRY_BYTES,
  RemoteError,
  type RemoteStore,
  request,
  statusError,
  withDeadline,
} from "./http.ts";
import { redactWholeUrl } from "./flags.ts";
import { type ActionResult, decodeActionResult, type Digest, encodeActionResult } from "./proto.ts";

/** Settings of a Bazel HTTP cache. */
export interface BazelOptions {
  /** `http(s)://host:port[/prefix]`. */
  base: string;
  /** Bearer token, when the server wants one. */
  token?: string;
  /** HMAC key for the signature entry. */
  signatureKey?: string;
  /** How long one lookup (all its requests) or one upload request may take. */
  timeoutMs: number;
  /** The most bytes an entry's blobs may take together (default `MAX_ENTRY_BYTES`). */
  maxEntryBytes?: number;
}

/** The most bytes of an `ActionResult` read (4 MiB: some 30,000 output files). */
export const MAX_ACTION_RESULT_BYTES = 4 * 1024 * 1024;

/** The bytes of a signature entry: the hex of an HMAC-SHA256. */
const SIGNATURE_BYTES = 64;

const EMPTY = digestOf(new Uint8Array());

/** The AC key of an entry's signature. */
export const signatureKeyOf = (key: string): string =>
  createHash("sha256").update(`jx-signature\0${key}`).digest("hex");

/** An entry as an `ActionResult`. */
export function toActionResult(e: Entry, blobSize: (d: string) => number): ActionResult {
  const digest = (d: string | null) => d ? { hash: d, size: blobSize(d) } : undefined;
  return {
    files: e.outputs.flatMap((o) =>
      o.kind === "file"
        ? [{
          path: o.path,
          digest: { hash: o.digest, size: o.size },
          executable: (o.mode & 0o111) !== 0,
        }]
        : []
    ),
    symlinks: e.outputs.flatMap((o) =>
      o.kind === "symlink" ? [{ path: o.path, target: o.target }] : []
    ),
    exitCode: e.exit,
    stdout: digest(e.log.stdout),
    stderr: digest(e.log.stderr),
    startMs: e.createdMs - e.durationMs,
    endMs: e.createdMs,
  };
}

/** An `ActionResult` as an entry (files 0755 if executable, else 0644). */
export function fromActionResult(key: string, r: ActionResult): Entry {
  return {
    v: 1,
    key,
    job: "",
    createdMs: r.endMs ?? 0,
    exit: r.exitCode,
    durationMs: r.startMs !== undefined && r.endMs !== undefined
      ? Math.max(0, r.endMs - r.startMs)
      : 0,
    outputs: [
      ...r.files.map((f) => ({
        kind: "file" as const,
        path: f.path,
        mode: f.executable ? 0o755 : 0o644,
        digest: f.digest.hash,
        size: f.digest.size,
      })),
      ...r.symlinks.map((s) => ({ kind: "symlink" as const, path: s.path, target: s.target })),
    ],
    log: { stdout: r.stdout?.hash ?? null, stderr: r.stderr?.hash ?? null, order: [] },
  };
}

/** A Bazel HTTP remote cache (bazel-remote, nginx with WebDAV, ...). */
export class BazelStore implements RemoteStore {
  readonly label: string;
  constructor(private o: BazelOptions) {
    this.label = `bazel ${redactWholeUrl(o.base)}`;
  }

  private url = (kind: "ac" | "cas", hash: string) =>
    `${this.o.base.replace(/\/$/, "")}/${kind}/${hash}`;
  private headers = (): Record<string, string> =>
    this.o.token ? { authorization: `Bearer ${this.o.token}` } : {};
  private sign = (key: string, ac: Uint8Array) =>
    createHmac("sha256", this.o.signatureKey!).update(key).update(ac).digest("hex");

  private get maxEntryBytes(): number {
    return this.o.maxEntryBytes ?? MAX_ENTRY_BYTES;
  }

  /** The body at `/kind/hash` (at most `max` bytes), or null when the server has none. */
  private async fetch(
    kind: "ac" | "cas",
    hash: string,
    max: number,
    d: Deadline,
  ): Promise<Uint8Array | null> {
    const what = `/${kind}/${hash.slice(0, 12)}`;
    const r = await getBody(this.url(kind, hash), this.headers(), d, what, max);
    if (r.status === 404) return null;
    if (r.status !== 200) throw statusError("GET", r.status, what);
    return r.body;
  }

  private async verify(key: string, ac: Uint8Array, d: Deadline): Promise<void> {
    if (!this.o.signatureKey) return;
    const sig = await this.fetch("ac", signatureKeyOf(key), SIGNATURE_BYTES, d);
    if (!sig) throw new RemoteError("action result has no signature");
    const want = Buffer.from(this.sign(key, ac)), got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new RemoteError("action result signature does not verify");
    }
  }

  /**
   * The entry under `key`: its `ActionResult` (at most
   * `MAX_ACTION_RESULT_BYTES`), its signature, then its blobs, each read no
   * further than its digest's size. One deadline (`timeoutMs`) covers all
   * these requests: a slow server makes one lookup a miss, never files x
   * time-out.
   */
  get(key: string, keep: KeepBlob, stop?: AbortSignal): Promise<Entry | null> {
    return withDeadline(this.o.timeoutMs, "lookup", (d) => this.lookup(key, keep, d), stop);
  }

  private async lookup(key: string, keep: KeepBlob, d: Deadline): Promise<Entry | null> {
    const ac = await this.fetch("ac", key, MAX_ACTION_RESULT_BYTES, d);
    if (!ac) return null;
    let result: ActionResult;
    try {
      result = decodeActionResult(ac);
    } catch (e) {
      throw new RemoteError(
        `/ac/${key.slice(0, 12)} is not an ActionResult: ${(e as Error).message}`,
      );
    }
    const want = blobsWanted(result);
    checkEntrySize(
      `/ac/${key.slice(0, 12)}'s blobs`,
      want.reduce((n, b) => n + b.size, 0),
      this.maxEntryBytes,
    );
    await this.verify(key, ac, d);
    // No blob in memory: each is written to `keep` (the local store) as it comes, then checked.
    for (const b of want) await this.fetchBlob(b, keep, d);
    return fromActionResult(key, result);
  }

  /** One blob into `keep`, read no further than its size, kept only when its digest is right. */
  private async fetchBlob(want: Digest, keep: KeepBlob, d: Deadline): Promise<void> {
    const what = `/cas/${want.hash.slice(0, 12)}`;
    const w = keep.blobWriter();
    try {
      if (want.hash !== EMPTY) {
        const url = this.url("cas", want.hash);
        const r = await download(url, this.headers(), d, what, want.size, (c) => w.write(c));
        if (r.status === 404) throw new RemoteError(`${what} is missing`);
        if (r.status !== 200) throw statusError("GET", r.status, what);
      }
      const got = w.finish(want.hash);
      if (got.size !== want.size || got.digest !== want.hash) {
        throw new RemoteError(`${what}: wrong ${got.size !== want.size ? "size" : "digest"}`);
      }
    } finally {
      w.abort();
    }
  }

  /** One request of an upload, under a deadline of its own. */
  private send(method: string, url: string, body?: Uint8Array) {
    return withDeadline(
      this.o.timeoutMs,
      method,
      (d) => request(url, { method, headers: this.headers(), body }, d),
    );
  }

  private async putBlob(kind: "ac" | "cas", hash: string, body: Uint8Array): Promise<void> {
    const r = await this.send("PUT", this.url(kind, hash), body);
    if (r.status < 200 || r.status >= 300) {
      throw statusError("PUT", r.status, `/${kind}/${hash.slice(0, 12)}`);
    }
  }

  /**
   * Uploads the blobs the server lacks (`HEAD` first), one at a time, then
   * the signature and the `ActionResult`; an entry past the limit of a
   * remote entry is not uploaded (`RemoteError`).
   */
  async put(entry: Entry, blobs: BlobSource): Promise<void> {
    const digests = blobsOf(entry);
    checkEntrySize(
      `entry ${entry.key.slice(0, 12)}`,
      totalSize(digests, blobs),
      this.maxEntryBytes,
    );
    const sizes = new Map<string, number>();
    for (const d of digests) {
      const b = blobs.readBlob(d); // one blob in memory at a time
      sizes.set(d, b.length);
      const head = await this.send("HEAD", this.url("cas", d));
      if (head.status !== 200) await this.putBlob("cas", d, b);
    }
    const ac = encodeActionResult(toActionResult(entry, (d) => sizes.get(d) ?? 0));
    if (this.o.signatureKey) {
      const sig = new TextEncoder().encode(this.sign(entry.key, ac));
      await this.putBlob("ac", signatureKeyOf(entry.key), sig); // first: an AC entry never stands unsigned
    }
    await this.putBlob("ac", entry.key, ac);
  }
}

/**
 * The distinct blobs an `ActionResult` names (files, stdout, stderr), in
 * order; throws when one digest is given two sizes.
 */
function blobsWanted(r: ActionResult): Digest[] {
  const byHash = new Map<string, Digest>();
  for (const d of [...r.files.map((f) => f.digest), r.stdout, r.stderr]) {
    if (!d) continue;
    const seen = byHash.get(d.hash);
    if (seen && seen.size !== d.size) {
      throw new RemoteError(`/cas/${d.hash.slice(0, 12)} is listed with two sizes`);
    }
    byHash.set(d.hash, d);
  }
  return [...byHash.values()];
}

/** The bytes of the blobs `digests` in `source` together (`BadBlob` for a missing one). */
function totalSize(digests: string[], source: BlobSource): number {
  let total = 0;
  for (const d of digests) {
    try {
      total += statSync(source.blobFile(d)).size;
    } catch {
      throw new BadBlob(`blob ${d.slice(0, 12)} is missing`);
    }
  }
  return total;
}
