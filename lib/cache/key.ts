/**
 * The cache key of a job: a SHA-256 over exactly what the contract lists,
 * with its parts kept so that `jx explain` can print them and say which
 * part differs from the job's last stored key.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { namedByAny, resourceNames } from "../graph/mod.ts";
import {
  changedSince,
  expandStamped,
  type FileStamp,
  hashFile,
  NotUtf8Name,
  stamp,
} from "../state/mod.ts";
import { envObject } from "../runtime/fs.ts";
import { platformArch } from "../runtime/mod.ts";

/**
 * Bumped whenever what is hashed or what is stored changes meaning (3: an
 * input's executable bit, `+x` after its hash).
 */
export const CACHE_FORMAT_VERSION = 3;

/** What of a job the key reads (a subset of the graph's `JobSpec`). */
export interface CacheJob {
  /** The job's name: in the key as the `JX_JOB` jx gives the job (its output may print it). */
  name: string;
  /** The resolved argv, after vars and job arguments. */
  argv: string[];
  /** The environment the jobs file gives it (top-level `env` under the job's). */
  env: Record<string, string>;
  /** Declared reads: paths, globs, `@names` (relative to the jobs file's directory). */
  reads: string[];
  /** Declared writes. */
  writes: string[];
  /** Absolute working directory. */
  cwd: string;
  /** A depfile: its inputs are known only after a run, so the key cannot cover them. */
  depfile?: string;
  /** The job's `cache:` setting: false (never), true (even without writes), or settings. */
  cache?: boolean | CacheSettings;
  /** An included jobs file's `cache: {env, salt}`, for the jobs written in it. */
  fileCache?: CacheSettings;
  /** Dotenv names the process environment overrides: their value there joins the key. */
  envFromProcess?: readonly string[];
  /** `interactive: true`: what it reads from the terminal is in no key (never cached). */
  interactive?: boolean;
  /** Its own `executor:` (or its file's); unset: the run's (`KeyContext.executor`). */
  executor?: "local" | "slurm";
  /** Its `slurm:` options: which nodes run it. */
  slurm?: { partition?: string; gres?: string; args?: readonly string[] };
}

/** `cache: {env, salt}`, top level or per job. */
export interface CacheSettings {
  /** Names of environment variables whose values join the key. */
  env?: string[];
  /** Any string: changing it invalidates every entry it covers. */
  salt?: string;
}

/** What a key is computed in. */
export interface KeyContext {
  /** The jobs file's directory: paths in the key are relative to it. */
  baseDir: string;
  /** The file's variables (with command-line overrides). */
  vars: Record<string, string>;
  /** The top-level `cache:` settings. */
  settings?: CacheSettings;
  /** Where pass-through variables are read (default: the process's). */
  processEnv?: Record<string, string | undefined>;
  /** `os/arch`, for tests (default: this machine's). */
  platform?: string;
  /** The run's `--executor`: where a job without its own `executor:` runs (default: local). */
  executor?: "local" | "slurm";
  /** The local store's folder: what lies in it is no input (`storeUnder`). */
  store?: string;
}

/** The parts of a key, each a plain value (stored beside the entry for `jx explain`). */
export interface KeyParts {
  /** Cache format version. */
  version: number;
  /** `os/arch`; for a job run by Slurm, the options that pick its nodes (`platformOf`). */
  platform: string;
  /** The argv. */
  command: string[];
  /** The working directory relative to the jobs file's directory. */
  cwd: string;
  /** The environment from the jobs file. */
  env: Record<string, string>;
  /** The variables. */
  vars: Record<string, string>;
  /** Pass-through variables: SHA-256 of each value (values may be secrets), null when unset. */
  passEnv: Record<string, string | null>;
  /** Every file `reads` resolves to, with its content hash (null: absent). */
  inputs: Record<string, string | null>;
  /** The `writes` paths as declared. */
  writes: string[];
  /** `cache: {salt}` (job's after the file's). */
  salt: string;
}

