/**
 * The reactor conformance cases: the same behaviour from every backend, on
 * every runtime. Runtime-neutral (node: modules only), so the Deno test and
 * the Bun runner (`run_cases.ts`) share them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import type { ChildHandle, ExitStatus, Reactor } from "../../lib/reactor/mod.ts";
import { C, libc } from "../../lib/reactor/libc.ts";

/** One case: a name and a check against a fresh reactor. */
export interface Case {
  name: string;
  /** An optional part of the `Reactor` interface the case checks; skipped (visibly) without it. */
  needs?: "watch";
  run(r: Reactor): Promise<void>;
}

/**
 * Why `c` does not apply to `r` (the runner reports it as skipped, with this
 * reason), or undefined when it does.
 */
export function skipReason(c: Case, r: Reactor): string | undefined {
  if (c.needs === "watch" && !r.watch) {
    return `the ${r.name} reactor has no watch on this runtime (no raw fds)`;
  }
  return undefined;
}

interface Ran {
  pid: number;
  out: string;
  err: string;
  bytes: number;
  status: ExitStatus;
  order: string[];
}

const ENV: Record<string, string> = { PATH: "/usr/local/bin:/usr/bin:/bin", LC_ALL: "C" };

/** The code and signal of a status (backends may add CPU times). */
const exit = (s: ExitStatus) => ({ code: s.code, signal: s.signal });

