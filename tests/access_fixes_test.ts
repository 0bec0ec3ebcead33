/**
 * Fixes of `jx lint` found by an attack: suggested edits that load back as
 * what they name (YAML special forms, `${`, glob characters, a leading `@`),
 * findings of an included file's job at its own file and relative to its
 * folder, a project reached through a symbolic link, a declared path
 * through a link inside the project, and a folder made on the way to the
 * files a glob in `writes` declares. Then the strace parser: working
 * directories shared by threads (`CLONE_FS`), paths relative to a folder
 * strace could not name (deeper than PATH_MAX) dropped and said, a `..`
 * after a symbolic link, names that are no UTF-8 kept apart, and a
 * finding of a path with a newline kept on one line; mknod, RENAME_EXCHANGE,
 * O_TMPFILE, O_PATH and io_uring.
 */
import assert from "node:assert/strict";
import {
  Checker,
  findingLine,
  findStrace,
  parseLintArgs,
  parseStrace,
  StraceParser,
} from "../lib/access/mod.ts";
import { globFits } from "../lib/access/suggest.ts";
import { JxInputError, parseJobsFile } from "../lib/graph/mod.ts";
import { runJx, type Runtime, RUNTIMES, tempDir } from "./helpers.ts";

const noStrace = !findStrace();
const lines = (s: string) => s.split("\n").filter((l) => l);
const read = (path: string) => ({ path: `/p/${path}`, kind: "read" as const, pid: 1, ok: true });
const write = (path: string, dir?: boolean) => ({
  path: `/p/${path}`,
  kind: "write" as const,
  pid: 1,
  ok: true,
  ...(dir ? { dir } : {}),
});

/** The findings of job `j` of `yaml` (in /p) after it read `paths`. */
function readFindings(yaml: string, paths: string[]) {
  const g = parseJobsFile(yaml, "/p/jobs.yaml");
  return new Checker(g, { root: "/p", isDir: () => false })
    .ended("j", paths.map(read));
}

/** File names a plain YAML scalar, jx's `${}` or its globs would read as something else. */
const TRICKY = [
  "null",
  "~",
  "123",
  "true",
  "1e3",
  "0x10",
  ".inf",
  ".nan",
  "NULL",
  "False",
  "0o7",
  "+12",
  "0.5",
  "yes",
  "on",
  "2024-01-01",
  "a${X}b",
  "a$${X}b",
  "${X}",
  "a[b",
  "e[/a.h",
  "d[1]/a.h",
  "x*y",
  "q?",
  "a{b,c}",
  "a}b",
  "@x",
  "a b",
  "#x",
  "x: y",
  "-a",
  "'q\"",
  "a,b",
  ".env",
  "é.txt",
  "back\\slash",
  "tab\there",
  "!bang",
  "%p",
  "&a",
  "|p",
  "new\nline",
  "cr\rx",
  "ctl\u0001x",
];

for (const style of ["block", "flow"] as const) {
  Deno.test(`suggestions (${style} style): every pasted read loads back and covers its file`, () => {
    for (const name of TRICKY) {
      const head = "vars: { X: zz }\njobs:\n";
      const [suggest] = readFindings(`${head}  j: { run: x }\n`, [name]).map((f) => f.suggest);
      assert.ok(suggest?.startsWith("reads: ["), `${name}: ${suggest}`);
      const job = style === "block"
        ? `  j:\n    run: x\n    ${suggest}\n`
        : `  j: { run: x, ${suggest} }\n`;
      let again;
      try {
        again = readFindings(head + job, [name]);
      } catch (e) {
        throw new Error(`${name}: '${suggest}' does not load: ${e}`);
      }
      assert.deepEqual(again, [], `${name}: '${suggest}' leaves the finding`);
    }
  });
}

Deno.test("suggestions: two files of a folder with glob characters share one glob", () => {
  const found = readFindings("jobs:\n  j: { run: x }\n", ["d[1]/a.h", "d[1]/b.h"]);
  assert.deepEqual(found.map((f) => f.suggest), ['reads: ["d[[]1]/*.h"]', 'reads: ["d[[]1]/*.h"]']);
});

Deno.test("suggestions: a race with a job named like a YAML special form quotes its name", () => {
  const yaml = 'jobs:\n  "true": { run: x }\n  b: { run: y }\n';
  const g = parseJobsFile(yaml, "/p/jobs.yaml");
  const checker = new Checker(g, { root: "/p", isDir: () => false });
  checker.ended("true", [write("f")]);
  const race = checker.ended("b", [write("f")]).find((f) => f.problem === "race");
  assert.equal(race?.suggest, 'needs: ["true"]');
  const fixed = parseJobsFile(yaml.replace("y }", `y, ${race!.suggest} }`), "/p/jobs.yaml");
  assert.deepEqual(fixed.get("b").needs, ["true"]);
});

Deno.test("a folder made on the way to the files a glob in writes declares is covered", () => {
  const yaml = 'jobs:\n  j: { run: x, writes: ["out/**/*.o", "gen/*/*.o", "top/*.o"] }\n';
  const g = parseJobsFile(yaml, "/p/jobs.yaml");
  const checker = new Checker(g, { root: "/p", isDir: () => false });
  const found = checker.ended("j", [
    write("out", true),
    write("out/sub", true),
    write("out/sub/x.o"),
    write("gen", true),
    write("gen/a", true),
    write("gen/a/x.o"),
    write("top/sub", true), // `top/*.o` names no file in a folder below top
  ]);
  assert.deepEqual(found.map((f) => f.path), ["top/sub"]);
});

