/**
 * The jobserver under a careless user's or a broken parent's MAKEFLAGS, and
 * token accounting at its edges: each test here failed before its fix.
 */
import assert from "node:assert/strict";
import { BUN, parentOf, readEvents, ROOT, runJx, sleep, tempDir, waitForFile } from "../helpers.ts";
import { findMake44, make, MAKE_TROUBLE, maxConcurrency, recorded } from "./jobserver_helpers.ts";

const JX = `${ROOT}/bin/jx`;

/** A make recipe that runs jx with make's `R,W` pair rewritten by `sed` (`\1` R, `\2` W). */
const rewritten = (pair: string, jx: string): string =>
  `\t+@P=$$(echo "$$MAKEFLAGS" | sed 's/.*auth=\\([0-9]*\\),\\([0-9]*\\).*/${pair}/'); ` +
  `MAKEFLAGS=" -j3 --jobserver-auth=$$P" ${jx}\n`;

Deno.test("jobserver client: a pipe pair swapped or one-sided (W not writable, R not readable) is not joined: one warning, -j1 (was an uncaught error, exit 1, and make's tokens lost)", async () => {
  const jobs = "jobs:\n  a: { run: 'true' }\n  b: { run: 'true' }\n";
  const cases = [
    ["\\2,\\1", /fd \d+ is not open for reading/],
    ["\\1,\\1", /fd \d+ is not open for writing/],
    ["\\2,\\2", /fd \d+ is not open for reading/],
  ] as const;
  for (const [pair, why] of cases) {
    const dir = await tempDir({
      "jobs.yaml": jobs,
      "Makefile": `all: x\nx:\n\t@true\nall:\n${
        rewritten(pair, `${JX} run --output quiet --events ev.ndjson`)
      }`,
    });
    const r = await make(["-j3"], dir);
    assert.equal(r.code, 0, r.text);
    assert.doesNotMatch(r.text, /Uncaught|cannot return tokens/);
    assert.doesNotMatch(r.text, /INTERNAL: Exiting with/); // make's tokens all came back
    assert.match(
      r.text,
      new RegExp(
        `jx: warning: jobserver unavailable \\(--jobserver-auth=\\d+,\\d+: ${why.source}\\); using -j1`,
      ),
    );
    assert.equal((await readEvents(`${dir}/ev.ndjson`))[0].slots, 1, pair);
  }
});

Deno.test("jobserver client: make -j with no number names no pool: jx runs at the CPU count, and jx doctor says so (it said the make had no -j)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  a: { run: 'true' }\n",
    "Makefile": `all:\n\t+@${JX} run --output quiet --events ev.ndjson\n`,
  });
  const r = await make(["-j"], dir);
  assert.equal(r.code, 0, r.text);
  assert.doesNotMatch(r.text, /warning/);
  assert.equal((await readEvents(`${dir}/ev.ndjson`))[0].slots, navigator.hardwareConcurrency);
  const doctor = await runJx(["doctor"], { cwd: dir, env: { MAKELEVEL: "1", MAKEFLAGS: " -j" } });
  assert.match(
    doctor.stdout,
    /^jobserver from make +none \(make -j with no number names no pool\); a run uses -j N if given, else the CPU count$/m,
  );
});

const MAKE44 = await findMake44("jobserver_adversary_test");

