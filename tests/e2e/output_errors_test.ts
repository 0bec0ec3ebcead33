/**
 * Output jx cannot write (docs/cli.md, "Output that cannot be written"): stdout on a full
 * device or a pipe nobody reads any more, the event log on a full device. The run stops as on
 * a signal (nothing more starts, what runs is stopped), `run.end` says `failed`, exit 1, with
 * the error, and jx says it in one line and exits 1, the same on Deno and Bun.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { jxCommand, readEvents, type Runtime, RUNTIMES, tempDir } from "../helpers.ts";

const JOBS = "jobs:\n" +
  "  a: { run: 'echo from a' }\n" +
  "  b: { run: 'sleep 1; echo from b', needs: [a] }\n" +
  "  c: { run: 'touch c.done', needs: [b] }\n";

/** jx run under `sh -c`, its stdout and stderr sent where `redirect` says. */
async function shJx(runtime: Runtime, dir: string, args: string[], redirect: string) {
  const [cmd, argv] = jxCommand(runtime, ["run", ...args]);
  const quoted = [cmd, ...argv].map((w) => `'${w}'`).join(" ");
  const out = await new Deno.Command("sh", {
    args: ["-c", `${quoted} ${redirect}`],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

for (const runtime of RUNTIMES) {
  Deno.test(`stdout on a full device: one line naming it, exit 1, run.end agrees, nothing more runs [${runtime}]`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOBS });
    const r = await shJx(runtime, dir, ["--events", "ev.ndjson"], "> /dev/full");
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /\njx: write error: stdout: no space left on device\n$/);
    assert.doesNotMatch(r.stderr, /internal error|interrupted/);
    const end = (await readEvents(`${dir}/ev.ndjson`)).at(-1)!;
    assert.deepEqual(
      [end.type, end.status, end.exit, end.error],
      ["run.end", "failed", 1, "write error: stdout: no space left on device"],
    );
    assert.equal(existsSync(`${dir}/c.done`), false, "c never started");
  });

  Deno.test(`the event log on a full device: one line naming it, exit 1 [${runtime}]`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOBS });
    const r = await shJx(runtime, dir, ["--events", "/dev/full"], "> /dev/null");
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /\njx: write error: the event log '\/dev\/full': no space left on device\n$/,
    );
    assert.doesNotMatch(r.stderr, /internal error/);
    assert.equal(existsSync(`${dir}/c.done`), false, "c never started");
  });

  Deno.test(`stderr full when only the summary goes there: the run's exit, as run.end says; the trace: one line [${runtime}]`, async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs:\n  a: { run: 'true' }\n" });
    const r = await shJx(runtime, dir, ["--events", "ev.ndjson"], "2> /dev/full");
    assert.equal(r.code, 0);
    const end = (await readEvents(`${dir}/ev.ndjson`)).at(-1)!;
    assert.deepEqual([end.status, end.exit], ["ok", 0]);
    const t = await shJx(runtime, dir, ["--trace", "/dev/full"], "> /dev/null");
    assert.equal(t.code, 1, t.stderr);
    assert.match(
      t.stderr,
      /\njx: write error: the trace '\/dev\/full': no space left on device\n$/,
    );
  });

  Deno.test(`stdout a pipe closed by its reader (jx run | head -1): the run stops, exit 1 [${runtime}]`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOBS });
    const [cmd, argv] = jxCommand(runtime, ["run", "--events", "ev.ndjson"]);
    const child = new Deno.Command(cmd, {
      args: argv,
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    let seen = "";
    while (!seen.includes("from a")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    await reader.cancel(); // as head does once it has its line
    const { code } = await child.status;
    const stderr = new TextDecoder().decode(
      (await new Response(child.stderr).arrayBuffer()) as ArrayBuffer,
    );
    assert.equal(code, 1, stderr);
    assert.match(stderr, /\njx: write error: stdout: broken pipe\n$/);
    const end = (await readEvents(`${dir}/ev.ndjson`)).at(-1)!;
    assert.deepEqual([end.status, end.exit], ["failed", 1]);
    assert.equal(existsSync(`${dir}/c.done`), false, "c never started");
  });
}
