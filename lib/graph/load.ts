/**
 * Loads a jobs file: YAML with positions, schema checks, variable
 * substitution, references, derived edges and the cycle check. Every problem
 * is a `JxInputError` with file, line and column.
 *
 * @module
 */
import { CST, LineCounter, Parser } from "../runtime/yaml.ts";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { findJobsFileUp } from "../runtime/fs.ts";
import { didYouMean, JxInputError, type Pos } from "./errors.ts";
import {
  CACHE_MIN_BYTES,
  cacheKey,
  FOREACH_GLOB,
  readCachedGraph,
  writeCachedGraph,
} from "./cache.ts";
import { Graph } from "./graph.ts";
import { FILE_FIELDS, VAR_RE } from "./schema.ts";
import type { Edge, JobSpec } from "./types.ts";
import { type Foreach, Validator } from "./validate.ts";
import { expandForeach, foreachCount } from "./foreach.ts";
import {
  buildSpec,
  emitContext,
  globItemVars,
  normalizeResource,
  type SpecContext,
  Substituter,
} from "./spec.ts";
import { deriveResourceEdges, resourcesConflict } from "./edges.ts";
import { checkResourceGlobs, MAX_JOBS, parseYaml } from "./limits.ts";
import { globProblem } from "./glob.ts";

export { DEFAULT_GRACE_MS, normalizeResource, shellQuote } from "./spec.ts";

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

/**
 * Finds the jobs file: `jobs.yaml`, then `jobs.yml`, in `dir`, else in the
 * nearest parent folder that has one (a path relative to `dir`).
 */
export function findJobsFile(dir: string): string | undefined {
  return findJobsFileUp(dir);
}

