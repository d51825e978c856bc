/**
 * Status changes the registry makes on evidence from outside the SDK: APNs feedback from
 * delivery (410 unregistered, a bad token, the environment that accepted a token) and
 * staleness from the daily segment sync. Unlike the SDK writes in registry.ts they carry no
 * secret and no rate limit: the caller is edgepush itself.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import markUnregisteredLua from "./scripts/mark_unregistered.lua" with { type: "text" };
import markBadTokenLua from "./scripts/mark_bad_token.lua" with { type: "text" };
import correctEnvironmentLua from "./scripts/correct_environment.lua" with { type: "text" };
import markStaleLua from "./scripts/mark_stale.lua" with { type: "text" };
import { createRunner } from "./_script.ts";
import type { EnvironmentName } from "./schemas.ts";

/** The marks returned by {@linkcode createStatusMarks}. */
export type StatusMarks = ReturnType<typeof createStatusMarks>;

/** The status marks over the domain Redis; `now` stamps every script call. */
export function createStatusMarks(redis: Redis, now: () => number) {
  const run = createRunner(redis, now, {
    markUnregistered: markUnregisteredLua,
    markBadToken: markBadTokenLua,
    correctEnvironment: correctEnvironmentLua,
    markStale: markStaleLua,
  });

  /** A feedback script guards on the token still held: "applied" says it was. */
  async function feedback(
    name: "markUnregistered" | "markBadToken" | "correctEnvironment",
    appId: string,
    args: string[],
  ): Promise<boolean> {
    const reply = await run(name, appId, args);
    return reply[0] === "applied";
  }

  return {
    /**
     * APNs 410: marks `unregistered` when the installation still holds `token`, is active,
     * and `apnsTimestampMs` is later than its `registeredAt`. Returns whether it applied.
     */
    async markUnregistered(
      appId: string,
      id: string,
      token: string,
      apnsTimestampMs: number,
    ): Promise<boolean> {
      return await feedback("markUnregistered", appId, [id, token, String(apnsTimestampMs)]);
    },

    /** Marks `bad_token` (with the APNs reason) when the installation still holds `token`. */
    async markBadToken(appId: string, id: string, token: string, reason: string) {
      return await feedback("markBadToken", appId, [id, token, reason]);
    },

    /** Stores the environment that accepted `token`, when the installation still holds it. */
    async correctEnvironment(
      appId: string,
      id: string,
      token: string,
      environment: EnvironmentName,
    ): Promise<boolean> {
      return await feedback("correctEnvironment", appId, [id, token, environment]);
    },

    /**
     * Marks the given installations stale when their lastSeenAt is at or before `cutoff`
     * (epoch ms): they leave the app's and every segment's reach sets. Returns how many were
     * marked. For the daily segment sync.
     */
    async markStale(appId: string, cutoff: number, ids: readonly string[]): Promise<number> {
      if (ids.length === 0) return 0;
      const reply = await run("markStale", appId, [String(cutoff), ...ids]);
      return Number(reply[1]);
    },
  };
}
