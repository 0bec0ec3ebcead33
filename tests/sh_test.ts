/**
 * `jx sh` without processes: the parser, what each command reads and writes,
 * the plan's ordering and expansion rules, and the state prelude and dump.
 */
import assert from "node:assert/strict";
import {
  type Access,
  conflicts,
  deriveAccess,
  formatGraph,
  initialState,
  jobAccess,
  jobScript,
  MAX_NESTING,
  nodeText,
  parseDump,
  parseScript,
  type ShJob,
  type ShNode,
  ShPlan,
} from "../lib/sh/mod.ts";

const ctx = {
  resolve: (n: string) => ({ f: "a.txt", sp: "a b" } as Record<string, string>)[n],
  functions: new Set(["fn"]),
};

function access(line: string): Access {
  const r = parseScript(line + "\n");
  assert.equal(r.error, undefined, r.error?.message ?? "");
  return deriveAccess(r.items[0].node, r.src, ctx);
}
const paths = (refs: { path: string }[]) => refs.map((r) => r.path);

Deno.test("parse: commands, lists, compounds, positions", () => {
  const r = parseScript(
    "a=1 b=2 cmd x 'y z' >out 2>&1 &\n" +
      "p | q && r || s\n" +
      "if t; then u; elif v; then w; else x; fi\n" +
      "while c; do d; done; until e; do f; done\n" +
      "for i in 1 2; do echo $i; done\n" +
      "case $x in a|b) one;; *) two;; esac\n" +
      "{ g; h; } > grp\n( sub )\nfn() { body; }\n",
  );
  assert.equal(r.error, undefined);
  assert.deepEqual(r.items.map((i) => i.node.type), [
    "simple",
    "andor",
    "if",
    "while",
    "until",
    "for",
    "case",
    "group",
    "subshell",
    "func",
  ]);
  assert.equal(r.items[0].bg, true);
  const s = r.items[0].node as Extract<ShNode, { type: "simple" }>;
  assert.deepEqual(s.assigns.map((w) => w.text), ["a=1", "b=2"]);
  assert.deepEqual(s.words.map((w) => w.text), ["cmd", "x", "'y z'"]);
  assert.deepEqual(s.redirs.map((x) => [x.fd, x.op, x.target.text]), [[undefined, ">", "out"], [
    2,
    ">&",
    "1",
  ]]);
  assert.deepEqual([r.items[2].node.span.line, r.items[2].node.span.col], [3, 1]);
  assert.equal(nodeText(r, r.items[7].node), "{ g; h; } > grp");
});

Deno.test("parse: quoting, substitutions and here-documents keep their text", () => {
  const src =
    "echo \"a $(echo \")\") b\" `x` ${y:-}z \\; '$q'\ncat <<E >o; cat <<-'F'\n$body\nE\n\tlit\n\tF\necho end\n";
  const r = parseScript(src);
  assert.equal(r.error, undefined);
  assert.equal(r.items.length, 4);
  const w = (r.items[0].node as Extract<ShNode, { type: "simple" }>).words;
  assert.deepEqual(w.map((x) => x.text), [
    "echo",
    '"a $(echo ")") b"',
    "`x`",
    "${y:-}z",
    "\\;",
    "'$q'",
  ]);
  assert.equal(nodeText(r, r.items[1].node), "cat <<E >o\n$body\nE\n");
  assert.equal(nodeText(r, r.items[2].node), "cat <<-'F'\n\tlit\n\tF\n");
  assert.equal(nodeText(r, r.items[3].node), "echo end");
});

Deno.test("parse: syntax errors carry line and column", () => {
  assert.deepEqual(pick(parseScript("echo a\nif true; then\n  echo b\n").error), {
    line: 4,
    col: 1,
    message: "syntax error: unexpected end of file (expecting 'fi')",
  });
  assert.equal(
    parseScript("echo 'open\n").error?.message,
    "syntax error: unterminated quoted string",
  );
  assert.equal(parseScript("a && \n").error?.message, "syntax error: unexpected end of file");
  assert.equal(parseScript("then\n").error?.message, "syntax error: unexpected 'then'");
  assert.equal(parseScript("echo a\n)\n").errorItemStart, 7);
  // `!` only opens a pipeline, once (dash: Syntax error: "!" unexpected).
  for (const src of ["! ! true\n", "echo a | ! cat\n", "if ! ! true; then :; fi\n"]) {
    assert.equal(parseScript(src).error?.message, "syntax error: unexpected '!'", src);
  }
  for (
    const src of ["! true\n", "true && ! false\n", "echo !\n", "x=1 ! true\n", "{ ! true; }\n"]
  ) {
    assert.equal(parseScript(src).error, undefined, src);
  }
});

