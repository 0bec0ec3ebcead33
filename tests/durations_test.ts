/**
 * `.jx/durations.json`: a run of a few jobs (a partial run after an edit)
 * looks their entries up in the text and puts its own in, without parsing
 * or writing again the entries of every other job; the result is the file
 * a full merge would write.
 */
import assert from "node:assert/strict";
import { DurationRecorder, lastDurations } from "../lib/cli/durations.ts";
import type { JobSpec } from "../lib/graph/mod.ts";
import type { RunEvent } from "../lib/scheduler/events.ts";

// Cast: only the name is read.
const spec = (name: string) => ({ name }) as unknown as JobSpec;
const ended = (job: string, ms: number): RunEvent => ({
  type: "job.end",
  t: 0,
  job,
  status: "ok",
  exit: 0,
  ms,
  attempt: 1,
} as unknown as RunEvent); // Cast: the fields the recorder reads

Deno.test("durations: a few jobs of many, looked up and merged in the text", () => {
  const dir = Deno.makeTempDirSync({ prefix: "jx-test-" });
  Deno.mkdirSync(`${dir}/.jx`, { mode: 0o700 });
  const file = `${dir}/.jx/durations.json`;
  const all: Record<string, number> = {};
  for (let i = 0; i < 500; i++) all[`j${i}`] = i * 10;
  Deno.writeTextFileSync(file, JSON.stringify(all) + "\n");
  assert.deepEqual(
    lastDurations(dir, ["j5", "j499", "nope", "j0", "j4"].map(spec)),
    new Map([["j5", 50], ["j499", 4990], ["j0", 0], ["j4", 40]]),
  );
  const r = new DurationRecorder(dir);
  r.event(ended("j5", 1234.4));
  r.event(ended("ns:new", 7));
  r.close();
  all.j5 = 1234;
  all["ns:new"] = 7;
  assert.equal(Deno.readTextFileSync(file), JSON.stringify(all) + "\n");
  // Written by hand (spaces): parsed whole, and written back as jx writes it.
  Deno.writeTextFileSync(file, '{ "slow": 4000, "j1" : 5 }\n');
  assert.deepEqual(
    lastDurations(dir, [spec("slow"), spec("j1")]),
    new Map([["slow", 4000], ["j1", 5]]),
  );
  const w = new DurationRecorder(dir);
  w.event(ended("j1", 6));
  w.close();
  assert.equal(Deno.readTextFileSync(file), '{"slow":4000,"j1":6}\n');
  Deno.writeTextFileSync(file, "{}\n");
  const e = new DurationRecorder(dir);
  e.event(ended("a", 3));
  e.close();
  assert.equal(Deno.readTextFileSync(file), '{"a":3}\n');
  Deno.removeSync(dir, { recursive: true });
});
