// An http check (ready or health) waits for the answer until its own
// `timeout`: a server slower than 2s to answer passes a check with a longer
// timeout (each attempt was cut at 2s, whatever the timeout said).
import assert from "node:assert/strict";
import { ReadyProbe } from "../lib/modules/mod.ts";
import { createReactor } from "../lib/reactor/mod.ts";

/** A server whose every answer (200) comes `delayMs` after the request. */
function slowServer(delayMs: number) {
  const ac = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen() {} },
    async () => {
      await new Promise((r) => setTimeout(r, delayMs));
      return new Response("ok");
    },
  );
  return { url: `http://127.0.0.1:${server.addr.port}/health`, stop: () => ac.abort(), server };
}

/** The result of one probe of `url` with a `timeoutMs`; `once`: a health check's single try. */
async function probe(url: string, timeoutMs: number, once: boolean) {
  const reactor = createReactor("portable");
  const { promise, resolve } = Promise.withResolvers<[boolean, string | undefined]>();
  const p = new ReadyProbe(
    { http: url, timeoutMs },
    { reactor, cwd: "/", env: {} },
    (ok, why) => resolve([ok, why]),
    once,
  );
  p.start();
  try {
    return await promise;
  } finally {
    p.cancel();
    reactor.close();
  }
}

for (const once of [true, false]) {
  Deno.test(`an http ${once ? "health" : "ready"} check passes on an answer slower than 2s, within its timeout`, async () => {
    const s = slowServer(3000);
    try {
      assert.deepEqual(await probe(s.url, 60_000, once), [true, undefined]);
    } finally {
      s.stop();
      await s.server.finished;
    }
  });
}