const t = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name: `lint: ${name}`, ignore: noStrace, fn });
/** A test of `jx lint` on each runtime (Bun's `node:path` and `node:fs` differ from Deno's). */
const tr = (name: string, fn: (runtime: Runtime) => Promise<void>) => {
  for (const runtime of RUNTIMES) {
    Deno.test({ name: `${runtime}: lint: ${name}`, ignore: noStrace, fn: () => fn(runtime) });
  }
};

t("paths with glob characters: the pasted suggestions remove the findings", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  j:\n    run: cat 'a[b' 'd[1]/x.h' 'd[1]/y.h' '@n'\n    reads: [x]\n",
    "a[b": "",
    "d[1]/x.h": "",
    "d[1]/y.h": "",
    "@n": "",
    "x": "",
  });
  const r = await runJx(["lint"], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(lines(r.stdout), [
    `jobs.yaml:2:3: job 'j' read @n, not in its reads: add reads: ["[@]n"]`,
    `jobs.yaml:2:3: job 'j' read a[b, not in its reads: add reads: ["a[[]b"]`,
    `jobs.yaml:2:3: job 'j' read d[1]/x.h, not in its reads: add reads: ["d[[]1]/*.h"]`,
    `jobs.yaml:2:3: job 'j' read d[1]/y.h, not in its reads: add reads: ["d[[]1]/*.h"]`,
  ]);
  const fixed = (await Deno.readTextFile(`${dir}/jobs.yaml`))
    .replace("reads: [x]", `reads: [x, "[@]n", "a[[]b", "d[[]1]/*.h"]`);
  await Deno.writeTextFile(`${dir}/jobs.yaml`, fixed);
  const again = await runJx(["lint"], { cwd: dir });
  assert.equal(again.code, 0, again.stdout + again.stderr);
});

t("an included file's job: its own file and position, paths relative to its folder", async () => {
  const dir = await tempDir({
    "jobs.yaml": "include: [pkg/jobs.yaml]\njobs:\n  top:\n    run: 'true'\n",
    "pkg/jobs.yaml": "jobs:\n  filler:\n    run: 'true'\n  cc:\n    run: cat src/a.c src/b.h\n" +
      "    reads: [src/a.c]\n",
    "pkg/src/a.c": "",
    "pkg/src/b.h": "",
  });
  const r = await runJx(["lint"], { cwd: dir });
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(lines(r.stdout), [
    "pkg/jobs.yaml:4:3: job 'pkg:cc' read pkg/src/b.h, not in its reads: add reads: [src/b.h]",
  ]);
  const inc = await Deno.readTextFile(`${dir}/pkg/jobs.yaml`);
  await Deno.writeTextFile(`${dir}/pkg/jobs.yaml`, inc.replace("[src/a.c]", "[src/a.c, src/b.h]"));
  const again = await runJx(["lint"], { cwd: dir });
  assert.equal(again.code, 0, again.stdout + again.stderr);
});

t("a project reached through a symbolic link is checked as through its real path", async () => {
  const base = await tempDir({
    "real/jobs.yaml": "jobs:\n  b:\n    run: cat secret.txt\n",
    "real/secret.txt": "",
  });
  await Deno.symlink("real", `${base}/link`);
  const r = await runJx(["lint", "-f", "link/jobs.yaml"], { cwd: base });
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(lines(r.stdout), [
    "link/jobs.yaml:2:3: job 'b' read secret.txt, not in its reads: add reads: [secret.txt]",
  ]);
  const strict = await runJx(["run", "-f", "link/jobs.yaml", "--strict", "--force"], { cwd: base });
  assert.equal(strict.code, 1, strict.stdout + strict.stderr);
});

t("a declared path through a link inside the project covers the file it names", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  c:\n    cwd: lnkdir\n    run: cat a.txt > b.txt\n" +
      "    reads: [lnkdir/a.txt]\n    writes: [lnkdir/b.txt]\n",
    "sub/a.txt": "",
  });
  await Deno.symlink("sub", `${dir}/lnkdir`);
  const r = await runJx(["lint"], { cwd: dir });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, "");
});

/** The paths and kinds `parseStrace` finds in `lines` (a job started in /p). */
const traced = (lines: string[], cwd = "/p") =>
  parseStrace(lines.join("\n") + "\n", cwd).map((a) => `${a.kind} ${a.path}`);

Deno.test("strace parser: a thread's chdir moves every thread sharing its fs, a fork's is its own", () => {
  const thread = "flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM";
  assert.deepEqual(
    traced([
      `10 clone3({${thread}, child_tid=0x7e} => {parent_tid=[11]}, 88) = 11`,
      `11 chdir("sub") = 0`,
      `10 mkdir("a", 0755) = 0`,
      `10 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7f) = 12`,
      `12 chdir("/p/other") = 0`,
      `12 mkdir("b", 0755) = 0`,
      `11 mkdir("c", 0755) = 0`,
      // A thread seen before its clone returns: its chdir is its parent's too.
      `12 clone(child_stack=0x7e, ${thread}, tls=0x7f <unfinished ...>`,
      `13 chdir("in") = 0`,
      `12 <... clone resumed>, parent_tid=[13]) = 13`,
      `12 mkdir("d", 0755) = 0`,
      `10 mkdir("e", 0755) = 0`,
    ]),
    [
      "write /p/sub/a",
      "write /p/other/b",
      "write /p/sub/c",
      "write /p/other/in/d",
      "write /p/sub/e",
    ],
  );
});

