/**
 * The daily reconciliation of one app (jobs/segment_sync.ts drives it under the app's lock).
 *
 * A pass does, in order, with Redis work proportional to what changed:
 * 1. **stale**: installations whose lastSeenAt fell behind `now − staleAfterDays` since the
 *    previous pass (a range of the registry's `seen` zset, resumed from the stored cutoff) get
 *    `stale`="1" and leave the app and segment reach sets;
 * 2. **prune**: installations that stopped being active before `now − retentionDays` (the
 *    `seginvalid` zset that segment_reindex keeps) are deleted with their index entries;
 * 3. **reconcile**: the ids changed since the previous pass (`segdirty`, written by
 *    segment_reindex) plus, for rules with `lastSeenWithinDays`, the ids whose lastSeenAt
 *    crossed the window since the previous pass, are re-evaluated against every segment and
 *    any drift is repaired;
 * 4. **rebuild**: segments that were never fully built, whose last full rebuild is older than
 *    `fullEveryDays`, or every segment in `full` mode, are rebuilt from their members into
 *    temporary sets swapped in atomically;
 * 5. **report**: every segment gets `syncedAt` and a report; `added`/`removed` count the
 *    installations that entered/left its reach sets since the previous sync (incremental
 *    changes included), `corrected` those the pass itself changed.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import type { Registry } from "../registry/mod.ts";
import { segmentKeys as keys } from "./_keys.ts";
import type { Segments } from "./segments.ts";
import { RebuildSuperseded, SegmentNotFound } from "./segments.ts";
import { Rule, type SyncReportData } from "./schemas.ts";

const DAY_MS = 86_400_000;
const ID_BATCH = 500;

/** How segments are rebuilt: `auto` rebuilds only those due; `full` all; `incremental` none. */
export type SyncMode = "auto" | "full" | "incremental";

/** Options for {@linkcode syncApp}. */
export interface AppSyncOptions {
  /** The registry whose installations the pass marks stale. */
  registry: Pick<Registry, "scanSeen" | "markStale">;
  /** The pass's clock (ms). */
  nowMs: number;
  /** Days without lastSeenAt before an installation is stale. */
  staleAfterDays: number;
  /** Days an invalid installation is kept before it is deleted. Default: 30. */
  retentionDays?: number;
  /** Default: `auto`. */
  mode?: SyncMode;
  /** In `auto` mode, rebuild a segment fully when its last full rebuild is older. Default: 7. */
  fullEveryDays?: number;
  /** Progress lines. Default: none. */
  onProgress?: (event: SyncProgress) => void;
  /** Called between steps to keep the lock alive; throws to abort. */
  heartbeat?: () => Promise<void>;
}

/** A progress event. */
export interface SyncProgress {
  appId: string;
  step: "stale" | "prune" | "reconcile" | "rebuild" | "report";
  segmentId?: string;
  count?: number;
}

/** What one app's pass did. */
export interface AppSyncReport {
  appId: string;
  status: "synced";
  stale: number;
  pruned: number;
  reconciled: number;
  durationMs: number;
  segments: Record<string, SyncReportData>;
}

