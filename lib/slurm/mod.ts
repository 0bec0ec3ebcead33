/**
 * The Slurm executor's Slurm side: jobs as `srun --exact` steps inside one allocation jx holds
 * (or the one it runs inside), through the reactor, so that output, exit status and signals
 * come back as a local job's. docs/executors.md explains the choices.
 *
 * @example Needs a Slurm cluster (tests/e2e/slurm_test.ts starts one)
 * ```ts ignore
 * import { createReactor } from "../reactor/mod.ts";
 * import { openSlurm } from "./mod.ts";
 * const reactor = createReactor();
 * const slurm = await openSlurm({ reactor, env: { PATH: "/usr/bin:/bin" }, cwd: "/tmp", cpus: 4 });
 * const step = slurm.start({
 *   name: "hello",
 *   argv: ["/bin/sh", "-c", "echo hi"],
 *   tokens: 1,
 *   cwd: "/tmp",
 *   env: {},
 *   onStart: (id) => console.log("step", id),
 *   onOutput: (_s, chunk) => console.log(new TextDecoder().decode(chunk)),
 *   onExit: (e) => console.log(e.code, e.signal, e.reason),
 * });
 * await step.done;
 * await slurm.close();
 * ```
 *
 * @module
 */
export {
  allocArgv,
  allocationId,
  allocationIds,
  gateScript,
  type SlurmOptions,
  STEP_MARK,
  stepArgv,
  type StepCommand,
  stepEnv,
} from "./command.ts";
export { type Allocation } from "./preflight.ts";
export { SrunStderr, type StepExit, stepExit } from "./status.ts";
export {
  openSlurm,
  SlurmInterrupted,
  SlurmSession,
  type SlurmSessionOptions,
  type SlurmStep,
  type StepRequest,
} from "./session.ts";
export { runTool, type ToolEnv, type ToolResult } from "./tools.ts";
export { ExecutorRunner, exitStatus, SlurmRunner } from "./runner.ts";
