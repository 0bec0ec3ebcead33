/**
 * A second process on one local store, for tests/cache_test.ts:
 * `write DIR N` stores N entries (keys k0..kN-1, 256 KiB blobs whose bytes
 * follow from the key, so every writer writes the same thing) through the
 * store's public calls; `prune DIR MS` prunes the store to nothing again and
 * again for MS milliseconds; `churn DIR MS` stores entries k0..k7 and prunes
 * them all again and again for MS milliseconds (new blob files, new memos,
 * each removed with its blob); `restore DIR` stores blob 0 and copies it out
 * twice, printing how many files were hashed. Prints "done" at the end.
 */
import { LocalStore } from "../lib/cache/mod.ts";
import { hashed } from "../lib/cache/blobfile.ts";
import { blobOf, entryOf, hex } from "./cache_fixtures.ts";

const [mode, dir, arg] = Deno.args;
const store = new LocalStore(dir);
if (mode === "write") {
  for (let i = 0; i < Number(arg); i++) {
    const blob = blobOf(i);
    store.putBlob(blob);
    store.putEntry(entryOf(i, blob));
  }
} else if (mode === "prune") {
  const end = Date.now() + Number(arg);
  while (Date.now() < end) store.prune(0);
} else if (mode === "churn") {
  const end = Date.now() + Number(arg);
  while (Date.now() < end) {
    for (let i = 0; i < 8; i++) store.putBlob(blobOf(i)), store.putEntry(entryOf(i, blobOf(i)));
    store.prune(0);
  }
} else if (mode === "restore") {
  store.putBlob(blobOf(0));
  for (const n of [1, 2]) store.copyBlob(hex(blobOf(0)), `${dir}/out${n}`);
  console.log(`hashed ${hashed.files}`);
}
console.log("done");
