/**
 * Spilled output of a jx killed with SIGKILL (`$TMPDIR/jx-output-*`) is
 * removed by the next jx, by the same scan that removes jobserver folders;
 * a folder whose pid now belongs to a younger process (a reused pid) goes
 * too, one of a live jx stays.
 */
import assert from "node:assert/strict";
import { jxCommand, runJx, RUNTIMES, tempDir } from "../helpers.ts";

const host = Deno.hostname().replace(/[^A-Za-z0-9.]/g, "_");
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: spilled output left by kill -9 is removed by the next run`, async () => {
    // 2 MiB of output (past the 1 MiB held in memory), then wait for `go`.
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  big: { run: 'head -c 2097152 /dev/zero; echo $$ > pid; " +
        "while [ ! -f go ]; do sleep 0.02; done' }\n",
      "tmp/.keep": "",
    });
    const tmp = `${dir}/tmp`;
    const [cmd, argv] = jxCommand(runtime, ["run", "-j2"]);
    const jx = new Deno.Command(cmd, {
      args: argv,
      cwd: dir,
      env: { TMPDIR: tmp },
      stdout: "null",
      stderr: "null",
    }).spawn();
    // Wait for the spill folder to hold the job's 2 MiB (an event of the file system, polled).
    const spilled = () => names(tmp).find((n) => n.startsWith(`jx-output-${host}-${jx.pid}-`));
    for (let i = 0; i < 1500; i++) {
      const s = spilled();
      if (s && (await Deno.stat(`${tmp}/${s}/out`).catch(() => null))?.size === 2097152) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(spilled(), names(tmp).join(" "));
    jx.kill("SIGKILL");
    await jx.status;
    await Deno.writeTextFile(`${dir}/go`, ""); // the orphaned job ends
    // A reused pid: this process is alive but younger than a folder from 2001.
    const reused = `jx-output-${host}-${Deno.pid}-Reused`;
    await Deno.mkdir(`${tmp}/${reused}`);
    await Deno.utime(`${tmp}/${reused}`, 1e9, 1e9);
    const live = `jx-output-${host}-${Deno.pid}-Live00`;
    await Deno.mkdir(`${tmp}/${live}`);
    await Deno.writeTextFile(`${dir}/jobs.yaml`, "jobs:\n  a: { run: 'true' }\n");
    const r = await runJx(["run", "-j2"], { cwd: dir, env: { TMPDIR: tmp }, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(names(tmp), [".keep", live]);
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: a remote artifact's spool left by kill -9 is removed by the next run`, async () => {
    // A Turborepo server that sends the start of an artifact, then nothing until the test ends.
    const stalled = Promise.withResolvers<void>();
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (r) => {
      if (r.method !== "GET") return new Response(null, { status: 404 });
      const body = new ReadableStream<Uint8Array>({
        async start(c) {
          c.enqueue(new TextEncoder().encode(`JXC1${"x".repeat(65536)}`));
          await stalled.promise;
          c.close();
        },
      });
      return new Response(body, { headers: { "content-length": "1000000" } });
    });
    try {
      const dir = await tempDir({
        "jobs.yaml":
          "jobs:\n  a: { run: 'mkdir -p out; echo a > out/a', writes: [out/a], cache: true }\n",
        "tmp/.keep": "",
      });
      const tmp = `${dir}/tmp`;
      const url = `turbo+http://127.0.0.1:${server.addr.port}?team=t`;
      const [cmd, argv] = jxCommand(runtime, [
        "run",
        "--remote-cache",
        url,
        "--cache-dir",
        "store",
      ]);
      const jx = new Deno.Command(cmd, {
        args: argv,
        cwd: dir,
        env: { TMPDIR: tmp },
        stdout: "null",
        stderr: "null",
      }).spawn();
      const spool = () => names(tmp).find((n) => n.startsWith(`jx-artifact-${host}-${jx.pid}-`));
      for (let i = 0; i < 1500 && !spool(); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(spool(), names(tmp).join(" "));
      jx.kill("SIGKILL");
      await jx.status;
      await Deno.writeTextFile(`${dir}/jobs.yaml`, "jobs:\n  a: { run: 'true' }\n");
      const r = await runJx(["run", "-j2"], { cwd: dir, env: { TMPDIR: tmp }, runtime });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(names(tmp), [".keep"]);
    } finally {
      stalled.resolve();
      await server.shutdown();
    }
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: jx sh's folder left by kill -9 is removed by the next run`, async () => {
    const dir = await tempDir({
      "s.sh": "while [ ! -f go ]; do sleep 0.02; done\n",
      "jobs.yaml": "jobs:\n  a: { run: 'true' }\n",
      "tmp/.keep": "",
    });
    const tmp = `${dir}/tmp`;
    const [cmd, argv] = jxCommand(runtime, ["sh", "s.sh"]);
    const jx = new Deno.Command(cmd, {
      args: argv,
      cwd: dir,
      env: { TMPDIR: tmp },
      stdout: "null",
      stderr: "null",
    }).spawn();
    const made = () => names(tmp).find((n) => n.startsWith(`jx-sh-${host}-${jx.pid}-`));
    for (let i = 0; i < 1500 && !made(); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(made(), names(tmp).join(" "));
    jx.kill("SIGKILL");
    await jx.status;
    await Deno.writeTextFile(`${dir}/go`, ""); // the orphaned script ends
    const r = await runJx(["run", "-j2"], { cwd: dir, env: { TMPDIR: tmp }, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(names(tmp), [".keep"]);
  });
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `${runtime}: the scan removes only this user's folders: as root, not another user's, nor a link`,
    ignore: Deno.uid() !== 0, // only root can make a folder another user's
    fn: async () => {
      const dir = await tempDir({ "jobs.yaml": "jobs:\n  a: { run: 'true' }\n", "tmp/.keep": "" });
      const tmp = `${dir}/tmp`;
      const child = new Deno.Command("true").spawn();
      await child.status;
      const gone = child.pid; // a pid whose process has ended (and been reaped)
      const other = `jx-output-${host}-${gone}-Other0`, link = `jx-output-${host}-${gone}-Link00`;
      await Deno.mkdir(`${tmp}/${other}/sub`, { recursive: true });
      await Deno.chown(`${tmp}/${other}`, 65534, 65534);
      await Deno.mkdir(`${dir}/kept`);
      await Deno.writeTextFile(`${dir}/kept/file`, "mine\n");
      await Deno.symlink(`${dir}/kept`, `${tmp}/${link}`);
      const r = await runJx(["run", "-j2"], { cwd: dir, env: { TMPDIR: tmp }, runtime });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(names(tmp), [".keep", link, other].sort());
      assert.deepEqual(names(`${tmp}/${other}`), ["sub"]);
      assert.equal(await Deno.readTextFile(`${dir}/kept/file`), "mine\n");
    },
  });
}
