/**
 * What `jx explain JOB` prints of the output cache: the key, its parts, and
 * on a miss which parts differ from the job's last stored key.
 *
 * @module
 */
import type { Cache } from "./cache.ts";
import { cacheable, type CacheJob, type KeyContext, type KeyParts } from "./key.ts";

const short = (h: string | null) =>
  h === null ? "absent" : h.slice(0, 16) + (h.endsWith("+x") ? " (executable)" : "");

/** The key's parts, one per line, indented under `cache key`. */
function partLines(p: KeyParts): string[] {
  const rec = (o: Record<string, string | null>, show: (v: string | null) => string) =>
    Object.entries(o).map(([k, v]) => `      ${k}: ${show(v)}`);
  return [
    `    version: ${p.version}, platform: ${p.platform}, cwd: ${p.cwd}`,
    `    command: ${JSON.stringify(p.command)}`,
    `    env: ${Object.keys(p.env).join(", ") || "(none)"}`,
    `    vars: ${Object.keys(p.vars).join(", ") || "(none)"}`,
    `    pass-through env: ${Object.keys(p.passEnv).join(", ") || "(none)"}`,
    ...rec(p.passEnv, (v) => v === null ? "unset" : "set (sha256 " + short(v) + ")"),
    `    inputs (${Object.keys(p.inputs).length}):`,
    ...rec(p.inputs, short),
    `    writes: ${p.writes.join(", ") || "(none)"}`,
    `    salt: ${p.salt === "\0" ? "(none)" : JSON.stringify(p.salt.split("\0"))}`,
  ];
}

/**
 * The lines `jx explain` adds for `job` when the cache is on.
 *
 * @example
 * ```ts
 * import { explainLines, openCache } from "./mod.ts";
 * const dir = Deno.makeTempDirSync();
 * const cache = openCache({ cacheDir: `${dir}/store` }, {}, console.error)!;
 * const job = { name: "a", argv: ["true"], env: {}, reads: [], writes: ["a.o"], cwd: dir };
 * const lines = explainLines(cache, job, { baseDir: dir, vars: {} });
 * if (!lines[0].startsWith("  cache: miss")) throw new Error(lines[0]);
 * ```
 */
export function explainLines(cache: Cache, job: CacheJob, ctx: KeyContext): string[] {
  if (!cacheable(job)) {
    return [
      job.cache === false
        ? "  cache: not cached (cache: false)"
        : "  cache: not cached (no writes; cache: true would store its log and status)",
    ];
  }
  let x;
  try {
    x = cache.explain(job, ctx);
  } catch (e) {
    // No key now (an input whose name is not UTF-8): a run would run the job uncached.
    return [`  cache: no key: ${(e as Error)?.message ?? e} (a run runs it uncached)`];
  }
  const head = x.stored
    ? `  cache: hit: the store holds key ${x.key.slice(0, 16)} (${cache.local.dir})`
    : `  cache: miss: no entry for key ${x.key.slice(0, 16)} in ${cache.local.dir}`;
  const lines = [head, "  cache key parts:", ...partLines(x.parts)];
  if (x.stored) return lines;
  if (!x.lastKey) lines.push("  never stored from this project");
  else if (!x.differs.length) lines.push(`  last stored key ${x.lastKey.slice(0, 16)}: entry gone`);
  else {
    lines.push(`  differs from the last stored key ${x.lastKey.slice(0, 16)}:`);
    for (const d of x.differs) lines.push(`    - ${d}`);
  }
  return lines;
}
