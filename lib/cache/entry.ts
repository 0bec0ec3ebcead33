/**
 * A cache entry: what one successful run of a job left (its outputs, its
 * log, duration and exit), as stored in the local store and in a Turborepo
 * artifact; and the log's split into stdout/stderr blobs and back.
 *
 * @module
 */
import type { Output } from "./archive.ts";
import type { KeyParts } from "./key.ts";

/** One chunk of a job's output, as the reactor delivered it. */
export interface OutputChunk {
  /** Which stream. */
  stream: "stdout" | "stderr";
  /** The bytes. */
  chunk: Uint8Array;
}

/** The stored form of a job's log: one blob per stream, plus the order they interleaved in. */
export interface StoredLog {
  /** Digest of all stdout bytes, or null when there were none. */
  stdout: string | null;
  /** Digest of all stderr bytes, or null. */
  stderr: string | null;
  /** Runs of bytes in output order: [0 = stdout | 1 = stderr, length]. */
  order: [0 | 1, number][];
}

/** One stored result, addressed by its key. */
export interface Entry {
  /** Entry format. */
  v: 1;
  /** The key it is stored under. */
  key: string;
  /** The name of the job that stored it (for messages only). */
  job: string;
  /** When it was stored (ms since the epoch). */
  createdMs: number;
  /** The job's exit code (0: only successes are stored). */
  exit: number;
  /** How long the job ran (the time a restore saves). */
  durationMs: number;
  /** The job's outputs, parents first. */
  outputs: Output[];
  /** The job's log. */
  log: StoredLog;
  /** The key's parts (for `jx explain`), when the store keeps them. */
  parts?: KeyParts;
}

/** Every blob digest an entry needs. */
export function blobsOf(e: Entry): string[] {
  const out = new Set<string>();
  for (const o of e.outputs) if (o.kind === "file") out.add(o.digest);
  if (e.log.stdout) out.add(e.log.stdout);
  if (e.log.stderr) out.add(e.log.stderr);
  return [...out];
}

/** The parts as one array (the part itself when there is one). */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

/** Splits a log into its two streams' bytes and the interleaving order. */
export function splitLog(
  chunks: OutputChunk[],
): { stdout: Uint8Array; stderr: Uint8Array; order: [0 | 1, number][] } {
  const order: [0 | 1, number][] = [];
  const streams: Uint8Array[][] = [[], []];
  for (const { stream, chunk } of chunks) {
    if (!chunk.length) continue;
    const s = stream === "stderr" ? 1 : 0;
    streams[s].push(chunk);
    const last = order.at(-1);
    if (last && last[0] === s) last[1] += chunk.length;
    else order.push([s, chunk.length]);
  }
  return { stdout: concatBytes(streams[0]), stderr: concatBytes(streams[1]), order };
}

/**
 * The log as chunks again. With no order (a Bazel entry keeps none), all of
 * stdout, then all of stderr.
 */
export function joinLog(
  stdout: Uint8Array,
  stderr: Uint8Array,
  order: [0 | 1, number][],
): OutputChunk[] {
  const runs = order.length ? order : [[0, stdout.length], [1, stderr.length]] as [0 | 1, number][];
  const at = [0, 0];
  const out: OutputChunk[] = [];
  for (const [s, n] of runs) {
    const src = s ? stderr : stdout;
    if (n <= 0 || at[s] + n > src.length) continue;
    out.push({ stream: s ? "stderr" : "stdout", chunk: src.subarray(at[s], at[s] += n) });
  }
  return out;
}

/** A SHA-256 digest as hex, as blobs are named. */
const isDigest = (d: unknown): d is string => typeof d === "string" && /^[0-9a-f]{64}$/.test(d);
/** A whole number from 0 to `max`. */
const isCount = (n: unknown, max = Number.MAX_SAFE_INTEGER): n is number =>
  Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= max;
/** The longest run an entry may say it saved: a year (a larger figure is not believed). */
const MAX_DURATION_MS = 365 * 24 * 3600 * 1000;

/** Whether `o` has the shape of an `Output` of its kind (every field its kind needs, typed). */
function isOutput(o: unknown): o is Output {
  const x = o as Record<string, unknown>;
  if (!x || typeof x.path !== "string") return false;
  switch (x.kind) {
    case "file":
      return isCount(x.mode, 0o777) && isDigest(x.digest) && isCount(x.size);
    case "dir":
      return isCount(x.mode, 0o777);
    case "symlink":
      return typeof x.target === "string" && x.target !== "" && !x.target.includes("\0");
    default:
      return false;
  }
}

/** Whether `l` has the shape of a `StoredLog`. */
function isLog(l: unknown): l is StoredLog {
  const x = l as StoredLog;
  return !!x && (x.stdout === null || isDigest(x.stdout)) &&
    (x.stderr === null || isDigest(x.stderr)) && Array.isArray(x.order) &&
    x.order.every((r) => Array.isArray(r) && (r[0] === 0 || r[0] === 1) && isCount(r[1]));
}

/**
 * Whether `x` has the shape of an `Entry` (a store's bytes are not trusted):
 * every output well formed for its kind, an exit of 0 (only successes are
 * stored), a duration that can be believed.
 *
 * @example
 * ```ts
 * import { isEntry } from "./entry.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const e = {
 *   v: 1, key: "k", job: "a", createdMs: 0, exit: 0, durationMs: 5,
 *   outputs: [{ kind: "symlink", path: "out/x" }],
 *   log: { stdout: null, stderr: null, order: [] },
 * };
 * assertEquals(isEntry(e), false);
 * assertEquals(isEntry({ ...e, outputs: [{ kind: "symlink", path: "out/x", target: "y" }] }), true);
 * ```
 */
export function isEntry(x: unknown): x is Entry {
  const e = x as Entry;
  return !!e && e.v === 1 && typeof e.key === "string" && typeof e.job === "string" &&
    e.exit === 0 && typeof e.durationMs === "number" && e.durationMs >= 0 &&
    e.durationMs <= MAX_DURATION_MS && isLog(e.log) &&
    Array.isArray(e.outputs) && e.outputs.every(isOutput);
}
