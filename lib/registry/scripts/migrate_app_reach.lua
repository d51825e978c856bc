-- migrate_app_reach: sets the bits of the app's reach bitmaps (layout v5, `rb:<env>`, see
-- _lib.lua) for installations written before it; the codec and _numbers.lua are prepended, and
-- the installations are numbered already (layout v4's step runs first). Setting a bit that is
-- set changes nothing, so the step is idempotent.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[…]  installation ids
--
-- Reply: { bits set, already set or not reachable or gone }
local prefix = KEYS[1]
local set, skipped = 0, 0
for i = 1, #ARGV do
  local inst = inst_read(prefix .. "inst:" .. ARGV[i])
  local n = inst and tonumber(inst.n)
  if n ~= nil and inst_reachable(inst) and
    bit_put(prefix .. "rb:" .. inst.environment, n, true) == 1 then
    set = set + 1
  else
    skipped = skipped + 1
  end
end
return { set, skipped }
