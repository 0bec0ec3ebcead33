/**
 * `parseArgs`: the command line of CONTRACT.md, and exactly one error line
 * (a `JxInputError`) for bad input.
 */
import assert from "node:assert/strict";
import {
  COMMAND_OPTIONS,
  COMMANDS,
  OPTIONS,
  OWN_ARGS,
  parseArgs,
  SHORT,
  takesOption,
} from "../lib/cli/args.ts";
import { helpText } from "../lib/cli/help.ts";
import { LINT_HELP, parseLintArgs } from "../lib/access/cli.ts";
import { CACHE_HELP, parseCacheArgs } from "../lib/cache/cli.ts";
import { parseUiArgs, UI_HELP } from "../lib/ui/cli.ts";
import { JxInputError } from "../lib/runtime/errors.ts";
import { bashScript, ctlActions, fishScript, zshScript } from "../lib/cli/completions.ts";
import { ctlRequests } from "../lib/modules/ctl_cmd.ts";

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
  bad(["run", "-j"], /^run: -j needs a value \(see jx run --help\)$/);
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
  bad(["watch", "--debounce", "1s1s"], /--debounce: bad duration '1s1s': 's' twice/);
  // An empty ref named nothing: git was asked about '' ("not a git repository" or worse).
  bad(["run", "--changed-since="], /^--changed-since needs a value \(it is empty\)$/);
});

Deno.test("args: unknown commands and options say so, with a suggestion", () => {
  bad(["rnu"], /unknown command 'rnu'.*run/);
  bad(["run", "--jbos", "2"], /unknown option '--jbos'/);
  bad(["run", "-Z"], /unknown option '-Z'/);
  bad(["run", "--force=yes"], /--force takes no value/);
});

Deno.test("args: another tool's habits get the jx command that does it", () => {
  // just --list, task --init: the command, not an option whose spelling is near (was '--host').
  bad(["--list"], /^unknown option '--list' \(did you mean 'jx list'\?\) \(see jx --help\)$/);
  bad(["--init"], /^unknown option '--init' \(did you mean 'jx init'\?\)/);
  bad(["run", "--watch"], /^run: unknown option '--watch' \(did you mean 'jx watch'\?\)/);
  // make build, just build, task build: a word that is no command may be a job, or a var.
  bad(["build"], /^unknown command 'build' \(a job\? jx run build\) \(see jx --help\)$/);
  bad(["CC=gcc", "link"], /^unknown command 'CC=gcc' \(a var\? jx run CC=gcc\)/);
  bad(["rnu"], /^unknown command 'rnu' \(did you mean 'run'\?\) \(see jx --help\)$/);
  bad(["ls"], /^unknown command 'ls' \(did you mean 'jx list'\?\) \(see jx --help\)$/);
  bad(["version"], /^unknown command 'version' \(did you mean 'jx --version'\?\)/);
});

