/**
 * From flags and environment to a run's `Cache` (or none): when the cache is
 * on, where the stores are, the remote URL forms, sizes like `500M`.
 *
 * @module
 */
import { JxInputError } from "../runtime/errors.ts";
import { BazelStore } from "./bazel.ts";
import { Cache } from "./cache.ts";
import { DEFAULT_TIMEOUT_MS, type RemoteStore } from "./http.ts";
import { DEFAULT_MAX_BYTES, defaultCacheDir, LocalStore } from "./local.ts";
import { TurboStore } from "./turbo.ts";
import { parseRemoteUrl, parseSize } from "./flags.ts";

export { parseSize };

/** What the command line says about the cache. */
export interface CacheFlags {
  /** `--cache-dir DIR`. */
  cacheDir?: string;
  /** `--remote-cache URL`. */
  remoteCache?: string;
  /** `--remote-cache-read-only`. */
  remoteReadOnly?: boolean;
  /** `--no-cache`. */
  noCache?: boolean;
  /** The jobs file has a top-level `cache:` (true or settings). */
  fileSaysCache?: boolean;
}

/**
 * `1.5 GiB` and the like; past the largest unit, a whole number of it.
 *
 * @example
 * ```ts
 * import { formatSize } from "./config.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(formatSize(1536 * 1024 ** 2), "1.5 GiB");
 * assertEquals(formatSize(2 ** 80), "1048576 EiB"); // (was "1e+24 TiB"-like beyond TiB)
 * ```
 */
export function formatSize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) n /= 1024, i++;
  const shown = !i ? String(n) : n >= 1e6 ? n.toFixed(0) : n.toFixed(1);
  return `${shown} ${units[i]}`;
}

/**
 * A remote store from `turbo+http(s)://HOST:PORT[/PATH]?team=NAME` or
 * `bazel+http(s)://HOST:PORT[/PREFIX]`, with `JX_REMOTE_CACHE_TOKEN` and
 * `JX_REMOTE_CACHE_SIGNATURE_KEY` from `env`. Throws `JxInputError` for a bad URL.
 */
export function remoteStore(url: string, env: Record<string, string | undefined>): RemoteStore {
  const remote = parseRemoteUrl(url);
  const base = remote.base;
  const token = bearerToken(env.JX_REMOTE_CACHE_TOKEN);
  const signatureKey = env.JX_REMOTE_CACHE_SIGNATURE_KEY || undefined;
  const timeoutMs = remoteTimeoutMs(env.JX_REMOTE_CACHE_TIMEOUT);
  if (remote.kind === "bazel") return new BazelStore({ base, token, signatureKey, timeoutMs });
  return new TurboStore({ base, team: remote.team, token, signatureKey, timeoutMs });
}

/**
 * `JX_REMOTE_CACHE_TOKEN` as it is sent (blanks around it dropped, as fetch
 * drops them), or undefined when empty. One that no HTTP header can carry
 * (a line break, a control or non-ASCII character inside) is an error
 * before the run, the token not shown: each request failed, and Deno's
 * warning quoted the header up to the line break (`Invalid header value:
 * "Bearer FIRST-LINE-OF-THE-TOKEN`), into CI logs.
 */
