/**
 * Shared pieces of the benches: paths, timing a command, round-robin runs,
 * medians and their table, the machine description and appending a section
 * to RESULTS.md.
 *
 * @module
 */

/** The repository root. */
export const REPO: string = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
/** Deno and Bun from `npm ci`. */
export const DENO = `${REPO}/node_modules/.bin/deno`;
export const BUN = `${REPO}/node_modules/.bin/bun`;
/** The CLI entry. */
export const CLI = `${REPO}/cli.ts`;
/** Where figures are recorded. */
export const RESULTS = `${REPO}/bench/RESULTS.md`;

/** The median of some numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** No inherited make jobserver (it would change what make and jx do), no colors. */
export const CLEAN_ENV: Record<string, string> = { MAKEFLAGS: "", MFLAGS: "", NO_COLOR: "1" };

/** GNU time, for the peak RSS of a measured command (`%M`), when the machine has it. */
export const GNU_TIME: string | undefined = (() => {
  try {
    return Deno.statSync("/usr/bin/time").isFile ? "/usr/bin/time" : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * Runs a command to completion in `cwd` (fed `stdin` when given; its stdout
 * piped or to /dev/null); returns its wall time in ms, spawn to exit, and
 * what it printed. With `rss` (and GNU time on the machine), the command runs
 * under `/usr/bin/time -f %M` and `rssKiB` is its peak resident set: the
 * largest of the process's own and its children's (a child started by vfork
 * and exec reports its parent's size at the spawn, never more than the
 * parent's peak), so for jx, jx's own peak.
 */
export async function timed(
  cmd: string,
  args: string[],
  cwd: string,
  opts: {
    env: Record<string, string>;
    stdin?: string;
    stdout: "piped" | "null";
    rss?: boolean;
  },
): Promise<{ ms: number; code: number; stdout: string; stderr: string; rssKiB?: number }> {
  const rssFile = opts.rss && GNU_TIME ? await Deno.makeTempFile({ prefix: "jx-bench-rss-" }) : "";
  if (rssFile) {
    args = ["-f", "%M", "-o", rssFile, cmd, ...args];
    cmd = GNU_TIME!;
  }
  const t = performance.now();
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    env: opts.env,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: opts.stdout,
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(opts.stdin));
    await writer.close();
  }
  const out = await child.output();
  const ms = performance.now() - t;
  const dec = new TextDecoder();
  const stdout = opts.stdout === "piped" ? dec.decode(out.stdout) : "";
  let rssKiB: number | undefined;
  if (rssFile) {
    const text = await Deno.readTextFile(rssFile);
    await Deno.remove(rssFile);
    // GNU time writes "Command exited with non-zero status N" first when it did.
    rssKiB = Number(text.trim().split("\n").at(-1)) || undefined;
  }
  return { ms, code: out.code, stdout, stderr: dec.decode(out.stderr), rssKiB };
}

/** Runs a command to completion and returns its wall time in ms; throws on a non-zero exit. */
export async function timeCommand(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<number> {
  const r = await timed(cmd, args, cwd, { env: { MAKEFLAGS: "", ...env }, stdout: "null" });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.ms;
}

/**
 * Runs the command of the tool `name` once in `cwd`, in `CLEAN_ENV`, fed
 * `stdin` when given; returns its wall time in ms (spawn to exit) and, with
 * `stdout: "piped"`, its stdout (else it goes to /dev/null); with `rss`,
 * its peak RSS in KiB where GNU time is available (see `timed`). Throws on
 * a non-zero exit, with the end of its stderr.
 */
export async function timeTool(
  name: string,
  cmd: string,
  args: string[],
  cwd: string,
  opts: { stdin?: string; stdout?: "piped" | "null"; rss?: boolean } = {},
): Promise<{ ms: number; stdout: string; rssKiB?: number }> {
  const r = await timed(cmd, args, cwd, {
    env: CLEAN_ENV,
    stdin: opts.stdin,
    stdout: opts.stdout ?? "null",
    rss: opts.rss,
  });
  if (r.code !== 0) throw new Error(`${name} exited with ${r.code}\n${r.stderr.slice(-2000)}`);
  return { ms: r.ms, stdout: r.stdout, rssKiB: r.rssKiB };
}

/** `xs` rotated left by `k`. */
export function rotate<T>(xs: T[], k: number): T[] {
  const s = k % xs.length;
  return [...xs.slice(s), ...xs.slice(0, s)];
}

/** The wall times of one tool over all runs, in milliseconds. */
export interface Sample<T> {
  tool: T;
  ms: number[];
}

/**
 * Times every tool `runs` times, round-robin, the order rotated each run so
 * that noise on the machine hits them alike; `done` is told of each run's
 * times. Returns the times of each tool, in the order of `tools`.
 */
export async function roundRobin<T>(
  tools: T[],
  runs: number,
  time: (tool: T) => Promise<number>,
  done: (run: number, times: [T, number][]) => void = () => {},
): Promise<Sample<T>[]> {
  const samples = new Map(tools.map((t) => [t, [] as number[]]));
  for (let r = 0; r < runs; r++) {
    const times: [T, number][] = [];
    for (const tool of rotate(tools, r)) {
      const ms = await time(tool);
      samples.get(tool)!.push(ms);
      times.push([tool, ms]);
    }
    done(r, times);
  }
  return tools.map((tool) => ({ tool, ms: samples.get(tool)! }));
}

/** The number of `job.end` events with status `ok` in a jx event log. */
export async function okJobEnds(events: string): Promise<number> {
  const lines = (await Deno.readTextFile(events)).split("\n").filter((l) => l.trim() !== "");
  return lines.map((l) => JSON.parse(l)).filter((e) => e.type === "job.end" && e.status === "ok")
    .length;
}

/** A command-line option's value as a positive integer; throws naming `--name` when it is not one. */
export function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer`);
  return n;
}

/**
 * A command line as markdown code, paths shown relative to the repository
 * and `dir` as `$TMP`.
 */
export function commandLine(cmd: string, args: string[], dir: string): string {
  const words = [cmd, ...args].map((w) => w.replace(`${REPO}/`, "").replace(`${dir}/`, "$TMP/"));
  return "`" + words.join(" ") + "`";
}

/** Stdout of a command (trimmed), or a note when it cannot be run. */
export async function capture(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch (e) {
    return `(unavailable: ${e instanceof Error ? e.message : e})`;
  }
}

/**
 * Machine and tool versions, as markdown list items: the CPUs, kernel and
 * CPU model, then, after `label`, the versions of Deno, Bun, make and (with
 * `ninja`) ninja.
 */
export async function environment(
  opts: { label?: string; ninja?: boolean } = {},
): Promise<string[]> {
  const { label = "tools", ninja = true } = opts;
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const cpu = cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown";
  const versions = [
    (await capture(DENO, ["--version"])).split("\n")[0],
    `bun ${await capture(BUN, ["--version"])}`,
    (await capture("make", ["--version"])).split("\n")[0],
    ...(ninja ? [`ninja ${await capture("ninja", ["--version"])}`] : []),
  ];
  return [
    `- machine: ${await capture("nproc", [])} CPUs, ${await capture("uname", ["-sr"])}, ${cpu}`,
    `- ${label}: ${versions.join("; ")}`,
  ];
}

/**
 * A markdown table of medians with min, max and the ratio to `baseline`:
 * times in ms or s as they come (`12 ms`, `1.50 s`), or with `unit: "s"` all
 * in seconds, the unit in the header.
 */
export function medianTable(
  samples: { name: string; ms: number[] }[],
  baseline: string,
  opts: { unit?: "s"; rssKiB?: Record<string, number[]> } = {},
): string {
  const base = median(samples.find((s) => s.name === baseline)!.ms);
  const f = opts.unit === "s"
    ? (ms: number) => (ms / 1000).toFixed(2)
    : (ms: number) => ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
  const u = opts.unit ? ` (${opts.unit})` : "";
  const rss = opts.rssKiB;
  const peak = (name: string) => {
    const kib = rss?.[name] ?? [];
    return kib.length ? ` ${(Math.max(...kib) / 1024).toFixed(0)} MiB |` : " n/a |";
  };
  return [
    `| tool | median${u} | min${u} | max${u} | median / ${baseline} |${
      rss ? " peak RSS (max of runs) |" : ""
    }`,
    `| --- | ---: | ---: | ---: | ---: |${rss ? " ---: |" : ""}`,
    ...samples.map(({ name, ms }) =>
      `| ${name} | ${f(median(ms))} | ${f(Math.min(...ms))} | ${f(Math.max(...ms))} | ${
        (median(ms) / base).toFixed(2)
      }x |${rss ? peak(name) : ""}`
    ),
  ].join("\n");
}

/**
 * Appends a section to RESULTS.md (`path`), with the file's heading when it
 * is new, and formats the file as `deno fmt` wants it (wrapped lines,
 * aligned tables).
 */
export async function appendResults(text: string, path: string = RESULTS): Promise<void> {
  const exists = await Deno.stat(path).then(() => true, () => false);
  const head = exists
    ? "\n"
    : "# Benchmark results\n\nAppended by the benches in this directory; newest last.\n\n";
  await Deno.writeTextFile(path, head + text + "\n", { append: true });
  const fmt = await new Deno.Command(DENO, { args: ["fmt", "--quiet", path], stdout: "null" })
    .output();
  if (fmt.code !== 0) console.error(`warning: deno fmt ${path} exited with ${fmt.code}`);
}

/**
 * `deno task compile`'s command line (from deno.json), with `--outfile` set
 * to `out`, and the entry `cli.ts` replaced by `entry` when given.
 */
export async function compileCommand(out: string, entry?: string): Promise<string[]> {
  const task: string = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)).tasks.compile;
  const words = task.trim().split(/\s+/);
  const i = words.indexOf("--outfile");
  if (i < 0) throw new Error(`no --outfile in the compile task: ${task}`);
  words[i + 1] = out;
  if (entry) words[words.indexOf("cli.ts")] = entry;
  return words;
}

/** Builds the standalone binary (or `entry` the same way) to `out` with `compileCommand`. */
export async function buildBinary(out: string, entry?: string): Promise<string> {
  const [cmd, ...args] = await compileCommand(out, entry);
  const r = await new Deno.Command(cmd.startsWith("/") ? cmd : `${REPO}/${cmd}`, {
    args,
    cwd: REPO,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (r.code !== 0) {
    throw new Error(`bun build --compile failed:\n${new TextDecoder().decode(r.stderr)}`);
  }
  return out;
}

/** The jx jobs file: N jobs `t0`..`tN-1`, each `run: [/bin/true]`. */
export function trivialJobsYaml(n: number): string {
  const lines = ["version: 1", "jobs:"];
  for (let i = 0; i < n; i++) lines.push(`  t${i}: { run: [/bin/true] }`);
  return lines.join("\n") + "\n";
}

/** The equivalent Makefile: N phony targets with recipe `/bin/true`, and `all`. */
export function trivialMakefile(n: number): string {
  const targets = Array.from({ length: n }, (_, i) => `t${i}`);
  const lines = [
    `.PHONY: all ${targets.join(" ")}`,
    `all: ${targets.join(" ")}`,
    ...targets.map((t) => `${t}:\n\t/bin/true`),
  ];
  return lines.join("\n") + "\n";
}
