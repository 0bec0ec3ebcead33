/**
 * The invalid-input corpus: every `tests/bad/NN-name.yaml` must be rejected
 * with exactly the `FILE:LINE:COL: message` written in its header:
 *
 * ```yaml
 * # expect: <message after "FILE:LINE:COL: ">
 * # at: LINE:COL
 * # todo: loader        (optional: the loader does not say this yet; test ignored)
 * ```
 *
 * @module
 */
import assert from "node:assert/strict";
import { JxInputError, parseJobsFile } from "../lib/graph/mod.ts";
import { ROOT, runJx, RUNTIMES } from "./helpers.ts";
const BAD_DIR = "tests/bad";

interface BadCase {
  /** Path relative to the repository root, as given to the loader. */
  file: string;
  text: string;
  /** The whole expected line, `FILE:LINE:COL: message`. */
  expected: string;
  /** The loader does not produce `expected` yet. */
  todo: boolean;
}

function readCase(name: string): BadCase {
  const file = `${BAD_DIR}/${name}`;
  const text = Deno.readTextFileSync(`${ROOT}/${file}`);
  const [l1 = "", l2 = "", l3 = ""] = text.split("\n");
  const expect = /^# expect: (.+)$/.exec(l1);
  const at = /^# at: (\d+):(\d+)$/.exec(l2);
  if (!expect || !at) {
    throw new Error(
      `${file}: the first two lines must be '# expect: MESSAGE' and '# at: LINE:COL'`,
    );
  }
  return {
    file,
    text,
    expected: `${file}:${at[1]}:${at[2]}: ${expect[1]}`,
    todo: l3 === "# todo: loader",
  };
}

const cases: BadCase[] = [...Deno.readDirSync(`${ROOT}/${BAD_DIR}`)]
  .filter((e) => e.isFile && /^\d{2,3}-[a-z0-9-]+\.yaml$/.test(e.name))
  .map((e) => e.name)
  .sort()
  .map(readCase);

if (cases.length < 35) {
  throw new Error(`expected at least 35 files in ${BAD_DIR}, found ${cases.length}`);
}

/** Parses in-process and returns the formatted error line. */
function errorLine(text: string, file: string): string {
  try {
    parseJobsFile(text, file);
  } catch (e) {
    assert.ok(
      e instanceof JxInputError,
      `${file}: threw a non-input error: ${(e as Error)?.stack}`,
    );
    assert.equal(e.exitCode, 2);
    return e.format();
  }
  assert.fail(`${file}: loaded without an error`);
}

for (const c of cases) {
  Deno.test({
    name: `bad corpus: ${c.file}${c.todo ? " (todo: loader)" : ""}`,
    ignore: c.todo,
    fn() {
      assert.equal(errorLine(c.text, c.file), c.expected);
      if (c.file.endsWith("-empty-file.yaml")) {
        // The header comments are the only content; a truly empty file says the same.
        assert.equal(errorLine("", c.file), c.expected);
      }
    },
  });
}

Deno.test("bad corpus: the CLI prints exactly one error line, exits 2 and runs nothing", async () => {
  const picked = [
    "06-unknown-job-key-rnu.yaml",
    "29-cycle-3.yaml",
    "42-reads-unknown-var.yaml",
  ].map((name) => {
    const c = cases.find((k) => k.file === `${BAD_DIR}/${name}`);
    assert.ok(c && !c.todo, `${name}: missing from the corpus or marked todo`);
    return c;
  });
  const dec = new TextDecoder();
  for (const c of picked) {
    const out = await new Deno.Command(`${ROOT}/node_modules/.bin/deno`, {
      args: ["run", "-A", "cli.ts", "run", "-f", c.file],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = dec.decode(out.stdout);
    const stderr = dec.decode(out.stderr);
    assert.equal(out.code, 2, `${c.file}: exit code (stderr: ${stderr})`);
    assert.doesNotMatch(stderr, /^\s+at /m, `${c.file}: stack trace on stderr`);
    assert.equal(stderr, `${c.expected}\n`, `${c.file}: stderr must be exactly one line`);
    assert.equal(stdout, "", `${c.file}: stdout must be empty`);
  }
});

for (const rt of RUNTIMES.filter((r) => r !== "deno")) {
  Deno.test(`bad corpus on ${rt}: every case's line exactly as on Deno (no engine's own words)`, async () => {
    // A bad ready.log regex quoted the engine's message: V8's on Deno, JavaScriptCore's on Bun.
    for (const c of cases.filter((k) => !k.todo)) {
      const r = await runJx(["list", "-f", c.file], { cwd: ROOT, runtime: rt });
      assert.equal(r.code, 2, `${c.file}: ${r.stderr}`);
      assert.equal(r.stderr, `${c.expected}\n`, c.file);
    }
  });
}
