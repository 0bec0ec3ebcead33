/**
 * The frame of a run, shared by `jx run`'s `Builder` (builder.ts) and `jx
 * sh`'s script runner (sh/run.ts): its reporters and clock, the stop
 * signals, and the events that open and close it (`run.start`, each
 * attempt's `job.start`, `run.end`). What runs inside the frame differs:
 * the builder drives a `Plan` over a fixed graph, jx sh a `ShPlan` whose
 * commands appear as tests end (see ARCHITECTURE.md, "jx sh and the
 * Builder").
 *
 * @module
 */
import type { ListenSignal, Reactor } from "../reactor/types.ts";
import { onStopSignals, onSuspend, type Suspendable } from "./attempts.ts";
import { type Reporter, type RunEvent, skipUpToDate } from "./events.ts";
import type { StartedWhere } from "./runner.ts";
import { signalExit } from "./signals.ts";
import { dieAtExit } from "../runtime/mod.ts";
import { WriteError } from "../runtime/errors.ts";

type JobStart = Extract<RunEvent, { type: "job.start" }>;
type RunEnd = Extract<RunEvent, { type: "run.end" }>;

/**
 * One run's frame.
 *
 * @example
 * ```ts
 * import { FakeReactor } from "../reactor/mod.ts";
 * import { RunFrame } from "./frame.ts";
 * import { strictEqual } from "node:assert";
 * const seen: string[] = [];
 * const frame = new RunFrame(new FakeReactor(() => ({ ms: 1 })), [{ event: (e) => seen.push(e.type) }]);
 * frame.begin(1, 2, "none");
 * frame.jobStart("a", 42, 1);
 * // the first stop
 * strictEqual(frame.interrupt("SIGINT"), true);
 * strictEqual(frame.end(0).exit, 130);
 * strictEqual(seen.join(" "), "run.start job.start run.end");
 * ```
 */
export class RunFrame {
  /** The signal that stopped the run, once one did (or a stop request said so). */
  interrupted?: ListenSignal;
  /** Whether its caller cancelled the run (`RunControl.cancel`), with no signal. */
  cancelled = false;
  /**
   * The first exception a reporter threw, once one did (the rest are dropped); `atEnd` when it
   * is a `WriteError` of `run.end` itself (the exit status is then the one `run.end` said).
   */
  reporterError?: { error: unknown; atEnd?: boolean };
  /** Whether the stop came from a reporter's exception (`stopForReporter`), not a signal. */
  byReporter = false;
  private ending = false;
  private runStart: number;
  private t0: number;
  private unlisten?: () => void;
  private unsuspend?: () => void;

  /**
   * A run on `reactor`'s clock, its events to `reporters`; `t0`: when `t` is
   * 0 (default: now). With `onReporterError`, an exception a reporter throws
   * is kept in `reporterError` (the first one) and `onReporterError` is told
   * of it, once; the event still goes to the other reporters. Without it,
   * the exception goes to the caller of `emit`.
   */
  constructor(
    private reactor: Reactor,
    private reporters: Reporter[],
    t0?: number,
    private onReporterError?: () => void,
  ) {
    this.runStart = reactor.now();
    this.t0 = t0 ?? this.runStart;
  }

  /** Sends an event to every reporter. */
  readonly emit = (e: RunEvent): void => {
    for (const r of this.reporters) {
      try {
        r.event(e);
      } catch (error) {
        this.reporterThrew(error);
      }
    }
  };

  /** `job.skip` (up to date, now) for each of `jobs`, to every reporter (`skipUpToDate`). */
  upToDate(jobs: readonly string[]): void {
    const t = this.t();
    for (const r of this.reporters) {
      try {
        skipUpToDate([r], jobs, t);
      } catch (error) {
        this.reporterThrew(error);
      }
    }
  }

  /**
   * jx's own code threw `error` at a job's end: kept and told as a reporter's exception is, so
   * that the run stops (its jobs too) and rejects with it.
   */
  fault(error: unknown): void {
    this.reporterThrew(error);
  }

  /** A reporter threw `error`: kept if it is the first (and the frame's owner told), else dropped. */
  private reporterThrew(error: unknown): void {
    if (!this.onReporterError) throw error;
    if (this.reporterError) return;
    // Output jx could not write at run.end (the summary, stderr full): run.end said the exit.
    const atEnd = this.ending && error instanceof WriteError;
    this.reporterError = { error, ...(atEnd && { atEnd }) };
    this.onReporterError();
  }

  /** Milliseconds since the run's `t0` (events' `t`). */
  readonly t = (): number => this.reactor.now() - this.t0;

