/**
 * A control request line, parsed once into the typed `CtlRequest` union: any
 * other text (not JSON, not an object, an unknown action or key, a value of
 * the wrong type, a bad topic) gives the reason instead.
 *
 * @module
 */
import { TOPIC_RE } from "./pubsub.ts";
import type { CtlRequest } from "./supervisor.ts";

/** The keys each action takes besides `action`. */
const KEYS = {
  status: [],
  publish: ["topic", "message"],
  start: ["module"],
  restart: ["module"],
  pause: ["module"],
  resume: ["module"],
  stop: ["module", "drain"],
} as const;

type Action = keyof typeof KEYS;

function isAction(a: unknown): a is Action {
  return typeof a === "string" && Object.hasOwn(KEYS, a);
}

/** The fields of a JSON object, or undefined for anything else. */
function fieldsOf(v: unknown): Map<string, unknown> | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  return new Map(Object.entries(v));
}

/** A request's fields, checked; the typed request or why not. */
function build(action: Action, f: Map<string, unknown>): CtlRequest | { error: string } {
  const allowed: readonly string[] = KEYS[action];
  for (const k of f.keys()) {
    if (k !== "action" && !allowed.includes(k)) {
      return { error: `${action}: unknown key ${JSON.stringify(k)}` };
    }
  }
  if (action === "status") return { action };
  if (action === "publish") {
    const topic = f.get("topic");
    const message = f.get("message");
    if (typeof topic !== "string" || !TOPIC_RE.test(topic)) {
      return { error: `bad topic ${JSON.stringify(topic) ?? "(none)"}` };
    }
    if (typeof message !== "string") return { error: "message: expected a string" };
    return { action, topic, message };
  }
  const module = f.get("module");
  if (typeof module !== "string") return { error: "module: expected a name" };
  if (action === "stop") {
    const drain = f.get("drain") ?? false;
    if (typeof drain !== "boolean") return { error: "drain: expected true or false" };
    return { action, module, drain };
  }
  return { action, module };
}

/**
 * Parses one request line.
 *
 * @example
 * ```ts
 * import { parseCtlRequest } from "./request.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(parseCtlRequest('{"action":"pause","module":"db"}'), { action: "pause", module: "db" });
 * assertEquals(parseCtlRequest("[]"), { error: 'malformed request: expected {"action": ...}' });
 * assertEquals(parseCtlRequest("{x"), {
 *   error: 'malformed request: not valid JSON (expected {"action": ...})',
 * });
 * ```
 */
export function parseCtlRequest(line: string): CtlRequest | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    // Not the engine's own words (V8's on Deno, JavaScriptCore's on Bun): one answer on both.
    return { error: 'malformed request: not valid JSON (expected {"action": ...})' };
  }
  const f = fieldsOf(value);
  if (!f || typeof f.get("action") !== "string") {
    return { error: 'malformed request: expected {"action": ...}' };
  }
  const action = f.get("action");
  if (!isAction(action)) return { error: `unknown action ${JSON.stringify(action)}` };
  return build(action, f);
}
