/** The dotenv and depfile parsers on their own. */
import assert from "node:assert/strict";
import { parseDotenv } from "../lib/graph/dotenv.ts";
import { JxInputError } from "../lib/graph/mod.ts";
import { checkDepfile, parseDepfile } from "../lib/graph/depfile.ts";

Deno.test("dotenv: comments, export, quotes, escapes, multi-line double quotes", () => {
  const text = [
    "# a comment",
    "",
    "export A=1",
    "B = spaced value  # trailing comment",
    "C='single $NOT \\n literal'",
    'D="tab\\there \\"q\\" \\$X"',
    'E="two',
    'lines"',
    "F=",
    "G=a#b",
    "  H=indented\r",
  ].join("\n");
  assert.deepEqual({ ...parseDotenv(text, ".env") }, {
    A: "1",
    B: "spaced value",
    C: "single $NOT \\n literal",
    D: 'tab\there "q" $X',
    E: "two\nlines",
    F: "",
    G: "a#b",
    H: "indented",
  });
});

Deno.test("dotenv: a CRLF file's line break inside quotes is \\n (a lone \\r stays)", () => {
  const text = 'A="two\r\nlines"\r\nB=\'x\r\ny\'\r\nC="a\rb"\r\nD="\\r\\n"\r\n';
  assert.deepEqual({ ...parseDotenv(text, ".env") }, {
    A: "two\nlines",
    B: "x\ny",
    C: "a\rb",
    D: "\r\n",
  });
});

Deno.test("dotenv: malformed lines are refused at their line and column", () => {
  const bad: [string, string][] = [
    ["A=1\nnot a line\n", ".env:2:5: expected '=' after not"],
    ["A=1\nB\n", ".env:2:2: expected '=' after B"],
    ['A="open\n', ".env:1:3: unclosed double quote"],
    ["A='x' y\n", ".env:1:7: unexpected text after the value"],
    ['A="\\q"\n', ".env:1:6: unknown escape \\q"],
    ["1A=x\n", ".env:1:1: invalid variable name '1A'"],
  ];
  for (const [text, msg] of bad) {
    assert.throws(() => parseDotenv(text, ".env"), (e: unknown) => {
      assert.ok(e instanceof JxInputError);
      assert.ok(e.format().startsWith(msg), `${JSON.stringify(text)}: ${e.format()}`);
      return true;
    });
  }
});

Deno.test("depfile: gcc -MD -MP, clang, rustc dep-info", () => {
  // gcc -MMD -MP: escaped spaces, continuations, phony targets.
  assert.deepEqual(
    parseDepfile(
      "out/a.o: src/a.c include/my\\ h.h \\\n include/common.h\ninclude/my\\ h.h:\ninclude/common.h:\n",
    ),
    ["src/a.c", "include/my h.h", "include/common.h"],
  );
  // Several targets, `$$`, `\#`, CRLF.
  assert.deepEqual(parseDepfile("a.o a.d: x$$y.h h\\#1.h\r\n"), ["x$y.h", "h#1.h"]);
  // rustc --emit=dep-info: one rule per output, then each source as a phony rule.
  const rustc = [
    "/p/target/debug/deps/app-1.d: src/main.rs src/util.rs",
    "",
    "/p/target/debug/deps/app-1: src/main.rs src/util.rs",
    "",
    "src/main.rs:",
    "src/util.rs:",
    "",
  ].join("\n");
  assert.deepEqual(parseDepfile(rustc), ["src/main.rs", "src/util.rs"]);
  // A single-letter target and an empty file.
  assert.deepEqual(parseDepfile("a: b\n"), ["b"]);
  assert.deepEqual(parseDepfile(""), []);
});

Deno.test("depfile: the first line that is no rule is found at its line; gcc's, clang's and rustc's forms have none", () => {
  const fine = [
    "out/a.o: src/a.c include/my\\ h.h \\\n include/common.h\ninclude/my\\ h.h:\ninclude/common.h:\n",
    "a.o a.d: x$$y.h h\\#1.h\r\n",
    "/p/app-1.d: src/main.rs\n\nsrc/main.rs:\n",
    "# a comment\n\na: b\n",
    "",
  ];
  for (const text of fine) assert.equal(checkDepfile(text).problem, undefined, text);
  // A CRLF file's continuations (`\\` before CR LF) join as LF ones do.
  assert.deepEqual(checkDepfile("a.o: b.c \\\r\n c.h\r\nd.o: e.c\r\n"), {
    inputs: ["b.c", "c.h", "e.c"],
  });
  // Counted in the file's own lines, continuations included.
  assert.deepEqual(checkDepfile("a.o: a.c \\\n  a.h \\\n  b.h\njunk here\nc.o: c.c\nmore junk\n"), {
    inputs: ["a.c", "a.h", "b.h", "c.c"],
    problem: { line: 4, why: "not a make rule (TARGET: PREREQUISITES)" },
  });
  assert.deepEqual(checkDepfile("a.o: a.c\n\0\0\n").problem, {
    line: 2,
    why: "not text (a NUL byte)",
  });
});

Deno.test("depfile: a job with one is never cached (its key could not cover the headers)", async () => {
  const { cacheable } = await import("../lib/cache/key.ts");
  const { parseJobsFile } = await import("../lib/graph/mod.ts");
  const g = parseJobsFile(
    "jobs:\n  cc: { run: x, reads: [a.c], writes: [a.o], depfile: a.d }\n" +
      "  plain: { run: x, reads: [a.c], writes: [b.o] }\n",
    "/p/jobs.yaml",
  );
  assert.equal(cacheable(g.get("cc")), false);
  assert.equal(cacheable(g.get("plain")), true);
});
