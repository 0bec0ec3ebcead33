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

/** A field's raw value: a varint as a bigint, else its bytes (length-delimited, fixed64, fixed32). */
type Raw = bigint | Uint8Array;

/** The highest field number protobuf allows. */
const MAX_FIELD = 2n ** 29n - 1n;

/**
 * Calls `f` with the number and raw value of each field of one message, in
 * order. Nothing is kept here, so fields a decoder does not ask for cost
 * nothing however many there are. Throws on malformed input: a field number
 * 0 or past 2^29-1, a wire type jx does not read (groups), a truncated
 * varint or field.
 */
export function eachField(buf: Uint8Array, f: (field: number, v: Raw) => void): void {
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
  const take = (len: bigint): Uint8Array => {
    if (len > BigInt(buf.length - i)) throw new Error("truncated field");
    return buf.subarray(i, i += Number(len));
  };
  while (i < buf.length) {
    const tag = varint();
    const field = tag >> 3n, wire = Number(tag & 7n);
    if (field === 0n || field > MAX_FIELD) throw new Error(`bad field number ${field}`);
    let v: Raw;
    if (wire === 0) v = varint();
    else if (wire === 2) v = take(varint());
    else if (wire === 1) v = take(8n);
    else if (wire === 5) v = take(4n);
    else throw new Error(`unsupported wire type ${wire}`);
    f(Number(field), v);
  }
}

/** The last value of each of the fields `wanted` of one message (the others skipped). */
function lastOf(buf: Uint8Array, wanted: readonly number[]): Map<number, Raw> {
  const out = new Map<number, Raw>();
  eachField(buf, (n, v) => wanted.includes(n) && out.set(n, v));
  return out;
}

/** A length-delimited value, or undefined (absent, or of another wire type). */
const bytesOf = (v: Raw | undefined): Uint8Array | undefined =>
  v instanceof Uint8Array ? v : undefined;
/** A string field ("" when absent). */
const textOf = (v: Raw | undefined): string => v instanceof Uint8Array ? td.decode(v) : "";
/** An int32/int64 field (0 when absent). */
const intOf = (v: Raw | undefined): number =>
  typeof v === "bigint" ? Number(BigInt.asIntN(64, v)) : 0;

/** Encodes a `Digest`. */
export function encodeDigest(d: Digest): Uint8Array {
  const w = new Writer();
  w.str(1, d.hash);
  w.uint(2, d.size);
  return w.done();
}

/** A `Digest`, or undefined when absent; throws on a bad hash or size. */
function decodeDigest(buf: Uint8Array | undefined): Digest | undefined {
  if (!buf) return undefined;
  const f = lastOf(buf, [1, 2]);
  const hash = textOf(f.get(1)), size = intOf(f.get(2));
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`bad digest hash '${hash}'`);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`bad digest size ${size}`);
  return { hash, size };
}

function encodeTimestamp(ms: number): Uint8Array {
  const w = new Writer();
  w.uint(1, Math.floor(ms / 1000));
  w.uint(2, Math.round((ms % 1000) * 1e6));
  return w.done();
}

/** A `Timestamp` in ms since the epoch, or undefined when absent. */
function decodeTimestamp(buf: Uint8Array | undefined): number | undefined {
  if (!buf) return undefined;
  const f = lastOf(buf, [1, 2]);
  return intOf(f.get(1)) * 1000 + intOf(f.get(2)) / 1e6;
}

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

/** An `OutputFile`: path, digest (required), executable bit. */
function decodeOutputFile(buf: Uint8Array): ActionResult["files"][number] {
  const f = lastOf(buf, [1, 2, 4]);
  const digest = decodeDigest(bytesOf(f.get(2)));
  if (!digest) throw new Error("output file without a digest");
  return { path: textOf(f.get(1)), digest, executable: intOf(f.get(4)) !== 0 };
}

/** An `OutputSymlink`: path and target. */
function decodeSymlink(buf: Uint8Array): ActionResult["symlinks"][number] {
  const f = lastOf(buf, [1, 2]);
  return { path: textOf(f.get(1)), target: textOf(f.get(2)) };
}

/**
 * Decodes an `ActionResult`; throws on malformed bytes or digests. Each
 * output is decoded as it is met; fields jx does not read are skipped.
 */
export function decodeActionResult(buf: Uint8Array): ActionResult {
  const files: ActionResult["files"] = [];
  const symlinks: Record<10 | 12, ActionResult["symlinks"]> = { 10: [], 12: [] };
  const last = new Map<number, Raw>();
  eachField(buf, (n, v) => {
    if (n === 2 && v instanceof Uint8Array) files.push(decodeOutputFile(v));
    else if ((n === 10 || n === 12) && v instanceof Uint8Array) symlinks[n].push(decodeSymlink(v));
    else if (n === 4 || n === 6 || n === 8 || n === 9) last.set(n, v);
  });
  const meta = bytesOf(last.get(9));
  const times = meta ? lastOf(meta, [3, 4]) : undefined;
  return {
    files,
    symlinks: symlinks[12].length ? symlinks[12] : symlinks[10],
    exitCode: intOf(last.get(4)),
    stdout: decodeDigest(bytesOf(last.get(6))),
    stderr: decodeDigest(bytesOf(last.get(8))),
    startMs: times ? decodeTimestamp(bytesOf(times.get(3))) : undefined,
    endMs: times ? decodeTimestamp(bytesOf(times.get(4))) : undefined,
  };
}
