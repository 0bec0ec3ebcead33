/**
 * What `srun` says besides the job's output: its own lines on stderr (`srun: ...`,
 * `slurmstepd-NODE: ...`) and the step mark, taken out of the job's stderr; and how a step's
 * end maps onto a local job's exit status.
 *
 * @module
 */
import { signalName } from "../reactor/mod.ts";
import type { ExitStatus } from "../reactor/mod.ts";
import { CMD_MARK, CWD_MARK, RUN_MARK, STEP_MARK } from "./command.ts";

/** How a step ended, as a local job's status plus what Slurm said. */
export interface StepExit extends ExitStatus {
  /** The step id (`JOB.STEP`), when the step started on a node. */
  stepId?: string;
  /** Slurm's own explanation when the step failed for a reason of Slurm's (one line). */
  reason?: string;
  /** The node failed under the step: a failed attempt, which retries may repeat. */
  nodeFailure?: boolean;
  /** Stopped while it waited for its allocation: never submitted (a job that never started). */
  withdrawn?: boolean;
}

const TASK_EXIT = /^srun: error: \S+: task \d+: Exited with exit code (\d+)\s*$/;
const TASK_SIGNAL = /^srun: error: \S+: task \d+: (.+?)\s*$/;
const ROUTINE = /^srun: (Force Terminated|Job step aborted|forcing job termination)/;
const CANCELLED =
  /^slurmstepd(-\S+)?: error: \*\*\* (STEP|JOB) (\S+) ON \S+ CANCELLED AT \S+( DUE TO .*?)?\s*(\*\*\*)?\s*$/;
const NODE_FAILURE = /^srun: error: Node failure on \S+\s*$/;
const SLURM_LINE = /^(srun|slurmstepd(-\S+)?): /;

/** The lines srun (or slurmstepd) writes about a step's end, once its task runs. */
const END_LINES = [TASK_EXIT, TASK_SIGNAL, ROUTINE, CANCELLED, NODE_FAILURE];

/** One line of stderr: its bytes as they came and its text (for matching only). */
interface Line {
  bytes: Uint8Array;
  text: string;
  /** Held before any step mark: srun's for sure, whatever its exit says of it. */
  early?: boolean;
}

const NL = 0x0a;
const latin1 = new TextDecoder("latin1");

