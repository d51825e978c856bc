-- migrate_encoding: rewrites installation hashes of layouts v2 to v8 into the encoding of layout
-- v9 (see _codec.lua, prepended): times equal to their default left out (v8), attributes under
-- their v9 names with strings stored as themselves, production left out of `e`, the secret hash
-- in base64url. Only the fields that
-- differ are written; the decoded installation is the same before and after. A hash already
-- current, of layout v1 (the first step rewrites those), or gone is left alone. Idempotent.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[…]  installation ids
--
-- Reply: { rewritten, already current or gone }
local prefix = KEYS[1]
local rewritten, skipped = 0, 0
for i = 1, #ARGV do
  local key = prefix .. "inst:" .. ARGV[i]
  local inst, raw = inst_read(key)
  if inst ~= nil and raw.id == nil and inst_write(key, raw, inst_encode(inst)) then
    rewritten = rewritten + 1
  else
    skipped = skipped + 1
  end
end
return { rewritten, skipped }
