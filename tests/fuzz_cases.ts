/**
 * Cases for `fuzz_test.ts`, written for any runtime (no `Deno` here) so the
 * same checks run in-process on Deno and, through `bun`, on Bun:
 *
 * - every reserved property name in every mapping of the schema;
 * - seeded mutations of jobs files.
 *
 * Every outcome must be a graph or a `JxInputError` with one line
 * `FILE:LINE:COL: message`.
 *
 * @module
 */
import { FILE_FIELDS, JxInputError, parseEmittedJob, parseJobsFile } from "../lib/graph/mod.ts";
import type { Kind } from "../lib/graph/schema.ts";
import { readdirSync, readFileSync } from "node:fs";

/** Every name `Object.prototype` answers to, and `__proto__` (deleted on Deno). */
export const RESERVED: string[] = [
  ...new Set([...Object.getOwnPropertyNames(Object.prototype), "__proto__"]),
].sort();

/** How a load ended. */
export type Outcome = { ok: true } | { ok: false; line: string };

/**
 * Loads `text`; throws unless it loads or fails with one `FILE:LINE:COL:`
 * line (an input error without a position, a stack trace, a crash).
 */
export function outcome(text: string, file = "fuzz.yaml", baseDir = "/nonexistent"): Outcome {
  try {
    parseJobsFile(text, file, { baseDir });
    return { ok: true };
  } catch (e) {
    if (!(e instanceof JxInputError)) {
      throw new Error(`not an input error: ${(e as Error)?.stack ?? e}\n--- input ---\n${text}`);
    }
    const line = e.format();
    if (!line.startsWith(`${file}:`) || !/^[^\n]*:\d+:\d+: [^\n]+$/.test(line)) {
      throw new Error(
        `not one FILE:LINE:COL line: ${JSON.stringify(line)}\n--- input ---\n${text}`,
      );
    }
    return { ok: false, line };
  }
}

/** One mapping of the schema, with a document that puts a key `R` in it. */
export interface MappingCase {
  /** The mapping's path in the schema (`jobs.*.ready`). */
  path: string;
  /** A jobs file with the key `R` in that mapping. */
  doc: (r: string) => string;
  /** `name`: R is a name there (a var, a job...) and must load; `key`: a fixed key, refused. */
  expect: "name" | "key";
}

/** Every mapping of the jobs file; `mappingPaths()` checks none is missing. */
export const MAPPINGS: MappingCase[] = [
  { path: "", expect: "key", doc: (r) => `${r}: 1\njobs: { a: { run: echo } }\n` },
  {
    path: "vars",
    expect: "name",
    doc: (r) => `vars: { ${r}: v }\njobs: { a: { run: "echo \${${r}}" } }\n`,
  },
  { path: "env", expect: "name", doc: (r) => `env: { ${r}: v }\njobs: { a: { run: echo } }\n` },
  { path: "lint", expect: "key", doc: (r) => `lint: { ${r}: 1 }\njobs: { a: { run: echo } }\n` },
  {
    path: "pools",
    expect: "name",
    doc: (r) => `pools: { ${r}: 2 }\njobs: { a: { run: echo, pool: ${r} } }\n`,
  },
  {
    path: "jobs",
    expect: "name",
    doc: (r) => `jobs: { ${r}: { run: echo }, b: { run: echo, needs: [${r}] } }\n`,
  },
  { path: "jobs.*", expect: "key", doc: (r) => `jobs: { a: { run: echo, ${r}: 1 } }\n` },
  {
    path: "jobs.*.env",
    expect: "name",
    doc: (r) => `jobs: { a: { run: echo, env: { ${r}: v } } }\n`,
  },
  {
    path: "jobs.*.pools",
    expect: "name",
    doc: (r) => `pools: { ${r}: 2 }\njobs: { a: { run: echo, pools: { ${r}: 2 } } }\n`,
  },
  {
    path: "jobs.*.repeat",
    expect: "key",
    doc: (r) => `jobs: { a: { run: echo, repeat: { until: t, ${r}: 1 } }, t: { run: echo } }\n`,
  },
  {
    path: "jobs.*.foreach",
    expect: "key",
    doc: (r) => `jobs: { a: { run: echo, foreach: { list: [x], ${r}: 1 } } }\n`,
  },
  {
    path: "jobs.*.foreach.matrix",
    expect: "name",
    doc: (r) => `jobs: { a: { run: "echo \${${r}}", foreach: { matrix: { ${r}: [x, y] } } } }\n`,
  },
  {
    path: "modules",
    expect: "name",
    doc: (r) => `modules: { ${r}: { run: echo } }\njobs: { b: { run: echo, needs: [${r}] } }\n`,
  },
  { path: "modules.*", expect: "key", doc: (r) => `modules: { m: { run: echo, ${r}: 1 } }\n` },
  {
    path: "modules.*.env",
    expect: "name",
    doc: (r) => `modules: { m: { run: echo, env: { ${r}: v } } }\n`,
  },
  {
    path: "modules.*.ready",
    expect: "key",
    doc: (r) => `modules: { m: { run: echo, ready: { tcp: 1, ${r}: 1 } } }\n`,
  },
  {
    path: "modules.*.stop",
    expect: "key",
    doc: (r) => `modules: { m: { run: echo, stop: { ${r}: 1 } } }\n`,
  },
  {
    path: "modules.*.when",
    expect: "key",
    doc: (r) => `modules: { m: { run: echo, when: { os: linux, ${r}: 1 } } }\n`,
  },
  {
    path: "modules.*.health",
    expect: "key",
    doc: (r) => `modules: { m: { run: echo, health: { tcp: 8080, ${r}: 1 } } }\n`,
  },
  {
    path: "jobs.*.when",
    expect: "key",
    doc: (r) => `jobs: { a: { run: echo, when: { os: linux, ${r}: 1 } } }\n`,
  },
  {
    path: "jobs.*.slurm",
    expect: "key",
    doc: (r) => `jobs: { a: { run: echo, slurm: { partition: main, ${r}: 1 } } }\n`,
  },
];