Deno.test("strace parser: a thread that unshares its fs (unshare(CLONE_FS)) moves alone", () => {
  assert.deepEqual(
    traced([
      `10 clone3({flags=CLONE_VM|CLONE_FS|CLONE_SIGHAND|CLONE_THREAD, child_tid=0x7e}, 88) = 11`,
      `11 unshare(CLONE_FS) = 0`,
      `11 chdir("sub") = 0`,
      `10 mkdir("a", 0755) = 0`,
      `11 mkdir("b", 0755) = 0`,
    ]),
    ["write /p/a", "write /p/sub/b"],
  );
});

Deno.test("strace parser: a process id used again after its process exited starts afresh", () => {
  assert.deepEqual(
    traced([
      `10 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7f) = 11`,
      `11 chdir("sub") = 0`,
      `11 +++ exited with 0 +++`,
      `10 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7f) = 11`,
      `11 mkdir("x", 0755) = 0`,
    ]),
    ["write /p/x"],
  );
});

Deno.test("strace parser: a path relative to a folder strace could not name is dropped, and said", () => {
  const p = new StraceParser("/p");
  p.lines([
    // strace prints no path for a descriptor whose folder is longer than PATH_MAX.
    `10 openat(4, "deep.txt", O_WRONLY|O_CREAT, 0644) = 3`,
    `10 openat(4, "/p/abs.txt", O_RDONLY) = 3</p/abs.txt>`,
    `10 fchdir(4) = 0`,
    `10 mkdir("deep2", 0755) = 0`,
    `10 openat(AT_FDCWD, "deep3", O_WRONLY|O_CREAT, 0644) = 3`,
    // A name strace cut short (no NUL within PATH_MAX) names no file.
    `10 openat(AT_FDCWD, "/p/${
      "d".repeat(20)
    }"..., O_RDONLY) = -1 ENAMETOOLONG (File name too long)`,
    `10 chdir("/p/q") = 0`,
    `10 mkdir("r", 0755) = 0`,
    `10 openat(5</p/gone>(deleted), "x", O_RDONLY) = -1 ENOENT (No such file or directory)`,
    // A folder strace names and a name, longer than PATH_MAX together: the path is whole.
    `10 mkdirat(6</p/${"d".repeat(4000)}>, "${"e".repeat(250)}", 0755) = 0`,
  ].join("\n"));
  assert.deepEqual(p.accesses.map((a) => `${a.kind} ${a.path}`), [
    "read /p/abs.txt",
    "write /p/q/r",
    "read /p/gone/x",
    `write /p/${"d".repeat(4000)}/${"e".repeat(250)}`,
  ]);
  assert.deepEqual(p.notes(), [
    "3 accesses not checked: strace could not name the folder their path is relative to " +
    "(a folder path longer than PATH_MAX?)",
  ]);
});

/** A C program that creates a file in a folder whose path is longer than PATH_MAX. */
const DEEP_C = `#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
  char name[201];
  memset(name, 'd', 200);
  name[200] = 0;
  int fd = open(".", O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < 25; i++) {
    mkdirat(fd, name, 0755);
    int next = openat(fd, name, O_RDONLY | O_DIRECTORY);
    close(fd);
    fd = next;
  }
  return close(openat(fd, "deep.txt", O_WRONLY | O_CREAT, 0644)) != 0;
}
`;

t("a file in a folder deeper than PATH_MAX: not checked, and one line says so", async () => {
  const dir = await tempDir({ "deep.c": DEEP_C, "jobs.yaml": "" });
  await gcc(dir, "deep");
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    'jobs:\n  j:\n    run: ./deep\n    reads: [deep]\n    writes: ["dddd*/**"]\n',
  );
  const r = await runJx(["lint"], { cwd: dir });
  const out = r.stdout + r.stderr;
  assert.equal(r.code, 0, out.slice(0, 2000));
  assert.match(out, /jx: j: \d+ accesses not checked: strace could not name the folder/);
  assert.doesNotMatch(out, /deep\.txt/);
});

