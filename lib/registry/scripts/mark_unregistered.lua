-- mark_unregistered: APNs answered 410 Unregistered for a token (the app was uninstalled).
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (epoch ms)
-- ARGV[2]  installation id
-- ARGV[3]  the token that was pushed to
-- ARGV[4]  APNs' `timestamp` (epoch ms) from the 410 answer
--
-- Applied only when the installation still holds that token, is active, and the timestamp is
-- later than registeredAt (a registration after APNs saw the token die wins). The token stays
-- indexed, so a reinstall that reuses it replaces this installation.
-- Reply: { "applied", "", flat hash } | { "skipped", why, flat hash } | { "not_found" }
local prefix, now, id = KEYS[1], ARGV[1], ARGV[2]
local before, skip = holding_active(prefix, id, ARGV[3])
if before == nil then
  return skip
end
if tonumber(ARGV[4]) <= (tonumber(before.registeredAt) or 0) then
  return { "skipped", "registered_later", flatten(before) }
end
local after = copy(before)
set_status(after, "unregistered", "Unregistered", now)
commit(prefix, id, before, after, now)
return { "applied", "", flatten(after) }
