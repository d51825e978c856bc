/**
 * Rate limiting of the SDK routes with `@upstash/ratelimit` (sliding window), keyed by app and
 * client. The limiter costs one Redis round trip per request; identifiers already over their
 * limit are refused from an in-process cache without one.
 *
 * @module
 */
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";

/** Options for {@linkcode createSdkRateLimiter}. */
export interface SdkRateLimiterOptions {
  redis: Redis;
  /** Requests allowed per window and client. */
  limit: number;
  /** Window length in seconds. */
  windowSeconds: number;
  /** Clock in epoch ms (for Retry-After). Default: `Date.now`. */
  now?: () => number;
}

/** The verdict for one request. */
export interface RateLimitVerdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the caller may retry (≥ 1 when refused, 0 when allowed). */
  retryAfterSeconds: number;
}

/** A rate limiter for SDK calls. */
export interface SdkRateLimiter {
  /** Counts one request of `client` for `appId`. */
  check(appId: string, client: string): Promise<RateLimitVerdict>;
}

/** Creates the SDK rate limiter (sliding window). */
export function createSdkRateLimiter(options: SdkRateLimiterOptions): SdkRateLimiter {
  if (!(options.limit > 0) || !(options.windowSeconds > 0)) {
    throw new Error("rate limit and window must be positive");
  }
  const now = options.now ?? Date.now;
  const limiter = new Ratelimit({
    // @upstash/ratelimit types its redis against its own copy of @upstash/redis.
    // Its scripts' Upstash-only shebang flag is translated by every Redis mode (lib/redis).
    redis: options.redis as unknown as ConstructorParameters<
      typeof Ratelimit
    >[0]["redis"],
    limiter: Ratelimit.slidingWindow(options.limit, `${options.windowSeconds} s`),
    prefix: "ep:v1:rl",
    analytics: false,
    // Refuse from memory while a client is known to be over its limit.
    ephemeralCache: new Map(),
    timeout: 0,
  });
  return {
    async check(appId, client) {
      // The hash tag keeps the window's current and previous keys in one cluster slot.
      const result = await limiter.limit(`{${appId}|${client}}`);
      return {
        allowed: result.success,
        limit: result.limit,
        remaining: result.remaining,
        retryAfterSeconds: result.success
          ? 0
          : Math.max(1, Math.ceil((result.reset - now()) / 1000)),
      };
    },
  };
}
