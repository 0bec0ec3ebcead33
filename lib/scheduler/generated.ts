/**
 * Jobs made while a run goes on: the lines of an `emits: jobs` job's
 * stdout, a deferred `foreach` expanded once what it globs is written, and
 * library feeds (`JobFeed`). Each joins the plan at once; a bad one is
 * reported (`emit.error`) and fails its generator. Errors travel as values.
 *
 * @module
 */
import type * as Emit from "../graph/emit.ts";
import { JxInputError } from "../runtime/errors.ts";
import { cwd } from "../runtime/fs.ts";
import type { Graph } from "../graph/graph.ts";
import type { EmitContext, JobSpec } from "../graph/types.ts";
import type { JobStatus, RunEvent } from "./events.ts";
import type { JobFeed } from "./options.ts";
import type { Plan } from "./plan.ts";

/** graph/emit.ts, once `loadEmit` has loaded it (it brings the YAML parser). */
let emit: typeof Emit | undefined;

/**
 * Loads what a run that generates jobs needs (graph/emit.ts): `runJobs`
 * does it before a run whose selection emits jobs, defers a `foreach`, or
 * has feeds; a run without any never loads the YAML parser.
 *
 * @example
 * ```ts
 * import { loadEmit } from "./generated.ts";
 * await loadEmit();
 * ```
 */
export async function loadEmit(): Promise<void> {
  emit ??= await import("../graph/emit.ts" as string) as typeof import("../graph/emit.ts");
}

/** graph/emit.ts, loaded by `loadEmit` (a Builder made by hand for such a run must call it). */
function emitted(): typeof Emit {
  if (!emit) throw new Error("graph/emit.ts is not loaded: call loadEmit() before the run");
  return emit;
}

/** The longest line of an `emits: jobs` job's stdout that is read as a job (16 MiB). */
export const MAX_EMITTED_LINE = 16 * 1024 * 1024;

/** What a function of graph/ threw, kept as a value. */
class Failure {
  constructor(readonly cause: unknown) {}
}

/**
 * What generators need from the builder.
 *
 * @example
 * ```ts
 * import type { GenHost } from "./generated.ts";
 * const stopping = (h: GenHost) => h.plan.stopping !== undefined;
 * ```
 */
export interface GenHost {
  readonly plan: Plan;
  readonly graph: Graph;
  /** True once the run has ended. */
  readonly finished: boolean;
  emit(e: RunEvent): void;
  t(): number;
  /** A generator's first bad job: stop the run unless `-k`. */
  failFast(): void;
  /** Resolves a generator node (no capacity to give back, nothing recorded). */
  resolve(spec: JobSpec | string, status: JobStatus): void;
  /** Reports skips the plan made. */
  flushSkips(): void;
  pump(): void;
}

/**
 * The generators of one run.
 *
 * @example
 * ```ts
 * import { Generated } from "./generated.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const gen = new Generated();
 * // undefined until gen emits a bad job
 * assertEquals(gen.errorOf("gen"), undefined);
 * ```
 */
export class Generated {
  /** The first bad job definition of each generator. */
  private errors = new Map<string, string>();
  /** Jobs added during the run: who made them, and their command. */
  private madeBy = new Map<string, string>();
  /** Stops the feeds' reading. */
  private cancels: (() => void)[] = [];
  /** The jobs of the file that made jobs (`emits: jobs`, a deferred `foreach`), by name. */
  private makers = new Map<string, JobSpec>();

  /** The first bad job a generator emitted, if any. */
  errorOf(by: string): string | undefined {
    return this.errors.get(by);
  }

  /** Stops reading every feed (the run stops). */
  cancelFeeds(): void {
    for (const c of this.cancels) c();
  }

  /** Adds a generated job to the plan, or reports why it cannot join. */
  add(host: GenHost, by: string, made: JobSpec | Failure, line?: number): void {
    const failed = made instanceof Failure ? made : this.join(host, by, made, line);
    if (failed) {
      const e = failed.cause;
      const error = e instanceof JxInputError
        ? e.format()
        : `${by} stdout${line ? `:${line}:1` : ""}: ${message(e)}`;
      this.report(host, by, error, line);
    }
    host.flushSkips();
  }