Deno.test("jobserver client: two jx under make -j2, each with a job of tokens 2, both run, one at a time (each kept its implicit slot and waited for the other's for ever)", async () => {
  // Each job records its start and end in ../log (one log for both).
  const job = (d: string) =>
    `jobs:\n  big: { run: '${recorded(d, 0.2).replaceAll(">> log", ">> ../log")}', tokens: 2 }\n`;
  const dir = await tempDir({
    "a/jobs.yaml": job("a"),
    "b/jobs.yaml": job("b"),
    "Makefile": `.PHONY: all a b\nall: a b\na b:\n\t+@cd $@ && ${JX} run --output quiet\n`,
  });
  for (const program of ["make", ...(MAKE44 ? [MAKE44] : [])]) {
    await Deno.remove(`${dir}/log`).catch(() => {});
    const out = await new Deno.Command("timeout", {
      args: ["30", program, "-j2"],
      cwd: dir,
      env: { NO_COLOR: "1", MAKEFLAGS: "" },
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, `${program}: ${text}`); // 124: the timeout, a hang
    assert.doesNotMatch(text, MAKE_TROUBLE);
    // Each holds both slots: never two at once.
    assert.deepEqual(await maxConcurrency(`${dir}/log`), { max: 1, count: 2 }, program);
  }
});

Deno.test("jobserver server: jx run -j2 whose two jobs are nested jx, each with a job of tokens 2: both run, one at a time (when one ended jx kept a token with its implicit slot free, and the other waited for ever)", async () => {
  const job = (d: string) =>
    `jobs:\n  big: { run: '${recorded(d, 0.2).replaceAll(">> log", ">> ../log")}', tokens: 2 }\n`;
  const dir = await tempDir({
    "a/jobs.yaml": job("a"),
    "b/jobs.yaml": job("b"),
    "jobs.yaml": `jobs:\n  a: { run: cd a && ${JX} run --output quiet }\n` +
      `  b: { run: cd b && ${JX} run --output quiet }\n`,
  });
  const out = await new Deno.Command("timeout", {
    args: ["30", JX, "run", "-j2", "--output", "quiet"],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text); // 124: the timeout, a hang
  assert.doesNotMatch(text, /warning/);
  assert.deepEqual(await maxConcurrency(`${dir}/log`), { max: 1, count: 2 });
});

Deno.test("jobserver server: once a job ended, a make in the job still running gets the slot it freed (jx kept a token with its implicit slot free: -j2 ran the make's recipes one at a time)", async () => {
  // Each recipe waits (up to 10 s) for the other to have started, then counts them: 2 when the
  // freed slot is in the pool.
  const wait = "i=0; while [ $$(ls run | wc -l) -lt 2 ] && [ $$i -lt 200 ]; do sleep 0.05; " +
    "i=$$((i+1)); done; ls run | wc -l > n.$@";
  const dir = await tempDir({
    "mk": `all: a b\na b:\n\tmkdir -p run; touch run/$@; ${wait}\n`,
    "jobs.yaml": "jobs:\n  short: { run: touch short.done }\n" +
      "  long: { run: 'while [ ! -e short.done ]; do sleep 0.05; done; make -s -f mk' }\n",
  });
  const r = await runJx(["run", "-j2", "--output", "quiet"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  for (const t of ["a", "b"]) {
    assert.equal((await Deno.readTextFile(`${dir}/n.${t}`)).trim(), "2", `${t}: two at once`);
  }
});

/**
 * A recipe that waits for jx (p0 holds its pid) and then its watchdog (wd, written by the test
 * while jx lived: found by its pid alone, one of an earlier jx of that pid that lingers, in a
 * CI of many processes, would be taken for it) to end.
 */
const WAIT = "up() { s=$$(sed 's/.*) //' /proc/$$1/stat 2>/dev/null); " +
  '[ -n "$$s" ] && [ "$${s%% *}" != Z ]; }; ' + // alive, not a zombie (init reaps it later)
  "while [ ! -s wd ]; do sleep 0.05; done; j=$$(cat p0); w=$$(cat wd); " +
  "while up $$j || up $$w; do sleep 0.05; done";

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`jobserver client [${runtime}]: jx killed with SIGKILL under make -j4 holding 2 tokens: its watchdog ends its jobs, then writes the tokens back (make said 'INTERNAL: Exiting with 2 jobserver tokens available; should be 4!')`, async () => {
    const jx = runtime === "deno"
      ? JX
      : [BUN, "--no-env-file", "--config=/dev/null", `${ROOT}/cli.ts`].join(" ");
    const jobs = ["jobs:"];
    for (const n of [0, 1, 2]) jobs.push(`  j${n}: { run: 'echo $PPID > p${n}; exec sleep 60' }`);
    const dir = await tempDir({
      "jobs.yaml": jobs.join("\n") + "\n",
      // b, beside jx, ends once jx and its watchdog have: make counts its pool at its end.
      "Makefile": `.PHONY: all a b\nall: a b\na:\n\t+@${jx} run --output quiet\nb:\n\t@${WAIT}\n`,
    });
    for (const program of ["make", ...(MAKE44 ? [MAKE44] : [])]) {
      for (const f of ["p0", "p1", "p2", "wd"]) await Deno.remove(`${dir}/${f}`).catch(() => {});
      const mk = new Deno.Command("timeout", {
        args: ["60", program, "-j4"],
        cwd: dir,
        env: { NO_COLOR: "1", MAKEFLAGS: "" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // All three run: jx holds its implicit slot and two of make's three tokens.
      const pids = await Promise.all([0, 1, 2].map((n) => waitForFile(`${dir}/p${n}`)));
      const jx = Number(pids[0]);
      await Deno.writeTextFile(`${dir}/wd`, String(await watchdogOf(jx)));
      Deno.kill(jx, "SIGKILL");
      const out = await mk.output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assert.notEqual(out.code, 124, `${program}: ${text}`); // the timeout: the jobs not ended
      assert.doesNotMatch(text, MAKE_TROUBLE, program);
    }
    await Deno.remove(dir, { recursive: true });
  });
}

/** The pid of jx `pid`'s watchdog (its child `jx-watchdog GRACE PID`), waited for (30 s). */
async function watchdogOf(pid: number): Promise<number> {
  for (const until = Date.now() + 30_000; Date.now() < until; await sleep(20)) {
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name) || parentOf(e.name) !== pid) continue;
      const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
      if (argv.includes("jx-watchdog")) return Number(e.name);
    }
  }
  throw new Error(`no watchdog of ${pid}`);
}
