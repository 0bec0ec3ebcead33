/**
 * `include:`: a jobs file that takes in others (a monorepo's
 * `packages/*\/jobs.yaml`). Each included file is a unit with a namespace:
 * its folder relative to the root jobs file's (`packages/a`), or, for a file
 * in the root's own folder, its name without extension (`ci.yaml`: `ci`).
 * Its jobs are named `NAMESPACE:job` (`packages/a:build`, and
 * `packages/a:cc[x.c]` for a `foreach` item); its paths are relative to its
 * own folder and become relative to the root's.
 *
 * @module
 */
import { basename, dirname, join, leavesFolder, relative, resolve } from "../runtime/path.ts";
import { JxInputError, type Pos } from "./errors.ts";
import { globFiles, globProblem, isGlob } from "./glob.ts";
import { normalizeResource } from "./spec.ts";

/** Where a unit sits: its namespace, its folder, how it was reached. */
export interface Place {
  /** `""` for the root file; else the namespace its jobs' names start with (before `:`). */
  ns: string;
  /** Its folder relative to the root's (`""` for the root's own): what its paths get before them. */
  prefix: string;
  /** The files that included it, root first, absolute (an include cycle is refused). */
  stack: string[];
  /** The root jobs file's folder, absolute. */
  rootDir: string;
  /** The root jobs file as the user named it (what shown paths start from). */
  rootFile: string;
}

/** An included file found by one `include` item. */
export interface Included {
  /** Absolute path. */
  abs: string;
  /** As messages show it (beside the root file as the user named it). */
  shown: string;
  /** Where it sits. */
  place: Place;
  /** The index of the `include` item that named it. */
  item: number;
}

/** The namespace of the included file `abs`. */
export function namespaceOf(rootDir: string, abs: string): string {
  const dir = relative(rootDir, dirname(abs));
  if (dir !== "") return dir;
  const name = basename(abs);
  const dot = name.indexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

/**
 * The files the `include` items of one unit name, in item order, each
 * item's matches sorted. `items[i]` is the item after `${VAR}` substitution;
 * `at(i)` its position in `file` (the including file, as shown).
 */
export function includedFiles(
  items: string[],
  at: (i: number) => Pos | undefined,
  file: string,
  from: { abs: string; place: Place },
): Included[] {
  const dir = dirname(from.abs);
  const out: Included[] = [];
  items.forEach((raw, i) => {
    const fail = (msg: string): never => {
      throw new JxInputError(`include[${i}]: ${msg}`, file, at(i));
    };
    const pattern = normalizeResource(raw);
    if (pattern.startsWith("/")) fail(`'${raw}': an absolute path (give it relative to this file)`);
    const problem = isGlob(pattern) ? globProblem(pattern) : undefined;
    if (problem) fail(`bad glob '${raw}': ${problem}`);
    const glob = isGlob(pattern);
    const files = glob ? globFiles(pattern, dir) : [pattern];
    for (const f of files) {
      const abs = resolve(dir, f);
      const rel = relative(from.place.rootDir, abs);
      if (leavesFolder(rel)) {
        fail(
          `'${f}' is outside the root jobs file's folder, below which its jobs would be named ` +
            "(run jx from a folder above both, whose jobs file includes them)",
        );
      }
      const circular = abs === from.abs || from.place.stack.includes(abs);
      // A glob's match that is this file or one that includes it (`**\/jobs.yaml` at the root,
      // `../*\/jobs.yaml` in a package) is passed over: the glob names the others.
      if (circular && glob) continue;
      if (circular) {
        const chain = [...from.place.stack, from.abs, abs].map((p) =>
          relative(from.place.rootDir, p)
        );
        fail(`include cycle: ${chain.join(" -> ")}`);
      }
      const ns = namespaceOf(from.place.rootDir, abs);
      // Its jobs are named `NS:job` (`@acme/api:build` too): `-x.yaml` made `-x:b`, which the
      // command line takes for an option, however written.
      if (ns.startsWith("-")) {
        fail(
          `'${relative(dir, abs)}': its namespace '${ns}' starts with '-' (its jobs could not be ` +
            "named on the command line): rename the file or its folder",
        );
      }
      out.push({
        abs,
        shown: join(dirname(from.place.rootFile), rel),
        place: {
          ns,
          prefix: relative(from.place.rootDir, dirname(abs)),
          stack: [...from.place.stack, from.abs],
          rootDir: from.place.rootDir,
          rootFile: from.place.rootFile,
        },
        item: i,
      });
    }
  });
  return out;
}
