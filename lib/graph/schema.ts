/**
 * The jobs-file schema as data. The loader validates with it and
 * `toJsonSchema` derives the published JSON Schema from it, so the two
 * cannot drift.
 *
 * @module
 */

/** The shape of one value in the jobs file. */
export type Kind =
  /** `nonEmpty`: not `""` nor blanks (`slurm: {time: ""}` would be srun's `--time=`). */
  | { t: "string"; enum?: string[]; nonEmpty?: true }
  | { t: "int"; min: number; max: number }
  | { t: "version" }
  | { t: "duration"; min: number }
  /** `srun`: each a `srun` option jx leaves to the user (`srunOptionRefusal`). */
  | { t: "names"; srun?: true }
  | { t: "run" }
  | { t: "scalars" }
  | { t: "counts" }
  | {
    t: "object";
    fields: Record<string, Field>;
    /** Keys that belong to a sibling kind, for a better message (`'timeout' is for jobs only`). */
    foreign?: { fields: Record<string, Field>; what: string };
  }
  | { t: "entries"; of: Kind }
  | { t: "foreach" }
  | { t: "cache" }
  /** A scalar checked as `scalar`, a mapping as `map` (`retries: 2` or `retries: {count: 2}`). */
  | { t: "either"; scalar: Kind; map: Kind }
  | { t: "bool" };

/** A key of an object: its kind and what it means. */
export interface Field {
  kind: Kind;
  doc: string;
  required?: boolean;
}

/**
 * The `srun` options jx sets for a step or needs as they are, by long and
 * short name, and what to write instead (`slurm:`'s own fields, `tokens`).
 */
const SRUN_OWN: [string, string | undefined, string][] = [
  ["--output", "-o", "jx captures the output"],
  ["--error", "-e", "jx captures the output"],
  ["--input", "-i", "jx gives the step its input"],
  ["--ntasks", "-n", "a job is one task"],
  ["--nodes", "-N", "a job is one task"],
  ["--cpus-per-task", "-c", "use tokens:"],
  ["--jobid", undefined, "jx picks the allocation"],
  ["--pty", undefined, "jx captures the output"],
  ["--label", "-l", "jx captures the output"],
  ["--chdir", "-D", "the job runs in its cwd:"],
  ["--export", undefined, "use env:"],
  ["--partition", "-p", "use slurm: {partition}"],
  ["--time", "-t", "use slurm: {time}"],
  ["--mem", undefined, "use slurm: {mem}"],
  ["--gres", undefined, "use slurm: {gres}"],
  ["--job-name", "-J", "jx names the step jx:NAME, as squeue shows it"],
  ["--multi-prog", undefined, "jx gives the step its command"],
  ["--test-only", undefined, "the step would not run"],
];

/** srun's short options that take a value: the rest of the word, or else the next word. */
const SHORT_VALUE = new Set("AbcdDeiJLMmnNopqrSTtWCwxG");
/** srun's short options whose value is optional: only the rest of the word. */
const SHORT_OPTIONAL = new Set("IkK");

/**
 * srun's long options that take no value, or one only after `=` (`--exclusive[=user]`): a word
 * after one of them is not its value but, for srun, the command.
 */
const LONG_FLAGS = [
  "bcast",
  "compress",
  "contiguous",
  "disable-status",
  "exact",
  "exclusive",
  "help",
  "hold",
  "immediate",
  "kill-on-bad-exit",
  "label",
  "multi-prog",
  "nice",
  "no-allocate",
  "no-kill",
  "overcommit",
  "overlap",
  "oversubscribe",
  "preserve-env",
  "propagate",
  "pty",
  "quit-on-interrupt",
  "quiet",
  "reboot",
  "resv-ports",
  "send-libs",
  "spread-job",
  "test-only",
  "unbuffered",
  "usage",
  "use-min-nodes",
  "verbose",
  "version",
  "whole",
  "x11",
];

/** srun's long options that take a value and start like one of `LONG_FLAGS` (`--no-kill`...). */
const LONG_VALUED_LIKE_FLAGS = [
  "bcast-exclude",
  "exclude",
  "nodes",
  "nodelist",
  "hint",
  "het-group",
  "uid",
];

/** Options that make srun print something and exit 0 without running the step. */
const SRUN_NO_RUN: [string, string | undefined][] = [
  ["--help", "-h"],
  ["--usage", undefined],
  ["--version", "-V"],
];

