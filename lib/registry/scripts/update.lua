-- update: PATCH /v1/sdk/installations/:id — token, environment, permission, attributes, user.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (epoch ms)
-- ARGV[2]  installation id
-- ARGV[3]  SHA-256 hex of the presented installation secret ("" = none)
-- ARGV[4]  new token ("" = keep). A new token is a registration: status active, registeredAt
--          now, and a current holder of that token becomes `replaced`.
-- ARGV[5]  environment ("" = keep)
-- ARGV[6]  pushAuthorization ("" = keep)
-- ARGV[7]  attributes as a JSON object ("" = keep), replacing the stored map
-- ARGV[8]  "1" when ARGV[9] is a userId to bind, "0" keeps the binding
-- ARGV[9]  userId
--
-- Reply: { "ok", "", flat hash } | { "not_found" } | { "unauthorized" }
local prefix, now, id = KEYS[1], ARGV[1], ARGV[2]
local before, denied = authorize(prefix, id, ARGV[3])
if before == nil then
  return { denied }
end
local after = copy(before)
if ARGV[4] ~= "" and ARGV[4] ~= before.token then
  claim_token(prefix, id, ARGV[4], now)
  after.token = ARGV[4]
  after.registeredAt = now
  set_status(after, "active", "", now)
end
if ARGV[5] ~= "" then
  after.environment = ARGV[5]
end
if ARGV[6] ~= "" then
  after.pushAuthorization = ARGV[6]
end
if ARGV[7] ~= "" then
  after.attributes = ARGV[7]
end
if ARGV[8] == "1" then
  after.userId = ARGV[9]
end
touch(after, now)
commit(prefix, id, before, after, now)
return { "ok", "", flatten(after) }
