/**
 * Runs a shell script through the plan over a reactor: every job is a
 * `sh -c` in its own process group, its output captured and printed in
 * script order (the earliest unprinted job's output goes straight out, the
 * rest is held until it is that job's turn), barriers dump the state they
 * leave to a temporary file. A stop signal reaches the jobs as it would
 * have reached sh's commands (`onSignal`).
 *
 * @module
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import type { JobSpec } from "../graph/mod.ts";
import type { ExitStatus, ListenSignal, Reactor } from "../reactor/mod.ts";
import {
  Attempts,
  LocalRunner,
  LocalSlots,
  type Reporter,
  RunFrame,
  type Runner,
  type RunnerEnd,
  signalExit,
  signalNumber,
  type Slots,
} from "../scheduler/mod.ts";
import { dieAtExit, sendSignal } from "../runtime/mod.ts";
import { decodeBytes, encodeBytes, RAW_BYTE } from "../runtime/utf8.ts";
import { tempPrefix } from "../runtime/stale.ts";
import type { ParseResult } from "./parse.ts";
import { boundValues, type ShJob, ShPlan, type StartInfo } from "./plan.ts";
import { GroupSignals } from "./signals.ts";
import { initialState, jobEnv, jobScript, shQuote } from "./state.ts";

/**
 * What `runScript` needs.
 *
 * @example
 * ```ts
 * import type { ShRunOptions } from "./run.ts";
 * const o: Partial<ShRunOptions> = { jobs: 4, argv0: "build.sh" };
 * ```
 */
export interface ShRunOptions {
  reactor: Reactor;
  /** Jobs at once. */
  jobs: number;
  /**
   * The job slots, one taken by each job while it runs: make's jobserver pool when make (or
   * `jx exec`) runs jx sh (its limit is then the pool's); default a counter of `jobs`.
   */
  slots?: Slots;
  /** `$0` (the script as named on the command line). */
  argv0: string;
  /** Arguments after the script: `$1`... */
  args?: string[];
  /** The working directory (absolute). */
  cwd: string;
  /** The environment of the script. */
  env: Record<string, string>;
  /** Receives run.start, job.start, job.end and run.end. */
  reporters?: Reporter[];
  /** Where the script's output goes (default: fds 1 and 2). */
  write(fd: 1 | 2, chunk: Uint8Array): void;
  /**
   * Give each job one pipe for stdout and stderr (`exec 2>&1`), so that their
   * lines keep their order: for when fds 1 and 2 are the same file.
   */
  mergeStderr?: boolean;
  /**
   * The rest of a script that starts background commands gets jx's own fds
   * 1 and 2 (inherited, as sh's children get them: the same file offsets),
   * so that jx returns when that sh ends, not when the background commands
   * do. Only where `write` is jx's fds 1 and 2 themselves.
   */
  inheritOutput?: boolean;
  /** The shell that runs each job (default `sh`). */
  shell?: string;
  /** `--check-access`: the commands run traced and are compared with their derivation. */
  check?: ShRunCheck;
  /** The run's exit from what was found (`--strict`), given its own, before run.end says it. */
  exitOf?: (code: number) => number;
}

/**
 * What `runScript` asks of a checked run (`ShAccessCheck`, check.ts): the
 * runner to use, its own temporaries, and each command as it starts.
 *
 * @example
 * ```ts
 * import type { ShRunCheck } from "./run.ts";
 * const none: ShRunCheck = { runner: (r) => r, ignoreUnder() {}, starting() {} };
 * ```
 */
export interface ShRunCheck {
  /** The runner the script's jobs run on, around the local one. */
  runner(inner: Runner): Runner;
  /** A folder of jx sh's own files (never reported). */
  ignoreUnder(dir: string): void;
  /** `job` starts now; its derived paths are relative to `cwd`. */
  starting(job: ShJob, cwd: string): void;
}