/** The paths of every mapping kind in the schema (plus `foreach`'s own). */
export function mappingPaths(): string[] {
  const out: string[] = [""];
  const walk = (kind: Kind, path: string): void => {
    const at = (k: string) => (path ? `${path}.${k}` : k);
    switch (kind.t) {
      case "object":
        for (const [k, f] of Object.entries(kind.fields)) {
          if (["object", "scalars", "counts", "entries", "foreach"].includes(f.kind.t)) {
            out.push(at(k));
          }
          walk(f.kind, at(k));
        }
        return;
      case "entries":
        out.push(`${path}.*`);
        return walk(kind.of, `${path}.*`);
      case "foreach":
        out.push(`${path}.matrix`);
        return;
      default:
        return;
    }
  };
  walk({ t: "object", fields: FILE_FIELDS }, "");
  return [...new Set(out)].sort();
}

/** Checks every reserved name in every mapping; returns the count of loads. */
export function checkReservedNames(): number {
  let n = 0;
  for (const m of MAPPINGS) {
    for (const r of RESERVED) {
      const text = m.doc(r);
      const o = outcome(text, "reserved.yaml");
      n++;
      if (m.expect === "name" && !o.ok) {
        throw new Error(`${m.path}: '${r}' is a valid name, got: ${JSON.stringify(o)}\n${text}`);
      }
      if (
        m.expect === "key" && (o.ok || !("line" in o) || !o.line.includes(`unknown key '${r}'`))
      ) {
        throw new Error(`${m.path}: '${r}' must be an unknown key, got: ${JSON.stringify(o)}`);
      }
    }
  }
  // The names reach the spec as they were written.
  for (const r of RESERVED) {
    const g = parseJobsFile(
      `vars: { ${r}: v }\nenv: { ${r}: e }\npools: { ${r}: 3 }\n` +
        `jobs: { ${r}: { run: "echo \${${r}}", pools: { ${r}: 2 }, env: { X: "\${${r}}" } } }\n`,
      "reserved.yaml",
    );
    const j = g.get(r);
    const fail = (what: string) => {
      throw new Error(`'${r}': ${what}: ${JSON.stringify(j)}`);
    };
    if (j?.name !== r) fail("job name");
    if (j!.argv[2] !== "echo v") fail("var");
    if (!Object.hasOwn(j!.env, r) || j!.env[r] !== "e" || j!.env.X !== "v") fail("env");
    if (!Object.hasOwn(j!.pools, r) || j!.pools[r] !== 2) fail("pools");
    // An emitted job: its name, and the name as a key of the job.
    const ctx = { file: "jobs.yaml", baseDir: "/p", env: {}, vars: {}, pools: {} };
    if (parseEmittedJob(JSON.stringify({ name: r, run: "echo" }), 1, "gen", ctx).name !== r) {
      fail("emitted name");
    }
    try {
      parseEmittedJob(`{"name": "a", "run": "echo", ${JSON.stringify(r)}: 1}`, 1, "gen", ctx);
      fail("emitted key loaded");
    } catch (e) {
      if (!(e instanceof JxInputError) || !e.message.includes(`unknown key '${r}'`)) throw e;
    }
    n += 3;
  }
  return n;
}

