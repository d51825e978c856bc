-- One step over one week of the recency index (_seen.lua): the ids of the installations whose
-- bits are set in `sw:<week>` from byte `cursor` on and whose stored lastSeenAt lies in
-- (`after`, `until`]. A week whose bitmap holds no bit is deleted (and leaves `sw`) when a scan
-- starts on it.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  week
-- ARGV[2]  cursor ("0" starts)
-- ARGV[3]  about how many candidates to read
-- ARGV[4]  after (ms, exclusive; "-inf" for none)
-- ARGV[5]  until (ms, inclusive; "+inf" for none)
-- Returns { next cursor ("0" = done), ids }.
local prefix, week = KEYS[1], ARGV[1]
local key = prefix .. "sw:" .. week
if ARGV[2] == "0" and redis.call("BITCOUNT", key) == 0 then
  redis.call("DEL", key)
  redis.call("ZREM", prefix .. "sw", week)
  return { "0", {} }
end
local after = ARGV[4] == "-inf" and -math.huge or tonumber(ARGV[4])
local upto = ARGV[5] == "+inf" and math.huge or tonumber(ARGV[5])
local next_cursor, ids = bits_scan(prefix, key, ARGV[2], tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  -- lastSeenAt: `ls`, or `rg` when left out as equal (_codec.lua); `lastSeenAt` in layout v1
  local v = redis.call("HMGET", prefix .. "inst:" .. id, "ls", "rg", "lastSeenAt")
  local seen = tonumber(v[1] or v[2] or v[3])
  if seen ~= nil and seen > after and seen <= upto then out[#out + 1] = id end
end
return { next_cursor, out }
