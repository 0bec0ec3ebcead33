/**
 * `jx ui` in a real browser: Debian's chromium driven by puppeteer-core. The
 * page shows the jobs of a real jobs file; the events of real `runJobs` runs
 * (through the library's mod.ts) change the states on the page and show a
 * job's output; a control button's POST reaches the callback; requests
 * without the token, with a wrong Host or from another origin are refused;
 * `jx graph --format html` opens from a file with no request but itself.
 * Screenshots go to out/ui-test/ (gitignored).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { createReactor, loadJobsFile, type RunEvent, runJobs } from "../../mod.ts";
import { type ControlRequest, graphData, RunFeed, startUi } from "../../lib/ui/mod.ts";
import { jxCommand, killAndWait, ROOT, runJx, RUNTIMES, tempDir } from "../helpers.ts";

/**
 * A new page of `browser` at `url` (1400x900) once the page says it is ready;
 * its uncaught errors go to `errors` when given.
 */
async function openPage(browser: Browser, url: string, errors?: string[]): Promise<Page> {
  const page = await browser.newPage();
  if (errors) page.on("pageerror", (e) => errors.push(String(e)));
  await page.setViewport({ width: 1400, height: 900 });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]');
  return page;
}

/** The page's document, in functions puppeteer runs in the browser (no DOM types here). */
// deno-lint-ignore no-explicit-any
declare const document: any;
// deno-lint-ignore no-explicit-any
declare const getComputedStyle: any;
/** The page script's state (a global of the page). */
// deno-lint-ignore no-explicit-any
declare const S: any;

const CHROMIUM = "/usr/bin/chromium";
const HAVE_BROWSER = existsSync(CHROMIUM);
const NO_BROWSER = HAVE_BROWSER ? "" : " (IGNORED: no /usr/bin/chromium; .ci/run installs it)";
const SHOTS = `${ROOT}/out/ui-test`;
const enc = new TextEncoder();

const JOBS = `version: 1
jobs:
  gen:
    description: Generate the header
    run: echo '#define N 3' > gen.h
    writes: [gen.h]
  compile:
    description: Compile
    run: echo compiling; cat gen.h > app.o
    reads: [gen.h]
    writes: [app.o]
  slow:
    description: Waits for a file named go
    run: echo hello-from-slow; while [ ! -f go ]; do sleep 0.02; done
    needs: [compile]
  lint:
    run: "true"
    reads: [gen.h]
modules:
  api:
    description: A module
    run: cat
`;

async function withBrowser(fn: (b: Browser) => Promise<void>): Promise<void> {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
    headless: true,
  });
  try {
    await fn(browser);
  } finally {
    await browser.close();
  }
}

async function shot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${name}.png` as `${string}.png` });
}

/** Starts `jx ui` as a process; resolves with its URL once it printed the line. */
async function startJxUi(runtime: "deno" | "bun" | "binary", cwd: string, args: string[] = []) {
  const [cmd, argv] = jxCommand(runtime, ["ui", ...args]);
  const child = new Deno.Command(cmd, {
    args: argv,
    cwd,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const m = /^jx ui: (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([\w-]+))\n$/.exec(text);
  assert.ok(m, `the one line: ${JSON.stringify(text)}`);
  return { child, url: m[1], port: Number(m[2]), token: m[3] };
}

/** One raw HTTP/1.1 request (so that Host and Origin are exactly as given); the status line and headers. */
async function rawRequest(port: number, lines: string[], body = ""): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const head = [...lines, "Connection: close", `Content-Length: ${body.length}`, "", ""];
  await conn.write(new TextEncoder().encode(head.join("\r\n") + body));
  let text = "";
  const buf = new Uint8Array(65536);
  for (let n; (n = await conn.read(buf)) !== null;) {
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  return text.split("\r\n\r\n")[0];
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] jx ui: the one line, token, Host, Origin, no CORS, SIGINT exits 130`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOBS });
    const ui = await startJxUi(rt, dir);
    const { port, token } = ui;
    const status = async (lines: string[]) => (await rawRequest(port, lines)).split("\r\n")[0];
    const host = `Host: 127.0.0.1:${port}`;
    assert.match(await status(["GET / HTTP/1.1", host]), / 401 /);
    assert.match(await status(["GET /api/graph HTTP/1.1", host]), / 401 /);
    assert.match(await status(["GET /?token=wrong HTTP/1.1", host]), / 403 /);
    assert.match(await status([`GET /?token=${token} HTTP/1.1`, "Host: evil.example:80"]), / 403 /);
    assert.match(
      await status([`GET /?token=${token} HTTP/1.1`, `Host: rebind.example:${port}`]),
      / 403 /,
    );
    const page = await rawRequest(port, [`GET /?token=${token} HTTP/1.1`, host]);
    assert.match(page, /^HTTP\/1.1 200 /);
    assert.match(page, /content-security-policy: default-src 'none'/i);
    // Another origin gets no CORS headers, on a GET or a preflight.
    const cross = await rawRequest(port, [
      `GET /api/graph?token=${token} HTTP/1.1`,
      host,
      "Origin: http://evil.example",
    ]);
    assert.doesNotMatch(cross, /access-control/i);
    const pre = await rawRequest(port, [
      `OPTIONS /api/control?token=${token} HTTP/1.1`,
      host,
      "Origin: http://evil.example",
      "Access-Control-Request-Method: POST",
    ]);
    assert.match(pre.split("\r\n")[0], / 405 /);
    assert.doesNotMatch(pre, /access-control/i);
    // State changes only as POST with the token; from another origin never.
    const body = JSON.stringify({ action: "pause", module: "api" });
    const post = async (extra: string[]) =>
      (await rawRequest(
        port,
        ["POST /api/control HTTP/1.1", host, "Content-Type: application/json", ...extra],
        body,
      )).split("\r\n")[0];
    assert.match(await status([`GET /api/control?token=${token} HTTP/1.1`, host]), / 405 /);
    assert.match(await post([]), / 401 /);
    assert.match(await post([`X-Jx-Token: ${token}`, "Origin: http://evil.example"]), / 403 /);
    // jx ui alone has no run to control.
    assert.match(await post([`X-Jx-Token: ${token}`, `Origin: http://127.0.0.1:${port}`]), / 409 /);
    const graph = await (await fetch(`http://127.0.0.1:${port}/api/graph?token=${token}`)).json();
    assert.deepEqual(graph.jobs.map((j: { name: string }) => j.name), [
      "gen",
      "compile",
      "slow",
      "lint",
      "api",
    ]);
    ui.child.kill("SIGINT");
    const end = await ui.child.output();
    assert.equal(end.code, 130);
    assert.equal(new TextDecoder().decode(end.stderr), "");
  });
}

/** A jobs file in a temp dir and the ui server on it, in this process, with a recording callback. */
async function liveUi() {
  const dir = await tempDir({ "jobs.yaml": JOBS });
  const graph = loadJobsFile(`${dir}/jobs.yaml`);
  const controls: ControlRequest[] = [];
  const ui = await startUi({
    graph: graphData(graph),
    onControl: (r) => {
      controls.push(r);
      return { module: r.module, state: "paused" };
    },
  });
  return { dir, graph, ui, controls };
}

/** Waits until the page's function of the node's state holds (event-driven in the page; polled by puppeteer). */
function nodeState(page: Page, job: string, state: string) {
  return page.waitForFunction(
    (j: string, s: string) =>
      document.querySelector(`.node[data-name="${j}"]`)?.getAttribute("data-state") === s,
    { timeout: 20000 },
    job,
    state,
  );
}

