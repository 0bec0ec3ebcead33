/**
 * The events of a run, as the scheduler emits them. `job.output` is for
 * reporters only; every other type is written to the NDJSON event log.
 *
 * @module
 */

/** Final status of one attempt of a job. */
export type JobStatus = "ok" | "failed" | "timeout" | "cancelled";

/** Why a job did not run. */
export type SkipReason = "up-to-date" | "condition" | "dependency-failed" | "dry-run" | "cancelled";

/** One event; `t` is milliseconds since the run started. */
export type RunEvent =
  | {
    type: "run.start";
    t: number;
    jobs: number;
    slots: number;
    jobserver: "server" | "client" | "none";
  }
  | { type: "job.start"; t: number; job: string; pid: number; attempt: number }
  | { type: "job.output"; t: number; job: string; stream: "stdout" | "stderr"; chunk: Uint8Array }
  | {
    type: "job.end";
    t: number;
    job: string;
    status: JobStatus;
    exit: number | null;
    signal: string | null;
    ms: number;
    attempt: number;
    /** Set when the command could not be started. */
    error?: string;
    /** Will be retried. */
    retrying?: boolean;
    /** The job is another job's `if`/`unless` test: its failure is an answer, not an error. */
    condition?: boolean;
  }
  | {
    type: "job.skip";
    t: number;
    job: string;
    reason: SkipReason;
    /** The job whose outcome caused the skip. */
    because?: string;
  }
  | {
    type: "run.end";
    t: number;
    status: "ok" | "failed" | "interrupted";
    exit: number;
    ms: number;
  };

/** Something that receives a run's events, in order. */
export interface Reporter {
  event(e: RunEvent): void;
  /** Called once after `run.end`; may flush files. */
  close?(): void | Promise<void>;
}
