/**
 * The remote stores against real servers this file starts through
 * tools/services/cache-server.sh: npm's turborepo-remote-cache (Turborepo
 * API v8) and Debian's nginx with its dav module (Bazel HTTP cache). Round
 * trips into a fresh checkout and a fresh local store, a wrong token, a bad
 * signature, truncated and wrong-digest blobs, read-only mode; and servers
 * that are down, answer 500 or never answer. A test whose server cannot be
 * started is ignored with the reason in its name.
 */
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import {
  artifactTag,
  Cache,
  type CacheJob,
  type Entry,
  type KeepBlob,
  LocalStore,
  type Lookup,
  remoteStore,
} from "../../lib/cache/mod.ts";
import { jxCommand, ROOT, runJx, runJxBound, RUNTIMES, sleep, tempDir } from "../helpers.ts";

const SCRIPT = `${ROOT}/tools/services/cache-server.sh`;
const TOKEN = "jx-test-token";
const td = new TextDecoder();

/**
 * A local store in a new folder that notes, in order, the digest of each
 * blob it keeps (one whose bytes are what their digest names).
 */
function keeping(kept: string[]): KeepBlob {
  const store = new LocalStore(Deno.makeTempDirSync({ prefix: "jx-keep-" }));
  return {
    blobWriter: () => {
      const w = store.blobWriter();
      return {
        ...w,
        finish: (digest: string) => {
          const got = w.finish(digest);
          if (got.digest === digest) kept.push(digest);
          return got;
        },
      };
    },
  };
}

/** Starts a server; its pid and port, or the reason it could not start. */
function start(kind: "turbo" | "nginx", env: Record<string, string> = {}) {
  const dir = Deno.makeTempDirSync({ prefix: `jx-${kind}-` });
  const r = new Deno.Command("bash", {
    args: [SCRIPT, "start", kind, dir],
    env: { LIFETIME: "600", ...env },
    stdin: "null",
  }).outputSync();
  if (!r.success) return { error: td.decode(r.stderr).trim().split("\n").at(-1) ?? "failed", dir };
  const [pid, port] = td.decode(r.stdout).trim().split(" ").map(Number);
  return { pid, port, dir };
}

const turbo = start("turbo", {
  TURBO_TOKEN: TOKEN,
  TURBO_REMOTE_CACHE_SIGNATURE_KEY: "server-side",
});
const nginx = start("nginx");
globalThis.addEventListener("unload", () => {
  for (const s of [turbo, nginx]) {
    if ("pid" in s) {
      new Deno.Command("bash", { args: [SCRIPT, "stop", String(s.pid)] }).outputSync();
    }
  }
});

const skip = (s: typeof turbo) =>
  "error" in s ? ` (ignored: server did not start: ${s.error})` : "";
const TURBO_URL = "pid" in turbo ? `turbo+http://127.0.0.1:${turbo.port}?team=jx` : "";
const NGINX_URL = "pid" in nginx ? `bazel+http://127.0.0.1:${nginx.port}/inst` : "";

/** A checkout with a built output, and the job that built it. */
async function project(content = `built ${crypto.randomUUID()}\n`) {
  const dir = await tempDir({
    "src/a.c": content,
    "out/a.o": content,
    "out/bin/tool": "#!/bin/sh\n",
  });
  await Deno.chmod(`${dir}/out/bin/tool`, 0o755);
  await Deno.symlink("a.o", `${dir}/out/latest`);
  const job: CacheJob = {
    name: "compile",
    argv: ["/bin/sh", "-c", "cc"],
    env: {},
    reads: ["src/a.c"],
    writes: ["out"],
    cwd: dir,
  };
  return { dir, job, content };
}

/** A cache on a fresh local store and `url`, collecting its warnings. */
async function cacheFor(url: string, env: Record<string, string> = {}, readOnly = false) {
  const warnings: string[] = [];
  const cache = new Cache({
    local: new LocalStore(await tempDir()),
    remote: remoteStore(url, env),
    readOnly,
    warn: (l) => warnings.push(l),
  });
  return { cache, warnings };
}

