/**
 * `CacheRunner` alone, with a scripted inner runner and a remote store whose
 * answers the test releases: a job stopped while its key is looked up ends
 * at once (a slow server never holds up Ctrl-C), and the late answer is
 * ignored; a miss runs the job and stores it; a hit restores without the
 * inner runner; jobs the cache never takes are passed through.
 */
import assert from "node:assert/strict";
import { Cache, CacheRunner, type Entry, LocalStore, type RemoteStore } from "../lib/cache/mod.ts";
import { type JobSpec, parseJobsFile, startArgv } from "../lib/graph/mod.ts";
import type { RunnerEnd, RunRequest, RunSink } from "../lib/scheduler/runner.ts";
import type { Runner } from "../lib/scheduler/mod.ts";
import { tempDir } from "./helpers.ts";

/** An inner runner that "runs" a job by writing its output file and exiting 0. */
function scriptedInner(dir: string) {
  const started: string[] = [];
  const runner: Runner = {
    name: "scripted",
    limit: 4,
    reserve: () => "ok",
    release() {},
    start(req: RunRequest, sink: RunSink) {
      started.push(req.spec.name);
      Deno.mkdirSync(`${dir}/out`, { recursive: true });
      Deno.writeTextFileSync(`${dir}/out/${req.spec.name}`, "made\n");
      sink.started(123);
      sink.output("stdout", new TextEncoder().encode(`ran ${req.spec.name}\n`));
      sink.ended({ kind: "exited", status: { code: 0, signal: null } });
      return { signal() {} };
    },
  };
  return { runner, started };
}

function collect() {
  const got: { out: string; ends: RunnerEnd[]; pids: number[] } = { out: "", ends: [], pids: [] };
  let done!: () => void;
  const ended = new Promise<void>((r) => done = r);
  const sink: RunSink = {
    started: (pid) => got.pids.push(pid),
    output: (_s, chunk) => got.out += new TextDecoder().decode(chunk),
    ended: (e) => {
      got.ends.push(e);
      done();
    },
  };
  return { got, sink, ended };
}

/** One first attempt of `spec`, as the builder would ask for it. */
const req = (spec: JobSpec): RunRequest => ({ spec, argv: startArgv(spec), env: {}, attempt: 1 });

const JOBS = "jobs:\n  a: { run: make-a, writes: [out/a] }\n  gen: { run: x, emits: jobs }\n";

Deno.test("CacheRunner: a miss runs and stores; the next lookup restores without running", async () => {
  const dir = await tempDir();
  const g = parseJobsFile(JOBS, `${dir}/jobs.yaml`);
  const cache = new Cache({ local: new LocalStore(await tempDir()), warn: () => {} });
  const inner = scriptedInner(dir);
  const runner = new CacheRunner(inner.runner, cache, { baseDir: dir, vars: {} });
  const first = collect();
  runner.start(req(g.get("a")), first.sink);
  await first.ended;
  assert.deepEqual(first.got.ends, [{ kind: "exited", status: { code: 0, signal: null } }]);
  await Deno.remove(`${dir}/out`, { recursive: true });
  const second = collect();
  runner.start(req(g.get("a")), second.sink);
  await second.ended;
  assert.equal(second.got.ends[0].kind, "restored");
  assert.deepEqual(second.got.pids, [], "no start for a restored job");
  assert.equal(second.got.out, "ran a\n", "the stored output is replayed");
  assert.equal(Deno.readTextFileSync(`${dir}/out/a`), "made\n");
  assert.deepEqual(inner.started, ["a"]);
  // A generator is never cached: straight to the inner runner.
  const gen = collect();
  runner.start(req(g.get("gen")), gen.sink);
  await gen.ended;
  assert.deepEqual(inner.started, ["a", "gen"]);
  await cache.close();
});

Deno.test("CacheRunner: a job stopped during a slow lookup ends at once; the late answer is ignored", async () => {
  const dir = await tempDir();
  const g = parseJobsFile(JOBS, `${dir}/jobs.yaml`);
  let answer!: (e: Entry | null) => void;
  const remote: RemoteStore = {
    label: "slow",
    get: () => new Promise((r) => answer = r),
    put: () => Promise.resolve(),
  };
  const cache = new Cache({ local: new LocalStore(await tempDir()), remote, warn: () => {} });
  const inner = scriptedInner(dir);
  const runner = new CacheRunner(inner.runner, cache, { baseDir: dir, vars: {} });
  const c = collect();
  const h = runner.start(req(g.get("a")), c.sink);
  await new Promise((r) => setTimeout(r, 0)); // the lookup is waiting on the remote
  assert.ok(answer, "the remote was asked");
  h.signal("SIGTERM");
  await c.ended;
  assert.deepEqual(c.got.ends, [{ kind: "exited", status: { code: null, signal: "SIGTERM" } }]);
  answer(null);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(inner.started, [], "never started after the stop");
  assert.equal(c.got.ends.length, 1);
  await cache.close();
});

Deno.test("CacheRunner: a job whose output passes the cache's bound is shown whole but neither kept nor stored (one warning)", async () => {
  const dir = await tempDir();
  const g = parseJobsFile(JOBS, `${dir}/jobs.yaml`);
  const warnings: string[] = [];
  // (Not a literal: the bound is read as the cache's option.)
  const options = { local: new LocalStore(await tempDir()), warn: (l: string) => warnings.push(l) };
  const cache = new Cache(Object.assign(options, { maxLogBytes: 16 }));
  const loud: Runner = {
    ...scriptedInner(dir).runner,
    start(_req: RunRequest, sink: RunSink) {
      Deno.mkdirSync(`${dir}/out`, { recursive: true });
      Deno.writeTextFileSync(`${dir}/out/a`, "made\n");
      sink.started(123);
      for (const s of ["line one\n", "line two\n", "line three\n"]) {
        sink.output("stdout", new TextEncoder().encode(s));
      }
      sink.ended({ kind: "exited", status: { code: 0, signal: null } });
      return { signal() {} };
    },
  };
  const runner = new CacheRunner(loud, cache, { baseDir: dir, vars: {} });
  const c = collect();
  runner.start(req(g.get("a")), c.sink);
  await c.ended;
  assert.equal(c.got.out, "line one\nline two\nline three\n", "shown whole");
  assert.deepEqual(warnings, [
    "jx: warning: a not stored in the cache: its output passed 16 bytes",
  ]);
  const again = await cache.lookup(g.get("a"), { baseDir: dir, vars: {} });
  assert.equal(again.kind, "miss");
  await cache.close();
});
