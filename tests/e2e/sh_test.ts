/**
 * End-to-end: `jx sh` against `sh` on the corpus in tests/sh/. For each
 * script, `sh script.sh` runs in one fresh directory and `jx sh script.sh`
 * in another (on Deno, and on Bun in a third); stdout, stderr, the exit status and every file produced
 * (names and bytes) must be identical. Parallelism is proved from the event
 * log (a job started before another ended), never from wall-clock speed.
 */
import assert from "node:assert/strict";
import {
  alive,
  BUN,
  DENO,
  parentOf,
  readEvents,
  ROOT,
  spans,
  tempDir,
  waitForFile,
} from "../helpers.ts";

const CORPUS = `${ROOT}/tests/sh`;
const ENV = {
  PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  HOME: "/nonexistent-home",
  LC_ALL: "C",
  NO_COLOR: "1",
};

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  files: Map<string, string>;
}

async function run(cmd: string, args: string[], dir: string): Promise<Outcome> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: dir,
    env: ENV,
    clearEnv: true,
    stdin: "null",
  })
    .output();
  const dec = new TextDecoder();
  const clean = (s: string) => s.replaceAll(dir, "$DIR");
  return {
    code: out.code,
    stdout: clean(dec.decode(out.stdout)),
    stderr: clean(dec.decode(out.stderr)),
    files: await listFiles(dir),
  };
}

/** Every file and directory under `dir`: path → content, "<dir>" or "<link to TARGET>". */
async function listFiles(dir: string, prefix = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    const rel = prefix + e.name;
    if (e.isSymlink) out.set(rel, `<link to ${await Deno.readLink(`${dir}/${rel}`)}>`);
    else if (e.isDirectory) {
      out.set(rel + "/", "<dir>");
      for (const [k, v] of await listFiles(dir, rel + "/")) out.set(k, v);
    } else {
      const bytes = await Deno.readFile(`${dir}/${rel}`);
      out.set(rel, new TextDecoder().decode(bytes));
    }
  }
  return out;
}

