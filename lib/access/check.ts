/**
 * A checked run (`jx lint`, `jx run --check-access`): the tracing runner,
 * the comparison as each job ends, `access.finding` events, the console
 * lines at the run's end, and the findings remembered in `.jx/`.
 *
 * @module
 */
import type { Graph, JobSpec } from "../graph/mod.ts";
import type { Reactor } from "../reactor/mod.ts";
import {
  LocalRunner,
  type Reporter,
  type RunEvent,
  type Runner,
  type Slots,
} from "../scheduler/mod.ts";
import { escapeControls, writeAll } from "../runtime/mod.ts";
import { Checker, inFileOrder } from "./compare.ts";
import { Remembered } from "./remembered.ts";
import { RAW_BYTE, RAW_BYTE_BASE } from "./strace_parse.ts";
import { fileIgnore } from "./ignore.ts";
import { TracingRunner } from "./runner.ts";
import type { Access, Finding, Tracer } from "./types.ts";

/** How a checked run is set up. */
export interface CheckOptions {
  graph: Graph;
  tracer: Tracer;
  /** Globs never reported (the jobs file's `lint.ignore`, `--ignore`). */
  ignore: string[];
  /** Where each job's findings are kept (none: not kept). */
  remembered?: Remembered;
  /** The run's clock (the reactor), for the events' `t`. */
  clock: { now(): number };
  /** Where the console lines go (default: stdout). */
  print?: (text: string) => void;
}

/** What a finding's line says after the path, by rule. */
function problemText(f: Finding): string {
  switch (f.problem) {
    case "undeclared-read":
      return "not in its reads";
    case "undeclared-write":
      return "not in its writes";
    case "race":
      return `as '${escapeControls(f.other ?? "")}' does, with no order between them`;
    case "unordered-read":
      return `which '${escapeControls(f.other ?? "")}' writes, with no order between them`;
    case "underived-read":
    case "underived-write":
      return "which jx sh did not derive: the order it ran in may be wrong";
    case "unused-read":
    case "unused-write":
      return "derived but never touched (harmless: less parallelism than possible)";
    default: {
      const _assertNever: never = f.problem;
      return _assertNever;
    }
  }
}

/**
 * What makes a path shown quoted: a control character (as `escapeControls`
 * takes them), `"`, `\`, a byte that is not UTF-8.
 */
