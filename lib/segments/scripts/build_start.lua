-- Starts (or restarts) a rebuild of one segment's reach sets into seg:<sid>:build:<env>.
-- A newer token supersedes an older rebuild, whose batches then stop.
-- KEYS[1]: the segment hash
-- ARGV[1]: key prefix
-- ARGV[2]: segment id
-- ARGV[3]: rebuild token
-- ARGV[4]: the member set the rebuild reads (members, or a replace upload's staging set)
-- ARGV[5]: "" for a rebuild from the members; "replace" for a replace upload, refused unless
--          its staging set is still `replaceSrc` (replace_claim.lua), i.e. no replace upload
--          has started since it did
-- Returns 1, 0 when the segment does not exist, or 2 when a later replace upload won.
local key = ARGV[1] .. "seg:" .. ARGV[2]
if redis.call("EXISTS", key) == 0 then return 0 end
if ARGV[5] == "replace" and redis.call("HGET", key, "replaceSrc") ~= ARGV[4] then
  return 2
end
redis.call("HSET", key, "building", ARGV[3], "buildSrc", ARGV[4])
redis.call("DEL", key .. ":build:production", key .. ":build:development")
return 1
