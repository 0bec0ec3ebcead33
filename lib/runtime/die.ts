/**
 * Ending as a program a stop signal interrupted: by that signal, not by an
 * exit code. A shell that waits for a command and gets SIGINT with it (a
 * terminal's Ctrl-C reaches both) stops its own script only when the
 * command died of SIGINT; a command that exits 130 it takes as one that
 * handled the signal, and goes on (`for d in a b; do jx run -f $d/jobs.yaml;
 * done` went on to `b` after a Ctrl-C). So jx, once it has stopped its
 * children and said so, exits 128+N after signal N interrupted it by dying
 * of N, as make does (`jx exec` likewise when its command died of N); a
 * shell still sees `$?` 130 or 143. An exit status of 130 that a command
 * or a script's trap chose stays an exit status.
 *
 * @module
 */
const g = globalThis as {
  Deno?: {
    pid: number;
    permissions?: { querySync?(d: { name: string }): { state: string } };
    dlopen(p: string, s: Record<string, { parameters: string[]; result: string }>): {
      symbols: Record<string, (...a: unknown[]) => unknown>;
    };
  };
  Bun?: unknown;
  process?: { pid: number; platform?: string };
};

/** The stop signals jx listens for (reactor `ListenSignal`), by number. */
const NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

let dying: number | undefined;

/**
 * Asks `exit` to die of stop signal `sig` (a name or a number: SIGINT,
 * SIGTERM, SIGHUP; others are not asked for) when its code is 128 + its
 * number: a run that this signal interrupted, or `jx exec` whose command died
 * of it. The first ask wins, as the first signal decides a run's exit code.
 *
 * @example
 * ```ts
 * import { dieAtExit, dyingOf } from "./die.ts";
 * import { strictEqual } from "node:assert";
 * dieAtExit("SIGTERM");
 * dieAtExit("SIGINT");
 * strictEqual(dyingOf(), 15);
 * ```
 */
export function dieAtExit(sig: string | number): void {
  const n = typeof sig === "number" ? sig : NUMBERS[sig];
  if (n !== undefined && Object.values(NUMBERS).includes(n)) dying ??= n;
}

/** The signal `exit` is to die of (with 128 + its number), if any. */
export function dyingOf(): number | undefined {
  return dying;
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
  // Without --allow-ffi, dlopen would ask on a terminal (and wait): the exit code says it then.
  if (D.permissions?.querySync?.({ name: "ffi" }).state !== "granted") return;
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
