/**
 * `jx lint` on real programs under the real strace: gcc reading headers no
 * glob covers, a script writing outside its writes, two unordered writers of
 * one file, a read of another job's file with no order, the ignore list, the
 * project's C example without a finding; and the strace parser on the forms
 * strace prints (split calls, escapes, dirfds, chdir). `jx run --check-access`
 * and `--strict` on gcc, `jx explain` showing the remembered findings; the
 * comparison giving the same findings whatever order the jobs end in.
 */
import assert from "node:assert/strict";
import {
  Checker,
  compare,
  findStrace,
  narrowGlobs,
  parseStrace,
  Remembered,
  StraceParser,
} from "../../lib/access/mod.ts";
import { parseJobsFile } from "../../lib/graph/mod.ts";
import { jxCommand, readEvents, ROOT, runJx, RUNTIMES, tempDir, waitForFile } from "../helpers.ts";

const ignore = !findStrace();
const lines = (s: string) => s.split("\n").filter((l) => l);

Deno.test("strace parser: split calls joined, hex and C escapes, dirfds, chdir, rename", () => {
  const trace = [
    String.raw`10 openat(AT_FDCWD<\x2f\x70>, "\x61\x2e\x68", O_RDONLY <unfinished ...>`,
    String.raw`11 chdir("sub dir") = 0`,
    String.raw`10 <... openat resumed>) = 3<\x2f\x70\x2f\x61\x2e\x68>`,
    String.raw`11 open("q\"\303\251\n.txt", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3`,
    String.raw`11 renameat2(AT_FDCWD</p>, "tmp1", 4</p/out>, "b.o", RENAME_NOREPLACE) = 0`,
    String.raw`10 openat(AT_FDCWD</p>, "gone.h", O_RDONLY) = -1 ENOENT (No such file or directory)`,
    String
      .raw`10 openat(AT_FDCWD</p>, "x", O_WRONLY|O_CREAT, 0644) = -1 EACCES (Permission denied)`,
    String.raw`10 openat(AT_FDCWD</p>, "src", O_RDONLY|O_DIRECTORY) = 5</p/src>`,
    String.raw`10 execve("/p/run.sh", ["run.sh"], 0x7ffd /* 3 vars */) = 0`,
    String.raw`10 unlinkat(AT_FDCWD</p>, "old", AT_REMOVEDIR) = 0`,
    // Through a link: the descriptor names the file itself, noted beside the link (`alias`).
    String.raw`10 openat(AT_FDCWD</p>, "clink", O_RDONLY) = 6</p/c.txt>`,
    `10 +++ exited with 0 +++`,
  ].join("\n");
  assert.deepEqual(parseStrace(trace, "/p"), [
    { path: "/p/a.h", kind: "read", pid: 10, ok: true },
    { path: '/p/sub dir/q"é\n.txt', kind: "write", pid: 11, ok: true },
    { path: "/p/tmp1", kind: "read", pid: 11, ok: true },
    { path: "/p/tmp1", kind: "delete", pid: 11, ok: true },
    { path: "/p/out/b.o", kind: "write", pid: 11, ok: true, from: "/p/tmp1" },
    { path: "/p/gone.h", kind: "read", pid: 10, ok: false },
    { path: "/p/src", kind: "read", pid: 10, ok: true, dir: true },
    { path: "/p/run.sh", kind: "exec", pid: 10, ok: true },
    { path: "/p/old", kind: "delete", pid: 10, ok: true, dir: true },
    { path: "/p/clink", kind: "read", pid: 10, ok: true },
    { path: "/p/c.txt", kind: "read", pid: 10, ok: true, alias: true },
  ]);
});

Deno.test("suggestions: one glob per folder of paths sharing an extension", () => {
  const g = narrowGlobs(["inc/a.h", "inc/b.h", "gen.txt", "d/x.c", "d/y.h"]);
  assert.deepEqual(Object.fromEntries(g), {
    "inc/a.h": ["inc/*.h"],
    "inc/b.h": ["inc/*.h"],
    "gen.txt": ["gen.txt"],
    "d/x.c": ["d/x.c"],
    "d/y.h": ["d/y.h"],
  });
});

/**
 * The suggestions `compare` makes for job `j` of `yaml` (in /p) that did
 * `did` (`read a.h`, `write b.txt`, `delete c.txt`, `probe d.h`) while the
 * folder /p held `disk` afterwards: each finding's path and suggestion.
 */
function suggested(yaml: string, did: string[], disk: string[] = []): string[] {
  const g = parseJobsFile(yaml, "/p/jobs.yaml");
  const accesses = did.map((d) => {
    const [kind, path] = d.split(" ");
    const k = kind === "probe" ? "read" : kind as "read" | "write" | "delete";
    return { path: `/p/${path}`, kind: k, pid: 1, ok: kind !== "probe" };
  });
  const listDir = (p: string) => p === "/p" ? disk : [];
  return compare(g, g.jobs, new Map([["j", accesses]]), { root: "/p", isDir: () => false, listDir })
    .map((f) => `${f.path}: ${f.suggest}`);
}