/** A small seeded PRNG (mulberry32): the same seed, the same cases. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fragments a mutation inserts: syntax, hostile values, reserved names. */
const TOKENS = [
  ":",
  "- ",
  "{",
  "}",
  "[",
  "]",
  ",",
  "'",
  '"',
  "#",
  "\t",
  "\n",
  "  ",
  "&a ",
  "*a",
  "<<: *a",
  "${X}",
  "${",
  "$${X}",
  "${X:q}",
  "${ITEM.stem}",
  '"\\0"',
  "0",
  "-1",
  "1.5",
  "70000",
  "1e400",
  "600h",
  "596h",
  "0ms",
  "1000001",
  "/abs/path",
  "../up",
  "**/*",
  "{a,b",
  "[z-a]",
  "@db",
  "constructor",
  "__proto__",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "null",
  "~",
  "true",
  "run: echo",
  "needs: [a]",
  "reads: [x]",
  "writes: [x]",
  "timeout: 1s",
  "tokens: 2",
  "ready: { tcp: 99999 }",
  "foreach: [a, b]",
  "if: a",
  "unless: a",
  "pool: p",
  "version: 2",
];

/** One random edit of `text`. */
export function mutate(text: string, rnd: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const at = Math.floor(rnd() * (text.length + 1));
  const lines = text.split("\n");
  const li = Math.floor(rnd() * lines.length);
  switch (Math.floor(rnd() * 6)) {
    case 0: // insert a fragment
      return text.slice(0, at) + pick(TOKENS) + text.slice(at);
    case 1: // delete a few characters
      return text.slice(0, at) + text.slice(at + 1 + Math.floor(rnd() * 8));
    case 2: // duplicate a line
      return [...lines.slice(0, li + 1), lines[li], ...lines.slice(li + 1)].join("\n");
    case 3: // drop a line
      return [...lines.slice(0, li), ...lines.slice(li + 1)].join("\n");
    case 4: { // replace a value after a colon
      const line = lines[li];
      const c = line.indexOf(": ");
      if (c < 0) return text;
      lines[li] = line.slice(0, c + 2) + pick(TOKENS);
      return lines.join("\n");
    }
    default: { // swap two lines
      const lj = Math.floor(rnd() * lines.length);
      [lines[li], lines[lj]] = [lines[lj], lines[li]];
      return lines.join("\n");
    }
  }
}

/**
 * Loads `rounds` mutants of each seed text (1 to 3 edits each); returns the
 * counts of loads and of one-line errors. Throws at the first bad outcome.
 */
export function fuzzSeeds(
  seeds: { name: string; text: string; baseDir: string }[],
  seed: number,
  rounds: number,
): { ok: number; errors: number } {
  const rnd = prng(seed);
  const counts = { ok: 0, errors: 0 };
  for (const s of seeds) {
    for (let i = 0; i < rounds; i++) {
      let text = s.text;
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) text = mutate(text, rnd);
      const o = outcome(text, s.name, s.baseDir);
      if (o.ok) counts.ok++;
      else counts.errors++;
    }
  }
  return counts;
}

/**
 * The seed texts: the example jobs files, and every YAML block of docs/
 * that loads as it is (each a jobs file of its own).
 */
export function loadSeeds(root: string): { name: string; text: string; baseDir: string }[] {
  const seeds = [
    {
      name: "jobs.yaml.example",
      text: readFileSync(`${root}/jobs.yaml.example`, "utf8"),
      baseDir: root,
    },
    {
      name: "examples/modules/jobs.yaml",
      text: readFileSync(`${root}/examples/modules/jobs.yaml`, "utf8"),
      baseDir: `${root}/examples/modules`,
    },
  ];
  for (const f of readdirSync(`${root}/docs`).filter((f) => f.endsWith(".md")).sort()) {
    const md = readFileSync(`${root}/docs/${f}`, "utf8");
    let i = 0;
    for (const m of md.matchAll(/```yaml\n([\s\S]*?)```/g)) {
      const name = `docs/${f}#${++i}`;
      if (outcome(m[1], name, "/nonexistent").ok) {
        seeds.push({ name, text: m[1], baseDir: "/nonexistent" });
      }
    }
  }
  return seeds;
}

// `bun tests/fuzz_cases.ts SEED ROUNDS` runs the in-process checks on Bun (or any runtime).
if (import.meta.main) {
  const argv = (globalThis as { process?: { argv: string[] } }).process?.argv ?? [];
  const seed = Number(argv[2] ?? 1);
  const rounds = Number(argv[3] ?? 20);
  const reserved = checkReservedNames();
  const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const seeds = loadSeeds(root);
  const counts = fuzzSeeds(seeds, seed, rounds);
  console.log(JSON.stringify({ reserved, seeds: seeds.length, seed, ...counts }));
}
