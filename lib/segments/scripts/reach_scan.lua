-- One step over a segment's reach bitmap in one environment: the ids of the installations
-- whose bits are set, from byte `cursor` on (bits_scan in the registry's _numbers.lua, prepended
-- through the codec). Prepended with _segment_reindex.lua.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  segment id
-- ARGV[2]  environment
-- ARGV[3]  cursor ("0" starts)
-- ARGV[4]  about how many ids to return
-- Returns { next cursor ("0" = done), ids }.
local prefix = KEYS[1]
local next_cursor, ids = bits_scan(prefix, prefix .. "seg:" .. ARGV[1] .. ":rb:" .. ARGV[2],
  ARGV[3], tonumber(ARGV[4]))
return { next_cursor, ids }
