/**
 * What the commands that run jobs share (`jx run`, `jx watch`): finding and
 * loading the jobs file, the run lock, and the job slots, resolved once
 * into one object.
 *
 * @module
 */
import type { Graph } from "../graph/mod.ts";
import {
  badAuthProblem,
  badJobsProblem,
  createJobserver,
  joinJobserver,
  parseMakeFlags,
  poolProblem,
  withoutJobserver,
} from "../jobserver/mod.ts";
import { type FdNeed, jobsWithinFds, type Reactor } from "../reactor/mod.ts";
import {
  cwd,
  envObject,
  escapeControls,
  isFileSync,
  physicalFile,
  readTextSync,
  writeAll,
} from "../runtime/mod.ts";
import { didYouMean, JxInputError } from "../runtime/errors.ts";
import { LocalSlots, type Slots } from "../scheduler/mod.ts";
export { takeLock } from "../state/mod.ts";
import { rawKind } from "../state/mod.ts";
import { RAW_BYTE } from "../runtime/utf8.ts";
import type { Args } from "./args.ts";
import { relative, resolve } from "../runtime/path.ts";
import { wantedJobs } from "./slots.ts";

/**
 * Picks the jobs file: `-f`, a positional that names a YAML file, or jobs.yaml/jobs.yml here or
 * in the nearest parent folder that has one (`orFail`: graph/load.ts `jobsFileOrFail`).
 */
function jobsFile(args: Args, orFail: (file: undefined, dir: string) => string): string {
  // A name that is not UTF-8 that names nothing, found by its bytes: "no such file", as for any
  // other (one that is there, the loader cannot read: it says so).
  if (args.file && RAW_BYTE.test(args.file) && !rawKind(args.file)) {
    throw new JxInputError("no such file", args.file);
  }
  if (args.file) return args.file;
  const word = fileWord(args);
  if (word !== undefined) {
    args.names.shift();
    return physicalFile(word);
  }
  return orFail(undefined, cwd());
}

/**
 * The first name when it is to be read as `-f` (`jx run some.yaml`: no `-f`, and it names an
 * existing file ending in `.yaml`, `.yml` or `.yaml.example`), else undefined.
 */
export function fileWord(args: Args): string | undefined {
  const first = args.names[0];
  if (args.file || !first || !/\.ya?ml(\.example)?$/.test(first)) return undefined;
  // A name that is not UTF-8 (`j\xff.yaml`), found by its bytes: the loader says it cannot read
  // it (not "unknown job" for a jobs file that is there).
  if (RAW_BYTE.test(first)) return rawKind(first) === "file" ? first : undefined;
  try {
    return isFileSync(first) ? first : undefined;
  } catch {
    return undefined; // a job name after all
  }
}

/** Loads the jobs file the arguments name. */
export async function load(args: Args): Promise<Graph> {
  // Loaded here, not above: a partial `jx run` (noop_run.ts) reads no jobs file. The loader
  // without the `yaml` package, which only a file outside the fast front end's subset needs
  // (on Deno an npm package sets up the Node compatibility: ARCHITECTURE.md, "The run path").
  const g = await import("../graph/load.ts" as string) as typeof import("../graph/load.ts");
  const file = jobsFile(args, g.jobsFileOrFail);
  let graph: Graph;
  try {
    graph = g.loadJobsFile(file, { vars: args.vars });
  } catch (e) {
    if (!(e instanceof g.NeedYamlPackage)) throw e;
    await import("../graph/yaml_full.ts" as string);
    graph = g.loadJobsFile(file, { vars: args.vars });
  }
  for (const line of unknownVars(args.vars, graph)) {
    writeAll(2, `jx: warning: ${line}\n`);
    args.varsWarned = true;
  }
  return graph;
}

/**
 * Each `NAME=VALUE` of the command line whose NAME no file of the graph
 * holds: a misspelt var (`CCC=clang`) substitutes nothing (just refuses one,
 * make takes it silently). Read only when the command line sets vars.
 */
function unknownVars(vars: Record<string, string>, graph: Graph): string[] {
  const names = Object.keys(vars);
  if (!names.length) return [];
  const texts = graph.filesRead().map((f) => {
    try {
      return readTextSync(f);
    } catch {
      return "";
    }
  });
  const known = Object.keys(graph.settings.vars ?? {}).filter((k) => !(k in vars));
  return names.filter((n) => {
    const word = new RegExp(`(^|[^A-Za-z0-9_])${n}($|[^A-Za-z0-9_])`, "m");
    return !texts.some((t) => word.test(t));
  }).map((n) =>
    `${escapeControls(n)}=... on the command line: the jobs file has no variable ` +
    `${escapeControls(n)}${didYouMean(n, known)}, so it changes nothing`
  );
}

/**
 * The job slots of a run, resolved once: `-j` (else the CPU count), an
 * inherited make jobserver, `--jobserver-style`. Everything downstream reads
 * `slots` (its `limit`, its `role`, each job's MAKEFLAGS through `jobEnv`).
 */
export interface SlotSetup {
  /** make's pool (client), a pool jx serves (server), or a plain counter. */
  slots: Slots;
  /** The `n` and `k` flags of the make that runs jx. */
  makeDryRun: boolean;
  makeKeepGoing: boolean;
  /** Its `q` (`make -q`): a dry run whose exit says whether anything would run (1) or not (0). */
  makeQuestion: boolean;
  /** Counts a pool's tokens at the end: a warning, or undefined. */
  finish(): string | undefined;
  /**
   * Whether the slot count is this machine's CPU count, chosen by no one (no `-j`, no make's):
   * under an existing Slurm allocation its Slurm jobs take the allocation's size instead.
   */
  byDefault: boolean;
}

