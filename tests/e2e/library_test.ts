/**
 * The library example (examples/library.ts, shown in docs/library.md) runs
 * as documented, under Deno and under Bun; a reporter that throws makes
 * `runJobs` reject, with no job's process left running.
 */
import assert from "node:assert/strict";
import { alive, BUN, DENO, inGroups, ROOT, RUNTIMES } from "../helpers.ts";

for (const rt of RUNTIMES) {
  Deno.test(`[${rt}] examples/library.ts: a graph built in code, run with a custom reporter`, async () => {
    const example = `${ROOT}/examples/library.ts`;
    const [cmd, args] = rt === "bun" ? [BUN, [example]] : [DENO, ["run", "-A", "--quiet", example]];
    const out = await new Deno.Command(cmd, { args, cwd: ROOT, stdin: "null" }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr) + stdout);
    const lines = stdout.split("\n");
    assert.ok(lines.includes("edge gen -> compile-beta: writes out/parts.h -> reads out/*.h"));
    assert.ok(lines.includes("edge compile-gamma -> link: writes out/gamma.o -> reads out/*.o"));
    assert.ok(lines.includes("start: 7 jobs, 2 slots"));
    const order = lines.filter((l) => /^[\w-]+: ok/.test(l) && !l.startsWith("end:")).map((l) =>
      l.split(":")[0]
    );
    assert.equal(order.length, 7);
    assert.deepEqual(order.slice(0, 2), ["setup", "gen"]);
    assert.deepEqual(order.slice(-2), ["link", "test"]);
    assert.ok(lines.includes("test: ok (said 3)"));
    assert.ok(lines.includes("end: ok, exit 0"));
    assert.ok(lines.includes("app: 6 lines"));
  });
}

