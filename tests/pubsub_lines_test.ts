/**
 * A published message is one line for every common line reader: each line
 * break a reader splits on (`\n`, `\r\n`, a lone `\r`, and what Python's
 * `str.splitlines` also splits on) becomes a space in `messageLine`, checked
 * against the readers themselves: Node's readline (node:readline, in this
 * process) and Python's `splitlines` and text-mode stdin (a real python3).
 */
import assert from "node:assert/strict";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { messageLine } from "../lib/modules/mod.ts";

/** Every line break of some common reader. */
const BREAKS = [
  "\n",
  "\r\n",
  "\r",
  "\v",
  "\f",
  "\x1c",
  "\x1d",
  "\x1e",
  "\x85",
  "\u2028",
  "\u2029",
];

/** One message per break, each trying to start a line of its own on another topic. */
const LINES = BREAKS.map((b) => messageLine("note", `hello${b}deploy.prod now`));

Deno.test("pubsub: every line break in a message becomes a space", () => {
  for (const line of LINES) assert.equal(line, "note hello deploy.prod now\n");
  assert.equal(messageLine("note", "a\r\n\r\nb"), "note a  b\n", "\\r\\n is one break");
  assert.equal(messageLine("note", "a\0b"), "note a b\n", "NUL, which sh's read drops");
});

Deno.test("pubsub: Node's readline reads each message as one line on its topic", async () => {
  const read: string[] = [];
  const rl = createInterface({ input: Readable.from([LINES.join("")]), crlfDelay: Infinity });
  for await (const line of rl) read.push(line);
  assert.deepEqual(read, LINES.map((l) => l.slice(0, -1)));
});

Deno.test({
  name: "pubsub: Python's splitlines and text-mode stdin read each message as one line",
  ignore: !hasPython(),
  fn: async () => {
    const script = [
      "import sys",
      "data = sys.stdin.buffer.read().decode('utf-8')",
      "print(len(data.splitlines()))",
      "import io",
      "print(len(list(io.TextIOWrapper(io.BytesIO(data.encode('utf-8')), encoding='utf-8'))))",
    ].join("\n");
    const child = new Deno.Command("python3", {
      args: ["-c", script],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(LINES.join("")));
    await w.close();
    const out = new TextDecoder().decode((await child.output()).stdout);
    assert.equal(out, `${LINES.length}\n${LINES.length}\n`);
  },
});

function hasPython(): boolean {
  try {
    return new Deno.Command("python3", { args: ["-c", ""] }).outputSync().success;
  } catch {
    return false;
  }
}
