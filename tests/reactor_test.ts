/**
 * The reactor conformance suite against every backend: epoll and portable on
 * Deno in-process, portable on Bun through `tests/reactor/run_cases.ts`.
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

Deno.test("reactor [bun portable] every conformance case", async () => {
  const out = await new Deno.Command(BUN, {
    args: [`${ROOT}/tests/reactor/run_cases.ts`, "portable"],
    cwd: ROOT,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const passed = text.split("\n").filter((l) => l.startsWith("PASS ")).length;
  assert.equal(out.code, 0, text);
  assert.equal(passed, CASES.length, text);
});