/** Runs the script under sh and under jx sh on Deno and on Bun, each in a fresh directory. */
async function compare(script: string, source?: string): Promise<void> {
  const text = source ?? await Deno.readTextFile(`${CORPUS}/${script}`);
  const dirs = await Promise.all([0, 1, 2].map(() => tempDir({ "script.sh": text })));
  try {
    const jx = ["sh", "-j4", "script.sh"];
    const [want, ...got] = await Promise.all([
      run("sh", ["script.sh"], dirs[0]),
      run(DENO, ["run", "-A", "--quiet", `${ROOT}/cli.ts`, ...jx], dirs[1]),
      run(BUN, [`${ROOT}/cli.ts`, ...jx], dirs[2]),
    ]);
    for (const [rt, g] of [["deno", got[0]], ["bun", got[1]]] as const) {
      assert.equal(g.stdout, want.stdout, `${script} [${rt}]: stdout`);
      assert.equal(g.stderr, want.stderr, `${script} [${rt}]: stderr`);
      assert.equal(g.code, want.code, `${script} [${rt}]: exit status`);
      assert.deepEqual(
        Object.fromEntries(g.files),
        Object.fromEntries(want.files),
        `${script} [${rt}]: files`,
      );
    }
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
}

const scripts = [...Deno.readDirSync(CORPUS)].map((e) => e.name).filter((n) => n.endsWith(".sh"))
  .sort();

Deno.test("jx sh corpus: at least 20 scripts", () => {
  assert.ok(scripts.length >= 20, `${scripts.length} scripts`);
});

// Two scripts at a time: each test runs sh and jx side by side.
for (let i = 0; i < scripts.length; i += 2) {
  const pair = scripts.slice(i, i + 2);
  Deno.test(`jx sh = sh: ${pair.join(", ")}`, async () => {
    await Promise.all(pair.map((s) => compare(s)));
  });
}

Deno.test("jx sh = sh: a job text over 128 KiB (big here-document, line 140000)", async () => {
  const body = Array.from({ length: 3000 }, (_, i) => `line ${i} of a big here-document, padding`);
  const lines = ["x=$(seq 1 30000)", "cat <<'EOF' > big.txt", ...body, "EOF", "wc -l big.txt"];
  while (lines.length < 140_000) lines.push("");
  lines.push('echo "${#x}" > n.txt', "echo $((1 / 0))", "echo after");
  await compare("generated big.sh", lines.join("\n") + "\n");
});

Deno.test("jx sh = sh: a here-document left open at the end of the script", async () => {
  // The script ends before the delimiter line: the body runs to the end, final newline or not.
  const scripts = {
    "newline.sh": "cat <<EOF\nabc\n",
    "no-newline.sh": "cat <<EOF\nabc",
    "empty.sh": "echo a; cat <<EOF",
    "two.sh": "cat <<A <<B\nx\n",
    "condition.sh": "x=1; cat <<EOF && echo yes\n$x abc",
    "rest.sh": "sleep 0 &\ncat <<EOF\nabc",
    "rest-newline.sh": "sleep 0 &\ncat <<'EOF'\n$x abc\n",
  };
  for (const [name, source] of Object.entries(scripts)) await compare(name, source);
});

Deno.test("jx sh = sh: a byte order mark at the start of the script is kept, as sh keeps it", async () => {
  // dash reads U+FEFF as part of the first word: `\uFEFFecho: not found` (127), then goes on.
  await compare("bom.sh", "\uFEFFecho hi\necho two > f\n");
  await compare("bom-assign.sh", '\uFEFFx=1; echo "[$x]" > g\ncat g\n');
  await compare("bom-alone.sh", "\uFEFF\necho after $?\n");
});

Deno.test("jx sh = sh: commands nested 10,000 deep run as under sh (no stack overflow)", async () => {
  const deep = (open: string, close: string, n = 10_000) =>
    open.repeat(n) + "echo in" + close.repeat(n) + "\necho after > f\ncat f\n";
  await compare("subshells.sh", "echo before\n" + deep("(", ")"));
  await compare("groups.sh", deep("{ ", "; }") + "exit 3\n");
  await compare("ifs.sh", deep("if true; then ", "; fi"));
  await compare("loops.sh", deep("for i in 1; do while false; do ", "; done; done", 5_000));
  await compare("case.sh", deep("case x in x) ", " ;; esac"));
  await compare("function.sh", "f() " + deep("{ ", "; }") + "f\n");
  await compare("arithmetic.sh", "echo " + deep("$((1+", "))").replace("echo in", "1"));
  // dash takes seconds for 300 substitutions in each other (each is read again).
  await compare("substitutions.sh", deep("echo $(", ")", 150));
  await compare("quoted.sh", deep('echo "$(', ')"', 150));
  // Nested too deep and wrong: sh runs what comes before the error, then stops.
  await compare("syntax-error.sh", "echo ran\n" + deep("(", ")").replace("echo in", "echo in; fi"));
});

Deno.test("jx sh = sh: a command name from a variable the command itself sets (loop, assignment, read)", async () => {
  // Checked before the command runs: the value it had then (echo) must not stand for the one it gets.
  const scripts = {
    "loop.sh": "c=echo\nfor c in echo trap; do $c 'echo bye' EXIT; done\necho end\n",
    "nested.sh":
      'c=echo\nfor a in x y; do\n  for c in echo trap; do $c "echo bye $a" EXIT; done\n  echo "turn $a"\ndone\necho end\n',
    "after-loop.sh": 'c=echo\n{ for c in trap; do :; done; $c "echo bye" EXIT; }\necho end\n',
    "group.sh": 'c=echo\n{ c=trap; $c "echo bye" EXIT; }\necho end\n',
    "if.sh": 'c=echo\nif true; then c=trap; $c "echo bye" EXIT; fi\necho end\n',
    "read.sh":
      'c=echo\nfor x in 1; do read c < /dev/null; c=${c:-trap}; $c "echo bye" EXIT; done\necho end\n',
    "function.sh": 'c=echo\nf() { c=trap; }\n{ f; $c "echo bye" EXIT; }\necho end\n',
    "positional.sh": 'set -- echo\n{ set -- trap; $1 "echo bye" EXIT; }\necho end\n',
    // Tools by a loop's variable still run as jobs (each turn's name is known).
    "tools.sh":
      "echo a > f\nfor t in md5sum sha1sum; do $t f > f.$t; done\ncat f.md5sum f.sha1sum\n",
  };
  for (const [name, source] of Object.entries(scripts)) await compare(name, source);
});

Deno.test("jx sh = sh: bytes that are not UTF-8, in the script, in values and in the environment", async () => {
  // A Latin-1 script (0xe9: é), and a value holding 0xff carried from job to job, exported too.
  const enc = (t: string) => [...new TextEncoder().encode(t)];
  const script = new Uint8Array([
    ...enc("echo caf"),
    0xe9,
    ...enc(" > f\nx=$(printf 'a\\377b')\nexport x\ny=after\necho $y\n"),
    ...enc('printf %s "$x" > g\nsh -c \'printf %s "$x"\' > h\nod -An -c f g h\n'),
  ]);
  const dirs = await Promise.all([0, 1, 2].map(() => tempDir()));
  try {
    for (const d of dirs) await Deno.writeFile(`${d}/script.sh`, script);
    const jx = ["sh", "-j4", "script.sh"];
    const [want, ...got] = await Promise.all([
      run("sh", ["script.sh"], dirs[0]),
      run(DENO, ["run", "-A", "--quiet", `${ROOT}/cli.ts`, ...jx], dirs[1]),
      run(BUN, [`${ROOT}/cli.ts`, ...jx], dirs[2]),
    ]);
    assert.match(want.stdout, /a 377 +b/);
    for (const [k, g] of got.entries()) {
      assert.equal(g.stdout, want.stdout, `stdout (${k ? "bun" : "deno"})`);
      assert.equal(g.stderr, want.stderr);
      for (const f of ["f", "g", "h"]) {
        assert.deepEqual(
          await Deno.readFile(`${dirs[k + 1]}/${f}`),
          await Deno.readFile(`${dirs[0]}/${f}`),
          f,
        );
      }
    }
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("jx sh = sh: stdout and stderr to one file keep their order in a job", async () => {
  const script = "(echo out1; echo err1 >&2; echo out2; echo err2 >&2; echo out3)\n" +
    'for i in 1 2; do echo "o$i"; echo "e$i" >&2; done\n';
  const dir = await tempDir({ "s.sh": script });
  try {
    const logs: string[] = [];
    for (
      const cmd of [
        "sh s.sh",
        `'${DENO}' run -A --quiet '${ROOT}/cli.ts' sh -j4 s.sh`,
        `'${BUN}' '${ROOT}/cli.ts' sh -j4 s.sh`,
      ]
    ) {
      const out = await new Deno.Command("sh", {
        args: ["-c", `${cmd} > log 2>&1`],
        cwd: dir,
        env: ENV,
        clearEnv: true,
        stdin: "null",
      }).output();
      assert.equal(out.code, 0, cmd);
      logs.push(await Deno.readTextFile(`${dir}/log`));
    }
    assert.equal(logs[0], "out1\nerr1\nout2\nerr2\nout3\no1\ne1\no2\ne2\n");
    assert.equal(logs[1], logs[0], "deno");
    assert.equal(logs[2], logs[0], "bun");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jx sh = sh: a background command outlives the script, as under sh", async () => {
  // The background command writes `done` (not the log) last: the test waits for it, not for a time.
  const script =
    "echo early\n(sleep 1; echo late; echo late-err >&2; echo 1 > done) &\necho started\n";
  const cmds = [
    "sh s.sh",
    `'${DENO}' run -A --quiet '${ROOT}/cli.ts' sh -j4 s.sh`,
    `'${BUN}' '${ROOT}/cli.ts' sh -j4 s.sh`,
  ];
  const dirs = await Promise.all(cmds.map(() => tempDir({ "s.sh": script })));
  try {
    // What the log holds when the command returns, and once the background command has ended.
    await Promise.all(cmds.map(async (cmd, k) => {
      const out = await new Deno.Command("sh", {
        args: ["-c", `${cmd} > log 2>&1; cp log first`],
        cwd: dirs[k],
        env: ENV,
        clearEnv: true,
        stdin: "null",
      }).output();
      assert.equal(out.code, 0, cmd);
    }));
    await Promise.all(dirs.map((d) => waitForFile(`${d}/done`)));
    for (const [k, d] of dirs.entries()) {
      assert.equal(await Deno.readTextFile(`${d}/first`), "early\nstarted\n", cmds[k]);
      assert.equal(
        await Deno.readTextFile(`${d}/log`),
        "early\nstarted\nlate\nlate-err\n",
        cmds[k],
      );
    }
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("jx sh = sh: with a background command, output to files shares the caller's offsets", async () => {
  // The shell that runs jx writes to the same files after it: the rest of the script must
  // have written at the offset it shares with that shell (not through a file opened again).
  const script = "sleep 0.2 &\necho done-by-script\necho err-by-script >&2\n";
  const jx = (rt: string, reactor: string) =>
    rt === "deno"
      ? `'${DENO}' run -A --quiet '${ROOT}/cli.ts' --reactor ${reactor} sh -j4 s.sh`
      : `'${BUN}' '${ROOT}/cli.ts' --reactor ${reactor} sh -j4 s.sh`;
  const cmds = ["sh s.sh"];
  for (const rt of ["deno", "bun"]) for (const r of ["epoll", "portable"]) cmds.push(jx(rt, r));
  const dirs = await Promise.all(cmds.map(() => tempDir({ "s.sh": script })));
  try {
    const logs = await Promise.all(cmds.map(async (cmd, k) => {
      const out = await new Deno.Command("sh", {
        args: ["-c", `{ ${cmd}; echo after; echo after-err >&2; } > out.log 2> err.log`],
        cwd: dirs[k],
        env: ENV,
        clearEnv: true,
        stdin: "null",
      }).output();
      assert.equal(out.code, 0, cmd);
      const read = (f: string) => Deno.readTextFile(`${dirs[k]}/${f}`);
      return [await read("out.log"), await read("err.log")];
    }));
    assert.deepEqual(logs[0], ["done-by-script\nafter\n", "err-by-script\nafter-err\n"]);
    for (const [k, log] of logs.entries()) assert.deepEqual(log, logs[0], cmds[k]);
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("jx sh: independent commands overlap (from the event log)", async () => {
  const dir = await tempDir({
    // Each long enough that the three overlap however late the last one is started.
    "par.sh": [
      "(sleep 2; echo 1 > f1)",
      "(sleep 2; echo 2 > f2)",
      "(sleep 2; echo 3 > f3)",
      "cat f1 f2 f3",
      "",
    ].join("\n"),
  });
  const ev = `${dir}.events.ndjson`;
  try {
    const r = await run(
      DENO,
      ["run", "-A", "--quiet", `${ROOT}/cli.ts`, "sh", "-j3", "--events", ev, "par.sh"],
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "1\n2\n3\n");
    const events = await readEvents(ev);
    const s = spans(events);
    assert.deepEqual([...s.keys()].sort(), ["1:subshell", "2:subshell", "3:subshell", "4:cat"]);
    const [a, b, c, cat] = ["1:subshell", "2:subshell", "3:subshell", "4:cat"].map((n) =>
      s.get(n)!
    );
    const first = [a, b, c].sort((x, y) => x.end - y.end)[0];
    assert.ok([a, b, c].every((x) => x.start < first.end), "the three subshells overlap");
    assert.ok(cat.start >= Math.max(a.end, b.end, c.end), "cat waits for the writers");
    assert.equal(events[0].type, "run.start");
    assert.equal(events.at(-1)!.type, "run.end");
    assert.equal(events.at(-1)!.exit, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(ev).catch(() => {});
  }
});

Deno.test("jx sh -j1 runs one job at a time", async () => {
  const dir = await tempDir({ "one.sh": "sleep 0.1 > a\nsleep 0.1 > b\nsleep 0.1 > c\n" });
  const ev = `${dir}.events.ndjson`;
  try {
    const r = await run(
      DENO,
      ["run", "-A", "--quiet", `${ROOT}/cli.ts`, "sh", "-j1", "--events", ev, "one.sh"],
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    const s = [...spans(await readEvents(ev)).values()];
    assert.equal(s.length, 3);
    for (let i = 1; i < s.length; i++) assert.ok(s[i].start >= s[i - 1].end, "no overlap");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(ev).catch(() => {});
  }
});

Deno.test("jx sh -n prints the graph and runs nothing", async () => {
  const dir = await tempDir({
    "g.sh": "echo a > x\nsort x > y\ncd sub\ncat y\n",
  });
  try {
    const r = await run(DENO, ["run", "-A", "--quiet", `${ROOT}/cli.ts`, "sh", "-n", "g.sh"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^1:echo \(line 1\): job\n {2}writes: x\n {2}waits for: nothing\n/);
    assert.match(
      r.stdout,
      /2:sort \(line 2\): job\n {2}reads: x\n {2}writes: y\n {2}waits for: 1:echo \(writes x\)/,
    );
    assert.match(
      r.stdout,
      /3:cd \(line 3\): barrier\n {2}barrier: cd\n {2}waits for: 1:echo .*2:sort/,
    );
    assert.match(r.stdout, /4:cat \(line 4\): job\n {2}reads: y\n {2}waits for: 3:cd \(barrier\)/);
    assert.deepEqual([...(await listFiles(dir)).keys()], ["g.sh"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jx sh: usage and syntax errors exit 2 with one line", async () => {
  const dir = await tempDir({ "bad.sh": "echo a\nif true; then\n  echo b\n" });
  const jx = (...args: string[]) =>
    run(DENO, ["run", "-A", "--quiet", `${ROOT}/cli.ts`, "sh", ...args], dir);
  try {
    const none = await jx();
    assert.equal(none.code, 2);
    assert.equal(none.stderr, "jx: sh: missing SCRIPT (see jx sh --help)\n");
    const missing = await jx("nope.sh");
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, "jx: sh: cannot read nope.sh: no such file\n");
    const bad = await jx("bad.sh");
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, "");
    assert.equal(bad.stderr, "bad.sh:4:1: syntax error: unexpected end of file (expecting 'fi')\n");
    // dash refuses `! !` (bash takes it): nothing runs, the script's `echo` neither.
    await Deno.writeTextFile(`${dir}/bang.sh`, "echo a\n! ! true\necho $?\n");
    const bang = await jx("bang.sh");
    assert.deepEqual([bang.code, bang.stdout], [2, ""]);
    assert.equal(bang.stderr, "bang.sh:2:3: syntax error: unexpected '!'\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jx sh = sh: the script read from stdin (jx sh -, jx sh -s ARG...), as sh -s reads it (Deno, Bun)", async () => {
  const dir = await tempDir({ "f.sh": 'echo "f $0 [$1]"\n' });
  const script = 'echo "$0 [$1] [$2]" > out\ncat out\nnosuchcmd\n';
  /** `cmd args` in `dir` with `input` on stdin (sh through `exec sh`: its $0 is then `sh`). */
  const piped = async (cmd: string, args: string[], input: string) => {
    const child = new Deno.Command(cmd, {
      args,
      cwd: dir,
      env: ENV,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    // `- FILE` reads no stdin: the command may be gone before the write (EPIPE).
    await w.write(new TextEncoder().encode(input)).then(() => w.close()).catch(() => {});
    const out = await child.output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  try {
    for (const [rt, jx] of [[DENO, ["run", "-A", "--quiet"]], [BUN, []]] as const) {
      const run = (args: string[], input: string) =>
        piped(rt, [...jx, `${ROOT}/cli.ts`, "sh", ...args], input);
      for (const args of [["-"], ["-s", "a", "b"], ["-s", "--", "-x"], ["-", "f.sh", "z"]]) {
        assert.deepEqual(
          await run(args, script),
          await piped("/bin/sh", ["-c", 'exec sh "$@"', "sh", ...args], script),
          args.join(" "),
        );
      }
      // A syntax error: one line naming the script `-`, nothing run.
      const bad = await run(["-s"], "echo a\nif true\n");
      assert.deepEqual(bad, {
        code: 2,
        stdout: "",
        stderr: "-:3:1: syntax error: unexpected end of file (expecting 'then')\n",
      });
      assert.equal(
        (await run(["-n", "-"], "echo a > x\n")).stdout.split("\n")[0],
        "1:echo (line 1): job",
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jx sh -s: a stdin pipe its writer made non-blocking is read to its end (Deno, Bun)", async () => {
  // python3 gives jx the read end of a pipe in O_NONBLOCK and writes the script 0.5 s later:
  // jx found nothing yet (EAGAIN) and said 'cannot read the script from stdin', exit 2.
  const py = `import fcntl, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen(sys.argv[1:], stdin=r)
os.close(r)
time.sleep(0.5)
try:
    os.write(w, b"echo one\\necho two\\n")
finally:
    os.close(w)
sys.exit(p.wait())`;
  for (const jx of [[DENO, "run", "-A", "--quiet"], [BUN]]) {
    const out = await new Deno.Command("python3", {
      args: ["-c", py, ...jx, `${ROOT}/cli.ts`, "sh", "-s"],
      env: ENV,
      clearEnv: true,
    }).output();
    const dec = new TextDecoder();
    assert.deepEqual([out.code, dec.decode(out.stdout), dec.decode(out.stderr)], [
      0,
      "one\ntwo\n",
      "",
    ]);
  }
});

Deno.test("jx sh: a NUL byte in the script is refused with one line, nothing run (Deno, Bun)", async () => {
  // sh (dash) would drop the byte and print `ab`; a `sh -c` argument would end at it (`a`).
  const dir = await tempDir({ "nul.sh": "echo a\0b; echo c > c.txt\necho d\n" });
  try {
    for (
      const [rt, cmd, args] of [
        ["deno", DENO, ["run", "-A", "--quiet", `${ROOT}/cli.ts`]],
        ["bun", BUN, [`${ROOT}/cli.ts`]],
      ] as const
    ) {
      for (const dry of [[], ["-n"]]) {
        const r = await run(cmd, [...args, "sh", ...dry, "nul.sh"], dir);
        const what = `[${rt}] ${dry.join(" ")}`;
        assert.equal(r.code, 2, what);
        assert.equal(r.stdout, "", what);
        assert.equal(
          r.stderr,
          "nul.sh:1:7: a NUL byte (\\0): a shell script is text, and shells differ on what it means\n",
          what,
        );
        assert.deepEqual([...r.files.keys()], ["nul.sh"], what);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jx sh: SIGTERM stops every job's process group, exit 143", async () => {
  const dir = await tempDir({ "long.sh": "sleep 30 > a\nsleep 31 > b\nsleep 32 > c\n" });
  try {
    const child = new Deno.Command(DENO, {
      args: ["run", "-A", "--quiet", `${ROOT}/cli.ts`, "sh", "-j4", "long.sh"],
      cwd: dir,
      env: ENV,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let sleeps: number[] = [];
    for (let i = 0; i < 600 && sleeps.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      sleeps = descendants(child.pid).filter((p) => /^sleep 3[012]$/.test(cmdline(p)));
    }
    assert.equal(sleeps.length, 3, "three jobs run at once");
    child.kill("SIGTERM");
    const st = await child.status;
    assert.equal(st.code, 143);
    // jx sh returns only once every job it stopped has exited (and been reaped).
    for (const pid of sleeps) assert.ok(!alive(pid), `sleep ${pid} was stopped`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Waits until the `sleep N` that `source` runs after writing the file `marker` runs below
 * `root` (a process of it: not for a time, a loaded machine starts it late).
 */
async function sleepAfter(source: string, marker: string, root: number): Promise<void> {
  const sleep = source.match(new RegExp(`> ${marker}(?:;|\\n) ?(?:exec )?(sleep \\d+)`))?.[1];
  assert.ok(sleep, `no sleep after ${marker}: ${source}`);
  const until = Date.now() + 30_000;
  while (!descendants(root).some((p) => cmdline(p) === sleep)) {
    if (Date.now() > until) throw new Error(`'${sleep}' after ${marker} did not start: ${source}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs `source` under sh and under jx sh (Deno, Bun), each in a session of
 * its own (setsid: its pid is its process group), sends `sig` once the
 * script has written `ready` and started the `sleep` after it (to the group, as a terminal's
 * Ctrl-C does, or to the shell or jx alone), and compares what came out. `then`: a second
 * signal, once the script has written `then.after` and started the `sleep` after that.
 */
async function compareSignalled(
  source: string,
  sig: Deno.Signal,
  group: boolean,
  then?: { sig: Deno.Signal; group: boolean; after: string },
): Promise<void> {
  const dirs = await Promise.all([0, 1, 2].map(() => tempDir({ "script.sh": source })));
  const jx = ["sh", "-j4", "script.sh"];
  const argvs = [
    ["sh", "script.sh"],
    [DENO, "run", "-A", "--quiet", `${ROOT}/cli.ts`, ...jx],
    [BUN, `${ROOT}/cli.ts`, ...jx],
  ];
  try {
    const outs = await Promise.all(argvs.map(async (argv, k) => {
      const child = new Deno.Command("setsid", {
        args: argv,
        cwd: dirs[k],
        env: ENV,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await waitForFile(`${dirs[k]}/ready`);
      // The command after the marker has started.
      await sleepAfter(source, "ready", child.pid);
      Deno.kill(group ? -child.pid : child.pid, sig);
      if (then) {
        await waitForFile(`${dirs[k]}/${then.after}`);
        await sleepAfter(source, then.after, child.pid);
        Deno.kill(then.group ? -child.pid : child.pid, then.sig);
      }
      const out = await child.output();
      const dec = new TextDecoder();
      // The signal too: jx dies of one where sh does, and exits 130 where sh's trap says so.
      const { code, signal } = out;
      return { code, signal, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    }));
    const to = (g: boolean) => g ? "process group" : "shell alone";
    const what = `${sig} to the ${to(group)}` +
      (then ? `, then ${then.sig} to the ${to(then.group)}` : "");
    for (const [k, rt] of [[1, "deno"], [2, "bun"]] as const) {
      assert.deepEqual(outs[k], outs[0], `${what} [${rt}]:\n${source}`);
    }
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
}

Deno.test("jx sh = sh: a signal reaches the rest of the script as under sh, its trap runs", async () => {
  const ready = "echo go > ready; sleep 2";
  const scripts = [
    `echo start\ntrap 'echo caught' INT\n${ready}\necho "after $?"\n`,
    `echo start\ntrap 'echo caught; exit 7' INT\n${ready}\necho "after $?"\n`,
    `echo start > f\ntrap 'echo term; exit 3' TERM\ncat f\n${ready}\necho "after $?"\n`,
    // No trap: the rest's sh (here for its background command) dies of it.
    `echo start\nsleep 0 &\n${ready}\necho "after $?"\n`,
  ];
  for (const group of [true, false]) {
    await compareSignalled(scripts[0], "SIGINT", group);
    await compareSignalled(scripts[1], "SIGINT", group);
    await compareSignalled(scripts[2], "SIGTERM", group);
    await compareSignalled(scripts[3], "SIGINT", group);
  }
  // Before the trap is set, the signal ends the script.
  await compareSignalled(
    `echo start\n${ready}\ntrap 'echo caught' INT\necho after\n`,
    "SIGINT",
    true,
  );
});

Deno.test("jx sh = sh: Ctrl-C reaches the running command as SIGINT, its handler runs", async () => {
  // The running command (`sh -c '...; echo go > ready; ...'`), and the signal sent to the group.
  const cases: [string, Deno.Signal][] = [
    // Its handler writes and sets its own status; sh dies of SIGINT once it has ended.
    [`trap "echo cleanup; exit 3" INT; echo go > ready; sleep 3; echo no`, "SIGINT"],
    // A program that ignores SIGINT ends as it would have (within the grace), then sh dies of it.
    [`trap "" INT; echo go > ready; sleep 1; echo done`, "SIGINT"],
    // SIGTERM to the group: the command's TERM handler runs, its output is not dropped.
    [`trap "echo term; exit 4" TERM; echo go > ready; sleep 3; echo no`, "SIGTERM"],
    // SIGHUP to the group (a terminal closed): the command's own HUP handler runs.
    [`trap "echo hup; exit 4" HUP; echo go > ready; sleep 3; echo no`, "SIGHUP"],
  ];
  for (const [command, sig] of cases) {
    await compareSignalled(`echo start\nsh -c '${command}'\necho "after $?"\n`, sig, true);
  }
});

Deno.test("jx sh = sh: SIGINT to jx alone lets the running command end, then the script stops", async () => {
  // Under sh the command never sees it; sh dies of SIGINT once the command has ended.
  await compareSignalled(
    `echo start\nsh -c 'echo go > ready; sleep 1; echo done'\necho "after $?"\n`,
    "SIGINT",
    false,
  );
  // Under jx, \`sleep 3\` has run ahead (sh had not started it): it is stopped, its output dropped.
  await compareSignalled(
    `echo start\n(echo go > ready; sleep 1; echo done)\nsleep 3; echo ahead\necho after\n`,
    "SIGINT",
    false,
  );
});

Deno.test("jx sh = sh: a trap's own exit 130 stays an exit status; a second signal, to jx alone, is told apart", async () => {
  // The trap exits 130 itself: sh exits with it (no death by SIGINT); so must jx.
  await compareSignalled(
    `trap 'echo trapped; exit 130' INT\necho go > ready\nsleep 3\necho end\n`,
    "SIGINT",
    true,
  );
  // Ctrl-C (the group), then SIGINT to the shell alone: the second reaches sh alone, whose
  // command runs on (the sentinel that told the first apart was used up).
  await compareSignalled(
    `trap 'echo caught' INT\necho go > ready\nsleep 2; echo "a $?"; echo go > again\nsleep 3; echo "b $?"\n`,
    "SIGINT",
    true,
    { sig: "SIGINT", group: false, after: "again" },
  );
});

Deno.test("jx sh: SIGTERM to jx alone while the rest's command runs: its sh dies, jx leaves nothing and ends (Deno, Bun)", async () => {
  // Under sh, the shell dies of it at once and its command runs on, orphaned; jx ends it.
  const dir = await tempDir({
    "script.sh": `trap 'echo caught' INT\necho go > ready\nsleep 60\necho end\n`,
  });
  try {
    for (
      const argv of [[DENO, "run", "-A", "--quiet", `${ROOT}/cli.ts`], [BUN, `${ROOT}/cli.ts`]]
    ) {
      await Deno.remove(`${dir}/ready`).catch(() => {});
      const child = new Deno.Command("setsid", {
        args: [...argv, "sh", "script.sh"],
        cwd: dir,
        env: ENV,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await waitForFile(`${dir}/ready`);
      await new Promise((r) => setTimeout(r, 300));
      Deno.kill(child.pid, "SIGTERM");
      // Bounded: jx used to wait for the orphaned `sleep 60` (and every later signal too).
      const timer = setTimeout(() => Deno.kill(-child.pid, "SIGKILL"), 20_000);
      const out = await child.output();
      clearTimeout(timer);
      assert.equal(out.signal, "SIGTERM", new TextDecoder().decode(out.stderr));
      assert.equal(new TextDecoder().decode(out.stdout), "");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jx sh: a job that ignores Ctrl-C is killed after the grace, none left (Deno, Bun)", async () => {
  const dir = await tempDir({
    "script.sh": `sh -c 'trap "" INT; echo go > ready; exec sleep 30'\necho after\n`,
  });
  const argvs = [
    [DENO, "run", "-A", "--quiet", `${ROOT}/cli.ts`, "sh", "script.sh"],
    [BUN, `${ROOT}/cli.ts`, "sh", "script.sh"],
  ];
  try {
    for (const argv of argvs) {
      await Deno.remove(`${dir}/ready`).catch(() => {});
      const child = new Deno.Command("setsid", {
        args: argv,
        cwd: dir,
        env: ENV,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await waitForFile(`${dir}/ready`);
      let sleeps: number[] = [];
      for (let i = 0; i < 1500 && !sleeps.length; i++) {
        await new Promise((r) => setTimeout(r, 20));
        sleeps = descendants(child.pid).filter((p) => cmdline(p) === "sleep 30");
      }
      assert.equal(sleeps.length, 1, `${argv[0]}: the job's sleep runs`);
      const t0 = Date.now();
      Deno.kill(-child.pid, "SIGINT");
      const out = await child.output();
      const ms = Date.now() - t0;
      assert.equal(out.signal, "SIGINT", `${argv[0]}: jx died of SIGINT`);
      assert.equal(new TextDecoder().decode(out.stdout), "", "nothing after it ran");
      assert.ok(ms >= 2500 && ms < 15_000, `${argv[0]}: killed after the grace (${ms} ms)`);
      for (const pid of sleeps) assert.ok(!alive(pid), `sleep ${pid} was killed`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter((x) => x).join(" ");
  } catch {
    return "";
  }
}

/** Every live process below `root`, from /proc. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const ppid = parentOf(e.name);
    if (ppid) parent.set(Number(e.name), ppid);
  }
  const out: number[] = [];
  for (const pid of parent.keys()) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}