Deno.test({
  name:
    `[browser] jx ui: the jobs, explain, a live run's states and output, controls, two runs${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const { dir, graph, ui, controls } = await liveUi();
      try {
        const page = await openPage(browser, ui.url);
        // Every job and module of the file is a node; edges carry their reasons.
        const names = await page.$$eval(
          ".node",
          (ns) => ns.map((n) => n.getAttribute("data-name")),
        );
        assert.deepEqual(names.sort(), ["api", "compile", "gen", "lint", "slow"]);
        const labels = await page.$$eval(".elabel", (ts) => ts.map((t) => t.textContent));
        assert.ok(labels.includes("writes gen.h -> reads gen.h"), labels.join(" | "));
        // Nothing ran yet: explain says why each job would run.
        assert.equal(
          await page.$eval('.node[data-name="gen"]', (n) => n.getAttribute("data-state")),
          "stale",
        );
        await page.click('.node[data-name="gen"]');
        const why = await page.$eval("#details", (d) => d.textContent ?? "");
        assert.match(why, /would run/);
        assert.match(why, /has not run successfully before/);
        // Search dims what does not match.
        await page.type("#search", "compil");
        const dim = await page.$$eval(
          ".node.dim",
          (ns) => ns.map((n) => n.getAttribute("data-name")),
        );
        assert.deepEqual(dim.sort(), ["api", "gen", "lint", "slow"]);
        await page.$eval("#search", (i) => ((i as unknown as { value: string }).value = ""));
        await page.type("#search", " ");
        await shot(page, "graph");

        // A real run through the library, its events into the page.
        const events: RunEvent[] = [];
        const run = runJobs(graph, graph.select(["slow", "lint"]), {
          reactor: createReactor("portable"),
          jobs: 2,
          reporters: [ui.reporter, { event: (e) => events.push(e) }],
          handleSignals: false,
        });
        await nodeState(page, "slow", "running");
        await page.click('.node[data-name="slow"]');
        await page.waitForFunction(() =>
          document.querySelector("#output")?.textContent?.includes("hello-from-slow")
        );
        assert.equal(
          await page.$eval('.node[data-name="gen"]', (n) => n.getAttribute("data-state")),
          "ok",
        );
        await shot(page, "running");
        await Deno.writeTextFile(`${dir}/go`, "");
        assert.equal((await run).exit, 0);
        await nodeState(page, "slow", "ok");
        // The timeline has a bar per job that ran; the critical path ends with slow.
        const bars = await page.$$eval(".bar", (bs) => bs.map((b) => b.getAttribute("data-job")));
        assert.deepEqual(bars.sort(), ["compile", "gen", "lint", "slow"]);
        const head = await page.$eval("#tlhead", (h) => h.textContent ?? "");
        assert.match(head, /critical path: gen → compile → slow/);

        // Controls: the pause button's POST reaches the callback.
        await page.click('.mod[data-module="api"] button[data-action="pause"]');
        await page.waitForFunction(() =>
          document.querySelector("#ctl-reply")?.textContent === "pause: done"
        );
        assert.deepEqual(controls, [{
          action: "pause",
          module: "api",
          topic: undefined,
          message: undefined,
        }]);

        // A second run (recorded events, one job restored from the cache): compared with the first.
        await Deno.remove(`${dir}/go`);
        const t = (e: RunEvent, dt: number) => ({ ...e, t: e.t + dt }) as RunEvent;
        for (const e of events) {
          if (e.type === "job.end" && e.job === "gen") {
            ui.reporter.event({ ...e, cache: "local", ms: 1 } as RunEvent);
          } else if (!(e.type === "job.start" && e.job === "gen")) ui.reporter.event(t(e, 0));
        }
        await page.waitForFunction(() => document.querySelectorAll("#runA option").length === 2);
        await page.waitForSelector(".bar.cached");
        const table = await page.$eval("#cmptable", (x) => x.textContent ?? "");
        assert.match(table, /run 1.*run 2/);
        assert.match(table, /slow/);
        await shot(page, "two-runs");
      } finally {
        await ui.close();
      }
    }),
});

Deno.test({
  name:
    `[browser] jx ui: an answer that is not JSON (jx's 413, a proxy's HTML 502) is shown as its status and text, not a SyntaxError${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const { ui, controls } = await liveUi();
      const errors: string[] = [];
      try {
        const page = await openPage(browser, ui.url, errors);
        const reply = async (want: RegExp) => {
          await page.waitForFunction(
            (w: string) => new RegExp(w).test(document.querySelector("#ctl-reply")?.textContent),
            { timeout: 20000 },
            want.source,
          ).catch(() => {});
          return await page.$eval("#ctl-reply", (d) => d.textContent ?? "");
        };
        // A message past the body limit: jx's own 413, a line of plain text.
        await page.type('#publish input[name="topic"]', "news");
        await page.$eval(
          '#publish input[name="message"]',
          (i) => (i as unknown as { value: string }).value = "x".repeat(70_000),
        );
        await page.click("#publish button");
        assert.equal(
          await reply(/^publish: HTTP 413/),
          "publish: HTTP 413 Payload Too Large: jx ui: request body too large (at most 65536 bytes)",
        );
        // A proxy in front answers with its HTML page: its status and words, no tags.
        await page.setRequestInterception(true);
        const proxy = (url: string) =>
          page.on("request", (r) => {
            if (!r.url().includes(url)) return void r.continue();
            void r.respond({
              status: 502,
              contentType: "text/html",
              body: "<html><head><title>502 Bad Gateway</title><style>h1{}</style></head>" +
                "<body><h1>502 Bad Gateway</h1>\n<hr><center>nginx</center>" +
                "<script>x()</script></body></html>",
            });
          });
        proxy("/api/control");
        await page.click('.mod[data-module="api"] button[data-action="pause"]');
        assert.equal(
          await reply(/^pause: HTTP 502/),
          "pause: HTTP 502 Bad Gateway: 502 Bad Gateway 502 Bad Gateway nginx",
        );
        assert.deepEqual(controls, [], "neither reached jx's callback");
        // The graph itself behind such a proxy: the page says so.
        const other = await browser.newPage();
        await other.setRequestInterception(true);
        other.on("pageerror", (e) => errors.push(String(e)));
        other.on("request", (r) => {
          if (!r.url().includes("/api/graph")) return void r.continue();
          void r.respond({ status: 503, contentType: "text/plain", body: "upstream gone\n" });
        });
        await other.goto(ui.url);
        await other.waitForSelector('body[data-error="1"]', { timeout: 20000 });
        assert.equal(
          await other.$eval("#conn", (c) => c.textContent ?? ""),
          "cannot load the graph: HTTP 503 Service Unavailable: upstream gone",
        );
        assert.deepEqual(errors, []);
      } finally {
        await ui.close();
      }
    }),
});