function pick(e?: { line: number; col: number; message: string }) {
  return e && { line: e.line, col: e.col, message: e.message };
}

Deno.test("derive: redirections, read-only commands, file tools, unknown programs", () => {
  let a = access("sort -k 2 in.txt > out.txt 2>/dev/null");
  assert.deepEqual([paths(a.reads), paths(a.writes), a.all, a.barrier], [
    ["in.txt"],
    ["out.txt"],
    false,
    false,
  ]);
  a = access("grep -e pat x y < z >> log");
  assert.deepEqual([paths(a.reads), paths(a.writes)], [["z", "x", "y"], ["log"]]);
  assert.deepEqual(paths(access("grep pat file").reads), ["file"]);
  assert.deepEqual(paths(access("sort -o sorted in").writes), ["sorted"]);
  assert.deepEqual(paths(access("gzip -c in > in.gz").reads), ["in"]);
  assert.deepEqual(paths(access("gzip in").writes), ["in", "in.gz"]);
  assert.deepEqual(paths(access("cp a b").writes), ["a", "b"]);
  assert.deepEqual(paths(access('cat "$f" $f.bak').reads), ["a.txt", "a.txt.bak"]);
  assert.deepEqual(access("echo anything at all").reads, []);
  assert.equal(
    conflicts(access("echo > new"), access("ls -l"), "/d"),
    "new",
    "ls reads the directory",
  );
  assert.equal(access("make all").all, true);
  assert.equal(access("cat $sp").all, true, "an unquoted value with a space is split");
  assert.equal(access("cat $(ls)").all, true, "a path that comes out of a substitution");
  a = access('echo "n=$(wc -l < in)" "`cat b`"> out');
  assert.deepEqual([paths(a.reads), paths(a.writes), a.all], [["in", "b"], ["out"], false]);
  assert.equal(access("echo `cat b`").all, true, "an unquoted substitution may be a pattern");
  assert.equal(access("echo $(make)").all, true);
  assert.deepEqual([access("echo $(cd /; pwd)").all, access("echo $(cd /; pwd)").barrier], [
    true,
    false,
  ]);
  assert.equal(access("cat > $unknown").all, true);
  const g = access("cat *.log");
  assert.deepEqual([g.reads[0].glob, g.all], [true, false]);
});

Deno.test("derive: barriers and why", () => {
  for (
    const [line, why] of [
      ["x=1", "assigns a variable"],
      ["cd /", "cd"],
      ["export A=1", "export"],
      ["echo $?", "uses $?"],
      ["fn arg", "calls function fn"],
      ["$cmd x", "command name $cmd not known before running"],
      ["set -e", "set"],
      ["exit 3", "exit"],
      ["read v", "read"],
      [": ${x:=1}", "assigns in an expansion"],
    ]
  ) {
    const a = access(line);
    assert.ok(a.barrier, line);
    assert.ok(a.why.includes(why), `${line}: ${a.why}`);
  }
  // State changes in a subshell or a pipeline stay there.
  const s = access("(cd / && x=1; cat f)");
  assert.deepEqual([s.barrier, s.all], [false, true]);
  assert.deepEqual([access("echo x | read v").barrier], [false]);
});

