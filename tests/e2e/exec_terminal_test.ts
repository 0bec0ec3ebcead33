/**
 * `jx exec` on a terminal (a pseudo-terminal from `script`): its command
 * keeps jx's controlling terminal, as under make or a shell. It ran in a
 * session of its own, with no controlling terminal: `/dev/tty` could not be
 * opened (`No such device or address`: sudo's, ssh's, git's prompts failed),
 * and a `jx exec ... &` read the terminal from under the shell. Now it is a
 * job of the terminal: the foreground one while jx is, Ctrl-C and Ctrl-Z
 * reach it from the terminal, and jx stops with it and goes on after `fg`.
 */
import assert from "node:assert/strict";
import { jxCommand, type Runtime, RUNTIMES, sleep, tempDir, waitForFile } from "../helpers.ts";

/**
 * Runs `command` under `script` (a pty), writing each step's text once its
 * delay (ms) has passed; the output once it has ended, and its exit code.
 */
async function underPty(command: string, steps: [number, string][]) {
  const dir = await tempDir();
  const child = new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    cwd: dir,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", TERM: "dumb", PS1: "$ " },
  }).spawn();
  const writer = child.stdin.getWriter();
  const typing = (async () => {
    for (const [ms, text] of steps) {
      await sleep(ms);
      await writer.write(new TextEncoder().encode(text));
    }
  })();
  const out = await child.output();
  await typing.catch(() => {});
  await Deno.remove(dir, { recursive: true });
  return { code: out.code, out: new TextDecoder().decode(out.stdout).replaceAll("\r", "") };
}

function jx(rt: Runtime, args: string[]): string {
  const [cmd, argv] = jxCommand(rt, args);
  return [cmd, ...argv].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
}

for (const rt of RUNTIMES.filter((r) => r !== "binary")) {
  Deno.test(`[${rt}] jx exec: the command has the terminal (/dev/tty), Ctrl-C reaches it`, async () => {
    const tty = jx(rt, [
      "exec",
      "--",
      "sh",
      "-c",
      "echo hi > /dev/tty && read x < /dev/tty && echo got $x",
    ]);
    const sleeper = jx(rt, ["exec", "--", "sh", "-c", "echo start; sleep 10; echo end"]);
    const r = await underPty("bash --norc --noprofile -i", [
      [300, `${tty}; echo rc=$?\n`],
      [1500, "typed\n"],
      [500, `${sleeper}\n`],
      [1500, "\x03"],
      [500, "echo rc=$?\n"],
      [300, "exit\n"],
    ]);
    assert.match(r.out, /\nhi\n/, r.out);
    assert.match(r.out, /got typed\nrc=0/, r.out);
    assert.match(r.out, /start\n[^]*rc=130/, r.out);
    assert.doesNotMatch(r.out, /\nend/, r.out);
  });

  Deno.test(`[${rt}] jx exec run by a script keeps its session (Ctrl-C reaches the script too)`, async () => {
    const cmd = jx(rt, ["exec", "--", "sh", "-c", "echo start; sleep 10; echo end"]);
    const r = await underPty(`${cmd}; echo rc=$?`, [[1500, "\x03"]]);
    assert.match(r.out, /start/, r.out);
    assert.doesNotMatch(r.out, /end|rc=/, r.out);
  });

  Deno.test(`[${rt}] jx exec: Ctrl-Z on the terminal stops the command and jx, fg goes on`, async () => {
    const cmd = jx(rt, ["exec", "--", "sh", "-c", "echo start; sleep 1.5; echo end"]);
    const r = await underPty("bash --norc --noprofile -i", [
      [300, `${cmd}\n`],
      [1000, "\x1a"],
      [1000, "jobs\n"],
      [500, "fg\n"],
      [2500, "echo rc=$?\n"],
      [300, "exit\n"],
    ]);
    assert.match(r.out, /Stopped/, r.out);
    assert.match(r.out, /end\n/, r.out);
    assert.match(r.out, /rc=0/, r.out);
  });

  Deno.test(`[${rt}] jx exec ... &: a read of the terminal stops it, as a shell's job, until fg`, async () => {
    const cmd = jx(rt, ["exec", "--", "sh", "-c", "read x; echo got $x"]);
    const r = await underPty("bash --norc --noprofile -i", [
      [300, `${cmd} &\n`],
      [1500, "echo the shell reads this\n"],
      [500, "fg\n"],
      [1000, "typed\n"],
      [1000, "echo rc=$?\n"],
      [300, "exit\n"],
    ]);
    assert.match(r.out, /Stopped/, r.out);
    assert.match(r.out, /\nthe shell reads this\n/, r.out);
    assert.match(r.out, /got typed/, r.out);
    assert.match(r.out, /rc=0/, r.out);
  });

  Deno.test(`[${rt}] jx exec with SIGHUP ignored (nohup) on a terminal: its hangup does not reach the command`, async () => {
    const dir = await tempDir();
    const cmd = jx(rt, [
      "exec",
      "--",
      "sh",
      "-c",
      `ps -o tpgid= -p $$ > ${dir}/tp; sleep 1.5; echo end > ${dir}/f`,
    ]);
    const pty = underPty("bash --norc --noprofile -i", [
      // nohup's own way, with the terminal left as stdin and stdout (nohup itself moves them).
      [300, `(trap '' HUP; exec ${cmd})\n`],
      [3000, "exit\n"],
    ]);
    // The hangup of a terminal: SIGHUP to its foreground process group.
    const tpgid = Number(await waitForFile(`${dir}/tp`));
    Deno.kill(-tpgid, "SIGHUP");
    await pty;
    assert.equal(await waitForFile(`${dir}/f`, 3000), "end");
    await Deno.remove(dir, { recursive: true });
  });
}
