/**
 * Builds one `JobSpec` from a validated job or module entry: variables
 * substituted, paths resolved, pools and ready checks checked. Used by the
 * loader for the jobs file and by `emit.ts` for jobs a running job emits.
 *
 * @module
 */
import { dirname, join, relative, resolve } from "../runtime/path.ts";
import { didYouMean, JxInputError } from "./errors.ts";
import { readDotenv } from "./dotenv.ts";
import { MAX_VALUE_LENGTH } from "./limits.ts";
import { escapeGlob, folderGlobProblem } from "./glob.ts";
import { parseDuration } from "./duration.ts";
import { quoteYaml, SEVERAL_COMMANDS } from "./hints.ts";
import { RETRY_MAX_DELAY_DEFAULT, srunArgsRefusal } from "./schema.ts";
import type {
  EmitContext,
  HealthSpec,
  JobNode,
  JobSlurmOptions,
  ModuleNode,
  ReadySpec,
  RepeatSpec,
  SpecBase,
  WhenSpec,
} from "./types.ts";
import {
  cacheOf,
  type Entry,
  entry,
  isNumber,
  isString,
  num,
  oneOf,
  slurmOf,
  str,
  strs,
  tableOf,
} from "./read.ts";
import { type PosMap, table } from "./validate.ts";

import { DEFAULT_GRACE_MS } from "./duration.ts";
import { envVar } from "../runtime/fs.ts";
export { DEFAULT_GRACE_MS };

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

/**
 * A path of an included file (relative to its folder) as the root sees it (relative to the
 * root's). A resource (`reads`, `writes`, a glob) gets its folder with glob characters and a
 * leading `@` escaped (`escapeGlob`): a folder `app/[id]` or `@acme/api` is that folder, not a
 * glob or an `@name`. A plain file path (`glob: false`: a depfile, a dotenv file) gets it as it is.
 */
export function underPrefix(prefix: string | undefined, path: string, glob = true): string {
  if (!prefix || path[0] === "@" || path.startsWith("/")) return path;
  const out = normalizeResource(`${glob ? escapeGlob(prefix) : prefix}/${path}`);
  // `../../@acme/api/x` from `packages/web`: still a path, not the name `@acme/api/x`.
  return glob && out[0] === "@" ? `[@]${out.slice(1)}` : out;
}

export { shellQuote, Substituter } from "./substitute.ts";
import { shellQuote, type Substituter } from "./substitute.ts";

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
  /** For jobs made at run time: the file's dotenv names the process environment overrides. */
  envFromProcess?: string[];
  /** What the load notes as it goes (see `LoadNotes`). */
  notes?: LoadNotes;
}

/** Variables read from dotenv files, and the files they came from (relative paths). */
export interface DotenvLayer {
  values: Record<string, string>;
  files: string[];
  /** The content hash of each of `files` that was read, as it was read. */
  hashes?: Record<string, string>;
  /** Its files outside the project, as absolute paths (not in `files`: nothing stamps them). */
  outside?: string[];
}

/**
 * What a load found that the jobs file's text alone does not say, noted
 * while its specs are built (the graph cache and the no-op record need it).
 */
export interface LoadNotes {
  /**
   * Files read besides the jobs file (dotenv files, included files) or a
   * glob over the disk (`foreach`): what the graph cache's key cannot cover.
   */
  moreFiles: boolean;
  /** The variables dotenv files set (a job gets their value only when the environment has none). */
  dotenvNames: Set<string>;
  /** The dotenv files outside the project that were read (absolute paths; optional ones too). */
  dotenvOutside: Set<string>;
  /** The content hash of each dotenv file read in the project, as read, by path as jobs name it. */
  dotenvHashes: Map<string, string>;
  /** The `foreach` and `include` globs expanded at load, relative to the root file's folder. */
  graphGlobs: Set<string>;
  /** Each `foreach` glob's matches at load (sorted), by glob as in `graphGlobs`. */
  globMatches: Map<string, string[]>;
  /**
   * While a graph's files are read: the checks of pools not known yet (pools
   * are shared by every file, and a file's jobs are built before the files it
   * includes are read), run once every file is.
   */
  poolChecks?: (() => void)[];
}

