/**
 * Slows repeated failed sign-ins from one client: a few free attempts, then a wait that doubles
 * with every further failure (capped), counted in Redis so every instance agrees. A success
 * clears the count.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { consoleKeys } from "./_keys.ts";

/** Options of {@linkcode createSignInThrottle}. */
export interface SignInThrottleOptions {
  redis: Redis;
  /** Failures allowed without waiting. Default: 5. */
  freeAttempts?: number;
  /** Longest wait, ms. Default: 15 minutes. */
  maxWaitMs?: number;
  /** Failures are forgotten this long after the last one, ms. Default: 1 hour. */
  windowMs?: number;
  /** Clock. Default: `Date.now`. */
  now?: () => number;
}

/** The sign-in throttle. */
export type SignInThrottle = ReturnType<typeof createSignInThrottle>;

/** Creates the sign-in throttle. */
export function createSignInThrottle(options: SignInThrottleOptions) {
  const { redis } = options;
  const free = options.freeAttempts ?? 5;
  const maxWaitMs = options.maxWaitMs ?? 15 * 60_000;
  const windowMs = options.windowMs ?? 3_600_000;
  const now = options.now ?? Date.now;

  function waitFor(count: number): number {
    if (count < free) return 0;
    return Math.min(maxWaitMs, 1000 * 2 ** (count - free));
  }

  return {
    /** How long the client must wait before trying again, in whole seconds (0: go ahead). */
    async retryAfterSeconds(client: string): Promise<number> {
      // The domain Redis answers HMGET as an array (as segments read it), not Upstash's object.
      const raw = await redis.hmget(consoleKeys.signInFailures(client), "count", "last") as
        | unknown[]
        | null;
      const count = Number(raw?.[0] ?? 0);
      const last = Number(raw?.[1] ?? 0);
      const left = last + waitFor(count) - now();
      return left > 0 ? Math.ceil(left / 1000) : 0;
    },

    /** Records a failure. */
    async fail(client: string): Promise<void> {
      const key = consoleKeys.signInFailures(client);
      const tx = redis.multi();
      tx.hincrby(key, "count", 1);
      tx.hset(key, { last: String(now()) });
      tx.pexpire(key, windowMs);
      await tx.exec();
    },

    /** Forgets the client's failures (after a success). */
    async succeed(client: string): Promise<void> {
      await redis.del(consoleKeys.signInFailures(client));
    },
  };
}
