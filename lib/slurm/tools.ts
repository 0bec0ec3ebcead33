/**
 * Slurm's client commands (`scontrol`, `sinfo`, `salloc`, `scancel`) run through the reactor,
 * each bounded by a timeout, their output collected.
 *
 * @module
 */
import type { ChildHandle, Reactor } from "../reactor/mod.ts";
import { isFileSync } from "../runtime/mod.ts";

/** What a client command printed and how it ended. */
export interface ToolResult {
  /** Exit code (null: killed, by the timeout or otherwise). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The command did not finish in time and was killed. */
  timedOut: boolean;
  /** Set when it could not be started. */
  error?: string;
}

/** Where to run the client commands. */
export interface ToolEnv {
  reactor: Reactor;
  env: Record<string, string>;
  cwd: string;
  /** The client commands running now: each is added as it starts and removed as it ends. */
  running?: Set<ChildHandle>;
}

/**
 * Runs one client command to its end, SIGKILLed after `timeoutMs`. `onStderr` sees its stderr
 * as it comes (salloc's "Pending job allocation N"); `onSpawn` gets the child (to stop a salloc).
 *
 * @example
 * ```ts
 * import { createReactor } from "../reactor/mod.ts";
 * import { runTool } from "./tools.ts";
 * const r = createReactor();
 * const res = await runTool({ reactor: r, env: { PATH: "/usr/bin:/bin" }, cwd: "/" }, ["scontrol", "ping"], 10_000);
 * console.log(res.code, res.stdout);
 * ```
 */
export function runTool(
  t: ToolEnv,
  argv: string[],
  timeoutMs: number,
  onStderr?: (text: string) => void,
  onSpawn?: (child: ChildHandle) => void,
): Promise<ToolResult> {
  const dec = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const out = { stdout: "", stderr: "" };
  let timedOut = false;
  // The epoll reactor may report a quick exit before `spawn` returns: no timer is set then.
  let timer: number | undefined, ended = false;
  let child: ChildHandle | undefined;
  return new Promise((done) => {
    child = t.reactor.spawn({
      argv,
      cwd: t.cwd,
      env: t.env,
      onOutput(stream, chunk) {
        const text = dec[stream].decode(chunk, { stream: true });
        out[stream] += text;
        if (stream === "stderr") onStderr?.(text);
      },
      onExit(s) {
        ended = true;
        if (child) t.running?.delete(child);
        if (timer !== undefined) t.reactor.clearTimer(timer);
        done({ code: s.code, ...out, timedOut, error: s.error });
      },
    });
    onSpawn?.(child);
    if (ended) return;
    t.running?.add(child);
    const running = child;
    timer = t.reactor.setTimer(timeoutMs, () => {
      timedOut = true;
      running.kill("SIGKILL");
    });
  });
}

/** Whether `name` is an executable on `PATH` (a path with a slash is taken as it is). */
export function onPath(name: string, path: string | undefined): boolean {
  const dirs = name.includes("/") ? [""] : (path ?? "").split(":").filter(Boolean);
  return dirs.some((d) => isFileSync(d ? `${d}/${name}` : name));
}