/** A new, empty `LoadNotes`. */
export const newLoadNotes = (): LoadNotes => ({
  moreFiles: false,
  dotenvNames: new Set(),
  dotenvOutside: new Set(),
  dotenvHashes: new Map(),
  graphGlobs: new Set(),
  globMatches: new Map(),
});

/** Notes a dotenv layer read for a file or a job (of the file whose folder is `prefix`). */
export function noteDotenv(notes: LoadNotes | undefined, layer: DotenvLayer, prefix: string): void {
  if (!notes) return;
  notes.moreFiles = true;
  for (const k of Object.keys(layer.values)) notes.dotenvNames.add(k);
  for (const f of layer.outside ?? []) notes.dotenvOutside.add(f);
  for (const [f, h] of Object.entries(layer.hashes ?? {})) {
    notes.dotenvHashes.set(underPrefix(prefix, f, false), h);
  }
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
  const files: string[] = [], outside: string[] = [];
  const hashes: Record<string, string> = table<string>();
  list.forEach((raw, i) => {
    const where = positions.has(`${path}.${i}`) ? `${path}.${i}` : path;
    const optional = raw.endsWith("?");
    const rel = normalizeResource(sub.apply(optional ? raw.slice(0, -1) : raw, where, true));
    // Named as the jobs file is (from the current folder), as cli.md says of every file.
    const shown = rel.startsWith("/") ? rel : join(dirname(file), rel);
    const inside = !rel.startsWith("/") && !rel.startsWith("../") && rel !== "..";
    const found = readDotenv(
      resolve(baseDir, rel),
      shown,
      (why) =>
        new JxInputError(
          `${path}[${i}]: cannot read dotenv file '${rel}': ${why}`,
          file,
          positions.get(where),
        ),
      (h) => void (inside && (hashes[rel] = h)),
    );
    // An input even when absent: its appearance is a change.
    if (inside) files.push(rel);
    else outside.push(resolve(baseDir, rel));
    if (found === undefined) {
      // Absent as the load read it: "" (no hash), so one that appears before the job starts is
      // not recorded as read either (`UpToDate.dotenvLoaded`).
      if (inside) hashes[rel] = "";
      if (optional) return;
      const e = new JxInputError(
        `${path}[${i}]: no such dotenv file '${rel}' ` +
          `(write '${raw}?' if it is optional)`,
        file,
        positions.get(where),
      );
      e.missing = resolve(baseDir, rel);
      throw e;
    }
    Object.assign(values, found);
  });
  return { values, files, hashes, ...(outside.length ? { outside } : {}) };
}

/**
 * A job's environment: dotenv values (the file's, then the job's) under the
 * process environment (a variable set there is not replaced), then the
 * file's `env`, then the job's. `fromProcess`: the dotenv names whose value
 * the job takes from the process environment (not in `env`; the cache key
 * hashes their value there).
 */
function jobEnv(
  dotenv: DotenvLayer[],
  fileEnv: Record<string, string>,
  own: Record<string, string>,
): { env: Record<string, string>; fromProcess: string[] } {
  const env: Record<string, string> = table<string>();
  const passed = new Set<string>();
  for (const layer of dotenv) {
    for (const [k, v] of Object.entries(layer.values)) {
      if (envVar(k) === undefined) env[k] = v;
      else passed.add(k);
    }
  }
  Object.assign(env, fileEnv, own);
  return { env, fromProcess: [...passed].filter((k) => !Object.hasOwn(env, k)) };
}