  private join(host: GenHost, by: string, spec: JobSpec, line?: number): Failure | undefined {
    // A retried generator that says the same again adds nothing new.
    const key = `${by}\0${spec.command}`;
    if (this.madeBy.get(spec.name) === key) return;
    const added = host.plan.tryAdd(spec, by);
    // Jobs of the graph outside the run that it needs joined first (none when it could not).
    for (const p of host.plan.takePulled()) {
      host.emit({
        type: "job.add",
        t: host.t(),
        job: p.job,
        by,
        ...(line ? { line } : {}),
        for: p.for,
      });
    }
    if (typeof added === "string") return new Failure(this.refused(by, spec, added, line));
    this.madeBy.set(spec.name, key);
    host.emit({ type: "job.add", t: host.t(), job: spec.name, by, ...(line ? { line } : {}) });
  }

  /**
   * A job `by` made that the plan refused (`why`: a taken name, an unknown `needs`, a cycle):
   * said at `by`'s place in the jobs file, naming the job (its stdout line, or its item).
   */
  private refused(by: string, spec: JobSpec, why: string, line?: number): Error {
    const maker = this.makers.get(by);
    const d = maker?.deferred;
    if (d) {
      const item = spec.name.slice(by.length + 1, -1);
      return new JxInputError(emitted().itemError(by, item, why), d.ctx.file, d.pos ?? maker.pos);
    }
    // A generator of the file (one that was generated itself has no place there).
    if (maker?.emits && maker.by === undefined && line !== undefined) {
      const which = `the job '${spec.name}' it wrote on stdout line ${line}`;
      return new JxInputError(`jobs.${by}: ${which}: ${why}`, maker.emits.file, maker.pos);
    }
    return new Error(`jobs.${spec.name}: ${why}`);
  }

  private report(host: GenHost, by: string, error: string, line?: number): void {
    host.emit({ type: "emit.error", t: host.t(), job: by, ...(line ? { line } : {}), error });
    if (this.errors.has(by)) return;
    this.errors.set(by, error);
    host.failFast();
  }