Deno.test("args: make's, just's, go-task's and turbo's options say what jx takes instead", () => {
  const table: [string[], string][] = [
    [
      ["run", "-C", "sub"],
      "run: unknown option '-C' (jx has no -C: -f DIR/jobs.yaml runs that file's jobs in DIR)",
    ],
    [
      ["-C", "sub", "run"],
      "unknown option '-C' (jx has no -C: -f DIR/jobs.yaml runs that file's jobs in DIR)",
    ],
    [
      ["run", "--working-directory", "sub"],
      "run: unknown option '--working-directory' (jx has no -C: -f DIR/jobs.yaml runs that file's jobs in DIR)",
    ],
    [["run", "-B"], "run: unknown option '-B' (did you mean '--force'?)"],
    [["watch", "--always-make"], "watch: unknown option '--always-make' (did you mean '--force'?)"],
    [["run", "-s"], "run: unknown option '-s' (did you mean '--output quiet'?)"],
    [["run", "--silent"], "run: unknown option '--silent' (did you mean '--output quiet'?)"],
    [["run", "--justfile", "j"], "run: unknown option '--justfile' (did you mean '-f FILE'?)"],
    [["run", "--taskfile", "t.yml"], "run: unknown option '--taskfile' (did you mean '-f FILE'?)"],
    [["run", "-l"], "run: unknown option '-l' (did you mean 'jx list'?)"],
    [["-l"], "unknown option '-l' (did you mean 'jx list'?)"],
    [
      ["run", "--parallel"],
      "run: unknown option '--parallel' (did you mean '-j N'? jobs run in parallel already)",
    ],
    [["run", "--concurrency", "4"], "run: unknown option '--concurrency' (did you mean '-j N'?)"],
    [
      ["run", "--filter", "api"],
      "run: unknown option '--filter' (an included file's jobs are named NAMESPACE:, jx run 'packages/api:')",
    ],
    [["run", "-w"], "run: unknown option '-w' (did you mean 'jx watch'?)"],
    [
      ["run", "--set", "CC", "gcc"],
      "run: unknown option '--set' (a var is set as NAME=VALUE after the job names)",
    ],
    // Not to a command that has no such option or takes no vars.
    [["list", "-s"], "list: unknown option '-s'"],
    [["init", "--env", "x"], "init: unknown option '--env'"],
    [["exec", "-B"], "exec: unknown option '-B'"],
  ];
  for (const [argv, message] of table) {
    const see = argv[0].startsWith("-") ? "jx" : `jx ${argv[0]}`;
    const escaped = `${message} (see ${see} --help)`.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    bad(argv, new RegExp(`^${escaped}$`));
  }
});

Deno.test("args: --ui, and --ui-port N (which implies --ui)", () => {
  assert.equal(parseArgs(["run"]).ui, false);
  assert.equal(parseArgs(["run", "--ui"]).ui, true);
  const a = parseArgs(["watch", "--ui-port", "8123"]);
  assert.deepEqual([a.ui, a.uiPort], [true, 8123]);
  assert.equal(parseArgs(["run", "--ui-port=0"]).uiPort, 0);
  bad(["run", "--ui-port", "http"], /^--ui-port: expected a port \(0-65535\), got 'http'$/);
  bad(["run", "--ui-port", "70000"], /--ui-port: expected a port/);
  // A duration past the longest timer (2^31-1 ms) fired at once (after 1 ms) on both runtimes.
  bad(
    ["watch", "--debounce", "99999h"],
    /^--debounce: 99999h is longer than the longest duration jx can time \(596h: 2\^31-1 ms\)$/,
  );
  assert.equal(parseArgs(["watch", "--debounce", "596h"]).debounceMs, 596 * 3600 * 1000);
  bad(["run", "--ui=1"], /^run: --ui takes no value \(see jx run --help\)$/);
});

