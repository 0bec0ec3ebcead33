/**
 * The launcher `bin/jx` reached through links, as users install it: a real
 * `npm install -g` of the checkout into a temporary prefix (npm links the
 * folder: `PREFIX/bin/jx -> ../lib/node_modules/jx/bin/jx`, and that folder
 * is itself a link to the checkout), and a plain `ln -s` (absolute, and a
 * relative link to that link). Each runs a job from a folder outside the
 * repository, on Deno and (JX_RUNTIME=bun) on Bun.
 */
import assert from "node:assert/strict";
import { ROOT, tempDir } from "../helpers.ts";

const dec = new TextDecoder();

/** Runs `cmd` in `cwd` with PATH holding `pathDir` first. */
async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const JOBS = "version: 1\njobs:\n  hello:\n    run: echo hello from $JX_JOB\n";

/** `jx run` through `launcher` in a project outside the repository, on both runtimes. */
async function runsThrough(launcher: string, project: string, pathDir: string) {
  for (const runtime of ["deno", "bun"]) {
    // Through PATH, as a user types `jx`, and by its path.
    for (const cmd of ["jx", launcher]) {
      const r = await run(cmd, ["run"], project, {
        PATH: `${pathDir}:/usr/bin:/bin`,
        JX_RUNTIME: runtime,
      });
      assert.equal(r.code, 0, `${runtime} ${cmd}: ${r.stderr}`);
      assert.match(r.stdout, /hello from hello/, `${runtime} ${cmd}`);
    }
  }
}

Deno.test("bin/jx installed with `npm install -g` of the checkout runs from another folder", async () => {
  const prefix = await tempDir();
  const project = await tempDir({ "jobs.yaml": JOBS });
  try {
    const npm = await run("npm", [
      "install",
      "-g",
      "--prefix",
      prefix,
      "--offline",
      "--no-audit",
      "--no-fund",
      ROOT,
    ], project);
    assert.equal(npm.code, 0, npm.stderr);
    assert.ok(Deno.lstatSync(`${prefix}/bin/jx`).isSymlink, "npm linked the launcher");
    await runsThrough(`${prefix}/bin/jx`, project, `${prefix}/bin`);
  } finally {
    await Deno.remove(prefix, { recursive: true });
    await Deno.remove(project, { recursive: true });
  }
});

Deno.test("bin/jx reached through `ln -s` (absolute, then a relative link to that link)", async () => {
  const home = await tempDir();
  const project = await tempDir({ "jobs.yaml": JOBS });
  try {
    await Deno.mkdir(`${home}/bin`);
    await Deno.mkdir(`${home}/tools`);
    Deno.symlinkSync(`${ROOT}/bin/jx`, `${home}/tools/jx`);
    Deno.symlinkSync("../tools/jx", `${home}/bin/jx`);
    await runsThrough(`${home}/bin/jx`, project, `${home}/bin`);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(project, { recursive: true });
  }
});
