/**
 * PubSub: topics, their subscribers, and the line a message becomes on a
 * subscriber's stdin.
 *
 * @module
 */

/**
 * What became of a message for one subscriber: `delivered` (written to its
 * stdin), `queued` (held by jx: it is starting or paused, or its stdin pipe
 * is full), `dropped` (its queue is full, or it is not up), `closed` (not
 * delivered, discarded: its process closed its stdin).
 */
export type Delivery = "delivered" | "queued" | "dropped" | "closed";

/** Something that receives the messages of the topics it subscribed to. */
export interface Subscriber {
  /** Its name, in a publish's report. */
  readonly name: string;
  /** Receives one message line (`TOPIC MESSAGE\n`); says what became of it. */
  deliver(line: string): Delivery;
}

/**
 * What became of one published message: the subscribers' names per outcome,
 * in subscription order.
 *
 * @example
 * ```ts
 * import type { PublishResult } from "./pubsub.ts";
 * const r: PublishResult = { delivered: ["log"], queued: ["db"], dropped: [], closed: [] };
 * ```
 */
export interface PublishResult {
  /** Modules whose stdin took the message at once. */
  delivered: string[];
  /** Modules that hold it until they read (not up yet, paused, or a full pipe). */
  queued: string[];
  /** Modules that dropped it: their queue was at its bound, or they were not up. */
  dropped: string[];
  /** Modules that closed their stdin: the message was discarded. */
  closed: string[];
}

/**
 * What any common line reader takes for the end of a line: `\r\n`, `\n` and
 * a lone `\r` (Node's readline, Python's text files, Java's readLine), and
 * what Python's `str.splitlines` also splits on: `\v`, `\f`, the file, group
 * and record separators (`\x1c`-`\x1e`), NEL (`\x85`), U+2028 and U+2029; and
 * NUL, where a reader of C strings (or a shell's `read`) stops or drops it.
 */
// deno-lint-ignore no-control-regex -- the control characters are the point
const LINE_BREAKS = /\r\n|[\0\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/g;

/**
 * The line written for a message: the topic, a space, the message, a
 * newline. Every line break inside the message (`LINE_BREAKS`: `\r\n`,
 * `\n`, a lone `\r`, U+2028...) becomes a space, so one message is always
 * one line for any line reader (`read topic msg` in a shell, Node's
 * readline, Python's `splitlines`): a message cannot start a line of its own,
 * on a topic of its sender's choosing.
 *
 * @example
 * ```ts
 * import { messageLine } from "./pubsub.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(messageLine("reload", "config changed"), "reload config changed\n");
 * assertEquals(messageLine("note", "hello\rdeploy.prod now"), "note hello deploy.prod now\n");
 * assertEquals(messageLine("note", "a\0b"), "note a b\n");
 * ```
 */
export function messageLine(topic: string, message: string): string {
  return `${topic} ${message.replace(LINE_BREAKS, " ")}\n`;
}

/** Whether a subscription pattern names a topic: equal, or a prefix ending in `*` (`jx.*`). */
export function topicMatches(pattern: string, topic: string): boolean {
  return pattern.endsWith("*") ? topic.startsWith(pattern.slice(0, -1)) : pattern === topic;
}

/** Allowed topic names. */
export const TOPIC_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:\/+-]*$/;

/**
 * The topics and who subscribed to each.
 *
 * @example
 * ```ts
 * import { Bus } from "./pubsub.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * const bus = new Bus();
 * const lines: string[] = [];
 * bus.subscribe("reload", {
 *   name: "printer",
 *   deliver: (line) => (lines.push(line), "delivered"),
 * });
 * assertEquals(bus.publish("reload", "now"), {
 *   delivered: ["printer"],
 *   queued: [],
 *   dropped: [],
 *   closed: [],
 * });
 * assertEquals(lines, ["reload now\n"]);
 * ```
 */
export class Bus {
  private subs: { pattern: string; sub: Subscriber }[] = [];

  /** Subscribes `sub` to a topic, or to every topic with a prefix (`jx.*`). */
  subscribe(pattern: string, sub: Subscriber): void {
    this.subs.push({ pattern, sub });
  }

  /** True while nobody subscribed to anything. */
  get empty(): boolean {
    return this.subs.length === 0;
  }

  /** Sends a message to every subscriber of `topic`, in subscription order; says what became of it. */
  publish(topic: string, message: string): PublishResult {
    const line = messageLine(topic, message);
    const seen = new Set<Subscriber>();
    const out: PublishResult = { delivered: [], queued: [], dropped: [], closed: [] };
    for (const { pattern, sub } of this.subs) {
      if (seen.has(sub) || !topicMatches(pattern, topic)) continue;
      seen.add(sub);
      out[sub.deliver(line)].push(sub.name);
    }
    return out;
  }
}
