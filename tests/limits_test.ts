/**
 * Hostile or mistaken jobs files stop at load with one `FILE:LINE:COL` line
 * before time or memory run away: malformed globs, YAML alias and merge-key
 * bombs, deep nesting, doubling variables, huge `foreach` matrices; and
 * loading costs near-linear work (counted, never timed).
 *
 * @module
 */
import assert from "node:assert/strict";
import { JxInputError, parseJobsFile } from "../lib/graph/mod.ts";
import { MAX_ALIAS_NODES, MAX_DEPTH, MAX_JOBS, MAX_VALUE_LENGTH } from "../lib/graph/limits.ts";

/** The one-line error `text` loads with. */
function err(text: string): string {
  try {
    parseJobsFile(text, "t.yaml", { baseDir: "/nonexistent" });
  } catch (e) {
    assert.ok(e instanceof JxInputError, `not an input error: ${(e as Error).stack}`);
    return e.format();
  }
  assert.fail("loaded without an error");
}

Deno.test("limits: malformed globs in reads, writes, foreach and emitted jobs name their position", () => {
  assert.equal(
    err("jobs:\n  a: { run: x, reads: ['{a,b'] }\n"),
    "t.yaml:2:24: jobs.a.reads[0]: bad glob '{a,b': '{' without its closing '}'",
  );
  assert.equal(
    err("jobs:\n  a:\n    run: x\n    writes:\n      - ok\n      - 'out/[z-a]'\n"),
    "t.yaml:6:9: jobs.a.writes[1]: bad glob 'out/[z-a]': range 'z-a' is backwards in '[z-a]'",
  );
  assert.equal(
    err("jobs:\n  a:\n    run: x\n    foreach: { glob: 'src/[abc', as: F }\n"),
    "t.yaml:4:22: jobs.a.foreach.glob: bad glob 'src/[abc': '[' without its closing ']'",
  );
  assert.match(err("jobs:\n  a: { run: x, reads: 'x/{a,{b}' }\n"), /^t\.yaml:2:23: .*'\{' without/);
});

Deno.test("limits: a malformed glob in an emitted job is that line's error", async () => {
  const { parseEmittedJob } = await import("../lib/graph/mod.ts");
  const ctx = { file: "j.yaml", baseDir: "/p", env: {}, vars: {}, pools: {} };
  assert.throws(
    () => parseEmittedJob('{"name": "x", "run": "true", "reads": ["[z-a]"]}', 3, "gen", ctx),
    (e: JxInputError) => /^gen stdout:3:\d+: .*bad glob '\[z-a\]'/.test(e.format()),
  );
});

Deno.test("limits: a merge-key bomb stops at the alias that crosses the limit", () => {
  let text = "x-m0: &m0 {a: 1, b: 2}\n";
  for (let n = 1; n <= 14; n++) {
    text += `x-m${n}: &m${n} {<<: [*m${n - 1}, *m${n - 1}, *m${n - 1}]}\n`;
  }
  text += "jobs:\n  a: { run: x, env: *m14 }\n";
  assert.match(
    err(text),
    new RegExp(`^t\\.yaml:1\\d:\\d+: aliases expand to more than ${MAX_ALIAS_NODES}`),
  );
});

Deno.test("limits: deep YAML (flow, block, through aliases) is an error, not a stack overflow", () => {
  for (const depth of [MAX_DEPTH + 1, 1000, 3000]) {
    const flow = `jobs:\n  a: { run: x, x-y: ${"[".repeat(depth)}${"]".repeat(depth)} }\n`;
    assert.match(
      err(flow),
      new RegExp(`^t\\.yaml:2:\\d+: nested deeper than ${MAX_DEPTH} levels$`),
    );
    let block = "x-deep:\n";
    for (let i = 0; i < depth; i++) block += `${"  ".repeat(i + 1)}-\n`;
    assert.match(err(block + "jobs:\n  a: { run: x }\n"), /^t\.yaml:\d+:\d+: nested deeper than/);
  }
  let chain = "x-a0: &a0 [1]\n";
  for (let i = 1; i < 200; i++) chain += `x-a${i}: &a${i} [*a${i - 1}]\n`;
  assert.match(err(chain + "jobs:\n  a: { run: x }\n"), /once aliases are expanded$/);
});

