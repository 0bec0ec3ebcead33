/**
 * Durations as written in jobs files: `500ms`, `30s`, `2m`, `1h`, `1m30s`, or a
 * bare number of seconds.
 *
 * @module
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration into milliseconds, or returns `undefined` when it is not one. Each unit
 * comes at most once: `1h1h` is a typo (of `1h1m`?), not 2h (`repeatedUnit` says which).
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(parseDuration("1m30s"), 90000);
 * assertEquals(parseDuration(2), 2000);
 * assertEquals(parseDuration("1h1h"), undefined);
 * ```
 */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
  if (typeof v !== "string") return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const parts = durationParts(s);
  if (!parts || repeatedUnit(s)) return undefined;
  return parts.reduce((total, [n, unit]) => total + n * UNIT_MS[unit], 0);
}

/** A duration's number-and-unit parts (`1m30s`: 1 m, 30 s), or undefined when it is not one. */
function durationParts(s: string): [number, string][] | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  const parts: [number, string][] = [];
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    parts.push([Number(m[1]), m[2]]);
    matched = re.lastIndex;
  }
  return matched === s.length && matched > 0 ? parts : undefined;
}

/**
 * The unit a duration gives twice (`1h1h`: `h`), which `parseDuration` refuses; undefined when
 * none is (or it is no duration at all).
 *
 * @example
 * ```ts
 * import { repeatedUnit } from "./duration.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(repeatedUnit("1h1h"), "h");
 * assertEquals(repeatedUnit("1m30s"), undefined);
 * ```
 */
export function repeatedUnit(v: string): string | undefined {
  const seen = new Set<string>();
  for (const [, unit] of durationParts(v.trim()) ?? []) {
    if (seen.has(unit)) return unit;
    seen.add(unit);
  }
  return undefined;
}

/**
 * Formats milliseconds for people: `850ms`, `2.4s`, `3m05s`.
 *
 * @example
 * ```ts
 * import { formatMs } from "./duration.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * assertEquals(formatMs(850), "850ms");
 * assertEquals(formatMs(2400), "2.40s");
 * assertEquals(formatMs(185_000), "3m05s");
 * assertEquals(formatMs(119_600), "2m00s");
 * assertEquals(formatMs(59_960), "1m00s");
 * assertEquals(formatMs(999.6), "1.00s");
 * ```
 */
export function formatMs(ms: number): string {
  // Each bound is where the rounded figure would reach the next unit (999.6 ms is 1.00s, 119.6 s 2m00s).
  if (Math.round(ms) < 1000) return `${Math.round(ms)}ms`;
  if (ms < 9_995) return `${(ms / 1000).toFixed(2)}s`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

/** The default time between SIGTERM and SIGKILL. */
export const DEFAULT_GRACE_MS = 5000;

/**
 * The longest duration, in milliseconds: 2^31 - 1, the longest timer the
 * runtimes keep (a longer one fires at once), about 596 hours.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;
