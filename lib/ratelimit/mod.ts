/**
 * The SDK rate limit, folded into the scripts that serve SDK calls, so that it costs no Redis
 * round trip of its own: the registry's and the events' scripts prepend {@linkcode rateLimitLua}
 * and receive the limits as one ARGV string ({@linkcode rateLimitSpec}).
 *
 * Two scopes (sliding window each):
 * - **installation**: calls on an existing installation, proven by its secret (a refresh,
 *   PATCH, DELETE, `…/user`), per installation. Default 120 per 60 s.
 * - **address**: every other SDK call (a new registration, an id presented without its secret,
 *   events), per app and client address. Default 10,000 per 60 s, so that a carrier-grade NAT
 *   (thousands of phones behind one public IPv4 address) is never refused.
 *
 * @module
 */
import { RateLimited } from "../errors.ts";
import rateLimitLua from "./scripts/_limit.lua" with { type: "text" };

export { rateLimitLua };

/** One scope's limit: `limit` calls per `windowSeconds`. */
export interface RateRule {
  limit: number;
  windowSeconds: number;
}

/** The SDK limits; a `null` scope is not limited. */
export interface SdkRateLimits {
  /** New registrations and other unauthenticated SDK calls, per app and client address. */
  address: RateRule | null;
  /** Authenticated calls on one installation, per installation. */
  installation: RateRule | null;
}

/**
 * Parses `<requests>/<seconds>s` (e.g. `120/60s`), or `off` for no limit.
 * @throws {Error} with the expected form when the text is neither.
 */
export function parseRateRule(text: string): RateRule | null {
  if (text.trim().toLowerCase() === "off") return null;
  const m = /^(\d{1,9})\/(\d{1,7})s$/.exec(text.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) {
    throw new Error(`expected <requests>/<seconds>s (e.g. 120/60s) or off, got "${text}"`);
  }
  return { limit: Number(m[1]), windowSeconds: Number(m[2]) };
}

/** The ARGV string the scripts read (`""` = off), see scripts/_limit.lua. */
export function rateLimitSpec(limits: SdkRateLimits | null): string {
  if (!limits || (!limits.address && !limits.installation)) return "";
  const part = (r: RateRule | null) => r ? `${r.limit},${r.windowSeconds * 1000}` : "0,0";
  return `${part(limits.address)},${part(limits.installation)}`;
}

/** The error for a script's `{"rate_limited", ms}` answer. */
export function rateLimitedError(waitMs: unknown): RateLimited {
  const ms = Number(waitMs);
  return new RateLimited(Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : 1);
}

/**
 * The address scope's identity of a client: IPv4 as is; IPv6 reduced to its /64, the block one
 * subscriber (or one host's privacy addresses) holds, so rotating addresses in it gains nothing.
 * Bounded to 64 characters.
 */
export function clientScope(address: string): string {
  const a = address.trim().replace(/^\[|\]$/g, "").replace(/%.*$/, "").toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1];
  if (!a.includes(":")) return a.slice(0, 64);
  const [head, tail] = a.split("::", 2);
  const left = head ? head.split(":") : [];
  const right = tail === undefined ? [] : tail ? tail.split(":") : [];
  const groups = tail === undefined
    ? left
    : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) {
    return a.slice(0, 64);
  }
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
