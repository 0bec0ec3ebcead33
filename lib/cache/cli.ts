/**
 * `jx cache stats|prune [--max-size SIZE]|clear [--cache-dir DIR]`.
 *
 * @module
 */
import process from "node:process";
import {
  didYouMean,
  ioReason,
  JxInputError,
  noValue,
  optionHint,
  usageError,
} from "../runtime/errors.ts";
import { escapeControls, writeAll } from "../runtime/mod.ts";
import { formatSize, localStore, parseSize } from "./config.ts";

const USAGE = "usage: jx cache stats|prune [--max-size SIZE]|clear [--cache-dir DIR]";
const ACTIONS = ["stats", "prune", "clear"];

/** The help text of `jx cache --help`. */
export const CACHE_HELP = `Usage: ${USAGE.slice("usage: ".length)}

The local output cache's store (docs/cache.md): the store given by --cache-dir,
else JX_CACHE_DIR, else $XDG_CACHE_HOME/jx, else ~/.cache/jx.
  stats                    its folder, entries, blobs, size (and its limit)
  prune [--max-size SIZE]  remove the least recently used entries down to SIZE (500M,
                           2G; default: the store's limit, JX_CACHE_MAX_SIZE or 10G)
  clear                    remove every entry and blob (only the store's own folders)

Options:
      --cache-dir DIR    the store (default: JX_CACHE_DIR, $XDG_CACHE_HOME/jx, ~/.cache/jx)
      --max-size SIZE    prune: the size to prune the store down to
      --no-color         taken, as by every command (the output has no colour)

Examples:
  jx cache stats
  jx cache prune --max-size 2G --cache-dir /ci/jx-cache
`;

/** Splits `args` into the action and its options; throws `JxInputError` on anything unknown. */
export function parseCacheArgs(
  args: string[],
): { action: string; cacheDir?: string; maxSize?: string } {
  const out: { action: string; cacheDir?: string; maxSize?: string } = { action: "" };
  if (args.includes("--help") || args.includes("-h")) return { action: "help" };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw usageError("cache", `${flag} needs a value`);
      return v;
    };
    if (flag === "--cache-dir") out.cacheDir = value();
    else if (flag === "--max-size") out.maxSize = value();
    else if (flag === "--no-color") noValue(flag, inline !== undefined, "cache"); // taken; no colour here
    else if (!a.startsWith("-") && !out.action) out.action = a;
    else if (a.startsWith("-")) {
      const hint = optionHint(flag, ["--cache-dir", "--max-size", "--help", "--no-color"]);
      throw usageError("cache", `unknown option '${flag}'${hint}`);
    } else throw usageError("cache", `unexpected argument '${a}'`);
  }
  // `stats` and `clear` would drop it silently (`jx cache clear --max-size 1G` clears it all).
  if (out.maxSize !== undefined && ACTIONS.includes(out.action) && out.action !== "prune") {
    throw usageError("cache", "--max-size goes with prune only");
  }
  return out;
}

/** `--max-size`'s bytes, its bad value worded as every option's (`jx: --jobs: expected ...`). */
function sizeOption(v: string): number {
  try {
    return parseSize(v);
  } catch {
    throw new JxInputError(`--max-size: expected a size (like 500M or 10G), got '${v}'`);
  }
}

/** Runs `jx cache ...` (the arguments after `cache`) and returns the exit code. */
export function cmdCache(
  args: string[],
  env: Record<string, string | undefined> = process.env,
): number {
  let action = "";
  try {
    const a = parseCacheArgs(args);
    action = a.action;
    if (a.action === "help") {
      writeAll(1, CACHE_HELP);
      return 0;
    }
    // The words first: help, a usage error or a bad size is said whatever the store and the
    // environment (a JX_CACHE_MAX_SIZE that is no size) would say when opened.
    if (!ACTIONS.includes(a.action)) {
      throw usageError(
        "cache",
        a.action
          ? `unknown action '${a.action}'${didYouMean(a.action, ACTIONS)}`
          : `missing ACTION (${ACTIONS.join(", ")})`,
      );
    }
    const maxSize = a.maxSize === undefined ? undefined : sizeOption(a.maxSize);
    const store = localStore({ cacheDir: a.cacheDir }, env);
    switch (a.action) {
      case "stats": {
        store.mustBeStore("nothing counted"); // (a file, a mistyped folder: not an empty store)
        const s = store.stats();
        writeAll(
          1,
          `store: ${s.dir}\nentries: ${s.entries}\nblobs: ${s.blobs}\nsize: ${
            formatSize(s.bytes)
          } (limit ${formatSize(s.maxBytes)})\n`,
        );
        return 0;
      }
      case "prune": {
        // No size: down to the store's limit (what `stats` shows; a run trims to 80% of it).
        const freed = store.prune(maxSize ?? store.maxBytes);
        writeAll(
          1,
          `removed ${formatSize(freed)}; ${formatSize(store.stats().bytes)} left in ${store.dir}\n`,
        );
        return 0;
      }
      default: // clear
        store.clear();
        writeAll(1, `cleared ${store.dir}\n`);
        return 0;
    }
  } catch (e) {
    const code = (e as { code?: unknown })?.code, where = (e as { path?: unknown })?.path;
    if (!(e instanceof JxInputError) && typeof code === "string" && /^E[A-Z]+$/.test(code)) {
      // A file of the store that cannot be removed (another user's store, a read-only disk): one
      // line, what was removed before it stays removed.
      const at = typeof where === "string" ? `${escapeControls(where)}: ` : "";
      writeAll(2, `jx: cache ${action}: ${at}${ioReason(e)}\n`);
      return 1;
    }
    if (!(e instanceof JxInputError)) throw e;
    writeAll(2, `jx: ${escapeControls(e.message)}\n`);
    return 2;
  }
}
