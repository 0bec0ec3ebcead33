/**
 * What `srun` says besides the job's output: its own lines on stderr (`srun: ...`,
 * `slurmstepd-NODE: ...`) and the step mark, taken out of the job's stderr; and how a step's
 * end maps onto a local job's exit status.
 *
 * @module
 */
import { signalName } from "../reactor/mod.ts";
import type { ExitStatus } from "../reactor/mod.ts";
import { RUN_MARK, STEP_MARK } from "./command.ts";

/** How a step ended, as a local job's status plus what Slurm said. */
export interface StepExit extends ExitStatus {
  /** The step id (`JOB.STEP`), when the step started on a node. */
  stepId?: string;
  /** Slurm's own explanation when the step failed for a reason of Slurm's (one line). */
  reason?: string;
  /** The node failed under the step: a failed attempt, which retries may repeat. */
  nodeFailure?: boolean;
}

const TASK_EXIT = /^srun: error: \S+: task \d+: Exited with exit code (\d+)\s*$/;
const TASK_SIGNAL = /^srun: error: \S+: task \d+: (.+?)\s*$/;
const ROUTINE = /^srun: (Force Terminated|Job step aborted|forcing job termination)/;
const CANCELLED = /^slurmstepd(-\S+)?: error: \*\*\* (STEP|JOB) \S+ ON \S+ CANCELLED AT/;
const SLURM_LINE = /^(srun|slurmstepd(-\S+)?): /;

/**
 * Reads a step's stderr: passes the job's lines on, keeps Slurm's. Lines are passed on whole
 * (a last line without a newline at the end of the step).
 *
 * @example
 * ```ts
 * import { SrunStderr } from "./status.ts";
 * const f = new SrunStderr();
 * f.feed(new TextEncoder().encode("\x1ejx-slurm-step 4.2\nboom\nsrun: error: n1: task 0: Exited with exit code 3\n"));
 * // returns "boom\n"; f.stepId === "4.2"; f.exitCode === 3
 * ```
 */
export class SrunStderr {
  /** The step id, once its mark arrived. */
  stepId?: string;
  /** The task's exit code as srun reported it. */
  exitCode?: number;
  /** srun's description of the signal that killed the task. */
  signalText?: string;
  /** Slurm's other lines (errors, node failure, cancellation), in order. */
  readonly said: string[] = [];
  /** Called with the step id when its mark arrives. */
  onStepId?: (id: string) => void;
  /** Called when a spare step's run mark arrives: it runs the job it was given. */
  onRun?: () => void;
  private dec = new TextDecoder();
  private enc = new TextEncoder();
  private partial = "";

  /** Takes one chunk of srun's stderr; returns what belongs to the job (maybe nothing). */
  feed(chunk: Uint8Array): Uint8Array | undefined {
    const text = this.partial + this.dec.decode(chunk, { stream: true });
    const end = text.lastIndexOf("\n") + 1;
    this.partial = text.slice(end);
    return this.lines(text.slice(0, end));
  }

  /** The rest, at the end of the step. */
  flush(): Uint8Array | undefined {
    const rest = this.partial + this.dec.decode();
    this.partial = "";
    return this.lines(rest);
  }

  private lines(text: string): Uint8Array | undefined {
    if (text === "") return undefined;
    let out = "";
    for (const line of text.split(/(?<=\n)/)) {
      if (this.take(line.replace(/\n$/, ""))) out += line;
    }
    return out === "" ? undefined : this.enc.encode(out);
  }

  /** Whether `line` is the job's. */
  private take(line: string): boolean {
    if (line.startsWith(STEP_MARK)) {
      this.stepId = line.slice(STEP_MARK.length).trim();
      this.onStepId?.(this.stepId);
      return false;
    }
    if (line === RUN_MARK) {
      this.onRun?.();
      return false;
    }
    if (!SLURM_LINE.test(line)) return true;
    let m = TASK_EXIT.exec(line);
    if (m) this.exitCode = Number(m[1]);
    else if ((m = TASK_SIGNAL.exec(line)) && !/Node failure/i.test(line)) this.signalText = m[1];
    else if (ROUTINE.test(line)) return false;
    else {
      this.said.push(line);
      return !CANCELLED.test(line);
    }
    return false;
  }
}

/**
 * The step's end as a local job's: the task's exit code, or the signal that killed it
 * (srun exits 128+N then), or srun's own failure with Slurm's reason.
 *
 * @example
 * ```ts
 * import { SrunStderr, stepExit } from "./status.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const f = new SrunStderr();
 * f.signalText = "Segmentation fault";
 * const exit = stepExit({ code: 139, signal: null }, f);
 * assertEquals([exit.code, exit.signal], [null, "SIGSEGV"]);
 * ```
 */
export function stepExit(srun: ExitStatus, f: SrunStderr): StepExit {
  const base = { stepId: f.stepId, cpu: srun.cpu };
  const errors = f.said.filter((l) => /error|fail|cancel/i.test(l));
  const reason = errors.length ? errors.map(clean).join("; ") : undefined;
  const nodeFailure = f.said.some((l) => /node fail|NODE_FAIL/i.test(l)) || undefined;
  if (srun.error !== undefined) return { ...base, code: null, signal: null, error: srun.error };
  if (srun.code === null) {
    return { ...base, code: null, signal: srun.signal, reason: reason ?? "srun was killed" };
  }
  // srun exits 0 when the node fails under the step (measured, Slurm 22.05): not a success.
  if (nodeFailure) {
    // srun's "Node failure on NODE" says it best; slurmstepd's CANCELLED line may come first.
    const said = f.said.map(clean);
    const why = said.find((l) => /^Node failure/.test(l)) ?? reason ?? "node failure";
    return { ...base, code: null, signal: null, reason: why, nodeFailure };
  }
  if (f.exitCode !== undefined) return { ...base, code: f.exitCode, signal: null, reason };
  if (f.signalText !== undefined && srun.code > 128) {
    return { ...base, code: null, signal: signalName(srun.code - 128), reason };
  }
  if (srun.code === 0) return { ...base, code: 0, signal: null };
  return {
    ...base,
    code: srun.code,
    signal: null,
    reason: reason ?? `srun exited with ${srun.code}`,
  };
}

/** One of Slurm's lines without its program prefix. */
function clean(line: string): string {
  return line.replace(SLURM_LINE, "").replace(/^error: /, "").trim();
}