/** Runs one app's pass. The caller holds the app's sync lock. */
export async function syncApp(
  redis: Redis,
  segments: Segments,
  appId: string,
  options: AppSyncOptions,
): Promise<AppSyncReport> {
  const started = performance.now();
  const { nowMs, registry } = options;
  const mode = options.mode ?? "auto";
  const prefix = keys.prefix(appId);
  const progress = (e: Omit<SyncProgress, "appId">) => options.onProgress?.({ appId, ...e });
  const beat = async () => await options.heartbeat?.();
  const scripts = segments.scripts;
  const state = await redis.hgetall<Record<string, string>>(keys.syncState(appId)) ?? {};
  const lastRunMs = state.lastRunAt ? Number(state.lastRunAt) : null;

  // 1. stale: resume the seen range from the previous cutoff.
  const staleCutoff = nowMs - options.staleAfterDays * DAY_MS;
  let stale = 0;
  await registry.scanSeen(
    appId,
    { after: state.staleCutoff ? Number(state.staleCutoff) : -Infinity, until: staleCutoff },
    async (ids) => {
      stale += await registry.markStale(appId, staleCutoff, ids);
    },
  );
  progress({ step: "stale", count: stale });
  await beat();

  // 2. prune invalid installations past retention.
  const pruneCutoff = nowMs - (options.retentionDays ?? 30) * DAY_MS;
  let pruned = 0;
  while (true) {
    const ids = (await redis.zrange(keys.invalid(appId), "-inf", pruneCutoff, {
      byScore: true,
      offset: 0,
      count: ID_BATCH,
    })).map(String);
    if (!ids.length) break;
    pruned += Number(
      await scripts.prune.exec([prefix], [
        String(pruneCutoff),
        String(nowMs),
        ...ids,
      ]),
    );
  }
  progress({ step: "prune", count: pruned });
  await beat();

  // Which segments get a full rebuild.
  const sids = await segments.ids(appId);
  const fullEvery = (options.fullEveryDays ?? 7) * DAY_MS;
  const info = new Map<string, { full: boolean; windowDays: number | null }>();
  for (const sid of sids) {
    // With automatic deserialization off, HMGET answers an array in field order.
    const h = await redis.hmget(keys.segment(appId, sid), "rule", "fullAt") as unknown as
      | (string | null)[]
      | null;
    const rule = h?.[0] ? Rule.parse(JSON.parse(h[0])) : null;
    const fullAt = h?.[1] ? Number(h[1]) : null;
    const full = mode === "full" ||
      (mode === "auto" && (fullAt === null || nowMs - fullAt >= fullEvery));
    info.set(sid, { full, windowDays: rule?.lastSeenWithinDays ?? null });
  }

  // 3. reconcile the dirty ids and the ids that crossed a recency window.
  const corrected = new Map<string, number>();
  const reconcileIds = async (ids: string[]) => {
    const out = await scripts.reconcile.exec([prefix], [String(nowMs), ...ids]);
    for (let i = 0; i + 2 < out.length; i += 3) {
      const sid = String(out[i]);
      corrected.set(sid, (corrected.get(sid) ?? 0) + Number(out[i + 1]) + Number(out[i + 2]));
    }
  };
  let reconciled = 0;
  const processing = keys.dirtyProcessing(appId);
  await scripts.dirtyTake.exec([keys.dirty(appId), processing], []);
  const allFull = sids.every((sid) => info.get(sid)!.full);
  if (!allFull) {
    await scanSetIds(redis, processing, async (ids) => {
      reconciled += ids.length;
      await reconcileIds(ids);
    });
    const windows = new Set<number>();
    for (const { full, windowDays } of info.values()) {
      if (!full && windowDays !== null) windows.add(windowDays);
    }
    for (const days of windows) {
      // Those seen in [lastRun − days, now − days) left the window since the previous pass.
      const from = lastRunMs === null ? -Infinity : lastRunMs - days * DAY_MS - 1;
      await registry.scanSeen(
        appId,
        { after: from, until: nowMs - days * DAY_MS - 1 },
        async (ids) => {
          reconciled += ids.length;
          await reconcileIds(ids);
        },
      );
    }
  }
  await redis.unlink(processing);
  progress({ step: "reconcile", count: reconciled });
  await beat();

  // 4. rebuilds, 5. reports.
  const reports: Record<string, SyncReportData> = {};
  const syncedAt = new Date(nowMs).toISOString();
  for (const sid of sids) {
    const segStarted = performance.now();
    const { full } = info.get(sid)!;
    let fixed = corrected.get(sid) ?? 0;
    if (full) {
      try {
        const r = await segments.rebuild(appId, sid, { nowMs });
        fixed += r.added + r.removed;
      } catch (error) {
        // A rule change or a replace upload rebuilt it meanwhile: their result is current.
        if (
          !(error instanceof RebuildSuperseded) && !(error instanceof SegmentNotFound)
        ) throw error;
      }
      progress({ step: "rebuild", segmentId: sid });
      await beat();
    }
    const p = redis.pipeline();
    p.scard(keys.members(appId, sid));
    p.scard(keys.reachable(appId, sid, "production"));
    p.scard(keys.reachable(appId, sid, "development"));
    const [users, production, development] = await p.exec<[number, number, number]>();
    const report: SyncReportData = {
      users: Number(users),
      reachable: { production: Number(production), development: Number(development) },
      added: 0,
      removed: 0,
      corrected: fixed,
      mode: full ? "full" : "incremental",
      durationMs:
        Math.round((full ? performance.now() - segStarted : performance.now() - started) * 10) / 10,
      syncedAt,
    };
    const flux = await scripts.fluxTake.exec([keys.segment(appId, sid)], [
      syncedAt,
      JSON.stringify(report),
      full ? "1" : "0",
      String(nowMs),
    ]);
    if (!Array.isArray(flux)) continue; // deleted meanwhile
    reports[sid] = { ...report, added: Number(flux[0]), removed: Number(flux[1]) };
    progress({ step: "report", segmentId: sid });
  }
  await redis.hset(keys.syncState(appId), {
    lastRunAt: String(nowMs),
    staleCutoff: String(staleCutoff),
  });
  return {
    appId,
    status: "synced",
    stale,
    pruned,
    reconciled,
    durationMs: Math.round(performance.now() - started),
    segments: reports,
  };
}

async function scanSetIds(redis: Redis, key: string, visit: (ids: string[]) => Promise<void>) {
  let cursor = "0";
  do {
    const [next, ids] = await redis.sscan(key, cursor, { count: ID_BATCH });
    cursor = String(next);
    if (ids.length) await visit(ids.map(String));
  } while (cursor !== "0");
}