const sha256 = (s: string | Uint8Array): string => createHash("sha256").update(s).digest("hex");

/**
 * Whether the cache applies to `job` (it has writes, or says `cache: true`;
 * not `cache: false`). Never to a job with a `depfile`: a fresh checkout
 * does not know what the depfile lists, so a key without those inputs
 * could restore outputs built from other headers. Nor to an interactive
 * job: what it reads from the terminal (an answer, a password) is in no
 * key, and its output goes to the terminal, never kept. Nor, unless it says
 * `cache: true`, to one that reads an `@name` it does not write: what the
 * name stands for (a database) is in no key, so a restore after its writer
 * ran would bring back the output of before.
 */
export function cacheable(job: CacheJob): boolean {
  if (job.cache === false || job.depfile !== undefined || job.interactive) return false;
  if (job.cache === true) return true;
  if (job.reads.some((r) => r[0] === "@" && !job.writes.includes(r))) return false;
  return job.writes.some((w) => w[0] !== "@");
}

const sorted = <T>(o: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(o).sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

/** Each input's stamp taken before it was hashed for a key (null: absent). */
export type InputStamps = Map<string, FileStamp | null>;

/**
 * The files `reads` resolve to now (globs expanded, folders walked), the
 * job's own outputs among them: a job that reads what it writes (a formatter
 * editing files in place) depends on their content before it runs.
 */
export function inputPaths(job: Pick<CacheJob, "reads">, baseDir: string): string[] {
  try {
    return [...expandStamped(job.reads, baseDir, { strict: true }).keys()];
  } catch (e) {
    if (!(e instanceof NotUtf8Name)) throw e;
    // Listed with U+FFFD, a name that is not there: its content would be in no key, and a hit
    // would bring back outputs made from other content. The job runs, uncached.
    throw new Error(`${relative(baseDir, e.path)}: its name is not UTF-8, so jx cannot hash it`);
  }
}

/**
 * Every input of `job` now (`inputPaths`), with its content hash (and
 * `+x` after it when the file is executable); each
 * one's stamp, taken before its hash, into `stamps` when given.
 */
export function inputHashes(
  job: Pick<CacheJob, "reads" | "writes">,
  baseDir: string,
  stamps?: InputStamps,
  skip?: (rel: string) => boolean,
): Record<string, string | null> {
  // No prototype: a file named `__proto__` is an input like any other (on Bun, `{}[p] = x` with
  // that name set no property, and the file was in no key).
  const out: Record<string, string | null> = Object.create(null);
  for (const p of inputPaths(job, baseDir)) {
    if (skip?.(p)) continue;
    const st = stamp(baseDir, p);
    stamps?.set(p, st);
    out[p] = st ? hashFile(baseDir, p) + (executable(join(baseDir, p)) ? "+x" : "") : null;
  }
  return out;
}

/**
 * Whether the file at `abs` has an executable bit: a script's (which git
 * keeps) decides whether `./gen.sh` runs, and `cp` gives it to its copy.
 */
function executable(abs: string): boolean {
  try {
    return (statSync(abs).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * The inputs whose stamp is not what `stamps` holds (edited, made or removed
 * since the key was computed: a job's outputs then may come from other
 * content than its key says), and the inputs `job` has now that the key had
 * not (a file that started matching a read glob, or appeared in a folder it
 * reads).
 */
export function changedInputs(
  stamps: InputStamps,
  baseDir: string,
  job: Pick<CacheJob, "reads" | "writes">,
  skip?: (rel: string) => boolean,
): string[] {
  // One walk of the reads: each input stamped again, and what started to match one meanwhile
  // (a new input, unless the job made it).
  const changed = changedSince(stamps, expandStamped(job.reads, baseDir), namedByAny(job.writes));
  return skip ? changed.filter((p) => !skip(p)) : changed;
}

/**
 * Whether a path (relative to `baseDir`) is the local store's folder or in
 * it. The store is jx's own, as `.jx` is: no job's input (a job reading `.`
 * with the store in `.ci-cache/jx` had another key after every store, and
 * never a hit) and no job's output (a store inside a job's `writes`,
 * `node_modules/.cache/jx` beside an install job writing `node_modules`,
 * was stored into the job's entry, and removed by its restore as a stale
 * file). A store not made yet (a first run) is where it will be.
 *
 * @example
 * ```ts
 * import { storeUnder } from "./key.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const inStore = storeUnder("/nowhere/p/.cache/jx", "/nowhere/p");
 * assertEquals([inStore(".cache/jx/blobs/ab"), inStore(".cache"), inStore("src/a")], [true, false, false]);
 * ```
 */
export function storeUnder(storeDir: string, baseDir: string): (rel: string) => boolean {
  const real = (p: string): string | null => {
    try {
      return realpathSync(p);
    } catch {
      const up = dirname(p);
      const at = up === p ? null : real(up);
      return at === null ? null : join(at, basename(p));
    }
  };
  const store = real(resolve(storeDir)), base = real(resolve(baseDir));
  if (store === null || base === null) return () => false;
  const rel = relative(base, store).split(sep).join("/");
  if (rel === "" || rel === ".." || rel.startsWith("../") || isAbsolute(rel)) return () => false;
  return (p) => p === rel || p.startsWith(rel + "/");
}

/** Whether `path` is one of what `job` writes (its `writes`, `@names` aside). */
export function writtenBy(job: Pick<CacheJob, "writes">, path: string): boolean {
  return job.writes.some((w) => w[0] !== "@" && resourceNames(w, path));
}

/**
 * Where `job` runs, as its key says it: this machine's `os/arch`, or, for a
 * job the Slurm executor runs, the options that pick its nodes (partition,
 * gres, more `srun` options): the submitting machine's platform says nothing
 * of theirs, and a cluster's partitions may differ (x86-64, ARM, GPUs).
 *
 * @example
 * ```ts
 * import { platformOf } from "./key.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(platformOf({}, { platform: "linux/x64" }), "linux/x64");
 * assertEquals(
 *   platformOf({ slurm: { partition: "arm" } }, { executor: "slurm" }),
 *   'slurm:["arm",""]',
 * );
 * ```
 */
export function platformOf(
  job: Pick<CacheJob, "executor" | "slurm">,
  ctx: Pick<KeyContext, "platform" | "executor">,
): string {
  if ((job.executor ?? ctx.executor) !== "slurm") return ctx.platform ?? platformArch();
  const s = job.slurm ?? {};
  return `slurm:${JSON.stringify([s.partition ?? "", s.gres ?? "", ...s.args ?? []])}`;
}

/** The key's parts for `job` (reads the disk and the environment); inputs' stamps into `stamps`. */
export function keyParts(job: CacheJob, ctx: KeyContext, stamps?: InputStamps): KeyParts {
  const own = typeof job.cache === "object" ? job.cache : {};
  const file = job.fileCache;
  const named = [ctx.settings?.env, file?.env, own.env, job.envFromProcess].flatMap((n) => n ?? []);
  const names = [...new Set(named)].sort();
  const penv = ctx.processEnv ?? envObject();
  const passEnv: Record<string, string | null> = Object.create(null);
  for (const n of names) {
    // Own values only: Bun's environment object answers `toString`, `__proto__` with its prototype's.
    const v = Object.hasOwn(penv, n) ? penv[n] : undefined;
    passEnv[n] = typeof v === "string" ? sha256(v) : null;
  }
  return {
    version: CACHE_FORMAT_VERSION,
    platform: platformOf(job, ctx),
    command: job.argv,
    cwd: relative(ctx.baseDir, job.cwd) || ".",
    // What jx gives every job besides: JX_JOB (JX_RUN_ID and JX_CTL differ on every run).
    env: sorted({ ...job.env, JX_JOB: job.name }),
    vars: sorted(ctx.vars),
    passEnv,
    inputs: inputHashes(
      job,
      ctx.baseDir,
      stamps,
      ctx.store === undefined ? undefined : storeUnder(ctx.store, ctx.baseDir),
    ),
    writes: job.writes,
    // An included file's salt between the root's and the job's (none: the same key as before).
    salt: [ctx.settings?.salt, ...(file ? [file.salt] : []), own.salt].map((x) => x ?? "")
      .join("\0"),
  };
}

/** The key: SHA-256 hex of the parts in a fixed order. */
export function keyOf(parts: KeyParts): string {
  return sha256(JSON.stringify([
    parts.version,
    parts.platform,
    parts.command,
    parts.cwd,
    parts.env,
    parts.vars,
    parts.passEnv,
    parts.inputs,
    parts.writes,
    parts.salt,
  ]));
}

/**
 * The parts as a store keeps them (an entry's, a job's last key for `jx
 * explain`): each value of `env` (a dotenv file's secret) and of `vars` (one
 * given on the command line) as its SHA-256, as `passEnv` holds them from
 * the start. Compare a job's parts now with stored ones in this form.
 *
 * @example
 * ```ts
 * import { type KeyParts, storedParts } from "./key.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const p = { env: { TOKEN: "s3cret" }, vars: { V: "" } } as unknown as KeyParts;
 * const s = storedParts(p);
 * assertEquals(s.env.TOKEN.length, 64);
 * assertEquals(JSON.stringify(s).includes("s3cret"), false);
 * ```
 */
export function storedParts(p: KeyParts): KeyParts {
  return hashValues(p, () => false);
}

/**
 * Parts read back from a store, in `storedParts`' form: a store written
 * before values were kept as hashes holds them as they were, so a value that
 * is no SHA-256 (64 hex digits) is hashed here (for a comparison only).
 */
export function asStored(p: KeyParts): KeyParts {
  return hashValues(p, (v) => /^[0-9a-f]{64}$/.test(v));
}

/** `p` with each value of `env` and `vars` as its SHA-256, but those `hashed` says are one. */
function hashValues(p: KeyParts, hashed: (v: string) => boolean): KeyParts {
  const each = (t: Record<string, string>) =>
    Object.fromEntries(Object.entries(t).map(([k, v]) => [k, hashed(v) ? v : sha256(v)]));
  return { ...p, env: each(p.env), vars: each(p.vars) };
}

/** Whether `x` has the shape of `KeyParts` (a store's bytes are not trusted). */
export function isKeyParts(x: unknown): x is KeyParts {
  const p = x as KeyParts;
  const table = (t: unknown) => !!t && typeof t === "object" && !Array.isArray(t);
  return !!p && typeof p.version === "number" && typeof p.platform === "string" &&
    Array.isArray(p.command) && typeof p.cwd === "string" && table(p.env) && table(p.vars) &&
    table(p.passEnv) && table(p.inputs) && Array.isArray(p.writes) && typeof p.salt === "string";
}

/** One line per difference between two keys' parts (what changed from `old` to `now`). */
export function diffParts(old: KeyParts, now: KeyParts): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  for (const k of ["version", "platform", "command", "cwd", "writes", "salt"] as const) {
    if (!same(old[k], now[k])) {
      out.push(`${k}: ${JSON.stringify(old[k])} -> ${JSON.stringify(now[k])}`);
    }
  }
  for (const k of ["env", "vars", "passEnv", "inputs"] as const) {
    const a = old[k] as Record<string, unknown>, b = now[k] as Record<string, unknown>;
    for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!Object.hasOwn(a, name)) out.push(`${k} ${name}: added`);
      else if (!Object.hasOwn(b, name)) out.push(`${k} ${name}: removed`);
      else if (!same(a[name], b[name])) out.push(`${k} ${name}: changed`);
    }
  }
  return out;
}
