/**
 * A job's buffered output: in memory up to a cap, then spilled to a private
 * temporary file, so a job that writes gigabytes never grows jx's memory.
 *
 * @module
 */
import { nodeFs } from "../runtime/fs.ts";
import { removeStaleTemp, tempPrefix } from "../runtime/stale.ts";

/** Whether this process has looked for spilled output left by a killed jx. */
let scanned = false;

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
  private spill?: { dir: string; fd: number };
  /** Bytes pushed so far. */
  size = 0;
  /** The last byte pushed (10 for a newline), or -1. */
  lastByte = -1;

  push(chunk: Uint8Array): void {
    if (!chunk.length) return;
    this.size += chunk.length;
    this.lastByte = chunk[chunk.length - 1];
    if (!this.spill && this.held + chunk.length <= MEMORY_CAP) {
      // Copied (the reactor may reuse its buffer) into the room left in the last block, else a
      // new one: a job writing a byte at a time costs no array per chunk.
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
      return;
    }
    if (!this.spill) {
      const fs = nodeFs();
      if (!scanned) removeStaleTemp(); // also done when a jobserver pool is made
      scanned = true;
      // Named after this process, so that a later jx removes it if this one is killed.
      const dir = fs.mkdtempSync(tempPrefix("output"));
      this.spill = { dir, fd: fs.openSync(`${dir}/out`, "w+", 0o600) };
      for (const c of this.chunks) writeFully(this.spill.fd, c);
      this.chunks = [];
      this.held = 0;
    }
    writeFully(this.spill.fd, chunk);
  }

  /** Hands everything over, in order, in pieces of at most 1 MiB; then empties the buffer. */
  drain(write: (bytes: Uint8Array) => void): void {
    if (this.spill) {
      const buf = new Uint8Array(MEMORY_CAP);
      for (let pos = 0;;) {
        const n = nodeFs().readSync(this.spill.fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        write(buf.subarray(0, n));
        pos += n;
      }
    } else for (const c of this.chunks) write(c);
    this.dispose();
  }

  /** Forgets the output and removes the spill file. */
  dispose(): void {
    if (this.spill) {
      nodeFs().closeSync(this.spill.fd);
      nodeFs().rmSync(this.spill.dir, { recursive: true, force: true });
      this.spill = undefined;
    }
    this.chunks = [];
    this.held = 0;
    this.room = 0;
    this.size = 0;
    this.lastByte = -1;
  }
}

function writeFully(fd: number, data: Uint8Array): void {
  const fs = nodeFs();
  for (let off = 0; off < data.length;) off += fs.writeSync(fd, data, off);
}
