/**
 * `JobSpec` as a union of `JobNode` and `ModuleNode` with readonly fields,
 * built from the validated entry by typed readers (lib/graph/read.ts).
 * The `@ts-expect-error` lines fail `deno check` (tests/ is checked) if a
 * field becomes writable again or a kind's own key leaks into the other.
 */
import assert from "node:assert/strict";
import { type JobSpec, parseJobsFile } from "../mod.ts";
import { num, str, strs } from "../lib/graph/read.ts";

const text =
  "jobs:\n  a: { run: echo hi, timeout: 5s, repeat: { until: t } }\n  t: { run: 'true' }\n" +
  "modules:\n  api: { run: ./serve, ready: { tcp: 8080 }, restart: always }\n";

Deno.test("spec union: a job and a module carry only their own keys, narrowed by kind", () => {
  const g = parseJobsFile(text, "j.yaml", { baseDir: "/" });
  const a = g.get("a"), api = g.get("api");
  assert.equal(a.kind, "job");
  assert.equal(api.kind, "module");
  if (a.kind !== "job" || api.kind !== "module") return;
  assert.equal(a.timeoutMs, 5000);
  assert.deepEqual(a.repeat, { kind: "until", test: "t", max: 10 });
  assert.deepEqual(api.ready?.tcp, 8080);
  assert.equal(api.restart, "always");
  for (const k of ["ready", "health", "log", "stop", "restart", "subscribe", "maxRestarts"]) {
    assert.equal(k in a, false, `job has ${k}`);
  }
  for (const k of ["timeoutMs", "if", "unless", "executor", "slurm", "repeat", "cache"]) {
    assert.equal(k in api, false, `module has ${k}`);
  }
});

Deno.test("spec union: fields are readonly and kinds do not mix (checked by deno check)", () => {
  const g = parseJobsFile(text, "j.yaml", { baseDir: "/" });
  const a: JobSpec = g.get("a");
  const writeName = (s: JobSpec) => {
    // @ts-expect-error: a spec's fields are readonly
    s.name = "b";
  };
  const moduleWithTimeout = (s: JobSpec) => {
    // @ts-expect-error: a module has no timeout
    if (s.kind === "module") return s.timeoutMs satisfies number;
  };
  assert.equal(typeof writeName, "function");
  assert.equal(typeof moduleWithTimeout, "function");
  assert.equal(a.name, "a");
});

Deno.test("spec readers: a value of another type than the schema's is an internal error", () => {
  assert.equal(str({ a: "x" }, "a"), "x");
  assert.equal(str({}, "a"), undefined);
  assert.deepEqual(strs({ a: ["x"] }, "a"), ["x"]);
  assert.throws(() => str({ a: 1 }, "a"), /internal error: 'a' \(number\)/);
  assert.throws(() => num({ a: "1" }, "a"), /internal error/);
  assert.throws(() => strs({ a: ["x", 1] }, "a"), /internal error/);
});
