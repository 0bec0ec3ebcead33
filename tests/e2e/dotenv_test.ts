/**
 * `env_file:` on real processes: precedence, optional files, errors at the
 * dotenv file's position, and a changed .env rerunning the job.
 */
import assert from "node:assert/strict";
import { readEvents, runJx, RUNTIMES, tempDir, waitForFile } from "../helpers.ts";

const JOBS = `
env_file: [.env, .env.local?]
env: { FROM_ENV: file-env }
jobs:
  show:
    run: printf '%s|%s|%s|%s|%s\\n' "$A" "$B" "$C" "$FROM_ENV" "$P" > out.txt
    env_file: [job.env]
    env: { C: job-env }
    writes: [out.txt]
`;

/**
 * Edits `in` and `in2` to `n`, runs jx, and once its job has started (`started` made) writes
 * `text` to `file`: the run's result.
 */
async function runWhileWriting(dir: string, n: string, file: string, text: string) {
  await Deno.writeTextFile(`${dir}/in`, n);
  await Deno.writeTextFile(`${dir}/in2`, n);
  await Deno.remove(`${dir}/started`);
  const during = runJx(["run", "--output", "quiet"], { cwd: dir });
  await waitForFile(`${dir}/started`);
  await Deno.writeTextFile(`${dir}/${file}`, text);
  return await during;
}

async function run(dir: string, env: Record<string, string> = {}) {
  const r = await runJx(["run", "--events", "ev.ndjson", "--output", "quiet"], { cwd: dir, env });
  const ev = r.code === 0 ? await readEvents(`${dir}/ev.ndjson`) : [];
  return { ...r, ran: ev.filter((e) => e.type === "job.end").map((e) => e.job!) };
}

Deno.test("dotenv: files under the process environment, `env:` over both; optional files", async () => {
  const dir = await tempDir({
    "jobs.yaml": JOBS,
    ".env":
      "# shared\nexport A=from-dotenv\nB='quoted # not a comment'\nFROM_ENV=dotenv\nP=dotenv\n",
    "job.env": 'A="job \\"file\\""\nC=job-file\n',
  });
  const r = await run(dir, { P: "process" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    await Deno.readTextFile(`${dir}/out.txt`),
    'job "file"|quoted # not a comment|job-env|file-env|process\n',
  );
  // The optional file, once present, is read (after .env: it wins).
  await Deno.writeTextFile(`${dir}/.env.local`, "B=local\n");
  assert.equal((await run(dir, { P: "process" })).code, 0);
  assert.match(await Deno.readTextFile(`${dir}/out.txt`), /\|local\|/);
});

Deno.test("dotenv: a changed .env reruns the job, an unchanged one does not (no-op path too)", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS, ".env": "A=1\n", "job.env": "" });
  assert.deepEqual((await run(dir)).ran, ["show"]);
  assert.deepEqual((await run(dir)).ran, []);
  await Deno.writeTextFile(`${dir}/.env`, "A=2\n");
  assert.deepEqual((await run(dir)).ran, ["show"]);
  // The no-op fast path (no --events) must see the file too.
  const plain = () => runJx(["run", "-v"], { cwd: dir });
  await plain();
  assert.doesNotMatch((await plain()).stderr, /start show/);
  await Deno.writeTextFile(`${dir}/job.env`, "C=changed\n");
  assert.match((await plain()).stderr, /start show/);
  assert.match(await Deno.readTextFile(`${dir}/out.txt`), /^2\|/);
});

Deno.test("dotenv: a variable the environment overrides reruns the job when its value changes (no-op path too)", async () => {
  const dir = await tempDir({
    "jobs.yaml":
      "jobs:\n  show: { run: 'echo \"|$P\" > out.txt', env_file: .env, writes: [out.txt] }\n",
    ".env": "P=dotenv\n",
  });
  assert.deepEqual((await run(dir, { P: "one" })).ran, ["show"]);
  assert.deepEqual((await run(dir, { P: "one" })).ran, []);
  assert.deepEqual((await run(dir, { P: "two" })).ran, ["show"]);
  assert.match(await Deno.readTextFile(`${dir}/out.txt`), /\|two\n$/);
  // The no-op fast path (no --events) must see the value too.
  const plain = (P: string) => runJx(["run", "-v"], { cwd: dir, env: { P } });
  await plain("two");
  assert.match((await plain("two")).stderr, /no-op/);
  assert.match((await plain("three")).stderr, /start show/);
  assert.match(await Deno.readTextFile(`${dir}/out.txt`), /\|three\n$/);
});

