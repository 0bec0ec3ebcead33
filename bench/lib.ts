/**
 * Shared pieces of the benches: paths, timing a command, medians, the
 * machine description and appending a section to RESULTS.md.
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

/** Runs a command to completion and returns its wall time in ms; throws on a non-zero exit. */
export async function timeCommand(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { MAKEFLAGS: "", ...env },
    stdout: "null",
    stderr: "piped",
  })
    .output();
  const ms = performance.now() - t;
  if (out.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return ms;
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

/** Machine and tool versions, as markdown list items. */
export async function environment(): Promise<string[]> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const cpu = cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown";
  return [
    `- machine: ${await capture("nproc", [])} CPUs, ${await capture("uname", ["-sr"])}, ${cpu}`,
    `- tools: ${(await capture(DENO, ["--version"])).split("\n")[0]}; bun ${await capture(BUN, [
      "--version",
    ])}; ${(await capture("make", ["--version"])).split("\n")[0]}; ninja ${await capture("ninja", [
      "--version",
    ])}`,
  ];
}

/** A markdown table of medians (ms) with min, max and the ratio to `baseline`. */
export function medianTable(samples: { name: string; ms: number[] }[], baseline: string): string {
  const base = median(samples.find((s) => s.name === baseline)!.ms);
  const f = (ms: number) => ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
  return [
    `| tool | median | min | max | median / ${baseline} |`,
    "| --- | ---: | ---: | ---: | ---: |",
    ...samples.map(({ name, ms }) =>
      `| ${name} | ${f(median(ms))} | ${f(Math.min(...ms))} | ${f(Math.max(...ms))} | ${
        (median(ms) / base).toFixed(2)
      }x |`
    ),
  ].join("\n");
}

/** Appends a section to RESULTS.md and formats the file. */
export async function appendResults(text: string): Promise<void> {
  await Deno.writeTextFile(RESULTS, "\n" + text + "\n", { append: true });
  await new Deno.Command(DENO, { args: ["fmt", "--quiet", RESULTS], stdout: "null" }).output();
}
