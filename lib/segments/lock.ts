/**
 * The per-app sync lock: `SET NX PX` with a random owner token, extended while the run makes
 * progress and released with a compare-and-delete script, so two runs never overlap across
 * processes and a run never frees a lock another process took after its own expired.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { randomId } from "../auth/secrets.ts";
import { segmentKeys } from "./_keys.ts";
import type { SegmentScripts } from "./scripts.ts";

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
  scripts: SegmentScripts,
  appId: string,
  ttlMs = SYNC_LOCK_TTL_MS,
): Promise<SyncLock | null> {
  const key = segmentKeys.syncLock(appId);
  const token = randomId(12);
  const ok = await redis.set(key, token, { nx: true, px: ttlMs });
  if (ok !== "OK") return null;
  return {
    appId,
    token,
    async extend() {
      return Number(await scripts.lockExtend.exec([key], [token, String(ttlMs)])) === 1;
    },
    async release() {
      await scripts.lockRelease.exec([key], [token]);
    },
  };
}
