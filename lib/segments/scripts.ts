/**
 * Loads the segment Lua scripts once per Redis client. Scripts that evaluate installations are
 * prepended with the shared library (_segment_reindex.lua), as the registry's scripts are.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
// The registry's installation codec: segment scripts read installation hashes through it (the
// documented exception of _segment_reindex.lua; imported from its file, as registry.ts imports
// this module, to keep the module graph free of cycles).
import { installationCodecLua } from "../registry/installation_codec.ts";
import reindexLibrary from "./scripts/_segment_reindex.lua" with { type: "text" };
import membersApply from "./scripts/members_apply.lua" with { type: "text" };
import replaceClaim from "./scripts/replace_claim.lua" with { type: "text" };
import buildStart from "./scripts/build_start.lua" with { type: "text" };
import buildBatch from "./scripts/build_batch.lua" with { type: "text" };
import buildSwap from "./scripts/build_swap.lua" with { type: "text" };
import retireBatch from "./scripts/retire_batch.lua" with { type: "text" };
import segmentDelete from "./scripts/segment_delete.lua" with { type: "text" };
import reconcile from "./scripts/reconcile.lua" with { type: "text" };
import prune from "./scripts/prune.lua" with { type: "text" };
import dirtyTake from "./scripts/dirty_take.lua" with { type: "text" };
import dirtyScan from "./scripts/dirty_scan.lua" with { type: "text" };
import fluxTake from "./scripts/flux_take.lua" with { type: "text" };
import reachScan from "./scripts/reach_scan.lua" with { type: "text" };
import membership from "./scripts/membership.lua" with { type: "text" };

/**
 * The text of the `segment_reindex` library, for scripts (and tests) that call it. It opens
 * with the registry's installation codec, which it reads installations through.
 */
export const segmentReindexLua: string = `${installationCodecLua}\n${reindexLibrary}`;
const library = segmentReindexLua;

/** Prepends the library to a script body. */
export function withLibrary(body: string): string {
  return `${library}\n${body}`;
}

/** The loaded scripts. */
export function loadSegmentScripts(redis: Redis) {
  return {
    membersApply: redis.createScript<number>(withLibrary(membersApply)),
    replaceClaim: redis.createScript<number>(replaceClaim),
    buildStart: redis.createScript<number>(buildStart),
    buildBatch: redis.createScript<number>(withLibrary(buildBatch)),
    buildSwap: redis.createScript<number | [number, number, number]>(buildSwap),
    retireBatch: redis.createScript<number>(withLibrary(retireBatch)),
    segmentDelete: redis.createScript<number>(segmentDelete),
    reconcile: redis.createScript<(string | number)[]>(withLibrary(reconcile)),
    prune: redis.createScript<number>(withLibrary(prune)),
    dirtyTake: redis.createScript<number>(dirtyTake),
    dirtyScan: redis.createScript<[string, string[]]>(withLibrary(dirtyScan)),
    fluxTake: redis.createScript<number | [number, number]>(fluxTake),
    reachScan: redis.createScript<[string, string[]]>(withLibrary(reachScan)),
    membership: redis.createScript<[number, number]>(withLibrary(membership)),
  };
}

/** The loaded scripts' type. */
export type SegmentScripts = ReturnType<typeof loadSegmentScripts>;
