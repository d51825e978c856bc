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