Deno.test("derive: conflicts follow the ordering rules", () => {
  const w = access("echo > a"), r = access("cat a"), r2 = access("wc a"), o = access("echo > b");
  assert.equal(conflicts(w, r, "/d"), "a", "read after write");
  assert.equal(conflicts(r, w, "/d"), "a", "write after read");
  assert.equal(conflicts(r, r2, "/d"), undefined, "two reads");
  assert.equal(conflicts(w, o, "/d"), undefined, "different files");
  assert.equal(
    conflicts(access("echo > ./a"), access("cat /d/a"), "/d"),
    "./a",
    "same file, two spellings",
  );
  assert.equal(
    conflicts(access("mkdir out"), access("cat out/x"), "/d"),
    "out",
    "a directory and a file in it",
  );
  assert.equal(conflicts(access("echo > x.log"), access("cat *.log"), "/d"), "x.log", "a pattern");
  assert.equal(conflicts(access("echo > x.txt"), access("cat *.log"), "/d"), undefined);
  assert.equal(conflicts(access("make"), r, "/d"), "may touch any file");
  assert.equal(conflicts(access("cd /"), access("echo hi"), "/d"), "barrier");
});

/** Runs a plan to the end with scripted statuses; returns the start order in waves. */
function drive(src: string, status: (job: ShJob) => number = () => 0, room = 8) {
  const plan = new ShPlan(parseScript(src), { state: initialState("/d", {}), argv0: "t.sh" });
  const waves: string[][] = [];
  const printed: string[] = [];
  for (let guard = 0; guard < 1000 && !plan.finished; guard++) {
    const started = plan.startable(room);
    if (started.length) waves.push(started.map((s) => s.job.name));
    for (const s of started) {
      // Barriers report a plain dump: the state does not change here.
      const code = status(s.job);
      const dump = s.barrier
        ? `c ${code}\n0022\n${plan.state.options}\n/d\n\0\n\0\n\0\n0\n`
        : undefined;
      plan.finish(s.job, code, dump);
    }
    const flushed = plan.takeFlushable().map((j) => j.name);
    if (!started.length && !flushed.length && !plan.finished) throw new Error("stuck");
    printed.push(...flushed);
  }
  printed.push(...plan.takeFlushable().map((j) => j.name));
  return { waves, printed, exit: plan.exitStatus };
}

/** Like drive, but finishes only the first started job each round (others keep running). */
function firstWave(src: string, room = 8): string[] {
  const plan = new ShPlan(parseScript(src), { state: initialState("/d", {}), argv0: "t.sh" });
  return plan.startable(room).map((s) => s.job.name);
}

Deno.test("plan: independent commands start together, dependents wait", () => {
  assert.deepEqual(
    firstWave("sort a > a.s\ngzip -c b > b.gz\ncat a.s\nwc b\necho done > c\n"),
    ["1:sort", "2:gzip", "4:wc", "5:echo"],
  );
  assert.deepEqual(firstWave("echo a > x\ncd sub\necho b > y\n"), ["1:echo"]);
  assert.deepEqual(firstWave("echo a > x\nmake\necho b > y\n"), ["1:echo"]);
  assert.deepEqual(firstWave("sort a > a.s\nsort b > b.s\nsort c > c.s\n", 2), [
    "1:sort",
    "2:sort",
  ]);
});

Deno.test("plan: && / || / if / while expand the branch taken", () => {
  const fails = new Set(["1:false", "3:test"]);
  const r = drive(
    "false && echo no > n || echo yes > y\necho after\nif test -f x; then echo then; else echo else; fi\n",
    (j) => fails.has(j.name) ? 1 : 0,
  );
  assert.deepEqual(r.printed, ["1:false", "1:echo", "2:echo", "3:test", "3:echo"]);
  assert.equal(r.waves.flat().includes("1:echo#2"), false);
  // A loop: the test runs again after each turn; three turns, then it ends.
  let turns = 0;
  const loop = drive(
    "while test -f go; do echo turn >> log; done\necho end\n",
    (j) => j.name.startsWith("1:test") ? (turns++ < 3 ? 0 : 1) : 0,
  );
  assert.deepEqual(loop.printed, [
    "1:test",
    "1:echo",
    "1:test#2",
    "1:echo#2",
    "1:test#3",
    "1:echo#3",
    "1:test#4",
    "2:echo",
  ]);
  assert.equal(loop.exit, 0);
});

Deno.test("plan: a literal for loop unfolds into parallel jobs", () => {
  const r = drive('for f in a b c; do sort "$f" > "$f.s"; done\ncat a.s\n');
  assert.deepEqual(r.waves[0], ["1:sort", "1:sort#2", "1:sort#3"]);
  assert.deepEqual(r.printed, ["1:sort", "1:sort#2", "1:sort#3", "2:cat"]);
});

