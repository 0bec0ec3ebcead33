/**
 * `jx exec` with a command it cannot start: one line, `jx: cannot run 'CMD':
 * REASON`, exit 127 (not found) or 126 (found, not executable), the same
 * words with and without a pool. Without one (`--jobserver-style none`) the
 * runtime's own error was shown as it is: `spawn ./x EACCES`.
 */
import assert from "node:assert/strict";
import { runJx, RUNTIMES, tempDir } from "../helpers.ts";

for (const rt of RUNTIMES) {
  Deno.test(`${rt}: jx exec of a command that cannot run says why, with or without a pool`, async () => {
    const dir = await tempDir({ "plain.sh": "echo no\n", "sub/x": "" });
    for (const style of [[], ["--jobserver-style", "none"]]) {
      const cases: [string, number, string][] = [
        ["no-such-command-jx", 127, "command not found"],
        ["./plain.sh", 126, "Permission denied"],
        ["./sub", 126, "Permission denied"],
      ];
      for (const [cmd, code, why] of cases) {
        const r = await runJx(["exec", ...style, "--", cmd], { cwd: dir, runtime: rt });
        const what = `${style.join(" ")} ${cmd}`;
        assert.equal(r.code, code, `${what}: ${r.stderr}`);
        assert.equal(r.stderr, `jx: cannot run '${cmd}': ${why}\n`, what);
      }
    }
    await Deno.remove(dir, { recursive: true });
  });
}
