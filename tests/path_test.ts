/**
 * runtime/path.ts answers as `node:path`'s POSIX functions do, on a fixed
 * corpus of awkward paths and on seeded random ones.
 */
import assert from "node:assert/strict";
import * as node from "node:path";
import * as ours from "../lib/runtime/path.ts";

/** Paths made of the parts that make path arithmetic hard. */
function corpus(): string[] {
  const fixed = [
    "",
    ".",
    "..",
    "/",
    "//",
    "///",
    "a",
    "a/",
    "/a",
    "//a",
    "///a",
    "//a/b",
    "a//b",
    "a/./b",
    "a/../b",
    "../a",
    "../../a/b",
    "/..",
    "/../a",
    "a/..",
    "a/../..",
    "./",
    "./a",
    "a/b/c/",
    ".a",
    "a.",
    "..a",
    "a..",
    "/a/b/../../..",
    "jobs.yaml",
    "/p/.jx/graph-jobs.yaml.json",
    "ç/é",
    "a b/c",
  ];
  const parts = ["", ".", "..", "a", "bc", ".x", "/", "//"];
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const random: string[] = [];
  for (let i = 0; i < 3000; i++) {
    let p = rnd(3) === 0 ? "/" : "";
    const n = rnd(6);
    for (let k = 0; k < n; k++) p += parts[rnd(parts.length)] + (rnd(4) ? "/" : "");
    random.push(p);
  }
  return [...fixed, ...random];
}

Deno.test("runtime/path: dirname, basename, normalize, isAbsolute as node:path", () => {
  for (const p of corpus()) {
    assert.equal(ours.dirname(p), node.posix.dirname(p), `dirname(${JSON.stringify(p)})`);
    assert.equal(ours.basename(p), node.posix.basename(p), `basename(${JSON.stringify(p)})`);
    assert.equal(ours.normalize(p), node.posix.normalize(p), `normalize(${JSON.stringify(p)})`);
    assert.equal(ours.isAbsolute(p), node.posix.isAbsolute(p), `isAbsolute(${JSON.stringify(p)})`);
  }
});

Deno.test("runtime/path: join, resolve, relative as node:path", () => {
  const all = corpus();
  for (let i = 0; i + 2 < all.length; i += 3) {
    const [a, b, c] = [all[i], all[i + 1], all[i + 2]];
    const show = JSON.stringify([a, b, c]);
    assert.equal(ours.join(a, b, c), node.posix.join(a, b, c), `join${show}`);
    assert.equal(ours.join(a), node.posix.join(a), `join(${JSON.stringify(a)})`);
    assert.equal(ours.resolve(a, b, c), node.posix.resolve(a, b, c), `resolve${show}`);
    assert.equal(ours.resolve(a), node.posix.resolve(a), `resolve(${JSON.stringify(a)})`);
    assert.equal(ours.relative(a, b), node.posix.relative(a, b), `relative${show}`);
  }
  assert.equal(ours.resolve(), node.posix.resolve());
  assert.equal(ours.join(), node.posix.join());
});