  /**
   * Records a stop (a signal, or `jx ctl stop`); returns whether it is the
   * first (a second one means: kill now).
   */
  interrupt(sig: ListenSignal): boolean {
    if (this.interrupted) return false;
    this.interrupted = sig;
    return true;
  }

  /**
   * Stops the run for a reporter's exception (its output cannot be written): what runs is
   * stopped as on a SIGTERM, but the run ends `failed`, exit 1, with the error (`end`). Returns
   * whether it is the first stop.
   */
  stopForReporter(): boolean {
    if (!this.interrupt("SIGTERM")) return false;
    this.byReporter = true;
    return true;
  }

  /**
   * Records a cancel (`RunControl.cancel`: no signal); returns whether it
   * stops the run (not when a stop or a cancel came first).
   */
  cancel(): boolean {
    if (this.stopped) return false;
    this.cancelled = true;
    return true;
  }

  /** Whether a stop or a cancel has ended the run early. */
  get stopped(): boolean {
    return this.interrupted !== undefined || this.cancelled;
  }

  /**
   * Listens for SIGINT, SIGTERM and SIGHUP until `end`; `onStop` learns
   * whether it is the first. `passOn`, when given, sees each signal first: one
   * it takes (returns true) is no stop of the run, which goes on and ends
   * with the exit status it gets (`jx sh` hands the signal to the script's
   * own shell, whose traps decide).
   */
  listen(
    onStop: (sig: ListenSignal, first: boolean) => void,
    passOn?: (sig: ListenSignal) => boolean,
  ): void {
    this.unlisten = onStopSignals(this.reactor, (sig) => {
      if (!this.interrupted && passOn?.(sig)) return;
      onStop(sig, this.interrupt(sig));
    });
  }

  /**
   * Until `end`, a Ctrl-Z (SIGTSTP) stops `part`'s processes, then jx;
   * they go on once jx is continued (`onSuspend`).
   */
  listenSuspend(part: Suspendable): void {
    this.unsuspend?.();
    // Said after the processes stopped, before jx stops; and once jx goes on, before they do.
    const said: Suspendable = {
      suspend: (stopped) => {
        if (!stopped) this.emit({ type: "run.resume", t: this.t() });
        part.suspend(stopped);
        if (stopped) this.emit({ type: "run.suspend", t: this.t() });
      },
    };
    this.unsuspend = onSuspend(this.reactor, () => [said]);
  }

  /** `run.start`. */
  begin(jobs: number, slots: number, jobserver: "server" | "client" | "none"): void {
    this.emit({ type: "run.start", t: this.t(), jobs, slots, jobserver });
  }

  /** An attempt's `job.start` (`pid` 0: no local process), sent and returned. */
  jobStart(
    job: string,
    pid: number,
    attempt: number,
    where?: StartedWhere,
    iteration?: number,
  ): JobStart {
    const e: JobStart = {
      type: "job.start",
      t: this.t(),
      job,
      pid,
      attempt,
      executor: where?.executor ?? "local",
    };
    if (where?.slurmJob !== undefined) e.slurm_job = where.slurmJob;
    if (iteration !== undefined) e.iteration = iteration;
    this.emit(e);
    return e;
  }

  /**
   * `run.end`, after which no signal is heard: `exit` unless a stop
   * interrupted the run (then 128 + its number) or a cancel ended it (then
   * null), `status` from them.
   */
  end(exit: number): RunEnd {
    this.unlisten?.();
    this.unlisten = undefined;
    this.unsuspend?.();
    this.unsuspend = undefined;
    const sig = this.byReporter ? undefined : this.interrupted;
    // Interrupted: jx's exit with 128+N is a death of N (runtime/die.ts).
    if (sig) dieAtExit(sig);
    // A reporter that threw (output jx cannot write): the run failed, whatever its jobs did.
    const threw = this.reporterError && !sig;
    const e: RunEnd = {
      type: "run.end",
      t: this.t(),
      status: sig
        ? "interrupted"
        : threw
        ? "failed"
        : this.cancelled
        ? "cancelled"
        : exit === 0
        ? "ok"
        : "failed",
      exit: sig ? signalExit(sig) : threw ? Math.max(exit, 1) : this.cancelled ? null : exit,
      ms: this.reactor.now() - this.runStart,
    };
    if (threw) e.error = errorLine(this.reporterError!.error);
    this.ending = true;
    this.emit(e);
    return e;
  }
}

/** An exception in one line, for `run.end`'s `error`. */
function errorLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0];
}
