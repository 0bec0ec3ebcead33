/**
 * Command-line parsing: the options of docs/cli.md, `NAME=VALUE` variable
 * overrides, and job names.
 *
 * @module
 */
import { didYouMean, JxInputError, noValue, optionHint, usageError } from "../runtime/errors.ts";
import { physicalFile } from "../runtime/fs.ts";
import { MAX_DURATION_MS, parseDuration, repeatedUnit } from "../graph/duration.ts";

/** Parsed command line. */
export interface Args {
  command: string;
  file?: string;
  jobs?: number;
  keepGoing: boolean;
  dryRun: boolean;
  force: boolean;
  noWait: boolean;
  debounceMs: number;
  onBusy: "restart" | "queue" | "ignore";
  poll: boolean;
  output: "buffered" | "stream" | "quiet";
  events?: string;
  trace?: string;
  reactor: "auto" | "epoll" | "portable";
  jobserverStyle: "auto" | "pipe" | "fifo" | "none";
  color: boolean;
  verbose: boolean;
  format: "dot" | "mermaid" | "json" | "html";
  help: boolean;
  version: boolean;
  /** `jx list --names`: bare job and module names, one per line. */
  namesOnly: boolean;
  /** `jx ctl status --json`: the status as JSON. */
  json: boolean;
  /** `jx ctl stop --drain`: deliver the queued messages, then stop (a poison pill). */
  drain: boolean;
  /** `jx clean --deps`: also what the named jobs wait for. */
  deps: boolean;
  /** `jx run --all`, `jx watch --all`: every job, whatever the file's `default:` says. */
  all: boolean;
  /** Job names (and, for `ctl`, the action's arguments). */
  names: string[];
  /**
   * `jx exec`: the command and its arguments; `jx sh`: the script and its
   * arguments (everything after `--` or the first operand).
   */
  execArgv?: string[];
  /** `jx sh -s`: the script is read from stdin; `execArgv` holds its arguments. */
  stdinScript?: boolean;
  /** `jx run --changed-since REF`: only jobs reading files git reports changed since REF. */
  changedSince?: string;
  /** `jx run JOB -- ARG...`: the job's arguments (undefined without `--`). */
  jobArgs?: string[];
  vars: Record<string, string>;
  /** Warnings to print before running. */
  warnings: string[];
  /**
   * Set once the load warned that a `NAME=VALUE` names no variable of the jobs files: such a run
   * leaves no no-op record (the fast path, which reads no jobs file, could not warn again).
   */
  varsWarned?: boolean;
  /** `--executor`: where jobs run unless the jobs file says (default: local). */
  executor?: "local" | "slurm";
  /** `jx run --ui`, `jx watch --ui`: serve the live page (docs/ui.md); `--ui-port N` implies it. */
  ui: boolean;
  uiPort?: number;
  /** `jx run --check-access`: trace the jobs that run, report findings (docs/lint.md). */
  checkAccess?: boolean;
  /** `jx run --strict`: as `--check-access`, and any finding fails the run. */
  strict?: boolean;
  /** The output cache (docs/cache.md): `--cache-dir`, `--remote-cache`, read-only, `--no-cache`. */
  cacheDir?: string;
  remoteCache?: string;
  remoteCacheReadOnly?: boolean;
  noCache?: boolean;
}

/**
 * How one long option is parsed: the field it sets, from a value or to a constant. An option that
 * only a command parsing its own arguments takes (`OWN_ARGS`: `--ignore`, `--port`...) sets no
 * field here: it is listed for the completions and refused by every command parsed here.
 */
export interface OptSpec {
  key?: keyof Args;
  /** Parses the option's value; `choices` lists the accepted values, if they are few. */
  value?: ((v: string, flag: string) => unknown) & { choices?: string[] };
  set?: unknown;
}

const choice = <T extends string>(values: T[]) =>
  Object.assign((v: string, flag: string): T => {
    if (!values.includes(v as T)) {
      throw new JxInputError(
        `${flag}: expected one of ${values.join(", ")}, got '${v}'${didYouMean(v, values)}`,
      );
    }
    return v as T;
  }, { choices: values });

const positiveInt = (v: string, flag: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1) {
    throw new JxInputError(`${flag}: expected a whole number of at least 1, got '${v}'`);
  }
  return Number(v);
};

const str = (v: string) => v;

/** A path or URL: an empty value names nothing (`--cache-dir=` would be the current folder). */
const nonEmpty = (v: string, flag: string): string => {
  if (v === "") throw new JxInputError(`${flag} needs a value (it is empty)`);
  return v;
};

