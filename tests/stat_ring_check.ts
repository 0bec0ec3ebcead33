/**
 * Run by tests/stat_ring_test.ts (under Deno or Bun, with or without
 * JX_NO_IO_URING): stats a list of odd paths many times over through
 * `statEachUnder` and prints, as JSON, the method used and each result
 * (kind and stamp), for the test to compare runtimes and methods: `got`
 * with every batch through the ring (where one answers), `raced` with the
 * batches shared between the ring and the calls as a run shares them.
 */
import { fixStatWay, inDir, ST, statEachUnder, statMethod } from "../lib/state/stat.ts";

const dir = (globalThis as { Deno?: { args: string[] } }).Deno?.args[0] ??
  (globalThis as unknown as { process: { argv: string[] } }).process.argv[2];
const base = `${dir}/`;
const list = [
  "a.txt",
  "sub/b.txt",
  "sub",
  "sub/",
  "missing",
  "sub/missing/c",
  "link",
  "dangling",
  "loop",
  "x/".repeat(2500) + "a.txt", // past PATH_MAX
  "",
  `${base}a.txt`, // absolute
  "./a.txt",
  "sub/../a.txt",
  "ünï cödé.txt",
  "a.txt/",
];
// Enough for a ring (at least 512 paths), each list's results in order.
const paths: string[] = [];
for (let r = 0; r < 40; r++) paths.push(...list);
const enc = new TextEncoder();
const bytes = enc.encode(paths.join("\0") + "\0");
const starts = new Int32Array(paths.length);
for (let i = 1, off = 0; i < paths.length; i++) {
  off += enc.encode(paths[i - 1]).length + 1;
  starts[i] = off;
}
/** Each path's kind and stamp, in order. */
function statAll(): unknown[] {
  const got: unknown[] = [];
  inDir(base, () =>
    statEachUnder(base, bytes, starts, 0, paths.length, (i, kind) => {
      got[i] = kind === 0 ? [kind] : [kind, ST.size, ST.mtimeMs, ST.ino, ST.ctimeMs, ST.mtimeNsec];
      return true;
    }));
  return got;
}
const raced = statAll();
fixStatWay("ring");
const got = statAll();
// Cut short: `each` says stop at the fifth.
let seen = 0;
inDir(base, () => statEachUnder(base, bytes, starts, 0, paths.length, () => ++seen < 5));
console.log(JSON.stringify({ method: statMethod(), got, raced, seen }));
