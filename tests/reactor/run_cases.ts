/**
 * Runs the reactor conformance cases on the current runtime (used to run
 * them under Bun): `bun tests/reactor/run_cases.ts portable|epoll [--leaks N]
 * [--spawn-workers]` (`--leaks N`: only the check that N children leave no fd
 * or zombie; `--spawn-workers`: Bun's spawning workers started first, so that
 * every spawn goes through them, lib/reactor/bun_spawn.ts). Prints
 * one `PASS name`, `SKIP name: reason` or `FAIL name: reason` line per case;
 * exits 1 on any failure.
 *
 * @module
 */
import process from "node:process";
import { createReactor } from "../../lib/reactor/mod.ts";
import { CASES, noLeaks, skipReason } from "./cases.ts";
import { bunSpawns } from "../../lib/reactor/bun_spawn.ts";

const backend = (process.argv[2] ?? "portable") as "portable" | "epoll";
const leaks = process.argv.indexOf("--leaks");
const cases = leaks > 0 ? [noLeaks(Number(process.argv[leaks + 1]))] : CASES;
if (process.argv.includes("--spawn-workers")) await bunSpawns.startNow();
let failed = 0;
for (const c of cases) {
  const r = createReactor(backend);
  const skip = skipReason(c, r);
  try {
    if (skip) {
      console.log(`SKIP ${c.name}: ${skip}`);
      continue;
    }
    await c.run(r);
    console.log(`PASS ${c.name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${c.name}: ${(e as Error).message.split("\n").join(" ")}`);
  } finally {
    r.close();
  }
}
console.log(`ON WORKERS ${bunSpawns.sent}`);
process.exit(failed ? 1 : 0);
