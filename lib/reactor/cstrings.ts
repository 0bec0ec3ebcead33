/**
 * The C strings of `posix_spawnp`'s argv and environment for the epoll
 * reactor, kept in one slab from one spawn to the next.
 *
 * @module
 */

import { inheritedBytes } from "../runtime/mod.ts";
import { encodeBytes, RAW_BYTE } from "../runtime/utf8.ts";

/**
 * The C strings of `posix_spawnp`'s argv and environment, kept in one slab
 * from one spawn to the next: a job's environment differs from the last
 * one's in a variable or two (`JX_JOB`), so most strings are encoded once.
 * When the slab is full, a new one starts (a spawn in flight keeps the old
 * one alive).
 */
export class CStrings {
  /** The current slab (a spawn in flight keeps it alive). */
  slab = new Uint8Array(0);
  private base = 0;
  private used = 0;
  /** Per variable name: the value encoded, and where. */
  private env = new Map<string, { value: string; at: number }>();
  /** argv words encoded, and where. */
  private words = new Map<string, number>();
  /** argv then envp, each NULL-terminated, as 64-bit pointers in two 32-bit halves. */
  private ptrs = new Uint32Array(512);
  private enc = new TextEncoder();

  constructor(private address: (b: Uint8Array) => number) {
    this.fresh(256 * 1024);
  }

  private fresh(size: number): void {
    this.slab = new Uint8Array(size);
    this.base = this.address(this.slab);
    this.used = 0;
    this.env.clear();
    this.words.clear();
  }

  /**
   * Encodes `s` and a NUL; its address, or -1 when it may not fit. A variable jx inherited that
   * is not UTF-8, passed on unchanged, is written as the bytes jx got.
   */
  private add(s: string, isEnv = false): number {
    if (s.length * 3 + 1 > this.slab.length - this.used) return -1;
    // A variable jx inherited that is not UTF-8, or a character that stands for such a byte.
    const raw = (isEnv ? inheritedBytes(s) : undefined) ??
      (RAW_BYTE.test(s) ? encodeBytes(s) : undefined);
    if (raw) this.slab.set(raw, this.used);
    const written = raw?.length ?? this.enc.encodeInto(s, this.slab.subarray(this.used)).written;
    this.slab[this.used + written] = 0;
    const at = this.base + this.used;
    this.used += written + 1;
    return at;
  }

  private put(i: number, at: number): void {
    this.ptrs[2 * i] = at % 4294967296;
    this.ptrs[2 * i + 1] = Math.floor(at / 4294967296);
  }

  private fill(argv: string[], env: Record<string, string>): number {
    let n = argv.length + 2;
    for (const _ in env) n++;
    if (this.ptrs.length < 2 * n) this.ptrs = new Uint32Array(4 * n);
    let i = 0;
    for (const w of argv) {
      let at = this.words.get(w);
      if (at === undefined) {
        if ((at = this.add(w)) < 0) return -1;
        this.words.set(w, at);
      }
      this.put(i++, at);
    }
    this.put(i++, 0);
    for (const k in env) {
      const value = env[k];
      let e = this.env.get(k);
      if (e === undefined || e.value !== value) {
        const at = this.add(k + "=" + value, true);
        if (at < 0) return -1;
        this.env.set(k, e = { value, at });
      }
      this.put(i++, e.at);
    }
    this.put(i++, 0);
    return argv.length + 1;
  }

  /** argv and envp for `posix_spawnp`, valid until the next call. */
  arrays(argv: string[], env: Record<string, string>): { argv: Uint32Array; envp: Uint32Array } {
    let split = this.fill(argv, env);
    if (split < 0) {
      let size = 0;
      for (const w of argv) size += w.length * 3 + 1;
      for (const k in env) size += (k.length + env[k].length) * 3 + 2;
      this.fresh(Math.max(256 * 1024, 2 * size));
      split = this.fill(argv, env);
    }
    let n = split;
    for (const _ in env) n++;
    return {
      argv: this.ptrs.subarray(0, 2 * split),
      envp: this.ptrs.subarray(2 * split, 2 * (n + 1)),
    };
  }
}
