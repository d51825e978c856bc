-- correct_environment: APNs accepted the token on the other host after BadDeviceToken, so the
-- stored environment was wrong. Moves the installation between reach:production and
-- reach:development.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (epoch ms)
-- ARGV[2]  installation id
-- ARGV[3]  the token that was pushed to
-- ARGV[4]  the environment that accepted it: production | development
--
-- Applied only when the installation still holds that token (any status but deleted).
-- Reply: { "applied", "", flat hash } | { "skipped", why, flat hash } | { "not_found" }
local prefix, now, id = KEYS[1], ARGV[1], ARGV[2]
local before = load_inst(prefix, id)
if before == nil then
  return { "not_found" }
end
if before.token ~= ARGV[3] or before.token == "" then
  return { "skipped", "token_changed", flatten(before) }
end
if before.environment == ARGV[4] then
  return { "skipped", "unchanged", flatten(before) }
end
local after = copy(before)
after.environment = ARGV[4]
commit(prefix, id, before, after, now)
return { "applied", "", flatten(after) }
