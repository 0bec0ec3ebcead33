/**
 * Loads a jobs file: YAML with positions, schema checks, variable
 * substitution, references, derived edges and the cycle check. Every problem
 * is a `JxInputError` with file, line and column.
 *
 * @module
 */
import { CST, LineCounter, parseDocument, Parser } from "yaml";
import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { didYouMean, JxInputError, type Pos } from "./errors.ts";
import { CACHE_MIN_BYTES, cacheKey, readCachedGraph, writeCachedGraph } from "./cache.ts";
import { deriveResourceEdges } from "./edges.ts";
import { Graph } from "./graph.ts";
import { FILE_FIELDS, VAR_RE } from "./schema.ts";
import type { Edge, JobSpec, ReadySpec } from "./types.ts";
import { type Foreach, type PosMap, Validator } from "./validate.ts";
import { expandForeach } from "./foreach.ts";

/**
 * Options for loading.
 *
 * @example
 * ```ts
 * import { loadJobsFile } from "./load.ts";
 * const graph = loadJobsFile("jobs.yaml.example", { vars: { CC: "clang" } });
 * ```
 */
export interface LoadOptions {
  /** `NAME=VALUE` overrides of `vars`. */
  vars?: Record<string, string>;
  /** Directory that relative `cwd`s and resources are resolved against (default: the file's). */
  baseDir?: string;
}

/** The default time between SIGTERM and SIGKILL. */
export const DEFAULT_GRACE_MS = 5000;

/**
 * Finds the jobs file: `jobs.yaml`, then `jobs.yml`, in `dir`.
 */
export function findJobsFile(dir: string): string | undefined {
  for (const name of ["jobs.yaml", "jobs.yml"]) {
    try {
      if (statSync(resolve(dir, name)).isFile()) return name;
    } catch { /* not there */ }
  }
  return undefined;
}

/**
 * Reads and loads a jobs file from disk.
 *
 * @example
 * ```ts
 * import { loadJobsFile } from "./load.ts";
 * const graph = loadJobsFile("jobs.yaml", { vars: { CC: "clang" } });
 * console.log(graph.jobs.map((j) => j.name));
 * ```
 */
export function loadJobsFile(file: string, opts: LoadOptions = {}): Graph {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new JxInputError(
      code === "ENOENT" ? "no such file" : `cannot read: ${(e as Error).message}`,
      file,
    );
  }
  const o = { baseDir: dirname(resolve(file)), ...opts };
  if (text.length < CACHE_MIN_BYTES) return parseJobsFile(text, file, o);
  const key = cacheKey(text, o.vars ?? {}, o.baseDir);
  const cached = readCachedGraph(file, key);
  if (cached) return cached;
  const graph = parseJobsFile(text, file, o);
  writeCachedGraph(file, key, graph);
  return graph;
}

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

class Substituter {
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
   */
  apply(s: string, path: string, strict: boolean): string {
    return s.replace(/\$(\$?)\{([^}]*)\}/g, (whole, escape: string, name: string) => {
      if (escape) return whole.slice(1);
      const v = this.vars.get(name);
      if (v !== undefined) return v;
      if (!strict) return whole;
      const hint = didYouMean(name, this.vars.keys());
      throw new JxInputError(
        `${path}: unknown variable \${${name}}${hint}`,
        this.file,
        this.positions.get(path),
      );
    });
  }
}

/**
 * Parses jobs-file text into a `Graph`.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "./load.ts";
 * const g = parseJobsFile("jobs:\n  hello: { run: echo hi }\n", "inline.yaml");
 * g.jobs[0].argv; // ["/bin/sh", "-c", "echo hi"]
 * ```
 */
