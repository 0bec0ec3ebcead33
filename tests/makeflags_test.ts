/**
 * `parseMakeFlags`: what a job (or jx itself) reads from MAKEFLAGS, on the
 * cases a jobserver client must get right (as ninja's jobserver tests cover
 * them): no pool, the pipe form in both spellings, the fifo form, the last
 * auth winning, one-letter flags, variables after `--`, malformed values.
 */
import assert from "node:assert/strict";
import {
  formatMakeFlags,
  parseMakeFlags,
  stripJobserver,
  withAuth,
  withoutBadJobs,
} from "../lib/jobserver/makeflags.ts";

const auth = (v: string) => parseMakeFlags({ MAKEFLAGS: v }).auth;

Deno.test("makeflags: nothing set, blank or without a pool: no jobserver", () => {
  assert.deepEqual(parseMakeFlags({}), {
    dryRun: false,
    keepGoing: false,
    question: false,
    touch: false,
  });
  assert.equal(parseMakeFlags({ MAKEFLAGS: "   " }).source, undefined);
  assert.equal(auth(" -j4"), undefined);
  assert.equal(auth("s"), undefined);
});

Deno.test("makeflags: the pipe form, --jobserver-auth=R,W and the old --jobserver-fds=R,W", () => {
  assert.deepEqual(auth(" -j4 --jobserver-auth=3,4"), { style: "pipe", read: 3, write: 4 });
  assert.deepEqual(auth(" --jobserver-fds=10,42 -j"), { style: "pipe", read: 10, write: 42 });
  // make passes -1,-1 when the pool is closed to a non-recursive rule.
  assert.deepEqual(auth("--jobserver-auth=-1,-1"), { style: "pipe", read: -1, write: -1 });
});

Deno.test("makeflags: the fifo form keeps the whole path", () => {
  assert.deepEqual(auth(" -j8 --jobserver-auth=fifo:/tmp/GMfifo123"), {
    style: "fifo",
    path: "/tmp/GMfifo123",
  });
});

Deno.test("makeflags: when several are given, the last one wins", () => {
  assert.deepEqual(auth("--jobserver-auth=3,4 --jobserver-fds=5,6 --jobserver-auth=fifo:/f"), {
    style: "fifo",
    path: "/f",
  });
  assert.deepEqual(auth("--jobserver-auth=fifo:/f --jobserver-auth=7,8"), {
    style: "pipe",
    read: 7,
    write: 8,
  });
});

Deno.test("makeflags: a malformed auth is no jobserver (not a crash)", () => {
  for (
    const bad of [
      "--jobserver-auth=",
      "--jobserver-auth=3",
      "--jobserver-auth=a,b",
      "--jobserver-auth=3,",
    ]
  ) {
    assert.equal(auth(bad), undefined, bad);
  }
});

Deno.test("makeflags: a malformed auth is kept as badAuth (make 4.4: invalid --jobserver-auth string), the last one winning", () => {
  const flags = (v: string) => parseMakeFlags({ MAKEFLAGS: v });
  assert.equal(flags(" -j4 --jobserver-auth=abc").badAuth, "abc");
  assert.equal(flags(" -j4 --jobserver-auth=3,4,5").badAuth, "3,4,5");
  assert.equal(flags("--jobserver-auth=3,4 --jobserver-auth=x").auth, undefined);
  assert.equal(flags("--jobserver-auth=x --jobserver-auth=3,4").badAuth, undefined);
  assert.equal(flags(" -j4").badAuth, undefined);
});

Deno.test("makeflags: -jN, one-letter flags in the first word only, variables after --", () => {
  const f = parseMakeFlags({ MAKEFLAGS: "kn -j3 --jobserver-auth=3,4 -- CC=--jobserver-auth=9,9" });
  assert.deepEqual(f, {
    auth: { style: "pipe", read: 3, write: 4 },
    jobs: 3,
    dryRun: true,
    keepGoing: true,
    question: false,
    touch: false,
    source: "MAKEFLAGS",
  });
  assert.deepEqual(
    [parseMakeFlags({ MAKEFLAGS: "qt" }).question, parseMakeFlags({ MAKEFLAGS: "qt" }).touch],
    [true, true],
  );
  // A leading space means no one-letter flags; an option first is not a flag word.
  assert.equal(parseMakeFlags({ MAKEFLAGS: " -k" }).keepGoing, false);
  assert.equal(parseMakeFlags({ MAKEFLAGS: "--no-print-directory" }).dryRun, false);
  assert.equal(parseMakeFlags({ MAKEFLAGS: "X=kn" }).keepGoing, false);
});

