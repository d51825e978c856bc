-- Drops the segment from the useg index of users who left it (after a replace upload or a
-- segment deletion), one bounded batch at a time, popping them from the retired set.
-- KEYS[1]: the retired member set
-- ARGV[1]: key prefix
-- ARGV[2]: segment id
-- ARGV[3..]: user ids read from KEYS[1]
-- Returns the number of those users who are no longer members.
local prefix, sid = ARGV[1], ARGV[2]
local key = prefix .. "seg:" .. sid
local h = redis.call("HMGET", key, "building", "buildSrc")
local gone = 0
for i = 3, #ARGV do
  local user = ARGV[i]
  if redis.call("SREM", KEYS[1], user) == 1 and
    redis.call("SISMEMBER", key .. ":members", user) == 0 then
    gone = gone + 1
    if not (h[1] and redis.call("SISMEMBER", h[2], user) == 1) then
      redis.call("SREM", prefix .. "useg:" .. user, sid)
    end
  end
end
return gone
