/**
 * The tracer's own files and failures: a job's trace takes no disk however
 * many calls it makes (a FIFO read as strace writes), and nothing of it is
 * left in the temporary directory whatever way the job or jx ends; a failed
 * attempt that is retried is not what the job did.
 */
import assert from "node:assert/strict";
import { findStrace } from "../../lib/access/mod.ts";
import { jxCommand, readEvents, runJx, RUNTIMES, tempDir, waitForFile } from "../helpers.ts";

const ignore = !findStrace();

/** The entries of jx's trace folders under `tmp` (none once a run has ended). */
async function traceLeft(tmp: string): Promise<string[]> {
  const left: string[] = [];
  for await (const e of Deno.readDir(tmp)) if (e.name.startsWith("jx-trace-")) left.push(e.name);
  return left;
}

/** A job that opens `f` `n` times (no process per open: a long trace, quickly made). */
const loop = (n: number) => `i=0; while [ $i -lt ${n} ]; do : < f; i=$((i+1)); done`;

for (const runtime of RUNTIMES) {
  for (const reactor of ["auto", "portable"]) {
    Deno.test({
      name: `${runtime}: lint: a job's trace is never a file in TMPDIR (reactor ${reactor})`,
      ignore,
      fn: async () => {
        const dir = await tempDir({ "f": "", "tmp/.keep": "" });
        // While it runs, the job looks for a trace file in the temporary directory.
        const look = `find "$TMPDIR" -path '*jx-trace-*' -type f -size +4k > seen.txt`;
        await Deno.writeTextFile(
          `${dir}/jobs.yaml`,
          `jobs:\n  b:\n    run: |\n      ${
            loop(3000)
          }; ${look}\n    reads: [f]\n    writes: [seen.txt]\n`,
        );
        const r = await runJx(["run", "--strict", "--reactor", reactor], {
          cwd: dir,
          runtime,
          env: { TMPDIR: `${dir}/tmp` },
        });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(await Deno.readTextFile(`${dir}/seen.txt`), "");
        assert.deepEqual(await traceLeft(`${dir}/tmp`), []);
      },
    });
  }
}

for (const reactor of ["auto", "portable"]) {
  Deno.test({
    name:
      `run --check-access: four jobs at once, each a long trace through its FIFO: every access is read (reactor ${reactor})`,
    ignore,
    fn: async () => {
      const files: Record<string, string> = {};
      for (let i = 0; i < 300; i++) files[`in/f${i}`] = "";
      // Each job reads every file many times (past 1 MiB of trace: a FIFO that fills), then its own
      // one, undeclared.
      const job = (n: number) =>
        `  j${n}:\n    run: |\n      for k in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do for f in in/*; do : < "$f"; done; done\n` +
        `      : < own${n}.txt\n    reads: [in/*]\n`;
      for (let n = 0; n < 4; n++) files[`own${n}.txt`] = "";
      const dir = await tempDir({
        ...files,
        "jobs.yaml": `jobs:\n${[0, 1, 2, 3].map(job).join("")}`,
      });
      const r = await runJx(["run", "--check-access", "-j4", "--reactor", reactor], { cwd: dir });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const found = r.stdout.split("\n").filter((l) => l.includes("not in its reads"));
      assert.deepEqual(
        found.map((l) => /job '(j\d)' read (own\d.txt)/.exec(l)!.slice(1).join(" ")).sort(),
        ["j0 own0.txt", "j1 own1.txt", "j2 own2.txt", "j3 own3.txt"],
      );
    },
  });
}

Deno.test({
  name: "lint: nothing of a trace is left after a failed job, a timeout or jx's SIGTERM",
  ignore,
  fn: async () => {
    const dir = await tempDir({ "f": "", "tmp/.keep": "" });
    const env = { TMPDIR: `${dir}/tmp` };
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      "jobs:\n  bad: { run: 'cat f; exit 3' }\n  slow: { run: 'sleep 30', timeout: 300ms }\n" +
        "  long: { run: 'echo up > up; sleep 30' }\n",
    );
    for (const job of ["bad", "slow"]) {
      const r = await runJx(["lint", job], { cwd: dir, env });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.deepEqual(await traceLeft(`${dir}/tmp`), [], job);
    }
    const [cmd, argv] = jxCommand("deno", ["lint", "long"]);
    const lint = new Deno.Command(cmd, {
      args: argv,
      cwd: dir,
      env,
      stdout: "null",
      stderr: "null",
    })
      .spawn();
    await waitForFile(`${dir}/up`);
    lint.kill("SIGTERM");
    assert.equal((await lint.status).code, 143);
    assert.deepEqual(await traceLeft(`${dir}/tmp`), []);
  },
});

