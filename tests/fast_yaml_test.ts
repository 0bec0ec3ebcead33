/**
 * The fast YAML front end (`lib/graph/fast_yaml.ts`) against the `yaml`
 * package: on every seed text of the fuzz test, the bad-input corpus and
 * thousands of their mutants, whatever the fast parser accepts gives the same
 * nodes (kinds, values, key order, start offsets) and line starts as the
 * package; and loading with it and without it gives the same graph or the
 * same `FILE:LINE:COL` error.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fastYaml } from "../lib/graph/fast_yaml.ts";
import { setFastYaml } from "../lib/graph/limits.ts";
import { parseJobsFile } from "../lib/graph/mod.ts";
import { parseEmittedJob } from "../lib/graph/emit.ts";
import { LineCounter, type Node, parseDocument } from "../lib/runtime/yaml.ts";
import { loadSeeds, mutate, prng } from "./fuzz_cases.ts";
import { ROOT } from "./helpers.ts";

/** A node as kind, start offset and value, keys in order (what the loader reads of it). */
function shape(n: unknown): unknown {
  const x = n as {
    items?: unknown[];
    key?: unknown;
    value?: unknown;
    range?: number[];
    flow?: boolean;
  } | null;
  if (x === null || x === undefined) return x;
  if (x.items) {
    const map = x.items.length && (x.items[0] as { key?: unknown }).key !== undefined;
    return {
      at: x.range?.[0],
      [map ? "map" : "seq"]: x.items.map((i) => {
        const p = i as { key?: unknown; value?: unknown };
        return map ? [shape(p.key), shape(p.value)] : shape(i);
      }),
    };
  }
  return { at: x.range?.[0], v: x.value };
}

/** Loads `text` one way: the graph's jobs as JSON, or the error line. */
function load(text: string, fast: boolean): string {
  setFastYaml(fast);
  try {
    const g = parseJobsFile(text, "t.yaml", { baseDir: "/nonexistent" });
    return JSON.stringify(g.jobs.map((j) => ({ ...j, deferred: undefined })));
  } catch (e) {
    return `error: ${(e as Error).message} ${JSON.stringify((e as { pos?: unknown }).pos)}`;
  } finally {
    setFastYaml(true);
  }
}

/** Compares both front ends on `text`; true when the fast one took it. */
function same(text: string, name: string): boolean {
  const fast = fastYaml(text);
  if (fast) {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
    assert.equal(doc.errors.length, 0, `${name}: fast took text the package refuses`);
    assert.deepEqual(shape(fast.doc.contents as Node), shape(doc.contents), name);
    assert.deepEqual(fast.lineStarts, lines.lineStarts, `${name}: line starts`);
  }
  assert.equal(load(text, true), load(text, false), name);
  return fast !== undefined;
}

function texts(): { name: string; text: string }[] {
  const out = loadSeeds(ROOT).map((s) => ({ name: s.name, text: s.text }));
  for (const f of readdirSync(`${ROOT}/tests/bad`).sort()) {
    if (f.endsWith(".yaml")) {
      out.push({ name: `tests/bad/${f}`, text: readFileSync(`${ROOT}/tests/bad/${f}`, "utf8") });
    }
  }
  return out;
}

Deno.test("fast YAML: the same nodes and loads as the yaml package on every seed text", () => {
  let taken = 0;
  for (const t of texts()) if (same(t.text, t.name)) taken++;
  assert.ok(taken >= 20, `the fast parser took only ${taken} texts`);
});

Deno.test("fast YAML: the same on mutants of every seed text", () => {
  const rnd = prng(20_261_203);
  let taken = 0, n = 0;
  for (const t of texts()) {
    for (let i = 0; i < 20; i++) {
      let text = t.text;
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) text = mutate(text, rnd);
      n++;
      if (same(text, `${t.name} mutant ${i}:\n${text}`)) taken++;
    }
  }
  assert.ok(taken > n / 10, `the fast parser took only ${taken} of ${n} mutants`);
});

Deno.test("fast YAML: a key ending in a Unicode space, keys that are NaN twice: as the package", () => {
  const cases = [
    "vars:\n  MSG\u00a0: fast\njobs:\n  a\u00a0:\n    run: echo ${MSG}\n",
    "env:\n  PATH\u3000: /x\njobs:\n  a: { run: 'true' }\n",
    "jobs:\n  a\u2003:\n    run: 'true'\n",
    "x-a:\n  .nan: 1\n  .NaN: 2\njobs:\n  a: { run: 'true' }\n",
    "x-a: {.nan: 1, .NaN: 2}\njobs:\n  a: { run: 'true' }\n",
    "jobs:\n  a: { run: 'true' }\t\n  b:\t\n    run: 'true'\n",
    "x-a:\n  0: 1\n  -0: 2\njobs:\n  a: { run: 'true' }\n",
    "jobs:\n  0: { run: 'true' }\n  -0: { run: 'true' }\n",
  ];
  for (const text of cases) same(text, JSON.stringify(text));
});

