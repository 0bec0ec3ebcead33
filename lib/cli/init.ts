/**
 * `jx init`: writes a starter jobs file that runs as is, and the JSON schema
 * its first line points editors at.
 *
 * @module
 */
import { existsSync, lstatSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ioReason, JxInputError, usageError } from "../runtime/errors.ts";
import { toJsonSchema } from "../graph/schema.ts";
import { writeAll } from "../runtime/mod.ts";
import type { Args } from "./args.ts";

/**
 * Where `jx init` writes the schema, relative to the jobs file's directory:
 * beside it, to be committed with it (not in `.jx/`, which people keep out of
 * version control).
 */
export const SCHEMA_PATH = "jobs.schema.json";

/** The title of jx's schema: a file that has it is ours to refresh. */
const SCHEMA_TITLE = "jx jobs file";

/**
 * The starter jobs file: plain shell steps (no compiler needed) with the
 * shape of a small build: two generated headers made together, a step that
 * reads both, a test that reads what that wrote.
 *
 * @example
 * ```ts
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { STARTER } from "./init.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const graph = parseJobsFile(STARTER, "jobs.yaml");
 * assertEquals(graph.jobs.map((j) => j.name), ["setup", "config", "version", "bundle", "test"]);
 * ```
 */
export const STARTER = `# yaml-language-server: $schema=./${SCHEMA_PATH}
# A starter jobs file, written by \`jx init\`. Try:
#   jx run            run every job (config and version run together)
#   jx run -n test    what 'test' needs, in order, without running it
#   jx graph          the derived graph; every edge says why it exists
# Order comes from needs and from what jobs read and write, in file order.
version: 1
vars:
  OUT: build
env:
  LC_ALL: C
jobs:
  setup:
    description: Create the output directory
    run: mkdir -p \${OUT}
    writes: ["\${OUT}"]
  config:
    description: Generate config.h (after setup, which writes the directory)
    run: printf '#define GREETING "hello from jx"\\n' > \${OUT}/config.h
    writes: ["\${OUT}/config.h"]
  version:
    description: Generate version.h (alongside config)
    run: printf '#define VERSION "0.1.0"\\n' > \${OUT}/version.h
    writes: ["\${OUT}/version.h"]
  bundle:
    description: Bundle the headers (after config and version)
    run: cat \${OUT}/config.h \${OUT}/version.h > \${OUT}/bundle.h
    reads: ["\${OUT}/config.h", "\${OUT}/version.h"]
    writes: ["\${OUT}/bundle.h"]
  test:
    description: Check the bundle
    run: grep -q 'hello from jx' \${OUT}/bundle.h && echo "test passed"
    reads: ["\${OUT}/bundle.h"]
    timeout: 10s
`;

/**
 * `jx init [-f FILE]`: writes the starter file (default `jobs.yaml`) and the
 * schema; exit 2, writing nothing, if the file (or, for a `jobs.yaml`, a
 * `jobs.yml` beside it, which it would stand in front of) already exists.
 */
export function cmdInit(args: Args): number {
  if (args.names.length) throw usageError("init", `unexpected argument '${args.names[0]}'`);
  const file = args.file ?? "jobs.yaml";
  // A jobs.yaml beside a jobs.yml takes its place for every bare `jx run` there, -f or not.
  const others = basename(file) === "jobs.yaml" ? [file, join(dirname(file), "jobs.yml")] : [file];
  for (const f of others) {
    if (taken(f)) {
      throw new JxInputError(
        `${f} already exists; not overwriting it (remove it, or use jx init -f OTHER.yaml)`,
      );
    }
  }
  const dir = dirname(resolve(file));
  if (!existsSync(dir)) throw new JxInputError(`${dirname(file)}: no such directory`);
  if (!statSync(dir).isDirectory()) throw new JxInputError(`${dirname(file)}: not a directory`);
  // Beside the file, named as the file is (from the working directory): `-f sub/x.yaml` writes
  // sub/jobs.schema.json, and says so.
  const schema = join(dirname(file), SCHEMA_PATH);
  if (taken(schema) && !isOurSchema(schema)) {
    throw new JxInputError(
      `${schema} exists and is not jx's schema; not overwriting it (move it away first)`,
    );
  }
  write(schema, JSON.stringify(toJsonSchema(), null, 2) + "\n");
  write(file, STARTER, "wx");
  const run = args.file ? `jx run -f ${file}` : "jx run";
  writeAll(1, `wrote ${file} (and ${schema}, its schema for editors); try: ${run}\n`);
  return 0;
}

/**
 * Whether `path` names anything, a link to nowhere too: `existsSync` follows links, and writing
 * through a dangling one would create its target wherever it points.
 */
function taken(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes `text` to `path`; a failure (a read-only folder...) is one line, `PATH: reason`. */
function write(path: string, text: string, flag = "w"): void {
  try {
    writeFileSync(path, text, { flag });
  } catch (e) {
    throw new JxInputError(`${path}: cannot write: ${ioReason(e)}`);
  }
}

/** Whether the file at `path` is a schema jx wrote (an older one is refreshed). */
function isOurSchema(path: string): boolean {
  try {
    return JSON.parse(readFileSync(path, "utf8"))?.title === SCHEMA_TITLE;
  } catch {
    return false;
  }
}
