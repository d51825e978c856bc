-- Starts (or restarts) a rebuild of one segment's reach bitmaps into seg:<sid>:bb:<env>.
-- A newer token supersedes an older rebuild, whose batches then stop.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- KEYS[2]  the member set the rebuild reads (members, or a replace upload's staging set)
-- ARGV[1]  segment id
-- ARGV[2]  rebuild token
-- ARGV[3]  "" for a rebuild from the members; "replace" for a replace upload, refused unless
--          its staging set is still `replaceSrc` (replace_claim.lua), i.e. no replace upload
--          has started since it did
-- Returns 1, 0 when the segment does not exist, or 2 when a later replace upload won.
local key = KEYS[1] .. "seg:" .. ARGV[1]
if redis.call("EXISTS", key) == 0 then return 0 end
if ARGV[3] == "replace" and redis.call("HGET", key, "replaceSrc") ~= KEYS[2] then
  return 2
end
redis.call("HSET", key, "building", ARGV[2], "buildSrc", KEYS[2])
redis.call("DEL", key .. ":bb:production", key .. ":bb:development")
return 1
