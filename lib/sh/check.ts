/**
 * `jx sh --check-access`: every command runs under the access tracer
 * (lib/access's `TracingRunner`); at the end of each command whose reads
 * and writes jx sh derived (`derive.ts`), what its processes did is
 * compared with the derivation. A file read or written that the derivation
 * does not name is a finding: the order jx sh gave the command may be
 * wrong. A derived path the command never touched is informational (less
 * parallelism than possible). Commands that may touch any file, barriers and
 * the rest of a script run as one sh wait for everything: nothing to check.
 *
 * @module
 */
import { statSync } from "node:fs";
import { posix } from "node:path";
import {
  type Access as Traced,
  changed,
  type Finding,
  findingLine,
  FindingReport,
  type Tracer,
  TracingRunner,
  usesOf,
} from "../access/mod.ts";
import {
  type Reporter,
  type RunHandle,
  type Runner,
  type RunRequest,
  type RunSink,
  WrappingRunner,
} from "../scheduler/mod.ts";
import { type Access, conflicts, EMPTY, normalize, type PathRef } from "./derive.ts";
import { escapeControls } from "../runtime/mod.ts";
import type { ShJob } from "./plan.ts";
import type { ShRunCheck } from "./run.ts";

/** How `ShAccessCheck` is set up. */
export interface ShCheckOptions {
  /** The script as named on the command line: findings say `SCRIPT:LINE:COL`. */
  script: string;
  /** jx sh's working directory: paths outside it are not reported, paths are relative to it. */
  root: string;
  tracer: Tracer;
  /** Globs (relative to `root`) never reported, on top of lib/access's DEFAULT_IGNORE. */
  ignore?: string[];
  /** The run's clock (the reactor), for the events' `t`. */
  clock: { now(): number };
  /** Where the console lines go (default: stdout). */
  print?: (text: string) => void;
  /** Also print the informational findings (`unused-read`, `unused-write`); `-v`. */
  verbose?: boolean;
}

/** What was derived for one command when it started. */
interface Expected {
  access: Access;
  /** The directory its derived paths are relative to. */
  cwd: string;
}

/** The fix of a command whose derivation missed a file: barriers around it. */
const SUGGEST = "wait before and after it";

/** Whether a finding is informational (never counted, printed only with `-v`). */
const informational = (f: Finding) => f.problem === "unused-read" || f.problem === "unused-write";

/**
 * One checked `jx sh` run: the runner to use, the hook `runScript` calls as
 * each command starts, the reporter of its findings, and their count for
 * `--strict`.
 *
 * @example
 * ```ts
 * import { ShAccessCheck } from "./check.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { StraceTracer } from "../access/mod.ts";
 * const check = new ShAccessCheck({
 *   script: "build.sh",
 *   root: "/src",
 *   tracer: new StraceTracer(),
 *   clock: performance,
 * });
 * assertEquals(check.problems, 0);
 * ```
 */
export class ShAccessCheck implements ShRunCheck {
  private expected = new Map<string, Expected>();
  private pos = new Map<string, { line: number; col: number }>();
  private report: FindingReport;
  /** Absolute folders never reported: jx sh's own temporaries. */
  private skip: string[] = [];

  constructor(private o: ShCheckOptions) {
    this.report = new FindingReport({
      clock: o.clock,
      print: o.print,
      line: (f) => this.line(f),
      sort: (fs) => fs.sort((a, b) => this.rank(a) - this.rank(b) || cmp(a.path, b.path)),
      shown: (f) => !!o.verbose || !informational(f),
    });
  }

  /** Findings that count (`--strict`): files the derivation missed. */
  get problems(): number {
    return this.report.findings.filter((f) => !informational(f)).length;
  }

  /** Every finding, informational ones included, in the order found. */
  get findings(): Finding[] {
    return this.report.findings;
  }

  /** The reporter to put first among the run's reporters (it sends the events to the rest). */
  reporter(all: Reporter[]): Reporter {
    return this.report.reporter(all);
  }

