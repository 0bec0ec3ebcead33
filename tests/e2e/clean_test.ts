/**
 * `jx clean` never removes anything outside the project folder (`..`,
 * absolute paths, a symbolic link on the way), nor the project folder, the
 * jobs file, `.jx/`, nor files in a folder that no job's writes names; it
 * refuses with exit 2 naming the path, before removing anything.
 */
import assert from "node:assert/strict";
import { basename, dirname } from "node:path";
import { runJx, RUNTIMES, tempDir } from "../helpers.ts";

const exists = (p: string) => Deno.lstat(p).then(() => true, () => false);

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: clean refuses paths outside the project, touching nothing`, async () => {
    const outside = await tempDir({ "victim.txt": "keep\n", "d/f.txt": "keep\n" });
    const dir = await tempDir({ "proj/out/mine.txt": "x\n" });
    const proj = `${dir}/proj`;
    await Deno.rename(outside, `${dir}/outside`); // ../outside from the project
    await Deno.symlink(`${dir}/outside/d`, `${proj}/link`);
    const cases: [string, RegExp][] = [
      ["../outside/victim.txt", /outside the project folder/],
      ["link/f.txt", /outside the project folder/],
      [`${dir}/outside/victim.txt`, /outside the project folder|absolute/],
      [".", /the project folder/],
      ["jobs.yaml", /the jobs file/],
      [".jx/state.ndjson", /\.jx/],
    ];
    for (const [path, why] of cases) {
      await Deno.writeTextFile(
        `${proj}/jobs.yaml`,
        `jobs:\n  a: { run: "true", writes: [out/mine.txt, "${path}"] }\n`,
      );
      const r = await runJx(["clean"], { cwd: proj, runtime });
      assert.equal(r.code, 2, `${path}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, why, path);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.ok(await exists(`${proj}/out/mine.txt`), `${path}: nothing removed`);
    }
    assert.equal(await Deno.readTextFile(`${dir}/outside/victim.txt`), "keep\n");
    assert.equal(await Deno.readTextFile(`${dir}/outside/d/f.txt`), "keep\n");
  });

  Deno.test(`${runtime}: clean OUT=. and OUT=src leave the jobs file and sources`, async () => {
    const dir = await tempDir({
      "jobs.yaml": 'vars: { OUT: out }\njobs:\n  a: { run: "true", writes: ["${OUT}"] }\n',
      "src/main.c": "int main;\n",
      "out/a.o": "o\n",
    });
    const dot = await runJx(["clean", "OUT=."], { cwd: dir, runtime });
    assert.equal(dot.code, 2, dot.stdout + dot.stderr);
    assert.match(dot.stderr, /refusing to remove \.: it is the project folder/);
    const src = await runJx(["clean", "OUT=src"], { cwd: dir, runtime });
    assert.equal(src.code, 0, src.stderr);
    assert.equal(src.stdout, "kept src/ (it holds files that no job's writes names)\n");
    assert.ok(await exists(`${dir}/src/main.c`));
    assert.ok(await exists(`${dir}/jobs.yaml`));
    const file = await runJx(["clean", "OUT=jobs.yaml"], { cwd: dir, runtime });
    assert.equal(file.code, 2);
    assert.match(file.stderr, /refusing to remove jobs\.yaml: it is the jobs file/);
    assert.ok(await exists(`${dir}/jobs.yaml`));
  });

  Deno.test(`${runtime}: clean removes named files, a link itself, then folders once empty`, async () => {
    const outside = await tempDir({ "target.txt": "keep\n" });
    const dir = await tempDir({
      "jobs.yaml":
        "jobs:\n  a: { run: 'true', writes: [build, build/a.o, build/sub, build/sub/b.o, ln] }\n",
      "build/a.o": "a\n",
      "build/sub/b.o": "b\n",
    });
    await Deno.symlink(`${outside}/target.txt`, `${dir}/ln`);
    const dry = await runJx(["clean", "-n"], { cwd: dir, runtime });
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(await exists(`${dir}/build/a.o`));
    const r = await runJx(["clean"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "removed build/a.o\nremoved build/sub/b.o\nremoved ln\nremoved build/sub/\nremoved build/\n",
    );
    assert.ok(!(await exists(`${dir}/build`)));
    assert.equal(await Deno.readTextFile(`${outside}/target.txt`), "keep\n");
  });
}

