/**
 * Colours for jobs: under a real pseudo-terminal (`script` from util-linux)
 * jx tells its jobs to keep their colours (`CLICOLOR_FORCE=1`,
 * `FORCE_COLOR=1`); never a variable the user set, never with `NO_COLOR` or
 * `--no-color`, never off a terminal. Plus the pure function on its own.
 */
import assert from "node:assert/strict";
import { jobColorEnv } from "../../lib/runtime/color.ts";
import { ROOT, runJx, tempDir } from "../helpers.ts";

const JOBS = `
jobs:
  show: { run: "env | grep -E '^(CLICOLOR_FORCE|FORCE_COLOR)=' | sort | tr '\\\\n' ' '; echo end" }
  own:
    run: "echo own=$FORCE_COLOR"
    env: { FORCE_COLOR: "0" }
`;

/** The line of job `show` and `own` from jx's output. */
function seen(out: string): { show: string; own: string } {
  const show = /((?:\w+=\S+ )*)end/.exec(out)?.[1]?.trim() ?? "(no line)";
  const own = /own=(\S*)/.exec(out)?.[1] ?? "(no line)";
  return { show, own };
}

/** `jx run ARGS` under a pseudo-terminal, with `env`. */
async function onTerminal(dir: string, args: string, env: Record<string, string>) {
  const out = await new Deno.Command("script", {
    args: ["-qec", `${ROOT}/bin/jx run ${args}`, "/dev/null"],
    cwd: dir,
    env: { TERM: "xterm", NO_COLOR: "", ...env },
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stdout));
  // deno-lint-ignore no-control-regex
  return seen(new TextDecoder().decode(out.stdout).replace(/\x1b\[[0-9;]*[mK]|\r/g, ""));
}

Deno.test("jobs keep their colours on a colour terminal, unless told otherwise", async () => {
  const dir = await tempDir({ "jobs.yaml": JOBS });
  try {
    assert.deepEqual(await onTerminal(dir, "", {}), {
      show: "CLICOLOR_FORCE=1 FORCE_COLOR=1",
      own: "0",
    });
    assert.deepEqual((await onTerminal(dir, "", { NO_COLOR: "1" })).show, "");
    assert.deepEqual((await onTerminal(dir, "--no-color", {})).show, "");
    assert.deepEqual((await onTerminal(dir, "", { TERM: "dumb" })).show, "");
    assert.deepEqual(
      (await onTerminal(dir, "", { FORCE_COLOR: "0" })).show,
      "CLICOLOR_FORCE=1 FORCE_COLOR=0",
    );
    const piped = await runJx(["run"], { cwd: dir, env: { TERM: "xterm", NO_COLOR: "" } });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(seen(piped.stdout).show, "", "off a terminal: nothing added");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("jobColorEnv: only on a colour terminal, never over the user's own", () => {
  assert.deepEqual(jobColorEnv({}, true), { CLICOLOR_FORCE: "1", FORCE_COLOR: "1" });
  assert.deepEqual(jobColorEnv({}, false), {});
  assert.deepEqual(jobColorEnv({ NO_COLOR: "1" }, true), {});
  assert.deepEqual(jobColorEnv({ NO_COLOR: "" }, true), { CLICOLOR_FORCE: "1", FORCE_COLOR: "1" });
  assert.deepEqual(jobColorEnv({ CLICOLOR_FORCE: "0" }, true), { FORCE_COLOR: "1" });
  assert.deepEqual(jobColorEnv({ TERM: "dumb" }, true), {});
});