Deno.test({
  name:
    `[browser] jx ui: while output comes, a button or timeline bar pressed then released is clicked, the publish form keeps its typing${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const { ui, controls } = await liveUi();
      const feed = (e: RunEvent) => ui.reporter.event(e);
      // One output event, and the page has painted it (the node's state shows it).
      const output = async (n: number) => {
        feed({
          type: "job.output",
          t: n,
          job: "slow",
          stream: "stdout",
          chunk: enc.encode(`${n}\n`),
        });
        const status = n % 2 ? "ok" : "failed";
        feed({
          type: "job.end",
          t: n,
          job: "lint",
          status,
          exit: 0,
          signal: null,
          ms: n,
          attempt: 1,
        });
        await nodeState(page, "lint", n % 2 ? "ok" : "failed");
      };
      const page = await openPage(browser, ui.url);
      try {
        feed({ type: "run.start", t: 0, jobs: 2, slots: 2, jobserver: "none" });
        feed({ type: "job.start", t: 0, job: "slow", pid: 1, attempt: 1 });
        feed({ type: "job.start", t: 0, job: "lint", pid: 2, attempt: 1 });
        await nodeState(page, "slow", "running");
        // Typing in the publish form, events come: the typing stays, and so does the focus.
        await page.type('#publish input[name="topic"]', "news");
        await output(1);
        await page.keyboard.type("-2");
        await output(2);
        assert.equal(await page.$eval('#publish input[name="topic"]', (i) => i.value), "news-2");
        // The pause button, pressed, then output comes, then released: a click.
        const button = await page.$('.mod[data-module="api"] button[data-action="pause"]');
        const box = await button!.boundingBox();
        await page.mouse.move(box!.x + box!.width / 2, box!.y + box!.height / 2);
        await page.mouse.down();
        await output(3);
        await page.mouse.up();
        await page.waitForFunction(() =>
          document.querySelector("#ctl-reply")?.textContent === "pause: done"
        );
        assert.deepEqual(controls.map((c) => [c.action, c.module]), [["pause", "api"]]);
        // A timeline bar, pressed, then output comes, then released: its job is selected.
        const bar = await (await page.$('rect.bar[data-job="slow"]'))!.boundingBox();
        await page.mouse.move(bar!.x + 2, bar!.y + bar!.height / 2);
        await page.mouse.down();
        await output(4);
        await page.mouse.up();
        await page.waitForFunction(() =>
          document.querySelector("#details h2")?.textContent === "job slow"
        );
      } finally {
        await ui.close();
      }
    }),
});

Deno.test({
  name:
    `[browser] jx ui: the selected job's output, scrolled up, stays as events and its output come; a text selected in its details stays${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const { ui } = await liveUi();
      const feed = (e: RunEvent) => ui.reporter.event(e);
      const lines = (from: number, to: number) => {
        let text = "";
        for (let i = from; i <= to; i++) text += `line ${i}\n`;
        feed({ type: "job.output", t: to, job: "slow", stream: "stdout", chunk: enc.encode(text) });
      };
      const shown = (text: string) =>
        page.waitForFunction(
          (t: string) => document.querySelector("#output")?.textContent?.includes(t),
          {},
          text,
        );
      const scroll = () =>
        page.$eval("#output", (o) => ({
          top: o.scrollTop,
          bottom: o.scrollTop + o.clientHeight >= o.scrollHeight - 4,
        }));
      const page = await openPage(browser, ui.url);
      try {
        feed({ type: "run.start", t: 0, jobs: 2, slots: 2, jobserver: "none" });
        feed({ type: "job.start", t: 0, job: "slow", pid: 1, attempt: 1 });
        lines(1, 200);
        await nodeState(page, "slow", "running");
        await page.click('.node[data-name="slow"]');
        await shown("line 200");
        assert.equal((await scroll()).bottom, true);
        // The reader scrolls up, and selects the command's text.
        await page.$eval("#output", (o) => o.scrollTop = 0);
        await page.$eval("#details pre", (p) => document.getSelection().selectAllChildren(p));
        // Another job's events: the details stay as they are.
        const end = { exit: 0, signal: null, ms: 5, attempt: 1 } as const;
        feed({ type: "job.end", t: 5, job: "lint", status: "ok", ...end });
        await nodeState(page, "lint", "ok");
        assert.deepEqual(await scroll(), { top: 0, bottom: false });
        assert.match(
          await page.evaluate(() => document.getSelection().toString()),
          /hello-from-slow/,
        );
        // Its own output grows: still where the reader left it.
        lines(201, 201);
        await shown("line 201");
        assert.deepEqual(await scroll(), { top: 0, bottom: false });
        // Back at the end, it follows the output again.
        await page.$eval("#output", (o) => o.scrollTop = 1e9);
        lines(202, 202);
        await shown("line 202");
        assert.equal((await scroll()).bottom, true);
      } finally {
        await ui.close();
      }
    }),
});

Deno.test({
  name:
    `[browser] jx ui: the page keeps at most 64 M characters of output in all, not 256 K per job however many jobs${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const { ui } = await liveUi();
      const page = await openPage(browser, ui.url);
      try {
        ui.reporter.event({ type: "run.start", t: 0, jobs: 300, slots: 1, jobserver: "none" });
        const chunk = enc.encode("x".repeat(64 * 1024 - 1) + "\n");
        for (let j = 0; j < 300; j++) {
          for (let i = 0; i < 4; i++) {
            ui.reporter.event({ type: "job.output", t: j, job: `j${j}`, stream: "stdout", chunk });
          }
          // The page takes it as it comes (the server's stream would drop a page that falls behind).
          if (j % 10 === 9) {
            await page.waitForFunction(
              (n: string) =>
                document.querySelector("#counts") && S.runs[0]?.jobs.get(n)?.outN === 4,
              { timeout: 60000 },
              `j${j}`,
            );
          }
        }
        const kept = await page.evaluate(() => {
          const r = S.runs[0];
          let all = 0;
          for (const s of r.jobs.values()) all += s.out.join("").length;
          return {
            all,
            first: r.jobs.get("j0").out.join(""),
            last: r.jobs.get("j299").out.join("").length,
          };
        });
        assert.ok(kept.all <= 64 * 1024 * 1024, `${kept.all} characters kept`);
        assert.deepEqual([kept.first, kept.last], ["", 256 * 1024]);
      } finally {
        await ui.close();
      }
    }),
});

Deno.test({
  name:
    `[browser] jx graph --format html: opens from a file with no request but itself${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const dir = await tempDir({ "jobs.yaml": JOBS });
      const [cmd, args] = jxCommand("deno", ["graph", "--format", "html"]);
      const out = await new Deno.Command(cmd, { args, cwd: dir, stdin: "null" }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      await Deno.writeFile(`${dir}/graph.html`, out.stdout);
      const page = await browser.newPage();
      const requests: string[] = [];
      await page.setRequestInterception(true);
      page.on("request", (r) => {
        requests.push(r.url());
        r.url().startsWith("file://") ? r.continue() : r.abort();
      });
      await page.goto(`file://${dir}/graph.html`);
      await page.waitForSelector('body[data-ready="1"]');
      // The same jobs and modules as `jx graph --format json`: every one of the file.
      const names = await page.$$eval(".node", (ns) => ns.map((n) => n.getAttribute("data-name")));
      assert.deepEqual(names.sort(), ["api", "compile", "gen", "lint", "slow"]);
      const edges = await page.$$eval(".edge title", (ts) => ts.map((t) => t.textContent));
      assert.ok(edges.includes("gen → compile: writes gen.h -> reads gen.h"), edges.join(" | "));
      assert.deepEqual(requests, [`file://${dir}/graph.html`]);
      assert.equal(await page.$eval("#conn", (c) => c.textContent), "static page (no server)");
      await shot(page, "static");
    }),
});

Deno.test("[deno] jx ui: bad arguments and a bad jobs file are one line and exit 2; SIGTERM exits 143", async () => {
  const dir = await tempDir({
    "jobs.yaml": JOBS,
    "bad.yaml": "version: 1\njobs:\n  a: { rnu: x }\n",
  });
  for (
    const [args, line] of [
      [["ui", "--port", "http"], /^jx: --port: expected a port \(0-65535\), got 'http'\n$/],
      [["ui", "--bogus"], /^jx: ui: unknown option '--bogus' \(see jx ui --help\)\n$/],
      [["ui", "--format=dot"], /^jx: ui: unknown option '--format' \(see jx ui --help\)\n$/],
      [["ui", "graph"], /^jx: ui: unexpected argument 'graph' \(see jx ui --help\)\n$/],
      [["ui", "--port"], /^jx: ui: --port needs a value \(see jx ui --help\)\n$/],
      [["ui", "-f", "bad.yaml"], /^bad\.yaml:3:8: jobs\.a: unknown key 'rnu'/],
      [["ui", "-f", "missing.yaml"], /^missing\.yaml: no such file\n$/],
    ] as const
  ) {
    const r = await runJx([...args], { cwd: dir });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, line);
    assert.equal(r.stderr.split("\n").length, 2, r.stderr);
  }
  const ui = await startJxUi("deno", dir, ["--port", "0"]);
  ui.child.kill("SIGTERM");
  assert.equal((await ui.child.output()).code, 143);
});

