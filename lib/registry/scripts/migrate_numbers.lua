-- migrate_numbers: gives every installation written before layout v4 its number (field `n`,
-- see _numbers.lua, prepended through the codec). One already numbered, or gone, is left alone.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[…]  installation ids
--
-- Reply: { numbered, already numbered or gone }
local prefix = KEYS[1]
local numbered, skipped = 0, 0
for i = 1, #ARGV do
  local id = ARGV[i]
  local inst = inst_read(prefix .. "inst:" .. id)
  if inst == nil or (inst.n or "") ~= "" then
    skipped = skipped + 1
  else
    inst_number(prefix, id, inst)
    redis.call("HSET", prefix .. "inst:" .. id, "n", inst.n)
    numbered = numbered + 1
  end
end
return { numbered, skipped }
