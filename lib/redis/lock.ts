/**
 * An owned Redis lock: `SET NX PX` with a random owner token, extended and released only by
 * its owner (compare-and-set scripts), so a holder whose lock expired and was taken by another
 * process never extends or frees the new holder's. The caller names the key (its own).
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { randomId } from "../auth/secrets.ts";
import releaseLua from "./scripts/lock_release.lua" with { type: "text" };
import extendLua from "./scripts/lock_extend.lua" with { type: "text" };

/** A held lock. */
export interface OwnedLock {
  /** The owner token stored in the key. */
  readonly token: string;
  /** Pushes the expiry out to `ttlMs` from now; false when the lock was lost. */
  extend(): Promise<boolean>;
  /** Releases the lock if still ours. */
  release(): Promise<void>;
}

/** Takes the lock at `key` for `ttlMs`, or returns null when someone else holds it. */
export async function acquireLock(
  redis: Redis,
  key: string,
  ttlMs: number,
): Promise<OwnedLock | null> {
  const token = randomId(12);
  const ok = await redis.set(key, token, { nx: true, px: ttlMs });
  if (ok !== "OK") return null;
  return {
    token,
    async extend() {
      const script = redis.createScript<number>(extendLua);
      return Number(await script.exec([key], [token, String(ttlMs)])) === 1;
    },
    async release() {
      await redis.createScript<number>(releaseLua).exec([key], [token]);
    },
  };
}

/**
 * Runs `fn` holding the lock at `key`; answers `undefined` without running it when someone
 * else holds the lock. The lock is released however `fn` ends.
 */
export async function withLock<T>(
  redis: Redis,
  key: string,
  ttlMs: number,
  fn: () => Promise<T>,
): Promise<{ value: T } | undefined> {
  const lock = await acquireLock(redis, key, ttlMs);
  if (!lock) return undefined;
  try {
    return { value: await fn() };
  } finally {
    await lock.release();
  }
}
