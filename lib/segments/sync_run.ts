/**
 * A segment-sync run over apps: each app under its own Redis lock (see sync.ts for one app's
 * pass). Run by the daily `Deno.cron`, `deno task sync` (jobs/segment_sync.ts) and
 * `POST /v1/apps/:appId/jobs/segment-sync`.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { listAppIds } from "../apps/mod.ts";
import { createRegistry, type Registry } from "../registry/mod.ts";
import { acquireSyncLock, type SyncLock, takeSyncRerun } from "./lock.ts";
import { createSegments, type Segments } from "./segments.ts";
import { type AppSyncReport, syncApp, type SyncMode, type SyncProgress } from "./sync.ts";

/** Passes one app gets in one run: its own, plus reruns asked for meanwhile. */
const MAX_PASSES = 3;

/** Options for {@linkcode runSegmentSync}. */
export interface SegmentSyncOptions {
  redis: Redis;
  /** Apps to sync. Default: every app (`ep:v1:apps`). */
  appIds?: string[];
  /** Clock. Default: `Date.now`. */
  now?: () => number;
  /** Days without lastSeenAt before an installation is stale (`STALE_AFTER_DAYS`). */
  staleAfterDays: number;
  /** Days an invalid installation is kept before deletion. Default: 30. */
  retentionDays?: number;
  /** `auto` (default) rebuilds segments never or not fully rebuilt for 7 days; `full` all. */
  mode?: SyncMode;
  /** Progress events. Default: none. */
  onProgress?: (event: SyncProgress) => void;
  /** A segments store to reuse. Default: one built on `redis`. */
  segments?: Segments;
  /** A registry to reuse. Default: one built on `redis`. */
  registry?: Pick<Registry, "scanSeen" | "markStale">;
  /** Locks already taken by the caller (the HTTP route), keyed by app id; released here. */
  heldLocks?: Map<string, SyncLock>;
}

/** What a run did. */
export interface SegmentSyncReport {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  apps: Array<AppSyncReport | { appId: string; status: "locked" | "failed"; error?: string }>;
}

/**
 * Runs the sync for the given apps (default: all). An app whose lock another run holds is
 * reported as `locked` and skipped; an app that fails is reported as `failed` and the run
 * goes on with the next one.
 */
export async function runSegmentSync(options: SegmentSyncOptions): Promise<SegmentSyncReport> {
  const { redis } = options;
  const now = options.now ?? Date.now;
  const segments = options.segments ?? createSegments({ redis, now });
  const started = performance.now();
  const startedAt = new Date(now()).toISOString();
  const registry = options.registry ?? createRegistry({ redis, now });
  const appIds = options.appIds ?? await listAppIds(redis);
  const apps: SegmentSyncReport["apps"] = [];
  for (const appId of appIds) {
    const lock = options.heldLocks?.get(appId) ??
      await acquireSyncLock(redis, appId);
    if (!lock) {
      apps.push({ appId, status: "locked" });
      continue;
    }
    try {
      let report: AppSyncReport;
      let passes = 0;
      // A sync asked for while this one ran (requestSyncRerun) gets one more pass, so it covers
      // what changed before it was asked; bounded so a stream of requests cannot hold the lock.
      do {
        report = await syncApp(redis, segments, appId, {
          nowMs: now(),
          registry,
          staleAfterDays: options.staleAfterDays,
          retentionDays: options.retentionDays,
          mode: options.mode,
          onProgress: options.onProgress,
          heartbeat: async () => {
            if (!(await lock.extend())) throw new Error(`lost the sync lock of ${appId}`);
          },
        });
      } while (++passes < MAX_PASSES && await takeSyncRerun(redis, appId));
      apps.push(report);
    } catch (error) {
      apps.push({ appId, status: "failed", error: (error as Error).message });
    } finally {
      await lock.release();
    }
  }
  return {
    startedAt,
    finishedAt: new Date(now()).toISOString(),
    durationMs: Math.round(performance.now() - started),
    apps,
  };
}
