// deno-lint-ignore-file no-control-regex
/**
 * End-to-end: the real CLI on real processes, under Deno and under Bun.
 * Ordering is proved from the event log, never from wall-clock speed.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { COMMANDS } from "../../lib/cli/args.ts";
import {
  alive,
  goneWithin,
  jxCommand,
  killAndWait,
  readEvents,
  ROOT,
  runJx,
  RUNTIMES,
  sleep,
  spans,
  tempDir,
  waitForFile,
} from "../helpers.ts";

/**
 * Runs `args` in a session of its own (setsid: its pid is its process group), sends SIGINT to
 * that whole group once `dir/ready` exists, as a terminal's Ctrl-C does; what came of it.
 */
async function ctrlC(args: string[], dir: string, ready: string) {
  await Deno.remove(`${dir}/${ready}`).catch(() => {});
  const child = new Deno.Command("setsid", { args, cwd: dir, stdout: "piped", stderr: "piped" })
    .spawn();
  await waitForFile(`${dir}/${ready}`);
  Deno.kill(-child.pid, "SIGINT");
  const out = await child.output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    signal: out.signal,
    said: dec.decode(out.stdout) + dec.decode(out.stderr),
  };
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] resource ordering from the event log: writer, overlapping readers, next writer`, async () => {
    // gen's and the readers' sleeps: long enough that `free` starts before gen ends and the
    // readers overlap, however late a loaded machine starts the second of two.
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  gen:
    run: sleep 1; mkdir -p out; echo '#define X 1' > out/gen.h
    writes: [out/gen.h]
  r1:
    run: sleep 1.5; cat out/gen.h
    reads: [out/*.h]
  r2:
    run: sleep 1.5; cat out/gen.h
    reads: [out/*.h]
  regen:
    run: echo '#define X 2' > out/gen.h
    writes: [out/gen.h]
  free:
    run: "true"
`,
    });
    const r = await runJx(["run", "-j4", "--events", "ev.ndjson"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 0, r.stderr);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    const s = spans(ev);
    assert.ok(s.get("r1")!.start >= s.get("gen")!.end, "r1 after gen");
    assert.ok(s.get("r2")!.start >= s.get("gen")!.end, "r2 after gen");
    assert.ok(
      s.get("r1")!.start < s.get("r2")!.end && s.get("r2")!.start < s.get("r1")!.end,
      "readers overlap",
    );
    assert.ok(
      s.get("regen")!.start >= Math.max(s.get("r1")!.end, s.get("r2")!.end),
      "writer after readers",
    );
    assert.ok(s.get("free")!.start < s.get("gen")!.end, "an unrelated job does not wait");
    assert.equal(ev[0].type, "run.start");
    assert.equal(ev[0].jobs, 5);
    assert.equal(ev[0].slots, 4);
    assert.equal(ev.at(-1)!.type, "run.end");
    assert.equal(ev.at(-1)!.exit, 0);
    for (let i = 1; i < ev.length; i++) assert.ok(ev[i].t >= ev[i - 1].t, "events in time order");
  });

  Deno.test(`[${rt}] job.end carries CPU time and a peak memory above jx's own; the summary says them`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  big: { run: "x=$(head -c 150000000 /dev/zero | tr '\\\\0' a); echo \${#x}" }
  small: { run: "true" }
`,
    });
    const r = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^150000000$/m);
    const ends = new Map(
      (await readEvents(`${dir}/ev.ndjson`)).filter((e) => e.type === "job.end")
        .map((e) => [e.job, e]),
    );
    const big = ends.get("big")!, small = ends.get("small")!;
    assert.ok(Number(big.user_ms) + Number(big.sys_ms) > 0, JSON.stringify(big));
    // The shell holds 150 MB: its peak is above jx's own, so the kernel's figure is its own.
    assert.ok(Number(big.max_rss_kb) >= 146_000, JSON.stringify(big));
    assert.equal(small.max_rss_kb, undefined, "a small job's peak is hidden under jx's own");
    assert.equal(typeof small.user_ms, "number");
    assert.match(r.stderr, /cpu: .* user, .* sys in jobs; most memory: big \d+ MiB/);
  });

  Deno.test(`[${rt}] buffered output is whole per job; stream output is prefixed`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  a: { run: "for i in 1 2 3; do echo a$i; sleep 0.05; done" }
  b: { run: "for i in 1 2 3; do echo b$i; sleep 0.05; done; echo b-err >&2" }
`,
    });
    const buf = await runJx(["run"], { cwd: dir, runtime: rt });
    assert.equal(buf.code, 0);
    assert.match(buf.stdout, /── a \(.*\)\na1\na2\na3\n/);
    assert.match(buf.stdout, /── b \(.*\)\nb1\nb2\nb3\nb-err\n/);
    assert.match(buf.stderr, /jx: 2 jobs ok in /);
    const st = await runJx(["run", "--output", "stream"], { cwd: dir, runtime: rt });
    assert.equal(st.code, 0);
    for (const l of ["[a]  a1", "[a]  a3", "[b]  b2"]) assert.ok(st.stdout.includes(l + "\n"), l);
    assert.ok(st.stderr.includes("[b]! b-err\n"), "stderr marked");
    const q = await runJx(["run", "--output", "quiet"], { cwd: dir, runtime: rt });
    assert.equal(q.stdout, "");
    assert.match(q.stderr, /jx: 2 jobs ok/);
  });

  Deno.test(`[${rt}] a line of stdout then one of stderr, both ready at once: shown in that order`, async () => {
    // Both pipes hold their line before jx looks (on Bun the wait worker once took the first
    // ready fd and the kernel queued it behind the other: stderr came first, every time).
    const job = (n: number) => `  j${n}: { run: "echo out${n}; echo err${n} >&2" }\n`;
    const dir = await tempDir({ "jobs.yaml": `jobs:\n${[1, 2, 3].map(job).join("")}` });
    for (const output of ["buffered", "stream"]) {
      const r = await runJx(["run", "-j1", "--output", output], { cwd: dir, runtime: rt });
      assert.equal(r.code, 0, r.stderr);
      const lines = (r.stdout + r.stderr).split("\n").filter((l) => /out|err/.test(l));
      for (const n of [1, 2, 3]) {
        const at = (w: string) => lines.findIndex((l) => l.endsWith(w + n));
        assert.ok(at("out") >= 0 && at("out") < at("err"), `${output}: ${lines.join(" | ")}`);
      }
    }
  });

  Deno.test(`[${rt}] a failure: exit 1, output shown, fail fast, -k keeps going`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  bad: { run: "echo broken; exit 3" }
  slow: { run: sleep 0.3 }
  after-slow: { run: "true", needs: [slow] }
  after-bad: { run: "true", needs: [bad] }
`,
    });
    const r = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /── bad: FAILED \(exit 3, .*\)\nbroken\n/);
    assert.match(r.stderr, /✗ bad: FAILED \(exit 3/);
    assert.match(r.stderr, /skipped after-bad: depends on bad/);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.ok(!ev.some((e) => e.type === "job.start" && e.job === "after-slow"), "fail fast");
    assert.deepEqual(ev.find((e) => e.type === "job.end" && e.job === "bad"), {
      ...ev.find((e) => e.type === "job.end" && e.job === "bad"),
      status: "failed",
      exit: 3,
      signal: null,
    });
    const k = await runJx(["run", "-k", "--events", "k.ndjson"], { cwd: dir, runtime: rt });
    assert.equal(k.code, 1);
    const kev = await readEvents(`${dir}/k.ndjson`);
    assert.ok(kev.some((e) => e.type === "job.end" && e.job === "after-slow" && e.status === "ok"));
    assert.ok(
      kev.some((e) =>
        e.type === "job.skip" && e.job === "after-bad" && e.reason === "dependency-failed"
      ),
    );
  });

  Deno.test(`[${rt}] SIGINT stops every job's process group, grandchildren included, exit 130`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  forker:
    run: sleep 60 & echo $! > grandchild.pid; wait
  other:
    run: sleep 60
`,
    });
    const [cmd, argv] = jxCommand(rt, ["run", "--events", "ev.ndjson"]);
    const child = new Deno.Command(cmd, { args: argv, cwd: dir, stdout: "piped", stderr: "piped" })
      .spawn();
    const gpid = Number(await waitForFile(`${dir}/grandchild.pid`));
    assert.ok(alive(gpid));
    // Both jobs started (their job.start logged), not 100 ms: a late `other` ended skipped.
    for (const until = Date.now() + 30_000;; await sleep(20)) {
      const ev = await readEvents(`${dir}/ev.ndjson`).catch(() => []);
      if (ev.filter((e) => e.type === "job.start").length === 2) break;
      assert.ok(Date.now() < until, `not both started: ${JSON.stringify(ev.map((e) => e.type))}`);
    }
    child.kill("SIGINT");
    const out = await child.output();
    assert.equal(out.code, 130, new TextDecoder().decode(out.stderr));
    assert.equal(out.signal, "SIGINT", "it died of the signal (exit 130 to a shell)");
    assert.equal(alive(gpid), false, "grandchild stopped");
    const ev = await readEvents(`${dir}/ev.ndjson`);
    const pids = ev.filter((e) => e.type === "job.start").map((e) => e.pid as number);
    for (const p of pids) assert.equal(alive(p), false);
    assert.deepEqual(ev.filter((e) => e.type === "job.end").map((e) => e.status), [
      "cancelled",
      "cancelled",
    ]);
    assert.equal(ev.at(-1)!.type, "run.end");
  });

  Deno.test(`[${rt}] interrupted by SIGINT, jx dies of it: a shell's loop around jx stops at Ctrl-C`, async () => {
    // A shell takes a command's exit 130 as a SIGINT the command handled, and goes on; it
    // stops its own script only when the command died of it (as make does).
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  s: { run: echo on > started; sleep 30 }\n",
    });
    const [cmd, argv] = jxCommand(rt, ["run"]);
    const jx = [cmd, ...argv].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
    const script = `for i in 1 2; do rm -f started; ${jx}; echo "round $i: $?"; done; echo went on`;
    const { signal, said } = await ctrlC(["bash", "-c", script], dir, "started");
    assert.doesNotMatch(said, /round|went on/);
    assert.match(said, /jx: interrupted/);
    assert.equal(signal, "SIGINT", said);
  });

  Deno.test(`[${rt}] jx exec under Ctrl-C: a command's own exit 130 stays an exit status; one that dies of SIGINT, jx too`, async () => {
    const dir = await tempDir({});
    const exec = async (script: string) => {
      const [cmd, argv] = jxCommand(rt, ["exec", "--", "sh", "-c", script]);
      const { code, signal } = await ctrlC([cmd, ...argv], dir, "ready");
      return { code, signal };
    };
    assert.deepEqual(await exec(`trap 'exit 130' INT; echo on > ready; sleep 5 & wait`), {
      code: 130,
      signal: null,
    });
    assert.deepEqual(await exec(`echo on > ready; exec sleep 5`), { code: 130, signal: "SIGINT" });
  });

  Deno.test(`[${rt}] SIGTERM exits 143; a job that ignores TERM is killed after its grace`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  stubborn:
    run: trap '' TERM; echo started > started; sleep 30
    grace: 300ms
`,
    });
    const [cmd, argv] = jxCommand(rt, ["run", "--events", "ev.ndjson"]);
    const child = new Deno.Command(cmd, { args: argv, cwd: dir, stdout: "piped", stderr: "piped" })
      .spawn();
    await waitForFile(`${dir}/started`);
    child.kill("SIGTERM");
    const out = await child.output();
    assert.equal(out.code, 143);
    assert.equal(out.signal, "SIGTERM");
    const end = (await readEvents(`${dir}/ev.ndjson`)).find((e) => e.type === "job.end")!;
    assert.equal(end.status, "cancelled");
    assert.equal(end.signal, "SIGKILL");
  });

  Deno.test(`[${rt}] timeout: TERM then KILL to the group; retries rerun`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  slow: { run: sleep 10, timeout: 200ms }
  flaky:
    run: 'n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; [ $n -ge 2 ]'
    retries: 3
`,
    });
    const r = await runJx(["run", "-k", "--events", "ev.ndjson"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /── slow: TIMED OUT \(killed by SIGTERM/);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    const slow = ev.find((e) => e.type === "job.end" && e.job === "slow")!;
    assert.equal(slow.status, "timeout");
    assert.ok((slow.ms as number) < 5000);
    const flaky = ev.filter((e) => e.job === "flaky" && e.type === "job.end").map((e) => e.status);
    assert.deepEqual(flaky, ["failed", "failed", "ok"]);
  });

  Deno.test(`[${rt}] environment, vars on the command line, argv runs without a shell, cwd`, async () => {
    const dir = await tempDir({
      "sub/.keep": "",
      "jobs.yaml": `
vars: { WHO: world }
env: { GREETING: hello }
jobs:
  env: { run: 'echo "$JX_JOB $GREETING \${WHO} run=$JX_RUN_ID"' }
  argv: { run: [printf, "%s|", "$HOME", "a b"] }
  where: { run: pwd, cwd: sub }
`,
    });
    const r = await runJx(["run", "WHO=jx"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /env hello jx run=\S+/);
    assert.ok(r.stdout.includes("$HOME|a b|"));
    assert.ok(r.stdout.includes(`${await Deno.realPath(dir)}/sub\n`));
  });

  Deno.test(`[${rt}] a variable of jx's environment that is not UTF-8 reaches jobs byte for byte`, async () => {
    // Deno dropped it (the job saw it unset), Bun gave it with U+FFFD for the byte.
    const dir = await tempDir({
      "jobs.yaml": `jobs:\n  a: { run: 'printf %s "$LATIN1" "$OK" > run.bin' }\n`,
    });
    const jx = async (args: string[]) => {
      const [cmd, argv] = jxCommand(rt, args);
      const set = `export LATIN1="$(printf 'caf\\351')" OK=fine; exec "$@"`;
      const r = await new Deno.Command("sh", {
        args: ["-c", set, "sh", cmd, ...argv],
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdin: "null",
      }).output();
      assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    };
    await jx(["run"]);
    await jx(["exec", "--", "sh", "-c", 'printf %s "$LATIN1" "$OK" > exec.bin']);
    const want = [0x63, 0x61, 0x66, 0xe9, ...new TextEncoder().encode("fine")];
    assert.deepEqual([...await Deno.readFile(`${dir}/run.bin`)], want);
    assert.deepEqual([...await Deno.readFile(`${dir}/exec.bin`)], want);
  });

  Deno.test(`[${rt}] -n prints what would run in order and runs nothing`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  b: { run: touch b, needs: [a] }
  a: { run: touch a }
`,
    });
    const r = await runJx(["run", "-n"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "a: touch a\nb: touch b\n");
    assert.equal(await Deno.stat(`${dir}/a`).then(() => true, () => false), false);
  });

  Deno.test(`[${rt}] a .env in the working directory reaches no job (only env_file: reads one)`, async () => {
    const dir = await tempDir({
      ".env": "JX_TEST_DOTENV=from-dot-env\n",
      // Bun runs a bunfig.toml's preload scripts (they could set anything in jx's environment).
      "bunfig.toml": 'preload = ["./pre.ts"]\n',
      "pre.ts": 'process.env.JX_TEST_DOTENV = "from-preload";\n',
      "jobs.yaml": `jobs:
  a: { run: 'echo "a=\${JX_TEST_DOTENV:-unset}" > a.txt', writes: [a.txt] }
  b: { run: 'echo "b=\${JX_TEST_DOTENV:-unset}" > b.txt', writes: [b.txt], env_file: [.env] }
`,
    });
    const r = await runJx(["run"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "a=unset\n");
    assert.equal(await Deno.readTextFile(`${dir}/b.txt`), "b=from-dot-env\n");
    if (rt === "bun") {
      // The launcher too (Bun loads ./.env unless told not to).
      const out = await new Deno.Command(`${ROOT}/bin/jx`, {
        args: ["run", "--force", "a"],
        cwd: dir,
        env: { JX_RUNTIME: "bun" },
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "a=unset\n");
    }
  });

  Deno.test(`[${rt}] a missing command fails clearly; an unknown job name exits 2`, async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs:\n  build: { run: [no-such-command-jx] }\n" });
    const r = await runJx(["run"], { cwd: dir, runtime: rt });
    assert.equal(r.code, 1);
    assert.match(r.stdout + r.stderr, /no-such-command-jx/);
    const u = await runJx(["run", "biuld"], { cwd: dir, runtime: rt });
    assert.equal(u.code, 2);
    assert.equal(u.stderr, "jx: unknown job 'biuld' (did you mean 'build'?)\n");
  });
}

Deno.test("every command's --help, -h and jx help COMMAND: its own text on stdout, exit 0", async () => {
  const top = (await runJx(["--help"])).stdout;
  // cache, lint and ui parse their own arguments; doctor's --help once ran the doctor.
  for (const cmd of COMMANDS.filter((c) => c !== "help")) {
    assert.ok(top.includes(`  jx ${cmd}`), `jx --help lists ${cmd}`);
    // With an option before it too (jx -v help lint gave the general help).
    const forms = [[cmd, "--help"], [cmd, "-h"], ["help", cmd], ["-v", "help", cmd]];
    const runs = await Promise.all(forms.map((argv) => runJx(argv)));
    runs.forEach((r, i) => {
      const argv = forms[i].join(" ");
      assert.equal(r.code, 0, `${argv}: ${r.stderr}`);
      assert.equal(r.stderr, "", argv);
      assert.match(r.stdout, new RegExp(`^Usage: jx ${cmd}\\b`), argv);
    });
  }
  for (const argv of [["help"], ["help", "--help"], ["help", "-h"], ["help", "help"]]) {
    const r = await runJx(argv);
    assert.equal(r.code, 0, argv.join(" "));
    assert.equal(r.stdout, top, `${argv.join(" ")} is jx --help`);
  }
  assert.match(top, /130\/143\/129 interrupted by SIGINT\/SIGTERM\/SIGHUP/);
  const none = await runJx(["help", "nope"]);
  assert.equal(none.code, 2);
});

Deno.test("--output stream: a long line in pieces of exactly 64 KiB, never an empty continuation", async () => {
  const x = (n: number) => `'printf "%${n}s" "" | tr " " x; echo'`;
  const dir = await tempDir({
    "jobs.yaml": `jobs:\n  one: { run: ${x(65537)} }\n  many: { run: ${x(300000)} }\n`,
  });
  const P = 64 * 1024;
  const want: [string, number[]][] = [["one", [P, 1]], ["many", [P, P, P, P, 300000 - 4 * P]]];
  for (const rt of RUNTIMES) {
    for (const [job, sizes] of want) {
      const r = await runJx(["run", "--output", "stream", job], { cwd: dir, runtime: rt });
      assert.equal(r.code, 0, r.stderr);
      // Each line as its prefix and the length of what follows it.
      const pre = `[${job}]`, w = pre.length + 2;
      assert.deepEqual(
        r.stdout.split("\n").slice(0, -1).map((l) => [l.slice(0, w), l.length - w]),
        sizes.map((n, i) => [pre + (i ? " +" : "  "), n]),
        `${rt} ${job}`,
      );
    }
  }
});

Deno.test("jx with no command: a usage error, one line on stderr, exit 2; the help stays on --help", async () => {
  for (const argv of [[], ["-k"]]) {
    const r = await runJx(argv);
    assert.equal(r.code, 2, argv.join(" "));
    assert.equal(r.stdout, "", argv.join(" "));
    assert.equal(
      r.stderr,
      "jx: no command given: jx COMMAND [ARG...] (jx --help lists the commands)\n",
    );
  }
  const help = await runJx(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^jx \S+: run a graph of jobs/);
});

Deno.test("an option of another command: one line naming both, exit 2, nothing run (the no-op path too)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  a: { run: echo x >> ran.txt, reads: [in.txt], writes: [ran.txt] }\n",
    "in.txt": "1\n",
  });
  assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
  // The second run would be answered by the no-op fast path: it must not take the option either.
  for (
    const [argv, line] of [
      [["run", "--format", "dot"], "jx: run: unknown option '--format' (see jx run --help)\n"],
      [["run", "-n", "--json"], "jx: run: unknown option '--json' (see jx run --help)\n"],
      [["watch", "-n"], "jx: watch: unknown option '-n' (see jx watch --help)\n"],
      [["graph", "-k"], "jx: graph: unknown option '-k' (see jx graph --help)\n"],
      [["clean", "--force"], "jx: clean: unknown option '--force' (see jx clean --help)\n"],
      [["exec", "-f", "jobs.yaml", "true"], "jx: exec: unknown option '-f' (see jx exec --help)\n"],
      // The commands that read their own options say it the same way.
      [["lint", "--format", "dot"], "jx: lint: unknown option '--format' (see jx lint --help)\n"],
      [["cache", "stats", "-k"], "jx: cache: unknown option '-k' (see jx cache --help)\n"],
      [["ui", "--output=quiet"], "jx: ui: unknown option '--output' (see jx ui --help)\n"],
    ] as const
  ) {
    const r = await runJx([...argv], { cwd: dir });
    assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr, line, argv.join(" "));
    assert.equal(r.stdout, "", argv.join(" "));
  }
  assert.equal(await Deno.readTextFile(`${dir}/ran.txt`), "x\n", "nothing ran after the first run");
});

Deno.test("list, graph (dot, mermaid, json), trace, --help, --version", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
pools: { link: 1 }
jobs:
  gen: { description: Generate, run: "echo > g.h", writes: [g.h] }
  cc: { description: Compile, run: "true", reads: ["*.h"], writes: [a.o] }
  link: { run: "true", reads: ["*.o"], pool: link, needs: [gen] }
`,
  });
  const list = await runJx(["list"], { cwd: dir });
  assert.equal(list.stdout, "Jobs:\n  gen   Generate\n  cc    Compile\n  link\n");
  const dot = await runJx(["graph"], { cwd: dir });
  assert.ok(dot.stdout.includes(`"gen" -> "cc" [label="writes g.h -> reads *.h"];`));
  assert.ok(dot.stdout.includes(`label="pool link"`));
  // A pool's node is no job's: a job named `pool:link` keeps its own.
  assert.ok(dot.stdout.includes(`"pool link" [shape=cylinder, label="pool link: 1"];`));
  assert.ok(dot.stdout.includes(`"pool link" -> "link" [label="pool link", style=dotted`));
  const mer = await runJx(["graph", "--format", "mermaid"], { cwd: dir });
  assert.ok(mer.stdout.startsWith("flowchart LR\n"));
  assert.ok(mer.stdout.includes(`-->|"needs"|`));
  const json = JSON.parse((await runJx(["graph", "--format=json"], { cwd: dir })).stdout);
  assert.deepEqual(
    json.edges.map((e: { from: string; to: string; reason: string }) =>
      `${e.from}>${e.to}:${e.reason}`
    ),
    [
      "gen>link:needs",
      "gen>cc:writes g.h -> reads *.h",
      "cc>link:writes a.o -> reads *.o",
      "pool:link>link:pool link",
    ],
  );
  const tr = await runJx(["run", "--trace", "trace.json", "--output", "quiet"], { cwd: dir });
  assert.equal(tr.code, 0);
  const trace = JSON.parse(await Deno.readTextFile(`${dir}/trace.json`));
  assert.equal(trace.traceEvents.filter((e: { ph: string }) => e.ph === "X").length, 3);
  assert.match((await runJx(["--help"])).stdout, /Usage:/);
  assert.match((await runJx(["run", "--help"])).stdout, /Usage: jx run/);
  assert.match((await runJx(["--version"])).stdout, /^jx \d+\.\d+\.\d+\n$/);
  const bad = await runJx(["run", "-j", "0"], { cwd: dir });
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "jx: --jobs: expected a whole number of at least 1, got '0'\n");
  const tok = await tempDir({ "jobs.yaml": "jobs:\n  big: { run: 'true', tokens: 4 }\n" });
  const t = await runJx(["run", "-j2"], { cwd: tok });
  assert.equal(t.code, 2);
  assert.equal(t.stderr, "jobs.yaml:2:3: jobs.big.tokens: needs 4 job slots but -j is 2\n");
});

