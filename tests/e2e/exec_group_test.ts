/**
 * `jx exec`: what the command leaves in its process group when it exits (`sh -c 'server &'`) is
 * ended, as a job's group is at a stop: SIGTERM, SIGKILL after the grace. It was left running,
 * orphaned, with the pool's descriptors, once jx had exited with the command's status.
 */
import assert from "node:assert/strict";
import { jxCommand, runJx, RUNTIMES, sleep, tempDir } from "../helpers.ts";

/** Whether `pid` is a live process (not gone, not a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

/** Whether `pid` stops being alive within `ms`. */
async function gone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (!alive(pid)) return true;
  return !alive(pid);
}

for (const rt of RUNTIMES) {
  Deno.test(`${rt}: jx exec ends what its command left running in its process group`, async () => {
    const dir = await tempDir({});
    const pids: number[] = [];
    try {
      // A background sleep with its output elsewhere: sh exits at once.
      let r = await runJx(
        ["exec", "--", "sh", "-c", "sleep 300 > /dev/null 2>&1 & echo $! > bg.pid; echo started"],
        { cwd: dir, runtime: rt },
      );
      pids.push(Number(Deno.readTextFileSync(`${dir}/bg.pid`)));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "started\n");
      assert.match(
        r.stderr,
        /^jx: warning: exec: 'sh' exited and left a process of its process group running, pid \d+ \(sleep\): sent SIGTERM \(SIGKILL after 5s\)\n$/,
      );
      assert.ok(await gone(pids[0], 10_000), "the background sleep was left running");
      // One that ignores SIGTERM: killed after the grace; jx's status is still the command's.
      const began = Date.now();
      r = await runJx(
        [
          "exec",
          "--",
          "sh",
          "-c",
          `trap '' TERM; sleep 300 > /dev/null 2>&1 & echo $! > bg.pid; exit 3`,
        ],
        { cwd: dir, runtime: rt },
      );
      pids.push(Number(Deno.readTextFileSync(`${dir}/bg.pid`)));
      assert.equal(r.code, 3, r.stderr);
      assert.ok(Date.now() - began >= 4500, "SIGKILL came before the grace");
      assert.ok(await gone(pids[1], 10_000), "the sleep that ignores SIGTERM was left running");
      // A stderr that cannot take the warning (a full device): the processes are ended all the
      // same, and jx's status is the command's (it was 1, the sleep left running).
      const [cmd, argv] = jxCommand(rt, [
        "exec",
        "--",
        "sh",
        "-c",
        "sleep 300 > /dev/null 2>&1 & echo $! > bg.pid; exit 4",
      ]);
      const full = await new Deno.Command("sh", {
        args: ["-c", 'exec "$@" 2>/dev/full', "sh", cmd, ...argv],
        cwd: dir,
        stdin: "null",
      }).output();
      pids.push(Number(Deno.readTextFileSync(`${dir}/bg.pid`)));
      assert.equal(full.code, 4);
      assert.ok(await gone(pids[2], 10_000), "the background sleep was left running (stderr full)");
      // Nothing left: no word, no wait.
      r = await runJx(["exec", "--", "sh", "-c", "sleep 0.1 & wait"], { cwd: dir, runtime: rt });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
    } finally {
      for (const pid of pids) if (alive(pid)) Deno.kill(pid, "SIGKILL");
      await Deno.remove(dir, { recursive: true });
    }
  });
}
