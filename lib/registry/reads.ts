/**
 * Reads of single installations and of a user's installations: plain HGETALL/ZRANGE, no script,
 * since nothing here needs to be atomic with a change. The app-wide index reads are in
 * app_indexes.ts, what a push needs of a recipient in sendable.ts.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { type Installation, parseInstallation } from "./installation.ts";
import { createSendableReader } from "./sendable.ts";
import { registryKeys } from "./_keys.ts";

/** The reads returned by {@linkcode createInstallationReads}. */
export type InstallationReads = ReturnType<typeof createInstallationReads>;

/** The installation reads over the domain Redis. */
export function createInstallationReads(redis: Redis) {
  /** Many installations in one pipelined round trip, in the order of `ids` (null = unknown). */
  async function getMany(appId: string, ids: readonly string[]): Promise<(Installation | null)[]> {
    if (ids.length === 0) return [];
    const pipe = redis.pipeline();
    for (const id of ids) pipe.hgetall(registryKeys.installation(appId, id));
    const hashes = await pipe.exec<(Record<string, unknown> | null)[]>();
    return hashes.map((hash, i) => parseInstallation(appId, hash, ids[i]));
  }
  const readSendable = createSendableReader(redis, getMany);

  return {
    /** One installation, or null. */
    async get(appId: string, id: string): Promise<Installation | null> {
      const hash = await redis.hgetall<Record<string, unknown>>(
        registryKeys.installation(appId, id),
      );
      return parseInstallation(appId, hash, id);
    },

    /** Many installations in one pipelined round trip, in the order of `ids` (null = unknown). */
    getMany,

    /** What a push needs of many installations, in one round trip (see sendable.ts). */
    getSendable: readSendable,

    /** A user's installations, most recently seen first (empty for an unknown user). */
    async userInstallations(appId: string, userId: string): Promise<Installation[]> {
      const ids = await redis.zrange<string[]>(registryKeys.user(appId, userId), 0, -1, {
        rev: true,
      });
      const found = await getMany(appId, ids);
      return found.filter((inst): inst is Installation => inst !== null);
    },
  };
}
