/**
 * The seeded fuzz test of the jobs-file loader (issue #18, "Must show"):
 * mutations of the example jobs files and of the docs' examples, every
 * reserved property name in every mapping, malformed globs and bombs. Every
 * outcome is exit 0, or exit 2 with exactly one `FILE:LINE:COL: message`
 * line, within a time and memory bound. Most cases load in-process; a
 * handful go through the real CLI on Deno and on Bun.
 *
 * The seed is `JX_FUZZ_SEED` (default below); a failure prints the input.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  checkReservedNames,
  fuzzSeeds,
  loadSeeds,
  mappingPaths,
  MAPPINGS,
  mutate,
  outcome,
  prng,
} from "./fuzz_cases.ts";
import { BUN, ROOT, RUNTIMES, spawnJx, tempDir } from "./helpers.ts";

const SEED = Number(Deno.env.get("JX_FUZZ_SEED") ?? 20_261_203);
/** Mutants per seed text in-process (about 22 texts). */
const ROUNDS = 40;
/** A CLI case that has not ended by then is a hang. */
const CLI_LIMIT_MS = 20_000;
/** Peak resident memory allowed to one CLI load. */
const CLI_MAX_RSS_KB = 400 * 1024;

Deno.test("fuzz: the reserved-name cases cover every mapping of the schema", () => {
  assert.deepEqual(MAPPINGS.map((m) => m.path).sort(), mappingPaths());
});

Deno.test("fuzz: every reserved property name in every mapping (Deno, in-process)", () => {
  assert.ok(checkReservedNames() > 200);
});