Deno.test("strace parser: a '..' after a symbolic link goes up from the link's target", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    await Deno.symlink("a/b", `${dir}/lnk`);
    assert.deepEqual(
      traced([
        `10 chdir("lnk") = 0`,
        `10 mkdir("../made", 0777) = 0`,
        `10 openat(AT_FDCWD<${dir}/a/b>, "../../lnk/../c.txt", O_RDONLY) = 3<${dir}/a/c.txt>`,
        `10 chdir("..") = 0`,
        `10 unlink("b/../x") = 0`,
        `10 unlink("gone/../y") = -1 ENOENT (No such file or directory)`,
        `10 openat(AT_FDCWD<${dir}/a>, "gone/../y", O_RDONLY) = -1 ENOENT (No such file or directory)`,
      ], dir),
      [
        `write ${dir}/a/made`,
        `read ${dir}/a/c.txt`,
        `delete ${dir}/a/x`,
        `read ${dir}/a/y`,
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Builds `dir/NAME` from the C source `dir/NAME.c` with gcc. */
async function gcc(dir: string, name: string): Promise<void> {
  const args = ["-o", name, `${name}.c`];
  const cc = await new Deno.Command("gcc", { args, cwd: dir }).output();
  assert.equal(cc.code, 0, new TextDecoder().decode(cc.stderr));
}

tr(
  "a job that enters a linked folder and writes '../x' is traced at the real place",
  async (runtime) => {
    const dir = await tempDir({
      // No call naming the working directory (`AT_FDCWD</...>`) between the two.
      "up.c": "#include <sys/stat.h>\n#include <unistd.h>\n" +
        'int main(void) { return chdir("lnk") || mkdir("../made", 0755); }\n',
      "jobs.yaml": "jobs:\n  j:\n    run: ./up\n    reads: [up]\n    writes: [a/made]\n",
      "a/b/keep": "",
    });
    await gcc(dir, "up");
    await Deno.symlink("a/b", `${dir}/lnk`);
    const r = await runJx(["lint"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, "");
  },
);

Deno.test("strace parser: names that are not UTF-8 stay distinct, and match no UTF-8 name", () => {
  const names = traced([
    String.raw`10 openat(AT_FDCWD</p>, "\xff\x2e\x74\x78\x74", O_RDONLY) = 3`,
    String.raw`10 openat(AT_FDCWD</p>, "\xfe\x2e\x74\x78\x74", O_RDONLY) = 3`,
    // U+FFFD written in UTF-8: a real name, not a byte that failed to decode.
    String.raw`10 openat(AT_FDCWD</p>, "\xef\xbf\xbd\x2e\x74\x78\x74", O_RDONLY) = 3`,
    String.raw`10 openat(AT_FDCWD</p>, "\xc3\xa9\xe9\x2e\x74\x78\x74", O_RDONLY) = 3`,
    // U+10FFFF in UTF-8: the character jx keeps the byte 0xff as, so kept as its four bytes.
    String.raw`10 openat(AT_FDCWD</p>, "\xf4\x8f\xbf\xbf\x2e\x74\x78\x74", O_RDONLY) = 3`,
  ]);
  assert.equal(new Set(names).size, 5, names.join(" | "));
  assert.equal(names[2], "read /p/\ufffd.txt");
  assert.ok(names[3].startsWith("read /p/é"), names[3]);
  // The file named U+FFFD declared: the byte 0xff is still a finding.
  const g = parseJobsFile('jobs:\n  j: { run: x, reads: ["\ufffd.txt"] }\n', "/p/jobs.yaml");
  const accesses = parseStrace(String.raw`1 open("\xff\x2e\x74\x78\x74", O_RDONLY) = 3`, "/p");
  const f = new Checker(g, { root: "/p", isDir: () => false }).ended("j", accesses);
  assert.equal(f.length, 1);
});

Deno.test("a finding's line: a path with a newline or a byte that is no UTF-8 is quoted, on one line", () => {
  const f = (path: string) => ({
    job: "j",
    path,
    access: "read" as const,
    problem: "undeclared-read" as const,
    suggest: "reads: [x]",
  });
  assert.equal(
    findingLine("", "job 'j'", f("a\nb")),
    `job 'j' read "a\\nb", not in its reads: add reads: [x]\n`,
  );
  assert.equal(
    findingLine("", "job 'j'", f('q"\\\t\u0001\u{10ffff}\u00e9')),
    `job 'j' read "q\\"\\\\\\t\\x01\\xff\u00e9", not in its reads: add reads: [x]\n`,
  );
  // A pair of surrogates is one character (U+1F600), shown as it is.
  assert.equal(findingLine("", "job 'j'", f("\u{1F600}")).split(",")[0], "job 'j' read \u{1F600}");
});

tr(
  "file names with a newline, or bytes that are not UTF-8: one line each, fixes hold",
  async (runtime) => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  j:\n    run: cat ./*.a ./*.b ./*.c\n    reads: [jobs.yaml]\n",
      "a\nb.c": "",
    });
    const make = "touch \"$(printf '\\377.a')\" \"$(printf '\\376.b')\"";
    const sh = await new Deno.Command("sh", { args: ["-c", make], cwd: dir }).output();
    assert.equal(sh.code, 0);
    const r = await runJx(["lint"], { cwd: dir, runtime });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.deepEqual(lines(r.stdout), [
      `jobs.yaml:2:3: job 'j' read "a\\nb.c", not in its reads: add reads: ["a\\nb.c"]`,
      `jobs.yaml:2:3: job 'j' read "\\xfe.b", not in its reads: add reads: ["*.b"]`,
      `jobs.yaml:2:3: job 'j' read "\\xff.a", not in its reads: add reads: ["*.a"]`,
    ]);
    const fixed = (await Deno.readTextFile(`${dir}/jobs.yaml`))
      .replace("reads: [jobs.yaml]", `reads: [jobs.yaml, "a\\nb.c", "*.b", "*.a"]`);
    await Deno.writeTextFile(`${dir}/jobs.yaml`, fixed);
    const again = await runJx(["lint"], { cwd: dir, runtime });
    assert.equal(again.code, 0, again.stdout + again.stderr);
  },
);

Deno.test("strace parser: mknod, a rename that exchanges, O_TMPFILE, O_PATH, io_uring", () => {
  const p = new StraceParser("/p");
  p.lines([
    `10 mknodat(AT_FDCWD</p>, "fifo", S_IFIFO|0644) = 0`,
    `10 mknod("null", S_IFCHR|0600, makedev(0x1, 0x3)) = 0`,
    `10 renameat2(AT_FDCWD</p>, "ea", AT_FDCWD</p>, "eb", RENAME_EXCHANGE) = 0`,
    // An anonymous file in /p: nothing, until a link gives it a name.
    `10 openat(AT_FDCWD</p>, ".", O_RDWR|O_TMPFILE, 0600) = 3</p/#4375672>(deleted)`,
    `10 linkat(3</p/#4375672>(deleted), "", AT_FDCWD</p>, "named", AT_EMPTY_PATH) = 0`,
    `10 openat(AT_FDCWD</p>, "sub", O_WRONLY|O_TMPFILE, 0600) = 4</p/sub/#4375673>(deleted)`,
    `10 linkat(AT_FDCWD</p>, "/proc/self/fd/4", AT_FDCWD</p>, "sub/n2", AT_SYMLINK_FOLLOW) = 0`,
    // O_PATH: a place, as a stat (no read); a failed one no probe.
    `10 openat(AT_FDCWD</p>, "opath", O_RDONLY|O_CLOEXEC|O_PATH) = 3</p/opath>`,
    `10 openat(AT_FDCWD</p>, "gone", O_RDONLY|O_PATH) = -1 ENOENT (No such file or directory)`,
    `10 io_uring_setup(4, {flags=0, sq_thread_cpu=0, sq_thread_idle=0, sq_entries=4}) = 5`,
    `11 io_uring_setup(4, {flags=0, sq_thread_cpu=0, sq_thread_idle=0, sq_entries=4}) = 6`,
  ].join("\n"));
  assert.deepEqual(p.accesses.map((a) => `${a.kind} ${a.path}`), [
    "write /p/fifo",
    "write /p/null",
    "read /p/ea",
    "read /p/eb",
    "write /p/ea",
    "write /p/eb",
    "write /p/named",
    "read /proc/self/fd/4", // outside the project: not compared
    "write /p/sub/n2",
  ]);
  assert.deepEqual(p.notes(), [
    "uses io_uring: the files it opens, reads or writes through the ring are not traced, " +
    "so not checked",
  ]);
});

/** Names an anonymous file (O_TMPFILE, else a plain one), then sets up an io_uring ring. */
const RING_C = `#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  int fd = open(".", O_WRONLY | O_TMPFILE, 0644);
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  if (fd < 0 || linkat(AT_FDCWD, self, AT_FDCWD, "named", AT_SYMLINK_FOLLOW) != 0) {
    close(open("named", O_WRONLY | O_CREAT, 0644));
  }
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  printf("ring: %s\\n", syscall(SYS_io_uring_setup, 4, &p) >= 0 ? "yes" : "no");
  return 0;
}
`;

t("mkfifo is a write, an O_TMPFILE file is its name, io_uring is said", async () => {
  const dir = await tempDir({
    "ring.c": RING_C,
    "jobs.yaml": "jobs:\n  j:\n    run: mkfifo p && ./ring\n    reads: [ring]\n" +
      "    writes: [named]\n",
  });
  await gcc(dir, "ring");
  const r = await runJx(["lint"], { cwd: dir });
  const out = r.stdout + r.stderr;
  assert.equal(r.code, 1, out);
  assert.deepEqual(lines(r.stdout).filter((l) => l.startsWith("jobs.yaml")), [
    "jobs.yaml:2:3: job 'j' write p, not in its writes: add writes: [p]",
  ]);
  const ring = /ring: yes/.test(out);
  assert.equal(/jx: j: uses io_uring: the files it opens/.test(out), ring, out);
});

t(
  "a traced job runs with UV_USE_IO_URING=0 (Node.js then opens files with system calls strace sees)",
  async () => {
    const dir = await tempDir({
      "jobs.yaml": 'jobs:\n  j:\n    run: echo "uv=$UV_USE_IO_URING"\n',
    });
    const r = await runJx(["lint"], { cwd: dir });
    assert.match(r.stdout + r.stderr, /uv=0/, r.stdout + r.stderr);
    const plain = await runJx(["run"], { cwd: dir });
    assert.doesNotMatch(plain.stdout + plain.stderr, /uv=0/);
  },
);

Deno.test("a declared output read before the job changed it (sed -i) is an undeclared input", () => {
  const yaml = "jobs:\n  fmt: { run: sed -i s/a/b/ f.txt, writes: [f.txt, out.txt, chk.txt] }\n";
  const g = parseJobsFile(yaml, "/p/jobs.yaml");
  const checker = new Checker(g, { root: "/p", isDir: () => false });
  const found = checker.ended("fmt", [
    read("f.txt"), // read, then renamed over: its old contents are an input
    write("f.txt"),
    write("out.txt"), // written, then read back: no input
    read("out.txt"),
    read("chk.txt"), // read and left as it was: not changed, not reported
  ]);
  assert.deepEqual(found.map((f) => [f.path, f.problem, f.suggest]), [
    ["f.txt", "undeclared-read", "reads: [f.txt]"],
  ]);
  const fixed = parseJobsFile(yaml.replace("writes:", "reads: [f.txt], writes:"), "/p/jobs.yaml");
  const again = new Checker(fixed, { root: "/p", isDir: () => false });
  assert.deepEqual(again.ended("fmt", [read("f.txt"), write("f.txt")]), []);
});

t("a hard link reads the old name: the new one has its contents (ln in.txt out.txt)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  j: { run: ln in.txt out.txt, writes: [out.txt] }\n",
    "in.txt": "in\n",
  });
  const r = await runJx(["lint"], { cwd: dir });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.deepEqual(lines(r.stdout), [
    "jobs.yaml:2:3: job 'j' read in.txt, not in its reads: add reads: [in.txt]",
  ]);
  assert.deepEqual(
    traced([`7 link("a", "b") = 0`, `7 linkat(3</p/s>, "c", 4</p/o>, "d", 0) = 0`]),
    [
      "read /p/a",
      "write /p/b",
      "read /p/s/c",
      "write /p/o/d",
    ],
  );
  await Deno.remove(`${dir}/out.txt`);
  const yaml = await Deno.readTextFile(`${dir}/jobs.yaml`);
  await Deno.writeTextFile(`${dir}/jobs.yaml`, yaml.replace("writes:", "reads: [in.txt], writes:"));
  const again = await runJx(["lint"], { cwd: dir });
  assert.equal(again.code, 0, again.stdout + again.stderr);
});

t("a rename reads the old name: the new one has its contents (mv in.txt out.txt)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  j: { run: mv in.txt out.txt, writes: [in.txt, out.txt] }\n",
    "in.txt": "in\n",
  });
  const r = await runJx(["lint"], { cwd: dir });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.deepEqual(lines(r.stdout), [
    "jobs.yaml:2:3: job 'j' read in.txt, not in its reads: add reads: [in.txt]",
  ]);
  await Deno.rename(`${dir}/out.txt`, `${dir}/in.txt`);
  const yaml = await Deno.readTextFile(`${dir}/jobs.yaml`);
  await Deno.writeTextFile(`${dir}/jobs.yaml`, yaml.replace("writes:", "reads: [in.txt], writes:"));
  const again = await runJx(["lint"], { cwd: dir });
  assert.equal(again.code, 0, again.stdout + again.stderr);
});

