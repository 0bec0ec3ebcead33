/**
 * Module health after readiness, with a real HTTP server that starts
 * failing: after `failures` failed checks in a row the module is ended and
 * restarted per its `restart` policy (or left failed); `log:` keeps its
 * output in a file.
 */
import assert from "node:assert/strict";
import { readEvents, runJx, tempDir } from "../helpers.ts";

/** Answers 200, or 500 while a file `sick` exists; appends its pid to pids.txt. */
const SERVER = `
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500 if os.path.exists("sick") else 200)
        self.end_headers()
        self.wfile.write(b"ok\\n")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
with open("pids.txt", "a") as f:
    f.write(f"{os.getpid()}\\n")
print("listening", flush=True)
s.serve_forever()
`;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const jobs = (port: number, restart: string, wait: string) => `
modules:
  api:
    run: python3 server.py ${port}
    ready: { http: "http://127.0.0.1:${port}/" }
    health: { http: "http://127.0.0.1:${port}/", interval: 50ms, timeout: 2s, failures: 3 }
    restart: ${restart}
    max_restarts: 1
    log: logs/api.log
jobs:
  make-it-sick:
    needs: [api]
    timeout: 60s
    run: touch sick && ${wait}
`;

type Ev = Awaited<ReturnType<typeof readEvents>>[number] & Record<string, unknown>;
const states = (ev: Ev[]) =>
  ev.filter((e) => e.type === "module.state").map((e) =>
    [e.state, e.attempt, e.reason, e.restarting] as unknown[]
  );

Deno.test("health: failing checks restart a module (restart: on-failure); log: keeps its output", async () => {
  const port = freePort();
  // Waits for the restarted server (a second pid), then heals it.
  const wait = "until [ $(wc -l < pids.txt) -ge 2 ]; do sleep 0.05; done; rm sick";
  const dir = await tempDir({ "jobs.yaml": jobs(port, "on-failure", wait), "server.py": SERVER });
  const r = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const ev = (await readEvents(`${dir}/ev.ndjson`)) as Ev[];
  const s = states(ev);
  const failed = s.find((x) => x[0] === "failed")!;
  assert.ok(failed, JSON.stringify(s));
  assert.match(
    String(failed[2]),
    /^health: 3 checks failed in a row \(last: http http:\/\/127\.0\.0\.1:\d+\/: HTTP 500\)$/,
  );
  assert.equal(failed[3], true, "restarting");
  assert.ok(s.some((x) => x[0] === "starting" && x[1] === 2), JSON.stringify(s));
  const log = await Deno.readTextFile(`${dir}/logs/api.log`);
  assert.equal(log.match(/listening/g)?.length, 2, log);
});

Deno.test("health: with restart: no, an unhealthy module is failed and stays down", async () => {
  const port = freePort();
  // Waits until the server process is gone.
  const wait = "until ! kill -0 $(head -1 pids.txt) 2>/dev/null; do sleep 0.05; done";
  const dir = await tempDir({ "jobs.yaml": jobs(port, "no", wait), "server.py": SERVER });
  const r = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir });
  const ev = (await readEvents(`${dir}/ev.ndjson`)) as Ev[];
  const s = states(ev);
  const last = s[s.length - 1];
  assert.equal(last[0], "failed", JSON.stringify(s));
  assert.match(String(last[2]), /^health: 3 checks failed in a row/);
  assert.ok(!s.some((x) => x[1] === 2), "not started again");
  assert.equal((await Deno.readTextFile(`${dir}/pids.txt`)).trim().split("\n").length, 1);
  assert.equal(r.code, 1, "a module that failed fails the run");
});

Deno.test("health: bad settings are refused with a position", async () => {
  const dir = await tempDir({
    "jobs.yaml": "modules:\n  m:\n    run: x\n    health: { tcp: 1, cmd: 'true' }\n",
  });
  const r = await runJx(["run"], { cwd: dir });
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr.trim(),
    "jobs.yaml:4:13: modules.m.health: give exactly one of tcp, http, cmd",
  );
});