Deno.test("fuzz: every reserved name in every mapping, and the mutations, on Bun", async () => {
  const out = await new Deno.Command(BUN, {
    args: [`${ROOT}/tests/fuzz_cases.ts`, String(SEED), "10"],
    cwd: ROOT,
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  const r = JSON.parse(dec.decode(out.stdout));
  assert.ok(r.reserved > 200 && r.ok + r.errors > 100, JSON.stringify(r));
});

Deno.test(`fuzz: ${ROUNDS} mutants of each example jobs file (seed ${SEED})`, () => {
  const seeds = loadSeeds(ROOT);
  assert.ok(seeds.length >= 10, `only ${seeds.length} seed texts`);
  const r = fuzzSeeds(seeds, SEED, ROUNDS);
  // Both kinds of outcome happen: the mutations are neither all harmless nor all fatal.
  assert.ok(r.ok > 50 && r.errors > 50, JSON.stringify(r));
});

/** A hostile file for the CLI. */
interface CliCase {
  name: string;
  text: string;
}

const bombs: CliCase[] = [
  {
    name: "merge-key bomb (14 lines)",
    text: [
      "x-m0: &m0 {a: 1, b: 2}",
      ...Array.from(
        { length: 12 },
        (_, i) => `x-m${i + 1}: &m${i + 1} {<<: [*m${i}, *m${i}, *m${i}]}`,
      ),
      "jobs: {a: {<<: *m12, run: echo}}",
    ].join("\n"),
  },
  {
    name: "vars that double, 26 levels",
    text: [
      "vars:",
      "  V0: ab",
      ...Array.from({ length: 26 }, (_, i) => `  V${i + 1}: "\${V${i}}\${V${i}}"`),
      'jobs: {a: {run: "echo ${V26}"}}',
    ].join("\n"),
  },
  {
    name: "a 3,000-deep YAML sequence",
    text: `jobs: {a: {run: echo, x: ${"[".repeat(3000)}${"]".repeat(3000)}}}`,
  },
  {
    name: "a foreach matrix of 12 keys x 10 values",
    text: "jobs:\n  a:\n    run: echo\n    foreach:\n      matrix:\n" +
      Array.from({ length: 12 }, (_, i) => `        K${i}: [0,1,2,3,4,5,6,7,8,9]\n`).join(""),
  },
];

/** Another job, so that the glob is matched against what it writes and reads. */
const OTHER = "  b: { run: echo, reads: [x], writes: [y] }\n";
const globs: CliCase[] = ["{a,b", "[z-a]"].flatMap((g) => [
  { name: `reads: ["${g}"]`, text: `jobs:\n  a: { run: echo, reads: ["${g}"] }\n${OTHER}` },
  { name: `writes: ["${g}"]`, text: `jobs:\n  a: { run: echo, writes: ["${g}"] }\n${OTHER}` },
  { name: `foreach glob "${g}"`, text: `jobs:\n  a: { run: echo, foreach: { glob: "${g}" } }\n` },
]);

const hostile: CliCase[] = [
  { name: "a NUL byte in run", text: 'jobs:\n  a: { run: "echo a\\0; touch pwned" }\n' },
  { name: "a reserved key in a job", text: "jobs:\n  a: { run: echo, constructor: 1 }\n" },
  { name: "__proto__ as a job name", text: "jobs:\n  __proto__: { run: echo }\n" },
  { name: "a port past 65535", text: "modules:\n  m: { run: echo, ready: { tcp: 70000 } }\n" },
  { name: "a timeout past 596h", text: "jobs:\n  a: { run: echo, timeout: 600h }\n" },
  { name: "an absolute read", text: "jobs:\n  a: { run: echo, reads: [/etc/passwd] }\n" },
];

/** A few mutants of the example file, through the CLI. */
function mutants(n: number): CliCase[] {
  const rnd = prng(SEED);
  const text = Deno.readTextFileSync(`${ROOT}/jobs.yaml.example`);
  return Array.from({ length: n }, (_, i) => ({
    name: `mutant ${i}`,
    text: mutate(mutate(text, rnd), rnd),
  }));
}

/** Peak resident memory (kB) of a running process, or 0 once it is gone. */
function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Runs `jx run -n` on the case; checks the outcome, the time and the memory. */
async function checkCli(runtime: "deno" | "bun" | "binary", c: CliCase, dir: string) {
  const file = `case.yaml`;
  await Deno.writeTextFile(`${dir}/${file}`, c.text);
  const child = spawnJx(["run", "-n", "-f", file], { cwd: dir, runtime });
  let peak = 0;
  let timedOut = false;
  const kill = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, CLI_LIMIT_MS);
  // Sample the peak as the process runs (VmHWM only grows); the last sample wins.
  const sampler = setInterval(() => (peak = Math.max(peak, peakRss(child.pid))), 25);
  const out = await child.output();
  clearTimeout(kill);
  clearInterval(sampler);
  const stderr = new TextDecoder().decode(out.stderr);
  const what = `${runtime}: ${c.name}: exit ${out.code}, stderr ${JSON.stringify(stderr)}`;
  assert.ok(!timedOut, `${what}: still running after ${CLI_LIMIT_MS} ms`);
  assert.ok(peak <= CLI_MAX_RSS_KB, `${what}: peak RSS ${peak} kB`);
  if (out.code === 0) return;
  assert.equal(out.code, 2, what);
  assert.match(stderr, /^case\.yaml:\d+:\d+: [^\n]+\n$/, what);
  assert.doesNotMatch(stderr, /Maximum call stack|internal error/, what);
}

for (const runtime of RUNTIMES) {
  Deno.test(`fuzz: hostile files and mutants through the CLI (${runtime})`, async () => {
    const dir = await tempDir();
    for (const c of [...hostile, ...mutants(3)]) await checkCli(runtime, c, dir);
    await Deno.remove(dir, { recursive: true });
  });
  for (const c of [...globs, ...bombs]) {
    Deno.test(`fuzz: ${c.name} through the CLI (${runtime})`, async () => {
      const dir = await tempDir();
      await checkCli(runtime, c, dir);
      await Deno.remove(dir, { recursive: true });
    });
  }
}

Deno.test("fuzz: malformed globs load or fail with one line, in-process", () => {
  for (const c of globs) {
    const o = outcome(c.text, "case.yaml");
    assert.ok(!o.ok, `${c.name} loaded`);
    assert.match(o.line, /^case\.yaml:\d+:\d+: .*glob/, c.name);
  }
});
