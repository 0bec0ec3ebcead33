/**
 * `Reactor.watch(fd)` on Bun: how soon a callback runs after its fd becomes
 * readable. Bun's FFI calls block, so the epoll set is waited on in a
 * Worker (lib/reactor/bun_watcher.ts); this compares the two ways the
 * worker can hand ready fds to the main thread:
 *
 * - `postMessage`: the worker posts the ready fds (what jx uses);
 * - `SharedArrayBuffer`: the worker stores them in shared memory and
 *   `Atomics.notify`s; the main thread waits with `Atomics.waitAsync`, then
 *   lets the worker go on.
 *
 * and, for reference, the Deno epoll reactor's `watch` (a `nonblocking`
 * `epoll_wait`). Each sample: after a random 0-2 ms pause the main thread
 * writes one byte to a non-blocking pipe (t0); the callback (t1) reads it
 * and the fd is re-armed. Latency = t1 - t0. Each mechanism runs `--runs`
 * times round-robin, `--rounds` samples each; the table gives the median
 * of the runs' medians and p99s.
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/bun_watch.ts --rounds 1000 --runs 3 --write
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { C, libc } from "../lib/reactor/libc.ts";
import { createBunWatcher } from "../lib/reactor/bun_watcher.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
type Watch = (fd: number, cb: () => void) => () => void;

/** The SharedArrayBuffer + Atomics.waitAsync variant (measured, not used by jx). */
const SAB_WORKER = `
const ffi = require("bun:ffi");
const L = ffi.dlopen("libc.so.6", {
  epoll_wait: { args: ["i32", "buffer", "i32", "i32"], returns: "i32" },
}).symbols;
self.onmessage = (e) => {
  const { epfd, wakefd, sab } = e.data;
  const ctl = new Int32Array(sab);
  const evs = new Uint8Array(12 * 64);
  const view = new DataView(evs.buffer);
  for (;;) {
    const n = L.epoll_wait(epfd, evs, 64, -1);
    if (n < 0) continue;
    const fds = [];
    let stop = false;
    for (let i = 0; i < n; i++) {
      const fd = view.getInt32(i * 12 + 4, true);
      if (fd === wakefd) stop = true;
      else fds.push(fd);
    }
    if (stop) break;
    for (let i = 0; i < fds.length; i++) ctl[1 + i] = fds[i];
    Atomics.store(ctl, 0, fds.length);
    Atomics.notify(ctl, 0);
    // Wait until the main thread has taken them.
    while (Atomics.load(ctl, 0) !== 0) Atomics.wait(ctl, 0, fds.length);
  }
};
`;

function sabWatcher(): { watch: Watch; close(): void } {
  const s = libc().symbols;
  const epfd: number = s.epoll_create1(C.O_CLOEXEC);
  const wakefd: number = s.eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK);
  const ev = new Uint8Array(12);
  const view = new DataView(ev.buffer);
  const ctl = (op: number, fd: number, events: number) => {
    view.setUint32(0, events, true);
    view.setBigUint64(4, BigInt(fd), true);
    s.epoll_ctl(epfd, op, fd, ev);
  };
  ctl(C.EPOLL_CTL_ADD, wakefd, C.EPOLLIN);
  const sab = new SharedArrayBuffer(4 * 66);
  const shared = new Int32Array(sab);
  const cbs = new Map<number, () => void>();
  const url = URL.createObjectURL(new Blob([SAB_WORKER], { type: "text/javascript" }));
  const worker = new Worker(url);
  worker.postMessage({ epfd, wakefd, sab });
  let closed = false;
  const wait = () => {
    g.Atomics.waitAsync(shared, 0, 0).value.then(() => {
      if (closed) return;
      const k = Atomics.load(shared, 0);
      const fds = Array.from(shared.subarray(1, 1 + k));
      Atomics.store(shared, 0, 0);
      Atomics.notify(shared, 0);
      for (const fd of fds) {
        const cb = cbs.get(fd);
        if (!cb) continue;
        cb();
        if (cbs.get(fd) === cb) ctl(C.EPOLL_CTL_MOD, fd, C.EPOLLIN | C.EPOLLONESHOT);
      }
      wait();
    });
  };
  wait();
  return {
    watch(fd, cb) {
      cbs.set(fd, cb);
      ctl(C.EPOLL_CTL_ADD, fd, C.EPOLLIN | C.EPOLLONESHOT);
      return () => {
        cbs.delete(fd);
        ctl(C.EPOLL_CTL_DEL, fd, 0);
      };
    },
    close() {
      closed = true;
      s.write(wakefd, new BigUint64Array([1n]), 8);
      // deno-lint-ignore no-explicit-any
      (worker as any).unref?.();
    },
  };
}

