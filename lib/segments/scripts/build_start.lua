-- Starts (or restarts) a rebuild of one segment's reach sets into seg:<sid>:build:<env>.
-- A newer token supersedes an older rebuild, whose batches then stop.
-- KEYS[1]: the segment hash
-- ARGV[1]: key prefix
-- ARGV[2]: segment id
-- ARGV[3]: rebuild token
-- ARGV[4]: the member set the rebuild reads (members, or a replace upload's staging set)
-- Returns 1, or 0 when the segment does not exist.
local key = ARGV[1] .. "seg:" .. ARGV[2]
if redis.call("EXISTS", key) == 0 then return 0 end
redis.call("HSET", key, "building", ARGV[3], "buildSrc", ARGV[4])
redis.call("DEL", key .. ":build:production", key .. ":build:development")
return 1
