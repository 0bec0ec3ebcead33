/**
 * `parseArgs`: the command line of CONTRACT.md, and exactly one error line
 * (a `JxInputError`) for bad input.
 */
import assert from "node:assert/strict";
import { parseArgs } from "../lib/cli/args.ts";
import { JxInputError } from "../lib/runtime/errors.ts";

const bad = (argv: string[], msg: RegExp) =>
  assert.throws(() => parseArgs(argv), (e) => e instanceof JxInputError && msg.test(e.message));

Deno.test("args: defaults", () => {
  const a = parseArgs(["run"]);
  assert.equal(a.command, "run");
  assert.equal(a.jobs, undefined, "no -j: the slots are resolved later (CPU count or make's pool)");
  assert.deepEqual(
    [a.keepGoing, a.dryRun, a.force, a.output, a.reactor, a.jobserverStyle, a.color],
    [false, false, false, "buffered", "auto", "auto", true],
  );
  assert.equal(parseArgs(["run"], { NO_COLOR: "1" }).color, false);
});

Deno.test("args: -j in every spelling", () => {
  for (const argv of [["-j4"], ["-j", "4"], ["--jobs", "4"], ["--jobs=4"]]) {
    assert.equal(parseArgs(["run", ...argv]).jobs, 4, argv.join(" "));
  }
  bad(["run", "-j0"], /--jobs: expected a whole number of at least 1, got '0'/);
  bad(["run", "-jx"], /--jobs: expected a whole number/);
  bad(["run", "-j"], /--jobs: missing value/);
});

Deno.test("args: bundled short flags, -fFILE, names and NAME=VALUE", () => {
  const a = parseArgs(["run", "-kn", "-fother.yaml", "build", "CC=clang", "test"]);
  assert.equal(a.keepGoing, true);
  assert.equal(a.dryRun, true);
  assert.equal(a.file, "other.yaml");
  assert.deepEqual(a.names, ["build", "test"]);
  assert.deepEqual(a.vars, { CC: "clang" });
});

Deno.test("args: after --, options are names; exec and sh keep their command's arguments", () => {
  const a = parseArgs(["list", "--", "-k", "X=1"]);
  assert.deepEqual(a.names, ["-k"]);
  assert.equal(a.keepGoing, false);
  assert.deepEqual(a.vars, { X: "1" });
  // `jx run JOB -- ARG...`: everything after `--` is the job's, options and NAME=VALUE too.
  const r = parseArgs(["run", "-k", "greet", "CC=x", "--", "-k", "X=1", "--"]);
  assert.deepEqual(r.names, ["greet"]);
  assert.deepEqual(r.vars, { CC: "x" });
  assert.deepEqual(r.jobArgs, ["-k", "X=1", "--"]);
  assert.equal(parseArgs(["run", "greet"]).jobArgs, undefined);
  assert.deepEqual(parseArgs(["run", "greet", "--"]).jobArgs, []);
  assert.deepEqual(parseArgs(["exec", "-j2", "make", "-k"]).execArgv, ["make", "-k"]);
  const sh = parseArgs(["sh", "-j3", "--", "s.sh", "-x"]);
  assert.equal(sh.jobs, 3);
  assert.deepEqual(sh.execArgv, ["s.sh", "-x"]);
});

Deno.test("args: choices and durations", () => {
  assert.equal(parseArgs(["run", "--output", "stream"]).output, "stream");
  assert.equal(parseArgs(["watch", "--debounce", "250ms"]).debounceMs, 250);
  bad(
    ["run", "--output", "streem"],
    /--output: expected one of buffered, stream, quiet, got 'streem'/,
  );
  bad(["watch", "--debounce", "soon"], /--debounce: bad duration 'soon'/);
});

Deno.test("args: unknown commands and options say so, with a suggestion", () => {
  bad(["rnu"], /unknown command 'rnu'.*run/);
  bad(["run", "--jbos", "2"], /unknown option '--jbos'/);
  bad(["run", "-Z"], /unknown option '-Z'/);
  bad(["run", "--force=yes"], /--force takes no value/);
});

Deno.test("args: --ui, and --ui-port N (which implies --ui)", () => {
  assert.equal(parseArgs(["run"]).ui, false);
  assert.equal(parseArgs(["run", "--ui"]).ui, true);
  const a = parseArgs(["watch", "--ui-port", "8123"]);
  assert.deepEqual([a.ui, a.uiPort], [true, 8123]);
  assert.equal(parseArgs(["run", "--ui-port=0"]).uiPort, 0);
  bad(["run", "--ui-port", "http"], /^--ui-port: expected a port \(0-65535\), got 'http'$/);
  bad(["run", "--ui-port", "70000"], /--ui-port: expected a port/);
  bad(["run", "--ui=1"], /^--ui takes no value$/);
});