/** Stores the project's job through `url`, waiting for the upload. */
async function upload(url: string, env: Record<string, string>) {
  const p = await project();
  const { cache, warnings } = await cacheFor(url, env);
  const miss = await cache.lookup(p.job, { baseDir: p.dir, vars: {} });
  assert.equal(miss.kind, "miss");
  const output = [{ stream: "stdout" as const, chunk: new TextEncoder().encode("compiled\n") }];
  cache.record(p.job, miss, p.dir, { exit: 0, durationMs: 1500, output });
  await cache.close();
  assert.deepEqual(warnings, []);
  return { ...p, key: miss.key };
}

/** Looks the same job up from a fresh checkout and store. */
async function fetchInto(url: string, env: Record<string, string>, content: string) {
  const p = await project(content);
  await Deno.remove(`${p.dir}/out`, { recursive: true });
  const c = await cacheFor(url, env);
  const l: Lookup = await c.cache.lookup(p.job, { baseDir: p.dir, vars: {} });
  return { ...p, ...c, l };
}

async function assertRestored(url: string, env: Record<string, string>, content: string) {
  const f = await fetchInto(url, env, content);
  assert.deepEqual(f.warnings, []);
  assert.equal(f.l.kind === "hit" && f.l.source, "remote");
  if (f.l.kind !== "hit") return;
  const r = await f.cache.restore(f.l, f.job, f.dir);
  assert.equal(r.kind, "restored");
  if (r.kind !== "restored") return;
  assert.equal(td.decode(r.output[0].chunk), "compiled\n");
  assert.equal(r.durationMs, 1500);
  assert.equal(await Deno.readTextFile(`${f.dir}/out/a.o`), content);
  assert.equal((await Deno.stat(`${f.dir}/out/bin/tool`)).mode! & 0o111, 0o111);
  assert.equal(await Deno.readLink(`${f.dir}/out/latest`), "a.o");
  const again = await f.cache.lookup(f.job, { baseDir: f.dir, vars: {} });
  assert.equal(again.kind === "hit" && again.source, "local", "copied into the local store");
}

/**
 * An entry under a fresh key whose outputs are `out/a` and `out/b`, holding
 * `a` and `b` (digests `da` and `db`).
 */
async function twoFiles(a: Uint8Array<ArrayBuffer>, b: Uint8Array<ArrayBuffer>) {
  const hexOf = async (x: Uint8Array<ArrayBuffer>) =>
    [...new Uint8Array(await crypto.subtle.digest("SHA-256", x))]
      .map((v) => v.toString(16).padStart(2, "0")).join("");
  const file = async (path: string, x: Uint8Array<ArrayBuffer>) => ({
    kind: "file" as const,
    path,
    mode: 0o644,
    digest: await hexOf(x),
    size: x.length,
  });
  const key = await sha256Hex(crypto.randomUUID());
  const [fa, fb] = [await file("out/a", a), await file("out/b", b)];
  const entry: Entry = {
    v: 1,
    key,
    job: "j",
    createdMs: 2,
    exit: 0,
    durationMs: 1,
    outputs: [fa, fb],
    log: { stdout: null, stderr: null, order: [] },
  };
  return { key, entry, da: fa.digest, db: fb.digest };
}

/** Asserts a miss with exactly one warning matching `why`, and nothing restored. */
async function assertRefused(
  url: string,
  env: Record<string, string>,
  content: string,
  why: RegExp,
) {
  const f = await fetchInto(url, env, content);
  assert.equal(f.l.kind, "miss");
  assert.equal(f.warnings.length, 1, f.warnings.join("\n"));
  assert.match(f.warnings[0], why);
  assert.throws(() => Deno.statSync(`${f.dir}/out`));
}

const signed = { JX_REMOTE_CACHE_TOKEN: TOKEN, JX_REMOTE_CACHE_SIGNATURE_KEY: "team-secret" };

Deno.test({
  name: `turbo: round trip through the real server into another checkout, signed${skip(turbo)}`,
  ignore: "error" in turbo,
  fn: async () => {
    const up = await upload(TURBO_URL, signed);
    await assertRestored(TURBO_URL, signed, up.content);
  },
});

