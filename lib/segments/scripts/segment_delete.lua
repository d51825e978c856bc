-- Deletes a segment: its hash, reach and build bitmaps leave at once; the member set moves to
-- KEYS[2] so the caller can clean the members' useg entries in batches.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- KEYS[2]  key that receives the member set
-- ARGV[1]  segment id
-- Returns 1, or 0 when the segment did not exist.
local key = KEYS[1] .. "seg:" .. ARGV[1]
if redis.call("EXISTS", key) == 0 then return 0 end
redis.call("SREM", KEYS[1] .. "segs", ARGV[1])
local h = redis.call("HGET", key, "buildSrc")
if h and h ~= key .. ":members" then redis.call("UNLINK", h) end
redis.call("UNLINK", key, key .. ":rb:production", key .. ":rb:development",
  key .. ":bb:production", key .. ":bb:development")
if redis.call("EXISTS", key .. ":members") == 1 then redis.call("RENAME", key .. ":members", KEYS[2]) end
return 1
