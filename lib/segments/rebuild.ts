/**
 * Rebuilds of a segment's materialized reach sets: read a source set of users (the members, or
 * a replace upload's staging set) in batches into fresh sets, then swap them in atomically, so
 * readers keep the old sets until the swap. Also the retirement of a member set that left a
 * segment (its users leave the user → segments index).
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { Conflict } from "../errors.ts";
import { randomId } from "../auth/secrets.ts";
import { segmentKeys as keys } from "./_keys.ts";
import type { SegmentScripts } from "./scripts.ts";
import { RebuildSuperseded, SegmentNotFound } from "./errors.ts";

/** Users per Redis batch (SADD to staging, member scripts, rebuild batches). */
export const BATCH = 1000;

/** The result of a rebuild. */
export interface RebuildResult {
  /** Installations the rebuild added to / removed from the live reach sets. */
  added: number;
  removed: number;
  durationMs: number;
}

/** Where a rebuild reads from and what it replaces; see {@linkcode Rebuilds.rebuildFrom}. */
export interface RebuildSource {
  /** The users to build from. Default: the segment's members. */
  src?: string;
  /** Swap `src` in as the new members (a replace upload), the old ones moving to `retired`. */
  replace?: boolean;
  retired?: string;
  /** The time rules are evaluated at. Default: the clock. */
  nowMs?: number;
}

/** The rebuild steps returned by {@linkcode createRebuilds}. */
export type Rebuilds = ReturnType<typeof createRebuilds>;

/** The rebuild steps over the segment scripts; `now` is the default rule time. */
export function createRebuilds(redis: Redis, scripts: SegmentScripts, now: () => number) {
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
   * Rebuilds a segment's reach sets from `src` (default: its members) and swaps them in.
   * `previous` is how many members the segment had before a replace.
   * @throws {SegmentNotFound} @throws {RebuildSuperseded}
   * @throws {Conflict} when a later replace upload claimed the segment
   */
  async function rebuildFrom(
    appId: string,
    segmentId: string,
    opts: RebuildSource = {},
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

  return { scanSet, rebuildFrom, retire };
}