Deno.test({
  name: `[browser] jx ui: 300 jobs in layers, no two nodes overlapping${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      // 30 stages of 10 jobs, each reading what the stage before wrote.
      const jobs: Record<string, unknown> = {};
      for (let s = 0; s < 30; s++) {
        for (let k = 0; k < 10; k++) {
          jobs[`s${s}-${k}`] = {
            run: "true",
            reads: s ? [`out/${s - 1}-${(k + 1) % 10}`, `out/${s - 1}-${k}`] : [],
            writes: [`out/${s}-${k}`],
          };
        }
      }
      const dir = await tempDir({ "jobs.yaml": JSON.stringify({ version: 1, jobs }) });
      const graph = loadJobsFile(`${dir}/jobs.yaml`);
      const ui = await startUi({ graph: graphData(graph) });
      try {
        const page = await openPage(browser, ui.url);
        const boxes = await page.$$eval(".node", (ns) =>
          ns.map((n) => {
            const m = /translate\(([-\d.]+),([-\d.]+)\)/.exec(n.getAttribute("transform") ?? "")!;
            return { name: n.getAttribute("data-name")!, x: Number(m[1]), y: Number(m[2]) };
          }));
        assert.equal(boxes.length, 300);
        const at = new Set(boxes.map((b) => `${b.x},${b.y}`));
        assert.equal(at.size, 300, "no two nodes at the same place");
        // A stage is one layer (one x); layers follow the dependency depth.
        for (const b of boxes) {
          const stage = Number(/^s(\d+)-/.exec(b.name)![1]);
          assert.equal(b.x, boxes.find((o) => o.name === `s${stage}-0`)!.x);
          if (stage) assert.ok(b.x > boxes.find((o) => o.name === `s${stage - 1}-0`)!.x);
        }
        assert.equal(await page.$$eval(".edge", (es) => es.length), graph.edges.length);
        await page.type("#search", "s29-");
        await page.keyboard.press("Enter");
        assert.match(await page.$eval("#details", (d) => d.textContent ?? ""), /job s29-0/);
        await shot(page, "300-jobs");
      } finally {
        await ui.close();
      }
    }),
});

Deno.test("RunFeed: output that ends inside a character ends with U+FFFD, live and replayed, not dropped", () => {
  const feed = new RunFeed();
  const live: string[] = [];
  feed.subscribe((json) => live.push(json));
  const out = (job: string, bytes: number[]): RunEvent => ({
    type: "job.output",
    t: 2,
    job,
    stream: "stdout",
    chunk: new Uint8Array(bytes),
  });
  const end = (job: string): RunEvent => ({
    type: "job.end",
    t: 3,
    job,
    status: "ok",
    exit: 0,
    signal: null,
    ms: 1,
    attempt: 1,
  });
  feed.event({ type: "run.start", t: 0, jobs: 2, slots: 1, jobserver: "none" });
  feed.event(out("a", [0x6f, 0x6b, 0xe2, 0x82])); // "ok", then the start of "€"
  feed.event(end("a"));
  feed.event(out("b", [0x6f, 0x6b, 0xe2])); // b's bytes are its own: not joined to a's
  feed.event(out("b", [0x82, 0xac]));
  feed.event(end("b"));
  const text = (lines: readonly string[], job: string) =>
    lines.map((l) => JSON.parse(l)).filter((e) => e.type === "job.output" && e.job === job)
      .map((e) => e.text).join("");
  for (const [what, lines] of [["live", live], ["replayed", [...feed.replay()]]] as const) {
    assert.equal(text(lines, "a"), "ok\ufffd", what);
    assert.equal(text(lines, "b"), "ok\u20ac", what);
    const types = lines.map((l) => JSON.parse(l).type);
    assert.equal(types.lastIndexOf("job.output") < types.lastIndexOf("job.end"), true, what);
  }
});

Deno.test("RunFeed: a watch cycle opens at its change; modules' states outlive dropped runs", () => {
  const feed = new RunFeed(2);
  const start = (t: number): RunEvent => ({
    type: "run.start",
    t,
    jobs: 1,
    slots: 1,
    jobserver: "none",
  });
  const mod = (t: number, state: "running" | "paused"): RunEvent => ({
    type: "module.state",
    t,
    module: "api",
    state,
  });
  const change = (t: number): RunEvent => ({
    type: "watch.change",
    t,
    paths: ["a.c"],
    jobs: ["cc"],
  });
  feed.event(mod(0, "running")); // before any run (a watch session's module)
  feed.event(start(1));
  feed.event(mod(2, "paused"));
  feed.event(change(3)); // cycle 2 opens here; its run.start joins it
  feed.event(start(4));
  feed.event(change(5));
  feed.event(start(6)); // cycle 3: the first run is dropped (2 kept)
  const types = feed.history().map((j) => {
    const e = JSON.parse(j);
    return e.type === "module.state" ? `${e.state}@${e.t}` : `${e.type}@${e.t}`;
  });
  // Each run's first event carries its number, counted from the first run (dropped or not).
  assert.deepEqual(feed.history().map((j) => JSON.parse(j).run), [
    undefined,
    2,
    undefined,
    3,
    undefined,
  ]);
  // The dropped run's last module state comes first; then the two cycles, each change first.
  assert.deepEqual(types, [
    "paused@2",
    "watch.change@3",
    "run.start@4",
    "watch.change@5",
    "run.start@6",
  ]);
});

/** Starts `jx run|watch --ui ...` as a process; resolves with the page's URL once stderr has the line. */
async function startLive(dir: string, args: string[], runtime: "deno" | "bun" = "deno") {
  const [cmd, argv] = jxCommand(runtime, args);
  const child = new Deno.Command(cmd, {
    args: argv,
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const reader = child.stderr.getReader();
  let text = "";
  let m: RegExpExecArray | null = null;
  while (!(m = /^jx ui: (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([\w-]+))$/m.exec(text))) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`jx ended without the ui line: ${text}`);
    text += new TextDecoder().decode(value);
  }
  // The rest of stderr, kept for the end.
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += new TextDecoder().decode(value);
    }
  })();
  const stop = async (signal: Deno.Signal) => {
    child.kill(signal);
    const { code } = await child.status;
    return { code, stderr: await rest };
  };
  /** Resolves once stderr matches `re` (false after `ms`). */
  const seen = async (re: RegExp, ms: number) => {
    for (let waited = 0; !re.test(text); waited += 50) {
      if (waited >= ms) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
    return true;
  };
  return { child, url: m[1], port: Number(m[2]), token: m[3], stop, seen };
}

/** Reads the server-sent events at `url` until one has `text`. */
async function sseUntil(url: string, text: string): Promise<void> {
  const res = await fetch(url);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended without ${text}: ${seen}`);
    seen += value;
  }
  await reader.cancel();
}

