/**
 * Builds one `JobSpec` from a validated job or module entry: variables
 * substituted, paths resolved, pools and ready checks checked. Used by the
 * loader for the jobs file and by `emit.ts` for jobs a running job emits.
 *
 * @module
 */
import { resolve } from "node:path";
import process from "node:process";
import { didYouMean, JxInputError } from "./errors.ts";
import { readDotenv } from "./dotenv.ts";
import { MAX_VALUE_LENGTH } from "./limits.ts";
import { parseDuration } from "./duration.ts";
import { RETRY_MAX_DELAY_DEFAULT } from "./schema.ts";
import type { EmitContext, HealthSpec, JobSpec, ReadySpec } from "./types.ts";
import { type PosMap, table } from "./validate.ts";

/** The default time between SIGTERM and SIGKILL. */
export const DEFAULT_GRACE_MS = 5000;

/** What normalizing changes: `.` or `..` parts, empty parts, a leading or trailing `/`; or empty. */
const NOT_NORMAL = /(?:^|\/)\.\.?(?:\/|$)|\/\/|^\/|\/$|^$/;

/** Normalizes a resource path: `./a//b/` -> `a/b`; `@names` and absolute paths kept. */
export function normalizeResource(r: string): string {
  if (r[0] === "@" || !NOT_NORMAL.test(r)) return r;
  const abs = r.startsWith("/");
  const parts: string[] = [];
  for (const p of r.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === ".." && parts.length && parts[parts.length - 1] !== "..") parts.pop();
    else parts.push(p);
  }
  return (abs ? "/" : "") + parts.join("/") || ".";
}

/** A path of an included file (relative to its folder) as the root sees it (relative to the root's). */
export function underPrefix(prefix: string | undefined, path: string): string {
  if (!prefix || path[0] === "@" || path.startsWith("/")) return path;
  return normalizeResource(`${prefix}/${path}`);
}

/** Quotes an argv item for display. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * `${NAME}` substitution with the file's variables (and a `foreach` item's).
 *
 * @example
 * ```ts
 * import { Substituter } from "./spec.ts";
 * const sub = new Substituter(new Map([["CC", "gcc"]]), "jobs.yaml", new Map());
 * sub.apply("${CC} -c a.c", "jobs.a.run", true); // "gcc -c a.c"
 * ```
 */
export class Substituter {
  constructor(
    /** The variables, by name. */
    readonly vars: Map<string, string>,
    private file: string,
    private positions: PosMap,
  ) {}

  /** The same, with more variables (a `foreach` item's). */
  with(extra: Record<string, string>): Substituter {
    return new Substituter(
      new Map([...this.vars, ...Object.entries(extra)]),
      this.file,
      this.positions,
    );
  }

  /**
   * Replaces `${NAME}`; `$${` stays a literal `${`. Unknown names are left
   * for the shell when `strict` is false, and are an error when true.
   * `${NAME:q}` is the value quoted as exactly one shell word: only in
   * shell text (`shell`, a `run` string), and only for a known variable.
   */
  apply(s: string, path: string, strict: boolean, shell = false): string {
    if (!s.includes("${")) return s; // nothing to replace (most values)
    let length = s.length; // stops doubling variables before memory runs out
    return s.replace(/\$(\$?)\{([^}]*)\}/g, (whole, escape: string, inner: string) => {
      if (escape) return whole.slice(1);
      const quote = inner.endsWith(":q");
      const name = quote ? inner.slice(0, -2) : inner;
      const v = this.vars.get(name);
      if (quote && !shell) {
        // A path with no position is the loader's own guess at what a job writes: leave it.
        if (!strict && !this.positions.has(path)) return whole;
        this.fail(
          `${path}: \${${inner}} quotes for the shell, only in a \`run\` string ` +
            `(here the value is used as it is: write \${${name}})`,
          path,
        );
      }
      if (v !== undefined) {
        if (v.includes("\0")) this.fail(`${path}: \${${name}} holds a NUL byte (\\0)`, path);
        const out = quote ? shellQuote(v) : v;
        if ((length += out.length - whole.length) > MAX_VALUE_LENGTH) {
          this.fail(`${path}: longer than ${MAX_VALUE_LENGTH} characters after substitution`, path);
        }
        return out;
      }
      if (!strict && !quote) return whole;
      const hint = didYouMean(name, this.vars.keys());
      const shellVar = quote ? ` (:q quotes jx vars; for the shell's own, write "$${name}")` : "";
      return this.fail(`${path}: unknown variable \${${name}}${hint}${shellVar}`, path);
    });
  }

  private fail(msg: string, path: string): never {
    // Positions are keyed `reads.0`; messages say `reads[0]`, as everywhere else.
    const shown = path.replace(/\.(\d+)(?=\.|$)/g, "[$1]");
    throw new JxInputError(msg.replace(path, () => shown), this.file, this.positions.get(path));
  }
}

