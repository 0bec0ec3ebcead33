/**
 * The server's checks, kept apart so that each is one small function: the
 * token, the Host header (against DNS rebinding), the Origin of a POST.
 *
 * @module
 */
import { randomBytes, timingSafeEqual } from "node:crypto";

/** A fresh random token: 128 bits, URL-safe. */
export function newToken(): string {
  return randomBytes(16).toString("base64url");
}

/** Whether `given` is the token, in constant time. */
export function tokenMatches(given: string | null | undefined, token: string): boolean {
  if (!given) return false;
  const a = new TextEncoder().encode(given), b = new TextEncoder().encode(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether `host` is a loopback address (an IPv4 127/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Whether a request's Host header names this server: a loopback name or one
 * of `binds` (the address asked for, the address bound), on any port: DNS
 * rebinding needs a name of the attacker's, whatever the port, and a port
 * forwarded to this one (`ssh -L 9000:127.0.0.1:PORT`) names its own. A
 * server bound to a wildcard (0.0.0.0, ::) also answers to any IP literal:
 * DNS rebinding needs a host name, and an IP literal is never one.
 *
 * @example
 * ```ts
 * import { hostAllowed } from "./security.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(hostAllowed("127.0.0.1:8123", ["127.0.0.1"]), true);
 * assertEquals(hostAllowed("localhost:9000", ["127.0.0.1"]), true); // forwarded
 * assertEquals(hostAllowed("rebind.example:8123", ["127.0.0.1"]), false);
 * ```
 */
export function hostAllowed(host: string | undefined, binds: readonly string[]): boolean {
  if (!host) return false;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  if (!m) return false;
  const name = m[1].replace(/^\[|\]$/g, "");
  if (isLoopback(name) || binds.includes(name)) return true;
  const wildcard = binds.some((b) => b === "0.0.0.0" || b === "::");
  return wildcard && (/^\d+\.\d+\.\d+\.\d+$/.test(name) || m[1].startsWith("["));
}

/**
 * Whether a request's Origin (absent, or this server as the Host header
 * names it, `:80` or not) may change state.
 */
export function originAllowed(origin: string | undefined, host: string): boolean {
  if (origin === undefined) return true;
  return origin === `http://${host}` || origin === `http://${host.replace(/:80$/, "")}`;
}