Deno.test("suggestions: a writes glob only where it covers no input, no other job's path, no other file", () => {
  const did = ["write a.txt", "delete b.txt"];
  const glob = ['a.txt: writes: ["*.txt"]', 'b.txt: writes: ["*.txt"]'];
  const listed = ["a.txt: writes: [a.txt, b.txt]", "b.txt: writes: [a.txt, b.txt]"];
  const job = (more = "") => `jobs:\n  j: { run: x${more} }\n`;
  assert.deepEqual(suggested(job(), did, ["a.txt", "jobs.yaml"]), glob);
  // A file the job read (and did not write), traced or declared.
  assert.deepEqual(suggested(job(), [...did, "read c.txt"], ["a.txt"]), [
    ...listed,
    "c.txt: reads: [c.txt]",
  ]);
  assert.deepEqual(suggested(job(), [...did, "probe c.txt"], ["a.txt"]), listed);
  assert.deepEqual(suggested(job(", reads: [c.txt]"), did, ["a.txt"]), listed);
  // A path another job declares: the glob would order the two jobs.
  const other = (decl: string) => job() + `  o: { run: y, ${decl} }\n`;
  assert.deepEqual(suggested(other("reads: [c.txt]"), did, ["a.txt"]), listed);
  assert.deepEqual(suggested(other("writes: [sub/*.txt, c.txt]"), did, ["a.txt"]), listed);
  assert.deepEqual(suggested(other("writes: [out]"), did, ["a.txt"]), glob, "no overlap");
  // ... unless the paths found conflict with it as well: the glob adds no edge.
  assert.deepEqual(suggested(other("reads: [a.txt]"), did, ["a.txt"]), glob);
  // A file on disk the job did not write (it would be an output: jx clean removes it).
  assert.deepEqual(suggested(job(), did, ["a.txt", "c.txt"]), listed);
  // One the job wrote, declared, is fine.
  assert.deepEqual(
    suggested(job(", writes: [c.txt]"), [...did, "write c.txt"], ["a.txt", "c.txt"]),
    glob,
  );
});

Deno.test("suggestions: a reads glob only where it covers no path the job or another job writes", () => {
  const did = ["read a.h", "read b.h"];
  const glob = ['a.h: reads: ["*.h"]', 'b.h: reads: ["*.h"]'];
  const listed = ["a.h: reads: [a.h, b.h]", "b.h: reads: [a.h, b.h]"];
  const job = (more = "") => `jobs:\n  j: { run: x${more} }\n`;
  // Other files on disk are fine: an input too many costs a rerun, not an order.
  assert.deepEqual(suggested(job(), did, ["a.h", "b.h", "c.h"]), glob);
  assert.deepEqual(suggested(job() + "  o: { run: y, reads: [c.h] }\n", did), glob);
  // Another job's output: the glob would order j after it (or it after j, even in a cycle).
  assert.deepEqual(suggested(job() + "  o: { run: y, writes: [c.h] }\n", did), listed);
  assert.deepEqual(
    suggested("jobs:\n  o: { run: y, writes: [gen.h] }\n" + job().slice(6), did),
    listed,
  );
  // The job's own outputs, declared or traced.
  assert.deepEqual(suggested(job(", writes: [c.h]"), [...did, "write c.h"]), listed);
  assert.deepEqual(suggested(job(), [...did, "write c.h"]), [
    ...listed,
    "c.h: writes: [c.h]",
  ]);
});

Deno.test("compare: own temporaries, own outputs read back, dirs made for outputs are no findings", () => {
  const g = parseJobsFile(
    "jobs:\n  a: { run: x, reads: [in.txt], writes: [out/a.txt] }\n",
    "/p/jobs.yaml",
  );
  const acc = (path: string, kind: "read" | "write" | "delete", dir?: boolean) => ({
    path: `/p/${path}`,
    kind,
    pid: 1,
    ok: true,
    ...(dir ? { dir } : {}),
  });
  const traces = new Map([["a", [
    acc("in.txt", "read"),
    acc("out", "write", true),
    acc("out/tmpXYZ", "write"),
    acc("out/tmpXYZ", "delete"),
    acc("out/a.txt", "write"),
    acc("out/a.txt", "read"),
    acc(".jx/state.ndjson", "read"),
  ]]]);
  assert.deepEqual(compare(g, g.jobs, traces, { root: "/p", isDir: () => false }), []);
});

Deno.test("compare: a suggested needs is written as the job's own file names the other job (included files)", async () => {
  const dir = await tempDir({
    "jobs.yaml": "include: [pkg/jobs.yaml]\njobs:\n  cc: { run: x }\n",
    "pkg/jobs.yaml": "jobs:\n  cc: { run: x }\n  use: { run: x }\n",
  });
  const g = parseJobsFile(await Deno.readTextFile(`${dir}/jobs.yaml`), `${dir}/jobs.yaml`);
  const acc = (path: string, kind: "read" | "write") => ({
    path: `${dir}/${path}`,
    kind,
    pid: 1,
    ok: true,
  });
  const traces = new Map([
    ["cc", [acc("root.txt", "write"), acc("pkg.txt", "read")]],
    ["pkg:cc", [acc("pkg.txt", "write")]],
    ["pkg:use", [acc("root.txt", "read"), acc("pkg.txt", "read")]],
  ]);
  const found = compare(g, g.jobs, traces, { root: dir, isDir: () => false })
    .filter((f) => f.problem === "unordered-read")
    .map((f) => `${f.job} ${f.path} ${f.other}: ${f.suggest}`).sort();
  assert.deepEqual(found, [
    // In the root file, the included file's job by its full name.
    'cc pkg.txt pkg:cc: needs: ["pkg:cc"]',
    // In pkg/jobs.yaml, `needs: [cc]` names pkg:cc: no needs item there reaches the root's cc.
    "pkg:use pkg.txt pkg:cc: needs: [cc]",
    "pkg:use root.txt cc: ",
  ]);
});

Deno.test("compare: a foreach item that reads its own file is told to declare the item's variable, not its path", async () => {
  const dir = await tempDir({
    "jobs.yaml": "jobs:\n  cc: { foreach: { glob: 'src/*.c', as: S }, run: x }\n",
    "src/a.c": "",
    "src/b.c": "",
    "inc/x.h": "",
  });
  const g = parseJobsFile(await Deno.readTextFile(`${dir}/jobs.yaml`), `${dir}/jobs.yaml`, {
    baseDir: dir,
  });
  const acc = (path: string) => ({
    path: `${dir}/${path}`,
    kind: "read" as const,
    pid: 1,
    ok: true,
  });
  const traces = new Map([
    ["cc[src/a.c]", [acc("src/a.c"), acc("inc/x.h")]],
    ["cc[src/b.c]", [acc("src/b.c")]],
  ]);
  const found = compare(g, g.jobs, traces, { root: dir, isDir: () => false })
    .map((f) => `${f.job} ${f.path}: ${f.suggest}`).sort();
  assert.deepEqual(found, [
    // (Pasting `reads: [src/a.c]` into the one entry made every item read every file.)
    "cc[src/a.c] inc/x.h: reads: [inc/x.h]",
    'cc[src/a.c] src/a.c: reads: ["${S}"]',
    'cc[src/b.c] src/b.c: reads: ["${S}"]',
  ]);
});

