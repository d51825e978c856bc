/**
 * The per-app sync lock (an owned Redis lock, see lib/redis/lock.ts), extended while the run
 * makes progress, so two runs never overlap across processes.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { acquireLock } from "../redis/lock.ts";
import { segmentKeys } from "./_keys.ts";

/** Lock lifetime without extension. */
export const SYNC_LOCK_TTL_MS = 10 * 60_000;

/** A held sync lock. */
export interface SyncLock {
  appId: string;
  token: string;
  /** Pushes the expiry out again; false when the lock was lost. */
  extend(): Promise<boolean>;
  /** Releases the lock if still ours. */
  release(): Promise<void>;
}

/** Takes the app's sync lock, or returns null when another run holds it. */
export async function acquireSyncLock(
  redis: Redis,
  appId: string,
  ttlMs = SYNC_LOCK_TTL_MS,
): Promise<SyncLock | null> {
  const lock = await acquireLock(redis, segmentKeys.syncLock(appId), ttlMs);
  if (!lock) return null;
  return { appId, token: lock.token, extend: lock.extend, release: lock.release };
}

/**
 * Asks the run that holds the app's sync lock to pass once more when it finishes, so a sync
 * asked for mid-run still covers every change made before the request.
 */
export async function requestSyncRerun(
  redis: Redis,
  appId: string,
  ttlMs = SYNC_LOCK_TTL_MS,
): Promise<void> {
  await redis.set(segmentKeys.syncRerun(appId), "1", { px: ttlMs });
}

/** Takes (and clears) a pending rerun request: true when one was asked for. */
export async function takeSyncRerun(redis: Redis, appId: string): Promise<boolean> {
  return (await redis.del(segmentKeys.syncRerun(appId))) > 0;
}