/**
 * The item variables of a `foreach` glob not yet expanded, as globs: what
 * any item's `${AS}`, `${AS.stem}`... could be.
 *
 * @example
 * ```ts
 * import { globItemVars } from "./spec.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(globItemVars("F", "gen/*.txt")["F.stem"], "*");
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
  h: Entry | undefined,
  p: string,
  fail: (msg: string, path: string) => never,
  sub: Substituter,
): HealthSpec | undefined {
  if (!h) return undefined;
  const kinds = ["tcp", "http", "cmd"].filter((k) => k in h);
  if (kinds.length !== 1) fail(`${p}.health: give exactly one of tcp, http, cmd`, `${p}.health`);
  const tcp = num(h, "tcp");
  const http = httpUrl(
    probeVars(sub, str(h, "http"), `${p}.health.http`),
    `${p}.health.http`,
    fail,
  );
  const cmd = probeCommand(
    probeVars(sub, str(h, "cmd"), `${p}.health.cmd`, true),
    `${p}.health.cmd`,
    fail,
  );
  return {
    ...(tcp !== undefined ? { tcp } : {}),
    ...(http !== undefined ? { http } : {}),
    ...(cmd !== undefined ? { cmd } : {}),
    intervalMs: num(h, "interval") ?? HEALTH_INTERVAL_MS,
    timeoutMs: num(h, "timeout") ?? HEALTH_TIMEOUT_MS,
    failures: num(h, "failures") ?? HEALTH_FAILURES,
  };
}

/**
 * A probe's text (`http`, `cmd`, `log` of `ready` or `health`) with the file's `${NAME}` vars
 * replaced, as in `run` (the port a module's `run` gets from a var is the one its checks need):
 * an unknown name is left for the shell in a `cmd`, and is an error elsewhere.
 */
function probeVars(
  sub: Substituter,
  text: string | undefined,
  path: string,
  shell = false,
): string | undefined {
  return text === undefined ? undefined : sub.apply(text, path, !shell, shell);
}

/** A probe's command (`ready.cmd`, `health.cmd`): not empty (it would pass at once). */
function probeCommand(
  cmd: string | undefined,
  path: string,
  fail: (msg: string, path: string) => never,
): string | undefined {
  if (cmd !== undefined && cmd.trim() === "") fail(`${path}: empty command`, path);
  return cmd;
}

/** A probe's URL (`ready.http`, `health.http`): an http:// or https:// URL, else a load error. */
function httpUrl(
  url: string | undefined,
  path: string,
  fail: (msg: string, path: string) => never,
): string | undefined {
  if (url === undefined) return undefined;
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    // not a URL: said below
  }
  if (protocol !== "http:" && protocol !== "https:") {
    fail(`${path}: not an http:// or https:// URL: '${url}'`, path);
  }
  return url;
}

/** A module's `ready:` (checked against the schema): exactly one check, a valid `log` pattern. */
function readySpec(
  ready: Entry | undefined,
  p: string,
  fail: (msg: string, path: string) => never,
  sub: Substituter,
): ReadySpec | undefined {
  if (!ready) return undefined;
  const kinds = ["tcp", "http", "log", "cmd", "delay"].filter((k) => k in ready);
  if (kinds.length !== 1) {
    fail(`${p}.ready: give exactly one of tcp, http, log, cmd, delay`, `${p}.ready`);
  }
  const spec: ReadySpec = {
    tcp: num(ready, "tcp"),
    http: httpUrl(probeVars(sub, str(ready, "http"), `${p}.ready.http`), `${p}.ready.http`, fail),
    log: probeVars(sub, str(ready, "log"), `${p}.ready.log`),
    cmd: probeCommand(
      probeVars(sub, str(ready, "cmd"), `${p}.ready.cmd`, true),
      `${p}.ready.cmd`,
      fail,
    ),
    delay: num(ready, "delay"),
    timeoutMs: num(ready, "timeout"),
    intervalMs: num(ready, "interval"),
  };
  if (spec.log !== undefined) {
    try {
      new RegExp(spec.log);
    } catch {
      // Not the engine's message: V8 and JavaScriptCore word it differently.
      fail(
        `${p}.ready.log: bad regular expression /${spec.log}/ (JavaScript syntax)`,
        `${p}.ready.log`,
      );
    }
  }
  return spec;
}

/** `env` and, when there are any, `envFromProcess` (see `jobEnv`). */
function dotenvPart(
  e: { env: Record<string, string>; fromProcess: string[] },
): { env: Record<string, string>; envFromProcess?: string[] } {
  const from = [...new Set(e.fromProcess)].sort();
  return { env: e.env, ...(from.length ? { envFromProcess: from } : {}) };
}

