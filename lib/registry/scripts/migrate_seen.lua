-- migrate_seen: sets the installations' bits in the recency index (layout v6, `sw:<week>`, see
-- _seen.lua, prepended through the codec) for those written before it; they are numbered
-- already (layout v4's step runs first). A bit already set changes nothing: idempotent.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[…]  installation ids
--
-- Reply: { bits set, already set or deleted or gone }
local prefix = KEYS[1]
local set, skipped = 0, 0
for i = 1, #ARGV do
  local inst = inst_read(prefix .. "inst:" .. ARGV[i])
  local n = inst and tonumber(inst.n)
  local key = n and (prefix .. "sw:" .. seen_week(inst.lastSeenAt))
  if n ~= nil and inst.status ~= "deleted" and redis.call("GETBIT", key, n) == 0 then
    seen_put(prefix, n, inst.lastSeenAt, true)
    set = set + 1
  else
    skipped = skipped + 1
  end
end
return { set, skipped }
