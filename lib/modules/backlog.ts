/**
 * The messages written to a module's stdin that its pipe has not wholly
 * taken yet: jx holds their bytes (`ChildHandle.stdinPending`), and counts
 * them as queued, as a publish's reply said they were.
 *
 * @module
 */

/**
 * The sizes of the last messages written, in order, of which the pending
 * bytes are the tail: a message is held while any of its bytes are.
 *
 * @example
 * ```ts
 * import { PipeBacklog } from "./backlog.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const b = new PipeBacklog();
 * b.add(10);
 * b.add(10);
 * b.add(10);
 * assertEquals(b.count(25), 3); // the first one's last 5 bytes are still held
 * assertEquals(b.count(20), 2);
 * assertEquals(b.count(0), 0);
 * ```
 */
export class PipeBacklog {
  private sizes: number[] = [];
  private head = 0;
  /** The sum of `sizes` from `head` on. */
  private bytes = 0;

  /** Notes a message of `size` bytes written after the others. */
  add(size: number): void {
    this.sizes.push(size);
    this.bytes += size;
  }

  /** How many messages are held (wholly or in part) while `pending` bytes are; forgets the others. */
  count(pending: number): number {
    if (pending <= 0) {
      this.clear();
      return 0;
    }
    while (this.head < this.sizes.length && this.bytes - this.sizes[this.head] >= pending) {
      this.bytes -= this.sizes[this.head++];
    }
    if (this.head > 1024 && this.head * 2 > this.sizes.length) {
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    return this.sizes.length - this.head;
  }

  /** Forgets every message. */
  clear(): void {
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
  }
}
