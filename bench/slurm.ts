/**
 * The Slurm executor's cost: N jobs of S seconds each (default 200 x `sleep 0.2`) through
 * `jx run --executor slurm -jJ` against the same jobs file under `--executor local -jJ`, the
 * two alternating run after run, on a single-node cluster of J CPUs that the bench starts
 * itself (tools/slurm/start.sh) and stops by pid. Prints each executor's median wall time
 * (process start to exit, so the preflight and the allocation count), the ratio, and the
 * per-job overhead of Slurm: (slurm - local) x J / N. Also the load average before and after,
 * since the machine may be shared. With `--write`, appends a dated section to
 * bench/RESULTS.md. Target (issue #15): at most 1.5x local.
 *
 * @example
 * ```sh
 * node_modules/.bin/deno run -A bench/slurm.ts                 # 200 x 0.2 s, -j4, 3 runs each
 * node_modules/.bin/deno run -A bench/slurm.ts --jobs 50 -j 2 --runs 1
 * node_modules/.bin/deno run -A bench/slurm.ts --write
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { appendResults, CLI, DENO, environment, median, positive, REPO } from "./lib.ts";

const TARGET_RATIO = 1.5;
const dec = new TextDecoder();

const flags = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "200" },
    sleep: { type: "string", default: "0.2" },
    j: { type: "string", short: "j", default: "4" },
    runs: { type: "string", default: "3" },
    write: { type: "boolean", default: false },
  },
}).values;
const N = positive("--jobs", flags.jobs!);
const J = positive("-j", flags.j!);
const RUNS = positive("--runs", flags.runs!);
const SLEEP = Number(flags.sleep);

const loadavg = async () => (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3);

/** One whole `jx run` in `dir`; its wall time in ms. */
async function once(dir: string, executor: string, env: Record<string, string>): Promise<number> {
  const args = ["run", "-A", "--quiet", CLI, "run", "-j", String(J), "--force", "--output"];
  const t0 = performance.now();
  const out = await new Deno.Command(DENO, {
    args: [...args, "quiet", "--executor", executor, "--events", "ev.ndjson"],
    cwd: dir,
    env: { ...env, NO_COLOR: "1", MAKEFLAGS: "" },
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (out.code !== 0) throw new Error(`${executor} exited ${out.code}: ${dec.decode(out.stderr)}`);
  const events = (await Deno.readTextFile(`${dir}/ev.ndjson`)).split("\n").filter(Boolean)
    .map((l) => JSON.parse(l));
  const ends = events.filter((e) => e.type === "job.end" && e.status === "ok").length;
  if (ends !== N) throw new Error(`${executor}: ${ends} jobs ok of ${N}`);
  phases[executor].push(...jobPhases(events));
  return ms;
}

/** Per job: asked to start -> running (`job.start`), and running -> ended, less the sleep. */
function jobPhases(events: { type: string; job: string; t: number; ms: number }[]) {
  const start = new Map(events.filter((e) => e.type === "job.start").map((e) => [e.job, e.t]));
  return events.filter((e) => e.type === "job.end").map((e) => ({
    before: start.get(e.job)! - (e.t - e.ms),
    after: e.t - start.get(e.job)! - SLEEP * 1000,
  }));
}

/** Medians of the two phases over every job of every run. */
const phases: Record<string, { before: number; after: number }[]> = { local: [], slurm: [] };

async function main() {
  const cluster = await Deno.makeTempDir({ prefix: "jx-slurm-bench-" });
  const started = await new Deno.Command(`${REPO}/tools/slurm/start.sh`, {
    args: [cluster],
    env: { JX_SLURM_CPUS: String(J), JX_SLURM_LIFETIME: "3600" },
    stdin: "null",
  }).output();
  if (!started.success) throw new Error(`start.sh: ${dec.decode(started.stderr)}`);
  const env = { SLURM_CONF: /SLURM_CONF=(\S+)/.exec(dec.decode(started.stdout))![1] };
  const dir = await Deno.makeTempDir({ prefix: "jx-slurm-bench-jobs-" });
  const jobs = Array.from({ length: N }, (_, i) => `  j${i}: { run: "sleep ${SLEEP}" }\n`);
  await Deno.writeTextFile(`${dir}/jobs.yaml`, "jobs:\n" + jobs.join(""));
  const ms: Record<string, number[]> = { local: [], slurm: [] };
  const loadBefore = await loadavg();
  try {
    for (let r = 0; r < RUNS; r++) {
      const order = r % 2 ? ["slurm", "local"] : ["local", "slurm"];
      for (const ex of order) {
        ms[ex].push(await once(dir, ex, env));
        console.error(`run ${r + 1} ${ex}: ${(ms[ex].at(-1)! / 1000).toFixed(2)} s`);
      }
    }
  } finally {
    await new Deno.Command(`${REPO}/tools/slurm/stop.sh`, { args: [cluster] }).output();
  }
  const loadAfter = await loadavg();
  const [l, s] = [median(ms.local), median(ms.slurm)];
  const ratio = s / l;
  const perJob = (s - l) * J / N;
  const ideal = N * SLEEP / J;
  const text = [
    `## ${
      new Date().toISOString().slice(0, 19)
    }Z — Slurm executor: ${N} jobs of ${SLEEP} s, -j${J}`,
    "",
    `- command: \`node_modules/.bin/deno run -A bench/slurm.ts --jobs ${N} --sleep ${SLEEP} -j ${J} --runs ${RUNS}\``,
    `- each run: \`cli.ts run -j ${J} --force --output quiet --executor local|slurm\`, whole command timed (the slurm run includes its preflight, \`salloc\` and the release); a single-node cluster of ${J} CPUs from tools/slurm/start.sh`,
    ...(await environment({ label: "runtime", ninja: false })),
    `- load average (1, 5, 15 min) before: ${loadBefore.join(", ")}; after: ${
      loadAfter.join(", ")
    } (2 CPUs shared with other workers)`,
    "",
    `| executor | median (s) | min (s) | max (s) | runs |`,
    `| --- | ---: | ---: | ---: | ---: |`,
    ...["local", "slurm"].map((k) =>
      `| ${k} | ${(median(ms[k]) / 1000).toFixed(2)} | ${
        (Math.min(...ms[k]) / 1000).toFixed(2)
      } | ${(Math.max(...ms[k]) / 1000).toFixed(2)} | ${ms[k].length} |`
    ),
    "",
    `Ideal (no overhead): ${ideal.toFixed(1)} s. slurm / local: **${
      ratio.toFixed(2)
    }x** (target at most ${TARGET_RATIO}x: ${
      ratio <= TARGET_RATIO ? "met" : "not met"
    }); Slurm's overhead per job: ${perJob.toFixed(0)} ms ((slurm - local) x ${J} / ${N}).`,
    "",
    `Per job (median over all runs): from jx starting it to running (\`job.start\`), and from`,
    `running to its end less the ${SLEEP} s sleep: ${
      ["local", "slurm"].map((k) =>
        `${k} ${median(phases[k].map((p) => p.before)).toFixed(0)} ms + ${
          median(phases[k].map((p) => p.after)).toFixed(0)
        } ms`
      ).join("; ")
    }.`,
  ].join("\n");
  console.log(text);
  if (flags.write) await appendResults(text);
}

if (import.meta.main) await main();
