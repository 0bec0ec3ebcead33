/**
 * Usage errors, one wording for every command (docs/cli.md, lib/runtime/errors.ts `usageError`):
 * `jx: COMMAND: PROBLEM (see jx COMMAND --help)` on stderr, one line, nothing on stdout, exit 2
 * (CONTRACT.md), and nothing looked for: each case runs in a folder with no jobs file, so a
 * command that looked for one before checking its words would say that instead.
 */
import assert from "node:assert/strict";
import { COMMANDS } from "../../lib/cli/args.ts";
import { runJx, type Runtime, tempDir } from "../helpers.ts";

/** [argv, the line's PROBLEM] */
const CASES: [string[], string][] = [
  // A word the command does not take.
  [["list", "foo"], "unexpected argument 'foo'"],
  [["explain", "a", "b"], "unexpected argument 'b'"],
  [["init", "foo"], "unexpected argument 'foo'"],
  [["doctor", "foo"], "unexpected argument 'foo'"],
  [["completions", "bash", "extra"], "unexpected argument 'extra'"],
  [["completions", "names", "extra"], "unexpected argument 'extra'"],
  [["ctl", "status", "x"], "unexpected argument 'x'"],
  [["cache", "stats", "x"], "unexpected argument 'x'"],
  [["ui", "foo"], "unexpected argument 'foo'"],
  [["help", "graph", "extra"], "unexpected argument 'extra'"],
  [["help", "lint", "extra"], "unexpected argument 'extra'"],
  [["help", "nosuch"], "unknown command 'nosuch'"],
  [["help", "grpah"], "unknown command 'grpah' (did you mean 'graph'?)"],
  // A NAME=VALUE word to a command that takes no vars is such a word, not silently dropped.
  [["init", "X=1"], "unexpected argument 'X=1'"],
  [["doctor", "X=1"], "unexpected argument 'X=1'"],
  [["completions", "bash", "X=1"], "unexpected argument 'X=1'"],
  [["lint", "CC=clang"], "unexpected argument 'CC=clang'"],
  [["help", "run", "X=1"], "unexpected argument 'X=1'"],
  // A word the command needs.
  [["explain"], "missing JOB"],
  [["exec"], "missing COMMAND"],
  [["exec", "-j2"], "missing COMMAND"],
  [["sh"], "missing SCRIPT"],
  [["completions"], "missing SHELL (bash, zsh, fish)"],
  [["cache"], "missing ACTION (stats, prune, clear)"],
  [["ctl"], "missing ACTION (status, start, stop, restart, pause, resume, publish)"],
  [["ctl", "start"], "missing MODULE after start"],
  [["ctl", "publish"], "missing TOPIC after publish"],
  [["ctl", "publish", "t"], "missing MESSAGE after publish"],
  // A folder for the jobs file: its parent's .jx/ is no run's.
  [["ctl", "-f", ".", "status"], "-f . is a folder (-f names the jobs file)"],
  // A topic no module could subscribe to: refused before any socket is looked for.
  [
    ["ctl", "publish", "a b", "m"],
    'bad topic "a b" (a topic is letters, digits and _ . : / + -, not starting with . : / + -)',
  ],
  // A word that is none of those the command knows.
  [["completions", "bsh"], "unknown shell 'bsh' (did you mean 'bash'?)"],
  [["cache", "stat"], "unknown action 'stat' (did you mean 'stats'?)"],
  [["ctl", "stauts"], "unknown action 'stauts' (did you mean 'status'?)"],
  [["ctl", "status", "--drain"], "--drain goes with stop only"],
  [["cache", "clear", "--max-size", "1G"], "--max-size goes with prune only"],
  [["cache", "--max-size=1G", "stats"], "--max-size goes with prune only"],
  // An option without its value, or with one it does not take.
  [["run", "-f"], "-f needs a value"],
  [["list", "--file"], "--file needs a value"],
  [["ui", "-f"], "-f needs a value"],
  [["lint", "-f"], "-f needs a value"],
  [["lint", "--events="], "--events needs a value"], // it ran, writing no log
  [["lint", "--file="], "--file needs a value"],
  [["lint", "--ignore="], "--ignore needs a value"],
  [["cache", "stats", "--cache-dir"], "--cache-dir needs a value"],
  [["graph", "--no-color=1"], "--no-color takes no value"],
  [["ui", "--no-color=1"], "--no-color takes no value"],
  [["lint", "--no-color=1"], "--no-color takes no value"],
  [["cache", "stats", "--no-color=1"], "--no-color takes no value"],
  // An option cut short is the one option it begins (an edit distance named '--help' for '--keep').
  [["run", "--keep"], "unknown option '--keep' (did you mean '--keep-going'?)"],
  [["run", "--dry"], "unknown option '--dry' (did you mean '--dry-run'?)"],
  [["sh", "--check", "x.sh"], "unknown option '--check' (did you mean '--check-access'?)"],
  [["lint", "--ign", "x"], "unknown option '--ign' (did you mean '--ignore'?)"],
  [["cache", "--max", "1G", "prune"], "unknown option '--max' (did you mean '--max-size'?)"],
  [["ui", "--po", "0"], "unknown option '--po' (did you mean '--port'?)"],
  [["run", "--no"], "unknown option '--no'"], // --no-color, --no-wait...: none named
  // Every command given an option it does not know (help among them: `jx help --bogus`).
  ...COMMANDS.map((c): [string[], string] => [[c, "--bogus"], "unknown option '--bogus'"]),
];