/** What building a spec needs from its file. */
export interface SpecContext {
  /** The jobs file, for messages. */
  file: string;
  /** Positions of keys and values by dotted path (see `Validator`). */
  positions: PosMap;
  /** Pool capacities. */
  pools: Map<string, number>;
  /** The file-level `env`, substituted. */
  fileEnv: Record<string, string>;
  /** The file-level `env_file` values, and the files read (relative to `baseDir`). */
  fileDotenv?: DotenvLayer;
  /** What relative `cwd`s and `when.file` resolve against. */
  baseDir: string;
  /** An included file's folder relative to the root's: what its paths get before them. */
  prefix?: string;
  /** The file's variables, for jobs generated at run time. */
  vars: Record<string, string>;
  /** The file's `executor:`. */
  executor?: "local" | "slurm";
}

/** Variables read from dotenv files, and the files they came from (relative paths). */
export interface DotenvLayer {
  values: Record<string, string>;
  files: string[];
}

/**
 * Reads the dotenv files `list` (an `env_file` list at dotted path `path`),
 * relative to `baseDir`, later files winning. `NAME?` marks a file optional;
 * any other missing file is an error at its item.
 */
export function readDotenvFiles(
  list: string[],
  path: string,
  baseDir: string,
  file: string,
  positions: PosMap,
  sub: Substituter,
): DotenvLayer {
  const values: Record<string, string> = table<string>();
  const files: string[] = [];
  list.forEach((raw, i) => {
    const where = positions.has(`${path}.${i}`) ? `${path}.${i}` : path;
    const optional = raw.endsWith("?");
    const rel = normalizeResource(sub.apply(optional ? raw.slice(0, -1) : raw, where, true));
    const shown = rel.startsWith("/") ? rel : resolve(baseDir, rel);
    const found = readDotenv(resolve(baseDir, rel), shown);
    const inside = !rel.startsWith("/") && !rel.startsWith("../") && rel !== "..";
    // An input even when absent: its appearance is a change.
    if (inside) files.push(rel);
    if (found === undefined) {
      if (optional) return;
      throw new JxInputError(
        `${path}[${i}]: no such dotenv file '${rel}' ` +
          `(write '${raw}?' if it is optional)`,
        file,
        positions.get(where),
      );
    }
    Object.assign(values, found);
  });
  return { values, files };
}

/**
 * A job's environment: dotenv values (the file's, then the job's) under the
 * process environment (a variable set there is not replaced), then the
 * file's `env`, then the job's.
 */
function jobEnv(
  dotenv: DotenvLayer[],
  fileEnv: Record<string, string>,
  own: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = table<string>();
  for (const layer of dotenv) {
    for (const [k, v] of Object.entries(layer.values)) {
      if (process.env[k] === undefined) env[k] = v;
    }
  }
  return Object.assign(env, fileEnv, own);
}

