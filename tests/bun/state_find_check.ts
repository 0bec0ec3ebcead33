/**
 * Run by tests/state_test.ts under Bun (where `lastIndexOfBytes` is Bun's
 * native `Buffer.lastIndexOf`): a partial read of the state log from its
 * end finds, for random sets of jobs, the rows the full read finds; and
 * `lastIndexOfBytes` agrees with a plain search on random bytes. Prints
 * "ok" or the first difference (exit 1).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { lastIndexOfBytes } from "../../lib/runtime/bytes.ts";
import { ABSENT, FILE, inDir, statUnderBytes } from "../../lib/state/stat.ts";
import { partialReadDifference, seeded, stateLogText } from "../state_log_cases.ts";

const rand = seeded(11);
const fail = (what: string) => {
  console.log(what);
  process.exit(1);
};

// Bytes: a needle of 1-4 bytes from a 3-letter alphabet, every start position.
for (let round = 0; round < 300; round++) {
  const hay = Uint8Array.from({ length: rand(200) }, () => 97 + rand(3));
  const needle = Uint8Array.from({ length: 1 + rand(4) }, () => 97 + rand(3));
  const pos = rand(hay.length + 2) - 1;
  let want = -1;
  for (let i = Math.min(pos, hay.length - needle.length); i >= 0 && want < 0; i--) {
    if (needle.every((b, k) => hay[i + k] === b)) want = i;
  }
  const got = lastIndexOfBytes(hay, needle, pos);
  if (got !== want) fail(`lastIndexOfBytes round ${round}: ${got} != ${want}`);
}

// A record's path with no NUL to end it (damage): failed on Bun too, nothing read past the bytes.
{
  const d = mkdtempSync(`${tmpdir()}/jx-test-`) + "/";
  writeFileSync(`${d}a.txt`, "a");
  const cut = new TextEncoder().encode("a.txt");
  const whole = new TextEncoder().encode("a.txt\0");
  const kinds = inDir(d, () => [statUnderBytes(d, cut, 0), statUnderBytes(d, whole, 0)]);
  rmSync(d, { recursive: true });
  if (kinds.join() !== `${ABSENT},${FILE}`) fail(`statUnderBytes without a NUL: ${kinds}`);
}

// The partial reads of a log against its full read.
const dir = mkdtempSync(`${tmpdir()}/jx-test-`);
mkdirSync(`${dir}/.jx`, { mode: 0o700 });
writeFileSync(`${dir}/.jx/state.ndjson`, stateLogText(rand));
const diff = partialReadDifference(dir, rand);
rmSync(dir, { recursive: true });
if (diff) fail(diff);
console.log("ok");
