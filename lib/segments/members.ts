/**
 * Member uploads: JSON batches of added and removed user ids, and streamed uploads (one id per
 * line, read in constant memory) that append to the members or replace them. A replace
 * rebuilds the reach sets from the upload before it swaps anything, so readers never see a
 * half-replaced segment.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { randomId } from "../auth/secrets.ts";
import { segmentKeys as keys } from "./_keys.ts";
import type { SegmentScripts } from "./scripts.ts";
import { stageUpload, type StreamFormat } from "./upload_staging.ts";
import { RebuildSuperseded, requireSegment, SegmentNotFound } from "./errors.ts";
import { BATCH, type RebuildResult, type Rebuilds } from "./rebuild.ts";

/** Rebuild attempts of a replace upload that rebuilds from the members keep superseding. */
const REPLACE_ATTEMPTS = 5;

/** A member upload's answer. */
export interface MembersResultData {
  added: number;
  removed: number;
  members: number;
}

/** What {@linkcode createMemberUploads} works with. */
export interface MemberUploadsDeps {
  redis: Redis;
  scripts: SegmentScripts;
  rebuilds: Rebuilds;
  now: () => number;
}

/** The uploads returned by {@linkcode createMemberUploads}. */
export type MemberUploads = ReturnType<typeof createMemberUploads>;

/** The member uploads of the segments store. */
export function createMemberUploads({ redis, scripts, rebuilds, now }: MemberUploadsDeps) {
  const { scanSet, rebuildFrom, retire } = rebuilds;

  async function applyUsers(
    appId: string,
    segmentId: string,
    mode: "add" | "remove",
    users: string[],
  ): Promise<number> {
    let changed = 0;
    for (let i = 0; i < users.length; i += BATCH) {
      const n = await scripts.membersApply.exec(
        [keys.prefix(appId)],
        [segmentId, mode, String(now()), ...users.slice(i, i + BATCH)],
      );
      if (Number(n) < 0) throw new SegmentNotFound(segmentId);
      changed += Number(n);
    }
    return changed;
  }

  /**
   * Rebuilds from a replace upload's staging set and swaps members and reach sets. A rebuild
   * from the members (a rule change, the daily job) that supersedes it cannot stand in for it,
   * so it starts again, up to {@linkcode REPLACE_ATTEMPTS} times. A replace upload that started
   * later (claimed the segment after this one did) wins: this one then fails with `Conflict`.
   */
  async function rebuildReplacing(
    appId: string,
    segmentId: string,
    staging: string,
    retired: string,
  ): Promise<RebuildResult & { previous: number }> {
    for (let attempt = 1;; attempt++) {
      try {
        return await rebuildFrom(appId, segmentId, {
          src: staging,
          replace: true,
          retired,
        });
      } catch (error) {
        if (!(error instanceof RebuildSuperseded) || attempt >= REPLACE_ATTEMPTS) throw error;
      }
    }
  }

  return {
    /** Adds and removes members (≤ 10,000 ids; validated by the route). @throws {SegmentNotFound} */
    async updateMembers(
      appId: string,
      segmentId: string,
      input: { add?: string[]; remove?: string[] },
    ): Promise<MembersResultData> {
      await requireSegment(redis, appId, segmentId);
      const added = await applyUsers(appId, segmentId, "add", input.add ?? []);
      const removed = await applyUsers(appId, segmentId, "remove", input.remove ?? []);
      return { added, removed, members: await redis.scard(keys.members(appId, segmentId)) };
    },

    /**
     * Reads a streamed upload (one id per line) in constant memory, staging it in Redis in
     * batches. Nothing changes until the whole body is valid: a bad line throws
     * `ValidationFailed` naming the line, and the staged ids are dropped. Then `append` adds the
     * ids; `replace` rebuilds the reach sets from the upload and swaps members and reach sets
     * in one step, after which the users who left are dropped from the reverse index.
     * @throws {SegmentNotFound} @throws {ValidationFailed}
     */
    async uploadStream(
      appId: string,
      segmentId: string,
      body: ReadableStream<Uint8Array>,
      opts: { format: StreamFormat; mode: "append" | "replace" },
    ): Promise<MembersResultData> {
      const staging = keys.staging(appId, segmentId, randomId(8));
      if (opts.mode === "replace") {
        const claimed = await scripts.replaceClaim.exec([keys.segment(appId, segmentId)], [
          staging,
        ]);
        if (Number(claimed) !== 1) throw new SegmentNotFound(segmentId);
      } else {
        await requireSegment(redis, appId, segmentId);
      }
      try {
        await stageUpload(redis, staging, body, { format: opts.format, batch: BATCH });
        if (opts.mode === "append") {
          let added = 0;
          await scanSet(staging, async (users) => {
            added += await applyUsers(appId, segmentId, "add", users);
          });
          await redis.unlink(staging);
          return { added, removed: 0, members: await redis.scard(keys.members(appId, segmentId)) };
        }
        const retired = keys.retired(appId, segmentId, randomId(8));
        const { previous } = await rebuildReplacing(appId, segmentId, staging, retired);
        const removed = await retire(appId, segmentId, retired);
        const members = await redis.scard(keys.members(appId, segmentId));
        return { added: members - (previous - removed), removed, members };
      } catch (error) {
        // A rebuild that read the staging set indexed its users in useg: drop those entries
        // for users who are not members (retire), then the set.
        await retire(appId, segmentId, staging);
        throw error;
      }
    },
  };
}