/**
 * The option letters of a word of short options (`-Qn2`: Q, then n, whose value is the rest):
 * each up to and with the first that takes a value.
 */
function shortLetters(arg: string): string[] {
  const out: string[] = [];
  for (const c of arg.slice(1)) {
    out.push(c);
    if (SHORT_VALUE.has(c) || SHORT_OPTIONAL.has(c)) break;
  }
  return out;
}

/** Whether srun takes the word after `arg` (one option word) as its value. */
function takesNextWord(arg: string): boolean {
  if (arg.startsWith("--")) {
    if (arg.includes("=")) return false;
    // As srun reads it: a name or the start of one (`--qui` for --quiet); when in doubt, a value.
    const name = arg.slice(2);
    const flag = LONG_FLAGS.some((f) => f.startsWith(name));
    return !flag || name.length < 3 || LONG_VALUED_LIKE_FLAGS.some((f) => f.startsWith(name));
  }
  const letters = shortLetters(arg);
  const last = letters.at(-1);
  return last !== undefined && SHORT_VALUE.has(last) && letters.length === arg.length - 1;
}

/**
 * Why `arg` may not be among a job's `slurm: {args}`, or undefined: an option
 * jx sets itself for the step (`--ntasks=2` would run the job twice,
 * `--output=f` hide its output and the marks jx reads; also among short options
 * written together, `-Qn2`), one after which srun runs nothing (`--help`), `--`,
 * which would make jx's own command the arguments of the words after it, or
 * `:`, which starts another component of a heterogeneous step.
 *
 * @example
 * ```ts
 * import { srunOptionRefusal } from "./schema.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(srunOptionRefusal("--constraint=avx2"), undefined);
 * assertEquals(srunOptionRefusal("-n2"), "'-n2': jx sets --ntasks (a job is one task)");
 * assertEquals(srunOptionRefusal("-Qn2"), "'-Qn2': jx sets --ntasks (a job is one task)");
 * assertEquals(srunOptionRefusal("--"), "'--': the words after it would be the command");
 * ```
 */
export function srunOptionRefusal(arg: string): string | undefined {
  if (arg === "--") return "'--': the words after it would be the command";
  if (arg === ":") return "':': the words after it would be another job (a heterogeneous step)";
  // A long option as srun takes it: whole, or shortened to any start of its name (`--outp`).
  const name = arg.startsWith("--") ? arg.split("=")[0] : undefined;
  const letters = name === undefined && arg.startsWith("-") ? shortLetters(arg) : [];
  const matches = (long: string, short: string | undefined) =>
    (name !== undefined && name.length >= 5 && long.startsWith(name)) ||
    (short !== undefined && letters.includes(short.slice(1)));
  for (const [long, short, instead] of SRUN_OWN) {
    if (matches(long, short)) return `'${arg}': jx sets ${long} (${instead})`;
  }
  // (`--ver` is --verbose or --version: srun refuses it as ambiguous.)
  const ambiguous = name !== undefined &&
    LONG_FLAGS.filter((f) => `--${f}`.startsWith(name)).length > 1;
  for (const [long, short] of SRUN_NO_RUN) {
    if (matches(long, short) && !(ambiguous && !letters.length)) {
      return `'${arg}': srun ${long} prints and exits: the step would not run`;
    }
  }
  return undefined;
}

/**
 * Why `args` (a job's `slurm: {args}`) may not be given to srun, with the
 * index of the word, or undefined. A word after an option that may take one
 * as its value (`--comment -e2e`, `-C avx2`) is that value, and is not looked
 * at; any other word that is not an option would be, for srun, the command
 * it runs in place of the job's (`--exclusive make`, `echo`).
 *
 * @example
 * ```ts
 * import { srunArgsRefusal } from "./schema.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(srunArgsRefusal(["--comment", "-e2e", "--exclusive", "-C", "avx2"]), undefined);
 * assertEquals(srunArgsRefusal(["-C", "avx2", "--outp=f"]), [2, "'--outp=f': jx sets --output (jx captures the output)"]);
 * assertEquals(srunArgsRefusal(["--quiet", "echo"]), [1, "'echo': not an option: srun would run it in place of the job's command"]);
 * ```
 */
