/**
 * The daily segment sync: for each app, under that app's Redis lock, marks stale
 * installations, prunes invalid ones, reconciles changed installations and rebuilds the
 * segments that are due, then writes a report per segment (see lib/segments/sync.ts).
 *
 * One function, three callers: `Deno.cron` ({@linkcode segmentSyncCron}), `deno task sync`
 * ({@linkcode runSyncCli}) and `POST /v1/apps/:appId/jobs/segment-sync`.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { appKeys } from "../lib/apps/_keys.ts";
import {
  acquireSyncLock,
  type AppSyncReport,
  createSegments,
  type Segments,
  syncApp,
  type SyncLock,
  type SyncMode,
  type SyncProgress,
} from "../lib/segments/mod.ts";

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
  const appIds = options.appIds ??
    (await redis.smembers(appKeys.index())).map(String).sort();
  const apps: SegmentSyncReport["apps"] = [];
  for (const appId of appIds) {
    const lock = options.heldLocks?.get(appId) ??
      await acquireSyncLock(redis, segments.scripts, appId);
    if (!lock) {
      apps.push({ appId, status: "locked" });
      continue;
    }
    try {
      apps.push(
        await syncApp(redis, segments, appId, {
          nowMs: now(),
          staleAfterDays: options.staleAfterDays,
          retentionDays: options.retentionDays,
          mode: options.mode,
          onProgress: options.onProgress,
          heartbeat: async () => {
            if (!(await lock.extend())) throw new Error(`lost the sync lock of ${appId}`);
          },
        }),
      );
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

/**
 * `deno task sync [--app <appId>]… [--full|--incremental] [--retention-days N]`: runs the
 * sync, prints progress lines and the JSON report, and returns the exit code (0, or 1 when an
 * app failed).
 */
export async function runSyncCli(
  args: string[],
  deps: {
    redis: Redis;
    staleAfterDays: number;
    now?: () => number;
    print?: (line: string) => void;
  },
): Promise<number> {
  const print = deps.print ?? ((line: string) => console.log(line));
  const appIds: string[] = [];
  let mode: SyncMode = "auto";
  let retentionDays: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--app") appIds.push(args[++i] ?? "");
    else if (arg === "--full") mode = "full";
    else if (arg === "--incremental") mode = "incremental";
    else if (arg === "--retention-days") retentionDays = Number(args[++i]);
    else {
      print(`unknown argument: ${arg}\n${SYNC_USAGE}`);
      return 2;
    }
  }
  if (appIds.includes("") || (retentionDays !== undefined && !(retentionDays >= 0))) {
    print(`--app needs an app id and --retention-days a number of days\n${SYNC_USAGE}`);
    return 2;
  }
  const known = new Set((await deps.redis.smembers(appKeys.index())).map(String));
  const unknown = appIds.filter((id) => !known.has(id));
  if (unknown.length) {
    print(
      `no app ${unknown.join(", ")} here: nothing was synced. The app ids are in ` +
        "`GET /v1/apps` (admin token); check that this command reaches the same Redis as the API.",
    );
    return 1;
  }
  const report = await runSegmentSync({
    redis: deps.redis,
    appIds: appIds.length ? appIds : undefined,
    now: deps.now,
    staleAfterDays: deps.staleAfterDays,
    retentionDays,
    mode,
    onProgress: (e) =>
      print(
        `[sync] ${e.appId} ${e.step}${e.segmentId ? ` ${e.segmentId}` : ""}${
          e.count !== undefined ? ` ${e.count}` : ""
        }`,
      ),
  });
  print(JSON.stringify(report, null, 2));
  return report.apps.some((a) => a.status === "failed") ? 1 : 0;
}

const SYNC_USAGE = "usage: sync [--app <appId>]... [--full|--incremental] [--retention-days N]";

/** The `Deno.cron` name main.ts registers. */
export const SEGMENT_SYNC_CRON_NAME = "edgepush-segment-sync";

/**
 * The handler main.ts registers with
 * `Deno.cron(SEGMENT_SYNC_CRON_NAME, config.SEGMENT_SYNC_CRON, segmentSyncCron({...}))`.
 * Failures are logged, never thrown (a thrown cron handler would only be retried blindly).
 */
export function segmentSyncCron(deps: {
  redis: Redis;
  staleAfterDays: number;
  logger?: {
    info(msg: string, f?: Record<string, unknown>): void;
    error(msg: string, f?: Record<string, unknown>): void;
  };
}): () => Promise<void> {
  return async function segmentSync() {
    try {
      const report = await runSegmentSync({
        redis: deps.redis,
        staleAfterDays: deps.staleAfterDays,
      });
      deps.logger?.info("segment sync finished", {
        durationMs: report.durationMs,
        apps: report.apps.length,
      });
    } catch (error) {
      deps.logger?.error("segment sync failed", { message: (error as Error).message });
    }
  };
}