Deno.test({
  name: `turbo: a wrong token and a bad signature are a warning and a miss${skip(turbo)}`,
  ignore: "error" in turbo,
  fn: async () => {
    const up = await upload(TURBO_URL, signed);
    await assertRefused(
      TURBO_URL,
      { ...signed, JX_REMOTE_CACHE_TOKEN: "nope" },
      up.content,
      /HTTP 401/,
    );
    await assertRefused(
      TURBO_URL,
      { ...signed, JX_REMOTE_CACHE_SIGNATURE_KEY: "attacker" },
      up.content,
      /signature does not verify/,
    );
    // A client that signs refuses an artifact stored without a tag by one that does not.
    const unsigned = await upload(TURBO_URL, { JX_REMOTE_CACHE_TOKEN: TOKEN });
    const f = await fetchInto(TURBO_URL, signed, unsigned.content);
    assert.equal(f.l.kind, "miss");
  },
});

Deno.test({
  name: `turbo: an artifact is spooled and unpacked blob by blob; a truncated one leaves no spool${
    skip(turbo)
  }`,
  ignore: "error" in turbo,
  fn: async () => {
    const env = { JX_REMOTE_CACHE_TOKEN: TOKEN, JX_REMOTE_CACHE_SIGNATURE_KEY: "spool-key" };
    const store = remoteStore(TURBO_URL, env);
    const te = new TextEncoder();
    // 9 MiB: the upload and the spool each take it in several pieces.
    const a = new Uint8Array(9 * 1024 * 1024).map((_, i) => (i * 7) ^ (i >> 11));
    const b = te.encode(`second ${crypto.randomUUID()}`);
    const { key, entry, da, db } = await twoFiles(a, b);
    const spools = () =>
      [...Deno.readDirSync(tmpdir())].filter((e) => e.name.startsWith(`jx-artifact-${Deno.pid}-`));
    const source = new LocalStore(await tempDir());
    source.putBlob(a), source.putBlob(b);
    await store.put(entry, source);
    const kept: string[] = [];
    assert.equal((await store.get(key, keeping(kept)))?.key, key);
    assert.deepEqual(kept.sort(), [da, db].sort());
    // The same artifact cut short by 3 bytes, correctly signed: the first blob only, then refused.
    const res = await fetch(
      `http://127.0.0.1:${"port" in turbo ? turbo.port : 0}/v8/artifacts/${key}?slug=jx`,
      { headers: { authorization: `Bearer ${TOKEN}` } },
    );
    const body = new Uint8Array(await res.arrayBuffer()).slice(0, -3);
    const put = await fetch(
      `http://127.0.0.1:${"port" in turbo ? turbo.port : 0}/v8/artifacts/${key}?slug=jx`,
      {
        method: "PUT",
        body,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          "content-type": "application/octet-stream",
          "x-artifact-tag": artifactTag("spool-key", key, "jx", body),
        },
      },
    );
    await put.body?.cancel();
    assert.ok(put.ok, `PUT: ${put.status}`);
    kept.length = 0;
    await assert.rejects(store.get(key, keeping(kept)), /truncated/);
    assert.equal(kept.length, 1, "the first blob was kept before the cut was reached");
    assert.deepEqual(spools(), [], "no spool file left");
  },
});

Deno.test({
  name: `turbo: read-only mode restores but uploads nothing${skip(turbo)}`,
  ignore: "error" in turbo,
  fn: async () => {
    const p = await project();
    const { cache, warnings } = await cacheFor(TURBO_URL, signed, true);
    const miss = await cache.lookup(p.job, { baseDir: p.dir, vars: {} });
    cache.record(p.job, miss as Extract<Lookup, { kind: "miss" }>, p.dir, {
      exit: 0,
      durationMs: 1,
      output: [],
    });
    assert.equal(cache.pendingUploads, 0);
    await cache.close();
    assert.deepEqual(warnings, []);
    const res = await fetch(
      `http://127.0.0.1:${"port" in turbo ? turbo.port : 0}/v8/artifacts/${miss.key}?slug=jx`,
      {
        headers: { authorization: `Bearer ${TOKEN}` },
      },
    );
    await res.body?.cancel();
    assert.equal(res.status, 404);
  },
});

