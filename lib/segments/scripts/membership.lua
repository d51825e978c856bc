-- Where one installation stands in a segment (for the diagnosis): whether its user is an
-- uploaded member, and whether its bit is set in the segment's reach bitmap for `env`.
-- Prepended with _segment_reindex.lua (the installation's number is the registry's hash field).
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  segment id
-- ARGV[2]  installation id
-- ARGV[3]  environment
-- ARGV[4]  user id ("" = none)
-- Returns { member (0/1), reachable (0/1) }.
local prefix, sid = KEYS[1], ARGV[1]
local key = prefix .. "seg:" .. sid
local member = 0
if ARGV[4] ~= "" then member = redis.call("SISMEMBER", key .. ":members", ARGV[4]) end
local n = redis.call("HGET", prefix .. "inst:" .. ARGV[2], "n")
local reachable = 0
if n then reachable = redis.call("GETBIT", key .. ":rb:" .. ARGV[3], tonumber(n)) end
return { member, reachable }
