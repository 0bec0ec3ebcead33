/**
 * tools/doc_examples.ts: the rule that JSDoc examples assert what they show
 * (no result as a trailing comment), and that lib/ and mod.ts keep it.
 */
import assert from "node:assert/strict";
import { checkPaths, commentStart, trailingResults } from "../tools/doc_examples.ts";
import { DENO, ROOT, tempDir } from "./helpers.ts";

/** A JSDoc comment around `lines`. */
const jsdoc = (lines: string[]) => ["/**", ...lines.map((l) => ` * ${l}`), " */", ""].join("\n");

Deno.test("doc examples: a result shown as a trailing comment is found, with its position", () => {
  const text = jsdoc(["```ts", "half(4); // 2", "const x = f(); // 3", "```"]);
  assert.deepEqual(trailingResults(text), {
    examples: 1,
    found: [{ line: 3, col: 13 }, { line: 4, col: 19 }],
  });
});

Deno.test("doc examples: assertions, own-line comments and strings with // pass", () => {
  const text = jsdoc([
    "```ts",
    "assertEquals(half(4), 2); // checked",
    "strictEqual(f(), 1); // also checked",
    "// an explanation on its own line",
    'fetch("http://127.0.0.1/a"); const s = `//`;',
    "```",
  ]);
  assert.deepEqual(trailingResults(text), { examples: 1, found: [] });
});

Deno.test("doc examples: `ts ignore` blocks are checked; prose and other languages are not", () => {
  const text = jsdoc([
    "```ts ignore",
    "startServer(); // listens",
    "```",
    "```",
    "pseudo(); // code",
    "```",
    "```yaml",
    "jobs: {} # not ts",
    "```",
  ]) + "f(); // not in a comment\n";
  assert.deepEqual(trailingResults(text), { examples: 1, found: [{ line: 3, col: 19 }] });
});

Deno.test("doc examples: commentStart skips quotes and escapes", () => {
  assert.equal(commentStart('f("a // b"); // c'), 13);
  assert.equal(commentStart("f('it\\'s // no');"), -1);
  assert.equal(commentStart("f(1)"), -1);
});

Deno.test("doc examples: every example of lib/ and mod.ts asserts instead of commenting", () => {
  const { examples, found } = checkPaths([`${ROOT}/lib`, `${ROOT}/mod.ts`]);
  assert.deepEqual(found, []);
  assert.ok(examples > 100, `only ${examples} examples found`);
});

Deno.test("doc examples: the tool prints FILE:LINE:COL and exits 1 on an offending file", async () => {
  const dir = await tempDir({ "a.ts": jsdoc(["```ts", "half(4); // 2", "```"]) });
  const out = await new Deno.Command(DENO, {
    args: ["run", "--allow-read", `${ROOT}/tools/doc_examples.ts`, dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  assert.match(new TextDecoder().decode(out.stdout), /^.*\/a\.ts:3:13: an example shows a result/);
});