Deno.test("args: an option of another command is refused, naming the option and the command", () => {
  const table: [string[], string][] = [
    [["run", "--format", "dot"], "run: unknown option '--format' (see jx run --help)"],
    [["run", "--format=json", "build"], "run: unknown option '--format' (see jx run --help)"],
    [["run", "--debounce", "1s"], "run: unknown option '--debounce' (see jx run --help)"],
    [["run", "--json"], "run: unknown option '--json' (see jx run --help)"],
    [["run", "--deps"], "run: unknown option '--deps' (see jx run --help)"],
    [["watch", "-n"], "watch: unknown option '-n' (see jx watch --help)"],
    [["watch", "-kn"], "watch: unknown option '-n' (see jx watch --help)"],
    [["watch", "--executor", "slurm"], "watch: unknown option '--executor' (see jx watch --help)"],
    [["watch", "--strict"], "watch: unknown option '--strict' (see jx watch --help)"],
    [["watch", "--cache-dir", "c"], "watch: unknown option '--cache-dir' (see jx watch --help)"],
    [
      ["watch", "--changed-since", "HEAD"],
      "watch: unknown option '--changed-since' (see jx watch --help)",
    ],
    [["graph", "-k"], "graph: unknown option '-k' (see jx graph --help)"],
    [["graph", "-j4"], "graph: unknown option '-j' (see jx graph --help)"],
    [["graph", "--names"], "graph: unknown option '--names' (see jx graph --help)"],
    [["list", "--format", "json"], "list: unknown option '--format' (see jx list --help)"],
    [["list", "-n"], "list: unknown option '-n' (see jx list --help)"],
    [["explain", "--force", "a"], "explain: unknown option '--force' (see jx explain --help)"],
    [
      ["explain", "--events", "e", "a"],
      "explain: unknown option '--events' (see jx explain --help)",
    ],
    [["clean", "--force"], "clean: unknown option '--force' (see jx clean --help)"],
    [["clean", "--output", "quiet"], "clean: unknown option '--output' (see jx clean --help)"],
    [["exec", "-f", "j.yaml", "make"], "exec: unknown option '-f' (see jx exec --help)"],
    [["exec", "-k", "--", "make"], "exec: unknown option '-k' (see jx exec --help)"],
    [["sh", "--output", "stream", "s.sh"], "sh: unknown option '--output' (see jx sh --help)"],
    [["sh", "-f", "j.yaml", "s.sh"], "sh: unknown option '-f' (see jx sh --help)"],
    [["ctl", "status", "-j2"], "ctl: unknown option '-j' (see jx ctl --help)"],
    [["ctl", "status", "--names"], "ctl: unknown option '--names' (see jx ctl --help)"],
    [["init", "--force"], "init: unknown option '--force' (see jx init --help)"],
    [
      ["completions", "bash", "--json"],
      "completions: unknown option '--json' (see jx completions --help)",
    ],
    [["doctor", "--format", "json"], "doctor: unknown option '--format' (see jx doctor --help)"],
    [["help", "run", "--names"], "help: unknown option '--names' (see jx --help)"],
    // Before the command: checked once the command is known.
    [["--format", "dot", "run"], "run: unknown option '--format' (see jx run --help)"],
    [["-n", "watch"], "watch: unknown option '-n' (see jx watch --help)"],
    // No option of any command: a suggestion among the command's own.
    [
      ["graph", "--formt", "json"],
      "graph: unknown option '--formt' (did you mean '--format'?) (see jx graph --help)",
    ],
  ];
  for (const [argv, message] of table) {
    assert.throws(
      () => parseArgs(argv),
      (e) => e instanceof JxInputError && e.message === message,
      argv.join(" "),
    );
  }
});

Deno.test("args: each command takes its own options, --help, --version, -v and --no-color", () => {
  for (const [command, own] of Object.entries(COMMAND_OPTIONS)) {
    if (OWN_ARGS.includes(command)) continue; // their parts parse them (the next test)
    for (const flag of [...own, "--help", "--version", "--verbose", "--no-color"]) {
      const spec = OPTIONS[flag];
      const argv = spec.value ? [command, flag, spec.value.choices?.[0] ?? "1"] : [command, flag];
      assert.doesNotThrow(() => parseArgs(argv), argv.join(" "));
    }
  }
  // After `--` (not `jx run JOB -- ARG`), words are names, not options.
  assert.deepEqual(parseArgs(["graph", "--", "-k"]).names, ["-k"]);
  assert.deepEqual(parseArgs(["run", "job", "--", "--format"]).jobArgs, ["--format"]);
  assert.deepEqual(parseArgs(["exec", "-j2", "make", "--format"]).execArgv, ["make", "--format"]);
});

/** The parsers and help texts of the commands whose parts parse their own arguments. */
const OWN_PARSERS: Record<string, { parse: (argv: string[]) => unknown; help: string }> = {
  lint: { parse: parseLintArgs, help: LINT_HELP },
  ui: { parse: parseUiArgs, help: UI_HELP },
  // prune: the action every option of the cache goes with (--max-size goes with no other).
  cache: { parse: (argv) => parseCacheArgs(["prune", ...argv]), help: CACHE_HELP },
};

