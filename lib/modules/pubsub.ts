/**
 * PubSub: topics, their subscribers, and the line a message becomes on a
 * subscriber's stdin.
 *
 * @module
 */

/** Something that receives the messages of the topics it subscribed to. */
export interface Subscriber {
  /** Receives one message line (`TOPIC MESSAGE\n`). */
  deliver(line: string): void;
}

/**
 * The line written for a message: the topic, a space, the message, a
 * newline. Newlines inside the message become spaces, so one message is
 * always one line (`read topic msg` in a shell).
 *
 * @example
 * ```ts
 * import { messageLine } from "./pubsub.ts";
 * messageLine("reload", "config changed"); // "reload config changed\n"
 * ```
 */
export function messageLine(topic: string, message: string): string {
  return `${topic} ${message.replace(/\r?\n/g, " ")}\n`;
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
 * const bus = new Bus();
 * bus.subscribe("reload", { deliver: (line) => console.log(line) });
 * bus.publish("reload", "now"); // prints "reload now\n"; returns 1
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

  /** Sends a message to every subscriber of `topic`, in subscription order; returns how many. */
  publish(topic: string, message: string): number {
    const line = messageLine(topic, message);
    const seen = new Set<Subscriber>();
    for (const { pattern, sub } of this.subs) {
      if (seen.has(sub) || !topicMatches(pattern, topic)) continue;
      seen.add(sub);
      sub.deliver(line);
    }
    return seen.size;
  }
}