Deno.test("dotenv: a file whose name holds glob characters is that file, not a pattern", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  show:\n    run: printf '%s\\n' \"$A\" > out.txt\n" +
      "    env_file: ['cfg[12].env']\n    writes: [out.txt]\n",
    "cfg[12].env": "A=1\n",
    "cfg1.env": "A=one\n",
  });
  assert.deepEqual((await run(dir)).ran, ["show"]);
  const plain = () => runJx(["run", "-v"], { cwd: dir });
  assert.equal((await plain()).code, 0); // writes the no-op record
  // A file the name would match as a glob is no input: edited, nothing runs (either way).
  await Deno.writeTextFile(`${dir}/cfg1.env`, "A=uno\n");
  assert.doesNotMatch((await plain()).stderr, /start show/);
  assert.deepEqual((await run(dir)).ran, []);
  // The dotenv file itself, edited: the job reruns, on the full way (a comment is enough there:
  // the file is an input) and on the no-op fast path, which loads no dotenv file.
  await Deno.writeTextFile(`${dir}/cfg[12].env`, "A=1 # a comment\n");
  assert.deepEqual((await run(dir)).ran, ["show"]);
  assert.equal((await plain()).code, 0);
  assert.doesNotMatch((await plain()).stderr, /start show/);
  await Deno.writeTextFile(`${dir}/cfg[12].env`, "A=2\n");
  assert.match((await plain()).stderr, /start show/);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "2\n");
});

Deno.test("dotenv: a missing file and a malformed line are refused with a position", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS, ".env": "A=1\n" });
  let r = await run(dir);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "jobs.yaml:7:16: jobs.show.env_file[0]: no such dotenv file 'job.env' " +
      "(write 'job.env?' if it is optional)",
  );
  await Deno.writeTextFile(`${dir}/job.env`, "OK=1\nexport  = x\n");
  r = await run(dir);
  assert.equal(r.code, 2);
  // Named from the current folder, as the jobs file is (it was the absolute path).
  assert.equal(r.stderr.trim(), "job.env:2:9: expected NAME=VALUE");
  // A folder where the file should be: at the item that names it, as a missing one (it was
  // '/abs/job.env: cannot read: ...', with no place in the jobs file).
  await Deno.remove(`${dir}/job.env`);
  await Deno.mkdir(`${dir}/job.env`);
  r = await run(dir);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "jobs.yaml:7:16: jobs.show.env_file[0]: cannot read dotenv file 'job.env': " +
      "not a regular file (a FIFO, a device or a folder is not read)",
  );
});

Deno.test("dotenv: a .env edited during the run, before a job that reads it starts: the job runs with the values loaded, and the next run runs it again (the new file was recorded as its input: up to date, its output stale)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  slow: { run: "echo x > started; sleep 1; cp in2 slow.out", reads: [in2], writes: [slow.out] }
  p: { run: "echo $D > out.txt", env_file: [.env], needs: [slow], reads: [in], writes: [out.txt] }
`,
    ".env": "D=d1\n",
    "in": "1\n",
    "in2": "1\n",
  });
  assert.equal((await run(dir)).code, 0);
  assert.equal((await runWhileWriting(dir, "2\n", ".env", "D=d2\n")).code, 0);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "d1\n", "the values the load read");
  const next = await run(dir);
  assert.deepEqual(next.ran, ["p"]);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "d2\n");
  assert.deepEqual((await run(dir)).ran, [], "then up to date");
  // An optional one absent when loaded, made during the run: likewise.
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    (await Deno.readTextFile(`${dir}/jobs.yaml`)).replace("env_file: [.env]", "env_file: [.opt?]"),
  );
  assert.equal((await run(dir)).code, 0);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "\n");
  assert.equal((await runWhileWriting(dir, "3\n", ".opt", "D=d3\n")).code, 0);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "\n", "absent when loaded");
  assert.deepEqual((await run(dir)).ran, ["p"]);
  assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "d3\n");
});

for (const runtime of RUNTIMES) {
  Deno.test(`[${runtime}] a dotenv variable named constructor, valueOf or toString reaches the job; such a name in cache: {env} is unset, not an error`, async () => {
    const dir = await tempDir({
      ".env": "constructor=c1\nvalueOf=v1\n",
      "jobs.yaml": "env_file: .env\ncache: { env: [toString, hasOwnProperty] }\njobs:\n" +
        '  show:\n    run: echo "$constructor $valueOf" > out.txt\n    writes: [out.txt]\n',
    });
    const env = { JX_CACHE_DIR: `${dir}/.store` };
    const first = await runJx(["run"], { cwd: dir, runtime, env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "c1 v1\n");
    assert.doesNotMatch(first.stderr, /warning/, "recorded as done, and stored");
    const again = await runJx(["run"], { cwd: dir, runtime, env });
    assert.match(again.stderr, /1 job up to date/);
  });
}

Deno.test("dotenv: a foreach over files a job writes takes each item's own env_file (it was refused at load)", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  mk: { run: "mkdir -p d && touch d/a.c && echo X=1 > d/a.c.env", writes: [d/] }
  cc:
    foreach: { glob: "d/*.c", as: S }
    run: echo $X > \${S}.out
    env_file: "\${S}.env"
    writes: ["\${S}.out"]
`,
  });
  const r = await runJx(["run", "--output", "quiet"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await Deno.readTextFile(`${dir}/d/a.c.out`), "1\n");
});