// deno-lint-ignore no-control-regex -- the control characters are the point
const UNSAFE = /[\u{0}-\u{1f}\u{7f}-\u{9f}\u{2028}\u{2029}"\\\u{10ff80}-\u{10ffff}]/u;

/**
 * A path as a finding's line shows it: as it is, or, when it holds a
 * control character (a newline would split the line), a `"`, a `\` or a
 * byte that is not UTF-8 (`decodeBytes`), in double quotes with `\"` and
 * `\\`, such a byte as `\xNN`, a control as jx shows one anywhere
 * (`escapeControls`: `\n`, `\e`, `\x01`...).
 *
 * @example
 * ```ts
 * import { shownPath } from "./check.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(shownPath("src/a.h"), "src/a.h");
 * assertEquals(shownPath("a\nb"), '"a\\nb"');
 * assertEquals(shownPath("\u{10ffff}.txt"), '"\\xff.txt"');
 * assertEquals(shownPath("a\u009bb"), '"a\\x9bb"');
 * ```
 */
export function shownPath(path: string): string {
  if (!UNSAFE.test(path)) return path;
  let out = "";
  for (const ch of path) {
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (RAW_BYTE.test(ch)) {
      out += `\\x${(ch.codePointAt(0)! - RAW_BYTE_BASE).toString(16).padStart(2, "0")}`;
    } else out += escapeControls(ch);
  }
  return `"${out}"`;
}

/**
 * One finding's console line: `WHERE` (`FILE:LINE:COL: `, or empty), then
 * `WHO` (`job 'cc'`, `command '3:wc'`), what it did, why it is a finding and
 * the edit that fixes it (none for an informational one).
 */
export function findingLine(where: string, who: string, f: Finding): string {
  const fix = f.suggest ? `: add ${f.suggest}` : "";
  return `${where}${who} ${f.access} ${shownPath(f.path)}, ${problemText(f)}${fix}\n`;
}

/**
 * `FILE:LINE:COL: job 'cc' read src/a.h, not in its reads: add reads: [src/*.h]`,
 * at the job's place in the file it is written in (an included file's job: that file).
 */
export function formatFinding(graph: Graph, f: Finding): string {
  const spec = graph.byName.get(f.job);
  const where = spec ? `${spec.source ?? graph.file}:${spec.pos.line}:${spec.pos.col}: ` : "";
  return findingLine(where, `job '${escapeControls(f.job)}'`, f);
}

/** How a `FindingReport` shows its findings. */
export interface FindingReportOptions {
  /** The run's clock (the reactor), for the events' `t`. */
  clock: { now(): number };
  /** Where the console lines go (default: stdout). */
  print?: (text: string) => void;
  /** A finding's console line. */
  line: (f: Finding) => string;
  /** Sorts the findings for the console (file or script order). */
  sort: (findings: Finding[]) => Finding[];
  /** Whether a finding is printed (default: all); every one is an event. */
  shown?: (f: Finding) => boolean;
}

/**
 * How a checked run (`jx lint`, `jx run --check-access`, `jx sh
 * --check-access`) reports findings: each one an `access.finding` event to
 * the run's other reporters as it is found (before that job's `job.end`),
 * and all of them printed, sorted, when `run.end` comes, before the summary.
 *
 * @example
 * ```ts
 * import { FindingReport, findingLine } from "./check.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const out: string[] = [];
 * const report = new FindingReport({
 *   clock: performance,
 *   print: (s) => out.push(s),
 *   line: (f) => findingLine("", `job '${f.job}'`, f),
 *   sort: (fs) => fs,
 * });
 * const r = report.reporter([]);
 * report.add({ job: "cc", path: "a.h", access: "read", problem: "undeclared-read", suggest: "reads: [a.h]" });
 * r.event({ type: "run.end", t: 1, status: "ok", exit: 0, ms: 1 });
 * assertEquals(out[0], "job 'cc' read a.h, not in its reads: add reads: [a.h]\n");
 * ```
 */
export class FindingReport {
  /** Every finding so far, in the order found. */
  readonly findings: Finding[] = [];
  private others: Reporter[] = [];
  private t0 = 0;

  constructor(private o: FindingReportOptions) {}

  /** The reporter to put first in `all` (the run's reporters): it sends the events to the rest. */
  reporter(all: Reporter[]): Reporter {
    const self: Reporter = {
      event: (e: RunEvent) => {
        if (e.type === "run.start") this.t0 = this.o.clock.now() - e.t;
        if (e.type === "run.end") this.print();
      },
    };
    this.others = all.filter((r) => r !== self);
    return self;
  }

  /** One finding: kept, and sent as an event at once (at `t`, default now). */
  add(f: Finding, t = this.o.clock.now() - this.t0): void {
    this.findings.push(f);
    const ev: RunEvent = { type: "access.finding", t, ...f };
    for (const r of this.others) r.event(ev);
  }

  private print(): void {
    const print = this.o.print ?? ((s: string) => writeAll(1, s));
    const shown = this.o.sort([...this.findings]).filter((f) => this.o.shown?.(f) ?? true);
    if (shown.length) print(shown.map(this.o.line).join(""));
  }
}

/**
 * `--strict`: a run that would succeed (`status` 0) with `findings` findings
 * exits 1 instead, with one line on stderr; any other status is kept.
 *
 * @example
 * ```ts
 * import { strictExit } from "./check.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(strictExit(0, 0, true), 0);
 * // the job's failure is kept
 * assertEquals(strictExit(2, 1, true), 1);
 * ```
 */
export function strictExit(findings: number, status: number, strict: boolean): number {
  if (!strict || !findings || status !== 0) return status;
  writeAll(2, `jx: --strict: ${findings} finding${findings === 1 ? "" : "s"} (docs/lint.md)\n`);
  return 1;
}

/**
 * `--strict`'s exit in two steps: `decide`, before `run.end` (a run that would succeed with
 * findings fails, so the event says what jx exits with), and `exit`, at the end (the line that
 * says why; any other status kept, an interrupted run's 130/143 among them).
 *
 * @example
 * ```ts
 * import { strictExits } from "./check.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const s = strictExits(true, () => 2);
 * assertEquals(s.decide(0), 1);
 * assertEquals(s.exit(130), 130);
 * ```
 */
export function strictExits(
  strict: boolean,
  findings: () => number,
): { decide(code: number): number; exit(status: number): number } {
  /** The run's own exit, before the findings decided it (undefined: never decided). */
  let own: number | undefined;
  return {
    decide(code) {
      own = code;
      return strict && code === 0 && findings() ? 1 : code;
    },
    exit(status) {
      if (own === undefined) return strictExit(findings(), status, strict);
      if (own === 0 && status === 1) strictExit(findings(), 0, strict); // says why
      return status;
    },
  };
}

/**
 * One checked run. `runner(inner)` traces the jobs `inner` runs; each
 * job's accesses are compared when it ends, and every new finding becomes
 * an `access.finding` event to the run's other reporters at once (before
 * that job's `job.end`). `reporter(all)`, placed first among the run's
 * reporters, prints the findings in file order when `run.end` comes, before
 * the summary.
 *
 * @example
 * ```ts
 * import { AccessCheck } from "./check.ts";
 * import { StraceTracer } from "./strace.ts";
 * import { parseJobsFile } from "../graph/mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const graph = parseJobsFile("jobs:\n  a: { run: 'true' }\n", "/tmp/jobs.yaml");
 * const check = new AccessCheck({ graph, tracer: new StraceTracer(), ignore: [], clock: performance });
 * assertEquals(check.findings.length, 0);
 * ```
 */
export class AccessCheck {
  private checker: Checker;
  private specs = new Map<string, JobSpec>();
  private byJob = new Map<string, Finding[]>();
  private report: FindingReport;
  private tracing: TracingRunner | undefined;
  /** The time of the `job.end` whose held attempt is being compared (undefined: now). */
  private endT: number | undefined;

  constructor(private o: CheckOptions) {
    this.report = new FindingReport({
      clock: o.clock,
      print: o.print,
      line: (f) => formatFinding(o.graph, f),
      sort: (fs) => inFileOrder(o.graph, fs),
    });
    this.checker = new Checker(o.graph, {
      root: o.graph.baseDir,
      ignore: o.ignore,
      spec: (name) => this.specs.get(name),
    });
  }

  /**
   * `inner` with every job it runs traced; `exitOf` decides the run's exit from the findings, before
   * `run.end` says it (undefined: the run's own).
   */
  runner(inner: Runner, exitOf?: (code: number) => number | undefined): Runner {
    this.tracing = new TracingRunner(
      inner,
      this.o.tracer,
      (spec, a) => this.ended(spec, a),
      exitOf,
    );
    return this.tracing;
  }

  /** Every finding so far, in the order found. */
  get findings(): Finding[] {
    return this.report.findings;
  }

  /**
   * The reporter to put first in `all` (the run's reporters): it sends the events to the rest. A
   * job's final `job.end` (no `retrying`) first settles a failed attempt held for a retry that did
   * not come, so its findings are events before that `job.end` reaches the others.
   */
  reporter(all: Reporter[]): Reporter {
    const report = this.report.reporter(all);
    return {
      event: (e: RunEvent) => {
        if (e.type === "job.end" && !e.retrying) {
          // Its findings are events at its end's time, before it (the events' times never fall).
          this.endT = e.t;
          this.tracing?.lastEnd(e.job);
          this.endT = undefined;
        }
        report.event(e);
      },
    };
  }

  /** Saves the remembered findings. */
  close(): void {
    this.o.remembered?.save();
  }

  private ended(spec: JobSpec, accesses: Access[]): void {
    this.specs.set(spec.name, spec);
    // A checked run replaces the job's entry, even with no finding (it is fixed).
    if (!this.byJob.has(spec.name)) this.byJob.set(spec.name, []);
    this.o.remembered?.checked(spec.name, this.byJob.get(spec.name)!);
    for (const f of this.checker.ended(spec.name, accesses)) {
      const list = this.byJob.get(f.job) ?? [];
      list.push(f);
      this.byJob.set(f.job, list);
      this.o.remembered?.checked(f.job, list);
      this.report.add(f, this.endT);
    }
  }
}

/** What `jx run --check-access` adds to a run (`runCheck`). */
export interface RunCheck {
  /** The run's runner: local processes within `slots`, traced. */
  runner: Runner;
  /** The findings of this run and the last checked ones: what the output cache asks (`cacheRefusal`). */
  remembered: Remembered;
  /** To put first among the run's reporters (`reporter(all)` of `AccessCheck`). */
  reporter(all: Reporter[]): Reporter;
  /**
   * The run's up-to-date state, except that a job a remembered finding
   * stands on (`Remembered.unfixed`: its own, or another job's race or
   * unordered read with it) is never up to date: it runs (and is checked)
   * again until a checked run finds nothing, so `--strict` keeps failing
   * until fixed.
   */
  state?: {
    check(spec: JobSpec): { upToDate: boolean };
    succeeded(spec: JobSpec): void;
    started?(spec: JobSpec): void;
  };
  /** The run's exit status: `--strict` turns a success with findings into 1 (with one line). */
  exit(status: number): number;
  /** Saves the findings in `.jx/access.json` and removes the tracer's files. */
  close(): void;
}

/**
 * `inner` as a checked run sees it (`RunCheck.state`): a job that a remembered finding stands on
 * is not up to date. A dry run with `--check-access` or `--strict` asks this too, so that `-n`
 * lists the jobs such a run would run again.
 */
export function checkedState(
  graph: Graph,
  inner: NonNullable<RunCheck["state"]>,
  remembered: Remembered = new Remembered(graph.baseDir, graph.file),
): NonNullable<RunCheck["state"]> {
  return {
    check: (spec) => {
      // Asked first in any case: the state hashes the inputs it records at the success.
      const v = inner.check(spec);
      return remembered.unfixed(spec.name, (n) => graph.byName.has(n))
        ? { ...v, upToDate: false }
        : v;
    },
    succeeded: (spec) => inner.succeeded(spec),
    started: (spec) => inner.started?.(spec),
  };
}

/**
 * Sets up `jx run --check-access` (`strict`: `--strict`) over the run's
 * reactor, job slots and state. Throws `JxInputError` (exit 2) when there
 * is no tracer (strace missing).
 *
 * @example
 * ```ts
 * import { runCheck, StraceTracer } from "./mod.ts";
 * import { createReactor, LocalSlots, loadJobsFile, runJobs } from "../../mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/a.h`, "");
 * Deno.writeTextFileSync(`${dir}/jobs.yaml`, "jobs:\n  cc: { run: cat a.h }\n");
 * const graph = loadJobsFile(`${dir}/jobs.yaml`);
 * const reactor = createReactor();
 * const slots = new LocalSlots(2);
 * const check = runCheck({ graph, reactor, slots, strict: true, tracer: new StraceTracer() });
 * const result = await runJobs(graph, graph.jobs, {
 *   reactor,
 *   runner: check.runner,
 *   reporters: [check.reporter([])],
 * });
 * check.close();
 * reactor.close();
 * // cc read a.h without declaring it: the job succeeded, --strict fails the run (run.end too)
 * assertEquals([result.exit, check.exit(result.exit)], [1, 1]);
 * ```
 */
export function runCheck(o: {
  graph: Graph;
  reactor: Reactor;
  slots: Slots;
  state?: RunCheck["state"];
  strict: boolean;
  tracer: Tracer;
}): RunCheck {
  const root = o.graph.baseDir;
  const remembered = new Remembered(root, o.graph.file);
  const check = new AccessCheck({
    graph: o.graph,
    tracer: o.tracer,
    ignore: fileIgnore(o.graph.file),
    clock: o.reactor,
    remembered,
  });
  const inner = o.state;
  const strictly = strictExits(o.strict, () => check.findings.length);
  return {
    runner: check.runner(new LocalRunner(o.reactor, o.slots), strictly.decide),
    remembered,
    reporter: (all) => check.reporter(all),
    state: inner && checkedState(o.graph, inner, remembered),
    exit: strictly.exit,
    close() {
      check.close();
      o.tracer.close();
    },
  };
}
