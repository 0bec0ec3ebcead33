/**
 * A binary min-heap of numbers: the ready queue, ordered by file position.
 *
 * @module
 */

/**
 * Min-heap of non-negative integers.
 *
 * @example
 * ```ts
 * import { MinHeap } from "./heap.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const h = new MinHeap();
 * h.push(3); h.push(1);
 * assertEquals(h.pop(), 1);
 * ```
 */
export class MinHeap {
  private a: number[] = [];

  get size(): number {
    return this.a.length;
  }

  push(v: number): void {
    const a = this.a;
    a.push(v);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (a[p] <= a[i]) break;
      // A swap through a local: a destructuring swap allocates when not optimized.
      const x = a[p];
      a[p] = a[i];
      a[i] = x;
      i = p;
    }
  }

  /** The least value, left in the heap. */
  peek(): number | undefined {
    return this.a[0];
  }

  pop(): number | undefined {
    const a = this.a;
    if (!a.length) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      for (let i = 0;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        const x = a[m];
        a[m] = a[i];
        a[i] = x;
        i = m;
      }
    }
    return top;
  }
}