Deno.test("plan: exit status, set -e and exit stop in script order", () => {
  assert.equal(drive("true\nfalse\n", (j) => (j.name === "2:false" ? 1 : 0)).exit, 1);
  const plan = new ShPlan(parseScript("grep a big\ngrep b small\necho x > out\n"), {
    state: { ...initialState("/d", {}), options: "e" },
    argv0: "t.sh",
  });
  const first = plan.startable(8);
  assert.deepEqual(
    first.map((s) => s.job.name),
    ["1:grep", "2:grep"],
    "readers may run ahead under set -e",
  );
  plan.finish(first[1].job, 1); // the second fails first...
  assert.deepEqual(plan.takeFlushable(), []);
  assert.deepEqual(plan.startable(8), [], "...nothing after it starts");
  plan.finish(first[0].job, 0);
  assert.deepEqual(plan.takeFlushable().map((j) => j.name), ["1:grep", "2:grep"]);
  assert.equal(plan.finished, true);
  assert.equal(plan.exitStatus, 1);
});

Deno.test("plan: trap/exec/eval run the rest of the script as one sh", () => {
  const r = drive("echo a\ntrap 'echo bye' EXIT\necho b\n");
  assert.deepEqual(r.printed, ["1:echo", "2:rest"]);
  // A signal to the script's own shell (its process group: kill 0) reaches the rest's.
  for (const kill of ["kill $$", "kill -s TERM ${$}", "kill 0", "kill -9 -0"]) {
    assert.deepEqual(drive(`echo a\n${kill}\necho b\n`).printed, ["1:echo", "2:rest"], kill);
  }
  assert.deepEqual(drive("echo a\nkill 123\n").printed, ["1:echo", "2:kill"]);
});

Deno.test("plan: a script jx could not parse runs whole as one sh", () => {
  const r = drive("echo a\necho b\nif\n");
  assert.deepEqual(r.printed, ["1:rest"]);
});

Deno.test("parse: nesting deeper than MAX_NESTING runs whole, without overflowing the stack", () => {
  const deep = (open: string, close: string, n: number) =>
    open.repeat(n) + "echo hi" + close.repeat(n);
  const kinds = [["(", ")"], ["{ ", "; }"], ["if :; then ", "; fi"], ["echo $(", ")"]];
  for (const [open, close] of kinds) {
    assert.equal(parseScript(deep(open, close, MAX_NESTING)).error, undefined, open);
    for (const n of [MAX_NESTING + 1, 100_000]) {
      const r = parseScript(`echo a\n${deep(open, close, n)}\n`);
      assert.equal(r.error?.tooDeep, true, `${open} ${n}`);
      assert.deepEqual(drive(r.src).printed, ["1:rest"]);
    }
  }
  // Counted together: subshells in substitutions in arithmetic.
  const mixed = "echo $(( 1 + $( ( ".repeat(MAX_NESTING / 2) + "echo 1" +
    " ) ) ))".repeat(MAX_NESTING / 2);
  assert.equal(parseScript(mixed).error?.tooDeep, true);
  const graph = formatGraph(parseScript(deep("(", ")", 5000)), {
    env: {},
    argv0: "d.sh",
    cwd: "/",
  });
  assert.match(graph, /1:rest .*\n.*nested more than \d+ deep/);
});

Deno.test("parse: a command substitution ends where its commands do (case, comments)", () => {
  const r = parseScript(
    "x=$(case a in\na) echo y\n;; esac)\necho $(echo a # )\n)\necho $(( $(case b in b) echo 1;; esac) + 1 ))\n",
  );
  assert.equal(r.error, undefined, r.error?.message ?? "");
  assert.deepEqual(r.items.map((i) => i.node.span.line), [1, 4, 6]);
});

