/**
 * A state log for the partial read's tests (tests/state_test.ts on Deno,
 * tests/bun/state_find_check.ts on Bun): long and short lines (some past a
 * 64 KB chunk), names with multi-byte characters, damaged lines, a torn
 * last line; and the check that a partial read of random sets of jobs
 * finds the rows the full read finds. No runtime global: both runtimes
 * load it.
 */
import { StateStore } from "../lib/state/store.ts";

/** The log's text (for `.jx/state.ndjson`) from a seeded generator. */
export function stateLogText(rand: (n: number) => number): string {
  const row = (job: string, fp: string) => JSON.stringify([job, fp, 0]);
  const lines = [row("first-only", "0")];
  for (let i = 0; i < 12_000; i++) {
    const job = rand(5) ? `j${rand(3000)}` : `é${rand(50)}ü`;
    const pad = rand(300) === 0 ? "x".repeat(70_000) : "p".repeat(rand(200));
    lines.push(rand(40) ? row(job, `${i}-${pad}`) : `["${job}", ${i} #damaged`);
  }
  return lines.join("\n") + "\n" + `["j1","torn`; // a killed run's last line
}

/**
 * The first difference between partial reads of the log in `dir` (20
 * random sets of jobs, then the first line's job) and its full read, or
 * undefined.
 */
export function partialReadDifference(
  dir: string,
  rand: (n: number) => number,
): string | undefined {
  const full = new StateStore(dir, () => {});
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (let round = 0; round < 20; round++) {
    const want = new Set(
      Array.from({ length: 1 + rand(5) }, () => rand(3) ? `j${rand(3100)}` : `é${rand(60)}ü`),
    );
    const few = new StateStore(dir, () => {}, want);
    const expected = [...want].filter((j) => full.rows.has(j)).sort();
    const got = [...few.rows.keys()].sort();
    if (!same(got, expected)) return `round ${round}: ${got} != ${expected}`;
    for (const j of expected) if (!same(few.rows.get(j), full.rows.get(j))) return `row of ${j}`;
  }
  // The first line, found by reading back to the file's start.
  const first = new StateStore(dir, () => {}, new Set(["first-only"])).rows.get("first-only");
  return first?.[1] === "0" ? undefined : "the first line";
}

/** A seeded generator of integers below `n`. */
export function seeded(seed: number): (n: number) => number {
  return (n) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
}