  /**
   * `inner`, with the commands to compare started under the tracer; the
   * others (barriers, commands that may touch any file, the rest of a
   * script, which may leave background commands behind that strace would
   * wait for) start on `inner` as without the check.
   */
  runner(inner: Runner): Runner {
    const traced = new TracingRunner(inner, this.o.tracer, (spec, accesses) => {
      this.ended(spec.name, accesses);
    });
    return new SomeTraced(inner, traced, (name) => this.expected.has(name));
  }

  ignoreUnder(dir: string): void {
    this.skip.push(dir);
  }

  starting(job: ShJob, cwd: string): void {
    const a = job.access;
    this.pos.set(job.name, { line: job.node.span.line, col: job.node.span.col });
    if (job.rest || !a || a.all || a.barrier || a.fallback) return;
    this.expected.set(job.name, { access: a, cwd });
  }

  /** A command's process exited: its accesses against what was derived. */
  private ended(name: string, all: Traced[]): void {
    const e = this.expected.get(name);
    if (!e) return;
    this.expected.delete(name);
    const accesses = all.filter((a) => !this.skip.some((d) => under(a.path, d)));
    for (const f of [...this.missed(name, e, accesses), ...this.unused(name, e, accesses)]) {
      this.report.add(f);
    }
  }

  /** Files the command read or changed that its derivation does not name. */
  private missed(job: string, e: Expected, accesses: Traced[]): Finding[] {
    const { reads, writes } = e.access;
    const out: Finding[] = [];
    for (const [path, u] of usesOf(accesses, { root: this.o.root, ignore: this.o.ignore })) {
      const abs = posix.join(this.o.root, path);
      if (u.read && !covers([...reads, ...writes], abs, e.cwd) && !isDir(abs)) {
        out.push({ job, path, access: u.read, problem: "underived-read", suggest: SUGGEST });
      }
      if (changed(u) && !covers(writes, abs, e.cwd)) {
        const access = u.wrote ? "write" : "delete";
        out.push({ job, path, access, problem: "underived-write", suggest: SUGGEST });
      }
    }
    return out;
  }

  /** Derived paths (not patterns) inside the root that no access of the command touched. */
  private unused(job: string, e: Expected, accesses: Traced[]): Finding[] {
    const out: Finding[] = [];
    const kinds = [["read", e.access.reads], ["write", e.access.writes]] as const;
    for (const [access, refs] of kinds) {
      for (const ref of refs) {
        if (ref.glob) continue;
        const abs = normalize(ref.path, e.cwd);
        const path = posix.relative(this.o.root, abs);
        if (!path || path === ".." || path.startsWith("../")) continue;
        if (accesses.some((a) => under(a.path, abs))) continue;
        if (!usesOf([{ path: abs, kind: "read", pid: 0, ok: true }], this.o).size) continue;
        const problem = access === "read" ? "unused-read" : "unused-write";
        out.push({ job, path, access, problem, suggest: "" });
      }
    }
    return out;
  }

  private rank(f: Finding): number {
    const p = this.pos.get(f.job);
    return p ? p.line * 10_000 + p.col : Number.MAX_SAFE_INTEGER;
  }

  private line(f: Finding): string {
    const p = this.pos.get(f.job);
    const where = p ? `${this.o.script}:${p.line}:${p.col}: ` : "";
    return findingLine(where, `command '${escapeControls(f.job)}'`, f);
  }
}

/** Starts the jobs `wanted` says on `traced`, the others on `inner` (capacity: `inner`'s). */
class SomeTraced extends WrappingRunner {
  readonly name: string;

  constructor(inner: Runner, private traced: Runner, private wanted: (job: string) => boolean) {
    super(inner);
    this.name = traced.name;
  }

  start(req: RunRequest, sink: RunSink): RunHandle {
    return (this.wanted(req.spec.name) ? this.traced : this.inner).start(req, sink);
  }
}

/** Whether a derived path or pattern names `abs` (or a folder above it, or one below it). */
function covers(refs: PathRef[], abs: string, cwd: string): boolean {
  const one: Access = { ...EMPTY(), writes: [{ path: abs, glob: false }] };
  return conflicts(one, { ...EMPTY(), reads: refs }, cwd) !== undefined;
}

/** `path` is `dir` or lies below it. */
function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : dir + "/");
}

function isDir(abs: string): boolean {
  try {
    return statSync(abs).isDirectory();
  } catch {
    return false;
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
