/**
 * The segments store: definitions, member uploads (JSON batches and constant-memory streams),
 * rebuilds of the materialized reach sets, and batched reads for sends.
 *
 * Invariants kept here and by scripts/_segment_reindex.lua:
 * - `seg:<sid>:reach:<env>` holds the installations of members that are reachable, in `env`
 *   and match the rule (evaluated at the time of the last change or sync);
 * - `useg:<user>` holds every segment whose members (or whose running rebuild's source) hold
 *   the user, so an installation change touches only its user's segments.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { Conflict, NotFound } from "../errors.ts";
import { randomId } from "../auth/secrets.ts";
import { segmentKeys as keys } from "./_keys.ts";
import { loadSegmentScripts, type SegmentScripts } from "./scripts.ts";
import { stageUpload, type StreamFormat } from "./upload_staging.ts";
import {
  Rule,
  type RuleData,
  type SegmentViewData,
  SyncReport,
  type SyncReportData,
} from "./schemas.ts";

export type { StreamFormat };

/** Users per Redis batch (SADD to staging, member scripts, rebuild batches). */
export const BATCH = 1000;
/** Rebuild attempts of a replace upload that rebuilds from the members keep superseding. */
const REPLACE_ATTEMPTS = 5;

/** An installation environment. */
export type Environment = "production" | "development";

/** Thrown when a segment id names no segment of the app. */
export class SegmentNotFound extends NotFound {
  override name = "SegmentNotFound";
  constructor(segmentId: string) {
    super(`segment ${segmentId} not found`);
  }
}

/** Thrown when a rebuild was superseded by a newer one (a rule change, a replace upload). */
export class RebuildSuperseded extends Error {
  override name = "RebuildSuperseded";
}

/** Options for {@linkcode createSegments}. */
export interface SegmentsOptions {
  redis: Redis;
  /** Clock, for tests. Default: `Date.now`. */
  now?: () => number;
}

/** A member upload's answer. */
export interface MembersResultData {
  added: number;
  removed: number;
  members: number;
}

/** The result of a rebuild. */
export interface RebuildResult {
  /** Installations the rebuild added to / removed from the live reach sets. */
  added: number;
  removed: number;
  durationMs: number;
}

/** The segments store. */
export type Segments = ReturnType<typeof createSegments>;

/** Creates the segments store. */
export function createSegments(options: SegmentsOptions) {
  const { redis } = options;
  const now = options.now ?? Date.now;
  const scripts: SegmentScripts = loadSegmentScripts(redis);

  async function exists(appId: string, segmentId: string): Promise<boolean> {
    return (await redis.exists(keys.segment(appId, segmentId))) === 1;
  }

  async function requireSegment(appId: string, segmentId: string): Promise<void> {
    if (!(await exists(appId, segmentId))) throw new SegmentNotFound(segmentId);
  }

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

  /** Visits a set in SSCAN batches of about {@linkcode BATCH}. */
  async function scanSet(key: string, visit: (ids: string[]) => Promise<void>): Promise<void> {
    let cursor = "0";
    do {
      const [next, ids] = await redis.sscan(key, cursor, { count: BATCH });
      cursor = String(next);
      if (ids.length) await visit(ids.map(String));
    } while (cursor !== "0");
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

  /** Rebuilds a segment's reach sets from `src` (default: its members) and swaps them in. */
  async function rebuildFrom(
    appId: string,
    segmentId: string,
    opts: { src?: string; replace?: boolean; retired?: string; nowMs?: number } = {},
  ): Promise<RebuildResult & { previous: number }> {
    const started = performance.now();
    const prefix = keys.prefix(appId);
    const src = opts.src ?? keys.members(appId, segmentId);
    const token = randomId(8);
    const nowMs = String(opts.nowMs ?? now());
    const ok = Number(
      await scripts.buildStart.exec([prefix, src], [
        segmentId,
        token,
        opts.replace ? "replace" : "",
      ]),
    );
    if (ok === 2) {
      throw new Conflict(`a later replace upload of segment ${segmentId} superseded this one`);
    }
    if (ok !== 1) throw new SegmentNotFound(segmentId);
    await scanSet(src, async (users) => {
      const n = await scripts.buildBatch.exec([prefix], [segmentId, token, nowMs, ...users]);
      if (Number(n) < 0) throw new RebuildSuperseded(`rebuild of ${segmentId} was superseded`);
    });
    const swapped = await scripts.buildSwap.exec(
      opts.replace && opts.retired ? [prefix, opts.retired] : [prefix],
      [segmentId, token, opts.replace ? "1" : "0"],
    );
    if (!Array.isArray(swapped)) {
      throw new RebuildSuperseded(`rebuild of ${segmentId} was superseded`);
    }
    return {
      added: Number(swapped[0]),
      removed: Number(swapped[1]),
      previous: Number(swapped[2]),
      durationMs: performance.now() - started,
    };
  }

  /** Drops users of a retired member set from useg; returns how many left the segment. */
  async function retire(appId: string, segmentId: string, retired: string): Promise<number> {
    let gone = 0;
    await scanSet(retired, async (users) => {
      gone += Number(
        await scripts.retireBatch.exec([keys.prefix(appId), retired], [segmentId, ...users]),
      );
    });
    await redis.unlink(retired);
    return gone;
  }

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

    /** Adds and removes members (≤ 10,000 ids; validated by the route). @throws {SegmentNotFound} */
    async updateMembers(
      appId: string,
      segmentId: string,
      input: { add?: string[]; remove?: string[] },
    ): Promise<MembersResultData> {
      await requireSegment(appId, segmentId);
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
        await requireSegment(appId, segmentId);
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
      if (cursor === "0") await requireSegment(appId, segmentId);
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
