-- migrate_useg: rewrites layout-v2 user → segments sets (`useg:<user>`) as the layout-v3 hashes
-- (see seg_useg_from_set in _segment_reindex.lua, prepended). A key already a hash, or gone, is
-- left alone. Idempotent.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[…]  user ids (from the `useg:<user>` keys a SCAN found)
--
-- Reply: { converted, already current or gone }
local prefix = KEYS[1]
local converted, skipped = 0, 0
for i = 1, #ARGV do
  if seg_useg_from_set(prefix, ARGV[i]) then
    converted = converted + 1
  else
    skipped = skipped + 1
  end
end
return { converted, skipped }
