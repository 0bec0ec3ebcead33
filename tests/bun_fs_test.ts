/**
 * runtime/bun_fs.ts on Bun (the no-op path's file calls without node:fs):
 * each answer is node:fs's for the same file, a link is never followed when
 * it must not be, and a failure leaves the answer to node:fs.
 */
import assert from "node:assert/strict";
import { BUN, ROOT } from "./helpers.ts";

Deno.test("bun_fs: statx, read, open and write through libc agree with node:fs (on Bun)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "jx-bunfs-" });
  await Deno.writeTextFile(`${dir}/file`, "x\n");
  await Deno.writeTextFile(`${dir}/empty`, "");
  await Deno.mkdir(`${dir}/dir`);
  await Deno.symlink(`${dir}/file`, `${dir}/link`);
  await Deno.symlink(`${dir}/nowhere`, `${dir}/dangling`);
  // Past the first 64 KiB buffer: the read grows it.
  await Deno.writeFile(`${dir}/big`, new Uint8Array(300_000).map((_, i) => i % 251));
  const p = await new Deno.Command(BUN, {
    args: [`${ROOT}/tests/bun/bun_fs_check.ts`, dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(p.stderr);
  assert.equal(p.code, 0, err);
  const r = JSON.parse(new TextDecoder().decode(p.stdout));
  for (const name of ["file", "dir", "link", "missing", "dangling"]) {
    assert.deepEqual(r[name].lstat ?? undefined, r[name].nodeLstat, `lstat ${name}`);
    assert.deepEqual(r[name].stat ?? undefined, r[name].nodeStat, `stat ${name}`);
  }
  assert.equal(r.file.stat.regular, true);
  assert.equal(r.dir.stat.regular, false);
  assert.equal(r.link.lstat.mode & 0o170000, 0o120000, "lstat sees the link itself");
  assert.equal(r.missing.lstat, null);
  assert.deepEqual(r.small, [true, true, true]);
  assert.deepEqual(
    [r.big.same, r.missingRead, r.nul, r.open, r.noFollow, r.written, r.inDir],
    [true, true, true, true, true, true, true],
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runtime/fs readBytesSync on Deno: whole files, also one that stat calls empty", async () => {
  const { readBytesSync } = await import("../lib/runtime/fs.ts");
  const dir = await Deno.makeTempDir({ prefix: "jx-readbytes-" });
  const big = new Uint8Array(300_001).map((_, i) => i % 251);
  await Deno.writeFile(`${dir}/big`, big);
  await Deno.writeFile(`${dir}/empty`, new Uint8Array(0));
  assert.deepEqual(readBytesSync(`${dir}/big`), big);
  assert.equal(readBytesSync(`${dir}/empty`).length, 0);
  // /proc's files stat as 0 bytes and hold more: read to their end, past the buffer first made.
  const status = readBytesSync("/proc/self/status");
  assert.ok(status.length > 100);
  assert.match(new TextDecoder().decode(status), /^Name:.*\n[\s\S]*VmRSS:/);
  assert.throws(() => readBytesSync(`${dir}/missing`), Deno.errors.NotFound);
  assert.throws(() => readBytesSync(dir), /: EISDIR: is a directory$/);
  const { readTextSync } = await import("../lib/runtime/fs.ts");
  assert.throws(
    () => readTextSync(`${dir}/missing`),
    /: ENOENT: no such file or directory, open '.*missing'$/,
  );
  await Deno.remove(dir, { recursive: true });
});
