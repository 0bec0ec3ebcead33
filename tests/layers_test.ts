/**
 * tools/layers.ts's rule 4: runtime globals only in lib/runtime/ (and the
 * tree as it is keeps it).
 */
import assert from "node:assert/strict";
import { globalsOf } from "../tools/layers.ts";

Deno.test("layers: globalThis, Deno/Bun members and the process global are found outside lib/runtime/", () => {
  const text = [
    "const g = (globalThis as any).Deno;",
    "const a = Deno.args, b = Bun.version;",
    "const c = new Deno.Command('x');",
    "const d = `${process.pid}.tmp`;",
  ].join("\n");
  assert.deepEqual(globalsOf("lib/graph/x.ts", text), [
    "lib/graph/x.ts:1: globalThis: through lib/runtime/",
    "lib/graph/x.ts:2: Deno.args: through lib/runtime/",
    "lib/graph/x.ts:2: Bun.version: through lib/runtime/",
    "lib/graph/x.ts:3: new Deno.Command: through lib/runtime/",
    "lib/graph/x.ts:4: process.pid: through lib/runtime/",
  ]);
  assert.deepEqual(globalsOf("lib/runtime/mod.ts", text), []);
});

Deno.test("layers: types, comments, strings and node:process are not runtime globals", () => {
  const text = [
    'import process from "node:process";',
    "let conn: Deno.Conn | undefined;",
    "// Deno.exit(1) would skip the reporters",
    " * `globalThis.Deno` in JSDoc",
    'const msg = "use Deno.env";',
    "const p = process.pid;",
  ].join("\n");
  assert.deepEqual(globalsOf("lib/modules/x.ts", text), []);
});

Deno.test("layers: the tree keeps rule 4 (lib/, cli.ts, mod.ts)", async () => {
  const { sourceFiles } = await import("../tools/layers.ts");
  const problems: string[] = [];
  for (const [f, text] of sourceFiles()) problems.push(...globalsOf(f, text));
  assert.deepEqual(problems, []);
});

Deno.test("layers: a dynamic import of jx's own module is written lazy (rule 5), over lines too", async () => {
  const { check, importsOf, rulesOf } = await import("../tools/layers.ts");
  const text = [
    'const a = await import("./a.ts");',
    'const b = await import("./b.ts" as string) as typeof import("./b.ts");',
    "const c = await import(",
    '  "./c.ts" as string',
    ') as typeof import("./c.ts");',
    'type T = typeof import("./d.ts");',
  ].join("\n");
  assert.deepEqual(
    importsOf(text).map((i) => [i.spec, i.line, i.lazy]),
    [["./a.ts", 1, false], ["./b.ts", 2, true], ["./c.ts", 3, true]],
  );
  const rules = rulesOf("- `cli/` (depends on: —): the commands\n");
  const files = new Map([["lib/cli/x.ts", text], ["lib/cli/a.ts", ""], ["lib/cli/b.ts", ""]]);
  assert.deepEqual(check(files, rules), [
    'lib/cli/x.ts:1: write it import("./a.ts" as string) (ARCHITECTURE.md, "Lazy imports")',
  ]);
});

Deno.test("layers: a template or a space before the parenthesis is a dynamic import too", async () => {
  const { importsOf } = await import("../tools/layers.ts");
  const text = ["const e = await import(`./e.ts`);", 'const f = await import ("./f.ts");'].join(
    "\n",
  );
  assert.deepEqual(importsOf(text).map((i) => [i.spec, i.lazy]), [["./e.ts", false], [
    "./f.ts",
    false,
  ]]);
});

Deno.test("layers rule 6: a node: or npm: module on the run path is found, a lazy or typed one is not", async () => {
  const { nodeOnRunPath } = await import("../tools/layers.ts");
  const files = new Map([
    [
      "cli.ts",
      'import { a } from "./lib/cli/a.ts";\nconst b = await import("./lib/cli/b.ts" as string);\n',
    ],
    [
      "lib/cli/a.ts",
      [
        'import type * as Fs from "node:fs";',
        'import { c } from "./c.ts";',
        "/**",
        ' * import { d } from "./d.ts";',
        " */",
        "export const a = 1;",
      ].join("\n"),
    ],
    ["lib/cli/b.ts", 'import { readFileSync } from "node:fs";\n'],
    ["lib/cli/c.ts", 'const y = await import("npm:yaml@2.9.1");\n'],
    ["lib/cli/d.ts", 'import process from "node:process";\n'],
  ]);
  assert.deepEqual(
    nodeOnRunPath(files, ["cli.ts"]).map((p) => p.split(":").slice(0, 3).join(":")),
    [
      "lib/cli/c.ts:1: npm",
    ],
  );
});

Deno.test("layers rule 6: bare names and wrapped top-level imports are caught; the real run path, with the yaml package slipped in", async () => {
  const { nodeOnRunPath, runtimeModulesOf, sourceFiles } = await import("../tools/layers.ts");
  assert.deepEqual(
    runtimeModulesOf('import { parse } from "yaml";\nconst x = await import(\n  "node:fs"\n);\n'),
    [
      [1, "yaml"],
      [2, "node:fs"],
    ],
  );
  const files = sourceFiles();
  assert.deepEqual(nodeOnRunPath(files), []);
  // The fast YAML front end taking the package again: found through graph/load.ts.
  const fast = "lib/graph/fast_yaml.ts";
  files.set(fast, 'import { parse } from "../runtime/yaml.ts";\n' + files.get(fast));
  assert.match(nodeOnRunPath(files).join("\n"), /^lib\/runtime\/yaml\.ts:\d+: (npm:)?yaml/m);
});

Deno.test("layers rule 6: an expression or a type is no import; a top-level import() with or without await is", async () => {
  const { runtimeModulesOf } = await import("../tools/layers.ts");
  const text = [
    "export const N = 1;",
    'function f(p: string) { throw new Error(`read from "${p}"`); }',
    'type B = typeof import("bun:ffi");',
    'type C = import("bun:ffi").FFIType;',
    "const m = import(`node:fs`);",
    'const [a] = await Promise.all([import("npm:yaml@2.9.1")]);',
  ].join("\n");
  assert.deepEqual(runtimeModulesOf(text), [[5, "node:fs"], [6, "npm:yaml@2.9.1"]]);
});