Deno.test("state: prelude, line padding and dump round trip", () => {
  const s = initialState("/d", { HOME: "/h" });
  s.vars.set("x", "it's");
  s.functions.set("f", "f() {\n  echo f\n}");
  s.options = "eu";
  const text = jobScript(s, "echo $x", {
    errexit: false,
    status: 3,
    binds: new Map([["i", "1"]]),
    line: 6,
  });
  assert.equal(
    text,
    "f() {\n  echo f\n}\nx='it'\"'\"'s'; i='1'; set -eu; (exit 3) && :\n\n{ echo $x\n} && :\n",
  );
  const dump = "c 0\n0022\neu\n/d/sub\n\0\nexport HOME='/h'\nexport E\n\0\n" +
    "HOME='/h'\nIFS=' \t\n'\nPPID='1'\nv='two\nlines'\n__jx_x='0'\n\0\n2\na\0b c\0";
  const d = parseDump(dump, s)!;
  assert.equal(d.exited, false);
  assert.equal(d.state.cwd, "/d/sub");
  assert.deepEqual(d.state.env, { HOME: "/h", PWD: "/d/sub" });
  assert.deepEqual(d.state.exportedNames, ["E"]);
  assert.deepEqual([...d.state.vars], [["v", "two\nlines"]]);
  assert.deepEqual(d.state.positional, ["a", "b c"]);
  assert.equal(d.state.options, "eu");
  assert.equal(d.state.functions.get("f"), s.functions.get("f"));
});

Deno.test("graph: -n output names reads, writes, barriers and waits", () => {
  const text = formatGraph(parseScript("echo a > x\ncat x\nx=1\nif [ -f x ]; then cat x; fi\n"), {
    env: {},
    argv0: "s.sh",
    cwd: "/d",
  });
  assert.equal(
    text,
    [
      "1:echo (line 1): job",
      "  writes: x",
      "  waits for: nothing",
      "2:cat (line 2): job",
      "  reads: x",
      "  waits for: 1:echo (writes x)",
      "3:assign (line 3): barrier",
      "  barrier: assigns a variable",
      "  waits for: 1:echo (barrier after it), 2:cat (barrier after it)",
      "4:if (line 4): control (its commands become jobs as the tests end)",
      "  | line 4: [ -f x ]",
      "  |   reads: x",
      "  | line 4: cat x",
      "  |   reads: x",
      "  waits for: 3:assign (barrier)",
      "",
    ].join("\n"),
  );
});

Deno.test("graph: -n shows a loop's commands without the value its variable had before the loop", () => {
  const src =
    "a=zz\nfor a in x y; do\n  for b in 1 2; do echo $a$b >> $a.out; done\n  n=1; cat $n\ndone\n";
  const out = formatGraph(parseScript(src), { env: {}, argv0: "g.sh", cwd: "/" });
  assert.doesNotMatch(out, /zz\.out/);
  assert.match(out, /redirection target \$a\.out not known before running/);
  assert.match(out, /argument \$n not known before running/);
});

Deno.test("plan: an unresolved branch is ordered with the variables of when it is reached", () => {
  // HOME is /h at the start; the script changes it before the `if`. The
  // `cat` must wait for the branch, which writes /tmp/x, not /h/x.
  const plan = new ShPlan(
    parseScript("HOME=/tmp\nif true; then echo > $HOME/x; fi\ncat /tmp/x\n"),
    {
      state: initialState("/d", { HOME: "/h" }),
      argv0: "t.sh",
    },
  );
  const [assign] = plan.startable(8);
  assert.equal(assign.job.name, "1:assign");
  const dump = "c 0\n0022\n\n/d\n\0\nexport HOME='/tmp'\n\0\nHOME='/tmp'\n\0\n0\n";
  plan.finish(assign.job, 0, dump);
  plan.takeFlushable();
  assert.deepEqual(plan.startable(8).map((s) => s.job.name), ["2:true"]);
});

Deno.test("state: a condition keeps set -e on and runs its command left of &&", () => {
  const s = initialState("/d", {});
  s.options = "e";
  const o = { errexit: false, status: 0, binds: new Map<string, string>() };
  assert.equal(jobScript(s, "cd sub", o), "set -e; { cd sub\n} && :\n");
  assert.equal(jobScript(s, "cd sub", { ...o, errexit: true }), "set -e; cd sub\n");
  // No line of its own before line 1: the prelude shares the command's line.
  assert.equal(jobScript(s, "cd sub", { ...o, errexit: true, line: 3 }), "set -e\n\ncd sub\n");
  // Without set -e in the script too: a `set -e` inside the condition (a subshell's) is ignored.
  s.options = "";
  assert.equal(
    jobScript(s, "(set -e; false)", { ...o, cond: true }),
    "{ (set -e; false)\n} && :\n",
  );
  assert.equal(jobScript(s, "(set -e; false)", o), "(set -e; false)\n");
});

