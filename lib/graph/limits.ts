/**
 * Limits that stop a hostile or mistaken jobs file before time or memory run
 * away: nesting depth, what YAML aliases expand to, the length of a
 * substituted value and the number of jobs. Each is documented in
 * docs/jobs-file.md ("Limits"); going past one is a `FILE:LINE:COL` error.
 *
 * Also the YAML front end's entry (`parseYaml`): the fast front end
 * (fast_yaml.ts), else the `yaml` package with these limits (yaml_full.ts).
 *
 * @module
 */
import type { Document } from "../runtime/yaml.ts";
import type { LineCounter } from "../runtime/yaml_light.ts";
import { JxInputError } from "./errors.ts";
import { fastYaml } from "./fast_yaml.ts";
import { globProblem } from "./glob.ts";
import type { JobSpec } from "./types.ts";
import type { PosMap } from "./validate.ts";

/** Collections nested deeper than this are an error (a jobs file needs about 6). */
export const MAX_DEPTH = 64;
/** At most this many YAML nodes added by aliases (`*name`, `<<: *name`) in all. */
export const MAX_ALIAS_NODES = 200_000;
/** The longest value after `${NAME}` substitution (Linux's limit on one argument is 128 KiB). */
export const MAX_VALUE_LENGTH = 128 * 1024;
/** The longest jobs file read (100,000 ordinary jobs take 10 MB; a pipe that never ends stops here). */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
/** At most this many jobs and modules in a file, after `foreach`. */
export const MAX_JOBS = 200_000;

let useFastYaml = true;

/** Turns the fast front end (`fast_yaml.ts`) off or on: tests compare both. */
export function setFastYaml(on: boolean): void {
  useFastYaml = on;
}

/**
 * Parses YAML text into a document with positions, as `parseDocument` with
 * `merge: true` and unique keys would, within the limits above; a syntax
 * error or a limit passed throws its `FILE:LINE:COL` error. The subset jobs
 * files are made of goes through the fast front end; anything else through
 * the `yaml` package (graph/yaml_full.ts), which must have been loaded
 * (`fullParserLoaded`): otherwise `NeedYamlPackage` is thrown, and the
 * caller loads it (an `await import`) and parses again.
 */
export function parseYaml(text: string, file: string, lines: LineCounter): Document.Parsed {
  const fast = useFastYaml ? fastYaml(text) : undefined;
  if (fast) {
    for (const s of fast.lineStarts) lines.addNewLine(s);
    return fast.doc;
  }
  if (!fullParser) throw new NeedYamlPackage();
  return fullParser(text, file, lines);
}

/**
 * One line of JSON-like YAML (a line an `emits: jobs` job wrote) parsed by
 * the fast front end, its root a flow collection; undefined when the line is
 * outside its subset, or the front end is off: then the `yaml` package's
 * `parseDocument` gives the same nodes.
 */
export function parseFlowLine(text: string, lines: LineCounter): Document.Parsed | undefined {
  const fast = useFastYaml ? fastYaml(text, true) : undefined;
  if (!fast) return undefined;
  for (const s of fast.lineStarts) lines.addNewLine(s);
  return fast.doc;
}

/** Thrown by `parseYaml` for a text the fast front end leaves to the `yaml` package, not loaded yet. */
export class NeedYamlPackage extends Error {
  constructor() {
    super("the yaml package is needed: import graph/yaml_full.ts, then parse again");
    this.name = "NeedYamlPackage";
  }
}

/** The `yaml` package's parse with jx's checks (graph/yaml_full.ts sets it when it loads). */
let fullParser: ((text: string, file: string, lines: LineCounter) => Document.Parsed) | undefined;

/** Sets the parser for what the fast front end leaves (graph/yaml_full.ts calls it). */
export function setFullParser(p: typeof fullParser): void {
  fullParser = p;
}

/** Whether texts outside the fast front end's subset can be parsed now. */
export function fullParserLoaded(): boolean {
  return fullParser !== undefined;
}

/**
 * Throws at the first malformed glob in a spec's `reads` or `writes` (an
 * unclosed `{` or `[`, a backwards range), at its position when known.
 */
export function checkResourceGlobs(spec: JobSpec, p: string, file: string, positions: PosMap) {
  for (const key of ["reads", "writes"] as const) {
    spec[key].forEach((r, i) => {
      const problem = r[0] === "@" ? undefined : globProblem(r);
      if (problem === undefined) return;
      const pos = positions.get(`${p}.${key}.${i}`) ?? positions.get(`${p}.${key}`);
      throw new JxInputError(`${p}.${key}[${i}]: bad glob '${r}': ${problem}`, file, pos);
    });
  }
}
