/**
 * Arguments that are not UTF-8 (a Latin-1 file name) reach the command as
 * the bytes jx got: `jx run JOB -- ARG`, `jx exec -- CMD ARG`, `jx sh SCRIPT
 * ARG`. Both runtimes had decoded them with U+FFFD: the command got other
 * bytes, and `caf\xe8` after `caf\xe9` was taken as the same argument (the job
 * up to date).
 */
import assert from "node:assert/strict";
import { jxCommand, RUNTIMES, tempDir } from "../helpers.ts";

const JOBS = `version: 1
jobs:
  w:
    run: 'printf "%s|" "$@" > out.txt'
    writes: [out.txt]
`;

/** jx `args` in `dir`, each `\\ooo` in them made the byte by printf in a shell. */
async function jxRaw(rt: (typeof RUNTIMES)[number], dir: string, args: string[]) {
  const [cmd, argv] = jxCommand(rt, []);
  const words = args.map((a) => `"$(printf '%b' '${a.replace(/\\(\d{3})/g, "\\0$1")}')"`).join(" ");
  const out = await new Deno.Command("sh", {
    args: ["-c", `exec "$@" ${words}`, "sh", cmd, ...argv],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

const bytes = (s: string) => [...s].map((c) => c.charCodeAt(0));

for (const rt of RUNTIMES) {
  Deno.test(`${rt}: arguments that are not UTF-8 reach the command byte for byte`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOBS, "s.sh": 'printf "%s|" "$@"\n' });
    let r = await jxRaw(rt, dir, ["run", "w", "--", "caf\\351", "x\\377y"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...await Deno.readFile(`${dir}/out.txt`)], bytes("caf\xe9|x\xffy|"));
    r = await jxRaw(rt, dir, ["run", "w", "--", "caf\\350", "x\\377y"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /1 job ok/, "another argument: the job runs");
    assert.deepEqual([...await Deno.readFile(`${dir}/out.txt`)], bytes("caf\xe8|x\xffy|"));
    r = await jxRaw(rt, dir, ["run", "w", "--", "caf\\350", "x\\377y"]);
    assert.match(r.stderr, /1 job up to date/, "the same arguments: up to date");
    r = await jxRaw(rt, dir, ["exec", "--", "printf", "%s|", "caf\\351"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...r.stdout], bytes("caf\xe9|"));
    r = await jxRaw(rt, dir, ["sh", "s.sh", "caf\\351", "\\377"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...r.stdout], bytes("caf\xe9|\xff|"));
    await Deno.remove(dir, { recursive: true });
  });
}

for (const rt of RUNTIMES) {
  Deno.test(`${rt}: jx sh of a script whose name is not UTF-8 runs it; its errors name it`, async () => {
    const dir = await tempDir({});
    // The script a\377.sh (written by a shell: Deno takes names as UTF-8). Its messages name it
    // as sh's do ($0 is its name's bytes); jx's own show the byte as \xff.
    const write = (text: string) =>
      new Deno.Command("sh", {
        args: ["-c", `printf '%s' "$2" > "$(printf '%b' "$1")"`, "sh", `${dir}/a\\0377.sh`, text],
      }).outputSync();
    write('echo "$1"; nosuchcmd\n');
    let r = await jxRaw(rt, dir, ["sh", "a\\377.sh", "x"]);
    assert.equal(r.code, 127, r.stderr);
    assert.deepEqual([...r.stdout], bytes("x\n"));
    assert.equal(r.stderr, "a\uFFFD.sh: 1: nosuchcmd: not found\n");
    write("if true; then\n");
    r = await jxRaw(rt, dir, ["sh", "a\\377.sh"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^a\\xff\.sh:2:1: [^\n]*\n$/);
    r = await jxRaw(rt, dir, ["sh", "b\\377.sh"]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, "jx: sh: cannot read b\\xff.sh: no such file\n");
    await Deno.remove(dir, { recursive: true });
  });
}

for (const rt of RUNTIMES) {
  Deno.test(`${rt}: jx sh in a folder whose name is not UTF-8 runs there, as sh does`, async () => {
    const dir = await tempDir({});
    const [cmd, argv] = jxCommand(rt, []);
    // In d\377 (made by a shell: Deno takes names as UTF-8), `SHELL s.sh`: jx sh, then sh.
    const inside = async (...shell: string[]) => {
      const out = await new Deno.Command("sh", {
        args: [
          "-c",
          `d="$(printf 'd\\377')"; mkdir -p "$d" && cd "$d" && rm -f out.txt &&
           printf 'echo hi > out.txt\\npwd\\ncat out.txt\\nnosuch\\n' > s.sh && "$@" s.sh`,
          "sh",
          ...shell,
        ],
        cwd: dir,
        env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
        clearEnv: true,
        stdin: "null",
      }).output();
      return {
        code: out.code,
        stdout: [...out.stdout],
        stderr: new TextDecoder().decode(out.stderr),
      };
    };
    const jx = await inside(cmd, ...argv, "sh");
    const sh = await inside("sh");
    assert.deepEqual(jx, sh);
    assert.deepEqual(sh.stdout, [
      ...new TextEncoder().encode(`${dir}/d`),
      0xff,
      ...bytes("\nhi\n"),
    ]);
    await Deno.remove(dir, { recursive: true });
  });

  Deno.test(`${rt}: jx run in a folder whose name is not UTF-8: one line, exit 2, not a parent's jobs file`, async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs:\n  parent: { run: echo PARENT > ran.txt }\n" });
    const [cmd, argv] = jxCommand(rt, []);
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        `d="$(printf 'd\\377')"; mkdir -p "$d" && cd "$d" &&
         printf 'jobs:\\n  child: { run: echo CHILD }\\n' > jobs.yaml && "$@" run`,
        "sh",
        cmd,
        ...argv,
      ],
      cwd: dir,
      env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      clearEnv: true,
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.equal(new TextDecoder().decode(out.stdout), "");
    assert.match(stderr, /^jx: the current folder's path is not UTF-8: .*\n$/);
    assert.equal(await Deno.stat(`${dir}/ran.txt`).catch(() => null), null, "the parent's job ran");
    await Deno.remove(dir, { recursive: true });
  });
}

for (const rt of RUNTIMES) {
  Deno.test(`${rt}: jx run -f FILE whose name is not UTF-8: one line saying so, exit 2 (was "no such file" for a file that is there)`, async () => {
    const dir = await tempDir({});
    await new Deno.Command("sh", {
      args: ["-c", `printf 'jobs:\\n  a: { run: "true" }\\n' > "$(printf 'j\\377.yaml')"`],
      cwd: dir,
    }).output();
    // Named by -f, or as the first word (`jx run x.yaml`: was "unknown job 'j\xff.yaml'").
    for (const args of [["run", "-f"], ["clean", "-f"], ["graph", "-f"], ["run"]]) {
      const r = await jxRaw(rt, dir, [...args, "j\\377.yaml"]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr,
        "j\\xff.yaml: cannot read a jobs file whose name is not UTF-8 (jx takes a project's " +
          "paths as text): rename it\n",
      );
    }
    // One that is not there is no such file, as any other.
    const r = await jxRaw(rt, dir, ["run", "-f", "nope\\377.yaml"]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, "nope\\xff.yaml: no such file\n");
    await Deno.remove(dir, { recursive: true });
  });
}
