/**
 * A job's buffered output: in memory up to a cap, then spilled to a private
 * temporary file, so a job that writes gigabytes never grows jx's memory.
 * When that file cannot be made or written (a full `TMPDIR`), the rest is
 * held in memory: nothing is lost.
 *
 * @module
 */
import { nodeFs } from "../runtime/fs.ts";
import { removeStaleTemp, tempPrefix, tempRoot } from "../runtime/stale.ts";
import { ioReason } from "../runtime/errors.ts";
import { escapeControls, writeAll } from "../runtime/mod.ts";

/** Whether this process has looked for spilled output left by a killed jx. */
let scanned = false;
/** Whether this process said that it could not spill output (`cannotSpill`). */
let warnedSpill = false;

/** Small chunks are gathered in blocks of this many bytes. */
const BLOCK = 16 * 1024;

/** Bytes held in memory per job before spilling to disk. */
export const MEMORY_CAP = 1024 * 1024;

/**
 * Output kept for printing later, whole.
 *
 * @example
 * ```ts
 * import { OutputBuffer } from "./buffer.ts";
 * const b = new OutputBuffer();
 * b.push(new TextEncoder().encode("hello\n"));
 * b.drain((bytes) => console.log(new TextDecoder().decode(bytes)));
 * ```
 */
export class OutputBuffer {
  private chunks: Uint8Array[] = [];
  private held = 0;
  /** Bytes free after the last chunk, in the block it is a view of. */
  private room = 0;
  /** The temporary file past `MEMORY_CAP`: its folder, fd (-1 until open), bytes written. */
  private spill?: { dir: string; fd: number; size: number };
  /** A spill failed: the rest is held in memory (`cannotSpill`). */
  private unspilled = false;
  /** Bytes pushed so far. */
  size = 0;
  /** The last byte pushed (10 for a newline), or -1. */
  lastByte = -1;

  push(chunk: Uint8Array): void {
    if (!chunk.length) return;
    this.size += chunk.length;
    this.lastByte = chunk[chunk.length - 1];
    if (this.unspilled || (!this.spill && this.held + chunk.length <= MEMORY_CAP)) {
      return this.hold(chunk);
    }
    if (!this.spill && !this.startSpill()) return this.hold(chunk);
    this.toFile([chunk]);
  }

  /** Keeps a chunk in memory (copied: the reactor may reuse its buffer). */
  private hold(chunk: Uint8Array): void {
    // Into the room left in the last block, else a new one: a job writing a byte at a time
    // costs no array per chunk.
    const last = this.chunks.length ? this.chunks[this.chunks.length - 1] : undefined;
    if (last && this.room >= chunk.length) {
      const at = last.byteOffset + last.length;
      const grown = new Uint8Array(last.buffer, last.byteOffset, last.length + chunk.length);
      grown.set(chunk, at - last.byteOffset);
      this.chunks[this.chunks.length - 1] = grown;
      this.room -= chunk.length;
    } else if (chunk.length >= BLOCK) {
      this.chunks.push(chunk.slice());
      this.room = 0;
    } else {
      // As large as what is held (from 256 bytes): a job that writes little keeps little.
      const size = Math.min(BLOCK, Math.max(256, this.held, 2 * chunk.length));
      const block = new Uint8Array(size);
      block.set(chunk);
      this.chunks.push(block.subarray(0, chunk.length));
      this.room = size - chunk.length;
    }
    this.held += chunk.length;
  }

  /** Makes the spill file and moves what is held there: false when it cannot be made. */
  private startSpill(): boolean {
    const fs = nodeFs();
    if (!scanned) removeStaleTemp(); // also done when a jobserver pool is made
    scanned = true;
    try {
      // Named after this process, so that a later jx removes it if this one is killed.
      const dir = fs.mkdtempSync(tempPrefix("output"));
      this.spill = { dir, fd: -1, size: 0 };
      this.spill.fd = fs.openSync(`${dir}/out`, "w+", 0o600);
    } catch (e) {
      this.cannotSpill(e);
      return false;
    }
    const held = this.chunks;
    this.chunks = [];
    this.held = this.room = 0;
    this.toFile(held);
    return true;
  }

  /** Appends `list` to the spill file; from a write that fails on, the rest is held in memory. */
  private toFile(list: Uint8Array[]): void {
    const fs = nodeFs();
    for (const c of list) {
      let off = 0;
      try {
        while (!this.unspilled && off < c.length) off += fs.writeSync(this.spill!.fd, c, off);
      } catch (e) {
        this.cannotSpill(e);
      }
      this.spill!.size += off;
      if (off < c.length) this.hold(c.subarray(off));
    }
  }

  /**
   * The temporary file cannot be made or written (a full or read-only `TMPDIR`): what
   * follows is held in memory, nothing lost; said once per process.
   */
  private cannotSpill(e: unknown): void {
    this.unspilled = true;
    if (warnedSpill) return;
    warnedSpill = true;
    try {
      writeAll(
        2,
        `jx: warning: output held in memory: cannot spill it to ${escapeControls(tempRoot())}: ${
          ioReason(e)
        }\n`,
      );
    } catch { /* stderr cannot be written: the run says so */ }
  }

  /** Hands everything over, in order, in pieces of at most 1 MiB; then empties the buffer. */
  drain(write: (bytes: Uint8Array) => void): void {
    if (this.spill && this.spill.fd >= 0) {
      const buf = new Uint8Array(MEMORY_CAP);
      for (let pos = 0; pos < this.spill.size;) {
        const want = Math.min(buf.length, this.spill.size - pos);
        const n = nodeFs().readSync(this.spill.fd, buf, 0, want, pos);
        if (n <= 0) break;
        write(buf.subarray(0, n));
        pos += n;
      }
    }
    for (const c of this.chunks) write(c); // all of it, or what followed a failed spill
    this.dispose();
  }

  /** Forgets the output and removes the spill file. */
  dispose(): void {
    if (this.spill) {
      if (this.spill.fd >= 0) nodeFs().closeSync(this.spill.fd);
      nodeFs().rmSync(this.spill.dir, { recursive: true, force: true });
      this.spill = undefined;
    }
    this.unspilled = false;
    this.chunks = [];
    this.held = 0;
    this.room = 0;
    this.size = 0;
    this.lastByte = -1;
  }
}