/** `rounds` wake latencies (us) of `watch` on a fresh pipe. */
async function measure(watch: Watch, rounds: number): Promise<number[]> {
  const s = libc().symbols;
  const fds = new Int32Array(2);
  if (s.pipe2(fds, C.O_NONBLOCK | C.O_CLOEXEC) < 0) throw new Error("pipe2");
  const one = new Uint8Array([43]);
  const buf = new Uint8Array(16);
  const lat: number[] = [];
  let t0 = 0;
  await new Promise<void>((done) => {
    const fire = () => {
      t0 = performance.now();
      s.write(fds[1], one, 1);
    };
    const stop = watch(fds[0], () => {
      const t1 = performance.now();
      if (Number(s.read(fds[0], buf, buf.length)) <= 0) return;
      lat.push((t1 - t0) * 1000);
      if (lat.length >= rounds) {
        stop();
        return done();
      }
      setTimeout(fire, Math.random() * 2);
    });
    setTimeout(fire, 20); // the worker is up by then
  });
  s.close(fds[0]);
  s.close(fds[1]);
  return lat;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
};

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rounds: { type: "string", default: "1000" },
    runs: { type: "string", default: "3" },
    probe: { type: "string" },
    write: { type: "boolean", default: false },
  },
});
const ROUNDS = Number(values.rounds);

if (values.probe) {
  // One mechanism, in this process; prints its median and p99.
  let w: { watch: Watch; close(): void };
  if (values.probe === "sab") w = sabWatcher();
  else if (values.probe === "post") w = createBunWatcher();
  else {
    const { createEpollReactor } = await import("../lib/reactor/epoll.ts");
    const r = createEpollReactor();
    w = { watch: r.watch!, close: () => r.close() };
  }
  const lat = await measure(w.watch, ROUNDS);
  w.close();
  console.log(JSON.stringify({ median: pct(lat, 0.5), p99: pct(lat, 0.99) }));
  process.exit(0);
}

// The driver (Deno): every mechanism in its own process, round-robin.
const { appendResults, BUN, DENO, environment, median } = await import("./lib.ts");
const here = new URL(import.meta.url).pathname;
const MECHANISMS = [
  { name: "Bun Worker + postMessage (jx)", cmd: BUN, args: [here, "--probe", "post"] },
  {
    name: "Bun Worker + SharedArrayBuffer/Atomics.waitAsync",
    cmd: BUN,
    args: [here, "--probe", "sab"],
  },
  {
    name: "Deno epoll reactor (nonblocking epoll_wait)",
    cmd: DENO,
    args: ["run", "-A", here, "--probe", "epoll"],
  },
];
const results = new Map<string, { median: number; p99: number }[]>();
const RUNS = Number(values.runs);
for (let run = 0; run < RUNS; run++) {
  for (let i = 0; i < MECHANISMS.length; i++) {
    const m = MECHANISMS[(i + run) % MECHANISMS.length];
    const out = await new Deno.Command(m.cmd, {
      args: [...m.args, "--rounds", String(ROUNDS)],
      stderr: "inherit",
    }).output();
    if (out.code !== 0) throw new Error(`${m.name}: exit ${out.code}`);
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
    results.set(m.name, [...(results.get(m.name) ?? []), r]);
  }
}
const f = (us: number) => `${us.toFixed(0)} us`;
const text = [
  `## ${new Date().toISOString().replace(/\.\d+Z$/, "Z")} — fd watch on Bun: wake latency`,
  "",
  ...(await environment()),
  `- \`deno run -A bench/bun_watch.ts --rounds ${ROUNDS} --runs ${RUNS}\`: one byte written to a non-blocking pipe after a random 0-2 ms pause; latency = the watch callback's \`performance.now()\` minus the write's; ${ROUNDS} samples per run, ${RUNS} runs per mechanism, round-robin, each run in a fresh process`,
  "",
  "| mechanism | median (median of runs) | p99 (median of runs) | medians of the runs |",
  "| --- | ---: | ---: | --- |",
  ...MECHANISMS.map(({ name }) => {
    const rs = results.get(name)!;
    return `| ${name} | ${f(median(rs.map((r) => r.median)))} | ${
      f(median(rs.map((r) => r.p99)))
    } | ${rs.map((r) => f(r.median)).join(", ")} |`;
  }),
  "",
  (() => {
    const [post, sab] = MECHANISMS.slice(0, 2).map(({ name }) =>
      median(results.get(name)!.map((r) => r.median))
    );
    return `jx's Bun watcher uses postMessage: its median is ${
      post <= sab ? "lower" : "HIGHER"
    } than SharedArrayBuffer + Atomics.waitAsync here (${f(post)} vs ${f(sab)}).`;
  })(),
].join("\n");
console.log(text);
if (values.write) await appendResults(text);
