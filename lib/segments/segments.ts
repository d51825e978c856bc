/**
 * The segments store: segment definitions (create, update, list, delete), assembled with the
 * member uploads (members.ts), the reach-set rebuilds (rebuild.ts) and the reach reads for
 * sends (reach.ts).
 *
 * Invariants kept by these modules and scripts/_segment_reindex.lua:
 * - `seg:<sid>:reach:<env>` holds the installations of members that are reachable, in `env`
 *   and match the rule (evaluated at the time of the last change or sync);
 * - `useg:<user>` holds every segment whose members (or whose running rebuild's source) hold
 *   the user, so an installation change touches only its user's segments.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { randomId } from "../auth/secrets.ts";
import { segmentKeys as keys } from "./_keys.ts";
import { loadSegmentScripts, type SegmentScripts } from "./scripts.ts";
import type { StreamFormat } from "./upload_staging.ts";
import { RebuildSuperseded, SegmentNotFound } from "./errors.ts";
import { createMemberUploads } from "./members.ts";
import { createReachReads } from "./reach.ts";
import { BATCH, createRebuilds, type RebuildResult } from "./rebuild.ts";
import {
  Rule,
  type RuleData,
  type SegmentViewData,
  SyncReport,
  type SyncReportData,
} from "./schemas.ts";

export type { StreamFormat };
export { BATCH, RebuildSuperseded, SegmentNotFound };
export type { RebuildResult };
export type { MembersResultData } from "./members.ts";
export type { Environment } from "./reach.ts";

/** Options for {@linkcode createSegments}. */
export interface SegmentsOptions {
  redis: Redis;
  /** Clock, for tests. Default: `Date.now`. */
  now?: () => number;
}

/** The segments store. */
export type Segments = ReturnType<typeof createSegments>;

/** Creates the segments store. */
export function createSegments(options: SegmentsOptions) {
  const { redis } = options;
  const now = options.now ?? Date.now;
  const scripts: SegmentScripts = loadSegmentScripts(redis);
  const rebuilds = createRebuilds(redis, scripts, now);
  const { rebuildFrom, retire } = rebuilds;

  async function view(appId: string, segmentId: string): Promise<SegmentViewData | null> {
    const p = redis.pipeline();
    p.hmget(keys.segment(appId, segmentId), "name", "rule", "syncedAt", "report");
    p.scard(keys.members(appId, segmentId));
    p.bitcount(keys.reachable(appId, segmentId, "production"), 0, -1);
    p.bitcount(keys.reachable(appId, segmentId, "development"), 0, -1);
    // With automatic deserialization off, HMGET answers an array in field order.
    const [h, users, production, development] = await p.exec<
      [(string | null)[] | null, number, number, number]
    >();
    const [name, rule, syncedAt, report] = h ?? [];
    if (!name) return null;
    return {
      segmentId,
      name,
      rule: rule ? Rule.parse(JSON.parse(rule)) : null,
      users: Number(users),
      reachable: { production: Number(production), development: Number(development) },
      syncedAt: syncedAt || null,
      report: report ? SyncReport.parse(JSON.parse(report)) as SyncReportData : null,
    };
  }

  return {
    scripts,

    /**
     * Creates or updates a segment. A changed rule re-materializes the reach sets (in bounded
     * batches; readers keep the old sets until the swap).
     */
    async put(
      appId: string,
      segmentId: string,
      input: { name: string; rule?: RuleData | null },
    ): Promise<{ segment: SegmentViewData; created: boolean }> {
      const segKey = keys.segment(appId, segmentId);
      const stamp = new Date(now()).toISOString();
      const rule = input.rule ? JSON.stringify(input.rule) : "";
      const previous = await redis.hmget(segKey, "name", "rule") as unknown as
        | (string | null)[]
        | null;
      const created = !previous?.[0];
      const tx = redis.multi();
      tx.hset(segKey, {
        name: input.name,
        rule,
        updatedAt: stamp,
        ...(created ? { createdAt: stamp } : {}),
      });
      tx.sadd(keys.index(appId), segmentId);
      await tx.exec();
      if (!created && (previous?.[1] ?? "") !== rule) {
        try {
          await rebuildFrom(appId, segmentId);
        } catch (error) {
          // A newer rebuild (the daily job, a replace upload) reads the rule stored above.
          if (!(error instanceof RebuildSuperseded)) throw error;
        }
      }
      return { segment: (await view(appId, segmentId))!, created };
    },

    /** Reads a segment with its counts. @throws {SegmentNotFound} */
    async get(appId: string, segmentId: string): Promise<SegmentViewData> {
      const v = await view(appId, segmentId);
      if (!v) throw new SegmentNotFound(segmentId);
      return v;
    },

    /** Every segment of the app, sorted by id. */
    async list(appId: string): Promise<SegmentViewData[]> {
      const ids = (await redis.smembers(keys.index(appId))).map(String).sort();
      const views = await Promise.all(ids.map((id) => view(appId, id)));
      return views.filter((v): v is SegmentViewData => v !== null);
    },

    /** The ids of every segment of the app. */
    async ids(appId: string): Promise<string[]> {
      return (await redis.smembers(keys.index(appId))).map(String).sort();
    },

    /** Deletes a segment; its reach sets go at once, member cleanup runs in batches. */
    async remove(appId: string, segmentId: string): Promise<void> {
      const retired = keys.retired(appId, segmentId, randomId(8));
      const ok = await scripts.segmentDelete.exec([keys.prefix(appId), retired], [segmentId]);
      if (Number(ok) !== 1) throw new SegmentNotFound(segmentId);
      await retire(appId, segmentId, retired);
    },

    // updateMembers and uploadStream (members.ts)
    ...createMemberUploads({ redis, scripts, rebuilds, now }),

    /**
     * Rebuilds one segment's reach sets from its members and swaps them in atomically.
     * @throws {SegmentNotFound} @throws {RebuildSuperseded}
     */
    async rebuild(
      appId: string,
      segmentId: string,
      opts: { nowMs?: number } = {},
    ): Promise<RebuildResult> {
      const { added, removed, durationMs } = await rebuildFrom(appId, segmentId, opts);
      return { added, removed, durationMs };
    },

    // scanReachable, membership and reachableCount (reach.ts)
    ...createReachReads(redis, scripts),
  };
}
