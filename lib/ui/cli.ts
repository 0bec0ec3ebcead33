/**
 * `jx ui [-f FILE] [--port N] [--host ADDR]`: serves the page for a jobs
 * file until SIGINT/SIGTERM.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import process from "node:process";
import { jobsFileOrFail, type JobSpec, JxInputError, loadJobsFile } from "../graph/mod.ts";
import { noValue, optionHint, usageError } from "../runtime/errors.ts";
import { dieAtExit, escapeControls, writeAll } from "../runtime/mod.ts";
import { graphData } from "./data.ts";
import { isLoopback } from "./security.ts";
import { startUi } from "./server.ts";

const USAGE = "usage: jx ui [-f FILE] [--port N] [--host ADDR]";

/** The help text of `jx ui --help`. */
export const UI_HELP = `Usage: ${USAGE.slice("usage: ".length)}

Serves a page for the jobs file on http://127.0.0.1:PORT/ (any free port unless
--port N) and prints one line with its address and a random token; every
request needs the token. --host ADDR binds another address (with a warning:
anyone who can reach it and has the token sees the jobs; the line gives the
address bound, a name's first address). Ctrl-C stops it. See docs/ui.md.

Options:
  -f, --file FILE        jobs file (default: jobs.yaml, then jobs.yml, here or above)
      --port N           the port (default: any free one)
      --host ADDR        the address to bind (default: 127.0.0.1)
      --no-color         taken, as by every command (the line has no colour)
`;

interface UiArgs {
  file?: string;
  port: number;
  host: string;
  help: boolean;
}

/** Parses the arguments after `ui`; throws `JxInputError` on anything unknown. */
export function parseUiArgs(argv: string[]): UiArgs {
  const a: UiArgs = { port: 0, host: "127.0.0.1", help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === "") throw usageError("ui", `${flag} needs a value`);
      return v;
    };
    if (flag === "-f" || flag === "--file") a.file = value();
    else if (flag === "--port") a.port = port(value());
    else if (flag === "--host") a.host = value();
    else if (flag === "-h" || flag === "--help") a.help = true;
    else if (flag === "--no-color") noValue(flag, eq > 0, "ui"); // taken; it prints one plain line
    else if (flag.startsWith("-")) {
      const hint = optionHint(flag, ["--file", "--port", "--host", "--help", "--no-color"]);
      throw usageError("ui", `unknown option '${flag}'${hint}`);
    } else throw usageError("ui", `unexpected argument '${arg}'`);
  }
  return a;
}

function port(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) {
    throw new JxInputError(`--port: expected a port (0-65535), got '${v}'`); // as jx run --ui-port
  }
  return n;
}

/** Where `jx ui` finds jobs' last durations (the CLI's `.jx/durations.json`), by the jobs file's folder. */
export type LastDurations = (baseDir: string, jobs: JobSpec[]) => ReadonlyMap<string, number>;

/**
 * Runs `jx ui` (the arguments after `ui`) until interrupted; returns the
 * exit code (130/143 after SIGINT/SIGTERM, 2 for bad input). `lastDurations`
 * gives the page each job's last duration before any run.
 */
export async function cmdUi(argv: string[], lastDurations?: LastDurations): Promise<number> {
  let a: UiArgs;
  let url: string, close: () => Promise<void>;
  try {
    a = parseUiArgs(argv);
    if (a.help) {
      writeAll(1, UI_HELP);
      return 0;
    }
    const graph = loadJobsFile(jobsFileOrFail(a.file, process.cwd()));
    const lastMs = lastDurations?.(graph.baseDir, graph.jobs);
    const data = graphData(graph, undefined, { lastMs });
    const { host, port } = a;
    ({ url, close } = await startUi({ graph: data, port, host }).catch(async (e) => {
      throw await listenFailure(host, port, e);
    }));
  } catch (e) {
    return failed(e);
  }
  if (!isLoopback(a.host)) {
    writeAll(2, `jx ui: warning: listening on ${a.host}, not only this machine\n`);
  }
  writeAll(1, `jx ui: ${url}\n`);
  const signal = await new Promise<number>((ok) => {
    process.once("SIGINT", () => (dieAtExit("SIGINT"), ok(130)));
    process.once("SIGTERM", () => (dieAtExit("SIGTERM"), ok(143)));
  });
  await close();
  return signal;
}

/** One line for bad input, an address or port that cannot be had (exit 2); anything else is rethrown. */
function failed(e: unknown): number {
  if (!(e instanceof JxInputError)) throw e;
  writeAll(
    2,
    escapeControls(
      e.file ? e.format() : e.message.startsWith("jx") ? e.message : `jx: ${e.message}`,
    ) + "\n",
  );
  return 2;
}

/** Why the runtimes fail to listen, in words (their own messages differ, and mislead: "Is port 0 in use?"). */
const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: "the port is in use",
  EACCES: "permission denied",
  EADDRNOTAVAIL: "not an address of this machine",
  EINVAL: "not an address of this machine",
  EPERM: "not permitted",
};

/**
 * The one line for a server that could not listen on `host`: a name that
 * names no address is said so (the runtimes' errors for it differ), any other
 * failure by its code, else its message's first line.
 */
async function listenFailure(host: string, port: number, e: unknown): Promise<JxInputError> {
  const where = `cannot listen on ${JSON.stringify(host)} port ${port}`;
  const named = await lookup(host).then(() => true, () => false);
  if (!named) return new JxInputError(`jx ui: ${where}: no such address or host name`);
  return new JxInputError(`jx ui: ${where}: ${listenReason(e)}`);
}

/**
 * Why listening failed, in the same words on every runtime (`the port is
 * in use`), else the runtime's first line.
 *
 * @example
 * ```ts
 * import { listenReason } from "./cli.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(listenReason(Object.assign(new Error("Is port 1 in use?"), { code: "EADDRINUSE" })), "the port is in use");
 * ```
 */
export function listenReason(e: unknown): string {
  const code = String((e as { code?: unknown })?.code ?? "");
  return Object.hasOwn(LISTEN_ERRORS, code)
    ? LISTEN_ERRORS[code]
    : String((e as Error)?.message ?? e).split("\n")[0];
}