/** `jx ctl status --json` in `dir`: each module's state. */
async function ctlModules(dir: string): Promise<Record<string, string>> {
  const r = await runJx(["ctl", "status", "--json"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const mods: { name: string; state: string }[] = JSON.parse(r.stdout).modules;
  return Object.fromEntries(mods.map((m) => [m.name, m.state]));
}

const LIVE_JOBS = `version: 1
jobs:
  gen:
    description: Generate the header
    run: echo '#define N 3' > gen.h
    writes: [gen.h]
  slow:
    description: Waits for a file named go
    run: echo hello-from-slow; while [ ! -f go ]; do sleep 0.02; done
    reads: [gen.h]
modules:
  api:
    description: A module that counts
    run: while :; do date +%s%N > tick; sleep 0.05; done
`;

Deno.test({
  name:
    `[browser] jx run --ui: a publish from the page says what became of the message, as jx ctl publish does (not 'done' for a module that closed its stdin)${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const dir = await tempDir({
        "jobs.yaml": `
modules:
  closer: { run: "exec 0<&-; touch closed; exec sleep 300", subscribe: [note], ready: { cmd: test -e closed } }
  reader: { run: 'while read t m; do echo "$m" >> got; done', subscribe: [note] }
`,
      });
      const jx = await startLive(dir, ["run", "--ui", "closer", "reader"]);
      try {
        const page = await openPage(browser, jx.url);
        await nodeState(page, "closer", "running");
        await nodeState(page, "reader", "running");
        await page.type('#publish input[name="topic"]', "note");
        await page.type('#publish input[name="message"]', "hello");
        await page.click("#publish button");
        await page.waitForFunction(() =>
          /^publish: /.test(document.querySelector("#ctl-reply")?.textContent ?? "")
        );
        assert.equal(
          await page.$eval("#ctl-reply", (d) => d.textContent ?? ""),
          "publish: delivered to reader; not delivered to closer (its stdin is closed; the message is discarded)",
        );
        await page.$eval('#publish input[name="topic"]', (i) =>
          (i as unknown as { value: string }).value = "none");
        await page.click("#publish button");
        await page.waitForFunction(() =>
          document.querySelector("#ctl-reply")?.textContent === "publish: no module subscribes"
        );
      } finally {
        const { code, stderr } = await jx.stop("SIGINT");
        assert.equal(code, 130, stderr);
      }
    }),
});

Deno.test({
  name:
    `[browser] jx run --ui: live states and output, last durations, pause through the page (jx ctl status), token${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const dir = await tempDir({ "jobs.yaml": LIVE_JOBS });
      // A first run leaves gen's duration in .jx/durations.json.
      const first = await runJx(["run", "gen"], { cwd: dir });
      assert.equal(first.code, 0, first.stderr);
      const known: Record<string, number> = JSON.parse(
        await Deno.readTextFile(`${dir}/.jx/durations.json`),
      );
      assert.equal(typeof known.gen, "number");
      // api is named: a foreground module holds the run (and the page) until Ctrl-C.
      const jx = await startLive(dir, ["run", "--ui", "--force", "api", "slow"]);
      try {
        // Without the token: refused.
        const bare = await fetch(`http://127.0.0.1:${jx.port}/`);
        assert.equal(bare.status, 401);
        await bare.body?.cancel();
        const graph = await (await fetch(`${jx.url.replace("/?", "/api/graph?")}`)).json();
        assert.equal(graph.mode, "run");
        assert.equal(graph.jobs.find((j: { name: string }) => j.name === "gen").lastMs, known.gen);

        const page = await openPage(browser, jx.url);
        // The job's state changes live and its output appears while it runs.
        await nodeState(page, "slow", "running");
        await page.click('.node[data-name="slow"]');
        await page.waitForFunction(() =>
          document.querySelector("#output")?.textContent?.includes("hello-from-slow")
        );
        await page.click('.node[data-name="gen"]');
        assert.equal(
          await page.$eval("#last-ms", (d) => d.textContent),
          `last duration: ${known.gen} ms`,
        );
        await nodeState(page, "gen", "ok");
        await shot(page, "run-ui-running");
        await Deno.writeTextFile(`${dir}/go`, "");
        await nodeState(page, "slow", "ok");
        // The jobs are done; the named module holds the run.
        await page.waitForFunction(() =>
          /^run 1: jobs done in .*, modules up/.test(document.querySelector("#tlhead")?.textContent)
        );

        // The module's pause button pauses the real module: jx ctl status says so.
        await nodeState(page, "api", "running");
        await page.click('.mod[data-module="api"] button[data-action="pause"]');
        await page.waitForFunction(() =>
          document.querySelector("#ctl-reply")?.textContent === "pause: done"
        );
        assert.equal((await ctlModules(dir)).api, "paused");
        await nodeState(page, "api", "paused");
        await shot(page, "run-ui-paused");
        // A refusal is shown as the supervisor gives it.
        await page.click('.mod[data-module="api"] button[data-action="pause"]');
        await page.waitForFunction(() =>
          /^pause: cannot pause/.test(document.querySelector("#ctl-reply")?.textContent ?? "")
        );
        await page.click('.mod[data-module="api"] button[data-action="resume"]');
        await page.waitForFunction(() =>
          document.querySelector("#ctl-reply")?.textContent === "resume: done"
        );
        assert.equal((await ctlModules(dir)).api, "running");

        // Ctrl-C ends the run; the page is told and keeps what it showed.
        const end = await jx.stop("SIGINT");
        assert.equal(end.code, 130, end.stderr);
        await page.waitForSelector('body[data-ended="1"]');
        assert.match(
          await page.$eval("#tlhead", (h) => h.textContent ?? ""),
          /^run 1: interrupted/,
        );
        assert.equal(
          await page.$eval('.node[data-name="slow"]', (n) => n.getAttribute("data-state")),
          "ok",
        );
        await shot(page, "run-ui-ended");
      } finally {
        await killAndWait(jx.child);
      }
    }),
});

Deno.test({
  name:
    `[browser] jx watch --ui: each cycle on the page, with the change that started it${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const dir = await tempDir({
        "jobs.yaml": `version: 1
jobs:
  copy:
    run: cat src.txt > out.txt; cat src.txt
    reads: [src.txt]
    writes: [out.txt]
`,
        "src.txt": "one\n",
      });
      const jx = await startLive(dir, ["watch", "--ui"]);
      try {
        const page = await openPage(browser, jx.url);
        const head = (re: string) =>
          page.waitForFunction(
            (r: string) => new RegExp(r).test(document.querySelector("#tlhead")?.textContent ?? ""),
            { timeout: 20000 },
            re,
          );
        await head("^cycle 1: ok");
        await Deno.writeTextFile(`${dir}/src.txt`, "two\n");
        await head("^cycle 2: ok.*changed: src\\.txt");
        await page.click('.node[data-name="copy"]');
        await page.waitForFunction(() =>
          document.querySelector("#output")?.textContent === "two\n"
        );
        await page.waitForFunction(() => document.querySelectorAll("#runA option").length === 2);
        await shot(page, "watch-ui");
        const end = await jx.stop("SIGINT");
        assert.equal(end.code, 130, end.stderr);
        await page.waitForSelector('body[data-ended="1"]');
      } finally {
        await killAndWait(jx.child);
      }
    }),
});

Deno.test({
  name:
    `[browser] jx watch --ui: an edit of the jobs file that loads shows the new graph${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const jobs = "jobs:\n  copy: { run: cat src.txt, reads: [src.txt] }\n";
      const dir = await tempDir({ "jobs.yaml": jobs, "src.txt": "one\n" });
      const jx = await startLive(dir, ["watch", "--ui"]);
      try {
        const page = await openPage(browser, jx.url);
        await page.waitForSelector('.node[data-name="copy"]');
        await Deno.writeTextFile(`${dir}/jobs.yaml`, jobs.replaceAll("copy", "shown"));
        await page.waitForSelector('.node[data-name="shown"]', { timeout: 20000 });
        assert.equal(await page.$('.node[data-name="copy"]'), null);
        const api = await fetch(`http://127.0.0.1:${jx.port}/api/graph?token=${jx.token}`);
        assert.deepEqual((await api.json()).jobs.map((j: { name: string }) => j.name), ["shown"]);
        // The page shows the new graph as the cycle starts: its end is awaited before Ctrl-C
        // (on a busy host the job was still running, and was interrupted).
        await jx.seen(/jobs\.yaml reloaded -> ran shown: /, 20000);
        const end = await jx.stop("SIGINT");
        assert.equal(end.code, 130, end.stderr);
        assert.match(end.stderr, /jobs\.yaml reloaded -> ran shown: ok/);
      } finally {
        await killAndWait(jx.child);
      }
    }),
});