Deno.test("makeflags: -j0 (no make writes it) is no -j: jx kept it as 0 slots, and refused every job", () => {
  assert.equal(parseMakeFlags({ MAKEFLAGS: " -j0 --jobserver-auth=3,4" }).jobs, undefined);
  assert.equal(parseMakeFlags({ MAKEFLAGS: " -j00" }).jobs, undefined);
  assert.equal(parseMakeFlags({ MAKEFLAGS: " -j02" }).jobs, 2);
});

Deno.test("makeflags: a fifo path with a blank is written and read as make 4.4 does (a backslash before it)", () => {
  // make 4.4.1 with TMPDIR="/tmp/my dir" gives its recipes this MAKEFLAGS.
  const fromMake = " -j2 --jobserver-auth=fifo:/tmp/my\\ dir/GMfifo17442 -- X=a\\ b";
  assert.deepEqual(auth(fromMake), { style: "fifo", path: "/tmp/my dir/GMfifo17442" });
  // A backslash is written as it is (make 4.4 with TMPDIR='/tmp/b\sl': fifo:/tmp/b\sl/GMfifo1).
  const fifo = { style: "fifo" as const, path: "/tmp/my dir/f\\x" };
  assert.equal(formatMakeFlags(3, fifo), " -j3 --jobserver-auth=fifo:/tmp/my\\ dir/f\\x");
  assert.deepEqual(auth(formatMakeFlags(3, fifo)), fifo);
  assert.equal(
    withAuth("k -j4 --jobserver-auth=3,4", fifo),
    "k -j4 --jobserver-auth=fifo:/tmp/my\\ dir/f\\x",
  );
  assert.equal(stripJobserver(fromMake), " -- X=a\\ b");
  assert.equal(
    withAuth(fromMake, { style: "pipe", read: 5, write: 6 }),
    " -j2 --jobserver-auth=5,6 -- X=a\\ b",
  );
});

Deno.test("makeflags: CARGO_MAKEFLAGS first, then MAKEFLAGS, then MFLAGS", () => {
  const env = {
    CARGO_MAKEFLAGS: "-j2 --jobserver-auth=fifo:/c",
    MAKEFLAGS: "-j3 --jobserver-auth=3,4",
    MFLAGS: "-j4 --jobserver-auth=5,6",
  };
  assert.equal(parseMakeFlags(env).source, "CARGO_MAKEFLAGS");
  assert.equal(parseMakeFlags({ ...env, CARGO_MAKEFLAGS: "" }).source, "MAKEFLAGS");
  assert.deepEqual(parseMakeFlags({ MFLAGS: "-j4 --jobserver-auth=5,6" }).jobs, 4);
});

Deno.test("makeflags: a -j make cannot read (-j-3, -jfoo, -j0) is badJobs and stripped; -j 3 is -j3", () => {
  for (const bad of ["-j-3", "-jfoo", "-j0", "-j3x"]) {
    const mf = parseMakeFlags({ MAKEFLAGS: `k ${bad} -- CC=cc` });
    assert.equal(mf.badJobs, bad);
    assert.equal(mf.jobs, undefined);
    assert.equal(stripJobserver(`k ${bad} -- CC=cc`), "k -- CC=cc");
    assert.equal(
      withAuth(`k ${bad}`, { style: "pipe", read: 5, write: 6 }),
      "k --jobserver-auth=5,6",
    );
  }
  assert.equal(parseMakeFlags({ MAKEFLAGS: "-j 3" }).jobs, 3);
  assert.equal(parseMakeFlags({ MAKEFLAGS: "-j 3" }).unlimited, undefined);
  assert.equal(parseMakeFlags({ MAKEFLAGS: "-j 3" }).badJobs, undefined);
  assert.equal(stripJobserver("k -j 3 -- CC=cc"), "k -- CC=cc");
  assert.equal(parseMakeFlags({ MAKEFLAGS: " -j --jobserver-auth=3,4" }).unlimited, true);
});

Deno.test("makeflags: withoutBadJobs leaves out only the -j words make cannot read", () => {
  assert.equal(withoutBadJobs("k -jfoo -j4 -j -j0 -j-3 -j02 -- CC=cc"), "k -j4 -j -j02 -- CC=cc");
  assert.equal(withoutBadJobs("-jfoo"), "");
});