const port = (v: string, flag: string): number => {
  if (!/^\d+$/.test(v) || Number(v) > 65535) {
    throw new JxInputError(`${flag}: expected a port (0-65535), got '${v}'`);
  }
  return Number(v);
};

const durationMs = (v: string, flag: string): number => {
  const ms = parseDuration(v);
  if (ms === undefined) {
    const twice = repeatedUnit(v);
    const why = twice ? `: '${twice}' twice (give each unit once)` : " (use e.g. 100ms, 1s)";
    throw new JxInputError(`${flag}: bad duration '${v}'${why}`);
  }
  if (ms > MAX_DURATION_MS) {
    throw new JxInputError(
      `${flag}: ${v} is longer than the longest duration jx can time (596h: 2^31-1 ms)`,
    );
  }
  return ms;
};

/** The long options (completions are generated from this table). */
export const OPTIONS: Record<string, OptSpec> = {
  "--file": { key: "file", value: (v, flag) => physicalFile(nonEmpty(v, flag)) },
  "--jobs": { key: "jobs", value: positiveInt },
  "--keep-going": { key: "keepGoing", set: true },
  "--dry-run": { key: "dryRun", set: true },
  "--force": { key: "force", set: true },
  "--no-wait": { key: "noWait", set: true },
  "--debounce": { key: "debounceMs", value: durationMs },
  "--on-busy": { key: "onBusy", value: choice(["restart", "queue", "ignore"]) },
  "--poll": { key: "poll", set: true },
  "--output": { key: "output", value: choice(["buffered", "stream", "quiet"]) },
  "--events": { key: "events", value: nonEmpty },
  "--trace": { key: "trace", value: nonEmpty },
  "--reactor": { key: "reactor", value: choice(["auto", "epoll", "portable"]) },
  "--jobserver-style": {
    key: "jobserverStyle",
    value: choice(["auto", "pipe", "fifo", "none"]),
  },
  "--no-color": { key: "color", set: false },
  "--verbose": { key: "verbose", set: true },
  "--format": { key: "format", value: choice(["dot", "mermaid", "json", "html"]) },
  "--help": { key: "help", set: true },
  "--version": { key: "version", set: true },
  "--names": { key: "namesOnly", set: true },
  "--json": { key: "json", set: true },
  "--drain": { key: "drain", set: true },
  "--executor": { key: "executor", value: choice(["local", "slurm"]) },
  "--ui": { key: "ui", set: true },
  "--ui-port": { key: "uiPort", value: port },
  // Checking declarations (`jx run`, docs/lint.md).
  "--check-access": { key: "checkAccess", set: true },
  "--strict": { key: "strict", set: true },
  "--cache-dir": { key: "cacheDir", value: nonEmpty },
  "--remote-cache": { key: "remoteCache", value: nonEmpty },
  "--remote-cache-read-only": { key: "remoteCacheReadOnly", set: true },
  "--no-cache": { key: "noCache", set: true },
  "--changed-since": { key: "changedSince", value: nonEmpty },
  "--deps": { key: "deps", set: true },
  "--all": { key: "all", set: true },
  // Taken only by the commands whose part parses its arguments (OWN_ARGS).
  "--ignore": { value: str },
  "--port": { value: port },
  "--host": { value: nonEmpty },
  "--max-size": { value: nonEmpty },
};

/** Short options and the long option each stands for. */
export const SHORT: Record<string, string> = {
  f: "--file",
  j: "--jobs",
  k: "--keep-going",
  n: "--dry-run",
  v: "--verbose",
  h: "--help",
  V: "--version",
};

/**
 * Short options with no long form, by command: `jx sh -s` (the script from stdin, as `sh -s`),
 * parsed apart from `OPTIONS` (`parseArgs`); for the completions.
 */
export const SHORT_ONLY: Record<string, readonly string[]> = { sh: ["-s"] };

/**
 * Options that go with one action of their command only (`jx ctl stop --drain`, `jx cache prune
 * --max-size`: refused after any other by modules/ctl_cmd.ts and cache/cli.ts); the completions
 * offer each after its action.
 */
export const ACTION_OPTIONS: Record<string, Record<string, string>> = {
  ctl: { "--drain": "stop" },
  cache: { "--max-size": "prune" },
};

