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
import {
  jxCommand,
  parentOf,
  type Runtime,
  RUNTIMES,
  sleep,
  stateOf,
  tempDir,
  waitForFile,
} from "../helpers.ts";

/**
 * What a step of `underPty` waits for before it types: a delay (ms), or the output (since the
 * previous step's wait) matching a pattern, or the command (an `sh` below the pty) and jx (the
 * shell's job) both stopped (`T`: not jx alone, which a terminal may stop as it starts in the
 * background; not the command alone, before jx has seen it and stopped too), each
 * bounded (30 s). A delay is for what leaves no trace (a shell reading its next line); what
 * jx or its command does is waited for, not timed (a loaded machine starts them late).
 */
type Wait = number | RegExp | "stopped" | "command stopped";

/**
 * Runs `command` under `script` (a pty), writing each step's text once what it waits for has
 * come; the output once it has ended, and its exit code.
 */
async function underPty(command: string, steps: [Wait, string][]) {
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
  let out = "";
  const dec = new TextDecoder();
  const reading = child.stdout.pipeTo(
    new WritableStream({ write: (b) => void (out += dec.decode(b, { stream: true })) }),
  );
  const errors = new Response(child.stderr).text();
  let from = 0; // where the output the next wait looks at begins
  const typing = (async () => {
    for (const [wait, text] of steps) {
      if (typeof wait === "number") await sleep(wait);
      else {
        const until = Date.now() + 30_000;
        const seen = () =>
          wait === "stopped"
            ? stopped(child.pid)
            : wait === "command stopped"
            ? commandStopped(child.pid)
            : wait.test(out.slice(from).replaceAll("\r", ""));
        while (!seen()) {
          if (Date.now() > until) {
            throw new Error(
              `waited for ${wait} before typing ${JSON.stringify(text)}: ${JSON.stringify(out)}`,
            );
          }
          await sleep(20);
        }
      }
      from = out.length;
      await writer.write(new TextEncoder().encode(text));
    }
  })();
  // A wait that timed out fails the test, with what was shown (the pty ended: nothing more is
  // typed).
  let failed: unknown;
  typing.catch((e) => {
    failed = e;
    child.kill("SIGKILL");
  });
  const [status] = await Promise.all([child.status, reading, errors]);
  await typing.catch(() => {});
  if (failed) throw failed;
  await Deno.remove(dir, { recursive: true });
  return { code: status.code, out: out.replaceAll("\r", "") };
}

/**
 * Whether the command (`sh`) and jx (the child of the interactive bash) are stopped. The bash
 * is the topmost one below the pty: `script` runs the command by `$SHELL -c`, which is `sh`
 * where SHELL is unset (CI), and dash forks the bash rather than exec it.
 */
function stopped(pty: number): boolean {
  const all = below(pty);
  const bashes = new Set(all.filter((p) => commOf(p) === "bash"));
  const shell = [...bashes].find((p) => !bashes.has(parentOf(p)));
  const job = all.filter((p) => parentOf(p) === shell);
  return job.length > 0 && job.every((p) => stateOf(p) === "T") &&
    all.some((p) => commOf(p) === "sh" && stateOf(p) === "T");
}

/** Whether the command (an `sh` below the pty) is stopped, jx stopped or not. */
function commandStopped(pty: number): boolean {
  return below(pty).some((p) => commOf(p) === "sh" && stateOf(p) === "T");
}

/** A process's command name (`/proc/PID/comm`), "" once it is gone. */
function commOf(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return "";
  }
}

