-- mark_bad_token: APNs refused the token on both hosts (BadDeviceToken after the environment
-- fallback) or for this topic (DeviceTokenNotForTopic).
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (epoch ms)
-- ARGV[2]  installation id
-- ARGV[3]  the token that was pushed to
-- ARGV[4]  reason (APNs reason string), stored as statusReason
--
-- Applied only when the installation still holds that token and is active.
-- Reply: { "applied", "", flat hash } | { "skipped", why, flat hash } | { "not_found" }
local prefix, now, id = KEYS[1], ARGV[1], ARGV[2]
local before, skip = holding_active(prefix, id, ARGV[3])
if before == nil then
  return skip
end
local after = copy(before)
set_status(after, "bad_token", ARGV[4], now)
commit(prefix, id, before, after, now)
return { "applied", "", flatten(after) }