/** The commands jx knows. */
export const COMMANDS = [
  "run",
  "watch",
  "list",
  "graph",
  "ui",
  "explain",
  "clean",
  "exec",
  "sh",
  "lint",
  "cache",
  "ctl",
  "init",
  "completions",
  "doctor",
  "help",
];

/**
 * The commands whose own part parses their arguments (`jx cache`, `jx ui`, `jx lint`: main.ts
 * hands them the words after their name). `COMMAND_OPTIONS` lists what each takes all the same,
 * for the completions; tests/args_test.ts checks that their parsers and help texts agree with it.
 */
export const OWN_ARGS = ["cache", "ui", "lint"];

/**
 * Options every command parsed here takes: help, the version, `-v` (an internal error's stack)
 * and `--no-color` (a script may pass it to any command; those that print no colour ignore it).
 */
const EVERY_COMMAND = ["--help", "--version", "--verbose", "--no-color"];

/** What `run` and `watch` share: the jobs file, the slots, the output, the live page. */
const RUNS = [
  "--file",
  "--all",
  "--jobs",
  "--keep-going",
  "--force",
  "--no-wait",
  "--output",
  "--events",
  "--trace",
  "--reactor",
  "--jobserver-style",
  "--no-color",
  "--ui",
  "--ui-port",
];

/** The output cache's stores (docs/cache.md): `run`, and `explain`, which shows a job's key. */
const CACHE_STORES = ["--cache-dir", "--remote-cache", "--no-cache"];

/**
 * The long options each command takes besides `EVERY_COMMAND`'s; any other is bad input naming
 * the command (`jx: run: unknown option '--format' (see jx run --help)`). Each command's help
 * lists exactly these (tests/args_test.ts).
 */
export const COMMAND_OPTIONS: Record<string, readonly string[]> = {
  run: [
    ...RUNS,
    "--dry-run",
    "--executor",
    "--check-access",
    "--strict",
    ...CACHE_STORES,
    "--remote-cache-read-only",
    "--changed-since",
  ],
  watch: [...RUNS, "--debounce", "--on-busy", "--poll"],
  list: ["--file", "--names"],
  graph: ["--file", "--format"],
  explain: ["--file", ...CACHE_STORES],
  clean: ["--file", "--dry-run", "--deps", "--no-wait"],
  exec: ["--jobs", "--jobserver-style", "--no-color"],
  sh: [
    "--dry-run",
    "--jobs",
    "--events",
    "--trace",
    "--reactor",
    "--check-access",
    "--strict",
    "--no-color",
  ],
  ctl: ["--file", "--json", "--drain"],
  init: ["--file"],
  completions: ["--file"],
  doctor: [],
  help: [],
  // Parsed by their parts (OWN_ARGS): no --version, no -v.
  ui: ["--file", "--port", "--host", "--help", "--no-color"],
  lint: ["--file", "--jobs", "--ignore", "--events", "--help", "--no-color"],
  cache: ["--cache-dir", "--max-size", "--help", "--no-color"],
};

/** The long options `command` takes (those of every command too), in `OPTIONS`' order. */
export function optionsOf(command: string): string[] {
  return Object.keys(OPTIONS).filter((flag) => takesOption(command, flag));
}

/** Whether `command` takes the long option `flag`. */
export function takesOption(command: string, flag: string): boolean {
  const every = OWN_ARGS.includes(command) ? [] : EVERY_COMMAND;
  return every.includes(flag) || !!COMMAND_OPTIONS[command]?.includes(flag);
}

/**
 * `" (did you mean 'jx list'?)"` for an option that is one of jx's commands written as another
 * tool's flag (`just --list`, `task --init`, `--watch`), else `""`.
 */
function commandAsFlag(flag: string): string {
  const word = flag.replace(/^--/, "");
  return flag.startsWith("--") && COMMANDS.includes(word) ? ` (did you mean 'jx ${word}'?)` : "";
}

/**
 * Options of make, just, go-task and turbo that jx says otherwise: what to write instead, and the
 * jx option it names (shown only to a command that takes it; `NAME=VALUE`: that takes vars).
 */
