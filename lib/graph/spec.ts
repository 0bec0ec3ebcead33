/**
 * Builds one `JobSpec` from a validated job or module entry: variables
 * substituted, paths resolved, pools and ready checks checked. Used by the
 * loader for the jobs file and by `emit.ts` for jobs a running job emits.
 *
 * @module
 */
import { resolve } from "node:path";
import { didYouMean, JxInputError } from "./errors.ts";
import { MAX_VALUE_LENGTH } from "./limits.ts";
import type { EmitContext, JobSpec, ReadySpec } from "./types.ts";
import { type PosMap, table } from "./validate.ts";

/** The default time between SIGTERM and SIGKILL. */
export const DEFAULT_GRACE_MS = 5000;

/** Normalizes a resource path: `./a//b/` -> `a/b`; `@names` and absolute paths kept. */
export function normalizeResource(r: string): string {
  if (r[0] === "@") return r;
  const abs = r.startsWith("/");
  const parts: string[] = [];
  for (const p of r.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === ".." && parts.length && parts[parts.length - 1] !== "..") parts.pop();
    else parts.push(p);
  }
  return (abs ? "/" : "") + parts.join("/") || ".";
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
    private vars: Map<string, string>,
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
  /** What relative `cwd`s and `when.file` resolve against. */
  baseDir: string;
  /** The file's variables, for jobs generated at run time. */
  vars: Record<string, string>;
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

/** The part of a context that jobs generated at run time need (plain data). */
export function emitContext(ctx: SpecContext): EmitContext {
  return {
    file: ctx.file,
    baseDir: ctx.baseDir,
    env: ctx.fileEnv,
    vars: ctx.vars,
    pools: Object.fromEntries(ctx.pools),
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
      return res;
    });
  const env: Record<string, string> = Object.assign(table<string>(), fileEnv);
  for (const [k, val] of Object.entries((j.env as Record<string, string>) ?? {})) {
    env[k] = sub.apply(val, `${p}.env.${k}`, false);
  }
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
    retries: (j.retries as number | undefined) ?? 0,
    if: j.if as string | undefined,
    unless: j.unless as string | undefined,
    jobserver: j.jobserver as JobSpec["jobserver"],
    ready: readySpec,
    stop: stop
      ? {
        signal: (stop.signal ?? "TERM").replace(/^SIG/, ""),
        graceMs: stop.grace ?? DEFAULT_GRACE_MS,
      }
      : undefined,
    restart: j.restart as JobSpec["restart"],
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
  };
}
