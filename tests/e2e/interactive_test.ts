/**
 * Interactive jobs under a real pseudo-terminal (`script`): the job reads a
 * line typed at jx's terminal and has it as stdin/stdout; it runs alone; the
 * other jobs' stdin is /dev/null; the status line stays out of its way.
 */
import assert from "node:assert/strict";
import {
  jxCommand,
  readEvents,
  runJx,
  type Runtime,
  RUNTIMES,
  spans,
  tempDir,
} from "../helpers.ts";

const JOBS = `
jobs:
  before:
    run: 'sleep 0.3; test -t 0 || echo null > before-stdin.txt'
  ask:
    run: 'printf "name? "; sleep 0.5; read name; echo "got it"; echo "hello $name" > answer.txt; test -t 0 && test -t 1 && echo tty > tty.txt'
    interactive: true
  after: { run: 'test -t 0 || echo null > after-stdin.txt' }
`;

/** Runs jx under `script` (a pty); types `line` once `prompt` shows. Returns the output. */
async function underPty(rt: Runtime, dir: string, args: string[], prompt: string, line: string) {
  const [cmd, argv] = jxCommand(rt, args);
  const quoted = [cmd, ...argv].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qec", quoted, "/dev/null"],
    cwd: dir,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", TERM: "xterm" },
  }).spawn();
  const writer = child.stdin.getWriter();
  let out = "";
  let typed = false;
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    out += dec.decode(chunk);
    if (!typed && out.includes(prompt)) {
      typed = true;
      await writer.write(new TextEncoder().encode(line));
    }
  }
  await writer.close().catch(() => {});
  return { code: (await child.status).code, out };
}

for (const rt of RUNTIMES.filter((r) => r !== "binary")) {
  for (const reactor of ["epoll", "portable"]) {
    Deno.test(`[${rt}] interactive job (${reactor}): reads the terminal, runs alone; others get /dev/null`, async () => {
      const dir = await tempDir({ "jobs.yaml": JOBS });
      const args = ["run", "-j4", "--reactor", reactor, "--events", "ev.ndjson"];
      const r = await underPty(rt, dir, args, "name? ", "world\n");
      assert.equal(r.code, 0, r.out);
      assert.equal(await Deno.readTextFile(`${dir}/answer.txt`), "hello world\n");
      assert.equal(
        await Deno.readTextFile(`${dir}/tty.txt`),
        "tty\n",
        "stdin and stdout a terminal",
      );
      assert.equal(await Deno.readTextFile(`${dir}/before-stdin.txt`), "null\n");
      assert.equal(await Deno.readTextFile(`${dir}/after-stdin.txt`), "null\n");
      const s = spans(await readEvents(`${dir}/ev.ndjson`));
      assert.ok(s.get("ask")!.start >= s.get("before")!.end, "waits for the running job");
      assert.ok(s.get("after")!.start >= s.get("ask")!.end, "nothing starts beside it");
      // The status line is not drawn while the job has the terminal.
      const during = r.out.slice(r.out.indexOf("name? "), r.out.indexOf("got it"));
      assert.doesNotMatch(during, /running:/, JSON.stringify(r.out));
    });
  }
}

Deno.test("an interactive job sent to Slurm runs here with a warning, one of the file's or one made during the run", async () => {
  // No cluster needed: such a job never reaches Slurm (a step has no terminal).
  const made = JSON.stringify({
    name: "g",
    run: "echo made",
    interactive: true,
    executor: "slurm",
  });
  const cases: [string, string][] = [
    ["  inter: { run: 'echo hi', interactive: true }\n", "inter"],
    [`  gen: { run: ${JSON.stringify(`echo '${made}'`)}, emits: jobs, executor: local }\n`, "g"],
  ];
  for (const [jobs, name] of cases) {
    const dir = await tempDir({ "jobs.yaml": `jobs:\n${jobs}` });
    const r = await runJx(["run", "--executor", "slurm"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const said = r.stderr.split("\n").filter((l) => l.includes("interactive, run on this machine"));
    assert.deepEqual(said, [
      `jx: warning: executor slurm: ${name}: interactive, run on this machine (a Slurm step has no terminal)`,
    ]);
  }
});
