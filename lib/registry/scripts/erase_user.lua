-- erase_user: DELETE /v1/apps/:appId/users/:userId — erases a user: every installation bound
-- to them (hashes removed, tokens unindexed, out of the recency index, the reach bitmaps and every segment's reach
-- sets), then the user id itself from every segment's members and from the useg index.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (epoch ms)
-- ARGV[2]  userId
--
-- At most 100 installations are bound to a user, so this stays a short script. A user known
-- only as a segment member (no installation) is erased from the segments all the same.
-- Reply: { "ok", <number of installations erased> } | { "not_found" }
local prefix, now, user_id = KEYS[1], ARGV[1], ARGV[2]
local ukey = prefix .. "user:" .. user_id
local ids = redis.call("ZRANGE", ukey, 0, -1)
if #ids == 0 and not segment_knows_user(prefix, user_id) then
  return { "not_found" }
end
local erased = 0
for _, id in ipairs(ids) do
  local before = load_inst(prefix, id)
  if before ~= nil and before.userId == user_id then
    commit(prefix, id, before, nil, now)
    erased = erased + 1
  end
end
redis.call("DEL", ukey)
-- After the installations: segment_reindex found the user's segments through useg.
segment_forget_user(prefix, user_id)
return { "ok", tostring(erased) }
