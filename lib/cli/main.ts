/**
 * The `jx` command: argument handling and the commands of docs/cli.md.
 *
 * @module
 */
import { JxInputError, usageError, WriteError } from "../runtime/errors.ts";
import {
  cwd,
  envObject,
  escapeControls,
  findJobsFileUp,
  isDirSync,
  isTerminal,
  projectDir,
  surviveFileSizeLimit,
  surviveUsr1,
  writeAll,
} from "../runtime/mod.ts";
import { giveJobsColours } from "../runtime/color.ts";
import { type Args, OWN_ARGS, parseArgs } from "./args.ts";
import { helpText, VERSION } from "./help.ts";
import { wantedJobs } from "./slots.ts";

// The parts behind the commands are imported with `import()` when a command
// runs, not here: `jx --version`, `--help` and `completions` load none of
// them (no YAML parser, no reactors), and startup is most of what those do.

/**
 * Runs jx with `argv` and returns the exit code. Never throws for bad
 * input: errors are printed as one line.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * const code = await main(["list", "-f", "jobs.yaml.example"]);
 * ```
 */
export async function main(argv: string[]): Promise<number> {
  let args: Args | undefined;
  surviveFileSizeLimit();
  surviveUsr1();
  if (argv[0] === "cache") {
    return (await import("../cache/mod.ts" as string) as typeof import("../cache/mod.ts")).cmdCache(
      argv.slice(1),
    );
  }
  if (argv[0] === "ui") {
    const { lastDurations } = await import(
      "./durations.ts" as string
    ) as typeof import("./durations.ts"); // the page shows them before a run
    return (await import("../ui/mod.ts" as string) as typeof import("../ui/mod.ts")).cmdUi(
      argv.slice(1),
      lastDurations,
    );
  }
  try {
    if (argv[0] === "lint") {
      return await (await import("../access/mod.ts" as string) as typeof import("../access/mod.ts"))
        .cmdLint(argv.slice(1));
    }
    args = parseArgs(argv, envObject());
    return await dispatch(args);
  } catch (e) {
    return failed(e, args?.verbose);
  }
}

/** The exit code of an error: one line (2 for bad input, 1 for an internal error). */
function failed(e: unknown, verbose: boolean | undefined): number {
  // The one line quotes names, paths and text from files: shown with controls escaped.
  if (e instanceof JxInputError) {
    const text = e.file ? e.format() : `jx: ${e.message}`;
    writeAll(2, escapeControls(text) + "\n");
    return 2;
  }
  try {
    // Output jx could not write (stdout, stderr, the event log or trace): said as such, exit 1.
    if (e instanceof WriteError) writeAll(2, `jx: ${escapeControls(e.message)}\n`);
    else {
      writeAll(2, `jx: internal error: ${escapeControls(String((e as Error)?.message ?? e))}\n`);
      if (verbose) writeAll(2, `${(e as Error)?.stack}\n`);
    }
  } catch {
    // stderr cannot be written either: the exit status says it.
  }
  return 1;
}

/**
 * `--version`, help and `doctor`, which need no part: their exit code, or undefined for a
 * command to run.
 */
async function answered(args: Args): Promise<number | undefined> {
  if (args.version && !args.verbose) {
    writeAll(1, `jx ${VERSION}\n`);
    return 0;
  }
  // `jx help [COMMAND]`: one word at most (`jx help graph extra` said graph's help, ignoring it).
  if (args.command === "help" && args.names.length > 1) {
    throw usageError("help", `unexpected argument '${args.names[1]}'`);
  }
  // The commands that parse their own arguments answer `jx help COMMAND` as `COMMAND --help`.
  const topic = args.command === "help" ? args.names[0] ?? "" : args.command;
  const asked = args.help || (args.command === "help" && args.names.length === 1);
  if (asked && OWN_ARGS.includes(topic)) {
    return await main([topic, "--help"]);
  }
  if (args.help || args.command === "help") {
    writeAll(1, helpText(topic));
    return 0;
  }
  if (args.command === "doctor" && args.names.length) {
    throw usageError("doctor", `unexpected argument '${args.names[0]}'`);
  }
  if (args.command === "doctor" || args.version) {
    const doctor = await import("./doctor.ts" as string) as typeof import("./doctor.ts");
    writeAll(1, doctor.doctorReport(envObject()));
    return 0;
  }
  // `jx` alone (or with options only): a usage error, on stderr; the help is `jx --help`.
  if (!args.command) {
    throw new JxInputError("no command given: jx COMMAND [ARG...] (jx --help lists the commands)");
  }
  return undefined;
}