  /** Splits an `emits: jobs` job's stdout into lines, each a job that joins at once. */
  lines(
    host: GenHost,
    spec: JobSpec,
  ): { push(chunk: Uint8Array): void; end(whole: boolean): void } {
    this.makers.set(spec.name, spec);
    const decoder = new TextDecoder();
    // The line so far, in pieces (joined once it ends: a long line is not copied per chunk);
    // past MAX_EMITTED_LINE it is dropped, said once it ends.
    let pieces: string[] = [], size = 0, tooLong = false;
    let lineNo = 0;
    const line = (raw: string) => {
      const n = ++lineNo;
      if (tooLong) {
        tooLong = false;
        const e = new JxInputError(
          `a line longer than ${MAX_EMITTED_LINE} characters (no job is that long): not read`,
          `${spec.name} stdout`,
          { line: n, col: 1 },
        );
        return this.add(host, spec.name, new Failure(e), n);
      }
      const text = raw.trim();
      if (text === "" || text.startsWith("#")) return;
      this.add(
        host,
        spec.name,
        made(() => emitted().parseEmittedJob(text, n, spec.name, spec.emits!)),
        n,
      );
    };
    const take = (text: string) => {
      let from = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", from)) {
        pieces.push(text.slice(from, nl));
        line(pieces.length === 1 ? pieces[0] : pieces.join(""));
        pieces = [], size = 0, from = nl + 1;
      }
      if (from === text.length || tooLong) return;
      pieces.push(from ? text.slice(from) : text);
      if ((size += text.length - from) > MAX_EMITTED_LINE) pieces = [], size = 0, tooLong = true;
    };
    return {
      push(chunk: Uint8Array) {
        take(decoder.decode(chunk, { stream: true }));
        host.pump();
      },
      /** The generator ended; `whole` false: jx stopped it, and a last line without a newline was cut. */
      end(whole: boolean) {
        const rest = decoder.decode();
        if (whole) take(rest + "\n");
      },
    };
  }

  /** A deferred `foreach`'s items as the disk gives them now (undefined: the expansion fails). */
  itemsOf(spec: JobSpec): JobSpec[] | undefined {
    const specs = made(() => emitted().expandDeferred(spec));
    return specs instanceof Failure ? undefined : specs;
  }

  /** Expands a deferred `foreach` now that what it globs is written; resolves the group. */
  expandGroup(host: GenHost, spec: JobSpec): void {
    host.plan.start(spec.name);
    this.makers.set(spec.name, spec);
    const specs = made(() => emitted().expandDeferred(spec));
    if (specs instanceof Failure) this.add(host, spec.name, specs);
    else for (const s of specs) this.add(host, spec.name, s);
    host.resolve(spec, this.errors.has(spec.name) ? "failed" : "ok");
  }

  /** Reads a library feed: a pseudo-job that is running until its stream ends. */
  startFeed(host: GenHost, feed: JobFeed): void {
    const ctx: EmitContext = {
      file: feed.name,
      baseDir: currentDir(),
      env: {},
      vars: {},
      pools: Object.fromEntries(host.graph.pools),
      ...feed.context,
    };
    host.plan.add(feedNode(feed.name, ctx.baseDir));
    host.plan.start(feed.name);
    const parse = feed.parse;
    const take = (line: string, n: number) => {
      // Without `parse`, each line is read as an emitted line is (errors at its own columns).
      if (!parse) return this.takeLine(host, feed, ctx, line, n);
      const entries = made(() => parse(line, n));
      if (entries instanceof Failure) {
        const pos = { line: n, col: 1 };
        const bad = new JxInputError(`bad line: ${message(entries.cause)}`, feed.name, pos);
        return this.add(host, feed.name, new Failure(bad), n);
      }
      if (entries === undefined) return;
      for (const entry of Array.isArray(entries) ? entries : [entries]) {
        const job = notAJob(entry)
          ? new Failure(
            new JxInputError(`parse gave ${notAJob(entry)}, not a job (an object)`, feed.name, {
              line: n,
              col: 1,
            }),
          )
          : made(() => emitted().parseEmittedJob(entry, n, feed.name, ctx, feed.name));
        this.add(host, feed.name, job, n);
      }
    };
    this.read(host, feed, take).then((e) => {
      if (e) {
        const bad = new JxInputError(`read failed: ${e}`, feed.name);
        this.add(host, feed.name, new Failure(bad));
      }
      if (host.finished) return;
      const failed = this.errors.has(feed.name);
      host.resolve(feed.name, failed ? "failed" : host.plan.stopping ? "cancelled" : "ok");
      host.pump();
    });
  }

  /** A line of a feed without `parse`: a JSON job, a blank line or a `#` comment. */
  private takeLine(host: GenHost, feed: JobFeed, ctx: EmitContext, line: string, n: number): void {
    const text = line.trim();
    if (text === "" || text.startsWith("#")) return;
    this.add(
      host,
      feed.name,
      made(() => emitted().parseEmittedJob(text, n, feed.name, ctx, feed.name)),
      n,
    );
  }

  /** Reads a feed's lines into `take` until it ends or the run stops; resolves to a read error. */
  private async read(
    host: GenHost,
    feed: JobFeed,
    take: (line: string, n: number) => void,
  ): Promise<string | undefined> {
    // The run stopping (a signal, fail-fast) stops reading: the feed is cancelled.
    let cancel!: () => void;
    const cancelled = new Promise<{ done: true; value: undefined }>((r) =>
      cancel = () => r({ done: true, value: undefined })
    );
    this.cancels.push(cancel);
    const decoder = new TextDecoder();
    let partial = "";
    let n = 0;
    try {
      const it = (feed.stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      for (;;) {
        const next = await Promise.race([it.next(), cancelled]);
        if (next.done || host.plan.stopping) {
          if (!next.done || host.plan.stopping) it.return?.()?.catch(() => {});
          if (host.plan.stopping) return;
          break;
        }
        if (host.finished) return;
        const parts = (partial + decoder.decode(next.value, { stream: true })).split("\n");
        partial = parts.pop()!;
        for (const line of parts) take(line, ++n);
        host.pump();
      }
      partial += decoder.decode();
      if (partial !== "") take(partial, ++n);
    } catch (e) {
      return (e as Error).message;
    }
  }
}

/** What a feed's `parse` gave instead of a job (`undefined`, `42`, a list), or "" for an object. */
function notAJob(entry: unknown): string {
  if (typeof entry === "object" && entry !== null && !Array.isArray(entry)) return "";
  if (Array.isArray(entry)) return "a list inside the list";
  return typeof entry === "bigint" ? `${entry}n` : String(entry);
}

/** Calls a function that throws on bad input (graph/, a feed's `parse`); its error comes back as a value. */
function made<T>(f: () => T): T | Failure {
  try {
    return f();
  } catch (e) {
    return new Failure(e);
  }
}

function message(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

/** The plan node of a feed: running until its stream ends. */
function feedNode(name: string, cwd: string): JobSpec {
  return {
    name,
    kind: "job",
    index: -1,
    argv: [],
    command: `(feed ${name})`,
    needs: [],
    reads: [],
    writes: [],
    pools: {},
    tokens: 0,
    cwd,
    env: {},
    graceMs: 0,
    retries: 0,
    pos: { line: 1, col: 1 },
  };
}

function currentDir(): string {
  return cwd();
}