Deno.test("checker: the same findings whatever order the jobs end in (parallel runs)", () => {
  const g = parseJobsFile(
    "jobs:\n" +
      "  a: { run: x, writes: [s.txt] }\n" +
      "  b: { run: x }\n" +
      "  c: { run: x, writes: [c.txt], needs: [a] }\n",
    "/p/jobs.yaml",
  );
  const acc = (path: string, kind: "read" | "write") => ({
    path: `/p/${path}`,
    kind,
    pid: 1,
    ok: true,
  });
  const traces: Record<string, ReturnType<typeof acc>[]> = {
    a: [acc("s.txt", "write")],
    b: [acc("s.txt", "write"), acc("in.txt", "read")],
    c: [acc("s.txt", "read"), acc("c.txt", "write")],
  };
  const key = (f: { job: string; path: string; problem: string; other?: string }) =>
    `${f.job} ${f.path} ${f.problem} ${f.other ?? ""}`;
  const orders = [["a", "b", "c"], ["b", "a", "c"], ["a", "c", "b"]];
  const results = orders.map((order) => {
    const checker = new Checker(g, { root: "/p", isDir: () => false });
    return order.flatMap((job) => checker.ended(job, traces[job])).map(key).sort();
  });
  assert.deepEqual(results[0], [
    "b in.txt undeclared-read ",
    "b s.txt race a",
    "b s.txt undeclared-write ",
    "c s.txt unordered-read b",
  ]);
  assert.deepEqual(results[1], results[0]);
  assert.deepEqual(results[2], results[0]);
  // The batch comparison agrees.
  const batch = compare(g, g.jobs, new Map(Object.entries(traces)), {
    root: "/p",
    isDir: () => false,
  });
  assert.deepEqual(batch.map(key).sort(), results[0]);
});

Deno.test("remembered findings: a checked run replaces a job's entry; undeclared inputs", async () => {
  const dir = await tempDir();
  const r = new Remembered(dir, "jobs.yaml");
  r.checked("cc", [
    { job: "cc", path: "a.h", access: "read", problem: "undeclared-read", suggest: "reads: [a.h]" },
  ]);
  r.checked("gen", [
    { job: "gen", path: "x.log", access: "write", problem: "undeclared-write", suggest: "" },
  ]);
  r.save();
  const back = new Remembered(dir, "jobs.yaml");
  assert.equal(back.hasUndeclaredInputs("cc"), true);
  assert.equal(back.hasUndeclaredInputs("gen"), false); // a write is no input
  assert.equal(back.hasUndeclaredInputs("other"), false);
  assert.equal(
    back.cacheRefusal("cc"),
    "cc: not cached: its last checked run found undeclared inputs (jx explain cc)",
  );
  assert.equal(back.cacheRefusal("gen"), undefined);
  back.checked("cc", []);
  back.save();
  assert.equal(new Remembered(dir, "jobs.yaml").hasUndeclaredInputs("cc"), false);
  assert.equal(new Remembered(dir, "jobs.yaml").get("gen")?.findings.length, 1); // kept: not checked again
  // A damaged file is no finding (and no crash).
  await Deno.writeTextFile(`${dir}/.jx/access.json`, "{not json");
  assert.equal(new Remembered(dir, "jobs.yaml").hasUndeclaredInputs("cc"), false);
});

