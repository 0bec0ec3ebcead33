/**
 * The loader's positions inside a job are recorded only when a message asks
 * for one (issue #18 item 14: a big file recorded millions), and then they
 * are the positions they always were.
 */
import assert from "node:assert/strict";
import { LineCounter } from "../lib/runtime/yaml.ts";
import { parseYaml } from "../lib/graph/limits.ts";
import { Validator } from "../lib/graph/validate.ts";
import { FILE_FIELDS } from "../lib/graph/schema.ts";
import { parseJobsFile } from "../lib/graph/load.ts";
import { JxInputError } from "../lib/graph/errors.ts";

const jobs = (n: number) =>
  "jobs:\n" +
  Array.from({ length: n }, (_, i) =>
    `  j${i}:\n    run: "true"\n    reads: [src/${i}.c, inc.h]\n    writes: [out/${i}.o]\n`).join(
      "",
    );

Deno.test("positions: a job's are walked for only when one is asked for, then exact", () => {
  const text = jobs(1000);
  const lines = new LineCounter();
  const v = new Validator("jobs.yaml", lines, parseYaml(text, "jobs.yaml", lines));
  v.object(
    v.deref(parseYaml(text, "jobs.yaml", new LineCounter()).contents as never),
    FILE_FIELDS,
    "",
  );
  // Per job: its key and its value; nothing inside it (each job has 9 more).
  assert.ok(v.positions.size < 2 * 1000 + 10, `${v.positions.size} positions recorded`);
  // j500's `reads` item 1 (`inc.h`) stands on line 2 + 4 * 500 + 2, after `reads: [src/500.c, `.
  const line = 2 + 4 * 500 + 2;
  assert.deepEqual(v.positions.get("jobs.j500.reads.1"), {
    line,
    col: "    reads: [src/500.c, ".length + 1,
  });
  assert.deepEqual(v.positions.get("jobs.j500.writes#"), { line: line + 1, col: 5 });
  assert.equal(v.positions.has("jobs.j500.needs"), false);
  assert.ok(v.positions.size < 2 * 1000 + 30, "one job walked, not all");
});

/** The message and position of loading `text`, which must fail. */
function failure(text: string): string {
  try {
    parseJobsFile(text, "jobs.yaml");
  } catch (e) {
    if (e instanceof JxInputError) return `${e.pos?.line}:${e.pos?.col}: ${e.message}`;
    throw e;
  }
  throw new Error("loaded");
}

/** Each job's name and position once `text` loads. */
const positionsOf = (text: string) =>
  parseJobsFile(text, "jobs.yaml", { baseDir: "/nonexistent" }).jobs.map((j) => [j.name, j.pos]);

Deno.test("positions: errors inside a job, and in a job whose name holds a dot", () => {
  // Each as before positions were deferred (checked against the loader before the change).
  const cases: [string, string][] = [
    // Found by spec building, after the check: the deferred walk gives the item's position
    // (job `a` is walked too, for `jobs.a.`, and has none of it).
    [
      'jobs:\n  a: { run: "true" }\n  a.b:\n    run: "true"\n    reads: [x, "${NOPE}"]\n',
      "5:16: jobs.a.b.reads[1]: unknown variable ${NOPE}",
    ],
    // Found by the check itself: the entry is checked again, recording.
    [
      'jobs:\n  a: { run: "true" }\nmodules:\n  m:\n    run: "true"\n' +
      "    ready: { delay: 1s, tcp: 70000 }\n",
      "6:30: modules.m.ready.tcp: must be at most 65535, got 70000",
    ],
    [
      'jobs:\n  a:\n    run: "true"\n    cache: { salt: 1, bogus: 2 }\n',
      "4:23: jobs.a.cache: unknown key 'bogus'",
    ],
    // An empty probe command would pass at once: refused as an empty `run` is.
    [
      'jobs:\n  a: { run: "true" }\nmodules:\n  m:\n    run: "true"\n    ready: { cmd: " " }\n',
      "6:19: modules.m.ready.cmd: empty command",
    ],
    [
      'modules:\n  m:\n    run: "true"\n    health: { cmd: "" }\n',
      "4:20: modules.m.health.cmd: empty command",
    ],
    // An empty log path names the jobs file's folder: refused at load, not a warning per run.
    ['modules:\n  m:\n    run: "true"\n    log: ""\n', "4:10: modules.m.log: empty path"],
    // A subscription no message could reach (no topic has a space; a * only ends one).
    [
      'modules:\n  m:\n    run: "true"\n    subscribe: [jx.*, "a b"]\n',
      '4:23: modules.m.subscribe[1]: bad topic "a b": no message could ever reach it (a topic ' +
      "is letters, digits and _ . : / + -, not starting with . : / + -; a trailing * takes " +
      "every topic with that prefix)",
    ],
    ["jobs:\n  a:\n    cwd: x\n", "2:3: jobs.a: missing required key 'run'"],
    // A single string, not a list: the key's position.
    [
      'jobs:\n  a:\n    run: "true"\n    reads: "/abs"\n',
      "4:12: jobs.a.reads[0]: absolute path '/abs': reads are paths relative to the jobs " +
      "file's folder (jx checks and cleans only those)",
    ],
    [
      'jobs:\n  a:\n    run: "true"\n    reads: ["${X:q}"]\n',
      "4:13: jobs.a.reads[0]: ${X:q} quotes for the shell, only in a `run` string " +
      "(here the value is used as it is: write ${X})",
    ],
    [
      'jobs:\n  a:\n    run: "true"\n    reads: [ "a{b" ]\n',
      "4:14: jobs.a.reads[0]: bad glob 'a{b': '{' without its closing '}'",
    ],
    [
      'jobs:\n  a:\n    run: "true"\n    needs: [zz]\n',
      "4:13: jobs.a.needs[0]: unknown job 'zz' in needs",
    ],
  ];
  for (const [text, want] of cases) assert.equal(failure(text), want);
});