/**
 * Reads and loads a jobs file from disk.
 *
 * @example
 * ```ts
 * import { loadJobsFile } from "./load.ts";
 * import { deepStrictEqual } from "node:assert";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/jobs.yaml`, "vars: { CC: gcc }\njobs:\n  cc: { run: '${CC} -c a.c' }\n");
 * const graph = loadJobsFile(`${dir}/jobs.yaml`, { vars: { CC: "clang" } });
 * deepStrictEqual(graph.jobs.map((j) => [j.name, j.command]), [["cc", "clang -c a.c"]]);
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
  // A foreach glob reads the disk, which the cache key does not cover: no cache then.
  if (text.length < CACHE_MIN_BYTES || FOREACH_GLOB.test(text)) {
    return parseJobsFile(text, file, o);
  }
  const key = cacheKey(text, o.vars ?? {}, o.baseDir);
  const cached = readCachedGraph(file, key);
  if (cached) return cached;
  const graph = parseJobsFile(text, file, o);
  writeCachedGraph(file, key, graph);
  return graph;
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
  const doc = parseYaml(text, file, lines);
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
    if (Object.hasOwn(overrides, k)) continue;
    vars.set(k, sub.apply(val, `vars.${k}`, true));
  }

  const baseDir = opts.baseDir ?? dirname(resolve(file));
  const fileEnv: Record<string, string> = Object.create(null);
  for (const [k, val] of Object.entries(raw.env ?? {})) {
    fileEnv[k] = sub.apply(val, `env.${k}`, false);
  }
  const pools = new Map(Object.entries(raw.pools ?? {}));
  const ctx: SpecContext = {
    file,
    positions: v.positions,
    pools,
    fileEnv,
    baseDir,
    vars: Object.fromEntries(vars),
  };

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
  // What every entry writes, with unknown variables as `*`: a foreach glob
  // that matches any of it (or that needs an `emits: jobs` job) is expanded
  // at run time, once those jobs ran.
  const writesOf = (name: string, j: Record<string, unknown>) =>
    ((j.writes as string[] | undefined) ?? []).map((w) =>
      normalizeResource(sub.apply(w, `x`, false).replace(/\$\{[^}]*\}/g, "*"))
    ).map((w) => ({ name, w }));
  const allWrites = entries.flatMap(([name, , j]) => writesOf(name, j));
  const deferred = new Set<string>();
  /** Jobs expanded from a glob over the disk as it is now. */
  const fromGlob = new Set<string>();
  for (const [name, kind, j] of entries) {
    const fe = j.foreach as Foreach | undefined;
    if (!fe) {
      expanded.push([name, kind, j, sub, name]);
      continue;
    }
    const fp = `${kind === "job" ? "jobs" : "modules"}.${name}.foreach`;
    if (fe.kind === "glob") {
      const g = normalizeResource(sub.apply(fe.glob, `${fp}.glob`, true));
      const problem = globProblem(g);
      if (problem) fail(`${fp}.glob: bad glob '${g}': ${problem}`, `${fp}.glob`);
      const writer = allWrites.find((x) => x.name !== name && resourcesConflict(g, x.w));
      const needsGenerator = ((j.needs as string[] | undefined) ?? []).some((n) =>
        entries.some(([m, , mj]) => m === n && mj.emits === "jobs")
      );
      if (writer || needsGenerator) {
        // Stands for the group until then: reads the glob, writes what the items would.
        deferred.add(name);
        expanded.push([name, kind, j, sub.with(globItemVars(fe.as, g)), name]);
        continue;
      }
    }
    if (expanded.length + foreachCount(fe) > MAX_JOBS) {
      fail(`${fp}: makes more than ${MAX_JOBS} jobs in all (the limit)`, fp);
    }
    const items = expandForeach(
      name,
      fe,
      baseDir,
      (g) => sub.apply(g, `jobs.${name}.foreach.glob`, true),
    );
    groups.set(name, items.map((x) => x.name));
    if (fe.kind === "glob") { for (const x of items) fromGlob.add(x.name); }
    for (const x of items) expanded.push([x.name, kind, j, sub.with(x.vars), name]);
    if (expanded.length > MAX_JOBS) {
      fail(`${fp}: makes more than ${MAX_JOBS} jobs in all (the limit)`, fp);
    }
  }
  if (expanded.length > MAX_JOBS) {
    throw new JxInputError(`more than ${MAX_JOBS} jobs and modules (the limit)`, file, {
      line: 1,
      col: 1,
    });
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
    const spec = buildSpec(ctx, { name, kind, j, sub, written, index: jobs.length, p });
    checkResourceGlobs(spec, p, file, v.positions);
    if (fromGlob.has(name)) spec.fromGlob = true;
    if (deferred.has(name)) {
      const fe = j.foreach as Foreach & { kind: "glob" };
      const glob = normalizeResource(sub.apply(fe.glob, `${p}.foreach.glob`, true));
      spec.argv = [];
      spec.command = `(foreach over ${glob}, expanded once the jobs writing it have run)`;
      spec.reads = [glob, ...spec.reads];
      spec.deferred = { glob, as: fe.as, job: j, ctx: emitContext(ctx) };
    }
    jobs.push(spec);
  }

  // References and explicit edges.
  const edges: Edge[] = [];
  /** Repeat tests and the loop (job or foreach group) each belongs to. */
  const testOf = new Map<string, string>();
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
    if (job.repeat) {
      const key = job.repeat.kind;
      const test = job.repeat.test;
      ref(test, `${p}.repeat.${key}`, "repeat");
      if (names.get(test) === "module") {
        fail(
          `${p}.repeat.${key}: '${test}' is a module; a repeat test is a job`,
          `${p}.repeat.${key}`,
        );
      }
      const at = `${p}.repeat.${key}`;
      if (job.deferred) {
        fail(`${p}.repeat: not on a foreach glob expanded during the run`, `${p}.repeat`);
      }
      // One loop per test: a foreach group's items share theirs.
      const loop = job.group ?? job.name;
      const other = testOf.get(test);
      if (other !== undefined && other !== loop) {
        fail(`${at}: '${test}' is already the test of '${other}'`, at);
      }
      testOf.set(test, loop);
      // The test runs in its job's slot right after it: nothing may order or hold it.
      const t = jobs.find((x) => x.name === test)!;
      const held = [
        t.needs.length && "needs",
        t.if !== undefined && "if",
        t.unless !== undefined && "unless",
        t.reads.length && "reads",
        t.writes.length && "writes",
        Object.keys(t.pools).length && "pools",
        t.tokens > 1 && "tokens",
        t.repeat && "repeat",
      ].filter((x): x is string => typeof x === "string");
      if (held.length) {
        fail(
          `${at}: the test '${test}' runs inside the loop, right after the job: ` +
            `it cannot have ${held.join(", ")}`,
          at,
        );
      }
      // The test runs after each run of the job, inside the loop.
      edges.push({ from: job.name, to: test, kind: "needs", reason: `repeat ${key}` });
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
