/**
 * `jx watch` with inotify when folders come and go: a watched folder deleted
 * or moved away and then made again is watched again (and the moved one no
 * longer is), and the files already inside a folder when it appears (made
 * with `mkdir -p` and written at once, or moved in whole) count as changed.
 * The first case runs on Bun too.
 */
import assert from "node:assert/strict";
import { sleep, tempDir } from "../helpers.ts";
import { Session, waitForText } from "./watch_helpers.ts";

/** A job that copies what `reads` names into out.txt. */
const copyJob = (run: string, reads: string) => `
jobs:
  build: { run: "${run} > out.txt", reads: [${reads}], writes: [out.txt] }
`;

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`[${runtime}] watch: a watched folder deleted and made again is watched again`, async () => {
    const dir = await tempDir({
      "jobs.yaml": copyJob("cat src/a.txt", "src/a.txt"),
      "src/a.txt": "1\n",
    });
    const w = new Session(runtime, dir, { env: { MAKEFLAGS: "" } });
    try {
      await w.cycles(1);
      await Deno.remove(`${dir}/src`, { recursive: true });
      await w.cycles(2); // the deletion: a cycle that fails
      await Deno.mkdir(`${dir}/src`);
      await Deno.writeTextFile(`${dir}/src/a.txt`, "2\n");
      await waitForText(`${dir}/out.txt`, "2\n");
      await sleep(300); // the folder's first events are in
      await Deno.writeTextFile(`${dir}/src/a.txt`, "3\n");
      await waitForText(`${dir}/out.txt`, "3\n");
    } finally {
      const s = await w.stop();
      assert.equal(s.code, 130, s.stderr);
    }
  });
}

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`[${runtime}] watch: an edit of the file a read symbolic link points to is seen`, async () => {
    // The project and, beside it, a folder no job reads: src/conf.txt links to a file there.
    const top = await tempDir({ "shared/conf.txt": "1\n", "shared/other.txt": "x\n" });
    const dir = `${top}/project`;
    await Deno.mkdir(`${dir}/src`, { recursive: true });
    await Deno.writeTextFile(`${dir}/jobs.yaml`, copyJob("cat src/*.txt", '"src/*.txt"'));
    await Deno.symlink(`${top}/shared/conf.txt`, `${dir}/src/conf.txt`);
    const w = new Session(runtime, dir, { env: { MAKEFLAGS: "" } });
    try {
      await w.cycles(1);
      await Deno.writeTextFile(`${top}/shared/other.txt`, "y\n"); // read by no job
      await Deno.writeTextFile(`${top}/shared/conf.txt`, "2\n");
      await waitForText(`${dir}/out.txt`, "2\n");
      const ev = await w.cycles(2);
      assert.deepEqual(ev.filter((e) => e.type === "watch.change").map((e) => e.paths), [
        ["src/conf.txt"],
      ]);
      // A link made while watching: its file's edits count from the cycle after it.
      await Deno.writeTextFile(`${top}/shared/new.txt`, "n\n");
      await Deno.symlink(`${top}/shared/new.txt`, `${dir}/src/new.txt`);
      await waitForText(`${dir}/out.txt`, "2\nn\n");
      await w.cycles(3);
      await Deno.writeTextFile(`${top}/shared/new.txt`, "n2\n");
      await waitForText(`${dir}/out.txt`, "2\nn2\n");
    } finally {
      const s = await w.stop();
      assert.equal(s.code, 130, s.stderr);
    }
  });
}

