/**
 * The GNU make jobserver with jx on Bun (`bun cli.ts`): the portable
 * reactor's `watch` (an epoll set waited on in a Worker) and libc through
 * `bun:ffi`. jx as the server of a pool its make sub-makes (make 4.3, pipe
 * form: Bun passes the pool's fds at 3,4) and a nested jx share; jx as a `+`
 * client inside `make -jN`; make 4.4.1's fifo form both ways; the pool whole
 * at the end. Concurrency comes from timestamps the recipes write, never
 * from wall-clock speed.
 */
import assert from "node:assert/strict";
import { BUN, readEvents, ROOT, runJx, tempDir } from "../helpers.ts";

/** jx on Bun, as a command line inside a jobs file or a Makefile. */
const JX_BUN = `${BUN} ${ROOT}/cli.ts`;

/** GNU make 4.4.1, as tests/e2e/jobserver_test.ts finds it (undefined, with a message, if not). */
async function findMake44(): Promise<string | undefined> {
  const given = Deno.env.get("JX_MAKE44");
  if (given) return given;
  const script = `${ROOT}/../shared/tools/make-4.4.sh`;
  const prefix = `${Deno.env.get("HOME")}/.cache/jx/make-4.4`;
  let why: string;
  try {
    const out = await new Deno.Command("bash", { args: [script, prefix], stdin: "null" }).output();
    const d = new TextDecoder();
    const path = d.decode(out.stdout).trim().split("\n").pop() ?? "";
    if (out.code === 0 && path) return path;
    why = `${script} exited ${out.code}: ${d.decode(out.stderr).trim().split("\n").pop()}`;
  } catch (e) {
    why = (e as Error).message;
  }
  console.error(`jobserver_bun_test: SKIPPING the make 4.4.1 (fifo style) tests: ${why}`);
  return undefined;
}
const MAKE44 = await findMake44();

const MAKE_TROUBLE = /INTERNAL: Exiting with|jobserver unavailable|invalid --jobserver-auth/;

/** A shell line that records its start and end (ns) in `log`. */
const recorded = (name: string, secs: number) =>
  `echo "start ${name} $(date +%s%N)" >> log; sleep ${secs}; echo "end ${name} $(date +%s%N)" >> log`;

/** The same line in a Makefile recipe, where `$(` must be written `$$(`. */
const inMake = (line: string) => line.replaceAll("$(", () => "$$(");

/** A Makefile whose targets record their start and end in `log`, and their MAKEFLAGS in `flags.TARGET`. */
const recordingMakefile = (targets: string[], secs: number) =>
  `all: ${targets.join(" ")}\n${targets.join(" ")}:\n\t@echo "$$MAKEFLAGS" > flags.$@; ${
    inMake(recorded("$@", secs))
  }\n`;

/** The most `start`s open at once, from the given logs. */
async function maxConcurrency(...logs: string[]): Promise<{ max: number; count: number }> {
  const ev: [number, number][] = [];
  for (const path of logs) {
    const text = await Deno.readTextFile(path).catch(() => "");
    for (const line of text.split("\n").filter((l) => l)) {
      const [kind, , ns] = line.split(" ");
      ev.push([Number(BigInt(ns) / 1000n), kind === "start" ? 1 : -1]);
    }
  }
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0, max = 0;
  for (const [, d] of ev) max = Math.max(max, cur += d);
  return { max, count: ev.length / 2 };
}

