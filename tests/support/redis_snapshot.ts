/**
 * A fingerprint of every key in the test Redis (name and a SHA-1 of its DUMP), for asserting
 * that a refused request wrote nothing, not merely that the key count held.
 *
 * @module
 */
import type { Redis } from "@upstash/redis";

const SNAPSHOT_LUA = `
local out = {}
for _, key in ipairs(redis.call("KEYS", "*")) do
  out[#out + 1] = key .. "=" .. redis.sha1hex(redis.call("DUMP", key) or "")
end
table.sort(out)
return out`;

/** Every key with a hash of its value, sorted. Test Redis only: it uses `KEYS *`. */
export async function snapshotRedis(redis: Redis): Promise<string[]> {
  return (await redis.eval(SNAPSHOT_LUA, [], []) as unknown[]).map(String);
}
