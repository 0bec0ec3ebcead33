/**
 * Hardening of the loader through the real CLI, on Deno and on Bun: vars
 * quoted as one shell word, reserved property names as names, ranges and
 * NUL bytes refused before anything starts (issue #18, items 4, 5, 8, 9, 10).
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { JxInputError, parseJobsFile } from "../lib/graph/mod.ts";
import { runJx, RUNTIMES, tempDir } from "./helpers.ts";

const INJECTION = "MSG='; touch pwned; echo '";

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: \${MSG:q} is one shell word: an injected command stays text`, async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  say: { run: 'printf %s ${MSG:q} > said.txt' }\n",
    });
    const r = await runJx(["run", INJECTION], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(`${dir}/pwned`), false, "the injected command ran");
    assert.equal(Deno.readTextFileSync(`${dir}/said.txt`), "'; touch pwned; echo '");
  });

  Deno.test(`${runtime}: '\${MSG}' is shell text, as in make (the documented rule)`, async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs:\n  say: { run: \"echo '${MSG}'\" }\n" });
    const r = await runJx(["run", INJECTION], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(existsSync(`${dir}/pwned`), true);
  });

  Deno.test(`${runtime}: reserved property names work as names in every table`, async () => {
    const names = ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"];
    const lines = [
      "vars:",
      ...names.map((n) => `  ${n}: v-${n}`),
      "env:",
      ...names.map((n) => `  ${n}: e-${n}`),
      "pools:",
      ...names.map((n) => `  ${n}: 1`),
      "jobs:",
      ...names.map((n) =>
        `  ${n}:\n    run: 'echo "${n}=\${${n}} $${n} ${n}" >> out.txt'\n` +
        `    pools: { ${n}: 1 }\n    pool: ${n}\n    env: { ${n}: j-${n} }`
      ),
    ];
    const dir = await tempDir({ "jobs.yaml": lines.join("\n") + "\n" });
    const r = await runJx(["run", "-j1"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr);
    const out = Deno.readTextFileSync(`${dir}/out.txt`).trim().split("\n").sort();
    // `$__proto__`... the shell sees the job's env, which wins over the file's.
    assert.deepEqual(out, names.map((n) => `${n}=v-${n} j-${n} ${n}`).sort());
  });

  Deno.test(`${runtime}: a port out of range is one error line before anything starts`, async () => {
    const dir = await tempDir({
      "jobs.yaml":
        "modules:\n  api:\n    run: touch started; sleep 30\n    ready: { tcp: 70000 }\n" +
        "jobs:\n  t: { run: touch ran, needs: [api] }\n",
    });
    const r = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      "jobs.yaml:4:19: modules.api.ready.tcp: must be at most 65535, got 70000\n",
    );
    assert.equal(existsSync(`${dir}/started`), false);
    assert.equal(existsSync(`${dir}/ran`), false);
  });

  Deno.test(`${runtime}: a job's timeout of 596h does not fire at once; 600h is refused`, async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  a: { run: sleep 0.3 && touch done, timeout: 596h, grace: 596h }\n",
      "long.yaml": "jobs:\n  a: { run: 'true', timeout: 600h }\n",
    });
    const ok = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(existsSync(`${dir}/done`), true);
    const bad = await runJx(["run", "-f", "long.yaml"], { cwd: dir, runtime });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^long\.yaml:2:30: jobs\.a\.timeout: 600h is longer than .*\n$/);
  });
}

Deno.test("a NUL byte in a var given to the loader is refused where the var is used", () => {
  assert.throws(
    () => parseJobsFile("jobs:\n  a: { run: 'echo ${M}' }\n", "j.yaml", { vars: { M: "a\0b" } }),
    (e) =>
      e instanceof JxInputError &&
      e.format() === "j.yaml:2:13: jobs.a.run: ${M} holds a NUL byte (\\0)",
  );
});

Deno.test("${NAME:q} inside quotes or a here-document is refused; bare, or in a $(...) there, it is not", () => {
  const load = (run: string) =>
    parseJobsFile(`vars: { X: x }\njobs:\n  a:\n    run: ${JSON.stringify(run)}\n`, "j.yaml");
  // In "..." the shell runs the $(...) of a value ('$(touch pwned)' stays a command there).
  for (
    const [run, inside, col] of [
      ['echo "${X:q}"', "double quotes", 10],
      ["echo '${X:q}'", "single quotes", 10],
      ["echo $'${X:q}'", "$'...'", 10],
      ["cat <<EOF\n${X:q}\nEOF", "an unquoted here-document", 10],
      ['echo "$(echo "${X:q}")"', "double quotes", 10],
      // The shell reads jx's first quote as a character there: a value's rest is code.
      ["echo \\${X:q}", "a backslash escape", 10],
      // A newline in the value ends the comment: its next line runs.
      ["echo hi # ${X:q}", "a comment", 10],
      ["cat <<E'OF'\n${X:q}\nEOF", "a quoted here-document", 10],
      ['echo "$(echo case) ${X:q}"', "double quotes", 10],
      ["(cat <<EOF\n${X:q}\nEOF\n)", "an unquoted here-document", 10],
      // A tab before the word ends only a <<- here-document.
      ["cat <<EOF\n\tEOF\n${X:q}\nEOF", "an unquoted here-document", 10],
      // A case after a reserved word is one too: its pattern's ) ends no $(...).
      ['v="$(for f in a; do case $f in a) echo "${X:q}";; esac; done)"', "double quotes", 10],
      ['v="$(if true; then case a in a) echo "${X:q}";; esac; fi)"', "double quotes", 10],
      ['v="$({ case a in a) echo "${X:q}";; esac; })"', "double quotes", 10],
    ] as const
  ) {
    assert.throws(
      () => load(run),
      (e: unknown) =>
        e instanceof JxInputError &&
        e.format() ===
          `j.yaml:4:${col}: jobs.a.run: \${X:q} inside ${inside}, where the shell does not read ` +
            'its quotes as quotes (write it bare: "a "${X:q}" b")',
      run,
    );
  }
  for (
    const run of [
      'echo "a"${X:q}"b" out/${X:q}.o',
      'echo "$(basename ${X:q})"',
      'v="$(for f in a; do case $f in a) echo ${X:q};; esac; done)"',
      "# don't\necho ${X:q} $'its\\\\' ${X:q}",
      "cat <<'EOF'\n'\nEOF\necho $((1 << 2)) ${X:q} <<<${X:q}",
      "case a in a) echo ${X:q};; esac",
      // A pattern's ) is no end of the $(...).
      'x="$(case a in a) echo ${X:q};; esac)"',
      "(( y = 1 << 2 )); echo $(( (1 + 2) << 3 )) ${X:q}",
      "cat <<-EOF\n\tEOF\necho ${X:q}",
      // A word quoted in part: its body ends at EOF, as at 'EOF'.
      'cat <<E"OF"\n\'\nEOF\necho ${X:q}',
    ]
  ) assert.equal(load(run).jobs[0].argv[2].includes("${"), false, run);
});

Deno.test("${NAME:q} in a \"${...}\"'s own nested double quotes is refused; after a ' there that the shells read apart too", () => {
  // Inside "${N:-...}" a " opens nested quotes (dash and bash): "${N:-"${X:q}"}" ran the $(...)
  // of a value, its quotes being text there (the scanner took the second " as the end).
  const load = (run: string) =>
    parseJobsFile(`vars: { X: x }\njobs:\n  a:\n    run: ${JSON.stringify(run)}\n`, "j.yaml");
  const inside = (what: string) =>
    `j.yaml:4:10: jobs.a.run: \${X:q} inside ${what}, where the shell does not read its quotes ` +
    'as quotes (write it bare: "a "${X:q}" b")';
  const lost =
    'j.yaml:4:10: jobs.a.run: ${X:q} after a \' inside "${...}", which the shells read ' +
    "differently (dash as a character, bash as a quote), so where the double quotes end is unknown " +
    "(write the ${...} without the ' or outside the double quotes)";
  for (
    const [run, message] of [
      ['echo "${N:-"${X:q}"}"', inside("double quotes")],
      ['echo "${N:-"a"${Y:-"${X:q}"}}"', inside("double quotes")],
      ['echo "${N:-${X:q}}"', inside("double quotes")],
      // dash ends "${N:-'}'}" at the first }, bash at the second.
      ["echo \"${N:-'}'}\" ${X:q}", lost],
      ["echo \"${N:-'\"'}\" ${X:q} '\"'", lost],
    ] as const
  ) {
    assert.throws(
      () => load(run),
      (e: unknown) => e instanceof JxInputError && e.format() === message,
      run,
    );
  }
  for (
    const run of [
      'echo "${N:-"x"}" ${X:q}',
      "echo \"${N:-'x'}\" ${X:q}",
      'echo "${N:-$(basename ${X:q})}"',
      'echo "${N:-${Y:-"a}"}}" ${X:q} "${#N}" ${X:q}',
    ]
  ) assert.equal(load(run).jobs[0].argv[2].includes("${X"), false, run);
});

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: \${MSG:q} in a "\${...}"'s nested quotes: refused, the injected command never runs`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `jobs:\n  say: { run: 'printf %s "\${N:-"\${MSG:q}"}" > said.txt' }\n`,
    });
    const r = await runJx(["run", "MSG=$(touch pwned)"], { cwd: dir, runtime });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^jobs\.yaml:2:15: jobs\.say\.run: \$\{MSG:q\} inside double quotes, [^\n]*\n$/,
    );
    assert.equal(existsSync(`${dir}/pwned`), false, "the injected command ran");
  });
}

Deno.test("${NAME:q} after a $'...' holding \\' is refused: dash ends it at that quote, bash at the next", () => {
  // dash has no $'...': in `$'a\'b' ${X:q} c\'d` it reads jx's quotes the other way round, so a
  // value '$(touch pwned)' ran as a command there (bash: three words).
  for (const run of ["printf %s $'a\\'b' ${X:q} c\\'d", "echo $'it\\'s' ${X:q} ${X:q}"]) {
    assert.throws(
      () =>
        parseJobsFile(`vars: { X: x }\njobs:\n  a:\n    run: ${JSON.stringify(run)}\n`, "j.yaml"),
      (e: unknown) =>
        e instanceof JxInputError &&
        e.format() ===
          "j.yaml:4:10: jobs.a.run: ${X:q} after a $'...' holding \\', which the shells end at " +
            "different quotes (dash, /bin/sh on Debian and Ubuntu, has no $'...'), so what follows " +
            `may be quoted (write the ' as "'" outside the $'...')`,
      run,
    );
  }
});

Deno.test("a # right after a $(...) or $((...)) is no comment (one word, as in the shell): its quotes are quotes", () => {
  // The scanner took `#'` after `$(echo a)` for a comment: the ' opened quotes for the shell, so
  // the ${X:q} on the next line was inside them and a value '$(touch pwned)' ran.
  const load = (run: string) =>
    parseJobsFile(`vars: { X: x }\njobs:\n  a:\n    run: ${JSON.stringify(run)}\n`, "j.yaml");
  for (const run of ["echo $(echo a)#'\n${X:q}\n'", "echo $((1))#'\n${X:q}\n'"]) {
    assert.throws(
      () => load(run),
      (e: unknown) =>
        e instanceof JxInputError &&
        e.format() ===
          "j.yaml:4:10: jobs.a.run: ${X:q} inside single quotes, where the shell does not read " +
            'its quotes as quotes (write it bare: "a "${X:q}" b")',
      run,
    );
  }
  // A # after a subshell's ) starts a comment still; one in a word after $(...) does not.
  for (const run of ["(echo a)#'\necho ${X:q}", "echo $(date)#x ${X:q}", "echo $((1))#x ${X:q}"]) {
    assert.equal(load(run).jobs[0].argv[2].includes("${X"), false, run);
  }
});

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: \${MSG:q} after $(...)#' is refused: the injected command never runs`, async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  say:\n    run: |\n      echo $(echo a)#'\n      ${MSG:q}\n      '\n",
    });
    const r = await runJx(["run", "MSG=$(touch pwned)"], { cwd: dir, runtime });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^jobs\.yaml:3:10: jobs\.say\.run: \$\{MSG:q\} inside single quotes, [^\n]*\n$/,
    );
    assert.equal(existsSync(`${dir}/pwned`), false, "the injected command ran");
  });
}

Deno.test("${NAME:q} inside $((...)) is refused: the shell reads it as inside double quotes", () => {
  // $(( '$(touch pwned)' + 1 )) runs touch in dash and bash: the quotes are text there.
  const load = (run: string) =>
    parseJobsFile(`vars: { X: x }\njobs:\n  a:\n    run: ${JSON.stringify(run)}\n`, "j.yaml");
  for (
    const [run, form] of [
      ["echo $(( ${X:q} + 1 ))", "$((...))"],
      ["(( ${X:q} ))", "((...))"],
      ["x=$(( 1 << (${X:q}) ))", "$((...))"],
      // bash's old form, also as sh (Fedora's, macOS's): $[ '$(touch pwned)' ] runs touch.
      ["echo $[ ${X:q} + 1 ]", "$[...]"],
      ['echo "$[ a[1] + ${X:q} ]"', "$[...]"],
    ]
  ) {
    assert.throws(
      () => load(run),
      (e: unknown) =>
        e instanceof JxInputError &&
        e.format() ===
          `j.yaml:4:10: jobs.a.run: \${X:q} inside ${form}, which the shell reads as inside ` +
            "double quotes (its quotes are text there and a $(...) in the value runs): assign it " +
            "first, n=${X:q}, then write $((n + 1))",
      run,
    );
  }
  for (
    const run of [
      "echo $(( $(echo ${X:q}) + 1 ))",
      "n=${X:q}; echo $((n + 1)) ${X:q}",
      "echo $[ a[1] + (2) ] ${X:q} [ ${X:q} ]",
      "[ -n ${X:q} ] && echo $[1]#x ${X:q}",
    ]
  ) {
    assert.equal(load(run).jobs[0].argv[2].includes("${X"), false, run);
  }
});

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: \${N:q} inside $((...)) is refused: the injected command never runs`, async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs:\n  add: { run: 'echo $(( ${N:q} + 1 ))' }\n" });
    const r = await runJx(["run", "N=$(touch pwned; echo 1)"], { cwd: dir, runtime });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^jobs\.yaml:2:15: jobs\.add\.run: \$\{N:q\} inside \$\(\(\.\.\.\)\), [^\n]*\n$/,
    );
    assert.equal(existsSync(`${dir}/pwned`), false, "the injected command ran");
  });
}

Deno.test("${NAME:q} inside backquotes is refused: the shell reads its backslashes again there", () => {
  // `'a\$HOME'` came out as a$HOME; under bash's sh a value `;touch pwned;` ran.
  for (const run of ["echo `echo ${X:q}`", 'echo "`echo ${X:q}`"', "echo $(echo `echo ${X:q}`)"]) {
    assert.throws(
      () =>
        parseJobsFile(`vars: { X: x }\njobs:\n  a:\n    run: ${JSON.stringify(run)}\n`, "j.yaml"),
      (e: unknown) =>
        e instanceof JxInputError &&
        e.format() ===
          "j.yaml:4:10: jobs.a.run: ${X:q} inside backquotes, where the shell reads backslashes " +
            "in its quotes again (write $(...) for `...`)",
      run,
    );
  }
});

Deno.test("${NAME:q} quotes every item variable too, and $${NAME:q} is literal", () => {
  const g = parseJobsFile(
    'jobs:\n  a:\n    foreach: ["it\'s"]\n    run: echo ${ITEM:q} ${ITEM.stem:q} $${ITEM:q}\n',
    "j.yaml",
  );
  assert.deepEqual(g.jobs[0].argv, [
    "/bin/sh",
    "-c",
    `echo 'it'\\''s' 'it'\\''s' \${ITEM:q}`,
  ]);
});

Deno.test("3,000 foreach globs beside 3,000 writers load (each glob was checked against every write: 5 minutes)", async () => {
  const dir = await Deno.makeTempDir();
  const lines = ["jobs:"];
  for (let i = 0; i < 3000; i++) lines.push(`  w${i}: { run: "true", writes: [gen/w${i}.txt] }`);
  for (let i = 0; i < 3000; i++) {
    lines.push(
      `  g${i}: { foreach: { glob: "src/d${i}/*.c", as: F }, run: "true", reads: ["\${F}"], ` +
        `writes: ["out/${i}/\${F.stem}.o"] }`,
    );
  }
  // One glob over files a job writes: deferred until that job has run.
  lines.push(`  late: { foreach: { glob: "gen/w7*.txt", as: F }, run: "true", reads: ["\${F}"] }`);
  const g = parseJobsFile(lines.join("\n") + "\n", `${dir}/jobs.yaml`);
  assert.equal(g.jobs.filter((j) => j.name.startsWith("w")).length, 3000);
  assert.deepEqual(g.jobs.filter((j) => j.deferred).map((j) => j.name), ["late"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("jx list of 140,000 jobs: every name, no internal error (the width was a spread of every name: past ~130,000 on Deno, a stack overflow)", async () => {
  const lines = ["jobs:"];
  for (let i = 0; i < 140_000; i++) lines.push(`  j${i}: { run: "true" }`);
  const dir = await tempDir({ "jobs.yaml": lines.join("\n") + "\n" });
  const r = await runJx(["list"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr.slice(-300));
  assert.equal(r.stdout.trimEnd().split("\n").length, 140_001);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a foreach item's folder holding glob characters, with a trailing slash, is that folder", async () => {
  const dir = await tempDir({ "pkgs/[x]/Makefile": "", "pkgs/plain/Makefile": "" });
  const g = parseJobsFile(
    'jobs:\n  m:\n    foreach: { glob: "pkgs/*/Makefile", as: P }\n' +
      '    run: make -C ${P.dir}\n    writes: ["${P.dir}/out/"]\n',
    `${dir}/jobs.yaml`,
  );
  assert.deepEqual(g.jobs.map((j) => j.writes), [["pkgs/[[]x]/out"], ["pkgs/plain/out"]]);
});
