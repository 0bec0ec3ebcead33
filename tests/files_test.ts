/**
 * runtime/files.ts, the full run's file calls without node:fs on Deno: the
 * same answers and the same error codes under Deno (Deno's own calls) and
 * Bun (node:fs), links never followed when opening (as O_NOFOLLOW).
 */
import assert from "node:assert/strict";
import { BUN, DENO, ROOT } from "./helpers.ts";

async function check(cmd: string, args: string[]): Promise<Record<string, unknown>> {
  const dir = await Deno.makeTempDir({ prefix: "jx-files-" });
  try {
    const p = await new Deno.Command(cmd, {
      args: [...args, `${ROOT}/tests/files_check.ts`, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(p.code, 0, new TextDecoder().decode(p.stderr));
    return JSON.parse(new TextDecoder().decode(p.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runtime/files: Deno and Bun agree, and a link is never opened", async () => {
  const deno = await check(DENO, ["run", "-A", "--quiet"]);
  const bun = await check(BUN, []);
  assert.deepEqual(deno, bun);
  assert.deepEqual(deno.readLink, { code: "ELOOP" });
  assert.deepEqual(deno.appendLink, { code: "ELOOP" });
  assert.deepEqual(deno.writeLink, { code: "ELOOP" });
  assert.deepEqual(deno.createThere, { code: "EEXIST" });
  assert.deepEqual(deno.createLink, { code: "EEXIST" });
  assert.deepEqual(deno.readMissing, { code: "ENOENT" });
  assert.equal(deno.linkTargetUnchanged, "hello");
  assert.equal(deno.appended, "one\ntwo\nthree\n");
  assert.equal(deno.appendStat, 14);
  assert.equal(deno.logMode, "600");
  assert.deepEqual(deno.readAt, [3, "two"]);
  assert.equal(deno.readPastEnd, 0);
  assert.equal(deno.rewritten, "new");
  assert.equal(deno.created, "x");
  assert.equal(deno.madeMode, "700");
  assert.equal(deno.chmod, "750");
  assert.equal(deno.readLinkRel, "target");
  assert.equal(deno.realPath, true);
  assert.deepEqual([deno.lstatLink, deno.lstatDir, deno.lstatFile], ["link", "dir", [
    "file",
    true,
  ]]);
  assert.deepEqual(deno.lstatMissing, { code: "ENOENT" });
  assert.deepEqual(deno.listMissing, { code: "ENOENT" });
  assert.deepEqual(deno.list, [
    "a:dir",
    "fresh:file",
    "link:link",
    "log:file",
    "rel:link",
    "target:file",
  ]);
  assert.deepEqual(deno.tempDir, [true, "700"]);
  assert.deepEqual(deno.order, ["B", "_", "a", "a0", "b", "é", "\uFF01", "\u{1F600}"]);
  assert.equal(deno.fullNotRemoved && (deno.fullNotRemoved as { code?: string }).code, "ENOTEMPTY");
  assert.deepEqual(deno.fileNotRemoved, [{ code: "ENOTDIR" }, true]);
  assert.deepEqual(deno.fifoId, ["", ""]);
});

Deno.test("runtime/files fifoIdOf: a pipe open here is one, by dev:ino, as node:fs says", async () => {
  const { fifoIdOf } = await import("../lib/runtime/files.ts");
  const { statSync } = await import("node:fs");
  const p = new Deno.Command("sleep", { args: ["5"], stdin: "piped" }).spawn();
  try {
    const path = `/proc/${p.pid}/fd/0`; // the child's stdin: the pipe from here
    const st = statSync(path);
    assert.equal(st.isFIFO(), true);
    assert.equal(fifoIdOf(path), `${st.dev}:${st.ino}`);
  } finally {
    await p.stdin.close();
    p.kill();
    await p.status;
  }
});