async function make(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  program = "make",
) {
  const out = await new Deno.Command(program, {
    args,
    cwd,
    env: { NO_COLOR: "1", MAKEFLAGS: "", ...env },
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, text: d.decode(out.stdout) + d.decode(out.stderr) };
}

Deno.test("jobserver [bun] server: jx -j3 running three make 4.3 sub-makes and a nested jx never exceeds 3", async () => {
  const mk = recordingMakefile(["a", "b", "c", "d", "e", "f"], 0.15);
  const inner = ["jobs:"];
  for (let i = 0; i < 3; i++) inner.push(`  n${i}: { run: '${recorded(`n${i}`, 0.15)}' }`);
  const dir = await tempDir({
    "d1/Makefile": mk,
    "d2/Makefile": mk,
    "d3/Makefile": mk,
    "d4/jobs.yaml": inner.join("\n") + "\n",
    "jobs.yaml": `
jobs:
  m1: { run: make -s -C d1 }
  m2: { run: make -s -C d2 }
  m3: { run: make -s -C d3 }
  nested: { run: ${JX_BUN} run -f d4/jobs.yaml --output quiet --events d4/ev.ndjson }
`,
  });
  const r = await runJx(["run", "-j3", "--events", "ev.ndjson"], {
    cwd: dir,
    runtime: "bun",
    env: { MAKEFLAGS: "" },
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, MAKE_TROUBLE);
  assert.doesNotMatch(r.stderr, /warning/, "no warning: the pool is whole at the end");
  const c = await maxConcurrency(
    `${dir}/d1/log`,
    `${dir}/d2/log`,
    `${dir}/d3/log`,
    `${dir}/d4/log`,
  );
  assert.equal(c.count, 21);
  assert.ok(c.max <= 3, `at most 3 recipes at once, saw ${c.max}`);
  assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
  // make 4.3 got the pipe form, at the fds Bun passed (3,4).
  assert.match(await Deno.readTextFile(`${dir}/d1/flags.a`), /-j3 --jobserver-auth=3,4/);
  const start = (await readEvents(`${dir}/ev.ndjson`))[0];
  assert.equal(start.jobserver, "server");
  assert.equal(start.slots, 3);
  const nested = (await readEvents(`${dir}/d4/ev.ndjson`))[0];
  assert.equal(nested.jobserver, "client", "the nested jx (Bun) joined through fds 3,4");
});

Deno.test("jobserver [bun] client: make -j3 with two recipes and a + recipe running jx with 8 jobs never exceeds 3", async () => {
  const jobs = ["jobs:"];
  for (let i = 0; i < 8; i++) jobs.push(`  j${i}: { run: '${recorded(`j${i}`, 0.2)}' }`);
  jobs.push("  m43: { run: make -s -C sub }");
  const dir = await tempDir({
    "Makefile": `all: x y j\nx y:\n\t@${
      inMake(recorded("$@", 0.3))
    }\nj:\n\t+@${JX_BUN} run -f jobs.inner.yaml --output quiet --events ev.ndjson\n`,
    "jobs.inner.yaml": jobs.join("\n") + "\n",
    "sub/Makefile": recordingMakefile(["s1", "s2"], 0.2),
  });
  const r = await make(["-j3"], dir);
  assert.equal(r.code, 0, r.text);
  assert.doesNotMatch(r.text, MAKE_TROUBLE);
  assert.doesNotMatch(r.text, /warning/);
  const c = await maxConcurrency(`${dir}/log`, `${dir}/sub/log`);
  assert.equal(c.count, 12);
  assert.ok(c.max <= 3, `at most 3 at once, saw ${c.max}`);
  assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
  const start = (await readEvents(`${dir}/ev.ndjson`))[0];
  assert.equal(start.jobserver, "client");
  // A job's make gets make's pipe, passed on by Bun at 3,4.
  assert.match(await Deno.readTextFile(`${dir}/sub/flags.s1`), /-j3 --jobserver-auth=3,4/);
});

Deno.test("jobserver [bun] client: SIGINT to jx mid-run gives every token back (make's final check stays silent)", async () => {
  const jobs = ["jobs:", "  pid: { run: 'echo $PPID > jx.pid; sleep 30' }"];
  for (let i = 0; i < 4; i++) jobs.push(`  s${i}: { run: sleep 30 }`);
  const dir = await tempDir({
    "Makefile":
      `all: j other\nj:\n\t+@${JX_BUN} run -f jobs.inner.yaml --output quiet\nother:\n\t@sleep 0.2\n`,
    "jobs.inner.yaml": jobs.join("\n") + "\n",
  });
  const child = new Deno.Command("make", {
    args: ["-j4", "-k"],
    cwd: dir,
    env: { MAKEFLAGS: "" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let pid = 0;
  for (let i = 0; i < 500 && !pid; i++) {
    pid = Number((await Deno.readTextFile(`${dir}/jx.pid`).catch(() => "")).trim());
    if (!pid) await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(pid > 0);
  await new Promise((r) => setTimeout(r, 300));
  Deno.kill(pid, "SIGINT");
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.match(text, /Error 130/);
  assert.doesNotMatch(text, /INTERNAL: Exiting with/);
});

Deno.test("jobserver [bun]: random graphs never run more tokens than the pool and leave it whole", async () => {
  let seed = 11;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let round = 0; round < 3; round++) {
    const j = 1 + rand(4);
    const lines = ["jobs:"];
    const n = 12 + rand(8);
    for (let i = 0; i < n; i++) {
      const tokens = 1 + rand(j);
      const needs = i > 0 && rand(3) === 0 ? `, needs: [t${rand(i)}]` : "";
      const fail = rand(8) === 0 ? "; exit 1" : "";
      lines.push(`  t${i}: { run: "sleep 0.0${1 + rand(5)}${fail}", tokens: ${tokens}${needs} }`);
    }
    const dir = await tempDir({ "jobs.yaml": lines.join("\n") + "\n" });
    const r = await runJx(["run", `-j${j}`, "-k", "--events", "ev.ndjson", "--output", "quiet"], {
      cwd: dir,
      runtime: "bun",
      env: { MAKEFLAGS: "" },
    });
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    assert.doesNotMatch(r.stderr, /jobserver/, "the pool is whole at the end");
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.equal(ev[0].jobserver, "server");
    const tokensOf = new Map(
      lines.slice(1).map((l) => [/^ {2}(t\d+)/.exec(l)![1], Number(/tokens: (\d+)/.exec(l)![1])]),
    );
    let held = 0;
    for (const e of ev) {
      if (e.type === "job.start") held += tokensOf.get(e.job!)!;
      if (e.type === "job.end" && !e.retrying) held -= tokensOf.get(e.job!)!;
      assert.ok(held <= j, `round ${round}: ${held} tokens held with -j${j}`);
    }
  }
});

Deno.test("jobserver [bun]: a job that keeps a token is reported at the end", async () => {
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  thief:
    run: 'r=$(echo "$MAKEFLAGS" | sed "s/.*auth=\\([0-9]*\\),.*/\\1/"); head -c1 /proc/self/fd/$r > /dev/null'
`,
  });
  const r = await runJx(["run", "-j4"], { cwd: dir, runtime: "bun", env: { MAKEFLAGS: "" } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /jx: warning: jobserver: 1 token\(s\) were not returned by jobs/);
});

Deno.test({
  name:
    "jobserver [bun] server, fifo style: make 4.4.1 sub-makes, a make 4.3 job (jobserver: pipe) and a none job share jx -j3",
  ignore: !MAKE44,
  fn: async () => {
    const mk = recordingMakefile(["a", "b", "c", "d", "e", "f"], 0.15);
    const dir = await tempDir({
      "d1/Makefile": mk,
      "d2/Makefile": mk,
      "d3/Makefile": mk,
      "jobs.yaml": `
jobs:
  m1: { run: ${MAKE44} -s -C d1 }
  m2: { run: ${MAKE44} -s -C d2 }
  m3: { run: make -s -C d3, jobserver: pipe }
  plain: { run: 'echo "[$MAKEFLAGS]" > none.txt', jobserver: none }
`,
    });
    const r = await runJx(["run", "-j3", "--jobserver-style", "fifo"], {
      cwd: dir,
      runtime: "bun",
      env: { MAKEFLAGS: "" },
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, MAKE_TROUBLE);
    assert.doesNotMatch(r.stderr, /warning/, "the pool is whole at the end");
    const c = await maxConcurrency(`${dir}/d1/log`, `${dir}/d2/log`, `${dir}/d3/log`);
    assert.equal(c.count, 18);
    assert.ok(c.max <= 3, `at most 3 recipes at once, saw ${c.max}`);
    assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
    const fifo = /--jobserver-auth=fifo:(\S+)/.exec(await Deno.readTextFile(`${dir}/d1/flags.a`));
    assert.ok(fifo, "make 4.4.1 got the fifo form");
    assert.match(await Deno.readTextFile(`${dir}/d3/flags.a`), /-j3 --jobserver-auth=3,4/);
    assert.equal(await Deno.readTextFile(`${dir}/none.txt`), "[]\n");
    await assert.rejects(Deno.stat(fifo[1]), "the fifo is removed at exit");
  },
});

Deno.test({
  name:
    "jobserver [bun] client: make 4.4.1 -j3 (fifo style) runs +jx, which joins through fifo:PATH",
  ignore: !MAKE44,
  fn: async () => {
    const jobs = ["jobs:"];
    for (let i = 0; i < 6; i++) jobs.push(`  j${i}: { run: '${recorded(`j${i}`, 0.2)}' }`);
    jobs.push("  show: { run: 'echo \"$MAKEFLAGS\" > jx.flags' }");
    const dir = await tempDir({
      "Makefile": `all: x y j\nx y:\n\t@${
        inMake(recorded("$@", 0.3))
      }\nj:\n\t+@${JX_BUN} run -f jobs.inner.yaml --output quiet --events ev.ndjson\n`,
      "jobs.inner.yaml": jobs.join("\n") + "\n",
    });
    const r = await make(["-j3"], dir, {}, MAKE44);
    assert.equal(r.code, 0, r.text);
    assert.doesNotMatch(r.text, MAKE_TROUBLE);
    assert.doesNotMatch(r.text, /warning/);
    const c = await maxConcurrency(`${dir}/log`);
    assert.equal(c.count, 8);
    assert.ok(c.max <= 3, `at most 3 at once, saw ${c.max}`);
    assert.ok(c.max >= 2, `the pool was used, saw ${c.max}`);
    const start = (await readEvents(`${dir}/ev.ndjson`))[0];
    assert.equal(start.jobserver, "client");
    assert.match(await Deno.readTextFile(`${dir}/jx.flags`), /--jobserver-auth=fifo:/);
  },
});
