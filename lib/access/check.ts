/**
 * A checked run (`jx lint`, `jx run --check-access`): the tracing runner,
 * the comparison as each job ends, `access.finding` events, the console
 * lines at the run's end, and the findings remembered in `.jx/`.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import type { Graph, JobSpec } from "../graph/mod.ts";
import type { Reactor } from "../reactor/mod.ts";
import {
  LocalRunner,
  type Reporter,
  type RunEvent,
  type Runner,
  type Slots,
} from "../scheduler/mod.ts";
import { writeAll } from "../runtime/mod.ts";
import { Checker, inFileOrder } from "./compare.ts";
import { Remembered } from "./remembered.ts";
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

/** `FILE:LINE:COL: job 'cc' read src/a.h, not in its reads: add reads: [src/*.h]`. */
export function formatFinding(graph: Graph, f: Finding): string {
  const pos = graph.byName.get(f.job)?.pos;
  const where = pos ? `${graph.file}:${pos.line}:${pos.col}: ` : "";
  const what = {
    "undeclared-read": `not in its reads`,
    "undeclared-write": `not in its writes`,
    "race": `as '${f.other}' does, with no order between them`,
    "unordered-read": `which '${f.other}' writes, with no order between them`,
  }[f.problem];
  return `${where}job '${f.job}' ${f.access} ${f.path}, ${what}: add ${f.suggest}\n`;
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
  /** Every finding so far, in the order found. */
  readonly findings: Finding[] = [];
  private checker: Checker;
  private specs = new Map<string, JobSpec>();
  private byJob = new Map<string, Finding[]>();
  private others: Reporter[] = [];
  private t0 = 0;

  constructor(private o: CheckOptions) {
    this.checker = new Checker(o.graph, {
      root: dirname(resolve(o.graph.file)),
      ignore: o.ignore,
      spec: (name) => this.specs.get(name),
    });
  }

  /** `inner`, with every job it runs traced. */
  runner(inner: Runner): Runner {
    return new TracingRunner(inner, this.o.tracer, (spec, a) => this.ended(spec, a));
  }

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

  /** Saves the remembered findings. */
  close(): void {
    this.o.remembered?.save();
  }

  private ended(spec: JobSpec, accesses: Access[]): void {
    this.specs.set(spec.name, spec);
    // A checked run replaces the job's entry, even with no finding (it is fixed).
    if (!this.byJob.has(spec.name)) this.byJob.set(spec.name, []);
    this.o.remembered?.checked(spec.name, this.byJob.get(spec.name)!);
    const found = this.checker.ended(spec.name, accesses);
    const t = this.o.clock.now() - this.t0;
    for (const f of found) {
      this.findings.push(f);
      const list = this.byJob.get(f.job) ?? [];
      list.push(f);
      this.byJob.set(f.job, list);
      this.o.remembered?.checked(f.job, list);
      const ev: RunEvent = { type: "access.finding", t, ...f };
      for (const r of this.others) r.event(ev);
    }
  }

  private print(): void {
    const print = this.o.print ?? ((s: string) => writeAll(1, s));
    const sorted = inFileOrder(this.o.graph, [...this.findings]);
    if (sorted.length) print(sorted.map((f) => formatFinding(this.o.graph, f)).join(""));
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
   * The run's up-to-date state, except that a job whose last checked run
   * had findings is never up to date: it runs (and is checked) again until
   * a checked run finds nothing, so `--strict` keeps failing until fixed.
   */
  state?: { check(spec: JobSpec): { upToDate: boolean }; succeeded(spec: JobSpec): void };
  /** The run's exit status: `--strict` turns a success with findings into 1 (with one line). */
  exit(status: number): number;
  /** Saves the findings in `.jx/access.json` and removes the tracer's files. */
  close(): void;
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
 * // cc read a.h without declaring it: the job succeeded, --strict fails the run
 * assertEquals([result.exit, check.exit(result.exit)], [0, 1]);
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
  const root = dirname(resolve(o.graph.file));
  const remembered = new Remembered(root);
  const check = new AccessCheck({
    graph: o.graph,
    tracer: o.tracer,
    ignore: fileIgnore(o.graph.file),
    clock: o.reactor,
    remembered,
  });
  const inner = o.state;
  return {
    runner: check.runner(new LocalRunner(o.reactor, o.slots)),
    remembered,
    reporter: (all) => check.reporter(all),
    state: inner && {
      check: (spec) => {
        // Asked first in any case: the state hashes the inputs it records at the success.
        const v = inner.check(spec);
        return remembered.get(spec.name)?.findings.length ? { ...v, upToDate: false } : v;
      },
      succeeded: (spec) => inner.succeeded(spec),
    },
    exit(status) {
      const n = check.findings.length;
      if (!o.strict || !n || status !== 0) return status;
      writeAll(2, `jx: --strict: ${n} finding${n === 1 ? "" : "s"} (docs/lint.md)\n`);
      return 1;
    },
    close() {
      check.close();
      o.tracer.close();
    },
  };
}