Deno.test({
  name: "lint: a failed attempt that is retried is not checked: what the attempt that ended did is",
  ignore,
  fn: async () => {
    const dir = await tempDir({
      "secret.txt": "s\n",
      // Attempt 1 reads a file and writes one it does not declare, then fails; attempt 2 is clean.
      "jobs.yaml": "jobs:\n  flaky:\n    run: |\n" +
        "      if [ -e tried ]; then echo ok > out.txt; exit 0; fi\n" +
        "      cat secret.txt > junk.txt; touch tried; exit 1\n" +
        "    reads: [tried]\n    writes: [out.txt, tried]\n    retries: 1\n",
    });
    const r = await runJx(["lint", "--events", "ev.ndjson"], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.includes("junk.txt") || r.stdout.includes("secret.txt"), false, r.stdout);
    const events = await readEvents(`${dir}/ev.ndjson`);
    assert.deepEqual(events.filter((e) => e.type === "access.finding"), []);
    const saved = JSON.parse(await Deno.readTextFile(`${dir}/.jx/access.json`));
    assert.deepEqual(saved.files["jobs.yaml"].jobs.flaky.findings, []);
  },
});

Deno.test({
  name:
    "run --check-access: a failed attempt whose retry never comes (the run stops) is checked, before its last job.end",
  ignore,
  fn: async () => {
    const dir = await tempDir({
      "secret.txt": "s\n",
      "jobs.yaml": "jobs:\n  flaky:\n    run: cat secret.txt > /dev/null; exit 1\n" +
        "    retries: { count: 1, delay: 30s }\n  other: { run: sleep 0.3; exit 2 }\n",
    });
    const r = await runJx(["run", "--check-access", "--events", "ev.ndjson"], { cwd: dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /job 'flaky' read secret.txt, not in its reads/);
    const events = await readEvents(`${dir}/ev.ndjson`);
    const at = (type: string) => events.findLastIndex((e) => e.type === type && e.job === "flaky");
    assert.ok(at("access.finding") >= 0 && at("access.finding") < at("job.end"));
    const times = events.map((e) => e.t as number);
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
  },
});

Deno.test({
  name: "lint: the trace folder of a jx killed with SIGKILL is removed by the next jx lint",
  ignore,
  fn: async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs:\n  a: { run: 'true' }\n", "tmp/.keep": "" });
    const tmp = `${dir}/tmp`;
    const host = Deno.hostname().replace(/[^A-Za-z0-9.]/g, "_");
    // A pid no process has (above the kernel's pid_max), as a jx killed with SIGKILL left it.
    const left = `${tmp}/jx-trace-${host}-4194305-Killed`;
    await Deno.mkdir(left);
    await Deno.writeTextFile(`${left}/1.trace`, "12 openat(AT_FDCWD</p>, ...) = 3\n".repeat(1000));
    const r = await runJx(["lint"], { cwd: dir, env: { TMPDIR: tmp } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await traceLeft(tmp), []);
  },
});

Deno.test({
  name: "lint: an --events that cannot be written: exit 2, and no trace folder left behind",
  ignore,
  fn: async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs:\n  a: { run: 'true' }\n", "tmp/.keep": "" });
    const r = await runJx(["lint", "--events", "/proc/no/ev.ndjson"], {
      cwd: dir,
      env: { TMPDIR: `${dir}/tmp` },
    });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^jx: cannot write the event log '\/proc\/no\/ev.ndjson'/);
    assert.deepEqual(await traceLeft(`${dir}/tmp`), []);
  },
});

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `${runtime}: run --check-access and lint under ulimit -n 80 at -j30: the FIFOs counted, every job runs (was 'Too many open files', an internal error)`,
    ignore,
    fn: async () => {
      const jobs = Array.from({ length: 30 }, (_, i) => `  j${i}: { run: sleep 0.2 }\n`).join("");
      const dir = await tempDir({ "jobs.yaml": `jobs:\n${jobs}` });
      for (const args of [["run", "--check-access"], ["lint"]]) {
        const [cmd, argv] = jxCommand(runtime, [...args, "-j30"]);
        const out = await new Deno.Command("/bin/sh", {
          args: ["-c", 'ulimit -n 80 && exec "$@"', "sh", cmd, ...argv],
          cwd: dir,
          env: { NO_COLOR: "1" },
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, text);
        assert.match(text, /jx: 30 jobs ok/);
        assert.doesNotMatch(text, /internal error|Too many open files/);
      }
    },
  });
}
