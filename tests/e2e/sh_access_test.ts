/**
 * `jx sh --check-access` and `--strict` on real programs under the real
 * strace: a command whose reads jx sh cannot derive (`MAGIC=magic file`), a
 * write it did not derive (`XZ_OPT="-S .z" xz`), and a script of known commands
 * (sort, gzip -c, cp) with no finding. Findings come as `jx run
 * --check-access` gives them: one line each, `access.finding` events. And the
 * comparison itself under a fake tracer beside real processes: the directory
 * after a `cd`, derived folders and patterns, probes, temporaries, ignored paths.
 */
import assert from "node:assert/strict";
import { type Access, findStrace, type Tracer } from "../../lib/access/mod.ts";
import { createReactor } from "../../lib/reactor/mod.ts";
import { parseScript, runScript } from "../../lib/sh/mod.ts";
import { ShAccessCheck } from "../../lib/sh/check.ts";
import { jxCommand, readEvents, runJx, RUNTIMES, tempDir, waitForFile } from "../helpers.ts";

const ignore = !findStrace();
const lines = (s: string) => s.split("\n").filter((l) => l);
const MISSED = "which jx sh did not derive: the order it ran in may be wrong: " +
  "add wait before and after it";

for (const runtime of RUNTIMES) {
  const t = (name: string, fn: () => Promise<void>) =>
    Deno.test({ name: `${runtime}: jx sh --check-access: ${name}`, ignore, fn });

  t("reads the derivation cannot see are findings, with the command's line:col", async () => {
    const dir = await tempDir({
      // file reads the magic file its environment names (MAGIC): jx sh does not see it.
      "build.sh": "sort in > s.out\n" +
        "  MAGIC=magic file in > w.out\n" +
        // An unknown program may touch any file: it waits for everything, nothing to check.
        "sh -c 'cat hidden' > h.out\n",
      "in": "b\na\n",
      "magic": "0\tstring\tb\tstarts with b\n",
      "hidden": "h\n",
    });
    const r = await runJx(["sh", "--check-access", "--events", "ev.ndjson", "build.sh"], {
      cwd: dir,
      runtime,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), [`build.sh:2:3: command '2:file' read magic, ${MISSED}`]);
    assert.equal(await Deno.readTextFile(`${dir}/h.out`), "h\n"); // the script ran as usual
    const ev = await readEvents(`${dir}/ev.ndjson`);
    const found = ev.filter((e) => e.type === "access.finding");
    assert.deepEqual(
      found.map(({ job, path, access, problem, suggest }) => ({
        job,
        path,
        access,
        problem,
        suggest,
      })).sort((a, b) => String(a.path) < String(b.path) ? -1 : 1),
      [
        {
          job: "2:file",
          path: "magic",
          access: "read",
          problem: "underived-read",
          suggest: "wait before and after it",
        },
      ],
    );
    // Each finding comes before its command's job.end.
    const types = ev.map((e) => `${e.type}:${e.job ?? ""}`);
    assert.ok(types.lastIndexOf("access.finding:2:file") < types.indexOf("job.end:2:file"));
    // --strict: the same lines, and the successful script exits 1.
    const strict = await runJx(["sh", "--strict", "--events", "ev.ndjson", "build.sh"], {
      cwd: dir,
      runtime,
    });
    assert.equal(strict.code, 1, strict.stderr);
    assert.equal(lines(strict.stdout).length, 1);
    assert.match(strict.stderr, /^jx: --strict: 1 finding /m);
    // run.end says the exit the findings make, as jx's own exit does.
    const end = (await readEvents(`${dir}/ev.ndjson`)).at(-1)!;
    assert.deepEqual([end.type, end.status, end.exit], ["run.end", "failed", 1]);
  });

  t("a write the derivation missed; -v shows derived paths never touched", async () => {
    // The suffix comes from xz's environment (XZ_OPT): jx sh does not see it.
    const dir = await tempDir({ "z.sh": 'XZ_OPT="-S .z" xz in\n', "in": "x\n" });
    const r = await runJx(["sh", "--check-access", "z.sh"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), [`z.sh:1:1: command '1:xz' write in.z, ${MISSED}`]);
    await Deno.writeTextFile(`${dir}/in`, "x\n");
    await Deno.remove(`${dir}/in.z`);
    const v = await runJx(["sh", "-v", "--strict", "z.sh"], { cwd: dir, runtime });
    assert.equal(v.code, 1, v.stderr);
    const note = "derived but never touched (harmless: less parallelism than possible)";
    assert.deepEqual(lines(v.stdout), [
      `z.sh:1:1: command '1:xz' read in.xz, ${note}`,
      `z.sh:1:1: command '1:xz' write in.xz, ${note}`,
      `z.sh:1:1: command '1:xz' write in.z, ${MISSED}`,
    ]);
    // Informational lines do not count for --strict.
    assert.match(v.stderr, /^jx: --strict: 1 finding /m);
  });

  t("a script of known commands (sort, gzip -c, cp): no finding", async () => {
    const dir = await tempDir({
      "ok.sh": "mkdir -p out\nsort in > out/s.txt\ngzip -c in > out/in.gz\ncp in out/c.txt\n" +
        "cat out/s.txt out/c.txt > out/all.txt\n",
      "in": "b\na\n",
    });
    const r = await runJx(["sh", "--strict", "--events", "ev.ndjson", "ok.sh"], {
      cwd: dir,
      runtime,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, "");
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.deepEqual(ev.filter((e) => e.type === "access.finding"), []);
    assert.equal(await Deno.readTextFile(`${dir}/out/all.txt`), "a\nb\nb\na\n");
  });
}

Deno.test({
  name: "jx sh --check-access: the rest of a script with `&` is not traced (strace would hold it)",
  ignore,
  fn: async () => {
    // The background command writes `done` last: the test waits for it, not for a time.
    const dir = await tempDir({
      "s.sh": "echo early\n(sleep 2; echo late; echo 1 > done) &\necho started\n",
    });
    const [cmd, args] = jxCommand("deno", ["sh", "--check-access", "s.sh"]);
    const line = [cmd, ...args].map((a) => `'${a}'`).join(" ");
    // `held`: jx returned only after the background command had ended.
    const out = await new Deno.Command("sh", {
      args: ["-c", `${line} > log 2>&1; cp log first; if [ -e done ]; then echo > held; fi`],
      cwd: dir,
      stdin: "null",
    }).output();
    assert.equal(out.code, 0);
    await waitForFile(`${dir}/done`);
    assert.equal(await Deno.readTextFile(`${dir}/first`), "early\nstarted\n");
    await assert.rejects(() => Deno.stat(`${dir}/held`));
    assert.equal(await Deno.readTextFile(`${dir}/log`), "early\nstarted\nlate\n");
  },
});

Deno.test({
  name: "jx sh --check-access without strace: one line, exit 2, nothing run",
  ignore,
  fn: async () => {
    const dir = await tempDir({ "a.sh": "echo ran > ran.txt\n" });
    const r = await runJx(["sh", "--check-access", "a.sh"], {
      cwd: dir,
      env: { PATH: "/nonexistent" },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /strace/);
    await assert.rejects(() => Deno.stat(`${dir}/ran.txt`));
  },
});

Deno.test("jx sh check: the comparison (cwd after cd, folders, patterns, temporaries, ignored)", async () => {
  const root = await tempDir({ "sub/a": "b\na\n", "sub/q.txt": "q\n" });
  const r = (path: string, ok = true): Access => ({ path, kind: "read", pid: 1, ok });
  const w = (path: string): Access => ({ path, kind: "write", pid: 1, ok: true });
  const d = (path: string): Access => ({ path, kind: "delete", pid: 1, ok: true });
  // What each command "did", by a word of its text (the real processes run too).
  const traces: [string, Access[]][] = [
    ["sort a", [
      r(`${root}/sub/a`),
      w(`${root}/sub/a.s`),
      r(`${root}/sub/hidden`, false), // a failed probe: no input
      r(`${root}/sub/q.txt`), // missed by the derivation
      w(`${root}/sub/x.tmp`),
      d(`${root}/sub/x.tmp`), // its own temporary
      r("/usr/lib/locale/C.utf8/LC_CTYPE"), // outside the working directory
      r(`${root}/.git/config`), // ignored by default
    ]],
    ["mkdir -p out", [{ ...w(`${root}/sub/out`), dir: true }]],
    ["cp a out", [r(`${root}/sub/a`), w(`${root}/sub/out/a`)]], // in a derived folder
    ["cat *.txt", [r(`${root}/sub/q.txt`), w(`${root}/sub/all`)]], // matched by the pattern
  ];
  const tracer: Tracer = {
    name: "fake",
    wrap: (argv) => ({
      argv,
      env: {},
      collect: () => traces.find(([k]) => argv.join(" ").includes(k))?.[1] ?? [],
    }),
    close() {},
  };
  const reactor = createReactor("portable");
  const out: string[] = [];
  const check = new ShAccessCheck({
    script: "t.sh",
    root,
    tracer,
    clock: reactor,
    print: (s) => out.push(s),
  });
  const script = "cd sub\nsort a > a.s\nmkdir -p out\ncp a out\ncat *.txt > all\n";
  const code = await runScript(parseScript(script), {
    reactor,
    jobs: 2,
    argv0: "t.sh",
    cwd: root,
    env: { PATH: "/usr/bin:/bin" },
    write: () => {},
    reporters: [check.reporter([])],
    check,
  });
  reactor.close();
  assert.equal(code, 0);
  assert.deepEqual(check.findings.map((f) => [f.job, f.problem, f.path]), [
    ["2:sort", "underived-read", "sub/q.txt"],
  ]);
  assert.equal(check.problems, 1);
  assert.deepEqual(out, [
    "t.sh:2:1: command '2:sort' read sub/q.txt, which jx sh did not derive: " +
    "the order it ran in may be wrong: add wait before and after it\n",
  ]);
});