Deno.test("derive: a pattern orders against a write of a directory above a match", () => {
  assert.equal(conflicts(access("mkdir d"), access("wc -l */x.txt"), "/w"), "d");
  assert.equal(conflicts(access("rm -r d"), access("cat d*/x/*.txt"), "/w"), "d");
  assert.equal(conflicts(access("mkdir e"), access("cat d*/x.txt"), "/w"), undefined);
});

Deno.test("plan: `cmd &` sends the rest of the script to one sh", () => {
  assert.deepEqual(drive("echo a\nsleep 1 &\necho b\n").printed, ["1:echo", "2:rest"]);
  assert.deepEqual(drive("echo a\nif true; then sleep 1 & fi\necho b\n").printed, [
    "1:echo",
    "2:rest",
  ]);
});

Deno.test("plan: jobs whose shell may exit on its own are probed", () => {
  for (const cmd of ["echo $((1/0))", ": > /nonexistent/x", "times > $out", "echo ${x?}"]) {
    const plan = new ShPlan(parseScript(`${cmd}\necho after\n`), {
      state: initialState("/d", {}),
      argv0: "t.sh",
    });
    const s = plan.startable(8);
    assert.equal(s[0].probe, true, cmd);
  }
  const plan = new ShPlan(parseScript("echo $x > a\n"), {
    state: initialState("/d", {}),
    argv0: "t.sh",
  });
  assert.equal(plan.startable(8)[0].probe, false);
});

Deno.test("derive: grep's pattern options and recursion", () => {
  assert.deepEqual(paths(access("grep --regexp=x in").reads), ["in"]);
  assert.deepEqual(paths(access("grep -ex in").reads), ["in"]);
  assert.deepEqual(paths(access("grep -ie x in").reads), ["in"]);
  assert.deepEqual(paths(access("grep --regexp x in").reads), ["in"]);
  assert.deepEqual(paths(access("grep -fpats in").reads), ["pats", "in"]);
  assert.deepEqual(paths(access("grep --file=pats in").reads), ["pats", "in"]);
  assert.deepEqual(paths(access("grep -A 2 x in").reads), ["in"]);
  assert.deepEqual(paths(access("grep -r x").reads), ["."]);
  assert.deepEqual(paths(access("grep -Rn x").reads), ["."]);
  assert.deepEqual(paths(access("grep --recursive x").reads), ["."]);
  assert.deepEqual(paths(access("grep -r x d").reads), ["d"]);
  assert.deepEqual(paths(access("grep x").reads), []);
  assert.deepEqual(paths(access("sort -rk 2 in").reads), ["in"]);
});

Deno.test("derive: files named by options (sort -uo, cp -t, date -r, sha256sum -c...)", () => {
  assert.deepEqual(paths(access("sort -uo out in").writes), ["out"]);
  assert.deepEqual(paths(access("sort -uoout in").writes), ["out"]);
  assert.deepEqual(paths(access("sort --output out in").writes), ["out"]);
  assert.deepEqual(paths(access("sort -uo out in").reads), ["in"]);
  assert.deepEqual(paths(access("date -r stamp +%s").reads), ["stamp"]);
  assert.deepEqual(paths(access("date --reference=stamp").reads), ["stamp"]);
  assert.deepEqual(access("date +%s").reads, []);
  assert.deepEqual(paths(access("diff --exclude-from=x a b").reads), ["x", "a", "b"]);
  for (const cmd of ["sha256sum -c sums", "md5sum --check sums", "wc --files0-from=l"]) {
    assert.equal(access(cmd).all, true, cmd);
  }
  assert.deepEqual(paths(access("cp -tout a").writes), ["a", "out"]);
  assert.deepEqual(paths(access("mv --target-directory=out a").writes), ["a", "out"]);
  assert.deepEqual(paths(access("touch -d '1 day ago' -r ref f").writes), ["f", "ref"]);
  assert.deepEqual(paths(access("mkdir -m 700 d").writes), ["d"]);
  assert.deepEqual(paths(access("ln -s sub/data.txt").writes), ["sub/data.txt", "data.txt"]);
  for (const cmd of ["cp -b a b", "mv --backup=numbered a b", "ln -S .old a b", "gzip -S .z f"]) {
    assert.equal(access(cmd).all, true, cmd);
  }
  for (const cmd of ["rm -r d", "chmod -w f", "gzip -c -S .z f"]) {
    assert.equal(access(cmd).all, false, cmd);
  }
  // Files named in a list (xz --files), a write no operand names (file -C): not known.
  for (
    const cmd of [
      "xz --files=list",
      "xz --files0",
      "unxz --files=l",
      "file -C -m m",
      "file --compile",
    ]
  ) {
    assert.equal(access(cmd).all, true, cmd);
  }
  assert.equal(access("file -m m x").all, false);
});