/**
 * Runs a parsed script; resolves to its exit status (sh's, or 130/143 when
 * interrupted).
 *
 * @example
 * ```ts
 * import { createReactor } from "../reactor/mod.ts";
 * import { parseScript } from "./parse.ts";
 * import { runScript } from "./run.ts";
 * const reactor = createReactor("portable");
 * const code = await runScript(parseScript("echo hi\n"), {
 *   reactor,
 *   jobs: 2,
 *   argv0: "inline.sh",
 *   cwd: "/tmp",
 *   env: { PATH: "/usr/bin:/bin" },
 *   write: (_fd, chunk) => console.log(new TextDecoder().decode(chunk)),
 * });
 * reactor.close();
 * ```
 */
export function runScript(parsed: ParseResult, opts: ShRunOptions): Promise<number> {
  return new ScriptRun(parsed, opts).run();
}

/** Output of a job not yet shown, in order. */
type Held = { fd: 1 | 2; chunk: Uint8Array }[];

/** Between the stop signal and SIGKILL when the script is interrupted (also the watchdog's). */
export const GRACE_MS = 3000;

/** How often `watchRestShell` looks whether the rest's sh is still alive. */
const REST_LOOK_MS = 50;

/** Whether process `pid` is alive (not gone, not a zombie). */
function shellAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

/**
 * One run of a script: its `ShPlan` driven through a runner (the job slots
 * of `-j`), inside the frame `jx run`'s `Builder` uses (`RunFrame`:
 * reporters, clock, stop signals, run and job start events), with its
 * attempt machinery (`Attempts`). Why not the `Builder` itself:
 * ARCHITECTURE.md, "jx sh and the Builder".
 */
class ScriptRun {
  private plan: ShPlan;
  private tmp = mkdtempSync(tempPrefix("sh"));
  private reactor: Reactor;
  private attempts: Attempts;
  private frame: RunFrame;
  private held = new Map<number, Held>();
  private ended = false;
  private resolveDone!: (code: number) => void;
  /** Whether a signal went to jx's process group or to jx alone (`passOn`). */
  private group: GroupSignals;
  /** The pid of the rest of the script's sh, once it runs. */
  private restPid = 0;
  /** Whether `watchRestShell` looks after that sh. */
  private watchingRest = false;
  /** The job sh would be running when a signal stopped the run: its output still goes out. */
  private current?: ShJob;
  /** The job slots (`ShRunOptions.slots`): each running job holds one. */
  private slots: Slots;

  constructor(private parsed: ParseResult, private opts: ShRunOptions) {
    this.reactor = opts.reactor;
    const state = initialState(opts.cwd, opts.env);
    state.positional = opts.args ?? [];
    this.plan = new ShPlan(parsed, { state, argv0: opts.argv0 });
    this.slots = opts.slots ?? new LocalSlots(opts.jobs);
    const local = new LocalRunner(this.reactor, this.slots);
    // A token of make's pool written back by another process: a job waiting for one may start.
    local.onCapacity = () => this.pump();
    this.attempts = new Attempts(this.reactor, opts.check?.runner(local) ?? local);
    opts.check?.ignoreUnder(this.tmp);
    this.frame = new RunFrame(this.reactor, opts.reporters ?? []);
    this.group = new GroupSignals(this.reactor, opts.env);
  }

  run(): Promise<number> {
    const done = new Promise<number>((r) => (this.resolveDone = r));
    this.frame.listen((sig, first) => this.onSignal(sig, !first), (sig) => this.passOn(sig));
    // Ctrl-Z: the jobs (and the rest of the script's sh) are stopped with jx, as sh's command would be.
    this.frame.listenSuspend(this.attempts);
    this.frame.begin(this.parsed.items.length, this.slots.limit, this.slots.role ?? "none");
    this.pump();
    return done;
  }

