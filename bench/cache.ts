/**
 * Output-cache benchmark (issue 14): a graph of N gcc compiles of generated
 * C files (default 200), each run in a fresh checkout (no outputs, no
 * `.jx/`), so nothing is up to date:
 *
 * - `cold, cache off`: `jx run`;
 * - `cold, cache on`: `jx run --cache-dir EMPTY` (the overhead: keys and storing);
 * - `restored, local`: `jx run --cache-dir FULL`;
 * - `restored, turbo` / `restored, nginx`: an empty local store and a remote
 *   store (the project's servers, tools/services/cache-server.sh) filled once.
 *
 * - `turbo cold` / `turbo warm`: the same compiles under `turbo` (npm), one
 *   workspace package per job, in the same round-robin: a fresh workspace
 *   with an empty local cache, then with a filled one. Left out, with one
 *   line saying so, when `node_modules/.bin/turbo` (or `$TURBO_BIN`) is not
 *   there.
 *
 * Then 1 GiB of outputs (16 files of 64 MiB) restored from the local store
 * into a fresh checkout, against `cp -r` of the same files. Round-robin,
 * medians; the load average is printed (the machine is shared).
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/cache.ts                    # 200 compiles, 3 rounds
 * node_modules/.bin/deno run -A bench/cache.ts --jobs 50 --runs 1 --no-gib
 * node_modules/.bin/deno run -A bench/cache.ts --gib-only --runs 3  # the 1 GiB restore only
 * node_modules/.bin/deno run -A bench/cache.ts --write             # append to RESULTS.md
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  appendResults,
  CLEAN_ENV,
  CLI,
  DENO,
  environment,
  median,
  REPO,
  roundRobin,
} from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "200" },
    runs: { type: "string", default: "3" },
    "no-gib": { type: "boolean", default: false },
    "gib-only": { type: "boolean", default: false },
    write: { type: "boolean", default: false },
  },
});
const N = Number(values.jobs), RUNS = Number(values.runs);
const SCRIPT = `${REPO}/tools/services/cache-server.sh`;
const td = new TextDecoder();

/** A C file with enough code that gcc -O2 takes a moment. */
function cSource(i: number): string {
  const fns = Array.from(
    { length: 40 },
    (_, k) =>
      `int f${i}_${k}(int x) { int s = ${k}; for (int j = 0; j < x; j++) s = s * 31 + (j ^ ${i}); return s; }`,
  );
  return `#include "gen.h"\n${fns.join("\n")}\n`;
}

/** A fresh checkout of the compile graph. */
async function checkout(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "jx-bench-cache-" });
  await Deno.mkdir(`${dir}/src`);
  await Deno.writeTextFile(`${dir}/src/gen.h`, "#define UNUSED 1\n");
  const jobs = ["jobs:"];
  for (let i = 0; i < N; i++) {
    await Deno.writeTextFile(`${dir}/src/c${i}.c`, cSource(i));
    jobs.push(
      `  cc${i}: { run: "mkdir -p out && gcc -O2 -c src/c${i}.c -o out/c${i}.o", ` +
        `reads: [src/c${i}.c, src/gen.h], writes: [out/c${i}.o] }`,
    );
  }
  await Deno.writeTextFile(`${dir}/jobs.yaml`, jobs.join("\n") + "\n");
  return dir;
}

