/**
 * `jx ctl ACTION [ARGS]`: one request to a running `jx run` over its
 * control socket (`JX_CTL`, else `.jx/ctl.sock` beside the jobs file).
 *
 * @module
 */
import { didYouMean, usageError } from "../runtime/errors.ts";
import { escapeControls as shown, writeAll } from "../runtime/mod.ts";
import { ctlRequest, findCtlSocket } from "./ctl.ts";
import { TOPIC_RE } from "./pubsub.ts";
import type { CtlReply, CtlRequest, StatusEntry } from "./supervisor.ts";

/** The parsed command line of `jx ctl`. */
export interface CtlCommand {
  /** `status`, `start`, `stop`, `restart`, `pause`, `resume`, `publish`. */
  action?: string;
  /** Module names, or the topic and message of `publish`. */
  operands: string[];
  /** `--json`: print the reply as JSON. */
  json: boolean;
  /** `stop --drain`: deliver the queued messages, then stop. */
  drain: boolean;
  /** Where `.jx/` is looked for (the jobs file's directory). */
  baseDir: string;
  env: Record<string, string | undefined>;
}

const MODULE_ACTIONS = ["start", "stop", "restart", "pause", "resume"];
const ACTIONS = ["status", ...MODULE_ACTIONS, "publish"];

/** The requests a command line stands for (usage errors throw `JxInputError`). */
export function ctlRequests(c: CtlCommand): CtlRequest[] {
  const a = c.action;
  if (!a) throw usageError("ctl", `missing ACTION (${ACTIONS.join(", ")})`);
  if (c.drain && a !== "stop" && ACTIONS.includes(a)) {
    throw usageError("ctl", "--drain goes with stop only");
  }
  if (a === "status") {
    if (c.operands.length) throw usageError("ctl", `unexpected argument '${c.operands[0]}'`);
    return [{ action: "status" }];
  }
  if (a === "publish") {
    if (c.operands.length < 2) {
      throw usageError("ctl", `missing ${c.operands.length ? "MESSAGE" : "TOPIC"} after publish`);
    }
    const [topic, ...words] = c.operands;
    if (!TOPIC_RE.test(topic)) {
      throw usageError(
        "ctl",
        `bad topic ${JSON.stringify(topic)} (a topic is letters, digits and _ . : / + -, ` +
          "not starting with . : / + -)",
      );
    }
    return [{ action: "publish", topic, message: words.join(" ") }];
  }
  if (MODULE_ACTIONS.includes(a)) {
    if (!c.operands.length) throw usageError("ctl", `missing MODULE after ${a}`);
    return c.operands.map((module) =>
      a === "stop"
        ? { action: "stop", module, drain: c.drain }
        : { action: a as "start" | "restart" | "pause" | "resume", module }
    );
  }
  throw usageError("ctl", `unknown action '${a}'${didYouMean(a, ACTIONS)}`);
}

/** Runs `jx ctl`; returns the exit code (0 ok, 1 refused or no jx running, 2 usage). */
export async function cmdCtl(c: CtlCommand): Promise<number> {
  const requests = ctlRequests(c);
  const path = findCtlSocket(c.env, c.baseDir);
  let exit = 0;
  for (const req of requests) {
    let reply: CtlReply;
    try {
      reply = await ctlRequest(path, req);
    } catch (e) {
      writeAll(2, `jx: ${shown((e as Error).message)}\n`);
      return 1;
    }
    if (c.json) writeAll(1, JSON.stringify(reply, null, 2) + "\n");
    else if (reply.ok) writeAll(1, describe(req, reply));
    if (!reply.ok) {
      const what = "module" in req ? ` ${req.module}` : "";
      writeAll(2, `jx: ${shown(`ctl ${req.action}${what}: ${reply.error}`)}\n`);
      exit = 1;
    } else if ((req.action === "start" || req.action === "restart") && reply.state === "failed") {
      // Done, but the module did not come up: a failure, with its reason.
      writeAll(
        2,
        `jx: ${shown(`ctl ${req.action} ${req.module}: failed: ${reply.error ?? "failed"}`)}\n`,
      );
      exit = 1;
    }
  }
  return exit;
}

/**
 * A reply in words; names, states and reasons with their control characters shown as escapes
 * (a job named by a file on disk, `build[src/ESC[2J.c]`, does not clear the screen).
 */
function describe(req: CtlRequest, reply: CtlReply): string {
  if (req.action === "status") {
    const block = (title: string, items: StatusEntry[] | undefined) => {
      if (!items?.length) return "";
      const w = items.reduce((m, i) => Math.max(m, shown(i.name).length), 0); // no spread
      const rows = items.map((i) => {
        const notes = [
          i.pid ? `pid ${i.pid}` : "",
          i.queued ? `${i.queued} queued` : "",
          i.dropped ? `${i.dropped} dropped` : "",
          i.restarts ? `${i.restarts} restart${i.restarts === 1 ? "" : "s"}` : "",
          shown(i.reason ?? ""),
        ].filter((x) => x);
        const notesText = notes.length ? ` (${notes.join(", ")})` : "";
        return `  ${shown(i.name).padEnd(w)}  ${shown(i.state)}${notesText}`;
      });
      return `${title}:\n${rows.join("\n")}\n`;
    };
    return block("jobs", reply.jobs) + block("modules", reply.modules);
  }
  if (req.action === "publish") return describePublish(req.topic, reply);
  return `${shown(`${req.module}: ${reply.state}`)}\n`;
}

/**
 * What became of a published message, in one line: `reload: delivered to
 * api; queued for db; dropped by slow`, or `reload: no module subscribes`.
 * (`closed` is absent from the replies of a jx before it was added.)
 */
function describePublish(topic: string, reply: CtlReply): string {
  const by = reply.modules_by_delivery;
  if (!by) return `${shown(topic)}: delivered to ${reply.delivered ?? 0}\n`;
  const parts = [
    by.delivered.length ? `delivered to ${by.delivered.join(", ")}` : "",
    by.queued.length ? `queued for ${by.queued.join(", ")}` : "",
    by.dropped.length ? `dropped by ${by.dropped.join(", ")} (not up, or its queue is full)` : "",
    by.closed?.length
      ? `not delivered to ${by.closed.join(", ")} (its stdin is closed; the message is discarded)`
      : "",
  ].filter((p) => p);
  return `${shown(`${topic}: ${parts.length ? parts.join("; ") : "no module subscribes"}`)}\n`;
}