/** The part of a context that jobs generated at run time need (plain data). */
export function emitContext(ctx: SpecContext): EmitContext {
  return {
    file: ctx.file,
    baseDir: ctx.baseDir,
    ...(ctx.fileDotenv
      ? dotenvPart(jobEnv([ctx.fileDotenv], ctx.fileEnv, {}))
      : { env: ctx.fileEnv }),
    vars: ctx.vars,
    pools: Object.fromEntries(ctx.pools),
    ...(ctx.executor ? { executor: ctx.executor } : {}),
  };
}

/** What `buildSpec` builds one spec from. */
export interface SpecEntry {
  /** The spec's name. */
  name: string;
  /** A job (`jobs:`) or a module (`modules:`). */
  kind: "job" | "module";
  /** The entry, checked against the schema of its kind. */
  j: Entry;
  /** Its variables. */
  sub: Substituter;
  /** The name as written (a `foreach` group's). */
  written: string;
  /** Position in file order. */
  index: number;
  /** The entry's dotted path in messages (`jobs.cc`). */
  p: string;
  /**
   * Its place among its section's entries, when it was written in a file: its key's position
   * is that entry's (no lookup by name; two keys of one name, `1:` and `"1":`, each their own).
   */
  entry?: number;
  /**
   * A deferred `foreach`'s stand-in (it never runs): its job's `env_file` is left to its items,
   * each of which may name its own (`${S}.env`), written by the jobs the group waits for.
   */
  standIn?: true;
}

/**
 * A spec while the loader still completes it (its index in the whole graph,
 * the file it came from, names resolved across files): the same fields,
 * writable. It leaves graph/ as a `JobSpec`, whose fields are readonly.
 */
export type SpecDraft = Draft<JobNode> | Draft<ModuleNode>;

/** A type with its fields writable. */
export type Draft<T> = { -readonly [K in keyof T]: T[K] };

/** Throws the one-line error for the value at a dotted path. */
type Fail = (msg: string, path: string) => never;

/**
 * Builds the spec of the entry `e.j` (already checked against the schema),
 * named `e.name`, at file position `e.index`: a job or a module by `e.kind`.
 */
export function buildSpec(ctx: SpecContext, e: SpecEntry): SpecDraft {
  const fail: Fail = (msg, path) => {
    throw new JxInputError(msg, ctx.file, ctx.positions.get(path));
  };
  const base = specBase(ctx, e, fail);
  return e.kind === "job"
    ? { ...base, ...jobPart(ctx, e, fail), kind: "job" }
    : { ...base, ...modulePart(ctx, e, fail), kind: "module" };
}

/**
 * A run list's program (`written` before its vars were substituted), refused
 * when it holds a blank but no `/`: go-task's `cmds: [echo hi, echo there]`
 * written as `run:` would run a program named `echo hi` (found nowhere), and
 * only once the job starts.
 */
function checkProgram(program: string, written: string, p: string, fail: Fail): void {
  if (!/\s/.test(program) || program.includes("/")) return;
  const words = written.trim().split(/\s+/);
  const list = words.every((w) => /^[\w.=+-]+$/.test(w)) ? `: [${words.join(", ")}]` : "";
  fail(
    `${p}.run[0]: '${program}' would be run as one program's name, blanks and all (a run list ` +
      `is one command's words, with no shell${list}; a command for the shell is a string: ` +
      `run: ${quoteYaml(written)}; several: ${SEVERAL_COMMANDS})`,
    `${p}.run.0`,
  );
}

