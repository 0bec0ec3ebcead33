/**
 * Jobs made while a run goes on: a line of an `emits: jobs` job's stdout
 * (one JSON object in the jobs-file schema, plus `name`), and the items of a
 * `foreach` glob deferred until the jobs writing its files have run. Each is
 * checked as a job of the file is, with a one-line error naming the line.
 *
 * @module
 */
import { type Document, LineCounter, parseDocument } from "../runtime/yaml.ts";
import { JxInputError } from "./errors.ts";
import { globFiles } from "./glob.ts";
import { itemVars, lostName } from "./foreach.ts";
import { checkResourceGlobs, MAX_DEPTH, MAX_JOBS, parseFlowLine } from "./limits.ts";
import { JOB_FIELDS, NAME_RE } from "./schema.ts";
import { isEntry, str } from "./read.ts";
import { buildSpec, type SpecContext, Substituter } from "./spec.ts";
import type { EmitContext, JobSpec } from "./types.ts";
import { PosMap, Validator } from "./validate.ts";

/** The keys of an emitted job: a job's, plus its `name` (no `foreach`, no `repeat`). */
const EMITTED_FIELDS = (() => {
  const { foreach: _f, repeat: _r, ...rest } = JOB_FIELDS;
  return {
    name: { kind: { t: "string" as const }, required: true, doc: "The job's name." },
    ...rest,
  };
})();

function specContext(ctx: EmitContext, file: string, positions: PosMap): SpecContext {
  return {
    file,
    positions,
    pools: new Map(Object.entries(ctx.pools)),
    fileEnv: ctx.env,
    baseDir: ctx.baseDir,
    vars: ctx.vars,
    executor: ctx.executor,
    envFromProcess: ctx.envFromProcess,
  };
}

/**
 * Why `text` is not a JSON object, in jx's words (the runtime's own JSON.parse message is V8's
 * on Deno, JavaScriptCore's on Bun); undefined when it is one.
 */
function notAnObject(text: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return "not valid JSON";
  }
  return isEntry(v) ? undefined : "not an object";
}

/**
 * A line's document: the fast front end's when the line is in its subset (most are: a
 * generator's lines are alike), else the `yaml` package's (its nodes are the same).
 */
function parsedLine(text: string, lines: LineCounter): Document.Parsed {
  return parseFlowLine(text, lines) ??
    parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
}

/**
 * Where in JSON text `text` the first `[` or `{` deeper than `MAX_DEPTH` levels is (its offset),
 * or undefined.
 *
 * @example
 * ```ts
 * import { tooDeep } from "./emit.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(tooDeep('{"a": ["[[["]}'), undefined);
 * assertEquals(tooDeep("[".repeat(100) + "]".repeat(100)), 64);
 * ```
 */
export function tooDeep(text: string): number | undefined {
  let depth = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[" || c === "{") {
      if (++depth > MAX_DEPTH) return i;
    } else if (c === "]" || c === "}") depth--;
  }
  return undefined;
}

/**
 * Parses one line an `emits: jobs` job wrote (or an object a library
 * parser returned) into a spec. Throws a `JxInputError` whose `format()`
 * reads `GEN stdout:LINE:COL: message` (`where`: what stands for `GEN
 * stdout`; an object's errors say column 1: it has no text of its own).
 * The spec's `index` is -1 until a plan takes it.
 *
 * @example
 * ```ts
 * import { parseEmittedJob } from "./emit.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const ctx = { file: "jobs.yaml", baseDir: "/p", env: {}, vars: {}, pools: {} };
 * const spec = parseEmittedJob('{"name": "cc-a", "run": "cc -c a.c", "writes": ["a.o"]}', 1, "gen", ctx);
 * assertEquals(spec.writes, ["a.o"]);
 * ```
 */
