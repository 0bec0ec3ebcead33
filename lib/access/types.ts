/**
 * What a tracer records and what the comparison reports: the types shared by
 * the parts of `lib/access/`.
 *
 * @module
 */

/**
 * What a process did to a path: `read` (opened for reading), `write`
 * (created, opened for writing, truncated, the target of a rename or a link,
 * a directory made), `delete` (unlinked, a directory removed, the source of a
 * rename), `exec` (executed).
 */
export type AccessKind = "read" | "write" | "delete" | "exec";

/**
 * One recorded access.
 *
 * @example
 * ```ts
 * import type { Access } from "./types.ts";
 * const a: Access = { path: "/p/src/a.h", kind: "read", pid: 42, ok: true };
 * ```
 */
export interface Access {
  /**
   * Absolute, normalized: `.` folded, a `..` taken after the links before
   * it as the kernel does, other links not followed; a byte that is no
   * UTF-8 as the character U+10FF00 + byte (`decodeBytes`).
   */
  path: string;
  kind: AccessKind;
  /** The process that made the call. */
  pid: number;
  /** False when the call failed (a probe of an absent file, say). */
  ok: boolean;
  /** The call opened or made a directory (a listing, `mkdir`), not a file's contents. */
  dir?: boolean;
  /**
   * The file a symbolic link on the named path led to (what the opened
   * descriptor is), noted beside the named path: it counts when two jobs
   * meet on one file (a race, an unordered read), not against the job's own
   * `reads`/`writes`, which name the link.
   */
  alias?: boolean;
  /**
   * On the `write` of a rename's new name: the old name (absolute, as
   * `path`). What the job made below a renamed folder moved with it.
   */
  from?: string;
}

/**
 * One job's run under a tracer: the argv to spawn in place of the job's,
 * and how to collect what its processes did once it has exited.
 */
export interface TracedRun {
  /** The argv to spawn (the tracer wrapping the job's own). */
  argv: string[];
  /** Environment to add to the job's. */
  env: Record<string, string>;
  /**
   * The accesses, in the order the processes made them; call once, after
   * the exit. Undefined when nothing was traced (the tracer could not start
   * or attach): what the job touched is unknown, not nothing.
   */
  collect(): Access[] | undefined;
  /** Frees what the run holds without reading it (the job never ran); instead of `collect`. */
  discard?(): void;
  /**
   * What the tracer could not see in the run, one sentence each (no
   * newline): accesses it could not name, calls it cannot follow. Asked
   * after `collect`.
   */
  notes?(): string[];
}

/**
 * A mechanism that records the files a job's processes touch. `strace`
 * (ptrace) is the one jx has; fanotify or a seccomp user-notification
 * listener would implement the same interface (see docs/lint.md).
 */
export interface Tracer {
  /** A short name for messages (`strace`). */
  readonly name: string;
  /** Wraps a job's argv (started in `cwd`) so that its processes are recorded. */
  wrap(argv: string[], cwd: string): TracedRun;
  /** Removes what the tracer kept on disk (its temporary folder). */
  close(): void;
}

/** Which rule a finding breaks. */
export type Problem =
  /** A file read (or executed) that no `reads` pattern names. */
  | "undeclared-read"
  /** A file written or deleted that no `writes` pattern names. */
  | "undeclared-write"
  /** Two jobs write the same file with no order between them. */
  | "race"
  /** A job reads a file another job writes, with no order between them. */
  | "unordered-read"
  /** `jx sh --check-access`: a command read a file its derivation does not name. */
  | "underived-read"
  /** `jx sh --check-access`: a command wrote or deleted a file its derivation does not name. */
  | "underived-write"
  /** `jx sh --check-access`, informational: a derived read the command never made. */
  | "unused-read"
  /** `jx sh --check-access`, informational: a derived write the command never made. */
  | "unused-write";

/**
 * One difference between what a job did and what it declares.
 *
 * @example
 * ```ts
 * import type { Finding } from "./types.ts";
 * const f: Finding = {
 *   job: "cc", path: "src/util.h", access: "read", problem: "undeclared-read",
 *   suggest: "reads: [src/*.h]",
 * };
 * ```
 */
export interface Finding {
  job: string;
  /** Relative to the jobs file's folder. */
  path: string;
  access: AccessKind;
  problem: Problem;
  /** The other job of a race or an unordered read. */
  other?: string;
  /** An edit to the job's entry that removes the finding, in YAML (`reads: [src/*.h]`). */
  suggest: string;
}
