/**
 * Every YAML example in the docs and the README that has `jobs:` is a valid
 * jobs file: the docs cannot drift from the loader.
 */
import assert from "node:assert/strict";
import { parseJobsFile } from "../lib/graph/mod.ts";
import { ROOT } from "./helpers.ts";

const files = [
  `${ROOT}/README.md`,
  ...[...Deno.readDirSync(`${ROOT}/docs`)]
    .filter((e) => e.name.endsWith(".md"))
    .map((e) => `${ROOT}/docs/${e.name}`),
];

for (const file of files) {
  const text = Deno.readTextFileSync(file);
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
  blocks.forEach((yaml, i) => {
    if (!/^(jobs|modules):/m.test(yaml)) return;
    Deno.test(`docs: ${file.slice(ROOT.length + 1)} example ${i + 1} is a valid jobs file`, () => {
      // The folder holds the files examples name (dotenv files, included jobs files).
      const baseDir = `${ROOT}/tests/fixtures/docs`;
      assert.doesNotThrow(() => parseJobsFile(yaml, `${baseDir}/example.yaml`, { baseDir }));
    });
  });
}
