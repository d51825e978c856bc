-- Deletes a segment: its hash, reach and build sets leave at once; the member set moves to
-- ARGV[3] so the caller can clean the members' useg entries in batches.
-- KEYS[1]: the segment hash
-- ARGV[1]: key prefix
-- ARGV[2]: segment id
-- ARGV[3]: key that receives the member set
-- Returns 1, or 0 when the segment did not exist.
local key = ARGV[1] .. "seg:" .. ARGV[2]
if redis.call("EXISTS", key) == 0 then return 0 end
redis.call("SREM", ARGV[1] .. "segs", ARGV[2])
local h = redis.call("HGET", key, "buildSrc")
if h and h ~= key .. ":members" then redis.call("UNLINK", h) end
redis.call("UNLINK", key, key .. ":reach:production", key .. ":reach:development",
  key .. ":build:production", key .. ":build:development")
if redis.call("EXISTS", key .. ":members") == 1 then redis.call("RENAME", key .. ":members", ARGV[3]) end
return 1