Deno.test("watch: a read symbolic link a job makes is followed from the cycle that made it", async () => {
  const top = await tempDir({ "shared/conf.txt": "1\n" });
  const dir = `${top}/project`;
  await Deno.mkdir(`${dir}/src`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/jobs.yaml`,
    "jobs:\n" +
      "  link: { run: ln -sf ../../shared/conf.txt src/conf.txt, writes: [src/conf.txt] }\n" +
      "  use: { run: cat src/conf.txt > out.txt, reads: [src/conf.txt], writes: [out.txt] }\n",
  );
  const w = new Session("deno", dir);
  try {
    await w.cycles(1); // its line said: the cycle's end (after its run.end) followed the link
    assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "1\n");
    // Past the moment after a cycle (50 ms) in which a change to what its jobs write (the link)
    // is taken for their own late write; a late test only waits longer.
    await sleep(300);
    await Deno.writeTextFile(`${top}/shared/conf.txt`, "2\n");
    await waitForText(`${dir}/out.txt`, "2\n");
    const ev = await w.cycles(2);
    assert.deepEqual(ev.filter((e) => e.type === "watch.change").map((e) => e.jobs), [["use"]]);
  } finally {
    const s = await w.stop();
    assert.equal(s.code, 130, s.stderr);
  }
});

Deno.test("watch: a folder moved away is no longer watched; the one made in its place is", async () => {
  const dir = await tempDir({
    "jobs.yaml": copyJob("cat src/*.txt", '"src/*.txt"'),
    "src/a.txt": "1\n",
  });
  const w = new Session("deno", dir);
  try {
    await w.cycles(1);
    await Deno.rename(`${dir}/src`, `${dir}/src.old`);
    await Deno.mkdir(`${dir}/src`);
    await Deno.writeTextFile(`${dir}/src/a.txt`, "2\n");
    await waitForText(`${dir}/out.txt`, "2\n");
    await sleep(300);
    const before = (await w.events()).filter((e) => e.type === "run.start").length;
    await Deno.writeTextFile(`${dir}/src.old/a.txt`, "old\n");
    await sleep(800); // a cycle for it would have started by now
    const ev = await w.events();
    assert.equal(ev.filter((e) => e.type === "run.start").length, before, "src.old is not watched");
    await Deno.writeTextFile(`${dir}/src/a.txt`, "3\n");
    await waitForText(`${dir}/out.txt`, "3\n");
  } finally {
    const s = await w.stop();
    assert.equal(s.code, 130, s.stderr);
    assert.doesNotMatch(s.stderr, /src\.old/);
  }
});

Deno.test("watch: a folder moved away (and nothing in its place) reruns the jobs that read what was in it", async () => {
  const dir = await tempDir({
    "jobs.yaml": copyJob("cat src/*.txt", '"src/*.txt"'),
    "src/a.txt": "1\n",
  });
  const w = new Session("deno", dir);
  try {
    await w.cycles(1);
    await Deno.rename(`${dir}/src`, `${dir}/src.old`);
    // `jx run` would run it again (its inputs are gone) and so fail: so does the cycle.
    const ev = await w.cycles(2);
    const ends = ev.filter((e) => e.type === "job.end");
    assert.equal(ends.length, 2, JSON.stringify(ends));
    assert.equal((ends[1] as { status?: string }).status, "failed");
  } finally {
    await w.stop();
  }
});

Deno.test("watch: a folder a ** glob reaches, moved away, reruns the job that read its files", async () => {
  const dir = await tempDir({
    "jobs.yaml": copyJob('find src -name \\"*.txt\\" | sort', '"src/**/*.txt"'),
    "src/a.txt": "1\n",
    "src/sub/b.txt": "2\n",
  });
  const w = new Session("deno", dir);
  try {
    await w.cycles(1);
    await waitForText(`${dir}/out.txt`, "src/a.txt\nsrc/sub/b.txt\n");
    // No event names src/sub/b.txt: only the watch of src/sub ends.
    await Deno.rename(`${dir}/src/sub`, `${dir}/away`);
    await waitForText(`${dir}/out.txt`, "src/a.txt\n");
  } finally {
    const s = await w.stop();
    assert.equal(s.code, 130, s.stderr);
  }
});

Deno.test("watch: the files already in a folder when it appears count as changed", async () => {
  const dir = await tempDir({
    "jobs.yaml": copyJob('find src -name \\"*.txt\\" | sort', '"src/**/*.txt"'),
    "src/a.txt": "1\n",
  });
  const w = new Session("deno", dir);
  try {
    await w.cycles(1);
    // Made and written at once: the file is there before jx can watch its folder.
    await Deno.mkdir(`${dir}/src/n1/n2`, { recursive: true });
    await Deno.writeTextFile(`${dir}/src/n1/n2/deep.txt`, "x\n");
    await waitForText(`${dir}/out.txt`, "src/a.txt\nsrc/n1/n2/deep.txt\n");
    const change = (await w.events()).filter((e) => e.type === "watch.change").at(-1)!;
    assert.deepEqual(change.paths, ["src/n1/n2/deep.txt"]);
    // A folder moved in whole, with a file in a folder of its own.
    await Deno.mkdir(`${dir}/other/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir}/other/sub/m.txt`, "y\n");
    await Deno.rename(`${dir}/other`, `${dir}/src/moved`);
    await waitForText(
      `${dir}/out.txt`,
      "src/a.txt\nsrc/moved/sub/m.txt\nsrc/n1/n2/deep.txt\n",
    );
  } finally {
    const s = await w.stop();
    assert.equal(s.code, 130, s.stderr);
  }
});

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`[${runtime}] watch: a read folder reached through a link that is pointed elsewhere (ln -sfn) reruns, and the new folder is watched`, async () => {
    const dir = await tempDir({
      "jobs.yaml": 'jobs:\n  cat: { run: "cat lnk/*.txt > out.txt", reads: ["lnk/*.txt"] }\n',
      "real1/x.txt": "a\n",
      "real2/x.txt": "b\n",
    });
    await Deno.symlink("real1", `${dir}/lnk`);
    const w = new Session(runtime, dir, { env: { MAKEFLAGS: "" } });
    try {
      await w.cycles(1);
      assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "a\n");
      // As ln -sfn does: a new link renamed over the old one.
      await Deno.symlink("real2", `${dir}/lnk.new`);
      await Deno.rename(`${dir}/lnk.new`, `${dir}/lnk`);
      await waitForText(`${dir}/out.txt`, "b\n");
      await sleep(300); // the new folder's watch is in
      await Deno.writeTextFile(`${dir}/real2/x.txt`, "c\n");
      await waitForText(`${dir}/out.txt`, "c\n");
    } finally {
      const s = await w.stop();
      assert.equal(s.code, 130, s.stderr);
    }
  });
}

Deno.test("watch: a link deeper on the way to a read folder (sub/lnk), pointed elsewhere, reruns; edits in the old folder no longer count", async () => {
  const dir = await tempDir({
    "jobs.yaml": 'jobs:\n  cat: { run: "cat sub/lnk/*.txt > out.txt", reads: ["sub/lnk/*.txt"] }\n',
    "real1/x.txt": "a\n",
    "real2/x.txt": "b\n",
    "sub/keep": "",
  });
  await Deno.symlink("../real1", `${dir}/sub/lnk`);
  const w = new Session("deno", dir, { env: { MAKEFLAGS: "" } });
  try {
    await w.cycles(1);
    await Deno.symlink("../real2", `${dir}/sub/lnk.new`);
    await Deno.rename(`${dir}/sub/lnk.new`, `${dir}/sub/lnk`);
    await waitForText(`${dir}/out.txt`, "b\n");
    // The cycle's run.end follows its job's output: counted once it is written.
    const ran = (await w.cycles(2)).filter((e) => e.type === "run.end").length;
    await sleep(300);
    await Deno.writeTextFile(`${dir}/real1/x.txt`, "old folder\n");
    await sleep(600);
    assert.equal((await w.events()).filter((e) => e.type === "run.end").length, ran);
    await Deno.writeTextFile(`${dir}/real2/x.txt`, "c\n");
    await waitForText(`${dir}/out.txt`, "c\n");
  } finally {
    const s = await w.stop();
    assert.equal(s.code, 130, s.stderr);
  }
});

for (const runtime of ["deno", "bun"] as const) {
  Deno.test(`[${runtime}] watch: one folder read by two paths (inc a link to lib): an edit reruns the jobs of both`, async () => {
    const dir = await tempDir({
      "jobs.yaml": `
jobs:
  a: { run: "cat lib/x.h > a.out", reads: [lib/x.h], writes: [a.out] }
  b: { run: "cat inc/x.h > b.out", reads: [inc/x.h], writes: [b.out] }
`,
      "lib/x.h": "1\n",
    });
    await Deno.symlink("lib", `${dir}/inc`);
    const w = new Session(runtime, dir, { env: { MAKEFLAGS: "" } });
    try {
      await w.cycles(1);
      // inotify gives one watch for the folder both paths lead to: it counts under each.
      await Deno.writeTextFile(`${dir}/lib/x.h`, "2\n");
      await waitForText(`${dir}/a.out`, "2\n");
      await waitForText(`${dir}/b.out`, "2\n");
      await Deno.writeTextFile(`${dir}/inc/x.h`, "3\n");
      await waitForText(`${dir}/a.out`, "3\n");
      await waitForText(`${dir}/b.out`, "3\n");
    } finally {
      const s = await w.stop();
      assert.equal(s.code, 130, s.stderr);
    }
  });
}

Deno.test("watch: a link to a folder made on the way to a read (ln -s real lnk for lnk/x.txt) is followed", async () => {
  const dir = await tempDir({
    "jobs.yaml": copyJob("(cat lnk/x.txt || echo none)", "lnk/x.txt"),
    "real/x.txt": "1\n",
  });
  const w = new Session("deno", dir);
  try {
    await w.cycles(1);
    await waitForText(`${dir}/out.txt`, "none\n");
    // The link's event is not a folder's: the folder it leads to is watched all the same.
    await Deno.symlink("real", `${dir}/lnk`);
    await waitForText(`${dir}/out.txt`, "1\n");
    await Deno.writeTextFile(`${dir}/real/x.txt`, "2\n");
    await waitForText(`${dir}/out.txt`, "2\n");
  } finally {
    const s = await w.stop();
    assert.equal(s.code, 130, s.stderr);
  }
});

Deno.test("watch: a read link to a link (conf.txt -> links/cur -> v1/c.txt): the middle link pointed elsewhere reruns", async () => {
  const dir = await tempDir({
    "jobs.yaml": copyJob("cat conf.txt", "conf.txt"),
    "v1/c.txt": "1\n",
    "v2/c.txt": "2\n",
    "links/.keep": "",
  });
  await Deno.symlink("../v1/c.txt", `${dir}/links/cur`);
  await Deno.symlink("links/cur", `${dir}/conf.txt`);
  const w = new Session("deno", dir);
  try {
    await w.cycles(1);
    // `ln -sfn`: a new link renamed over the old one, in links/, which no job reads.
    await Deno.symlink("../v2/c.txt", `${dir}/links/cur.new`);
    await Deno.rename(`${dir}/links/cur.new`, `${dir}/links/cur`);
    await waitForText(`${dir}/out.txt`, "2\n");
    await w.cycles(2);
    await Deno.writeTextFile(`${dir}/v2/c.txt`, "3\n"); // the file it leads to now
    await waitForText(`${dir}/out.txt`, "3\n");
  } finally {
    const s = await w.stop();
    assert.equal(s.code, 130, s.stderr);
  }
});

Deno.test("watch: a read link pointed elsewhere: an edit of its new target later in that cycle, after the job read it, reruns", async () => {
  // `copy` reads the link; `slow` needs it and runs on for a while: the cycle the link's change
  // starts is still running when the file it now leads to is edited.
  const dir = await tempDir({
    "jobs.yaml": `
jobs:
  copy: { run: "cat conf.txt > out.txt", reads: [conf.txt], writes: [out.txt] }
  slow: { run: "sleep 1.5", needs: [copy] }
`,
    "v1/c.txt": "1\n",
    "v2/c.txt": "2\n",
  });
  await Deno.symlink("v1/c.txt", `${dir}/conf.txt`);
  const w = new Session("deno", dir);
  try {
    await w.cycles(1);
    await Deno.symlink("v2/c.txt", `${dir}/conf.new`);
    await Deno.rename(`${dir}/conf.new`, `${dir}/conf.txt`);
    await waitForText(`${dir}/out.txt`, "2\n");
    // `slow` runs: the cycle has not ended.
    assert.equal((await w.events()).filter((e) => e.type === "run.end").length, 1);
    await Deno.writeTextFile(`${dir}/v2/c.txt`, "3\n");
    await waitForText(`${dir}/out.txt`, "3\n");
  } finally {
    const s = await w.stop();
    assert.equal(s.code, 130, s.stderr);
  }
});
