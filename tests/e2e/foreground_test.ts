/**
 * `jx run MODULE` keeps the module in the foreground and says what happens
 * as it happens (process-compose style): at once that it started (pid,
 * command), when it became ready and how long that took, with how to stop
 * it; its output line by line as it comes, prefixed `[name]` (stderr marked
 * `!`), in the default buffered mode too; Ctrl-C stops it (exit 130).
 */
import assert from "node:assert/strict";
import { readEvents, runJx, RUNTIMES, spawnJx, tempDir } from "../helpers.ts";

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

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] jx run MODULE: a module that exits at once says which and how, as a failure does`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
modules:
  quick: { run: "echo hi; exit 0" }
  again: { run: "exit 0", restart: always, max_restarts: 1 }
  broken: { run: "echo oops; exit 3" }
`,
    });
    const run = (name: string) =>
      runJx(["run", "--events", "ev.ndjson", name], { cwd: dir, runtime: rt });
    const quick = await run("quick");
    assert.equal(quick.code, 0, quick.stderr);
    assert.match(quick.stderr, /^jx: module quick exited by itself \(exit 0\)$/m);
    const stopped = (await readEvents(`${dir}/ev.ndjson`)).findLast((e) =>
      e.type === "module.state"
    )!;
    assert.deepEqual([stopped.state, stopped.exit, stopped.reason], ["stopped", 0, "exit 0"]);
    const again = await run("again");
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /^jx: module again exited by itself \(exit 0; gave up after 1 restart\)$/m,
    );
    // A failure: the ✗ line and exit 1 (as before), no "exited by itself".
    const broken = await run("broken");
    assert.equal(broken.code, 1, broken.stderr);
    assert.match(broken.stderr, /^ {2}✗ module broken: exit 3$/m);
    assert.doesNotMatch(broken.stderr, /exited by itself/);
  });
}

Deno.test("jx run MODULE: Ctrl-C stops it without an 'exited by itself' line; the last line says it stopped", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  build: { run: 'true' }\n" +
      "modules:\n  up: { run: 'echo up; sleep 30' }\n  web: { run: 'echo web; sleep 30', needs: [build] }\n",
  });
  for (
    const [name, verdict] of [["up", "module up stopped"], ["web", "1 job ok, module web stopped"]]
  ) {
    const child = spawnJx(["run", name], { cwd: dir });
    const err = collect(child.stderr);
    const out = collect(child.stdout);
    await out.until(new RegExp(name));
    child.kill("SIGINT");
    assert.equal((await child.status).code, 130);
    const said = await err.done;
    await out.done;
    assert.doesNotMatch(said, /exited by itself/);
    // Not "interrupted: nothing to do": what the Ctrl-C stopped.
    assert.match(said, new RegExp(`^jx: interrupted: ${verdict} in \\d`, "m"), said);
  }
  // A module that exits by itself: its last line says so too.
  await Deno.writeTextFile(`${dir}/jobs.yaml`, "modules:\n  quick: { run: 'exit 0' }\n");
  const quick = await runJx(["run", "quick"], { cwd: dir });
  assert.match(quick.stderr, /^jx: module quick exited in \d/m, quick.stderr);
});