  /** Writes what may be shown now: ended jobs in script order, then the head's output so far. */
  private flush(): void {
    const { plan, held, opts } = this;
    for (const job of plan.takeFlushable()) {
      for (const c of held.get(job.id) ?? []) opts.write(c.fd, c.chunk);
      held.delete(job.id);
    }
    // Jobs that had ended when the script stopped: their output is dropped.
    for (const job of plan.takeDropped()) held.delete(job.id);
    const head = plan.head();
    if (head && held.has(head.id)) {
      for (const c of held.get(head.id)!) opts.write(c.fd, c.chunk);
      held.set(head.id, []);
    }
  }

  /** The command line of a job: `sh -c TEXT`, or through a file when the text is too long. */
  private command(job: ShJob, s: StartInfo, dumpFile?: string, probeFile?: string) {
    const { plan, opts } = this;
    const inherit = this.inherits(job);
    const prelude = {
      errexit: s.errexit || (job.rest && !job.cond),
      cond: job.cond && !job.rest,
      status: s.status,
      binds: boundValues(job.binds),
      dumpFile,
      probeFile,
      line: job.line,
      openEnd: job.openEnd,
      // An inherited stdout and stderr are already what sh's would be.
      mergeStderr: opts.mergeStderr && !inherit,
    };
    const shell = opts.shell ?? "sh";
    const text = jobScript(plan.state, job.text, prelude);
    const cwd = plan.state.cwd;
    const jobDir = join(this.tmp, `j${job.id}`);
    // Bytes that are not UTF-8 cannot go through an argument (it is encoded as UTF-8): a file holds them.
    const fits = text.length <= ARG_LIMIT / 4 || new TextEncoder().encode(text).length <= ARG_LIMIT;
    if (fits && !RAW_BYTE.test(text)) {
      return { argv: [shell, "-c", text, opts.argv0, ...plan.state.positional], cwd, jobDir };
    }
    // Too long for one argument (E2BIG): sh runs it as a file whose path is
    // `$0`, so that its messages start as sh's ("script.sh: 12: ...").
    const where = scriptPath(jobDir, opts.argv0);
    if (where) {
      const chdir = jobScript(plan.state, job.text, { ...prelude, chdir: plan.state.cwd });
      mkdirSync(dirname(where.file), { recursive: true });
      mkdirSync(where.cwd, { recursive: true });
      writeFileSync(where.file, encodeBytes(chdir));
      return { argv: [shell, opts.argv0, ...plan.state.positional], cwd: where.cwd, jobDir };
    }
    // `$0` is absolute: sourced from a file (sh's messages then also name the file).
    const file = join(jobDir, "job.sh");
    mkdirSync(jobDir, { recursive: true });
    writeFileSync(file, encodeBytes(text));
    const argv = [shell, "-c", `. ${shQuote(file)}`, opts.argv0, ...plan.state.positional];
    return { argv, cwd, jobDir };
  }

  /** Whether the job writes to jx's fds 1 and 2 itself (`ShRunOptions.inheritOutput`). */
  private inherits(job: ShJob): boolean {
    return !!(job.rest && job.background && this.opts.inheritOutput);
  }

  /** Starts one job of the script on the runner. */
  private start(s: StartInfo): void {
    const { job } = s;
    const dumpFile = s.barrier && !job.rest ? join(this.tmp, `s${job.id}`) : undefined;
    const probeFile = s.probe ? join(this.tmp, `p${job.id}`) : undefined;
    const { argv, cwd, jobDir } = this.command(job, s, dumpFile, probeFile);
    const began = this.reactor.now();
    this.held.set(job.id, []);
    const spec = shSpec(job, argv, cwd, this.inherits(job));
    this.opts.check?.starting(job, this.plan.state.cwd);
    if (!this.opts.check) this.group.watch();
    let started = false;
    const onStart = (pid: number) => {
      started = true;
      if (job.rest) this.restPid = pid;
      this.frame.jobStart(job.name, pid, 1);
    };
    // Its argv sets $0 already (the script's name, as sh gives it).
    this.attempts.start(job.id, { spec, argv, env: jobEnv(this.plan.state), attempt: 1 }, {
      started: onStart,
      output: (stream, chunk) => {
        const fd = stream === "stdout" ? 1 : 2;
        if (this.plan.head() === job || this.current === job) this.opts.write(fd, chunk);
        else this.held.get(job.id)?.push({ fd, chunk: chunk.slice() });
      },
      ended: (end) => {
        if (!started) onStart(0);
        this.slots.give(1);
        rmSync(jobDir, { recursive: true, force: true });
        this.jobEnded(job, exitOf(end), began, dumpFile ?? probeFile);
      },
    }, { graceMs: GRACE_MS });
  }