Deno.test("fast YAML: scalars resolve as the core schema says", () => {
  const values = [
    "x",
    "-O2",
    "1",
    "-1",
    "+2",
    "007",
    "0x1F",
    "0o17",
    "1.5",
    "1e3",
    ".5",
    ".inf",
    "-.Inf",
    ".nan",
    "1.2.3",
    "true",
    "False",
    "TRUE",
    "yes",
    "null",
    "~",
    "Null",
    "a#b",
    "'it''s'",
    '"a\\tb\\u00e9\\x41\\\\"',
    '"ü €"',
    "[a, 'b', \"c\", 1, [d, {e: f}]]",
    "{a: 1, 'b': [x], c: {d: e}}",
    "[a, b, ]",
    "[]",
    "{}",
  ];
  for (const v of values) {
    const text = `k: ${v}\nl:\n  - ${v}\nm: [${v}]\n`;
    assert.ok(fastYaml(text), `not taken: ${v}`);
    same(text, v);
  }
});

Deno.test("fast YAML: a job kept as values (a one-line flow mapping) loads as its nodes do", async () => {
  const { compactValues } = await import("../lib/graph/fast_yaml.ts");
  const jobs = [
    '{ run: "true", reads: [src/a.c, inc.h], writes: [out/a.o] }',
    '{ run: "  ", reads: x }',
    "{ run: [], reads: x }",
    "{ run: [cc, 1, true, -O2], needs: b }",
    '{ run: x, reads: "" }',
    '{ run: x, reads: [""] }',
    "{ run: x, reads: [1] }",
    "{ run: x, reads: ~ }",
    "{ run: x, reads: [[y]] }",
    "{ run: x, description: 12, cwd: 1.50 }",
    "{ run: x, description: null }",
    "{ run: x, emits: jobs }",
    "{ run: x, emits: job }",
    "{ run: x, bogus: 1 }",
    "{ run: x, 1: y }",
    "{ ~: x, run: y }",
    "{ reads: [x] }",
    "{ run: x, run: y }",
    "{ run: x, env: {A: b}, tokens: 2 }",
    '{ run: "echo ${V}", reads: ["${V}/x", "${NOPE}"] }',
    "{ \"run\": x, 'reads': [y] }",
    "{ run: x, needs: [b, c] }",
    "{ run: x, writes: [/abs] }",
    "{ run: x, constructor: 1 }",
    "{ run: x, __proto__: y }",
  ];
  let kept = 0;
  for (const job of jobs) {
    const text = `vars: { V: v }\njobs:\n  a: ${job}\n  b: { run: y }\n  c: { run: z }\n`;
    same(text, job);
    // Cast: the root's pairs, `jobs:`'s pairs (the shape the text above gives).
    type Pairs = { items: { value: Pairs }[] };
    const root = fastYaml(text)?.doc.contents as unknown as Pairs | undefined;
    if (root && compactValues(root.items[1].value.items[0].value) !== undefined) kept++;
  }
  assert.ok(kept >= jobs.length - 5, `only ${kept} kept as values`);
});

/** A line an `emits: jobs` job wrote, parsed one way: its spec as JSON, or the error. */
function emitted(line: string, fast: boolean): string {
  setFastYaml(fast);
  try {
    const ctx = { file: "jobs.yaml", baseDir: "/p", env: {}, vars: { V: "v" }, pools: { p: 2 } };
    return JSON.stringify(parseEmittedJob(line, 3, "gen", ctx));
  } catch (e) {
    return `error: ${(e as Error).message} ${JSON.stringify((e as { pos?: unknown }).pos)}`;
  } finally {
    setFastYaml(true);
  }
}

/** Compares both front ends on an emitted line; true when the fast one took it. */
function sameLine(line: string): boolean {
  const fast = fastYaml(line, true);
  if (fast) {
    const doc = parseDocument(line, { uniqueKeys: true });
    assert.equal(doc.errors.length, 0, `${line}: fast took text the package refuses`);
    assert.deepEqual(shape(fast.doc.contents as Node), shape(doc.contents), line);
  }
  assert.equal(emitted(line, true), emitted(line, false), line);
  return fast !== undefined;
}