const OTHER_FLAGS: Record<string, { say: string; takes?: string }> = {
  "-B": { say: "did you mean '--force'?", takes: "--force" },
  "--always-make": { say: "did you mean '--force'?", takes: "--force" },
  "-s": { say: "did you mean '--output quiet'?", takes: "--output" },
  "--silent": { say: "did you mean '--output quiet'?", takes: "--output" },
  "--quiet": { say: "did you mean '--output quiet'?", takes: "--output" },
  "--question": { say: "did you mean '-n'? jx explain JOB says why", takes: "--dry-run" },
  "-p": { say: "did you mean '-j N'? jobs run in parallel already", takes: "--jobs" },
  "--parallel": { say: "did you mean '-j N'? jobs run in parallel already", takes: "--jobs" },
  "--concurrency": { say: "did you mean '-j N'?", takes: "--jobs" },
  "-l": { say: "did you mean 'jx list'?" },
  "--list-all": { say: "did you mean 'jx list'?" },
  "--summary": { say: "did you mean 'jx list', or 'jx explain JOB'?" },
  "-w": { say: "did you mean 'jx watch'?" },
  "--set": { say: "a var is set as NAME=VALUE after the job names", takes: "NAME=VALUE" },
  "--env": { say: "a var is set as NAME=VALUE after the job names", takes: "NAME=VALUE" },
  "--filter": { say: "an included file's jobs are named NAMESPACE:, jx run 'packages/api:'" },
};
for (const f of ["-C", "--directory", "--dir", "--working-directory", "--cwd"]) {
  OTHER_FLAGS[f] = { say: "jx has no -C: -f DIR/jobs.yaml runs that file's jobs in DIR" };
}
for (const f of ["--makefile", "--justfile", "--taskfile", "--config"]) {
  OTHER_FLAGS[f] = { say: "did you mean '-f FILE'?", takes: "--file" };
}

/** Whether `command` takes the option `flag`, or NAME=VALUE words (`flag` "NAME=VALUE"). */
function takesArg(command: string, flag: string): boolean {
  return flag === "NAME=VALUE" ? TAKE_VARS.includes(command) : takesOption(command, flag);
}

/** `" (...)"` for an option of another tool (`-C DIR`, `-B`, `--parallel`), else `""`. */
function otherToolFlag(command: string, flag: string): string {
  const other = Object.hasOwn(OTHER_FLAGS, flag) ? OTHER_FLAGS[flag] : undefined;
  const takes = other?.takes;
  if (!other || (takes && command && !takesArg(command, takes))) return "";
  return ` (${other.say})`;
}

/** Bad input: `typed` (as written; `flag` its long form) is no option of `command`. */
function notTaken(command: string, flag: string, typed: string): JxInputError {
  const own = [...EVERY_COMMAND, ...COMMAND_OPTIONS[command] ?? []];
  const hint = flag in OPTIONS
    ? ""
    : commandAsFlag(flag) || otherToolFlag(command, flag) || optionHint(flag, own);
  return usageError(command, `unknown option '${typed}'${hint}`);
}

/** The arguments of a bare command: every option at its default. */
function defaultArgs(env: Record<string, string | undefined>): Args {
  return {
    command: "",
    keepGoing: false,
    dryRun: false,
    force: false,
    noWait: false,
    debounceMs: 100,
    onBusy: "restart",
    poll: false,
    output: "buffered",
    reactor: "auto",
    jobserverStyle: "auto",
    color: !env.NO_COLOR,
    verbose: false,
    format: "dot",
    help: false,
    version: false,
    namesOnly: false,
    json: false,
    drain: false,
    deps: false,
    all: false,
    names: [],
    vars: {},
    warnings: [],
    ui: false,
  };
}

/**
 * An option word: its long form, how it was written (`-k`, `--jobs`), its attached value
 * (`--jobs=4`, `-j4`, `-fFILE`), and the rest of a bundle of short flags (`-kn`: `-n`).
 */
function splitOption(
  arg: string,
): { flag: string; typed: string; inline?: string; bundled?: string } {
  if (arg.startsWith("--")) {
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    return { flag, typed: flag, inline: eq < 0 ? undefined : arg.slice(eq + 1) };
  }
  const typed = arg.slice(0, 2);
  const flag = SHORT[arg[1]] ?? typed;
  if (arg.length <= 2 || !(flag in OPTIONS)) return { flag, typed };
  const rest = arg.slice(2);
  return OPTIONS[flag].value ? { flag, typed, inline: rest } : { flag, typed, bundled: "-" + rest };
}

/** A `NAME=VALUE` word: a var override. */
const VAR_ARG = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Words other tools take as commands, and jx's for them. */
const OTHER_COMMANDS: Record<string, string> = {
  ls: "jx list",
  version: "jx --version",
};

/**
 * The command `word` names. Bad input when it names none, or names one whose part parses its own
 * arguments (main.ts hands those the words after their name: `jx -f F lint` never reaches it).
 */