export function srunArgsRefusal(args: string[]): [number, string] | undefined {
  let value = false;
  for (let i = 0; i < args.length; i++) {
    // (The value of the option before: `--comment -e2e`.)
    if (value) {
      value = false;
      continue;
    }
    const why = srunOptionRefusal(args[i]);
    if (why) return [i, why];
    if (!args[i].startsWith("-") || args[i] === "-") {
      return [i, `'${args[i]}': not an option: srun would run it in place of the job's command`];
    }
    value = takesNextWord(args[i]);
  }
  return undefined;
}

/** The largest count (tokens, retries, pool units, restarts, runs): a documented bound. */
export const MAX_COUNT = 1_000_000;
import { MAX_DURATION_MS } from "./duration.ts";
export { MAX_DURATION_MS };

/** The longest wait between two attempts of a job unless `retries.max_delay` says otherwise. */
export const RETRY_MAX_DELAY_DEFAULT = "5m";

const names: Kind = { t: "names" };
/** A duration that may be 0 (`grace: 0`: at once). */
const duration: Kind = { t: "duration", min: 0 };
/** A duration of at least 1ms: a time limit or a period (0 would fire at once). */
const limit: Kind = { t: "duration", min: 1 };
/** A whole number from `min` to `MAX_COUNT`. */
const count = (min: number): Kind => ({ t: "int", min, max: MAX_COUNT });

/** `when:`: conditions on the machine a job or module runs on. */
const whenKind: Kind = {
  t: "object",
  fields: {
    env: {
      kind: { t: "string" },
      doc: "Only when this variable is set, non-empty.",
    },
    os: {
      kind: {
        t: "string",
        enum: ["linux", "darwin", "windows", "freebsd", "netbsd", "openbsd", "android"],
      },
      doc: "Only on this operating system.",
    },
    file: {
      kind: { t: "string" },
      doc: "Only when this path exists (relative to the jobs file).",
    },
  },
};
/** The keys of `cache: {env, salt}` (top level or on a job); `cache:` may also be true or false. */
export const CACHE_FIELDS: Record<string, Field> = {
  env: { kind: names, doc: "Environment variables whose values join the cache key." },
  salt: {
    kind: { t: "string" },
    doc: "Any string; changing it invalidates the entries it covers.",
  },
};
const cacheKind: Kind = { t: "cache" };

/** Keys shared by jobs and modules. */
const common: Record<string, Field> = {
  description: { kind: { t: "string" }, doc: "Shown by `jx list`." },
  run: {
    kind: { t: "run" },
    required: true,
    doc:
      "A string runs under /bin/sh -c, with the job's name as $0; a list is an argv, run without a shell.",
  },
  needs: { kind: names, doc: "Jobs (or modules) that must succeed (be ready) first." },
  reads: { kind: names, doc: "Resources read: paths, globs, or @names." },
  writes: { kind: names, doc: "Resources written: paths, globs, or @names." },
  cwd: { kind: { t: "string" }, doc: "Working directory, relative to the jobs file." },
  env: { kind: { t: "scalars" }, doc: "Environment variables added for this job." },
  env_file: {
    kind: names,
    doc: "dotenv files (relative to the jobs file; `PATH?`: optional) whose variables this job " +
      "gets under the process environment and `env` (docs/jobs-file.md).",
  },
};