/** The processes below `root` (from /proc). */
function below(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const ppid = parentOf(e.name);
    if (ppid) kids.set(ppid, [...kids.get(ppid) ?? [], Number(e.name)]);
  }
  const out: number[] = [];
  for (const todo = [root]; todo.length;) {
    const p = todo.pop()!;
    for (const k of kids.get(p) ?? []) out.push(k), todo.push(k);
  }
  return out;
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
      [/\nhi\n/, "typed\n"], // the command has the terminal: it reads what is typed
      [/rc=0\n/, `${sleeper}\n`],
      [/start\n/, "\x03"], // its command runs
      [500, "echo rc=$?\n"],
      [/rc=\d+\n/, "exit\n"],
    ]);
    assert.match(r.out, /\nhi\n/, r.out);
    assert.match(r.out, /got typed\nrc=0/, r.out);
    assert.match(r.out, /start\n[^]*rc=130/, r.out);
    assert.doesNotMatch(r.out, /\nend/, r.out);
  });

  Deno.test(`[${rt}] jx exec run by a script keeps its session (Ctrl-C reaches the script too)`, async () => {
    const cmd = jx(rt, ["exec", "--", "sh", "-c", "echo start; sleep 10; echo end"]);
    const r = await underPty(`${cmd}; echo rc=$?`, [[/start\n/, "\x03"]]);
    assert.match(r.out, /start/, r.out);
    assert.doesNotMatch(r.out, /end|rc=/, r.out);
  });

  Deno.test(`[${rt}] jx exec: Ctrl-Z on the terminal stops the command and jx, fg goes on`, async () => {
    const cmd = jx(rt, ["exec", "--", "sh", "-c", "echo start; sleep 5; echo end"]);
    const r = await underPty("bash --norc --noprofile -i", [
      [300, `${cmd}\n`],
      // Its command runs (sleep 5), and has had the terminal for a while.
      [/start\n/, ""],
      [500, "\x1a"],
      ["stopped", "jobs\n"],
      [/Stopped/, "fg\n"],
      [/end\n/, "echo rc=$?\n"],
      [/rc=\d+\n/, "exit\n"],
    ]);
    assert.match(r.out, /Stopped/, r.out);
    assert.match(r.out, /end\n/, r.out);
    assert.match(r.out, /rc=0/, r.out);
  });

  Deno.test(`[${rt}] jx exec: Ctrl-Z typed as the command's first output shows stops it too (not continued by jx's hand-over of the terminal)`, async () => {
    const cmd = jx(rt, ["exec", "--", "sh", "-c", "echo start; sleep 5; echo end"]);
    const r = await underPty("bash --norc --noprofile -i", [
      [300, `${cmd}\n`],
      [/start\n/, "\x1a"],
      ["stopped", "jobs\n"],
      [/Stopped/, "fg\n"],
      [/end\n/, "echo rc=$?\n"],
      [/rc=\d+\n/, "exit\n"],
    ]);
    assert.match(r.out, /Stopped/, r.out);
    assert.match(r.out, /rc=0/, r.out);
  });

  Deno.test(`[${rt}] jx exec ... &: a read of the terminal stops it, as a shell's job, until fg`, async () => {
    const cmd = jx(rt, ["exec", "--", "sh", "-c", "read x; echo got $x"]);
    const r = await underPty("bash --norc --noprofile -i", [
      [300, `${cmd} &\n`],
      ["stopped", "echo the shell reads this\n"], // its read stopped it
      [/the shell reads this\n/, "fg\n"],
      [1000, "typed\n"],
      [/got typed\n/, "echo rc=$?\n"],
      [/rc=\d+\n/, "exit\n"],
    ]);
    assert.match(r.out, /Stopped/, r.out);
    assert.match(r.out, /\nthe shell reads this\n/, r.out);
    assert.match(r.out, /got typed/, r.out);
    assert.match(r.out, /rc=0/, r.out);
  });

  Deno.test(`[${rt}] jx exec ... &: fg typed as soon as the command stopped on its read of the terminal (jx maybe not stopped yet) gives it the terminal`, async () => {
    const cmd = jx(rt, ["exec", "--", "sh", "-c", "read x; echo got $x"]);
    const r = await underPty("bash --norc --noprofile -i", [
      [300, `${cmd} &\n`],
      ["command stopped", "fg\n"],
      [1000, "typed\n"],
      [/got typed\n/, "echo rc=$?\n"],
      [/rc=\d+\n/, "exit\n"],
    ]);
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
    assert.equal(await waitForFile(`${dir}/f`), "end");
    await Deno.remove(dir, { recursive: true });
  });
}