Deno.test("clean refuses a source reached through a link in the project (out/x -> ../src); a variant folder's outputs go", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n" +
      "  cc: { run: 'true', reads: [src/a.c], writes: [out/x/a.c] }\n" +
      "  v: { run: 'true', writes: [cur/app] }\n",
    "src/a.c": "int a;\n",
    "build-debug/app": "elf\n",
  });
  await Deno.mkdir(`${dir}/out`);
  await Deno.symlink("../src", `${dir}/out/x`);
  await Deno.symlink("build-debug", `${dir}/cur`);
  // Removed src/a.c before: a source, which the job's declared output reached through the link.
  for (const args of [["clean", "-n"], ["clean"]]) {
    const r = await runJx(args, { cwd: dir });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(
      r.stderr,
      "jx: clean: refusing to remove out/x/a.c: it is src/a.c (through a symbolic link), which jobs read and none writes\n",
    );
  }
  assert.equal(await Deno.readTextFile(`${dir}/src/a.c`), "int a;\n");
  // An output reached through a link to a variant folder is an output: removed.
  const v = await runJx(["clean", "v"], { cwd: dir });
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout, "removed cur/app\n");
  assert.ok(!(await exists(`${dir}/build-debug/app`)));
});

Deno.test("clean -n says of each folder what the removal then does (would remove, or would keep)", async () => {
  const dir = await tempDir({
    "jobs.yaml":
      "jobs:\n  a: { run: 'true', writes: [out, out/a.o, out/sub, out/sub/b.o, out/k] }\n",
    "out/a.o": "a\n",
    "out/sub/b.o": "b\n",
    "out/k/mine.txt": "keep\n",
  });
  const dry = await runJx(["clean", "-n"], { cwd: dir });
  assert.equal(dry.code, 0, dry.stderr);
  const r = await runJx(["clean"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const kept = "(it holds files that no job's writes names)";
  assert.equal(
    r.stdout,
    `removed out/a.o\nremoved out/sub/b.o\nremoved out/sub/\nkept out/k/ ${kept}\nkept out/ ${kept}\n`,
  );
  // -n: the same lines, each said as what would be done.
  assert.equal(
    dry.stdout,
    r.stdout.replace(/^removed /gm, "would remove ").replace(/^kept /gm, "would keep "),
  );
  assert.equal(await Deno.readTextFile(`${dir}/out/k/mine.txt`), "keep\n");
  await Deno.remove(`${dir}/out/k/mine.txt`);
  const dry2 = await runJx(["clean", "-n"], { cwd: dir });
  assert.equal(dry2.stdout, "would remove out/k/\nwould remove out/\n");
  assert.equal((await runJx(["clean"], { cwd: dir })).stdout, "removed out/k/\nremoved out/\n");
  await Deno.remove(dir, { recursive: true });
});

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: a foreach glob's items are paths, not globs: clean, reruns and loading hold with '*' and '[' in file names`, async () => {
    const dir = await tempDir({
      "src/*.c": "star\n",
      "src/main.c": "main\n",
      "src/a[.c": "bracket\n",
      "src/x[1].txt": "a\n",
      "src/x1.txt": "b\n",
      "out/precious.o": "keep\n",
      "jobs.yaml": "version: 1\njobs:\n" +
        '  cc:\n    foreach: { glob: "src/*.c", as: S }\n' +
        '    run: "cp ${S:q} out/${S.stem:q}.o"\n' +
        '    reads: ["${S}"]\n    writes: ["out/${S.stem}.o"]\n' +
        '  show:\n    foreach: { glob: "src/x[[]*.txt" }\n' +
        '    run: "cat ${ITEM:q} > out.txt"\n    reads: ["${ITEM}"]\n    writes: [out.txt]\n',
    });
    // `src/a[.c` as a glob is malformed: the whole file was refused.
    const first = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(first.code, 0, first.stderr);
    // `out/*.o` (the item `src/*.c`) names that one file, not every `.o`.
    const dry = await runJx(["clean", "-n"], { cwd: dir, runtime });
    assert.equal(dry.code, 0, dry.stderr);
    assert.doesNotMatch(dry.stdout + dry.stderr, /precious/);
    assert.match(dry.stdout + dry.stderr, /out\/\*\.o/);
    // An edit of `src/x[1].txt` reruns its job (its reads were the glob matching `src/x1.txt`).
    await Deno.writeTextFile(`${dir}/src/x[1].txt`, "changed\n");
    const again = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "changed\n");
    const clean = await runJx(["clean"], { cwd: dir, runtime });
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal(await exists(`${dir}/out/precious.o`), true);
    assert.equal(await exists(`${dir}/out/*.o`), false);
    await Deno.remove(dir, { recursive: true });
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: clean shows a path's control characters as escapes`, async () => {
    // A file name from the checkout (ESC ] 0 ; T BEL sets a terminal's title) reaches clean's lines.
    const dir = await tempDir({
      "src/a\x1b]0;T\x07.c": "a\n",
      "jobs.yaml": 'jobs:\n  cc:\n    foreach: { glob: "src/*.c" }\n' +
        '    run: "cp ${ITEM:q} ${ITEM:q}.o"\n    writes: ["${ITEM}.o"]\n',
    });
    assert.equal((await runJx(["run"], { cwd: dir, runtime })).code, 0);
    const dry = await runJx(["clean", "-n"], { cwd: dir, runtime });
    assert.equal(dry.stdout, "would remove src/a\\e]0;T\\x07.c.o\n");
    const r = await runJx(["clean"], { cwd: dir, runtime });
    assert.equal(r.stdout, "removed src/a\\e]0;T\\x07.c.o\n");
    assert.deepEqual([...Deno.readDirSync(`${dir}/src`)].map((e) => e.name), ["a\x1b]0;T\x07.c"]);
  });
}

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: clean takes a foreach over files jobs write as its items now, not as a glob over every output`, async () => {
    const dir = await tempDir({
      "jobs.yaml": "version: 1\njobs:\n" +
        "  gen:\n    run: \"mkdir -p gen out && echo x > 'gen/*.txt' && echo y > gen/b.txt\"\n" +
        '    writes: ["gen/*.txt"]\n' +
        '  wc:\n    foreach: { glob: "gen/*.txt", as: F }\n' +
        '    run: "wc -c < ${F:q} > out/${F.stem:q}.n"\n' +
        '    reads: ["${F}"]\n    writes: ["out/${F.stem}.n"]\n',
    });
    const run = await runJx(["run"], { cwd: dir, runtime });
    assert.equal(run.code, 0, run.stderr);
    await Deno.writeTextFile(`${dir}/out/precious.n`, "keep\n");
    const dry = await runJx(["clean", "-n"], { cwd: dir, runtime });
    assert.equal(dry.code, 0, dry.stderr);
    const listed = dry.stdout.split("\n").filter((l) => l.startsWith("would remove")).sort();
    assert.deepEqual(listed, [
      "would remove gen/*.txt",
      "would remove gen/b.txt",
      "would remove out/*.n",
      "would remove out/b.n",
    ]);
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("clean refuses an included jobs file as it refuses the root's, touching nothing", async () => {
  const dir = await tempDir({
    "jobs.yaml":
      'include: [packages/*/jobs.yaml]\njobs:\n  a: { run: "true", writes: [out.txt] }\n',
    "out.txt": "x\n",
    "packages/api/conf.yaml": "c\n",
  });
  for (const w of ["jobs.yaml", '"*.yaml"', "../api/jobs.yaml"]) {
    const api = `jobs:\n  gen: { run: "true", writes: [${w}] }\n`;
    await Deno.writeTextFile(`${dir}/packages/api/jobs.yaml`, api);
    for (const args of [["clean", "-n"], ["clean"]]) {
      const r = await runJx(args, { cwd: dir });
      assert.equal(r.code, 2, `${w}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /refusing to remove packages\/api\/jobs\.yaml: it is a jobs file/, w);
      assert.equal(await Deno.readTextFile(`${dir}/packages/api/jobs.yaml`), api);
      assert.ok(await exists(`${dir}/out.txt`), `${w}: nothing removed`);
    }
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("clean refuses a jobs file that is a link (root or included), and an included package's .git/ and .jx/", async () => {
  const dir = await tempDir({
    "cfg/jobs.yaml": 'include: [sub/jobs.yaml]\njobs:\n  a: { run: "true", writes: ["*.yaml"] }\n',
    "shared/sub.yaml": 'jobs:\n  b: { run: "true", writes: ["jobs.yaml"] }\n',
    "sub/.git/config": "[core]\n",
    "sub/.jx/state.ndjson": "",
  });
  await Deno.symlink("cfg/jobs.yaml", `${dir}/jobs.yaml`);
  await Deno.symlink("../shared/sub.yaml", `${dir}/sub/jobs.yaml`);
  const refused = async (why: RegExp) => {
    for (const args of [["clean", "-n"], ["clean"]]) {
      const r = await runJx(args, { cwd: dir });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, why);
    }
  };
  // It removed the link (jx then found no jobs file); likewise the included one.
  await refused(/refusing to remove jobs\.yaml: it is the jobs file/);
  await Deno.writeTextFile(
    `${dir}/cfg/jobs.yaml`,
    'include: [sub/jobs.yaml]\njobs:\n  a: { run: "true" }\n',
  );
  await refused(/refusing to remove sub\/jobs\.yaml: it is a jobs file \(included\)/);
  for (const w of [".git/config", ".jx/state.ndjson"]) {
    await Deno.writeTextFile(
      `${dir}/shared/sub.yaml`,
      `jobs:\n  b: { run: "true", writes: [${w}] }\n`,
    );
    await refused(
      new RegExp(
        `refusing to remove sub/${w.replace(".", "\\.")}: it is in ${
          w.split("/")[0].replace(".", "\\.")
        }/`,
      ),
    );
  }
  // A folder link the included file is reached through; a link in a chain to the jobs file.
  await Deno.writeTextFile(`${dir}/shared/sub.yaml`, 'jobs:\n  b: { run: "true" }\n');
  await Deno.rename(`${dir}/sub`, `${dir}/real`);
  await Deno.symlink("real", `${dir}/sub`);
  await Deno.writeTextFile(
    `${dir}/cfg/jobs.yaml`,
    'include: [sub/jobs.yaml]\njobs:\n  a: { run: "true", writes: [sub] }\n',
  );
  await refused(/refusing to remove sub: it holds a jobs file \(included\)/);
  await Deno.symlink("cfg/jobs.yaml", `${dir}/mid.yaml`);
  await Deno.remove(`${dir}/jobs.yaml`);
  await Deno.symlink("mid.yaml", `${dir}/jobs.yaml`);
  await Deno.writeTextFile(
    `${dir}/cfg/jobs.yaml`,
    'include: [sub/jobs.yaml]\njobs:\n  a: { run: "true", writes: [mid.yaml] }\n',
  );
  await refused(/refusing to remove mid\.yaml: it is the jobs file/);
  assert.equal((await Deno.lstat(`${dir}/jobs.yaml`)).isSymlink, true);
  assert.equal((await Deno.lstat(`${dir}/sub`)).isSymlink, true);
  assert.equal((await Deno.lstat(`${dir}/real/jobs.yaml`)).isSymlink, true);
  assert.equal(await Deno.readTextFile(`${dir}/real/.git/config`), "[core]\n");
  await Deno.remove(dir, { recursive: true });
});

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: clean from a subfolder or with -f names paths relative to the working directory, -n as without`, async () => {
    const dir = await tempDir({
      "jobs.yaml": 'jobs:\n  a: { run: "true", writes: [out/a.txt, sub/b.txt, sub/deep/c] }\n',
      "out/a.txt": "a\n",
      "sub/b.txt": "b\n",
      "sub/deep/c/x": "x\n",
    });
    const cases: [string, string[], string[]][] = [
      // [working directory, arguments, the paths as printed: each one that folder's shell takes]
      [`${dir}/sub/deep`, [], ["../../out/a.txt", "../b.txt", "c/"]],
      [`${dir}/sub/deep/c`, [], ["../../../out/a.txt", "../../b.txt", "./"]],
      [dir, [], ["out/a.txt", "sub/b.txt", "sub/deep/c/"]],
      [`${dir}/sub`, ["-f", "../jobs.yaml"], ["../out/a.txt", "b.txt", "deep/c/"]],
      [dirname(dir), ["-f", `${basename(dir)}/jobs.yaml`], [
        `${basename(dir)}/out/a.txt`,
        `${basename(dir)}/sub/b.txt`,
        `${basename(dir)}/sub/deep/c/`,
      ]],
    ];
    for (const [cwd, args, paths] of cases) {
      const dry = await runJx(["clean", "-n", ...args], { cwd, runtime });
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(
        dry.stdout,
        `would remove ${paths[0]}\nwould remove ${paths[1]}\n` +
          `would keep ${paths[2]} (it holds files that no job's writes names)\n`,
        cwd,
      );
      for (const p of paths) assert.ok(await exists(`${cwd}/${p}`), `${cwd}: ${p} pastes`);
    }
    // Removing says the same paths as -n listed; a refusal names the path that way too.
    const r = await runJx(["clean"], { cwd: `${dir}/sub/deep`, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "removed ../../out/a.txt\nremoved ../b.txt\nkept c/ (it holds files that no job's writes names)\n",
    );
    await Deno.writeTextFile(`${dir}/jobs.yaml`, 'jobs:\n  a: { run: "true", writes: [.jx/x] }\n');
    const refused = await runJx(["clean", "-n"], { cwd: `${dir}/sub`, runtime });
    assert.equal(refused.code, 2);
    assert.equal(refused.stderr, "jx: clean: refusing to remove ../.jx/x: it is in .jx/\n");
  });
}

