/**
 * How the registry runs its Lua scripts: every script body gets the same prelude (the segment
 * reindex, the rate limit and scripts/_lib.lua) and the same call shape (the app's key prefix in
 * KEYS, the clock first in ARGV). Shared by the SDK writes (registry.ts) and the status marks
 * (marks.ts), so both build byte-identical scripts.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
// The one cross-feature Lua import: every registry change reindexes the segments it affects in
// the same atomic script (see the note at the top of lib/segments/scripts/_segment_reindex.lua).
import { segmentReindexLua } from "../segments/scripts.ts";
// lib/ratelimit's Lua helper runs inside the SDK scripts (one round trip per call): the second
// documented cross-feature Lua import (see lib/ratelimit/scripts/_limit.lua).
import { rateLimitLua } from "../ratelimit/mod.ts";
import libLua from "./scripts/_lib.lua" with { type: "text" };
import { registryKeys } from "./_keys.ts";

/** `{outcome, info, flat hash}` as every registry script answers. */
export type Reply = [string, string?, (string[] | string)?];

/** Runs the named script for an app with `args` after the clock; see {@linkcode createRunner}. */
export type Run<Name extends string> = (
  name: Name,
  appId: string,
  args: string[],
) => Promise<Reply>;

/**
 * A runner over the given script bodies. Scripts are loaded lazily by `Script.exec` (EVALSHA,
 * falling back to EVAL once per Redis).
 */
export function createRunner<Name extends string>(
  redis: Redis,
  now: () => number,
  bodies: Record<Name, string>,
): Run<Name> {
  const scripts = {} as Record<Name, ReturnType<typeof redis.createScript<Reply>>>;
  for (const name of Object.keys(bodies) as Name[]) {
    scripts[name] = redis.createScript<Reply>(
      // segmentReindexLua opens with the installation codec (_codec.lua) it reads through.
      `${segmentReindexLua}\n${rateLimitLua}\n${libLua}\n${bodies[name]}`,
    );
  }
  return async (name, appId, args) =>
    await scripts[name].exec([registryKeys.prefix(appId)], [String(now()), ...args]);
}
