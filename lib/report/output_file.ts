/**
 * Files a run writes at the user's word (`--events FILE`, `--trace FILE`):
 * opened before anything runs, so that a path that cannot be written is bad
 * input (one line, exit 2) rather than an error after the jobs ran, and never
 * the jobs file (or script) the run reads.
 *
 * @module
 */
import { nodeFs } from "../runtime/fs.ts";
import { JxInputError } from "../runtime/errors.ts";
import { basename, dirname, join, resolve } from "../runtime/path.ts";

/** Why a file cannot be opened for writing, in a few words. */
function reason(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  if (code === "ENOENT") return "no such folder";
  if (code === "EISDIR") return "is a folder";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ENOTDIR") return "a part of the path is not a folder";
  return e instanceof Error ? e.message : String(e);
}

/**
 * Whether `a` and `b` are one file: the same device and inode when both exist (links too), else
 * the same place once their folders' links are followed (an optional dotenv file not written yet is
 * still one the run reads: its appearance is a change).
 */
function sameFile(a: string, b: string): boolean {
  const fs = nodeFs();
  try {
    const x = fs.statSync(a), y = fs.statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    const x = placeOf(a), y = placeOf(b);
    return x !== undefined && x === y;
  }
}

/**
 * Where `p` is, or would be created by an open for writing: its real path when it exists, else
 * its folder's real path and its name (a dangling link's target, which the open would create).
 */
function placeOf(p: string): string | undefined {
  const fs = nodeFs();
  try {
    return fs.realpathSync(p);
  } catch {
    // Absent, or a link to an absent file.
  }
  try {
    const target = fs.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink()
      ? resolve(dirname(p), fs.readlinkSync(p))
      : p;
    return join(fs.realpathSync(dirname(target)), basename(target));
  } catch {
    return undefined;
  }
}

/**
 * `path` opened for writing (created or truncated), as a file descriptor.
 * `what` names it in messages (`the event log`); `keep` are files it must
 * not be (the jobs file): a `JxInputError` for those, or when it cannot be
 * opened.
 *
 * @example
 * ```ts
 * import { openOutputFile } from "./output_file.ts";
 * import { throws } from "node:assert/strict";
 * throws(() => openOutputFile("/no/such/folder/x.ndjson", "the event log"), /no such folder/);
 * ```
 */
export function openOutputFile(path: string, what: string, keep: readonly string[] = []): number {
  const kept = keep.find((k) => sameFile(path, k));
  if (kept !== undefined) {
    throw new JxInputError(`${what} '${path}' would overwrite '${kept}', which this run reads`);
  }
  try {
    return nodeFs().openSync(path, "w");
  } catch (e) {
    throw new JxInputError(`cannot write ${what} '${path}': ${reason(e)}`);
  }
}

/**
 * Refuses an event log and a trace that are one file (`--events x --trace x`, or two names of it):
 * each would be written over the other (the trace, written whole at the end, over the log's
 * first lines: neither one readable). A `JxInputError`, before either is opened.
 *
 * @example
 * ```ts
 * import { refuseSameOutput } from "./output_file.ts";
 * import { throws } from "node:assert/strict";
 * throws(() => refuseSameOutput("/tmp/x.json", "/tmp/../tmp/x.json"), /name the same file/);
 * refuseSameOutput("/tmp/ev.ndjson", "/tmp/trace.json");
 * ```
 */
export function refuseSameOutput(events: string | undefined, trace: string | undefined): void {
  if (events === undefined || trace === undefined || !sameFile(events, trace)) return;
  throw new JxInputError(`--events and --trace name the same file '${trace}'`);
}