/** Runs the command `args` names (after `answered`'s). */
async function dispatch(args: Args): Promise<number> {
  const code = await answered(args);
  if (code !== undefined) return code;
  // Jobs keep their colours when jx's output is a colour terminal (lib/runtime/color.ts).
  giveJobsColours(args.color && isTerminal(1));
  switch (args.command) {
    case "completions":
      return (await import("./completions.ts" as string) as typeof import("./completions.ts"))
        .cmdCompletions(args);
    case "init":
      return (await import("./init.ts" as string) as typeof import("./init.ts")).cmdInit(args);
    case "ctl":
      return await ctl(args);
    case "sh":
      return await sh(args);
    case "watch":
      return await (await import("./watch_cmd.ts" as string) as typeof import("./watch_cmd.ts"))
        .cmdWatch(args);
    case "exec":
      return await (await import("./exec.ts" as string) as typeof import("./exec.ts")).cmdExec(
        args,
      );
  }
  const commands = await import("./commands.ts" as string) as typeof import("./commands.ts");
  switch (args.command) {
    case "run":
      return await commands.cmdRun(args);
    case "list":
      return await commands.cmdList(args);
    case "graph":
      return await commands.cmdGraph(args);
    case "explain":
      return await commands.cmdExplain(args);
    case "clean":
      return await commands.cmdClean(args);
    default:
      throw new JxInputError(`'jx ${args.command}' is not available in this version yet`);
  }
}

/** `jx ctl ACTION [OPERAND...]`: a control request needs no YAML parser and no reactor. */
async function ctl(args: Args): Promise<number> {
  // A folder's parent is no run's: `-f packages/api` would ask packages/.jx/ for a socket.
  if (args.file !== undefined && isDirSync(args.file)) {
    throw usageError("ctl", `-f ${args.file} is a folder (-f names the jobs file)`);
  }
  const c = await import(
    "../modules/ctl_cmd.ts" as string
  ) as typeof import("../modules/ctl_cmd.ts");
  return await c.cmdCtl({
    action: args.names[0],
    operands: args.names.slice(1),
    json: args.json,
    drain: args.drain,
    // The jobs file's folder, found as `jx run` finds it (a parent's, from a subfolder).
    baseDir: projectDir(args.file ?? findJobsFileUp(cwd()) ?? "jobs.yaml"),
    env: envObject(),
  });
}

/**
 * The folder `jx sh` runs in, as its bytes when they are not UTF-8 (Deno's `cwd()` throws on
 * them, Bun's puts U+FFFD in their place: another folder's name); one line when even libc
 * cannot say it.
 */
async function shCwd(): Promise<string> {
  try {
    return cwd();
  } catch { /* not UTF-8, or gone: asked of libc below */ }
  const { rawCwd } = await import(
    "../reactor/libc.ts" as string
  ) as typeof import("../reactor/libc.ts");
  const raw = rawCwd();
  if (raw !== undefined) return raw;
  throw new JxInputError("sh: cannot tell the current folder's path (is it still there?)");
}

/** `jx sh SCRIPT [ARG...]`: a script needs no YAML parser. */
async function sh(args: Args): Promise<number> {
  const [part, reactorPart, { setUpSlots }] = await Promise.all([
    import("../sh/mod.ts" as string) as Promise<typeof import("../sh/mod.ts")>,
    import("../reactor/mod.ts" as string) as Promise<typeof import("../reactor/mod.ts")>,
    import("./setup.ts" as string) as Promise<typeof import("./setup.ts")>,
  ]);
  const warn = (w: string) => writeAll(2, `jx: warning: ${escapeControls(w)}\n`);
  const reactorChoice = args.reactor;
  let [script, ...scriptArgs] = args.execArgv ?? [];
  // `-s [ARG...]` and a lone `-` read the script from stdin; `- FILE` is FILE, as sh takes them.
  if (args.stdinScript) [script, scriptArgs] = ["-", args.execArgv ?? []];
  else if (script === "-" && scriptArgs.length) [script, ...scriptArgs] = scriptArgs;
  if (!script) throw usageError("sh", "missing SCRIPT");
  return await part.cmdSh({
    script,
    args: scriptArgs,
    dryRun: args.dryRun,
    // What `slots` fits to the open-files limit, as `jx run`'s.
    jobs: wantedJobs(args),
    cwd: await shCwd(),
    env: Object.fromEntries(
      Object.entries(envObject()).filter((e): e is [string, string] => e[1] !== undefined),
    ),
    // A watchdog ends the script's commands if jx is killed (see reactor/watchdog.ts).
    reactor: () =>
      reactorPart.guardReactor(reactorPart.createReactor(reactorChoice), part.SH_GRACE_MS),
    // make's pool when make (or jx exec) runs the script, as jx run joins it; else a counter
    // (no pool of jx's own: the commands' MAKEFLAGS stay what sh would give them); no more jobs
    // at once than the open-files limit holds. make's -n, -k, -q and -t are not a shell's
    // (`+sh build.sh` runs it whole): not taken, and -t's warning of a dry run not said.
    slots: (reactor) =>
      setUpSlots(
        { ...args, jobserverStyle: "none" },
        reactor,
        (w) => {
          if (!w.startsWith("make -t:")) warn(w);
        },
        { traced: !!(args.checkAccess || args.strict) }, // a trace's FIFO: fds of jx's own
      ),
    events: args.events,
    trace: args.trace,
    checkAccess: args.checkAccess,
    strict: args.strict,
    verbose: args.verbose,
  });
}
