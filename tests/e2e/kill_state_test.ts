/**
 * `kill -9` at seeded random instants during a run of a few hundred jobs,
 * then a rerun that must redo exactly what is missing or stale. The ground
 * truth comes from the files on disk: an output is right when it holds what
 * its sources say it must. Every job whose output is wrong or missing must
 * rerun; besides those, only jobs that were in flight when jx died (at most
 * `-j` of them: finished, but their state line not yet written) may. After
 * the rerun every output is right and a third run starts nothing.
 */
import assert from "node:assert/strict";
import { jxCommand, readEvents, runJx, type Runtime, tempDir } from "../helpers.ts";

const LEAVES = 200, GROUP = 5, SLOTS = 4;
const GROUPS = LEAVES / GROUP;

function jobsFile(): string {
  const lines = ["jobs:"];
  for (let i = 0; i < LEAVES; i++) {
    lines.push(
      `  c${i}: { run: [cp, src/${i}.txt, mid/${i}.txt], reads: [src/${i}.txt], ` +
        `writes: [mid/${i}.txt] }`,
    );
  }
  for (let k = 0; k < GROUPS; k++) {
    const mids = Array.from({ length: GROUP }, (_, j) => `mid/${k * GROUP + j}.txt`);
    lines.push(
      `  g${k}: { run: "cat ${mids.join(" ")} > out/${k}.tmp && mv out/${k}.tmp ` +
        `out/${k}.txt", reads: [${mids.join(", ")}], writes: [out/${k}.txt] }`,
    );
  }
  return lines.join("\n") + "\n";
}

/** A seeded generator (a linear congruential one): the same kills on every run of the test. */
function random(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
}

const read = (p: string) => Deno.readTextFile(p).catch(() => null);

/** The jobs whose output is wrong or missing, from the sources on disk. */
async function stale(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  const src: string[] = [];
  for (let i = 0; i < LEAVES; i++) {
    src.push((await read(`${dir}/src/${i}.txt`))!);
    if ((await read(`${dir}/mid/${i}.txt`)) !== src[i]) out.add(`c${i}`);
  }
  for (let k = 0; k < GROUPS; k++) {
    const want = src.slice(k * GROUP, (k + 1) * GROUP).join("");
    if ((await read(`${dir}/out/${k}.txt`)) !== want) out.add(`g${k}`);
  }
  return out;
}

/** How many outputs were written since `t` (ms). */
function written(dir: string, t: number): number {
  let n = 0;
  for (const sub of ["mid", "out"]) {
    for (const e of Deno.readDirSync(`${dir}/${sub}`)) {
      try {
        if ((Deno.statSync(`${dir}/${sub}/${e.name}`).mtime?.getTime() ?? 0) >= t) n++;
      } catch { /* a temporary file renamed meanwhile */ }
    }
  }
  return n;
}

/** Processes whose working directory is `dir` (jobs orphaned by the kill). */
function orphans(dir: string): number[] {
  const found: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readLinkSync(`/proc/${e.name}/cwd`) === dir) found.push(Number(e.name));
    } catch { /* gone, or not ours */ }
  }
  return found;
}

async function started(dir: string, runtime: Runtime): Promise<Set<string>> {
  const r = await runJx(["run", `-j${SLOTS}`, "--output", "quiet", "--events", "ev.ndjson"], {
    cwd: dir,
    runtime,
  });
  assert.equal(r.code, 0, r.stderr);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  return new Set(ev.filter((e) => e.type === "job.start").map((e) => e.job!));
}

async function killRound(dir: string, runtime: Runtime, next: () => number): Promise<void> {
  // Change about a fifth of the sources.
  for (let i = 0; i < LEAVES; i++) {
    if (next() < 0.2) await Deno.writeTextFile(`${dir}/src/${i}.txt`, `${i}:${next()}\n`);
  }
  const since = Date.now() - 5;
  const [cmd, argv] = jxCommand(runtime, ["run", `-j${SLOTS}`, "--output", "quiet"]);
  const jx = new Deno.Command(cmd, { args: argv, cwd: dir, stdout: "null", stderr: "null" })
    .spawn();
  // Kill once a random share of the outputs due has been written (or jx is done).
  const due = (await stale(dir)).size;
  const target = Math.floor(next() * due);
  let done = false;
  jx.status.then(() => done = true);
  while (!done && written(dir, since) < target) await new Promise((r) => setTimeout(r, 5));
  try {
    jx.kill("SIGKILL");
  } catch { /* it had finished */ }
  await jx.status;
  while (orphans(dir).length) await new Promise((r) => setTimeout(r, 10));
  const truth = await stale(dir);
  const reran = await started(dir, runtime);
  for (const job of truth) assert.ok(reran.has(job), `${job} is stale but was not rerun`);
  const extra = [...reran].filter((j) => !truth.has(j));
  assert.ok(extra.length <= SLOTS, `rerun beyond what was stale or in flight: ${extra}`);
  assert.deepEqual([...await stale(dir)], [], "every output right after the rerun");
  assert.deepEqual([...await started(dir, runtime)], [], "nothing to do after the rerun");
}

for (const [runtime, rounds] of [["deno", 2], ["bun", 2]] as const) {
  Deno.test(`${runtime}: kill -9 at random instants; the rerun redoes exactly what is stale`, async () => {
    const files: Record<string, string> = { "jobs.yaml": jobsFile(), "out/.keep": "" };
    for (let i = 0; i < LEAVES; i++) files[`src/${i}.txt`] = `${i}\n`;
    files["mid/.keep"] = "";
    const dir = await Deno.realPath(await tempDir(files));
    const next = random(runtime === "deno" ? 18 : 1817);
    for (let round = 0; round < rounds; round++) await killRound(dir, runtime, next);
  });
}
