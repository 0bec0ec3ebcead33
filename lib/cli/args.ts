/**
 * Command-line parsing: the options of CONTRACT.md, `NAME=VALUE` variable
 * overrides, and job names.
 *
 * @module
 */
import { didYouMean, JxInputError } from "../graph/errors.ts";

/** Parsed command line. */
export interface Args {
  command: string;
  file?: string;
  jobs?: number;
  keepGoing: boolean;
  dryRun: boolean;
  force: boolean;
  noWait: boolean;
  output: "buffered" | "stream" | "quiet";
  events?: string;
  trace?: string;
  reactor: "auto" | "epoll" | "portable";
  jobserverStyle: "auto" | "pipe" | "fifo" | "none";
  color: boolean;
  verbose: boolean;
  format: "dot" | "mermaid" | "json";
  help: boolean;
  version: boolean;
  /** Job names (and, for `ctl`, the action's arguments). */
  names: string[];
  vars: Record<string, string>;
  /** Warnings to print before running. */
  warnings: string[];
}

interface OptSpec {
  key: keyof Args;
  value?: (v: string, flag: string) => unknown;
  set?: unknown;
}

const choice = <T extends string>(values: T[]) => (v: string, flag: string): T => {
  if (!values.includes(v as T)) {
    throw new JxInputError(
      `${flag}: expected one of ${values.join(", ")}, got '${v}'${didYouMean(v, values)}`,
    );
  }
  return v as T;
};

const positiveInt = (v: string, flag: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1) {
    throw new JxInputError(`${flag}: expected a whole number of at least 1, got '${v}'`);
  }
  return Number(v);
};

const str = (v: string) => v;

const OPTIONS: Record<string, OptSpec> = {
  "--file": { key: "file", value: str },
  "--jobs": { key: "jobs", value: positiveInt },
  "--keep-going": { key: "keepGoing", set: true },
  "--dry-run": { key: "dryRun", set: true },
  "--force": { key: "force", set: true },
  "--no-wait": { key: "noWait", set: true },
  "--output": { key: "output", value: choice(["buffered", "stream", "quiet"]) },
  "--events": { key: "events", value: str },
  "--trace": { key: "trace", value: str },
  "--reactor": { key: "reactor", value: choice(["auto", "epoll", "portable"]) },
  "--jobserver-style": {
    key: "jobserverStyle",
    value: choice(["auto", "pipe", "fifo", "none"]),
  },
  "--no-color": { key: "color", set: false },
  "--verbose": { key: "verbose", set: true },
  "--format": { key: "format", value: choice(["dot", "mermaid", "json"]) },
  "--help": { key: "help", set: true },
  "--version": { key: "version", set: true },
};

const SHORT: Record<string, string> = {
  f: "--file",
  j: "--jobs",
  k: "--keep-going",
  n: "--dry-run",
  v: "--verbose",
  h: "--help",
  V: "--version",
};

/** The commands jx knows. */
export const COMMANDS = ["run", "watch", "list", "graph", "explain", "clean", "ctl", "help"];

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
  const a: Args = {
    command: "",
    keepGoing: false,
    dryRun: false,
    force: false,
    noWait: false,
    output: "buffered",
    reactor: "auto",
    jobserverStyle: "auto",
    color: !env.NO_COLOR,
    verbose: false,
    format: "dot",
    help: false,
    version: false,
    names: [],
    vars: {},
    warnings: [],
  };
  const rec = a as unknown as Record<string, unknown>;
  let rest = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (rest || arg === "-" || !arg.startsWith("-")) {
      if (!a.command && !rest) {
        if (!COMMANDS.includes(arg)) {
          throw new JxInputError(
            `unknown command '${arg}'${didYouMean(arg, COMMANDS)} (see jx --help)`,
          );
        }
        a.command = arg;
      } else if (a.command !== "ctl" && /^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) {
        const eq = arg.indexOf("=");
        a.vars[arg.slice(0, eq)] = arg.slice(eq + 1);
      } else a.names.push(arg);
      continue;
    }
    if (arg === "--") {
      rest = true;
      continue;
    }
    let flag: string, inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      [flag, inline] = eq < 0 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
    } else {
      // Short options: -kn bundles flags; -j4 and -fFILE carry their value.
      const long = SHORT[arg[1]];
      if (!long) throw new JxInputError(`unknown option '-${arg[1]}' (see jx --help)`);
      flag = long;
      if (arg.length > 2) {
        if (OPTIONS[long].value) inline = arg.slice(2);
        else argv = [...argv.slice(0, i + 1), "-" + arg.slice(2), ...argv.slice(i + 1)];
      }
    }
    const spec = OPTIONS[flag];
    if (!spec) {
      throw new JxInputError(
        `unknown option '${flag}'${didYouMean(flag, Object.keys(OPTIONS))} (see jx --help)`,
      );
    }
    if (spec.value) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new JxInputError(`${flag}: missing value`);
      rec[spec.key] = spec.value(v, flag);
    } else {
      if (inline !== undefined) throw new JxInputError(`${flag} takes no value`);
      rec[spec.key] = spec.set;
    }
  }
  return a;
}