/**
 * The item variables of a `foreach` glob not yet expanded, as globs: what
 * any item's `${AS}`, `${AS.stem}`... could be.
 *
 * @example
 * ```ts
 * import { globItemVars } from "./spec.ts";
 * globItemVars("F", "gen/*.txt")["F.stem"]; // "*"
 * ```
 */
export function globItemVars(as: string, glob: string): Record<string, string> {
  const slash = glob.lastIndexOf("/");
  return {
    [as]: glob,
    [`${as}.name`]: "*",
    [`${as}.dir`]: slash < 0 ? "." : glob.slice(0, slash) || "/",
    [`${as}.stem`]: "*",
    [`${as}.ext`]: ".*",
  };
}

/** The default time between health checks, and a check's time limit. */
const HEALTH_INTERVAL_MS = 5000, HEALTH_TIMEOUT_MS = 2000, HEALTH_FAILURES = 3;

/** A module's `health:` (checked against the schema), with its defaults. */
function healthSpec(
  h: Record<string, unknown> | undefined,
  p: string,
  fail: (msg: string, path: string) => never,
): HealthSpec | undefined {
  if (!h) return undefined;
  const kinds = ["tcp", "http", "cmd"].filter((k) => k in h);
  if (kinds.length !== 1) fail(`${p}.health: give exactly one of tcp, http, cmd`, `${p}.health`);
  return {
    ...(h.tcp !== undefined ? { tcp: h.tcp as number } : {}),
    ...(h.http !== undefined ? { http: h.http as string } : {}),
    ...(h.cmd !== undefined ? { cmd: h.cmd as string } : {}),
    intervalMs: (h.interval as number | undefined) ?? HEALTH_INTERVAL_MS,
    timeoutMs: (h.timeout as number | undefined) ?? HEALTH_TIMEOUT_MS,
    failures: (h.failures as number | undefined) ?? HEALTH_FAILURES,
  };
}

/** The part of a context that jobs generated at run time need (plain data). */
export function emitContext(ctx: SpecContext): EmitContext {
  return {
    file: ctx.file,
    baseDir: ctx.baseDir,
    env: ctx.fileDotenv ? jobEnv([ctx.fileDotenv], ctx.fileEnv, {}) : ctx.fileEnv,
    vars: ctx.vars,
    pools: Object.fromEntries(ctx.pools),
    ...(ctx.executor ? { executor: ctx.executor } : {}),
  };
}

/**
 * Builds the spec of the entry `j` (already checked against the schema),
 * named `name`, at file position `index`. `p` is the entry's dotted path in
 * messages (`jobs.cc`); `written` the name as written (a `foreach` group's).
 */