Deno.test("globFits: 3,000 found paths against 3,000 declared ones under the glob (a throwaway index per pair before)", () => {
  const found = Array.from({ length: 3000 }, (_, i) => `out/${i}.o`);
  const declared = [...found].reverse();
  assert.equal(globFits("out/*.o", { found, untouchable: [], declared }), true);
  assert.equal(
    globFits("out/*", { found, untouchable: [], declared: [...declared, "out/x.d"] }),
    false,
  );
});

Deno.test("strace parser: an access repeated is kept once, so memory follows distinct paths", () => {
  // A make of 10 000 compiles opens each header 10 000 times: each open was kept (300 000
  // opens of one file and 50 000 temporaries made and removed: 290 MB for `jx lint`).
  const p = new StraceParser("/p");
  const open = (pid: number) => `${pid} openat(AT_FDCWD</p>, "inc/a.h", O_RDONLY) = 3</p/inc/a.h>`;
  for (let i = 0; i < 2000; i++) p.lines(`${open(10 + (i % 7))}\n`);
  assert.deepEqual(p.accesses.map((a) => `${a.kind} ${a.path}`), ["read /p/inc/a.h"]);
  // What changes a path's state is kept: a write after the read, a delete, a write again.
  p.lines([
    `10 openat(AT_FDCWD</p>, "t", O_WRONLY|O_CREAT, 0644) = 3</p/t>`,
    `10 openat(AT_FDCWD</p>, "t", O_WRONLY|O_CREAT, 0644) = 3</p/t>`,
    `10 unlink("t") = 0`,
    `10 unlink("t") = 0`,
    `10 openat(AT_FDCWD</p>, "t", O_WRONLY|O_CREAT, 0644) = 3</p/t>`,
    // A folder renamed: what is made below its old name again is a new file.
    `10 mkdir("s", 0755) = 0`,
    `10 openat(AT_FDCWD</p>, "s/f", O_WRONLY|O_CREAT, 0644) = 3</p/s/f>`,
    `10 rename("s", "final") = 0`,
    `10 mkdir("s", 0755) = 0`,
    `10 openat(AT_FDCWD</p>, "s/f", O_WRONLY|O_CREAT, 0644) = 3</p/s/f>`,
    "",
  ].join("\n"));
  assert.deepEqual(p.accesses.slice(1).map((a) => `${a.kind} ${a.path}`), [
    "write /p/t",
    "delete /p/t",
    "write /p/t",
    "write /p/s",
    "write /p/s/f",
    "read /p/s",
    "delete /p/s",
    "write /p/final",
    "write /p/s",
    "write /p/s/f",
  ]);
});

