/**
 * The descriptors a child of `Bun.spawn` inherits. Bun closes every fd but
 * those in its `stdio` array (even without close-on-exec), so the GNU make
 * jobserver's pipe form (`--jobserver-auth=R,W` in MAKEFLAGS: the pool jx
 * serves, or the pool of the make that runs jx) would reach no child. When a
 * child's environment names such a pair and both are pipes or fifos open in
 * jx, they are passed as the child's fds 3 and 4 and the flags rewritten to
 * name those (`make` 4.3 then joins the pool like under Deno); otherwise the
 * environment is left as it is.
 *
 * @module
 */
import { nodeFs } from "../runtime/mod.ts";

const FLAG_VARS = ["MAKEFLAGS", "MFLAGS", "CARGO_MAKEFLAGS"];
const AUTH = /--jobserver-(auth|fds)=(\d+),(\d+)(?=\s|$)/g;

function isPipe(fd: number): boolean {
  try {
    return nodeFs().fstatSync(fd).isFIFO();
  } catch {
    return false;
  }
}

/**
 * The jobserver descriptors `env` names, and the environment that names
 * them as the child's 3 and 4; undefined when there are none to pass.
 *
 * @example
 * ```ts
 * import { jobserverFds } from "./bun_fds.ts";
 * const pass = jobserverFds({ MAKEFLAGS: " -j4 --jobserver-auth=11,12" });
 * // when 11 and 12 are a pipe here:
 * // { fds: [11, 12], env: { MAKEFLAGS: " -j4 --jobserver-auth=3,4" } }
 * ```
 */
export function jobserverFds(
  env: Record<string, string>,
): { fds: number[]; env: Record<string, string> } | undefined {
  let pair: [number, number] | undefined;
  for (const name of FLAG_VARS) {
    const m = new RegExp(AUTH.source).exec(env[name] ?? "");
    if (m) {
      pair = [Number(m[2]), Number(m[3])];
      break;
    }
  }
  if (!pair) return undefined;
  const [r, w] = pair;
  if (!isPipe(r) || !isPipe(w)) return undefined;
  const fds = r === w ? [r] : [r, w];
  const auth = r === w ? "3,3" : "3,4";
  const out = { ...env };
  for (const name of FLAG_VARS) {
    if (out[name] === undefined) continue;
    out[name] = out[name].replace(
      AUTH,
      (all, kind, a, b) => Number(a) === r && Number(b) === w ? `--jobserver-${kind}=${auth}` : all,
    );
  }
  return { fds, env: out };
}