Deno.test({
  name: `bazel: round trip through real nginx (ActionResult in /ac, blobs in /cas)${skip(nginx)}`,
  ignore: "error" in nginx,
  fn: async () => {
    const up = await upload(NGINX_URL, signed);
    const acPath = `${"dir" in nginx ? nginx.dir : ""}/store/inst/ac/${up.key}`;
    assert.ok(Deno.statSync(acPath).isFile, "the ActionResult is at /inst/ac/KEY");
    await assertRestored(NGINX_URL, signed, up.content);
  },
});

Deno.test({
  name: `bazel: truncated, wrong-digest and unsigned entries are refused${skip(nginx)}`,
  ignore: "error" in nginx,
  fn: async () => {
    const up = await upload(NGINX_URL, {});
    const digest = await sha256Hex(up.content);
    const put = async (path: string, body: Uint8Array<ArrayBuffer>) => {
      const r = await fetch(`http://127.0.0.1:${"port" in nginx ? nginx.port : 0}/inst/${path}`, {
        method: "PUT",
        body,
      });
      await r.body?.cancel();
      assert.ok(r.ok, `PUT ${path}: ${r.status}`);
    };
    const bytes = new TextEncoder().encode(up.content);
    await put(`cas/${digest}`, bytes.slice(0, 5));
    await assertRefused(NGINX_URL, {}, up.content, /wrong size/);
    const forged = bytes.slice();
    forged[0] ^= 1;
    await put(`cas/${digest}`, forged);
    await assertRefused(NGINX_URL, {}, up.content, /wrong digest/);
    await assertRefused(
      NGINX_URL,
      { JX_REMOTE_CACHE_SIGNATURE_KEY: "k" },
      up.content,
      /no signature/,
    );
  },
});

Deno.test({
  name: `bazel: blobs go to the local store one by one as they are fetched${skip(nginx)}`,
  ignore: "error" in nginx,
  fn: async () => {
    const store = remoteStore(`${NGINX_URL}/one-by-one`, {});
    const te = new TextEncoder();
    const a = te.encode(`first ${crypto.randomUUID()}`),
      b = te.encode(`second ${crypto.randomUUID()}`);
    const { key, entry, da, db } = await twoFiles(a, b);
    const source = new LocalStore(await tempDir());
    source.putBlob(a), source.putBlob(b);
    await store.put(entry, source);
    const kept: string[] = [];
    const got = await store.get(key, keeping(kept));
    assert.equal(got?.outputs.length, 2);
    assert.deepEqual(kept, [da, db]);
    // The second blob gone from the server: the first was kept before the miss was known.
    Deno.removeSync(`${"dir" in nginx ? nginx.dir : ""}/store/inst/one-by-one/cas/${db}`);
    kept.length = 0;
    await assert.rejects(store.get(key, keeping(kept)), /is missing/);
    assert.deepEqual(kept, [da]);
  },
});

async function sha256Hex(s: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A local server answering every request with `handler`. */
function serve(handler: (r: Request) => Response | Promise<Response>) {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    handler,
  );
  return { port: server.addr.port, stop: async () => (ac.abort(), await server.finished) };
}