/** The keys of a job. */
export const JOB_FIELDS: Record<string, Field> = {
  ...common,
  foreach: {
    kind: { t: "foreach" },
    doc: "One job per item: a list, {glob, as}, {list, as} or {matrix: {NAME: [values]}}; " +
      "jobs are named job[item] and use ${AS}, ${AS.stem}, ${AS.name}, ${AS.dir}, ${AS.ext}.",
  },
  emits: {
    kind: { t: "string", enum: ["jobs"] },
    doc: "`jobs`: each stdout line is a job (a JSON object: the job keys plus `name`) " +
      "that joins the run at once.",
  },
  repeat: {
    kind: {
      t: "object",
      fields: {
        until: { kind: { t: "string" }, doc: "Run again until this test job succeeds." },
        while: { kind: { t: "string" }, doc: "Run again while this test job succeeds." },
        max: { kind: count(1), doc: "At most this many runs (default 10)." },
      },
    },
    doc: "Rerun the job after each success, until (or while) a test job succeeds.",
  },
  depfile: {
    kind: { t: "string" },
    doc: "A make-format dependency file the job writes (gcc -MD -MF, clang, rustc " +
      "--emit=dep-info), relative to the jobs file: what it lists joins the job's inputs " +
      "for up-to-date checks from the next run on.",
  },
  when: {
    kind: whenKind,
    doc: "Run only where every condition given holds (env set and non-empty, os, file exists); " +
      "otherwise skipped with reason `condition`, and jobs that need it run (as after a failed `if`).",
  },
  pool: { kind: { t: "string" }, doc: "A pool this job takes one unit of while running." },
  pools: { kind: { t: "counts" }, doc: "Pools and the units this job takes of each." },
  tokens: { kind: count(1), doc: "Job-slot tokens held while running (default 1)." },
  timeout: {
    kind: limit,
    doc: "Then SIGTERM to the process group, SIGKILL after `grace` (more than 0, at most 596h).",
  },
  grace: {
    kind: duration,
    doc: "Time between SIGTERM and SIGKILL (default 5s); also how long a process that left the " +
      "job's session may hold its output once the job's process has exited.",
  },
  retries: {
    kind: {
      t: "either",
      scalar: count(0),
      map: {
        t: "object",
        fields: {
          count: { kind: count(0), required: true, doc: "Reruns of a failed job." },
          delay: { kind: duration, doc: "Wait before the first rerun (default 0)." },
          backoff: {
            kind: { t: "int", min: 1, max: 100 },
            doc: "Each later wait is this many times the one before (default 1).",
          },
          max_delay: {
            kind: limit,
            doc: `No wait is longer than this (default ${RETRY_MAX_DELAY_DEFAULT}).`,
          },
        },
      },
    },
    doc: "Reruns of a failed job (default 0); or {count, delay, backoff, max_delay}: " +
      "waits between the attempts.",
  },
  interactive: {
    kind: { t: "bool" },
    doc: "Runs alone, with jx's stdin, stdout and stderr (a prompt, a REPL, git commit); " +
      "every other job's stdin is /dev/null.",
  },
  if: { kind: { t: "string" }, doc: "Run only if this job succeeded (like &&)." },
  unless: { kind: { t: "string" }, doc: "Run only if this job failed (like ||)." },
  cache: {
    kind: cacheKind,
    doc: "The output cache for this job (docs/cache.md): false (never), true (even without " +
      "writes: its log and status are restored), or {env: [NAMES], salt: STRING} added to the key.",
  },
  jobserver: {
    kind: { t: "string", enum: ["pipe", "fifo", "none"] },
    doc: "The form of jx's job-slot pool in this job's MAKEFLAGS: pipe (R,W fds: every make, " +
      "gcc, cargo), fifo (fifo:PATH: make >= 4.4, ninja >= 1.13) or none (no jobserver); " +
      "default: --jobserver-style.",
  },
  executor: {
    kind: { t: "string", enum: ["local", "slurm"] },
    doc: "Where this job runs: local (a process of jx) or slurm (a Slurm job step); " +
      "default: the file's executor, else --executor.",
  },
  slurm: {
    kind: {
      t: "object",
      fields: {
        partition: {
          kind: { t: "string", nonEmpty: true },
          doc: "The partition (srun --partition).",
        },
        time: {
          kind: { t: "string", nonEmpty: true },
          doc: "The step's time limit (srun --time).",
        },
        mem: { kind: { t: "string", nonEmpty: true }, doc: "Memory (srun --mem), e.g. 2G." },
        gres: {
          kind: { t: "string", nonEmpty: true },
          doc: "Generic resources (srun --gres), e.g. gpu:1.",
        },
        args: {
          kind: { t: "names", srun: true },
          doc: "More srun options, passed as they are (not those jx sets itself: " +
            "--output, --ntasks, --cpus-per-task, --partition...).",
        },
      },
    },
    doc: "Options of the job's Slurm step, with the slurm executor (docs/executors.md).",
  },
};