/** Runs `sh -c script` in `dir` (to make names that are not UTF-8: Deno writes names as UTF-8). */
const sh = (dir: string, script: string) =>
  new Deno.Command("sh", { args: ["-c", script], cwd: dir }).output();

for (const runtime of RUNTIMES) {
  Deno.test(`${runtime}: clean removes files a writes glob matches whose names are not UTF-8, and only those (were left: the runtimes list them with U+FFFD, no file's name)`, async () => {
    const outside = await tempDir({});
    const dir = await tempDir({
      "jobs.yaml": 'jobs:\n  a: { run: "true", writes: ["gen/**/*.o", "cur/*.o", out] }\n',
    });
    await Deno.symlink(outside, `${dir}/cur`);
    await sh(
      dir,
      `mkdir -p gen "gen/$(printf 'd\\376')" out && : > "gen/$(printf 'x\\377').o" && ` +
        `: > "gen/$(printf 'd\\376')/z.o" && : > "gen/$(printf 'k\\377').c" && ` +
        `: > "out/$(printf '\\377')" && : > "${outside}/$(printf 'v\\377').o"`,
    );
    // cur/ leads out of the project: its file is refused, whatever its name's bytes.
    let r = await runJx(["clean", "-n"], { cwd: dir, runtime });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /refusing to remove cur\/v\\xff\.o: it is outside the project folder/);
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      'jobs:\n  a: { run: "true", writes: ["gen/**/*.o", out] }\n',
    );
    r = await runJx(["clean", "-n"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr);
    const listed = "would remove gen/d\\xfe/z.o\nwould remove gen/x\\xff.o\n" +
      "would keep out/ (it holds files that no job's writes names)\n";
    assert.equal(r.stdout, listed);
    r = await runJx(["clean"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      listed.replaceAll("would remove", "removed").replace("would keep", "kept"),
    );
    const left = new TextDecoder().decode(
      (await new Deno.Command("find", { args: [".", outside, "-type", "f"], cwd: dir }).output())
        .stdout,
    ).split("\n").filter((l) => l && !l.startsWith("./.jx")).sort();
    // The .c file no writes names, the folder's file (a folder stands for itself), and the
    // outside file stay.
    assert.deepEqual(left.map((l) => l.replace(outside, "OUT")), [
      "./gen/k\uFFFD.c",
      "./jobs.yaml",
      "./out/\uFFFD",
      "OUT/v\uFFFD.o",
    ]);
    await Deno.remove(outside, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  });
}
