/**
 * The files the loader reads besides the jobs file, as an attack found
 * them mishandled: a folder whose name begins with two dots is inside the
 * project (depfile inputs, includes); a dotenv value with a NUL byte is
 * refused as in `env:`, a byte order mark is no part of the first name; an
 * include or dotenv file that is a FIFO or a device is refused unread (a
 * FIFO hung every command, /dev/zero grew without end); a file a `foreach`
 * glob finds whose name is not UTF-8 is refused at load (the job was given
 * a path that does not exist); a jobs file read from a pipe (`-f <(cmd)`,
 * `-f /dev/stdin`) has the current folder as its project folder. On Deno and Bun.
 */
import assert from "node:assert/strict";
import { exists, jxCommand, runJx, type Runtime, RUNTIMES, tempDir } from "../helpers.ts";

/** The only line of stderr, which must be the whole output of a refused load (exit 2). */
async function refused(dir: string, runtime: Runtime, args = ["run"]): Promise<string> {
  const r = await runJx(args, { cwd: dir, runtime });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  return lines[0];
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: a depfile input in a folder named '..gen' is an input (it was dropped: stale results)`, async () => {
    const dir = await tempDir({
      "..gen/x.h": "v1\n",
      "normal.h": "v1\n",
      "jobs.yaml": "version: 1\njobs:\n  cc:\n" +
        "    run: \"cat ..gen/x.h normal.h > out.o; printf 'out.o: ..gen/x.h normal.h\\\\n' > out.d\"\n" +
        "    writes: [out.o, out.d]\n    depfile: out.d\n",
    });
    const first = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(first.code, 0, first.stderr);
    await Deno.writeTextFile(`${dir}/..gen/x.h`, "v2\n");
    const again = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/out.o`), "v2\nv1\n");
  });

  Deno.test(`${runtime}: an include in a folder named '..pkg' is inside the project`, async () => {
    const dir = await tempDir({
      "..pkg/jobs.yaml": 'jobs:\n  b: { run: "echo from-b" }\n',
      "jobs.yaml": 'version: 1\ninclude: [..pkg/jobs.yaml]\njobs:\n  a: { run: "true" }\n',
    });
    const r = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /from-b/);
  });

  Deno.test(`${runtime}: a dotenv value with a NUL byte is refused at its place; a BOM is no part of a name`, async () => {
    const dir = await tempDir({
      ".env": "A=1\nT_N=a\0b\n",
      "jobs.yaml": 'version: 1\nenv_file: .env\njobs:\n  a: { run: "true" }\n',
    });
    assert.match(await refused(dir, runtime), /^\.env:2:5: T_N: the value contains a NUL byte/m);
    await Deno.writeTextFile(`${dir}/.env`, "\uFEFFFIRST=one\n");
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      'version: 1\nenv_file: .env\njobs:\n  a: { run: "echo v=$FIRST" }\n',
    );
    const r = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /v=one/);
  });

  Deno.test(`${runtime}: an include or dotenv file that is a FIFO or a device is refused unread`, async () => {
    const dir = await tempDir({});
    const mk = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assert.equal(mk.code, 0);
    const cases: [string, RegExp][] = [
      ["include: [fifo]\n", /^jobs\.yaml:\d+:\d+: include: fifo: cannot read: not a regular file/],
      [
        "env_file: fifo\n",
        /^jobs\.yaml:\d+:\d+: env_file\[0\]: cannot read dotenv file 'fifo': not a regular file/,
      ],
      [
        "env_file: /dev/zero\n",
        /^jobs\.yaml:\d+:\d+: env_file\[0\]: cannot read dotenv file '\/dev\/zero': not a regular/,
      ],
    ];
    for (const [line, want] of cases) {
      await Deno.writeTextFile(
        `${dir}/jobs.yaml`,
        `version: 1\n${line}jobs:\n  a: { run: "true" }\n`,
      );
      assert.match(await refused(dir, runtime, ["list"]), want);
    }
  });

  Deno.test(`${runtime}: -f naming a pipe that never ends stops at the size limit, in one line`, async () => {
    const dir = await tempDir({});
    const mk = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assert.equal(mk.code, 0);
    // `yes` ends by SIGPIPE once jx closes the pipe.
    const yes = new Deno.Command("sh", { args: ["-c", `exec yes > '${dir}/fifo'`] }).spawn();
    try {
      assert.equal(
        await refused(dir, runtime, ["list", "-f", "fifo"]),
        "fifo: cannot read: longer than 256 MiB",
      );
    } finally {
      try {
        yes.kill("SIGKILL");
      } catch { /* ended already */ }
      await yes.status;
    }
  });

  Deno.test(`${runtime}: -f naming a folder: one line, worded the same on every runtime`, async () => {
    // Bun said 'EISDIR: illegal operation on a directory, read' where Deno said 'EISDIR: is a directory'.
    const dir = await tempDir({ "sub/jobs.yaml": "jobs:\n  a: { run: 'true' }\n" });
    assert.equal(
      await refused(dir, runtime, ["run", "-f", "sub"]),
      "sub: cannot read: is a folder",
    );
    // A file named as a folder: in words too (it was `ENOTDIR: not a directory, open 'x/'`).
    assert.equal(
      await refused(dir, runtime, ["run", "-f", "sub/jobs.yaml/"]),
      "sub/jobs.yaml/: cannot read: a part of the path is not a folder",
    );
    // A device may never end (`/dev/zero` read on past 1 GB until killed).
    assert.equal(
      await refused(dir, runtime, ["list", "-f", "/dev/zero"]),
      "/dev/zero: cannot read: a device, not a file (a pipe is read, as <(cmd))",
    );
  });

  Deno.test(`${runtime}: a foreach glob that finds a file whose name is not UTF-8 is refused at load`, async () => {
    const dir = await tempDir({
      "src/good.txt": "ok\n",
      "jobs.yaml": 'version: 1\njobs:\n  show:\n    foreach: { glob: "src/*.txt" }\n' +
        '    run: "cat ${ITEM:q}"\n',
    });
    // A name of bytes, made by the shell: Deno's own calls take names as text.
    const sh = await new Deno.Command("sh", {
      args: ["-c", `printf hi > "$1/src/$(printf 'bad\\377.txt')"`, "sh", dir],
    }).output();
    assert.equal(sh.code, 0);
    assert.match(
      await refused(dir, runtime),
      /^jobs\.yaml:4:\d+: jobs\.show\.foreach: the file 'src\/bad\uFFFD\.txt' has a name that is not UTF-8/,
    );
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: a foreach over files a job writes, one named not in UTF-8: the group fails, saying why`, async () => {
    const dir = await tempDir({
      "jobs.yaml": "version: 1\njobs:\n  gen:\n" +
        '    run: "mkdir -p gen && printf hi > \\"gen/$(printf \'bad\\\\377.txt\')\\""\n' +
        '    writes: ["gen/*.txt"]\n' +
        '  show:\n    foreach: { glob: "gen/*.txt" }\n    run: "cat ${ITEM:q}"\n',
    });
    const r = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /jobs\.show\.foreach: the file 'gen\/bad\uFFFD\.txt' has a name that is not UTF-8/,
    );
    assert.doesNotMatch(r.stderr, /No such file/);
  });
}

/** jx run with its jobs file given as a pipe (`bash -c 'jx -f <(...)'`, or `/dev/stdin`). */
async function fromPipe(
  runtime: Runtime,
  dir: string,
  yaml: string,
  args: string[],
  how: "process-substitution" | "stdin",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, argv] = jxCommand(runtime, args);
  const script = how === "stdin"
    ? 'printf %s "$1" | "${@:2}" -f /dev/stdin'
    : 'exec "${@:2}" -f <(printf %s "$1")';
  const out = await new Deno.Command("bash", {
    args: ["-c", script, "bash", yaml, cmd, ...argv],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: a jobs file read from a pipe (-f <(cmd), -f /dev/stdin) has the current folder as its own, not /dev/fd or /dev`, async () => {
    const dir = await tempDir({});
    const yaml = 'version: 1\njobs:\n  a: { run: "pwd > here.txt", writes: [here.txt] }\n';
    // It ran in /dev/fd's folder: its .jx/ could not be made (exit 2, nothing run).
    const run = await fromPipe(runtime, dir, yaml, ["run"], "process-substitution");
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/here.txt`), `${await Deno.realPath(dir)}\n`);
    assert.ok(await exists(`${dir}/.jx/state.ndjson`), "the state is the current folder's");
    const again = await fromPipe(runtime, dir, yaml, ["run"], "process-substitution");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /1 job up to date/);
    // What clean would remove is in the current folder (it listed ../../dev/full: /dev as the project).
    const clean = await fromPipe(
      runtime,
      dir,
      'version: 1\njobs:\n  a: { run: "true", writes: [here.txt, full] }\n',
      ["clean", "-n"],
      "stdin",
    );
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal(clean.stdout, "would remove here.txt\n");
    // jx lint and --check-access likewise (their lock and findings were looked for in /dev/fd).
    const copy = 'version: 1\njobs:\n  c: { run: "cat here.txt > copy.txt", reads: [here.txt], ' +
      "writes: [copy.txt] }\n";
    const lint = await fromPipe(runtime, dir, copy, ["lint"], "process-substitution");
    assert.equal(lint.code, 0, lint.stdout + lint.stderr);
    assert.ok(await exists(`${dir}/copy.txt`), "lint ran the job in the current folder");
    await Deno.remove(`${dir}/copy.txt`);
    const checked = await fromPipe(runtime, dir, copy, ["run", "--check-access"], "stdin");
    assert.equal(checked.code, 0, checked.stderr);
    assert.doesNotMatch(checked.stderr, /not kept|\/dev/, checked.stderr);
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: a jobs, included or dotenv file that is not UTF-8 is refused at its first such byte (its é ran as U+FFFD)`, async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs: {}\n" });
    const bytes = (...parts: (string | number[])[]) =>
      new Uint8Array(
        parts.flatMap((p) => typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p),
      );
    // Latin-1's é (0xe9): the job echoed U+FFFD's three bytes.
    await Deno.writeFile(`${dir}/jobs.yaml`, bytes("jobs:\n  a: { run: echo caf", [0xe9], " }\n"));
    assert.equal(
      await refused(dir, runtime),
      "jobs.yaml:2:21: not UTF-8 text (byte 0xe9; save the file as UTF-8)",
    );
    // Saved as UTF-16 (Windows PowerShell's `>`): its byte order mark, not a NUL byte deep in it.
    const utf16 = [0xff, 0xfe, ..."jobs: {}\n".split("").flatMap((c) => [c.charCodeAt(0), 0])];
    await Deno.writeFile(`${dir}/jobs.yaml`, new Uint8Array(utf16));
    assert.equal(
      await refused(dir, runtime),
      "jobs.yaml:1:1: UTF-16 text (byte order mark FF FE; save the file as UTF-8)",
    );
    // An included file, and a dotenv file, likewise at their own place.
    await Deno.mkdir(`${dir}/pkg`);
    await Deno.writeFile(
      `${dir}/pkg/jobs.yaml`,
      bytes('jobs:\n  b: { run: "echo ', [0xe9], '" }\n'),
    );
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      "include: [pkg/jobs.yaml]\njobs:\n  a: { run: 'true' }\n",
    );
    assert.equal(
      await refused(dir, runtime),
      "pkg/jobs.yaml:2:19: not UTF-8 text (byte 0xe9; save the file as UTF-8)",
    );
    await Deno.writeFile(`${dir}/.env`, bytes("A=1\nB=caf", [0xe9], "\n"));
    await Deno.writeTextFile(`${dir}/jobs.yaml`, "env_file: .env\njobs:\n  a: { run: 'true' }\n");
    assert.equal(
      await refused(dir, runtime),
      ".env:2:6: not UTF-8 text (byte 0xe9; save the file as UTF-8)",
    );
    // UTF-8 with a byte order mark and a U+FFFD of its own is text.
    await Deno.writeTextFile(`${dir}/jobs.yaml`, "\uFEFFjobs:\n  a: { run: echo café \uFFFD }\n");
    const ok = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /café \uFFFD/);
  });

  Deno.test(`${runtime}: -f Makefile (or a Taskfile, a justfile) says it is that tool's file and what jx reads`, async () => {
    const dir = await tempDir({
      "Makefile": "all: app\napp: main.c\n\tcc -o app main.c\n",
      "Taskfile.yml": 'version: "3"\ntasks:\n  build:\n    cmds: [go build]\n',
      "justfile": "build:\n    cargo build\n",
    });
    const jx = "jx reads jobs.yaml, which jx init writes";
    assert.equal(
      await refused(dir, runtime, ["run", "-f", "Makefile"]),
      "Makefile:3:1: YAML syntax error: Tabs are not allowed as indentation (indent with spaces, " +
        "not tabs) " +
        `(Makefile is make's file, not a jobs file: ${jx}; jx exec -- make runs make in a pool ` +
        "of job slots)",
    );
    assert.equal(
      await refused(dir, runtime, ["list", "-f", "Taskfile.yml"]),
      'Taskfile.yml:1:10: version: unsupported version "3" (this jx reads version 1) ' +
        `(Taskfile.yml is go-task's file, not a jobs file: ${jx})`,
    );
    assert.equal(
      await refused(dir, runtime, ["graph", "-f", "justfile"]),
      `justfile:1:1: unknown key 'build' (justfile is just's file, not a jobs file: ${jx})`,
    );
  });
}
