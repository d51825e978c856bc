-- migrate_times: drops from installation hashes the times that layout v8 leaves out as equal to
-- the one they default to (createdAt = registeredAt, statusAt = createdAt, lastSeenAt =
-- registeredAt; see inst_encode in _codec.lua, prepended). The decoded installation is the same
-- before and after; a hash with nothing to drop, of layout v1, or gone is left alone. Idempotent.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[…]  installation ids
--
-- Reply: { compacted, already compact or gone }
local prefix = KEYS[1]
local compacted, skipped = 0, 0
for i = 1, #ARGV do
  local key = prefix .. "inst:" .. ARGV[i]
  local inst, raw = inst_read(key)
  local drop = {}
  if inst ~= nil and raw.id == nil then
    local wanted = inst_encode(inst)
    for _, f in ipairs({ "c", "sa", "ls" }) do
      if raw[f] ~= nil and wanted[f] == nil then drop[#drop + 1] = f end
    end
  end
  if #drop > 0 then
    redis.call("HDEL", key, unpack(drop))
    compacted = compacted + 1
  else
    skipped = skipped + 1
  end
end
return { compacted, skipped }
