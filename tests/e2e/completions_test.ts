/**
 * End-to-end: `jx completions` (the bash script queried in a real bash, the
 * zsh and fish scripts checked for shape and, where the shells are, run in them), `jx list --names`, `jx init`, and
 * the help texts of the new commands.
 */
import assert from "node:assert/strict";
import { DENO, exists, ROOT, runJx, RUNTIMES, tempDir } from "../helpers.ts";

const JOBS = `
jobs:
  gen: { run: "true", writes: [gen.h] }
  compile: { run: "true", reads: [gen.h] }
  compile-extra: { run: "true" }
modules:
  api: { run: sleep 1 }
`;

/** A file with a `foreach` group and two modules, for the names completion offers. */
const GROUPED = `
jobs:
  gen: { run: "true" }
  co:
    foreach: [a, b]
    run: echo \${item}
  compile: { run: "true" }
modules:
  api: { run: sleep 1 }
  db: { run: sleep 1 }
`;

/** Whether `cmd` can be started (it is on PATH). */
async function have(cmd: string): Promise<boolean> {
  try {
    await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

Deno.test("jx list --names: job then module names, one per line, honouring -f; no names taken", async () => {
  const dir = await tempDir({
    "jobs.yaml": JOBS,
    "other.yaml": "jobs:\n  only: { run: 'true' }\n",
  });
  const r = await runJx(["list", "--names"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "gen\ncompile\ncompile-extra\napi\n");
  const o = await runJx(["list", "--names", "-f", "other.yaml"], { cwd: dir });
  assert.equal(o.stdout, "only\n");
  assert.equal((await runJx(["list", "other.yaml"], { cwd: dir })).stdout, "Jobs:\n  only\n");
  // A name filters nothing: it is refused, not ignored (`jx list gen` printed every job).
  for (const args of [["list", "gen"], ["list", "--names", "nosuch"]]) {
    const bad = await runJx(args, { cwd: dir });
    assert.equal(bad.code, 2, args.join(" "));
    assert.equal(bad.stdout, "");
    assert.equal(
      bad.stderr,
      `jx: list: unexpected argument '${args.at(-1)}' (see jx list --help)\n`,
    );
  }
  const doctor = await runJx(["doctor", "now"], { cwd: dir });
  assert.deepEqual(
    [doctor.code, doctor.stdout, doctor.stderr],
    [2, "", "jx: doctor: unexpected argument 'now' (see jx doctor --help)\n"],
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("bash completion: commands, options, option values, job names from -f", async () => {
  const dir = await tempDir({
    "jobs.yaml": JOBS,
    "sub/other.yaml": "jobs:\n  lint: { run: 'true' }\n  link: { run: 'true' }\n",
    "grouped/jobs.yaml": GROUPED,
    "my dir/jobs.yaml": "jobs:\n  alpha: { run: 'true' }\n",
    // Names bash splits (NAMESPACE:job at ':') or must quote (a space, brackets, a quote).
    "spaced/jobs.yaml":
      "include: [pkg/jobs.yaml]\njobs:\n  cc: { foreach: ['q\"t'], run: 'true' }\n",
    "spaced/pkg/jobs.yaml":
      "jobs:\n  build: { run: 'true' }\n  cc: { foreach: [x, y z], run: 'true' }\n",
    // The completion runs `${COMP_WORDS[0]} completions names`: COMP_WORDS[0] is this launcher.
    "bin/jx": `#!/bin/sh\nexec "${DENO}" run -A --quiet "${ROOT}/cli.ts" "$@"\n`,
  });
  await Deno.chmod(`${dir}/bin/jx`, 0o755);
  const script = `
set -u
source <("${dir}/bin/jx" completions bash) || exit 3
complete -p jx
q() {
  COMP_WORDS=("$@"); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
  COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}
  _jx
  echo "== $*"
  printf '%s\\n' "\${COMPREPLY[@]}" | sort
}
# ql LINE WORD...: the line as typed, and its words as bash splits them (at ':' too).
ql() {
  COMP_LINE="$1"; COMP_POINT=\${#1}; shift
  COMP_WORDS=("$@"); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
  _jx
  echo "== $COMP_LINE"
  printf '%s\\n' "\${COMPREPLY[@]}" | sort
}
q jx ""
q jx expl
q jx run --ou
q jx run --for
q jx --for
q jx graph --
q jx watch -n
q jx li
q jx lint --
q jx lint -
q jx ui --
q jx cache --
q jx cache prune --
q jx ctl stop --d
q jx ctl pause --d
q jx cache ""
q jx cache pr
q jx cache --cache-dir d ""
q jx lint ""
q jx run --output ""
q jx run --output = st
q jx run ""
q jx explain comp
q jx run -f sub/other.yaml li
q jx -fsub/other.yaml graph ""
q jx completions ""
cd grouped
q jx run co
q jx ctl ""
q jx ctl pa
q jx ctl pause ""
q jx ctl stop --drain ""
q jx ctl status ""
q jx -f ../jobs.yaml ctl restart ""
cd ../spaced
ql 'jx run pkg:b' jx run pkg : b
ql 'jx run pkg:' jx run pkg :
ql 'jx run pkg:cc[y' jx run pkg : 'cc[y'
ql 'jx run pkg:cc\\[y\\ ' jx run pkg : 'cc\\[y\\ '
ql "jx run 'pkg:cc[y" jx run "'pkg:cc[y"
ql 'jx run cc[q' jx run 'cc[q'
cd ..
q jx -f "'my dir/jobs.yaml'" run ""
q jx -f 'my\\ dir/jobs.yaml' run ""
q jx --file = '"my dir/jobs.yaml"' run ""
`;
  const out = await new Deno.Command("bash", {
    args: ["--norc", "--noprofile", "-c", script],
    cwd: dir,
    env: { NO_COLOR: "1", PATH: `${dir}/bin:${Deno.env.get("PATH")}` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr) + text);
  assert.match(text, /^complete -o default -F _jx jx$/m);
  const replies = new Map<string, string[]>();
  for (const block of text.split(/^== /m).slice(1)) {
    const [head, ...rest] = block.split("\n");
    replies.set(head, rest.filter((l) => l !== ""));
  }
  const all = replies.get("jx ")!;
  for (const c of ["run", "list", "graph", "explain", "clean", "init", "completions", "help"]) {
    assert.ok(all.includes(c), `command ${c} in ${all}`);
  }
  assert.deepEqual(replies.get("jx expl"), ["explain"]);
  assert.deepEqual(replies.get("jx run --ou"), ["--output"]);
  // After a command, only its options (an option of another is refused); before one, any.
  assert.deepEqual(replies.get("jx run --for"), ["--force"]);
  assert.deepEqual(replies.get("jx --for"), ["--force", "--format"]);
  assert.deepEqual(replies.get("jx graph --"), [
    "--file",
    "--format",
    "--help",
    "--no-color",
    "--verbose",
    "--version",
  ]);
  assert.deepEqual(replies.get("jx watch -n"), []);
  // The commands whose parts parse their own arguments: offered, and after them only their options.
  assert.deepEqual(replies.get("jx li"), ["lint", "list"]);
  assert.deepEqual(replies.get("jx lint --"), [
    "--events",
    "--file",
    "--help",
    "--ignore",
    "--jobs",
    "--no-color",
  ]);
  assert.deepEqual(replies.get("jx lint -"), [
    "--events",
    "--file",
    "--help",
    "--ignore",
    "--jobs",
    "--no-color",
    "-f",
    "-h",
    "-j",
  ]);
  assert.deepEqual(replies.get("jx ui --"), [
    "--file",
    "--help",
    "--host",
    "--no-color",
    "--port",
  ]);
  assert.deepEqual(replies.get("jx cache --"), ["--cache-dir", "--help", "--no-color"]);
  // An option that goes with one action only, after it (jx cache stats --max-size is refused).
  assert.deepEqual(replies.get("jx cache prune --"), [
    "--cache-dir",
    "--help",
    "--max-size",
    "--no-color",
  ]);
  assert.deepEqual(replies.get("jx ctl stop --d"), ["--drain"]);
  assert.deepEqual(replies.get("jx ctl pause --d"), []);
  assert.deepEqual(replies.get("jx lint "), ["api", "compile", "compile-extra", "gen"]);
  assert.deepEqual(replies.get("jx run --output "), ["buffered", "quiet", "stream"]);
  assert.deepEqual(replies.get("jx run --output = st"), ["stream"]);
  assert.deepEqual(replies.get("jx run "), ["api", "compile", "compile-extra", "gen"]);
  assert.deepEqual(replies.get("jx explain comp"), ["compile", "compile-extra"]);
  assert.deepEqual(replies.get("jx run -f sub/other.yaml li"), ["link", "lint"]);
  assert.deepEqual(replies.get("jx -fsub/other.yaml graph "), ["link", "lint"]);
  assert.deepEqual(replies.get("jx completions "), ["bash", "fish", "zsh"]);
  // cache offers its actions (those of jx cache --help's table), then nothing of its own.
  const { CACHE_HELP } = await import("../../lib/cache/mod.ts");
  const table = [...CACHE_HELP.split("\nExamples:")[0].matchAll(/^ {2}(\w+)\b/gm)].map((r) => r[1]);
  assert.deepEqual(replies.get("jx cache "), table.sort());
  assert.deepEqual(replies.get("jx cache "), ["clear", "prune", "stats"]);
  assert.deepEqual(replies.get("jx cache pr"), ["prune"]);
  assert.deepEqual(replies.get("jx cache --cache-dir d "), ["clear", "prune", "stats"]);
  // A foreach group is offered with its items; ctl offers its actions, then modules.
  // (quoted for the line: bash would take co[a] as a glob)
  assert.deepEqual(replies.get("jx run co"), ["co", "co\\[a\\]", "co\\[b\\]", "compile"]);
  assert.deepEqual(replies.get("jx ctl "), [
    "pause",
    "publish",
    "restart",
    "resume",
    "start",
    "status",
    "stop",
  ]);
  assert.deepEqual(replies.get("jx ctl pa"), ["pause"]);
  assert.deepEqual(replies.get("jx ctl pause "), ["api", "db"]);
  assert.deepEqual(replies.get("jx ctl stop --drain "), ["api", "db"]);
  assert.deepEqual(replies.get("jx ctl status "), []);
  assert.deepEqual(replies.get("jx -f ../jobs.yaml ctl restart "), ["api"]);
  // A name with ':' is completed after it (bash replaces what follows the ':'), one with a space,
  // brackets or a quote comes quoted for the line, or as it is inside an open quote.
  assert.deepEqual(replies.get("jx run pkg:b"), ["build"]);
  assert.deepEqual(replies.get("jx run pkg:"), ["build", "cc", "cc\\[x\\]", "cc\\[y\\ z\\]"]);
  assert.deepEqual(replies.get("jx run pkg:cc[y"), ["cc\\[y\\ z\\]"]);
  assert.deepEqual(replies.get("jx run pkg:cc\\[y\\ "), ["cc\\[y\\ z\\]"]);
  assert.deepEqual(replies.get("jx run 'pkg:cc[y"), ["pkg:cc[y z]"]);
  assert.deepEqual(replies.get("jx run cc[q"), ['cc\\[q\\"t\\]']);
  // A -f path is taken as the shell reads it: quoted, or its space escaped.
  assert.deepEqual(replies.get(`jx -f 'my dir/jobs.yaml' run `), ["alpha"]);
  assert.deepEqual(replies.get("jx -f my\\ dir/jobs.yaml run "), ["alpha"]);
  assert.deepEqual(replies.get(`jx --file = "my dir/jobs.yaml" run `), ["alpha"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("zsh and fish completion scripts: produced, plausible, and parse if the shell is here", async () => {
  const dir = await tempDir();
  for (const shell of ["zsh", "fish"]) {
    const r = await runJx(["completions", shell], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    if (shell === "zsh") {
      assert.match(r.stdout, /^#compdef jx\n/);
      assert.match(r.stdout, /compdef _jx jx/);
      assert.match(r.stdout, /'--output:buffered/);
      assert.match(r.stdout, /completions \$1/);
      assert.match(r.stdout, /compadd -- status start stop restart pause resume publish/);
      assert.match(r.stdout, /cache\) \[\[ -z \$sub \]\] && compadd -- stats prune clear ;;/);
      assert.match(r.stdout, /^ {6}graph\) opts=\('--file:.*'--format:.*\) ;;$/m);
      assert.doesNotMatch(/^ {6}graph\) opts=.*$/m.exec(r.stdout)![0], /--keep-going/);
      assert.match(r.stdout, /^ {6}ui\) opts=\('--file:.*'--port:.*'--host:.*\) ;;$/m);
      assert.doesNotMatch(/^ {6}lint\) opts=.*$/m.exec(r.stdout)![0], /--format|--version/);
    } else {
      assert.match(r.stdout, /^complete -c jx -s f -l file -r -F /m);
      assert.match(r.stdout, /^complete -c jx -l output -x -a 'buffered stream quiet'/m);
      // --format after graph (or before any command) only; --help everywhere.
      assert.match(
        r.stdout,
        /^complete -c jx -l format .* -n '__fish_seen_subcommand_from graph; or not __fish_seen_subcommand_from run /m,
      );
      assert.doesNotMatch(/^complete -c jx -s h -l help .*$/m.exec(r.stdout)![0], / -n /);
      assert.match(
        r.stdout,
        /^complete -c jx -l max-size .* -n '__fish_seen_subcommand_from cache; and __fish_seen_subcommand_from prune; or not __fish_seen_subcommand_from run /m,
      );
      assert.match(r.stdout, /-a run -d 'run jobs and what they need'/);
      assert.match(r.stdout, /completions \$argv\[1\]/);
      assert.match(
        r.stdout,
        /__fish_seen_subcommand_from ctl; and __fish_seen_subcommand_from start/,
      );
      assert.match(
        r.stdout,
        /__fish_seen_subcommand_from cache; and not __fish_seen_subcommand_from stats prune clear' -a 'stats prune clear'/,
      );
    }
    // An option whose help row goes on over two lines is described whole, not cut at the first.
    assert.match(r.stdout, /report what it reads or writes without declaring it \(exit status/);
    // Where the shell is installed (.ci/run installs both), it must accept the script.
    if (await have(shell)) {
      await Deno.writeTextFile(`${dir}/script.${shell}`, r.stdout);
      const n = await new Deno.Command(shell, { args: ["-n", `${dir}/script.${shell}`] }).output();
      assert.equal(n.code, 0, `${shell} -n: ${new TextDecoder().decode(n.stderr)}`);
    }
  }
  const bad = await runJx(["completions", "tcsh"], { cwd: dir });
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "jx: completions: unknown shell 'tcsh' (see jx completions --help)\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("jx init: a starter jobs.yaml with a schema line that runs as is; never overwrites", async () => {
  const dir = await tempDir();
  const r = await runJx(["init"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^wrote jobs\.yaml/);
  const text = await Deno.readTextFile(`${dir}/jobs.yaml`);
  // The schema beside the file, where a user commits it (.jx/ is kept out of git).
  assert.match(text, /^# yaml-language-server: \$schema=\.\/jobs\.schema\.json\n/);
  const schema = JSON.parse(await Deno.readTextFile(`${dir}/jobs.schema.json`));
  assert.equal(schema.title, "jx jobs file");
  assert.match(text, /reads:/);
  assert.match(text, /writes:/);

  const run = await runJx(["run", "--events", "ev.ndjson"], { cwd: dir });
  assert.equal(run.code, 0, run.stderr + run.stdout);
  assert.match(run.stdout, /test passed/);
  const ends = (await Deno.readTextFile(`${dir}/ev.ndjson`)).split("\n").filter((l) => l)
    .map((l) => JSON.parse(l)).filter((e) => e.type === "job.end");
  assert.deepEqual(ends.map((e) => e.status), ["ok", "ok", "ok", "ok", "ok"]);

  const again = await runJx(["init"], { cwd: dir });
  assert.equal(again.code, 2);
  assert.match(again.stderr, /^jx: jobs\.yaml already exists; not overwriting it/);
  assert.equal(await Deno.readTextFile(`${dir}/jobs.yaml`), text);

  // -f names another file; a jobs.yml beside a default jobs.yaml also stops init.
  const other = await runJx(["init", "-f", "build.yaml"], { cwd: dir });
  assert.equal(other.code, 0, other.stderr);
  assert.match(other.stdout, /try: jx run -f build\.yaml/);
  // Someone else's jobs.schema.json is left alone.
  const theirs = await tempDir({ "jobs.schema.json": '{"title": "theirs"}' });
  const kept = await runJx(["init"], { cwd: theirs });
  assert.equal(kept.code, 2);
  assert.match(kept.stderr, /jobs\.schema\.json exists and is not jx's schema/);
  assert.equal(await Deno.readTextFile(`${theirs}/jobs.schema.json`), '{"title": "theirs"}');
  await Deno.remove(theirs, { recursive: true });
  const yml = await tempDir({ "jobs.yml": "jobs: {}\n" });
  const refused = await runJx(["init"], { cwd: yml });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /jobs\.yml already exists/);
  // -f jobs.yaml too: a bare jx run there would take it instead of the jobs.yml (it did).
  for (const f of ["jobs.yaml", "./jobs.yaml", `${yml}/jobs.yaml`]) {
    const named = await runJx(["init", "-f", f], { cwd: yml });
    assert.equal(named.code, 2, f);
    assert.match(named.stderr, /jobs\.yml already exists; not overwriting it/, f);
    assert.ok(!(await exists(`${yml}/jobs.yaml`)), f);
  }
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(yml, { recursive: true });
});

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: jx init: a link to nowhere as the jobs file or schema is taken, nothing written`, async () => {
    const dir = await tempDir();
    await Deno.symlink("nowhere.yaml", `${dir}/jobs.yaml`);
    const r = await runJx(["init"], { cwd: dir, runtime });
    assert.deepEqual([r.code, r.stdout], [2, ""]);
    assert.match(r.stderr, /^jx: jobs\.yaml already exists; not overwriting it/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["jobs.yaml"]);
    // A dangling jobs.schema.json is not jx's schema: not written through.
    await Deno.remove(`${dir}/jobs.yaml`);
    await Deno.symlink("elsewhere.json", `${dir}/jobs.schema.json`);
    const s = await runJx(["init"], { cwd: dir, runtime });
    assert.equal(s.code, 2);
    assert.match(s.stderr, /jobs\.schema\.json exists and is not jx's schema/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["jobs.schema.json"]);
    await Deno.remove(dir, { recursive: true });
  });

  Deno.test(`${runtime}: jx init: a folder that is a file, or one it cannot write in, is one line`, async () => {
    const dir = await tempDir({ "f": "" });
    const r = await runJx(["init", "-f", "f/jobs.yaml"], { cwd: dir, runtime });
    assert.deepEqual([r.code, r.stdout, r.stderr], [2, "", "jx: f: not a directory\n"]);
    // /proc takes no new file, for root too.
    const p = await runJx(["init", "-f", "/proc/jobs.yaml"], { cwd: dir, runtime });
    assert.equal(p.code, 2, p.stderr);
    assert.match(p.stderr, /^jx: \/proc\/jobs\.schema\.json: cannot write: [^\n]+\n$/);
    await Deno.remove(dir, { recursive: true });
  });

  Deno.test(`${runtime}: jx init -f in another folder names the schema there, from the working directory`, async () => {
    const dir = await tempDir({ "sub/keep": "" });
    const sub = await runJx(["init", "-f", "sub/x.yaml"], { cwd: dir, runtime });
    assert.equal(sub.code, 0, sub.stderr);
    assert.equal(
      sub.stdout,
      "wrote sub/x.yaml (and sub/jobs.schema.json, its schema for editors); try: jx run -f sub/x.yaml\n",
    );
    assert.ok(Deno.statSync(`${dir}/sub/jobs.schema.json`).isFile);
    await Deno.writeTextFile(`${dir}/jobs.schema.json`, '{"title": "theirs"}');
    const up = await runJx(["init", "-f", "../y.yaml"], { cwd: `${dir}/sub`, runtime });
    assert.deepEqual([up.code, up.stdout], [2, ""]);
    assert.equal(
      up.stderr,
      "jx: ../jobs.schema.json exists and is not jx's schema; not overwriting it (move it away first)\n",
    );
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("help for the new commands, with examples", async () => {
  for (
    const [cmd, example] of [
      ["init", /jx init && jx run/],
      ["completions", /source <\(jx completions bash\)/],
      ["list", /jx list --names/],
    ] as const
  ) {
    const r = await runJx([cmd, "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^Usage: jx ${cmd}`));
    assert.match(r.stdout, /Examples?:/);
    assert.match(r.stdout, example);
  }
  // The help names the command the scripts run for names, and they run that one.
  const help = (await runJx(["completions", "--help"])).stdout;
  assert.match(help, /jx completions names/);
  assert.doesNotMatch(help, /list --names/);
  // bash names the list; zsh and fish pass it to a helper (`completions $1`, `__jx_list names`).
  const helpers = [
    ["bash", /completions names/],
    ["zsh", /completions \$1/],
    ["fish", /completions \$argv\[1\]/],
  ] as const;
  for (const [shell, runs] of helpers) {
    const script = (await runJx(["completions", shell])).stdout;
    assert.match(script, runs, shell);
    assert.doesNotMatch(script, /list --names/, shell);
  }
  const top = await runJx(["--help"]);
  assert.match(top.stdout, /jx init \[-f FILE\]/);
  assert.match(top.stdout, /jx completions bash\|zsh\|fish/);
});

Deno.test({
  name: "zsh completion, where zsh is installed: job names from a -f path quoted or escaped",
  ignore: !(await have("zsh")),
  async fn() {
    const dir = await tempDir({
      "my dir/jobs.yaml": "jobs:\n  alpha: { run: 'true' }\nmodules:\n  db: { run: sleep 1 }\n",
      "bin/jx": `#!/bin/sh\nexec "${DENO}" run -A --quiet "${ROOT}/cli.ts" "$@"\n`,
    });
    await Deno.chmod(`${dir}/bin/jx`, 0o755);
    await Deno.writeTextFile(
      `${dir}/_jx`,
      (await runJx(["completions", "zsh"], { cwd: dir })).stdout,
    );
    // _jx called as compsys would, with stubs that print what it offers.
    const script = `
compdef() { :; }
source ./_jx
compadd() { if [[ $1 == -a ]]; then print -rl -- \${(P)2}; else shift; print -rl -- "$@"; fi }
_describe() { :; }
_files() { :; }
t() { words=("$@"); CURRENT=$#; print -r -- "== $*"; _jx }
t jx -f "'my dir/jobs.yaml'" run ""
t jx -f 'my\\ dir/jobs.yaml' explain ""
t jx --file='"my dir/jobs.yaml"' ctl stop ""
`;
    const out = await new Deno.Command("zsh", {
      args: ["-f", "-c", script],
      cwd: dir,
      env: { NO_COLOR: "1", PATH: `${dir}/bin:${Deno.env.get("PATH")}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr) + text);
    assert.equal(
      text,
      [
        "== jx -f 'my dir/jobs.yaml' run ",
        "alpha",
        "db",
        "== jx -f my\\ dir/jobs.yaml explain ",
        "alpha",
        "db",
        `== jx --file="my dir/jobs.yaml" ctl stop `,
        "db",
        "",
      ].join("\n"),
    );
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "fish completion, where fish is installed: ctl actions, modules, foreach groups",
  ignore: !(await have("fish")),
  async fn() {
    const dir = await tempDir({
      "jobs.yaml": GROUPED,
      "bin/jx": `#!/bin/sh\nexec "${DENO}" run -A --quiet "${ROOT}/cli.ts" "$@"\n`,
    });
    await Deno.chmod(`${dir}/bin/jx`, 0o755);
    try {
      const script = (await runJx(["completions", "fish"], { cwd: dir })).stdout;
      await Deno.writeTextFile(`${dir}/jx.fish`, script);
      const ask = async (line: string) => {
        const out = await new Deno.Command("fish", {
          args: ["--no-config", "-c", `source jx.fish; complete -C ${JSON.stringify(line)}`],
          cwd: dir,
          env: { PATH: `${dir}/bin:${Deno.env.get("PATH")}`, NO_COLOR: "1" },
        }).output();
        return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l)
          .map((l) => l.split("\t")[0]).sort();
      };
      assert.deepEqual(await ask("jx ctl "), [
        "pause",
        "publish",
        "restart",
        "resume",
        "start",
        "status",
        "stop",
      ]);
      assert.deepEqual(await ask("jx ctl pause "), ["api", "db"]);
      assert.deepEqual(await ask("jx run co"), ["co", "co[a]", "co[b]", "compile"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("ctl actions offered by completion are those jx ctl accepts, module ones taking modules", async () => {
  const { ctlActions } = await import("../../lib/cli/completions.ts");
  const { ctlRequests } = await import("../../lib/modules/ctl_cmd.ts");
  const { all, modules } = ctlActions();
  assert.deepEqual(modules, ["start", "stop", "restart", "pause", "resume"]);
  for (const action of all) {
    const operands = modules.includes(action) ? ["api"] : action === "publish" ? ["t", "m"] : [];
    const reqs = ctlRequests({
      action,
      operands,
      json: false,
      drain: false,
      baseDir: ".",
      env: {},
    });
    assert.equal(reqs[0].action, action);
  }
});

Deno.test("jx help nosuch: one line, exit 2; jx help COMMAND and jx help: exit 0", async () => {
  const bad = await runJx(["help", "nosuch"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, "");
  assert.equal(bad.stderr, "jx: help: unknown command 'nosuch' (see jx --help)\n");
  const close = await runJx(["help", "wach"]);
  assert.equal(close.code, 2);
  assert.equal(
    close.stderr,
    "jx: help: unknown command 'wach' (did you mean 'watch'?) (see jx --help)\n",
  );
  for (const args of [["help"], ["help", "run"], ["help", "doctor"], ["run", "--help"]]) {
    const r = await runJx(args);
    assert.equal(r.code, 0, args.join(" "));
    assert.match(r.stdout, /Usage/);
  }
  // run --help lists --jobserver-style; watch --help the common options too; no clang example.
  assert.match((await runJx(["run", "--help"])).stdout, /--jobserver-style/);
  const watch = (await runJx(["watch", "--help"])).stdout;
  assert.match(watch, /--on-busy MODE/);
  assert.match(watch, /-k, --keep-going/);
  assert.doesNotMatch((await runJx(["--help"])).stdout, /clang/);
});
