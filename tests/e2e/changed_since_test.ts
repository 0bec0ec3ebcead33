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

Deno.test("--changed-since: a dotenv file or a depfile's input whose name holds glob characters is that file, not a pattern", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  E: { run: "true", env_file: ['cfg[12].env'] }
  D: { run: "true", reads: [src/m.c], depfile: out-d.d, writes: [out-d] }
`,
    "cfg[12].env": "A=1\n",
    "cfg1.env": "A=one\n",
    "src/m.c": "m\n",
    "src/x[12].h": "h\n",
    "src/x1.h": "h1\n",
    "out-d.d": "out-d: src/m.c src/x[12].h\n",
    ".gitignore": "ev.ndjson\n.jx/\n",
  });
  await git(dir, "init", "-q");
  await git(dir, "add", "-A");
  await git(dir, "commit", "-qm", "base");
  const since = async (path: string) => {
    await Deno.writeTextFile(`${dir}/${path}`, "A=2\n");
    const jobs = await ran(dir, "--changed-since", "HEAD");
    await git(dir, "commit", "-qam", "step");
    return jobs;
  };
  // Files the names would match as globs: no input of either job.
  assert.deepEqual(await since("cfg1.env"), []);
  assert.deepEqual(await since("src/x1.h"), []);
  // The files named.
  assert.deepEqual(await since("cfg[12].env"), ["E"]);
  assert.deepEqual(await since("src/x[12].h"), ["D"]);
});

Deno.test("--changed-since: a rename's both names, any file name, dotenv and depfile inputs, files above the folder, changed definitions", async () => {
  const top = await tempDir({
    "shared/x.h": "x\n",
    "proj/jobs.yaml": `
vars: { MSG: one }
jobs:
  A: { run: "ls src/a > out-a", reads: [src/a], writes: [out-a] }
  B: { run: "ls src/b > out-b", reads: [src/b], writes: [out-b] }
  Q: { run: "cat 'we\\"ird.txt' > out-q", reads: ['we"ird.txt'], writes: [out-q] }
  E: { run: "echo $MODE > out-e", env_file: [deploy.env], writes: [out-e] }
  D: { run: "cat src/m.c > out-d", reads: [src/m.c], depfile: out-d.d, writes: [out-d] }
  P: { run: "cat ../shared/x.h > out-p", reads: [../shared/x.h], writes: [out-p] }
  T: { run: "echo \${MSG} > out-t", writes: [out-t] }
  U: { run: "true" }
`,
    "proj/src/a/x.c": "x\n",
    "proj/src/b/y.c": "y\n",
    "proj/src/m.c": "m\n",
    "proj/src/h.h": "h\n",
    "proj/out-d.d": "out-d: src/m.c src/h.h\n",
    'proj/we"ird.txt': "w\n",
    "proj/deploy.env": "MODE=debug\n",
    ".gitignore": "ev.ndjson\n.jx/\nout-*\n!out-d.d\n",
  });
  const dir = `${top}/proj`;
  await git(top, "init", "-q");
  await git(top, "add", "-A");
  await git(top, "commit", "-qm", "base");
  const since = async (...edit: (() => Promise<void>)[]) => {
    for (const e of edit) await e();
    const jobs = await ran(dir, "--changed-since", "HEAD");
    await git(top, "add", "-A");
    await git(top, "commit", "-qm", "step", "--allow-empty");
    return jobs;
  };
  assert.deepEqual(await since(), []);
  // A file moved from one folder read to another: both readers.
  assert.deepEqual(await since(() => git(top, "mv", "proj/src/a/x.c", "proj/src/b/x.c")), [
    "A",
    "B",
  ]);
  // A name git would quote ("we\"ird.txt"), a dotenv file, a depfile's input, a file above.
  assert.deepEqual(await since(() => Deno.writeTextFile(`${dir}/we"ird.txt`, "w2\n")), ["Q"]);
  assert.deepEqual(await since(() => Deno.writeTextFile(`${dir}/deploy.env`, "MODE=prod\n")), [
    "E",
  ]);
  assert.deepEqual(await since(() => Deno.writeTextFile(`${dir}/src/h.h`, "h2\n")), ["D"]);
  assert.deepEqual(await since(() => Deno.writeTextFile(`${top}/shared/x.h`, "x2\n")), ["P"]);
  // The jobs file: the jobs whose definition changed (a var they use), not the others.
  const text = await Deno.readTextFile(`${dir}/jobs.yaml`);
  assert.deepEqual(
    await since(() => Deno.writeTextFile(`${dir}/jobs.yaml`, text.replace("MSG: one", "MSG: two"))),
    ["T"],
  );
});

Deno.test("--changed-since with -f through a symbolic link to the repository: git's paths still match", async () => {
  const dir = await tempDir({
    "repo/jobs.yaml": JOBS,
    "repo/a/src.txt": "a\n",
    "repo/b/one.txt": "1\n",
    "repo/docs/x.md": "x\n",
    "repo/.gitignore": "ev.ndjson\n.jx/\nout-*.txt\n",
  });
  await git(`${dir}/repo`, "init", "-q");
  await git(`${dir}/repo`, "add", "-A");
  await git(`${dir}/repo`, "commit", "-qm", "base");
  await Deno.symlink("repo", `${dir}/link`);
  await Deno.writeTextFile(`${dir}/repo/a/src.txt`, "edited\n");
  // git names its files from the real top folder, which the jobs file's folder as written
  // (`link`) is not below: nothing matched, "nothing to do".
  assert.deepEqual(await ran(dir, "-f", "link/jobs.yaml", "--changed-since", "HEAD"), [
    "gen-a",
    "test-a",
  ]);
  await Deno.remove(dir, { recursive: true });
});