function bearerToken(value: string | undefined): string | undefined {
  const token = value?.trim();
  if (!token) return undefined;
  if (!/^[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?$/.test(token)) {
    throw new JxInputError(
      "JX_REMOTE_CACHE_TOKEN: holds a line break, a control or a non-ASCII character, " +
        "which no HTTP header can carry (not shown)",
    );
  }
  return token;
}

/** The longest timer a runtime keeps (2^31 - 1 ms, about 24.8 days): a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `JX_REMOTE_CACHE_TIMEOUT` (seconds) in ms: the default when unset, not a number or not above
 * 0; at most `MAX_TIMER_MS` (a longer timer would fire at once: every lookup timed out).
 *
 * @example
 * ```ts
 * import { remoteTimeoutMs } from "./config.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(remoteTimeoutMs("0.3"), 300);
 * assertEquals(remoteTimeoutMs("1e9"), 2 ** 31 - 1);
 * assertEquals(remoteTimeoutMs("soon"), remoteTimeoutMs(undefined));
 * ```
 */
export function remoteTimeoutMs(value: string | undefined): number {
  const secs = Number(value);
  return secs > 0 ? Math.min(secs * 1000, MAX_TIMER_MS) : DEFAULT_TIMEOUT_MS;
}

/**
 * Whether a yes-or-no variable says yes: set to anything but blank, `0`,
 * `false`, `no` or `off` (any case). `JX_REMOTE_CACHE_READ_ONLY=true` (a
 * CI's usual spelling) meant no, and a fork's pull request uploaded.
 *
 * @example
 * ```ts
 * import { saysYes } from "./config.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(["1", "true", "YES", "on"].map(saysYes), [true, true, true, true]);
 * assertEquals([undefined, "", "0", "False", "no", "off"].map(saysYes), [false, false, false, false, false, false]);
 * ```
 */
export function saysYes(value: string | undefined): boolean {
  const v = value?.trim().toLowerCase();
  return !!v && !["0", "false", "no", "off"].includes(v);
}

/** The local store that flags and environment name (`JX_CACHE_MAX_SIZE` sets its limit). */
export function localStore(flags: CacheFlags, env: Record<string, string | undefined>): LocalStore {
  let max = DEFAULT_MAX_BYTES;
  try {
    if (env.JX_CACHE_MAX_SIZE) max = parseSize(env.JX_CACHE_MAX_SIZE);
  } catch (e) {
    throw new JxInputError(`JX_CACHE_MAX_SIZE: ${(e as Error).message}`);
  }
  if (flags.cacheDir === "") {
    throw new JxInputError("--cache-dir needs a value (it is empty)");
  }
  return new LocalStore(homePath(flags.cacheDir ?? defaultCacheDir(env), env), max);
}

/**
 * `path` with a leading `~` (alone or before `/`) as the home folder, as a
 * shell would have it: where no shell expands it (`--cache-dir=~/jx`, CI's
 * `JX_CACHE_DIR: ~/.cache/jx`), the store was made in a folder named `~`
 * of the current one (inside the project, where an `rm -rf ~` to remove it
 * removes the home folder). `~user` and a `~` without a `HOME` stay as they are.
 *
 * @example
 * ```ts
 * import { homePath } from "./config.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(homePath("~/.cache/jx", { HOME: "/home/me" }), "/home/me/.cache/jx");
 * assertEquals(homePath("~bob/jx", { HOME: "/home/me" }), "~bob/jx");
 * assertEquals(homePath("a/~/b", { HOME: "/home/me" }), "a/~/b");
 * ```
 */
export function homePath(path: string, env: Record<string, string | undefined>): string {
  if (!env.HOME || (path !== "~" && !path.startsWith("~/"))) return path;
  return env.HOME + path.slice(1);
}

/**
 * The run's cache, or null when it is off: on when the jobs file has a
 * top-level `cache:` or a store is named (flag or environment), unless
 * `--no-cache`, or unless the local store is writable by other users (then
 * with a warning).
 */
export function openCache(
  flags: CacheFlags,
  env: Record<string, string | undefined>,
  warn: (line: string) => void,
): Cache | null {
  const remoteUrl = flags.remoteCache ?? (env.JX_REMOTE_CACHE || undefined);
  const named = flags.cacheDir !== undefined || !!env.JX_CACHE_DIR || remoteUrl !== undefined;
  if (flags.noCache || !(flags.fileSaysCache || named)) return null;
  const local = localStore(flags, env);
  const bad = local.untrusted();
  if (bad !== undefined) {
    const who = bad.uid === undefined
      ? "is writable by other users,"
      : `belongs to uid ${bad.uid}, not you,`;
    const fix = bad.uid === undefined ? "chmod o-w it" : "use a store of your own, or chown it";
    warn(
      `jx: warning: cache: ${bad.path} ${who} who could make a restore write anything: ` +
        `the cache is off for this run (${fix})`,
    );
    return null;
  }
  // Set, but to nothing (a CI secret a fork's pull request does not get): nothing can be
  // verified, so nothing is taken from the server (nor sent, unsigned).
  const unverifiable = remoteUrl !== undefined && env.JX_REMOTE_CACHE_SIGNATURE_KEY === "";
  if (unverifiable) {
    warn(
      "jx: warning: cache: JX_REMOTE_CACHE_SIGNATURE_KEY is set but empty: no entry can be " +
        "verified, so the remote cache is not used in this run (unset it, or give the key)",
    );
  }
  return new Cache({
    local,
    remote: remoteUrl && !unverifiable ? remoteStore(remoteUrl, env) : null,
    readOnly: flags.remoteReadOnly || saysYes(env.JX_REMOTE_CACHE_READ_ONLY),
    warn,
  });
}