Deno.test("unreachable, 500 and silent servers: one warning, a miss, not asked again; uploads skipped", async () => {
  const s500 = serve(() => new Response("boom", { status: 500 }));
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  const silent = serve(async () => (await held, new Response("late")));
  const closed = serve(() => new Response(""));
  const closedPort = closed.port;
  await closed.stop();
  const cases: [string, RegExp][] = [
    [`bazel+http://127.0.0.1:${closedPort}`, /GET failed/],
    [`turbo+http://127.0.0.1:${s500.port}?team=t`, /HTTP 500/],
    [`bazel+http://127.0.0.1:${silent.port}`, /timed out after 300 ms/],
  ];
  try {
    for (const [url, why] of cases) {
      const p = await project();
      const { cache, warnings } = await cacheFor(url, { JX_REMOTE_CACHE_TIMEOUT: "0.3" });
      const l = await cache.lookup(p.job, { baseDir: p.dir, vars: {} });
      assert.equal(l.kind, "miss");
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], why);
      assert.match(warnings[0], /not used for the rest of this run/);
      cache.record(p.job, l as Extract<Lookup, { kind: "miss" }>, p.dir, {
        exit: 0,
        durationMs: 1,
        output: [],
      });
      assert.equal(cache.pendingUploads, 0, "a server that is down gets no uploads");
      assert.equal((await cache.lookup(p.job, { baseDir: p.dir, vars: {} })).kind, "hit");
      await cache.close();
      assert.equal(warnings.length, 1);
    }
  } finally {
    release();
    await s500.stop();
    await silent.stop();
  }
});

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a remote store whose host name does not resolve: the warning says so in jx's words`, async () => {
    // Deno said 'fetch failed: client error (Connect): dns error: failed to lookup address
    // information: Name or service not known', Bun 'getaddrinfo ENOTFOUND no-such-host.invalid'
    // (`.invalid` is reserved: never a host).
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  a: { run: echo a > a.txt, writes: [a.txt] }\n",
    });
    const r = await runJx(
      [
        "run",
        "--cache-dir",
        `${dir}/c`,
        "--remote-cache",
        "bazel+http://no-such-host.invalid:8080",
      ],
      { cwd: dir, runtime: rt },
    );
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split("\n").filter((w) => w.startsWith("jx: warning:"));
    assert.deepEqual(warnings, [
      "jx: warning: bazel http://no-such-host.invalid:8080: entry " +
      `${/entry (\w+) for/.exec(warnings[0] ?? "")?.[1]} for a: GET failed: cannot resolve the ` +
      "host name; not used for the rest of this run",
    ]);
  });
}

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] a remote store that drops the connection: the warning says so in jx's words`, async () => {
    // Deno said 'fetch failed: Connection reset by peer (os error 104)' or '...: client error
    // (SendRequest): connection closed before message completed', Bun 'ECONNRESET: The socket
    // connection was closed unexpectedly'. The server closes each connection unanswered (with
    // the request's bytes unread: the kernel may answer with a reset).
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    const serving = (async () => {
      for await (const conn of l) {
        await conn.read(new Uint8Array(1)).catch(() => null);
        conn.close();
      }
    })();
    try {
      await oneGetWarning(rt, port, "the server closed the connection");
    } finally {
      l.close();
      await serving.catch(() => {});
    }
  });

  Deno.test(`[${rt}] a remote store that refuses connections: the warning says so in jx's words`, async () => {
    // Deno said 'fetch failed: client error (Connect): tcp connect error: Connection refused
    // (os error 111)', Bun 'ECONNREFUSED: Unable to connect. Is the computer able to access the url?'.
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    await oneGetWarning(rt, port, "connection refused");
  });
}

/**
 * `jx run` (on `rt`) of one cacheable job with the bazel store at 127.0.0.1:`port`: exit 0 and
 * one warning, its GET failed for `why` and the store not used for the rest of the run.
 */
async function oneGetWarning(rt: (typeof RUNTIMES)[number], port: number, why: string) {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  a: { run: echo a > a.txt, writes: [a.txt] }\n",
  });
  const r = await runJx(
    ["run", "--cache-dir", `${dir}/c`, "--remote-cache", `bazel+http://127.0.0.1:${port}`],
    { cwd: dir, runtime: rt },
  );
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.stderr.split("\n").filter((w) => w.startsWith("jx: warning:"));
  assert.equal(warnings.length, 1, r.stderr);
  const head = /^jx: warning: bazel http:\/\/127\.0\.0\.1:\d+: entry \w+ for a: GET failed: /;
  assert.match(warnings[0], head);
  assert.equal(
    warnings[0].replace(head, ""),
    `${why}; not used for the rest of this run`,
    warnings[0],
  );
}

