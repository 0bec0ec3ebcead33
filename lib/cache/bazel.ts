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
import { digestOf } from "./archive.ts";
import type { Entry } from "./entry.ts";
import {
  type BlobSource,
  type KeepBlob,
  RemoteError,
  type RemoteStore,
  request,
  statusError,
} from "./http.ts";
import { type ActionResult, decodeActionResult, encodeActionResult } from "./proto.ts";

/** Settings of a Bazel HTTP cache. */
export interface BazelOptions {
  /** `http(s)://host:port[/prefix]`. */
  base: string;
  /** Bearer token, when the server wants one. */
  token?: string;
  /** HMAC key for the signature entry. */
  signatureKey?: string;
  /** Per-request time-out. */
  timeoutMs: number;
}

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
    this.label = `bazel ${o.base}`;
  }

  private url = (kind: "ac" | "cas", hash: string) =>
    `${this.o.base.replace(/\/$/, "")}/${kind}/${hash}`;
  private headers = (): Record<string, string> =>
    this.o.token ? { authorization: `Bearer ${this.o.token}` } : {};
  private sign = (key: string, ac: Uint8Array) =>
    createHmac("sha256", this.o.signatureKey!).update(key).update(ac).digest("hex");

  private async fetch(kind: "ac" | "cas", hash: string): Promise<Uint8Array | null> {
    const r = await request(
      this.url(kind, hash),
      { method: "GET", headers: this.headers() },
      this.o.timeoutMs,
    );
    if (r.status === 404) return null;
    if (r.status !== 200) throw statusError("GET", r.status, `/${kind}/${hash.slice(0, 12)}`);
    return r.body;
  }

  private async verify(key: string, ac: Uint8Array): Promise<void> {
    if (!this.o.signatureKey) return;
    const sig = await this.fetch("ac", signatureKeyOf(key));
    if (!sig) throw new RemoteError("action result has no signature");
    const want = Buffer.from(this.sign(key, ac)), got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new RemoteError("action result signature does not verify");
    }
  }

  async get(key: string, keep: KeepBlob): Promise<Entry | null> {
    const ac = await this.fetch("ac", key);
    if (!ac) return null;
    let result: ActionResult;
    try {
      result = decodeActionResult(ac);
    } catch (e) {
      throw new RemoteError(
        `/ac/${key.slice(0, 12)} is not an ActionResult: ${(e as Error).message}`,
      );
    }
    await this.verify(key, ac);
    const entry = fromActionResult(key, result);
    const kept = new Set<string>();
    const want = [...result.files.map((f) => f.digest), result.stdout, result.stderr];
    // One blob in memory at a time: each goes to `keep` (the local store) as it is checked.
    for (const d of want) {
      if (!d || kept.has(d.hash)) continue;
      const b = d.hash === EMPTY ? new Uint8Array() : await this.fetch("cas", d.hash);
      if (!b) throw new RemoteError(`/cas/${d.hash.slice(0, 12)} is missing`);
      if (b.length !== d.size || digestOf(b) !== d.hash) {
        throw new RemoteError(
          `/cas/${d.hash.slice(0, 12)}: wrong ${b.length !== d.size ? "size" : "digest"}`,
        );
      }
      keep(d.hash, b);
      kept.add(d.hash);
    }
    return entry;
  }

  private async putBlob(kind: "ac" | "cas", hash: string, body: Uint8Array): Promise<void> {
    const r = await request(
      this.url(kind, hash),
      { method: "PUT", headers: this.headers(), body },
      this.o.timeoutMs,
    );
    if (r.status < 200 || r.status >= 300) {
      throw statusError("PUT", r.status, `/${kind}/${hash.slice(0, 12)}`);
    }
  }

  async put(entry: Entry, blobs: BlobSource): Promise<void> {
    const sizes = new Map<string, number>();
    for (
      const d of new Set([
        ...entry.outputs.flatMap((o) => o.kind === "file" ? [o.digest] : []),
        entry.log.stdout,
        entry.log.stderr,
      ])
    ) {
      if (!d) continue;
      const b = blobs.readBlob(d); // one blob in memory at a time
      sizes.set(d, b.length);
      const head = await request(
        this.url("cas", d),
        { method: "HEAD", headers: this.headers() },
        this.o.timeoutMs,
      );
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
