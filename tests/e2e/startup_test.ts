/**
 * What jx's fastest paths load on Bun (the standalone binary's runtime), where
 * loading is most of what they cost: `jx --version` touches neither
 * `process.stdout`/`process.stderr` (Bun builds a Node stream on first use,
 * about as much CPU as the binary's whole start) nor any `node:` module, and a
 * no-op `jx run` touches neither those streams nor any `node:` module. A preload script records every
 * such use. Also: a terminal is still told from a pipe, and its width read, on
 * Bun without those streams (under a real pseudo-terminal from `script`).
 * On Deno: neither path touches `globalThis.process`, whose first use loads
 * Deno's Node compatibility. bench/startup.ts has the times; no test asserts speed.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { BUN, jxCommand, ROOT, runJx, tempDir } from "../helpers.ts";
import { VERSION } from "../../lib/runtime/version.ts";

const haveBun = existsSync(BUN);

/** A preload that reports each use of the process streams, `node:` module loaded and `dlopen`. */
const PRELOAD = `
const p = globalThis.process;
for (const k of ["stdout", "stderr"]) {
  Object.defineProperty(p, k, {
    configurable: true,
    get() { console.error("touched process." + k); return undefined; },
  });
}
const load = p.getBuiltinModule.bind(p);
p.getBuiltinModule = (name) => { console.error("loaded " + name); return load(name); };
const ffi = require("bun:ffi");
const open = ffi.dlopen;
ffi.dlopen = (path, symbols) => {
  console.error("dlopen " + path + " " + Object.keys(symbols).join(","));
  return open(path, symbols);
};
`;

