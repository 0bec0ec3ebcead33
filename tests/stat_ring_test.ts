/**
 * state/stat.ts `statEachUnder`: through an io_uring ring where the kernel
 * gives one, the same answers as one `statx` call per path, under Deno and
 * Bun, for odd paths (links, a loop, past PATH_MAX, absolute, empty, `..`).
 */
import assert from "node:assert/strict";
import { BUN, DENO, ROOT, tempDir } from "./helpers.ts";

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
