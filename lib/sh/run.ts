/**
 * Runs a shell script through the plan over a reactor: every job is a
 * `sh -c` in its own process group, its output captured and printed in
 * script order (the earliest unprinted job's output goes straight out, the
 * rest is held until it is that job's turn), barriers dump the state they
 * leave to a temporary file, Ctrl-C and SIGTERM stop every process group.
 *
 * @module
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import type { ListenSignal, Reactor } from "../reactor/mod.ts";
import { type Reporter, type RunEvent, signalExit, signalNumber } from "../scheduler/mod.ts";
import type { ParseResult } from "./parse.ts";
import { type ShJob, ShPlan } from "./plan.ts";
import { initialState, jobScript, shQuote } from "./state.ts";

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
   * The pid whose fds 1 and 2 the rest of a script that starts background
   * commands writes to directly (`/proc/PID/fd/N`, as sh would: jx then
   * returns when that sh ends, not when the background commands do).
   */
  directTo?: number;
  /** The shell that runs each job (default `sh`). */
  shell?: string;
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
  const { reactor } = opts;
  const state = initialState(opts.cwd, opts.env);
  state.positional = opts.args ?? [];
  const plan = new ShPlan(parsed, { state, argv0: opts.argv0 });
  const tmp = mkdtempSync(join(tmpdir(), "jx-sh-"));
  const reporters = opts.reporters ?? [];
  const runStart = reactor.now();
  const t = () => reactor.now() - runStart;
  const emit = (e: RunEvent) => {
    for (const r of reporters) r.event(e);
  };
  const held = new Map<number, { fd: 1 | 2; chunk: Uint8Array }[]>();
  const handles = new Map<number, { kill(sig: string): void }>();
  let interrupted: ListenSignal | undefined;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let ended = false;
  let killTimer: number | undefined;

  const flush = () => {
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
  };

  const start = (
    job: ShJob,
    barrier: boolean,
    status: number,
    errexit: boolean,
    probe: boolean,
  ) => {
    const dumpFile = barrier && !job.rest ? join(tmp, `s${job.id}`) : undefined;
    const probeFile = probe ? join(tmp, `p${job.id}`) : undefined;
    const prelude = {
      errexit: errexit || (job.rest && !job.cond),
      status,
      binds: job.binds,
      dumpFile,
      probeFile,
      line: job.line,
      mergeStderr: opts.mergeStderr,
      directTo: job.rest && job.background ? opts.directTo : undefined,
    };
    let text = jobScript(plan.state, job.text, prelude);
    let argv = [opts.shell ?? "sh", "-c", text, opts.argv0, ...plan.state.positional];
    let cwd = plan.state.cwd;
    const jobDir = join(tmp, `j${job.id}`);
    if (text.length > ARG_LIMIT / 4 && new TextEncoder().encode(text).length > ARG_LIMIT) {
      // Too long for one argument (E2BIG): sh runs it as a file whose path is
      // `$0`, so that its messages start as sh's ("script.sh: 12: ...").
      const where = scriptPath(jobDir, opts.argv0);
      if (where) {
        text = jobScript(plan.state, job.text, { ...prelude, chdir: plan.state.cwd });
        mkdirSync(dirname(where.file), { recursive: true });
        mkdirSync(where.cwd, { recursive: true });
        writeFileSync(where.file, text);
        argv = [opts.shell ?? "sh", opts.argv0, ...plan.state.positional];
        cwd = where.cwd;
      } else {
        // `$0` is absolute: sourced from a file (sh's messages then also name the file).
        const file = join(jobDir, "job.sh");
        mkdirSync(jobDir, { recursive: true });
        writeFileSync(file, text);
        argv = [
          opts.shell ?? "sh",
          "-c",
          `. ${shQuote(file)}`,
          opts.argv0,
          ...plan.state.positional,
        ];
      }
    }
    const began = reactor.now();
    let started = false;
    held.set(job.id, []);
    const onStart = (pid: number) => {
      started = true;
      emit({ type: "job.start", t: t(), job: job.name, pid, attempt: 1 });
    };
    const handle = reactor.spawn({
      argv,
      cwd,
      env: plan.state.env,
      onStart,
      onOutput: (stream, chunk) => {
        const fd = stream === "stdout" ? 1 : 2;
        if (plan.head() === job) opts.write(fd, chunk);
        else held.get(job.id)?.push({ fd, chunk: chunk.slice() });
      },
      onExit: (st) => {
        if (!started) onStart(0);
        handles.delete(job.id);
        rmSync(jobDir, { recursive: true, force: true });
        const code = st.code ?? (st.signal ? 128 + signalNumber(st.signal) : 127);
        if (st.error) opts.write(2, new TextEncoder().encode(`jx sh: ${job.name}: ${st.error}\n`));
        let dump: string | undefined;
        if (dumpFile || probeFile) {
          try {
            dump = readFileSync(dumpFile ?? probeFile!, "utf8");
            rmSync(dumpFile ?? probeFile!, { force: true });
          } catch { /* it was killed before dumping */ }
        }
        const cancelled = job.state === "cancelled";
        plan.finish(job, code, dump);
        emit({
          type: "job.end",
          t: t(),
          job: job.name,
          status: cancelled || interrupted ? "cancelled" : code === 0 ? "ok" : "failed",
          exit: st.code,
          signal: st.signal,
          ms: reactor.now() - began,
          attempt: 1,
          ...(st.error ? { error: st.error } : {}),
          ...(job.cond && code !== 0 ? { condition: true } : {}),
        });
        if (cancelled) held.delete(job.id);
        pump();
      },
    });
    handles.set(job.id, handle);
  };

  const pump = () => {
    if (ended) return;
    flush();
    if (!interrupted) {
      for (const s of plan.startable(opts.jobs - plan.running)) {
        start(s.job, s.barrier, s.status, s.errexit, s.probe);
      }
      flush();
    }
    if (plan.stopped !== undefined) {
      for (const j of plan.cancelledRunning()) handles.get(j.id)?.kill("SIGTERM");
    }
    if (plan.finished || (interrupted && handles.size === 0)) end();
  };

  const end = () => {
    ended = true;
    if (killTimer !== undefined) reactor.clearTimer(killTimer);
    for (const u of unlisten) u();
    rmSync(tmp, { recursive: true, force: true });
    const exit = interrupted ? signalExit(interrupted) : plan.exitStatus;
    emit({
      type: "run.end",
      t: t(),
      status: interrupted ? "interrupted" : exit === 0 ? "ok" : "failed",
      exit,
      ms: reactor.now() - runStart,
    });
    resolveDone(exit);
  };

  const unlisten: (() => void)[] = [];
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as ListenSignal[]) {
    unlisten.push(reactor.onSignal(sig, () => {
      const again = interrupted !== undefined;
      interrupted ??= sig;
      plan.cancelAll(signalExit(sig));
      for (const h of handles.values()) h.kill(again ? "SIGKILL" : "SIGTERM");
      if (!again) {
        killTimer = reactor.setTimer(3000, () => {
          for (const h of handles.values()) h.kill("SIGKILL");
        });
      }
      pump();
    }));
  }

  emit({ type: "run.start", t: 0, jobs: parsed.items.length, slots: opts.jobs, jobserver: "none" });
  pump();
  return done;
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
