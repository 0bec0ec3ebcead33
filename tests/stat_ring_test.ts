/**
 * state/stat.ts `statEachUnder`: through an io_uring ring where the kernel
 * gives one, the same answers as one `statx` call per path, under Deno and
 * Bun, for odd paths (links, a loop, past PATH_MAX, absolute, empty, `..`);
 * and how a run chooses between the ring and the calls (`StatPace`).
 */
import assert from "node:assert/strict";
import { BUN, DENO, ROOT, tempDir } from "./helpers.ts";
import { StatPace } from "../lib/state/stat_pace.ts";

async function check(cmd: string, args: string[], dir: string, env: Record<string, string> = {}) {
  const p = await new Deno.Command(cmd, {
    args: [...args, `${ROOT}/tests/stat_ring_check.ts`, dir],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(p.code, 0, new TextDecoder().decode(p.stderr));
  return JSON.parse(new TextDecoder().decode(p.stdout));
}

Deno.test("statEachUnder: a ring's answers are the calls', on Deno and Bun, for odd paths", async () => {
  const dir = await tempDir({ "a.txt": "a", "sub/b.txt": "bb", "ünï cödé.txt": "ccc" });
  try {
    await Deno.symlink("a.txt", `${dir}/link`);
    await Deno.symlink("nowhere", `${dir}/dangling`);
    await Deno.symlink("loop", `${dir}/loop`);
    const ring = await check(DENO, ["run", "-A", "--quiet"], dir);
    const calls = await check(DENO, ["run", "-A", "--quiet"], dir, { JX_NO_IO_URING: "1" });
    const bun = await check(BUN, [], dir);
    const bunCalls = await check(BUN, [], dir, { JX_NO_IO_URING: "1" });
    assert.equal(calls.method, "statx");
    // Where the kernel offers io_uring (5.6 and later, not disabled), the ring answered.
    const disabled = await Deno.readTextFile("/proc/sys/kernel/io_uring_disabled").catch(() => "");
    if (disabled.trim() === "0") assert.equal(ring.method, "io_uring");
    assert.deepEqual(ring.got, calls.got);
    // Shared between the ring and the calls (a run's first batches go both ways): the same.
    assert.deepEqual([ring.raced, bun.raced], [calls.got, calls.got]);
    assert.deepEqual(bun.got, calls.got);
    assert.deepEqual(bunCalls.got, calls.got);
    assert.deepEqual([bun.method, bunCalls.method], [ring.method, "statx"]);
    assert.deepEqual([ring.seen, calls.seen, bun.seen], [5, 5, 5]);
    // FILE 1, DIR 2, absent 0: a.txt, sub/b.txt, sub, sub/, missing, sub/missing/c, link, dangling,
    // loop, past PATH_MAX, "" (the folder itself), absolute, ./a.txt, sub/../a.txt, unicode, a.txt/.
    assert.deepEqual(
      calls.got.slice(0, 16).map((r: number[]) => r[0]),
      [1, 1, 2, 2, 0, 0, 1, 0, 0, 0, 2, 1, 1, 1, 1, 0],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StatPace: both ways warmed, timed in turn, then the faster kept; a fixed way never races", () => {
  const ways = (pace: StatPace, ringMs: number, callMs: number, batches = 9) => {
    const out: string[] = [];
    for (let b = 0; b < batches; b++) {
      const ring = pace.viaRing();
      out.push(ring ? "r" : "c");
      pace.took(ring, ring ? ringMs : callMs, 256);
    }
    return out.join("");
  };
  assert.equal(ways(new StatPace(), 1, 2), "rcrcrcrrr");
  assert.equal(ways(new StatPace(), 3, 2), "rcrcrcccc");
  // The untimed warm-up batches do not count: a slow first ring batch decides nothing.
  const slowStart = new StatPace();
  slowStart.took(true, 500, 256);
  assert.equal(ways(slowStart, 1, 2, 8), "crcrcrrr");
  assert.equal(ways(new StatPace("calls"), 1, 2, 4), "cccc");
  assert.equal(ways(new StatPace("ring"), 3, 2, 4), "rrrr");
});