Deno.test("derive: pathname expansion reads the directory, whatever the command", () => {
  assert.deepEqual(access("echo *.txt").reads, [{ path: "*.txt", glob: true }]);
  assert.deepEqual(access("expr 2 * 3").reads, [{ path: "*", glob: true }]);
  assert.deepEqual(access('echo "*.txt" \\* $f').reads, []);
  const star = {
    resolve: (n: string) => (n === "x" ? "*" : undefined),
    functions: new Set<string>(),
  };
  const r = parseScript('echo $x "$x" $unset\n');
  assert.equal(deriveAccess(r.items[0].node, r.src, star).all, true, "a variable holding *");
  for (const cmd of ["echo $(ls)", "echo ${f%.txt}", "echo `cat b`"]) {
    assert.equal(access(cmd).all, true, cmd);
  }
  for (const cmd of ['echo "$(ls)"', 'echo "${f%.txt}"', "echo $((1 + 2)) $f"]) {
    assert.equal(access(cmd).all, false, cmd);
  }
});

Deno.test("derive: $? and assignments outside simple commands are barriers", () => {
  for (
    const cmd of [
      "case $? in 1) :;; esac",
      "case a in ${y:=a}) :;; esac",
      "case ${y:=a} in a) :;; esac",
      "{ :; } > ${f:=out}",
      "( : ) > ${f:=out}",
      "(echo $?)",
      "echo $? | cat",
      'echo "$(echo $?)"',
    ]
  ) {
    assert.equal(access(cmd).barrier, true, cmd);
  }
  const r = parseScript("cat <<E\n${x:=1}\nE\ncat <<E\n$?\nE\ncat <<E\n$(date)\nE\n");
  const ctx0 = { resolve: () => undefined, functions: new Set<string>() };
  const a = r.items.map((i) => jobAccess(i.node, r.src, ctx0));
  assert.deepEqual(a.map((x) => [x.barrier, x.all]), [[true, false], [true, false], [false, true]]);
});

Deno.test("derive: a PATH the script changed may find another program than the tool", () => {
  const at = (path: string) => ({
    resolve: (n: string) => (n === "PATH" ? path : undefined),
    functions: new Set<string>(),
    initialPath: "/usr/bin:/bin",
  });
  const of = (line: string, path: string) => {
    const r = parseScript(line + "\n");
    return deriveAccess(r.items[0].node, r.src, at(path));
  };
  assert.equal(of("cat f", "/usr/bin:/bin").all, false);
  assert.equal(of("cat f", "/usr/bin:/bin:/opt/bin").all, false, "a folder added at the end");
  assert.equal(of("cat f", "./bin:/usr/bin:/bin").all, true, "a folder put before");
  assert.equal(of("PATH=./bin cat f", "/usr/bin:/bin").all, true, "the command's own PATH");
  assert.equal(of("echo *", "./bin:/usr/bin:/bin").all, false, "a shell builtin");
  assert.deepEqual(paths(of("[ -f f ]", "./bin:/usr/bin:/bin").reads), ["f"]);
  assert.equal(of("cd d", "./bin:/usr/bin:/bin").barrier, true);
});

Deno.test("derive: assignments nested inside expansions are barriers", () => {
  for (const cmd of ["echo ${x:-$((y+=1))}", "echo ${a:-${b:=B}}", 'echo "${a-${b=B}}"']) {
    assert.equal(access(cmd).barrier, true, cmd);
  }
  assert.equal(access("echo ${x:-$((y+1))} ${a:-b}").barrier, false);
});