export function parseJobsFile(text: string, file: string, opts: LoadOptions = {}): Graph {
  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    uniqueKeys: true,
    prettyErrors: false,
    merge: true,
  });
  const firstError = doc.errors[0];
  if (firstError) throw yamlError(text, file, lines, firstError);
  const v = new Validator(file, lines, doc);
  if (doc.contents === null) {
    throw new JxInputError("empty jobs file (expected a mapping with `jobs:`)", file, {
      line: 1,
      col: 1,
    });
  }
  const raw = v.object(doc.contents, FILE_FIELDS, "") as {
    vars?: Record<string, string>;
    env?: Record<string, string>;
    pools?: Record<string, number>;
    jobs?: Record<string, Record<string, unknown>>;
    modules?: Record<string, Record<string, unknown>>;
  };
  const at = (path: string): Pos | undefined => v.positions.get(path);
  const fail = (msg: string, path: string): never => {
    throw new JxInputError(msg, file, at(path));
  };
  if (!raw.jobs && !raw.modules) {
    throw new JxInputError("no `jobs:` (nothing to run)", file, v.pos(doc.contents));
  }

  // Variables: in file order, each may use earlier ones; command-line overrides win.
  const overrides = opts.vars ?? {};
  const vars = new Map<string, string>();
  for (const [k, val] of Object.entries(overrides)) {
    if (!VAR_RE.test(k)) throw new JxInputError(`invalid variable name '${k}' on the command line`);
    vars.set(k, val);
  }
  const sub = new Substituter(vars, file, v.positions);
  for (const [k, val] of Object.entries(raw.vars ?? {})) {
    if (k in overrides) continue;
    vars.set(k, sub.apply(val, `vars.${k}`, true));
  }

  const baseDir = opts.baseDir ?? dirname(resolve(file));
  const fileEnv: Record<string, string> = {};
  for (const [k, val] of Object.entries(raw.env ?? {})) {
    fileEnv[k] = sub.apply(val, `env.${k}`, false);
  }
  const pools = new Map(Object.entries(raw.pools ?? {}));

  const jobs: JobSpec[] = [];
  const names = new Map<string, string>();
  const entries: [string, "job" | "module", Record<string, unknown>][] = [
    ...Object.entries(raw.jobs ?? {}).map(([n, j]) =>
      [n, "job", j] as [string, "job", Record<string, unknown>]
    ),
    ...Object.entries(raw.modules ?? {}).map(([n, j]) =>
      [n, "module", j] as [string, "module", Record<string, unknown>]
    ),
  ];
  // foreach: one entry per item, named job[item], with the item's variables.
  const groups = new Map<string, string[]>();
  const expanded: [string, "job" | "module", Record<string, unknown>, Substituter, string][] = [];
  for (const [name, kind, j] of entries) {
    const fe = j.foreach as Foreach | undefined;
    if (!fe) {
      expanded.push([name, kind, j, sub, name]);
      continue;
    }
    const items = expandForeach(
      name,
      fe,
      baseDir,
      (g) => sub.apply(g, `jobs.${name}.foreach.glob`, true),
    );
    groups.set(name, items.map((x) => x.name));
    for (const x of items) expanded.push([x.name, kind, j, sub.with(x.vars), name]);
  }
  for (const [name, kind, j, sub, written] of expanded) {
    const section = kind === "job" ? "jobs" : "modules";
    const p = `${section}.${written}`;
    if (names.has(name) || (groups.has(name) && name === written && !j.foreach)) {
      fail(
        `${p}: duplicate name '${name}' (already a ${names.get(name) ?? "foreach group"})`,
        `${p}#`,
      );
    }
    names.set(name, kind === "job" ? "job" : "module");
    const run = j.run as string | string[];
    const argv = typeof run === "string"
      ? ["/bin/sh", "-c", sub.apply(run, `${p}.run`, false)]
      : run.map((a, i) => sub.apply(a, `${p}.run.${i}`, false));
    const resources = (key: "reads" | "writes") =>
      ((j[key] as string[] | undefined) ?? []).map((r, i) =>
        normalizeResource(sub.apply(r, `${p}.${key}.${i}`, true))
      );
    const env: Record<string, string> = { ...fileEnv };
    for (const [k, val] of Object.entries((j.env as Record<string, string>) ?? {})) {
      env[k] = sub.apply(val, `${p}.env.${k}`, false);
    }
    const cwdRaw = j.cwd as string | undefined;
    const cwd = cwdRaw === undefined
      ? baseDir
      : resolve(baseDir, sub.apply(cwdRaw, `${p}.cwd`, true));
    const jobPools: Record<string, number> = { ...((j.pools as Record<string, number>) ?? {}) };
    if (typeof j.pool === "string") jobPools[j.pool] = Math.max(jobPools[j.pool] ?? 0, 1);
    for (const [pool, units] of Object.entries(jobPools)) {
      const fromPools = pool in ((j.pools as Record<string, number>) ?? {});
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
    const when = j.when as { env?: string; os?: string; file?: string } | undefined;
    if (when && when.env === undefined && when.os === undefined && when.file === undefined) {
      fail(`${p}.when: give at least one of env, os, file`, `${p}.when`);
    }
    const stop = j.stop as { signal?: string; grace?: number } | undefined;
    if (stop?.signal !== undefined && !/^(SIG)?[A-Z0-9]+$/.test(stop.signal)) {
      fail(`${p}.stop.signal: bad signal name '${stop.signal}'`, `${p}.stop.signal`);
    }
    jobs.push({
      name,
      kind,
      index: jobs.length,
      description: j.description as string | undefined,
      argv,
      command: typeof run === "string" ? argv[2] : argv.map(shellQuote).join(" "),
      needs: (j.needs as string[] | undefined) ?? [],
      reads: resources("reads"),
      writes: resources("writes"),
      pools: jobPools,
      tokens: (j.tokens as number | undefined) ?? 1,
      cwd,
      env,
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
      pos: at(`${p}#`) ?? { line: 1, col: 1 },
    });
  }

  // References and explicit edges.
  const edges: Edge[] = [];
  for (const job of jobs) {
    const p = `${job.kind === "job" ? "jobs" : "modules"}.${job.group ?? job.name}`;
    const ref = (name: string, path: string, what: string) => {
      if (!names.has(name)) {
        fail(`${path}: unknown job '${name}' in ${what}${didYouMean(name, names.keys())}`, path);
      }
      if (name === job.name) {
        fail(`${path}: '${name}' cannot ${what === "needs" ? "need" : "depend on"} itself`, path);
      }
    };
    job.needs.forEach((n, i) => {
      const members = groups.get(n);
      if (members) {
        // A foreach group: wait for every job it expanded to.
        for (const m of members) {
          edges.push({ from: m, to: job.name, kind: "needs", reason: `needs ${n}` });
        }
        return;
      }
      if (!names.has(n) || n === job.name) {
        // Messages say needs[0]; positions are recorded as needs.0.
        const at = v.positions.get(`${p}.needs.${i}`) ?? v.positions.get(`${p}.needs`);
        const msg = n === job.name
          ? `${p}.needs[${i}]: '${n}' cannot need itself`
          : `${p}.needs[${i}]: unknown job '${n}' in needs${didYouMean(n, names.keys())}`;
        throw new JxInputError(msg, file, at);
      }
      edges.push({ from: n, to: job.name, kind: "needs", reason: "needs" });
    });
    for (const key of ["if", "unless"] as const) {
      const n = job[key];
      if (n === undefined) continue;
      ref(n, `${p}.${key}`, key);
      if (names.get(n) === "module") {
        fail(`${p}.${key}: '${n}' is a module; conditions name jobs`, `${p}.${key}`);
      }
      edges.push({ from: n, to: job.name, kind: "condition", reason: key });
    }
    if (job.if !== undefined && job.unless !== undefined) {
      fail(`${p}: give either 'if' or 'unless', not both`, `${p}.unless#`);
    }
  }
  deriveResourceEdges(jobs, (e) => edges.push(e));

  const graph = new Graph(file, jobs, pools, edges);
  const cycle = graph.findCycle();
  if (cycle) {
    const steps = cycle.slice(1).map((to, i) => {
      const from = cycle[i];
      const e = graph.depsOf(to).find((d) => d.from === from)!;
      return `${to} (${e.reason})`;
    });
    const first = graph.byName.get(cycle[1])!;
    throw new JxInputError(`cycle: ${cycle[0]} -> ${steps.join(" -> ")}`, file, first.pos);
  }
  return graph;
}