/** Runs `cases` under `runtime`, four at a time; returns the commands they cover. */
async function check(cases: [string[], string][], runtime: Runtime): Promise<Set<string>> {
  const dir = await tempDir(); // no jobs file here, nor above (a temporary folder)
  const seen = new Set<string>();
  for (let i = 0; i < cases.length; i += 4) {
    await Promise.all(
      cases.slice(i, i + 4).map(async ([argv, problem]) => {
        // A case a bug let through acts on a store in the test's folder, never the user's.
        const env = { JX_CACHE_DIR: `${dir}/store` };
        const r = await runJx(argv, { cwd: dir, env, runtime });
        const command = argv[0];
        const help = command === "help" ? "jx --help" : `jx ${command} --help`;
        const what = `${runtime}: ${argv.join(" ")}`;
        assert.equal(r.stderr, `jx: ${command}: ${problem} (see ${help})\n`, what);
        assert.equal(r.code, 2, what);
        assert.equal(r.stdout, "", what);
        seen.add(command);
      }),
    );
  }
  await Deno.remove(dir, { recursive: true });
  return seen;
}

Deno.test("usage errors: one wording, one line, exit 2, for every command", async () => {
  const seen = await check(CASES, "deno");
  assert.deepEqual([...seen].sort(), [...COMMANDS].sort(), "every command has a case");
});

Deno.test("usage errors on Bun: each parser's (the common one, ui, cache, lint, ctl, help)", async () => {
  const parsers = ["list foo", "ui foo", "cache stat", "lint -f", "ctl stauts", "help grpah", "sh"];
  const cases = CASES.filter(([argv]) => parsers.includes(argv.join(" ")));
  assert.equal(cases.length, parsers.length);
  await check(cases, "bun");
});

Deno.test("usage errors: a first word naming a YAML file is still -f (list, explain)", async () => {
  const dir = await tempDir({ "other.yaml": "jobs:\n  only: { run: 'true' }\n" });
  const list = await runJx(["list", "other.yaml"], { cwd: dir });
  assert.deepEqual([list.code, list.stdout], [0, "Jobs:\n  only\n"]);
  const extra = await runJx(["list", "other.yaml", "only"], { cwd: dir });
  assert.equal(extra.stderr, "jx: list: unexpected argument 'only' (see jx list --help)\n");
  const none = await runJx(["explain", "other.yaml"], { cwd: dir });
  assert.equal(none.stderr, "jx: explain: missing JOB (see jx explain --help)\n");
  const one = await runJx(["explain", "other.yaml", "only"], { cwd: dir });
  assert.equal(one.code, 0, one.stderr);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("jx cache: --help and its usage errors come before the store and JX_CACHE_MAX_SIZE are read", async () => {
  const dir = await tempDir();
  // A bad JX_CACHE_MAX_SIZE made `jx cache --help` fail and hid the usage error behind it.
  const env = { JX_CACHE_DIR: `${dir}/store`, JX_CACHE_MAX_SIZE: "lots" };
  const help = await runJx(["cache", "--help"], { cwd: dir, env });
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: jx cache /);
  const bad = await runJx(["cache", "frob"], { cwd: dir, env });
  assert.deepEqual(
    [bad.code, bad.stderr],
    [2, "jx: cache: unknown action 'frob' (see jx cache --help)\n"],
  );
  // A --max-size that is no size is worded as every option's bad value, and opens no store.
  const size = await runJx(["cache", "prune", "--max-size", "lots"], {
    cwd: dir,
    env: { JX_CACHE_DIR: `${dir}/store` },
  });
  assert.deepEqual(
    [size.code, size.stderr],
    [2, "jx: --max-size: expected a size (like 500M or 10G), got 'lots'\n"],
  );
  assert.equal(await Deno.stat(`${dir}/store`).then(() => true, () => false), false);
  await Deno.remove(dir, { recursive: true });
});
