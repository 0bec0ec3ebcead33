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
 * Whether a request's Host header names this server: a loopback name or the
 * bind address, on its port. A server bound to a wildcard (0.0.0.0, ::) also
 * answers to any IP literal: DNS rebinding needs a host name, and an IP
 * literal is never one.
 */
export function hostAllowed(host: string | undefined, bind: string, port: number): boolean {
  if (!host) return false;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d+)$/.exec(host);
  if (!m || Number(m[2]) !== port) return false;
  const name = m[1].replace(/^\[|\]$/g, "");
  if (isLoopback(name) || name === bind) return true;
  const wildcard = bind === "0.0.0.0" || bind === "::";
  return wildcard && (/^\d+\.\d+\.\d+\.\d+$/.test(name) || m[1].startsWith("["));
}

/** Whether a request's Origin (absent, or this server as the Host header names it) may change state. */
export function originAllowed(origin: string | undefined, host: string): boolean {
  return origin === undefined || origin === `http://${host}`;
}
