/**
 * Text from outside jx with control characters in it (a bad job name, a
 * `needs` name, a description, a name an `emits: jobs` line makes, a path,
 * a `foreach` item) is shown in jx's own lines with those characters
 * escaped (docs/security.md), on each runtime; a job's own output is
 * passed through as it came.
 */
import assert from "node:assert/strict";
import { runJx, RUNTIMES, tempDir } from "../helpers.ts";

/** Any character jx escapes in its own lines, but the newline that ends each. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]/;
const NAME_RULE = "(letters, digits and _ . : / + - ; starting with a letter, digit or _)";

for (const runtime of RUNTIMES.filter((r) => r !== "binary")) {
  Deno.test(`${runtime}: an invalid job name with ESC is quoted escaped in the error line`, async () => {
    const dir = await tempDir({
      "jobs.yaml": 'version: 1\njobs:\n  "a\\e[2Jb":\n    run: "true"\n',
    });
    const r = await runJx(["list"], { cwd: dir, runtime });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `jobs.yaml:3:3: jobs: invalid name 'a\\e[2Jb' ${NAME_RULE}\n`);
  });

  Deno.test(`${runtime}: a needs name with ESC is quoted escaped in 'unknown job'`, async () => {
    const dir = await tempDir({
      "jobs.yaml": 'version: 1\njobs:\n  b:\n    run: "true"\n    needs: ["no\\e[31mpe"]\n',
    });
    const r = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "jobs.yaml:5:13: jobs.b.needs[0]: unknown job 'no\\e[31mpe' in needs\n");
  });

  Deno.test(`${runtime}: jx list shows a description's OSC title sequence escaped`, async () => {
    const dir = await tempDir({
      "jobs.yaml":
        'version: 1\njobs:\n  a:\n    description: "x\\e]0;title\\a y"\n    run: "true"\n  b:\n    run: "true"\n',
    });
    const r = await runJx(["list"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Jobs:\n  a  x\\e]0;title\\x07 y\n  b\n");
  });

  Deno.test(`${runtime}: a name an emits: jobs line makes with \\u001b is escaped`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `version: 1
jobs:
  gen:
    run: "printf '{\\"name\\":\\"bad\\\\\\\\u001b[31mX\\",\\"run\\":\\"true\\"}\\\\n'"
    emits: jobs
`,
    });
    for (const output of ["buffered", "stream"]) {
      const r = await runJx(["run", "--output", output], { cwd: dir, runtime });
      assert.equal(r.code, 1, r.stderr);
      const why = `gen stdout:1:1: jobs.bad\\e[31mX.name: invalid name 'bad\\e[31mX' ${NAME_RULE}`;
      const lines = r.stderr.split("\n");
      assert.ok(lines.includes(`jx: ${why}`), r.stderr);
      // The reason is said once (above); the generator's line names the bad line.
      assert.ok(
        lines.some((l) => l.startsWith("  ✗ gen: FAILED (bad job on stdout line 1; exit 0, ")),
        r.stderr,
      );
      assert.equal(lines.filter((l) => l.includes(why)).length, 1, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, CONTROL);
    }
  });

  Deno.test(`${runtime}: stream prefixes and -n escape a foreach name; the job's output is its own`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `version: 1
jobs:
  c:
    foreach: ["x\\e]0;t\\a"]
    run: "printf '\\\\033[1mbold\\\\n'"
`,
    });
    const r = await runJx(["run", "--output", "stream"], { cwd: dir, runtime });
    if (r.code === 2) {
      // The loader refuses such a name: its error line is escaped instead.
      assert.doesNotMatch(r.stderr.trimEnd(), CONTROL);
      return;
    }
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "[c[x\\e]0;t\\x07]]  \x1b[1mbold\n");
    const dry = await runJx(["run", "-n", "--force"], { cwd: dir, runtime });
    assert.equal(dry.stdout, "c[x\\e]0;t\\x07]: printf '\\033[1mbold\\n'\n");
  });
}

Deno.test("graph --format mermaid: a newline in a path or a name stays inside its label", async () => {
  const dir = await tempDir({
    "jobs.yaml": `version: 1
jobs:
  a:
    run: "true"
    writes: ["f\\nx"]
  b:
    run: "true"
    reads: ["f\\nx"]
`,
  });
  const r = await runJx(["graph", "--format", "mermaid"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'flowchart LR\n  j0["a"]\n  j1["b"]\n  j0 -->|"writes f\\nx -> reads f\\nx"| j1\n',
  );
  const named = await tempDir({
    "jobs.yaml": 'version: 1\njobs:\n  c:\n    foreach: ["a\\nb"]\n    run: "true"\n',
  });
  const g = await runJx(["graph", "--format", "mermaid"], { cwd: named });
  if (g.code === 2) return assert.doesNotMatch(g.stderr.trimEnd(), CONTROL); // name refused
  assert.equal(g.code, 0, g.stderr);
  assert.equal(g.stdout, 'flowchart LR\n  j0["c[a\\nb]"]\n');
});

Deno.test("graph --format mermaid: quotes, bars, # and HTML tags in a path show as written", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:\n  a: { run: "true", writes: ['<b>o#quot;|"&'] }\n` +
      `  b: { run: "true", reads: ['<b>o#quot;|"&'] }\n`,
  });
  const r = await runJx(["graph", "--format", "mermaid"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const shown = "#lt;b>o#35;quot;#124;#quot;#amp;";
  assert.equal(
    r.stdout,
    `flowchart LR\n  j0["a"]\n  j1["b"]\n  j0 -->|"writes ${shown} -> reads ${shown}"| j1\n`,
  );
});

Deno.test("graph --format mermaid: a '%%{' in a name is no directive (mermaid dropped the rest of the text)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `jobs:\n  a: { run: "true", foreach: ["%%{init x"] }\n` +
      `  b: { run: "true", needs: [a] }\n`,
  });
  const r = await runJx(["graph", "--format", "mermaid"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    `flowchart LR\n  j0["a[#37;#37;{init x]"]\n  j1["b"]\n  j0 -->|"needs a"| j1\n`,
  );
});

Deno.test("jx explain shows a path's newline and ESC escaped", async () => {
  const dir = await tempDir({
    "jobs.yaml": `version: 1
jobs:
  a:
    run: "true"
    writes: ["f\\nx\\eM"]
  b:
    run: "true"
    reads: ["f\\nx\\eM"]
`,
  });
  const r = await runJx(["explain", "b"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout.replaceAll("\n", ""), CONTROL);
  assert.ok(r.stdout.includes("    a (writes f\\nx\\eM -> reads f\\nx\\eM)\n"), r.stdout);
});
