/**
 * How the registry runs its Lua: each script body is a function of a Redis function library
 * whose prelude is the segment reindex, the rate limit and scripts/_lib.lua, loaded once, and
 * every call has the same shape (the app's key prefix in KEYS, the clock first in ARGV). Shared
 * by the SDK writes (registry.ts) and the status marks (marks.ts).
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
import { createFunctionLibrary } from "../redis/function_library.ts";

/** `{outcome, info, flat hash}` as every registry script answers. */
export type Reply = [string, string?, (string[] | string)?];

/** Runs the named script for an app with `args` after the clock; see {@linkcode createRunner}. */
export type Run<Name extends string> = (
  name: Name,
  appId: string,
  args: string[],
) => Promise<Reply>;

/**
 * A runner over the given script bodies: one Redis function library (the prelude loaded once,
 * each body a function; see lib/redis/function_library.ts), called with FCALL.
 */
export function createRunner<Name extends string>(
  redis: Redis,
  now: () => number,
  bodies: Record<Name, string>,
): Run<Name> {
  const library = createFunctionLibrary(redis, {
    name: "edgepush_registry",
    // segmentReindexLua opens with the installation codec (_codec.lua) it reads through.
    prelude: `${segmentReindexLua}\n${rateLimitLua}\n${libLua}`,
    // The token index's and the reindex's per-call memos: a segment or a bucket entry may
    // change between two calls.
    eachCall: "tok_forget() seg_forget()",
    functions: bodies,
  });
  return async (name, appId, args) =>
    await library.call<Reply>(name, [registryKeys.prefix(appId)], [String(now()), ...args]);
}