Deno.test({
  name:
    `bazel: a restore (no folders in an ActionResult) over an earlier run's read-only folders writes into them and gives their modes back${
      skip(nginx)
    }`,
  ignore: "error" in nginx,
  fn: async () => {
    // (As root: in /tmp, which nobody can reach; the suite's own folder is root's, 0700.)
    const dir = await Deno.makeTempDir({
      prefix: "jx-ro-bazel-",
      dir: Deno.uid() === 0 ? "/tmp" : undefined,
    });
    try {
      await Deno.mkdir(`${dir}/p`);
      await Deno.writeTextFile(
        `${dir}/p/jobs.yaml`,
        `cache: true
jobs:
  gen:
    run: "chmod -R u+w out 2>/dev/null; rm -rf out; mkdir -p out/ro out/d$(cat in) && cat in > out/ro/f && cat in > out/ro/s$(cat in) && cat in > out/d$(cat in)/g && chmod 555 out/ro out/d$(cat in) out"
    reads: [in]
    writes: [out]
`,
      );
      const mine = (p: string) => Deno.uid() === 0 && Deno.chownSync(p, 65534, 65534);
      for (const p of [dir, `${dir}/p`, `${dir}/p/jobs.yaml`]) mine(p);
      const remote = `${NGINX_URL}-ro-${crypto.randomUUID()}`;
      const step = async (v: string) => {
        await Deno.writeTextFile(`${dir}/p/in`, v);
        mine(`${dir}/p/in`);
        return await runJxBound(dir, ["--remote-cache", remote]);
      };
      const first = await step("1\n");
      if (first === null) return; // (no way to be bound by modes here)
      assert.equal(first.code, 0, first.stderr);
      assert.equal((await step("2\n"))!.code, 0);
      // Another machine's store: the entry comes from the server, without its folders.
      await Deno.remove(`${dir}/store`, { recursive: true });
      const r = (await step("1\n"))!;
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /warning/, r.stderr);
      assert.match(r.stderr, /1 job restored/);
      assert.equal(await Deno.readTextFile(`${dir}/p/out/ro/f`), "1\n");
      const ls = (d: string) => [...Deno.readDirSync(d)].map((e) => e.name).sort();
      assert.deepEqual(ls(`${dir}/p/out`), ["d1", "ro"]);
      assert.deepEqual(ls(`${dir}/p/out/ro`), ["f", "s1"]);
      assert.equal((await Deno.stat(`${dir}/p/out/ro`)).mode! & 0o777, 0o555, "its mode back");
      assert.equal((await Deno.stat(`${dir}/p/out`)).mode! & 0o777, 0o555);
    } finally {
      await new Deno.Command("chmod", { args: ["-R", "u+w", dir] }).output();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

for (const rt of RUNTIMES) {
  Deno.test({
    name: `[${rt}] bazel: a SIGTERM while a blob downloads leaves nothing of it in the store${
      skip(nginx)
    }`,
    ignore: "error" in nginx,
    fn: async () => {
      // The blob came in at 1 KB per 100 ms (a slow link, through a proxy in front of nginx); jx
      // ended at the signal with the download in flight, its partial blob left in the store's
      // tmp/ (only a prune above the store's size limit removes such files).
      const files = {
        "jobs.yaml": "jobs:\n  g: { run: 'mkdir -p out && head -c 60000 /dev/zero > out/z', " +
          "writes: [out] }\n",
      };
      const remote = `${NGINX_URL}-stop-${crypto.randomUUID()}`;
      const a = await tempDir(files);
      const first = await runJx(["run", "--cache-dir", `${a}/store`, "--remote-cache", remote], {
        cwd: a,
        runtime: rt,
      });
      assert.equal(first.code, 0, first.stderr);
      const upstream = `http://127.0.0.1:${"port" in nginx ? nginx.port : 0}`;
      const slow = serve(async (r) => {
        const path = new URL(r.url).pathname;
        const res = await fetch(upstream + path, { method: r.method });
        if (r.method !== "GET" || !path.includes("/cas/")) return res;
        const all = new Uint8Array(await res.arrayBuffer());
        let at = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(ctl) {
            await sleep(100);
            if (at >= all.length) return ctl.close();
            ctl.enqueue(all.slice(at, at += 1000));
          },
        });
        return new Response(body, { headers: { "content-length": String(all.length) } });
      });
      try {
        const b = await tempDir(files);
        const proxied = remote.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${slow.port}`);
        const [cmd, args] = jxCommand(rt, [
          "run",
          "--cache-dir",
          `${b}/store`,
          "--remote-cache",
          proxied,
        ]);
        const child = new Deno.Command(cmd, {
          args,
          cwd: b,
          env: { NO_COLOR: "1", JX_REMOTE_CACHE_TIMEOUT: "60" },
          stdin: "null",
          stdout: "null",
          stderr: "piped",
        }).spawn();
        const tmp = () => {
          try {
            return [...Deno.readDirSync(`${b}/store/tmp`)].map((e) => e.name);
          } catch {
            return [];
          }
        };
        for (let i = 0; i < 200 && tmp().length === 0; i++) await sleep(25);
        assert.equal(tmp().length, 1, "a blob is downloading");
        await sleep(200);
        child.kill("SIGTERM");
        const [st, err] = await Promise.all([child.status, new Response(child.stderr).text()]);
        assert.equal(st.code, 143, err);
        assert.doesNotMatch(err, /warning/, "a stop is no fault of the server's");
        assert.deepEqual(tmp(), [], "nothing of the download left");
        assert.equal(await Deno.lstat(`${b}/out`).catch(() => null), null, "nothing restored");
      } finally {
        await slow.stop();
      }
    },
  });
}

Deno.test({
  name: `bazel: JX_REMOTE_CACHE_READ_ONLY=true (or yes) uploads nothing; 0 or false uploads${
    skip(nginx)
  }`,
  ignore: "error" in nginx,
  fn: async () => {
    // Only `1` was read as yes: `true`, a CI's usual spelling, uploaded a fork's outputs.
    const store = "dir" in nginx ? `${nginx.dir}/store` : "";
    for (
      const [value, uploads] of [["true", false], ["Yes", false], ["0", true], ["false", true]]
    ) {
      const prefix = `ro-${crypto.randomUUID()}`;
      const dir = await tempDir({
        "jobs.yaml": "jobs:\n  a: { run: echo a > a.txt, writes: [a.txt] }\n",
      });
      const url = NGINX_URL.replace(/\/inst$/, `/${prefix}`);
      const r = await runJx(["run", "--cache-dir", `${dir}/c`, "--remote-cache", url], {
        cwd: dir,
        env: { JX_REMOTE_CACHE_READ_ONLY: `${value}` },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /warning/, r.stderr);
      const entries = await Array.fromAsync(Deno.readDir(`${store}/${prefix}/ac`)).catch(() => []);
      assert.equal(entries.length, uploads ? 1 : 0, `JX_REMOTE_CACHE_READ_ONLY=${value}`);
    }
  },
});

for (const rt of RUNTIMES) {
  Deno.test({
    name:
      `[${rt}] bazel: a remote entry's files come back under the user's umask (077: 0600, 0700)${
        skip(nginx)
      }`,
    ignore: "error" in nginx,
    fn: async () => {
      // An ActionResult holds 0644 or 0755 whatever the umask it was made under: a user whose
      // umask keeps files private got outputs every user could read, which the job makes 0600.
      const files = {
        "jobs.yaml": "jobs:\n  g: { run: 'mkdir -p out && echo a > out/a && echo b > out/x && " +
          "chmod +x out/x', writes: [out] }\n",
      };
      const remote = `${NGINX_URL}-umask-${crypto.randomUUID()}`;
      const run = async (dir: string, mask: string) => {
        const [cmd, args] = jxCommand(rt, [
          "run",
          "--cache-dir",
          `${dir}/store`,
          "--remote-cache",
          remote,
        ]);
        const out = await new Deno.Command("/bin/sh", {
          args: ["-c", `umask ${mask} && exec "$0" "$@"`, cmd, ...args],
          cwd: dir,
          env: { NO_COLOR: "1" },
          stdin: "null",
        }).output();
        return { code: out.code, stderr: td.decode(out.stderr) };
      };
      const mode = async (p: string) => (await Deno.stat(p)).mode! & 0o777;
      const a = await tempDir(files);
      assert.equal((await run(a, "022")).code, 0);
      assert.deepEqual([await mode(`${a}/out/a`), await mode(`${a}/out/x`)], [0o644, 0o755]);
      const b = await tempDir(files);
      const r = await run(b, "077");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /1 job restored/, r.stderr);
      assert.deepEqual([await mode(`${b}/out/a`), await mode(`${b}/out/x`)], [0o600, 0o700]);
      // And so again from the local store it was copied into (another checkout, same store).
      const c = await tempDir(files);
      await Deno.rename(`${b}/store`, `${c}/store`);
      const again = await run(c, "077");
      assert.match(again.stderr, /restored from the local cache|1 job restored/, again.stderr);
      assert.deepEqual([await mode(`${c}/out/a`), await mode(`${c}/out/x`)], [0o600, 0o700]);
    },
  });
}

Deno.test({
  name:
    `bazel: an entry whose output is more than a job's output is stored up to is refused, not read${
      skip(nginx)
    }`,
  ignore: "error" in nginx,
  fn: async () => {
    // No run stores more than maxLogBytes (64 MiB) of a job's output: a server's entry with 1 GiB
    // of stdout was read whole into memory and replayed. Here the bound is 4 bytes, the entry's
    // output "compiled\n".
    const up = await upload(NGINX_URL, {});
    const p = await project(up.content);
    await Deno.remove(`${p.dir}/out`, { recursive: true });
    const warnings: string[] = [];
    const cache = new Cache({
      local: new LocalStore(await tempDir()),
      remote: remoteStore(NGINX_URL, {}),
      maxLogBytes: 4,
      warn: (l) => warnings.push(l),
    });
    const l = await cache.lookup(p.job, { baseDir: p.dir, vars: {} });
    assert.equal(l.kind === "hit" && l.source, "remote");
    if (l.kind !== "hit") return;
    const r = await cache.restore(l, p.job, p.dir);
    assert.equal(r.kind, "refused");
    assert.deepEqual(warnings, [
      `jx: warning: cache entry ${l.key.slice(0, 12)} for compile not restored: its output is 9 ` +
      "bytes, over the 4 a job's output is stored up to",
    ]);
    assert.equal(await Deno.lstat(`${p.dir}/out`).catch(() => null), null, "nothing written");
    assert.equal(
      cache.local.getEntry(l.key),
      null,
      "a lie: not offered again from the local store",
    );
  },
});

for (const rt of RUNTIMES) {
  Deno.test({
    name:
      `[${rt}] a JX_REMOTE_CACHE_TOKEN no header can carry (a line break inside) is an error before the run, never shown${
        skip(nginx)
      }`,
    ignore: "error" in nginx,
    fn: async () => {
      // Each request failed, and on Deno the warning quoted the header up to the line break:
      // 'GET failed: Invalid header value: "Bearer first-line-of-secret; not used ...'.
      const dir = await tempDir({
        "jobs.yaml": "jobs:\n  a: { run: echo a > a.txt, writes: [a.txt] }\n",
      });
      const args = ["run", "--cache-dir", `${dir}/c`, "--remote-cache", NGINX_URL];
      const r = await runJx(args, {
        cwd: dir,
        runtime: rt,
        env: { JX_REMOTE_CACHE_TOKEN: "first-line-of-secret\nsecond" },
      });
      assert.equal(r.code, 2, r.stderr);
      assert.doesNotMatch(r.stderr + r.stdout, /first-line|second/);
      assert.equal(
        r.stderr,
        "jx: JX_REMOTE_CACHE_TOKEN: holds a line break, a control or a non-ASCII character, " +
          "which no HTTP header can carry (not shown)\n",
      );
      // Blanks around it are no part of it (fetch drops them): a token read from a file.
      const ok = await runJx(args, {
        cwd: dir,
        runtime: rt,
        env: { JX_REMOTE_CACHE_TOKEN: "token-from-a-file\n" },
      });
      assert.equal(ok.code, 0, ok.stderr);
      assert.doesNotMatch(ok.stderr, /warning/, ok.stderr);
    },
  });
}
