/**
 * Delivery and open events reported by the SDK, counted once per (send, installation, type)
 * in one Lua script per batch. They belong to sends: an event counts only for an installation
 * the send's recipient hash says APNs accepted (or has pending), and the counters are part of
 * the send's funnel.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
// lib/ratelimit's Lua helper runs inside record_events.lua (see its note on the exception).
import {
  rateLimitedError,
  rateLimitLua,
  rateLimitSpec,
  type SdkRateLimits,
} from "../ratelimit/mod.ts";
import recordLua from "./scripts/record_events.lua" with { type: "text" };
import { sendKeys } from "./_keys.ts";

/** One event as the SDK reports it. */
export interface SdkEventRecord {
  type: "delivered" | "opened";
  sendId: string;
  installationId: string;
}

/** What a batch did. */
export interface RecordedEvents {
  /** Counted now. */
  accepted: number;
  /** Already counted before (same send, installation and type). */
  duplicates: number;
  /** For a send that did not target that installation, or whose push APNs refused. */
  rejected: number;
}

/** Options for {@linkcode createEvents}. */
export interface EventsOptions {
  redis: Redis;
  /** How long a counted event is remembered for deduplication, s. Default: 90 days. */
  dedupSeconds?: number;
  /** SDK rate limits (a batch counts once in the address scope). Default: none. */
  rateLimits?: SdkRateLimits | null;
  /** Clock in epoch ms, for tests. Default: `Date.now`. */
  now?: () => number;
}

/** The events store. */
export type Events = ReturnType<typeof createEvents>;

/** Creates the events store. */
export function createEvents(options: EventsOptions) {
  const { redis } = options;
  const dedup = String(options.dedupSeconds ?? 90 * 86_400);
  const limits = rateLimitSpec(options.rateLimits ?? null);
  const now = options.now ?? Date.now;
  const record = redis.createScript<[number | string, number, number]>(
    `${rateLimitLua}\n${recordLua}`,
  );
  return {
    /**
     * Counts a batch (≤ 100 events) in one round trip, the rate limit included. `client` is the
     * caller's address scope (default "unknown").
     * @throws {RateLimited} over the address limit (nothing counted).
     */
    async record(
      appId: string,
      events: readonly SdkEventRecord[],
      options: { client?: string } = {},
    ): Promise<RecordedEvents> {
      if (events.length === 0) return { accepted: 0, duplicates: 0, rejected: 0 };
      const args = [dedup, String(now()), limits, options.client ?? "unknown"];
      for (const e of events) args.push(e.type, e.sendId, e.installationId);
      const [accepted, duplicates, rejected] = await record.exec(
        [sendKeys.prefix(appId)],
        args,
      );
      if (accepted === "rate_limited") throw rateLimitedError(duplicates);
      return {
        accepted: Number(accepted),
        duplicates: Number(duplicates),
        rejected: Number(rejected),
      };
    },
  };
}

/** The delivered/opened counters of a send (0 when none). For the sends funnel. */
export async function readEventCounts(
  redis: Redis,
  appId: string,
  sendId: string,
): Promise<{ delivered: number; opened: number }> {
  // With automatic deserialization off, HMGET answers the raw array of values.
  const values = await redis.hmget(sendKeys.eventCounts(appId, sendId), "delivered", "opened");
  const [delivered, opened] = Array.isArray(values) ? values : [values?.delivered, values?.opened];
  return { delivered: Number(delivered ?? 0), opened: Number(opened ?? 0) };
}
