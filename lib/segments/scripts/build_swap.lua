-- Finishes a rebuild atomically: the build bitmaps replace the live reach bitmaps (readers
-- never see a half-built one); with a replace upload the staging set also replaces the member set, and
-- the old members are kept under KEYS[2] for the caller to clean their useg entries.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- KEYS[2]  key that receives the previous members (replace only; absent otherwise)
-- ARGV[1]  segment id
-- ARGV[2]  rebuild token
-- ARGV[3]  "1" when the source set replaces the members
-- Returns {added, removed, previousMembers} — added/removed are the changes to the live reach
-- bitmaps — or -1 when the rebuild was superseded.
local key, token = KEYS[1] .. "seg:" .. ARGV[1], ARGV[2]
local h = redis.call("HMGET", key, "building", "buildSrc")
if h[1] ~= token then return -1 end
local added, removed = 0, 0
for _, env in ipairs({ "production", "development" }) do
  local live, build = key .. ":rb:" .. env, key .. ":bb:" .. env
  local scratch = key .. ":both"
  redis.call("BITOP", "AND", scratch, live, build)
  local both = redis.call("BITCOUNT", scratch)
  redis.call("DEL", scratch)
  added = added + redis.call("BITCOUNT", build) - both
  removed = removed + redis.call("BITCOUNT", live) - both
  -- RENAME over a big set frees it synchronously; UNLINK frees it in the background.
  redis.call("UNLINK", live)
  if redis.call("EXISTS", build) == 1 then redis.call("RENAME", build, live) end
end
local previous = 0
if ARGV[3] == "1" then
  local members = key .. ":members"
  previous = redis.call("SCARD", members)
  if previous > 0 then redis.call("RENAME", members, KEYS[2]) end
  if redis.call("EXISTS", h[2]) == 1 then
    redis.call("RENAME", h[2], members)
    redis.call("PERSIST", members) -- the staging set carried a crash-safety TTL
  end
end
redis.call("HDEL", key, "building", "buildSrc")
if added > 0 then redis.call("HINCRBY", key, "fluxAdded", added) end
if removed > 0 then redis.call("HINCRBY", key, "fluxRemoved", removed) end
return { added, removed, previous }