const LINES = [
  '{"name": "cc-a", "run": "cc -c a.c", "reads": ["a.c", "a.h"], "writes": ["a.o"]}',
  '{"name":"cc-a","run":"cc -c a.c","reads":["a.c","a.h"],"writes":["a.o"]}',
  '{"name":"t","run":["echo","a\\"b\\\\","\\u00e9\\/x\\t"],"tokens":2,"pool":"p"}',
  '{"name": "t", "run": "x", "env": {"A": "1", "B": "${V}"}, "timeout": "5s"}',
  '{"name": "t", "run": "x", "needs": [], "description": null, "retries": 1}',
  '{"name": "t", "run": "x", "bogus": 1}',
  '{"name": "t", "run": "x", "run": "y"}',
  '{"name":"t","run":"x","tokens":"many"}',
  '{"name": "t", "run": "x", "reads": ["${NOPE}"]}',
  '{"name": "-bad", "run": "x"}',
  '{"name": "t", "run": "x\\u0000y"}',
  '{"name": "t", "run": "x", "constructor": 1}',
  '{"name": "t", "run": "x", "__proto__": {"a": 1}}',
  '{"name": "t", "run": "x", "writes": [{"a": 1}]}',
  '{"name": "t", "run": 1e3, "timeout": 0.5}',
  '{ "name" : "t" , "run" : "x" }',
  "{'name': 't', 'run': 'x'}",
  '{"name": "t", "run": "x"}  ',
];

Deno.test("fast YAML: an emitted job's line (a JSON object) gives the spec or error the package gives", () => {
  let taken = 0;
  for (const line of LINES) if (sameLine(line)) taken++;
  assert.ok(taken >= LINES.length - 4, `the fast parser took only ${taken} lines`);
  // JSON as JSON.stringify writes it (no space after a colon) is taken too.
  assert.ok(fastYaml(LINES[1], true), "compact JSON not taken");
  assert.equal(fastYaml(LINES[0]), undefined, "a flow root taken in a jobs file");
  const rnd = prng(20_261_207);
  for (const line of LINES) {
    for (let i = 0; i < 40; i++) {
      let text = line;
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) text = mutate(text, rnd);
      if (!text.includes("\n")) sameLine(text);
    }
  }
});

Deno.test("fast YAML: what it leaves to the package", () => {
  const left = [
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: |\n  text\n",
    "a: >\n  text\n",
    "a: [1,\n  2]\n",
    'a: "multi\n  line"\n',
    "a: plain\n  continued\n",
    "a: 1\na: 2\n",
    "a: {x: 1, x: 2}\n",
    "<<: {a: 1}\n",
    "---\na: 1\n",
    "a:\tb\n",
    "a:\n",
    "a: b: c\n",
    "a:\n  - b: c\n",
    "a: [b: c]\n",
    "a: x\n   b: y\n",
    "? a\n: b\n",
    "a: @b\n",
    'a: "x\\0y"\n', // a NUL: refused by the Validator, which walks only the package's documents
    'a: "\\u0000"\n',
    "\ufeffa: 1\n",
    "a: 1\r\n",
    "",
    "# only a comment\n",
  ];
  for (const t of left) {
    assert.equal(fastYaml(t), undefined, JSON.stringify(t));
    same(t, JSON.stringify(t));
  }
});

Deno.test("runtime/yaml_light: LineCounter gives the package's lines and columns; node tests agree", async () => {
  const light = await import("../lib/runtime/yaml_light.ts");
  const yaml = await import("../lib/runtime/yaml.ts");
  const text = "a: 1\n\nbb:\n  - x\n  - { y: [1, 2] }\n# end\n";
  const ours = new light.LineCounter(), theirs = new LineCounter();
  yaml.parseDocument(text, { lineCounter: theirs });
  for (const s of theirs.lineStarts) ours.addNewLine(s);
  for (let off = -1; off <= text.length + 2; off++) {
    assert.deepEqual(ours.linePos(off), theirs.linePos(off), `offset ${off}`);
  }
  assert.deepEqual(new light.LineCounter().linePos(5), new LineCounter().linePos(5));
  const doc = yaml.parseDocument("m: {k: [s, *a]}\nn: &a 1\n");
  const kinds = ["isMap", "isSeq", "isScalar", "isPair", "isAlias", "isNode"] as const;
  const seen: string[] = [];
  const stack: unknown[] = [doc.contents, doc, null, 3, "s"];
  while (stack.length) {
    const x = stack.pop();
    for (const k of kinds) {
      const ours = (light[k] as (x: unknown) => boolean)(x);
      assert.equal(ours, (yaml[k] as (x: unknown) => boolean)(x), k);
    }
    seen.push(kinds.filter((k) => (light[k] as (x: unknown) => boolean)(x)).join("+"));
    if (yaml.isMap(x) || yaml.isSeq(x)) stack.push(...x.items);
    if (yaml.isPair(x)) stack.push(x.key, x.value);
  }
  assert.ok(seen.includes("isAlias+isNode") && seen.includes("isPair"));
});
