/**
 * What a restore from the output cache leaves on disk, through the real CLI
 * on real processes: never through a symlink the user put on the way, never
 * over a folder of the user's where the entry holds a file.
 */
import assert from "node:assert/strict";
import { readEvents, runJx, tempDir } from "../helpers.ts";

interface Ran {
  code: number;
  stderr: string;
  /** Jobs that ran a process. */
  ran: string[];
  /** Jobs restored. */
  restored: string[];
}

/** `jx run` in `dir` on the store `store`, with an event log. */
async function run(
  dir: string,
  store: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<Ran> {
  const r = await runJx(["run", "--events", "ev.ndjson", "--cache-dir", store, ...args], {
    cwd: dir,
    env,
  });
  const ev = await readEvents(`${dir}/ev.ndjson`);
  const names = (f: (e: (typeof ev)[number]) => boolean) => ev.filter(f).map((e) => e.job!).sort();
  return {
    code: r.code,
    stderr: r.stderr,
    ran: names((e) => e.type === "job.start"),
    restored: names((e) => e.type === "job.end" && !!e.cache),
  };
}

Deno.test("cache restore: a symlink the user put on the way to an output is refused, never written through", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  gen:
    run: "rm -rf out && mkdir -p out/l && cat ver.txt > out/l/x"
    reads: [ver.txt]
    writes: [out/l/x]
`;
  const a = await tempDir({ "jobs.yaml": jobs, "ver.txt": "v1\n" });
  assert.equal((await run(a, store)).code, 0);
  // Another checkout, where out/l is a link to the user's sources.
  const b = await tempDir({ "jobs.yaml": jobs, "ver.txt": "v1\n", "src/x": "mine\n" });
  await Deno.mkdir(`${b}/out`);
  await Deno.symlink("../src", `${b}/out/l`);
  const r = await run(b, store);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /jx: warning: cache entry [0-9a-f]{12} for gen not restored: out\/l\/x: out\/l is a symlink on disk/,
  );
  assert.deepEqual(r.restored, []);
  assert.deepEqual(r.ran, ["gen"]);
  assert.equal(await Deno.readTextFile(`${b}/src/x`), "mine\n");
  assert.equal(await Deno.readTextFile(`${b}/out/l/x`), "v1\n");
});

Deno.test("cache restore: a folder with the user's files where the entry holds a file is refused, not removed", async () => {
  const store = await tempDir();
  const jobs = `
cache: true
jobs:
  gen: { run: "cat ver.txt > report", reads: [ver.txt], writes: [report] }
`;
  const a = await tempDir({ "jobs.yaml": jobs, "ver.txt": "v1\n" });
  assert.equal((await run(a, store)).code, 0);
  const b = await tempDir({ "jobs.yaml": jobs, "ver.txt": "v1\n", "report/notes.txt": "mine\n" });
  const r = await run(b, store);
  assert.match(
    r.stderr,
    /not restored: report: a directory on disk that is not empty, where the entry holds a file/,
  );
  assert.deepEqual(r.restored, []);
  assert.deepEqual(r.ran, ["gen"], "the job runs (and fails on its own: report is a folder)");
  assert.equal(await Deno.readTextFile(`${b}/report/notes.txt`), "mine\n");
  // An empty folder there is no one's work: replaced by the file.
  await Deno.remove(`${b}/report`, { recursive: true });
  await Deno.mkdir(`${b}/report`);
  const again = await run(b, store);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(again.restored, ["gen"]);
  assert.equal(await Deno.readTextFile(`${b}/report`), "v1\n");
});
