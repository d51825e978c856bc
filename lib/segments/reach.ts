/**
 * Reads of a segment's materialized reach sets: the batched scan sends resolve through, the
 * counts, and where one installation stands (for the diagnosis).
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { segmentKeys as keys } from "./_keys.ts";
import type { SegmentScripts } from "./scripts.ts";
import { requireSegment } from "./errors.ts";
import { BATCH } from "./rebuild.ts";

/** An installation environment. */
export type Environment = "production" | "development";

/** The reads returned by {@linkcode createReachReads}. */
export type ReachReads = ReturnType<typeof createReachReads>;

/** The reach reads over the segment scripts. */
export function createReachReads(redis: Redis, scripts: SegmentScripts) {
  return {
    /**
     * One batch of a segment's reachable installation ids in one environment (a step over its
     * reach bitmap; the cursor is a byte offset into it).
     * Start with cursor "0"; done when the returned cursor is "0". A batch may repeat ids, and
     * a rebuild swapping the set mid-scan can skip or repeat some: callers dedupe (sends keep a
     * per-send record of handled installations).
     * @throws {SegmentNotFound} on the first batch (cursor "0") of a segment that does not
     * exist, so a send scheduled before its segment was deleted fails instead of reaching nobody
     */
    async scanReachable(
      appId: string,
      segmentId: string,
      env: Environment,
      cursor: string,
      count = BATCH,
    ): Promise<{ cursor: string; installationIds: string[] }> {
      if (cursor === "0") await requireSegment(redis, appId, segmentId);
      const [next, ids] = await scripts.reachScan.exec([keys.prefix(appId)], [
        segmentId,
        env,
        cursor,
        String(count),
      ]);
      return { cursor: String(next), installationIds: (ids ?? []).map(String) };
    },

    /**
     * Where one installation stands in a segment: whether its user is an uploaded member and
     * whether it is in the segment's reach set for `env` (for the diagnosis).
     */
    async membership(
      appId: string,
      segmentId: string,
      installation: { installationId: string; environment: Environment; userId: string | null },
    ): Promise<{ member: boolean; reachable: boolean }> {
      const [member, reachable] = await scripts.membership.exec([keys.prefix(appId)], [
        segmentId,
        installation.installationId,
        installation.environment,
        installation.userId ?? "",
      ]);
      return {
        member: installation.userId !== null && Number(member) === 1,
        reachable: Number(reachable) === 1,
      };
    },

    /** Counts of a segment's reachable installations. */
    async reachableCount(appId: string, segmentId: string): Promise<Record<Environment, number>> {
      const p = redis.pipeline();
      p.bitcount(keys.reachable(appId, segmentId, "production"), 0, -1);
      p.bitcount(keys.reachable(appId, segmentId, "development"), 0, -1);
      const [production, development] = await p.exec<[number, number]>();
      return { production: Number(production), development: Number(development) };
    },
  };
}
