-- migrate_legacy_seen: deletes the recency sorted set of layout v5 and before (`seen`), replaced
-- by the week bitmaps of layout v6 (migrate_seen.lua fills them first).
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
--
-- Reply: { deleted, not a sorted set or gone }
local key = KEYS[1] .. "seen"
if redis.call("TYPE", key).ok == "zset" then
  redis.call("DEL", key)
  return { 1, 0 }
end
return { 0, 1 }