Deno.test("limits: doubling variables stop at the first one past the length limit", () => {
  let text = "vars:\n  V0: x\n";
  for (let i = 1; i <= 25; i++) text += `  V${i}: "\${V${i - 1}}\${V${i - 1}}"\n`;
  text += "jobs:\n  a: { run: 'echo ${V25}' }\n";
  const bad = Math.ceil(Math.log2(MAX_VALUE_LENGTH + 1));
  assert.equal(
    err(text),
    `t.yaml:${
      bad + 2
    }:8: vars.V${bad}: longer than ${MAX_VALUE_LENGTH} characters after substitution`,
  );
  // One use too many in a command is the command's error.
  const big = "y".repeat(MAX_VALUE_LENGTH / 2);
  assert.match(
    err(`vars: { B: ${big} }\njobs:\n  a: { run: 'echo \${B} \${B} \${B}' }\n`),
    /^t\.yaml:3:13: jobs\.a\.run: longer than/,
  );
  // So is a value written out that long, with no variable in it: refused at load, not left to
  // fail at the job's start (exec's E2BIG, exit 1).
  const long = "y".repeat(MAX_VALUE_LENGTH + 1);
  for (
    const [text, where] of [
      [`jobs:\n  a: { run: 'echo ${long}' }\n`, "2:13: jobs.a.run"],
      [`jobs:\n  a: { run: [echo, ${long}] }\n`, "2:20: jobs.a.run[1]"],
      [`jobs:\n  a: { run: x, env: { L: ${long} } }\n`, "2:26: jobs.a.env.L"],
      [`env: { L: ${long} }\njobs:\n  a: { run: x }\n`, "1:11: env.L"],
    ]
  ) {
    assert.equal(err(text), `t.yaml:${where}: longer than ${MAX_VALUE_LENGTH} characters`);
  }
  // A path too: written out, and when a foreach glob looks at what the jobs write.
  const paths = `jobs:\n  g: { run: x, writes: [${long}] }\n`;
  assert.equal(
    err(paths),
    `t.yaml:2:25: jobs.g.writes[0]: longer than ${MAX_VALUE_LENGTH} characters`,
  );
  const globbed = paths + `  b: { run: x, foreach: { glob: "*.c", as: F } }\n`;
  assert.equal(
    err(globbed),
    `t.yaml:2:25: jobs.g.writes[0]: longer than ${MAX_VALUE_LENGTH} characters`,
  );
});

Deno.test("limits: a foreach matrix of 12 x 10 values is refused before it is expanded", () => {
  let text = "jobs:\n  a:\n    run: x\n    foreach:\n      matrix:\n";
  for (let k = 0; k < 12; k++) text += `        K${k}: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n`;
  assert.equal(
    err(text),
    `t.yaml:5:7: jobs.a.foreach: makes more than ${MAX_JOBS} jobs in all (the limit)`,
  );
});

Deno.test("limits: 2,000 jobs reading **/* and writing out/N/** make a linear number of edges", () => {
  const lines = ["jobs:"];
  const n = 2000;
  for (let i = 0; i < n; i++) {
    lines.push(`  j${i}: { run: x, reads: ["**/*"], writes: ["out/${i}/**"] }`);
  }
  const g = parseJobsFile(lines.join("\n"), "star.yaml");
  assert.ok(g.edges.length < 2 * n, `${g.edges.length} edges`);
  // Still ordered as a chain: each job waits, directly or not, for the one before.
  for (let i = 1; i < n; i++) {
    assert.ok(g.depsOf(`j${i}`).some((e) => e.from === `j${i - 1}` && e.kind === "resource"));
  }
  // A failure still spreads: the edges kept pass it on (resource, not order).
  assert.ok(g.depsOf(`j${n - 1}`).every((e) => e.kind === "resource"));
});

Deno.test("limits: duplicate keys are found without the yaml package's pairwise scan", () => {
  assert.equal(
    err("jobs:\n  a: { run: x }\n  b: { run: x }\n  a: { run: y }\n"),
    "t.yaml:4:3: duplicate key 'a'",
  );
  assert.equal(err("jobs:\n  a: { run: x, run: y }\n"), "t.yaml:2:16: duplicate key 'run'");
  const cycle = ["jobs:"];
  for (let i = 0; i < 5000; i++) cycle.push(`  j${i}: { run: x, needs: [j${(i + 1) % 5000}] }`);
  assert.match(err(cycle.join("\n")), /^t\.yaml:\d+:\d+: cycle: j\d+ -> /);
});

Deno.test("limits: a foreach list of 20,000 items is read once per item, not once per job made", () => {
  const n = 20_000;
  const text = "jobs:\n  g:\n    run: echo ${ITEM}\n    foreach:\n" +
    Array.from({ length: n }, (_, i) => `      - i${i}\n`).join("");
  // Counted: the list items `every` went over (each job made read the whole list: n², 50 s
  // for 100,000 items).
  const every = Array.prototype.every;
  let seen = 0;
  Array.prototype.every = function (this: unknown[], ...args: Parameters<typeof every>) {
    seen += this.length;
    return every.apply(this, args);
  } as typeof every;
  let jobs: number;
  try {
    jobs = parseJobsFile(text, "t.yaml", { baseDir: "/nonexistent" }).jobs.length;
  } finally {
    Array.prototype.every = every;
  }
  assert.equal(jobs, n);
  assert.ok(seen < 20 * n, `${seen} items looked at`);
});