Deno.test({
  name:
    `[browser] jx ui: events of a job the graph does not have: its bar shows its details and output, no error${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const { ui } = await liveUi();
      try {
        const errors: string[] = [];
        const page = await openPage(browser, ui.url, errors);
        const chunk = new TextEncoder().encode("from-ghost\n");
        for (
          const e of [
            { type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" },
            { type: "job.start", t: 1, job: "ghost", pid: 1, attempt: 1 },
            { type: "job.output", t: 2, job: "ghost", stream: "stdout", chunk },
            { type: "job.end", t: 3, job: "ghost", status: "ok", code: 0, ms: 2, attempt: 1 },
          ]
        ) ui.reporter.event(e as RunEvent);
        await page.waitForSelector('rect.bar[data-job="ghost"]');
        await page.$eval('rect.bar[data-job="ghost"]', (b) =>
          b.dispatchEvent(new Event("click", { bubbles: true })));
        await page.waitForFunction(() =>
          document.querySelector("#output")?.textContent?.includes("from-ghost")
        );
        const details = await page.$eval("#details", (d) =>
          d.textContent ?? "");
        assert.match(details, /^job ghost/);
        // A long output: the page keeps its end (256 K characters), after the marker.
        const line = new TextEncoder().encode("b".repeat(99) + "\n");
        for (let i = 0; i < 3000; i++) {
          ui.reporter.event({
            type: "job.output",
            t: 3,
            job: "ghost",
            stream: "stdout",
            chunk: line,
          });
        }
        const end = new TextEncoder().encode("GHOST-END\n");
        ui.reporter.event({ type: "job.output", t: 3, job: "ghost", stream: "stderr", chunk: end });
        await page.waitForFunction(() =>
          document.querySelector("#output")?.textContent?.endsWith("GHOST-END\n")
        );
        const shown = await page.$eval("#output", (o) => o.textContent ?? "");
        assert.ok(shown.startsWith("[jx ui: earlier output cut]\n"), shown.slice(0, 40));
        assert.ok(!shown.includes("from-ghost"));
        assert.ok(shown.length <= 256 * 1024 + 40, String(shown.length));
        // Later repaints work: another job can be selected.
        await page.click('.node[data-name="gen"]');
        assert.match(await page.$eval("#details", (d) => d.textContent ?? ""), /^job gen/);
        assert.deepEqual(errors, []);
      } finally {
        await ui.close();
      }
    }),
});

Deno.test({
  name:
    `[browser] jx run --ui: jobs made during the run join the graph; their bars, details and output work${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const dir = await tempDir({
        "jobs.yaml": `version: 1
jobs:
  plan:
    emits: jobs
    run: 'echo "{\\"name\\": \\"shard-1\\", \\"run\\": \\"echo from-shard\\"}"; echo "{\\"name\\": \\"shard-2\\", \\"run\\": \\"true\\", \\"needs\\": [\\"shard-1\\", \\"tools\\"]}"'
  merge: { run: echo merged, needs: [plan] }
  tools: { run: echo tools }
modules:
  keep: { run: sleep 300 }
`,
      });
      const jx = await startLive(dir, ["run", "--ui", "merge", "keep"]);
      try {
        const errors: string[] = [];
        const page = await openPage(browser, jx.url, errors);
        await nodeState(page, "merge", "ok");
        // The made jobs are nodes, after the job that made them and before what needs it.
        await nodeState(page, "shard-1", "ok");
        const edges = await page.$$eval(".edge title", (ts) => ts.map((t) => t.textContent));
        assert.ok(edges.includes("plan → shard-1: made by plan"), edges.join(" | "));
        assert.ok(edges.includes("shard-2 → merge: needs plan, which made it"), edges.join(" | "));
        // Its timeline bar selects it: details and output, no error; the page goes on working.
        await page.$eval('rect.bar[data-job="shard-1"]', (b) =>
          b.dispatchEvent(new Event("click", { bubbles: true })));
        await page.waitForFunction(() =>
          document.querySelector("#output")?.textContent?.includes("from-shard")
        );
        const details = await page.$eval("#details", (d) =>
          d.textContent ?? "");
        assert.match(details, /^job shard-1/);
        assert.match(details, /made during the run by plan/);
        // A job of the file not selected, that shard-2 needs: it joined, and says why.
        await nodeState(page, "tools", "ok");
        await page.click('.node[data-name="tools"]');
        assert.match(
          await page.$eval("#details", (d) => d.textContent ?? ""),
          /^job tools.*not selected: joined the run for shard-2/,
        );
        await page.click('.node[data-name="merge"]');
        assert.match(await page.$eval("#details", (d) => d.textContent ?? ""), /^job merge/);
        await shot(page, "run-ui-made-jobs");
        assert.deepEqual(errors, []);
        assert.equal((await jx.stop("SIGINT")).code, 130);
      } finally {
        await killAndWait(jx.child);
      }
    }),
});

Deno.test({
  name:
    `[browser] jx run --ui: a job waiting for its retry is shown retrying, not running; the run then ends ok${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const dir = await tempDir({
        "jobs.yaml": "jobs:\n" +
          "  flaky:\n" +
          "    run: if [ -e tried ]; then exit 0; fi; touch tried; exit 3\n" +
          "    retries: { count: 1, delay: 6s }\n",
      });
      const jx = await startLive(dir, ["run", "--ui", "flaky"]);
      try {
        const page = await openPage(browser, jx.url);
        // It showed "running…" for the whole delay.
        await nodeState(page, "flaky", "retrying");
        assert.equal(
          await page.$eval('.node[data-name="flaky"] .sub', (n) => n.textContent),
          "failed, retrying in 6.00 s (attempt 2)",
        );
        assert.equal(await page.$$eval("#timeline .bar.retrying", (b) => b.length), 1);
        const { code } = await jx.child.status;
        assert.equal(code, 0);
      } finally {
        await killAndWait(jx.child);
      }
    }),
});

Deno.test("[deno] jx run --ui: the line on stderr, exit at the end; a port in use is one line, exit 2, nothing run", async () => {
  const dir = await tempDir({
    "jobs.yaml":
      "version: 1\njobs:\n  hi: { run: echo hi > hi.txt; echo done, writes: [hi.txt] }\n",
  });
  const r = await runJx(["run", "--ui"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^jx ui: http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+\n/);
  assert.match(r.stdout, /done/);
  await Deno.remove(`${dir}/hi.txt`);
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    // The same words on both runtimes (each has its own message for it).
    for (const runtime of ["deno", "bun"] as const) {
      const busy = await runJx(["run", "--ui-port", String(port)], { cwd: dir, runtime });
      assert.equal(busy.code, 2, busy.stderr);
      assert.equal(busy.stderr, `jx: --ui-port ${port}: cannot listen: the port is in use\n`);
      assert.equal(busy.stdout, "");
      assert.equal(existsSync(`${dir}/hi.txt`), false, "nothing ran");
    }
  } finally {
    taken.close();
  }
});

Deno.test("[bun] jx run --ui on Bun: a control POST pauses the real module (jx ctl status); a refusal is 409", async () => {
  const dir = await tempDir({ "jobs.yaml": LIVE_JOBS });
  const jx = await startLive(dir, ["run", "--ui", "api"], "bun");
  try {
    const post = async (body: unknown) => {
      const res = await fetch(`http://127.0.0.1:${jx.port}/api/control`, {
        method: "POST",
        headers: { "x-jx-token": jx.token, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    // The module comes up (seen on the page's event stream); then the page's request pauses
    // it, as jx ctl pause would.
    await sseUntil(jx.url.replace("/?", "/api/events?"), '"state":"running"');
    assert.equal((await post({ action: "pause", module: "api" })).status, 200);
    assert.equal((await ctlModules(dir)).api, "paused");
    const again = await post({ action: "pause", module: "api" });
    assert.equal(again.status, 409);
    assert.match(again.body.error, /^cannot pause/);
    const bad = await post({ action: "publish", topic: "no spaces allowed", message: "x" });
    assert.equal(bad.status, 409);
    assert.match(bad.body.error, /^bad topic/);
    assert.equal((await post({ action: "resume", module: "api" })).status, 200);
    assert.equal((await ctlModules(dir)).api, "running");
    const end = await jx.stop("SIGINT");
    assert.equal(end.code, 130, end.stderr);
  } finally {
    await killAndWait(jx.child);
  }
});