/** The keys of a module. */
export const MODULE_FIELDS: Record<string, Field> = {
  ...common,
  ready: {
    kind: {
      t: "object",
      fields: {
        tcp: {
          kind: { t: "int", min: 1, max: 65535 },
          doc: "Ready when this port accepts a connection.",
        },
        http: { kind: { t: "string" }, doc: "Ready when this URL answers 2xx." },
        log: { kind: { t: "string" }, doc: "Ready when output matches this regular expression." },
        cmd: { kind: { t: "string" }, doc: "Ready when this command exits 0." },
        delay: { kind: duration, doc: "Ready after this long." },
        timeout: { kind: limit, doc: "Fail if not ready by then (default 30s)." },
        interval: { kind: limit, doc: "Time between checks (default 100ms)." },
      },
    },
    doc: "How jx knows the module is ready.",
  },
  health: {
    kind: {
      t: "object",
      fields: {
        tcp: {
          kind: { t: "int", min: 1, max: 65535 },
          doc: "Healthy when this port accepts a connection.",
        },
        http: { kind: { t: "string" }, doc: "Healthy when this URL answers 2xx." },
        cmd: { kind: { t: "string" }, doc: "Healthy when this command exits 0." },
        interval: { kind: limit, doc: "Time between checks (default 5s)." },
        timeout: { kind: limit, doc: "A check that takes longer failed (default 2s)." },
        failures: {
          kind: count(1),
          doc: "Failed checks in a row that make the module unhealthy (default 3).",
        },
      },
    },
    doc: "A liveness check repeated while the module runs (after it is ready): after `failures` " +
      "failed checks in a row its process is stopped and it counts as failed (restarted per " +
      "`restart`).",
  },
  log: {
    kind: { t: "string" },
    doc: "A file (relative to the jobs file) the module's output is appended to, as well as " +
      "shown.",
  },
  stop: {
    kind: {
      t: "object",
      fields: {
        signal: {
          kind: { t: "string" },
          doc:
            "Signal sent first (default TERM): a name such as TERM, INT, HUP, QUIT, USR1, with or without SIG.",
        },
        grace: { kind: duration, doc: "Then SIGKILL after this long (default 5s)." },
      },
    },
    doc: "How the module is stopped.",
  },
  restart: {
    kind: { t: "string", enum: ["no", "on-failure", "always"] },
    doc: "Restart policy: after an exit other than jx's own stop, start it again " +
      "(on-failure: only after a failure), with exponential backoff.",
  },
  max_restarts: {
    kind: count(0),
    doc: "Restarts in a row before the module is failed (default 5).",
  },
  subscribe: { kind: names, doc: "Pubsub topics delivered as lines on stdin." },
  when: {
    kind: whenKind,
    doc: "Whether the module is registered at all (every key given must hold); an unregistered " +
      "module never starts, and jobs that need it fail.",
  },
};

/** The top-level keys. */
export const FILE_FIELDS: Record<string, Field> = {
  version: { kind: { t: "version" }, doc: "Schema version; 1." },
  vars: { kind: { t: "scalars" }, doc: "Variables substituted as ${NAME}." },
  env: { kind: { t: "scalars" }, doc: "Environment added to every job." },
  env_file: {
    kind: names,
    doc: "dotenv files (`PATH?`: optional) read for every job, under the process environment " +
      "and `env`.",
  },
  include: {
    kind: names,
    doc: "Other jobs files (paths or globs, relative to this file): their jobs join the graph " +
      "as NAMESPACE:job, NAMESPACE being the file's folder relative to the root jobs file's.",
  },
  pools: { kind: { t: "counts" }, doc: "Named counted resources and their capacity." },
  executor: {
    kind: { t: "string", enum: ["local", "slurm"] },
    doc: "Where jobs run unless they say: local or slurm (default: --executor).",
  },
  default: {
    kind: names,
    doc: "The jobs (or modules) `jx run`, `jx watch` and `jx lint` take when no name is given, " +
      "with what they need (default: every job). In an included file, ignored.",
  },
  jobs: {
    kind: {
      t: "entries",
      of: { t: "object", fields: JOB_FIELDS, foreign: { fields: MODULE_FIELDS, what: "modules" } },
    },
    doc: "The jobs.",
  },
  cache: {
    kind: cacheKind,
    doc: "Turns the output cache on (docs/cache.md): true, or {env: [NAMES], salt: STRING} " +
      "for every job's key; false leaves it off. In an included file only {env, salt}, for the " +
      "keys of the jobs written in it.",
  },
  lint: {
    kind: {
      t: "object",
      fields: { ignore: { kind: names, doc: "Globs of paths `jx lint` never reports." } },
    },
    doc: "Settings of `jx lint` (docs/lint.md).",
  },
  modules: {
    kind: {
      t: "entries",
      of: { t: "object", fields: MODULE_FIELDS, foreign: { fields: JOB_FIELDS, what: "jobs" } },
    },
    doc: "Long-running processes.",
  },
};

/** Allowed job, module, pool and variable names. */
export const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:\/+-]*$/;
/** Allowed variable names. */
export const VAR_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Json = Record<string, unknown>;