Deno.test("without strace: jx lint, --check-access and --strict say so in one line naming what was typed, exit 2, nothing run", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  j: { run: 'echo ran > ran.txt', writes: [ran.txt] }\n",
  });
  const cases: [string[], string][] = [
    [["lint"], "jx lint"],
    [["run", "--check-access"], "jx run --check-access"],
    [["run", "--strict"], "jx run --strict"],
  ];
  for (const [args, named] of cases) {
    const r = await runJx(args, { cwd: dir, env: { PATH: "/nonexistent" } });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `jx: ${named}: strace not found in PATH (Debian: apt-get install strace)\n`,
    );
    await assert.rejects(() => Deno.stat(`${dir}/ran.txt`));
  }
});

Deno.test("a strace that cannot trace (ptrace refused): one line naming what was typed and strace's reason, exit 2, nothing run", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  j: { run: 'echo ran > ran.txt', writes: [ran.txt] }\n",
    "build.sh": "echo ran > ran.txt\n",
    "bin/strace":
      "#!/bin/sh\necho 'strace: ptrace(PTRACE_TRACEME, ...): Operation not permitted' >&2\nexit 1\n",
  });
  await Deno.chmod(`${dir}/bin/strace`, 0o755);
  const cases: [string[], string][] = [
    [["lint"], "jx lint"],
    [["run", "--check-access"], "jx run --check-access"],
    [["run", "--strict"], "jx run --strict"],
    [["sh", "--strict", "build.sh"], "jx sh --strict"],
  ];
  for (const [args, named] of cases) {
    const r = await runJx(args, { cwd: dir, env: { PATH: `${dir}/bin:/usr/bin:/bin` } });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(
      r.stderr,
      `jx: ${named}: strace cannot trace here: ptrace(PTRACE_TRACEME, ...): Operation not ` +
        "permitted (docs/lint.md)\n",
    );
    assert.doesNotMatch(r.stdout, /FAILED/);
    await assert.rejects(() => Deno.stat(`${dir}/ran.txt`));
  }
});

