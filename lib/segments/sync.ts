/**
 * The daily reconciliation of one app (jobs/segment_sync.ts drives it under the app's lock).
 *
 * A pass does, in order, with Redis work proportional to what changed:
 * 1. **stale**: installations whose lastSeenAt fell behind `now − staleAfterDays` since the
 *    previous pass (a range of the registry's `seen` zset, resumed from the stored cutoff) get
 *    `stale`="1" and leave the app and segment reach sets;
 * 2. **prune**: installations that stopped being active before `now − retentionDays` (the
 *    `seginvalid` zset that segment_reindex keeps) are deleted with their index entries;
 * 3. **reconcile**: the ids changed since the previous pass (`segdb`, a bitmap written by
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
  const state = await redis.hgetall<Record<string, string>>(keys.syncState(appId)) ?? {};
  const pass: Pass = {
    redis,
    segments,
    appId,
    options,
    prefix: keys.prefix(appId),
    started: performance.now(),
    lastRunMs: state.lastRunAt ? Number(state.lastRunAt) : null,
    previousStaleCutoff: state.staleCutoff ? Number(state.staleCutoff) : -Infinity,
    staleCutoff: options.nowMs - options.staleAfterDays * DAY_MS,
    progress: (e) => options.onProgress?.({ appId, ...e }),
    beat: async () => await options.heartbeat?.(),
  };
  const stale = await markStale(pass);
  const pruned = await prune(pass);
  const sids = await segments.ids(appId);
  const plan = await planRebuilds(pass, sids);
  const { reconciled, corrected } = await reconcile(pass, plan);
  const reports: Record<string, SyncReportData> = {};
  for (const sid of sids) {
    const report = await rebuildAndReport(pass, sid, plan.get(sid)!, corrected.get(sid) ?? 0);
    if (report) reports[sid] = report;
  }
  await redis.hset(keys.syncState(appId), {
    lastRunAt: String(options.nowMs),
    staleCutoff: String(pass.staleCutoff),
  });
  return {
    appId,
    status: "synced",
    stale,
    pruned,
    reconciled,
    durationMs: Math.round(performance.now() - pass.started),
    segments: reports,
  };
}

/** One app's pass: what every step reads. */
interface Pass {
  redis: Redis;
  segments: Segments;
  appId: string;
  options: AppSyncOptions;
  prefix: string;
  /** `performance.now()` at the start. */
  started: number;
  lastRunMs: number | null;
  previousStaleCutoff: number;
  staleCutoff: number;
  progress(event: Omit<SyncProgress, "appId">): void;
  beat(): Promise<void>;
}

/** Per segment: rebuilt fully this pass, and its rule's recency window (days) if any. */
type Plan = Map<string, { full: boolean; windowDays: number | null }>;

/** 1. stale: the registry marks the installations last seen before the cutoff, resuming. */
async function markStale(pass: Pass): Promise<number> {
  const { registry } = pass.options;
  let stale = 0;
  await registry.scanSeen(
    pass.appId,
    { after: pass.previousStaleCutoff, until: pass.staleCutoff },
    async (ids) => {
      stale += await registry.markStale(pass.appId, pass.staleCutoff, ids);
    },
  );
  pass.progress({ step: "stale", count: stale });
  await pass.beat();
  return stale;
}

/** 2. prune: invalid installations past retention are deleted with their index entries. */
async function prune(pass: Pass): Promise<number> {
  const { redis, appId, options } = pass;
  const cutoff = options.nowMs - (options.retentionDays ?? 30) * DAY_MS;
  let pruned = 0;
  while (true) {
    const ids = (await redis.zrange(keys.invalid(appId), "-inf", cutoff, {
      byScore: true,
      offset: 0,
      count: ID_BATCH,
    })).map(String);
    if (!ids.length) break;
    pruned += Number(
      await pass.segments.scripts.prune.exec([pass.prefix], [
        String(cutoff),
        String(options.nowMs),
        ...ids,
      ]),
    );
  }
  pass.progress({ step: "prune", count: pruned });
  await pass.beat();
  return pruned;
}

/** Which segments get a full rebuild: all in `full` mode, those due in `auto`, none else. */
async function planRebuilds(pass: Pass, sids: readonly string[]): Promise<Plan> {
  const { nowMs } = pass.options;
  const mode = pass.options.mode ?? "auto";
  const fullEvery = (pass.options.fullEveryDays ?? 7) * DAY_MS;
  const plan: Plan = new Map();
  for (const sid of sids) {
    // With automatic deserialization off, HMGET answers an array in field order.
    const h = await pass.redis.hmget(keys.segment(pass.appId, sid), "rule", "fullAt") as unknown as
      | (string | null)[]
      | null;
    const rule = h?.[0] ? Rule.parse(JSON.parse(h[0])) : null;
    const fullAt = h?.[1] ? Number(h[1]) : null;
    const full = mode === "full" ||
      (mode === "auto" && (fullAt === null || nowMs - fullAt >= fullEvery));
    plan.set(sid, { full, windowDays: rule?.lastSeenWithinDays ?? null });
  }
  return plan;
}

