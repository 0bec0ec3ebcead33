/**
 * End-to-end on the standalone executable: `deno task compile`'s command (`bun
 * build --compile`, read from deno.json) builds it once into a temp dir, and each step runs
 * it there with a bare environment (PATH=/usr/bin:/bin, no Deno, no Bun, no
 * node_modules). Under Bun jx uses the portable reactor, and its own jobserver pool
 * (fds watched through epoll in a Worker).
 * Ordering is checked from the event log, never from wall-clock speed.
 *
 * With `JX_BINARY=PATH` (CI sets it after `deno task compile`), the test runs
 * that binary, copied into the temp dir, instead of building one.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { BUN, ROOT } from "../helpers.ts";
import { VERSION } from "../../lib/cli/help.ts";

/** A prebuilt binary to test instead of building one. */
const prebuilt = Deno.env.get("JX_BINARY");
const haveBun = existsSync(BUN);

/** Runs the binary in `cwd` with a bare environment. */
async function run(bin: string, args: string[], cwd: string) {
  const out = await new Deno.Command(bin, {
    args,
    cwd,
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", NO_COLOR: "1", HOME: cwd },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `deno task compile`'s command (from deno.json), writing to `out` instead of dist/jx. */
async function compileCommand(out: string): Promise<[string, string[]]> {
  const task: string = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).tasks.compile;
  const words = task.trim().split(/\s+/);
  const i = words.indexOf("--outfile");
  assert.ok(i > 0, `no --outfile in the compile task: ${task}`);
  words[i + 1] = out;
  return [words[0].startsWith("/") ? words[0] : `${ROOT}/${words[0]}`, words.slice(1)];
}

type Ev = Record<string, unknown> & { type: string; t: number; job?: string };

async function events(path: string): Promise<Ev[]> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

Deno.test({
  name: prebuilt
    ? `standalone binary (${prebuilt}): runs with no Deno, Bun or node_modules`
    : haveBun
    ? "standalone binary (bun build --compile): runs with no Deno, Bun or node_modules"
    : `standalone binary: SKIPPED, no bun at ${BUN} (run npm ci to install it)`,
  ignore: !prebuilt && !haveBun,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "jx-binary-" });
    try {
      const bin = `${dir}/bin/jx`;
      if (prebuilt) {
        await Deno.mkdir(`${dir}/bin`);
        await Deno.copyFile(prebuilt, bin);
      } else {
        const [cmd, args] = await compileCommand(bin);
        const build = await new Deno.Command(cmd, {
          args,
          cwd: ROOT,
          stdout: "null",
          stderr: "piped",
        }).output();
        assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
      }
      const work = `${dir}/work`;
      await Deno.mkdir(work);

      await t.step("--version and --help", async () => {
        const v = await run(bin, ["--version"], work);
        assert.equal(v.code, 0, v.stderr);
        assert.equal(v.stdout, `jx ${VERSION}\n`);
        const h = await run(bin, ["--help"], work);
        assert.equal(h.code, 0, h.stderr);
        assert.match(h.stdout, /^Usage:$/m);
        assert.match(h.stdout, /jx run \[-f FILE\]/);
        const rh = await run(bin, ["run", "--help"], work);
        assert.match(rh.stdout, /^Usage: jx run/);
      });

      await t.step("a graph with needs, reads and writes: order from --events", async () => {
        await Deno.writeTextFile(
          `${work}/some.yaml`,
          `version: 1
jobs:
  gen:
    run: sleep 0.1; mkdir -p out; echo '#define N 1' > out/gen.h
    writes: [out/gen.h]
  compile:
    run: cat out/gen.h > out/main.o
    reads: [out/*.h]
    writes: [out/main.o]
  link:
    run: [cp, out/main.o, out/app]
    needs: [compile]
  free:
    run: "true"
`,
        );
        const r = await run(bin, ["run", "-f", "some.yaml", "-j2", "--events", "ev.ndjson"], work);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.match(r.stderr, /jx: 4 jobs ok in /);
        const ev = await events(`${work}/ev.ndjson`);
        assert.deepEqual(ev[0], {
          ...ev[0],
          type: "run.start",
          jobs: 4,
          slots: 2,
          jobserver: "server",
        });
        const at = (type: string, job: string) =>
          ev.find((e) => e.type === type && e.job === job)!.t;
        assert.ok(at("job.start", "compile") >= at("job.end", "gen"), "compile after gen");
        assert.ok(at("job.start", "link") >= at("job.end", "compile"), "link after compile");
        assert.ok(at("job.start", "free") < at("job.end", "gen"), "free does not wait");
        const ends = ev.filter((e) => e.type === "job.end");
        assert.deepEqual(ends.map((e) => e.status), ["ok", "ok", "ok", "ok"]);
        assert.deepEqual(ev.at(-1), { ...ev.at(-1), type: "run.end", status: "ok", exit: 0 });
        assert.equal(await Deno.readTextFile(`${work}/out/app`), "#define N 1\n");
      });

      await t.step("-n prints the order and runs nothing", async () => {
        await Deno.remove(`${work}/out`, { recursive: true });
        const r = await run(bin, ["run", "-n", "-f", "some.yaml", "link"], work);
        assert.equal(r.code, 0, r.stderr);
        const order = [...r.stdout.matchAll(/^(\w+): /gm)].map((m) => m[1]);
        assert.deepEqual(order, ["gen", "compile", "link"]);
        assert.ok(!existsSync(`${work}/out`), "nothing ran");
      });

      await t.step("a failing job: exit 1", async () => {
        await Deno.writeTextFile(
          `${work}/fail.yaml`,
          "jobs:\n  bad: { run: 'echo broken; exit 3' }\n  after: { run: 'true', needs: [bad] }\n",
        );
        const r = await run(bin, ["run", "-f", "fail.yaml", "--events", "fail.ndjson"], work);
        assert.equal(r.code, 1);
        assert.match(r.stdout, /bad: FAILED \(exit 3/);
        const ev = await events(`${work}/fail.ndjson`);
        assert.deepEqual(ev.find((e) => e.type === "job.end"), {
          ...ev.find((e) => e.type === "job.end"),
          job: "bad",
          status: "failed",
          exit: 3,
        });
        assert.ok(!ev.some((e) => e.type === "job.start" && e.job === "after"));
      });

      await t.step("a bad jobs file: exit 2, FILE:LINE:COL: message", async () => {
        await Deno.writeTextFile(`${work}/bad.yaml`, "jobs:\n  a:\n    rnu: echo hi\n");
        const r = await run(bin, ["run", "-f", "bad.yaml"], work);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /^bad\.yaml:3:5: .*rnu/);
        assert.equal(r.stderr.split("\n").filter((l) => l).length, 1, "one line, no stack");
      });

      await t.step("init, list --names and completions work from the bundle", async () => {
        const init = await run(bin, ["init"], work);
        assert.equal(init.code, 0, init.stderr);
        const names = await run(bin, ["list", "--names"], work);
        assert.equal(names.stdout, "setup\nconfig\nversion\nbundle\ntest\n");
        const r = await run(bin, ["run"], work);
        assert.equal(r.code, 0, r.stderr);
        const c = await run(bin, ["completions", "bash"], work);
        assert.match(c.stdout, /complete -o default -F _jx jx/);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