Deno.test("a temporary directory where the trace folder cannot be made: one line, exit 2, nothing run (was an internal error after the job 'could not start')", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  j: { run: 'echo ran > ran.txt', writes: [ran.txt] }\n",
    "build.sh": "echo ran > ran.txt\n",
  });
  for (const args of [["lint"], ["run", "--strict"], ["sh", "--check-access", "build.sh"]]) {
    // /proc is a folder in which nothing can be made, whoever runs the test.
    const r = await runJx(args, { cwd: dir, env: { TMPDIR: "/proc" } });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /^(jx: warning: .*\n)*jx: jx (lint|run --strict|sh --check-access): cannot make its trace folder in \/proc: no such file or directory\n$/,
    );
    assert.doesNotMatch(r.stdout + r.stderr, /internal error|FAILED/);
    await assert.rejects(() => Deno.stat(`${dir}/ran.txt`));
  }
});

Deno.test({
  name:
    "--check-access: a job whose program is not there fails as without tracing ('cannot start'), not with strace's 'Can't stat' and a 'recorded nothing' line",
  ignore: !findStrace(),
  fn: async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs:\n  a: { run: [nosuchprog, x] }\n" });
    const plain = await runJx(["run", "--events", "plain.ndjson"], { cwd: dir });
    for (const args of [["run", "--check-access"], ["lint"]]) {
      const r = await runJx([...args, "--events", "ev.ndjson"], { cwd: dir });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stdout + r.stderr,
        /cannot start 'nosuchprog' in .*: no such file or directory/,
      );
      assert.doesNotMatch(r.stdout + r.stderr, /Can't stat|recorded nothing|exit 1/);
      const end = (f: string) =>
        Deno.readTextFile(`${dir}/${f}`).then((t) =>
          t.split("\n").filter((l) => l.includes('"job.end"')).map((l) => {
            const { status, exit, error } = JSON.parse(l);
            return { status, exit, error };
          })
        );
      assert.deepEqual(await end("ev.ndjson"), await end("plain.ndjson"), args.join(" "));
    }
    assert.equal(plain.code, 1);
  },
});

Deno.test("jx doctor says when the strace found cannot trace here (it said '6.1 (jx lint, --check-access)')", async () => {
  const dir = await tempDir({
    "bin/strace": "#!/bin/sh\n" +
      'if [ "$1" = -V ]; then echo "strace -- version 6.1"; exit 0; fi\n' +
      "echo 'strace: ptrace(PTRACE_TRACEME, ...): Operation not permitted' >&2\nexit 1\n",
  });
  await Deno.chmod(`${dir}/bin/strace`, 0o755);
  const r = await runJx(["doctor"], { cwd: dir, env: { PATH: `${dir}/bin:/usr/bin:/bin` } });
  assert.match(
    r.stdout,
    /^strace\s+6\.1, but it cannot trace here: ptrace\(PTRACE_TRACEME, \.\.\.\): Operation not permitted \(jx lint and --check-access exit 2\)$/m,
  );
});

Deno.test("jx lint --strict, --check-access, -k, --force: refused with what lint does already and the jx run that does the rest", () => {
  const said = (flag: string) => {
    try {
      parseLintArgs([flag]);
    } catch (e) {
      assert.ok(e instanceof JxInputError);
      return e.message;
    }
    assert.fail(`jx lint ${flag} was taken`);
  };
  assert.equal(
    said("--strict"),
    "lint: unknown option '--strict' (jx lint already exits 1 on any finding; to fail a run on " +
      "one: jx run --strict) (see jx lint --help)",
  );
  assert.match(
    said("--check-access"),
    /\(jx lint checks every job it runs; .*jx run --check-access\)/,
  );
  assert.match(said("--strict=1"), /jx run --strict\)/);
  assert.match(said("-k"), /\(jx lint always keeps going/);
  assert.match(said("--force"), /\(jx lint runs every selected job, up to date or not\)/);
  // A misspelt option of its own still gets its suggestion.
  assert.match(said("--ignor"), /did you mean '--ignore'/);
});