for (const runtime of RUNTIMES) {
  const t = (name: string, fn: () => Promise<void>) =>
    Deno.test({ name: `${runtime}: lint: ${name}`, ignore, fn });

  t("gcc reading headers no glob covers: one glob for the folder, an event each", async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  cc:\n    run: gcc -Iinc -c main.c -o main.o\n" +
        "    reads: [main.c]\n    writes: [main.o]\n",
      "main.c": '#include "a.h"\n#include "b.h"\nint main(void) { return A + B; }\n',
      "inc/a.h": "#define A 0\n",
      "inc/b.h": "#define B 0\n",
    });
    const r = await runJx(["lint", "--events", "ev.ndjson"], { cwd: dir, runtime });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(lines(r.stdout), [
      "jobs.yaml:2:3: job 'cc' read inc/a.h, not in its reads: add reads: [inc/*.h]",
      "jobs.yaml:2:3: job 'cc' read inc/b.h, not in its reads: add reads: [inc/*.h]",
    ]);
    // The last line says what failed the run: the findings, beside the job that ended ok.
    assert.match(r.stderr, /jx: FAILED: 1 job ok, 2 findings in \S+\n$/);
    const all = await readEvents(`${dir}/ev.ndjson`);
    // run.end says the exit the findings make, as jx's own exit does.
    assert.deepEqual([all.at(-1)!.type, all.at(-1)!.status, all.at(-1)!.exit], [
      "run.end",
      "failed",
      1,
    ]);
    const ev = all.filter((e) => e.type === "access.finding");
    assert.deepEqual(ev.map(({ job, path, access, suggest }) => ({ job, path, access, suggest })), [
      { job: "cc", path: "inc/a.h", access: "read", suggest: "reads: [inc/*.h]" },
      { job: "cc", path: "inc/b.h", access: "read", suggest: "reads: [inc/*.h]" },
    ]);
    // The suggested edit applied: no finding, exit 0.
    const fixed = (await Deno.readTextFile(`${dir}/jobs.yaml`)).replace(
      "reads: [main.c]",
      "reads: [main.c, inc/*.h]",
    );
    await Deno.writeTextFile(`${dir}/jobs.yaml`, fixed);
    const again = await runJx(["lint"], { cwd: dir, runtime });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(again.stdout, "");
  });

  t(
    "what a job made in a folder it renamed moved with it: no finding under the old name, the new one a folder",
    async () => {
      // Staged then renamed into place; a first run (no gen/ yet: the new name is a folder only
      // on disk) and a second (rm -rf removes it first) alike; one moved out of the project.
      const dir = await tempDir({
        "jobs.yaml": "jobs:\n" +
          "  pub:\n    run: rm -rf final && mkdir staging && echo 1 > staging/x && mv staging final\n" +
          "    writes: [final]\n" +
          "  gen:\n    run: rm -rf gen && mkdir gen.tmp && echo 1 > gen.tmp/h && mv gen.tmp gen\n" +
          '    writes: ["gen/**", "gen.tmp/**"]\n' +
          '  away:\n    run: mkdir -p t && echo 1 > t/y && mv t "$OUT"\n    writes: [log]\n',
      });
      const out = await Deno.makeTempDir();
      try {
        for (const round of ["first", "second"]) {
          await Deno.remove(`${out}/t`, { recursive: true }).catch(() => {});
          const r = await runJx(["lint"], { cwd: dir, runtime, env: { OUT: `${out}/t` } });
          assert.equal(r.code, 0, `${round}: ${r.stdout}${r.stderr}`);
          assert.equal(r.stdout, "", round);
        }
        assert.equal(await Deno.readTextFile(`${dir}/final/x`), "1\n");
        // A folder moved in whole from outside: what it holds is unknown, one file declared in it
        // does not cover it (the folder is reported, as before renames were followed).
        await Deno.writeTextFile(
          `${dir}/jobs.yaml`,
          'jobs:\n  intro:\n    run: rm -rf dist && T=$(mktemp -d "$OUT/d.XXXXXX") && ' +
            "echo a > $T/app.js && echo s > $T/secret.js && mv $T dist\n    writes: [dist/app.js]\n" +
            '  staged:\n    run: rm -rf gen2 && T=$(mktemp -d "$OUT/g.XXXXXX") && ' +
            'echo a > $T/a.js && mv $T gen2\n    writes: ["gen2/*.js"]\n',
        );
        const r = await runJx(["lint"], { cwd: dir, runtime, env: { OUT: out } });
        assert.equal(r.code, 1, r.stdout + r.stderr);
        // (A glob that may match anything in it covers it.)
        assert.deepEqual(lines(r.stdout).map((l) => l.replace(/^\S+ /, "")), [
          "job 'intro' write dist, not in its writes: add writes: [dist]",
        ]);
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    },
  );

  t("a script writing outside its writes; lint.ignore and --ignore silence it", async () => {
    const script = "mkdir -p out\necho a > out/a.txt\necho log >> build.log\n" +
      "sed -i s/a/b/ out/a.txt\nrm -f stale.txt\n";
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  gen:\n    run: sh gen.sh\n    reads: [gen.sh]\n" +
        "    writes: [out/a.txt]\n",
      "gen.sh": script,
      "stale.txt": "old\n",
    });
    const r = await runJx(["lint"], { cwd: dir, runtime });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(lines(r.stdout), [
      "jobs.yaml:2:3: job 'gen' write build.log, not in its writes: add writes: [build.log]",
      "jobs.yaml:2:3: job 'gen' delete stale.txt, not in its writes: add writes: [stale.txt]",
    ]);
    const flag = await runJx(["lint", "--ignore", "build.log", "--ignore=stale.*"], {
      cwd: dir,
      runtime,
    });
    assert.equal(flag.code, 0, flag.stdout);
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      "lint: { ignore: [build.log, stale.txt] }\n" + await Deno.readTextFile(`${dir}/jobs.yaml`),
    );
    const key = await runJx(["lint"], { cwd: dir, runtime });
    assert.equal(key.code, 0, key.stdout);
  });

  t(
    "no writes glob over the job's inputs, another job's files or files it left alone",
    async () => {
      const dir = await tempDir({
        "jobs.yaml": "jobs:\n" +
          "  ok: { run: cat in.txt > out.txt, reads: [in.txt], writes: [out.txt] }\n" +
          '  bad: { run: "cat hidden.txt > bad.txt; rm -f gone.txt", reads: [in.txt] }\n',
        "in.txt": "in\n",
        "hidden.txt": "hidden\n",
        "gone.txt": "gone\n",
      });
      const r = await runJx(["lint"], { cwd: dir, runtime });
      assert.equal(r.code, 1, r.stderr);
      // "*.txt" would make in.txt, hidden.txt and ok's out.txt outputs of bad.
      assert.deepEqual(lines(r.stdout), [
        "jobs.yaml:3:3: job 'bad' write bad.txt, not in its writes: add writes: [bad.txt, gone.txt]",
        "jobs.yaml:3:3: job 'bad' delete gone.txt, not in its writes: add writes: [bad.txt, gone.txt]",
        "jobs.yaml:3:3: job 'bad' read hidden.txt, not in its reads: add reads: [hidden.txt]",
      ]);
      // The edits pasted: no finding, and no edge between the two jobs.
      const fixed = (await Deno.readTextFile(`${dir}/jobs.yaml`)).replace(
        "reads: [in.txt] }\n",
        "reads: [in.txt, hidden.txt], writes: [bad.txt, gone.txt] }\n",
      );
      await Deno.writeTextFile(`${dir}/jobs.yaml`, fixed);
      await Deno.writeTextFile(`${dir}/gone.txt`, "gone\n");
      const again = await runJx(["lint"], { cwd: dir, runtime });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      const graph = await runJx(["graph", "--format", "json"], { cwd: dir, runtime });
      assert.deepEqual(JSON.parse(graph.stdout).edges, []);
    },
  );

  t("two unordered jobs writing one file: a race; a read with no order", async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n" +
        "  a: { run: echo a > shared.txt, writes: [shared.txt] }\n" +
        "  b: { run: echo b > shared.txt }\n" +
        "  c: { run: cat shared.txt > c.txt, writes: [c.txt], needs: [a] }\n",
    });
    const r = await runJx(["lint", "--events", "ev.ndjson"], { cwd: dir, runtime });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(lines(r.stdout), [
      "jobs.yaml:3:3: job 'b' write shared.txt, not in its writes: add writes: [shared.txt]",
      "jobs.yaml:3:3: job 'b' write shared.txt, as 'a' does, with no order between them: " +
      "add writes: [shared.txt]",
      // c waits for a (needs) but not for b, which writes the file it reads.
      "jobs.yaml:4:3: job 'c' read shared.txt, which 'b' writes, with no order between them: " +
      "add needs: [b]",
    ]);
    const ev = (await readEvents(`${dir}/ev.ndjson`)).filter((e) => e.type === "access.finding");
    // Events come as jobs end (a and b run at once): compared in file order.
    assert.deepEqual(ev.map((e) => [e.job, e.problem, e.other]).sort(), [
      ["b", "race", "a"],
      ["b", "undeclared-write", undefined],
      ["c", "unordered-read", "b"],
    ]);
  });

  t("a read through a link to the file another job writes, with no order: found", async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n" +
        "  s: { run: cat clink > o, reads: [clink], writes: [o] }\n" +
        "  gen: { run: echo c3 > c.txt, writes: [c.txt] }\n",
      "c.txt": "c1\n",
    });
    await Deno.symlink("c.txt", `${dir}/clink`);
    const r = await runJx(["lint", "-j1"], { cwd: dir, runtime });
    assert.equal(r.code, 1, r.stderr);
    // s declares the link it reads: nothing against its own reads; the order is what is missing.
    assert.deepEqual(lines(r.stdout), [
      "jobs.yaml:2:3: job 's' read c.txt, which 'gen' writes, with no order between them: " +
      "add needs: [gen]",
    ]);
  });

  t("a job reading a file another job writes, not ordered after it", async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n" +
        "  gen: { run: echo x > gen.txt, writes: [gen.txt] }\n" +
        "  use: { run: cat gen.txt > use.txt, writes: [use.txt] }\n",
    });
    // -j1: at -j2 'use' may run first and fail (the file is not there yet); then its
    // read is a failed probe, still reported as the unordered read it is.
    const r = await runJx(["lint", "-j1"], { cwd: dir, runtime });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(lines(r.stdout), [
      "jobs.yaml:3:3: job 'use' read gen.txt, not in its reads: add reads: [gen.txt]",
      "jobs.yaml:3:3: job 'use' read gen.txt, which 'gen' writes, with no order between them: " +
      "add reads: [gen.txt]",
    ]);
  });

  t("the project's C example (jobs.yaml.example): no finding", async () => {
    const dir = await tempDir();
    await Deno.copyFile(`${ROOT}/jobs.yaml.example`, `${dir}/jobs.yaml`);
    await Deno.mkdir(`${dir}/examples/c/src`, { recursive: true });
    for (const f of ["main.c", "greet.c", "greet.h"]) {
      await Deno.copyFile(`${ROOT}/examples/c/src/${f}`, `${dir}/examples/c/src/${f}`);
    }
    const r = await runJx(["lint", "--events", "ev.ndjson"], { cwd: dir, runtime });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /: job '/);
    assert.match(r.stdout, /test passed/);
    const ev = await readEvents(`${dir}/ev.ndjson`);
    assert.equal(ev.filter((e) => e.type === "access.finding").length, 0);
    assert.equal(ev.filter((e) => e.type === "job.end" && e.status === "ok").length, 6);
  });

  t(
    "run --check-access reports, --strict fails on an undeclared header, explain shows it",
    async () => {
      const dir = await tempDir({
        "jobs.yaml": "jobs:\n  cc:\n    run: gcc -Iinc -c main.c -o main.o\n" +
          "    reads: [main.c]\n    writes: [main.o]\n",
        "main.c": '#include "a.h"\nint main(void) { return A; }\n',
        "inc/a.h": "#define A 0\n",
      });
      const line = "jobs.yaml:2:3: job 'cc' read inc/a.h, not in its reads: add reads: [inc/a.h]";
      // Without --strict: the finding is reported, the exit status is the run's.
      const r = await runJx(["run", "--check-access", "--events", "ev.ndjson"], {
        cwd: dir,
        runtime,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lines(r.stdout), [line]);
      const ev = await readEvents(`${dir}/ev.ndjson`);
      const found = ev.findIndex((e) => e.type === "access.finding");
      assert.deepEqual(
        [ev[found].job, ev[found].path, ev[found].access, ev[found].suggest],
        ["cc", "inc/a.h", "read", "reads: [inc/a.h]"],
      );
      // Found at the job's end, before its job.end.
      assert.ok(found < ev.findIndex((e) => e.type === "job.end" && e.job === "cc"));
      // --strict: the job ran again (its last check had findings) and the run fails.
      const strict = await runJx(["run", "--strict", "--events", "ev2.ndjson"], {
        cwd: dir,
        runtime,
      });
      assert.equal(strict.code, 1, strict.stdout + strict.stderr);
      assert.deepEqual(lines(strict.stdout), [line]);
      assert.match(strict.stderr, /jx: --strict: 1 finding/);
      const end = (await readEvents(`${dir}/ev2.ndjson`)).at(-1)!;
      assert.deepEqual([end.type, end.status, end.exit], ["run.end", "failed", 1]);
      // A plain run: up to date, exit 0; explain shows the last checked run's findings.
      assert.equal((await runJx(["run"], { cwd: dir, runtime })).code, 0);
      const explain = await runJx(["explain", "cc"], { cwd: dir, runtime });
      assert.equal(explain.code, 0, explain.stderr);
      assert.match(
        explain.stdout,
        /last checked run \(.*\): 1 finding:\n {4}jobs.yaml:2:3: job 'cc' read inc\/a.h/,
      );
      assert.match(explain.stdout, /not stored in or restored from the output cache/);
      // The suggested edit applied: --strict passes, explain says so.
      const fixed = (await Deno.readTextFile(`${dir}/jobs.yaml`)).replace(
        "reads: [main.c]",
        "reads: [main.c, inc/a.h]",
      );
      await Deno.writeTextFile(`${dir}/jobs.yaml`, fixed);
      const ok = await runJx(["run", "--strict"], { cwd: dir, runtime });
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.equal(ok.stdout, "");
      const after = await runJx(["explain", "cc"], { cwd: dir, runtime });
      assert.match(after.stdout, /last checked run \(.*\): no finding/);
    },
  );

  t("run --strict: a failing job keeps its own exit status; -n traces nothing", async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  bad: { run: 'cat x.txt; exit 3' }\n",
      "x.txt": "x\n",
    });
    const r = await runJx(["run", "--strict"], { cwd: dir, runtime });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /job 'bad' read x.txt, not in its reads/);
    assert.doesNotMatch(r.stderr, /--strict:/);
    const dry = await runJx(["run", "-n", "--strict"], { cwd: dir, runtime });
    assert.equal(dry.code, 0, dry.stderr);
    assert.doesNotMatch(dry.stdout, /job 'bad' read/);
  });

  t("bad arguments: one line, exit 2", async () => {
    const dir = await tempDir({ "jobs.yaml": "jobs:\n  a: { run: 'true' }\n" });
    const r = await runJx(["lint", "--bogus"], { cwd: dir, runtime });
    assert.equal(r.code, 2);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.equal(r.stderr, "jx: lint: unknown option '--bogus' (see jx lint --help)\n");
    const bad = await runJx(["lint", "nope"], { cwd: dir, runtime });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown job 'nope'/);
  });
}