/** The fields jobs and modules share. */
function specBase(ctx: SpecContext, e: SpecEntry, fail: Fail): Draft<SpecBase> {
  const { name, kind, j, sub, written, index, p } = e;
  const run = j.run;
  const argv = typeof run === "string"
    ? ["/bin/sh", "-c", sub.apply(run, `${p}.run`, false, true)]
    : (strs(j, "run") ?? []).map((a, i) => sub.apply(a, `${p}.run.${i}`, false));
  if (typeof run !== "string") checkProgram(argv[0], strs(j, "run")![0], p, fail);
  const { env, envFromProcess, envFiles } = specEnv(ctx, e);
  const cwdRaw = str(j, "cwd");
  return {
    name,
    kind,
    index,
    description: str(j, "description"),
    argv,
    command: typeof run === "string" ? argv[2] : argv.map(shellQuote).join(" "),
    needs: strs(j, "needs") ?? [],
    reads: specResources(ctx, e, "reads", fail),
    writes: specResources(ctx, e, "writes", fail),
    pools: specPools(ctx, e, fail),
    tokens: num(j, "tokens") ?? 1,
    cwd: cwdRaw === undefined
      ? ctx.baseDir
      : resolve(ctx.baseDir, sub.apply(cwdRaw, `${p}.cwd`, true)),
    env,
    graceMs: num(j, "grace") ?? DEFAULT_GRACE_MS,
    ...retriesOf(j),
    when: whenSpec(ctx, e, fail),
    ...(envFiles.length ? { envFiles } : {}),
    ...(envFromProcess ? { envFromProcess } : {}),
    ...(written !== name ? { group: written } : {}),
    pos: ctx.positions.keyOf(kind === "job" ? "jobs" : "modules", written, e.entry) ??
      { line: 1, col: 1 },
  };
}

/**
 * `reads` or `writes`: substituted, normalized, relative to the root jobs file. A list whose
 * paths all stay as written (most) is the entry's own list, not a copy, as `needs` is: 100,000
 * jobs made 200,000 lists that lived as long as the graph.
 */
function specResources(
  ctx: SpecContext,
  e: SpecEntry,
  key: "reads" | "writes",
  fail: Fail,
): string[] {
  const list = strs(e.j, key);
  if (list === undefined) return [];
  let out: string[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const res = specResource(ctx, e, key, fail, list[i], i);
    if (out) out.push(res);
    else if (res !== list[i]) out = list.slice(0, i), out.push(res);
  }
  return out ?? list;
}

/** Item `i` (`r`) of `reads` or `writes` as `specResources` makes it. */
function specResource(
  ctx: SpecContext,
  e: SpecEntry,
  key: "reads" | "writes",
  fail: Fail,
  r: string,
  i: number,
): string {
  const { sub, p } = e;
  // The item's path when it was written in a list, else the key's: asked only when a
  // message may need it (finding it walks the job again: see `PosMap`).
  const path = () => ctx.positions.has(`${p}.${key}.${i}`) ? `${p}.${key}.${i}` : `${p}.${key}`;
  if (r.length > MAX_VALUE_LENGTH) {
    fail(`${p}.${key}[${i}]: longer than ${MAX_VALUE_LENGTH} characters`, path());
  }
  const given = r.includes("${") ? sub.resource(r, path()) : r;
  if (given === "") fail(`${p}.${key}[${i}]: ${emptyPath(r)}`, path());
  const folders = folderGlobProblem(given);
  if (folders) fail(`${p}.${key}[${i}]: '${given}': ${folders}`, path());
  const res = normalizeResource(given);
  if (res.startsWith("/")) {
    fail(
      `${p}.${key}[${i}]: absolute path '${res}': ${key} are paths relative to the jobs ` +
        "file's folder (jx checks and cleans only those)",
      path(),
    );
  }
  return underPrefix(ctx.prefix, res);
}