  /** A job's process ended: the plan learns its status and the state it left. */
  private jobEnded(job: ShJob, st: ExitStatus, began: number, dumpFile?: string): void {
    const code = st.code ?? (st.signal ? 128 + signalNumber(st.signal) : 127);
    // The rest's sh is the script's shell: dead of a signal, jx dies of it too at its exit.
    if (job.rest && st.signal) dieAtExit(st.signal);
    if (st.error) this.opts.write(2, new TextEncoder().encode(`jx sh: ${job.name}: ${st.error}\n`));
    let dump: string | undefined;
    if (dumpFile) {
      try {
        dump = decodeBytes(readFileSync(dumpFile));
        rmSync(dumpFile, { force: true });
      } catch { /* it was killed before dumping */ }
    }
    const cancelled = job.state === "cancelled";
    this.plan.finish(job, code, dump);
    this.frame.emit({
      type: "job.end",
      t: this.frame.t(),
      job: job.name,
      status: cancelled || this.frame.interrupted ? "cancelled" : code === 0 ? "ok" : "failed",
      exit: st.code,
      signal: st.signal,
      ms: this.reactor.now() - began,
      attempt: 1,
      ...(st.error ? { error: st.error } : {}),
      ...(job.cond && code !== 0 ? { condition: true } : {}),
    });
    if (cancelled) this.held.delete(job.id);
    this.pump();
  }

  private pump(): void {
    if (this.ended) return;
    const { plan } = this;
    this.flush();
    if (!this.frame.interrupted) {
      for (const s of this.startable()) this.start(s);
      this.flush();
    }
    // Stopped by the script (exit, set -e): what ran ahead ends (a signal: `onSignal`).
    if (plan.stopped !== undefined && !this.frame.interrupted) {
      for (const j of plan.cancelledRunning()) this.attempts.signal(j.id, "SIGTERM");
    }
    if (plan.finished || (this.frame.interrupted && this.attempts.size === 0)) this.end();
  }

  /**
   * The jobs that may start now, each with a job slot taken (a token of make's pool read, or
   * the implicit slot); slots taken for jobs that cannot start yet are given back at once.
   * When the pool is empty, `onCapacity` calls `pump` once a token comes back.
   */
  private startable(): StartInfo[] {
    const { plan, slots } = this;
    let took = 0;
    while (plan.running + took < slots.limit && slots.tryTake(1)) took++;
    const out = plan.startable(took);
    if (out.length < took) slots.give(took - out.length);
    return out;
  }

  /**
   * While the rest of the script runs as one sh, that sh is the script's
   * shell: a signal to jx goes on to it as it would have reached it under
   * sh (to its process group, the command it waits for included, when jx's
   * whole group got it, as from a terminal's Ctrl-C; else to that sh alone),
   * its traps run, and its exit status is the script's. Otherwise the
   * signal stops the run.
   */
  private passOn(sig: ListenSignal): boolean {
    const rest = this.plan.runningRest();
    if (!rest) return false;
    if (!this.restPid || this.group.toGroup(sig)) {
      this.attempts.signal(rest.id, sig);
      return true;
    }
    // To jx alone: to that sh alone, whose trap runs once its command ends (or which dies of it).
    // A sh already gone (its command holding the output open): the run stops.
    try {
      sendSignal(this.restPid, sig);
    } catch {
      return false;
    }
    this.watchRestShell(rest.id, this.restPid);
    return true;
  }

