-- migrate_batch: rewrites installation hashes stored in layout v1 into layout v2 (see _codec.lua,
-- prepended). Indexes are keyed by id and unchanged, so only the hash is rewritten; a hash
-- already in v2 (or gone) is left alone, which makes the migration idempotent and safe beside
-- live traffic (every live write stores v2 too).
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[…]  installation ids
--
-- Reply: { converted, already v2 or gone }
local prefix = KEYS[1]
local converted, skipped = 0, 0
for i = 1, #ARGV do
  local key = prefix .. "inst:" .. ARGV[i]
  local inst, raw = inst_read(key)
  if inst == nil or raw.id == nil then
    skipped = skipped + 1
  else
    local flat = {}
    for f, v in pairs(inst_encode(inst)) do
      flat[#flat + 1] = f
      flat[#flat + 1] = v
    end
    redis.call("DEL", key)
    if #flat > 0 then
      redis.call("HSET", key, unpack(flat))
    end
    converted = converted + 1
  end
end
return { converted, skipped }