Deno.test("derive: a changed IFS makes unquoted expansions unknown", () => {
  const ifs = (v: string | undefined) => ({
    resolve: (n: string) => ({ f: "a:b", IFS: v } as Record<string, string | undefined>)[n],
    functions: new Set<string>(),
  });
  const r = parseScript("cat $f\n");
  assert.deepEqual(paths(deriveAccess(r.items[0].node, r.src, ifs(undefined)).reads), ["a:b"]);
  assert.equal(deriveAccess(r.items[0].node, r.src, ifs(":")).all, true);
  const q = parseScript('cat "$f"\n');
  assert.deepEqual(paths(deriveAccess(q.items[0].node, q.src, ifs(":")).reads), ["a:b"]);
});

Deno.test("plan: on a signal, jobs after the first unfinished one are dropped, ended or not", () => {
  const plan = new ShPlan(parseScript("sleep 5 > a\necho b > b\necho c > c\n"), {
    state: initialState("/d", {}),
    argv0: "t.sh",
  });
  const [a, b] = plan.startable(2);
  plan.finish(b.job, 0);
  assert.deepEqual(plan.takeFlushable(), []);
  plan.cancelAll(130);
  assert.deepEqual(plan.takeDropped().map((j) => j.name), ["2:echo"]);
  plan.finish(a.job, 143);
  assert.deepEqual(plan.takeFlushable(), []);
  assert.equal(plan.finished, true);
  assert.equal(plan.exitStatus, 130);
});

Deno.test("derive: an option's value is no operand: ls -w 80 and du --max-depth 1 read the directory", () => {
  for (
    const line of [
      "ls -w 80",
      "ls -I '*.o'",
      "ls --sort time",
      "ls -T 4 --width 80",
      "du --max-depth 1",
      "du -a --exclude x",
      "grep -r -D skip pat",
    ]
  ) {
    assert.equal(conflicts(access("touch new"), access(line), "/d"), "new", line);
  }
});

Deno.test("parse: an empty body is a syntax error, as dash reads it (a case item excepted)", () => {
  const cases: [string, string][] = [
    ["{ }\n", "'}'"],
    ["echo a; { }; echo b\n", "'}'"],
    ["( )\n", "')'"],
    ["f() ( )\n", "')'"],
    ["f() { }\n", "'}'"],
    ["if true; then fi\n", "'fi'"],
    ["if true; then :; else fi\n", "'fi'"],
    ["if false; then :; elif true; then fi\n", "'fi'"],
    ["if true\nthen\nfi\n", "'fi'"],
    ["for x in a; do done\n", "'done'"],
    ["while false; do done\n", "'done'"],
    ["until true; do done\n", "'done'"],
  ];
  for (const [src, what] of cases) {
    assert.equal(parseScript(src).error?.message, `syntax error: unexpected ${what}`, src);
  }
  assert.equal(parseScript("case a in a) esac\ncase b in b) ;; esac\n").error, undefined);
});

Deno.test("derive: mkdir -p makes the folders above its operands (echo > out/log waits for it)", () => {
  for (const line of ["mkdir -p out/obj", "mkdir --parents out/obj/", "mkdir -vp ./out/obj"]) {
    assert.match(
      conflicts(access(line), access("echo hi > out/log"), "/d") ?? "",
      /^(\.\/)?out$/,
      line,
    );
  }
  assert.deepEqual(paths(access("mkdir -p ../a/b").writes), ["../a/b", "../a"]);
  assert.deepEqual(paths(access("mkdir out/obj").writes), ["out/obj"], "without -p: no parents");
});

Deno.test("derive: '..' after a symbolic link goes up from where the link leads, as the kernel does", () => {
  const d = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${d}/real/sub`, { recursive: true });
    Deno.symlinkSync("real/sub", `${d}/l`);
    // l/../x is real/x (not x): `echo new > l/../x` then `cat real/x` must wait.
    assert.equal(conflicts(access("echo new > l/../x"), access("cat real/x"), d), "l/../x");
    assert.equal(conflicts(access("echo new > ../x"), access(`cat ${d}/real/x`), `${d}/l`), "../x");
  } finally {
    Deno.removeSync(d, { recursive: true });
  }
});