/** `jx run` in `dir`; its wall time; throws unless every job ended ok and `want` held. */
async function jx(dir: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command(DENO, {
    args: [
      "run",
      "-A",
      "--quiet",
      CLI,
      "run",
      "--output",
      "quiet",
      "--events",
      "ev.ndjson",
      ...args,
    ],
    cwd: dir,
    env: { ...CLEAN_ENV, ...env },
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t;
  if (out.code !== 0) throw new Error(`jx run exited ${out.code}: ${td.decode(out.stderr)}`);
  if (/warning/.test(td.decode(out.stderr))) throw new Error(td.decode(out.stderr));
  return ms;
}

/** The `ms` of the last run's restored jobs in `dir` (the restore itself: no start-up, no load). */
async function restoreMs(dir: string): Promise<number> {
  const ev = (await Deno.readTextFile(`${dir}/ev.ndjson`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  return ev.filter((e) => e.type === "job.end" && e.cache).reduce((a, e) => a + e.ms, 0);
}

/** How many jobs of the last run in `dir` were restored. */
async function restoredIn(dir: string): Promise<number> {
  const ev = (await Deno.readTextFile(`${dir}/ev.ndjson`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  return ev.filter((e) => e.type === "job.end" && e.cache).length;
}

function startServer(kind: "turbo" | "nginx"): { pid: number; url: string } | string {
  const dir = Deno.makeTempDirSync({ prefix: `jx-bench-${kind}-` });
  const r = new Deno.Command("bash", {
    args: [SCRIPT, "start", kind, dir],
    env: { LIFETIME: "3000", TURBO_TOKEN: "tok" },
    stdin: "null",
  }).outputSync();
  if (!r.success) return td.decode(r.stderr).trim().split("\n").at(-1) ?? "failed";
  const [pid, port] = td.decode(r.stdout).trim().split(" ").map(Number);
  const url = kind === "turbo"
    ? `turbo+http://127.0.0.1:${port}?team=bench`
    : `bazel+http://127.0.0.1:${port}/bench`;
  return { pid, url };
}

/** The `turbo` binary: `$TURBO_BIN`, else `node_modules/.bin/turbo`, else null. */
function turboBin(): string | null {
  const bin = Deno.env.get("TURBO_BIN") || `${REPO}/node_modules/.bin/turbo`;
  try {
    Deno.statSync(bin);
    return bin;
  } catch {
    return null;
  }
}

/**
 * A fresh turbo workspace doing what `checkout()` does: one package per
 * compile (`src/c.c` and its own copy of `gen.h`), a `build` script running
 * the same gcc command, `build` cached on `src/**` with `out/**` as output.
 */
async function turboCheckout(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "jx-bench-turbo-ws-" });
  const npm = (await new Deno.Command("npm", { args: ["--version"] }).output()).stdout;
  const json = (path: string, v: unknown) => Deno.writeTextFile(path, JSON.stringify(v, null, 2));
  await json(`${dir}/package.json`, {
    name: "bench",
    private: true,
    packageManager: `npm@${td.decode(npm).trim()}`,
    workspaces: ["pkgs/*"],
  });
  await json(`${dir}/turbo.json`, {
    tasks: { build: { inputs: ["src/**"], outputs: ["out/**"] } },
  });
  for (let i = 0; i < N; i++) {
    const pkg = `${dir}/pkgs/c${i}`;
    await Deno.mkdir(`${pkg}/src`, { recursive: true });
    await Deno.writeTextFile(`${pkg}/src/gen.h`, "#define UNUSED 1\n");
    await Deno.writeTextFile(`${pkg}/src/c.c`, cSource(i));
    await json(`${pkg}/package.json`, {
      name: `c${i}`,
      version: "0.0.0",
      scripts: { build: "mkdir -p out && gcc -O2 -c src/c.c -o out/c.o" },
    });
  }
  return dir;
}

/** `turbo run build` in `dir` with its local cache in `cacheDir`: wall time and how many were cached. */
async function turbo(bin: string, dir: string, cacheDir: string): Promise<[number, number]> {
  const t = performance.now();
  const out = await new Deno.Command(bin, {
    args: [
      "run",
      "build",
      `--cache-dir=${cacheDir}`,
      `--concurrency=${navigator.hardwareConcurrency}`,
      "--output-logs=none",
    ],
    cwd: dir,
    env: {
      ...CLEAN_ENV,
      TURBO_TELEMETRY_DISABLED: "1",
      DO_NOT_TRACK: "1",
      TURBO_NO_UPDATE_NOTIFIER: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t;
  const text = td.decode(out.stdout) + td.decode(out.stderr);
  if (out.code !== 0) throw new Error(`turbo exited ${out.code}: ${text}`);
  const cached = Number(text.match(/Cached:\s+(\d+) cached/)?.[1] ?? NaN);
  return [ms, cached];
}

/** The compile graph: jx cold (cache off, on), restored from each store, and turbo beside it. */
async function compiles(loads: string[]): Promise<string[]> {
  const full = await Deno.makeTempDir({ prefix: "jx-bench-store-" });
  const servers = { turbo: startServer("turbo"), nginx: startServer("nginx") };
  const ENV = { JX_REMOTE_CACHE_TOKEN: "tok" };
  const cases: string[] = ["cold, cache off", "cold, cache on", "restored, local"];
  const notes: string[] = [];
  // Fill the local store and each remote once.
  const fill = async (args: string[], env: Record<string, string> = {}) => {
    const dir = await checkout();
    await jx(dir, args, env);
    await rm(dir);
  };
  await fill(["--cache-dir", full]);
  for (const [kind, s] of Object.entries(servers)) {
    if (typeof s === "string") {
      notes.push(`${kind} server: not started (${s}); left out.`);
      continue;
    }
    const store = await Deno.makeTempDir();
    await fill(["--cache-dir", store, "--remote-cache", s.url], ENV);
    await rm(store);
    cases.push(`restored, ${kind}`);
  }
  const tb = turboBin();
  const turboCache = await Deno.makeTempDir({ prefix: "jx-bench-turbo-cache-" });
  if (tb) {
    const ws = await turboCheckout();
    await turbo(tb, ws, turboCache);
    await rm(ws);
    cases.push("turbo cold", "turbo warm (local cache)");
  } else {
    notes.push(
      "turbo: not installed (`npm install --save-dev turbo`, or TURBO_BIN=PATH); its rows are left out.",
    );
  }
  for (const n of notes) console.error(n);
  const samples = await roundRobin(
    cases,
    RUNS,
    (c) => compileCase(c, { full, servers, ENV, tb, turboCache }),
    (r, t) =>
      console.error(
        `round ${r + 1}: ${t.map(([c, ms]) => `${c} ${ms.toFixed(0)} ms`).join(", ")}`,
      ),
  );
  loads.push(await load());
  for (const s of Object.values(servers)) {
    if (typeof s !== "string") {
      new Deno.Command("bash", { args: [SCRIPT, "stop", String(s.pid)] }).outputSync();
    }
  }
  await rm(full);
  await rm(turboCache);
  return compileReport(samples, notes);
}

/** What `compileCase` needs of the set-up. */
interface Setup {
  full: string;
  servers: Record<"turbo" | "nginx", { url: string } | string>;
  ENV: Record<string, string>;
  tb: string | null;
  turboCache: string;
}

/** One timed run of case `c` in a fresh checkout; throws unless it restored what it should. */
async function compileCase(c: string, s: Setup): Promise<number> {
  if (c.startsWith("turbo")) {
    const ws = await turboCheckout();
    const empty = await Deno.makeTempDir();
    const [ms, cached] = await turbo(s.tb!, ws, c === "turbo cold" ? empty : s.turboCache);
    if (cached !== (c === "turbo cold" ? 0 : N)) throw new Error(`${c}: ${cached} cached`);
    await rm(ws);
    await rm(empty);
    return ms;
  }
  const dir = await checkout();
  const fresh = await Deno.makeTempDir();
  let ms: number;
  if (c === "cold, cache off") ms = await jx(dir, []);
  else if (c === "cold, cache on") ms = await jx(dir, ["--cache-dir", fresh]);
  else if (c === "restored, local") ms = await jx(dir, ["--cache-dir", s.full]);
  else {
    const server = s.servers[c.slice("restored, ".length) as "turbo" | "nginx"] as { url: string };
    ms = await jx(dir, ["--cache-dir", fresh, "--remote-cache", server.url], s.ENV);
  }
  const restored = await restoredIn(dir);
  if (c.startsWith("restored") !== (restored === N)) throw new Error(`${c}: ${restored} restored`);
  await rm(dir);
  await rm(fresh);
  return ms;
}

/** The table and the figures the issue asks for. */
function compileReport(samples: { tool: string; ms: number[] }[], notes: string[]): string[] {
  const med = (c: string) => median(samples.find((s) => s.tool === c)!.ms);
  const has = (c: string) => samples.some((s) => s.tool === c);
  const rows = samples.map(({ tool, ms }) =>
    `| ${tool} | ${(median(ms) / 1000).toFixed(2)} | ${(Math.min(...ms) / 1000).toFixed(2)} | ${
      (Math.max(...ms) / 1000).toFixed(2)
    } | ${(med("cold, cache off") / median(ms)).toFixed(2)}x |`
  );
  const ratio = med("cold, cache on") / med("cold, cache off");
  const lines = [
    `| case | median (s) | min (s) | max (s) | cold (cache off) / this |`,
    `| --- | ---: | ---: | ---: | ---: |`,
    ...rows,
    "",
    `Cold run, cache on / cache off: ${ratio.toFixed(3)} (an overhead of ${
      ((ratio - 1) * 100).toFixed(1)
    }%; target at most 5%). Restored from the local store: ${
      (med("cold, cache off") / med("restored, local")).toFixed(1)
    }x faster than running (target at least 10x).`,
  ];
  if (has("turbo cold")) {
    lines.push(
      "",
      `turbo, same run: cold ${(med("turbo cold") / 1000).toFixed(2)} s against jx's ${
        (med("cold, cache on") / 1000).toFixed(2)
      } s (cache on); warm from its local cache ${
        (med("turbo warm (local cache)") / 1000).toFixed(2)
      } s against jx's ${(med("restored, local") / 1000).toFixed(2)} s.`,
    );
  }
  return [...lines, ...notes.map((n) => `\n${n}`)];
}

const rm = (p: string) => Deno.remove(p, { recursive: true }).catch(() => {});
/** Writes dirty pages out, so a case does not pay for the one before it (ext4 writeback). */
const sync = () => new Deno.Command("sync").output();
const load = async () =>
  (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");

/**
 * Runs `cmd args` in `cwd` through bash, stdout dropped: its wall time in ms
 * and the CPU seconds (user + system, children included) bash's `times`
 * reports for it. On a shared machine the wall time follows the load; the
 * CPU time much less, so both are printed.
 */
async function timed(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ ms: number; cpu: number }> {
  const t = performance.now();
  const out = await new Deno.Command("bash", {
    args: ["-c", '"$@" >/dev/null || exit $?; times', "bash", cmd, ...args],
    cwd,
    env: CLEAN_ENV,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t;
  const err = td.decode(out.stderr);
  if (out.code !== 0 || /warning/.test(err)) throw new Error(`${cmd} exited ${out.code}: ${err}`);
  const secs = (td.decode(out.stdout).trim().split("\n")[1] ?? "").split(" ").map((x) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(x);
    return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
  });
  return { ms, cpu: secs.reduce((a, b) => a + b, 0) };
}

/**
 * 1 GiB of outputs: one job writes 16 x 64 MiB; restored from the local store
 * vs `cp -r` (`sync` before each: no case pays for the last one's
 * writeback), with the blobs' memos (stored by jx: no hash) and without them
 * (`DIR/checked/` removed first: every byte hashed, as a blob no restore has
 * checked yet).
 */
async function gib(): Promise<string> {
  const make = async () => {
    const dir = await Deno.makeTempDir({ prefix: "jx-bench-gib-" });
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      `jobs:\n  big: { run: "mkdir -p out && for i in $(seq 1 16); do head -c 64M /dev/urandom > out/f$i; done", writes: [out] }\n`,
    );
    return dir;
  };
  const store = await Deno.makeTempDir({ prefix: "jx-bench-gib-store-" });
  const src = await make();
  await jx(src, ["--cache-dir", store]);
  const times = { restore: [] as number[], cp: [] as number[], hashed: [] as number[] };
  const step = [] as number[];
  const cpu = { restore: [] as number[], cp: [] as number[], hashed: [] as number[] };
  const jxArgs = ["run", "-A", "--quiet", CLI, "run", "--output", "quiet", "--events", "ev.ndjson"];
  for (let r = 0; r < RUNS; r++) {
    const dir = await make();
    await sync();
    const j = await timed(DENO, [...jxArgs, "--cache-dir", store], dir);
    times.restore.push(j.ms), cpu.restore.push(j.cpu);
    if (await restoredIn(dir) !== 1) throw new Error("1 GiB: not restored");
    step.push(await restoreMs(dir));
    await rm(dir);
    const dir2 = await make();
    await rm(`${store}/checked`);
    await sync();
    const h = await timed(DENO, [...jxArgs, "--cache-dir", store], dir2);
    times.hashed.push(h.ms), cpu.hashed.push(h.cpu);
    if (await restoredIn(dir2) !== 1) throw new Error("1 GiB: not restored");
    await rm(dir2);
    const dest = await Deno.makeTempDir();
    await sync();
    const c = await timed("cp", ["-r", `${src}/out`, `${dest}/out`], dest);
    times.cp.push(c.ms), cpu.cp.push(c.cpu);
    await rm(dest);
  }
  await rm(src);
  await rm(store);
  const [a, b, c] = [median(times.restore), median(times.cp), median(times.hashed)];
  return `1 GiB (16 x 64 MiB files): restored by \`jx run\` ${
    (a / 1000).toFixed(2)
  } s (median of ${RUNS}; ` +
    `runs ${times.restore.map((x) => (x / 1000).toFixed(2)).join(", ")}), \`cp -r\` ${
      (b / 1000).toFixed(2)
    } s ` +
    `(${times.cp.map((x) => (x / 1000).toFixed(2)).join(", ")}): jx restores at ${
      (b / a).toFixed(2)
    }x cp's rate (blobs checked before: memos trusted). Without memos (every byte hashed) ${
      (c / 1000).toFixed(2)
    } s (${times.hashed.map((x) => (x / 1000).toFixed(2)).join(", ")}): ${(b / c).toFixed(2)}x. ` +
    `The restore step alone (the restored job's \`ms\` in the event log: no start-up, no load) ${
      (median(step) / 1000).toFixed(2)
    } s (${step.map((x) => (x / 1000).toFixed(2)).join(", ")}): ${
      (b / median(step)).toFixed(2)
    }x. ` +
    `CPU (user + system, medians): jx ${median(cpu.restore).toFixed(2)} s, without memos ${
      median(cpu.hashed).toFixed(2)
    } s (the whole \`jx run\`, startup included), cp ${median(cpu.cp).toFixed(2)} s.`;
}
const loads = [await load()];
const compileLines = values["gib-only"] ? [] : await compiles(loads);
const gibLine = values["no-gib"] ? "" : await gib();
if (gibLine) loads.push(await load());

const text = [
  `## Output cache (bench/cache.ts), ${new Date().toISOString().slice(0, 10)}`,
  "",
  `\`deno run -A bench/cache.ts --jobs ${N} --runs ${RUNS}${
    values["gib-only"] ? " --gib-only" : ""
  }\`: ${N} \`gcc -O2 -c\` jobs (40 small ` +
  `functions each) in a fresh checkout per run, -j = CPUs; medians of ${RUNS} round-robin runs. ` +
  `Load average at the start${values["gib-only"] ? "" : ", after the compiles"}${
    values["no-gib"] ? "" : ", after the 1 GiB part"
  }: ${loads.join("; ")} (shared machine).`,
  "",
  ...(await environment({ ninja: false })),
  ...(compileLines.length ? ["", ...compileLines] : []),
  ...(gibLine ? ["", gibLine] : []),
].join("\n");
console.log(text);
if (values.write) await appendResults(text);
