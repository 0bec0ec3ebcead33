/**
 * Loads a jobs file: YAML with positions, schema checks, variable
 * substitution, references, derived edges and the cycle check. Every problem
 * is a `JxInputError` with file, line and column.
 *
 * @module
 */
import { LineCounter } from "../runtime/yaml_light.ts";
import { basename, dirname, resolve } from "../runtime/path.ts";
import {
  findJobsFileUp,
  isDeviceSync,
  isThereSync,
  projectDir,
  readBytesSync,
  readRegularBytes,
} from "../runtime/fs.ts";
import { notUtf8, RAW_BYTE, utf8Decoder } from "../runtime/utf8.ts";
import { didYouMean, JxInputError, type Pos } from "./errors.ts";
import { toolFileHint } from "./hints.ts";
import { ioReason } from "../runtime/errors.ts";
import {
  CACHE_MIN_BYTES,
  cacheKey,
  FOREACH_GLOB,
  type PathNumbers,
  readCachedGraph,
  writeCachedGraph,
} from "./cache.ts";
import { Graph } from "./graph.ts";
import { FILE_FIELDS, VAR_RE } from "./schema.ts";
import type { CacheSettings, Edge, FileSettings, JobSpec, RepeatSpec } from "./types.ts";
import { type PosMap, Validator } from "./validate.ts";
import {
  cacheOf,
  entriesOf,
  type Entry as Validated,
  entry,
  errorCode,
  foreachOf,
  isNumber,
  isString,
  oneOf,
  strs,
  tableOf,
} from "./read.ts";
import { type Included, includedFiles, type Place } from "./include.ts";
import { expandForeach, foreachCount, lostName } from "./foreach.ts";
import {
  buildSpec,
  emitContext,
  globItemVars,
  type LoadNotes,
  newLoadNotes,
  normalizeResource,
  noteDotenv,
  readDotenvFiles,
  type SpecContext,
  type SpecDraft,
  Substituter,
  underPrefix,
} from "./spec.ts";
import { Derived, deriveResourceEdges, orderReads, ResourceIndex } from "./edges.ts";
import { checkResourceGlobs, MAX_FILE_BYTES, MAX_JOBS, parseYaml } from "./limits.ts";
export { NeedYamlPackage } from "./limits.ts";
import { folderGlobProblem, globProblem, isGlob } from "./glob.ts";