/** A YAML parse error as a one-line message at the most useful position. */
function yamlError(
  text: string,
  file: string,
  lines: LineCounter,
  err: { code: string; message: string; pos: [number, number] },
): JxInputError {
  let offset = err.pos[0];
  let msg = err.message.split("\n")[0].replace(/; please use .*$/, "");
  if (err.code === "DUPLICATE_KEY") {
    return new JxInputError(`duplicate key${keyAt(text, offset)}`, file, lines.linePos(offset));
  }
  if (/Missing closing .?quote/.test(msg)) {
    // Point at the opening quote, not at the end of the file.
    for (const tok of new Parser().parse(text)) {
      if (tok.type !== "document") continue;
      CST.visit(tok, (item) => {
        for (const t of [item.key, item.value]) {
          if (
            t && (t.type === "double-quoted-scalar" || t.type === "single-quoted-scalar") &&
            t.offset < offset
          ) {
            const q = t.source[0];
            if (t.source.length < 2 || !t.source.trimEnd().endsWith(q)) offset = t.offset;
          }
        }
      });
    }
  }
  const line = text.split("\n")[lines.linePos(offset).line - 1] ?? "";
  if (/\$\{/.test(line) && /flow|Missing , or :/i.test(msg)) {
    msg += ' (quote values that contain ${...} inside [ ] or { }: "${X}")';
  }
  return new JxInputError(`YAML syntax error: ${msg}`, file, lines.linePos(offset));
}

function keyAt(text: string, offset: number): string {
  const m = /^["']?([^"':\n]+)/.exec(text.slice(offset));
  return m ? ` '${m[1].trim()}'` : "";
}

/** Quotes an argv item for display. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