Deno.test("args: every command has a row of COMMAND_OPTIONS, the table its parser agrees with", () => {
  assert.deepEqual(Object.keys(COMMAND_OPTIONS).sort(), [...COMMANDS].sort());
  assert.deepEqual(Object.keys(OWN_PARSERS).sort(), [...OWN_ARGS].sort());
  // --no-color is taken by every command (a script may pass it to any).
  for (const command of Object.keys(COMMAND_OPTIONS)) {
    assert.ok(takesOption(command, "--no-color"), `jx ${command} --no-color`);
  }
  for (const [command, { parse }] of Object.entries(OWN_PARSERS)) {
    // What the table says it takes, its parser takes (in both forms when it has a short one)...
    for (const flag of COMMAND_OPTIONS[command]) {
      const v = OPTIONS[flag].value ? ["1"] : [];
      assert.doesNotThrow(() => parse([flag, ...v]), `jx ${command} ${flag}`);
      const short = Object.entries(SHORT).find(([, l]) => l === flag)?.[0];
      if (short) assert.doesNotThrow(() => parse([`-${short}`, ...v]), `jx ${command} -${short}`);
    }
    // A misspelt option of its own is refused with a suggestion, as the other commands do.
    for (const flag of COMMAND_OPTIONS[command]) {
      const typo = flag.slice(0, -1);
      assert.throws(
        () => parse([typo, "1"]),
        (e) => e instanceof JxInputError && e.message.includes(`(did you mean '${flag}'?)`),
        `jx ${command} ${typo}`,
      );
    }
    // ... and every other option of jx it refuses, as takesOption says.
    for (const flag of Object.keys(OPTIONS).filter((f) => !takesOption(command, f))) {
      assert.throws(() => parse([flag, "1"]), JxInputError, `jx ${command} ${flag}`);
    }
  }
  // Options before such a command: bad input that says where they go.
  bad(["-f", "x.yaml", "lint"], /^lint: its options go after it \(see jx lint --help\)$/);
});

Deno.test("args: each command's help lists exactly the options it takes", () => {
  const shortOf = new Map(Object.entries(SHORT).map(([s, l]) => [l, `-${s}`]));
  for (const [command, own] of Object.entries(COMMAND_OPTIONS)) {
    if (command === "help") continue; // the general help
    const text = OWN_PARSERS[command]?.help ?? helpText(command);
    // The options table's rows and the usage line name only options the command takes, and
    // each it takes has a row (a word in the usage line or the prose is not enough).
    const usage = text.split("\n").find((l) => l.startsWith("Usage:")) ?? "";
    const rows = text.split("\n").filter((l) => /^\s+(-\w, )?--[\w-]+/.test(l));
    for (const flag of own.filter((f) => f !== "--help")) {
      const short = shortOf.get(flag);
      const row = rows.some((l) => /--[\w-]+/.exec(l)![0] === flag);
      assert.ok(row, `jx ${command} --help has no row for ${short ? `${short}, ` : ""}${flag}`);
    }
    const named = [...usage.matchAll(/--[\w-]+/g)].map((m) => m[0]).concat(
      rows.map((l) => /--[\w-]+/.exec(l)![0]),
    );
    for (const flag of named) {
      assert.ok(takesOption(command, flag), `jx ${command} --help lists ${flag}, not taken`);
    }
  }
});

/** The option words `parse` takes (alone, or with a value): jx's long options, and -a to -Z. */
function wordsTaken(parse: (argv: string[]) => unknown): string[] {
  const letters = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"].map((c) => `-${c}`);
  const values = (w: string) => ["1", ...(OPTIONS[SHORT[w.slice(1)] ?? w]?.value?.choices ?? [])];
  return [...Object.keys(OPTIONS), ...letters].filter((w) =>
    [[w], ...values(w).map((v) => [w, v])].some((argv) => {
      try {
        parse(argv);
        return true;
      } catch {
        return false;
      }
    })
  ).sort();
}

