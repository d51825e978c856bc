-- migrate_legacy_reach: deletes the segments' reach and build sets of layout v3 and before
-- (`seg:<sid>:reach:<env>`, `seg:<sid>:build:<env>`), replaced by bitmaps in layout v4.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[…]  names after "seg:" that a SCAN found (other segment keys are left alone)
-- Reply: { deleted, left alone }
local prefix = KEYS[1]
local deleted, skipped = 0, 0
for i = 1, #ARGV do
  local name = ARGV[i]
  local key = prefix .. "seg:" .. name
  if (string.find(name, ":reach:", 1, true) or string.find(name, ":build:", 1, true)) and
    redis.call("TYPE", key).ok == "set" then
    redis.call("UNLINK", key)
    deleted = deleted + 1
  else
    skipped = skipped + 1
  end
end
return { deleted, skipped }