/**
 * 3. reconcile: the ids changed since the previous pass, and those that crossed a rule's
 * recency window since then, are re-evaluated against every segment (unless every segment is
 * rebuilt anyway). Returns how many were, and the corrections per segment.
 */
async function reconcile(
  pass: Pass,
  plan: Plan,
): Promise<{ reconciled: number; corrected: Map<string, number> }> {
  const { redis, appId, options } = pass;
  const corrected = new Map<string, number>();
  let reconciled = 0;
  const reconcileIds = async (ids: string[]) => {
    reconciled += ids.length;
    const out = await pass.segments.scripts.reconcile.exec([pass.prefix], [
      String(options.nowMs),
      ...ids,
    ]);
    for (let i = 0; i + 2 < out.length; i += 3) {
      const sid = String(out[i]);
      corrected.set(sid, (corrected.get(sid) ?? 0) + Number(out[i + 1]) + Number(out[i + 2]));
    }
  };
  const processing = keys.dirtyProcessing(appId);
  await pass.segments.scripts.dirtyTake.exec([keys.dirty(appId), processing], []);
  if (![...plan.values()].every((p) => p.full)) {
    let cursor = "0";
    do {
      const [next, ids] = await pass.segments.scripts.dirtyScan.exec([pass.prefix], [
        cursor,
        String(ID_BATCH),
      ]);
      cursor = String(next);
      if (ids?.length) await reconcileIds(ids.map(String));
    } while (cursor !== "0");
    const windows = new Set<number>();
    for (const { full, windowDays } of plan.values()) {
      if (!full && windowDays !== null) windows.add(windowDays);
    }
    for (const days of windows) {
      // Those seen in [lastRun − days, now − days) left the window since the previous pass.
      const after = pass.lastRunMs === null ? -Infinity : pass.lastRunMs - days * DAY_MS - 1;
      const until = options.nowMs - days * DAY_MS - 1;
      await options.registry.scanSeen(appId, { after, until }, reconcileIds);
    }
  }
  await redis.unlink(processing);
  pass.progress({ step: "reconcile", count: reconciled });
  await pass.beat();
  return { reconciled, corrected };
}

/**
 * 4. rebuild (when planned) and 5. report one segment; null when it was deleted meanwhile.
 * `added`/`removed` are the flux since the previous sync, `corrected` what this pass changed.
 */
async function rebuildAndReport(
  pass: Pass,
  sid: string,
  { full }: { full: boolean },
  corrected: number,
): Promise<SyncReportData | null> {
  const { redis, appId, options } = pass;
  const segStarted = performance.now();
  let fixed = corrected;
  if (full) {
    try {
      const r = await pass.segments.rebuild(appId, sid, { nowMs: options.nowMs });
      fixed += r.added + r.removed;
    } catch (error) {
      // A rule change or a replace upload rebuilt it meanwhile: their result is current.
      if (!(error instanceof RebuildSuperseded) && !(error instanceof SegmentNotFound)) throw error;
    }
    pass.progress({ step: "rebuild", segmentId: sid });
    await pass.beat();
  }
  const p = redis.pipeline();
  p.scard(keys.members(appId, sid));
  p.bitcount(keys.reachable(appId, sid, "production"), 0, -1);
  p.bitcount(keys.reachable(appId, sid, "development"), 0, -1);
  const [users, production, development] = await p.exec<[number, number, number]>();
  const syncedAt = new Date(options.nowMs).toISOString();
  const report: SyncReportData = {
    users: Number(users),
    reachable: { production: Number(production), development: Number(development) },
    added: 0,
    removed: 0,
    corrected: fixed,
    mode: full ? "full" : "incremental",
    durationMs: Math.round((performance.now() - (full ? segStarted : pass.started)) * 10) / 10,
    syncedAt,
  };
  const flux = await pass.segments.scripts.fluxTake.exec([keys.segment(appId, sid)], [
    syncedAt,
    JSON.stringify(report),
    full ? "1" : "0",
    String(options.nowMs),
  ]);
  if (!Array.isArray(flux)) return null; // deleted meanwhile
  pass.progress({ step: "report", segmentId: sid });
  return { ...report, added: Number(flux[0]), removed: Number(flux[1]) };
}