Deno.test({
  name:
    `[browser] jx ui: a page that falls too far behind is disconnected, reconnects and shows the kept runs once${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const dir = await tempDir({ "jobs.yaml": JOBS });
      const graph = graphData(loadJobsFile(`${dir}/jobs.yaml`));
      const ui = await startUi({ graph, streamLimit: 256 * 1024 });
      try {
        const page = await browser.newPage();
        let streams = 0;
        page.on("request", (r) => void (r.url().includes("/api/events") && streams++));
        await page.goto(ui.url);
        await page.waitForSelector('body[data-ready="1"]');
        const ev = (e: unknown) => ui.reporter.event(e as RunEvent);
        const out = (text: string) =>
          ev({ type: "job.output", t: 2, job: "gen", stream: "stdout", chunk: enc.encode(text) });
        ev({ type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" });
        ev({ type: "job.start", t: 1, job: "gen", pid: 1, attempt: 1 });
        await nodeState(page, "gen", "running");
        // 2 MiB at once, more than the stream may queue: the page is disconnected.
        for (let i = 0; i < 2048; i++) out("y".repeat(1023) + "\n");
        out("GEN-END\n");
        ev({ type: "job.end", t: 3, job: "gen", status: "ok", exit: 0, signal: null, ms: 2 });
        ev({ type: "run.end", t: 4, status: "ok", exit: 0, ms: 4 });
        // It reconnects and is sent the kept run again: shown once, whole, with the output's end.
        await nodeState(page, "gen", "ok");
        await page.click('.node[data-name="gen"]');
        await page.waitForFunction(
          () => document.querySelector("#output")?.textContent?.endsWith("GEN-END\n"),
          { timeout: 20000 },
        );
        assert.ok(streams >= 2, `event streams opened: ${streams}`);
        assert.equal(await page.$$eval("#runA option", (os) => os.length), 1);
        assert.match(await page.$eval("#tlhead", (h) => h.textContent ?? ""), /^run 1: ok/);
      } finally {
        await ui.close();
      }
    }),
});

/** The events of one watch cycle that runs `jobs` (each prints its name), at times from `t`. */
function cycle(t: number, jobs: string[], change?: string): RunEvent[] {
  const events: RunEvent[] = [];
  if (change) events.push({ type: "watch.change", t, paths: [change], jobs });
  events.push({ type: "run.start", t, jobs: jobs.length, slots: 1, jobserver: "none" });
  for (const job of jobs) {
    const chunk = enc.encode(`from-${job}\n`);
    events.push(
      { type: "job.start", t: t + 1, job, pid: 1, attempt: 1 },
      { type: "job.output", t: t + 1, job, stream: "stdout", chunk },
      { type: "job.end", t: t + 2, job, status: "ok", exit: 0, signal: null, ms: 1, attempt: 1 },
    );
  }
  events.push({ type: "run.end", t: t + 3, status: "ok", exit: 0, ms: 3 });
  return events;
}

const AB_JOBS = `version: 1
jobs:
  a: { run: cat a.txt, reads: [a.txt] }
  b: { run: cat b.txt, reads: [b.txt] }
`;

Deno.test({
  name:
    `[browser] jx watch --ui: a job the last cycle did not run keeps its result, output and cycle${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const dir = await tempDir({ "jobs.yaml": AB_JOBS, "a.txt": "", "b.txt": "" });
      const graph = graphData(loadJobsFile(`${dir}/jobs.yaml`));
      const ui = await startUi({ graph, mode: "watch" });
      try {
        const page = await browser.newPage();
        await page.goto(ui.url);
        await page.waitForSelector('body[data-ready="1"]');
        // Cycle 1 runs both; an edit of a.txt starts cycle 2, which runs a only.
        for (const e of [...cycle(0, ["a", "b"]), ...cycle(10, ["a"], "a.txt")]) {
          ui.reporter.event(e);
        }
        await page.waitForFunction(() =>
          /^cycle 2: ok/.test(document.querySelector("#tlhead")?.textContent ?? "")
        );
        await nodeState(page, "b", "ok");
        const sub = (job: string) =>
          page.$eval(`.node[data-name="${job}"] .sub`, (t) => t.textContent ?? "");
        assert.equal(await sub("b"), "ok 1 ms (cycle 1)");
        assert.equal(await sub("a"), "ok 1 ms");
        await page.click('.node[data-name="b"]');
        assert.equal(await page.$eval("#last-result", (x) => x.textContent), "ok 1 ms (cycle 1)");
        assert.equal(await page.$eval("#output", (x) => x.textContent), "from-b\n");
      } finally {
        await ui.close();
      }
    }),
});

/** The compare-runs choice `id` (runA, runB): picks the run labelled `label` as a user does. */
function pickRun(page: Page, id: string, label: string) {
  return page.evaluate(
    (i: string, l: string) => {
      const sel = document.getElementById(i);
      const opt = [...sel.options].find((o: { textContent: string }) =>
        o.textContent.startsWith(l + " (")
      );
      sel.value = opt.value;
      sel.dispatchEvent(new Event("change"));
    },
    id,
    label,
  );
}

/** The labels of the compare-runs choice `id`'s options, and the one chosen (without their times). */
function runChoice(page: Page, id: string) {
  return page.evaluate((i: string) => {
    const sel = document.getElementById(i);
    const name = (o: { textContent: string }) => o.textContent.split(" (")[0];
    return { options: [...sel.options].map(name), chosen: name(sel.selectedOptions[0]) };
  }, id);
}