/**
 * Reads a step's stderr: passes the job's lines on, keeps Slurm's. Lines are split on bytes
 * and passed on whole, byte for byte (a last line without a newline at the end of the step).
 *
 * Whose line is it? srun writes its own lines and the task's stderr to the same pipe. Before
 * the step's mark (the task's first act) every line is Slurm's (a task's exit or signal line
 * there, its mark lost, is held as below, and one srun's exit does not confirm is said and
 * shown at the end like Slurm's other lines). After it, a line is the job's
 * unless it reads as one of srun's end lines (`END_LINES`: the task's exit code or signal,
 * the step cancelled, a node failure); such a line is held until the step ends and is then
 * judged against what srun's exit says (srun writes them at the step's end, but they may
 * arrive amid the task's last output): "task 0: Exited with exit code N" is srun's only when
 * srun exits N (the last such line), a signal line only when srun exits 128+N, a CANCELLED
 * line only when it names this step or its allocation, "Node failure on NODE" only when srun
 * exits 0 (as it does then), the routine cancel lines only when srun's exit is not 0. The rest
 * are the job's, passed on at the end in their order.
 *
 * @example
 * ```ts
 * import { SrunStderr } from "./status.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const f = new SrunStderr();
 * const out = f.feed(new TextEncoder().encode("\x1ejx-slurm-step 4.2\nboom\nsrun: error: n1: task 0: Exited with exit code 3\n"));
 * assertEquals(new TextDecoder().decode(out), "boom\n");
 * assertEquals(f.flush({ code: 3, signal: null }), undefined);
 * assertEquals([f.stepId, f.exitCode], ["4.2", 3]);
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
  /** Slurm's lines said before the step ran (srun's own for sure: no task wrote them). */
  readonly before: string[] = [];
  /** srun reported the task's end before any mark (the task ran; its mark was lost). */
  taskSeen = false;
  /**
   * Why the step did not run its job, said by the step itself (`CWD_MARK`: the job's directory
   * is not on the node; `CMD_MARK`: its command is not found there).
   */
  cannotStart?: string;
  /**
   * jx signalled the step (a stop, a timeout): a CANCELLED line naming it is then jx's own doing
   * and not shown; without it, someone else cancelled it (`scancel`), and the line says so.
   */
  signalled = false;
  /** Called with the step id when its mark arrives. */
  onStepId?: (id: string) => void;
  /** Called when a spare step's run mark arrives: it runs the job it was given. */
  onRun?: () => void;
  /**
   * A spare step's stderr: its run mark comes after its step mark, and the job's directory and
   * command are checked after that (the marks saying they are missing follow the run mark).
   * Otherwise the step checks them before its mark. A mark anywhere else is the job's output.
   */
  spare = false;
  /** The run mark arrived (a spare's). */
  private ran = false;
  /** The job wrote a line on stderr (after its checks): a mark now is the job's. */
  private jobSpoke = false;
  /** Bytes of a line not ended yet. */
  private partial: Uint8Array[] = [];
  /** Lines that read as srun's end lines, judged at the end. */
  private held: Line[] = [];

  /** Takes one chunk of srun's stderr; returns what belongs to the job (maybe nothing). */
  feed(chunk: Uint8Array): Uint8Array | undefined {
    const end = chunk.lastIndexOf(NL) + 1;
    if (end === 0) {
      if (chunk.length) this.partial.push(chunk.slice());
      return undefined;
    }
    const text = join([...this.partial, chunk.subarray(0, end)]);
    this.partial = end < chunk.length ? [chunk.slice(end)] : [];
    return this.lines(text);
  }

  /**
   * The rest, at the end of the step: its last line, and the held lines srun's exit `srun`
   * shows to be the job's (undefined: judged as if srun exited 0).
   */
  flush(srun?: ExitStatus): Uint8Array | undefined {
    const rest = join(this.partial);
    this.partial = [];
    const parts = [this.lines(rest), this.judge(srun)].filter((p) => p !== undefined);
    return parts.length ? join(parts) : undefined;
  }

  private lines(bytes: Uint8Array): Uint8Array | undefined {
    // Once the job runs, lines with no mark and nothing of srun's are the job's, all of them:
    // passed on as they came, not line by line (3 million lines took 13 s that way).
    if (bytes.length && this.stepId !== undefined && (!this.spare || this.ran)) {
      const text = latin1.decode(bytes);
      if (!text.includes("\x1e") && !text.includes("srun: ") && !text.includes("slurmstepd")) {
        this.jobSpoke = true;
        return bytes;
      }
    }
    const out: Uint8Array[] = [];
    let at = 0;
    while (at < bytes.length) {
      const nl = bytes.indexOf(NL, at);
      const end = nl < 0 ? bytes.length : nl + 1;
      const line = bytes.subarray(at, end);
      const text = latin1.decode(line).replace(/\n$/, "");
      const glued = this.stepId === undefined ? undefined : endWithin(text);
      if (glued !== undefined) {
        // The job's last line had no newline, and srun's end line came on the same line: the
        // job's part is passed on as it came, srun's held as on a line of its own.
        out.push(line.subarray(0, glued));
        this.take({ bytes: line.subarray(glued), text: text.slice(glued) });
      } else if (this.take({ bytes: line, text })) out.push(line);
      at = end;
    }
    return out.length ? join(out) : undefined;
  }

  /** Whether `line` is the job's (false: Slurm's, or held to be judged at the end). */
  private take(line: Line): boolean {
    const { text } = line;
    // jx's marks only where jx's wrapper writes them; the same bytes from the job are its own.
    if (text.startsWith(STEP_MARK) && this.stepId === undefined) {
      this.stepId = text.slice(STEP_MARK.length).trim();
      this.onStepId?.(this.stepId);
      return false;
    }
    if (text === RUN_MARK && this.spare && this.stepId !== undefined && !this.ran) {
      this.ran = true;
      this.onRun?.();
      return false;
    }
    const checks = this.cannotStart === undefined &&
      (this.spare ? this.ran && !this.jobSpoke : this.stepId === undefined);
    for (const mark of checks ? [CWD_MARK, CMD_MARK] : []) {
      if (!text.startsWith(mark)) continue;
      const rest = text.slice(mark.length);
      const at = rest.indexOf(" ");
      const [node, what] = [rest.slice(0, at), rest.slice(at + 1)];
      this.cannotStart = mark === CWD_MARK
        ? `the job's directory ${what} is not on node ${node}; ` +
          "it must be on a filesystem the nodes share"
        : `cannot start '${what}' on node ${node}: not found`;
      return false;
    }
    if (this.stepId !== undefined) {
      if (!END_LINES.some((re) => re.test(text))) {
        if (!this.spare || this.ran) this.jobSpoke = true;
        return true;
      }
      this.held.push({ bytes: line.bytes.slice(), text });
      return false;
    }
    if (!SLURM_LINE.test(text)) return true;
    // A task's exit or signal with no mark seen: the task ran, its mark lost (a task killed
    // right after it, on a loaded node, CI saw once): judged at the end as after a mark.
    if (TASK_EXIT.test(text) || TASK_SIGNAL.test(text)) {
      this.taskSeen = true;
      this.held.push({ bytes: line.bytes.slice(), text, early: true });
      return false;
    }
    this.before.push(text);
    if (ROUTINE.test(text)) return false;
    this.said.push(text);
    return !CANCELLED.test(text);
  }

  /** Sorts the held lines into srun's and the job's (returned, in order). */
  private judge(srun: ExitStatus | undefined): Uint8Array | undefined {
    const code = srun === undefined ? 0 : srun.code;
    const held = this.held;
    this.held = [];
    const exitAt = code === 0
      ? -1
      : held.findLastIndex((l) => TASK_EXIT.exec(l.text)?.[1] === String(code));
    const killed = code === null || code > 128;
    const signalAt = killed ? held.findLastIndex((l) => this.isSignalLine(l.text)) : -1;
    const out: Uint8Array[] = [];
    held.forEach((l, i) => {
      const show = this.judgeOne(l, code, i === exitAt, i === signalAt);
      if (show) out.push(l.bytes);
    });
    return out.length ? join(out) : undefined;
  }

  /** Whether a held line is shown: the job's, or Slurm's worth showing (a time limit). */
  private judgeOne(l: Line, code: number | null, exit: boolean, signal: boolean): boolean {
    if (exit) this.exitCode = Number(TASK_EXIT.exec(l.text)![1]);
    if (signal) this.signalText = TASK_SIGNAL.exec(l.text)![1];
    if (exit || signal) return false;
    // Not the task's end after all, but no job wrote it (it came before any mark): Slurm's
    // words, said and shown as any line before a mark is.
    if (l.early) return this.before.push(l.text), this.said.push(l.text), true;
    const c = CANCELLED.exec(l.text);
    if (c) {
      if (!this.names(c[3])) return true;
      this.said.push(l.text);
      // DUE TO TIME LIMIT...: kept; jx's own cancel: dropped; another's (scancel): kept.
      return c[4] !== undefined || !this.signalled;
    }
    if (NODE_FAILURE.test(l.text) && code === 0) return this.said.push(l.text), true;
    if (ROUTINE.test(l.text) && code !== 0) return false;
    return true;
  }

  /** Whether `id` (of a CANCELLED line) is this step's or its allocation's. */
  private names(id: string): boolean {
    const step = this.stepId ?? "";
    return id === step || id === step.split(".")[0];
  }

  private isSignalLine(text: string): boolean {
    return TASK_SIGNAL.test(text) && !TASK_EXIT.test(text) && !/Node failure/i.test(text);
  }
}