export function buildSpec(
  ctx: SpecContext,
  e: {
    name: string;
    kind: "job" | "module";
    j: Record<string, unknown>;
    sub: Substituter;
    written: string;
    index: number;
    p: string;
  },
): JobSpec {
  const { name, kind, j, sub, written, index, p } = e;
  const { baseDir, pools, fileEnv } = ctx;
  const at = (path: string) => ctx.positions.get(path);
  const fail = (msg: string, path: string): never => {
    throw new JxInputError(msg, ctx.file, at(path));
  };
  const run = j.run as string | string[];
  const argv = typeof run === "string"
    ? ["/bin/sh", "-c", sub.apply(run, `${p}.run`, false, true)]
    : run.map((a, i) => sub.apply(a, `${p}.run.${i}`, false));
  const resources = (key: "reads" | "writes") =>
    ((j[key] as string[] | undefined) ?? []).map((r, i) => {
      const path = ctx.positions.has(`${p}.${key}.${i}`) ? `${p}.${key}.${i}` : `${p}.${key}`;
      const res = normalizeResource(sub.apply(r, path, true));
      if (res.startsWith("/")) {
        fail(
          `${p}.${key}[${i}]: absolute path '${res}': ${key} are paths relative to the jobs ` +
            "file's folder (jx checks and cleans only those)",
          path,
        );
      }
      return underPrefix(ctx.prefix, res);
    });
  const ownEnv: Record<string, string> = table<string>();
  for (const [k, val] of Object.entries((j.env as Record<string, string>) ?? {})) {
    ownEnv[k] = sub.apply(val, `${p}.env.${k}`, false);
  }
  const jobDotenv = j.env_file === undefined ? undefined : readDotenvFiles(
    j.env_file as string[],
    `${p}.env_file`,
    baseDir,
    ctx.file,
    ctx.positions,
    sub,
  );
  const dotenv = [ctx.fileDotenv, jobDotenv].filter((d): d is DotenvLayer => d !== undefined);
  const env = jobEnv(dotenv, fileEnv, ownEnv);
  const envFiles = [...new Set(dotenv.flatMap((d) => d.files))].map((f) =>
    underPrefix(ctx.prefix, f)
  );
  const depfilePath = (d: string) => {
    const res = normalizeResource(sub.apply(d, `${p}.depfile`, true));
    const rooted = underPrefix(ctx.prefix, res);
    if (rooted.startsWith("/") || rooted.startsWith("../") || rooted === "..") {
      fail(`${p}.depfile: '${res}' is outside the jobs file's folder`, `${p}.depfile`);
    }
    return rooted;
  };
  const cwdRaw = j.cwd as string | undefined;
  const cwd = cwdRaw === undefined
    ? baseDir
    : resolve(baseDir, sub.apply(cwdRaw, `${p}.cwd`, true));
  const own = (j.pools as Record<string, number> | undefined) ?? table<number>();
  const jobPools: Record<string, number> = Object.assign(table<number>(), own);
  if (typeof j.pool === "string") jobPools[j.pool] = Math.max(jobPools[j.pool] ?? 0, 1);
  for (const [pool, units] of Object.entries(jobPools)) {
    const fromPools = Object.hasOwn(own, pool);
    const where = fromPools ? `${p}.pools.${pool}` : `${p}.pool`;
    const at = fromPools ? `${where}#` : where;
    if (!pools.has(pool)) {
      fail(`${where}: unknown pool '${pool}'${didYouMean(pool, pools.keys())}`, at);
    }
    if (units > pools.get(pool)!) {
      fail(
        `${where}: takes ${units} units of pool '${pool}', which has only ${pools.get(pool)}`,
        where,
      );
    }
  }
  const ready = j.ready as Record<string, unknown> | undefined;
  let readySpec: ReadySpec | undefined;
  if (ready) {
    const kinds = ["tcp", "http", "log", "cmd", "delay"].filter((k) => k in ready);
    if (kinds.length !== 1) {
      fail(`${p}.ready: give exactly one of tcp, http, log, cmd, delay`, `${p}.ready`);
    }
    readySpec = {
      tcp: ready.tcp as number | undefined,
      http: ready.http as string | undefined,
      log: ready.log as string | undefined,
      cmd: ready.cmd as string | undefined,
      delay: ready.delay as number | undefined,
      timeoutMs: ready.timeout as number | undefined,
      intervalMs: ready.interval as number | undefined,
    };
    if (readySpec.log !== undefined) {
      try {
        new RegExp(readySpec.log);
      } catch (e) {
        fail(`${p}.ready.log: bad regular expression: ${(e as Error).message}`, `${p}.ready.log`);
      }
    }
  }
  const health = healthSpec(j.health as Record<string, unknown> | undefined, p, fail);
  const repeat = j.repeat as { until?: string; while?: string; max?: number } | undefined;
  if (repeat && (repeat.until === undefined) === (repeat.while === undefined)) {
    fail(`${p}.repeat: give either 'until' or 'while'`, `${p}.repeat`);
  }
  const when = j.when as { env?: string; os?: string; file?: string } | undefined;
  if (when && when.env === undefined && when.os === undefined && when.file === undefined) {
    fail(`${p}.when: give at least one of env, os, file`, `${p}.when`);
  }
  const stop = j.stop as { signal?: string; grace?: number } | undefined;
  if (stop?.signal !== undefined && !/^(SIG)?[A-Z0-9]+$/.test(stop.signal)) {
    fail(`${p}.stop.signal: bad signal name '${stop.signal}'`, `${p}.stop.signal`);
  }
  return {
    name,
    kind,
    index,
    description: j.description as string | undefined,
    argv,
    command: typeof run === "string" ? argv[2] : argv.map(shellQuote).join(" "),
    needs: (j.needs as string[] | undefined) ?? [],
    reads: resources("reads"),
    writes: resources("writes"),
    // Plain objects with own keys (as a cached graph's JSON gives back): `constructor`
    // or `__proto__` stay keys.
    pools: Object.fromEntries(Object.entries(jobPools)),
    tokens: (j.tokens as number | undefined) ?? 1,
    cwd,
    env: Object.fromEntries(Object.entries(env)),
    timeoutMs: j.timeout as number | undefined,
    graceMs: (j.grace as number | undefined) ?? DEFAULT_GRACE_MS,
    ...retriesOf(j.retries as Retries | undefined),
    ...(j.interactive === true ? { interactive: true } : {}),
    if: j.if as string | undefined,
    unless: j.unless as string | undefined,
    jobserver: j.jobserver as JobSpec["jobserver"],
    // Modules stay local processes whatever the file says.
    executor: kind === "job" ? (j.executor as JobSpec["executor"]) ?? ctx.executor : undefined,
    slurm: j.slurm as JobSpec["slurm"],
    ready: readySpec,
    stop: stop
      ? {
        signal: (stop.signal ?? "TERM").replace(/^SIG/, ""),
        graceMs: stop.grace ?? DEFAULT_GRACE_MS,
      }
      : undefined,
    restart: j.restart as JobSpec["restart"],
    ...(health ? { health } : {}),
    ...(j.log !== undefined
      ? { log: resolve(baseDir, sub.apply(j.log as string, `${p}.log`, true)) }
      : {}),
    subscribe: j.subscribe as string[] | undefined,
    maxRestarts: j.max_restarts as number | undefined,
    when: when
      ? {
        env: when.env,
        os: when.os,
        file: when.file === undefined
          ? undefined
          : resolve(baseDir, sub.apply(when.file, `${p}.when.file`, true)),
      }
      : undefined,
    ...(envFiles.length ? { envFiles } : {}),
    ...(j.depfile !== undefined ? { depfile: depfilePath(j.depfile as string) } : {}),
    ...(written !== name ? { group: written } : {}),
    ...(j.emits === "jobs" ? { emits: emitContext(ctx) } : {}),
    ...(repeat
      ? {
        repeat: repeat.until !== undefined
          ? { kind: "until" as const, test: repeat.until, max: repeat.max ?? 10 }
          : { kind: "while" as const, test: repeat.while!, max: repeat.max ?? 10 },
      }
      : {}),
    pos: at(`${p}#`) ?? { line: 1, col: 1 },
    ...(j.cache !== undefined ? { cache: j.cache as JobSpec["cache"] } : {}),
  };
}

/** `retries:` as written: a count, or a count with waits between the attempts. */
type Retries = number | { count: number; delay?: number; backoff?: number; max_delay?: number };

/** `retries` and `retryDelay` of a job spec (durations are milliseconds here). */
function retriesOf(r: Retries | undefined): Pick<JobSpec, "retries" | "retryDelay"> {
  if (r === undefined || typeof r === "number") return { retries: r ?? 0 };
  if (!r.delay) return { retries: r.count };
  const maxMs = r.max_delay ?? parseDuration(RETRY_MAX_DELAY_DEFAULT)!;
  return { retries: r.count, retryDelay: { delayMs: r.delay, backoff: r.backoff ?? 1, maxMs } };
}
