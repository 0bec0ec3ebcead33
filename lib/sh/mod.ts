/**
 * `jx sh`: a plain POSIX shell script run with its commands in parallel where
 * that is safe. Each top-level command becomes a job; what it reads and
 * writes comes from its redirections and the arguments of commands whose file
 * use is known; shell state changes are barriers whose state is carried to
 * later jobs; `&&`, `||`, `if` and loops expand the branch taken once the test
 * has ended; output appears in script order. See docs/sh.md.
 *
 * @example
 * ```ts
 * import { createReactor } from "../reactor/mod.ts";
 * import { parseScript, runScript } from "./mod.ts";
 * const reactor = createReactor("auto");
 * const code = await runScript(parseScript("sort a > a.s\nsort b > b.s\n"), {
 *   reactor,
 *   jobs: 2,
 *   argv0: "inline.sh",
 *   cwd: "/tmp",
 *   env: { PATH: "/usr/bin:/bin" },
 *   write: () => {},
 * });
 * reactor.close();
 * ```
 *
 * @module
 */
export {
  type HereDoc,
  type Item,
  literalOf,
  MAX_NESTING,
  nodeText,
  type ParseResult,
  parseScript,
  type Redir,
  type ShNode,
  type ShSyntaxError,
  type Span,
  walk,
  type Word,
  type WordPart,
} from "./parse.ts";
export {
  type Access,
  conflicts,
  deriveAccess,
  type DeriveContext,
  heredocRisk,
  jobAccess,
  normalize,
  type PathRef,
  type Resolver,
  resolveWord,
} from "./derive.ts";
export { fallbackReason, type ShJob, ShPlan, type ShPlanOptions, type StartInfo } from "./plan.ts";
export {
  type Dump,
  initialState,
  jobScript,
  parseDump,
  type PreludeOptions,
  shQuote,
  type ShState,
} from "./state.ts";
export { GRACE_MS as SH_GRACE_MS, runScript, type ShRunOptions } from "./run.ts";
export { formatGraph, type GraphRow, graphRows } from "./graph.ts";
export { cmdSh, loadScript, type ShCommand } from "./cli.ts";