Deno.test("strace parser: a long trace of the same few hex names (each decoded once, from a memo) is read whole", () => {
  // Every name in a trace is hex (`-xx`): decoding each again on each line took 20 to 80 us a
  // line (11 s for these 150 000 lines; 1.2 to 1.5 s with each decoded once: d51d25e). How fast
  // is a bench's matter, never a test's: this checks what the memo returns.
  const hex = (s: string) => [...s].map((c) => `\\x${c.charCodeAt(0).toString(16)}`).join("");
  const dir = hex("/home/user/projects/some-project/build");
  const lines: string[] = [];
  for (let i = 0; i < 150_000; i++) {
    const name = hex(`include/header${i % 50}.h`);
    lines.push(
      `${100 + (i % 9)} openat(AT_FDCWD<${dir}>, "${name}", O_RDONLY|O_CLOEXEC) = 3<${
        hex(`/home/user/projects/some-project/build/include/header${i % 50}.h`)
      }>`,
    );
  }
  const text = lines.join("\n") + "\n";
  const p = new StraceParser("/home/user/projects/some-project/build", () => undefined);
  p.lines(text);
  assert.equal(p.accesses.length, 50);
  assert.deepEqual(
    [...new Set(p.accesses.map((a) => a.path))].sort().slice(0, 2),
    [
      "/home/user/projects/some-project/build/include/header0.h",
      "/home/user/projects/some-project/build/include/header1.h",
    ],
  );
});

t(
  "a foreach item's outputs named after it are suggested by its variables; pasted, lint is clean and the items stay unordered",
  async () => {
    const run = "cat ${F} > out/${F.stem}.o; cp ${F} out/${F.name}";
    const file = (decl: string) =>
      `jobs:\n  cc:\n    foreach: { glob: "src/*.c", as: F }\n    run: ${run}\n${decl}`;
    const dir = await tempDir({ "jobs.yaml": file(""), "src/a.c": "a\n", "src/b.c": "b\n" });
    await Deno.mkdir(`${dir}/out`);
    const r = await runJx(["lint"], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    // Before: `add writes: [out/a.o]` for one item and `[out/b.o]` for the other; both pasted into
    // the one entry, every item declared every output: lint was clean, but the items were ordered
    // one after another (two writers of out/a.o) and a new src/c.c was a finding again.
    assert.deepEqual(lines(r.stdout).map((l) => l.replace(/^.*not in its /, "")), [
      'writes: add writes: ["out/${F.name}"]',
      'writes: add writes: ["out/${F.stem}.o"]',
      'reads: add reads: ["${F}"]',
      'writes: add writes: ["out/${F.name}"]',
      'writes: add writes: ["out/${F.stem}.o"]',
      'reads: add reads: ["${F}"]',
    ]);
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      file('    reads: ["${F}"]\n    writes: ["out/${F.name}", "out/${F.stem}.o"]\n'),
    );
    await Deno.writeTextFile(`${dir}/src/c.c`, "c\n");
    const again = await runJx(["lint"], { cwd: dir });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(again.stdout, "");
    const graph = await runJx(["graph"], { cwd: dir });
    assert.doesNotMatch(graph.stdout, /->/);
  },
);

t(
  "a read of a foreach item's output with no order is told to wait for the group, which holds for new items",
  async () => {
    const file = (needs: string) =>
      `jobs:\n  cc:\n    foreach: { glob: "src/*.c", as: F }\n    run: cat \${F} > out/\${F.stem}.o\n` +
      `    reads: ["\${F}"]\n` +
      // link waits for the items' outputs by itself: with no order, it could read out/*.o before
      // they were written (its findings then were others: CI saw it).
      `  link: { run: "until [ -e out/a.o ] && [ -e out/b.o ]; do sleep 0.01; done; cat out/*.o > app", ` +
      `reads: [out/*.o], writes: [app]${needs} }\n`;
    const dir = await tempDir({ "jobs.yaml": file(""), "src/a.c": "a\n", "src/b.c": "b\n" });
    await Deno.mkdir(`${dir}/out`);
    const orderOf = (stdout: string) =>
      lines(stdout).filter((l) => l.includes("no order")).map((l) => l.replace(/^.*: add /, ""));
    const lint = await runJx(["lint", "-j3"], { cwd: dir });
    assert.equal(lint.code, 1, lint.stderr);
    // Before: `add needs: ["cc[src/a.c]"]`, `["cc[src/b.c]"]`: an item each, none for src/c.c.
    assert.deepEqual(orderOf(lint.stdout), ["needs: [cc]", "needs: [cc]"]);
    await Deno.writeTextFile(`${dir}/jobs.yaml`, file(", needs: [cc]"));
    await Deno.writeTextFile(`${dir}/src/c.c`, "c\n");
    const again = await runJx(["lint"], { cwd: dir });
    assert.deepEqual(orderOf(again.stdout), []);
    assert.equal(lines(again.stdout).length, 3, again.stdout); // cc's own writes, an item each
  },
);
