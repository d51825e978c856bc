-- Drops the segment from the useg index of users who left it (after a replace upload or a
-- segment deletion), one bounded batch at a time, popping them from the retired set.
-- Prepended with _segment_reindex.lua.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- KEYS[2]  the retired member set
-- ARGV[1]  segment id
-- ARGV[2…] user ids read from KEYS[2]
-- Returns the number of those users who are no longer members.
local prefix, sid = KEYS[1], ARGV[1]
local key = prefix .. "seg:" .. sid
local h = redis.call("HMGET", key, "building", "buildSrc")
local gone = 0
for i = 2, #ARGV do
  local user = ARGV[i]
  if redis.call("SREM", KEYS[2], user) == 1 and
    redis.call("SISMEMBER", key .. ":members", user) == 0 then
    gone = gone + 1
    if not (h[1] and redis.call("SISMEMBER", h[2], user) == 1) then
      seg_user_remove(prefix, user, sid)
    end
  end
end
return gone