  /**
   * After a signal to the rest's sh alone: if that sh dies while its command runs on (sh dies
   * of SIGTERM at once and leaves its command running), jx leaves nothing running: the rest's
   * process group gets SIGTERM, and the script's status is what sh died of.
   */
  private watchRestShell(id: number, pid: number): void {
    if (this.watchingRest) return;
    this.watchingRest = true;
    const look = () => {
      if (this.plan.runningRest()?.id !== id) return void (this.watchingRest = false);
      if (!shellAlive(pid)) {
        this.watchingRest = false;
        return void this.attempts.signal(id, "SIGTERM");
      }
      this.reactor.setTimer(REST_LOOK_MS, look);
    };
    this.reactor.setTimer(REST_LOOK_MS, look);
  }

  /**
   * A signal stops the run: nothing new starts, and the jobs get what sh's
   * commands would have. When jx's whole process group got it (Ctrl-C),
   * under sh the command sh waits for gets it too: every job gets it (its
   * handler runs, its output goes out), then SIGKILL after the grace. When
   * jx alone got SIGINT, sh lets its command end, then dies of it: so does
   * the job sh would be running (the first one not ended), the ones that ran
   * ahead get SIGTERM. SIGTERM or SIGHUP to jx alone: sh dies at once and
   * leaves its command running; jx leaves nothing, every job gets SIGTERM.
   * A second signal kills them all.
   */
  private onSignal(sig: ListenSignal, again: boolean): void {
    const head = this.plan.head();
    this.plan.cancelAll(signalExit(sig));
    if (again) this.attempts.killAll();
    else {
      const toGroup = this.group.toGroup(sig);
      this.current = head;
      const ends = !toGroup && sig === "SIGINT" ? head : undefined;
      this.attempts.terminateAll(toGroup ? sig : "SIGTERM", ends?.id);
    }
    this.pump();
  }

  private end(): void {
    this.ended = true;
    this.attempts.close();
    this.group.close();
    rmSync(this.tmp, { recursive: true, force: true });
    // jx sh is never cancelled: its run.end has an exit.
    const code = this.opts.exitOf?.(this.plan.exitStatus) ?? this.plan.exitStatus;
    this.resolveDone(this.frame.end(code).exit ?? code);
  }
}

/** A runner's end as an exit status (a script job always has a process). */
function exitOf(end: RunnerEnd): ExitStatus {
  switch (end.kind) {
    case "exited":
      return end.status;
    case "restored":
    case "skipped":
      return { code: 0, signal: null };
    default: {
      const _exhaustive: never = end;
      return _exhaustive;
    }
  }
}

/** The job spec a runner takes for a script job: its command line, one slot. */
function shSpec(job: ShJob, argv: string[], cwd: string, inheritOutput: boolean): JobSpec {
  return {
    name: job.name,
    kind: "job",
    index: job.id,
    argv,
    command: job.text,
    needs: [],
    reads: [],
    writes: [],
    pools: {},
    tokens: 1,
    cwd,
    env: {},
    graceMs: GRACE_MS,
    retries: 0,
    pos: { line: job.line, col: 1 },
    ...(inheritOutput ? { inheritOutput } : {}),
  };
}

/** Bytes of one `sh -c` text above which it goes through a file (one argument may hold 128 KiB). */
const ARG_LIMIT = 100_000;

/**
 * Where to put a job's text so that `sh ARGV0`, run in `cwd`, reads it:
 * under `dir`, at `argv0` relative to a directory deep enough for its `..`.
 * Undefined when `argv0` is absolute or looks like an option.
 */
function scriptPath(dir: string, argv0: string): { cwd: string; file: string } | undefined {
  if (argv0.startsWith("/") || argv0.startsWith("-") || !argv0) return undefined;
  const ups = argv0.split("/").filter((s) => s === "..").length;
  const cwd = join(dir, ...Array(ups).fill("d"));
  const file = normalize(join(cwd, argv0));
  if (!file.startsWith(dir + "/") || argv0.endsWith("/")) return undefined;
  return { cwd, file };
}
