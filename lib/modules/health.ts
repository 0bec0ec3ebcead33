/**
 * Liveness checks (process-compose's liveness probes): while a module runs,
 * its `health:` check (tcp, http or cmd) is repeated every `interval`; a
 * check that fails or takes longer than `timeout` counts, one that passes
 * resets the count, and `failures` in a row make the module unhealthy.
 *
 * @module
 */
import type { HealthSpec } from "../graph/mod.ts";
import { formatMs } from "../graph/duration.ts";
import { type ProbeContext, ReadyProbe } from "./ready.ts";

/**
 * The check of one module while it runs: `start()` when it is running,
 * `cancel()` when it pauses, stops or ends; `unhealthy` is called once, at
 * the failure that reaches the threshold.
 *
 * @example
 * ```ts
 * import { createReactor } from "../reactor/mod.ts";
 * import { HealthCheck } from "./health.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const reactor = createReactor("portable");
 * const spec = { cmd: "false", intervalMs: 10, timeoutMs: 1000, failures: 2 };
 * const { promise: failed, resolve } = Promise.withResolvers<string>();
 * const h = new HealthCheck(spec, { reactor, cwd: "/", env: {} }, resolve);
 * h.start();
 * const why = await failed;
 * h.cancel();
 * reactor.close();
 * assertEquals(why, "health: 2 checks failed in a row (last: cmd false: exit 1)");
 * ```
 */
export class HealthCheck {
  private failed = 0;
  private timer?: number;
  private probe?: ReadyProbe;
  private active = false;

  /** A check for `spec`, run in `ctx`, that calls `unhealthy` with the reason. */
  constructor(
    private spec: HealthSpec,
    private ctx: ProbeContext,
    private unhealthy: (why: string) => void,
  ) {}

  /** Checks from now on, the first after one interval, the count from 0. */
  start(): void {
    this.cancel();
    this.active = true;
    this.failed = 0;
    this.next();
  }

  /** Stops checking (a check under way is abandoned). */
  cancel(): void {
    this.active = false;
    if (this.timer !== undefined) this.ctx.reactor.clearTimer(this.timer);
    this.timer = undefined;
    this.probe?.cancel();
    this.probe = undefined;
  }

  private next(): void {
    this.timer = this.ctx.reactor.setTimer(this.spec.intervalMs, () => {
      this.timer = undefined;
      this.check();
    });
  }

  private check(): void {
    if (!this.active) return;
    const s = this.spec;
    const what = s.tcp !== undefined
      ? `tcp ${s.tcp}`
      : s.http !== undefined
      ? `http ${s.http}`
      : `cmd ${s.cmd}`;
    const probe = new ReadyProbe(
      { tcp: s.tcp, http: s.http, cmd: s.cmd, timeoutMs: s.timeoutMs },
      this.ctx,
      (ok, why) => {
        if (this.probe !== probe || !this.active) return;
        this.probe = undefined;
        if (ok) this.failed = 0;
        else if (++this.failed >= s.failures) {
          this.active = false;
          const last = why?.startsWith("not ready after")
            ? `no answer in ${formatMs(s.timeoutMs)}`
            : why;
          return this.unhealthy(
            `health: ${s.failures} check${s.failures === 1 ? "" : "s"} failed in a row ` +
              `(last: ${what}: ${last})`,
          );
        }
        this.next();
      },
      true,
    );
    this.probe = probe;
    probe.start();
  }
}