Deno.test({
  name:
    `[browser] jx watch --ui: the runs picked to compare stay picked as older runs are dropped; a page opened late numbers cycles as the server does${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const dir = await tempDir({ "jobs.yaml": AB_JOBS, "a.txt": "", "b.txt": "" });
      const graph = graphData(loadJobsFile(`${dir}/jobs.yaml`));
      const ui = await startUi({ graph, mode: "watch" });
      const feed = (n: number) => {
        for (const e of cycle(n * 10, ["a"], n > 1 ? "a.txt" : undefined)) ui.reporter.event(e);
      };
      try {
        const page = await browser.newPage();
        await page.goto(ui.url);
        await page.waitForSelector('body[data-ready="1"]');
        for (let n = 1; n <= 5; n++) feed(n);
        const cycles = (from: number) => [0, 1, 2, 3, 4].map((i) => `cycle ${from + i}`);
        const options = (from: number) =>
          page.waitForFunction(
            (first: string) =>
              document.querySelector("#runA option")?.textContent.startsWith(first + " ("),
            {},
            `cycle ${from}`,
          );
        await options(1);
        await pickRun(page, "runA", "cycle 2");
        await pickRun(page, "runB", "cycle 3");
        const heads = () => page.$$eval("#cmptable th", (th) => th.map((h) => h.textContent));
        assert.deepEqual(await heads(), ["job", "cycle 2", "cycle 3", "Δ"]);
        // Cycle 6 drops cycle 1: the options follow, the picks stay on the same cycles.
        feed(6);
        await options(2);
        assert.deepEqual(await runChoice(page, "runA"), { options: cycles(2), chosen: "cycle 2" });
        assert.deepEqual(await runChoice(page, "runB"), { options: cycles(2), chosen: "cycle 3" });
        assert.deepEqual(await heads(), ["job", "cycle 2", "cycle 3", "Δ"]);
        // Cycle 7 drops cycle 2: that pick falls back to the next to last cycle.
        feed(7);
        await options(3);
        assert.equal((await runChoice(page, "runA")).chosen, "cycle 6");
        assert.equal((await runChoice(page, "runB")).chosen, "cycle 3");
        // A page opened now names the cycles as the server counts them, not from its own start.
        const late = await browser.newPage();
        await late.goto(ui.url);
        await late.waitForFunction(() =>
          /^cycle 7: ok/.test(document.querySelector("#tlhead")?.textContent ?? "")
        );
        assert.deepEqual(await runChoice(late, "runB"), { options: cycles(3), chosen: "cycle 7" });
      } finally {
        await ui.close();
      }
    }),
});

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] jx ui: a --host that names no address of this machine, or a taken port, is one line and exit 2`, async () => {
    const dir = await tempDir({ "jobs.yaml": JOBS });
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = String((taken.addr as Deno.NetAddr).port);
    try {
      const cases: [string[], string][] = [
        [["--host", "nonexistent.invalid"], "no such address or host name"],
        [["--host", "127.0.0.1 "], "no such address or host name"],
        [["--host", "192.0.2.1"], "not an address of this machine"], // TEST-NET-1
        [["--port", port], "the port is in use"],
      ];
      for (const [args, why] of cases) {
        const r = await runJx(["ui", ...args], { cwd: dir, runtime: rt });
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        const host = args[0] === "--host" ? args[1] : "127.0.0.1";
        const at = args[0] === "--port" ? port : "0";
        assert.equal(
          r.stderr,
          `jx ui: cannot listen on ${JSON.stringify(host)} port ${at}: ${why}\n`,
        );
        assert.equal(r.stdout, "");
      }
    } finally {
      taken.close();
    }
  });
}

Deno.test({
  name:
    `[browser] jx ui: an if: test that fails is "false", not failed; a job skipped as up to date is under "up to date"${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      const dir = await tempDir({
        "jobs.yaml": `version: 1
jobs:
  t: { run: "false" }
  b: { run: echo b, if: t }
  c: { run: "true" }
`,
      });
      const graph = loadJobsFile(`${dir}/jobs.yaml`);
      const ui = await startUi({ graph: graphData(graph) });
      try {
        const page = await browser.newPage();
        await page.goto(ui.url);
        await page.waitForSelector('body[data-ready="1"]');
        const run = await runJobs(graph, graph.select(["b", "c"]), {
          reactor: createReactor("portable"),
          reporters: [ui.reporter],
          handleSignals: false,
        });
        assert.equal(run.exit, 0);
        // A second run in which c is up to date (as a run that keeps state skips it).
        for (
          const e of [
            { type: "run.start", t: 0, jobs: 1, slots: 1, jobserver: "none" },
            { type: "job.skip", t: 1, job: "c", reason: "up-to-date" },
            { type: "run.end", t: 2, status: "ok", exit: 0, ms: 2 },
          ]
        ) ui.reporter.event(e as RunEvent);
        await nodeState(page, "t", "false");
        await nodeState(page, "c", "uptodate");
        const shown = async (filter: string) => {
          await page.select("#filter", filter);
          return await page.$$eval(
            ".node:not(.hide)",
            (ns) => ns.map((n) => n.getAttribute("data-name")).sort(),
          );
        };
        assert.deepEqual(await shown("failed"), []);
        assert.deepEqual(await shown("uptodate"), ["c"]);
        assert.match(await page.$eval("#counts", (c) => c.textContent ?? ""), /1 false/);
      } finally {
        await ui.close();
      }
    }),
});

Deno.test("ui data: a foreach over files jobs write is judged by its items, as jx explain and -n judge it", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  gen: { run: 'mkdir -p o && echo a > o/a.gen', writes: [o/a.gen] }\n" +
      "  each: { foreach: { glob: 'o/*.gen', as: F }, run: 'cp ${F} ${F}.r', reads: ['${F}'], writes: ['${F}.r'] }\n",
  });
  const built = await runJx(["run"], { cwd: dir });
  assert.equal(built.code, 0, built.stderr);
  const each = () =>
    graphData(loadJobsFile(`${dir}/jobs.yaml`)).jobs.find((j) => j.name === "each")!;
  assert.deepEqual([each().upToDate, each().succeededBefore], [true, true], JSON.stringify(each()));
  await Deno.writeTextFile(`${dir}/o/a.gen`, "b\n");
  assert.equal(each().upToDate, false);
  assert.match(each().reasons.join("\n"), /^each\[o\/a\.gen\]: /m);
});

Deno.test({
  name:
    `[browser] jx ui: a job's coloured output (ANSI SGR) is shown in colour, its escapes never as text${NO_BROWSER}`,
  ignore: !HAVE_BROWSER,
  fn: () =>
    withBrowser(async (browser) => {
      // What a compiler prints with CLICOLOR_FORCE (which jx sets on a terminal): SGR colours,
      // a 256-colour one, an erase-line and an OSC 8 link, and text that looks like markup.
      const out =
        String.raw`\033[1;31merror:\033[0m bad <b>x</b>\n\033[38;5;208mwarn\033[m \033[2Kok ` +
        String.raw`\033]8;;http://e.example/\007link\033]8;;\007\n`;
      const dir = await tempDir({
        "jobs.yaml": `version: 1\njobs:\n  cc: { run: sh cc.sh }\n`,
        "cc.sh": `printf '${out}'\n`,
      });
      const graph = loadJobsFile(`${dir}/jobs.yaml`);
      const ui = await startUi({ graph: graphData(graph) });
      try {
        const run = await runJobs(graph, graph.jobs, {
          reactor: createReactor("portable"),
          reporters: [ui.reporter],
          handleSignals: false,
        });
        assert.equal(run.exit, 0);
        const errors: string[] = [];
        const page = await openPage(browser, ui.url, errors);
        await nodeState(page, "cc", "ok");
        await page.click('.node[data-name="cc"]');
        await page.waitForSelector("#output");
        const text = await page.$eval("#output", (p) => p.textContent ?? "");
        assert.equal(text, "error: bad <b>x</b>\nwarn ok link\n");
        const spans = await page.$$eval("#output span", (ss) =>
          ss.map((s) => ({
            text: s.textContent,
            color: getComputedStyle(s).color,
            weight: getComputedStyle(s).fontWeight,
          })));
        assert.deepEqual(spans.map((s) => s.text), ["error:", "warn"]);
        assert.equal(spans[0].weight, "700");
        assert.notEqual(spans[0].color, spans[1].color);
        assert.equal(spans[1].color, "rgb(255, 135, 0)");
        assert.equal(await page.$("#output b"), null, "no markup from the output");
        assert.deepEqual(errors, []);
        await shot(page, "ansi-output");
      } finally {
        await ui.close();
        await Deno.remove(dir, { recursive: true });
      }
    }),
});