/** The job's environment and the dotenv files it came from. */
function specEnv(
  ctx: SpecContext,
  e: SpecEntry,
): { env: Record<string, string>; envFromProcess?: string[]; envFiles: string[] } {
  const { j, sub, p } = e;
  const own = tableOf(j, "env", isString);
  const envFile = e.standIn ? undefined : strs(j, "env_file");
  // Plain objects with own keys (as a cached graph's JSON gives back): `constructor`
  // or `__proto__` stay keys.
  const plain = (env: Record<string, string>) => {
    for (const _ in env) return Object.fromEntries(Object.entries(env));
    return {}; // most files set none
  };
  // Most jobs: the file's `env:` only.
  if (own === undefined && envFile === undefined && !ctx.fileDotenv) {
    const from = ctx.envFromProcess; // a job made at run time: its file's, as they were
    return { env: plain(ctx.fileEnv), ...(from ? { envFromProcess: from } : {}), envFiles: [] };
  }
  const ownEnv: Record<string, string> = table<string>();
  for (const [k, val] of Object.entries(own ?? {})) {
    ownEnv[k] = sub.apply(val, `${p}.env.${k}`, true); // no shell reads it: unknown is an error
  }
  const jobDotenv = envFile === undefined
    ? undefined
    : readDotenvFiles(envFile, `${p}.env_file`, ctx.baseDir, ctx.file, ctx.positions, sub);
  if (jobDotenv) noteDotenv(ctx.notes, jobDotenv, ctx.prefix ?? "");
  const dotenv = [ctx.fileDotenv, jobDotenv].filter((d): d is DotenvLayer => d !== undefined);
  const made = jobEnv(dotenv, ctx.fileEnv, ownEnv);
  // A job made at run time: its file's names too, unless its own `env` sets them.
  for (const k of ctx.envFromProcess ?? []) {
    if (!Object.hasOwn(made.env, k)) made.fromProcess.push(k);
  }
  const { env, envFromProcess } = dotenvPart(made);
  const envFiles = [...new Set(dotenv.flatMap((d) => d.files))].map((f) =>
    underPrefix(ctx.prefix, f, false)
  );
  return { env: plain(env), ...(envFromProcess ? { envFromProcess } : {}), envFiles };
}

/** `pool` and `pools`, each checked against the file's pools. */
function specPools(ctx: SpecContext, e: SpecEntry, fail: Fail): Record<string, number> {
  const { j, p } = e;
  const ownPools = tableOf(j, "pools", isNumber);
  const pool = str(j, "pool");
  if (ownPools === undefined && pool === undefined) return {}; // most jobs
  const own = ownPools ?? table<number>();
  const jobPools: Record<string, number> = Object.assign(table<number>(), own);
  if (pool !== undefined) jobPools[pool] = Math.max(jobPools[pool] ?? 0, 1);
  for (const [pool, units] of Object.entries(jobPools)) {
    const fromPools = Object.hasOwn(own, pool);
    const where = fromPools ? `${p}.pools.${pool}` : `${p}.pool`;
    const check = () =>
      checkPool(ctx.pools, pool, units, where, fromPools ? `${where}#` : where, fail);
    // A pool of a file not read yet (an included file's, named in the root): once all are read.
    if (!ctx.pools.has(pool) && ctx.notes?.poolChecks) ctx.notes.poolChecks.push(check);
    else check();
  }
  // A plain object with own keys (as a cached graph's JSON gives back).
  return Object.fromEntries(Object.entries(jobPools));
}

/** One pool a job takes `units` of: known, and at least that large. */
function checkPool(
  pools: Map<string, number>,
  pool: string,
  units: number,
  where: string,
  at: string,
  fail: Fail,
): void {
  const capacity = pools.get(pool);
  if (capacity === undefined) {
    fail(`${where}: unknown pool '${pool}'${didYouMean(pool, pools.keys())}`, at);
  }
  if (units > capacity) {
    fail(`${where}: takes ${units} units of pool '${pool}', which has only ${capacity}`, where);
  }
}

/** `when:`: at least one condition; `file` resolved. */
function whenSpec(ctx: SpecContext, e: SpecEntry, fail: Fail): WhenSpec | undefined {
  const { j, sub, p } = e;
  const when = entry(j, "when");
  if (!when) return undefined;
  const env = str(when, "env"), os = str(when, "os"), file = str(when, "file");
  if (env === undefined && os === undefined && file === undefined) {
    fail(`${p}.when: give at least one of env, os, file`, `${p}.when`);
  }
  // A variable's name (`""`, `A=B` or `${E}` could never be set: the job never ran, unsaid).
  if (env !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) {
    fail(
      `${p}.when.env: '${env}' is not a variable's name (letters, digits, _; not a digit first)`,
      `${p}.when.env`,
    );
  }
  if (file === undefined) return { env, os, file };
  const given = sub.apply(file, `${p}.when.file`, true);
  // Empty, it was the jobs file's folder: always there, and a read of `.` (after every writer).
  if (given === "") fail(`${p}.when.file: ${emptyPath(file)}`, `${p}.when.file`);
  const abs = resolve(ctx.baseDir, given);
  // The same file as a resource of the root's folder, for ordering (a path: escaped).
  const read = underPrefix(ctx.prefix, escapeGlob(normalizeResource(relative(ctx.baseDir, abs))));
  return { env, os, file: abs, read };
}

