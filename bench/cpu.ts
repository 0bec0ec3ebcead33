/**
 * CPU account of the trivial-jobs run: the CPU time each tool spends itself
 * (user + system, without its children) next to its children's, for N
 * `/bin/true` jobs at -j J (default 2,000 at -j8), same commands as
 * bench/trivial.ts. What bounds jx against `make -j8` on a machine whose
 * CPUs the children keep busy: the wall time is about (own + children) / CPUs.
 *
 * How: each command is started with `posix_spawnp` (lib/reactor/libc.ts),
 * waited for with `waitid(WEXITED | WNOWAIT)`, which leaves it a zombie, so
 * that `/proc/PID/stat` still holds its own times (utime, stime) and its
 * reaped children's (cutime, cstime); then it is reaped. Clock ticks of 10
 * ms: medians of several runs, round-robin.
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/cpu.ts --runs 7 --write
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { C, cstr, libc, spawnInSession } from "../lib/reactor/libc.ts";
import {
  appendResults,
  BUN,
  CLEAN_ENV,
  CLI,
  DENO,
  environment,
  median,
  trivialJobsYaml,
  trivialMakefile,
} from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "2000" },
    runs: { type: "string", default: "7" },
    parallel: { type: "string", short: "j", default: "8" },
    write: { type: "boolean", default: false },
  },
});
const N = Number(values.jobs), RUNS = Number(values.runs), J = Number(values.parallel);
const TICK_MS = 1000 / 100; // sysconf(_SC_CLK_TCK) is 100 on Linux x86_64
const P_PID = 1, WNOWAIT = 0x01000000, O_WRONLY = 1;

const dir = await Deno.makeTempDir({ prefix: "jx-bench-cpu-" });
await Deno.writeTextFile(`${dir}/jobs.yaml`, trivialJobsYaml(N));
await Deno.writeTextFile(`${dir}/Makefile`, trivialMakefile(N));

const jx = (rt: string[]) => [...rt, "run", "-f", "jobs.yaml", `-j${J}`, "--output", "quiet"];
const tools = [
  { name: "jx (Deno, epoll)", argv: jx([DENO, "run", "-A", CLI]).concat("--reactor", "epoll") },
  { name: "jx (Bun, epoll)", argv: jx([BUN, CLI]).concat("--reactor", "epoll") },
  { name: `make -j${J}`, argv: ["make", "-s", `-j${J}`, "-f", "Makefile", "all"] },
];

interface Usage {
  ownMs: number;
  ownUserMs: number;
  childrenMs: number;
  wallMs: number;
}

/** Runs argv in `dir` (stdout and stderr to /dev/null); its own and its children's CPU. */
async function measure(argv: string[]): Promise<Usage> {
  const s = libc().symbols;
  const env = { ...Deno.env.toObject(), ...CLEAN_ENV };
  const devnull = cstr("/dev/null");
  const cwd = cstr(dir);
  const t0 = performance.now();
  const { err, pid } = await spawnInSession(argv, env, (fa) => {
    s.posix_spawn_file_actions_addopen(fa, 1, devnull, O_WRONLY, 0);
    s.posix_spawn_file_actions_addopen(fa, 2, devnull, O_WRONLY, 0);
    s.posix_spawn_file_actions_addchdir_np(fa, cwd);
    return [devnull, cwd];
  });
  if (err) throw new Error(`cannot start ${argv[0]}: error ${err}`);
  const info = new Uint8Array(C.SIZEOF_SIGINFO);
  // Blocks this thread until the command exits; it stays a zombie, its times readable.
  while (s.waitid(P_PID, pid, info, C.WEXITED | WNOWAIT) < 0) { /* EINTR */ }
  const wallMs = performance.now() - t0;
  const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(f[i]) * TICK_MS);
  const status = new Int32Array(1);
  s.wait4(pid, status, 0, new Uint8Array(C.SIZEOF_RUSAGE));
  if (status[0] !== 0) throw new Error(`${argv.join(" ")}: wait status ${status[0]}`);
  return { ownMs: utime + stime, ownUserMs: utime, childrenMs: cutime + cstime, wallMs };
}

// One untimed run each (the jx graph cache is written then, as in bench/trivial.ts).
for (const t of tools) await measure(t.argv);
const samples = tools.map(() => [] as Usage[]);
for (let r = 0; r < RUNS; r++) {
  for (let k = 0; k < tools.length; k++) {
    const i = (k + r) % tools.length;
    samples[i].push(await measure(tools[i].argv));
  }
}
await Deno.remove(dir, { recursive: true });

const med = (i: number, f: (u: Usage) => number) => median(samples[i].map(f));
const makeOwn = med(tools.length - 1, (u) => u.ownMs);
const makeWall = med(tools.length - 1, (u) => u.wallMs);
const rows = tools.map((t, i) => {
  const own = med(i, (u) => u.ownMs);
  return `| ${t.name} | ${own.toFixed(0)} ms | ${med(i, (u) => u.ownUserMs).toFixed(0)} ms | ${
    med(i, (u) => u.childrenMs).toFixed(0)
  } ms | ${(own / N).toFixed(3)} ms | ${(med(i, (u) => u.wallMs) / 1000).toFixed(2)} s | ${
    (med(i, (u) => u.wallMs) / makeWall).toFixed(2)
  }x |`;
});
const text = [
  `## ${new Date().toISOString().replace(/\.\d+Z$/, "Z")} — CPU account: ${N} × /bin/true, -j${J}`,
  "",
  ...(await environment({ ninja: false })),
  `- each command started with posix_spawnp in its own session, stdout/stderr to /dev/null, waited for with \`waitid(WEXITED|WNOWAIT)\`; own CPU = utime + stime of the process (all its threads), children = cutime + cstime, from \`/proc/PID/stat\` of the zombie (10 ms ticks); ${RUNS} runs each, round-robin, medians; jx's graph cache warm`,
  "",
  "| tool | own CPU (user + sys) | own user | children's CPU | own CPU per job | wall | wall / make |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows,
  "",
  `make's own CPU: ${makeOwn.toFixed(0)} ms. With ${
    (await Deno.readTextFile("/proc/cpuinfo")).match(/^processor/gm)?.length ?? "?"
  } CPUs kept busy by the children, the wall time is about (own + children) / CPUs: jx reaches make's wall time only when its own CPU comes down to make's.`,
].join("\n");
console.log(text);
if (values.write) await appendResults(text);
