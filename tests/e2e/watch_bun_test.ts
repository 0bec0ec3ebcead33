/**
 * `jx watch` on Bun (`bun cli.ts watch`) with inotify, through the portable
 * reactor's `watch` (an epoll set waited on in a Worker): no polling
 * fallback, each editor save pattern causes exactly one rerun of exactly
 * the affected jobs, Ctrl-C ends it. The rerun sets come from the event log.
 */
import assert from "node:assert/strict";
import { eachSaveRerunsOnce, jobsDir, SAVES, Session } from "./watch_helpers.ts";

/** The save patterns of `SAVES` but truncate-then-write, which only the Deno suite runs. */
const SAVES_ON_BUN = Object.fromEntries(
  Object.entries(SAVES).filter(([name]) => name !== "truncate then write"),
);

Deno.test("watch [bun]: inotify, not polling; each save reruns exactly the affected jobs, once", async () => {
  const dir = await jobsDir();
  // A debounce well past the 20 ms inside a delete-and-recreate save: CI once saw that save take
  // past the default 100 ms on a loaded machine (two reruns, each right for what it saw).
  const w = new Session("bun", dir, { args: ["--debounce", "400ms"], env: { MAKEFLAGS: "" } });
  try {
    await w.cycles(1);
    assert.deepEqual(await w.ranIn(0), ["both", "lower", "upper"]);
    let n = await eachSaveRerunsOnce(w, dir, SAVES_ON_BUN, 800);
    await Deno.writeTextFile(`${dir}/src/b.txt`, "Bee\n");
    await w.cycles(++n);
    assert.deepEqual(await w.ranIn(n - 1), ["both", "lower"]);
    assert.equal(await Deno.readTextFile(`${dir}/out/ab`), "RECREATED\nbee\n");
  } finally {
    const s = await w.stop();
    assert.equal(s.code, 130, s.stderr);
    assert.doesNotMatch(s.stderr, /polling/, "inotify was used");
  }
});

Deno.test("watch [bun]: an edit of the jobs file is loaded, and its jobs run", async () => {
  const jobs = `jobs:\n  say: { run: "echo OLD >> log.txt", reads: [in.txt] }\n`;
  const dir = await jobsDir();
  await Deno.writeTextFile(`${dir}/jobs.yaml`, jobs);
  await Deno.writeTextFile(`${dir}/in.txt`, "0\n");
  const w = new Session("bun", dir, { env: { MAKEFLAGS: "" } });
  try {
    await w.cycles(1);
    await Deno.writeTextFile(`${dir}/jobs.yaml`, jobs.replace("OLD", "NEW"));
    await w.cycles(2);
    await Deno.writeTextFile(`${dir}/in.txt`, "1\n");
    const ev = await w.cycles(3);
    assert.equal(await Deno.readTextFile(`${dir}/log.txt`), "OLD\nNEW\nNEW\n");
    assert.equal(ev.filter((e) => e.type === "watch.reload").length, 1);
  } finally {
    const s = await w.stop();
    assert.equal(s.code, 130, s.stderr);
  }
});