export function parseEmittedJob(
  line: string | Record<string, unknown>,
  lineNo: number,
  generator: string,
  ctx: EmitContext,
  where = `${generator} stdout`,
): JobSpec {
  const own = typeof line === "string";
  const lines = new LineCounter();
  let text = line;
  if (typeof text === "string") {
    const why = notAnObject(text);
    if (why) {
      throw new JxInputError(
        `expected a JSON object (a job), got ${
          text.length > 40 ? text.slice(0, 40) + "..." : text
        } (${why})`,
        where,
        { line: lineNo, col: 1 },
      );
    }
  } else text = JSON.stringify(text);
  const deep = tooDeep(text);
  if (deep !== undefined) {
    // As in a jobs file (the YAML parser would recurse once per level, to the stack's end).
    throw new JxInputError(`nested deeper than ${MAX_DEPTH} levels`, where, {
      line: lineNo,
      col: own ? deep + 1 : 1,
    });
  }
  const doc = parsedLine(text, lines);
  if (doc.errors[0]) {
    throw new JxInputError(`bad JSON: ${doc.errors[0].message}`, where, { line: lineNo, col: 1 });
  }
  const v = new Validator(where, lines, doc);
  try {
    const parsed: unknown = JSON.parse(text);
    const name0 = isEntry(parsed) ? parsed.name : undefined;
    const p = typeof name0 === "string" ? `jobs.${name0}` : "job";
    v.positions.set(`${p}#`, { line: 1, col: 1 });
    const j = v.object(doc.contents, EMITTED_FIELDS, p);
    const name = str(j, "name") ?? "";
    if (!NAME_RE.test(name)) {
      v.fail(
        `${p}.name: invalid name '${name}' (letters, digits and _ . : / + - ; starting with a letter, digit or _)`,
        null,
      );
    }
    const sc = specContext(ctx, where, v.positions);
    const sub = new Substituter(new Map(Object.entries(ctx.vars)), where, v.positions);
    const spec = buildSpec(sc, { name, kind: "job", j, sub, written: name, index: -1, p });
    checkResourceGlobs(spec, p, where, v.positions);
    spec.by = generator;
    return spec;
  } catch (e) {
    if (e instanceof JxInputError && e.pos) {
      // Positions are within the line: put them on the stdout line.
      throw new JxInputError(e.message, where, { line: lineNo, col: own ? e.pos.col : 1 });
    }
    throw e;
  }
}

/**
 * Expands a deferred `foreach` glob over the files on disk now: one spec per
 * file, named `group[file]`, as the loader would have made them; more than
 * `max` files (`MAX_JOBS`, the loader's limit) is an error.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "./load.ts";
 * import { expandDeferred } from "./emit.ts";
 * import { deepStrictEqual } from "node:assert";
 * const dir = Deno.makeTempDirSync();
 * const g = parseJobsFile(
 *   "jobs:\n  gen: { run: x, writes: [gen/] }\n  wc: { foreach: { glob: 'gen/*.txt', as: F }, run: 'wc ${F}' }\n",
 *   "j.yaml",
 *   { baseDir: dir },
 * );
 * Deno.mkdirSync(`${dir}/gen`);
 * // as gen would, once it has run
 * Deno.writeTextFileSync(`${dir}/gen/a.txt`, "a");
 * deepStrictEqual(expandDeferred(g.get("wc")).map((s) => s.command), ["wc gen/a.txt"]);
 * ```
 */
export function expandDeferred(group: JobSpec, max: number = MAX_JOBS): JobSpec[] {
  const d = group.deferred!;
  const sc = specContext(d.ctx, d.ctx.file, new PosMap());
  const base = new Substituter(new Map(Object.entries(d.ctx.vars)), d.ctx.file, new PosMap());
  const files = globFiles(d.glob, d.ctx.baseDir);
  const at = d.pos ?? group.pos;
  if (files.length > max) { // as at load: a glob there that matches more is refused
    const many = `matches ${files.length} files: more than ${max} jobs (the limit)`;
    throw new JxInputError(`jobs.${group.name}.foreach: ${many}`, d.ctx.file, at);
  }
  const lost = lostName(files, d.ctx.baseDir);
  if (lost) throw new JxInputError(`jobs.${group.name}.foreach: ${lost}`, d.ctx.file, at);
  return files.map((f) => {
    const name = `${group.name}[${f}]`;
    const sub = base.with(itemVars(d.as, f), true); // paths found on disk (see `with`)
    let spec: ReturnType<typeof buildSpec>;
    try {
      spec = buildSpec(sc, {
        name,
        kind: "job",
        j: d.job,
        sub,
        written: group.name,
        index: -1,
        p: `jobs.${group.name}`,
      });
    } catch (e) {
      // The item's fields have no place of their own (the file is not read again): its foreach's.
      if (!(e instanceof JxInputError)) throw e;
      throw new JxInputError(itemError(group.name, f, e.message), d.ctx.file, at);
    }
    spec.by = group.name;
    spec.pos = group.pos;
    return spec;
  });
}

/**
 * The message of an error of item `item` of the deferred `foreach` of `group` (`jobs.count`):
 * said at the `foreach`, naming the item.
 *
 * @example
 * ```ts
 * import { itemError } from "./emit.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(
 *   itemError("count", "data/a.csv", "jobs.count.env_file[0]: no such dotenv file"),
 *   "jobs.count.foreach: item 'data/a.csv' (job count[data/a.csv]): env_file[0]: no such dotenv file",
 * );
 * ```
 */
export function itemError(group: string, item: string, message: string): string {
  const own = `jobs.${group}.`;
  const what = message.startsWith(own) ? message.slice(own.length) : message;
  return `jobs.${group}.foreach: item '${item}' (job ${group}[${item}]): ${what}`;
}