function commandOf(word: string): string {
  if (!COMMANDS.includes(word)) {
    // `jx build` and `jx CC=gcc` as make, just and go-task take them: `jx run` runs jobs.
    const what = VAR_ARG.test(word) ? "a var" : "a job";
    const hint = Object.hasOwn(OTHER_COMMANDS, word)
      ? ` (did you mean '${OTHER_COMMANDS[word]}'?)`
      : didYouMean(word, COMMANDS) || ` (${what}? jx run ${word})`;
    throw usageError(undefined, `unknown command '${word}'${hint}`);
  }
  if (OWN_ARGS.includes(word)) throw usageError(word, "its options go after it");
  return word;
}

/**
 * Parses `argv` (without the program name).
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * const a = parseArgs(["run", "-j4", "-k", "build", "CC=clang"]);
 * // a.jobs === 4, a.keepGoing === true, a.names = ["build"], a.vars = { CC: "clang" }
 * ```
 */
export function parseArgs(argv: string[], env: Record<string, string | undefined> = {}): Args {
  const a = defaultArgs(env);
  let rest = false;
  // Options before the command (`jx -k run`), checked against it once it is known.
  const early: { flag: string; typed: string }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (rest || arg === "-" || !arg.startsWith("-")) {
      if (a.command === "exec" || a.command === "sh") {
        a.execArgv = argv.slice(i); // the command (or script) ends jx's options
        break;
      }
      positional(a, arg, rest);
      continue;
    }
    if (arg === "--") {
      if (a.command === "exec" || a.command === "sh") {
        a.execArgv = argv.slice(i + 1);
        break;
      }
      if (a.command === "run" || a.command === "watch") {
        a.jobArgs = argv.slice(i + 1); // `jx run JOB -- ARG...`: the job's arguments
        break;
      }
      rest = true;
      continue;
    }
    if (SHORT_ONLY[a.command]?.includes(arg)) {
      a.stdinScript = true; // as `sh -s`: the script from stdin, the words after it its arguments
      continue;
    }
    const { flag, typed, inline, bundled } = splitOption(arg);
    if (bundled) argv = [...argv.slice(0, i + 1), bundled, ...argv.slice(i + 1)];
    if (a.command && !takesOption(a.command, flag)) throw notTaken(a.command, flag, typed);
    if (!a.command) early.push({ flag, typed });
    i = option(a, flag, typed, inline, argv, i);
  }
  // A loop: the first `find` of a compiled binary's run costs more than this whole check.
  for (const o of a.command ? early : []) {
    if (!takesOption(a.command, o.flag)) throw notTaken(a.command, o.flag, o.typed);
  }
  if (a.uiPort !== undefined) a.ui = true;
  return a;
}

/**
 * The commands that take `NAME=VALUE` words (var overrides: those that load the jobs file's
 * graph); to the others such a word is an argument like any, refused by those that take none.
 */
const TAKE_VARS = ["run", "watch", "list", "graph", "explain", "clean"];

/** A word that is no option: the command, a `NAME=value`, or a name (a job's, a topic's...). */
function positional(a: Args, arg: string, rest: boolean): void {
  if (!a.command && !rest) a.command = commandOf(arg);
  else if (TAKE_VARS.includes(a.command) && VAR_ARG.test(arg)) {
    const eq = arg.indexOf("=");
    a.vars[arg.slice(0, eq)] = arg.slice(eq + 1);
  } else a.names.push(arg);
}

/** Sets what option `flag` says (its value `inline` or the next word); the index of its last word. */
function option(
  a: Args,
  flag: string,
  typed: string,
  inline: string | undefined,
  argv: string[],
  i: number,
): number {
  const rec = a as unknown as Record<string, unknown>;
  const spec = OPTIONS[flag];
  if (!spec) {
    const hint = commandAsFlag(flag) || otherToolFlag(a.command, flag) ||
      optionHint(flag, Object.keys(OPTIONS));
    throw usageError(a.command, `unknown option '${typed}'${hint}`);
  }
  if (spec.value) {
    const v = inline ?? argv[++i];
    if (v === undefined) throw usageError(a.command, `${typed} needs a value`);
    const value = spec.value(v, flag);
    if (spec.key) rec[spec.key] = value;
  } else {
    noValue(flag, inline !== undefined, a.command);
    if (spec.key) rec[spec.key] = spec.set;
  }
  return i;
}
