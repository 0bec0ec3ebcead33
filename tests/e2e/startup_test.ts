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
import { BUN, ROOT, runJx, tempDir } from "../helpers.ts";
import { VERSION } from "../../lib/cli/version.ts";

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
      const noop = await bunTraced(dir, ["run", "--verbose"]);
      assert.equal(noop.code, 0, noop.stderr);
      assert.match(noop.stderr, /jx: no-op: /, "the fast path was taken");
      assert.doesNotMatch(noop.stderr, /touched process\./);
      // Its file calls go through libc: node:fs alone costs 2.5-4.5 ms to load in the binary.
      assert.doesNotMatch(noop.stderr, /loaded node:/, "a no-op run loaded a node: module");
      // One libc for the lock, the stamps, the files and the console (each dlopen costs ~1 ms).
      const opened = noop.stderr.split("\n").filter((l) => l.startsWith("dlopen "));
      assert.deepEqual(opened, [
        "dlopen libc.so.6 flock,statx,isatty,ioctl,open,read,write,ftruncate,close",
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

Deno.test("startup on Deno: --version and a no-op run never touch globalThis.process (Node compatibility: ~25 ms)", async () => {
  const dir = await tempDir({
    "trap.ts": `
const d = Object.getOwnPropertyDescriptor(globalThis, "process")!;
Object.defineProperty(globalThis, "process", {
  configurable: true,
  get() {
    console.error("touched process: " + new Error().stack?.split("\\n")[2]?.trim());
    return d.get ? d.get.call(this) : d.value;
  },
});
await import("${ROOT}/lib/runtime/mod.ts");
await import("${ROOT}/lib/cli/version.ts");
const { fastRun } = await import("${ROOT}/lib/cli/noop_run.ts");
Deno.exit(await fastRun(["run", "--verbose"]) ?? 99);
`,
    "a.txt": "a\n",
    "jobs.yaml": "jobs:\n  t: { run: cp a.txt b.txt, reads: [a.txt], writes: [b.txt] }\n",
  });
  try {
    assert.equal((await runJx(["run"], { cwd: dir })).code, 0);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", `${dir}/trap.ts`],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.match(stderr, /jx: no-op: /, "the fast path was taken");
    assert.doesNotMatch(stderr, /touched process/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
