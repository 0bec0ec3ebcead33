/**
 * `Watcher` without inotify: when the system gives no inotify instance (the
 * per-user limit reached), the session says so once and polls, rather than
 * ending with an error.
 */
import assert from "node:assert/strict";
import { parseJobsFile } from "../lib/graph/mod.ts";
import { createPortableReactor } from "../lib/reactor/mod.ts";
import { Watcher } from "../lib/watch/watch.ts";
import { sleep, tempDir } from "./helpers.ts";
import { okCycle } from "./watch_unit.ts";

Deno.test("watch: no inotify to be had: one line says so, and the session polls", async () => {
  const dir = await tempDir({ "in.txt": "0\n" });
  const graph = parseJobsFile("jobs:\n  a: { run: 'true', reads: [in.txt] }\n", `${dir}/jobs.yaml`);
  // The portable reactor on Deno watches no fd: Inotify refuses it, as it does when the
  // system has no instance left.
  const reactor = createPortableReactor();
  const said: string[] = [];
  const cycles: string[][] = [];
  const watcher = new Watcher({
    graph,
    selected: graph.jobs,
    baseDir: dir,
    reactor,
    debounceMs: 20,
    onBusy: "queue",
    poll: false,
    pollMs: 50,
    runCycle: (jobs, changed) => {
      cycles.push(changed);
      return okCycle(jobs);
    },
    say: (line) => said.push(line),
  });
  try {
    watcher.start();
    await sleep(200);
    await Deno.writeTextFile(`${dir}/in.txt`, "1\n");
    for (let i = 0; i < 1500 && cycles.length < 2; i++) await sleep(20);
    assert.deepEqual(cycles, [[], ["in.txt"]]);
    const warned = said.filter((l) => l.includes("no inotify"));
    assert.equal(warned.length, 1, said.join("\n"));
    assert.match(warned[0], /watching by polling every 50ms/);
  } finally {
    watcher.stop("SIGTERM");
    await watcher.done;
    reactor.close();
  }
});