Deno.test("the example in the README runs", async () => {
  const out = `${Deno.cwd()}/out/example`;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  // --force: as on a fresh clone, whatever .jx/ earlier runs left here.
  const r = await runJx(["run", "-f", "jobs.yaml.example", "--force"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /test passed/);
});

Deno.test("on a terminal: a status line redrawn in place and colors; off one: no control codes", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  a: { run: sleep 0.1; echo a }\n  b: { run: 'exit 1' }\n",
  });
  const jx = `${Deno.cwd()}/bin/jx run -k`;
  const tty = async (env: Record<string, string>) => {
    const out = await new Deno.Command("script", {
      args: ["-qec", jx, "/dev/null"],
      cwd: dir,
      env,
      stdin: "null",
    }).output();
    return new TextDecoder().decode(out.stdout);
  };
  const colored = await tty({ TERM: "xterm", NO_COLOR: "" });
  // deno-lint-ignore no-regex-spaces
  assert.match(colored, /\r\x1b\[K\[\d\/2\]  \d+\.\ds  running: /, "status line");
  assert.match(colored, /\x1b\[1;31m── b: FAILED/, "failures in red");
  const plain = await tty({ TERM: "xterm", NO_COLOR: "1" });
  // deno-lint-ignore no-regex-spaces
  assert.match(plain, /\r\x1b\[K\[\d\/2\]  \d+\.\ds  running: /, "the status line stays");
  assert.doesNotMatch(plain, /\x1b\[[0-9;]*m/, "NO_COLOR: no colors");
  const piped = await runJx(["run", "-k"], { cwd: dir, env: { TERM: "xterm", NO_COLOR: "" } });
  assert.doesNotMatch(piped.stdout + piped.stderr, /\x1b/, "no control codes off a terminal");
  assert.match(piped.stderr, /✗ b: FAILED \(exit 1/);
});

Deno.test({
  name: "max_rss_kb is reported when /proc/self/status is long (a user in hundreds of groups)",
  ignore: Deno.uid() !== 0 || !["/usr/bin/setpriv", "/bin/setpriv"].some((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  }),
  fn: async () => {
    const dir = await tempDir({
      "jobs.yaml":
        `jobs:\n  big: { run: "x=$(head -c 150000000 /dev/zero | tr '\\\\0' a); echo \${#x}" }\n`,
    });
    // 451 groups with ten-digit ids: the Groups line pushes VmHWM past 4 KiB.
    const groups = Array.from({ length: 451 }, (_, i) => 1_000_000_000 + i).join(",");
    const [cmd, argv] = jxCommand("deno", ["run", "--events", "ev.ndjson"]);
    const out = await new Deno.Command("setpriv", {
      args: ["--groups", groups, cmd, ...argv],
      cwd: dir,
      stdin: "null",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const end = (await readEvents(`${dir}/ev.ndjson`)).find((e) => e.type === "job.end")!;
    assert.ok(Number(end.max_rss_kb) >= 146_000, JSON.stringify(end));
  },
});

Deno.test("jx doctor says which runtime, reactor and jobserver are in use", async () => {
  const d = await runJx(["doctor"]);
  assert.equal(d.code, 0);
  assert.match(d.stdout, /runtime\s+deno \d/);
  assert.match(d.stdout, /reactor \(auto\)\s+epoll/);
  assert.match(d.stdout, /make\s+GNU Make \d/);
  const b = await runJx(["--version", "--verbose"], { runtime: "bun" });
  assert.match(b.stdout, /runtime\s+bun \d/);
  assert.match(b.stdout, /reactor \(auto\)\s+epoll .*the wait and spawns past the 16th in Workers/);
  assert.match(b.stdout, /jobserver\s+server and client/);
  assert.match(b.stdout, /watch\s+inotify/);
  // How stamps are taken: statx through FFI (many at once through io_uring where the kernel has it).
  assert.match(d.stdout, /stamps\s+statx through FFI/);
  assert.match(b.stdout, /stamps\s+statx through FFI/);
  const off = await runJx(["doctor"], { env: { JX_NO_IO_URING: "1" } });
  assert.match(off.stdout, /stamps\s+statx through FFI, one call each/);
  // make and ninja are looked for on PATH, setsid where the portable reactor takes it, as the
  // help says.
  const bare = await runJx(["doctor"], { env: { PATH: "/nonexistent" } });
  assert.match(bare.stdout, /^make\s+not found$/m);
  assert.match(bare.stdout, /^ninja\s+not found$/m);
  const setsid = ["/usr/bin/setsid", "/bin/setsid"].some((p) => existsSync(p));
  assert.match(bare.stdout, setsid ? /^setsid\s+found/m : /^setsid\s+not found$/m);
  // strace, which jx lint needs: its version, or how to get it.
  assert.match(d.stdout, /^strace\s+\d[\d.]* \(jx lint, --check-access\)$/m);
  assert.match(bare.stdout, /^strace\s+not found \(jx lint and --check-access need it; /m);
  const help = (await runJx(["doctor", "--help"])).stdout.replace(/\s+/g, " ");
  assert.match(
    help,
    /make and ninja found on PATH, whether \/usr\/bin\/setsid or \/bin\/setsid is there .*, and the strace on PATH/,
  );
});

for (const runtime of RUNTIMES) {
  Deno.test(`jx doctor says what a run would do with make's pool: join it, or not and why [${runtime}]`, async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  a: { run: 'true' }\n",
      "file": "",
      "Makefile":
        "plus:\n\t+@$(JX) doctor | grep 'from make'\nbare:\n\t@$(JX) doctor | grep 'from make'\n",
    });
    await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    const [cmd, argv] = jxCommand(runtime, []);
    const jx = [cmd, ...argv].map((w) => `'${w}'`).join(" ");
    /** `jx doctor`'s "jobserver from make" line with `makeflags`, fds 3 and 4 on the fifo when `open`. */
    const line = async (makeflags: string, open = false) => {
      const fds = open ? `exec 3<>"${dir}/fifo" 4<>"${dir}/fifo"; ` : "";
      const out = await new Deno.Command("sh", {
        args: ["-c", `${fds}exec ${jx} doctor`],
        cwd: dir,
        env: { MAKEFLAGS: makeflags },
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      return /^jobserver from make\s+(.*)$/m.exec(new TextDecoder().decode(out.stdout))![1];
    };
    const fallback = "; a run falls back to a pool of its own (-j N if given, else -j1)";
    const cases: [string, string, boolean?][] = [
      [
        " -j4 --jobserver-auth=fifo:/no/such/fifo",
        "jobserver unavailable (fifo:/no/such/fifo: no such file)",
      ],
      [
        ` -j4 --jobserver-auth=fifo:${dir}/file`,
        `jobserver unavailable (fifo:${dir}/file: not a fifo)`,
      ],
      [
        " -j4 --jobserver-auth=7,8",
        "jobserver unavailable (fds 7,8 are not make's pool: add '+' to the make rule that runs jx)",
      ],
      // fds 3 and 4 open, but not on a pipe: jx's own stdin and stdout pass for nothing.
      [
        " -j4 --jobserver-auth=0,2",
        "jobserver unavailable (fds 0,2 are not make's pool: add '+' to the make rule that runs jx)",
      ],
    ];
    for (const [makeflags, why] of cases) {
      const style = makeflags.includes("fifo:") ? "fifo" : "pipe";
      assert.equal(
        await line(makeflags),
        `${style} (MAKEFLAGS); jx would not join it: ${why}${fallback}`,
      );
    }
    assert.equal(
      await line(` -j4 --jobserver-auth=fifo:${dir}/fifo`),
      "fifo (MAKEFLAGS); jx would join it",
    );
    assert.equal(
      await line(" -j4 --jobserver-auth=3,4", true),
      "pipe (MAKEFLAGS); jx would join it",
    );
    // A run makes the same check: the same reason, and it runs on its own pool.
    const run = await runJx(["run"], {
      cwd: dir,
      runtime,
      env: { MAKEFLAGS: " -j4 --jobserver-auth=fifo:/no/such/fifo" },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /jobserver unavailable \(fifo:\/no\/such\/fifo: no such file\); using -j1/,
    );
    // Under a real make: a rule with '+' passes the pool, one without does not (make 4.3's pipe).
    const make = async (target: string) => {
      const out = await new Deno.Command("make", {
        args: ["-s", "-j2", target, `JX=${jx}`],
        cwd: dir,
        env: { MAKEFLAGS: "" },
      }).output();
      return new TextDecoder().decode(out.stdout);
    };
    assert.match(await make("plus"), /jx would join it/);
    const bare = await make("bare");
    if (bare.includes("pipe")) {
      assert.match(bare, /jx would not join it: jobserver unavailable \(fds/);
    }
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("a job that fails for lack of a file that a job later in the file writes: a note names the file order", async () => {
  const link = `link: { run: "cat out/a.o > app", reads: [out/a.o], writes: [app] }`;
  const compile = `compile: { run: "mkdir -p out && echo o > out/a.o", writes: [out/a.o] }`;
  const dir = await tempDir({ "jobs.yaml": `jobs:\n  ${link}\n  ${compile}\n` });
  const r = await runJx(["run", "-j1"], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^ {6}note: out\/a\.o is written by compile, later in the file: link ran before it \(file order: docs\/ordering\.md\); to use its output, move link after compile or add needs: \[compile\]$/m,
  );
  // The file there (a stale input): the failure is the job's own, no note.
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    `jobs:\n  ${link.replace("cat", "false && cat")}\n  ${compile}\n`,
  );
  await Deno.mkdir(`${dir}/out`);
  await Deno.writeTextFile(`${dir}/out/a.o`, "old\n");
  const stale = await runJx(["run", "-j1"], { cwd: dir });
  assert.equal(stale.code, 1);
  assert.doesNotMatch(stale.stderr, /note:/);
  // In the right order: no note either.
  await Deno.remove(`${dir}/out`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    `jobs:\n  ${compile}\n  ${link.replace("cat", "false && cat")}\n`,
  );
  const ordered = await runJx(["run", "-j1"], { cwd: dir });
  assert.equal(ordered.code, 1);
  assert.doesNotMatch(ordered.stderr, /note:/);
});

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a false test that jobs need: the summary names it and what it skipped (the run fails)`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  probe: { run: "exit 1" }
  fast: { run: "true", if: probe }
  deploy: { run: "true", needs: [probe] }
  notify: { run: "true", needs: [deploy] }
`,
    });
    for (const k of [[], ["-k"]]) {
      const r = await runJx(["run", ...k], { cwd: dir, runtime: rt });
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trimEnd().split("\n");
      assert.deepEqual(lines, [
        "  ✗ probe: false (a test that other jobs need)",
        "      skipped deploy: depends on probe",
        "      skipped notify: depends on probe",
        lines.at(-1)!,
      ]);
      assert.match(lines.at(-1)!, /^jx: FAILED: 1 job false, 1 skipped \(condition\), 2 skipped/);
    }
  });
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a timeout: the SIGKILL after the grace reaches a setsid child that ignores TERM, though its parent died of the TERM`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  escape:
    run: |
      setsid sh -c 'trap "" TERM; echo $$ > esc.pid; exec sleep 60' &
      sleep 61
    timeout: 300ms
    grace: 300ms
`,
    });
    const [cmd, argv] = jxCommand(rt, ["run", "--events", "ev.ndjson"]);
    const child = new Deno.Command(cmd, { args: argv, cwd: dir, stdout: "null", stderr: "null" })
      .spawn();
    const pid = Number(await waitForFile(`${dir}/esc.pid`));
    try {
      // It holds the job's output: without the SIGKILL, the job (and jx) would wait for its end.
      const done = await Promise.race([child.status, sleep(20_000).then(() => undefined)]);
      assert.ok(done, "jx still waits for the process that left the job's group");
      assert.equal(done.code, 1);
      assert.ok(await goneWithin(pid), "the escaped process is gone");
      const end = (await readEvents(`${dir}/ev.ndjson`)).find((e) => e.type === "job.end")!;
      assert.equal(end.status, "timeout");
    } finally {
      if (alive(pid)) Deno.kill(pid, "SIGKILL");
      await killAndWait(child);
    }
  });
}
