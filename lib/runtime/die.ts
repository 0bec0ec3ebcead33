/**
 * Ending as a program a stop signal interrupted: by that signal, not by an
 * exit code. A shell that waits for a command and gets SIGINT with it (a
 * terminal's Ctrl-C reaches both) stops its own script only when the
 * command died of SIGINT; a command that exits 130 it takes as one that
 * handled the signal, and goes on (`for d in a b; do jx run -f $d/jobs.yaml;
 * done` went on to `b` after a Ctrl-C). So jx, once it has stopped its
 * children and said so, exits 128+N after hearing signal N by dying of N,
 * as make does; a shell still sees `$?` 130 or 143.
 *
 * @module
 */
const g = globalThis as {
  Deno?: {
    pid: number;
    dlopen(p: string, s: Record<string, { parameters: string[]; result: string }>): {
      symbols: Record<string, (...a: unknown[]) => unknown>;
    };
  };
  Bun?: unknown;
  process?: { pid: number; platform?: string };
};

/** The stop signals jx listens for (reactor `ListenSignal`), by number. */
const NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

let heard: number | undefined;

/**
 * Notes that jx heard stop signal `name` (the reactors' `onSignal` calls it
 * before the run's listener).
 *
 * @example
 * ```ts
 * import { heardSignal, noteSignal } from "./die.ts";
 * import { strictEqual } from "node:assert";
 * noteSignal("SIGTERM");
 * strictEqual(heardSignal(), 15);
 * ```
 */
export function noteSignal(name: string): void {
  heard = NUMBERS[name] ?? heard;
}

/** The number of the last stop signal jx heard, if any. */
export function heardSignal(): number | undefined {
  return heard;
}

/**
 * Dies of signal `n`: its disposition set back to the default, then sent to
 * this process. Returns only when it could not (no FFI, no glibc): then the
 * caller exits with a code.
 */
export function dieOf(n: number): void {
  try {
    if (g.Bun !== undefined) dieOnBun(n);
    else if (g.Deno !== undefined) dieOnDeno(n);
  } catch {
    // no way to it here: the caller's exit code says it
  }
}

function dieOnDeno(n: number): void {
  const D = g.Deno!;
  const { symbols } = D.dlopen("libc.so.6", {
    signal: { parameters: ["i32", "pointer"], result: "pointer" },
    kill: { parameters: ["i32", "i32"], result: "i32" },
  });
  symbols.signal(n, null); // SIG_DFL
  symbols.kill(D.pid, n);
}

function dieOnBun(n: number): void {
  // Required synchronously, behind a specifier Deno's module graph never sees.
  const req = (import.meta as unknown as { require?: (s: string) => unknown }).require;
  if (typeof req !== "function" || g.process?.platform !== "linux") return;
  const ffi = req(["bun", "ffi"].join(":")) as {
    dlopen(p: string, s: Record<string, { args: string[]; returns: string }>): {
      symbols: Record<string, (...a: unknown[]) => unknown>;
    };
  };
  const { symbols } = ffi.dlopen("libc.so.6", {
    signal: { args: ["i32", "ptr"], returns: "ptr" },
    kill: { args: ["i32", "i32"], returns: "i32" },
  });
  symbols.signal(n, null); // SIG_DFL
  symbols.kill(g.process!.pid, n);
}
