-- migrate_dirty: moves up to 500 ids of a layout-v6 set of changed installations (`segdirty`, or
-- a crashed sync's `segdirty:run`) into the bitmap that replaces it (`segdb`, `segdb:run`), by
-- their numbers; ids whose installation is gone are dropped (a sync would skip them too). Each
-- call pops what it moves, so the migration resumes where it stopped; the set is gone once
-- empty. Prepended with _segment_reindex.lua.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  "" for segdirty, ":run" for segdirty:run
--
-- Reply: { moved, dropped, left in the set }
local prefix, suffix = KEYS[1], ARGV[1]
local old = prefix .. "segdirty" .. suffix
local moved, dropped = 0, 0
if redis.call("TYPE", old).ok ~= "set" then return { 0, 0, 0 } end
for _, id in ipairs(redis.call("SPOP", old, 500)) do
  local n = redis.call("HGET", prefix .. "inst:" .. id, "n")
  if n then
    redis.call("SETBIT", prefix .. "segdb" .. suffix, tonumber(n), 1)
    moved = moved + 1
  else
    dropped = dropped + 1
  end
end
return { moved, dropped, redis.call("SCARD", old) }