/**
 * The parser of `command` after `action` (none: the command's own): jx ctl's requests are checked
 * by ctlRequests, jx cache's by its own parser.
 */
function parserOf(command: string, action?: string): (argv: string[]) => unknown {
  if (command === "ctl" && action) {
    const operands = action === "status" ? [] : action === "publish" ? ["t", "m"] : ["api"];
    return (argv) => {
      const a = parseArgs(["ctl", action, ...argv, ...operands]);
      ctlRequests({ action, operands, json: a.json, drain: a.drain, baseDir: ".", env: {} });
    };
  }
  if (command === "cache" && action) return (argv) => parseCacheArgs([action, ...argv]);
  return OWN_PARSERS[command]?.parse ?? ((argv: string[]) => parseArgs([command, ...argv]));
}

/** The option words each script offers after `command` (and `action`, its second word). */
function offered(command: string, action = ""): { bash: string[]; zsh: string[]; fish: string[] } {
  const row = (text: string, re: string) =>
    new RegExp(`^ +${command}\\) ${re} ;;$`, "m").exec(text)!;
  // A row's words, then those it adds after an action: `; [ "$sub" = stop ] && ow+=' --drain'`.
  const [, bBase, bMore] = row(bashScript(), "ow='([^']*)'(.*)");
  const bash = [
    bBase,
    ...[...bMore.matchAll(/\[ "\$sub" = (\w+) \] && ow\+=' ([^']*)'/g)]
      .filter((m) => m[1] === action).map((m) => m[2]),
  ].join(" ");
  const [zBase, ...zMore] = row(zshScript(), "(opts=\\(.*)")[1].split("; [[ $sub == ");
  const zsh = [zBase, ...zMore.filter((p) => p.split(" ")[0] === action)].join(" ");
  // fish: a rule with no -n is for every command; one with -n names those that take it, and the
  // action it goes with, if one only.
  const fish = fishScript().split("\n")
    .filter((l) => /^complete -c jx (-s \w )?(-l [\w-]+|-n)/.test(l))
    .filter((l) => {
      const n =
        / -n '__fish_seen_subcommand_from ([^;']*)(?:; and __fish_seen_subcommand_from (\w+))?/
          .exec(l);
      return !n || (n[1].split(" ").includes(command) && (!n[2] || n[2] === action));
    })
    .flatMap((l) => [
      ...[...l.matchAll(/ -s (\w)/g)].map((m) => `-${m[1]}`),
      ...[...l.matchAll(/ -l ([\w-]+)/g)].map((m) => `--${m[1]}`),
    ]);
  const words = (t: string) => [...new Set(t.split(/\s+/).filter((w) => /^-/.test(w)))].sort();
  return {
    bash: words(bash),
    zsh: [...new Set([...zsh.matchAll(/'(-[\w-]+):/g)].map((m) => m[1]))].sort(),
    fish: [...new Set(fish)].sort(),
  };
}

Deno.test("completions: each command (each action of ctl and cache) is offered exactly the option words its parser takes (bash, zsh, fish)", () => {
  const actions: Record<string, string[]> = {
    ctl: ctlActions().all,
    cache: ["stats", "prune", "clear"],
  };
  for (const command of Object.keys(COMMAND_OPTIONS)) {
    for (const action of actions[command] ?? [undefined]) {
      const taken = wordsTaken(parserOf(command, action));
      const what = `jx ${command}${action ? ` ${action}` : ""}`;
      const by = offered(command, action);
      assert.deepEqual(by.bash, taken, `bash: ${what}`);
      assert.deepEqual(by.zsh, taken, `zsh: ${what}`);
      assert.deepEqual(by.fish, taken, `fish: ${what}`);
    }
  }
});