/** The fields only a job has. */
function jobPart(ctx: SpecContext, e: SpecEntry, fail: Fail): Omit<Draft<JobNode>, keyof SpecBase> {
  const { j, sub, p } = e;
  const depfile = str(j, "depfile");
  const cache = cacheOf(j, "cache");
  const repeat = repeatSpec(j, p, fail);
  return {
    timeoutMs: num(j, "timeout"),
    ...(j.interactive === true ? { interactive: true } : {}),
    if: str(j, "if"),
    unless: str(j, "unless"),
    jobserver: oneOf(j, "jobserver", ["pipe", "fifo", "none"]),
    executor: oneOf(j, "executor", ["local", "slurm"]) ?? ctx.executor,
    slurm: slurmSpec(sub, p, slurmOf(j, "slurm"), fail),
    ...(depfile !== undefined ? { depfile: depfilePath(ctx, sub, p, depfile, fail) } : {}),
    ...(j.emits === "jobs" ? { emits: emitContext(ctx) } : {}),
    ...(repeat ? { repeat } : {}),
    ...(cache !== undefined ? { cache } : {}),
  };
}

/**
 * A job's `slurm:` options with `${NAME}` substituted (unknown: an error; no shell reads them):
 * before, `partition: "${PART}"` reached srun as that text. A value empty once substituted is
 * refused, as an empty one is at load, and `args` are checked again (`${OPT}` may be
 * `--output=f`).
 */
function slurmSpec(
  sub: Substituter,
  p: string,
  o: JobSlurmOptions | undefined,
  fail: Fail,
): JobSlurmOptions | undefined {
  if (o === undefined) return undefined;
  const out: JobSlurmOptions = { ...o };
  for (const k of ["partition", "time", "mem", "gres"] as const) {
    const raw = o[k];
    if (raw === undefined) continue;
    const where = `${p}.slurm.${k}`;
    const v = sub.apply(raw, where, true);
    if (v.trim() === "") {
      fail(`${where}: '${raw}' is empty once its variables are substituted`, where);
    }
    out[k] = v;
  }
  if (o.args) {
    const args = o.args.map((a, i) => sub.apply(a, `${p}.slurm.args.${i}`, true));
    const no = srunArgsRefusal(args);
    if (no) fail(`${p}.slurm.args[${no[0]}]: ${no[1]}`, `${p}.slurm.args.${no[0]}`);
    out.args = args;
  }
  return out;
}

/**
 * Why a path written `raw` that is empty (as written, or once its variables are substituted:
 * `"${OUT}"` with `OUT=`) is refused: normalized it was `.`, the whole project folder.
 */
function emptyPath(raw: string): string {
  return raw === ""
    ? "an empty path (the jobs file's folder is '.')"
    : `'${raw}' is an empty path once its variables are substituted (the jobs file's folder ` +
      "is '.')";
}

/** A job's `depfile`, relative to the root jobs file and inside its folder. */
function depfilePath(ctx: SpecContext, sub: Substituter, p: string, d: string, fail: Fail): string {
  const given = sub.apply(d, `${p}.depfile`, true);
  if (given === "") fail(`${p}.depfile: ${emptyPath(d)}`, `${p}.depfile`);
  const res = normalizeResource(given);
  const rooted = underPrefix(ctx.prefix, res, false);
  if (rooted.startsWith("/") || rooted.startsWith("../") || rooted === "..") {
    fail(`${p}.depfile: '${res}' is outside the jobs file's folder`, `${p}.depfile`);
  }
  return rooted;
}

/** `repeat: {until | while, max}` as a tagged union. */
function repeatSpec(j: Entry, p: string, fail: Fail): RepeatSpec | undefined {
  const repeat = entry(j, "repeat");
  if (!repeat) return undefined;
  const until = str(repeat, "until"), whilst = str(repeat, "while");
  const max = num(repeat, "max") ?? 10;
  if (until !== undefined && whilst === undefined) return { kind: "until", test: until, max };
  if (whilst !== undefined && until === undefined) return { kind: "while", test: whilst, max };
  return fail(`${p}.repeat: give either 'until' or 'while'`, `${p}.repeat`);
}