/**
 * Chooses the job slots: make's pool when MAKEFLAGS carries one (client),
 * else a pool jx creates for its jobs (server), else a plain counter. A pool
 * MAKEFLAGS names that cannot be reached (make ran jx without `+`) is not
 * joined, as GNU make's sub-make does: an explicit `-jN` stands (else `-j1`),
 * one warning says so, and jobs get jx's own pool, never make's dead fds.
 */
export function setUpSlots(
  args: Args,
  reactor: Reactor,
  warn: (w: string) => void,
  need: FdNeed = {},
): SlotSetup {
  const env = envObject();
  const mf = parseMakeFlags(env);
  if (mf.badJobs !== undefined) warn(badJobsProblem(mf.source!, mf.badJobs));
  // make's `n` and `k` when make runs jx: its pool named, or (a make without -j names none) the
  // MAKELEVEL make sets in its recipes' environment; a MAKEFLAGS set by hand is not make's.
  const byMake = !!mf.auth || mf.badAuth !== undefined || env.MAKELEVEL !== undefined;
  // `make -j1` names no pool, only ` -j1`: a sub-make runs one job at a time, and so does jx
  // (unless its own -j says otherwise).
  const given = args.jobs ??
    (byMake && !mf.auth && mf.badAuth === undefined ? mf.jobs : undefined);
  const jobs = given ?? wantedJobs(args);
  if (byMake && mf.touch && !mf.dryRun) warn("make -t: jx touches nothing; a dry run instead");
  const fromMake = (slots: Slots & { finish?(): string | undefined }, byDefault = false) => ({
    slots,
    byDefault,
    // `make -t` touches its targets instead of making them: jx, which has none to touch, runs
    // nothing either (a dry run, said once).
    makeDryRun: byMake && (mf.dryRun || mf.touch),
    makeKeepGoing: byMake && mf.keepGoing,
    makeQuestion: byMake && mf.question,
    finish: () => slots.finish?.(),
  });
  const canUse = !!reactor.watch;
  if (mf.badAuth !== undefined) {
    // A pool named but not readable: not make's -jN outside any pool (that many jobs beside
    // make's own), but what make 4.4 does with it, -j1 (or jx's own -j), with one warning.
    const n = args.jobs ?? 1;
    warn(`${badAuthProblem(mf.badAuth)}; using -j${n}`);
    return fromMake(ownSlots(args, jobsWithinFds(n, warn, need), reactor, warn, true));
  }
  if (!mf.auth) {
    // A counter hands on jx's MAKEFLAGS as it is: without the bad -j.
    const strip = mf.badJobs !== undefined;
    return fromMake(
      ownSlots(args, jobsWithinFds(jobs, warn, need), reactor, warn, strip),
      given === undefined,
    );
  }
  if (!canUse) {
    warn(`cannot join make's jobserver with the ${reactor.name} reactor; running with -j${jobs}`);
    return fromMake(new LocalSlots(jobsWithinFds(jobs, warn, need)));
  }
  const joined = joinJobserver(mf.auth, mf.jobs ?? jobs, reactor);
  if (typeof joined !== "string") {
    if (args.jobs !== undefined) {
      warn(`-j${args.jobs} ignored: using the jobserver of the make that runs jx`);
    }
    // make's -j may be more jobs than the open-files limit holds: take no more tokens at once.
    const fit = jobsWithinFds(joined.limit, warn, need);
    if (fit < joined.limit) joined.atOnce = fit;
    return fromMake(joined);
  }
  const n = args.jobs ?? 1;
  warn(`${joined}; using -j${n}`);
  return fromMake(ownSlots(args, jobsWithinFds(n, warn, need), reactor, warn, true));
}

/**
 * `n` slots of jx's own: a pool in `--jobserver-style` (pipe unless fifo), or a counter
 * (`none`, or a reactor that cannot watch the pool); with `stale` a counter drops from its jobs'
 * MAKEFLAGS a pool make named that jx could not reach, and a `-j` jx could not read (`-jfoo`).
 */
function ownSlots(
  args: Args,
  n: number,
  reactor: Reactor,
  warn: (w: string) => void,
  stale = false,
): Slots & { finish?(): string | undefined } {
  if (args.jobserverStyle !== "none" && reactor.watch) {
    try {
      return createJobserver(n, args.jobserverStyle === "fifo" ? "fifo" : "pipe", reactor, warn);
    } catch (e) {
      if (e instanceof JxInputError) throw e;
      warn(`no jobserver pool for the jobs (${poolProblem(e)}); using -j${n}`);
    }
  }
  const counter = new LocalSlots(n);
  if (!stale) return counter;
  return Object.assign(counter, { jobEnv: (env: Record<string, string>) => withoutJobserver(env) });
}

/**
 * The run's `--events` and `--trace` files, relative to `baseDir`: written by jx as the run goes,
 * they are no job's input (`UpToDate.runLogs`), nor a change to `jx watch`.
 */
export function runLogs(args: Pick<Args, "events" | "trace">, baseDir: string): Set<string> {
  return new Set(
    [args.events, args.trace].flatMap((f) => f ? [relative(baseDir, resolve(f))] : []),
  );
}
