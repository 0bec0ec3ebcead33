/**
 * The few REAPI v2 messages the Bazel HTTP cache needs (`ActionResult`,
 * `OutputFile`, `OutputSymlink`, `Digest`, `ExecutedActionMetadata`,
 * `Timestamp`), encoded and decoded by hand. Field numbers follow
 * `build/bazel/remote/execution/v2/remote_execution.proto` (the checked
 * subset in the shared services notes).
 *
 * @module
 */

/** A content digest: SHA-256 hex and size in bytes. */
export interface Digest {
  /** Lowercase hex SHA-256. */
  hash: string;
  /** Size in bytes. */
  size: number;
}

/** An `ActionResult`, reduced to what jx writes and reads. */
export interface ActionResult {
  /** `output_files` (2): path, digest, executable bit. */
  files: { path: string; digest: Digest; executable: boolean }[];
  /** `output_symlinks` (12), or `output_file_symlinks` (10) from older writers. */
  symlinks: { path: string; target: string }[];
  /** `exit_code` (4). */
  exitCode: number;
  /** `stdout_digest` (6). */
  stdout?: Digest;
  /** `stderr_digest` (8). */
  stderr?: Digest;
  /** From `execution_metadata` (9): worker start/completed timestamps, in ms since the epoch. */
  startMs?: number;
  /** See `startMs`. */
  endMs?: number;
}

const te = new TextEncoder();
const td = new TextDecoder("utf-8", { fatal: true });

/** Appends protobuf fields to a growing byte list. */
class Writer {
  parts: number[] = [];
  varint(v: number): void {
    let n = BigInt(v);
    if (n < 0n) n += 1n << 64n; // int32/int64 negatives: ten bytes, two's complement
    do {
      const b = Number(n & 0x7fn);
      n >>= 7n;
      this.parts.push(n ? b | 0x80 : b);
    } while (n);
  }
  uint(field: number, v: number): void {
    if (v === 0) return; // proto3 default: not written
    this.varint(field << 3);
    this.varint(v);
  }
  bytes(field: number, b: Uint8Array): void {
    this.varint((field << 3) | 2);
    this.varint(b.length);
    for (const x of b) this.parts.push(x);
  }
  str(field: number, s: string): void {
    if (s) this.bytes(field, te.encode(s));
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Fields of one message: number to the list of raw values (varint as bigint, bytes). */
type Fields = Map<number, (bigint | Uint8Array)[]>;

/** Splits one message into its fields; throws on malformed input. */
export function readFields(buf: Uint8Array): Fields {
  const out: Fields = new Map();
  let i = 0;
  const varint = (): bigint => {
    let r = 0n, shift = 0n;
    for (;;) {
      if (i >= buf.length || shift > 63n) throw new Error("truncated varint");
      const b = buf[i++];
      r |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const tag = Number(varint());
    const field = tag >>> 3, wire = tag & 7;
    let v: bigint | Uint8Array;
    if (wire === 0) v = varint();
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new Error("truncated field");
      v = buf.subarray(i, i += len);
    } else if (wire === 1 || wire === 5) {
      const len = wire === 1 ? 8 : 4;
      if (i + len > buf.length) throw new Error("truncated field");
      v = buf.subarray(i, i += len);
    } else throw new Error(`unsupported wire type ${wire}`);
    if (!out.has(field)) out.set(field, []);
    out.get(field)!.push(v);
  }
  return out;
}

const one = (f: Fields, n: number) => f.get(n)?.at(-1);
const str = (f: Fields, n: number): string => {
  const v = one(f, n);
  return v instanceof Uint8Array ? td.decode(v) : "";
};
const num = (f: Fields, n: number): number => {
  const v = one(f, n);
  if (typeof v !== "bigint") return 0;
  return Number(BigInt.asIntN(64, v));
};
const msgs = (f: Fields, n: number): Fields[] =>
  (f.get(n) ?? []).filter((v): v is Uint8Array => v instanceof Uint8Array).map(readFields);

/** Encodes a `Digest`. */
export function encodeDigest(d: Digest): Uint8Array {
  const w = new Writer();
  w.str(1, d.hash);
  w.uint(2, d.size);
  return w.done();
}

function decodeDigest(f: Fields | undefined): Digest | undefined {
  if (!f) return undefined;
  const hash = str(f, 1);
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`bad digest hash '${hash}'`);
  return { hash, size: num(f, 2) };
}

function encodeTimestamp(ms: number): Uint8Array {
  const w = new Writer();
  w.uint(1, Math.floor(ms / 1000));
  w.uint(2, Math.round((ms % 1000) * 1e6));
  return w.done();
}

const decodeTimestamp = (f: Fields | undefined): number | undefined =>
  f ? num(f, 1) * 1000 + num(f, 2) / 1e6 : undefined;

/** Encodes an `ActionResult` (see the interface for the fields written). */
export function encodeActionResult(r: ActionResult): Uint8Array {
  const w = new Writer();
  for (const f of r.files) {
    const o = new Writer();
    o.str(1, f.path);
    o.bytes(2, encodeDigest(f.digest));
    o.uint(4, f.executable ? 1 : 0);
    w.bytes(2, o.done());
  }
  w.uint(4, r.exitCode);
  if (r.stdout) w.bytes(6, encodeDigest(r.stdout));
  if (r.stderr) w.bytes(8, encodeDigest(r.stderr));
  if (r.startMs !== undefined && r.endMs !== undefined) {
    const m = new Writer();
    m.str(1, "jx");
    m.bytes(3, encodeTimestamp(r.startMs));
    m.bytes(4, encodeTimestamp(r.endMs));
    w.bytes(9, m.done());
  }
  for (const field of [10, 12]) { // file symlinks (old readers), then output_symlinks
    for (const s of r.symlinks) {
      const o = new Writer();
      o.str(1, s.path);
      o.str(2, s.target);
      w.bytes(field, o.done());
    }
  }
  return w.done();
}

/** Decodes an `ActionResult`; throws on malformed bytes or digests. */
export function decodeActionResult(buf: Uint8Array): ActionResult {
  const f = readFields(buf);
  const files = msgs(f, 2).map((o) => {
    const digest = decodeDigest(msgs(o, 2)[0]);
    if (!digest) throw new Error("output file without a digest");
    return { path: str(o, 1), digest, executable: num(o, 4) !== 0 };
  });
  const modern = msgs(f, 12);
  const symlinks = (modern.length ? modern : msgs(f, 10)).map((o) => ({
    path: str(o, 1),
    target: str(o, 2),
  }));
  const meta = msgs(f, 9)[0];
  return {
    files,
    symlinks,
    exitCode: num(f, 4),
    stdout: decodeDigest(msgs(f, 6)[0]),
    stderr: decodeDigest(msgs(f, 8)[0]),
    startMs: meta ? decodeTimestamp(msgs(meta, 3)[0]) : undefined,
    endMs: meta ? decodeTimestamp(msgs(meta, 4)[0]) : undefined,
  };
}