/** Runs `bun --preload PRELOAD cli.ts ARGS` in `cwd`. */
async function bunTraced(cwd: string, args: string[]) {
  const out = await new Deno.Command(BUN, {
    args: ["--preload", `${cwd}/preload.js`, `${ROOT}/cli.ts`, ...args],
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "startup on Bun: --version loads nothing, a no-op run touches no process stream, " +
    "opens libc once",
  ignore: !haveBun,
  async fn() {
    const dir = await tempDir({
      "preload.js": PRELOAD,
      "a.txt": "a\n",
      "jobs.yaml": "jobs:\n  t: { run: cp a.txt b.txt, reads: [a.txt], writes: [b.txt] }\n",
    });
    try {
      for (const flag of ["--version", "-V"]) {
        const v = await bunTraced(dir, [flag]);
        assert.equal(v.code, 0, v.stderr);
        assert.equal(v.stdout, `jx ${VERSION}\n`);
        assert.equal(v.stderr, "", `jx ${flag} on Bun loaded more than it needs`);
      }
      const first = await bunTraced(dir, ["run"]);
      assert.equal(first.code, 0, first.stderr);
      // Past the racy window of b.txt, which the build just wrote: the first no-op checks it by
      // content and writes its record again without it (through node:fs, once); the next is
      // the steady no-op looked at here.
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((await bunTraced(dir, ["run"])).code, 0);
      const noop = await bunTraced(dir, ["run", "--verbose"]);
      assert.equal(noop.code, 0, noop.stderr);
      assert.match(noop.stderr, /jx: no-op: /, "the fast path was taken");
      assert.doesNotMatch(noop.stderr, /touched process\./);
      // Its file calls go through libc: node:fs alone costs 2.5-4.5 ms to load in the binary.
      assert.doesNotMatch(noop.stderr, /loaded node:/, "a no-op run loaded a node: module");
      // One libc for the lock, the stamps, the files and the console (each dlopen costs ~1 ms).
      const opened = noop.stderr.split("\n").filter((l) => l.startsWith("dlopen "));
      assert.deepEqual(opened, [
        "dlopen libc.so.6 flock,statx,isatty,ioctl,open,read,write,ftruncate,close,syscall,mmap",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "isTerminal and terminalColumns on Bun: a pty and its width, a pipe and 80",
  ignore: !haveBun,
  async fn() {
    const dir = await tempDir({
      "tty.ts": `import { isTerminal, terminalColumns } from "${ROOT}/lib/runtime/mod.ts";\n` +
        "console.log(`tty ${isTerminal(1)} ${isTerminal(2)} ${terminalColumns()}`);\n",
    });
    try {
      const piped = await new Deno.Command(BUN, { args: [`${dir}/tty.ts`], stdin: "null" })
        .output();
      assert.equal(new TextDecoder().decode(piped.stdout), "tty false false 80\n");
      const pty = await new Deno.Command("script", {
        args: ["-qec", `stty cols 123; ${BUN} ${dir}/tty.ts`, "/dev/null"],
        env: { TERM: "xterm", NO_COLOR: "1" },
        stdin: "null",
      }).output();
      assert.match(new TextDecoder().decode(pty.stdout), /tty true true 123\r?\n/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * A preload for Deno that reports each touch of `globalThis.process` (Deno's Node compatibility)
 * and each `setTimeout` (Deno loads its `node:timers` on the first: 10-14 ms).
 */
const PROCESS_TRAP = `
const setTimer = globalThis.setTimeout;
globalThis.setTimeout = ((...a: Parameters<typeof setTimeout>) => {
  console.error("set a timeout: " + new Error().stack?.split("\\n").slice(2, 4).join(" "));
  return setTimer(...a);
}) as typeof setTimeout;
const d = Object.getOwnPropertyDescriptor(globalThis, "process")!;
Object.defineProperty(globalThis, "process", {
  configurable: true,
  get() {
    console.error("touched process: " + new Error().stack?.split("\\n").slice(2, 6).join(" "));
    return d.get ? d.get.call(this) : d.value;
  },
});
`;

/** Runs `cli.ts ARGS` on Deno in `dir` with PROCESS_TRAP preloaded: its exit code and stderr. */
async function denoTraced(dir: string, args: string[]): Promise<{ code: number; stderr: string }> {
  await Deno.writeTextFile(`${dir}/.trap.ts`, PROCESS_TRAP);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--preload", `${dir}/.trap.ts`, `${ROOT}/cli.ts`, ...args],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("startup on Deno: --version, a no-op run and a full run of a small file never touch globalThis.process (Node compatibility: ~35 ms)", async () => {
  const dir = await tempDir({
    "a.txt": "a\n",
    "jobs.yaml": "jobs:\n  t: { run: cp a.txt b.txt, reads: [a.txt], writes: [b.txt] }\n",
  });
  try {
    assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
    const version = await denoTraced(dir, ["--version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.doesNotMatch(version.stderr, /touched process/);
    const { code, stderr } = await denoTraced(dir, ["run", "--verbose"]);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /jx: no-op: /, "the fast path was taken");
    assert.doesNotMatch(stderr, /touched process/);
    // The full way: the file parsed by the fast front end, without the yaml package.
    await Deno.writeTextFile(`${dir}/a.txt`, "changed\n");
    const full = await denoTraced(dir, ["run", "--verbose"]);
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.stderr, /jx: 1 job ok/);
    assert.doesNotMatch(full.stderr, /touched process/);
    // A file the front end leaves to the yaml package (an anchor): it loads then, and works.
    await Deno.writeTextFile(`${dir}/anchor.yaml`, "jobs:\n  t: &j { run: 'true' }\n  u: *j\n");
    const anchored = await denoTraced(dir, ["run", "-f", "anchor.yaml"]);
    assert.equal(anchored.code, 0, anchored.stderr);
    assert.match(anchored.stderr, /touched process/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startup on Deno: a partial run after an edit never touches globalThis.process (Node compatibility: ~35 ms)", async () => {
  // Big enough for the graph cache (32 KB): an edit loads the jobs it touches from it.
  const files: Record<string, string> = { "out/.keep": "" };
  const jobs = ["jobs:"];
  for (let i = 0; i < 400; i++) {
    files[`src/${i}.txt`] = `${i}\n`;
    jobs.push(
      `  copy-number-${i}: { run: "cp src/${i}.txt out/${i}.txt", reads: [src/${i}.txt], writes: [out/${i}.txt] }`,
    );
  }
  files["jobs.yaml"] = jobs.join("\n") + "\n";
  const dir = await tempDir(files);
  try {
    assert.equal((await runJx(["run", "-j4"], { cwd: dir })).code, 0);
    // Past the racy window, a run that settles the files the build wrote: the record vouches for all.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
    await Deno.writeTextFile(`${dir}/src/5.txt`, "edited\n");
    const { code, stderr } = await denoTraced(dir, ["run", "-v"]);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /jx: edit: 1 recorded file\(s\) changed, 1 of 400 job\(s\) loaded/);
    assert.equal(await Deno.readTextFile(`${dir}/out/5.txt`), "edited\n");
    assert.doesNotMatch(stderr, /touched process/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startup on Deno: quick jobs in parallel set no timeout (the epoll reactor's spawn guard sleeps on a helper thread)", async () => {
  const jobs = ["jobs:"];
  for (let i = 0; i < 6; i++) jobs.push(`  t${i}: { run: [/bin/true] }`);
  const dir = await tempDir({ "jobs.yaml": jobs.join("\n") + "\n" });
  try {
    // Six at once: spawns are in flight while children already run, so the guard is set.
    const { code, stderr } = await denoTraced(dir, ["run", "-j6", "--reactor", "epoll"]);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /jx: 6 jobs ok/);
    assert.doesNotMatch(stderr, /set a timeout/);
    // A job's own timeout still uses one (the trap sees timers at all).
    await Deno.writeTextFile(`${dir}/jobs.yaml`, "jobs:\n  t: { run: [/bin/true], timeout: 1h }\n");
    const timed = await denoTraced(dir, ["run", "--reactor", "epoll"]);
    assert.equal(timed.code, 0, timed.stderr);
    assert.match(timed.stderr, /set a timeout/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startup on Deno: a run under make's pipe jobserver (a client) never touches globalThis.process", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  a: { run: 'true' }\n  b: { run: 'true' }\n",
    ".trap.ts": PROCESS_TRAP,
    // make 4.3 (the system's) hands its pool to `+` recipes as a pipe: jx joins it as a client.
    "Makefile":
      `all:\n\t+${Deno.execPath()} run -A --quiet --preload .trap.ts ${ROOT}/cli.ts run -v\n`,
  });
  const make = (args: string[]) =>
    new Deno.Command("make", {
      args,
      cwd: dir,
      env: { NO_COLOR: "1", MAKEFLAGS: "" },
      stdin: "null",
    })
      .output();
  try {
    // make before 4.4 has no --jobserver-style: pipes are its only kind.
    let out = await make(["-s", "-j3", "--jobserver-style=pipe"]);
    if (/unrecognized option/.test(new TextDecoder().decode(out.stderr))) {
      out = await make(["-s", "-j3"]);
    }
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.match(stderr, /jx: 2 jobs ok/);
    assert.doesNotMatch(stderr, /touched process/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "startup on Bun: jx run in a folder removed under it is one line, as jx list is (the fast path's error went out as a stack trace)",
  ignore: !haveBun,
  async fn() {
    const dir = await tempDir({});
    const [cmd, argv] = jxCommand("bun", ["CMD"]);
    const quoted = [cmd, ...argv].map((a) => `'${a}'`).join(" ");
    const results = [];
    for (const sub of ["run", "list"]) {
      const script = `mkdir gone && cd gone && rmdir ../gone && exec ${
        quoted.replace("'CMD'", sub)
      }`;
      const out = await new Deno.Command("sh", { args: ["-c", script], cwd: dir, stdin: "null" })
        .output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.match(stderr, /^jx: [^\n]*\n$/, `${sub}: ${stderr}`);
      results.push({ code: out.code, stderr });
    }
    assert.deepEqual(results[0], results[1]);
  },
});
