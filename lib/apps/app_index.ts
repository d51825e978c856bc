/**
 * The set of every app id, for jobs that iterate apps. It is cross-app (in a cluster, its own
 * slot), so no transaction joins it to the app records: creation indexes first and a failed
 * record write leaves an id without a record; a failover may lose an entry. A daily repair
 * makes it match the records again.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";
import { appKeys } from "./_keys.ts";

/** Every app id, sorted (for jobs that run without the apps store's secrets). */
export async function listAppIds(redis: Redis): Promise<string[]> {
  return (await redis.smembers(appKeys.index())).map(String).sort();
}

/**
 * Makes the apps index match the app records: adds apps whose index entry was lost (a failed
 * write, or a failover that lost an acknowledged one) and drops ids with no record. SCANs the
 * whole keyspace (every master of a cluster) in bounded batches: for a daily job.
 */
export async function repairAppIndex(
  redis: Redis,
): Promise<{ added: string[]; removed: string[] }> {
  const found = new Set<string>();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, { match: appKeys.anyApp(), count: 1_000 });
    cursor = String(next);
    for (const key of keys.map(String)) {
      const appId = appKeys.appIdOf(key);
      if (appId) found.add(appId);
    }
  } while (cursor !== "0");
  const indexed = new Set((await redis.smembers(appKeys.index())).map(String));
  const added = [...found].filter((id) => !indexed.has(id)).sort();
  if (added.length) await redis.sadd(appKeys.index(), added[0], ...added.slice(1));
  const removed: string[] = [];
  for (const id of indexed) {
    if (found.has(id) || Number(await redis.exists(appKeys.app(id))) === 1) continue;
    await redis.srem(appKeys.index(), id);
    removed.push(id);
  }
  return { added, removed: removed.sort() };
}
