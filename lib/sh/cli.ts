/**
 * `jx sh [-n] [-j N] [--events FILE] [--check-access|--strict] SCRIPT [ARG...]`:
 * the command, between the parsed command line and the parts.
 *
 * @module
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { JxInputError } from "../runtime/errors.ts";
import { type Reactor, watchdogDrained } from "../reactor/mod.ts";
import { withBytePath } from "../reactor/libc.ts";
import { writeAll } from "../runtime/mod.ts";
import { decodeBytes, encodeBytes } from "../runtime/utf8.ts";
import type { Reporter, Slots } from "../scheduler/mod.ts";
import { formatGraph } from "./graph.ts";
import { Lines, parseScript } from "./parse.ts";
import { runScript } from "./run.ts";

/**
 * What `jx sh` was asked.
 *
 * @example
 * ```ts
 * import type { ShCommand } from "./cli.ts";
 * const c: ShCommand = { script: "build.sh", args: [], dryRun: false, jobs: 4, cwd: "/src", env: {} };
 * ```
 */
export interface ShCommand {
  /**
   * The script, as named on the command line (it is `$0`); `-`: read from stdin (`jx sh -s`,
   * `$0` is then `sh`, as under `sh -s`).
   */
  script: string;
  /** `$1`... */
  args: string[];
  /** `-n`: print the derived graph, run nothing. */
  dryRun: boolean;
  jobs: number;
  cwd: string;
  env: Record<string, string>;
  /** Creates the reactor (not called with `-n`). */
  reactor?: () => Reactor;
  /**
   * The job slots on that reactor (default: a counter of `jobs`): make's jobserver pool when
   * make or `jx exec` runs jx sh. `finish` ends them, and may say what went wrong (a warning).
   */
  slots?: (reactor: Reactor) => { slots: Slots; finish(): string | undefined };
  reporters?: Reporter[];
  /** `--events FILE`: the NDJSON event log (created once the script is read). */
  events?: string;
  /** `--trace FILE`: a Chrome trace. */
  trace?: string;
  /** `--check-access`: trace each command and compare with what was derived (docs/lint.md). */
  checkAccess?: boolean;
  /** `--strict`: as `checkAccess`, and a finding makes a successful script exit 1. */
  strict?: boolean;
  /** `-v`: also print the informational findings of `--check-access`. */
  verbose?: boolean;
  write?: (fd: 1 | 2, chunk: Uint8Array) => void;
}

/**
 * Reads and parses the script. A script that cannot be read is a usage
 * error; a syntax error, or a NUL byte (shells differ on one: dash drops it,
 * and no `sh -c` argument can hold it), is `FILE:LINE:COL: message` (all
 * exit 2). When jx's parser fails on something `sh -n` accepts, or on a
 * script nested deeper than it reads (`MAX_NESTING`), the whole script runs
 * as one sh (plan.ts).
 *
 * @example
 * ```ts
 * import { loadScript } from "./cli.ts";
 * import { strictEqual } from "node:assert";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/build.sh`, "cc -c a.c\ncc -c b.c\n");
 * const parsed = await loadScript("build.sh", dir);
 * strictEqual(parsed.items.length, 2);
 * ```
 */
export async function loadScript(script: string, cwd: string, shell = "sh") {
  if (script === STDIN) return await checkScript(readStdin(), script, shell);
  const path = resolve(cwd, script);
  let src: string;
  try {
    // A name that is not UTF-8 (`caf\xe9.sh`) is opened by its bytes (withBytePath).
    src = withBytePath(path, (p) => {
      if (statSync(p).isDirectory()) throw new JxInputError(`sh: ${script} is a directory`);
      // Bytes that are not UTF-8 (a Latin-1 script) are kept as such (run.ts writes them back).
      return decodeBytes(readFileSync(p));
    });
  } catch (e) {
    if (e instanceof JxInputError) throw e;
    // A missing script in the words jx uses for a missing jobs file, not the runtime's
    // `ENOENT: no such file or directory, stat '/abs/path'`.
    const why = (e as { code?: unknown })?.code === "ENOENT"
      ? "no such file"
      : (e as Error).message.split("\n")[0];
    throw new JxInputError(`sh: cannot read ${script}: ${why}`);
  }
  return await checkScript(src, script, shell);
}

/** The script named `-`: read from stdin, all of it, before anything runs. */
const STDIN = "-";

/**
 * jx's stdin, to its end (a script piped to `jx sh -s`), from where it stands (a file's offset,
 * as sh reads it). A pipe its writer made non-blocking (EAGAIN before the script is written) is
 * read on through `/proc/self/fd/0`, a blocking description of the same pipe.
 */
function readStdin(): string {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  let fd = 0;
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf);
      } catch (e) {
        if (fd !== 0 || !wouldBlock(e)) throw e;
        fd = openSync("/proc/self/fd/0", "r");
        continue;
      }
      if (n === 0) break;
      chunks.push(buf.slice(0, n));
    }
  } catch (e) {
    const code = (e as { code?: unknown })?.code;
    const why = code === "EBADF" ? "stdin is closed" : (e as Error).message.split("\n")[0];
    throw new JxInputError(`sh: cannot read the script from stdin: ${why}`);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (all.set(c, at), at + c.length), 0);
  return decodeBytes(all);
}

/** A read that found nothing yet on a non-blocking descriptor (EAGAIN; Deno: os error 11). */
function wouldBlock(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === "EAGAIN" || /EAGAIN|os error 11\b/.test(String((e as Error)?.message));
}

