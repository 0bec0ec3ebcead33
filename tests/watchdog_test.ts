/**
 * The watchdog's lines (lib/reactor/watchdog.ts) on the fake reactor: what is
 * written to it, when, and when it is started at all. Its effect on real
 * processes is tests/e2e/watchdog_test.ts's.
 */
import assert from "node:assert/strict";
import { FakeReactor, type SpawnRequest } from "../lib/reactor/mod.ts";
import { guardReactor, tokenTeller, WATCHDOG_NAME } from "../lib/reactor/watchdog.ts";

/** A fake reactor whose watchdog runs until the reactor closes; jobs run `ms` each. */
function fake(ms = 10): FakeReactor {
  return new FakeReactor((req) => ({ ms: req.argv[3] === WATCHDOG_NAME ? 1e9 : ms }));
}

const job = (name: string, more: Partial<SpawnRequest> = {}): SpawnRequest => ({
  argv: [name],
  cwd: "/",
  env: {},
  onOutput() {},
  onExit() {},
  ...more,
});

const turn = () => Promise.resolve();

Deno.test("watchdog: none is started while nothing is spawned", () => {
  const inner = fake();
  const r = guardReactor(inner, 5000);
  r.setTimer(5, () => {});
  r.close();
  assert.deepEqual(inner.records, []);
});

Deno.test("watchdog: started before the first child, in its own session, told the grace", () => {
  const inner = fake();
  const r = guardReactor(inner, 2345);
  r.spawn(job("a"));
  const [w, a] = inner.records;
  assert.deepEqual([w.argv[0], w.argv[1], w.argv[3], w.argv[4]], [
    "/bin/sh",
    "-c",
    WATCHDOG_NAME,
    "24",
  ]);
  assert.deepEqual(a.argv, ["a"]);
  r.close();
  assert.equal(inner.records.length, 2);
});

Deno.test("watchdog: each group is listed as it starts (a kill -9 later in that turn left it running), its end at the end of the turn", async () => {
  const inner = fake();
  const r = guardReactor(inner, 5000);
  for (const n of ["a", "b", "c"]) r.spawn(job(n));
  // Each spawn is in flight (`s`) until its pid is known (`d`).
  assert.deepEqual(inner.records[0].stdin, [
    "s\n",
    "+1001\nd\n",
    "s\n",
    "+1002\nd\n",
    "s\n",
    "+1003\nd\n",
  ]);
  r.setTimer(50, () => r.close());
  await inner.run();
  assert.deepEqual(inner.records[0].stdin.slice(6), [
    // The fake ends each child in an event of its own: a write each.
    "-1001\n",
    "-1002\n",
    "-1003\n",
    "q\n",
  ]);
  assert.equal(inner.records[0].stdinClosed, true);
});

Deno.test("watchdog: an end seen goes with the next start's line", async () => {
  const inner = fake();
  const r = guardReactor(inner, 5000);
  r.spawn(job("a"));
  r.hold(77)();
  r.hold(78);
  await turn();
  assert.deepEqual(inner.records[0].stdin, ["s\n", "+1001\nd\n", "+77\n", "-77\n+78\n"]);
});

Deno.test("watchdog: holds are counted; a group ended and listed again in one turn stays listed", async () => {
  const inner = fake();
  const r = guardReactor(inner, 5000);
  r.spawn(job("a"));
  const one = r.hold(50), two = r.hold(50);
  await turn();
  one();
  await turn();
  two();
  two();
  await turn();
  const again = r.hold(50);
  await turn();
  // A module's leader ended (its spawn's listing dropped), its group followed (held again).
  again();
  const follow = r.hold(50);
  await turn();
  follow();
  await turn();
  assert.deepEqual(inner.records[0].stdin, [
    "s\n",
    "+1001\nd\n",
    "+50\n",
    "-50\n",
    "+50\n",
    "-50\n+50\n",
    "-50\n",
  ]);
});

/** `inner` named as the epoll reactor, whose writes to the watchdog are made at once. */
const asEpoll = (inner: FakeReactor): FakeReactor =>
  Object.defineProperty(inner, "name", { value: "epoll" });

Deno.test("watchdog: told the tokens of make's pool jx holds, with where they go back, once", () => {
  const inner = asEpoll(fake());
  const r = guardReactor(inner, 5000);
  const tell = tokenTeller(r, { fd: 7 })!;
  tell(2);
  r.spawn(job("a"));
  tell(1);
  assert.deepEqual(inner.records[0].stdin, ["w7\nt2\n", "s\n", "+1001\nd\n", "t1\n"]);
  // A fifo's name the script could not take as it is: none written back.
  assert.equal(tokenTeller(r, { fifo: "/tmp/a b" }), undefined);
  assert.ok(tokenTeller(r, { fifo: "/tmp/GMfifo42" }));
  // Not the epoll reactor (a write may wait): none.
  assert.equal(tokenTeller(guardReactor(fake(), 5000), { fd: 7 }), undefined);
  r.close();
  // Closed with a group listed: it writes no token back (jx gave them back, or can say no more).
  assert.deepEqual(inner.records[0].stdin.slice(4), ["t0\n"]);
});

Deno.test("watchdog: an interactive child (jx's own group) is not listed and starts none", () => {
  const inner = fake();
  const r = guardReactor(inner, 5000);
  r.spawn(job("vi", { terminal: true }));
  assert.deepEqual(inner.records.map((x) => x.argv[0]), ["vi"]);
  r.close();
});

Deno.test("watchdog: once it has exited nothing more is written", async () => {
  const inner = new FakeReactor((req) => ({ ms: req.argv[3] === WATCHDOG_NAME ? 5 : 100 }));
  const r = guardReactor(inner, 5000);
  r.spawn(job("a"));
  r.setTimer(20, () => r.spawn(job("b")));
  r.setTimer(50, () => r.close());
  await inner.run();
  assert.deepEqual(inner.records[0].stdin, ["s\n", "+1001\nd\n"]);
  assert.deepEqual(inner.records.map((x) => x.argv[0]), ["/bin/sh", "a", "b"]);
});

Deno.test("watchdog: closed with a group still listed (jx abandons it), it is not told to quit", async () => {
  const inner = fake(1000);
  const r = guardReactor(inner, 5000);
  r.spawn(job("a"));
  await turn();
  r.close();
  assert.deepEqual(inner.records[0].stdin, ["s\n", "+1001\nd\n"]);
  assert.equal(inner.records[0].stdinClosed, true);
});