/**
 * The signals a module's `stop:` may name (with or without `SIG`): Linux's, as every runtime jx
 * runs on can send them by name. A number or another name is refused at load: sent, it would
 * fail, and the module would be killed only after its grace.
 */
const STOP_SIGNALS: readonly string[] =
  "TERM INT HUP QUIT KILL USR1 USR2 ABRT ALRM PIPE WINCH CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF IO PWR SYS TRAP BUS FPE ILL SEGV CHLD STKFLT"
    .split(" ");

/**
 * A subscription: a topic as `jx ctl publish` takes it (`TOPIC_RE` of lib/modules/pubsub.ts), or
 * a prefix of one followed by `*` (`jx.*`, or `*` alone for every topic).
 */
export const SUBSCRIPTION_RE = /^(?=.)(?:[A-Za-z0-9_][A-Za-z0-9_.:\/+-]*)?\*?$/;

/** The fields only a module has. */
function modulePart(
  ctx: SpecContext,
  e: SpecEntry,
  fail: Fail,
): Omit<Draft<ModuleNode>, keyof SpecBase> {
  const { j, sub, p } = e;
  const stop = entry(j, "stop");
  const signal = stop && str(stop, "signal");
  if (signal !== undefined && !STOP_SIGNALS.includes(signal.replace(/^SIG/, ""))) {
    fail(
      `${p}.stop.signal: unknown signal '${signal}' (a name: ${STOP_SIGNALS.join(", ")})` +
        didYouMean(signal.replace(/^SIG/, ""), STOP_SIGNALS),
      `${p}.stop.signal`,
    );
  }
  const health = healthSpec(entry(j, "health"), p, fail, sub);
  const subscribe = strs(j, "subscribe");
  subscribe?.forEach((t, i) => {
    if (SUBSCRIPTION_RE.test(t)) return;
    const where = ctx.positions.has(`${p}.subscribe.${i}`)
      ? `${p}.subscribe.${i}`
      : `${p}.subscribe`;
    fail(
      `${p}.subscribe[${i}]: bad topic ${JSON.stringify(t)}: no message could ever reach it ` +
        "(a topic is letters, digits and _ . : / + -, not starting with . : / + -; " +
        "a trailing * takes every topic with that prefix)",
      where,
    );
  });
  const log = str(j, "log");
  // An empty path would name the jobs file's folder, which no module output can go to.
  if (log !== undefined && log.trim() === "") fail(`${p}.log: empty path`, `${p}.log`);
  return {
    ready: readySpec(entry(j, "ready"), p, fail, sub),
    stop: stop
      ? {
        signal: (signal ?? "TERM").replace(/^SIG/, ""),
        graceMs: num(stop, "grace") ?? DEFAULT_GRACE_MS,
      }
      : undefined,
    restart: oneOf(j, "restart", ["no", "on-failure", "always"]),
    ...(health ? { health } : {}),
    ...(log !== undefined ? { log: resolve(ctx.baseDir, sub.apply(log, `${p}.log`, true)) } : {}),
    subscribe,
    maxRestarts: num(j, "max_restarts"),
  };
}

/** `retries` and `retryDelay` of a job spec (durations are milliseconds here). */
function retriesOf(j: Entry): { retries: number; retryDelay?: Draft<JobNode>["retryDelay"] } {
  const count = j.retries;
  if (count === undefined || typeof count === "number") return { retries: count ?? 0 };
  const r = entry(j, "retries") ?? {};
  const retries = num(r, "count") ?? 0;
  const delayMs = num(r, "delay");
  if (!delayMs) return { retries };
  const maxMs = num(r, "max_delay") ?? parseDuration(RETRY_MAX_DELAY_DEFAULT) ?? 0;
  return { retries, retryDelay: { delayMs, backoff: num(r, "backoff") ?? 1, maxMs } };
}
