/**
 * Modules: long-running processes of a run (a database, an API server)
 * that jobs need. A module is registered when its `when:` holds, started
 * once its needs succeeded, `running` when its `ready` check passes, paused
 * and resumed, stopped (with a poison pill that delivers what is queued),
 * restarted with backoff, fed PubSub messages on its stdin, controlled
 * through a unix socket (`jx ctl`), and stopped in reverse dependency order
 * when the run ends.
 *
 * @example
 * ```ts
 * import { createReactor, parseJobsFile, runJobs } from "../../mod.ts";
 * import { Supervisor } from "./mod.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const g = parseJobsFile(
 *   "modules:\n  log: { run: 'while read t m; do echo \"$m\"; done', subscribe: [note] }\n" +
 *     "jobs:\n  work: { run: 'true', needs: [log] }\n",
 *   "j.yaml",
 * );
 * const modules = new Supervisor();
 * const run = runJobs(g, g.select([]), { reactor: createReactor(), modules });
 * // "note hello" reaches log's stdin once log runs
 * modules.publish("note", "hello");
 * assertEquals((await run).exit, 0);
 * ```
 *
 * @module
 */
export {
  type CtlReply,
  type CtlRequest,
  type StatusEntry,
  Supervisor,
  type SupervisorOptions,
} from "./supervisor.ts";
export {
  describeExit,
  MAX_QUEUED_BYTES,
  MAX_QUEUED_MESSAGES,
  Module,
  type ModuleHooks,
} from "./module.ts";
export {
  DEFAULT_READY_INTERVAL_MS,
  DEFAULT_READY_TIMEOUT_MS,
  describeReady,
  type ProbeContext,
  ReadyProbe,
  servedProbe,
} from "./ready.ts";
export {
  BACKOFF_BASE_MS,
  BACKOFF_MAX_MS,
  backoffMs,
  DEFAULT_MAX_RESTARTS,
  isFailure,
  STABLE_MS,
  wantsRestart,
} from "./backoff.ts";
export {
  Bus,
  type Delivery,
  messageLine,
  type PublishResult,
  type Subscriber,
  TOPIC_RE,
  topicMatches,
} from "./pubsub.ts";
export { parseCtlRequest } from "./request.ts";
export { GROUP_POLL_MS, groupAlive } from "./group.ts";
export { isUp, type ModuleAction, type ModuleState, refusal } from "./states.ts";
export { currentOs, unregisteredReason } from "./when.ts";
export {
  CTL_LIMITS,
  CTL_LINK,
  type CtlLimits,
  ctlRequest,
  CtlServer,
  findCtlSocket,
} from "./ctl.ts";