Deno.test("docs/library.md: every TypeScript block runs, printing what its comments say", async () => {
  const md = await Deno.readTextFile(`${ROOT}/docs/library.md`);
  const blocks = [...md.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 6, `${blocks.length} blocks`);
  const dir = await Deno.makeTempDir({ prefix: "jx-docs-" });
  try {
    // The blocks import "./mod.ts" as a script at the repository root would.
    const files = blocks.map((text, i) => {
      const path = `${dir}/block${i}.ts`;
      Deno.writeTextFileSync(path, text.replaceAll(`"./mod.ts"`, `"${ROOT}/mod.ts"`));
      return path;
    });
    await Deno.writeTextFile(
      `${dir}/all.ts`,
      files.map((f) => `console.log("== ${f}");\nawait import("${f}");\n`).join(""),
    );
    const out = await new Deno.Command(DENO, {
      args: ["run", "-A", "--quiet", "--config", `${ROOT}/deno.json`, `${dir}/all.ts`],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr) + stdout);
    for (const f of files) assert.ok(stdout.includes(`== ${f}\n`), `${f} ran`);
    for (
      const expected of [
        "writes gen.h -> reads *.h",
        `[ "gen", "use-a", "use-b", "use-c" ]`,
        "bad.yaml:2:8: jobs.a: unknown key 'rnu' (did you mean 'run'?)",
        "0 ok\n",
        "bad said: broken\nbad: exit 3\nafter: skipped (dependency-failed, bad)\n1\n",
        "[hello]  hello\n",
        `[ "a@0", "c@0", "b@100" ]`,
        `0 [ "echo-alpha from words", "echo-beta from words" ]`,
      ]
    ) assert.ok(stdout.includes(expected), `output has ${expected}:\n${stdout}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const rt of RUNTIMES.filter((r) => r !== "binary")) {
  Deno.test(`[${rt}] mod.ts imported from a project outside the repository, no configuration`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "jx-outside-" });
    try {
      // By path and by file URL, as another project's script would import it.
      const script = `
        import { createReactor, parseJobsFile, runJobs } from "${ROOT}/mod.ts";
        const byUrl = await import("${new URL(`file://${ROOT}/mod.ts`).href}");
        const graph = parseJobsFile("version: 1\\njobs:\\n  hi:\\n    run: echo hi\\n", "${dir}/jobs.yaml");
        const r = await runJobs(graph, graph.select([]), { reactor: createReactor("portable"), reporters: [] });
        console.log(byUrl.runJobs === runJobs, r.exit, [...r.results.keys()].join());
      `;
      await Deno.writeTextFile(`${dir}/use.ts`, script);
      const [cmd, args] = rt === "bun"
        ? [BUN, ["use.ts"]]
        : [DENO, ["run", "-A", "--quiet", "use.ts"]];
      const out = await new Deno.Command(cmd, { args, cwd: dir, stdin: "null" }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr) + stdout);
      assert.equal(stdout.trim(), "true 0 hi");
      if (rt === "deno") {
        // Type-checked too, as `deno check` and `deno test` do: jx's types need nothing of jx's
        // node_modules but yaml's (no bun-types, whose bare import of "bun" has no package here).
        const check = await new Deno.Command(DENO, {
          args: ["check", "--quiet", "use.ts"],
          cwd: dir,
          stdin: "null",
        }).output();
        assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/**
 * A script that runs `sleep 0.2; echo x` and `sleep 203` with a reporter
 * that throws on the event named by its first argument, on the reactor its
 * second names; it prints each job's pid, then how `runJobs` settled (or
 * `pending` after 10 s) and which of the pids `kill -0` still finds.
 */
const THROWING_REPORTER = `
import process from "node:process";
import { createReactor, parseJobsFile, runJobs } from "${ROOT}/mod.ts";
const [on, kind] = process.argv.slice(-2);
const graph = parseJobsFile("jobs:\\n  a: { run: 'sleep 0.2; echo x' }\\n  b: { run: 'sleep 203' }\\n", "/tmp/throw.yaml");
const reactor = createReactor(kind);
const pids = [];
const reporter = {
  event(e) {
    if (e.type === "job.start") console.log("pid", pids[pids.length] = e.pid);
    if (e.type === on) throw new Error("reporter failed on " + on);
  },
};
const run = runJobs(graph, graph.jobs, { reactor, jobs: 2, handleSignals: false, reporters: [reporter] });
const pending = new Promise((r) => setTimeout(() => r("pending"), 10000));
const settled = await Promise.race([run.then((r) => "resolved " + r.status, (e) => "rejected " + e.message), pending]);
const live = pids.filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } });
console.log(settled);
console.log("alive", JSON.stringify(live));
process.exit(0);
`;

for (const rt of RUNTIMES.filter((r) => r !== "binary")) {
  Deno.test(`[${rt}] a reporter that throws: runJobs rejects with its error, no job left running`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "jx-throwing-" });
    const pids: number[] = [];
    try {
      await Deno.writeTextFile(`${dir}/throw.js`, THROWING_REPORTER);
      for (const kind of ["epoll", "portable"]) {
        for (const on of ["job.start", "job.output", "job.end"]) {
          const args = rt === "bun"
            ? ["throw.js", on, kind]
            : ["run", "-A", "--quiet", "throw.js", on, kind];
          const out = await new Deno.Command(rt === "bun" ? BUN : DENO, {
            args,
            cwd: dir,
            stdin: "null",
          }).output();
          const stdout = new TextDecoder().decode(out.stdout);
          const got = stdout.split("\n").filter((l) => l);
          pids.push(...got.filter((l) => l.startsWith("pid ")).map((l) => Number(l.slice(4))));
          const what = `${kind}, throw on ${on}:\n${stdout}${new TextDecoder().decode(out.stderr)}`;
          assert.equal(out.code, 0, what);
          assert.deepEqual(got.slice(-2), [`rejected reporter failed on ${on}`, "alive []"], what);
          assert.equal(got.length, 4, what);
          assert.deepEqual(pids.filter(alive), [], what);
        }
      }
    } finally {
      for (const pid of inGroups(pids)) Deno.kill(pid, "SIGKILL");
      await Deno.remove(dir, { recursive: true });
    }
  });
}
