/**
 * The segments' errors, and the existence check behind the commonest of them. Their own module
 * because the definitions, member uploads, rebuilds and reach reads all throw them.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { NotFound } from "../errors.ts";
import { segmentKeys as keys } from "./_keys.ts";

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

/** @throws {SegmentNotFound} unless the app has a segment `segmentId`. */
export async function requireSegment(
  redis: Redis,
  appId: string,
  segmentId: string,
): Promise<void> {
  if ((await redis.exists(keys.segment(appId, segmentId))) !== 1) {
    throw new SegmentNotFound(segmentId);
  }
}
