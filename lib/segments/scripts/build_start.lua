-- Starts (or restarts) a rebuild of one segment's reach sets into seg:<sid>:build:<env>.
-- A newer token supersedes an older rebuild, whose batches then stop.
-- KEYS[1]: the segment hash
-- ARGV[1]: key prefix
-- ARGV[2]: segment id
-- ARGV[3]: rebuild token
-- ARGV[4]: the member set the rebuild reads (members, or a replace upload's staging set)
-- ARGV[5]: "" for a rebuild from the members; for a replace upload "first" (it becomes the
--          segment's latest replace, `replaceSrc`) or "retry" (after a rebuild from the members
--          superseded it; refused when a later replace upload has started since)
-- Returns 1, 0 when the segment does not exist, or 2 when a later replace upload won.
local key = ARGV[1] .. "seg:" .. ARGV[2]
if redis.call("EXISTS", key) == 0 then return 0 end
if ARGV[5] == "first" then
  redis.call("HSET", key, "replaceSrc", ARGV[4])
elseif ARGV[5] == "retry" and redis.call("HGET", key, "replaceSrc") ~= ARGV[4] then
  return 2
end
redis.call("HSET", key, "building", ARGV[3], "buildSrc", ARGV[4])
redis.call("DEL", key .. ":build:production", key .. ":build:development")
return 1
