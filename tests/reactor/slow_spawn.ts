/**
 * A spawn that hangs must not hold back the other children (run by
 * tests/reactor_test.ts under strace, which delays the exec of `SLOW` by
 * 1.5 s): `deno run -A slow_spawn.ts SLOW`. Spawns SLOW, then a child that
 * prints after 0.3 s and exits; prints the times (ms) at which that child's
 * output and exit arrived, and the slow one's exit, as JSON.
 *
 * @module
 */
import { createEpollReactor } from "../../lib/reactor/epoll.ts";

const r = createEpollReactor();
const t0 = performance.now();
const at = () => Math.round(performance.now() - t0);
const env = { PATH: "/usr/bin:/bin" };
const times: Record<string, number> = {};
let left = 2;
const done = () => {
  if (--left) return;
  console.log(JSON.stringify(times));
  r.close();
};
r.spawn({
  argv: [Deno.args[0]],
  cwd: "/",
  env,
  onOutput() {},
  onExit: () => (times.slowExit = at(), done()),
});
setTimeout(() => {
  r.spawn({
    argv: ["/bin/sh", "-c", "sleep 0.3; echo out"],
    cwd: "/",
    env,
    onOutput: () => times.output ??= at(),
    onExit: () => (times.exit = at(), done()),
  });
  // A few quick ones, whose returns used to leave the guard unarmed.
  for (let i = 0; i < 4; i++) {
    r.spawn({ argv: ["/bin/true"], cwd: "/", env, onOutput() {}, onExit() {} });
  }
}, 100);
