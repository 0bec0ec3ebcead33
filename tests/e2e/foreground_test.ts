/**
 * `jx run MODULE` keeps the module in the foreground and says what happens
 * as it happens (process-compose style): at once that it started (pid,
 * command), when it became ready and how long that took, with how to stop
 * it; its output line by line as it comes, prefixed `[name]` (stderr marked
 * `!`), in the default buffered mode too; Ctrl-C stops it (exit 130).
 */
import assert from "node:assert/strict";
import { spawnJx, tempDir } from "../helpers.ts";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Collects a stream's text; `until(re)` resolves once what came so far matches. */
function collect(stream: ReadableStream<Uint8Array>) {
  let text = "";
  const waiters: { re: RegExp; resolve: (t: string) => void }[] = [];
  const done = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      text += dec.decode(chunk, { stream: true });
      for (const w of waiters.filter((w) => w.re.test(text))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(text);
      }
    }
    for (const w of waiters) w.resolve(text); // ended: the assertion after says what is missing
  })();
  return {
    until: (re: RegExp) =>
      re.test(text) ? Promise.resolve(text) : new Promise<string>((resolve) => {
        waiters.push({ re, resolve });
      }),
    done: done.then(() => text),
  };
}

Deno.test("jx run MODULE: started, ready in how long and how to stop, output as it comes", async () => {
  const port = freePort();
  const dir = await tempDir({
    "jobs.yaml": `
modules:
  serve:
    run: python3 -u -m http.server ${port} --bind 127.0.0.1
    ready: { tcp: ${port}, timeout: 30s }
`,
  });
  const child = spawnJx(["run", "serve"], { cwd: dir });
  const out = collect(child.stdout);
  const err = collect(child.stderr);
  // Only a guard against a hang (what never comes ends the wait when jx ends): not a timing.
  const guard = setTimeout(() => child.kill("SIGINT"), 60_000);
  try {
    const said = await err.until(/ready in/);
    assert.match(
      said,
      new RegExp(
        `^jx: module serve starting \\(pid \\d+\\): python3 -u -m http\\.server ${port} .*\\n` +
          "jx: module serve ready in \\d+(ms|\\.\\d+s) \\(Ctrl-C to stop\\)\\n",
      ),
    );
    // The server's own lines, while it runs: its banner, then the log of a request.
    assert.match(await out.until(/Serving HTTP/), /^\[serve\] {2}Serving HTTP on 127\.0\.0\.1/m);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    await res.body?.cancel();
    assert.match(
      await err.until(/"GET \/ HTTP/),
      /^\[serve\]! 127\.0\.0\.1 .*"GET \/ HTTP\/1\.1" 200/m,
    );
  } finally {
    clearTimeout(guard);
    child.kill("SIGINT");
  }
  assert.equal((await child.status).code, 130);
  await Promise.all([out.done, err.done]);
});
