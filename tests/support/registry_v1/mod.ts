/**
 * The registry's writer as it was before layout v2 (edgepush's scripts at that time, frozen
 * here): installation hashes with long field names, an `id` field and attributes as one JSON
 * object; and the segment member upload of that time (`members_apply.lua`: `useg:<user>` as a
 * set). The migration test and the memory benchmark write "old" data with it.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { randomId, randomSecret, sha256HexSync } from "../../../lib/auth/secrets.ts";
import reindexLua from "./_segment_reindex.lua" with { type: "text" };
import limitLua from "./_limit.lua" with { type: "text" };
import libLua from "./_lib.lua" with { type: "text" };
import registerLua from "./register.lua" with { type: "text" };
import membersApplyLua from "./members_apply.lua" with { type: "text" };

/** What the v1 `register` takes. */
export interface V1Registration {
  token: string;
  environment: "production" | "development";
  userId?: string;
  attributes?: Record<string, string | number | boolean>;
  pushAuthorization?: string;
}

/** A v1 writer: `register` as the old registry ran it (no rate limit). */
export function createV1Writer(redis: Redis, now: () => number = Date.now) {
  const script = redis.createScript<[string, string, string[]]>(
    `${reindexLua}\n${limitLua}\n${libLua}\n${registerLua}`,
  );
  const members = redis.createScript<number>(`${reindexLua}\n${membersApplyLua}`);
  return {
    /** Adds users to an existing segment's members, as the old upload did. */
    async addMembers(appId: string, segmentId: string, userIds: readonly string[]) {
      return await members.exec([`ep:v1:{${appId}}:`], [
        segmentId,
        "add",
        String(now()),
        ...userIds,
      ]);
    },
    /** Registers a new installation; returns its id and secret. */
    async register(appId: string, input: V1Registration) {
      const secret = randomSecret(32);
      const id = `in_${randomId(16)}`;
      await script.exec([`ep:v1:{${appId}}:`], [
        String(now()),
        "",
        "",
        id,
        sha256HexSync(secret),
        input.token,
        input.environment,
        input.userId !== undefined ? "1" : "0",
        input.userId ?? "",
        input.pushAuthorization ?? "",
        input.attributes ? JSON.stringify(input.attributes) : "",
        "",
        "unknown",
      ]);
      return { installationId: id, installationSecret: secret };
    },
  };
}
