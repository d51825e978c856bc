-- Finishes a rebuild atomically: the build sets replace the live reach sets (readers never see
-- a half-built set); with a replace upload the staging set also replaces the member set, and
-- the old members are kept under KEYS[2] for the caller to clean their useg entries.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- KEYS[2]  key that receives the previous members (replace only; absent otherwise)
-- ARGV[1]  segment id
-- ARGV[2]  rebuild token
-- ARGV[3]  "1" when the source set replaces the members
-- Returns {added, removed, previousMembers} — added/removed are the changes to the live reach
-- sets — or -1 when the rebuild was superseded.
local key, token = KEYS[1] .. "seg:" .. ARGV[1], ARGV[2]
local h = redis.call("HMGET", key, "building", "buildSrc")
if h[1] ~= token then return -1 end
local added, removed = 0, 0
for _, env in ipairs({ "production", "development" }) do
  local live, build = key .. ":reach:" .. env, key .. ":build:" .. env
  local both = redis.call("SINTERCARD", 2, live, build)
  added = added + redis.call("SCARD", build) - both
  removed = removed + redis.call("SCARD", live) - both
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