/** The JSON types a text value may be written as: the loader takes a number or a flag as its text. */
const SCALAR_TYPES = ["string", "number", "boolean"];

function kindToJson(kind: Kind): Json {
  switch (kind.t) {
    case "string":
      // A number or flag is taken as its text (`description: 2024`), as the loader does.
      if (kind.enum) return { type: "string", enum: kind.enum };
      return kind.nonEmpty ? { type: SCALAR_TYPES, pattern: "\\S" } : { type: SCALAR_TYPES };
    case "int":
      return { type: "integer", minimum: kind.min, maximum: kind.max };
    case "version":
      return { enum: [1, "1"] };
    case "duration":
      return durationJson(kind.min);
    case "names":
      return { oneOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] };
    case "run":
      return {
        oneOf: [{ type: "string" }, { type: "array", items: { type: SCALAR_TYPES }, minItems: 1 }],
      };
    case "scalars":
      return {
        type: "object",
        propertyNames: { pattern: VAR_RE.source },
        additionalProperties: { type: ["string", "number", "boolean"] },
      };
    case "counts":
      return {
        type: "object",
        propertyNames: { pattern: NAME_RE.source },
        additionalProperties: { type: "integer", minimum: 1, maximum: MAX_COUNT },
      };
    case "foreach":
      return FOREACH_JSON;
    case "cache":
      return { oneOf: [{ type: "boolean" }, objectToJson(CACHE_FIELDS)] };
    case "entries":
      return {
        type: "object",
        propertyNames: { pattern: NAME_RE.source },
        additionalProperties: kindToJson(kind.of),
      };
    case "object":
      return objectToJson(kind.fields);
    case "either":
      return { oneOf: [kindToJson(kind.scalar), kindToJson(kind.map)] };
    case "bool":
      return { type: "boolean" };
    default: {
      const _assertNever: never = kind;
      return _assertNever;
    }
  }
}

/**
 * A duration as text, each unit at most once (`1h1h` is refused, as the loader does): the
 * lookaheads refuse a second `h`, `ms`, `s` after a digit, `m` not of `ms`.
 */
const DURATION_PATTERN = "^(?!.*h.*h)(?!.*ms.*ms)(?!.*\\ds.*\\ds)(?!.*\\dm(?!s).*\\dm(?!s))" +
  "(\\d+(\\.\\d+)?(ms|s|m|h))+$|^\\d+(\\.\\d+)?$";

/** A duration of at least `minMs`: seconds as a number, or a text such as `1m30s`. */
function durationJson(minMs: number): Json {
  return {
    oneOf: [{ type: "number", minimum: minMs / 1000, maximum: MAX_DURATION_MS / 1000 }, {
      type: "string",
      pattern: DURATION_PATTERN,
    }],
  };
}

/** `foreach:`: a list, or a mapping with `glob`, `list` or `matrix` (and `as`). */
const FOREACH_JSON: Json = (() => {
  const as = { type: "string", pattern: VAR_RE.source };
  const items = { type: "array", items: { type: ["string", "number"] }, minItems: 1 };
  return {
    oneOf: [
      items,
      {
        type: "object",
        properties: { glob: { type: "string" }, as },
        required: ["glob"],
        additionalProperties: false,
      },
      {
        type: "object",
        properties: { list: items, as },
        required: ["list"],
        additionalProperties: false,
      },
      {
        type: "object",
        properties: { matrix: { type: "object", additionalProperties: items } },
        required: ["matrix"],
        additionalProperties: false,
      },
    ],
  };
})();

function objectToJson(fields: Record<string, Field>): Json {
  const properties: Json = {};
  for (const [k, f] of Object.entries(fields)) {
    properties[k] = { description: f.doc, ...kindToJson(f.kind) };
  }
  const required = Object.entries(fields).filter(([, f]) => f.required).map(([k]) => k);
  return {
    type: "object",
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

/**
 * The JSON Schema of the jobs file, derived from the loader's own definition.
 *
 * @example
 * ```ts
 * import { toJsonSchema } from "./schema.ts";
 * console.log(JSON.stringify(toJsonSchema(), null, 2));
 * ```
 */
export function toJsonSchema(): Record<string, unknown> {
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "jx jobs file",
    ...objectToJson(FILE_FIELDS),
    patternProperties: { "^x-": {} },
  };
}
