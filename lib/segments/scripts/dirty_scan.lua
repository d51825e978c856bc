-- One step over the bitmap of changed installations a sync reconciles (segdb:run, see
-- dirty_take.lua): the ids whose bits are set, from byte `cursor` on (bits_scan in the
-- registry's _numbers.lua, prepended through the codec). Prepended with _segment_reindex.lua.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  cursor ("0" starts)
-- ARGV[2]  about how many ids to return
-- Returns { next cursor ("0" = done), ids }.
local prefix = KEYS[1]
local next_cursor, ids = bits_scan(prefix, prefix .. "segdb:run", ARGV[1], tonumber(ARGV[2]))
return { next_cursor, ids }