Deno.test("positions: a job named like a key of another job (`b.run` beside `b`) is at its own key", () => {
  // Job b.run's env_file walks job b for its positions, which records b's `run` key as
  // `jobs.b.run#`: a job's own position is read by its name (it was b's `run:` key, 2:8).
  const text = "jobs:\n  b: { run: x }\n  c: { run: z, needs: [b.run] }\n" +
    "  b.run: { run: y, env_file: [e?], needs: [c] }\n";
  assert.equal(failure(text), "4:3: cycle: c -> b.run (needs) -> c (needs)");
  assert.deepEqual(positionsOf(text.replace(", needs: [c]", "")), [
    ["b", { line: 2, col: 3 }],
    ["c", { line: 3, col: 3 }],
    ["b.run", { line: 4, col: 3 }],
  ]);
});

Deno.test("positions: if, unless or a repeat test naming a foreach group says so (it was 'unknown job')", () => {
  // The group exists: 'unknown job t' (with a suggestion of another job) sent users looking
  // for a typo. A test is one job: the message names one of the group's.
  const group = 'jobs:\n  t: { foreach: [x, y], run: "true" }\n';
  assert.equal(
    failure(group + '  v: { run: "true", if: t }\n'),
    "3:25: jobs.v.if: 't' is a foreach group: if names one job (such as 't[x]')",
  );
  assert.equal(
    failure(group + '  v: { run: "true", repeat: { until: t } }\n'),
    "3:38: jobs.v.repeat.until: 't' is a foreach group: repeat names one job (such as 't[x]')",
  );
  assert.equal(
    failure(
      'jobs:\n  t: { foreach: { glob: "none/*" }, run: "true" }\n  v: { run: x, unless: t }\n',
    ),
    "3:24: jobs.v.unless: 't' is a foreach group: unless names one job",
  );
});

Deno.test('positions: two keys of one name (1: and "1":) give each foreach item its own key\'s', () => {
  // Both keys name the group `1`; an item is where the key it was written under is (the load
  // once gave every item the last key's place, and the cycle message that line).
  const text = 'jobs:\n  b: { run: "echo b", needs: ["1[x]"] }\n' +
    '  1: { run: "echo a", foreach: [x, y], needs: [b] }\n  "1": { run: "echo z", foreach: [z] }\n';
  assert.equal(failure(text), "3:3: cycle: b -> 1[x] (needs) -> b (needs)");
  assert.deepEqual(positionsOf(text.replace('needs: ["1[x]"]', "needs: []")), [
    ["b", { line: 2, col: 3 }],
    ["1[x]", { line: 3, col: 3 }],
    ["1[y]", { line: 3, col: 3 }],
    ["1[z]", { line: 4, col: 3 }],
  ]);
});
