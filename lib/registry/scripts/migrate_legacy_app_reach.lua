-- migrate_legacy_app_reach: deletes the app's reach sets of layout v4 and before
-- (`reach:<env>`), replaced by the bitmaps `rb:<env>` (migrate_app_reach.lua fills them first).
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[…]  environments (from the `reach:<env>` keys a SCAN found)
--
-- Reply: { deleted, not a set or gone }
local prefix = KEYS[1]
local deleted, skipped = 0, 0
for i = 1, #ARGV do
  local key = prefix .. "reach:" .. ARGV[i]
  if redis.call("TYPE", key).ok == "set" then
    redis.call("DEL", key)
    deleted = deleted + 1
  else
    skipped = skipped + 1
  end
end
return { deleted, skipped }