Deno.test({
  name:
    "lint: a dotenv file or a depfile's input whose name holds glob characters declares that file, not what it would match",
  ignore,
  fn: async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  cc:\n    run: sh cc.sh\n    reads: [cc.sh]\n" +
        "    writes: [out, out.d]\n    depfile: out.d\n    env_file: ['cfg[12].env']\n",
      // The depfile lists x[12].h; the job reads x1.h and cfg1.env too, which no one names.
      "cc.sh": "cat 'inc/x[12].h' inc/x1.h 'cfg[12].env' cfg1.env > out\n" +
        "printf 'out: inc/x[12].h\\n' > out.d\n",
      "inc/x[12].h": "x12\n",
      "inc/x1.h": "x1\n",
      "cfg[12].env": "A=12\n",
      "cfg1.env": "A=1\n",
    });
    const r = await runJx(["lint"], { cwd: dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.deepEqual(lines(r.stdout), [
      "jobs.yaml:2:3: job 'cc' read cfg1.env, not in its reads: add reads: [cfg1.env]",
      "jobs.yaml:2:3: job 'cc' read inc/x1.h, not in its reads: add reads: [inc/x1.h]",
    ]);
  },
});

Deno.test({
  name:
    "lint: a malformed glob, an absolute path, '..' or ${VAR} in --ignore or lint.ignore: exit 2, one line, before anything runs",
  ignore,
  fn: async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  a: { run: 'touch ran; cat x.txt' }\n",
      "x.txt": "x\n",
    });
    for (const bad of ["[", "{a", "[z-a]x", "/abs", "../x", "a/${X}"]) {
      const r = await runJx(["lint", "--ignore", bad], { cwd: dir });
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /^jx: --ignore '.*': /);
    }
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      "jobs:\n  a: { run: 'touch ran; cat x.txt' }\nlint:\n  ignore: [ok, '[']\n",
    );
    for (const args of [["lint"], ["run", "--check-access"], ["run"]]) {
      const r = await runJx(args, { cwd: dir });
      assert.equal(r.code, 2, `${args}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        `jobs.yaml:4:16: lint.ignore[1]: '[': bad glob: '[' without its closing ']'\n`,
      );
    }
    await assert.rejects(Deno.stat(`${dir}/ran`), "nothing ran");
  },
});

Deno.test({
  name:
    "lint: a damaged finding in .jx/access.json (null, a number) is ignored: explain, run and --check-access say no internal error",
  ignore,
  fn: async () => {
    const dir = await tempDir({
      "jobs.yaml": "cache: true\njobs:\n  b: { run: cat x.txt > out.txt, writes: [out.txt] }\n",
      "x.txt": "x\n",
    });
    for (const findings of ["[null]", '[5, "x", {}]']) {
      await Deno.mkdir(`${dir}/.jx`, { recursive: true, mode: 0o700 });
      await Deno.writeTextFile(
        `${dir}/.jx/access.json`,
        `{"version":2,"files":{"jobs.yaml":{"jobs":{"b":{"at":"x","findings":${findings}}}}}}`,
      );
      for (
        const args of [["explain", "b"], ["run", "--force"], ["run", "--check-access", "--force"]]
      ) {
        const r = await runJx([...args, "--cache-dir", `${dir}/store`], { cwd: dir });
        assert.equal(r.code, 0, `${findings} ${args}: ${r.stderr}`);
        assert.doesNotMatch(r.stdout + r.stderr, /internal error|undefined/, `${findings} ${args}`);
      }
    }
  },
});

Deno.test({
  name:
    "lint: jx itself under ptrace (strace cannot trace its jobs): exit 2 before any job, its last findings kept",
  ignore,
  fn: async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  b: { run: cat secret.txt > out.txt, writes: [out.txt] }\n",
      "secret.txt": "v1\n",
    });
    const first = await runJx(["lint"], { cwd: dir });
    assert.equal(first.code, 1, first.stderr);
    await Deno.remove(`${dir}/out.txt`);
    const before =
      JSON.parse(await Deno.readTextFile(`${dir}/.jx/access.json`)).files["jobs.yaml"].jobs.b
        .findings;
    assert.equal(before.length, 1);
    // Under an outer strace the job's own strace cannot attach: it was the job's "failure".
    const strace = findStrace()!;
    const out = await new Deno.Command(strace, {
      args: ["-f", "-o", "/dev/null", `${ROOT}/bin/jx`, "run", "--check-access", "--force"],
      cwd: dir,
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, stderr);
    assert.match(stderr, /^jx: jx run --check-access: strace cannot trace here: .*\n$/);
    assert.doesNotMatch(new TextDecoder().decode(out.stdout), /FAILED/);
    await assert.rejects(() => Deno.stat(`${dir}/out.txt`));
    const after =
      JSON.parse(await Deno.readTextFile(`${dir}/.jx/access.json`)).files["jobs.yaml"].jobs.b
        .findings;
    assert.deepEqual(after, before);
  },
});

Deno.test({
  name:
    "lint: a trace read a part at a time (a trace past the longest string) gives the same accesses",
  ignore,
  fn: async () => {
    const { StraceTracer } = await import("../../lib/access/mod.ts");
    const dir = await tempDir({ "secret.txt": "s\n", "f": "" });
    // The shell opens f itself (no process per open): a long trace, quickly made.
    const script =
      "cat secret.txt >/dev/null; i=0; while [ $i -lt 2000 ]; do : < f; i=$((i+1)); done";
    const accesses = async (chunk?: number) => {
      const t = new StraceTracer({ chunk });
      try {
        const run = t.wrap(["/bin/sh", "-c", script], dir);
        const ok = await new Deno.Command(run.argv[0], { args: run.argv.slice(1), cwd: dir })
          .output();
        assert.equal(ok.code, 0);
        return run.collect()!.filter((a) => a.path.startsWith(dir)).map((a) => a.path);
      } finally {
        t.close();
      }
    };
    const whole = await accesses(), parts = await accesses(1024);
    assert.ok(whole.includes(`${dir}/secret.txt`));
    assert.deepEqual(parts, whole);
  },
});

Deno.test({
  name: "lint: --strict never lets the cache restore a job whose last checked run has findings",
  ignore,
  fn: async () => {
    const dir = await tempDir({
      "jobs.yaml":
        "cache: true\njobs:\n  w: { run: 'echo x > out.txt; echo log > log.txt', writes: [out.txt] }\n",
    });
    const store = `${dir}/store`;
    assert.equal((await runJx(["run", "--cache-dir", store], { cwd: dir })).code, 0);
    assert.equal((await runJx(["lint"], { cwd: dir })).code, 1, "write log.txt, not declared");
    await Deno.remove(`${dir}/out.txt`);
    const strict = await runJx(["run", "--strict", "--cache-dir", store], { cwd: dir });
    assert.equal(strict.code, 1, strict.stdout + strict.stderr);
    assert.doesNotMatch(strict.stdout + strict.stderr, /restored from|\d+ restored/);
    assert.match(strict.stderr, /not restored under --strict/);
  },
});

Deno.test({
  name: "lint: takes the directory's lock as jx run does (the same job never runs twice at once)",
  ignore,
  fn: async () => {
    const dir = await tempDir({
      "jobs.yaml":
        "jobs:\n  a: { run: 'echo start >> log.txt; while [ ! -f go ]; do sleep 0.02; done; " +
        "echo end >> log.txt' }\n",
    });
    const spawn = (args: string[]) => {
      const [cmd, argv] = jxCommand("deno", args);
      return new Deno.Command(cmd, { args: argv, cwd: dir, stdout: "null", stderr: "piped" })
        .spawn();
    };
    const run = spawn(["run", "--force"]);
    await waitForFile(`${dir}/log.txt`);
    // The run holds the lock (its job waits for `go`): lint must say it waits, then run after it.
    const lint = spawn(["lint"]);
    const reader = lint.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let said = "";
    while (!/waiting for another jx run in this directory/.test(said)) {
      const { done, value } = await reader.read();
      if (done) break;
      said += value;
    }
    await Deno.writeTextFile(`${dir}/go`, "");
    for (;;) if ((await reader.read()).done) break;
    await run.stderr.cancel();
    assert.equal((await run.status).code, 0);
    assert.equal((await lint.status).code, 1, "its findings: log.txt and go are not declared");
    assert.match(said, /waiting for another jx run in this directory/);
    assert.deepEqual(lines(await Deno.readTextFile(`${dir}/log.txt`)), [
      "start",
      "end",
      "start",
      "end",
    ]);
  },
});

Deno.test({
  name: "lint: two jobs files of one folder with a job of the same name keep their own findings",
  ignore,
  fn: async () => {
    const dir = await tempDir({
      "build.yaml":
        "cache: true\njobs:\n  b: { run: cat secret.txt > out2.txt, writes: [out2.txt] }\n",
      "jobs.yaml": "jobs:\n  b: { run: 'true' }\n",
      "secret.txt": "v1\n",
    });
    assert.equal((await runJx(["lint", "-f", "build.yaml"], { cwd: dir })).code, 1);
    assert.equal((await runJx(["lint"], { cwd: dir })).code, 0, "jobs.yaml's b is clean");
    // build.yaml's b keeps its finding: the cache neither stores nor restores it.
    const explain = await runJx(["explain", "-f", "build.yaml", "b"], { cwd: dir });
    assert.match(explain.stdout, /read secret\.txt, not in its reads/);
    const clean = await runJx(["explain", "b"], { cwd: dir });
    assert.doesNotMatch(clean.stdout, /secret\.txt/);
    const r = await runJx(["run", "-f", "build.yaml", "--force", "--cache-dir", `${dir}/s`], {
      cwd: dir,
    });
    assert.match(r.stderr, /b: not cached: its last checked run found undeclared inputs/);
  },
});

Deno.test({
  name: "lint: interrupted with a finding already made: exit 130, as its run.end says",
  ignore,
  fn: async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  peek: { run: cat a.h }\n" +
        "  slow: { run: 'echo up > up; sleep 30', needs: [peek] }\n",
      "a.h": "x\n",
    });
    const [cmd, argv] = jxCommand("deno", ["lint", "--events", "ev.ndjson"]);
    const lint = new Deno.Command(cmd, { args: argv, cwd: dir, stdout: "piped", stderr: "piped" })
      .spawn();
    await waitForFile(`${dir}/up`);
    lint.kill("SIGINT");
    const o = await lint.output();
    const end = (await readEvents(`${dir}/ev.ndjson`)).at(-1)!;
    assert.deepEqual([end.type, end.status, end.exit], ["run.end", "interrupted", 130]);
    assert.equal(o.code, 130, new TextDecoder().decode(o.stderr));
  },
});

Deno.test({
  name:
    "lint: --strict keeps failing on an unordered read while the other job is up to date (both rerun)",
  ignore,
  fn: async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n" +
        "  s: { run: cat clink > o, reads: [clink], writes: [o] }\n" +
        "  gen: { run: echo c3 > c.txt, writes: [c.txt] }\n",
      "c.txt": "c1\n",
    });
    await Deno.symlink("c.txt", `${dir}/clink`);
    const line = "jobs.yaml:2:3: job 's' read c.txt, which 'gen' writes, with no order between " +
      "them: add needs: [gen]";
    // The finding needs both traces: gen, clean and up to date, runs again with s.
    for (const run of [1, 2]) {
      const r = await runJx(["run", "--strict", "-j1"], { cwd: dir });
      assert.equal(r.code, 1, `run ${run}: ${r.stdout}${r.stderr}`);
      assert.deepEqual(lines(r.stdout), [line]);
    }
    const yaml = await Deno.readTextFile(`${dir}/jobs.yaml`);
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      yaml.replace("writes: [o]", "writes: [o], needs: [gen]"),
    );
    const fixed = await runJx(["run", "--strict"], { cwd: dir });
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
  },
});

Deno.test({
  name:
    "lint: -n with --strict or --check-access lists the jobs a checked run would run again for their findings",
  ignore,
  fn: async () => {
    // A dry run said 'jx: 2 jobs up to date' while the same run without -n ran both again.
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  cc: { run: cat in.txt > out.txt, writes: [out.txt] }\n" +
        "  ok: { run: echo > ok.txt, writes: [ok.txt] }\n",
      "in.txt": "a\n",
    });
    const first = await runJx(["run", "--strict"], { cwd: dir });
    assert.equal(first.code, 1, first.stdout + first.stderr);
    for (const flag of ["--strict", "--check-access"]) {
      const dry = await runJx(["run", "-n", flag], { cwd: dir });
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(dry.stdout, "cc: cat in.txt > out.txt\n", `${flag}: ${dry.stderr}`);
      assert.match(dry.stderr, /^jx: dry run: 1 job would run$/m);
    }
    const plain = await runJx(["run", "-n"], { cwd: dir });
    assert.equal(plain.stdout, "", plain.stderr);
    const again = await runJx(["run", "--check-access"], { cwd: dir });
    assert.match(again.stderr, /^jx: 1 job ok, 1 up to date, 1 finding in /m);
  },
});

Deno.test({
  name: "lint: a job that runs a program another job makes, not there yet: an unordered read",
  ignore,
  fn: async () => {
    const dir = await tempDir({
      "jobs.yaml": "jobs:\n  use: { run: ./tool }\n" +
        "  gen: { run: 'printf \"#!/bin/sh\\n\" > tool; chmod +x tool', writes: [tool] }\n",
    });
    // -j1: use runs first, its exec of ./tool fails (ENOENT): a probe, as a failed open is.
    const r = await runJx(["lint", "-j1"], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(lines(r.stdout).filter((l) => l.startsWith("jobs.yaml")), [
      "jobs.yaml:2:3: job 'use' read tool, which 'gen' writes, with no order between them: " +
      "add needs: [gen]",
    ]);
    assert.deepEqual(
      parseStrace(`7 execve("/p/t", ["t"], 0x1 /* 1 var */) = -1 ENOENT (No such file)\n`, "/p"),
      [{ path: "/p/t", kind: "exec", pid: 7, ok: false }],
    );
  },
});

Deno.test({
  name:
    "lint: a script's #! interpreter inside the project (the kernel opens it, no call shows it)",
  ignore,
  fn: async () => {
    const dir = await tempDir({ "gen.sh": "" });
    await Deno.mkdir(`${dir}/tools`);
    await Deno.copyFile("/bin/sh", `${dir}/tools/shbin`); // a binary: nothing reads it by a call
    await Deno.chmod(`${dir}/tools/shbin`, 0o755);
    await Deno.writeTextFile(`${dir}/gen.sh`, `#!${dir}/tools/shbin -e\necho hi > out.txt\n`);
    await Deno.chmod(`${dir}/gen.sh`, 0o755);
    await Deno.writeTextFile(
      `${dir}/jobs.yaml`,
      "jobs:\n  gen: { run: ./gen.sh, reads: [gen.sh], writes: [out.txt] }\n",
    );
    const r = await runJx(["lint"], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(lines(r.stdout), [
      "jobs.yaml:2:3: job 'gen' exec tools/shbin, not in its reads: add reads: [tools/shbin]",
    ]);
    // Declared: no finding.
    const fixed = (await Deno.readTextFile(`${dir}/jobs.yaml`)).replace(
      "[gen.sh]",
      "[gen.sh, tools/shbin]",
    );
    await Deno.writeTextFile(`${dir}/jobs.yaml`, fixed);
    const again = await runJx(["lint"], { cwd: dir });
    assert.equal(again.code, 0, again.stdout + again.stderr);
  },
});

Deno.test("strace parser: a script's interpreters (#!), relative to the cwd, nested, at most 4", () => {
  const heads: Record<string, string> = {
    "/p/run.sh": "#!tools/py -u\n",
    "/p/tools/py": "#! /p/tools/wrap\n",
    "/p/tools/wrap": "#!/p/l1\n",
    "/p/l1": "#!/p/l2\n",
    "/p/l2": "#!/p/l3\n",
    "/p/bin": "\x7fELF",
  };
  const p = new StraceParser("/p", undefined, (path) => heads[path]);
  p.lines(
    '7 execve("./run.sh", ["./run.sh"], 0x1 /* 1 var */) = 0\n' +
      '7 execve("/p/bin", ["bin"], 0x1 /* 1 var */) = 0\n',
  );
  assert.deepEqual(p.accesses.map((a) => `${a.kind} ${a.path}`), [
    "exec /p/run.sh",
    "exec /p/tools/py",
    "exec /p/tools/wrap",
    "exec /p/l1",
    "exec /p/l2",
    "exec /p/bin",
  ]);
});
