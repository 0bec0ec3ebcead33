/**
 * The reactor conformance suite against every backend: epoll and portable on
 * Deno in-process, and both on Bun through `tests/reactor/run_cases.ts`.
 */
import assert from "node:assert/strict";
import { createEpollReactor, createPortableReactor, type Reactor } from "../lib/reactor/mod.ts";
import { BUN, ROOT } from "./helpers.ts";
import { CASES } from "./reactor/cases.ts";

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
  const { run } = await import("./reactor/cases.ts");
  const r = createEpollReactor();
  const fds = () => Deno.readDirSync("/proc/self/fd").toArray().length;
  try {
    await run(r, ["/bin/true"]); // the first spawn loads what stays loaded
    const before = fds();
    const pids: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        next++;
        const x = await run(r, ["/bin/true"]);
        assert.equal(x.status.code, 0);
        pids.push(x.pid);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.equal(pids.length, 10_000);
    // Slack for other test files running in this process; one fd per child would be 10,000.
    assert.ok(fds() <= before + 16, `fds: ${before} before, ${fds()} after`);
    const mine = String(Deno.pid);
    const zombies = pids.filter((pid) => {
      try {
        return Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ")[1] === mine;
      } catch {
        return false;
      }
    });
    assert.deepEqual(zombies, []);
  } finally {
    r.close();
  }
});
