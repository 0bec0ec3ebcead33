/**
 * What jx checks before it reads or writes its state in `.jx/`: the folder
 * and each file in it must be ours (owner == our uid), not symbolic links,
 * and of the expected type; group and other write permission is taken away.
 * A link or another user's file is refused (exit 2, naming the path): jx
 * never writes through a link out of `.jx/`, nor uses state someone else can
 * change. A file or folder of ours of the wrong type (a `.jx` that is a file,
 * a `state.ndjson` that is a folder) is damaged state: one warning, it is
 * removed, and the state is rebuilt (the jobs run again).
 *
 * @module
 */
import { JxInputError } from "../runtime/errors.ts";
import { stateDirSync, writeAll } from "../runtime/mod.ts";
import { inspectOwned, myUid, privateMode, removeTree } from "../runtime/owned.ts";

/** Where warnings about damaged state go. */
export type Warn = (message: string) => void;

/** One `jx: warning:` line on stderr. */
export const stderrWarn: Warn = (m) => writeAll(2, `jx: warning: ${m}\n`);

function refuse(path: string, what: "dir" | "file", found: ReturnType<typeof inspectOwned>): never {
  const name = what === "dir" ? "folder" : "file";
  if (found.kind === "symlink") {
    throw new JxInputError(
      `${path} is a symbolic link: jx does not keep its state through a link (remove it)`,
    );
  }
  const uid = found.kind === "foreign" ? found.uid : -1;
  throw new JxInputError(
    `${path}: this state ${name} belongs to uid ${uid}, not to this user (uid ${myUid()}); ` +
      "jx will not use state another user can change (remove it, or run jx as its owner)",
  );
}

/**
 * Makes sure `path` (a file or folder in `.jx/`) can be used: "absent" or
 * "ok"; damaged (wrong type) is warned about and removed ("absent"); a link
 * or a foreign owner throws `JxInputError`.
 */
export function checkStatePath(path: string, want: "dir" | "file", warn: Warn): "absent" | "ok" {
  const found = inspectOwned(path, want);
  switch (found.kind) {
    case "absent":
      return "absent";
    case "ok":
      privateMode(path, found.mode);
      return "ok";
    case "wrong-type":
      warn(
        `${path} is ${
          found.found === "other" ? "neither a file nor a folder" : `a ${found.found}`
        }` +
          `${found.found === "other" ? "" : `, not a ${want === "dir" ? "folder" : "file"}`} ` +
          "(damaged state): removed; the state is rebuilt",
      );
      removeTree(path);
      return "absent";
    case "symlink":
    case "foreign":
      return refuse(path, want, found);
    default: {
      const _assertNever: never = found;
      return _assertNever;
    }
  }
}

/**
 * `baseDir/.jx`, checked (and created, mode 0755, with a `.gitignore` of `*`) for jx to read and write
 * its state in. Throws `JxInputError` when it is a link or another user's.
 *
 * @example
 * ```ts
 * import { stateDir } from "./guard.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const project = Deno.makeTempDirSync();
 * assertEquals(stateDir(project), `${project}/.jx`);
 * assertEquals(Deno.statSync(`${project}/.jx`).isDirectory, true);
 * ```
 */
export function stateDir(baseDir: string, warn: Warn = stderrWarn): string {
  const dir = `${baseDir.endsWith("/") ? baseDir.slice(0, -1) : baseDir}/.jx`;
  if (checkStatePath(dir, "dir", warn) === "absent") {
    stateDirSync(dir); // with its .gitignore
    checkStatePath(dir, "dir", warn); // umask 002 made it group-writable; raced by another user
  }
  return dir;
}
