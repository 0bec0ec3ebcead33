/**
 * The reactor conformance suite against every backend: epoll and portable on
 * Deno in-process, and both on Bun through `tests/reactor/run_cases.ts`.
 */
import assert from "node:assert/strict";
import { createEpollReactor, createPortableReactor, type Reactor } from "../lib/reactor/mod.ts";
import { BUN, DENO, ROOT } from "./helpers.ts";
import { CASES, noLeaks } from "./reactor/cases.ts";

const BACKENDS: Record<string, () => Reactor> = {
  epoll: createEpollReactor,
  portable: createPortableReactor,
};

for (const [name, create] of Object.entries(BACKENDS)) {
  for (const c of CASES) {
    Deno.test(`reactor [deno ${name}] ${c.name}`, async () => {
      const r = create();
      try {
        await c.run(r);
      } finally {
        r.close();
      }
    });
  }
}

for (const backend of ["epoll", "portable"]) {
  Deno.test(`reactor [bun ${backend}] every conformance case`, async () => {
    const out = await new Deno.Command(BUN, {
      args: [`${ROOT}/tests/reactor/run_cases.ts`, backend],
      cwd: ROOT,
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const passed = text.split("\n").filter((l) => l.startsWith("PASS ")).length;
    assert.equal(out.code, 0, text);
    assert.equal(passed, CASES.length, text);
  });
}

Deno.test("reactor [deno epoll] reports the job's CPU time", async () => {
  const { run } = await import("./reactor/cases.ts");
  const r = createEpollReactor();
  try {
    const x = await run(r, ["/bin/sh", "-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"]);
    assert.equal(x.status.code, 0);
    assert.ok(x.status.cpu && x.status.cpu.userMs > 0, JSON.stringify(x.status));
    assert.ok(x.status.cpu.sysMs >= 0);
  } finally {
    r.close();
  }
});

Deno.test("reactor [deno epoll] 10,000 children: fds back to where they started, no zombie", async () => {
  const r = createEpollReactor();
  try {
    await noLeaks(10_000).run(r);
  } finally {
    r.close();
  }
});

Deno.test("reactor [bun epoll] 10,000 children: fds back to where they started, no zombie", async () => {
  const out = await new Deno.Command(BUN, {
    args: [`${ROOT}/tests/reactor/run_cases.ts`, "epoll", "--leaks", "10000"],
    cwd: ROOT,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /^PASS no fd or zombie is left after 10000 children$/m);
});

const STRACE = ["/usr/bin/strace", "/bin/strace"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

Deno.test({
  name: "reactor [deno epoll] a spawn that hangs does not hold back the other children",
  ignore: !STRACE,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const slow = `${dir}/slowtrue`;
    await Deno.copyFile("/bin/true", slow);
    await Deno.chmod(slow, 0o755);
    // strace delays only the exec of `slow` (1.5 s); nothing else is traced.
    const out = await new Deno.Command(STRACE!, {
      args: [
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "--seccomp-bpf",
        "-e",
        "trace=execve",
        "-e",
        "inject=execve:delay_enter=1500000:when=1",
        "-P",
        slow,
        DENO,
        "run",
        "-A",
        `${ROOT}/tests/reactor/slow_spawn.ts`,
        slow,
      ],
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    const t = JSON.parse(text.trim().split("\n").at(-1)!);
    assert.ok(t.slowExit >= 1400, `the exec was delayed: ${text}`);
    assert.ok(
      t.output < 1000 && t.exit < 1000,
      `the other child's output and exit on time: ${text}`,
    );
    await Deno.remove(dir, { recursive: true });
  },
});
