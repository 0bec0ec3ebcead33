/**
 * A signal jx's parent left ignored (`nohup jx run`: SIGHUP) stays ignored,
 * as under make: jx goes on and its jobs end as they would have. On Deno the
 * first signal listener (jx's own for SIGXFSZ) had installed a handler for
 * SIGHUP, SIGINT and SIGTERM, and such a signal, with no listener, killed jx.
 * SIGUSR1, which Deno handles (it did nothing), killed jx on Bun: it does
 * nothing on both now.
 */
import assert from "node:assert/strict";
import { jxCommand, RUNTIMES, tempDir, waitForFile } from "../helpers.ts";

const JOBS = `version: 1
jobs:
  s:
    run: 'echo 1 > ready; sleep 1; echo done "$@"'
`;

/** Runs jx `args` in `dir` with `sig` ignored (as nohup does), sends it `sig` once `ready` exists. */
async function ignoring(sig: "SIGHUP" | "SIGINT", rt: (typeof RUNTIMES)[number], args: string[]) {
  const dir = await tempDir({ "jobs.yaml": JOBS, "s.sh": "echo 1 > ready\nsleep 1\necho done\n" });
  const [cmd, argv] = jxCommand(rt, args);
  const trap = sig === "SIGHUP" ? "HUP" : "INT";
  const child = new Deno.Command("sh", {
    args: ["-c", `trap '' ${trap}; exec "$@"`, "sh", cmd, ...argv],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await waitForFile(`${dir}/ready`);
  Deno.kill(child.pid, sig);
  const out = await child.output();
  await Deno.remove(dir, { recursive: true });
  const dec = new TextDecoder();
  return {
    code: out.code,
    signal: out.signal,
    said: dec.decode(out.stdout) + dec.decode(out.stderr),
  };
}

for (const rt of RUNTIMES) {
  Deno.test(`${rt}: a SIGHUP ignored when jx started (nohup) is ignored: run, exec, sh go on`, async () => {
    for (
      const args of [["run", "s", "--", "x"], ["exec", "--", "sh", "s.sh"], ["sh", "s.sh"], [
        "exec",
        "--jobserver-style",
        "none",
        "--",
        "sh",
        "s.sh",
      ]]
    ) {
      const r = await ignoring("SIGHUP", rt, args);
      assert.equal(r.signal, null, `${args.join(" ")}: ${r.said}`);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.said}`);
      assert.match(r.said, /done/, args.join(" "));
    }
  });

  Deno.test(`${rt}: a SIGINT ignored when jx started (cmd & in a script) is ignored`, async () => {
    const r = await ignoring("SIGINT", rt, ["run", "s"]);
    assert.equal(r.signal, null, r.said);
    assert.equal(r.code, 0, r.said);
    assert.match(r.said, /done/);
  });
}

const WAITS = `awk '/^SigIgn/ {print $2}' /proc/$$/status > ign; echo 1 > ready
until [ -e go ]; do sleep 0.02; done; echo done`;

for (const rt of RUNTIMES) {
  Deno.test(`${rt}: SIGUSR1 to jx run, jx sh, jx exec does not end it (Bun's killed it, as Deno's did not); its jobs do not inherit it ignored`, async () => {
    for (const args of [["run", "s"], ["sh", "s.sh"], ["exec", "--", "sh", "s.sh"]]) {
      const dir = await tempDir({
        "jobs.yaml": `jobs:\n  s:\n    run: |\n${WAITS.replace(/^/gm, "      ")}\n`,
        "s.sh": WAITS + "\n",
      });
      const [cmd, argv] = jxCommand(rt, args);
      const child = new Deno.Command(cmd, {
        args: argv,
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      await waitForFile(`${dir}/ready`);
      Deno.kill(child.pid, "SIGUSR1");
      await Deno.writeTextFile(`${dir}/go`, "");
      const out = await child.output();
      const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      const ign = BigInt("0x" + (await Deno.readTextFile(`${dir}/ign`)).trim());
      await Deno.remove(dir, { recursive: true });
      assert.deepEqual([out.signal, out.code], [null, 0], `${args.join(" ")}: ${said}`);
      assert.match(said, /done/, args.join(" "));
      assert.equal((ign >> 9n) & 1n, 0n, `${args.join(" ")}: SIGUSR1 ignored in the job`);
    }
  });
}
