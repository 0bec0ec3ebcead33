/**
 * Run by tests/bun_fs_test.ts under Bun: each call of runtime/bun_fs.ts on
 * the files of `Bun.argv[2]` beside what `node:fs` says of them, as JSON.
 */
import * as fs from "node:fs";
import {
  isRegular,
  openRw,
  readFileBytes,
  statMode,
  writeBytes,
} from "../../lib/runtime/bun_fs.ts";
import { inDir, ST, statUnder } from "../../lib/state/stat.ts";

const dir = process.argv[2];
const out: Record<string, unknown> = {};
for (const name of ["file", "dir", "link", "missing", "dangling"]) {
  const p = `${dir}/${name}`;
  const l = statMode(p, false), s = statMode(p, true);
  let nl: fs.Stats | undefined, ns: fs.Stats | undefined;
  try {
    nl = fs.lstatSync(p);
  } catch { /* absent */ }
  try {
    ns = fs.statSync(p);
  } catch { /* absent */ }
  out[name] = {
    lstat: l && { mode: l.mode, uid: l.uid },
    nodeLstat: nl && { mode: nl.mode, uid: nl.uid },
    stat: s && { mode: s.mode, uid: s.uid, regular: isRegular(s.mode) },
    nodeStat: ns && { mode: ns.mode, uid: ns.uid, regular: ns.isFile() },
  };
}
const big = readFileBytes(`${dir}/big`);
out.big = { same: !!big && Buffer.compare(Buffer.from(big), fs.readFileSync(`${dir}/big`)) === 0 };
out.missingRead = readFileBytes(`${dir}/missing`) === undefined;
const same = (p: string) =>
  Buffer.compare(Buffer.from(readFileBytes(p)!), fs.readFileSync(p)) === 0;
// Empty; a /proc file whose stat says 0 bytes; a file over a page.
out.small = [same(`${dir}/empty`), same("/proc/version"), same(`${dir}/file`)];
out.nul = statMode(`${dir}/file\0x`, true) === undefined;
const fd = openRw(`${dir}/new.lock`, 0o644);
out.open = fd !== undefined && fs.fstatSync(fd!).isFile();
out.noFollow = openRw(`${dir}/link`, 0o644) === undefined; // a link is never opened
const left = fd === undefined ? undefined : writeBytes(fd, new TextEncoder().encode("1234 run\n"));
out.written = left?.length === 0 && fs.readFileSync(`${dir}/new.lock`, "utf8") === "1234 run\n";
// Stats under a folder held open (state/stat.ts inDir) say what stats by full path say.
const rels = ["file", "dir", "link", "missing", "dangling", ".", "dir/..", "file/x"];
const stamp = (kind: number) => [kind, ST.size, ST.mtimeMs, ST.ino, ST.ctimeMs];
const byPath = rels.map((r) => stamp(statUnder(`${dir}/`, r)));
const fds = fs.readdirSync("/proc/self/fd").length;
out.inDir =
  JSON.stringify(inDir(`${dir}/`, () => rels.map((r) => stamp(statUnder(`${dir}/`, r))))) ===
    JSON.stringify(byPath) && fs.readdirSync("/proc/self/fd").length === fds;
console.log(JSON.stringify(out));
