/**
 * jx in a hostile environment: a full disk under `.jx/`, few file descriptors. What ran is
 * said and kept where it can be, jx says what failed in one line (never an internal error nor
 * a stack), and it ends, the same on Deno and Bun. The tests that need a small tmpfs mount it
 * (root); where mounting is not permitted they pass without checking anything.
 */
import assert from "node:assert/strict";
import { jxCommand, type Runtime, RUNTIMES, tempDir } from "../helpers.ts";

/** Runs a shell command quietly: whether it exited 0. */
function sh(script: string): boolean {
  try {
    return new Deno.Command("/bin/sh", { args: ["-c", script], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/**
 * Mounts a tmpfs of `kib` KiB on `dir` and fills it up (but for what `dir` holds now, which
 * moves onto it): false when mounting is not permitted here.
 */
function mountFull(dir: string, kib: number): boolean {
  const keep = `${dir}.keep`;
  if (!sh(`mv '${dir}' '${keep}' && mkdir '${dir}'`)) return false;
  if (!sh(`mount -t tmpfs -o size=${kib}k tmpfs '${dir}'`)) {
    sh(`rmdir '${dir}' && mv '${keep}' '${dir}'`);
    return false;
  }
  sh(
    `cp -a '${keep}/.' '${dir}/' && rm -rf '${keep}'; head -c ${
      kib * 2048
    } /dev/zero > '${dir}/fill'`,
  );
  return true;
}

/** jx under `sh -c` (its limits set by `prefix`), ended by SIGKILL if it takes over 60 s. */
async function jxIn(runtime: Runtime, dir: string, args: string[], prefix = "") {
  const [cmd, argv] = jxCommand(runtime, args);
  const quoted = [cmd, ...argv].map((w) => `'${w}'`).join(" ");
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `${prefix} exec timeout -s KILL 60 ${quoted}`],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const TWO = "version: 1\njobs:\n" +
  "  a: { run: 'echo from a', writes: [a.out] }\n" +
  "  b: { run: 'echo from b', needs: [a], writes: [b.out] }\n";

for (const runtime of RUNTIMES) {
  Deno.test(`a full disk under the project: the jobs run, one warning says they are not recorded, exit 0 [${runtime}]`, async () => {
    const root = await tempDir({ "p/jobs.yaml": TWO });
    const dir = `${root}/p`;
    if (!mountFull(dir, 64)) return; // not permitted here
    try {
      const r = await jxIn(runtime, dir, ["run"]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
      assert.match(r.stdout + r.stderr, /from a[^]*from b/);
      assert.match(
        r.stderr,
        /^jx: warning: a: not recorded as done \(\.jx\/state\.ndjson: no space left on device\): it runs again next time$/m,
      );
      assert.match(r.stderr, /^jx: warning: job durations not kept: no space left on device$/m);
      assert.match(
        r.stderr,
        /^jx: warning: 1 more job not recorded as done: it runs again next time$/m,
      );
      const left = [...Deno.readDirSync(`${dir}/.jx`)].map((e) => e.name).filter((n) =>
        /tmp/.test(n)
      );
      assert.deepEqual(left, [], "no temporary file left in .jx/");
    } finally {
      sh(`umount '${dir}'`);
      await Deno.remove(root, { recursive: true });
    }
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`a full cache folder: the job runs, one warning in the same words on every runtime, no temporary file left [${runtime}]`, async () => {
    const root = await tempDir({
      "p/jobs.yaml": "cache: true\njobs:\n" +
        "  a: { run: 'head -c 4096 /dev/urandom > a.out', writes: [a.out] }\n",
      "c/.keep": "",
    });
    if (!mountFull(`${root}/c`, 64)) return; // not permitted here
    try {
      const r = await jxIn(runtime, `${root}/p`, ["run", "--cache-dir", `${root}/c/store`]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
      // Naming the store's file that failed, when the runtime's error names it.
      assert.match(
        r.stderr,
        /^jx: warning: a not stored in the cache: (\/\S+: )?no space left on device(; nothing more is stored there this run)?$/m,
      );
      assert.deepEqual([...Deno.readDirSync(`${root}/c/store/tmp`)], [], "no temporary file left");
    } finally {
      sh(`umount '${root}/c'`);
      await Deno.remove(root, { recursive: true });
    }
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`an input jx cannot read to hash (EIO, as EMFILE under ulimit -n): the job runs, and again next time [${runtime}]`, async () => {
    // Reading /proc/self/mem at offset 0 fails with EIO: a read that fails as one out of fds does.
    const dir = await tempDir({
      "jobs.yaml": "version: 1\njobs:\n" +
        "  a: { run: 'echo ran >> a.log', reads: [in], writes: [a.log] }\n" +
        "  b: { run: 'echo from b', needs: [a] }\n",
    });
    Deno.symlinkSync("/proc/self/mem", `${dir}/in`);
    for (let i = 1; i <= 2; i++) {
      const r = await jxIn(runtime, dir, ["run"]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
      assert.match(r.stdout, /from b/);
      assert.equal(Deno.readTextFileSync(`${dir}/a.log`), "ran\n".repeat(i), "a ran each time");
    }
    const why = await jxIn(runtime, dir, ["explain", "a"]);
    assert.match(why.stdout + why.stderr, /cannot be checked: in: input\/output error/);
    await Deno.remove(dir, { recursive: true });
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`a read-only project folder: no lock, one warning; up to date is said, a job runs unrecorded [${runtime}]`, async () => {
    const root = await tempDir({
      "p/jobs.yaml": "version: 1\njobs:\n  a: { run: 'echo a > a.out', writes: [a.out] }\n",
      "p/plain.yaml": "version: 1\njobs:\n  t: { run: 'echo from t', reads: [plain.yaml] }\n",
    });
    const dir = `${root}/p`;
    assert.equal((await jxIn(runtime, dir, ["run"])).code, 0);
    if (!sh(`mount --bind '${dir}' '${dir}' && mount -o remount,bind,ro '${dir}'`)) return;
    try {
      const noLock = "jx: warning: no run lock (nothing is recorded): cannot take the run lock: " +
        `${dir}/.jx/lock: read-only file system`;
      const r = await jxIn(runtime, dir, ["run"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.split("\n")[0], noLock);
      assert.match(r.stderr, /^jx: 1 job up to date in /m);
      assert.doesNotMatch(r.stderr, /internal error|not recorded/);
      const t = await jxIn(runtime, dir, ["run", "-f", "plain.yaml"]);
      assert.equal(t.code, 0, t.stderr);
      assert.match(t.stdout, /from t/);
      assert.equal(t.stderr.split("\n")[0], noLock);
      assert.match(
        t.stderr,
        /^jx: warning: t: not recorded as done \(\.jx\/state\.ndjson: read-only file system\): it runs again next time$/m,
      );
    } finally {
      sh(`umount '${dir}'`);
      await Deno.remove(root, { recursive: true });
    }
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`a full TMPDIR: a job's output past the memory cap is held in memory, whole, one warning [${runtime}]`, async () => {
    // 3 MiB of numbered lines: past the 1 MiB jx holds before it spills to TMPDIR.
    const dir = await tempDir({
      "jobs.yaml": "version: 1\njobs:\n" +
        "  big: { run: 'seq 1 400000' }\n" +
        "  after: { run: 'echo after', needs: [big] }\n",
    });
    const tmp = `${dir}/tmp`;
    Deno.mkdirSync(tmp);
    if (!sh(`mount -t tmpfs -o size=64k tmpfs '${tmp}'`)) return;
    try {
      sh(`head -c 200000 /dev/zero > '${tmp}/fill'`);
      const r = await jxIn(runtime, dir, ["run"], `TMPDIR='${tmp}'`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stderr.split("\n")[0],
        `jx: warning: output held in memory: cannot spill it to ${tmp}: no space left on device`,
      );
      const lines = r.stdout.split("\n").filter((l) => /^\d+$/.test(l));
      assert.equal(lines.length, 400000);
      assert.ok(lines.every((l, i) => l === String(i + 1)), "every line, in order");
      assert.match(r.stdout, /\nafter\n/);
      assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), ["fill"]);
    } finally {
      sh(`umount '${tmp}'`);
      await Deno.remove(dir, { recursive: true });
    }
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`stdout past the file size limit (ulimit -f): a write error, exit 1, the other job stopped [${runtime}]`, async () => {
    // Without a handler of jx's own, Deno died of SIGXFSZ (exit 153), leaving 'slow' running.
    const dir = await tempDir({
      "jobs.yaml": "version: 1\njobs:\n" +
        "  big: { run: 'seq 1 1000000' }\n" +
        "  slow: { run: 'sleep 5; touch slow.done' }\n",
    });
    const r = await jxIn(runtime, dir, ["run", "-j2"], "ulimit -f 2000; exec > out.txt;");
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /\njx: write error: stdout: file too large\n$/);
    assert.match(r.stderr, /slow: CANCELLED/);
    await new Promise((res) => setTimeout(res, 6000));
    assert.equal(sh(`test -e '${dir}/slow.done'`), false, "slow was stopped with the run");
    await Deno.remove(dir, { recursive: true });
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`a read-only TMPDIR: no jobserver pool, one warning, the jobs run [${runtime}]`, async () => {
    const dir = await tempDir({ "jobs.yaml": TWO });
    const tmp = `${dir}/tmp`;
    Deno.mkdirSync(tmp);
    if (!sh(`mount -t tmpfs -o size=64k,ro tmpfs '${tmp}'`)) return;
    try {
      const r = await jxIn(runtime, dir, ["run", "-j2"], `TMPDIR='${tmp}'`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stderr.split("\n")[0],
        `jx: warning: no jobserver pool for the jobs (${tmp}: read-only file system); using -j2`,
      );
      assert.match(r.stdout, /from a[^]*from b/);
    } finally {
      sh(`umount '${tmp}'`);
      await Deno.remove(dir, { recursive: true });
    }
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`jx clean in a read-only folder: one line per file it cannot remove, exit 1 [${runtime}]`, async () => {
    const dir = await tempDir({
      "jobs.yaml": "version: 1\njobs:\n  a: { run: 'echo a > a.out', writes: [a.out] }\n",
    });
    assert.equal((await jxIn(runtime, dir, ["run"])).code, 0);
    if (!sh(`mount --bind '${dir}' '${dir}' && mount -o remount,bind,ro '${dir}'`)) return;
    try {
      const r = await jxIn(runtime, dir, ["clean"]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^jx: cannot remove a\.out: read-only file system$/m);
      assert.doesNotMatch(r.stderr, /internal error/);
      assert.equal(r.stdout, "");
    } finally {
      sh(`umount '${dir}'`);
      await Deno.remove(dir, { recursive: true });
    }
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`a low open-files limit (ulimit -n 80) and a small -j16: fewer at once, one warning, no job fails to start [${runtime}]`, async () => {
    const jobs = Array.from({ length: 16 }, (_, i) => `  s${i}: { run: sleep 0.3 }`);
    const dir = await tempDir({ "jobs.yaml": `jobs:\n${jobs.join("\n")}\n` });
    const r = await jxIn(runtime, dir, ["run", "-j16", "--output", "quiet"], "ulimit -n 80;");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /jx: 16 jobs ok in /);
    const warnings = r.stderr.split("\n").filter((l) => l.startsWith("jx: warning:"));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(
      warnings[0],
      /^jx: warning: -j16: at most \d+ jobs run at once within the open-files limit \(ulimit -n 80; each job holds about 4\): -j\d+$/,
    );
  });

  Deno.test(`jx sh -j16 under ulimit -n 80: fewer commands at once, one warning, none fails to start [${runtime}]`, async () => {
    const lines = Array.from({ length: 16 }, (_, i) => `sleep 0.3 && touch done.${i} &`);
    const dir = await tempDir({ "s.sh": `${lines.join("\n")}\nwait\n` });
    const r = await jxIn(runtime, dir, ["sh", "-j16", "s.sh"], "ulimit -n 80;");
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split("\n").filter((l) => l.startsWith("jx: warning:"));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(
      warnings[0],
      /^jx: warning: -j16: at most \d+ jobs run at once within the open-files limit/,
    );
    const done = Deno.readDirSync(dir).filter((e) => e.name.startsWith("done.")).toArray();
    assert.equal(done.length, 16);
  });

  Deno.test(`modules count against the open-files limit; a job's tokens are not lowered away (ulimit -n 160, ulimit -n 64) [${runtime}]`, async () => {
    const mods = Array.from({ length: 8 }, (_, i) => `  m${i}: { run: sleep 30 }`);
    const needs = Array.from({ length: 8 }, (_, i) => `m${i}`).join(", ");
    const jobs = Array.from(
      { length: 60 },
      (_, i) => `  s${i}: { run: sleep 0.2, needs: [${needs}] }`,
    );
    const dir = await tempDir({
      "jobs.yaml": `modules:\n${mods.join("\n")}\njobs:\n${jobs.join("\n")}\n`,
      "tok.yaml": 'jobs:\n  big: { run: "echo big", tokens: 8 }\n  small: { run: "echo small" }\n',
    });
    const r = await jxIn(runtime, dir, ["run", "-j300", "--output", "quiet"], "ulimit -n 160;");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /jx: 60 jobs ok in /);
    for (const command of ["run", "lint"]) {
      const t = await jxIn(runtime, dir, [command, "-f", "tok.yaml", "-j8"], "ulimit -n 64;");
      assert.equal(t.code, 0, `${command}: ${t.stderr}`);
    }
  });

  Deno.test(`-j past the open-files limit (ulimit -n 512, -j300): fewer at once, one warning, no job fails to start [${runtime}]`, async () => {
    const jobs = Array.from({ length: 300 }, (_, i) => `  s${i}: { run: sleep 0.3 }`);
    const dir = await tempDir({ "jobs.yaml": `jobs:\n${jobs.join("\n")}\n` });
    // `ulimit -n` sets the hard limit too: jx's runtime cannot raise its soft one past it.
    const r = await jxIn(runtime, dir, ["run", "-j300", "--output", "quiet"], "ulimit -n 512;");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /jx: 300 jobs ok in /);
    const warnings = r.stderr.split("\n").filter((l) => l.startsWith("jx: warning:"));
    assert.deepEqual(warnings, [
      "jx: warning: -j300: at most 112 jobs run at once within the open-files limit " +
      "(ulimit -n 512; each job holds about 4): -j112",
    ]);
  });
}
