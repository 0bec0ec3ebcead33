/**
 * What the command line and the environment say of the output cache, checked without loading it:
 * the remote URL's forms and sizes like `500M`. A leaf, so that the no-op fast path
 * (cli/noop_run.ts) refuses what the full way refuses without loading the cache's stores.
 *
 * @module
 */
import { JxInputError } from "../runtime/errors.ts";

/**
 * A remote store's URL taken apart: its protocol, its base URL (`http(s)://HOST:PORT[/PATH]`,
 * without a trailing slash) and, for Turborepo, its `?team=NAME`.
 */
export type RemoteUrl =
  | { kind: "turbo"; base: string; team: string }
  | { kind: "bazel"; base: string };

/**
 * `turbo+http(s)://HOST:PORT[/PATH]?team=NAME` or `bazel+http(s)://HOST:PORT[/PREFIX]` taken
 * apart; throws `JxInputError` for any other form.
 *
 * @example
 * ```ts
 * import { parseRemoteUrl } from "./flags.ts";
 * import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
 * assertEquals(parseRemoteUrl("bazel+http://cache:8080/ci/"), {
 *   kind: "bazel",
 *   base: "http://cache:8080/ci",
 * });
 * assertEquals(parseRemoteUrl("turbo+https://t.example?team=web"), {
 *   kind: "turbo",
 *   base: "https://t.example",
 *   team: "web",
 * });
 * throws(() => parseRemoteUrl("bazel+http://cache:0"), /port 0 is no server's/);
 * ```
 */
export function parseRemoteUrl(url: string): RemoteUrl {
  const m = /^(turbo|bazel)\+(https?):\/\/([^/?#]+)([^?#]*)(?:\?([^#]*))?$/.exec(url);
  const shown = redactWholeUrl(url);
  if (!m) {
    throw new JxInputError(
      `remote cache '${shown}': expected turbo+http://HOST:PORT[/PATH]?team=NAME or bazel+http://HOST:PORT[/PREFIX]`,
    );
  }
  const [, kind, scheme, host, path, query] = m;
  const base = `${scheme}://${host}${path.replace(/\/$/, "")}`;
  // A host or port no request could reach (`exa mple`, `:99999`, `[::1`) is a typo, as a wrong
  // scheme is: refused here, not met as a warning once the run has started.
  let port = "";
  try {
    port = new URL(base).port;
  } catch {
    throw new JxInputError(`remote cache '${shown}': not a valid URL (its host or port)`);
  }
  // Port 0 is no server's: every request failed, one warning after the run had started.
  if (port === "0") throw new JxInputError(`remote cache '${shown}': port 0 is no server's`);
  if (kind === "bazel") return { kind: "bazel", base };
  const team = new URLSearchParams(query ?? "").get("team");
  if (!team) throw new JxInputError(`remote cache '${shown}': a turbo+ URL needs ?team=NAME`);
  return { kind: "turbo", base, team };
}

/**
 * `text` with the credentials of every URL in it (`//USER:PASSWORD@`, which the runtimes send as
 * Basic auth) replaced by `***`: a store's label and its errors are printed, into CI logs too.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./flags.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(redactUrl("GET http://ci:pw@cache:8080/ac/1"), "GET http://***@cache:8080/ac/1");
 * ```
 */
export function redactUrl(text: string): string {
  return text.replace(/(\/\/)[^/?#\s'"]*@/g, "$1***@");
}

/**
 * `url`, a whole URL (a store's base, the flag's value), with its user and password (from `//` to
 * the last `@` before the path) shown as `***`: they may hold a quote, a space, `#` or `?`, where
 * `redactUrl` (which finds URLs inside a message) stops.
 *
 * @example
 * ```ts
 * import { redactWholeUrl } from "./flags.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(redactWholeUrl("http://ci:p'w d@cache:8080/x"), "http://***@cache:8080/x");
 * ```
 */
export function redactWholeUrl(url: string): string {
  return redactUrl(url.replace(/^([^/@]*\/\/)[^/]*@/, "$1***@"));
}

/**
 * Bytes from `123`, `500K`, `10M`, `2G`, `1.5GiB`, `1T` (powers of 1024); throws on anything else.
 *
 * @example
 * ```ts
 * import { parseSize } from "./flags.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(parseSize("2K"), 2048);
 * ```
 */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(s.trim());
  if (!m) throw new JxInputError(`'${s}' is not a size (like 500M or 10G)`);
  const pow = " kmgt".indexOf(m[2].toLowerCase() || " ");
  return Math.floor(Number(m[1]) * 1024 ** pow);
}

/**
 * What opening the cache would refuse in the flags and the environment (a remote URL of no known
 * form, a `JX_CACHE_MAX_SIZE` that is no size), before anything is read: the first such error,
 * or undefined. Whether the cache is on at all may depend on the jobs file (`cache:`); a caller
 * that has not read it goes the way that reads it when this finds something.
 *
 * @example
 * ```ts
 * import { cacheFlagsProblem } from "./flags.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(cacheFlagsProblem({ remoteCache: "http://x" }, {})?.message.startsWith("remote"), true);
 * assertEquals(cacheFlagsProblem({ noCache: true, remoteCache: "http://x" }, {}), undefined);
 * ```
 */
export function cacheFlagsProblem(
  flags: { remoteCache?: string; noCache?: boolean },
  env: Record<string, string | undefined>,
): JxInputError | undefined {
  if (flags.noCache) return undefined;
  const url = flags.remoteCache ?? (env.JX_REMOTE_CACHE || undefined);
  try {
    if (url !== undefined) parseRemoteUrl(url);
    if (env.JX_CACHE_MAX_SIZE) parseSize(env.JX_CACHE_MAX_SIZE);
  } catch (e) {
    if (e instanceof JxInputError) return e;
    throw e;
  }
  return undefined;
}