/** The script's text parsed: a NUL byte, or a syntax error that sh -n refuses too, is bad input. */
async function checkScript(src: string, script: string, shell: string) {
  const nul = src.indexOf("\0");
  if (nul >= 0) {
    const message = "a NUL byte (\\0): a shell script is text, and shells differ on what it means";
    throw new JxInputError(message, script, new Lines(src).pos(nul));
  }
  const parsed = parseScript(src);
  // Nested deeper than jx reads (MAX_NESTING): run whole, sh says what it says of it.
  if (parsed.error && !parsed.error.tooDeep && !(await shAccepts(shell, src))) {
    const { line, col, message } = parsed.error;
    throw new JxInputError(message, script, { line, col });
  }
  return parsed;
}

/**
 * Whether `sh -n` accepts the script `src` (given on its stdin, as its bytes: a script's name
 * that is not UTF-8 cannot be passed in a string).
 */
async function shAccepts(shell: string, src: string): Promise<boolean> {
  const { spawnSync } = await import("node:child_process");
  const r = spawnSync(shell, ["-n"], {
    input: encodeBytes(src),
    stdio: ["pipe", "ignore", "ignore"],
  });
  return r.status === 0;
}

/**
 * Runs `jx sh`; returns the exit status (the script's, as sh would give it).
 *
 * @example
 * ```ts
 * import { createReactor } from "../reactor/mod.ts";
 * import { cmdSh } from "./cli.ts";
 * import { strictEqual } from "node:assert";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/build.sh`, "echo a > a.txt\necho b > b.txt\n");
 * const code = await cmdSh({
 *   script: "build.sh",
 *   args: [],
 *   dryRun: false,
 *   jobs: 4,
 *   cwd: dir,
 *   env: { PATH: "/usr/bin:/bin" },
 *   reactor: () => createReactor("auto"),
 *   write: () => {},
 * });
 * strictEqual(code, 0);
 * strictEqual(Deno.readTextFileSync(`${dir}/b.txt`), "b\n");
 * ```
 */
export async function cmdSh(c: ShCommand): Promise<number> {
  const parsed = await loadScript(c.script, c.cwd);
  const write = c.write ?? writeAll;
  // Read from stdin, the script's shell is `sh` to itself, as under `sh -s`.
  const argv0 = c.script === STDIN ? "sh" : c.script;
  const files = c.script === STDIN ? [] : [c.script];
  if (c.dryRun) {
    write(1, new TextEncoder().encode(formatGraph(parsed, { env: c.env, argv0, cwd: c.cwd })));
    return 0;
  }
  if (!c.reactor) throw new Error("cmdSh: no reactor");
  const reporters = [...(c.reporters ?? [])];
  if (c.events || c.trace) {
    const report = await import("../report/mod.ts" as string) as typeof import("../report/mod.ts");
    // Never over the script the run reads (`--events build.sh`).
    report.refuseSameOutput(c.events, c.trace);
    if (c.events) reporters.push(new report.EventLog(c.events, files));
    if (c.trace) reporters.push(new report.TraceWriter(c.trace, files));
  }
  const reactor = c.reactor();
  let check: Awaited<ReturnType<typeof shCheck>> | undefined;
  let slots: ReturnType<NonNullable<ShCommand["slots"]>> | undefined;
  try {
    slots = c.slots?.(reactor);
    check = c.checkAccess || c.strict ? await shCheck(c, reactor) : undefined;
    if (check) reporters.unshift(check.check.reporter(reporters));
    const strictly = check?.strictExits(!!c.strict, () => check!.check.problems);
    const code = await runScript(parsed, {
      reactor,
      jobs: c.jobs,
      slots: slots?.slots,
      argv0,
      args: c.args,
      cwd: c.cwd,
      env: c.env,
      reporters,
      write,
      mergeStderr: !c.write && sameFile(1, 2),
      inheritOutput: !c.write && isOpen(1) && isOpen(2),
      check: check?.check,
      exitOf: strictly?.decide,
    });
    return strictly ? strictly.exit(code) : code;
  } finally {
    const problem = slots?.finish();
    if (problem) write(2, new TextEncoder().encode(`jx: warning: ${problem}\n`));
    for (const r of reporters) await r.close?.();
    check?.tracer.close();
    reactor.close();
    await watchdogDrained(reactor);
  }
}

/** `--check-access`: the tracer (bad input when strace is missing) and the check over it. */
async function shCheck(c: ShCommand, reactor: Reactor) {
  const [access, { ShAccessCheck }] = await Promise.all([
    import("../access/mod.ts" as string) as Promise<typeof import("../access/mod.ts")>,
    import("./check.ts" as string) as Promise<typeof import("./check.ts")>,
  ]);
  const tracer = access.newTracer(`jx sh ${c.strict ? "--strict" : "--check-access"}`, reactor);
  const check = new ShAccessCheck({
    script: c.script,
    root: c.cwd,
    tracer,
    clock: reactor,
    verbose: c.verbose,
    print: c.write ? (s) => c.write!(1, new TextEncoder().encode(s)) : undefined,
  });
  return { check, tracer, strictExits: access.strictExits };
}

/** Whether two descriptors are the same file (`> log 2>&1`, one terminal). */
function sameFile(a: number, b: number): boolean {
  try {
    const x = fstatSync(a), y = fstatSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** Whether jx's fd `fd` is open (a child can then inherit it). */
function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}
