/**
 * The glob compiler: malformed globs are errors, matching is linear in the
 * path's length (counted, not timed), and it agrees with a regular
 * expression on well-formed globs.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  compileGlob,
  GlobError,
  globMatch,
  globProblem,
  globSteps,
  namedByAny,
  namesAnyOf,
  resourceNames,
  SHELL_GLOB,
} from "../lib/graph/glob.ts";

Deno.test("glob: malformed globs are GlobErrors, not internal errors", () => {
  for (const g of ["{a,b", "[z-a]", "src/[abc", "x/{a,{b,c}", "[!]", "a{b,c}[9-0].txt"]) {
    assert.throws(() => compileGlob(g), GlobError, g);
    assert.ok(globProblem(g), g);
  }
  assert.match(globProblem("[z-a]")!, /range 'z-a' is backwards/);
  assert.match(globProblem("{a,b")!, /'\{' without its closing '\}'/);
  assert.match(globProblem("{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}{s,t}{u,v}")!, /1024/);
  assert.match(globProblem("{".repeat(40) + "}".repeat(40))!, /nested deeper/);
  for (const g of ["src/*.c", "{a,b}/**", "[]a].txt", "[!]a]x", "a-z", "}{,}", "[a-]"]) {
    assert.equal(globProblem(g), undefined, g);
  }
});

Deno.test("glob: many stars cost length x tokens, never backtracking", () => {
  for (const stars of [10, 12, 30]) {
    const g = "*a".repeat(stars) + "b";
    for (const n of [40, 4000]) {
      const path = "a".repeat(n);
      const before = globSteps.count;
      assert.equal(globMatch(g, path), false);
      assert.equal(globMatch(`**/${g}`, `x/${path}`), false);
      assert.equal(globMatch(g, path + "b"), true);
      const tokens = g.length + 1;
      assert.ok(globSteps.count - before <= 3 * (n + 3) * tokens, `${stars} stars, ${n} chars`);
    }
  }
});

/** The regular expression the loader used before (a reference for well-formed globs). */
function reference(glob: string): RegExp {
  let out = "";
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const slashAfter = glob[i + 2] === "/";
        out += slashAfter ? "(?:.*/)?" : ".*";
        i += slashAfter ? 2 : 1;
      } else out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else if (c === "{") depth++, out += "(?:";
    else if (c === "}" && depth > 0) depth--, out += ")";
    else if (c === "," && depth > 0) out += "|";
    else if (c === "[") out += "[ab]", i += 3;
    else out += c.replace(/[.+^$()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${out}$`);
}

Deno.test("glob: agrees with a regular expression on 3,000 seeded random globs and paths", () => {
  let seed = 42;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const parts = ["a", "b", "/", "*", "**", "**/", "?", "[ab]", "{a,b/}", "{,a*}", "."];
  const chars = ["a", "b", "/", "."];
  for (let round = 0; round < 3000; round++) {
    const g = Array.from({ length: 1 + rnd(6) }, () => parts[rnd(parts.length)]).join("");
    const re = reference(g);
    for (let k = 0; k < 8; k++) {
      const p = Array.from({ length: rnd(9) }, () => chars[rnd(chars.length)]).join("");
      assert.equal(globMatch(g, p), re.test(p), `${g} ~ ${p}`);
    }
  }
});

Deno.test("glob: the shell dialect has no braces or **, and malformed parts are literal", () => {
  const sh = (g: string, p: string) => compileGlob(g, SHELL_GLOB).test(p);
  assert.ok(sh("{a,b}", "{a,b}"));
  assert.ok(!sh("**", "a/b"));
  assert.ok(sh("**", "ab"));
  assert.ok(sh("[abc", "[abc"));
  assert.ok(!sh("[z-a]", "z"));
  assert.ok(sh("*.txt", "a.txt"));
  assert.ok(!sh("[!a]", "/"));
});

Deno.test("namedByAny: the same answers as resourceNames over every pattern (random patterns and paths)", () => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * n);
  };
  const parts = ["a", "b", "out", "x.o", "*.o", "**", "@l", "."];
  const path = () => Array.from({ length: 1 + rnd(3) }, () => parts[rnd(parts.length)]).join("/");
  for (let round = 0; round < 300; round++) {
    const patterns = Array.from({ length: rnd(20) }, path);
    const own = namedByAny(patterns);
    for (let k = 0; k < 20; k++) {
      const p = path().replaceAll("*", "s");
      assert.equal(own(p), patterns.some((w) => resourceNames(w, p)), `${patterns} ${p}`);
    }
  }
});

Deno.test("namesAnyOf: the same answers as resourceNames over every path (random patterns and paths)", () => {
  let seed = 11;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * n);
  };
  const parts = ["a", "b", "out", "x.o", "*.o", "**", "@l", ".", ""];
  const path = () => Array.from({ length: 1 + rnd(3) }, () => parts[rnd(parts.length)]).join("/");
  for (let round = 0; round < 300; round++) {
    const paths = Array.from({ length: rnd(20) }, () => path().replaceAll("*", "s"));
    const hit = namesAnyOf(paths);
    for (let k = 0; k < 20; k++) {
      const w = path();
      assert.equal(hit(w), paths.some((p) => resourceNames(w, p)), `${w} ${paths}`);
    }
  }
});
