/**
 * The job slots jx takes from the make that runs it, in the cases the main
 * suite (jobserver_test.ts) does not cover: `make -j1`, which names no pool.
 */
import assert from "node:assert/strict";
import { readEvents, ROOT, tempDir } from "../helpers.ts";
import { make } from "./jobserver_helpers.ts";

const JX = `${ROOT}/bin/jx`;

Deno.test("jobserver client: make -j1 (MAKEFLAGS ' -j1', no pool) runs jx at -j1, as a sub-make; jx's own -j still wins", async () => {
  const dir = await tempDir({
    "Makefile": `all:\n\t+@${JX} run $(J) --events ev.ndjson --output quiet\n`,
    "jobs.yaml": "jobs:\n  a: { run: 'true' }\n  b: { run: 'true' }\n",
  });
  for (const [args, slots] of [[["-j1"], 1], [["-j1", "J=-j3"], 3]] as const) {
    const r = await make([...args], dir);
    assert.equal(r.code, 0, r.text);
    assert.doesNotMatch(r.text, /warning/);
    const start = (await readEvents(`${dir}/ev.ndjson`))[0];
    assert.equal(start.slots, slots, args.join(" "));
  }
});
