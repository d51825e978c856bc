-- One step over the app's reachable installations in one environment (the bitmap rb:<env>, see
-- _lib.lua): the ids whose bits are set, from byte `cursor` on (bits_scan in _numbers.lua,
-- prepended through the codec).
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  environment
-- ARGV[2]  cursor ("0" starts)
-- ARGV[3]  about how many ids to return
-- Returns { next cursor ("0" = done), ids }.
local prefix = KEYS[1]
local next_cursor, ids = bits_scan(prefix, prefix .. "rb:" .. ARGV[1], ARGV[2], tonumber(ARGV[3]))
return { next_cursor, ids }
