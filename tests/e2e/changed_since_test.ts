/**
 * `jx run --changed-since REF` in a real git repository: the jobs whose
 * reads name a file git reports changed since REF (committed, edited,
 * untracked), what depends on them, and what those need; a bad ref is one
 * line and exit 2.
 */
import assert from "node:assert/strict";
import { readEvents, runJx, tempDir } from "../helpers.ts";

const JOBS = `
jobs:
  gen-a: { run: "cat a/src.txt > out-a.txt", reads: [a/src.txt], writes: [out-a.txt] }
  test-a: { run: "cat out-a.txt", reads: [out-a.txt] }
  lint-b: { run: "cat b/*.txt", reads: ["b/*.txt"] }
  docs: { run: "true", reads: [docs] }
  always: { run: "true" }
`;

async function git(dir: string, ...args: string[]) {
  const out = await new Deno.Command("git", {
    args: ["-c", "user.name=t", "-c", "user.email=t@t", ...args],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

/** The jobs a `--changed-since` run selected (started, or skipped as up to date), sorted. */
async function ran(dir: string, ...args: string[]): Promise<string[]> {
  const r = await runJx(["run", "--events", "ev.ndjson", ...args], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const ev = await readEvents(`${dir}/ev.ndjson`);
  const jobs = ev.filter((e) => e.type === "job.start" || e.type === "job.skip").map((e) => e.job!);
  assert.equal(ev[0].jobs, jobs.length);
  return jobs.sort();
}

Deno.test("--changed-since: changed reads, their dependents and what they need; git's view", async () => {
  const dir = await tempDir({
    "jobs.yaml": JOBS,
    "a/src.txt": "a\n",
    "b/one.txt": "1\n",
    "docs/x.md": "x\n",
    ".gitignore": "ev.ndjson\n.jx/\nout-*.txt\nb/ignored.txt\n",
  });
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-qm", "base");
  // Nothing changed: nothing runs.
  assert.deepEqual(await ran(dir, "--changed-since", "HEAD"), []);
  // An ignored file is no change.
  await Deno.writeTextFile(`${dir}/b/ignored.txt`, "i\n");
  assert.deepEqual(await ran(dir, "--changed-since", "HEAD"), []);
  // An unstaged edit: its reader and the job reading what that one writes.
  await Deno.writeTextFile(`${dir}/a/src.txt`, "a2\n");
  assert.deepEqual(await ran(dir, "--changed-since", "HEAD"), ["gen-a", "test-a"]);
  // Committed since REF, plus an untracked file matching a glob and one under a folder read.
  await git(dir, "commit", "-qam", "edit a");
  await Deno.writeTextFile(`${dir}/b/two.txt`, "2\n");
  await Deno.writeTextFile(`${dir}/docs/new.md`, "n\n");
  assert.deepEqual(await ran(dir, "--changed-since", "HEAD~1"), [
    "docs",
    "gen-a",
    "lint-b",
    "test-a",
  ]);
  // A dependent alone is affected only through what it depends on; its need runs too.
  await git(dir, "add", "-A");
  await git(dir, "commit", "-qm", "b and docs");
  await Deno.writeTextFile(`${dir}/out-a.txt`, "edited by hand\n");
  await git(dir, "add", "-f", "out-a.txt");
  assert.deepEqual(await ran(dir, "--changed-since", "HEAD"), ["gen-a", "test-a"]);
  // Named jobs narrow the candidates.
  await Deno.writeTextFile(`${dir}/b/one.txt`, "1b\n");
  assert.deepEqual(await ran(dir, "--changed-since", "HEAD", "docs", "lint-b"), [
    "lint-b",
  ]);
});

Deno.test("--changed-since: a bad ref or no repository is one line, exit 2", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS, "a/src.txt": "a\n" });
  const none = await runJx(["run", "--changed-since", "HEAD"], { cwd: dir });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^jx: --changed-since HEAD: git: .+\n$/);
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-qm", "base");
  const bad = await runJx(["run", "--changed-since", "no-such-ref"], { cwd: dir });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^jx: --changed-since no-such-ref: git: .*no-such-ref.*\n$/);
});