/**
 * Where an end line of srun's (or slurmstepd's) starts inside `text`, after the job's own bytes:
 * the task's last output had no newline and srun's line was glued to it (measured, Slurm 22.05:
 * `printf x >&2; kill -SEGV $$` gave `xsrun: error: NODE: task 0: Segmentation fault`).
 * `text` is latin1, so its index is the byte's. Undefined when the line is whole.
 *
 * @example
 * ```ts
 * import { endWithin } from "./status.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(endWithin("50%srun: error: n1: task 0: Killed"), 3);
 * assertEquals(endWithin("srun: error: n1: task 0: Killed"), undefined);
 * ```
 */
export function endWithin(text: string): number | undefined {
  for (const m of text.matchAll(/srun: |slurmstepd/g)) {
    if (m.index > 0 && END_LINES.some((re) => re.test(text.slice(m.index)))) return m.index;
  }
  return undefined;
}

/** The chunks as one. */
function join(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, at), at += c.length;
  return out;
}

/**
 * The step's end as a local job's: the task's exit code, or the signal that killed it
 * (srun exits 128+N then), or srun's own failure with Slurm's reason (and no exit code when
 * the task never ran).
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
  // (No `cpu`: srun's CPU time on this machine is not the job's, which ran on a node.)
  const base = { stepId: f.stepId };
  const errors = f.said.filter((l) => /error|fail|cancel/i.test(l));
  const reason = errors.length ? errors.map(clean).join("; ") : undefined;
  const nodeFailure = f.said.some((l) => /node fail|NODE_FAIL/i.test(l)) || undefined;
  if (srun.error !== undefined) return { ...base, code: null, signal: null, error: srun.error };
  if (f.cannotStart !== undefined) {
    // The step ran nothing (Slurm would have run it in /tmp; its command is not there).
    const error = f.cannotStart;
    return { ...base, code: null, signal: null, error, reason: error };
  }
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
  // Neither the step's mark nor a task's end: the task never ran (Slurm refused the step: an
  // option it rejects, an allocation gone, a controller that does not answer). srun's exit code
  // is no job's: none, as for a local job that could not start, srun's words the reason.
  if (f.stepId === undefined && !f.taskSeen) {
    const said = f.said.map(clean).join("; ");
    return {
      ...base,
      code: null,
      signal: null,
      reason: reason ?? (said || `srun exited with ${srun.code}`),
    };
  }
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