/** Keys that make a jobs file read other files. */
const MORE_FILES = /\b(env_file|include)["']?\s*:/;

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
  /** Directory that relative `cwd`s and resources are resolved against (default: the file's, `projectDir`). */
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
 * The jobs file a command works on: `file` (from `-f`) when given, else the
 * one `findJobsFile` finds from `dir`, else bad input (one line, exit 2).
 *
 * @example
 * ```ts
 * import { jobsFileOrFail } from "./load.ts";
 * import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * assertEquals(jobsFileOrFail("x.yaml", dir), "x.yaml");
 * throws(() => jobsFileOrFail(undefined, dir), /no jobs.yaml or jobs.yml here or in a parent folder/);
 * ```
 */
export function jobsFileOrFail(file: string | undefined, dir: string): string {
  const found = file ?? findJobsFile(dir);
  if (found) return found;
  throw new JxInputError(
    "no jobs.yaml or jobs.yml here or in a parent folder (use -f FILE, or jx init to make one)",
  );
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
  try {
    return loadFile(file, opts);
  } catch (e) {
    // `-f Makefile`, `-f Taskfile.yml`: its first line is bad YAML or an unknown key; say whose.
    const hint = e instanceof JxInputError && e.file === file ? toolFileHint(file) : "";
    if (!hint) throw e;
    const error = new JxInputError(
      `${(e as JxInputError).message}${hint}`,
      file,
      (e as JxInputError).pos,
    );
    error.missing = (e as JxInputError).missing;
    throw error;
  }
}

/** `loadJobsFile`'s work. */
function loadFile(file: string, opts: LoadOptions): Graph {
  // Its bytes, read once: the key hashes them as they are (no text encoded again), the parser
  // gets their text (on Deno `readTextFileSync` took 70 ms for 10 MB, this 3 + 28 to decode).
  let bytes: Uint8Array, text: string;
  // A device (`-f /dev/zero`) may never end: read for ever, memory without bound. A pipe is read.
  if (isDeviceSync(file)) {
    throw new JxInputError("cannot read: a device, not a file (a pipe is read, as <(cmd))", file);
  }
  try {
    bytes = readBytesSync(file, MAX_FILE_BYTES);
    text = utf8Decoder.decode(bytes);
  } catch (e) {
    const why = whyNotRead(e);
    // `-f $'j\xff.yaml'`: the runtime's file calls encode a name as UTF-8, so such a byte names
    // another file (jx takes a project's paths as text): not "no such file", that one may exist.
    if (why === "no such file" && RAW_BYTE.test(file)) throw new JxInputError(NOT_UTF8_NAME, file);
    const link = why === "no such file" && isThereSync(file); // found so, or named by -f
    throw new JxInputError(link ? `${why}: a link to nothing` : why, file);
  }
  refuseNotUtf8(bytes, text, file);
  const o = { baseDir: projectDir(file), ...opts };
  // A foreach glob, a dotenv file or an included file: more than the text, which
  // the cache key does not cover: no cache then.
  if (text.length < CACHE_MIN_BYTES || FOREACH_GLOB.test(text) || MORE_FILES.test(text)) {
    return parseJobsFile(text, file, o);
  }
  const key = cacheKey(bytes, o.vars ?? {}, o.baseDir);
  const cached = readCachedGraph(file, key);
  if (cached) return (cached.baseDir = o.baseDir, cached);
  const { graph, resources } = parseGraph(text, file, o);
  // What the text test above cannot see (a key written with a YAML escape, `"env\x5ffile"`),
  // the load noted: such a graph is never cached either.
  if (!graph.moreFiles) writeCachedGraph(file, key, graph, resources);
  return graph;
}

/** One jobs file of a graph (the root, or an included one) with its jobs built. */
interface Unit {
  /** The file as messages show it. */
  file: string;
  positions: PosMap;
  place: Place;
  jobs: SpecDraft[];
  /** Its jobs and modules by name as written in the file (before its namespace). */
  names: Map<string, JobSpec>;
  /**
   * Each job's dotted path in its file (`jobs.cc`, the name as written) where that is not its
   * section and its name (a job of an included file or of a `foreach`): see `pathOf`.
   */
  paths: Map<JobSpec, string>;
  /** `foreach` groups (names as in the graph) and the jobs they expanded to. */
  groups: Map<string, string[]>;
  /** Each `foreach` glob expanded at load (under the root) and its key's path in the file. */
  globs: { glob: string; at: string }[];
  /** The file's `default:` (an included file's is checked, not run: `checkDefault`). */
  default?: string[];
}

/** The resources that order `jobs` (see edges.ts): their `reads` (`orderReads`) and `writes`. */
function orderedBy(jobs: JobSpec[]): readonly Pick<JobSpec, "name" | "reads" | "writes">[] {
  if (!jobs.some((j) => j.when?.read !== undefined)) return jobs;
  return jobs.map((j) =>
    j.when?.read === undefined ? j : { name: j.name, reads: orderReads(j), writes: j.writes }
  );
}

/**
 * Parses jobs-file text into a `Graph`.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "./load.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile("jobs:\n  hello: { run: echo hi }\n", "inline.yaml");
 * assertEquals(g.jobs[0].argv, ["/bin/sh", "-c", "echo hi"]);
 * ```
 */
export function parseJobsFile(text: string, file: string, opts: LoadOptions = {}): Graph {
  // Not strings, they failed deep inside with "Cannot read properties of undefined".
  for (const [what, v] of [["text", text], ["file", file]]) {
    if (typeof v !== "string") {
      throw new JxInputError(`parseJobsFile: ${what} must be a string, got ${typeof v}`);
    }
  }
  return parseGraph(text, file, opts).graph;
}

/** `parseJobsFile`'s graph, and the index of its jobs' resources (numbered once, see `PathNumbers`). */
function parseGraph(
  text: string,
  file: string,
  opts: LoadOptions,
): { graph: Graph; resources: PathNumbers } {
  const baseDir = opts.baseDir ?? projectDir(file);
  const root: Place = { ns: "", prefix: "", stack: [], rootDir: baseDir, rootFile: file };
  const units: Unit[] = [];
  const pools = new Map<string, number>();
  const seen = new Set<string>();
  const notes = newLoadNotes();
  let settings: FileSettings = {}; // the root file's: its vars and top-level `cache:`
  // Each namespace's folder (or, for a file beside the root, that file) and the file first named.
  const spaces = new Map<string, { origin: string; shown: string }>();
  const visit = (text: string, file: string, abs: string, place: Place) => {
    seen.add(abs);
    const o = { ...opts, baseDir: dirname(abs) };
    const parsed = parseUnit(text, file, o, place, pools, notes);
    const { unit, includes, below } = parsed;
    if (place === root) settings = parsed.settings;
    // Included jobs take the place of the `include:` key, as a shell's `.` or C's #include:
    // after the sections written above it (the unit's jobs come before its modules).
    const kinds = (k: JobSpec["kind"]) => unit.jobs.filter((j) => j.kind === k).length;
    const jobs = kinds("job");
    const at = jobs && !below.jobs
      ? 0
      : (below.jobs ? jobs : 0) + (below.modules ? kinds("module") : 0);
    units.push(at === unit.jobs.length ? unit : { ...unit, jobs: unit.jobs.slice(0, at) });
    for (const inc of includes) {
      if (seen.has(inc.abs)) continue; // included twice (a diamond): once
      claimNamespace(spaces, inc, file, unit);
      visit(readIncluded(inc, unit, file), inc.shown, inc.abs, inc.place);
    }
    if (at < unit.jobs.length) units.push({ ...unit, jobs: unit.jobs.slice(at) });
  };
  notes.poolChecks = [];
  visit(text, file, resolve(baseDir, basename(file)), root);
  const poolChecks = notes.poolChecks;
  delete notes.poolChecks;
  for (const check of poolChecks) check();
  const jobs = units.flatMap((u) => u.jobs);
  if (units.length > 1) allPools(jobs, pools);
  if (jobs.length > MAX_JOBS) {
    throw new JxInputError(`more than ${MAX_JOBS} jobs and modules (the limit)`, file, {
      line: 1,
      col: 1,
    });
  }
  jobs.forEach((j, i) => j.index = i);
  if (units.length > 1) { for (const u of units) for (const j of u.jobs) j.source = u.file; }
  if (units.length > 1) checkCrossFileGlobs(units);
  const { edges, names } = linkUnits(units);
  // Resource edges run from an earlier job to a later one: only a link edge can close a cycle.
  const back = edges.some((e) => !((names.get(e.from)?.index ?? -1) < names.get(e.to)!.index));
  // Resource edges are one per ordered pair among themselves (checked against the links only).
  const links = edges.length;
  // What the derivation numbered, for the graph cache's writer (`PathNumbers`).
  const derived = new Derived();
  const index = deriveResourceEdges(orderedBy(jobs), (e) => edges.push(e), derived);
  const resources: PathNumbers = {
    idOf: (p) => index.idOf(p),
    paths: derived.paths,
    made: {
      edges: edges.slice(links),
      reasons: derived.reasons,
      from: derived.from,
      to: derived.to,
    },
  };

  const graph = new Graph(file, jobs, pools, edges, names, links);
  graph.baseDir = baseDir;
  graph.settings = settings;
  return { graph: finishGraph(graph, units, root, notes, back), resources };
}

/**
 * The graph's last notes and checks: its empty `foreach` groups, every file's `default:` (the
 * root's first: an included file's is not the run's, but checked as where it is the root), the
 * files it read, and no cycle (looked for only when an edge leads back in file order: `back`;
 * with none, every path runs forward and none can return).
 */
function finishGraph(
  graph: Graph,
  units: Unit[],
  root: Place,
  notes: LoadNotes,
  back: boolean,
): Graph {
  const checked = new Set<string>();
  for (const u of units) {
    for (const [g, members] of u.groups) {
      if (!members.length) (graph.emptyGroups ??= new Set()).add(g);
    }
    if (u.default && !checked.has(u.file)) checked.add(u.file), checkDefault(graph, u, u.default);
  }
  noteFiles(graph, notes);
  const included = new Set(units.filter((u) => u.place !== root).map((u) => u.file));
  if (included.size) graph.included = [...included];
  const cycle = back ? graph.findCycle() : undefined;
  if (cycle) throw cycleError(graph, cycle);
  return graph;
}

/**
 * A `foreach` glob expanded at load that matches what a job of another jobs file writes is
 * refused, as such a glob in an included file is: one file's glob is not deferred until
 * another file's writers have run, so the first run would miss their files and the next one
 * take them.
 */
function checkCrossFileGlobs(units: Unit[]): void {
  // Every job's writes in one index (not a pass over them all per glob).
  let writers: ResourceIndex<SpecDraft[]> | undefined;
  for (const u of units) {
    for (const { glob, at } of u.globs) {
      if (!writers) {
        writers = new ResourceIndex();
        for (const j of units.flatMap((o) => o.jobs)) {
          for (const w of j.writes) writers.getOrAdd(w, () => []).push(j);
        }
      }
      // The first such job of another file, in file order.
      let w: SpecDraft | undefined;
      const idx = writers;
      idx.conflictingIds(idx.idOf(glob), (c) => {
        for (const j of idx.valueOf(c)) {
          if (j.source !== u.file && (!w || j.index < w.index)) w = j;
        }
      });
      if (!w) continue;
      const msg = `${at}: a glob over files that ${w.name} (in ${w.source}) writes: ` +
        `not across included files (yet)`;
      throw new JxInputError(msg, u.file, u.positions.get(at));
    }
  }
}

/**
 * Takes `inc`'s namespace for its folder (or, for a file beside the root, that file), or bad
 * input at its `include` item when another file has it: `ci.yaml` beside the root and
 * `ci/jobs.yaml` would put both files' jobs in one namespace. `spaces`: each namespace's origin
 * and the file first named with it.
 */
function claimNamespace(
  spaces: Map<string, { origin: string; shown: string }>,
  inc: Included & { at?: Pos },
  file: string,
  by: Unit,
): void {
  const origin = inc.place.prefix || inc.abs, had = spaces.get(inc.place.ns);
  if (had && had.origin !== origin) {
    throw new JxInputError(
      `include: ${inc.shown}: its namespace '${inc.place.ns}' is already ${had.shown}'s ` +
        "(rename one of them)",
      file,
      inc.at ?? by.positions.get("include"),
    );
  }
  spaces.set(inc.place.ns, had ?? { origin, shown: inc.shown });
}

/** What the load noted of the files beside the jobs file (dotenv files, globs) on `graph`. */
function noteFiles(graph: Graph, notes: LoadNotes): void {
  if (notes.moreFiles) graph.moreFiles = true;
  if (notes.dotenvNames.size || notes.dotenvOutside.size) {
    graph.dotenv = { names: [...notes.dotenvNames].sort(), outside: notes.dotenvOutside.size > 0 };
  }
  if (notes.dotenvOutside.size) graph.readOutside = [...notes.dotenvOutside];
  if (notes.dotenvHashes.size) graph.dotenvLoaded = notes.dotenvHashes;
  if (notes.graphGlobs.size) graph.graphGlobs = [...notes.graphGlobs];
  if (notes.globMatches.size) graph.globMatches = notes.globMatches;
}

/** `cycle: a -> b (reason) -> a (reason)`, at the second job of the cycle. */
function cycleError(graph: Graph, cycle: string[]): JxInputError {
  const steps = cycle.slice(1).map((to, i) => {
    const from = cycle[i];
    const e = graph.depsOf(to).find((d) => d.from === from)!;
    return `${to} (${e.reason})`;
  });
  const first = graph.byName.get(cycle[1])!;
  return new JxInputError(
    `cycle: ${cycle[0]} -> ${steps.join(" -> ")}`,
    first.source ?? graph.file,
    first.pos,
  );
}

/**
 * A file's `default:`: each item names jobs of the graph, else bad input at the item. An
 * included file's names are its own first (`build` in `pkg/` is `pkg:build`), as its `needs`
 * are: what `jx run` would run in its folder, checked from the root too.
 */
function checkDefault(graph: Graph, unit: Unit, items: string[]): void {
  const at = (i?: number) =>
    (i !== undefined && unit.positions.get(`default.${i}`)) || unit.positions.get("default");
  if (!items.length) {
    throw new JxInputError("default: empty (name the jobs `jx run` runs)", unit.file, at());
  }
  const ns = unit.place.ns;
  items.forEach((n, i) => {
    try {
      if (ns) {
        try {
          graph.named([ownName(unit.place, n)]);
          return;
        } catch { /* not its own: a name of the whole graph, as `needs` takes one */ }
      }
      graph.named([n]);
    } catch (e) {
      if (!(e instanceof JxInputError)) throw e;
      // In an included file, the names it would take in its own folder are the ones to suggest.
      const own = unit.jobs.map((j) => j.name.slice(ns.length + 1));
      const why = ns ? `unknown job '${n}'${didYouMean(n, own)}` : e.message;
      throw new JxInputError(`default[${i}]: ${why}`, unit.file, at(i));
    }
  });
}

/**
 * Item `n` of an included file's `default:` as `jx run` in its folder reads it, named from the
 * root: its own job (`build` in `pkg/` is `pkg:build`) or a file it includes in turn (`sub:build`
 * and `sub:` there are `pkg/sub:build` and `pkg/sub:`).
 */
function ownName(place: Place, n: string): string {
  if (!/^[^[]*:/.test(n)) return `${place.ns}:${n}`;
  return place.prefix ? `${place.prefix}/${n}` : n;
}

/** Why a jobs file whose name is not UTF-8 (a byte of `decodeBytes`) is not read. */
const NOT_UTF8_NAME = "cannot read a jobs file whose name is not UTF-8 " +
  "(jx takes a project's paths as text): rename it";

/**
 * Why a file could not be read, in the same words on every runtime (a folder: Bun's `node:fs`
 * and Deno word EISDIR differently).
 */
function whyNotRead(e: unknown): string {
  const code = errorCode(e);
  if (code === "ENOENT") return "no such file";
  if (code === "EFBIG") return `cannot read: longer than ${MAX_FILE_BYTES / 2 ** 20} MiB`;
  // In words, the same on both runtimes (not `ENOTDIR: not a directory, open 'x/'`).
  return `cannot read: ${code === "EISDIR" ? "is a folder" : ioReason(e)}`;
}

/**
 * Refuses a jobs file that is not UTF-8 text (saved as UTF-16, or Latin-1's `é`), which the
 * lenient decoding that made `text` turned into U+FFFD silently: at the first such byte.
 */
export function refuseNotUtf8(bytes: Uint8Array, text: string, file: string): void {
  if (!text.includes("\uFFFD") && bytes[0] !== 0xff && bytes[0] !== 0xfe) return;
  const bad = notUtf8(bytes);
  if (bad) throw new JxInputError(bad.message, file, { line: bad.line, col: bad.col });
}

/** The text of an included file, or an error at the `include` item that named it. */
function readIncluded(inc: Included & { at?: Pos }, by: Unit, byFile: string): string {
  let bytes: Uint8Array;
  try {
    bytes = readRegularBytes(inc.abs);
  } catch (e) {
    const why = whyNotRead(e);
    const error = new JxInputError(
      `include: ${inc.shown}: ${why}`,
      byFile,
      inc.at ?? by.positions.get("include"),
    );
    if (errorCode(e) === "ENOENT") error.missing = inc.abs;
    throw error;
  }
  const text = utf8Decoder.decode(bytes);
  refuseNotUtf8(bytes, text, inc.shown);
  return text;
}

/** The top-level keys of a file, as validated. */
interface RawFile {
  vars?: Record<string, string>;
  env?: Record<string, string>;
  env_file?: string[];
  include?: string[];
  pools?: Record<string, number>;
  executor?: "local" | "slurm";
  cache?: boolean | CacheSettings;
  jobs?: [string, Validated][];
  modules?: [string, Validated][];
  default?: string[];
}

/** The top-level keys of a file, read from what the validator checked. */
function rawFile(o: Validated): RawFile {
  return {
    vars: tableOf(o, "vars", isString),
    env: tableOf(o, "env", isString),
    env_file: strs(o, "env_file"),
    include: strs(o, "include"),
    pools: tableOf(o, "pools", isNumber),
    executor: oneOf(o, "executor", ["local", "slurm"]),
    cache: cacheOf(o, "cache"),
    jobs: entriesOf(o, "jobs"),
    modules: entriesOf(o, "modules"),
    default: strs(o, "default"),
  };
}

/**
 * Throws at the first `lint: {ignore: [...]}` item that is not a glob or
 * folder relative to the jobs file's folder (docs/lint.md): a bad glob, an
 * absolute path, a `..` segment, a `${VAR}` (not substituted there).
 */
function checkLintIgnore(items: string[], file: string, positions: PosMap): void {
  items.forEach((g, i) => {
    const at = positions.get(`lint.ignore.${i}`) ?? positions.get("lint.ignore");
    const why = lintIgnoreProblem(g);
    if (why) throw new JxInputError(`lint.ignore[${i}]: '${g}': ${why}`, file, at);
  });
}

/**
 * Why `g` cannot be a `lint.ignore` item or an `--ignore` value, or undefined.
 *
 * @example
 * ```ts
 * import { lintIgnoreProblem } from "./load.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(lintIgnoreProblem("logs/**"), undefined);
 * assertEquals(lintIgnoreProblem("/tmp/x"), "an absolute path (globs are relative to the jobs file's folder)");
 * ```
 */
export function lintIgnoreProblem(g: string): string | undefined {
  if (g === "") return "empty";
  if (g.startsWith("/")) return "an absolute path (globs are relative to the jobs file's folder)";
  if (g.split("/").includes("..")) {
    return "a '..' segment (globs stay inside the jobs file's folder)";
  }
  if (g.includes("${")) return "variables are not substituted here";
  const problem = globProblem(g);
  return problem && `bad glob: ${problem}`;
}

/**
 * One file: YAML, schema, variables, its pools (into the graph's `pools`),
 * its jobs built (named in its namespace, paths under its folder), and the
 * files it includes.
 */
function parseUnit(
  text: string,
  file: string,
  opts: LoadOptions,
  place: Place,
  pools: Map<string, number>,
  notes: LoadNotes,
): {
  unit: Unit;
  includes: (Included & { at?: Pos })[];
  below: { jobs: boolean; modules: boolean };
  settings: FileSettings;
} {
  const { v, raw } = validatedFile(text, file);
  const sub = fileVars(raw, opts.vars ?? {}, file, v.positions);
  const baseDir = opts.baseDir ?? projectDir(file);
  sharePools(raw, pools, file, v.positions);
  const fileEnv: Record<string, string> = Object.create(null);
  for (const [k, val] of Object.entries(raw.env ?? {})) {
    fileEnv[k] = sub.apply(val, `env.${k}`, true); // no shell reads it: unknown is an error
  }
  const ctx: SpecContext = {
    file,
    positions: v.positions,
    pools,
    fileEnv,
    fileDotenv: raw.env_file === undefined
      ? undefined
      : readDotenvFiles(raw.env_file, "env_file", baseDir, file, v.positions, sub),
    baseDir,
    prefix: place.prefix,
    vars: Object.fromEntries(sub.vars),
    executor: raw.executor,
    notes,
  };
  if (ctx.fileDotenv) noteDotenv(notes, ctx.fileDotenv, place.prefix);
  if (raw.include !== undefined) notes.moreFiles = true;
  const unit = buildUnit(raw, ctx, sub, place);
  if (place.stack.length && raw.cache !== undefined) fileCache(unit, raw.cache);
  const settings = {
    vars: ctx.vars,
    ...(raw.cache !== undefined ? { cache: raw.cache } : {}),
    ...(raw.default !== undefined ? { default: raw.default } : {}),
  };
  return { unit, ...unitIncludes(raw, sub, v.positions, file, baseDir, place, notes), settings };
}

/** A file's YAML, checked against the schema: its validator (positions) and its values. */
function validatedFile(text: string, file: string): { v: Validator; raw: RawFile } {
  const lines = new LineCounter();
  const doc = parseYaml(text, file, lines);
  const v = new Validator(file, lines, doc);
  if (doc.contents === null) {
    throw new JxInputError("empty jobs file (expected a mapping with `jobs:`)", file, {
      line: 1,
      col: 1,
    });
  }
  const top = v.object(doc.contents, FILE_FIELDS, "");
  const raw = rawFile(top);
  checkLintIgnore(strs(entry(top, "lint") ?? {}, "ignore") ?? [], file, v.positions);
  if (!raw.jobs && !raw.modules && !raw.include) {
    throw new JxInputError("no `jobs:` (nothing to run)", file, v.pos(doc.contents));
  }
  return { v, raw };
}

/**
 * The pools of every file for the jobs made at run time (an `emits: jobs` job's, a deferred
 * `foreach`'s): their context was taken when their maker was built, before the files that
 * its file includes were read.
 */
function allPools(jobs: JobSpec[], pools: Map<string, number>): void {
  for (const j of jobs) {
    const ctx = j.kind === "job" ? j.emits ?? j.deferred?.ctx : undefined;
    if (ctx) ctx.pools = Object.fromEntries(pools);
  }
}

/** A file's `pools:` into the graph's: every file that names a pool must give it one size. */
function sharePools(raw: RawFile, pools: Map<string, number>, file: string, at: PosMap): void {
  for (const [k, n] of Object.entries(raw.pools ?? {})) {
    const had = pools.get(k);
    if (had !== undefined && had !== n) {
      throw new JxInputError(
        `pools.${k}: already ${had} in another jobs file (pools are shared by every file)`,
        file,
        at.get(`pools.${k}`),
      );
    }
    pools.set(k, n);
  }
}

/**
 * The files a file includes, with their positions, and which of the file's
 * sections are written above the `include:` key (`below`: the included jobs
 * come after those sections' in file order; all of them when it includes
 * nothing).
 */
function unitIncludes(
  raw: RawFile,
  sub: Substituter,
  positions: PosMap,
  file: string,
  baseDir: string,
  place: Place,
  notes: LoadNotes,
): { includes: (Included & { at?: Pos })[]; below: { jobs: boolean; modules: boolean } } {
  const items = (raw.include ?? []).map((x, i) =>
    sub.apply(x, positions.has(`include.${i}`) ? `include.${i}` : "include", true)
  );
  const at = (i: number) => positions.get(`include.${i}`) ?? positions.get("include");
  const includes = includedFiles(items, at, file, { abs: resolve(baseDir, basename(file)), place })
    .map((inc) => ({ ...inc, at: at(inc.item) }));
  // Their matches are the graph's: `jx watch` loads the file again when they change.
  for (const x of items.map(normalizeResource)) {
    if (isGlob(x)) notes.graphGlobs.add(underPrefix(place.prefix, x));
  }
  if (raw.include === undefined) return { includes, below: { jobs: true, modules: true } };
  const pos = (k: string) => positions.get(`${k}#`) ?? positions.get(k);
  const inc = pos("include");
  const above = (k: string) => {
    const p = pos(k);
    return p !== undefined && inc !== undefined &&
      (p.line < inc.line || (p.line === inc.line && p.col < inc.col));
  };
  return { includes, below: { jobs: above("jobs"), modules: above("modules") } };
}

/**
 * An included file's `cache:`: its `{env, salt}` join the keys of the jobs
 * written in it (the root file's join every job's). `true` or `false` turn
 * the cache on or not for the whole run: only the root file says that, and
 * an included file's (a package that also runs alone) is left to it.
 */
function fileCache(unit: Unit, cache: boolean | CacheSettings): void {
  if (typeof cache === "boolean") return;
  for (const j of unit.jobs) if (j.kind === "job") j.fileCache = cache;
}

/**
 * Variables in file order, each may use earlier ones; command-line overrides win, each read as
 * the file's value would be at its var's place (`jx run 'OBJ=${OUT}/x.o'`: the vars above it).
 * A name this file does not set comes first, as it is (it may be used by the file's vars).
 */
function fileVars(
  raw: RawFile,
  overrides: Record<string, string>,
  file: string,
  positions: PosMap,
): Substituter {
  const vars = new Map<string, string>();
  const own = raw.vars ?? {};
  for (const [k, val] of Object.entries(overrides)) {
    if (!VAR_RE.test(k)) throw new JxInputError(`invalid variable name '${k}' on the command line`);
    if (!Object.hasOwn(own, k)) vars.set(k, val);
  }
  const sub = new Substituter(vars, file, positions);
  // The command line's values: errors name the value, not a place in the file.
  const given = new Substituter(vars, "", positions);
  const later = new Set(Object.keys(own));
  sub.later = given.later = later;
  for (const [k, val] of Object.entries(own)) {
    const value = Object.hasOwn(overrides, k)
      ? given.apply(overrides[k], `${k}=... on the command line`, true)
      : sub.apply(val, `vars.${k}`, true);
    vars.set(k, value);
    later.delete(k);
  }
  sub.later = given.later = undefined;
  return sub;
}

/** Name, kind, entry, and its place among its section's entries (`jobs:`, `modules:`). */
type Entry = [string, "job" | "module", Validated, number];

type Expanded = [string, "job" | "module", Validated, Substituter, string, number];

/** A unit's entries with `foreach` expanded (one entry per item, named job[item]). */
interface Expansion {
  /**
   * Name, kind, entry, its substituter (with the item's variables), the name as written, and the
   * entry's place in its section.
   */
  expanded: Expanded[];
  /** `foreach` groups (names in the namespace) and their members. */
  groups: Map<string, string[]>;
  /** Groups whose glob is expanded during the run. */
  deferred: Set<string>;
  /** Jobs expanded from a glob over the disk as it is now. */
  fromGlob: Set<string>;
  /** The item of each job expanded from a list or a glob, by its variable (`JobSpec.item`). */
  items: Map<string, { as: string; value: string }>;
  /** The globs of those expanded at load, as `Unit.globs`. */
  globs: { glob: string; at: string }[];
}

/** Expands the `foreach` entries of a unit (see `Expansion`). */
function expandEntries(
  entries: Entry[],
  ctx: SpecContext,
  sub: Substituter,
  place: Place,
): Expansion {
  const fail = (msg: string, path: string): never => {
    throw new JxInputError(msg, ctx.file, ctx.positions.get(path));
  };
  const x: Expansion = {
    expanded: [],
    groups: new Map(),
    deferred: new Set(),
    fromGlob: new Set(),
    items: new Map(),
    globs: [],
  };
  const deferGlob = globDeferral(entries, sub, place, fail);
  for (const [name, kind, j, at] of entries) {
    const fe = foreachOf(j, "foreach");
    const section = kind === "job" ? "jobs" : "modules";
    if (place.ns && j.emits === "jobs") {
      fail(`${section}.${name}.emits: not in an included file (yet)`, `${section}.${name}.emits`);
    }
    if (!fe) {
      x.expanded.push([name, kind, j, sub, name, at]);
      continue;
    }
    const fp = `${section}.${name}.foreach`;
    let glob: string | undefined;
    if (fe.kind === "glob") {
      if (ctx.notes) ctx.notes.moreFiles = true;
      const given = sub.apply(fe.glob, `${fp}.glob`, true);
      // (Either matched nothing, said nothing, and ran no job: expanded now or during the run.)
      const bad = given.trim() === ""
        ? "an empty glob"
        : given.startsWith("/")
        ? `'${given}': an absolute path (a glob is relative to the jobs file's folder)`
        : undefined;
      if (bad) fail(`${fp}.glob: ${bad}`, `${fp}.glob`);
      const g = normalizeResource(given);
      const folders = folderGlobProblem(given, fe.as);
      if (folders) fail(`${fp}.glob: '${given}': ${folders}`, `${fp}.glob`);
      const problem = globProblem(g);
      if (problem) fail(`${fp}.glob: bad glob '${g}': ${problem}`, `${fp}.glob`);
      if (deferGlob(name, j, g, fp)) {
        // Stands for the group until then: reads the glob, writes what the items would.
        x.deferred.add(name);
        x.expanded.push([name, kind, j, sub.with(globItemVars(fe.as, g)), name, at]);
        continue;
      }
      // Its matches are the graph's: `jx watch` loads the file again when they change.
      glob = underPrefix(place.prefix, g);
      ctx.notes?.graphGlobs.add(glob);
      x.globs.push({ glob, at: fp });
    }
    const matches = expandGroup(x, [name, kind, j, at], fe, { ctx, sub, place, fail });
    // What it matched: a no-op record vouches for this graph only while it matches that.
    if (glob !== undefined) ctx.notes?.globMatches.set(glob, matches);
  }
  return x;
}

/**
 * Whether a `foreach` glob is expanded at run time, once the jobs it waits for
 * have run: it matches what another entry writes (unknown variables as `*`),
 * or its entry needs an `emits: jobs` job. Not in an included file (yet).
 */
function globDeferral(
  entries: Entry[],
  sub: Substituter,
  place: Place,
  fail: (msg: string, path: string) => never,
): (name: string, j: Validated, g: string, fp: string) => boolean {
  const writesOf = (name: string, kind: Entry[1], j: Validated) =>
    (strs(j, "writes") ?? []).map((w, i) => {
      const at = `${kind === "job" ? "jobs" : "modules"}.${name}.writes.${i}`;
      return normalizeResource(sub.apply(w, at, false).replace(/\$\{[^}]*\}/g, "*"));
    });
  // Made at the first foreach glob (most files have none: 100,000 jobs' writes for nothing):
  // each written path's writers, and the generators' names.
  let writers: ResourceIndex<string[]> | undefined, generators: Set<string> | undefined;
  return (name, j, g, fp) => {
    if (!writers || !generators) {
      writers = new ResourceIndex();
      for (const [n, kind, e] of entries) {
        for (const w of writesOf(n, kind, e)) writers.getOrAdd(w, () => []).push(n);
      }
      generators = new Set(entries.flatMap(([n, , e]) => e.emits === "jobs" ? [n] : []));
    }
    let writer = false;
    const idx = writers, gens = generators;
    idx.conflictingIds(idx.idOf(g), (c) => writer ||= idx.valueOf(c).some((n) => n !== name));
    const needsGenerator = (strs(j, "needs") ?? []).some((n) => gens.has(n));
    if (!writer && !needsGenerator) return false;
    if (place.ns) fail(`${fp}: a glob over files jobs write: not in an included file (yet)`, fp);
    return true;
  };
}

/**
 * One `foreach` entry as its group: an entry per item, named job[item], with its variables.
 * Returns a glob's matches (sorted), none for a list or a matrix.
 */
function expandGroup(
  x: Expansion,
  [name, kind, j, at]: Entry,
  fe: NonNullable<ReturnType<typeof foreachOf>>,
  o: { ctx: SpecContext; sub: Substituter; place: Place; fail: (m: string, p: string) => never },
): string[] {
  const { ctx, sub, place, fail } = o;
  const fp = `${kind === "job" ? "jobs" : "modules"}.${name}.foreach`;
  const ns = (n: string) => place.ns ? `${place.ns}:${n}` : n;
  if (x.expanded.length + foreachCount(fe) > MAX_JOBS) {
    fail(`${fp}: makes more than ${MAX_JOBS} jobs in all (the limit)`, fp);
  }
  const items = expandForeach(name, fe, ctx.baseDir, (g, key) => {
    if (key !== "glob") {
      return g.includes("$") ? sub.apply(g, itemPath(ctx.positions, fp, key), true) : g;
    }
    return sub.apply(g, `${fp}.glob`, true); // checked in `expandEntries`
  });
  const lost = fe.kind === "glob"
    ? lostName(items.map((i) => i.vars[fe.as]), ctx.baseDir)
    : undefined;
  if (lost) fail(`${fp}: ${lost}`, fp);
  x.groups.set(ns(name), items.map((i) => ns(i.name)));
  if (fe.kind === "glob") { for (const i of items) x.fromGlob.add(i.name); }
  if (fe.kind !== "matrix") {
    for (const i of items) x.items.set(i.name, { as: fe.as, value: i.vars[fe.as] });
  }
  // A glob's items are paths found on disk: `reads`/`writes` take each as exactly that path.
  const found = fe.kind === "glob";
  for (const i of items) x.expanded.push([i.name, kind, j, sub.with(i.vars, found), name, at]);
  if (x.expanded.length > MAX_JOBS) {
    fail(`${fp}: makes more than ${MAX_JOBS} jobs in all (the limit)`, fp);
  }
  return found ? items.map((i) => i.vars[fe.as]) : [];
}

/**
 * The path of a `foreach` list item or matrix value (`key`: `list.0`, `matrix.OS.1`) as written:
 * `foreach.0` when the list is the `foreach` itself, `foreach.list.0` when it is its `list:`.
 */
function itemPath(positions: PosMap, fp: string, key: string): string {
  const path = `${fp}.${key}`;
  return key.startsWith("list.") && !positions.has(path) ? `${fp}.${key.slice(5)}` : path;
}

/** A job's dotted path when it is its section and its name (most jobs: see `Unit.paths`). */
const plainPath = (j: JobSpec) => `${j.kind === "job" ? "jobs" : "modules"}.${j.name}`;

/** A job's dotted path in its unit's file (`jobs.cc`, the name as written). */
const pathOf = (u: Unit, j: JobSpec) => u.paths.get(j) ?? plainPath(j);

/** A unit's jobs and modules: `foreach` expanded, each spec built, names in its namespace. */
function buildUnit(raw: RawFile, ctx: SpecContext, sub: Substituter, place: Place): Unit {
  const { file } = ctx;
  const fail = (msg: string, path: string): never => {
    throw new JxInputError(msg, file, ctx.positions.get(path));
  };
  const entries: Entry[] = [
    ...(raw.jobs ?? []).map(([n, j], at): Entry => [n, "job", j, at]),
    ...(raw.modules ?? []).map(([n, j], at): Entry => [n, "module", j, at]),
  ];
  const ns = (name: string) => place.ns ? `${place.ns}:${name}` : name;
  const { expanded, groups, deferred, fromGlob, globs, items } = expandEntries(
    entries,
    ctx,
    sub,
    place,
  );

  const unit: Unit = {
    file,
    positions: ctx.positions,
    place,
    jobs: [],
    names: new Map(),
    paths: new Map(),
    groups,
    globs,
    default: raw.default,
  };
  const names = unit.names;
  for (const [name, kind, j, sub, written, entry] of expanded) {
    const section = kind === "job" ? "jobs" : "modules";
    const p = `${section}.${written}`;
    const group = groups.size > 0 && groups.has(ns(name)) && name === written && !j.foreach;
    // Two items of one foreach (`[a, a]`, or a matrix's `a,b` + `c` and `a` + `b,c`).
    const other = name !== written ? names.get(name)?.group : undefined;
    if (other !== undefined && (other === written || other === ns(written))) {
      fail(`${p}.foreach: two of its items make the name '${name}'`, `${p}.foreach`);
    }
    if (group || names.has(name)) {
      fail(
        `${p}: duplicate name '${name}' (already a ${names.get(name)?.kind ?? "foreach group"})`,
        `${p}#`,
      );
    }
    const standIn = deferred.has(name) ? true : undefined;
    const spec = buildSpec(ctx, { name, kind, j, sub, written, index: 0, p, entry, standIn });
    names.set(name, spec);
    checkResourceGlobs(spec, p, file, ctx.positions);
    if (fromGlob.has(name)) spec.fromGlob = true;
    const item = items.size ? items.get(name) : undefined;
    if (item) spec.item = item;
    // Only for a deferred group: reading `foreach` checks each of its items (per item: n²).
    const fe = deferred.has(name) ? foreachOf(j, "foreach") : undefined;
    if (fe?.kind === "glob" && spec.kind === "job") {
      const glob = normalizeResource(sub.apply(fe.glob, `${p}.foreach.glob`, true));
      spec.argv = [];
      spec.command = `(foreach over ${glob}, expanded once the jobs writing it have run)`;
      spec.reads = [glob, ...spec.reads];
      const pos = ctx.positions.get(`${p}.foreach`);
      spec.deferred = { glob, as: fe.as, job: j, ctx: emitContext(ctx), pos };
    }
    if (place.ns) {
      spec.name = ns(spec.name);
      if (spec.group !== undefined) spec.group = ns(spec.group);
    }
    unit.jobs.push(spec);
    if (written !== spec.name) unit.paths.set(spec, p);
  }
  return unit;
}

/**
 * References across every unit: `needs`, `if`/`unless`, `repeat` resolved
 * (in an included file a name is first looked up in its own namespace) and
 * turned into edges. The specs get the resolved names.
 */
function linkUnits(units: Unit[]): { edges: Edge[]; names: Map<string, JobSpec> } {
  // One file: its own table (names are unique in it, and have no namespace).
  const one = units.length === 1 && !units[0].place.ns;
  const names = one ? units[0].names : new Map<string, JobSpec>();
  const fileOf = new Map<string, string>();
  for (const u of one ? [] : units) {
    for (const j of u.jobs) {
      const had = names.get(j.name);
      if (had) {
        const at = had.pos ? `:${had.pos.line}:${had.pos.col}` : "";
        throw new JxInputError(
          `${pathOf(u, j)}: duplicate name '${j.name}' (already a ${had.kind} of ` +
            `${fileOf.get(j.name)}${at})`,
          u.file,
          j.pos,
        );
      }
      names.set(j.name, j);
      fileOf.set(j.name, u.file);
    }
  }
  const groups = new Map<string, string[]>();
  // (A file's jobs written before and after its `include:` are two units of one table.)
  const tables = new Set<Map<string, string[]>>();
  for (const u of units) {
    if (tables.has(u.groups)) continue;
    tables.add(u.groups);
    for (const [g, m] of u.groups) {
      // (In one file a name is one thing: checked as the file was built.)
      const had = names.get(g);
      const clash = had?.kind ?? (groups.has(g) ? "foreach group" : undefined);
      if (clash) {
        const w = u.place.ns ? g.slice(u.place.ns.length + 1) : g;
        const at = u.positions.get(`jobs.${w}#`) ?? u.positions.get(`modules.${w}#`);
        const there = had?.pos ? `:${had.pos.line}:${had.pos.col}` : "";
        throw new JxInputError(
          `jobs.${w}: duplicate name '${g}' (already a ${clash} of ${fileOf.get(g)}${there})`,
          u.file,
          at,
        );
      }
      groups.set(g, m);
      fileOf.set(g, u.file);
    }
  }
  const edges: Edge[] = [];
  const testOf = new Map<string, string>();
  for (const u of units) {
    // A name as the file's own folder reads it: its job, or a job of a file it includes in turn.
    const local = (n: string) => {
      const own = u.place.ns ? ownName(u.place, n) : n;
      return names.has(own) || groups.has(own) ? own : n;
    };
    for (const job of u.jobs) {
      if (job.needs.length) job.needs = job.needs.map(local);
      if (job.kind !== "job") continue;
      if (job.if !== undefined) job.if = local(job.if);
      if (job.unless !== undefined) job.unless = local(job.unless);
      if (job.repeat) job.repeat = { ...job.repeat, test: local(job.repeat.test) };
    }
    for (const job of u.jobs) {
      if (linksNothing(job)) continue; // most jobs of a big file
      new JobLinks(job, u, { names, groups, testOf }, (e) => edges.push(e)).link();
    }
  }
  return { edges, names };
}

/** Whether a job names no other: no `needs`, `if`, `unless` or `repeat` (nothing to link). */
function linksNothing(j: JobSpec): boolean {
  if (j.needs.length) return false;
  return j.kind !== "job" || (j.if === undefined && j.unless === undefined && !j.repeat);
}

/** The tables every job's references are resolved against (see `linkUnits`). */
interface LinkTables {
  names: Map<string, JobSpec>;
  groups: Map<string, string[]>;
  /** Repeat tests and the loop (job or foreach group) each belongs to. */
  testOf: Map<string, string>;
}

/** One job's `needs`, `if`/`unless` and `repeat`, checked and turned into edges. */
class JobLinks {
  /** The job's path in messages (`jobs.NAME`). */
  private p: string;

  constructor(
    private job: JobSpec,
    private u: Unit,
    private all: LinkTables,
    private add: (e: Edge) => void,
  ) {
    this.p = pathOf(u, job);
  }

  link(): void {
    this.needs();
    this.conditions();
    if (this.job.repeat) this.repeat(this.job.repeat);
    if (this.job.if !== undefined && this.job.unless !== undefined) {
      this.fail(`${this.p}: give either 'if' or 'unless', not both`, `${this.p}.unless#`);
    }
  }

  private fail(msg: string, path: string): never {
    throw new JxInputError(msg, this.u.file, this.u.positions.get(path));
  }

  /** `name` (at `path`, in `what`) must be another job or module. */
  private ref(name: string, path: string, what: string): void {
    const { names, groups } = this.all;
    const members = groups.get(name);
    if (members && !names.has(name)) {
      const one = members.length ? ` (such as '${members[0]}')` : "";
      this.fail(`${path}: '${name}' is a foreach group: ${what} names one job${one}`, path);
    }
    if (!names.has(name)) {
      this.fail(`${path}: unknown job '${name}' in ${what}${didYouMean(name, names.keys())}`, path);
    }
    if (name === this.job.name) {
      this.fail(
        `${path}: '${name}' cannot ${what === "needs" ? "need" : "depend on"} itself`,
        path,
      );
    }
  }

  private needs(): void {
    const { job, u, p, all: { names, groups } } = this;
    job.needs.forEach((n, i) => {
      const members = groups.get(n);
      if (members) {
        // A foreach group: wait for every job it expanded to.
        for (const m of members) {
          this.add({ from: m, to: job.name, kind: "needs", reason: `needs ${n}` });
        }
        return;
      }
      if (!names.has(n) || n === job.name) {
        // Messages say needs[0]; positions are recorded as needs.0.
        const at = u.positions.get(`${p}.needs.${i}`) ?? u.positions.get(`${p}.needs`);
        const msg = n === job.name
          ? `${p}.needs[${i}]: '${n}' cannot need itself`
          : `${p}.needs[${i}]: unknown job '${n}' in needs${didYouMean(n, names.keys())}`;
        throw new JxInputError(msg, u.file, at);
      }
      this.add({ from: n, to: job.name, kind: "needs", reason: "needs" });
    });
  }

  private conditions(): void {
    for (const key of ["if", "unless"] as const) {
      const n = this.job[key];
      if (n === undefined) continue;
      const at = `${this.p}.${key}`;
      this.ref(n, at, key);
      if (this.all.names.get(n)!.kind === "module") {
        this.fail(`${at}: '${n}' is a module; conditions name jobs`, at);
      }
      this.add({ from: n, to: this.job.name, kind: "condition", reason: key });
    }
  }

  private repeat({ kind, test }: RepeatSpec): void {
    const { job, p, all } = this;
    const at = `${p}.repeat.${kind}`;
    this.ref(test, at, "repeat");
    if (all.names.get(test)!.kind === "module") {
      this.fail(`${at}: '${test}' is a module; a repeat test is a job`, at);
    }
    if (job.deferred) {
      this.fail(`${p}.repeat: not on a foreach glob expanded during the run`, `${p}.repeat`);
    }
    // One loop per test: a foreach group's items share theirs.
    const loop = job.group ?? job.name;
    const other = all.testOf.get(test);
    if (other !== undefined && other !== loop) {
      this.fail(`${at}: '${test}' is already the test of '${other}'`, at);
    }
    all.testOf.set(test, loop);
    checkRepeatTest(all.names.get(test)!, at, (m, q) => this.fail(m, q));
    // The test runs after each run of the job, inside the loop.
    this.add({ from: job.name, to: test, kind: "needs", reason: `repeat ${kind}` });
  }
}

/** The test runs in its job's slot right after it: nothing may order or hold it. */
function checkRepeatTest(t: JobSpec, at: string, fail: (msg: string, path: string) => never) {
  const held = [
    t.needs.length && "needs",
    t.if !== undefined && "if",
    t.unless !== undefined && "unless",
    t.reads.length && "reads",
    t.writes.length && "writes",
    Object.keys(t.pools).length && "pools",
    t.tokens > 1 && "tokens",
    t.repeat && "repeat",
    // (`when` would be bypassed, and an interactive job must run alone: neither holds here.)
    t.when && "when",
    t.interactive && "interactive",
  ].filter((x): x is string => typeof x === "string");
  if (held.length) {
    fail(
      `${at}: the test '${t.name}' runs inside the loop, right after the job: ` +
        `it cannot have ${held.join(", ")}`,
      at,
    );
  }
}
