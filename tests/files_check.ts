/**
 * Run by tests/files_test.ts under Deno and under Bun: each call of
 * runtime/files.ts on a scratch folder (`argv[2]`), what it gave or the
 * `code` it failed with, as JSON (the two runtimes must agree).
 */
import * as fs from "node:fs";
import {
  chmodPath,
  fifoIdOf,
  listDir,
  lstatOf,
  makeLink,
  makeTempDir,
  openFile,
  readLink,
  realPath,
  removeEmptyDir,
  removePath,
} from "../lib/runtime/files.ts";
import { mkdirpSync } from "../lib/runtime/fs.ts";

const dir = (globalThis as { Deno?: { args: string[] } }).Deno?.args[0] ??
  (globalThis as unknown as { process: { argv: string[] } }).process.argv[2];
const out: Record<string, unknown> = {};
const code = (f: () => unknown) => {
  try {
    return { ok: f() ?? true };
  } catch (e) {
    return { code: (e as { code?: string }).code ?? String(e) };
  }
};
fs.writeFileSync(`${dir}/target`, "hello");
fs.symlinkSync(`${dir}/target`, `${dir}/link`);
// Opening: never through a link; create refuses what is there; append and write create.
out.readLink = code(() => openFile(`${dir}/link`, "read"));
out.appendLink = code(() => openFile(`${dir}/link`, "append"));
out.writeLink = code(() => openFile(`${dir}/link`, "write"));
out.createThere = code(() => openFile(`${dir}/target`, "create"));
out.createLink = code(() => openFile(`${dir}/link`, "create"));
out.readMissing = code(() => openFile(`${dir}/missing`, "read"));
out.linkTargetUnchanged = fs.readFileSync(`${dir}/target`, "utf8");
const a = openFile(`${dir}/log`, "append", 0o600);
a.write("one\n");
a.write(new TextEncoder().encode("two\n"));
a.close();
const b = openFile(`${dir}/log`, "append");
b.write("three\n");
out.appendStat = b.stat().size;
b.close();
out.appended = fs.readFileSync(`${dir}/log`, "utf8");
out.logMode = (fs.statSync(`${dir}/log`).mode & 0o777).toString(8);
const r = openFile(`${dir}/log`, "read");
const buf = new Uint8Array(8);
out.readAt = [r.readAt(buf, 2, 3, 4), new TextDecoder().decode(buf.subarray(2, 5))];
out.readPastEnd = r.readAt(buf, 0, 8, 100);
out.readStat = r.stat().isFile;
r.close();
const w = openFile(`${dir}/log`, "write");
w.write("new");
w.sync();
w.close();
out.rewritten = fs.readFileSync(`${dir}/log`, "utf8");
const c = openFile(`${dir}/fresh`, "create");
c.write("x");
c.close();
out.created = fs.readFileSync(`${dir}/fresh`, "utf8");
// Folders, links, listing, removal.
mkdirpSync(`${dir}/a/b/c`, 0o700);
mkdirpSync(`${dir}/a/b/c`, 0o700); // there already: no error
out.madeMode = (fs.statSync(`${dir}/a/b/c`).mode & 0o777).toString(8);
chmodPath(`${dir}/a`, 0o750);
out.chmod = (fs.statSync(`${dir}/a`).mode & 0o777).toString(8);
makeLink("target", `${dir}/rel`);
out.readLinkRel = readLink(`${dir}/rel`);
out.realPath = realPath(`${dir}/rel`) === fs.realpathSync(`${dir}/target`);
out.lstatLink = lstatOf(`${dir}/rel`).kind;
out.lstatDir = lstatOf(`${dir}/a`).kind;
out.lstatFile = [
  lstatOf(`${dir}/target`).kind,
  lstatOf(`${dir}/target`).uid === fs.statSync(dir).uid,
];
out.lstatMissing = code(() => lstatOf(`${dir}/missing`));
out.list = listDir(dir).map((e) => `${e.name}:${e.kind}`).sort();
out.listMissing = code(() => listDir(`${dir}/missing`));
removePath(`${dir}/missing`); // not there: no error
removePath(`${dir}/rel`);
out.linkRemoved = !fs.existsSync(`${dir}/rel`) && fs.existsSync(`${dir}/target`);
out.removeTreeNonRecursive = code(() => removePath(`${dir}/a`)).code !== undefined;
removePath(`${dir}/a`, true);
out.treeRemoved = !fs.existsSync(`${dir}/a`);
fs.mkdirSync(`${dir}/e`);
fs.mkdirSync(`${dir}/f`);
fs.writeFileSync(`${dir}/f/x`, "");
removeEmptyDir(`${dir}/e`);
out.emptyRemoved = !fs.existsSync(`${dir}/e`);
out.fullNotRemoved = code(() => removeEmptyDir(`${dir}/f`));
out.fileNotRemoved = [code(() => removeEmptyDir(`${dir}/f/x`)), fs.existsSync(`${dir}/f/x`)];
out.fifoId = [fifoIdOf(`${dir}/target`), fifoIdOf(`${dir}/missing`)];
const t = makeTempDir(`${dir}/jx-t-`);
out.tempDir = [/\/jx-t-[A-Za-z0-9]{6}$/.test(t), (fs.statSync(t).mode & 0o777).toString(8)];
// Sorted by UTF-8 bytes on both runtimes, not in the file system's order.
fs.mkdirSync(`${dir}/order`);
for (const n of ["b", "a", "B", "\u{1F600}", "\uFF01", "é", "a0", "_"]) {
  fs.writeFileSync(`${dir}/order/${n}`, "");
}
out.order = listDir(`${dir}/order`).map((e) => e.name);
console.log(JSON.stringify(out));