/** Spawns `argv` and resolves when it exits. */
export function run(
  r: Reactor,
  argv: string[],
  opts: {
    cwd?: string;
    env?: Record<string, string>;
    keep?: boolean;
    onPid?: (pid: number) => void;
  } = {},
): Promise<Ran> {
  return new Promise((resolve) => {
    const dec = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const res: Ran = {
      pid: 0,
      out: "",
      err: "",
      bytes: 0,
      status: { code: null, signal: null },
      order: [],
    };
    const h = r.spawn({
      argv,
      cwd: opts.cwd ?? "/",
      env: opts.env ?? ENV,
      onStart: (pid) => {
        res.pid = pid;
        opts.onPid?.(pid);
      },
      onOutput: (stream, chunk) => {
        res.bytes += chunk.length;
        res.order.push(stream);
        if (opts.keep === false) return;
        if (stream === "stdout") res.out += dec.stdout.decode(chunk, { stream: true });
        else res.err += dec.stderr.decode(chunk, { stream: true });
      },
      onExit: (status) => {
        res.status = status;
        if (!res.pid) res.pid = h?.pid ?? 0;
        resolve(res);
      },
    });
  });
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Spawns `argv` with a stdin pipe; `feed` gets the handle right after spawn. */
function withStdin(
  r: Reactor,
  argv: string[],
  feed: (h: ChildHandle) => void,
): Promise<{ out: string; status: ExitStatus }> {
  return new Promise((resolve) => {
    let out = "";
    const dec = new TextDecoder();
    const h = r.spawn({
      argv,
      cwd: "/",
      env: ENV,
      stdin: "pipe",
      onOutput: (stream, chunk) => {
        if (stream === "stdout") out += dec.decode(chunk, { stream: true });
      },
      onExit: (status) => resolve({ out, status }),
    });
    feed(h);
  });
}

/** Every case. */
export const CASES: Case[] = [
  {
    name: "spawn, output and exit 0",
    async run(r) {
      const x = await run(r, ["echo", "hello"]);
      assert.equal(x.out, "hello\n");
      assert.deepEqual(exit(x.status), { code: 0, signal: null });
      assert.ok(x.pid > 0);
    },
  },
  {
    name: "exit codes and stderr kept apart",
    async run(r) {
      const x = await run(r, ["/bin/sh", "-c", "echo out; echo err >&2; exit 7"]);
      assert.equal(x.out, "out\n");
      assert.equal(x.err, "err\n");
      assert.deepEqual(exit(x.status), { code: 7, signal: null });
    },
  },
  {
    name: "death by signal is reported by name",
    async run(r) {
      const x = await run(r, ["/bin/sh", "-c", "kill -TERM $$"]);
      assert.deepEqual(exit(x.status), { code: null, signal: "SIGTERM" });
    },
  },
  {
    name: "a flood of output arrives whole and in order",
    async run(r) {
      const x = await run(r, ["seq", "1", "200000"]);
      assert.equal(x.status.code, 0);
      const lines = x.out.split("\n");
      assert.equal(lines.length, 200001);
      assert.equal(lines[0], "1");
      assert.equal(lines[199999], "200000");
      for (let i = 0; i < 200000; i += 9973) assert.equal(lines[i], String(i + 1));
      const big = await run(r, ["head", "-c", "20000000", "/dev/zero"], { keep: false });
      assert.equal(big.bytes, 20_000_000);
    },
  },
  {
    name: "a flood whose output callback makes a failing libc call arrives whole (errno kept)",
    async run(r) {
      // The callback's failing close(-1) sets errno to EBADF between jx's read and its errno
      // check: the pipe must not be taken for broken (the child would die of SIGPIPE).
      let ffi = true;
      try {
        libc();
      } catch {
        ffi = false;
      }
      const bytes = 64 * 1024 * 1024;
      let got = 0;
      const status = await new Promise<ExitStatus>((done) => {
        r.spawn({
          argv: ["/bin/sh", "-c", `head -c ${bytes} /dev/zero`],
          cwd: "/",
          env: ENV,
          onOutput: (_s, chunk) => {
            got += chunk.length;
            if (ffi) libc().symbols.close(-1);
          },
          onExit: done,
        });
      });
      assert.deepEqual(exit(status), { code: 0, signal: null });
      assert.equal(got, bytes);
    },
  },
  {
    name: "output written just before exit is not lost",
    async run(r) {
      const results = await Promise.all(
        Array.from(
          { length: 50 },
          (_, i) => run(r, ["/bin/sh", "-c", `printf %s ${i}; exit ${i % 3}`]),
        ),
      );
      results.forEach((x, i) => {
        assert.equal(x.out, String(i));
        assert.equal(x.status.code, i % 3);
      });
    },
  },
  {
    name: "a child that closes its output and runs on is reported at its exit, not before",
    async run(r) {
      const t0 = Date.now();
      const x = await run(r, ["/bin/sh", "-c", "echo early; exec >&- 2>&-; sleep 0.3; exit 4"]);
      assert.equal(x.out, "early\n");
      assert.deepEqual(exit(x.status), { code: 4, signal: null });
      assert.ok(Date.now() - t0 >= 250, "the exit came after the sleep");
    },
  },
  {
    name: "a grandchild holding the pipes: the exit comes after all of its output",
    async run(r) {
      const x = await run(r, ["/bin/sh", "-c", "(sleep 0.2; echo late) & echo first; exit 3"]);
      assert.equal(x.out, "first\nlate\n");
      assert.deepEqual(exit(x.status), { code: 3, signal: null });
    },
  },
  {
    name: "kill signals the whole process group, grandchildren included",
    async run(r) {
      let kill: ((s: string) => void) | undefined;
      const done = new Promise<Ran>((resolve) => {
        let out = "";
        const h = r.spawn({
          argv: ["/bin/sh", "-c", "sleep 30 & echo $!; wait"],
          cwd: "/",
          env: ENV,
          onOutput: (_s, c) => {
            out += new TextDecoder().decode(c);
            if (out.includes("\n")) kill!("SIGTERM");
          },
          onExit: (status) => resolve({ pid: h.pid, out, err: "", bytes: 0, status, order: [] }),
        });
        kill = (s) => h.kill(s);
      });
      const x = await done;
      const grandchild = Number(x.out.trim());
      assert.equal(x.status.signal, "SIGTERM");
      for (let i = 0; i < 1000 && alive(grandchild); i++) await sleep(10);
      assert.equal(alive(grandchild), false, "grandchild stopped");
    },
  },
  {
    name: "each child leads a new process group and session",
    async run(r) {
      const x = await run(r, ["/bin/sh", "-c", "ps -o pgid= -o sid= -p $$"]);
      const [pgid, sid] = x.out.trim().split(/\s+/).map(Number);
      assert.equal(pgid, x.pid);
      assert.equal(sid, x.pid);
      assert.notEqual(pgid, process.pid);
    },
  },
  {
    name: "children get default signal dispositions (SIGPIPE kills quietly)",
    async run(r) {
      const x = await run(r, ["/bin/sh", "-c", "yes | head -n 1"]);
      assert.equal(x.out, "y\n");
      assert.equal(x.err, "", "no 'Broken pipe' error: SIGPIPE is not ignored");
      assert.equal(x.status.code, 0);
    },
  },
  {
    name: "stdin is /dev/null; cwd and the environment are exactly as given",
    async run(r) {
      const x = await run(r, ["/bin/sh", "-c", "cat; pwd; env | sort"], {
        cwd: "/tmp",
        env: { ...ENV, JX_TEST: "a b" },
      });
      assert.equal(
        x.out,
        "/tmp\nJX_TEST=a b\nLC_ALL=C\nPATH=/usr/local/bin:/usr/bin:/bin\nPWD=/tmp\n",
      );
    },
  },
  {
    name: "stdin pipe: writes arrive in order, before and after the start; close gives EOF",
    async run(r) {
      let later: ChildHandle | undefined;
      const x = withStdin(r, ["/bin/sh", "-c", "cat; echo eof"], (h) => {
        h.write!("one\n"); // before the child has necessarily started
        h.write!(new TextEncoder().encode("two\n"));
        later = h;
      });
      await sleep(50);
      later!.write!("three\n");
      later!.closeStdin!();
      later!.write!("after close\n"); // dropped
      const { out, status } = await x;
      assert.equal(out, "one\ntwo\nthree\neof\n");
      assert.equal(status.code, 0);
    },
  },
  {
    name: "stdin pipe: more than the pipe holds never blocks jx and arrives whole",
    async run(r) {
      const size = 3 * 1024 * 1024 + 7;
      const chunk = new Uint8Array(64 * 1024).fill(120);
      let wrote = 0;
      let timerFired = false;
      r.setTimer(1, () => timerFired = true);
      const x = withStdin(r, ["/bin/sh", "-c", "sleep 0.1; wc -c"], (h) => {
        while (wrote < size) {
          const n = Math.min(chunk.length, size - wrote);
          h.write!(chunk.subarray(0, n));
          wrote += n;
        }
        h.closeStdin!();
      });
      assert.equal(timerFired, false, "all the writes returned at once");
      const { out, status } = await x;
      assert.equal(Number(out.trim()), size);
      assert.equal(status.code, 0);
    },
  },
  {
    name: "stdin pipe: writing to a child that does not read, or has exited, is harmless",
    async run(r) {
      let h!: ChildHandle;
      const big = new Uint8Array(1024 * 1024);
      const x = withStdin(r, ["/bin/sh", "-c", "exec 0<&-; sleep 0.05; echo done"], (c) => {
        h = c;
        c.write!(big);
      });
      const { out, status } = await x;
      assert.equal(out, "done\n");
      assert.equal(status.code, 0);
      h.write!("late\n");
      h.closeStdin!();
      // A child spawned without a pipe: write is a no-op.
      const plain = r.spawn({
        argv: ["/bin/true"],
        cwd: "/",
        env: ENV,
        onOutput() {},
        onExit() {},
      });
      plain.write?.("ignored");
      await sleep(20);
    },
  },
  {
    name: "argv and environments arrive whole while many spawns are in flight and collected",
    async run(r) {
      // Each child's strings differ and are large: the backend's C strings (the epoll reactor's
      // slab) are replaced several times while spawns are in flight, and a full collection (where
      // the runtime offers one) runs before they have all returned, memory reused right after.
      const collect = (globalThis as { Bun?: { gc(sync: boolean): void } }).Bun?.gc;
      for (let round = 0; round < 8; round++) {
        const want: string[] = [];
        const runs = Array.from({ length: 48 }, (_, i) => {
          if (i % 12 === 11) collect?.(true);
          const word = `${round}-${i}-` + String.fromCharCode(97 + (i % 26)).repeat(3000 + 97 * i);
          const big = `${i}:` + String.fromCharCode(65 + (i % 26)).repeat(20000 + 131 * i);
          want.push(`${word}\n${big}`);
          return run(r, ["/bin/sh", "-c", 'printf "%s\\n%s" "$1" "$BIG"', "sh", word], {
            env: { ...ENV, BIG: big, [`JX_N${i}`]: String(i) },
          });
        });
        collect?.(true);
        const junk = Array.from({ length: 64 }, () => new Uint8Array(64 * 1024).fill(0x5a));
        const got = await Promise.all(runs);
        assert.equal(junk.length, 64);
        got.forEach((x, i) => {
          assert.deepEqual(exit(x.status), { code: 0, signal: null }, `${i}: ${x.err}`);
          assert.ok(x.out === want[i], `round ${round}, child ${i}: ${x.out.slice(0, 60)}`);
        });
      }
    },
  },
  {
    name: "a command that does not exist is reported, not thrown",
    async run(r) {
      const x = await run(r, ["/no/such/jx-command"]);
      assert.equal(x.status.code === 0, false);
      const said = (x.status.error ?? "") + x.err;
      assert.match(said, /jx-command/);
      // The same start error on every backend and runtime, for a path and a name not on PATH
      // (Deno's portable one started it through setsid(1): exit 127 and setsid's message).
      for (const cmd of ["/no/such/jx-command", "no-such-jx-command"]) {
        const y = await run(r, [cmd]);
        assert.deepEqual(y.status, {
          code: null,
          signal: null,
          error: `cannot start '${cmd}' in /: no such file or directory`,
        });
        assert.equal(y.err, "");
      }
      // A working folder that is a file, or that is missing: said so (the spawn's "no such file
      // or directory" read as though /bin/sh were missing; strerror's "Not a directory" it was).
      const file = "/bin/sh";
      const z = await run(r, ["/bin/sh", "-c", "true"], { cwd: file });
      assert.equal(
        z.status.error,
        "cannot start '/bin/sh': its working directory /bin/sh is not a directory",
      );
      const gone = await run(r, ["/bin/sh", "-c", "true"], { cwd: "/no/such/jx-folder" });
      assert.equal(
        gone.status.error,
        "cannot start '/bin/sh': its working directory /no/such/jx-folder does not exist",
      );
    },
  },
  {
    name: "timers fire once, in order; cleared timers do not",
    async run(r) {
      const fired: string[] = [];
      const start = r.now();
      await new Promise<void>((resolve) => {
        r.setTimer(40, () => fired.push("b"));
        const c = r.setTimer(20, () => fired.push("never"));
        r.setTimer(10, () => fired.push("a"));
        r.clearTimer(c);
        r.setTimer(60, () => resolve());
      });
      assert.deepEqual(fired, ["a", "b"]);
      assert.ok(r.now() - start >= 55);
    },
  },
  noLeaks(300),
  {
    name: "watch: called while unread, silent once unwatched",
    needs: "watch",
    run: (r) =>
      withPipe(async (s, fds) => {
        const one = new Uint8Array(1);
        const got: number[] = [];
        let calls = 0;
        await new Promise<void>((done) => {
          const stop = r.watch!(fds[0], () => {
            calls++;
            // One byte per call: the fd stays readable, so the callback comes again.
            if (Number(s.read(fds[0], one, 1)) === 1) got.push(one[0]);
            if (got.length === 3) {
              stop();
              done();
            }
          });
          s.write(fds[1], new Uint8Array([1, 2, 3]), 3);
        });
        assert.deepEqual(got, [1, 2, 3]);
        const before = calls;
        s.write(fds[1], new Uint8Array([4]), 1);
        await sleep(50);
        assert.equal(calls, before, "no call after unwatch");
        // Watched again: the byte already there is reported.
        await new Promise<void>((done) => {
          const stop = r.watch!(fds[0], () => {
            stop();
            done();
          });
        });
      }),
  },
  {
    // The jobserver's pool cancels its watch from the callback with what
    // `watch` returned: a callback run inside `watch` (the epoll loop polls at
    // once while a spawn is in flight) left the fd registered, and the next
    // watch failed with "epoll_ctl: File exists" (seen in CI under make -j3).
    name: "watch: the callback never runs before watch returns, a spawn in flight or not",
    needs: "watch",
    run: (r) =>
      withPipe(async (s, fds) => {
        s.write(fds[1], new Uint8Array([1]), 1); // readable before it is watched
        for (let round = 0; round < 20; round++) {
          const child = run(r, ["/bin/true"]); // a spawn in flight
          let returned = false;
          let early = false;
          await new Promise<void>((done) => {
            let stop: (() => void) | undefined = undefined;
            stop = r.watch!(fds[0], () => {
              if (!returned) early = true;
              stop?.();
              done();
            });
            returned = true;
          });
          assert.equal(early, false, `round ${round}: called inside watch`);
          await child;
        }
      }),
  },
  {
    name: "close: no callback runs after it, though its event was waiting already",
    needs: "watch",
    run: (r) =>
      withPipe(async (s, fds) => {
        let calls = 0;
        r.watch!(fds[0], () => calls++);
        await sleep(20); // a wait on the set is pending
        s.write(fds[1], new Uint8Array([1]), 1);
        // The wait returns meanwhile; its events are not handled before this thread is free.
        for (const until = performance.now() + 30; performance.now() < until;);
        r.close();
        await sleep(50);
        assert.equal(calls, 0);
      }),
  },
  {
    // Closing the epoll reactor while a child ran left its exit unreported (a library run
    // awaiting it stayed pending) and the child running, never reaped.
    name: "close while a child runs: its group is killed and its exit reported",
    async run(r) {
      let out = "", pid = 0;
      const dec = new TextDecoder();
      let up = () => {};
      const ready = new Promise<void>((res) => up = res);
      const exited = new Promise<ExitStatus>((onExit) =>
        r.spawn({
          argv: ["/bin/sh", "-c", "sleep 30 & echo $!; wait"],
          cwd: "/",
          env: ENV,
          onStart: (p) => pid = p,
          onOutput: (_stream, chunk) => {
            out += dec.decode(chunk, { stream: true });
            if (out.includes("\n")) up();
          },
          onExit,
        })
      );
      await ready;
      const grandchild = Number(out.trim());
      r.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<undefined>((res) =>
        timer = setTimeout(() => res(undefined), 10_000)
      );
      const status = await Promise.race([exited, late]);
      clearTimeout(timer);
      assert.ok(status, "no exit reported within 10 s of the close");
      assert.deepEqual(exit(status), { code: null, signal: "SIGKILL" });
      for (const p of [pid, grandchild]) {
        for (let i = 0; i < 1000 && alive(p); i++) await sleep(10);
        assert.ok(!alive(p), `process ${p} still runs after the close`);
      }
      // And a spawn after the close starts nothing.
      const after = await run(r, ["/bin/true"]);
      assert.match(after.status.error ?? "", /the reactor is closed/);
    },
  },
];

/** Runs `f` with a non-blocking pipe (read end, write end), closed afterwards. */
async function withPipe(
  f: (s: ReturnType<typeof libc>["symbols"], fds: Int32Array) => Promise<void>,
): Promise<void> {
  const s = libc().symbols;
  const fds = new Int32Array(2);
  assert.equal(s.pipe2(fds, C.O_NONBLOCK | C.O_CLOEXEC), 0);
  try {
    await f(s, fds);
  } finally {
    s.close(fds[0]);
    s.close(fds[1]);
  }
}

/**
 * A case: `n` children of `/bin/true`, 8 at a time; afterwards the count of
 * open fds is back to where it started and no child is left as a zombie.
 */
export function noLeaks(n: number): Case {
  return {
    name: `no fd or zombie is left after ${n} children`,
    async run(r) {
      const fds = () => readdirSync("/proc/self/fd").length;
      await run(r, ["/bin/true"]); // the first spawn loads what stays loaded
      const before = fds();
      const pids: number[] = [];
      let next = 0;
      const worker = async () => {
        while (next < n) {
          next++;
          const x = await run(r, ["/bin/true"]);
          assert.equal(x.status.code, 0);
          pids.push(x.pid);
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      assert.equal(pids.length, n);
      await sleep(50);
      // Other test files share this process and open fds too: allow a little slack;
      // a leak of one fd per child would show as hundreds.
      assert.ok(fds() <= before + 16, `fds: ${before} before, ${fds()} after`);
      // Each child was reaped: none is left as a zombie (or alive).
      const zombies = pids.filter((pid) => {
        try {
          const st = readFileSync(`/proc/${pid}/stat`, "utf8");
          return st.split(") ")[1].split(" ")[1] === String(process.pid);
        } catch {
          return false;
        }
      });
      assert.deepEqual(zombies, []);
    },
  };
}
